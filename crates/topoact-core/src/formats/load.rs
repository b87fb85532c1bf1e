//! The stepwise loader: plans every file from its headers, checks the whole plan (roles,
//! dtypes, shapes, row counts, duplicates, memory budget), then streams each array into
//! its final buffer in bounded chunks, and finally assembles the [`Dataset`].

use half::f16;

use super::assemble::{self, assemble, LayerData, LayerPart, Parts};
use super::convert::{convert_chunk, Placement, RowTracker};
use super::error::{FormatError, KeyLabel};
use super::npy::{self, ElemKind, ElemType, NpyHeader};
use super::stream::{CrcCheck, RawStream};
use super::zip::{self, Method, ZipEntry};
use super::{
    labels_file, read_exact_at, safetensors, ByteSource, LoadOptions, NamedSource, CHUNK_BYTES,
};
use crate::columns::{Column, ColumnValues};
use crate::dataset::{Dataset, ProjectionKind};
use crate::job::{Job, Progress, Step};

/// What an array is used for, decided from its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Meta,
    ClassNames,
    Labels,
    Layer(String),
    Images,
    ActivationImages(String),
    Projection(String, ProjectionKind),
    /// The network's predicted class per sample (`preds`, `predictions`).
    Predictions,
    /// Any other 1-D per-sample array of a npz or safetensors file.
    Column(String),
}

impl Role {
    /// Reading order: small descriptive arrays first so label errors surface early.
    fn rank(&self) -> u8 {
        match self {
            Role::Meta => 0,
            Role::ClassNames => 1,
            Role::Labels => 2,
            Role::Layer(_) => 3,
            Role::Images => 4,
            Role::ActivationImages(_) => 5,
            Role::Projection(..) => 6,
            Role::Predictions => 7,
            Role::Column(_) => 8,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Role::Meta => "meta",
            Role::ClassNames => "class names",
            Role::Labels => "labels",
            Role::Layer(_) => "activations",
            Role::Images => "images",
            Role::ActivationImages(_) => "activation images",
            Role::Projection(..) => "a projection",
            Role::Predictions => "predictions",
            Role::Column(_) => "a per-sample column",
        }
    }
}

/// Maps a key (`act_fc1`, `labels`, `proj_fc1_tsne`, ...) to its role; `None` = not ours.
pub(crate) fn role_of_key(key: &str) -> Option<Role> {
    match key {
        "meta" => return Some(Role::Meta),
        "class_names" => return Some(Role::ClassNames),
        "labels" => return Some(Role::Labels),
        "images" => return Some(Role::Images),
        "preds" | "predictions" => return Some(Role::Predictions),
        _ => {}
    }
    if let Some(layer) = key.strip_prefix("act_") {
        return (!layer.is_empty()).then(|| Role::Layer(layer.to_string()));
    }
    if let Some(layer) = key.strip_prefix("actimg_") {
        return (!layer.is_empty()).then(|| Role::ActivationImages(layer.to_string()));
    }
    if let Some(rest) = key.strip_prefix("proj_") {
        if let Some(layer) = rest.strip_suffix("_tsne") {
            return (!layer.is_empty())
                .then(|| Role::Projection(layer.to_string(), ProjectionKind::Tsne));
        }
        if let Some(layer) = rest.strip_suffix("_umap") {
            return (!layer.is_empty())
                .then(|| Role::Projection(layer.to_string(), ProjectionKind::Umap));
        }
    }
    None
}

/// Where an array's raw data lives.
#[derive(Clone, Debug)]
enum Location {
    /// Contiguous bytes of the file (`.npy`, `.safetensors`).
    Direct { offset: u64 },
    /// The data follows a `.npy` header of `header_len` bytes inside a zip entry.
    ZipEntry {
        entry: ZipEntry,
        data_offset: u64,
        header_len: u64,
    },
}

/// The in-memory element type an array is converted to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DestKind {
    F16,
    F32,
    F64,
    I64,
    U8,
    /// Raw bytes kept as they are (strings, meta), decoded at assembly.
    Bytes,
}

impl DestKind {
    fn size(self) -> u64 {
        match self {
            DestKind::F16 => 2,
            DestKind::F32 => 4,
            DestKind::F64 | DestKind::I64 => 8,
            DestKind::U8 | DestKind::Bytes => 1,
        }
    }
}

/// One array to read.
#[derive(Clone, Debug)]
struct ArrayTask {
    file_idx: usize,
    key: String,
    role: Role,
    elem: ElemType,
    shape: Vec<u64>,
    fortran_order: bool,
    location: Location,
    /// Raw bytes in the file.
    data_bytes: u64,
    dest: DestKind,
}

impl ArrayTask {
    fn element_count(&self) -> u64 {
        npy::element_count(&self.shape).unwrap_or(0)
    }

    fn dest_bytes(&self) -> u64 {
        if self.dest == DestKind::Bytes {
            self.data_bytes
        } else {
            self.element_count().saturating_mul(self.dest.size())
        }
    }
}

