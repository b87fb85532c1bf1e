//! k nearest neighbours of every row, as a stepwise [`Job`]: exact where affordable, else
//! approximate with its recall measured ([`estimate_recall`]).
//!
//! # Method
//! The rows are partitioned by a few seeded Lloyd (k-means) iterations into about
//! `2 sqrt(n)` clusters; each row belongs to the cell of its nearest centroid. A query then
//! scans clusters in the order of their centroids' distance, keeping its `k` nearest rows in
//! a bounded heap, and skips a cluster `c` once the Voronoi bound proves it cannot hold a
//! nearer row: every row `x` of `c` is at least as close to `mu_c` as to the query's own
//! centroid `mu_a`, hence `|q - x| >= (|q - mu_c|^2 - |q - mu_a|^2) / (2 |mu_c - mu_a|)`.
//! Without a cap this search is **exact** (up to f32 rounding of the distances, covered by a
//! relative slack of 1e-5 in the bound). With `max_candidates` a query stops after scanning
//! that many rows: approximate, and then the graph is marked `exact: false`.
//!
//! Above [`PROJECT_ABOVE_DIM`] dimensions everything but the distances kept works on the rows
//! projected onto [`PROJECTED_DIM`] approximate principal directions (an orthonormal basis
//! fitted on an evenly spaced sample; f32 dot products): the partition, the centroids, the
//! bounds, and a first distance of every scanned pair. Projection onto an orthonormal basis
//! never lengthens a difference, so a projected distance, less a slack covering every f32
//! rounding of the projection, is a lower bound of the full one: a pair whose bound exceeds
//! the query's current k-th distance is ruled out, and only the others get a full distance
//! (`sq_dist_f32`, the kernel the graph's distances are reported in). The search stays exact;
//! on activation-like 50K x 256 about 76 of the ~2,000 rows a query scans need a full
//! distance at k = 20 (424 at k = 150). The bounds on projected rows are bounds on projected
//! distances, so they are lowered by the same slack.
//!
//! Distances use one f32 kernel (differences; AVX2+FMA when the CPU has it, simd128 in
//! wasm). Ties are kept by the smaller row index; distances reported are euclidean.
//!
//! # Cost
//! Partition: `(n + (PARTITION_ITERATIONS - 1) * max(n / 4, 40 n_clusters)) * n_clusters * dim`
//! (the first iterations fit a sample, the last assigns every row). Search: per query
//! `n_clusters * dim` for the centroid distances plus `dim` per scanned row. How many rows the
//! bound lets a query skip depends on the data: on activation-like data (a low-dimensional
//! latent mapped up) most clusters are skipped; in isotropic Gaussian blobs a query scans its
//! whole blob. `KnnSearch::Auto` is exact up to 10,000 rows and above caps the scan at
//! `max(25 k, n / 8, 2000)` rows. The queries of one cluster scan each target cluster
//! together, four queries per pass over its contiguous block (`sq_dists_to_tile`, in groups
//! of 16 queries x 64 targets; per pair the bits of the one-query kernel), with the rows (the
//! projected ones when projected) copied in cluster order up to [`SHARE_ABOVE_BYTES`] of
//! values; above, each scanned cluster is gathered into a scratch block of the task (one
//! gather per cluster and query cluster). Phase 1 scans the query's own cluster (more only
//! while it has fewer than k other rows); phase 2 every cluster the bounds cannot rule out,
//! nearest first. Projection: `n * dim * PROJECTED_DIM` multiply-adds once, and
//! `n * PROJECTED_DIM * 4` bytes (twice: the projected rows and their cluster-ordered copy).
//! Measured before the projection
//! (release, one thread, shared 2-core machine, `tests/embed_knn.rs::measure_knn`, CPU
//! seconds): k = 150 at 5K / 20K / 50K x 256 in 0.2 / 1.5 / 6.7-6.9 s on activation-like data
//! and 0.2 / 2.2 / 7.6 s on Gaussian blobs, exact (the cap was not reached; 2,224 and 2,499
//! rows scanned per query at 50K). With the tiles (`examples/knn_stages.rs`, 50K x 256, k = 20,
//! one thread, load ~5.3 on 2 cores): search 3.8-4.1 -> 2.5-3.0 s, partition 0.8 -> 0.65 s,
//! same graph. Memory: the output (`n * k * 8` bytes), the cluster-ordered copy of the rows
//! (`n * dim * 4`, freed with the job; none above 512 MiB of values: at 300K x 1024 the
//! k-NN's live peak 2413 -> 1241 MiB), the centroids
//! (`n_clusters * dim * 4`) and their pairwise distances (`n_clusters^2 * 4`).
//!
//! Deterministic: the partition depends only on the rows and the seed; under the `parallel`
//! feature query clusters are processed concurrently but each writes only its own rows, so
//! the output equals the serial one.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::embed::{EmbedError, EmbedRows, KnnGraph};
use crate::job::{Job, Progress, Step};
use crate::neighbours::pruning::Basis;
use crate::neighbours::rows::SHARE_ABOVE_BYTES;
use crate::numeric::kernels::{dot_f32, sq_dist_f32, sq_dists_to_tile};

/// Work per step, in multiply-adds (about 10-40 ms natively, more in wasm).
const STEP_FLOPS: f64 = 2.5e8;
/// Lloyd iterations of the partition.
const PARTITION_ITERATIONS: usize = 4;
/// Above this many dimensions the partition, the bounds and a first distance of every
/// scanned pair work on the rows projected onto [`PROJECTED_DIM`] principal directions;
/// only the pairs whose projected distance does not rule them out get a full distance.
const PROJECT_ABOVE_DIM: usize = 128;
/// Coordinates of the projection. Measured on activation-like 50K x 256 (`knn_stages`): of
/// the 50,000 rows, 638 / 140 / 69 / 45 per query lie within the final 20th-NN distance when
/// projected onto 16 / 32 / 48 / 64 directions, against ~1,980 rows the bound has the search
/// scan; full distances per query at k = 20 / 150: 206 / 724 (32), 112 / 521 (48), 76 / 424
/// (64); one thread's CPU seconds (data generation included, load ~9): k = 20: 2.00 / 1.86 /
/// 1.83 s, k = 150: 3.80 / 3.55 / 3.42 s (without projection 2.9-3.3 and 3.46 s).
const PROJECTED_DIM: usize = 64;
/// Evenly spaced rows the projection's basis is fitted on (the basis only needs to be
/// orthonormal for exactness; its fit only buys speed). [`Basis::fit`] runs 3 rounds of
/// subspace iteration.
const PROJECTION_SAMPLE: usize = 2048;
/// Seed of the basis's start vectors.
const PROJECTION_SEED: u64 = 0x6b6e_6e5f_7072_6f6a;

/// How exhaustively to search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KnnSearch {
    /// Exact up to [`AUTO_EXACT_MAX_POINTS`] rows, else capped at [`default_max_candidates`]
    /// rows per query (still exact whenever no query reaches the cap).
    Auto,
    /// Never capped: exact (worst case quadratic).
    Exact,
    /// Each query scans at most this many rows (at least `k + 1`).
    Approximate { max_candidates: usize },
}

/// Parameters of a k-NN graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KnnParams {
    /// Neighbours per row, self excluded. `1 <= k < n_points`.
    pub k: usize,
    /// Seed of the partition (the result is exact whatever the seed, unless capped).
    pub seed: u64,
    pub search: KnnSearch,
}

