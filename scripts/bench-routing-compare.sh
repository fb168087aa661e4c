#!/usr/bin/env bash
# Interleaves the routing bench of two builds (e.g. a base commit in a git
# worktree and this checkout) and prints per-figure medians and changes.
#   scripts/bench-routing-compare.sh OLD_BENCH_BINARY NEW_BENCH_BINARY [ROUNDS] [LEADS]
# A bench binary is what `cargo bench --bench routing --no-run` names as
# `Executable benches/routing.rs (target/release/deps/routing-…)`.
# Both runs start their own private redis-server and share the machine's cores.
set -euo pipefail
old=$1 new=$2 rounds=${3:-7} leads=${4:-30000}
log=$(mktemp /tmp/bench-routing-compare.XXXX.log)
echo "window $(date -u +%FT%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$log"
for r in $(seq 1 "$rounds"); do
  for v in old new; do
    bin=$old; [ "$v" = new ] && bin=$new
    echo "== $v $r $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)" >> "$log"
    FUNNEL_BENCH_LEADS=$leads "$bin" --bench >> "$log" 2>&1
  done
done
python3 - "$log" <<'PY'
import re, sys, statistics as st
rows, cur = [], None
pats = {
    "ingest+route leads/s": r"ingest\+route:.*= (\d+) leads/s",
    "ingest script redis us/call": r"^\s+redis CPU ([\d.]+) us/call over \d+ script calls$",
    "ingest CPU/lead client us": r"CPU per lead: client ([\d.]+) us",
    "ingest CPU/lead redis us": r"CPU per lead: client [\d.]+ us, redis-server ([\d.]+)",
    "pull+complete pairs/s": r"pull\+complete:.*= (\d+) pairs/s",
    "pull10 redis us/leased lead": r"= ([\d.]+) us per leased lead",
    "ceiling SET/s": r"SET: ([\d.]+) requests",
}
for line in open(sys.argv[1]):
    m = re.match(r"== (\w+) (\d+)", line)
    if m:
        cur = {"v": m.group(1)}; rows.append(cur); continue
    if cur is None: continue
    for name, p in pats.items():
        m = re.search(p, line)
        if m and name not in cur: cur[name] = float(m.group(1))
print(f"{'figure':30s} {'old median':>12s} {'new median':>12s} {'change':>8s}")
for name in pats:
    o = [r[name] for r in rows if r["v"] == "old" and name in r]
    n = [r[name] for r in rows if r["v"] == "new" and name in r]
    if o and n:
        mo, mn = st.median(o), st.median(n)
        print(f"{name:30s} {mo:12.1f} {mn:12.1f} {(mn / mo - 1) * 100:+7.1f}%")
PY
echo "raw log: $log"
