//! PCA initialisation: the rows projected on their first two principal components, scaled
//! so the first coordinate has standard deviation 1e-4, plus a tiny jitter (openTSNE 1.0.4's
//! `initialization.pca` with `rescale` and `jitter`).
//!
//! The components come from subspace iteration on the (implicit) covariance: a block of
//! [`BLOCK`] seeded vectors, [`PASSES`] passes `W = X_c^T X_c V` over the rows (each followed
//! by modified Gram-Schmidt), then a Rayleigh-Ritz step (Jacobi on `V^T W`). Cost per pass
//! O(n d BLOCK); the covariance matrix is never formed, so d = 1280 costs no more than
//! d x BLOCK memory. Work is done in row chunks so the job can step it.
//!
//! Signs are fixed (largest-magnitude loading positive), so the orientation does not depend on
//! the seed. Differences from openTSNE: its PCA is scikit-learn's (exact or randomised SVD)
//! and its jitter Gaussian; ours is uniform with the same standard deviation (only `+ - * /`).
//! If every row is equal (no variance), the start is seeded uniform noise of the same scale.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::super::EmbedRows;

/// Vectors in the subspace iteration (2 wanted + oversampling).
pub(crate) const BLOCK: usize = 6;
/// Passes over the data of the subspace iteration.
pub(crate) const PASSES: usize = 8;
/// Standard deviation of the first coordinate after rescaling (openTSNE).
const TARGET_STD: f64 = 1e-4;
/// Jitter standard deviation relative to `TARGET_STD` (openTSNE).
const JITTER_SCALE: f64 = 0.01;

fn unit_uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

enum Phase {
    Mean,
    /// Pass number (1-based) of the subspace iteration.
    Power(usize),
    Project,
    Done,
}

/// Stepwise PCA initialisation.
pub(crate) struct PcaInit {
    n_points: usize,
    dim: usize,
    block: usize,
    phase: Phase,
    next_row: usize,
    mean: Vec<f64>,
    /// Current orthonormal basis, `block` vectors of length `dim`, vector-major.
    basis: Vec<f64>,
    /// Accumulator `X_c^T X_c V`, same layout.
    accumulated: Vec<f64>,
    /// The two principal axes, after Rayleigh-Ritz.
    axes: Vec<f64>,
    coords: Vec<f64>,
    centred_row: Vec<f64>,
    seed: u64,
}

