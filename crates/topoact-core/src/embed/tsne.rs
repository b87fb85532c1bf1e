//! t-SNE (van der Maaten & Hinton 2008) with FFT-accelerated repulsion (Linderman et al.
//! 2019, "FIt-SNE"), following openTSNE 1.0.4's defaults except perplexity 50.
//!
//! # Steps ([`TsneJob`], each in bounded steps)
//! 1. **Affinities**: for each point, a Gaussian over its first `k` neighbours of the shared
//!    [`KnnGraph`] (`k = min(floor(3 perplexity), n - 1)`), bandwidth found by a bracketed
//!    Newton search so the conditional distribution has the requested perplexity (entropy
//!    within 1e-8 nats).
//!    If `perplexity > k` (small `n`), `k / 3` is used instead, as openTSNE does.
//! 2. **Symmetrise**: `P = (P_cond + P_cond^T) / sum`, sparse (about 1.5 `n k` entries).
//! 3. **PCA start**: the rows' first two principal components, first coordinate scaled to
//!    standard deviation 1e-4, plus jitter of 1 % of that ([`pca`]).
//! 4. **Gradient descent** on KL(P || Q) with Student-t `q_ij ∝ 1 / (1 + |y_i - y_j|^2)`:
//!    `grad_i = e sum_j p_ij q_ij (y_i - y_j) - sum_j q_ij^2 (y_i - y_j) / Z` (openTSNE's
//!    convention, without the factor 4). Early exaggeration `e = 12` for 250 iterations, then
//!    `e = 1`; momentum 0.8 throughout (openTSNE 1.0.4's `initial_momentum` and
//!    `final_momentum`); learning rate `n / e` per phase ("auto"); delta-bar-delta gains
//!    (+0.2 on a sign change, x0.8 + 0.01 otherwise); each point's step clipped to norm 5;
//!    the embedding re-centred after every step.
//!    The repulsion is exact below [`RepulsionMethod::Auto`]'s threshold and otherwise
//!    interpolated on a grid with FFT convolutions ([`repulsion`]; 4 nodes per box and boxes
//!    up to 3 wide rather than openTSNE's 3 and 1, with the pairs in neighbouring boxes
//!    summed exactly, see [`InterpolationParams`]).
//!    Internally points are renumbered in breadth-first order over `P` so the attraction
//!    reads nearby memory; coordinates are reported in row order.
//!
//! # Cost
//! Per iteration O(nnz(P) / 2) for the attraction (each symmetric pair once, [`attraction`];
//! nnz about 1.5 n k, `k = 150` at perplexity 50)
//! plus O(n p^2 + L^2 log L) for the repulsion (`L` = FFT side, `2^k` or `3 * 2^k`: 512 with
//! the default grid, then 768, 1024, 1536 as the embedding grows) plus the near field's
//! pairs (a few hundred per point on clustered data); memory O(n k) for `P`'s upper
//! triangle (8 bytes per pair) plus 8 force accumulators of `2 n` floats, and O(L^2) for the
//! grid.
//!
//! # Determinism
//! Same rows, kNN graph, parameters and seed give bit-identical coordinates on a platform:
//! every sum runs in a fixed order, the parallel (`parallel` feature) paths split work by
//! point or row (the perplexity search, symmetrising, the gradient update), by a fixed
//! number of row runs (the attraction), by stripes of box rows (the spreading: each grid
//! node still gets its terms in point order) or by box-row parity (the near field) and
//! never change an operation's order, and randomness is a seeded ChaCha8 stream. Only the
//! PCA start (shared with UMAP) and the embedding's mean run on one thread; with the
//! feature the PCA start runs beside the affinity and symmetrising steps (it needs only the
//! rows, and its sums go row by row whatever the split), so it is mostly done when they end.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use topoact_core::embed::{knn::knn_brute_force, EmbedRows, tsne::{TsneJob, TsneParams}};
//! use topoact_core::job::run_to_end;
//! let values: Vec<f32> = (0..200 * 3).map(|v| ((v * 7919) % 101) as f32 / 10.0).collect();
//! let rows = Arc::new(EmbedRows::from_vec(200, 3, values).unwrap());
//! let params = TsneParams { perplexity: 10.0, n_iter: 100, early_exaggeration_iter: 50, ..TsneParams::default() };
//! let knn = Arc::new(knn_brute_force(&rows, params.neighbours_needed_for(200)).unwrap());
//! let mut job = TsneJob::new(rows, knn, params).unwrap();
//! let embedding = run_to_end(&mut job, |_| {}).unwrap();
//! assert_eq!(embedding.coords.len(), 400);
//! assert!(embedding.coords.iter().all(|v| v.is_finite()));
//! ```

