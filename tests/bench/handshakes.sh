#!/usr/bin/env bash
# Measures full DANE-EE handshakes (each carrying one request and its answer)
# against one daneproxy process: the rate seen by the clients, and the
# proxy's own CPU per handshake (handshakes per proxy-core-second), with a
# warm TLSA cache; then the time a cold TLSA lookup adds, in both DNS modes.
# Not part of the test suite. Usage: bash tests/bench/handshakes.sh [CONNS]
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
CONNS=${1:-2000}
PAR=2

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'


for mode in validate resolver-ad; do
  lab_upstream_start "up-$mode" --proxy v2
  { dp_dns_section "$mode"
    printf '[global]\nlog_level = info\n[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n' "$C/server-chain.crt" "$C/server.key"
    printf 'upstream = 127.0.0.1:%s\nforward = proxy-v2\nallow = *._device.dp.test, _lorawan-ns.ns1.dp.test\n' "$UPSTREAM_PORT"
  } >"$LAB/$mode.ini"
  dp_start "dp-$mode" "$LAB/$mode.ini" PORT=js || bail "no daneproxy"
  pid=$(lab_pid "dp-$mode")

  # Cold: each name is new to daneproxy's cache (and to libunbound's), the
  # resolvers are warm. Compare with the same handshake once cached.
  cold=0; warm=0
  for i in 1 2 3 4 5; do
    name=cold$i-$mode._device.dp.test
    c=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid "$name" --send "$REQ" --quiet | sed -n 's/.*handshake_ms=\([0-9.]*\).*/\1/p' | head -1)
    w=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid "$name" --send "$REQ" --quiet | sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p' | head -1)
    cold=$(calc "$cold + $c"); warm=$(calc "$warm + $w")
  done
  # handshake_ms ends at the client's Finished, before the server's verdict;
  # total_ms covers the verdict and the answer, so compare total times.
  coldt=0; warmt=0
  for i in 1 2 3 4 5; do
    name=cold2-$i-$mode._device.dp.test
    c=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid "$name" --send "$REQ" --quiet | sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p' | head -1)
    w=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid "$name" --send "$REQ" --quiet | sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p' | head -1)
    coldt=$(calc "$coldt + $c"); warmt=$(calc "$warmt + $w")
  done
  echo "$mode: connection with request, cold TLSA lookup: $(calc "$coldt / 5" 2) ms; warm: $(calc "$warmt / 5" 2) ms (mean of 5)"

  # Warm-cache full handshakes.
  t0=$(dp_cpu_ticks "$pid")
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --quiet \
        --parallel $PAR --repeat $((CONNS / PAR)) --timeout-ms 10000 | grep '^summary')
  t1=$(dp_cpu_ticks "$pid")
  hz=$(getconf CLK_TCK)
  ms=$(calc "($t1 - $t0) * 1000 / $hz" 3)
  echo "$mode: $out"
  echo "$mode: proxy CPU ${ms} ms for $CONNS handshakes = $(calc "$ms / $CONNS" 3) ms each, $(calc "$CONNS * 1000 / $ms" 0) handshakes per proxy-core-second"
done
_tap_done=1
