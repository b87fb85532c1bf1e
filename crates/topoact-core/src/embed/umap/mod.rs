//! UMAP (McInnes, Healy & Melville 2018) as a stepwise, progressive job, following
//! umap-learn 0.5.12's defaults except the TopoAct paper's `n_neighbors = 20` and
//! `min_dist = 0.01`.
//!
//! # Steps
//! 1. **Fuzzy graph** from a shared [`KnnGraph`]: `n_neighbors` counts the point itself as
//!    umap-learn does, so the first `n_neighbors - 1` neighbours are used; `rho`/`sigma` by
//!    binary search to a membership sum of `log2(n_neighbors)`; fuzzy union
//!    `A + A^T - A o A^T` ([`fuzzy`]).
//! 2. **Epochs**: `n_epochs` = 500 for n <= 10,000 points, else 200; edges lighter than
//!    `max_weight / n_epochs` dropped.
//! 3. **Start**: spectral (umap-learn's default; our own Lanczos on the normalised Laplacian,
//!    [`spectral`]) or PCA. A disconnected graph (umap-learn lays out its components
//!    separately) or a Lanczos that does not converge falls back to PCA;
//!    [`UmapJob::init_used`] says which start was used and why. The start is scaled to a
//!    maximum |coordinate| of 10, jittered by N(0, 1e-4) and min-max rescaled to [0, 10] per
//!    axis, as umap-learn does.
//! 4. **SGD** ([`sgd`]): `a`, `b` fitted to `min_dist` and `spread` ([`curve`]), epochs-per-sample
//!    scheduling, 5 negative samples per positive one, learning rate 1 decaying linearly,
//!    gradients clipped at 4; the epochs run as rounds of fixed vertex blocks side by side
//!    (on the rayon pool with the `parallel` feature), each block reading the others' vertices
//!    from a snapshot taken at the round's start ([`sgd`] has the details and what differs
//!    from umap-learn's serial loop).
//!
//! # Cost
//! Fuzzy graph O(n k 64); spectral start O(steps * (nnz + basis * n)) with at most a few
//! hundred Lanczos steps; SGD O(n_epochs * edges * (1 + negative_sample_rate)) updates (the
//! bulk: about 1.1e8 updates at 5K points and 500 epochs, 4.4e8 at 50K and 200 epochs).
//! Measured before the SGD ran in blocks (release, one thread, shared 2-core machine,
//! `tests/embed_umap.rs::measure_umap`, CPU seconds, k-NN excluded): 5K x 256 2.6-2.8 s (SGD
//! 2.5-2.7 s), 20K 4.8-5.6 s, 50K 13.7-15 s (SGD 12.3-13.7 s). The blocks and rounds cost
//! about 8 % more instructions on one thread (callgrind, 10K x 256, 30 epochs) and divide the
//! SGD among the threads; `examples/umap_stages.rs` times each stage.
//!
//! # Determinism and streaming
//! Same rows, graph, parameters and seed give bit-identical coordinates on a platform, on any
//! number of threads and with or without the `parallel` feature (the SGD's blocks and rounds
//! are fixed by the graph, not by the threads; `tests/parallel_feature.rs` pins it). [`ProgressiveEmbedding::current`] returns the coordinates after the start is
//! computed, updated by every step; a step does at most about [`SGD_UPDATES_PER_STEP`] updates.
//!
//! ```
//! use std::sync::Arc;
//! use topoact_core::embed::{knn, synth, umap, ProgressiveEmbedding};
//! let (rows, _labels) = synth::gaussian_blobs(300, 8, 3, 1).unwrap();
//! let rows = Arc::new(rows);
//! let params = umap::UmapParams { n_epochs: Some(50), ..Default::default() };
//! let graph = Arc::new(knn::knn_graph(rows.clone(), knn::KnnParams::new(params.neighbours_needed())).unwrap());
//! let embedding = umap::umap(rows, graph, params).unwrap();
//! assert_eq!(embedding.coords.len(), 600);
//! ```

