#!/usr/bin/env bash
# run_node_tests.sh DEMO_SERVER: the Node interop tests (node --test), with the pinned npm
# packages installed first from package-lock.json (the npm registry is reachable in CI).
set -euo pipefail
cd "$(dirname "$0")"
if [[ ! -d node_modules/eventsource ]]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
SSE_DEMO_SERVER="$1" node --test ./*.test.mjs
