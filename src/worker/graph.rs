//! Graphs in the worker: a layer's mapper graph laid out (warm-started from the previous
//! positions), its diagnostics, node glyphs, export as a file, a graph file opened (over the
//! data, or on its own), and the comparison of every layer.

use std::collections::HashMap;

use topoact_core::compare::{norm_distributions, row_norms};
use topoact_core::diagnostics::{lens_diagnostics, norm_diagnostics, NormDiagnostics};
use topoact_core::formats::graph_file::{import_graph, MAX_IMPORT_BYTES};
use topoact_core::formats::{ByteSource, NamedSource};
use topoact_core::job::{PartOfSequence, Progress};
use topoact_core::layout::{topoact_radii, LayoutEdge, LayoutInput, LayoutJob, LayoutParams};
use topoact_core::mapper::export::{to_kmapper_json, to_node_link_json};
use topoact_core::mapper::{MapperGraph, MapperJob, MapperParams};
use topoact_core::pipeline::mapper_input;

use super::images::mean_image_url;
use super::runtime::{
    compute_threads, is_cancelled, now_ms, post, run_job, yield_to_event_loop, Outcome,
};
use super::state::{self, with_dataset};
use crate::protocol::{
    Diagnostics, DrawnGraph, DrawnNode, FromWorker, GraphFileFormat, GraphRequest, LayerComparison,
    LayerStructure, RequestId, SubsampleChoice, WorkerError, IMPORTED_LAYER_PREFIX,
};
use crate::vocabulary::DatasetRef;

/// Bins of each layer's norm histogram in the layer comparison.
const COMPARISON_NORM_BINS: usize = 50;

/// Bins of the diagnostics histograms, and how many random vectors the norm chart draws.
const DIAGNOSTIC_BINS: usize = 60;
const DIAGNOSTIC_RANDOM_VECTORS: usize = 5_000;

/// Which dataset samples a graph's rows are.
struct GraphSamples {
    n_samples: usize,
    /// `sample_idx` of every row; `None`: row `i` is sample `i`.
    sample_indices: Option<Vec<u32>>,
}

impl GraphSamples {
    /// The graph's lens value of every dataset sample, NaN outside its subsample (see
    /// [`DrawnGraph::lens_by_sample`]).
    fn lens_by_sample(&self, lens_by_row: &[f64]) -> Vec<f32> {
        let mut values = vec![f32::NAN; self.n_samples];
        for (row_idx, &value) in lens_by_row.iter().enumerate() {
            let sample_idx = match &self.sample_indices {
                Some(samples) => samples.get(row_idx).map(|&s| s as usize),
                None => Some(row_idx),
            };
            if let Some(slot) = sample_idx.and_then(|s| values.get_mut(s)) {
                *slot = value as f32;
            }
        }
        values
    }
}

/// The mapper job of `request` on the loaded dataset, and the samples its rows are (the job
/// copies the rows it needs, so no borrow of the dataset outlives this call).
fn mapper_job(request: &GraphRequest) -> Result<(MapperJob, GraphSamples), WorkerError> {
    let params = request.params.clone().validate()?;
    with_dataset(|dataset| {
        let layer = state::layer(dataset, &request.layer)?;
        let sample_indices = state::samples_in_use(dataset, request.subsample);
        let input = mapper_input(dataset, layer, sample_indices.as_deref());
        let job = MapperJob::new(input, &params)?.with_step_threads(compute_threads());
        Ok((
            job,
            GraphSamples {
                n_samples: dataset.n_samples(),
                sample_indices,
            },
        ))
    })
}

/// Runs the mapper job of `request`; `Ok(None)` when cancelled.
async fn mapper_graph(
    request_id: RequestId,
    request: &GraphRequest,
) -> Result<Option<(MapperGraph, GraphSamples)>, WorkerError> {
    let (mut job, samples) = mapper_job(request)?;
    Ok(run_job(request_id, &mut job)
        .await?
        .map(|graph| (graph, samples)))
}

/// Lays `input` out; the positions and the milliseconds it took, `Ok(None)` when cancelled.
pub(super) async fn lay_out(
    request_id: RequestId,
    input: LayoutInput,
) -> Result<Option<(Vec<[f64; 2]>, f64)>, WorkerError> {
    let started_ms = now_ms();
    let mut job = LayoutJob::new(input, LayoutParams::default())?;
    Ok(run_job(request_id, &mut job)
        .await?
        .map(|layout| (layout.positions, now_ms() - started_ms)))
}

