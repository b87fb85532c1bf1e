//! Principal components, three ways, on one floor ([`super::kernels::dot_f64`],
//! [`super::linalg`]):
//!
//! - [`SubspacePca`]: the first two principal components of every row, in bounded steps (the
//!   t-SNE start, UMAP's `pca` start and its fallback when the spectral start fails). Subspace
//!   iteration on the implicit covariance: a seeded block of [`BLOCK`] vectors, `passes`
//!   passes `W = X_c^T X_c V` over the rows, each followed by modified Gram-Schmidt, then a
//!   Rayleigh-Ritz step (Jacobi on `V^T W`) and the projection of every row on the two
//!   leading directions. The covariance is never formed: memory O(dim * BLOCK) besides the
//!   output, cost O((passes + 2) * n * dim * BLOCK). A row's dots are taken side by side
//!   ([`super::kernels::dots_f64`]); with the `parallel` feature a pass splits the vectors
//!   among the threads (each part reads every row) and the projection splits the rows, the
//!   same bits. Signs fixed: each axis's largest-magnitude loading positive (the first on
//!   ties).
//! - [`leading_subspace`]: a few rounds of the same iteration on a small centred sample, all
//!   at once (the mapper's pruning basis: only its orthonormality matters).
//! - [`first_principal_component`]: power iteration in float64 over all rows to convergence
//!   (the mapper's PC1 lens, compared with scikit-learn's to 1e-9 of the lens range).
//!
//! All deterministic per seed / start (fixed summation orders; the `parallel` feature only
//! splits independent sums).

use super::kernels::{dot_f64, dot_f64_in_order, dots_f64};
use super::linalg::{orthonormalise, symmetric_eigen, GramSchmidt, OnDependent};

/// Vectors in the subspace iteration of [`SubspacePca`] (2 wanted + oversampling).
pub(crate) const BLOCK: usize = 6;

/// Classic modified Gram-Schmidt, a dependent vector replaced by an axis (the block stays
/// full rank even for rank-deficient data).
const PCA_GRAM_SCHMIDT: GramSchmidt = GramSchmidt {
    passes: 1,
    on_dependent: OnDependent::ReplaceWithAxis,
};

/// Rows of f32 values, read by index (the projections' rows); shared by the threads of a
/// [`SubspacePca`] pass.
pub(crate) trait F32Rows: Sync {
    fn row_f32(&self, row_idx: usize) -> &[f32];
}

/// Rows whose exact float64 values can be visited in column order (the mapper's rows).
pub(crate) trait ExactRows {
    fn n_rows(&self) -> usize;
    fn dim(&self) -> usize;
    fn for_each_exact(&self, row_idx: usize, visit: impl FnMut(f64));
}

enum Phase {
    Mean,
    /// Pass number (1-based) of the subspace iteration.
    Power(usize),
    Project,
    Done,
}

/// Stepwise PCA to two coordinates (see the module documentation).
pub(crate) struct SubspacePca {
    n_points: usize,
    dim: usize,
    block: usize,
    passes: usize,
    phase: Phase,
    next_row: usize,
    mean: Vec<f64>,
    /// Current orthonormal basis, `block` vectors of length `dim`, vector-major.
    basis: Vec<f64>,
    /// Accumulator `X_c^T X_c V`, same layout.
    accumulated: Vec<f64>,
    /// The two principal axes, after Rayleigh-Ritz (`2 x dim`).
    axes: Vec<f64>,
    /// `n_points x 2` coordinates, interleaved.
    coords: Vec<f64>,
    centred_row: Vec<f64>,
}

