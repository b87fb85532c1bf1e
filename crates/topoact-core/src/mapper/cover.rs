//! KeplerMapper 2.1.0's 1-D cover, reproduced in float64 operation for operation.
//!
//! With `lo = min(lens)`, `hi = max(lens)`, `R = hi - lo`, `n` intervals, overlap `p`:
//! - `inset = (R - ((n-1)/n) * R) / 2`, radius `r = R / ((2n) * (1 - p))`;
//! - centres = `np.linspace(lo + inset, hi - inset, n)`: `c_i = i * step + start` with
//!   `step = (stop - start) / (n - 1)` (if `step == 0`: `c_i = (i / (n-1)) * delta + start`),
//!   the last centre set to exactly `stop`; for `n = 1`, `c_0 = start`;
//! - interval i holds the samples with `lens >= c_i - r` and `lens <= c_i + r` (closed).
//!
//! Empty intervals are dropped before numbering (`cube{i}` counts non-empty ones).

use serde::{Deserialize, Serialize};

use super::params::MapperError;

/// One interval of the cover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Position among all `n` centres.
    pub centre_idx: usize,
    pub centre: f64,
    pub lower: f64,
    pub upper: f64,
}

/// The `n` intervals of KeplerMapper's `Cover(n, p)` over `lens` (see the module doc).
/// Errors on an empty or non-finite lens, or a constant one (`R == 0`: KeplerMapper would
/// put every sample in every interval; we refuse instead).
pub fn uniform_intervals(
    lens: &[f64],
    n_intervals: usize,
    overlap: f64,
) -> Result<Vec<Interval>, MapperError> {
    if lens.is_empty() {
        return Err(MapperError::EmptyInput);
    }
    if let Some(row_idx) = lens.iter().position(|v| !v.is_finite()) {
        return Err(MapperError::NonFiniteLens {
            sample_idx: row_idx,
        });
    }
    let lo = lens.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = lens.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let range = hi - lo;
    if range == 0.0 {
        return Err(MapperError::ConstantLens {
            value: lo,
            n_intervals,
        });
    }
    let n = n_intervals as f64;
    let inner_range = ((n_intervals as f64 - 1.0) / n) * range;
    let inset = (range - inner_range) / 2.0;
    let radius = range / ((2 * n_intervals) as f64 * (1.0 - overlap));
    let start = lo + inset;
    let stop = hi - inset;
    let delta = stop - start;
    let centres: Vec<f64> = if n_intervals == 1 {
        vec![0.0 * delta + start]
    } else {
        let div = (n_intervals - 1) as f64;
        let step = delta / div;
        let mut c: Vec<f64> = (0..n_intervals)
            .map(|i| {
                if step == 0.0 {
                    (i as f64 / div) * delta + start
                } else {
                    i as f64 * step + start
                }
            })
            .collect();
        c[n_intervals - 1] = stop;
        c
    };
    Ok(centres
        .into_iter()
        .enumerate()
        .map(|(centre_idx, centre)| Interval {
            centre_idx,
            centre,
            lower: centre - radius,
            upper: centre + radius,
        })
        .collect())
}

/// Rows of each interval (ascending row index), via one sort of the lens.
/// Cost O(n log n + total members * log).
pub fn interval_members(lens: &[f64], intervals: &[Interval]) -> Vec<Vec<u32>> {
    let mut by_lens: Vec<u32> = (0..lens.len() as u32).collect();
    // A total order (ties by row), so the parallel sort gives the one sorted list.
    let by_lens_then_row = |a: &u32, b: &u32| {
        lens[*a as usize]
            .total_cmp(&lens[*b as usize])
            .then(a.cmp(b))
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        by_lens.par_sort_unstable_by(by_lens_then_row);
    }
    #[cfg(not(feature = "parallel"))]
    by_lens.sort_unstable_by(by_lens_then_row);
    let members_of = |interval: &Interval| {
        let first = by_lens.partition_point(|&r| lens[r as usize] < interval.lower);
        let end = by_lens.partition_point(|&r| lens[r as usize] <= interval.upper);
        let mut members: Vec<u32> = if first < end {
            by_lens[first..end].to_vec()
        } else {
            Vec::new()
        };
        members.sort_unstable();
        members
    };
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        intervals.par_iter().map(members_of).collect()
    }
    #[cfg(not(feature = "parallel"))]
    intervals.iter().map(members_of).collect()
}

/// The rank lens `rank / (N - 1)`: ordinal ranks of the lens, ties broken by row order
/// (0 for a single sample). The uniform cover on it is the "balanced" cover.
pub fn rank_lens(lens: &[f64]) -> Vec<f64> {
    let n = lens.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| lens[a].total_cmp(&lens[b]).then(a.cmp(&b)));
    let mut ranks = vec![0f64; n];
    if n > 1 {
        let denom = (n - 1) as f64;
        for (rank, &row_idx) in order.iter().enumerate() {
            ranks[row_idx] = rank as f64 / denom;
        }
    }
    ranks
}
