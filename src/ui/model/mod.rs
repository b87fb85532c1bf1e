//! The UI thread's state as plain values, with its transitions (tested natively).
//!
//! [`AppModel`] is split by concern:
//! - [`AppModel::session`]: the [`SessionState`], the truth of what a person set and sees.
//!   The URL fragment is its encoding; nothing in it is derived.
//! - the loaded data's facts ([`AppModel::dataset`], [`AppModel::dataset_ref`]): answers of
//!   the worker, not settings;
//! - [`Results`]: graphs, projection, examples, glyphs: caches keyed by the request that made
//!   them, never part of the session;
//! - [`InFlight`]: the requests the worker is working on, and those given up;
//! - the banner and the status line.
//!
//! Transitions: [`AppModel::on_user_action`] (a [`UserAction`] changes the session, or what
//! is shown beside it),
//! [`AppModel::on_worker_answer`] (an answer fills the caches; an answer to a superseded
//! request is dropped by its request id), and [`AppModel::next_requests`], which derives the
//! worker requests from the session and the caches. The app calls `next_requests` after
//! every change, so whatever changed the session (a click, a link, Back), the requests follow.
//! Components never hold the model: they read and act through `ui::context::Ui`.

mod actions;
mod answers;
mod colours;
mod requests;
mod results;
#[cfg(test)]
mod tests;

use topoact_core::dataset::DatasetSummary;

use crate::protocol::{DrawnGraph, FailureKind, GraphRequest, ProjectionRequest, RequestId};
use crate::session::SessionState;
pub use crate::vocabulary::ViewMode;
use crate::vocabulary::{DatasetRef, NodeRef, ProjectionMethod, SubsampleChoice};
pub use actions::UserAction;
pub use colours::{ColourBy, PointColour};
pub use requests::{InFlight, Purpose, RunningRequest, NEIGHBOURS_LISTED};
pub use results::{GraphSlot, Results, GRAPH_CACHE_SIZE};

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

/// Ribbons between adjacent layers with a Jaccard index at or below this are hidden.
pub const DEFAULT_RIBBON_THRESHOLD: f64 = 0.2;

/// Largest subsample projected without being asked (UMAP takes seconds up to here).
pub const AUTO_PROJECT_MAX_POINTS: usize = 10_000;

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

/// The session a fresh page starts from: the demo (or `?data=`), every setting at its
/// default.
pub fn initial_session(dataset: DatasetRef) -> SessionState {
    SessionState {
        dataset,
        show_ribbons: true,
        ribbon_threshold: DEFAULT_RIBBON_THRESHOLD,
        ..SessionState::default()
    }
}

/// Everything the UI shows: the session and what the worker computed for it.
#[derive(Clone, Debug, PartialEq)]
pub struct AppModel {
    /// What the person set and sees; the link is its encoding (cameras and the search text
    /// live in `link::ViewSignals`, which change every frame, and are folded in when the
    /// link is written).
    pub session: SessionState,
    /// Threads the worker computes on (0 until it is ready).
    pub compute_threads: usize,
    /// The loaded data's summary (the dataset itself lives in the worker).
    pub dataset: Option<DatasetSummary>,
    /// Which data is loaded, as a link names it.
    pub dataset_ref: Option<DatasetRef>,
    pub last_load: Option<LoadStats>,
    pub results: Results,
    pub requests: InFlight,
    pub banner: Option<Banner>,
    /// A one-line status for the status bar ("Cancelled.", "Loaded ... in 1.2 s").
    pub status: String,
    /// A link's selected node not yet found in a graph: a banner says so if its graph lacks
    /// it (a node the person selected and a recompute removed just disappears).
    pub link_node_unverified: Option<NodeRef>,
    /// A link waits for the person to give it the file it names.
    pub awaiting_link_file: bool,
}

impl Default for AppModel {
    fn default() -> Self {
        Self {
            session: initial_session(DatasetRef::Demo),
            compute_threads: 0,
            dataset: None,
            dataset_ref: None,
            last_load: None,
            results: Results::default(),
            requests: InFlight::default(),
            banner: None,
            status: String::new(),
            link_node_unverified: None,
            awaiting_link_file: false,
        }
    }
}

impl AppModel {
    /// A model whose session starts from `session` (a fresh page: the demo or `?data=`).
    pub fn with_session(session: SessionState) -> Self {
        Self {
            session,
            ..Self::default()
        }
    }

    pub fn mode(&self) -> ViewMode {
        self.session.mode
    }

    pub fn selected_layer(&self) -> Option<&str> {
        self.session.layer.as_deref()
    }

    /// The node colour the session asks for (the default when the loaded data has no such
    /// column).
    pub fn colour_by(&self) -> ColourBy {
        ColourBy::from_key(&self.session.colour_by, self.dataset.as_ref()).unwrap_or_default()
    }

    /// The point colour the session asks for (the default when the loaded data has no
    /// such column).
    pub fn point_colour(&self) -> PointColour {
        PointColour::from_key(&self.session.point_colour, self.dataset.as_ref()).unwrap_or_default()
    }

    pub fn subsample(&self) -> SubsampleChoice {
        SubsampleChoice {
            size: self.session.subsample_size,
            seed: self.session.subsample_seed,
        }
    }

    /// Whether the loaded data is the data the session names.
    pub fn data_matches_session(&self) -> bool {
        self.dataset_ref
            .as_ref()
            .is_some_and(|loaded| crate::vocabulary::same_data(&self.session.dataset, loaded))
    }

