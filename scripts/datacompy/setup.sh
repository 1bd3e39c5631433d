#!/usr/bin/env bash
# Installs datacompy (PyPI) into its own virtualenv for bench:recon's comparison run, once; later runs reuse it.
# Prints the virtualenv's python on stdout (progress goes to stderr).
#   bash scripts/datacompy/setup.sh      -> ~/.cache/finflow/datacompy-venv/ (keyed by version inside)
# DATACOMPY_VERSION pins another version; FINFLOW_CACHE_DIR moves the cache.
set -euo pipefail
VERSION="${DATACOMPY_VERSION:-1.1.0}"
CACHE="${FINFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/finflow}"
VENV="$CACHE/datacompy-venv"
PY="$VENV/bin/python"
# The marker is written last: a half-finished install (interrupted, offline) is redone, never trusted.
MARK="$VENV/.finflow-datacompy-$VERSION"
if [ -x "$PY" ] && [ -f "$MARK" ]; then
  echo "$PY"
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 (3.9+) is needed for the datacompy comparison" >&2; exit 1; }
mkdir -p "$CACHE"
rm -rf "$VENV"
echo "installing datacompy $VERSION into $VENV" >&2
python3 -m venv "$VENV" >&2
"$PY" -m pip install --quiet --disable-pip-version-check "datacompy==$VERSION" >&2
"$PY" -c "import datacompy, pandas" >&2
touch "$MARK"
echo "$PY"
