//! The worker protocol: the only crossing between the UI thread and the compute worker.
//!
//! Messages are plain serde enums converted with `serde-wasm-bindgen` (structured clone).
//! A dropped `File` cannot be serialised, so [`ToWorker::LoadFiles`] travels with the
//! `File` objects attached under the JS property [`FILES_PROPERTY`] of the same message.
//!
//! Every request carries a `request_id` chosen by the UI; every answer names the request it
//! answers. A new long request supersedes (cancels) the one running. A failure is a
//! [`WorkerError`] (typed, with its kind and message), never a bare string.

pub use crate::vocabulary::{
    DatasetRef, GraphRequest, ProjectionKind, ProjectionMethod, ProjectionRequest, SubsampleChoice,
    DEFAULT_MAX_SAMPLES,
};
use serde::{Deserialize, Serialize};
use topoact_core::columns::{NodeColumnStat, NodeMistakes};
use topoact_core::compare::LayerNorms;
use topoact_core::dataset::DatasetSummary;
use topoact_core::diagnostics::{LensDiagnostics, NormDiagnostics};
use topoact_core::embed::EmbedError;
use topoact_core::formats::FormatError;
use topoact_core::job::Progress;
use topoact_core::layout::{LayoutError, LayoutQuality};
use topoact_core::mapper::{ClassShare, GraphStats, MapperEdge, MapperError, MapperParams};
use topoact_core::pipeline::UnknownLayer;

/// JS property of a `LoadFiles` message that holds the array of `File`s.
pub const FILES_PROPERTY: &str = "files";

/// Identifies one request from the UI.
pub type RequestId = u64;

/// UI -> worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToWorker {
    /// Parse the `File`s attached to this message into the new dataset.
    LoadFiles {
        request_id: RequestId,
        drop_nonfinite: bool,
    },
    /// Fetch an activation file over HTTP(S) (the demo, or `?data=`) and parse it.
    LoadUrl {
        request_id: RequestId,
        url: String,
        drop_nonfinite: bool,
    },
    /// Stop the named request if it is still running.
    Cancel { request_id: RequestId },
    /// Compute the mapper graph of a layer and lay it out. `previous_positions` (node name ->
    /// position) warm-starts the layout so nodes that persist keep their place.
    ComputeGraph {
        request_id: RequestId,
        request: GraphRequest,
        previous_positions: Vec<(String, [f64; 2])>,
    },
    /// Generate the synthetic activation-like dataset of the benchmarks (`peers.md`) in the
    /// worker: the same data `topoact synth` writes, so browser and native runs compare.
    /// `n_layers` layers (named `synthetic`, `synthetic-2`, ...) are drawn with seeds
    /// `seed`, `seed + 1`, ... (the multilayer benchmark); the labels are the first layer's.
    LoadSynthetic {
        request_id: RequestId,
        n_samples: usize,
        dim: usize,
        seed: u64,
        #[serde(default = "one_layer")]
        n_layers: usize,
    },
    /// The averaged image of every node of a graph (glyph mode; a short request).
    NodeGlyphs {
        request_id: RequestId,
        layer: String,
        graph_version: u64,
        members_of_nodes: Vec<Vec<u32>>,
    },
    /// Example images of a node's members (a short request: it supersedes nothing).
    NodeExamples {
        request_id: RequestId,
        query: ExamplesQuery,
    },
    /// Lay out the seeded mapper-like graph of the layout benchmarks
    /// (`layout::synthetic::mapper_like_graph`) and answer with it as a [`FromWorker::Graph`]
    /// (no samples behind it): the in-browser layout and rendering benchmarks use it.
    SyntheticGraph {
        request_id: RequestId,
        n_nodes: usize,
        seed: u64,
    },
    /// Project a layer's samples to 2-D (t-SNE, UMAP, or the file's own coordinates). Runs
    /// beside a graph computation (it supersedes only an older projection) and streams
    /// [`FromWorker::ProjectionFrame`]s before the final [`FromWorker::Projection`].
    ComputeProjection {
        request_id: RequestId,
        request: ProjectionRequest,
    },
    /// The input thumbnail of one sample (hover on the projection; a short request).
    SampleThumbnail {
        request_id: RequestId,
        sample_idx: u32,
    },
    /// The `k` exact nearest neighbours of one sample in a layer's full-dimensional space
    /// (itself excluded); answered by [`FromWorker::Neighbours`].
    Neighbours {
        request_id: RequestId,
        layer: String,
        sample_idx: u32,
        k: usize,
    },
    /// One value per dataset sample for colouring the projection's points; answered by
    /// [`FromWorker::SampleValues`].
    SampleValues {
        request_id: RequestId,
        of: SampleValuesOf,
    },
    /// A CSV of samples (a projection selection): their index, label, class and
    /// coordinates, and the file's predictions and columns; answered by
    /// [`FromWorker::TextFile`].
    ExportSamples {
        request_id: RequestId,
        file_name: String,
        /// Dataset sample indices, in the order of the rows.
        samples: Vec<u32>,
        /// The projection coordinates of each sample, in the same order.
        coords: Vec<[f32; 2]>,
    },
    /// Measure a drawing of that synthetic graph (ours or d3-force's) with the core's quality
    /// measures; answered by [`FromWorker::LayoutMeasured`].
    MeasureLayout {
        request_id: RequestId,
        n_nodes: usize,
        seed: u64,
        positions: Vec<[f64; 2]>,
    },
    /// The graph computed for `request` as a file (KeplerMapper's dict or NetworkX node-link
    /// JSON with the per-node statistics); answered by [`FromWorker::GraphFile`].
    ExportGraph {
        request_id: RequestId,
        request: GraphRequest,
        format: GraphFileFormat,
    },
    /// Compute the mapper graph (no layout) of every layer with the same samples and
    /// parameters, and every layer's L2 norms; answered by [`FromWorker::LayerComparison`].
    CompareLayers {
        request_id: RequestId,
        subsample: SubsampleChoice,
        params: MapperParams,
    },
}

