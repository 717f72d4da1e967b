#!/usr/bin/env bash
# The installed .deb, as packaging/fresh-check.sh leaves it: $DP_PKG_ROOT is a
# Debian 12 root where only `apt-get install ./daneproxy_*.deb` ran; this
# script runs in another root with the lab (NSD, Unbound, the stand-in
# upstream, dp-testclient) and drives the installed daneproxy with chroot.
# Not part of tests/run.sh: it needs such a root.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

P=${DP_PKG_ROOT:-}
[[ -n $P && -x $P/usr/bin/dpkg ]] || skip_all "DP_PKG_ROOT is not a root with the package (packaging/fresh-check.sh deb)"
lab_skip_unless_root_tools
# pkg CMD...: CMD inside the package root, with a clean environment.
pkg() { chroot "$P" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

lab_init
version=$(sed -n 's/^project(daneproxy VERSION \([0-9.]*\).*/\1/p' "$DP_SOURCE_DIR/CMakeLists.txt")

# --- What apt installed -------------------------------------------------------
is "$(pkg dpkg-query -W -f='${Status} ${Version}' daneproxy)" "install ok installed $version" \
  "dpkg: daneproxy $version installed"
like "$(pkg daneproxy -V 2>&1)" "^daneproxy $version" "daneproxy -V: $version"
for f in /usr/sbin/daneproxy /usr/share/man/man8/daneproxy.8.gz /usr/share/man/man5/daneproxy.ini.5.gz \
         /lib/systemd/system/daneproxy.service /usr/lib/sysusers.d/daneproxy.conf \
         /etc/daneproxy/daneproxy.ini /usr/share/doc/daneproxy/README.md \
         /usr/share/doc/daneproxy/examples/chirpstack-js.ini /usr/share/doc/daneproxy/examples/ts002-map.txt; do
  ok "installed: $f" test -s "$P$f"
done
like "$(pkg dpkg-query -W -f='${Conffiles}' daneproxy)" '^ /etc/daneproxy/daneproxy\.ini [0-9a-f]{32}$' \
  "/etc/daneproxy/daneproxy.ini is the one conffile"
missing_build=""
for p in gcc cmake pkg-config libssl-dev libevent-dev libunbound-dev nettle-dev; do
  [[ $(pkg dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] && missing_build+=" $p"
done
is "$missing_build" "" "no build dependency is installed in the package root"
deps=$(pkg dpkg-query -W -f='${Depends}' daneproxy | tr ',' '\n' | sed 's/^ *//; s/[ (].*//' | grep -vxE 'libc6|passwd' | sort)
run=$(sh "$DP_SOURCE_DIR/packaging/install-deps.sh" --run --list)
is "$(comm -23 <(echo "$deps") <(echo "$run") | tr '\n' ' ')" "" \
  "install-deps.sh --run names every library the package depends on ($(echo $deps))"
like "$(pkg getent passwd daneproxy)" '^daneproxy:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$' \
  "postinst created the daneproxy system user"
ok "... and its group" pkg getent group daneproxy
unit=$P/lib/systemd/system/daneproxy.service
ok "unit: ExecStart runs /usr/sbin/daneproxy on /etc/daneproxy/daneproxy.ini" \
  grep -qx 'ExecStart=/usr/sbin/daneproxy -c /etc/daneproxy/daneproxy.ini' "$unit"
is "$(grep -m1 '^ExecReload=' "$unit")" 'ExecReload=/usr/sbin/daneproxy -t -c /etc/daneproxy/daneproxy.ini' \
  "unit: systemctl reload runs daneproxy -t first"
ok "unit: runs as the daneproxy user" grep -qx 'User=daneproxy' "$unit"
like "$(pkg sh -c 'zcat /usr/share/man/man5/daneproxy.ini.5.gz | head -c 4000')" 'daneproxy' \
  "the manual page is readable"

# --- The shipped example: refused as shipped, accepted with the operator's paths
out=$(pkg daneproxy -t -c /etc/daneproxy/daneproxy.ini 2>&1); rc=$?
isnt "$rc" 0 "daneproxy -t on the example as shipped fails (no certificate yet)"
like "$out" '/etc/daneproxy/daneproxy\.ini:[0-9]+: cert: ' "... naming file, line and key"

lab_certs
S=/tmp/smoke                  # inside the package root
mkdir -p "$P$S"
cp "$LAB_CERTS"/{server-chain.crt,server.key,js.crt,js.key} "$P$S/"
sed -e "s|^listen = .*|listen = 127.0.0.1:0|" \
    -e "s|^admin = .*|admin = 127.0.0.1:0|" \
    -e "s|^cert = .*|cert = $S/server-chain.crt|" -e "s|^key = .*|key = $S/server.key|" \
    "$P/etc/daneproxy/daneproxy.ini" >"$P$S/example.ini"
out=$(pkg daneproxy -t -c "$S/example.ini" 2>&1)
is "$?" 0 "daneproxy -t passes on the example once cert, key and addresses are set" || diag "$out"

# --- One DANE-authenticated connection through the installed daneproxy -------
lab_dns_start
lab_upstream_start js --proxy v2
cp "$LAB_TRUST_ANCHOR" "$P$S/ta.ds"
cat >"$P$S/smoke.ini" <<INI
[global]
user = daneproxy
workers = 2
[dns]
mode = validate
resolvers = $LAB_FWD_RESOLVER
trust_anchor_file = $S/ta.ds
[server js]
listen = 127.0.0.1:0
cert = $S/server-chain.crt
key = $S/server.key
upstream = 127.0.0.1:$UPSTREAM_PORT
forward = proxy-v2
allow = _lorawan-ns.ns1.dp.test
INI
chmod 0600 "$P$S"/*.key
out=$(pkg daneproxy -t -c "$S/smoke.ini" 2>&1)
is "$?" 0 "daneproxy -t on the smoke configuration (user = daneproxy)" || diag "$out"
lab_spawn pkgjs chroot "$P" /usr/bin/env -i PATH=/usr/sbin:/usr/bin /usr/sbin/daneproxy -c "$S/smoke.ini"
if lab_wait_log pkgjs 'ready \(pid' 10; then pass "the installed daneproxy serves"; else fail "the installed daneproxy serves"; fi
SPORT=$(dp_port pkgjs js)   # the port it got for listen = 127.0.0.1:0

REQ='POST / HTTP/1.1\r\nHost: js.dp.test\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}'
out=$(dp_testclient --connect "127.0.0.1:$SPORT" --cert "$LAB_CERTS/client.crt" --key "$LAB_CERTS/client.key" \
      --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --timeout-ms 5000 2>&1)
like "$out" 'result=ok' "a DANE-authenticated client gets through"
like "$out" 'HTTP/1.1 200' "... and the upstream answers"
lab_upstream_wait js 1 10 >/dev/null 2>&1
is "$(dp_upstream_last js 'r["proxy"]["identity"]')" "_lorawan-ns.ns1.dp.test" \
  "the upstream receives the verified identity in PROXY v2"
out=$(dp_testclient --connect "127.0.0.1:$SPORT" --cert "$LAB_CERTS/rogue.crt" --key "$LAB_CERTS/rogue.key" \
      --clientid _lorawan-ns.ns1.dp.test --send "$REQ" --timeout-ms 5000 2>&1)
like "$out" "result=alert alert=40" "a client with another key for the same name is refused"
is "$(dp_upstream_conns js)" 1 "... and never reaches the upstream"

uid=$(pkg id -u daneproxy)
master=$(lab_pid pkgjs) workers=""
for p in /proc/[0-9]*; do
  [[ $(awk '{print $4}' "$p/stat" 2>/dev/null) == "$master" ]] && workers+=" $(awk '/^Uid:/ {print $2 "/" $3 "/" $4 "/" $5}' "$p/status")"
done
is "$workers" " $uid/$uid/$uid/$uid $uid/$uid/$uid/$uid" "both workers run as daneproxy (real/effective/saved/fs uid)"
lab_stop pkgjs
like "$(cat "$LAB/pkgjs.log")" 'daneproxy stopped' "SIGTERM stops it cleanly"
done_testing
