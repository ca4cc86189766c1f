#!/usr/bin/env bash
# Builds everything (tests, examples, benchmarks) with AddressSanitizer + UndefinedBehaviorSanitizer
# and -Werror in build/asan and runs the whole test suite; then the tests labelled "concurrency"
# under ThreadSanitizer in build/tsan (when there are any); then tests/consumers/run.sh (when it
# exists). Installs what is missing first (scripts/deps.sh). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

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

# ---------------------------------------------------------------- packaging consumers
consumers_note="no consumer checks yet"
if [[ -f tests/consumers/run.sh ]]; then
    bash tests/consumers/run.sh
    consumers_note="consumer checks passed"
fi

echo "test.sh: PASSED: ${asan_tests:-0} test(s) under ASan+UBSan, $tsan_note, $consumers_note"