fn one_layer() -> usize {
    1
}

/// Which node's examples to fetch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExamplesQuery {
    pub layer: String,
    pub node_name: String,
    /// The node's members (ascending sample indices).
    pub members: Vec<u32>,
    /// The node's top classes, in order.
    pub top_classes: Vec<u32>,
    pub per_class: usize,
}

/// One example sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub sample_idx: u32,
    pub class_name: String,
    /// Input thumbnail as a `data:` URL.
    pub thumbnail: Option<String>,
    /// The layer's activation image, when the file carries them.
    pub activation_image: Option<String>,
}

/// Examples for each top class, and the node's averaged images.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeExamples {
    pub node_name: String,
    pub groups: Vec<(String, Vec<Example>)>,
    /// Mean of the members' activation images for this layer (if the file has them).
    pub mean_activation_image: Option<String>,
    /// Mean of the members' input thumbnails.
    pub mean_thumbnail: Option<String>,
}

impl ToWorker {
    pub fn request_id(&self) -> RequestId {
        match self {
            ToWorker::LoadFiles { request_id, .. }
            | ToWorker::LoadUrl { request_id, .. }
            | ToWorker::Cancel { request_id }
            | ToWorker::ComputeGraph { request_id, .. }
            | ToWorker::NodeExamples { request_id, .. }
            | ToWorker::LoadSynthetic { request_id, .. }
            | ToWorker::SyntheticGraph { request_id, .. }
            | ToWorker::ComputeProjection { request_id, .. }
            | ToWorker::SampleThumbnail { request_id, .. }
            | ToWorker::Neighbours { request_id, .. }
            | ToWorker::SampleValues { request_id, .. }
            | ToWorker::ExportSamples { request_id, .. }
            | ToWorker::MeasureLayout { request_id, .. }
            | ToWorker::CompareLayers { request_id, .. }
            | ToWorker::ExportGraph { request_id, .. }
            | ToWorker::NodeGlyphs { request_id, .. } => *request_id,
        }
    }
}

/// What kind of failure, so the UI can offer the right next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailureKind {
    /// The input is not a usable activation file (the message says why and how to fix it).
    BadInput,
    /// The activations contain NaN or infinity; loading again with `drop_nonfinite` works.
    NonFinite,
    /// Fetching a URL failed (network, CORS, HTTP status).
    Network,
    /// Anything else (a bug): the message is shown as is.
    Internal,
    /// A link names a dropped file: the person is asked to drop it.
    NeedsFile,
    /// A share link could not be (fully) restored; stays until dismissed.
    LinkProblem,
    /// Not a failure: something happened the person should know of (and how to undo it).
    Notice,
}

