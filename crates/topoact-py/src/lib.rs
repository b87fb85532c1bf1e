//! `topoact._core`: the TopoAct core seen from Python (PyO3). The Python package
//! (`python/topoact`) wraps these functions with defaults, checks and docstrings.
//!
//! Invariants:
//! - No computation here: every result comes from `topoact-core` (the mapper job, the
//!   embedding jobs, the mapper's stages in `mapper::parts`); this file only converts.
//! - Arrays are read in place (float16/32/64, any strides: C or Fortran order) through
//!   [`MatrixView`]; the core copies the rows it uses once, as for any input.
//! - The GIL is released while the core computes; between the jobs' bounded steps the
//!   thread re-attaches at most every [`CHECK_EVERY`] to run pending signal handlers
//!   (Ctrl-C raises `KeyboardInterrupt` and stops the job) and the progress callback.
//! - Core errors become `ValueError` with the core's message.

use std::sync::Arc;
use std::time::{Duration, Instant};

use half::f16;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use topoact_core::dataset::MatrixView;
use topoact_core::embed::knn::KnnJob;
use topoact_core::embed::EmbedRows;
use topoact_core::formats::graph_file::import_graph;
use topoact_core::job::{Job, Progress, Step};
use topoact_core::mapper::{
    parts, to_kmapper_json, to_node_link_json, CoverKind, Epsilon, Lens, MapperJob, MapperParams,
    ValidMapperParams,
};
use topoact_core::pipeline::{EmbedMethod, EmbedSetup};

/// Longest time between two looks at Python (signals, progress) during a computation.
const CHECK_EVERY: Duration = Duration::from_millis(100);

fn value_error(err: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(err.to_string())
}

/// A 2-D float array borrowed from Python (read-only for as long as it is held).
enum HeldMatrix<'py> {
    F16(PyReadonlyArray2<'py, f16>),
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

impl HeldMatrix<'_> {
    fn view(&self) -> MatrixView<'_> {
        match self {
            HeldMatrix::F16(a) => MatrixView::F16(a.as_array()),
            HeldMatrix::F32(a) => MatrixView::F32(a.as_array()),
            HeldMatrix::F64(a) => MatrixView::F64(a.as_array()),
        }
    }
}

fn hold<'py>(x: &Bound<'py, PyAny>, what: &str) -> PyResult<HeldMatrix<'py>> {
    if let Ok(a) = x.extract::<PyReadonlyArray2<'py, f32>>() {
        return Ok(HeldMatrix::F32(a));
    }
    if let Ok(a) = x.extract::<PyReadonlyArray2<'py, f64>>() {
        return Ok(HeldMatrix::F64(a));
    }
    if let Ok(a) = x.extract::<PyReadonlyArray2<'py, f16>>() {
        return Ok(HeldMatrix::F16(a));
    }
    Err(PyValueError::new_err(format!(
        "{what} must be a 2-D NumPy array of float16, float32 or float64 values"
    )))
}

/// Why a job stopped early: the core's error, or Python's (a signal handler's exception,
/// e.g. `KeyboardInterrupt`, or the progress callback's).
enum Stop<E> {
    Core(E),
    Python(PyErr),
}

impl<E: std::fmt::Display> From<Stop<E>> for PyErr {
    fn from(stop: Stop<E>) -> PyErr {
        match stop {
            Stop::Core(err) => value_error(err),
            Stop::Python(err) => err,
        }
    }
}

/// Looks at Python between steps: pending signals, then the progress callback (on a new
/// stage, and at most every [`CHECK_EVERY`]).
struct Watcher<'a> {
    progress: Option<&'a Py<PyAny>>,
    last_check: Instant,
    last_stage: String,
}

impl<'a> Watcher<'a> {
    fn new(progress: Option<&'a Py<PyAny>>) -> Self {
        Watcher {
            progress,
            last_check: Instant::now(),
            last_stage: String::new(),
        }
    }

    fn report(&mut self, p: &Progress) -> PyResult<()> {
        let new_stage = p.stage != self.last_stage;
        if !new_stage && self.last_check.elapsed() < CHECK_EVERY {
            return Ok(());
        }
        self.last_check = Instant::now();
        if new_stage {
            self.last_stage.clone_from(&p.stage);
        }
        Python::attach(|py| {
            py.check_signals()?;
            if let Some(callback) = self.progress {
                callback.call1(py, (p.stage.as_str(), p.done, p.total))?;
            }
            Ok(())
        })
    }
}

/// Runs a job to its end, watching Python between steps. Call with the GIL released.
fn run<J: Job>(job: &mut J, watcher: &mut Watcher<'_>) -> Result<J::Output, Stop<J::Error>> {
    loop {
        match job.step().map_err(Stop::Core)? {
            Step::Running(p) => watcher.report(&p).map_err(Stop::Python)?,
            Step::Done(output) => return Ok(output),
        }
    }
}

