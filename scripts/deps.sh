#!/usr/bin/env bash
# Installs what sse's build and tests need on Debian 12, skipping what is already there.
#
#   scripts/deps.sh                      the base set (compiler, CMake, Ninja, Asio, Catch2, llhttp, OpenSSL, hiredis)
#   scripts/deps.sh redis-server nodejs  the base set plus more packages
#
# Prints one line per package it installs. When it cannot install what is missing (not Debian, no
# apt-get, not root and no sudo, apt-get failed) it names the packages and exits 1: a build may still
# work (CMake fetches Asio, llhttp and Catch2 itself, FetchContent), but nothing may pretend the
# packages are there (scripts/test.sh then checks each dependency of the suite and names what is
# missing). SSE_SKIP_DEPS=1 skips it entirely.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${SSE_SKIP_DEPS:-0}" == 1 ]]; then
    exit 0
fi

packages=(build-essential cmake ninja-build pkg-config ccache libasio-dev catch2 node-llhttp libssl-dev libhiredis-dev "$@")

fallback_note() {
    echo "deps.sh: FAILED: $1; not installed: ${missing[*]}" >&2
    echo "deps.sh: CMake will fall back to FetchContent for Asio, llhttp and Catch2 (needs network);" \
         "a compiler, CMake and any extra tools must already be present" >&2
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    missing=("${packages[@]}")
    fallback_note "not a Debian system (no dpkg-query)"
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]]; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo_cmd=(sudo -n)
    else
        fallback_note "not root and no password-less sudo"
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    fallback_note "no apt-get"
    exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
if ! "${sudo_cmd[@]}" apt-get "${apt_opts[@]}" -qq update >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    fallback_note "apt-get update failed"
    exit 1
fi
if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get "${apt_opts[@]}" -qq -y --no-install-recommends install "${missing[@]}" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    fallback_note "apt-get install failed"
    exit 1
fi
for p in "${missing[@]}"; do
    echo "deps.sh: installed $p"
done
