#!/usr/bin/env python3
"""Add linear-probe predictions (``preds``, ``confidence``) to the demo activation file.

The demo (``public/demo/fashion-efficientnet-lite0.npz``) runs Fashion-MNIST through an
ImageNet-pretrained EfficientNet-Lite0 that was never trained on Fashion-MNIST, so the network's
own predictions are ImageNet classes and mean nothing against the Fashion labels. The
predictions stored here are those of the linear probe that ``make_demo_dataset.py`` reports
(``StandardScaler`` + ``LogisticRegression(max_iter=300, C=1.0)``) trained on the deepest stored
layer, taken *out of fold*: ``cross_val_predict(..., method='predict_proba')`` with
``StratifiedKFold(5, shuffle=True, random_state=seed)``, so every sample is predicted by a probe
that never saw it. The network is not run again; only the file's own arrays are used.

Written keys (everything else in the file is kept as it is: same arrays, same dtypes):

* ``preds``       N int64, index into ``class_names`` of the most probable class;
* ``confidence``  N float32, the probe's probability of that class.

Usage (numpy / scikit-learn / scipy as pinned in tools/requirements-demo.txt; no torch)::

    python3 -m venv /work/.venv-demo-probe
    /work/.venv-demo-probe/bin/pip install numpy==2.4.6 scikit-learn==1.9.1 scipy==1.17.1 \\
        joblib==1.6.0 threadpoolctl==3.8.0
    /work/.venv-demo-probe/bin/python tools/add_demo_predictions.py

By default the file is rewritten in place and ``PROVENANCE.md`` next to it gets a
"Predictions" section and an updated "File" section (size, sha256, keys).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_NPZ = os.path.join(REPO, "public/demo/fashion-efficientnet-lite0.npz")
MAX_BYTES = 30 * 1000 * 1000
NEW_KEYS = ("preds", "confidence")
PACKAGES = ("numpy", "scikit-learn", "scipy", "joblib", "threadpoolctl")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_arrays(path: str) -> dict[str, np.ndarray]:
    """Every array of the file, in the file's key order (no pickles)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def deepest_layer(arrays: dict[str, np.ndarray]) -> str:
    """The last layer of ``meta.layers`` (layers are stored shallow to deep)."""
    meta = json.loads(str(arrays["meta"]))
    layers = list(meta["layers"])
    if not layers:
        raise ValueError("meta.layers is empty")
    for ln in layers:
        if f"act_{ln}" not in arrays:
            raise ValueError(f"meta lists layer {ln!r} but the file has no act_{ln}")
    return layers[-1]


def probe_predictions(x: np.ndarray, y: np.ndarray, seed: int = 0, folds: int = 5):
    """Out-of-fold class probabilities of the linear probe.

    Returns ``(proba, fold_of, n_convergence_warnings)``: ``proba`` is N x C (columns are the
    classes 0..C-1), ``fold_of[i]`` the fold in which sample ``i`` was held out.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=1.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        proba = cross_val_predict(clf, x, y, cv=cv, method="predict_proba", n_jobs=1)
    n_conv = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    fold_of = np.full(y.shape[0], -1, dtype=np.int64)
    for k, (_, test) in enumerate(cv.split(x, y)):
        fold_of[test] = k
    assert (fold_of >= 0).all()
    return proba, fold_of, n_conv


def predictions_from_proba(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``preds`` (int64 argmax; first maximum on ties) and ``confidence`` (float32 max prob)."""
    preds = np.argmax(proba, axis=1).astype(np.int64)
    conf = proba[np.arange(proba.shape[0]), preds].astype(np.float32)
    return preds, conf


def summarise(y, preds, conf, class_names, fold_of, top: int = 8) -> dict:
    c = len(class_names)
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (y, preds), 1)
    correct = preds == y
    fold_acc = [float(correct[fold_of == k].mean()) for k in range(int(fold_of.max()) + 1)]
    pairs = []
    for t in range(c):
        for p in range(c):
            if t != p and cm[t, p] > 0:
                pairs.append((int(cm[t, p]), t, p))
    pairs.sort(key=lambda r: (-r[0], r[1], r[2]))
    support = cm.sum(axis=1)
    return {
        "n": int(y.shape[0]),
        "accuracy": float(correct.mean()),
        "n_errors": int((~correct).sum()),
        "fold_accuracy": fold_acc,
        "fold_accuracy_mean": float(np.mean(fold_acc)),
        "fold_accuracy_std": float(np.std(fold_acc)),
        "per_class": [
            {
                "class": str(class_names[k]),
                "recall": float(cm[k, k] / max(support[k], 1)),
                "precision": float(cm[k, k] / max(cm[:, k].sum(), 1)),
                "n": int(support[k]),
            }
            for k in range(c)
        ],
        "confused_pairs": [
            {
                "true": str(class_names[t]),
                "predicted": str(class_names[p]),
                "count": n,
                "share_of_true": float(n / max(support[t], 1)),
            }
            for n, t, p in pairs[:top]
        ],
        "confusion_matrix": cm.tolist(),
        "confidence_mean": float(conf.mean()),
        "confidence_mean_correct": float(conf[correct].mean()) if correct.any() else None,
        "confidence_mean_wrong": float(conf[~correct].mean()) if (~correct).any() else None,
        "confidence_min": float(conf.min()),
    }


