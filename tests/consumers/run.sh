#!/usr/bin/env bash
# Packaging checks: sse consumed the four ways a user would, each by a throwaway project, plus the
# version and documentation bookkeeping. Everything is built in one scratch directory (mktemp -d,
# removed on exit); every command is bounded by `timeout`; nothing needs the network (Asio, llhttp
# and pkg-config come from Debian: scripts/deps.sh installs them).
#
#   install       cmake --install of sse (tests, examples, benchmarks off) into a prefix, which is
#                 then moved elsewhere: every consumer below uses the moved copy (relocatable)
#   find_package  tests/consumers/find_package: find_package(sse CONFIG REQUIRED) + sse::sse;
#                 parses, serializes, runs an sse::server and reads a published event back
#   components    tests/consumers/components: find_package(sse COMPONENTS tls redis) builds and runs
#                 against sse::tls and sse::redis; with hiredis hidden, COMPONENTS redis fails naming
#                 it; pkg-config knows sse-tls and sse-redis
#   pkg-config    `pkg-config --cflags --libs sse` compiles and links tests/consumers/pkg_config
#   fetchcontent  tests/consumers/fetchcontent: FetchContent_Declare(sse SOURCE_DIR <checkout>);
#                 builds and runs; none of sse's tests, examples or benchmarks is a target, none is
#                 built, and sse installs nothing into the consumer's install
#   add_subdirectory  the same consumer with add_subdirectory (configured, targets checked)
#   vcpkg         ports/sse: vcpkg.json against the manifest schema's rules; portfile.cmake run with
#                 stand-ins for vcpkg's helpers; its vcpkg_cmake_configure OPTIONS used for the
#                 configure + `--target install` vcpkg would run; the package checked like vcpkg's
#                 post-build checks do; find_package(sse) against it
#   versions      CHANGELOG.md's newest version = include/sse/version.hpp = CMake's project version
#                 = sse.pc = ports/sse/vcpkg.json
#   docs          docs/<header>.md for every public header, indexed by docs/README.md
#
# Prints one PASS line per check (FAIL with the log's tail on failure) and ends with
# "consumers: N passed, M failed"; exits non-zero if anything failed.
# Knobs: SSE_CONSUMERS_JOBS (build jobs, default 2), SSE_CONSUMERS_STEP_TIMEOUT (seconds per
# command, default 300), SSE_CONSUMERS_CCACHE=0 (don't compile the consumers through ccache),
# SSE_CONSUMERS_KEEP=1 (keep the scratch directory and say where it is).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$repo/tests/consumers"
started=$SECONDS

missing=()
for tool in cmake c++ cc pkg-config timeout; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "consumers: FAILED: missing ${missing[*]} (Debian: scripts/deps.sh installs them)" >&2
    exit 1
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/sse-consumers.XXXXXX")"
cleanup() {
    # Commands still running (interrupted): each `timeout` leads its own process group.
    local f pid
    for f in "$scratch"/running/*; do
        [[ -e "$f" ]] || continue
        pid="$(basename "$f")"
        if [[ "$(ps -o comm= -p "$pid" 2>/dev/null)" == timeout ]]; then
            kill -TERM -- "-$pid" 2>/dev/null || true
        fi
    done
    if [[ "${SSE_CONSUMERS_KEEP:-0}" == 1 ]]; then
        echo "consumers: kept $scratch"
    else
        rm -rf "$scratch"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$scratch/logs" "$scratch/running"

jobs="${SSE_CONSUMERS_JOBS:-2}"
step_timeout="${SSE_CONSUMERS_STEP_TIMEOUT:-300}"
generator=()
if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi
# The consumers are not sse's top-level build, which picks ccache up itself.
launcher=()
if [[ "${SSE_CONSUMERS_CCACHE:-1}" == 1 ]] && command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
    export CCACHE_BASEDIR="$scratch" # paths in the scratch directory hash the same every run
fi
# Consumers see only what each check gives them.
unset CMAKE_PREFIX_PATH PKG_CONFIG_PATH CMAKE_TOOLCHAIN_FILE || true
common=(-DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON -DFETCHCONTENT_FULLY_DISCONNECTED=ON)

version="$(sed -n 's/^#define SSE_VERSION_\(MAJOR\|MINOR\|PATCH\) \+\([0-9]\+\).*/\2/p' "$repo/include/sse/version.hpp" |
    paste -sd.)"