impl SubspacePca {
    /// A PCA of `n_points` rows of `dim` values with `passes` passes of subspace iteration,
    /// started from `min(BLOCK, dim)` vectors whose values `start` draws in turn (vector
    /// after vector).
    pub(crate) fn new(
        n_points: usize,
        dim: usize,
        passes: usize,
        mut start: impl FnMut() -> f64,
    ) -> SubspacePca {
        let block = BLOCK.min(dim).max(1);
        let mut basis: Vec<f64> = (0..block * dim).map(|_| start()).collect();
        orthonormalise(&mut basis, dim, PCA_GRAM_SCHMIDT);
        SubspacePca {
            n_points,
            dim,
            block,
            passes,
            phase: Phase::Mean,
            next_row: 0,
            mean: vec![0.0; dim],
            accumulated: vec![0.0; basis.len()],
            basis,
            axes: vec![0.0; 2 * dim],
            coords: vec![0.0; 2 * n_points],
            centred_row: vec![0.0; dim],
        }
    }

    /// Row visits done and in total (`passes + 2` visits of every row).
    pub(crate) fn progress(&self) -> (u64, u64) {
        let passes_done = match self.phase {
            Phase::Mean => 0,
            Phase::Power(pass) => pass,
            Phase::Project => self.passes + 1,
            Phase::Done => self.passes + 2,
        };
        let total = (self.passes + 2) as u64 * self.n_points as u64;
        let done = (passes_done as u64 * self.n_points as u64 + self.next_row as u64).min(total);
        (done, total)
    }

    /// The two principal axes (`2 x dim`, row-major), once the passes are done.
    pub(crate) fn axes(&self) -> &[f64] {
        &self.axes
    }

    /// The rows' mean (`dim`), once the first visit is done.
    pub(crate) fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Processes rows for about `work` multiply-adds; returns the `n x 2` coordinates
    /// (interleaved, centred, unscaled) once finished.
    pub(crate) fn advance(&mut self, rows: &impl F32Rows, work: usize) -> Option<Vec<f64>> {
        let n = self.n_points;
        let dim = self.dim;
        let per_row = dim * (2 * self.block + 1);
        let max_rows = (work / per_row.max(1)).max(1);
        let end = (self.next_row + max_rows).min(n);
        match self.phase {
            Phase::Mean => {
                for row in self.next_row..end {
                    for (m, &v) in self.mean.iter_mut().zip(rows.row_f32(row)) {
                        *m += v as f64;
                    }
                }
                if end == n {
                    for m in self.mean.iter_mut() {
                        *m /= n as f64;
                    }
                    self.phase = Phase::Power(1);
                    self.next_row = 0;
                    return None;
                }
            }
            Phase::Power(pass) => {
                let (mean, basis) = (&self.mean, &self.basis);
                // The vectors `first..` of `accumulated` (`part`), every row of the step in
                // order: each accumulator's sum runs over the rows in order and each dot is
                // `dot_f64`'s, whichever vectors a part holds, so any split gives the same bits.
                let accumulate = |first: usize, part: &mut [f64], centred: &mut [f64]| {
                    let count = part.len() / dim;
                    let vectors = &basis[first * dim..(first + count) * dim];
                    let mut projections = [0.0; BLOCK];
                    for row in self.next_row..end {
                        centre(rows.row_f32(row), mean, centred);
                        dots_into(centred, vectors, &mut projections[..count]);
                        for (sums, &projection) in part.chunks_exact_mut(dim).zip(&projections) {
                            for (a, &c) in sums.iter_mut().zip(centred.iter()) {
                                *a += projection * c;
                            }
                        }
                    }
                };
                let groups = power_groups(self.block);
                if groups <= 1 {
                    accumulate(0, &mut self.accumulated, &mut self.centred_row);
                } else {
                    #[cfg(feature = "parallel")]
                    {
                        use rayon::prelude::*;
                        let mut parts = Vec::with_capacity(groups);
                        let mut rest: &mut [f64] = &mut self.accumulated;
                        let mut first = 0;
                        for group in 0..groups {
                            let count =
                                self.block * (group + 1) / groups - self.block * group / groups;
                            let (part, tail) = rest.split_at_mut(count * dim);
                            parts.push((first, part));
                            first += count;
                            rest = tail;
                        }
                        parts
                            .into_par_iter()
                            .for_each(|(first, part)| accumulate(first, part, &mut vec![0.0; dim]));
                    }
                }
                if end == n {
                    self.next_row = 0;
                    if pass < self.passes {
                        std::mem::swap(&mut self.basis, &mut self.accumulated);
                        orthonormalise(&mut self.basis, dim, PCA_GRAM_SCHMIDT);
                        self.accumulated.fill(0.0);
                        self.phase = Phase::Power(pass + 1);
                    } else {
                        self.rayleigh_ritz();
                        self.phase = Phase::Project;
                    }
                    return None;
                }
            }
            Phase::Project => {
                // Rows are independent: in parallel with the feature, the same bits.
                let (mean, axes) = (&self.mean, &self.axes);
                let start = self.next_row;
                let project = |offset: usize, out: &mut [f64], centred: &mut Vec<f64>| {
                    centre(rows.row_f32(start + offset), mean, centred);
                    out.copy_from_slice(&dots_f64::<2>(centred, axes));
                };
                let out = &mut self.coords[2 * start..2 * end];
                #[cfg(feature = "parallel")]
                {
                    use rayon::prelude::*;
                    out.par_chunks_mut(2)
                        .enumerate()
                        .with_min_len(256)
                        .for_each_init(
                            || vec![0.0; dim],
                            |centred, (offset, out)| project(offset, out, centred),
                        );
                }
                #[cfg(not(feature = "parallel"))]
                for (offset, out) in out.chunks_mut(2).enumerate() {
                    project(offset, out, &mut self.centred_row);
                }
                if end == n {
                    self.phase = Phase::Done;
                    self.next_row = 0;
                    return Some(self.coords.clone());
                }
            }
            Phase::Done => return Some(self.coords.clone()),
        }
        self.next_row = end;
        None
    }

