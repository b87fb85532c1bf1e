"""Records KeplerMapper 2.1.0 graphs as JSON fixtures for crates/topoact-core/tests/mapper_kmapper.rs.

Usage (from the repository root, with the venv of tools/kmapper/requirements.txt):
    python tools/kmapper/make_fixtures.py crates/topoact-core/tests/fixtures/kmapper

For each case it stores the data (.npy), the exact float64 lens handed to KeplerMapper
(.npy), the parameters, epsilon (or, for an adaptive epsilon, the one chosen in each cube),
and KeplerMapper's `nodes` (in its insertion order) and `links`, in cases.json.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import kmapper as km
import sklearn
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN
from sklearn.decomposition import PCA
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


def l1_lens(x):
    # Sequential float64 sum of absolute values, as the Rust L1 lens.
    return np.cumsum(np.abs(x.astype(np.float64)), axis=1)[:, -1]


def mean_lens(x):
    # Sequential float64 sum divided by the dimension, as the Rust mean lens.
    return np.cumsum(x.astype(np.float64), axis=1)[:, -1] / x.shape[1]


def zeros_lens(x):
    # Fraction of exactly-zero values (an exact count over the dimension).
    return np.count_nonzero(x == 0, axis=1).astype(np.float64) / x.shape[1]


def pc1_lens(x):
    # scikit-learn's PCA: centred projection on the first component, sign by
    # svd_flip(u_based_decision=False) (the largest-magnitude loading is positive).
    pca = PCA(n_components=1).fit(x.astype(np.float64))
    loading = pca.components_[0]
    assert loading[np.argmax(np.abs(loading))] > 0, "scikit-learn's sign convention"
    return pca.transform(x.astype(np.float64))[:, 0]


def sorted_distances_by_differences(x64, i):
    # Float64 distances from row i to every other row: sqrt of the squared differences summed
    # in coordinate order (np.cumsum sums in order), ascending; row i itself left out. This
    # is the project's definition of "exact" k-NN distances (the Rust mapper's), not
    # scikit-learn's brute-force expansion |x|^2 + |y|^2 - 2 x.y, which differs in the last bits.
    d = np.sqrt(np.cumsum((x64 - x64[i]) ** 2, axis=1)[:, -1])
    return np.sort(np.delete(d, i))


def knn_distance_lens(x, k):
    # Mean distance to the k nearest other rows: the k smallest summed in ascending order.
    x64 = x.astype(np.float64)
    lens = np.empty(len(x64))
    for i in range(len(x64)):
        total = 0.0
        for d in sorted_distances_by_differences(x64, i)[:k]:
            total += d
        lens[i] = total / k
    return lens


def kth_quantile_by_differences(x64, k, quantile):
    kth = np.array([sorted_distances_by_differences(x64, i)[k - 1] for i in range(len(x64))])
    return float(np.median(kth) if quantile == 0.5 else np.quantile(kth, quantile))


def check_no_tie_at_eps(x64, eps):
    # A quantile that lands on one pair's distance makes that pair's "dist <= eps" a tie.
    # scikit-learn's brute force (dim > 15, or <= 11 rows) decides it with |x|^2 + |y|^2 - 2 x.y
    # summed by BLAS, whose order is the machine's, not ours: the fixture would pin the last
    # bit of a BLAS kernel. Refuse such a case (choose another quantile) unless the data are
    # small integers, where every sum is exact. The KD-tree path sums differences, as the
    # quantile does, so its ties are decided the same way on both sides.
    n, dim = x64.shape
    if not (dim > 15 or 5 >= n // 2):
        return
    if np.all(x64 == np.round(x64)) and np.abs(x64).max() < 2**20:
        return
    for i in range(n):
        d = np.sqrt(np.cumsum((x64[i + 1:] - x64[i]) ** 2, axis=1)[:, -1])
        if np.any(np.abs(d - eps) <= 1e-9 * eps):
            raise SystemExit(f"a pair at distance eps = {eps!r} in a brute-force cube: choose another quantile")


class AdaptiveDBSCAN(ClusterMixin, BaseEstimator):
    """DBSCAN whose eps is chosen inside each cube, as the app's adaptive epsilon: a
    quantile of the k-th-nearest-neighbour distances of the cube's own rows (neighbours
    searched among them, k clamped to rows - 1, distances by differences), a zero statistic
    replaced by the smallest positive normal float64. KeplerMapper hands each cube's rows to
    the same object's fit_predict, in cube order; `eps_used` records (rows, eps) per call.
    `min_samples` is also what KeplerMapper reads as its minimum cube size."""

    def __init__(self, k=5, quantile=0.5, min_samples=5):
        self.k = k
        self.quantile = quantile
        self.min_samples = min_samples

    def fit_predict(self, X, y=None):
        x64 = np.asarray(X, dtype=np.float64)
        k = min(self.k, len(x64) - 1)
        eps = kth_quantile_by_differences(x64, k, self.quantile)
        if not eps > 0:
            eps = float(np.finfo(np.float64).tiny)
        check_no_tie_at_eps(x64, eps)
        if not hasattr(self, "eps_used"):
            self.eps_used = []
        self.eps_used.append(dict(rows=len(x64), eps=eps))
        return DBSCAN(eps=eps, min_samples=self.min_samples).fit_predict(x64)


def run_kmapper(x, lens, n_cubes, overlap, eps, min_samples, min_intersection, remove_duplicate_nodes=False,
                clusterer=None):
    mapper = km.KeplerMapper(verbose=0)
    graph = mapper.map(
        lens.reshape(-1, 1),
        x,
        clusterer=clusterer if clusterer is not None else DBSCAN(eps=eps, min_samples=min_samples),
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
             min_intersection=1, cover="uniform", eps_knn=None, remove_duplicate_nodes=False,
             eps_adaptive=None):
        lens_file = f"{name}_lens.npy"
        np.save(out / lens_file, lens.astype(np.float64))
        clusterer = None
        if eps_adaptive is not None:
            clusterer = AdaptiveDBSCAN(eps_adaptive["k"], eps_adaptive["quantile"], min_samples)
        nodes, links = run_kmapper(x, lens, n_cubes, overlap, eps, min_samples, min_intersection,
                                   remove_duplicate_nodes, clusterer)
        extra = {}
        if eps_adaptive is not None:
            extra = dict(eps_adaptive=eps_adaptive, eps_per_cube=getattr(clusterer, "eps_used", []))
        cases.append(dict(name=name, data=data_file, lens=lens_file, lens_kind=lens_kind, cover=cover,
                          n_cubes=n_cubes, perc_overlap=overlap, eps=eps, eps_knn=eps_knn,
                          min_samples=min_samples, min_intersection=min_intersection,
                          remove_duplicate_nodes=remove_duplicate_nodes, nodes=nodes, links=links, **extra))
        merged = sum("-" in n for n in nodes)
        print(f"{name}: {len(nodes)} nodes ({merged} merged), {sum(len(v) for v in links.values())} edges, "
              f"eps={eps!r}" + (f", {len(extra['eps_per_cube'])} adaptive eps" if extra else ""))

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

    # 5. The other lenses on the tree, each as the Rust lens computes it (float64, sums in
    #    coordinate order): L1, mean, fraction of zeros (few distinct values, so samples sit
    #    on interval bounds), scikit-learn's PC1 (centred, its sign convention), and the mean
    #    distance to the 5 nearest others (distances by differences).
    case("tree_l1", "tree.npy", tree, l1_lens(tree), "l1", 20, 0.35, eps, 5)
    case("tree_mean", "tree.npy", tree, mean_lens(tree), "mean", 15, 0.25, eps, 5)
    case("tree_zeros", "tree.npy", tree, zeros_lens(tree), "zeros", 12, 0.4, eps, 5)
    case("tree_pc1", "tree.npy", tree, pc1_lens(tree), "pc1", 25, 0.3, eps, 5)
    case("tree_knn5", "tree.npy", tree, knn_distance_lens(tree, 5), "knn5", 18, 0.3, eps, 5)

    # 6. Adaptive epsilon over many intervals (AdaptiveDBSCAN above): a 12-d activation-like
    #    cloud (KD-tree path in scikit-learn, brute force in its small end cubes) with a
    #    uniform and a balanced cover, the 64-d tree (brute-force path), and the small-integer
    #    clusters (exact arithmetic). Quantiles other than the median where a median would
    #    land on a pair's distance in a brute-force cube (see check_no_tie_at_eps).
    low, _, _ = activation_like(1500, 12, seed=13)
    np.save(out / "low12.npy", low)
    adaptive = dict(k=5, quantile=0.5)
    case("low12_adaptive40_q37", "low12.npy", low, l2_lens(low), "l2", 40, 0.3, None, 5,
         eps_adaptive=dict(k=5, quantile=0.37))
    case("low12_balanced_adaptive30", "low12.npy", low, rank_lens(l2_lens(low)), "l2", 30, 0.3, None, 5,
         cover="balanced", eps_adaptive=adaptive)
    case("tree_adaptive30_q37", "tree.npy", tree, lens, "l2", 30, 0.3, None, 5,
         eps_adaptive=dict(k=5, quantile=0.37))
    case("int20_adaptive12", "int20.npy", ints, ilens, "custom", 12, 0.3, None, 4, eps_adaptive=adaptive)

    # 7. Duplicate-node removal on data where neighbouring cubes repeat clusters: the
    #    fraction-of-zeros lens in narrow, strongly overlapping cubes, and the integer sums.
    case("tree_zeros_dedup", "tree.npy", tree, zeros_lens(tree), "zeros", 40, 0.7, eps, 5,
         remove_duplicate_nodes=True)
    case("int20_dedup", "int20.npy", ints, ilens, "custom", 40, 0.6, 2.0, 4, remove_duplicate_nodes=True)

    # 8. Real demo activations, when the repository has them.
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
