#!/usr/bin/env bash
# Part (d) of the fault suite: the soak (tests/soak.rs, an #[ignore]d test; release build, 127.0.0.1 only).
#   scripts/soak.sh [CALLS]    CALLS robot calls (default 2,000,000) over 5,000 customers through a
#                              time-compressed lifecycle (retention, TTLs and ages of seconds), worked by
#                              remote and branch managers; prints Redis used_memory and the process's RSS
#                              every 5 % under load, and fails if either, read at rest (the robots
#                              paused 6 s at the 25 % mark, stopped 6 s at the end), moves more than
#                              ±10 %, or an invariant breaks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f .ort/libonnxruntime.so ] || bash scripts/setup-ort.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$PWD/.ort/libonnxruntime.so}"
FUNNEL_SOAK_CALLS="${1:-2000000}" cargo test --release --test soak -- --ignored --nocapture