fn lens_from(name: &str, k: usize, values: Option<Vec<f64>>) -> PyResult<Lens> {
    if let Some(values_by_sample) = values {
        return Ok(Lens::Custom {
            name: "custom".into(),
            values_by_sample,
        });
    }
    Ok(match name {
        "l2" | "l2norm" => Lens::L2Norm,
        "l1" | "l1norm" => Lens::L1Norm,
        "mean" => Lens::Mean,
        "zeros" | "fraction_zeros" => Lens::FractionZeros,
        "pc1" => Lens::FirstPrincipalComponent,
        "knn" => Lens::KnnDistance { k },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown lens '{other}'; the lenses are: l2, l1, mean, zeros, pc1, knn, or a 1-D array of one value per row"
            )))
        }
    })
}

fn cover_from(name: &str) -> PyResult<CoverKind> {
    match name {
        "uniform" => Ok(CoverKind::Uniform),
        "balanced" => Ok(CoverKind::Balanced),
        other => Err(PyValueError::new_err(format!(
            "unknown cover '{other}'; the covers are: uniform, balanced"
        ))),
    }
}

/// The mapper's parameters, as the Python functions take them (one place for all).
#[allow(clippy::too_many_arguments)]
fn params_from(
    lens: Lens,
    cover: &str,
    n_intervals: usize,
    overlap: f64,
    eps: Option<f64>,
    eps_knn: usize,
    eps_quantile: f64,
    eps_per_interval: bool,
    min_samples: usize,
    min_intersection: usize,
    remove_duplicate_nodes: bool,
) -> PyResult<ValidMapperParams> {
    let epsilon = match eps {
        Some(eps) => Epsilon::Explicit(eps),
        None => Epsilon::KnnQuantile {
            k: eps_knn,
            quantile: eps_quantile,
            per_interval: eps_per_interval,
        },
    };
    MapperParams {
        lens,
        cover: cover_from(cover)?,
        n_intervals,
        overlap,
        epsilon,
        min_samples,
        min_intersection,
        seed: 0,
        remove_duplicate_nodes,
    }
    .validate()
    .map_err(value_error)
}

fn lens_values(values: Option<PyReadonlyArray1<'_, f64>>) -> Option<Vec<f64>> {
    values.map(|v| v.as_array().iter().copied().collect())
}

/// The mapper graph of `x` as KeplerMapper's `map()` JSON, and the radius used when it is
/// one for all intervals.
#[pyfunction]
#[pyo3(signature = (x, lens, lens_values, lens_k, cover, n_intervals, overlap, eps, eps_knn,
    eps_quantile, eps_per_interval, min_samples, min_intersection, remove_duplicate_nodes,
    threads, progress=None))]
#[allow(clippy::too_many_arguments)]
fn mapper(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    lens: &str,
    lens_values: Option<PyReadonlyArray1<'_, f64>>,
    lens_k: usize,
    cover: &str,
    n_intervals: usize,
    overlap: f64,
    eps: Option<f64>,
    eps_knn: usize,
    eps_quantile: f64,
    eps_per_interval: bool,
    min_samples: usize,
    min_intersection: usize,
    remove_duplicate_nodes: bool,
    threads: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, Option<f64>)> {
    let lens = lens_from(lens, lens_k, self::lens_values(lens_values))?;
    let params = params_from(
        lens,
        cover,
        n_intervals,
        overlap,
        eps,
        eps_knn,
        eps_quantile,
        eps_per_interval,
        min_samples,
        min_intersection,
        remove_duplicate_nodes,
    )?;
    let held = hold(x, "X")?;
    let view = held.view();
    let progress = progress.as_ref();
    let graph = py.detach(|| -> PyResult<_> {
        let mut watcher = Watcher::new(progress);
        let threads = if threads == 0 {
            rayon::current_num_threads()
        } else {
            threads
        };
        let mut job = MapperJob::from_view(view, &params)
            .map_err(value_error)?
            .with_step_threads(threads);
        Ok(run(&mut job, &mut watcher)?)
    })?;
    Ok((to_kmapper_json(&graph), graph.params.eps_global))
}

