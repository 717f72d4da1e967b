#!/usr/bin/env bash
# daneproxy side by side with its peers: nginx (stream module) and HAProxy,
# both as Debian 12 ships them, each terminating mutual TLS 1.3 on loopback
# and relaying plain TCP to the same upstream (an nginx serving a small page
# and a large file). One PKI: the same P-256 server certificate and key for
# all three, and the same client certificate, which nginx and HAProxy trust
# as their client CA (it is self-signed) and daneproxy matches by its DANE-EE
# TLSA record (identity = extension-or-san: curl, openssl s_time and python
# cannot send dane_clientid, so the name is the certificate's SAN ns1.dp.test
# under san_tlsa_prefix _lorawan-ns, whose record the lab zone holds; the
# TLSA cache is warm). Two workers each (daneproxy workers = 2, nginx
# worker_processes 2, HAProxy nbthread 2), no TLS session resumption (daneproxy
# never resumes) and no TLS 1.3 session tickets where that can be configured
# (HAProxy 2.6 always sends two), one log line per connection each
# (daneproxy's info log, nginx's stream access_log, HAProxy's tcplog).
#
# Measured for every proxy in interleaved rounds (daneproxy nginx haproxy,
# daneproxy nginx haproxy, ...), so drift on a shared machine hits all alike:
#   1. proxy CPU per mTLS handshake carrying one relayed request: 4 parallel
#      `openssl s_time -new -www /`, the proxy's utime+stime (master and every
#      worker or thread, /proc/PID/stat) over the completed connections; the
#      upstream must have logged exactly one request, on a connection of its
#      own, per connection
#   2. bulk: one download of a sparse file through the mTLS port with curl:
#      MB/s (10^6 bytes) and proxy CPU seconds per GB (10^9 bytes)
#   3. time to the response head of the first request on a new keep-alive
#      connection, and of the second on the same connection, from a client
#      that keeps Nagle's algorithm (tests/lib/peers_client.py), and of the
#      first from one that sets TCP_NODELAY; the same against the upstream
#      direct gives the overhead over direct. A Nagle client's first request
#      waits for the ACK of its last handshake flight: a server that sends
#      nothing then (no session ticket) ACKs after its delayed-ACK timer
#   4. the client's TCP connect + TLS handshake time (median)
#   5. memory per idle keep-alive mTLS connection: N connections (each after
#      one request) held open by one process; the proxy's PSS (master +
#      workers, /proc/PID/smaps_rollup) before and after, over N, each
#      round on freshly started proxies. Kernel socket buffers are not in
#      it, for any of them.
# Prints a markdown table, a column per proxy and a ratio daneproxy ÷ the
# better of nginx and HAProxy, then one "check" line per proxy; exits 1 if a
# check failed (a proxy lost connections, answered wrongly, let a client in
# without the right certificate, or sent session tickets where it can be told
# not to).
#
# Usage: bash tests/bench/peers.sh [--smoke] [--out FILE] [--no-setup]
#   (none)      the full run: about 3 minutes on 2 cores
#   --smoke     tiny sizes (64 MiB, 1 s rounds, 100 idle connections): about
#               15 s; checks that everything works (tests/integration/90-peers-smoke.t)
#   --out FILE  also write the report (table and checks) to FILE
#   --no-setup  do not run packaging/install-deps.sh --build --run --bench
#               nor build; by default both run first (installing needs root
#               once), and the build is DP_BUILD (default build/,
#               configured RelWithDebInfo). The full run refuses a
#               sanitizer or Debug build: its numbers would say nothing.
# Exit status: 0 all checks passed, 1 a check or a step failed, 77 a tool
# is missing (after install-deps.sh, or with --no-setup).
# Not part of the test suite (its --smoke mode is). DP_KEEP=1 keeps the lab.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

smoke=0 setup=1 outfile=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) smoke=1 ;;
    --no-setup) setup=0 ;;
    --out) outfile=${2:?--out needs a file}; shift ;;
    -h|--help) sed -n '2,/^here=/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "peers.sh: unknown argument '$1' (--smoke, --out FILE, --no-setup)" >&2; exit 2 ;;
  esac
  shift
