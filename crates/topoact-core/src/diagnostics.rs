//! Lens and cover diagnostics (the paper's Section 3): the lens histogram with the cover's
//! intervals over it, the L2-norm distribution of a layer against random vectors of the same
//! dimension, and the fraction of exact zeros.
//!
//! Everything here is a small summary (histograms of a fixed number of bins), cheap enough
//! to compute after every mapper run: O(n) for the lens part, O(n * dim) for the norms.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dataset::Matrix;
use crate::mapper::{CoverKind, MapperGraph};

/// Counts of values in `n_bins` equal bins over `[lower, upper]` (the last bin is closed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lower: f64,
    pub upper: f64,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Bins `values` over their own range. Non-finite values are ignored. A constant input
    /// gets a unit-wide range around its value so that every bin has a positive width.
    pub fn of(values: &[f64], n_bins: usize) -> Histogram {
        let (lo, hi) = finite_range(values.iter().copied()).unwrap_or((0.0, 1.0));
        Histogram::over(values, lo, hi, n_bins)
    }

    /// Bins `values` over `[lower, upper]`; values outside are ignored.
    pub fn over(values: &[f64], lower: f64, upper: f64, n_bins: usize) -> Histogram {
        let n_bins = n_bins.max(1);
        let (lower, upper) = if upper > lower {
            (lower, upper)
        } else {
            (lower - 0.5, lower + 0.5)
        };
        let mut counts = vec![0u64; n_bins];
        let width = (upper - lower) / n_bins as f64;
        for &v in values {
            if !v.is_finite() || v < lower || v > upper {
                continue;
            }
            let bin = (((v - lower) / width) as usize).min(n_bins - 1);
            counts[bin] += 1;
        }
        Histogram {
            lower,
            upper,
            counts,
        }
    }

    pub fn bin_width(&self) -> f64 {
        (self.upper - self.lower) / self.counts.len() as f64
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// The lens distribution and the cover over it, in lens units.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LensDiagnostics {
    /// Stable lens name (`l2norm`, `pc1`, ...).
    pub lens: String,
    /// `uniform` or `balanced`.
    pub cover: String,
    pub histogram: Histogram,
    /// `[lower, upper]` of every interval in lens units. For the balanced cover (uniform on
    /// ranks) the bounds are the lens values at the interval's rank bounds, so dense regions
    /// of the lens get narrow intervals.
    pub intervals: Vec<[f64; 2]>,
    /// Members of every interval (same order).
    pub interval_sizes: Vec<usize>,
}

/// Summarises the lens of a computed graph and its cover.
pub fn lens_diagnostics(graph: &MapperGraph, n_bins: usize) -> LensDiagnostics {
    let lens = &graph.lens_by_row;
    let histogram = Histogram::of(lens, n_bins);
    let balanced = graph.params.cover == CoverKind::Balanced;
    let mut sorted: Vec<f64> = lens.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let at_rank = |rank_fraction: f64, round_up: bool| -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let last = (sorted.len() - 1) as f64;
        let pos = (rank_fraction.clamp(0.0, 1.0) * last).clamp(0.0, last);
        let idx = if round_up { pos.ceil() } else { pos.floor() } as usize;
        sorted[idx.min(sorted.len() - 1)]
    };
    let intervals = graph
        .intervals
        .iter()
        .map(|report| {
            let interval = &report.interval;
            if balanced {
                [
                    at_rank(interval.lower, true),
                    at_rank(interval.upper, false),
                ]
            } else {
                [interval.lower, interval.upper]
            }
        })
        .collect();
    LensDiagnostics {
        lens: graph.params.lens.clone(),
        cover: if balanced { "balanced" } else { "uniform" }.to_string(),
        histogram,
        intervals,
        interval_sizes: graph
            .intervals
            .iter()
            .map(|report| report.n_members)
            .collect(),
    }
}

/// The L2-norm distribution of a layer against random vectors of the same dimension.
///
/// The random vectors are a null model with the layer's own scale: each coordinate is drawn
/// independently from that coordinate's values over the samples in use (a seeded column
/// shuffle). They keep every dimension's marginal distribution, including its zeros, and
/// lose only the dependence between dimensions; their norms concentrate as the curse of
/// dimensionality predicts, which is what the paper's Figure 7 contrasts with real layers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NormDiagnostics {
    pub dim: usize,
    pub n_vectors: usize,
    pub n_random: usize,
    /// Both histograms share one range so they can be drawn on one axis.
    pub activation: Histogram,
    pub random: Histogram,
    pub activation_mean: f64,
    pub activation_std: f64,
    pub random_mean: f64,
    pub random_std: f64,
    /// Exact zeros over all values of the samples in use.
    pub zero_fraction: f64,
}

