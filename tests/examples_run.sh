#!/usr/bin/env bash
# Runs the examples the way the README uses them and checks what they print (the ctest test
# examples_run): roundtrip, coroutines, hello_server with curl and with hello_client (which must
# reconnect when the server restarts), and topics with three topics_client subscribers, its
# metrics endpoint and POST /stop. sse-cat and llm_read are run by tests/examples_smoke.sh,
# demo_server by tests/interop/, llm_relay by tests/examples_relay.sh; this script fails if an
# example is run by none of them.
#
#   tests/examples_run.sh BIN_DIR EXAMPLES_SOURCE_DIR CURL
#
# Loopback only, servers on ports the kernel picks; every wait is bounded, every process is
# killed when the script ends, however it ends.
set -euo pipefail

if [[ $# -ne 3 ]]; then
    echo "usage: $0 BIN_DIR EXAMPLES_SOURCE_DIR CURL" >&2
    exit 2
fi
bin=$1
sources=$2
curl=$3

tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
    echo "examples_run: FAILED: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "examples_run: ok: $*"; }
show() { # show FILE...: for a failure's context
    for f in "$@"; do
        echo "--- $f" >&2
        cat "$f" >&2 || true
    done
}

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds, for at most SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.05
    done
}
running() { kill -0 "$1" 2>/dev/null; }
stopped() { ! running "$1"; }
count() { grep -c -- "$1" "$2" || true; } # count PATTERN FILE
at_least() { [[ $(count "$2" "$3") -ge $1 ]]; } # at_least N PATTERN FILE

# start NAME ARGS...: runs $bin/NAME in the background (stdout $tmp/NAME.out, stderr
# $tmp/NAME.err), at most 120 s; sets pid.
start() {
    local name=$1
    shift
    timeout 120 "$bin/$name" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
}
# port_of FILE: the port in the first "http://127.0.0.1:PORT" of FILE, once it is there.
port_of() {
    wait_for 20 grep -q 'http://127\.0\.0\.1:[0-9]' "$1" || return 1
    sed -n 's|.*http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$1" | head -n 1
}

# ------------------------------------------------------------------ every example is run
covered_here="roundtrip coroutines hello_server hello_client topics topics_client"
covered_elsewhere="sse-cat llm_read demo_server llm_relay" # tests/examples_smoke.sh, tests/interop/, tests/examples_relay.sh
for src in "$sources"/*.cpp; do
    name="$(basename "$src" .cpp)"
    if [[ " $covered_here $covered_elsewhere " != *" $name "* ]]; then
        fail "examples/$name.cpp is run by no test: add it to tests/examples_run.sh"
    fi
done
for name in $covered_here; do
    [[ -x "$bin/$name" ]] || fail "no executable $bin/$name"
done
if [[ $failures -ne 0 ]]; then
    exit 1
fi

# ------------------------------------------------------------------ roundtrip
rc=0
timeout 30 "$bin/roundtrip" >"$tmp/roundtrip.out" 2>&1 || rc=$?
printf '%s\n' '--- on the wire (118 bytes) ---' 'id: 42' 'event: greeting' 'retry: 3000' 'data: Hello world!' \
    'data: Nice' 'data: to see you.' ': comments are ignored by clients' '' '--- what a client receives ---' \
    'type=greeting last_event_id=42' 'data=Hello world!' 'Nice' 'to see you.' \
    '--- 1 event(s); message::parse round-trips: yes ---' >"$tmp/roundtrip.expected"
if [[ $rc -eq 0 ]] && cmp -s "$tmp/roundtrip.out" "$tmp/roundtrip.expected"; then
    pass "roundtrip prints the wire format and the event it reads back"
else
    fail "roundtrip (exit $rc)"
    show "$tmp/roundtrip.expected" "$tmp/roundtrip.out"
fi

# ------------------------------------------------------------------ coroutines
rc=0
timeout 60 "$bin/coroutines" >"$tmp/coroutines.out" 2>&1 || rc=$?
printf '%s\n' 'got #1: event number 1' 'got #2: event number 2' 'got #3: event number 3' \
    'client stopped: after three events' >"$tmp/coroutines.expected"
if [[ $rc -eq 0 ]] && cmp -s "$tmp/coroutines.out" "$tmp/coroutines.expected"; then
    pass "coroutines: three events through co_await, then a clean stop"
else
    fail "coroutines (exit $rc)"
    show "$tmp/coroutines.expected" "$tmp/coroutines.out"
fi

# ------------------------------------------------------------------ hello_server, hello_client
start hello_server --port 0
server=$pid
if ! port="$(port_of "$tmp/hello_server.out")" || [[ -z "$port" ]]; then
    fail "hello_server did not print its address"
    show "$tmp/hello_server.out" "$tmp/hello_server.err"
    exit 1
fi
url="http://127.0.0.1:$port/"

# curl -N streams: two events (a new "Hello world" every second) arrive while curl is still
# running, and nothing else; waited for with a bound, not timed (a loaded machine may be slow).
"$curl" -sN --max-time 60 "$url" >"$tmp/curl.out" 2>&1 &
curl_pid=$!
pids+=("$curl_pid")
streamed=0
if wait_for 30 at_least 2 '^data: Hello world$' "$tmp/curl.out" && running "$curl_pid"; then
    streamed=1
fi
kill "$curl_pid" 2>/dev/null || true
wait "$curl_pid" 2>/dev/null || true
# (the lines that ended: the kill may have cut the last one)
head -n "$(tr -cd '\n' <"$tmp/curl.out" | wc -c)" "$tmp/curl.out" >"$tmp/curl.lines"
if [[ $streamed -eq 1 ]] && [[ $(grep -cv -e '^data: Hello world$' -e '^$' "$tmp/curl.lines") -eq 0 ]]; then
    pass "curl -N $url: $(count '^data: Hello world$' "$tmp/curl.lines") events of 'data: Hello world' while it streamed"
else
    fail "curl -N $url: not two events of 'data: Hello world' (and nothing else) while it streamed, within 30 s"
    show "$tmp/curl.out"
fi

start hello_client "$url"
client=$pid
if wait_for 20 at_least 2 '^Hello world$' "$tmp/hello_client.out"; then
    pass "hello_client prints the server's events"
else
    fail "hello_client printed no two events in 20 s"
    show "$tmp/hello_client.out" "$tmp/hello_client.err"
fi
# Connection lost: the server goes away and comes back on the same port.
before=$(count '^Hello world$' "$tmp/hello_client.out")
kill "$server"
wait "$server" 2>/dev/null || true
mv "$tmp/hello_server.out" "$tmp/hello_server.first.out"
start hello_server --port "$port"
server=$pid
if ! port_of "$tmp/hello_server.out" >/dev/null; then
    fail "hello_server did not start again on port $port"
    show "$tmp/hello_server.out" "$tmp/hello_server.err"
elif wait_for 30 at_least $((before + 2)) '^Hello world$' "$tmp/hello_client.out"; then
    pass "hello_client reconnected after the server restarted ($before events before, $(count '^Hello world$' "$tmp/hello_client.out") now)"
else
    fail "hello_client did not reconnect within 30 s"
    show "$tmp/hello_client.out" "$tmp/hello_client.err"
fi
if running "$client" && [[ $(grep -cv -e '^Hello world$' -e '^$' "$tmp/hello_client.out") -eq 0 ]]; then
    pass "hello_client prints only the events' data, and keeps running"
else
    fail "hello_client printed something else, or ended"
    show "$tmp/hello_client.out" "$tmp/hello_client.err"
fi
kill "$client" "$server" 2>/dev/null || true

# ------------------------------------------------------------------ topics, topics_client
start topics --port 0 --tick 50 --lifetime 100
topics=$pid
if ! port="$(port_of "$tmp/topics.out")" || [[ -z "$port" ]]; then
    fail "topics did not print its address"
    show "$tmp/topics.out" "$tmp/topics.err"
    exit 1
fi
base="http://127.0.0.1:$port"
declare -A sub_pid
for sub in all numbers metrics; do
    timeout 120 "$bin/topics_client" --sub "$sub" "$base" >"$tmp/client_$sub.out" 2>"$tmp/client_$sub.err" &
    sub_pid[$sub]=$!
    pids+=("$!")
done
if wait_for 30 at_least 3 '^cycles: ' "$tmp/client_all.out" && wait_for 30 at_least 1 '^ops: ' "$tmp/client_all.out" &&
    wait_for 30 at_least 2 '^numbers: ' "$tmp/client_all.out" && wait_for 30 at_least 2 '^numbers: ' "$tmp/client_numbers.out" &&
    wait_for 30 at_least 1 '^ops: ' "$tmp/client_metrics.out"; then
    pass "topics_client --sub all, numbers, metrics: events from both topics"
else
    fail "topics_client: missing events after 30 s"
    show "$tmp"/client_*.out "$tmp"/client_*.err "$tmp/topics.err"
fi
if [[ $(count '^numbers: ' "$tmp/client_metrics.out") -eq 0 && $(count '^\(cycles\|ops\): ' "$tmp/client_numbers.out") -eq 0 ]]; then
    pass "each stream gets its own topics only"
else
    fail "a stream got another topic's events"
    show "$tmp/client_numbers.out" "$tmp/client_metrics.out"
fi

rc=0
"$curl" -sS --max-time 10 "$base/metrics" >"$tmp/metrics.json" 2>&1 || rc=$?
json="$(cat "$tmp/metrics.json")"
if [[ $rc -eq 0 && "$json" =~ \"cycles\":[1-9] && "$json" =~ \"server\":\{.*\"sessions\":3, &&
    "$json" =~ \"provider\":\{\"subscribers\":3,\"published\":[1-9] ]]; then
    pass "GET /metrics: the counters, 3 sessions, 3 subscribers, messages published"
else
    fail "GET /metrics (exit $rc)"
    show "$tmp/metrics.json"
fi
rc=0
status="$("$curl" -s --max-time 10 -o "$tmp/bad_topic.out" -w '%{http_code}' "$base/events?topic=nope")" || rc=$?
if [[ $rc -eq 0 && "$status" == 400 && "$(cat "$tmp/bad_topic.out")" == "unknown topic: nope" ]]; then
    pass "an unknown topic is answered with 400"
else
    fail "GET /events?topic=nope: $status (exit $rc)"
    show "$tmp/bad_topic.out"
fi

# The cycles counter goes up by one per event: nothing lost, nothing twice, in order.
awk '/^cycles: /{ if (seen && $2 != last + 1) bad = 1; last = $2; seen = 1 } END { exit bad }' "$tmp/client_all.out" &&
    pass "cycles arrive in order, none missing" || {
    fail "cycles out of order or missing"
    show "$tmp/client_all.out"
}

rc=0
stop="$("$curl" -sS --max-time 10 -X POST "$base/stop")" || rc=$?
if [[ $rc -eq 0 && "$stop" == stopping ]]; then
    pass "POST /stop"
else
    fail "POST /stop: '$stop' (exit $rc)"
fi
for sub in all numbers metrics; do
    p=${sub_pid[$sub]}
    rc=0
    if wait_for 20 stopped "$p"; then
        wait "$p" || rc=$?
        if [[ $rc -eq 0 && "$(tail -n 1 "$tmp/client_$sub.out")" == "Server closed!" ]]; then
            pass "topics_client --sub $sub: 'Server closed!' and exit 0"
        else
            fail "topics_client --sub $sub ended with $rc"
            show "$tmp/client_$sub.out" "$tmp/client_$sub.err"
        fi
    else
        fail "topics_client --sub $sub still runs 20 s after /stop"
        show "$tmp/client_$sub.out" "$tmp/client_$sub.err"
    fi
done
rc=0
if wait_for 20 stopped "$topics"; then
    wait "$topics" || rc=$?
    if [[ $rc -eq 0 ]] && grep -qx 'topics: shut down' "$tmp/topics.out"; then
        pass "topics shut down gracefully"
    else
        fail "topics ended with $rc"
        show "$tmp/topics.out" "$tmp/topics.err"
    fi
else
    fail "topics still runs 20 s after /stop"
    show "$tmp/topics.out" "$tmp/topics.err"
fi

if [[ $failures -ne 0 ]]; then
    echo "examples_run: $failures check(s) FAILED" >&2
    exit 1
fi
echo "examples_run: PASSED"
