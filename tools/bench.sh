#!/usr/bin/env bash
# Benchmarks (not part of the test suite): native criterion benches of the core, then the
# in-browser suites in headless Chromium. Usage: tools/bench.sh [browser-suite ...]
# `tools/bench.sh table [--quick] [--rows id,...]` runs issue 22's table instead
# (benches/table.mjs: BENCH_RUNS runs of every row under each BENCH_THREADS entry, with peers).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
if [ "${1:-}" = table ]; then
  shift
  TOPOACT_BENCH=1 tools/build.sh
  cargo build --release -p topoact-cli
  exec node benches/table.mjs "$@"
fi
if [ "${SKIP_NATIVE:-0}" != 1 ]; then
  cargo bench -p topoact-core
fi
# The benchmark build: the default one plus what only the benchmarks use (feature `bench`).
TOPOACT_BENCH=1 tools/build.sh
for suite in "${@:-parse}"; do
  node benches/browser-bench.mjs "$suite"
done
