#!/usr/bin/env bash
# Quick start, command 1: install the build dependencies, build attestd and
# attestctl, and start attestd in the foreground on its built-in defaults:
# http://127.0.0.1:8080, the bundled example policies (policies/), and a
# state directory (./state, mode 0700) that receives a generated ES256
# verdict key (mode 0600) on first start.  Extra arguments go to attestd,
# e.g. `scripts/run.sh --listen 127.0.0.1:9090`.  Stop it with Ctrl-C.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${AV_BUILD_DIR:-$root/build}
jobs=$(nproc 2>/dev/null || echo 2)

bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$build"
cmake --build "$build" -j"$jobs" --target attestd attestctl

exec "$build/attestd" --policies "$root/policies" \
    --state-dir "${AV_STATE_DIR:-$root/state}" "$@"
