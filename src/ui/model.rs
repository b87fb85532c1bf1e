//! The app's UI-side state as a plain value, with its transitions. Components read it
//! through a signal; the logic lives here so it is tested natively.

use topoact_core::dataset::DatasetSummary;
use topoact_core::job::Progress;

use crate::protocol::{
    DrawnGraph, DrawnProjection, FailureKind, FromWorker, GraphRequest, NodeExamples, ProjectionMethod, ProjectionRequest,
    RequestId, SubsampleChoice,
};
use topoact_core::mapper::MapperParams;

/// A request the worker is working on.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningRequest {
    pub request_id: RequestId,
    /// What the person asked for, e.g. "Loading activations.npz".
    pub description: String,
    pub progress: Option<Progress>,
}

/// A message shown above the views until dismissed or superseded.
#[derive(Clone, Debug, PartialEq)]
pub struct Banner {
    pub kind: FailureKind,
    pub message: String,
}

/// Figures of the last successful load.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadStats {
    pub elapsed_ms: f64,
    pub bytes_read: u64,
}

/// The quantity node colour encodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColourBy {
    /// Mean lens value of the node's members (TopoAct's default).
    #[default]
    MeanLens,
    /// The node's most frequent class.
    DominantClass,
    /// The share of the most frequent class.
    Purity,
    /// Member count (log scale).
    Size,
}

impl ColourBy {
    pub const ALL: [ColourBy; 4] = [ColourBy::MeanLens, ColourBy::DominantClass, ColourBy::Purity, ColourBy::Size];

    pub fn key(self) -> &'static str {
        match self {
            ColourBy::MeanLens => "lens",
            ColourBy::DominantClass => "class",
            ColourBy::Purity => "purity",
            ColourBy::Size => "size",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ColourBy::MeanLens => "Mean lens",
            ColourBy::DominantClass => "Dominant class",
            ColourBy::Purity => "Class purity",
            ColourBy::Size => "Node size",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|colour_by| colour_by.key() == key)
    }
}

/// What the colour of a projected point shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PointColour {
    /// The point's class (a palette of distinguishable colours; highlighted or most frequent
    /// classes first, the rest grey).
    #[default]
    Class,
    /// The point's L2 norm (the default lens).
    Lens,
    /// The mean lens of the first graph node containing the point; grey when no node does.
    Membership,
}

impl PointColour {
    pub const ALL: [PointColour; 3] = [PointColour::Class, PointColour::Lens, PointColour::Membership];

    pub fn key(self) -> &'static str {
        match self {
            PointColour::Class => "class",
            PointColour::Lens => "lens",
            PointColour::Membership => "membership",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PointColour::Class => "Class",
            PointColour::Lens => "L2 norm (lens)",
            PointColour::Membership => "Node membership",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// The `node_name` of example requests made for the projection selection.
pub const SELECTION_EXAMPLES: &str = "projection selection";

/// Samples selected on the projection (rectangle or lasso), ascending sample indices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SampleSelection {
    pub samples: Vec<u32>,
}

/// Everything the UI shows that comes from the worker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppModel {
    pub dataset: Option<DatasetSummary>,
    pub running: Option<RunningRequest>,
    pub banner: Option<Banner>,
    pub last_load: Option<LoadStats>,
    pub selected_layer: Option<String>,
    /// A one-line status for the status bar ("Cancelled.", "Loaded ... in 1.2 s").
    pub status: String,
    /// The graph on screen (kept while a new one is computed).
    pub graph: Option<DrawnGraph>,
    /// Mapper parameters and subsample the next graph is computed with.
    pub mapper_params: MapperParams,
    pub subsample: SubsampleChoice,
    /// The selected node's index in `graph.nodes`.
    pub selected_node: Option<usize>,
    /// Class indices whose nodes are highlighted (search and directory).
    pub highlighted_classes: Vec<u32>,
    /// Bumped whenever `graph` is replaced, so views can redraw on that alone.
    pub graph_version: u64,
    /// What node colour shows.
    pub colour_by: ColourBy,
    /// Glyph mode: nodes drawn as their averaged images.
    pub show_glyphs: bool,
    /// Averaged image per node of the graph with that `graph_version`.
    pub glyphs: Option<(u64, Vec<Option<String>>)>,
    /// Examples of the selected node, once the worker sent them.
    pub examples: Option<NodeExamples>,
    /// Links with a Jaccard index at or below this are hidden.
    pub jaccard_threshold: f64,
    /// The projection on screen (an intermediate frame while one is computed).
    pub projection: Option<DrawnProjection>,
    /// Bumped whenever `projection` changes.
    pub projection_version: u64,
    /// The projection being computed (its own progress and Cancel, beside the graph's).
    pub projection_running: Option<RunningRequest>,
    /// The method the next projection uses.
    pub projection_method: ProjectionMethod,
    pub point_colour: PointColour,
    /// Samples selected on the projection; the graph shades nodes by the share they hold.
    pub sample_selection: Option<SampleSelection>,
    /// The last hovered point's thumbnail (sample index, `data:` URL).
    pub hover_thumbnail: Option<(u32, Option<String>)>,
    /// Examples of the projection selection's top classes.
    pub selection_examples: Option<NodeExamples>,
    next_request_id: RequestId,
}

