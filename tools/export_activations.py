#!/usr/bin/env python3
"""Record per-sample layer activations of a PyTorch model into TopoAct's `.npz` file.

Usage example (as a module)::

    import export_activations as ea
    model = my_model().eval()
    ds = MyDataset()  # yields (image_tensor, label) or (image_tensor, label, thumbnail)
    ea.export_activations(model, ds, layers=["block7=blocks.7", "head=head"],
                          out_path="acts.npz", class_names=CLASSES, pooling="avg")

Usage example (command line)::

    python tools/export_activations.py --model mypkg.models:build --dataset mypkg.data:test_set \\
        --layers block7=blocks.7 head=head --pooling maxnorm --out acts.npz

The file written (``np.savez_compressed``) holds:

* ``act_<layer>``   N x D activations (float16 by default), one key per layer;
* ``labels``        N int64 class indices;
* ``class_names``   unicode array of class names;
* ``images``        N x H x W (greyscale) or N x H x W x 3 uint8 thumbnails;
* ``actimg_<layer>`` (optional) uint8 activation images, same shape as ``images``: the layer's
  spatial map (channel L2 norm, channel sum or channel max) upsampled to the thumbnail size and
  scaled to 0..255 per image;
* ``proj_<layer>_<tsne|umap>`` (optional) N x 2 float32 projections;
* ``preds``         N int64, the network's prediction: argmax of the model's output over its
  classes (an index into ``class_names``);
* ``confidence``    N float32, the probability of that class (max softmax of the logits);
* ``meta``          0-d unicode array holding a JSON object (name, dataset, model, layers,
  preprocessing, pooling, created_by, label_source, predictions, ...).

``preds`` / ``confidence`` are recorded by default when the model's output (a tensor, the first
tensor of a tuple, or the ``logits`` of an output object) is N x C with C equal to the number of
class names; otherwise (e.g. an ImageNet model run on another dataset) nothing is recorded and
the reason is logged and kept in ``meta.predictions``. ``predictions=False`` (``--no-predictions``)
turns them off; ``predictions="probs"`` for a model whose output is already probabilities.

Layers are given as module paths (``blocks.7``, as in ``model.get_submodule``), optionally
renamed with ``name=path``. Layer names should avoid ``_`` so that ``proj_<layer>_<method>``
stays unambiguous (``.`` in a path-derived name is replaced by ``-``).

Pooling of a spatial (N x C x H x W, or N x C x L) output to one C-vector per sample:

* ``avg``     global average over all positions (default);
* ``random``  one spatial position per sample and layer drawn with a seeded generator, as in the
  original TopoAct (weak on small images: the position often lands on background);
* ``maxnorm`` the position whose channel vector has the largest L2 norm.

Outputs that are already N x D are stored as they are.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__version__ = "1.0"
CREATED_BY = f"tools/export_activations.py v{__version__}"

POOLINGS = ("avg", "random", "maxnorm")
PREDICTION_MODES = ("logits", "probs")
ACTIMG_MODES = ("norm", "sum", "max")
PROJECTIONS = ("tsne", "umap")


# ----------------------------------------------------------------------------------------------
# Layer specifications
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerSpec:
    """One recorded layer: the name used in the file and the module path inside the model."""

    name: str
    module_path: str
    use_input: bool = False  # record the module's (first) input instead of its output

    @property
    def source(self) -> str:
        return self.module_path + (":input" if self.use_input else "")

    @staticmethod
    def parse(spec: str) -> "LayerSpec":
        """Parse ``"name=module.path"`` or ``"module.path"`` (name = path with ``.`` -> ``-``).

        A ``:input`` suffix on the path records the module's input instead of its output
        (e.g. ``head=_avg_pooling:input`` for the tensor that enters a pooling layer).
        """
        spec = spec.strip()
        if not spec:
            raise ValueError("empty layer specification")
        if "=" in spec:
            name, path = (s.strip() for s in spec.split("=", 1))
        else:
            path = spec
            name = None
        use_input = False
        if path.endswith(":input"):
            path, use_input = path[: -len(":input")], True
        if name is None:
            name = path.replace(".", "-") + ("-input" if use_input else "")
        if not name or not path:
            raise ValueError(f"bad layer specification {spec!r}")
        if "/" in name or "\\" in name:
            raise ValueError(f"layer name {name!r} must not contain a path separator")
        return LayerSpec(name=name, module_path=path, use_input=use_input)


def parse_layers(layers: Iterable[str | LayerSpec]) -> list[LayerSpec]:
    out = [l if isinstance(l, LayerSpec) else LayerSpec.parse(l) for l in layers]
    if not out:
        raise ValueError("at least one layer is required")
    names = [l.name for l in out]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate layer names: {names}")
    return out


# ----------------------------------------------------------------------------------------------
# Reductions (torch tensors in, torch tensors out)
# ----------------------------------------------------------------------------------------------


def _as_tensor_output(output: Any):
    """A module may return a tuple/list (e.g. RNNs); use the first tensor."""
    import torch

    while isinstance(output, (tuple, list)):
        if not output:
            raise TypeError("module returned an empty sequence")
        output = output[0]
    if not isinstance(output, torch.Tensor):
        raise TypeError(f"module output is {type(output).__name__}, not a tensor")
    return output


def pool_features(out, pooling: str, generator=None):
    """Reduce a batch output to B x C.

    ``out`` is B x D (returned as is) or B x C x *spatial. For ``random`` pass a
    ``torch.Generator`` (CPU) so that the positions are reproducible.
    """
    import torch

    if out.dim() == 2:
        return out
    if out.dim() < 2:
        raise ValueError(f"layer output has shape {tuple(out.shape)}; expected B x D or B x C x ...")
    b, c = out.shape[0], out.shape[1]
    flat = out.reshape(b, c, -1)  # B x C x P
    if pooling == "avg":
        return flat.mean(dim=2)
    if pooling == "random":
        p = flat.shape[2]
        pos = torch.randint(0, p, (b,), generator=generator).to(flat.device)
    elif pooling == "maxnorm":
        pos = flat.float().pow(2).sum(dim=1).argmax(dim=1)  # B
    else:
        raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
    idx = pos.view(b, 1, 1).expand(b, c, 1)
    return flat.gather(2, idx).squeeze(2)


def activation_maps(out, mode: str, size: tuple[int, int]):
    """B x C x H x W (or B x C x L) -> B x h x w uint8 maps scaled to 0..255 per sample.

    ``mode``: ``norm`` (L2 norm over channels), ``sum`` (channel sum) or ``max`` (channel max).
    A constant map becomes all zeros.
    """
    import torch
    import torch.nn.functional as F

    if out.dim() == 3:
        out = out.unsqueeze(2)  # B x C x 1 x L
    if out.dim() != 4:
        raise ValueError(
            f"activation images need a spatial output (B x C x H x W); got {tuple(out.shape)}"
        )
    x = out.float()
    if mode == "norm":
        m = x.pow(2).sum(dim=1).sqrt()
    elif mode == "sum":
        m = x.sum(dim=1)
    elif mode == "max":
        m = x.amax(dim=1)
    else:
        raise ValueError(f"unknown activation image mode {mode!r}; expected one of {ACTIMG_MODES}")
    m = F.interpolate(m.unsqueeze(1), size=size, mode="bilinear", align_corners=False).squeeze(1)
    b = m.shape[0]
    flat = m.reshape(b, -1)
    lo = flat.amin(dim=1, keepdim=True)
    hi = flat.amax(dim=1, keepdim=True)
    span = hi - lo
    scaled = torch.where(span > 0, (flat - lo) / span.clamp_min(1e-12), torch.zeros_like(flat))
    return (scaled * 255.0).round().clamp(0, 255).to(torch.uint8).reshape(b, *size)


def default_thumbnail(x, size: int | None = 64) -> np.ndarray:
    """Make uint8 thumbnails from a batch of model inputs (B x C x H x W float tensor).

    Each image is min-max scaled to 0..255 and resized (area) so that its longer side is
    ``size`` (no resize if None). One channel -> B x H x W, three -> B x H x W x 3.
    """
    import torch
    import torch.nn.functional as F

    x = x.detach().float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            "default thumbnails need B x 1|3 x H x W inputs; pass a thumbnail_fn or yield "
            "(image, label, thumbnail) from the dataset"
        )
    h, w = x.shape[2], x.shape[3]
    if size is not None and max(h, w) != size:
        s = size / max(h, w)
        nh, nw = max(1, round(h * s)), max(1, round(w * s))
        mode = "area" if s < 1 else "bilinear"
        kw = {} if mode == "area" else {"align_corners": False}
        x = F.interpolate(x, size=(nh, nw), mode=mode, **kw)
    b = x.shape[0]
    flat = x.reshape(b, -1)
    lo = flat.amin(dim=1).view(b, 1, 1, 1)
    hi = flat.amax(dim=1).view(b, 1, 1, 1)
    x = torch.where(hi > lo, (x - lo) / (hi - lo).clamp_min(1e-12), torch.zeros_like(x))
    x = (x * 255.0).round().clamp(0, 255).to(torch.uint8)
    if x.shape[1] == 1:
        return x[:, 0].cpu().numpy()
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def _thumbs_to_numpy(t) -> np.ndarray:
    """Thumbnails given by the dataset: B x H x W, B x H x W x 3 or B x 1|3 x H x W."""
    import torch

    arr = t.cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    if arr.ndim == 4 and arr.shape[1] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = np.moveaxis(arr, 1, -1)  # channels first -> last
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
        raise ValueError(f"thumbnails must be B x H x W or B x H x W x 3; got {arr.shape}")
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating) and arr.size and arr.max() <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return arr


# ----------------------------------------------------------------------------------------------
# Predictions
# ----------------------------------------------------------------------------------------------


def _prediction_mode(predictions: bool | str | None) -> str | None:
    """``True`` -> ``"logits"``, ``False``/``None`` -> off, or ``"logits"`` / ``"probs"``."""
    if predictions is None or predictions is False:
        return None
    if predictions is True:
        return "logits"
    if predictions in PREDICTION_MODES:
        return predictions
    raise ValueError(f"predictions must be True, False or one of {PREDICTION_MODES}; got {predictions!r}")


def output_scores(output):
    """The score tensor in a model's return value: the tensor itself, the first tensor of a
    tuple/list, or ``output["logits"]`` / ``output.logits`` (e.g. Hugging Face outputs)."""
    import torch

    if isinstance(output, dict) and "logits" in output:
        output = output["logits"]
    elif not isinstance(output, (torch.Tensor, tuple, list)) and hasattr(output, "logits"):
        output = output.logits
    return _as_tensor_output(output)


def why_no_predictions(output, n_classes: int | None) -> str | None:
    """``None`` if predictions can be read from this (first batch's) model output, else why not."""
    if n_classes is None:
        return "the number of classes is unknown (pass n_classes, or class names to export_activations)"
    try:
        scores = output_scores(output)
    except TypeError as e:
        return f"the model's output is not a tensor ({e})"
    if scores.dim() != 2:
        return f"the model's output has shape {tuple(scores.shape)}, not N x C class scores"
    if not scores.is_floating_point():
        return f"the model's output has dtype {scores.dtype}, not floating-point class scores"
    c = int(scores.shape[1])
    if c != n_classes:
        return (
            f"the model's output has {c} classes but there are {n_classes} class names "
            "(e.g. a model trained on other classes than the dataset's); its argmax would not "
            "index class_names"
        )
    return None


def predictions_from_scores(scores, mode: str = "logits") -> tuple[np.ndarray, np.ndarray]:
    """B x C scores -> ``preds`` (int64 argmax, the first maximum on ties) and ``confidence``
    (float32 probability of that class: softmax of logits, or the score itself for ``probs``)."""
    import torch

    s = scores.detach().float()
    preds = s.argmax(dim=1)
    probs = torch.softmax(s, dim=1) if mode == "logits" else s
    conf = probs.gather(1, preds.unsqueeze(1)).squeeze(1)
    return preds.to(torch.int64).cpu().numpy(), conf.cpu().numpy().astype(np.float32)


def _prediction_hint(scores, mode: str) -> str | None:
    """A warning when the output does not look like what ``mode`` says (first batch only)."""
    s = scores.detach().float()
    looks_like_probs = bool((s >= 0).all() and (s.sum(dim=1) - 1).abs().max() < 1e-3)
    if mode == "logits" and looks_like_probs:
        return ("the model's output rows are non-negative and sum to 1: if they are already "
                "probabilities, pass predictions='probs' (--predictions-from probs), or the "
                "confidence is a softmax of probabilities")
    if mode == "probs" and not looks_like_probs:
        return "predictions='probs' but the model's output rows are not probabilities (>= 0, sum 1)"
    return None


# ----------------------------------------------------------------------------------------------
# Recording
# ----------------------------------------------------------------------------------------------


class _Hooks:
    """Forward hooks that reduce each requested layer's output as soon as it is produced."""

    def __init__(self, model, layers, pooling, seed, actimg_layers, actimg_mode):
        import torch

        self.layers = layers
        self.pooling = pooling
        self.actimg_layers = set(actimg_layers)
        self.actimg_mode = actimg_mode
        self.thumb_size: tuple[int, int] | None = None
        self.features: dict[str, Any] = {}
        self.maps: dict[str, Any] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.handles = []
        self.generators = {}
        for i, spec in enumerate(layers):
            try:
                module = model.get_submodule(spec.module_path)
            except AttributeError as e:
                raise ValueError(
                    f"layer {spec.name!r}: no module {spec.module_path!r} in the model ({e})"
                ) from None
            g = torch.Generator()
            # One independent, reproducible stream of positions per layer.
            g.manual_seed((int(seed) * 1_000_003 + i * 7919) % (2**63 - 1))
            self.generators[spec.name] = g
            hook = self._make_hook(spec.name)
            if spec.use_input:
                handle = module.register_forward_pre_hook(lambda m, inputs, h=hook: h(m, None, inputs))
            else:
                handle = module.register_forward_hook(hook)
            self.handles.append(handle)

    def _make_hook(self, name):
        def hook(_module, _inputs, output):
            out = _as_tensor_output(output).detach()
            if name in self.features:
                raise RuntimeError(
                    f"layer {name!r} was called more than once in one forward pass; "
                    "hook a module that runs once (or use ':input' of the next one)"
                )
            self.shapes.setdefault(name, tuple(out.shape[1:]))
            self.features[name] = pool_features(out, self.pooling, self.generators[name])
            if name in self.actimg_layers:
                if self.thumb_size is None:
                    raise RuntimeError("thumbnail size unknown before forward pass")
                self.maps[name] = activation_maps(out, self.actimg_mode, self.thumb_size)

        return hook

    def remove(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def _split_batch(batch):
    if isinstance(batch, dict):
        x = batch.get("image", batch.get("input"))
        y = batch.get("label")
        t = batch.get("thumbnail")
        if x is None or y is None:
            raise ValueError("dict batches need 'image' (or 'input') and 'label' keys")
        return x, y, t
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError("batches must be (image, label) or (image, label, thumbnail)")
    return batch[0], batch[1], (batch[2] if len(batch) == 3 else None)


def _allocate(shape, dtype, memmap_dir: str | None, key: str):
    if memmap_dir is None:
        return np.zeros(shape, dtype=dtype)
    os.makedirs(memmap_dir, exist_ok=True)
    return np.lib.format.open_memmap(
        os.path.join(memmap_dir, f"{key}.npy"), mode="w+", dtype=dtype, shape=shape
    )


def _log(msg: str, log: Callable[[str], None] | None):
    if log is not None:
        log(msg)


def record_activations(
    model,
    data,
    layers: Sequence[str | LayerSpec],
    *,
    pooling: str = "avg",
    seed: int = 0,
    n: int | None = None,
    batch_size: int = 32,
    num_workers: int = 0,
    device: str = "cpu",
    dtype=np.float16,
    batch_transform: Callable | None = None,
    thumbnail_fn: Callable | None = None,
    thumb_size: int | None = 64,
    actimg_layers: Sequence[str] = (),
    actimg_mode: str = "norm",
    memmap_dir: str | None = None,
    n_classes: int | None = None,
    predictions: bool | str = True,
    log: Callable[[str], None] | None = None,
    log_every_secs: float = 30.0,
) -> dict[str, Any]:
    """Run ``model`` over ``data`` and collect activations, labels, thumbnails and predictions.

    ``data`` is a ``torch.utils.data.Dataset`` (wrapped in a DataLoader with ``batch_size``) or
    any iterable of batches (e.g. a DataLoader). Batches are ``(x, y)``, ``(x, y, thumbnail)`` or
    dicts with ``image``/``label``/``thumbnail``. ``batch_transform(x)`` is applied to ``x`` on
    ``device`` before the forward pass (handy for resizing/normalising on the fly); thumbnails
    not given by the data are made from the untransformed ``x`` by ``thumbnail_fn(x)`` (default
    :func:`default_thumbnail`). The number of samples is ``n`` or ``len(data.dataset)`` /
    ``len(data)``; arrays are allocated once (optionally as ``.npy`` memmaps in ``memmap_dir``).

    Predictions (``predictions``: ``True``/``"logits"`` by default, ``"probs"``, or ``False``):
    when the model's output is B x ``n_classes``, ``preds`` (argmax) and ``confidence`` (max
    softmax probability) are recorded per sample; otherwise, or when ``n_classes`` is None,
    nothing is recorded and the reason is logged and returned.

    Returns a dict with ``arrays`` (name -> ndarray, file keys), ``layers`` (LayerSpec list),
    ``layer_shapes`` (per-sample output shapes), ``predictions`` (a sentence on what ``preds`` /
    ``confidence`` hold, or why they were not recorded) and ``seconds``.
    """
    import torch

    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; expected one of {POOLINGS}")
    if actimg_mode not in ACTIMG_MODES:
        raise ValueError(f"unknown actimg mode {actimg_mode!r}; expected one of {ACTIMG_MODES}")
    specs = parse_layers(layers)
    names = [s.name for s in specs]
    unknown = [a for a in actimg_layers if a not in names]
    if unknown:
        raise ValueError(f"actimg layers {unknown} are not among the recorded layers {names}")
    pred_mode = _prediction_mode(predictions)
    pred_note = None if pred_mode else "not recorded: switched off (predictions=False)"
    if pred_mode is None:
        _log("predictions: switched off", log)

    if isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.utils.data.IterableDataset):
        loader = torch.utils.data.DataLoader(
            data, batch_size=batch_size, shuffle=False, num_workers=num_workers
        )
    else:
        loader = data
    if n is None:
        ds = getattr(loader, "dataset", None)
        try:
            n = len(ds) if ds is not None else len(loader)
        except TypeError:
            raise ValueError("cannot tell the number of samples; pass n=") from None
    if n <= 0:
        raise ValueError("no samples")

    if thumbnail_fn is None:
        thumbnail_fn = lambda x: default_thumbnail(x, thumb_size)  # noqa: E731

    model = model.to(device).eval()
    hooks = _Hooks(model, specs, pooling, seed, actimg_layers, actimg_mode)
    arrays: dict[str, np.ndarray] = {}
    labels = _allocate((n,), np.int64, memmap_dir, "labels")
    images = None
    filled = 0
    t0 = time.time()
    last_log = t0
    try:
        with torch.inference_mode():
            for batch in loader:
                x, y, thumbs = _split_batch(batch)
                b = int(x.shape[0])
                if filled + b > n:
                    raise ValueError(f"data yields more than n={n} samples")
                thumbs = thumbnail_fn(x) if thumbs is None else thumbs
                thumbs = _thumbs_to_numpy(thumbs)
                if thumbs.shape[0] != b:
                    raise ValueError("thumbnail batch size differs from image batch size")
                if images is None:
                    images = _allocate((n, *thumbs.shape[1:]), np.uint8, memmap_dir, "images")
                    hooks.thumb_size = (int(thumbs.shape[1]), int(thumbs.shape[2]))
                elif thumbs.shape[1:] != images.shape[1:]:
                    raise ValueError("all thumbnails must have the same shape")
                images[filled : filled + b] = thumbs

                xin = x.to(device)
                if batch_transform is not None:
                    xin = batch_transform(xin)
                hooks.features.clear()
                hooks.maps.clear()
                output = model(xin)
                if pred_mode is not None and pred_note is None:  # first batch decides
                    reason = why_no_predictions(output, n_classes)
                    if reason is not None:
                        pred_note = f"not recorded: {reason}"
                        _log(f"predictions {pred_note}", log)
                        pred_mode = None
                    else:
                        hint = _prediction_hint(output_scores(output), pred_mode)
                        if hint:
                            _log(f"warning: {hint}", log)
                        arrays["preds"] = _allocate((n,), np.int64, memmap_dir, "preds")
                        arrays["confidence"] = _allocate((n,), np.float32, memmap_dir, "confidence")
                        pred_note = (
                            f"preds = argmax of the model's output over its {n_classes} classes; "
                            + ("confidence = max softmax probability of the logits"
                               if pred_mode == "logits" else
                               "confidence = the output's probability of that class")
                        )
                        _log(f"predictions: {pred_note}", log)
                if pred_mode is not None:
                    p, c = predictions_from_scores(output_scores(output), pred_mode)
                    arrays["preds"][filled : filled + b] = p
                    arrays["confidence"][filled : filled + b] = c
                for spec in specs:
                    if spec.name not in hooks.features:
                        raise RuntimeError(
                            f"layer {spec.name!r} ({spec.source}) was not called in forward"
                        )
                    f = hooks.features[spec.name].float().cpu().numpy()
                    key = f"act_{spec.name}"
                    if key not in arrays:
                        arrays[key] = _allocate((n, f.shape[1]), dtype, memmap_dir, key)
                    arrays[key][filled : filled + b] = f.astype(dtype, copy=False)
                for name in actimg_layers:
                    m = hooks.maps[name].cpu().numpy()
                    if images.ndim == 4:  # RGB thumbnails: grey map replicated to 3 channels
                        m = np.repeat(m[..., None], 3, axis=-1)
                    key = f"actimg_{name}"
                    if key not in arrays:
                        arrays[key] = _allocate(images.shape, np.uint8, memmap_dir, key)
                    arrays[key][filled : filled + b] = m
                labels[filled : filled + b] = np.asarray(
                    y.cpu().numpy() if hasattr(y, "cpu") else y, dtype=np.int64
                ).reshape(-1)
                filled += b
                now = time.time()
                if log is not None and (now - last_log >= log_every_secs or filled == n):
                    rate = filled / max(now - t0, 1e-9)
                    eta = (n - filled) / max(rate, 1e-9)
                    _log(f"{filled}/{n} samples, {rate:.1f}/s, eta {eta:.0f}s", log)
                    last_log = now
    finally:
        hooks.remove()
    if filled != n:
        raise ValueError(f"data yielded {filled} samples, expected n={n}")

    arrays["labels"] = labels
    arrays["images"] = images
    return {
        "arrays": arrays,
        "layers": specs,
        "layer_shapes": {k: list(v) for k, v in hooks.shapes.items()},
        "predictions": pred_note,
        "seconds": time.time() - t0,
    }


# ----------------------------------------------------------------------------------------------
# Projections and writing
# ----------------------------------------------------------------------------------------------


def compute_projection(x: np.ndarray, method: str, seed: int = 0) -> np.ndarray:
    """N x D -> N x 2 float32 with scikit-learn t-SNE or umap-learn (PCA to 50 dims first)."""
    x = np.asarray(x, dtype=np.float32)
    if x.shape[1] > 50 and x.shape[0] > 50:
        from sklearn.decomposition import PCA

        x = PCA(n_components=50, random_state=seed).fit_transform(x)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, max(2.0, (x.shape[0] - 1) / 3.0))
        y = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    elif method == "umap":
        import umap  # umap-learn

        y = umap.UMAP(n_components=2, random_state=seed).fit_transform(x)
    else:
        raise ValueError(f"unknown projection {method!r}; expected one of {PROJECTIONS}")
    return np.asarray(y, dtype=np.float32)