mod curve;
mod fuzzy;
mod sgd;
mod spectral;

/// Exposed for `tests/wasm_kernels.rs` only.
#[doc(hidden)]
pub mod testing {
    pub use super::sgd::sample_draws;
}

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::preview::PreviewJob;
use super::{EmbedError, EmbedRows, Embedding, KnnGraph, ProgressiveEmbedding};
use crate::job::{Job, Progress, Step};
use crate::numeric::random::standard_normal;
use fuzzy::{Directed, SparseGraph};
use sgd::{Optimiser, SgdSettings};
pub use spectral::SpectralFailure;
use spectral::SpectralInit;

/// SGD updates (attractive + repulsive, a skipped edge counting as one) per step: about
/// 15 ms natively on one thread at 50K points (about 32 rounds), within the worker's 30 ms
/// between yields. With more threads each step hands one team of tasks to the pool
/// (`sgd::Optimiser::advance`), so fewer, longer steps wake the pool less often: 400,000
/// (3 ms) woke it 1,584 times in a 50K run.
pub const SGD_UPDATES_PER_STEP: usize = 1_600_000;
/// Rows of the fuzzy graph per step.
const FUZZY_ROWS_PER_STEP: usize = 4_000;

/// Multiply-adds per step for the start (Lanczos or PCA).
const INIT_WORK_PER_STEP: usize = 30_000_000;

/// How the layout starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UmapInit {
    /// Eigenvectors of the graph Laplacian (umap-learn's default); PCA when unavailable.
    Spectral,
    /// The first two principal components of the rows.
    Pca,
}

/// UMAP parameters. Defaults: TopoAct's `n_neighbors = 20`, `min_dist = 0.01`, otherwise
/// umap-learn 0.5.12's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UmapParams {
    /// Neighbourhood size, counting the point itself (umap-learn's convention): the k-NN
    /// graph must have at least `n_neighbors - 1` neighbours per row. At least 2.
    pub n_neighbors: usize,
    /// Minimum distance between points in the layout, `0 <= min_dist <= spread`.
    pub min_dist: f64,
    /// Scale of the layout's kernel, `> 0`.
    pub spread: f64,
    /// Epochs; `None` = 500 up to 10,000 points, else 200.
    pub n_epochs: Option<usize>,
    pub seed: u64,
    pub init: UmapInit,
    /// Repulsive samples per attractive one.
    pub negative_sample_rate: usize,
    /// Initial SGD learning rate, `> 0`.
    pub learning_rate: f64,
    /// Weight of the repulsive term (umap-learn's `repulsion_strength`, gamma), `>= 0`.
    pub repulsion_strength: f64,
}

impl Default for UmapParams {
    fn default() -> Self {
        UmapParams {
            n_neighbors: 20,
            min_dist: 0.01,
            spread: 1.0,
            n_epochs: None,
            seed: 0,
            init: UmapInit::Spectral,
            negative_sample_rate: 5,
            learning_rate: 1.0,
            repulsion_strength: 1.0,
        }
    }
}

impl UmapParams {
    /// Neighbours per row the shared k-NN graph must hold (`n_neighbors - 1`).
    pub fn neighbours_needed(&self) -> usize {
        self.n_neighbors.saturating_sub(1)
    }

    /// Epochs used for `n_points` points.
    pub fn epochs_for(&self, n_points: usize) -> usize {
        self.n_epochs
            .unwrap_or(if n_points <= 10_000 { 500 } else { 200 })
    }