# ------------------------------------------------------------------------------------- helpers
# t <command>...: the command, bounded by SSE_CONSUMERS_STEP_TIMEOUT; listed in running/ meanwhile,
# so that an interrupted run can end it (timeout puts it in a process group of its own).
t() {
    local pid rc=0
    timeout --kill-after=10 "$step_timeout" "$@" &
    pid=$!
    : >"$scratch/running/$pid"
    wait "$pid" || rc=$?
    rm -f "$scratch/running/$pid"
    return "$rc"
}
ok() { echo "PASS   $*"; }
die() {
    echo "FAIL   $*"
    return 1
}
want_file() { [[ -f "$1" ]] || die "$2: ${1#"$scratch"/} missing"; }

passed=0
failed=0
# check <title> <function>: runs the function (errexit on) with its output in a log; surfaces the
# PASS/FAIL lines it printed, then one PASS or FAIL line for the whole check.
check() {
    local title="$1" fn="$2" log="$scratch/logs/$2.log" rc lines start=$SECONDS
    set +e
    (set -e; "$fn") >"$log" 2>&1
    rc=$?
    set -e
    lines="$(grep -E '^(PASS|FAIL) ' "$log" || true)"
    if [[ -n "$lines" ]]; then
        echo "$lines"
        passed=$((passed + $(grep -c '^PASS ' <<<"$lines" || true)))
        failed=$((failed + $(grep -c '^FAIL ' <<<"$lines" || true)))
    fi
    if [[ $rc -eq 0 ]]; then
        echo "PASS $title ($((SECONDS - start)) s)"
        passed=$((passed + 1))
    else
        echo "FAIL $title (exit $rc, $((SECONDS - start)) s); the end of its log:"
        grep -vE '^(PASS|FAIL) ' "$log" | tail -n 30 | sed 's/^/    | /'
        failed=$((failed + 1))
    fi
}

