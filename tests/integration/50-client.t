#!/usr/bin/env bash
# Client role: mutual DANE between two unmodified servers. curl (the Network
# Server) → daneproxy client role (its DANE identity; authenticates the Join
# Server by the TLSA record at _8443._tcp.js.dp.test) → daneproxy server role
# (authenticates the Network Server by DANE) → nginx (the Join Server).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
lab_nginx_start ng || bail "nginx did not start"
JOINREQ='{"ProtocolVersion":"1.1","SenderID":"000013","ReceiverID":"70B3D57ED0000000","TransactionID":7,"MessageType":"JoinReq","MACVersion":"1.0.3","PHYPayload":"00","DevEUI":"0004A30B001C0530"}'

# server_role NAME CERT KEY: a Join Server front in HTTP mode; sets SPORT.
server_role() {
  { dp_dns_section resolver-ad
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$2" "$3" "$NGINX_PORT"
    printf 'forward = http\nallow = %s\n' "$ID"; } >"$LAB/$1.ini"
  dp_start "$1" "$LAB/$1.ini" SPORT=js
}

# client_role NAME SERVER_PORT VERIFY TLSA_NAME [extra]: sets CPORT.
client_role() {
  { dp_dns_section validate
    printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' \
      "$2"
    printf 'cert = %s\nkey = %s\nclient_name = %s\nca_file = %s\nverify_server = %s\ntlsa_name = %s\n%s\n' \
      "$C/client.crt" "$C/client.key" "$ID" "$C/ca.crt" "$3" "$4" "${5:-}"; } >"$LAB/$1.ini"
  dp_start "$1" "$LAB/$1.ini" CPORT=js
}

# 1. The full picture: DANE both ways.
server_role js-dane "$C/js.crt" "$C/js.key" || bail "server role did not start"
client_role ns-dane "$SPORT" dane _8443._tcp.js.dp.test 'forward = http' || bail "client role did not start"
n0=$(nginx_log_count ng)
out=$(curl -sS --max-time 10 -H 'Content-Type: application/json' -d "$JOINREQ" "http://127.0.0.1:$CPORT/join" 2>&1)
like "$out" '"MessageType":"JoinAns"' "mutual DANE: the JoinReq is answered with a JoinAns"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 identity)" "$ID" "mutual DANE: the Join Server's log shows the Network Server's DANE identity"
lab_wait_log ns-dane 'role=client.*outcome=' 5 >/dev/null
like "$(grep 'role=client' "$LAB/ns-dane.log")" 'tlsa="3 1 1" outcome=ok' "mutual DANE: the client role logs the Join Server's matched record"

# refused_remote DESC SERVER_PORT VERIFY TLSA_NAME: the client role refuses
# the remote; the local client gets 502; nothing reaches nginx.
refused_remote() {
  local desc=$1 n0 out
  client_role "ns-$RANDOM" "$2" "$3" "$4" 'forward = http' || { nok "$desc: client role started" true; return; }
  n0=$(nginx_log_count ng)
  out=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -d "$JOINREQ" "http://127.0.0.1:$CPORT/join" 2>&1)
  is "$out" 502 "$desc: the local client gets 502"
  is "$(nginx_log_count ng)" "$n0" "$desc: nothing reached the Join Server"
}

# 2. A remote whose certificate does not match its TLSA record (the server
# role presents the CA-issued server.crt, the record pins js.crt's key).
server_role js-ca "$C/server-chain.crt" "$C/server.key" || bail "server role did not start"
refused_remote "certificate not matching the TLSA record" "$SPORT" dane _8443._tcp.js.dp.test
lab_wait_log "$(ls -t "$LAB"/ns-*.log | head -1 | xargs basename | sed 's/\.log$//')" 'outcome=error' 5 >/dev/null
like "$(cat "$LAB"/ns-*.log)" 'remote not authenticated' "... logged as the remote not authenticated"
out=$(curl -sS --max-time 10 -d "$JOINREQ" "http://127.0.0.1:$CPORT/join" 2>&1)
like "$out" 'remote not authenticated' "... and the 502 says why in a short text"
# 3. No TLSA record (NXDOMAIN), 4. an insecure zone, 5. a bogus signature.
refused_remote "no TLSA record" "$SPORT" dane _9999._tcp.js.dp.test
refused_remote "TLSA record in an insecure zone" "$SPORT" dane client.insecure.dp.test
refused_remote "bogus TLSA signature" "$SPORT" dane client.bogus.dp.test
refused_remote "bogus signature, even with dane-or-pkix" "$SPORT" dane-or-pkix client.bogus.dp.test
# 6. dane-or-pkix: no TLSA record or an insecure zone → PKIX with ca_file.
client_role ns-fallback "$SPORT" dane-or-pkix _9999._tcp.js.dp.test 'forward = http' || bail "client role did not start"
out=$(curl -sS --max-time 10 -d "$JOINREQ" "http://127.0.0.1:$CPORT/join" 2>&1)
like "$out" '"MessageType":"JoinAns"' "dane-or-pkix, securely no TLSA record: PKIX with ca_file succeeds"
like "$(cat "$LAB/ns-fallback.log")" 'tlsa=pkix outcome=ok' "... and the log says pkix"
# ... but secure records that do not match are never bypassed by PKIX.
refused_remote "dane-or-pkix, secure records not matching" "$SPORT" dane-or-pkix _8443._tcp.js.dp.test