    /// Checks every constraint for `n_points` rows and a graph of `knn_k` neighbours.
    pub fn validate(&self, n_points: usize, knn_k: usize) -> Result<(), EmbedError> {
        let invalid =
            |name: &'static str, reason: String| Err(EmbedError::InvalidParameter { name, reason });
        if self.n_neighbors < 2 {
            return invalid(
                "n_neighbors",
                format!(
                    "must be at least 2 (it counts the point itself), got {}",
                    self.n_neighbors
                ),
            );
        }
        if n_points < self.n_neighbors.max(4) {
            return Err(EmbedError::TooFewPoints {
                n_points,
                needed: self.n_neighbors.max(4),
            });
        }
        if knn_k < self.neighbours_needed() {
            return invalid(
                "n_neighbors",
                format!(
                    "needs a k-NN graph with {} neighbours per point, the graph has {knn_k}",
                    self.neighbours_needed()
                ),
            );
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return invalid(
                "spread",
                format!("must be a positive number, got {}", self.spread),
            );
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0 && self.min_dist <= self.spread) {
            return invalid(
                "min_dist",
                format!(
                    "must be between 0 and spread ({}), got {}",
                    self.spread, self.min_dist
                ),
            );
        }
        if self.n_epochs == Some(0) {
            return invalid("n_epochs", "must be at least 1".into());
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return invalid(
                "learning_rate",
                format!("must be a positive number, got {}", self.learning_rate),
            );
        }
        if !(self.repulsion_strength.is_finite() && self.repulsion_strength >= 0.0) {
            return invalid(
                "repulsion_strength",
                format!(
                    "must be a non-negative number, got {}",
                    self.repulsion_strength
                ),
            );
        }
        Ok(())
    }
}

/// Which start was used, and why it differs from the one asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitUsed {
    pub init: UmapInit,
    /// Set when spectral was asked for and PCA used instead.
    pub spectral_failure: Option<SpectralFailure>,
}

enum Stage {
    Fuzzy {
        next_row: usize,
        directed: Directed,
    },
    Union {
        directed: Directed,
    },
    Spectral {
        lanczos: Box<SpectralInit>,
    },
    Pca {
        /// Made at the stage's first step (so making it can fail as a step does).
        pca: Option<Box<PreviewJob>>,
        spectral_failure: Option<SpectralFailure>,
    },
    Optimise {
        optimiser: Box<Optimiser>,
    },
    Finished,
}

/// The UMAP job. Build with [`UmapJob::new`], step with [`Job::step`], watch with
/// [`ProgressiveEmbedding::current`].
pub struct UmapJob {
    rows: Arc<EmbedRows>,
    knn: Arc<KnnGraph>,
    params: UmapParams,
    n_epochs: usize,
    /// Mean of every neighbour list including the implicit self at 0 (umap-learn's
    /// `mean_distances`).
    mean_all_distances: f64,
    rho_sigma: Vec<(f64, f64)>,
    graph: Option<SparseGraph>,
    stage: Stage,
    coords: Option<Vec<f32>>,
    init_used: Option<InitUsed>,
}

impl UmapJob {
    /// Validates the parameters against the rows and the shared k-NN graph (which must be of
    /// these rows and hold at least `n_neighbors - 1` neighbours per row).
    pub fn new(
        rows: Arc<EmbedRows>,
        knn: Arc<KnnGraph>,
        params: UmapParams,
    ) -> Result<UmapJob, EmbedError> {
        if knn.n_points != rows.n_points {
            return Err(EmbedError::InvalidParameter {
                name: "knn",
                reason: format!(
                    "the k-NN graph has {} points, the rows {}",
                    knn.n_points, rows.n_points
                ),
            });
        }
        params.validate(rows.n_points, knn.k)?;
        let n = rows.n_points;
        let used = params.neighbours_needed();
        let mut total = 0f64;
        for row in 0..n {
            total += knn.neighbour_distances(row)[..used]
                .iter()
                .map(|&d| d as f64)
                .sum::<f64>();
        }
        let mean_all_distances = total / (n * params.n_neighbors) as f64;
        Ok(UmapJob {
            n_epochs: params.epochs_for(n),
            rows,
            knn,
            params,
            mean_all_distances,
            rho_sigma: Vec::with_capacity(n),
            graph: None,
            stage: Stage::Fuzzy {
                next_row: 0,
                directed: Directed::with_capacity(n, n * used),
            },
            coords: None,
            init_used: None,
        })
    }