impl AppModel {
    /// Registers a new long request (superseding the one running) and returns its id.
    pub fn begin(&mut self, description: impl Into<String>) -> RequestId {
        self.next_request_id += 1;
        let request_id = self.next_request_id;
        self.running = Some(RunningRequest { request_id, description: description.into(), progress: None });
        self.banner = None;
        request_id
    }

    /// Registers a projection request (superseding the previous projection only).
    pub fn begin_projection(&mut self, description: impl Into<String>) -> RequestId {
        self.next_request_id += 1;
        let request_id = self.next_request_id;
        self.projection_running = Some(RunningRequest { request_id, description: description.into(), progress: None });
        request_id
    }

    fn is_current_projection(&self, request_id: RequestId) -> bool {
        self.projection_running.as_ref().map(|r| r.request_id) == Some(request_id)
    }

    /// The projection the current settings describe, if a layer is selected. It uses the
    /// graph's subsample, so a node's members are all among the points.
    pub fn projection_request(&self) -> Option<ProjectionRequest> {
        let layer = self.selected_layer.clone()?;
        Some(ProjectionRequest { layer, subsample: self.subsample, method: self.projection_method.clone(), seed: 0 })
    }

    /// The id of the running request, for Cancel.
    pub fn running_request_id(&self) -> Option<RequestId> {
        self.running.as_ref().map(|running| running.request_id)
    }

    fn is_current(&self, request_id: RequestId) -> bool {
        self.running_request_id() == Some(request_id)
    }

