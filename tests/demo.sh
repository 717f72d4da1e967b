#!/usr/bin/env bash
# The demo: installs what is missing (Debian 12, as root), builds daneproxy,
# then plays one LoRaWAN join across two operators on loopback:
#
#   curl (the Network Server of operator A)
#     → daneproxy client role  (gives it the DANE identity _lorawan-ns.ns1.dp.test)
#     → daneproxy server role  (Join Server of operator B: checks the TLSA record
#                               with DNSSEC, in process, from a trust anchor)
#     → stand-in Join Server   (unmodified; reads the identity from PROXY v2)
#
# NSD serves the DNSSEC-signed zone dp.test, Unbound forwards; everything runs
# on random loopback ports in a temp dir and is stopped at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash packaging/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
export DP_SOURCE_DIR="$top" DP_BUILD="$top/build"

set +eu
. tests/lib/tap.sh
. tests/lib/lab.sh
. tests/lib/proxy.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf "demo failed: %s\n" "$*" >&2; _tap_done=1; TAP_FAILED=1; exit 1; }

lab_init
say "1. Demo PKI and a DNSSEC-signed zone (certs/mkcerts.sh, ldns-signzone)"
lab_certs || fail "certificates"
lab_dns_start || fail "DNS lab"
C=$LAB_CERTS
echo "NSD (authoritative for dp.test) on $LAB_NSD; Unbound on $LAB_FWD_RESOLVER"
echo "TLSA record the Network Server published for its key:"
drill -p "${LAB_AD_RESOLVER##*:}" @127.0.0.1 -D _lorawan-ns.ns1.dp.test TLSA \
  | awk '$4 == "TLSA" || /flags:/' | sed 's/^/    /'
echo "TLSA record the Join Server published for its key:"
drill -p "${LAB_AD_RESOLVER##*:}" @127.0.0.1 -D _8443._tcp.js.dp.test TLSA \
  | awk '$4 == "TLSA"' | sed 's/^/    /'

say "2. The Join Server (stand-in upstream, expects PROXY protocol v2)"
lab_upstream_start joinserver --proxy v2 || fail "upstream"
echo "listening on 127.0.0.1:$UPSTREAM_PORT"

say "3. daneproxy, server role, in front of the Join Server"
cat >"$LAB/js.ini" <<EOF
[global]
log_level = info
workers = 2
admin = 127.0.0.1:0

[dns]
mode = validate
resolvers = $LAB_FWD_RESOLVER
trust_anchor_file = $LAB_TRUST_ANCHOR
probe_name = dp.test

[server js]
listen = 127.0.0.1:0
cert = $C/js.crt
key = $C/js.key
upstream = 127.0.0.1:$UPSTREAM_PORT
forward = proxy-v2
allow = _lorawan-ns.ns1.dp.test, *._device.dp.test
EOF
sed 's/^/    /' "$LAB/js.ini"
dp_start js "$LAB/js.ini" SPORT=js APORT=admin || fail "daneproxy server role"
echo "port 0: the kernel chose the ports, daneproxy says which:"
grep ' listening ' "$LAB/js.log" | sed 's/^/    /'

say "4. daneproxy, client role, for the Network Server (authenticates the Join Server by DANE too)"
cat >"$LAB/ns.ini" <<EOF
[dns]
mode = validate
resolvers = $LAB_FWD_RESOLVER
trust_anchor_file = $LAB_TRUST_ANCHOR

[client js-operator-b]
listen = 127.0.0.1:0
connect = 127.0.0.1:$SPORT
server_name = js.dp.test
cert = $C/client.crt
key = $C/client.key
client_name = _lorawan-ns.ns1.dp.test
verify_server = dane
; the Join Server's record is published for port 8443; the demo's port is random
tlsa_name = _8443._tcp.js.dp.test
EOF
sed 's/^/    /' "$LAB/ns.ini"
dp_start ns "$LAB/ns.ini" CPORT=js-operator-b || fail "daneproxy client role"