    /// The start used (known once the start is computed).
    pub fn init_used(&self) -> Option<InitUsed> {
        self.init_used
    }

    /// Epochs of the optimisation.
    pub fn n_epochs(&self) -> usize {
        self.n_epochs
    }

    /// Edges (directed, each undirected edge counted twice) kept for the optimisation, once
    /// the fuzzy graph is built.
    pub fn n_edges(&self) -> Option<usize> {
        self.graph.as_ref().map(|g| g.cols.len())
    }

    fn progress(&self, stage: &str, fraction_of_stage: f64) -> Progress {
        // Rough shares of the run time: fuzzy graph 5 %, start 10 %, epochs 85 %.
        let (start, share) = match self.stage {
            Stage::Fuzzy { .. } | Stage::Union { .. } => (0.0, 0.05),
            Stage::Spectral { .. } | Stage::Pca { .. } => (0.05, 0.10),
            Stage::Optimise { .. } => (0.15, 0.85),
            Stage::Finished => (1.0, 0.0),
        };
        let done = ((start + share * fraction_of_stage.clamp(0.0, 1.0)) * 1e6) as u64;
        Progress::new(stage, done, 1_000_000)
    }

    fn fuzzy_step(&mut self) -> Progress {
        let n = self.rows.n_points;
        let used = self.params.neighbours_needed();
        let n_neighbors = self.params.n_neighbors;
        let Stage::Fuzzy { next_row, directed } = &mut self.stage else {
            unreachable!("fuzzy_step outside its stage")
        };
        let end = (*next_row + FUZZY_ROWS_PER_STEP).min(n);
        // Each row's smoothing and memberships depend on that row's neighbours alone: runs of
        // rows side by side with the feature, collected in row order (the same bits).
        let knn = self.knn.as_ref();
        let mean_all = self.mean_all_distances;
        let runs = fuzzy::map_row_runs(*next_row..end, |rows| {
            let mut rho_sigma = Vec::with_capacity(rows.len());
            let mut entries = Vec::with_capacity(rows.len() * used);
            let mut lengths = Vec::with_capacity(rows.len());
            for row in rows {
                let distances = &knn.neighbour_distances(row)[..used];
                let (rho, sigma) = fuzzy::smooth_knn_dist(distances, n_neighbors, mean_all);
                let before = entries.len();
                entries.extend(
                    knn.neighbours(row)[..used]
                        .iter()
                        .zip(distances)
                        .filter(|(&j, _)| j as usize != row)
                        .map(|(&j, &d)| (j, fuzzy::membership(d, rho, sigma))),
                );
                rho_sigma.push((rho, sigma));
                lengths.push(entries.len() - before);
            }
            (rho_sigma, entries, lengths)
        });
        for (rho_sigma, entries, lengths) in runs {
            self.rho_sigma.extend(rho_sigma);
            directed.extend(&entries, &lengths);
        }
        *next_row = end;
        let fraction = end as f64 / n as f64;
        if end == n {
            let directed = std::mem::take(directed);
            self.stage = Stage::Union { directed };
        }
        self.progress("UMAP: fuzzy graph", fraction * 0.8)
    }

    fn union_step(&mut self) -> Progress {
        let n = self.rows.n_points;
        let Stage::Union { directed } = &mut self.stage else {
            unreachable!("union_step outside its stage")
        };
        let mut graph = fuzzy::fuzzy_union(n, std::mem::take(directed));
        // Drop edges lighter than max / n_epochs (umap-learn; for n_epochs <= 10 it uses the
        // default epoch count there).
        let max_weight = fuzzy::max_weight(&graph);
        let prune_epochs = if self.n_epochs > 10 {
            self.n_epochs
        } else if n <= 10_000 {
            500
        } else {
            200
        };
        let threshold = max_weight / prune_epochs as f32;
        graph = fuzzy::prune(&graph, threshold);
        let seed = self.params.seed;
        self.stage = match self.params.init {
            UmapInit::Spectral => match SpectralInit::new(&graph, seed) {
                Ok(lanczos) => Stage::Spectral {
                    lanczos: Box::new(lanczos),
                },
                Err(failure) => Stage::Pca {
                    pca: None,
                    spectral_failure: Some(failure),
                },
            },
            UmapInit::Pca => Stage::Pca {
                pca: None,
                spectral_failure: None,
            },
        };
        self.graph = Some(graph);
        self.progress("UMAP: start", 0.0)
    }

