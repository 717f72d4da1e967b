#!/usr/bin/env bash
# The first request on a new connection is not held back by the client's
# Nagle algorithm: with TLS 1.3 and no session tickets nothing goes back to
# the client after its Finished, so unless daneproxy acknowledges at once the
# client's kernel holds the small request until the delayed ACK (~40 ms).
# Python's ssl leaves Nagle on, as many clients do (tests/lib/peers_client.py
# keeps it unless --nodelay). Both roles: a Nagle client on the server role
# directly, and a plain one through the client role.
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

# nagle PORT [client args]: 7 connections, each timed from its first
# request's write to the answer; prints their median in ms.
nagle() {
  local port=$1
  shift
  "$LAB_PYTHON" "$DP_SOURCE_DIR/tests/lib/peers_client.py" latency --port "$port" --count 7 "$@" |
    sed -n 's/^sample .*first_ms=\([0-9.]*\).*/\1/p' | sort -n | sed -n 4p
}
below() { [ -n "$1" ] && awk "BEGIN { exit !($1 < $2) }"; }

lab_upstream_start up --proxy v2
{ dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nidentity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\nallow = %s\n' "$ID"
} >"$LAB/server.ini"
dp_start server "$LAB/server.ini" SPORT=js || bail "server role did not start"

m=$(nagle "$SPORT" --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key")
ok "server role: a Nagle client's first request is answered within $LIMIT_MS ms (median $m)" \
  below "$m" "$LIMIT_MS"

{ dp_dns_section validate
  printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$SPORT"
  printf 'cert = %s\nkey = %s\nclient_name = %s\nca_file = %s\nverify_server = pkix\n' \
    "$C/client.crt" "$C/client.key" "$ID" "$C/ca.crt"
} >"$LAB/client.ini"
dp_start client "$LAB/client.ini" CPORT=js || bail "client role did not start"
m=$(nagle "$CPORT" --plain)
ok "client role: a Nagle client's first request is answered within $LIMIT_MS ms (median $m)" \
  below "$m" "$LIMIT_MS"

done_testing
