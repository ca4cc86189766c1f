#!/usr/bin/env bash
# bench/fanout: network fan-out of the demo server against the npm better-sse server and a
# minimal raw-epoll server (the ceiling), in one run, server on CPU 1, load generator on CPU 0.
#
#   bench/fanout.sh [--scenarios i,ii,iii] [--reps 3] [--servers demo,demo-b64,raw-b64,raw-b1,better-sse]
#                   [--scenario NAME:N:M:B:TIMEOUT]... [--no-check] [--only-check]
#                   [--check-conns 19000] [--check-msgs 10] [--out FILE] [--build DIR] [--no-build]
#                   [--server NAME:PORT:COMMAND]...   # another server to compare (e.g. a patched build);
#                                                     # add NAME to --servers; {PORT} in COMMAND is replaced
#   bench/fanout.sh --summary FILE        # the tables again, from a results file
#
# Scenarios (N connections, M messages of B data bytes, timeout in seconds):
#   i   = 1,000 × 2,000 × 64 B      ii  = 10,000 × 200 × 64 B      iii = 100 × 50,000 × 1 KiB
# Servers: demo (demo_server as is: /publish publishes one message per handler, so each stream
# writes about one event per system call), demo-b64 (demo_server --publish-batch 64: 64 messages
# per handler, so a stream's queue gathers up to 64 frames per write), raw-b64 and raw-b1
# (bench/raw_epoll_server --batch 64 / --batch 1: the ceiling, batched and not), better-sse.
# The batched ones compare with each other, the per-message ones with each other.
# Each rep runs every scenario once per server, the server order rotating by one per rep; each run
# starts the server fresh. Then "19,000 concurrent streams": the demo server with --check-conns
# connections × --check-msgs messages, all of which must arrive.
# Results: one JSON line per run (bench/sse_load.cpp documents the fields) in --out (default
# build/bench/fanout-<date>.jsonl), then tables of medians.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build/bench"
SCENARIOS="i,ii,iii"
REPS=3
SERVERS="demo,demo-b64,raw-b64,raw-b1,better-sse"
DO_BUILD=1
DO_MATRIX=1
DO_CHECK=1
CHECK_CONNS=19000
CHECK_MSGS=10
OUT=""
SUMMARY_ONLY=""
declare -A EXTRA_PORT=() EXTRA_CMD=()
declare -A SC_DEF=([i]="1000:2000:64:240" [ii]="10000:200:64:360" [iii]="100:50000:1024:480")

die() { echo "fanout: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenarios) SCENARIOS="$2"; shift 2 ;;
    --scenario) IFS=: read -r _n _rest <<<"$2"; SC_DEF[$_n]="$_rest"; shift 2 ;;
    --reps) REPS="$2"; shift 2 ;;
    --server) IFS=: read -r _n _p _c <<<"$2"; EXTRA_PORT[$_n]="$_p"; EXTRA_CMD[$_n]="${_c//\{PORT\}/$_p}"; shift 2 ;;
    --servers) SERVERS="$2"; shift 2 ;;
    --no-check) DO_CHECK=0; shift ;;
    --only-check) DO_MATRIX=0; shift ;;
    --check-conns) CHECK_CONNS="$2"; shift 2 ;;
    --check-msgs) CHECK_MSGS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --no-build) DO_BUILD=0; shift ;;
    --summary) SUMMARY_ONLY="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

summarize() { # the tables, from a results file
  node --input-type=module - "$1" <<'EOF'
import fs from "node:fs";
const rows = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l));
const runs = rows.filter(r => r.kind === "run");
const med = a => { const s = a.filter(x => typeof x === "number" && x >= 0).sort((x, y) => x - y);
  if (!s.length) return NaN; const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (x, d = 0) => Number.isFinite(x) ? x.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }) : "–";
