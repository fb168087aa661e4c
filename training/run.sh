#!/usr/bin/env bash
# Regenerates everything in models/ from a fixed seed (see training/README.md).
#
#   training/run.sh                    synthetic data (seed 20261124) -> models/
#   training/run.sh --check            regenerate into a temp dir and compare with models/
#                                      (byte-identical model files, figures within 1e-6); exit 1 on mismatch
#   training/run.sh --input X.jsonl    train on a bank's export in the same record format -> models/
#   training/run.sh --out DIR ...      write somewhere else
#   (--seed N and --n N are passed to the pipeline as well)
#
# Creates training/.venv on first use and installs training/requirements.txt (re-installs when it changes).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

check=0
out="$ROOT/models"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --out) out="$2"; shift ;;
    --out=*) out="${1#--out=}" ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [ ! -x "$VENV/bin/python" ]; then
  echo "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing training/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" > "$stamp"
fi

# Determinism: one thread everywhere, fixed hash seed.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 VECLIB_MAXIMUM_THREADS=1 NUMEXPR_NUM_THREADS=1
export TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 PYTHONHASHSEED=0
# One set of kernels on every x86-64 machine: OpenBLAS picks its kernels by
# CPU (SkylakeX on some AVX-512 machines, Haswell on others), and they round
# differently, so the models were byte-identical only on the machine kind
# that made them. Haswell kernels (AVX2) run on every machine we use; numpy
# is kept off its AVX-512 paths for the same reason.
if [ "$(uname -m)" = x86_64 ]; then
  grep -qw avx2 /proc/cpuinfo || { echo "training/run.sh: needs a CPU with AVX2 (pinned OpenBLAS kernels)" >&2; exit 1; }
  export OPENBLAS_CORETYPE=Haswell NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL AVX512_SPR"
fi
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"

start=$(date +%s)
if [ "$check" = 1 ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$VENV/bin/python" -m funnel_training.pipeline --out "$tmp" ${args[@]+"${args[@]}"}
  status=0
  "$VENV/bin/python" -m funnel_training.check "$out" "$tmp" || status=$?
  echo "run.sh --check finished in $(( $(date +%s) - start )) s"
  exit $status
fi
"$VENV/bin/python" -m funnel_training.pipeline --out "$out" ${args[@]+"${args[@]}"}
echo "run.sh finished in $(( $(date +%s) - start )) s; models in $out"
