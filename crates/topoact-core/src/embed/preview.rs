//! A first picture of the rows within a second or two, while the neighbour search that
//! t-SNE and UMAP need is still running (at 300K x 1024 that search takes minutes).
//!
//! The preview is the rows projected on two principal axes: a [`SubspacePca`] on an evenly
//! spaced sample of at most [`PREVIEW_SAMPLE`] rows (so its cost does not grow with `n`),
//! then every row's dot products with the two axes (`2 n dim` multiply-adds, in f32). It is
//! a picture, not the projection's start: t-SNE's start is a PCA of every row (the same
//! axes up to the sample's noise) and UMAP's is spectral, so the worker labels these frames
//! as a preview and replaces them with the projection's own. (UMAP's PCA start, its
//! fallback when the spectral start fails, is this job with the projection's seed.)
//!
//! Deterministic: the sample is fixed by `n`, the PCA by its seed.

use super::{EmbedError, EmbedRows};
use crate::job::{Job, Progress, Step};
use crate::numeric::kernels::dot_f32;
use crate::numeric::pca::{F32Rows, SubspacePca};
use crate::numeric::random::unit_uniform;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Rows the preview's principal axes are computed from, at most.
pub const PREVIEW_SAMPLE: usize = 4096;
/// Passes of subspace iteration on the sample (the t-SNE start uses 8 on every row).
const PASSES: usize = 4;
/// Multiply-adds per step (a few tens of milliseconds in wasm).
const STEP_WORK: usize = 40_000_000;

/// The evenly spaced sample's rows, read through the shared rows.
struct SampleRows<'a> {
    rows: &'a EmbedRows,
    sample: &'a [u32],
}

impl F32Rows for SampleRows<'_> {
    fn row_f32(&self, row_idx: usize) -> &[f32] {
        self.rows.row(self.sample[row_idx] as usize)
    }
}

enum Stage {
    Axes(Box<SubspacePca>),
    Project {
        /// Two axes, f32, `2 x dim`.
        axes: Vec<f32>,
        /// `mean . axis` for each axis (the centring, applied after the dot products).
        offsets: [f32; 2],
        next_row: usize,
    },
    Finished,
}

/// Stepwise preview (see the module documentation); its output is `n x 2` coordinates,
/// interleaved.
pub struct PreviewJob {
    rows: std::sync::Arc<EmbedRows>,
    sample: Vec<u32>,
    stage: Stage,
    coords: Vec<f32>,
}

impl PreviewJob {
    pub fn new(rows: std::sync::Arc<EmbedRows>, seed: u64) -> Result<PreviewJob, EmbedError> {
        let n = rows.n_points;
        if n == 0 {
            return Err(EmbedError::EmptyInput);
        }
        if rows.dim == 0 {
            return Err(EmbedError::ZeroDimension);
        }
        let m = n.min(PREVIEW_SAMPLE);
        let sample: Vec<u32> = (0..m).map(|i| (i * n / m) as u32).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0070_7265_7669_6577);
        let pca = SubspacePca::new(m, rows.dim, PASSES, || unit_uniform(&mut rng) * 2.0 - 1.0);
        Ok(PreviewJob {
            coords: Vec::with_capacity(2 * n),
            rows,
            sample,
            stage: Stage::Axes(Box::new(pca)),
        })
    }

    fn progress(&self) -> Progress {
        let n = self.rows.n_points as u64;
        // Rough shares: the sample's PCA a fifth, the projection the rest.
        let (done, total) = match &self.stage {
            Stage::Axes(pca) => {
                let (done, total) = pca.progress();
                (n * done / (4 * total.max(1)), n + n / 4)
            }
            Stage::Project { next_row, .. } => (n / 4 + *next_row as u64, n + n / 4),
            Stage::Finished => (1, 1),
        };
        Progress::new("preview: principal components", done, total)
    }
}

impl Job for PreviewJob {
    type Output = Vec<f32>;
    type Error = EmbedError;

    fn step(&mut self) -> Result<Step<Vec<f32>>, EmbedError> {
        let dim = self.rows.dim;
        match &mut self.stage {
            Stage::Axes(pca) => {
                let sample = SampleRows {
                    rows: &self.rows,
                    sample: &self.sample,
                };
                if pca.advance(&sample, STEP_WORK).is_some() {
                    let axes64 = pca.axes();
                    let mean = pca.mean();
                    let offsets = [0, 1].map(|axis| {
                        mean.iter()
                            .zip(&axes64[axis * dim..(axis + 1) * dim])
                            .map(|(m, a)| m * a)
                            .sum::<f64>() as f32
                    });
                    self.stage = Stage::Project {
                        axes: axes64.iter().map(|&a| a as f32).collect(),
                        offsets,
                        next_row: 0,
                    };
                }
                Ok(Step::Running(self.progress()))
            }
            Stage::Project {
                axes,
                offsets,
                next_row,
            } => {
                let n = self.rows.n_points;
                let end = (*next_row + (STEP_WORK / (2 * dim)).max(1)).min(n);
                for row_idx in *next_row..end {
                    let row = self.rows.row(row_idx);
                    self.coords.push(dot_f32(row, &axes[..dim]) - offsets[0]);
                    self.coords.push(dot_f32(row, &axes[dim..]) - offsets[1]);
                }
                *next_row = end;
                if end == n {
                    self.stage = Stage::Finished;
                    return Ok(Step::Done(std::mem::take(&mut self.coords)));
                }
                Ok(Step::Running(self.progress()))
            }
            Stage::Finished => Err(EmbedError::InvalidParameter {
                name: "job",
                reason: "the preview has already finished".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Rows spread along one known direction (plus small noise in the others) project onto
    /// it: the preview's first coordinate orders the rows as the direction does.
    #[test]
    fn preview_follows_the_leading_direction() {
        let (n, dim) = (10_000, 32);
        let mut values = Vec::with_capacity(n * dim);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for i in 0..n {
            let t = i as f64 / n as f64 * 20.0 - 10.0;
            for d in 0..dim {
                let noise = 0.01 * (unit_uniform(&mut rng) - 0.5);
                let along = if d == 0 {
                    0.6 * t
                } else if d == 1 {
                    0.8 * t
                } else {
                    0.0
                };
                values.push((along + noise + 5.0) as f32);
            }
        }
        let rows = Arc::new(EmbedRows::from_vec(n, dim, values).expect("finite rows"));
        let mut job = PreviewJob::new(rows.clone(), 1).expect("valid rows");
        let coords = crate::job::run_to_end(&mut job, |_| {}).expect("preview");
        assert_eq!(coords.len(), 2 * n);
        for i in 0..n {
            let t = i as f32 / n as f32 * 20.0 - 10.0;
            // The first axis is the direction (0.6, 0.8) up to sign; centred by the mean.
            assert!(
                (coords[2 * i].abs() - t.abs()).abs() < 0.05,
                "row {i}: {}",
                coords[2 * i]
            );
            assert!(coords[2 * i + 1].abs() < 0.05);
        }
        // Same input, same seed: same bits.
        let mut again = PreviewJob::new(rows, 1).expect("valid rows");
        assert_eq!(
            crate::job::run_to_end(&mut again, |_| {}).expect("preview"),
            coords
        );
    }
}
