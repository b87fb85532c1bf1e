//! The stepwise mapper computation ([`MapperJob`]) and its one-call form ([`compute_mapper`]).
//!
//! Stages, each split into bounded steps:
//! 1. copy the rows in use (in [`MapperJob::new`]) and project them on a pruning basis;
//! 2. the lens (per-row lenses in blocks of rows);
//! 3. when needed, the exact k nearest neighbours of every row (blocks of query rows): for
//!    the fixed epsilon (a quantile of the k-th distance) and/or the k-NN lens;
//! 4. the cover (uniform, or uniform on the rank lens for `balanced`);
//! 5. per interval: KD-tree, optional per-interval epsilon, DBSCAN (bounded by a budget of
//!    distance computations per step), reporting progress per interval;
//! 6. nodes, their statistics, the nerve and the graph statistics.
//!
//! With a fixed epsilon (and a lens other than k-NN) stage 3 is the self-join of
//! [`super::join`] and stage 5 only labels pairs; otherwise stage 3 is a full k-NN search and
//! stage 5 runs a pruned DBSCAN per interval.
//!
//! With the `parallel` feature, [`compute_mapper`] runs stage 3 over blocks and stage 5 over
//! intervals with rayon; the result is identical to the stepwise run.
//!
//! Steps not yet bounded: the PC1 lens (power iteration over all rows, one step), the join's
//! pilot (<= 2048 k-NN queries, one step), building a KD-tree (O(n log n)).

use crate::dataset::{Matrix, MatrixView};
use crate::job::{Job, Progress, Step};

use super::cover::{interval_members, rank_lens, uniform_intervals, Interval};
use super::dbscan::IntervalDbscan;
use super::graph::{
    graph_stats, nerve, top_classes, IntervalReport, MapperGraph, MapperNode, ParamsRecord,
};
use super::join::{
    bucket_pairs, clusters_from_pairs, decide_pairs, eps_from_pairs, pilot_radius, storage_limit,
    DecidedPair, FastPair, Segments,
};
use super::lens::per_row_lens;
use super::params::{CoverKind, Epsilon, Lens, MapperError, MapperParams, ValidMapperParams};
use crate::neighbours::kdtree::{FastBand, KdTree, Projected, TREE_COORDS};
use crate::neighbours::pruning::Basis;
use crate::neighbours::quantile::numpy_quantile;
use crate::neighbours::rows::{ExactRule, Rows, SHARE_ABOVE_BYTES};
use crate::numeric::pca::first_principal_component;
use crate::numeric::random::SplitMix64;

/// Number of pruning coordinates (principal directions) the neighbour searches use for
/// `n_rows` rows of `dim` values. The tree splits on the first
/// [`crate::neighbours::kdtree::TREE_COORDS`] = 24; more coordinates only sharpen the per-candidate bound,
/// at the price of projecting every row on them. Measured on activation-like data (one
/// thread): at 100K x 1024, 96 coordinates cut the join's full-dimension distances from 54M
/// to 8M (64: 14M, 128: 6M) and the mapper's time 3x, and 300K x 1024 went from 238 s to
/// 89 s; at 20K x 1024 and 50K x 256 they cost 10-30 % more than 24 (before the join's tile
/// kernel). With the tile kernel, at 50K x 256 48 coordinates cut the join's full-dimension
/// distances from 12.9M (24) to 5.1M (32: 8.9M, 64: 3.5M) and the whole process's
/// instructions (see ARCHITECTURE.md). With the join's four-per-pass distances, the whole
/// CLI process (one thread, callgrind) at 20K x 256 took 1.397G instructions with 24, 1.339G
/// with 32, 1.314G with 40, 1.316G with 48 and 1.366G with 64 (full distances 3.07M / 2.43M
/// / 1.95M / 1.60M / 1.17M); at 15K 0.859G (24) against 0.828G (40), at 10K 0.478G against
/// 0.496G, at 5K x 1024 0.583G against 0.740G (the projection's cost). Hence 24 below 12K
/// rows, 40 below 30K, 48 below 60K, else `dim / 8` between 24 and 96.
pub(crate) fn pruning_coords(n_rows: usize, dim: usize) -> usize {
    if n_rows < 12_000 {
        TREE_COORDS
    } else if n_rows < 30_000 {
        SMALL_SIZE_COORDS
    } else if n_rows < 60_000 {
        MID_SIZE_COORDS
    } else {
        (dim / 8).clamp(TREE_COORDS, 96)
    }
}
/// Pruning coordinates from 12K to 30K rows ([`pruning_coords`]).
const SMALL_SIZE_COORDS: usize = 40;
/// Pruning coordinates from 30K to 60K rows ([`pruning_coords`]).
const MID_SIZE_COORDS: usize = 48;
/// Rows per step for per-row work (projection, lens).
const ROWS_PER_STEP: usize = 4096;
/// Seed of the PC1 lens's start vector when there is no pruning basis to start from.
const PC1_FALLBACK_SEED: u64 = 0xC0FFEE;
/// k-NN queries per step.
const KNN_QUERIES_PER_STEP: usize = 256;
/// Full-dimension distance computations per DBSCAN or join step.
const DISTANCES_PER_STEP: u64 = 150_000;
/// Most pairs the fixed-epsilon join may store (12 bytes each) before falling back.
pub(super) const MAX_JOIN_PAIRS: usize = 1 << 25;

/// What the mapper runs on. `labels` is indexed by the ORIGINAL `sample_idx` (length =
/// matrix rows); `sample_indices`, when given, selects and orders the rows in use
/// (row order = DBSCAN scan order, as the rows of the array handed to KeplerMapper).
#[derive(Clone, Copy, Debug)]
pub struct MapperInput<'a> {
    pub matrix: &'a Matrix,
    pub sample_indices: Option<&'a [u32]>,
    pub labels: Option<&'a [u32]>,
    pub class_names: &'a [String],
}