impl KnnParams {
    /// `k` neighbours, seed 0, [`KnnSearch::Auto`].
    pub fn new(k: usize) -> KnnParams {
        KnnParams {
            k,
            seed: 0,
            search: KnnSearch::Auto,
        }
    }
}

/// Up to this many rows [`KnnSearch::Auto`] searches exactly (no cap).
pub const AUTO_EXACT_MAX_POINTS: usize = 10_000;

/// Above [`AUTO_EXACT_MAX_POINTS`] rows, [`KnnSearch::Auto`] scans at most this many rows per
/// neighbour asked (when `n / 8` is more).
pub const AUTO_CAP_PER_NEIGHBOUR: usize = 300;

/// The scan cap of [`KnnSearch::Auto`]: none up to [`AUTO_EXACT_MAX_POINTS`] rows, else
/// `max(25 k, min(n / 8, 300 k), 2000)` rows per query.
///
/// The `300 k` term binds only for large `n` and small `k` (k = 20 from 48,000 rows on,
/// k = 150 from 360,000), where an exact search scans more rows than it pays for. Measured
/// natively on one thread (activation-like 256-d rows, `examples/knn_stages.rs`, recall
/// against brute force on 1,000 queries): at 300K and k = 20 the exact search scans 10,641
/// rows per query in 35.5 s; capped at 6,000 it scans 5,457 in 22.9 s, recall 0.990. At
/// 100K it scans 3,788 (exact) against 2,955 (recall 0.9994); at 50K the cap is not
/// reached and the graph is the exact one, bit for bit. At k = 150 a cap this low would
/// save little (300K: 54.2 s exact, 45.0 s at 6,250 with recall 0.974), hence the cap per
/// neighbour rather than one row count.
pub fn default_max_candidates(k: usize, n_points: usize) -> usize {
    if n_points <= AUTO_EXACT_MAX_POINTS {
        usize::MAX
    } else {
        (25 * k)
            .max((n_points / 8).min(AUTO_CAP_PER_NEIGHBOUR.saturating_mul(k)))
            .max(2000)
    }
}

/// The k-NN graph in one call (runs [`KnnJob`] to the end).
pub fn knn_graph(rows: Arc<EmbedRows>, params: KnnParams) -> Result<KnnGraph, EmbedError> {
    let mut job = KnnJob::new(rows, params)?;
    crate::job::run_to_end(&mut job, |_| {})
}

/// Rows grouped by cluster: `members[start[c]..start[c + 1]]`, each row in the cell of its
/// nearest centroid.
struct Partition {
    members: Vec<u32>,
    start: Vec<usize>,
    /// The rows copied in `members` order, so a cluster's rows are one contiguous block
    /// (`n x dim` f32: the search streams blocks from cache instead of gathering rows).
    /// `None` above [`SHARE_ABOVE_BYTES`] of values: then each scanned cluster is gathered
    /// into a scratch block of the task that scans it (same values, same bits).
    sorted_rows: Option<Vec<f32>>,
    dim: usize,
    /// `n_clusters x dim` centroids.
    centroids: Vec<f32>,
    /// `n_clusters x n_clusters` euclidean distances between centroids.
    separations: Vec<f32>,
    /// Largest distance from a cluster's centroid to one of its rows.
    radius: Vec<f32>,
}

impl Partition {
    fn n_clusters(&self) -> usize {
        self.start.len() - 1
    }
    fn cluster(&self, c: usize) -> &[u32] {
        &self.members[self.start[c]..self.start[c + 1]]
    }
    /// The rows of cluster `c`, contiguous (`cluster(c).len() x dim`): a slice of the
    /// cluster-ordered copy, or else gathered into `scratch`.
    fn cluster_block<'a>(
        &'a self,
        rows: &EmbedRows,
        c: usize,
        scratch: &'a mut Vec<f32>,
    ) -> &'a [f32] {
        match &self.sorted_rows {
            Some(sorted) => &sorted[self.start[c] * self.dim..self.start[c + 1] * self.dim],
            None => {
                scratch.clear();
                for &row in self.cluster(c) {
                    scratch.extend_from_slice(rows.row(row as usize));
                }
                scratch
            }
        }
    }
    fn centroid_distance(&self, a: usize, b: usize) -> f32 {
        self.separations[a * self.n_clusters() + b]
    }
}

enum Stage {
    /// Rows before `next_row` are projected (`values`, `n x PROJECTED_DIM`); the basis is
    /// fitted by the first step.
    Projecting {
        basis: Option<Basis32>,
        next_row: usize,
        values: Vec<f32>,
        max_centred_sq: f64,
    },
    /// Lloyd iterations; rows before `next_row` are assigned in this iteration.
    /// Iterations before the last visit only the first `sample_len` rows of `visit_order`;
    /// the last one assigns every row.
    Partitioning {
        iteration: usize,
        next_row: usize,
        visit_order: Vec<u32>,
        sample_len: usize,
        centroids: Vec<f32>,
        sums: Vec<f64>,
        counts: Vec<u32>,
        assignment: Vec<u32>,
        assignment_sq: Vec<f32>,
    },
    Searching {
        partition: Partition,
        next_cluster: usize,
    },
    Finished,
}

/// The projection's orthonormal basis (`n_vectors x dim`, f32) and centre.
struct Basis32 {
    vectors: Vec<f32>,
    mean: Vec<f32>,
    n_vectors: usize,
}

impl Basis32 {
    /// The top principal directions of an evenly spaced sample of the rows
    /// ([`Basis::fit`]), in f32.
    fn fit(rows: &EmbedRows, n_wanted: usize) -> Basis32 {
        let basis = Basis::fit(
            rows,
            rows.n_points,
            rows.dim,
            n_wanted,
            PROJECTION_SAMPLE,
            PROJECTION_SEED,
        );
        Basis32 {
            n_vectors: basis.n_vectors,
            vectors: basis.vectors.iter().map(|&v| v as f32).collect(),
            mean: basis.mean.iter().map(|&m| m as f32).collect(),
        }
    }

    /// Row `row` projected into `out` (`n_vectors` values); returns the squared norm of the
    /// centred row (f64, for the error bound).
    fn project(&self, row: &[f32], centred: &mut [f32], out: &mut [f32]) -> f64 {
        let mut norm_sq = 0f64;
        for ((c, &v), &m) in centred.iter_mut().zip(row).zip(&self.mean) {
            *c = v - m;
            norm_sq += (*c as f64) * (*c as f64);
        }
        let dim = row.len();
        for (v_idx, o) in out.iter_mut().enumerate() {
            *o = dot_f32(centred, &self.vectors[v_idx * dim..(v_idx + 1) * dim]);
        }
        norm_sq
    }
}

/// The rows projected onto [`Basis32`], and how far any projected row may stand from its
/// exact projection (distance units, covering every f32 rounding of the projection).
struct Projected {
    rows: EmbedRows,
    row_error: f64,
}

