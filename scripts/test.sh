#!/usr/bin/env bash
# The README's test command: provisions the real servers (cached), then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision.sh
exec npx jest --coverage "$@"