def build_meta(
    *,
    name: str,
    dataset: str,
    model: str,
    layers: Sequence[LayerSpec],
    preprocessing: str,
    pooling: str,
    label_source: str,
    seed: int | None = None,
    extra: dict | None = None,
) -> dict:
    meta = {
        "name": name,
        "dataset": dataset,
        "model": model,
        "layers": [l.name for l in layers],
        "layer_modules": {l.name: l.source for l in layers},
        "preprocessing": preprocessing,
        "pooling": pooling,
        "created_by": CREATED_BY,
        "label_source": label_source,
    }
    if seed is not None:
        meta["seed"] = seed
    if extra:
        meta.update(extra)
    return meta


def write_npz(out_path: str, arrays: dict[str, np.ndarray], class_names: Sequence[str], meta: dict):
    """Write the TopoAct activation file (``np.savez_compressed``) after checking consistency."""
    labels = np.asarray(arrays["labels"], dtype=np.int64)
    n = labels.shape[0]
    names = np.array([str(c) for c in class_names], dtype=str)
    if names.ndim != 1 or names.size == 0:
        raise ValueError("class_names must be a non-empty list")
    if labels.size and (labels.min() < 0 or labels.max() >= names.size):
        raise ValueError(f"labels must lie in 0..{names.size - 1}")
    layer_names = list(meta["layers"])
    for ln in layer_names:
        if f"act_{ln}" not in arrays:
            raise ValueError(f"meta lists layer {ln!r} but there is no act_{ln}")
    if "preds" in arrays:
        preds = np.asarray(arrays["preds"])
        if preds.ndim != 1 or preds.dtype.kind not in "iu":
            raise ValueError("preds must be a 1-D integer array")
        if preds.size and (preds.min() < 0 or preds.max() >= names.size):
            raise ValueError(f"preds must lie in 0..{names.size - 1}")
    if "confidence" in arrays:
        conf = np.asarray(arrays["confidence"])
        if conf.ndim != 1 or conf.dtype.kind != "f":
            raise ValueError("confidence must be a 1-D float array")
        finite = conf[np.isfinite(conf)]  # NaN (a NaN output) is left for the reader to flag
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise ValueError("confidence must lie in 0..1")
    out: dict[str, np.ndarray] = {}
    for key, arr in arrays.items():
        if key == "labels":
            continue
        arr = np.asarray(arr)
        if arr.shape[0] != n:
            raise ValueError(f"{key} has {arr.shape[0]} rows, labels has {n}")
        if key.startswith("actimg_") and arr.shape != np.asarray(arrays["images"]).shape:
            raise ValueError(f"{key} shape {arr.shape} differs from images")
        out[key] = arr
    out["labels"] = labels
    out["class_names"] = names
    out["meta"] = np.array(json.dumps(meta, sort_keys=False))
    d = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(d, exist_ok=True)
    tmp = out_path + ".tmp.npz"
    np.savez_compressed(tmp, **out)
    os.replace(tmp, out_path)
    return out_path