impl<'a> MapperInput<'a> {
    pub fn new(matrix: &'a Matrix) -> Self {
        MapperInput {
            matrix,
            sample_indices: None,
            labels: None,
            class_names: &[],
        }
    }
}

enum Stage {
    Project { next_row: usize },
    Lens { next_row: usize },
    Knn { next_pos: usize },
    Join { next_pos: usize },
    Cover,
    Intervals,
    Finish,
    Finished,
}

/// Result of one interval.
struct IntervalOutcome {
    report: IntervalReport,
    clusters: Vec<Vec<u32>>,
}

/// An interval in progress (stepwise mode; also [`super::parts::cluster_rows`]).
pub(super) struct IntervalWork {
    pub(super) interval_idx: usize,
    pub(super) dbscan: IntervalDbscan,
    /// Per-interval epsilon being computed: next tree position and k-th distances so far.
    pub(super) eps_search: Option<(usize, Vec<f64>)>,
    pub(super) eps: f64,
}

/// The mapper as a [`Job`]: bounded work per [`Job::step`], cancellable between steps.
/// Owns the rows in use (a float32 layer's values shared with the dataset, else a copy in
/// f32, plus f64 for float64 input), so it borrows nothing.
pub struct MapperJob {
    params: MapperParams,
    rows: Rows,
    sample_of_row: Vec<u32>,
    labels_by_row: Option<Vec<u32>>,
    n_classes: usize,
    class_names: Vec<String>,
    parallel: bool,
    /// Threads a bounded step may use ([`MapperJob::with_step_threads`]); 1 = sequential.
    step_threads: usize,
    /// Query positions of the next join step when steps are threaded, adapted so a step
    /// costs about `DISTANCES_PER_STEP x step_threads` distances.
    join_step_len: usize,
    stage: Stage,
    basis: Option<Basis>,
    projected: Projected,
    lens: Vec<f64>,
    knn_k: usize,
    knn_tree: Option<KdTree>,
    /// `n_rows x knn_k` exact distances, ascending per row.
    knn: Vec<f64>,
    eps_global: Option<f64>,
    /// Fixed-epsilon fast path ([`super::join`]): the join radius, the stored pairs, and
    /// after the cover the decided pairs per interval.
    join_radius: Option<f64>,
    fast_pairs: Segments<FastPair>,
    interval_pairs: Option<Vec<Vec<DecidedPair>>>,
    intervals: Vec<Interval>,
    members: Vec<Vec<u32>>,
    next_interval: usize,
    next_cube_idx: usize,
    /// Intervals being clustered (at most `step_threads`), each with its slot in `outcomes`.
    current: Vec<(usize, IntervalWork)>,
    outcomes: Vec<IntervalOutcome>,
}

fn knn_needed(params: &MapperParams) -> usize {
    let mut k = 0;
    if let Epsilon::KnnQuantile {
        k: ke,
        per_interval: false,
        ..
    } = params.epsilon
    {
        k = k.max(ke);
    }
    if let Lens::KnnDistance { k: kl } = params.lens {
        k = k.max(kl);
    }
    k
}

impl MapperJob {
    /// Checks the input against the parameters and copies the rows in use (above 512 MiB of
    /// them, a float32 layer in standard layout is shared instead: [`Rows::gather_matrix`]).
    /// Cost O(n_rows * dim).
    pub fn new(
        input: MapperInput<'_>,
        params: &ValidMapperParams,
    ) -> Result<MapperJob, MapperError> {
        Self::new_sharing_above(input, params, SHARE_ABOVE_BYTES)
    }

    /// [`MapperJob::new`] sharing a float32 layer's values when the rows in use hold more
    /// than `share_above` bytes (0: always). For tests comparing the two storages.
    #[doc(hidden)]
    pub fn new_sharing_above(
        input: MapperInput<'_>,
        params: &ValidMapperParams,
        share_above: usize,
    ) -> Result<MapperJob, MapperError> {
        Self::from_parts(
            input.matrix.n_rows(),
            |sample_indices| Rows::gather_matrix(input.matrix, sample_indices, share_above),
            input.sample_indices,
            input.labels,
            input.class_names,
            params,
        )
    }

    /// Whether the job reads a float32 layer's own values (no copy of the rows).
    #[doc(hidden)]
    pub fn shares_rows(&self) -> bool {
        self.rows.shares_values()
    }

    /// [`MapperJob::new`] on every row of a borrowed matrix (values owned elsewhere, e.g. a
    /// NumPy array; any strides), without labels. The rows are copied here.
    pub fn from_view(
        matrix: MatrixView<'_>,
        params: &ValidMapperParams,
    ) -> Result<MapperJob, MapperError> {
        Self::from_parts(
            matrix.n_rows(),
            |sample_indices| Rows::gather(matrix, sample_indices),
            None,
            None,
            &[],
            params,
        )
    }

