//! The worker protocol: the only crossing between the UI thread and the compute worker.
//!
//! Messages are plain serde enums converted with `serde-wasm-bindgen` (structured clone).
//! A dropped `File` cannot be serialised, so [`ToWorker::LoadFiles`] travels with the
//! `File` objects attached under the JS property [`FILES_PROPERTY`] of the same message.
//!
//! Every request carries a `request_id` chosen by the UI; every answer names the request it
//! answers. A new long request supersedes (cancels) the one running.

use serde::{Deserialize, Serialize};
use topoact_core::dataset::DatasetSummary;
use topoact_core::job::Progress;

/// JS property of a `LoadFiles` message that holds the array of `File`s.
pub const FILES_PROPERTY: &str = "files";

/// Identifies one request from the UI.
pub type RequestId = u64;

/// UI -> worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToWorker {
    /// Parse the `File`s attached to this message into the new dataset.
    LoadFiles { request_id: RequestId, drop_nonfinite: bool },
    /// Fetch an activation file over HTTP(S) (the demo, or `?data=`) and parse it.
    LoadUrl { request_id: RequestId, url: String, drop_nonfinite: bool },
    /// Stop the named request if it is still running.
    Cancel { request_id: RequestId },
}

impl ToWorker {
    pub fn request_id(&self) -> RequestId {
        match self {
            ToWorker::LoadFiles { request_id, .. }
            | ToWorker::LoadUrl { request_id, .. }
            | ToWorker::Cancel { request_id } => *request_id,
        }
    }
}

/// What kind of failure, so the UI can offer the right next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The input is not a usable activation file (the message says why and how to fix it).
    BadInput,
    /// The activations contain NaN or infinity; loading again with `drop_nonfinite` works.
    NonFinite,
    /// Fetching a URL failed (network, CORS, HTTP status).
    Network,
    /// Anything else (a bug): the message is shown as is.
    Internal,
}

/// Worker -> UI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FromWorker {
    /// The worker's WebAssembly is initialised and it accepts requests.
    Ready,
    /// A long request advanced.
    Progress { request_id: RequestId, progress: Progress },
    /// A dataset was loaded and replaced the previous one.
    Loaded { request_id: RequestId, summary: DatasetSummary, elapsed_ms: f64, bytes_read: u64 },
    /// The request failed; the previous dataset is still loaded.
    Failed { request_id: RequestId, kind: FailureKind, message: String },
    /// The request was cancelled (by Cancel or by a newer request); nothing changed.
    Cancelled { request_id: RequestId },
}
