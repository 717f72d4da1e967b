#!/usr/bin/env bash
# The command line: -V, -h, and -t reporting every problem as
# FILE:LINE: key: reason (syntax first, then files, keys and trust anchors).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"

lab_init
lab_certs
C=$LAB_CERTS
DP=$DP_BUILD/daneproxy

like "$("$DP" -V)" '^daneproxy [0-9]+\.[0-9]+\.[0-9]+$' "-V prints the version"
like "$("$DP" -h)" 'usage: daneproxy' "-h prints usage"
"$DP" >/dev/null 2>&1; is "$?" 2 "no arguments: usage error, exit 2"

# write_conf FILE [PORT=0]: a valid configuration listening on PORT (0: any),
# the lines numbered as below.
write_conf() {
  cat >"$1" <<EOF
[dns]
mode = resolver-ad
resolvers = 127.0.0.1:53

[server js]
listen = 127.0.0.1:${2:-0}
cert = $C/server-chain.crt
key = $C/server.key
upstream = 127.0.0.1:8080
allow = *._device.example.net
EOF
}

write_conf "$LAB/good.ini"
out=$("$DP" -t -c "$LAB/good.ini" 2>&1); rc=$?
is "$rc" 0 "-t: a valid configuration passes"
like "$out" 'configuration OK' "-t: says so"
out=$("$DP" -T -c "$LAB/good.ini" 2>/dev/null)
like "$out" 'handshake_timeout_ms = 10000' "-T prints the effective configuration with defaults"

# Syntax errors: all of them, each with its line.
cat >"$LAB/syntax.ini" <<EOF
[dns]
mode = validate
timeout_ms = 5

[server js]
listen = 127.0.0.1:99999
cert = $C/server-chain.crt
key = $C/server.key
upstream = 127.0.0.1:8080
allow = *.example.net
colour = blue
forward = carrier-pigeon
EOF
out=$("$DP" -t -c "$LAB/syntax.ini" 2>&1); rc=$?
is "$rc" 1 "-t: syntax errors exit 1"
like "$out" "syntax.ini:3: timeout_ms: " "-t: out-of-range number named with its line"
like "$out" "syntax.ini:6: listen: " "-t: bad address named with its line"
like "$out" "syntax.ini:11: colour: unknown key" "-t: unknown key named with its line"
like "$out" "syntax.ini:12: forward: " "-t: bad enum value named with its line"
is "$(printf '%s\n' "$out" | grep -c 'syntax.ini:')" 4 "-t: exactly the four errors"

# Files: missing certificate, key not matching, missing trust anchor.
write_conf "$LAB/nocert.ini"
sed -i "s|^cert = .*|cert = $LAB/missing.crt|" "$LAB/nocert.ini"
out=$("$DP" -t -c "$LAB/nocert.ini" 2>&1); rc=$?
is "$rc" 1 "-t: missing certificate file fails"
like "$out" "nocert.ini:7: cert: cannot load certificate chain $LAB/missing.crt" "-t: ... named with file, line and key"

write_conf "$LAB/wrongkey.ini"
sed -i "s|^key = .*|key = $C/rogue.key|" "$LAB/wrongkey.ini"
out=$("$DP" -t -c "$LAB/wrongkey.ini" 2>&1); rc=$?
is "$rc" 1 "-t: key not matching the certificate fails"
like "$out" "wrongkey.ini:8: key: private key does not match" "-t: ... named with file, line and key"

write_conf "$LAB/noanchor.ini"
sed -i "s|^mode = resolver-ad|mode = validate\ntrust_anchor_file = $LAB/missing.key|" "$LAB/noanchor.ini"
out=$("$DP" -t -c "$LAB/noanchor.ini" 2>&1); rc=$?
is "$rc" 1 "-t: unreadable trust anchor fails"
like "$out" "noanchor.ini:3: " "-t: ... named with the trust_anchor_file line"

write_conf "$LAB/nouser.ini"
printf '[global]\nuser = no-such-user-dp\n' >>"$LAB/nouser.ini"
out=$("$DP" -t -c "$LAB/nouser.ini" 2>&1); rc=$?
is "$rc" 1 "-t: a user that does not exist fails"
like "$out" "nouser.ini:[0-9]+: user: no such user 'no-such-user-dp'" "... named with file, line and key"

out=$("$DP" -t -c "$LAB/does-not-exist.ini" 2>&1); rc=$?
is "$rc" 1 "-t: missing configuration file fails"
like "$out" "does-not-exist.ini:0: " "-t: ... as FILE:0"

# A port already taken: daneproxy exits non-zero with the reason.
read -r holder port <<<"$(lab_hold_port)"
write_conf "$LAB/busy.ini" "$port"
out=$(timeout 10 "$DP" -c "$LAB/busy.ini" 2>&1); rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
isnt "$rc" 0 "a listen address in use: exits non-zero"
like "$out" "busy.ini:5: listen: cannot listen on 127.0.0.1:$port" "... and says which listener and why"

# The admin address taken: the same.
write_conf "$LAB/busyadmin.ini"
read -r holder aport <<<"$(lab_hold_port)"
printf '[global]\nadmin = 127.0.0.1:%s\n' "$aport" >>"$LAB/busyadmin.ini"
out=$(timeout 10 "$DP" -c "$LAB/busyadmin.ini" 2>&1); rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
is "$rc" 1 "the admin address in use: exits 1"
like "$out" "busyadmin.ini:[0-9]+: admin: cannot listen on 127.0.0.1:$aport: Address already in use" "... and says why"

# The master dies (SIGKILL): its workers follow it, none is left serving.
write_conf "$LAB/orphan.ini"
sed -i 's/^\[dns\]/[global]\nworkers = 2\n[dns]/' "$LAB/orphan.ini"
lab_spawn orphan "$DP" -c "$LAB/orphan.ini"
lab_wait_log orphan 'ready \(pid' 10
master=$(lab_pid orphan)
kids=$(for p in /proc/[0-9]*; do [ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$master" ] && echo "${p#/proc/}"; done)
is "$(echo "$kids" | wc -w)" 2 "two workers under the master"
kill -KILL "$master"
gone() { for p in $kids; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
ok "master killed: its workers exit too" lab_poll 5 gone

done_testing
