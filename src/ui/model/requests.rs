//! Requests derived from the session: [`AppModel::next_requests`] compares what the session
//! asks for (its data, its graphs, its projection) with what is loaded, cached and in flight,
//! and returns the messages that close the gap. It is idempotent: called again at once, it
//! returns nothing. A request that failed or was cancelled is given up: it is not asked again
//! until the person asks (Recompute, Compute, another setting).

use topoact_core::job::Progress;

use super::{AppModel, Banner, PointColour, ViewMode, AUTO_PROJECT_MAX_POINTS};
use crate::protocol::{
    FailureKind, GraphRequest, ProjectionMethod, ProjectionRequest, RequestId, SampleNeighbour,
    SampleValuesOf, ToWorker, IMPORTED_LAYER_PREFIX,
};

/// Nearest neighbours listed for a clicked sample.
pub const NEIGHBOURS_LISTED: usize = 10;
use crate::vocabulary::DatasetRef;

/// What a running request is for (so its answer, failure or cancellation lands right).
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    /// Loading data: the session's (`Some`), or files the person gave (`None`; they may
    /// hold a graph file).
    Load(Option<DatasetRef>),
    Graph(GraphRequest),
    Projection(ProjectionRequest),
    /// "All layers compared".
    Comparison,
    /// A file to download, or a benchmark's synthetic graph.
    Other,
}

/// A request the worker is working on.
#[derive(Clone, Debug, PartialEq)]
pub struct RunningRequest {
    pub request_id: RequestId,
    /// What the person asked for, e.g. "Loading activations.npz".
    pub description: String,
    pub progress: Option<Progress>,
    pub purpose: Purpose,
}

/// Requests in flight, and those given up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InFlight {
    next_request_id: RequestId,
    /// The long request running: a load, a graph, a comparison (one at a time; a new one
    /// supersedes it in the worker).
    pub running: Option<RunningRequest>,
    /// The projection being computed (its own progress and Cancel, beside the graph's).
    pub projection_running: Option<RunningRequest>,
    /// Graphs that failed or were cancelled.
    pub given_up_graphs: Vec<GraphRequest>,
    pub given_up_projection: Option<ProjectionRequest>,
    pub given_up_data: Option<DatasetRef>,
    /// The projection the person or a link asked for: computed whatever its size (larger
    /// projections are otherwise only marked stale, with one click to update).
    pub asked_projection: Option<ProjectionRequest>,
    /// The neighbour list last asked for: (layer, sample_idx).
    pub neighbours_asked: Option<(String, u32)>,
    /// The point values last asked for.
    pub sample_values_asked: Option<SampleValuesOf>,
}

impl InFlight {
    fn next_id(&mut self) -> RequestId {
        self.next_request_id += 1;
        self.next_request_id
    }

    /// Forgets the short requests asked (new data: their answers are gone).
    pub fn forget_short_requests(&mut self) {
        self.neighbours_asked = None;
        self.sample_values_asked = None;
    }

    /// Forgets what was given up (the person asked again, or new data arrived).
    pub fn forgive(&mut self) {
        self.given_up_graphs.clear();
        self.given_up_projection = None;
        self.given_up_data = None;
    }
}

impl AppModel {
    /// Registers a new long request (superseding the one running) and returns its id.
    pub fn begin(&mut self, description: impl Into<String>, purpose: Purpose) -> RequestId {
        let request_id = self.requests.next_id();
        self.requests.running = Some(RunningRequest {
            request_id,
            description: description.into(),
            progress: None,
            purpose,
        });
        request_id
    }

    /// Registers a short request that supersedes nothing (examples, thumbnails, glyphs).
    pub fn short_request_id(&mut self) -> RequestId {
        self.requests.next_id()
    }

