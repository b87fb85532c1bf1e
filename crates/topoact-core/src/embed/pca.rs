//! The first two principal components of the rows, computed in bounded steps (UMAP's `pca`
//! initialisation and its fallback when the spectral start fails).
//!
//! Method: subspace iteration on the implicit covariance: a seeded block of [`BLOCK`]
//! vectors, [`PASSES`] passes `W = X_c^T X_c V` over the rows, each followed by Gram-Schmidt,
//! then a Rayleigh-Ritz step on the block (Jacobi) and the projection of every row on the
//! two leading directions. Cost O((PASSES + 2) * n * dim * BLOCK); memory O(dim * BLOCK)
//! besides the output. Deterministic per seed; signs fixed (largest loading positive).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::linalg::{orthonormalise, symmetric_eigen};
use super::EmbedRows;

/// Vectors in the subspace iteration (2 wanted + oversampling).
const BLOCK: usize = 6;
/// Passes of the subspace iteration.
const PASSES: usize = 7;

enum Phase {
    Mean,
    Power(usize),
    Project,
}

/// Stepwise PCA to two coordinates.
pub(crate) struct Pca2 {
    phase: Phase,
    next_row: usize,
    block: usize,
    mean: Vec<f64>,
    basis: Vec<f64>,
    accumulated: Vec<f64>,
    axes: Vec<f64>,
    coords: Vec<f64>,
}

