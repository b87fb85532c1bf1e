//! From a loaded [`Dataset`] to the inputs of the computations: the choices the native
//! command and the browser worker make alike, kept here so both make them the same way.
//!
//! - Which samples: [`samples_used`] and [`choose_samples`] (a seeded, class-stratified,
//!   nested subsample; by default at most [`DEFAULT_MAX_SAMPLES`]).
//! - Which layer: [`find_layer`], whose error names the layers there are.
//! - The mapper's input: [`mapper_input`].
//! - A projection: [`ProjectionRows`] (the rows of the samples in use, their sample indices,
//!   labels and norms) and [`EmbedSetup`] (t-SNE or UMAP parameters checked before the
//!   neighbour search, the neighbours it needs, and its job, [`EmbedJob`]).

use std::sync::Arc;

use crate::dataset::{Dataset, Layer, Matrix};
use crate::embed::knn::KnnParams;
use crate::embed::tsne::{TsneJob, TsneParams};
use crate::embed::umap::{InitUsed, UmapJob, UmapParams};
use crate::embed::{EmbedError, EmbedRows, Embedding, KnnGraph, ProgressiveEmbedding};
use crate::job::{Job, Step};
use crate::mapper::MapperInput;
use crate::subsample::{nested_stratified_order, subsample};

/// Above this many samples a computation uses a stratified subsample of this size unless told
/// otherwise (TopoAct's sizes went to 300K; 50K keeps a first graph within seconds in one
/// browser thread).
pub const DEFAULT_MAX_SAMPLES: usize = 50_000;

/// How many of `n_samples` samples a computation uses when `requested` of them: `None` means
/// all up to [`DEFAULT_MAX_SAMPLES`], `Some(0)` all of them, `Some(size)` at most `size`.
pub fn samples_used(requested: Option<usize>, n_samples: usize) -> usize {
    match requested {
        None => n_samples.min(DEFAULT_MAX_SAMPLES),
        Some(0) => n_samples,
        Some(size) => size.min(n_samples),
    }
}

/// The samples a computation runs on, ascending: the first [`samples_used`] entries of the
/// seeded, class-stratified, nested order ([`nested_stratified_order`]); `None` when that is
/// every sample (row `i` is sample `i`).
///
/// ```
/// use topoact_core::pipeline::choose_samples;
/// let labels = [0, 0, 0, 0, 1, 1, 1, 1];
/// let half = choose_samples(Some(&labels), 8, Some(4), 7).expect("a subsample");
/// assert_eq!(half.iter().filter(|&&s| labels[s as usize] == 0).count(), 2);
/// assert_eq!(choose_samples(Some(&labels), 8, None, 7), None);
/// ```
pub fn choose_samples(
    labels: Option<&[u32]>,
    n_samples: usize,
    requested: Option<usize>,
    seed: u64,
) -> Option<Vec<u32>> {
    let size = samples_used(requested, n_samples);
    (size < n_samples).then(|| {
        let order = nested_stratified_order(labels, n_samples, seed);
        subsample(&order, size)
    })
}

/// A layer name the dataset does not have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no layer '{name}'; the layers are: {}", known.join(", "))]
pub struct UnknownLayer {
    pub name: String,
    /// The dataset's layers, in order.
    pub known: Vec<String>,
}

/// The layer called `name`.
pub fn find_layer<'a>(dataset: &'a Dataset, name: &str) -> Result<&'a Layer, UnknownLayer> {
    dataset.layer(name).ok_or_else(|| UnknownLayer {
        name: name.to_string(),
        known: dataset
            .layers
            .iter()
            .map(|layer| layer.name.clone())
            .collect(),
    })
}

/// The mapper's input: `layer` of `dataset` on `sample_indices` (`None`: every sample), with
/// the dataset's labels and class names.
pub fn mapper_input<'a>(
    dataset: &'a Dataset,
    layer: &'a Layer,
    sample_indices: Option<&'a [u32]>,
) -> MapperInput<'a> {
    MapperInput {
        matrix: &layer.activations,
        sample_indices,
        labels: dataset.labels.as_deref(),
        class_names: &dataset.class_names,
    }
}

/// The class of a sample without a label in [`ProjectionRows::labels`].
pub const UNLABELLED: u32 = u32::MAX;

/// The rows a projection runs on: row `i` is sample `sample_indices[i]`.
#[derive(Clone, Debug)]
pub struct ProjectionRows {
    pub rows: Arc<EmbedRows>,
    pub sample_indices: Vec<u32>,
}

