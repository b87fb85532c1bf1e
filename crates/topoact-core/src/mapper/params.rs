//! Mapper parameters: the user-facing [`MapperParams`], checked once by
//! [`MapperParams::validate`] into [`ValidMapperParams`], and the typed [`MapperError`].

use serde::{Deserialize, Serialize};

/// Which per-sample function ("lens", "filter") the cover is built on. All lenses are float64.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lens {
    /// Euclidean norm of the activation vector, summed in float64 from the stored values.
    L2Norm,
    /// Sum of absolute values.
    L1Norm,
    /// Mean activation (sum / dim).
    Mean,
    /// Fraction of exactly-zero coordinates (dead ReLUs).
    FractionZeros,
    /// Projection onto the first principal component of the samples in use (centred,
    /// float64 power iteration; sign chosen so the largest-magnitude loading is positive,
    /// as scikit-learn's `svd_flip` does).
    FirstPrincipalComponent,
    /// Mean exact distance to the `k` nearest other samples (self excluded): low in dense
    /// regions, high in sparse ones.
    KnnDistance { k: usize },
    /// A caller-supplied value per sample, indexed by the ORIGINAL dataset's `sample_idx`
    /// (length = number of rows of the matrix, whatever subset is used).
    Custom {
        name: String,
        values_by_sample: Vec<f64>,
    },
}

impl Lens {
    /// Short stable name, used in exports (`meta_data.projection`).
    pub fn name(&self) -> String {
        match self {
            Lens::L2Norm => "l2norm".into(),
            Lens::L1Norm => "l1norm".into(),
            Lens::Mean => "mean".into(),
            Lens::FractionZeros => "fraction_zeros".into(),
            Lens::FirstPrincipalComponent => "pc1".into(),
            Lens::KnnDistance { k } => format!("knn{k}_distance"),
            Lens::Custom { name, .. } => name.clone(),
        }
    }
}

/// How the lens range is cut into overlapping intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverKind {
    /// KeplerMapper 2.1.0 `Cover(n_cubes, perc_overlap)` on the lens itself.
    Uniform,
    /// The uniform cover applied to the rank lens `rank / (N - 1)` (ordinal ranks, ties
    /// broken by row order): intervals of (almost) equal sample counts.
    Balanced,
}

/// How DBSCAN's radius is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Epsilon {
    /// This radius, for every interval.
    Explicit(f64),
    /// A quantile of the exact k-th-nearest-neighbour distance (self not counted, i.e.
    /// scikit-learn's `NearestNeighbors(n_neighbors=k+1).kneighbors(X)[0][:, k]`).
    ///
    /// The distance is exact float64, `sqrt(sum((x - y)^2))` summed in coordinate order
    /// (scikit-learn's brute force computes it through `|x|^2 + |y|^2 - 2 x.y` and so differs
    /// by ~1e-13 relative; pass `Explicit` to reuse its value bit for bit).
    ///
    /// `per_interval = false` ("fixed"): one radius from all samples in use; a quantile of 0
    /// (duplicates) is an error ([`MapperError::ZeroEpsilon`]).
    /// `per_interval = true` ("adaptive"): inside each interval, the statistic over that
    /// interval's samples with neighbours searched among that interval's samples only; `k`
    /// is clamped to `interval size - 1`, and a zero statistic becomes the smallest positive
    /// float (only exact duplicates join).
    /// Quantiles follow numpy: `quantile == 0.5` is `np.median` (mean of the two middle
    /// values), any other is `np.quantile(..., method="linear")`.
    KnnQuantile {
        k: usize,
        quantile: f64,
        per_interval: bool,
    },
}

impl Epsilon {
    /// KeplerMapper-style arguments: `eps` if given, otherwise the `quantile` of the
    /// `k`-th-neighbour distance (per interval or over the whole layer). The CLI and the
    /// Python package read their options through this.
    pub fn explicit_or_searched(
        eps: Option<f64>,
        k: usize,
        quantile: f64,
        per_interval: bool,
    ) -> Self {
        match eps {
            Some(eps) => Epsilon::Explicit(eps),
            None => Epsilon::KnnQuantile {
                k,
                quantile,
                per_interval,
            },
        }
    }
}

impl Default for Epsilon {
    fn default() -> Self {
        Epsilon::KnnQuantile {
            k: 5,
            quantile: 0.5,
            per_interval: false,
        }
    }
}

/// Everything that defines a mapper graph. Defaults are the app's: L2 lens, uniform cover,
/// 30 intervals, 30 % overlap, eps = median 5th-NN distance, `min_samples = 5`,
/// `min_intersection = 1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapperParams {
    pub lens: Lens,
    pub cover: CoverKind,
    pub n_intervals: usize,
    /// Overlap fraction `p` in `[0, 1)` (KeplerMapper's `perc_overlap`).
    pub overlap: f64,
    pub epsilon: Epsilon,
    /// DBSCAN `min_samples` (the point itself counts); also KeplerMapper's minimum interval
    /// size: intervals with fewer samples produce no node.
    pub min_samples: usize,
    /// Nerve: two nodes are linked when they share at least this many samples (>= 1 here:
    /// KeplerMapper's 0 would link every pair).
    pub min_intersection: usize,
    /// Recorded in the output only (the subsample seed); the mapper itself is deterministic.
    pub seed: u64,
    /// KeplerMapper's `remove_duplicate_nodes`: nodes with identical member sets merge into
    /// the first of them, named by joining their names with `-`, before the nerve.
    #[serde(default)]
    pub remove_duplicate_nodes: bool,
}