/// Stepwise k-NN graph computation. Each [`Job::step`] does a bounded amount of work
/// (about [`STEP_FLOPS`] multiply-adds, at least one cluster) and reports progress in rows.
pub struct KnnJob {
    rows: Arc<EmbedRows>,
    /// The rows projected (above [`PROJECT_ABOVE_DIM`] dimensions), once projected: the
    /// partition and the scans work on them, the full rows give the distances kept.
    projected: Option<Projected>,
    seed: u64,
    k: usize,
    max_candidates: usize,
    n_clusters: usize,
    /// Up to this many bytes of values the rows are copied in cluster order
    /// ([`SHARE_ABOVE_BYTES`]; above, each scanned cluster is gathered per task).
    copy_max_bytes: usize,
    stage: Stage,
    /// Whether some query stopped at the cap.
    capped: bool,
    evaluations: u64,
    full_evaluations: u64,
    indices: Vec<u32>,
    distances: Vec<f32>,
}

impl KnnJob {
    /// Checks the parameters; no work is done until [`Job::step`].
    pub fn new(rows: Arc<EmbedRows>, params: KnnParams) -> Result<KnnJob, EmbedError> {
        let n = rows.n_points;
        let k = params.k;
        if k == 0 {
            return Err(EmbedError::InvalidParameter {
                name: "k",
                reason: "must be at least 1".into(),
            });
        }
        if k >= n {
            return Err(EmbedError::TooFewPoints {
                n_points: n,
                needed: k + 1,
            });
        }
        let max_candidates = match params.search {
            KnnSearch::Exact => usize::MAX,
            KnnSearch::Auto => default_max_candidates(k, n),
            KnnSearch::Approximate { max_candidates } => max_candidates.max(k + 1),
        };
        let n_clusters = ((2.0 * (n as f64).sqrt()).round() as usize).clamp(1, n);
        let stage = if rows.dim > PROJECT_ABOVE_DIM {
            Stage::Projecting {
                basis: None,
                next_row: 0,
                values: Vec::new(),
                max_centred_sq: 0.0,
            }
        } else {
            start_partition(&rows, n_clusters, params.seed)
        };
        Ok(KnnJob {
            rows,
            projected: None,
            seed: params.seed,
            k,
            max_candidates,
            n_clusters,
            copy_max_bytes: SHARE_ABOVE_BYTES,
            stage,
            capped: false,
            evaluations: 0,
            full_evaluations: 0,
            indices: vec![0; n * k],
            distances: vec![0.0; n * k],
        })
    }

    /// Copies the rows in cluster order only up to `bytes` of values (tests and measurements
    /// of the path that gathers each cluster instead; the graph is the same either way).
    #[doc(hidden)]
    pub fn with_copy_max_bytes(mut self, bytes: usize) -> KnnJob {
        self.copy_max_bytes = bytes;
        self
    }

    /// Row-to-row distance evaluations so far (the search's main cost; `n * (n - 1)` would be
    /// brute force).
    pub fn distance_evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Of [`Self::distance_evaluations`], on projected rows, the pairs that also needed a full
    /// distance (0 without projection).
    pub fn full_distance_evaluations(&self) -> u64 {
        self.full_evaluations
    }

    /// Projects the next rows (the first step fits the basis).
    fn projection_step(&mut self) -> Progress {
        let rows = &*self.rows;
        let (n, dim) = (rows.n_points, rows.dim);
        let total = self.total_work();
        let Stage::Projecting {
            basis,
            next_row,
            values,
            max_centred_sq,
        } = &mut self.stage
        else {
            unreachable!("projection_step outside the projecting stage")
        };
        let Some(fitted) = basis else {
            let fitted = Basis32::fit(rows, PROJECTED_DIM.min(dim));
            values.reserve_exact(n * fitted.n_vectors);
            *basis = Some(fitted);
            return Progress::new("nearest neighbours: projecting", 0, total);
        };
        let width = fitted.n_vectors;
        let chunk = ((STEP_FLOPS * parallel_width() as f64 / (width * dim) as f64) as usize)
            .clamp(1, n - *next_row);
        let range = *next_row..*next_row + chunk;
        let project_part = |part: std::ops::Range<usize>| -> (Vec<f32>, f64) {
            let mut out = vec![0f32; part.len() * width];
            let mut centred = vec![0f32; dim];
            let mut max_sq = 0f64;
            for (local, row) in part.enumerate() {
                let sq = fitted.project(
                    rows.row(row),
                    &mut centred,
                    &mut out[local * width..(local + 1) * width],
                );
                max_sq = max_sq.max(sq);
            }
            (out, max_sq)
        };
        const TASK_ROWS: usize = 64;
        let parts: Vec<std::ops::Range<usize>> = range
            .clone()
            .step_by(TASK_ROWS)
            .map(|from| from..(from + TASK_ROWS).min(range.end))
            .collect();
        #[cfg(feature = "parallel")]
        let projected: Vec<(Vec<f32>, f64)> = {
            use rayon::prelude::*;
            parts.into_par_iter().map(project_part).collect()
        };
        #[cfg(not(feature = "parallel"))]
        let projected: Vec<(Vec<f32>, f64)> = parts.into_iter().map(project_part).collect();
        for (part, sq) in projected {
            values.extend_from_slice(&part);
            *max_centred_sq = max_centred_sq.max(sq);
        }
        *next_row = range.end;
        if *next_row < n {
            return Progress::new("nearest neighbours: projecting", *next_row as u64, total);
        }
        // Each projected coordinate is a dot product of the centred row with a unit vector:
        // `dot_f32`'s error (dim / 16 + 32 roundings of the sum of |products|, at most the
        // centred norm) plus the centring's and the f32 basis's roundings (one each); a
        // projected row then stands within sqrt(width) times that of its exact projection.
        let u = f32::EPSILON as f64 / 2.0;
        let per_coord = (dim as f64 / 16.0 + 34.0) * u * max_centred_sq.sqrt() * (1.0 + 1e-6);
        let row_error = (width as f64).sqrt() * per_coord + f64::MIN_POSITIVE;
        match EmbedRows::from_vec(n, width, std::mem::take(values)) {
            Ok(projected_rows) if row_error.is_finite() => {
                self.stage = start_partition(&projected_rows, self.n_clusters, self.seed);
                self.projected = Some(Projected {
                    rows: projected_rows,
                    row_error,
                });
            }
            // Rows near the ends of f32's range can project past them: the search then works
            // on the full rows, as below `PROJECT_ABOVE_DIM` dimensions.
            _ => self.stage = start_partition(&self.rows, self.n_clusters, self.seed),
        }
        Progress::new("nearest neighbours: partitioning", n as u64, total)
    }

    /// Progress units of the projection: one per row (none without projection).
    fn projection_work(&self) -> u64 {
        if self.rows.dim > PROJECT_ABOVE_DIM {
            self.rows.n_points as u64
        } else {
            0
        }
    }

