#!/usr/bin/env bash
# Soak: daneproxy (2 workers) under sustained load, then checked for what a
# long run would reveal: descriptors not returned, memory that grows with
# the work done, connections stuck in a non-terminal state, counters that
# disagree with what the clients saw.
#
#   1. IDLE concurrent keep-alive mTLS connections held idle (the SAN name
#      path, tests/lib/peers_client.py idle), then released.
#   2. HANDSHAKES full handshakes through the server role, each sending
#      dane_clientid and one request (dp-testclient --load), with HTTP
#      keep-alive traffic mixed in on a forward = http listener meanwhile;
#      in two halves, so that memory after the second can be compared with
#      memory after the first (a leak grows with the work; a warm heap does
#      not).
#   3. Afterwards: every connection closed (daneproxy_connections_open 0),
#      each worker's descriptors back to its baseline, RSS growth over the
#      second half under GROWTH_KB, daneproxy_connections_total{outcome="ok"}
#      equal to the connections the clients completed, and no failure.
#
# Usage: bash tests/soak/soak.sh [--long]
#   (none)   IDLE=500, HANDSHAKES=4000: about 20 s (the suite runs it:
#            tests/integration/75-soak.t)
#   --long   IDLE=10000, HANDSHAKES=1000000: about 40 minutes on 2 cores
# IDLE, HANDSHAKES and GROWTH_KB may also be set in the environment;
# SOAK_NO_GROWTH_CHECK=REASON skips the RSS growth check (a sanitizer
# build's quarantine keeps freed memory on purpose). Every daneproxy is
# stopped at the end and its log checked for sanitizer reports.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"

if [[ ${1:-} == --long ]]; then
  IDLE=${IDLE:-10000} HANDSHAKES=${HANDSHAKES:-1000000}
else
  IDLE=${IDLE:-500} HANDSHAKES=${HANDSHAKES:-4000}
fi
GROWTH_KB=${GROWTH_KB:-4096}
# Each process holds at most IDLE client and IDLE upstream sockets.
lab_nofile $((IDLE * 2 + 1024)) $((IDLE + 1024)) || bail "too few descriptors for $IDLE connections"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
lab_nginx_start up $((IDLE + 200)) || bail "upstream did not start"

conf() { # ADMIN TCP HTTP ports (0: any)
  printf '[global]\nworkers = 2\nlog_level = info\nadmin = 127.0.0.1:%s\n' "$1"
  dp_dns_section validate
  printf '[server tcp]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$2" "$C/server-chain.crt" "$C/server.key" "$NGINX_PORT"
  printf 'forward = none\nidentity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\nallow = %s\n' "$ID"
  printf 'max_connections = %s\nidle_timeout_ms = 600000\n' $((IDLE + 200))
  printf '[server http]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$3" "$C/server-chain.crt" "$C/server.key" "$NGINX_PORT"
  printf 'forward = http\nallow = %s\n' "$ID"
}
conf 0 0 0 >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" APORT=admin TPORT=tcp HPORT=http || bail "daneproxy did not start"
master=$(lab_pid dp)
workers=$(dp_workers dp | tr '\n' ' ')
[[ $(wc -w <<<"$workers") == 2 ]] || bail "expected 2 workers, found: $workers"

# A series that is not exposed prints nothing and fails (dp_metric).
metric() { dp_metric "$APORT" "$1"; }
open_conns() { metric 'daneproxy_connections_open{listener="tcp",role="server"}'; }
ok_conns() { metric "daneproxy_connections_total{listener=\"$1\",role=\"server\",outcome=\"ok\"}"; }
fds() { local w out=""; for w in $workers; do out+="$(ls "/proc/$w/fd" | wc -l) "; done; echo "${out% }"; }
rss_kb() { local w t=0; for w in $workers; do t=$((t + $(awk '/^VmRSS:/ { print $2 }' "/proc/$w/status"))); done; echo "$t"; }
alive() { kill -0 "$master" && for w in $workers; do kill -0 "$w" || return 1; done; }
_zero_open() { [[ $(open_conns) == 0 && $(metric 'daneproxy_connections_open{listener="http",role="server"}') == 0 ]]; }
_fds_back() { [[ $(fds) == "$fd0" ]]; }
REQ='GET / HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n'
HREQ='GET /join HTTP/1.1\r\nHost: soak\r\n\r\n'

# A first request per listener warms the TLSA cache; then the baseline.
"$LAB_PYTHON" "$DP_SOURCE_DIR/tests/lib/peers_client.py" latency --port "$TPORT" --count 2 \
  --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key" >/dev/null
lab_poll 10 _zero_open || bail "warm-up connections did not close"
fd0=$(fds)
ok0_tcp=$(ok_conns tcp) ok0_http=$(ok_conns http)
[[ -n $ok0_tcp && -n $ok0_http ]] || bail "no connections_total{outcome=ok} series (renamed?)"
diag "baseline: descriptors per worker $fd0, workers' RSS $(rss_kb) KiB"

