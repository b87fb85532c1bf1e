//! The exact nearest neighbours of one sample in a layer (the "neighbours of this sample"
//! panel): every other row compared in float64 by differences, coordinate order; ties to the
//! smaller index. Cost O(n * dim) per query, no index.

use serde::{Deserialize, Serialize};

use crate::dataset::Matrix;

/// One of a sample's nearest neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Neighbour {
    pub sample_idx: usize,
    /// Euclidean distance in the layer's full-dimensional space (computed in f64).
    pub distance: f64,
}

/// The `k` nearest samples to `sample_idx` in `matrix` (itself excluded), nearest first;
/// ties go to the smaller index. Exact: every row is compared, in f64. `None` when
/// `sample_idx` is not a row.
pub fn nearest_neighbours(matrix: &Matrix, sample_idx: usize, k: usize) -> Option<Vec<Neighbour>> {
    let n_rows = matrix.n_rows();
    if sample_idx >= n_rows {
        return None;
    }
    let n_cols = matrix.n_cols();
    let mut query = vec![0.0f64; n_cols];
    matrix.row_into_f64(sample_idx, &mut query);
    let mut row = vec![0.0f64; n_cols];
    // (squared distance, index) of the best k so far, kept sorted.
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    for other in (0..n_rows).filter(|&other| other != sample_idx) {
        matrix.row_into_f64(other, &mut row);
        let squared: f64 = query.iter().zip(&row).map(|(a, b)| (a - b) * (a - b)).sum();
        if best.len() == k && best.last().is_some_and(|&(worst, _)| squared >= worst) {
            continue;
        }
        // After the last entry not farther than this one: ties keep the smaller index first.
        let pos = best.partition_point(|&(d, _)| d <= squared);
        best.insert(pos, (squared, other));
        best.truncate(k);
    }
    Some(
        best.into_iter()
            .map(|(squared, sample_idx)| Neighbour {
                sample_idx,
                distance: squared.sqrt(),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn nearest_neighbours_match_a_brute_force_sort() {
        // 60 points on a few lines, with exact ties.
        let values: Vec<f32> = (0..60 * 3)
            .map(|i| ((i * 7919) % 13) as f32 * 0.5 - ((i / 3) % 4) as f32)
            .collect();
        let matrix = Matrix::F32(Array2::from_shape_vec((60, 3), values).unwrap().into());
        for sample_idx in [0, 17, 59] {
            let got = nearest_neighbours(&matrix, sample_idx, 10).unwrap();
            let mut all: Vec<(f64, usize)> = (0..60)
                .filter(|&j| j != sample_idx)
                .map(|j| {
                    let mut a = vec![0.0; 3];
                    let mut b = vec![0.0; 3];
                    matrix.row_into_f64(sample_idx, &mut a);
                    matrix.row_into_f64(j, &mut b);
                    (
                        a.iter()
                            .zip(&b)
                            .map(|(x, y)| (x - y) * (x - y))
                            .sum::<f64>(),
                        j,
                    )
                })
                .collect();
            all.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            let expected: Vec<usize> = all.iter().take(10).map(|&(_, j)| j).collect();
            assert_eq!(
                got.iter().map(|n| n.sample_idx).collect::<Vec<_>>(),
                expected
            );
            assert!(got.windows(2).all(|w| w[0].distance <= w[1].distance));
        }
        assert!(nearest_neighbours(&matrix, 60, 5).is_none());
        assert_eq!(nearest_neighbours(&matrix, 0, 100).unwrap().len(), 59);
    }
}
