#!/usr/bin/env bash
# Builds the static site into dist/: the UI and worker WebAssembly (release), their
# wasm-bindgen glue, index.html, style and public/ (demo data, loaders).
# Any static host can serve dist/ from any sub-path: every URL in it is relative.
set -euo pipefail
cd "$(dirname "$0")/.."

wasm_dir=target/wasm32-unknown-unknown/release
echo "[build] cargo build (wasm32, release)"
cargo build -p topoact-app --target wasm32-unknown-unknown --release --bin app --bin worker

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

rm -rf dist && mkdir -p dist
cp index.html dist/
cp -r style pkg dist/
cp -r public/. dist/
echo "[build] dist/ ready: $(du -sh dist | cut -f1) ($(du -h pkg/app_bg.wasm | cut -f1) app, $(du -h pkg/worker_bg.wasm | cut -f1) worker)"
