#!/usr/bin/env bash
# Revocation is the removal of a TLSA record (the zone re-signed and served
# anew). No resumed session may outlive it:
# - server role: no session ticket is ever issued, so every connection is a
#   full handshake; once the record is gone from the resolver, the very next
#   connection is refused;
# - client role: a session resumed under dane-or-pkix when the records are
#   gone is checked by PKIX, so a server authenticated by DANE alone is
#   refused at once, not when the ticket expires; under dane the route
#   refuses before connecting.
# The revocable names have a TTL of 1 s and daneproxy caches nothing
# (cache_max_ttl = 0), so "once the cache entry is gone" is the resolver's
# second, which the test waits for by polling, not sleeping.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
NAME=_lorawan-ns.revoke.dp.test
lab_upstream_start up --proxy v2 || bail "upstream"

dns_section() {
  printf '[dns]\nmode = validate\nresolvers = %s\ntrust_anchor_file = %s\ncache_max_ttl = 0\n' \
    "$LAB_FWD_RESOLVER" "$LAB_TRUST_ANCHOR"
}
# fwd_nxdomain NAME: the resolver daneproxy asks answers NXDOMAIN for NAME.
fwd_nxdomain() {
  drill -p "${LAB_FWD_RESOLVER#*:}" @127.0.0.1 "$1" TLSA 2>/dev/null | grep -q 'rcode: NXDOMAIN'
}

# --- Server role ---------------------------------------------------------------
{ dns_section
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'forward = proxy-v2\nallow = %s\n' "$NAME"; } >"$LAB/js.ini"
dp_start js "$LAB/js.ini" SP=js || bail "server role did not start"
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
tc() {
  dp_testclient --connect "127.0.0.1:$SP" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$NAME" --send "$REQ" --timeout-ms 5000 --quiet 2>&1
}
out=$(tc)
like "$out" 'result=ok .*version=TLSv1.3 .*tickets=0 ' "server role: authenticated by the record, and no session ticket issued"
out=$(dp_testclient --connect "127.0.0.1:$SP" --cert "$C/client.crt" --key "$C/client.key" \
      --clientid "$NAME" --send "$REQ" --tls 1.2 --timeout-ms 5000 --quiet 2>&1)
like "$out" 'result=(ok|alert)' "server role, TLS 1.2 offered: answered"
like "$out" 'tickets=0 ' "... without a session ticket either"

lab_zone_remove _lorawan-ns.revoke || bail "zone update"
ok "the record is gone from the resolver daneproxy asks" lab_poll 10 fwd_nxdomain "$NAME"
out=$(tc)
like "$out" 'result=alert alert=40' "server role: the very next connection is refused (handshake_failure)"
lab_wait_log js 'outcome=refused' 5 >/dev/null
like "$(grep 'outcome=refused' "$LAB/js.log")" 'reason="TLSA lookup: nxdomain' "... and logged with the reason"

# --- Client role -----------------------------------------------------------------
# openssl s_server issues session tickets; its certificate is js.crt, which
# only DANE can vouch for (no CA in ca_file issued it). Not -quiet: its
# "ACCEPT 127.0.0.1:PORT" line is the port it got.
lab_spawn s_server openssl s_server -accept 127.0.0.1:0 -cert "$C/js.crt" -key "$C/js.key" \
  -www -tls1_3
SSPORT=$(lab_log_port s_server '^ACCEPT ') || bail "s_server did not start"
route() { # NAME VERIFY: a route to s_server; sets CP
  { dns_section
    printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$SSPORT"
    printf 'cert = %s\nkey = %s\nclient_name = %s\nca_file = %s\nverify_server = %s\ntlsa_name = _443._tcp.revoke.dp.test\n' \
      "$C/client.crt" "$C/client.key" "$NAME" "$C/ca.crt" "$2"; } >"$LAB/$1.ini"
  dp_start "$1" "$LAB/$1.ini" CP=js
}
route r-either dane-or-pkix || bail "client role did not start"
CP_EITHER=$CP
route r-dane dane || bail "client role did not start"
CP_DANE=$CP
get() { curl -sS --max-time 10 "http://127.0.0.1:$1/" 2>&1; }

like "$(get "$CP_EITHER")" 'New, TLSv1.3' "dane-or-pkix: the DANE-only server is authenticated by its record"
like "$(get "$CP_EITHER")" 'Reused, TLSv1.3' "dane-or-pkix: the next connection resumes"
lab_wait_log r-either 'tlsa="3 1 1 resumed" outcome=ok' 5 >/dev/null
like "$(cat "$LAB/r-either.log")" 'tlsa="3 1 1 resumed" outcome=ok' "... re-checked against the record"
like "$(get "$CP_DANE")" 'New, TLSv1.3' "dane: authenticated by the record"

lab_zone_remove _443._tcp.revoke || bail "zone update"
ok "the server's record is gone from the resolver" lab_poll 10 fwd_nxdomain _443._tcp.revoke.dp.test
unlike "$(get "$CP_EITHER")" 'TLSv1.3' "dane-or-pkix: the session made under DANE is not resumed once the record is gone"
lab_wait_log r-either 'does not verify by PKIX' 5 >/dev/null
like "$(cat "$LAB/r-either.log")" 'resumed session: the remote.s certificate does not verify by PKIX' \
  "... logged: the resumed certificate fails PKIX"
unlike "$(get "$CP_EITHER")" 'TLSv1.3' "dane-or-pkix: nor does a full handshake get through (PKIX fails)"
unlike "$(get "$CP_DANE")" 'TLSv1.3' "dane: refused once the record is gone"

dp_stop_all_checked
done_testing
