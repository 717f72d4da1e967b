#!/usr/bin/env bash
# Fault injection, hostile or broken clients (issue 13 §3, CI-sized). Every
# case checks the same four things: nothing unauthenticated reached the
# upstream, every client that was let in got its answer or a clean error,
# the master and its worker still run, and a normal DANE-authenticated
# connection succeeds afterwards with nobody's help.
#   1. a handshake flood beyond max_handshakes
#   2. slowloris before the ClientHello ends, and during an HTTP request head
#   3. clients that vanish while their TLSA lookup is in flight (ASan build:
#      a use-after-free fails the test)
#   4. a flood of distinct names (DP_FAULT_NAMES, 300): outside the allowlist
#      (no DNS work at all), and allowed but with no TLSA (max_inflight)
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
lab_upstream_start up --proxy v2 || bail "no upstream"
lab_upstream_start hup --proxy none || bail "no HTTP upstream"

{ printf '[global]\nworkers = 1\nadmin = 127.0.0.1:0\ndrain_timeout_ms = 2000\n'
  printf '[dns]\nmode = resolver-ad\nresolvers = %s\ntimeout_ms = 1500\nmax_inflight = 16\n' "$LAB_AD_RESOLVER"
  server_section js "$UPSTREAM_UP_PORT" 'max_handshakes = 8
handshake_timeout_ms = 1500'
  server_section open "$UPSTREAM_UP_PORT" 'allow = *.nx.dp.test, *._device.dp.test, _lorawan-ns.ns1.dp.test
handshake_timeout_ms = 4000'
  server_section web "$UPSTREAM_HUP_PORT" 'forward = http
identity = extension-or-san
san_tlsa_prefix = _lorawan-ns
idle_timeout_ms = 1000
handshake_timeout_ms = 1500'
} >"$LAB/a.ini"
dp_start a "$LAB/a.ini" PORT=js OPEN=open WEB=web AP=admin || bail "no daneproxy"
ok "baseline: an authenticated connection is answered" authed "$PORT"
lab_upstream_wait up 1 || bail "upstream recorded nothing"

# --- 1. Handshake flood beyond max_handshakes ----------------------------------
n0=$(dp_upstream_conns up)
out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
  --clientid "$ID" --send "$REQ" --load 40 --count 200 --timeout-ms 8000 2>&1)
read -r ndone failed timeouts <<<"$(load_field "$out" "done") $(load_field "$out" failed) $(load_field "$out" timeout)"
note "flood: $(echo "$out" | head -n 3 | tr '\n' ' ')"
is "$((ndone + failed))" 200 "flood of 200 (40 at once, max_handshakes = 8): every connection ended"
ok "... some were served ($ndone)" test "${ndone:-0}" -gt 0
is "${timeouts:-x}" 0 "... the refused ones were closed, none left hanging (timeouts)"
lab_poll 10 upstream_has up $((n0 + ndone)); is "$(dp_upstream_conns up)" $((n0 + ndone)) \
  "... the upstream saw exactly the $ndone served ones"
like "$(cat "$LAB/a.log")" 'handshakes in progress' "... and the excess was refused at accept (logged)"
check_after a "$PORT" "after the flood"

# --- 2. Slowloris ---------------------------------------------------------------
n0=$(dp_upstream_conns up)
out=$(dribble_hello "$PORT" 3 6)
ok "slowloris during the ClientHello (a byte every 200 ms): all 3 closed by the 1.5 s handshake timeout ($out ms)" \
  all_between "$out" 1200 4500
is "$(dp_upstream_conns up)" "$n0" "... nothing reached the upstream"
check_after a "$PORT" "after the ClientHello slowloris"

h0=$(dp_upstream_conns hup)
like "$(head_client "$WEB" full)" 'HTTP/1.1 200' "the HTTP listener answers an authenticated request (SAN identity)"
lab_upstream_wait hup $((h0 + 1)) 5
h1=$(dp_upstream_conns hup)
r1=$(upstream_requests hup)
out=$(head_client "$WEB" dribble)
like "$out" '^answered 408 after [0-9]+ ms' "slowloris during the request head (a byte every 300 ms): answered 408 ($out)"
ms=$(echo "$out" | awk '{print $4}')
ok "... within 5 s (idle_timeout_ms = 1000)" test "${ms:-99999}" -lt 5000
ok "... the upstream saw the connection" lab_poll 5 upstream_has hup $((h1 + 1))
is "$(upstream_requests hup)" "$r1" "... and no request reached the upstream"
check_after a "$PORT" "after the request-head slowloris"

