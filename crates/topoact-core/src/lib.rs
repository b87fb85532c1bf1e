//! TopoAct core: activation datasets, their file formats, the mapper, the graph layout and
//! the projections (t-SNE, UMAP).
//!
//! Architecture invariant: this crate knows nothing of the browser. No leptos, web-sys,
//! js-sys, clocks or threads (rayon only behind the `parallel` feature). Long computations
//! are offered as [`job::Job`]s that do bounded work per step, so the single-threaded
//! worker can report progress and honour cancellation between steps.

pub mod columns;
pub mod compare;
pub mod dataset;
pub mod diagnostics;
pub mod embed;
pub mod formats;
pub mod job;
pub mod layout;
pub mod mapper;
pub mod neighbours;
pub mod numeric;
pub mod pipeline;
pub mod subsample;
