#!/usr/bin/env bash
# Quick start, command 2: installs what is missing and runs every test:
#   1. native `cargo test` of the workspace (core, CLI, app logic);
#   2. wasm-bindgen tests in headless Chromium (wasm-bindgen-test-runner + chromedriver);
#   3. the release build, then end-to-end tests with playwright-core in Debian's Chromium.
# The last line is the summary over all three: "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

logs=$(mktemp -d)
status=0
passed=0
failed=0

# Adds up libtest's "test result: ... N passed; M failed" lines of a log.
count_cargo() {
  local log=$1 p f
  p=$(grep -Eo 'test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
}

stage() { printf '\n===== %s =====\n' "$*"; }

stage "native: cargo test --workspace"
cargo test --workspace 2>&1 | tee "$logs/native.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$logs/native.log"

stage "wasm: wasm-bindgen tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_USE_BROWSER=1 WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test -p topoact-app --target wasm32-unknown-unknown --test wasm_ui --test wasm_worker 2>&1 | tee "$logs/wasm.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$logs/wasm.log"

stage "build: release site in dist/ and the native CLI (the e2e tests compare with it)"
if { tools/build.sh && cargo build --release -p topoact-cli; } 2>&1 | tee "$logs/build.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
  stage "e2e: playwright-core + Chromium"
  node --test --test-concurrency=1 tests/e2e/*.test.mjs 2>&1 | tee "$logs/e2e.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  passed=$((passed + $(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$logs/e2e.log" | tail -n1)))
  for outcome in fail cancelled; do
    failed=$((failed + $(sed -n "s/^# ${outcome} \([0-9]*\)\$/\1/p" "$logs/e2e.log" | tail -n1)))
  done
else
  echo "the release build failed: end-to-end tests not run"
  status=1; failed=$((failed + 1))
fi

rm -rf "$logs"
echo
[ "$status" -eq 0 ] && [ "$failed" -gt 0 ] && status=1
echo "${passed} passed, ${failed} failed"
exit "$status"