    /// Rayleigh-Ritz: eigenvectors of `H = V^T (C V)` give the two leading axes `V e`.
    fn rayleigh_ritz(&mut self) {
        let (dim, block) = (self.dim, self.block);
        let mut h = vec![0.0; block * block];
        for a in 0..block {
            for b in 0..block {
                h[a * block + b] = dot_f64(
                    &self.basis[a * dim..(a + 1) * dim],
                    &self.accumulated[b * dim..(b + 1) * dim],
                );
            }
        }
        // Symmetrise against rounding.
        for a in 0..block {
            for b in 0..a {
                let v = 0.5 * (h[a * block + b] + h[b * block + a]);
                h[a * block + b] = v;
                h[b * block + a] = v;
            }
        }
        // Eigenvalues descending: the leading axes are the first columns.
        let (_, eigenvectors) = symmetric_eigen(&h, block);
        for axis in 0..2.min(block) {
            let out = &mut self.axes[axis * dim..(axis + 1) * dim];
            out.fill(0.0);
            for j in 0..block {
                let coefficient = eigenvectors[j * block + axis];
                for (o, &v) in out.iter_mut().zip(&self.basis[j * dim..(j + 1) * dim]) {
                    *o += coefficient * v;
                }
            }
            // Fix the sign: largest-magnitude loading positive (first one on ties).
            let mut best = 0;
            for (idx, v) in out.iter().enumerate() {
                if v.abs() > out[best].abs() {
                    best = idx;
                }
            }
            if out[best] < 0.0 {
                out.iter_mut().for_each(|v| *v = -*v);
            }
        }
    }
}

/// `row - mean` in float64.
fn centre(row: &[f32], mean: &[f64], centred: &mut [f64]) {
    for ((c, &v), &m) in centred.iter_mut().zip(row).zip(mean) {
        *c = v as f64 - m;
    }
}

