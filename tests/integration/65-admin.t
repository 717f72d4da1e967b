#!/usr/bin/env bash
# The admin endpoint: /metrics parsed and its counters checked against the
# traffic sent (through two workers, across a worker restart and a reload),
# /healthz, /readyz (also with DNS down), and the HTTP edges.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
ID=_lorawan-ns.ns1.dp.test
TA=_lorawan-ns.ta.dp.test
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
REQ_LEN=$(printf "$REQ" | wc -c)
lab_upstream_start up --proxy v2

# a_conf ADMIN_PORT JS_PORT TINY_PORT: the configuration (0: any port).
a_conf() {
  printf '[global]\nworkers = 2\nadmin = 127.0.0.1:%s\n' "$1"
  dp_dns_section resolver-ad
  printf 'probe_name = dp.test\n'
  printf '[server js]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$2" "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'allow = %s, %s\n' "$ID" "$TA"
  printf '[server tiny]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$3" "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"
  printf 'allow = *\nmax_connections = 1\nhandshake_timeout_ms = 3000\n'
}
a_conf 0 0 0 >"$LAB/a.ini"
dp_start a "$LAB/a.ini" APORT=admin PORT=js TPORT=tiny || bail "no daneproxy"
a_conf "$APORT" "$PORT" "$TPORT" >"$LAB/a.ini"   # so that reloads keep every socket

# get PATH [curl args]: "CODE BODY" from the admin endpoint
get() { local p=$1; shift; curl -s --max-time 5 -o "$LAB/body" -w '%{http_code}' "$@" "http://127.0.0.1:$APORT$p"; }
# metric 'NAME{LABELS}': its value in a fresh scrape (exact series match)
metric() {
  curl -s --max-time 5 "http://127.0.0.1:$APORT/metrics" |
    awk -v s="$1" '$1 == s { print $2; f = 1 } END { if (!f) print "missing" }'
}
L='listener="js",role="server"'

is "$(get /healthz) $(cat "$LAB/body")" "200 ok" "/healthz: 200 ok"
lab_poll_ready() { [ "$(get /readyz)" = 200 ]; }
ok "/readyz: 200 once the workers serve and DNS answers the probe" lab_poll 10 lab_poll_ready
like "$(cat "$LAB/body")" '^ready' "... saying ready"

# The exposition is well-formed: every sample belongs to a family announced
# with HELP and TYPE, values are numbers, histogram buckets are cumulative.
curl -s "http://127.0.0.1:$APORT/metrics" >"$LAB/m0.txt"
out=$("$LAB_PYTHON" - "$LAB/m0.txt" <<'PY'
import re, sys
helps, types, bad, fams = set(), {}, [], set()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN)$')
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        helps.add(line.split()[2]); continue
    if line.startswith("# TYPE "):
        types[line.split()[2]] = line.split()[3]; continue
    m = sample.match(line)
    if not m:
        bad.append(line); continue
    name = re.sub(r'_(bucket|sum|count)$', '', m.group(1)) if m.group(1) not in types else m.group(1)
    if name not in types or name not in helps:
        bad.append("no HELP/TYPE: " + line)
    fams.add(name)
print("families=%d bad=%d %s" % (len(fams), len(bad), bad[:3]))
PY
)
like "$out" 'families=[0-9]+ bad=0 ' "/metrics is valid Prometheus text ($out)"

# Traffic: 5 DANE-EE and 2 DANE-TA clients accepted; 3 rogue certificates,
# 2 names outside the allow list, 1 without dane_clientid refused.
sent=0
for i in 1 2 3 4 5; do
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid "$ID" --send "$REQ" --quiet --timeout-ms 8000)
  sent=$((sent + $(echo "$out" | sed -n 's/.*bytes_read=\([0-9]*\).*/\1/p')))
done
for i in 1 2; do
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/taclient.crt" --key "$C/taclient.key" \
        --chain "$C/clientca.crt" --clientid "$TA" --send "$REQ" --quiet --timeout-ms 8000)
  sent=$((sent + $(echo "$out" | sed -n 's/.*bytes_read=\([0-9]*\).*/\1/p')))
done
for i in 1 2 3; do
  dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/rogue.crt" --key "$C/rogue.key" \
    --clientid "$ID" --send "$REQ" --quiet --timeout-ms 8000 >/dev/null
done
for i in 1 2; do
  dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "stranger$i.dp.test" --send "$REQ" --quiet --timeout-ms 8000 >/dev/null
done
dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
  --no-clientid --send "$REQ" --quiet --timeout-ms 8000 >/dev/null
