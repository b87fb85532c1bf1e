//! The page's layout, where the graph leads: the graph view and the projection side by side
//! in a split the person resizes (drag the divider, or focus it and use the arrow keys), with
//! the split's share in the session (so in the link); the panels (data, layers, mapper
//! parameters, classes) in a side bar that collapses to a narrow rail.
//!
//! The arithmetic (limits, pointer and keys to a share, whether the panels start open) is
//! plain functions, tested natively; the components only wire them to the DOM.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::context::use_ui;
use super::model::{UserAction, ViewMode};
use crate::session::DEFAULT_GRAPH_SPLIT;

/// The graph's share of the split is drawn within these limits (both views stay usable).
pub const SPLIT_MIN: f64 = 0.3;
pub const SPLIT_MAX: f64 = 0.85;
/// One arrow key moves the divider by this share; Page Up / Page Down by the larger one.
pub const SPLIT_STEP: f64 = 0.02;
pub const SPLIT_STEP_LARGE: f64 = 0.1;
/// Width of the divider between the two views, in CSS pixels (the CSS uses it too).
pub const DIVIDER_PX: f64 = 12.0;
/// Windows at least this wide (CSS pixels) start with the panels open; narrower ones give
/// the room to the graph until the person opens them.
pub const PANELS_OPEN_FROM_PX: f64 = 1920.0;
/// Where the person's choice of open or closed panels is remembered (this browser only).
const PANELS_STORAGE_KEY: &str = "topoact.panels";

/// `share` within [`SPLIT_MIN`, `SPLIT_MAX`]; anything not a number is the default.
pub fn clamp_split(share: f64) -> f64 {
    if share.is_nan() {
        return DEFAULT_GRAPH_SPLIT;
    }
    share.clamp(SPLIT_MIN, SPLIT_MAX)
}

/// The share with the divider's middle under the pointer, `pointer_px` from the split's
/// left edge in a split `split_width_px` wide (the divider included).
pub fn split_at_pointer(pointer_px: f64, split_width_px: f64) -> f64 {
    let usable = split_width_px - DIVIDER_PX;
    if usable.is_nan() || usable <= 0.0 {
        return DEFAULT_GRAPH_SPLIT;
    }
    clamp_split((pointer_px - DIVIDER_PX / 2.0) / usable)
}

/// The share after a key press on the focused divider (`None`: the key does not move it).
/// Left / Down shrink the graph, Right / Up grow it, Page keys by a larger step, Home and
/// End go to the limits.
pub fn split_after_key(share: f64, key: &str) -> Option<f64> {
    let share = clamp_split(share);
    let moved = match key {
        "ArrowLeft" | "ArrowDown" => share - SPLIT_STEP,
        "ArrowRight" | "ArrowUp" => share + SPLIT_STEP,
        "PageDown" => share - SPLIT_STEP_LARGE,
        "PageUp" => share + SPLIT_STEP_LARGE,
        "Home" => SPLIT_MIN,
        "End" => SPLIT_MAX,
        _ => return None,
    };
    // Rounded to thousandths so repeated steps give the same shares (and the same links).
    Some(clamp_split((moved * 1000.0).round() / 1000.0))
}

/// The CSS grid columns of the split: graph, divider, projection.
pub fn split_columns(share: f64) -> String {
    let share = clamp_split(share);
    format!(
        "minmax(0, {share:.4}fr) {DIVIDER_PX}px minmax(0, {:.4}fr)",
        1.0 - share
    )
}