# --- 3. Clients vanishing while their TLSA lookup is in flight ----------------
# The validating resolver is replaced by a black hole (reads, never answers),
# so each lookup waits its 1.5 s; each client sends its Certificate (with a
# fresh name under *._device) and gives up 300 ms later.
dns_blackhole || bail "no black hole"
n0=$(dp_upstream_conns up)
dp_testclient --connect "127.0.0.1:$OPEN" --cert "$C/client.crt" --key "$C/client.key" \
  --clientid 'v########._device.dp.test' --send "$REQ" --parallel 10 --repeat 3 \
  --timeout-ms 300 --quiet >"$LAB/vanish.out" 2>&1
is "$(grep -c 'bytes_read=0' "$LAB/vanish.out")" 30 "30 clients vanished while their lookups were in flight, none answered"
ok "... their lookups ended later (timeouts) and the connections with them" \
  lab_poll 10 metric_ge 'daneproxy_tlsa_lookups_total{result="timeout"}' 10
is "$(dp_upstream_conns up)" "$n0" "... nothing reached the upstream"
ok "... the proxy runs (no use-after-free)" proc_alive a

# --- 4. A flood of distinct names ----------------------------------------------
# The issue asks for 1,000 in about a second; the sanitizer build completes
# about 80 full TLS 1.3 handshakes a second on the CI's two cores, so CI
# sends DP_FAULT_NAMES (300) of each kind: the invariants do not depend on
# the count.
NAMES=${DP_FAULT_NAMES:-300}
# Allowed but nonexistent (*.nx.dp.test), with DNS still black-holed: at most
# max_inflight = 16 lookups at once, the rest refused as busy.
busy0=$(metric 'daneproxy_tlsa_cache_busy_total')
sampler=$(metric_sampler daneproxy_tlsa_lookups_in_flight "$LAB/inflight.out")
out=$(fast_testclient --connect "127.0.0.1:$OPEN" --cert "$C/client.crt" --key "$C/client.key" \
  --clientid 'n########.nx.dp.test' --send "$REQ" --load 50 --count "$NAMES" --timeout-ms 5000 2>&1)
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
note "allowed names: $(echo "$out" | head -n 3 | tr '\n' ' ')"
is "$(load_field "$out" "done")" 0 "$NAMES allowed names without TLSA: none authenticated"
max=$(sort -n "$LAB/inflight.out" | tail -n 1)
ok "... lookups in flight never above max_inflight = 16 (max seen ${max:-none})" test -n "$max" -a "${max:-99}" -le 16
busy=$(metric 'daneproxy_tlsa_cache_busy_total')
ok "... the excess refused as busy ($busy0 -> $busy)" test "${busy:-0}" -gt "${busy0:-0}"
is "$(dp_upstream_conns up)" "$n0" "... nothing reached the upstream"

dns_restore || bail "validating resolver did not come back"
# Outside the allowlist: refused before any DNS work.
look0=$(metric_sum daneproxy_tlsa_lookups_total); miss0=$(metric daneproxy_tlsa_cache_misses_total)
t0=$(date +%s%N)
out=$(fast_testclient --connect "127.0.0.1:$OPEN" --cert "$C/client.crt" --key "$C/client.key" \
  --clientid 'o########.outside.test' --send "$REQ" --load 20 --count "$NAMES" --timeout-ms 5000 2>&1)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
note "outside names ($ms ms): $(echo "$out" | head -n 3 | tr '\n' ' ')"
is "$(load_field "$out" alert)" "$NAMES" "$NAMES names outside the allowlist: all refused with an alert"
ok "... at once" test "$(load_field "$out" timeout)" = 0
is "$(metric_sum daneproxy_tlsa_lookups_total) $(metric daneproxy_tlsa_cache_misses_total)" "$look0 $miss0" \
  "... without a single TLSA lookup or cache miss"
is "$(grep -c 'outside\.test' "$LAB/unbound-ad.log")" 0 "... and the resolver was never asked"
is "$(dp_upstream_conns up)" "$n0" "... nothing reached the upstream"
check_after a "$OPEN" "after the name floods and the DNS black hole"

dp_stop_all_checked
done_testing
