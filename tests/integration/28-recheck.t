#!/usr/bin/env bash
# Revocation that reaches live connections (recheck): connections
# authenticated by a TLSA record are re-checked when the answer for their
# peer's name changes, and closed (recheck = close) or logged (recheck =
# log) once it no longer authenticates them.
# - server role, one live connection in each forwarding mode: a PROXY v2
#   TCP stream, an HTTP keep-alive connection and a WebSocket tunnel, all
#   closed after the record is withdrawn and the zone re-signed; a fourth
#   listener with recheck = log keeps its connection and logs it;
# - client role: a route's connection closed when the remote server's
#   record is withdrawn;
# - a changed record that still matches keeps the connection (valid); one
#   for another key closes it;
# - DNS unreachable is not a revocation: with the resolver down, the
#   connection stays until recheck_grace_ms has passed, then closes;
# - many live connections on one name share one lookup per refresh.
# The revocable names have a TTL of 1 s, so the answer daneproxy holds
# expires every second and the re-check follows within about two.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
NAME=_lorawan-ns.revoke.dp.test
# Fresh names for the later parts: a withdrawn name stays NXDOMAIN in the
# resolvers' negative caches for the SOA minimum (300 s).
ROT=_lorawan-ns.rotate.dp.test GR=_lorawan-ns.grace.dp.test MANY=_lorawan-ns.many.dp.test
for n in rotate grace many; do
  lab_zone_set "_lorawan-ns.$n" 1 client.crt || bail "zone update"
done
lab_upstream_start up2 --proxy v2 || bail "upstream"
lab_upstream_start uph --proxy none || bail "upstream"
UP2=$UPSTREAM_UP2_PORT UPH=$UPSTREAM_UPH_PORT

server() { # NAME UPSTREAM FORWARD [MORE]
  printf '[server %s]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$1" "$C/server-chain.crt" "$C/server.key" "$2"
  printf 'forward = %s\nallow = %s, %s, %s, %s\nidle_timeout_ms = 60000\n%b' "$3" "$NAME" "$ROT" "$GR" "$MANY" "${4:-}"
}
{ printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section validate
  server tcp "$UP2" proxy-v2
  server http "$UPH" http
  server logonly "$UPH" none 'recheck = log\n'; } >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" SP_TCP=tcp SP_HTTP=http SP_LOG=logonly AP=admin ||
  bail "daneproxy did not start"