/// Why the worker could not answer a request: what [`FromWorker::Failed`] carries. Each
/// variant is one failure; [`WorkerError::kind`] says which next step the UI offers and
/// `Display` is the message shown to the person (what is wrong and how to fix it). Errors of
/// the core keep their own message (its typed error's `Display`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum WorkerError {
    #[error("No dataset is loaded: drop an activation file first.")]
    NoDataset,
    #[error("The dataset has no layer '{layer}'; its layers are: {}.", known.join(", "))]
    UnknownLayer { layer: String, known: Vec<String> },
    /// The files are not a dataset this app reads (the core's `FormatError`).
    #[error("{message}")]
    BadFile { message: String },
    /// Some activations are NaN or infinite; loading again with `drop_nonfinite` works.
    #[error("{message}")]
    NonFinite { message: String },
    /// The mapper's parameters or data were refused (the core's `MapperError`).
    #[error("{message}")]
    Mapper { message: String },
    /// The graph could not be laid out (the core's `LayoutError`).
    #[error("{message}")]
    Layout { message: String },
    /// The projection's parameters or data were refused (the core's `EmbedError`).
    #[error("The projection could not be computed: {message}")]
    Projection { message: String },
    #[error("The file has no precomputed {method} coordinates for layer '{layer}'; compute them here instead.")]
    NoPrecomputed { method: String, layer: String },
    #[error("{file_name} is {size_bytes} bytes; graph files up to {max_bytes} bytes are read.")]
    GraphFileTooLarge {
        file_name: String,
        size_bytes: u64,
        max_bytes: u64,
    },
    #[error("{file_name} is not a graph this app can open: {message}")]
    NotAGraph { file_name: String, message: String },
    /// The graph's members are samples of the loaded data, but its labels cannot name their
    /// classes.
    #[error("{file_name} does not fit the loaded data's labels: {message}.")]
    GraphDoesNotFit { file_name: String, message: String },
    #[error("The dataset has no sample {sample_idx}.")]
    NoSuchSample { sample_idx: u32 },
    #[error("The loaded data has no column named \"{name}\".")]
    NoSuchColumn { name: String },
    #[error("The loaded data has no labels and predictions to compare.")]
    NoPredictions,
    #[error("The imported graph is no longer in memory: import the file again to export it.")]
    ImportedGraphGone,
    #[error("The synthetic graph takes 1 to {max_nodes} nodes, not {n_nodes}.")]
    SyntheticGraphSize { n_nodes: usize, max_nodes: usize },
    #[error("Synthetic data of {n_samples} samples x {dim} dimensions x {n_layers} layers does not fit: it takes 1 to {max_values} values in all.")]
    SyntheticDataSize {
        n_samples: usize,
        dim: usize,
        n_layers: usize,
        max_values: u64,
    },
    /// The request never reached the server, or its answer never arrived.
    #[error("Could not fetch {url}: {reason}. If the file is on another site, that site must allow cross-origin requests (CORS); otherwise download it and drop it on the page.")]
    FetchFailed { url: String, reason: String },
    #[error("Could not fetch {url}: the server answered HTTP {status} {status_text}.")]
    HttpStatus {
        url: String,
        status: u16,
        status_text: String,
    },
    #[error("Could not fetch {url}: the response has no body.")]
    NoBody { url: String },
    /// A request of the benchmark page sent to a worker built without the `bench` feature.
    #[error("{request} is answered only by the benchmark build of the worker (TOPOACT_BENCH=1 tools/build.sh).")]
    BenchOnly { request: String },
    /// Anything else (a bug): the message is shown as is.
    #[error("{message}")]
    Internal { message: String },
}

