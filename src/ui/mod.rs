//! Leptos components of the app. Logic lives on plain types ([`model`]); components wire
//! signals to the DOM. They reach the model only through the [`Ui`] handle in the context
//! ([`context`]): narrow signals to read, user actions to change the session, and methods
//! for the worker requests the session does not derive.

pub mod comparison;
pub mod context;
pub mod controls;
pub mod copy_link;
pub mod diagnostics;
pub mod export;
pub mod graph_style;
pub mod graph_view;
pub mod keyboard;
pub mod layout;
pub mod link;
pub mod model;
pub mod multilayer;
pub mod neighbours;
pub mod node_facts;
pub mod projection_export;
pub mod projection_scene;
pub mod projection_view;
pub mod search;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::File;

use crate::format::{byte_size, megabytes_per_second, thousands};
use crate::protocol::FailureKind;
use crate::vocabulary::DatasetRef;
use crate::worker_client;
pub use context::{use_ui, Ui};
use controls::{ClassDirectory, ClassSearch, ParameterPanel};
use diagnostics::DiagnosticsPanel;
use model::{AppModel, UserAction, ViewMode};

/// The embedded demo dataset, relative to the page.
pub const DEMO_URL: &str = "./demo/fashion-efficientnet-lite0.npz";

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
fn open_initial(ui: Ui, signals: link::ViewSignals) {
    let default_data = match initial_data_url() {
        url if url == DEMO_URL => DatasetRef::Demo,
        url => DatasetRef::Url { url },
    };
    match link::link_in_url() {
        Some(Ok(state)) => link::open_link(ui, signals, state),
        Some(Err(err)) => ui.act_all([
            UserAction::OpenData(default_data),
            UserAction::ShowLinkProblem(format!("{err} The default view is shown instead.")),
        ]),
        None => ui.act(UserAction::OpenData(default_data)),
    }
}

/// The root component: it makes the model, provides the [`Ui`] handle (the only way below
/// it to read or change the model) and the view signals, and starts the worker.
#[component]
pub fn App() -> impl IntoView {
    let ui = Ui::provide(RwSignal::new(AppModel::default()));
    let signals = link::ViewSignals::new();
    provide_context(signals);

    let spawned = worker_client::spawn(
        move |answer| ui.on_worker_answer(answer),
        move |message| ui.on_worker_failure(message),
    );
    let synthetic_graph = synthetic_graph_request();
    match spawned {
        Ok(()) => match synthetic_graph {
            Some(n_nodes) => ui.start_synthetic_graph(n_nodes),
            None => open_initial(ui, signals),
        },
        Err(message) => ui.on_worker_failure(message),
    }

    // The requests follow the session, whatever changed it (the rendering benchmark's
    // synthetic graph has no session behind it).
    if synthetic_graph.is_none() {
        ui.keep_requests_in_step();
    }
    link::keep_fragment_in_step(ui, signals);
    let on_popstate = window_event_listener(leptos::ev::popstate, move |_| {
        if let Err(err) = link::step_through_history(ui, signals) {
            ui.act(UserAction::ShowLinkProblem(format!(
                "{err} The view was left as it is."
            )));
        }
    });
    on_cleanup(move || on_popstate.remove());
    let on_keydown = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape" {
            ui.act(UserAction::Escape);
        }
    });
    on_cleanup(move || on_keydown.remove());

    let on_drop = move |event: web_sys::DragEvent| {
        event.prevent_default();
        ui.load_files(files_of(
            event.data_transfer().and_then(|transfer| transfer.files()),
        ));
    };
    view! {
        <div
            class="app"
            on:dragover=|event: web_sys::DragEvent| event.prevent_default()
            on:drop=on_drop
        >
            <Header />
            <ProgressBar />
            <BannerView />
            <main class="workspace">
                <layout::SidePanels>
                    <DropZone />
                    <LayerList />
                    <ParameterPanel />
                    <ClassSearch />
                    <ClassDirectory />
                </layout::SidePanels>
                <div class="main-column">
                    <layout::ViewsSplit />
                    <comparison::LayerComparisonPanel />
                    <DiagnosticsPanel />
                    <details class="dataset-section">
                        <summary>"Dataset"</summary>
                        <DatasetDetails />
                        <ClassList />
                    </details>
                </div>
            </main>
            <footer class="status-bar" data-testid="load-status">{move || ui.status.get()}</footer>
        </div>
    }
}

#[component]
fn Header() -> impl IntoView {
    let ui = use_ui();
    let name = ui.select(|model| {
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
    });
    let size = move || {
        ui.dataset.with(|dataset| {
            dataset.as_ref().map(|d| {
                format!(
                    "{} samples · {} layers · {} classes",
                    thousands(d.n_samples),
                    d.layers.len(),
                    d.classes.len()
                )
            })
        })
    };
    let mode = ui.select(|m| m.mode());
    view! {
        <header class="header">
            <h1 class="brand">"TopoAct"</h1>
            <div class="dataset-title">
                <span data-testid="dataset-name" class="dataset-name" title=move || name.get()>{move || name.get()}</span>
                <span data-testid="dataset-size" class="dataset-size">{size}</span>
                <copy_link::CopyLink />
            </div>
            <ComputeThreads />
            <div class="mode-switch" role="group" aria-label="View mode">
                <button class="button" data-testid="mode-single"
                    aria-pressed=move || (mode.get() == ViewMode::Single).to_string()
                    on:click=move |_| ui.act(UserAction::SetMode(ViewMode::Single))>"One layer"</button>
                <button class="button" data-testid="mode-multilayer"
                    aria-pressed=move || (mode.get() == ViewMode::Multilayer).to_string()
                    on:click=move |_| ui.act(UserAction::SetMode(ViewMode::Multilayer))>"Three layers"</button>
            </div>
        </header>
    }
}

