//! The app's UI-side state as a plain value, with its transitions. Components read it
//! through a signal; the logic lives here so it is tested natively.

use topoact_core::dataset::DatasetSummary;
use topoact_core::job::Progress;

use crate::protocol::{FailureKind, FromWorker, RequestId};

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
                }
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
            FromWorker::Cancelled { request_id } => {
                if !self.is_current(request_id) {
                    return;
                }
                self.running = None;
                self.status = "Cancelled. Nothing was changed.".into();
            }
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
