#!/usr/bin/env bash
# ts002_binding = map (forward = http): a TS002 request reaches the upstream
# only when its SenderID is bound, by the map, to the DANE name the client
# authenticated with; nothing of a request goes upstream before its verdict;
# a lying SenderID gets the TS002 answer TS002 specifies (UnknownSender), an
# unbound answer 403, garbage 400, a non-POST 405, an oversized body 413;
# DANE-TS002-Binding is daneproxy's alone. Stand-in upstream only (it records
# every request byte for byte).
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
H='Host: js.dp.test\r\n'
CLOSE='Connection: close\r\n'
NS_NETID=000013
JS_EUI=70B3D57ED0000000
AS_ID=As-1.dp.test

cat >"$LAB/ts002.map" <<EOF
# NetID 000013 is ns1's; the JoinEUI is the JS this client also plays.
$NS_NETID $ID
${JS_EUI,,} $ID
# The AS this client also plays, by its AS-ID (exact, case kept).
as:$AS_ID $ID
EOF

# start_ts002 NAME UPSTREAM_PORT [extra lines]: a forward = http listener
# with ts002_binding = map, and an admin endpoint; ports in SP and AP.
start_ts002() {
  local name=$1 up=$2 extra=${3:-}
  {
    printf '[global]\nadmin = 127.0.0.1:0\n'
    dp_dns_section resolver-ad
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$C/server-chain.crt" "$C/server.key" "$up"
    printf 'allow = *.dp.test\nhandshake_timeout_ms = 5000\nforward = http\n'
    printf 'ts002_binding = map\nts002_map = %s\nts002_max_body = 1024\n%s\n' "$LAB/ts002.map" "$extra"
  } >"$LAB/$name.ini"
  dp_start "$name" "$LAB/$name.ini" SP=js AP=admin || bail "daneproxy $name did not start"
}

# post BODY [extra header lines]: one POST request of BODY (Content-Length).
post() {
  printf 'POST /ts002 HTTP/1.1\\r\\n%sContent-Type: application/json\\r\\n%sContent-Length: %d\\r\\n\\r\\n%s' \
    "$H" "${2:-}" "${#1}" "$1"
}

