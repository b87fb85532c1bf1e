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
use pyo3::types::PyTuple;

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

fn lens_from(name: &str, k: usize) -> PyResult<Lens> {
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

/// The mapper's parameters as the Python functions give them, checked once by the core
/// ([`MapperParams::validate`], its rules and messages) when the object is made; every
/// entry point that needs a parameter takes this object. Pickled by its arguments, so Dask
/// ships it to the tasks. The lens is named only (`custom` for values given as an array):
/// its values are data, passed with the rows to [`mapper`] and [`assemble_graph`].
#[pyclass(frozen, module = "topoact._core", name = "MapperParams")]
struct PyParams {
    valid: ValidMapperParams,
    /// The constructor's arguments, in order (for pickling).
    args: ParamArgs,
}

/// [`PyParams`]'s constructor arguments.
#[derive(Clone)]
struct ParamArgs {
    lens: String,
    lens_k: usize,
    cover: String,
    n_intervals: usize,
    overlap: f64,
    eps: Option<f64>,
    eps_knn: usize,
    eps_quantile: f64,
    eps_per_interval: bool,
    min_samples: usize,
    min_intersection: usize,
    remove_duplicate_nodes: bool,
}

impl PyParams {
    fn params(&self) -> &MapperParams {
        self.valid.params()
    }

    /// These parameters with a custom lens of the given values (checked by the core again:
    /// finite values).
    fn with_lens_values(&self, values_by_sample: Vec<f64>) -> PyResult<ValidMapperParams> {
        MapperParams {
            lens: Lens::Custom {
                name: "custom".into(),
                values_by_sample,
            },
            ..self.params().clone()
        }
        .validate()
        .map_err(value_error)
    }

    /// `(k, quantile)` of a k-NN quantile epsilon; `ValueError` for an explicit one.
    fn knn_quantile(&self) -> PyResult<(usize, f64)> {
        match self.params().epsilon {
            Epsilon::KnnQuantile { k, quantile, .. } => Ok((k, quantile)),
            Epsilon::Explicit(_) => Err(PyValueError::new_err(
                "these parameters give epsilon explicitly: there is no k-NN quantile to compute",
            )),
        }
    }
}

#[pymethods]
impl PyParams {
    #[new]
    #[pyo3(signature = (lens, lens_k, cover, n_intervals, overlap, eps, eps_knn, eps_quantile,
        eps_per_interval, min_samples, min_intersection, remove_duplicate_nodes))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        lens: String,
        lens_k: usize,
        cover: String,
        n_intervals: usize,
        overlap: f64,
        eps: Option<f64>,
        eps_knn: usize,
        eps_quantile: f64,
        eps_per_interval: bool,
        min_samples: usize,
        min_intersection: usize,
        remove_duplicate_nodes: bool,
    ) -> PyResult<Self> {
        let args = ParamArgs {
            lens,
            lens_k,
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
        };
        let lens = match args.lens.as_str() {
            "custom" => Lens::Custom {
                name: "custom".into(),
                values_by_sample: Vec::new(),
            },
            name => lens_from(name, args.lens_k)?,
        };
        let epsilon = Epsilon::explicit_or_searched(
            args.eps,
            args.eps_knn,
            args.eps_quantile,
            args.eps_per_interval,
        );
        let valid = MapperParams {
            lens,
            cover: cover_from(&args.cover)?,
            n_intervals: args.n_intervals,
            overlap: args.overlap,
            epsilon,
            min_samples: args.min_samples,
            min_intersection: args.min_intersection,
            seed: 0,
            remove_duplicate_nodes: args.remove_duplicate_nodes,
        }
        .validate()
        .map_err(value_error)?;
        Ok(PyParams { valid, args })
    }

    /// Pickling: the class and its constructor's arguments.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let a = slf.get().args.clone();
        let args = (
            a.lens,
            a.lens_k,
            a.cover,
            a.n_intervals,
            a.overlap,
            a.eps,
            a.eps_knn,
            a.eps_quantile,
            a.eps_per_interval,
            a.min_samples,
            a.min_intersection,
            a.remove_duplicate_nodes,
        )
            .into_pyobject(py)?;
        Ok((slf.get_type().into_any(), args))
    }

    /// The lens's name as given (`custom` for lens values).
    #[getter]
    fn lens(&self) -> &str {
        &self.args.lens
    }

    /// DBSCAN's `min_samples`.
    #[getter]
    fn min_samples(&self) -> usize {
        self.params().min_samples
    }

    /// The explicit epsilon, or None when it is a k-NN quantile.
    #[getter]
    fn eps(&self) -> Option<f64> {
        match self.params().epsilon {
            Epsilon::Explicit(eps) => Some(eps),
            Epsilon::KnnQuantile { .. } => None,
        }
    }

    /// The `k` of a fixed (all-rows) k-NN quantile epsilon, else None.
    #[getter]
    fn global_eps_knn(&self) -> Option<usize> {
        match self.params().epsilon {
            Epsilon::KnnQuantile {
                k,
                per_interval: false,
                ..
            } => Some(k),
            _ => None,
        }
    }
}

