//! The UI thread's handle on the compute worker.
//!
//! Spawns `worker-loader.js` as a module worker, queues requests until the worker says
//! [`FromWorker::Ready`], and hands every answer to the callback given to [`spawn`].

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{File, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{FromWorker, ToWorker, FILES_PROPERTY};

/// Path of the module that initialises the worker's wasm, relative to the page.
pub const WORKER_SCRIPT: &str = "./worker-loader.js";

struct Client {
    worker: Worker,
    ready: bool,
    queued: Vec<JsValue>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::ErrorEvent)>,
}

thread_local! {
    static CLIENT: RefCell<Option<Client>> = const { RefCell::new(None) };
}

/// Starts the worker. `on_answer` receives every decoded answer; `on_fatal` a message when
/// the worker itself cannot start (its loader says so with [`FromWorker::CouldNotStart`]) or
/// crashes.
pub fn spawn(
    on_answer: impl Fn(FromWorker) + 'static,
    on_fatal: impl Fn(String) + 'static,
) -> Result<(), String> {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = Worker::new_with_options(&worker_script_url(), &options)
        .map_err(|err| format!("The compute worker could not start: {err:?}"))?;
    let on_fatal = Rc::new(on_fatal);
    let on_start_failed = on_fatal.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        match serde_wasm_bindgen::from_value::<FromWorker>(event.data()) {
            Ok(ready @ FromWorker::Ready { .. }) => {
                flush_queue();
                on_answer(ready);
            }
            Ok(FromWorker::CouldNotStart { reason }) => on_start_failed(format!(
                "The compute worker could not start: {reason}. Reload the page to try again."
            )),
            Ok(answer) => on_answer(answer),
            Err(err) => {
                web_sys::console::error_1(&format!("unreadable worker answer: {err}").into())
            }
        }
    });
    let on_error =
        Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
            on_fatal(format!(
                "The compute worker stopped: {}. Reload the page to start it again.",
                event.message()
            ));
        });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    CLIENT.with_borrow_mut(|client| {
        *client = Some(Client {
            worker,
            ready: false,
            queued: Vec::new(),
            _on_message: on_message,
            _on_error: on_error,
        });
    });
    Ok(())
}

/// [`WORKER_SCRIPT`], with the page's `threads` parameter passed on (`?threads=1` forces the
/// single-threaded worker; see `worker-loader.js`).
fn worker_script_url() -> String {
    let threads = web_sys::window()
        .and_then(|window| window.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("threads"))
        .and_then(|value| value.trim().parse::<u32>().ok());
    match threads {
        Some(threads) => format!("{WORKER_SCRIPT}?threads={threads}"),
        None => WORKER_SCRIPT.to_string(),
    }
}

fn flush_queue() {
    CLIENT.with_borrow_mut(|client| {
        if let Some(client) = client {
            client.ready = true;
            for message in client.queued.drain(..) {
                if let Err(err) = client.worker.post_message(&message) {
                    web_sys::console::error_2(&"postMessage to worker failed".into(), &err);
                }
            }
        }
    });
}

/// A request as the worker receives it (the protocol's JSON-compatible encoding), with
/// `files` attached when it is a `LoadFiles`.
pub fn encode(request: &ToWorker, files: &[File]) -> Result<JsValue, String> {
    let serializer = crate::protocol::boundary_serializer();
    let message = serde::Serialize::serialize(request, &serializer)
        .map_err(|err| format!("cannot encode request: {err}"))?;
    if !files.is_empty() {
        let array: Array = files.iter().cloned().map(JsValue::from).collect();
        Reflect::set(&message, &JsValue::from_str(FILES_PROPERTY), &array)
            .map_err(|err| format!("cannot attach the files: {err:?}"))?;
    }
    Ok(message)
}

/// Sends a request, with `files` attached when it is a `LoadFiles`.
pub fn send(request: &ToWorker, files: &[File]) {
    let message = match encode(request, files) {
        Ok(message) => message,
        Err(err) => {
            web_sys::console::error_1(&err.into());
            return;
        }
    };
    CLIENT.with_borrow_mut(|client| match client {
        Some(client) if client.ready => {
            if let Err(err) = client.worker.post_message(&message) {
                web_sys::console::error_2(&"postMessage to worker failed".into(), &err);
            }
        }
        Some(client) => client.queued.push(message),
        None => web_sys::console::error_1(&"the compute worker was not started".into()),
    });
}