impl WorkerError {
    /// What kind of failure, so the UI can offer the right next step.
    pub fn kind(&self) -> FailureKind {
        match self {
            WorkerError::NonFinite { .. } => FailureKind::NonFinite,
            WorkerError::FetchFailed { .. }
            | WorkerError::HttpStatus { .. }
            | WorkerError::NoBody { .. } => FailureKind::Network,
            WorkerError::BenchOnly { .. } | WorkerError::Internal { .. } => FailureKind::Internal,
            WorkerError::NoDataset
            | WorkerError::UnknownLayer { .. }
            | WorkerError::BadFile { .. }
            | WorkerError::Mapper { .. }
            | WorkerError::Layout { .. }
            | WorkerError::Projection { .. }
            | WorkerError::NoPrecomputed { .. }
            | WorkerError::GraphFileTooLarge { .. }
            | WorkerError::NotAGraph { .. }
            | WorkerError::GraphDoesNotFit { .. }
            | WorkerError::ImportedGraphGone
            | WorkerError::NoSuchSample { .. }
            | WorkerError::NoSuchColumn { .. }
            | WorkerError::NoPredictions
            | WorkerError::SyntheticGraphSize { .. }
            | WorkerError::SyntheticDataSize { .. } => FailureKind::BadInput,
        }
    }
}

impl From<FormatError> for WorkerError {
    fn from(err: FormatError) -> Self {
        let message = err.to_string();
        match err {
            FormatError::NonFiniteActivations { .. } => WorkerError::NonFinite { message },
            _ => WorkerError::BadFile { message },
        }
    }
}

impl From<UnknownLayer> for WorkerError {
    fn from(err: UnknownLayer) -> Self {
        WorkerError::UnknownLayer {
            layer: err.name,
            known: err.known,
        }
    }
}

impl From<MapperError> for WorkerError {
    fn from(err: MapperError) -> Self {
        WorkerError::Mapper {
            message: err.to_string(),
        }
    }
}

impl From<LayoutError> for WorkerError {
    fn from(err: LayoutError) -> Self {
        WorkerError::Layout {
            message: err.to_string(),
        }
    }
}

impl From<EmbedError> for WorkerError {
    fn from(err: EmbedError) -> Self {
        WorkerError::Projection {
            message: err.to_string(),
        }
    }
}

/// Worker -> UI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FromWorker {
    /// The worker's WebAssembly is initialised and it accepts requests; its jobs run on
    /// `compute_threads` threads (1 without wasm threads).
    Ready { compute_threads: usize },
    /// A long request advanced.
    Progress {
        request_id: RequestId,
        progress: Progress,
    },
    /// A dataset was loaded and replaced the previous one.
    /// `source` says which data it was, for share links (a dropped file by name, size and
    /// content hash).
    Loaded {
        request_id: RequestId,
        summary: DatasetSummary,
        elapsed_ms: f64,
        bytes_read: u64,
        source: DatasetRef,
    },
    /// The request failed; the previous dataset is still loaded.
    Failed {
        request_id: RequestId,
        error: WorkerError,
    },
    /// The worker's WebAssembly could not start (posted by `worker-loader.js`, not by Rust):
    /// no request can be answered. `reason` is the loader's error as text.
    CouldNotStart { reason: String },
    /// The request was cancelled (by Cancel or by a newer request); nothing changed.
    Cancelled { request_id: RequestId },
    /// A mapper graph, laid out, ready to draw. When its layer's norms were not summarised
    /// yet (`diagnostics.norms` is `None`), the worker summarises them after sending the
    /// graph and ends the request with [`FromWorker::LayerNorms`].
    Graph {
        request_id: RequestId,
        graph: DrawnGraph,
    },
    /// The norm diagnostics of `layer` over `subsample`, sent after a graph of it whose
    /// `diagnostics.norms` was `None` (they take ~0.7 s at 300K x 1024 in the tab, so the
    /// graph is drawn first).
    LayerNorms {
        request_id: RequestId,
        layer: String,
        subsample: SubsampleChoice,
        norms: NormDiagnostics,
    },
    /// A graph file the person gave, laid out. `over_data`: its members fit the loaded data,
    /// it opens over it (its classes derived from the data's labels). Otherwise it opens on
    /// its own and the worker closed the data it held; `source` names the graph file (a
    /// link to it asks for that file again).
    Imported {
        request_id: RequestId,
        graph: DrawnGraph,
        source: DatasetRef,
        over_data: bool,
    },
    /// Answer to [`ToWorker::NodeGlyphs`]: one `data:` URL per node (activation images when the
    /// file has them for the layer, else input thumbnails), `None` without images.
    Glyphs {
        request_id: RequestId,
        graph_version: u64,
        images: Vec<Option<String>>,
        from_activation_images: bool,
    },
    /// Answer to [`ToWorker::NodeExamples`].
    Examples {
        request_id: RequestId,
        examples: NodeExamples,
    },
    /// Intermediate coordinates of a running projection (every few hundred milliseconds).
    ProjectionFrame {
        request_id: RequestId,
        projection: DrawnProjection,
    },
    /// The finished projection.
    Projection {
        request_id: RequestId,
        projection: DrawnProjection,
    },
    /// Answer to [`ToWorker::SampleThumbnail`] (`None` when the file has no thumbnails).
    Thumbnail {
        sample_idx: u32,
        url: Option<String>,
    },
    /// Answer to [`ToWorker::Neighbours`]: nearest first, each with its label.
    Neighbours {
        request_id: RequestId,
        layer: String,
        sample_idx: u32,
        neighbours: Vec<SampleNeighbour>,
    },
    /// Answer to [`ToWorker::SampleValues`].
    SampleValues {
        request_id: RequestId,
        values: SampleValues,
    },
    /// Answer to [`ToWorker::ExportSamples`]: a file to download.
    TextFile {
        request_id: RequestId,
        file_name: String,
        mime: String,
        text: String,
    },
    /// Answer to [`ToWorker::MeasureLayout`].
    LayoutMeasured {
        request_id: RequestId,
        quality: LayoutQuality,
    },
    /// Answer to [`ToWorker::ExportGraph`].
    GraphFile {
        request_id: RequestId,
        file_name: String,
        text: String,
    },
    /// Answer to [`ToWorker::CompareLayers`].
    LayerComparison {
        request_id: RequestId,
        comparison: LayerComparison,
    },
}