/// Whether the panels start open: the person's last choice in this browser, else open on
/// wide windows only.
pub fn panels_open_at_start(remembered: Option<&str>, window_width_px: f64) -> bool {
    match remembered {
        Some("open") => true,
        Some("closed") => false,
        _ => window_width_px >= PANELS_OPEN_FROM_PX,
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    // Storage can be refused (a sandboxed frame, some privacy settings): then nothing is
    // remembered.
    window().local_storage().ok().flatten()
}

/// The side bar of panels with its toggle. Collapsed, it is a narrow rail with the toggle
/// only; the panels stay in the page (their state is kept), hidden.
#[component]
pub fn SidePanels(children: Children) -> impl IntoView {
    let remembered = local_storage().and_then(|s| s.get_item(PANELS_STORAGE_KEY).ok().flatten());
    let width = window()
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .unwrap_or(0.0);
    let open = RwSignal::new(panels_open_at_start(remembered.as_deref(), width));
    let toggle = move |_| {
        let now_open = !open.get_untracked();
        open.set(now_open);
        if let Some(storage) = local_storage() {
            let _ = storage.set_item(PANELS_STORAGE_KEY, if now_open { "open" } else { "closed" });
        }
    };
    view! {
        <aside class="side-panel" class:collapsed=move || !open.get() data-testid="side-panel"
            data-open=move || open.get().to_string()>
            <button class="panels-toggle" data-testid="panels-toggle" type="button"
                aria-controls="side-panel-body"
                aria-expanded=move || open.get().to_string()
                title=move || if open.get() { "Hide the panels (more room for the graph)" } else { "Show the panels: data, layers, mapper parameters, classes" }
                on:click=toggle
            >
                <span class="panels-toggle-icon" aria-hidden="true">{move || if open.get() { "‹" } else { "›" }}</span>
                <span class="panels-toggle-label">{move || if open.get() { "Hide panels" } else { "Panels" }}</span>
            </button>
            <div class="side-panel-body" id="side-panel-body">{children()}</div>
        </aside>
    }
}

/// The graph view (or the three-layer row) and the projection side by side, with the
/// divider between them; the selection's and the selected node's details under the
/// projection.
#[component]
pub fn ViewsSplit() -> impl IntoView {
    let ui = use_ui();
    let mode = ui.select(|m| m.mode());
    let session_share = ui.select(|m| m.session.graph_split);
    // While the divider is dragged the share lives here; the session takes it on release
    // (one change, one link update).
    let dragged = RwSignal::new(None::<f64>);
    let share = move || clamp_split(dragged.get().unwrap_or_else(|| session_share.get()));
    let split_ref = NodeRef::<leptos::html::Div>::new();
    let divider_ref = NodeRef::<leptos::html::Div>::new();

    let share_under = move |event: &web_sys::PointerEvent| {
        let split = split_ref.get_untracked()?;
        let rect = split.get_bounding_client_rect();
        Some(split_at_pointer(
            event.client_x() as f64 - rect.left(),
            rect.width(),
        ))
    };
    let on_pointer_down = move |event: web_sys::PointerEvent| {
        if event.button() != 0 {
            return;
        }
        event.prevent_default();
        if let Some(divider) = divider_ref.get_untracked() {
            let _ = divider.set_pointer_capture(event.pointer_id());
            let _ = divider.focus();
        }
        dragged.set(Some(share()));
    };
    let on_pointer_move = move |event: web_sys::PointerEvent| {
        if dragged.get_untracked().is_none() {
            return;
        }
        if let Some(moved) = share_under(&event) {
            dragged.set(Some(moved));
        }
    };
    let on_pointer_up = move |_event: web_sys::PointerEvent| {
        if let Some(chosen) = dragged.get_untracked() {
            dragged.set(None);
            ui.act(UserAction::SetGraphSplit(chosen));
        }
    };
    let on_key = move |event: web_sys::KeyboardEvent| {
        if let Some(moved) = split_after_key(share(), &event.key()) {
            event.prevent_default();
            ui.act(UserAction::SetGraphSplit(moved));
        }
    };

    view! {
        <div class="views-split" node_ref=split_ref data-testid="views-split"
            class:dragging=move || dragged.get().is_some()
            style:grid-template-columns=move || split_columns(share())
            data-split=move || format!("{:.3}", share())
        >
            <section class="graph-pane" id="graph-pane" data-testid="graph-pane">
                <Show when=move || mode.get() == ViewMode::Single>
                    <super::graph_view::GraphView />
                </Show>
                <Show when=move || mode.get() == ViewMode::Multilayer>
                    <super::multilayer::MultilayerView />
                </Show>
            </section>
            <div class="split-divider" node_ref=divider_ref data-testid="split-divider"
                role="separator" tabindex="0" aria-orientation="vertical"
                aria-label="Resize the graph and the projection (arrow keys)"
                aria-controls="graph-pane projection-pane"
                aria-valuemin=format!("{:.0}", SPLIT_MIN * 100.0)
                aria-valuemax=format!("{:.0}", SPLIT_MAX * 100.0)
                aria-valuenow=move || format!("{:.0}", share() * 100.0)
                title="Drag to resize; arrow keys when focused; double-click for the default"
                on:pointerdown=on_pointer_down on:pointermove=on_pointer_move
                on:pointerup=on_pointer_up on:pointercancel=on_pointer_up
                on:keydown=on_key
                on:dblclick=move |_| ui.act(UserAction::SetGraphSplit(DEFAULT_GRAPH_SPLIT))
            ></div>
            <section class="projection-pane" id="projection-pane" data-testid="projection-pane">
                <super::projection_view::ProjectionView />
                <div class="detail-panel">
                    <super::neighbours::NeighboursPanel />
                    <super::projection_view::SelectionDetails />
                    <super::controls::NodeDetails />
                </div>
            </section>
        </div>
    }
}

/// Keeps a signal in step with an element's size (CSS pixels of its content box), through
/// the browser's `ResizeObserver`. Dropping it stops the observing.
pub struct SizeObserver {
    observer: web_sys::ResizeObserver,
    _callback: wasm_bindgen::closure::Closure<dyn FnMut(js_sys::Array)>,
}

impl SizeObserver {
    /// Calls `on_size([width, height])` now-ish (the observer reports every observed element
    /// once at the start) and whenever the element's size changes.
    pub fn observe(
        element: &web_sys::Element,
        on_size: impl Fn([f64; 2]) + 'static,
    ) -> Option<SizeObserver> {
        let callback = wasm_bindgen::closure::Closure::<dyn FnMut(js_sys::Array)>::new(
            move |entries: js_sys::Array| {
                let newest = entries
                    .iter()
                    .rev()
                    .find_map(|entry| entry.dyn_into::<web_sys::ResizeObserverEntry>().ok());
                if let Some(entry) = newest {
                    let rect = entry.content_rect();
                    on_size([rect.width(), rect.height()]);
                }
            },
        );
        let observer = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()).ok()?;
        observer.observe(element);
        Some(SizeObserver {
            observer,
            _callback: callback,
        })
    }
}

