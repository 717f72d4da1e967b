#!/usr/bin/env bash
# tests/bench/peers.sh --smoke: the peer benchmark (daneproxy, nginx's stream
# module and HAProxy terminating mutual TLS in front of one upstream) runs
# end to end with tiny sizes, and every proxy completes every connection of
# every measurement (the script checks each against the upstream's log). The
# numbers themselves are not asserted: the machine's load varies. Skipped
# only when a tool is missing (packaging/install-deps.sh --test installs
# them all). The daneproxy driven is DP_BUILD's, as for every other test.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"

out=$(mktemp "${TMPDIR:-/tmp}/peers-smoke.XXXXXX") || bail "mktemp failed"
report=$out.md
cleanup() { rm -f "$out" "$report"; }
tap_at_exit cleanup

t0=$EPOCHSECONDS
timeout 120 bash "$DP_SOURCE_DIR/tests/bench/peers.sh" --smoke --no-setup --out "$report" >"$out" 2>&1
rc=$?
if [[ $rc == 77 ]]; then
  skip_all "$(grep -m1 'missing' "$out")"
fi
secs=$((EPOCHSECONDS - t0))

is "$rc" 0 "peers.sh --smoke exits 0 (every check passed)" || _tap_diag_lines <"$out"
for p in daneproxy nginx haproxy; do
  line=$(grep "^check $p " "$out")
  like "$line" "^check $p mtls=ok tickets=ok handshake=ok bulk=ok latency=ok idle=ok" \
    "$p: mutual TLS enforced, and every connection of every measurement completed through it"
done
like "$(grep '^check daneproxy ' "$out")" ' stop=ok$' "daneproxy stopped cleanly after the run"
rows=$(grep -c '^| [A-Z]' "$report" 2>/dev/null)
is "$rows" 14 "--out wrote the table: a header and 13 measurement rows"
like "$(grep '^| Proxy CPU per mTLS handshake' "$report")" '^\| [^|]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+× \|$' \
  "the handshake row has a number per proxy and a ratio"
diag "peers.sh --smoke took ${secs}s"
[[ ${DP_VERBOSE:-0} == 1 ]] && _tap_diag_lines <"$out"
done_testing