mod affinity;
mod attraction;
mod fft;
mod pca;
pub mod repulsion;

use std::sync::{Arc, OnceLock};

use super::{EmbedError, EmbedRows, Embedding, KnnGraph, ProgressiveEmbedding};
use crate::job::{Job, Progress, Step};
use affinity::{calibrate_row, Symmetriser};
use attraction::PairAttraction;
use pca::PcaInit;
pub use repulsion::{exact_repulsion, InterpolatedRepulsion, InterpolationParams};

/// Fewest points t-SNE accepts (with 4 neighbours, perplexity at most 4/3).
pub const MIN_POINTS: usize = 5;

/// Approximate multiply-adds per [`Job::step`] in the set-up stages (a few ms natively).
const WORK_PER_STEP: usize = 6_000_000;

/// Multiply-adds of the PCA start done beside each affinity or symmetrising step with the
/// `parallel` feature (the PCA is serial: one thread runs it while the others calibrate or
/// merge rows). At 50K x 256 the PCA then ends with the symmetrising.
#[cfg(feature = "parallel")]
const EARLY_PCA_WORK: usize = 4 * WORK_PER_STEP;

/// How the repulsive forces are computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RepulsionMethod {
    /// Exact up to `exact_max_points` points, interpolated (FFT) above.
    Auto { exact_max_points: usize },
    /// Exact O(n^2) sums.
    Exact,
    /// Interpolation on a grid with FFT convolutions.
    Interpolated,
}

/// Parameters of t-SNE. Defaults are openTSNE 1.0.4's, except perplexity 50 (TopoAct's).
#[derive(Clone, Debug, PartialEq)]
pub struct TsneParams {
    /// Effective number of neighbours (default 50).
    pub perplexity: f64,
    /// Iterations in all, early exaggeration included (default 750 = openTSNE's 250 + 500).
    pub n_iter: usize,
    /// Attraction multiplier during the first iterations (default 12).
    pub early_exaggeration: f64,
    /// Iterations with early exaggeration (default 250).
    pub early_exaggeration_iter: usize,
    /// `None` = openTSNE's "auto": `n / exaggeration` in each phase.
    pub learning_rate: Option<f64>,
    pub seed: u64,
    /// Momentum during early exaggeration (openTSNE 1.0.4: 0.8).
    pub early_momentum: f64,
    /// Momentum afterwards (0.8).
    pub momentum: f64,
    /// Smallest gain (0.01).
    pub min_gain: f64,
    /// Each point's step is clipped to this norm (openTSNE 1.0.4: 5); `None` = no clipping.
    pub max_step_norm: Option<f64>,
    pub repulsion: RepulsionMethod,
    pub interpolation: InterpolationParams,
}

