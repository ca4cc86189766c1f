#!/usr/bin/env python3
"""demo_server's GET /metrics read by the Prometheus project's own parser (Debian's
python3-prometheus-client): every family parses, has the type and help it should, and the
values agree with GET /stats taken around it (counters that only grow lie between the two).

    tests/interop/metrics.py DEMO_SERVER

Loopback only; the server picks its port and is bounded by --lifetime; every wait is bounded.
"""
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("metrics.py: FAIL: no prometheus_client; install Debian's python3-prometheus-client "
             "(scripts/test.sh does)")


def fetch(port, path, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: metrics.py DEMO_SERVER")
    server = subprocess.Popen([sys.argv[1], "--host", "127.0.0.1", "--port", "0", "--lifetime", "60",
                               "--replay", "finite:100"], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # the start-up line; --lifetime bounds the wait
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
        assert m, f"no start-up line: {line!r}"
        port = int(m.group(1))

        # Something to count: a publish with no subscriber, a request that is not HTTP.
        assert fetch(port, "/publish?n=3&size=64", "POST")[0] == 200
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 400 "), answer
        deadline = time.monotonic() + 10
        while json.loads(fetch(port, "/stats")[2])["published"] < 3:
            assert time.monotonic() < deadline, "3 messages not published in 10 s"
            time.sleep(0.02)

        before = json.loads(fetch(port, "/stats")[2])
        status, ctype, text = fetch(port, "/metrics")
        after = json.loads(fetch(port, "/stats")[2])
        assert status == 200
        assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype

        families = {f.name: f for f in text_string_to_metric_families(text)}
        want = {  # family (the parser drops _total from counters): type, /stats key
            "sse_connections": ("gauge", "connections"),
            "sse_streams": ("gauge", "sessions"),
            "sse_queued_bytes": ("gauge", "queued_bytes"),
            "sse_connections_accepted": ("counter", "accepted"),
            "sse_frames_written": ("counter", "frames_written"),
            "sse_writes": ("counter", "writes"),
            "sse_written_bytes": ("counter", "bytes_written"),
            "sse_heartbeats": ("counter", None),
            "sse_overflows": ("counter", "overflows"),
            "sse_dropped_frames": ("counter", None),
            "sse_rejected": ("counter", None),
            "sse_timed_out": ("counter", "timed_out"),
            "sse_provider_subscribers": ("gauge", "subscribers"),
            "sse_provider_published": ("counter", "published"),
            "sse_provider_delivered": ("counter", "delivered"),
            "sse_provider_replayed": ("counter", "replayed"),
            "sse_provider_overflows": ("counter", None),
            "sse_provider_gaps": ("counter", "gaps"),
        }
        assert set(families) == set(want), sorted(set(families) ^ set(want))
        for name, (kind, key) in want.items():
            f = families[name]
            assert f.type == kind, (name, f.type)
            assert f.documentation, name
            samples = [s for s in f.samples if not s.name.endswith("_created")]
            if name == "sse_rejected":
                reasons = {s.labels["reason"]: s.value for s in samples}
                assert set(reasons) == {"head_too_large", "bad_request", "too_many_connections"}, reasons
                assert before["rejected_bad_request"] <= reasons["bad_request"] <= after["rejected_bad_request"]
                assert reasons["bad_request"] >= 1  # the request above
                continue
            assert len(samples) == 1, (name, samples)
            if kind == "counter":
                assert samples[0].name == name + "_total", samples[0].name
            if key is None:
                continue
            value = samples[0].value
            lo, hi = sorted((before[key], after[key]))
            if kind == "counter":
                assert lo <= value <= hi, (name, before[key], value, after[key])
            else:  # a gauge may move either way between the two: it is within both's range, give or take
                assert abs(value - before[key]) <= 2 or abs(value - after[key]) <= 2, (name, before[key], value, after[key])
        assert families["sse_provider_published"].samples[0].value == 3
        print(f"metrics.py: ok: {len(families)} families parsed by prometheus_client")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
