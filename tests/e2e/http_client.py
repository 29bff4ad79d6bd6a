#!/usr/bin/env python3
"""HTTP clients for tests/e2e/test_http.c (python3's http.client and raw
sockets). Each subcommand prints what it saw and exits 0 when the server
behaved, 1 (with the reason on stderr) when not.

  pipeline PORT N     N GETs written at once on one connection, then the
                      N replies read in order (http.client's response
                      parser on the one socket)
  slowloris PORT MS   a head sent one byte every MS ms: expects 408 and
                      the close before the head is complete
  chunked PORT        a chunked POST to / (405, body discarded), then a GET
                      on the same connection
  raw PORT TEXT       TEXT (backslash escapes) on a fresh connection;
                      prints the reply and <EOF> or <OPEN> after it
"""
import http.client
import socket
import sys
import time


def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(1)


class SharedFile:
    """One buffered reader for every response of the connection (each
    HTTPResponse would make its own and lose what the last read ahead),
    which a response's close() must not close."""
    def __init__(self, f):
        self.f = f

    def makefile(self, *a, **k):
        return self

    def close(self):
        pass

    def __getattr__(self, name):
        return getattr(self.f, name)


def pipeline(port, n):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    shared = SharedFile(s.makefile("rb"))
    reqs = b"".join(b"GET /%s HTTP/1.1\r\nHost: t\r\n\r\n" % (b"" if i % 2 == 0 else b"nope")
                    for i in range(n))
    s.sendall(reqs)
    for i in range(n):
        r = http.client.HTTPResponse(shared)
        r.begin()
        body = r.read()
        want = 200 if i % 2 == 0 else 404
        if r.status != want:
            fail("reply %d: status %d, want %d" % (i, r.status, want))
        if i == 0:
            print("first body %r" % body)
    print("pipelined %d requests, %d replies in order" % (n, n))


def slowloris(port, ms):
    s = socket.create_connection(("127.0.0.1", port))
    head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    t0 = time.monotonic()
    s.settimeout(ms / 1000.0)
    got = b""
    for i, b in enumerate(head):
        try:
            s.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            d = s.recv(4096)
            if not d:
                break
            got += d
        except socket.timeout:
            pass
        if got.endswith(b"\n408 Request Timeout\n"):
            break
    s.settimeout(3)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except (socket.timeout, ConnectionResetError):
        pass
    dt = time.monotonic() - t0
    print("after %.2f s, %d of %d head bytes sent: %r" % (dt, i, len(head), got[:60]))
    if not got.startswith(b"HTTP/1.1 408 ") or b"Connection: close\r\n" not in got:
        fail("no 408 with Connection: close: %r" % got)
    if i >= len(head) - 1:
        fail("the whole head went out before the 408")


def chunked(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    body = (b"x" * 1000 for _ in range(50))      # a generator: sent chunked
    c.request("POST", "/", body=body, encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    r = c.getresponse()
    r.read()
    if r.status != 405:
        fail("chunked POST: %d, want 405" % r.status)
    sock = c.sock
    c.request("GET", "/")
    r = c.getresponse()
    b = r.read()
    if r.status != 200 or c.sock is not sock:
        fail("GET after the chunked body: %d (same connection: %s)" % (r.status, c.sock is sock))
    print("chunked POST 405, then GET 200 %r on the same connection" % b)


def raw(port, text):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(text.encode().decode("unicode_escape").encode("latin1"))
    s.settimeout(1.5)
    out = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                out += b"<EOF>"
                break
            out += d
    except socket.timeout:
        out += b"<OPEN>"
    except ConnectionResetError:
        out += b"<RESET>"
    sys.stdout.write(out.decode("latin1"))


def main():
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "pipeline":
        pipeline(port, int(sys.argv[3]))
    elif cmd == "slowloris":
        slowloris(port, int(sys.argv[3]))
    elif cmd == "chunked":
        chunked(port)
    elif cmd == "raw":
        raw(port, sys.argv[3])
    else:
        fail("unknown command " + cmd)


main()
