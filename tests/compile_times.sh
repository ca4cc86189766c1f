#!/usr/bin/env bash
# Prints how long a translation unit that only includes one public header takes to compile
# (c++ -std=c++20 -O0 -c), for <sse/sse.hpp> first and then every include/sse/*.hpp, the best of
# N runs each (default 3), so the cost of each header is visible and a change to it can be
# compared. The compiler's CPU time (user + system) is what is printed: on a shared machine the
# wall-clock time mostly measures the other processes. A timing, never a test: it fails only when
# a header does not compile.
#
#   tests/compile_times.sh [SOURCE_DIR] [RUNS]         CXX=clang++ to use another compiler
#
# Pin it and keep the machine quiet (taskset -c 1 tests/compile_times.sh), or the numbers are noise.
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
runs=${2:-3}
cxx=${CXX:-c++}

llhttp_dir=""
for d in /usr/include /usr/local/include /usr/share/include/llhttp; do
    [[ -f $d/llhttp.h ]] && llhttp_dir=$d && break
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

best_ms() { # header -> the least CPU time (user + system, ms) of $runs compiles
    local h=$1 best="" user sys ms i TIMEFORMAT='%3U %3S'
    printf '#include <sse/%s>\n' "$h" > "$work/tu.cpp"
    for ((i = 0; i < runs; i++)); do
        { time "$cxx" -std=c++20 -O0 -c -I"$src/include" ${llhttp_dir:+-I"$llhttp_dir"} "$work/tu.cpp" -o "$work/tu.o"; } 2> "$work/time"
        read -r user sys < "$work/time"
        ms=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')
        [[ -z $best || $ms -lt $best ]] && best=$ms
    done
    echo "$best"
}

printf '%-28s %8s\n' "header ($cxx, best of $runs)" "CPU ms"
printf '%-28s %8s\n' "sse.hpp" "$(best_ms sse.hpp)"
for h in "$src"/include/sse/*.hpp; do
    name=$(basename "$h")
    [[ $name == sse.hpp ]] && continue
    printf '%-28s %8s\n' "$name" "$(best_ms "$name")"
done