    fn partition_step(&mut self) -> Progress {
        let projection_work = self.projection_work();
        let rows = match &self.projected {
            Some(projected) => &projected.rows,
            None => &*self.rows,
        };
        let (n, dim, n_clusters) = (rows.n_points, rows.dim, self.n_clusters);
        let total = self.total_work();
        let Stage::Partitioning {
            iteration,
            next_row,
            visit_order,
            sample_len,
            centroids,
            sums,
            counts,
            assignment,
            assignment_sq,
        } = &mut self.stage
        else {
            unreachable!("partition_step outside the partitioning stage")
        };
        let last_iteration = *iteration + 1 == PARTITION_ITERATIONS;
        let visit_len = if last_iteration { n } else { *sample_len };
        let chunk =
            ((STEP_FLOPS * parallel_width() as f64 / (n_clusters * dim) as f64) as usize).max(1);
        let end = (*next_row + chunk).min(visit_len);
        let visited = &visit_order[*next_row..end];
        let nearest = nearest_centroids(rows, centroids, visited);
        for (&row, (cluster, sq)) in visited.iter().zip(nearest) {
            let row = row as usize;
            assignment[row] = cluster;
            assignment_sq[row] = sq;
            counts[cluster as usize] += 1;
            let sum = &mut sums[cluster as usize * dim..(cluster as usize + 1) * dim];
            for (s, v) in sum.iter_mut().zip(rows.row(row)) {
                *s += *v as f64;
            }
        }
        *next_row = end;
        if end == visit_len {
            *iteration += 1;
            if *iteration == PARTITION_ITERATIONS {
                // The last assignment was to these centroids: keep them (the Voronoi bound
                // needs every row in the cell of its own centroid).
                let partition = group_by_cluster(
                    rows,
                    assignment,
                    assignment_sq,
                    n_clusters,
                    std::mem::take(centroids),
                    self.copy_max_bytes,
                );
                self.stage = Stage::Searching {
                    partition,
                    next_cluster: 0,
                };
                return Progress::new(
                    "nearest neighbours: searching",
                    self.projection_work() + self.partition_work(),
                    total,
                );
            }
            // New centroids; an empty cluster keeps its old centroid.
            for c in 0..n_clusters {
                if counts[c] > 0 {
                    let inv = 1.0 / counts[c] as f64;
                    for d in 0..dim {
                        centroids[c * dim + d] = (sums[c * dim + d] * inv) as f32;
                    }
                }
            }
            sums.iter_mut().for_each(|s| *s = 0.0);
            counts.iter_mut().for_each(|c| *c = 0);
            *next_row = 0;
        }
        let done = projection_work + (*iteration * *sample_len + *next_row) as u64;
        Progress::new("nearest neighbours: partitioning", done, total)
    }

    /// Progress units of the partition: rows visited by its iterations.
    fn partition_work(&self) -> u64 {
        let n = self.rows.n_points;
        let sample_len = (40 * self.n_clusters).max(n / 4).min(n);
        ((PARTITION_ITERATIONS - 1) * sample_len + n) as u64
    }

    /// Progress units: rows visited by the partition, then rows searched (of cost ~2 visits).
    fn total_work(&self) -> u64 {
        self.projection_work() + self.partition_work() + 2 * self.rows.n_points as u64
    }

    fn search_step(&mut self) -> Result<Step<KnnGraph>, EmbedError> {
        let total = self.total_work();
        let partition_work = self.projection_work() + self.partition_work();
        let Stage::Searching {
            partition,
            next_cluster,
        } = &mut self.stage
        else {
            unreachable!("search_step outside the searching stage")
        };
        let full = &*self.rows;
        let (space, exact) = match &self.projected {
            Some(projected) => (&projected.rows, Some((full, 2.0 * projected.row_error))),
            None => (full, None),
        };
        let (n, dim, k) = (space.n_points, space.dim, self.k);
        // Estimated work per query: centroid distances plus a typical scan.
        let per_query = partition.n_clusters() + self.max_candidates.min(n).min(8 * k + 1000);
        // Clusters in this step: at least one, up to the work budget (times the threads).
        let budget = STEP_FLOPS * parallel_width() as f64;
        let first = *next_cluster;
        let mut last = first;
        let mut work = 0f64;
        while last < partition.n_clusters() && (last == first || work < budget) {
            work += (partition.cluster(last).len() * per_query * dim) as f64;
            last += 1;
        }
        let max_candidates = self.max_candidates;
        let search_one =
            |cluster: usize| search_cluster(space, exact, partition, cluster, k, max_candidates);
        #[cfg(feature = "parallel")]
        let results: Vec<ClusterResult> = {
            use rayon::prelude::*;
            (first..last).into_par_iter().map(search_one).collect()
        };
        #[cfg(not(feature = "parallel"))]
        let results: Vec<ClusterResult> = (first..last).map(search_one).collect();
        for result in results {
            self.capped |= result.capped;
            self.evaluations += result.evaluations;
            self.full_evaluations += result.full_evaluations;
            for (row, list) in result.lists {
                let out = row as usize * k;
                for (slot, (sq, idx)) in list.into_iter().enumerate() {
                    self.indices[out + slot] = idx;
                    self.distances[out + slot] = sq.sqrt();
                }
            }
        }
        *next_cluster = last;
        if last < partition.n_clusters() {
            let done = partition_work + 2 * partition.start[last] as u64;
            return Ok(Step::Running(Progress::new(
                "nearest neighbours: searching",
                done,
                total,
            )));
        }
        self.stage = Stage::Finished;
        Ok(Step::Done(KnnGraph {
            n_points: n,
            k,
            indices: std::mem::take(&mut self.indices),
            distances: std::mem::take(&mut self.distances),
            exact: !self.capped,
        }))
    }
}

impl Job for KnnJob {
    type Output = KnnGraph;
    type Error = EmbedError;

    fn step(&mut self) -> Result<Step<KnnGraph>, EmbedError> {
        match self.stage {
            Stage::Projecting { .. } => Ok(Step::Running(self.projection_step())),
            Stage::Partitioning { .. } => Ok(Step::Running(self.partition_step())),
            Stage::Searching { .. } => self.search_step(),
            Stage::Finished => Err(EmbedError::InvalidParameter {
                name: "job",
                reason: "the k-NN job has already finished".into(),
            }),
        }
    }
}

/// Threads a step may use.
fn parallel_width() -> usize {
    #[cfg(feature = "parallel")]
    {
        rayon::current_num_threads().max(1)
    }
    #[cfg(not(feature = "parallel"))]
    {
        1
    }
}

/// The partition's first stage: seeded initial centroids, nothing assigned yet.
fn start_partition(rows: &EmbedRows, n_clusters: usize, seed: u64) -> Stage {
    let n = rows.n_points;
    let (centroids, visit_order) = initial_centroids(rows, n_clusters, seed);
    let sample_len = (40 * n_clusters).max(n / 4).min(n);
    Stage::Partitioning {
        iteration: 0,
        next_row: 0,
        visit_order,
        sample_len,
        centroids,
        sums: vec![0.0; n_clusters * rows.dim],
        counts: vec![0; n_clusters],
        assignment: vec![0; n],
        assignment_sq: vec![0.0; n],
    }
}

/// A seeded random order of the rows (Fisher-Yates) and its first `n_clusters` rows as the
/// initial centroids.
fn initial_centroids(rows: &EmbedRows, n_clusters: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
    let n = rows.n_points;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    for slot in 0..n.saturating_sub(1) {
        let pick = rng.random_range(slot..n);
        order.swap(slot, pick);
    }
    let mut centroids = Vec::with_capacity(n_clusters * rows.dim);
    for &row in &order[..n_clusters] {
        centroids.extend_from_slice(rows.row(row as usize));
    }
    (centroids, order)
}

