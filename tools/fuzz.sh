#!/usr/bin/env bash
# Long fuzzing of the activation-file parsers with cargo-fuzz (libFuzzer).
# NOT part of the normal test suite (tests/formats_fuzz.rs is the short CI version).
#
# Usage: tools/fuzz.sh [SECONDS]      default 600 (10 minutes)
# Needs: the nightly toolchain and cargo-fuzz (installed here if missing).
# Seeds: the format fixtures, each prefixed with the selector byte the target expects.
# Crashes land in fuzz/artifacts/load_dataset/; the script exits non-zero on a crash.
set -euo pipefail

DURATION_SECS="${1:-600}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="$ROOT/crates/topoact-core/tests/fixtures/formats"
CORPUS="$ROOT/fuzz/corpus/load_dataset"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/fuzz/target}"

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz

mkdir -p "$CORPUS"
for path in "$FIXTURES"/*; do
  name="$(basename "$path")"
  # selector = file type index (npz 0, npy 1, safetensors 2, csv 3, json 4) + 20 (large chunks)
  case "$name" in
    *.npz) selector=20 ;;
    *.npy) selector=21 ;;
    *.safetensors) selector=22 ;;
    *.csv) selector=23 ;;
    *.json) selector=24 ;;
    *) continue ;;
  esac
  { printf "\\$(printf '%03o' "$selector")"; cat "$path"; } > "$CORPUS/seed_$name"
done

cd "$ROOT/fuzz"
exec cargo +nightly fuzz run --target-dir "$TARGET_DIR" load_dataset "$CORPUS" -- \
  -max_total_time="$DURATION_SECS" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1