const order = ["demo", "demo-b64", "raw-b64", "raw-b1", "better-sse"];
const scen = [...new Set(runs.filter(r => r.scenario !== "check19k").map(r => r.scenario))];
const get = (sc, sv) => runs.filter(r => r.scenario === sc && r.server === sv);
console.log("| scenario | server | runs | events/s (median) | min–max | vs raw-b64 | vs raw-b1 | vs better-sse | p50 / p99 ms | server CPU ns/event | CPU vs raw-b64 | CPU vs better-sse | server CPU frac | load-gen CPU frac | RSS/conn KiB (Δ idle → connected) | RSS after, Δ/conn KiB | connect ms | errors / incomplete |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
const goals = [];
for (const sc of scen) {
  const ref = sv => med(get(sc, sv).map(r => r.events_per_s));
  const b64 = ref("raw-b64"), b1 = ref("raw-b1"), bs = ref("better-sse");
  const cpu = sv => med(get(sc, sv).map(r => r.server_ns_per_event));
  const c64 = cpu("raw-b64"), cbs = cpu("better-sse");
  const servers = [...new Set(runs.filter(r => r.scenario === sc).map(r => r.server))]
    .sort((a, b) => (order.indexOf(a) + 99 * (order.indexOf(a) < 0)) - (order.indexOf(b) + 99 * (order.indexOf(b) < 0)));
  for (const sv of servers) {
    const rs = get(sc, sv), eps = med(rs.map(r => r.events_per_s));
    const lo = Math.min(...rs.map(r => r.events_per_s)), hi = Math.max(...rs.map(r => r.events_per_s));
    const c = rs[0];
    const errs = rs.reduce((a, r) => a + r.errors, 0), inc = rs.reduce((a, r) => a + r.incomplete, 0);
    console.log(`| ${sc}: N=${fmt(c.conns)}, M=${fmt(c.expect)} | ${sv} | ${rs.length} | ${fmt(eps)} | ${fmt(lo)}–${fmt(hi)} | ${fmt(eps / b64, 3)} | ${fmt(eps / b1, 2)} | ${fmt(eps / bs, 1)} | ${fmt(med(rs.map(r => r.p50_ms)), 1)} / ${fmt(med(rs.map(r => r.p99_ms)), 1)} | ${fmt(med(rs.map(r => r.server_ns_per_event)))} | ${fmt(c64 / med(rs.map(r => r.server_ns_per_event)), 3)} | ${fmt(cbs / med(rs.map(r => r.server_ns_per_event)), 1)} | ${fmt(med(rs.map(r => r.server_cpu_frac)), 2)} | ${fmt(med(rs.map(r => r.load_cpu_frac)), 2)} | ${fmt(med(rs.map(r => r.rss_per_conn_kib)), 2)} | ${fmt(med(rs.map(r => r.rss_after_per_conn_kib)), 2)} | ${fmt(med(rs.map(r => r.connect_ms)))} | ${errs} / ${inc} |`);
    if (sv === "demo-b64") {
      // Both publish 64 messages per handler, so both can batch 64 frames per write.
      const cd = med(rs.map(r => r.server_ns_per_event));
      goals.push(`${sc}: demo-b64 ÷ raw-b64 = ${fmt(eps / b64, 3)} events/s, ${fmt(c64 / cd, 3)} by server CPU per event (goal ≥ 0.5: ${eps / b64 >= 0.5 ? "met" : "MISSED"}); demo-b64 ÷ better-sse = ${fmt(eps / bs, 1)} events/s (goal ≥ 10: ${eps / bs >= 10 ? "met" : "MISSED"})`);
    }
    if (sv === "demo") {
      // One message per handler (the demo's default): one write per event, like raw-b1.
      const cd = med(rs.map(r => r.server_ns_per_event));
      goals.push(`${sc}: demo ÷ raw-b1 = ${fmt(eps / b1, 2)} events/s; demo ÷ better-sse = ${fmt(eps / bs, 1)} events/s, ${fmt(cbs / cd, 1)} by CPU per event (goal ≥ 10: ${eps / bs >= 10 ? "met" : "MISSED"})`);
      if (c.conns >= 10000) {
        const rss = med(rs.map(r => r.rss_per_conn_kib));
        goals.push(`${sc}: demo RSS per connection at N=${fmt(c.conns)} = ${fmt(rss, 2)} KiB (goal ≤ 4: ${rss <= 4 ? "met" : "MISSED"})`);
      }
    }
  }
}
const chk = runs.filter(r => r.scenario === "check19k");
for (const r of chk)
  goals.push(`check: ${fmt(r.connected)} of ${fmt(r.conns)} streams connected, ${fmt(r.complete)} complete, ${r.errors} errors, ${r.incomplete} incomplete, connect ${fmt(r.connect_ms)} ms, RSS/conn ${fmt(r.rss_per_conn_kib, 2)} KiB (${r.errors === 0 && r.incomplete === 0 && r.connected === r.conns ? "met" : "MISSED"})`);
console.log("");
for (const g of goals) console.log("- " + g);
const meta = rows.find(r => r.kind === "meta");
const la = runs.map(r => Number(r.loadavg)).filter(Number.isFinite);
if (meta) console.log(`\n${meta.date}, ${meta.host}; load average at the runs' ends: median ${fmt(med(la), 2)}, max ${fmt(Math.max(...la), 2)}`);
EOF
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

run_one() { # server scenario rep N M B timeout
  local sv=$1 sc=$2 rep=$3 n=$4 m=$5 b=$6 to=$7 port line
  port=$(server_port "$sv")
  if ! start_server "$sv"; then
    echo "{\"kind\":\"run\",\"server\":\"$sv\",\"scenario\":\"$sc\",\"rep\":\"$rep\",\"conns\":$n,\"expect\":$m,\"failed\":\"server did not start\",\"errors\":1,\"incomplete\":$n}" >>"$OUT"
    return
  fi
  line=$(timeout $((to + 60)) taskset -c 0 "$LOAD" --port "$port" --conns "$n" --expect "$m" \
           --publish "/publish?n=$m&size=$b" --pid "$SERVER_PID" --timeout "$to" --settle-ms 500 --max-inflight 256 \
           --tag kind=run --tag server="$sv" --tag scenario="$sc" --tag rep="$rep" --tag size="$b" \
           2>>"$LOGDIR/sse_load.log") || true
  if [[ -z "$line" ]]; then
    line="{\"kind\":\"run\",\"server\":\"$sv\",\"scenario\":\"$sc\",\"rep\":\"$rep\",\"conns\":$n,\"expect\":$m,\"failed\":\"load generator gave no result\",\"errors\":1,\"incomplete\":$n}"
  fi
  echo "$line" >>"$OUT"
  stop_server
  node -e 'const r=JSON.parse(process.argv[1]); console.error(`fanout: rep ${r.rep} ${r.scenario} ${r.server}: ${Math.round(r.events_per_s||0).toLocaleString("en-US")} events/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.server_ns_per_event} ns/event, RSS/conn ${r.rss_per_conn_kib} KiB, errors ${r.errors}, incomplete ${r.incomplete}`)' "$line" || true
  sleep 1
}

echo "{\"kind\":\"meta\",\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"host\":\"$(nproc) cores, $(uname -r)\",\"git\":\"$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)\",\"node\":\"$(node --version)\",\"nofile\":\"$NOFILE\",\"scenarios\":\"$SCENARIOS\",\"reps\":$REPS,\"servers\":\"$SERVERS\",\"loadavg_start\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$OUT"
echo "fanout: results in $OUT (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2

IFS=, read -r -a SC_LIST <<<"$SCENARIOS"
IFS=, read -r -a SV_LIST <<<"$SERVERS"
if [[ $DO_MATRIX == 1 ]]; then
  for ((rep = 1; rep <= REPS; rep++)); do
    for sc in "${SC_LIST[@]}"; do
      [[ -n "${SC_DEF[$sc]:-}" ]] || die "unknown scenario $sc"
      IFS=: read -r n m b to <<<"${SC_DEF[$sc]}"
      k=${#SV_LIST[@]}
      for ((j = 0; j < k; j++)); do
        sv=${SV_LIST[$(((j + rep - 1) % k))]}
        run_one "$sv" "$sc" "$rep" "$n" "$m" "$b" "$to"
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
