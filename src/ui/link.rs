//! Share links: the whole view state in the URL fragment (it never reaches a server).
//!
//! - [`ViewSignals`]: the view state that lives outside the model (each view's camera, the
//!   search text), shared through the Leptos context, with the cameras a restored link asks
//!   for (each view takes its own instead of its next fit).
//! - Writing: after the view has been still for [`WRITE_AFTER_MS`], the state is encoded
//!   (`session::encode_checked`) into the fragment. A change of what is shown (data, layer,
//!   parameters, selection, highlighted classes, projection, mode) adds a history entry, so
//!   Back and Forward step through them; zoom, pan, colours, thresholds and the graph /
//!   projection split replace the current entry. "Copy link" writes at once ([`write_now`]).
//! - Reading: at start-up and on Back / Forward the link's state becomes the session
//!   ([`UserAction::OpenLink`]); the data it names is then loaded or asked for.

use leptos::prelude::*;

use super::context::Ui;
use super::model::{GraphSlot, UserAction, ViewMode};
use crate::render::camera::Camera;
use crate::session::{self, CameraState, LinkError, SessionState};

/// Quiet time before the fragment is rewritten (a drag or a wheel zoom writes once).
pub const WRITE_AFTER_MS: u32 = 400;

/// Cameras a restored link asks for, not yet applied.
#[derive(Clone, Debug, Default)]
struct PendingCameras {
    /// Single-layer mode: index 0; multilayer: the row's positions.
    graphs: Vec<Option<Camera>>,
    projection: Option<Camera>,
}

/// View state kept outside the model (it changes on every frame of a drag). Provided in the
/// context beside `context::Ui`.
#[derive(Clone, Copy)]
pub struct ViewSignals {
    pub main_camera: RwSignal<Camera>,
    pub layer_cameras: [RwSignal<Camera>; 3],
    pub projection_camera: RwSignal<Camera>,
    pub search_text: RwSignal<String>,
    pending: StoredValue<PendingCameras>,
    /// The state last written to (or read from) the fragment.
    last_written: StoredValue<Option<SessionState>>,
}

impl ViewSignals {
    pub fn new() -> Self {
        Self {
            main_camera: RwSignal::new(Camera::default()),
            layer_cameras: [
                RwSignal::new(Camera::default()),
                RwSignal::new(Camera::default()),
                RwSignal::new(Camera::default()),
            ],
            projection_camera: RwSignal::new(Camera::default()),
            search_text: RwSignal::new(String::new()),
            pending: StoredValue::new(PendingCameras::default()),
            last_written: StoredValue::new(None),
        }
    }

    /// The camera of a graph view.
    pub fn camera_for(&self, slot: GraphSlot) -> RwSignal<Camera> {
        match slot {
            GraphSlot::Main => self.main_camera,
            GraphSlot::Layer(position) => self.layer_cameras[position.min(2)],
        }
    }

    /// The camera a restored link asks this graph view for, once.
    pub fn take_pending_camera(&self, slot: GraphSlot) -> Option<Camera> {
        let index = match slot {
            GraphSlot::Main => 0,
            GraphSlot::Layer(position) => position,
        };
        self.pending
            .try_update_value(|p| p.graphs.get_mut(index).and_then(Option::take))
            .flatten()
    }

    /// The projection camera a restored link asks for, once.
    pub fn take_pending_projection_camera(&self) -> Option<Camera> {
        self.pending
            .try_update_value(|p| p.projection.take())
            .flatten()
    }

    /// Remembers the cameras of `state` for the views to take, and sets them now as well
    /// (for views whose content does not change, so no fit follows).
    fn restore_cameras(&self, state: &SessionState) {
        let cameras: Vec<Option<Camera>> = state
            .graph_cameras
            .iter()
            .map(|c| Some(camera_of(c)))
            .collect();
        let single = state.mode == crate::vocabulary::ViewMode::Single;
        for (index, camera) in cameras.iter().enumerate() {
            if let Some(camera) = camera {
                let signal = if single {
                    self.main_camera
                } else {
                    self.layer_cameras[index.min(2)]
                };
                signal.set(*camera);
            }
        }
        let projection = state.projection_camera.as_ref().map(camera_of);
        if let Some(camera) = projection {
            self.projection_camera.set(camera);
        }
        self.pending.set_value(PendingCameras {
            graphs: cameras,
            projection,
        });
    }
}

impl Default for ViewSignals {
    fn default() -> Self {
        Self::new()
    }
}

fn camera_of(state: &CameraState) -> Camera {
    Camera {
        scale: state.scale,
        offset: [state.offset_x, state.offset_y],
    }
}

fn camera_state(camera: Camera) -> CameraState {
    CameraState {
        scale: camera.scale,
        offset_x: camera.offset[0],
        offset_y: camera.offset[1],
    }
}

