#!/usr/bin/env bash
# What the cockpit's funnel counters cost: the routing bench with counting off
# and on, interleaved in the same window (scripts/bench-routing-compare.sh),
# same binary. "old" = counters off, "new" = counters on.
#   scripts/bench-counters.sh [ROUNDS] [LEADS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$PWD/.ort/libonnxruntime.so}"
bin=$(cargo bench --bench routing --no-run 2>&1 | sed -n 's/.*Executable benches\/routing.rs (\(.*\))/\1/p' | tail -1)
[ -x "$bin" ] || { echo "no routing bench binary" >&2; exit 1; }
off=$(mktemp /tmp/bench-counters-off.XXXX)
trap 'rm -f "$off"' EXIT
printf '#!/bin/sh\nFUNNEL_BENCH_COUNTERS=off exec %s "$@"\n' "$bin" > "$off"
chmod +x "$off"
scripts/bench-routing-compare.sh "$off" "$bin" "${1:-5}" "${2:-30000}"
