//! Leptos components of the app. Logic lives on plain types ([`model`]); components wire
//! signals to the DOM and send requests to the worker.

pub mod comparison;
pub mod controls;
pub mod diagnostics;
pub mod export;
pub mod graph_style;
pub mod graph_view;
pub mod link;
pub mod model;
pub mod multilayer;
pub mod projection_scene;
pub mod projection_view;
pub mod search;

use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::File;

use crate::format::{byte_size, megabytes_per_second, thousands};
use crate::protocol::{FailureKind, ToWorker};
use crate::vocabulary::DatasetRef;
use crate::worker_client;
use controls::{ClassDirectory, ClassSearch, NodeDetails, ParameterPanel};
use diagnostics::DiagnosticsPanel;
use graph_view::GraphView;
use model::{AppModel, Purpose, UserAction, ViewMode};

/// The embedded demo dataset, relative to the page.
pub const DEMO_URL: &str = "./demo/fashion-efficientnet-lite0.npz";

/// What the last load request read, so "drop the non-finite rows and load again" can
/// repeat it.
#[derive(Clone)]
enum LoadSource {
    Files(Vec<File>),
    Url(String),
}

thread_local! {
    static LAST_SOURCE: RefCell<Option<LoadSource>> = const { RefCell::new(None) };
}

fn start_load(model: RwSignal<AppModel>, source: LoadSource, drop_nonfinite: bool) {
    let description = match &source {
        LoadSource::Files(files) => {
            let names: Vec<String> = files.iter().map(|file| file.name()).collect();
            format!("Loading {}", names.join(", "))
        }
        LoadSource::Url(url) => format!("Loading {url}"),
    };
    let request_id = model
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

/// Sends the requests the session asks for and the worker is not yet working on
/// ([`AppModel::next_requests`]). Runs after every change of the model (an effect), so
/// requests follow the session whatever changed it; it notifies only when it changed
/// something, so it settles after one extra run.
pub fn sync_requests(model: RwSignal<AppModel>) {
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
}

/// A person's action: the session changes, the requests follow.
pub fn act(model: RwSignal<AppModel>, action: UserAction) {
    model.update(|m| m.on_user_action(action));
}

/// "Open the demo": the demo's default view (loaded again when it is already shown).
fn open_demo(model: RwSignal<AppModel>) {
    if model.with_untracked(|m| m.session.dataset == DatasetRef::Demo) {
        start_load(model, LoadSource::Url(DEMO_URL.into()), false);
    } else {
        act(model, UserAction::OpenData(DatasetRef::Demo));
    }
}

fn cancel_running(model: RwSignal<AppModel>) {
    if let Some(request_id) = model.with_untracked(|model| model.running_request_id()) {
        worker_client::send(&ToWorker::Cancel { request_id }, &[]);
    }
}

fn files_of(list: Option<web_sys::FileList>) -> Vec<File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|idx| list.get(idx)).collect()
}

/// The URL of the data to open first: `?data=<url>` if given, else the demo.
fn initial_data_url() -> String {
    let search = window().location().search().unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|params| params.get("data"))
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEMO_URL.to_string())
}

/// `?synthetic-graph=<nodes>`: draw the seeded synthetic mapper-like graph of the layout
/// benchmarks instead of opening data (the rendering benchmark uses it).
fn synthetic_graph_request() -> Option<usize> {
    let search = window().location().search().unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get("synthetic-graph")?
        .parse()
        .ok()
}

/// The session a fresh page opens: the link in the fragment, else `?data=`, else the demo.
/// A damaged link is reported and the default data opened (the nearest working view).
fn open_initial(model: RwSignal<AppModel>, signals: link::ViewSignals) {
    let default_data = match initial_data_url() {
        url if url == DEMO_URL => DatasetRef::Demo,
        url => DatasetRef::Url { url },
    };
    match link::link_in_url() {
        Some(Ok(state)) => link::open_link(model, signals, state),
        Some(Err(err)) => model.update(|m| {
            m.on_user_action(UserAction::OpenData(default_data));
            m.banner = Some(model::Banner {
                kind: FailureKind::LinkProblem,
                message: format!("{err} The default view is shown instead."),
            })
        }),
        None => model.update(|m| m.on_user_action(UserAction::OpenData(default_data))),
    }
}

