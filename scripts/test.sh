#!/usr/bin/env bash
# The whole test suite, from a fresh clone: provides ONNX Runtime and
# redis-server, checks that the training pipeline reproduces the shipped
# models, lints the proto, then runs every Rust test (unit, parity, routing on a single Redis
# and on a 3-node cluster, gRPC integration).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup-ort.sh
scripts/setup-redis.sh
export ORT_DYLIB_PATH="$PWD/.ort/libonnxruntime.so"

if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null
fi
if [ "${FUNNEL_SKIP_TRAINING_CHECK:-0}" != "1" ]; then
  training/run.sh --check
else
  echo "FUNNEL_SKIP_TRAINING_CHECK=1: the training reproducibility check was NOT run"
fi

# The proto contract: buf lint (STANDARD rules, buf.yaml), buf from the npm registry.
if ! command -v npm >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm >/dev/null
fi
npm ci --no-audit --no-fund --loglevel=error >/dev/null
node_modules/.bin/buf lint
echo "buf lint: clean"

# The deployment files (Kubernetes schemas, alert rules, dashboard JSON) and
# the Python client example's environment (tests/python_client.rs).
scripts/check-deploy.sh
scripts/setup-python-client.sh

# The workbench's browser tests (tests/browser.rs) drive Debian's Chromium
# through its chromedriver; CJK fonts so transcripts render in screenshots.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
   || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    chromium chromium-driver fonts-noto-cjk >/dev/null
fi

cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
# Benches are built by clippy above; they are run by hand (see README).
cargo test --lib --bins --tests
