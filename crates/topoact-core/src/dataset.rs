//! The in-memory activation dataset: what a parsed file becomes.
//!
//! Invariants (checked by the parsers before a `Dataset` is built):
//! - every layer, `labels`, `images`, activation images and projections have the same row
//!   count `n_samples`; rows are samples, indexed by `sample_idx`;
//! - layer names are unique and non-empty;
//! - every label is `< class_names.len()`;
//! - activation values are finite (non-finite rows are either refused or dropped by the
//!   loader, which records a notice).

use std::collections::BTreeMap;

use half::f16;
use ndarray::{ArcArray2, Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::columns::{Column, ColumnSummary};

/// A sample-by-feature matrix in the precision the file stored it in.
///
/// float16 stays float16 in memory (half the bytes); float64 stays float64 so that the
/// mapper's decisions match KeplerMapper's to the bit. float32 values are reference-counted
/// (`ArcArray2`, copy on write): a projection's rows share them when they are every row in
/// order ([`crate::embed::EmbedRows::gather`]), instead of a second copy of the layer.
#[derive(Clone, Debug)]
pub enum Matrix {
    F16(Array2<f16>),
    F32(ArcArray2<f32>),
    F64(Array2<f64>),
}

impl Matrix {
    pub fn n_rows(&self) -> usize {
        match self {
            Matrix::F16(a) => a.nrows(),
            Matrix::F32(a) => a.nrows(),
            Matrix::F64(a) => a.nrows(),
        }
    }

    pub fn n_cols(&self) -> usize {
        match self {
            Matrix::F16(a) => a.ncols(),
            Matrix::F32(a) => a.ncols(),
            Matrix::F64(a) => a.ncols(),
        }
    }

    pub fn dtype(&self) -> Dtype {
        match self {
            Matrix::F16(_) => Dtype::F16,
            Matrix::F32(_) => Dtype::F32,
            Matrix::F64(_) => Dtype::F64,
        }
    }

    /// Bytes held by the values.
    pub fn size_bytes(&self) -> usize {
        self.n_rows() * self.n_cols() * self.dtype().size_bytes()
    }

    /// Copies row `sample_idx` into `out` (length `n_cols`), widening exactly to f64.
    pub fn row_into_f64(&self, sample_idx: usize, out: &mut [f64]) {
        self.view().row_into_f64(sample_idx, out)
    }

    /// Copies row `sample_idx` into `out` (length `n_cols`) as f32 (exact for f16 and f32).
    pub fn row_into_f32(&self, sample_idx: usize, out: &mut [f32]) {
        self.view().row_into_f32(sample_idx, out)
    }

    /// A borrowed view of the values (no copy).
    pub fn view(&self) -> MatrixView<'_> {
        match self {
            Matrix::F16(a) => MatrixView::F16(a.view()),
            Matrix::F32(a) => MatrixView::F32(a.view()),
            Matrix::F64(a) => MatrixView::F64(a.view()),
        }
    }

    /// The whole matrix widened to f64 (allocates `n_rows * n_cols * 8` bytes).
    pub fn to_f64(&self) -> Array2<f64> {
        match self {
            Matrix::F16(a) => a.mapv(|v| v.to_f64()),
            Matrix::F32(a) => a.mapv(|v| v as f64),
            Matrix::F64(a) => a.clone(),
        }
    }
}