/// Tells the UI (and the benchmark page's stage clocks) that the graph's stage `stage` has
/// finished, as a job's progress does after each step.
fn post_stage_done(request_id: RequestId, stage: &str) {
    post(&FromWorker::Progress {
        request_id,
        progress: Progress::new(stage, 1, 1),
    });
}

/// `ComputeGraph`: the mapper graph of a layer, laid out, with its diagnostics.
pub(super) async fn compute_graph(
    request_id: RequestId,
    request: GraphRequest,
    previous_positions: Vec<(String, [f64; 2])>,
) -> Outcome {
    let started_ms = now_ms();
    let Some((graph, samples)) = mapper_graph(request_id, &request).await? else {
        return Ok(None);
    };
    state::keep_mapper_graph(&request, &graph);
    let mapper_ms = now_ms() - started_ms;
    post_stage_done(request_id, "finishing the mapper graph");
    let input = layout_input(&graph, &previous_positions);
    let Some((positions, layout_ms)) = lay_out(request_id, input).await? else {
        return Ok(None);
    };
    post_stage_done(request_id, "laying out the graph");
    let norms = cached_norms(&request);
    let norms_pending = norms.is_none();
    let diagnostics = Some(Diagnostics {
        lens: lens_diagnostics(&graph, DIAGNOSTIC_BINS),
        norms,
    });
    let lens_by_sample = samples.lens_by_sample(&graph.lens_by_row);
    let layer = request.layer.clone();
    let subsample = request.subsample;
    let mut drawn = drawn_graph(
        request,
        graph,
        &positions,
        mapper_ms,
        layout_ms,
        diagnostics,
    );
    drawn.lens_by_sample = lens_by_sample;
    super::columns::annotate_with_columns(&mut drawn)?;
    post_stage_done(request_id, "preparing the graph for drawing");
    let graph = FromWorker::Graph {
        request_id,
        graph: drawn,
    };
    if !norms_pending {
        return Ok(Some(graph));
    }
    // The graph is drawn while the layer's norms are summarised (a pass over every value
    // and 5,000 random vectors: 0.7 s at 300K x 1024 in the tab, 7 % of a 50K graph's time).
    post(&graph);
    let norms = layer_norms(&layer, subsample)?;
    Ok(Some(FromWorker::LayerNorms {
        request_id,
        layer,
        subsample,
        norms,
    }))
}

/// `CompareLayers`: the mapper graph of every layer (same samples and parameters, no
/// layout) and every layer's L2 norms on one axis.
pub(super) async fn compare_layers(
    request_id: RequestId,
    subsample: SubsampleChoice,
    params: MapperParams,
) -> Outcome {
    let started_ms = now_ms();
    let layer_dims: Vec<(String, usize)> = with_dataset(|dataset| {
        Ok(dataset
            .layers
            .iter()
            .map(|layer| (layer.name.clone(), layer.activations.n_cols()))
            .collect())
    })?;
    let count = layer_dims.len();
    let mut layers = Vec::with_capacity(count);
    let mut norms = Vec::with_capacity(count);
    for (index, (layer, dim)) in layer_dims.into_iter().enumerate() {
        let layer_started_ms = now_ms();
        let request = GraphRequest {
            layer: layer.clone(),
            subsample,
            params: params.clone(),
        };
        let (job, _) = mapper_job(&request)?;
        let mut part = PartOfSequence {
            job,
            index,
            count,
            label: layer.clone(),
        };
        let Some(graph) = run_job(request_id, &mut part).await? else {
            return Ok(None);
        };
        layers.push(LayerStructure {
            layer: layer.clone(),
            dim,
            stats: graph.stats,
            n_samples_used: graph.n_samples_used,
            mapper_ms: now_ms() - layer_started_ms,
        });
        let layer_norms = with_dataset(|dataset| {
            let sample_indices = state::samples_in_use(dataset, subsample);
            let activations = &state::layer(dataset, &layer)?.activations;
            Ok(row_norms(activations, sample_indices.as_deref()))
        })?;
        norms.push((layer, dim, layer_norms));
        yield_to_event_loop().await;
        if is_cancelled(request_id) {
            return Ok(None);
        }
    }
    Ok(Some(FromWorker::LayerComparison {
        request_id,
        comparison: LayerComparison {
            subsample,
            params,
            layers,
            norms: norm_distributions(&norms, COMPARISON_NORM_BINS),
            elapsed_ms: now_ms() - started_ms,
        },
    }))
}

