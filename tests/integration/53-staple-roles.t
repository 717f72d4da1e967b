#!/usr/bin/env bash
# Stapled DNSSEC chains between daneproxy's two roles: the client role
# (staple_chain = yes) builds its own chain through its resolver (validate
# mode, the lab's forwarding Unbound) and staples it; the server role
# (stapled_chain = require, resolver-ad mode on the lab's validating
# Unbound) authenticates the client with ZERO queries for the client's name
# at its resolver. Then: without staple_chain the same route is refused
# (chain_missing), and an accept listener looks the name up instead.
# Last, revocation: a live connection authenticated by a stapled chain is
# re-checked like one authenticated by a cached answer: when the chain's
# answer expires (TTL 1 s here) daneproxy looks the name up itself, and a
# withdrawn record closes the connection (recheck = close).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
lab_upstream_start up --proxy v2 || bail "upstream did not start"

# server_role NAME MODE: a PROXY v2 front for the upstream with stapled_chain
# = MODE and an admin endpoint; sets SPORT and APORT.
server_role() {
  { printf '[global]\nadmin = 127.0.0.1:0\n'
    dp_dns_section resolver-ad
    # The anchor chains are validated from (the lab's: dp.test's DS).
    printf 'trust_anchor_file = %s\n' "$LAB_TRUST_ANCHOR"
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$C/js.crt" "$C/js.key" "$UPSTREAM_PORT"
    printf 'allow = *.dp.test\nstapled_chain = %s\n' "$2"; } >"$LAB/$1.ini"
  dp_start "$1" "$LAB/$1.ini" SPORT=js APORT=admin
}

# client_role NAME SERVER_PORT [extra]: the route; sets CPORT.
client_role() {
  { dp_dns_section validate
    printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$2"
    printf 'cert = %s\nkey = %s\nclient_name = %s\ntlsa_name = _8443._tcp.js.dp.test\n%s\n' \
      "$C/client.crt" "$C/client.key" "$ID" "${3:-}"; } >"$LAB/$1.ini"
  dp_start "$1" "$LAB/$1.ini" CPORT=js
}

# through PORT: one connection through the client role, a line sent; prints
# what the upstream answered (the stand-in echoes).
through() {
  printf 'hello\n' | timeout 10 "$LAB_PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    out += b
sys.stdout.write(out.decode(errors="replace"))' "$1" 2>/dev/null
}

server_role sr require || bail "server role did not start"
client_role cr "$SPORT" 'staple_chain = yes' || bail "client role did not start"
lab_wait_log cr "staple: $ID: chain built" 15 >/dev/null
like "$(cat "$LAB/cr.log")" "staple: $ID: chain built: bytes=[0-9]+ rrs=[0-9]+ rrsigs=[0-9]+" \
  "client role: its chain is built at start"
ok "  through its own resolver" test "$(lab_dns_query_count "$ID" TLSA fwd)" -ge 1

q0=$(lab_dns_query_count "$ID" TLSA ad)
n0=$(dp_upstream_conns up)
through "$CPORT" >/dev/null
lab_upstream_wait up $((n0 + 1)) || true
is "$(dp_upstream_conns up)" $((n0 + 1)) "require: the stapled connection reaches the upstream"
is "$(dp_upstream_last up 'r["proxy"]["identity"]')" "$ID" "  with the client's identity in the PROXY v2 TLV"
is "$(lab_dns_query_count "$ID" TLSA ad)" "$q0" "  and no query for $ID at the server's resolver"
is "$(lab_dns_query_count "$ID" TLSA ad)" 0 "  (none ever)"
is "$(dp_metric "$APORT" 'daneproxy_stapled_chains_total{listener="js",role="server",result="validated"}')" 1 \
  "  counted as validated"
lab_wait_log sr 'role=server.*outcome=ok' 5 >/dev/null
like "$(grep 'role=server' "$LAB/sr.log")" "client_name=$ID .*tlsa=\"3 1 1\".*outcome=ok" \
  "  logged with the record that matched"

through "$CPORT" >/dev/null
lab_upstream_wait up $((n0 + 2)) || true
is "$(dp_metric "$APORT" 'daneproxy_stapled_chains_total{listener="js",role="server",result="cached"}')" 1 \
  "a second connection: the chain found by its digest (cached)"
