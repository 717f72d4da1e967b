#!/usr/bin/env bash
# forward = http against forged identities, end to end, with upstreams that
# honour whatever reaches them: upstream.py --upgrade-any agrees to any
# Upgrade (h2c too) and records every byte after its 101; --force-101 h2c
# switches protocols unasked; trailers are recorded as a server that merges
# them into the headers would see them. Whatever the client sends, the
# upstream sees exactly one identity header — daneproxy's — or none for an
# unauthenticated client, and nothing bypasses the head rewrite.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test

lab_upstream_start up --upgrade-any || bail "upstream"
lab_upstream_start up101 --force-101 h2c || bail "upstream --force-101"
{
  printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section resolver-ad
  printf '[server any]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_UP_PORT"
  printf 'forward = http\nclient_auth = optional\nallow = %s, *._device.dp.test\nadd_x_forwarded_for = yes\n' "$ID"
  printf '[server f101]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_UP101_PORT"
  printf 'forward = http\nallow = %s\n' "$ID"
} >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" SP=any SP101=f101 AP=admin || bail "daneproxy did not start"

# named UPSTREAM REQ NAME: the values of the fields of request REQ of the
# upstream's last connection whose name is NAME case-insensitively with '-'
# and '_' alike (as CGI, WSGI and Rack would merge them), as a Python list.
named() {
  dp_upstream_last "$1" "[v for k, v in r['requests'][$2]['header_list'] if k.lower().replace('_', '-') == '$3'.lower()]"
}

# wait_conns UPSTREAM N: the upstream has recorded N connections.
_conns_ge() { [ "$(dp_upstream_conns "$1")" -ge "$2" ]; }
wait_conns() { lab_poll 10 _conns_ge "$1" "$2"; }

# --- 1. Upgrade: h2c is never tunnelled ---------------------------------------
H2C='GET /first HTTP/1.1\r\nHost: js\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n'
AFTER='GET /after HTTP/1.1\r\nHost: js\r\nDANE-Client-Identity: victim\r\nConnection: close\r\n\r\n'
n=0
for who in authenticated unauthenticated; do
  if [ $who = authenticated ]; then
    tc "$SP" "$LAB/h2c-$who.out" "$H2C$AFTER" >/dev/null; want="['$ID']"
  else
    tc "$SP" "$LAB/h2c-$who.out" "$H2C$AFTER" --cert "$C/rogue.crt" --key "$C/rogue.key" >/dev/null
    want="[]"
  fi
  n=$((n + 1))
  wait_conns up $n
  is "$(http_statuses "$LAB/h2c-$who.out")" "200 200" \
    "$who: Upgrade: h2c answered as plain HTTP/1.1, then the next request"
  is "$(dp_upstream_last up 'r["upgraded"]')" False "$who: the upstream (which would agree to h2c) never switched"
  is "$(named up 0 upgrade)$(named up 0 http2-settings)$(named up 0 connection)" "[][][]" \
    "$who: Upgrade, HTTP2-Settings and Connection were removed from the request"
  is "$(named up 1 dane-client-identity)" "$want" \
    "$who: the request after it went through the rewrite (identity: $want)"
done

# --- 2. A 101 to a protocol nobody allowed -------------------------------------
mx0=$(curl -s "http://127.0.0.1:$AP/metrics" | sed -n 's/^daneproxy_upstream_errors_total{.*listener="f101".*reason="protocol"} \([0-9]*\)$/\1/p')
out=$(tc "$SP101" "$LAB/f101.out" 'GET / HTTP/1.1\r\nHost: js\r\n\r\nGET /smuggle HTTP/1.1\r\nHost: js\r\nDANE-Client-Identity: victim\r\n\r\n')
is "$(http_statuses "$LAB/f101.out")" 502 "an unasked 101 to h2c: the client gets 502 and the connection closes"
wait_conns up101 1
unlike "$(dp_upstream_last up101 'r["raw"]')" 'victim' "nothing reached the upstream after its 101 without the rewrite"
mx1=$(curl -s "http://127.0.0.1:$AP/metrics" | sed -n 's/^daneproxy_upstream_errors_total{.*listener="f101".*reason="protocol"} \([0-9]*\)$/\1/p')
is "$(( ${mx1:-0} - ${mx0:-0} ))" 1 "... counted as an upstream protocol error"
ok "... and logged" grep -q '101 for a protocol not allowed' "$LAB/dp.log"

# --- 3. The spoof matrix: spellings, Connection, trailers -----------------------
for name in DANE-Client-Identity dane-client-identity DANE_Client_Identity Dane_Client-Identity DANE-CLIENT_IDENTITY; do
  n=$((n + 1))
  tc "$SP" "$LAB/sp.out" "GET / HTTP/1.1\r\nHost: js\r\n$name: victim\r\nX_Forwarded_For: 6.6.6.6\r\nConnection: close\r\n\r\n" >/dev/null
  wait_conns up $n
  is "$(named up 0 dane-client-identity)/$(named up 0 x-forwarded-for)" "['$ID']/['127.0.0.1']" \
    "'$name: victim': exactly one identity and one X-Forwarded-For, ours"
done

n=$((n + 1))
tc "$SP" "$LAB/conn.out" 'GET / HTTP/1.1\r\nHost: js\r\nConnection: close, DANE-Client-Identity, X-Forwarded-For, X-Secret\r\nX-Secret: s\r\n\r\n' >/dev/null
wait_conns up $n
is "$(named up 0 dane-client-identity)/$(named up 0 x-forwarded-for)" "['$ID']/['127.0.0.1']" \
  "Connection naming our headers cannot make a proxying upstream drop them"
is "$(named up 0 connection)/$(named up 0 x-secret)" "['close']/[]" \
  "... Connection carries only 'close'; the field it named is gone"

n=$((n + 1))
tc "$SP" "$LAB/tr.out" 'POST / HTTP/1.1\r\nHost: js\r\nTransfer-Encoding: chunked\r\nTrailer: DANE-Client-Identity\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nDANE-Client-Identity: victim\r\nDANE_Client_Identity: victim2\r\n\r\n' >/dev/null
wait_conns up $n
is "$(http_statuses "$LAB/tr.out")" 200 "a chunked request with forged trailers is answered"
is "$(dp_upstream_last up 'r["requests"][0]["trailers"]')/$(dp_upstream_last up 'r["requests"][0]["body"]')" "[]/hello" \
  "... its trailers were dropped, its body arrived whole"
is "$(named up 0 dane-client-identity)/$(named up 0 trailer)" "['$ID']/[]" "... one identity, ours; no Trailer field"

# A record synthesised from a wildcard: the identity says so, as a parameter.
n=$((n + 1))
tc "$SP" "$LAB/wild.out" 'GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n' --clientid dev9._device.dp.test >/dev/null
wait_conns up $n
is "$(named up 0 dane-client-identity)" "['dev9._device.dp.test; wildcard=\"*._device.dp.test\"']" \
  "an identity vouched for by *._device carries wildcard=\"*._device.dp.test\""

tc "$SP" "$LAB/cl.out" 'POST / HTTP/1.1\r\nHost: js\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello' >/dev/null
is "$(http_statuses "$LAB/cl.out")" 400 "Connection naming Content-Length: 400, never forwarded"
n=$((n + 1))
wait_conns up $n
is "$(dp_upstream_last up 'len(r["requests"]), r["raw"]')" "(0, None)" "... the upstream received no byte of it"

dp_stop_all_checked
done_testing