metric() { dp_metric "$AP" "$1"; }
open_is() { # LISTENER N [ROLE=server]
  [ "$(metric "daneproxy_connections_open{listener=\"$1\",role=\"${3:-server}\"}")" = "$2" ]
}

# hold NAME PORT REQUEST [NAME_SENT]: a client that sends REQUEST and then
# reads until the server closes (or 60 s): its result line in $LAB/NAME.out.
hold() {
  lab_spawn "$1" "$DP_BUILD/dp-testclient" --connect "127.0.0.1:$2" \
    --cert "$C/client.crt" --key "$C/client.key" --clientid "${4:-$NAME}" \
    --send "$3" --timeout-ms 60000 --quiet --output "$LAB/$1.data"
}
closed() { ! kill -0 "$(lab_pid "$1")" 2>/dev/null; }
still_open() { kill -0 "$(lab_pid "$1")" 2>/dev/null; }
H='Host: up\r\n'
WS='GET /chat HTTP/1.1\r\nHost: up\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'

# --- server role: every forwarding mode, closed; recheck = log, kept -------
hold c-tcp "$SP_TCP" "GET /tcp HTTP/1.1\r\n${H}\r\n"
hold c-http "$SP_HTTP" "GET /http HTTP/1.1\r\n${H}\r\n"
hold c-ws "$SP_HTTP" "$WS"
hold c-log "$SP_LOG" "GET /log HTTP/1.1\r\n${H}\r\n"
ok "four live connections established" lab_poll 10 eval \
  'open_is tcp 1 && open_is http 2 && open_is logonly 1'

# The client role, towards a server only its DANE record vouches for.
lab_spawn s_server openssl s_server -accept 127.0.0.1:0 -cert "$C/js.crt" -key "$C/js.key" \
  -www -tls1_3 -num_tickets 0
SSPORT=$(lab_log_port s_server '^ACCEPT ') || bail "s_server did not start"
{ printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section validate
  printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$SSPORT"
  printf 'cert = %s\nkey = %s\nclient_name = %s\ntlsa_name = _443._tcp.revoke.dp.test\n' \
    "$C/client.crt" "$C/client.key" "$NAME"; } >"$LAB/cr.ini"
dp_start cr "$LAB/cr.ini" CP=js AP_CR=admin || bail "client role did not start"
# A local client holding its connection: a request it never finishes.
lab_spawn local "$LAB_PYTHON" -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
while s.recv(65536):
    pass
print("closed after %.1f s" % (time.time() - t), flush=True)' "$CP"
AP_SAVE=$AP AP=$AP_CR
ok "the route's connection is established" lab_poll 10 open_is js 1 client
AP=$AP_SAVE

lab_zone_remove _lorawan-ns.revoke _443._tcp.revoke || bail "zone update"
t0=$(date +%s%N)
for c in c-tcp c-http c-ws; do
  ok "$c: closed after the record was withdrawn" lab_poll 15 closed "$c"
done
ms=$((($(date +%s%N) - t0) / 1000000))
ok "... within the cache bound (TTL 1 s; took $ms ms)" test "$ms" -lt 8000
lab_wait_log dp 'listener=http .*outcome=revoked' 5 >/dev/null
for l in tcp http; do
  like "$(grep "listener=$l .*outcome=" "$LAB/dp.log" | head -1)" \
    'outcome=revoked reason="revoked: TLSA lookup: nxdomain' "$l: its line says revoked, and why"
done
is "$(grep -c 'listener=http .*outcome=revoked' "$LAB/dp.log")" 2 "http: the keep-alive and the WebSocket connection both revoked"
like "$(cat "$LAB/c-http.data")" 'HTTP/1.1 200' "http: the response in flight was delivered first"
like "$(cat "$LAB/c-ws.data")" 'HTTP/1.1 101' "http: the WebSocket tunnel had been upgraded (101), then was closed"
ok "recheck = log: the connection is logged as revoked" \
  lab_wait_log dp 'recheck .*listener=logonly .*recheck="revoked, kept' 10
ok "... and stays open" still_open c-log
is "$(metric 'daneproxy_recheck_total{listener="tcp",role="server",result="closed"}')" 1 "metrics: tcp closed 1"
is "$(metric 'daneproxy_recheck_total{listener="http",role="server",result="closed"}')" 2 "metrics: http closed 2"
is "$(metric 'daneproxy_recheck_total{listener="logonly",role="server",result="revoked"}')" 1 "metrics: logonly revoked 1"
is "$(metric 'daneproxy_connections_total{listener="tcp",role="server",outcome="revoked"}')" 1 "metrics: outcome revoked counted"
ok "client role: the local connection closed when the remote's record went" \
  lab_wait_log local 'closed after' 15
ok "... its line says revoked" lab_wait_log cr 'outcome=revoked reason="revoked: TLSA lookup: nxdomain' 5
lab_stop c-log

# --- a changed record: still matching is valid, another key closes ---------
hold v-tcp "$SP_TCP" "GET /again HTTP/1.1\r\n${H}\r\n" "$ROT"
ok "a new connection on $ROT" lab_poll 10 open_is tcp 1
v0=$(metric 'daneproxy_recheck_total{listener="tcp",role="server",result="valid"}')
lab_zone_set _lorawan-ns.rotate 1 client.crt 3 0 1 || bail "zone update"
ok "the record changed to 3 0 1 of the same key: re-checked as valid" \
  lab_poll 10 eval "[ \"\$(metric 'daneproxy_recheck_total{listener=\"tcp\",role=\"server\",result=\"valid\"}')\" -gt $v0 ]"
ok "... and the connection stays" still_open v-tcp
lab_zone_set _lorawan-ns.rotate 1 rogue.crt || bail "zone update"
ok "the record changed to another key: closed" lab_poll 15 closed v-tcp
like "$(grep 'listener=tcp .*outcome=revoked' "$LAB/dp.log" | tail -1)" \
  'reason="revoked: DANE: ' "... as a mismatch"

# --- DNS unreachable: kept until recheck_grace_ms -----------------------------
{ printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section resolver-ad
  server tcp "$UP2" proxy-v2 'recheck_grace_ms = 4000\n'; } >"$LAB/grace.ini"
dp_start grace "$LAB/grace.ini" SP_G=tcp AP_G=admin || bail "daneproxy did not start"
hold g-tcp "$SP_G" "GET /grace HTTP/1.1\r\n${H}\r\n" "$GR"
AP_SAVE=$AP AP=$AP_G
ok "a connection on the grace listener" lab_poll 10 open_is tcp 1
lab_stop unbound-ad
t0=$(date +%s%N)
ok "the resolver is down: closed once the grace ran out" lab_poll 20 closed g-tcp
ms=$((($(date +%s%N) - t0) / 1000000))
ok "... not before recheck_grace_ms (4000; took $ms ms)" test "$ms" -ge 3000
like "$(grep 'listener=tcp .*outcome=' "$LAB/grace.log" | tail -1)" \
  'outcome=revoked reason="revoked: no secure TLSA answer for [0-9]+ ms \(recheck_grace_ms\)' "... with that reason"
is "$(metric 'daneproxy_recheck_total{listener="tcp",role="server",result="dns_failing"}')" 1 "metrics: dns_failing 1"
lab_spawn unbound-ad unbound -d -c "$LAB/dns/unbound-ad.conf"
AP=$AP_SAVE

# --- many connections on one name: one lookup per refresh -------------------
N=1000
lab_nofile 4096 || bail "cannot raise the descriptor limit"
m0=$(metric 'daneproxy_dane_verifications_total{listener="tcp",role="server",usage="dane-ee",result="match"}')
lab_spawn many "$DP_BUILD/dp-testclient" --connect "127.0.0.1:$SP_TCP" \
  --cert "$C/client.crt" --key "$C/client.key" --clientid "$MANY" \
  --send "GET /many HTTP/1.1\r\n${H}\r\n" --load "$N" --count "$N" --timeout-ms 90000
ok "$N live connections on $MANY" lab_poll 25 open_is tcp "$N"
# Every handshake over (until then their own lookups refresh the name).
ok "... all of them authenticated" lab_poll 60 eval \
  "[ \"\$(metric 'daneproxy_dane_verifications_total{listener=\"tcp\",role=\"server\",usage=\"dane-ee\",result=\"match\"}')\" -ge $((m0 + N)) ]"
l0=$(metric daneproxy_recheck_lookups_total)
q0=$(lab_dns_query_count "$MANY" TLSA fwd)
# Four refreshes at a TTL of 1 s; polled, not slept: the counter advances.
ok "the name is refreshed while they live" lab_poll 10 eval \
  "[ \"\$(metric daneproxy_recheck_lookups_total)\" -ge $((l0 + 4)) ]"
l1=$(metric daneproxy_recheck_lookups_total)
q1=$(lab_dns_query_count "$MANY" TLSA fwd)
ok "... one query per refresh reaches the resolver, not one per connection ($((l1 - l0)) refreshes, $((q1 - q0)) queries)" \
  test $((q1 - q0)) -le $((l1 - l0 + 1))
ok "... all $N connections still open" open_is tcp "$N"
is "$(metric daneproxy_recheck_names)" 1 "... under one watched name (daneproxy_recheck_names)"
lab_stop many

dp_stop_all_checked
done_testing
