#!/usr/bin/env bash
# What bounds a flood of strangers: the handshake timeout (also while a
# handshake waits for DNS) and max_handshakes.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
lab_upstream_start up --proxy v2

# conf PORT DNS_SECTION_MODE [extra server lines] (PORT 0: any)
conf() {
  dp_dns_section "$2"
  printf '[server js]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$1" "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'allow = *._device.dp.test, _lorawan-ns.ns1.dp.test\n%s\n' "${3:-}"
}

# idle_conns PORT N SECONDS: opens N TCP connections that send nothing and
# prints, for each, after how many ms the proxy closed it (or "open").
idle_conns() {
  "$LAB_PYTHON" - "$@" <<'PY'
import socket, sys, time, selectors
port, n, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
t0 = time.monotonic()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    socks.append(s)
closed = {}
while len(closed) < n and time.monotonic() - t0 < limit:
    for key, _ in sel.select(timeout=0.05):
        try:
            data = key.fileobj.recv(4096)
        except (ConnectionResetError, BlockingIOError):
            data = b""
        if not data:
            closed[key.data] = int((time.monotonic() - t0) * 1000)
            sel.unregister(key.fileobj)
print(" ".join(str(closed.get(i, "open")) for i in range(n)))
PY
}

# 1. Slowloris: a connection that never sends a ClientHello is closed at the
# handshake timeout.
conf 0 resolver-ad 'handshake_timeout_ms = 1000' >"$LAB/a.ini"
dp_start a "$LAB/a.ini" PORT=js || bail "no daneproxy"
out=$(idle_conns "$PORT" 1 5)
ok "silent client closed after the 1 s handshake timeout (took $out ms)" \
  test "$out" != open -a "${out:-0}" -ge 900 -a "${out:-0}" -lt 3000
like "$(cat "$LAB/a.log")" 'outcome=error reason="handshake timeout"' "... and logged as a handshake timeout"

# 2. A handshake paused for a DNS answer that does not come in time is
# resumed with a no: handshake_failure at the handshake timeout, not at the
# (longer) DNS timeout.
{ printf '[dns]\nmode = resolver-ad\nresolvers = %s\ntimeout_ms = 8000\n' "$LAB_DEAD_RESOLVER"
  conf 0 none 'handshake_timeout_ms = 1000'; } >"$LAB/b.ini"
dp_start b "$LAB/b.ini" PORT=js || bail "no daneproxy"
t0=$(date +%s%N)
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      --clientid _lorawan-ns.ns1.dp.test --send 'x' --timeout-ms 6000 --quiet 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
like "$out" 'result=alert alert=40' "handshake paused for DNS: handshake_failure when the handshake times out"
ok "... after about 1 s ($ms ms), not the 8 s DNS timeout" test "$ms" -lt 3000
lab_wait_log b 'waiting for DNS' 5 >/dev/null
like "$(cat "$LAB/b.log")" 'outcome=refused reason="handshake timeout waiting for DNS"' "... logged so"
is "$(dp_upstream_conns up)" 0 "... and nothing reached the upstream"

# 3. max_handshakes: beyond it, new connections are closed at once.
conf 0 resolver-ad 'max_handshakes = 2
handshake_timeout_ms = 3000' >"$LAB/c.ini"
dp_start c "$LAB/c.ini" PORT=js || bail "no daneproxy"
out=$(idle_conns "$PORT" 4 6)
read -r c1 c2 c3 c4 <<<"$out"
ok "max_handshakes = 2: the first two wait for the handshake timeout ($c1, $c2 ms)" \
  test "$c1" != open -a "${c1:-0}" -ge 2500 -a "$c2" != open -a "${c2:-0}" -ge 2500
ok "... the third and fourth are closed at once ($c3, $c4 ms)" \
  test "$c3" != open -a "${c3:-9999}" -lt 1000 -a "$c4" != open -a "${c4:-9999}" -lt 1000
like "$(cat "$LAB/c.log")" 'handshakes in progress' "... and the refusal is logged"

# 4. connect_timeout_ms: an upstream that never completes the TCP handshake
# (its accept queue is full, so the kernel drops our SYN). In HTTP mode the
# client gets 504 once the timeout passes. It binds port 0 and writes the
# port it got to bh.port once its queue is full.
"$LAB_PYTHON" - "$LAB/bh.port" <<'PY' &
import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for _ in range(4):        # more than the queue holds: it is full
    f = socket.socket(); f.setblocking(False)
    try:
        f.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    fill.append(f)
time.sleep(0.5)
open(sys.argv[1] + ".tmp", "w").write("%d\n" % port)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
PY
bh=$!
lab_wait_file "$LAB/bh.port" 5 || diag "the black-hole upstream did not start"
BH=$(cat "$LAB/bh.port" 2>/dev/null)
{ dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$BH"
  printf 'allow = _lorawan-ns.ns1.dp.test\nforward = http\nconnect_timeout_ms = 700\n'; } >"$LAB/d.ini"
dp_start d "$LAB/d.ini" PORT=js || bail "no daneproxy"
t0=$(date +%s%N)
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      --clientid _lorawan-ns.ns1.dp.test --send 'GET / HTTP/1.1\r\nHost: js\r\n\r\n' --timeout-ms 8000 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
like "$out" 'HTTP/1.1 504' "connect_timeout_ms = 700: an upstream that never answers the SYN gives 504"
ok "... after about 0.7 s ($ms ms)" test "$ms" -ge 600 -a "$ms" -lt 3000
lab_wait_log d 'upstream connect timeout' 5 >/dev/null
like "$(cat "$LAB/d.log")" 'outcome=error reason="upstream connect timeout"' "... logged so"
kill "$bh" 2>/dev/null; wait "$bh" 2>/dev/null

dp_stop_all_checked
done_testing
