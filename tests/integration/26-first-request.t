#!/usr/bin/env bash
# The first request on a new connection is not held back by the client's
# Nagle algorithm: with TLS 1.3 and no session tickets nothing goes back to
# the client after its Finished, so unless daneproxy acknowledges at once the
# client's kernel holds the small request until the delayed ACK (~40 ms).
# Python's ssl leaves Nagle on, as many clients do. Both roles: a Nagle
# client on the server role directly, and through the client role.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
# Well under the ~40 ms of a delayed ACK, well over a request's few ms
# (the sanitizer build included).
LIMIT_MS=20
REQ='GET / HTTP/1.1\r\nHost: js.dp.test\r\n\r\n'

nagle() { "$LAB_PYTHON" "$DP_SOURCE_DIR/tests/lib/nagle_client.py" "$@"; }
median_first() { sed -n 's/^median_first_ms=\([0-9.]*\).*/\1/p'; }
below() { [ -n "$1" ] && awk "BEGIN { exit !($1 < $2) }"; }

lab_upstream_start up --proxy v2
{ dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/js.crt" "$C/js.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nidentity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\nallow = %s\n' "$ID"
} >"$LAB/server.ini"
dp_start server "$LAB/server.ini" SPORT=js || bail "server role did not start"

out=$(nagle --connect "127.0.0.1:$SPORT" --tls --cert "$C/client.crt" --key "$C/client.key" \
  --request "$REQ" --count 7 2>&1)
diag "server role: $(echo "$out" | tail -1)"
m=$(echo "$out" | median_first)
ok "server role: a Nagle client's first request is answered within $LIMIT_MS ms (median $m)" \
  below "$m" "$LIMIT_MS"

{ dp_dns_section validate
  printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$SPORT"
  printf 'cert = %s\nkey = %s\nclient_name = %s\nca_file = %s\nverify_server = dane\ntlsa_name = _8443._tcp.js.dp.test\n' \
    "$C/client.crt" "$C/client.key" "$ID" "$C/ca.crt"
} >"$LAB/client.ini"
dp_start client "$LAB/client.ini" CPORT=js || bail "client role did not start"
out=$(nagle --connect "127.0.0.1:$CPORT" --request "$REQ" --count 7 2>&1)
diag "client role: $(echo "$out" | tail -1)"
m=$(echo "$out" | median_first)
ok "client role: a Nagle client's first request is answered within $LIMIT_MS ms (median $m)" \
  below "$m" "$LIMIT_MS"

done_testing
