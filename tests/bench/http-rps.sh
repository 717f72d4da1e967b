#!/usr/bin/env bash
# HTTP/1.1 keep-alive throughput (wrk -t1 -c8, small GET answered by nginx):
# nginx direct, then through daneproxy's client role → server role
# (forward = http: every request parsed, rewritten with the identity header)
# → nginx, and for comparison the same path with the server role relaying
# bytes (forward = none). Prints requests/s for each and the CPU the two
# daneproxy processes used. Not part of the test suite.
# Usage: bash tests/bench/http-rps.sh [SECONDS=5] [CONNS=8]
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"
SECS=${1:-5}
CONNS=${2:-8}
command -v wrk >/dev/null || bail "wrk missing (packaging/install-deps.sh)"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
lab_nginx_start ng || bail "no nginx"
# wrk's requests would fill the access log: keep it, it costs nginx the same
# in every run.

hz=$(getconf CLK_TCK)

# rps URL: wrk's Requests/sec (and a check that no request failed).
rps() {
  local out
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$1" 2>&1)
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
    echo "  (wrk reported errors:)" >&2
    grep 'Non-2xx\|Socket errors' <<<"$out" | sed 's/^/    /' >&2
  fi
  awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

direct=$(rps "http://127.0.0.1:$NGINX_PORT/bench")
echo "nginx direct:                                 $direct requests/s"

for fwd in http none; do
  {
    dp_dns_section resolver-ad
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
      "$C/server-chain.crt" "$C/server.key" "$NGINX_PORT"
    printf 'forward = %s\nallow = _lorawan-ns.ns1.dp.test\n' "$fwd"
  } >"$LAB/server-$fwd.ini"
  dp_start "dp-$fwd" "$LAB/server-$fwd.ini" SP=js || bail "no daneproxy server role"
  {
    printf '[client js]\nlisten = 127.0.0.1:0\nconnect = 127.0.0.1:%s\nserver_name = js.dp.test\n' "$SP"
    printf 'cert = %s\nkey = %s\nclient_name = _lorawan-ns.ns1.dp.test\nca_file = %s\nverify_server = pkix\n' \
      "$C/client.crt" "$C/client.key" "$C/ca.crt"
  } >"$LAB/client-$fwd.ini"
  dp_start "cr-$fwd" "$LAB/client-$fwd.ini" CP=js || bail "no daneproxy client role"
  # One request first, so the TLSA answer is cached before measuring.
  curl -sS -o /dev/null --max-time 5 "http://127.0.0.1:$CP/warm" || bail "no answer through both roles"
  s0=$(dp_cpu_ticks "$(lab_pid "dp-$fwd")"); c0=$(dp_cpu_ticks "$(lab_pid "cr-$fwd")")
  r=$(rps "http://127.0.0.1:$CP/bench")
  s1=$(dp_cpu_ticks "$(lab_pid "dp-$fwd")"); c1=$(dp_cpu_ticks "$(lab_pid "cr-$fwd")")
  printf 'client role -> server role (forward = %-4s) -> nginx: %s requests/s  (CPU: server role %s s, client role %s s)\n' \
    "$fwd" "$r" "$(calc "($s1 - $s0) / $hz" 2)" "$(calc "($c1 - $c0) / $hz" 2)"
  if [[ $fwd == http ]]; then
    n=$(grep -c '"uri":"/bench"' "$LAB/ng.access.jsonl")
    id=$(grep '"uri":"/bench"' "$LAB/ng.access.jsonl" | tail -n 1 | sed -n 's/.*"identity":"\([^"]*\)".*/\1/p')
    echo "  (nginx logged $n /bench requests so far; the last carried identity '$id')"
  fi
done
echo "($SECS s each, wrk -t1 -c$CONNS, $(nproc) cores shared by wrk, daneproxy x2 and nginx)"
dp_stop_all_checked >/dev/null
done_testing >/dev/null
