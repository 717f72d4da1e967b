#!/usr/bin/env bash
# allow_from: a listener accepts connections only from its source prefixes,
# checked at accept before any TLS work, counted as outcome="denied" and
# logged at most once a second. A client route on a non-loopback address
# must have one (daneproxy -t refuses it otherwise): such a route lends its
# DANE identity to whoever reaches it. Every test connection comes from
# 127.0.0.1.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
lab_upstream_start up --proxy v2 || bail "upstream"

# Listeners: "other" (allow_from excludes 127.0.0.1), "lo" (includes it),
# "route" (a client route excluding it); every one on port 0. The route's
# remote is the upstream, not "lo", whose port is not known yet when the file
# is written: it is never reached, its local client being refused at accept.
{
  printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section resolver-ad
  for l in other:192.0.2.0/24,10.0.0.0/8 lo:192.0.2.0/24,127.0.0.0/8,::1; do
    IFS=: read -r name from <<<"$l"
    printf '[server %s]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$name" "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
    printf 'forward = proxy-v2\nallow = %s\nallow_from = %s\n' "$ID" "${from//,/, }"
  done
  printf '[client route]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$UPSTREAM_PORT"
  printf 'cert = %s\nkey = %s\nclient_name = %s\nca_file = %s\nverify_server = pkix\nallow_from = 198.51.100.0/24\n' \
    "$C/client.crt" "$C/client.key" "$ID" "$C/ca.crt"
} >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" SP_OTHER=other SP_LO=lo CP=route AP=admin || bail "daneproxy did not start"

metric() {
  curl -s "http://127.0.0.1:$AP/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
tc() {
  dp_testclient --connect "127.0.0.1:$1" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$ID" --send "$REQ" --timeout-ms 5000 --quiet 2>&1
}

out=$(tc "$SP_LO")
like "$out" 'result=ok' "a source inside allow_from is served"
lab_upstream_wait up 1 10 >/dev/null 2>&1
is "$(dp_upstream_conns up)" 1 "... and reaches the upstream"

out=$(tc "$SP_OTHER")
like "$out" 'result=error' "a source outside allow_from is closed at accept (no handshake)"
like "$out" 'alert=none .*version=none' "... before any TLS work: no alert, no TLS version negotiated"
out=$(tc "$SP_OTHER")
is "$(dp_upstream_conns up)" 1 "... and nothing reaches the upstream"
is "$(metric 'daneproxy_connections_total{listener="other",role="server",outcome="denied"}')" 2 \
  "both refusals counted as outcome=denied"
is "$(metric 'daneproxy_connections_total{listener="lo",role="server",outcome="denied"}')" 0 \
  "the allowed listener counted none"
ok "logged once, naming the source" grep -q 'listener other: 127.0.0.1:[0-9]* is not in allow_from: connection refused' "$LAB/dp.log"
is "$(grep -c 'not in allow_from' "$LAB/dp.log")" 1 "... a second refusal within the second adds no line"

# The client role: the local client is not in the route's allow_from.
resp=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CP/" 2>&1)
is "$resp" 000 "client role: a local client outside allow_from gets no connection"
is "$(metric 'daneproxy_connections_total{listener="route",role="client",outcome="denied"}')" 1 \
  "client role: counted as outcome=denied"

# -t: a client route on a non-loopback address needs allow_from.
sed -e "/^\[client route\]/,\$ s/^listen = 127.0.0.1:0\$/listen = 0.0.0.0:$CP/" -e '/^allow_from = 198/d' "$LAB/dp.ini" >"$LAB/open.ini"
out=$("$DP_BUILD/daneproxy" -t -c "$LAB/open.ini" 2>&1)
is "$?" 1 "daneproxy -t refuses a client route on 0.0.0.0 without allow_from"
like "$out" "open.ini:[0-9]+: listen: 0.0.0.0:$CP is not a loopback address" "... naming file, line and key"

dp_stop_all_checked
done_testing
