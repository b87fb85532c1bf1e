//! The mapper: lenses, covers, DBSCAN, nerve, graph statistics — node for node what
//! KeplerMapper 2.1.0 + scikit-learn's DBSCAN produce for the same lens and parameters.
//!
//! Pipeline (see `shared/reference/kmapper-semantics.md` for KeplerMapper's rules):
//! 1. **Lens** ([`Lens`]), float64 per sample in use.
//! 2. **Cover** ([`CoverKind`]): KeplerMapper's `Cover(n, p)` in float64 ([`cover`]):
//!    closed intervals, empty intervals dropped before numbering, intervals with fewer than
//!    `min_samples` samples skipped but numbered. `balanced` = the same cover on the rank
//!    lens `rank / (N - 1)`. A constant lens is an error ([`MapperError::ConstantLens`]).
//! 3. **DBSCAN** per interval with scikit-learn's semantics ([`dbscan`]); epsilon is
//!    explicit, or a quantile of the exact k-th-NN distance (self excluded) over all samples
//!    in use (fixed) or inside each interval (adaptive, see [`Epsilon`]).
//!    Every neighbour decision `dist <= eps` is scikit-learn's float64 one: the squared
//!    distance `max(0, (|x|^2 - 2 x.y) + |y|^2)` compared with `eps * eps` when scikit-learn
//!    runs brute force (dim > 15, or <= 11 samples in the interval), the sum of squared
//!    differences (its KD-tree) otherwise. The fast path (f32, PCA-bound pruning) only
//!    decides pairs that are provably far from the boundary; others are re-checked in
//!    float64. (scikit-learn's BLAS may order the dot-product sum differently; results are
//!    identical whenever the arithmetic is exact, e.g. small integers or dyadic values.)
//! 4. **Nodes** `cube{i}_cluster{j}` and the **nerve** (pairs sharing >= `min_intersection`
//!    samples, with intersection size and Jaccard), plus statistics ([`MapperGraph`]).
//!
//! Row order: the rows in use are `sample_indices` in the order given (or all samples);
//! that order is DBSCAN's scan order. Node members are reported as original `sample_idx`s,
//! ascending.
//!
//! ```
//! use ndarray::Array2;
//! use topoact_core::dataset::Matrix;
//! use topoact_core::mapper::{compute_mapper, Epsilon, MapperInput, MapperParams};
//!
//! // Two well separated lines of points along the lens.
//! let data = Array2::from_shape_fn((40, 2), |(i, c)| if c == 0 { (i % 20) as f32 } else { (i / 20) as f32 * 100.0 });
//! let matrix = Matrix::F32(data.into());
//! let params = MapperParams { n_intervals: 3, overlap: 0.2, epsilon: Epsilon::Explicit(1.5), min_samples: 2, ..Default::default() }
//!     .validate()
//!     .expect("valid parameters");
//! let graph = compute_mapper(MapperInput::new(&matrix), &params).expect("a graph");
//! assert!(graph.stats.n_nodes >= 2);
//! ```

pub mod cover;
mod dbscan;
pub mod export;
pub(crate) mod graph;
mod job;
mod join;
#[cfg(test)]
mod join_probe;
mod lens;
mod params;
pub mod parts;
pub mod synth;

pub use cover::Interval;
pub use export::{to_kmapper_json, to_node_link_json};
pub use graph::{
    graph_stats, ClassShare, GraphStats, IntervalReport, MapperEdge, MapperGraph, MapperNode,
    ParamsRecord,
};
pub use job::{compute_mapper, compute_mapper_with_progress, MapperInput, MapperJob};
pub use params::{CoverKind, Epsilon, Lens, MapperError, MapperParams, ValidMapperParams};

/// Reference implementations and internals exposed for tests and benchmarks only.
#[doc(hidden)]
pub mod testing {
    use super::*;
    use crate::dataset::Matrix;
    use crate::neighbours::quantile::numpy_quantile;
    use crate::neighbours::{kdtree as knn, pruning as pca, rows};

    /// Clusters as lists of row indices.
    pub type Clusters = Vec<Vec<u32>>;

    /// All rows of `matrix` and their coordinates on `n_coords` pruning directions.
    fn projected_rows(
        matrix: &Matrix,
        n_coords: usize,
    ) -> Result<(rows::Rows, knn::Projected), MapperError> {
        let rows = rows::Rows::gather(matrix.view(), None)?;
        let basis = pca::Basis::for_pruning(&rows, n_coords);
        let mut coords = vec![0f32; rows.n_rows * basis.n_vectors];
        basis.project_rows(&rows, 0..rows.n_rows, &mut coords);
        let projected = knn::Projected {
            n_coords: basis.n_vectors,
            coords,
            slack: basis.slack(&rows),
        };
        Ok((rows, projected))
    }

    /// [`projected_rows`] with the KD-tree over all of them.
    fn tree_over_all_rows(
        matrix: &Matrix,
        n_coords: usize,
    ) -> Result<(rows::Rows, knn::KdTree), MapperError> {
        let (rows, projected) = projected_rows(matrix, n_coords)?;
        let members: Vec<u32> = (0..rows.n_rows as u32).collect();
        let tree = knn::KdTree::build(&projected, &members);
        Ok((rows, tree))
    }

