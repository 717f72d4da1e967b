#!/usr/bin/env bash
# HTTP/1.1 mode (forward = http) end to end: daneproxy's server role in front
# of an unmodified nginx (and of the stand-in upstream where the exact header
# list matters), DANE clients (dp-testclient, and curl / python3-websockets
# through the client role). Every request of a connection carries the
# verified identity in a header, every client-supplied copy of the headers
# daneproxy sets is gone, bodies stream both ways, WebSocket upgrades become a
# raw relay, and malformed or smuggling-prone requests never reach the
# upstream.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"

lab_skip_unless_root_tools
[ -x /usr/sbin/nginx ] || skip_all "nginx missing (packaging/install-deps.sh)"
"$LAB_PYTHON" -c 'import websockets' 2>/dev/null || skip_all "python3-websockets missing (packaging/install-deps.sh)"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
ALLOW='_lorawan-ns.ns1.dp.test, *._device.dp.test, _lorawan-ns.ta.dp.test'
TLSA_HEX=$("$DP_SOURCE_DIR/certs/tlsa.sh" 3 1 1 "$C/client.crt")
B64_CLIENT=$(openssl x509 -in "$C/client.crt" -outform DER | base64 -w0)
B64_TACLIENT=$(openssl x509 -in "$C/taclient.crt" -outform DER | base64 -w0)
B64_CLIENTCA=$(openssl x509 -in "$C/clientca.crt" -outform DER | base64 -w0)

# start_server NAME UPSTREAM_PORT [extra lines]: a forward = http listener
# (resolver-ad DNS) started as lab process NAME; its port in SP.
start_server() {
  local name=$1 up=$2 extra=${3:-}
  {
    dp_dns_section resolver-ad
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$C/server-chain.crt" "$C/server.key" "$up"
    printf 'allow = %s\nhandshake_timeout_ms = 5000\n' "$ALLOW"
    case $extra in *'forward ='*) ;; *) printf 'forward = http\n' ;; esac
    printf '%s\n' "$extra"
  } >"$LAB/$name.ini"
  dp_start "$name" "$LAB/$name.ini" SP=js || bail "daneproxy $name did not start"
}

# start_client NAME SERVER_PORT [extra lines]: a client role route to
# SERVER_PORT as lab process NAME; its local port in CP.
start_client() {
  local name=$1 sp=$2 extra=${3:-}
  {
    printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$sp"
    printf 'cert = %s\nkey = %s\nclient_name = %s\nca_file = %s\nverify_server = pkix\n%s\n' \
      "$C/client.crt" "$C/client.key" "$ID" "$C/ca.crt" "$extra"
  } >"$LAB/$name.ini"
  dp_start "$name" "$LAB/$name.ini" CP=js || bail "daneproxy client role $name did not start"
}

# hdr_values UPSTREAM NAME [REQ=0]: the values of every NAME field of request
# REQ of upstream.py's last recorded connection, as a Python list.
hdr_values() {
  dp_upstream_last "$1" "[v for k, v in r['requests'][${3:-0}]['header_list'] if k.lower() == '$2'.lower()]"
}

# conns_logged NAME: connections daneproxy NAME has logged as ended.
conns_logged() { grep -c 'conn id=' "$LAB/$1.log"; }
_conns_gt() { [ "$(conns_logged "$1")" -gt "$2" ]; }

H='Host: js.dp.test\r\n'
CLOSE='Connection: close\r\n'

# ---------------------------------------------------------------------------
lab_nginx_start ng || bail "nginx did not start"
lab_upstream_start up-h --proxy none
start_server dp-h "$NGINX_PORT"
SP_H=$SP
start_server dp-hu "$UPSTREAM_UP_H_PORT"
SP_HU=$SP

