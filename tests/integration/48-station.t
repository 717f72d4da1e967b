#!/usr/bin/env bash
# station_binding end to end: a LoRa Basics Station stand-in
# (tests/lib/station_client.py: python3-websockets over TLS 1.2 with a client
# certificate and no dane_clientid, as Station on mbedTLS 2.28) reaches the
# WebSocket echo upstream through daneproxy's server role with identity =
# extension-or-san. Its certificate's single SAN
# eui-b827ebfffe611234.gw.dp.test has a DANE-EE record in the lab zone, and
# the listener binds that name to the EUI b827ebfffe611234: /router-info
# with {"router": its own EUI} and /gateway/<its EUI> pass with the identity
# header; another EUI in the path is 403 before the upstream sees anything;
# a /router-info naming another EUI is closed with 1008 and the upstream
# never sees that message; a 403 behind pipelined requests waits for their
# answers; a name outside the template is refused.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"

lab_skip_unless_root_tools
"$LAB_PYTHON" -c 'import websockets' 2>/dev/null || skip_all "python3-websockets missing (packaging/install-deps.sh)"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
NAME=eui-b827ebfffe611234.gw.dp.test

lab_ws_echo_start ws || bail "ws_echo did not start"
lab_upstream_start up --proxy none
# station_listener NAME UPSTREAM_PORT: a listener for stations.
station_listener() {
  printf '[server %s]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$1" "$C/server-chain.crt" "$C/server.key" "$2"
  printf 'allow = *.gw.dp.test\nforward = http\nidentity = extension-or-san\n'
  printf 'tls_versions = 1.2,1.3\nstation_binding = eui-{eui}.gw.dp.test\n'
}
{
  printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section resolver-ad
  station_listener st "$WS_PORT"
  station_listener plain "$UPSTREAM_UP_PORT"
} >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" SP=st SP_PLAIN=plain AP=admin || bail "daneproxy did not start"

# station CERT PATH [MSG]: one WebSocket exchange as the station with CERT.
station() {
  local cert=$1
  shift
  "$LAB_PYTHON" "$DP_SOURCE_DIR/tests/lib/station_client.py" "$SP" "$@" \
    --cert "$C/$cert.crt" --key "$C/$cert.key" --ca "$C/ca.crt" 2>&1
}
metric() { dp_metric "$AP" "daneproxy_station_total{listener=\"st\",role=\"server\",result=\"$1\"}"; }
records() { lab_upstream_records ws | wc -l | tr -d ' '; }
# rec N EXPR: EXPR over upgrade record N (1-based) of the echo upstream.
rec() {
  "$LAB_PYTHON" - "$LAB/ws.jsonl" "$1" "$2" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
r = json.loads(lines[int(sys.argv[2]) - 1])
print(eval(sys.argv[3], {"r": r}))
PY
}

# --- its own EUI: /router-info, then the muxs URI ----------------------------
out=$(station station /router-info '{"router":"b827:ebff:fe61:1234"}')
is "$out" "status=101 echo=OK close=1000" "router-info with its own EUI (ID6, as Station sends it) passes"
lab_wait_file "$LAB/ws.jsonl" 5
lab_poll 10 _lab_lines_ge "$LAB/ws.jsonl" 1
is "$(rec 1 'r["path"]')" /router-info "upstream: the router-info upgrade arrived"
is "$(rec 1 'r["headers"].get("dane-client-identity")')" "$NAME" "upstream: the identity header is the station's DANE name"
is "$(rec 1 'r["messages"]')" 1 "upstream: the router-info message arrived"

out=$(station station /gateway/b827ebfffe611234 '{"msgtype":"version","station":"2.0.6"}')
is "$out" "status=101 echo=OK close=1000" "muxs /gateway/<its EUI> passes"
out=$(station station /traffic/eui-b827ebfffe611234 '{"msgtype":"version"}')
is "$out" "status=101 echo=OK close=1000" "muxs /traffic/eui-<its EUI> (The Things Stack) passes"
out=$(station station /gateway/B8-27-EB-FF-FE-61-12-34)
is "$out" "status=101 close=1000" "its EUI dashed and upper case passes"
out=$(station station /router-info '{"router": "B8-27-EB-FF-FE-61-12-34"}' --frag)
is "$out" "status=101 echo=OK close=1000" "router-info in three fragments, its EUI dashed: passes"
lab_poll 10 _lab_lines_ge "$LAB/ws.jsonl" 5
is "$(rec 2 'r["path"] + " " + r["headers"].get("dane-client-identity", "")')" \
  "/gateway/b827ebfffe611234 $NAME" "upstream: the muxs upgrade carried the identity"
is "$(rec 5 'str(r["messages"]) + " " + str(r["bytes"])')" "1 37" \
  "upstream: the fragmented router-info arrived whole, once"
