#!/usr/bin/env bash
# The demo from a fresh clone: provides ONNX Runtime and redis-server, builds
# funnel, and runs `funnel demo` (private Redis on a free port, server in
# process, robot + remote and branch managers, then the funnel is printed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup-ort.sh
scripts/setup-redis.sh
cargo build --release --quiet
export ORT_DYLIB_PATH="$PWD/.ort/libonnxruntime.so"
exec target/release/funnel demo "$@"