def write_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def check_written(path: str, expected: dict[str, np.ndarray]) -> None:
    """Re-read the file: same keys, and every array equal in shape, dtype and bytes."""
    got = load_arrays(path)
    if list(got) != list(expected):
        raise AssertionError(f"keys differ: {list(got)} != {list(expected)}")
    for k, a in expected.items():
        b = got[k]
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            raise AssertionError(f"{k} changed on the way to disk")


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    v = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            v[p] = md.version(p)
        except md.PackageNotFoundError:
            v[p] = "not installed"
    return v


# ----------------------------------------------------------------------------------------------
# PROVENANCE.md
# ----------------------------------------------------------------------------------------------


def predictions_section(info: dict) -> list[str]:
    s = info["summary"]
    v = info["versions"]
    lines = [
        "## Predictions (`preds`, `confidence`)",
        "",
        "The network is ImageNet-pretrained and was never trained on Fashion-MNIST, so its own "
        "top-1 outputs are ImageNet classes (see the sanity check above) and cannot be compared "
        "with the Fashion labels. `preds` and `confidence` are instead the predictions of the "
        f"linear probe on the deepest stored layer (`act_{info['layer']}`), taken out of fold: "
        "each sample is predicted by a probe that never saw it.",
        "",
        f"- Added by `tools/add_demo_predictions.py` on {info['date']} ({info['seconds']:.0f} s, "
        f"{info['threads']} BLAS threads) from the stored file alone "
        f"({info['size_before']:,} bytes, sha256 `{info['sha256_before']}`); the network was not "
        "run again, and every other key, `meta` included, is unchanged (same arrays, same dtypes; "
        "checked by re-reading the written file).",
        "- Command: `python3 -m venv /work/.venv-demo-probe && /work/.venv-demo-probe/bin/pip "
        "install numpy==2.4.6 scikit-learn==1.9.1 scipy==1.17.1 joblib==1.6.0 threadpoolctl==3.8.0 "
        "&& /work/.venv-demo-probe/bin/python tools/add_demo_predictions.py` (`--force` to recompute).",
        f"- Input: `act_{info['layer']}` ({info['n']}x{info['dim']}, float16 as stored, converted "
        "to float64), `labels`.",
        "- Probe: `make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=1.0))`, "
        f"`cross_val_predict(..., cv=StratifiedKFold({info['folds']}, shuffle=True, "
        f"random_state={info['seed']}), method='predict_proba')`.",
        "- `preds`: int64, argmax of the out-of-fold class probabilities (index into "
        "`class_names`); `confidence`: float32, the probability of that class.",
        f"- LogisticRegression convergence warnings (lbfgs hit max_iter=300): "
        f"{info['n_convergence_warnings']} of {info['folds']} folds.",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        f"Out-of-fold accuracy: **{s['accuracy']:.4f}** ({s['n'] - s['n_errors']} of {s['n']}; "
        f"per fold {s['fold_accuracy_mean']:.3f} +- {s['fold_accuracy_std']:.3f}). "
        f"Mean confidence {s['confidence_mean']:.3f}: {s['confidence_mean_correct']:.3f} on "
        f"correct predictions, {s['confidence_mean_wrong']:.3f} on mistakes.",
        "",
        "| class | recall | precision |",
        "|---|---|---|",
    ]
    for r in s["per_class"]:
        lines.append(f"| {r['class']} | {r['recall']:.3f} | {r['precision']:.3f} |")
    lines += [
        "",
        "Most confused pairs (true -> predicted, count, share of the true class's samples):",
        "",
        "| true | predicted | count | share |",
        "|---|---|---|---|",
    ]
    for r in s["confused_pairs"]:
        lines.append(
            f"| {r['true']} | {r['predicted']} | {r['count']} | {100 * r['share_of_true']:.1f} % |"
        )
    lines.append("")
    return lines


def file_section_head(info: dict) -> list[str]:
    lines = [
        "## File",
        f"`{info['out_rel']}`, {info['size']:,} bytes (`np.savez_compressed`), "
        f"sha256 `{info['sha256']}`. Keys:",
        "",
        "| key | shape | dtype |",
        "|---|---|---|",
    ]
    for k, shape, dt in info["keys"]:
        lines.append(f"| `{k}` | {shape} | {dt} |")
    lines.append("")
    return lines