    fn spectral_step(&mut self) -> Progress {
        let Some(graph) = self.graph.as_ref() else {
            unreachable!("graph built before the start")
        };
        let Stage::Spectral { lanczos } = &mut self.stage else {
            unreachable!("spectral_step outside its stage")
        };
        let mut spent = 0usize;
        let mut outcome = None;
        while spent < INIT_WORK_PER_STEP {
            spent += lanczos.step_cost();
            if let Some(result) = lanczos.advance(graph) {
                outcome = Some(result);
                break;
            }
        }
        let (done, total) = lanczos.progress();
        match outcome {
            None => self.progress("UMAP: spectral start", done as f64 / total as f64),
            Some(Ok(vectors)) => {
                self.init_used = Some(InitUsed {
                    init: UmapInit::Spectral,
                    spectral_failure: None,
                });
                self.start_optimising(&vectors);
                self.progress("UMAP: optimising", 0.0)
            }
            Some(Err(failure)) => {
                self.stage = Stage::Pca {
                    pca: None,
                    spectral_failure: Some(failure),
                };
                self.progress("UMAP: PCA start (spectral failed)", 0.0)
            }
        }
    }

    fn pca_step(&mut self) -> Result<Progress, EmbedError> {
        let Stage::Pca {
            pca,
            spectral_failure,
        } = &mut self.stage
        else {
            unreachable!("pca_step outside its stage")
        };
        let failure = *spectral_failure;
        let job = match pca {
            Some(job) => job,
            None => pca.insert(Box::new(pca_start(self.rows.clone(), self.params.seed)?)),
        };
        Ok(match job.step()? {
            Step::Running(progress) => {
                let fraction = progress.done as f64 / progress.total.max(1) as f64;
                self.progress("UMAP: PCA start", fraction)
            }
            Step::Done(coords) => {
                self.init_used = Some(InitUsed {
                    init: UmapInit::Pca,
                    spectral_failure: failure,
                });
                let start: Vec<f64> = coords.iter().map(|&v| v as f64).collect();
                self.start_optimising(&start);
                self.progress("UMAP: optimising", 0.0)
            }
        })
    }

    /// umap-learn's `noisy_scale_coords` (max |coordinate| 10, N(0, 1e-4) jitter) then the
    /// per-axis min-max rescale to [0, 10]; then the optimiser over the pruned graph's edges.
    fn start_optimising(&mut self, start: &[f64]) {
        let n = self.rows.n_points;
        let mut rng = ChaCha8Rng::seed_from_u64(self.params.seed ^ 0x6a69_7474_6572);
        let max_abs = start.iter().fold(0f64, |m, v| m.max(v.abs()));
        let expansion = if max_abs > 0.0 { 10.0 / max_abs } else { 1.0 };
        let mut coords: Vec<f32> = start
            .iter()
            .map(|&v| (v * expansion) as f32 + (1e-4 * standard_normal(&mut rng)) as f32)
            .collect();
        for axis in 0..2 {
            let (lo, hi) = (0..n)
                .map(|i| coords[2 * i + axis])
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            let range = hi - lo;
            for i in 0..n {
                let v = &mut coords[2 * i + axis];
                *v = if range > 0.0 {
                    10.0 * (*v - lo) / range
                } else {
                    5.0
                };
            }
        }
        let graph = self.graph.as_ref().expect("graph built before the start");
        let runs = fuzzy::map_row_runs(0..n, |rows| {
            let mut run =
                Vec::with_capacity(graph.row_start[rows.end] - graph.row_start[rows.start]);
            for i in rows {
                let (cols, weights) = graph.row(i);
                run.extend(cols.iter().zip(weights).map(|(&j, &w)| (i as u32, j, w)));
            }
            run
        });
        let mut edges = Vec::with_capacity(graph.cols.len());
        for run in runs {
            edges.extend_from_slice(&run);
        }
        let (a, b) = curve::find_ab_params(self.params.spread, self.params.min_dist);
        let settings = SgdSettings {
            a,
            b,
            gamma: self.params.repulsion_strength,
            initial_alpha: self.params.learning_rate,
            negative_sample_rate: self.params.negative_sample_rate,
            n_epochs: self.n_epochs,
            seed: self.params.seed,
        };
        self.coords = Some(coords);
        self.stage = Stage::Optimise {
            optimiser: Box::new(Optimiser::new(n, &edges, &settings)),
        };
    }