impl ProjectionRows {
    /// Copies the rows of `subset` (`None`: every row, in order) of `matrix` as f32, checking
    /// that every value is finite.
    pub fn gather(matrix: &Matrix, subset: Option<Vec<u32>>) -> Result<Self, EmbedError> {
        let rows = EmbedRows::gather(matrix, subset.as_deref())?;
        let sample_indices =
            subset.unwrap_or_else(|| (0..rows.n_points).map(|row| row as u32).collect());
        Ok(ProjectionRows {
            rows: Arc::new(rows),
            sample_indices,
        })
    }

    pub fn n_points(&self) -> usize {
        self.rows.n_points
    }

    /// The class of every row ([`UNLABELLED`] without labels or past their end).
    pub fn labels(&self, labels: Option<&[u32]>) -> Vec<u32> {
        self.sample_indices
            .iter()
            .map(|&sample_idx| {
                labels
                    .and_then(|labels| labels.get(sample_idx as usize).copied())
                    .unwrap_or(UNLABELLED)
            })
            .collect()
    }

    /// The L2 norm of every row (in f32, as the rows are stored).
    pub fn norms(&self) -> Vec<f32> {
        (0..self.rows.n_points)
            .map(|row| {
                self.rows
                    .row(row)
                    .iter()
                    .map(|value| value * value)
                    .sum::<f32>()
                    .sqrt()
            })
            .collect()
    }
}

/// Which projection, with the parameters a person chooses (the rest are the defaults of
/// [`TsneParams`] and [`UmapParams`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EmbedMethod {
    Tsne {
        perplexity: f64,
    },
    /// `n_neighbors` counts the point itself, as umap-learn does.
    Umap {
        n_neighbors: usize,
        min_dist: f64,
    },
}

/// A projection to compute: the method and the seed of its random start and sampling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmbedSetup {
    pub method: EmbedMethod,
    pub seed: u64,
}

impl EmbedSetup {
    /// The method's name as a person reads it: "t-SNE" or "UMAP".
    pub fn name(&self) -> &'static str {
        match self.method {
            EmbedMethod::Tsne { .. } => "t-SNE",
            EmbedMethod::Umap { .. } => "UMAP",
        }
    }

    fn tsne_params(&self, perplexity: f64) -> TsneParams {
        TsneParams {
            perplexity,
            seed: self.seed,
            ..TsneParams::default()
        }
    }

    fn umap_params(&self, n_neighbors: usize, min_dist: f64) -> UmapParams {
        UmapParams {
            n_neighbors,
            min_dist,
            seed: self.seed,
            ..UmapParams::default()
        }
    }

    /// Checks the parameters for `n_points` rows, before the (long) neighbour search.
    pub fn validate(&self, n_points: usize) -> Result<(), EmbedError> {
        match self.method {
            EmbedMethod::Tsne { perplexity } => self.tsne_params(perplexity).validate(n_points),
            EmbedMethod::Umap {
                n_neighbors,
                min_dist,
            } => {
                let params = self.umap_params(n_neighbors, min_dist);
                params.validate(n_points, params.neighbours_needed())
            }
        }
    }

    /// The neighbours per row the k-NN graph must hold for `n_points` rows (t-SNE: three
    /// times the perplexity, at most `n_points - 1`; UMAP: `n_neighbors - 1`).
    pub fn neighbours_needed(&self, n_points: usize) -> usize {
        match self.method {
            EmbedMethod::Tsne { perplexity } => {
                self.tsne_params(perplexity).neighbours_needed_for(n_points)
            }
            EmbedMethod::Umap {
                n_neighbors,
                min_dist,
            } => self.umap_params(n_neighbors, min_dist).neighbours_needed(),
        }
    }

    /// The k-NN graph of just the neighbours needed, partitioned with this seed.
    pub fn knn_params(&self, n_points: usize) -> KnnParams {
        let k = self.neighbours_needed(n_points);
        KnnParams {
            seed: self.seed,
            ..KnnParams::new(k)
        }
    }

    /// The projection's job on `rows` with their neighbour graph `knn` (which may hold more
    /// neighbours than needed).
    pub fn job(&self, rows: Arc<EmbedRows>, knn: Arc<KnnGraph>) -> Result<EmbedJob, EmbedError> {
        Ok(match self.method {
            EmbedMethod::Tsne { perplexity } => {
                EmbedJob::Tsne(TsneJob::new(rows, knn, self.tsne_params(perplexity))?)
            }
            EmbedMethod::Umap {
                n_neighbors,
                min_dist,
            } => EmbedJob::Umap(UmapJob::new(
                rows,
                knn,
                self.umap_params(n_neighbors, min_dist),
            )?),
        })
    }
}