#[component]
pub fn App() -> impl IntoView {
    let model = RwSignal::new(AppModel::default());
    let signals = link::ViewSignals::new();
    provide_context(signals);

    let spawned = worker_client::spawn(
        move |answer| {
            if let crate::protocol::FromWorker::GraphFile {
                file_name, text, ..
            } = &answer
            {
                export::download_text(file_name, "application/json", text);
            }
            model.update(|model| model.on_worker_answer(answer));
        },
        move |message| {
            model.update(|model| {
                model.requests.running = None;
                model.banner = Some(model::Banner {
                    kind: FailureKind::Internal,
                    message,
                });
            })
        },
    );
    let synthetic_graph = synthetic_graph_request();
    match spawned {
        Ok(()) => match synthetic_graph {
            Some(n_nodes) => {
                let request_id = model
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
            None => open_initial(model, signals),
        },
        Err(message) => model.update(|model| {
            model.banner = Some(model::Banner {
                kind: FailureKind::Internal,
                message,
            })
        }),
    }

    // The requests follow the session, whatever changed it (the rendering benchmark's
    // synthetic graph has no session behind it).
    if synthetic_graph.is_none() {
        Effect::new(move |_| {
            model.track();
            sync_requests(model);
        });
    }
    link::keep_fragment_in_step(model, signals);
    let on_popstate = window_event_listener(leptos::ev::popstate, move |_| {
        if let Err(err) = link::step_through_history(model, signals) {
            model.update(|m| {
                m.banner = Some(model::Banner {
                    kind: FailureKind::LinkProblem,
                    message: format!("{err} The view was left as it is."),
                })
            })
        }
    });
    on_cleanup(move || on_popstate.remove());
    let on_keydown = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape" {
            act(model, UserAction::Escape);
        }
    });
    on_cleanup(move || on_keydown.remove());

    let on_drop = move |event: web_sys::DragEvent| {
        event.prevent_default();
        let files = files_of(event.data_transfer().and_then(|transfer| transfer.files()));
        if !files.is_empty() {
            start_load(model, LoadSource::Files(files), false);
        }
    };

    view! {
        <div
            class="app"
            on:dragover=|event: web_sys::DragEvent| event.prevent_default()
            on:drop=on_drop
        >
            <Header model=model />
            <ProgressBar model=model />
            <BannerView model=model />
            <main class="workspace">
                <aside class="side-panel">
                    <DropZone model=model />
                    <LayerList model=model />
                    <ParameterPanel model=model />
                    <ClassSearch model=model />
                    <ClassDirectory model=model />
                </aside>
                <section class="main-view">
                    <div class="views" class:multilayer-views=move || model.with(|m| m.mode() == ViewMode::Multilayer)>
                        <Show when=move || model.with(|m| m.mode() == ViewMode::Single)>
                            <GraphView model=model />
                        </Show>
                        <Show when=move || model.with(|m| m.mode() == ViewMode::Multilayer)>
                            <multilayer::MultilayerView model=model />
                        </Show>
                        <projection_view::ProjectionView model=model />
                    </div>
                    <comparison::LayerComparisonPanel model=model />
                    <DiagnosticsPanel model=model />
                    <details class="dataset-section">
                        <summary>"Dataset"</summary>
                        <DatasetDetails model=model />
                        <ClassList model=model />
                    </details>
                </section>
                <aside class="detail-panel">
                    <projection_view::SelectionDetails model=model />
                    <NodeDetails model=model />
                </aside>
            </main>
            <footer class="status-bar" data-testid="load-status">{move || model.with(|model| model.status.clone())}</footer>
        </div>
    }
}

#[component]
fn Header(model: RwSignal<AppModel>) -> impl IntoView {
    let name = move || {
        model.with(|model| {
            model
                .dataset
                .as_ref()
                .map(|d| d.name.clone())
                .or_else(|| match &model.dataset_ref {
                    // A graph file opened on its own.
                    Some(DatasetRef::File { name, .. }) => Some(format!("{name} (graph file)")),
                    _ => None,
                })
                .unwrap_or_else(|| "No dataset loaded".into())
        })
    };
    let size = move || {
        model.with(|model| {
            model.dataset.as_ref().map(|d| {
                format!(
                    "{} samples · {} layers · {} classes",
                    thousands(d.n_samples),
                    d.layers.len(),
                    d.classes.len()
                )
            })
        })
    };
    view! {
        <header class="header">
            <h1 class="brand">"TopoAct"</h1>
            <div class="dataset-title">
                <span data-testid="dataset-name" class="dataset-name">{name}</span>
                <span data-testid="dataset-size" class="dataset-size">{size}</span>
            </div>
            <ComputeThreads model=model/>
            <div class="mode-switch" role="group" aria-label="View mode">
                <button class="button" data-testid="mode-single"
                    aria-pressed=move || model.with(|m| (m.mode() == ViewMode::Single).to_string())
                    on:click=move |_| act(model, UserAction::SetMode(ViewMode::Single))>"One layer"</button>
                <button class="button" data-testid="mode-multilayer"
                    aria-pressed=move || model.with(|m| (m.mode() == ViewMode::Multilayer).to_string())
                    on:click=move |_| act(model, UserAction::SetMode(ViewMode::Multilayer))>"Three layers"</button>
            </div>
        </header>
    }
}

