//! UMAP's layout optimisation: stochastic gradient descent on the fuzzy cross-entropy with
//! epochs-per-sample scheduling and negative sampling (umap-learn 0.5.12's
//! `optimize_layout_euclidean`, serial, `move_other = True`, written from its documented
//! behaviour).
//!
//! Per epoch `n` (0-based), every edge `i` whose `epoch_of_next_sample <= n` pulls its two ends
//! together with the attractive gradient `-2ab d^(2(b-1)) / (1 + a d^(2b))` (clipped to
//! [-4, 4] per coordinate), then pushes its head away from
//! `floor((n - epoch_of_next_negative_sample) / epochs_per_negative_sample)` uniformly drawn
//! vertices with `2 gamma b / ((0.001 + d^2)(1 + a d^(2b)))`. The learning rate is
//! `alpha = 1 - (n - 1) / n_epochs` from epoch 1 on (1 at epochs 0 and 1), as umap-learn
//! updates it after each epoch.
//!
//! Differences from umap-learn: the random vertex draws come from one ChaCha8 stream (umap
//! uses a Tausworthe generator per head vertex); powers use a fast `exp2(b log2 x)` accurate to
//! ~1e-6 relative (umap-learn runs under numba's `fastmath`). Serial, so the result is
//! bit-identical for a given seed.
//!
//! Cost: per epoch, one attractive update per edge sampled (the heaviest edges every epoch)
//! and `negative_sample_rate` repulsive updates per attractive one.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The SGD state; the coordinates live with the caller (interleaved x, y).
pub(crate) struct Optimiser {
    head: Vec<u32>,
    tail: Vec<u32>,
    epochs_per_sample: Vec<f64>,
    epoch_of_next_sample: Vec<f64>,
    epochs_per_negative_sample: Vec<f64>,
    epoch_of_next_negative_sample: Vec<f64>,
    a: f32,
    b: f32,
    gamma: f32,
    initial_alpha: f64,
    n_vertices: usize,
    pub n_epochs: usize,
    /// Current epoch and the next edge to visit in it.
    pub epoch: usize,
    next_edge: usize,
    rng: ChaCha8Rng,
}

/// Parameters of the optimisation.
pub(crate) struct SgdSettings {
    pub a: f64,
    pub b: f64,
    pub gamma: f64,
    pub initial_alpha: f64,
    pub negative_sample_rate: usize,
    pub n_epochs: usize,
    pub seed: u64,
}

