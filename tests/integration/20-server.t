#!/usr/bin/env bash
# Server role end to end, in both DNS modes: real NSD + Unbound serving signed
# zones, daneproxy terminating TLS, a stand-in upstream recording the PROXY v2
# header it receives. Accepted clients arrive with their identity; refused
# ones get handshake_failure and nothing reaches the upstream.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
REQ='POST /api/join HTTP/1.1\r\nHost: js.dp.test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'
ALLOW='_lorawan-ns.ns1.dp.test, *._device.dp.test, *.child.dp.test, *.nsec3.dp.test, *.insecure.dp.test, *.bogus.dp.test, *.expired.dp.test, nothere.dp.test, _lorawan-ns.ta.dp.test, multi.dp.test'

# server_conf MODE PORT UPSTREAM_PORT [extra lines]: a one-listener config
# (PORT 0: dp_start reads the port it got).
server_conf() {
  dp_dns_section "$1"
  printf '[server js]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$2" "$C/server-chain.crt" "$C/server.key" "$3"
  printf 'forward = proxy-v2\nallow = %s\nhandshake_timeout_ms = 5000\n%s\n' "$ALLOW" "${4:-}"
}

# wait_records UPSTREAM N: until the upstream has recorded N connections.
wait_records() {
  local i
  for i in $(seq 1 100); do
    [ "$(dp_upstream_conns "$1")" -ge "$2" ] && return 0
    sleep 0.05
  done
  return 1
}

# accepted MODE NAME CERT KEY DESC [client args]
accepted() {
  local mode=$1 name=$2 cert=$3 key=$4 desc=$5; shift 5
  local up=up-$mode before out want
  want=$(printf '%s' "$name" | tr 'A-Z' 'a-z')
  before=$(dp_upstream_conns "$up")
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$cert" --key "$key" \
        --clientid "$name" --send "$REQ" --timeout-ms 5000 "$@" 2>&1)
  like "$out" 'result=ok' "$mode: $desc: accepted"
  like "$out" 'HTTP/1.1 200' "$mode: $desc: the upstream answered"
  if wait_records "$up" $((before + 1)); then
    is "$(dp_upstream_last "$up" 'r["proxy"]["identity"]')" "$want" \
      "$mode: $desc: identity TLV carries the ClientName"
    is "$(dp_upstream_last "$up" 'r["proxy"]["ssl"]["verify"]')" 0 \
      "$mode: $desc: PP2 verify = 0"
    is "$(dp_upstream_last "$up" 'r["proxy"]["ssl"]["cn"]')" "$want" \
      "$mode: $desc: PP2 SSL CN carries the ClientName"
  else
    nok "$mode: $desc: upstream recorded the connection" true
  fi
}

# suppressed_lines: daneproxy_log_suppressed_total of the listener.
suppressed_lines() {
  curl -s "http://127.0.0.1:$APORT/metrics" |
    awk '$1 == "daneproxy_log_suppressed_total{listener=\"js\",role=\"server\"}" { print $2 }'
}
suppressed_ge() { [ "$(suppressed_lines)" -ge "$1" ]; }

# refused MODE DESC CLIENT_ARGS...: handshake_failure, nothing upstream, a
# refused line logged. With REPEAT=1: the same refusal (address, no name,
# reason) was logged within 10 s, so the line is left out and counted in
# daneproxy_log_suppressed_total instead.
refused() {
  local mode=$1 desc=$2; shift 2
  local up=up-$mode before out refusals t0 t1 sup0
  before=$(dp_upstream_conns "$up")
  refusals=$(grep -c 'outcome=refused' "$LAB/dp-$mode.log" || true)
  sup0=$(suppressed_lines)
  t0=$(date +%s%N)
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --send "$REQ" --timeout-ms 8000 --quiet "$@" 2>&1)
  t1=$(date +%s%N)
  like "$out" 'result=alert alert=40' "$mode: $desc: handshake_failure alert"
  ok "$mode: $desc: within the handshake timeout" test $(( (t1 - t0) / 1000000 )) -lt 5000
  if [ -n "${REPEAT:-}" ]; then
    ok "$mode: $desc: a repeat: its line left out, counted as suppressed" \
      lab_poll 5 suppressed_ge $((sup0 + 1))
    is "$(grep -c 'outcome=refused' "$LAB/dp-$mode.log")" "$refusals" \
      "$mode: $desc: ... and no line"
  else
    local i
    for i in $(seq 1 100); do
      [ "$(grep -c 'outcome=refused' "$LAB/dp-$mode.log")" -gt "$refusals" ] && break
      sleep 0.05
    done
    ok "$mode: $desc: logged as refused" \
      test "$(grep -c 'outcome=refused' "$LAB/dp-$mode.log")" -gt "$refusals"
  fi
  is "$(dp_upstream_conns "$up")" "$before" "$mode: $desc: nothing reached the upstream"
}

