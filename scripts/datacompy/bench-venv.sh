#!/usr/bin/env bash
# The Python side of bench:recon (both modes): pandas, polars and datacompy (PyPI, pinned) in a virtualenv cached
# outside the clone, created once; later runs reuse it. Prints the virtualenv's python on stdout (progress on stderr).
#   bash scripts/datacompy/bench-venv.sh   -> ~/.cache/finflow/bench-venv/
# FINFLOW_CACHE_DIR moves the cache. Changing a pin below makes a new marker, so the next run reinstalls.
set -euo pipefail
# The database drivers serve --mode db, where datacompy reads the same PostgreSQL and MariaDB tables as finflow.
PINS=("datacompy==1.1.0" "pandas==2.3.3" "polars==1.35.2" "SQLAlchemy==2.0.59" "psycopg2-binary==2.9.13" "PyMySQL==1.1.2" "connectorx==0.4.6")
CACHE="${FINFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/finflow}"
VENV="$CACHE/bench-venv"
PY="$VENV/bin/python"
MARK="$VENV/.finflow-$(printf '%s_' "${PINS[@]}" | tr -c 'A-Za-z0-9._=\n' '_')"
# The marker is written last: a half-finished install (interrupted, offline) is redone, never trusted.
if [ -x "$PY" ] && [ -f "$MARK" ]; then
  echo "$PY"
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 (3.9+) is needed for the datacompy comparison" >&2; exit 1; }
mkdir -p "$CACHE"
rm -rf "$VENV"
echo "installing ${PINS[*]} into $VENV" >&2
python3 -m venv "$VENV" >&2
"$PY" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2
"$PY" -c "import datacompy, pandas, polars, sqlalchemy, psycopg2, pymysql, connectorx; datacompy.PolarsCompare" >&2
touch "$MARK"
echo "$PY"
