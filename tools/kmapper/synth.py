"""Synthetic "activation-like" point clouds (see shared/reference/peers.md).

A tree of curves (quadratic Bezier branches), a loop and two islands in a 16-d latent
space, sampled with Gaussian noise, mapped to `dim` dimensions by a random linear map and a
ReLU whose per-column bias makes about a third of the values exactly zero.
Deterministic for a given seed. Labels = which component a sample came from.
`in_order=True` maps latent -> dim by elementwise products summed in latent-coordinate order
instead of `latent @ w` (no BLAS, whose summation order depends on the CPU), for data sets
that are regenerated rather than stored (tools/kmapper/make_large_case.py).
"""

import numpy as np

LATENT = 16


def activation_like(n, dim, seed=0, noise=0.08, dtype=np.float32, in_order=False):
    rng = np.random.default_rng(seed)
    # Tree: a root branch, then branches starting at points of earlier ones.
    branches = []
    start = np.zeros(LATENT)
    for b in range(7):
        if b > 0:
            parent = branches[rng.integers(0, len(branches))]
            t0 = rng.uniform(0.4, 1.0)
            start = (1 - t0) ** 2 * parent[0] + 2 * (1 - t0) * t0 * parent[1] + t0**2 * parent[2]
        ctrl = start + rng.normal(0, 1.0, LATENT)
        end = ctrl + rng.normal(0, 1.0, LATENT)
        branches.append((start, ctrl, end))
    loop_centre = rng.normal(0, 1.5, LATENT)
    u, v = np.linalg.qr(rng.normal(size=(LATENT, 2)))[0].T
    islands = [rng.normal(0, 4.0, LATENT) for _ in range(2)]
    n_components = len(branches) + 1 + len(islands)
    labels = rng.integers(0, n_components, n)
    t = rng.uniform(0, 1, n)
    latent = np.empty((n, LATENT))
    for i in range(n):
        c = labels[i]
        if c < len(branches):
            p0, p1, p2 = branches[c]
            latent[i] = (1 - t[i]) ** 2 * p0 + 2 * (1 - t[i]) * t[i] * p1 + t[i] ** 2 * p2
        elif c == len(branches):
            a = 2 * np.pi * t[i]
            latent[i] = loop_centre + 1.2 * (np.cos(a) * u + np.sin(a) * v)
        else:
            latent[i] = islands[c - len(branches) - 1]
    latent += rng.normal(0, noise, latent.shape)
    w = rng.normal(0, 1.0 / np.sqrt(LATENT), (LATENT, dim))
    if in_order:
        pre = latent[:, :1] * w[0]
        for j in range(1, LATENT):
            pre += latent[:, j : j + 1] * w[j]
    else:
        pre = latent @ w
    bias = np.quantile(pre[: min(n, 2000)], 1.0 / 3.0, axis=0)
    x = np.maximum(pre - bias, 0.0).astype(dtype)
    names = [f"branch{b}" for b in range(len(branches))] + ["loop", "island0", "island1"]
    return x, labels.astype(np.uint32), names
