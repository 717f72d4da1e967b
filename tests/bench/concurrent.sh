#!/usr/bin/env bash
# N (default 10,000) concurrent keep-alive mTLS connections through one
# daneproxy with 2 workers: every one authenticated by DANE (the SAN name
# path with a warm TLSA cache, as in peers.sh), relayed to an nginx upstream
# and then left idle, all held by one client process
# (tests/lib/peers_client.py idle). Reports how long opening them took,
# the proxy's memory per connection (PSS of master + workers), its CPU while
# they sit idle, how they spread over the workers, and a new connection's
# handshake and first request while they are open.
# Not part of the test suite. Usage: bash tests/bench/concurrent.sh [N]
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"
. "$here/../lib/http.sh"
N=${1:-10000}
# Each process holds at most N client and N upstream sockets.
lab_nofile $((N * 2 + 1024)) $((N + 1024)) || bail "too few descriptors for $N connections"

lab_init
lab_certs
lab_dns_start
C=$LAB_CERTS

# The upstream: an nginx that keeps N idle keep-alive connections.
lab_nginx_start up $((N + 100)) || bail "upstream did not start"
UP=$NGINX_PORT

{ printf '[global]\nworkers = 2\nlog_level = info\n'
  dp_dns_section validate
  printf '[server c]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$C/server-chain.crt" "$C/server.key" "$UP"
  printf 'forward = none\nidentity = extension-or-san\nsan_tlsa_prefix = _lorawan-ns\n'
  printf 'allow = _lorawan-ns.ns1.dp.test\nmax_connections = %s\nidle_timeout_ms = 600000\n' "$((N + 100))"
} >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" PORT=c || bail "daneproxy did not start"
master=$(lab_pid dp)
workers=$(dp_workers dp | tr '\n' ' ')

pss() { dp_pss_kb "$master"; }
ticks() { dp_cpu_ticks "$master"; }
fds() { ls "/proc/$1/fd" | wc -l; }
probe() { "$LAB_PYTHON" "$here/../lib/peers_client.py" latency --port "$PORT" --count 5 --nodelay \
  --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key" | sed -n 's/^sample //p' | tail -1; }

probe >/dev/null   # warm the TLSA cache
diag "before: $(probe)"
m0=$(pss); c0=$(ticks); t0=$EPOCHREALTIME
lab_spawn idle "$LAB_PYTHON" "$here/../lib/peers_client.py" idle --port "$PORT" --count "$N" \
  --ready "$LAB/idle.ready" --ca "$C/ca.crt" --cert "$C/client.crt" --key "$C/client.key" --timeout 60
_ready() { [[ -s $LAB/idle.ready ]] || ! _lab_alive idle; }
lab_poll $((N / 10 + 60)) _ready || bail "the client did not finish opening"
t1=$EPOCHREALTIME; c1=$(ticks)
[[ $(cat "$LAB/idle.ready") == "$N" ]] || bail "client: $(cat "$LAB/idle.ready")"
m1=$(pss)
hz=$(getconf CLK_TCK)
ok "$N connections open at once" test "$(cat "$LAB/idle.ready")" = "$N"
diag "opened in $(calc "${t1/,/.} - ${t0/,/.}" 1) s: $(calc "$N / (${t1/,/.} - ${t0/,/.})" 0) connections/s, proxy CPU $(calc "($c1 - $c0) * 1000 / $hz / $N" 3) ms each"
diag "memory: $(calc "($m1 - $m0) / 1024" 1) MiB for $N connections, $(calc "($m1 - $m0) / $N" 2) KiB each (PSS, master + workers)"
for w in $workers; do diag "worker $w: $(fds "$w") descriptors"; done
i0=$(ticks); sleep 5; i1=$(ticks)   # measuring idle CPU over 5 s, not waiting for readiness
diag "idle: proxy CPU $(calc "($i1 - $i0) * 1000 / $hz / 5" 1) ms per second with $N connections open"
s=$(probe)
diag "a new connection with $N open: $s"
like "$s" 'first_ms=' "a new connection is served while $N are open"
lab_stop idle
done_testing
