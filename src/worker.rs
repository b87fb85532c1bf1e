//! The compute worker's runtime (runs inside a dedicated Web Worker, bin `worker`).
//!
//! Architecture invariant: the dataset lives here and only here. The UI thread sends
//! [`ToWorker`] requests and receives [`FromWorker`] answers holding what it draws.
//!
//! Long jobs run in bounded steps ([`topoact_core::job::Job`]); between steps, every
//! ~[`YIELD_EVERY_MS`], the runtime posts progress and yields to the event loop so that a
//! `Cancel` message (or a newer request) can be received and honoured.

use std::cell::RefCell;
use std::collections::HashSet;

use js_sys::{Array, Reflect, Uint8Array};
use topoact_core::compare::{norm_distributions, row_norms};
use topoact_core::dataset::{Dataset, ImageStack, Layer};
use topoact_core::diagnostics::{lens_diagnostics, norm_diagnostics, NormDiagnostics};
use topoact_core::formats::{ByteSource, FormatError, LoadJob, LoadOptions, NamedSource};
use topoact_core::job::{Job, PartOfSequence, Progress, Step};
use topoact_core::layout::synthetic::mapper_like_graph_with_counts;
use topoact_core::layout::{
    measure_quality, topoact_radii, LayoutEdge, LayoutInput, LayoutJob, LayoutParams,
};
use topoact_core::mapper::export::{to_kmapper_json, to_node_link_json};
use topoact_core::mapper::import::{import_graph, MAX_IMPORT_BYTES};
use topoact_core::mapper::{
    graph_stats, MapperEdge, MapperGraph, MapperInput, MapperJob, MapperNode, MapperParams,
};
use topoact_core::subsample::{nested_stratified_order, subsample};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, File, FileReaderSync, MessageEvent};

use crate::protocol::{
    Diagnostics, DrawnGraph, DrawnNode, Example, ExamplesQuery, FailureKind, FromWorker,
    GraphFileFormat, GraphRequest, LayerComparison, LayerStructure, NodeExamples, RequestId,
    SubsampleChoice, ToWorker, FILES_PROPERTY, IMPORTED_LAYER_PREFIX,
};
use crate::render::image::{bmp_data_url, mean_image, Pixels};
use crate::vocabulary::{content_hash, hashed_ranges, DatasetRef};

mod projection;

/// How long the worker computes before it reports progress and yields to its event loop.
pub const YIELD_EVERY_MS: f64 = 30.0;

/// Memory budget for a loaded dataset inside one wasm32 instance (4 GiB address space,
/// minus room for the previous dataset's replacement window and the computations).
pub const DATASET_BUDGET_BYTES: u64 = 3 * 1024 * 1024 * 1024;

#[derive(Default)]
struct WorkerState {
    dataset: Option<Dataset>,
    /// Projections: cached rows, neighbour graph and finished projections, and the running one.
    projections: projection::ProjectionState,
    /// Norm diagnostics of the last (layer, subsample) asked for.
    norms_cache: Option<((String, SubsampleChoice), NormDiagnostics)>,
    /// The last computed (or imported) mapper graphs with everything the exports need.
    mapper_graphs: Vec<(GraphRequest, MapperGraph)>,
    running: Option<RequestId>,
    cancelled: HashSet<RequestId>,
}

/// Mapper graphs kept for export.
const KEPT_MAPPER_GRAPHS: usize = 4;

impl WorkerState {
    /// Installs a newly loaded dataset; caches of the previous one go with it.
    fn replace_dataset(&mut self, dataset: Dataset) {
        self.dataset = Some(dataset);
        self.norms_cache = None;
        self.mapper_graphs.clear();
        if let Some(running) = self.projections.clear() {
            self.cancelled.insert(running);
        }
    }
}

thread_local! {
    static STATE: RefCell<WorkerState> = RefCell::new(WorkerState::default());
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(message: &FromWorker) {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
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

/// rayon's pool on Web Workers, for `worker-loader.js` (the multi-threaded build only).
#[cfg(all(feature = "threads", target_arch = "wasm32"))]
pub use wasm_bindgen_rayon::init_thread_pool;

thread_local! {
    /// Threads the jobs of this worker may use (1 = this thread only; more when the loader
    /// started rayon's pool first).
    static COMPUTE_THREADS: std::cell::Cell<usize> = const { std::cell::Cell::new(1) };
}

fn compute_threads() -> usize {
    COMPUTE_THREADS.with(|threads| threads.get())
}

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
    COMPUTE_THREADS.with(|cell| cell.set(threads));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(handle_message);
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&FromWorker::Ready {
        compute_threads: threads,
    });
}

