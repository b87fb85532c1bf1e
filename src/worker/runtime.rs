//! How the worker runs requests: jobs stepped to their end with progress, yields to the event
//! loop so a `Cancel` (or a newer request) is received, which request supersedes which, and
//! every request's one final answer.
//!
//! Requests run in [`Lane`]s. A new request of the main lane (loads, graphs, the layer
//! comparison) cancels the one running there; a projection cancels only an older projection,
//! so a graph and a projection are computed together, interleaved step by step; an export
//! runs beside everything and supersedes nothing. Any request can be cancelled by id.

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;

use topoact_core::job::{Job, Progress, Step};
use wasm_bindgen::JsCast;
use web_sys::DedicatedWorkerGlobalScope;

use crate::protocol::{FromWorker, RequestId, WorkerError};

/// How long the worker computes before it reports progress and yields to its event loop.
pub const YIELD_EVERY_MS: f64 = 30.0;

/// The answer of a request: `Ok(None)` when it was cancelled.
pub(super) type Outcome = Result<Option<FromWorker>, WorkerError>;

/// Which requests a request supersedes (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lane {
    Main,
    Projection,
    /// Supersedes nothing and is superseded by nothing.
    Beside,
}

#[derive(Default)]
struct Runtime {
    running_main: Option<RequestId>,
    running_projection: Option<RequestId>,
    cancelled: HashSet<RequestId>,
}

impl Runtime {
    fn running(&mut self, lane: Lane) -> Option<&mut Option<RequestId>> {
        match lane {
            Lane::Main => Some(&mut self.running_main),
            Lane::Projection => Some(&mut self.running_projection),
            Lane::Beside => None,
        }
    }
}

thread_local! {
    static RUNTIME: RefCell<Runtime> = RefCell::new(Runtime::default());
    /// Threads the jobs of this worker may use (1 = this thread only; more when the loader
    /// started rayon's pool first).
    static COMPUTE_THREADS: std::cell::Cell<usize> = const { std::cell::Cell::new(1) };
}

pub(super) fn set_compute_threads(threads: usize) {
    COMPUTE_THREADS.with(|cell| cell.set(threads));
}

pub(super) fn compute_threads() -> usize {
    COMPUTE_THREADS.with(|threads| threads.get())
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Posts a message to the UI thread.
pub(super) fn post(message: &FromWorker) {
    let serializer = crate::protocol::boundary_serializer();
    match serde::Serialize::serialize(message, &serializer) {
        Ok(value) => {
            if let Err(err) = scope().post_message(&value) {
                web_sys::console::error_2(&"worker: postMessage failed".into(), &err);
            }
        }
        Err(err) => {
            web_sys::console::error_1(&format!("worker: cannot encode reply: {err}").into())
        }
    }
}

/// The message that ends a request: its answer, `Cancelled`, or `Failed`.
fn final_message(request_id: RequestId, outcome: Outcome) -> FromWorker {
    match outcome {
        Ok(Some(answer)) => answer,
        Ok(None) => FromWorker::Cancelled { request_id },
        Err(error) => FromWorker::Failed { request_id, error },
    }
}

/// Starts a long request in `lane`: it supersedes what its lane runs, runs `work` on the
/// event loop, then posts its final message and forgets its bookkeeping.
pub(super) fn spawn(
    lane: Lane,
    request_id: RequestId,
    work: impl Future<Output = Outcome> + 'static,
) {
    RUNTIME.with_borrow_mut(|runtime| {
        if let Some(previous) = runtime
            .running(lane)
            .and_then(|slot| slot.replace(request_id))
        {
            runtime.cancelled.insert(previous);
        }
    });
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = work.await;
        RUNTIME.with_borrow_mut(|runtime| {
            runtime.cancelled.remove(&request_id);
            if let Some(slot) = runtime.running(lane) {
                if *slot == Some(request_id) {
                    *slot = None;
                }
            }
        });
        post(&final_message(request_id, outcome));
    });
}