# --- keep-alive and pipelining: the identity on every request --------------
n0=$(nginx_log_count ng)
out=$(tc "$SP_H" "$LAB/ka.out" "GET /ka/1 HTTP/1.1\r\n${H}\r\nGET /ka/2 HTTP/1.1\r\n${H}\r\nGET /ka/3 HTTP/1.1\r\n${H}${CLOSE}\r\n")
like "$out" 'result=ok .*end=(close_notify|eof)' "keep-alive: 3 requests in one connection, closed after the last"
is "$(http_statuses "$LAB/ka.out")" "200 200 200" "keep-alive: three 200 responses"
nginx_log_wait ng $((n0 + 3))
is "$(nginx_log_fields ng uri $((n0 + 1)))" "/ka/1 /ka/2 /ka/3" "keep-alive: nginx got the three requests in order"
is "$(nginx_log_fields ng identity $((n0 + 1)))" "$ID $ID $ID" "keep-alive: each carried DANE-Client-Identity"
diag "keep-alive: nginx connection / connection_requests: $(nginx_log_fields ng connection $((n0 + 1))) / $(nginx_log_fields ng connection_requests $((n0 + 1)))"

PIPE="GET /p/1 HTTP/1.1\r\n${H}\r\n"
PIPE+="POST /p/2 HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}"
PIPE+="GET /p/3 HTTP/1.1\r\n${H}dane-client-identity: evil\r\n\r\n"
PIPE+="POST /p/4 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
PIPE+="GET /p/5 HTTP/1.1\r\n${H}${CLOSE}\r\n"
n0=$(nginx_log_count ng)
out=$(tc "$SP_H" "$LAB/pipe.out" "$PIPE")
like "$out" 'result=ok .*end=(close_notify|eof)' "pipelined: a batch of 5 requests sent in one write"
is "$(http_statuses "$LAB/pipe.out")" "200 200 200 200 200" "pipelined: five 200 responses"
nginx_log_wait ng $((n0 + 5))
is "$(nginx_log_fields ng request $((n0 + 1)) | tr ' ' ,)" \
  "GET,/p/1,HTTP/1.1,POST,/p/2,HTTP/1.1,GET,/p/3,HTTP/1.1,POST,/p/4,HTTP/1.1,GET,/p/5,HTTP/1.1" \
  "pipelined: nginx parsed the same five requests (bodies framed right)"
is "$(nginx_log_fields ng identity $((n0 + 1)))" "$ID $ID $ID $ID $ID" "pipelined: identity on every request, spoof in #3 replaced"
is "$(nginx_log_field ng $((n0 + 2)) content_length)" 11 "pipelined: Content-Length body of #2 kept"
is "$(nginx_log_field ng $((n0 + 4)) te)" chunked "pipelined: chunked framing of #4 kept"

n0=$(dp_upstream_conns up-h)
out=$(tc "$SP_HU" "$LAB/pipe-u.out" "$PIPE")
is "$(http_statuses "$LAB/pipe-u.out")" "200 200 200 200 200" "pipelined (stand-in upstream): five 200 responses"
lab_upstream_wait up-h $((n0 + 1))
is "$(dp_upstream_last up-h "[q['target'] for q in r['requests']]")" "['/p/1', '/p/2', '/p/3', '/p/4', '/p/5']" \
  "pipelined (stand-in upstream): the five requests on one upstream connection"
is "$(dp_upstream_last up-h "[q['body'] for q in r['requests']]")" "['', '{\"a\":\"b c\"}', '', 'hello', '']" \
  "pipelined (stand-in upstream): bodies intact"
is "$(dp_upstream_last up-h "[len([1 for k, v in q['header_list'] if k.lower() == 'dane-client-identity' and v == '$ID']) for q in r['requests']]")" \
  "[1, 1, 1, 1, 1]" "pipelined (stand-in upstream): exactly one true identity header per request"
is "$(dp_upstream_last up-h "sum(1 for q in r['requests'] for k, v in q['header_list'] if v == 'evil')")" 0 \
  "pipelined (stand-in upstream): the spoof in #3 is gone"