fn handle_message(event: MessageEvent) {
    let data = event.data();
    let request: ToWorker = match serde_wasm_bindgen::from_value(data.clone()) {
        Ok(request) => request,
        Err(err) => {
            web_sys::console::error_1(&format!("worker: unreadable request: {err}").into());
            return;
        }
    };
    match request {
        ToWorker::Cancel { request_id } => {
            STATE.with_borrow_mut(|state| {
                state.cancelled.insert(request_id);
            });
        }
        ToWorker::LoadFiles {
            request_id,
            drop_nonfinite,
        } => {
            supersede_running(request_id);
            let files = files_of(&data);
            wasm_bindgen_futures::spawn_local(async move {
                let mut sources = files
                    .into_iter()
                    .map(|file| NamedSource {
                        file_name: file.name(),
                        source: JsFileSource::new(file),
                    })
                    .collect::<Vec<_>>();
                if sources.len() == 1 && looks_like_graph(&mut sources[0]) {
                    let named = sources.remove(0);
                    let answer = match import_graph_file(request_id, named).await {
                        Ok(Some(graph)) => FromWorker::Graph { request_id, graph },
                        Ok(None) => FromWorker::Cancelled { request_id },
                        Err(message) => FromWorker::Failed {
                            request_id,
                            kind: FailureKind::BadInput,
                            message,
                        },
                    };
                    finish(request_id, answer);
                    return;
                }
                let total_bytes = sources.iter().map(|named| named.source.len()).sum();
                let identity = file_identity(&mut sources);
                run_load(request_id, sources, drop_nonfinite, total_bytes, identity).await;
            });
        }
        ToWorker::ComputeGraph {
            request_id,
            request,
            previous_positions,
        } => {
            supersede_running(request_id);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match compute_graph(request_id, request, previous_positions).await {
                    Ok(Some(graph)) => FromWorker::Graph { request_id, graph },
                    Ok(None) => FromWorker::Cancelled { request_id },
                    Err(message) => FromWorker::Failed {
                        request_id,
                        kind: FailureKind::BadInput,
                        message,
                    },
                };
                finish(request_id, answer);
            });
        }
        ToWorker::LoadSynthetic {
            request_id,
            n_samples,
            dim,
            seed,
            n_layers,
        } => {
            supersede_running(request_id);
            let started_ms = now_ms();
            let (activations, labels, class_names) =
                topoact_core::mapper::synth::activation_like(n_samples, dim, seed);
            let mut layers = vec![Layer {
                name: "synthetic".into(),
                activations: topoact_core::dataset::Matrix::F32(activations),
            }];
            for layer_idx in 1..n_layers.clamp(1, MAX_SYNTHETIC_LAYERS) {
                let (activations, _, _) = topoact_core::mapper::synth::activation_like(
                    n_samples,
                    dim,
                    seed + layer_idx as u64,
                );
                layers.push(Layer {
                    name: format!("synthetic-{}", layer_idx + 1),
                    activations: topoact_core::dataset::Matrix::F32(activations),
                });
            }
            let dataset = Dataset {
                name: format!("synthetic activation-like {n_samples} x {dim} (seed {seed})"),
                layers,
                labels: Some(labels),
                class_names,
                ..Dataset::default()
            };
            let summary = dataset.summary();
            STATE.with_borrow_mut(|state| state.replace_dataset(dataset));
            let elapsed_ms = now_ms() - started_ms;
            let source = DatasetRef::Synthetic {
                n_samples,
                dim,
                seed,
            };
            finish(
                request_id,
                FromWorker::Loaded {
                    request_id,
                    summary,
                    elapsed_ms,
                    bytes_read: 0,
                    source,
                },
            );
        }
        ToWorker::ComputeProjection {
            request_id,
            request,
        } => {
            STATE.with_borrow_mut(|state| {
                if let Some(previous) = state.projections.running.replace(request_id) {
                    state.cancelled.insert(previous);
                }
            });
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match projection::compute_projection(request_id, request).await {
                    Ok(Some(projection)) => FromWorker::Projection {
                        request_id,
                        projection,
                    },
                    Ok(None) => FromWorker::Cancelled { request_id },
                    Err(message) => FromWorker::Failed {
                        request_id,
                        kind: FailureKind::BadInput,
                        message,
                    },
                };
                STATE.with_borrow_mut(|state| {
                    state.cancelled.remove(&request_id);
                    if state.projections.running == Some(request_id) {
                        state.projections.running = None;
                    }
                });
                post(&answer);
            });
        }
        ToWorker::SampleThumbnail { sample_idx, .. } => {
            let url = STATE.with_borrow(|state| {
                let dataset = state.dataset.as_ref()?;
                let stack = dataset.images.as_ref()?;
                ((sample_idx as usize) < stack.n_images())
                    .then(|| image_url(stack, stack.image(sample_idx as usize)))
                    .flatten()
            });
            post(&FromWorker::Thumbnail { sample_idx, url });
        }
        ToWorker::SyntheticGraph {
            request_id,
            n_nodes,
            seed,
        } => {
            supersede_running(request_id);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match synthetic_graph(request_id, n_nodes, seed).await {
                    Ok(Some(graph)) => FromWorker::Graph { request_id, graph },
                    Ok(None) => FromWorker::Cancelled { request_id },
                    Err(message) => FromWorker::Failed {
                        request_id,
                        kind: FailureKind::BadInput,
                        message,
                    },
                };
                finish(request_id, answer);
            });
        }
        ToWorker::ExportGraph {
            request_id,
            request,
            format,
        } => {
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match export_graph(request_id, request, format).await {
                    Ok(Some((file_name, text))) => FromWorker::GraphFile {
                        request_id,
                        file_name,
                        text,
                    },
                    Ok(None) => FromWorker::Cancelled { request_id },
                    Err(message) => FromWorker::Failed {
                        request_id,
                        kind: FailureKind::BadInput,
                        message,
                    },
                };
                post(&answer);
            });
        }
        ToWorker::CompareLayers {
            request_id,
            subsample,
            params,
        } => {
            supersede_running(request_id);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = match compare_layers(request_id, subsample, params).await {
                    Ok(Some(comparison)) => FromWorker::LayerComparison {
                        request_id,
                        comparison,
                    },
                    Ok(None) => FromWorker::Cancelled { request_id },
                    Err(message) => FromWorker::Failed {
                        request_id,
                        kind: FailureKind::BadInput,
                        message,
                    },
                };
                finish(request_id, answer);
            });
        }
        ToWorker::MeasureLayout {
            request_id,
            n_nodes,
            seed,
            positions,
        } => {
            let (input, _) = mapper_like_graph_with_counts(n_nodes, seed);
            let quality = measure_quality(&input, &positions, LAYOUT_STRESS_SOURCES);
            post(&FromWorker::LayoutMeasured {
                request_id,
                quality,
            });
        }
        ToWorker::NodeGlyphs {
            request_id,
            layer,
            graph_version,
            members_of_nodes,
        } => {
            let answer = STATE.with_borrow(|state| {
                let dataset = state.dataset.as_ref()?;
                let activation_images = dataset.activation_images.get(&layer);
                let stack = activation_images.or(dataset.images.as_ref());
                let n_samples = dataset.n_samples();
                let images = members_of_nodes
                    .iter()
                    .map(|members| mean_image_url(stack?, members, n_samples))
                    .collect();
                Some(FromWorker::Glyphs {
                    request_id,
                    graph_version,
                    images,
                    from_activation_images: activation_images.is_some(),
                })
            });
            post(&answer.unwrap_or(FromWorker::Failed {
                request_id,
                kind: FailureKind::BadInput,
                message: "No dataset is loaded.".into(),
            }));
        }
        ToWorker::NodeExamples { request_id, query } => {
            let examples = STATE.with_borrow(|state| {
                state
                    .dataset
                    .as_ref()
                    .map(|dataset| node_examples(dataset, &query))
            });
            match examples {
                Some(examples) => post(&FromWorker::Examples {
                    request_id,
                    examples,
                }),
                None => post(&FromWorker::Failed {
                    request_id,
                    kind: FailureKind::BadInput,
                    message: "No dataset is loaded.".into(),
                }),
            }
        }
        ToWorker::LoadUrl {
            request_id,
            url,
            drop_nonfinite,
        } => {
            supersede_running(request_id);
            wasm_bindgen_futures::spawn_local(async move {
                match download(request_id, &url).await {
                    Ok(Some(bytes)) => {
                        let file_name = url.rsplit('/').next().unwrap_or(&url).to_string();
                        let total_bytes = bytes.len() as u64;
                        let sources = vec![NamedSource {
                            file_name,
                            source: bytes,
                        }];
                        run_load(
                            request_id,
                            sources,
                            drop_nonfinite,
                            total_bytes,
                            DatasetRef::Url { url },
                        )
                        .await;
                    }
                    Ok(None) => finish_cancelled(request_id),
                    Err(message) => finish(
                        request_id,
                        FromWorker::Failed {
                            request_id,
                            kind: FailureKind::Network,
                            message,
                        },
                    ),
                }
            });
        }
    }
}

