"""Shared helpers of the Python package's tests: the repository's KeplerMapper fixtures, a
live KeplerMapper + scikit-learn reference, and a 2-worker Dask LocalCluster
(test_distributed.py starts its own 4-worker one)."""

import json
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "crates" / "topoact-core" / "tests" / "fixtures" / "kmapper"
DEMO = ROOT / "public" / "demo" / "fashion-efficientnet-lite0.npz"


def load_cases():
    return json.loads((FIXTURES / "cases.json").read_text())["cases"]


def l2_lens(X):
    """The L2 lens as the core defines it: float64, summed in coordinate order."""
    X64 = np.asarray(X, dtype=np.float64)
    return np.sqrt(np.cumsum(X64 * X64, axis=1)[:, -1])


def sklearn_kth(X, k):
    from sklearn.neighbors import NearestNeighbors

    X64 = np.asarray(X, dtype=np.float64)
    return NearestNeighbors(n_neighbors=k + 1).fit(X64).kneighbors(X64)[0][:, k]


def kmapper_graph(X, lens, n_cubes, overlap, eps, min_samples, remove_duplicate_nodes=False,
                  clusterer=None, min_intersection=1):
    """KeplerMapper 2.1's graph: (nodes, links) as plain dicts."""
    import kmapper as km
    from sklearn.cluster import DBSCAN

    mapper = km.KeplerMapper(verbose=0)
    graph = mapper.map(
        np.asarray(lens, dtype=np.float64).reshape(-1, 1),
        np.asarray(X),
        cover=km.Cover(n_cubes=n_cubes, perc_overlap=overlap),
        clusterer=clusterer if clusterer is not None else DBSCAN(eps=eps, min_samples=min_samples),
        nerve=km.GraphNerve(min_intersection=min_intersection),
        remove_duplicate_nodes=remove_duplicate_nodes,
    )
    return plain(graph)


def plain(graph):
    """(nodes, links) of a graph dict with sorted members (KeplerMapper's merged nodes do
    not keep an order) and links as plain lists."""
    nodes = {name: sorted(int(i) for i in members) for name, members in graph["nodes"].items()}
    links = {name: list(targets) for name, targets in graph["links"].items() if targets}
    return nodes, links


def assert_same_graph(ours, theirs, ordered=True):
    """Same node names, members and links; with ``ordered``, also the same node order and
    link lists (KeplerMapper's insertion order). Merged duplicates keep no order upstream."""
    nodes_a, links_a = plain(ours) if isinstance(ours, dict) else ours
    nodes_b, links_b = plain(theirs) if isinstance(theirs, dict) else theirs
    assert sorted(nodes_a) == sorted(nodes_b), "node names"
    for name in nodes_a:
        assert nodes_a[name] == nodes_b[name], f"members of {name}"
    pairs = lambda links: {frozenset((a, b)) for a, bs in links.items() for b in bs}  # noqa: E731
    assert pairs(links_a) == pairs(links_b), "links"
    if ordered:
        assert list(nodes_a) == list(nodes_b), "node order"
        assert links_a == links_b, "link lists"


@pytest.fixture(scope="session")
def demo():
    if not DEMO.exists():
        pytest.skip("the demo file is not in this checkout")
    return np.load(DEMO)


@pytest.fixture(scope="session")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=40,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