# The rogue refusals repeat within 10 s: a worker logs the first it sees
# and leaves the others out (daneproxy_log_suppressed_total).
logged_or_left_out() {
  echo $(( $(grep -c 'conn id=.*listener=js' "$LAB/a.log") + $(metric "daneproxy_log_suppressed_total{$L}") ))
}
conns_logged() { [ "$(logged_or_left_out)" -ge "$1" ]; }
lab_poll 10 conns_logged 13 || diag "not every connection was logged"
is "$(logged_or_left_out)" 13 "every connection logged, or left out as a repeated refusal and counted"

check_traffic() { # check_traffic WHEN
  is "$(metric "daneproxy_connections_total{$L,outcome=\"ok\"}")" 7 "$1: connections ok = 7"
  is "$(metric "daneproxy_connections_total{$L,outcome=\"refused\"}")" 6 "$1: connections refused = 6"
  is "$(metric "daneproxy_handshake_failures_total{$L,reason=\"mismatch\"}")" 3 "$1: handshake failures, mismatch = 3"
  is "$(metric "daneproxy_handshake_failures_total{$L,reason=\"not_allowed\"}")" 2 "$1: ... not_allowed = 2"
  is "$(metric "daneproxy_handshake_failures_total{$L,reason=\"no_clientid\"}")" 1 "$1: ... no_clientid = 1"
  is "$(metric "daneproxy_dane_verifications_total{$L,usage=\"dane-ee\",result=\"match\"}")" 5 "$1: DANE-EE matches = 5"
  is "$(metric "daneproxy_dane_verifications_total{$L,usage=\"dane-ta\",result=\"match\"}")" 2 "$1: DANE-TA matches = 2"
  is "$(metric "daneproxy_dane_verifications_total{$L,usage=\"dane-ee\",result=\"mismatch\"}")" 3 "$1: DANE-EE mismatches = 3"
  is "$(metric "daneproxy_received_bytes_total{$L}")" $((7 * REQ_LEN)) "$1: bytes received = 7 requests"
  is "$(metric "daneproxy_sent_bytes_total{$L}")" "$sent" "$1: bytes sent = what the clients read"
}
check_traffic "after the traffic"
is "$(metric "daneproxy_connections_open{$L}")" 0 "no connection open"
hits=$(metric daneproxy_tlsa_cache_hits_total); misses=$(metric daneproxy_tlsa_cache_misses_total)
merged=$(metric daneproxy_tlsa_cache_merged_total); lookups=$((misses - merged))
is "$((hits + misses))" 10 "TLSA cache: hits + misses = the 10 connections that needed records ($hits + $misses)"
ok "... at least one lookup per name" test "$lookups" -ge 2
is "$(metric daneproxy_tlsa_cache_busy_total)" 0 "TLSA cache: no lookup refused"
is "$(metric 'daneproxy_tlsa_lookups_total{result="secure"}')" "$lookups" "TLSA lookups, secure = the misses that started one"
is "$(metric daneproxy_tlsa_lookup_duration_seconds_count)" "$lookups" "lookup latency histogram: count = lookups"
is "$(metric 'daneproxy_tlsa_lookup_duration_seconds_bucket{le="+Inf"}')" "$lookups" "... +Inf bucket = count"
is "$(metric daneproxy_tlsa_lookups_in_flight)" 0 "no lookup in flight"
is "$(metric daneproxy_workers)" 2 "workers = 2"

# max_connections: one held, two refused and counted.
"$LAB_PYTHON" - "$TPORT" "$LAB/held" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").write("1")
s.recv(10)      # until the handshake timeout closes it
PY
holder=$!
lab_wait_file "$LAB/held" 5
open_is_1() { [ "$(metric 'daneproxy_connections_open{listener="tiny",role="server"}')" = 1 ]; }
ok "a held connection shows as open" lab_poll 5 open_is_1
for i in 1 2; do
  "$LAB_PYTHON" -c 'import socket,sys; s=socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.settimeout(3); s.recv(10)' "$TPORT" 2>/dev/null
done
is "$(metric 'daneproxy_connections_total{listener="tiny",role="server",outcome="limit"}')" 2 "max_connections = 1: two refusals counted as outcome=limit"
wait "$holder"