/// A newer long request cancels the one running.
fn supersede_running(request_id: RequestId) {
    STATE.with_borrow_mut(|state| {
        if let Some(previous) = state.running.replace(request_id) {
            state.cancelled.insert(previous);
        }
    });
}

fn is_cancelled(request_id: RequestId) -> bool {
    STATE.with_borrow(|state| state.cancelled.contains(&request_id))
}

/// Posts the final answer of a request and forgets its bookkeeping.
fn finish(request_id: RequestId, answer: FromWorker) {
    STATE.with_borrow_mut(|state| {
        state.cancelled.remove(&request_id);
        if state.running == Some(request_id) {
            state.running = None;
        }
    });
    post(&answer);
}

fn finish_cancelled(request_id: RequestId) {
    finish(request_id, FromWorker::Cancelled { request_id });
}

fn files_of(data: &JsValue) -> Vec<File> {
    Reflect::get(data, &JsValue::from_str(FILES_PROPERTY))
        .ok()
        .filter(|value| Array::is_array(value))
        .map(|value| {
            Array::from(&value)
                .iter()
                .filter_map(|item| item.dyn_into::<File>().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Lets the event loop run (and deliver a Cancel) before the job continues.
async fn yield_to_event_loop() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Steps `job` to its end, posting progress and yielding to the event loop every
/// [`YIELD_EVERY_MS`]. `Ok(None)` when the request was cancelled meanwhile.
async fn run_job<J: Job>(
    request_id: RequestId,
    job: &mut J,
) -> Result<Option<J::Output>, J::Error> {
    run_job_observed(request_id, job, |_, _| {}).await
}

/// [`run_job`], also showing the job and its progress to `at_yield` before each yield (the
/// projections post their intermediate coordinates from there).
async fn run_job_observed<J: Job>(
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

/// The identity a share link records for dropped files: the largest one (the activations;
/// side files of labels are small) by name, size and `session::content_hash`.
fn file_identity<S: ByteSource>(sources: &mut [NamedSource<S>]) -> DatasetRef {
    let Some(largest) = sources.iter_mut().max_by_key(|named| named.source.len()) else {
        return DatasetRef::default();
    };
    let size_bytes = largest.source.len();
    let mut chunks = Vec::new();
    for range in hashed_ranges(size_bytes) {
        let mut chunk = vec![0u8; (range.end - range.start) as usize];
        if largest.source.read_at(range.start, &mut chunk).is_err() {
            // Unreadable now means unreadable for the load too, which reports it.
            return DatasetRef::File {
                name: largest.file_name.clone(),
                size_bytes,
                content_hash: String::new(),
            };
        }
        chunks.push(chunk);
    }
    let content_hash =
        content_hash(size_bytes, chunks.iter().map(Vec::as_slice)).unwrap_or_default();
    DatasetRef::File {
        name: largest.file_name.clone(),
        size_bytes,
        content_hash,
    }
}

async fn run_load<S: ByteSource>(
    request_id: RequestId,
    sources: Vec<NamedSource<S>>,
    drop_nonfinite: bool,
    total_bytes: u64,
    source: DatasetRef,
) {
    let started_ms = now_ms();
    let options = LoadOptions {
        max_total_bytes: DATASET_BUDGET_BYTES,
        drop_nonfinite,
    };
    let loaded = match LoadJob::new(sources, options) {
        Ok(mut job) => run_job(request_id, &mut job).await,
        Err(err) => Err(err),
    };
    match loaded {
        Ok(Some(dataset)) => {
            let summary = dataset.summary();
            STATE.with_borrow_mut(|state| state.replace_dataset(dataset));
            let elapsed_ms = now_ms() - started_ms;
            finish(
                request_id,
                FromWorker::Loaded {
                    request_id,
                    summary,
                    elapsed_ms,
                    bytes_read: total_bytes,
                    source,
                },
            )
        }
        Ok(None) => finish_cancelled(request_id),
        Err(err) => finish(request_id, failure(request_id, &err)),
    }
}

/// Builds the mapper job for `request` on the loaded dataset (the job copies the rows it
/// needs, so no borrow of the dataset outlives this call).
/// The layer `name` of the loaded dataset, or a message naming the layers there are.
fn find_layer<'a>(dataset: &'a Dataset, name: &str) -> Result<&'a Layer, String> {
    dataset.layer(name).ok_or_else(|| {
        let known: Vec<&str> = dataset
            .layers
            .iter()
            .map(|layer| layer.name.as_str())
            .collect();
        format!(
            "The dataset has no layer '{name}'; its layers are: {}.",
            known.join(", ")
        )
    })
}

/// The samples a computation runs on (`None`: all of them), as the subsample choice says.
fn samples_in_use(dataset: &Dataset, choice: SubsampleChoice) -> Option<Vec<u32>> {
    let n_samples = dataset.n_samples();
    let n_used = choice.resolve(n_samples);
    (n_used < n_samples).then(|| {
        let order = nested_stratified_order(dataset.labels.as_deref(), n_samples, choice.seed);
        subsample(&order, n_used)
    })
}

const NO_DATASET: &str = "No dataset is loaded: drop an activation file first.";

fn mapper_job_for(request: &GraphRequest) -> Result<MapperJob, String> {
    mapper_job_with_samples(request).map(|(job, _)| job)
}

/// Which dataset samples a graph's rows are (as [`mapper_job_for`] chose them).
struct GraphSamples {
    n_samples: usize,
    /// `sample_idx` of every row; `None`: row `i` is sample `i`.
    sample_indices: Option<Vec<u32>>,
}

impl GraphSamples {
    /// The graph's lens value of every dataset sample, NaN outside its subsample (see
    /// [`DrawnGraph::lens_by_sample`]).
    fn lens_by_sample(&self, lens_by_row: &[f64]) -> Vec<f32> {
        let mut values = vec![f32::NAN; self.n_samples];
        for (row_idx, &value) in lens_by_row.iter().enumerate() {
            let sample_idx = match &self.sample_indices {
                Some(samples) => samples.get(row_idx).map(|&s| s as usize),
                None => Some(row_idx),
            };
            if let Some(slot) = sample_idx.and_then(|s| values.get_mut(s)) {
                *slot = value as f32;
            }
        }
        values
    }
}

/// [`mapper_job_for`], also returning the samples its rows are.
fn mapper_job_with_samples(request: &GraphRequest) -> Result<(MapperJob, GraphSamples), String> {
    let params = request
        .params
        .clone()
        .validate()
        .map_err(|err| err.to_string())?;
    STATE.with_borrow(|state| {
        let dataset = state.dataset.as_ref().ok_or(NO_DATASET)?;
        let layer = find_layer(dataset, &request.layer)?;
        let sample_indices = samples_in_use(dataset, request.subsample);
        let input = MapperInput {
            matrix: &layer.activations,
            sample_indices: sample_indices.as_deref(),
            labels: dataset.labels.as_deref(),
            class_names: &dataset.class_names,
        };
        let job = MapperJob::new(input, &params)
            .map(|job| job.with_step_threads(compute_threads()))
            .map_err(|err| err.to_string())?;
        Ok((
            job,
            GraphSamples {
                n_samples: dataset.n_samples(),
                sample_indices,
            },
        ))
    })
}

async fn compute_graph(
    request_id: RequestId,
    request: GraphRequest,
    previous_positions: Vec<(String, [f64; 2])>,
) -> Result<Option<DrawnGraph>, String> {
    let started_ms = now_ms();
    let (mut mapper_job, samples) = mapper_job_with_samples(&request)?;
    let Some(graph) = run_job(request_id, &mut mapper_job)
        .await
        .map_err(|err| err.to_string())?
    else {
        return Ok(None);
    };
    drop(mapper_job);
    keep_mapper_graph(&request, &graph);
    let mapper_ms = now_ms() - started_ms;
    let layout_started_ms = now_ms();
    let mut layout_job = LayoutJob::new(
        layout_input(&graph, &previous_positions),
        LayoutParams::default(),
    )
    .map_err(|err| err.to_string())?;
    let Some(layout) = run_job(request_id, &mut layout_job)
        .await
        .map_err(|err| err.to_string())?
    else {
        return Ok(None);
    };
    let layout_ms = now_ms() - layout_started_ms;
    let diagnostics = Some(graph_diagnostics(&request, &graph)?);
    let lens_by_sample = samples.lens_by_sample(&graph.lens_by_row);
    let mut drawn = drawn_graph(
        request,
        graph,
        &layout.positions,
        mapper_ms,
        layout_ms,
        diagnostics,
    );
    drawn.lens_by_sample = lens_by_sample;
    Ok(Some(drawn))
}

/// Most layers of a synthetic benchmark dataset.
const MAX_SYNTHETIC_LAYERS: usize = 16;

/// Bins of each layer's norm histogram in the layer comparison.
const COMPARISON_NORM_BINS: usize = 50;

/// The mapper graph of every layer (same samples and parameters, no layout) and every
/// layer's L2 norms on one axis. `Ok(None)` when cancelled.
async fn compare_layers(
    request_id: RequestId,
    subsample: SubsampleChoice,
    params: MapperParams,
) -> Result<Option<LayerComparison>, String> {
    let started_ms = now_ms();
    let layer_names: Vec<(String, usize)> = STATE.with_borrow(|state| {
        let dataset = state.dataset.as_ref().ok_or(NO_DATASET)?;
        Ok::<_, String>(
            dataset
                .layers
                .iter()
                .map(|layer| (layer.name.clone(), layer.activations.n_cols()))
                .collect(),
        )
    })?;
    let count = layer_names.len();
    let mut layers = Vec::with_capacity(count);
    let mut norms = Vec::with_capacity(count);
    for (index, (layer, dim)) in layer_names.into_iter().enumerate() {
        let layer_started_ms = now_ms();
        let request = GraphRequest {
            layer: layer.clone(),
            subsample,
            params: params.clone(),
        };
        let job = mapper_job_for(&request)?;
        let mut part = PartOfSequence {
            job,
            index,
            count,
            label: layer.clone(),
        };
        let Some(graph) = run_job(request_id, &mut part)
            .await
            .map_err(|err| err.to_string())?
        else {
            return Ok(None);
        };
        let mapper_ms = now_ms() - layer_started_ms;
        layers.push(LayerStructure {
            layer: layer.clone(),
            dim,
            stats: graph.stats,
            n_samples_used: graph.n_samples_used,
            mapper_ms,
        });
        let layer_norms = STATE.with_borrow(|state| {
            let dataset = state.dataset.as_ref().ok_or(NO_DATASET)?;
            let sample_indices = samples_in_use(dataset, subsample);
            Ok::<_, String>(row_norms(
                &find_layer(dataset, &layer)?.activations,
                sample_indices.as_deref(),
            ))
        })?;
        norms.push((layer, dim, layer_norms));
        yield_to_event_loop().await;
        if is_cancelled(request_id) {
            return Ok(None);
        }
    }
    let norms = norm_distributions(&norms, COMPARISON_NORM_BINS);
    Ok(Some(LayerComparison {
        subsample,
        params,
        layers,
        norms,
        elapsed_ms: now_ms() - started_ms,
    }))
}

fn keep_mapper_graph(request: &GraphRequest, graph: &MapperGraph) {
    STATE.with_borrow_mut(|state| {
        state.mapper_graphs.retain(|(kept, _)| kept != request);
        state.mapper_graphs.push((request.clone(), graph.clone()));
        if state.mapper_graphs.len() > KEPT_MAPPER_GRAPHS {
            state.mapper_graphs.remove(0);
        }
    });
}

/// The graph of `request` as a file: the kept graph, else computed again (deterministic).
async fn export_graph(
    request_id: RequestId,
    request: GraphRequest,
    format: GraphFileFormat,
) -> Result<Option<(String, String)>, String> {
    let kept = STATE.with_borrow(|state| {
        state
            .mapper_graphs
            .iter()
            .find(|(kept, _)| *kept == request)
            .map(|(_, g)| g.clone())
    });
    let graph =
        match kept {
            Some(graph) => graph,
            None if request.layer.starts_with(IMPORTED_LAYER_PREFIX) => return Err(
                "The imported graph is no longer in memory: import the file again to export it."
                    .into(),
            ),
            None => {
                let mut job = mapper_job_for(&request)?;
                let Some(graph) = run_job(request_id, &mut job)
                    .await
                    .map_err(|err| err.to_string())?
                else {
                    return Ok(None);
                };
                graph
            }
        };
    let stem = crate::format::file_stem(&request.layer);
    Ok(Some(match format {
        GraphFileFormat::Kmapper => (format!("{stem}-kmapper.json"), to_kmapper_json(&graph)),
        GraphFileFormat::NodeLink => (
            format!("{stem}-node-link.json"),
            to_node_link_json(&graph).to_string(),
        ),
    }))
}

/// Whether a dropped `.json` file is a graph (KeplerMapper's dict or node-link JSON) rather
/// than a labels file: its opening bytes name `"nodes"`.
fn looks_like_graph<S: ByteSource>(named: &mut NamedSource<S>) -> bool {
    if !named.file_name.to_ascii_lowercase().ends_with(".json") {
        return false;
    }
    let mut head = vec![0u8; named.source.len().min(64 * 1024) as usize];
    named.source.read_at(0, &mut head).is_ok()
        && head.windows(7).any(|window| window == b"\"nodes\"")
}

/// Imports a graph file, checks it against the loaded data (if any), derives its classes
/// from the data's labels when the file has none, and lays it out.
async fn import_graph_file<S: ByteSource>(
    request_id: RequestId,
    mut named: NamedSource<S>,
) -> Result<Option<DrawnGraph>, String> {
    let started_ms = now_ms();
    let size = named.source.len();
    if size > MAX_IMPORT_BYTES as u64 {
        return Err(format!(
            "{} is {} bytes; graph files up to {} bytes are read.",
            named.file_name, size, MAX_IMPORT_BYTES
        ));
    }
    let mut bytes = vec![0u8; size as usize];
    named
        .source
        .read_at(0, &mut bytes)
        .map_err(|err| err.to_string())?;
    let mut imported = import_graph(&bytes).map_err(|err| {
        format!(
            "{} is not a graph this app can open: {err}",
            named.file_name
        )
    })?;
    drop(bytes);
    let fitted = STATE.with_borrow(|state| {
        let Some(dataset) = state.dataset.as_ref() else { return Ok(()) };
        imported.check_sample_count(dataset.n_samples()).map_err(|err| {
            format!("{} does not fit the loaded data: {err}. Open it without data (reload the page and drop it first) or load the data it was made from.", named.file_name)
        })?;
        let has_classes = imported.nodes.iter().any(|node| !node.top_classes.is_empty());
        if let (false, Some(labels)) = (has_classes, dataset.labels.as_ref()) {
            imported.derive_classes_from_labels(labels, &dataset.class_names).map_err(|err| err.to_string())?;
        }
        Ok::<_, String>(())
    });
    fitted?;
    let graph = imported.to_mapper_graph();
    let request = GraphRequest {
        layer: format!("{IMPORTED_LAYER_PREFIX}{}", named.file_name),
        subsample: SubsampleChoice::default(),
        params: Default::default(),
    };
    keep_mapper_graph(&request, &graph);
    let mapper_ms = now_ms() - started_ms;
    let layout_started_ms = now_ms();
    let mut layout_job = LayoutJob::new(layout_input(&graph, &[]), LayoutParams::default())
        .map_err(|err| err.to_string())?;
    let Some(layout) = run_job(request_id, &mut layout_job)
        .await
        .map_err(|err| err.to_string())?
    else {
        return Ok(None);
    };
    let layout_ms = now_ms() - layout_started_ms;
    Ok(Some(drawn_graph(
        request,
        graph,
        &layout.positions,
        mapper_ms,
        layout_ms,
        None,
    )))
}

/// Stress sources of the layout benchmark's quality measure (as the native comparison).
const LAYOUT_STRESS_SOURCES: usize = 200;

/// Largest synthetic benchmark graph (the `?synthetic-graph=` URL value is untrusted).
const MAX_SYNTHETIC_NODES: usize = 50_000;

/// The seeded synthetic mapper-like graph, laid out, as a drawable graph: nodes named
/// `synthetic<i>` with their member counts, no members and no classes.
async fn synthetic_graph(
    request_id: RequestId,
    n_nodes: usize,
    seed: u64,
) -> Result<Option<DrawnGraph>, String> {
    if n_nodes == 0 || n_nodes > MAX_SYNTHETIC_NODES {
        return Err(format!(
            "The synthetic graph takes 1 to {MAX_SYNTHETIC_NODES} nodes, not {n_nodes}."
        ));
    }
    let (input, member_counts) = mapper_like_graph_with_counts(n_nodes, seed);
    let nodes: Vec<MapperNode> = member_counts
        .iter()
        .enumerate()
        .map(|(node_id, &size)| MapperNode {
            node_id,
            name: format!("synthetic{node_id}"),
            cube_idx: 0,
            interval_idx: 0,
            cluster_idx: node_id,
            members: Vec::new(),
            size,
            lens_mean: node_id as f64 / n_nodes as f64,
            class_histogram: Vec::new(),
            top_classes: Vec::new(),
            mean_activation: Vec::new(),
        })
        .collect();
    let edges: Vec<MapperEdge> = input
        .edges
        .iter()
        .map(|e| MapperEdge {
            source: e.source,
            target: e.target,
            intersection: 1,
            jaccard: e.weight,
        })
        .collect();
    let n_samples: usize = member_counts.iter().sum();
    let stats = graph_stats(&nodes, &edges, n_samples);
    let started_ms = now_ms();
    let mut layout_job =
        LayoutJob::new(input, LayoutParams::default()).map_err(|err| err.to_string())?;
    let Some(layout) = run_job(request_id, &mut layout_job)
        .await
        .map_err(|err| err.to_string())?
    else {
        return Ok(None);
    };
    let layout_ms = now_ms() - started_ms;
    let request = GraphRequest {
        layer: format!("synthetic graph ({n_nodes} nodes, seed {seed})"),
        subsample: SubsampleChoice::default(),
        params: Default::default(),
    };
    let graph = MapperGraph {
        nodes,
        edges,
        stats,
        params: topoact_core::mapper::ParamsRecord::new(&Default::default(), None),
        intervals: Vec::new(),
        n_samples_used: n_samples,
        class_names: Vec::new(),
        lens_by_row: Vec::new(),
    };
    Ok(Some(drawn_graph(
        request,
        graph,
        &layout.positions,
        0.0,
        layout_ms,
        None,
    )))
}

/// Bins of the diagnostics histograms, and how many random vectors the norm chart draws.
const DIAGNOSTIC_BINS: usize = 60;
const DIAGNOSTIC_RANDOM_VECTORS: usize = 5_000;

/// The lens and cover of the graph, and the layer's norms (cached per layer and subsample:
/// they do not depend on the mapper's parameters).
fn graph_diagnostics(request: &GraphRequest, graph: &MapperGraph) -> Result<Diagnostics, String> {
    let lens = lens_diagnostics(graph, DIAGNOSTIC_BINS);
    let key = (request.layer.clone(), request.subsample);
    if let Some(norms) = STATE.with_borrow(|state| {
        state
            .norms_cache
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, n)| n.clone())
    }) {
        return Ok(Diagnostics { lens, norms });
    }
    let norms = STATE.with_borrow(|state| {
        let dataset = state.dataset.as_ref().ok_or(NO_DATASET)?;
        let layer = find_layer(dataset, &request.layer)?;
        let sample_indices = samples_in_use(dataset, request.subsample);
        Ok::<_, String>(norm_diagnostics(
            &layer.activations,
            sample_indices.as_deref(),
            DIAGNOSTIC_BINS,
            DIAGNOSTIC_RANDOM_VECTORS,
            0,
        ))
    })?;
    STATE.with_borrow_mut(|state| state.norms_cache = Some((key, norms.clone())));
    Ok(Diagnostics { lens, norms })
}

fn layout_input(graph: &MapperGraph, previous_positions: &[(String, [f64; 2])]) -> LayoutInput {
    let sizes: Vec<usize> = graph.nodes.iter().map(|node| node.size).collect();
    let edges = graph
        .edges
        .iter()
        .map(|edge| LayoutEdge {
            source: edge.source,
            target: edge.target,
            weight: edge.jaccard,
        })
        .collect();
    let initial_positions = (!previous_positions.is_empty()).then(|| {
        let by_name: std::collections::HashMap<&str, [f64; 2]> = previous_positions
            .iter()
            .map(|(name, position)| (name.as_str(), *position))
            .collect();
        graph
            .nodes
            .iter()
            .map(|node| by_name.get(node.name.as_str()).copied())
            .collect()
    });
    LayoutInput {
        node_radii: topoact_radii(&sizes),
        edges,
        initial_positions,
    }
}

fn drawn_graph(
    request: GraphRequest,
    graph: MapperGraph,
    positions: &[[f64; 2]],
    mapper_ms: f64,
    layout_ms: f64,
    diagnostics: Option<Diagnostics>,
) -> DrawnGraph {
    let sizes: Vec<usize> = graph.nodes.iter().map(|node| node.size).collect();
    let radii = topoact_radii(&sizes);
    let lens_range = graph
        .nodes
        .iter()
        .fold([f64::INFINITY, f64::NEG_INFINITY], |[lo, hi], node| {
            [lo.min(node.lens_mean), hi.max(node.lens_mean)]
        });
    let nodes = graph
        .nodes
        .into_iter()
        .zip(positions.iter().zip(radii))
        .map(|(node, (position, radius))| DrawnNode {
            name: node.name,
            size: node.size,
            lens_mean: node.lens_mean,
            top_classes: node.top_classes,
            members: node.members,
            position: *position,
            radius,
        })
        .collect();
    DrawnGraph {
        request,
        diagnostics,
        nodes,
        edges: graph.edges,
        stats: graph.stats,
        eps_global: graph.params.eps_global,
        n_samples_used: graph.n_samples_used,
        lens_range: if lens_range[0].is_finite() {
            lens_range
        } else {
            [0.0, 1.0]
        },
        lens_by_sample: Vec::new(),
        class_names: graph.class_names,
        mapper_ms,
        layout_ms,
    }
}

fn failure(request_id: RequestId, err: &FormatError) -> FromWorker {
    let kind = if matches!(err, FormatError::NonFiniteActivations { .. }) {
        FailureKind::NonFinite
    } else {
        FailureKind::BadInput
    };
    FromWorker::Failed {
        request_id,
        kind,
        message: err.to_string(),
    }
}

/// Reads a `File` slice by slice with `FileReaderSync` (only available in workers), so the
/// whole file is never copied into wasm memory at once.
pub struct JsFileSource {
    file: File,
    reader: Option<FileReaderSync>,
}

impl JsFileSource {
    pub fn new(file: File) -> Self {
        Self {
            file,
            reader: FileReaderSync::new().ok(),
        }
    }
}

impl ByteSource for JsFileSource {
    fn len(&self) -> u64 {
        self.file.size() as u64
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), FormatError> {
        let io_error = |message: String| FormatError::Io {
            file: self.file.name(),
            message,
        };
        let reader = self
            .reader
            .as_ref()
            .ok_or_else(|| io_error("FileReaderSync is unavailable".into()))?;
        let end = offset + buf.len() as u64;
        let blob = self
            .file
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|err| io_error(format!("{err:?}")))?;
        let buffer = reader
            .read_as_array_buffer(&blob)
            .map_err(|err| io_error(format!("{err:?}")))?;
        let bytes = Uint8Array::new(&buffer);
        if bytes.length() as usize != buf.len() {
            return Err(io_error(format!(
                "expected {} bytes at offset {offset}, got {}",
                buf.len(),
                bytes.length()
            )));
        }
        bytes.copy_to(buf);
        Ok(())
    }
}

