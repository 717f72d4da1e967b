# shellcheck shell=bash
# tests/lib/faults.sh -- helpers of the fault-injection tests (7x-faults-*.t);
# source after tap.sh, lab.sh and proxy.sh, after lab_certs. load_field and
# dp_workers, which these tests use too, are in proxy.sh.
#
#   server_section NAME UPSTREAM_PORT [LINES]  a [server NAME] on port 0
#   authed PORT [ARGS]      one DANE-authenticated request answered (status)
#   proc_alive NAME [N=1]   master and N workers (dp_workers) running
#   check_after NAME PORT WHAT [N]  two test points: alive, and recovered
#   upstream_has NAME N, upstream_requests NAME   what upstream.py recorded
#   metric KEY, metric_sum NAME, metric_ge KEY N  from $AP's /metrics
#                           (dp_metric: a missing series fails, prints nothing)
#   metric_sampler NAME OUT  background: NAME's value every 20 ms into OUT
#   dns_blackhole / dns_restore  the validating resolver's port answers
#                           nothing / the real Unbound is back
#   dribble_hello PORT N SECS, head_client PORT full|dribble  slow clients
#   all_between LIST LO HI  every number of LIST in [LO, HI]

ID=_lorawan-ns.ns1.dp.test
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'

server_section() {
  printf '[server %s]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$1" "$LAB_CERTS/server-chain.crt" "$LAB_CERTS/server.key" "$2"
  [[ ${3:-} == *"allow ="* ]] || printf 'allow = *._device.dp.test, %s\n' "$ID"
  printf '%s\n' "${3:-}"
}

authed() {
  local port=$1
  shift
  dp_testclient --connect "127.0.0.1:$port" --cert "$LAB_CERTS/client.crt" \
    --key "$LAB_CERTS/client.key" --clientid "$ID" --send "$REQ" --quiet \
    --timeout-ms 10000 "$@" | grep -q 'result=ok'
}

# fast_testclient ARGS: dp-testclient from the optimised build when there is
# one (floods: the proxy under test is the sanitizer build, not the client)
fast_testclient() {
  if [ -x "$DP_SOURCE_DIR/build/dp-testclient" ]; then
    "$DP_SOURCE_DIR/build/dp-testclient" "$@"
  else
    dp_testclient "$@"
  fi
}

proc_alive() {
  local pid n
  pid=$(lab_pid "$1") && kill -0 "$pid" 2>/dev/null || { echo "master gone"; return 1; }
  n=$(dp_workers "$1" | wc -l)
  [ "$n" -ge "${2:-1}" ] || { echo "$n workers"; return 1; }
  ! grep -qE 'Sanitizer|runtime error:' "$LAB/$1.log" || { echo "sanitizer report"; return 1; }
}

check_after() {
  ok "$3: master and workers run" lab_poll 10 proc_alive "$1" "${4:-1}"
  ok "$3: an authenticated connection succeeds again" lab_poll 15 authed "$2"
}

upstream_has() { [ "$(dp_upstream_conns "$1")" -ge "$2" ]; }

upstream_requests() {
  "$LAB_PYTHON" - "$LAB/$1.jsonl" <<'PY'
import json, sys
n = 0
try:
    for l in open(sys.argv[1]):
        if l.strip():
            n += len(json.loads(l).get("requests") or [])
except OSError:
    pass
print(n)
PY
}

# A series that is not exposed prints nothing and fails (dp_metric).
metric() { dp_metric "$AP" "$1"; }
metric_sum() { dp_metric_sum "$AP" "$1"; }
metric_ge() { local v; v=$(metric "$1") && [ "$v" -ge "$2" ]; }

metric_sampler() {
  "$LAB_PYTHON" - "$AP" "$1" >"$2" <<'PY' &
import sys, time, urllib.request
url = "http://127.0.0.1:%s/metrics" % sys.argv[1]
while True:
    try:
        for l in urllib.request.urlopen(url, timeout=2).read().decode().splitlines():
            if l.split(" ")[0] == sys.argv[2]:
                print(l.split(" ")[1], flush=True)
    except Exception:
        pass
    time.sleep(0.02)
PY
  echo $!
}

