//! The app's state as components see it: one [`Ui`] handle in the Leptos context, provided
//! once by `App` ([`Ui::provide`]) and taken by every component with [`use_ui`].
//!
//! The handle keeps the model (`RwSignal<AppModel>`) to itself. Components
//! - **read** narrow derived signals: the session, the loaded data's summary, the running
//!   requests and their progress, the banner, the status line, the compute threads, or
//!   their own slice with [`Ui::select`] (a memo: a view re-renders only when its slice
//!   changes, not whenever anything in the model does); event handlers, and views that
//!   redraw heavy data (a graph's nodes) when a version memo says it changed, read the
//!   model without tracking it ([`Ui::read_untracked`]);
//! - **act** with [`Ui::act`]: a [`UserAction`] is the only way to change the session (and
//!   the banner, the status line, the examples shown, a moved node);
//! - **ask the worker** for what the session does not derive (a load of files, Cancel, the
//!   layer comparison, a graph file, examples, glyphs, a thumbnail) through the methods
//!   below, which register the request in the model where it has a place there.
//!
//! The requests the session derives follow by themselves: an effect runs
//! [`AppModel::next_requests`] after every change of the model
//! ([`Ui::keep_requests_in_step`]).

use std::cell::{Cell, RefCell};

use leptos::prelude::*;
use topoact_core::dataset::DatasetSummary;
use web_sys::File;

use super::model::{
    AppModel, Banner, GraphSlot, Purpose, RunningRequest, UserAction, SELECTION_EXAMPLES,
};
use super::projection_scene::selection_histogram;
use crate::protocol::{ExamplesQuery, FromWorker, GraphFileFormat, RequestId, ToWorker};
use crate::session::SessionState;
use crate::vocabulary::DatasetRef;
use crate::worker_client;

/// Examples shown per top class of a selected node (TopoAct showed five).
pub const EXAMPLES_PER_CLASS: usize = 5;
/// Example thumbnails of a projection selection, per top class.
const SELECTION_EXAMPLES_PER_CLASS: usize = 5;

/// What the last load request read, so "drop the non-finite rows and load again" can
/// repeat it.
#[derive(Clone)]
enum LoadSource {
    Files(Vec<File>),
    Url(String),
}

thread_local! {
    static LAST_SOURCE: RefCell<Option<LoadSource>> = const { RefCell::new(None) };
    /// Ids of short requests (examples, glyphs, thumbnails, exports) live in their own
    /// range, apart from the model's long requests.
    static NEXT_SHORT_REQUEST_ID: Cell<u64> = const { Cell::new(1 << 40) };
}

/// A fresh id for a short request.
fn next_short_request_id() -> RequestId {
    NEXT_SHORT_REQUEST_ID.with(|next| next.replace(next.get() + 1))
}

/// The components' handle on the app's state (see the module documentation). `Copy`: pass
/// it into closures freely.
#[derive(Clone, Copy)]
pub struct Ui {
    model: RwSignal<AppModel>,
    /// What the person set and sees (cameras and the search text live in
    /// `link::ViewSignals`).
    pub session: Memo<SessionState>,
    /// The loaded data's summary.
    pub dataset: Memo<Option<DatasetSummary>>,
    /// The long request running (a load, a graph, a comparison), with its progress.
    pub running: Memo<Option<RunningRequest>>,
    /// The projection being computed, with its progress.
    pub projection_running: Memo<Option<RunningRequest>>,
    pub banner: Memo<Option<Banner>>,
    /// The status bar's line.
    pub status: Memo<String>,
    /// Threads the worker computes on (0 until it is ready).
    pub compute_threads: Memo<usize>,
}

/// The app's [`Ui`], from the context (`App` provides it).
pub fn use_ui() -> Ui {
    expect_context::<Ui>()
}

impl Ui {
    /// A handle on `model`, with its derived signals owned by the current reactive owner.
    /// `App` makes the one the page uses ([`Ui::provide`]); tests mount components on their
    /// own.
    pub fn new(model: RwSignal<AppModel>) -> Self {
        Self {
            model,
            session: Memo::new(move |_| model.with(|m| m.session.clone())),
            dataset: Memo::new(move |_| model.with(|m| m.dataset.clone())),
            running: Memo::new(move |_| model.with(|m| m.requests.running.clone())),
            projection_running: Memo::new(move |_| {
                model.with(|m| m.requests.projection_running.clone())
            }),
            banner: Memo::new(move |_| model.with(|m| m.banner.clone())),
            status: Memo::new(move |_| model.with(|m| m.status.clone())),
            compute_threads: Memo::new(move |_| model.with(|m| m.compute_threads)),
        }
    }

    /// A handle on `model`, provided to every component below the current owner.
    pub fn provide(model: RwSignal<AppModel>) -> Self {
        let ui = Self::new(model);
        provide_context(ui);
        ui
    }