/// `ExportGraph`: the graph of `request` as a file: the kept graph, else computed again
/// (deterministic).
pub(super) async fn export_graph(
    request_id: RequestId,
    request: GraphRequest,
    format: GraphFileFormat,
) -> Outcome {
    let graph = match state::kept_mapper_graph(&request) {
        Some(graph) => graph,
        None if request.layer.starts_with(IMPORTED_LAYER_PREFIX) => {
            return Err(WorkerError::ImportedGraphGone)
        }
        None => match mapper_graph(request_id, &request).await? {
            Some((graph, _)) => graph,
            None => return Ok(None),
        },
    };
    let stem = crate::format::file_stem(&request.layer);
    let (file_name, text) = match format {
        GraphFileFormat::Kmapper => (format!("{stem}-kmapper.json"), to_kmapper_json(&graph)),
        GraphFileFormat::NodeLink => (
            format!("{stem}-node-link.json"),
            to_node_link_json(&graph).to_string(),
        ),
    };
    Ok(Some(FromWorker::GraphFile {
        request_id,
        file_name,
        text,
    }))
}

/// A dropped graph file, laid out. When its members fit the loaded data it opens over it (its
/// classes derived from the data's labels if the file has none); otherwise, or without data,
/// it opens on its own and the data is closed (once the graph is ready: a cancelled import
/// changes nothing). `source` names the file (for share links).
pub(super) async fn import_graph_file<S: ByteSource>(
    request_id: RequestId,
    mut named: NamedSource<S>,
    source: DatasetRef,
) -> Outcome {
    let started_ms = now_ms();
    let file_name = named.file_name.clone();
    let size_bytes = named.source.len();
    if size_bytes > MAX_IMPORT_BYTES as u64 {
        return Err(WorkerError::GraphFileTooLarge {
            file_name,
            size_bytes,
            max_bytes: MAX_IMPORT_BYTES as u64,
        });
    }
    let mut bytes = vec![0u8; size_bytes as usize];
    named.source.read_at(0, &mut bytes)?;
    let mut imported = import_graph(&bytes).map_err(|err| WorkerError::NotAGraph {
        file_name: file_name.clone(),
        message: err.to_string(),
    })?;
    drop(bytes);
    let over_data = state::with_state(|state| -> Result<bool, WorkerError> {
        let Some(dataset) = state.dataset.as_ref() else {
            return Ok(false);
        };
        if imported.check_sample_count(dataset.n_samples()).is_err() {
            return Ok(false);
        }
        let has_classes = imported
            .nodes
            .iter()
            .any(|node| !node.top_classes.is_empty());
        if let (false, Some(labels)) = (has_classes, dataset.labels.as_ref()) {
            imported
                .derive_classes_from_labels(labels, &dataset.class_names)
                .map_err(|err| WorkerError::GraphDoesNotFit {
                    file_name: file_name.clone(),
                    message: err.to_string(),
                })?;
        }
        Ok(true)
    })?;
    let graph = imported.to_mapper_graph();
    let request = GraphRequest {
        layer: format!("{IMPORTED_LAYER_PREFIX}{file_name}"),
        subsample: SubsampleChoice::default(),
        params: Default::default(),
    };
    let mapper_ms = now_ms() - started_ms;
    let Some((positions, layout_ms)) = lay_out(request_id, layout_input(&graph, &[])).await? else {
        return Ok(None);
    };
    if !over_data {
        state::close_dataset();
    }
    state::keep_mapper_graph(&request, &graph);
    let graph = drawn_graph(request, graph, &positions, mapper_ms, layout_ms, None);
    // Over the data it is one more graph of it (answered as the graphs of its layers are).
    Ok(Some(if over_data {
        FromWorker::Graph { request_id, graph }
    } else {
        FromWorker::Imported {
            request_id,
            graph,
            source,
            over_data,
        }
    }))
}

