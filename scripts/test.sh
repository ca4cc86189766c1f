#!/usr/bin/env bash
# Builds everything (tests, examples, benchmarks) with AddressSanitizer + UndefinedBehaviorSanitizer
# and -Werror in build/asan and runs the whole test suite; then the tests labelled "concurrency"
# under ThreadSanitizer in build/tsan (when there are any); then the libFuzzer targets, built with
# clang in build/fuzz, for SSE_FUZZ_SECONDS each (default 30); then the portability compile checks
# (tests/portability_check.sh: libc++, MinGW-w64); then tests/consumers/run.sh (when it
# exists). Installs what is missing first (scripts/deps.sh), and fails if a dependency of the full
# suite is still missing, unless SSE_TEST_WITHOUT names it (see below). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# ---------------------------------------------------------------- dependencies
# The full suite needs every dependency below; a missing one fails the run, naming it, before
# anything is built. A developer may opt out of a dependency's tests explicitly:
#   SSE_TEST_WITHOUT="node redis-server" scripts/test.sh   (names from the table, spaces or commas)
# then those tests are skipped (ctest reports them as skipped; the Catch2 cases skip with a
# warning) and the final line names them. `scripts/test.sh --check-deps` runs only this check
# (no install, no build), e.g. to try an opt-out.
#
# dependency | how it is checked | Debian packages | the tests that need it
dep_table=(
    "openssl|pkg-config --exists openssl|libssl-dev|needs_openssl: tests/test_client.cpp, interop_curl_head, interop_node, examples_smoke, the TLS cases of tests/test_faults.cpp"
    "hiredis|pkg-config --exists hiredis|libhiredis-dev|needs_hiredis: tests/test_redis.cpp, the Redis concurrency case"
    "redis-server|command -v redis-server|redis-server|the [redis] cases of sse_tests and sse_concurrency_tests"
    "node|command -v node && command -v npm|nodejs npm|interop_node, peers_npm_ci, examples_smoke, the [node] cases of sse_tests"
    "curl|command -v curl|curl|interop_curl_head, examples_run, curl.test.mjs of interop_node"
    "chromium|test -x \"${SSE_CHROMIUM:-/usr/bin/chromium}\"|chromium|browser.test.mjs of interop_node"
    "tinyproxy|test -x /usr/bin/tinyproxy -o -x /usr/sbin/tinyproxy|tinyproxy|the [proxy] cases of sse_tests (tests/test_client_proxy.cpp)"
    "prometheus-client|/usr/bin/python3 -c 'import prometheus_client'|python3-prometheus-client|interop_metrics"
    "clang|command -v clang++|clang libclang-rt-14-dev|the fuzzers (fuzz_parser, fuzz_message, fuzz_server, fuzz_client)"
    "libc++|echo '#include <vector>' | clang++ -std=c++20 -stdlib=libc++ -fsyntax-only -x c++ -|libc++-14-dev libc++abi-14-dev|tests/portability_check.sh libc++ (every header and the portable examples with clang and libc++)"
    "mingw|command -v x86_64-w64-mingw32-g++-posix|g++-mingw-w64-x86-64-posix|tests/portability_check.sh mingw (the same, compiled for Windows)"
)
opted_out() { [[ " ${SSE_TEST_WITHOUT:-} " == *" $1 "* ]]; }
SSE_TEST_WITHOUT="${SSE_TEST_WITHOUT:-}"
SSE_TEST_WITHOUT="${SSE_TEST_WITHOUT//,/ }"
export SSE_TEST_WITHOUT
for d in $SSE_TEST_WITHOUT; do
    known=0
    for row in "${dep_table[@]}"; do [[ ${row%%|*} == "$d" ]] && known=1; done
    if [[ $known -eq 0 ]]; then
        echo "test.sh: FAILED: SSE_TEST_WITHOUT names '$d', which is none of: $(for row in "${dep_table[@]}"; do printf '%s ' "${row%%|*}"; done)" >&2
        exit 1
    fi
done

check_only=0
if [[ "${1:-}" == --check-deps ]]; then
    check_only=1
fi

