//! What only the in-browser benchmarks use (feature `bench`: `TOPOACT_BENCH=1 tools/build.sh`,
//! which `tools/bench.sh` runs; the default build does not link this module).
//!
//! - `MeasureLayout`, in the worker: the core's quality measures (stress, overlaps,
//!   crossings) of any drawing of the synthetic graph, ours or d3-force's.
//! - The benchmark page's protocol client: `public/bench.js` loads this wasm module on the page
//!   and builds every request it sends with the `bench*` functions below (from [`ToWorker`]
//!   and the core's parameter types), and reads every answer with [`read_answer`] (from
//!   [`FromWorker`]) into the few figures it reports. A change of the protocol therefore
//!   breaks this build, not the benchmark.

use js_sys::Array;
use serde::Serialize;
use topoact_core::layout::synthetic::mapper_like_graph_with_counts;
use topoact_core::layout::{measure_quality, LayoutQuality};
use topoact_core::mapper::{CoverKind, MapperParams};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::File;

use crate::protocol::{
    FailureKind, FromWorker, GraphRequest, ProjectionMethod, ProjectionRequest, RequestId,
    SubsampleChoice, ToWorker,
};

/// Stress sources of the layout benchmark's quality measure (as the native comparison).
const LAYOUT_STRESS_SOURCES: usize = 200;

/// `MeasureLayout`: the quality of `positions` as a drawing of the seeded synthetic graph.
pub(super) fn measure_layout(
    request_id: RequestId,
    n_nodes: usize,
    seed: u64,
    positions: &[[f64; 2]],
) -> FromWorker {
    let (input, _) = mapper_like_graph_with_counts(n_nodes, seed);
    FromWorker::LayoutMeasured {
        request_id,
        quality: measure_quality(&input, positions, LAYOUT_STRESS_SOURCES),
    }
}

fn encode(request: ToWorker, files: &[File]) -> Result<JsValue, JsError> {
    crate::worker_client::encode(&request, files).map_err(|err| JsError::new(&err))
}

fn subsample(size: Option<u32>) -> SubsampleChoice {
    SubsampleChoice {
        size: size.map(|size| size as usize),
        seed: 0,
    }
}

/// [`MapperParams::benchmark`] with `cover` named `uniform` or `balanced`.
fn mapper_params(cover: &str) -> Result<MapperParams, JsError> {
    let cover = match cover {
        "uniform" => CoverKind::Uniform,
        "balanced" => CoverKind::Balanced,
        other => return Err(JsError::new(&format!("unknown cover '{other}'"))),
    };
    Ok(MapperParams::benchmark(cover))
}

/// `LoadFiles` with `files` (an array of `File`s) attached.
#[wasm_bindgen(js_name = benchLoadFiles)]
pub fn load_files(request_id: u32, files: Array) -> Result<JsValue, JsError> {
    let files: Vec<File> = files
        .iter()
        .map(|item| item.dyn_into::<File>())
        .collect::<Result<_, _>>()
        .map_err(|_| JsError::new("benchLoadFiles takes an array of File objects"))?;
    encode(
        ToWorker::LoadFiles {
            request_id: request_id.into(),
            drop_nonfinite: false,
        },
        &files,
    )
}

/// `LoadSynthetic`: `n_layers` activation-like layers of `n_samples x dim`.
#[wasm_bindgen(js_name = benchLoadSynthetic)]
pub fn load_synthetic(
    request_id: u32,
    n_samples: usize,
    dim: usize,
    seed: u32,
    n_layers: usize,
) -> Result<JsValue, JsError> {
    encode(
        ToWorker::LoadSynthetic {
            request_id: request_id.into(),
            n_samples,
            dim,
            seed: seed.into(),
            n_layers,
        },
        &[],
    )
}

/// `ComputeGraph` of `layer` with [`mapper_params`] on the first `subsample_size` samples of
/// the seed-0 order (`undefined`: the app's default size), no previous positions.
#[wasm_bindgen(js_name = benchComputeGraph)]
pub fn compute_graph(
    request_id: u32,
    layer: String,
    subsample_size: Option<u32>,
    cover: &str,
) -> Result<JsValue, JsError> {
    encode(
        ToWorker::ComputeGraph {
            request_id: request_id.into(),
            request: GraphRequest {
                layer,
                subsample: subsample(subsample_size),
                params: mapper_params(cover)?,
            },
            previous_positions: Vec::new(),
        },
        &[],
    )
}

