//! UMAP's fuzzy simplicial set: per-point smooth k-NN distances (`rho`, `sigma`), membership
//! strengths, and the fuzzy union `A + A^T - A o A^T` (umap-learn 0.5.12's
//! `smooth_knn_dist`, `compute_membership_strengths` and `fuzzy_simplicial_set` with
//! `local_connectivity = 1`, `set_op_mix_ratio = 1`, written from their documented behaviour).

/// Binary-search iterations of `smooth_knn_dist`.
const SMOOTH_K_ITERATIONS: usize = 64;
/// Tolerance on the sum of memberships.
const SMOOTH_K_TOLERANCE: f64 = 1e-5;
/// Lower bound of sigma relative to the mean neighbour distance.
const MIN_K_DIST_SCALE: f64 = 1e-3;

/// `rho` (distance to the nearest non-identical neighbour) and `sigma` for one point.
///
/// `distances` are the point's `n_neighbors - 1` nearest other points, ascending (umap-learn's
/// list also holds the point itself at distance 0 first; it is implicit here). `target` is
/// `log2(n_neighbors)`. `mean_all` is the mean of every point's list *including* the implicit
/// zero, as umap-learn averages its whole distance matrix.
pub(crate) fn smooth_knn_dist(distances: &[f32], n_neighbors: usize, mean_all: f64) -> (f64, f64) {
    let target = (n_neighbors as f64).log2();
    let rho = distances
        .iter()
        .copied()
        .find(|&d| d > 0.0)
        .map_or(0.0, |d| d as f64);
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..SMOOTH_K_ITERATIONS {
        let mut psum = 0.0;
        for &d in distances {
            let excess = d as f64 - rho;
            psum += if excess > 0.0 {
                (-(excess / mid)).exp()
            } else {
                1.0
            };
        }
        if (psum - target).abs() < SMOOTH_K_TOLERANCE {
            break;
        }
        if psum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_infinite() {
                mid * 2.0
            } else {
                (lo + hi) / 2.0
            };
        }
    }
    let mut sigma = mid;
    // Mean over the full umap-learn row (self at 0 included).
    let mean_ith = distances.iter().map(|&d| d as f64).sum::<f64>() / n_neighbors as f64;
    if rho > 0.0 {
        sigma = sigma.max(MIN_K_DIST_SCALE * mean_ith);
    } else {
        sigma = sigma.max(MIN_K_DIST_SCALE * mean_all);
    }
    (rho, sigma)
}

/// Membership strength of an edge at `distance` from a point with `rho`, `sigma`.
pub(crate) fn membership(distance: f32, rho: f64, sigma: f64) -> f32 {
    let excess = distance as f64 - rho;
    if excess <= 0.0 || sigma == 0.0 {
        1.0
    } else {
        (-(excess / sigma)).exp() as f32
    }
}

/// A symmetric sparse matrix in compressed rows, columns ascending within a row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SparseGraph {
    pub n: usize,
    pub row_start: Vec<usize>,
    pub cols: Vec<u32>,
    pub weights: Vec<f32>,
}

impl SparseGraph {
    pub(crate) fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let range = self.row_start[i]..self.row_start[i + 1];
        (&self.cols[range.clone()], &self.weights[range])
    }
}

/// The fuzzy union of the directed membership lists: `w_ij = a + b - a b` with `a = A_ij`,
/// `b = A_ji`; zero entries dropped. `directed[i]` holds `(j, A_ij)` pairs (any order,
/// distinct j, j != i). Cost O(nnz log k) for the per-row sorts plus O(nnz).
pub(crate) fn fuzzy_union(n: usize, directed: &[Vec<(u32, f32)>]) -> SparseGraph {
    // A in compressed rows with sorted columns.
    // (Columns are distinct, so the sorted rows are the same in parallel or not.)
    let mut a_rows: Vec<Vec<(u32, f32)>> = directed.to_vec();
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        a_rows
            .par_iter_mut()
            .for_each(|row| row.sort_unstable_by_key(|&(j, _)| j));
    }
    #[cfg(not(feature = "parallel"))]
    for row in &mut a_rows {
        row.sort_unstable_by_key(|&(j, _)| j);
    }
    // A^T by counting: rows of A visited in order, so each A^T row is sorted.
    let mut t_start = vec![0usize; n + 1];
    for row in &a_rows {
        for &(j, _) in row {
            t_start[j as usize + 1] += 1;
        }
    }
    for i in 0..n {
        t_start[i + 1] += t_start[i];
    }
    let mut fill = t_start.clone();
    let mut t_entries = vec![(0u32, 0f32); t_start[n]];
    for (i, row) in a_rows.iter().enumerate() {
        for &(j, w) in row {
            t_entries[fill[j as usize]] = (i as u32, w);
            fill[j as usize] += 1;
        }
    }
    let mut row_start = Vec::with_capacity(n + 1);
    let mut cols = Vec::with_capacity(2 * t_start[n]);
    let mut weights = Vec::with_capacity(2 * t_start[n]);
    row_start.push(0);
    for (i, a_row) in a_rows.iter().enumerate() {
        let t_row = &t_entries[t_start[i]..t_start[i + 1]];
        let (mut p, mut q) = (0, 0);
        while p < a_row.len() || q < t_row.len() {
            let (col, w) = match (a_row.get(p), t_row.get(q)) {
                (Some(&(ja, wa)), Some(&(jt, wt))) if ja == jt => {
                    p += 1;
                    q += 1;
                    (ja, wa + wt - wa * wt)
                }
                (Some(&(ja, wa)), Some(&(jt, _))) if ja < jt => {
                    p += 1;
                    (ja, wa)
                }
                (Some(&(ja, wa)), None) => {
                    p += 1;
                    (ja, wa)
                }
                (_, Some(&(jt, wt))) => {
                    q += 1;
                    (jt, wt)
                }
                (None, None) => unreachable!("loop condition"),
            };
            if w != 0.0 {
                cols.push(col);
                weights.push(w);
            }
        }
        row_start.push(cols.len());
    }
    SparseGraph {
        n,
        row_start,
        cols,
        weights,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_makes_the_memberships_sum_to_log2_k() {
        let distances = [0.5f32, 0.7, 0.8, 1.0, 1.3, 1.4, 2.0];
        let k = distances.len() + 1;
        let (rho, sigma) = smooth_knn_dist(&distances, k, 1.0);
        assert_eq!(rho, 0.5);
        let sum: f64 = distances
            .iter()
            .map(|&d| membership(d, rho, sigma) as f64)
            .sum();
        assert!((sum - (k as f64).log2()).abs() < 1e-4, "{sum}");
    }

    #[test]
    fn duplicates_give_rho_from_the_first_positive_distance() {
        let (rho, _) = smooth_knn_dist(&[0.0, 0.0, 0.3, 0.9], 5, 1.0);
        assert_eq!(rho, 0.30000001192092896);
        let (rho, sigma) = smooth_knn_dist(&[0.0, 0.0], 3, 2.0);
        assert_eq!(rho, 0.0);
        assert!(sigma >= 2e-3);
    }

    #[test]
    fn union_is_symmetric_probabilistic_or() {
        let directed = vec![vec![(1u32, 0.5f32), (2, 1.0)], vec![(0, 0.5)], vec![]];
        let g = fuzzy_union(3, &directed);
        assert_eq!(g.row(0), (&[1u32, 2][..], &[0.75f32, 1.0][..]));
        assert_eq!(g.row(1), (&[0u32][..], &[0.75f32][..]));
        assert_eq!(g.row(2), (&[0u32][..], &[1.0f32][..]));
    }
}
