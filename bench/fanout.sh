#!/usr/bin/env bash
# bench/fanout: network fan-out of the demo server against the npm better-sse server and a
# minimal raw-epoll server (the ceiling), in one run, server on CPU 1, load generator on CPU 0.
#
#   bench/fanout.sh [--scenarios i,ii,iii] [--reps 3] [--servers demo,demo-b64,raw-b64,raw-b1,better-sse]
#                   [--paced p1,p2] [--paced-servers demo,raw-b64]
#                   [--scenario NAME:N:M:B:TIMEOUT[:RATE]]... [--no-check] [--only-check]
#                   [--check-conns 19000] [--check-msgs 10] [--out FILE] [--json FILE] [--build DIR] [--no-build]
#                   [--server NAME:PORT:COMMAND]...   # another server to compare (e.g. a patched build);
#                                                     # add NAME to --servers; {PORT} in COMMAND is replaced
#   bench/fanout.sh --summary FILE [--json FILE]   # the tables again, from a results file
#
# Scenarios (N connections, M messages of B data bytes, timeout in seconds):
#   i   = 1,000 × 2,000 × 64 B      ii  = 10,000 × 200 × 64 B      iii = 100 × 50,000 × 1 KiB
# Paced scenarios (RATE messages per second: /publish?...&rate=RATE, the server's publisher waits
# for each message's due time), run on --paced-servers only (the raw server fed the same way):
#   p1  = 100 streams × 10,000 msg/s × 5 s      p2  = 1,000 streams × 1,000 msg/s × 5 s
# (--paced '' skips them). They show latency under a load the servers keep up with: p50/p99, and
# p99 of the first and the second half of the messages (a backlog building up shows as growth).
# Servers: demo (demo_server as is: /publish publishes one message per handler; how many events a
# stream's write then carries is read from its /stats), demo-b64 (demo_server --publish-batch 64:
# 64 messages per handler, so a stream's queue gathers up to 64 frames per write), raw-b64 and
# raw-b1 (bench/raw_epoll_server --batch 64 / --batch 1: pre-serialized bytes, batched and one
# send per event), better-sse (one broadcast per event-loop turn; it adds an id and an event line:
# ~131 wire bytes per 64-byte event against 72). The batched ones compare with each other, the
# one-at-a-time ones with each other.
# Each rep runs every scenario once per server, the server order rotating by one per rep; each run
# starts the server fresh. Then "19,000 concurrent streams": the demo server with --check-conns
# connections × --check-msgs messages, all of which must arrive.
# Every event is checked (bench/sse_load.cpp: the numbers 1..M in order per stream, the size); a run
# with any error, gap, duplicate, reorder, wrong size or incomplete stream is listed and left out of
# the medians (bench/fanout-summary.mjs). Demo servers' /stats are read before and after each run
# (events per write). Results: one JSON line per run (bench/sse_load.cpp documents the fields) in
# --out (default build/bench/fanout-<date>.jsonl), then tables of medians, and with --json the
# medians and runs as one document (machine, commit, date) for bench/plot.mjs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ARGS="$*"
BUILD="$ROOT/build/bench"
SCENARIOS="i,ii,iii"
REPS=3
SERVERS="demo,demo-b64,raw-b64,raw-b1,better-sse"
PACED="p1,p2"
PACED_SERVERS="demo,raw-b64"
DO_BUILD=1
DO_MATRIX=1
DO_CHECK=1
CHECK_CONNS=19000
CHECK_MSGS=10
OUT=""
JSON=""
SUMMARY_ONLY=""
declare -A EXTRA_PORT=() EXTRA_CMD=()
declare -A SC_DEF=([i]="1000:2000:64:240" [ii]="10000:200:64:360" [iii]="100:50000:1024:480"
                   [p1]="100:50000:64:120:10000" [p2]="1000:5000:64:120:1000")

die() { echo "fanout: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --scenario) IFS=: read -r _n _rest <<<"$2"; SC_DEF[$_n]="$_rest"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --server) IFS=: read -r _n _p _c <<<"$2"; EXTRA_PORT[$_n]="$_p"; EXTRA_CMD[$_n]="${_c//\{PORT\}/$_p}"; shift 2 ;;
    --servers) SERVERS="$2"; shift 2 ;;
    --paced) PACED="$2"; shift 2 ;;
    --paced-servers) PACED_SERVERS="$2"; shift 2 ;;
    --no-check) DO_CHECK=0; shift ;;
    --only-check) DO_MATRIX=0; shift ;;
    --check-conns) CHECK_CONNS="$2"; shift 2 ;;
    --check-msgs) CHECK_MSGS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --json) JSON="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --summary) SUMMARY_ONLY="$2"; shift 2 ;;
    -h|--help) sed -n '2,34p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

