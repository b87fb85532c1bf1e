"""Peer figures for the in-browser projection checks (tests/e2e/peers.test.mjs): openTSNE and
umap-learn on a layer of the demo file, run with several seeds, each run scored with the
10-NN preservation measure; the seed-to-seed spread sets the tolerance the e2e test allows.

The measure (the same in tests/e2e/peers.test.mjs, which recomputes it on the page's
coordinates): for every point, its 10 nearest other points in the layer (float16 as stored,
widened to float64; squared distances summed coordinate by coordinate in index order; ties
broken by the lower sample index) and its 10 nearest other points in 2-D (float64 distances of
the coordinates as returned); the fraction of the first set found in the second, averaged over
all points. The fixture records a sha256 of the layer's neighbour lists so the test can
check that it finds the same neighbours.

Tolerance: floor = mean - 3 x (sample standard deviation over the seeds) for each tool; the
test asserts ours >= floor, i.e. that our figure is within the peer's own run-to-run noise or
better.

Run (from the repository root): see tools/embed/README.md. Writes
tests/fixtures/peers/projection.json (or --out). `--file` scores the layers of another npz
(default: the demo file); `--merge` adds the layers to the existing --out file instead of
replacing it, each new layer entry carrying its own `seeds`, `command` and (when not the demo
file) `dataset`, and replacing an entry of the same layer and file.
"""
import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import openTSNE
import scipy
import sklearn
import umap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_REL = "public/demo/fashion-efficientnet-lite0.npz"
OUT_REL = "tests/fixtures/peers/projection.json"
K = 10
TSNE_PARAMS = {"perplexity": 50, "n_jobs": 1}
UMAP_PARAMS = {"n_neighbors": 20, "min_dist": 0.01}
SIGMAS = 3
# Thread counts recorded with the command (the results do not depend on them: openTSNE runs
# with n_jobs=1 and umap-learn with a random_state is sequential).
THREAD_VARS = ["OMP_NUM_THREADS", "NUMBA_NUM_THREADS"]


def exact_neighbours(points, k=K, block=256):
    """k nearest other rows of every row: float64 squared distances accumulated over the
    coordinates in index order, ties to the lower index. Vectorised over blocks of query rows
    and all candidate rows; every distance is the same sequence of float64 operations as one
    row at a time, so the lists do not depend on the block size."""
    x = np.asarray(points, dtype=np.float64)
    n, dim = x.shape
    columns = np.ascontiguousarray(x.T)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        acc = np.zeros((len(rows), n), dtype=np.float64)
        for j in range(dim):
            diff = columns[j][None, :] - columns[j][rows][:, None]
            acc += diff * diff
        acc[np.arange(len(rows)), rows] = np.inf
        # stable: equal distances keep index order
        out[rows] = np.argsort(acc, axis=1, kind="stable")[:, :k]
    return out


def preservation(high_nn, low):
    low_nn = exact_neighbours(low)
    kept = sum(len(set(high_nn[i]).intersection(low_nn[i])) for i in range(high_nn.shape[0]))
    return kept / (high_nn.shape[0] * K)


