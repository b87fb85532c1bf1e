"""The documented install path, `pip install ./crates/topoact-py`: pip builds the package
through its build backend (maturin, pyproject.toml) and installs it into a fresh venv, where
a new interpreter imports it and maps a tiny array to the same graph as the dev build.

Cheapest honest form: no build isolation and no index (the dev venv's pip, maturin and
numpy; PyPI not needed) and the workspace's cargo target directory, which tools/setup.sh's
`maturin develop` has already filled: the extension is not compiled again (measured: ~5 s
for the whole pip install; a `maturin develop` after it is still a no-op). The throwaway
venv sees the dev venv's packages through a .pth line, which puts them after its own
site-packages: the `topoact` (and `topoact._core`) imported is the one pip installed there
(asserted), and pip finds the package's numpy requirement satisfied offline."""

import json
import os
import pathlib
import subprocess
import sys
import sysconfig
import time

import topoact
from conftest import ROOT

PACKAGE = ROOT / "crates" / "topoact-py"

# Two blobs in 3-D; the installed package's graph (printed as JSON) must be the dev build's.
TINY = """
import numpy as np
rng = np.random.default_rng(0)
X = np.vstack([rng.normal(size=(40, 3)), rng.normal(size=(40, 3)) + 8]).astype(np.float32)
KWARGS = dict(n_intervals=4, overlap=0.3, eps=3.0, min_samples=2)
"""

CHECK = TINY + """
import json, sys, topoact
assert topoact.__file__.startswith(sys.prefix), topoact.__file__
assert topoact._core.__file__.startswith(sys.prefix), topoact._core.__file__
g = topoact.mapper(X, **KWARGS)
print(topoact.__file__)
print(json.dumps({"nodes": g["nodes"], "links": g["links"]}, sort_keys=True))
"""


def run(cmd, **kwargs):
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, f"{cmd[:4]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done, seconds


def test_pip_install_of_the_source_tree_imports_and_maps(tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    site = pathlib.Path(
        subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                text=True).strip()
    )
    # The dev venv's packages (pip, maturin, numpy), after the throwaway venv's own.
    (site / "dev-venv.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = dict(os.environ)
    # The build backend's `maturin` executable: the dev venv's.
    env["PATH"] = str(pathlib.Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    _, install_seconds = run(
        [str(py), "-m", "pip", "install", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "-q", str(PACKAGE)],
        env=env, cwd=tmp_path,
    )
    installed = site / "topoact"
    for name in ("__init__.py", "distributed.py", "_core.pyi", "py.typed", "_core.abi3.so"):
        assert (installed / name).is_file(), f"{name} is not in the installed package"
    done, _ = run([str(py), "-c", CHECK], cwd=tmp_path)
    where, graph = done.stdout.splitlines()
    assert where.startswith(str(site)), where
    names = {}
    exec(TINY, names)
    dev = topoact.mapper(names["X"], **names["KWARGS"])
    assert json.loads(graph) == json.loads(json.dumps({"nodes": dev["nodes"], "links": dev["links"]}))
    assert len(dev["nodes"]) >= 2
    print(f"pip install {install_seconds:.1f} s; {len(dev['nodes'])} nodes from {where}")
