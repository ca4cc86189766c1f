#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SEEDS_DIR SECONDS MAX_LEN: runs a libFuzzer target for SECONDS from a
# scratch copy of SEEDS_DIR (the committed seeds stay as they are) and fails on any finding.
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
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$work/log" || true
if [[ $status -ne 0 ]] || ls "$work/artifacts"/* >/dev/null 2>&1; then
    tail -n 60 "$work/log"
    for a in "$work/artifacts"/*; do [[ -e $a ]] && { echo "finding: $(basename "$a")"; od -c "$a" | head -20; }; done
    echo "$(basename "$fuzzer"): FAILED"
    exit 1
fi
echo "$(basename "$fuzzer"): no findings in ${seconds}s"