/// `out[j] = dot_f64(centred, vector j)` for the `out.len()` (at most [`BLOCK`]) vectors of
/// `vectors`, side by side ([`dots_f64`], the same bits).
fn dots_into(centred: &[f64], vectors: &[f64], out: &mut [f64]) {
    match out.len() {
        6 => out.copy_from_slice(&dots_f64::<6>(centred, vectors)),
        5 => out.copy_from_slice(&dots_f64::<5>(centred, vectors)),
        4 => out.copy_from_slice(&dots_f64::<4>(centred, vectors)),
        3 => out.copy_from_slice(&dots_f64::<3>(centred, vectors)),
        2 => out.copy_from_slice(&dots_f64::<2>(centred, vectors)),
        1 => out.copy_from_slice(&dots_f64::<1>(centred, vectors)),
        _ => {
            let dim = centred.len();
            for (j, o) in out.iter_mut().enumerate() {
                *o = dot_f64(centred, &vectors[j * dim..(j + 1) * dim]);
            }
        }
    }
}

/// Parts the vectors of a pass are split into: one per thread up to one per vector (each
/// part reads every row once; the parts run side by side), one without the `parallel`
/// feature or on one thread.
fn power_groups(block: usize) -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads().min(block)
    }
    #[cfg(not(feature = "parallel"))]
    {
        let _ = block;
        1
    }
}

/// `rounds` rounds of subspace iteration `Q <- orth(X^T X Q)` on the `n_sample x dim`
/// centred sample `centred` (row-major), from the start vectors `start` (`k x dim`). Returns
/// the orthonormal vectors (vector-major; vectors that vanish are dropped, so possibly fewer
/// than `k`). Gram-Schmidt runs two passes (orthogonality to ~1e-15). Each product
/// `X^T (X q)` is formed as every `t = x_s . q_v` first, then each `y_v = sum over s (in
/// sample order) of t_sv x_s`; rows of `X q`, and vectors of `y`, are independent (in
/// parallel with the `parallel` feature, same sums). Cost O(rounds * n_sample * dim * k).
pub(crate) fn leading_subspace(
    centred: &[f64],
    dim: usize,
    mut start: Vec<f64>,
    rounds: usize,
) -> Vec<f64> {
    const TWICE: GramSchmidt = GramSchmidt {
        passes: 2,
        on_dependent: OnDependent::Drop,
    };
    if dim == 0 {
        return Vec::new();
    }
    orthonormalise(&mut start, dim, TWICE);
    let mut q = start;
    let n_sample = centred.len() / dim;
    for _ in 0..rounds {
        let k = q.len() / dim;
        if k == 0 {
            break;
        }
        let mut t = vec![0f64; n_sample * k];
        // `q` coordinate-major (`dim x k`), so a row's `k` dot products advance together,
        // one coordinate at a time: each is still `dot_f64_in_order`'s sum (same start, same
        // order, same bits), but the `k` sums are independent chains instead of one chain
        // of `k * dim` dependent additions (at 20K x 256 the pruning basis's products were
        // ~8 % of the mapper's instructions, bound by the additions' latency).
        let mut q_by_coord = vec![0f64; dim * k];
        for (v_idx, qv) in q.chunks_exact(dim).enumerate() {
            for (c, &value) in qv.iter().enumerate() {
                q_by_coord[c * k + v_idx] = value;
            }
        }
        // `dot_f64_in_order`'s sum starts from `f64`'s `Sum` neutral element.
        let sum_start: f64 = std::iter::empty::<f64>().sum();
        // Natively with AVX2 the same element-wise products and sums, 4 lanes per operation
        // (no fused multiply-add: the same bits; at 20K x 256 the two loops took 141M of the
        // mapper's 1.65G instructions with SSE2's 2 lanes).
        #[cfg(target_arch = "x86_64")]
        let avx = super::kernels::has_avx2_fma();
        let dots = |s: usize, t_row: &mut [f64]| {
            let x = &centred[s * dim..(s + 1) * dim];
            #[cfg(target_arch = "x86_64")]
            if avx {
                // SAFETY: the CPU supports AVX2 (checked by `has_avx2_fma`).
                return unsafe { subspace_dots_avx2(x, &q_by_coord, k, sum_start, t_row) };
            }
            subspace_dots(x, &q_by_coord, k, sum_start, t_row)
        };
        let combine = |t: &[f64], v_idx: usize, y: &mut [f64]| {
            #[cfg(target_arch = "x86_64")]
            if avx {
                // SAFETY: the CPU supports AVX2 (checked by `has_avx2_fma`).
                return unsafe { subspace_combine_avx2(centred, dim, t, k, v_idx, y) };
            }
            subspace_combine(centred, dim, t, k, v_idx, y)
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
        orthonormalise(&mut q, dim, TWICE);
    }
    q
}

/// [`leading_subspace`]'s products of one row `x` with every vector (`q_by_coord`:
/// coordinate-major, `k` per coordinate): `t_row[v] = sum over c (in order) of x[c] q[v][c]`,
/// each sum started from `sum_start`.
/// Vectors a group of [`SUBSPACE_GROUP`] at a time, the group's sums held in registers
/// across the whole row (instead of loaded and stored per coordinate); each sum keeps its
/// order, so the same bits.
#[inline(always)]
fn subspace_dots(x: &[f64], q_by_coord: &[f64], k: usize, sum_start: f64, t_row: &mut [f64]) {
    let t_row = &mut t_row[..k];
    let grouped = k / SUBSPACE_GROUP * SUBSPACE_GROUP;
    for g in (0..grouped).step_by(SUBSPACE_GROUP) {
        let mut acc = [sum_start; SUBSPACE_GROUP];
        for (&x_c, q_c) in x.iter().zip(q_by_coord.chunks_exact(k)) {
            for (a, &q_vc) in acc.iter_mut().zip(&q_c[g..g + SUBSPACE_GROUP]) {
                *a += x_c * q_vc;
            }
        }
        t_row[g..g + SUBSPACE_GROUP].copy_from_slice(&acc);
    }
    let rest = &mut t_row[grouped..];
    rest.fill(sum_start);
    for (&x_c, q_c) in x.iter().zip(q_by_coord.chunks_exact(k)) {
        for (t_sv, &q_vc) in rest.iter_mut().zip(&q_c[grouped..]) {
            *t_sv += x_c * q_vc;
        }
    }
}

/// Vectors (in [`subspace_dots`]) or coordinates (in [`subspace_combine`]) whose sums are
/// kept in registers together: four 2-lane simd128 registers, two AVX2 ones.
const SUBSPACE_GROUP: usize = 8;

/// [`subspace_dots`] compiled with AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn subspace_dots_avx2(
    x: &[f64],
    q_by_coord: &[f64],
    k: usize,
    sum_start: f64,
    t_row: &mut [f64],
) {
    subspace_dots(x, q_by_coord, k, sum_start, t_row)
}

