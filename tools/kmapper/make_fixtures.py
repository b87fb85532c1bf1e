"""Records KeplerMapper 2.1.0 graphs as JSON fixtures for crates/topoact-core/tests/mapper_kmapper.rs.

Usage (from the repository root, with the venv of tools/kmapper/requirements.txt):
    python tools/kmapper/make_fixtures.py crates/topoact-core/tests/fixtures/kmapper

For each case it stores the data (.npy), the exact float64 lens handed to KeplerMapper
(.npy), the parameters, epsilon, and KeplerMapper's `nodes` and `links`, in cases.json.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import kmapper as km
import sklearn
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import activation_like  # noqa: E402


def l2_lens(x):
    # Sequential float64 sum of squares (np.cumsum sums in order), as the Rust L2 lens.
    x64 = x.astype(np.float64)
    return np.sqrt(np.cumsum(x64 * x64, axis=1)[:, -1])


def rank_lens(lens):
    order = np.argsort(lens, kind="stable")
    ranks = np.empty(len(lens))
    ranks[order] = np.arange(len(lens), dtype=np.float64)
    return ranks / (len(lens) - 1)


def knn_eps(x, k, quantile):
    x64 = x.astype(np.float64)
    dist = NearestNeighbors(n_neighbors=k + 1).fit(x64).kneighbors(x64)[0][:, k]
    return float(np.median(dist) if quantile == 0.5 else np.quantile(dist, quantile))


def run_kmapper(x, lens, n_cubes, overlap, eps, min_samples, min_intersection, remove_duplicate_nodes=False):
    mapper = km.KeplerMapper(verbose=0)
    graph = mapper.map(
        lens.reshape(-1, 1),
        x,
        clusterer=DBSCAN(eps=eps, min_samples=min_samples),
        cover=km.Cover(n_cubes=n_cubes, perc_overlap=overlap),
        nerve=km.GraphNerve(min_intersection=min_intersection),
        remove_duplicate_nodes=remove_duplicate_nodes,
    )
    nodes = {name: [int(i) for i in members] for name, members in graph["nodes"].items()}
    links = {name: list(targets) for name, targets in graph["links"].items()}
    return nodes, links


def grid2d():
    xs, ys = np.meshgrid(np.arange(18), np.arange(14))
    pts = np.c_[xs.ravel(), ys.ravel()]
    rng = np.random.default_rng(1)
    keep = rng.uniform(size=len(pts)) > 0.15  # holes, so some points are border or noise
    pts = pts[keep]
    dup = pts[rng.integers(0, len(pts), 20)]  # exact duplicates
    pts = np.r_[pts, dup]
    pts = pts[rng.permutation(len(pts))]
    return pts.astype(np.float32)


def int20():
    rng = np.random.default_rng(2)
    centres = rng.integers(0, 5, (12, 20))
    rows = []
    for i in range(700):
        c = centres[rng.integers(0, len(centres))].copy()
        coords = rng.choice(20, 3, replace=False)
        c[coords] += rng.integers(-1, 2, 3)
        rows.append(c)
    return np.array(rows, dtype=np.float32)


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "crates/topoact-core/tests/fixtures/kmapper")
    out.mkdir(parents=True, exist_ok=True)
    cases = []

    def case(name, data_file, x, lens, lens_kind, n_cubes, overlap, eps, min_samples,
             min_intersection=1, cover="uniform", eps_knn=None, remove_duplicate_nodes=False):
        lens_file = f"{name}_lens.npy"
        np.save(out / lens_file, lens.astype(np.float64))
        nodes, links = run_kmapper(x, lens, n_cubes, overlap, eps, min_samples, min_intersection,
                                   remove_duplicate_nodes)
        cases.append(dict(name=name, data=data_file, lens=lens_file, lens_kind=lens_kind, cover=cover,
                          n_cubes=n_cubes, perc_overlap=overlap, eps=eps, eps_knn=eps_knn,
                          min_samples=min_samples, min_intersection=min_intersection,
                          remove_duplicate_nodes=remove_duplicate_nodes, nodes=nodes, links=links))
        print(f"{name}: {len(nodes)} nodes, {sum(len(v) for v in links.values())} edges, eps={eps!r}")

    # 1. Activation-like tree, 1200 x 64 float32 (brute-force path in scikit-learn).
    tree, labels, names = activation_like(1200, 64, seed=7)
    np.save(out / "tree.npy", tree)
    np.save(out / "tree_labels.npy", labels)
    lens = l2_lens(tree)
    eps = knn_eps(tree, 5, 0.5)
    case("tree_uniform30", "tree.npy", tree, lens, "l2", 30, 0.3, eps, 5, eps_knn=dict(k=5, quantile=0.5))
    case("tree_balanced30", "tree.npy", tree, rank_lens(lens), "l2", 30, 0.3, eps, 5, cover="balanced",
         eps_knn=dict(k=5, quantile=0.5))
    eps_q3 = knn_eps(tree, 5, 0.3)
    case("tree_uniform10_q30_mi3", "tree.npy", tree, lens, "l2", 10, 0.2, eps_q3, 5, min_intersection=3,
         eps_knn=dict(k=5, quantile=0.3))

    # 2. Integer grid in 2-D: points exactly at eps (1 and sqrt 2), duplicates, lens on the
    #    grid lines so samples sit exactly on interval bounds (KD-tree path, and brute
    #    force for intervals of <= 11 samples).
    grid = grid2d()
    np.save(out / "grid2d.npy", grid)
    glens = grid[:, 0].astype(np.float64)
    case("grid2d_eps1", "grid2d.npy", grid, glens, "custom", 6, 0.25, 1.0, 5)
    case("grid2d_eps_sqrt2", "grid2d.npy", grid, glens, "custom", 4, 0.5, float(np.sqrt(2.0)), 5)
    case("grid2d_eps1_many", "grid2d.npy", grid, glens + 0.5 * grid[:, 1], "custom", 25, 0.1, 1.0, 3)
    # Wide overlap on a lens with few distinct values: neighbouring cubes hold the same
    # samples, so their clusters are duplicates that remove_duplicate_nodes merges.
    case("grid2d_dedup", "grid2d.npy", grid, glens, "custom", 30, 0.7, 1.0, 3, remove_duplicate_nodes=True)

    # 3. Small-integer clusters in 20-D: squared distances are exact integers, many pairs
    #    at exactly eps = 2 (brute-force expansion path).
    ints = int20()
    np.save(out / "int20.npy", ints)
    ilens = ints.astype(np.float64).sum(axis=1)
    case("int20_eps2", "int20.npy", ints, ilens, "custom", 8, 0.4, 2.0, 4)
    case("int20_eps_sqrt3", "int20.npy", ints, ilens, "custom", 5, 0.3, float(np.sqrt(3.0)), 6)

    # 4. Overlap above one half (non-adjacent intervals share samples), float32 and float64.
    ov, _, _ = activation_like(1200, 24, seed=11)
    np.save(out / "overlap.npy", ov)
    ov64 = ov.astype(np.float64) * 1.1  # not representable in float32: exercises the f64 path
    np.save(out / "overlap_f64.npy", ov64)
    eps4 = knn_eps(ov, 4, 0.5)
    case("overlap60", "overlap.npy", ov, l2_lens(ov), "l2", 12, 0.6, eps4, 4, eps_knn=dict(k=4, quantile=0.5))
    eps4_64 = knn_eps(ov64, 4, 0.5)
    case("overlap75_f64", "overlap_f64.npy", ov64, l2_lens(ov64), "l2", 9, 0.75, eps4_64, 4,
         eps_knn=dict(k=4, quantile=0.5))

    # 5. Real demo activations, when the repository has them.
    for demo in sorted(Path("public/demo").glob("*.npz")) if Path("public/demo").is_dir() else []:
        with np.load(demo) as z:
            keys = [k for k in z.files if k.startswith("act_")]
            if not keys:
                continue
            x = z[keys[0]]
            if x.ndim != 2:
                continue
            x = x[:1500].astype(np.float32) if x.dtype != np.float16 else x[:1500]
        stem = f"demo_{demo.stem}_{keys[0][4:]}"
        np.save(out / f"{stem}.npy", x)
        eps = knn_eps(x, 5, 0.5)
        case(stem, f"{stem}.npy", x, l2_lens(x), "l2", 20, 0.3, eps, 5, eps_knn=dict(k=5, quantile=0.5))
        break

    meta = dict(kmapper=km.__version__, sklearn=sklearn.__version__, numpy=np.__version__)
    with open(out / "cases.json", "w") as f:
        json.dump(dict(versions=meta, cases=cases), f)
    print("wrote", out / "cases.json", meta)


if __name__ == "__main__":
    main()