# Target names that only sse's own tests, examples, benchmarks and fuzzers define.
own_targets() {
    printf '%s\n' sse_tests sse_concurrency_tests sse_header_check sse_test_main sse_concurrency
    local f
    for f in "$repo"/examples/*.cpp "$repo"/bench/*.cpp "$repo"/tests/fuzz/fuzz_*.cpp; do
        [[ -f "$f" ]] && basename "$f" .cpp
    done
}
# no_own_targets <build dir>: `cmake --build <dir> --target help` lists none of them.
no_own_targets() {
    local help listed=() name
    help="$(t cmake --build "$1" --target help)"
    while read -r name; do
        if grep -qE "(^|[ ./])${name}(: |$)" <<<"$help"; then listed+=("$name"); fi
    done < <(own_targets)
    [[ ${#listed[@]} -eq 0 ]] || die "sse's own targets are in the consumer's build: ${listed[*]}"
    ok "no sse test, example or benchmark target among the consumer's targets"
}

# ------------------------------------------------------------------------------------- checks
prefix="$scratch/prefix"

check_install() {
    local build="$scratch/install-build" stage="$scratch/stage"
    t cmake -S "$repo" -B "$build" "${generator[@]}" \
        -DSSE_BUILD_TESTS=OFF -DSSE_BUILD_EXAMPLES=OFF -DSSE_BUILD_BENCH=OFF \
        -DCMAKE_INSTALL_PREFIX="$stage"
    t cmake --install "$build"
    # Move the prefix: everything below uses the moved copy, so nothing may depend on where
    # it was installed.
    mv "$stage" "$prefix"
    ok "installed into a prefix, then moved it to ${prefix#"$scratch"/}"
    local f missing=() stray=()
    while read -r f; do
        [[ -f "$prefix/include/$f" ]] || missing+=("$f")
    done < <(cd "$repo/include" && find sse -name '*.hpp' -o -name '*.ipp')
    [[ ${#missing[@]} -eq 0 ]] || die "headers not installed: ${missing[*]}"
    ok "every header of include/sse installed ($(cd "$repo/include" && find sse -name '*.[hi]pp' | wc -l))"
    for f in sseConfig.cmake sseConfigVersion.cmake sseTargets.cmake sseDependencies.cmake; do
        want_file "$prefix/share/cmake/sse/$f" "CMake package file"
    done
    want_file "$prefix/share/pkgconfig/sse.pc" "pkg-config file"
    ok "CMake package in share/cmake/sse, sse.pc in share/pkgconfig"
    while read -r f; do
        case "$f" in
            include/sse/* | share/cmake/sse/* | share/pkgconfig/sse.pc | share/pkgconfig/sse-tls.pc | share/pkgconfig/sse-redis.pc) ;;
            *) stray+=("$f") ;;
        esac
    done < <(cd "$prefix" && find . -type f | sed 's|^\./||')
    [[ ${#stray[@]} -eq 0 ]] || die "unexpected installed files: ${stray[*]}"
    ok "nothing else installed (header-only; no examples with SSE_BUILD_EXAMPLES=OFF)"
}

check_find_package() {
    local build="$scratch/find_package" out
    t cmake -S "$here/find_package" -B "$build" "${generator[@]}" "${launcher[@]}" "${common[@]}" \
        -DCMAKE_PREFIX_PATH="$prefix" -DSSE_CONSUMER_EXPECT_VERSION="$version" | tee "$scratch/logs/fp-configure.txt"
    grep -q "consumer: found sse $version in $prefix/share/cmake/sse" "$scratch/logs/fp-configure.txt" ||
        die "find_package(sse) did not find version $version in the moved prefix"
    ok "find_package(sse CONFIG REQUIRED) finds $version in the moved prefix"
    t cmake --build "$build" -j "$jobs"
    ok "app linked to sse::sse builds"
    out="$(t "$build/app")"
    echo "$out"
    [[ "$out" =~ ^sse\ ${version//./\\.}:\ parser,\ message,\ server\ on\ 127\.0\.0\.1:[0-9]+:\ OK$ ]] ||
        die "unexpected output: $out"
    ok "app runs: $out"
}

check_components() {
    local build="$scratch/components" out
    t cmake -S "$here/components" -B "$build" "${generator[@]}" "${launcher[@]}" "${common[@]}" \
        -DCMAKE_PREFIX_PATH="$prefix" -DSSE_CONSUMER_COMPONENTS="tls;redis" >"$scratch/logs/comp-configure.txt" 2>&1 ||
        die "find_package(sse COMPONENTS tls redis) failed: $(tail -n 5 "$scratch/logs/comp-configure.txt")"
    t cmake --build "$build" -j "$jobs"
    out="$(t "$build/tls_app") $(t "$build/redis_app")"
    [[ "$out" == "tls: OK redis: OK" ]] || die "unexpected output: $out"
    ok "find_package(sse COMPONENTS tls redis): sse::tls and sse::redis build and run"
    # hiredis hidden: the redis component is required, so find_package must fail and say why.
    if t cmake -S "$here/components" -B "$scratch/components-nohiredis" "${generator[@]}" "${common[@]}" \
        -DCMAKE_PREFIX_PATH="$prefix" -DSSE_CONSUMER_COMPONENTS=redis -DCMAKE_DISABLE_FIND_PACKAGE_hiredis=ON \
        >"$scratch/logs/comp-nohiredis.txt" 2>&1; then
        die "find_package(sse COMPONENTS redis) passed without hiredis"
    fi
    grep -q "Component redis needs hiredis" "$scratch/logs/comp-nohiredis.txt" ||
        die "find_package(sse COMPONENTS redis) failed without naming hiredis: $(tail -n 5 "$scratch/logs/comp-nohiredis.txt")"
    ok "without hiredis, find_package(sse COMPONENTS redis) fails: component redis needs hiredis"
    # pkg-config: one file per component.
    PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name sse.pc | head -n 1)")" \
        pkg-config --exists sse-tls sse-redis || die "pkg-config sse-tls / sse-redis not found"
    ok "pkg-config: sse-tls and sse-redis"
}

check_pkg_config() {
    local pcdir flags incdir out
    pcdir="$(dirname "$(find "$prefix" -name sse.pc | head -n 1)")"
    export PKG_CONFIG_PATH="$pcdir"
    pkg-config --validate sse || die "pkg-config --validate sse"
    [[ "$(pkg-config --modversion sse)" == "$version" ]] || die "pkg-config --modversion sse is not $version"
    ok "pkg-config --validate sse; --modversion is $version"
    flags="$(pkg-config --cflags --libs sse)"
    echo "pkg-config --cflags --libs sse: $flags"
    incdir="$(pkg-config --variable=includedir sse)"
    [[ "$(cd "$incdir" && pwd -P)" == "$(cd "$prefix/include" && pwd -P)" ]] ||
        die "includedir $incdir is not the moved prefix's include directory"
    ok "pkg-config --cflags --libs sse: $flags"
    # shellcheck disable=SC2086 # the flags are words, as pkg-config intends
    t c++ $flags -o "$scratch/pkg_config_app" "$here/pkg_config/main.cpp"
    out="$(t "$scratch/pkg_config_app")"
    [[ "$out" == "sse $version: parser, message: OK" ]] || die "unexpected output: $out"
    ok "c++ \$(pkg-config --cflags --libs sse) builds the core-only consumer, which runs: $out"
}

check_fetchcontent() {
    local build="$scratch/fetchcontent" out found inst="$scratch/fetchcontent-install"
    t cmake -S "$here/fetchcontent" -B "$build" "${generator[@]}" "${launcher[@]}" "${common[@]}" \
        -DSSE_SOURCE_DIR="$repo"
    ok "FetchContent_Declare(sse SOURCE_DIR <checkout>) + FetchContent_MakeAvailable configures"
    no_own_targets "$build"
    t cmake --build "$build" -j "$jobs"
    out="$(t "$build/app")"
    [[ "$out" =~ ^sse\ ${version//./\\.}:\ .*:\ OK$ ]] || die "unexpected output: $out"
    ok "app builds and runs: $out"
    found="$(find "$build" \( -name sse_tests -o -name sse_concurrency_tests -o -name sse-cat -o -name demo_server \
        -o -name 'header_check' \) -print)"
    [[ -z "$found" ]] || die "sse's own binaries were built: $found"
    for d in tests examples bench; do
        [[ ! -e "$build/_deps/sse-build/$d" ]] || die "sse's $d/ was added (_deps/sse-build/$d exists)"
    done
    ok "no sse_tests (or other own binary) in the build tree; tests/, examples/, bench/ not added"
    [[ "$(cd "$build" && t ctest -N | sed -n 's/^Total Tests: *//p')" == 0 ]] || die "ctest lists tests"
    ok "ctest in the consumer's build lists no tests"
    t cmake --install "$build" --prefix "$inst"
    found="$(cd "$inst" && { find . -type f | sed 's|^\./||' | grep -v '^bin/app$' || true; })"
    [[ -z "$found" ]] || die "sse installed files into the consumer's install: $found"
    ok "the consumer's install holds only its own bin/app (sse's install rules are off)"
}

