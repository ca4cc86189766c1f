#!/usr/bin/env bash
# Regenerates docs/demo.png, the screenshot of the demo page README shows: builds demo_server
# (build/release, as scripts/demo.sh does) and runs the page's Chromium test
# (tests/interop/demo_page.test.mjs), which drives the page through a load run, a cut and resume
# and a streamed answer, checks it, and saves the screenshot at the end.
# Needs Debian's chromium, node and npm (scripts/deps.sh chromium nodejs npm installs them).
#
#   scripts/demo_screenshot.sh [OUTPUT.png]     (default docs/demo.png)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-docs/demo.png}")

scripts/deps.sh chromium
build=build/release
generator=()
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi
cmake -S . -B "$build" "${generator[@]}" --log-level=WARNING \
    -DCMAKE_BUILD_TYPE=Release \
    -DSSE_BUILD_EXAMPLES=ON -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_BENCH=OFF
cmake --build "$build" --target demo_server -j "$(nproc 2>/dev/null || echo 2)"
server=$(realpath "$build/examples/demo_server")

cd tests/interop
npm ci --no-audit --no-fund --loglevel=error
SSE_DEMO_SERVER="$server" SSE_DEMO_SCREENSHOT="$out" node --test demo_page.test.mjs
echo "demo_screenshot.sh: wrote $out ($(stat -c %s "$out") bytes)"