done
[[ -z $outfile || $outfile == /* ]] || outfile=$PWD/$outfile

if ((smoke)); then
  ROUNDS=1 HS_SECONDS=1 BULK_SIZE=64M LAT_PER_ROUND=5 IDLE_CONNS=100
else
  ROUNDS=3 HS_SECONDS=8 BULK_SIZE=1G LAT_PER_ROUND=10 IDLE_CONNS=1000
fi
HS_CLIENTS=4
PROXIES=(daneproxy nginx haproxy)

t_start=$EPOCHREALTIME
say() { printf 'peers: [%5.1f s] %s\n' "$(awk "BEGIN { print ${EPOCHREALTIME/,/.} - ${t_start/,/.} }")" "$*" >&2; }

if ((setup)); then
  bash "$top/packaging/install-deps.sh" --build --run --bench || exit 1
  if [[ -z ${DP_BUILD:-} ]]; then
    say "building $top/build (RelWithDebInfo)"
    { cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
      cmake --build "$top/build" -j"$(nproc 2>/dev/null || echo 2)" >/dev/null; } || exit 1
  fi
fi

missing=""
for t in nsd unbound ldns-signzone ldns-keygen ldns-key2ds drill openssl "${LAB_PYTHON:-python3}" curl nginx haproxy; do
  command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t ]] || missing+=" $t"
done
NGX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so
[[ -f $NGX_STREAM ]] || missing+=" libnginx-mod-stream"
if [[ -n $missing ]]; then
  echo "peers.sh: missing:$missing (packaging/install-deps.sh --bench)" >&2
  exit 77
fi

. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

die() { say "$*"; _tap_done=1; exit 1; }

# The build: its type and whether it is instrumented, from its CMake cache.
cache_var() { sed -n "s/^$1:[A-Z]*=//p" "$DP_BUILD/CMakeCache.txt" 2>/dev/null; }
[[ -x $DP_BUILD/daneproxy ]] || die "no $DP_BUILD/daneproxy (build it, or drop --no-setup)"
build_type=$(cache_var CMAKE_BUILD_TYPE)
build_desc="${build_type:-unknown type}"
[[ $(cache_var DP_SANITIZE) == ON ]] && build_desc+=", sanitizers"
if [[ $build_type != RelWithDebInfo && $build_type != Release ]] || [[ $build_desc == *sanitizers ]]; then
  ((smoke)) || die "$DP_BUILD is a $build_desc build: benchmark a RelWithDebInfo one (unset DP_BUILD)"
  say "note: $DP_BUILD is a $build_desc build; fine for --smoke, its numbers mean nothing"
fi

# Enough descriptors for the idle connections (each is two in a proxy).
want=$((IDLE_CONNS * 2 + 1024))
lab_nofile "$want" || die "too few descriptors for $IDLE_CONNS idle connections"

lab_init
lab_certs >/dev/null 2>&1 || die "lab_certs failed"
lab_dns_start || die "the lab's DNS did not start"
C=$LAB_CERTS
HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------------------
# The upstream: one nginx process (no master, so it reads the lab's files as
# the user running this), plain HTTP, a small page at / and the bulk file at
# /big (sparse: never stored), one access-log line per request.
mkdir -p "$LAB/www" "$LAB/up" || die "mkdir"
printf '<!doctype html>\n<title>peers</title>\n<p>A small page, the same through every proxy.</p>\n' \
  >"$LAB/www/index.html"
truncate -s "$BULK_SIZE" "$LAB/www/big" || die "truncate"
BULK_BYTES=$(stat -c %s "$LAB/www/big")
UP=$(lab_port) || die "lab_port"
cat >"$LAB/up/nginx.conf" <<EOF
daemon off;
master_process off;
worker_rlimit_nofile $((want * 2));
pid $LAB/up/nginx.pid;
error_log $LAB/up.error.log warn;
events { worker_connections $want; }
http {
	client_body_temp_path $LAB/up/client_body;
	proxy_temp_path $LAB/up/proxy;
	fastcgi_temp_path $LAB/up/fastcgi;
	uwsgi_temp_path $LAB/up/uwsgi;
	scgi_temp_path $LAB/up/scgi;
	log_format up '\$remote_port "\$request" \$status \$bytes_sent \$connection';
	access_log $LAB/up.access.log up;
	sendfile on;
	server_tokens off;
	keepalive_timeout 300s;
	keepalive_requests 100000;
	server {
		listen 127.0.0.1:$UP;
		root $LAB/www;
	}
}
EOF
lab_spawn up /usr/sbin/nginx -p "$LAB/up" -c "$LAB/up/nginx.conf" -e "$LAB/up.error.log"
_up_ready() {
  _lab_alive up || return 0
  curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$UP/" 2>/dev/null
}
if ! { lab_poll 10 _up_ready && _lab_alive up; }; then die "the upstream nginx did not start"; fi
up_count() { wc -l <"$LAB/up.access.log"; }
# up_conns_since N: distinct upstream connections in the log after line N
# (the last field is nginx's connection serial number).
up_conns_since() { tail -n +$(($1 + 1)) "$LAB/up.access.log" | awk '{ print $NF }' | sort -u | wc -l; }
_up_count_is() { (($(up_count) >= $1)); }

# ---------------------------------------------------------------------------
# The three proxies. start_proxy PROXY GEN starts generation GEN of PROXY
# as lab process NAME[p] (the process whose family, it and its children, is
# the proxy: PID[p]) listening on PORT[p], and waits until a request goes
# through it; stop_proxy PROXY stops it (daneproxy: and checks it stopped
# cleanly, with no sanitizer report).
declare -A PORT PID NAME
TLS_CLIENT=(--tlsv1.3 --cacert "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key")
cat "$C/server-chain.crt" "$C/server.key" >"$LAB/haproxy.pem"

# _get PORT [curl args]: one mTLS GET / through a proxy, 200 or fail.
_get() {
  local port=$1
  shift
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${TLS_CLIENT[@]}" "$@" \
    "https://127.0.0.1:$port/" 2>/dev/null) == 200 ]]
}
_proxy_up() { # NAME PORT: answers through, or died
  _lab_alive "$1" || return 0
  _get "$2"
}

_start_daneproxy() { # NAME: port 0, read back from its log
  {
    printf '[global]\nworkers = 2\nlog_level = info\n'
    dp_dns_section validate
    printf '[server peers]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\n' "$C/server-chain.crt" "$C/server.key"
    printf 'upstream = 127.0.0.1:%s\nforward = none\nidentity = extension-or-san\n' "$UP"
    printf 'san_tlsa_prefix = _lorawan-ns\nallow = _lorawan-ns.ns1.dp.test\n'
  } >"$LAB/$1.ini"
  dp_start "$1" "$LAB/$1.ini" DP_PORT=peers || return 1
  PORT[daneproxy]=$DP_PORT
}

# nginx and HAProxy refuse port 0 in their configuration: lab_port.
_start_nginx() { # NAME
  local port
  port=$(lab_port) || return 1
  mkdir -p "$LAB/$1"
  cat >"$LAB/$1/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
worker_rlimit_nofile $((want * 2));
pid $LAB/$1/nginx.pid;
error_log $LAB/$1.error.log warn;
load_module $NGX_STREAM;
events { worker_connections $want; }
stream {
	log_format conn '\$remote_addr:\$remote_port \$ssl_protocol \$ssl_cipher '
		'verify=\$ssl_client_verify "\$ssl_client_s_dn" up=\$upstream_addr '
		'\$status \$bytes_received \$bytes_sent \$session_time';
	access_log $LAB/$1.access.log conn;
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $C/server-chain.crt;
		ssl_certificate_key $C/server.key;
		ssl_protocols TLSv1.3;
		ssl_verify_client on;
		ssl_client_certificate $C/client.crt;
		ssl_session_cache off;
		ssl_session_tickets off;
		ssl_conf_command NumTickets 0;
		proxy_pass 127.0.0.1:$UP;
	}
}
EOF
  /usr/sbin/nginx -t -q -p "$LAB/$1" -c "$LAB/$1/nginx.conf" -e "$LAB/$1.error.log" >"$LAB/$1.check" 2>&1 || {
    say "nginx -t: $(cat "$LAB/$1.check")"
    return 1
  }
  lab_spawn "$1" /usr/sbin/nginx -p "$LAB/$1" -c "$LAB/$1/nginx.conf" -e "$LAB/$1.error.log"
  PORT[nginx]=$port
}

_start_haproxy() { # NAME
  local port
  port=$(lab_port) || return 1
  cat >"$LAB/$1.cfg" <<EOF
global
	nbthread 2
	maxconn $want
	tune.ssl.cachesize 0
	log stderr format raw local0 info
defaults
	mode tcp
	log global
	option tcplog
	maxconn $want
	timeout connect 5s
	timeout client 300s
	timeout server 300s
frontend peers
	bind 127.0.0.1:$port ssl crt $LAB/haproxy.pem ca-file $C/client.crt verify required ssl-min-ver TLSv1.3 no-tls-tickets
	default_backend up
backend up
	server up 127.0.0.1:$UP
EOF
  haproxy -c -q -f "$LAB/$1.cfg" >"$LAB/$1.check" 2>&1 || {
    say "haproxy -c: $(cat "$LAB/$1.check")"
    return 1
  }
  lab_spawn "$1" haproxy -db -f "$LAB/$1.cfg"
  PORT[haproxy]=$port
}

start_proxy() { # PROXY GEN
  local p=$1 name
  case $p in
    daneproxy) name=dp$2 ;;
    nginx) name=ngx$2 ;;
    haproxy) name=hap$2 ;;
  esac
  "_start_$p" "$name" || die "$p did not start"
  NAME[$p]=$name PID[$p]=$(lab_pid "$name")
  if ! { lab_poll 10 _proxy_up "$name" "${PORT[$p]}" && _lab_alive "$name"; }; then
    die "$p did not start: $(tail -n 3 "$LAB/$name.log" "$LAB/$name.error.log" 2>/dev/null)"
  fi
}

stop_proxy() { # PROXY
  local p=$1 name=${NAME[$1]}
  lab_stop "$name"
  [[ $p == daneproxy ]] || return 0
  check daneproxy stop ok
  if grep -qE 'Sanitizer|runtime error:' "$LAB/$name.log" || ! grep -q 'daneproxy stopped' "$LAB/$name.log"; then
    check daneproxy stop "$name not clean: $(grep -m1 -E 'Sanitizer|runtime error:' "$LAB/$name.log")"
  fi
}

# Checks: CHECK[p,name] holds "ok" or the reason of a failure.
declare -A CHECK TICKETS
CHECK_NAMES=(mtls tickets handshake bulk latency idle stop) # stop: daneproxy only
check() { # PROXY NAME REASON|ok: a failure is kept (the first one)
  [[ ${CHECK[$1,$2]:-ok} == ok ]] && CHECK[$1,$2]=$3
}

for p in "${PROXIES[@]}"; do start_proxy "$p" 0; done

# Mutual TLS really enforced, and the same TLS for all: no client
# certificate, or the rogue one (same name, another key), gets no answer;
# and the server sends no session ticket (dp-testclient counts them).
for p in "${PROXIES[@]}"; do
  port=${PORT[$p]}
  check "$p" mtls ok
  curl -s -o /dev/null --max-time 5 --tlsv1.3 --cacert "$C/ca.crt" "https://127.0.0.1:$port/" \
    -w '%{http_code}' 2>/dev/null | grep -q '^200$' && check "$p" mtls "answered a client without certificate"
  _get "$port" --cert "$C/rogue.crt" --key "$C/rogue.key" && check "$p" mtls "answered the rogue certificate"
  out=$(dp_testclient --connect "127.0.0.1:$port" --cert "$C/client.crt" --key "$C/client.key" \
    --no-clientid --send 'GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n' --quiet --timeout-ms 5000 2>&1)
  if [[ $out =~ result=ok.*tickets=([0-9]+) ]]; then
    TICKETS[$p]=${BASH_REMATCH[1]}
    # HAProxy 2.6 cannot stop sending TLS 1.3 tickets (no-tls-tickets and
    # tune.ssl.cachesize 0 make them stateful and useless, not absent:
    # haproxy/haproxy#1103); the others must send none.
    if [[ $p == haproxy || ${TICKETS[$p]} == 0 ]]; then
      check "$p" tickets ok
    else
      check "$p" tickets "${TICKETS[$p]} tickets sent"
    fi
  else
    check "$p" tickets "dp-testclient: $out"
  fi
done

# Warm up: page cache, allocators, and daneproxy's per-worker TLSA caches.
for p in "${PROXIES[@]}"; do
  "$LAB_PYTHON" "$here/../lib/peers_client.py" latency --port "${PORT[$p]}" --count 8 \
    --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key" >/dev/null 2>&1
  if ((!smoke)); then
    pids=()
    for ((i = 0; i < HS_CLIENTS; i++)); do
      timeout 30 openssl s_time -connect "127.0.0.1:${PORT[$p]}" -new -www / -time 1 \
        -cert "$C/client.crt" -key "$C/client.key" >/dev/null 2>&1 &
      pids+=($!)
    done
    wait "${pids[@]}" # never a bare wait: the lab's servers are children too
  fi
done

# ---------------------------------------------------------------------------
# 1. Handshakes: HS_CLIENTS parallel s_time clients for HS_SECONDS.
declare -A HS_CONNS HS_TICKS
handshake_round() { # PROXY ROUND
  local p=$1 port=${PORT[$1]} pid=${PID[$1]} i u0 u1 t0 t1 n conns=0 pids=()
  check "$p" handshake ok
  u0=$(up_count)
  t0=$(dp_cpu_ticks "$pid")
  for ((i = 0; i < HS_CLIENTS; i++)); do
    timeout $((HS_SECONDS + 30)) openssl s_time -connect "127.0.0.1:$port" -new -www / \
      -time "$HS_SECONDS" -cert "$C/client.crt" -key "$C/client.key" >"$LAB/stime.$p.$i" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(dp_cpu_ticks "$pid")
  for ((i = 0; i < HS_CLIENTS; i++)); do
    n=$(sed -nE 's/^([0-9]+) connections in [0-9.]+ real seconds.*/\1/p' "$LAB/stime.$p.$i")
    [[ -n $n ]] || check "$p" handshake "s_time: $(grep -m1 -iE 'error|refused' "$LAB/stime.$p.$i")"
    conns=$((conns + ${n:-0}))
  done
  # Each connection sent one request, on a connection of its own to the
  # upstream, which logs it when it ends.
  lab_poll 5 _up_count_is $((u0 + conns))
  u1=$(up_count)
  ((conns > 0)) || check "$p" handshake "no connection completed"
  ((u1 - u0 == conns)) || check "$p" handshake "$conns connections but $((u1 - u0)) upstream requests"
  n=$(up_conns_since "$u0")
  ((n == conns)) || check "$p" handshake "$conns connections but $n upstream connections"
  HS_CONNS[$p]=$((${HS_CONNS[$p]:-0} + conns))
  HS_TICKS[$p]=$((${HS_TICKS[$p]:-0} + t1 - t0))
  say "round $2 handshakes $p: $conns connections ($((u1 - u0)) upstream), CPU $(calc "($t1 - $t0) * 1000 / $HZ / ($conns > 0 ? $conns : 1)" 3) ms each"
}

# 2. Bulk: one download of /big.
declare -A BULK_TICKS BULK_SECS BULK_GOT BULK_RATES
bulk_round() { # PROXY ROUND
  local p=$1 port=${PORT[$1]} pid=${PID[$1]} u0 t0 t1 out code size secs
  check "$p" bulk ok
  u0=$(up_count)
  t0=$(dp_cpu_ticks "$pid")
  out=$(curl -sS --max-time 600 "${TLS_CLIENT[@]}" -o /dev/null \
    -w '%{http_code} %{size_download} %{time_total}' "https://127.0.0.1:$port/big" 2>&1)
  t1=$(dp_cpu_ticks "$pid")
  read -r code size secs <<<"$out"
  if [[ $code != 200 || $size != "$BULK_BYTES" ]]; then
    check "$p" bulk "curl: $out"
    return
  fi
  lab_poll 5 _up_count_is $((u0 + 1)) || check "$p" bulk "the upstream did not log the download"
  BULK_TICKS[$p]=$((${BULK_TICKS[$p]:-0} + t1 - t0))
  BULK_SECS[$p]=$(calc "${BULK_SECS[$p]:-0} + $secs" 6)
  BULK_GOT[$p]=$((${BULK_GOT[$p]:-0} + size))
  BULK_RATES[$p]+=" $(calc "$size / $secs / 1e6" 1)"
  say "round $2 bulk $p: $(calc "$size / $secs / 1e6" 1) MB/s, CPU $(calc "($t1 - $t0) / $HZ" 2) s"
}

# 3 and 4. Latency: LAT_PER_ROUND new connections, two requests each, from a
# client with Nagle's algorithm (nagle) and from one without (nodelay).
declare -A LAT_TLS
latency_round() { # TARGET VARIANT: a proxy, or "direct" (the upstream, plain)
  local p=$1 args out u0 want_up
  if [[ $p == direct ]]; then
    args=(--port "$UP" --plain)
  else
    args=(--port "${PORT[$p]}" --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key")
    check "$p" latency ok
  fi
  [[ $2 == nodelay ]] && args+=(--nodelay)
  u0=$(up_count)
  out=$("$LAB_PYTHON" "$here/../lib/peers_client.py" latency --count "$LAT_PER_ROUND" "${args[@]}" 2>&1)
  grep '^sample ' <<<"$out" >>"$LAB/lat.$p.$2"
  want_up=$((u0 + 2 * LAT_PER_ROUND))
  if ! grep -q "^summary ok=$LAT_PER_ROUND errors=0 " <<<"$out"; then
    [[ $p == direct ]] || check "$p" latency "$(grep -m1 -E '^(error|summary|Traceback)' <<<"$out")"
  elif ! lab_poll 5 _up_count_is "$want_up"; then
    [[ $p == direct ]] || check "$p" latency "the upstream logged $(($(up_count) - u0)) of $((2 * LAT_PER_ROUND)) requests"
  fi
  LAT_TLS[$p]=$(sed -nE 's/^summary .* version=([^ ]*) cipher=([^ ]*).*/\1 \2/p' <<<"$out")
}

# 5. Idle connections: IDLE_CONNS held by one process, against a proxy
# started afresh for the round: memory a process has freed stays with it
# (allocator arenas, connection pools), so a second round on the same process
# would mostly reuse the first's and show almost nothing.
declare -A IDLE_KB
# _established PORT: ESTABLISHED TCP sockets whose local port is PORT.
# /proc/net/tcp is read in pieces while the table changes (other connections
# on the machine come and go): a count may be off by a few, so checks poll.
_established() {
  awk -v p="$(printf '%04X' "$1")" '$4 == "01" { split($2, a, ":"); if (a[2] == p) n++ } END { print n + 0 }' \
    /proc/net/tcp
}
_established_is() { (($(_established "$1") == $2)); }
_established_ge() { (($(_established "$1") >= $2)); }
_idle_ready() { [[ -s $1 ]] || ! _lab_alive "$2"; }
idle_round() { # PROXY ROUND
  local p=$1 port pid name="idle-$1-$2" m0 m1 got u0
  check "$p" idle ok
  stop_proxy "$p"
  start_proxy "$p" "$2"
  port=${PORT[$p]} pid=${PID[$p]}
  "$LAB_PYTHON" "$here/../lib/peers_client.py" latency --port "$port" --count 8 --nodelay \
    --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key" >/dev/null 2>&1
  lab_poll 10 _established_is "$port" 0 || check "$p" idle "the warm-up connections stay open"
  u0=$(up_count)
  m0=$(dp_pss_kb "$pid")
  lab_spawn "$name" "$LAB_PYTHON" "$here/../lib/peers_client.py" idle --port "$port" --count "$IDLE_CONNS" \
    --ready "$LAB/$name.ready" --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key"
  lab_poll $((IDLE_CONNS / 20 + 30)) _idle_ready "$LAB/$name.ready" "$name"
  got=$(cat "$LAB/$name.ready" 2>/dev/null)
  if [[ $got != "$IDLE_CONNS" ]]; then
    check "$p" idle "${got:-the client died: $(tail -n 1 "$LAB/$name.log")}"
    lab_stop "$name"
    return
  fi
  # Every connection open on both sides of the proxy, every request served.
  lab_poll 5 _established_is "$port" "$IDLE_CONNS" ||
    check "$p" idle "$(_established "$port") client connections established, not $IDLE_CONNS"
  lab_poll 5 _established_ge "$UP" "$IDLE_CONNS" ||
    check "$p" idle "$(_established "$UP") upstream connections, not $IDLE_CONNS"
  lab_poll 5 _up_count_is $((u0 + IDLE_CONNS)) || check "$p" idle "the upstream missed requests"
  m1=$(dp_pss_kb "$pid")
  lab_stop "$name"
  IDLE_KB[$p]+=" $(calc "($m1 - $m0) / $IDLE_CONNS" 2)"
  say "round $2 idle $p: $IDLE_CONNS connections, $(calc "($m1 - $m0) / 1024" 1) MiB, $(calc "($m1 - $m0) / $IDLE_CONNS" 2) KiB each"
}

for ((r = 1; r <= ROUNDS; r++)); do
  for p in "${PROXIES[@]}"; do handshake_round "$p" "$r"; done
done
for ((r = 1; r <= ROUNDS; r++)); do
  for p in "${PROXIES[@]}"; do bulk_round "$p" "$r"; done
done
for ((r = 1; r <= ROUNDS; r++)); do
  for v in nagle nodelay; do
    for p in "${PROXIES[@]}" direct; do latency_round "$p" "$v"; done
  done
  say "round $r latency: $((2 * LAT_PER_ROUND)) connections to each"
done
for ((r = 1; r <= ROUNDS; r++)); do
  for p in "${PROXIES[@]}"; do idle_round "$p" "$r"; done
done

# daneproxy stops cleanly (with a sanitizer build: and reports nothing).
stop_proxy daneproxy

# ---------------------------------------------------------------------------
# The report.
_median() { # numbers on stdin
  sort -g | awk '{ v[NR] = $1 } END { if (!NR) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
_lat_median() { # TARGET VARIANT FIELD
  [[ -s $LAB/lat.$1.$2 ]] || return 0
  sed -nE "s/.* $3=([0-9.]+).*/\\1/p" "$LAB/lat.$1.$2" | _median
}

declare -A V # V[row,proxy] = value
ROWS=()
declare -A LABEL BETTER DEC
row() { ROWS+=("$1"); LABEL[$1]=$2; BETTER[$1]=$3; DEC[$1]=$4; }
row hs_cpu "Proxy CPU per mTLS handshake + relayed request (ms)" lower 3
row hs_rate "Handshakes/s seen by $HS_CLIENTS s_time clients (2 cores shared)" higher 0
row bulk_rate "Bulk $BULK_SIZE download, MB/s (median of $ROUNDS)" higher 0
row bulk_cpu "Bulk: proxy CPU per GB (s)" lower 2
row first "First request on a new keep-alive connection, Nagle client (ms, median of $((ROUNDS * LAT_PER_ROUND)))" lower 2
row second "Second request, same connection, Nagle client (ms, median)" lower 2
row overhead "First request, Nagle client: overhead over direct (ms)" lower 2
row first_nd "First request, TCP_NODELAY client (ms, median)" lower 2
row overhead_nd "First request, TCP_NODELAY client: overhead over direct (ms)" lower 2
row hs_client "Client-side connect + handshake (ms, median of $((2 * ROUNDS * LAT_PER_ROUND)))" lower 2
row idle "Idle keep-alive mTLS connection (KiB PSS each, N=$IDLE_CONNS, median of $ROUNDS)" lower 1
row tickets "TLS 1.3 session tickets sent per connection" none 0
row tls "Negotiated (python client)" none 0

direct_first=$(_lat_median direct nagle first_ms)
direct_second=$(_lat_median direct nagle second_ms)
direct_first_nd=$(_lat_median direct nodelay first_ms)
for p in "${PROXIES[@]}"; do
  if ((${HS_CONNS[$p]:-0} > 0)); then
    V[hs_cpu,$p]=$(calc "${HS_TICKS[$p]} * 1000 / $HZ / ${HS_CONNS[$p]}" 6)
    V[hs_rate,$p]=$(calc "${HS_CONNS[$p]} / ($ROUNDS * $HS_SECONDS)" 1)
  fi
  if ((${BULK_GOT[$p]:-0} > 0)); then
    V[bulk_rate,$p]=$(tr ' ' '\n' <<<"${BULK_RATES[$p]}" | grep . | _median)
    V[bulk_cpu,$p]=$(calc "${BULK_TICKS[$p]} / $HZ / (${BULK_GOT[$p]} / 1e9)" 6)
  fi
  V[first,$p]=$(_lat_median "$p" nagle first_ms)
  V[second,$p]=$(_lat_median "$p" nagle second_ms)
  V[first_nd,$p]=$(_lat_median "$p" nodelay first_ms)
  V[hs_client,$p]=$(cat "$LAB/lat.$p".* 2>/dev/null | sed -nE 's/.* handshake_ms=([0-9.]+).*/\1/p' | _median)
  [[ -n ${V[first,$p]} && -n $direct_first ]] && V[overhead,$p]=$(calc "${V[first,$p]} - $direct_first" 6)
  [[ -n ${V[first_nd,$p]} && -n $direct_first_nd ]] &&
    V[overhead_nd,$p]=$(calc "${V[first_nd,$p]} - $direct_first_nd" 6)
  V[tickets,$p]=${TICKETS[$p]:-}
  [[ -n ${IDLE_KB[$p]:-} ]] && V[idle,$p]=$(tr ' ' '\n' <<<"${IDLE_KB[$p]}" | grep . | _median)
  V[tls,$p]=${LAT_TLS[$p]:-}
done

# ratio ROW: daneproxy ÷ the better of nginx and HAProxy.
ratio() {
  local r=$1 d=${V[$1,daneproxy]:-} a=${V[$1,nginx]:-} b=${V[$1,haproxy]:-} best
  [[ ${BETTER[$r]} != none && -n $d && -n $a && -n $b ]] || { echo "—"; return; }
  if [[ ${BETTER[$r]} == lower ]]; then
    best=$(calc "($a < $b) ? $a : $b" 6)
  else
    best=$(calc "($a > $b) ? $a : $b" 6)
  fi
  if [[ $(calc "($best > 0) ? 1 : 0" 0) == 1 ]]; then
    echo "$(calc "$d / $best" 2)×"
  else
    echo "—"
  fi
}
fmt() { # ROW PROXY
  local v=${V[$1,$2]:-}
  if [[ -z $v ]]; then echo "—"
  elif [[ ${BETTER[$1]} == none ]]; then echo "$v"
  else calc "$v" "${DEC[$1]}"; fi
}

commit=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
report=$LAB/report.md
{
  printf '### daneproxy and its peers (%s, %s)\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    "$( ((smoke)) && echo "--smoke: tiny sizes, numbers only show it works" || echo "full run")"
  printf -- '- daneproxy %s (commit %s, %s build), %s, %s\n' \
    "$("$DP_BUILD/daneproxy" -V 2>&1 | head -n 1 | awk '{print $NF}')" "$commit" "$build_desc" \
    "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "$(haproxy -v 2>&1 | head -n 1 | awk '{print "HAProxy", $3}')"
  printf -- '- %s, %s cores, Linux %s, %s; shared with whatever else ran\n' \
    "${cpu:-unknown CPU}" "$(nproc)" "$(uname -r)" "$(openssl version | awk '{print $1, $2}')"
  printf -- '- mutual TLS 1.3, P-256 server certificate, 2 workers/threads each; rounds: %d, interleaved; ' "$ROUNDS"
  printf 'ratio: daneproxy ÷ the better peer (below 1 is better for CPU, time and memory, above 1 for rates)\n\n'
  printf '| Measurement | daneproxy | nginx | HAProxy | daneproxy ÷ best peer |\n'
  printf '|---|---:|---:|---:|---:|\n'
  for r in "${ROWS[@]}"; do
    printf '| %s | %s | %s | %s | %s |\n' "${LABEL[$r]}" "$(fmt "$r" daneproxy)" "$(fmt "$r" nginx)" \
      "$(fmt "$r" haproxy)" "$(ratio "$r")"
  done
  printf '\nDirect to the upstream (plain TCP), medians: first request %s ms, second %s ms (Nagle client); first request %s ms (TCP_NODELAY client).\n' \
    "$(calc "${direct_first:-0}" 2)" "$(calc "${direct_second:-0}" 2)" "$(calc "${direct_first_nd:-0}" 2)"
  printf 'A Nagle client sends its first request only once its last handshake flight is ACKed: a server that\n'
  printf 'sends nothing right after the handshake ACKs it after its delayed-ACK timer (40 ms on Linux); a TLS 1.3\n'
  printf 'session ticket, sent at once, carries the ACK. HAProxy 2.6 cannot stop sending them (haproxy#1103).\n'
  printf 'Took %s s.\n\n' "$(calc "${EPOCHREALTIME/,/.} - ${t_start/,/.}" 0)"
  failed=0
  for p in "${PROXIES[@]}"; do
    line="check $p"
    for c in "${CHECK_NAMES[@]}"; do
      [[ $c == stop && $p != daneproxy ]] && continue
      v=${CHECK[$p,$c]:-not run}
      if [[ $v == ok ]]; then line+=" $c=ok"; else line+=" $c=FAIL($v)"; failed=1; fi
    done
    echo "$line"
  done
} >"$report"
cat "$report"
[[ -z $outfile ]] || cp "$report" "$outfile" || die "cannot write $outfile"
_tap_done=1
((failed == 0)) || exit 1
exit 0
