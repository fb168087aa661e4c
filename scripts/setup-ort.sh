#!/usr/bin/env bash
# Provides the ONNX Runtime shared library that `ort` loads at run time
# (feature `load-dynamic`). Debian has no package and ort's own download CDN is
# unreachable, so the library is taken from the official PyPI wheel, which
# carries it as onnxruntime/capi/libonnxruntime.so.<version>.
#
# Result: .ort/libonnxruntime.so (git-ignored). .cargo/config.toml points
# ORT_DYLIB_PATH there for cargo run/test; set ORT_DYLIB_PATH yourself elsewhere.
set -euo pipefail

ORT_VERSION="${ORT_VERSION:-1.31.1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${ORT_DIR:-$root/.ort}"
lib="$dest/libonnxruntime.so"

if [ -f "$lib" ] && [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$ORT_VERSION" ]; then
  echo "ONNX Runtime $ORT_VERSION already at $lib"
  exit 0
fi

py="$(command -v python3 || true)"
if [ -z "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
  # pip is only used to download the wheel (nothing is installed with it).
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing python3-pip (apt-get) to fetch the onnxruntime wheel"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3 python3-pip >/dev/null
  py="$(command -v python3)"
fi

mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$py" -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
  "onnxruntime==$ORT_VERSION" -d "$tmp"

wheel="$(ls "$tmp"/onnxruntime-"$ORT_VERSION"-*.whl | head -n 1)"
"$py" - "$wheel" "$dest" "$ORT_VERSION" <<'PY'
import sys, zipfile, shutil, os
wheel, dest, version = sys.argv[1:4]
member = f"onnxruntime/capi/libonnxruntime.so.{version}"
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(os.path.join(dest, "libonnxruntime.so.tmp"), "wb") as out:
    shutil.copyfileobj(src, out)
os.replace(os.path.join(dest, "libonnxruntime.so.tmp"), os.path.join(dest, "libonnxruntime.so"))
PY
echo "$ORT_VERSION" > "$dest/VERSION"
echo "ONNX Runtime $ORT_VERSION installed at $lib"
