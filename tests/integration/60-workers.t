#!/usr/bin/env bash
# The process model: a master and its workers. Reload under a steady load of
# DANE-authenticated connections (one reload with a broken configuration)
# loses none; a killed worker is replaced; SIGTERM drains up to
# drain_timeout_ms; max_connections holds across workers; workers drop to
# [global] user.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
lab_upstream_start up --proxy v2

# server_conf PORT CERT [global lines] [server lines]: CERT is server-chain
# or js (each with its key); PORT 0: any (dp_start reads the port it got)
server_conf() {
  local key=$C/server.key
  [ "$2" = js ] && key=$C/js.key
  printf '[global]\n%s\n' "${3:-workers = 2}"
  dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$1" "$C/$2.crt" "$key" "$UPSTREAM_PORT"
  printf 'allow = *._device.dp.test, %s\n%s\n' "$ID" "${4:-}"
}

# workers_of NAME: pids of the worker processes of daneproxy NAME.
workers_of() {
  local master p
  master=$(lab_pid "$1")
  for p in /proc/[0-9]*; do
    [ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$master" ] && echo "${p#/proc/}"
  done | sort -n
}

uids_of() { awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$1/status"; }

authed() { # authed PORT [more dp-testclient args]: one DANE-authenticated request
  local port=$1; shift
  dp_testclient --connect "127.0.0.1:$port" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$ID" --send "$REQ" --quiet --timeout-ms 10000 "$@"
}

cert_fingerprint() { # cert_fingerprint PORT: SHA-256 of the certificate served
  openssl s_client -connect "127.0.0.1:$1" -cert "$C/client.crt" -key "$C/client.key" \
    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null
}

# 1. Two workers under one master.
server_conf 0 server-chain >"$LAB/a.ini"
dp_start a "$LAB/a.ini" PORT=js || bail "no daneproxy"
# Reloads keep the listener: the file names the port it got.
server_conf "$PORT" server-chain >"$LAB/a.ini"
like "$(cat "$LAB/a.log")" 'ready \(pid [0-9]+, 2 workers\)' "workers = 2: the master reports two workers ready"
w1=$(workers_of a)
is "$(echo "$w1" | wc -l)" 2 "... and has two worker processes"
like "$(authed "$PORT")" 'result=ok' "... which serve DANE-authenticated connections"

# 2. Reload under load: a client loop (2 in parallel) opens authenticated
# connections without pause while SIGHUP comes five times, once with a broken
# configuration, once with a new certificate.
: >"$LAB/load.txt"
(
  while [ ! -e "$LAB/stop-load" ]; do
    authed "$PORT" --parallel 2 --repeat 10 | grep '^summary' >>"$LAB/load.txt"
  done
) &
loadpid=$!
lab_wait_file "$LAB/load.txt" 30 || bail "the load loop does not run"
fp0=$(cert_fingerprint "$PORT")

load_grew() { [ "$(wc -l <"$LAB/load.txt")" -gt "$1" ]; }
reload_and_wait() { # reload_and_wait PATTERN: SIGHUP, then wait for PATTERN
  local n
  kill -HUP "$(lab_pid a)"
  lab_wait_log a "$1" 20 || return 1
  # more load went through after it
  n=$(wc -l <"$LAB/load.txt")
  lab_poll 20 load_grew "$n"
}
ok "reload 1 (same configuration): generation 2 takes over" reload_and_wait 'reload: generation 2 serving'
ok "reload 2: generation 3 takes over" reload_and_wait 'reload: generation 3 serving'
cp "$LAB/a.ini" "$LAB/a.good"
printf 'no_such_key = 1\n' >>"$LAB/a.ini"
ok "reload 3 with a broken configuration: refused" reload_and_wait 'reload failed: .* is not valid; generation 3 keeps serving'
like "$(cat "$LAB/a.log")" "a\\.ini:[0-9]+: no_such_key: " "... and the log names the file, line and key"
server_conf "$PORT" js >"$LAB/a.ini"   # another certificate and key
ok "reload 4 with a new certificate: generation 4 takes over" reload_and_wait 'reload: generation 4 serving'
fp1=$(cert_fingerprint "$PORT")
ok "... and the new certificate is served ($fp1)" test -n "$fp1" -a "$fp0" != "$fp1"
ok "reload 5: generation 5 takes over" reload_and_wait 'reload: generation 5 serving'
touch "$LAB/stop-load"
wait "$loadpid"
read -r conns okc alert error < <(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
  END { print s["conns"] + 0, s["ok"] + 0, s["alert"] + 0, s["error"] + 0 }' "$LAB/load.txt")
ok "under load through 5 reloads: $conns connections, all authenticated and answered" \
  test "$conns" -ge 50 -a "$okc" = "$conns"
is "$alert $error" "0 0" "... none failed (alerts, errors)"
lab_wait_log a 'generation 4 finished draining' 20 >/dev/null
w2=$(workers_of a)
is "$(echo "$w2" | wc -l)" 2 "after the reloads: two workers again, the old ones gone"
ok "... new processes" test -z "$(comm -12 <(echo "$w1") <(echo "$w2"))"

# 3. A killed worker is replaced and the listener keeps answering.
victim=$(echo "$w2" | head -1)
kill -KILL "$victim"
lab_wait_log a "worker 5\\.[01] \\(pid $victim\\) killed by signal 9" 10 >/dev/null
like "$(cat "$LAB/a.log")" "pid $victim\\) killed by signal 9.*restarting" "a worker killed by SIGKILL: the master logs it and restarts it"
lab_wait_log a 'serving again' 10 >/dev/null
w3=$(workers_of a)
is "$(echo "$w3" | wc -l)" 2 "... two workers again"
out=$(authed "$PORT" --parallel 2 --repeat 5 | grep '^summary')
like "$out" 'ok=10 alert=0 error=0' "... and the listener keeps answering"

# 3b. A reload that moves the listener: the new address answers, the old
# one is closed. A reload whose new address is taken fails and changes
# nothing.
sed "s/^listen = 127.0.0.1:$PORT\$/listen = 127.0.0.1:0/" "$LAB/a.ini" >"$LAB/a.tmp" && mv "$LAB/a.tmp" "$LAB/a.ini"
kill -HUP "$(lab_pid a)"
lab_wait_log a 'reload: generation 6 serving' 20 >/dev/null
PORT2=$(dp_port a js)
sed "s/^listen = 127.0.0.1:0\$/listen = 127.0.0.1:$PORT2/" "$LAB/a.ini" >"$LAB/a.tmp" && mv "$LAB/a.tmp" "$LAB/a.ini"
like "$(authed "$PORT2")" 'result=ok' "a reload moving the listener: the new address serves"
port_closed() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ok "... and the old one is closed once the old workers drained" lab_poll 15 port_closed "$PORT"
read -r taker PORT3 <<<"$(lab_hold_port)"
sed "s/^listen = 127.0.0.1:$PORT2\$/listen = 127.0.0.1:$PORT3/" "$LAB/a.ini" >"$LAB/a.tmp" && mv "$LAB/a.tmp" "$LAB/a.ini"
kill -HUP "$(lab_pid a)"
lab_wait_log a "listen: cannot listen on 127.0.0.1:$PORT3" 20 >/dev/null
like "$(cat "$LAB/a.log")" "a\\.ini:[0-9]+: listen: cannot listen on 127.0.0.1:$PORT3: Address already in use" \
  "a reload to an address in use fails, naming the line"
like "$(cat "$LAB/a.log")" 'reload failed; generation 6 keeps serving' "... and generation 6 keeps serving"
like "$(authed "$PORT2")" 'result=ok' "... on its address"
kill "$taker"; wait "$taker" 2>/dev/null

# 4. Drain: SIGTERM lets a long transfer finish (drain_timeout_ms = 8000),
# while the listening socket closes at once. The transfer goes through a
# client-role daneproxy, so a plain socket can drive it.
server_conf 0 js $'workers = 2\ndrain_timeout_ms = 8000' >"$LAB/d.ini"
dp_start d "$LAB/d.ini" SPORT=js || bail "no server role"
client_conf() { # client_conf LOCAL_PORT SERVER_PORT
  dp_dns_section validate
  printf '[client js]\nlisten = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$1" "$2"
  printf 'cert = %s\nkey = %s\nclient_name = %s\ntlsa_name = _8443._tcp.js.dp.test\n' \
    "$C/client.crt" "$C/client.key" "$ID"
}
client_conf 0 "$SPORT" >"$LAB/e.ini"
dp_start e "$LAB/e.ini" CPORT=js || bail "no client role"

# slow_transfer PORT CHUNKS MARK: sends CHUNKS x 4 KiB, one every 100 ms,
# reading the echo; creates MARK after the first echo; prints what it got.
slow_transfer() {
  "$LAB_PYTHON" - "$@" <<'PY'
import socket, sys, time
port, chunks, mark = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=15)
got, t0 = 0, time.monotonic()
for i in range(chunks):
    s.sendall(bytes([65 + i % 26]) * 4096)
    want = (i + 1) * 4096
    while got < want:
        d = s.recv(65536)
        if not d:
            print("eof_after=%d elapsed_ms=%d" % (got, (time.monotonic() - t0) * 1000))
            sys.exit(0)
        got += len(d)
    if i == 0:
        open(mark, "w").write("1")
    time.sleep(0.1)
s.shutdown(socket.SHUT_WR)
rest = s.recv(65536)
print("echoed=%d eof=%s elapsed_ms=%d" % (got, "yes" if rest == b"" else "no", (time.monotonic() - t0) * 1000))
PY
}
slow_transfer "$CPORT" 30 "$LAB/xfer1.mark" >"$LAB/xfer1.out" &
xpid=$!
lab_wait_file "$LAB/xfer1.mark" 15 || diag "the transfer did not start"
t0=$(date +%s%N)
kill -TERM "$(lab_pid d)"
lab_wait_log d 'stopping; workers drain' 5 >/dev/null
lab_wait_log d 'no longer accepting' 5 >/dev/null
lab_poll 5 sh -c "! (exec 3<>/dev/tcp/127.0.0.1/$SPORT) 2>/dev/null"
ok "after SIGTERM the listener refuses new connections" test $? -eq 0
wait "$xpid"
like "$(cat "$LAB/xfer1.out")" "echoed=$((30 * 4096)) eof=yes" "a 3 s transfer in progress when SIGTERM came finished, every byte echoed"
lab_wait_log d 'daneproxy stopped' 15 >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok "... then the proxy stopped ($ms ms after SIGTERM, before the 8 s drain timeout)" test "$ms" -lt 8000

# 5. ... and past drain_timeout_ms an idle connection is closed (SIGINT,
# as from a terminal).
server_conf 0 js $'workers = 1\ndrain_timeout_ms = 1000' >"$LAB/f.ini"
dp_start f "$LAB/f.ini" SPORT=js || bail "no server role"
client_conf 0 "$SPORT" >"$LAB/g.ini"
dp_start g "$LAB/g.ini" CPORT=js || bail "no client role"
"$LAB_PYTHON" - "$CPORT" "$LAB/xfer2.mark" >"$LAB/xfer2.out" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"hello")
assert s.recv(100) == b"hello"
open(sys.argv[2], "w").write(str(time.monotonic()))
while True:
    d = s.recv(100)
    if not d:
        break
print("closed_at=%f" % time.monotonic())
PY
xpid=$!
lab_wait_file "$LAB/xfer2.mark" 15 || diag "the connection did not start"
t0=$("$LAB_PYTHON" -c 'import time; print(time.monotonic())')
# Ctrl-C in a terminal: SIGINT to the master and its workers alike. The
# workers leave it to the master, which drains them as for SIGTERM.
for p in $(workers_of f) "$(lab_pid f)"; do kill -INT "$p"; done
wait "$xpid"
t1=$(sed -n 's/closed_at=//p' "$LAB/xfer2.out")
ms=$("$LAB_PYTHON" -c "print(int(($t1 - $t0) * 1000))" 2>/dev/null || echo -1)
ok "SIGINT to every process: an idle connection is closed at the 1 s drain timeout ($ms ms after)" test "$ms" -ge 800 -a "$ms" -lt 4000
like "$(cat "$LAB/f.log")" 'drain timeout \(1000 ms\): closing 1 connections' "... and logged so"

# 6. max_connections counts the connections of all workers together. Each
# worker is made to hold one connection (the other is stopped while it is
# opened, so it cannot take it): a per-worker count would then let the
# third and fourth in.
server_conf 0 server-chain 'workers = 2' $'max_connections = 2\nhandshake_timeout_ms = 4000' >"$LAB/h.ini"
dp_start h "$LAB/h.ini" PORT=js || bail "no daneproxy"
read -r wa wb <<<"$(workers_of h | tr '\n' ' ')"
# Opens connection i when $LAB/go.i appears, says so in $LAB/opened.i; at
# the end prints when each was closed by the proxy (ms after it opened).
"$LAB_PYTHON" - "$PORT" "$LAB" >"$LAB/held.out" <<'PY' &
import os, socket, sys, time, selectors
port, lab = int(sys.argv[1]), sys.argv[2]
sel, opened, closed = selectors.DefaultSelector(), {}, {}
t_end = time.monotonic() + 20
while len(closed) < 4 and time.monotonic() < t_end:
    i = len(opened) + 1
    if i <= 4 and os.path.exists("%s/go.%d" % (lab, i)):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
        opened[i] = time.monotonic()
        open("%s/opened.%d" % (lab, i), "w").write("1")
    for key, _ in sel.select(timeout=0.02):
        try:
            d = key.fileobj.recv(100)
        except OSError:
            d = b""
        if not d:
            closed[key.data] = int((time.monotonic() - opened[key.data]) * 1000)
            sel.unregister(key.fileobj)
print(" ".join(str(closed.get(i, "open")) for i in range(1, 5)))
PY
heldpid=$!
holds() { ss -tnpH state established "( sport = :$PORT )" | grep -c "pid=$1,"; }
holds_one() { [ "$(holds "$1")" -ge 1 ]; }
kill -STOP "$wa"; touch "$LAB/go.1"
lab_poll 5 holds_one "$wb"; ok "connection 1 is held by worker $wb" test $? -eq 0
kill -CONT "$wa"; kill -STOP "$wb"; touch "$LAB/go.2"
lab_poll 5 holds_one "$wa"; ok "connection 2 is held by worker $wa" test $? -eq 0
kill -CONT "$wb"
touch "$LAB/go.3"; lab_wait_file "$LAB/opened.3" 5
touch "$LAB/go.4"
wait "$heldpid"
read -r c1 c2 c3 c4 <"$LAB/held.out"
ok "max_connections = 2, one connection in each worker: both held to the handshake timeout ($c1, $c2 ms)" \
  test "$c1" != open -a "${c1:-0}" -ge 3000 -a "$c2" != open -a "${c2:-0}" -ge 3000
ok "... the third and fourth closed at once ($c3, $c4 ms)" \
  test "$c3" != open -a "${c3:-9999}" -lt 1000 -a "$c4" != open -a "${c4:-9999}" -lt 1000
like "$(cat "$LAB/h.log")" 'max_connections' "... and the refusals are logged"
like "$(authed "$PORT")" 'result=ok' "... and once they are gone a new one is served"

# 7. [global] user: the workers run as that user, the master keeps root to
# bind and reload. (Leak checks off for this one: LeakSanitizer cannot
# attach to a process that changed its uid.)
if [ "$(id -u)" = 0 ]; then
  server_conf 0 server-chain $'workers = 2\nuser = nobody' >"$LAB/u.ini"
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 dp_start u "$LAB/u.ini" PORT=js || bail "no daneproxy"
  server_conf "$PORT" server-chain $'workers = 2\nuser = nobody' >"$LAB/u.ini"   # kept by the reload
  wu=$(workers_of u)
  nuid=$(id -u nobody)
  is "$(for p in $wu; do uids_of "$p"; done | sort -u)" "$nuid $nuid $nuid $nuid" \
    "user = nobody: both workers run as nobody (real, effective, saved, fs uid)"
  is "$(uids_of "$(lab_pid u)")" "0 0 0 0" "... the master stays root"
  like "$(authed "$PORT")" 'result=ok' "... and the workers serve (keys were read before the drop)"
  kill -HUP "$(lab_pid u)"
  lab_wait_log u 'reload: generation 2 serving' 20 >/dev/null
  like "$(authed "$PORT")" 'result=ok' "... also after a reload, which re-reads the root-only key"

  # The admin endpoint is served by its own process, unprivileged too: the
  # root master binds its socket but never reads a byte from it.
  server_conf 0 server-chain $'workers = 1\nuser = nobody\nadmin = 127.0.0.1:0' >"$LAB/ua.ini"
  ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 dp_start ua "$LAB/ua.ini" PORT=js AP=admin ||
    bail "no daneproxy"
  # kept by the reload
  server_conf "$PORT" server-chain $'workers = 1\nuser = nobody\nadmin = 127.0.0.1:'"$AP" >"$LAB/ua.ini"
  admin_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AP/healthz")" = 200 ]; }
  ok "admin: /healthz answers" lab_poll 10 admin_up
  is "$(for p in $(workers_of ua); do uids_of "$p"; done | sort -u)" "$nuid $nuid $nuid $nuid" \
    "admin: the worker and the admin process (both children of the master) run as nobody"
  "$LAB_PYTHON" -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.send(b"GET /metrics HTTP/1.1\r\n")
