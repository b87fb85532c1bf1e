//! Worker answers: they fill the caches and the views. An answer to a superseded request is
//! dropped by its request id; a failed or cancelled request is given up (not asked again by
//! itself) and never replaces the loaded data.

use topoact_core::dataset::DatasetSummary;

use super::{
    layers_around, AppModel, Banner, LoadStats, Purpose, RunningRequest, ViewMode,
    SELECTION_EXAMPLES,
};
use crate::protocol::{DrawnGraph, FailureKind, FromWorker, RequestId};
use crate::session::LoadedDataFacts;
use crate::vocabulary::{describe_data, same_data, DatasetRef};

/// Where a request ran: beside the graphs (a projection), or in the one main lane.
enum Lane {
    Projection,
    Main,
}

impl AppModel {
    /// The running request if `request_id` names it.
    fn current(&self, request_id: RequestId) -> Option<&RunningRequest> {
        self.requests
            .running
            .as_ref()
            .filter(|r| r.request_id == request_id)
    }

    fn current_projection(&self, request_id: RequestId) -> Option<&RunningRequest> {
        self.requests
            .projection_running
            .as_ref()
            .filter(|r| r.request_id == request_id)
    }

    /// Applies a worker answer.
    pub fn on_worker_answer(&mut self, answer: FromWorker) {
        match answer {
            FromWorker::Ready { compute_threads } => self.compute_threads = compute_threads,
            FromWorker::Progress {
                request_id,
                progress,
            } => {
                for running in [
                    self.requests.running.as_mut(),
                    self.requests.projection_running.as_mut(),
                ]
                .into_iter()
                .flatten()
                {
                    if running.request_id == request_id {
                        running.progress = Some(progress.clone());
                    }
                }
            }
            FromWorker::ProjectionFrame {
                request_id,
                projection,
            } => {
                if self.current_projection(request_id).is_some() {
                    self.results.show_projection(Some(projection));
                }
            }
            FromWorker::Projection {
                request_id,
                projection,
            } => {
                if self.current_projection(request_id).is_none() {
                    return;
                }
                self.requests.projection_running = None;
                self.status = format!(
                    "{} of {}: {} points in {:.1} s (neighbours {:.1} s).",
                    projection.request.method.label(),
                    projection.request.layer,
                    crate::format::thousands(projection.n_points()),
                    projection.elapsed_ms / 1e3,
                    projection.knn_ms / 1e3
                );
                self.results.show_projection(Some(projection));
            }
            FromWorker::Loaded {
                request_id,
                summary,
                elapsed_ms,
                bytes_read,
                source,
            } => {
                if self.current(request_id).is_none() {
                    return;
                }
                self.requests.running = None;
                self.status = format!(
                    "Loaded {} ({} samples, {} layers) in {:.1} s.",
                    summary.name,
                    crate::format::thousands(summary.n_samples),
                    summary.layers.len(),
                    elapsed_ms / 1e3
                );
                self.last_load = Some(LoadStats {
                    elapsed_ms,
                    bytes_read,
                });
                self.on_loaded(summary, source);
            }
            FromWorker::Failed { request_id, error } => {
                let status = match self.give_up_request(request_id) {
                    None => return,
                    Some(Lane::Projection) => self.status.clone(),
                    Some(Lane::Main) if self.dataset.is_some() => {
                        "The previous dataset is still loaded.".into()
                    }
                    Some(Lane::Main) => String::new(),
                };
                self.status = status;
                self.banner = Some(Banner {
                    kind: error.kind(),
                    message: error.to_string(),
                });
            }
            FromWorker::Cancelled { request_id } => {
                self.status = match self.give_up_request(request_id) {
                    None => return,
                    Some(Lane::Projection) => "Projection cancelled.".into(),
                    Some(Lane::Main) => "Cancelled. Nothing was changed.".into(),
                };
            }
            FromWorker::Graph { request_id, graph } => {
                let Some(running) = self.current(request_id) else {
                    return;
                };
                // Files the person gives may be a graph file: it opens over the data.
                let imported = matches!(running.purpose, Purpose::Load(_));
                self.requests.running = None;
                self.status = format!(
                    "Graph of {}: {} nodes, {} edges from {} samples (mapper {:.1} s, layout {:.1} s).",
                    graph.request.layer,
                    graph.stats.n_nodes,
                    graph.stats.n_edges,
                    crate::format::thousands(graph.n_samples_used),
                    graph.mapper_ms / 1e3,
                    graph.layout_ms / 1e3
                );
                if imported {
                    self.on_imported_graph(graph);
                } else {
                    self.on_graph(graph);
                }
            }
            FromWorker::LayerNorms {
                layer,
                subsample,
                norms,
                ..
            } => {
                // They belong to every graph of that layer and subsample (they do not depend
                // on the mapper's parameters): the one shown, the multilayer row's, and the
                // cached ones a later view shows again (the graph's request has ended: it was
                // answered before its norms).
                self.results.fill_layer_norms(&layer, subsample, &norms);
            }
            FromWorker::Imported {
                request_id,
                graph,
                source,
                over_data,
            } => {
                if self.current(request_id).is_none() {
                    return;
                }
                self.requests.running = None;
                self.status = format!(
                    "Opened the graph {}: {} nodes, {} edges.",
                    graph
                        .request
                        .layer
                        .trim_start_matches(crate::protocol::IMPORTED_LAYER_PREFIX),
                    graph.stats.n_nodes,
                    graph.stats.n_edges
                );
                if over_data {
                    self.on_imported_graph(graph);
                } else {
                    self.on_graph_alone(graph, source);
                }
            }
            FromWorker::LayerComparison {
                request_id,
                comparison,
            } => {
                if self.current(request_id).is_none() {
                    return;
                }
                self.requests.running = None;
                self.status = format!(
                    "Compared {} layers in {:.1} s.",
                    comparison.layers.len(),
                    comparison.elapsed_ms / 1e3
                );
                self.results.comparison = Some(comparison);
            }
            FromWorker::Glyphs {
                graph_version,
                images,
                ..
            } => {
                if graph_version == self.results.graph_version {
                    self.results.glyphs = Some((graph_version, images));
                }
            }
            FromWorker::GraphFile { request_id, .. } => {
                // The file itself is downloaded by the app; the request is over.
                if self.current(request_id).is_some() {
                    self.requests.running = None;
                }
            }
            // Only the benchmark page asks for layout measures; the worker client reports
            // CouldNotStart through its fatal-error callback.
            FromWorker::LayoutMeasured { .. } | FromWorker::CouldNotStart { .. } => {}
            // Downloaded by the app as it arrives.
            FromWorker::TextFile { .. } => {}
            FromWorker::Neighbours {
                layer,
                sample_idx,
                neighbours,
                ..
            } => self.results.neighbours = Some((layer, sample_idx, neighbours)),
            FromWorker::SampleValues { values, .. } => self.results.sample_values = Some(values),
            FromWorker::Thumbnail { sample_idx, url } => {
                self.results.hover_thumbnail = Some((sample_idx, url))
            }
            FromWorker::Examples { examples, .. } if examples.node_name == SELECTION_EXAMPLES => {
                self.results.selection_examples = Some(examples);
            }
            FromWorker::Examples { examples, .. } => {
                if self.selected_node_name().as_deref() == Some(examples.node_name.as_str()) {
                    self.results.examples = Some(examples);
                }
            }
        }
    }

