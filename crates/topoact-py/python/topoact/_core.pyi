"""Type stubs of ``topoact._core``, the Rust extension (PyO3). The public API is
``topoact.mapper``, ``topoact.embed``, ``topoact.write_graph`` and
``topoact.distributed.mapper``; these are their building blocks."""

from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

_Progress = Callable[[str, int, int], Any]

class MapperParams:
    """The mapper's parameters, checked by the core when made (``ValueError`` with its
    message); every mapper entry point below takes them. Picklable (Dask ships them)."""

    def __init__(
        self,
        lens: str,
        lens_k: int,
        cover: str,
        n_intervals: int,
        overlap: float,
        eps: Optional[float],
        eps_knn: int,
        eps_quantile: float,
        eps_per_interval: bool,
        min_samples: int,
        min_intersection: int,
        remove_duplicate_nodes: bool,
    ) -> None: ...
    @property
    def lens(self) -> str:
        """The lens's name as given (``custom`` for lens values)."""
    @property
    def min_samples(self) -> int: ...
    @property
    def eps(self) -> Optional[float]:
        """The explicit epsilon, or None when it is a k-NN quantile."""
    @property
    def global_eps_knn(self) -> Optional[int]:
        """The ``k`` of a fixed (all-rows) k-NN quantile epsilon, else None."""

def mapper(
    x: npt.NDArray[np.floating[Any]],
    params: MapperParams,
    lens_values: Optional[npt.NDArray[np.float64]],
    threads: int,
    progress: Optional[_Progress] = None,
) -> Tuple[str, Optional[float]]:
    """KeplerMapper's ``map()`` dict as JSON text, and the radius used (None per interval)."""

def embed(
    x: npt.NDArray[np.floating[Any]],
    method: str,
    perplexity: float,
    n_neighbors: int,
    min_dist: float,
    seed: int,
    progress: Optional[_Progress] = None,
) -> npt.NDArray[np.float32]:
    """An ``(n, 2)`` UMAP or t-SNE embedding."""

def kth_neighbour_distances(
    reference: npt.NDArray[np.floating[Any]], start: int, stop: int, params: MapperParams
) -> npt.NDArray[np.float64]:
    """Exact k-th-NN distance (self excluded) of rows ``start:stop`` among all rows."""

def pilot_rows(n: int) -> npt.NDArray[np.uint64]:
    """The rows whose exact k-th-NN distance chooses the join radius (the mapper's pilot)."""

def join_radius(pilot_kth: npt.NDArray[np.float64], params: MapperParams) -> Optional[float]:
    """The join radius from the pilot rows' exact k-th-NN distances, or None."""

def block_knn(
    rows: npt.NDArray[np.floating[Any]],
    n_reference: int,
    self_of_query: npt.NDArray[np.int64],
    params: MapperParams,
) -> npt.NDArray[np.float64]:
    """The k smallest exact distances (n_queries x k, +inf padded) from each query (the rows
    after the first ``n_reference``) to the reference rows; ``self_of_query[i]``: the
    reference row that is query i itself, or -1."""

def block_pair_kth(
    rows: npt.NDArray[np.floating[Any]], n_first: int, radius: float, params: MapperParams
) -> npt.NDArray[np.float64]:
    """The join at ``radius`` of the first ``n_first`` rows with the rest (or of one block with
    itself when ``n_first`` is all rows): each row's k smallest exact distances found (n x k)."""

def epsilon_from_bounded_kth(
    kth: npt.NDArray[np.float64], radius: float, params: MapperParams
) -> Optional[float]:
    """The quantile of k-th-NN distances exact up to ``radius``, or None if they do not fix it."""

def epsilon_from_kth(kth: npt.NDArray[np.float64], params: MapperParams) -> float:
    """numpy's quantile of the k-th-NN distances (``np.median`` for 0.5); 0 is an error."""

def lens_of_rows(
    x: npt.NDArray[np.floating[Any]], params: MapperParams, first_row: int = 0
) -> npt.NDArray[np.float64]:
    """The parameters' per-row lens (l2, l1, mean, zeros) of every row of a block whose first
    row is ``first_row`` (errors name rows by it)."""

def cover(lens: npt.NDArray[np.float64], params: MapperParams) -> List[npt.NDArray[np.uint32]]:
    """The rows of each interval (ascending), one array per interval centre."""

def cluster_interval(
    rows: npt.NDArray[np.floating[Any]], params: MapperParams, eps: Optional[float] = None
) -> Tuple[List[List[int]], float]:
    """DBSCAN of one interval's rows: clusters (row positions) in label order, radius used."""

def assemble_graph(
    lens: npt.NDArray[np.float64],
    clusters: Sequence[Optional[Sequence[Sequence[int]]]],
    eps_used: Sequence[Optional[float]],
    params: MapperParams,
    eps_global: Optional[float],
) -> str:
    """KeplerMapper's ``map()`` JSON from each interval's clusters (nodes, nerve)."""

def node_link_json(text: str) -> str:
    """TopoAct's node-link JSON from a graph file's text (the app's importer)."""

def read_graph_file(bytes: bytes) -> Tuple[str, int, int]:
    """(format, nodes, edges) as the browser app's importer reads a graph file."""

def synth(n: int, dim: int, seed: int) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.uint32]]:
    """Activation-like synthetic rows and their component labels."""

def thread_count() -> int:
    """Threads of the core's pool."""
