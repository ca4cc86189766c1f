#!/usr/bin/env bash
# run_node_tests.sh DEMO_SERVER: the Node interop tests (node --test), with the pinned npm
# packages installed first from package-lock.json (the npm registry is reachable in CI).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error # exactly the locked versions, every run
SSE_DEMO_SERVER="$1" node --test ./*.test.mjs
