"""topoact.distributed.mapper on a 2-worker LocalCluster (worker processes) equals
topoact.mapper on the same data, with X as NumPy and as a chunked dask.array; a worker lost
mid-run never makes it return a different graph."""

import threading

import numpy as np
import pytest

import topoact
from conftest import FIXTURES, assert_same_graph

da = pytest.importorskip("dask.array")
tdist = pytest.importorskip("topoact.distributed")


@pytest.fixture(scope="module")
def demo_rows(demo):
    return demo["act_block14"][:3000]


def test_numpy_input_equals_single_machine(dask_client, demo_rows):
    single = topoact.mapper(demo_rows)
    calls = []
    spread = tdist.mapper(demo_rows, client=dask_client, block_rows=700,
                          progress=lambda *a: calls.append(a))
    assert_same_graph(spread, single)
    assert spread["meta_data"]["eps"] == single["meta_data"]["eps"]
    assert spread["simplices"] == single["simplices"]
    assert {c[0] for c in calls} >= {"lens", "k-th neighbour distances", "clustering intervals"}


def test_dask_array_input_equals_single_machine(dask_client, demo_rows):
    single = topoact.mapper(demo_rows, cover="balanced", n_intervals=20)
    X = da.from_array(demo_rows, chunks=(800, 64))
    spread = tdist.mapper(X, client=dask_client, cover="balanced", n_intervals=20)
    assert_same_graph(spread, single)
    assert spread["meta_data"]["eps"] == single["meta_data"]["eps"]


def test_per_interval_eps_and_dedup_equal_single_machine(dask_client):
    X = np.load(FIXTURES / "overlap.npy")
    kwargs = dict(n_intervals=12, overlap=0.6, eps_per_interval=True, eps_knn=4, min_samples=4,
                  remove_duplicate_nodes=True, min_intersection=2)
    assert_same_graph(tdist.mapper(da.from_array(X, chunks=(333, -1)), client=dask_client, **kwargs),
                      topoact.mapper(X, **kwargs))


def test_explicit_eps_and_lens_values_equal_single_machine(dask_client):
    X = np.load(FIXTURES / "grid2d.npy")
    lens = np.load(FIXTURES / "grid2d_eps1_lens.npy")
    kwargs = dict(lens=lens, n_intervals=6, overlap=0.25, eps=1.0)
    assert_same_graph(tdist.mapper(X, client=dask_client, block_rows=37, **kwargs),
                      topoact.mapper(X, **kwargs))


@pytest.mark.parametrize("case", ["int20_eps2", "grid2d_dedup", "overlap75_f64"])
def test_fixture_cases_equal_kmapper(dask_client, case):
    """Pairs exactly at eps, scikit-learn's brute-force rule (20-D), merged duplicates and
    float64 data, through the per-interval tasks."""
    from conftest import load_cases

    c = next(c for c in load_cases() if c["name"] == case)
    X = np.load(FIXTURES / c["data"])
    lens = np.load(FIXTURES / c["lens"])
    graph = tdist.mapper(X, client=dask_client, lens=lens, n_intervals=c["n_cubes"],
                         overlap=c["perc_overlap"], eps=c["eps"], min_samples=c["min_samples"],
                         remove_duplicate_nodes=c["remove_duplicate_nodes"], block_rows=97)
    expected = ({k: sorted(v) for k, v in c["nodes"].items()},
                {k: v for k, v in c["links"].items() if v})
    assert_same_graph(graph, expected, ordered=not c["remove_duplicate_nodes"])


def test_bad_input_and_whole_row_lenses_raise_value_error(dask_client):
    X = np.zeros((20, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="needs all rows at once"):
        tdist.mapper(X, client=dask_client, lens="pc1")
    with pytest.raises(ValueError, match="overlap must be in"):
        tdist.mapper(X, client=dask_client, overlap=2.0)
    with pytest.raises(ValueError, match="float16, float32 or float64"):
        tdist.mapper(da.zeros((20, 3), dtype=np.int32), client=dask_client)
    with pytest.raises(ValueError, match="2-D"):
        tdist.mapper(np.zeros(20, dtype=np.float32), client=dask_client)


def test_a_worker_killed_mid_run_gives_the_graph_or_an_error(dask_client, demo_rows):
    """Kills one worker process while tasks run: the call either finishes with the
    single-machine graph (Dask reran the lost tasks) or raises; never another graph."""
    import os

    single = topoact.mapper(demo_rows)
    X = da.from_array(demo_rows, chunks=(500, -1))
    workers = list(dask_client.scheduler_info()["workers"])

    def kill_one():
        try:
            dask_client.run(os._exit, 1, workers=workers[:1], wait=False)
        except Exception:  # noqa: BLE001 - the worker may already be gone
            pass

    killer = threading.Timer(0.5, kill_one)
    killer.start()
    try:
        spread = tdist.mapper(X, client=dask_client)
    except Exception as err:  # noqa: BLE001 - raising is an allowed outcome
        killer.join()
        assert not isinstance(err, AssertionError)
        dask_client.wait_for_workers(2, timeout=60)
        return
    killer.join()
    assert_same_graph(spread, single)
    dask_client.wait_for_workers(2, timeout=60)