# --- spoofed identity headers, any case, any number ------------------------
SPOOF="GET /spoof HTTP/1.1\r\n${H}DANE-Client-Identity: evil1\r\ndane-client-identity: evil2\r\nX-Other: keep\r\n"
SPOOF+="DANE-CLIENT-IDENTITY: evil3\r\nDane-Client-Identity: evil4\r\ndAnE-cLiEnT-iDeNtItY:evil5\r\n"
SPOOF+="DANE-Client-Identity:   evil6  \r\nDANE-Client-Identity:\r\nX-Forwarded-For: 192.0.2.99\r\n"
SPOOF+="DANE-Client-TLSA: 3 1 1 00\r\nX-Forwarded-Proto: http\r\nClient-Cert: :AAAA:\r\n"
SPOOF+="DANE-TS002-Binding: held; sender-id=000013; by=map\r\ndane_ts002_binding: x\r\n${CLOSE}\r\n"
n0=$(nginx_log_count ng)
out=$(tc "$SP_H" "$LAB/spoof.out" "$SPOOF")
is "$(http_status "$LAB/spoof.out")" 200 "spoof: answered 200"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 identity)" "$ID" "spoof: nginx saw only the verified identity (7 spoofed copies, 5 spellings)"
n0=$(dp_upstream_conns up-h)
out=$(tc "$SP_HU" "$LAB/spoof-u.out" "$SPOOF")
lab_upstream_wait up-h $((n0 + 1))
is "$(hdr_values up-h dane-client-identity)" "['$ID']" "spoof (stand-in upstream): exactly one identity field, the true one"
is "$(hdr_values up-h x-other)" "['keep']" "spoof: other fields kept"
is "$(hdr_values up-h host)" "['js.dp.test']" "spoof: Host kept"
# Extras disabled: X-Forwarded-For/-Proto are not daneproxy's then, so they
# pass unchanged. The headers that assert the client's identity
# (DANE-Client-TLSA, Client-Cert, Client-Cert-Chain) are removed always
# (server.c http_setup), enabled or not: an upstream must never take a
# client-forged one for daneproxy's.
is "$(hdr_values up-h x-forwarded-for)" "['192.0.2.99']" "extras off: a client X-Forwarded-For passes unchanged"
is "$(hdr_values up-h x-forwarded-proto)" "['http']" "extras off: a client X-Forwarded-Proto passes unchanged"
is "$(hdr_values up-h dane-client-tlsa)" "[]" "extras off: a client DANE-Client-TLSA is still removed"
is "$(hdr_values up-h client-cert)" "[]" "extras off: a client Client-Cert is still removed"
is "$(dp_upstream_last up-h "[k for k, v in r['requests'][0]['header_list'] if k.lower().replace('_', '-') == 'dane-ts002-binding']")" "[]" \
  "a client DANE-TS002-Binding (any spelling) is removed, binding on or off"

# --- every extra header on: the client's copies removed, the true values set
EXTRAS='add_client_cert = yes
add_client_cert_chain = yes
add_x_forwarded_for = yes
add_x_forwarded_proto = yes
add_tlsa_header = yes'
start_server dp-x "$NGINX_PORT" "$EXTRAS"
SP_X=$SP
lab_upstream_start up-x --proxy none
start_server dp-xu "$UPSTREAM_UP_X_PORT" "$EXTRAS"
SP_XU=$SP
XSPOOF="GET /extras HTTP/1.1\r\n${H}dane-client-tlsa: 3 1 1 0000\r\nX-Forwarded-For: 192.0.2.1\r\nDANE-Client-Identity: evil\r\n"
XSPOOF+="x-forwarded-for: 192.0.2.2, 10.0.0.1\r\nX-FORWARDED-PROTO: http\r\nCLIENT-CERT: :AAAA:\r\nclient-cert-chain: :BBBB:\r\n"
XSPOOF+="DANE-CLIENT-TLSA: 2 0 1 00\r\nX-Forwarded-Proto: ftp\r\nClient-Cert-Chain: :CCCC:, :DDDD:\r\n${CLOSE}\r\n"
n0=$(nginx_log_count ng)
out=$(tc "$SP_X" "$LAB/extras.out" "$XSPOOF")
is "$(http_status "$LAB/extras.out")" 200 "extras: answered 200"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 identity)" "$ID" "extras: identity"
like "$(nginx_log_field ng -1 tlsa)" "^3 1 1( $TLSA_HEX)?\$" "extras: DANE-Client-TLSA is the matched record, not the spoof"
is "$(nginx_log_field ng -1 xff)" 127.0.0.1 "extras: X-Forwarded-For is the client address only"
is "$(nginx_log_field ng -1 xfp)" https "extras: X-Forwarded-Proto: https"
is "$(nginx_log_field ng -1 client_cert)" ":$B64_CLIENT:" "extras: Client-Cert is the client's certificate (RFC 9440)"
is "$(nginx_log_field ng -1 client_cert_chain)" "" "extras: no chain sent, no Client-Cert-Chain (spoofs removed)"
n0=$(dp_upstream_conns up-x)
out=$(tc "$SP_XU" "$LAB/extras-u.out" "$XSPOOF")
lab_upstream_wait up-x $((n0 + 1))
is "$(dp_upstream_last up-x "[k.lower() for k, v in r['requests'][0]['header_list'] if k.lower() in ('dane-client-identity', 'dane-client-tlsa', 'x-forwarded-for', 'x-forwarded-proto', 'client-cert', 'client-cert-chain')]" | tr -d "[]' " | tr , '\n' | sort | tr '\n' ' ')" \
  "client-cert dane-client-identity dane-client-tlsa x-forwarded-for x-forwarded-proto " \
  "extras (stand-in upstream): each header exactly once, no spoofed copy left"