    /// Applies a worker answer. Answers to superseded requests are ignored.
    pub fn apply(&mut self, answer: FromWorker) {
        match answer {
            FromWorker::Ready => {}
            FromWorker::Progress { request_id, progress } => {
                if let Some(running) = self.running.as_mut().filter(|running| running.request_id == request_id) {
                    running.progress = Some(progress);
                } else if let Some(running) = self.projection_running.as_mut().filter(|running| running.request_id == request_id) {
                    running.progress = Some(progress);
                }
            }
            FromWorker::ProjectionFrame { request_id, projection } => {
                if self.is_current_projection(request_id) {
                    self.projection = Some(projection);
                    self.projection_version += 1;
                }
            }
            FromWorker::Projection { request_id, projection } => {
                if !self.is_current_projection(request_id) {
                    return;
                }
                self.projection_running = None;
                self.status = format!(
                    "{} of {}: {} points in {:.1} s (neighbours {:.1} s).",
                    projection.request.method.label(),
                    projection.request.layer,
                    crate::format::thousands(projection.n_points()),
                    projection.elapsed_ms / 1e3,
                    projection.knn_ms / 1e3
                );
                self.projection = Some(projection);
                self.projection_version += 1;
            }
            FromWorker::Loaded { request_id, summary, elapsed_ms, bytes_read } => {
                if !self.is_current(request_id) {
                    return;
                }
                self.running = None;
                self.status = format!(
                    "Loaded {} ({} samples, {} layers) in {:.1} s.",
                    summary.name,
                    crate::format::thousands(summary.n_samples),
                    summary.layers.len(),
                    elapsed_ms / 1e3
                );
                let keep_layer = self
                    .selected_layer
                    .as_ref()
                    .filter(|name| summary.layers.iter().any(|layer| &&layer.name == name))
                    .cloned();
                self.selected_layer = keep_layer.or_else(|| summary.layers.first().map(|layer| layer.name.clone()));
                self.dataset = Some(summary);
                self.last_load = Some(LoadStats { elapsed_ms, bytes_read });
                self.graph = None;
                self.graph_version += 1;
                self.selected_node = None;
                self.highlighted_classes.clear();
                self.projection = None;
                self.projection_version += 1;
                self.projection_running = None;
                self.sample_selection = None;
            }
            FromWorker::Failed { request_id, kind, message } if self.is_current_projection(request_id) => {
                self.projection_running = None;
                self.banner = Some(Banner { kind, message });
            }
            FromWorker::Cancelled { request_id } if self.is_current_projection(request_id) => {
                self.projection_running = None;
                self.status = "Projection cancelled.".into();
            }
            FromWorker::Failed { request_id, kind, message } => {
                if !self.is_current(request_id) {
                    return;
                }
                self.running = None;
                self.status = if self.dataset.is_some() {
                    "The previous dataset is still loaded.".into()
                } else {
                    String::new()
                };
                self.banner = Some(Banner { kind, message });
            }
            FromWorker::Graph { request_id, graph } => {
                if !self.is_current(request_id) {
                    return;
                }
                self.running = None;
                self.status = format!(
                    "Graph of {}: {} nodes, {} edges from {} samples (mapper {:.1} s, layout {:.1} s).",
                    graph.request.layer,
                    graph.stats.n_nodes,
                    graph.stats.n_edges,
                    crate::format::thousands(graph.n_samples_used),
                    graph.mapper_ms / 1e3,
                    graph.layout_ms / 1e3
                );
                let selected_name = self.selected_node_name();
                self.selected_node = selected_name.and_then(|name| graph.nodes.iter().position(|node| node.name == name));
                self.graph = Some(graph);
                self.graph_version += 1;
            }
            FromWorker::Glyphs { graph_version, images, .. } => {
                if graph_version == self.graph_version {
                    self.glyphs = Some((graph_version, images));
                }
            }
            // Only the benchmark page asks for layout measures.
            FromWorker::LayoutMeasured { .. } => {}
            FromWorker::Thumbnail { sample_idx, url } => self.hover_thumbnail = Some((sample_idx, url)),
            FromWorker::Examples { examples, .. } if examples.node_name == SELECTION_EXAMPLES => {
                self.selection_examples = Some(examples);
            }
            FromWorker::Examples { examples, .. } => {
                if self.selected_node_name().as_deref() == Some(examples.node_name.as_str()) {
                    self.examples = Some(examples);
                }
            }
            FromWorker::Cancelled { request_id } => {
                if !self.is_current(request_id) {
                    return;
                }
                self.running = None;
                self.status = "Cancelled. Nothing was changed.".into();
            }
        }
    }

    /// The request for the graph the current settings describe, if a layer is selected.
    pub fn graph_request(&self) -> Option<GraphRequest> {
        let layer = self.selected_layer.clone()?;
        Some(GraphRequest { layer, subsample: self.subsample, params: self.mapper_params.clone() })
    }