for mode in validate resolver-ad; do
  lab_upstream_start "up-$mode" --proxy v2
  { server_conf "$mode" 0 "$UPSTREAM_PORT"
    printf '[global]\nadmin = 127.0.0.1:0\n'; } >"$LAB/server-$mode.ini"
  dp_start "dp-$mode" "$LAB/server-$mode.ini" PORT=js APORT=admin || bail "daneproxy did not start"
  resolver=fwd; [ "$mode" = resolver-ad ] && resolver=ad

  # First, while nothing is cached (libunbound would otherwise synthesise
  # answers under the wildcard from cached NSEC records, asking nobody):
  burst=burst-$mode._device.dp.test
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid "$burst" --parallel 200 --timeout-ms 20000 --quiet 2>&1 | grep '^summary')
  like "$out" 'ok=200 ' "$mode: 200 concurrent handshakes for one uncached name all accepted"
  # The property: the cache merged them into one lookup (daneproxy's own
  # count). On the wire, our resolver-ad client sends exactly one query;
  # libunbound (validate) may retransmit once when the machine is starved.
  is "$(curl -s "http://127.0.0.1:$APORT/metrics" | awk '$1 == "daneproxy_tlsa_lookup_duration_seconds_count" { print $2 }')" 1 \
    "$mode: ... one TLSA lookup started by daneproxy"
  wire=$(lab_dns_query_count "$burst" TLSA $resolver)
  if [ "$mode" = resolver-ad ]; then
    is "$wire" 1 "$mode: ... exactly one TLSA query reached the resolver"
  else
    ok "$mode: ... one TLSA query reached the forwarder ($wire; a libunbound retransmit allowed)" test "$wire" -ge 1 -a "$wire" -le 2
  fi

  accepted "$mode" _lorawan-ns.ns1.dp.test "$C/client.crt" "$C/client.key" "secure exact underscore name"
  is "$(dp_upstream_last "up-$mode" 'r["proxy"]["ssl"]["tlvs"].get("0xe0")')" "" \
    "$mode: an exact record: no wildcard sub-TLV"
  accepted "$mode" dev1._device.dp.test "$C/client.crt" "$C/client.key" "wildcard *._device"
  is "$(dp_upstream_last "up-$mode" 'bytes.fromhex(r["proxy"]["ssl"]["tlvs"].get("0xe0", "")).decode()')" \
    '*._device.dp.test' "$mode: a record synthesised from *._device: the SSL sub-TLV 0xE0 names the wildcard"
  lab_wait_log "dp-$mode" 'client_name=dev1._device.dp.test .*outcome=' 5 >/dev/null
  like "$(grep 'client_name=dev1._device.dp.test ' "$LAB/dp-$mode.log")" 'tlsa="3 1 1" tlsa_wildcard=\*\._device\.dp\.test outcome=ok' \
    "$mode: ... and the log line says so"
  accepted "$mode" client.child.dp.test "$C/client.crt" "$C/client.key" "signed child zone"
  accepted "$mode" client.nsec3.dp.test "$C/client.crt" "$C/client.key" "NSEC3 child zone"
  accepted "$mode" multi.dp.test "$C/client.crt" "$C/client.key" "second of two TLSA records"
  accepted "$mode" _lorawan-ns.ta.dp.test "$C/taclient.crt" "$C/taclient.key" "DANE-TA 2 0 1 with chain" \
    --chain "$C/clientca.crt"
  accepted "$mode" DEV2._Device.DP.test "$C/client.crt" "$C/client.key" "mixed-case name"
  ok "$mode: log line names the matched TLSA record" \
    grep -q 'client_name=_lorawan-ns.ns1.dp.test tlsa="3 1 1" outcome=ok' "$LAB/dp-$mode.log"

  refused "$mode" "rogue certificate" --cert "$C/rogue.crt" --key "$C/rogue.key" --clientid _lorawan-ns.ns1.dp.test
  refused "$mode" "no dane_clientid extension" --cert "$C/client.crt" --key "$C/client.key" --no-clientid
  refused "$mode" "zero-length ClientName" --cert "$C/client.crt" --key "$C/client.key" --clientid-hex 00
  REPEAT=1 refused "$mode" "ClientName length mismatch (malformed again)" --cert "$C/client.crt" --key "$C/client.key" --clientid-hex 05616263
  refused "$mode" "bogus RRSIG" --cert "$C/client.crt" --key "$C/client.key" --clientid client.bogus.dp.test
  refused "$mode" "expired RRSIG" --cert "$C/client.crt" --key "$C/client.key" --clientid client.expired.dp.test
  refused "$mode" "insecure child zone" --cert "$C/client.crt" --key "$C/client.key" --clientid client.insecure.dp.test
  refused "$mode" "NXDOMAIN" --cert "$C/client.crt" --key "$C/client.key" --clientid nothere.dp.test
  q0=$(lab_dns_query_count outsider.example.net TLSA $resolver)
  refused "$mode" "name outside the allowlist" --cert "$C/client.crt" --key "$C/client.key" --clientid outsider.example.net
  is "$(lab_dns_query_count outsider.example.net TLSA $resolver)" "$q0" "$mode: no DNS query for a name outside the allowlist"

