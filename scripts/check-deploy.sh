#!/usr/bin/env bash
# Checks the deployment files offline, as CI does:
# - deploy/k8s/*.yaml against the Kubernetes 1.31 schemas (kubernetes-validate,
#   from PyPI, --strict: unknown fields are errors);
# - deploy/prometheus/*.yml with `promtool check rules` (Debian's prometheus);
# - deploy/grafana/*.json parse as JSON.
# The metric names they use and the ConfigMap's configuration are checked by
# `cargo test` (src/telemetry/metrics.rs, tests/deploy.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/venv.sh
venv=deploy/.venv
venv "$venv" deploy/requirements.txt
"$venv/bin/kubernetes-validate" --strict -k 1.31.0 deploy/k8s/*.yaml

if ! command -v promtool >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool check rules deploy/prometheus/*.yml

for f in deploy/grafana/*.json; do
  python3 -m json.tool "$f" >/dev/null
  echo "$f: valid JSON"
done