is "$(hdr_values up-x x-forwarded-for)" "['127.0.0.1']" "extras (stand-in upstream): X-Forwarded-For"
# A DANE-TA client sends its CA: that is the chain.
n0=$(nginx_log_count ng)
out=$(tc "$SP_X" "$LAB/extras-ta.out" "GET /ta HTTP/1.1\r\n${H}Client-Cert-Chain: :AAAA:\r\n${CLOSE}\r\n" \
  --cert "$C/taclient.crt" --key "$C/taclient.key" --chain "$C/clientca.crt" --clientid _lorawan-ns.ta.dp.test)
is "$(http_status "$LAB/extras-ta.out")" 200 "extras, DANE-TA client: answered 200"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 identity)" _lorawan-ns.ta.dp.test "extras, DANE-TA client: identity"
is "$(nginx_log_field ng -1 client_cert)" ":$B64_TACLIENT:" "extras, DANE-TA client: Client-Cert is the leaf"
is "$(nginx_log_field ng -1 client_cert_chain)" ":$B64_CLIENTCA:" "extras, DANE-TA client: Client-Cert-Chain is the CA it sent"
like "$(nginx_log_field ng -1 tlsa)" '^2 0 1( [0-9a-f]{64})?$' "extras, DANE-TA client: DANE-Client-TLSA 2 0 1"
# A DANE-EE client that sends other certificates too: DANE-EE looked at the
# leaf alone, so none of them may be presented as verified.
n0=$(nginx_log_count ng)
out=$(tc "$SP_X" "$LAB/extras-ee.out" "GET /ee HTTP/1.1\r\n${H}${CLOSE}\r\n" --chain "$C/clientca.crt")
is "$(http_status "$LAB/extras-ee.out")" 200 "extras, DANE-EE client sending a chain: answered 200"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 client_cert)/$(nginx_log_field ng -1 client_cert_chain)" ":$B64_CLIENT:/" \
  "extras, DANE-EE client sending a chain: Client-Cert only; the unverified chain is not forwarded"

# --- client_auth = optional: unauthenticated, no identity, spoofs removed --
start_server dp-opt "$NGINX_PORT" 'client_auth = optional
add_tlsa_header = yes'
SP_OPT=$SP
OSPOOF="GET /opt HTTP/1.1\r\n${H}DANE-Client-Identity: $ID\r\ndane-client-identity: evil\r\nDANE-Client-TLSA: 3 1 1 $TLSA_HEX\r\n${CLOSE}\r\n"
n0=$(nginx_log_count ng)
out=$(tc "$SP_OPT" "$LAB/opt1.out" "$OSPOOF" --cert "$C/rogue.crt" --key "$C/rogue.key")
like "$out" 'result=ok' "optional: a rogue certificate is relayed unauthenticated"
is "$(http_status "$LAB/opt1.out")" 200 "optional, rogue: answered 200"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 identity)" "" "optional, rogue: no identity header, the spoofed ones removed"
is "$(nginx_log_field ng -1 tlsa)" "" "optional, rogue: no DANE-Client-TLSA, the spoof removed"
out=$(dp_testclient --connect "127.0.0.1:$SP_OPT" --no-clientid --send "$OSPOOF" --output "$LAB/opt2.out" \
      --timeout-ms 5000 --quiet 2>&1)
