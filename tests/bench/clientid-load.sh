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

# run PATH ROUND: one load run; prints its load line and appends "ROUND PATH
# done failed secs ticks client_cpu_s hs50 hs99 total50 total99 req50 req99"
# to $LAB/runs.
TIMEFORMAT='%3U %3S'
run() {
  local p=$1 t0 t1 line cpu f v row
  t0=$(dp_cpu_ticks "$pid")
  # shellcheck disable=SC2046
  { time dp_testclient --connect "127.0.0.1:$PORT" --cert "$C/client.crt" --key "$C/client.key" \
      $(path_args "$p") --send "$REQ" --load "$N" --duration "$SECS" --timeout-ms 10000 \
      >"$LAB/run.out" 2>&1; } 2>"$LAB/run.time"
  t1=$(dp_cpu_ticks "$pid")
  line=$(grep '^load ' "$LAB/run.out") || bail "$p: no load line: $(cat "$LAB/run.out")"
  cpu=$(awk '{ print $1 + $2 }' "$LAB/run.time")
  row="$2 $p"
  # A field missing from the line reads NA, not the previous field's value.
  for f in "done" failed secs; do
    v=NA
    [[ " $line " =~ \ $f=([^ ]*)\  ]] && v=${BASH_REMATCH[1]}
    row+=" $v"
  done
  row+=" $((t1 - t0)) $cpu"
  for f in hs_p50_ms hs_p99_ms total_p50_ms total_p99_ms req_p50_ms req_p99_ms; do
    v=NA
    [[ " $line " =~ \ $f=([^ ]*)\  ]] && v=${BASH_REMATCH[1]}
    row+=" $v"
  done
  echo "$row" >>"$LAB/runs"
  v=0
  [[ $line =~ \ done=([0-9]+) ]] && v=${BASH_REMATCH[1]}
  printf 'round %s %-3s %s proxy_ms_per_conn=%s\n' "$2" "$p" "${line#load }" \
    "$(calc "($t1 - $t0) * 1000 / $hz / ($v > 0 ? $v : 1)")"
  grep '^failure ' "$LAB/run.out" | sed 's/^/          /'
}

: >"$LAB/runs"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then run ext "$r"; run san "$r"; else run san "$r"; run ext "$r"; fi
done

awk -v hz="$hz" '
function median(a, n,   i, j, t) {
  for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
  r = $1; p = $2; n[p]++; done[p] += $3; failed[p] += $4; secs[p] += $5; ticks[p] += $6; ccpu[p] += $7
  for (k = 8; k <= 13; k++) col[p, k, n[p]] = $k
  rrate[r, p] = $5 > 0 ? $3 / $5 : 0
  rcpu[r, p] = $3 > 0 ? $6 / $3 : 0
  if (r > rounds) rounds = r
}
END {
  split("hs_p50 hs_p99 total_p50 total_p99 req_p50 req_p99", name, " ")
  printf "\n%-9s %7s %6s %8s", "path", "done", "failed", "rate/s"
  for (k = 8; k <= 13; k++) printf " %9s", name[k - 7]
  printf " %13s %14s\n", "proxy_ms/conn", "client_ms/conn"
  for (pi = 1; pi <= 2; pi++) {
    p = pi == 1 ? "ext" : "san"
    rate[p] = secs[p] > 0 ? done[p] / secs[p] : 0
    pcpu[p] = done[p] > 0 ? ticks[p] * 1000 / hz / done[p] : 0
    printf "%-9s %7d %6d %8.1f", p == "ext" ? "extension" : "SAN", done[p], failed[p], rate[p]
    for (k = 8; k <= 13; k++) {
      for (i = 1; i <= n[p]; i++) a[i] = col[p, k, i]
      med[p, k] = median(a, n[p])
      printf " %9.3f", med[p, k]
    }
    printf " %13.3f %14.3f\n", pcpu[p], (done[p] > 0 ? ccpu[p] * 1000 / done[p] : 0)
  }
  printf "%-9s %7s %6s %8.3f", "ext/SAN", "", "", (rate["san"] > 0 ? rate["ext"] / rate["san"] : 0)
  for (k = 8; k <= 13; k++) printf " %9.3f", (med["san", k] > 0 ? med["ext", k] / med["san", k] : 0)
  cr = pcpu["san"] > 0 ? pcpu["ext"] / pcpu["san"] : 0
  printf " %13.3f %14.3f\n", cr, (ccpu["san"] > 0 && done["ext"] > 0 ? (ccpu["ext"] / done["ext"]) / (ccpu["san"] / done["san"]) : 0)
  # Each round ran both paths back to back: their ratio cancels a slow
  # drift of the machine, the median of the rounds a burst.
  nr = 0
  for (r = 1; r <= rounds; r++) {
    if (rrate[r, "san"] <= 0 || rcpu[r, "san"] <= 0) continue
    nr++
    qr[nr] = rrate[r, "ext"] / rrate[r, "san"]
    qc[nr] = rcpu[r, "ext"] / rcpu[r, "san"]
    line = line sprintf(" %.3f/%.3f", qr[nr], qc[nr])
  }
  mqr = nr ? median(qr, nr) : 0
  mqc = nr ? median(qc, nr) : 0
  printf "\nper round, ext/SAN rate/proxy CPU per conn:%s\n", line
  printf "median over rounds: rate %.3f, proxy CPU per conn %.3f\n", mqr, mqc
  printf "latencies: medians over %d rounds of each run'"'"'s p50/p99 (ms); proxy CPU: %d ticks of 1/%d s over the extension runs, %d over the SAN runs\n", n["ext"], ticks["ext"], hz, ticks["san"]
  printf "goal (issue 12): the extension path costs within 5%% of the SAN path; proxy CPU per conn ext/SAN: %.3f pooled, %.3f median of rounds: %s\n", cr, mqc, (mqc <= 1.05 ? "met" : "NOT met")
}' "$LAB/runs"
_tap_done=1