/// The link of what is on screen now: the session, with the cameras and search text folded
/// in. Written whatever is computing: the session is the truth, results are not in it.
pub fn current_state(session: &SessionState, signals: &ViewSignals) -> SessionState {
    let mut state = session.clone();
    state.graph_cameras = match session.mode {
        ViewMode::Single => vec![camera_state(signals.main_camera.get_untracked())],
        ViewMode::Multilayer => (0..session.multilayer_layers.len())
            .map(|position| camera_state(signals.layer_cameras[position.min(2)].get_untracked()))
            .collect(),
    };
    state.projection_camera = session
        .projection
        .as_ref()
        .map(|_| camera_state(signals.projection_camera.get_untracked()));
    state.search_text = signals.search_text.get_untracked();
    state
}

/// What makes a history entry: the state without cameras, colours, thresholds, the split and
/// search text (those replace the current entry).
fn significant(state: &SessionState) -> SessionState {
    SessionState {
        graph_cameras: Vec::new(),
        projection_camera: None,
        colour_by: String::new(),
        point_colour: String::new(),
        jaccard_threshold: 0.0,
        ribbon_threshold: 0.0,
        show_ribbons: false,
        show_glyphs: false,
        search_text: String::new(),
        graph_split: 0.0,
        ..state.clone()
    }
}

/// The link in the page's fragment: `None` when there is none.
pub fn link_in_url() -> Option<Result<SessionState, LinkError>> {
    let hash = window().location().hash().ok()?;
    let fragment = hash.trim_start_matches('#');
    (!fragment.is_empty()).then(|| session::decode(fragment))
}

/// Writes `state` into the fragment (a new history entry when `push`).
fn write_fragment(encoded: &str, push: bool) {
    let location = window().location();
    let url = format!(
        "{}{}#{}",
        location.pathname().unwrap_or_default(),
        location.search().unwrap_or_default(),
        encoded
    );
    let Ok(history) = window().history() else {
        return;
    };
    let _ = if push {
        history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
    } else {
        history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
    };
}

/// The view on screen now, in the fragment at once (unless it is there already): a new
/// history entry when what is shown changed since the last write, else a replacement.
/// `Err`: the view is too long for a link (a huge selection); the fragment keeps the last
/// view that fitted, and the message says so.
pub fn write_now(ui: Ui, signals: ViewSignals) -> Result<(), String> {
    let state = ui.session.with_untracked(|s| current_state(s, &signals));
    let previous = signals.last_written.get_value();
    if previous.as_ref() == Some(&state) {
        return Ok(());
    }
    let encoded = session::encode_checked(&state)
        .map_err(|err| format!("The address keeps the last view that fits in a link: {err}"))?;
    let push = previous
        .as_ref()
        .is_some_and(|previous| significant(previous) != significant(&state));
    write_fragment(&encoded, push);
    signals.last_written.set_value(Some(state));
    Ok(())
}

/// Keeps the fragment in step with the session: a change arms a timer that writes the newest
/// state [`WRITE_AFTER_MS`] later, whether or not anything is computing.
pub fn keep_fragment_in_step(ui: Ui, signals: ViewSignals) {
    let timer = StoredValue::new_local(None::<gloo_timers::callback::Timeout>);
    let armed = StoredValue::new(false);
    Effect::new(move |_| {
        signals.main_camera.track();
        for camera in signals.layer_cameras {
            camera.track();
        }
        signals.projection_camera.track();
        signals.search_text.track();
        let state = ui.session.with(|s| current_state(s, &signals));
        let unchanged = signals
            .last_written
            .with_value(|last| last.as_ref() == Some(&state));
        // A timer already armed writes the newest state when it fires: a stream of changes
        // (frames of a projection, a drag) cannot postpone the write past WRITE_AFTER_MS.
        if unchanged || armed.get_value() {
            return;
        }
        armed.set_value(true);
        let write = move || {
            armed.set_value(false);
            if let Err(message) = write_now(ui, signals) {
                if ui.status.with_untracked(|status| *status != message) {
                    ui.act(UserAction::ShowStatus(message));
                }
            }
        };
        timer.set_value(Some(gloo_timers::callback::Timeout::new(
            WRITE_AFTER_MS,
            write,
        )));
    });
}

/// Takes a link's cameras and search text, and remembers it as written (so restoring it
/// adds no history entry of its own).
fn adopt_view_signals(signals: ViewSignals, state: &SessionState) {
    signals.restore_cameras(state);
    signals.search_text.set(state.search_text.clone());
    signals.last_written.set_value(Some(state.clone()));
}

/// Opens a link: its cameras and search text go to the views, its state becomes the session
/// (the data it names is then loaded, or asked for, by the requests that follow).
pub fn open_link(ui: Ui, signals: ViewSignals, state: SessionState) {
    adopt_view_signals(signals, &state);
    ui.act(UserAction::OpenLink(Box::new(state)));
}

/// Back / Forward: the fragment's state becomes the session (unless it is what was just
/// written).
pub fn step_through_history(ui: Ui, signals: ViewSignals) -> Result<(), LinkError> {
    let Some(link) = link_in_url() else {
        return Ok(());
    };
    let state = link?;
    if signals
        .last_written
        .with_value(|last| last.as_ref() == Some(&state))
    {
        return Ok(());
    }
    open_link(ui, signals, state);
    Ok(())
}