/// How messages cross the worker boundary (both ways): JSON-compatible (maps as objects,
/// `None` as `null`, no BigInts), except that byte fields (coordinates, point values) cross
/// as one `Uint8Array` each, not as one boxed JavaScript number per byte.
pub fn boundary_serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::json_compatible().serialize_bytes_as_arrays(false)
}

/// Which per-sample values colour the projection's points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum SampleValuesOf {
    /// A column of the file, by name.
    Column(String),
    /// Whether the network classifies each sample right (labels against predictions).
    Correctness,
}

/// One value per dataset sample (indexed by `sample_idx`), for colouring points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleValues {
    pub of: SampleValuesOf,
    /// The categories, in order, when the values are category indices (categorical columns;
    /// `["right", "wrong"]` for correctness); empty when they are numbers.
    pub categories: Vec<String>,
    /// Smallest and largest finite value (numbers).
    pub range: Option<(f64, f64)>,
    /// One little-endian f32 per sample (NaN: no value): the number, or the category index.
    #[serde(with = "serde_bytes")]
    pub values_le: Vec<u8>,
}

impl SampleValues {
    /// The value of every sample.
    pub fn values(&self) -> Vec<f32> {
        self.values_le
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }
}

/// Graph file formats for export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphFileFormat {
    /// KeplerMapper's `map()` dict: `nodes`, `links`, `simplices`, `meta_data`.
    Kmapper,
    /// NetworkX node-link JSON, as TopoAct's data files, with the per-node statistics.
    NodeLink,
}

/// The layer name an imported graph is shown under: `imported: <file name>`.
pub const IMPORTED_LAYER_PREFIX: &str = "imported: ";

/// The structure of every layer's graph for one set of parameters, and the layers' norms
/// (the paper's Section 2 as numbers, and its Figure 8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerComparison {
    pub subsample: SubsampleChoice,
    pub params: MapperParams,
    /// One entry per layer, in the file's order.
    pub layers: Vec<LayerStructure>,
    /// The layers' L2-norm distributions on one shared axis, in the same order.
    pub norms: Vec<LayerNorms>,
    pub elapsed_ms: f64,
}

/// One layer's graph statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerStructure {
    pub layer: String,
    pub dim: usize,
    pub stats: GraphStats,
    pub n_samples_used: usize,
    pub mapper_ms: f64,
}