/// How many threads the worker computes on; one when the page is not cross-origin isolated
/// (the host did not send the COOP/COEP headers) or the browser lacks wasm threads.
#[component]
fn ComputeThreads(model: RwSignal<AppModel>) -> impl IntoView {
    let threads = move || model.with(|model| model.compute_threads);
    let title = move || match threads() {
        0 => "The compute worker is starting.".to_string(),
        1 => "Computations run on one thread: wasm threads need a cross-origin-isolated page \
              (Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy headers)."
            .to_string(),
        n => format!("Computations run on {n} threads (WebAssembly threads)."),
    };
    view! {
        <span class="compute-threads" data-testid="compute-threads" title=title>
            {move || match threads() {
                0 => String::new(),
                1 => "1 thread".to_string(),
                n => format!("{n} threads"),
            }}
        </span>
    }
}

#[component]
fn ProgressBar(model: RwSignal<AppModel>) -> impl IntoView {
    let running = move || model.with(|model| model.requests.running.clone());
    view! {
        <Show when=move || running().is_some()>
            <div class="progress" data-testid="progress" role="progressbar"
                aria-valuemin="0" aria-valuemax="100"
                aria-valuenow=move || running().and_then(|r| r.progress).map(|p| format!("{:.0}", p.fraction() * 100.0)).unwrap_or_default()
            >
                <span class="progress-label" data-testid="progress-label">
                    {move || running().map(|running| {
                        let detail = running.progress.map(|p| format!(" — {} {:.0}%", p.stage, p.fraction() * 100.0)).unwrap_or_default();
                        format!("{}{}", running.description, detail)
                    })}
                </span>
                <div class="progress-track">
                    <div class="progress-fill" style:width=move || {
                        let fraction = running().and_then(|r| r.progress).map(|p| p.fraction()).unwrap_or(0.0);
                        format!("{:.1}%", fraction * 100.0)
                    }></div>
                </div>
                <button data-testid="cancel" class="button" on:click=move |_| cancel_running(model)>"Cancel"</button>
            </div>
        </Show>
    }
}

#[component]
pub fn BannerView(model: RwSignal<AppModel>) -> impl IntoView {
    let banner = move || model.with(|model| model.banner.clone());
    view! {
        {move || banner().map(|banner| {
            let offer_drop = banner.kind == FailureKind::NonFinite;
            view! {
                <div class="banner" role="alert" data-testid="error-message" data-kind=format!("{:?}", banner.kind)>
                    <p class="banner-text">{banner.message}</p>
                    <Show when=move || offer_drop>
                        <button data-testid="drop-nonfinite" class="button" on:click=move |_| {
                            if let Some(source) = LAST_SOURCE.with_borrow(|last| last.clone()) {
                                start_load(model, source, true);
                            }
                        }>"Drop those rows and load"</button>
                    </Show>
                    <button class="button banner-close" aria-label="Dismiss" on:click=move |_| model.update(|m| m.dismiss_banner())>"×"</button>
                </div>
            }
        })}
    }
}

#[component]
fn DropZone(model: RwSignal<AppModel>) -> impl IntoView {
    let on_change = move |event: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> =
            event.target().and_then(|t| t.dyn_into().ok());
        if let Some(input) = input {
            let files = files_of(input.files());
            input.set_value("");
            if !files.is_empty() {
                start_load(model, LoadSource::Files(files), false);
            }
        }
    };
    view! {
        <div class="drop-zone" data-testid="drop-zone">
            <p>"Drop activation files here (.npz, .npy, .safetensors; labels as .npy, .csv or .json)"</p>
            <label class="button file-button">
                "Choose files…"
                <input type="file" multiple data-testid="file-input" class="file-input"
                    accept=".npz,.npy,.safetensors,.csv,.json" on:change=on_change />
            </label>
            <button class="button link-button" data-testid="load-demo" on:click=move |_| open_demo(model)>
                "Open the demo"
            </button>
        </div>
    }
}

