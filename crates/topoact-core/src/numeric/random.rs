//! Seeded random helpers: uniform numbers from a raw 64-bit stream, Box-Muller standard
//! normals, and a dependency-free splitmix64 stream. Every result depends only on the seed
//! and the order of the calls (no clocks, no thread-local generators).
//!
//! Users: the t-SNE and UMAP starts ([`super::pca`], `embed::umap`), the synthetic data of
//! tests and benchmarks (`embed::synth`, `mapper::synth`), the graph layout's starts
//! (`layout::init`), the mapper's pruning basis and PC1 start.

use rand::RngCore;

/// A uniform number in [0, 1): the top 53 bits of one `next_u64`, times 2^-53 (the same bits
/// as rand's `random::<f64>()`).
#[inline]
pub(crate) fn unit_uniform<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform number in [-1, 1): `2 u - 1` of one [`unit_uniform`].
#[inline]
pub(crate) fn symmetric_uniform<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    2.0 * unit_uniform(rng) - 1.0
}

/// The Box-Muller transform of `u1` in (0, 1] and `u2` in [0, 1): the cosine branch
/// `sqrt(-2 ln u1) cos(2 pi u2)`, a standard normal when both are uniform.
#[inline]
pub(crate) fn box_muller(u1: f64, u2: f64) -> f64 {
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// One standard normal draw: [`box_muller`] of `1 - u` (in (0, 1], so the log is finite) and
/// the next uniform; two [`unit_uniform`]s per draw, the sine branch is not used.
#[inline]
pub(crate) fn standard_normal<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - unit_uniform(rng);
    let u2 = unit_uniform(rng);
    box_muller(u1, u2)
}

/// splitmix64 (Steele, Lea & Flood 2014): a seeded stream for deterministic start vectors.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-0.5, 0.5): the top 53 bits times 2^-53, minus one half.
    pub(crate) fn centred_uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn unit_uniform_has_the_bits_of_rands_f64() {
        let mut ours = ChaCha8Rng::seed_from_u64(4);
        let mut theirs = ours.clone();
        for _ in 0..1000 {
            let u = unit_uniform(&mut ours);
            assert_eq!(u.to_bits(), theirs.random::<f64>().to_bits());
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn standard_normals_have_mean_zero_and_variance_one() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 200_000;
        let draws: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        assert!(draws.iter().all(|x| x.is_finite()));
        let mean = draws.iter().sum::<f64>() / n as f64;
        let variance = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((variance - 1.0).abs() < 0.02, "variance {variance}");
        // The extremes of the transform stay finite.
        assert!(box_muller(f64::MIN_POSITIVE, 0.0).is_finite());
        assert_eq!(box_muller(1.0, 0.25).abs(), 0.0);
    }

    #[test]
    fn splitmix_is_deterministic_and_centred() {
        let mut a = SplitMix64::new(0x5EED);
        let mut b = SplitMix64::new(0x5EED);
        let draws: Vec<f64> = (0..1000).map(|_| a.centred_uniform()).collect();
        assert!(draws.iter().all(|x| (-0.5..0.5).contains(x)));
        assert!(draws
            .iter()
            .zip(0..)
            .all(|(x, _)| x.to_bits() == b.centred_uniform().to_bits()));
    }
}