    /// `gather` copies (or shares) the rows in use of a matrix of `n_total` rows.
    fn from_parts(
        n_total: usize,
        gather: impl FnOnce(Option<&[u32]>) -> Result<Rows, MapperError>,
        sample_indices: Option<&[u32]>,
        labels: Option<&[u32]>,
        class_names: &[String],
        params: &ValidMapperParams,
    ) -> Result<MapperJob, MapperError> {
        let params = params.params().clone();
        if let Some(labels) = labels {
            if labels.len() != n_total {
                return Err(MapperError::LengthMismatch {
                    what: "labels",
                    got: labels.len(),
                    expected: n_total,
                });
            }
        }
        if let Lens::Custom {
            values_by_sample, ..
        } = &params.lens
        {
            if values_by_sample.len() != n_total {
                return Err(MapperError::LengthMismatch {
                    what: "the custom lens",
                    got: values_by_sample.len(),
                    expected: n_total,
                });
            }
        }
        let rows = gather(sample_indices)?;
        let sample_of_row: Vec<u32> = match sample_indices {
            Some(s) => s.to_vec(),
            None => (0..n_total as u32).collect(),
        };
        let knn_k = knn_needed(&params);
        if knn_k > 0 && rows.n_rows <= knn_k {
            return Err(MapperError::TooFewSamplesForKnn {
                k: knn_k,
                needed: knn_k + 1,
                got: rows.n_rows,
            });
        }
        let labels_by_row = labels.map(|labels| {
            sample_of_row
                .iter()
                .map(|&s| labels[s as usize])
                .collect::<Vec<u32>>()
        });
        let max_label = labels_by_row
            .as_ref()
            .and_then(|l| l.iter().max().copied())
            .map_or(0, |m| m as usize + 1);
        let n_classes = class_names.len().max(max_label);
        let n_rows = rows.n_rows;
        Ok(MapperJob {
            params,
            sample_of_row,
            labels_by_row,
            n_classes,
            class_names: class_names.to_vec(),
            parallel: false,
            step_threads: 1,
            join_step_len: 1024,
            stage: Stage::Project { next_row: 0 },
            basis: None,
            projected: Projected {
                n_coords: 0,
                coords: Vec::new(),
                slack: 0.0,
            },
            lens: vec![0.0; n_rows],
            knn_k,
            knn_tree: None,
            knn: Vec::new(),
            eps_global: None,
            join_radius: None,
            fast_pairs: Segments::new(),
            interval_pairs: None,
            intervals: Vec::new(),
            members: Vec::new(),
            next_interval: 0,
            next_cube_idx: 0,
            current: Vec::new(),
            outcomes: Vec::new(),
            rows,
        })
    }

    /// Runs whole stages per step, in parallel with rayon when the `parallel` feature is on
    /// (used by [`compute_mapper`]; not for a single-threaded caller that must stay responsive).
    pub fn with_whole_stages(mut self) -> Self {
        self.parallel = true;
        self
    }

    /// Keeps steps bounded (progress, cancel) but runs each one on `threads` threads with
    /// rayon: a step does about `threads` times the sequential step's work, in parallel where
    /// the stage allows (projection, k-NN, the join, intervals). For a caller that owns a
    /// thread pool and must stay responsive (the browser worker with wasm threads). The
    /// graph is identical to the sequential run's. Without the `parallel` feature the steps
    /// are only longer.
    pub fn with_step_threads(mut self, threads: usize) -> Self {
        self.step_threads = threads.max(1);
        self
    }

    /// The KD-tree over all rows, with the rows' values moved into its order (so a search
    /// reads neighbouring memory; row indices are unchanged).
    fn build_global_tree(&mut self) {
        let all: Vec<u32> = (0..self.rows.n_rows as u32).collect();
        let tree = KdTree::build(&self.projected, &all);
        self.rows.store_in_order(&tree.row_at);
        self.knn_tree = Some(tree);
    }

    /// The projected coordinates by row again, from the all-rows tree, when the join path
    /// released them (the per-interval DBSCAN builds its trees from them).
    fn restore_projected(&mut self) {
        if let Some(tree) = &self.knn_tree {
            if self.projected.coords.is_empty() && self.projected.n_coords > 0 {
                self.projected.coords = tree.coords_by_row(self.rows.n_rows);
            }
        }
    }

    fn progress(&self, stage: &str, done: usize, total: usize) -> Progress {
        Progress::new(stage, done as u64, total as u64)
    }

    fn step_project(&mut self, next_row: usize) -> Progress {
        let n = self.rows.n_rows;
        if self.basis.is_none() {
            let basis =
                Basis::for_pruning(&self.rows, pruning_coords(self.rows.n_rows, self.rows.dim));
            self.projected = Projected {
                n_coords: basis.n_vectors,
                coords: vec![0.0; n * basis.n_vectors],
                slack: basis.slack(&self.rows),
            };
            self.basis = Some(basis);
            return self.progress("choosing a pruning basis", 0, n);
        }
        let end = if self.parallel {
            n
        } else {
            (next_row + ROWS_PER_STEP * self.step_threads).min(n)
        };
        if let Some(basis) = &self.basis {
            let k = basis.n_vectors;
            let out = &mut self.projected.coords[next_row * k..end * k];
            #[cfg(feature = "parallel")]
            {
                use rayon::prelude::*;
                let rows = &self.rows;
                out.par_chunks_mut(ROWS_PER_STEP * k.max(1))
                    .enumerate()
                    .for_each(|(chunk_idx, chunk)| {
                        let start = next_row + chunk_idx * ROWS_PER_STEP;
                        let stop = start + chunk.len() / k.max(1);
                        basis.project_rows(rows, start..stop, chunk);
                    });
            }
            #[cfg(not(feature = "parallel"))]
            basis.project_rows(&self.rows, next_row..end, out);
        }
        self.stage = if end >= n {
            Stage::Lens { next_row: 0 }
        } else {
            Stage::Project { next_row: end }
        };
        self.progress("projecting rows", end, n)
    }