fn group_by_cluster(
    rows: &EmbedRows,
    assignment: &[u32],
    assignment_sq: &[f32],
    n_clusters: usize,
    centroids: Vec<f32>,
    copy_max_bytes: usize,
) -> Partition {
    let mut start = vec![0usize; n_clusters + 1];
    for &c in assignment {
        start[c as usize + 1] += 1;
    }
    for c in 0..n_clusters {
        start[c + 1] += start[c];
    }
    let mut fill = start.clone();
    let mut members = vec![0u32; assignment.len()];
    let mut radius = vec![0f32; n_clusters];
    for (row, &c) in assignment.iter().enumerate() {
        members[fill[c as usize]] = row as u32;
        fill[c as usize] += 1;
        radius[c as usize] = radius[c as usize].max(assignment_sq[row].sqrt());
    }
    let dim = rows.dim;
    let sorted_rows = (members.len() * dim * 4 <= copy_max_bytes).then(|| {
        let mut sorted_rows = Vec::with_capacity(members.len() * dim);
        for &row in &members {
            sorted_rows.extend_from_slice(rows.row(row as usize));
        }
        sorted_rows
    });
    // Each centroid against all (the bits of `sq_dists_to_block` per pair, tiled).
    let centroid_refs: Vec<&[f32]> = centroids.chunks_exact(dim).collect();
    let (mut separations, mut scratch) = (Vec::new(), Vec::new());
    blocked_sq_dists(
        &centroid_refs,
        &centroids,
        dim,
        &mut separations,
        &mut scratch,
    );
    separations.iter_mut().for_each(|d| *d = d.sqrt());
    Partition {
        members,
        start,
        sorted_rows,
        dim,
        centroids,
        separations,
        radius,
    }
}

/// Queries per group and targets per chunk of [`blocked_sq_dists`]: at 1024 dimensions a group
/// and a chunk together are 320 KiB, so each chunk is read from cache by the group's tiles.
const GROUP_QUERIES: usize = 16;
const CHUNK_TARGETS: usize = 64;

/// `out[q * m + j]`: squared distances of every query to each of the block's `m` rows, as
/// `sq_dists_to_tile` of all queries with the whole block (the same bits: chunks hold a
/// multiple of four targets, so every target keeps its place in its group of four), computed
/// a group of queries by a chunk of targets at a time.
fn blocked_sq_dists(
    queries: &[&[f32]],
    block: &[f32],
    dim: usize,
    out: &mut Vec<f32>,
    scratch: &mut Vec<f32>,
) {
    let m = block.len() / dim;
    out.clear();
    out.resize(queries.len() * m, 0.0);
    for (g, group) in queries.chunks(GROUP_QUERIES).enumerate() {
        for (c, chunk) in block.chunks(CHUNK_TARGETS * dim).enumerate() {
            let width = chunk.len() / dim;
            sq_dists_to_tile(group, chunk, dim, scratch);
            for (q, dists) in scratch.chunks_exact(width).enumerate() {
                let at = (g * GROUP_QUERIES + q) * m + c * CHUNK_TARGETS;
                out[at..at + width].copy_from_slice(dists);
            }
        }
    }
}