check_add_subdirectory() {
    local build="$scratch/add_subdirectory"
    t cmake -S "$here/fetchcontent" -B "$build" "${generator[@]}" "${launcher[@]}" "${common[@]}" \
        -DSSE_SOURCE_DIR="$repo" -DSSE_CONSUMER_USE_ADD_SUBDIRECTORY=ON
    ok "add_subdirectory(<checkout>) configures with sse::sse"
    no_own_targets "$build"
}

vcpkg_dir="$scratch/vcpkg"
check_vcpkg_port() {
    mkdir -p "$vcpkg_dir"
    t cmake -DREPO_DIR="$repo" -DWORK_DIR="$vcpkg_dir/check" -DOPTIONS_FILE="$vcpkg_dir/options.txt" \
        -P "$here/vcpkg_port_check.cmake" 2>&1
}

check_vcpkg_install() {
    local options=() build="$vcpkg_dir/x64-linux-rel" pkg="$vcpkg_dir/packages/sse_x64-linux" unused var
    mapfile -t options <"$vcpkg_dir/options.txt"
    echo "portfile OPTIONS: ${options[*]}"
    # What vcpkg_cmake_configure runs for a release-only port on Linux (less the toolchain file),
    # then vcpkg_cmake_install: a build of the install target.
    t cmake -S "$repo" -B "$build" -G Ninja "${options[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$pkg" -DBUILD_SHARED_LIBS=OFF \
        -DCMAKE_INSTALL_LIBDIR:STRING=lib -DCMAKE_INSTALL_BINDIR:STRING=bin \
        -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
        -DCMAKE_FIND_PACKAGE_NO_SYSTEM_PACKAGE_REGISTRY=ON -DCMAKE_INSTALL_SYSTEM_RUNTIME_LIBS_SKIP=TRUE \
        -DCMAKE_ERROR_ON_ABSOLUTE_INSTALL_DESTINATION=ON -DFETCHCONTENT_FULLY_DISCONNECTED=ON \
        2>&1 | tee "$scratch/logs/vcpkg-configure.txt"
    ok "cmake -S <checkout> <portfile OPTIONS> -DCMAKE_BUILD_TYPE=Release configures"
    # vcpkg_cmake_configure warns about options the project never reads: a typo in the portfile.
    unused="$(awk '/Manually-specified variables were not used/ { f = 1; next }
                   f == 1 && /^ *$/ { f = 2; next }
                   f == 2 && /^ *$/ { exit }
                   f == 2 { print $1 }' "$scratch/logs/vcpkg-configure.txt")"
    echo "unused by the project (vcpkg's own settings are expected here): ${unused//$'\n'/ }"
    for var in $unused; do
        if printf '%s\n' "${options[@]}" | grep -q "^-D${var}[:=]"; then
            die "the project does not use the portfile's option $var"
        fi
    done
    ok "the project reads every option the portfile passes"
    t cmake --build "$build" --target install -j "$jobs"
    ok "cmake --build <dir> --target install (vcpkg_cmake_install) into ${pkg#"$scratch"/}"
    t cmake -DMODE=package -DREPO_DIR="$repo" -DPACKAGE_DIR="$pkg" -P "$here/vcpkg_port_check.cmake" 2>&1
    # A consumer of the vcpkg-style package (configure: the build is the find_package check's).
    t cmake -S "$here/find_package" -B "$vcpkg_dir/consumer" "${generator[@]}" "${common[@]}" \
        -DCMAKE_PREFIX_PATH="$pkg" -DSSE_CONSUMER_EXPECT_VERSION="$version" | tee "$scratch/logs/vcpkg-consumer.txt"
    grep -q "consumer: found sse $version in $pkg/share/sse" "$scratch/logs/vcpkg-consumer.txt" ||
        die "find_package(sse) did not find the package in $pkg/share/sse"
    ok "find_package(sse CONFIG REQUIRED) finds the vcpkg-style package in share/sse"
}

