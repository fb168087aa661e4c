#!/usr/bin/env bash
# Bar of the workbench: every page, script and JSON call the remote desk and
# the branch page load answers in < 200 ms server time with 100,000 leads in
# Redis. Runs tests/web_load.rs in a release build: a private redis-server
# filled through the Router, then each call loaded N times; prints p50/p99/max
# of the server time (Server-Timing) per call, the machine and this command,
# and fails if any p99 reaches 200 ms. CI runs the same test with 10,000 leads
# (debug build, `cargo test`).
#
#   scripts/bench-web.sh [LEADS=100000] [LOADS=100]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
leads="${1:-100000}"
loads="${2:-100}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$PWD/.ort/libonnxruntime.so}"
[ -f "$ORT_DYLIB_PATH" ] || scripts/setup-ort.sh
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)), \
$(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), redis-server $(redis-server --version | cut -d' ' -f3 | cut -d= -f2), \
load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo "command: FUNNEL_WEB_LEADS=$leads FUNNEL_WEB_LOADS=$loads cargo test --release --test web_load -- --nocapture"
FUNNEL_WEB_LEADS="$leads" FUNNEL_WEB_LOADS="$loads" \
  cargo test --release --test web_load -- --nocapture --test-threads 1
