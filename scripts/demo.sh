#!/usr/bin/env bash
# Builds the demo (examples/demo.cpp) in build/release and runs it; arguments go to the demo.
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
cmake --build "$build" --target demo -j "$(nproc 2>/dev/null || echo 2)"
exec "$build/examples/demo" "$@"
