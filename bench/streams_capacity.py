#!/usr/bin/env python3
"""Holds N concurrent event streams open against a running demo_server and reports the server's
RSS per connection, then publishes 10 events and checks that every stream receives them.

  ulimit -n 20000; taskset -c 1 build/bench/examples/demo_server --port 18500 --heartbeat 0 &
  ulimit -n 20000; taskset -c 0 python3 bench/streams_capacity.py 19000 18500 $!

Loopback only; every read has a timeout.
"""
import re
import resource
import socket
import sys
import time
import urllib.request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    n, port, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 64)), hard))
    base = rss_kib(pid)
    start = time.time()
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    for s in socks:  # every response head
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit("a stream was closed before its head")
            got += chunk
    connected = time.time() - start
    time.sleep(1)
    after = rss_kib(pid)
    print(f"streams={n} connect_and_heads={connected:.2f}s rss_before={base}KiB rss_after={after}KiB "
          f"rss_per_stream={(after - base) / n:.2f}KiB")
    req = urllib.request.Request(f"http://127.0.0.1:{port}/publish?n=10&size=64", method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    for s in socks:
        got = b""
        s.settimeout(30)
        while got.count(b"\n\n") < 10:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("a stream was closed before its 10 events")
            got += chunk
    print(f"all {n} streams received 10 events; rss_after_publish={rss_kib(pid)}KiB")


if __name__ == "__main__":
    main()