    fn optimise_step(&mut self) -> Step<Embedding> {
        let Stage::Optimise { optimiser } = &mut self.stage else {
            unreachable!("optimise_step outside its stage")
        };
        let coords = self
            .coords
            .as_mut()
            .expect("coordinates exist once optimising");
        let done = optimiser.advance(coords, SGD_UPDATES_PER_STEP);
        if done {
            self.stage = Stage::Finished;
            return Step::Done(Embedding {
                n_points: self.rows.n_points,
                coords: coords.clone(),
            });
        }
        let label = format!(
            "UMAP: epoch {} of {}",
            optimiser.epoch + 1,
            optimiser.n_epochs
        );
        let fraction = optimiser.fraction();
        Step::Running(self.progress(&label, fraction))
    }
}

impl Job for UmapJob {
    type Output = Embedding;
    type Error = EmbedError;

    fn step(&mut self) -> Result<Step<Embedding>, EmbedError> {
        Ok(match self.stage {
            Stage::Fuzzy { .. } => Step::Running(self.fuzzy_step()),
            Stage::Union { .. } => Step::Running(self.union_step()),
            Stage::Spectral { .. } => Step::Running(self.spectral_step()),
            Stage::Pca { .. } => Step::Running(self.pca_step()?),
            Stage::Optimise { .. } => self.optimise_step(),
            Stage::Finished => {
                return Err(EmbedError::InvalidParameter {
                    name: "job",
                    reason: "the UMAP job has already finished".into(),
                })
            }
        })
    }
}

impl ProgressiveEmbedding for UmapJob {
    fn current(&self) -> Option<&[f32]> {
        self.coords.as_deref()
    }
}

/// UMAP in one call (runs [`UmapJob`] to the end).
pub fn umap(
    rows: Arc<EmbedRows>,
    knn: Arc<KnnGraph>,
    params: UmapParams,
) -> Result<Embedding, EmbedError> {
    let mut job = UmapJob::new(rows, knn, params)?;
    crate::job::run_to_end(&mut job, |_| {})
}

/// `f` of each run of at most `per_run` consecutive indices of `items`, in order (on the
/// rayon pool with the `parallel` feature: the same runs, so the same results). The fuzzy
/// graph's row passes and the SGD set-up's edge passes.
fn map_runs<T: Send>(
    items: std::ops::Range<usize>,
    per_run: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync + Send,
) -> Vec<T> {
    let per_run = per_run.max(1);
    let runs = items.len().div_ceil(per_run);
    let run = |r: usize| {
        let start = items.start + r * per_run;
        f(start..(start + per_run).min(items.end))
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        (0..runs).into_par_iter().map(run).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        (0..runs).map(run).collect()
    }
}