fn lens_values(values: Option<PyReadonlyArray1<'_, f64>>) -> Option<Vec<f64>> {
    values.map(|v| v.as_array().iter().copied().collect())
}

/// The mapper graph of `x` as KeplerMapper's `map()` JSON, and the radius used when it is
/// one for all intervals.
#[pyfunction]
#[pyo3(signature = (x, params, lens_values, threads, progress=None))]
fn mapper(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    params: &PyParams,
    lens_values: Option<PyReadonlyArray1<'_, f64>>,
    threads: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, Option<f64>)> {
    let with_values;
    let params = match self::lens_values(lens_values) {
        Some(values) => {
            with_values = params.with_lens_values(values)?;
            &with_values
        }
        None => &params.valid,
    };
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
        let mut job = MapperJob::from_view(view, params)
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

/// The exact k-th-nearest-neighbour distance (self excluded; `k` of the parameters' k-NN
/// quantile epsilon) of rows `start..stop` of `reference`, among all its rows.
#[pyfunction]
fn kth_neighbour_distances<'py>(
    py: Python<'py>,
    reference: &Bound<'py, PyAny>,
    start: usize,
    stop: usize,
    params: &PyParams,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (k, _) = params.knn_quantile()?;
    let held = hold(reference, "the reference rows")?;
    let view = held.view();
    let kth = py
        .detach(|| parts::kth_neighbour_distances(view, start..stop, k))
        .map_err(value_error)?;
    Ok(kth.into_pyarray(py))
}

/// The rows (positions among `n`) whose exact k-th-NN distance chooses the join radius
/// (the one-call mapper's pilot sample).
#[pyfunction]
fn pilot_rows<'py>(py: Python<'py>, n: usize) -> Bound<'py, PyArray1<u64>> {
    let rows: Vec<u64> = parts::pilot_rows(n).into_iter().map(|r| r as u64).collect();
    rows.into_pyarray(py)
}

/// The join radius from the pilot rows' exact k-th-NN distances (the parameters' quantile),
/// or None when there is none.
#[pyfunction]
fn join_radius(pilot_kth: PyReadonlyArray1<'_, f64>, params: &PyParams) -> PyResult<Option<f64>> {
    let (_, quantile) = params.knn_quantile()?;
    Ok(parts::join_radius(pilot_kth.as_array().to_vec(), quantile))
}

/// The k smallest exact distances (`n_queries x k`, ascending, +inf padded) from each query
/// row to the rows of a reference block: `rows` holds the `n_reference` reference rows, then
/// the queries; `self_of_query[i]` is the reference row that is query `i` itself, or -1.
#[pyfunction]
fn block_knn<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    n_reference: usize,
    self_of_query: PyReadonlyArray1<'py, i64>,
    params: &PyParams,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (k, _) = params.knn_quantile()?;
    let own: Vec<Option<usize>> = self_of_query
        .as_array()
        .iter()
        .map(|&r| usize::try_from(r).ok())
        .collect();
    let held = hold(rows, "the reference and query rows")?;
    let view = held.view();
    let values = py
        .detach(|| parts::block_knn(view, n_reference, &own, k))
        .map_err(value_error)?;
    by_k(py, values, k)
}

/// The join at `radius` of two row blocks (`rows`: the first block's `n_first` rows, then
/// the second's; `n_first` = all rows for a block with itself): every row's k smallest exact
/// distances to the other block's rows within the join's candidates (`n x k`, ascending,
/// +inf padded).
#[pyfunction]
fn block_pair_kth<'py>(
    py: Python<'py>,
    rows: &Bound<'py, PyAny>,
    n_first: usize,
    radius: f64,
    params: &PyParams,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (k, _) = params.knn_quantile()?;
    let held = hold(rows, "the blocks' rows")?;
    let view = held.view();
    let values = py
        .detach(|| parts::block_pair_kth(view, n_first, k, radius))
        .map_err(value_error)?;
    by_k(py, values, k)
}

