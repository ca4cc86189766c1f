#!/usr/bin/env bash
# Runs examples/llm_relay against the fake LLM API tests/peers/llm-upstream.mjs, with curl as the
# browsers (the ctest test examples_relay):
#
#   tests/examples_relay.sh LLM_RELAY NODE PEERS_DIR CURL
#
# Checks: an answer's tokens arrive in order and then `done`; a subscriber cut mid-answer and
# resumed with Last-Event-ID gets every token exactly once; ?since= replays to a first visit;
# parallel asks in one room each arrive complete and in order; an unreachable upstream is reported
# in `done`; SIGINT with an answer in flight delivers its `done` (cut), then `bye`, and the relay
# exits 0; SIGTERM does the same with nothing in flight.
# Loopback only, ports the kernel picks; every wait is bounded; every process is killed when the
# script ends, however it ends.
set -euo pipefail

if [[ $# -ne 4 ]]; then
    echo "usage: $0 LLM_RELAY NODE PEERS_DIR CURL" >&2
    exit 2
fi
relay_bin=$1
node=$2
peers=$3
curl=$4

tmp="$(mktemp -d)"
pids=()
cleanup() {
    exec 4>&- 5<&- 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
    echo "examples_relay: FAILED: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "examples_relay: ok: $*"; }
show() { for f in "$@"; do echo "--- $f" >&2; cat "$f" >&2 || true; done; }

# wait_for SECONDS COMMAND...: polls COMMAND until it succeeds, for at most SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        if ((SECONDS >= deadline)); then return 1; fi
        sleep 0.05
    done
}
running() { kill -0 "$1" 2>/dev/null; }
stopped() { ! running "$1"; }
has() { grep -q -- "$2" "$1" 2>/dev/null; } # has FILE PATTERN

# events FILE: the complete events of an event stream, one a line: id TAB type TAB ask TAB text,
# where text is the token (a chunk's delta content), the error of a `done`, or the data.
events() {
    "$node" -e '
      const text = require("fs").readFileSync(process.argv[1], "utf8");
      const blocks = text.split("\n\n");
      blocks.pop(); // not terminated: incomplete
      for (const b of blocks) {
        const f = { id: "", event: "message", data: [] };
        for (const line of b.split("\n")) {
          const i = line.indexOf(": ");
          if (i < 0 || line.startsWith(":")) continue;
          const k = line.slice(0, i), v = line.slice(i + 2);
          if (k === "data") f.data.push(v); else f[k] = v;
        }
        if (f.data.length === 0) continue;
        const data = f.data.join("\n");
        let ask = "", out = data;
        try {
          const j = JSON.parse(data);
          ask = String(j.ask);
          out = j.chunk ? j.chunk.choices[0].delta.content : (j.error ?? "");
        } catch {}
        console.log([f.id, f.event, ask, out].join("\t"));
      }' "$1"
}
# tokens FILE ASK: the tokens of answer ASK in FILE, one a line, then "done<TAB>error".
tokens() {
    events "$1" | awk -F'\t' -v ask="$2" '$3 == ask && $2 == "token" { print $4 } $3 == ask && $2 == "done" { print "done\t" $4 }'
}
# expected PROMPT: the fake upstream's answer to PROMPT (n=20), as tokens prints it.
expected() {
    printf '%s\n' "You said: $1. "
    for k in $(seq 1 19); do printf 'tok%d \n' "$k"; done
    printf 'done\t\n'
}

# ------------------------------------------------------------------ the fake upstream
mkfifo "$tmp/up.in" "$tmp/up.out"
"$node" "$peers/llm-upstream.mjs" --lifetime 110 <"$tmp/up.in" >"$tmp/up.out" &
pids+=($!)
exec 4>"$tmp/up.in"
exec 5<"$tmp/up.out"
up_port=""
read -r -t 20 -u 5 up_port || true
if [[ ! "$up_port" =~ ^[0-9]+$ ]]; then
    echo "examples_relay: FAILED: the fake upstream did not print its port within 20 s" >&2
    exit 1
fi

# start_relay NAME UPSTREAM_URL: runs the relay on port 0 (stdout $tmp/NAME.out); sets relay, base.
start_relay() {
    "$relay_bin" "$2" 0 >"$tmp/$1.out" 2>"$tmp/$1.err" &
    relay=$!
    pids+=("$relay")
    if ! wait_for 20 has "$tmp/$1.out" 'http://127\.0\.0\.1:[0-9]'; then
        fail "$1 did not print its address"
        show "$tmp/$1.out" "$tmp/$1.err"
        exit 1
    fi
    base="$(sed -n 's|^llm_relay: \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$tmp/$1.out" | head -n 1)"
}
# subscribe NAME PATH [HEADER]: a curl -N subscriber writing $tmp/NAME; returns once its stream's
# head arrived (then it is subscribed); sets sub.
subscribe() {
    local extra=()
    if [[ $# -ge 3 ]]; then extra=(-H "$3"); fi
    "$curl" -sN --max-time 60 -D "$tmp/$1.head" "${extra[@]}" "$base$2" >"$tmp/$1" 2>/dev/null &
    sub=$!
    pids+=("$sub")
    wait_for 10 has "$tmp/$1.head" '^HTTP/1.1 200' || fail "subscriber $1 got no stream head"
}
# ask ROOM PROMPT: POST /ask; prints the answer's number.
ask() {
    "$curl" -sS --max-time 10 -X POST --data-binary "$2" "$base/ask?topic=$1" | sed -n 's/^{"ask":\([0-9]*\)}$/\1/p'
}

start_relay relay "http://127.0.0.1:$up_port/v1/chat/completions?n=20&ms=40"
main=$relay
echo "examples_relay: relay on $base, upstream on port $up_port"

# 1. One answer: every token in order, then done.
subscribe s1 "/events?topic=r1"
a1="$(ask r1 hello)"
if wait_for 20 has "$tmp/s1" '^event: done' && cmp -s <(tokens "$tmp/s1" "$a1") <(expected hello); then
    pass "answer $a1: 20 tokens in order, then done"
else
    fail "answer in r1 (ask '$a1')"
    show "$tmp/s1"
fi

# 2. A subscriber cut mid-answer, resumed with its Last-Event-ID: every token exactly once.
subscribe s2a "/events?topic=r2"
a2="$(ask r2 'cut me')"
wait_for 20 has "$tmp/s2a" 'tok5 ' || fail "no tok5 before the cut"
kill "$sub" 2>/dev/null || true
wait "$sub" 2>/dev/null || true
last_id="$(events "$tmp/s2a" | tail -n 1 | cut -f1)"
if has "$tmp/s2a" '^event: done'; then fail "the answer ended before the cut: the test proves nothing"; fi
subscribe s2b "/events?topic=r2" "Last-Event-ID: $last_id"
if wait_for 20 has "$tmp/s2b" '^event: done' &&
    cmp -s <(cat <(tokens "$tmp/s2a" "$a2") <(tokens "$tmp/s2b" "$a2")) <(expected 'cut me'); then
    pass "cut after $(tokens "$tmp/s2a" "$a2" | wc -l) tokens, resumed after id $last_id: nothing missed or doubled"
else
    fail "cut and resume in r2 (ask '$a2', last id '$last_id')"
    show "$tmp/s2a" "$tmp/s2b"
fi

# 3. A first visit with ?since=: the hook starts the stream after that id (the answer of check 1).
first_id="$(events "$tmp/s1" | awk -F'\t' '$2 == "token" { print $1; exit }')"
subscribe s3 "/events?topic=r1&since=$first_id"
if wait_for 10 has "$tmp/s3" '^event: done' && cmp -s <(tokens "$tmp/s3" "$a1") <(expected hello | tail -n +2); then
    pass "?since=$first_id replays the rest of answer $a1 to a first visit"
else
    fail "?since=$first_id"
    show "$tmp/s3"
fi

# 4. Three asks in parallel in one room: each complete and in order.
subscribe s4 "/events?topic=r4"
asks=()
for p in one two three; do asks+=("$(ask r4 "$p")"); done
if wait_for 20 eval '[[ $(grep -c "^event: done" "$tmp/s4") -eq 3 ]]'; then
    ok=1
    for i in 0 1 2; do
        prompts=(one two three)
        cmp -s <(tokens "$tmp/s4" "${asks[$i]}") <(expected "${prompts[$i]}") || ok=0
    done
    if [[ $ok -eq 1 ]]; then pass "three parallel answers (${asks[*]}), each complete and in order"; else fail "parallel answers"; show "$tmp/s4"; fi
else
    fail "three parallel answers did not all end"
    show "$tmp/s4"
fi

# 5. An unreachable upstream: done says why; SIGTERM with nothing in flight: exit 0.
start_relay dead "http://127.0.0.1:1/v1/chat/completions"
subscribe s5 "/events?topic=r5"
a5="$(ask r5 anyone)"
if wait_for 20 has "$tmp/s5" '^event: done' && tokens "$tmp/s5" "$a5" | grep -qi $'^done\t.*refused'; then
    pass "unreachable upstream: $(tokens "$tmp/s5" "$a5" | tr '\t' ' ')"
else
    fail "unreachable upstream"
    show "$tmp/s5"
fi
kill -TERM "$relay" 2>/dev/null || true
rc=0
wait_for 10 stopped "$relay" && wait "$relay" || rc=$?
if stopped "$relay" && [[ $rc -eq 0 ]] && wait_for 10 has "$tmp/s5" '^event: bye'; then
    pass "SIGTERM: bye, exit 0"
else
    fail "SIGTERM (exit $rc)"
    show "$tmp/s5" "$tmp/dead.err"
fi

# 6. SIGINT with an answer in flight: its done (cut) first, then bye, and exit 0.
base="$(sed -n 's|^llm_relay: \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p' "$tmp/relay.out" | head -n 1)"
subscribe s6 "/events?topic=r6"
s6=$sub
a6="$(ask r6 interrupted)"
wait_for 20 has "$tmp/s6" 'tok3 ' || fail "no tok3 before SIGINT"
kill -INT "$main" 2>/dev/null || true
rc=0
wait_for 10 stopped "$main" && wait "$main" || rc=$?
wait_for 10 stopped "$s6" || true
last_two="$(events "$tmp/s6" | tail -n 2 | cut -f2 | tr '\n' ' ')"
if stopped "$main" && [[ $rc -eq 0 && "$last_two" == "done bye " ]] &&
    tokens "$tmp/s6" "$a6" | tail -n 1 | grep -q $'^done\t.\+' && stopped "$s6"; then
    pass "SIGINT mid-answer: $(tokens "$tmp/s6" "$a6" | tail -n 1 | tr '\t' ' '), then bye; the stream ended; exit 0"
else
    fail "SIGINT mid-answer (exit $rc, last events: $last_two)"
    show "$tmp/s6" "$tmp/relay.err"
fi

if [[ $failures -ne 0 ]]; then
    echo "examples_relay: $failures check(s) FAILED" >&2
    exit 1
fi
echo "examples_relay: PASSED"
