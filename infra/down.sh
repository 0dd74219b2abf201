#!/usr/bin/env bash
# Stops the engines infra/up.sh started (`npm run infra:down`), by their pid files.
#
#   bash infra/down.sh             Kafka, Elasticsearch and the secure Elasticsearch
#   bash infra/down.sh kafka       only Kafka (fault tests; `bash infra/up.sh kafka` restarts it)
#   bash infra/down.sh es          only the default Elasticsearch
#   bash infra/down.sh es-secure   only the secure Elasticsearch
#
# Sends SIGTERM, waits for the process to exit (SIGKILL after 60 s) and removes the pid file.
# Idempotent: an engine that is not running (or was not started by up.sh) is left alone.
# Data stays in the state folder, so the next up.sh starts from it.
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(kafka es es-secure)
for t in "${targets[@]}"; do
  case $t in
    kafka) with_lock kafka stop_pidfile kafka "$STATE_DIR/kafka/kafka.pid" 60 ;;
    es | elasticsearch) with_lock es stop_pidfile es "$STATE_DIR/es/es.pid" 60 ;;
    es-secure) with_lock es-secure stop_pidfile es-secure "$STATE_DIR/es-secure/es.pid" 60 ;;
    *) die "unknown engine '$t' (expected: kafka, es, es-secure)" ;;
  esac
done