/// A t-SNE or UMAP job, stepped and observed alike.
// The jobs are large and short-lived; one of them exists at a time.
#[allow(clippy::large_enum_variant)]
pub enum EmbedJob {
    Tsne(TsneJob),
    Umap(UmapJob),
}

impl EmbedJob {
    /// UMAP's start as used (`None` for t-SNE, or before the start is computed).
    pub fn umap_init_used(&self) -> Option<InitUsed> {
        match self {
            EmbedJob::Tsne(_) => None,
            EmbedJob::Umap(job) => job.init_used(),
        }
    }
}

impl Job for EmbedJob {
    type Output = Embedding;
    type Error = EmbedError;

    fn step(&mut self) -> Result<Step<Embedding>, EmbedError> {
        match self {
            EmbedJob::Tsne(job) => job.step(),
            EmbedJob::Umap(job) => job.step(),
        }
    }
}

impl ProgressiveEmbedding for EmbedJob {
    fn current(&self) -> Option<&[f32]> {
        match self {
            EmbedJob::Tsne(job) => job.current(),
            EmbedJob::Umap(job) => job.current(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::knn::knn_graph;
    use crate::job::run_to_end;
    use ndarray::Array2;

    fn dataset(n_samples: usize, labels: Option<Vec<u32>>) -> Dataset {
        let values = Array2::from_shape_fn((n_samples, 3), |(row, col)| {
            ((row * 7 + col * 3) % 11) as f32 + 0.25 * col as f32
        });
        Dataset {
            name: "test".into(),
            layers: vec![
                Layer {
                    name: "block1".into(),
                    activations: Matrix::F32(values.clone().into()),
                },
                Layer {
                    name: "block2".into(),
                    activations: Matrix::F32((values * 2.0).into()),
                },
            ],
            labels,
            class_names: vec!["a".into(), "b".into()],
            ..Dataset::default()
        }
    }

    #[test]
    fn samples_used_caps_at_the_default_and_zero_means_all() {
        let cases = [
            (None, 10, 10),
            (None, 120_000, DEFAULT_MAX_SAMPLES),
            (Some(0), 120_000, 120_000),
            (Some(7), 10, 7),
            (Some(70), 10, 10),
        ];
        for (requested, n_samples, expected) in cases {
            assert_eq!(
                samples_used(requested, n_samples),
                expected,
                "{requested:?} of {n_samples}"
            );
        }
    }

    #[test]
    fn chosen_samples_are_a_prefix_of_the_stratified_order() {
        let labels: Vec<u32> = (0..100).map(|i| (i % 3 == 0) as u32).collect();
        let chosen = choose_samples(Some(&labels), 100, Some(30), 5).expect("30 of 100");
        let order = nested_stratified_order(Some(&labels), 100, 5);
        assert_eq!(chosen, subsample(&order, 30));
        assert!(chosen.windows(2).all(|pair| pair[0] < pair[1]), "ascending");
        // Nested: a smaller subsample of the same seed is inside it.
        let smaller = choose_samples(Some(&labels), 100, Some(10), 5).expect("10 of 100");
        assert!(smaller.iter().all(|s| chosen.contains(s)));
        // All of them: no subsample at all.
        assert_eq!(choose_samples(Some(&labels), 100, Some(100), 5), None);
        assert_eq!(choose_samples(None, 100, Some(0), 5), None);
        assert_eq!(choose_samples(None, 100, None, 5), None);
    }

    #[test]
    fn an_unknown_layer_names_the_layers_there_are() {
        let data = dataset(4, None);
        assert_eq!(
            find_layer(&data, "block2").map(|layer| layer.name.as_str()),
            Ok("block2")
        );
        let err = find_layer(&data, "block9").expect_err("no such layer");
        assert_eq!(
            err.to_string(),
            "no layer 'block9'; the layers are: block1, block2"
        );
        assert_eq!(err.known, ["block1", "block2"]);
    }

    #[test]
    fn the_mapper_input_carries_the_labels_and_the_subsample() {
        let data = dataset(6, Some(vec![0, 1, 0, 1, 0, 1]));
        let subset = [1u32, 4];
        let input = mapper_input(&data, &data.layers[1], Some(&subset));
        assert_eq!(input.sample_indices, Some(&subset[..]));
        assert_eq!(input.labels, Some(&[0u32, 1, 0, 1, 0, 1][..]));
        assert_eq!(input.class_names.len(), 2);
        assert!(std::ptr::eq(input.matrix, &data.layers[1].activations));
    }

    #[test]
    fn projection_rows_keep_sample_indices_labels_and_norms() {
        let data = dataset(5, Some(vec![1, 0, 1]));
        let matrix = &data.layers[0].activations;
        let rows = ProjectionRows::gather(matrix, Some(vec![0, 2, 4])).expect("rows");
        assert_eq!(rows.n_points(), 3);
        assert_eq!(rows.sample_indices, [0, 2, 4]);
        // Sample 4 is past the labels' end: unlabelled.
        assert_eq!(rows.labels(data.labels.as_deref()), [1, 1, UNLABELLED]);
        assert_eq!(rows.labels(None), [UNLABELLED; 3]);
        let mut row = [0f32; 3];
        matrix.row_into_f32(2, &mut row);
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert_eq!(rows.norms()[1], norm);

        let all = ProjectionRows::gather(matrix, None).expect("all rows");
        assert_eq!(all.sample_indices, [0, 1, 2, 3, 4]);
        assert!(matches!(
            ProjectionRows::gather(matrix, Some(vec![])),
            Err(EmbedError::EmptyInput)
        ));
    }

    #[test]
    fn embed_setups_check_parameters_and_ask_for_their_neighbours() {
        let tsne = EmbedSetup {
            method: EmbedMethod::Tsne { perplexity: 50.0 },
            seed: 3,
        };
        assert_eq!(tsne.name(), "t-SNE");
        assert_eq!(tsne.neighbours_needed(10_000), 150);
        assert_eq!(tsne.neighbours_needed(40), 39, "capped at n - 1");
        assert_eq!(
            tsne.knn_params(10_000),
            KnnParams {
                seed: 3,
                ..KnnParams::new(150)
            }
        );
        assert_eq!(tsne.validate(0), Err(EmbedError::EmptyInput));

        let umap = EmbedSetup {
            method: EmbedMethod::Umap {
                n_neighbors: 20,
                min_dist: 0.01,
            },
            seed: 3,
        };
        assert_eq!(umap.name(), "UMAP");
        assert_eq!(umap.neighbours_needed(10_000), 19);
        assert!(umap.validate(100).is_ok());
        assert_eq!(
            umap.validate(10),
            Err(EmbedError::TooFewPoints {
                n_points: 10,
                needed: 20
            })
        );
        let one_neighbour = EmbedSetup {
            method: EmbedMethod::Umap {
                n_neighbors: 1,
                min_dist: 0.01,
            },
            seed: 0,
        };
        assert!(matches!(
            one_neighbour.validate(100),
            Err(EmbedError::InvalidParameter {
                name: "n_neighbors",
                ..
            })
        ));
    }

    /// The setup's job is the job the method's parameters make: same coordinates.
    #[test]
    fn an_embed_job_runs_like_the_method_job_it_wraps() {
        let values = Array2::from_shape_fn((60, 4), |(row, col)| {
            ((row * 13 + col * 5) % 17) as f32 + (row % 3) as f32 * 10.0
        });
        let rows = ProjectionRows::gather(&Matrix::F32(values.into()), None).expect("rows");
        let setup = EmbedSetup {
            method: EmbedMethod::Umap {
                n_neighbors: 10,
                min_dist: 0.1,
            },
            seed: 1,
        };
        setup.validate(rows.n_points()).expect("valid");
        let knn = Arc::new(
            knn_graph(rows.rows.clone(), setup.knn_params(rows.n_points())).expect("k-NN graph"),
        );
        let mut job = setup.job(rows.rows.clone(), knn.clone()).expect("job");
        assert!(job.current().is_none());
        let ours = run_to_end(&mut job, |_| {}).expect("embedding");
        assert!(job.umap_init_used().is_some());
        let params = UmapParams {
            n_neighbors: 10,
            min_dist: 0.1,
            seed: 1,
            ..UmapParams::default()
        };
        let mut direct = UmapJob::new(rows.rows.clone(), knn, params).expect("job");
        let theirs = run_to_end(&mut direct, |_| {}).expect("embedding");
        assert_eq!(ours, theirs);
        assert_eq!(ours.n_points, 60);
    }
}