is "$(http_status "$LAB/opt2.out")" 200 "optional, no certificate: answered 200"
nginx_log_wait ng $((n0 + 2))
is "$(nginx_log_field ng -1 identity)" "" "optional, no certificate: no identity header, spoofs removed"
out=$(tc "$SP_OPT" "$LAB/opt3.out" "$OSPOOF")
nginx_log_wait ng $((n0 + 3))
is "$(nginx_log_field ng -1 identity)" "$ID" "optional: a DANE client still gets its identity"
ok "optional: logged as unauthenticated" grep -q 'outcome=unauthenticated' "$LAB/dp-opt.log"

# --- through the client role: curl as an unmodified local client -----------
start_client cr "$SP_H"
CR=$CP
n0=$(nginx_log_count ng)
out=$(curl -sS --max-time 10 "http://127.0.0.1:$CR/kc/1" "http://127.0.0.1:$CR/kc/2" "http://127.0.0.1:$CR/kc/3" 2>&1)
is "$(grep -o "\"identity\":\"$ID\"" <<<"$out" | wc -l)" 3 "client role, curl keep-alive: three answers naming the identity"
nginx_log_wait ng $((n0 + 3))
is "$(nginx_log_fields ng uri $((n0 + 1)))" "/kc/1 /kc/2 /kc/3" "client role, curl keep-alive: three requests"
is "$(nginx_log_fields ng identity $((n0 + 1)))" "$ID $ID $ID" "client role, curl keep-alive: identity on each"

JOINREQ='{"ProtocolVersion":"1.1","SenderID":"000013","ReceiverID":"70B3D57ED0000000","TransactionID":42,"MessageType":"JoinReq","MACVersion":"1.0.3","PHYPayload":"00","DevEUI":"0004A30B001C0530"}'
n0=$(nginx_log_count ng)
out=$(curl -sS --max-time 10 -H 'Content-Type: application/json' -H 'DANE-Client-Identity: forged' \
      -d "$JOINREQ" "http://127.0.0.1:$CR/join" 2>&1)
like "$out" '"MessageType":"JoinAns"' "JoinReq: curl → client role → server role → nginx, JoinAns back"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 request)" "POST /join HTTP/1.1" "JoinReq: nginx got the POST"
is "$(nginx_log_field ng -1 content_length)" "${#JOINREQ}" "JoinReq: with its whole body length"
is "$(nginx_log_field ng -1 identity)" "$ID" "JoinReq: the identity, not the local client's forged one"

# Chunked upload of 5 MiB (nginx proxies /upload to itself, so it reads it).
head -c 5242880 /dev/urandom >"$LAB/up5.bin"
n0=$(nginx_log_count ng)
out=$(curl -sS --max-time 30 -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
      --data-binary "@$LAB/up5.bin" "http://127.0.0.1:$CR/upload" 2>&1)
like "$out" '"upload":"ok"' "chunked upload 5 MiB: answered"
nginx_log_wait ng $((n0 + 1)) 20
is "$(nginx_log_field ng -1 te)/$(nginx_log_field ng -1 status)" "chunked/200" "chunked upload: nginx got it chunked, 200"
rl=$(nginx_log_field ng -1 request_length)
ok "chunked upload: nginx read the whole body (request_length $rl ≥ 5242880 + chunk framing)" \
  test "$rl" -gt 5242880 -a "$rl" -lt $((5242880 + 131072))
is "$(nginx_log_field ng -1 content_length)" 5242880 "chunked upload: nginx counted 5242880 body bytes"
is "$(nginx_log_field ng -1 identity)" "$ID" "chunked upload: identity"

