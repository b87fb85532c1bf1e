"""topoact.mapper vs KeplerMapper 2.1 + scikit-learn in one Python process, and
topoact.distributed.mapper vs topoact.mapper on a LocalCluster.

    .venv-py/bin/python crates/topoact-py/bench/bench_mapper.py --n 20000 --dim 256
    .venv-py/bin/python crates/topoact-py/bench/bench_mapper.py --n 20000 --dim 256 --dask 2 --no-kmapper

Same parameters on both sides: L2 lens, Cover(30, 0.3) (uniform or balanced),
DBSCAN(eps = median exact 5th-NN distance, min_samples=5), GraphNerve(1). KeplerMapper's
side = lens + eps search (NearestNeighbors) + map(); topoact's = the whole mapper() call.
The graphs are checked identical. Prints one JSON line per measurement.
"""

import argparse
import json
import sys
import time
import pathlib

import numpy as np

import topoact

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import assert_same_graph, kmapper_graph, l2_lens, sklearn_kth  # noqa: E402


def timed(f, *a, **kw):
    t = time.perf_counter()
    out = f(*a, **kw)
    return out, time.perf_counter() - t


def rank_lens(lens):
    order = np.lexsort((np.arange(len(lens)), lens))
    ranks = np.empty(len(lens))
    ranks[order] = np.arange(len(order)) / (len(order) - 1)
    return ranks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cover", choices=["uniform", "balanced"], default="uniform")
    ap.add_argument("--no-kmapper", action="store_true")
    ap.add_argument("--dask", type=int, default=0, help="also run distributed.mapper on a LocalCluster of this many worker processes")
    ap.add_argument("--threads-per-worker", type=int, default=1)
    args = ap.parse_args()

    X, _ = topoact.synth(args.n, args.dim, args.seed)
    base = dict(n=args.n, dim=args.dim, cover=args.cover, threads=topoact._core.thread_count())
    ours, t_ours = timed(topoact.mapper, X, cover=args.cover)
    eps = ours["meta_data"]["eps"]
    n_edges = sum(len(v) for v in ours["links"].values())
    print(json.dumps(dict(base, tool="topoact.mapper", seconds=round(t_ours, 3), eps=eps,
                          nodes=len(ours["nodes"]), edges=n_edges)), flush=True)

    if not args.no_kmapper:
        t0 = time.perf_counter()
        lens = l2_lens(X)
        if args.cover == "balanced":
            lens = rank_lens(lens)
        kth = sklearn_kth(X, 5)
        sk_eps = float(np.median(kth))
        t1 = time.perf_counter()
        # Same radius bit for bit (scikit-learn's differs by ~1e-13 relative).
        theirs = kmapper_graph(X, lens, 30, 0.3, eps, 5)
        t2 = time.perf_counter()
        assert_same_graph(ours, theirs)
        print(json.dumps(dict(base, tool="kmapper+sklearn", seconds=round(t2 - t0, 3),
                              eps_search_seconds=round(t1 - t0, 3), map_seconds=round(t2 - t1, 3),
                              eps_relative_difference=abs(sk_eps - eps) / eps,
                              ratio=round((t2 - t0) / t_ours, 2), identical=True)), flush=True)

    if args.dask:
        import dask.array as da
        from distributed import Client, LocalCluster

        from topoact import distributed as tdist

        with LocalCluster(n_workers=args.dask, threads_per_worker=args.threads_per_worker,
                          processes=True, dashboard_address=None, silence_logs=40) as cluster, \
                Client(cluster) as client:
            for kind, data in (("numpy", X), ("dask.array", da.from_array(X, chunks=(max(1, args.n // (2 * args.dask)), -1)))):
                stages = {}
                last = [time.perf_counter(), None]

                def progress(stage, done, total, stages=stages, last=last):
                    now = time.perf_counter()
                    if last[1] is not None:
                        stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
                    last[0], last[1] = now, stage

                spread, t_spread = timed(tdist.mapper, data, client=client, cover=args.cover,
                                         progress=progress)
                assert_same_graph(spread, ours)
                print(json.dumps(dict(base, tool=f"distributed.mapper ({kind})", workers=args.dask,
                                      seconds=round(t_spread, 3), single_machine_seconds=round(t_ours, 3),
                                      identical=True,
                                      stage_seconds={k: round(v, 3) for k, v in stages.items()})), flush=True)


if __name__ == "__main__":
    main()