/// How many threads the worker computes on; one when the page is not cross-origin isolated
/// (the host did not send the COOP/COEP headers) or the browser lacks wasm threads.
#[component]
fn ComputeThreads() -> impl IntoView {
    let compute_threads = use_ui().compute_threads;
    let threads = move || compute_threads.get();
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
fn ProgressBar() -> impl IntoView {
    let ui = use_ui();
    let running = move || ui.running.get();
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
                <button data-testid="cancel" class="button" on:click=move |_| ui.cancel_running()>"Cancel"</button>
            </div>
        </Show>
    }
}

#[component]
pub fn BannerView() -> impl IntoView {
    let ui = use_ui();
    let banner = move || ui.banner.get();
    view! {
        {move || banner().map(|banner| {
            let offer_drop = banner.kind == FailureKind::NonFinite;
            // A notice or a request to drop a file is not a failure: shown calmly, announced
            // politely; failures in red, announced at once.
            let calm = matches!(banner.kind, FailureKind::Notice | FailureKind::NeedsFile);
            let (class, role) = if calm { ("banner banner-info", "status") } else { ("banner", "alert") };
            view! {
                <div class=class role=role data-testid="error-message" data-kind=format!("{:?}", banner.kind)>
                    <p class="banner-text">{banner.message}</p>
                    <Show when=move || offer_drop>
                        <button data-testid="drop-nonfinite" class="button"
                            on:click=move |_| ui.load_again_dropping_nonfinite()>"Drop those rows and load"</button>
                    </Show>
                    <button class="button banner-close" aria-label="Dismiss" on:click=move |_| ui.act(UserAction::DismissBanner)>"×"</button>
                </div>
            }
        })}
    }
}

#[component]
fn DropZone() -> impl IntoView {
    let ui = use_ui();
    let on_change = move |event: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> =
            event.target().and_then(|t| t.dyn_into().ok());
        if let Some(input) = input {
            let files = files_of(input.files());
            input.set_value("");
            ui.load_files(files);
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
            <button class="button link-button" data-testid="load-demo" on:click=move |_| ui.open_demo()>
                "Open the demo"
            </button>
        </div>
    }
}

#[component]
pub fn LayerList() -> impl IntoView {
    let ui = use_ui();
    let layers = move || {
        ui.dataset
            .with(|dataset| dataset.as_ref().map(|d| d.layers.clone()))
            .unwrap_or_default()
    };
    let selected_layer = ui.select(|m| m.session.layer.clone());
    view! {
        <nav class="panel">
            <h2>"Layers"</h2>
            <ul class="layer-list" data-testid="layer-list" role="listbox" aria-label="Layers">
                {move || layers().into_iter().map(|layer| {
                    let name = layer.name.clone();
                    let name_for_click = layer.name.clone();
                    let is_selected = Signal::derive(move || selected_layer.with(|selected| selected.as_deref() == Some(name.as_str())));
                    view! {
                        <li role="option" class="layer-item" data-layer=layer.name.clone()
                            aria-selected=move || is_selected.get().to_string()
                            class:selected=move || is_selected.get()
                            on:click=move |_| ui.act(UserAction::SelectLayer(name_for_click.clone()))
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
pub fn ClassList() -> impl IntoView {
    let dataset = use_ui().dataset;
    let classes = move || {
        dataset
            .with(|dataset| dataset.as_ref().map(|d| d.classes.clone()))
            .unwrap_or_default()
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
pub fn DatasetDetails() -> impl IntoView {
    let details =
        use_ui().select(|model| model.dataset.clone().map(|d| (d, model.last_load.clone())));
    view! {
        {move || details.get().map(|(dataset, last_load)| {
            let yes_no = |present: bool| if present { "yes" } else { "no" };
            let images = dataset.image_shape.map(|[h, w, c]| format!("yes, {h}×{w}×{c}")).unwrap_or_else(|| "no".into());
            let activation_images = if dataset.activation_image_layers.is_empty() { "no".to_string() } else { dataset.activation_image_layers.join(", ") };
            let projections = if dataset.projections.is_empty() {
                "none".to_string()
            } else {
                dataset.projections.iter().map(|(layer, kind)| format!("{layer} {kind:?}")).collect::<Vec<_>>().join(", ")
            };
            let columns = if dataset.columns.is_empty() {
                "none".to_string()
            } else {
                dataset.columns.iter().map(|column| match column.kind {
                    topoact_core::columns::ColumnKind::Numeric => format!("{} (numbers)", column.name),
                    topoact_core::columns::ColumnKind::Categorical => format!("{} ({} categories)", column.name, column.categories.len()),
                }).collect::<Vec<_>>().join(", ")
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
                        <dt>"Predictions"</dt><dd data-testid="fact-predictions">{yes_no(dataset.has_predictions)}</dd>
                        <dt>"Columns"</dt><dd data-testid="fact-columns">{columns}</dd>
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