    /// Ends request `request_id`, which failed or was cancelled, and gives it up: it is not
    /// asked again by itself. Which lane it ran in; `None` when it was superseded.
    fn give_up_request(&mut self, request_id: RequestId) -> Option<Lane> {
        let is_it = |r: &mut RunningRequest| r.request_id == request_id;
        let (running, lane) = match self.requests.projection_running.take_if(is_it) {
            Some(running) => (running, Lane::Projection),
            None => (self.requests.running.take_if(is_it)?, Lane::Main),
        };
        match running.purpose {
            Purpose::Graph(request) => self.requests.given_up_graphs.push(request),
            Purpose::Projection(request) => self.requests.given_up_projection = Some(request),
            Purpose::Load(Some(data)) => self.requests.given_up_data = Some(data),
            Purpose::Load(None) | Purpose::Comparison | Purpose::Other => {}
        }
        Some(lane)
    }

    /// New data: the session's own (a link's, the page's first, the same file again) keeps
    /// its view; other data gets a fresh view that keeps the parameters.
    fn on_loaded(&mut self, summary: DatasetSummary, source: DatasetRef) {
        let source = match source {
            DatasetRef::Url { url } if url == super::super::DEMO_URL => DatasetRef::Demo,
            other => other,
        };
        self.dataset = Some(summary);
        self.dataset_ref = Some(source.clone());
        self.results.clear();
        self.requests.forget_short_requests();
        self.requests.forgive();
        let awaited_link = std::mem::take(&mut self.awaiting_link_file);
        if self
            .banner
            .as_ref()
            .is_some_and(|b| b.kind == FailureKind::NeedsFile)
        {
            self.banner = None;
        }
        let layer_names = self.layer_names();
        if same_data(&self.session.dataset, &source) {
            let problems = self.fit_session_to_data();
            if !problems.is_empty() {
                self.link_banner(format!(
                    "Part of the link could not be restored: {} The rest of the view is shown.",
                    problems.join(" ")
                ));
            }
        } else {
            if awaited_link {
                self.link_banner(format!(
                    "This is not the data the link was made with: the link names {}, but {} was loaded. The link's view was not applied.",
                    describe_data(&self.session.dataset),
                    describe_data(&source)
                ));
            }
            // The person's own view keeps its layer; a refused link's does not.
            let keep_layer = self
                .session
                .layer
                .clone()
                .filter(|layer| !awaited_link && layer_names.contains(layer));
            self.session.layer = keep_layer;
            self.session.selected_node = None;
            self.session.highlighted_classes.clear();
            self.session.sample_selection.clear();
            self.session.multilayer_layers.clear();
            self.session.projection = None;
            self.link_node_unverified = None;
            self.requests.asked_projection = None;
        }
        self.session.dataset = source;
        // A fresh view (the page's first, or other data): the first layer, its neighbours,
        // the projection that comes without asking.
        if self.session.layer.is_none() {
            self.session.layer = layer_names.first().cloned();
            self.session.projection = self.automatic_projection();
        }
        if self.session.multilayer_layers.is_empty() {
            let chosen = self.session.layer.clone().unwrap_or_default();
            self.session.multilayer_layers = layers_around(&layer_names, &chosen);
        }
        self.results.reset_row(self.session.multilayer_layers.len());
    }

