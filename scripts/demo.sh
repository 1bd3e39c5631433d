#!/usr/bin/env bash
# The README's first quick-start line: installs what is missing, then runs a full demo close.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@temporalio/worker ] || npm ci --no-audit --no-fund
bash scripts/provision.sh
exec node -r @swc-node/register scripts/demo.ts "$@"
