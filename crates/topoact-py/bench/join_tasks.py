"""The join-by-blocks eps search's tasks one by one, for docs/distributed-mapper.md.

    RAYON_NUM_THREADS=1 .venv-py/bin/python crates/topoact-py/bench/join_tasks.py 1000000 256 4

`topoact.synth` N x D cut into G groups of consecutive rows (the cluster's default is two
per worker); the pilot's `_knn_in` per group, one `_pair_kth` of a group with itself and one
of two groups, and a merge, each called as its Dask task calls it, in this process. Prints
a JSON line per step (wall seconds and CPU seconds, `time.process_time`, which leave out the
waiting for a core on a shared machine) and the bytes of inputs and results.
"""
import json
import os
import sys
import time

import numpy as np

import topoact
from topoact import _core
from topoact import distributed as d

cpu = time.process_time

n, dim, G = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
t = time.perf_counter(); X, _ = topoact.synth(n, dim, 0); synth_s = time.perf_counter() - t
params = topoact._params("l2", 5, "uniform", 30, 0.3, None, 5, 0.5, False, 5, 1, False)
k = params.global_eps_knn
edges = np.linspace(0, n, G + 1).astype(int)
groups = [X[a:b] for a, b in zip(edges[:-1], edges[1:])]
out = dict(n=n, dim=dim, G=G, group_rows=len(groups[0]), group_bytes=int(groups[0].nbytes),
           synth_s=round(synth_s, 1), rayon=os.environ.get("RAYON_NUM_THREADS"))
def log(**kw):
    out.update(kw); print(json.dumps(kw), flush=True)

pilot = _core.pilot_rows(n).astype(np.int64)
queries = np.ascontiguousarray(X[pilot])
found = []
for g in range(G):
    own = np.where((pilot >= edges[g]) & (pilot < edges[g + 1]), pilot - edges[g], -1).astype(np.int64)
    t = time.perf_counter(); c = cpu(); found.append(d._knn_in(groups[g], queries, own, params))
    log(**{f"knn_in_{g}_s": round(time.perf_counter() - t, 2), f"knn_in_{g}_cpu_s": round(cpu() - c, 2)})
radius = _core.join_radius(d._kth_of(k, found), params)
log(pilot_rows=len(pilot), pilot_bytes=int(queries.nbytes), radius=radius)
t = time.perf_counter(); c = cpu(); r_self, _ = d._pair_kth(groups[0], None, radius, params)
log(pair_self_s=round(time.perf_counter() - t, 2), pair_self_cpu_s=round(cpu() - c, 2), pair_self_result_bytes=int(r_self.nbytes),
    self_within=float(np.mean(r_self[:, k - 1] <= radius)))
t = time.perf_counter(); c = cpu(); a, b = d._pair_kth(groups[0], groups[1], radius, params)
log(pair_cross_s=round(time.perf_counter() - t, 2), pair_cross_cpu_s=round(cpu() - c, 2), pair_cross_result_bytes=int(a.nbytes + b.nbytes))
# A merge task's input: its group's G results (here the self-join's and G - 1 copies of a cross one).
t = time.perf_counter(); d._kth_of(k, [r_self] + [a] * (G - 1)); log(merge_s=round(time.perf_counter() - t, 3))
print(json.dumps(out), flush=True)
