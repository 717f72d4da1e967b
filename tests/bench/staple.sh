#!/usr/bin/env bash
# What a stapled DNSSEC chain costs and saves (issue 16), on the lab:
#  1. the chains of the lab names, built by the client role's builder
#     (dp-staple, validate mode): bytes, RRs, RRSIGs;
#  2. the server's CPU per chain (dp-chainbench): cold (parsed and validated
#     by getdns) and cached (found by its SHA-256);
#  3. handshakes under load, side by side on one daneproxy (one worker):
#     listener "lookup" (stapled_chain off: the TLSA answer from a warm
#     cache) against listener "staple" (stapled_chain = require: the same
#     client staples the chain, judged from the digest table after the
#     first); interleaved rounds of dp-testclient --load, a full handshake
#     and one request per connection (benchpair.sh).
# Not part of the test suite.
# Usage: bash tests/bench/staple.sh [N=16] [SECONDS=5] [ROUNDS=6]
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
NAME=_lorawan-ns.ns1.dp.test
REQ='GET / HTTP/1.1\r\nHost: js\r\nConnection: close\r\n\r\n'

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $(openssl version)"

# 1 and 2: each lab name's chain, and what it costs to judge.
for n in "$NAME" client.child.dp.test x._device.dp.test client.nsec3.dp.test; do
  out=$("$DP_BUILD/dp-staple" --mode validate --resolver "$LAB_FWD_RESOLVER" \
    --trust-anchor "$LAB_TRUST_ANCHOR" --name "$n" --out "$LAB/$n.chain") ||
    bail "$n: no chain: $out"
  cost=$("$DP_BUILD/dp-chainbench" --anchor "$LAB_TRUST_ANCHOR" --name "$n" \
    --chain "$LAB/$n.chain" --n 300) || bail "$n: dp-chainbench failed"
  printf 'chain %-26s %s\n' "$n" "$cost"
done

lab_upstream_start up --proxy v2 || bail "no upstream"
{ printf '[global]\nworkers = 1\n'
  dp_dns_section resolver-ad
  printf 'trust_anchor_file = %s\n' "$LAB_TRUST_ANCHOR"
  for l in lookup staple; do
    printf '[server %s]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n' "$l" "$C/js.crt" "$C/js.key"
    printf 'upstream = 127.0.0.1:%s\nallow = %s\n' "$UPSTREAM_PORT" "$NAME"
    [[ $l == staple ]] && printf 'stapled_chain = require\n'
  done
} >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" PORT_LOOKUP=lookup PORT_STAPLE=staple || bail "no daneproxy"
# shellcheck disable=SC2034  # read by benchpair.sh
pid=$(lab_pid dp) hz=$(getconf CLK_TCK)

# bench_args PATH: ARGS for a connection on PATH (benchpair.sh).
bench_args() {
  ARGS=(--cert "$C/client.crt" --key "$C/client.key" --clientid "$NAME" --send "$REQ")
  case $1 in
    lookup) ARGS+=(--connect "127.0.0.1:$PORT_LOOKUP") ;;
    staple) ARGS+=(--connect "127.0.0.1:$PORT_STAPLE" --dnssec-chain "$LAB/$NAME.chain") ;;
  esac
}

# Warm the lookup cache (and the digest table), and check both paths.
for p in lookup staple; do
  bench_args "$p"
  out=$(dp_testclient "${ARGS[@]}" --quiet --timeout-ms 10000)
  [[ $out == result=ok* ]] || bail "$p: not accepted: $out"
done
q0=$(lab_dns_query_count "$NAME" TLSA ad)
echo "client: $N connections in flight, ${SECS} s per run, $ROUNDS rounds; $(stat -c %s "$LAB/$NAME.chain")-byte chain"

: >"$LAB/runs"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then
    bench_pair_run staple "$r"; bench_pair_run lookup "$r"
  else
    bench_pair_run lookup "$r"; bench_pair_run staple "$r"
  fi
done
bench_pair_summary staple lookup stapled "warm lookup"
echo "TLSA queries for $NAME at the server's resolver during the runs: $(( $(lab_dns_query_count "$NAME" TLSA ad) - q0 )) (the lookup path's cache refreshes; cache_max_ttl 300)"
_tap_done=1
