# proxy.sh — starting daneproxy inside the lab (sourced after lab.sh).
#
#   dp_start NAME CONF [VAR=LISTENER...]  start daneproxy, wait until ready,
#                             export the port each LISTENER was bound to
#   dp_port NAME LISTENER [S] wait until LISTENER is listening, print its port
#   dp_dns_section MODE       the [dns] section for the lab
#   dp_upstream_conns NAME, dp_upstream_last NAME EXPR  upstream records
#   dp_testclient ARGS...     the TLS test client
#   dp_stop_all_checked       stop every daneproxy, one test point
#   dp_metric PORT SERIES     one series' value from the admin endpoint
#   load_field TEXT KEY       KEY=value from dp-testclient --load's summary
#   dp_children PID, dp_workers NAME, dp_admin_pid NAME  daneproxy's processes
#   dp_pss_kb PID             memory of a process and its children
#   dp_cpu_ticks PID, calc EXPR  for benchmarks
#
# Listeners bind port 0: a test writes "listen = 127.0.0.1:0" (and "admin =
# 127.0.0.1:0"), the kernel picks a free port at bind time and daneproxy logs
# it ("listening role=server listener=js addr=127.0.0.1:41234"), which
# dp_start and dp_port read. Nothing can take the port between choosing and
# binding it, as it could with a port picked by lab_port beforehand. A
# reload binds port 0 anew, so a test that reloads first writes the port it
# got into the file it reloads (the socket is then kept).

# dp_start NAME CONF [VAR=LISTENER...]: runs daneproxy -c CONF as lab process
# NAME and waits for its "ready" line; then, for each VAR=LISTENER, sets and
# exports VAR to the port LISTENER was bound to (see dp_port), e.g.
#   dp_start dp "$LAB/dp.ini" PORT=js APORT=admin
dp_start() {
  local name=$1 conf=$2 spec port
  shift 2
  "$DP_BUILD/daneproxy" -t -c "$conf" >"$LAB/$name.check" 2>&1 || {
    diag "config check failed:"; sed 's/^/#   /' "$LAB/$name.check"; return 1; }
  lab_spawn "$name" "$DP_BUILD/daneproxy" -c "$conf"
  lab_wait_log "$name" 'ready \(pid' 10 || return 1
  for spec in "$@"; do
    port=$(dp_port "$name" "${spec#*=}") || return 1
    printf -v "${spec%%=*}" '%s' "$port"
    export "${spec%%=*}"
  done
}

# dp_port NAME LISTENER [SECONDS=10]: waits until daneproxy NAME has logged
# the socket of LISTENER (a [server] or [client] section name, or admin for
# the admin endpoint) as listening, and prints its port, from the last such
# line (a reload that binds it anew logs it again). Text or JSON logs. Fails
# at once if NAME exits first.
dp_port() {
  lab_poll "${3:-10}" _dp_port_logged "$1" "$2" || {
    diag "dp_port: no listening line for $2 in $1.log after ${3:-10}s"
    return 1
  }
  _dp_listen_port "$1" "$2" || {
    diag "dp_port: $1 exited before logging $2 as listening"
    return 1
  }
}

_dp_port_logged() { # NAME LISTENER: logged, or NAME died
  _dp_listen_port "$1" "$2" >/dev/null && return 0
  _lab_alive "$1" || return 0
  return 1
}

_dp_listen_port() { # NAME LISTENER: the port of its last "listening" line
  local line key=listener port="" name_re addr_re
  [ "$2" = admin ] && key=role
  # text: ... info: listening role=server listener=js addr=127.0.0.1:41234
  # JSON: {...,"event":"listening","role":"server","listener":"js","addr":...}
  # (without its quotes, JSON reads key:value)
  name_re="(^|[ ,{])$key[=:]([^ ,}]*)"
  addr_re='(^|[ ,{])addr[=:][^ ,}]*:([0-9]+)([ ,}]|$)'
  while IFS= read -r line; do
    line=${line//\"/}
    [[ $line =~ $name_re && ${BASH_REMATCH[2]} == "$2" ]] || continue
    [[ $line =~ $addr_re ]] && port=${BASH_REMATCH[2]}
  done < <(grep -E '(: listening |"event":"listening")' "$LAB/$1.log" 2>/dev/null)
  [ -n "$port" ] && echo "$port"
}

# dp_dns_section MODE: the [dns] section for the lab in MODE
# (validate | resolver-ad | dead).
dp_dns_section() {
  case $1 in
    validate) printf '[dns]\nmode = validate\nresolvers = %s\ntrust_anchor_file = %s\ntimeout_ms = 2000\n' \
                "$LAB_FWD_RESOLVER" "$LAB_TRUST_ANCHOR" ;;
    resolver-ad) printf '[dns]\nmode = resolver-ad\nresolvers = %s\ntimeout_ms = 2000\n' \
                "$LAB_AD_RESOLVER" ;;
    dead-validate) printf '[dns]\nmode = validate\nresolvers = %s\ntrust_anchor_file = %s\ntimeout_ms = 1000\n' \
                "$LAB_DEAD_RESOLVER" "$LAB_TRUST_ANCHOR" ;;
    dead-resolver-ad) printf '[dns]\nmode = resolver-ad\nresolvers = %s\ntimeout_ms = 1000\n' \
                "$LAB_DEAD_RESOLVER" ;;
  esac
}

