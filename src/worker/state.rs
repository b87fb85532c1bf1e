//! What the worker holds: the loaded dataset and the caches derived from it. Everything
//! here goes when another dataset is loaded ([`install_dataset`]).

use std::cell::RefCell;

use topoact_core::dataset::{Dataset, Layer};
use topoact_core::diagnostics::NormDiagnostics;
use topoact_core::mapper::MapperGraph;
use topoact_core::pipeline::{choose_samples, find_layer};

use super::projection::ProjectionCache;
use super::runtime::{self, Lane};
use crate::protocol::{GraphRequest, SubsampleChoice, WorkerError};

/// Mapper graphs kept for export.
const KEPT_MAPPER_GRAPHS: usize = 4;

#[derive(Default)]
pub(super) struct WorkerState {
    pub dataset: Option<Dataset>,
    /// Projections: cached rows, neighbour graph and finished projections.
    pub projections: ProjectionCache,
    /// Norm diagnostics of the last (layer, subsample) asked for.
    pub norms: Option<((String, SubsampleChoice), NormDiagnostics)>,
    /// The last computed (or imported) mapper graphs with everything the exports need.
    pub mapper_graphs: Vec<(GraphRequest, MapperGraph)>,
}

thread_local! {
    static STATE: RefCell<WorkerState> = RefCell::new(WorkerState::default());
}

/// Reads the state (no long work inside: the worker's event loop waits meanwhile).
pub(super) fn with_state<T>(read: impl FnOnce(&WorkerState) -> T) -> T {
    STATE.with_borrow(read)
}

/// Changes the state.
pub(super) fn with_state_mut<T>(change: impl FnOnce(&mut WorkerState) -> T) -> T {
    STATE.with_borrow_mut(change)
}

/// `read` of the loaded dataset, or [`WorkerError::NoDataset`].
pub(super) fn with_dataset<T>(
    read: impl FnOnce(&Dataset) -> Result<T, WorkerError>,
) -> Result<T, WorkerError> {
    with_state(|state| read(state.dataset.as_ref().ok_or(WorkerError::NoDataset)?))
}

/// Installs a newly loaded dataset; the caches of the previous one go with it, and a running
/// projection of it is cancelled.
pub(super) fn install_dataset(dataset: Dataset) {
    with_state_mut(|state| {
        state.dataset = Some(dataset);
        state.norms = None;
        state.mapper_graphs.clear();
        state.projections.clear();
    });
    runtime::cancel_lane(Lane::Projection);
}

/// The layer `name` of `dataset`.
pub(super) fn layer<'a>(dataset: &'a Dataset, name: &str) -> Result<&'a Layer, WorkerError> {
    Ok(find_layer(dataset, name)?)
}

/// The samples a computation runs on (`None`: all of them), as the subsample choice says.
pub(super) fn samples_in_use(dataset: &Dataset, choice: SubsampleChoice) -> Option<Vec<u32>> {
    choose_samples(
        dataset.labels.as_deref(),
        dataset.n_samples(),
        choice.size,
        choice.seed,
    )
}

/// Keeps `graph` for export (the last [`KEPT_MAPPER_GRAPHS`]).
pub(super) fn keep_mapper_graph(request: &GraphRequest, graph: &MapperGraph) {
    with_state_mut(|state| {
        state.mapper_graphs.retain(|(kept, _)| kept != request);
        state.mapper_graphs.push((request.clone(), graph.clone()));
        if state.mapper_graphs.len() > KEPT_MAPPER_GRAPHS {
            state.mapper_graphs.remove(0);
        }
    });
}

/// The kept graph of `request`, if any.
pub(super) fn kept_mapper_graph(request: &GraphRequest) -> Option<MapperGraph> {
    with_state(|state| {
        state
            .mapper_graphs
            .iter()
            .find(|(kept, _)| kept == request)
            .map(|(_, graph)| graph.clone())
    })
}
