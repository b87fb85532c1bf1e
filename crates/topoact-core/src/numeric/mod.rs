//! The crate's numeric floor: every dot product, squared distance, eigen-decomposition,
//! orthonormalisation, PCA and seeded random draw that the mapper, the projections, the
//! graph layout and the diagnostics share. One implementation of each, one SIMD dispatch.
//!
//! - [`kernels`]: f32 squared distances (single pair, bounded, four targets per pass) and dot
//!   products, f64 dot product; the crate's only CPU-feature test (`has_avx2_fma`).
//! - [`linalg`]: cyclic Jacobi for small symmetric matrices, modified Gram-Schmidt.
//! - [`pca`]: stepwise subspace-iteration PCA to two coordinates, a batch subspace of a
//!   sample, the first principal component by power iteration.
//! - [`random`]: uniform numbers from a 64-bit stream, Box-Muller normals, splitmix64.
//!
//! Invariants: no allocation-order or thread-count dependence (fixed summation orders; the
//! `parallel` feature only splits independent sums), no clocks, no panics on finite input;
//! each function's result is bit-identical run to run on a platform. Nothing here knows
//! about rows, graphs or jobs: callers pass slices (or implement [`pca::F32Rows`] /
//! [`pca::ExactRows`]).
//!
//! Users: `neighbours` (k-NN graph and exact searches: kernels, pruning basis), `embed`
//! (t-SNE and UMAP starts, UMAP's spectral start, the quality measure, synthetic blobs),
//! `mapper` (PC1 lens, synthetic data), `layout` (seeded starts).

pub(crate) mod kernels;
pub(crate) mod linalg;
pub(crate) mod pca;
pub(crate) mod random;

/// The f32 kernels, exposed for tests only: `tests/wasm_kernels.rs` (at the repository root)
/// checks their simd128 builds in wasm against a float64 reference.
#[doc(hidden)]
pub mod testing {
    /// Squared distance, dispatched (AVX2+FMA / simd128 / 16-accumulator fallback).
    pub fn sq_dist_f32(a: &[f32], b: &[f32]) -> f32 {
        super::kernels::sq_dist_f32(a, b)
    }

    /// Batched squared distances of `q` to each `dim`-long row of `block` (four targets per
    /// pass), dispatched.
    pub fn sq_dists_to_block(q: &[f32], block: &[f32], dim: usize, out: &mut Vec<f32>) {
        super::kernels::sq_dists_to_block(q, block, dim, out)
    }

    /// Squared distances of several queries (four per pass) to each `dim`-long row of
    /// `block`, query-major; the same bits as [`sq_dists_to_block`] of each query.
    pub fn sq_dists_to_tile(queries: &[&[f32]], block: &[f32], dim: usize, out: &mut Vec<f32>) {
        super::kernels::sq_dists_to_tile(queries, block, dim, out)
    }

    /// The inline 16-accumulator squared distance (the mapper's fast path).
    pub fn sq_dist_f32_lanes16(a: &[f32], b: &[f32]) -> f32 {
        super::kernels::sq_dist_f32_lanes16(a, b)
    }

    /// [`sq_dist_f32_lanes16`] in blocks of 64 coordinates, stopping once the sum exceeds
    /// `limit`.
    pub fn sq_dist_f32_bounded(a: &[f32], b: &[f32], limit: f32) -> f32 {
        super::kernels::sq_dist_f32_bounded(a, b, limit)
    }

    /// The inline f32 dot product (16 accumulators; the pruning projection).
    pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
        super::kernels::dot_f32(a, b)
    }
}
