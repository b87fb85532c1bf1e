#!/usr/bin/env bash
# Runs the topoact CLI and KeplerMapper 2.1.0 + scikit-learn on the same synthetic data,
# side by side, and prints the wall-clock ratio (including the eps search on both sides).
#
#   tools/kmapper/bench_compare.sh [N DIM [COVER]]      (defaults: 50000 256 uniform)
#
# Needs the venv of tools/kmapper/requirements.txt at $KMAPPER_VENV (default
# /work/.venv-kmapper). Builds the CLI in release mode.
set -euo pipefail
N=${1:-50000}
DIM=${2:-256}
COVER=${3:-uniform}
VENV=${KMAPPER_VENV:-/work/.venv-kmapper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release -q -p topoact-cli --manifest-path "$ROOT/Cargo.toml"
BIN=$CARGO_TARGET_DIR/release/topoact
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BIN" synth --n "$N" --dim "$DIM" --seed 0 --out "$WORK/data.npy"

t0=$(date +%s.%N)
"$BIN" mapper "$WORK/data.npy" --cover "$COVER" --intervals 30 --overlap 0.3 --eps-knn 5 --eps-quantile 0.5 \
  --min-samples 5 --subsample 0 --format kmapper --out "$WORK/ours.json" 2> "$WORK/ours.log"
t1=$(date +%s.%N)
ours=$(echo "$t1 - $t0" | bc -l)
tail -1 "$WORK/ours.log"

theirs_json=$("$VENV/bin/python" "$ROOT/tools/kmapper/bench_kmapper.py" "$WORK/data.npy" --cover "$COVER" --out "$WORK/theirs.json")
echo "$theirs_json"
theirs=$("$VENV/bin/python" -c "import json,sys; print(json.loads(sys.argv[1])['total_s'])" "$theirs_json")

same=$("$VENV/bin/python" - "$WORK/ours.json" "$WORK/theirs.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1])); theirs = json.load(open(sys.argv[2]))
a = {k: sorted(v) for k, v in ours["nodes"].items()}; b = {k: sorted(v) for k, v in theirs["nodes"].items()}
la = {k: sorted(v) for k, v in ours["links"].items() if v}; lb = {k: sorted(v) for k, v in theirs["links"].items() if v}
print("identical graphs" if a == b and la == lb else f"graphs differ: {len(a)} vs {len(b)} nodes")
PY
)
printf 'N=%s D=%s cover=%s: topoact %.2f s (whole CLI run, load + eps search + mapper), kmapper %.2f s (eps search + map): %.1fx; %s\n' \
  "$N" "$DIM" "$COVER" "$ours" "$theirs" "$(echo "$theirs / $ours" | bc -l)" "$same"
