#!/usr/bin/env bash
# Checks that docs/<header>.md still matches include/sse/<header>.hpp (the ctest test docs_pages):
#
#   1. every public header has its page, and docs/README.md links it;
#   2. every public name of a header — namespace-scope types, aliases, concepts, functions and
#      constants outside `detail`, and the public members of its classes — is named on its page;
#   3. every name in the first column of a page's tables still exists in the headers.
#
#   tests/docs_check.sh SOURCE_DIR
#
# The headers follow the project's layout (namespaces unindented, members indented by four
# spaces, `namespace detail {` ... `} // namespace detail`), which the extraction relies on.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 SOURCE_DIR" >&2
    exit 2
fi
src=$1
failures=0
fail() {
    echo "docs_check: FAILED: $*" >&2
    failures=$((failures + 1))
}

# The public names of a header, one per line.
public_names() {
    awk '
    function emit(n) { if (n != "" && n !~ /^(operator|detail)$/) print n }
    # The identifier before the first "(" (function) or the first "{", "=" or ";" (variable)
    # outside template brackets.
    function declared_name(line,    i, c, depth, cut, name) {
        sub(/\/\/.*/, "", line)
        depth = 0; cut = 0
        for (i = 1; i <= length(line); i++) {
            c = substr(line, i, 1)
            if (c == "<") depth++
            else if (c == ">") depth--
            else if (depth == 0 && (c == "(" || c == "{" || c == "=" || c == ";")) { cut = i; break }
        }
        if (!cut) return ""
        name = substr(line, 1, cut - 1)
        sub(/[ \t]+$/, "", name)
        if (!match(name, /[A-Za-z_~][A-Za-z0-9_]*$/)) return ""
        name = substr(name, RSTART, RLENGTH)
        sub(/^~/, "", name)
        return name
    }
    /^namespace detail \{/ { detail = 1; next }
    /^\} \/\/ namespace detail/ { detail = 0; next }
    detail { next }
    /^#define SSE_[A-Z_]+/ { if ($2 !~ /_HPP$/) emit($2); next }
    # namespace scope (column 0)
    /^(class|struct) [A-Za-z_]+[^;]*$/ {
        name = $2; sub(/[^A-Za-z0-9_].*/, "", name); emit(name)
        cls = name; public = ($1 == "struct"); next
    }
    /^(class|struct) / { next } # forward declarations, specializations of std templates
    /^enum class [A-Za-z_]+/ { name = $3; sub(/[^A-Za-z0-9_].*/, "", name); emit(name); next }
    /^using [A-Za-z_]+ =/ { emit($2); next }
    /^concept [A-Za-z_]+/ { emit($2); next }
    /^};/ { cls = ""; next }
    cls != "" && /^(public|private|protected):/ { public = ($0 ~ /public:/); next }
    /^(template|namespace|static_assert|\}|#|\/\/|$)/ { next }
    /^[A-Za-z]/ { if ($0 !~ /::[A-Za-z_]+\(/) emit(declared_name($0)); next }
    # members of a class (four spaces), while public; a nested class counts by its name only
    nested && /^    };/ { nested = 0; next }
    nested { next }
    cls != "" && public && /^    [A-Za-z~]/ && !/^    (using base|friend|static_assert|template|requires|return|if|for|while)[ (:]/ {
        line = $0
        if (line ~ /^    (class|struct|enum class) /) {
            if (line ~ /\{$/ && line !~ /^    enum/) nested = 1
            sub(/^    (class|struct|enum class) /, "", line); sub(/[^A-Za-z0-9_].*/, "", line); emit(line); next
        }
        if (line ~ /^    using [A-Za-z_]+ =/) { split(line, w, " "); emit(w[2]); next }
        if (line ~ /operator/) next
        name = declared_name(line)
        if (name != cls) emit(name)
    }
    ' "$1" | sort -u
}

# 1. A page per header, linked from the index.
for header in "$src"/include/sse/*.hpp; do
    name="$(basename "$header" .hpp)"
    page="$src/docs/$name.md"
    if [[ ! -f "$page" ]]; then
        fail "include/sse/$name.hpp has no docs/$name.md"
        continue
    fi
    grep -q "($name\.md)" "$src/docs/README.md" || fail "docs/README.md does not link $name.md"

    # 2. Every public name is on the page. The umbrella's page lists headers, not names.
    [[ "$name" == sse ]] && continue
    missing=""
    while IFS= read -r n; do
        grep -qw -- "$n" "$page" || missing+=" $n"
    done < <(public_names "$header")
    [[ -z "$missing" ]] || fail "docs/$name.md does not name:$missing (public in include/sse/$name.hpp)"
done

# 3. Names in the pages' tables still exist.
words="$(cat "$src"/include/sse/*.hpp | tr -c 'A-Za-z0-9_' '\n' | sort -u)"
for page in "$src"/docs/*.md; do
    [[ "$(basename "$page")" == README.md ]] && continue
    stale=""
    while IFS= read -r n; do
        grep -qxF -- "$n" <<<"$words" || stale+=" $n"
    done < <(awk -F'|' '/^\| / && $2 !~ /^ *(name|---)/ { print $2 }' "$page" | grep -o '`[^`]*`' |
        tr -c 'A-Za-z0-9_\n' ' ' | tr ' ' '\n' | grep -E '^[A-Za-z_][A-Za-z0-9_]*$' | sort -u)
    [[ -z "$stale" ]] || fail "$(basename "$page"): names no longer in the headers:$stale"
done

if [[ $failures -ne 0 ]]; then
    echo "docs_check: $failures problem(s)" >&2
    exit 1
fi
echo "docs_check: every public header has its page, naming every public name; no page names what is gone"
