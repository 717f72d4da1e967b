#!/usr/bin/env bash
# Refusal lines: a DANE mismatch names what was presented (the leaf's SPKI
# SHA-256) and what was published (each record's "U S M" and the first
# bytes of its data), so that one line shows a rollover mistake; and the
# same refusal repeated from one address within 10 s is logged once, the
# rest counted (daneproxy_log_suppressed_total) and reported later as
# suppressed=N, while the metrics count every refusal. Both roles.
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

# spki_sha256 KEY: the SHA-256 of KEY's SubjectPublicKeyInfo, in hex (what a
# "3 1 1" record publishes).
spki_sha256() {
  openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}
metric() {
  curl -s --max-time 5 "http://127.0.0.1:$APORT/metrics" |
    awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "missing" }'
}
# lines NAME: the conn lines logged for NAME that ended refused.
lines() { grep -c "^.* conn .*client_name=$1 .*outcome=refused" "$LAB/js.log"; }
# suppressed_sum NAME: the suppressed=N said for NAME, on conn lines and
# conn_suppressed lines together.
suppressed_sum() {
  grep -E "client_name=$1 " "$LAB/js.log" | sed -nE 's/.* suppressed=([0-9]+).*/\1/p' |
    awk '{ s += $1 } END { print s + 0 }'
}

PRESENTED=$(spki_sha256 "$C/rogue.key")
PUBLISHED=$(spki_sha256 "$C/client.key")
ok "the rogue key is not the published one (test premise)" test "$PRESENTED" != "$PUBLISHED"

