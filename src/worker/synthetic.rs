//! Synthetic inputs generated in the worker, the same code as the native benchmarks:
//! activation-like datasets (`LoadSynthetic`: share links to synthetic data, and the mapper
//! benchmarks) and the seeded mapper-like graph laid out (`SyntheticGraph`: the page's
//! `?synthetic-graph=N`, which the rendering and layout benchmarks open).
//!
//! Both serve the app itself, so they are in every build; what only a benchmark asks for is in
//! `bench.rs`.

use topoact_core::dataset::{Dataset, Layer, Matrix};
use topoact_core::layout::synthetic::mapper_like_graph_with_counts;
use topoact_core::mapper::synth::activation_like;
use topoact_core::mapper::{graph_stats, MapperEdge, MapperGraph, MapperNode, ParamsRecord};

use super::graph::{drawn_graph, lay_out};
use super::io::DATASET_BUDGET_BYTES;
use super::runtime::{now_ms, Outcome};
use super::state;
use crate::protocol::{FromWorker, GraphRequest, RequestId, SubsampleChoice, WorkerError};
use crate::vocabulary::DatasetRef;

/// Most layers of a synthetic dataset.
const MAX_SYNTHETIC_LAYERS: usize = 16;

/// Largest synthetic graph (the `?synthetic-graph=` URL value is untrusted).
const MAX_SYNTHETIC_NODES: usize = 50_000;

/// `LoadSynthetic`: `n_layers` activation-like layers (seeds `seed`, `seed + 1`, ...; the
/// labels are the first layer's) as the new dataset. Sizes come from links, so they are
/// checked against the dataset budget before anything is allocated.
pub(super) async fn load_synthetic(
    request_id: RequestId,
    n_samples: usize,
    dim: usize,
    seed: u64,
    n_layers: usize,
) -> Outcome {
    let started_ms = now_ms();
    let n_layers = n_layers.clamp(1, MAX_SYNTHETIC_LAYERS);
    let max_values = DATASET_BUDGET_BYTES / std::mem::size_of::<f32>() as u64;
    let values = (n_samples as u64)
        .checked_mul(dim as u64)
        .and_then(|per_layer| per_layer.checked_mul(n_layers as u64));
    if n_samples == 0 || dim == 0 || values.is_none_or(|values| values > max_values) {
        return Err(WorkerError::SyntheticDataSize {
            n_samples,
            dim,
            n_layers,
            max_values,
        });
    }
    let (activations, labels, class_names) = activation_like(n_samples, dim, seed);
    let mut layers = vec![Layer {
        name: "synthetic".into(),
        activations: Matrix::F32(activations.into()),
    }];
    for layer_idx in 1..n_layers {
        let (activations, _, _) = activation_like(n_samples, dim, seed + layer_idx as u64);
        layers.push(Layer {
            name: format!("synthetic-{}", layer_idx + 1),
            activations: Matrix::F32(activations.into()),
        });
    }
    let dataset = Dataset {
        name: format!("synthetic activation-like {n_samples} x {dim} (seed {seed})"),
        layers,
        labels: Some(labels),
        class_names,
        ..Dataset::default()
    };
    let summary = dataset.summary();
    state::install_dataset(dataset);
    Ok(Some(FromWorker::Loaded {
        request_id,
        summary,
        elapsed_ms: now_ms() - started_ms,
        bytes_read: 0,
        source: DatasetRef::Synthetic {
            n_samples,
            dim,
            seed,
        },
    }))
}

/// `SyntheticGraph`: the seeded mapper-like graph, laid out, as a drawable graph: nodes
/// named `synthetic<i>` with their member counts, no members and no classes.
pub(super) async fn synthetic_graph(request_id: RequestId, n_nodes: usize, seed: u64) -> Outcome {
    if n_nodes == 0 || n_nodes > MAX_SYNTHETIC_NODES {
        return Err(WorkerError::SyntheticGraphSize {
            n_nodes,
            max_nodes: MAX_SYNTHETIC_NODES,
        });
    }
    let (input, member_counts) = mapper_like_graph_with_counts(n_nodes, seed);
    let nodes: Vec<MapperNode> = member_counts
        .iter()
        .enumerate()
        .map(|(node_id, &size)| MapperNode {
            node_id,
            name: format!("synthetic{node_id}"),
            cube_idx: 0,
            interval_idx: 0,
            cluster_idx: node_id,
            members: Vec::new(),
            size,
            lens_mean: node_id as f64 / n_nodes as f64,
            class_histogram: Vec::new(),
            top_classes: Vec::new(),
            mean_activation: Vec::new(),
        })
        .collect();
    let edges: Vec<MapperEdge> = input
        .edges
        .iter()
        .map(|e| MapperEdge {
            source: e.source,
            target: e.target,
            intersection: 1,
            jaccard: e.weight,
        })
        .collect();
    let n_samples: usize = member_counts.iter().sum();
    let stats = graph_stats(&nodes, &edges, n_samples);
    let Some((positions, layout_ms)) = lay_out(request_id, input).await? else {
        return Ok(None);
    };
    let request = GraphRequest {
        layer: format!("synthetic graph ({n_nodes} nodes, seed {seed})"),
        subsample: SubsampleChoice::default(),
        params: Default::default(),
    };
    let graph = MapperGraph {
        nodes,
        edges,
        stats,
        params: ParamsRecord::new(&Default::default(), None),
        intervals: Vec::new(),
        n_samples_used: n_samples,
        class_names: Vec::new(),
        lens_by_row: Vec::new(),
    };
    Ok(Some(FromWorker::Graph {
        request_id,
        graph: drawn_graph(request, graph, &positions, 0.0, layout_ms, None),
    }))
}