open(sys.argv[2], "w").write("1"); time.sleep(3)' "$AP" "$LAB/held" &
  holder=$!
  lab_wait_file "$LAB/held" 5
  owner=$(ss -tnpH state established "( sport = :$AP )" | sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -1)
  kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
  isnt "$owner" "$(lab_pid ua)" "admin: a connection is accepted by the admin process, not the root master"
  is "$(uids_of "${owner:-0}")" "$nuid $nuid $nuid $nuid" "... which runs as nobody"
  kill -HUP "$(lab_pid ua)"
  lab_wait_log ua 'reload: generation 2 serving' 20 >/dev/null
  ok "admin: still answering after a reload (a new admin process took over)" lab_poll 10 admin_up

  # Started without the right to switch users: the workers refuse to run.
  pub=$(mktemp -d)
  chmod 755 "$pub"
  cp "$C/server-chain.crt" "$C/server.key" "$pub/"
  chmod 644 "$pub"/*
  { printf '[global]\nworkers = 1\nuser = daemon\n'
    dp_dns_section resolver-ad
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\nallow = *\n' \
      "$pub/server-chain.crt" "$pub/server.key" "$UPSTREAM_PORT"; } >"$pub/v.ini"
  chmod 644 "$pub/v.ini"
  out=$(ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 timeout 20 \
        setpriv --reuid=nobody --regid=nogroup --clear-groups "$DP_BUILD/daneproxy" -c "$pub/v.ini" 2>&1)
  rc=$?
  is "$rc" 1 "user = daemon, started as nobody: daneproxy exits with status 1"
  like "$out" "user: cannot switch to 'daemon'.*refusing to run as uid $nuid" "... saying why"
  unlike "$out" 'ready \(pid' "... and never reported ready"
  rm -rf "$pub"
else
  skip_n=6
  for _ in $(seq $skip_n); do pass "# SKIP needs root (privilege drop)"; done
fi

dp_stop_all_checked
done_testing
