//! Lens functions computed on the rows in use, all in float64 from the stored values.
//!
//! Per-row lenses (L2, L1, mean, fraction of zeros) cost O(dim) per row and sum in
//! coordinate order. PC1 and k-NN distance need all rows (see [`super::pca`], [`super::knn`]).

use super::params::Lens;
use crate::neighbours::rows::Rows;

/// Fills `out[i]` with the lens of row `row_range.start + i` for a per-row lens; returns
/// false for lenses that are not per-row (PC1, k-NN, custom).
pub(crate) fn per_row_lens(
    lens: &Lens,
    rows: &Rows,
    row_range: std::ops::Range<usize>,
    out: &mut [f64],
) -> bool {
    let dim = rows.dim as f64;
    for (o, row_idx) in out.iter_mut().zip(row_range) {
        *o = match lens {
            Lens::L2Norm => rows.sq_norms[row_idx].sqrt(),
            Lens::L1Norm => {
                let mut s = 0.0;
                rows.for_each_exact(row_idx, |v| s += v.abs());
                s
            }
            Lens::Mean => {
                let mut s = 0.0;
                rows.for_each_exact(row_idx, |v| s += v);
                s / dim
            }
            Lens::FractionZeros => {
                let mut zeros = 0usize;
                rows.for_each_exact(row_idx, |v| zeros += (v == 0.0) as usize);
                zeros as f64 / dim
            }
            _ => return false,
        };
    }
    true
}
