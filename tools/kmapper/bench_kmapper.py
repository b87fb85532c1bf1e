"""Times KeplerMapper 2.1.0 + scikit-learn on an activation .npy (e.g. from `topoact synth`).

Same parameters as the Rust side: L2 lens, Cover(intervals, overlap) on the lens (uniform)
or on the rank lens (balanced), DBSCAN(eps = median exact 5th-NN distance, min_samples=5),
GraphNerve(1). Prints one JSON line: eps-search seconds, map seconds, total, nodes, edges.

    python tools/kmapper/bench_kmapper.py data.npy --cover uniform
"""

import argparse
import json
import time

import numpy as np
import kmapper as km
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--cover", choices=["uniform", "balanced"], default="uniform")
    ap.add_argument("--intervals", type=int, default=30)
    ap.add_argument("--overlap", type=float, default=0.3)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--min-samples", type=int, default=5)
    ap.add_argument("--eps", type=float, default=None, help="skip the eps search")
    ap.add_argument("--out", default=None, help="write KeplerMapper's nodes/links JSON here")
    args = ap.parse_args()

    x = np.load(args.data)
    t0 = time.perf_counter()
    x64 = x.astype(np.float64)
    lens = np.sqrt(np.cumsum(x64 * x64, axis=1)[:, -1])
    if args.cover == "balanced":
        order = np.argsort(lens, kind="stable")
        ranks = np.empty(len(lens))
        ranks[order] = np.arange(len(lens), dtype=np.float64)
        lens = ranks / (len(lens) - 1)
    t1 = time.perf_counter()
    if args.eps is None:
        dist = NearestNeighbors(n_neighbors=args.k + 1).fit(x64).kneighbors(x64)[0][:, args.k]
        eps = float(np.median(dist))
    else:
        eps = args.eps
    t2 = time.perf_counter()
    graph = km.KeplerMapper(verbose=0).map(
        lens.reshape(-1, 1),
        x,
        clusterer=DBSCAN(eps=eps, min_samples=args.min_samples),
        cover=km.Cover(n_cubes=args.intervals, perc_overlap=args.overlap),
        nerve=km.GraphNerve(min_intersection=1),
    )
    t3 = time.perf_counter()
    n_edges = sum(len(v) for v in graph["links"].values())
    if args.out:
        with open(args.out, "w") as f:
            json.dump(dict(nodes=graph["nodes"], links=graph["links"]), f)
    print(json.dumps(dict(tool="kmapper", n=x.shape[0], dim=x.shape[1], cover=args.cover, eps=eps,
                          lens_s=t1 - t0, eps_s=t2 - t1, map_s=t3 - t2, total_s=t3 - t0,
                          nodes=len(graph["nodes"]), edges=n_edges)))


if __name__ == "__main__":
    main()