check_versions() {
    local changelog cmake_version pc_version vcpkg_version
    changelog="$(sed -n 's/^## \[\([0-9][0-9.]*\)\].*/\1/p' "$repo/CHANGELOG.md" | head -n 1)"
    cmake_version="$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$prefix/share/cmake/sse/sseConfigVersion.cmake")"
    pc_version="$(sed -n 's/^Version: *//p' "$prefix/share/pkgconfig/sse.pc")"
    vcpkg_version="$(sed -n 's/^ *"version": *"\(.*\)",*$/\1/p' "$repo/ports/sse/vcpkg.json")"
    echo "version.hpp $version, CHANGELOG $changelog, CMake $cmake_version, sse.pc $pc_version, vcpkg.json $vcpkg_version"
    [[ -n "$version" && "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no version in include/sse/version.hpp"
    [[ "$changelog" == "$version" ]] || die "CHANGELOG.md's newest version is '$changelog', version.hpp says $version"
    [[ "$cmake_version" == "$version" ]] || die "CMake's project version is '$cmake_version', version.hpp says $version"
    [[ "$pc_version" == "$version" ]] || die "sse.pc says '$pc_version', version.hpp says $version"
    [[ "$vcpkg_version" == "$version" ]] || die "ports/sse/vcpkg.json says '$vcpkg_version', version.hpp says $version"
    local number
    number="$(sed -n 's/^#define SSE_VERSION_\(MAJOR\|MINOR\|PATCH\) \+\([0-9]\+\).*/\2/p' "$repo/include/sse/version.hpp" |
        paste -sd' ' | awk '{ print $1 * 10000 + $2 * 100 + $3 }')"
    grep -q '^#define SSE_VERSION (SSE_VERSION_MAJOR \* 10000 + SSE_VERSION_MINOR \* 100 + SSE_VERSION_PATCH)' \
        "$repo/include/sse/version.hpp" || die "SSE_VERSION is not major * 10000 + minor * 100 + patch"
    ok "$version everywhere: CHANGELOG.md, version.hpp (SSE_VERSION $number), CMake project, sse.pc, vcpkg.json"
}

