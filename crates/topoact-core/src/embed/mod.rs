//! Projections to 2-D: a shared k-nearest-neighbour graph, t-SNE, UMAP, and the quality
//! measure used to compare them with openTSNE and umap-learn.
//!
//! Data flow (each step a [`crate::job::Job`] so the worker can report progress, stream
//! intermediate coordinates and cancel):
//! `EmbedRows::gather` (rows in use, f32) -> `knn::KnnJob` -> `KnnGraph` (cached per layer and
//! subsample, shared by t-SNE, UMAP and the mapper's epsilon) -> `tsne::TsneJob` /
//! `umap::UmapJob` -> [`Embedding`].
//!
//! Invariants: same rows, parameters and seed give bit-identical output on a given platform
//! (no clocks, no hash-map iteration order, serial and rayon paths agree); no panics on user
//! data (errors are [`EmbedError`]).

pub mod preview;
pub mod quality;
mod rows;
pub mod synth;
pub mod tsne;
pub mod umap;

pub use rows::EmbedRows;

/// The k-NN graph lives in [`crate::neighbours::knn_graph`]; this path is kept for callers.
pub use crate::neighbours::knn_graph as knn;

use crate::job::Job;

/// Why a projection could not be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EmbedError {
    #[error("there are no samples to project")]
    EmptyInput,
    #[error("the vectors have no dimensions")]
    ZeroDimension,
    #[error("{n_points} samples are too few for this projection (it needs at least {needed})")]
    TooFewPoints { n_points: usize, needed: usize },
    #[error("sample {sample_idx} is out of range ({n_samples} samples)")]
    SampleOutOfRange { sample_idx: u32, n_samples: usize },
    #[error("sample {sample_idx} has a NaN or infinite value")]
    NonFiniteData { sample_idx: usize },
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
}

/// The k nearest neighbours of every row (self excluded), ascending by distance; ties broken
/// by the smaller row index. `indices[row * k + j]` is the j-th neighbour of `row`.
#[derive(Clone, Debug, PartialEq)]
pub struct KnnGraph {
    pub n_points: usize,
    pub k: usize,
    pub indices: Vec<u32>,
    /// Euclidean distances (not squared), same layout as `indices`.
    pub distances: Vec<f32>,
    /// Whether the lists are exact (else approximate, e.g. NN-descent).
    pub exact: bool,
}

impl KnnGraph {
    pub fn neighbours(&self, row: usize) -> &[u32] {
        &self.indices[row * self.k..(row + 1) * self.k]
    }
    pub fn neighbour_distances(&self, row: usize) -> &[f32] {
        &self.distances[row * self.k..(row + 1) * self.k]
    }
}

/// 2-D coordinates, one point per row in use, interleaved `[x0, y0, x1, y1, ...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding {
    pub n_points: usize,
    pub coords: Vec<f32>,
}

/// A projection job whose intermediate coordinates can be shown while it runs.
pub trait ProgressiveEmbedding: Job<Output = Embedding, Error = EmbedError> {
    /// The current coordinates (interleaved x, y), once an initialisation exists.
    fn current(&self) -> Option<&[f32]>;
}
