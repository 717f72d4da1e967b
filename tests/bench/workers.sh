#!/usr/bin/env bash
# Handshake rate of one worker against workers = auto: full DANE-EE
# handshakes (each carrying one request and its answer, warm TLSA cache)
# from PAR client processes, for 1 worker and for auto; prints the rate the
# clients saw and the proxy's CPU per handshake (all its processes).
# Not part of the test suite. Usage: bash tests/bench/workers.sh [CONNS] [PAR]
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
CONNS=${1:-4000}
PAR=${2:-4}

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
lab_upstream_start up --proxy v2

echo "machine: $(nproc) CPUs, $(openssl version)"
for workers in 1 auto; do
  { printf '[global]\nworkers = %s\nlog_level = warn\n' "$workers"
    dp_dns_section resolver-ad
    printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n' "$C/server-chain.crt" "$C/server.key"
    printf 'upstream = 127.0.0.1:%s\nallow = _lorawan-ns.ns1.dp.test\n' "$UPSTREAM_PORT"
  } >"$LAB/w-$workers.ini"
  # log_level = warn hides the ready and listening lines dp_start waits for:
  # start at info.
  sed 's/log_level = warn/log_level = info/' "$LAB/w-$workers.ini" >"$LAB/w-$workers.start.ini"
  dp_start "dp-$workers" "$LAB/w-$workers.start.ini" PORT=js || bail "no daneproxy"
  pid=$(lab_pid "dp-$workers")
  # warm the TLSA cache of every worker
  dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --quiet --parallel 4 --repeat 10 >/dev/null
  t0=$(dp_cpu_ticks "$pid")
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --quiet \
        --parallel "$PAR" --repeat $((CONNS / PAR)) --timeout-ms 10000 | grep '^summary')
  t1=$(dp_cpu_ticks "$pid")
  hz=$(getconf CLK_TCK)
  ms=$(calc "($t1 - $t0) * 1000 / $hz" 3)
  elapsed=$(echo "$out" | sed -n 's/.*elapsed_ms=\([0-9.]*\).*/\1/p')
  echo "workers=$workers: $out"
  echo "workers=$workers: $(calc "$CONNS * 1000 / $elapsed" 0) handshakes/s seen by $PAR client processes;" \
       "proxy CPU $(calc "$ms / $CONNS" 3) ms per handshake"
  lab_stop "dp-$workers"
done
_tap_done=1
