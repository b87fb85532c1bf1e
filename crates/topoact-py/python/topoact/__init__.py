"""TopoAct from Python: mapper graphs of activation vectors, node for node KeplerMapper 2.1's
(with scikit-learn's DBSCAN), computed by TopoAct's Rust core; UMAP and t-SNE; and the
mapper spread over a Dask cluster (:mod:`topoact.distributed`).

>>> import numpy as np, topoact
>>> X = np.random.default_rng(0).normal(size=(2000, 64)).astype(np.float32)
>>> graph = topoact.mapper(X, n_intervals=10, overlap=0.3)      # KeplerMapper's dict
>>> sorted(graph)
['links', 'meta_data', 'meta_nodes', 'nodes', 'simplices']
>>> topoact.write_graph(graph, "graph.json")                   # opens in the browser app

The computation releases the GIL; Ctrl-C interrupts it (``KeyboardInterrupt``); bad
parameters or inputs raise ``ValueError`` with the core's message.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Optional, Union

import numpy as np

from . import _core

__all__ = ["mapper", "embed", "write_graph", "synth", "check_matrix", "LENSES", "COVERS"]
__version__ = _core.__version__

#: The lenses by name (a 1-D array of one value per row is also a lens).
LENSES = ("l2", "l1", "mean", "zeros", "pc1", "knn")
#: The covers: KeplerMapper's ``Cover(n, overlap)`` on the lens, or on its rank (equal counts).
COVERS = ("uniform", "balanced")

Progress = Callable[[str, int, int], Any]


def check_matrix(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a 2-D NumPy float array (float16, float32 or float64, any order), without a
    copy when it already is one; ``ValueError`` saying what is wrong otherwise."""
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except Exception as err:  # noqa: BLE001 - any conversion failure is bad input
            raise ValueError(f"{name} is not an array: {err}") from err
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (samples x features), got a {arr.ndim}-D array of shape {arr.shape}"
        )
    if arr.dtype.kind != "f" or arr.dtype.itemsize not in (2, 4, 8):
        raise ValueError(
            f"{name} must hold float16, float32 or float64 values, got {arr.dtype}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _lens_arg(lens: Any, n_rows: int):
    """(name, values or None) of a lens argument."""
    if isinstance(lens, str):
        if lens not in LENSES and lens not in ("l2norm", "l1norm", "fraction_zeros"):
            raise ValueError(
                f"unknown lens '{lens}'; the lenses are: {', '.join(LENSES)}, or a 1-D array of one value per row"
            )
        return lens, None
    values = np.asarray(lens)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(
            f"a lens array must be 1-D (one value per row), got shape {values.shape}"
        )
    if values.shape[0] != n_rows:
        raise ValueError(
            f"the lens has {values.shape[0]} values but X has {n_rows} rows"
        )
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise ValueError(f"the lens must be real numbers, got {values.dtype}")
    values = np.ascontiguousarray(values, dtype=np.float64)
    return "custom", values


def _params(
    lens_name: str,
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
) -> "_core.MapperParams":
    """The mapper's parameters, checked once by the core (its rules and messages:
    ``ValueError``); every stage of :func:`mapper` and :mod:`topoact.distributed` takes them."""
    return _core.MapperParams(
        lens_name, int(lens_k), cover, int(n_intervals), float(overlap),
        None if eps is None else float(eps), int(eps_knn), float(eps_quantile),
        bool(eps_per_interval), int(min_samples), int(min_intersection),
        bool(remove_duplicate_nodes),
    )


def _graph_from_json(text: str, eps: Optional[float]) -> Dict[str, Any]:
    graph = json.loads(text)
    graph["meta_data"]["eps"] = eps
    graph["meta_nodes"] = {}
    return graph


def mapper(
    X: Any,
    lens: Union[str, Any] = "l2",
    cover: str = "uniform",
    n_intervals: int = 30,
    overlap: float = 0.3,
    eps: Optional[float] = None,
    eps_knn: int = 5,
    eps_quantile: float = 0.5,
    min_samples: int = 5,
    *,
    eps_per_interval: bool = False,
    min_intersection: int = 1,
    remove_duplicate_nodes: bool = False,
    lens_k: int = 5,
    threads: Optional[int] = None,
    progress: Optional[Progress] = None,
) -> Dict[str, Any]:
    """The mapper graph of the rows of ``X``, as KeplerMapper's ``map()`` returns it.

    Node for node (names, members, links) the graph of
    ``kmapper.KeplerMapper().map(lens, X, cover=Cover(n_intervals, overlap),
    clusterer=DBSCAN(eps=eps, min_samples=min_samples), remove_duplicate_nodes=...)``
    with scikit-learn's DBSCAN, every decision in float64 as KeplerMapper makes it.

    Parameters
    ----------
    X : array (n_samples, n_features), float16/float32/float64, C or Fortran order
        Read in place (not copied first); the core copies the rows once as float32 (plus
        float64 for float64 input).
    lens : "l2" | "l1" | "mean" | "zeros" | "pc1" | "knn" | 1-D array
        The filter: the row's Euclidean norm (float64), L1 norm, mean, fraction of zero
        coordinates, first principal component, mean distance to the ``lens_k`` nearest
        other rows; or one precomputed value per row.
    cover : "uniform" | "balanced"
        ``Cover(n_intervals, overlap)`` on the lens, or on its rank ``rank / (N - 1)``
        (intervals of equal counts).
    n_intervals, overlap : KeplerMapper's ``n_cubes`` and ``perc_overlap`` (0 <= overlap < 1).
    eps : float or None
        DBSCAN's radius. None: the ``eps_quantile`` quantile (0.5 = ``np.median``) of every
        row's exact ``eps_knn``-th-nearest-neighbour distance (the row itself not counted:
        scikit-learn's ``NearestNeighbors(n_neighbors=k + 1).kneighbors(X)[0][:, k]``);
        with ``eps_per_interval=True``, that quantile inside each interval.
    min_samples : DBSCAN's ``min_samples`` (the point itself counts); intervals with fewer
        rows make no node, as in KeplerMapper.
    min_intersection : the nerve links nodes sharing at least this many rows (>= 1).
    remove_duplicate_nodes : KeplerMapper's option of the same name.
    threads : rows of work done in parallel per step (default: all of the core's threads;
        set ``RAYON_NUM_THREADS`` before import to size the pool).
    progress : callable(stage: str, done: int, total: int), optional
        Called from the computing thread (with the GIL) on each new stage and at most every
        0.1 s; an exception it raises stops the computation and propagates.

    Returns
    -------
    dict with ``nodes`` {name: [row indices, ascending]}, ``links`` {name: [names]} (each
    edge once, under the earlier node), ``simplices``, ``meta_data`` (KeplerMapper's keys,
    plus ``cover`` and ``eps``: the radius used, None when per interval) and ``meta_nodes``.
    """
    X = check_matrix(X)
    lens_name, lens_values = _lens_arg(lens, X.shape[0])
    params = _params(
        lens_name, lens_k, cover, n_intervals, overlap, eps, eps_knn, eps_quantile,
        eps_per_interval, min_samples, min_intersection, remove_duplicate_nodes,
    )
    text, eps_used = _core.mapper(
        X, params, lens_values, 0 if threads is None else int(threads), progress
    )
    return _graph_from_json(text, eps_used)


def embed(
    X: Any,
    method: str = "umap",
    *,
    n_neighbors: int = 20,
    min_dist: float = 0.01,
    perplexity: float = 50.0,
    seed: int = 0,
    progress: Optional[Progress] = None,
) -> np.ndarray:
    """A 2-D projection of the rows of ``X``: an ``(n_samples, 2)`` float32 array.

    ``method="umap"``: umap-learn 0.5's algorithm and defaults (``n_neighbors`` counts the
    point itself, as umap-learn does; ``min_dist``). ``method="tsne"``: FFT-accelerated
    t-SNE with openTSNE's defaults (``perplexity``). Deterministic for a given ``seed``.
    ``progress`` as in :func:`mapper`; the GIL is released and Ctrl-C interrupts.
    """
    X = check_matrix(X)
    if method not in ("umap", "tsne"):
        raise ValueError(f"unknown method '{method}'; the methods are: umap, tsne")
    return _core.embed(
        X, method, float(perplexity), int(n_neighbors), float(min_dist), int(seed), progress
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} into a graph file")


def write_graph(graph: Dict[str, Any], path: Union[str, "os.PathLike[str]"]) -> str:
    """Writes ``graph`` (the dict :func:`mapper` or KeplerMapper's ``map()`` returns) to
    ``path`` as TopoAct's node-link JSON, the graph file the browser app opens (through
    the app's own importer: members sorted, intersections and Jaccard indices derived).
    Returns the path written."""
    if not isinstance(graph, dict) or "nodes" not in graph:
        raise ValueError("graph must be a dict with 'nodes' (as mapper() returns)")
    text = json.dumps(
        {k: graph[k] for k in ("nodes", "links", "meta_data") if k in graph},
        default=_json_default,
    )
    out = _core.node_link_json(text)
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(out)
    return path


def synth(n: int, dim: int, seed: int = 0):
    """Activation-like synthetic rows, the generator of ``topoact synth`` (a tree of curves,
    a loop and islands in a 16-d latent space, a random linear map and a ReLU): an
    ``(n, dim)`` float32 array and the uint32 component label of each row."""
    return _core.synth(int(n), int(dim), int(seed))