def export_activations(
    model,
    data,
    layers: Sequence[str | LayerSpec],
    out_path: str,
    class_names: Sequence[str],
    *,
    name: str = "activations",
    dataset_desc: str = "",
    model_desc: str = "",
    preprocessing: str = "",
    label_source: str = "dataset labels",
    pooling: str = "avg",
    seed: int = 0,
    projections: Sequence[str] = (),
    projection_layers: Sequence[str] | None = None,
    extra_meta: dict | None = None,
    predictions: bool | str = True,
    log: Callable[[str], None] | None = None,
    **record_kwargs,
) -> dict[str, Any]:
    """Record activations (see :func:`record_activations`) and write the `.npz` file.

    ``projections`` (``tsne``/``umap``) are computed for ``projection_layers`` (default all).
    ``predictions`` (default on) records ``preds`` / ``confidence`` when the model's output has
    one score per class name (see :func:`record_activations`); ``meta.predictions`` says what
    they hold or why they are absent.
    Returns the :func:`record_activations` result plus ``meta`` and ``out_path``.
    """
    record_kwargs.setdefault("n_classes", len(class_names))
    res = record_activations(model, data, layers, pooling=pooling, seed=seed, log=log,
                             predictions=predictions, **record_kwargs)
    specs = res["layers"]
    arrays = res["arrays"]
    for method in projections:
        for ln in projection_layers or [s.name for s in specs]:
            t = time.time()
            arrays[f"proj_{ln}_{method}"] = compute_projection(arrays[f"act_{ln}"], method, seed)
            _log(f"{method} for {ln}: {time.time() - t:.1f}s", log)
    extra = {
        "n": int(arrays["labels"].shape[0]),
        "layer_dims": {s.name: int(arrays[f"act_{s.name}"].shape[1]) for s in specs},
        "layer_output_shapes": res["layer_shapes"],
        "activation_dtype": str(arrays[f"act_{specs[0].name}"].dtype),
        "predictions": res["predictions"],
    }
    if record_kwargs.get("actimg_layers"):
        extra["actimg_mode"] = record_kwargs.get("actimg_mode", "norm")
    if extra_meta:
        extra.update(extra_meta)
    meta = build_meta(
        name=name,
        dataset=dataset_desc,
        model=model_desc,
        layers=specs,
        preprocessing=preprocessing,
        pooling=pooling,
        label_source=label_source,
        seed=seed,
        extra=extra,
    )
    write_npz(out_path, arrays, class_names, meta)
    res["meta"] = meta
    res["out_path"] = out_path
    return res