# 1. IDLE connections at once, held, released.
t0=$EPOCHREALTIME
lab_spawn idle "$LAB_PYTHON" "$DP_SOURCE_DIR/tests/lib/peers_client.py" idle --port "$TPORT" \
  --count "$IDLE" --ready "$LAB/idle.ready" --ca "$C/ca.crt" --cert "$C/client.crt" \
  --key "$C/client.key" --timeout 60
_idle_ready() { [[ -s $LAB/idle.ready ]] || ! _lab_alive idle; }
lab_poll $((IDLE / 10 + 60)) _idle_ready
is "$(cat "$LAB/idle.ready" 2>/dev/null)" "$IDLE" "$IDLE connections open at once"
_open_is() { [[ $(open_conns) == "$1" ]]; }
ok "... daneproxy_connections_open says $IDLE" lab_poll 10 _open_is "$IDLE"
r_idle=$(rss_kb)
diag "idle: opened in $(calc "${EPOCHREALTIME/,/.} - ${t0/,/.}" 1) s; descriptors per worker $(fds); workers' RSS $r_idle KiB"
lab_stop idle
ok "released: every connection closes" lab_poll 30 _zero_open
ok "released: each worker's descriptors back to the baseline ($fd0)" lab_poll 10 _fds_back

# 2. Handshakes with dane_clientid, HTTP keep-alive mixed in, in two halves.
half=$((HANDSHAKES / 2))
# HTTP keep-alive clients run alongside for about as long as the
# handshakes take (at ~400 handshakes/s on 2 cores).
http_secs=$((half / 400 > 3 ? half / 400 : 3))
done_tcp=0 done_http=0 requests_http=0 failed=0 failed_http=0
run_half() { # HALF N: N handshakes; HTTP keep-alive traffic meanwhile
  "$DP_BUILD/dp-testclient" --connect "127.0.0.1:$HPORT" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$ID" --send "$HREQ" --load 2 --keepalive 20 --duration "$http_secs" \
    --timeout-ms 10000 >"$LAB/http.$1.out" 2>&1 &
  local hpid=$!
  "$DP_BUILD/dp-testclient" --connect "127.0.0.1:$TPORT" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$ID" --send "$REQ" --load 8 --count "$2" --duration 86400 --timeout-ms 10000 \
    >"$LAB/tcp.$1.out" 2>&1
  wait "$hpid"
  done_tcp=$((done_tcp + $(load_field "$(<"$LAB/tcp.$1.out")" done)))
  failed=$((failed + $(load_field "$(<"$LAB/tcp.$1.out")" failed)))
  done_http=$((done_http + $(load_field "$(<"$LAB/http.$1.out")" done)))
  requests_http=$((requests_http + $(load_field "$(<"$LAB/http.$1.out")" requests)))
  failed_http=$((failed_http + $(load_field "$(<"$LAB/http.$1.out")" failed)))
}
t0=$EPOCHREALTIME
run_half 1 "$half"
lab_poll 30 _zero_open
r1=$(rss_kb)
run_half 2 $((HANDSHAKES - half))
lab_poll 30 _zero_open
r2=$(rss_kb)
secs=$(calc "${EPOCHREALTIME/,/.} - ${t0/,/.}" 1)
diag "handshakes: $done_tcp in $secs s ($(calc "$done_tcp / $secs" 0)/s); $(sed -n 's/^load //p' "$LAB/tcp.2.out")"
is "$done_tcp" "$HANDSHAKES" "$HANDSHAKES handshakes with dane_clientid completed"
is "$failed" 0 "... none failed"
ok "... daneproxy alive, master and both workers" alive

diag "HTTP keep-alive meanwhile: $done_http connections, $requests_http requests"
ok "HTTP keep-alive traffic meanwhile: requests answered" test "$requests_http" -gt 0
is "$failed_http" 0 "... none failed"

# 3. Afterwards.
ok "afterwards: no connection left open" _zero_open
ok "afterwards: each worker's descriptors back to the baseline ($fd0)" lab_poll 10 _fds_back
growth=$((r2 - r1))
diag "workers' RSS: idle peak $r_idle KiB, after half 1 $r1 KiB, after half 2 $r2 KiB (growth $growth KiB over $((HANDSHAKES - half)) handshakes)"
if [[ -n ${SOAK_NO_GROWTH_CHECK:-} ]]; then
  skip "RSS growth not checked: $SOAK_NO_GROWTH_CHECK"
else
  ok "afterwards: RSS grew $growth KiB over the second half (bound $GROWTH_KB KiB)" test "$growth" -le "$GROWTH_KB"
fi
ok_tcp=$(ok_conns tcp) ok_http=$(ok_conns http)
is "$((${ok_tcp:-0} - ok0_tcp))" "$((IDLE + done_tcp))" \
  "metrics: connections_total{outcome=ok} on the TCP listener = the idle ones + the handshakes"
is "$((${ok_http:-0} - ok0_http))" "$done_http" \
  "metrics: connections_total{outcome=ok} on the HTTP listener = the keep-alive connections"
dp_stop_all_checked
done_testing
