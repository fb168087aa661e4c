#!/usr/bin/env bash
# The Python client example's environment: examples/python/.venv with grpcio
# and grpcio-tools from PyPI (tests/python_client.rs uses it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/venv.sh
venv=examples/python/.venv
venv "$venv" examples/python/requirements.txt
echo "python client: $("$venv/bin/python" -c 'import grpc; print("grpcio", grpc.__version__)')"