# Expect: 100-continue (3 MiB, Content-Length).
head -c 3145728 /dev/urandom >"$LAB/up3.bin"
n0=$(nginx_log_count ng)
out=$(curl -sS -v --max-time 30 -H 'Expect: 100-continue' --expect100-timeout 4 \
      --data-binary "@$LAB/up3.bin" "http://127.0.0.1:$CR/upload" 2>&1)
like "$out" '< HTTP/1.1 100 Continue' "Expect: the 100 Continue reached curl"
like "$out" '< HTTP/1.1 200' "Expect: then the 200"
nginx_log_wait ng $((n0 + 1)) 20
is "$(nginx_log_field ng -1 expect)/$(nginx_log_field ng -1 content_length)" "100-continue/3145728" "Expect: nginx got the Expect and the 3 MiB body"
rl=$(nginx_log_field ng -1 request_length)
ok "Expect: request_length $rl counts the body" test "$rl" -gt 3145728
c0=$(conns_logged dp-h)
out=$(tc "$SP_H" "$LAB/expect.out" "POST /upload HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n" --read-bytes 12)
is "$(cat "$LAB/expect.out")" "HTTP/1.1 100" "Expect: 100 Continue before any body byte was sent"
# ... and that client leaves without sending the body: the connection ends.
ok "Expect: a client gone before its body ends the connection" \
  lab_poll 3 _conns_gt dp-h "$c0"

# --- WebSocket upgrade: python3-websockets → client role → server role → echo
lab_ws_echo_start ws || bail "ws_echo did not start"
start_server dp-ws "$WS_PORT"
SP_WS=$SP
start_client cr-ws "$SP_WS"
out=$(ws_echo_client "$CP" /chat 'DANE-Client-Identity: forged' 'dane-client-identity: forged2')
is "$out" "ws text=OK binary=OK text2=OK close=1000" "WebSocket: text, 1 MiB binary and text echoed through both roles, clean close"
lab_wait_file "$LAB/ws.jsonl" 5
is "$(dp_upstream_last ws "[v for k, v in r['header_list'] if k.lower() == 'dane-client-identity']")" "['$ID']" \
  "WebSocket: the upgrade request carried only the true identity"
is "$(dp_upstream_last ws 'r["messages"]')" 3 "WebSocket: the echo server saw 3 messages"

# --- refused requests: status, connection closed, nothing at nginx ---------
SENT=0
# refuse DESC STATUS REQUEST [PORT=SP_H]
refuse() {
  local desc=$1 want=$2 req=$3 port=${4:-$SP_H} n0 f out
  n0=$(nginx_log_count ng)
  f=$LAB/refuse-$((SENT += 1)).out
  out=$(tc "$port" "$f" "$req")
  is "$(http_statuses "$f")" "$want" "$desc: answered $want, nothing else"
  like "$out" 'end=(close_notify|eof)' "$desc: connection closed"
  tc "$SP_H" "$f.sentinel" "GET /sentinel/$SENT HTTP/1.1\r\n${H}${CLOSE}\r\n" >/dev/null
  nginx_log_wait ng $((n0 + 1)) >/dev/null
  is "$(nginx_log_count ng) $(nginx_log_field ng -1 uri)" "$((n0 + 1)) /sentinel/$SENT" "$desc: nothing reached nginx"
}
refuse "CL+TE" 400 "POST /smuggle HTTP/1.1\r\n${H}Content-Length: 37\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n"
refuse "TE+CL" 400 "POST /smuggle HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n0\r\n\r\n"
refuse "duplicate Content-Length" 400 "POST /dup HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
refuse "Content-Length list" 400 "POST /dup HTTP/1.1\r\n${H}Content-Length: 2, 2\r\n\r\n{}"
refuse "obs-fold" 400 "GET /fold HTTP/1.1\r\n${H}X-A: 1\r\n folded\r\n\r\n"
refuse "obs-fold of the identity header" 400 "GET /fold HTTP/1.1\r\n${H}X-A: 1\r\n\tDANE-Client-Identity: evil\r\n\r\n"
refuse "bare CR in a value" 400 "GET /cr HTTP/1.1\r\n${H}X-A: 1\r2\r\n\r\n"
refuse "bare LF line end" 400 "GET /lf HTTP/1.1\r\n${H}X-A: 1\nDANE-Client-Identity: evil\r\n\r\n"
refuse "space in a header name" 400 "GET /name HTTP/1.1\r\n${H}Bad Name: x\r\n\r\n"
refuse "space before the colon" 400 "GET /name HTTP/1.1\r\n${H}DANE-Client-Identity : evil\r\n\r\n"
refuse "non-token header name" 400 "GET /name HTTP/1.1\r\n${H}X-\xc3\xa9: x\r\n\r\n"
big=$(head -c 17000 /dev/zero | tr '\0' a)
refuse "head over max_request_head" 431 "GET /big HTTP/1.1\r\n${H}X-Big: $big\r\n\r\n"
many=""
for i in $(seq 1 101); do many+="X-H$i: $i\r\n"; done
refuse "over max_request_headers fields" 431 "GET /many HTTP/1.1\r\n${H}$many\r\n"
refuse "Transfer-Encoding: gzip" 501 "POST /gz HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nxx"
refuse "Transfer-Encoding: gzip, chunked" 501 "POST /gz HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
# After a good request, a bad one: the first is answered, then 400 and close.
n0=$(nginx_log_count ng)
out=$(tc "$SP_H" "$LAB/good-bad.out" "GET /good HTTP/1.1\r\n${H}\r\nPOST /bad HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 1\r\n\r\nx")
is "$(http_statuses "$LAB/good-bad.out")" "200 400" "good then bad request: 200, then 400"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_fields ng uri $((n0 + 1)))" "/good" "good then bad request: only the good one reached nginx"
# 100 fields exactly and a head just under the limit still pass.
ok100=""
for i in $(seq 1 98); do ok100+="X-H$i: $i\r\n"; done
out=$(tc "$SP_H" "$LAB/ok100.out" "GET /hundred HTTP/1.1\r\n${H}$ok100${CLOSE}\r\n")
is "$(http_status "$LAB/ok100.out")" 200 "100 header fields (the limit): accepted"

