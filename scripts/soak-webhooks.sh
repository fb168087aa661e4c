#!/usr/bin/env bash
# Bars of the webhooks, full size (tests/webhooks.rs, release build):
#  1. 0 events lost across RESTARTS receiver restarts under RATE offers/min
#     for SECS seconds (every offer, warning, SLA breach and unplaceable lead
#     named by the audit trails arrives, signature checked);
#  2. routing p99 with webhooks on (a receiver that is up) vs off, in
#     interleaved rounds of the same window (ROUNDS per mode, ROUND_SECS each).
# CI runs the same two tests small (2 restarts in 12 s; 2 rounds of 3 s).
#
#   scripts/soak-webhooks.sh [RESTARTS=20] [SECS=180] [RATE=500] [ROUNDS=10] [ROUND_SECS=10]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$PWD/.ort/libonnxruntime.so}"
[ -f "$ORT_DYLIB_PATH" ] || scripts/setup-ort.sh
export FUNNEL_SOAK_RESTARTS="${1:-20}" FUNNEL_SOAK_SECS="${2:-180}" FUNNEL_SOAK_OFFERS_PER_MIN="${3:-500}"
export FUNNEL_P99_ROUNDS="${4:-10}" FUNNEL_P99_ROUND_SECS="${5:-10}" FUNNEL_P99_OFFERS_PER_MIN="${3:-500}"
# The measured p99 comparison uses a receiver that answers at once.
export FUNNEL_P99_RECEIVER_DELAY_MS="${FUNNEL_P99_RECEIVER_DELAY_MS:-0}"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)), \
load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo "command: $(env | grep -E '^FUNNEL_(SOAK|P99)_' | sort | tr '\n' ' ')cargo test --release --test webhooks -- --nocapture --test-threads 1"
cargo test --release --test webhooks -- --nocapture --test-threads 1
