//! The rows to project: a contiguous f32 buffer, copied once, or the dataset's own float32
//! values when they are every row in order.

use ndarray::ArcArray2;

use crate::dataset::{Matrix, MatrixView};

use super::EmbedError;

/// Where the values live: a copy, or a float32 layer's values shared with the dataset
/// (standard layout, checked when shared, so the slice is the rows in order).
#[derive(Clone, Debug)]
enum Values {
    Owned(Vec<f32>),
    Shared(ArcArray2<f32>),
}

/// `n_points x dim` rows, row-major f32; row `i` is the `i`-th sample in use.
#[derive(Clone, Debug)]
pub struct EmbedRows {
    pub n_points: usize,
    pub dim: usize,
    values: Values,
}

impl EmbedRows {
    /// The rows `sample_indices` (or all rows) of `matrix`, checking finiteness. Every row of
    /// a float32 matrix in standard layout, in order (no subset, or the subset `0..n`), shares
    /// the matrix's values (no copy: a 300K x 1024 layer is 1.1 GiB); otherwise the rows are
    /// copied as [`EmbedRows::gather_view`] does. The values are the same either way.
    pub fn gather(
        matrix: &Matrix,
        sample_indices: Option<&[u32]>,
    ) -> Result<EmbedRows, EmbedError> {
        if let Matrix::F32(values) = matrix {
            let n_rows = values.nrows();
            let every_row_in_order = sample_indices.is_none_or(|subset| {
                subset.len() == n_rows
                    && subset
                        .iter()
                        .enumerate()
                        .all(|(row, &sample_idx)| sample_idx as usize == row)
            });
            if every_row_in_order && values.is_standard_layout() && values.as_slice().is_some() {
                return Self::shared(values.clone());
            }
        }
        Self::gather_view(matrix.view(), sample_indices)
    }

    /// Rows sharing `values` (standard layout, checked by the caller).
    fn shared(values: ArcArray2<f32>) -> Result<EmbedRows, EmbedError> {
        let (n_points, dim) = values.dim();
        if n_points == 0 {
            return Err(EmbedError::EmptyInput);
        }
        if dim == 0 {
            return Err(EmbedError::ZeroDimension);
        }
        if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
            return Err(EmbedError::NonFiniteData {
                sample_idx: pos / dim,
            });
        }
        Ok(EmbedRows {
            n_points,
            dim,
            values: Values::Shared(values),
        })
    }

    /// Whether the values are shared with a dataset's float32 layer rather than copied.
    pub fn shares_values(&self) -> bool {
        matches!(self.values, Values::Shared(_))
    }

    /// All values, row-major (`n_points * dim`).
    pub fn values(&self) -> &[f32] {
        match &self.values {
            Values::Owned(values) => values,
            // Standard layout was checked when the values were shared.
            Values::Shared(values) => values.as_slice().unwrap_or(&[]),
        }
    }

    /// [`EmbedRows::gather`] from a borrowed matrix (values owned elsewhere; any strides).
    pub fn gather_view(
        matrix: MatrixView<'_>,
        sample_indices: Option<&[u32]>,
    ) -> Result<EmbedRows, EmbedError> {
        let n_total = matrix.n_rows();
        let dim = matrix.n_cols();
        let n_points = sample_indices.map_or(n_total, |s| s.len());
        if n_points == 0 {
            return Err(EmbedError::EmptyInput);
        }
        if dim == 0 {
            return Err(EmbedError::ZeroDimension);
        }
        if let Some(subset) = sample_indices {
            if let Some(&bad) = subset.iter().find(|&&s| s as usize >= n_total) {
                return Err(EmbedError::SampleOutOfRange {
                    sample_idx: bad,
                    n_samples: n_total,
                });
            }
        }
        let mut values = vec![0f32; n_points * dim];
        for row in 0..n_points {
            let sample_idx = sample_indices.map_or(row, |s| s[row] as usize);
            let out = &mut values[row * dim..(row + 1) * dim];
            matrix.row_into_f32(sample_idx, out);
            if out.iter().any(|v| !v.is_finite()) {
                return Err(EmbedError::NonFiniteData { sample_idx });
            }
        }
        Ok(EmbedRows {
            n_points,
            dim,
            values: Values::Owned(values),
        })
    }

    /// Rows given directly (tests, benches). `values.len()` must be `n_points * dim`.
    pub fn from_vec(
        n_points: usize,
        dim: usize,
        values: Vec<f32>,
    ) -> Result<EmbedRows, EmbedError> {
        if n_points == 0 {
            return Err(EmbedError::EmptyInput);
        }
        if dim == 0 {
            return Err(EmbedError::ZeroDimension);
        }
        if values.len() != n_points * dim {
            return Err(EmbedError::InvalidParameter {
                name: "values",
                reason: format!("{} values for {n_points} x {dim}", values.len()),
            });
        }
        if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
            return Err(EmbedError::NonFiniteData {
                sample_idx: pos / dim,
            });
        }
        Ok(EmbedRows {
            n_points,
            dim,
            values: Values::Owned(values),
        })
    }

    /// Rows of a standard-layout (or any) 2-D array, e.g. `mapper::synth::activation_like`.
    pub fn from_array(array: &ndarray::Array2<f32>) -> Result<EmbedRows, EmbedError> {
        let (n_points, dim) = array.dim();
        EmbedRows::from_vec(n_points, dim, array.iter().copied().collect())
    }

    pub fn row(&self, row: usize) -> &[f32] {
        &self.values()[row * self.dim..(row + 1) * self.dim]
    }
}

impl crate::numeric::pca::F32Rows for EmbedRows {
    fn row_f32(&self, row_idx: usize) -> &[f32] {
        self.row(row_idx)
    }
}