    /// Layer names of the loaded data, in the file's order.
    pub fn layer_names(&self) -> Vec<String> {
        self.dataset
            .iter()
            .flat_map(|d| d.layers.iter().map(|l| l.name.clone()))
            .collect()
    }

    /// The request for the single-layer graph the session describes.
    pub fn graph_request(&self) -> Option<GraphRequest> {
        let layer = self.session.layer.clone()?;
        Some(GraphRequest {
            layer,
            subsample: self.subsample(),
            params: self.session.mapper.clone(),
        })
    }

    /// The graph request of a multilayer position for the current parameters.
    pub fn slot_request(&self, position: usize) -> Option<GraphRequest> {
        let layer = self.session.multilayer_layers.get(position)?.clone();
        Some(GraphRequest {
            layer,
            subsample: self.subsample(),
            params: self.session.mapper.clone(),
        })
    }

    /// The projection the session shows, as a request: the graph's layer and subsample, so a
    /// node's members are all among the points.
    pub fn projection_request(&self) -> Option<ProjectionRequest> {
        self.projection_request_for(self.session.projection.clone()?)
    }

    /// The request `method` would make for the session's layer and subsample.
    pub fn projection_request_for(&self, method: ProjectionMethod) -> Option<ProjectionRequest> {
        let layer = self.session.layer.clone()?;
        Some(ProjectionRequest {
            layer,
            subsample: self.subsample(),
            method,
            seed: 0,
        })
    }

    /// Whether the projection on screen was made for another request than the session's
    /// (another subsample, layer or method): drawn, but marked stale with "Update".
    pub fn projection_is_stale(&self) -> bool {
        match (&self.results.projection, self.projection_request()) {
            (Some(shown), Some(wanted)) => shown.request != wanted,
            _ => false,
        }
    }

    /// The projection method the session's layer gets without being asked: the file's own
    /// coordinates when it has them, else UMAP when the subsample is small, else none (larger
    /// layers wait for "Compute").
    pub fn automatic_projection(&self) -> Option<ProjectionMethod> {
        use topoact_core::dataset::ProjectionKind;
        let layer = self.session.layer.as_deref()?;
        let dataset = self.dataset.as_ref()?;
        let precomputed = [ProjectionKind::Tsne, ProjectionKind::Umap]
            .into_iter()
            .find(|kind| {
                dataset
                    .projections
                    .iter()
                    .any(|(l, k)| l == layer && k == kind)
            });
        match precomputed {
            Some(kind) => Some(ProjectionMethod::Precomputed { kind }),
            None if self.subsample().resolve(dataset.n_samples) <= AUTO_PROJECT_MAX_POINTS => {
                Some(ProjectionMethod::DEFAULT_UMAP)
            }
            None => None,
        }
    }

    /// Whether node `node_idx` of the single-layer graph carries a highlighted class among
    /// its top three.
    pub fn is_node_highlighted(&self, node_idx: usize) -> bool {
        let Some(node) = self
            .results
            .graph
            .as_ref()
            .and_then(|graph| graph.nodes.get(node_idx))
        else {
            return false;
        };
        node.top_classes
            .iter()
            .any(|share| self.session.highlighted_classes.contains(&share.class_idx))
    }

    /// Which nodes of the graph in `slot` are highlighted: a highlighted class among its top
    /// three, or the mistakes highlighted (any, or one confused pair). `None` when nothing
    /// is highlighted.
    pub fn node_highlights_at(&self, slot: GraphSlot) -> Option<Vec<bool>> {
        let classes = &self.session.highlighted_classes;
        let mistakes = self.session.highlighted_mistakes;
        if classes.is_empty() && mistakes.is_none() {
            return None;
        }
        let graph = self.graph_at(slot)?;
        Some(
            graph
                .nodes
                .iter()
                .map(|node| {
                    node.top_classes
                        .iter()
                        .any(|share| classes.contains(&share.class_idx))
                        || mistakes.is_some_and(|highlight| {
                            node.mistakes.as_ref().is_some_and(|m| highlight.matches(m))
                        })
                })
                .collect(),
        )
    }

    /// Dismisses the banner (Escape, or its close button).
    pub fn dismiss_banner(&mut self) {
        self.banner = None;
    }

    /// The compute worker could not start, or stopped: what it was doing is over, and the
    /// banner says why.
    pub fn on_worker_failure(&mut self, message: String) {
        self.requests.running = None;
        self.banner = Some(Banner {
            kind: FailureKind::Internal,
            message,
        });
    }

    /// What the person does next replaces a message about what failed before; a message about
    /// a link (or asking for its file) stays until dismissed: the work it started follows.
    /// Requests derived from the session do not clear it (a failed load's message stays
    /// while the graph it interrupted is computed again).
    pub fn clear_failure_banner(&mut self) {
        if self.banner.as_ref().is_some_and(|banner| {
            !matches!(
                banner.kind,
                FailureKind::LinkProblem | FailureKind::NeedsFile
            )
        }) {
            self.banner = None;
        }
    }

    /// Shows a banner about a link (it stays until dismissed: the work it started follows).
    fn link_banner(&mut self, message: String) {
        self.banner = Some(Banner {
            kind: FailureKind::LinkProblem,
            message,
        });
    }

    /// The id of the running request, for Cancel.
    pub fn running_request_id(&self) -> Option<RequestId> {
        self.requests.running.as_ref().map(|r| r.request_id)
    }

    /// The graph a view shows.
    pub fn graph_at(&self, slot: GraphSlot) -> Option<&DrawnGraph> {
        self.results.graph_at(slot)
    }
}
