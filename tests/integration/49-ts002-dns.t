#!/usr/bin/env bash
# ts002_binding = dns (forward = http): a TS002 request reaches the upstream
# only when its SenderID's DNS name (NetID 000013 -> 000013.netids.dp.test,
# a JoinEUI's nibbles reversed under joineuis.dp.test) answers NAPTR
# DNSSEC-secure, pointing at a host in the organisational domain of the
# client's DANE name (_lorawan-ns.ns1.dp.test -> dp.test). A target
# elsewhere, an insecure or bogus answer, NXDOMAIN: UnknownSender, nothing
# upstream; DNS that does not answer: 503 (dns_error). An AppSKeyReq's
# AS-ID is not looked up: it binds when it is a DNS name under that
# organisational domain. Both DNS back ends.
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
H='Host: ns.dp.test\r\n'
CLOSE='Connection: close\r\n'

# start_dns NAME MODE UPSTREAM_PORT [NETID_DOMAIN]: a forward = http
# listener with ts002_binding = dns on the lab's domains, DNS in MODE; ports
# in SP, AP.
start_dns() {
  local name=$1 mode=$2 up=$3 nd=${4:-netids.dp.test}
  {
    printf '[global]\nadmin = 127.0.0.1:0\n'
    dp_dns_section "$mode"
    printf '[server ns]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$C/server-chain.crt" "$C/server.key" "$up"
    printf 'allow = *.dp.test\nhandshake_timeout_ms = 5000\nforward = http\n'
    printf 'ts002_binding = dns\nnetid_domain = %s\njoineui_domain = joineuis.dp.test\n' "$nd"
  } >"$LAB/$name.ini"
  dp_start "$name" "$LAB/$name.ini" SP=ns AP=admin || bail "daneproxy $name did not start"
}

post() {
  printf 'POST /ts002 HTTP/1.1\\r\\n%sContent-Type: application/json\\r\\n%sContent-Length: %d\\r\\n\\r\\n%s' \
    "$H" "${2:-}" "${#1}" "$1"
}

# rc_of FILE: the ResultCode of the TS002 answer in FILE, or "-".
rc_of() {
  "$LAB_PYTHON" - "$1" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
i = data.find(b"\r\n\r\n")
try:
    print(json.loads(data[i + 4:])["Result"]["ResultCode"])
except Exception:
    print("-")
PY
}

up_requests() { dp_upstream_last up "len(r['requests'])"; }

# req NETID TID: a PRStartReq from NETID.
req() {
  printf '{"ProtocolVersion":"1.1","SenderID":"%s","ReceiverID":"000014","TransactionID":%d,"MessageType":"PRStartReq","PHYPayload":"40AABBCCDD00010001D1D2D3D4","ULMetaData":{"DevAddr":"26011F2A","DataRate":5,"ULFreq":868.1,"RecvTime":"2026-11-30T09:00:00Z","RFRegion":"EU868","GWCnt":1}}' "$1" "$2"
}
# askreq AS_ID TID: an AppSKeyReq from AS_ID.
askreq() {
  printf '{"ProtocolVersion":"1.1","SenderID":"%s","ReceiverID":"70B3D57ED0000000","TransactionID":%d,"MessageType":"AppSKeyReq","DevEUI":"0004A30B001C0530","SessionKeyID":"0102"}' "$1" "$2"
}
JOINANS='{"ProtocolVersion":"1.1","SenderID":"70B3D57ED0000000","ReceiverID":"000013","TransactionID":3012,"MessageType":"JoinAns","Result":{"ResultCode":"Success"},"PHYPayload":"20A1B2C3D4E5F60718293A4B5C6D7E8F90","Lifetime":0}'

# unbound_case NAME BODY WHAT: BODY is refused with UnknownSender, nothing
# reaches the upstream, and one ts002_refused line says so.
unbound_case() {
  local name=$1 body=$2 what=$3 n0
  n0=$(dp_upstream_conns up)
  tc "$SP" "$LAB/$name.out" "$(post "$body" "$CLOSE")" >/dev/null
  is "$(http_status "$LAB/$name.out") $(rc_of "$LAB/$name.out")" "200 UnknownSender" "$mode: $what: UnknownSender"
  lab_upstream_wait up $((n0 + 1))
  is "$(up_requests)" 0 "$mode: $what: nothing upstream"
}