/// Computes [`NormDiagnostics`] over `sample_indices` (or all rows) of `matrix`, with up to
/// `max_random` random vectors drawn with `seed`. Non-finite values count as neither zero
/// nor norm (their rows are skipped). Cost: O((n + n_random) * dim).
pub fn norm_diagnostics(
    matrix: &Matrix,
    sample_indices: Option<&[u32]>,
    n_bins: usize,
    max_random: usize,
    seed: u64,
) -> NormDiagnostics {
    let dim = matrix.n_cols();
    let n_total = matrix.n_rows();
    let samples: Vec<usize> = match sample_indices {
        Some(s) => s
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| i < n_total)
            .collect(),
        None => (0..n_total).collect(),
    };
    // One pass per row: (exact zeros, L2 norm), or `None` for a row with a non-finite
    // value. Rows are independent, so the parallel build splits them among threads; the
    // totals are then folded in row order.
    let summarise = |&sample_idx: &usize| row_zeros_and_norm(matrix, sample_idx);
    #[cfg(feature = "parallel")]
    let summaries: Vec<Option<(u64, f64)>> = {
        use rayon::prelude::*;
        samples
            .par_iter()
            .with_min_len(256)
            .map(summarise)
            .collect()
    };
    #[cfg(not(feature = "parallel"))]
    let summaries: Vec<Option<(u64, f64)>> = samples.iter().map(summarise).collect();
    let mut norms = Vec::with_capacity(samples.len());
    let mut zeros = 0u64;
    let mut values = 0u64;
    for (row_zeros, norm) in summaries.into_iter().flatten() {
        zeros += row_zeros;
        values += dim as u64;
        norms.push(norm);
    }
    let n_random = if samples.is_empty() {
        0
    } else {
        max_random.min(samples.len()).max(1)
    };
    // Random vector `v` draws its coordinates from its own stream (seed, v), so the vectors
    // can be built in parallel and the answer does not depend on the thread count.
    let random_norm = |vector_idx: usize| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(vector_idx as u64);
        let mut sum = 0.0;
        for col in 0..dim {
            let sample_idx = samples[rng.random_range(0..samples.len())];
            let value = matrix_value(matrix, sample_idx, col);
            if value.is_finite() {
                sum += value * value;
            }
        }
        sum.sqrt()
    };
    #[cfg(feature = "parallel")]
    let random_norms: Vec<f64> = {
        use rayon::prelude::*;
        (0..n_random).into_par_iter().map(random_norm).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let random_norms: Vec<f64> = (0..n_random).map(random_norm).collect();
    let (lo, hi) = finite_range(norms.iter().chain(&random_norms).copied()).unwrap_or((0.0, 1.0));
    let (activation_mean, activation_std) = mean_std(&norms);
    let (random_mean, random_std) = mean_std(&random_norms);
    NormDiagnostics {
        dim,
        n_vectors: norms.len(),
        n_random,
        activation: Histogram::over(&norms, lo, hi, n_bins),
        random: Histogram::over(&random_norms, lo, hi, n_bins),
        activation_mean,
        activation_std,
        random_mean,
        random_std,
        zero_fraction: if values == 0 {
            0.0
        } else {
            zeros as f64 / values as f64
        },
    }
}

/// Exact zeros and the L2 norm (float64, summed in column order) of one row; `None` when
/// the row holds a NaN or an infinity.
pub(crate) fn row_zeros_and_norm(matrix: &Matrix, sample_idx: usize) -> Option<(u64, f64)> {
    fn summary(values: impl Iterator<Item = f64>) -> Option<(u64, f64)> {
        let mut zeros = 0u64;
        let mut sum = 0.0;
        for v in values {
            if !v.is_finite() {
                return None;
            }
            zeros += (v == 0.0) as u64;
            sum += v * v;
        }
        Some((zeros, sum.sqrt()))
    }
    match matrix {
        Matrix::F16(a) => summary(a.row(sample_idx).iter().map(|v| v.to_f64())),
        Matrix::F32(a) => summary(a.row(sample_idx).iter().map(|&v| v as f64)),
        Matrix::F64(a) => summary(a.row(sample_idx).iter().copied()),
    }
}