impl Default for MapperParams {
    fn default() -> Self {
        MapperParams {
            lens: Lens::L2Norm,
            cover: CoverKind::Uniform,
            n_intervals: 30,
            overlap: 0.3,
            epsilon: Epsilon::default(),
            min_samples: 5,
            min_intersection: 1,
            seed: 0,
            remove_duplicate_nodes: false,
        }
    }
}

/// Parameters that passed [`MapperParams::validate`]; the only thing the engine accepts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValidMapperParams(pub(crate) MapperParams);

impl ValidMapperParams {
    pub fn params(&self) -> &MapperParams {
        &self.0
    }
}

impl MapperParams {
    /// The benchmarks' settings (issue 22's table, the bench page, the native probes), written
    /// out so their figures do not move with the app's defaults: L2 lens, 30 intervals, 30 %
    /// overlap, eps = median 5th-NN distance (one for all intervals), `min_samples` 5.
    pub fn benchmark(cover: CoverKind) -> MapperParams {
        MapperParams {
            lens: Lens::L2Norm,
            cover,
            n_intervals: 30,
            overlap: 0.3,
            epsilon: Epsilon::KnnQuantile {
                k: 5,
                quantile: 0.5,
                per_interval: false,
            },
            min_samples: 5,
            min_intersection: 1,
            seed: 0,
            remove_duplicate_nodes: false,
        }
    }

    /// Checks every constraint that does not depend on the data.
    pub fn validate(self) -> Result<ValidMapperParams, MapperError> {
        if self.n_intervals == 0 {
            return Err(MapperError::ZeroIntervals);
        }
        if !(self.overlap >= 0.0 && self.overlap < 1.0) {
            return Err(MapperError::OverlapOutOfRange(self.overlap));
        }
        if self.min_samples == 0 {
            return Err(MapperError::ZeroMinSamples);
        }
        if self.min_intersection == 0 {
            return Err(MapperError::ZeroMinIntersection);
        }
        match self.epsilon {
            Epsilon::Explicit(eps) => {
                if !(eps > 0.0 && eps.is_finite()) {
                    return Err(MapperError::InvalidEpsilon(eps));
                }
            }
            Epsilon::KnnQuantile { k, quantile, .. } => {
                if k == 0 {
                    return Err(MapperError::ZeroNeighbours);
                }
                if !(0.0..=1.0).contains(&quantile) {
                    return Err(MapperError::QuantileOutOfRange(quantile));
                }
            }
        }
        match &self.lens {
            Lens::KnnDistance { k } if *k == 0 => return Err(MapperError::ZeroNeighbours),
            Lens::Custom {
                values_by_sample, ..
            } => {
                if let Some(sample_idx) = values_by_sample.iter().position(|v| !v.is_finite()) {
                    return Err(MapperError::NonFiniteLens { sample_idx });
                }
            }
            _ => {}
        }
        Ok(ValidMapperParams(self))
    }
}

/// Everything that can stop a mapper computation, each with a message meant for a person.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MapperError {
    #[error("the number of intervals must be at least 1")]
    ZeroIntervals,
    #[error("the overlap must be in [0, 1), got {0}")]
    OverlapOutOfRange(f64),
    #[error("DBSCAN epsilon must be a finite number > 0, got {0}")]
    InvalidEpsilon(f64),
    #[error("DBSCAN min_samples must be at least 1")]
    ZeroMinSamples,
    #[error("the nerve's minimum intersection must be at least 1")]
    ZeroMinIntersection,
    #[error("the number of nearest neighbours k must be at least 1")]
    ZeroNeighbours,
    #[error("the epsilon quantile must be in [0, 1], got {0}")]
    QuantileOutOfRange(f64),
    #[error("no samples to map (empty input or empty subset)")]
    EmptyInput,
    #[error("the activation vectors have no coordinates (dimension 0)")]
    ZeroDimension,
    #[error("sample index {sample_idx} in the subset is out of range (the data has {n_samples} samples)")]
    SampleOutOfRange { sample_idx: u32, n_samples: usize },
    #[error("{what} has {got} entries but the data has {expected} samples")]
    LengthMismatch {
        what: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("the lens is not finite (NaN or infinite) at sample {sample_idx}")]
    NonFiniteLens { sample_idx: usize },
    #[error("the activation values are not finite at sample {sample_idx}")]
    NonFiniteData { sample_idx: usize },
    #[error("the lens is constant ({value}) over all samples: every interval would hold every sample (KeplerMapper would emit {n_intervals} identical nodes); choose another lens")]
    ConstantLens { value: f64, n_intervals: usize },
    #[error("k = {k} nearest neighbours need at least {needed} samples, got {got}")]
    TooFewSamplesForKnn { k: usize, needed: usize, got: usize },
    #[error("this mapper job has already returned its graph")]
    AlreadyFinished,
    #[error("the {quantile} quantile of the {k}-th-nearest-neighbour distance is 0 (many exact duplicates); set epsilon explicitly")]
    ZeroEpsilon { k: usize, quantile: f64 },
    #[error("the lens '{0}' needs all rows at once; it cannot be computed block by block")]
    NotPerRowLens(String),
    #[error(
        "a fixed epsilon is a quantile over all rows: compute it first and pass it explicitly"
    )]
    GlobalEpsilonNeeded,
    #[error("interval {interval_idx} has enough rows to be clustered but no clusters were given")]
    MissingInterval { interval_idx: usize },
}