is "$(lab_dns_query_count "$ID" TLSA ad)" 0 "  still no query at the server's resolver"

# The same route without staple_chain: refused, counted as chain_missing.
client_role cr-plain "$SPORT" || bail "client role did not start"
n1=$(dp_upstream_conns up)
through "$CPORT" >/dev/null
is "$(dp_metric "$APORT" 'daneproxy_handshake_failures_total{listener="js",role="server",reason="chain_missing"}')" 1 \
  "require, no chain stapled: refused as chain_missing"
is "$(dp_upstream_conns up)" "$n1" "  nothing reached the upstream"
is "$(dp_metric "$APORT" 'daneproxy_stapled_chains_total{listener="js",role="server",result="absent"}')" 1 \
  "  counted as absent"

# accept: the route without a chain is looked up and let in.
server_role sa accept || bail "accept server did not start"
client_role cr-accept "$SPORT" || bail "client role did not start"
q1=$(lab_dns_query_count "$ID" TLSA ad)
n2=$(dp_upstream_conns up)
through "$CPORT" >/dev/null
lab_upstream_wait up $((n2 + 1)) || true
is "$(dp_upstream_conns up)" $((n2 + 1)) "accept, no chain: authenticated by a lookup"
ok "  which the server's resolver saw" test "$(lab_dns_query_count "$ID" TLSA ad)" -gt "$q1"
# ... and a stapling route on the accept listener uses its chain.
client_role cr-accept2 "$SPORT" 'staple_chain = yes' || bail "client role did not start"
lab_wait_log cr-accept2 "staple: $ID: chain built" 15 >/dev/null
through "$CPORT" >/dev/null
lab_upstream_wait up $((n2 + 2)) || true
is "$(dp_upstream_conns up)" $((n2 + 2)) "accept, a chain stapled: authenticated"
is "$(dp_metric "$APORT" 'daneproxy_stapled_chains_total{listener="js",role="server",result="validated"}')" 1 \
  "  by the chain (validated)"

# Revocation: a fresh name (withdrawn names stay NXDOMAIN in the resolvers'
# negative caches) with a TTL of 1 s; its chain built by the client role's
# builder; a connection held open on a require listener.
RV=_lorawan-ns.srevoke.dp.test
lab_zone_set _lorawan-ns.srevoke 1 client.crt || bail "zone update"
"$DP_BUILD/dp-staple" --mode validate --resolver "$LAB_FWD_RESOLVER" \
  --trust-anchor "$LAB_TRUST_ANCHOR" --name "$RV" --out "$LAB/rv.chain" >"$LAB/rv.out" 2>&1 ||
  bail "no chain for $RV: $(cat "$LAB/rv.out")"
{ printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section resolver-ad
  printf 'trust_anchor_file = %s\n' "$LAB_TRUST_ANCHOR"
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/js.crt" "$C/js.key" "$UPSTREAM_PORT"
  printf 'allow = *.dp.test\nstapled_chain = require\nrecheck = close\nidle_timeout_ms = 60000\n'; } >"$LAB/rc.ini"
dp_start rc "$LAB/rc.ini" RPORT=js RAPORT=admin || bail "recheck server did not start"
lab_spawn hold "$DP_BUILD/dp-testclient" --connect "127.0.0.1:$RPORT" \
  --cert "$C/client.crt" --key "$C/client.key" --clientid "$RV" \
  --dnssec-chain "$LAB/rv.chain" --send 'held\n' --timeout-ms 60000 --quiet
ok "a stapled connection held open" lab_poll 10 eval \
  '[ "$(dp_metric "$RAPORT" "daneproxy_connections_open{listener=\"js\",role=\"server\"}")" = 1 ]'
ok "  its re-checks look the name up once the chain's answer expires" \
  lab_poll 10 eval '[ "$(lab_dns_query_count "$RV" TLSA ad)" -ge 1 ]'
ok "  the connection stays while the record does" kill -0 "$(lab_pid hold)"
lab_zone_remove _lorawan-ns.srevoke || bail "zone update"
ok "the record withdrawn: the stapled connection is closed" \
  lab_poll 15 eval '! kill -0 "$(lab_pid hold)" 2>/dev/null'
is "$(dp_metric "$RAPORT" 'daneproxy_connections_total{listener="js",role="server",outcome="revoked"}')" 1 \
  "  counted as revoked"

dp_stop_all_checked
done_testing
