#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already there (idempotent).
# Everything comes from the registries this machine reaches: Debian, crates.io, npm.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing_debs=()
command -v chromium >/dev/null 2>&1 || missing_debs+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing_debs+=(chromium-driver)
# Firefox ESR: the end-to-end suite's Firefox subset (driven by geckodriver, below).
[ -x /usr/bin/firefox-esr ] || missing_debs+=(firefox-esr)
# The activation exporter's tests (tools/test_export_activations.py): Debian's CPU-only torch,
# with scikit-learn and pytest for the system Python (PyPI's torch pulls GBs of CUDA wheels).
/usr/bin/python3 -c 'import torch, sklearn, pytest' >/dev/null 2>&1 \
  || missing_debs+=(python3-torch python3-sklearn python3-pytest)
if [ ${#missing_debs[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing_debs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_debs[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The multi-threaded worker: a nightly toolchain with std's sources (`-Z build-std` rebuilds
# std with atomics). Any recent nightly works; the one already installed is used.
if ! rustup toolchain list | grep -q '^nightly'; then
  say "installing the nightly Rust toolchain (minimal profile)"
  rustup toolchain install nightly --profile minimal
fi
if ! rustup component list --installed --toolchain nightly | grep -q '^rust-src'; then
  say "adding rust-src to the nightly toolchain"
  rustup component add rust-src --toolchain nightly
fi
if ! rustup target list --installed --toolchain nightly | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target to the nightly toolchain"
  rustup target add wasm32-unknown-unknown --toolchain nightly
fi

# wasm-bindgen-cli must match the wasm-bindgen crate exactly (it is pinned in Cargo.toml).
wb_version=$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"/\1/p' Cargo.toml | head -n1)
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${wb_version}\$"; then
  say "installing wasm-bindgen-cli ${wb_version} (about 5 minutes on 2 cores)"
  cargo install wasm-bindgen-cli --version "${wb_version}"
fi

# geckodriver (not in Debian 12) drives Firefox for the e2e suite's Firefox subset.
gd_version=0.37.1
if ! geckodriver --version 2>/dev/null | grep -qx "geckodriver ${gd_version}"; then
  say "installing geckodriver ${gd_version} (about 2 minutes on 2 cores)"
  cargo install geckodriver --version "${gd_version}"
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/embedding-atlas ]; then
  say "installing npm packages (binaryen for wasm-opt, playwright-core; benchmark peers)"
  npm ci --no-audit --no-fund --loglevel=error
fi
# ---- python package (crates/topoact-py) -------------------------------------------------
# A venv under the gitignored .venv-py/ with the pinned build and test requirements
# (maturin, pytest, numpy, dask[distributed], and KeplerMapper + scikit-learn at the versions
# of tools/kmapper/requirements.txt, the reference of the identical-graph tests), then the
# package itself built by maturin (cargo profile `python`) and installed editable. Each part
# is redone only when its inputs changed; cargo makes an unchanged rebuild a no-op.
py_venv=.venv-py
py_reqs=crates/topoact-py/requirements-dev.txt
if [ ! -x "$py_venv/bin/python" ]; then
  say "creating the Python venv $py_venv"
  python3 -m venv "$py_venv"
fi
py_reqs_hash=$(sha256sum "$py_reqs" | cut -d' ' -f1)
if [ "$(cat "$py_venv/.requirements.sha256" 2>/dev/null)" != "$py_reqs_hash" ]; then
  say "installing the Python requirements ($py_reqs)"
  "$py_venv/bin/python" -m pip install -q --disable-pip-version-check -r "$py_reqs"
  echo "$py_reqs_hash" > "$py_venv/.requirements.sha256"
fi
say "building the topoact Python package (maturin develop, profile python)"
( cd crates/topoact-py && VIRTUAL_ENV="$PWD/../../$py_venv" PATH="$PWD/../../$py_venv/bin:$PATH" \
    maturin develop --profile python --quiet >/dev/null )
# ---- end python package ------------------------------------------------------------------

say "ready"
