#!/usr/bin/env bash
# Fault injection, DNS (issue 13 §3, CI-sized). daneproxy fails closed:
# while DNS cannot vouch for a name, its clients are refused (never relayed
# unauthenticated), and service comes back by itself when DNS does. Each
# case also checks that the master and its worker still run.
#   1. the validating resolver killed in the middle of a burst, restarted
#   2. the resolver times out, then answers SERVFAIL: refused, then recovery
#      (neither is cached)
#   3. a TLSA record removed mid-run: refused within the cache TTL bound
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/faults.sh"

lab_skip_unless_root_tools
lab_init
lab_certs
lab_dns_start || bail "no lab DNS"
C=$LAB_CERTS
REVOKE=_lorawan-ns.revoke.dp.test
TTL=3
lab_upstream_start up --proxy v2 || bail "no upstream"

# A short cache cap (TTL s) bounds how long a removed record is still
# trusted; the burst uses fresh names, so each connection asks the resolver.
{ printf '[global]\nworkers = 1\nadmin = 127.0.0.1:0\ndrain_timeout_ms = 2000\n'
  printf '[dns]\nmode = resolver-ad\nresolvers = %s\ntimeout_ms = 1000\ncache_max_ttl = %s\n' \
    "$LAB_AD_RESOLVER" "$TTL"
  server_section js "$UPSTREAM_UP_PORT" "allow = *._device.dp.test, $ID, $REVOKE
handshake_timeout_ms = 3000"
} >"$LAB/a.ini"
dp_start a "$LAB/a.ini" PORT=js AP=admin || bail "no daneproxy"
ok "baseline: an authenticated connection is answered" authed "$PORT"

# refused PORT [NAME]: the connection is refused (an alert, nothing read)
refused() {
  dp_testclient --connect "127.0.0.1:$1" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "${2:-$ID}" --send "$REQ" --quiet --timeout-ms 8000 | grep -q 'result=alert alert=40'
}

# --- 1. Resolver killed mid-burst, restarted ----------------------------------
# Fresh names under *._device (a wildcard TLSA record): every connection needs
# its own lookup.
n0=$(dp_upstream_conns up)
fast_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
  --clientid 'b########._device.dp.test' --send "$REQ" --load 4 --duration 6 --timeout-ms 8000 \
  >"$LAB/burst.out" 2>&1 &
burst=$!
ok "burst: lookups answered secure (at least 10) before the resolver is killed" \
  lab_poll 10 metric_ge 'daneproxy_tlsa_lookups_total{result="secure"}' 10
lab_stop unbound-ad
down=$(metric 'daneproxy_connections_total{listener="js",role="server",outcome="refused"}')
ok "... with it gone, connections are refused (5 more than the $down before)" \
  lab_poll 10 metric_ge 'daneproxy_connections_total{listener="js",role="server",outcome="refused"}' $((${down:-0} + 5))
lab_spawn unbound-ad unbound -d -c "$LAB/dns/unbound-ad.conf"
ok "resolver killed mid-burst comes back" lab_poll 15 _lab_dns_probe "${LAB_AD_RESOLVER#*:}"
wait "$burst"
out=$(head -n 1 "$LAB/burst.out")
note "burst: $(tr '\n' ' ' <"$LAB/burst.out")"
read -r ndone failed alert timeouts <<<"$(load_field "$out" "done") $(load_field "$out" failed) $(load_field "$out" alert) $(load_field "$out" timeout)"
ok "... connections before and after it were served ($ndone)" test "${ndone:-0}" -gt 0
ok "... those while it was down were refused with an alert ($alert)" test "${alert:-0}" -gt 0
is "${alert:-x}" "${failed:-y}" "... every failure was such a refusal ($alert alerts, $failed failures)"
is "${timeouts:-x}" 0 "... none hung"
lab_upstream_wait up $((n0 + ndone)) 10
is "$(dp_upstream_conns up)" $((n0 + ndone)) "... the upstream saw exactly the $ndone served ones"
check_after a "$PORT" "after the resolver restart"

# --- 2. Timeouts, then SERVFAIL ------------------------------------------------
for mode in none servfail; do
  what=$([ $mode = none ] && echo "times out" || echo "answers SERVFAIL")
  n0=$(dp_upstream_conns up)
  dns_blackhole "$mode" || bail "no fake resolver"
  ok "resolver $what: a new name is refused" refused "$PORT" "t$mode._device.dp.test"
  is "$(dp_upstream_conns up)" "$n0" "... nothing reached the upstream"
  dns_restore || bail "resolver did not come back"
  ok "... once it answers again, the same name is served (the failure was not cached)" \
    lab_poll 10 authed "$PORT" --clientid "t$mode._device.dp.test"
  ok "... master and worker run" proc_alive a
done

# --- 3. TLSA record removed mid-run --------------------------------------------
ok "before revocation: $REVOKE is served" authed "$PORT" --clientid "$REVOKE"
lab_zone_remove _lorawan-ns.revoke || bail "zone edit failed"
t0=$(date +%s%N)
ok "after its TLSA record is removed, $REVOKE is refused" lab_poll 15 refused "$PORT" "$REVOKE"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
# the bound: daneproxy's cache cap, plus the resolver's TTL (1 s), plus slack
ok "... within the cache bound ($ms ms <= cache_max_ttl $TTL s + record TTL 1 s + 2 s)" \
  test "$ms" -le $(( (TTL + 1 + 2) * 1000 ))
n0=$(dp_upstream_conns up)
ok "... and stays refused" refused "$PORT" "$REVOKE"
is "$(dp_upstream_conns up)" "$n0" "... nothing reached the upstream"
check_after a "$PORT" "after the revocation"

dp_stop_all_checked
done_testing
