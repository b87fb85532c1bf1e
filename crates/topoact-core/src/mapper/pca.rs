//! Principal directions: a cheap orthonormal basis for pruning neighbour searches, and the
//! first principal component for the PC1 lens.

use super::rows::Rows;

/// Orthonormal float64 vectors (`n_vectors x dim`, row-major).
pub(crate) struct Basis {
    pub dim: usize,
    pub n_vectors: usize,
    pub vectors: Vec<f64>,
    pub mean: Vec<f64>,
}

/// Modified Gram-Schmidt, applied twice for orthogonality to ~1e-15. Drops vectors that
/// vanish (rank deficiency) and returns how many survived.
fn orthonormalise(vectors: &mut Vec<f64>, dim: usize) -> usize {
    let n = vectors.len() / dim;
    let mut kept: Vec<f64> = Vec::with_capacity(vectors.len());
    for v_idx in 0..n {
        let mut v: Vec<f64> = vectors[v_idx * dim..(v_idx + 1) * dim].to_vec();
        let norm0 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        for _ in 0..2 {
            for k_idx in 0..kept.len() / dim {
                let k = &kept[k_idx * dim..(k_idx + 1) * dim];
                let proj: f64 = v.iter().zip(k).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(k).for_each(|(a, b)| *a -= proj * b);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-10 * norm0.max(f64::MIN_POSITIVE) && norm > 0.0 {
            v.iter_mut().for_each(|a| *a /= norm);
            kept.extend_from_slice(&v);
        }
    }
    *vectors = kept;
    vectors.len() / dim
}

/// A deterministic pseudo-random start (splitmix64), so results never depend on a clock.
fn splitmix(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

impl Basis {
    /// Top `n_wanted` principal directions of the rows (approximately: 3 rounds of subspace
    /// iteration on at most 1024 evenly spaced rows). Only orthonormality matters for
    /// pruning, accuracy only affects speed. When `dim <= n_wanted` the basis is the identity.
    /// Cost: O(iterations * sample * dim * n_wanted).
    pub fn for_pruning(rows: &Rows, n_wanted: usize) -> Basis {
        let dim = rows.dim;
        let sample: Vec<usize> = {
            let n = rows.n_rows;
            let take = n.min(1024);
            (0..take).map(|i| i * n / take).collect()
        };
        let mut mean = vec![0f64; dim];
        for &row_idx in &sample {
            for (m, &v) in mean.iter_mut().zip(rows.row32(row_idx)) {
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
        let m = n_wanted;
        let mut state = 0x5EED_u64;
        let mut q: Vec<f64> = (0..m * dim).map(|_| splitmix(&mut state)).collect();
        orthonormalise(&mut q, dim);
        let centred: Vec<f64> = {
            let mut c = vec![0f64; sample.len() * dim];
            for (s, &row_idx) in sample.iter().enumerate() {
                for (col, &v) in rows.row32(row_idx).iter().enumerate() {
                    c[s * dim + col] = v as f64 - mean[col];
                }
            }
            c
        };
        for _ in 0..3 {
            let k = q.len() / dim;
            if k == 0 {
                break;
            }
            // y = C q (C = X^T X) as X^T (X q): first every t = x_s . q_v, then each
            // y_v = sum over s (in sample order) of t_sv x_s. Rows of X q, and vectors of
            // y, are independent (in parallel with the `parallel` feature, same sums).
            let n_sample = sample.len();
            let mut t = vec![0f64; n_sample * k];
            let dots = |s: usize, t_row: &mut [f64]| {
                let x = &centred[s * dim..(s + 1) * dim];
                for (v_idx, t_sv) in t_row.iter_mut().enumerate() {
                    let qv = &q[v_idx * dim..(v_idx + 1) * dim];
                    *t_sv = x.iter().zip(qv).map(|(a, b)| a * b).sum();
                }
            };
            let combine = |t: &[f64], v_idx: usize, y: &mut [f64]| {
                for s in 0..n_sample {
                    let coef = t[s * k + v_idx];
                    y.iter_mut()
                        .zip(&centred[s * dim..(s + 1) * dim])
                        .for_each(|(o, a)| *o += coef * a);
                }
            };
            let mut next = vec![0f64; k * dim];
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                t.par_chunks_mut(k)
                    .enumerate()
                    .for_each(|(s, t_row)| dots(s, t_row));
                next.par_chunks_mut(dim)
                    .enumerate()
                    .for_each(|(v_idx, y)| combine(&t, v_idx, y));
            }
            #[cfg(not(feature = "parallel"))]
            {
                t.chunks_mut(k)
                    .enumerate()
                    .for_each(|(s, t_row)| dots(s, t_row));
                next.chunks_mut(dim)
                    .enumerate()
                    .for_each(|(v_idx, y)| combine(&t, v_idx, y));
            }
            q = next;
            orthonormalise(&mut q, dim);
        }
        let n_vectors = q.len() / dim;
        Basis {
            dim,
            n_vectors,
            vectors: q,
            mean,
        }
    }

    /// Coordinates of every row in the basis, as f32 (`n_rows x n_vectors`), computed in
    /// f32 with 16 accumulators (AVX2 when available). Their rounding is covered by
    /// [`Basis::slack`]. Cost O(n_rows * dim * n_vectors).
    pub fn project_rows(&self, rows: &Rows, row_range: std::ops::Range<usize>, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if super::simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time).
            return unsafe { self.project_rows_avx2(rows, row_range, out) };
        }
        self.project_rows_impl(rows, row_range, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn project_rows_avx2(
        &self,
        rows: &Rows,
        row_range: std::ops::Range<usize>,
        out: &mut [f32],
    ) {
        self.project_rows_impl(rows, row_range, out)
    }

    #[inline(always)]
    fn project_rows_impl(&self, rows: &Rows, row_range: std::ops::Range<usize>, out: &mut [f32]) {
        let k = self.n_vectors;
        let vectors32: Vec<f32> = self.vectors.iter().map(|&v| v as f32).collect();
        let mean32: Vec<f32> = self.mean.iter().map(|&v| v as f32).collect();
        let mut centred = vec![0f32; self.dim];
        for (local, row_idx) in row_range.enumerate() {
            for ((c, &v), &m) in centred.iter_mut().zip(rows.row32(row_idx)).zip(&mean32) {
                *c = v - m;
            }
            for v_idx in 0..k {
                let qv = &vectors32[v_idx * self.dim..(v_idx + 1) * self.dim];
                out[local * k + v_idx] = dot_f32(&centred, qv);
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

/// f32 dot product with 16 accumulators.
#[inline(always)]
pub(super) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let mut acc = [0f32; LANES];
    let chunks = n / LANES;
    for c in 0..chunks {
        let pa = &a[c * LANES..(c + 1) * LANES];
        let pb = &b[c * LANES..(c + 1) * LANES];
        for l in 0..LANES {
            acc[l] += pa[l] * pb[l];
        }
    }
    let mut s = 0f32;
    for i in chunks * LANES..n {
        s += a[i] * b[i];
    }
    for v in acc {
        s += v;
    }
    s
}

/// First principal direction of all rows in float64 by power iteration on the centred
/// covariance (started from `start`, at most 500 rounds, stops when the direction moves by
/// < 1e-13). Sign: the largest-magnitude loading is made positive (scikit-learn's
/// `svd_flip(u_based_decision=False)`). Returns (mean, direction).
pub(crate) fn first_component(rows: &Rows, start: Option<&[f64]>) -> (Vec<f64>, Vec<f64>) {
    let dim = rows.dim;
    let n = rows.n_rows;
    let mut mean = vec![0f64; dim];
    for row_idx in 0..n {
        let mut col = 0;
        rows.for_each_exact(row_idx, |v| {
            mean[col] += v;
            col += 1;
        });
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut v: Vec<f64> = match start {
        Some(s) if s.len() == dim => s.to_vec(),
        _ => {
            let mut state = 0xC0FFEE_u64;
            (0..dim).map(|_| splitmix(&mut state)).collect()
        }
    };
    let mut centred = vec![0f64; dim];
    for _ in 0..500 {
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        v.iter_mut().for_each(|x| *x /= norm);
        let mut next = vec![0f64; dim];
        for row_idx in 0..n {
            let mut col = 0;
            rows.for_each_exact(row_idx, |x| {
                centred[col] = x - mean[col];
                col += 1;
            });
            let t: f64 = centred.iter().zip(&v).map(|(a, b)| a * b).sum();
            next.iter_mut().zip(&centred).for_each(|(o, c)| *o += t * c);
        }
        let next_norm = next.iter().map(|x| x * x).sum::<f64>().sqrt();
        if next_norm == 0.0 {
            break;
        }
        next.iter_mut().for_each(|x| *x /= next_norm);
        let change: f64 = next
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        v = next;
        if change < 1e-13 {
            break;
        }
    }
    let (mut best, mut best_abs) = (0usize, -1.0f64);
    for (i, x) in v.iter().enumerate() {
        if x.abs() > best_abs {
            best = i;
            best_abs = x.abs();
        }
    }
    if v.get(best).is_some_and(|x| *x < 0.0) {
        v.iter_mut().for_each(|x| *x = -*x);
    }
    (mean, v)
}
