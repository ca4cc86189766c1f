#!/usr/bin/env bash
# test_command_check.sh SOURCE_DIR: checks that the test command (scripts/test.sh) fails instead
# of shrinking. With node hidden from PATH its dependency check must fail and name node; with
# SSE_TEST_WITHOUT=node it must pass and its summary line must name the tests it skips; an
# unknown name in SSE_TEST_WITHOUT must fail. Only the check phase runs (--check-deps: no install,
# no build), so this takes a second.
set -euo pipefail
if [[ $# -ne 1 ]]; then
    echo "usage: $0 SOURCE_DIR" >&2
    exit 2
fi
src=$1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failures=0
fail() {
    echo "test_command_check: FAILED: $*" >&2
    failures=$((failures + 1))
}

# A PATH with what test.sh's check phase runs and the other dependencies, but not node and npm.
hidden="$tmp/bin"
mkdir "$hidden"
for tool in bash env sed grep cat tail dirname cmake c++ pkg-config redis-server curl clang++ x86_64-w64-mingw32-g++-posix; do
    if path="$(command -v "$tool")"; then
        ln -s "$path" "$hidden/$tool"
    fi
done
if PATH="$hidden" command -v node >/dev/null 2>&1; then
    fail "node is still on the hidden PATH"
fi

# 1. node hidden, no opt-out: fails, naming node.
rc=0
env -u SSE_TEST_WITHOUT PATH="$hidden" SSE_SKIP_DEPS=1 bash "$src/scripts/test.sh" --check-deps \
    >"$tmp/1.out" 2>"$tmp/1.err" || rc=$?
if [[ $rc -eq 0 ]]; then
    fail "without node and without an opt-out, test.sh --check-deps passed"
elif ! grep -q '^test.sh: FAILED: missing dependencies: .*\bnode\b' "$tmp/1.err"; then
    fail "test.sh failed without naming node"
else
    echo "test_command_check: ok: without node it fails: $(grep '^test.sh: FAILED' "$tmp/1.err")"
fi

# 2. node hidden, SSE_TEST_WITHOUT names it (besides what the developer opted out of already):
#    passes, and the summary names the skipped tests.
rc=0
PATH="$hidden" SSE_SKIP_DEPS=1 SSE_TEST_WITHOUT="${SSE_TEST_WITHOUT:-} node" bash "$src/scripts/test.sh" --check-deps \
    >"$tmp/2.out" 2>"$tmp/2.err" || rc=$?
summary="$(tail -n 1 "$tmp/2.out")"
if [[ $rc -ne 0 ]]; then
    fail "with SSE_TEST_WITHOUT=node, test.sh --check-deps failed (exit $rc)"
    cat "$tmp/2.err" >&2
else
    for t in interop_node peers_npm_ci examples_smoke '[node] cases of sse_tests'; do
        if [[ $summary != *SKIPPED*"$t"* ]]; then
            fail "the summary line does not name '$t' as skipped: $summary"
        fi
    done
    echo "test_command_check: ok: with the opt-out it passes: $summary"
fi

# 3. A name that is no dependency (a typo) fails.
rc=0
SSE_SKIP_DEPS=1 SSE_TEST_WITHOUT="nodejs" bash "$src/scripts/test.sh" --check-deps >"$tmp/3.out" 2>"$tmp/3.err" || rc=$?
if [[ $rc -eq 0 ]] || ! grep -q "SSE_TEST_WITHOUT names 'nodejs'" "$tmp/3.err"; then
    fail "an unknown name in SSE_TEST_WITHOUT was not refused"
else
    echo "test_command_check: ok: an unknown name is refused"
fi

if [[ $failures -gt 0 ]]; then
    exit 1
fi
echo "test_command_check: PASSED"
