//! The compute worker's binary (runs in a dedicated Web Worker). Its `main` does nothing:
//! `worker-loader.js` initialises the wasm, starts rayon's pool in the multi-threaded build,
//! then calls the exported `startComputeWorker` ([`topoact_app::worker::start_compute_worker`]).

// Links the library, whose exports are the worker's entry points.
use topoact_app as _;

fn main() {}