/// The nearest centroid of each row of `visited` (ties: smaller cluster index) and the
/// squared distance to it. Rows in tiles of four (`blocked_sq_dists`: each row's distances
/// have the bits of its own pass), groups of tiles side by side under the `parallel` feature (each row's
/// answer depends only on the row, so the thread count does not matter).
fn nearest_centroids(rows: &EmbedRows, centroids: &[f32], visited: &[u32]) -> Vec<(u32, f32)> {
    let dim = rows.dim;
    let n_centroids = centroids.len() / dim;
    let nearest_of_tile = |tile: &[u32]| -> Vec<(u32, f32)> {
        let queries: Vec<&[f32]> = tile.iter().map(|&row| rows.row(row as usize)).collect();
        let (mut dists, mut scratch) = (Vec::new(), Vec::new());
        blocked_sq_dists(&queries, centroids, dim, &mut dists, &mut scratch);
        dists
            .chunks_exact(n_centroids)
            .map(|dists| {
                let mut best = (f32::INFINITY, 0u32);
                for (c, &d) in dists.iter().enumerate() {
                    if d < best.0 {
                        best = (d, c as u32);
                    }
                }
                (best.1, best.0)
            })
            .collect()
    };
    // Rows per task: one group of `blocked_sq_dists`.
    const TASK_ROWS: usize = GROUP_QUERIES;
    #[cfg(feature = "parallel")]
    let nearest: Vec<Vec<(u32, f32)>> = {
        use rayon::prelude::*;
        visited.par_chunks(TASK_ROWS).map(nearest_of_tile).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let nearest: Vec<Vec<(u32, f32)>> = visited.chunks(TASK_ROWS).map(nearest_of_tile).collect();
    nearest.into_iter().flatten().collect()
}

/// The `k` nearest candidates of every row of cluster `cluster`, as `(row, [(sq, idx)])`
/// sorted ascending by `(sq, idx)`.
fn search_cluster(
    rows: &EmbedRows,
    exact: Option<(&EmbedRows, f64)>,
    partition: &Partition,
    cluster: usize,
    k: usize,
    max_candidates: usize,
) -> ClusterResult {
    let dim = rows.dim;
    let queries = partition.cluster(cluster);
    let mut own_scratch = Vec::new();
    let own_block = partition.cluster_block(rows, cluster, &mut own_scratch);
    let n_clusters = partition.n_clusters();
    let own = cluster;
    let projection_slack = exact.map_or(0.0, |(_, slack)| slack);
    // Per query: squared distances to every centroid, and the clusters by that distance.
    let query_refs: Vec<&[f32]> = own_block.chunks_exact(dim).collect();
    let mut centroid_sq: Vec<f32> = Vec::new();
    let mut tile_scratch = Vec::new();
    blocked_sq_dists(
        &query_refs,
        &partition.centroids,
        dim,
        &mut centroid_sq,
        &mut tile_scratch,
    );
    let non_empty: Vec<u32> = (0..n_clusters as u32)
        .filter(|&c| !partition.cluster(c as usize).is_empty())
        .collect();
    // Whether a row of cluster `c` may lie within `reach` (a distance) of query `pos`, by two
    // lower bounds on the distance from the query to any row of `c`:
    // - Voronoi: rows of c are at least as close to mu_c as to mu_own, so at least
    //   gap / (2 |mu_c - mu_own|) from the query, gap = |q - mu_c|^2 - |q - mu_own|^2;
    // - triangle: rows of c are within radius_c of mu_c.
    // The 1e-5 slacks cover the f32 rounding of the squared distances; with projected rows
    // the exact rows are within `projection_slack` of these bounds. Written without square
    // roots or divisions: it runs for every cluster and query.
    let may_hold = |pos: usize, c: usize, reach: f64| -> bool {
        let to_c = centroid_sq[pos * n_clusters + c] as f64;
        let to_own = centroid_sq[pos * n_clusters + own] as f64;
        let reach = reach + projection_slack;
        let gap = (to_c - to_own) - 1e-5 * (to_c + to_own);
        let separation = partition.centroid_distance(c, own) as f64;
        let cell_ok = !(gap > 0.0 && separation > 0.0) || gap <= 2.0 * separation * reach;
        let ball_reach = reach + partition.radius[c] as f64 * (1.0 + 1e-5);
        let ball_ok = to_c * (1.0 - 1e-5) * (1.0 - 1e-5) <= ball_reach * ball_reach;
        cell_ok && ball_ok
    };
    let mut heaps: Vec<MaxHeap> = (0..queries.len()).map(|_| MaxHeap::new(k)).collect();
    let mut scanned = vec![0usize; queries.len()];
    // The clusters each query scans in phase 1 (its own, and the next nearest while it has
    // fewer than k other rows).
    let mut first_scanned: Vec<Vec<u32>> = vec![Vec::new(); queries.len()];
    let mut scanners: Vec<Vec<u32>> = vec![Vec::new(); n_clusters];
    let mut target_dists = Vec::new();
    let mut target_scratch = Vec::new();
    let mut active = Vec::new();
    let mut tile_queries: Vec<&[f32]> = Vec::new();
    let mut evaluations = 0u64;
    let mut full_evaluations = 0u64;
    let mut candidates: Vec<(f32, u32)> = Vec::new();
    let mut scan_all = |scanners: &mut Vec<Vec<u32>>, heaps: &mut Vec<MaxHeap>, recheck: bool| {
        for (c, scanning) in scanners.iter_mut().enumerate() {
            // A query's heap changes only by its own scans, so checking every bound before
            // scanning decides as checking each just before its scan would.
            active.clear();
            active.extend(scanning.drain(..).filter(|&pos| {
                let pos = pos as usize;
                let heap = &heaps[pos];
                !(recheck && heap.is_full() && !may_hold(pos, c, (heap.worst() as f64).sqrt()))
            }));
            if active.is_empty() {
                continue;
            }
            let targets = partition.cluster(c);
            let block = partition.cluster_block(rows, c, &mut target_scratch);
            // Four queries per pass over the block (`sq_dists_to_tile`: each query's
            // distances have the bits of its own pass).
            tile_queries.clear();
            tile_queries.extend(active.iter().map(|&pos| query_refs[pos as usize]));
            blocked_sq_dists(
                &tile_queries,
                block,
                dim,
                &mut target_dists,
                &mut tile_scratch,
            );
            evaluations += (targets.len() * active.len()) as u64;
            for (&pos, dists) in active.iter().zip(target_dists.chunks_exact(targets.len())) {
                let pos = pos as usize;
                let heap = &mut heaps[pos];
                let query_row = queries[pos];
                let Some((full_rows, slack)) = exact else {
                    for (&target, &d) in targets.iter().zip(dists) {
                        if target != query_row {
                            heap.offer(d, target);
                        }
                    }
                    continue;
                };
                // Projected distances are lower bounds (less `slack`): the candidates the
                // heap's current worst does not rule out, nearest first, get a full distance
                // until one is ruled out (then every later one is too).
                let mut limit = projected_limit(heap, slack);
                candidates.clear();
                candidates.extend(
                    targets
                        .iter()
                        .zip(dists)
                        .filter(|&(&target, &d)| d <= limit && target != query_row)
                        .map(|(&target, &d)| (d, target)),
                );
                let query = full_rows.row(query_row as usize);
                let mut offer_all = |heap: &mut MaxHeap, limit: &mut f32, list: &[(f32, u32)]| {
                    for &(d, target) in list {
                        if d > *limit {
                            continue;
                        }
                        full_evaluations += 1;
                        if heap.offer(sq_dist_f32(query, full_rows.row(target as usize)), target) {
                            *limit = projected_limit(heap, slack);
                        }
                    }
                };
                if heap.is_full() {
                    offer_all(heap, &mut limit, &candidates);
                    continue;
                }
                // Nearest first, so the heap's worst tightens soonest: the `need` nearest
                // (which fill the heap) in order, then those of the others the full heap does
                // not rule out, in order. The same full distances as offering every
                // candidate nearest first: the others dropped here exceed the limit then, so
                // every later one too. (A whole sort of the candidates, ~100 per query in
                // phase 1, cost ~5 % of the search's instructions.)
                let by_pair =
                    |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                let need = heap.vacancies();
                if candidates.len() <= need {
                    candidates.sort_unstable_by(by_pair);
                    offer_all(heap, &mut limit, &candidates);
                    continue;
                }
                candidates.select_nth_unstable_by(need - 1, by_pair);
                candidates[..need].sort_unstable_by(by_pair);
                offer_all(heap, &mut limit, &candidates[..need]);
                let mut kept = need;
                for i in need..candidates.len() {
                    if candidates[i].0 <= limit {
                        candidates.swap(kept, i);
                        kept += 1;
                    }
                }
                candidates.truncate(kept);
                candidates[need..].sort_unstable_by(by_pair);
                offer_all(heap, &mut limit, &candidates[need..]);
            }
        }
    };
    // Phase 1: the query's own cluster (the nearest), then the next nearest while it has
    // fewer than k other rows (a first k-th distance).
    for (pos, first) in first_scanned.iter_mut().enumerate() {
        let dists = &centroid_sq[pos * n_clusters..(pos + 1) * n_clusters];
        let mut c = own as u32;
        // Every row is in some cluster and n > k, so the scan passes k before the end.
        loop {
            first.push(c);
            scanners[c as usize].push(pos as u32);
            scanned[pos] += partition.cluster(c as usize).len();
            if scanned[pos] > k {
                break;
            }
            let nearest_other = non_empty
                .iter()
                .copied()
                .filter(|c| !first.contains(c))
                .min_by(by_distance(dists));
            match nearest_other {
                Some(next) => c = next,
                None => break,
            }
        }
    }
    scan_all(&mut scanners, &mut heaps, false);
    // Phase 2: every other cluster the bound cannot rule out, nearest first, up to the cap.
    let mut capped = false;
    let mut kept: Vec<u32> = Vec::new();
    for (pos, first) in first_scanned.iter().enumerate() {
        let dists = &centroid_sq[pos * n_clusters..(pos + 1) * n_clusters];
        let reach = (heaps[pos].worst() as f64).sqrt();
        kept.clear();
        kept.extend(
            non_empty
                .iter()
                .copied()
                .filter(|&c| may_hold(pos, c as usize, reach) && !first.contains(&c)),
        );
        kept.sort_unstable_by(by_distance(dists));
        for &c in &kept {
            let size = partition.cluster(c as usize).len();
            if scanned[pos] + size > max_candidates {
                capped = true;
                break;
            }
            scanned[pos] += size;
            scanners[c as usize].push(pos as u32);
        }
    }
    scan_all(&mut scanners, &mut heaps, true);
    let lists = queries
        .iter()
        .zip(heaps)
        .map(|(&row, heap)| (row, heap.into_sorted()))
        .collect();
    ClusterResult {
        lists,
        capped,
        evaluations,
        full_evaluations,
    }
}

/// The largest projected squared distance that does not rule a pair out for `heap` (+inf
/// until it is full): a pair whose projected squared distance `p` exceeds it has a full
/// distance of at least `sqrt(p (1 - 1e-5)) - slack` (the projection is a contraction, the
/// rows stand within `slack / 2` of their exact projections, `1e-5` covers the f32 rounding of
/// `p`), whose square is, with a further `1e-5` for the full distance's rounding, above the
/// heap's worst: the pair could not enter.
fn projected_limit(heap: &MaxHeap, slack: f64) -> f32 {
    if !heap.is_full() {
        return f32::INFINITY;
    }
    let worst = heap.worst() as f64;
    let reach = (worst / (1.0 - 1e-5)).sqrt() + slack;
    let limit = reach * reach / (1.0 - 1e-5);
    // Rounded up to an f32 (never below the exact limit).
    let limit32 = limit as f32;
    if (limit32 as f64) < limit {
        limit32.next_up()
    } else {
        limit32
    }
}

/// The order of clusters by `dists` (a query's squared distances to the centroids), ties by
/// the smaller index.
fn by_distance(dists: &[f32]) -> impl Fn(&u32, &u32) -> std::cmp::Ordering + '_ {
    move |&a, &b| {
        dists[a as usize]
            .total_cmp(&dists[b as usize])
            .then(a.cmp(&b))
    }
}