# 7. openssl s_server as a remote that does not know the extension: the
# client role still connects (the extension is only sent when asked for).
# Not -quiet: its "ACCEPT 127.0.0.1:PORT" line is the port it got.
lab_spawn s_server openssl s_server -accept 127.0.0.1:0 -cert "$C/js.crt" -key "$C/js.key" \
  -Verify 1 -www -tls1_3
SSPORT=$(lab_log_port s_server '^ACCEPT ') || bail "s_server did not start"
client_role ns-sserver "$SSPORT" dane _8443._tcp.js.dp.test || bail "client role did not start"
out=$(curl -sS --max-time 10 "http://127.0.0.1:$CPORT/" 2>&1)
like "$out" 'New, TLSv1.3' "openssl s_server (no dane_clientid support): the client role connects, DANE-authenticates it"
# s_server issues session tickets: the route keeps one and resumes with it,
# re-checking the certificate of the resumed session against the TLSA RRset.
out=$(curl -sS --max-time 10 "http://127.0.0.1:$CPORT/" 2>&1)
like "$out" 'Reused, TLSv1.3' "session resumption: the second connection of the route resumes"
lab_wait_log ns-sserver 'tlsa="3 1 1 resumed" outcome=ok' 5 >/dev/null
like "$(cat "$LAB/ns-sserver.log")" 'tlsa="3 1 1 resumed" outcome=ok' "... after matching the resumed certificate against the TLSA record"

# 7b. ALPN: the route offers what alpn lists (s_server logs what it saw).
# s_server ends at EOF on its stdin: give it a FIFO this shell keeps open.
mkfifo "$LAB/alpn.fifo"
exec 9<>"$LAB/alpn.fifo"
lab_spawn s_server_alpn bash -c 'exec openssl s_server -accept 127.0.0.1:0 -cert "$1" -key "$2" \
  -tls1_3 -alpn http/1.1 <"$3"' _ "$C/js.crt" "$C/js.key" "$LAB/alpn.fifo"
APORT=$(lab_log_port s_server_alpn '^ACCEPT ') || bail "s_server did not start"
client_role ns-alpn "$APORT" dane _8443._tcp.js.dp.test 'alpn = h2,http/1.1' || bail "client role did not start"
printf 'hello alpn\n' | timeout 5 "$LAB_PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(b"hello alpn\n")
try:
    s.recv(100)
except OSError:
    pass' "$CPORT"
lab_wait_log s_server_alpn 'hello alpn' 5 >/dev/null
like "$(cat "$LAB/s_server_alpn.log")" 'ALPN protocols advertised by the client: h2, http/1.1' "alpn: the route offers the configured protocols"
like "$(cat "$LAB/s_server_alpn.log")" 'hello alpn' "alpn: and relays after the server selected one"

# 8. The legacy TLS 1.2 form (ClientName in the ClientHello), opt-in on both
# roles.
server_role_legacy() {
  { dp_dns_section resolver-ad
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$C/js.crt" "$C/js.key" "$NGINX_PORT"
    printf 'forward = http\nallow = %s\ntls_versions = 1.2,1.3\n%s\n' "$ID" "$2"; } >"$LAB/$1.ini"
  dp_start "$1" "$LAB/$1.ini" SPORT=js
}
REQ='GET /legacy HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
server_role_legacy js-legacy 'legacy_clientid = yes' || bail "server role did not start"
n0=$(nginx_log_count ng)
out=$(dp_testclient --connect "127.0.0.1:$SPORT" --tls 1.2 --cert "$C/client.crt" --key "$C/client.key" \
      --clientid "$ID" --clientid-legacy --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=ok .*version=TLSv1.2' "legacy form: a TLS 1.2 client with its ClientName in the ClientHello is accepted"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 identity)" "$ID" "legacy form: its identity reaches the Join Server"
out=$(dp_testclient --connect "127.0.0.1:$SPORT" --tls 1.2 --cert "$C/rogue.crt" --key "$C/rogue.key" \
      --clientid "$ID" --clientid-legacy --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=alert alert=40' "legacy form: a rogue certificate still gets handshake_failure"
server_role_legacy js-nolegacy '' || bail "server role did not start"
out=$(dp_testclient --connect "127.0.0.1:$SPORT" --tls 1.2 --cert "$C/client.crt" --key "$C/client.key" \
      --clientid "$ID" --clientid-legacy --send "$REQ" --timeout-ms 5000 --quiet 2>&1)
# OpenSSL refuses an extension it knows only for other messages with
# illegal_parameter, at the ClientHello: refused before any DNS work.
like "$out" 'result=alert alert=47' "legacy form not enabled: a ClientName in the ClientHello is refused (illegal_parameter)"
server_role_legacy js-legacy2 'legacy_clientid = yes' || bail "server role did not start"
client_role ns-legacy "$SPORT" dane _8443._tcp.js.dp.test 'forward = http
tls_versions = 1.2
legacy_clientid = yes' || bail "client role did not start"
n0=$(nginx_log_count ng)
out=$(curl -sS --max-time 10 -d "$JOINREQ" "http://127.0.0.1:$CPORT/join" 2>&1)
like "$out" '"MessageType":"JoinAns"' "legacy form on both roles (TLS 1.2): the JoinReq is answered"
nginx_log_wait ng $((n0 + 1))
is "$(nginx_log_field ng -1 identity)" "$ID" "legacy form on both roles: the identity reaches the Join Server"

dp_stop_all_checked
done_testing