# dp_upstream_conns NAME: number of connections the stand-in upstream NAME
# has recorded so far.
dp_upstream_conns() {
  if [ -f "$LAB/$1.jsonl" ]; then wc -l <"$LAB/$1.jsonl" | tr -d ' '; else echo 0; fi
}

# dp_upstream_last NAME EXPR: evaluates a python expression on the last
# record ("r") of upstream NAME.
dp_upstream_last() {
  python3 - "$LAB/$1.jsonl" "$2" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
r = json.loads(lines[-1])
v = eval(sys.argv[2], {"r": r})
print("" if v is None else v)
PY
}

# dp_testclient ARGS...: the TLS test client.
dp_testclient() {
  "$DP_BUILD/dp-testclient" "$@"
}

# dp_stop_all_checked: stops every daneproxy started with dp_start (SIGTERM,
# so a sanitizer build prints its leak report) and records one test point:
# each exited 0 and no log holds a sanitizer report.
dp_stop_all_checked() {
  local f name bad=""
  for f in "$LAB"/*.pid; do
    name=$(basename "$f" .pid)
    [ -f "$LAB/$name.check" ] || continue   # not a daneproxy
    lab_stop "$name"
  done
  for f in "$LAB"/*.check; do
    name=$(basename "$f" .check)
    if grep -qE 'Sanitizer|runtime error:|daneproxy stopped' "$LAB/$name.log" &&
       ! grep -qE 'Sanitizer|runtime error:' "$LAB/$name.log"; then
      continue
    fi
    bad="$bad $name"
  done
  is "$bad" "" "every daneproxy stopped cleanly, no sanitizer report"
}

# dp_metric PORT 'NAME{LABELS}': the value of that exact series (as the
# exposition spells it) in a fresh scrape of the admin endpoint on
# 127.0.0.1:PORT. A series that is not there prints nothing, says so on
# stderr and fails: a renamed metric must not read as 0.
dp_metric() {
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
    awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) { print "dp_metric: no series " s " on port '"$1"'" >"/dev/stderr"; exit 1 } }'
}

# dp_metric_sum PORT NAME: the sum of every series of metric NAME (any
# labels); fails like dp_metric when there is none.
dp_metric_sum() {
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
    awk -v k="$2" 'index($1, k) == 1 && (length($1) == length(k) || substr($1, length(k) + 1, 1) == "{") { s += $2; f = 1 }
      END { if (!f) { print "dp_metric_sum: no series of " k " on port '"$1"'" >"/dev/stderr"; exit 1 } print s + 0 }'
}

# load_field TEXT KEY: KEY's value (digits and a decimal point) on the
# "load ..." summary line dp-testclient --load prints, found in TEXT;
# nothing when there is no such field.
load_field() { sed -n "s/^load .*[ ]$2=\([0-9.]*\).*/\1/p" <<<"$1" | head -n 1; }

# dp_children PID: the pids of PID's children, sorted (for daneproxy's
# master: its workers and its admin process).
dp_children() {
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk -v p="$1" '{ pid = $1; sub(/^.*\) /, ""); if ($2 == p) print pid }' | sort -n
}

# dp_admin_pid NAME: the pid of daneproxy NAME's admin process (the child
# listening on its admin port); nothing, and failure, without one.
dp_admin_pid() {
  local port master pid
  port=$(_dp_listen_port "$1" admin) || return 1
  master=$(lab_pid "$1") || return 1
  pid=$(ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | grep -vx "$master" | head -n 1)
  [ -n "$pid" ] && echo "$pid"
}

# dp_workers NAME: the pids of daneproxy NAME's workers, sorted: its
# master's children but the admin process.
dp_workers() {
  local master admin
  master=$(lab_pid "$1") || return 1
  admin=$(dp_admin_pid "$1")
  dp_children "$master" | grep -vx "${admin:-none}"
}

# dp_pss_kb PID: the PSS of PID and its children (the processes
# dp_cpu_ticks counts), in KiB; VmRSS where smaps_rollup is missing.
dp_pss_kb() {
  local t=0 q v
  for q in "$1" $(dp_children "$1"); do
    v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$q/smaps_rollup" 2>/dev/null)
    [[ -n $v ]] || v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$q/status" 2>/dev/null)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# dp_cpu_ticks PID: user+system clock ticks used so far by PID and its live
# children: daneproxy's master and workers, or any other server's (for
# benchmarks; a process's stat counts all its threads). One pass over /proc,
# so that sampling costs little next to what it measures; the fields are
# counted after the ")" that ends the command name, which may hold spaces.
dp_cpu_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk -v p="$1" '{ pid = $1; sub(/^.*\) /, ""); if (pid == p || $2 == p) t += $12 + $13 }
      END { print t + 0 }'
}

# calc EXPR [DECIMALS=3]: EXPR evaluated in floating point by awk, printed
# with DECIMALS decimals (the benchmarks' arithmetic; no bc needed).
calc() { awk "BEGIN { printf \"%.${2:-3}f\\n\", $1 }"; }