def summary(values):
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {
        "mean": round(mean, 5),
        "sd": round(sd, 5),
        "min": min(values),
        "max": max(values),
        "floor": round(mean - SIGMAS * sd, 5),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--layer", action="append", help="layer key(s), default act_block4")
    parser.add_argument("--seeds", default="42,1,2,3,4,5,6,7")
    parser.add_argument("--out", default=os.path.join(ROOT, OUT_REL))
    parser.add_argument("--file", default=DEMO_REL, help="npz relative to the repository root")
    parser.add_argument("--merge", action="store_true", help="add the layers to the existing --out")
    args = parser.parse_args()
    layers = args.layer or ["act_block4"]
    seeds = [int(s) for s in args.seeds.split(",")]

    demo = os.path.join(ROOT, args.file)
    with open(demo, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    data = np.load(demo)
    entries = []
    for layer in layers:
        stored = data[layer]
        x64 = stored.astype(np.float64)
        t0 = time.perf_counter()
        high_nn = exact_neighbours(x64)
        print(f"{layer}: exact 10-NN in {time.perf_counter() - t0:.1f} s", flush=True)
        x32 = stored.astype(np.float32)
        runs = {"openTSNE": [], "umap-learn": []}
        for seed in seeds:
            t0 = time.perf_counter()
            emb = np.asarray(openTSNE.TSNE(random_state=seed, **TSNE_PARAMS).fit(x32))
            wall = time.perf_counter() - t0
            runs["openTSNE"].append({"seed": seed, "quality": preservation(high_nn, emb), "wall_seconds": round(wall, 2)})
            t0 = time.perf_counter()
            emb = umap.UMAP(random_state=seed, **UMAP_PARAMS).fit_transform(x32)
            wall = time.perf_counter() - t0
            runs["umap-learn"].append({"seed": seed, "quality": preservation(high_nn, emb), "wall_seconds": round(wall, 2)})
            print(layer, seed, {t: r[-1] for t, r in runs.items()}, flush=True)
        entries.append({
            "layer": layer,
            "n_points": int(stored.shape[0]),
            "dim": int(stored.shape[1]),
            "dtype_in_file": str(stored.dtype),
            "high_dim_neighbours_sha256": hashlib.sha256(high_nn.astype("<i4").tobytes()).hexdigest(),
            "tools": {
                "openTSNE": {"version": openTSNE.__version__,
                             "params": {**TSNE_PARAMS, "random_state": "seed", "input": "float32", "other": "defaults"},
                             "runs": runs["openTSNE"], **summary([r["quality"] for r in runs["openTSNE"]])},
                "umap-learn": {"version": umap.__version__,
                               "params": {**UMAP_PARAMS, "random_state": "seed", "input": "float32", "other": "defaults"},
                               "runs": runs["umap-learn"], **summary([r["quality"] for r in runs["umap-learn"]])},
            },
        })
    command = (" ".join(f"{v}={os.environ[v]}" for v in THREAD_VARS if v in os.environ)
               + " /work/.venv-embed/bin/python tools/embed/make_seed_spread.py " + " ".join(sys.argv[1:]))
    if args.merge:
        with open(args.out) as f:
            doc = json.load(f)
        for entry in entries:
            entry["seeds"] = seeds
            entry["command"] = command
            if args.file != DEMO_REL:
                entry["dataset"] = {"file": args.file, "sha256": sha256}
            same = [i for i, old in enumerate(doc["layers"])
                    if old["layer"] == entry["layer"]
                    and old.get("dataset", {}).get("file", DEMO_REL) == args.file]
            if same:
                doc["layers"][same[0]] = entry
            else:
                doc["layers"].append(entry)
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        return
    doc = {
        "description": "10-NN preservation of openTSNE and umap-learn on demo layers over several seeds, for "
                       "tests/e2e/peers.test.mjs. Produced by tools/embed/make_seed_spread.py.",
        "measure": {"k": K, "high_dim": "float16 as stored -> float64, squared distances summed over coordinates in "
                                        "index order, ties to the lower index, self excluded",
                    "low_dim": "float64 distances of the coordinates as returned, same tie rule", "points": "all",
                    "neighbours_sha256_of": "the n x 10 neighbour indices as little-endian int32, row by row"},
        "tolerance": {"rule": f"floor = mean - {SIGMAS} x sd (sample standard deviation over the seeds), per tool",
                      "sigmas": SIGMAS},
        "command": command,
        "seeds": seeds,
        "dataset": {"file": args.file, "sha256": sha256},
        "environment": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                        "scikit-learn": sklearn.__version__, "openTSNE": openTSNE.__version__,
                        "umap-learn": umap.__version__, "machine": platform.machine(),
                        "note": "2-core shared machine; walls are upper bounds"},
        "layers": entries,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
