#!/bin/sh
# The project's test command (`npm test`): starts the real engines the integration tests need
# (Kafka, Elasticsearch; idempotent, see infra/up.sh), then runs every test with node:test.
# REGWATCH_SKIP_INFRA=1 runs without starting engines (integration tests then fail fast).
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
if [ "${REGWATCH_SKIP_INFRA:-0}" != 1 ] && [ -f infra/up.sh ]; then
  # up.sh prints the endpoints as NAME=value lines (KAFKA_BROKERS=…, ELASTICSEARCH_URL=…);
  # export them so every test talks to the engines that were actually started.
  endpoints=$(bash infra/up.sh)
  for kv in $endpoints; do
    export "$kv"
    echo "infra: $kv" >&2
  done
fi
exec sh scripts/node.sh --test --test-reporter=spec --test-timeout=600000 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' "$@"