done

# tlsa_wildcard = refuse: a record synthesised from a wildcard is not enough.
lab_upstream_start up-nowild --proxy v2
server_conf resolver-ad 0 "$UPSTREAM_PORT" 'tlsa_wildcard = refuse' >"$LAB/server-nowild.ini"
dp_start dp-nowild "$LAB/server-nowild.ini" PORT=js || bail "daneproxy did not start"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      --clientid dev3._device.dp.test --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=alert alert=40' "tlsa_wildcard = refuse: a name vouched for by *._device is refused"
lab_wait_log dp-nowild 'outcome=refused' 5 >/dev/null
like "$(grep 'outcome=refused' "$LAB/dp-nowild.log")" 'synthesised from the wildcard \*\._device\.dp\.test' \
  "... and the log says which wildcard"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok' "tlsa_wildcard = refuse: an exact record still authenticates"

# client_auth = optional: an unauthenticated client gets through, marked so.
lab_upstream_start up-opt --proxy v2
server_conf validate 0 "$UPSTREAM_PORT" 'client_auth = optional' >"$LAB/server-opt.ini"
dp_start dp-opt "$LAB/server-opt.ini" PORT=js || bail "daneproxy did not start"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/rogue.crt" --key "$C/rogue.key" \
      --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok' "optional: rogue client proceeds"
wait_records up-opt 1
is "$(dp_upstream_last up-opt 'r["proxy"]["ssl"]["verify"]')" 1 "optional: upstream told verify != 0"
is "$(dp_upstream_last up-opt 'r["proxy"]["identity"]')" "" "optional: no identity TLV"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --no-clientid --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok' "optional: client without certificate proceeds"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok' "optional: a DANE client still authenticates"
wait_records up-opt 3
is "$(dp_upstream_last up-opt 'r["proxy"]["identity"]')" _lorawan-ns.ns1.dp.test "optional: identity of the DANE client"

# identity = extension-or-san: a client that cannot send the extension.
lab_upstream_start up-san --proxy v2
server_conf validate 0 "$UPSTREAM_PORT" "identity = extension-or-san
san_tlsa_prefix = _lorawan-ns
tls_versions = 1.2,1.3" >"$LAB/server-san.ini"
dp_start dp-san "$LAB/server-san.ini" PORT=js || bail "daneproxy did not start"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      --no-clientid --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok' "extension-or-san: SAN ns1.dp.test + prefix authenticates"
wait_records up-san 1
is "$(dp_upstream_last up-san 'r["proxy"]["identity"]')" _lorawan-ns.ns1.dp.test "extension-or-san: identity is the prefixed SAN"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --tls 1.2 --cert "$C/client.crt" --key "$C/client.key" \
      --no-clientid --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok .*version=TLSv1.2' "extension-or-san: a TLS 1.2 client (no extension possible) authenticates"
wait_records up-san 2
is "$(dp_upstream_last up-san 'r["proxy"]["ssl"]["version"]')" TLSv1.2 "extension-or-san: upstream told TLSv1.2"
is "$(dp_upstream_last up-san 'r["proxy"]["identity"]')" _lorawan-ns.ns1.dp.test "extension-or-san: TLS 1.2 identity"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --tls 1.2 --cert "$C/rogue.crt" --key "$C/rogue.key" \
      --no-clientid --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=alert alert=40' "extension-or-san: a TLS 1.2 rogue client gets handshake_failure"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/taclient.crt" --key "$C/taclient.key" \
      --chain "$C/clientca.crt" --no-clientid --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=alert alert=40' "extension-or-san: SAN outside the allowlist refused"