/// Answers a short request at once (it supersedes nothing).
pub(super) fn answer(request_id: RequestId, outcome: Result<FromWorker, WorkerError>) {
    post(&final_message(request_id, outcome.map(Some)));
}

/// Stops the request `request_id` at its next yield (if it still runs).
pub(super) fn cancel(request_id: RequestId) {
    RUNTIME.with_borrow_mut(|runtime| {
        runtime.cancelled.insert(request_id);
    });
}

/// Stops whatever `lane` runs.
pub(super) fn cancel_lane(lane: Lane) {
    RUNTIME.with_borrow_mut(|runtime| {
        if let Some(running) = runtime.running(lane).and_then(Option::take) {
            runtime.cancelled.insert(running);
        }
    });
}

pub(super) fn is_cancelled(request_id: RequestId) -> bool {
    RUNTIME.with_borrow(|runtime| runtime.cancelled.contains(&request_id))
}

/// Lets the event loop run (and deliver a Cancel) before the work continues.
///
/// Through a `MessageChannel`: a message to ourselves is a task queued behind the messages
/// already waiting (a `Cancel`, a newer request), without the 4 ms minimum browsers impose on
/// nested zero-length timeouts (measured in `tests/wasm_worker.rs`: a timeout yield costs
/// about 4 ms, which at one yield per [`YIELD_EVERY_MS`] is about 12 % of a long job).
/// Falls back to a timeout where the channel cannot be made.
pub(super) async fn yield_to_event_loop() {
    match message_yield() {
        Some(promise) => {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        None => gloo_timers::future::TimeoutFuture::new(0).await,
    }
}

/// A promise resolved when a message posted now comes back through a new channel (one per
/// yield: a graph and a projection interleave, each with its own yield outstanding).
fn message_yield() -> Option<js_sys::Promise> {
    let channel = web_sys::MessageChannel::new().ok()?;
    let receiver = channel.port1();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        receiver.set_onmessage(Some(&resolve));
    });
    channel
        .port2()
        .post_message(&wasm_bindgen::JsValue::UNDEFINED)
        .ok()?;
    Some(promise)
}

/// The yield through a zero-length timeout (what [`yield_to_event_loop`] falls back to);
/// public for the measurement in `tests/wasm_worker.rs`.
#[doc(hidden)]
pub async fn timeout_yield() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// [`yield_to_event_loop`], public for the measurement in `tests/wasm_worker.rs`.
#[doc(hidden)]
pub async fn channel_yield() {
    yield_to_event_loop().await;
}

pub(super) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Steps `job` to its end, posting progress and yielding to the event loop every
/// [`YIELD_EVERY_MS`]. `Ok(None)` when the request was cancelled meanwhile.
pub(super) async fn run_job<J: Job>(
    request_id: RequestId,
    job: &mut J,
) -> Result<Option<J::Output>, J::Error> {
    run_job_observed(request_id, job, |_, _| {}).await
}

/// [`run_job`], also showing the job and its progress to `at_yield` before each yield (the
/// projections post their intermediate coordinates from there).
pub(super) async fn run_job_observed<J: Job>(
    request_id: RequestId,
    job: &mut J,
    mut at_yield: impl FnMut(&J, &Progress),
) -> Result<Option<J::Output>, J::Error> {
    let mut last_yield_ms = now_ms();
    loop {
        match job.step()? {
            Step::Running(progress) => {
                if now_ms() - last_yield_ms >= YIELD_EVERY_MS {
                    at_yield(job, &progress);
                    post(&FromWorker::Progress {
                        request_id,
                        progress,
                    });
                    yield_to_event_loop().await;
                    last_yield_ms = now_ms();
                    if is_cancelled(request_id) {
                        return Ok(None);
                    }
                }
            }
            Step::Done(output) => return Ok(Some(output)),
        }
    }
}
