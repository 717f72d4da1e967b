#!/usr/bin/env bash
# The LoRaWAN recipes of conf/examples/ (README "LoRaWAN", "Recipes") pass
# `daneproxy -t` as shipped, once their /etc/daneproxy paths name real files:
# each is copied into the lab, its cert/key paths are pointed at the lab's
# certificates (server-chain.crt/server.key in [server] sections,
# client.crt/client.key in [client] sections), its ts002_map at a copy of
# conf/examples/ts002-map.txt, and any other /etc/daneproxy path is a
# failure. Also: every key the examples set is documented in
# daneproxy.ini(5), and every /etc/daneproxy file they name is listed in
# conf/examples/README.md.
#
# No port is rewritten: -t checks the addresses but binds nothing (the
# master binds, after the checks), which the first test shows with a
# listen address no interface has. DNS stays on loopback: the copies'
# resolvers are 127.0.0.1:1, where nothing answers, with timeout_ms = 100,
# so a route's self_check warns (its record cannot be looked up) at once.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"

lab_init
lab_certs
C=$LAB_CERTS
DP=$DP_BUILD/daneproxy
EX=$DP_SOURCE_DIR/conf/examples
MAN=$DP_SOURCE_DIR/packaging/man/daneproxy.ini.5
[[ -x $DP ]] || bail "no daneproxy in $DP_BUILD"

# -t binds nothing: a listen address on no interface (TEST-NET-1) passes.
cat >"$LAB/nobind.ini" <<EOF
[dns]
mode = resolver-ad
resolvers = 127.0.0.1:1
[server s]
listen = 192.0.2.1:443
cert = $C/server-chain.crt
key = $C/server.key
upstream = 127.0.0.1:1
allow = *
EOF
ok "-t binds nothing (listen on an address no interface has passes)" \
  "$DP" -t -c "$LAB/nobind.ini"

want="basics-station-lns.ini chirpstack-js.ini chirpstack-ns-client.ini roaming-ns-a.ini roaming-ns-b.ini"
got=$(cd "$EX" && echo *.ini)
is "$got" "$want" "conf/examples holds the five recipes"
ok "conf/examples/ts002-map.txt is there" test -s "$EX/ts002-map.txt"
ok "conf/examples/README.md is there" test -s "$EX/README.md"

# localize FILE OUT: the example with lab paths and loopback-only DNS.
# Prints the /etc/daneproxy paths it did not know on stderr, exits 1 then.
localize() {
  awk -v c="$C" -v map="$LAB/ts002-map.txt" '
    /^\[/ { sect = $1; sub(/^\[/, "", sect); sub(/\]$/, "", sect) }
    /^timeout_ms[ \t]*=/ && sect == "dns" { next }
    /^resolvers[ \t]*=/ { print "resolvers = 127.0.0.1:1"; next }
    /^cert[ \t]*=/ { print "cert = " c (sect == "client" ? "/client.crt" : "/server-chain.crt"); next }
    /^key[ \t]*=/ { print "key = " c (sect == "client" ? "/client.key" : "/server.key"); next }
    /^ts002_map[ \t]*=/ { print "ts002_map = " map; next }
    /^[^;#].*\/etc\/daneproxy\// { print "unknown path: " $0 > "/dev/stderr"; bad = 1 }
    { print }
    /^\[dns\]/ { print "timeout_ms = 100" }
    END { exit bad }' "$1" >"$2"
}

cp "$EX/ts002-map.txt" "$LAB/ts002-map.txt"
for f in $want; do
  ok "$f: only cert, key and ts002_map name files under /etc/daneproxy" \
    localize "$EX/$f" "$LAB/$f"
  out=$("$DP" -t -c "$LAB/$f" 2>&1); rc=$?
  is "$rc" 0 "$f: daneproxy -t exits 0" || diag "$out"
  like "$out" "$LAB/$f: configuration OK" "$f: daneproxy -t says configuration OK"
  rest=$(grep -v -e ': configuration OK$' -e ': self_check: warning: ' <<<"$out")
  is "$rest" "" "$f: nothing else said but the routes' self_check warnings"
done

# The keys the man page documents: the words of the .B/.BR line after each
# .TP (".BR a \", \" b" documents a and b).
documented=$(awk 'prev == ".TP" && /^\.BR? / {
    gsub(/"[^"]*"/, " "); for (i = 2; i <= NF; i++) print $i }
  { prev = $1 }' "$MAN" | sort -u)
like "$documented" $'(^|\n)ts002_binding\n' "the man page's key list is read (ts002_binding is in it)"
missing=""
for k in $(sed -n 's/^\([a-z_0-9]*\)[ \t]*=.*/\1/p' "$EX"/*.ini | sort -u); do
  grep -qx "$k" <<<"$documented" || missing+=" $k"
done
is "$missing" "" "every key set in conf/examples is documented in daneproxy.ini(5)"

# Every file the examples name is documented where they are installed.
undocumented=""
for p in $(grep -ho '/etc/daneproxy/[A-Za-z0-9._-]*' "$EX"/*.ini | sort -u); do
  grep -qF "$p" "$EX/README.md" || undocumented+=" $p"
done
is "$undocumented" "" "every /etc/daneproxy file the examples name is in conf/examples/README.md"

done_testing