impl Optimiser {
    /// Edges `(head, tail, weight)` in the graph's order (each undirected edge twice).
    pub(crate) fn new(n_vertices: usize, edges: &[(u32, u32, f32)], settings: &SgdSettings) -> Optimiser {
        let max_weight = edges.iter().map(|e| e.2 as f64).fold(0.0, f64::max);
        let n_epochs = settings.n_epochs;
        // umap-learn's make_epochs_per_sample: n_epochs / (n_epochs * w / max_w), -1 when 0.
        let epochs_per_sample: Vec<f64> = edges
            .iter()
            .map(|e| {
                let n_samples = n_epochs as f64 * (e.2 as f64 / max_weight);
                if n_samples > 0.0 {
                    n_epochs as f64 / n_samples
                } else {
                    -1.0
                }
            })
            .collect();
        let rate = settings.negative_sample_rate as f64;
        let epochs_per_negative_sample: Vec<f64> = epochs_per_sample.iter().map(|&e| if rate > 0.0 { e / rate } else { f64::INFINITY }).collect();
        Optimiser {
            head: edges.iter().map(|e| e.0).collect(),
            tail: edges.iter().map(|e| e.1).collect(),
            epoch_of_next_sample: epochs_per_sample.clone(),
            epoch_of_next_negative_sample: epochs_per_negative_sample.clone(),
            epochs_per_sample,
            epochs_per_negative_sample,
            a: settings.a as f32,
            b: settings.b as f32,
            gamma: settings.gamma as f32,
            initial_alpha: settings.initial_alpha,
            n_vertices,
            n_epochs,
            epoch: 0,
            next_edge: 0,
            rng: ChaCha8Rng::seed_from_u64(settings.seed ^ 0x756d_6170_5f73_6764),
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.epoch >= self.n_epochs
    }

    /// Fraction of the epochs done.
    pub(crate) fn fraction(&self) -> f64 {
        (self.epoch as f64 + self.next_edge as f64 / self.head.len().max(1) as f64) / self.n_epochs.max(1) as f64
    }

    /// Processes edges until about `budget` updates (attractive + repulsive) were made or the
    /// optimisation ends. Returns true when every epoch is done.
    pub(crate) fn advance(&mut self, coords: &mut [f32], budget: usize) -> bool {
        let mut spent = 0usize;
        while !self.is_done() && spent < budget {
            let n = self.epoch as f64;
            let alpha = if self.epoch == 0 { self.initial_alpha } else { self.initial_alpha * (1.0 - (self.epoch - 1) as f64 / self.n_epochs as f64) } as f32;
            let end = self.head.len();
            while self.next_edge < end && spent < budget {
                let i = self.next_edge;
                self.next_edge += 1;
                if self.epochs_per_sample[i] <= 0.0 || self.epoch_of_next_sample[i] > n {
                    spent += 1;
                    continue;
                }
                spent += 1 + self.update_edge(coords, i, n, alpha);
            }
            if self.next_edge == end {
                self.next_edge = 0;
                self.epoch += 1;
            }
        }
        self.is_done()
    }

    /// One attractive update of edge `i` and its negative samples; returns the number of
    /// negative samples drawn.
    #[inline]
    fn update_edge(&mut self, coords: &mut [f32], i: usize, n: f64, alpha: f32) -> usize {
        let (a, b) = (self.a, self.b);
        let j = self.head[i] as usize;
        let k = self.tail[i] as usize;
        let (mut cx, mut cy) = (coords[2 * j], coords[2 * j + 1]);
        let (ox, oy) = (coords[2 * k], coords[2 * k + 1]);
        let (dx, dy) = (cx - ox, cy - oy);
        let dist_sq = dx * dx + dy * dy;
        if dist_sq > 0.0 {
            let pow_b = fast_pow(dist_sq, b);
            // -2ab d^(b-1) / (a d^b + 1), with d^(b-1) = d^b / d.
            let grad_coeff = -2.0 * a * b * (pow_b / dist_sq) / (a * pow_b + 1.0);
            let gx = clip(grad_coeff * dx) * alpha;
            let gy = clip(grad_coeff * dy) * alpha;
            cx += gx;
            cy += gy;
            coords[2 * k] = ox - gx;
            coords[2 * k + 1] = oy - gy;
        }
        // (No update at distance 0: umap-learn's gradient is 0 there.)
        self.epoch_of_next_sample[i] += self.epochs_per_sample[i];
        let n_negative = ((n - self.epoch_of_next_negative_sample[i]) / self.epochs_per_negative_sample[i]).max(0.0) as usize;
        let n_vertices = self.n_vertices as u64;
        for _ in 0..n_negative {
            let other = ((self.rng.next_u32() as u64 * n_vertices) >> 32) as usize;
            let (ox, oy) = (coords[2 * other], coords[2 * other + 1]);
            let (dx, dy) = (cx - ox, cy - oy);
            let dist_sq = dx * dx + dy * dy;
            if dist_sq > 0.0 {
                let grad_coeff = 2.0 * self.gamma * b / ((0.001 + dist_sq) * (a * fast_pow(dist_sq, b) + 1.0));
                cx += clip(grad_coeff * dx) * alpha;
                cy += clip(grad_coeff * dy) * alpha;
            }
            // dist 0 (the vertex itself or a duplicate): no move, as in umap-learn.
        }
        coords[2 * j] = cx;
        coords[2 * j + 1] = cy;
        self.epoch_of_next_negative_sample[i] += n_negative as f64 * self.epochs_per_negative_sample[i];
        n_negative
    }
}

#[inline(always)]
fn clip(v: f32) -> f32 {
    v.clamp(-4.0, 4.0)
}

/// `x^p` for `x > 0` as `exp2(p log2 x)` with polynomial kernels (relative error ~1e-6 for
/// the exponents UMAP uses); only `+ - * /` and bit operations, so identical everywhere.
#[inline(always)]
pub(crate) fn fast_pow(x: f32, p: f32) -> f32 {
    fast_exp2(p * fast_log2(x.max(f32::MIN_POSITIVE)))
}

#[inline(always)]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mut mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if mantissa > std::f32::consts::SQRT_2 {
        mantissa *= 0.5;
        exponent += 1;
    }
    // ln m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172.
    let t = (mantissa - 1.0) / (mantissa + 1.0);
    let t2 = t * t;
    let series = 1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0))));
    exponent as f32 + 2.0 * t * series * std::f32::consts::LOG2_E
}

#[inline(always)]
fn fast_exp2(y: f32) -> f32 {
    let y = y.clamp(-125.0, 125.0);
    // Round to nearest by the 1.5 * 2^23 trick (no libm call; exact for |y| < 2^22).
    const ROUNDER: f32 = 12_582_912.0;
    let whole = (y + ROUNDER) - ROUNDER;
    let z = (y - whole) * std::f32::consts::LN_2; // |z| <= 0.347
    let poly = 1.0 + z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0 + z * (1.0 / 120.0 + z * (1.0 / 720.0))))));
    poly * f32::from_bits(((whole as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_pow_is_accurate() {
        for &p in &[0.8006f32, 0.895, 1.334, 1.0, 2.0] {
            for &x in &[1e-8f32, 1e-3, 0.1, 0.5, 1.0, 1.5, 3.0, 17.0, 1e3, 1e6] {
                let exact = (x as f64).powf(p as f64);
                let got = fast_pow(x, p) as f64;
                assert!(((got - exact) / exact).abs() < 3e-6, "{x}^{p}: {got} vs {exact}");
            }
        }
    }

    #[test]
    fn an_edge_pulls_its_ends_together() {
        let settings = SgdSettings { a: 1.9, b: 0.8, gamma: 1.0, initial_alpha: 1.0, negative_sample_rate: 0, n_epochs: 20, seed: 1 };
        let mut opt = Optimiser::new(2, &[(0, 1, 1.0), (1, 0, 1.0)], &settings);
        let mut coords = vec![0.0f32, 0.0, 5.0, 0.0];
        assert!(opt.advance(&mut coords, usize::MAX));
        assert!((coords[2] - coords[0]).abs() < 5.0);
    }
}
