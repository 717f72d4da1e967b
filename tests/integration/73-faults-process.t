#!/usr/bin/env bash
# Fault injection, the process (issue 13 §3, CI-sized).
#   1. a worker SIGKILLed under load: the master replaces it, most
#      connections succeed, the rest fail cleanly (no hang), nothing
#      unauthenticated reaches the upstream
#   2. a storm of SIGHUP (every 100 ms for 3 s) under load: reloads that
#      overlap lose no connection. 60-workers.t checks five reloads, one at
#      a time, under load; this checks them piling up.
#   3. stderr on a full file system: log writes fail, the event loop does
#      not block, connections are still served
#   4. stderr a pipe whose reader stalls (a stuck log driver), or a stream
#      socket (journald's form): once it is full, log lines are dropped
#      rather than blocking the worker; once the reader drains it, the first
#      line through says how many were dropped, and every line is whole
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/faults.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start || bail "no lab DNS"
C=$LAB_CERTS
lab_upstream_start up --proxy v2 || bail "no upstream"

conf() { # conf PORT: two workers, one listener
  printf '[global]\nworkers = 2\nadmin = 127.0.0.1:0\ndrain_timeout_ms = 3000\n'
  dp_dns_section resolver-ad
  server_section js "$UPSTREAM_UP_PORT" | sed "s/127.0.0.1:0$/127.0.0.1:$1/"
}
conf 0 >"$LAB/a.ini"
dp_start a "$LAB/a.ini" PORT=js || bail "no daneproxy"
conf "$PORT" >"$LAB/a.ini"   # reloads keep the socket
ok "baseline: an authenticated connection is answered" authed "$PORT"

# load SECS OUT: DANE-authenticated load on $PORT (run it with &)
load() {
  fast_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$ID" --send "$REQ" --load 4 --duration "$1" --timeout-ms 8000 >"$2" 2>&1
}
served() { # served N: the upstream recorded at least N connections
  [ "$(dp_upstream_conns up)" -ge "$1" ]
}
# unverified: how many upstream records carried something (a PROXY header
# or bytes) without the verified identity. A connection whose worker was
# killed before it wrote anything upstream carries nothing: not counted.
unverified() {
  "$LAB_PYTHON" -c '
import json, sys
bad = 0
for l in open(sys.argv[1]):
    if l.strip():
        r = json.loads(l)
        p = r.get("proxy")
        if p is None and not r.get("requests") and not r.get("raw") and not r.get("bytes_in"):
            continue
        if (p or {}).get("identity") != sys.argv[2]:
            bad += 1
            print(l.strip()[:300], file=sys.stderr)
print(bad)' "$LAB/up.jsonl" "$ID"
}

# --- 1. A worker SIGKILLed under load -------------------------------------------
n0=$(dp_upstream_conns up)
load 5 "$LAB/kill.out" &
lp=$!
lab_poll 10 served $((n0 + 20))
victim=$(dp_workers a | head -n 1)
kill -KILL "$victim"
wait "$lp"
out=$(head -n 1 "$LAB/kill.out")
note "kill: $(tr '\n' ' ' <"$LAB/kill.out")"
read -r ndone failed timeouts <<<"$(load_field "$out" "done") $(load_field "$out" failed) $(load_field "$out" timeout)"
ok "worker $victim SIGKILLed under load: most connections succeeded ($ndone ok, $failed failed)" \
  test "${ndone:-0}" -gt 0 -a "${failed:-0}" -le $(( (ndone + failed) / 5 ))
is "${timeouts:-x}" 0 "... the failed ones failed cleanly (none hung)"
like "$(cat "$LAB/a.log")" "pid $victim\\) killed by signal 9.*restarting" "... the master saw it and restarts it"
ok "... two workers again" lab_poll 10 proc_alive a 2
lab_poll 10 served $((n0 + ndone))
ok "... every answered connection was relayed ($ndone <= $(( $(dp_upstream_conns up) - n0 )))" \
  test "$(( $(dp_upstream_conns up) - n0 ))" -ge "$ndone"
check_after a "$PORT" "after the killed worker" 2

# --- 2. SIGHUP every 100 ms for 3 s under load ----------------------------------
g0=$(grep -c 'reload: generation [0-9]* serving' "$LAB/a.log")
load 5 "$LAB/hup.out" &
lp=$!
lab_poll 10 served $(( $(dp_upstream_conns up) + 10 ))
for ((i = 0; i < 30; i++)); do
  kill -HUP "$(lab_pid a)"
  sleep 0.1 # the fault's own cadence, not a wait for readiness