def update_provenance(path: str, info: dict) -> None:
    """Put a "Predictions" section before "## File" and rewrite the File header and key table."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")

    def header_at(prefix: str) -> int:
        for i, line in enumerate(lines):
            if line.startswith(prefix):
                return i
        return -1

    def next_header(start: int) -> int:
        for i in range(start + 1, len(lines)):
            if lines[i].startswith("## "):
                return i
        return len(lines)

    old = header_at("## Predictions")
    if old >= 0:
        del lines[old : next_header(old)]
    fi = header_at("## File")
    if fi < 0:
        raise ValueError(f"{path} has no '## File' section")
    end = next(
        (i for i in range(fi + 1, next_header(fi)) if lines[i].startswith("`meta` (JSON)")),
        next_header(fi),
    )
    lines[fi:end] = predictions_section(info) + file_section_head(info)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def add_predictions(path: str, *, layer: str | None = None, seed: int = 0, folds: int = 5,
                    threads: int = 2, force: bool = False) -> dict:
    """Compute the probe's out-of-fold predictions and write them into ``path``."""
    from threadpoolctl import threadpool_limits

    t0 = time.time()
    input_sha256 = sha256_of(path)
    arrays = load_arrays(path)
    present = [k for k in NEW_KEYS if k in arrays]
    if present and not force:
        raise SystemExit(f"{path} already has {present}; pass --force to recompute them")
    layer = layer or deepest_layer(arrays)
    x = np.asarray(arrays[f"act_{layer}"]).astype(np.float64)
    y = np.asarray(arrays["labels"])
    class_names = [str(c) for c in arrays["class_names"]]
    if y.dtype != np.int64 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError("labels must be N int64 matching the activations")
    if not np.array_equal(np.unique(y), np.arange(len(class_names))):
        raise ValueError("every class must have samples (probability columns = classes 0..C-1)")
    if not np.isfinite(x).all():
        raise ValueError(f"act_{layer} has non-finite values")
    log(f"probe on act_{layer} {x.shape}, {folds} folds, seed {seed}, {threads} threads")
    with threadpool_limits(limits=threads):
        proba, fold_of, n_conv = probe_predictions(x, y, seed=seed, folds=folds)
    if proba.shape != (y.shape[0], len(class_names)):
        raise AssertionError(f"probabilities have shape {proba.shape}")
    preds, conf = predictions_from_proba(proba)
    summary = summarise(y, preds, conf, class_names, fold_of)
    log(f"out-of-fold accuracy {summary['accuracy']:.4f} "
        f"(folds {summary['fold_accuracy_mean']:.3f} +- {summary['fold_accuracy_std']:.3f}); "
        f"{n_conv} convergence warning(s)")
    for r in summary["confused_pairs"]:
        log(f"  {r['true']} -> {r['predicted']}: {r['count']} ({100 * r['share_of_true']:.1f} %)")

    out = {k: v for k, v in arrays.items() if k not in NEW_KEYS}
    out["preds"] = preds
    out["confidence"] = conf
    size_before = os.path.getsize(path)
    write_npz(path, out)
    check_written(path, out)
    size = os.path.getsize(path)
    log(f"wrote {path}: {size_before:,} -> {size:,} bytes")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size} bytes, over the {MAX_BYTES} budget")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": time.time() - t0,
        "threads": threads,
        "layer": layer,
        "n": int(x.shape[0]),
        "dim": int(x.shape[1]),
        "folds": folds,
        "seed": seed,
        "n_convergence_warnings": n_conv,
        "summary": summary,
        "versions": versions(),
        "size_before": size_before,
        "sha256_before": input_sha256,
        "size": size,
        "sha256": sha256_of(path),
        "out_rel": os.path.relpath(os.path.abspath(path), REPO),
        "keys": [(k, "x".join(map(str, v.shape)) or "()", str(v.dtype)) for k, v in out.items()],
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("npz", nargs="?", default=DEFAULT_NPZ, help="activation file, rewritten in place")
    p.add_argument("--layer", help="layer to probe (default: the last of meta.layers)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads")
    p.add_argument("--force", action="store_true", help="recompute existing preds/confidence")
    p.add_argument("--provenance", help="PROVENANCE.md to update (default: next to the file)")
    p.add_argument("--no-provenance", action="store_true")
    p.add_argument("--summary-json", help="also write the measured summary here")
    a = p.parse_args(argv)

    info = add_predictions(a.npz, layer=a.layer, seed=a.seed, folds=a.folds,
                           threads=a.threads, force=a.force)
    if a.summary_json:
        with open(a.summary_json, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
    if not a.no_provenance:
        prov = a.provenance or os.path.join(os.path.dirname(os.path.abspath(a.npz)), "PROVENANCE.md")
        update_provenance(prov, info)
        log(f"updated {prov}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