/// Neighbour lists of one cluster's rows, and whether any search stopped at the cap.
struct ClusterResult {
    lists: Vec<(u32, Vec<(f32, u32)>)>,
    capped: bool,
    /// Query-row distance evaluations (centroids excluded).
    evaluations: u64,
    /// Of those, on projected rows: the pairs given a full distance.
    full_evaluations: u64,
}

/// A bounded max-heap of `(sq distance, row)` keeping the `capacity` smallest pairs in the
/// order (distance, row index).
struct MaxHeap {
    capacity: usize,
    items: Vec<(f32, u32)>,
}

#[inline(always)]
fn pair_less(a: (f32, u32), b: (f32, u32)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 < b.1)
}

impl MaxHeap {
    fn new(capacity: usize) -> MaxHeap {
        MaxHeap {
            capacity,
            items: Vec::with_capacity(capacity),
        }
    }

    fn is_full(&self) -> bool {
        self.items.len() == self.capacity
    }

    /// Offers still accepted whatever their distance.
    fn vacancies(&self) -> usize {
        self.capacity - self.items.len()
    }

    /// The largest kept distance (call only when full).
    fn worst(&self) -> f32 {
        self.items[0].0
    }

    /// Keeps `(dist, idx)` if it is among the `capacity` smallest so far; returns whether it
    /// was kept.
    #[inline(always)]
    fn offer(&mut self, dist: f32, idx: u32) -> bool {
        let item = (dist, idx);
        let len = self.items.len();
        if len < self.capacity {
            self.items.push(item);
            let mut child = len;
            while child > 0 {
                let parent = (child - 1) / 2;
                if pair_less(self.items[parent], self.items[child]) {
                    self.items.swap(parent, child);
                    child = parent;
                } else {
                    break;
                }
            }
        } else if pair_less(item, self.items[0]) {
            self.items[0] = item;
            let mut parent = 0;
            loop {
                let left = 2 * parent + 1;
                if left >= len {
                    break;
                }
                let right = left + 1;
                let larger = if right < len && pair_less(self.items[left], self.items[right]) {
                    right
                } else {
                    left
                };
                if pair_less(self.items[parent], self.items[larger]) {
                    self.items.swap(parent, larger);
                    parent = larger;
                } else {
                    break;
                }
            }
        } else {
            return false;
        }
        true
    }

    fn into_sorted(mut self) -> Vec<(f32, u32)> {
        self.items
            .sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.items
    }
}

/// Fraction of the exact neighbour lists found: mean over rows of
/// `|approx(i) ∩ exact(i)| / k` with `k = min(approx.k, exact.k)` (first `k` of each).
pub fn recall(approx: &KnnGraph, exact: &KnnGraph) -> f64 {
    let k = approx.k.min(exact.k);
    let n = approx.n_points.min(exact.n_points);
    if k == 0 || n == 0 {
        return 1.0;
    }
    let mut found = 0usize;
    let mut truth: Vec<u32> = Vec::with_capacity(k);
    for row in 0..n {
        truth.clear();
        truth.extend_from_slice(&exact.neighbours(row)[..k]);
        truth.sort_unstable();
        found += approx.neighbours(row)[..k]
            .iter()
            .filter(|v| truth.binary_search(v).is_ok())
            .count();
    }
    found as f64 / (n * k) as f64
}