summarize() { # the tables (and --json), from a results file
  if [[ -n "$JSON" ]]; then node "$ROOT/bench/fanout-summary.mjs" "$1" --json "$JSON"
  else node "$ROOT/bench/fanout-summary.mjs" "$1"; fi
}

if [[ -n "$SUMMARY_ONLY" ]]; then summarize "$SUMMARY_ONLY"; exit 0; fi

command -v taskset >/dev/null || die "taskset is required"
command -v node >/dev/null || die "node is required (better-sse)"
[[ $(nproc) -ge 2 ]] || die "needs 2 cores (server on CPU 1, load generator on CPU 0)"

# Descriptors: everything started from here inherits the raised soft limit.
HARD=$(ulimit -Hn)
if [[ "$HARD" != unlimited ]]; then ulimit -n "$HARD"; else ulimit -n 1048576 || true; fi
NOFILE=$(ulimit -n)

if [[ $DO_BUILD == 1 ]]; then
  echo "fanout: building (Release) in $BUILD" >&2
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSSE_BUILD_BENCH=ON -DSSE_BUILD_EXAMPLES=ON \
    -DSSE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD" --target demo_server sse_load raw_epoll_server >/dev/null
fi
DEMO="$BUILD/examples/demo_server"
RAW="$BUILD/bench/raw_epoll_server"
LOAD="$BUILD/bench/sse_load"
for f in "$DEMO" "$RAW" "$LOAD"; do [[ -x "$f" ]] || die "missing $f (build first)"; done
if [[ ",$SERVERS," == *",better-sse,"* ]] && \
   ! node -e 'process.exit(require(process.argv[1] + "/bench/node_modules/better-sse/package.json").version === "0.16.1" ? 0 : 1)' "$ROOT" 2>/dev/null; then
  echo "fanout: npm ci in bench/ (better-sse 0.16.1)" >&2
  (cd "$ROOT/bench" && npm ci --no-audit --no-fund >/dev/null 2>&1)
fi

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
[[ -n "$OUT" ]] || OUT="$BUILD/fanout-$STAMP.jsonl"
mkdir -p "$(dirname "$OUT")"
LOGDIR="${OUT%.jsonl}.logs"
mkdir -p "$LOGDIR"
cd "$ROOT"

server_port() {
  if [[ -n "${EXTRA_PORT[$1]:-}" ]]; then echo "${EXTRA_PORT[$1]}"; return; fi
  case "$1" in demo) echo 18301 ;; raw-b64) echo 18302 ;; raw-b1) echo 18303 ;; better-sse) echo 18304 ;;
    demo-b64) echo 18305 ;; *) die "unknown server $1" ;; esac; }
server_cmd() {
  local port; port=$(server_port "$1")
  case "$1" in
    demo) echo "$DEMO --port $port --heartbeat 0 --lifetime 1200" ;;
    demo-b64) echo "$DEMO --port $port --heartbeat 0 --lifetime 1200 --publish-batch 64" ;;
    raw-b64) echo "$RAW --port $port --batch 64 --lifetime 1200" ;;
    raw-b1) echo "$RAW --port $port --batch 1 --lifetime 1200" ;;
    better-sse) echo "node bench/better-sse-server.mjs --port $port --lifetime 1200" ;;
    *) echo "${EXTRA_CMD[$1]}" ;;
  esac
}

SERVER_PID=""
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
trap 'stop_server' EXIT
trap 'stop_server; exit 130' INT TERM

start_server() { # name
  local port; port=$(server_port "$1")
  if ss -Hltn "sport = :$port" | grep -q .; then die "port $port is already in use"; fi
  # shellcheck disable=SC2046
  taskset -c 1 $(server_cmd "$1") >>"$LOGDIR/$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    ss -Hltn "sport = :$port" | grep -q . && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "fanout: $1 did not start (see $LOGDIR/$1.log)" >&2
  stop_server
  return 1
}

