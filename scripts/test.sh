#!/bin/sh
# The project's test command (`npm test`): starts the real engines the integration tests need
# (Kafka, Elasticsearch; idempotent, see infra/up.sh), then runs every test with node:test.
# REGWATCH_SKIP_INFRA=1 runs without starting engines (integration tests then fail fast).
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
if [ "${REGWATCH_SKIP_INFRA:-0}" != 1 ] && [ -f infra/up.sh ]; then
  bash infra/up.sh
fi
exec sh scripts/node.sh --test --test-reporter=spec --test-timeout=600000 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' "$@"