impl Drop for SizeObserver {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_split_stays_within_its_limits() {
        for (share, expected) in [
            (0.5, 0.5),
            (0.0, SPLIT_MIN),
            (-3.0, SPLIT_MIN),
            (1.0, SPLIT_MAX),
            (f64::INFINITY, SPLIT_MAX),
            (f64::NAN, DEFAULT_GRAPH_SPLIT),
        ] {
            assert_eq!(clamp_split(share), expected, "{share}");
        }
        assert_eq!(clamp_split(DEFAULT_GRAPH_SPLIT), DEFAULT_GRAPH_SPLIT);
    }

    #[test]
    fn the_divider_follows_the_pointer() {
        let width = 1012.0;
        // The divider's middle at 706 px: 700 px of the 1000 usable for the graph.
        assert!((split_at_pointer(706.0, width) - 0.7).abs() < 1e-12);
        assert_eq!(split_at_pointer(5.0, width), SPLIT_MIN);
        assert_eq!(split_at_pointer(2000.0, width), SPLIT_MAX);
        // A split without room (hidden, not laid out) keeps the default.
        assert_eq!(split_at_pointer(10.0, 0.0), DEFAULT_GRAPH_SPLIT);
        assert_eq!(split_at_pointer(10.0, f64::NAN), DEFAULT_GRAPH_SPLIT);
    }

    #[test]
    fn keys_move_the_divider_in_steps_and_to_the_limits() {
        let check = |share: f64, key: &str, expected: Option<f64>| {
            assert_eq!(split_after_key(share, key), expected, "{share} {key}");
        };
        check(0.7, "ArrowLeft", Some(0.68));
        check(0.7, "ArrowDown", Some(0.68));
        check(0.7, "ArrowRight", Some(0.72));
        check(0.7, "ArrowUp", Some(0.72));
        check(0.7, "PageDown", Some(0.6));
        check(0.7, "PageUp", Some(0.8));
        check(0.7, "Home", Some(SPLIT_MIN));
        check(0.7, "End", Some(SPLIT_MAX));
        check(SPLIT_MAX, "ArrowRight", Some(SPLIT_MAX));
        check(SPLIT_MIN, "PageDown", Some(SPLIT_MIN));
        check(0.7, "Enter", None);
        check(0.7, "a", None);
        // Ten steps left and ten right come back to the same share.
        let mut share = DEFAULT_GRAPH_SPLIT;
        for key in ["ArrowLeft"; 10].into_iter().chain(["ArrowRight"; 10]) {
            share = split_after_key(share, key).expect("a moving key");
        }
        assert_eq!(share, DEFAULT_GRAPH_SPLIT);
    }

    #[test]
    fn split_columns_give_the_graph_its_share() {
        assert_eq!(
            split_columns(0.7),
            "minmax(0, 0.7000fr) 12px minmax(0, 0.3000fr)"
        );
        assert_eq!(
            split_columns(2.0),
            "minmax(0, 0.8500fr) 12px minmax(0, 0.1500fr)"
        );
    }

    #[test]
    fn panels_start_as_last_left_else_open_on_wide_windows() {
        assert!(panels_open_at_start(Some("open"), 1280.0));
        assert!(!panels_open_at_start(Some("closed"), 2560.0));
        assert!(!panels_open_at_start(None, 1500.0));
        assert!(panels_open_at_start(None, 2560.0));
        assert!(!panels_open_at_start(Some("garbage"), 1280.0));
    }
}
