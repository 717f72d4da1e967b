#!/usr/bin/env bash
# Packaging: cmake --install puts the binary, both manual pages (gzipped),
# the systemd unit, the sysusers.d entry, the example configuration and the
# LoRaWAN examples in place; the pages render without groff warnings and
# document every key the configuration accepts. (The .deb is tested where it is installed:
# tests/fresh/deb.t, run by packaging/fresh-check.sh.)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"

lab_init
lab_certs
ok "cmake --install into a temp prefix" cmake --install "$DP_BUILD" --prefix "$LAB/inst"
ok "binary installed" test -x "$LAB/inst/sbin/daneproxy"
for page in man8/daneproxy.8 man5/daneproxy.ini.5; do
  f=$LAB/inst/share/man/$page.gz
  ok "$page.gz installed" test -s "$f"
  is "$(zcat "$f" | groff -man -Tutf8 -ww -z 2>&1)" "" "$page renders without warnings"
  unlike "$(zcat "$f")" '@DP_VERSION@' "$page carries the version"
done
unit=$LAB/inst/lib/systemd/system/daneproxy.service
ok "systemd unit installed" test -s "$unit"
unlike "$(cat "$unit")" '@[A-Z_]+@' "the unit's paths are filled in"
like "$(grep -m1 '^ExecReload=' "$unit")" '^ExecReload=/[^ ]*/daneproxy -t -c /[^ ]*/daneproxy\.ini$' \
  "the unit's reload runs daneproxy -t first"
ok "sysusers.d entry installed" grep -q '^u daneproxy ' "$LAB/inst/lib/sysusers.d/daneproxy.conf"
ok "example configuration installed" cmp "$DP_SOURCE_DIR/conf/server.ini" "$LAB/inst/etc/daneproxy/daneproxy.ini"
for f in "$DP_SOURCE_DIR"/conf/examples/*; do
  ok "LoRaWAN example $(basename "$f") installed in share/doc/daneproxy/examples" \
    cmp "$f" "$LAB/inst/share/doc/daneproxy/examples/$(basename "$f")"
done
# Every key of the effective configuration (daneproxy -T) is in daneproxy.ini(5).
cat >"$LAB/all.ini" <<EOF
[dns]
mode = resolver-ad
resolvers = 127.0.0.1:53
[server s]
listen = 127.0.0.1:0
cert = $LAB_CERTS/server-chain.crt
key = $LAB_CERTS/server.key
upstream = 127.0.0.1:1
allow = *
[client c]
listen = 127.0.0.1:0
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
  zgrep -q "$k" "$LAB/inst/share/man/man5/daneproxy.ini.5.gz" || missing="$missing $k"
done
is "$missing" "" "daneproxy.ini(5) names every configuration key"
for d in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes CapabilityBoundingSet=CAP_NET_BIND_SERVICE; do
  ok "systemd unit: $d" grep -qx "$d" "$unit"
done
done_testing
