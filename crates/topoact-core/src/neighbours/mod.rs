//! Neighbour searches: the mapper's exact eps / k-th-NN searches, the projections' k-NN
//! graph, and one sample's exact neighbours ([`of_sample`]: every row compared in float64,
//! ties to the smaller index). The first two read distances through
//! [`crate::numeric::kernels`]; they differ in what they promise.
//!
//! # Exact searches (the mapper: DBSCAN, the eps join, the k-th-NN epsilon)
//! [`rows::Rows`] holds the rows in use (f32, plus the float64 values of float64 input);
//! [`kdtree::KdTree`] searches them, pruning with exact lower bounds from projections on
//! the orthonormal [`pruning::Basis`] (minus a slack covering every rounding), then an f32
//! distance ([`crate::numeric::kernels::sq_dist_f32_lanes16`], inlined into AVX2+FMA or
//! generic builds of each search).
//!
//! Contract:
//! - **eps-balls are decided in float64, as scikit-learn decides them.** `dist <= eps` is
//!   `d2 <= eps * eps` with `d2` scikit-learn's float64 squared distance: the expansion
//!   `max(0, (|x|^2 - 2 x.y) + |y|^2)` when `DBSCAN.fit`'s `NearestNeighbors` runs brute force
//!   (dim > 15, or at most 11 samples in the interval), the sum of squared differences in
//!   coordinate order (its KD-tree) otherwise ([`rows::ExactRule`]). The f32 value only
//!   decides pairs outside a band around `eps^2` that provably contains every rounding error
//!   of the fast path ([`rows::EpsTest`]); every pair inside the band is re-measured in
//!   float64. So each decision is bit-for-bit scikit-learn's whenever its float64 sums are
//!   (the expansion's dot product is summed in coordinate order: identical to scikit-learn's
//!   BLAS whenever the arithmetic is exact, e.g. small integers or dyadic values, else within
//!   ~1e-16 relative). Ties: a distance exactly `eps` is a neighbour (`<=`), as in
//!   scikit-learn. Both directions of a pair are decided separately (`decide_both`): they
//!   differ only when the float64 value lands within an ulp of `eps^2`.
//! - **k-th-NN distances are exact float64 by differences** (self excluded, duplicates count
//!   as distance 0): every candidate within the fast path's error band
//!   ([`kdtree::FastBand`]) of the k-th value is re-measured in float64; the epsilon is
//!   numpy's quantile of them ([`quantile`]).
//! - The answers never depend on the pruning basis, the tree shape, the thread count or the
//!   CPU (tests compare with brute-force float64 on random and tie-heavy data).
//!
//! # The k-NN graph (the projections: t-SNE, UMAP, the quality measure)
//! [`knn_graph`]: a seeded k-means partition and a Voronoi-bound scan in f32
//! ([`crate::numeric::kernels::sq_dists_to_block`], four targets per pass). Contract:
//! - **exact** (up to f32 rounding of the distances, covered by a relative slack of 1e-5 in
//!   the bound) whenever no query reaches the scan cap: always with `KnnSearch::Exact`, and
//!   with `KnnSearch::Auto` up to 10,000 rows and whenever the cap is not reached (then
//!   `KnnGraph::exact` is true). Ties are broken by the smaller row index; distances are f32
//!   euclidean; lists exclude the row itself. Bit-identical per platform and seed, with or
//!   without the `parallel` feature (fingerprinted in `tests/parallel_feature.rs`).
//! - **approximate** with a cap (`KnnSearch::Approximate`, or `Auto` above 10,000 rows when a
//!   query reaches `max(25 k, min(n / 8, 300 k), 2000)` scanned rows): `KnnGraph::exact` is false and the
//!   recall is measured, not assumed ([`knn_graph::recall`] against an exact graph,
//!   [`knn_graph::estimate_recall`] by brute force on a seeded sample). Measured
//!   (`tests/embed_knn.rs`, k = 150, a cap of 500 rows, x86-64 AVX2): recall 0.985 (0.996 for
//!   the first 20) on activation-like 6K x 256 (the test requires >= 0.95), and 0.471 (0.529)
//!   on 5 isotropic Gaussian blobs 6K x 256 (>= 0.35: inside a 1,200-row blob all distances
//!   are nearly equal, so a cap below the blob size finds about cap / blob size). With `Auto` at 5K / 20K / 50K x 256 the
//!   cap was never reached on the benchmark data: exact. At 300K x 256 and k = 20 it is (6,000
//!   rows): recall 0.990 in 22.9 s against the exact search's 35.5 s (see
//!   [`knn_graph::default_max_candidates`]).

pub(crate) mod kdtree;
pub mod knn_graph;
pub mod of_sample;
pub(crate) mod pruning;
pub(crate) mod quantile;
pub(crate) mod rows;