# DNS server down: refused within the DNS timeout, in both modes.
for mode in dead-validate dead-resolver-ad; do
  lab_upstream_start "up-$mode" --proxy v2
  server_conf "$mode" 0 "$UPSTREAM_PORT" >"$LAB/server-$mode.ini"
  dp_start "dp-$mode" "$LAB/server-$mode.ini" PORT=js || bail "daneproxy did not start"
  refused "$mode" "DNS server down" --cert "$C/client.crt" --key "$C/client.key" --clientid _lorawan-ns.ns1.dp.test
done

# The client role as the peer: an unmodified local client speaks plain HTTP.
lab_upstream_start up-cr --proxy v2
server_conf resolver-ad 0 "$UPSTREAM_PORT" >"$LAB/server-cr.ini"
dp_start dp-cr "$LAB/server-cr.ini" PORT=js || bail "daneproxy did not start"
printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$PORT" >"$LAB/client.ini"
printf 'cert = %s\nkey = %s\nclient_name = _lorawan-ns.ns1.dp.test\nca_file = %s\nverify_server = pkix\n' \
  "$C/client.crt" "$C/client.key" "$C/ca.crt" >>"$LAB/client.ini"
dp_start dp-client "$LAB/client.ini" CPORT=js || bail "daneproxy client role did not start"
body='{"ProtocolVersion":"1.1","SenderID":"000013","ReceiverID":"70B3D57ED0000000","TransactionID":42,"MessageType":"JoinReq","MACVersion":"1.0.3","PHYPayload":"00","DevEUI":"0004A30B001C0530"}'
out=$(curl -sS --max-time 5 -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$CPORT/join" 2>&1)
like "$out" '"MessageType": *"JoinAns"' "client role: JoinReq through both roles answered with JoinAns"
wait_records up-cr 1
is "$(dp_upstream_last up-cr 'r["proxy"]["identity"]')" _lorawan-ns.ns1.dp.test "client role: identity arrives upstream"
like "$(dp_upstream_last up-cr 'r["requests"][0]["body"]')" JoinReq "client role: the JoinReq body arrived intact"

# Bodies of several megabytes stream through both roles; the raw echo of 6 MB
# exercises back-pressure both ways and half-close (the local client's FIN
# travels as close_notify, then as FIN to the upstream, and the echo's end
# comes back the same way).
head -c 8388608 /dev/urandom >"$LAB/big.bin"
out=$(curl -sS --max-time 20 -H 'Content-Type: application/octet-stream' --data-binary "@$LAB/big.bin" \
      "http://127.0.0.1:$CPORT/upload" 2>&1)
like "$out" '"body_len": *8388608' "client role: an 8 MiB POST arrives whole at the upstream"
lab_upstream_start up-echo --proxy v2
server_conf resolver-ad 0 "$UPSTREAM_PORT" >"$LAB/server-echo.ini"
dp_start dp-echo "$LAB/server-echo.ini" PORT=js || bail "daneproxy did not start"
sed -e "s/^connect = .*/connect = 127.0.0.1:$PORT/" \
    -e 's/^\[client js\]/[client echo]/' "$LAB/client.ini" >"$LAB/client-echo.ini"
dp_start dp-client-echo "$LAB/client-echo.ini" EPORT=echo || bail "daneproxy client role did not start"
out=$("$LAB_PYTHON" - "$EPORT" <<'PY'
import hashlib, os, socket, sys, threading
data = os.urandom(6 * 1024 * 1024)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
got = bytearray()
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
t.join()
print("echo", len(got), hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest())
PY
)
# A relay that stopped writing to a side once it had read that side's
# close_notify (libevent 2.1's TLS bufferevent did) hangs here: the echo
# still owed after the local client's FIN is never sent.
is "$out" "echo 6291456 True" "6 MiB raw echo through both roles: every byte back, in order, then a clean end"

# Upstream unreachable: the client's connection is closed cleanly.
DEAD=$(lab_port)   # nothing listens there
server_conf resolver-ad 0 "$DEAD" >"$LAB/server-noup.ini"
dp_start dp-noup "$LAB/server-noup.ini" PORT=js || bail "daneproxy did not start"
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok .*bytes_read=0 .*end=close_notify' "upstream down: client sees a clean TLS close"
lab_wait_log dp-noup 'outcome=error' 5 >/dev/null
ok "upstream down: logged with the reason" grep -q 'reason="upstream Connection refused"' "$LAB/dp-noup.log"

dp_stop_all_checked
done_testing
