#!/bin/sh
# tests/latency-proxy (the simulated WAN of bench/run's *_wan rows) against a local echo
# server on a port the kernel picks:
#  1. a 1-byte ping through the proxy with 40 ms each way comes back after >= 80 ms, and
#     straight to the server in much less;
#  2. 4 MiB of random bytes sent through it come back byte for byte (order, no loss, no
#     duplicates), on two connections at once;
#  3. with --rate 1000000 (bytes/s each way), 500,000 bytes take >= 0.5 s to come back.
# Prints `ok …` per check; exits non-zero at the first failure.
set -u
D=$(mktemp -d /tmp/mpcd-proxy.XXXXXX)
trap 'rm -rf "$D"' EXIT
. tests/lib.sh

python3 - tests/latency-proxy "$D" <<'EOF' || fail "latency proxy"
import os, socket, subprocess, sys, threading, time
proxy, d = sys.argv[1], sys.argv[2]

def echo_server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    def serve(c):
        with c:
            while True:
                b = c.recv(1 << 16)
                if not b:
                    c.shutdown(socket.SHUT_WR)
                    return
                c.sendall(b)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=serve, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]

def start(*args):
    p = subprocess.Popen([proxy, *args], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if len(line) != 3 or line[1] != "->":
        sys.exit(f"FAIL: proxy printed {line}")
    host, port = line[0][len("tcp://"):].rsplit(":", 1)
    return p, (host, int(port))

def conn(addr):
    c = socket.create_connection(addr)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c

def rtt(addr, n):   # the best of n pings: a loaded machine delays some of them
    with conn(addr) as c:
        best = None
        for _ in range(n):
            t0 = time.monotonic()
            c.sendall(b"x")
            if c.recv(1) != b"x":
                sys.exit("FAIL: ping came back wrong")
            dt = time.monotonic() - t0
            best = dt if best is None else min(best, dt)
        return best

def roundtrip(addr, data, out):
    with conn(addr) as c:
        got = bytearray()
        def rd():
            while True:
                b = c.recv(1 << 16)
                if not b:
                    return
                got.extend(b)
        t = threading.Thread(target=rd)
        t.start()
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
        t.join(60)
        out.append(bytes(got))

port = echo_server()
p, addr = start("--delay-ms", "40", f"127.0.0.1:{port}")
try:
    # direct: the best of 50 (a ping of a make test beside another once took 41.9 ms at best
    # of 3); through the proxy 3 are enough, each at least 80 ms
    direct, proxied = rtt(("127.0.0.1", port), 50), rtt(addr, 3)
    if proxied < 0.080:
        sys.exit(f"FAIL: RTT through the proxy {proxied * 1e3:.1f} ms < 80 ms")
    if direct > 0.040:
        sys.exit(f"FAIL: direct RTT {direct * 1e3:.1f} ms: the machine is too slow to tell")
    print(f"ok RTT {proxied * 1e3:.1f} ms through a 40 ms proxy, {direct * 1e3:.2f} ms direct")
    datas = [os.urandom(4 << 20), os.urandom(4 << 20)]
    outs = [[], []]
    ts = [threading.Thread(target=roundtrip, args=(addr, datas[i], outs[i])) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    for i in range(2):
        if not outs[i] or outs[i][0] != datas[i]:
            n = len(outs[i][0]) if outs[i] else -1
            sys.exit(f"FAIL: connection {i}: {n} bytes back of {len(datas[i])}, or different")
    print("ok 2 x 4 MiB forwarded exactly, on two connections at once")
finally:
    p.terminate()
    p.wait()

p, addr = start("--delay-ms", "1", "--rate", "1000000", f"127.0.0.1:{port}")
try:
    data, out = os.urandom(500000), []
    t0 = time.monotonic()
    roundtrip(addr, data, out)
    dt = time.monotonic() - t0
    if not out or out[0] != data:
        sys.exit("FAIL: rate-limited bytes came back different")
    if dt < 0.5:
        sys.exit(f"FAIL: 500,000 bytes at 1 MB/s came back in {dt:.2f} s")
    print(f"ok 500,000 bytes at 1 MB/s each way: {dt:.2f} s")
finally:
    p.terminate()
    p.wait()
EOF
