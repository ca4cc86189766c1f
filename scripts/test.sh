#!/usr/bin/env bash
# Builds everything (tests, examples, benchmarks) with AddressSanitizer + UndefinedBehaviorSanitizer
# and -Werror in build/asan and runs the whole test suite; then the tests labelled "concurrency"
# under ThreadSanitizer in build/tsan (when there are any); then the libFuzzer targets, built with
# clang in build/fuzz, for SSE_FUZZ_SECONDS each (default 30); then tests/consumers/run.sh (when it
# exists). Installs what is missing first (scripts/deps.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# clang for the fuzzers; curl, node, npm, Chromium and python3-prometheus-client (the /metrics test's
# parser) for the interop tests; redis-server for the
# Redis tests (each starts its own on a free loopback port). Node and npm are asked
# for only when absent: a machine with NodeSource's nodejs (which bundles npm) must not get Debian's npm.
extra=(clang libclang-rt-14-dev curl chromium redis-server python3-prometheus-client)
command -v node >/dev/null 2>&1 || extra+=(nodejs)
command -v npm >/dev/null 2>&1 || extra+=(npm)
scripts/deps.sh "${extra[@]}"

jobs="$(nproc 2>/dev/null || echo 2)"
generator_for() {  # a fresh build directory gets Ninja when it is there
    if [[ ! -f "$1/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
        echo "-GNinja"
    fi
}

# ---------------------------------------------------------------- ASan + UBSan: everything
asan=build/asan
# shellcheck disable=SC2046
cmake -S . -B "$asan" $(generator_for "$asan") \
    -DCMAKE_BUILD_TYPE=Debug \
    -DSSE_SANITIZE=address,undefined \
    -DSSE_BUILD_TESTS=ON -DSSE_BUILD_EXAMPLES=ON -DSSE_BUILD_BENCH=ON \
    -DSSE_WERROR=ON
cmake --build "$asan" -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$asan" --output-on-failure --no-tests=error -V
asan_tests="$(ctest --test-dir "$asan" -N | sed -n 's/^Total Tests: *//p')"

# ---------------------------------------------------------------- TSan: label "concurrency"
concurrency_tests="$(ctest --test-dir "$asan" -N -L concurrency | sed -n 's/^Total Tests: *//p')"
if [[ "${concurrency_tests:-0}" -gt 0 ]]; then
    tsan=build/tsan
    # shellcheck disable=SC2046
    cmake -S . -B "$tsan" $(generator_for "$tsan") \
        -DCMAKE_BUILD_TYPE=Debug \
        -DSSE_SANITIZE=thread \
        -DSSE_BUILD_TESTS=ON -DSSE_BUILD_EXAMPLES=OFF -DSSE_BUILD_BENCH=OFF \
        -DSSE_WERROR=ON
    cmake --build "$tsan" --target sse_concurrency -j"$jobs"
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        ctest --test-dir "$tsan" -L concurrency --output-on-failure -V
    tsan_note="$concurrency_tests concurrency test(s) under TSan"
else
    tsan_note="no concurrency tests for TSan yet"
fi

# ---------------------------------------------------------------- libFuzzer: label "fuzz"
if ! command -v clang++ >/dev/null 2>&1; then
    echo "test.sh: FAILED: clang++ is needed for the fuzzers (Debian: clang, libclang-rt-14-dev)" >&2
    exit 1
fi
fuzz=build/fuzz
fuzz_seconds="${SSE_FUZZ_SECONDS:-30}"
# shellcheck disable=SC2046
CC=clang CXX=clang++ cmake -S . -B "$fuzz" $(generator_for "$fuzz") \
    -DCMAKE_BUILD_TYPE=Debug \
    -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF -DSSE_BUILD_BENCH=OFF -DSSE_INSTALL=OFF \
    -DSSE_BUILD_FUZZERS=ON -DSSE_FUZZ_SECONDS="$fuzz_seconds"
cmake --build "$fuzz" -j"$jobs"
ctest --test-dir "$fuzz" -L fuzz --output-on-failure -V
fuzz_note="$(ctest --test-dir "$fuzz" -N -L fuzz | sed -n 's/^Total Tests: *//p') fuzzer(s) for ${fuzz_seconds}s each"

# ---------------------------------------------------------------- packaging consumers
consumers_note="no consumer checks yet"
if [[ -f tests/consumers/run.sh ]]; then
    bash tests/consumers/run.sh
    consumers_note="consumer checks passed"
fi

echo "test.sh: PASSED: ${asan_tests:-0} test(s) under ASan+UBSan, $tsan_note, $fuzz_note, $consumers_note"
