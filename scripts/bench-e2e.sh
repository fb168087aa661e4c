#!/usr/bin/env bash
# End to end on this machine, the way issue 11 measures it: a private
# redis-server (no persistence), one release `funnel serve` in its own
# process, and `funnel loadgen --addr` as a separate process on the same
# cores. Three runs, each its own loadgen process:
#   1. closed loop, new leads, CONCURRENCY in flight;
#   2. open loop at RATE new leads/s;
#   3. closed loop, replays only (after 64 new ones), CONCURRENCY in flight.
# For each: loadgen's own lines (ok/s, errors by code, latency percentiles,
# the server's stages), then the server's and Redis's CPU per OK call, from
# /proc/<pid>/stat and Redis `INFO cpu`, over the whole run (warm-up
# included, so the figures per call are slightly high).
#
#   [BENCH_BIN=path] scripts/bench-e2e.sh [SECONDS=15] [CONCURRENCY=64] [RATE=5000]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${1:-15}"
conc="${2:-64}"
rate="${3:-5000}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$PWD/.ort/libonnxruntime.so}"
[ -f "$ORT_DYLIB_PATH" ] || scripts/setup-ort.sh
# BENCH_BIN (not FUNNEL_*: those are config): another build to measure (e.g. an older commit's, to compare
# in the same window); unset: this checkout's release build.
if [ -n "${BENCH_BIN:-}" ]; then
  bin="$BENCH_BIN"
else
  cargo build --release --quiet
  bin=target/release/funnel
fi

work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rport=$(free_port); gport=$(free_port); mport=$(free_port); wport=$(free_port)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$rport" --save "" --appendonly no --daemonize yes \
  --logfile "$work/redis.log" --dir "$work" >/dev/null
robot="bench-robot-$RANDOM$RANDOM"
cat > "$work/tokens.toml" <<EOF
[[principal]]
token_sha256 = "$($bin hash-token "$robot")"
role = "robot"
EOF
# Every region and branch of the calls sent.
python3 - "$work/funnel.toml" "$rport" "$gport" "$mport" "$wport" "$work/tokens.toml" <<'EOF'
import json, sys
out, rport, gport, mport, wport, tokens = sys.argv[1:]
regions = {}
for line in open("models/holdout_sample.jsonl"):
    r = json.loads(line)
    regions.setdefault(r["region_id"], set()).add(r["branch_id"])
with open(out, "w") as f:
    f.write(f'listen = "127.0.0.1:{gport}"\nmetrics_listen = "127.0.0.1:{mport}"\n')
    f.write(f'redis_urls = ["redis://127.0.0.1:{rport}"]\ntokens_file = "{tokens}"\n')
    f.write('manifest = "models/manifest.json"\nlog_format = "json"\nlog_filter = "warn"\n')
    f.write(f'[web]\nlisten = "127.0.0.1:{wport}"\n[registry.regions]\n')
    for reg, br in sorted(regions.items()):
        f.write(f'{reg} = {json.dumps(sorted(br))}\n')
EOF
$bin serve --config "$work/funnel.toml" > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$mport/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$mport/readyz" >/dev/null || { cat "$work/server.log"; exit 1; }

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)), \
redis-server $(redis-server --version | cut -d' ' -f3 | cut -d= -f2), load average $(cut -d' ' -f1-3 /proc/loadavg); \
$(date -u +%FT%TZ); binary $bin ($($bin --version))"
echo "command: scripts/bench-e2e.sh $secs $conc $rate (server, redis-server and the load generator share the $(nproc) cores)"

tck=$(getconf CLK_TCK)
server_cpu() { awk -v t="$tck" '{printf "%.6f", ($14+$15)/t}' "/proc/$server/stat"; }
redis_cpu() {
  redis-cli -p "$rport" info cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user):/ {s+=$2} END {printf "%.6f", s}'
}

phase() {  # name, loadgen args...
  local name=$1; shift
  local s0 r0 s1 r1 ok
  redis-cli -p "$rport" config resetstat >/dev/null
  s0=$(server_cpu); r0=$(redis_cpu)
  FUNNEL_TOKEN="$robot" $bin loadgen --addr "http://127.0.0.1:$gport" --metrics "127.0.0.1:$mport" \
    --seconds "$secs" --warmup 2 "$@" | tee "$work/$name.out"
  s1=$(server_cpu); r1=$(redis_cpu)
  # OK calls of the run's counted phase (warm-up calls are not in it).
  ok=$(grep '^{"loadgen"' "$work/$name.out" | python3 -c 'import json,sys; print(sum(json.loads(l)["loadgen"]["ok"] for l in sys.stdin))')
  python3 - "$name" "$s0" "$s1" "$r0" "$r1" "$ok" "$secs" <<'EOF'
import sys
name, s0, s1, r0, r1, ok, secs = sys.argv[1], *map(float, sys.argv[2:])
if ok == 0:
    print(f"{name}: no OK calls"); sys.exit(0)
# Warm-up (2 s) calls also cost CPU: scale the count by (secs + 2) / secs.
calls = ok * (secs + 2) / secs
print(f"{name}: server CPU {(s1 - s0) * 1e6 / calls:.0f} µs/call, Redis CPU {(r1 - r0) * 1e6 / calls:.0f} µs/call "
      f"(over {s1 - s0:.1f} s / {r1 - r0:.1f} s of CPU, ~{calls:.0f} calls with the warm-up's estimated)")
EOF
  redis-cli -p "$rport" info commandstats | tr -d '\r' | grep -E '^cmdstat_(fcall|get|set|eval)' |
    sed 's/^/  redis /' || true
}

phase closed-new --only closed --concurrency "$conc"
phase open-new --only open --rate "$rate"
phase closed-replay --only closed --concurrency "$conc" --replay-share 1
