"""KeplerMapper 2.1.0 on a seeded, class-stratified subsample: the peer fixture of the page's
subsample (tests/e2e/mapper-peers.test.mjs, "subsample").

The page maps the first `size` samples of the core's seeded, class-stratified, nested order
(`topoact_core::pipeline::choose_samples`, ascending sample indices) when a subsample is chosen.
Those indices are the project's definition, so this script takes them from the native CLI
(`topoact embed ... --subsample SIZE --seed SEED --out x.csv` writes one `sample_idx` per row
in use; the same `choose_samples` as the page's worker), then hands exactly those rows, in that
order, to KeplerMapper with the app's defaults: L2 lens (float64, summed in coordinate order),
`Cover(30, 0.3)`, `DBSCAN(eps, min_samples=5)` with eps = `np.median` of scikit-learn's exact
5th-nearest-neighbour distance over the subsample's rows, `GraphNerve(1)`.

Usage, from the repository root, with the venv of requirements.txt and the release CLI built
(`cargo build --release -p topoact-cli`):

    python tools/kmapper/make_subsample_case.py crates/topoact-core/tests/fixtures/kmapper

(`--indices-csv FILE` takes the indices from a CSV instead: the page's "Export projection
(CSV)" of that subsample, whose first column is the same `sample_idx`.)

writes `subsample6000.npz` (the data: `act_mid` 6,000 x 32 float16 from synth.py, seed 21;
`labels`, `class_names`; `proj_mid_tsne`, two of the data's columns as float32, so that the
page draws the subsample's points from the file at once and its "Export projection (CSV)"
lists the samples in use) and `subsample_case.json` (the indices, the parameters, eps and
KeplerMapper's nodes, in its insertion order, and links; KeplerMapper's member ids are
positions in the subsample, `indices[id]` is the sample).
"""

import argparse
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import kmapper as km
import scipy
import sklearn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import check_no_tie_at_eps, knn_eps, l2_lens, run_kmapper  # noqa: E402
from synth import activation_like  # noqa: E402

N_SAMPLES = 6_000
DIM = 32
DATA_SEED = 21
LAYER = "mid"
SUBSAMPLE = 5_000  # the page's smallest subsample size (src/ui/controls.rs SUBSAMPLE_SIZES)
SUBSAMPLE_SEED = 7
CLI = Path("target/release/topoact")


def cli_indices(data_file, layer, size, seed):
    """Sample indices of the rows in use, from the native CLI's projection export."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.csv"
        subprocess.run([str(CLI), "embed", str(data_file), "--layer", layer, "--method", "umap",
                        "--subsample", str(size), "--seed", str(seed), "--out", str(out), "--quiet"],
                       check=True)
        return csv_indices(out, size)


def save_npz(path, arrays):
    """np.savez's layout (a zip of stored .npy entries) with fixed entry times, so that the
    same arrays give the same bytes (np.savez stamps each entry with the current time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buf.getvalue())


def csv_indices(csv_file, size):
    """Sample indices from the first column of a CSV whose header starts with `sample_idx`:
    the CLI's `embed --out x.csv`, or the page's "Export projection (CSV)" of the subsample."""
    lines = Path(csv_file).read_text().strip().split("\n")
    assert lines[0].split(",")[0] == "sample_idx", lines[0]
    indices = [int(line.split(",")[0]) for line in lines[1:]]
    assert len(indices) == size and indices == sorted(set(indices)), "ascending, distinct"
    return indices


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default="crates/topoact-core/tests/fixtures/kmapper")
    ap.add_argument("--indices-csv", help="take the subsample's indices from this CSV instead of "
                    "running the CLI (the page's projection export of the subsample)")
    ap.add_argument("--data-only", action="store_true", help="write the .npz and stop")
    args = ap.parse_args()
    out = Path(args.out)
    x, labels, names = activation_like(N_SAMPLES, DIM, seed=DATA_SEED)
    x = x.astype(np.float16)
    data_file = out / "subsample6000.npz"
    save_npz(data_file, {f"act_{LAYER}": x, "labels": labels.astype(np.int64),
                         "class_names": np.array(names), f"proj_{LAYER}_tsne": x[:, :2].astype(np.float32)})
    if args.data_only:
        return

    if args.indices_csv:
        indices, source = csv_indices(args.indices_csv, SUBSAMPLE), "csv"
    else:
        indices, source = cli_indices(data_file, LAYER, SUBSAMPLE, SUBSAMPLE_SEED), "cli"
    rows = x[indices]
    eps = knn_eps(rows, 5, 0.5)
    # 32 dimensions: scikit-learn's brute-force path, whose distances to eps are summed by BLAS.
    check_no_tie_at_eps(rows.astype(np.float64), eps)
    nodes, links = run_kmapper(rows, l2_lens(rows), 30, 0.3, eps, 5, 1)
    per_class = np.bincount(labels[indices], minlength=len(names)).tolist()
    case = dict(
        name="subsample6000_5000_seed7", data=data_file.name, layer=LAYER, n_samples=N_SAMPLES,
        subsample=dict(size=SUBSAMPLE, seed=SUBSAMPLE_SEED, indices_from=source), per_class=per_class,
        lens_kind="l2", cover="uniform", n_cubes=30, perc_overlap=0.3, eps=eps,
        eps_knn=dict(k=5, quantile=0.5), min_samples=5, min_intersection=1,
        remove_duplicate_nodes=False, indices=indices, nodes=nodes, links=links,
    )
    meta = dict(kmapper=km.__version__, sklearn=sklearn.__version__, numpy=np.__version__,
                scipy=scipy.__version__)
    with open(out / "subsample_case.json", "w") as f:
        json.dump(dict(versions=meta, case=case), f)
    n_edges = sum(len(v) for v in links.values())
    print(f"{case['name']}: {len(nodes)} nodes, {n_edges} edges, eps={eps!r}, per class {per_class}", meta)


if __name__ == "__main__":
    main()
