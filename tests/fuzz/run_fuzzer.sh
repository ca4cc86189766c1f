#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEEDS_DIR SECONDS MAX_LEN: runs a libFuzzer target for SECONDS from a
# scratch copy of SEEDS_DIR (the committed seeds stay as they are) and fails on any finding.
# It prints libFuzzer's final lines: "#N DONE cov: C ft: F ..." (executions, edges, features)
# and the final stats (executed units, peak RSS). With SSE_FUZZ_ARTIFACTS=DIR set, a crashing
# input is also copied to DIR (to minimize it with -minimize_crash=1 and add it to the seeds).
#
# The test suite (scripts/test.sh) runs each target for 30 s. The long runs (10 minutes each,
# one at a time, at low priority), from a build made as scripts/test.sh makes it:
#
#   CC=clang CXX=clang++ cmake -S . -B build/fuzz -GNinja -DCMAKE_BUILD_TYPE=Debug \
#       -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF -DSSE_BUILD_BENCH=OFF -DSSE_INSTALL=OFF \
#       -DSSE_BUILD_FUZZERS=ON
#   cmake --build build/fuzz -j2
#   for t in parser:4096 message:2048 server:4096 client:4096; do
#       SSE_FUZZ_ARTIFACTS=build/fuzz/findings nice -n 19 bash tests/fuzz/run_fuzzer.sh \
#           build/fuzz/tests/fuzz/fuzz_${t%%:*} tests/fuzz/corpus/${t%%:*} 600 ${t##*:}
#   done
#
# (max_len as in tests/fuzz/CMakeLists.txt.) The last long runs' results are in tests/fuzz/README.md.
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3 max_len=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
"$fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" 2>"$work/log" || status=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE)' "$work/log" || true
echo "corpus: $(find "$work/corpus" -type f | wc -l) inputs"
if [[ $status -ne 0 ]] || ls "$work/artifacts"/* >/dev/null 2>&1; then
    tail -n 60 "$work/log"
    for a in "$work/artifacts"/*; do
        [[ -e $a ]] || continue
        echo "finding: $(basename "$a")"
        od -c "$a" | head -20
        if [[ -n ${SSE_FUZZ_ARTIFACTS:-} ]]; then
            mkdir -p "$SSE_FUZZ_ARTIFACTS"
            cp "$a" "$SSE_FUZZ_ARTIFACTS/"
            echo "copied to $SSE_FUZZ_ARTIFACTS/$(basename "$a")"
        fi
    done
    echo "$(basename "$fuzzer"): FAILED"
    exit 1
fi
echo "$(basename "$fuzzer"): no findings in ${seconds}s"
