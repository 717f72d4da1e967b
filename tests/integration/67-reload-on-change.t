#!/usr/bin/env bash
# reload_on_change: the master follows, with inotify, the files its
# configuration names and reloads by itself, as SIGHUP would, when one of
# them changes. A certificate and key reached as Kubernetes mounts a secret
# (cert.pem -> ..data/cert.pem, ..data -> ..2026_xx) are replaced by swapping
# ..data: the listener serves the new certificate without any signal. A
# broken key leaves the old one serving and says why; a later good swap
# recovers. An editor's write-and-rename of the configuration file and of
# plain certificate files triggers too, one reload for both files; with
# reload_on_change = no nothing happens until SIGHUP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
C=$LAB_CERTS
# Nothing here completes a handshake: the served certificate shows before
# the client's is judged. DNS and the upstream are ports nobody listens on.
read -r DEAD_DNS DEAD_UP < <(lab_port 2 | tr '\n' ' ')

# conf PORT CERT KEY [reload_on_change]: the configuration (PORT 0: any).
conf() {
  printf '[global]\nworkers = 1\nreload_on_change = %s\n' "${4:-yes}"
  printf '[dns]\nmode = resolver-ad\nresolvers = 127.0.0.1:%s\n' "$DEAD_DNS"
  printf '[server js]\nlisten = 127.0.0.1:%s\ncert = %s\nkey = %s\n' "$1" "$2" "$3"
  printf 'upstream = 127.0.0.1:%s\nallow = *\n' "$DEAD_UP"
}

# edit FILE: an editor's save: the new text (stdin) written beside FILE,
# then renamed over it.
edit() { cat >"$1.tmp~" && mv -f "$1.tmp~" "$1"; }