    /// Name of the selected node, if any.
    pub fn selected_node_name(&self) -> Option<String> {
        let graph = self.graph.as_ref()?;
        Some(graph.nodes.get(self.selected_node?)?.name.clone())
    }

    /// The glyph images of the current graph, when they have arrived.
    pub fn current_glyphs(&self) -> Option<&Vec<Option<String>>> {
        self.glyphs.as_ref().filter(|(version, _)| *version == self.graph_version).map(|(_, images)| images)
    }

    /// Positions of the current graph's nodes by name (warm start of the next layout), when
    /// the next graph is of the same layer.
    pub fn previous_positions_for(&self, request: &GraphRequest) -> Vec<(String, [f64; 2])> {
        match &self.graph {
            Some(graph) if graph.request.layer == request.layer => {
                graph.nodes.iter().map(|node| (node.name.clone(), node.position)).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether node `node_idx` of the current graph carries a highlighted class among its
    /// top three.
    pub fn is_node_highlighted(&self, node_idx: usize) -> bool {
        let Some(node) = self.graph.as_ref().and_then(|graph| graph.nodes.get(node_idx)) else { return false };
        node.top_classes.iter().any(|share| self.highlighted_classes.contains(&share.class_idx))
    }

    /// Escape: clears the banner, else the selection, else the highlighted classes.
    pub fn escape(&mut self) {
        if self.banner.is_some() {
            self.banner = None;
        } else if self.selected_node.is_some() {
            self.selected_node = None;
        } else if self.sample_selection.is_some() {
            self.sample_selection = None;
        } else {
            self.highlighted_classes.clear();
        }
    }

    /// Dismisses the banner (Escape, or its close button).
    pub fn dismiss_banner(&mut self) {
        self.banner = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use topoact_core::dataset::{Dtype, LayerSummary};

    fn summary(name: &str, layers: &[&str]) -> DatasetSummary {
        DatasetSummary {
            name: name.into(),
            n_samples: 10,
            layers: layers.iter().map(|l| LayerSummary { name: (*l).into(), dim: 4, dtype: Dtype::F32 }).collect(),
            classes: vec![],
            has_labels: false,
            has_images: false,
            image_shape: None,
            activation_image_layers: vec![],
            projections: vec![],
            meta: None,
            notices: vec![],
        }
    }

    fn loaded(request_id: RequestId, summary: DatasetSummary) -> FromWorker {
        FromWorker::Loaded { request_id, summary, elapsed_ms: 1000.0, bytes_read: 1 }
    }

    fn projection(method: ProjectionMethod, complete: bool) -> DrawnProjection {
        DrawnProjection {
            request: ProjectionRequest { layer: "a".into(), subsample: SubsampleChoice::default(), method, seed: 0 },
            sample_indices: vec![0, 1],
            labels: vec![0, 1],
            coords_le: crate::protocol::coords_to_le_bytes(&[0.0, 1.0, 2.0, 3.0]),
            norms: vec![1.0, 2.0],
            complete,
            stage: String::new(),
            knn_ms: 0.0,
            elapsed_ms: 0.0,
            knn_exact: true,
        }
    }

    #[test]
    fn projection_frames_of_a_superseded_request_are_ignored_and_a_graph_request_is_untouched() {
        let mut model = AppModel::default();
        let load = model.begin("demo");
        model.apply(loaded(load, summary("demo", &["a"])));
        let graph_request = model.begin("graph");
        let old = model.begin_projection("umap");
        let new = model.begin_projection("tsne");
        assert_eq!(model.running_request_id(), Some(graph_request), "a projection never supersedes the graph");
        model.apply(FromWorker::ProjectionFrame { request_id: old, projection: projection(ProjectionMethod::DEFAULT_UMAP, false) });
        assert!(model.projection.is_none());
        let version = model.projection_version;
        model.apply(FromWorker::ProjectionFrame { request_id: new, projection: projection(ProjectionMethod::DEFAULT_TSNE, false) });
        assert_eq!(model.projection_version, version + 1);
        assert!(model.projection_running.is_some(), "a frame is not the end");
        model.apply(FromWorker::Projection { request_id: new, projection: projection(ProjectionMethod::DEFAULT_TSNE, true) });
        assert!(model.projection_running.is_none());
        assert_eq!(model.projection.as_ref().map(|p| p.coords()), Some(vec![[0.0, 1.0], [2.0, 3.0]]));
        // Its failure or cancellation clears only the projection's progress.
        let failing = model.begin_projection("umap");
        model.apply(FromWorker::Failed { request_id: failing, kind: FailureKind::BadInput, message: "too few".into() });
        assert!(model.projection_running.is_none());
        assert_eq!(model.running_request_id(), Some(graph_request));
        assert!(model.projection.is_some(), "the previous projection stays");
    }

    #[test]
    fn escape_clears_the_node_then_the_sample_selection_then_the_classes() {
        let mut model = AppModel { selected_node: Some(1), sample_selection: Some(SampleSelection { samples: vec![3] }), highlighted_classes: vec![2], ..AppModel::default() };
        model.escape();
        assert_eq!((model.selected_node, model.sample_selection.is_some(), model.highlighted_classes.len()), (None, true, 1));
        model.escape();
        assert_eq!((model.sample_selection.is_some(), model.highlighted_classes.len()), (false, 1));
        model.escape();
        assert!(model.highlighted_classes.is_empty());
    }

    #[test]
    fn a_failed_load_keeps_the_previous_dataset() {
        let mut model = AppModel::default();
        let first = model.begin("demo");
        model.apply(loaded(first, summary("demo", &["a", "b"])));
        let second = model.begin("bad file");
        model.apply(FromWorker::Failed { request_id: second, kind: FailureKind::BadInput, message: "not npy".into() });
        assert_eq!(model.dataset.as_ref().map(|d| d.name.as_str()), Some("demo"));
        assert_eq!(model.banner.as_ref().map(|b| b.message.as_str()), Some("not npy"));
        assert!(model.running.is_none());
    }

    #[test]
    fn answers_to_superseded_requests_are_ignored() {
        let mut model = AppModel::default();
        let old = model.begin("big file");
        let new = model.begin("small file");
        model.apply(loaded(old, summary("big", &["x"])));
        assert!(model.dataset.is_none());
        assert_eq!(model.running_request_id(), Some(new));
        model.apply(FromWorker::Progress { request_id: old, progress: Progress::new("reading", 1, 2) });
        assert_eq!(model.running.as_ref().and_then(|r| r.progress.clone()), None);
        model.apply(loaded(new, summary("small", &["y"])));
        assert_eq!(model.dataset.as_ref().map(|d| d.name.as_str()), Some("small"));
    }

    #[test]
    fn the_selected_layer_survives_a_reload_when_it_still_exists() {
        let mut model = AppModel::default();
        let first = model.begin("a");
        model.apply(loaded(first, summary("a", &["l1", "l2"])));
        assert_eq!(model.selected_layer.as_deref(), Some("l1"));
        model.selected_layer = Some("l2".into());
        let second = model.begin("b");
        model.apply(loaded(second, summary("b", &["l0", "l2"])));
        assert_eq!(model.selected_layer.as_deref(), Some("l2"));
        let third = model.begin("c");
        model.apply(loaded(third, summary("c", &["z"])));
        assert_eq!(model.selected_layer.as_deref(), Some("z"));
    }

    #[test]
    fn cancel_clears_the_running_request() {
        let mut model = AppModel::default();
        let request_id = model.begin("x");
        model.apply(FromWorker::Cancelled { request_id });
        assert!(model.running.is_none());
        assert!(model.status.starts_with("Cancelled"));
    }
}