    fn step_lens(&mut self, next_row: usize) -> Result<Progress, MapperError> {
        let n = self.rows.n_rows;
        let end = match &self.params.lens {
            Lens::FirstPrincipalComponent => {
                // The pruning basis's first vector (an approximate PC1), else a seeded start.
                let start: Vec<f64> = match self.basis.as_ref() {
                    Some(b) if b.n_vectors > 0 && b.dim > b.n_vectors => {
                        b.vectors[..b.dim].to_vec()
                    }
                    _ => {
                        let mut stream = SplitMix64::new(PC1_FALLBACK_SEED);
                        (0..self.rows.dim)
                            .map(|_| stream.centred_uniform())
                            .collect()
                    }
                };
                let (mean, direction) = first_principal_component(&self.rows, &start);
                for row_idx in 0..n {
                    let mut s = 0.0;
                    let mut col = 0;
                    self.rows.for_each_exact(row_idx, |v| {
                        s += (v - mean[col]) * direction[col];
                        col += 1;
                    });
                    self.lens[row_idx] = s;
                }
                n
            }
            Lens::Custom {
                values_by_sample, ..
            } => {
                for (l, &s) in self.lens.iter_mut().zip(&self.sample_of_row) {
                    *l = values_by_sample[s as usize];
                }
                n
            }
            Lens::KnnDistance { .. } => n, // filled after the k-NN stage
            lens => {
                let end = if self.parallel {
                    n
                } else {
                    (next_row + ROWS_PER_STEP * self.step_threads).min(n)
                };
                per_row_lens(
                    lens,
                    &self.rows,
                    next_row..end,
                    &mut self.lens[next_row..end],
                );
                end
            }
        };
        // Fail fast: a constant lens under the uniform cover is refused by the cover anyway;
        // say so before the (expensive) neighbour search rather than after it.
        if end >= n
            && self.params.cover == CoverKind::Uniform
            && !matches!(self.params.lens, Lens::KnnDistance { .. })
        {
            if let Some(&first) = self.lens.first() {
                if self.lens.iter().all(|&value| value == first) {
                    return Err(MapperError::ConstantLens {
                        value: first,
                        n_intervals: self.params.n_intervals,
                    });
                }
            }
        }
        let join_path = matches!(
            self.params.epsilon,
            Epsilon::KnnQuantile {
                per_interval: false,
                ..
            }
        ) && !matches!(self.params.lens, Lens::KnnDistance { .. });
        self.stage = if end < n {
            Stage::Lens { next_row: end }
        } else if join_path {
            Stage::Join { next_pos: 0 }
        } else if self.knn_k > 0 {
            Stage::Knn { next_pos: 0 }
        } else {
            Stage::Cover
        };
        Ok(self.progress("lens", end, n))
    }

    fn step_knn(&mut self, next_pos: usize) -> Result<Progress, MapperError> {
        let n = self.rows.n_rows;
        let k = self.knn_k;
        if self.knn_tree.is_none() {
            self.build_global_tree();
            return Ok(self.progress("building the search tree", n, n));
        }
        if self.knn.len() != n * k {
            self.knn = vec![0.0; n * k];
        }
        let end = if self.parallel {
            n
        } else {
            (next_pos + KNN_QUERIES_PER_STEP * self.step_threads).min(n)
        };
        if let Some(tree) = &self.knn_tree {
            let band = FastBand::new(&self.rows);
            let by_pos = knn_block(
                tree,
                &self.rows,
                band,
                next_pos..end,
                k,
                self.parallel || self.step_threads > 1,
            );
            for (i, d) in by_pos.chunks(k).enumerate() {
                let row_idx = tree.row_at[next_pos + i] as usize;
                self.knn[row_idx * k..(row_idx + 1) * k].copy_from_slice(d);
            }
        }
        if end < n {
            self.stage = Stage::Knn { next_pos: end };
            return Ok(self.progress(&format!("{k}-NN distances"), end, n));
        }
        self.restore_projected();
        self.knn_tree = None;
        if let Lens::KnnDistance { k: kl } = self.params.lens {
            for row_idx in 0..n {
                let d = &self.knn[row_idx * k..row_idx * k + kl];
                self.lens[row_idx] = d.iter().sum::<f64>() / kl as f64;
            }
        }
        if let Epsilon::KnnQuantile {
            k: ke,
            quantile,
            per_interval: false,
        } = self.params.epsilon
        {
            let mut kth: Vec<f64> = (0..n)
                .map(|row_idx| self.knn[row_idx * k + ke - 1])
                .collect();
            kth.sort_by(|a, b| a.total_cmp(b));
            let eps = numpy_quantile(&kth, quantile);
            if eps.is_nan() || eps <= 0.0 {
                return Err(MapperError::ZeroEpsilon { k: ke, quantile });
            }
            self.eps_global = Some(eps);
        }
        self.knn = Vec::new();
        self.stage = Stage::Cover;
        Ok(self.progress(&format!("{k}-NN distances"), n, n))
    }

