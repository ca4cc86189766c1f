#!/usr/bin/env bash
# curl_head.sh DEMO_SERVER: `curl -N` sees the full response head of /events before any event
# is published, then the event once it is. Every wait is bounded.
set -euo pipefail
server=$1
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$server" --host 127.0.0.1 --port 0 --heartbeat 0 --lifetime 60 >"$work/server.out" 2>&1 &
pids+=($!)
wait_for() { # wait_for FILE PATTERN SECONDS
    local deadline=$((SECONDS + $3))
    until grep -q -- "$2" "$1" 2>/dev/null; do
        if ((SECONDS > deadline)); then
            echo "curl_head: timed out waiting for '$2' in $1:"; cat "$1"; return 1
        fi
        sleep 0.05
    done
}
wait_for "$work/server.out" "listening on" 10
port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/server.out")

# curl -v reports the response head on stderr as it arrives (stdout may hold it back).
curl -N -s -v --max-time 20 "http://127.0.0.1:$port/events" >"$work/stream" 2>"$work/head" &
pids+=($!)
wait_for "$work/head" "^< X-Accel-Buffering: no" 10
# The head is complete (its blank line arrived) and no event has come yet.
wait_for "$work/head" $'^< \r$' 10
grep -q "^< HTTP/1.1 200 OK" "$work/head"
grep -qi "^< Content-Type: text/event-stream" "$work/head"
grep -qi "^< Cache-Control: no-cache" "$work/head"
if grep -q "^data:" "$work/stream"; then echo "curl_head: an event before any publish"; exit 1; fi

curl -s --max-time 10 -X POST "http://127.0.0.1:$port/publish?n=1&size=64" >"$work/publish"
grep -q '{"published":1}' "$work/publish"
wait_for "$work/stream" "^data: t=" 10
echo "curl_head: 1 passed, 0 failed"
