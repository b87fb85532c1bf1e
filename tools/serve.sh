#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds, and serves the app with its
# demo dataset on http://127.0.0.1:${PORT:-8080}/ .
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
exec python3 tools/serve.py --root dist --host 127.0.0.1 --port "${PORT:-8080}"
