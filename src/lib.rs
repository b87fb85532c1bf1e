//! TopoAct for the browser: the Leptos app (UI thread) and the compute worker runtime.
//!
//! - [`protocol`]: the request/response enums, the only crossing between UI and worker.
//! - [`worker`]: the worker's runtime; it owns the dataset.
//! - [`worker_client`]: the UI thread's handle on the worker.
//! - [`ui`]: Leptos components; [`ui::App`] is the root.
//! - [`share`]: the view state as a typed value and its share-link codec.

pub mod format;
pub mod protocol;
pub mod render;
pub mod share;
pub mod ui;
pub mod worker;
pub mod worker_client;
