"""topoact.mapper against KeplerMapper 2.1 + scikit-learn: the repository's fixtures, live
runs on the fixture data and the demo's layers (eps searched, uniform and balanced covers,
per-interval eps), dtype and memory-order variants, and bad input."""

import numpy as np
import pytest

import topoact
from conftest import (
    FIXTURES,
    assert_same_graph,
    kmapper_graph,
    l2_lens,
    load_cases,
    sklearn_kth,
)

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_graphs_are_kmappers(case):
    """KeplerMapper's stored graph, from its own lens and eps."""
    X = np.load(FIXTURES / case["data"])
    lens = np.load(FIXTURES / case["lens"])
    # Adaptive cases: KeplerMapper ran with a clusterer that picks eps inside each interval
    # (the k-th neighbour distance quantile of that interval's rows).
    adaptive = case.get("eps_adaptive")
    eps_args = (
        dict(eps=None, eps_knn=adaptive["k"], eps_quantile=adaptive["quantile"], eps_per_interval=True)
        if adaptive
        else dict(eps=case["eps"])
    )
    graph = topoact.mapper(
        X,
        lens=lens,
        cover="uniform",  # the stored lens of a balanced case is already the rank lens
        n_intervals=case["n_cubes"],
        overlap=case["perc_overlap"],
        **eps_args,
        min_samples=case["min_samples"],
        min_intersection=case["min_intersection"],
        remove_duplicate_nodes=case["remove_duplicate_nodes"],
    )
    expected = ({k: sorted(v) for k, v in case["nodes"].items()},
                {k: v for k, v in case["links"].items() if v})
    assert_same_graph(graph, expected, ordered=not case["remove_duplicate_nodes"])
    if not adaptive:
        assert graph["meta_data"]["eps"] == case["eps"]


@pytest.mark.parametrize("case", [c for c in CASES if c["eps_knn"]], ids=lambda c: c["name"])
def test_searched_eps_is_sklearns_kth_distance_quantile(case):
    X = np.load(FIXTURES / case["data"])
    k, q = case["eps_knn"]["k"], case["eps_knn"]["quantile"]
    lens = l2_lens(X)
    graph = topoact.mapper(X, lens="l2", n_intervals=case["n_cubes"], overlap=case["perc_overlap"],
                           eps_knn=k, eps_quantile=q, min_samples=case["min_samples"],
                           min_intersection=case["min_intersection"],
                           cover=case["cover"])
    eps = graph["meta_data"]["eps"]
    reference = np.median(sklearn_kth(X, k)) if q == 0.5 else np.quantile(sklearn_kth(X, k), q)
    assert eps == pytest.approx(reference, rel=1e-12)
    assert eps == pytest.approx(case["eps"], rel=1e-12)
    if case["cover"] == "balanced":
        order = np.lexsort((np.arange(len(lens)), lens))
        lens = np.empty(len(lens))
        lens[order] = np.arange(len(order)) / (len(order) - 1)
    theirs = kmapper_graph(X, lens, case["n_cubes"], case["perc_overlap"], eps,
                           case["min_samples"], min_intersection=case["min_intersection"])
    assert_same_graph(graph, theirs)


def rank_lens(lens):
    order = np.lexsort((np.arange(len(lens)), lens))
    ranks = np.empty(len(lens))
    ranks[order] = np.arange(len(order)) / (len(order) - 1)
    return ranks


DEMO_LAYERS = ["act_block4", "act_block7", "act_block10", "act_block14", "act_head"]


@pytest.mark.parametrize("layer", DEMO_LAYERS)
@pytest.mark.parametrize("cover", ["uniform", "balanced"])
def test_demo_layers_equal_kmapper_with_searched_eps(demo, layer, cover):
    """The demo's layers (float16 as shipped), the app's defaults: L2 lens, 30 intervals,
    30 % overlap, eps = median exact 5th-NN distance, min_samples 5."""
    X = demo[layer][:2500]
    graph = topoact.mapper(X, cover=cover)
    eps = graph["meta_data"]["eps"]
    assert eps == pytest.approx(np.median(sklearn_kth(X, 5)), rel=1e-12)
    lens = l2_lens(X)
    if cover == "balanced":
        lens = rank_lens(lens)
    assert_same_graph(graph, kmapper_graph(X, lens, 30, 0.3, eps, 5))
    assert len(graph["nodes"]) > 10


class PerCubeMedianDBSCAN:
    """A clusterer for KeplerMapper: DBSCAN with eps = the quantile of the cube's own k-th
    nearest-neighbour distances (the per-interval, "adaptive" epsilon)."""

    def __init__(self, k=5, quantile=0.5, min_samples=5):
        self.k, self.quantile, self.min_samples = k, quantile, min_samples

    def get_params(self, deep=True):
        return {"min_samples": self.min_samples}

    def __repr__(self):
        return f"PerCubeMedianDBSCAN(k={self.k}, q={self.quantile}, min_samples={self.min_samples})"

    def fit_predict(self, X):
        from sklearn.cluster import DBSCAN

        k = min(self.k, len(X) - 1)
        if k < 1:
            eps = np.finfo(np.float64).tiny
        else:
            kth = sklearn_kth(X, k)
            eps = np.median(kth) if self.quantile == 0.5 else np.quantile(kth, self.quantile)
            eps = eps if eps > 0 else np.finfo(np.float64).tiny
        return DBSCAN(eps=eps, min_samples=self.min_samples).fit_predict(X)