/// `CompareLayers` with [`mapper_params`] (uniform cover).
#[wasm_bindgen(js_name = benchCompareLayers)]
pub fn compare_layers(request_id: u32, subsample_size: Option<u32>) -> Result<JsValue, JsError> {
    encode(
        ToWorker::CompareLayers {
            request_id: request_id.into(),
            subsample: subsample(subsample_size),
            params: mapper_params("uniform")?,
        },
        &[],
    )
}

/// `SyntheticGraph`: the seeded mapper-like graph of `n_nodes`, laid out.
#[wasm_bindgen(js_name = benchSyntheticGraph)]
pub fn synthetic_graph(request_id: u32, n_nodes: usize, seed: u32) -> Result<JsValue, JsError> {
    encode(
        ToWorker::SyntheticGraph {
            request_id: request_id.into(),
            n_nodes,
            seed: seed.into(),
        },
        &[],
    )
}

/// `MeasureLayout` of a drawing given as interleaved x, y.
#[wasm_bindgen(js_name = benchMeasureLayout)]
pub fn measure_layout_request(
    request_id: u32,
    n_nodes: usize,
    seed: u32,
    positions_xy: Vec<f64>,
) -> Result<JsValue, JsError> {
    if positions_xy.len() != 2 * n_nodes {
        return Err(JsError::new(&format!(
            "{n_nodes} nodes need {} coordinates, got {}",
            2 * n_nodes,
            positions_xy.len()
        )));
    }
    let positions = positions_xy
        .chunks_exact(2)
        .map(|xy| [xy[0], xy[1]])
        .collect();
    encode(
        ToWorker::MeasureLayout {
            request_id: request_id.into(),
            n_nodes,
            seed: seed.into(),
            positions,
        },
        &[],
    )
}

/// `ComputeProjection` of `layer` with TopoAct's settings: `umap` (20 neighbours, min_dist
/// 0.01) or `tsne` (perplexity 50), seed 0.
#[wasm_bindgen(js_name = benchComputeProjection)]
pub fn compute_projection(
    request_id: u32,
    layer: String,
    subsample_size: Option<u32>,
    method: &str,
) -> Result<JsValue, JsError> {
    let method = match method {
        "umap" => ProjectionMethod::DEFAULT_UMAP,
        "tsne" => ProjectionMethod::DEFAULT_TSNE,
        other => return Err(JsError::new(&format!("unknown projection '{other}'"))),
    };
    encode(
        ToWorker::ComputeProjection {
            request_id: request_id.into(),
            request: ProjectionRequest {
                layer,
                subsample: subsample(subsample_size),
                method,
                seed: 0,
            },
        },
        &[],
    )
}

/// An answer as the benchmark page reads it.
#[derive(Serialize)]
#[serde(tag = "type")]
enum BenchAnswer {
    Ready {
        compute_threads: usize,
    },
    Progress {
        request_id: RequestId,
        stage: String,
    },
    Frame {
        request_id: RequestId,
        /// The frame's stage (the preview's names itself as one).
        stage: String,
    },
    Loaded {
        request_id: RequestId,
        elapsed_ms: f64,
        n_samples: usize,
        layers: Vec<String>,
    },
    Graph {
        request_id: RequestId,
        mapper_ms: f64,
        layout_ms: f64,
        n_nodes: usize,
        n_edges: usize,
        eps_global: Option<f64>,
        positions: Vec<[f64; 2]>,
        links: Vec<[usize; 2]>,
        /// The layer's norms follow in a `LayerNorms` answer to the same request.
        norms_pending: bool,
    },
    Projection {
        request_id: RequestId,
        elapsed_ms: f64,
        knn_ms: f64,
        knn_exact: bool,
    },
    LayoutMeasured {
        request_id: RequestId,
        quality: LayoutQuality,
    },
    LayerComparison {
        request_id: RequestId,
        n_nodes: Vec<usize>,
    },
    Failed {
        request_id: Option<RequestId>,
        kind: FailureKind,
        message: String,
    },
    /// Any other answer, by its protocol name.
    Other {
        request_id: Option<RequestId>,
        answer: &'static str,
    },
}