impl Default for TsneParams {
    fn default() -> Self {
        TsneParams {
            perplexity: 50.0,
            n_iter: 750,
            early_exaggeration: 12.0,
            early_exaggeration_iter: 250,
            learning_rate: None,
            seed: 0,
            early_momentum: 0.8,
            momentum: 0.8,
            min_gain: 0.01,
            max_step_norm: Some(5.0),
            repulsion: RepulsionMethod::Auto {
                exact_max_points: 1000,
            },
            interpolation: InterpolationParams::default(),
        }
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> EmbedError {
    EmbedError::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

impl TsneParams {
    /// Checks every parameter and that `n_points` is enough ([`MIN_POINTS`]).
    pub fn validate(&self, n_points: usize) -> Result<(), EmbedError> {
        if n_points == 0 {
            return Err(EmbedError::EmptyInput);
        }
        if n_points < MIN_POINTS {
            return Err(EmbedError::TooFewPoints {
                n_points,
                needed: MIN_POINTS,
            });
        }
        if !(self.perplexity.is_finite() && self.perplexity >= 1.0) {
            return Err(invalid(
                "perplexity",
                format!("{} is not a number of at least 1", self.perplexity),
            ));
        }
        if self.n_iter == 0 || self.n_iter > 100_000 {
            return Err(invalid(
                "n_iter",
                format!("{} is not between 1 and 100000", self.n_iter),
            ));
        }
        if self.early_exaggeration_iter > self.n_iter {
            return Err(invalid(
                "early_exaggeration_iter",
                format!(
                    "{} exceeds the {} iterations in all",
                    self.early_exaggeration_iter, self.n_iter
                ),
            ));
        }
        if !(self.early_exaggeration.is_finite() && self.early_exaggeration > 0.0) {
            return Err(invalid(
                "early_exaggeration",
                format!("{} is not a positive number", self.early_exaggeration),
            ));
        }
        if let Some(rate) = self.learning_rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(invalid(
                    "learning_rate",
                    format!("{rate} is not a positive number"),
                ));
            }
        }
        for (name, value) in [
            ("early_momentum", self.early_momentum),
            ("momentum", self.momentum),
        ] {
            if !(0.0..1.0).contains(&value) {
                return Err(invalid(name, format!("{value} is not in [0, 1)")));
            }
        }
        if !(self.min_gain.is_finite() && self.min_gain > 0.0 && self.min_gain < 1.0) {
            return Err(invalid(
                "min_gain",
                format!("{} is not in (0, 1)", self.min_gain),
            ));
        }
        if let Some(norm) = self.max_step_norm {
            if !(norm.is_finite() && norm > 0.0) {
                return Err(invalid(
                    "max_step_norm",
                    format!("{norm} is not a positive number"),
                ));
            }
        }
        let grid = &self.interpolation;
        if !(1..=8).contains(&grid.points_per_box) {
            return Err(invalid(
                "interpolation.points_per_box",
                format!("{} is not between 1 and 8", grid.points_per_box),
            ));
        }
        if grid.min_boxes == 0 || !(grid.max_box_width.is_finite() && grid.max_box_width > 0.0) {
            return Err(invalid(
                "interpolation",
                "min_boxes and max_box_width must be positive",
            ));
        }
        // The cap is a power of two; the sides below it may also be `3 * 2^k`.
        if !grid.max_fft_side.is_power_of_two()
            || grid.max_fft_side < 4 * grid.points_per_box
            || grid.max_fft_side > 8192
        {
            return Err(invalid(
                "interpolation.max_fft_side",
                format!(
                    "{} is not a power of two in [4 points_per_box, 8192]",
                    grid.max_fft_side
                ),
            ));
        }
        Ok(())
    }

    /// Neighbours per point the affinities use: `floor(3 perplexity)` as openTSNE (150 at
    /// perplexity 50). See [`Self::neighbours_needed_for`] for the cap at `n - 1`.
    pub fn neighbours_needed(&self) -> usize {
        if self.perplexity.is_finite() && self.perplexity > 0.0 {
            ((3.0 * self.perplexity).floor() as usize).max(1)
        } else {
            1
        }
    }

    /// [`Self::neighbours_needed`] capped at `n_points - 1`: the `k` a kNN graph must have.
    pub fn neighbours_needed_for(&self, n_points: usize) -> usize {
        self.neighbours_needed()
            .min(n_points.saturating_sub(1))
            .max(1)
    }

    /// Perplexity actually used with `k` neighbours (openTSNE: `k / 3` if it exceeds `k`).
    pub fn effective_perplexity(&self, k: usize) -> f64 {
        if self.perplexity > k as f64 {
            k as f64 / 3.0
        } else {
            self.perplexity
        }
    }
}

enum Stage {
    Affinities { next_row: usize },
    Symmetrise(Box<Symmetriser>),
    Initialise(Box<PcaInit>),
    Iterate { iteration: usize },
    Finished,
}

/// Gradient-descent state.
struct Optimiser {
    /// Interleaved coordinates `[x0, y0, ...]`.
    coords: Vec<f64>,
    update: Vec<f64>,
    gains: Vec<f64>,
    attraction: Vec<f64>,
    repulsion_forces: Vec<f64>,
    grid: Option<InterpolatedRepulsion>,
}

/// t-SNE as a stepwise job: affinities, symmetrisation and PCA in chunks of a few
/// milliseconds, then one gradient-descent iteration per step. See the module docs.
pub struct TsneJob {
    rows: Arc<EmbedRows>,
    knn: Arc<KnnGraph>,
    params: TsneParams,
    n_points: usize,
    /// Neighbours used per point.
    k: usize,
    desired_entropy: f64,
    /// `p_{j|i}` for the first `k` neighbours of each row (dropped after symmetrising).
    conditional: Vec<f32>,
    /// The attraction over `P`'s pairs, each once (set after symmetrising).
    attraction_pairs: Option<PairAttraction>,
    optimiser: Option<Optimiser>,
    /// Internal point order: internal point `i` is row `order[i]` (set after symmetrising).
    order: Vec<u32>,
    /// The inverse of `order`: row `r` is internal point `position[r]`.
    position: Vec<u32>,
    /// Current coordinates in row order (interleaved), for [`ProgressiveEmbedding::current`]:
    /// written when first asked for after an iteration (the worker asks every few hundred
    /// milliseconds, not after every iteration), emptied by each iteration.
    coords_f32: OnceLock<Vec<f32>>,
    /// With the `parallel` feature, the PCA start runs beside the affinity and symmetrising
    /// steps (it needs only the rows): in progress, then its coordinates (row order) once
    /// done. Its result does not depend on how its work is split, so the same bits.
    early_pca: Option<Box<PcaInit>>,
    early_pca_coords: Option<Vec<f64>>,
    use_exact_repulsion: bool,
    stage: Stage,
}

impl TsneJob {
    /// Checks the parameters and the kNN graph (same number of points, at least
    /// `neighbours_needed_for(n)` neighbours per row, indices in range and not the row itself).
    pub fn new(
        rows: Arc<EmbedRows>,
        knn: Arc<KnnGraph>,
        params: TsneParams,
    ) -> Result<TsneJob, EmbedError> {
        let n = rows.n_points;
        params.validate(n)?;
        if knn.n_points != n {
            return Err(invalid(
                "knn",
                format!(
                    "the neighbour graph has {} points, the rows {n}",
                    knn.n_points
                ),
            ));
        }
        let k = params.neighbours_needed_for(n);
        if knn.k < k {
            return Err(invalid(
                "knn",
                format!(
                    "t-SNE at perplexity {} needs {k} neighbours per point, the graph has {}",
                    params.perplexity, knn.k
                ),
            ));
        }
        if knn.indices.len() != n * knn.k || knn.distances.len() != n * knn.k {
            return Err(invalid(
                "knn",
                "the neighbour lists do not have n x k entries",
            ));
        }
        for row in 0..n {
            let neighbours = &knn.neighbours(row)[..k];
            if let Some(&bad) = neighbours
                .iter()
                .find(|&&j| j as usize >= n || j as usize == row)
            {
                return Err(invalid(
                    "knn",
                    format!("row {row} lists neighbour {bad} (itself or out of range)"),
                ));
            }
            if let Some(d) = knn.neighbour_distances(row)[..k]
                .iter()
                .find(|d| !(d.is_finite() && **d >= 0.0))
            {
                return Err(invalid(
                    "knn",
                    format!("row {row} has neighbour distance {d}"),
                ));
            }
        }
        let perplexity = params.effective_perplexity(k);
        let use_exact_repulsion = match params.repulsion {
            RepulsionMethod::Auto { exact_max_points } => n <= exact_max_points,
            RepulsionMethod::Exact => true,
            RepulsionMethod::Interpolated => false,
        };
        #[cfg(feature = "parallel")]
        let dim = rows.dim;
        Ok(TsneJob {
            rows,
            knn,
            n_points: n,
            k,
            desired_entropy: perplexity.ln(),
            conditional: vec![0.0; n * k],
            attraction_pairs: None,
            optimiser: None,
            order: Vec::new(),
            position: Vec::new(),
            coords_f32: OnceLock::new(),
            #[cfg(feature = "parallel")]
            early_pca: Some(Box::new(PcaInit::new(n, dim, params.seed))),
            #[cfg(not(feature = "parallel"))]
            early_pca: None,
            early_pca_coords: None,
            use_exact_repulsion,
            params,
            stage: Stage::Affinities { next_row: 0 },
        })
    }

