//! The compute worker (runs inside a dedicated Web Worker, bin `worker`).
//!
//! Architecture invariant: the dataset lives here and only here. The UI thread sends
//! [`ToWorker`] requests and receives [`FromWorker`] answers holding what it draws.
//!
//! Rooms:
//! - this file: the entry point and the one dispatch table (which room answers a request and
//!   in which [`Lane`] it runs);
//! - `state`: what the worker holds (the dataset and the caches derived from it);
//! - `runtime`: jobs stepped with progress and yields, cancellation, lanes, final answers;
//! - `io`: dropped files and URLs loaded, the file identity of a share link;
//! - `graph`: mapper graphs, layout, diagnostics, glyphs, export, imports, layer comparison;
//! - `projection`: t-SNE / UMAP with the shared neighbour graph, precomputed coordinates;
//! - `images`: thumbnails and a node's examples;
//! - `columns`: per-sample columns and predictions (node statistics, point values) and a
//!   sample's nearest neighbours;
//! - `synthetic`: generated datasets and graphs (synthetic links, `?synthetic-graph=N`);
//! - `bench` (feature `bench` only): what only the benchmark page asks for.
//!
//! Every room answers with a [`runtime::Outcome`] (or a `Result` for short requests); errors
//! are [`WorkerError`]s, never strings.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

#[cfg(not(feature = "bench"))]
use crate::protocol::WorkerError;
use crate::protocol::{FromWorker, ToWorker};
use runtime::{answer, spawn, Lane};

#[cfg(feature = "bench")]
mod bench;
mod columns;
mod graph;
mod images;
mod io;
mod projection;
mod runtime;
mod state;
mod synthetic;

pub use io::{JsFileSource, DATASET_BUDGET_BYTES};
pub use runtime::YIELD_EVERY_MS;
#[doc(hidden)]
pub use runtime::{channel_yield, timeout_yield};

/// rayon's pool on Web Workers, for `worker-loader.js` (the multi-threaded build only).
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Entry point, called by `worker-loader.js` once the wasm is initialised (and, in the
/// multi-threaded build, once rayon's pool of `threads` threads runs): installs the message
/// handler and announces readiness. Requests sent earlier wait in the UI's queue.
#[wasm_bindgen(js_name = startComputeWorker)]
pub fn start_compute_worker(threads: usize) {
    console_error_panic_hook::set_once();
    let threads = if cfg!(feature = "threads") {
        threads.max(1)
    } else {
        1
    };
    runtime::set_compute_threads(threads);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(handle_message);
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    runtime::post(&FromWorker::Ready {
        compute_threads: threads,
    });
}

fn handle_message(event: MessageEvent) {
    let message = event.data();
    match serde_wasm_bindgen::from_value::<ToWorker>(message.clone()) {
        Ok(request) => dispatch(request, &message),
        Err(err) => web_sys::console::error_1(&format!("worker: unreadable request: {err}").into()),
    }
}

/// The dispatch table: each request, the room that answers it and how it runs. Long requests
/// are `spawn`ed in a lane (see `runtime`); short ones are answered at once.
fn dispatch(request: ToWorker, message: &JsValue) {
    match request {
        ToWorker::Cancel { request_id } => runtime::cancel(request_id),
        ToWorker::LoadFiles {
            request_id,
            drop_nonfinite,
        } => spawn(
            Lane::Main,
            request_id,
            io::load_files(request_id, io::files_of(message), drop_nonfinite),
        ),
        ToWorker::LoadUrl {
            request_id,
            url,
            drop_nonfinite,
        } => spawn(
            Lane::Main,
            request_id,
            io::load_url(request_id, url, drop_nonfinite),
        ),
        ToWorker::LoadSynthetic {
            request_id,
            n_samples,
            dim,
            seed,
            n_layers,
        } => spawn(
            Lane::Main,
            request_id,
            synthetic::load_synthetic(request_id, n_samples, dim, seed, n_layers),
        ),
        ToWorker::ComputeGraph {
            request_id,
            request,
            previous_positions,
        } => spawn(
            Lane::Main,
            request_id,
            graph::compute_graph(request_id, request, previous_positions),
        ),
        ToWorker::CompareLayers {
            request_id,
            subsample,
            params,
        } => spawn(
            Lane::Main,
            request_id,
            graph::compare_layers(request_id, subsample, params),
        ),
        ToWorker::SyntheticGraph {
            request_id,
            n_nodes,
            seed,
        } => spawn(
            Lane::Main,
            request_id,
            synthetic::synthetic_graph(request_id, n_nodes, seed),
        ),
        ToWorker::ComputeProjection {
            request_id,
            request,
        } => spawn(
            Lane::Projection,
            request_id,
            projection::compute_projection(request_id, request),
        ),
        ToWorker::ExportGraph {
            request_id,
            request,
            format,
        } => spawn(
            Lane::Beside,
            request_id,
            graph::export_graph(request_id, request, format),
        ),
        ToWorker::NodeGlyphs {
            request_id,
            layer,
            graph_version,
            members_of_nodes,
        } => answer(
            request_id,
            graph::node_glyphs(request_id, &layer, graph_version, &members_of_nodes),
        ),
        ToWorker::NodeExamples { request_id, query } => {
            answer(request_id, images::node_examples_answer(request_id, &query))
        }
        ToWorker::SampleThumbnail {
            request_id,
            sample_idx,
        } => answer(request_id, Ok(images::sample_thumbnail(sample_idx))),
        ToWorker::Neighbours {
            request_id,
            layer,
            sample_idx,
            k,
        } => answer(
            request_id,
            columns::neighbours(request_id, &layer, sample_idx, k),
        ),
        ToWorker::SampleValues { request_id, of } => {
            answer(request_id, columns::sample_values(request_id, of))
        }
        ToWorker::ExportSamples {
            request_id,
            file_name,
            samples,
            coords,
        } => answer(
            request_id,
            columns::samples_csv(&samples, &coords).map(|text| FromWorker::TextFile {
                request_id,
                file_name,
                mime: "text/csv".into(),
                text,
            }),
        ),
        #[cfg(feature = "bench")]
        ToWorker::MeasureLayout {
            request_id,
            n_nodes,
            seed,
            positions,
        } => answer(
            request_id,
            Ok(bench::measure_layout(request_id, n_nodes, seed, &positions)),
        ),
        #[cfg(not(feature = "bench"))]
        ToWorker::MeasureLayout { request_id, .. } => answer(
            request_id,
            Err(WorkerError::BenchOnly {
                request: "MeasureLayout".into(),
            }),
        ),
    }
}