lab_upstream_start up --proxy none

tid=100
for mode in validate resolver-ad; do
  start_dns "dp-$mode" "$mode" "$UPSTREAM_UP_PORT"

  # --- bound: NetID 000013 -> ns1.dp.test, under dp.test -------------------
  for round in 1 2; do   # the second from the cache
    n0=$(dp_upstream_conns up)
    tc "$SP" "$LAB/bound.out" "$(post "$(req 000013 $((tid += 1)))" "$CLOSE")" >/dev/null
    is "$(http_status "$LAB/bound.out")" 200 "$mode: bound NetID (round $round): answered by the upstream"
    lab_upstream_wait up $((n0 + 1))
    is "$(dp_upstream_last up "[v for k, v in r['requests'][0]['header_list'] if k.lower() == 'dane-ts002-binding']")" \
      "['held; sender-id=000013; by=dns; via=ns1.dp.test']" "$mode: bound NetID (round $round): DANE-TS002-Binding names the DNS target"
  done

  # --- JoinEUI: a NAPTR URL at js.dp.test ----------------------------------
  n0=$(dp_upstream_conns up)
  tc "$SP" "$LAB/eui.out" "$(post "$JOINANS" "$CLOSE")" >/dev/null
  is "$(http_status "$LAB/eui.out")" 200 "$mode: JoinAns from a JoinEUI bound by a NAPTR URL: passed"
  lab_upstream_wait up $((n0 + 1))
  is "$(dp_upstream_last up "r['requests'][0]['body'] == '''$JOINANS'''")" True "$mode: JoinAns forwarded byte for byte"
  n0=$(dp_upstream_conns up)
  tc "$SP" "$LAB/eui2.out" "$(post "${JOINANS/70B3D57ED0000000/70B3D57ED0000001}" "$CLOSE")" >/dev/null
  is "$(http_status "$LAB/eui2.out")" 403 "$mode: JoinAns from a JoinEUI with no name: 403"
  lab_upstream_wait up $((n0 + 1))
  is "$(up_requests)" 0 "$mode: unbound JoinAns: nothing upstream"

  # --- not bound -------------------------------------------------------------
  unbound_case other "$(req 000014 $((tid += 1)))" "target in another domain"
  like "$(grep ts002_refused "$LAB/dp-$mode.log" | tail -n 1)" \
    "name=$ID.*sender_id=000014.*result=UnknownSender.*no DNS target under dp\\.test" \
    "$mode: target in another domain: logged with the reason"
  unbound_case insecure "$(req 000015 $((tid += 1)))" "insecure zone (its CNAME target lies under dp.test)"
  like "$(grep ts002_refused "$LAB/dp-$mode.log" | tail -n 1)" "sender_id=000015.*DNS insecure" \
    "$mode: insecure: logged as such"
  unbound_case nx "$(req 000017 $((tid += 1)))" "NXDOMAIN"
  if [ "$mode" = validate ]; then
    unbound_case bogus "$(req 000016 $((tid += 1)))" "bogus signature"
  else
    # A validating resolver answers bogus data SERVFAIL: not told apart
    # from a failure, so 503 rather than a final UnknownSender.
    n0=$(dp_upstream_conns up)
    tc "$SP" "$LAB/bogus.out" "$(post "$(req 000016 $((tid += 1)))" "$CLOSE")" >/dev/null
    is "$(http_status "$LAB/bogus.out")" 503 "$mode: bogus signature (SERVFAIL): 503"
    lab_upstream_wait up $((n0 + 1))
    is "$(up_requests)" 0 "$mode: bogus: nothing upstream"
  fi

  # --- AppSKeyReq: an AS-ID is not looked up; it binds when it is a DNS
  # name under the organisational domain (dp.test) ----------------------------
  n0=$(dp_upstream_conns up)
  tc "$SP" "$LAB/as.out" "$(post "$(askreq As1.DP.test $((tid += 1)))" "$CLOSE")" >/dev/null
  is "$(http_status "$LAB/as.out")" 200 "$mode: AppSKeyReq from an AS-ID under dp.test: answered by the upstream"
  lab_upstream_wait up $((n0 + 1))
  is "$(dp_upstream_last up "[v for k, v in r['requests'][0]['header_list'] if k.lower() == 'dane-ts002-binding']")" \
    "['held; sender-id=As1.DP.test; by=dns']" "$mode: AS-ID under dp.test: bound by dns, the AS-ID as sent"
  unbound_case asother "$(askreq as1.other.test $((tid += 1)))" "AppSKeyReq from an AS-ID in another domain"
  like "$(grep ts002_refused "$LAB/dp-$mode.log" | tail -n 1)" \
    "sender_id=as1.other.test .*type=AppSKeyReq.*result=UnknownSender.*not a DNS name under dp\\.test" \
    "$mode: AS-ID in another domain: logged with the reason"
  unbound_case asurn "$(askreq urn:as:ns1.dp.test $((tid += 1)))" "AppSKeyReq from an AS-ID that is not a DNS name"

  m() { dp_metric "$AP" "daneproxy_ts002_total{listener=\"ns\",role=\"server\",result=\"$1\"}"; }
  is "$(m bound)" 4 "$mode: metrics: bound"
  if [ "$mode" = validate ]; then
    is "$(m unknown_sender) $(m dns_error)" "7 0" "$mode: metrics: unknown_sender, no dns_error"
  else
    is "$(m unknown_sender) $(m dns_error)" "6 1" "$mode: metrics: unknown_sender, dns_error"
  fi
  lab_stop "dp-$mode"