    /// Neighbours per point in use.
    pub fn neighbours_used(&self) -> usize {
        self.k
    }

    fn step_affinities(&mut self, next_row: usize) -> Progress {
        let n = self.n_points;
        let k = self.k;
        let rows_per_step = (WORK_PER_STEP / (k * 48)).max(1);
        let end = (next_row + rows_per_step).min(n);
        // Rows are independent: in parallel with the feature, the same bits either way.
        let (knn, desired_entropy) = (&self.knn, self.desired_entropy);
        let calibrate = |row: usize, out: &mut [f32], scratch: &mut Vec<f64>| {
            let distances = &knn.neighbour_distances(row)[..k];
            calibrate_row(distances, desired_entropy, scratch, out);
        };
        let rows_out = &mut self.conditional[next_row * k..end * k];
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            let (rows, pca, pca_coords) =
                (&self.rows, &mut self.early_pca, &mut self.early_pca_coords);
            rayon::join(
                || {
                    rows_out
                        .par_chunks_mut(k)
                        .enumerate()
                        .with_min_len(64)
                        .for_each_init(
                            || vec![0.0; 2 * k],
                            |scratch, (offset, out)| calibrate(next_row + offset, out, scratch),
                        )
                },
                || advance_early_pca(pca, pca_coords, rows),
            );
        }
        #[cfg(not(feature = "parallel"))]
        {
            let mut scratch = vec![0.0; 2 * k];
            for (offset, out) in rows_out.chunks_mut(k).enumerate() {
                calibrate(next_row + offset, out, &mut scratch);
            }
        }
        if end == n {
            let conditional = std::mem::take(&mut self.conditional);
            self.stage = Stage::Symmetrise(Box::new(Symmetriser::new(&self.knn, k, conditional)));
        } else {
            self.stage = Stage::Affinities { next_row: end };
        }
        Progress::new("affinities", end as u64, n as u64)
    }