    /// Registers a projection request (superseding the previous projection only).
    fn begin_projection(&mut self, request: ProjectionRequest) -> RequestId {
        let request_id = self.requests.next_id();
        self.requests.projection_running = Some(RunningRequest {
            request_id,
            description: format!("{} of {}", request.method.label(), request.layer),
            progress: None,
            purpose: Purpose::Projection(request),
        });
        request_id
    }

    /// The messages that bring the worker's work in line with the session.
    pub fn next_requests(&mut self) -> Vec<ToWorker> {
        let mut out = Vec::new();
        if !self.data_matches_session() {
            self.request_data(&mut out);
            return out;
        }
        if self.is_loading() {
            return out;
        }
        self.show_cached_graphs();
        self.request_graph(&mut out);
        self.request_projection(&mut out);
        self.request_neighbours(&mut out);
        self.request_sample_values(&mut out);
        out
    }

    /// The neighbour list the session shows: (layer, sample_idx).
    pub fn wanted_neighbours(&self) -> Option<(String, u32)> {
        let sample_idx = self.session.neighbours_of?;
        let layer = self.session.layer.clone()?;
        (!layer.starts_with(IMPORTED_LAYER_PREFIX)).then_some((layer, sample_idx))
    }

    /// The neighbour list on screen: the session's sample and its neighbours, nearest first,
    /// once the worker sent them.
    pub fn shown_neighbours(&self) -> Option<(u32, &[SampleNeighbour])> {
        let (layer, sample_idx) = self.wanted_neighbours()?;
        let (shown_layer, shown_sample, neighbours) = self.results.neighbours.as_ref()?;
        (*shown_layer == layer && *shown_sample == sample_idx)
            .then_some((sample_idx, neighbours.as_slice()))
    }

    /// Asks for the neighbours of the session's sample, once per (layer, sample).
    fn request_neighbours(&mut self, out: &mut Vec<ToWorker>) {
        let Some(wanted) = self.wanted_neighbours() else {
            return;
        };
        let shown = self
            .results
            .neighbours
            .as_ref()
            .map(|(layer, sample_idx, _)| (layer.clone(), *sample_idx));
        if shown.as_ref() == Some(&wanted)
            || self.requests.neighbours_asked.as_ref() == Some(&wanted)
        {
            return;
        }
        self.requests.neighbours_asked = Some(wanted.clone());
        let request_id = self.short_request_id();
        out.push(ToWorker::Neighbours {
            request_id,
            layer: wanted.0,
            sample_idx: wanted.1,
            k: NEIGHBOURS_LISTED,
        });
    }

    /// The per-sample values the projection's point colour needs.
    pub fn wanted_sample_values(&self) -> Option<SampleValuesOf> {
        self.session.projection.as_ref()?;
        let dataset = self.dataset.as_ref();
        match self.point_colour() {
            PointColour::Correctness => Some(SampleValuesOf::Correctness),
            colour => colour.column_needed(dataset).map(SampleValuesOf::Column),
        }
    }

    /// Asks for the point values the colour needs, once per column.
    fn request_sample_values(&mut self, out: &mut Vec<ToWorker>) {
        let Some(wanted) = self.wanted_sample_values() else {
            return;
        };
        let shown = self.results.sample_values.as_ref().map(|values| &values.of);
        if shown == Some(&wanted) || self.requests.sample_values_asked.as_ref() == Some(&wanted) {
            return;
        }
        self.requests.sample_values_asked = Some(wanted.clone());
        let request_id = self.short_request_id();
        out.push(ToWorker::SampleValues {
            request_id,
            of: wanted,
        });
    }

    /// Whether data is being loaded (it replaces everything: nothing else is asked meanwhile).
    fn is_loading(&self) -> bool {
        self.requests
            .running
            .as_ref()
            .is_some_and(|r| matches!(r.purpose, Purpose::Load(_)))
    }

