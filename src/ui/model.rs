//! The app's UI-side state as a plain value, with its transitions. Components read it
//! through a signal; the logic lives here so it is tested natively.

use topoact_core::dataset::DatasetSummary;
use topoact_core::job::Progress;

use crate::protocol::{
    DrawnGraph, DrawnProjection, FailureKind, FromWorker, GraphRequest, LayerComparison,
    NodeExamples, ProjectionMethod, ProjectionRequest, RequestId, SubsampleChoice,
};
use crate::session::{LoadedDataFacts, SessionState};
use crate::vocabulary::{describe_data, same_data, DatasetRef, NodeRef};
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
    pub const ALL: [ColourBy; 4] = [
        ColourBy::MeanLens,
        ColourBy::DominantClass,
        ColourBy::Purity,
        ColourBy::Size,
    ];

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
        Self::ALL
            .into_iter()
            .find(|colour_by| colour_by.key() == key)
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
    pub const ALL: [PointColour; 3] = [
        PointColour::Class,
        PointColour::Lens,
        PointColour::Membership,
    ];

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
            PointColour::Lens => "Lens value",
            PointColour::Membership => "Node membership",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }
}

pub use crate::vocabulary::ViewMode;

/// Which graph a view shows: the single-layer graph, or one of the multilayer row's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GraphSlot {
    Main,
    /// Position in the multilayer row (0, 1, 2).
    Layer(usize),
}

/// Graphs kept for reuse (a layer shown again with the same parameters is not recomputed).
pub const GRAPH_CACHE_SIZE: usize = 12;

/// Ribbons between adjacent layers with a Jaccard index at or below this are hidden.
pub const DEFAULT_RIBBON_THRESHOLD: f64 = 0.2;

/// The multilayer row: three layers, each with its own graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Multilayer {
    /// The layers shown, left to right (fewer than three when the dataset has fewer).
    pub layers: Vec<String>,
    /// The graph of each position (kept while a new one is computed).
    pub graphs: Vec<Option<DrawnGraph>>,
    /// Bumped when the graph at that position is replaced.
    pub versions: Vec<u64>,
    /// The selected node: (position, node index).
    pub selected: Option<(usize, usize)>,
    /// Whether ribbons join nodes of adjacent layers that share samples.
    pub show_ribbons: bool,
    pub ribbon_threshold: f64,
}

impl Default for Multilayer {
    fn default() -> Self {
        Self {
            layers: Vec::new(),
            graphs: Vec::new(),
            versions: Vec::new(),
            selected: None,
            show_ribbons: true,
            ribbon_threshold: DEFAULT_RIBBON_THRESHOLD,
        }
    }
}

/// The chosen layer and its neighbours in the file's order; at the ends the window is
/// clamped so it still holds three layers (or all of them when there are fewer).
pub fn layers_around(all_layers: &[String], chosen: &str) -> Vec<String> {
    let n = all_layers.len();
    if n <= 3 {
        return all_layers.to_vec();
    }
    let centre = all_layers
        .iter()
        .position(|name| name == chosen)
        .unwrap_or(0);
    let first = centre.saturating_sub(1).min(n - 3);
    all_layers[first..first + 3].to_vec()
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
    /// Threads the worker computes on (0 until it is ready).
    pub compute_threads: usize,
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
    pub mode: ViewMode,
    pub multilayer: Multilayer,
    /// Recently computed graphs, newest last (reused instead of recomputed).
    pub graph_cache: Vec<DrawnGraph>,
    /// Every layer's structure for one set of parameters (the comparison panel).
    pub comparison: Option<LayerComparison>,
    /// Which data is loaded, as a share link names it.
    pub dataset_ref: Option<DatasetRef>,
    /// A link opened before its data was loaded: applied when that data arrives.
    pub pending_link: Option<SessionState>,
    /// The node a restored link selects, selected when its layer's graph arrives.
    pub pending_selected_node: Option<NodeRef>,
    /// Set when a link was restored: whether it shows a projection (the app then computes
    /// it instead of choosing one itself). Taken by the app.
    pub restored_projection: Option<bool>,
    next_request_id: RequestId,
}

impl AppModel {
    /// Registers a new long request (superseding the one running) and returns its id.
    pub fn begin(&mut self, description: impl Into<String>) -> RequestId {
        self.next_request_id += 1;
        let request_id = self.next_request_id;
        self.running = Some(RunningRequest {
            request_id,
            description: description.into(),
            progress: None,
        });
        // A message about a share link stays until dismissed: the work it started follows.
        if self
            .banner
            .as_ref()
            .is_none_or(|banner| banner.kind != FailureKind::LinkProblem)
        {
            self.banner = None;
        }
        request_id
    }

    /// Registers a projection request (superseding the previous projection only).
    pub fn begin_projection(&mut self, description: impl Into<String>) -> RequestId {
        self.next_request_id += 1;
        let request_id = self.next_request_id;
        self.projection_running = Some(RunningRequest {
            request_id,
            description: description.into(),
            progress: None,
        });
        request_id
    }