# --- Server role -------------------------------------------------------------
lab_upstream_start up --proxy v2 || bail "upstream"
{ dp_dns_section resolver-ad
  printf '[global]\nworkers = 1\nadmin = 127.0.0.1:0\n'
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nallow = %s, multi.dp.test, *._device.dp.test\n' "$ID"; } >"$LAB/js.ini"
dp_start js "$LAB/js.ini" PORT=js APORT=admin || bail "daneproxy did not start"
L='listener="js",role="server"'

# tc NAME CERT KEY [args]: one connection (or more, with --repeat).
tc() {
  local name=$1 cert=$2 key=$3; shift 3
  dp_testclient --connect "127.0.0.1:$PORT" --cert "$cert" --key "$key" --clientid "$name" \
    --send "$REQ" --timeout-ms 5000 --quiet "$@" 2>&1
}

like "$(tc "$ID" "$C/rogue.crt" "$C/rogue.key")" 'result=alert alert=40' \
  "a key its record does not publish: handshake_failure"
lab_wait_log js "client_name=$ID .*outcome=refused" 5 >/dev/null
line=$(grep "client_name=$ID .*outcome=refused" "$LAB/js.log" | head -1)
like "$line" 'reason="DANE: no TLSA record matches; ' "the line keeps the short reason at the front"
like "$line" "presented spki_sha256=$PRESENTED;" "... names the presented key's SPKI SHA-256 (64 hex digits)"
like "$line" "records=3 1 1 ${PUBLISHED:0:16}…\"" "... and the published record: U S M and its first 8 bytes"
unlike "$line" 'suppressed=' "... a first line has nothing suppressed"

# Two records, both listed (multi.dp.test publishes rogue's key and
# client's): js.key matches neither.
like "$(tc multi.dp.test "$C/js.crt" "$C/js.key")" 'result=alert alert=40' "another key, two records: refused"
lab_wait_log js 'client_name=multi.dp.test .*outcome=refused' 5 >/dev/null
line=$(grep 'client_name=multi.dp.test .*outcome=refused' "$LAB/js.log" | head -1)
like "$line" "presented spki_sha256=$(spki_sha256 "$C/js.key");" "... the line names js.key's digest"
# (In the RRset's order, which DNSSEC makes canonical: not the zone file's.)
like "$line" "records=(3 1 1 [0-9a-f]{16}…,)?3 1 1 ${PRESENTED:0:16}…[,\"]" "... and both records: rogue's"
like "$line" "records=(3 1 1 [0-9a-f]{16}…,)?3 1 1 ${PUBLISHED:0:16}…[,\"]" "... and client's"

# A burst of the first refusal from the same address, within 10 s of its
# line: none logged, every one counted.
hs0=$(metric "daneproxy_handshake_failures_total{$L,reason=\"mismatch\"}")
sup0=$(metric "daneproxy_log_suppressed_total{$L}")
is "$sup0" 0 "daneproxy_log_suppressed_total is exposed, 0 so far"
out=$(tc "$ID" "$C/rogue.crt" "$C/rogue.key" --repeat 50 | grep -c 'result=alert alert=40')
is "$out" 50 "a burst of 50 more refusals: each one a handshake_failure"
# Another name from the same address is its own key: logged at once.
like "$(tc dev5._device.dp.test "$C/rogue.crt" "$C/rogue.key")" 'result=alert alert=40' \
  "the same key for another name, within the first name's 10 s: refused"
ok "... and logged: a refusal for another name is not suppressed by the first" \
  lab_poll 5 eval 'test "$(lines dev5._device.dp.test)" -eq 1'
# Successful connections in between are logged as always.
like "$(tc multi.dp.test "$C/client.crt" "$C/client.key")" 'result=ok' "an accepted connection"
like "$(tc multi.dp.test "$C/rogue.crt" "$C/rogue.key")" 'result=ok' "another one (rogue's key is one of multi.dp.test's records)"
is "$(metric "daneproxy_handshake_failures_total{$L,reason=\"mismatch\"}")" $((hs0 + 51)) \
  "the handshake-failure metric counts all 50 (and the other name's one)"
# The flush reports what was left out once the key's 10 s have passed.
lab_wait_log js "conn_suppressed .*client_name=$ID .*suppressed=[0-9]+" 20 >/dev/null
n=$(lines "$ID")
s=$(suppressed_sum "$ID")
diag "refusals for $ID: 51, lines $n, suppressed said $s"
ok "far fewer lines than refusals ($n for 51)" test "$n" -le 3
is "$((n + s))" 51 "every refusal is a line or counted in a suppressed=N"
like "$(grep "conn_suppressed .*client_name=$ID " "$LAB/js.log" | head -1)" \
  "peer=127.0.0.1 client_name=$ID outcome=refused hs_reason=mismatch suppressed=[1-9][0-9]*" \
  "the flush line names the key (address without port, name, reason) and the count"
is "$(metric "daneproxy_log_suppressed_total{$L}")" "$s" "daneproxy_log_suppressed_total counts the lines left out"
is "$(metric "daneproxy_handshake_failures_total{$L,reason=\"mismatch\"}")" $((hs0 + 51)) \
  "... and no refusal went missing from the handshake failures"
is "$(grep -c 'client_name=multi.dp.test tlsa="3 1 1" outcome=ok' "$LAB/js.log")" 2 "successful connections are never suppressed"

# --- Client role ----------------------------------------------------------------
# The remote (a server role presenting server.crt) does not match the record
# at _8443._tcp.js.dp.test, which pins js.crt's key.
{ dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nallow = %s\n' "$ID"; } >"$LAB/remote.ini"
dp_start remote "$LAB/remote.ini" RPORT=js || bail "remote did not start"
{ dp_dns_section resolver-ad
  printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$RPORT"
  printf 'cert = %s\nkey = %s\nclient_name = %s\nca_file = %s\nverify_server = dane\n' \
    "$C/client.crt" "$C/client.key" "$ID" "$C/ca.crt"
  printf 'tlsa_name = _8443._tcp.js.dp.test\nforward = http\n'; } >"$LAB/ns.ini"
dp_start ns "$LAB/ns.ini" CPORT=js || bail "client role did not start"
out=$(curl -sS --max-time 10 "http://127.0.0.1:$CPORT/" 2>&1)
like "$out" 'remote not authenticated' "client role: the local client hears why"
unlike "$out" 'spki_sha256' "... in a short text (the details are for the log)"
lab_wait_log ns 'role=client .*outcome=error' 5 >/dev/null
line=$(grep 'role=client .*outcome=error' "$LAB/ns.log" | head -1)
like "$line" 'reason="remote not authenticated: [^;"]*; ' "client role: the short reason first"
like "$line" "presented spki_sha256=$(spki_sha256 "$C/server.key");" "... then the remote's SPKI SHA-256"
like "$line" "records=3 1 1 $(spki_sha256 "$C/js.key" | cut -c1-16)…\"" "... and the record it was held against"

dp_stop_all_checked
done_testing