/// A 2-D embedding (`n x 2`, float32) of the rows of `x` by UMAP or t-SNE.
#[pyfunction]
#[pyo3(signature = (x, method, perplexity, n_neighbors, min_dist, seed, progress=None))]
#[allow(clippy::too_many_arguments)]
fn embed<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    method: &str,
    perplexity: f64,
    n_neighbors: usize,
    min_dist: f64,
    seed: u64,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let method = match method {
        "umap" => EmbedMethod::Umap {
            n_neighbors,
            min_dist,
        },
        "tsne" => EmbedMethod::Tsne { perplexity },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown method '{other}'; the methods are: umap, tsne"
            )))
        }
    };
    let setup = EmbedSetup { method, seed };
    let held = hold(x, "X")?;
    let view = held.view();
    let progress = progress.as_ref();
    let (n_points, coords) = py.detach(|| -> PyResult<_> {
        let rows = Arc::new(EmbedRows::gather_view(view, None).map_err(value_error)?);
        let n_points = rows.n_points;
        setup.validate(n_points).map_err(value_error)?;
        let mut watcher = Watcher::new(progress);
        let mut knn_job =
            KnnJob::new(rows.clone(), setup.knn_params(n_points)).map_err(value_error)?;
        let knn = Arc::new(run(&mut knn_job, &mut watcher)?);
        let mut job = setup.job(rows, knn).map_err(value_error)?;
        let embedding = run(&mut job, &mut watcher)?;
        Ok((n_points, embedding.coords))
    })?;
    let array = numpy::ndarray::Array2::from_shape_vec((n_points, 2), coords)
        .map_err(|e| value_error(format!("embedding of the wrong size: {e}")))?;
    Ok(array.into_pyarray(py))
}

/// The exact k-th-nearest-neighbour distance (self excluded) of rows `start..stop` of
/// `reference`, among all its rows.
#[pyfunction]
fn kth_neighbour_distances<'py>(
    py: Python<'py>,
    reference: &Bound<'py, PyAny>,
    start: usize,
    stop: usize,
    k: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let held = hold(reference, "the reference rows")?;
    let view = held.view();
    let kth = py
        .detach(|| parts::kth_neighbour_distances(view, start..stop, k))
        .map_err(value_error)?;
    Ok(kth.into_pyarray(py))
}

/// The fixed epsilon: numpy's quantile of every row's k-th-NN distance.
#[pyfunction]
fn epsilon_from_kth(kth: PyReadonlyArray1<'_, f64>, k: usize, quantile: f64) -> PyResult<f64> {
    let values: Vec<f64> = kth.as_array().iter().copied().collect();
    parts::epsilon_from_kth(values, k, quantile).map_err(value_error)
}

/// A per-row lens (l2, l1, mean, zeros) of every row of `x`.
#[pyfunction]
fn lens_of_rows<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    lens: &str,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let lens = lens_from(lens, 1, None)?;
    let held = hold(x, "X")?;
    let view = held.view();
    let values = py
        .detach(|| parts::lens_of_rows(view, &lens))
        .map_err(value_error)?;
    Ok(values.into_pyarray(py))
}

/// The cover of the lens values of all rows: the rows of each interval (ascending), as
/// uint32 arrays, one per interval centre.
#[pyfunction]
fn cover<'py>(
    py: Python<'py>,
    lens: PyReadonlyArray1<'py, f64>,
    cover: &str,
    n_intervals: usize,
    overlap: f64,
) -> PyResult<Vec<Bound<'py, PyArray1<u32>>>> {
    let values: Vec<f64> = lens.as_array().iter().copied().collect();
    let params = params_from(
        Lens::L2Norm,
        cover,
        n_intervals,
        overlap,
        Some(1.0),
        1,
        0.5,
        false,
        1,
        1,
        false,
    )?;
    let (_, members) = parts::cover(&values, &params).map_err(value_error)?;
    Ok(members.into_iter().map(|m| m.into_pyarray(py)).collect())
}

/// DBSCAN of one interval's rows (all rows of `rows`, in order): the clusters in
/// scikit-learn's label order as lists of row positions, and the radius used (`eps`, or
/// the `eps_quantile` of the `eps_knn`-th-NN distance among these rows when `eps` is None).
#[pyfunction]
#[pyo3(signature = (rows, eps, min_samples, eps_knn=5, eps_quantile=0.5))]
fn cluster_interval(
    py: Python<'_>,
    rows: &Bound<'_, PyAny>,
    eps: Option<f64>,
    min_samples: usize,
    eps_knn: usize,
    eps_quantile: f64,
) -> PyResult<(Vec<Vec<u32>>, f64)> {
    let epsilon = match eps {
        Some(eps) => Epsilon::Explicit(eps),
        None => Epsilon::KnnQuantile {
            k: eps_knn,
            quantile: eps_quantile,
            per_interval: true,
        },
    };
    let held = hold(rows, "the interval's rows")?;
    let view = held.view();
    py.detach(|| parts::cluster_rows(view, epsilon, min_samples))
        .map_err(value_error)
}

/// KeplerMapper's `map()` JSON from each interval's clusters (`None` for an interval not
/// clustered), the cover recomputed from `lens`.
#[pyfunction]
#[pyo3(signature = (lens, clusters, eps_used, lens_name, cover, n_intervals, overlap, eps,
    eps_knn, eps_quantile, eps_per_interval, min_samples, min_intersection,
    remove_duplicate_nodes, eps_global))]