# A worker dies: it is replaced and no counter goes backwards.
victim=$(for p in /proc/[0-9]*; do [ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$(lab_pid a)" ] && echo "${p#/proc/}"; done | head -1)
kill -KILL "$victim"
lab_wait_log a 'serving again' 10 >/dev/null
is "$(metric daneproxy_worker_restarts_total)" 1 "a killed worker: worker_restarts_total = 1"
check_traffic "after a worker was killed"

# A reload (and a refused one): counted, and the counters carry over.
kill -HUP "$(lab_pid a)"
lab_wait_log a 'generation 1 finished draining' 20 >/dev/null
printf 'bogus\n' >>"$LAB/a.ini"
kill -HUP "$(lab_pid a)"
lab_wait_log a 'reload failed' 20 >/dev/null
is "$(metric 'daneproxy_reloads_total{result="ok"}') $(metric 'daneproxy_reloads_total{result="failed"}')" "1 1" "reloads: 1 ok, 1 failed"
is "$(metric daneproxy_config_generation)" 2 "configuration generation 2"
check_traffic "after a reload"

# A reload moving the admin endpoint: the new address serves (the same
# counters), the old one is closed; a reload to a taken address fails and
# the endpoint stays where it was.
sed -i '$d' "$LAB/a.ini"    # the bogus line
sed -i "s/^admin = 127.0.0.1:$APORT\$/admin = 127.0.0.1:0/" "$LAB/a.ini"
kill -HUP "$(lab_pid a)"
lab_wait_log a 'reload: generation 3 serving' 20 >/dev/null
APORT_NEW=$(dp_port a admin)
sed -i "s/^admin = 127.0.0.1:0\$/admin = 127.0.0.1:$APORT_NEW/" "$LAB/a.ini"
APORT_OLD=$APORT; APORT=$APORT_NEW
is "$(get /healthz)" 200 "admin moved by a reload: the new address answers"
is "$(metric "daneproxy_connections_total{$L,outcome=\"ok\"}")" 7 "... with the same counters"
is "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$APORT_OLD/healthz")" 000 "... and the old address is closed"
read -r taker APORT_TAKEN <<<"$(lab_hold_port)"
sed -i "s/^admin = 127.0.0.1:$APORT\$/admin = 127.0.0.1:$APORT_TAKEN/" "$LAB/a.ini"
kill -HUP "$(lab_pid a)"
lab_wait_log a "admin: cannot listen on 127.0.0.1:$APORT_TAKEN" 20 >/dev/null
like "$(grep 'reload failed' "$LAB/a.log" | tail -1)" 'generation 3 keeps serving' "admin moved to a taken address: the reload fails"
is "$(get /healthz)" 200 "... and the endpoint still answers where it was"
kill "$taker"; wait "$taker" 2>/dev/null
sed -i "s/^admin = 127.0.0.1:$APORT_TAKEN\$/admin = 127.0.0.1:$APORT/" "$LAB/a.ini"

# HTTP edges.
is "$(get /nope)" 404 "unknown path: 404"
is "$(get /metrics -X POST)" 405 "POST: 405"
like "$(curl -s -I "http://127.0.0.1:$APORT/metrics")" 'Content-Type: text/plain; version=0.0.4' "HEAD /metrics: the Prometheus content type"
is "$(get '/healthz?x=1')" 200 "a query string is ignored"

# /readyz says no when DNS does not answer.
{ printf '[global]\nadmin = 127.0.0.1:0\n'
  dp_dns_section dead-resolver-ad
  printf 'probe_name = dp.test\n'
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\nallow = *\n' \
    "$C/server-chain.crt" "$C/server.key" "$UPSTREAM_PORT"; } >"$LAB/b.ini"
dp_start b "$LAB/b.ini" PORT2=js APORT2=admin || bail "no daneproxy"
dns_down() { [ "$(curl -s -o "$LAB/body2" -w '%{http_code}' "http://127.0.0.1:$APORT2/readyz")" = 503 ] &&
  grep -q 'timeout' "$LAB/body2"; }
ok "DNS down: /readyz is 503 once the probe times out" lab_poll 10 dns_down
like "$(cat "$LAB/body2")" '^not ready: DNS: TLSA dp.test: timeout' "... saying why"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT2/healthz")" 200 "... while /healthz stays 200"

# The admin process (a child of the master that holds no listener of the
# proxy) is replaced when it dies; the endpoint's socket stays the master's.
admin_pid=""
for p in /proc/[0-9]*; do
  [ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$(lab_pid b)" ] || continue
  ss -ltnpH "( sport = :$PORT2 )" | grep -q "pid=${p#/proc/}," || admin_pid=${p#/proc/}
done
ok "the admin process is a child of the master without the proxy's listeners" test -n "$admin_pid"
kill -KILL "$admin_pid"
lab_wait_log b 'admin process killed by signal 9' 5 >/dev/null
ok "... killed, it is logged" grep -q 'admin process killed by signal 9 (Killed); restarting it' "$LAB/b.log"
healthz2() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT2/healthz")" = 200 ]; }
ok "... and replaced: /healthz answers again" lab_poll 10 healthz2

dp_stop_all_checked
done_testing