    /// A component's own slice of the model: a memo, so what reads it re-runs only when the
    /// slice changes. Read it (`get`, `with`) where it is to be followed: a memo that is only
    /// `track`ed and never read never runs, so it follows nothing. `slice` may read other signals than the model's (a hovered point):
    /// the memo follows them too; it must not read memos derived from the model.
    pub fn select<T>(self, slice: impl Fn(&AppModel) -> T + Send + Sync + 'static) -> Memo<T>
    where
        T: PartialEq + Clone + Send + Sync + 'static,
    {
        let model = self.model;
        Memo::new(move |_| model.with(|m| slice(m)))
    }

    /// Reads the model without tracking it: for event handlers, and for heavy data (a
    /// graph's nodes) redrawn when a version memo says it changed. Never for what a view
    /// shows reactively (that is [`Ui::select`]).
    pub fn read_untracked<R>(self, read: impl FnOnce(&AppModel) -> R) -> R {
        self.model.with_untracked(read)
    }

    /// A person's action: the session changes, the requests follow.
    pub fn act(self, action: UserAction) {
        self.model.update(|m| m.on_user_action(action));
    }

    /// Several actions as one change (the views see only the end state).
    pub fn act_all(self, actions: impl IntoIterator<Item = UserAction>) {
        self.model.update(|m| {
            for action in actions {
                m.on_user_action(action);
            }
        });
    }

    /// Loads files the person dropped or chose (a graph file among them opens over the
    /// data, or on its own).
    pub fn load_files(self, files: Vec<File>) {
        if !files.is_empty() {
            self.start_load(LoadSource::Files(files), false);
        }
    }

    /// "Drop those rows and load": the last load again, without its non-finite rows.
    pub fn load_again_dropping_nonfinite(self) {
        if let Some(source) = LAST_SOURCE.with_borrow(|last| last.clone()) {
            self.start_load(source, true);
        }
    }

    /// "Open the demo": the demo's default view (loaded again when it is already shown).
    pub fn open_demo(self) {
        if self.read_untracked(|m| m.session.dataset == DatasetRef::Demo) {
            self.start_load(LoadSource::Url(super::DEMO_URL.into()), false);
        } else {
            self.act(UserAction::OpenData(DatasetRef::Demo));
        }
    }

    fn start_load(self, source: LoadSource, drop_nonfinite: bool) {
        let description = match &source {
            LoadSource::Files(files) => {
                let names: Vec<String> = files.iter().map(|file| file.name()).collect();
                format!("Loading {}", names.join(", "))
            }
            LoadSource::Url(url) => format!("Loading {url}"),
        };
        let request_id = self
            .model
            .try_update(|model| {
                model.clear_failure_banner();
                model.begin(description, Purpose::Load(None))
            })
            .unwrap_or_default();
        match &source {
            LoadSource::Files(files) => worker_client::send(
                &ToWorker::LoadFiles {
                    request_id,
                    drop_nonfinite,
                },
                files,
            ),
            LoadSource::Url(url) => worker_client::send(
                &ToWorker::LoadUrl {
                    request_id,
                    url: url.clone(),
                    drop_nonfinite,
                },
                &[],
            ),
        }
        LAST_SOURCE.with_borrow_mut(|last| *last = Some(source));
    }

    /// Cancel of the progress bar: the long request running.
    pub fn cancel_running(self) {
        if let Some(request_id) = self.read_untracked(|m| m.running_request_id()) {
            worker_client::send(&ToWorker::Cancel { request_id }, &[]);
        }
    }

    /// Cancel of the projection's progress bar.
    pub fn cancel_projection(self) {
        let running =
            self.read_untracked(|m| m.requests.projection_running.as_ref().map(|r| r.request_id));
        if let Some(request_id) = running {
            worker_client::send(&ToWorker::Cancel { request_id }, &[]);
        }
    }

    /// "Compare all layers" with the current samples and parameters.
    pub fn compare_layers(self) {
        let Some((subsample, params, n_layers)) = self.read_untracked(|m| {
            m.dataset
                .as_ref()
                .map(|d| (m.subsample(), m.session.mapper.clone(), d.layers.len()))
        }) else {
            return;
        };
        let Some(request_id) = self
            .model
            .try_update(|m| m.begin(format!("Comparing {n_layers} layers"), Purpose::Comparison))
        else {
            return;
        };
        worker_client::send(
            &ToWorker::CompareLayers {
                request_id,
                subsample,
                params,
            },
            &[],
        );
    }

    /// A graph file (KeplerMapper or node-link JSON) of the graph a view shows, from the
    /// worker (it holds what the page does not, such as mean activation vectors); the file
    /// is downloaded when it arrives.
    pub fn export_graph_file(self, slot: GraphSlot, format: GraphFileFormat) {
        let Some(request) = self.read_untracked(|m| m.graph_at(slot).map(|g| g.request.clone()))
        else {
            return;
        };
        worker_client::send(
            &ToWorker::ExportGraph {
                request_id: next_short_request_id(),
                request,
                format,
            },
            &[],
        );
    }

    /// A CSV of `samples` with their projection coordinates, written by the worker (it holds
    /// the predictions and columns); downloaded when it arrives.
    pub fn export_samples(self, file_name: &str, samples: Vec<u32>, coords: Vec<[f32; 2]>) {
        worker_client::send(
            &ToWorker::ExportSamples {
                request_id: next_short_request_id(),
                file_name: file_name.into(),
                samples,
                coords,
            },
            &[],
        );
    }

    /// The selected node's examples: the ones shown are forgotten, and the new ones asked
    /// for (none when no node is selected).
    pub fn request_examples_of_selected(self) {
        let query = self.read_untracked(|m| {
            let (graph, node_idx) = m.focused_node()?;
            let node = graph.nodes.get(node_idx)?;
            Some(ExamplesQuery {
                layer: graph.request.layer.clone(),
                node_name: node.name.clone(),
                members: node.members.clone(),
                top_classes: node
                    .top_classes
                    .iter()
                    .map(|share| share.class_idx)
                    .collect(),
                per_class: EXAMPLES_PER_CLASS,
            })
        });
        self.act(UserAction::ForgetExamples);
        if let Some(query) = query {
            let request_id = next_short_request_id();
            worker_client::send(&ToWorker::NodeExamples { request_id, query }, &[]);
        }
    }

    /// Example thumbnails of a projection selection's three largest classes.
    pub fn request_selection_examples(self, samples: &[u32]) {
        let Some((layer, top_classes)) = self.read_untracked(|m| {
            let projection = m.results.projection.as_ref()?;
            let histogram = selection_histogram(projection, samples);
            Some((
                projection.request.layer.clone(),
                histogram
                    .iter()
                    .take(3)
                    .map(|(c, _)| *c)
                    .collect::<Vec<_>>(),
            ))
        }) else {
            return;
        };
        let query = ExamplesQuery {
            layer,
            node_name: SELECTION_EXAMPLES.into(),
            members: samples.to_vec(),
            top_classes,
            per_class: SELECTION_EXAMPLES_PER_CLASS,
        };
        let request_id = next_short_request_id();
        worker_client::send(&ToWorker::NodeExamples { request_id, query }, &[]);
    }

    /// The averaged images of the single-layer graph's nodes (glyph mode), for the graph
    /// with `graph_version`.
    pub fn request_glyphs(self, graph_version: u64) {
        let request = self.read_untracked(|m| {
            let graph = m.results.graph.as_ref()?;
            let members_of_nodes = graph
                .nodes
                .iter()
                .map(|node| node.members.clone())
                .collect();
            Some((graph.request.layer.clone(), members_of_nodes))
        });
        if let Some((layer, members_of_nodes)) = request {
            worker_client::send(
                &ToWorker::NodeGlyphs {
                    request_id: next_short_request_id(),
                    layer,
                    graph_version,
                    members_of_nodes,
                },
                &[],
            );
        }
    }

    /// The thumbnail of a hovered sample.
    pub fn request_thumbnail(self, sample_idx: u32) {
        worker_client::send(
            &ToWorker::SampleThumbnail {
                request_id: next_short_request_id(),
                sample_idx,
            },
            &[],
        );
    }

    // What only `App` does: start the worker's work and hand it its answers.

    /// A worker answer (a graph file is downloaded as it arrives).
    pub(super) fn on_worker_answer(self, answer: FromWorker) {
        if let FromWorker::GraphFile {
            file_name, text, ..
        } = &answer
        {
            super::export::download_text(file_name, "application/json", text);
        }
        if let FromWorker::TextFile {
            file_name,
            mime,
            text,
            ..
        } = &answer
        {
            super::export::download_text(file_name, mime, text);
        }
        self.model.update(|model| model.on_worker_answer(answer));
    }

    /// The worker could not start, or stopped.
    pub(super) fn on_worker_failure(self, message: String) {
        self.model.update(|model| model.on_worker_failure(message));
    }

    /// `?synthetic-graph=<nodes>`: the rendering benchmark's seeded synthetic graph.
    pub(super) fn start_synthetic_graph(self, n_nodes: usize) {
        let request_id = self
            .model
            .try_update(|m| {
                m.begin(
                    format!("Laying out a synthetic graph of {n_nodes} nodes"),
                    Purpose::Other,
                )
            })
            .unwrap_or_default();
        worker_client::send(
            &ToWorker::SyntheticGraph {
                request_id,
                n_nodes,
                seed: 0,
            },
            &[],
        );
    }

    /// The requests follow the session, whatever changed it: after every change of the
    /// model, the requests it asks for and the worker is not yet working on
    /// ([`AppModel::next_requests`]) are sent. Notifies only when that changed something,
    /// so it settles after one extra run.
    pub(super) fn keep_requests_in_step(self) {
        let model = self.model;
        Effect::new(move |_| {
            model.track();
            let outcome = model.try_update_untracked(|m| {
                let before = m.fingerprint();
                let messages = m.next_requests();
                let changed = before != m.fingerprint();
                (messages, changed)
            });
            let Some((messages, changed)) = outcome else {
                return;
            };
            if changed || !messages.is_empty() {
                model.notify();
            }
            for message in &messages {
                worker_client::send(message, &[]);
            }
        });
    }
}
