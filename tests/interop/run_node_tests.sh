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

# A missing Chromium or curl fails, unless SSE_TEST_WITHOUT names it: then its test file is left
# out, and said so.
opted_out() { [[ " ${SSE_TEST_WITHOUT//,/ } " == *" $1 "* ]]; }
tests=(./*.test.mjs)
leave_out() { # leave_out FILE WHY
    echo "run_node_tests.sh: SKIPPED (SSE_TEST_WITHOUT): $1: $2"
    local kept=()
    for t in "${tests[@]}"; do [[ $t == "./$1" ]] || kept+=("$t"); done
    tests=("${kept[@]}")
}
chromium=${SSE_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
    if opted_out chromium; then
        leave_out browser.test.mjs "no Chromium at $chromium"
    else
        echo "run_node_tests.sh: FAIL: no Chromium at $chromium; install Debian's chromium" \
             "(scripts/test.sh does, through scripts/deps.sh), or opt out: SSE_TEST_WITHOUT=chromium" >&2
        exit 1
    fi
fi
if ! command -v "${SSE_CURL:-curl}" >/dev/null 2>&1; then
    if opted_out curl; then
        leave_out curl.test.mjs "no curl"
    else
        echo "run_node_tests.sh: FAIL: no curl; install Debian's curl (scripts/test.sh does)," \
             "or opt out: SSE_TEST_WITHOUT=curl" >&2
        exit 1
    fi
fi

npm ci --no-audit --no-fund --loglevel=error # exactly the locked versions, every run
SSE_DEMO_SERVER="$server" node --test "${tests[@]}"
