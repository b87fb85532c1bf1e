"""Peer fixtures for the projection quality tests: openTSNE and umap-learn on layers of the
demo file, scored with the same 10-NN preservation measure as
`topoact_core::embed::quality::knn_preservation` (exact neighbours, all points, self
excluded). Writes crates/topoact-core/tests/fixtures/embed/peers.json.

Run (from the repository root): see tools/embed/README.md.
"""
import hashlib
import json
import os
import platform
import sys
import time

import numpy as np
import openTSNE
import scipy
import sklearn
import umap
from sklearn.neighbors import NearestNeighbors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "public", "demo", "fashion-efficientnet-lite0.npz")
OUT = os.path.join(ROOT, "crates", "topoact-core", "tests", "fixtures", "embed", "peers.json")
LAYERS = ["act_block4", "act_block14", "act_head"]
SEED = 42
K_QUALITY = 10


def exact_neighbours(points, k):
    """k exact nearest neighbours of every row, self excluded (brute force, euclidean)."""
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", metric="euclidean").fit(points)
    _, idx = nn.kneighbors(points)
    out = np.empty((points.shape[0], k), dtype=np.int64)
    for i, row in enumerate(idx):
        others = [j for j in row if j != i]
        out[i] = others[:k]
    return out


def knn_preservation(high, low, k=K_QUALITY):
    a = exact_neighbours(high, k)
    b = exact_neighbours(low.astype(np.float64), k)
    kept = sum(len(set(a[i]).intersection(b[i])) for i in range(high.shape[0]))
    return kept / (high.shape[0] * k)


def main():
    with open(DEMO, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    data = np.load(DEMO)
    results = []
    for layer in LAYERS:
        x = data[layer].astype(np.float32)
        entry = {
            "dataset": {"file": "public/demo/fashion-efficientnet-lite0.npz", "layer": layer, "sha256": sha256,
                        "n_points": int(x.shape[0]), "dim": int(x.shape[1]), "dtype_in_file": str(data[layer].dtype)},
            "runs": [],
        }
        t0 = time.perf_counter()
        emb = openTSNE.TSNE(perplexity=50, random_state=SEED, n_jobs=1).fit(x)
        wall = time.perf_counter() - t0
        entry["runs"].append({"tool": "openTSNE", "version": openTSNE.__version__,
                              "params": {"perplexity": 50, "random_state": SEED, "n_jobs": 1, "other": "defaults"},
                              "quality_10nn_kept": knn_preservation(x, np.asarray(emb)), "wall_seconds": round(wall, 2)})
        t0 = time.perf_counter()
        emb = umap.UMAP(n_neighbors=20, min_dist=0.01, random_state=SEED).fit_transform(x)
        wall = time.perf_counter() - t0
        entry["runs"].append({"tool": "umap-learn", "version": umap.__version__,
                              "params": {"n_neighbors": 20, "min_dist": 0.01, "random_state": SEED, "other": "defaults"},
                              "quality_10nn_kept": knn_preservation(x, emb), "wall_seconds": round(wall, 2)})
        print(layer, [(r["tool"], round(r["quality_10nn_kept"], 4), r["wall_seconds"]) for r in entry["runs"]], flush=True)
        results.append(entry)
    doc = {
        "description": "10-NN preservation (fraction of each point's 10 exact input neighbours among its 10 nearest in 2-D, "
                       "all points, self excluded) of openTSNE and umap-learn on demo layers. Produced by "
                       "tools/embed/make_peer_fixtures.py.",
        "quality_measure": {"k": K_QUALITY, "neighbours": "exact, sklearn NearestNeighbors(algorithm='brute')", "points": "all"},
        "environment": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                        "scikit-learn": sklearn.__version__, "openTSNE": openTSNE.__version__, "umap-learn": umap.__version__,
                        "machine": platform.machine(), "note": "2-core shared machine; walls are upper bounds"},
        "datasets": results,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