# --- upstream failures: 502, 504 --------------------------------------------
DEAD=$(lab_port)   # nothing listens there
start_server dp-dead "$DEAD"
out=$(tc "$SP" "$LAB/dead.out" "GET / HTTP/1.1\r\n${H}\r\n")
is "$(http_status "$LAB/dead.out")" 502 "upstream port closed: 502"
like "$out" 'end=(close_notify|eof)' "upstream port closed: connection closed"
lab_upstream_start up-rst --reset-after-head
start_server dp-rst "$UPSTREAM_PORT"
out=$(tc "$SP" "$LAB/rst.out" "GET / HTTP/1.1\r\n${H}\r\n")
is "$(http_status "$LAB/rst.out")" 502 "upstream resets before answering: 502"
like "$out" 'end=(close_notify|eof)' "upstream resets: connection closed"
lab_upstream_start up-slow --delay-ms 4000
start_server dp-slow "$UPSTREAM_PORT" 'upstream_timeout_ms = 1000'
t0=$(_lab_now_ms)
out=$(tc "$SP" "$LAB/slow.out" "GET / HTTP/1.1\r\n${H}\r\n")
t1=$(_lab_now_ms)
is "$(http_status "$LAB/slow.out")" 504 "no response head within upstream_timeout_ms: 504"
like "$out" 'end=(close_notify|eof)' "504: connection closed"
ok "504 after about 1 s (took $((t1 - t0)) ms)" test $((t1 - t0)) -ge 900 -a $((t1 - t0)) -lt 3500
lab_upstream_start up-cd --close-delimited
start_server dp-cd "$UPSTREAM_PORT"
out=$(tc "$SP" "$LAB/cd.out" "GET /cd HTTP/1.1\r\n${H}\r\n")
is "$(http_status "$LAB/cd.out")" 200 "close-delimited response: 200"
like "$(tail -c 200 "$LAB/cd.out")" '"target": "/cd".*\}$' "close-delimited response: the whole body, up to the close"
like "$out" 'end=(close_notify|eof)' "close-delimited response: then the connection closes"