/// Reads a worker answer (checking it is a [`FromWorker`]) into the figures the benchmark
/// page reports: `{type, request_id, ...}` as [`BenchAnswer`] names them.
#[wasm_bindgen(js_name = benchReadAnswer)]
pub fn read_answer(message: JsValue) -> Result<JsValue, JsError> {
    let answer: FromWorker = serde_wasm_bindgen::from_value(message)
        .map_err(|err| JsError::new(&format!("not a worker answer: {err}")))?;
    let read = match answer {
        FromWorker::Ready { compute_threads } => BenchAnswer::Ready { compute_threads },
        FromWorker::Progress {
            request_id,
            progress,
        } => BenchAnswer::Progress {
            request_id,
            stage: progress.stage,
        },
        FromWorker::ProjectionFrame {
            request_id,
            projection,
        } => BenchAnswer::Frame {
            request_id,
            stage: projection.stage,
        },
        FromWorker::Loaded {
            request_id,
            summary,
            elapsed_ms,
            ..
        } => BenchAnswer::Loaded {
            request_id,
            elapsed_ms,
            n_samples: summary.n_samples,
            layers: summary.layers.into_iter().map(|layer| layer.name).collect(),
        },
        FromWorker::Graph { request_id, graph } => BenchAnswer::Graph {
            request_id,
            mapper_ms: graph.mapper_ms,
            layout_ms: graph.layout_ms,
            n_nodes: graph.stats.n_nodes,
            n_edges: graph.stats.n_edges,
            eps_global: graph.eps_global,
            positions: graph.nodes.iter().map(|node| node.position).collect(),
            links: graph
                .edges
                .iter()
                .map(|edge| [edge.source, edge.target])
                .collect(),
            norms_pending: graph
                .diagnostics
                .as_ref()
                .is_some_and(|d| d.norms.is_none()),
        },
        FromWorker::Projection {
            request_id,
            projection,
        } => BenchAnswer::Projection {
            request_id,
            elapsed_ms: projection.elapsed_ms,
            knn_ms: projection.knn_ms,
            knn_exact: projection.knn_exact,
        },
        FromWorker::LayoutMeasured {
            request_id,
            quality,
        } => BenchAnswer::LayoutMeasured {
            request_id,
            quality,
        },
        FromWorker::LayerComparison {
            request_id,
            comparison,
        } => BenchAnswer::LayerComparison {
            request_id,
            n_nodes: comparison
                .layers
                .iter()
                .map(|layer| layer.stats.n_nodes)
                .collect(),
        },
        FromWorker::Failed { request_id, error } => BenchAnswer::Failed {
            request_id: Some(request_id),
            kind: error.kind(),
            message: error.to_string(),
        },
        FromWorker::CouldNotStart { reason } => BenchAnswer::Failed {
            request_id: None,
            kind: FailureKind::Internal,
            message: format!("The compute worker could not start: {reason}"),
        },
        FromWorker::Cancelled { request_id } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "Cancelled",
        },
        FromWorker::Imported { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "Imported",
        },
        FromWorker::LayerNorms { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "LayerNorms",
        },
        FromWorker::Glyphs { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "Glyphs",
        },
        FromWorker::Examples { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "Examples",
        },
        FromWorker::GraphFile { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "GraphFile",
        },
        FromWorker::Thumbnail { .. } => BenchAnswer::Other {
            request_id: None,
            answer: "Thumbnail",
        },
        FromWorker::Neighbours { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "Neighbours",
        },
        FromWorker::SampleValues { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "SampleValues",
        },
        FromWorker::TextFile { request_id, .. } => BenchAnswer::Other {
            request_id: Some(request_id),
            answer: "TextFile",
        },
    };
    let serializer = crate::protocol::boundary_serializer();
    read.serialize(&serializer)
        .map_err(|err| JsError::new(&format!("cannot encode the answer: {err}")))
}
