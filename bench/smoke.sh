#!/usr/bin/env bash
# bench/smoke.sh: the benchmarks in a short smoke mode, so that their own checks run with the test
# suite (ctest -L bench-smoke). No figures: each step must pass its checks.
#
#   bash bench/smoke.sh BENCH_DIR DEMO_SERVER
#
# BENCH_DIR holds the built sse_load, raw_epoll_server, fanout_inproc and parser; DEMO_SERVER is
# examples/demo_server.
# 1. sse_load against raw_epoll_server (one send per event, then 64 a send): every event verified.
# 2. The load generator's checks catch what they claim: raw_epoll_server --fault dup, drop, swap,
#    short breaks message 7 of every stream, and sse_load must fail the run and count exactly one
#    duplicate, missing event, reorder or wrong size per stream (and nothing else).
# 3. sse_load against demo_server, one message per publish handler and 64: every event verified,
#    and the server's /stats read before and after.
# 4. fanout_inproc with few messages (its delivery counts) and parser on 1 MiB corpora without
#    Node (every pass must count exactly the events and bytes the generator wrote).
set -euo pipefail

BENCH=${1:?usage: smoke.sh BENCH_DIR DEMO_SERVER}
DEMO=${2:?usage: smoke.sh BENCH_DIR DEMO_SERVER}
LOAD="$BENCH/sse_load"
RAW="$BENCH/raw_epoll_server"
for f in "$LOAD" "$RAW" "$DEMO" "$BENCH/fanout_inproc" "$BENCH/parser"; do
  [[ -x "$f" ]] || { echo "smoke: FAILED: missing $f" >&2; exit 1; }
done
TMP=$(mktemp -d)
PID=""
stop() {
  if [[ -n "$PID" ]]; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
  fi
}
trap 'stop; rm -rf "$TMP"' EXIT
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts "$@ --port P" on a free loopback port; sets PID and PORT.
start() {
  local tries
  for tries in 1 2 3 4 5; do
    PORT=$((20000 + RANDOM % 20000))
    listening "$PORT" && continue
    "$@" --port "$PORT" >"$TMP/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do # 10 s at most
      listening "$PORT" && return 0
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.1
    done
    stop
  done
  cat "$TMP/server.log" >&2
  fail "could not start $*"
}

field() { grep -o "\"$2\":[a-z0-9.-]*" <<<"$1" | head -1 | cut -d: -f2; }

# One load run: N connections, M messages of 64 B; prints sse_load's JSON line, returns its status.
load() {
  "$LOAD" --port "$PORT" --conns "$1" --expect "$2" --size 64 --publish "/publish?n=$2&size=64" --pid "$PID" \
    --timeout 30 --settle-ms 50 --linger-ms 100 --stats /stats 2>>"$TMP/load.log"
}

# 1. The raw server, both ways: verified.
for batch in 1 64; do
  start "$RAW" --batch "$batch" --lifetime 60
  out=$(load 20 300) || fail "raw_epoll_server --batch $batch: not verified: $out"
  [[ $(field "$out" verified) == true && $(field "$out" events) == 6000 ]] || fail "raw --batch $batch: $out"
  stop
done
echo "smoke: sse_load verified 20 streams x 300 events from raw_epoll_server (batch 1 and 64)"

# 2. Faults: each caught, counted once per stream, under its own name only.
declare -A WANT=([dup]=duplicates [drop]=missing [swap]=reorders [short]=wrong_size)
for kind in dup drop swap short; do
  start "$RAW" --batch 1 --lifetime 60 --fault "$kind:7"
  if out=$(load 10 50); then fail "--fault $kind:7 was not caught: $out"; fi
  [[ $(field "$out" verified) == false ]] || fail "--fault $kind: verified: $out"
  for k in duplicates missing reorders wrong_size unnumbered out_of_range; do
    want=0
    [[ $k == "${WANT[$kind]}" ]] && want=10
    got=$(field "$out" "$k")
    [[ "$got" == "$want" ]] || fail "--fault $kind:7: $k = $got, expected $want: $out"
  done
  stop
done
echo "smoke: sse_load caught and counted each of dup, drop, swap, short (10 streams each)"

# 3. The demo server, one message per handler and 64: verified, its counters read.
for batch in 1 64; do
  start "$DEMO" --host 127.0.0.1 --heartbeat 0 --lifetime 60 --publish-batch "$batch"
  if ! out=$(load 20 300); then
    [[ $(field "$out" unnumbered) == 6000 ]] &&
      fail "demo_server's /publish does not number its messages (data \"t=<ns> s=<1..M>\", bench/README.md)"
    fail "demo_server --publish-batch $batch: not verified: $out"
  fi
  [[ $(field "$out" verified) == true && $(field "$out" events) == 6000 ]] || fail "demo --publish-batch $batch: $out"
  grep -q '"stats_after":{' <<<"$out" || fail "demo --publish-batch $batch: no /stats: $out"
  stop
done
echo "smoke: sse_load verified 20 streams x 300 events from demo_server (publish batch 1 and 64)"

# 4. In-process fan-out and the parser: their own correctness checks.
"$BENCH/fanout_inproc" --messages 20 --reps 1 >"$TMP/inproc.log" 2>&1 || { cat "$TMP/inproc.log" >&2; fail "fanout_inproc"; }
"$BENCH/parser" --dir "$TMP/corpus" --size-mib 1 --reps 1 --no-node >"$TMP/parser.log" 2>&1 ||
  { cat "$TMP/parser.log" >&2; fail "parser"; }
echo "smoke: fanout_inproc and parser passed their delivery and event-count checks"
echo "smoke: PASSED"
