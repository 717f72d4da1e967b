#!/usr/bin/env python3
"""A client that leaves Nagle's algorithm on, as Python's http.client, Java's
HttpURLConnection and many embedded stacks do, and times its first request.

  nagle_client.py --connect HOST:PORT [--tls --cert F --key F --cafile F]
                  [--request STRING] [--count N]

Per connection: connect (TCP_NODELAY never set), the TLS handshake if --tls,
one request, time until the first byte of the answer; then a second request
on the same connection, timed the same way. Prints one line per connection:
  first_ms=X second_ms=Y
and, after N connections, "median_first_ms=X median_second_ms=Y". The
request must keep the connection open (HTTP/1.1 keep-alive); the answer is
read until its head and Content-Length body are in.
"""
import argparse, socket, ssl, statistics, sys, time


def read_answer(s):
    """Reads one HTTP answer with a Content-Length body; returns the time the
    first byte came."""
    buf = b""
    first = None
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("closed before the answer's head")
        if first is None:
            first = time.monotonic()
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("closed inside the body")
        body += chunk
    return first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--cafile")
    ap.add_argument("--request", default="GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    ap.add_argument("--count", type=int, default=5)
    a = ap.parse_args()
    host, _, port = a.connect.rpartition(":")
    req = a.request.encode().decode("unicode_escape").encode("latin-1")
    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if a.cafile:
            ctx.load_verify_locations(a.cafile)
        if a.cert:
            ctx.load_cert_chain(a.cert, a.key)
    firsts, seconds = [], []
    for _ in range(a.count):
        raw = socket.create_connection((host, int(port)), timeout=10)
        s = ctx.wrap_socket(raw) if ctx else raw
        t = time.monotonic()
        s.sendall(req)
        first = (read_answer(s) - t) * 1000
        t = time.monotonic()
        s.sendall(req)
        second = (read_answer(s) - t) * 1000
        s.close()
        print("first_ms=%.2f second_ms=%.2f" % (first, second))
        firsts.append(first)
        seconds.append(second)
    print("median_first_ms=%.2f median_second_ms=%.2f" %
          (statistics.median(firsts), statistics.median(seconds)))


if __name__ == "__main__":
    sys.exit(main())