# ----------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------


def _load_object(spec: str, kwargs_json: str | None = None):
    """Import ``package.module:attr`` and call it (with JSON kwargs) if it is callable."""
    if ":" not in spec:
        raise ValueError(f"expected 'package.module:attribute', got {spec!r}")
    mod_name, attr = spec.split(":", 1)
    sys.path.insert(0, os.getcwd())
    obj = importlib.import_module(mod_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    kwargs = json.loads(kwargs_json) if kwargs_json else {}
    if callable(obj) and not _is_module_or_dataset(obj):
        obj = obj(**kwargs)
    return obj


def _is_module_or_dataset(obj) -> bool:
    import torch

    return isinstance(obj, (torch.nn.Module, torch.utils.data.Dataset))


def _read_class_names(arg: str | None, n_classes_hint: int | None) -> list[str]:
    if arg is None:
        if n_classes_hint is None:
            raise ValueError("--class-names is required")
        return [str(i) for i in range(n_classes_hint)]
    if os.path.isfile(arg):
        with open(arg, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    return [c.strip() for c in arg.split(",")]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Record layer activations of a PyTorch model into a TopoAct .npz file."
    )
    p.add_argument("--model", required=True,
                   help="'pkg.module:factory' returning an nn.Module, or a TorchScript/.pt file "
                        "saved with torch.save(model)")
    p.add_argument("--model-kwargs", help="JSON kwargs for the model factory")
    p.add_argument("--weights", help="state_dict file to load into the model")
    p.add_argument("--dataset", required=True,
                   help="'pkg.module:factory' returning a Dataset or DataLoader yielding "
                        "(image, label[, thumbnail])")
    p.add_argument("--dataset-kwargs", help="JSON kwargs for the dataset factory")
    p.add_argument("--layers", nargs="+", required=True, help="module paths, optionally name=path")
    p.add_argument("--out", required=True, help="output .npz path")
    p.add_argument("--pooling", choices=POOLINGS, default="avg")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--float32", action="store_true", help="store float32 instead of float16")
    p.add_argument("--thumb-size", type=int, default=64)
    p.add_argument("--actimg-layers", nargs="*", default=[])
    p.add_argument("--actimg-mode", choices=ACTIMG_MODES, default="norm")
    p.add_argument("--projections", nargs="*", choices=PROJECTIONS, default=[])
    p.add_argument("--class-names", help="comma-separated names or a file with one per line")
    p.add_argument("--name", default="activations")
    p.add_argument("--dataset-desc", default="")
    p.add_argument("--model-desc", default="")
    p.add_argument("--preprocessing", default="")
    p.add_argument("--label-source", default="dataset labels")
    p.add_argument("--no-predictions", action="store_true",
                   help="do not record preds/confidence (recorded by default when the model's "
                        "output has one score per class name)")
    p.add_argument("--predictions-from", choices=PREDICTION_MODES, default="logits",
                   help="what the model's output is: logits (softmax gives the confidence) or "
                        "probabilities")
    a = p.parse_args(argv)

    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    if ":" in a.model:
        model = _load_object(a.model, a.model_kwargs)
    else:
        try:
            model = torch.jit.load(a.model, map_location="cpu")
        except Exception:
            model = torch.load(a.model, map_location="cpu", weights_only=False)
    if a.weights:
        state = torch.load(a.weights, map_location="cpu")
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        model.load_state_dict(state)
    data = _load_object(a.dataset, a.dataset_kwargs)
    hint = None
    ds = getattr(data, "dataset", data)
    if hasattr(ds, "classes"):
        hint = len(ds.classes)
    class_names = (
        list(ds.classes) if a.class_names is None and hasattr(ds, "classes")
        else _read_class_names(a.class_names, hint)
    )
    res = export_activations(
        model, data, a.layers, a.out, class_names,
        name=a.name, dataset_desc=a.dataset_desc, model_desc=a.model_desc,
        preprocessing=a.preprocessing, label_source=a.label_source,
        pooling=a.pooling, seed=a.seed, projections=a.projections,
        batch_size=a.batch_size, num_workers=a.num_workers, device=a.device,
        dtype=np.float32 if a.float32 else np.float16, thumb_size=a.thumb_size,
        actimg_layers=a.actimg_layers, actimg_mode=a.actimg_mode,
        predictions=False if a.no_predictions else a.predictions_from,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    size = os.path.getsize(a.out)
    print(f"wrote {a.out} ({size / 1e6:.2f} MB) in {res['seconds']:.1f}s; "
          f"layers {res['meta']['layer_dims']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
