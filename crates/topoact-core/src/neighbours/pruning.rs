//! The pruning basis of the exact searches: a cheap orthonormal basis of (approximate)
//! principal directions. Projections on it are exact lower bounds of distances
//! (`|z_a - z_b| <= |a - b|` for an orthonormal basis), up to the stated [`Basis::slack`].

use super::rows::Rows;
#[cfg(target_arch = "x86_64")]
use crate::numeric::kernels::dot4_f32_avx2;
use crate::numeric::kernels::dot_f32;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::numeric::kernels::dots_f32_simd128;
#[cfg(target_arch = "x86_64")]
use crate::numeric::kernels::has_avx2_fma;
use crate::numeric::pca::{leading_subspace, F32Rows};
use crate::numeric::random::SplitMix64;

/// Seed of the pruning basis's start vectors.
const PRUNING_SEED: u64 = 0x5EED;
/// Rounds of subspace iteration for the pruning basis.
const PRUNING_ROUNDS: usize = 3;

/// Rows by basis vectors per pass of the wasm projection ([`Basis::project_rows`]), one
/// accumulator lane per pass: measured in node (4000 x 1024 rows on 96 vectors, user CPU
/// time) ~40 ms against ~55 ms for two vectors per pass over one row (`dot2_f32_simd128`);
/// 2 x 2 and 4 x 2 within noise of 2 x 4.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const PROJECT_ROWS: usize = 2;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const PROJECT_VECTORS: usize = 4;
/// Passes over each group (accumulators in registers: `4 * ROWS * VECTORS / PASSES`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const PROJECT_PASSES: usize = 4;

/// Orthonormal float64 vectors (`n_vectors x dim`, row-major).
pub(crate) struct Basis {
    pub dim: usize,
    pub n_vectors: usize,
    pub vectors: Vec<f64>,
    pub mean: Vec<f64>,
}

impl F32Rows for Rows {
    fn row_f32(&self, row_idx: usize) -> &[f32] {
        self.row32(row_idx)
    }
}

impl Basis {
    /// Top `n_wanted` principal directions of the rows (approximately: 3 rounds of subspace
    /// iteration, [`leading_subspace`], on at most 1024 evenly spaced rows). Only
    /// orthonormality matters for pruning, accuracy only affects speed. When
    /// `dim <= n_wanted` the basis is the identity.
    /// Cost: O(iterations * sample * dim * n_wanted).
    pub fn for_pruning(rows: &Rows, n_wanted: usize) -> Basis {
        Basis::fit(rows, rows.n_rows, rows.dim, n_wanted, 1024, PRUNING_SEED)
    }

    /// [`Basis::for_pruning`]'s fit for any f32 rows (`n_rows x dim`): at most `max_sample`
    /// evenly spaced rows, start vectors from `seed` (also the k-NN graph's projection).
    pub(crate) fn fit(
        rows: &impl F32Rows,
        n_rows: usize,
        dim: usize,
        n_wanted: usize,
        max_sample: usize,
        seed: u64,
    ) -> Basis {
        let sample: Vec<usize> = {
            let take = n_rows.min(max_sample);
            (0..take).map(|i| i * n_rows / take).collect()
        };
        let mut mean = vec![0f64; dim];
        for &row_idx in &sample {
            for (m, &v) in mean.iter_mut().zip(rows.row_f32(row_idx)) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= sample.len() as f64);
        if dim <= n_wanted {
            let mut vectors = vec![0f64; dim * dim];
            for i in 0..dim {
                vectors[i * dim + i] = 1.0;
            }
            return Basis {
                dim,
                n_vectors: dim,
                vectors,
                mean,
            };
        }
        let mut stream = SplitMix64::new(seed);
        let start: Vec<f64> = (0..n_wanted * dim)
            .map(|_| stream.centred_uniform())
            .collect();
        let mut centred = vec![0f64; sample.len() * dim];
        for (s, &row_idx) in sample.iter().enumerate() {
            for (col, &v) in rows.row_f32(row_idx).iter().enumerate() {
                centred[s * dim + col] = v as f64 - mean[col];
            }
        }
        let vectors = leading_subspace(&centred, dim, start, PRUNING_ROUNDS);
        Basis {
            dim,
            n_vectors: vectors.len() / dim,
            vectors,
            mean,
        }
    }

    /// Coordinates of every row in the basis, as f32 (`n_rows x n_vectors`), computed in
    /// f32 with 16 accumulators (AVX2 when available). Their rounding is covered by
    /// [`Basis::slack`]. Cost O(n_rows * dim * n_vectors).
    pub fn project_rows(&self, rows: &Rows, row_range: std::ops::Range<usize>, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe { self.project_rows_avx2(rows, row_range, out) };
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            self.project_rows_simd128(rows, row_range, out)
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        self.project_rows_impl::<false>(rows, row_range, out)
    }

