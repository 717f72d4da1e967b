#!/usr/bin/env bash
# sd_notify: daneproxy started with NOTIFY_SOCKET (as systemd runs a
# Type=notify unit) sends READY=1 once it serves, RELOADING=1 with
# MONOTONIC_USEC then READY=1 around a reload (also one that fails),
# STOPPING=1 at SIGTERM; only the master sends (NotifyAccess=main). A
# Python receiver plays systemd: it prints each datagram on one line with
# the sender's pid (SO_PASSCRED), as systemd checks it.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
C=$LAB_CERTS
read -r DEAD_DNS DEAD_UP < <(lab_port 2 | tr '\n' ' ')

conf() { # conf PORT [extra server line]
  printf '[global]\nworkers = 2\n'
  printf '[dns]\nmode = resolver-ad\nresolvers = 127.0.0.1:%s\n' "$DEAD_DNS"
  printf '[server js]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\n' "$1" \
    "$C/server-chain.crt" "$C/server.key"
  printf 'upstream = 127.0.0.1:%s\nallow = *\n%s\n' "$DEAD_UP" "${2:-}"
}

# receiver NAME ADDRESS: a datagram socket at ADDRESS (a path, or @name:
# abstract) whose datagrams go to $LAB/NAME.log, one line each:
# "pid=PID now_usec=CLOCK_MONOTONIC KEY=VALUE KEY=VALUE...".
receiver() {
  lab_spawn "$1" "$LAB_PYTHON" -u -c '
import socket, struct, sys, time
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print("listening", flush=True)
creds = struct.calcsize("iII")
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(creds))
    pid = "?"
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:creds])[0]
    print("pid=%s now_usec=%d %s" % (pid, time.monotonic() * 1e6,
          " ".join(msg.decode("utf-8", "replace").split("\n")).strip()), flush=True)
' "$2"
  lab_wait_log "$1" '^listening' 10
}

lines() { grep -c . "$LAB/$1.log"; }
# after NAME N REGEX: a line after the first N lines of NAME's log matches.
after() { tail -n "+$(($2 + 1))" "$LAB/$1.log" | grep -Eq -- "$3"; }

# 1. A socket path.
receiver sd "$LAB/notify.sock" || bail "no receiver"
conf 0 >"$LAB/a.ini"
NOTIFY_SOCKET=$LAB/notify.sock dp_start a "$LAB/a.ini" PORT=js || bail "no daneproxy"
conf "$PORT" >"$LAB/a.ini"   # reloads keep the socket
MASTER=$(lab_pid a)
ok "READY=1 once serving" lab_wait_log sd 'READY=1' 10
like "$(grep -m1 'READY=1' "$LAB/sd.log")" \
  "^pid=$MASTER .*READY=1 STATUS=generation 1 serving with 2 workers MAINPID=$MASTER\$" \
  "... sent by the master, with STATUS= and MAINPID="
is "$(sed -n 2p "$LAB/sd.log" | cut -d' ' -f3)" "READY=1" "... and nothing before it"

n=$(lines sd)
kill -HUP "$MASTER"
lab_wait_log a 'reload: generation 2 serving' 20 >/dev/null
ok "SIGHUP: READY=1 after the reload" lab_poll 10 after sd "$n" 'READY=1 STATUS=generation 2 serving'
reload=$(tail -n "+$((n + 1))" "$LAB/sd.log" | grep -Eo 'RELOADING=1|READY=1' | tr '\n' ' ')
is "$reload" "RELOADING=1 READY=1 " "... preceded by RELOADING=1, once each"
line=$(tail -n "+$((n + 1))" "$LAB/sd.log" | grep -m1 'RELOADING=1')
like "$line" 'RELOADING=1 MONOTONIC_USEC=[0-9]+ ' "... which carries MONOTONIC_USEC"
# CLOCK_MONOTONIC in both processes: within a few seconds of the receiver's.
read -r got sent < <(sed -E 's/.*now_usec=([0-9]+) .*MONOTONIC_USEC=([0-9]+).*/\1 \2/' <<<"$line")
ok "... on CLOCK_MONOTONIC ($sent µs, received at $got)" \
  test "$sent" -le "$got" -a $((got - sent)) -lt 5000000

n=$(lines sd)
conf "$PORT" 'no_such_key = 1' >"$LAB/a.ini"
kill -HUP "$MASTER"
lab_wait_log a 'reload failed' 20 >/dev/null
ok "a reload that fails: READY=1 again, saying so" \
  lab_poll 10 after sd "$n" 'READY=1 STATUS=reload failed: the configuration is not valid; generation 2 serving'
is "$(tail -n "+$((n + 1))" "$LAB/sd.log" | grep -Eo 'RELOADING=1|READY=1' | tr '\n' ' ')" \
  "RELOADING=1 READY=1 " "... after RELOADING=1"
conf "$PORT" >"$LAB/a.ini"

n=$(lines sd)
kill -TERM "$MASTER"
ok "SIGTERM: STOPPING=1" lab_poll 10 after sd "$n" "^pid=$MASTER .*STOPPING=1"
lab_wait_log a 'daneproxy stopped' 20 >/dev/null
is "$(grep -v '^listening' "$LAB/sd.log" | grep -cv "^pid=$MASTER ")" 0 \
  "every datagram came from the master (NotifyAccess=main)"
is "$(grep -c STOPPING=1 "$LAB/sd.log")" 1 "... STOPPING=1 once"

# 2. An abstract socket ("@name").
ABS=@daneproxy-test-$$-$RANDOM
receiver sda "$ABS" || bail "no receiver"
conf 0 >"$LAB/b.ini"
NOTIFY_SOCKET=$ABS dp_start b "$LAB/b.ini" || bail "no daneproxy"
ok "an abstract NOTIFY_SOCKET: READY=1" lab_wait_log sda "^pid=$(lab_pid b) .*READY=1" 10

# 3. Without NOTIFY_SOCKET nothing changes; a socket nobody reads does no harm.
conf 0 >"$LAB/c.ini"
if NOTIFY_SOCKET=$LAB/nobody.sock dp_start c "$LAB/c.ini"; then
  pass "NOTIFY_SOCKET naming no socket: it starts all the same"
else
  fail "NOTIFY_SOCKET naming no socket: it starts all the same"
fi

dp_stop_all_checked
done_testing
