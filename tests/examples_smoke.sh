#!/usr/bin/env bash
# Smoke test of the examples sse-cat and llm_read against tests/peers/misbehaving-server.mjs
# (the ctest test examples_smoke):
#
#   tests/examples_smoke.sh SSE_CAT LLM_READ NODE PEERS_DIR
#
# Every wait is bounded; the server exits when this script ends, however it ends (its stdin is a
# FIFO this script holds open).
set -euo pipefail

if [[ $# -ne 4 ]]; then
    echo "usage: $0 SSE_CAT LLM_READ NODE PEERS_DIR" >&2
    exit 2
fi
sse_cat=$1
llm_read=$2
node=$3
peers=$4

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
    exec 4>&- 5<&- 2>/dev/null || true
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() {
    echo "examples_smoke: FAILED: $*" >&2
    failures=$((failures + 1))
}
pass() { echo "examples_smoke: ok: $*"; }

# The server: stdin and stdout are FIFOs, so the port is read with a deadline and the server
# sees its stdin close when this script exits.
mkfifo "$tmp/in" "$tmp/out"
"$node" "$peers/misbehaving-server.mjs" --lifetime 100 <"$tmp/in" >"$tmp/out" &
server_pid=$!
exec 4>"$tmp/in"
exec 5<"$tmp/out"
port=""
read -r -t 20 -u 5 port || true
if [[ ! "$port" =~ ^[0-9]+$ ]]; then
    echo "examples_smoke: FAILED: the server did not print its port within 20 s" >&2
    exit 1
fi
base="http://127.0.0.1:$port"
echo "examples_smoke: misbehaving server on $base"

# Runs a command with a deadline; its stdout goes to $tmp/stdout, stderr to $tmp/stderr; sets rc.
run() {
    rc=0
    timeout 60 "$@" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
}

# Compares $tmp/stdout with the expected text in $tmp/expected.
same_output() {
    if cmp -s "$tmp/stdout" "$tmp/expected"; then
        return 0
    fi
    echo "--- expected" >&2
    cat "$tmp/expected" >&2
    echo "--- got" >&2
    cat "$tmp/stdout" >&2
    echo "--- stderr" >&2
    cat "$tmp/stderr" >&2
    return 1
}

# 1. sse-cat --json: CR-only line endings, a clean end with --no-retry -> exit 0.
run "$sse_cat" "$base/cr-only" --no-retry --json
cat >"$tmp/expected" <<'EOF'
{"type":"message","data":"one\ntwo","id":""}
{"type":"typed","data":"three","id":"1"}
{"type":"message","data":"four","id":"1"}
EOF
if [[ $rc -eq 0 ]] && same_output; then pass "sse-cat --json /cr-only"; else fail "sse-cat --json /cr-only (exit $rc)"; fi

# 2. sse-cat's normalized stream: every byte in its own chunk.
run "$sse_cat" "$base/split-every-byte?chunked=1" --no-retry
printf 'data: first\n\nevent: typed\nid: 42\ndata: line one\ndata: line two\n\nid: 42\ndata: caf\xc3\xa9 \xe2\x98\x95 \xf0\x9f\x98\x80\n\nid: 42\ndata: no-space\ndata: \n\ndata: after-id-reset\n\n' >"$tmp/expected"
if [[ $rc -eq 0 ]] && same_output; then pass "sse-cat /split-every-byte"; else fail "sse-cat /split-every-byte (exit $rc)"; fi

# 3. sse-cat: a POST body, echoed.
run "$sse_cat" "$base/echo" -d 'hello body' -H 'Content-Type: text/plain' --no-retry --json
cat >"$tmp/expected" <<'EOF'
{"type":"method","data":"POST","id":""}
{"type":"message","data":"hello body","id":""}
EOF
if [[ $rc -eq 0 ]] && same_output; then pass "sse-cat -d /echo"; else fail "sse-cat -d /echo (exit $rc)"; fi

# 4. sse-cat reconnects after connections cut mid-event, and stops after --max-events.
run "$sse_cat" "$base/drop-mid-event?n=10&per=4" --max-events 10 --json
: >"$tmp/expected"
for i in $(seq 1 10); do
    printf '{"type":"message","data":"event %d\\nmore %d","id":"%d"}\n' "$i" "$i" "$i" >>"$tmp/expected"
done
if [[ $rc -eq 0 ]] && same_output && [[ $(grep -c 'reconnecting in' "$tmp/stderr") -eq 2 ]]; then
    pass "sse-cat --max-events /drop-mid-event"
else
    fail "sse-cat --max-events /drop-mid-event (exit $rc)"
    cat "$tmp/stderr" >&2
fi

# 5. sse-cat on a wrong content type: non-zero, with a one-line reason.
run "$sse_cat" "$base/wrong-type"
if [[ $rc -ne 0 && ! -s "$tmp/stdout" && $(wc -l <"$tmp/stderr") -eq 1 ]] &&
    grep -q '^sse-cat: unexpected content type.*(HTTP 200)$' "$tmp/stderr"; then
    pass "sse-cat /wrong-type fails: $(cat "$tmp/stderr")"
else
    fail "sse-cat /wrong-type (exit $rc)"
    cat "$tmp/stdout" "$tmp/stderr" >&2
fi

# 6. sse-cat --no-retry on a closed port: non-zero, with the cause.
run "$sse_cat" "http://127.0.0.1:1/" --no-retry
if [[ $rc -eq 1 && $(wc -l <"$tmp/stderr") -eq 1 ]] && grep -qi '^sse-cat: .*refused' "$tmp/stderr"; then
    pass "sse-cat --no-retry on a closed port fails: $(cat "$tmp/stderr")"
else
    fail "sse-cat --no-retry on a closed port (exit $rc)"
    cat "$tmp/stderr" >&2
fi

# 7. llm_read against the mock completion: the text, exactly.
prompt='Say "hello" in five words'
"$node" -e '
  fetch(process.argv[1]).then(async (r) => {
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    process.stdout.write(await r.text() + "\n");
  }).catch((e) => { console.error(e); process.exit(1); });' \
    "$base/llm/expected?n=500&prompt=$("$node" -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$prompt")" \
    >"$tmp/expected"
rc=0
LLM_URL="$base/llm?n=500" LLM_API_KEY=test-key LLM_MODEL=mock-1 timeout 60 "$llm_read" "$prompt" \
    >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
if [[ $rc -eq 0 ]] && same_output; then pass "llm_read assembles the 500 chunks exactly"; else fail "llm_read (exit $rc)"; fi

if [[ $failures -ne 0 ]]; then
    echo "examples_smoke: $failures check(s) FAILED" >&2
    exit 1
fi
echo "examples_smoke: PASSED"
