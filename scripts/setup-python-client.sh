#!/usr/bin/env bash
# The Python client example's environment: examples/python/.venv with grpcio
# and grpcio-tools from PyPI (tests/python_client.rs uses it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=examples/python/.venv
req=examples/python/requirements.txt
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
echo "python client: $("$venv/bin/python" -c 'import grpc; print("grpcio", grpc.__version__)')"
