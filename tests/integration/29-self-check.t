#!/usr/bin/env bash
# A client route watches its own record and the remote's: the self-check
# (self_check) catches the rollover outage — a new key whose record is not
# published yet — before any server refuses the route, in the log, in
# /metrics and (self_check = not-ready) in /readyz; the TLSA names' status,
# TTL and RRSIG expiry are exported for both names.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test

route() { # FILE NAME CERT KEY SELF_CHECK
  { printf '[global]\nadmin = 127.0.0.1:0\n'
    dp_dns_section validate
    printf 'probe_name = none\n'
    printf '[client %s]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:9\nserver_name = js.dp.test\n' "$2"
    printf 'tlsa_name = _8443._tcp.js.dp.test\ncert = %s\nkey = %s\nclient_name = %s\nself_check = %s\n' \
      "$3" "$4" "$ID" "$5"; } >"$LAB/$1.ini"
}
route good ok "$C/client.crt" "$C/client.key" not-ready
route bad rolled "$C/rogue.crt" "$C/rogue.key" not-ready
route warn rolledw "$C/rogue.crt" "$C/rogue.key" warn
dp_start good "$LAB/good.ini" AG=admin || bail "good route did not start"
dp_start bad "$LAB/bad.ini" AB=admin || bail "bad route did not start"
dp_start warn "$LAB/warn.ini" AW=admin || bail "warn route did not start"

metrics() { curl -s --max-time 5 "http://127.0.0.1:$1/metrics"; }
metric() { dp_metric "$@"; }
readyz() { curl -s --max-time 5 -w ' %{http_code}' "http://127.0.0.1:$1/readyz"; }
ready_is() { [[ $(readyz "$1") == *" $2" ]]; }

ok "key and record agree: logged" lab_wait_log good "self-check: route ok: the TLSA record at $ID \\(3 1 1\\) matches our own key" 10
ok "... /readyz 200" lab_poll 10 ready_is "$AG" 200
is "$(metric "$AG" 'daneproxy_self_check{listener="ok",role="client"}')" 1 "... daneproxy_self_check 1"

ok "a new key without its record: logged at error level" \
  lab_wait_log bad "error: self-check: route rolled: NO TLSA record at $ID matches our own key" 10
like "$(grep 'self-check: route rolled' "$LAB/bad.log")" 'DANE: .*self_check = not-ready' "... with the matcher's reason and the policy"
ok "... self_check = not-ready: /readyz 503" lab_poll 10 ready_is "$AB" 503
like "$(readyz "$AB")" 'not ready: self-check: route rolled: no TLSA record at client_name matches our own key' "... saying why"
is "$(metric "$AB" 'daneproxy_self_check{listener="rolled",role="client"}')" 0 "... daneproxy_self_check 0"
ok "self_check = warn: logged" lab_wait_log warn "error: self-check: route rolledw: NO TLSA record" 10
ok "... but /readyz stays 200" lab_poll 10 ready_is "$AW" 200

# The names' lookups, both of them.
m=$(metrics "$AG")
like "$m" 'daneproxy_tlsa_name_status\{listener="ok",role="client",name="own",status="secure"\} 1' "own name: status secure"
like "$m" 'daneproxy_tlsa_name_status\{listener="ok",role="client",name="remote",status="secure"\} 1' "remote name: status secure"
ttl=$(echo "$m" | awk '$1 == "daneproxy_tlsa_name_ttl_seconds{listener=\"ok\",role=\"client\",name=\"own\"}" { print $2 }')
# 300 as published, less when a resolver had it cached already.
ok "own name: the TTL as received ($ttl s)" test "${ttl:-0}" -gt 0 -a "${ttl:-0}" -le 300
exp=$(echo "$m" | awk '$1 == "daneproxy_tlsa_name_rrsig_expiry_seconds{listener=\"ok\",role=\"client\",name=\"own\"}" { print $2 }')
# ldns-signzone signs for 4 weeks by default.
ok "own name: RRSIG expiry in the future, within 4 weeks ($exp s)" \
  test "${exp:-0}" -gt 86400 -a "${exp:-0}" -le $((28 * 86400 + 60))
like "$m" 'daneproxy_tlsa_name_checked_timestamp_seconds\{listener="ok",role="client",name="remote"\} [0-9]{10}' "remote name: when it was looked up"

dp_stop_all_checked
done_testing
