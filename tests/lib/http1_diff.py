"""http1_diff.py — a differential check of daneproxy's HTTP/1.1 framing
against h11 (Python's independent HTTP/1.1 implementation, python3-h11).

    python3 http1_diff.py DP_HTTP1_FRAME FILE...

For each FILE (one client stream), dp-http1-frame says how the proxy cuts
it into messages and what it forwards upstream. This script checks, with h11
acting as the upstream server:
  - the forwarded bytes parse, message by message, to the same method and
    target, and each message ends exactly where the proxy says (the upstream
    sees the same message boundaries: no smuggled request);
  - when h11 also accepts the client's stream, it ends each message at the
    same input offset and sees the same body as the upstream does;
  - what the proxy accepts and h11 refuses is reported as "laxer" (and fails
    the check): the proxy must not be more permissive than an independent
    strict parser. What h11 accepts and the proxy refuses is fine (stricter).
    One allowance: empty lines before a request line (RFC 9112 §2.2), which
    the proxy skips and h11 0.14 refuses, are skipped before h11 sees them.
Prints TAP: one point per file. Exit 1 if any point failed."""
import json
import subprocess
import sys

import h11


def h11_messages(data, count):
    """The first count messages of data per h11 as (method, target, body,
    end offset); stops early at a refusal, an incomplete message or an
    upgrade. Returns (messages, error text or None)."""
    out = []
    off = 0
    while len(out) < count:
        # RFC 9112 §2.2: a server SHOULD ignore at least one empty line
        # before a request line. The proxy skips up to two (and forwards
        # none); h11 0.14 refuses them, so skip them here as the proxy does.
        for _ in range(2):
            if data[off:off + 2] == b"\r\n":
                off += 2
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        conn.receive_data(data[off:])
        conn.receive_data(b"")  # the stream ends here: no more bytes come
        req, body = None, b""
        try:
            while True:
                ev = conn.next_event()
                if isinstance(ev, h11.Request):
                    req = ev
                elif isinstance(ev, h11.Data):
                    body += ev.data
                elif isinstance(ev, h11.EndOfMessage):
                    break
                elif ev is h11.NEED_DATA or ev is h11.PAUSED:
                    return out, "incomplete"
                elif isinstance(ev, h11.ConnectionClosed):
                    return out, "incomplete"
        except h11.RemoteProtocolError as e:
            return out, "refused: %s" % e
        rest = conn.trailing_data[0]
        end = len(data) - len(rest)
        out.append((req.method.decode("latin-1"), req.target.decode("latin-1"),
                    body, end))
        off = end
    return out, None


def check(line):
    r = json.loads(line)
    ours = r["messages"]
    fwd = bytes.fromhex(r["out"])
    problems = []
    # 1. The upstream's view of what we forward.
    up, err = h11_messages(fwd, len(ours))
    if len(up) != len(ours):
        problems.append("upstream parses %d of %d forwarded messages (%s)"
                        % (len(up), len(ours), err))
    for i, (m, u) in enumerate(zip(ours, up)):
        if (m["method"], m["target"], m["out_end"]) != (u[0], u[1], u[3]):
            problems.append("message %d: proxy %s %s ends at %d, upstream "
                            "%s %s ends at %d" % (i, m["method"], m["target"],
                                                  m["out_end"], u[0], u[1], u[3]))
    # 2. The client's stream per h11, against the proxy's cut.
    with open(r["file"], "rb") as f:
        data = f.read()
    cl, cerr = h11_messages(data, len(ours))
    if len(cl) < len(ours):
        problems.append("laxer than h11 at message %d: %s" % (len(cl), cerr))
    for i, (m, c) in enumerate(zip(ours, cl)):
        if (m["method"], m["target"], m["end"]) != (c[0], c[1], c[3]):
            problems.append("message %d: proxy ends it at %d, h11 at %d"
                            % (i, m["end"], c[3]))
        elif i < len(up) and up[i][2] != c[2]:
            problems.append("message %d: the upstream sees another body" % i)
    return r["file"], len(ours), r["stop"], problems


def main():
    frame, files = sys.argv[1], sys.argv[2:]
    res = subprocess.run([frame] + files, check=True, capture_output=True)
    lines = res.stdout.decode().splitlines()
    print("1..%d" % len(lines))
    failed = 0
    msgs = 0
    for n, line in enumerate(lines, 1):
        name, count, stop, problems = check(line)
        msgs += count
        if problems:
            failed += 1
            print("not ok %d - %s" % (n, name))
            for p in problems:
                print("#   %s" % p)
        else:
            print("ok %d - %s: %d message(s), then %s" % (n, name, count, stop))
    print("# %d files, %d messages accepted by the proxy, %d failed"
          % (len(lines), msgs, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
