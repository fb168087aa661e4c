#!/usr/bin/env bash
# The long fault run (CI runs the short one inside `cargo test`):
#   scripts/faults.sh [KILLS]   Redis (AOF everysec) killed with kill -9 and restarted KILLS
#                               times (default 50) under submit + pull/complete load.
# Prints the acknowledged and lost counts; fails if an acknowledged write is lost
# outside AOF everysec's documented window. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f .ort/libonnxruntime.so ] || bash scripts/setup-ort.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$PWD/.ort/libonnxruntime.so}"
FUNNEL_FAULT_KILLS="${1:-50}" cargo test --release --test faults -- --nocapture