# served PORT: SHA-256 fingerprint of the certificate the listener serves.
served() {
  timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername js.dp.test \
    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1"; }
FP_A=$(fp "$C/server-chain.crt")
FP_B=$(fp "$C/js.crt")
[ "$FP_A" != "$FP_B" ] || bail "the lab's two certificates are the same"

# serves PORT FP: the listener serves the certificate FP now.
serves() { [ "$(served "$1")" = "$2" ]; }

# A directory as the kubelet writes a secret volume: the files in a
# timestamped directory, ..data a symbolic link to it, and each name a link
# through ..data. secret_version DIR VERSION CERT KEY makes DIR/..VERSION
# and swaps ..data to it atomically (a new link renamed over the old one),
# then removes the previous version, as the kubelet's AtomicWriter does.
secret_version() {
  local dir=$1 v=..$2 old
  mkdir -p "$dir/$v"
  cp "$3" "$dir/$v/cert.pem"
  cp "$4" "$dir/$v/key.pem"
  old=$(readlink "$dir/..data" 2>/dev/null)
  ln -s "$v" "$dir/..data_tmp"
  mv -T "$dir/..data_tmp" "$dir/..data"
  [ -e "$dir/cert.pem" ] || ln -s ..data/cert.pem "$dir/cert.pem"
  [ -e "$dir/key.pem" ] || ln -s ..data/key.pem "$dir/key.pem"
  [ -z "$old" ] || rm -rf "${dir:?}/$old"
}

# logged NAME REGEX: NAME's log has a line matching REGEX after the
# $MARK-th line (set by mark NAME), i.e. since the step began.
mark() { MARK=$(wc -l <"$LAB/$1.log"); }
since() { tail -n "+$((MARK + 1))" "$LAB/$1.log"; }
logged() { since "$1" | grep -Eq -- "$2"; }
wait_since() { # NAME REGEX [SECONDS=20]
  lab_poll "${3:-20}" logged "$1" "$2" || { diag "no /$2/ in $1.log"; return 1; }
}

# 1. The secret volume.
S=$LAB/secret
secret_version "$S" 2026_11_30_01 "$C/server-chain.crt" "$C/server.key"
conf 0 "$S/cert.pem" "$S/key.pem" >"$LAB/k.ini"
dp_start k "$LAB/k.ini" PORT=js || bail "no daneproxy"
like "$(cat "$LAB/k.log")" 'reload_on_change: watching 3 files' \
  "reload_on_change = yes: the configuration, the cert and the key are watched"
ok "the first certificate is served" serves "$PORT" "$FP_A"

# The configuration file saved as an editor does, naming the port it got:
# that alone reloads, and the socket is kept.
mark k
conf "$PORT" "$S/cert.pem" "$S/key.pem" | edit "$LAB/k.ini"
ok "the configuration rewritten (write, then rename): a reload, no signal" \
  wait_since k 'reload: generation 2 serving'
like "$(since k)" "reload_on_change: $LAB/k\.ini changed" "... and the log names the file"
ok "... the same port serves" serves "$PORT" "$FP_A"

# ..data swapped to a new version holding another certificate and key.
mark k
secret_version "$S" 2026_11_30_02 "$C/js.crt" "$C/js.key"
ok "..data swapped to a new certificate: a reload, no signal" \
  wait_since k 'reload: generation 3 serving'
like "$(since k)" "reload_on_change: $S/cert\.pem changed" "... the log names the cert"
like "$(since k)" "reload_on_change: $S/key\.pem changed" "... and the key"
is "$(since k | grep -c 'reload: reading')" 1 "... one reload for the whole swap"
ok "... and the new certificate is served" serves "$PORT" "$FP_B"

# A version whose key is broken: the reload fails, the old one serves.
printf 'not a key\n' >"$LAB/broken.key"
mark k
secret_version "$S" 2026_11_30_03 "$C/server-chain.crt" "$LAB/broken.key"
ok "a swap to a broken key: the reload fails" \
  wait_since k 'reload failed: .* is not valid; generation 3 keeps serving'
like "$(since k)" "reload: .*k\.ini:[0-9]+: key: " "... the log says which key"
ok "... and the previous certificate is still served" serves "$PORT" "$FP_B"

# The next good swap recovers.
mark k
secret_version "$S" 2026_11_30_04 "$C/server-chain.crt" "$C/server.key"
ok "the next good swap: a reload" wait_since k 'reload: generation 4 serving'
ok "... serving its certificate" serves "$PORT" "$FP_A"

# 2. Plain files, saved as an editor does: the cert and then the key, each
# written and renamed, make one reload (the debounce).
P=$LAB/plain
mkdir -p "$P"
cp "$C/server-chain.crt" "$P/cert.pem"
cp "$C/server.key" "$P/key.pem"
conf 0 "$P/cert.pem" "$P/key.pem" >"$LAB/p.ini"
dp_start p "$LAB/p.ini" PPORT=js || bail "no daneproxy"
mark p
conf "$PPORT" "$P/cert.pem" "$P/key.pem" | edit "$LAB/p.ini"
wait_since p 'reload: generation 2 serving' || diag "the configuration's port was not taken up"
# Both saved within a few ms (one process renames both, so that a loaded
# machine cannot stretch the gap past the debounce).
mark p
cp "$C/js.crt" "$P/cert.pem.tmp~"
cp "$C/js.key" "$P/key.pem.tmp~"
"$LAB_PYTHON" -c 'import os, sys; os.rename(sys.argv[1], sys.argv[2]); os.rename(sys.argv[3], sys.argv[4])' \
  "$P/cert.pem.tmp~" "$P/cert.pem" "$P/key.pem.tmp~" "$P/key.pem"
ok "plain files: cert and key replaced by rename: a reload" \
  wait_since p 'reload: generation 3 serving'
is "$(since p | grep -c 'reload: reading')" 1 "... one reload for both files"
unlike "$(since p)" 'reload failed' "... which did not see the cert without its key"
ok "... and the new certificate is served" serves "$PPORT" "$FP_B"

# In place (same inode, as `cat >` or a truncating editor).
mark p
cat "$C/server-chain.crt" >"$P/cert.pem"
cat "$C/server.key" >"$P/key.pem"
ok "rewritten in place: a reload" wait_since p 'reload: generation 4 serving'
ok "... serving the rewritten certificate" serves "$PPORT" "$FP_A"

# 3. reload_on_change switched off by a reload: the files are no longer
# followed; SIGHUP still reloads.
mark p
conf "$PPORT" "$P/cert.pem" "$P/key.pem" no | edit "$LAB/p.ini"
ok "reload_on_change = no written to the file: that change still reloads" \
  wait_since p 'reload: generation 5 serving'
ok "... and then the watch ends" wait_since p 'reload_on_change: no longer watching'
mark p
edit "$P/cert.pem" <"$C/js.crt"
edit "$P/key.pem" <"$C/js.key"
# Well past the 500 ms debounce: nothing may happen.
nok "reload_on_change = no: a changed cert and key do nothing (2 s)" \
  lab_poll 2 logged p 'reload_on_change|reload: reading'
ok "... the old certificate is still served" serves "$PPORT" "$FP_A"
kill -HUP "$(lab_pid p)"
ok "... until SIGHUP" wait_since p 'reload: generation 6 serving'
ok "... which serves the new one" serves "$PPORT" "$FP_B"

# 4. Started with reload_on_change = no.
conf 0 "$P/cert.pem" "$P/key.pem" no >"$LAB/n.ini"
dp_start n "$LAB/n.ini" NPORT=js || bail "no daneproxy"
unlike "$(cat "$LAB/n.log")" 'reload_on_change' "reload_on_change = no (the default): nothing is watched"
# ... and switched on by a SIGHUP reload: from then on changes reload.
mark n
conf "$NPORT" "$P/cert.pem" "$P/key.pem" yes >"$LAB/n.ini"
kill -HUP "$(lab_pid n)"
ok "reload_on_change = yes by SIGHUP: the files are watched from then on" \
  wait_since n 'reload_on_change: watching 3 files'
mark n
edit "$P/cert.pem" <"$C/server-chain.crt"
edit "$P/key.pem" <"$C/server.key"
ok "... a change then reloads" wait_since n 'reload: generation 3 serving'
ok "... serving the new certificate" serves "$NPORT" "$FP_A"

dp_stop_all_checked
done_testing
