#!/usr/bin/env bash
# Latency a client-role route adds: curl → client role → server role → nginx,
# with both sides authenticated by DANE. "Cold": the first request, both
# daneproxies' TLSA caches empty (resolvers warm). "Warm": later requests,
# each still a new TLS connection (no resumption), lookups from cache.
# Compared with curl straight to nginx. Not part of the test suite.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"
N=${1:-50}

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
lab_nginx_start ng || bail "nginx"
curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/warm"
for mode in validate resolver-ad; do
  { dp_dns_section "$mode"
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$C/js.crt" "$C/js.key" "$NGINX_PORT"
    printf 'forward = http\nallow = _lorawan-ns.ns1.dp.test\n'; } >"$LAB/s-$mode.ini"
  dp_start "s-$mode" "$LAB/s-$mode.ini" SPORT=js || bail "daneproxy"
  { dp_dns_section "$mode"
    printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$SPORT"
    printf 'cert = %s\nkey = %s\nclient_name = _lorawan-ns.ns1.dp.test\nverify_server = dane\ntlsa_name = _8443._tcp.js.dp.test\n' \
      "$C/client.crt" "$C/client.key"; } >"$LAB/c-$mode.ini"
  dp_start "c-$mode" "$LAB/c-$mode.ini" CPORT=js || bail "daneproxy"
  t() { curl -s -o /dev/null -w '%{time_total}\n' "$1"; }
  cold=$(t "http://127.0.0.1:$CPORT/cold")
  warm=$(for i in $(seq "$N"); do t "http://127.0.0.1:$CPORT/w$i"; done | sort -n | awk '{a[NR]=$1} END {print a[int(NR/2)+1]}')
  direct=$(for i in $(seq "$N"); do t "http://127.0.0.1:$NGINX_PORT/d$i"; done | sort -n | awk '{a[NR]=$1} END {print a[int(NR/2)+1]}')
  printf '%s: request through the route, cold %.2f ms, warm median %.2f ms; nginx direct median %.2f ms\n' \
    "$mode" "$(calc "$cold * 1000")" "$(calc "$warm * 1000")" "$(calc "$direct * 1000")"
done
_tap_done=1
