//! UMAP's spectral initialisation: the eigenvectors of the two smallest non-trivial
//! eigenvalues of the normalised Laplacian `L = I - D^-1/2 W D^-1/2` of the fuzzy graph
//! (umap-learn computes them with ARPACK's `eigsh(L, k=3, which="SM")`).
//!
//! Method (ours): the smallest eigenvalues of `L` are the largest of
//! `M = D^-1/2 W D^-1/2`, whose top eigenvector `D^1/2 1` (eigenvalue 1) is known and
//! deflated. Lanczos on the deflated `M` with full reorthogonalisation finds the next two;
//! every [`CHECK_EVERY`] steps the tridiagonal matrix is diagonalised (Jacobi) and the Ritz
//! residuals `|beta_j y_j|` checked against [`TOLERANCE`] (umap-learn's eigsh tolerance).
//! After [`MAX_BASIS`] vectors without convergence it restarts explicitly from the sum of
//! the two leading Ritz vectors, at most [`MAX_RESTARTS`] times; then it accepts residuals
//! below [`ACCEPT_RESIDUAL`] or fails.
//!
//! Lanczos from one start vector finds one vector of an exactly repeated eigenvalue (a
//! symmetric ring, say); real fuzzy graphs do not have exact repeats.
//!
//! A disconnected graph (or an isolated vertex) is refused: umap-learn lays out each
//! component separately there (`multi_component_layout`); we leave that case to the PCA
//! start (see `UmapJob`).
//!
//! Cost per Lanczos step: O(nnz) for the product plus O(j n) for reorthogonalisation; memory
//! `MAX_BASIS * n` f64.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::fuzzy::SparseGraph;
use crate::numeric::kernels::dot_f64_in_order as dot;
use crate::numeric::linalg::symmetric_eigen;

const CHECK_EVERY: usize = 10;
const MAX_BASIS: usize = 100;
const MAX_RESTARTS: usize = 8;
const TOLERANCE: f64 = 1e-4;
const ACCEPT_RESIDUAL: f64 = 1e-2;

/// Why the spectral start is not available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpectralFailure {
    /// The graph has more than one connected component (count given).
    Disconnected { n_components: usize },
    /// Lanczos did not converge to the required residual.
    NotConverged,
}

/// Stepwise Lanczos for the two leading non-trivial eigenvectors.
pub(crate) struct SpectralInit {
    n: usize,
    nnz: usize,
    /// `D^-1/2` per vertex.
    inv_sqrt_degree: Vec<f64>,
    /// The known top eigenvector `D^1/2 1 / |D^1/2 1|`.
    trivial: Vec<f64>,
    basis: Vec<Vec<f64>>,
    alphas: Vec<f64>,
    betas: Vec<f64>,
    restarts: usize,
    /// Best (largest) residual of the two wanted pairs at the last check.
    pub last_residual: f64,
}

