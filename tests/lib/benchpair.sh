# shellcheck shell=bash disable=SC2154  # N, SECS, pid, hz, LAB: the caller's
# benchpair.sh — two paths through daneproxy under the same load, side by
# side (tests/bench): interleaved rounds of dp-testclient --load, one per
# path, and their summary with the ratios A/B. Sourced after proxy.sh.
#
# The caller defines bench_args PATH, which sets the array ARGS to the
# dp-testclient arguments that make a connection take PATH (--connect, the
# certificate, the extensions, --send), and sets N,
# SECS, pid (daneproxy's master) and hz (CLK_TCK); then calls
#   bench_pair_run PATH ROUND    one run, its line printed, a row kept
#   bench_pair_summary A B NAME_A NAME_B [GOAL MAX]
# which prints per path the rate, the medians over rounds of the p50/p99
# latencies, daneproxy's and the client's CPU per connection, then the
# ratios A/B (pooled, and the median of the rounds' ratios); with GOAL, a
# line saying whether the median CPU ratio is at most MAX.

# bench_pair_run PATH ROUND: appends "ROUND PATH done failed secs ticks
# client_cpu_s hs50 hs99 total50 total99 req50 req99" to $LAB/runs.
TIMEFORMAT='%3U %3S'
bench_pair_run() {
  local p=$1 t0 t1 line cpu f v row
  bench_args "$p"
  t0=$(dp_cpu_ticks "$pid")
  { time dp_testclient "${ARGS[@]}" --load "$N" --duration "$SECS" \
      --timeout-ms 10000 >"$LAB/run.out" 2>&1; } 2>"$LAB/run.time"
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
  printf 'round %s %-6s %s proxy_ms_per_conn=%s\n' "$2" "$p" "${line#load }" \
    "$(calc "($t1 - $t0) * 1000 / $hz / ($v > 0 ? $v : 1)")"
  grep '^failure ' "$LAB/run.out" | sed 's/^/          /'
}

bench_pair_summary() {
  awk -v hz="$hz" -v A="$1" -v B="$2" -v NA="$3" -v NB="$4" -v goal="${5:-}" -v max="${6:-0}" '
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
  printf "\n%-12s %7s %6s %8s", "path", "done", "failed", "rate/s"
  for (k = 8; k <= 13; k++) printf " %9s", name[k - 7]
  printf " %13s %14s\n", "proxy_ms/conn", "client_ms/conn"
  for (pi = 1; pi <= 2; pi++) {
    p = pi == 1 ? A : B
    rate[p] = secs[p] > 0 ? done[p] / secs[p] : 0
    pcpu[p] = done[p] > 0 ? ticks[p] * 1000 / hz / done[p] : 0
    printf "%-12s %7d %6d %8.1f", pi == 1 ? NA : NB, done[p], failed[p], rate[p]
    for (k = 8; k <= 13; k++) {
      for (i = 1; i <= n[p]; i++) a[i] = col[p, k, i]
      med[p, k] = median(a, n[p])
      printf " %9.3f", med[p, k]
    }
    printf " %13.3f %14.3f\n", pcpu[p], (done[p] > 0 ? ccpu[p] * 1000 / done[p] : 0)
  }
  printf "%-12s %7s %6s %8.3f", A "/" B, "", "", (rate[B] > 0 ? rate[A] / rate[B] : 0)
  for (k = 8; k <= 13; k++) printf " %9.3f", (med[B, k] > 0 ? med[A, k] / med[B, k] : 0)
  cr = pcpu[B] > 0 ? pcpu[A] / pcpu[B] : 0
  printf " %13.3f %14.3f\n", cr, (ccpu[B] > 0 && done[A] > 0 ? (ccpu[A] / done[A]) / (ccpu[B] / done[B]) : 0)
  # Each round ran both paths back to back: their ratio cancels a slow
  # drift of the machine, the median of the rounds a burst.
  nr = 0
  for (r = 1; r <= rounds; r++) {
    if (rrate[r, B] <= 0 || rcpu[r, B] <= 0) continue
    nr++
    qr[nr] = rrate[r, A] / rrate[r, B]
    qc[nr] = rcpu[r, A] / rcpu[r, B]
    line = line sprintf(" %.3f/%.3f", qr[nr], qc[nr])
  }
  mqr = nr ? median(qr, nr) : 0
  mqc = nr ? median(qc, nr) : 0
  printf "\nper round, %s/%s rate/proxy CPU per conn:%s\n", A, B, line
  printf "median over rounds: rate %.3f, proxy CPU per conn %.3f\n", mqr, mqc
  printf "latencies: medians over %d rounds of each run'"'"'s p50/p99 (ms); proxy CPU: %d ticks of 1/%d s over the %s runs, %d over the %s runs\n", n[A], ticks[A], hz, NA, ticks[B], NB
  if (goal != "")
    printf "goal (%s): proxy CPU per conn %s/%s at most %s: %.3f pooled, %.3f median of rounds: %s\n", goal, A, B, max, cr, mqc, (mqc <= max + 0 ? "met" : "NOT met")
}' "$LAB/runs"
}
