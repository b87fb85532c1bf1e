//! Seeded synthetic data for the projection tests and benchmarks.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{EmbedError, EmbedRows};
use crate::numeric::random::standard_normal;

/// `n` points in `dim` dimensions from `n_blobs` isotropic Gaussian blobs of standard
/// deviation one whose centres are uniform in `[-10, 10]^dim`, like scikit-learn's
/// `make_blobs` defaults: the peers' benchmark data (20 blobs, D = 256). Point `i` belongs to
/// blob `i % n_blobs`; returns the rows and the blob label of each. Deterministic per seed
/// (ChaCha8, Box-Muller normals). Cost O(n * dim).
pub fn gaussian_blobs(
    n: usize,
    dim: usize,
    n_blobs: usize,
    seed: u64,
) -> Result<(EmbedRows, Vec<u32>), EmbedError> {
    if n_blobs == 0 {
        return Err(EmbedError::InvalidParameter {
            name: "n_blobs",
            reason: "must be at least 1".into(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<f32> = (0..n_blobs * dim)
        .map(|_| rng.random_range(-10.0f32..10.0))
        .collect();
    let mut values = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let blob = i % n_blobs;
        labels.push(blob as u32);
        let centre = &centres[blob * dim..(blob + 1) * dim];
        for &c in centre {
            values.push(c + standard_normal(&mut rng) as f32);
        }
    }
    Ok((EmbedRows::from_vec(n, dim, values)?, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_seeded_and_shaped() {
        let (a, labels) = gaussian_blobs(100, 8, 20, 3).expect("valid");
        let (b, _) = gaussian_blobs(100, 8, 20, 3).expect("valid");
        assert_eq!(a.values(), b.values());
        assert_eq!((a.n_points, a.dim), (100, 8));
        assert_eq!(labels[21], 1);
        let mean: f32 = a.values().iter().sum::<f32>() / a.values().len() as f32;
        assert!(mean.abs() < 3.0);
    }
}
