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

    /// The float64 dot product in four lane sums (the PCA's reference order).
    pub fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
        super::kernels::dot_f64(a, b)
    }

    /// [`dot_f64`] of `a` with six vectors side by side (the PCA passes; two lanes per
    /// SSE2 / simd128 register): each the bits of [`dot_f64`].
    pub fn dots_f64_6(a: &[f64], vectors: &[f64]) -> [f64; 6] {
        super::kernels::dots_f64::<6>(a, vectors)
    }

    /// Four [`sq_dist_f32_bounded`] in one pass (the join's survivors in wasm): the single
    /// kernel's bits wherever a value is <= `limit`.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub fn sq_dist4_f32_bounded(a: &[f32], b: [&[f32]; 4], limit: f32) -> [f32; 4] {
        super::kernels::sq_distn_f32_bounded_simd128(a, b, limit)
    }

    /// Two dot products in one pass (the pruning projection's kernel in wasm before the
    /// register tiling; the reference of [`dots_f32_2x2`]).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub fn dot2_f32(a: &[f32], b: [&[f32]; 2]) -> [f32; 2] {
        super::kernels::dot2_f32_simd128(a, b)
    }

    /// The dot products of two rows with four vectors in one pass, `out[row][vector]`, as
    /// the wasm projection forms them (four passes of one accumulator lane each): [`dot2_f32`]'s
    /// bits.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub fn dots_f32_2x4(a: [&[f32]; 2], b: [&[f32]; 4]) -> [[f32; 4]; 2] {
        let mut out = [[0f32; 4]; 2];
        super::kernels::dots_f32_simd128::<2, 4, 4>(a, b, &mut out);
        out
    }

    /// One dot product as the wasm projection forms the leftover ones: [`dot2_f32`]'s bits.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub fn dots_f32_1x1(a: &[f32], b: &[f32]) -> f32 {
        let mut out = [[0f32; 1]; 1];
        super::kernels::dots_f32_simd128::<1, 1, 1>([a], [b], &mut out);
        out[0][0]
    }

    /// The mapper join's tile test (`tile`: `q.len()` coordinates x 8 lanes, coordinate-
    /// major): the bit mask of the lanes among `wanted_lanes` whose squared distance to `q`
    /// stays <= `zlimit`, in explicit simd128 and in the portable form.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub fn tile_survivors(tile: &[f32], q: &[f32], wanted_lanes: u32, zlimit: f32) -> [u32; 2] {
        use crate::neighbours::kdtree::{tile_survivors_portable, tile_survivors_simd128};
        [
            tile_survivors_simd128(tile, q, wanted_lanes, zlimit),
            tile_survivors_portable(tile, q, wanted_lanes, zlimit),
        ]
    }

    /// The squared distance from `q` to the box `[lo, hi]` in explicit simd128 (the join's
    /// point-to-box bound in wasm).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub fn box_lb2(q: &[f32], lo: &[f32], hi: &[f32]) -> f32 {
        crate::neighbours::kdtree::box_lb2_simd128(q, lo, hi)
    }
}
