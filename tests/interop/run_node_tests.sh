#!/usr/bin/env bash
# run_node_tests.sh DEMO_SERVER: the Node interop tests (node --test ./*.test.mjs: headless
# Chromium, the npm eventsource client, curl), with the pinned npm packages installed first from
# package-lock.json (the npm registry is reachable in CI). SSE_CHROMIUM and SSE_CURL override
# where Chromium (default /usr/bin/chromium) and curl (default: on PATH) are.
set -euo pipefail
if [[ $# -ne 1 ]]; then
    echo "usage: $0 DEMO_SERVER" >&2
    exit 2
fi
server=$(realpath "$1")
cd "$(dirname "$0")"

chromium=${SSE_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
    echo "run_node_tests.sh: FAIL: no Chromium at $chromium; install Debian's chromium" \
         "(scripts/test.sh does, through scripts/deps.sh)" >&2
    exit 1
fi
if ! command -v "${SSE_CURL:-curl}" >/dev/null 2>&1; then
    echo "run_node_tests.sh: FAIL: no curl; install Debian's curl (scripts/test.sh does)" >&2
    exit 1
fi

npm ci --no-audit --no-fund --loglevel=error # exactly the locked versions, every run
SSE_DEMO_SERVER="$server" node --test ./*.test.mjs
