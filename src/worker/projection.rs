//! Projections in the worker: rows in use -> k-NN graph (cached per layer and subsample,
//! shared by t-SNE and UMAP) -> t-SNE / UMAP job, streaming intermediate coordinates to the
//! UI, or the file's precomputed coordinates. Finished projections are cached per request.

use std::sync::Arc;

use topoact_core::dataset::{Dataset, ProjectionKind};
use topoact_core::embed::knn::{KnnJob, KnnParams};
use topoact_core::embed::tsne::{TsneJob, TsneParams};
use topoact_core::embed::umap::{UmapJob, UmapParams};
use topoact_core::embed::{EmbedError, EmbedRows, Embedding, KnnGraph, ProgressiveEmbedding};

use super::{
    find_layer, now_ms, post, run_job, run_job_observed, samples_in_use, NO_DATASET, STATE,
};
use crate::protocol::{
    coords_to_le_bytes, DrawnProjection, FromWorker, ProjectionMethod, ProjectionRequest,
    RequestId, SubsampleChoice,
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

/// The rows of one (layer, subsample) and, once computed, their neighbour graph.
pub(super) struct NeighbourCache {
    key: (String, SubsampleChoice),
    rows: Arc<EmbedRows>,
    sample_indices: Vec<u32>,
    labels: Vec<u32>,
    norms: Vec<f32>,
    knn: Option<(Arc<KnnGraph>, f64)>,
}

#[derive(Default)]
pub(super) struct ProjectionState {
    pub running: Option<RequestId>,
    pub neighbours: Option<NeighbourCache>,
    pub finished: Vec<DrawnProjection>,
}

impl ProjectionState {
    /// Forgets everything computed from the previous dataset.
    pub fn clear(&mut self) -> Option<RequestId> {
        self.neighbours = None;
        self.finished.clear();
        self.running.take()
    }
}

fn embed_message(err: EmbedError) -> String {
    format!("The projection could not be computed: {err}")
}

/// Runs `request` to the end (or cancellation), posting frames and the final answer.
pub(super) async fn compute_projection(
    request_id: RequestId,
    request: ProjectionRequest,
) -> Result<Option<DrawnProjection>, String> {
    let started_ms = now_ms();
    if let Some(done) = STATE.with_borrow(|s| {
        s.projections
            .finished
            .iter()
            .find(|p| p.request == request)
            .cloned()
    }) {
        return Ok(Some(done));
    }
    if let ProjectionMethod::Precomputed { kind } = request.method {
        return precomputed(&request, kind).map(Some);
    }
    let (rows, sample_indices, labels, norms) = rows_for(&request)?;
    let needed = match request.method {
        ProjectionMethod::Tsne { perplexity } => TsneParams {
            perplexity,
            ..TsneParams::default()
        }
        .neighbours_needed_for(rows.n_points),
        ProjectionMethod::Umap { n_neighbors, .. } => n_neighbors.saturating_sub(1),
        ProjectionMethod::Precomputed { .. } => 0,
    };
    let wanted = if rows.n_points <= SHARED_NEIGHBOURS_MAX_POINTS {
        needed.max(SHARED_NEIGHBOURS)
    } else {
        needed
    };
    let k = wanted.min(rows.n_points.saturating_sub(1));
    let cached = STATE.with_borrow(|s| {
        s.projections
            .neighbours
            .as_ref()
            .and_then(|c| c.knn.clone())
    });
    let (knn, knn_ms) = match cached.filter(|(graph, _)| graph.k >= needed.min(k)) {
        Some(hit) => hit,
        None => {
            let knn_started = now_ms();
            let mut job = KnnJob::new(rows.clone(), KnnParams::new(k)).map_err(embed_message)?;
            let Some(graph) = run_job(request_id, &mut job).await.map_err(embed_message)? else {
                return Ok(None);
            };
            let knn_ms = now_ms() - knn_started;
            let graph = Arc::new(graph);
            STATE.with_borrow_mut(|s| {
                if let Some(cache) = s.projections.neighbours.as_mut() {
                    cache.knn = Some((graph.clone(), knn_ms));
                }
            });
            (graph, knn_ms)
        }
    };
    let frame = |coords: &[f32], complete: bool, stage: String| DrawnProjection {
        request: request.clone(),
        sample_indices: sample_indices.clone(),
        labels: labels.clone(),
        coords_le: coords_to_le_bytes(coords),
        norms: norms.clone(),
        complete,
        stage,
        knn_ms,
        elapsed_ms: now_ms() - started_ms,
        knn_exact: knn.exact,
    };
    let embedding = match request.method {
        ProjectionMethod::Tsne { perplexity } => {
            let params = TsneParams {
                perplexity,
                seed: request.seed,
                ..TsneParams::default()
            };
            let mut job = TsneJob::new(rows, knn.clone(), params).map_err(embed_message)?;
            run_progressive(request_id, &mut job, |coords, stage| {
                post(&FromWorker::ProjectionFrame {
                    request_id,
                    projection: frame(coords, false, stage),
                })
            })
            .await
        }
        ProjectionMethod::Umap {
            n_neighbors,
            min_dist,
        } => {
            let params = UmapParams {
                n_neighbors,
                min_dist,
                seed: request.seed,
                ..UmapParams::default()
            };
            let mut job = UmapJob::new(rows, knn.clone(), params).map_err(embed_message)?;
            run_progressive(request_id, &mut job, |coords, stage| {
                post(&FromWorker::ProjectionFrame {
                    request_id,
                    projection: frame(coords, false, stage),
                })
            })
            .await
        }
        ProjectionMethod::Precomputed { .. } => unreachable!("handled above"),
    }
    .map_err(embed_message)?;
    let Some(embedding) = embedding else {
        return Ok(None);
    };
    let done = frame(&embedding.coords, true, "done".into());
    STATE.with_borrow_mut(|s| {
        let finished = &mut s.projections.finished;
        finished.push(done.clone());
        if finished.len() > CACHED_PROJECTIONS {
            finished.remove(0);
        }
    });
    Ok(Some(done))
}

/// The rows, sample indices, labels and norms of the request's (layer, subsample), cached.
fn rows_for(
    request: &ProjectionRequest,
) -> Result<(Arc<EmbedRows>, Vec<u32>, Vec<u32>, Vec<f32>), String> {
    let key = (request.layer.clone(), request.subsample);
    if let Some(hit) = STATE.with_borrow(|s| {
        s.projections
            .neighbours
            .as_ref()
            .filter(|c| c.key == key)
            .map(|c| {
                (
                    c.rows.clone(),
                    c.sample_indices.clone(),
                    c.labels.clone(),
                    c.norms.clone(),
                )
            })
    }) {
        return Ok(hit);
    }
    let cache = STATE.with_borrow(|s| {
        let dataset = s.dataset.as_ref().ok_or(NO_DATASET)?;
        let layer = find_layer(dataset, &request.layer)?;
        let subset = samples_in_use(dataset, request.subsample);
        let rows =
            EmbedRows::gather(&layer.activations, subset.as_deref()).map_err(embed_message)?;
        let sample_indices: Vec<u32> =
            subset.unwrap_or_else(|| (0..dataset.n_samples() as u32).collect());
        let labels = labels_of(dataset, &sample_indices);
        let norms = (0..rows.n_points)
            .map(|row| rows.row(row).iter().map(|v| v * v).sum::<f32>().sqrt())
            .collect();
        Ok::<_, String>(NeighbourCache {
            key,
            rows: Arc::new(rows),
            sample_indices,
            labels,
            norms,
            knn: None,
        })
    })?;
    let answer = (
        cache.rows.clone(),
        cache.sample_indices.clone(),
        cache.labels.clone(),
        cache.norms.clone(),
    );
    STATE.with_borrow_mut(|s| s.projections.neighbours = Some(cache));
    Ok(answer)
}

fn labels_of(dataset: &Dataset, sample_indices: &[u32]) -> Vec<u32> {
    match &dataset.labels {
        Some(labels) => sample_indices
            .iter()
            .map(|&s| labels.get(s as usize).copied().unwrap_or(u32::MAX))
            .collect(),
        None => vec![u32::MAX; sample_indices.len()],
    }
}

/// The file's own coordinates for the layer, for the samples in use.
fn precomputed(
    request: &ProjectionRequest,
    kind: ProjectionKind,
) -> Result<DrawnProjection, String> {
    STATE.with_borrow(|s| {
        let dataset = s.dataset.as_ref().ok_or(NO_DATASET)?;
        let layer = find_layer(dataset, &request.layer)?;
        let core_kind = match kind {
            ProjectionKind::Tsne => ProjectionKind::Tsne,
            ProjectionKind::Umap => ProjectionKind::Umap,
        };
        let coords = dataset.projections.get(&(request.layer.clone(), core_kind)).ok_or_else(|| {
            format!("The file has no precomputed {} coordinates for layer '{}'; compute them here instead.", request.method.label(), request.layer)
        })?;
        let subset = samples_in_use(dataset, request.subsample);
        let sample_indices: Vec<u32> = subset.unwrap_or_else(|| (0..dataset.n_samples() as u32).collect());
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

/// [`run_job_observed`] for a projection, handing its current coordinates to `on_frame`
/// every [`FRAME_EVERY_MS`].
async fn run_progressive<J: ProgressiveEmbedding>(
    request_id: RequestId,
    job: &mut J,
    mut on_frame: impl FnMut(&[f32], String),
) -> Result<Option<Embedding>, EmbedError> {
    let mut last_frame_ms = now_ms();
    run_job_observed(request_id, job, |job, progress| {
        let now = now_ms();
        if now - last_frame_ms >= FRAME_EVERY_MS {
            if let Some(coords) = job.current() {
                on_frame(coords, progress.stage.clone());
                last_frame_ms = now;
            }
        }
    })
    .await
}