/// `values` (row-major, `k` a row) as an `n x k` array.
fn by_k(py: Python<'_>, values: Vec<f64>, k: usize) -> PyResult<Bound<'_, PyArray2<f64>>> {
    let n = values.len() / k;
    let array = numpy::ndarray::Array2::from_shape_vec((n, k), values)
        .map_err(|e| value_error(format!("distances of the wrong size: {e}")))?;
    Ok(array.into_pyarray(py))
}

/// The fixed epsilon from k-th-NN distances known up to `radius` (exact when <= radius,
/// only known to exceed it otherwise): the parameters' quantile when those determine it,
/// else None.
#[pyfunction]
fn epsilon_from_bounded_kth(
    kth: PyReadonlyArray1<'_, f64>,
    radius: f64,
    params: &PyParams,
) -> PyResult<Option<f64>> {
    let (k, quantile) = params.knn_quantile()?;
    parts::epsilon_from_bounded_kth(kth.as_array().to_vec(), radius, k, quantile)
        .map_err(value_error)
}

/// The fixed epsilon: numpy's quantile (the parameters') of every row's k-th-NN distance.
#[pyfunction]
fn epsilon_from_kth(kth: PyReadonlyArray1<'_, f64>, params: &PyParams) -> PyResult<f64> {
    let (k, quantile) = params.knn_quantile()?;
    let values: Vec<f64> = kth.as_array().iter().copied().collect();
    parts::epsilon_from_kth(values, k, quantile).map_err(value_error)
}

/// The parameters' per-row lens (l2, l1, mean, zeros) of every row of `x`, a block whose
/// first row is row `first_row` of the whole array (errors name rows by it).
#[pyfunction]
#[pyo3(signature = (x, params, first_row=0))]
fn lens_of_rows<'py>(
    py: Python<'py>,
    x: &Bound<'py, PyAny>,
    params: &PyParams,
    first_row: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let lens = &params.params().lens;
    let held = hold(x, "X")?;
    let view = held.view();
    let values = py
        .detach(|| parts::lens_of_rows(view, lens, first_row))
        .map_err(value_error)?;
    Ok(values.into_pyarray(py))
}

/// The parameters' cover of the lens values of all rows: the rows of each interval
/// (ascending), as uint32 arrays, one per interval centre.
#[pyfunction]
fn cover<'py>(
    py: Python<'py>,
    lens: PyReadonlyArray1<'py, f64>,
    params: &PyParams,
) -> PyResult<Vec<Bound<'py, PyArray1<u32>>>> {
    let values: Vec<f64> = lens.as_array().iter().copied().collect();
    let (_, members) = parts::cover(&values, &params.valid).map_err(value_error)?;
    Ok(members.into_iter().map(|m| m.into_pyarray(py)).collect())
}

/// DBSCAN of one interval's rows (all rows of `rows`, in order): the clusters in
/// scikit-learn's label order as lists of row positions, and the radius used: `eps` when
/// given (the fixed epsilon, explicit or computed over all rows), else the parameters'
/// epsilon (explicit, or the k-NN quantile among these rows when per interval).
#[pyfunction]
#[pyo3(signature = (rows, params, eps=None))]
fn cluster_interval(
    py: Python<'_>,
    rows: &Bound<'_, PyAny>,
    params: &PyParams,
    eps: Option<f64>,
) -> PyResult<(Vec<Vec<u32>>, f64)> {
    let epsilon = match eps {
        Some(eps) => Epsilon::Explicit(eps),
        None => params.params().epsilon,
    };
    let min_samples = params.params().min_samples;
    let held = hold(rows, "the interval's rows")?;
    let view = held.view();
    py.detach(|| parts::cluster_rows(view, epsilon, min_samples))
        .map_err(value_error)
}

/// KeplerMapper's `map()` JSON from each interval's clusters (`None` for an interval not
/// clustered), the cover recomputed from `lens`.
#[pyfunction]
fn assemble_graph(
    lens: PyReadonlyArray1<'_, f64>,
    clusters: Vec<Option<Vec<Vec<u32>>>>,
    eps_used: Vec<Option<f64>>,
    params: &PyParams,
    eps_global: Option<f64>,
) -> PyResult<String> {
    let values: Vec<f64> = lens.as_array().iter().copied().collect();
    // The lens only names itself in the record; its values are given.
    let params = &params.valid;
    let (intervals, members) = parts::cover(&values, params).map_err(value_error)?;
    let graph = parts::assemble_graph(
        params, &values, &intervals, &members, &clusters, &eps_used, eps_global,
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
    m.add_function(wrap_pyfunction!(pilot_rows, m)?)?;
    m.add_function(wrap_pyfunction!(join_radius, m)?)?;
    m.add_function(wrap_pyfunction!(block_knn, m)?)?;
    m.add_function(wrap_pyfunction!(block_pair_kth, m)?)?;
    m.add_function(wrap_pyfunction!(epsilon_from_bounded_kth, m)?)?;
    m.add_function(wrap_pyfunction!(lens_of_rows, m)?)?;
    m.add_function(wrap_pyfunction!(cover, m)?)?;
    m.add_function(wrap_pyfunction!(cluster_interval, m)?)?;
    m.add_function(wrap_pyfunction!(assemble_graph, m)?)?;
    m.add_function(wrap_pyfunction!(node_link_json, m)?)?;
    m.add_function(wrap_pyfunction!(read_graph_file, m)?)?;
    m.add_function(wrap_pyfunction!(thread_count, m)?)?;
    m.add_class::<PyParams>()?;
    m.add_function(wrap_pyfunction!(synth, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