/// UMAP's PCA start (`init = pca`, and the fallback when the spectral start fails): the rows
/// on their first two principal axes, found on an evenly spaced sample of at most
/// [`PREVIEW_SAMPLE`](super::preview::PREVIEW_SAMPLE) rows (the preview's computation, seeded by the projection's seed).
/// A start needs the axes roughly, not to the last digit: at 50K x 256 (`umap_stages`, 2
/// threads) the subspace iteration on every row took 0.32-0.36 s and this 0.02 s, with the
/// same quality after the optimisation (10-NN kept 0.0565 and 0.0571; `parallel_feature`'s
/// rows 0.4088 and 0.4101).
fn pca_start(rows: Arc<EmbedRows>, seed: u64) -> Result<PreviewJob, EmbedError> {
    PreviewJob::new(rows, seed ^ 0x7063_615f_7532)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::knn::{knn_graph, KnnParams};

    fn blobs(n: usize) -> (Arc<EmbedRows>, Arc<KnnGraph>) {
        let (rows, _) = crate::embed::synth::gaussian_blobs(n, 16, 4, 2).expect("valid");
        let rows = Arc::new(rows);
        let graph = Arc::new(knn_graph(rows.clone(), KnnParams::new(19)).expect("enough rows"));
        (rows, graph)
    }

    #[test]
    fn parameter_checks() {
        let (rows, graph) = blobs(100);
        let check = |params: UmapParams| UmapJob::new(rows.clone(), graph.clone(), params).err();
        assert!(matches!(
            check(UmapParams {
                n_neighbors: 1,
                ..Default::default()
            }),
            Some(EmbedError::InvalidParameter {
                name: "n_neighbors",
                ..
            })
        ));
        assert!(matches!(
            check(UmapParams {
                n_neighbors: 30,
                ..Default::default()
            }),
            Some(EmbedError::InvalidParameter {
                name: "n_neighbors",
                ..
            })
        ));
        assert!(matches!(
            check(UmapParams {
                min_dist: -0.1,
                ..Default::default()
            }),
            Some(EmbedError::InvalidParameter {
                name: "min_dist",
                ..
            })
        ));
        assert!(matches!(
            check(UmapParams {
                min_dist: 2.0,
                ..Default::default()
            }),
            Some(EmbedError::InvalidParameter {
                name: "min_dist",
                ..
            })
        ));
        assert!(matches!(
            check(UmapParams {
                spread: 0.0,
                ..Default::default()
            }),
            Some(EmbedError::InvalidParameter { name: "spread", .. })
        ));
        assert!(matches!(
            check(UmapParams {
                n_epochs: Some(0),
                ..Default::default()
            }),
            Some(EmbedError::InvalidParameter {
                name: "n_epochs",
                ..
            })
        ));
        assert!(matches!(
            check(UmapParams {
                learning_rate: f64::NAN,
                ..Default::default()
            }),
            Some(EmbedError::InvalidParameter {
                name: "learning_rate",
                ..
            })
        ));
        assert!(check(UmapParams::default()).is_none());
    }

    #[test]
    fn same_seed_same_output_and_streaming_coordinates() {
        let (rows, graph) = blobs(400);
        let params = UmapParams {
            n_epochs: Some(60),
            seed: 3,
            ..Default::default()
        };
        let first = umap(rows.clone(), graph.clone(), params).expect("runs");
        let mut job = UmapJob::new(rows, graph, params).expect("valid");
        assert!(job.current().is_none());
        let mut saw_intermediate = false;
        let second = loop {
            match job.step().expect("no error") {
                Step::Running(p) => {
                    assert!(p.done <= p.total);
                    if let Some(c) = job.current() {
                        assert_eq!(c.len(), 800);
                        saw_intermediate = true;
                    }
                }
                Step::Done(e) => break e,
            }
        };
        assert!(saw_intermediate);
        assert_eq!(first, second);
        assert!(first.coords.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn disconnected_blobs_fall_back_to_pca() {
        let (rows, graph) = blobs(200);
        let mut job = UmapJob::new(
            rows,
            graph,
            UmapParams {
                n_epochs: Some(5),
                ..Default::default()
            },
        )
        .expect("valid");
        crate::job::run_to_end(&mut job, |_| {}).expect("runs");
        let used = job.init_used().expect("start computed");
        assert_eq!(used.init, UmapInit::Pca);
        assert!(matches!(
            used.spectral_failure,
            Some(SpectralFailure::Disconnected { .. })
        ));
    }
}