    /// Every row's exact k-th-NN distance (self excluded) by brute force, float64 by
    /// differences.
    fn brute_kth_distances(rows: &rows::Rows, k: usize) -> Vec<f64> {
        (0..rows.n_rows)
            .map(|i| {
                let mut all: Vec<f64> = (0..rows.n_rows)
                    .filter(|&j| j != i)
                    .map(|j| rows.sq_dist_exact_diff(i, j))
                    .collect();
                all.sort_by(|a, b| a.total_cmp(b));
                all[k - 1].sqrt()
            })
            .collect()
    }

    /// Clusters of one set of rows by the fast DBSCAN (single-pass, or the two-pass
    /// fallback) and by a brute-force float64 DBSCAN (scikit-learn's `dbscan_inner`,
    /// literally): (fast, brute). The fast one prunes with `n_coords` principal directions
    /// (the tree uses at most 24 of them, the rest sharpen the per-candidate bound).
    pub fn dbscan_fast_and_brute(
        matrix: &Matrix,
        eps: f64,
        min_samples: usize,
        two_pass: bool,
        n_coords: usize,
    ) -> Result<(Clusters, Clusters), MapperError> {
        let (rows, projected) = projected_rows(matrix, n_coords)?;
        let members: Vec<u32> = (0..rows.n_rows as u32).collect();
        let mut fast = dbscan::IntervalDbscan::new(&rows, &projected, &members, eps, min_samples);
        if two_pass {
            fast.force_two_pass();
        }
        while !fast.advance(&rows, 1000) {}
        let brute = dbscan::brute_force_clusters(&rows, &members, eps, min_samples);
        Ok((fast.clusters(), brute))
    }

    /// The fast join's pairs and the brute force's, each sorted.
    pub type PairsFastAndBrute = (Vec<(u32, u32)>, Vec<(u32, u32)>);

    /// The join's pairs within `radius` (exact float64 distance by differences): (fast,
    /// brute force), each as sorted `(row_a, row_b)` with `row_a < row_b`. The fast one runs
    /// the leaf-by-leaf join over query blocks of `block` positions (not aligned to leaves)
    /// and keeps its stored pairs whose exact distance is within `radius`; it also reports
    /// a pair stored twice as an error.
    pub fn join_pairs_fast_and_brute(
        matrix: &Matrix,
        radius: f64,
        n_coords: usize,
        block: usize,
    ) -> Result<PairsFastAndBrute, String> {
        let (rows, tree) = tree_over_all_rows(matrix, n_coords).map_err(|e| e.to_string())?;
        let band = knn::FastBand::new(&rows);
        let limit = join::storage_limit(band, radius);
        let mut stored: Vec<(u32, u32)> = Vec::new();
        let mut start = 0;
        while start < rows.n_rows {
            let end = (start + block.max(1)).min(rows.n_rows);
            tree.pairs_within_range(&rows, start..end, radius, limit, |query, other, _| {
                let (a, b) = (tree.row_at[query], tree.row_at[other]);
                stored.push((a.min(b), a.max(b)));
            });
            start = end;
        }
        stored.sort_unstable();
        if stored.windows(2).any(|w| w[0] == w[1]) {
            return Err("a pair was stored twice".into());
        }
        let radius2 = radius * radius;
        stored.retain(|&(a, b)| rows.sq_dist_exact_diff(a as usize, b as usize) <= radius2);
        let mut brute = Vec::new();
        for a in 0..rows.n_rows {
            for b in a + 1..rows.n_rows {
                if rows.sq_dist_exact_diff(a, b) <= radius2 {
                    brute.push((a as u32, b as u32));
                }
            }
        }
        Ok((stored, brute))
    }

    /// The `quantile` of the k-th-NN distance (self excluded): from the join's pairs within
    /// `radius` (`None` when they do not determine it), and by brute force in float64 by
    /// differences (numpy's quantile of every row's k-th distance).
    pub fn eps_from_join_and_brute(
        matrix: &Matrix,
        k: usize,
        quantile: f64,
        radius: f64,
        n_coords: usize,
    ) -> Result<(Option<f64>, f64), MapperError> {
        let (rows, tree) = tree_over_all_rows(matrix, n_coords)?;
        let band = knn::FastBand::new(&rows);
        let limit = join::storage_limit(band, radius);
        let mut pairs: Vec<join::FastPair> = Vec::new();
        tree.pairs_within_range(
            &rows,
            0..rows.n_rows,
            radius,
            limit,
            |query, other, fast| pairs.push((tree.row_at[query], tree.row_at[other], fast)),
        );
        let pairs = join::Segments::from(pairs);
        let from_pairs = join::eps_from_pairs(&rows, band, &pairs, radius, k, quantile);
        let mut kth = brute_kth_distances(&rows, k);
        kth.sort_by(|x, y| x.total_cmp(y));
        Ok((from_pairs, numpy_quantile(&kth, quantile)))
    }

    /// Exact k-th-NN distances (self excluded) of every row: (fast, brute force), the fast
    /// one pruning with `n_coords` principal directions.
    pub fn kth_nn_fast_and_brute(
        matrix: &Matrix,
        k: usize,
        n_coords: usize,
    ) -> Result<(Vec<f64>, Vec<f64>), MapperError> {
        let (rows, tree) = tree_over_all_rows(matrix, n_coords)?;
        let band = knn::FastBand::new(&rows);
        let mut fast = vec![0f64; rows.n_rows];
        let mut d = vec![0f64; k];
        for pos in 0..rows.n_rows {
            tree.knn_distances(&rows, band, pos, k, &mut d);
            fast[tree.row_at[pos] as usize] = d[k - 1];
        }
        Ok((fast, brute_kth_distances(&rows, k)))
    }
}
