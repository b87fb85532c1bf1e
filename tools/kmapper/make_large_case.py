"""KeplerMapper 2.1.0 on a data set of at least 60,000 rows (generated, not stored).

The core's neighbour searches prune with `pruning_coords(n_rows, dim)` coordinates
(crates/topoact-core/src/mapper/job.rs): 24 below 60,000 rows, `dim / 8` clamped to 24..96 from
60,000 rows on. The stored fixtures (make_fixtures.py) are all far below 60,000 rows, so this
case covers the other branch: 62,000 x 256 float32 activation-like rows (synth.py, seed 60,
latent map summed in order, so no BLAS is involved), `dim / 8 = 32` pruning coordinates.

KeplerMapper runs with the app's defaults: L2 lens (float64, summed in coordinate order),
`Cover(30, 0.3)`, `DBSCAN(eps, min_samples=5)` with eps = `np.median` of scikit-learn's exact
5th-nearest-neighbour distance (`NearestNeighbors(n_neighbors=6)`, the row itself not counted),
`GraphNerve(1)`. The row count is even, so the median is the mean of two distances rather
than one pair's distance (no pair sits exactly at eps).

The data are the same bytes on every run: `DATA_SHA256` is their sha256 (checked here and by
crates/topoact-py/tests/test_mapper_large.py, which runs this case live against
`topoact.mapper`). Usage, from the repository root, with the venv of requirements.txt (or
.venv-py of tools/setup.sh):

    python tools/kmapper/make_large_case.py --out large_case.json [--data large_case.npy]

writes KeplerMapper's graph (node names in insertion order, members, links), eps, the
versions, the data's sha256 and the timings as JSON; `--data` also saves the rows (about
63 MB; not committed).
"""

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import activation_like  # noqa: E402

N_ROWS = 62_000
DIM = 256
SEED = 60
N_CUBES = 30
OVERLAP = 0.3
K = 5
MIN_SAMPLES = 5
# sha256 of the float32 rows (C order, little-endian bytes) that make_data() returns.
DATA_SHA256 = "b3fb33fae5d9ac41c1530ae6135a7aef61134ff03eeffd6bf1eac6f857394c2a"


def make_data():
    """The rows: N_ROWS x DIM float32, seeded, no BLAS in the generator."""
    x, _, _ = activation_like(N_ROWS, DIM, seed=SEED, in_order=True)
    assert x.shape == (N_ROWS, DIM) and x.dtype == np.float32
    return np.ascontiguousarray(x)


def data_sha256(x):
    return hashlib.sha256(np.ascontiguousarray(x, dtype="<f4").tobytes()).hexdigest()


def l2_lens(x):
    # Sequential float64 sum of squares (np.cumsum sums in order), as the core's L2 lens.
    x64 = x.astype(np.float64)
    return np.sqrt(np.cumsum(x64 * x64, axis=1)[:, -1])


def median_kth_distance(x, k=K):
    from sklearn.neighbors import NearestNeighbors

    x64 = x.astype(np.float64)
    return float(np.median(NearestNeighbors(n_neighbors=k + 1).fit(x64).kneighbors(x64)[0][:, k]))


def kmapper_case(x, eps=None):
    """KeplerMapper's graph of `x` with the app's defaults. `eps`: skip the search (the test
    passes scikit-learn's value only after comparing it with ours). Returns a dict with
    nodes (insertion order), links, eps and the seconds of each part."""
    import kmapper as km
    from sklearn.cluster import DBSCAN

    t0 = time.perf_counter()
    lens = l2_lens(x)
    t1 = time.perf_counter()
    if eps is None:
        eps = median_kth_distance(x)
    t2 = time.perf_counter()
    graph = km.KeplerMapper(verbose=0).map(
        lens.reshape(-1, 1),
        x,
        clusterer=DBSCAN(eps=eps, min_samples=MIN_SAMPLES),
        cover=km.Cover(n_cubes=N_CUBES, perc_overlap=OVERLAP),
        nerve=km.GraphNerve(min_intersection=1),
    )
    t3 = time.perf_counter()
    nodes = {name: [int(i) for i in members] for name, members in graph["nodes"].items()}
    links = {name: list(targets) for name, targets in graph["links"].items()}
    return dict(eps=eps, nodes=nodes, links=links,
                seconds=dict(lens=t1 - t0, eps_search=t2 - t1, map=t3 - t2))


def versions():
    import kmapper as km
    import scipy
    import sklearn

    return dict(kmapper=km.__version__, sklearn=sklearn.__version__, numpy=np.__version__,
                scipy=scipy.__version__, python=platform.python_version(), machine=platform.machine())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="KeplerMapper's graph and provenance (JSON)")
    ap.add_argument("--data", help="also save the rows here (.npy)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    x = make_data()
    generate_s = time.perf_counter() - t0
    digest = data_sha256(x)
    if digest != DATA_SHA256:
        print(f"warning: the data's sha256 is {digest}, not {DATA_SHA256}", file=sys.stderr)
    if args.data:
        np.save(args.data, x)
    case = kmapper_case(x)
    case["seconds"]["generate"] = generate_s
    n_edges = sum(len(v) for v in case["links"].values())
    out = dict(
        command="python tools/kmapper/make_large_case.py " + " ".join(sys.argv[1:]),
        versions=versions(),
        data=dict(generator="tools/kmapper/synth.py activation_like(in_order=True)", n_rows=N_ROWS,
                  dim=DIM, seed=SEED, dtype="float32", sha256=digest),
        params=dict(lens="l2", n_cubes=N_CUBES, perc_overlap=OVERLAP, eps_knn=dict(k=K, quantile=0.5),
                    min_samples=MIN_SAMPLES, min_intersection=1),
        **case,
    )
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(json.dumps(dict(nodes=len(case["nodes"]), edges=n_edges, eps=case["eps"], sha256=digest,
                          seconds=case["seconds"])))


if __name__ == "__main__":
    main()