    fn step_symmetrise(&mut self, mut symmetriser: Box<Symmetriser>) -> Progress {
        let rows_per_step = (WORK_PER_STEP / (self.k * 16)).max(1);
        #[cfg(feature = "parallel")]
        let (symmetrised, ()) = {
            let (rows, pca, pca_coords) =
                (&self.rows, &mut self.early_pca, &mut self.early_pca_coords);
            let knn = &self.knn;
            rayon::join(
                || symmetriser.advance(knn, rows_per_step),
                || advance_early_pca(pca, pca_coords, rows),
            )
        };
        #[cfg(not(feature = "parallel"))]
        let symmetrised = symmetriser.advance(&self.knn, rows_per_step);
        let done = symmetriser.rows_done() as u64;
        if let Some((attraction_pairs, order)) = symmetrised {
            // Points renumbered for memory locality (undone when coordinates are reported).
            self.attraction_pairs = Some(attraction_pairs);
            let mut position = vec![0u32; order.len()];
            for (internal, &row) in order.iter().enumerate() {
                position[row as usize] = internal as u32;
            }
            self.position = position;
            self.order = order;
            self.conditional = Vec::new();
            let pca = self.early_pca.take().unwrap_or_else(|| {
                Box::new(PcaInit::new(self.n_points, self.rows.dim, self.params.seed))
            });
            self.stage = Stage::Initialise(pca);
        } else {
            self.stage = Stage::Symmetrise(symmetriser);
        }
        Progress::new("symmetrising affinities", done, self.n_points as u64)
    }

    fn step_initialise(&mut self, mut pca: Box<PcaInit>) -> Progress {
        let coords = match self.early_pca_coords.take() {
            Some(coords) => Some(coords),
            None => pca.advance(&self.rows, WORK_PER_STEP),
        };
        let (done, total) = pca.progress();
        match coords {
            Some(coords_by_row) => {
                let n2 = coords_by_row.len();
                self.coords_f32 =
                    OnceLock::from(coords_by_row.iter().map(|&v| v as f32).collect::<Vec<_>>());
                let mut coords = vec![0.0; n2];
                for (internal, &row) in self.order.iter().enumerate() {
                    coords[2 * internal] = coords_by_row[2 * row as usize];
                    coords[2 * internal + 1] = coords_by_row[2 * row as usize + 1];
                }
                self.optimiser = Some(Optimiser {
                    coords,
                    update: vec![0.0; n2],
                    gains: vec![1.0; n2],
                    attraction: vec![0.0; n2],
                    repulsion_forces: vec![0.0; n2],
                    grid: (!self.use_exact_repulsion)
                        .then(|| InterpolatedRepulsion::new(self.params.interpolation)),
                });
                self.stage = Stage::Iterate { iteration: 0 };
            }
            None => self.stage = Stage::Initialise(pca),
        }
        Progress::new("PCA initialisation", done, total)
    }