/// Recall of `graph` (its first `k` neighbours, `k <= graph.k`) on a seeded sample of
/// `n_queries` rows whose exact neighbours are found by brute force: cost
/// O(n_queries * n * dim). A neighbour counts as found when its distance is within the exact
/// k-th distance (so exact ties do not count as misses).
pub fn estimate_recall(
    rows: &EmbedRows,
    graph: &KnnGraph,
    k: usize,
    n_queries: usize,
    seed: u64,
) -> f64 {
    let n = rows.n_points;
    let k = k.min(graph.k);
    if k == 0 || n < 2 {
        return 1.0;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_queries = n_queries.min(n).max(1);
    let mut order: Vec<usize> = (0..n).collect();
    for slot in 0..n_queries {
        let pick = rng.random_range(slot..n);
        order.swap(slot, pick);
    }
    let measure = |&query: &usize| -> usize {
        let q = rows.row(query);
        let mut heap = MaxHeap::new(k);
        for other in 0..n {
            if other != query {
                heap.offer(sq_dist_f32(q, rows.row(other)), other as u32);
            }
        }
        let exact = heap.into_sorted();
        let kth = exact[k - 1].0;
        graph.neighbours(query)[..k]
            .iter()
            .filter(|&&idx| sq_dist_f32(q, rows.row(idx as usize)) <= kth)
            .count()
    };
    let queries = &order[..n_queries];
    #[cfg(feature = "parallel")]
    let found: usize = {
        use rayon::prelude::*;
        queries.par_iter().map(measure).sum()
    };
    #[cfg(not(feature = "parallel"))]
    let found: usize = queries.iter().map(measure).sum();
    found as f64 / (n_queries * k) as f64
}

/// Exact k-NN by brute force in float64: O(n^2 dim). Reference for tests.
pub fn knn_brute_force(rows: &EmbedRows, k: usize) -> Result<KnnGraph, EmbedError> {
    let n = rows.n_points;
    if k == 0 || k >= n {
        return Err(EmbedError::TooFewPoints {
            n_points: n,
            needed: k + 1,
        });
    }
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    let mut cand: Vec<(f64, u32)> = Vec::with_capacity(n);
    for i in 0..n {
        cand.clear();
        let a = rows.row(i);
        for j in 0..n {
            if j == i {
                continue;
            }
            let b = rows.row(j);
            let d: f64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| ((*x as f64) - (*y as f64)).powi(2))
                .sum();
            cand.push((d, j as u32));
        }
        cand.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        for &(d, j) in &cand[..k] {
            indices.push(j);
            distances.push(d.sqrt() as f32);
        }
    }
    Ok(KnnGraph {
        n_points: n,
        k,
        indices,
        distances,
        exact: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_rows(n: usize, dim: usize, seed: u64) -> EmbedRows {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let values = (0..n * dim).map(|_| rng.random::<f32>()).collect();
        EmbedRows::from_vec(n, dim, values).expect("finite")
    }

    #[test]
    fn auto_cap_is_an_eighth_of_the_rows_within_300_per_neighbour() {
        assert_eq!(
            default_max_candidates(20, AUTO_EXACT_MAX_POINTS),
            usize::MAX
        );
        // n / 8 below 300 k: unchanged by the per-neighbour cap.
        assert_eq!(default_max_candidates(20, 40_000), 5_000);
        assert_eq!(default_max_candidates(150, 300_000), 37_500);
        // 300 k below n / 8: the per-neighbour cap binds (UMAP's k at 300K rows).
        assert_eq!(default_max_candidates(20, 300_000), 6_000);
        assert_eq!(default_max_candidates(15, 1_000_000), 4_500);
        // The floors.
        assert_eq!(default_max_candidates(5, 11_000), 2_000);
        assert_eq!(default_max_candidates(150, 11_000), 3_750);
    }

    /// The exact search's graph is the brute force's: the same lists, distances within f32
    /// rounding.
    fn assert_matches_brute_force(rows: EmbedRows, k: usize, seed: u64) {
        let rows = Arc::new(rows);
        let reference = knn_brute_force(&rows, k).expect("enough rows");
        let graph = knn_graph(
            rows.clone(),
            KnnParams {
                k,
                seed,
                search: KnnSearch::Exact,
            },
        )
        .expect("valid");
        assert!(graph.exact);
        assert_eq!(graph.indices, reference.indices);
        for (a, b) in graph.distances.iter().zip(&reference.distances) {
            assert!((a - b).abs() <= 1e-5 * b.max(1.0), "{a} vs {b}");
        }
    }

    #[test]
    fn exact_search_matches_brute_force() {
        assert_matches_brute_force(random_rows(700, 9, 3), 12, 5);
    }

    /// `n` rows near a `latent`-dimensional subspace of `dim` dimensions (a low-rank signal
    /// plus a little noise, as activations are), every `dup_every`-th row a copy of the
    /// previous one (exact ties).
    fn low_rank_rows(
        n: usize,
        dim: usize,
        latent: usize,
        dup_every: usize,
        seed: u64,
    ) -> EmbedRows {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mixing: Vec<f32> = (0..latent * dim)
            .map(|_| rng.random::<f32>() - 0.5)
            .collect();
        let mut values = Vec::with_capacity(n * dim);
        for row in 0..n {
            if row > 0 && row % dup_every == 0 {
                values.extend_from_within((row - 1) * dim..row * dim);
                continue;
            }
            let z: Vec<f32> = (0..latent).map(|_| rng.random::<f32>() * 4.0).collect();
            for col in 0..dim {
                let signal: f32 = (0..latent).map(|l| z[l] * mixing[l * dim + col]).sum();
                values.push(signal + 0.01 * (rng.random::<f32>() - 0.5));
            }
        }
        EmbedRows::from_vec(n, dim, values).expect("finite")
    }

    #[test]
    fn projected_search_matches_brute_force() {
        // Above `PROJECT_ABOVE_DIM` dimensions: the partition and the scans on projected rows,
        // full distances only where the projection does not rule a pair out. Low-rank rows
        // (strong pruning, exact ties from duplicates) and uniform ones (a flat spectrum: weak
        // pruning) give the brute force's lists.
        let low_rank = low_rank_rows(1200, 160, 6, 7, 21);
        let uniform = random_rows(900, 140, 5);
        for rows in [&low_rank, &uniform] {
            assert!(rows.dim > PROJECT_ABOVE_DIM);
        }
        assert_matches_brute_force(low_rank, 15, 4);
        assert_matches_brute_force(uniform, 10, 4);
    }

    #[test]
    fn rows_too_large_to_project_are_searched_in_full() {
        // Finite values whose centred differences overflow f32: no projection, no panic.
        let (n, dim) = (300, 160);
        let values = (0..n * dim)
            .map(|i| {
                if (i / dim + i % 3) % 2 == 0 {
                    3.0e38
                } else {
                    -3.0e38
                }
            })
            .collect();
        let rows = Arc::new(EmbedRows::from_vec(n, dim, values).expect("finite"));
        let graph = knn_graph(rows, KnnParams::new(5)).expect("a graph");
        assert_eq!(graph.indices.len(), n * 5);
    }

    #[test]
    fn exact_when_a_query_needs_more_than_the_nearest_sorted_clusters() {
        // ~35 clusters of ~9 rows: 120 neighbours need many clusters in phase 1.
        let rows = Arc::new(random_rows(300, 5, 11));
        let reference = knn_brute_force(&rows, 120).expect("enough rows");
        let params = KnnParams {
            k: 120,
            seed: 1,
            search: KnnSearch::Exact,
        };
        let graph = knn_graph(rows.clone(), params).expect("valid");
        assert_eq!(graph.indices, reference.indices);
    }

    #[test]
    fn gathering_clusters_gives_the_copys_graph() {
        for rows in [random_rows(1500, 37, 8), random_rows(800, 140, 8)] {
            let rows = Arc::new(rows);
            for search in [
                KnnSearch::Exact,
                KnnSearch::Approximate {
                    max_candidates: 200,
                },
            ] {
                let params = KnnParams {
                    k: 9,
                    seed: 2,
                    search,
                };
                let copied = knn_graph(rows.clone(), params).expect("valid");
                let mut job = KnnJob::new(rows.clone(), params)
                    .expect("valid")
                    .with_copy_max_bytes(0);
                let gathered = crate::job::run_to_end(&mut job, |_| {}).expect("valid");
                assert_eq!(copied.indices, gathered.indices);
                let bits =
                    |g: &KnnGraph| g.distances.iter().map(|d| d.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&copied), bits(&gathered));
                assert_eq!(copied.exact, gathered.exact);
            }
        }
    }

    #[test]
    fn approximate_search_is_deterministic_and_close() {
        let rows = Arc::new(random_rows(2000, 6, 4));
        let params = KnnParams {
            k: 10,
            seed: 9,
            search: KnnSearch::Approximate {
                max_candidates: 300,
            },
        };
        let a = knn_graph(rows.clone(), params).expect("valid");
        let b = knn_graph(rows.clone(), params).expect("valid");
        assert_eq!(a, b);
        assert!(!a.exact);
        let exact = knn_brute_force(&rows, 10).expect("enough rows");
        let r = recall(&a, &exact);
        assert!(r > 0.8, "recall {r}");
        let estimated = estimate_recall(&rows, &a, 10, 200, 1);
        assert!((estimated - r).abs() < 0.05, "{estimated} vs {r}");
        // Lists are sorted and never contain the row itself.
        for row in 0..a.n_points {
            assert!(!a.neighbours(row).contains(&(row as u32)));
            assert!(a.neighbour_distances(row).windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn steps_are_bounded_and_report_progress() {
        let rows = Arc::new(random_rows(3000, 64, 5));
        let params = KnnParams {
            k: 5,
            seed: 1,
            search: KnnSearch::Approximate {
                max_candidates: 200,
            },
        };
        let mut job = KnnJob::new(rows, params).expect("valid");
        let mut steps = 0;
        let mut last_done = 0;
        loop {
            match job.step().expect("no error") {
                Step::Running(p) => {
                    assert!(p.done >= last_done && p.done <= p.total);
                    last_done = p.done;
                    steps += 1;
                }
                Step::Done(graph) => {
                    assert_eq!(graph.n_points, 3000);
                    break;
                }
            }
        }
        assert!(steps > 3, "{steps} steps");
    }

    #[test]
    fn parameter_errors() {
        let rows = Arc::new(random_rows(10, 2, 6));
        assert!(matches!(
            KnnJob::new(rows.clone(), KnnParams::new(0)),
            Err(EmbedError::InvalidParameter { .. })
        ));
        assert!(matches!(
            KnnJob::new(rows, KnnParams::new(10)),
            Err(EmbedError::TooFewPoints {
                n_points: 10,
                needed: 11
            })
        ));
    }

    #[test]
    fn heap_keeps_the_smallest_with_index_ties() {
        let mut heap = MaxHeap::new(3);
        for (d, i) in [(5.0, 0), (1.0, 1), (1.0, 7), (3.0, 2), (1.0, 4), (0.5, 9)] {
            heap.offer(d, i);
        }
        assert_eq!(heap.into_sorted(), vec![(0.5, 9), (1.0, 1), (1.0, 4)]);
    }
}