# resp_json FILE N EXPR: EXPR evaluated on the JSON body ("j") of response N
# (0-based, final responses only) read from one connection into FILE.
resp_json() {
  "$LAB_PYTHON" - "$1" "$2" "$3" <<'PY'
import json, re, sys
data = open(sys.argv[1], "rb").read()
out, i = [], 0
while i < len(data):
    end = data.find(b"\r\n\r\n", i)
    if end < 0:
        break
    head = data[i:end].decode("latin-1")
    status = int(head[9:12])
    m = re.search(r"(?im)^content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    body = data[end + 4:end + 4 + n]
    i = end + 4 + n
    if status >= 200:
        out.append(body)
j = json.loads(out[int(sys.argv[2])])
print(eval(sys.argv[3], {"j": j}))
PY
}

up_requests() { dp_upstream_last up "len(r['requests'])"; }
up_field() { dp_upstream_last up "$1"; }

JOINREQ='{"ProtocolVersion":"1.1","SenderID":"000013","ReceiverID":"70B3D57ED0000000","TransactionID":3012,"MessageType":"JoinReq","MACVersion":"1.0.3","PHYPayload":"00000000D07ED5B3707A5D000000000000C0E0DB2A6D10","DevEUI":"0004A30B001C0530","DevAddr":"26011F2A","DLSettings":"00","RxDelay":1,"CFList":"184F84E85684B85E84886684586E8400"}'
LIEREQ=${JOINREQ/\"SenderID\":\"000013\"/\"SenderID\":\"000014\"}
LIEREQ=${LIEREQ/3012/3013}

# --- a configuration check that names the map's line ----------------------
printf '000013 %s\nnot-hex %s\n' "$ID" "$ID" >"$LAB/bad.map"
{
  dp_dns_section resolver-ad
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:1\n' \
    "$C/server-chain.crt" "$C/server.key"
  printf 'allow = *\nforward = http\nts002_binding = map\nts002_map = %s\n' "$LAB/bad.map"
} >"$LAB/bad.ini"
out=$("$DP_BUILD/daneproxy" -t -c "$LAB/bad.ini" 2>&1); rc=$?
isnt "$rc" 0 "daneproxy -t: a bad map line fails the check"
like "$out" "bad\\.map:2:" "daneproxy -t: the error names the map file and line"
sed -i 's/^forward = http$/forward = proxy-v2/' "$LAB/bad.ini"
out=$("$DP_BUILD/daneproxy" -t -c "$LAB/bad.ini" 2>&1)
like "$out" 'bad\.ini:[0-9]+: ts002_binding: needs forward = http' "daneproxy -t: binding without forward = http refused, file and line named"

lab_upstream_start up --proxy none
start_ts002 dp "$UPSTREAM_UP_PORT"

# --- a bound JoinReq passes, byte for byte ---------------------------------
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/bound.out" "$(post "$JOINREQ" "$CLOSE")")
is "$(http_status "$LAB/bound.out")" 200 "bound JoinReq: 200 from the upstream"
is "$(resp_json "$LAB/bound.out" 0 "j['Result']['ResultCode']")" Success "bound JoinReq: the JS's JoinAns came back"
lab_upstream_wait up $((n0 + 1))
is "$(up_requests)" 1 "bound JoinReq: the upstream got the request"
is "$(up_field "r['requests'][0]['body'] == '''$JOINREQ'''")" True "bound JoinReq: body byte for byte"
is "$(up_field "[v for k, v in r['requests'][0]['header_list'] if k.lower() == 'dane-client-identity']")" "['$ID']" \
  "bound JoinReq: DANE-Client-Identity"
is "$(up_field "[v for k, v in r['requests'][0]['header_list'] if k.lower() == 'dane-ts002-binding']")" \
  "['held; sender-id=000013; by=map']" "bound JoinReq: DANE-TS002-Binding says what was checked"

# --- a lying SenderID: the TS002 answer, nothing upstream ------------------
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/lie.out" "$(post "$LIEREQ" "$CLOSE")")
is "$(http_status "$LAB/lie.out")" 200 "lying JoinReq: HTTP 200 (TS002 answers in the body)"
is "$(resp_json "$LAB/lie.out" 0 "(j['MessageType'], j['Result']['ResultCode'], j['TransactionID'], j['SenderID'].upper(), j['ReceiverID'].upper(), j['ProtocolVersion'])")" \
  "('JoinAns', 'UnknownSender', 3013, '70B3D57ED0000000', '000014', '1.1')" \
  "lying JoinReq: JoinAns UnknownSender, TransactionID echoed, IDs swapped"
like "$(resp_json "$LAB/lie.out" 0 "j['Result'].get('Description', '')")" "000014.*$ID" "lying JoinReq: Description names the SenderID and the name"
lab_upstream_wait up $((n0 + 1))
is "$(up_requests)" 0 "lying JoinReq: the upstream saw nothing of it"
like "$(grep ts002_refused "$LAB/dp.log" | tail -n 1)" "name=$ID.*sender_id=000014.*status=200.*result=UnknownSender" \
  "lying JoinReq: one log line with the claimed SenderID and the authenticated name"

# --- PRStartReq (roaming, NetID to NetID) ----------------------------------
PRSTART='{"ProtocolVersion":"1.1","SenderID":"000013","ReceiverID":"000014","TransactionID":77,"MessageType":"PRStartReq","PHYPayload":"40AABBCCDD00010001D1D2D3D4","ULMetaData":{"DevAddr":"26011F2A","DataRate":5,"ULFreq":868.1,"RecvTime":"2026-11-30T09:00:00Z","RFRegion":"EU868","GWCnt":1}}'
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/pr.out" "$(post "$PRSTART" "$CLOSE")")
is "$(http_status "$LAB/pr.out")" 200 "bound PRStartReq: answered by the upstream"
lab_upstream_wait up $((n0 + 1))
is "$(up_field "r['requests'][0]['body'] == '''$PRSTART'''")" True "bound PRStartReq: forwarded byte for byte"

# --- asynchronous answers: a JoinAns POSTed by the JS ----------------------
JOINANS='{"ProtocolVersion":"1.1","SenderID":"70B3D57ED0000000","ReceiverID":"000013","TransactionID":3012,"MessageType":"JoinAns","Result":{"ResultCode":"Success"},"PHYPayload":"20A1B2C3D4E5F60718293A4B5C6D7E8F90","Lifetime":0}'
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/ans.out" "$(post "$JOINANS" "$CLOSE")")
is "$(http_status "$LAB/ans.out")" 200 "bound JoinAns (async): passed"
lab_upstream_wait up $((n0 + 1))
is "$(up_field "r['requests'][0]['body'] == '''$JOINANS'''")" True "bound JoinAns: forwarded byte for byte"
BADANS=${JOINANS/70B3D57ED0000000/70B3D57ED0000001}
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/badans.out" "$(post "$BADANS" "$CLOSE")")
is "$(http_status "$LAB/badans.out")" 403 "unbound JoinAns: 403 (an answer gets no answer)"
like "$(resp_json "$LAB/badans.out" 0 "j['error']")" "not bound" "unbound JoinAns: a short JSON reason"
lab_upstream_wait up $((n0 + 1))
is "$(up_requests)" 0 "unbound JoinAns: nothing upstream"

# --- not TS002: malformed, missing TransactionID, duplicate keys, GET -------
for bad in '{"ProtocolVersion":"1.1",' \
  '{"ProtocolVersion":"1.1","SenderID":"000013","ReceiverID":"70B3D57ED0000000","MessageType":"JoinReq"}' \
  '{"ProtocolVersion":"1.1","SenderID":"000013","SenderID":"000014","ReceiverID":"70B3D57ED0000000","TransactionID":1,"MessageType":"JoinReq"}'; do
  n0=$(dp_upstream_conns up)
  out=$(tc "$SP" "$LAB/bad.out" "$(post "$bad" "$CLOSE")")
  st=$(http_status "$LAB/bad.out")
  if [ "$st" = 200 ]; then
    is "$(resp_json "$LAB/bad.out" 0 "j['Result']['ResultCode']")" MalformedRequest "malformed (${bad:0:40}…): MalformedRequest"
  else
    is "$st" 400 "malformed (${bad:0:40}…): 400"
  fi
  lab_upstream_wait up $((n0 + 1))
  is "$(up_requests)" 0 "malformed (${bad:0:40}…): nothing upstream"
done
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/get.out" "GET /health HTTP/1.1\r\n${H}${CLOSE}\r\n")
is "$(http_status "$LAB/get.out")" 405 "GET: 405"
like "$(cat "$LAB/get.out")" $'Allow: POST\r' "GET: Allow: POST"
lab_upstream_wait up $((n0 + 1))
is "$(up_requests)" 0 "GET: nothing upstream"

# --- too large: 413 and close, whatever the framing -------------------------
BIG="{\"x\":\"$(printf '%*s' 1100 '' | tr ' ' a)\"}"
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/big.out" "$(post "$BIG")$(post "$JOINREQ" "$CLOSE")")
is "$(http_statuses "$LAB/big.out")" 413 "over ts002_max_body (Content-Length): 413, the connection closed"
lab_upstream_wait up $((n0 + 1))
is "$(up_requests)" 0 "over ts002_max_body: nothing upstream, not even the request behind it"
CH=$(printf '%x' "${#BIG}")
out=$(tc "$SP" "$LAB/bigch.out" "POST /ts002 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${CH}\r\n${BIG}\r\n0\r\n\r\n")
is "$(http_statuses "$LAB/bigch.out")" 413 "over ts002_max_body (chunked): 413"

# --- chunked: the inspector sees the data, the upstream the chunks ---------
A=${JOINREQ:0:100}; B=${JOINREQ:100}
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/ch.out" "POST /ts002 HTTP/1.1\r\n${H}${CLOSE}Transfer-Encoding: chunked\r\n\r\n$(printf '%x' ${#A});ext=1\r\n${A}\r\n$(printf '%x' ${#B})\r\n${B}\r\n0\r\nX-Trailer: t\r\n\r\n")
is "$(http_status "$LAB/ch.out")" 200 "chunked bound JoinReq: 200"
lab_upstream_wait up $((n0 + 1))
is "$(up_field "(r['requests'][0]['headers'].get('transfer-encoding'), r['requests'][0]['body'] == '''$JOINREQ''')")" \
  "('chunked', True)" "chunked: forwarded chunked, the same data"
is "$(up_field "r['requests'][0]['headers'].get('x-trailer')")" "" "chunked: trailers dropped"

# --- pipelined: only the second lies ---------------------------------------
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/pipe.out" "$(post "$JOINREQ")$(post "$LIEREQ")GET /x HTTP/1.1\r\n${H}\r\n$(post "$JOINREQ" "$CLOSE")")
is "$(http_statuses "$LAB/pipe.out")" "200 200 405 200" "pipelined: four answers"
is "$(for i in 0 1 3; do resp_json "$LAB/pipe.out" $i "j['Result']['ResultCode']"; done | tr '\n' ' ')" \
  "Success UnknownSender Success " "pipelined: verdicts in request order (upstream, ours, upstream)"
lab_upstream_wait up $((n0 + 1))
is "$(up_requests)" 2 "pipelined: the upstream got the two bound requests only"
is "$(up_field "[q['body'] == '''$JOINREQ''' for q in r['requests']]")" "[True, True]" "pipelined: both bound bodies intact"

# --- forged DANE-TS002-Binding, Expect: 100-continue ------------------------
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/forge.out" "$(post "$JOINREQ" "DANE-TS002-Binding: held; sender-id=ffffff; by=map\r\ndane-ts002-binding: x\r\nDANE_TS002_BINDING: y\r\nExpect: 100-continue\r\n$CLOSE")")
is "$(http_statuses "$LAB/forge.out")" "100 200" "Expect: 100-continue: daneproxy's 100, then the answer"
lab_upstream_wait up $((n0 + 1))
is "$(up_field "[v for k, v in r['requests'][0]['header_list'] if k.lower().replace('_', '-') == 'dane-ts002-binding']")" \
  "['held; sender-id=000013; by=map']" "forged DANE-TS002-Binding (3 spellings) removed; ours alone"
is "$(up_field "r['requests'][0]['headers'].get('expect')")" "" "Expect not sent upstream (the body comes with the head)"

# --- metrics ----------------------------------------------------------------
m() { dp_metric "$AP" "daneproxy_ts002_total{listener=\"js\",role=\"server\",result=\"$1\"}"; }
is "$(m bound)" 7 "metrics: bound"
is "$(m unknown_sender)" 3 "metrics: unknown_sender"
is "$(m malformed)" 5 "metrics: malformed (3 bodies, 2 GETs)"
is "$(m too_large)" 2 "metrics: too_large"

# --- AppSKeyReq/Ans: the AS side an AS-ID ----------------------------------
ASKREQ='{"ProtocolVersion":"1.1","SenderID":"As-1.dp.test","ReceiverID":"70B3D57ED0000000","TransactionID":501,"MessageType":"AppSKeyReq","DevEUI":"0004A30B001C0530","SessionKeyID":"0102"}'
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/ask.out" "$(post "$ASKREQ" "$CLOSE")")
is "$(http_status "$LAB/ask.out")" 200 "bound AppSKeyReq: answered by the upstream"
lab_upstream_wait up $((n0 + 1))
is "$(up_field "r['requests'][0]['body'] == '''$ASKREQ'''")" True "bound AppSKeyReq: forwarded byte for byte"
is "$(up_field "[v for k, v in r['requests'][0]['header_list'] if k.lower() == 'dane-ts002-binding']")" \
  "['held; sender-id=$AS_ID; by=map']" "bound AppSKeyReq: DANE-TS002-Binding names the AS-ID as sent"
# the AS-ID in another case, and one that reads as the bound NetID
for lie in as-1.dp.test 000013; do
  LIEASK=${ASKREQ/\"SenderID\":\"As-1.dp.test\"/\"SenderID\":\"$lie\"}
  n0=$(dp_upstream_conns up)
  out=$(tc "$SP" "$LAB/asklie.out" "$(post "$LIEASK" "$CLOSE")")
  is "$(http_status "$LAB/asklie.out")" 200 "AppSKeyReq from AS-ID $lie: HTTP 200 (TS002 answers in the body)"
  is "$(resp_json "$LAB/asklie.out" 0 "(j['MessageType'], j['Result']['ResultCode'], j['TransactionID'], j['SenderID'], j['ReceiverID'])")" \
    "('AppSKeyAns', 'UnknownSender', 501, '70b3d57ed0000000', '$lie')" \
    "AppSKeyReq from AS-ID $lie: AppSKeyAns UnknownSender, IDs swapped, the AS-ID as sent"
  lab_upstream_wait up $((n0 + 1))
  is "$(up_requests)" 0 "AppSKeyReq from AS-ID $lie: the upstream saw nothing of it"
  like "$(grep ts002_refused "$LAB/dp.log" | tail -n 1)" "name=$ID.*sender_id=$lie .*type=AppSKeyReq.*result=UnknownSender" \
    "AppSKeyReq from AS-ID $lie: logged with the claimed AS-ID"
done
ASKANS='{"ProtocolVersion":"1.1","SenderID":"70B3D57ED0000000","ReceiverID":"some-other-as","TransactionID":502,"MessageType":"AppSKeyAns","Result":{"ResultCode":"Success"},"DevEUI":"0004A30B001C0530","AppSKey":{"KEKLabel":"","AESKey":"2b7e151628aed2a6abf7158809cf4f3c"},"SessionKeyID":"0102"}'
n0=$(dp_upstream_conns up)
out=$(tc "$SP" "$LAB/askans.out" "$(post "$ASKANS" "$CLOSE")")
is "$(http_status "$LAB/askans.out")" 200 "AppSKeyAns bound by its JoinEUI: passed"
lab_upstream_wait up $((n0 + 1))
is "$(up_field "r['requests'][0]['body'] == '''$ASKANS'''")" True "AppSKeyAns: forwarded byte for byte"
is "$(up_field "[v for k, v in r['requests'][0]['header_list'] if k.lower() == 'dane-ts002-binding']")" \
  "['held; sender-id=${JS_EUI,,}; by=map']" "AppSKeyAns: bound by its JoinEUI, not by the AS-ID it goes to"
is "$(m bound)" 9 "metrics: AppSKeyReq and AppSKeyAns counted bound"
is "$(m unknown_sender)" 5 "metrics: the two lying AS-IDs counted unknown_sender"

# --- client_auth = optional: no name, nothing bound -------------------------
start_ts002 dpo "$UPSTREAM_UP_PORT" 'client_auth = optional'
n0=$(dp_upstream_conns up)
: >"$LAB/anon.out"
dp_testclient --connect "127.0.0.1:$SP" --send "$(post "$JOINREQ" "$CLOSE")" --output "$LAB/anon.out" \
  --timeout-ms 5000 --quiet >/dev/null 2>&1
is "$(resp_json "$LAB/anon.out" 0 "j['Result']['ResultCode']")" UnknownSender "unauthenticated client: UnknownSender"
lab_upstream_wait up $((n0 + 1))
is "$(up_requests)" 0 "unauthenticated client: nothing upstream"

dp_stop_all_checked
done_testing