    /// Fixed-epsilon fast path: pilot radius, then the self-join in blocks, then the exact
    /// quantile from the pairs (or a fall back to the full k-NN search).
    fn step_join(&mut self, next_pos: usize) -> Result<Progress, MapperError> {
        let n = self.rows.n_rows;
        let Epsilon::KnnQuantile { k, quantile, .. } = self.params.epsilon else {
            self.stage = Stage::Cover;
            return Ok(self.progress("neighbour pairs", n, n));
        };
        let band = FastBand::new(&self.rows);
        let Some(tree) = &self.knn_tree else {
            self.build_global_tree();
            // The tree holds the coordinates (in its order): the join does not need them by
            // row, and intervals clustered without pairs get them back from the tree
            // (`restore_projected`). 110 MiB at 300K rows x 96 coordinates.
            self.projected.coords = Vec::new();
            return Ok(self.progress("building the search tree", n, n));
        };
        let Some(hi) = self.join_radius else {
            match pilot_radius(tree, &self.rows, band, k, quantile) {
                Some(hi) => self.join_radius = Some(hi),
                None => self.stage = Stage::Knn { next_pos: 0 },
            }
            return Ok(self.progress("choosing the join radius", 1, 1));
        };
        let limit = storage_limit(band, hi);
        let end = if self.parallel {
            self.fast_pairs = join_block(tree, &self.rows, next_pos..n, hi, limit).0;
            n
        } else if self.step_threads > 1 {
            let end = tree
                .leaf_start(next_pos + self.join_step_len)
                .max(next_pos + 1)
                .min(n);
            let (pairs, spent) = join_block(tree, &self.rows, next_pos..end, hi, limit);
            for part in pairs.into_parts() {
                self.fast_pairs.push(part);
            }
            // Aim the next step at the budget; the pairs do not depend on the step lengths.
            let target = DISTANCES_PER_STEP * self.step_threads as u64;
            let scaled = (self.join_step_len as u64).saturating_mul(target) / spent.max(1);
            self.join_step_len = (scaled as usize).clamp(128, 1 << 16);
            end
        } else {
            // Whole leaves (about 32 queries) at a time, until the budget is spent.
            let mut spent = 0u64;
            let mut pos = next_pos;
            let mut pairs: Vec<FastPair> = Vec::new();
            while pos < n && spent < DISTANCES_PER_STEP {
                let end = tree.leaf_end(pos).max(pos + 1).min(n);
                spent += (end - pos) as u64
                    + tree.pairs_within_range(
                        &self.rows,
                        pos..end,
                        hi,
                        limit,
                        |query, other, fast| {
                            pairs.push((tree.row_at[query], tree.row_at[other], fast))
                        },
                    );
                pos = end;
            }
            self.fast_pairs.push(pairs);
            pos
        };
        if self.fast_pairs.len() > MAX_JOIN_PAIRS {
            self.fast_pairs = Segments::new();
            self.stage = Stage::Knn { next_pos: 0 };
            return Ok(self.progress("neighbour pairs", n, n));
        }
        if end < n {
            self.stage = Stage::Join { next_pos: end };
            return Ok(self.progress("neighbour pairs", end, n));
        }
        match eps_from_pairs(&self.rows, band, &self.fast_pairs, hi, k, quantile) {
            Some(eps) if eps > 0.0 => {
                self.eps_global = Some(eps);
                if self.fast_pairs.is_empty() {
                    // No pair at all: the intervals run the pruned DBSCAN.
                    self.restore_projected();
                }
                self.knn_tree = None;
                self.stage = Stage::Cover;
            }
            Some(_) => return Err(MapperError::ZeroEpsilon { k, quantile }),
            None => {
                self.fast_pairs = Segments::new();
                self.stage = Stage::Knn { next_pos: 0 };
            }
        }
        Ok(self.progress("neighbour pairs", n, n))
    }

    fn step_cover(&mut self) -> Result<Progress, MapperError> {
        if let Some(row_idx) = self.lens.iter().position(|v| !v.is_finite()) {
            return Err(MapperError::NonFiniteLens {
                sample_idx: self.sample_of_row[row_idx] as usize,
            });
        }
        let cover_lens = match self.params.cover {
            CoverKind::Uniform => self.lens.clone(),
            CoverKind::Balanced => rank_lens(&self.lens),
        };
        if let Epsilon::Explicit(eps) = self.params.epsilon {
            self.eps_global = Some(eps);
        }
        self.intervals =
            uniform_intervals(&cover_lens, self.params.n_intervals, self.params.overlap)?;
        self.members = interval_members(&cover_lens, &self.intervals);
        if let (Some(eps), false) = (self.eps_global, self.fast_pairs.is_empty()) {
            let pairs = std::mem::take(&mut self.fast_pairs);
            let decided = decide_pairs(&self.rows, pairs, eps);
            self.interval_pairs = Some(bucket_pairs(self.rows.n_rows, &self.members, decided));
        }
        self.stage = Stage::Intervals;
        Ok(self.progress("cover", 1, 1))
    }

    /// Starts interval `interval_idx`: returns the finished outcome when there is nothing to
    /// cluster, else the work to advance.
    ///
    /// `ready`: the interval's clusters from the decided pairs when the caller computed them
    /// already ([`Self::clusters_of_pairs`], the parallel path computes all intervals' at once).
    fn begin_interval(
        &mut self,
        interval_idx: usize,
        ready: Option<Vec<Vec<u32>>>,
    ) -> Result<IntervalOutcome, Box<IntervalWork>> {
        let members = &self.members[interval_idx];
        let mut report = IntervalReport {
            interval: self.intervals[interval_idx].clone(),
            n_members: members.len(),
            cube_idx: None,
            skipped_small: false,
            eps: None,
            n_clusters: 0,
        };
        if members.is_empty() {
            return Ok(IntervalOutcome {
                report,
                clusters: Vec::new(),
            });
        }
        report.cube_idx = Some(self.next_cube_idx);
        self.next_cube_idx += 1;
        if members.len() < self.params.min_samples {
            report.skipped_small = true;
            return Ok(IntervalOutcome {
                report,
                clusters: Vec::new(),
            });
        }
        if let (Some(_), Some(eps)) = (&self.interval_pairs, self.eps_global) {
            let clusters = match ready {
                Some(clusters) => clusters,
                None => self.clusters_of_pairs(interval_idx).unwrap_or_default(),
            };
            report.eps = Some(eps);
            report.n_clusters = clusters.len();
            return Ok(IntervalOutcome { report, clusters });
        }
        let (eps, eps_search) = match (self.eps_global, self.params.epsilon) {
            (Some(eps), _) => (eps, None),
            (None, _) if members.len() == 1 => (f64::MIN_POSITIVE, None),
            (None, _) => (f64::MIN_POSITIVE, Some((0usize, vec![0.0; members.len()]))),
        };
        let dbscan = IntervalDbscan::new(
            &self.rows,
            &self.projected,
            members,
            eps,
            self.params.min_samples,
        );
        Err(Box::new(IntervalWork {
            interval_idx,
            dbscan,
            eps_search,
            eps,
        }))
    }

