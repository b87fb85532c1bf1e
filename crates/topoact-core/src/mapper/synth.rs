//! Synthetic "activation-like" point clouds for benchmarks and demos (the peers' data, see
//! `shared/reference/peers.md`): a tree of curved branches, a loop and two islands in a
//! 16-d latent space, with Gaussian noise, mapped to `dim` dimensions by a random linear
//! map and a ReLU whose per-column bias zeroes about a third of the values.
//! Deterministic for a given seed (ChaCha8). Labels = the component a sample came from.

use ndarray::Array2;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::numeric::random::{box_muller, unit_uniform};

const LATENT: usize = 16;
const N_BRANCHES: usize = 7;

struct Gauss(ChaCha8Rng);

impl Gauss {
    fn uniform(&mut self) -> f64 {
        unit_uniform(&mut self.0)
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        box_muller(u1, u2)
    }
    fn vector(&mut self, scale: f64) -> Vec<f64> {
        (0..LATENT).map(|_| scale * self.normal()).collect()
    }
}

fn bezier(p: &[Vec<f64>; 3], t: f64) -> Vec<f64> {
    (0..LATENT)
        .map(|c| (1.0 - t) * (1.0 - t) * p[0][c] + 2.0 * (1.0 - t) * t * p[1][c] + t * t * p[2][c])
        .collect()
}

/// `n x dim` float32 activations, labels and class names. Cost O(n * 16 * dim).
pub fn activation_like(n: usize, dim: usize, seed: u64) -> (Array2<f32>, Vec<u32>, Vec<String>) {
    let mut rng = Gauss(ChaCha8Rng::seed_from_u64(seed));
    let mut branches: Vec<[Vec<f64>; 3]> = Vec::new();
    for b in 0..N_BRANCHES {
        let start = if b == 0 {
            vec![0.0; LATENT]
        } else {
            let parent = (rng.0.next_u64() % branches.len() as u64) as usize;
            let t0 = 0.4 + 0.6 * rng.uniform();
            bezier(&branches[parent], t0)
        };
        let ctrl: Vec<f64> = start
            .iter()
            .zip(rng.vector(1.0))
            .map(|(a, b)| a + b)
            .collect();
        let end: Vec<f64> = ctrl
            .iter()
            .zip(rng.vector(1.0))
            .map(|(a, b)| a + b)
            .collect();
        branches.push([start, ctrl, end]);
    }
    let loop_centre = rng.vector(1.5);
    // Two orthonormal directions for the loop.
    let u: Vec<f64> = {
        let v = rng.vector(1.0);
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter().map(|x| x / norm).collect()
    };
    let w: Vec<f64> = {
        let v = rng.vector(1.0);
        let d: f64 = v.iter().zip(&u).map(|(a, b)| a * b).sum();
        let v: Vec<f64> = v.iter().zip(&u).map(|(a, b)| a - d * b).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter().map(|x| x / norm).collect()
    };
    let islands = [rng.vector(4.0), rng.vector(4.0)];
    let n_components = N_BRANCHES + 3;
    let mut labels = Vec::with_capacity(n);
    let mut latent = vec![0f64; n * LATENT];
    for i in 0..n {
        let c = (rng.0.next_u64() % n_components as u64) as usize;
        let t = rng.uniform();
        let point = if c < N_BRANCHES {
            bezier(&branches[c], t)
        } else if c == N_BRANCHES {
            let a = 2.0 * std::f64::consts::PI * t;
            (0..LATENT)
                .map(|k| loop_centre[k] + 1.2 * (a.cos() * u[k] + a.sin() * w[k]))
                .collect()
        } else {
            islands[c - N_BRANCHES - 1].clone()
        };
        for k in 0..LATENT {
            latent[i * LATENT + k] = point[k] + 0.08 * rng.normal();
        }
        labels.push(c as u32);
    }
    let map: Vec<f64> = (0..LATENT * dim)
        .map(|_| rng.normal() / (LATENT as f64).sqrt())
        .collect();
    let mut pre = Array2::<f32>::zeros((n, dim));
    for i in 0..n {
        for j in 0..dim {
            let mut s = 0.0;
            for k in 0..LATENT {
                s += latent[i * LATENT + k] * map[k * dim + j];
            }
            pre[[i, j]] = s as f32;
        }
    }
    // Per-column bias at the 1/3 quantile of the first 2000 samples.
    let n_bias = n.min(2000);
    for j in 0..dim {
        let mut col: Vec<f32> = (0..n_bias).map(|i| pre[[i, j]]).collect();
        col.sort_by(|a, b| a.total_cmp(b));
        let bias = if col.is_empty() {
            0.0
        } else {
            col[col.len() / 3]
        };
        for i in 0..n {
            pre[[i, j]] = (pre[[i, j]] - bias).max(0.0);
        }
    }
    let mut names: Vec<String> = (0..N_BRANCHES).map(|b| format!("branch{b}")).collect();
    names.extend([
        "loop".to_string(),
        "island0".to_string(),
        "island1".to_string(),
    ]);
    (pre, labels, names)
}
