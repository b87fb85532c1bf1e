#!/usr/bin/env bash
# Benchmarks (not part of the test suite): native criterion benches of the core, then the
# in-browser suites in headless Chromium. Usage: tools/bench.sh [browser-suite ...]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
if [ "${SKIP_NATIVE:-0}" != 1 ]; then
  cargo bench -p topoact-core
fi
# The benchmark build: the default one plus what only the benchmarks use (feature `bench`).
TOPOACT_BENCH=1 tools/build.sh
for suite in "${@:-parse}"; do
  node benches/browser-bench.mjs "$suite"
done