    /// The clusters of interval `interval_idx` from its decided pairs, when the join path
    /// bucketed them and the interval has at least `min_samples` members; else `None`.
    fn clusters_of_pairs(&self, interval_idx: usize) -> Option<Vec<Vec<u32>>> {
        let buckets = self.interval_pairs.as_ref()?;
        self.eps_global?;
        let members = &self.members[interval_idx];
        if members.is_empty() || members.len() < self.params.min_samples {
            return None;
        }
        let rule = ExactRule::for_interval(self.rows.dim, members.len());
        Some(clusters_from_pairs(
            members,
            &buckets[interval_idx],
            self.params.min_samples,
            rule,
        ))
    }

    fn finish_interval(&self, work: IntervalWork) -> IntervalOutcome {
        let clusters = work.dbscan.clusters();
        let interval_idx = work.interval_idx;
        let members = &self.members[interval_idx];
        IntervalOutcome {
            report: IntervalReport {
                interval: self.intervals[interval_idx].clone(),
                n_members: members.len(),
                cube_idx: None, // filled by the caller
                skipped_small: false,
                eps: Some(work.eps),
                n_clusters: clusters.len(),
            },
            clusters,
        }
    }

    /// Advances interval work by about `budget` distances (everything when `budget` is
    /// `u64::MAX`); returns true when DBSCAN is done.
    pub(super) fn advance_interval(
        rows: &Rows,
        params: &MapperParams,
        work: &mut IntervalWork,
        budget: u64,
    ) -> bool {
        if let Some((next_pos, kth)) = work.eps_search.as_mut() {
            let (ke, quantile) = match params.epsilon {
                Epsilon::KnnQuantile { k, quantile, .. } => (k, quantile),
                Epsilon::Explicit(eps) => (1, eps),
            };
            let tree = work.dbscan.tree();
            let n = tree.len();
            let k = ke.min(n - 1);
            let band = FastBand::new(rows);
            let queries = if budget == u64::MAX {
                n
            } else {
                (budget / 64).max(16) as usize
            };
            let end = (*next_pos + queries).min(n);
            let mut d = vec![0.0; k];
            for (pos, slot) in kth.iter_mut().enumerate().take(end).skip(*next_pos) {
                tree.knn_distances(rows, band, pos, k, &mut d);
                *slot = d[k - 1];
            }
            *next_pos = end;
            if end < n {
                return false;
            }
            kth.sort_by(|a, b| a.total_cmp(b));
            let q = numpy_quantile(kth, quantile);
            // A zero statistic (duplicates) keeps only exact duplicates together.
            let eps = if q > 0.0 { q } else { f64::MIN_POSITIVE };
            work.eps = eps;
            work.dbscan.set_eps(rows, eps);
            work.eps_search = None;
            if budget != u64::MAX {
                return false;
            }
        }
        work.dbscan.advance(rows, budget)
    }

    fn step_intervals(&mut self) -> Progress {
        let total = self.intervals.len();
        if self.parallel {
            let mut pending: Vec<(usize, IntervalWork)> = Vec::new();
            let mut slots: Vec<Option<IntervalOutcome>> = Vec::new();
            // The join path's clusters of every interval at once (each interval's union-find
            // is independent); the intervals are then numbered in order as before.
            #[cfg(feature = "parallel")]
            let mut ready: Vec<Option<Vec<Vec<u32>>>> = {
                use rayon::prelude::*;
                let this = &*self;
                (0..total)
                    .into_par_iter()
                    .map(|interval_idx| this.clusters_of_pairs(interval_idx))
                    .collect()
            };
            #[cfg(not(feature = "parallel"))]
            let mut ready: Vec<Option<Vec<Vec<u32>>>> = vec![None; total];
            for (interval_idx, clusters) in ready.iter_mut().enumerate() {
                let cube_idx = self.next_cube_idx;
                match self.begin_interval(interval_idx, clusters.take()) {
                    Ok(outcome) => slots.push(Some(outcome)),
                    Err(work) => {
                        pending.push((cube_idx, *work));
                        slots.push(None);
                    }
                }
            }
            let rows = &self.rows;
            let params = &self.params;
            let run = |(cube_idx, mut work): (usize, IntervalWork)| {
                Self::advance_interval(rows, params, &mut work, u64::MAX);
                (cube_idx, work)
            };
            #[cfg(feature = "parallel")]
            let done: Vec<(usize, IntervalWork)> = {
                use rayon::prelude::*;
                // Largest intervals first for load balance; order restored below.
                pending.sort_by_key(|(_, w)| std::cmp::Reverse(w.dbscan.tree().len()));
                pending.into_par_iter().map(run).collect()
            };
            #[cfg(not(feature = "parallel"))]
            let done: Vec<(usize, IntervalWork)> = pending.into_iter().map(run).collect();
            for (cube_idx, work) in done {
                let interval_idx = work.interval_idx;
                let mut outcome = self.finish_interval(work);
                outcome.report.cube_idx = Some(cube_idx);
                slots[interval_idx] = Some(outcome);
            }
            self.outcomes = slots.into_iter().flatten().collect();
            self.stage = Stage::Finish;
            return self.progress("clustering intervals", total, total);
        }
        // Start intervals until `step_threads` need clustering (skipping those that do not).
        while self.current.len() < self.step_threads && self.next_interval < total {
            let interval_idx = self.next_interval;
            self.next_interval += 1;
            let cube_idx = self.next_cube_idx;
            match self.begin_interval(interval_idx, None) {
                Ok(outcome) => self.outcomes.push(outcome),
                Err(work) => {
                    self.current.push((self.outcomes.len(), *work));
                    self.outcomes.push(IntervalOutcome {
                        report: IntervalReport {
                            interval: self.intervals[interval_idx].clone(),
                            n_members: 0,
                            cube_idx: Some(cube_idx),
                            skipped_small: false,
                            eps: None,
                            n_clusters: 0,
                        },
                        clusters: Vec::new(),
                    });
                }
            }
        }
        let mut active = std::mem::take(&mut self.current);
        let rows = &self.rows;
        let params = &self.params;
        let advance = |(_, work): &mut (usize, IntervalWork)| {
            Self::advance_interval(rows, params, work, DISTANCES_PER_STEP)
        };
        #[cfg(feature = "parallel")]
        let finished: Vec<bool> = if active.len() > 1 {
            use rayon::prelude::*;
            active.par_iter_mut().map(advance).collect()
        } else {
            active.iter_mut().map(advance).collect()
        };
        #[cfg(not(feature = "parallel"))]
        let finished: Vec<bool> = active.iter_mut().map(advance).collect();
        for ((slot, work), done) in active.into_iter().zip(finished) {
            if done {
                let mut outcome = self.finish_interval(work);
                outcome.report.cube_idx = self.outcomes[slot].report.cube_idx;
                self.outcomes[slot] = outcome;
            } else {
                self.current.push((slot, work));
            }
        }
        if let Some((_, work)) = self.current.first() {
            let interval_idx = work.interval_idx;
            return self.progress(
                &format!("clustering interval {}/{}", interval_idx + 1, total),
                interval_idx,
                total,
            );
        }
        if self.next_interval >= total {
            self.stage = Stage::Finish;
        }
        self.progress(
            &format!("clustering interval {}/{}", self.next_interval, total),
            self.next_interval,
            total,
        )
    }