    fn request_data(&mut self, out: &mut Vec<ToWorker>) {
        let wanted = self.session.dataset.clone();
        if self.is_loading() || self.requests.given_up_data.as_ref() == Some(&wanted) {
            return;
        }
        let purpose = Purpose::Load(Some(wanted.clone()));
        match wanted {
            DatasetRef::Demo => {
                let request_id = self.begin("Loading the demo", purpose);
                out.push(ToWorker::LoadUrl {
                    request_id,
                    url: super::super::DEMO_URL.into(),
                    drop_nonfinite: false,
                });
            }
            DatasetRef::Url { url } => {
                let request_id = self.begin(format!("Loading {url}"), purpose);
                out.push(ToWorker::LoadUrl {
                    request_id,
                    url,
                    drop_nonfinite: false,
                });
            }
            DatasetRef::Synthetic {
                n_samples,
                dim,
                seed,
            } => {
                let request_id = self.begin(
                    format!("Generating synthetic data ({n_samples} x {dim})"),
                    purpose,
                );
                out.push(ToWorker::LoadSynthetic {
                    request_id,
                    n_samples,
                    dim,
                    seed,
                    n_layers: 1,
                });
            }
            DatasetRef::File {
                name, size_bytes, ..
            } => {
                if !self.awaiting_link_file {
                    self.awaiting_link_file = true;
                    self.banner = Some(Banner {
                        kind: FailureKind::NeedsFile,
                        message: format!(
                            "This link shows a view of the file '{name}' ({}), which stays on the computer of whoever made the link. Drop that file here, or choose it, to see the view.",
                            crate::format::byte_size(size_bytes)
                        ),
                    });
                }
            }
        }
    }

    /// The graphs the session shows: the single-layer graph, or the multilayer row's.
    /// An imported graph is not recomputed (it is what its file says).
    pub fn wanted_graphs(&self) -> Vec<GraphRequest> {
        let requests = match self.session.mode {
            ViewMode::Single => self.graph_request().into_iter().collect::<Vec<_>>(),
            ViewMode::Multilayer => (0..self.session.multilayer_layers.len())
                .filter_map(|position| self.slot_request(position))
                .collect(),
        };
        requests
            .into_iter()
            .filter(|r| !r.layer.starts_with(IMPORTED_LAYER_PREFIX))
            .collect()
    }

    /// Puts graphs computed before into the views that now ask for them.
    fn show_cached_graphs(&mut self) {
        if let Some(request) = self.graph_request() {
            let shown = self.results.graph.as_ref().map(|g| &g.request);
            if shown != Some(&request) {
                if let Some(cached) = self.results.cached_graph(&request).cloned() {
                    self.results.show_main(cached.clone());
                    self.check_selected_node(&cached);
                }
            }
        }
        if self.results.row_graphs.len() != self.session.multilayer_layers.len() {
            self.results.reset_row(self.session.multilayer_layers.len());
        }
        for position in 0..self.session.multilayer_layers.len() {
            let Some(request) = self.slot_request(position) else {
                continue;
            };
            let shown = self.results.row_graphs[position]
                .as_ref()
                .map(|g| &g.request);
            if shown == Some(&request) {
                continue;
            }
            if let Some(cached) = self.results.cached_graph(&request).cloned() {
                self.results.show_at(position, cached.clone());
                self.check_selected_node(&cached);
            }
        }
    }