# --- ALPN --------------------------------------------------------------------
out=$(tc "$SP_H" "$LAB/alpn.out" "GET / HTTP/1.1\r\n${H}${CLOSE}\r\n" --alpn h2,http/1.1)
like "$out" 'result=ok .*alpn=http/1.1 ' "ALPN: offered h2,http/1.1, http/1.1 selected"

# --- client role header_out ---------------------------------------------------
# The server role passes bytes through (forward = none) to the stand-in
# upstream, which records the exact header list the client role produced.
lab_upstream_start up-raw --proxy none
start_server dp-raw "$UPSTREAM_PORT" 'forward = none'
SP_RAW=$SP
start_client cr-out "$SP_RAW" 'forward = http
header_out = DANE-Client-Identity'
CR_OUT=$CP
start_client cr-plain "$SP_RAW"
CR_PLAIN=$CP
n0=$(dp_upstream_conns up-raw)
out=$(curl -sS --max-time 10 -H 'DANE-Client-Identity: forged' -H 'dane-client-identity: forged2' \
      "http://127.0.0.1:$CR_OUT/o/1" -H 'DANE-Client-Identity: forged' "http://127.0.0.1:$CR_OUT/o/2" 2>&1)
lab_upstream_wait up-raw $((n0 + 1))
is "$(dp_upstream_last up-raw "[[v for k, v in q['header_list'] if k.lower() == 'dane-client-identity'] for q in r['requests']]")" \
  "[['$ID'], ['$ID']]" "client role header_out: client_name added to each request, forged copies removed"
is "$(dp_upstream_last up-raw "[q['target'] for q in r['requests']]")" "['/o/1', '/o/2']" "client role header_out: both keep-alive requests"
n0=$(dp_upstream_conns up-raw)
RAWREQ="GET /plain HTTP/1.1\r\nHost: js.dp.test\r\ndane-client-identity: forged\r\nX-Weird:   spaced  \r\nConnection: close\r\n\r\n"
out=$("$LAB_PYTHON" - "$CR_PLAIN" "$RAWREQ" <<'PY'
import socket, sys
req = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(req)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.split(b"\r\n", 1)[0].decode())
PY
)
is "$out" "HTTP/1.1 200 OK" "client role default: answered"
lab_upstream_wait up-raw $((n0 + 1))
is "$(dp_upstream_last up-raw "r['requests'][0]['header_list']")" \
  "[['Host', 'js.dp.test'], ['dane-client-identity', 'forged'], ['X-Weird', 'spaced'], ['Connection', 'close']]" \
  "client role default (forward = none): the request passes unchanged"

# Draining (SIGTERM, or a reload's old workers): an idle keep-alive
# connection is closed at once, not held until drain_timeout_ms cuts it.
start_server drain "$NGINX_PORT" $'\n[global]\ndrain_timeout_ms = 8000'
start_client drain-cl "$SP" 'forward = http'
"$LAB_PYTHON" - "$CP" "$LAB/ka.mark" >"$LAB/ka.out" <<'PY' &
import http.client, socket, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=15)
c.request("GET", "/keepalive")
r = c.getresponse()
body = r.read()
open(sys.argv[2], "w").write("1")
t0 = time.monotonic()
try:
    d = c.sock.recv(100)
except socket.timeout:
    d = b"timeout"
print("status=%d after=%r closed_ms=%d" % (r.status, d, (time.monotonic() - t0) * 1000))
PY
kapid=$!
lab_wait_file "$LAB/ka.mark" 10 || diag "keep-alive request failed"
kill -TERM "$(lab_pid drain)"
wait "$kapid"
out=$(cat "$LAB/ka.out")
ms=$(sed -n 's/.*closed_ms=\([0-9]*\).*/\1/p' <<<"$out")
like "$out" "status=200 after=b''" "draining: an idle keep-alive HTTP connection is closed cleanly"
ok "... at once ($ms ms after SIGTERM), not at the 8 s drain timeout" test "${ms:-99999}" -lt 2000
lab_wait_log drain 'daneproxy stopped' 5 >/dev/null
unlike "$(cat "$LAB/drain.log")" 'drain timeout' "... so the proxy stopped without waiting for the drain timeout"

dp_stop_all_checked
done_testing