#[component]
pub fn LayerList(model: RwSignal<AppModel>) -> impl IntoView {
    let layers = move || {
        model.with(|model| {
            model
                .dataset
                .as_ref()
                .map(|d| d.layers.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <nav class="panel">
            <h2>"Layers"</h2>
            <ul class="layer-list" data-testid="layer-list" role="listbox">
                {move || layers().into_iter().map(|layer| {
                    let name = layer.name.clone();
                    let name_for_click = layer.name.clone();
                    let is_selected = Signal::derive(move || model.with(|model| model.selected_layer() == Some(name.as_str())));
                    view! {
                        <li role="option" class="layer-item" data-layer=layer.name.clone()
                            aria-selected=move || is_selected.get().to_string()
                            class:selected=move || is_selected.get()
                            on:click=move |_| act(model, UserAction::SelectLayer(name_for_click.clone()))
                        >
                            <span class="layer-name">{layer.name.clone()}</span>
                            <span class="layer-dim">{format!("{} d · {}", layer.dim, layer.dtype.name())}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </nav>
    }
}

#[component]
pub fn ClassList(model: RwSignal<AppModel>) -> impl IntoView {
    let classes = move || {
        model.with(|model| {
            model
                .dataset
                .as_ref()
                .map(|d| d.classes.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <div class="panel">
            <h2>"Classes"</h2>
            <ul class="class-list" data-testid="class-list">
                {move || classes().into_iter().map(|class| view! {
                    <li class="class-item"><span class="class-name">{class.name}</span><span class="class-count">{thousands(class.count)}</span></li>
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn DatasetDetails(model: RwSignal<AppModel>) -> impl IntoView {
    let details =
        move || model.with(|model| model.dataset.clone().map(|d| (d, model.last_load.clone())));
    view! {
        {move || details().map(|(dataset, last_load)| {
            let yes_no = |present: bool| if present { "yes" } else { "no" };
            let images = dataset.image_shape.map(|[h, w, c]| format!("yes, {h}×{w}×{c}")).unwrap_or_else(|| "no".into());
            let activation_images = if dataset.activation_image_layers.is_empty() { "no".to_string() } else { dataset.activation_image_layers.join(", ") };
            let projections = if dataset.projections.is_empty() {
                "none".to_string()
            } else {
                dataset.projections.iter().map(|(layer, kind)| format!("{layer} {kind:?}")).collect::<Vec<_>>().join(", ")
            };
            let throughput = last_load.as_ref().map(|load| {
                let rate = megabytes_per_second(load.bytes_read, load.elapsed_ms).map(|r| format!(", {r:.0} MB/s")).unwrap_or_default();
                format!("{} read in {:.2} s{}", byte_size(load.bytes_read), load.elapsed_ms / 1e3, rate)
            });
            view! {
                <div class="dataset-details" data-testid="dataset-details">
                    <h2>{dataset.name.clone()}</h2>
                    <dl class="facts">
                        <dt>"Samples"</dt><dd data-testid="fact-samples">{thousands(dataset.n_samples)}</dd>
                        <dt>"Labels"</dt><dd data-testid="fact-labels">{yes_no(dataset.has_labels)}</dd>
                        <dt>"Thumbnails"</dt><dd data-testid="fact-images">{images}</dd>
                        <dt>"Activation images"</dt><dd data-testid="fact-actimg">{activation_images}</dd>
                        <dt>"Projections"</dt><dd data-testid="fact-projections">{projections}</dd>
                        <dt>"Load"</dt><dd data-testid="fact-load">{throughput}</dd>
                    </dl>
                    <table class="layer-table" data-testid="layer-table">
                        <thead><tr><th>"Layer"</th><th>"Dimensions"</th><th>"Stored as"</th></tr></thead>
                        <tbody>
                            {dataset.layers.iter().map(|layer| view! {
                                <tr><td>{layer.name.clone()}</td><td>{layer.dim}</td><td>{layer.dtype.name()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <Show when={let has = !dataset.notices.is_empty(); move || has}>
                        <h3>"Notices"</h3>
                    </Show>
                    <ul class="notices" data-testid="notices">
                        {dataset.notices.iter().map(|notice| view! { <li>{notice.clone()}</li> }).collect_view()}
                    </ul>
                </div>
            }
        })}
    }
}
