//! k nearest neighbours of every row. PLACEHOLDER brute force (to be replaced, same signature).

use super::{EmbedError, EmbedRows, KnnGraph};

/// Exact k-NN by brute force: O(n^2 dim). Reference for tests.
pub fn knn_brute_force(rows: &EmbedRows, k: usize) -> Result<KnnGraph, EmbedError> {
    let n = rows.n_points;
    if k == 0 || k >= n {
        return Err(EmbedError::TooFewPoints { n_points: n, needed: k + 1 });
    }
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    let mut cand: Vec<(f64, u32)> = Vec::with_capacity(n);
    for i in 0..n {
        cand.clear();
        let a = rows.row(i);
        for j in 0..n {
            if j == i {
                continue;
            }
            let b = rows.row(j);
            let d: f64 = a.iter().zip(b).map(|(x, y)| ((*x as f64) - (*y as f64)).powi(2)).sum();
            cand.push((d, j as u32));
        }
        cand.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for &(d, j) in &cand[..k] {
            indices.push(j);
            distances.push(d.sqrt() as f32);
        }
    }
    Ok(KnnGraph { n_points: n, k, indices, distances, exact: true })
}