enum DestBuffer {
    F16(Vec<f16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    Bytes(Vec<u8>),
}

/// A read in progress.
struct ActiveRead {
    task_idx: usize,
    stream: RawStream,
    bytes_left: u64,
    /// The chunk being read.
    raw: Vec<u8>,
    /// The chunk read in the previous step, not hashed nor converted yet: it is, while the
    /// next chunk is read (see [`overlap`]).
    pending: Vec<u8>,
    decode: Decode,
}

/// What becomes of an array's bytes once read: a zip entry's CRC-32 (taken from the stream
/// once the `.npy` header is skipped) and the conversion into the destination buffer.
struct Decode {
    crc: Option<CrcCheck>,
    dest: DestBuffer,
    placement: Placement,
    row_len: usize,
    n_rows: usize,
    bad_rows: Option<Vec<bool>>,
    /// Decoded values of a Fortran-ordered chunk before they are scattered.
    scratch: Scratch,
}

impl Decode {
    /// Hashes and converts the next `raw` bytes of the array (whole elements); `Ok(false)`
    /// if the dtype cannot go where the array's role puts it.
    fn digest(&mut self, elem: &ElemType, raw: &[u8]) -> Result<bool, FormatError> {
        if raw.is_empty() {
            return Ok(true);
        }
        if let Some(crc) = self.crc.as_mut() {
            crc.update(raw)?;
        }
        let rows = RowTracker {
            row_len: self.row_len,
            n_rows: self.n_rows,
            bad_rows: &mut self.bad_rows,
        };
        let (placement, scratch) = (&mut self.placement, &mut self.scratch);
        Ok(match &mut self.dest {
            DestBuffer::Bytes(bytes) => {
                bytes.extend_from_slice(raw);
                true
            }
            DestBuffer::F16(dest) => {
                convert_chunk(elem, raw, placement, dest, &mut scratch.f16, rows)
            }
            DestBuffer::F32(dest) => {
                convert_chunk(elem, raw, placement, dest, &mut scratch.f32, rows)
            }
            DestBuffer::F64(dest) => {
                convert_chunk(elem, raw, placement, dest, &mut scratch.f64, rows)
            }
            DestBuffer::I64(dest) => {
                convert_chunk(elem, raw, placement, dest, &mut scratch.i64, rows)
            }
            DestBuffer::U8(dest) => {
                convert_chunk(elem, raw, placement, dest, &mut scratch.u8, rows)
            }
        })
    }
}

#[derive(Default)]
struct Scratch {
    f16: Vec<f16>,
    f32: Vec<f32>,
    f64: Vec<f64>,
    i64: Vec<i64>,
    u8: Vec<u8>,
}

enum Phase {
    Planning {
        next_file: usize,
    },
    Checking,
    Reading {
        next_task: usize,
        active: Option<Box<ActiveRead>>,
    },
    Assembling,
    Finished,
}

/// Loads a [`Dataset`] from files in bounded steps (see the module documentation).
///
/// Each [`Job::step`] plans one file, or converts at most [`CHUNK_BYTES`] of array data,
/// or assembles the result. Progress is reported in bytes of array data.
pub struct LoadJob<S: ByteSource> {
    files: Vec<NamedSource<S>>,
    options: LoadOptions,
    phase: Phase,
    tasks: Vec<ArrayTask>,
    parts: Parts,
    ignored_keys: Vec<(usize, Vec<String>)>,
    side_file_bytes: u64,
    done_bytes: u64,
    total_bytes: u64,
    /// Raw bytes converted per step ([`CHUNK_BYTES`] unless a test asks for less).
    chunk_bytes: usize,
}

fn usize_of(value: u64, file: &str, key: &str) -> Result<usize, FormatError> {
    usize::try_from(value).map_err(|_| FormatError::SizeOverflow {
        file: file.to_string(),
        key: KeyLabel::of(key),
    })
}

fn extension_of(file_name: &str) -> String {
    file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The file name without folders and extension (`"layer"` if that leaves nothing).
fn stem_of(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    if stem.is_empty() {
        "layer".to_string()
    } else {
        stem.to_string()
    }
}

impl<S: ByteSource> LoadJob<S> {
    /// Prepares a load; fails at once on an empty list or an unknown file type.
    pub fn new(files: Vec<NamedSource<S>>, options: LoadOptions) -> Result<Self, FormatError> {
        if files.is_empty() {
            return Err(FormatError::NoFiles);
        }
        for file in &files {
            if !matches!(
                extension_of(&file.file_name).as_str(),
                "npz" | "npy" | "safetensors" | "csv" | "json"
            ) {
                return Err(FormatError::UnknownFileType {
                    file: file.file_name.clone(),
                });
            }
        }
        Ok(LoadJob {
            files,
            options,
            phase: Phase::Planning { next_file: 0 },
            tasks: Vec::new(),
            parts: Parts::default(),
            ignored_keys: Vec::new(),
            side_file_bytes: 0,
            done_bytes: 0,
            total_bytes: 0,
            chunk_bytes: CHUNK_BYTES,
        })
    }

    /// Converts at most `chunk_bytes` (at least one element) per step instead of
    /// [`CHUNK_BYTES`]; tests use tiny chunks to cross every chunk boundary.
    #[doc(hidden)]
    pub fn with_chunk_bytes(mut self, chunk_bytes: usize) -> Self {
        self.chunk_bytes = chunk_bytes.max(1);
        self
    }

    fn progress(&self, stage: String) -> Progress {
        Progress::new(
            stage,
            self.done_bytes,
            self.total_bytes.max(self.done_bytes),
        )
    }

    /// Reads one file's headers and adds its arrays to the plan.
    fn plan_file(&mut self, file_idx: usize) -> Result<(), FormatError> {
        let Some(named) = self.files.get_mut(file_idx) else {
            return Ok(());
        };
        let file_name = named.file_name.clone();
        match extension_of(&file_name).as_str() {
            "npy" => {
                let len = named.source.len();
                let header =
                    read_npy_header(&mut named.source, &file_name, None, len, &KeyLabel::none())?;
                let stem = stem_of(&file_name);
                let role = role_of_key(&stem).unwrap_or_else(|| fallback_role(&stem, &header));
                refuse_unreadable_dtype(&header, &file_name, &stem, &role)?;
                let data_bytes = checked_data_bytes(&header, &file_name, None)?;
                let available = len.saturating_sub(header.data_offset);
                if available != data_bytes {
                    return Err(size_mismatch(
                        &header, &file_name, None, data_bytes, available,
                    ));
                }
                let task = make_task(
                    file_idx,
                    stem,
                    role,
                    header.clone(),
                    Location::Direct {
                        offset: header.data_offset,
                    },
                    data_bytes,
                    &file_name,
                )?;
                self.tasks.push(task);
            }
            "npz" => {
                let entries = zip::read_central_directory(&mut named.source, &file_name)?;
                let mut ignored = Vec::new();
                for entry in entries {
                    let Some(key) = entry.name.strip_suffix(".npy").map(str::to_string) else {
                        if !entry.name.ends_with('/') {
                            ignored.push(entry.name.clone());
                        }
                        continue;
                    };
                    if !entry.name_was_utf8 {
                        self.parts.notices.push(format!(
                            "'{file_name}': the entry name '{key}' is not valid UTF-8; invalid bytes were replaced with U+FFFD"
                        ));
                    }
                    let role = role_of_key(&key).unwrap_or_else(|| Role::Column(key.clone()));
                    let key_label = KeyLabel::of(&key);
                    let data_offset =
                        zip::entry_data_offset(&mut named.source, &file_name, &entry)?;
                    let mut stream = RawStream::zip_entry(
                        &entry,
                        data_offset,
                        &file_name,
                        key_label.clone(),
                        self.chunk_bytes,
                    );
                    let header = read_npy_header_from_stream(
                        &mut named.source,
                        &mut stream,
                        &file_name,
                        &key_label,
                        entry.uncompressed_size,
                    )?;
                    if matches!(role, Role::Column(_)) && !is_column_like(&header) {
                        ignored.push(key);
                        continue;
                    }
                    refuse_unreadable_dtype(&header, &file_name, &key, &role)?;
                    let data_bytes = checked_data_bytes(&header, &file_name, Some(&key))?;
                    let needed = header.data_offset.checked_add(data_bytes).ok_or(
                        FormatError::SizeOverflow {
                            file: file_name.clone(),
                            key: key_label.clone(),
                        },
                    )?;
                    if entry.uncompressed_size > needed && entry.method == Method::Deflate {
                        return Err(FormatError::ZipBomb {
                            file: file_name,
                            key: key_label,
                            inflated_bytes: entry.uncompressed_size,
                            needed_bytes: needed,
                        });
                    }
                    if entry.uncompressed_size != needed {
                        let available = entry.uncompressed_size.saturating_sub(header.data_offset);
                        return Err(size_mismatch(
                            &header,
                            &file_name,
                            Some(&key),
                            data_bytes,
                            available,
                        ));
                    }
                    let header_len = header.data_offset;
                    let location = Location::ZipEntry {
                        entry,
                        data_offset,
                        header_len,
                    };
                    let task = make_task(
                        file_idx, key, role, header, location, data_bytes, &file_name,
                    )?;
                    self.tasks.push(task);
                }
                if !ignored.is_empty() {
                    self.ignored_keys.push((file_idx, ignored));
                }
            }
            "safetensors" => {
                let parsed = safetensors::read_header(&mut named.source, &file_name)?;
                let mut ignored = Vec::new();
                for tensor in parsed.tensors {
                    let role = role_of_key(&tensor.name)
                        .unwrap_or_else(|| Role::Column(tensor.name.clone()));
                    let header = NpyHeader {
                        elem: tensor.elem,
                        shape: tensor.shape,
                        fortran_order: false,
                        data_offset: tensor.data_offset,
                    };
                    if matches!(role, Role::Column(_)) && !is_column_like(&header) {
                        ignored.push(tensor.name);
                        continue;
                    }
                    refuse_unreadable_dtype(&header, &file_name, &tensor.name, &role)?;
                    let data_bytes = checked_data_bytes(&header, &file_name, Some(&tensor.name))?;
                    if data_bytes != tensor.data_len {
                        return Err(size_mismatch(
                            &header,
                            &file_name,
                            Some(&tensor.name),
                            data_bytes,
                            tensor.data_len,
                        ));
                    }
                    let location = Location::Direct {
                        offset: tensor.data_offset,
                    };
                    let task = make_task(
                        file_idx,
                        tensor.name,
                        role,
                        header,
                        location,
                        data_bytes,
                        &file_name,
                    )?;
                    self.tasks.push(task);
                }
                if !ignored.is_empty() {
                    self.ignored_keys.push((file_idx, ignored));
                }
                if let Some(class_names) = parsed.class_names {
                    self.parts
                        .set_class_names(class_names, format!("'{file_name}' (__metadata__)"))?;
                }
                if let Some(meta) = parsed.meta {
                    self.parts.set_meta(meta, &file_name)?;
                }
            }
            "csv" | "json" => {
                let len = named.source.len();
                let budget_left = self
                    .options
                    .max_total_bytes
                    .saturating_sub(self.side_file_bytes);
                if len > budget_left {
                    return Err(FormatError::TooLarge {
                        needed_bytes: len,
                        budget_bytes: self.options.max_total_bytes,
                    });
                }
                self.side_file_bytes += len;
                let mut bytes = vec![0u8; usize_of(len, &file_name, "")?];
                read_exact_at(
                    &mut named.source,
                    &file_name,
                    0,
                    &mut bytes,
                    "the label file",
                )?;
                let side = if extension_of(&file_name) == "csv" {
                    labels_file::parse_csv(&bytes, &file_name)?
                } else {
                    labels_file::parse_json(&bytes, &file_name)?
                };
                self.parts.notices.extend(side.notices);
                let source_name = format!("'{file_name}'");
                if let Some(labels) = side.labels {
                    self.parts.set_labels(labels, source_name.clone())?;
                }
                if let Some(class_names) = side.class_names {
                    self.parts.set_class_names(class_names, source_name)?;
                }
            }
            _ => return Err(FormatError::UnknownFileType { file: file_name }),
        }
        Ok(())
    }

    /// Checks the whole plan before anything large is allocated.
    fn check_plan(&mut self) -> Result<(), FormatError> {
        for (file_idx, keys) in &self.ignored_keys {
            let file_name = self
                .files
                .get(*file_idx)
                .map(|f| f.file_name.as_str())
                .unwrap_or("");
            self.parts.notices.push(format!(
                "'{file_name}': ignored key(s) {}; only act_<layer>, labels, class_names, images, actimg_<layer>, proj_<layer>_tsne|umap, meta, preds and 1-D per-sample columns are read",
                keys.join(", ")
            ));
        }
        let describe = |task: &ArrayTask, files: &[NamedSource<S>]| {
            let file_name = files
                .get(task.file_idx)
                .map(|f| f.file_name.as_str())
                .unwrap_or("");
            format!("'{}' (array '{}')", file_name, task.key)
        };
        // Duplicates.
        let mut first_with_role: std::collections::BTreeMap<String, usize> =
            std::collections::BTreeMap::new();
        for (later_idx, later) in self.tasks.iter().enumerate() {
            let earlier_idx = *first_with_role
                .entry(format!("{:?}", later.role))
                .or_insert(later_idx);
            if let Some(earlier) = (earlier_idx != later_idx).then(|| &self.tasks[earlier_idx]) {
                let first = describe(earlier, &self.files);
                let second = describe(later, &self.files);
                return Err(match &later.role {
                    Role::Layer(layer) => FormatError::DuplicateLayer {
                        layer: layer.clone(),
                        first,
                        second,
                    },
                    Role::Labels => FormatError::DuplicateLabels { first, second },
                    other => FormatError::Duplicate {
                        file: self
                            .files
                            .get(later.file_idx)
                            .map(|f| f.file_name.clone())
                            .unwrap_or_default(),
                        key: KeyLabel::of(&later.key),
                        reason: format!("{} already came from {first}", other.describe()),
                    },
                });
            }
        }
        if let Some(task) = self.tasks.iter().find(|t| t.role == Role::Labels) {
            if let Some(source) = &self.parts.labels_source {
                return Err(FormatError::DuplicateLabels {
                    first: source.clone(),
                    second: describe(task, &self.files),
                });
            }
        }
        if let Some(task) = self.tasks.iter().find(|t| t.role == Role::ClassNames) {
            if let Some(source) = &self.parts.class_names_source {
                return Err(FormatError::Duplicate {
                    file: self
                        .files
                        .get(task.file_idx)
                        .map(|f| f.file_name.clone())
                        .unwrap_or_default(),
                    key: KeyLabel::of(&task.key),
                    reason: format!("class names already came from {source}"),
                });
            }
        }
        if let Some(task) = self.tasks.iter().find(|t| t.role == Role::Meta) {
            if let Some(source) = &self.parts.meta_source {
                return Err(FormatError::Duplicate {
                    file: self
                        .files
                        .get(task.file_idx)
                        .map(|f| f.file_name.clone())
                        .unwrap_or_default(),
                    key: KeyLabel::of(&task.key),
                    reason: format!("meta already came from '{source}'"),
                });
            }
        }
        // Row counts: every per-sample array matches the first layer.
        let Some(reference) = self.tasks.iter().find(|t| matches!(t.role, Role::Layer(_))) else {
            let files: Vec<String> = self
                .files
                .iter()
                .map(|f| format!("'{}'", f.file_name))
                .collect();
            let mut found: Vec<String> = self.tasks.iter().map(|t| t.key.clone()).collect();
            for (_, keys) in &self.ignored_keys {
                found.extend(keys.iter().cloned());
            }
            let found = if found.is_empty() {
                "nothing".to_string()
            } else {
                found.join(", ")
            };
            return Err(FormatError::NoActivations {
                files: format!("{} (found: {found})", files.join(", ")),
            });
        };
        let expected_rows = reference.shape.first().copied().unwrap_or(0);
        let reference_name = describe(reference, &self.files);
        // A 1-D array of another length is not per sample: left out, with a notice.
        let mut not_per_sample = Vec::new();
        self.tasks.retain(|task| {
            let per_sample = !matches!(task.role, Role::Column(_))
                || task.shape.first().copied() == Some(expected_rows);
            if !per_sample {
                not_per_sample.push(format!(
                    "{} ({} values)",
                    describe(task, &self.files),
                    task.shape.first().copied().unwrap_or(0)
                ));
            }
            per_sample
        });
        if !not_per_sample.is_empty() {
            self.parts.notices.push(format!(
                "not read as columns, their length differs from the {expected_rows} samples: {}",
                not_per_sample.join(", ")
            ));
        }
        for task in &self.tasks {
            if matches!(task.role, Role::Meta | Role::ClassNames) {
                continue;
            }
            let rows = task.shape.first().copied().unwrap_or(0);
            if rows != expected_rows {
                return Err(FormatError::RowCountMismatch {
                    what: describe(task, &self.files),
                    rows,
                    reference: reference_name,
                    expected_rows,
                });
            }
        }
        if let Some(labels) = &self.parts.labels {
            if labels.len() as u64 != expected_rows {
                return Err(FormatError::RowCountMismatch {
                    what: format!(
                        "the labels from {}",
                        self.parts.labels_source.clone().unwrap_or_default()
                    ),
                    rows: labels.len() as u64,
                    reference: reference_name,
                    expected_rows,
                });
            }
        }
        // Memory budget.
        let mut needed: u64 = self.side_file_bytes;
        for task in &self.tasks {
            needed = needed.saturating_add(task.dest_bytes());
        }
        if needed > self.options.max_total_bytes {
            return Err(FormatError::TooLarge {
                needed_bytes: needed,
                budget_bytes: self.options.max_total_bytes,
            });
        }
        self.tasks.sort_by_key(|task| task.role.rank());
        self.total_bytes = self.tasks.iter().map(|t| t.data_bytes).sum();
        Ok(())
    }

    fn start_read(&mut self, task_idx: usize) -> Result<Box<ActiveRead>, FormatError> {
        let task = self
            .tasks
            .get(task_idx)
            .cloned()
            .ok_or(FormatError::NoFiles)?;
        let Some(named) = self.files.get_mut(task.file_idx) else {
            return Err(FormatError::NoFiles);
        };
        let file_name = named.file_name.clone();
        let key_label = KeyLabel::of(&task.key);
        let stream = match &task.location {
            Location::Direct { offset } => {
                RawStream::direct(*offset, task.data_bytes, &file_name, key_label.clone())
            }
            Location::ZipEntry {
                entry,
                data_offset,
                header_len,
            } => {
                let mut stream = RawStream::zip_entry(
                    entry,
                    *data_offset,
                    &file_name,
                    key_label.clone(),
                    self.chunk_bytes,
                );
                stream.skip(&mut named.source, *header_len)?;
                stream
            }
        };
        if stream.remaining() < task.data_bytes {
            return Err(FormatError::Truncated {
                file: file_name,
                what: format!("the array data{key_label}"),
                needed: task.data_bytes,
                available: stream.remaining(),
            });
        }
        let count = usize_of(task.element_count(), &file_name, &task.key)?;
        let too_large = || FormatError::TooLarge {
            needed_bytes: task.dest_bytes(),
            budget_bytes: self.options.max_total_bytes,
        };
        let shape: Vec<usize> = task
            .shape
            .iter()
            .map(|&d| usize_of(d, &file_name, &task.key))
            .collect::<Result<_, _>>()?;
        let placement = Placement::new(&shape, task.fortran_order);
        // Reserved only when the elements arrive in order (they are appended); zeroed for
        // a Fortran-ordered array, whose elements are scattered.
        fn buffer<T: Clone + Default>(count: usize, in_order: bool) -> Option<Vec<T>> {
            let mut values = Vec::new();
            values.try_reserve_exact(count).ok()?;
            if !in_order {
                values.resize(count, T::default());
            }
            Some(values)
        }
        let in_order = placement.in_order();
        let dest = match task.dest {
            DestKind::F16 => DestBuffer::F16(buffer(count, in_order).ok_or_else(too_large)?),
            DestKind::F32 => DestBuffer::F32(buffer(count, in_order).ok_or_else(too_large)?),
            DestKind::F64 => DestBuffer::F64(buffer(count, in_order).ok_or_else(too_large)?),
            DestKind::I64 => DestBuffer::I64(buffer(count, in_order).ok_or_else(too_large)?),
            DestKind::U8 => DestBuffer::U8(buffer(count, in_order).ok_or_else(too_large)?),
            DestKind::Bytes => {
                let len = usize_of(task.data_bytes, &file_name, &task.key)?;
                let mut bytes = Vec::new();
                bytes.try_reserve_exact(len).map_err(|_| too_large())?;
                DestBuffer::Bytes(bytes)
            }
        };
        let n_rows = shape.first().copied().unwrap_or(1);
        let row_len = count.checked_div(n_rows).unwrap_or(0);
        let mut stream = stream;
        let crc = stream.take_crc();
        Ok(Box::new(ActiveRead {
            task_idx,
            stream,
            bytes_left: task.data_bytes,
            raw: Vec::new(),
            pending: Vec::new(),
            decode: Decode {
                crc,
                dest,
                placement,
                row_len,
                n_rows,
                bad_rows: None,
                scratch: Scratch::default(),
            },
        }))
    }

    /// Reads the next chunk; returns whether the array is complete.
    ///
    /// The chunk read in the previous step is hashed and converted (on another thread where
    /// there is one) while this one is read: in the browser, reading a dropped file blocks
    /// this thread in the browser's own code, and the CRC-32 of a stored `.npz` plus the
    /// conversion cost about as long again. Chunks are still hashed and converted in file
    /// order, so the result does not depend on the threads; the last chunk is hashed and
    /// converted at once.
    fn read_chunk(&mut self, read: &mut ActiveRead) -> Result<bool, FormatError> {
        let Some(task) = self.tasks.get(read.task_idx) else {
            return Ok(true);
        };
        let elem_size = task.elem.size.max(1);
        let chunk = if task.dest == DestKind::Bytes {
            self.chunk_bytes
        } else {
            (self.chunk_bytes - self.chunk_bytes % elem_size).max(elem_size)
        };
        let now = read.bytes_left.min(chunk as u64) as usize;
        let Some(named) = self.files.get_mut(task.file_idx) else {
            return Ok(true);
        };
        std::mem::swap(&mut read.raw, &mut read.pending);
        read.raw.resize(now, 0);
        let ActiveRead {
            stream,
            raw,
            pending,
            decode,
            ..
        } = read;
        let (digested, filled) = overlap(
            || decode.digest(&task.elem, pending),
            || stream.fill(&mut named.source, raw),
        );
        if !digested? {
            return Err(unsupported(task, &named.file_name));
        }
        filled?;
        // `pending` keeps its (digested) bytes: swapped in as the next read buffer, it is
        // overwritten whole, so `resize` above only zero-fills a buffer that grew (clearing
        // it here zero-filled every 2 MiB chunk on the reading thread, ~20M instructions at
        // 20K x 256).
        read.bytes_left -= now as u64;
        self.done_bytes += now as u64;
        if read.bytes_left == 0 {
            // The last chunk: nothing to overlap it with.
            if !read.decode.digest(&task.elem, &read.raw)? {
                return Err(unsupported(task, &named.file_name));
            }
        }
        Ok(read.bytes_left == 0)
    }

    /// Moves a finished array into the parts.
    fn finish_read(&mut self, read: ActiveRead) -> Result<(), FormatError> {
        let Some(task) = self.tasks.get(read.task_idx).cloned() else {
            return Ok(());
        };
        let file_name = self
            .files
            .get(task.file_idx)
            .map(|f| f.file_name.clone())
            .unwrap_or_default();
        let source_name = format!("'{file_name}' (array '{}')", task.key);
        let shape: Vec<usize> = task.shape.iter().map(|&d| d as usize).collect();
        let Decode {
            dest,
            n_rows,
            bad_rows,
            ..
        } = read.decode;
        match (task.role, dest) {
            (Role::Layer(name), dest) => {
                let data = match dest {
                    DestBuffer::F16(values) => LayerData::F16(values),
                    DestBuffer::F32(values) => LayerData::F32(values),
                    DestBuffer::F64(values) => LayerData::F64(values),
                    _ => {
                        return Err(unsupported_role(
                            &task.elem,
                            &file_name,
                            &task.key,
                            "activations",
                        ))
                    }
                };
                let n_cols = shape.get(1).copied().unwrap_or(0);
                self.parts.layers.push(LayerPart {
                    name,
                    source: source_name,
                    n_rows,
                    n_cols,
                    data,
                    bad_rows,
                });
            }
            (Role::Labels, DestBuffer::I64(values)) => {
                self.parts.set_labels(values, source_name)?
            }
            (Role::ClassNames, DestBuffer::Bytes(bytes)) => {
                let names = assemble::decode_strings(
                    &bytes,
                    &task.elem,
                    &file_name,
                    &task.key,
                    &mut self.parts.notices,
                );
                self.parts.set_class_names(names, source_name)?;
            }
            (Role::Meta, DestBuffer::Bytes(bytes)) => {
                let text = if task.elem.kind == ElemKind::Unicode {
                    assemble::decode_strings(
                        &bytes,
                        &task.elem,
                        &file_name,
                        &task.key,
                        &mut self.parts.notices,
                    )
                    .join("")
                } else {
                    let trimmed: &[u8] = match bytes.iter().rposition(|&b| b != 0) {
                        Some(last) => &bytes[..=last],
                        None => &[],
                    };
                    String::from_utf8_lossy(trimmed).into_owned()
                };
                let meta: serde_json::Value =
                    serde_json::from_str(&text).map_err(|error| FormatError::BadMeta {
                        file: file_name.clone(),
                        reason: format!("it is not JSON ({error})"),
                    })?;
                self.parts.set_meta(meta, &file_name)?;
            }
            (Role::Images, DestBuffer::U8(pixels)) => {
                self.parts.images = Some(assemble::image_part(&shape, pixels));
            }
            (Role::ActivationImages(layer), DestBuffer::U8(pixels)) => {
                self.parts
                    .activation_images
                    .insert(layer, assemble::image_part(&shape, pixels));
            }
            (Role::Projection(layer, kind), DestBuffer::F32(values)) => {
                self.parts.projections.insert((layer, kind), values);
            }
            (Role::Predictions, DestBuffer::I64(values)) => {
                self.parts.predictions = Some((values, source_name));
            }
            (Role::Column(name), dest) => {
                let values = match dest {
                    DestBuffer::F32(values) => {
                        ColumnValues::Numbers(values.into_iter().map(f64::from).collect())
                    }
                    DestBuffer::F64(values) => ColumnValues::Numbers(values),
                    DestBuffer::I64(values) => ColumnValues::Integers(values),
                    DestBuffer::U8(values) => {
                        ColumnValues::Integers(values.into_iter().map(i64::from).collect())
                    }
                    DestBuffer::Bytes(bytes) => ColumnValues::Text(assemble::decode_strings(
                        &bytes,
                        &task.elem,
                        &file_name,
                        &task.key,
                        &mut self.parts.notices,
                    )),
                    DestBuffer::F16(_) => {
                        return Err(unsupported_role(
                            &task.elem,
                            &file_name,
                            &task.key,
                            "a per-sample column",
                        ))
                    }
                };
                // NaN is a missing value (as pandas writes one); an infinity is not a value
                // a column can be coloured or averaged by: the column is left out.
                if let ColumnValues::Numbers(numbers) = &values {
                    let n_infinite = numbers.iter().filter(|v| v.is_infinite()).count();
                    let n_missing = numbers.iter().filter(|v| v.is_nan()).count();
                    if n_infinite > 0 {
                        self.parts.notices.push(format!(
                            "column {name} ({file_name}) holds {n_infinite} infinite value(s): it is left out; the rest is loaded"
                        ));
                        return Ok(());
                    }
                    if n_missing > 0 {
                        self.parts.notices.push(format!(
                            "column {name} ({file_name}): {n_missing} of {} values are NaN, read as missing",
                            numbers.len()
                        ));
                    }
                }
                self.parts.columns.push(Column { name, values });
            }
            (role, _) => {
                return Err(unsupported_role(
                    &task.elem,
                    &file_name,
                    &task.key,
                    role.describe(),
                ))
            }
        }
        Ok(())
    }
}

impl<S: ByteSource> Job for LoadJob<S> {
    type Output = Dataset;
    type Error = FormatError;

    fn step(&mut self) -> Result<Step<Dataset>, FormatError> {
        match std::mem::replace(&mut self.phase, Phase::Finished) {
            Phase::Planning { next_file } => {
                self.plan_file(next_file)?;
                let next_file = next_file + 1;
                self.phase = if next_file < self.files.len() {
                    Phase::Planning { next_file }
                } else {
                    Phase::Checking
                };
                Ok(Step::Running(self.progress(format!(
                    "reading headers ({next_file} of {} files)",
                    self.files.len()
                ))))
            }
            Phase::Checking => {
                self.check_plan()?;
                self.phase = Phase::Reading {
                    next_task: 0,
                    active: None,
                };
                Ok(Step::Running(
                    self.progress("checked sizes and shapes".to_string()),
                ))
            }
            Phase::Reading { next_task, active } => {
                let mut read = match active {
                    Some(read) => read,
                    None if next_task < self.tasks.len() => self.start_read(next_task)?,
                    None => {
                        self.phase = Phase::Assembling;
                        return Ok(Step::Running(
                            self.progress("assembling the dataset".to_string()),
                        ));
                    }
                };
                let stage = self
                    .tasks
                    .get(read.task_idx)
                    .map(|task| {
                        let file = self
                            .files
                            .get(task.file_idx)
                            .map(|f| f.file_name.as_str())
                            .unwrap_or("");
                        format!("reading {} from {file}", task.key)
                    })
                    .unwrap_or_default();
                let complete = self.read_chunk(&mut read)?;
                if complete {
                    self.finish_read(*read)?;
                    self.phase = Phase::Reading {
                        next_task: next_task + 1,
                        active: None,
                    };
                } else {
                    self.phase = Phase::Reading {
                        next_task,
                        active: Some(read),
                    };
                }
                Ok(Step::Running(self.progress(stage)))
            }
            Phase::Assembling => {
                let first_file = self
                    .files
                    .first()
                    .map(|f| f.file_name.clone())
                    .unwrap_or_default();
                let parts = std::mem::take(&mut self.parts);
                let dataset = assemble(parts, &first_file, &self.options)?;
                Ok(Step::Done(dataset))
            }
            Phase::Finished => Err(FormatError::JobFinished),
        }
    }
}

/// Runs `background` and `here` at the same time, `here` on the calling thread (it may use
/// what only this thread can reach, such as a browser `File`) and `background` on the thread
/// pool; returns both results. Without the `parallel` feature, one after the other. Either
/// way each closure sees the same data, so the results do not depend on the threads.
fn overlap<A: Send, B>(background: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
    #[cfg(feature = "parallel")]
    {
        let mut background_result = None;
        let here_result = rayon::in_place_scope(|scope| {
            scope.spawn(|_| background_result = Some(background()));
            here()
        });
        match background_result {
            Some(result) => (result, here_result),
            None => unreachable!("a rayon scope ends after its spawned work"),
        }
    }
    #[cfg(not(feature = "parallel"))]
    {
        (background(), here())
    }
}

fn unsupported(task: &ArrayTask, file: &str) -> FormatError {
    unsupported_role(&task.elem, file, &task.key, task.role.describe())
}

fn unsupported_role(elem: &ElemType, file: &str, key: &str, role: &'static str) -> FormatError {
    let hint = match elem.kind {
        ElemKind::Complex => "complex numbers are not activations: store np.abs(a) or a.real as float32",
        ElemKind::Other => "object, record and datetime arrays are not read (they need pickle): convert with a.astype(np.float32) or the right type",
        ElemKind::Unicode | ElemKind::Bytes => "strings are only read as class_names or meta: store numbers here",
        _ => match role {
            "activations" => "store activations as float16, float32 or float64: a.astype(np.float32)",
            "labels" => "store labels as integers: labels.astype(np.int64)",
            "images" | "activation images" => "store images as uint8 (0-255): (img * 255).astype(np.uint8)",
            "a projection" => "store projections as floats: p.astype(np.float32)",
            _ => "store class_names and meta as strings: np.array(names) / np.array(json.dumps(meta))",
        },
    };
    FormatError::UnsupportedDtype {
        file: file.to_string(),
        key: KeyLabel::of(key),
        dtype: elem.descr.clone(),
        role,
        hint,
    }
}

/// Objects (pickles), records and other dtypes without a fixed numeric meaning are
/// refused before any size is computed from them.
fn refuse_unreadable_dtype(
    header: &NpyHeader,
    file: &str,
    key: &str,
    role: &Role,
) -> Result<(), FormatError> {
    if header.elem.kind == ElemKind::Other || header.elem.size == 0 {
        return Err(unsupported_role(&header.elem, file, key, role.describe()));
    }
    Ok(())
}

fn checked_data_bytes(
    header: &NpyHeader,
    file: &str,
    key: Option<&str>,
) -> Result<u64, FormatError> {
    npy::data_bytes(&header.shape, &header.elem).ok_or_else(|| FormatError::SizeOverflow {
        file: file.to_string(),
        key: KeyLabel(key.map(str::to_string)),
    })
}

fn size_mismatch(
    header: &NpyHeader,
    file: &str,
    key: Option<&str>,
    declared: u64,
    actual: u64,
) -> FormatError {
    FormatError::SizeMismatch {
        file: file.to_string(),
        key: KeyLabel(key.map(str::to_string)),
        shape: header.shape.clone(),
        dtype: header.elem.descr.clone(),
        declared_bytes: declared,
        actual_bytes: actual,
    }
}

/// Whether an array of an unknown key can be a per-sample column: 1-D (or N x 1) numbers,
/// booleans or strings. Anything else stays ignored (with the ignored-keys notice).
fn is_column_like(header: &NpyHeader) -> bool {
    let shape = &header.shape;
    let one_d = shape.len() == 1 || (shape.len() == 2 && shape[1] == 1);
    let readable = matches!(
        (header.elem.kind, header.elem.size),
        (ElemKind::Float, 2 | 4 | 8)
            | (ElemKind::BFloat, 2)
            | (ElemKind::Int | ElemKind::UInt, 1 | 2 | 4 | 8)
            | (ElemKind::Bool, 1)
    ) || (matches!(header.elem.kind, ElemKind::Unicode | ElemKind::Bytes)
        && header.elem.size > 0);
    one_d && readable
}

/// The role of a `.npy` whose stem is not a known key.
fn fallback_role(stem: &str, header: &NpyHeader) -> Role {
    match (header.shape.len(), header.elem.kind) {
        (1, ElemKind::Int | ElemKind::UInt) => Role::Labels,
        (1, ElemKind::Unicode | ElemKind::Bytes) => Role::ClassNames,
        _ => Role::Layer(stem.to_string()),
    }
}

/// Checks the dtype and shape for the role and picks the in-memory type.
fn make_task(
    file_idx: usize,
    key: String,
    role: Role,
    header: NpyHeader,
    location: Location,
    data_bytes: u64,
    file: &str,
) -> Result<ArrayTask, FormatError> {
    let elem = &header.elem;
    let shape = &header.shape;
    let bad_shape = |expected: &'static str| FormatError::BadShape {
        file: file.to_string(),
        key: KeyLabel::of(&key),
        shape: shape.clone(),
        role: role.describe(),
        expected,
    };
    let refuse = || unsupported_role(elem, file, &key, role.describe());
    let dest = match &role {
        Role::Layer(_) => {
            let dest = match (elem.kind, elem.size) {
                (ElemKind::Float, 2) => DestKind::F16,
                (ElemKind::Float, 4) | (ElemKind::BFloat, 2) => DestKind::F32,
                (ElemKind::Float, 8) => DestKind::F64,
                _ => return Err(refuse()),
            };
            if shape.len() != 2 {
                return Err(bad_shape(
                    "a 2-D array, samples x features (flatten or pool the other axes)",
                ));
            }
            if shape[0] == 0 {
                return Err(FormatError::ZeroRows {
                    file: file.to_string(),
                    key: KeyLabel::of(&key),
                });
            }
            if shape[1] == 0 {
                return Err(FormatError::ZeroColumns {
                    file: file.to_string(),
                    key: KeyLabel::of(&key),
                });
            }
            dest
        }
        Role::Labels => {
            if !matches!(elem.kind, ElemKind::Int | ElemKind::UInt) {
                return Err(refuse());
            }
            let column_vector = shape.len() == 2 && shape[1] == 1;
            if shape.len() != 1 && !column_vector {
                return Err(bad_shape("a 1-D array with one class index per sample"));
            }
            DestKind::I64
        }
        Role::ClassNames => {
            if !matches!(elem.kind, ElemKind::Unicode | ElemKind::Bytes) {
                return Err(refuse());
            }
            if shape.len() != 1 {
                return Err(bad_shape("a 1-D array of strings"));
            }
            DestKind::Bytes
        }
        Role::Meta => {
            let single_string = matches!(elem.kind, ElemKind::Unicode | ElemKind::Bytes)
                && npy::element_count(shape) == Some(1)
                && shape.len() <= 1;
            let byte_array = elem.kind == ElemKind::UInt && elem.size == 1 && shape.len() == 1;
            if !single_string && !byte_array {
                return Err(FormatError::BadMeta {
                    file: file.to_string(),
                    reason: format!("it is {} of shape {:?}, not one string", elem.descr, shape),
                });
            }
            DestKind::Bytes
        }
        Role::Images | Role::ActivationImages(_) => {
            if !(elem.kind == ElemKind::UInt && elem.size == 1) {
                return Err(refuse());
            }
            let valid = shape.len() == 3 || (shape.len() == 4 && matches!(shape[3], 1 | 3));
            if !valid {
                return Err(bad_shape("N x H x W (grey) or N x H x W x 3 (RGB)"));
            }
            DestKind::U8
        }
        Role::Predictions => {
            if !matches!(elem.kind, ElemKind::Int | ElemKind::UInt) {
                return Err(refuse());
            }
            let column_vector = shape.len() == 2 && shape[1] == 1;
            if shape.len() != 1 && !column_vector {
                return Err(bad_shape(
                    "a 1-D array with one predicted class index per sample",
                ));
            }
            DestKind::I64
        }
        Role::Column(_) => match (elem.kind, elem.size) {
            (ElemKind::Float, 8) => DestKind::F64,
            (ElemKind::Float, 2 | 4) | (ElemKind::BFloat, 2) => DestKind::F32,
            (ElemKind::Int | ElemKind::UInt, _) => DestKind::I64,
            (ElemKind::Bool, 1) => DestKind::U8,
            (ElemKind::Unicode | ElemKind::Bytes, _) => DestKind::Bytes,
            _ => return Err(refuse()),
        },
        Role::Projection(..) => {
            if !matches!(
                (elem.kind, elem.size),
                (ElemKind::Float, 2 | 4 | 8) | (ElemKind::BFloat, 2)
            ) {
                return Err(refuse());
            }
            if shape.len() != 2 || shape[1] != 2 {
                return Err(bad_shape("N x 2 coordinates"));
            }
            DestKind::F32
        }
    };
    Ok(ArrayTask {
        file_idx,
        key,
        role,
        elem: header.elem,
        shape: header.shape,
        fortran_order: header.fortran_order,
        location,
        data_bytes,
        dest,
    })
}

/// Reads a `.npy` header at the start of a plain file of `len` bytes.
fn read_npy_header<S: ByteSource>(
    source: &mut S,
    file: &str,
    _key: Option<&str>,
    len: u64,
    key_label: &KeyLabel,
) -> Result<NpyHeader, FormatError> {
    let mut prefix = vec![0u8; len.min(12) as usize];
    read_exact_at(source, file, 0, &mut prefix, "the .npy header")?;
    let (_, text_len, preamble_len) = npy::parse_preamble(&prefix, file, key_label)?;
    check_text_len(text_len, preamble_len, len, file, key_label)?;
    let mut text = vec![0u8; text_len];
    read_exact_at(
        source,
        file,
        preamble_len as u64,
        &mut text,
        "the .npy header",
    )?;
    npy::parse_header_text(&text, preamble_len, file, key_label)
}

fn check_text_len(
    text_len: usize,
    preamble_len: usize,
    len: u64,
    file: &str,
    key: &KeyLabel,
) -> Result<(), FormatError> {
    if text_len > npy::MAX_HEADER_TEXT_BYTES {
        return Err(FormatError::BadNpyHeader {
            file: file.to_string(),
            key: key.clone(),
            reason: format!("the header claims to be {text_len} bytes long"),
        });
    }
    let needed = (preamble_len + text_len) as u64;
    if needed > len {
        return Err(FormatError::Truncated {
            file: file.to_string(),
            what: format!("the .npy header{key}"),
            needed,
            available: len,
        });
    }
    Ok(())
}

/// Reads a `.npy` header from the start of a zip entry's stream of `len` bytes.
fn read_npy_header_from_stream<S: ByteSource>(
    source: &mut S,
    stream: &mut RawStream,
    file: &str,
    key: &KeyLabel,
    len: u64,
) -> Result<NpyHeader, FormatError> {
    let mut prefix = vec![0u8; len.min(10) as usize];
    stream.fill(source, &mut prefix)?;
    if prefix.get(6) != Some(&1) && len >= 12 {
        let mut more = [0u8; 2];
        stream.fill(source, &mut more)?;
        prefix.extend_from_slice(&more);
    }
    let (_, text_len, preamble_len) = npy::parse_preamble(&prefix, file, key)?;
    check_text_len(text_len, preamble_len, len, file, key)?;
    let mut text = vec![0u8; text_len];
    stream.fill(source, &mut text)?;
    npy::parse_header_text(&text, preamble_len, file, key)
}