    /// One gradient-descent iteration (`iteration` is 0-based).
    fn iterate(&mut self, iteration: usize) {
        let (Some(optimiser), Some(attraction_pairs)) =
            (self.optimiser.as_mut(), self.attraction_pairs.as_mut())
        else {
            return;
        };
        let params = &self.params;
        let early = iteration < params.early_exaggeration_iter;
        let exaggeration = if early {
            params.early_exaggeration
        } else {
            1.0
        };
        let momentum = if early {
            params.early_momentum
        } else {
            params.momentum
        };
        let learning_rate = params
            .learning_rate
            .unwrap_or(self.n_points as f64 / exaggeration);

        // The two halves of the gradient are independent: run them side by side, so a
        // thread left idle by one (the repulsion's spreading has three planes for two
        // threads) takes work from the other. Each keeps its own fixed order of operations.
        let Optimiser {
            coords,
            attraction,
            repulsion_forces,
            grid,
            ..
        } = optimiser;
        let repel = |grid: &mut Option<InterpolatedRepulsion>, forces: &mut [f64]| match grid {
            Some(grid) => grid.compute(coords, forces),
            None => exact_repulsion(coords, forces),
        };
        #[cfg(feature = "parallel")]
        let ((), sum_q) = rayon::join(
            || attraction_pairs.attract(coords, attraction),
            || repel(grid, repulsion_forces),
        );
        #[cfg(not(feature = "parallel"))]
        let sum_q = {
            attraction_pairs.attract(coords, attraction);
            repel(grid, repulsion_forces)
        };
        let inverse_sum_q = if sum_q > 0.0 { 1.0 / sum_q } else { 0.0 };

        // Per point: gains, step and position (independent points, in parallel with the
        // feature); then the mean in point order (one pass, the same sums on any number of
        // threads) and the re-centring, again per point.
        let n = self.n_points;
        let Optimiser {
            coords,
            update,
            gains,
            attraction,
            repulsion_forces,
            ..
        } = optimiser;
        let (attraction, repulsion_forces) = (&*attraction, &*repulsion_forces);
        let min_gain = params.min_gain;
        let max_step_norm = params.max_step_norm;
        let step_points =
            |first: usize, coords: &mut [f64], update: &mut [f64], gains: &mut [f64]| {
                for (local, ((point, update), gains)) in coords
                    .chunks_exact_mut(2)
                    .zip(update.chunks_exact_mut(2))
                    .zip(gains.chunks_exact_mut(2))
                    .enumerate()
                {
                    let i = first + local;
                    let mut step = [0.0f64; 2];
                    for axis in 0..2 {
                        let at = 2 * i + axis;
                        let gradient =
                            exaggeration * attraction[at] - repulsion_forces[at] * inverse_sum_q;
                        // numpy.sign semantics: a zero update counts as a sign different from a
                        // non-zero gradient (so the first step raises every gain).
                        let flipped = sign(update[axis]) != sign(gradient);
                        let gain = &mut gains[axis];
                        *gain = if flipped {
                            *gain + 0.2
                        } else {
                            *gain * 0.8 + min_gain
                        };
                        step[axis] = momentum * update[axis] - learning_rate * *gain * gradient;
                    }
                    if let Some(max_norm) = max_step_norm {
                        let norm = (step[0] * step[0] + step[1] * step[1]).sqrt();
                        if norm > max_norm {
                            step[0] = step[0] / norm * max_norm;
                            step[1] = step[1] / norm * max_norm;
                        }
                    }
                    update.copy_from_slice(&step);
                    point[0] += step[0];
                    point[1] += step[1];
                }
            };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            coords
                .par_chunks_mut(2 * UPDATE_CHUNK)
                .zip(update.par_chunks_mut(2 * UPDATE_CHUNK))
                .zip(gains.par_chunks_mut(2 * UPDATE_CHUNK))
                .enumerate()
                .for_each(|(chunk, ((coords, update), gains))| {
                    step_points(chunk * UPDATE_CHUNK, coords, update, gains)
                });
        }
        #[cfg(not(feature = "parallel"))]
        step_points(0, coords, update, gains);