/// The lens and cover of a graph, and the norms of its layer (the diagnostics panel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    pub lens: LensDiagnostics,
    /// `None` until the layer's norms are summarised ([`FromWorker::LayerNorms`] follows).
    pub norms: Option<NormDiagnostics>,
}

/// One node as the UI draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrawnNode {
    /// KeplerMapper-style name, `cube{i}_cluster{j}`.
    pub name: String,
    pub size: usize,
    pub lens_mean: f64,
    pub top_classes: Vec<ClassShare>,
    /// Member sample indices (ascending, in the dataset's indexing).
    #[serde(with = "le_bytes::u32s")]
    pub members: Vec<u32>,
    pub position: [f64; 2],
    pub radius: f64,
    /// Each of the dataset's columns over the node's members, in the dataset's column order.
    #[serde(default)]
    pub columns: Vec<NodeColumnStat>,
    /// The node's mistakes, when the file holds labels and predictions.
    #[serde(default)]
    pub mistakes: Option<NodeMistakes>,
}

/// One nearest neighbour of a sample, as the UI lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleNeighbour {
    pub sample_idx: u32,
    pub distance: f64,
    /// Class index, when the file has labels.
    pub label: Option<u32>,
    /// Its input thumbnail as a `data:` URL, when the file has thumbnails.
    #[serde(default)]
    pub thumbnail: Option<String>,
}

/// A laid-out mapper graph: what the worker sends for drawing (no activation vectors).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrawnGraph {
    pub request: GraphRequest,
    /// `None` for the synthetic benchmark graph (no samples behind it).
    pub diagnostics: Option<Diagnostics>,
    pub nodes: Vec<DrawnNode>,
    pub edges: Vec<MapperEdge>,
    pub stats: GraphStats,
    /// The epsilon used when one radius served every interval.
    pub eps_global: Option<f64>,
    pub n_samples_used: usize,
    /// Smallest and largest node mean lens (for the colour scale).
    pub lens_range: [f64; 2],
    /// The graph's lens value of every dataset sample (indexed by `sample_idx`; NaN for a
    /// sample outside the graph's subsample). Empty when unknown (imported graphs). The
    /// projection colours its points by it.
    #[serde(with = "le_bytes::f32s")]
    pub lens_by_sample: Vec<f32>,
    pub class_names: Vec<String>,
    pub mapper_ms: f64,
    pub layout_ms: f64,
}

/// A projection as the UI draws it: one point per sample in use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrawnProjection {
    pub request: ProjectionRequest,
    /// Dataset sample index of every point.
    #[serde(with = "le_bytes::u32s")]
    pub sample_indices: Vec<u32>,
    /// Class of every point (`u32::MAX`: unlabelled).
    #[serde(with = "le_bytes::u32s")]
    pub labels: Vec<u32>,
    /// Interleaved x, y of every point as little-endian f32 bytes (a typed array at the
    /// JavaScript boundary, not 600,000 boxed numbers).
    #[serde(with = "serde_bytes")]
    pub coords_le: Vec<u8>,
    /// L2 norm of every point's vector (the default lens), for colouring.
    #[serde(with = "le_bytes::f32s")]
    pub norms: Vec<f32>,
    /// Whether the coordinates are final (else an intermediate frame).
    pub complete: bool,
    /// Stage of the computation the frame comes from ("t-SNE iteration 200/750").
    pub stage: String,
    pub knn_ms: f64,
    pub elapsed_ms: f64,
    /// Whether the neighbour graph was exact (else approximate; see the recall note).
    pub knn_exact: bool,
}

impl DrawnProjection {
    pub fn n_points(&self) -> usize {
        self.sample_indices.len()
    }

    /// Coordinates of every point.
    pub fn coords(&self) -> Vec<[f32; 2]> {
        self.coords_le
            .chunks_exact(8)
            .map(|c| {
                [
                    f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    f32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                ]
            })
            .collect()
    }
}

