#!/usr/bin/env bash
# Builds the demo server (examples/demo_server.cpp) in build/release and runs it on the default
# provider, Joe, with a history of 100,000 messages and a 1 s reconnection time (so the page's
# "Cut my connection" resumes with nothing missed); arguments go to the server and win over
# these (e.g. --port 9000 --replay valid:60). Open the printed address in a browser.
# Installs what is missing first (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

build=build/release
generator=()
if [[ ! -f "$build/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi
cmake -S . -B "$build" "${generator[@]}" --log-level=WARNING \
    -DCMAKE_BUILD_TYPE=Release \
    -DSSE_BUILD_EXAMPLES=ON -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_BENCH=OFF
cmake --build "$build" --target demo_server -j "$(nproc 2>/dev/null || echo 2)"
exec "$build/examples/demo_server" --replay finite:100000 --retry 1000 "$@"