@pytest.mark.parametrize("layer", ["act_block7", "act_head"])
def test_per_interval_eps_equals_kmapper_with_per_cube_dbscan(demo, layer):
    X = demo[layer][:2000]
    graph = topoact.mapper(X, n_intervals=15, eps_per_interval=True)
    assert graph["meta_data"]["eps"] is None
    theirs = kmapper_graph(X, l2_lens(X), 15, 0.3, None, 5, clusterer=PerCubeMedianDBSCAN())
    assert_same_graph(graph, theirs)


def test_tree_fixture_other_lenses_equal_kmapper_on_the_same_lens():
    X = np.load(FIXTURES / "tree.npy")
    X64 = X.astype(np.float64)
    lenses = {
        "l1": np.cumsum(np.abs(X64), axis=1)[:, -1],
        "mean": np.cumsum(X64, axis=1)[:, -1] / X.shape[1],
    }
    for name, values in lenses.items():
        graph = topoact.mapper(X, lens=name, n_intervals=12, eps=0.7)
        assert_same_graph(graph, kmapper_graph(X, values, 12, 0.3, 0.7, 5))


def test_result_has_kmappers_keys_and_simplices():
    X = np.load(FIXTURES / "tree.npy")
    graph = topoact.mapper(X, n_intervals=10, eps=0.7)
    assert set(graph) == {"nodes", "links", "simplices", "meta_data", "meta_nodes"}
    n_edges = sum(len(v) for v in graph["links"].values())
    assert len(graph["simplices"]) == len(graph["nodes"]) + n_edges
    assert graph["simplices"][: len(graph["nodes"])] == [[n] for n in graph["nodes"]]
    meta = graph["meta_data"]
    assert meta["n_cubes"] == 10 and meta["perc_overlap"] == 0.3
    assert meta["nerve_min_intersection"] == 1
    assert "DBSCAN(eps=0.7, min_samples=5)" == meta["clusterer"]


# --- dtype and memory order ---------------------------------------------------------------


def test_float16_float32_float64_and_fortran_order_give_one_graph(demo):
    X16 = demo["act_block10"][:1500]
    reference = topoact.mapper(X16, n_intervals=20)
    for variant in (
        X16.astype(np.float32),
        X16.astype(np.float64),
        np.asfortranarray(X16),
        np.asfortranarray(X16.astype(np.float32)),
        X16.astype(np.float32)[::-1][::-1],
    ):
        assert_same_graph(topoact.mapper(variant, n_intervals=20), reference)
    assert topoact.mapper(X16.astype(np.float64), n_intervals=20)["meta_data"]["eps"] == \
        reference["meta_data"]["eps"]


def test_strided_views_are_read_in_place():
    X = np.load(FIXTURES / "tree.npy")
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3), dtype=np.float32)
    wide[::2, ::3] = X
    view = wide[::2, ::3]
    assert not view.flags.c_contiguous and not view.flags.f_contiguous
    assert_same_graph(topoact.mapper(view, eps=0.7), topoact.mapper(X, eps=0.7))
    big_endian = X.astype(">f4")
    assert_same_graph(topoact.mapper(big_endian, eps=0.7), topoact.mapper(X, eps=0.7))


def test_check_matrix_does_not_copy_float_arrays():
    X = np.asfortranarray(np.ones((5, 3), dtype=np.float16))
    assert topoact.check_matrix(X) is X


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[0.0, 1.0], [np.nan, 2.0]] * 10), "not finite at sample 1"),
        (np.array([[0.0, 1.0], [np.inf, 2.0]] * 10, dtype=np.float32), "not finite"),
        (np.arange(10, dtype=np.float32), "2-D"),
        (np.zeros((0, 4), dtype=np.float32), "no rows"),
        (np.zeros((4, 0), dtype=np.float32), "no columns"),
        (np.zeros((10, 4), dtype=np.int64), "float16, float32 or float64"),
        (np.zeros((10, 4), dtype=np.complex64), "float16, float32 or float64"),
        (np.array([["a", "b"]] * 10), "float16, float32 or float64"),
        ("not an array", "2-D"),
    ],
    ids=["nan", "inf", "1-D", "empty", "no-columns", "int64", "complex", "strings", "str"],
)
def test_bad_input_raises_value_error(X, message):
    with pytest.raises(ValueError, match=message):
        topoact.mapper(X)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(overlap=1.0), "overlap must be in"),
        (dict(n_intervals=0), "number of intervals must be at least 1"),
        (dict(eps=-1.0), "epsilon must be a finite number > 0"),
        (dict(eps=float("nan")), "epsilon must be a finite number > 0"),
        (dict(min_samples=0), "min_samples must be at least 1"),
        (dict(eps_quantile=2.0), "quantile must be in"),
        (dict(eps_knn=0), "k must be at least 1"),
        (dict(lens="pca"), "unknown lens 'pca'"),
        (dict(cover="adaptive"), "unknown cover 'adaptive'"),
        (dict(lens=np.zeros(3)), "the lens has 3 values but X has 40 rows"),
        (dict(lens=np.zeros((40, 2))), "lens array must be 1-D"),
        (dict(lens=np.full(40, np.nan)), "lens is not finite"),
        (dict(lens=np.ones(40)), "lens is constant"),
        (dict(eps_knn=50), "need at least 51 samples, got 40"),
        (dict(min_intersection=0), "minimum intersection must be at least 1"),
    ],
)
def test_bad_parameters_raise_value_error_with_the_cores_message(kwargs, message):
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        topoact.mapper(X, **kwargs)


def test_duplicates_only_give_a_zero_epsilon_error():
    X = np.repeat(np.arange(8, dtype=np.float32)[:, None], 10, axis=0)
    X = np.hstack([X, X])
    with pytest.raises(ValueError, match="is 0 \\(many exact duplicates\\); set epsilon explicitly"):
        topoact.mapper(X, n_intervals=3)
