#!/usr/bin/env bash
# Makes MariaDB's server binaries available (Debian's mariadb-server), for the second source engine of the
# reconciliation tests, the demo and the benchmark. Idempotent: does nothing when mariadbd and
# mariadb-install-db are already there. The project never uses the system service: scripts/lib/mariadb.ts
# starts a private instance (own datadir under /tmp, own port, socket and pid file), so whatever the distro
# does with its own service on install does not matter to us.
#
# Prints the path of mariadbd on stdout; progress goes to stderr.
set -euo pipefail
log() { printf '[mariadb] %s\n' "$*" >&2; }

find_bin() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return 0; fi
  done
  return 1
}

installed() { find_bin mariadbd mysqld >/dev/null && find_bin mariadb-install-db mysql_install_db >/dev/null; }

if ! installed; then
  if [ "$(id -u)" -ne 0 ]; then
    log "mariadb-server is not installed and this is not root: install it (apt-get install mariadb-server) or set MARIADB_URL"
    exit 1
  fi
  command -v apt-get >/dev/null || { log "no apt-get: install MariaDB server by hand or set MARIADB_URL"; exit 1; }
  start=$(date +%s)
  log "installing Debian's mariadb-server (once)"
  # Several sessions may provision at once: one apt at a time, and the second finds it installed.
  exec 9>/tmp/finflow-mariadb-install.lock
  flock 9
  if ! installed; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends mariadb-server >&2
  fi
  flock -u 9
  log "installed in $(( $(date +%s) - start )) s"
fi

installed || { log "mariadb-server installed but mariadbd/mariadb-install-db not found"; exit 1; }
find_bin mariadbd mysqld