done
wait "$lp"
out=$(head -n 1 "$LAB/hup.out")
note "SIGHUP storm: $(tr '\n' ' ' <"$LAB/hup.out")"
g1=$(grep -c 'reload: generation [0-9]* serving' "$LAB/a.log")
ok "30 SIGHUPs in 3 s under load: reloads happened ($((g1 - g0)) generations)" test "$g1" -gt "$g0"
ok "... the load ran ($(load_field "$out" "done") connections)" test "$(load_field "$out" "done")" -gt 0
is "$(load_field "$out" failed)" 0 "... and none failed"
check_after a "$PORT" "after the SIGHUP storm" 2
is "$(unverified)" 0 "every connection the upstream saw carried the verified identity"

# --- 3. stderr on a full file system --------------------------------------------
mkdir -p "$LAB/full"
if mount -t tmpfs -o size=64k tmpfs "$LAB/full" 2>/dev/null; then
  tap_at_exit _unmount_full
  _unmount_full() { umount "$LAB/full" 2>/dev/null; }
  conf 0 | sed 's/^workers = 2$/workers = 1/' >"$LAB/b.ini"
  # dp_start sends stderr to $LAB/b.log: this one writes to the tmpfs.
  : >"$LAB/full/b.log"
  "$DP_BUILD/daneproxy" -c "$LAB/b.ini" </dev/null >>"$LAB/full/b.log" 2>&1 &
  echo $! >"$LAB/b.pid"; _lab_pids+=("$!"); _lab_names+=(b)
  lab_poll 10 grep -q 'listening role=server listener=js' "$LAB/full/b.log"
  BP=$(sed -nE 's/.*listening role=server listener=js addr=127.0.0.1:([0-9]+).*/\1/p' "$LAB/full/b.log" | tail -n 1)
  ok "daneproxy logging to a 64 KiB tmpfs serves (port $BP)" authed "$BP"
  dd if=/dev/zero of="$LAB/full/fill" bs=4k 2>/dev/null
  is "$(df --output=avail "$LAB/full" | tail -n 1 | tr -d ' ')" 0 "... the file system is now full"
  size0=$(stat -c %s "$LAB/full/b.log")
  n0=$(dp_upstream_conns up)
  out=$(fast_testclient --connect "127.0.0.1:$BP" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$ID" --send "$REQ" --load 4 --count 100 --timeout-ms 8000 2>&1)
  note "full fs: $(echo "$out" | head -n 1)"
  is "$(load_field "$out" "done")" 100 "... 100 connections while every log write fails: all served"
  size1=$(stat -c %s "$LAB/full/b.log")
  ok "... their log lines were lost (the log grew $((size1 - size0)) bytes, less than a page)" \
    test $((size1 - size0)) -lt 4096
  ok "... master and worker run" proc_alive b
  lab_poll 10 served $((n0 + 100))
  is "$(( $(dp_upstream_conns up) - n0 ))" 100 "... each relayed once"
  rm -f "$LAB/full/fill"
  ok "... space again: it still serves" authed "$BP"
  lab_stop b
  cp "$LAB/full/b.log" "$LAB/b-full.log" 2>/dev/null
  ok "... and it stopped cleanly, no sanitizer report" \
    sh -c "grep -q 'daneproxy stopped' '$LAB/full/b.log' && ! grep -qE 'Sanitizer|runtime error:' '$LAB/full/b.log'"
  umount "$LAB/full"
else
  skip "cannot mount a tmpfs (not root?)" 8
fi

# --- 4. stderr a pipe nobody reads ----------------------------------------------
# The reader passes lines on until daneproxy is ready, then reads no more
# until SIGUSR1; then it passes on the rest, to FILE.tail.
conf 0 | sed 's/^workers = 2$/workers = 1/' >"$LAB/c.ini"
mkfifo "$LAB/c.fifo"
lab_spawn c-reader "$LAB_PYTHON" -c 'import signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
f = open(sys.argv[1], "rb")
out = open(sys.argv[2], "ab")
while True:
    l = f.readline(); out.write(l); out.flush()
    if b"ready (pid" in l or not l:
        break
signal.sigwait({signal.SIGUSR1})
out = open(sys.argv[2] + ".tail", "ab")
while True:
    l = f.readline()
    if not l:
        break
    out.write(l); out.flush()' "$LAB/c.fifo" "$LAB/c-head.log"
"$DP_BUILD/daneproxy" -c "$LAB/c.ini" </dev/null >>"$LAB/c-stdout.log" 2>"$LAB/c.fifo" &
echo $! >"$LAB/c.pid"; _lab_pids+=("$!"); _lab_names+=(c)
lab_poll 10 grep -qs 'ready (pid' "$LAB/c-head.log"
CP=$(sed -nE 's/.*listening role=server listener=js addr=127.0.0.1:([0-9]+).*/\1/p' "$LAB/c-head.log" | tail -n 1)
# 600 connections log ~150 KB: more than a pipe holds (64 KiB).
out=$(fast_testclient --connect "127.0.0.1:$CP" --cert "$C/client.crt" --key "$C/client.key" \
  --clientid "$ID" --send "$REQ" --load 4 --count 600 --timeout-ms 8000 2>&1)
note "stalled pipe: $(echo "$out" | head -n 1)"
is "$(load_field "$out" "done")" 600 "stderr a pipe whose reader stalled: 600 connections (150 KB of log) all served"
ok "... master and worker run" proc_alive c
ok "... and it still serves" authed "$CP"
# drained TAIL PORT: one more connection (a log line), then whether TAIL
# has the line that reports the drops.
drained() {
  authed "$2"
  grep -qs 'log: [0-9]* lines dropped (stderr was not writable)' "$1"
}
kill -USR1 "$(lab_pid c-reader)"
ok "... the reader drains the pipe: the first line through says how many were dropped" \
  lab_poll 20 drained "$LAB/c-head.log.tail" "$CP"
note "$(grep -m 1 'lines dropped' "$LAB/c-head.log.tail")"

# The same with stderr a stream socket: a launcher holds the other end,
# passes lines on until daneproxy is ready, then reads no more; it stops
# daneproxy when stopped.
conf 0 | sed 's/^workers = 2$/workers = 1/' >"$LAB/d.ini"
lab_spawn d-launcher "$LAB_PYTHON" -c 'import signal, socket, subprocess, sys, time
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
p = subprocess.Popen([sys.argv[1], "-c", sys.argv[2]], stdin=subprocess.DEVNULL, stderr=b.fileno())
open(sys.argv[3] + ".pid", "w").write("%d\n" % p.pid)
b.close()
def stop(*_):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
out = open(sys.argv[3], "ab")
f = a.makefile("rb")
while True:
    l = f.readline(); out.write(l); out.flush()
    if b"ready (pid" in l or not l:
        break
signal.sigwait({signal.SIGUSR1})
out = open(sys.argv[3] + ".tail", "ab")
while True:
    l = f.readline()
    if not l:
        break
    out.write(l); out.flush()
while True:
    time.sleep(1)' "$DP_BUILD/daneproxy" "$LAB/d.ini" "$LAB/d-head.log"
lab_poll 10 grep -qs 'ready (pid' "$LAB/d-head.log"
DPORT=$(sed -nE 's/.*listening role=server listener=js addr=127.0.0.1:([0-9]+).*/\1/p' "$LAB/d-head.log" | tail -n 1)
out=$(fast_testclient --connect "127.0.0.1:$DPORT" --cert "$C/client.crt" --key "$C/client.key" \
  --clientid "$ID" --send "$REQ" --load 4 --count 600 --timeout-ms 8000 2>&1)
note "stalled socket: $(echo "$out" | head -n 1)"
is "$(load_field "$out" "done")" 600 "stderr a stream socket whose reader stalled: 600 connections all served"
ok "... and it still serves" authed "$DPORT"
kill -USR1 "$(lab_pid d-launcher)"
ok "... the launcher drains the socket: the first line through says how many were dropped" \
  lab_poll 20 drained "$LAB/d-head.log.tail" "$DPORT"
note "$(grep -m 1 'lines dropped' "$LAB/d-head.log.tail")"
# A stream socket may take part of a line: the rest goes first, whole.
# Every line starts with the prefix and holds it once (the sanitizer
# runtime's own warnings, written by it, aside).
is "$(grep -vE '^==[0-9]+==|^False positive error reports|^For details see https://github.com/google/sanitizers' "$LAB/d-head.log.tail" |
  grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z daneproxy\[[0-9]+\] ' | head -n 3)" "" \
  "... every line the socket carried starts as a line does"
is "$(grep -E '.[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z daneproxy\[[0-9]+\] ' "$LAB/d-head.log.tail" | head -n 3)" "" \
  "... and none holds the start of another"
# Stop it here, workers too: a daneproxy stuck in a write would outlive the
# launcher.
dpid=$(cat "$LAB/d-head.log.pid" 2>/dev/null)
dws=$(dp_children "$dpid")
# No assertion on how it stops: the sanitizer runtime's own messages are
# plain blocking writes to the full socket (daneproxy's lines are not).
gone() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
kill -TERM "$dpid" 2>/dev/null
# shellcheck disable=SC2086  # pid lists
lab_poll 5 gone $dpid $dws
for p in $dpid $dws; do kill -KILL "$p" 2>/dev/null; done
lab_stop d-launcher

dp_stop_all_checked
done_testing