impl Pca2 {
    pub(crate) fn new(rows: &EmbedRows, seed: u64) -> Pca2 {
        let dim = rows.dim;
        let block = BLOCK.min(dim);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7063_615f_7532);
        let mut basis: Vec<f64> = (0..block * dim)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        orthonormalise(&mut basis, dim);
        Pca2 {
            phase: Phase::Mean,
            next_row: 0,
            block,
            mean: vec![0.0; dim],
            basis,
            accumulated: vec![0.0; block * dim],
            axes: Vec::new(),
            coords: vec![0.0; 2 * rows.n_points],
        }
    }

    /// Fraction done, in [0, 1].
    pub(crate) fn fraction(&self, n_points: usize) -> f64 {
        let pass = match self.phase {
            Phase::Mean => 0,
            Phase::Power(p) => p + 1,
            Phase::Project => PASSES + 1,
        };
        (pass as f64 + self.next_row as f64 / n_points.max(1) as f64) / (PASSES + 2) as f64
    }

    /// Works for about `work` multiply-adds; returns the `n x 2` coordinates (interleaved)
    /// when done.
    pub(crate) fn advance(&mut self, rows: &EmbedRows, work: usize) -> Option<Vec<f64>> {
        let (n, dim, block) = (rows.n_points, rows.dim, self.block);
        let per_row = dim * (2 * block + 1);
        let end = (self.next_row + (work / per_row).max(1)).min(n);
        let mut centred = vec![0.0; dim];
        match self.phase {
            Phase::Mean => {
                for row in self.next_row..end {
                    self.mean
                        .iter_mut()
                        .zip(rows.row(row))
                        .for_each(|(m, &v)| *m += v as f64);
                }
                if end == n {
                    self.mean.iter_mut().for_each(|m| *m /= n as f64);
                }
            }
            Phase::Power(_) => {
                let mut t = vec![0.0; block];
                for row in self.next_row..end {
                    centred
                        .iter_mut()
                        .zip(rows.row(row))
                        .zip(&self.mean)
                        .for_each(|((c, &v), m)| *c = v as f64 - m);
                    for (b, tb) in t.iter_mut().enumerate() {
                        *tb = self.basis[b * dim..(b + 1) * dim]
                            .iter()
                            .zip(&centred)
                            .map(|(x, y)| x * y)
                            .sum();
                    }
                    for (b, &tb) in t.iter().enumerate() {
                        self.accumulated[b * dim..(b + 1) * dim]
                            .iter_mut()
                            .zip(&centred)
                            .for_each(|(w, c)| *w += tb * c);
                    }
                }
            }
            Phase::Project => {
                for row in self.next_row..end {
                    centred
                        .iter_mut()
                        .zip(rows.row(row))
                        .zip(&self.mean)
                        .for_each(|((c, &v), m)| *c = v as f64 - m);
                    for axis in 0..2 {
                        self.coords[2 * row + axis] = self.axes[axis * dim..(axis + 1) * dim]
                            .iter()
                            .zip(&centred)
                            .map(|(x, y)| x * y)
                            .sum();
                    }
                }
            }
        }
        self.next_row = end;
        if end < n {
            return None;
        }
        self.next_row = 0;
        match self.phase {
            Phase::Mean => self.phase = Phase::Power(0),
            Phase::Power(pass) => {
                if pass + 1 < PASSES {
                    self.basis.copy_from_slice(&self.accumulated);
                    orthonormalise(&mut self.basis, dim);
                    self.accumulated.iter_mut().for_each(|w| *w = 0.0);
                    self.phase = Phase::Power(pass + 1);
                } else {
                    self.axes = self.rayleigh_ritz(dim);
                    self.phase = Phase::Project;
                }
            }
            Phase::Project => return Some(std::mem::take(&mut self.coords)),
        }
        None
    }

    /// The two leading directions from the last pass: `H = V^T (C V)` (C V accumulated),
    /// its eigenvectors rotate V.
    fn rayleigh_ritz(&self, dim: usize) -> Vec<f64> {
        let block = self.block;
        let mut h = vec![0.0; block * block];
        for i in 0..block {
            for j in 0..block {
                h[i * block + j] = self.basis[i * dim..(i + 1) * dim]
                    .iter()
                    .zip(&self.accumulated[j * dim..(j + 1) * dim])
                    .map(|(a, b)| a * b)
                    .sum();
            }
        }
        // Symmetrise against rounding.
        for i in 0..block {
            for j in i + 1..block {
                let mean = 0.5 * (h[i * block + j] + h[j * block + i]);
                h[i * block + j] = mean;
                h[j * block + i] = mean;
            }
        }
        let (_, vectors) = symmetric_eigen(&h, block);
        let mut axes = vec![0.0; 2 * dim];
        for axis in 0..2.min(block) {
            for b in 0..block {
                let weight = vectors[b * block + axis];
                for d in 0..dim {
                    axes[axis * dim + d] += weight * self.basis[b * dim + d];
                }
            }
            let largest = axes[axis * dim..(axis + 1) * dim]
                .iter()
                .copied()
                .max_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(1.0);
            if largest < 0.0 {
                axes[axis * dim..(axis + 1) * dim]
                    .iter_mut()
                    .for_each(|x| *x = -*x);
            }
        }
        axes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_long_axis_of_an_elongated_cloud() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 500;
        let dim = 5;
        let mut values = Vec::new();
        for _ in 0..n {
            let t: f64 = rng.random_range(-10.0..10.0);
            let s: f64 = rng.random_range(-3.0..3.0);
            // Long axis (1,1,0,0,0)/sqrt2, second axis (0,0,1,0,0).
            values.extend_from_slice(&[
                (t + 5.0) as f32,
                (t - 1.0) as f32,
                s as f32,
                rng.random_range(-0.1..0.1),
                0.5,
            ]);
        }
        let rows = EmbedRows::from_vec(n, dim, values).expect("finite");
        let mut pca = Pca2::new(&rows, 3);
        let coords = loop {
            if let Some(c) = pca.advance(&rows, 1000) {
                break c;
            }
        };
        let var = |axis: usize| coords.chunks(2).map(|p| p[axis] * p[axis]).sum::<f64>() / n as f64;
        assert!(var(0) > 60.0 && var(0) < 75.0, "{}", var(0));
        assert!(var(1) > 2.5 && var(1) < 3.5, "{}", var(1));
    }
}
