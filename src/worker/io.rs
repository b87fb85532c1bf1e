//! Loading data: dropped `File`s (read slice by slice, never whole into wasm memory) and
//! files fetched by URL, parsed into the dataset; the identity a share link records for a
//! dropped file (name, size, content hash).

use js_sys::{Array, Reflect, Uint8Array};
use topoact_core::formats::{ByteSource, FormatError, LoadJob, LoadOptions, NamedSource};
use topoact_core::job::Progress;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, FileReaderSync};

use super::runtime::{is_cancelled, now_ms, post, run_job, Outcome, YIELD_EVERY_MS};
use super::{graph, state};
use crate::protocol::{FromWorker, RequestId, WorkerError, FILES_PROPERTY};
use crate::vocabulary::{content_hash, hashed_ranges, DatasetRef};

/// Memory budget for a loaded dataset inside one wasm32 instance (4 GiB address space,
/// minus room for the previous dataset's replacement window and the computations).
pub const DATASET_BUDGET_BYTES: u64 = 3 * 1024 * 1024 * 1024;

/// The `File`s attached to a `LoadFiles` message (under [`FILES_PROPERTY`]).
pub(super) fn files_of(message: &JsValue) -> Vec<File> {
    Reflect::get(message, &JsValue::from_str(FILES_PROPERTY))
        .ok()
        .filter(Array::is_array)
        .map(|value| {
            Array::from(&value)
                .iter()
                .filter_map(|item| item.dyn_into::<File>().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `LoadFiles`: the dropped files as the new dataset, or one dropped graph file opened.
pub(super) async fn load_files(
    request_id: RequestId,
    files: Vec<File>,
    drop_nonfinite: bool,
) -> Outcome {
    let mut sources = files
        .into_iter()
        .map(|file| NamedSource {
            file_name: file.name(),
            source: JsFileSource::new(file),
        })
        .collect::<Vec<_>>();
    if sources.len() == 1 && looks_like_graph(&mut sources[0]) {
        let source = file_identity(&mut sources)?;
        return graph::import_graph_file(request_id, sources.remove(0), source).await;
    }
    let total_bytes = sources.iter().map(|named| named.source.len()).sum();
    let identity = file_identity(&mut sources)?;
    load(request_id, sources, drop_nonfinite, total_bytes, identity).await
}

/// `LoadUrl`: the file at `url`, downloaded with progress, as the new dataset.
pub(super) async fn load_url(request_id: RequestId, url: String, drop_nonfinite: bool) -> Outcome {
    let Some(bytes) = download(request_id, &url).await? else {
        return Ok(None);
    };
    let file_name = url.rsplit('/').next().unwrap_or(&url).to_string();
    let total_bytes = bytes.len() as u64;
    let sources = vec![NamedSource {
        file_name,
        source: bytes,
    }];
    let source = DatasetRef::Url { url };
    load(request_id, sources, drop_nonfinite, total_bytes, source).await
}

/// Parses `sources` (in steps) into the new dataset.
async fn load<S: ByteSource>(
    request_id: RequestId,
    sources: Vec<NamedSource<S>>,
    drop_nonfinite: bool,
    total_bytes: u64,
    source: DatasetRef,
) -> Outcome {
    let started_ms = now_ms();
    let options = LoadOptions {
        max_total_bytes: DATASET_BUDGET_BYTES,
        drop_nonfinite,
    };
    let mut job = LoadJob::new(sources, options)?;
    let Some(dataset) = run_job(request_id, &mut job).await? else {
        return Ok(None);
    };
    let summary = dataset.summary();
    state::install_dataset(dataset);
    Ok(Some(FromWorker::Loaded {
        request_id,
        summary,
        elapsed_ms: now_ms() - started_ms,
        bytes_read: total_bytes,
        source,
    }))
}

/// The identity a share link records for dropped files: the largest one (the activations;
/// side files of labels are small) by name, size and [`content_hash`]. A file that cannot be
/// read is refused here, with its name (a link could not name it: an empty hash is not a
/// hash).
fn file_identity<S: ByteSource>(sources: &mut [NamedSource<S>]) -> Result<DatasetRef, WorkerError> {
    let Some(largest) = sources.iter_mut().max_by_key(|named| named.source.len()) else {
        return Err(WorkerError::BadFile {
            message: "No file was given.".into(),
        });
    };
    let size_bytes = largest.source.len();
    let unreadable = |name: &str, detail: String| {
        WorkerError::BadFile {
        message: format!("{name} could not be read ({detail}). Choose it again; if it is on a removable or network drive, copy it to this computer first."),
    }
    };
    let mut chunks = Vec::new();
    for range in hashed_ranges(size_bytes) {
        let mut chunk = vec![0u8; (range.end - range.start) as usize];
        largest
            .source
            .read_at(range.start, &mut chunk)
            .map_err(|err| unreadable(&largest.file_name, err.to_string()))?;
        chunks.push(chunk);
    }
    let content_hash = content_hash(size_bytes, chunks.iter().map(Vec::as_slice))
        .map_err(|err| unreadable(&largest.file_name, err.to_string()))?;
    Ok(DatasetRef::File {
        name: largest.file_name.clone(),
        size_bytes,
        content_hash,
    })
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
async fn download(request_id: RequestId, url: &str) -> Result<Option<Vec<u8>>, WorkerError> {
    let fetch_failed = |err: JsValue| WorkerError::FetchFailed {
        url: url.to_string(),
        reason: js_error_text(&err),
    };
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let response: web_sys::Response = JsFuture::from(scope.fetch_with_str(url))
        .await
        .map_err(fetch_failed)?
        .unchecked_into();
    if !response.ok() {
        return Err(WorkerError::HttpStatus {
            url: url.to_string(),
            status: response.status(),
            status_text: response.status_text(),
        });
    }
    let total_bytes = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|text| text.parse::<u64>().ok())
        .unwrap_or(0);
    let body = response.body().ok_or_else(|| WorkerError::NoBody {
        url: url.to_string(),
    })?;
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
