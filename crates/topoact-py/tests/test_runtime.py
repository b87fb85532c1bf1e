"""The package's behaviour around the computation: progress callbacks, the GIL released,
Ctrl-C, graph files the browser app opens, and the projections."""

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

import topoact
from topoact import _core
from conftest import FIXTURES


def blobs(n, dim, seed=0):
    """Activation-like rows: a few Gaussian blobs of ReLU'd values."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(8, dim))
    X = centres[rng.integers(0, 8, size=n)] + rng.normal(size=(n, dim))
    return np.maximum(X, 0).astype(np.float32)


LONG = None


def long_input():
    """Rows on which the mapper runs for a few seconds on this machine."""
    global LONG
    if LONG is None:
        LONG = blobs(30_000, 48, seed=1)
    return LONG


def test_progress_callback_reports_each_stage():
    calls = []
    X = blobs(3000, 16)
    topoact.mapper(X, progress=lambda stage, done, total: calls.append((stage, done, total)))
    stages = [c[0] for c in calls]
    assert len(calls) >= 3
    assert any("interval" in s for s in stages)
    assert all(isinstance(d, int) and isinstance(t, int) and d <= max(t, d) for _, d, t in calls)


def test_an_exception_in_the_progress_callback_stops_the_call():
    def boom(stage, done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        topoact.mapper(blobs(2000, 8), progress=boom)


def test_the_gil_is_released_during_the_computation():
    X = long_input()
    ticks = 0
    finished = threading.Event()
    result = {}

    def run():
        started = time.perf_counter()
        result["graph"] = topoact.mapper(X, n_intervals=20)
        result["seconds"] = time.perf_counter() - started
        finished.set()

    worker = threading.Thread(target=run)
    worker.start()
    # Pure-Python work on this thread: it only advances while the other thread has let go
    # of the GIL.
    while not finished.is_set():
        for _ in range(1000):
            ticks += 1
        time.sleep(0)
    worker.join()
    assert result["graph"]["nodes"]
    assert result["seconds"] > 0.3, "the call must be long enough to tell"
    # Without releasing the GIL this thread would be stuck for the whole call.
    assert ticks > 100_000, f"only {ticks} ticks in {result['seconds']:.2f} s"


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to the own process")
def test_ctrl_c_interrupts_a_long_call():
    X = long_input()
    started = time.perf_counter()
    full = topoact.mapper(X, n_intervals=20)
    full_seconds = time.perf_counter() - started
    assert full["nodes"]
    if full_seconds < 0.2:
        pytest.skip(f"a whole call takes {full_seconds:.2f} s: too short to interrupt")
    delay = min(0.3, full_seconds / 4)
    # Python's own handler, even when the suite was started with SIGINT ignored (a shell's
    # background job): then Python installs none and no KeyboardInterrupt could arise.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        # Calls until the interrupt lands (a loaded machine may finish one call before it
        # fires); no wall-clock assertion: these machines are shared.
        with pytest.raises(KeyboardInterrupt):
            for _ in range(50):
                topoact.mapper(X, n_intervals=20)
    finally:
        timer.join()
        signal.signal(signal.SIGINT, previous)


def test_embed_releases_the_gil():
    X = blobs(3000, 32, seed=2)
    ticks = 0
    finished = threading.Event()
    result = {}

    def run():
        started = time.perf_counter()
        try:
            result["Y"] = topoact.embed(X, method="umap", seed=0)
        finally:
            result["seconds"] = time.perf_counter() - started
            finished.set()

    worker = threading.Thread(target=run)
    worker.start()
    # Pure-Python work on this thread: it only advances while the embedding's thread has
    # let go of the GIL.
    while not finished.is_set():
        for _ in range(1000):
            ticks += 1
        time.sleep(0)
    worker.join()
    assert result["Y"].shape == (len(X), 2)
    assert result["seconds"] > 0.3, "the call must be long enough to tell"
    assert ticks > 100_000, f"only {ticks} ticks in {result['seconds']:.2f} s"


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to the own process")
@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_ctrl_c_interrupts_a_long_embed(method):
    """SIGINT from another thread in the middle of an embedding (UMAP's epochs, t-SNE's
    iterations: a progress report per step) raises KeyboardInterrupt at the job's next look
    at Python, before any further progress report (one may race with the signal). Counted
    in steps, not seconds: these machines are shared."""
    X = blobs(2000, 32, seed=2)
    reports = []
    sent = []
    halfway = threading.Event()

    def on_progress(stage, done, total):
        reports.append(time.perf_counter())
        if len(reports) == 40:
            halfway.set()

    def interrupt():
        # Waits with the GIL released; the embedding's thread runs meanwhile.
        if halfway.wait(timeout=120):
            os.kill(os.getpid(), signal.SIGINT)
            sent.append(time.perf_counter())

    # Python's own handler, even when the suite was started with SIGINT ignored (a shell's
    # background job): then Python installs none and no KeyboardInterrupt could arise.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    killer = threading.Thread(target=interrupt)
    killer.start()
    started = time.perf_counter()
    try:
        with pytest.raises(KeyboardInterrupt):
            topoact.embed(X, method=method, seed=0, progress=on_progress)
        stopped = time.perf_counter()
    finally:
        halfway.set()
        killer.join()
        signal.signal(signal.SIGINT, previous)
    assert sent, "the signal was sent"
    late = [t for t in reports if t > sent[0]]
    # Without a look at signals between steps the call would run on to its end (UMAP: 500
    # epochs, t-SNE: 750 iterations) and raise only after returning.
    assert len(late) <= 1, f"{len(late)} progress reports after the signal"
    print(f"{method}: KeyboardInterrupt {1000 * (stopped - sent[0]):.1f} ms after the signal, "
          f"{len(reports)} reports, {stopped - started:.2f} s into the call")


def test_write_graph_writes_node_link_json_the_app_reads(tmp_path):
    X = np.load(FIXTURES / "tree.npy")
    graph = topoact.mapper(X, n_intervals=15, eps=0.7)
    path = topoact.write_graph(graph, tmp_path / "g.json")
    data = json.loads(open(path, encoding="utf-8").read())
    assert data["directed"] is False and data["multigraph"] is False
    assert [n["id"] for n in data["nodes"]] == list(graph["nodes"])
    for node in data["nodes"]:
        assert node["membership"] == graph["nodes"][node["id"]]
        assert node["size"] == len(node["membership"])
    n_edges = sum(len(v) for v in graph["links"].values())
    assert len(data["links"]) == n_edges
    pairs = {(l["source"], l["target"]) for l in data["links"]}
    assert pairs == {(a, b) for a, bs in graph["links"].items() for b in bs}
    for link in data["links"]:
        shared = set(graph["nodes"][link["source"]]) & set(graph["nodes"][link["target"]])
        assert link["intersection"] == len(shared)
    # The browser app's own importer reads it back.
    fmt, n_nodes, n_links = _core.read_graph_file(open(path, "rb").read())
    assert (fmt, n_nodes, n_links) == ("node_link", len(graph["nodes"]), n_edges)


def test_write_graph_takes_kmappers_own_dict(tmp_path):
    from conftest import kmapper_graph, l2_lens
    import kmapper as km
    from sklearn.cluster import DBSCAN

    X = np.load(FIXTURES / "tree.npy")
    graph = km.KeplerMapper(verbose=0).map(
        l2_lens(X).reshape(-1, 1), X, cover=km.Cover(10, 0.3), clusterer=DBSCAN(eps=0.7, min_samples=5)
    )
    path = topoact.write_graph(graph, tmp_path / "k.json")
    fmt, n_nodes, _ = _core.read_graph_file(open(path, "rb").read())
    assert fmt == "node_link" and n_nodes == len(graph["nodes"])


def test_write_graph_refuses_what_is_not_a_graph(tmp_path):
    with pytest.raises(ValueError):
        topoact.write_graph({"edges": []}, tmp_path / "x.json")


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_embed_returns_n_by_2_float32(method):
    X = blobs(600, 20, seed=3)
    calls = []
    Y = topoact.embed(X, method=method, seed=1, progress=lambda *a: calls.append(a))
    assert Y.shape == (600, 2) and Y.dtype == np.float32
    assert np.all(np.isfinite(Y)) and np.ptp(Y[:, 0]) > 0
    assert calls
    again = topoact.embed(np.asfortranarray(X.astype(np.float64)), method=method, seed=1)
    np.testing.assert_array_equal(Y, again)


def test_embed_bad_input_and_parameters():
    X = blobs(100, 5)
    with pytest.raises(ValueError, match="unknown method"):
        topoact.embed(X, method="pca")
    with pytest.raises(ValueError, match="too few"):
        topoact.embed(X[:10], method="umap")
    with pytest.raises(ValueError, match="NaN or infinite"):
        bad = X.copy()
        bad[3, 2] = np.nan
        topoact.embed(bad)


def test_the_type_stubs_name_every_function_of_the_extension():
    """_core.pyi (the type hints) and the compiled module list the same functions and
    classes."""
    import ast
    import pathlib

    stub = pathlib.Path(topoact.__file__).with_name("_core.pyi").read_text()
    stubbed = {node.name for node in ast.parse(stub).body
               if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    compiled = {name for name in dir(_core) if not name.startswith("_") and callable(getattr(_core, name))}
    assert stubbed == compiled


def test_mapper_params_are_checked_once_and_pickle():
    import pickle

    params = topoact._params("l2", 5, "balanced", 12, 0.4, None, 4, 0.3, False, 6, 2, True)
    again = pickle.loads(pickle.dumps(params))
    assert (again.lens, again.min_samples, again.eps, again.global_eps_knn) == ("l2", 6, None, 4)
    assert topoact._params("custom", 5, "uniform", 3, 0.1, 0.5, 5, 0.5, False, 5, 1, False).eps == 0.5
    with pytest.raises(ValueError, match="overlap must be in"):
        topoact._params("l2", 5, "uniform", 3, 1.5, None, 5, 0.5, False, 5, 1, False)
    with pytest.raises(ValueError, match="unknown cover 'x'"):
        topoact._params("l2", 5, "x", 3, 0.1, None, 5, 0.5, False, 5, 1, False)
