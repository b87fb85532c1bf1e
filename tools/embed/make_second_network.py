#!/usr/bin/env python3
"""A second real network for the projection quality checks (issue 18): a small MLP trained from
scratch on Fashion-MNIST, and the activations of its two hidden layers on 5,000 test images.

The demo layers come from an ImageNet-pretrained EfficientNet-Lite0; this network is a
different kind (fully connected, trained on the task itself, ReLU outputs with many exact
zeros), so t-SNE / UMAP are checked on layers they were not developed on.

* Data: Debian ``dataset-fashion-mnist`` (idx.gz under /usr/share/datasets/fashion-mnist),
  the 60,000-image training split for training, the 10,000-image test split for the accuracy
  and the exported activations. Nothing is downloaded.
* Input: pixels / 255, standardised with the training split's mean and standard deviation
  (one scalar each), flattened to 784.
* Network: 784 -> 256 (ReLU) -> 128 (ReLU) -> 10 logits; PyTorch's default initialisation.
* Training: Adam (lr 1e-3, PyTorch defaults otherwise), cross-entropy, batch 128, 5 epochs,
  batches in an order drawn from ``torch.Generator().manual_seed(seed)``; weights from
  ``torch.manual_seed(seed)``; deterministic algorithms; 2 threads.
* Export: 500 test images per class (``--per-class``; 1000 exports the whole test split) chosen with ``numpy.random.default_rng(seed)`` (the
  demo's own rule, ``tools/make_demo_dataset.py:stratified_indices``, ascending test index);
  ``act_fc1`` (256, after ReLU) and ``act_fc2`` (128, after ReLU) as float16, ``labels``
  (int64), ``class_names``, ``preds`` (the network's argmax) and ``meta`` (JSON: versions,
  settings, accuracy, a sha256 of the chosen test indices), written with
  ``np.savez_compressed`` in TopoAct's npz layout (``tools/export_activations.py``).

Run with the system Python and Debian's CPU torch (``python3-torch``), from the repository root:

    apt-get install -y dataset-fashion-mnist python3-torch
    /usr/bin/python3 tools/embed/make_second_network.py

About 5-10 minutes on 2 shared cores (Debian torch on the reference BLAS). Writes
``crates/topoact-core/tests/fixtures/embed/fashion-mlp.npz`` (or ``--out``) and prints the
file's sha256 and the test accuracy; see ``crates/topoact-core/tests/fixtures/embed/PROVENANCE.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
from make_demo_dataset import CLASS_NAMES, FASHION_DIR, read_idx, stratified_indices  # noqa: E402

ROOT = os.path.dirname(TOOLS)
OUT_REL = "crates/topoact-core/tests/fixtures/embed/fashion-mlp.npz"
SEED = 0
EPOCHS = 5
BATCH = 128
LR = 1e-3
PER_CLASS = 500
THREADS = 2


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        h1 = torch.relu(self.fc1(x))
        h2 = torch.relu(self.fc2(h1))
        return self.out(h2), h1, h2


def load_split(kind: str):
    x = read_idx(os.path.join(FASHION_DIR, f"{kind}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(FASHION_DIR, f"{kind}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x.reshape(len(x), 784), y


def deb_version(package: str) -> str:
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=os.path.join(ROOT, OUT_REL))
    parser.add_argument("--per-class", type=int, default=PER_CLASS,
                        help="test images exported per class (1000: the whole test split)")
    args = parser.parse_args()

    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)

    x_train, y_train = load_split("train")
    x_test, y_test = load_split("t10k")
    if x_train.shape != (60000, 784) or x_test.shape != (10000, 784):
        raise ValueError(f"unexpected Fashion-MNIST shapes {x_train.shape}, {x_test.shape}")
    scaled = x_train.astype(np.float64) / 255.0
    mean, std = float(scaled.mean()), float(scaled.std())

    def prepare(x):
        return torch.from_numpy(((x.astype(np.float32) / 255.0 - mean) / std).astype(np.float32))

    xt, yt = prepare(x_train), torch.from_numpy(y_train)
    xs, ys = prepare(x_test), torch.from_numpy(y_test)

    model = Mlp()
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    order_rng = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=order_rng)
        total = 0.0
        for start in range(0, len(xt), BATCH):
            batch = order[start:start + BATCH]
            logits, _, _ = model(xt[batch])
            loss = loss_fn(logits, yt[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss) * len(batch)
        model.eval()
        with torch.no_grad():
            accuracy = float((model(xs)[0].argmax(1) == ys).float().mean())
        print(f"epoch {epoch + 1}: train loss {total / len(xt):.4f}, test accuracy {accuracy:.4f}",
              flush=True)
    train_seconds = time.perf_counter() - t0

    chosen = stratified_indices(y_test, args.per_class, args.seed)
    with torch.no_grad():
        logits, h1, h2 = model(xs[torch.from_numpy(chosen)])
    fc1 = h1.numpy().astype(np.float16)
    fc2 = h2.numpy().astype(np.float16)
    preds = logits.argmax(1).numpy().astype(np.int64)
    labels = y_test[chosen]
    chosen_accuracy = float((preds == labels).mean())

    meta = {
        "name": "Fashion-MNIST MLP 784-256-128-10 (trained from scratch)",
        "dataset": f"Fashion-MNIST test split, {args.per_class} per class, "
                   f"numpy.random.default_rng({args.seed}), ascending test index",
        "model": "MLP 784 -> 256 ReLU -> 128 ReLU -> 10, trained on the 60,000 training images",
        "layers": ["fc1", "fc2"],
        "preprocessing": f"pixels / 255, (x - {mean:.6f}) / {std:.6f}, flattened",
        "training": {"optimiser": f"Adam lr {LR}", "batch": BATCH, "epochs": args.epochs,
                     "seed": args.seed, "threads": THREADS, "deterministic": True,
                     "seconds": round(train_seconds, 1)},
        "test_accuracy": round(accuracy, 4),
        "accuracy_on_exported": round(chosen_accuracy, 4),
        "test_indices_sha256": hashlib.sha256(chosen.astype("<i8").tobytes()).hexdigest(),
        "created_by": "tools/embed/make_second_network.py " + " ".join(sys.argv[1:]),
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "numpy": np.__version__, "python3-torch (Debian)": deb_version("python3-torch"),
                     "dataset-fashion-mnist (Debian)": deb_version("dataset-fashion-mnist"),
                     "machine": platform.machine()},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez_compressed(args.out, act_fc1=fc1, act_fc2=fc2, labels=labels,
                        class_names=np.array(CLASS_NAMES), preds=preds,
                        meta=np.array(json.dumps(meta)))
    with open(args.out, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(json.dumps(meta, indent=1))
    print(f"test accuracy {accuracy:.4f} (10,000 images), {chosen_accuracy:.4f} on the {len(chosen):,} exported")
    print(f"fc1 {fc1.shape}, zeros {float((fc1 == 0).mean()):.3f}; fc2 {fc2.shape}, zeros {float((fc2 == 0).mean()):.3f}")
    print(f"{os.path.relpath(args.out, ROOT)} sha256 {digest}")


if __name__ == "__main__":
    main()