done

# --- DNS that does not answer: 503, counted, nothing upstream ----------------
# The SenderID's zone unreachable (netids.unreachable.test is forwarded to
# a resolver that does not listen), the client's own TLSA answered.
for mode in validate resolver-ad; do
  start_dns "dp-unreach-$mode" "$mode" "$UPSTREAM_UP_PORT" netids.unreachable.test
  # The client gives up while the lookup runs (a forwarder that does not
  # listen takes unbound a while the first time). Whether the relay sees
  # the close before the answer (the wait is cancelled by its cancel hook)
  # or answers into it, the lookup ends on its own, a verdict given is
  # logged and counted once, and the sanitizer build sees no use after
  # free (checked when daneproxy stops).
  tc "$SP" "$LAB/gone.out" "$(post "$(req 000013 9999)")" --timeout-ms 300 >/dev/null
  n0=$(dp_upstream_conns up)
  tc "$SP" "$LAB/dead.out" "$(post "$(req 000013 $((tid += 1)))" "$CLOSE")" >/dev/null
  is "$(http_status "$LAB/dead.out")" 503 "$mode: the SenderID's zone does not answer: 503"
  like "$(cat "$LAB/dead.out")" "try again later" "$mode: a short JSON reason"
  lab_upstream_wait up $((n0 + 1))
  is "$(up_requests)" 0 "$mode: nothing upstream"
  like "$(grep ts002_refused "$LAB/dp-unreach-$mode.log" | tail -n 1)" "sender_id=000013.*status=503.*result=dns_error" \
    "$mode: logged as dns_error"
  gone=$(grep -c 'ts002_refused.*transaction_id=9999 ' "$LAB/dp-unreach-$mode.log")
  is "$(dp_metric "$AP" "daneproxy_ts002_total{listener=\"ns\",role=\"server\",result=\"dns_error\"}")" $((1 + gone)) \
    "$mode: metrics: dns_error, as many as logged"
  lab_stop "dp-unreach-$mode"
done

# The resolver itself down: the client's name cannot be authenticated
# either, so nothing is bound and nothing reaches the upstream.
for mode in dead-validate dead-resolver-ad; do
  start_dns "dp-$mode" "$mode" "$UPSTREAM_UP_PORT"
  n0=$(dp_upstream_conns up)
  tc "$SP" "$LAB/dead.out" "$(post "$(req 000013 $((tid += 1)))" "$CLOSE")" >/dev/null
  isnt "$(http_status "$LAB/dead.out")" 200 "$mode: resolver down: not passed"
  is "$(dp_metric "$AP" "daneproxy_ts002_total{listener=\"ns\",role=\"server\",result=\"bound\"}")" 0 \
    "$mode: metrics: nothing bound"
  lab_stop "dp-$mode"
done
is "$(dp_upstream_last up "len(r['requests'])" 2>/dev/null || echo 0)" 0 "resolver down: the upstream saw no request"

dp_stop_all_checked
done_testing