        let mut mean = [0.0f64; 2];
        for point in coords.chunks_exact(2) {
            mean[0] += point[0];
            mean[1] += point[1];
        }
        mean[0] /= n as f64;
        mean[1] /= n as f64;
        let recentre = |point: &mut [f64]| {
            point[0] -= mean[0];
            point[1] -= mean[1];
        };
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            coords
                .par_chunks_mut(2)
                .with_min_len(UPDATE_CHUNK)
                .for_each(recentre);
        }
        #[cfg(not(feature = "parallel"))]
        coords.chunks_exact_mut(2).for_each(recentre);
        // The row-order copy is written when next asked for.
        self.coords_f32.take();
    }

    /// The optimiser's coordinates in row order (row `r` is internal point `position[r]`),
    /// as single precision; empty before the PCA start.
    fn coords_by_row(&self) -> Vec<f32> {
        let Some(optimiser) = &self.optimiser else {
            return Vec::new();
        };
        let coords = &optimiser.coords;
        let mut out = vec![0f32; coords.len()];
        for (out, &at) in out.chunks_exact_mut(2).zip(&self.position) {
            let at = 2 * at as usize;
            out[0] = coords[at] as f32;
            out[1] = coords[at + 1] as f32;
        }
        out
    }
}

/// Advances the PCA start run beside the set-up steps (see `TsneJob::early_pca`), keeping
/// its coordinates once it ends.
#[cfg(feature = "parallel")]
fn advance_early_pca(
    pca: &mut Option<Box<PcaInit>>,
    coords: &mut Option<Vec<f64>>,
    rows: &EmbedRows,
) {
    if coords.is_some() {
        return;
    }
    if let Some(pca) = pca {
        *coords = pca.advance(rows, EARLY_PCA_WORK);
    }
}

/// Points per task of the gradient update (a fixed split: no sum crosses a chunk).
#[cfg(feature = "parallel")]
const UPDATE_CHUNK: usize = 4096;

fn sign(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

impl Job for TsneJob {
    type Output = Embedding;
    type Error = EmbedError;

    /// With the `parallel` feature the whole step runs inside rayon's pool: a caller outside
    /// it (the browser's compute worker, a native main thread) hands the step over once and
    /// sleeps until it ends, instead of once per parallel loop in it (an iteration has two
    /// such loops outside its attraction / repulsion `join`: the update, the re-centring), and the serial code between
    /// the loops runs on a pool thread that is already awake. Same operations, same bits.
    fn step(&mut self) -> Result<Step<Embedding>, EmbedError> {
        #[cfg(feature = "parallel")]
        {
            rayon::scope(|_| self.step_here())
        }
        #[cfg(not(feature = "parallel"))]
        self.step_here()
    }
}

impl TsneJob {
    /// [`Job::step`]'s work, on whatever thread calls it.
    fn step_here(&mut self) -> Result<Step<Embedding>, EmbedError> {
        let stage = std::mem::replace(&mut self.stage, Stage::Finished);
        let progress = match stage {
            Stage::Affinities { next_row } => self.step_affinities(next_row),
            Stage::Symmetrise(symmetriser) => self.step_symmetrise(symmetriser),
            Stage::Initialise(pca) => self.step_initialise(pca),
            Stage::Iterate { iteration } => {
                self.iterate(iteration);
                let done = iteration + 1;
                if done >= self.params.n_iter {
                    self.stage = Stage::Finished;
                    return Ok(Step::Done(Embedding {
                        n_points: self.n_points,
                        coords: self.coords_by_row(),
                    }));
                }
                self.stage = Stage::Iterate { iteration: done };
                Progress::new(
                    format!("t-SNE iteration {done}/{}", self.params.n_iter),
                    done as u64,
                    self.params.n_iter as u64,
                )
            }
            Stage::Finished => {
                return Err(invalid("job", "the t-SNE job has already finished"));
            }
        };
        Ok(Step::Running(progress))
    }
}

impl ProgressiveEmbedding for TsneJob {
    fn current(&self) -> Option<&[f32]> {
        let coords = self.coords_f32.get_or_init(|| self.coords_by_row());
        (!coords.is_empty()).then_some(coords.as_slice())
    }
}

/// Runs t-SNE to the end (native callers, tests).
pub fn tsne(
    rows: Arc<EmbedRows>,
    knn: Arc<KnnGraph>,
    params: TsneParams,
) -> Result<Embedding, EmbedError> {
    let mut job = TsneJob::new(rows, knn, params)?;
    crate::job::run_to_end(&mut job, |_| {})
}
