"""Per-task figures of topoact.distributed.mapper on a LocalCluster, for docs/distributed-mapper.md.

    RAYON_NUM_THREADS=1 .venv-py/bin/python crates/topoact-py/bench/scaling.py --n 100000 --dim 256
    RAYON_NUM_THREADS=1 .venv-py/bin/python crates/topoact-py/bench/scaling.py --n 100000 --dim 256 --eps-search join,knn

With RAYON_NUM_THREADS=1 every task runs on one core, so its compute time is a per-core
figure. For each kind of task (Dask key prefix) it prints: how many ran, compute seconds
(total, largest), and bytes moved into the tasks (the workers' transfers) and held as
results. Also the client-side time of each stage, and the whole call. One JSON line per
eps search (``--eps-search join,knn`` runs both, one after the other, on the same cluster
and data: a same-run before/after on a loaded machine).
"""

import argparse
import json
import time
from collections import defaultdict

import numpy as np

import topoact
from topoact import distributed as tdist


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--query-shards", type=int, default=None)
    ap.add_argument("--eps-search", default="join", help="join, knn, or both: join,knn")
    ap.add_argument("--eps-blocks", type=int, default=None)
    ap.add_argument("--block-rows", type=int, default=None)
    ap.add_argument("--single", action="store_true", help="also time topoact.mapper in this process")
    ap.add_argument("--kth-fraction", type=float, default=None,
                    help="large N: time one eps-search task on this fraction of the queries (the "
                         "whole reference), then run the mapper with eps = that sample's median")
    ap.add_argument("--full-search", action="store_true",
                    help="with --kth-fraction: still run the mapper's own eps search (the sample "
                         "only measures the former search's cost per query)")
    args = ap.parse_args()

    from distributed import Client, LocalCluster, get_task_stream

    X, _ = topoact.synth(args.n, args.dim, 0)
    out = dict(n=args.n, dim=args.dim, workers=args.workers, bytes=int(X.nbytes))
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=40, memory_limit=0) as cluster, \
            Client(cluster) as client:
        stages = {}
        last = [time.perf_counter(), None]

        def progress(stage, done, total):
            now = time.perf_counter()
            if last[1] is not None:
                stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
            last[0], last[1] = now, stage

        eps = None
        if args.kth_fraction:
            from topoact import _core

            n_queries = max(1, int(args.kth_fraction * args.n))
            params = topoact._params("l2", 5, "uniform", 30, 0.3, None, 5, 0.5, False, 5, 1, False)
            ref = client.scatter(X)
            t = time.perf_counter()
            kth = client.submit(_core.kth_neighbour_distances, ref, 0, n_queries, params, pure=False).result()
            shard_s = time.perf_counter() - t
            t = time.perf_counter()
            client.submit(_core.kth_neighbour_distances, ref, 0, 1, params, pure=False).result()
            fixed_s = time.perf_counter() - t
            eps = float(np.median(kth))
            out["kth_sample"] = dict(queries=n_queries, seconds=round(shard_s, 2),
                                     one_query_seconds=round(fixed_s, 2),
                                     per_query_ms=round(1000 * (shard_s - fixed_s) / n_queries, 3),
                                     reference_bytes=int(X.nbytes))
            del ref
            if args.full_search:
                out["kth_sample"]["median"] = eps
                eps = None
        graphs = {}
        for search in args.eps_search.split(","):
            stages.clear()
            last[:] = [time.perf_counter(), None]
            run = dict(out, eps_search=search)
            with get_task_stream(client) as ts:
                t = time.perf_counter()
                graph = tdist.mapper(X, client=client, progress=progress, eps=eps,
                                     eps_search=search, eps_blocks=args.eps_blocks,
                                     query_shards=args.query_shards, block_rows=args.block_rows)
                run["seconds"] = round(time.perf_counter() - t, 2)
            progress("end", 0, 0)
            run["stage_seconds"] = {k: round(v, 2) for k, v in stages.items()}
            tasks = defaultdict(lambda: dict(count=0, compute_s=0.0, max_compute_s=0.0,
                                             transfer_bytes=0, result_bytes=0))
            for rec in ts.data:
                prefix = rec["key"][0] if isinstance(rec["key"], tuple) else rec["key"]
                prefix = str(prefix).rsplit("-", 1)[0]
                entry = tasks[prefix]
                entry["count"] += 1
                entry["result_bytes"] += int(rec.get("nbytes", 0) or 0)
                for ss in rec["startstops"]:
                    span = ss["stop"] - ss["start"]
                    if ss["action"] == "compute":
                        entry["compute_s"] += span
                        entry["max_compute_s"] = max(entry["max_compute_s"], span)
                    elif ss["action"] == "transfer":
                        entry["transfer_bytes"] += int(ss.get("nbytes", 0) or 0)
            run["tasks"] = {k: dict(v, compute_s=round(v["compute_s"], 3),
                                    max_compute_s=round(v["max_compute_s"], 3)) for k, v in tasks.items()}
            run["compute_s_all_tasks"] = round(sum(v["compute_s"] for v in tasks.values()), 2)
            run["nodes"] = len(graph["nodes"])
            run["eps"] = graph["meta_data"]["eps"]
            graphs[search] = graph
            print(json.dumps(run), flush=True)
        if len(graphs) > 1:
            first, *rest = graphs.values()
            print(json.dumps(dict(same_eps_and_graph=all(
                g["meta_data"]["eps"] == first["meta_data"]["eps"] and g["nodes"] == first["nodes"]
                and g["links"] == first["links"] for g in rest))), flush=True)
    if args.single:
        t = time.perf_counter()
        single = topoact.mapper(X, eps=eps)
        out["single_machine_seconds"] = round(time.perf_counter() - t, 2)
        out["identical"] = single["nodes"] == graph["nodes"] and single["links"] == graph["links"]
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