/// A borrowed sample-by-feature matrix: a [`Matrix`]'s values, or values owned elsewhere
/// (a NumPy array seen from Python), with any strides (C or Fortran order). What the
/// mapper reads its rows from; it copies the rows it uses, so the view need only live
/// while a computation starts.
#[derive(Clone, Copy, Debug)]
pub enum MatrixView<'a> {
    F16(ArrayView2<'a, f16>),
    F32(ArrayView2<'a, f32>),
    F64(ArrayView2<'a, f64>),
}

impl MatrixView<'_> {
    pub fn n_rows(&self) -> usize {
        match self {
            MatrixView::F16(a) => a.nrows(),
            MatrixView::F32(a) => a.nrows(),
            MatrixView::F64(a) => a.nrows(),
        }
    }

    pub fn n_cols(&self) -> usize {
        match self {
            MatrixView::F16(a) => a.ncols(),
            MatrixView::F32(a) => a.ncols(),
            MatrixView::F64(a) => a.ncols(),
        }
    }

    pub fn dtype(&self) -> Dtype {
        match self {
            MatrixView::F16(_) => Dtype::F16,
            MatrixView::F32(_) => Dtype::F32,
            MatrixView::F64(_) => Dtype::F64,
        }
    }

    /// Copies row `sample_idx` into `out` (length `n_cols`), widening exactly to f64.
    pub fn row_into_f64(&self, sample_idx: usize, out: &mut [f64]) {
        match self {
            MatrixView::F16(a) => a
                .row(sample_idx)
                .iter()
                .zip(out)
                .for_each(|(v, o)| *o = v.to_f64()),
            MatrixView::F32(a) => a
                .row(sample_idx)
                .iter()
                .zip(out)
                .for_each(|(v, o)| *o = *v as f64),
            MatrixView::F64(a) => a.row(sample_idx).iter().zip(out).for_each(|(v, o)| *o = *v),
        }
    }

    /// Copies row `sample_idx` into `out` (length `n_cols`) as f32 (exact for f16 and f32).
    pub fn row_into_f32(&self, sample_idx: usize, out: &mut [f32]) {
        match self {
            MatrixView::F16(a) => a
                .row(sample_idx)
                .iter()
                .zip(out)
                .for_each(|(v, o)| *o = v.to_f32()),
            MatrixView::F32(a) => {
                let row = a.row(sample_idx);
                match row.as_slice() {
                    Some(values) => out.copy_from_slice(values),
                    None => row.iter().zip(out).for_each(|(v, o)| *o = *v),
                }
            }
            MatrixView::F64(a) => a
                .row(sample_idx)
                .iter()
                .zip(out)
                .for_each(|(v, o)| *o = *v as f32),
        }
    }
}

/// Element type of an activation matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dtype {
    F16,
    F32,
    F64,
}

impl Dtype {
    pub fn size_bytes(self) -> usize {
        match self {
            Dtype::F16 => 2,
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dtype::F16 => "float16",
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
        }
    }
}

/// One layer's activations: `n_samples x dim`.
#[derive(Clone, Debug)]
pub struct Layer {
    pub name: String,
    pub activations: Matrix,
}

/// Per-sample uint8 images, `n_samples x height x width x channels` (channels 1 or 3),
/// stored row-major in one buffer.
#[derive(Clone, Debug)]
pub struct ImageStack {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub pixels: Vec<u8>,
}

impl ImageStack {
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    pub fn n_images(&self) -> usize {
        if self.image_len() == 0 {
            0
        } else {
            self.pixels.len() / self.image_len()
        }
    }

    /// The pixels of image `sample_idx`.
    pub fn image(&self, sample_idx: usize) -> &[u8] {
        let len = self.image_len();
        &self.pixels[sample_idx * len..(sample_idx + 1) * len]
    }
}

/// Which projection a precomputed coordinate array holds (also which of them a view shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectionKind {
    Tsne,
    Umap,
}