    /// One node: its members as samples (ascending), lens mean, class histogram and mean
    /// activation (each summed in member order, as before: the same bits on any thread count).
    fn make_node(
        &self,
        cube_idx: usize,
        interval_idx: usize,
        cluster_idx: usize,
        rows_of_cluster: &[u32],
    ) -> MapperNode {
        let dim = self.rows.dim;
        let mut members: Vec<u32> = rows_of_cluster
            .iter()
            .map(|&r| self.sample_of_row[r as usize])
            .collect();
        members.sort_unstable();
        let size = members.len();
        let lens_mean = rows_of_cluster
            .iter()
            .map(|&r| self.lens[r as usize])
            .sum::<f64>()
            / size as f64;
        let mut class_histogram = Vec::new();
        if let Some(labels) = &self.labels_by_row {
            class_histogram = vec![0usize; self.n_classes];
            for &r in rows_of_cluster {
                class_histogram[labels[r as usize] as usize] += 1;
            }
        }
        let mut sum = vec![0f64; dim];
        for &r in rows_of_cluster {
            let mut col = 0;
            self.rows.for_each_exact(r as usize, |v| {
                sum[col] += v;
                col += 1;
            });
        }
        let mean_activation: Vec<f32> = sum.iter().map(|s| (s / size as f64) as f32).collect();
        MapperNode {
            node_id: 0, // numbered by the caller
            name: format!("cube{cube_idx}_cluster{cluster_idx}"),
            cube_idx,
            interval_idx,
            cluster_idx,
            top_classes: top_classes(&class_histogram, size),
            class_histogram,
            members,
            size,
            lens_mean,
            mean_activation,
        }
    }

    fn finish(&mut self) -> MapperGraph {
        // Every node's (cube, interval, cluster index, rows) in KeplerMapper's order; the
        // nodes are then made independently (in parallel with the feature: on 2 threads at
        // 20K x 256 this was a serial ~5 ms of member sums at the end of the process).
        let mut wanted: Vec<(usize, &IntervalOutcome, usize)> = Vec::new();
        for outcome in &self.outcomes {
            if let Some(cube_idx) = outcome.report.cube_idx {
                wanted.extend((0..outcome.clusters.len()).map(|c| (cube_idx, outcome, c)));
            }
        }
        let make = |&(cube_idx, outcome, cluster_idx): &(usize, &IntervalOutcome, usize)| {
            self.make_node(
                cube_idx,
                outcome.report.interval.centre_idx,
                cluster_idx,
                &outcome.clusters[cluster_idx],
            )
        };
        #[cfg(feature = "parallel")]
        let mut nodes: Vec<MapperNode> = {
            use rayon::prelude::*;
            wanted.par_iter().map(make).collect()
        };
        #[cfg(not(feature = "parallel"))]
        let mut nodes: Vec<MapperNode> = wanted.iter().map(make).collect();
        drop(wanted);
        for (node_id, node) in nodes.iter_mut().enumerate() {
            node.node_id = node_id;
        }
        if self.params.remove_duplicate_nodes {
            nodes = merge_duplicate_nodes(nodes);
        }
        let member_lists: Vec<&[u32]> = nodes.iter().map(|n| n.members.as_slice()).collect();
        let edges = nerve(&member_lists, self.params.min_intersection);
        let stats = graph_stats(&nodes, &edges, self.rows.n_rows);
        MapperGraph {
            nodes,
            edges,
            stats,
            params: ParamsRecord::new(&self.params, self.eps_global),
            intervals: self.outcomes.iter().map(|o| o.report.clone()).collect(),
            n_samples_used: self.rows.n_rows,
            class_names: self.class_names.clone(),
            lens_by_row: self.lens.clone(),
        }
    }
}

/// KeplerMapper's `remove_duplicate_nodes`: nodes with the same (sorted) members become one,
/// at the first one's place, named `first-second-...`; `node_id`s are renumbered.
/// Cost: O(total members) with a map keyed by member lists.
pub(super) fn merge_duplicate_nodes(nodes: Vec<MapperNode>) -> Vec<MapperNode> {
    let mut first_of: std::collections::HashMap<Vec<u32>, usize> = std::collections::HashMap::new();
    let mut merged: Vec<MapperNode> = Vec::with_capacity(nodes.len());
    for node in nodes {
        match first_of.get(&node.members) {
            Some(&at) => {
                let kept = &mut merged[at];
                kept.name = format!("{}-{}", kept.name, node.name);
            }
            None => {
                first_of.insert(node.members.clone(), merged.len());
                merged.push(node);
            }
        }
    }
    for (node_id, node) in merged.iter_mut().enumerate() {
        node.node_id = node_id;
    }
    merged
}

