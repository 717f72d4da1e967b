#!/usr/bin/env bash
# Packaging: cmake --install puts the binary and both manual pages in place,
# the pages render without groff warnings, and they document every key the
# configuration accepts.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"

lab_init
lab_certs
ok "cmake --install into a temp prefix" cmake --install "$DP_BUILD" --prefix "$LAB/inst"
ok "binary installed" test -x "$LAB/inst/sbin/daneproxy"
for page in man8/daneproxy.8 man5/daneproxy.ini.5; do
  f=$LAB/inst/share/man/$page
  ok "$page installed" test -s "$f"
  is "$(groff -man -Tutf8 -ww -z "$f" 2>&1)" "" "$page renders without warnings"
  unlike "$(cat "$f")" '@DP_VERSION@' "$page carries the version"
done
# Every key of the effective configuration (daneproxy -T) is in daneproxy.ini(5).
cat >"$LAB/all.ini" <<EOF
[dns]
mode = resolver-ad
resolvers = 127.0.0.1:53
[server s]
listen = 127.0.0.1:$(lab_port)
cert = $LAB_CERTS/server-chain.crt
key = $LAB_CERTS/server.key
upstream = 127.0.0.1:1
allow = *
[client c]
listen = 127.0.0.1:$(lab_port)
connect = 127.0.0.1:1
server_name = x.example
cert = $LAB_CERTS/client.crt
key = $LAB_CERTS/client.key
client_name = x.example
verify_server = pkix
ca_file = $LAB_CERTS/ca.crt
EOF
keys=$("$LAB/inst/sbin/daneproxy" -T -c "$LAB/all.ini" 2>/dev/null | sed -n 's/^;\{0,1\} *\([a-z_0-9]*\) =.*/\1/p' | sort -u)
ok "the effective configuration lists more than 40 keys ($(wc -w <<<"$keys"))" test "$(wc -w <<<"$keys")" -gt 40
missing=""
for k in $keys; do
  grep -q "$k" "$LAB/inst/share/man/man5/daneproxy.ini.5" || missing="$missing $k"
done
is "$missing" "" "daneproxy.ini(5) names every configuration key"
for d in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes CapabilityBoundingSet=CAP_NET_BIND_SERVICE; do
  ok "systemd unit: $d" grep -qx "$d" "$DP_SOURCE_DIR/packaging/systemd/daneproxy.service"
done
done_testing
