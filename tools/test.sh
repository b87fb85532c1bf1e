#!/usr/bin/env bash
# Quick start, command 2: installs what is missing and runs every test:
#   1. native `cargo test` of the workspace (core, CLI, app logic), then the core's tests again
#      without its `parallel` feature (the single-threaded build), then the Python package's
#      pytest suite (crates/topoact-py/tests: KeplerMapper + scikit-learn, Dask) and the
#      activation exporter's tests (tools/test_*.py, Debian's CPU torch);
#   2. wasm-bindgen tests in headless Chromium (wasm-bindgen-test-runner + chromedriver), then
#      the same tests in headless Firefox ESR (+ geckodriver);
#   3. the release build, then end-to-end tests with playwright-core in Debian's Chromium,
#      and the cross-browser subset (tests/e2e/firefox.test.mjs) in Debian's Firefox ESR
#      through geckodriver.
# The last line is the summary over all of them: "N passed, M failed".
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

# Adds up node --test's "# pass N" / "# fail N" / "# cancelled N" summary of a log (a run that
# ended without a summary counts as one failure).
count_node() {
  local log=$1 p f c
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n1)
  c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$log" | tail -n1)
  if [ -z "$p" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + p)); failed=$((failed + ${f:-0} + ${c:-0}))
}

stage() { printf '\n===== %s =====\n' "$*"; }

stage "native: cargo test --workspace"
cargo test --workspace 2>&1 | tee "$logs/native.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$logs/native.log"

# The core without its `parallel` feature: the single-threaded branches that the browser
# worker runs when the page is not cross-origin isolated (tests/parallel_feature.rs checks
# that both builds give the same bits). The dev profile (the core at opt-level 3) builds and
# runs sooner than --release here.
stage "native: the single-threaded core, cargo test -p topoact-core --no-default-features"
cargo test -p topoact-core --no-default-features 2>&1 | tee "$logs/native-single.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$logs/native-single.log"
# ---- python package (crates/topoact-py) -------------------------------------------------
# Adds up pytest's closing line ("1 failed, 70 passed, 1 skipped, 1 error in 41.2s", framed
# by "=" without -q);
# errors count as failures, and a log without that line as one failure.
count_pytest() {
  local log=$1 line p f e
  line=$(grep -E '^(=+ )?[0-9]+ [a-z]+(, [0-9]+ [a-z]+)* in [0-9.]+s' "$log" | tail -n1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  p=$(grep -Eo '[0-9]+ passed' <<<"$line" | awk '{s+=$1} END {print s+0}')
  f=$(grep -Eo '[0-9]+ failed' <<<"$line" | awk '{s+=$1} END {print s+0}')
  e=$(grep -Eo '[0-9]+ errors?' <<<"$line" | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f + e))
}

stage "python: pytest crates/topoact-py (KeplerMapper + scikit-learn references, Dask LocalCluster)"
.venv-py/bin/python -m pytest -q -p no:cacheprovider crates/topoact-py/tests 2>&1 | tee "$logs/python.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_pytest "$logs/python.log"

stage "python: the activation exporter and the demo's predictions (Debian's CPU torch, scikit-learn)"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tools/test_export_activations.py tools/test_add_demo_predictions.py 2>&1 | tee "$logs/python-tools.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_pytest "$logs/python-tools.log"
# ---- end python package ------------------------------------------------------------------

stage "wasm: wasm-bindgen tests in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_USE_BROWSER=1 WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test -p topoact-app --target wasm32-unknown-unknown --test wasm_ui --test wasm_worker --test wasm_kernels 2>&1 | tee "$logs/wasm.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$logs/wasm.log"

stage "wasm: the same wasm-bindgen tests in headless Firefox ESR (geckodriver)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
GECKODRIVER="$(command -v geckodriver)" WASM_BINDGEN_USE_BROWSER=1 WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test -p topoact-app --target wasm32-unknown-unknown --test wasm_ui --test wasm_worker --test wasm_kernels 2>&1 | tee "$logs/wasm-firefox.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
count_cargo "$logs/wasm-firefox.log"

stage "build: release site in dist/ and the native CLI (the e2e tests compare with it)"
if { tools/build.sh && cargo build --release -p topoact-cli; } 2>&1 | tee "$logs/build.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
  stage "e2e: playwright-core + Chromium"
  chromium_tests=()
  for file in tests/e2e/*.test.mjs; do
    [ "$file" = tests/e2e/firefox.test.mjs ] || chromium_tests+=("$file")
  done
  node --test --test-concurrency=1 "${chromium_tests[@]}" 2>&1 | tee "$logs/e2e.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  count_node "$logs/e2e.log"

  stage "e2e: Firefox ESR through geckodriver (tests/e2e/firefox.test.mjs)"
  E2E_BROWSER=firefox node --test tests/e2e/firefox.test.mjs 2>&1 | tee "$logs/e2e-firefox.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  count_node "$logs/e2e-firefox.log"
else
  echo "the release build failed: end-to-end tests not run"
  status=1; failed=$((failed + 1))
fi

rm -rf "$logs"
echo
[ "$status" -eq 0 ] && [ "$failed" -gt 0 ] && status=1
echo "${passed} passed, ${failed} failed"
exit "$status"
