# Sourced: `venv DIR REQUIREMENTS` makes (or reuses) a Python venv at DIR with
# REQUIREMENTS installed from PyPI, reinstalled when the file changes.
venv() {
  local dir=$1 req=$2
  local stamp="$dir/.requirements.sha256" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$want" > "$stamp"
  fi
}