    fn is_current_projection(&self, request_id: RequestId) -> bool {
        self.projection_running.as_ref().map(|r| r.request_id) == Some(request_id)
    }

    /// The projection the current settings describe, if a layer is selected. It uses the
    /// graph's subsample, so a node's members are all among the points.
    pub fn projection_request(&self) -> Option<ProjectionRequest> {
        let layer = self.selected_layer.clone()?;
        Some(ProjectionRequest {
            layer,
            subsample: self.subsample,
            method: self.projection_method.clone(),
            seed: 0,
        })
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
            FromWorker::Ready { compute_threads } => self.compute_threads = compute_threads,
            FromWorker::Progress {
                request_id,
                progress,
            } => {
                if let Some(running) = self
                    .running
                    .as_mut()
                    .filter(|running| running.request_id == request_id)
                {
                    running.progress = Some(progress);
                } else if let Some(running) = self
                    .projection_running
                    .as_mut()
                    .filter(|running| running.request_id == request_id)
                {
                    running.progress = Some(progress);
                }
            }
            FromWorker::ProjectionFrame {
                request_id,
                projection,
            } => {
                if self.is_current_projection(request_id) {
                    self.projection = Some(projection);
                    self.projection_version += 1;
                }
            }
            FromWorker::Projection {
                request_id,
                projection,
            } => {
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
            FromWorker::Loaded {
                request_id,
                summary,
                elapsed_ms,
                bytes_read,
                source,
            } => {
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
                self.selected_layer =
                    keep_layer.or_else(|| summary.layers.first().map(|layer| layer.name.clone()));
                self.dataset = Some(summary);
                self.last_load = Some(LoadStats {
                    elapsed_ms,
                    bytes_read,
                });
                self.graph = None;
                self.graph_version += 1;
                self.selected_node = None;
                self.highlighted_classes.clear();
                self.projection = None;
                self.projection_version += 1;
                self.projection_running = None;
                self.sample_selection = None;
                self.graph_cache.clear();
                self.comparison = None;
                let all_layers: Vec<String> = self
                    .dataset
                    .iter()
                    .flat_map(|d| d.layers.iter().map(|l| l.name.clone()))
                    .collect();
                let chosen = self.selected_layer.clone().unwrap_or_default();
                self.set_multilayer_layers(layers_around(&all_layers, &chosen));
                self.pending_selected_node = None;
                self.dataset_ref = Some(match source {
                    DatasetRef::Url { url } if url == super::DEMO_URL => DatasetRef::Demo,
                    other => other,
                });
                self.restore_pending_link();
            }
            FromWorker::Failed { request_id, error } if self.is_current_projection(request_id) => {
                self.projection_running = None;
                self.banner = Some(Banner {
                    kind: error.kind(),
                    message: error.to_string(),
                });
            }
            FromWorker::Cancelled { request_id } if self.is_current_projection(request_id) => {
                self.projection_running = None;
                self.status = "Projection cancelled.".into();
            }
            FromWorker::Failed { request_id, error } => {
                if !self.is_current(request_id) {
                    return;
                }
                self.running = None;
                self.status = if self.dataset.is_some() {
                    "The previous dataset is still loaded.".into()
                } else {
                    String::new()
                };
                self.banner = Some(Banner {
                    kind: error.kind(),
                    message: error.to_string(),
                });
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
                self.remember_graph(graph.clone());
                let for_slots = self.place_in_slots(&graph);
                if !for_slots || self.graph_request().as_ref() == Some(&graph.request) {
                    self.set_main_graph(graph);
                }
            }
            FromWorker::LayerComparison {
                request_id,
                comparison,
            } => {
                if !self.is_current(request_id) {
                    return;
                }
                self.running = None;
                self.status = format!(
                    "Compared {} layers in {:.1} s.",
                    comparison.layers.len(),
                    comparison.elapsed_ms / 1e3
                );
                self.comparison = Some(comparison);
            }
            FromWorker::Glyphs {
                graph_version,
                images,
                ..
            } => {
                if graph_version == self.graph_version {
                    self.glyphs = Some((graph_version, images));
                }
            }
            // Only the benchmark page asks for layout measures; files are downloaded by the app.
            // The worker client reports CouldNotStart through its fatal-error callback.
            FromWorker::LayoutMeasured { .. }
            | FromWorker::GraphFile { .. }
            | FromWorker::CouldNotStart { .. } => {}
            FromWorker::Thumbnail { sample_idx, url } => {
                self.hover_thumbnail = Some((sample_idx, url))
            }
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

    /// The view as a share link records it (cameras and search text are the views'; the
    /// caller adds them). `None` before any data is loaded.
    pub fn view_state(&self) -> Option<SessionState> {
        let dataset = self.dataset_ref.clone()?;
        self.dataset.as_ref()?;
        let projection = self.projection.as_ref().map(|p| p.request.method.clone());
        let selected_node = self
            .focused_node()
            .and_then(|(graph, idx)| {
                Some(NodeRef {
                    layer: graph.request.layer.clone(),
                    node_name: graph.nodes.get(idx)?.name.clone(),
                })
            })
            .or_else(|| self.pending_selected_node.clone());
        Some(SessionState {
            dataset,
            layer: self.selected_layer.clone(),
            mode: self.mode,
            multilayer_layers: self.multilayer.layers.clone(),
            subsample_size: self.subsample.size,
            subsample_seed: self.subsample.seed,
            mapper: self.mapper_params.clone(),
            projection,
            projection_points: None,
            selected_node,
            sample_selection: self
                .sample_selection
                .as_ref()
                .map(|s| s.samples.clone())
                .unwrap_or_default(),
            highlighted_classes: self.highlighted_classes.clone(),
            colour_by: self.colour_by.key().into(),
            point_colour: self.point_colour.key().into(),
            jaccard_threshold: self.jaccard_threshold,
            show_ribbons: self.multilayer.show_ribbons,
            ribbon_threshold: self.multilayer.ribbon_threshold,
            show_glyphs: self.show_glyphs,
            ..SessionState::default()
        })
    }

    /// Applies a link's view to the loaded data: every part that fits is applied, every
    /// part that does not is named in the returned problems (the nearest working view).
    /// The graphs and projection it describes are then requested by the app.
    pub fn apply_view_state(&mut self, state: &SessionState) -> Vec<String> {
        let mut problems = Vec::new();
        let Some(dataset) = self.dataset.as_ref() else {
            return vec!["No data is loaded.".into()];
        };
        let layer_names: Vec<String> = dataset.layers.iter().map(|l| l.name.clone()).collect();
        let (n_samples, n_classes) = (dataset.n_samples, dataset.classes.len());
        if let Err(problem) = state.check_against(LoadedDataFacts {
            layer_names: &layer_names,
            n_samples,
            n_classes,
        }) {
            problems.push(problem.to_string());
        }
        match &state.layer {
            Some(layer) if layer_names.contains(layer) => self.selected_layer = Some(layer.clone()),
            Some(layer) => problems.push(format!(
                "The link's layer '{layer}' is not in this file; showing '{}'.",
                self.selected_layer.clone().unwrap_or_default()
            )),
            None => {}
        }
        let row: Vec<String> = state
            .multilayer_layers
            .iter()
            .filter(|l| layer_names.contains(l))
            .cloned()
            .collect();
        if !row.is_empty() {
            self.set_multilayer_layers(row);
        }
        self.mode = state.mode;
        self.subsample = SubsampleChoice {
            size: state.subsample_size,
            seed: state.subsample_seed,
        };
        match state.mapper.clone().validate() {
            Ok(_) => self.mapper_params = state.mapper.clone(),
            Err(err) => problems.push(format!(
                "The link's mapper parameters are not usable ({err}); the defaults are used."
            )),
        }
        self.colour_by = ColourBy::from_key(&state.colour_by).unwrap_or_default();
        self.point_colour = PointColour::from_key(&state.point_colour).unwrap_or_default();
        self.jaccard_threshold = state.jaccard_threshold.clamp(0.0, 1.0);
        self.multilayer.show_ribbons = state.show_ribbons;
        self.multilayer.ribbon_threshold = state.ribbon_threshold.clamp(0.0, 1.0);
        self.show_glyphs = state.show_glyphs;
        self.highlighted_classes = state
            .highlighted_classes
            .iter()
            .copied()
            .filter(|&c| (c as usize) < n_classes)
            .collect();
        let samples: Vec<u32> = state
            .sample_selection
            .iter()
            .copied()
            .filter(|&s| (s as usize) < n_samples)
            .collect();
        self.sample_selection = (!samples.is_empty()).then_some(SampleSelection { samples });
        self.selected_node = None;
        self.multilayer.selected = None;
        self.pending_selected_node = state.selected_node.clone();
        let projection = state.projection.clone();
        if let Some(method) = &projection {
            self.projection_method = method.clone();
        }
        self.restored_projection = Some(projection.is_some());
        problems
    }

    /// Applies the pending link if the data just loaded is the data it names; a different
    /// file gets a warning and the link is not applied.
    fn restore_pending_link(&mut self) {
        let Some(link) = self.pending_link.take() else {
            return;
        };
        let Some(loaded) = self.dataset_ref.clone() else {
            return;
        };
        if !same_data(&link.dataset, &loaded) {
            self.banner = Some(Banner {
                kind: FailureKind::LinkProblem,
                message: format!(
                    "This is not the data the link was made with: the link names {}, but {} was loaded. The link's view was not applied.",
                    describe_data(&link.dataset),
                    describe_data(&loaded)
                ),
            });
            return;
        }
        let problems = self.apply_view_state(&link);
        if !problems.is_empty() {
            self.banner = Some(Banner {
                kind: FailureKind::LinkProblem,
                message: format!(
                    "Part of the link could not be restored: {} The rest of the view is shown.",
                    problems.join(" ")
                ),
            });
        }
    }

    /// The request for the graph the current settings describe, if a layer is selected.
    pub fn graph_request(&self) -> Option<GraphRequest> {
        let layer = self.selected_layer.clone()?;
        Some(GraphRequest {
            layer,
            subsample: self.subsample,
            params: self.mapper_params.clone(),
        })
    }

    /// Name of the selected node, if any.
    pub fn selected_node_name(&self) -> Option<String> {
        let (graph, node_idx) = self.focused_node()?;
        Some(graph.nodes.get(node_idx)?.name.clone())
    }

    /// The selected node in the mode on screen: its graph and index.
    pub fn focused_node(&self) -> Option<(&DrawnGraph, usize)> {
        match self.mode {
            ViewMode::Single => Some((self.graph.as_ref()?, self.selected_node?)),
            ViewMode::Multilayer => {
                let (slot, node_idx) = self.multilayer.selected?;
                Some((self.multilayer.graphs.get(slot)?.as_ref()?, node_idx))
            }
        }
    }

    /// Clears the node selection of the mode on screen.
    pub fn clear_node_selection(&mut self) {
        match self.mode {
            ViewMode::Single => self.selected_node = None,
            ViewMode::Multilayer => self.multilayer.selected = None,
        }
    }

    /// The graph a view shows.
    pub fn graph_at(&self, slot: GraphSlot) -> Option<&DrawnGraph> {
        match slot {
            GraphSlot::Main => self.graph.as_ref(),
            GraphSlot::Layer(position) => self.multilayer.graphs.get(position)?.as_ref(),
        }
    }

    pub fn graph_at_mut(&mut self, slot: GraphSlot) -> Option<&mut DrawnGraph> {
        match slot {
            GraphSlot::Main => self.graph.as_mut(),
            GraphSlot::Layer(position) => self.multilayer.graphs.get_mut(position)?.as_mut(),
        }
    }

    /// Bumped whenever the graph a view shows is replaced.
    pub fn version_at(&self, slot: GraphSlot) -> u64 {
        match slot {
            GraphSlot::Main => self.graph_version,
            GraphSlot::Layer(position) => {
                self.multilayer.versions.get(position).copied().unwrap_or(0)
            }
        }
    }

    /// The selected node of a view.
    pub fn selected_at(&self, slot: GraphSlot) -> Option<usize> {
        match slot {
            GraphSlot::Main => self.selected_node,
            GraphSlot::Layer(position) => self
                .multilayer
                .selected
                .filter(|(s, _)| *s == position)
                .map(|(_, node_idx)| node_idx),
        }
    }

    /// Selects a node of a view (`None`: clears the selection).
    pub fn select_at(&mut self, slot: GraphSlot, node_idx: Option<usize>) {
        match slot {
            GraphSlot::Main => self.selected_node = node_idx,
            GraphSlot::Layer(position) => {
                self.multilayer.selected = node_idx.map(|idx| (position, idx))
            }
        }
    }

    /// How much of something selected elsewhere each node of a view holds, or `None`:
    /// - in the multilayer row, with a node selected in another layer: the share of that
    ///   node's members each node holds;
    /// - otherwise, with samples selected on the projection: the share of each node's
    ///   members that are selected.
    pub fn shading_at(&self, slot: GraphSlot) -> Option<Vec<f64>> {
        let graph = self.graph_at(slot)?;
        if let (GraphSlot::Layer(position), Some((selected_slot, node_idx))) =
            (slot, self.multilayer.selected)
        {
            if selected_slot != position {
                let selected = self
                    .multilayer
                    .graphs
                    .get(selected_slot)?
                    .as_ref()?
                    .nodes
                    .get(node_idx)?;
                let members: Vec<&[u32]> = graph
                    .nodes
                    .iter()
                    .map(|node| node.members.as_slice())
                    .collect();
                return Some(topoact_core::compare::shares_held(
                    &selected.members,
                    &members,
                ));
            }
            return None;
        }
        let selection = self.sample_selection.as_ref()?;
        Some(
            graph
                .nodes
                .iter()
                .map(|node| {
                    let inside = topoact_core::compare::sorted_intersection_len(
                        &selection.samples,
                        &node.members,
                    );
                    inside as f64 / node.members.len().max(1) as f64
                })
                .collect(),
        )
    }

    /// The graph request of a multilayer position for the current parameters.
    pub fn slot_request(&self, position: usize) -> Option<GraphRequest> {
        let layer = self.multilayer.layers.get(position)?.clone();
        Some(GraphRequest {
            layer,
            subsample: self.subsample,
            params: self.mapper_params.clone(),
        })
    }

    /// The first multilayer position whose graph is missing or stale, with its request.
    pub fn next_missing_slot(&self) -> Option<(usize, GraphRequest)> {
        (0..self.multilayer.layers.len()).find_map(|position| {
            let request = self.slot_request(position)?;
            let current = self
                .multilayer
                .graphs
                .get(position)?
                .as_ref()
                .map(|g| &g.request);
            (current != Some(&request)).then_some((position, request))
        })
    }

    /// Chooses the multilayer row's layers; graphs already computed are reused.
    pub fn set_multilayer_layers(&mut self, layers: Vec<String>) {
        let n = layers.len();
        if layers == self.multilayer.layers {
            return;
        }
        self.multilayer.layers = layers;
        self.multilayer.graphs = vec![None; n];
        self.multilayer.versions.resize(n, 0);
        for version in &mut self.multilayer.versions {
            *version += 1;
        }
        self.multilayer.selected = None;
        self.fill_slots_from_cache();
    }

    /// Puts cached graphs matching the current parameters into the multilayer row.
    pub fn fill_slots_from_cache(&mut self) {
        for position in 0..self.multilayer.layers.len() {
            let Some(request) = self.slot_request(position) else {
                continue;
            };
            let current_matches = self.multilayer.graphs[position]
                .as_ref()
                .is_some_and(|g| g.request == request);
            if current_matches {
                continue;
            }
            if let Some(cached) = self
                .graph_cache
                .iter()
                .rev()
                .find(|g| g.request == request)
                .cloned()
            {
                self.multilayer.graphs[position] = Some(cached);
                self.multilayer.versions[position] += 1;
                if self
                    .multilayer
                    .selected
                    .is_some_and(|(slot, _)| slot == position)
                {
                    self.multilayer.selected = None;
                }
            }
        }
    }

    /// A cached graph for `request`, if one was computed.
    pub fn cached_graph(&self, request: &GraphRequest) -> Option<&DrawnGraph> {
        self.graph_cache
            .iter()
            .rev()
            .find(|g| &g.request == request)
    }

    fn remember_graph(&mut self, graph: DrawnGraph) {
        self.graph_cache
            .retain(|cached| cached.request != graph.request);
        self.graph_cache.push(graph);
        if self.graph_cache.len() > GRAPH_CACHE_SIZE {
            self.graph_cache.remove(0);
        }
    }

    /// Puts `graph` at every multilayer position it was computed for; whether there was one.
    fn place_in_slots(&mut self, graph: &DrawnGraph) -> bool {
        let mut placed = false;
        for position in 0..self.multilayer.layers.len() {
            if self.slot_request(position).as_ref() == Some(&graph.request) {
                let selected_name = self
                    .multilayer
                    .selected
                    .filter(|(slot, _)| *slot == position)
                    .and_then(|(_, idx)| {
                        self.multilayer.graphs[position]
                            .as_ref()?
                            .nodes
                            .get(idx)
                            .map(|node| node.name.clone())
                    });
                self.multilayer.graphs[position] = Some(graph.clone());
                self.multilayer.versions[position] += 1;
                if selected_name.is_some() {
                    let new_idx = selected_name
                        .and_then(|name| graph.nodes.iter().position(|node| node.name == name));
                    self.multilayer.selected = new_idx.map(|idx| (position, idx));
                }
                if self.mode == ViewMode::Multilayer {
                    if let Some(node_idx) = self.take_pending_node(graph) {
                        self.multilayer.selected = node_idx.map(|idx| (position, idx));
                    }
                }
                placed = true;
            }
        }
        placed
    }

    /// Shows `graph` as the single-layer graph, keeping the selected node if it persists.
    pub fn set_main_graph(&mut self, graph: DrawnGraph) {
        let selected_name = self
            .graph
            .as_ref()
            .and_then(|g| g.nodes.get(self.selected_node?))
            .map(|node| node.name.clone());
        self.selected_node =
            selected_name.and_then(|name| graph.nodes.iter().position(|node| node.name == name));
        if self.mode == ViewMode::Single {
            if let Some(node_idx) = self.take_pending_node(&graph) {
                self.selected_node = node_idx;
            }
        }
        self.graph = Some(graph);
        self.graph_version += 1;
    }

    /// The restored link's node, if it belongs to `graph`'s layer: `Some(index)` when found,
    /// `Some(None)` (and a banner) when the graph has no such node.
    fn take_pending_node(&mut self, graph: &DrawnGraph) -> Option<Option<usize>> {
        let pending = self
            .pending_selected_node
            .as_ref()
            .filter(|node| node.layer == graph.request.layer)?;
        let found = graph
            .nodes
            .iter()
            .position(|node| node.name == pending.node_name);
        if found.is_none() {
            self.banner = Some(Banner {
                kind: FailureKind::LinkProblem,
                message: format!(
                    "The link selects node '{}' of layer '{}', which this graph does not have; nothing is selected.",
                    pending.node_name, pending.layer
                ),
            });
        }
        self.pending_selected_node = None;
        Some(found)
    }

    /// The glyph images of the current graph, when they have arrived.
    pub fn current_glyphs(&self) -> Option<&Vec<Option<String>>> {
        self.glyphs
            .as_ref()
            .filter(|(version, _)| *version == self.graph_version)
            .map(|(_, images)| images)
    }

    /// Positions of the current graph's nodes by name (warm start of the next layout), when
    /// the next graph is of the same layer.
    pub fn previous_positions_for(&self, request: &GraphRequest) -> Vec<(String, [f64; 2])> {
        let same_layer = |graph: &&DrawnGraph| graph.request.layer == request.layer;
        let slot_graphs = self.multilayer.graphs.iter().flatten();
        let previous = match self.mode {
            ViewMode::Single => self.graph.as_ref().filter(same_layer),
            ViewMode::Multilayer => slot_graphs
                .clone()
                .find(same_layer)
                .or(self.graph.as_ref().filter(same_layer)),
        };
        previous
            .map(|graph| {
                graph
                    .nodes
                    .iter()
                    .map(|node| (node.name.clone(), node.position))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether node `node_idx` of the current graph carries a highlighted class among its
    /// top three.
    pub fn is_node_highlighted(&self, node_idx: usize) -> bool {
        let Some(node) = self
            .graph
            .as_ref()
            .and_then(|graph| graph.nodes.get(node_idx))
        else {
            return false;
        };
        node.top_classes
            .iter()
            .any(|share| self.highlighted_classes.contains(&share.class_idx))
    }

    /// Escape: clears the banner, else the selection, else the highlighted classes.
    pub fn escape(&mut self) {
        if self.banner.is_some() {
            self.banner = None;
        } else if self.mode == ViewMode::Multilayer && self.multilayer.selected.is_some() {
            self.multilayer.selected = None;
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
    use crate::protocol::WorkerError;
    use topoact_core::dataset::{Dtype, LayerSummary};

    fn summary(name: &str, layers: &[&str]) -> DatasetSummary {
        DatasetSummary {
            name: name.into(),
            n_samples: 10,
            layers: layers
                .iter()
                .map(|l| LayerSummary {
                    name: (*l).into(),
                    dim: 4,
                    dtype: Dtype::F32,
                })
                .collect(),
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
        FromWorker::Loaded {
            request_id,
            summary,
            elapsed_ms: 1000.0,
            bytes_read: 1,
            source: DatasetRef::Demo,
        }
    }

    fn projection(method: ProjectionMethod, complete: bool) -> DrawnProjection {
        DrawnProjection {
            request: ProjectionRequest {
                layer: "a".into(),
                subsample: SubsampleChoice::default(),
                method,
                seed: 0,
            },
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
        assert_eq!(
            model.running_request_id(),
            Some(graph_request),
            "a projection never supersedes the graph"
        );
        model.apply(FromWorker::ProjectionFrame {
            request_id: old,
            projection: projection(ProjectionMethod::DEFAULT_UMAP, false),
        });
        assert!(model.projection.is_none());
        let version = model.projection_version;
        model.apply(FromWorker::ProjectionFrame {
            request_id: new,
            projection: projection(ProjectionMethod::DEFAULT_TSNE, false),
        });
        assert_eq!(model.projection_version, version + 1);
        assert!(model.projection_running.is_some(), "a frame is not the end");
        model.apply(FromWorker::Projection {
            request_id: new,
            projection: projection(ProjectionMethod::DEFAULT_TSNE, true),
        });
        assert!(model.projection_running.is_none());
        assert_eq!(
            model.projection.as_ref().map(|p| p.coords()),
            Some(vec![[0.0, 1.0], [2.0, 3.0]])
        );
        // Its failure or cancellation clears only the projection's progress.
        let failing = model.begin_projection("umap");
        model.apply(FromWorker::Failed {
            request_id: failing,
            error: WorkerError::Projection {
                message: "too few".into(),
            },
        });
        assert!(model.projection_running.is_none());
        assert_eq!(model.running_request_id(), Some(graph_request));
        assert!(model.projection.is_some(), "the previous projection stays");
    }

    #[test]
    fn escape_clears_the_node_then_the_sample_selection_then_the_classes() {
        let mut model = AppModel {
            selected_node: Some(1),
            sample_selection: Some(SampleSelection { samples: vec![3] }),
            highlighted_classes: vec![2],
            ..AppModel::default()
        };
        model.escape();
        assert_eq!(
            (
                model.selected_node,
                model.sample_selection.is_some(),
                model.highlighted_classes.len()
            ),
            (None, true, 1)
        );
        model.escape();
        assert_eq!(
            (
                model.sample_selection.is_some(),
                model.highlighted_classes.len()
            ),
            (false, 1)
        );
        model.escape();
        assert!(model.highlighted_classes.is_empty());
    }

    #[test]
    fn a_failed_load_keeps_the_previous_dataset() {
        let mut model = AppModel::default();
        let first = model.begin("demo");
        model.apply(loaded(first, summary("demo", &["a", "b"])));
        let second = model.begin("bad file");
        model.apply(FromWorker::Failed {
            request_id: second,
            error: WorkerError::BadFile {
                message: "not npy".into(),
            },
        });
        assert_eq!(
            model.dataset.as_ref().map(|d| d.name.as_str()),
            Some("demo")
        );
        assert_eq!(
            model.banner.as_ref().map(|b| b.message.as_str()),
            Some("not npy")
        );
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
        model.apply(FromWorker::Progress {
            request_id: old,
            progress: Progress::new("reading", 1, 2),
        });
        assert_eq!(
            model.running.as_ref().and_then(|r| r.progress.clone()),
            None
        );
        model.apply(loaded(new, summary("small", &["y"])));
        assert_eq!(
            model.dataset.as_ref().map(|d| d.name.as_str()),
            Some("small")
        );
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

    fn drawn_graph(request: GraphRequest, members: &[&[u32]]) -> DrawnGraph {
        DrawnGraph {
            request,
            diagnostics: None,
            nodes: members
                .iter()
                .enumerate()
                .map(|(idx, m)| crate::protocol::DrawnNode {
                    name: format!("cube{idx}_cluster0"),
                    size: m.len(),
                    lens_mean: 0.0,
                    top_classes: vec![],
                    members: m.to_vec(),
                    position: [0.0, 0.0],
                    radius: 1.0,
                })
                .collect(),
            edges: vec![],
            stats: topoact_core::mapper::graph_stats(&[], &[], 0),
            eps_global: None,
            n_samples_used: 10,
            lens_range: [0.0, 1.0],
            lens_by_sample: Vec::new(),
            class_names: vec![],
            mapper_ms: 0.0,
            layout_ms: 0.0,
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_multilayer_row_centres_on_the_chosen_layer_and_clamps_at_the_ends() {
        let all = names(&["a", "b", "c", "d", "e"]);
        assert_eq!(layers_around(&all, "c"), names(&["b", "c", "d"]));
        assert_eq!(layers_around(&all, "a"), names(&["a", "b", "c"]));
        assert_eq!(layers_around(&all, "e"), names(&["c", "d", "e"]));
        assert_eq!(layers_around(&names(&["x", "y"]), "y"), names(&["x", "y"]));
    }

    #[test]
    fn graphs_go_to_their_positions_and_are_reused_from_the_cache() {
        let mut model = AppModel::default();
        let load = model.begin("demo");
        model.apply(loaded(load, summary("demo", &["a", "b", "c", "d"])));
        model.selected_layer = Some("b".into());
        model.set_multilayer_layers(layers_around(&names(&["a", "b", "c", "d"]), "b"));
        model.mode = ViewMode::Multilayer;
        assert_eq!(model.multilayer.layers, names(&["a", "b", "c"]));
        // The row asks for its graphs one position at a time.
        let (position, request) = model.next_missing_slot().expect("missing");
        assert_eq!((position, request.layer.as_str()), (0, "a"));
        let id = model.begin("a");
        model.apply(FromWorker::Graph {
            request_id: id,
            graph: drawn_graph(request, &[&[0, 1, 2], &[3, 4]]),
        });
        assert!(model.multilayer.graphs[0].is_some());
        assert!(model.graph.is_none(), "layer a is not the chosen layer b");
        let (position, request) = model.next_missing_slot().expect("missing");
        assert_eq!(position, 1);
        let id = model.begin("b");
        model.apply(FromWorker::Graph {
            request_id: id,
            graph: drawn_graph(request, &[&[0, 1], &[2, 3, 4]]),
        });
        assert_eq!(
            model.graph.as_ref().map(|g| g.request.layer.as_str()),
            Some("b"),
            "the chosen layer's graph is the single-layer graph too"
        );
        // Selecting a node of b shades the nodes of a by the share of its members they hold.
        model.select_at(GraphSlot::Layer(1), Some(1));
        assert_eq!(
            model.shading_at(GraphSlot::Layer(0)),
            Some(vec![1.0 / 3.0, 2.0 / 3.0])
        );
        assert_eq!(
            model.shading_at(GraphSlot::Layer(1)),
            None,
            "not in its own layer"
        );
        assert_eq!(
            model.selected_node_name().as_deref(),
            Some("cube1_cluster0")
        );
        // Moving the row away and back reuses the computed graphs.
        model.set_multilayer_layers(names(&["b", "c", "d"]));
        assert!(
            model.multilayer.graphs[0].is_some(),
            "b comes from the cache"
        );
        assert_eq!(
            model.next_missing_slot().map(|(p, r)| (p, r.layer)),
            Some((1, "c".into()))
        );
        model.set_multilayer_layers(names(&["a", "b", "c"]));
        assert!(model.multilayer.graphs[0].is_some() && model.multilayer.graphs[1].is_some());
        // New parameters make every position stale (their graphs stay on screen meanwhile).
        model.mapper_params.n_intervals += 1;
        assert_eq!(model.next_missing_slot().map(|(p, _)| p), Some(0));
        assert!(model.multilayer.graphs[0].is_some());
    }

    #[test]
    fn escape_in_multilayer_mode_clears_the_row_selection_first() {
        let mut model = AppModel {
            mode: ViewMode::Multilayer,
            selected_node: Some(0),
            ..AppModel::default()
        };
        model.multilayer.selected = Some((2, 5));
        model.escape();
        assert_eq!(
            (model.multilayer.selected, model.selected_node),
            (None, Some(0))
        );
    }

    fn loaded_model(layers: &[&str]) -> AppModel {
        let mut model = AppModel::default();
        let load = model.begin("demo");
        let mut data = summary("demo", layers);
        data.classes = (0..3)
            .map(|idx| topoact_core::dataset::ClassSummary {
                name: format!("class{idx}"),
                count: 3,
            })
            .collect();
        model.apply(loaded(load, data));
        model
    }

    #[test]
    fn a_view_state_applied_to_the_same_data_gives_the_same_view_state() {
        let mut model = loaded_model(&["a", "b", "c"]);
        model.selected_layer = Some("b".into());
        model.mapper_params.n_intervals = 12;
        model.subsample = SubsampleChoice {
            size: Some(8),
            seed: 3,
        };
        model.colour_by = ColourBy::Purity;
        model.point_colour = PointColour::Lens;
        model.jaccard_threshold = 0.25;
        model.highlighted_classes = vec![2, 0];
        model.sample_selection = Some(SampleSelection {
            samples: vec![1, 4, 9],
        });
        model.mode = ViewMode::Multilayer;
        model.multilayer.ribbon_threshold = 0.4;
        model.pending_selected_node = Some(NodeRef {
            layer: "b".into(),
            node_name: "cube1_cluster0".into(),
        });
        let state = model.view_state().expect("state");
        assert_eq!(state.dataset, DatasetRef::Demo);

        let mut restored = loaded_model(&["a", "b", "c"]);
        assert!(restored.apply_view_state(&state).is_empty());
        assert_eq!(restored.view_state(), Some(state.clone()));
        assert_eq!(restored.restored_projection, Some(false));
        // The selected node is selected when its graph arrives.
        let request = restored.slot_request(1).expect("b is in the row");
        let id = restored.begin("b");
        restored.apply(FromWorker::Graph {
            request_id: id,
            graph: drawn_graph(request, &[&[0], &[1, 2]]),
        });
        assert_eq!(restored.multilayer.selected, Some((1, 1)));
        assert!(restored.pending_selected_node.is_none());
    }

    #[test]
    fn parts_of_a_link_that_do_not_fit_the_data_are_named_and_the_rest_applied() {
        let mut model = loaded_model(&["a", "b"]);
        model.highlighted_classes = vec![1];
        let mut state = model.view_state().expect("state");
        state.layer = Some("gone".into());
        state.highlighted_classes = vec![1, 99];
        state.sample_selection = vec![2, 50];
        let mut restored = loaded_model(&["a", "b"]);
        let problems = restored.apply_view_state(&state);
        assert!(problems.iter().any(|p| p.contains("gone")), "{problems:?}");
        assert_eq!(
            restored.selected_layer.as_deref(),
            Some("a"),
            "the layer stays where it was"
        );
        assert_eq!(restored.highlighted_classes, vec![1]);
        assert_eq!(restored.sample_selection.map(|s| s.samples), Some(vec![2]));
    }

    #[test]
    fn a_link_waits_for_its_data_and_a_different_file_is_refused() {
        let file = DatasetRef::File {
            name: "acts.npz".into(),
            size_bytes: 10,
            content_hash: "00aa".into(),
        };
        let mut model = AppModel::default();
        let mut state = SessionState {
            dataset: file.clone(),
            layer: Some("b".into()),
            ..SessionState::default()
        };
        model.pending_link = Some(state.clone());
        let load = model.begin("other file");
        let other = DatasetRef::File {
            name: "acts.npz".into(),
            size_bytes: 10,
            content_hash: "00bb".into(),
        };
        model.apply(FromWorker::Loaded {
            request_id: load,
            summary: summary("x", &["a", "b"]),
            elapsed_ms: 1.0,
            bytes_read: 10,
            source: other,
        });
        assert!(model
            .banner
            .as_ref()
            .is_some_and(|b| b.message.contains("not the data the link was made with")));
        assert_eq!(
            model.selected_layer.as_deref(),
            Some("a"),
            "the link was not applied"
        );
        // The same file (renamed) is accepted.
        state.dataset = file;
        model.pending_link = Some(state);
        let load = model.begin("the file");
        let renamed = DatasetRef::File {
            name: "renamed.npz".into(),
            size_bytes: 10,
            content_hash: "00aa".into(),
        };
        model.apply(FromWorker::Loaded {
            request_id: load,
            summary: summary("x", &["a", "b"]),
            elapsed_ms: 1.0,
            bytes_read: 10,
            source: renamed,
        });
        assert_eq!(model.selected_layer.as_deref(), Some("b"));
    }

    #[test]
    fn a_link_naming_a_node_the_graph_does_not_have_selects_nothing_and_says_so() {
        let mut model = loaded_model(&["a"]);
        let mut state = model.view_state().expect("state");
        state.selected_node = Some(NodeRef {
            layer: "a".into(),
            node_name: "cube99_cluster7".into(),
        });
        assert!(model.apply_view_state(&state).is_empty());
        let request = model.graph_request().expect("request");
        let id = model.begin("a");
        model.apply(FromWorker::Graph {
            request_id: id,
            graph: drawn_graph(request, &[&[0, 1]]),
        });
        assert_eq!(model.selected_node, None);
        let banner = model.banner.clone().expect("banner");
        assert_eq!(banner.kind, FailureKind::LinkProblem);
        assert!(banner.message.contains("cube99_cluster7"));
        // The message survives the next request (it is about the link, not about that request).
        model.begin("next");
        assert!(model.banner.is_some());
    }
}