/// Interleaved f32 coordinates as little-endian bytes.
pub fn coords_to_le_bytes(coords: &[f32]) -> Vec<u8> {
    coords.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Per-point and per-sample arrays as little-endian bytes at the worker boundary (one
/// `Uint8Array`, see [`boundary_serializer`]), plain `Vec`s on either side.
mod le_bytes {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    fn read<'de, D: Deserializer<'de>, T, const N: usize>(
        deserializer: D,
        from: fn([u8; N]) -> T,
    ) -> Result<Vec<T>, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?;
        if bytes.len() % N != 0 {
            return Err(D::Error::custom(format!(
                "{} bytes are not a whole number of {N}-byte values",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(N)
            .map(|chunk| from(chunk.try_into().unwrap_or([0; N])))
            .collect())
    }

    pub mod u32s {
        use super::*;

        pub fn serialize<S: Serializer>(values: &[u32], serializer: S) -> Result<S::Ok, S::Error> {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            serializer.serialize_bytes(&bytes)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<u32>, D::Error> {
            read(deserializer, u32::from_le_bytes)
        }
    }

    pub mod f32s {
        use super::*;

        pub fn serialize<S: Serializer>(values: &[f32], serializer: S) -> Result<S::Ok, S::Error> {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            serializer.serialize_bytes(&bytes)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<f32>, D::Error> {
            read(deserializer, f32::from_le_bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error's kind and the message the person reads.
    #[test]
    fn worker_errors_say_their_kind_and_their_message() {
        let check = |error: WorkerError, kind: FailureKind, message: &str| {
            assert_eq!(error.kind(), kind, "{error:?}");
            assert_eq!(error.to_string(), message, "{error:?}");
        };
        check(
            WorkerError::NoDataset,
            FailureKind::BadInput,
            "No dataset is loaded: drop an activation file first.",
        );
        check(
            UnknownLayer {
                name: "fc9".into(),
                known: vec!["conv1".into(), "fc2".into()],
            }
            .into(),
            FailureKind::BadInput,
            "The dataset has no layer 'fc9'; its layers are: conv1, fc2.",
        );
        check(
            FormatError::NothingLeftAfterDrop.into(),
            FailureKind::BadInput,
            &FormatError::NothingLeftAfterDrop.to_string(),
        );
        let non_finite = FormatError::NonFiniteActivations { layers: Vec::new() };
        check(
            non_finite.clone().into(),
            FailureKind::NonFinite,
            &non_finite.to_string(),
        );
        check(
            MapperError::ZeroIntervals.into(),
            FailureKind::BadInput,
            "the number of intervals must be at least 1",
        );
        check(
            EmbedError::EmptyInput.into(),
            FailureKind::BadInput,
            "The projection could not be computed: there are no samples to project",
        );
        check(
            WorkerError::HttpStatus {
                url: "https://example.org/a.npz".into(),
                status: 404,
                status_text: "Not Found".into(),
            },
            FailureKind::Network,
            "Could not fetch https://example.org/a.npz: the server answered HTTP 404 Not Found.",
        );
        check(
            WorkerError::BenchOnly {
                request: "MeasureLayout".into(),
            },
            FailureKind::Internal,
            "MeasureLayout is answered only by the benchmark build of the worker (TOPOACT_BENCH=1 tools/build.sh).",
        );
    }

    /// A failure crosses the boundary as data (its variant and fields), not as a sentence.
    #[test]
    fn a_failure_crosses_as_a_typed_error() {
        let failed = FromWorker::Failed {
            request_id: 7,
            error: WorkerError::GraphFileTooLarge {
                file_name: "g.json".into(),
                size_bytes: 300,
                max_bytes: 200,
            },
        };
        let json = serde_json::to_value(&failed).expect("serialisable");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "Failed",
                "request_id": 7,
                "error": {"error": "graph_file_too_large", "file_name": "g.json", "size_bytes": 300, "max_bytes": 200},
            })
        );
        assert_eq!(
            serde_json::from_value::<FromWorker>(json).expect("readable"),
            failed
        );
        let unit = serde_json::to_value(WorkerError::NoDataset).expect("serialisable");
        assert_eq!(unit, serde_json::json!({"error": "no_dataset"}));
    }

    /// `worker-loader.js` posts this message by hand when the wasm cannot start.
    #[test]
    fn the_loaders_start_failure_is_a_protocol_message() {
        let posted =
            serde_json::json!({"type": "CouldNotStart", "reason": "TypeError: failed to fetch"});
        assert_eq!(
            serde_json::from_value::<FromWorker>(posted).expect("readable"),
            FromWorker::CouldNotStart {
                reason: "TypeError: failed to fetch".into()
            }
        );
    }
}