fn matrix_value(matrix: &Matrix, sample_idx: usize, col: usize) -> f64 {
    match matrix {
        Matrix::F16(a) => a[[sample_idx, col]].to_f64(),
        Matrix::F32(a) => a[[sample_idx, col]] as f64,
        Matrix::F64(a) => a[[sample_idx, col]],
    }
}

/// Mean and (population) standard deviation; zeros for no values.
pub(crate) fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn histogram_counts_every_value_once_and_closes_the_last_bin() {
        let values = [0.0, 0.1, 0.5, 0.99, 1.0, f64::NAN];
        let h = Histogram::of(&values, 4);
        assert_eq!(h.counts, vec![2, 0, 1, 2]);
        assert_eq!(h.total(), 5);
        let constant = Histogram::of(&[3.0, 3.0], 5);
        assert!(constant.upper > constant.lower);
        assert_eq!(constant.total(), 2);
    }

    #[test]
    fn norms_zero_fraction_and_random_vectors_follow_the_data() {
        // Rows: half the coordinates zero; norms differ across rows.
        let n = 200;
        let dim = 16;
        let matrix = Matrix::F32(ndarray::ArcArray2::from_shape_fn((n, dim), |(i, j)| {
            if j % 2 == 0 {
                0.0
            } else {
                1.0 + (i % 10) as f32
            }
        }));
        let d = norm_diagnostics(&matrix, None, 20, 100, 7);
        assert_eq!(d.n_vectors, n);
        assert_eq!(d.n_random, 100);
        assert!((d.zero_fraction - 0.5).abs() < 1e-12);
        assert_eq!(d.activation.total(), n as u64);
        assert_eq!(d.random.total(), 100);
        // Independent coordinates average out: random norms vary less than real ones.
        assert!(
            d.random_std < d.activation_std,
            "{} vs {}",
            d.random_std,
            d.activation_std
        );
        // Same seed, same answer.
        assert_eq!(d, norm_diagnostics(&matrix, None, 20, 100, 7));
    }

    #[test]
    fn balanced_cover_intervals_hold_equal_counts_and_map_back_to_lens_units() {
        use crate::mapper::{compute_mapper, synth, MapperInput, MapperParams};
        let (values, _, _) = synth::activation_like(2000, 32, 3);
        let matrix = Matrix::F32(values.into());
        for cover in [CoverKind::Uniform, CoverKind::Balanced] {
            let params = MapperParams {
                cover,
                n_intervals: 10,
                ..MapperParams::default()
            }
            .validate()
            .expect("valid");
            let graph = compute_mapper(MapperInput::new(&matrix), &params).expect("graph");
            let d = lens_diagnostics(&graph, 40);
            assert_eq!(d.histogram.total(), 2000);
            assert_eq!(d.intervals.len(), 10);
            for pair in d.intervals.windows(2) {
                assert!(
                    pair[0][0] <= pair[1][0] && pair[0][1] <= pair[1][1],
                    "{pair:?}"
                );
            }
            // Every interval's members lie within its lens bounds.
            for (bounds, &size) in d.intervals.iter().zip(&d.interval_sizes) {
                let inside = graph
                    .lens_by_row
                    .iter()
                    .filter(|&&l| l >= bounds[0] && l <= bounds[1])
                    .count();
                assert!(inside >= size, "{cover:?} {bounds:?}: {inside} < {size}");
            }
            if cover == CoverKind::Balanced {
                // KeplerMapper's cover overhangs the range at both ends, so only the interior
                // intervals are full.
                let interior = &d.interval_sizes[1..d.interval_sizes.len() - 1];
                let (lo, hi) = (
                    interior.iter().min().copied(),
                    interior.iter().max().copied(),
                );
                assert!(
                    hi.unwrap_or(0) - lo.unwrap_or(0) <= 2,
                    "{:?}",
                    d.interval_sizes
                );
            }
        }
    }

    #[test]
    fn rows_with_non_finite_values_are_skipped() {
        let mut a = Array2::<f32>::ones((10, 4));
        a[[3, 1]] = f32::NAN;
        let d = norm_diagnostics(&Matrix::F32(a.into()), Some(&[0, 3, 5, 99]), 10, 10, 0);
        assert_eq!(d.n_vectors, 2);
        assert_eq!(d.zero_fraction, 0.0);
    }
}