impl SpectralInit {
    pub(crate) fn new(graph: &SparseGraph, seed: u64) -> Result<SpectralInit, SpectralFailure> {
        let n = graph.n;
        let n_components = count_components(graph);
        if n_components != 1 {
            return Err(SpectralFailure::Disconnected { n_components });
        }
        if n < 4 {
            return Err(SpectralFailure::NotConverged);
        }
        let degree: Vec<f64> = (0..n)
            .map(|i| graph.row(i).1.iter().map(|&w| w as f64).sum())
            .collect();
        let inv_sqrt_degree: Vec<f64> = degree.iter().map(|&d| 1.0 / d.sqrt()).collect();
        let mut trivial: Vec<f64> = degree.iter().map(|d| d.sqrt()).collect();
        normalise(&mut trivial);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7370_6563_7472_616c);
        let start: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut init = SpectralInit {
            n,
            nnz: graph.cols.len(),
            inv_sqrt_degree,
            trivial,
            basis: Vec::new(),
            alphas: Vec::new(),
            betas: Vec::new(),
            restarts: 0,
            last_residual: f64::INFINITY,
        };
        init.begin(start);
        Ok(init)
    }

    fn begin(&mut self, mut start: Vec<f64>) {
        project_out(&mut start, &self.trivial);
        normalise(&mut start);
        self.basis.clear();
        self.alphas.clear();
        self.betas.clear();
        self.basis.push(start);
    }

    /// Cost of one Lanczos step in multiply-adds (for step budgeting).
    pub(crate) fn step_cost(&self) -> usize {
        2 * self.nnz + 4 * self.basis.len() * self.n + 4 * self.n
    }

    /// Progress as (done, total) Lanczos steps (the total grows on restarts).
    pub(crate) fn progress(&self) -> (u64, u64) {
        let done = (self.restarts * MAX_BASIS + self.basis.len()) as u64;
        (done, ((self.restarts + 1) * MAX_BASIS) as u64)
    }

    /// One Lanczos step (and a convergence check every few). Returns the two eigenvectors
    /// (as `[x0, y0, x1, y1, ...]`) when done.
    pub(crate) fn advance(
        &mut self,
        graph: &SparseGraph,
    ) -> Option<Result<Vec<f64>, SpectralFailure>> {
        let n = self.n;
        let j = self.basis.len() - 1;
        let mut w = self.apply(graph, &self.basis[j]);
        let alpha = dot(&w, &self.basis[j]);
        // Full reorthogonalisation (twice is enough) against the basis and the trivial vector.
        for _ in 0..2 {
            project_out(&mut w, &self.trivial);
            for v in &self.basis {
                project_out(&mut w, v);
            }
        }
        let beta = dot(&w, &w).sqrt();
        self.alphas.push(alpha);
        let exhausted = beta < 1e-10 || self.basis.len() >= n - 1;
        let size = self.alphas.len();
        if size >= 2 && (size.is_multiple_of(CHECK_EVERY) || size >= MAX_BASIS || exhausted) {
            let (ritz, residuals) = self.ritz(beta);
            self.last_residual = residuals;
            if residuals <= TOLERANCE || exhausted {
                return Some(Ok(ritz));
            }
            if size >= MAX_BASIS {
                if self.restarts >= MAX_RESTARTS {
                    return Some(if residuals <= ACCEPT_RESIDUAL {
                        Ok(ritz)
                    } else {
                        Err(SpectralFailure::NotConverged)
                    });
                }
                self.restarts += 1;
                let start: Vec<f64> = (0..n).map(|i| ritz[2 * i] + ritz[2 * i + 1]).collect();
                self.begin(start);
                return None;
            }
        }
        self.betas.push(beta);
        w.iter_mut().for_each(|x| *x /= beta);
        self.basis.push(w);
        None
    }

    /// The two leading Ritz vectors (interleaved) and the larger of their residual norms.
    fn ritz(&self, last_beta: f64) -> (Vec<f64>, f64) {
        let m = self.alphas.len();
        let mut t = vec![0.0; m * m];
        for i in 0..m {
            t[i * m + i] = self.alphas[i];
            if i + 1 < m {
                t[i * m + i + 1] = self.betas[i];
                t[(i + 1) * m + i] = self.betas[i];
            }
        }
        let (_, vectors) = symmetric_eigen(&t, m);
        let n = self.n;
        let mut out = vec![0.0; 2 * n];
        let mut worst = 0f64;
        for col in 0..2 {
            worst = worst.max((last_beta * vectors[(m - 1) * m + col]).abs());
            for (row, v) in self.basis.iter().enumerate().take(m) {
                let weight = vectors[row * m + col];
                for i in 0..n {
                    out[2 * i + col] += weight * v[i];
                }
            }
        }
        (out, worst)
    }

    /// `M x` with `M = D^-1/2 W D^-1/2`.
    fn apply(&self, graph: &SparseGraph, x: &[f64]) -> Vec<f64> {
        let n = self.n;
        let scaled: Vec<f64> = x
            .iter()
            .zip(&self.inv_sqrt_degree)
            .map(|(a, b)| a * b)
            .collect();
        (0..n)
            .map(|i| {
                let (cols, weights) = graph.row(i);
                let s: f64 = cols
                    .iter()
                    .zip(weights)
                    .map(|(&c, &w)| w as f64 * scaled[c as usize])
                    .sum();
                s * self.inv_sqrt_degree[i]
            })
            .collect()
    }
}

fn normalise(v: &mut [f64]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

fn project_out(w: &mut [f64], unit: &[f64]) {
    let c = dot(w, unit);
    w.iter_mut().zip(unit).for_each(|(x, u)| *x -= c * u);
}

/// Connected components of the symmetric graph (union-find with path halving, each edge
/// once); isolated vertices count as components.
pub(crate) fn count_components(graph: &SparseGraph) -> usize {
    let n = graph.n;
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    let mut components = n;
    for i in 0..n {
        // The graph is symmetric: each edge once, from its larger end (the same components).
        for &j in graph.row(i).0.iter().take_while(|&&j| (j as usize) < i) {
            let (a, b) = (find(&mut parent, i as u32), find(&mut parent, j));
            if a != b {
                parent[a.max(b) as usize] = a.min(b);
                components -= 1;
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path graph: the normalised Laplacian's second eigenvector is `D^1/2` times a cosine
    /// along the path, so the first coordinate divided by `sqrt(degree)` is monotone in the
    /// vertex order.
    #[test]
    fn path_graph_orders_the_vertices() {
        let n = 60;
        let mut directed = vec![Vec::new(); n];
        for (i, row) in directed.iter_mut().enumerate() {
            if i + 1 < n {
                row.push(((i + 1) as u32, 1.0f32));
            }
        }
        let graph = super::super::fuzzy::fuzzy_union(
            n,
            super::super::fuzzy::Directed::from_lists(&directed),
        );
        let mut init = SpectralInit::new(&graph, 1).expect("connected");
        let coords = loop {
            if let Some(result) = init.advance(&graph) {
                break result.expect("converges");
            }
        };
        let degree = |i: usize| if i == 0 || i == n - 1 { 1.0f64 } else { 2.0 };
        let first: Vec<f64> = (0..n).map(|i| coords[2 * i] / degree(i).sqrt()).collect();
        let increasing = first.windows(2).all(|w| w[0] < w[1]);
        let decreasing = first.windows(2).all(|w| w[0] > w[1]);
        assert!(increasing || decreasing, "{first:?}");
    }

    #[test]
    fn disconnected_graph_is_refused() {
        let directed = vec![vec![(1u32, 1.0f32)], vec![], vec![(3, 1.0)], vec![]];
        let graph = super::super::fuzzy::fuzzy_union(
            4,
            super::super::fuzzy::Directed::from_lists(&directed),
        );
        assert_eq!(
            SpectralInit::new(&graph, 1).err(),
            Some(SpectralFailure::Disconnected { n_components: 2 })
        );
    }
}