/// Downloads `url` with progress; `Ok(None)` when cancelled.
async fn download(request_id: RequestId, url: &str) -> Result<Option<Vec<u8>>, String> {
    let fetch_failed = |err: JsValue| {
        format!(
            "Could not fetch {url}: {}. If the file is on another site, that site must allow cross-origin requests (CORS); otherwise download it and drop it on the page.",
            js_error_text(&err)
        )
    };
    let response: web_sys::Response = JsFuture::from(scope().fetch_with_str(url))
        .await
        .map_err(fetch_failed)?
        .unchecked_into();
    if !response.ok() {
        return Err(format!(
            "Could not fetch {url}: the server answered HTTP {} {}.",
            response.status(),
            response.status_text()
        ));
    }
    let total_bytes = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or(0);
    let body = response
        .body()
        .ok_or_else(|| format!("Could not fetch {url}: the response has no body."))?;
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total_bytes.min(u32::MAX as u64) as usize);
    let mut last_report_ms = now_ms();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(fetch_failed)?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = Reflect::get(&chunk, &"value".into()) {
            let array = Uint8Array::new(&value);
            let start = bytes.len();
            bytes.resize(start + array.length() as usize, 0);
            array.copy_to(&mut bytes[start..]);
        }
        if now_ms() - last_report_ms >= YIELD_EVERY_MS * 3.0 {
            last_report_ms = now_ms();
            let total = total_bytes.max(bytes.len() as u64);
            post(&FromWorker::Progress {
                request_id,
                progress: Progress::new("downloading", bytes.len() as u64, total),
            });
        }
        if is_cancelled(request_id) {
            let _ = reader.cancel();
            return Ok(None);
        }
    }
    Ok(Some(bytes))
}

