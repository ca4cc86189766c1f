#!/usr/bin/env bash
# bench/redis_fanout: two demo servers on one Redis (sse::redis_provider) against one demo server
# on the in-process Joe, in one run. Servers and redis-server on CPU 1, the load generator
# (bench/sse_load) on CPU 0.
#
#   bench/redis_fanout.sh [--reps 3] [--conns 1000] [--msgs 2000] [--size 64]
#                         [--rate 10000] [--rate-msgs 20000] [--rate-conns 10]
#                         [--build DIR] [--no-build] [--out FILE]
#
# Throughput: 2 x --conns clients, split over the two Redis nodes (publishing on node B, so half
# the clients are a node away from the publisher), each receiving --msgs messages of --size data
# bytes published as fast as the servers take them; against the same 2 x --conns clients on one
# Joe server, publishing one message per handler (joe) and 64 (joe-b64: a node writes what one
# XREAD brought in one go, so joe-b64 is the like-for-like peer). The goal: Redis events/s >= 0.5 x
# Joe's.
# Latency: --rate-conns clients on node A only (every event crosses nodes), --rate-msgs messages
# published on node B at --rate per second; the same clients on Joe at the same rate. The goal:
# p99 publish-to-receive latency across nodes <= 5 ms at 10,000 messages/s.
# Latency is CLOCK_REALTIME at the receiving client minus the t= stamp taken right before the
# publish (bench/sse_load.cpp), which also checks every event (numbers 1..M in order per stream,
# size); a run that is not verified is listed and left out of the medians. Results: one JSON line
# per run in --out, then a table of medians.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build/bench"
REPS=3 CONNS=1000 MSGS=2000 SIZE=64 RATE=10000 RATE_MSGS=20000 RATE_CONNS=10 DO_BUILD=1 OUT=""
die() { echo "redis_fanout: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --msgs) MSGS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --rate-msgs) RATE_MSGS=$2; shift 2 ;;
    --rate-conns) RATE_CONNS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
command -v taskset >/dev/null || die "taskset is required"
command -v redis-server >/dev/null || die "redis-server is required (Debian: redis-server)"
command -v node >/dev/null || die "node is required (for the summary)"
[[ $(nproc) -ge 2 ]] || die "needs 2 cores"
HARD=$(ulimit -Hn)
if [[ "$HARD" != unlimited ]]; then ulimit -n "$HARD"; fi

if [[ $DO_BUILD == 1 ]]; then
  echo "redis_fanout: building (Release) in $BUILD" >&2
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_BENCH=ON -DSSE_BUILD_EXAMPLES=ON \
    -DSSE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target demo_server sse_load >/dev/null
fi
DEMO="$BUILD/examples/demo_server"
LOAD="$BUILD/bench/sse_load"
for f in "$DEMO" "$LOAD"; do [[ -x "$f" ]] || die "missing $f (build first)"; done

[[ -n "$OUT" ]] || OUT="$BUILD/redis_fanout-$(date -u +%Y%m%dT%H%M%SZ).jsonl"
LOGDIR="${OUT%.jsonl}.logs"
mkdir -p "$LOGDIR"
: >"$OUT"

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

REDIS_PORT=$(free_port)
taskset -c 1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --logfile "$LOGDIR/redis.log" &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || die "redis-server did not start"

DEMO_PORT="" DEMO_PID=""
start_demo() { # log-name extra-args...: sets DEMO_PORT and DEMO_PID
  local log="$LOGDIR/$1.log"; shift
  : >"$log"
  taskset -c 1 "$DEMO" --port 0 --heartbeat 0 --lifetime 1200 "$@" >"$log" 2>&1 &
  DEMO_PID=$!
  PIDS+=("$DEMO_PID")
  for _ in $(seq 200); do
    DEMO_PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' "$log" | head -1)
    [[ -n "$DEMO_PORT" ]] && break
    sleep 0.05
  done
  [[ -n "$DEMO_PORT" ]] || die "demo_server did not start (see $log)"
}
redis_up() { curl -sf "http://127.0.0.1:$1/stats" | grep -q '"redis_connected":true'; }

run() { # kind provider conns msgs rate port-list publish-port pid
  local kind=$1 provider=$2 conns=$3 msgs=$4 rate=$5 ports=$6 pub=$7 pid=$8 line
  line=$(timeout 900 taskset -c 0 "$LOAD" --port "$ports" --publish-port "$pub" --conns "$conns" --expect "$msgs" \
           --publish "/publish?n=$msgs&size=$SIZE&rate=$rate" --size "$SIZE" --pid "$pid" --timeout 600 --settle-ms 500 \
           --tag kind="$kind" --tag provider="$provider" --tag rate="$rate" 2>>"$LOGDIR/sse_load.log") || true
  [[ -n "$line" ]] || line="{\"kind\":\"$kind\",\"provider\":\"$provider\",\"failed\":true,\"errors\":1,\"incomplete\":$conns}"
  echo "$line" >>"$OUT"
  node -e 'const r=JSON.parse(process.argv[1]); console.error(`redis_fanout: ${r.kind} ${r.provider}: ${Math.round(r.events_per_s||0).toLocaleString("en-US")} events/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.verified ? "verified" : "NOT VERIFIED (excluded)"}, errors ${r.errors}, incomplete ${r.incomplete}, duplicates ${r.duplicates}, reorders ${r.reorders}, missing ${r.missing}, wrong size ${r.wrong_size}`)' "$line" || true
}

