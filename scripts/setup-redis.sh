#!/usr/bin/env bash
# Makes sure redis-server, redis-cli and redis-benchmark are on PATH (Debian's
# redis-server / redis-tools packages). Tests start their own private servers
# on free ports; this only installs the binaries.
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing redis-server and redis-tools (apt-get)"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
# Debian starts a system service on install; the tests do not use it.
command -v redis-server >/dev/null
