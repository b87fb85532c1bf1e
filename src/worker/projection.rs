//! Projections in the worker: rows in use -> k-NN graph (cached per layer and subsample,
//! shared by t-SNE and UMAP) -> t-SNE / UMAP job, streaming intermediate coordinates to the
//! UI, or the file's precomputed coordinates. Finished projections are cached per request.
//! The rows, the parameters and the job are set up as the native command sets them up
//! (`topoact_core::pipeline`).

use std::sync::Arc;

use topoact_core::dataset::{Dataset, ProjectionKind};
use topoact_core::embed::knn::{KnnJob, KnnParams};
use topoact_core::embed::preview::PreviewJob;
use topoact_core::embed::{EmbedRows, KnnGraph, ProgressiveEmbedding};
use topoact_core::pipeline::{EmbedMethod, EmbedSetup, ProjectionRows, UNLABELLED};

use super::runtime::{now_ms, post, run_job, run_job_observed, Outcome};
use super::state::{self, with_dataset, with_state, with_state_mut};
use crate::protocol::{
    coords_to_le_bytes, DrawnProjection, FromWorker, ProjectionMethod, ProjectionRequest,
    RequestId, SubsampleChoice, WorkerError,
};

/// How often a running projection sends its current coordinates.
const FRAME_EVERY_MS: f64 = 400.0;
/// Finished projections kept (each is 8 bytes per point plus indices).
const CACHED_PROJECTIONS: usize = 6;
/// Up to this many points the shared neighbour graph gets at least the neighbours t-SNE's
/// default perplexity needs (3 x 50), so switching between UMAP and t-SNE never recomputes
/// it. Above, UMAP's 19 neighbours cost several times less than 150, so each method asks
/// for what it needs and a larger cached graph is reused.
const SHARED_NEIGHBOURS: usize = 150;
const SHARED_NEIGHBOURS_MAX_POINTS: usize = 20_000;
/// From this many points a projection whose neighbour graph is not cached first sends a
/// preview frame (the rows on two principal axes, `topoact_core::embed::preview`): the
/// neighbour search takes seconds at 50K and minutes at 300K x 1024, the preview about a
/// second.
const PREVIEW_MIN_POINTS: usize = 20_000;
/// Stage named by the preview frame.
pub(crate) const PREVIEW_STAGE: &str = "preview: principal components (neighbour search running)";

/// The rows of one (layer, subsample) with what every frame carries about them.
#[derive(Clone)]
struct RowsInUse {
    rows: Arc<EmbedRows>,
    sample_indices: Vec<u32>,
    labels: Vec<u32>,
    norms: Vec<f32>,
}

/// The rows of one (layer, subsample) and, once computed, their neighbour graph.
struct NeighbourCache {
    key: (String, SubsampleChoice),
    rows: RowsInUse,
    /// The graph and the milliseconds it took.
    knn: Option<(Arc<KnnGraph>, f64)>,
}

/// What the worker keeps of projections (dropped with the dataset).
#[derive(Default)]
pub(super) struct ProjectionCache {
    neighbours: Option<NeighbourCache>,
    finished: Vec<DrawnProjection>,
}

impl ProjectionCache {
    /// Forgets everything computed from the previous dataset.
    pub fn clear(&mut self) {
        self.neighbours = None;
        self.finished.clear();
    }
}