for rep in $(seq "$REPS"); do
  for kind in throughput latency; do
    if [[ $kind == throughput ]]; then n=$((2 * CONNS)) m=$MSGS r=0; else n=$RATE_CONNS m=$RATE_MSGS r=$RATE; fi
    # Joe: one server holds every client.
    start_demo "joe-$kind-$rep"
    run "$kind" joe "$n" "$m" "$r" "$DEMO_PORT" "$DEMO_PORT" "$DEMO_PID"
    cleanup
    if [[ $kind == throughput ]]; then
      # Joe with 64 messages per publish handler: batched like a Redis node's XREAD, a fairer peer.
      start_demo "joe-b64-$kind-$rep" --publish-batch 64
      run "$kind" joe-b64 "$n" "$m" "$r" "$DEMO_PORT" "$DEMO_PORT" "$DEMO_PID"
      cleanup
    fi
    # Redis: two nodes; publish on B; throughput clients on both, latency clients on A only.
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
    start_demo "redis-a-$kind-$rep" --provider "redis://127.0.0.1:$REDIS_PORT"
    A_PORT=$DEMO_PORT A_PID=$DEMO_PID
    start_demo "redis-b-$kind-$rep" --provider "redis://127.0.0.1:$REDIS_PORT"
    B_PORT=$DEMO_PORT
    for _ in $(seq 100); do redis_up "$A_PORT" && redis_up "$B_PORT" && break; sleep 0.05; done
    if [[ $kind == throughput ]]; then ports="$A_PORT,$B_PORT"; else ports="$A_PORT"; fi
    run "$kind" redis "$n" "$m" "$r" "$ports" "$B_PORT" "$A_PID"
    cleanup
  done
done
kill -KILL "$REDIS_PID" 2>/dev/null || true
wait "$REDIS_PID" 2>/dev/null || true

node --input-type=module - "$OUT" <<'EOF'
import fs from "node:fs";
const rows = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l));
const med = a => { const s = a.filter(Number.isFinite).sort((x, y) => x - y); if (!s.length) return NaN;
  const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f = (x, d = 0) => Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "–";
// Only verified runs (sse_load checked every event) count; the others are listed.
const pickAll = (kind, p) => rows.filter(r => r.kind === kind && r.provider === p);
const pick = (kind, p) => pickAll(kind, p).filter(r => r.verified === true);
console.log("| scenario | provider | clients | messages | rate/s | events/s (median) | p50 ms | p99 ms | runs used (excluded) |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const kind of ["throughput", "latency"])
  for (const p of ["joe", "joe-b64", "redis"]) {
    const all = pickAll(kind, p), rs = pick(kind, p); if (!all.length) continue;
    console.log(`| ${kind} | ${p}${p === "redis" ? " (2 nodes)" : ""} | ${f(all[0].conns)} | ${f(all[0].expect)} | ${all[0].rate === "0" ? "max" : f(Number(all[0].rate))} | ${f(med(rs.map(r => r.events_per_s)))} | ${f(med(rs.map(r => r.p50_ms)), 2)} | ${f(med(rs.map(r => r.p99_ms)), 2)} | ${rs.length} (${all.length - rs.length}) |`);
  }
for (const r of rows.filter(r => r.verified !== true))
  console.log(`- excluded: ${r.kind} ${r.provider}: ${r.failed ? "no result" : `errors ${r.errors}, incomplete ${r.incomplete}, duplicates ${r.duplicates}, reorders ${r.reorders}, missing ${r.missing}, wrong size ${r.wrong_size}, unnumbered ${r.unnumbered}`}`);
const eps = (k, p) => med(pick(k, p).map(r => r.events_per_s));
const ratio = eps("throughput", "redis") / eps("throughput", "joe");
const ratio64 = eps("throughput", "redis") / eps("throughput", "joe-b64");
const p99 = med(pick("latency", "redis").map(r => r.p99_ms));
console.log(`\n- Redis (2 nodes) ÷ Joe events/s: ${f(ratio, 2)} (goal ≥ 0.5: ${ratio >= 0.5 ? "met" : "MISSED"})`);
if (Number.isFinite(ratio64)) console.log(`- Redis (2 nodes) ÷ Joe with 64 messages per publish (joe-b64) events/s: ${f(ratio64, 2)} (goal ≥ 0.5: ${ratio64 >= 0.5 ? "met" : "MISSED"})`);
console.log(`- p99 across nodes at ${f(Number(pick("latency", "redis")[0]?.rate))} messages/s: ${f(p99, 2)} ms (goal ≤ 5 ms: ${p99 <= 5 ? "met" : "MISSED"})`);
EOF
echo "redis_fanout: results in $OUT" >&2
