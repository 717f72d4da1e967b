#!/usr/bin/env bash
# What the dane_clientid extension costs against the SAN fallback, under
# load (issue 12: within 5%). One daneproxy (one worker, warm TLSA cache)
# with identity = extension-or-san and san_tlsa_prefix = _lorawan-ns serves
# both: the same client certificate (SAN ns1.dp.test) either names itself
# _lorawan-ns.ns1.dp.test in the extension, or sends no extension and gets
# the same name from its SAN; both look up the same TLSA record. Each run is
# dp-testclient --load N for S seconds, a full handshake and one request per
# connection; the two paths alternate in interleaved rounds (ext, san; san,
# ext; ...) so a drift of the machine hits both alike. Reported per path:
# the rate the client saw, the medians over rounds of its p50/p99 latencies,
# and daneproxy's CPU per connection (utime + stime of the master and its
# children from /proc/PID/stat), then the ratios extension/SAN.
# Not part of the test suite.
# Usage: bash tests/bench/clientid-load.sh [N=16] [SECONDS=5] [ROUNDS=6]
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/benchpair.sh"
N=${1:-16}
SECS=${2:-5}
ROUNDS=${3:-6}

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'
NAME=_lorawan-ns.ns1.dp.test

lab_upstream_start up --proxy v2 || bail "no upstream"
{ printf '[global]\nworkers = 1\n'
  dp_dns_section validate
  printf '[server js]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n' "$C/server-chain.crt" "$C/server.key"
  printf 'upstream = 127.0.0.1:%s\nforward = proxy-v2\nallow = %s\n' "$UPSTREAM_PORT" "$NAME"
  printf 'identity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\n'
} >"$LAB/js.ini"
dp_start dp "$LAB/js.ini" PORT=js || bail "no daneproxy"
pid=$(lab_pid dp)
hz=$(getconf CLK_TCK)

# path_args PATH: how the client names itself on PATH (ext | san).
path_args() {
  case $1 in
    ext) echo --clientid "$NAME" ;;
    san) echo --no-clientid ;;
  esac
}

# Warm the cache (both paths query the same owner) and check that each path
# authenticates as the name the benchmark means.
for p in ext san; do
  # shellcheck disable=SC2046
  out=$(dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
        $(path_args $p) --send "$REQ" --quiet --timeout-ms 10000)
  [[ $out == result=ok* ]] || bail "$p: not accepted: $out"
done
lab_poll 10 grep -q "client_name=$NAME .*outcome=ok" "$LAB/dp.log" || bail "no accepted connection logged"
[ "$(grep -c "client_name=$NAME .*outcome=ok" "$LAB/dp.log")" = 2 ] || bail "both paths must authenticate as $NAME"

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version)"
echo "client: $(openssl x509 -in "$C/client.crt" -noout -text | sed -n 's/^ *Public Key Algorithm: //p' | head -1)," \
     "SAN $(openssl x509 -in "$C/client.crt" -noout -ext subjectAltName | sed -n 's/^ *//p' | tail -1);" \
     "$N connections in flight, ${SECS} s per run, $ROUNDS rounds"

# bench_args PATH: ARGS for a connection on PATH (benchpair.sh).
bench_args() {
  # shellcheck disable=SC2046  # path_args' words
  ARGS=(--connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key"
    --send "$REQ" $(path_args "$1"))
}

: >"$LAB/runs"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then
    bench_pair_run ext "$r"; bench_pair_run san "$r"
  else
    bench_pair_run san "$r"; bench_pair_run ext "$r"
  fi
done
bench_pair_summary ext san extension SAN "issue 12, within 5%" 1.05
_tap_done=1