    /// Drops the parts of the session the loaded data cannot show, naming each; the rest
    /// stays (the nearest working view).
    pub(super) fn fit_session_to_data(&mut self) -> Vec<String> {
        let Some(dataset) = self.dataset.as_ref() else {
            return Vec::new();
        };
        let layer_names = self.layer_names();
        let (n_samples, n_classes) = (dataset.n_samples, dataset.classes.len());
        let mut problems = Vec::new();
        if let Err(problem) = self.session.check_against(LoadedDataFacts {
            layer_names: &layer_names,
            n_samples,
            n_classes,
        }) {
            problems.push(problem.to_string());
        }
        let session = &mut self.session;
        if let Some(layer) = session.layer.clone() {
            let imported = layer.starts_with(crate::protocol::IMPORTED_LAYER_PREFIX);
            if !imported && !layer_names.contains(&layer) {
                let first = layer_names.first().cloned();
                problems.push(format!(
                    "The link's layer '{layer}' is not in this file; showing '{}'.",
                    first.clone().unwrap_or_default()
                ));
                session.layer = first;
            }
        }
        session
            .multilayer_layers
            .retain(|layer| layer_names.contains(layer));
        if session
            .selected_node
            .as_ref()
            .is_some_and(|node| !layer_names.contains(&node.layer))
        {
            session.selected_node = None;
        }
        if let Err(err) = session.mapper.clone().validate() {
            problems.push(format!(
                "The link's mapper parameters are not usable ({err}); the defaults are used."
            ));
            session.mapper = Default::default();
        }
        session
            .highlighted_classes
            .retain(|&c| (c as usize) < n_classes);
        session
            .sample_selection
            .retain(|&s| (s as usize) < n_samples);
        problems
    }