# clang for the fuzzers; libc++ and MinGW-w64 for the portability compile checks; curl, node, npm
# and Chromium for the interop tests; redis-server for the
# Redis tests (each starts its own on a free loopback port); tinyproxy for the client's proxy tests;
# python3-prometheus-client (the /metrics test's parser).
# Node and npm are asked for only when absent: a machine with NodeSource's nodejs (which bundles
# npm) must not get Debian's npm.
extra=(clang libclang-rt-14-dev curl chromium redis-server tinyproxy python3-prometheus-client
       libc++-14-dev libc++abi-14-dev g++-mingw-w64-x86-64-posix)
command -v node >/dev/null 2>&1 || extra+=(nodejs)
command -v npm >/dev/null 2>&1 || extra+=(npm)
# Nothing is installed for a dependency the developer opted out of; what deps.sh could not
# install, the check below names.
wanted=()
for p in "${extra[@]}"; do
    skip=0
    for row in "${dep_table[@]}"; do
        IFS='|' read -r d _ pkgs _ <<<"$row"
        if opted_out "$d" && [[ " $pkgs " == *" $p "* ]]; then skip=1; fi
    done
    [[ $skip -eq 1 ]] || wanted+=("$p")
done
if [[ $check_only -eq 0 ]]; then
    scripts/deps.sh "${wanted[@]}" || echo "test.sh: scripts/deps.sh did not install everything; checking what is there" >&2
fi

for tool in cmake c++ pkg-config; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "test.sh: FAILED: $tool is needed to build sse (Debian: build-essential cmake pkg-config; scripts/deps.sh)" >&2
        exit 1
    fi
done
missing=() missing_pkgs=() skipped=() skipped_deps=()
for row in "${dep_table[@]}"; do
    IFS='|' read -r d check pkgs tests <<<"$row"
    if bash -c "$check" >/dev/null 2>&1; then
        continue
    fi
    if opted_out "$d"; then
        skipped+=("$d: $tests")
        skipped_deps+=("$d")
    else
        missing+=("$d")
        missing_pkgs+=("$pkgs")
        echo "test.sh: missing: $d (Debian: $pkgs), needed by $tests" >&2
    fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "test.sh: FAILED: missing dependencies: ${missing[*]}. Install them (Debian: apt-get install" \
         "${missing_pkgs[*]}; scripts/deps.sh does, as root), or opt out of their tests:" \
         "SSE_TEST_WITHOUT=\"${missing[*]}\" scripts/test.sh" >&2
    exit 1
fi
skipped_note=""
if [[ ${#skipped[@]} -gt 0 ]]; then
    skipped_note="; SKIPPED (SSE_TEST_WITHOUT=\"${skipped_deps[*]}\"): $(IFS=';'; echo "${skipped[*]}" | sed 's/;/; /g')"
fi
if [[ $check_only -eq 1 ]]; then
    echo "test.sh: dependency check PASSED${skipped_note}"
    exit 0
fi

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
if opted_out clang && ! command -v clang++ >/dev/null 2>&1; then
    fuzz_note="no fuzzers (SSE_TEST_WITHOUT=clang)"
else # (not indented below: a small diff)
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
fi

# ---------------------------------------------------------------- portability: libc++, Windows
# Compile-only: every public header and the portable examples (tests/portability_check.sh).
portability_targets=()
opted_out libc++ || portability_targets+=(libc++)
opted_out mingw || portability_targets+=(mingw)
if [[ ${#portability_targets[@]} -gt 0 ]]; then
    bash tests/portability_check.sh . "${portability_targets[@]}"
    portability_note="portability checks (${portability_targets[*]}) passed"
else
    portability_note="no portability checks (SSE_TEST_WITHOUT=\"libc++ mingw\")"
fi

# ---------------------------------------------------------------- packaging consumers
consumers_note="no consumer checks yet"
if [[ -f tests/consumers/run.sh ]]; then
    bash tests/consumers/run.sh
    consumers_note="consumer checks passed"
fi

echo "test.sh: PASSED: ${asan_tests:-0} test(s) under ASan+UBSan, $tsan_note, $fuzz_note, $portability_note, $consumers_note${skipped_note}"