    fn request_graph(&mut self, out: &mut Vec<ToWorker>) {
        let wanted = self.wanted_graphs();
        let running_graph = match self.requests.running.as_ref().map(|r| &r.purpose) {
            Some(Purpose::Graph(request)) if wanted.contains(request) => return,
            Some(Purpose::Graph(_)) => true,
            _ => false,
        };
        let missing = wanted.iter().enumerate().find(|(_, request)| {
            self.results.cached_graph(request).is_none()
                && !self.requests.given_up_graphs.contains(request)
        });
        match missing {
            Some((position, request)) => {
                let request = request.clone();
                let description = match self.session.mode {
                    ViewMode::Multilayer => format!(
                        "Computing the mapper graph of {} (layer {} of {})",
                        request.layer,
                        position + 1,
                        wanted.len()
                    ),
                    ViewMode::Single => {
                        format!("Computing the mapper graph of {}", request.layer)
                    }
                };
                let previous_positions = self.previous_positions_for(&request);
                let request_id = self.begin(description, Purpose::Graph(request.clone()));
                out.push(ToWorker::ComputeGraph {
                    request_id,
                    request,
                    previous_positions,
                });
            }
            None if running_graph => {
                // The running graph is no longer wanted (a setting changed back).
                if let Some(running) = self.requests.running.take() {
                    out.push(ToWorker::Cancel {
                        request_id: running.request_id,
                    });
                }
            }
            None => {}
        }
    }

    /// Positions of the shown graph's nodes by name (warm start of the next layout), when
    /// the next graph is of the same layer.
    pub fn previous_positions_for(&self, request: &GraphRequest) -> Vec<(String, [f64; 2])> {
        let same_layer =
            |graph: &&crate::protocol::DrawnGraph| graph.request.layer == request.layer;
        let previous = match self.session.mode {
            ViewMode::Single => self.results.graph.as_ref().filter(same_layer),
            ViewMode::Multilayer => self
                .results
                .row_graphs
                .iter()
                .flatten()
                .find(same_layer)
                .or(self.results.graph.as_ref().filter(same_layer)),
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

    /// Whether the session's projection is computed without a click: the file's own
    /// coordinates, a small subsample, or one the person (or a link) asked for.
    fn projection_is_automatic(&self, wanted: &ProjectionRequest) -> bool {
        let n_samples = self.dataset.as_ref().map_or(0, |d| d.n_samples);
        matches!(wanted.method, ProjectionMethod::Precomputed { .. })
            || wanted.subsample.resolve(n_samples) <= AUTO_PROJECT_MAX_POINTS
            || self.requests.asked_projection.as_ref() == Some(wanted)
    }

    fn request_projection(&mut self, out: &mut Vec<ToWorker>) {
        let Some(wanted) = self.projection_request() else {
            if let Some(running) = self.requests.projection_running.take() {
                out.push(ToWorker::Cancel {
                    request_id: running.request_id,
                });
            }
            if self.results.projection.is_some() {
                self.results.show_projection(None);
            }
            return;
        };
        let running = self
            .requests
            .projection_running
            .as_ref()
            .map(|r| (r.request_id, &r.purpose));
        if let Some((_, Purpose::Projection(request))) = running {
            if *request == wanted {
                return;
            }
        }
        let shown = self.results.projection.as_ref();
        let done = shown.is_some_and(|p| p.request == wanted && p.complete);
        if done || self.requests.given_up_projection.as_ref() == Some(&wanted) {
            return;
        }
        if !self.projection_is_automatic(&wanted) {
            // Too large to compute unasked: the view marks the shown one stale.
            if let Some(running) = self.requests.projection_running.take() {
                out.push(ToWorker::Cancel {
                    request_id: running.request_id,
                });
            }
            return;
        }
        let request_id = self.begin_projection(wanted.clone());
        out.push(ToWorker::ComputeProjection {
            request_id,
            request: wanted,
        });
    }
}

impl AppModel {
    /// What [`AppModel::next_requests`] may change besides the messages it returns (the views
    /// it fills from the cache, the banner, the requests in flight): compared before and
    /// after, so the app notifies the views only when something changed.
    pub fn fingerprint(
        &self,
    ) -> (
        u64,
        Vec<u64>,
        u64,
        bool,
        Option<RequestId>,
        Option<RequestId>,
    ) {
        (
            self.results.graph_version,
            self.results.row_versions.clone(),
            self.results.projection_version,
            self.banner.is_some(),
            self.running_request_id(),
            self.requests
                .projection_running
                .as_ref()
                .map(|r| r.request_id),
        )
    }
}