#[allow(clippy::too_many_arguments)]
fn assemble_graph(
    lens: PyReadonlyArray1<'_, f64>,
    clusters: Vec<Option<Vec<Vec<u32>>>>,
    eps_used: Vec<Option<f64>>,
    lens_name: &str,
    cover: &str,
    n_intervals: usize,
    overlap: f64,
    eps: Option<f64>,
    eps_knn: usize,
    eps_quantile: f64,
    eps_per_interval: bool,
    min_samples: usize,
    min_intersection: usize,
    remove_duplicate_nodes: bool,
    eps_global: Option<f64>,
) -> PyResult<String> {
    let values: Vec<f64> = lens.as_array().iter().copied().collect();
    // The lens only names itself in the record; its values are given.
    let lens_record = match lens_name {
        "custom" => Lens::Custom {
            name: "custom".into(),
            values_by_sample: Vec::new(),
        },
        name => lens_from(name, eps_knn, None)?,
    };
    let params = params_from(
        lens_record,
        cover,
        n_intervals,
        overlap,
        eps,
        eps_knn,
        eps_quantile,
        eps_per_interval,
        min_samples,
        min_intersection,
        remove_duplicate_nodes,
    )?;
    let (intervals, members) = parts::cover(&values, &params).map_err(value_error)?;
    let graph = parts::assemble_graph(
        &params, &values, &intervals, &members, &clusters, &eps_used, eps_global,
    )
    .map_err(value_error)?;
    Ok(to_kmapper_json(&graph))
}

/// TopoAct's node-link JSON (what the browser app opens) from a graph file's text
/// (KeplerMapper's dict or node-link JSON), read by the app's own importer.
#[pyfunction]
fn node_link_json(text: &str) -> PyResult<String> {
    let imported = import_graph(text.as_bytes()).map_err(value_error)?;
    Ok(to_node_link_json(&imported.to_mapper_graph()).to_string())
}

/// What the browser app's importer makes of a graph file: (format, nodes, edges).
#[pyfunction]
fn read_graph_file(bytes: &[u8]) -> PyResult<(String, usize, usize)> {
    let imported = import_graph(bytes).map_err(value_error)?;
    let format = serde_json::to_value(imported.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok((format, imported.nodes.len(), imported.edges.len()))
}

/// Checks the mapper's parameters (the core's rules and messages) without data.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn check_params(
    lens_name: &str,
    cover: &str,
    n_intervals: usize,
    overlap: f64,
    eps: Option<f64>,
    eps_knn: usize,
    eps_quantile: f64,
    eps_per_interval: bool,
    min_samples: usize,
    min_intersection: usize,
    remove_duplicate_nodes: bool,
) -> PyResult<()> {
    let lens = match lens_name {
        "custom" => Lens::Custom {
            name: "custom".into(),
            values_by_sample: Vec::new(),
        },
        name => lens_from(name, eps_knn.max(1), None)?,
    };
    params_from(
        lens,
        cover,
        n_intervals,
        overlap,
        eps,
        eps_knn,
        eps_quantile,
        eps_per_interval,
        min_samples,
        min_intersection,
        remove_duplicate_nodes,
    )?;
    Ok(())
}

/// Rows and their labels, as NumPy arrays.
type RowsAndLabels<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray1<u32>>);

/// Activation-like synthetic rows (`topoact synth`'s generator): (n x dim float32, labels).
#[pyfunction]
fn synth<'py>(py: Python<'py>, n: usize, dim: usize, seed: u64) -> PyResult<RowsAndLabels<'py>> {
    if n == 0 || dim == 0 {
        return Err(PyValueError::new_err("n and dim must be at least 1"));
    }
    let (x, labels, _) = py.detach(|| topoact_core::mapper::synth::activation_like(n, dim, seed));
    Ok((x.into_pyarray(py), labels.into_pyarray(py)))
}

/// Threads the core's parallel stages use (rayon's global pool).
#[pyfunction]
fn thread_count() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mapper, m)?)?;
    m.add_function(wrap_pyfunction!(embed, m)?)?;
    m.add_function(wrap_pyfunction!(kth_neighbour_distances, m)?)?;
    m.add_function(wrap_pyfunction!(epsilon_from_kth, m)?)?;
    m.add_function(wrap_pyfunction!(lens_of_rows, m)?)?;
    m.add_function(wrap_pyfunction!(cover, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_interval, m)?)?;
    m.add_function(wrap_pyfunction!(assemble_graph, m)?)?;
    m.add_function(wrap_pyfunction!(node_link_json, m)?)?;
    m.add_function(wrap_pyfunction!(read_graph_file, m)?)?;
    m.add_function(wrap_pyfunction!(thread_count, m)?)?;
    m.add_function(wrap_pyfunction!(check_params, m)?)?;
    m.add_function(wrap_pyfunction!(synth, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
