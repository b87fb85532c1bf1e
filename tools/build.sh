#!/usr/bin/env bash
# Builds the static site into dist/: the UI and worker WebAssembly (release), their
# wasm-bindgen glue, index.html, style and public/ (demo data, loaders).
# Any static host can serve dist/ from any sub-path: every URL in it is relative.
# TOPOACT_BENCH=1 also builds in what only the in-browser benchmarks use (feature `bench`:
# the layout quality measure, the benchmark page's protocol client); tools/bench.sh sets it.
set -euo pipefail
cd "$(dirname "$0")/.."

wasm_dir=target/wasm32-unknown-unknown/release
features=()
threads_features=threads
if [ "${TOPOACT_BENCH:-0}" = 1 ]; then
  features=(--features bench)
  threads_features=threads,bench
fi
echo "[build] cargo build (wasm32, release${features[*]:+, ${features[*]}})"
cargo build -p topoact-app --target wasm32-unknown-unknown --release --bin app --bin worker "${features[@]}"

rm -rf pkg && mkdir -p pkg
for bin in app worker; do
  wasm-bindgen --target web --no-typescript --out-dir pkg "${wasm_dir}/${bin}.wasm"
  if [ "${TOPOACT_SKIP_WASM_OPT:-0}" != 1 ]; then
    node_modules/.bin/wasm-opt -O3 \
      --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      "pkg/${bin}_bg.wasm" -o "pkg/${bin}_bg.wasm"
  fi
done

# The multi-threaded worker (wasm threads; used when the page is cross-origin isolated):
# nightly, std rebuilt with atomics, shared memory of up to 4 GiB. Same sources, feature
# `threads`; its own target directory so the two builds do not invalidate each other.
# TOPOACT_SKIP_THREADS=1 skips it (the site then always computes on one thread).
rm -rf pkg-threads
if [ "${TOPOACT_SKIP_THREADS:-0}" != 1 ]; then
  echo "[build] cargo +nightly build (wasm32, atomics, worker with threads)"
  threads_flags=(
    -C target-feature=+atomics,+bulk-memory,+simd128
    --cfg 'getrandom_backend="wasm_js"'
    -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size
    -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base
  )
  CARGO_ENCODED_RUSTFLAGS=$(IFS=$'\x1f'; echo "${threads_flags[*]}") \
    cargo +nightly build -Z build-std=panic_abort,std --target wasm32-unknown-unknown --release \
      -p topoact-app --bin worker --features "$threads_features" --target-dir target/threads
  mkdir -p pkg-threads
  wasm-bindgen --target web --no-typescript --out-dir pkg-threads \
    target/threads/wasm32-unknown-unknown/release/worker.wasm
  if [ "${TOPOACT_SKIP_WASM_OPT:-0}" != 1 ]; then
    node_modules/.bin/wasm-opt -O3 \
      --enable-threads --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
      pkg-threads/worker_bg.wasm -o pkg-threads/worker_bg.wasm
  fi
fi

rm -rf dist && mkdir -p dist
cp index.html dist/
cp -r style pkg dist/
[ -d pkg-threads ] && cp -r pkg-threads dist/
cp -r public/. dist/

# The service worker's file list and build hash (public/service-worker.js): the app shell it
# caches for offline use, and a cache name that changes with every build.
python3 - <<'PY'
import hashlib, json, pathlib, re
dist = pathlib.Path("dist")
skip = {"service-worker.js", "bench.html", "bench.js", "bench-read-worker.js"}
files = sorted(
    str(path.relative_to(dist)) for path in dist.rglob("*")
    if path.is_file() and path.name not in skip and path.suffix != ".md"
    and not str(path.relative_to(dist)).startswith("demo/")
)
digest = hashlib.sha256()
for name in files:
    digest.update(name.encode() + b"\0" + (dist / name).read_bytes())
worker = dist / "service-worker.js"
text = worker.read_text()
text = re.sub(r"^const BUILD = .*;$", f"const BUILD = '{digest.hexdigest()[:16]}';", text, count=1, flags=re.M)
text = re.sub(r"^const SHELL_FILES = .*;$", f"const SHELL_FILES = {json.dumps(files)};", text, count=1, flags=re.M)
worker.write_text(text)
print(f"[build] service worker: {len(files)} shell files, build {digest.hexdigest()[:16]}")
PY
echo "[build] dist/ ready: $(du -sh dist | cut -f1) ($(du -h pkg/app_bg.wasm | cut -f1) app, $(du -h pkg/worker_bg.wasm | cut -f1) worker)"
