"""topoact.distributed.mapper on a 2-worker LocalCluster (worker processes) equals
topoact.mapper on the same data, with X as NumPy and as a chunked dask.array; a worker lost
mid-run never makes it return a different graph. Also on 4 worker processes (tasks spread
over all 4, interleaved on 2 cores)."""

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
    assert {c[0] for c in calls} >= {"lens", "choosing the join radius", "neighbour pairs",
                                     "clustering intervals"}


@pytest.mark.parametrize("scale", [0.3, 2.5])
def test_eps_search_by_blocks_equals_single_machine_bit_for_bit(dask_client, demo, scale):
    """The join over groups of rows gives the single-machine eps bit for bit: at the pilot
    radius, at a radius too small to fix the median (the rows above it are then searched in
    full) and at a larger one; float16 and float64 rows; uneven dask chunks."""
    X = demo["act_block7"][:2600]
    for rows, quantile in ((X, 0.5), (X.astype(np.float64), 0.3)):
        single = topoact.mapper(rows, eps_quantile=quantile, n_intervals=15)
        calls = []
        spread = tdist.mapper(da.from_array(rows, chunks=(500, -1)), client=dask_client,
                              eps_quantile=quantile, n_intervals=15, eps_blocks=4,
                              _radius_scale=scale, progress=lambda *a: calls.append(a[0]))
        assert spread["meta_data"]["eps"] == single["meta_data"]["eps"]
        assert_same_graph(spread, single)
        assert ("k-th neighbour distances" in calls) == (scale < 1)


def test_the_former_eps_search_gives_the_same_graph(dask_client, demo_rows):
    single = topoact.mapper(demo_rows, n_intervals=12)
    spread = tdist.mapper(demo_rows, client=dask_client, n_intervals=12, eps_search="knn")
    assert spread["meta_data"]["eps"] == single["meta_data"]["eps"]
    assert_same_graph(spread, single)
    with pytest.raises(ValueError, match="unknown eps_search 'exact'"):
        tdist.mapper(demo_rows, client=dask_client, eps_search="exact")


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
    with_nan = np.ones((40, 3), dtype=np.float32)
    with_nan[27, 1] = np.nan
    with pytest.raises(ValueError, match="not finite at sample 27"):
        tdist.mapper(with_nan, client=dask_client, block_rows=10)
    with pytest.raises(ValueError, match="not finite at sample 27"):
        tdist.mapper(da.from_array(with_nan, chunks=(15, -1)), client=dask_client)
    duplicates = np.repeat(np.arange(8, dtype=np.float32)[:, None], 10, axis=0)
    with pytest.raises(ValueError, match="is 0 \\(many exact duplicates\\); set epsilon explicitly"):
        tdist.mapper(np.hstack([duplicates, duplicates]), client=dask_client, n_intervals=3)


def test_a_worker_killed_mid_run_gives_the_graph_or_an_error(dask_client, demo_rows):
    """Kills one worker process (SIGKILL, from outside) while tasks run: the call either
    finishes with the single-machine graph (Dask reran the lost tasks on the restarted or
    the other worker) or raises; never another graph."""
    import os
    import signal
    import time

    single = topoact.mapper(demo_rows)
    X = da.from_array(np.vstack([demo_rows] * 3), chunks=(1000, -1))
    expected = topoact.mapper(np.vstack([demo_rows] * 3))
    pids = dask_client.run(os.getpid)
    victim = pids[sorted(pids)[0]]
    started = time.perf_counter()
    killed_at = []

    def kill_one():
        os.kill(victim, signal.SIGKILL)
        killed_at.append(time.perf_counter() - started)

    killer = threading.Timer(0.4, kill_one)
    killer.start()
    outcome = None
    try:
        spread = tdist.mapper(X, client=dask_client)
        outcome = "finished"
    except Exception as err:  # noqa: BLE001 - raising is an allowed outcome
        assert not isinstance(err, AssertionError)
        outcome = f"raised {type(err).__name__}"
    finished_at = time.perf_counter() - started
    killer.join()
    dask_client.wait_for_workers(2, timeout=60)
    assert killed_at and killed_at[0] < finished_at, "the worker must die during the call"
    if outcome == "finished":
        assert_same_graph(spread, expected)
    print(f"worker killed at {killed_at[0]:.2f} s; the call {outcome} at {finished_at:.2f} s")
    assert single["nodes"]


@pytest.fixture(scope="module")
def four_workers():
    """A LocalCluster of 4 one-thread worker processes (more workers than this machine's
    cores: tasks interleave and finish out of order), closed at the end of this module."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=4, threads_per_worker=1, processes=True, dashboard_address=None,
        silence_logs=40,
    )
    client = distributed.Client(cluster)
    client.wait_for_workers(4, timeout=120)
    yield client
    client.close()
    cluster.close()


def test_four_workers_equal_single_machine(four_workers, demo):
    """4 workers: NumPy input (eps searched by the join over the default 8 groups, 36 join
    tasks; blocks scattered over the 4 workers) and a dask.array with uneven row chunks
    (per-interval eps, balanced cover, merged duplicates); node for node topoact.mapper's
    graph, and every worker ran tasks."""
    from distributed import get_task_stream

    assert len(four_workers.scheduler_info()["workers"]) == 4
    X = demo["act_block14"][:2000]
    single = topoact.mapper(X, n_intervals=15)
    with get_task_stream(four_workers) as stream:
        spread = tdist.mapper(X, client=four_workers, n_intervals=15)
    assert_same_graph(spread, single)
    assert spread["meta_data"]["eps"] == single["meta_data"]["eps"]
    assert spread["simplices"] == single["simplices"]
    per_worker = {}
    for task in stream.data:
        per_worker[task["worker"]] = per_worker.get(task["worker"], 0) + 1
    assert len(per_worker) == 4, f"tasks per worker: {sorted(per_worker.values())}"
    print(f"tasks per worker: {sorted(per_worker.values())}")

    X = np.load(FIXTURES / "overlap.npy")
    kwargs = dict(cover="balanced", n_intervals=12, overlap=0.6, eps_per_interval=True,
                  eps_knn=4, min_samples=4, remove_duplicate_nodes=True)
    spread = tdist.mapper(da.from_array(X, chunks=(211, -1)), client=four_workers, **kwargs)
    assert_same_graph(spread, topoact.mapper(X, **kwargs))
