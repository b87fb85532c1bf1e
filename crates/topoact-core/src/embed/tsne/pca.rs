//! PCA initialisation: the rows projected on their first two principal components, scaled
//! so the first coordinate has standard deviation 1e-4, plus a tiny jitter (openTSNE 1.0.4's
//! `initialization.pca` with `rescale` and `jitter`).
//!
//! The components come from [`SubspacePca`] (subspace iteration on the implicit covariance,
//! shared with UMAP's PCA start): a block of [`crate::numeric::pca::BLOCK`] seeded vectors,
//! [`PASSES`] passes `W = X_c^T X_c V` over the rows (each followed
//! by modified Gram-Schmidt), then a Rayleigh-Ritz step (Jacobi on `V^T W`). Cost per pass
//! O(n d BLOCK); the covariance matrix is never formed, so d = 1280 costs no more than
//! d x BLOCK memory. Work is done in row chunks so the job can step it.
//!
//! Signs are fixed (largest-magnitude loading positive), so the orientation does not depend on
//! the seed. Differences from openTSNE: its PCA is scikit-learn's (exact or randomised SVD)
//! and its jitter Gaussian; ours is uniform with the same standard deviation (only `+ - * /`).
//! If every row is equal (no variance), the start is seeded uniform noise of the same scale.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::super::EmbedRows;
use crate::numeric::pca::SubspacePca;
use crate::numeric::random::unit_uniform;

/// Passes over the data of the subspace iteration.
pub(crate) const PASSES: usize = 8;
/// Standard deviation of the first coordinate after rescaling (openTSNE).
const TARGET_STD: f64 = 1e-4;
/// Jitter standard deviation relative to `TARGET_STD` (openTSNE).
const JITTER_SCALE: f64 = 0.01;

/// Stepwise PCA initialisation.
pub(crate) struct PcaInit {
    n_points: usize,
    pca: SubspacePca,
    seed: u64,
}

impl PcaInit {
    pub(crate) fn new(n_points: usize, dim: usize, seed: u64) -> PcaInit {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5043_415f_696e_6974);
        let pca = SubspacePca::new(n_points, dim, PASSES, || unit_uniform(&mut rng) * 2.0 - 1.0);
        PcaInit {
            n_points,
            pca,
            seed,
        }
    }

    /// Total row visits and rows visited so far (for progress).
    pub(crate) fn progress(&self) -> (u64, u64) {
        self.pca.progress()
    }

    /// Processes rows for about `work` multiply-adds; returns the coordinates once finished.
    pub(crate) fn advance(&mut self, rows: &EmbedRows, work: usize) -> Option<Vec<f64>> {
        let coords = self.pca.advance(rows, work)?;
        Some(self.finish_coords(coords))
    }

    fn finish_coords(&self, mut coords: Vec<f64>) -> Vec<f64> {
        let n = self.n_points;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x6a69_7474_6572);
        let std_first = std_of(coords.iter().step_by(2).copied(), n);
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
        let (first, second) = pca.pca.axes().split_at(dim);
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