/// `NodeGlyphs`: the averaged image of every node (activation images of the layer when the
/// file has them, else input thumbnails).
pub(super) fn node_glyphs(
    request_id: RequestId,
    layer: &str,
    graph_version: u64,
    members_of_nodes: &[Vec<u32>],
) -> Result<FromWorker, WorkerError> {
    with_dataset(|dataset| {
        let activation_images = dataset.activation_images.get(layer);
        let stack = activation_images.or(dataset.images.as_ref());
        let n_samples = dataset.n_samples();
        let images = members_of_nodes
            .iter()
            .map(|members| mean_image_url(stack?, members, n_samples))
            .collect();
        Ok(FromWorker::Glyphs {
            request_id,
            graph_version,
            images,
            from_activation_images: activation_images.is_some(),
        })
    })
}

/// The norm diagnostics of the request's layer and subsample if they were summarised
/// already (they do not depend on the mapper's parameters).
fn cached_norms(request: &GraphRequest) -> Option<NormDiagnostics> {
    state::with_state(|state| {
        state
            .norms
            .as_ref()
            .filter(|((layer, subsample), _)| {
                *layer == request.layer && *subsample == request.subsample
            })
            .map(|(_, norms)| norms.clone())
    })
}

/// Summarises the norms of `layer` over `subsample` and keeps them for the next graph.
fn layer_norms(layer: &str, subsample: SubsampleChoice) -> Result<NormDiagnostics, WorkerError> {
    let norms = with_dataset(|dataset| {
        let layer = state::layer(dataset, layer)?;
        let sample_indices = state::samples_in_use(dataset, subsample);
        Ok(norm_diagnostics(
            &layer.activations,
            sample_indices.as_deref(),
            DIAGNOSTIC_BINS,
            DIAGNOSTIC_RANDOM_VECTORS,
            0,
        ))
    })?;
    state::with_state_mut(|state| {
        state.norms = Some(((layer.to_string(), subsample), norms.clone()))
    });
    Ok(norms)
}

/// The layout's input: TopoAct's node radii, Jaccard-weighted edges, and the previous
/// position of every node that keeps its name.
pub(super) fn layout_input(
    graph: &MapperGraph,
    previous_positions: &[(String, [f64; 2])],
) -> LayoutInput {
    let sizes: Vec<usize> = graph.nodes.iter().map(|node| node.size).collect();
    let edges = graph
        .edges
        .iter()
        .map(|edge| LayoutEdge {
            source: edge.source,
            target: edge.target,
            weight: edge.jaccard,
        })
        .collect();
    let initial_positions = (!previous_positions.is_empty()).then(|| {
        let by_name: HashMap<&str, [f64; 2]> = previous_positions
            .iter()
            .map(|(name, position)| (name.as_str(), *position))
            .collect();
        graph
            .nodes
            .iter()
            .map(|node| by_name.get(node.name.as_str()).copied())
            .collect()
    });
    LayoutInput {
        node_radii: topoact_radii(&sizes),
        edges,
        initial_positions,
    }
}

/// The graph as the UI draws it (no activation vectors).
pub(super) fn drawn_graph(
    request: GraphRequest,
    graph: MapperGraph,
    positions: &[[f64; 2]],
    mapper_ms: f64,
    layout_ms: f64,
    diagnostics: Option<Diagnostics>,
) -> DrawnGraph {
    let sizes: Vec<usize> = graph.nodes.iter().map(|node| node.size).collect();
    let radii = topoact_radii(&sizes);
    let lens_range = graph
        .nodes
        .iter()
        .fold([f64::INFINITY, f64::NEG_INFINITY], |[lo, hi], node| {
            [lo.min(node.lens_mean), hi.max(node.lens_mean)]
        });
    let nodes = graph
        .nodes
        .into_iter()
        .zip(positions.iter().zip(radii))
        .map(|(node, (position, radius))| DrawnNode {
            name: node.name,
            size: node.size,
            lens_mean: node.lens_mean,
            top_classes: node.top_classes,
            members: node.members,
            position: *position,
            radius,
            columns: Vec::new(),
            mistakes: None,
        })
        .collect();
    DrawnGraph {
        request,
        diagnostics,
        nodes,
        edges: graph.edges,
        stats: graph.stats,
        eps_global: graph.params.eps_global,
        n_samples_used: graph.n_samples_used,
        lens_range: if lens_range[0].is_finite() {
            lens_range
        } else {
            [0.0, 1.0]
        },
        lens_by_sample: Vec::new(),
        class_names: graph.class_names,
        mapper_ms,
        layout_ms,
    }
}