fn js_error_text(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{err:?}"))
}

/// Up to `per_class` members of each top class, spread evenly over the (ascending) member
/// list so the choice is deterministic; plus the node's mean images.
fn node_examples(dataset: &Dataset, query: &ExamplesQuery) -> NodeExamples {
    let n_samples = dataset.n_samples();
    let members: Vec<u32> = query
        .members
        .iter()
        .copied()
        .filter(|&idx| (idx as usize) < n_samples)
        .collect();
    let class_name = |class_idx: Option<u32>| {
        class_idx
            .and_then(|idx| dataset.class_names.get(idx as usize).cloned())
            .unwrap_or_else(|| "unlabelled".into())
    };
    let label_of = |sample_idx: u32| {
        dataset
            .labels
            .as_ref()
            .and_then(|labels| labels.get(sample_idx as usize).copied())
    };
    let activation_images = dataset.activation_images.get(&query.layer);

    let example = |sample_idx: u32| Example {
        sample_idx,
        class_name: class_name(label_of(sample_idx)),
        thumbnail: dataset
            .images
            .as_ref()
            .and_then(|stack| image_url(stack, stack.image(sample_idx as usize))),
        activation_image: activation_images
            .and_then(|stack| image_url(stack, stack.image(sample_idx as usize))),
    };
    let groups = query
        .top_classes
        .iter()
        .map(|&class_idx| {
            let of_class: Vec<u32> = members
                .iter()
                .copied()
                .filter(|&idx| label_of(idx) == Some(class_idx))
                .collect();
            let picks = spread_picks(&of_class, query.per_class);
            (
                class_name(Some(class_idx)),
                picks.into_iter().map(example).collect(),
            )
        })
        .collect();
    NodeExamples {
        node_name: query.node_name.clone(),
        groups,
        mean_activation_image: activation_images
            .and_then(|stack| mean_image_url(stack, &members, n_samples)),
        mean_thumbnail: dataset
            .images
            .as_ref()
            .and_then(|stack| mean_image_url(stack, &members, n_samples)),
    }
}

/// One image of `stack` as a `data:` URL.
fn image_url(stack: &ImageStack, pixels: &[u8]) -> Option<String> {
    bmp_data_url(&Pixels {
        width: stack.width,
        height: stack.height,
        channels: stack.channels,
        data: pixels,
    })
}

/// The mean of the members' images (indices past `n_samples` ignored) as a `data:` URL.
fn mean_image_url(stack: &ImageStack, members: &[u32], n_samples: usize) -> Option<String> {
    let in_range = members.iter().filter(|&&idx| (idx as usize) < n_samples);
    let mean = mean_image(
        in_range.map(|&idx| stack.image(idx as usize)),
        stack.image_len(),
    )?;
    image_url(stack, &mean)
}

/// `count` items spread evenly over `items` (all of them when there are fewer).
fn spread_picks(items: &[u32], count: usize) -> Vec<u32> {
    if items.len() <= count {
        return items.to_vec();
    }
    (0..count)
        .map(|pick| items[pick * items.len() / count])
        .collect()
}