/// [`leading_subspace`]'s new vector `v_idx`: `y += t[s][v_idx] x_s` for every sample row
/// `x_s` of `centred` in order.
/// Coordinates a group of [`SUBSPACE_GROUP`] at a time, the group's sums held in registers
/// across all sample rows; each sum keeps its order (rows ascending), so the same bits.
#[inline(always)]
fn subspace_combine(centred: &[f64], dim: usize, t: &[f64], k: usize, v_idx: usize, y: &mut [f64]) {
    let y = &mut y[..dim];
    let grouped = dim / SUBSPACE_GROUP * SUBSPACE_GROUP;
    for g in (0..grouped).step_by(SUBSPACE_GROUP) {
        let mut acc: [f64; SUBSPACE_GROUP] = y[g..g + SUBSPACE_GROUP].try_into().unwrap();
        for (s, x) in centred.chunks_exact(dim).enumerate() {
            let coef = t[s * k + v_idx];
            for (a, &x_c) in acc.iter_mut().zip(&x[g..g + SUBSPACE_GROUP]) {
                *a += coef * x_c;
            }
        }
        y[g..g + SUBSPACE_GROUP].copy_from_slice(&acc);
    }
    for (s, x) in centred.chunks_exact(dim).enumerate() {
        let coef = t[s * k + v_idx];
        y[grouped..]
            .iter_mut()
            .zip(&x[grouped..])
            .for_each(|(o, a)| *o += coef * a);
    }
}

