//! What the worker computed: caches keyed by the request that made them, and what each view
//! shows of them. Nothing here is a setting: dropping all of it and recomputing from the
//! session gives the same views.

use crate::protocol::{
    DrawnGraph, DrawnProjection, GraphRequest, LayerComparison, NodeExamples, SampleNeighbour,
    SampleValues,
};
use crate::vocabulary::SubsampleChoice;
use topoact_core::diagnostics::NormDiagnostics;

/// Graphs kept for reuse (a layer shown again with the same parameters is not recomputed).
pub const GRAPH_CACHE_SIZE: usize = 12;

/// Which graph a view shows: the single-layer graph, or one of the multilayer row's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GraphSlot {
    Main,
    /// Position in the multilayer row (0, 1, 2).
    Layer(usize),
}

/// Results of computations, and what the views show of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Results {
    /// Recently computed graphs, newest last.
    pub graph_cache: Vec<DrawnGraph>,
    /// The single-layer view's graph (kept on screen while the next one is computed).
    pub graph: Option<DrawnGraph>,
    /// Bumped whenever `graph` is replaced, so views can redraw on that alone.
    pub graph_version: u64,
    /// The multilayer row's graph at each position (kept while a new one is computed).
    pub row_graphs: Vec<Option<DrawnGraph>>,
    /// Bumped when the graph at that position is replaced.
    pub row_versions: Vec<u64>,
    /// Averaged image per node of the single-layer graph with that `graph_version`.
    pub glyphs: Option<(u64, Vec<Option<String>>)>,
    /// Examples of the selected node, once the worker sent them.
    pub examples: Option<NodeExamples>,
    /// The projection on screen (an intermediate frame while one is computed).
    pub projection: Option<DrawnProjection>,
    /// Bumped whenever `projection` changes.
    pub projection_version: u64,
    /// The last hovered point's thumbnail (sample index, `data:` URL).
    pub hover_thumbnail: Option<(u32, Option<String>)>,
    /// Examples of the projection selection's top classes.
    pub selection_examples: Option<NodeExamples>,
    /// Every layer's structure for one set of parameters (the comparison panel).
    pub comparison: Option<LayerComparison>,
    /// The nearest neighbours of one sample: (layer, sample_idx, nearest first).
    pub neighbours: Option<(String, u32, Vec<SampleNeighbour>)>,
    /// One value per sample of the column the projection's points are coloured by.
    pub sample_values: Option<SampleValues>,
}

impl Results {
    /// The graph a view shows.
    pub fn graph_at(&self, slot: GraphSlot) -> Option<&DrawnGraph> {
        match slot {
            GraphSlot::Main => self.graph.as_ref(),
            GraphSlot::Layer(position) => self.row_graphs.get(position)?.as_ref(),
        }
    }

    pub fn graph_at_mut(&mut self, slot: GraphSlot) -> Option<&mut DrawnGraph> {
        match slot {
            GraphSlot::Main => self.graph.as_mut(),
            GraphSlot::Layer(position) => self.row_graphs.get_mut(position)?.as_mut(),
        }
    }

    /// Bumped whenever the graph a view shows is replaced.
    pub fn version_at(&self, slot: GraphSlot) -> u64 {
        match slot {
            GraphSlot::Main => self.graph_version,
            GraphSlot::Layer(position) => self.row_versions.get(position).copied().unwrap_or(0),
        }
    }

    /// A cached graph for `request`, if one was computed.
    pub fn cached_graph(&self, request: &GraphRequest) -> Option<&DrawnGraph> {
        self.graph_cache
            .iter()
            .rev()
            .find(|g| &g.request == request)
    }

    pub(super) fn remember_graph(&mut self, graph: DrawnGraph) {
        self.graph_cache
            .retain(|cached| cached.request != graph.request);
        self.graph_cache.push(graph);
        if self.graph_cache.len() > GRAPH_CACHE_SIZE {
            self.graph_cache.remove(0);
        }
    }

    /// Gives the norm diagnostics of `layer` over `subsample` to every graph of that layer
    /// and subsample still waiting for them (shown, in the multilayer row, or cached).
    pub(super) fn fill_layer_norms(
        &mut self,
        layer: &str,
        subsample: SubsampleChoice,
        norms: &NormDiagnostics,
    ) {
        let graphs = self
            .graph
            .iter_mut()
            .chain(self.row_graphs.iter_mut().flatten())
            .chain(self.graph_cache.iter_mut());
        for graph in graphs {
            if graph.request.layer != layer || graph.request.subsample != subsample {
                continue;
            }
            if let Some(diagnostics) = graph.diagnostics.as_mut() {
                diagnostics.norms.get_or_insert_with(|| norms.clone());
            }
        }
    }

    /// Shows `graph` in the single-layer view.
    pub(super) fn show_main(&mut self, graph: DrawnGraph) {
        self.graph = Some(graph);
        self.graph_version += 1;
    }

    /// Shows `graph` at a position of the multilayer row.
    pub(super) fn show_at(&mut self, position: usize, graph: DrawnGraph) {
        if let Some(slot) = self.row_graphs.get_mut(position) {
            *slot = Some(graph);
            self.row_versions[position] += 1;
        }
    }

    /// Gives the multilayer row `n` empty positions (new layers chosen).
    pub(super) fn reset_row(&mut self, n: usize) {
        self.row_graphs = vec![None; n];
        self.row_versions.resize(n, 0);
        for version in &mut self.row_versions {
            *version += 1;
        }
    }

    /// The glyph images of the single-layer graph, when they have arrived.
    pub fn current_glyphs(&self) -> Option<&Vec<Option<String>>> {
        self.glyphs
            .as_ref()
            .filter(|(version, _)| *version == self.graph_version)
            .map(|(_, images)| images)
    }

    /// Shows (or clears) the projection.
    pub(super) fn show_projection(&mut self, projection: Option<DrawnProjection>) {
        self.projection = projection;
        self.projection_version += 1;
    }

    /// Forgets everything computed (new data was loaded).
    pub(super) fn clear(&mut self) {
        let row = self.row_graphs.len();
        *self = Results {
            graph_version: self.graph_version + 1,
            projection_version: self.projection_version + 1,
            row_versions: self.row_versions.iter().map(|v| v + 1).collect(),
            ..Results::default()
        };
        self.row_graphs = vec![None; row];
    }
}
