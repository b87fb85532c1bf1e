"""The mapper on a Dask cluster (``dask.distributed``): the same graph, node for node, as
:func:`topoact.mapper` on the same data and parameters.

Stages (each task runs the Rust core's code for that stage, ``topoact._core``):

1. **lens**: one task per row block (``lens_of_rows``); the values come back to the client
   (8 bytes a row). A lens array may be given instead.
2. **epsilon** (when ``eps`` is None and not per interval): the quantile of every row's
   exact k-th-nearest-neighbour distance, found as the single-machine mapper finds it (a
   self-join at a pilot radius), over ``eps_blocks`` groups of consecutive rows, no task
   holding more than two groups:

   - pilot: the pilot rows (``pilot_rows``, <= 2048) against each group, their exact k
     nearest there (``block_knn``); merged on the client (the k-th smallest over the
     groups: the exact k-th distance), they give the join radius (``join_radius``);
   - join: one task per pair of groups and per group with itself (``block_pair_kth``):
     every row's k smallest exact distances to the other group within the radius; one
     merge task per group takes each row's k-th smallest over its tasks, exact when within
     the radius, else only known to be above it;
   - the client takes the quantile (``epsilon_from_bounded_kth``) when the rows within the
     radius determine it (the pilot is chosen so that they do); otherwise the rows above
     the radius get their exact k-th distance from every group (``block_knn``), and the
     quantile is taken over all (``epsilon_from_kth``).

   Same bits as the single-machine eps. ``eps_search="knn"`` runs the former search
   instead: ``query_shards`` tasks, each with all rows (gathered once per worker) and a
   range of query rows (``kth_neighbour_distances``).
3. **cover** on the client (``cover``): the rows of each interval.
4. **clustering**: one task per interval with at least ``min_samples`` rows, which receives
   just the rows of its interval (cut from each row block by small tasks where the blocks
   live) and runs DBSCAN (``cluster_interval``).
5. **nerve** on the client (``assemble_graph``): names, duplicate merging, links.

Every task is a pure function of its inputs, so Dask may rerun a task whose worker died;
data that only existed on a lost worker (a scattered NumPy block) makes the call raise.
Either way the call never returns a different graph.
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _core, _graph_from_json, _lens_arg, _params, check_matrix

__all__ = ["mapper"]

_PER_ROW_LENSES = ("l2", "l2norm", "l1", "l1norm", "mean", "zeros", "fraction_zeros")


def _lens_block(block: np.ndarray, params: Any, first_row: int) -> np.ndarray:
    return _core.lens_of_rows(check_matrix(block, "a row block"), params, first_row)


def _stack(*blocks: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate(blocks, axis=0))


def _kth_shard(reference: np.ndarray, start: int, stop: int, params: Any) -> np.ndarray:
    return _core.kth_neighbour_distances(reference, start, stop, params)


def _take(block: np.ndarray, local_rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(block[local_rows])


def _pair_kth(
    first: np.ndarray, second: Optional[np.ndarray], radius: float, params: Any
) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """The join of two groups (or of one with itself): each side's rows' k smallest
    distances to the other side within the radius."""
    first = check_matrix(first, "a row group")
    if second is None:
        return _core.block_pair_kth(first, len(first), radius, params), None
    rows = np.concatenate([first, check_matrix(second, "a row group")], axis=0)
    found = _core.block_pair_kth(rows, len(first), radius, params)
    return found[: len(first)], found[len(first) :]


def _knn_in(reference: np.ndarray, queries: np.ndarray, own: np.ndarray, params: Any) -> np.ndarray:
    """The queries' k smallest exact distances to the rows of ``reference`` (``own[i]``: the
    reference row that is query i itself, or -1)."""
    rows = np.concatenate(
        [check_matrix(reference, "a row group"), check_matrix(queries, "the query rows")], axis=0
    )
    return _core.block_knn(rows, len(reference), own, params)


def _kth_of(k: int, found: Sequence[np.ndarray]) -> np.ndarray:
    """Each row's k-th smallest value over the lists (each n x k): the exact k-th distance
    when the lists cover every other row once."""
    return np.sort(np.concatenate(found, axis=1), axis=1)[:, k - 1]


def _merge_sides(k: int, sides: Sequence[int], *results: Tuple[np.ndarray, Optional[np.ndarray]]) -> np.ndarray:
    return _kth_of(k, [result[side] for result, side in zip(results, sides)])


def _kth_by_join(client, futures, offsets, n_rows: int, k: int, params, eps_blocks, progress,
                 radius_scale: float = 1.0) -> float:
    """The fixed epsilon by the join at a pilot radius over groups of row blocks (see the
    module doc)."""
    if eps_blocks is None:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        eps_blocks = 2 * n_workers
    n_blocks = len(futures)
    edges = np.unique(np.round(np.linspace(0, n_blocks, max(1, min(int(eps_blocks), n_blocks)) + 1)).astype(int))
    groups, starts, stops = [], [], []
    for a, b in zip(edges[:-1], edges[1:]):
        groups.append(futures[a] if b - a == 1 else client.submit(_stack, *futures[a:b], pure=True))
        starts.append(int(offsets[a]))
        stops.append(int(offsets[b]))
    n_groups = len(groups)

    def exact_kth(rows: np.ndarray, stage: str) -> np.ndarray:
        """The exact k-th distance of ``rows`` (ascending global rows), by every group."""
        parts, owns = [], []
        for g in range(n_groups):
            inside = (rows >= starts[g]) & (rows < stops[g])
            local = rows[inside] - starts[g]
            if len(local):
                parts.append(client.submit(_take, groups[g], local, pure=True))
            owns.append(np.where(inside, rows - starts[g], -1).astype(np.int64))
        queries = parts[0] if len(parts) == 1 else client.submit(_stack, *parts, pure=True)
        found = [client.submit(_knn_in, groups[g], queries, owns[g], params, pure=True)
                 for g in range(n_groups)]
        return _kth_of(k, _gather(client, found, stage, progress))

    pilot = _core.pilot_rows(n_rows).astype(np.int64)
    radius = _core.join_radius(exact_kth(pilot, "choosing the join radius"), params)
    if radius is not None:
        radius *= radius_scale
        pairs = {}
        for a in range(n_groups):
            for b in range(a, n_groups):
                pairs[a, b] = client.submit(
                    _pair_kth, groups[a], None if a == b else groups[b], radius, params, pure=True
                )
        merged = []
        for a in range(n_groups):
            results = [pairs[a, b] for b in range(a, n_groups)] + [pairs[b, a] for b in range(a)]
            sides = [0] * (n_groups - a) + [1] * a
            merged.append(client.submit(_merge_sides, k, sides, *results, pure=True))
        kth = np.concatenate(_gather(client, merged, "neighbour pairs", progress))
        del pairs, merged
        eps = _core.epsilon_from_bounded_kth(kth, radius, params)
        if eps is not None:
            return eps
        above = np.flatnonzero(~(kth <= radius))
    else:
        kth = np.full(n_rows, np.inf)
        above = np.arange(n_rows, dtype=np.int64)
    # The pilot's radius did not fix the quantile: the rows above it, searched in full.
    kth[above] = exact_kth(above, "k-th neighbour distances")
    return _core.epsilon_from_kth(kth, params)


def _cluster(
    params: Any, eps: Optional[float], *parts: np.ndarray
) -> Tuple[List[List[int]], float]:
    rows = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    return _core.cluster_interval(rows, params, eps)


def _row_blocks(client, X, block_rows: Optional[int]):
    """The rows of ``X`` as futures of consecutive row blocks, with each block's first row,
    the number of rows and the dtype. A dask.array keeps its row chunks (columns joined into
    one chunk); a NumPy array is cut into blocks and scattered."""
    try:
        import dask.array as da
    except ImportError:  # pragma: no cover - dask is a requirement of this module
        da = None
    if da is not None and isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(
                f"X must be a 2-D array (samples x features), got a {X.ndim}-D dask array of shape {X.shape}"
            )
        if X.dtype not in (np.float16, np.float32, np.float64):
            raise ValueError(f"X must hold float16, float32 or float64 values, got {X.dtype}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty (shape {X.shape})")
        X = X.rechunk({1: -1})
        blocks = list(X.to_delayed().ravel())
        futures = client.compute(blocks)
        sizes = list(X.chunks[0])
        dtype = X.dtype
        n_rows = X.shape[0]
    else:
        X = check_matrix(X)
        n_rows = X.shape[0]
        dtype = X.dtype
        if block_rows is None:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
            block_rows = max(1, -(-n_rows // (2 * n_workers)))
        starts = list(range(0, n_rows, block_rows))
        pieces = [X[s : s + block_rows] for s in starts]
        futures = client.scatter(pieces)
        sizes = [len(p) for p in pieces]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return futures, offsets, n_rows, np.dtype(dtype)


def _gather(client, futures, stage: str, progress) -> list:
    """Results of ``futures`` in order, reporting progress as they finish."""
    if progress is None or not futures:
        return client.gather(futures)
    from distributed import as_completed

    total = len(futures)
    progress(stage, 0, total)
    done = 0
    last = time.monotonic()
    for _ in as_completed(futures):
        done += 1
        now = time.monotonic()
        if done == total or now - last >= 0.1:
            progress(stage, done, total)
            last = now
    return client.gather(futures)


def mapper(
    X: Any,
    client: Any = None,
    lens: Any = "l2",
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
    block_rows: Optional[int] = None,
    eps_search: str = "join",
    eps_blocks: Optional[int] = None,
    query_shards: Optional[int] = None,
    progress: Optional[Any] = None,
    _radius_scale: float = 1.0,
) -> Dict[str, Any]:
    """:func:`topoact.mapper` on a Dask cluster: the same parameters and the same graph.

    ``X`` is a NumPy array (cut into ``block_rows``-row blocks and scattered) or a
    ``dask.array`` (its row chunks are used where they are). ``client`` defaults to the
    current ``distributed.Client``. The lens must be per row (l2, l1, mean, zeros) or a 1-D
    array; ``pc1`` and ``knn`` need all rows at once (compute them and pass the values).
    ``eps_blocks`` (default: two per worker, at most the row blocks) is the number of row
    groups of the epsilon search (``eps_blocks (eps_blocks + 1) / 2`` join tasks, each
    holding at most two groups). ``eps_search="knn"``: the former search, ``query_shards``
    tasks (default: one per worker) each holding all rows.
    ``progress(stage, done, total)`` is called on the client as tasks finish.
    """
    if client is None:
        from distributed import get_client

        client = get_client()
    futures, offsets, n_rows, _ = _row_blocks(client, X, block_rows)
    lens_name, lens_values = _lens_arg(lens, n_rows)
    if lens_values is None and lens_name not in _PER_ROW_LENSES:
        raise ValueError(
            f"the lens '{lens_name}' needs all rows at once; distributed.mapper takes a per-row "
            f"lens ({', '.join(_PER_ROW_LENSES[::2])}) or a 1-D array of lens values"
        )
    # The parameters, checked once before any work (the core's checks and messages); every
    # task takes them.
    params = _params(
        lens_name, 5, cover, n_intervals, overlap, eps, eps_knn, eps_quantile,
        eps_per_interval, min_samples, min_intersection, remove_duplicate_nodes,
    )
    if eps_search not in ("join", "knn"):
        raise ValueError(f"unknown eps_search '{eps_search}'; the searches are: join, knn")

    # 1. The lens.
    if lens_values is None:
        lens_futures = [
            client.submit(_lens_block, f, params, int(offsets[i]), pure=True)
            for i, f in enumerate(futures)
        ]
        lens_values = np.concatenate(_gather(client, lens_futures, "lens", progress))
    lens_values = np.ascontiguousarray(lens_values, dtype=np.float64)
    if not np.all(np.isfinite(lens_values)):
        bad = int(np.flatnonzero(~np.isfinite(lens_values))[0])
        raise ValueError(f"the lens is not finite (NaN or infinite) at sample {bad}")

    # 2. The fixed epsilon: every row's exact k-th-NN distance, queries sharded.
    eps_global = params.eps
    k = params.global_eps_knn
    if k is not None and n_rows <= k:
        raise ValueError(
            f"k = {k} nearest neighbours need at least {k + 1} samples, got {n_rows}"
        )
    if k is not None and eps_search == "join":
        eps_global = _kth_by_join(client, futures, offsets, n_rows, k, params, eps_blocks,
                                  progress, float(_radius_scale))
    elif k is not None:
        reference = client.submit(_stack, *futures, pure=True)
        if query_shards is None:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
            query_shards = n_workers
        shards = max(1, min(int(query_shards), n_rows))
        bounds = np.linspace(0, n_rows, shards + 1).astype(np.int64)
        kth_futures = [
            client.submit(_kth_shard, reference, int(a), int(b), params, pure=True)
            for a, b in zip(bounds[:-1], bounds[1:])
            if b > a
        ]
        kth = np.concatenate(_gather(client, kth_futures, "k-th neighbour distances", progress))
        del reference
        eps_global = _core.epsilon_from_kth(kth, params)

    # 3. The cover.
    members = _core.cover(lens_values, params)

    # 4. One DBSCAN task per interval, with the rows of that interval only.
    cluster_futures: Dict[int, Any] = {}
    for interval_idx, rows in enumerate(members):
        if len(rows) == 0 or len(rows) < params.min_samples:
            continue
        block_of = np.searchsorted(offsets, rows, side="right") - 1
        parts: List[Any] = []
        for block_idx in np.unique(block_of):
            local = rows[block_of == block_idx] - offsets[block_idx]
            parts.append(client.submit(_take, futures[block_idx], local, pure=True))
        cluster_futures[interval_idx] = client.submit(
            _cluster, params, eps_global, *parts, pure=True,
        )
    order = sorted(cluster_futures)
    results = _gather(client, [cluster_futures[i] for i in order], "clustering intervals", progress)
    clusters: List[Optional[Sequence[Sequence[int]]]] = [None] * len(members)
    eps_used: List[Optional[float]] = [None] * len(members)
    for interval_idx, (found, radius) in zip(order, results):
        clusters[interval_idx] = found
        eps_used[interval_idx] = radius

    # 5. Nodes and nerve on the client.
    text = _core.assemble_graph(lens_values, clusters, eps_used, params, eps_global)
    return _graph_from_json(text, eps_global)