    /// The projection in wasm, with the bits of the two-vectors-per-pass kernel it replaced
    /// (`dot2_f32_simd128`'s for the coordinates of whole pairs of basis vectors,
    /// [`dot_f32`]'s for an odd last one), register-tiled: [`PROJECT_ROWS`] rows by [`PROJECT_VECTORS`] basis vectors per pass
    /// ([`dots_f32_simd128`]), so each basis vector is read once per [`PROJECT_ROWS`] rows.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn project_rows_simd128(
        &self,
        rows: &Rows,
        row_range: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let (k, dim) = (self.n_vectors, self.dim);
        let vectors32: Vec<f32> = self.vectors.iter().map(|&v| v as f32).collect();
        let mean32: Vec<f32> = self.mean.iter().map(|&v| v as f32).collect();
        let vector = |v_idx: usize| &vectors32[v_idx * dim..(v_idx + 1) * dim];
        let paired = k / 2 * 2;
        let mut centred = vec![0f32; PROJECT_ROWS * dim];
        let first = row_range.start;
        let mut row_idx = first;
        while row_idx < row_range.end {
            let group = (row_range.end - row_idx).min(PROJECT_ROWS);
            for (r, buffer) in centred.chunks_exact_mut(dim.max(1)).take(group).enumerate() {
                for ((c, &v), &m) in buffer.iter_mut().zip(rows.row32(row_idx + r)).zip(&mean32) {
                    *c = v - m;
                }
            }
            let local = row_idx - first;
            let coords = &mut out[local * k..(local + group) * k];
            let mut v_idx = 0;
            if group == PROJECT_ROWS {
                let a: [&[f32]; PROJECT_ROWS] =
                    std::array::from_fn(|r| &centred[r * dim..(r + 1) * dim]);
                let mut dots = [[0f32; PROJECT_VECTORS]; PROJECT_ROWS];
                while v_idx + PROJECT_VECTORS <= paired {
                    let b: [&[f32]; PROJECT_VECTORS] = std::array::from_fn(|v| vector(v_idx + v));
                    dots_f32_simd128::<PROJECT_ROWS, PROJECT_VECTORS, PROJECT_PASSES>(
                        a, b, &mut dots,
                    );
                    for (r, row_dots) in dots.iter().enumerate() {
                        coords[r * k + v_idx..r * k + v_idx + PROJECT_VECTORS]
                            .copy_from_slice(row_dots);
                    }
                    v_idx += PROJECT_VECTORS;
                }
            }
            for r in 0..group {
                let a = [&centred[r * dim..(r + 1) * dim]];
                for v in v_idx..paired {
                    let mut dot = [[0f32; 1]; 1];
                    dots_f32_simd128::<1, 1, 1>(a, [vector(v)], &mut dot);
                    coords[r * k + v] = dot[0][0];
                }
                for v in paired..k {
                    coords[r * k + v] = dot_f32(a[0], vector(v));
                }
            }
            row_idx += group;
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn project_rows_avx2(
        &self,
        rows: &Rows,
        row_range: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        self.project_rows_impl::<true>(rows, row_range, out)
    }

    /// With `AVX` (only from [`Self::project_rows_avx2`]) four basis vectors per pass over a
    /// row; each coordinate has [`dot_f32`]'s lanes and error bound.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    #[inline(always)]
    fn project_rows_impl<const AVX: bool>(
        &self,
        rows: &Rows,
        row_range: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        let k = self.n_vectors;
        let vectors32: Vec<f32> = self.vectors.iter().map(|&v| v as f32).collect();
        let mean32: Vec<f32> = self.mean.iter().map(|&v| v as f32).collect();
        let mut centred = vec![0f32; self.dim];
        for (local, row_idx) in row_range.enumerate() {
            for ((c, &v), &m) in centred.iter_mut().zip(rows.row32(row_idx)).zip(&mean32) {
                *c = v - m;
            }
            let vector = |v_idx: usize| &vectors32[v_idx * self.dim..(v_idx + 1) * self.dim];
            let coords = &mut out[local * k..(local + 1) * k];
            let mut v_idx = 0;
            #[cfg(target_arch = "x86_64")]
            if AVX {
                while v_idx + 4 <= k {
                    let four = [
                        vector(v_idx),
                        vector(v_idx + 1),
                        vector(v_idx + 2),
                        vector(v_idx + 3),
                    ];
                    // SAFETY: `AVX` is only set by `project_rows_avx2`, after the check.
                    let dots = unsafe { dot4_f32_avx2(&centred, four) };
                    coords[v_idx..v_idx + 4].copy_from_slice(&dots);
                    v_idx += 4;
                }
            }
            while v_idx < k {
                coords[v_idx] = dot_f32(&centred, vector(v_idx));
                v_idx += 1;
            }
        }
    }

    /// Absolute slack (distance units) covering every rounding in the projected
    /// coordinates: f32 centring, f32 basis, f32 dot products, and the float64 input's
    /// rounding to f32.
    pub fn slack(&self, rows: &Rows) -> f64 {
        let mean_norm = self.mean.iter().map(|m| m * m).sum::<f64>().sqrt();
        let scale = rows.max_norm + mean_norm;
        let u = f32::EPSILON as f64 / 2.0;
        let per_coord = (self.dim as f64 / 16.0 + 24.0) * u;
        (2.0 * (self.n_vectors as f64).sqrt() * per_coord * 2.0 + 1e-6) * scale + f64::MIN_POSITIVE
    }
}