run_one() { # server scenario rep N M B timeout [rate]
  local sv=$1 sc=$2 rep=$3 n=$4 m=$5 b=$6 to=$7 rate=${8:-0} port line pace=""
  [[ "$rate" == 0 ]] || pace="&rate=$rate"
  port=$(server_port "$sv")
  if ! start_server "$sv"; then
    echo "{\"kind\":\"run\",\"server\":\"$sv\",\"scenario\":\"$sc\",\"rep\":\"$rep\",\"conns\":$n,\"expect\":$m,\"failed\":\"server did not start\",\"errors\":1,\"incomplete\":$n}" >>"$OUT"
    return
  fi
  line=$(timeout $((to + 60)) taskset -c 0 "$LOAD" --port "$port" --conns "$n" --expect "$m" \
           --publish "/publish?n=$m&size=$b$pace" --size "$b" --stats /stats \
           --pid "$SERVER_PID" --timeout "$to" --settle-ms 500 --max-inflight 256 \
           --tag kind=run --tag server="$sv" --tag scenario="$sc" --tag rep="$rep" --tag size="$b" --tag rate="$rate" \
           2>>"$LOGDIR/sse_load.log") || true
  if [[ -z "$line" ]]; then
    line="{\"kind\":\"run\",\"server\":\"$sv\",\"scenario\":\"$sc\",\"rep\":\"$rep\",\"conns\":$n,\"expect\":$m,\"failed\":\"load generator gave no result\",\"errors\":1,\"incomplete\":$n}"
  fi
  echo "$line" >>"$OUT"
  stop_server
  node -e 'const r=JSON.parse(process.argv[1]); console.error(`fanout: rep ${r.rep} ${r.scenario} ${r.server}: ${Math.round(r.events_per_s||0).toLocaleString("en-US")} events/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.server_ns_per_event} ns/event, RSS/conn ${r.rss_per_conn_kib} → ${r.rss_after_per_conn_kib} KiB, ${r.verified ? "verified" : "NOT VERIFIED (excluded): errors " + r.errors + ", incomplete " + r.incomplete + ", duplicates " + r.duplicates + ", reorders " + r.reorders + ", missing " + r.missing + ", wrong size " + r.wrong_size + ", unnumbered " + r.unnumbered}`)' "$line" || true
  sleep 1
}

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "{\"kind\":\"meta\",\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"host\":\"$(nproc) cores, $(uname -r)\",\"cpu\":\"$CPU\",\"cores\":$(nproc),\"kernel\":\"$(uname -r)\",\"command\":\"bench/fanout.sh $ARGS\",\"git\":\"$(git -C "$ROOT" describe --always --dirty --abbrev=7 2>/dev/null || echo none)\",\"node\":\"$(node --version)\",\"nofile\":\"$NOFILE\",\"scenarios\":\"$SCENARIOS\",\"reps\":$REPS,\"servers\":\"$SERVERS\",\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$OUT"
echo "fanout: results in $OUT (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2

IFS=, read -r -a SC_LIST <<<"$SCENARIOS"
IFS=, read -r -a SV_LIST <<<"$SERVERS"
IFS=, read -r -a PACED_LIST <<<"$PACED"
IFS=, read -r -a PSV_LIST <<<"$PACED_SERVERS"
if [[ $DO_MATRIX == 1 ]]; then
  for ((rep = 1; rep <= REPS; rep++)); do
    for sc in "${SC_LIST[@]}" "${PACED_LIST[@]}"; do
      [[ -n "$sc" ]] || continue
      [[ -n "${SC_DEF[$sc]:-}" ]] || die "unknown scenario $sc"
      IFS=: read -r n m b to rate <<<"${SC_DEF[$sc]}"
      rate=${rate:-0}
      if [[ "$rate" == 0 ]]; then list=("${SV_LIST[@]}"); else list=("${PSV_LIST[@]}"); fi
      k=${#list[@]}
      for ((j = 0; j < k; j++)); do
        sv=${list[$(((j + rep - 1) % k))]}
        run_one "$sv" "$sc" "$rep" "$n" "$m" "$b" "$to" "$rate"
      done
    done
  done
fi

if [[ $DO_CHECK == 1 ]]; then
  if [[ "$NOFILE" != unlimited && "$NOFILE" -lt $((CHECK_CONNS + 64)) ]]; then
    echo "fanout: skipping the $CHECK_CONNS-stream check: ulimit -n is $NOFILE (needs $((CHECK_CONNS + 64)))" >&2
  else
    run_one demo check19k 1 "$CHECK_CONNS" "$CHECK_MSGS" 64 300
  fi
fi

echo "" >&2
summarize "$OUT"
echo ""
echo "results: $OUT"