/// [`subspace_combine`] compiled with AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn subspace_combine_avx2(
    centred: &[f64],
    dim: usize,
    t: &[f64],
    k: usize,
    v_idx: usize,
    y: &mut [f64],
) {
    subspace_combine(centred, dim, t, k, v_idx, y)
}

/// First principal direction of all rows in float64 by power iteration on the centred
/// covariance (started from `start`, at most 500 rounds, stops when the direction moves by
/// < 1e-13). Sign: the largest-magnitude loading is made positive (scikit-learn's
/// `svd_flip(u_based_decision=False)`). Returns (mean, direction). Cost O(rounds * n * dim).
pub(crate) fn first_principal_component(
    rows: &impl ExactRows,
    start: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let dim = rows.dim();
    let n = rows.n_rows();
    let mut mean = vec![0f64; dim];
    for row_idx in 0..n {
        let mut col = 0;
        rows.for_each_exact(row_idx, |v| {
            mean[col] += v;
            col += 1;
        });
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut v: Vec<f64> = start.to_vec();
    v.resize(dim, 0.0);
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
            let t = dot_f64_in_order(&centred, &v);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::random::unit_uniform;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// `leading_subspace` with each product `t = x_s . q_v` as one `dot_f64_in_order` call
    /// (its form before the coordinate-major products): the same vectors, bit for bit.
    #[test]
    fn leading_subspace_products_keep_the_in_order_bits() {
        let reference = |centred: &[f64], dim: usize, start: Vec<f64>, rounds: usize| {
            let twice = GramSchmidt {
                passes: 2,
                on_dependent: OnDependent::Drop,
            };
            let mut q = start;
            orthonormalise(&mut q, dim, twice);
            let n_sample = centred.len() / dim;
            for _ in 0..rounds {
                let k = q.len() / dim;
                let mut t = vec![0f64; n_sample * k];
                for s in 0..n_sample {
                    for v in 0..k {
                        t[s * k + v] = dot_f64_in_order(
                            &centred[s * dim..(s + 1) * dim],
                            &q[v * dim..(v + 1) * dim],
                        );
                    }
                }
                let mut next = vec![0f64; k * dim];
                for (v, y) in next.chunks_mut(dim).enumerate() {
                    for s in 0..n_sample {
                        let coef = t[s * k + v];
                        y.iter_mut()
                            .zip(&centred[s * dim..(s + 1) * dim])
                            .for_each(|(o, a)| *o += coef * a);
                    }
                }
                q = next;
                orthonormalise(&mut q, dim, twice);
            }
            q
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (n_sample, dim, k) in [(50, 13, 3), (200, 40, 7), (64, 24, 24), (90, 37, 11)] {
            // Some exact zeros (signed) among the values, as in ReLU activations.
            let centred: Vec<f64> = (0..n_sample * dim)
                .map(|i| match i % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => unit_uniform(&mut rng) - 0.5,
                })
                .collect();
            let start: Vec<f64> = (0..k * dim).map(|_| unit_uniform(&mut rng) - 0.5).collect();
            let got = leading_subspace(&centred, dim, start.clone(), 3);
            let want = reference(&centred, dim, start, 3);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.to_bits(), w.to_bits(), "{n_sample} x {dim}, {k} vectors");
            }
        }
    }

    /// Rows as a flat f32 matrix.
    struct Flat {
        dim: usize,
        values: Vec<f32>,
    }

    impl F32Rows for Flat {
        fn row_f32(&self, row_idx: usize) -> &[f32] {
            &self.values[row_idx * self.dim..(row_idx + 1) * self.dim]
        }
    }

    impl ExactRows for Flat {
        fn n_rows(&self) -> usize {
            self.values.len() / self.dim
        }
        fn dim(&self) -> usize {
            self.dim
        }
        fn for_each_exact(&self, row_idx: usize, visit: impl FnMut(f64)) {
            self.row_f32(row_idx)
                .iter()
                .map(|&v| v as f64)
                .for_each(visit);
        }
    }

    /// Points along (1, 1, 0, 0) with spread 10, along (0, 0, 1, 0) with spread 3, noise 0.1.
    fn elongated_cloud(n: usize) -> Flat {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut values = Vec::with_capacity(n * 4);
        for _ in 0..n {
            let a = (unit_uniform(&mut rng) - 0.5) * 20.0;
            let b = (unit_uniform(&mut rng) - 0.5) * 6.0;
            let noise: Vec<f64> = (0..4)
                .map(|_| (unit_uniform(&mut rng) - 0.5) * 0.2)
                .collect();
            values.extend([a + noise[0], a + noise[1], b + noise[2], noise[3]].map(|v| v as f32));
        }
        Flat { dim: 4, values }
    }

    #[test]
    fn subspace_pca_finds_the_leading_axes_of_an_elongated_cloud() {
        let n = 500;
        let rows = elongated_cloud(n);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut pca = SubspacePca::new(n, 4, 8, || unit_uniform(&mut rng) * 2.0 - 1.0);
        let mut last_done = 0;
        let coords = loop {
            if let Some(c) = pca.advance(&rows, 1000) {
                break c;
            }
            let (done, total) = pca.progress();
            assert!(done >= last_done && done <= total);
            last_done = done;
        };
        let (first, second) = pca.axes().split_at(4);
        let half = 0.5f64.sqrt();
        assert!(
            (first[0] - half).abs() < 1e-3 && (first[1] - half).abs() < 1e-3,
            "{first:?}"
        );
        assert!((second[2].abs() - 1.0).abs() < 1e-3, "{second:?}");
        // Variance along the first axis: (20^2 / 12) * 2 (two coordinates of the long axis).
        let var = |axis: usize| coords.chunks(2).map(|p| p[axis] * p[axis]).sum::<f64>() / n as f64;
        assert!((var(0) - 66.7).abs() < 6.0, "{}", var(0));
        assert!((var(1) - 3.0).abs() < 0.4, "{}", var(1));
    }

    #[test]
    fn leading_subspace_is_orthonormal_and_spans_the_long_axes() {
        let rows = elongated_cloud(300);
        let n = rows.n_rows();
        let mean: Vec<f64> = (0..4)
            .map(|c| (0..n).map(|r| rows.row_f32(r)[c] as f64).sum::<f64>() / n as f64)
            .collect();
        let centred: Vec<f64> = (0..n * 4)
            .map(|i| rows.values[i] as f64 - mean[i % 4])
            .collect();
        let mut stream = crate::numeric::random::SplitMix64::new(1);
        let start: Vec<f64> = (0..2 * 4).map(|_| stream.centred_uniform()).collect();
        let q = leading_subspace(&centred, 4, start, 6);
        assert_eq!(q.len(), 8);
        for i in 0..2 {
            for j in 0..2 {
                let dot: f64 = (0..4).map(|k| q[i * 4 + k] * q[j * 4 + k]).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-14);
            }
        }
        // The fourth axis (noise only) is nearly orthogonal to both.
        assert!(q[3].abs() < 0.05 && q[7].abs() < 0.05, "{q:?}");
    }

    #[test]
    fn first_component_matches_the_subspace_pca_and_fixes_the_sign() {
        let rows = elongated_cloud(400);
        let (_, direction) = first_principal_component(&rows, &[0.3, -0.1, 0.2, 0.05]);
        let half = 0.5f64.sqrt();
        assert!((direction[0] - half).abs() < 1e-3 && (direction[1] - half).abs() < 1e-3);
        // Any start gives the same direction, sign included.
        let (_, flipped) = first_principal_component(&rows, &[-1.0, -1.0, 0.0, 0.0]);
        for (a, b) in direction.iter().zip(&flipped) {
            assert!((a - b).abs() < 1e-10, "{direction:?} vs {flipped:?}");
        }
    }
}
