# shellcheck shell=bash
# Shared settings and functions for infra/up.sh and infra/down.sh (sourced, not run).
#
# Engines (all bound to 127.0.0.1):
#   kafka      Apache Kafka 4.1.1, KRaft single node (broker+controller), jars from Maven Central
#   es         Elasticsearch 9.2.4 (integ-test-zip from Maven Central), security disabled
#   es-secure  a second Elasticsearch with security enabled (basic auth as `elastic`), on demand
#
# Environment (all optional):
#   REGWATCH_CACHE                     download cache, shared by clones   (~/.cache/regwatch)
#   REGWATCH_INFRA_DIR                 state: data, logs, pid files       (<repo>/.infra)
#   REGWATCH_KAFKA_PORT                Kafka PLAINTEXT listener           (9092)
#   REGWATCH_KAFKA_CONTROLLER_PORT     KRaft controller listener          (9093)
#   REGWATCH_ES_PORT                   Elasticsearch HTTP                 (9200)
#   REGWATCH_ES_TRANSPORT_PORT         Elasticsearch transport            (9300)
#   REGWATCH_ES_SECURE_PORT            secure Elasticsearch HTTP          (9201)
#   REGWATCH_ES_SECURE_TRANSPORT_PORT  secure Elasticsearch transport     (9301)
#   REGWATCH_ES_SECURE_PASSWORD        bootstrap password of `elastic`    (changeme-regwatch)
#   REGWATCH_ES_USER                   system user ES runs as under root  (regwatch-es)
#   REGWATCH_ES_JAVA_HOME              JDK >= 21 for Elasticsearch        (temurin-25, else newest >= 21)
#   REGWATCH_KAFKA_JAVA                java binary for Kafka              (java on PATH, JDK 17 is fine)
#   REGWATCH_INFRA_TIMEOUT             readiness timeout in seconds       (120)

set -euo pipefail

INFRA_ROOT=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(CDPATH='' cd -- "$INFRA_ROOT/.." && pwd)

KAFKA_VERSION=4.1.1
ES_VERSION=9.2.4
MVN_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

CACHE_DIR=${REGWATCH_CACHE:-$HOME/.cache/regwatch}
STATE_DIR=${REGWATCH_INFRA_DIR:-$REPO_ROOT/.infra}
KAFKA_PORT=${REGWATCH_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${REGWATCH_KAFKA_CONTROLLER_PORT:-9093}
ES_PORT=${REGWATCH_ES_PORT:-9200}
ES_TRANSPORT_PORT=${REGWATCH_ES_TRANSPORT_PORT:-9300}
ES_SECURE_PORT=${REGWATCH_ES_SECURE_PORT:-9201}
ES_SECURE_TRANSPORT_PORT=${REGWATCH_ES_SECURE_TRANSPORT_PORT:-9301}
ES_SECURE_PASSWORD=${REGWATCH_ES_SECURE_PASSWORD:-changeme-regwatch}
# Heap of the main test node: the suite and bench:ingest create hundreds of indices and bulk
# 40k-event rounds; 512m tripped the parent circuit breaker (HTTP 429 circuit_breaking_exception).
ES_HEAP=${REGWATCH_ES_HEAP:-1g}
ES_USER=${REGWATCH_ES_USER:-regwatch-es}
READY_TIMEOUT=${REGWATCH_INFRA_TIMEOUT:-120}

KAFKA_CACHE=$CACHE_DIR/kafka-$KAFKA_VERSION
KAFKA_LIB=$KAFKA_CACHE/lib
ES_CACHE=$CACHE_DIR/elasticsearch-$ES_VERSION
ES_HOME=$ES_CACHE/elasticsearch-$ES_VERSION

log() { printf 'infra: %s\n' "$*" >&2; }
die() {
  printf 'infra: ERROR: %s\n' "$*" >&2
  exit 1
}
now_ms() { date +%s%3N; }

# pid_alive <pidfile> -> 0 when the file names a live process.
pid_alive() {
  local f=$1 pid
  [ -s "$f" ] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# port_open <port> -> 0 when something accepts TCP connections on 127.0.0.1:<port>.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# with_lock <name> <command...>: runs the command holding an exclusive lock, so two engineers
# running up.sh/down.sh at once do not race on one engine or one download.
with_lock() {
  local name=$1
  shift
  mkdir -p "$STATE_DIR"
  (
    flock -w 600 9 || die "could not take lock $STATE_DIR/.$name.lock within 600 s"
    "$@"
  ) 9>"$STATE_DIR/.$name.lock"
}

# tail_log <file...>: prints the last lines of each log that exists (on failures).
tail_log() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# stop_pidfile <name> <pidfile> <timeout-s>: TERM, wait for exit, KILL after the timeout.
stop_pidfile() {
  local name=$1 f=$2 timeout=$3 pid deadline
  if ! pid_alive "$f"; then
    rm -f "$f"
    log "$name: not running (no live pid file at $f)"
    return 0
  fi
  pid=$(tr -dc '0-9' <"$f")
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(date +%s) + timeout))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "$name: still running after ${timeout}s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  rm -f "$f"
  log "$name: stopped"
}

# mvn_quiet <args...>: Maven in batch mode without colours; output kept for failures.
mvn_quiet() {
  local out
  command -v mvn >/dev/null 2>&1 || die "mvn (Apache Maven) is not installed; apt-get install -y maven"
  out=$(mktemp)
  if ! mvn -B -q -Dstyle.color=never "$@" >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    rm -f "$out"
    die "Maven failed: mvn $*"
  fi
  rm -f "$out"
}
