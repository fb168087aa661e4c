#!/usr/bin/env bash
# The long fault runs (CI runs short ones inside `cargo test`), release build, 127.0.0.1 only:
#   scripts/faults.sh [REPLICA_KILLS] [REDIS_KILLS] [FUZZ_CASES]
#     (a) tests/faults_replicas.rs: 3 `funnel serve` processes under submit, pull/complete and
#         referral accept/complete/decline load; REPLICA_KILLS (default 100) random kill -9s,
#         each replica restarted. Fails on any acknowledged write lost or any invariant broken.
#     (b), (c) tests/faults.rs: Redis (AOF everysec) killed with kill -9 and restarted REDIS_KILLS
#         times (default 5, as the issue asks) under load; a cluster primary failed over to its
#         replica. Fails on a loss outside the documented window.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -f .ort/libonnxruntime.so ] || bash scripts/setup-ort.sh
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$PWD/.ort/libonnxruntime.so}"
FUNNEL_FAULT_REPLICA_KILLS="${1:-100}" cargo test --release --test faults_replicas -- --nocapture
FUNNEL_FAULT_KILLS="${2:-5}" cargo test --release --test faults -- --nocapture
# (e) tests/fuzz.rs: 50,000,000 mutated inputs through every in-process decode path and
#     1,000,000 mutated requests at the gRPC port (plus raw junk connections).
FUNNEL_FUZZ_CASES="${3:-50000000}" cargo test --release --test fuzz -- --nocapture
