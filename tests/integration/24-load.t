#!/usr/bin/env bash
# dp-testclient's load mode (--load N) against daneproxy: N connections in
# flight from one process, each a full handshake with a request, both ways a
# client can name itself (the dane_clientid extension, and the SAN fallback of
# identity = extension-or-san) on one listener; failures and timeouts are
# counted, not fatal; --keepalive carries several requests per connection.
# The benchmark built on it is tests/bench/clientid-load.sh.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
lab_upstream_start up --proxy v2 || bail "upstream"
{ dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nallow = _lorawan-ns.ns1.dp.test\n'
  printf 'identity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\n'; } >"$LAB/js.ini"
dp_start js "$LAB/js.ini" PORT=js || bail "daneproxy did not start"
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
KREQ='GET / HTTP/1.1\r\nHost: js\r\n\r\n'
ME=(--cert "$C/client.crt" --key "$C/client.key")

# field LINE KEY: the value of KEY=... in a load line.
field() { [[ " $1 " =~ \ $2=([^ ]*)\  ]] && echo "${BASH_REMATCH[1]}"; }

# load DESC ARGS...: a load run; sets OUT (every line), LINE (the load line)
# and RC (the exit status).
load() {
  OUT=$(dp_testclient --connect "127.0.0.1:$PORT" --timeout-ms 5000 "$@" 2>&1)
  RC=$?
  LINE=$(grep '^load ' <<<"$OUT")
}

# a run that must have gone well: some done, nothing failed, exit 0
all_ok() {
  local desc=$1
  like "$LINE" '^load conns=8 done=[1-9][0-9]* failed=0 alert=0 error=0 timeout=0 ' "$desc: connections done, none failed" ||
    diag "$OUT"
  is "$RC" 0 "$desc: exit 0 with --expect ok"
  like "$LINE" ' hs_p50_ms=[0-9.]+ hs_p99_ms=[0-9.]+ total_p50_ms=[0-9.]+ total_p99_ms=[0-9.]+ req_p50_ms=[0-9.]+ req_p99_ms=[0-9.]+$' \
    "$desc: latency percentiles"
}

load --load 8 --duration 2 "${ME[@]}" --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --expect ok
all_ok "dane_clientid extension, 8 in flight for 2 s"
ext_done=$(field "$LINE" "done")
is "$(field "$LINE" requests)" "$ext_done" "... one request answered per connection"

load --load 8 --duration 2 "${ME[@]}" --no-clientid --send "$REQ" --expect ok
all_ok "SAN fallback (no extension), 8 in flight for 2 s"

# Every connection of both runs reached the upstream, and daneproxy logged
# each as ok (both are written as the connection ends: wait for them).
n=$((ext_done + $(field "$LINE" "done")))
ok "the upstream recorded a connection per request" lab_upstream_wait up "$n" 10
logged_ok() { [ "$(grep -c 'outcome=ok' "$LAB/js.log")" -ge "$1" ]; }
ok "daneproxy logged each of them as ok" lab_poll 10 logged_ok "$n"
is "$(grep -c 'outcome=ok' "$LAB/js.log")" "$n" "... and no more"

load --load 8 --count 40 --keepalive 3 "${ME[@]}" --clientid _lorawan-ns.ns1.dp.test --send "$KREQ" --expect ok
like "$LINE" '^load conns=8 done=40 failed=0 .* requests=120 ' "--keepalive 3 --count 40: 120 requests on 40 connections, framed by Content-Length" ||
  diag "$OUT"
is "$RC" 0 "... exit 0"

# Failures are counted, not fatal: a certificate without TLSA record.
load --load 4 --count 12 --cert "$C/rogue.crt" --key "$C/rogue.key" --clientid _lorawan-ns.ns1.dp.test --send "$REQ"
like "$LINE" '^load conns=4 done=0 failed=12 alert=12 error=0 timeout=0 ' "rogue certificate: 12 failures counted as alerts"
like "$OUT" 'failure count=12 result=alert reason="server sent alert 40 \(handshake failure\)"' "... with their reason"
is "$RC" 1 "... exit 1 (some alert), as in one-connection mode"
load --load 4 --count 12 --cert "$C/rogue.crt" --key "$C/rogue.key" --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --expect alert
is "$RC" 0 "... and --expect alert applies to every connection"

# Timeouts: a port that accepts TCP (the kernel's backlog) but never speaks.
read -r hold_pid hold_port < <(lab_hold_port) || bail "lab_hold_port"
OUT=$(dp_testclient --connect "127.0.0.1:$hold_port" --load 2 --count 4 --timeout-ms 300 "${ME[@]}" \
      --clientid _lorawan-ns.ns1.dp.test --send "$REQ" 2>&1)
RC=$?
kill "$hold_pid" 2>/dev/null
like "$OUT" '^load conns=2 done=0 failed=4 alert=0 error=0 timeout=4 ' "a silent server: 4 handshake timeouts counted"
like "$OUT" 'failure count=4 result=error reason="handshake: timeout"' "... named as such"
is "$RC" 2 "... exit 2 (some error)"

nok "--load excludes --parallel" dp_testclient --connect "127.0.0.1:$PORT" --load 2 --parallel 2
nok "--keepalive needs --load" dp_testclient --connect "127.0.0.1:$PORT" --keepalive 2 --send "$KREQ"

dp_stop_all_checked
done_testing