# dns_blackhole [servfail]: the validating Unbound is stopped and a process
# takes its port (UDP and TCP) that reads every query and answers none
# (lookups wait for their timeout), or with servfail answers each SERVFAIL.
dns_blackhole() {
  local port=${LAB_AD_RESOLVER#*:} mode=${1:-none}
  lab_stop unbound-ad
  rm -f "$LAB/blackhole.port"
  lab_spawn blackhole "$LAB_PYTHON" -c 'import os, socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", int(sys.argv[1])))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[1]))); t.listen(64)
open(sys.argv[2] + ".tmp", "w").write(sys.argv[1]); os.rename(sys.argv[2] + ".tmp", sys.argv[2])
while True:
    q, a = u.recvfrom(4096)
    if sys.argv[3] == "servfail" and len(q) >= 12:
        u.sendto(q[:2] + bytes([0x80 | (q[2] & 0x79), 0x82]) + q[4:], a)' "$port" "$LAB/blackhole.port" "$mode"
  lab_wait_file "$LAB/blackhole.port" 10
}

dns_restore() {
  lab_stop blackhole 2>/dev/null
  lab_spawn unbound-ad unbound -d -c "$LAB/dns/unbound-ad.conf"
  lab_poll 15 _lab_dns_probe "${LAB_AD_RESOLVER#*:}"
}

# dribble_hello PORT N SECS: N connections that each send a TLS record
# header, then one byte every 200 ms; prints, for each, after how many ms
# the proxy closed it (or "open" after SECS).
dribble_hello() {
  "$LAB_PYTHON" - "$@" <<'PY'
import socket, sys, time
port, n, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
closed = {}
hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 600
i = 0
while len(closed) < n and time.monotonic() - t0 < limit:
    for k, s in enumerate(socks):
        if k in closed:
            continue
        try:
            s.send(hello[:5] if i == 0 else hello[i + 4:i + 5])
            s.setblocking(False)
            try:
                if s.recv(4096) == b"":
                    closed[k] = int((time.monotonic() - t0) * 1000)
            except BlockingIOError:
                pass
            s.setblocking(True)
        except OSError:
            closed[k] = int((time.monotonic() - t0) * 1000)
    i += 1
    time.sleep(0.2)
print(" ".join(str(closed.get(k, "open")) for k in range(n)))
PY
}

# head_client PORT full|dribble: TLS with the lab's client certificate (no
# dane_clientid: the listener takes the SAN). full: one GET, prints the
# answer. dribble: the request line, then one header byte every 300 ms for
# up to 8 s; prints "answered STATUS after N ms" (a response came, e.g. the
# 408 of a head that took too long), "closed after N ms" (the connection
# ended without one) or "still open".
head_client() {
  "$LAB_PYTHON" - "$1" "$2" "$LAB_CERTS" <<'PY'
import socket, ssl, sys, time
port, mode, certs = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.load_cert_chain(certs + "/client.crt", certs + "/client.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="js.dp.test")
if mode == "full":
    s.sendall(b"GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n")
    out = b""
    s.settimeout(5)
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    print(out.decode(errors="replace"))
    sys.exit(0)
t0 = time.monotonic()
s.sendall(b"GET / HTTP/1.1\r\nHost: js\r\n")
s.settimeout(0.3)
for c in b"X-Slow: " + b"a" * 200:
    if time.monotonic() - t0 > 8:
        break
    try:
        s.sendall(bytes([c]))
        d = s.recv(4096)
        ms = (time.monotonic() - t0) * 1000
        if d == b"":
            print("closed after %d ms" % ms)
        else:
            status = d.split(b" ", 2)[1].decode(errors="replace") if d.startswith(b"HTTP/") else "?"
            print("answered %s after %d ms %r" % (status, ms, d[:20]))
        sys.exit(0)
    except socket.timeout:
        continue
    except (OSError, ssl.SSLError) as e:
        print("closed after %d ms (%s)" % ((time.monotonic() - t0) * 1000, type(e).__name__))
        sys.exit(0)
print("still open")
PY
}

all_between() {
  local v
  for v in $1; do
    [[ $v =~ ^[0-9]+$ ]] && ((v >= $2 && v <= $3)) || return 1
  done
}