impl PcaInit {
    pub(crate) fn new(n_points: usize, dim: usize, seed: u64) -> PcaInit {
        let block = BLOCK.min(dim).max(1);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5043_415f_696e_6974);
        let mut basis: Vec<f64> = (0..block * dim)
            .map(|_| unit_uniform(&mut rng) * 2.0 - 1.0)
            .collect();
        orthonormalise(&mut basis, dim);
        PcaInit {
            n_points,
            dim,
            block,
            phase: Phase::Mean,
            next_row: 0,
            mean: vec![0.0; dim],
            basis,
            accumulated: vec![0.0; block * dim],
            axes: vec![0.0; 2 * dim],
            coords: vec![0.0; 2 * n_points],
            centred_row: vec![0.0; dim],
            seed,
        }
    }

    /// Total row visits and rows visited so far (for progress).
    pub(crate) fn progress(&self) -> (u64, u64) {
        let passes_done = match self.phase {
            Phase::Mean => 0,
            Phase::Power(pass) => pass,
            Phase::Project => PASSES + 1,
            Phase::Done => PASSES + 2,
        };
        let total = (PASSES + 2) as u64 * self.n_points as u64;
        let done = (passes_done as u64 * self.n_points as u64 + self.next_row as u64).min(total);
        (done, total)
    }

    /// Processes rows for about `work` multiply-adds; returns the coordinates once finished.
    pub(crate) fn advance(&mut self, rows: &EmbedRows, work: usize) -> Option<Vec<f64>> {
        let n = self.n_points;
        let dim = self.dim;
        let per_row = dim * (2 * self.block + 1);
        let max_rows = (work / per_row.max(1)).max(1);
        let end = (self.next_row + max_rows).min(n);
        match self.phase {
            Phase::Mean => {
                for row in self.next_row..end {
                    for (m, &v) in self.mean.iter_mut().zip(rows.row(row)) {
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
                let mut projections = [0.0; BLOCK];
                for row in self.next_row..end {
                    for ((c, &v), &m) in self
                        .centred_row
                        .iter_mut()
                        .zip(rows.row(row))
                        .zip(&self.mean)
                    {
                        *c = v as f64 - m;
                    }
                    for (j, projection) in projections.iter_mut().enumerate().take(self.block) {
                        *projection = dot(&self.centred_row, &self.basis[j * dim..(j + 1) * dim]);
                    }
                    for (j, &projection) in projections.iter().enumerate().take(self.block) {
                        for (a, &c) in self.accumulated[j * dim..(j + 1) * dim]
                            .iter_mut()
                            .zip(&self.centred_row)
                        {
                            *a += projection * c;
                        }
                    }
                }
                if end == n {
                    self.next_row = 0;
                    if pass < PASSES {
                        std::mem::swap(&mut self.basis, &mut self.accumulated);
                        orthonormalise(&mut self.basis, dim);
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
                for row in self.next_row..end {
                    for ((c, &v), &m) in self
                        .centred_row
                        .iter_mut()
                        .zip(rows.row(row))
                        .zip(&self.mean)
                    {
                        *c = v as f64 - m;
                    }
                    self.coords[2 * row] = dot(&self.centred_row, &self.axes[..dim]);
                    self.coords[2 * row + 1] = dot(&self.centred_row, &self.axes[dim..]);
                }
                if end == n {
                    self.phase = Phase::Done;
                    self.next_row = 0;
                    return Some(self.finish_coords());
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
                h[a * block + b] = dot(
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
        let (eigenvalues, eigenvectors) = jacobi_eigen(&h, block);
        let mut order: Vec<usize> = (0..block).collect();
        order.sort_by(|&a, &b| eigenvalues[b].total_cmp(&eigenvalues[a]).then(a.cmp(&b)));
        for (axis, &which) in order.iter().take(2).enumerate() {
            let out = &mut self.axes[axis * dim..(axis + 1) * dim];
            out.fill(0.0);
            if axis >= block {
                continue;
            }
            for j in 0..block {
                let coefficient = eigenvectors[j * block + which];
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

    fn finish_coords(&mut self) -> Vec<f64> {
        let n = self.n_points;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x6a69_7474_6572);
        let std_first = std_of(self.coords.iter().step_by(2).copied(), n);
        let mut coords = self.coords.clone();
        if std_first > 0.0 && std_first.is_finite() {
            let scale = TARGET_STD / std_first;
            coords.iter_mut().for_each(|v| *v *= scale);
        } else {
            // No variance along the first axis: seeded uniform start with the target spread.
            let half_width = TARGET_STD * 3f64.sqrt();
            coords
                .iter_mut()
                .for_each(|v| *v = (unit_uniform(&mut rng) * 2.0 - 1.0) * half_width);
        }
        // Jitter: uniform with standard deviation JITTER_SCALE * std(first coordinate).
        let jitter_half_width =
            JITTER_SCALE * std_of(coords.iter().step_by(2).copied(), n) * 3f64.sqrt();
        coords
            .iter_mut()
            .for_each(|v| *v += (unit_uniform(&mut rng) * 2.0 - 1.0) * jitter_half_width);
        coords
    }
}

fn std_of(values: impl Iterator<Item = f64> + Clone, n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let mean = values.clone().sum::<f64>() / n as f64;
    (values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four partial sums: faster, and a fixed order, so still deterministic.
    let mut sums = [0.0; 4];
    let chunks_a = a.chunks_exact(4);
    let chunks_b = b.chunks_exact(4);
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (x, y) in chunks_a.zip(chunks_b) {
        for lane in 0..4 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let mut total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    for (x, y) in tail_a.iter().zip(tail_b) {
        total += x * y;
    }
    total
}

/// Modified Gram-Schmidt on vector-major `basis` (vectors of length `dim`). A vector that
/// collapses to (near) zero is replaced by a unit axis vector orthogonalised in turn, so the
/// basis stays full rank even for rank-deficient data.
fn orthonormalise(basis: &mut [f64], dim: usize) {
    let block = basis.len() / dim;
    for j in 0..block {
        let (done, rest) = basis.split_at_mut(j * dim);
        let current = &mut rest[..dim];
        let original_norm = dot(current, current).sqrt();
        for i in 0..j {
            let previous = &done[i * dim..(i + 1) * dim];
            let projection = dot(current, previous);
            for (c, &p) in current.iter_mut().zip(previous) {
                *c -= projection * p;
            }
        }
        let mut norm = dot(current, current).sqrt();
        if !(norm > 1e-10 * original_norm.max(f64::MIN_POSITIVE)) || norm == 0.0 {
            // Degenerate: try axis vectors until one is independent.
            for axis in 0..dim {
                current.fill(0.0);
                current[(axis + j) % dim] = 1.0;
                for i in 0..j {
                    let previous = &done[i * dim..(i + 1) * dim];
                    let projection = dot(current, previous);
                    for (c, &p) in current.iter_mut().zip(previous) {
                        *c -= projection * p;
                    }
                }
                norm = dot(current, current).sqrt();
                if norm > 1e-6 {
                    break;
                }
            }
        }
        if norm > 0.0 {
            current.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// Cyclic Jacobi eigen-decomposition of a small symmetric matrix (row-major `size x size`).
/// Returns eigenvalues and eigenvectors (column `j` of the row-major matrix is vector `j`).
fn jacobi_eigen(matrix: &[f64], size: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = matrix.to_vec();
    let mut v = vec![0.0; size * size];
    for i in 0..size {
        v[i * size + i] = 1.0;
    }
    for _sweep in 0..64 {
        let off: f64 = (0..size)
            .flat_map(|i| (0..size).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * size + j].powi(2))
            .sum();
        let scale: f64 = a.iter().map(|x| x * x).sum();
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for p in 0..size {
            for q in p + 1..size {
                let apq = a[p * size + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * size + q] - a[p * size + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..size {
                    let akp = a[k * size + p];
                    let akq = a[k * size + q];
                    a[k * size + p] = c * akp - s * akq;
                    a[k * size + q] = s * akp + c * akq;
                }
                for k in 0..size {
                    let apk = a[p * size + k];
                    let aqk = a[q * size + k];
                    a[p * size + k] = c * apk - s * aqk;
                    a[q * size + k] = s * apk + c * aqk;
                }
                for k in 0..size {
                    let vkp = v[k * size + p];
                    let vkq = v[k * size + q];
                    v[k * size + p] = c * vkp - s * vkq;
                    v[k * size + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..size).map(|i| a[i * size + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_leading_axes_of_an_elongated_cloud() {
        // Points along (1, 1, 0, 0) with spread 10, along (0, 0, 1, 0) with spread 3, noise 0.1.
        let n = 500;
        let dim = 4;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut values = Vec::with_capacity(n * dim);
        for _ in 0..n {
            let a = (unit_uniform(&mut rng) - 0.5) * 20.0;
            let b = (unit_uniform(&mut rng) - 0.5) * 6.0;
            let noise: Vec<f64> = (0..dim)
                .map(|_| (unit_uniform(&mut rng) - 0.5) * 0.2)
                .collect();
            values.extend([a + noise[0], a + noise[1], b + noise[2], noise[3]].map(|v| v as f32));
        }
        let rows = EmbedRows::from_vec(n, dim, values).unwrap();
        let mut pca = PcaInit::new(n, dim, 7);
        let coords = loop {
            if let Some(c) = pca.advance(&rows, 1000) {
                break c;
            }
        };
        let first = &pca.axes[..dim];
        let second = &pca.axes[dim..];
        assert!(
            (first[0] - 0.5f64.sqrt()).abs() < 1e-3 && (first[1] - 0.5f64.sqrt()).abs() < 1e-3,
            "{first:?}"
        );
        assert!((second[2].abs() - 1.0).abs() < 1e-3, "{second:?}");
        let std_first = std_of(coords.iter().step_by(2).copied(), n);
        assert!((std_first - TARGET_STD).abs() < 1e-6);
    }

    #[test]
    fn equal_rows_give_a_finite_spread_start() {
        let rows = EmbedRows::from_vec(50, 3, vec![1.5; 150]).unwrap();
        let mut pca = PcaInit::new(50, 3, 1);
        let coords = loop {
            if let Some(c) = pca.advance(&rows, 10) {
                break c;
            }
        };
        assert!(coords.iter().all(|v| v.is_finite()));
        assert!(std_of(coords.iter().step_by(2).copied(), 50) > 1e-5);
    }
}
