#!/usr/bin/env bash
# The snippet checker's own tests (ctest docs_snippets_selftest): it must reject every bad marker
# and stale excerpt in fixtures/bad.md, compile fixtures/good.md, and let fixtures/broken.md fail
# to compile with messages that point at the Markdown lines.
#
#   tests/snippets/selftest.sh CMAKE SOURCE_DIR BUILD_DIR
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 CMAKE SOURCE_DIR BUILD_DIR" >&2
    exit 2
fi
cmake=$1
src=$2
build=$3
fixtures=tests/snippets/fixtures
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

failures=0
fail() {
    echo "snippets selftest: FAILED: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "snippets selftest: ok: $*"; }

# Must fail, and print each expected "file:line: text" (a fixed string).
expect_messages() {
    local what=$1
    shift
    for m in "$@"; do
        if grep -qF -- "$m" "$out"; then
            pass "$what: $m"
        else
            fail "$what: no \"$m\" in:"
            cat "$out" >&2
        fi
    done
}

# 1. Markers and excerpts the checker must reject, each reported at its line.
rc=0
timeout 60 "$cmake" -DSNIPPETS_ROOT="$src" -DSNIPPETS_INPUTS="$fixtures/bad.md" \
    -DSNIPPETS_PRELUDE="$fixtures/prelude.hpp" -DSNIPPETS_EXCERPT_DIRS="$fixtures" \
    -P "$src/tests/snippets/extract.cmake" >"$out" 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then
    fail "extract.cmake accepted fixtures/bad.md"
    cat "$out" >&2
fi
expect_messages "bad.md" \
    "$fixtures/bad.md:5: this block is no longer a verbatim excerpt of $fixtures/source.cpp" \
    "$fixtures/bad.md:9: unknown snippet marker \`sometimes\`" \
    "$fixtures/bad.md:14: \`given nobody\`: no \`// @given nobody: ...\`" \
    "$fixtures/bad.md:19: a snippet marker must be right above a \`\`\`cpp fence" \
    "$fixtures/bad.md:25: write \`\`\`cpp (not \`\`\`c++)" \
    "$fixtures/bad.md:30: an indented C++ fence is not checked" \
    "$fixtures/bad.md:34: unknown snippet marker \`not compiled:\`" \
    "$fixtures/bad.md:41: an excerpt must come from a compiled file under $fixtures, not \`README.md\`" \
    "$fixtures/bad.md:46: excerpt of \`$fixtures/missing.cpp\`, which does not exist"

# 2. Every accepted form compiles.
rc=0
timeout 240 "$cmake" --build "$build" --target sse_snippets_fixture_good >"$out" 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then
    pass "fixtures/good.md compiles"
else
    fail "fixtures/good.md does not compile (exit $rc)"
    cat "$out" >&2
fi

# 3. Blocks that don't compile fail the build, with the compiler pointing at the Markdown.
rc=0
timeout 240 "$cmake" --build "$build" --target sse_snippets_fixture_broken >"$out" 2>&1 || rc=$?
if [[ $rc -eq 0 ]]; then
    fail "fixtures/broken.md compiled"
fi
expect_messages "broken.md" \
    "$fixtures/broken.md:4:" \
    "$fixtures/broken.md:9:"
if grep -q "broken.md:4:.*undeclared_name" "$out" && grep -q "broken.md:9:.*\(greet\|name\)" "$out"; then
    pass "broken.md: the errors name what is undeclared"
else
    fail "broken.md: the errors do not name what is undeclared:"
    cat "$out" >&2
fi

if [[ $failures -ne 0 ]]; then
    echo "snippets selftest: $failures check(s) FAILED" >&2
    exit 1
fi
echo "snippets selftest: PASSED"