check_docs() {
    local h name missing=() unindexed=() count=0
    for h in "$repo"/include/sse/*.hpp; do
        name="$(basename "$h" .hpp)"
        count=$((count + 1))
        [[ -s "$repo/docs/$name.md" ]] || missing+=("docs/$name.md")
        grep -q "($name\.md)" "$repo/docs/README.md" 2>/dev/null || unindexed+=("$name.md")
    done
    [[ ${#missing[@]} -eq 0 ]] || die "no reference page: ${missing[*]}"
    [[ ${#unindexed[@]} -eq 0 ]] || die "docs/README.md does not link: ${unindexed[*]}"
    ok "a reference page per public header ($count), all linked from docs/README.md"
}

echo "consumers: sse $version from $repo, scratch ${scratch}"
check "install: cmake --install to a prefix" check_install
check "find_package: find_package(sse CONFIG REQUIRED) + sse::sse builds and runs" check_find_package
check "components: find_package(sse COMPONENTS tls redis), and a clear failure without hiredis" check_components
check "pkg-config: pkg-config --cflags --libs sse builds and runs" check_pkg_config
check "fetchcontent: FetchContent(SOURCE_DIR) builds and runs without sse's tests" check_fetchcontent
check "add_subdirectory: configures without sse's tests" check_add_subdirectory
check "vcpkg: ports/sse manifest and portfile" check_vcpkg_port
check "vcpkg: the portfile's configure and install, and the package" check_vcpkg_install
check "versions: CHANGELOG, version macros and CMake agree" check_versions
check "docs: reference pages" check_docs

echo "consumers: took $((SECONDS - started)) s"
echo "consumers: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