/// The join's pairs for the query positions `range` (in parallel with the feature), in
/// position order, and the work spent (full-dimension distances plus one per query).
pub(super) fn join_block(
    tree: &KdTree,
    rows: &Rows,
    range: std::ops::Range<usize>,
    hi: f64,
    limit: f32,
) -> (Segments<FastPair>, u64) {
    join_chunks(tree, rows, range, |tree, rows, queries, pairs| {
        tree.pairs_within_range(rows, queries, hi, limit, |query, other, fast| {
            pairs.push((tree.row_at[query], tree.row_at[other], fast))
        })
    })
}

/// The cross join's pairs (query row, member row, fast value) of every member of `queries`
/// with the members of `members` (two trees of one projection over disjoint rows), as
/// [`join_block`] (in parallel with the feature, in query position order).
pub(super) fn cross_join_block(
    members: &KdTree,
    queries: &KdTree,
    rows: &Rows,
    hi: f64,
    limit: f32,
) -> (Segments<FastPair>, u64) {
    join_chunks(
        queries,
        rows,
        0..queries.len(),
        |queries, rows, range, pairs| {
            members.pairs_with(queries, rows, range, hi, limit, |query, other, fast| {
                pairs.push((queries.row_at[query], members.row_at[other], fast))
            })
        },
    )
}

/// Runs `join(query_tree, rows, positions, pairs)` over chunks of the query positions
/// `range` (in parallel with the feature) and keeps the pairs in position order, one
/// segment per chunk; returns them and the work spent (`join`'s count plus one per query).
fn join_chunks(
    query_tree: &KdTree,
    rows: &Rows,
    range: std::ops::Range<usize>,
    join: impl Fn(&KdTree, &Rows, std::ops::Range<usize>, &mut Vec<FastPair>) -> u64 + Sync,
) -> (Segments<FastPair>, u64) {
    let tree = query_tree;
    // Chunks of about 128 queries that start on leaf starts (whole query leaves).
    const CHUNK: usize = 128;
    let mut bounds = vec![range.start];
    while let Some(&last) = bounds.last() {
        if last >= range.end {
            break;
        }
        let next = tree.leaf_start(last + CHUNK).max(last + 1).min(range.end);
        bounds.push(next);
    }
    let run = |chunk: &[usize]| {
        let (start, end) = (chunk[0], chunk[1]);
        let mut pairs: Vec<FastPair> = Vec::new();
        let spent = (end - start) as u64 + join(tree, rows, start..end, &mut pairs);
        (pairs, spent)
    };
    let starts: Vec<&[usize]> = bounds.windows(2).collect();
    #[cfg(feature = "parallel")]
    let parts: Vec<(Vec<FastPair>, u64)> = {
        use rayon::prelude::*;
        starts.into_par_iter().map(run).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let parts: Vec<(Vec<FastPair>, u64)> = starts.into_iter().map(run).collect();
    let spent = parts.iter().map(|(_, spent)| spent).sum();
    let mut pairs = Segments::new();
    for (part, _) in parts {
        pairs.push(part);
    }
    (pairs, spent)
}

/// k-NN distances for the queries at tree positions `range` (row-major `len x k`).
pub(super) fn knn_block(
    tree: &KdTree,
    rows: &Rows,
    band: FastBand,
    range: std::ops::Range<usize>,
    k: usize,
    parallel: bool,
) -> Vec<f64> {
    let mut out = vec![0f64; range.len() * k];
    let start = range.start;
    #[cfg(feature = "parallel")]
    if parallel {
        use rayon::prelude::*;
        out.par_chunks_mut(k * 64)
            .enumerate()
            .for_each(|(chunk_idx, chunk)| {
                for (i, d) in chunk.chunks_mut(k).enumerate() {
                    tree.knn_distances(rows, band, start + chunk_idx * 64 + i, k, d);
                }
            });
        return out;
    }
    let _ = parallel;
    for (i, d) in out.chunks_mut(k).enumerate() {
        tree.knn_distances(rows, band, start + i, k, d);
    }
    out
}

impl Job for MapperJob {
    type Output = MapperGraph;
    type Error = MapperError;

    fn step(&mut self) -> Result<Step<MapperGraph>, MapperError> {
        let progress = match self.stage {
            Stage::Project { next_row } => self.step_project(next_row),
            Stage::Lens { next_row } => self.step_lens(next_row)?,
            Stage::Knn { next_pos } => self.step_knn(next_pos)?,
            Stage::Join { next_pos } => self.step_join(next_pos)?,
            Stage::Cover => self.step_cover()?,
            Stage::Intervals => self.step_intervals(),
            Stage::Finish => {
                let graph = self.finish();
                self.stage = Stage::Finished;
                return Ok(Step::Done(graph));
            }
            Stage::Finished => return Err(MapperError::AlreadyFinished),
        };
        Ok(Step::Running(progress))
    }
}

/// Computes a mapper graph in one call (whole stages per step; parallel with the `parallel`
/// feature), handing progress reports to `on_progress`.
pub fn compute_mapper_with_progress(
    input: MapperInput<'_>,
    params: &ValidMapperParams,
    on_progress: impl FnMut(&Progress),
) -> Result<MapperGraph, MapperError> {
    let mut job = MapperJob::new(input, params)?.with_whole_stages();
    crate::job::run_to_end(&mut job, on_progress)
}

/// Computes a mapper graph in one call. See [`MapperJob`] for the stages and
/// [`super`] for the rules.
pub fn compute_mapper(
    input: MapperInput<'_>,
    params: &ValidMapperParams,
) -> Result<MapperGraph, MapperError> {
    compute_mapper_with_progress(input, params, |_| {})
}