/// A parsed activation file.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Display name: `meta.name` (else `meta.dataset`) if present, else the file name.
    pub name: String,
    /// Layers in file order (or the order `meta.layers` gives).
    pub layers: Vec<Layer>,
    /// Per-sample class index into `class_names`; `None` means every sample is unlabelled.
    pub labels: Option<Vec<u32>>,
    pub class_names: Vec<String>,
    pub images: Option<ImageStack>,
    /// Per-layer activation images for the feature-visualisation view, keyed by layer name.
    pub activation_images: BTreeMap<String, ImageStack>,
    /// Precomputed 2-D coordinates (`n_samples x 2`), keyed by (layer name, kind).
    pub projections: BTreeMap<(String, ProjectionKind), Array2<f32>>,
    /// The file's `meta` JSON, if any.
    pub meta: Option<serde_json::Value>,
    /// Per-sample columns beyond the above (`confidence`, `loss`, `split`, ...), in file order.
    pub columns: Vec<Column>,
    /// The network's predicted class per sample (`preds` or `predictions`), indices into
    /// `class_names`.
    pub predictions: Option<Vec<u32>>,
    /// Things a person should know that are not errors (ignored keys, dropped rows, ...).
    pub notices: Vec<String>,
}

impl Dataset {
    pub fn n_samples(&self) -> usize {
        self.layers
            .first()
            .map_or(0, |layer| layer.activations.n_rows())
    }

    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|layer| layer.name == name)
    }

    /// Number of samples per class (index = class index); unlabelled data gives an empty vec.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        if let Some(labels) = &self.labels {
            for &label in labels {
                if let Some(count) = counts.get_mut(label as usize) {
                    *count += 1;
                }
            }
        }
        counts
    }

    /// A small description of the dataset for the UI (no vectors).
    pub fn summary(&self) -> DatasetSummary {
        DatasetSummary {
            name: self.name.clone(),
            n_samples: self.n_samples(),
            layers: self
                .layers
                .iter()
                .map(|layer| LayerSummary {
                    name: layer.name.clone(),
                    dim: layer.activations.n_cols(),
                    dtype: layer.activations.dtype(),
                })
                .collect(),
            classes: self
                .class_names
                .iter()
                .zip(self.class_counts())
                .map(|(name, count)| ClassSummary {
                    name: name.clone(),
                    count,
                })
                .collect(),
            has_labels: self.labels.is_some(),
            has_images: self.images.is_some(),
            image_shape: self
                .images
                .as_ref()
                .map(|img| [img.height, img.width, img.channels]),
            activation_image_layers: self.activation_images.keys().cloned().collect(),
            projections: self
                .projections
                .keys()
                .map(|(layer, kind)| (layer.clone(), *kind))
                .collect(),
            meta: self.meta.clone(),
            columns: self.columns.iter().map(Column::summary).collect(),
            has_predictions: self.predictions.is_some(),
            top_confusions: match (&self.labels, &self.predictions) {
                (Some(labels), Some(predictions)) => {
                    let mut pairs = crate::columns::confused_pairs(labels, predictions);
                    pairs.truncate(TOP_CONFUSIONS);
                    pairs
                }
                _ => Vec::new(),
            },
            notices: self.notices.clone(),
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }
}

/// Confused class pairs a summary lists.
pub const TOP_CONFUSIONS: usize = 20;

/// What the UI is told about a loaded dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub name: String,
    pub n_samples: usize,
    pub layers: Vec<LayerSummary>,
    pub classes: Vec<ClassSummary>,
    pub has_labels: bool,
    pub has_images: bool,
    pub image_shape: Option<[usize; 3]>,
    pub activation_image_layers: Vec<String>,
    pub projections: Vec<(String, ProjectionKind)>,
    pub meta: Option<serde_json::Value>,
    /// Per-sample columns (no values).
    #[serde(default)]
    pub columns: Vec<ColumnSummary>,
    /// Whether the file holds the network's predictions.
    #[serde(default)]
    pub has_predictions: bool,
    /// The most frequent (label, prediction) pairs that differ, over the whole file (at
    /// most [`TOP_CONFUSIONS`]).
    #[serde(default)]
    pub top_confusions: Vec<crate::columns::Confusion>,
    pub notices: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerSummary {
    pub name: String,
    pub dim: usize,
    pub dtype: Dtype,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    pub name: String,
    pub count: usize,
}