    /// A graph computed for the session: cached, and shown where it is asked for.
    fn on_graph(&mut self, graph: DrawnGraph) {
        self.results.remember_graph(graph.clone());
        let for_main = self.graph_request().as_ref() == Some(&graph.request);
        for position in 0..self.session.multilayer_layers.len() {
            if self.slot_request(position).as_ref() == Some(&graph.request) {
                self.results.show_at(position, graph.clone());
            }
        }
        if for_main {
            self.results.show_main(graph.clone());
        }
        self.check_selected_node(&graph);
    }

    /// A graph file that does not fit the loaded data (or came without any): it replaces the
    /// data, and the session now names the graph file. Back returns to the previous view
    /// (its data is loaded again).
    fn on_graph_alone(&mut self, graph: DrawnGraph, source: DatasetRef) {
        let replaced = self.dataset.take().map(|d| d.name);
        self.dataset_ref = Some(source.clone());
        self.last_load = None;
        self.results.clear();
        self.requests.forget_short_requests();
        self.requests.forgive();
        self.awaiting_link_file = false;
        if self
            .banner
            .as_ref()
            .is_some_and(|b| b.kind == FailureKind::NeedsFile)
        {
            self.banner = None;
        }
        let layer = graph.request.layer.clone();
        if !same_data(&self.session.dataset, &source) || self.session.layer.as_ref() != Some(&layer)
        {
            self.session = super::initial_session(source);
            self.session.layer = Some(layer);
            self.link_node_unverified = None;
        }
        self.session.mode = ViewMode::Single;
        self.session.projection = None;
        self.session.multilayer_layers.clear();
        if let Some(name) = replaced {
            self.banner = Some(Banner {
                kind: FailureKind::Notice,
                message: format!(
                    "{} does not fit {name}, so it opened on its own and {name} was closed. Back (or Alt+Left) returns to {name}.",
                    graph.request.layer.trim_start_matches(crate::protocol::IMPORTED_LAYER_PREFIX)
                ),
            });
        }
        self.results.remember_graph(graph.clone());
        self.results.show_main(graph.clone());
        self.check_selected_node(&graph);
    }

    /// A graph file opened over the loaded data: shown as its own layer.
    fn on_imported_graph(&mut self, graph: DrawnGraph) {
        self.results.remember_graph(graph.clone());
        self.session.layer = Some(graph.request.layer.clone());
        self.session.mode = ViewMode::Single;
        self.session.selected_node = None;
        self.session.projection = None;
        self.results.show_main(graph);
    }

    /// After a graph of the session arrived: a selected node it does not have is dropped
    /// (a link's, with a banner that says so).
    pub(super) fn check_selected_node(&mut self, graph: &DrawnGraph) {
        let Some(node) = self.session.selected_node.clone() else {
            return;
        };
        if node.layer != graph.request.layer {
            return;
        }
        let from_link = self.link_node_unverified.as_ref() == Some(&node);
        self.link_node_unverified = None;
        if graph.nodes.iter().any(|n| n.name == node.node_name) {
            return;
        }
        self.session.selected_node = None;
        if from_link {
            self.link_banner(format!(
                "The link selects node '{}' of layer '{}', which this graph does not have; nothing is selected.",
                node.node_name, node.layer
            ));
        }
    }
}
