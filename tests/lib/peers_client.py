#!/usr/bin/env python3
"""peers_client.py -- the TLS client of tests/bench/peers.sh and concurrent.sh, of
tests/soak/soak.sh and of tests/integration/26-first-request.t.

Two modes, both speaking HTTP/1.1 keep-alive over TLS 1.3 with the lab's
client certificate (or plain TCP with --plain, for the upstream direct):

  latency   COUNT new connections, one after the other. For each: TCP connect
            and TLS handshake (timed together, as a client sees them), then
            one GET, timed from the write until the whole response head has
            arrived, its body read, and a second GET on the same connection,
            timed the same way. Prints one line per connection:
              sample handshake_ms=X first_ms=X second_ms=X
            and at the end
              summary ok=N errors=N version=V cipher=C
            The socket keeps Nagle's algorithm (no TCP_NODELAY) unless
            --nodelay: a small write waits for the ACK of the data before
            it. After a TLS 1.3 handshake that data is the client's last
            flight (certificate, Finished): if the server sends nothing back
            right away (a NewSessionTicket would do), its delayed ACK (40 ms
            on Linux) holds the request. Comparing the two shows how much
            of a first request's time is that, and how much the proxy's own.

  idle      COUNT connections held open at once: each one does its handshake
            and one GET (so every proxy has connected it upstream and been
            through one request), then all stay open, idle. With TCP_NODELAY
            (the time to open them is not measured, and should not be 40 ms
            each: see above). Writes COUNT to
            --ready (atomically) once all are established, then waits until
            it is killed. On failure writes "error: ..." there and exits 1.

Exit status: 0 when every connection got two (latency) or one (idle) 200
answers, 1 otherwise.
"""

import argparse
import os
import signal
import socket
import ssl
import sys
import time


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(args.ca)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


def connect(args, ctx):
    s = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    if args.nodelay:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ctx is None:
        return s
    # The server certificate names IP 127.0.0.1: checked like any client would.
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")


class Reader:
    """Reads HTTP/1.1 responses (Content-Length framed) off one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed before the response head")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head

    def body(self, head):
        """Skips the body of the response whose head is given. Only a
        Content-Length body (or none: 1xx, 204, 304) is understood; any other
        framing (chunked, or to the end of the connection) raises, rather
        than leave its bytes to be read as the next response."""
        status = head.split(b"\r\n", 1)[0].split(b" ")
        code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
        length = None
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            k = k.strip().lower()
            if k == b"transfer-encoding":
                raise ValueError("response body framing not handled: "
                                 "Transfer-Encoding: %s" % v.strip().decode(errors="replace"))
            if k == b"content-length":
                length = int(v.strip())
        if length is None:
            if 100 <= code < 200 or code in (204, 304):
                return
            raise ValueError("response %d without Content-Length: body framing "
                             "not handled" % code)
        while len(self.buf) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed inside the body")
            self.buf += chunk
        self.buf = self.buf[length:]


REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: peers_client\r\n\r\n"


def request(sock, reader):
    """One GET; returns the milliseconds from the write to the response head."""
    t0 = time.perf_counter()
    sock.sendall(REQUEST)
    head = reader.head()
    t1 = time.perf_counter()
    status = head.split(b" ", 2)[1] if b" " in head else b"?"
    if status != b"200":
        raise ValueError("status %s" % status.decode(errors="replace"))
    reader.body(head)
    return (t1 - t0) * 1000.0


def latency(args):
    ctx = None if args.plain else tls_context(args)
    ok = errors = 0
    version = cipher = "plain"
    for _ in range(args.count):
        s = None
        try:
            t0 = time.perf_counter()
            s = connect(args, ctx)
            hs = (time.perf_counter() - t0) * 1000.0
            if ctx is not None:
                version, cipher = s.version(), s.cipher()[0]
            r = Reader(s)
            first = request(s, r)
            second = request(s, r)
            print("sample handshake_ms=%.3f first_ms=%.3f second_ms=%.3f" % (hs, first, second))
            ok += 1
        except (OSError, EOFError, ValueError) as e:
            print("error %s: %s" % (type(e).__name__, e))
            errors += 1
        finally:
            if s is not None:
                s.close()
    print("summary ok=%d errors=%d version=%s cipher=%s" % (ok, errors, version, cipher))
    return 0 if errors == 0 else 1


def write_ready(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text + "\n")
    os.rename(path + ".tmp", path)


def idle(args):
    args.nodelay = True
    ctx = None if args.plain else tls_context(args)
    held = []
    try:
        for _ in range(args.count):
            s = connect(args, ctx)
            held.append(s)
            request(s, Reader(s))
    except (OSError, EOFError, ValueError) as e:
        write_ready(args.ready, "error: after %d connections: %s: %s" % (len(held), type(e).__name__, e))
        return 1
    write_ready(args.ready, str(len(held)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("latency", "idle"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=30)
    p.add_argument("--plain", action="store_true", help="no TLS (the upstream direct)")
    p.add_argument("--nodelay", action="store_true", help="latency: set TCP_NODELAY")
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ready", help="idle: file written once all are open")
    p.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    if not args.plain and not (args.ca and args.cert and args.key):
        p.error("--ca, --cert and --key are needed without --plain")
    if args.mode == "idle" and not args.ready:
        p.error("idle needs --ready")
    return latency(args) if args.mode == "latency" else idle(args)


if __name__ == "__main__":
    sys.exit(main())