/// `ComputeProjection`: runs `request` to the end (or cancellation), posting frames.
pub(super) async fn compute_projection(
    request_id: RequestId,
    request: ProjectionRequest,
) -> Outcome {
    let started_ms = now_ms();
    let answer = |projection| {
        Ok(Some(FromWorker::Projection {
            request_id,
            projection,
        }))
    };
    let finished = with_state(|s| {
        s.projections
            .finished
            .iter()
            .find(|p| p.request == request)
            .cloned()
    });
    if let Some(done) = finished {
        return answer(done);
    }
    let method = match request.method {
        ProjectionMethod::Precomputed { kind } => return answer(precomputed(&request, kind)?),
        ProjectionMethod::Tsne { perplexity } => EmbedMethod::Tsne { perplexity },
        ProjectionMethod::Umap {
            n_neighbors,
            min_dist,
        } => EmbedMethod::Umap {
            n_neighbors,
            min_dist,
        },
    };
    let setup = EmbedSetup {
        method,
        seed: request.seed,
    };
    let in_use = rows_for(&request)?;
    let n_points = in_use.rows.n_points;
    setup.validate(n_points)?;
    // Every frame of this request: the rows' constants with `coords` and what is known so far.
    let drawn = |coords: &[f32], complete: bool, stage: String, knn_ms: f64, knn_exact: bool| {
        DrawnProjection {
            request: request.clone(),
            sample_indices: in_use.sample_indices.clone(),
            labels: in_use.labels.clone(),
            coords_le: coords_to_le_bytes(coords),
            norms: in_use.norms.clone(),
            complete,
            stage,
            knn_ms,
            elapsed_ms: now_ms() - started_ms,
            knn_exact,
        }
    };
    let preview = |coords: &[f32]| {
        post(&FromWorker::ProjectionFrame {
            request_id,
            projection: drawn(coords, false, PREVIEW_STAGE.into(), 0.0, true),
        })
    };
    let Some((knn, knn_ms)) = neighbours(request_id, &setup, &in_use.rows, preview).await? else {
        return Ok(None);
    };
    let frame = |coords: &[f32], complete: bool, stage: String| {
        drawn(coords, complete, stage, knn_ms, knn.exact)
    };
    let mut job = setup.job(in_use.rows.clone(), knn.clone())?;
    // The first frame goes out as soon as the job has coordinates (its start), then one
    // every FRAME_EVERY_MS: the clock starts at the first frame, not at the job's creation.
    let mut last_frame_ms: Option<f64> = None;
    let embedding = run_job_observed(request_id, &mut job, |job, progress| {
        let now = now_ms();
        if last_frame_ms.is_none_or(|last| now - last >= FRAME_EVERY_MS) {
            if let Some(coords) = job.current() {
                post(&FromWorker::ProjectionFrame {
                    request_id,
                    projection: frame(coords, false, progress.stage.clone()),
                });
                last_frame_ms = Some(now);
            }
        }
    })
    .await?;
    let Some(embedding) = embedding else {
        return Ok(None);
    };
    let done = frame(&embedding.coords, true, "done".into());
    with_state_mut(|s| {
        let finished = &mut s.projections.finished;
        finished.push(done.clone());
        if finished.len() > CACHED_PROJECTIONS {
            finished.remove(0);
        }
    });
    answer(done)
}

/// The neighbour graph for `setup` on `rows`: the cached one when it holds enough neighbours,
/// else computed (and cached), after a preview of the rows handed to `preview` when there
/// are at least [`PREVIEW_MIN_POINTS`]. `Ok(None)` when cancelled.
async fn neighbours(
    request_id: RequestId,
    setup: &EmbedSetup,
    rows: &Arc<EmbedRows>,
    preview: impl FnOnce(&[f32]),
) -> Result<Option<(Arc<KnnGraph>, f64)>, WorkerError> {
    let n_points = rows.n_points;
    let needed = setup.neighbours_needed(n_points);
    let wanted = if n_points <= SHARED_NEIGHBOURS_MAX_POINTS {
        needed.max(SHARED_NEIGHBOURS)
    } else {
        needed
    };
    let k = wanted.min(n_points.saturating_sub(1));
    let cached = with_state(|s| {
        s.projections
            .neighbours
            .as_ref()
            .and_then(|cache| cache.knn.clone())
    });
    if let Some(hit) = cached.filter(|(graph, _)| graph.k >= needed.min(k)) {
        return Ok(Some(hit));
    }
    if n_points >= PREVIEW_MIN_POINTS {
        let mut job = PreviewJob::new(rows.clone(), 0)?;
        let Some(coords) = run_job(request_id, &mut job).await? else {
            return Ok(None);
        };
        preview(&coords);
    }
    let started_ms = now_ms();
    // Seed 0 whatever the projection's seed: the graph is shared by every projection of
    // these rows.
    let mut job = KnnJob::new(rows.clone(), KnnParams::new(k))?;
    let Some(graph) = run_job(request_id, &mut job).await? else {
        return Ok(None);
    };
    let knn_ms = now_ms() - started_ms;
    let graph = Arc::new(graph);
    with_state_mut(|s| {
        if let Some(cache) = s.projections.neighbours.as_mut() {
            cache.knn = Some((graph.clone(), knn_ms));
        }
    });
    Ok(Some((graph, knn_ms)))
}