is "$(metric bound)" 5 "metrics: 5 bound"

# --- another EUI in the path: 403, the upstream sees nothing -------------------
n0=$(records)
out=$(station station /gateway/b827ebfffe611235 '{"msgtype":"version"}')
is "$out" "status=403" "muxs /gateway/<another EUI>: 403"
out=$(station station /gateway/b827:ebff:fe61:1235)
is "$out" "status=403" "another EUI as ID6: 403"
out=$(station station '/gateway/x%2Fb827ebfffe611235')
is "$out" "status=403" "another EUI behind an escaped slash: 403"
out=$(station station '/router-info/eui-b827ebfffe611235')
is "$out" "status=403" "another EUI in a router-info path: 403"
like "$(grep station_refused "$LAB/dp.log" | head -n 1)" \
  "client=$NAME eui=b827ebfffe611234 claimed=b827ebfffe611235" \
  "log: the refusal names the client, its EUI and the EUI claimed"
is "$(metric eui_mismatch)" 4 "metrics: 4 eui_mismatch"

# --- a lying router-info: close 1008, nothing of it upstream -------------------
out=$(station station /router-info '{"router":"b827:ebff:fe61:1235"}')
is "$out" "status=101 close=1008" "router-info naming another EUI: closed with 1008"
out=$(station station /router-info '{"router":"b827:ebff:fe61:1234","router":"b827:ebff:fe61:1235"}')
is "$out" "status=101 close=1008" "router-info with a duplicate router key: closed with 1008"
out=$(station station /router-info 'not json')
is "$out" "status=101 close=1008" "router-info that is no JSON: closed with 1008"
big=$(printf '{"router":"b827:ebff:fe61:1234","pad":"%05000d"}' 0)
out=$(station station /router-info "$big")
is "$out" "status=101 close=1008" "router-info over 4 KiB: closed with 1008"
lab_poll 10 _lab_lines_ge "$LAB/ws.jsonl" $((n0 + 4)) || diag "upstream records: $(records)"
is "$(records)" $((n0 + 4)) "upstream: four upgrades, none for the 403s"
is "$(for i in 1 2 3 4; do rec $((n0 + i)) 'r["messages"]'; done | paste -sd,)" \
  "0,0,0,0" "upstream: not one byte of the refused router-info messages"
is "$(metric bad_router_info)" 4 "metrics: 4 bad_router_info"
like "$(grep 'station_refused' "$LAB/dp.log" | grep -c 'router-info names another EUI')" '^[1-9]' \
  "log: the lying router-info is logged"

# --- plain HTTP, pipelined: the 403 waits for the answers before it ----------
H='Host: lns.dp.test\r\n'
req="GET /gateway/b827ebfffe611234 HTTP/1.1\r\n${H}\r\nGET /api/x HTTP/1.1\r\n${H}\r\n"
req+="GET /gateway/b827ebfffe611235 HTTP/1.1\r\n${H}\r\nGET /gateway/b827ebfffe611234 HTTP/1.1\r\n${H}\r\n"
: >"$LAB/pipe.out"
out=$(dp_testclient --connect "127.0.0.1:$SP_PLAIN" --cert "$C/station.crt" --key "$C/station.key" \
  --no-clientid --tls 1.2 --send "$req" --output "$LAB/pipe.out" --timeout-ms 5000 --quiet 2>&1)
like "$out" "result=ok .*version=TLSv1.2" "pipelined: a TLS 1.2 client without the extension, SAN fallback"
is "$(http_statuses "$LAB/pipe.out")" "200 200 403" "pipelined: two answers, then 403 for another EUI, then the end"
lab_upstream_wait up 1
is "$(dp_upstream_last up "[q['target'] for q in r['requests']]")" "['/gateway/b827ebfffe611234', '/api/x']" \
  "pipelined: the upstream got the two requests before the refused one, nothing after"
is "$(dp_upstream_last up "r['requests'][0]['headers'].get('dane-client-identity')")" "$NAME" \
  "pipelined: with the station's identity"

# --- a name outside the template ---------------------------------------------
n0=$(records)
out=$(station stationx /router-info '{"router":"b827:ebff:fe61:1234"}')
is "$out" "status=403" "a station named gw1.gw.dp.test (no EUI in its name): 403"
like "$(grep station_refused "$LAB/dp.log" | tail -n 1)" "client=gw1.gw.dp.test .*does not fit station_binding" \
  "log: the name outside the template"
is "$(metric eui_mismatch)" 5 "metrics: the name outside the template counted as eui_mismatch"
is "$(dp_metric "$AP" 'daneproxy_station_total{listener="plain",role="server",result="eui_mismatch"}')" 1 \
  "metrics: per listener (plain: its one refusal)"
is "$(records)" "$n0" "upstream: nothing for it"

done_testing