say "5. The Network Server sends a TS002 JoinReq (plain HTTP to its local daneproxy)"
body='{"ProtocolVersion":"1.1","SenderID":"000013","ReceiverID":"70B3D57ED0000000","TransactionID":305419896,"MessageType":"JoinReq","MACVersion":"1.0.3","PHYPayload":"00dc0000d07ed5b3700e00000000000000c7a1b2c3d4","DevEUI":"0004A30B001C0530","DevAddr":"01ab23cd","DLSettings":"00","RxDelay":1}'
echo "    POST http://127.0.0.1:$CPORT/  $body"
answer=$(curl -sS --max-time 10 -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$CPORT/") \
  || fail "JoinReq did not go through"
echo "    answer: $answer"

say "6. What the Join Server received"
lab_upstream_wait joinserver 1 10 >/dev/null 2>&1 || true
"$LAB_PYTHON" - "$LAB/joinserver.jsonl" <<'PY'
import json, sys
r = json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])
p = r["proxy"]; ssl = p.get("ssl") or {}
print("    PROXY v2 source        %s" % p.get("src"))
print("    verified identity      %s   (TLV 0xE0)" % p.get("identity"))
print("    PP2_TYPE_SSL verify    %s   (0 = DANE-authenticated)" % ssl.get("verify"))
print("    PP2_SUBTYPE_SSL_CN     %s" % ssl.get("cn"))
print("    TLS                    %s %s" % (ssl.get("version"), ssl.get("cipher")))
print("    unique id              %s" % p.get("unique_id"))
q = r["requests"][0]
print("    request                %s" % q["line"])
print("    body                   %s" % q["body"])
PY
echo "daneproxy's log line:"
grep 'role=server' "$LAB/js.log" | grep 'outcome=' | tail -1 | sed 's/^/    /'
echo "the client role's log line (tlsa = how it authenticated the Join Server):"
grep 'role=client' "$LAB/ns.log" | grep 'outcome=' | tail -1 | sed 's/^/    /'

say "7. A rogue client claims the same name with another key"
out=$("$DP_BUILD/dp-testclient" --connect "127.0.0.1:$SPORT" --cert "$C/rogue.crt" --key "$C/rogue.key" \
      --clientid _lorawan-ns.ns1.dp.test --send 'POST / HTTP/1.1\r\nHost: js\r\nContent-Length: 2\r\n\r\n{}' \
      --timeout-ms 5000 --quiet 2>&1 | head -1)
echo "    rogue client: $out" | cut -c1-160
lab_wait_log js 'outcome=refused' 5 >/dev/null || fail "the rogue client was not refused"
grep 'outcome=refused' "$LAB/js.log" | tail -1 | sed 's/^/    /'
echo "    connections the Join Server saw in all: $(dp_upstream_conns joinserver) (the rogue one never reached it)"

say "8. What the operator sees: /readyz and /metrics of the server role"
echo "    /readyz: $(curl -s "http://127.0.0.1:$APORT/readyz")"
curl -s "http://127.0.0.1:$APORT/metrics" |
  grep -E '^daneproxy_(connections_total|handshake_failures_total|dane_verifications_total)\{.*\} [1-9]|^daneproxy_(workers|tlsa_cache_(hits|misses)_total) ' |
  sed 's/^/    /'

say "9. Reload (SIGHUP): a new generation of workers takes over, the old one drains"
# Port 0 would be bound anew: the file names the ports daneproxy got, so the
# reload keeps its sockets.
sed -i -e "s/^admin = 127.0.0.1:0\$/admin = 127.0.0.1:$APORT/" \
  -e "s/^listen = 127.0.0.1:0\$/listen = 127.0.0.1:$SPORT/" "$LAB/js.ini"
kill -HUP "$(lab_pid js)"
lab_wait_log js 'reload: generation 2 serving' 10 || fail "reload"
grep -E 'reload|generation' "$LAB/js.log" | sed 's/^/    /'

say "Done: stopping NSD, Unbound, both daneproxies and the Join Server"
_tap_done=1   # not a test run: tap.sh must not call the exit a failure
exit 0
