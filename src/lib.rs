//! TopoAct for the browser: the Leptos app (UI thread) and the compute worker runtime.
//!
//! - [`protocol`]: the request/response enums, the only crossing between UI and worker.
//! - [`worker`]: the worker's runtime; it owns the dataset.
//! - [`worker_client`]: the UI thread's handle on the worker.
//! - [`ui`]: Leptos components; [`ui::App`] is the root.
//! - [`session`]: the session state (what a person sees) as a typed value and its link codec.
//! - [`vocabulary`]: the types the protocol and the session share.

pub mod format;
pub mod protocol;
pub mod render;
pub mod session;
pub mod ui;
pub mod vocabulary;
pub mod worker;
pub mod worker_client;