/// The rows, sample indices, labels and norms of the request's (layer, subsample), cached.
fn rows_for(request: &ProjectionRequest) -> Result<RowsInUse, WorkerError> {
    let key = (request.layer.clone(), request.subsample);
    let cached = with_state(|s| {
        s.projections
            .neighbours
            .as_ref()
            .filter(|cache| cache.key == key)
            .map(|cache| cache.rows.clone())
    });
    if let Some(hit) = cached {
        return Ok(hit);
    }
    let rows = with_dataset(|dataset| {
        let layer = state::layer(dataset, &request.layer)?;
        let subset = state::samples_in_use(dataset, request.subsample);
        let gathered = ProjectionRows::gather(&layer.activations, subset)?;
        Ok(RowsInUse {
            labels: gathered.labels(dataset.labels.as_deref()),
            norms: gathered.norms(),
            rows: gathered.rows,
            sample_indices: gathered.sample_indices,
        })
    })?;
    with_state_mut(|s| {
        s.projections.neighbours = Some(NeighbourCache {
            key,
            rows: rows.clone(),
            knn: None,
        })
    });
    Ok(rows)
}

fn labels_of(dataset: &Dataset, sample_indices: &[u32]) -> Vec<u32> {
    let labels = dataset.labels.as_deref();
    sample_indices
        .iter()
        .map(|&s| {
            labels
                .and_then(|labels| labels.get(s as usize).copied())
                .unwrap_or(UNLABELLED)
        })
        .collect()
}

/// The file's own coordinates for the layer, for the samples in use.
fn precomputed(
    request: &ProjectionRequest,
    kind: ProjectionKind,
) -> Result<DrawnProjection, WorkerError> {
    with_dataset(|dataset| {
        let layer = state::layer(dataset, &request.layer)?;
        let coords = dataset
            .projections
            .get(&(request.layer.clone(), kind))
            .ok_or_else(|| WorkerError::NoPrecomputed {
                method: request.method.label(),
                layer: request.layer.clone(),
            })?;
        let subset = state::samples_in_use(dataset, request.subsample);
        let sample_indices: Vec<u32> =
            subset.unwrap_or_else(|| (0..dataset.n_samples() as u32).collect());
        let mut flat = Vec::with_capacity(sample_indices.len() * 2);
        let mut row = vec![0f32; layer.activations.n_cols()];
        let mut norms = Vec::with_capacity(sample_indices.len());
        for &sample_idx in &sample_indices {
            let s = sample_idx as usize;
            flat.push(coords[[s, 0]]);
            flat.push(coords[[s, 1]]);
            layer.activations.row_into_f32(s, &mut row);
            norms.push(row.iter().map(|v| v * v).sum::<f32>().sqrt());
        }
        Ok(DrawnProjection {
            request: request.clone(),
            labels: labels_of(dataset, &sample_indices),
            sample_indices,
            coords_le: coords_to_le_bytes(&flat),
            norms,
            complete: true,
            stage: "from the file".into(),
            knn_ms: 0.0,
            elapsed_ms: 0.0,
            knn_exact: true,
        })
    })
}
