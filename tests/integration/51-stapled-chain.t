#!/usr/bin/env bash
# Issue 16: client-stapled DNSSEC chains (RFC 9102 data in the leaf
# CertificateEntry beside dane_clientid, extension type 0xffdd by default).
#
# First, offline: tests/tools/dp-chain builds each chain from the lab's NSD
# (authoritative, so broken zones give chains too) and its --check parses
# and validates it with the server's own modules (codec/dnschain.c,
# dane/chainval.c): the verdict each attack below relies on. Then the test
# client against tests/tools/dp-extsink (a server that records what a
# client's leaf entry carries): the chain goes out byte for byte, only when
# asked.
#
# Then the server role: a listener with stapled_chain = require (the
# resolver never asked: lab_dns_query_count stays 0), another without
# stapled_max_age and with the RR cap in reach, one with accept (no chain: the lookup, as before), one with the
# default (off: the server does not ask), and a second daneproxy anchored at
# aged.test for stapled_max_age. dp-testclient --dnssec-chain staples the
# chains; each refusal is checked by the client's alert, the reason in
# daneproxy_handshake_failures_total, the log line's "stapled chain: ..."
# reason, and nothing reaching the upstream.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/lab.sh"
. "$here/../lib/proxy.sh"

lab_init
lab_certs
lab_dns_start
signed=$(date +%s)
C=$LAB_CERTS
# ldns-signzone's inception is the second it signs, and getdns (chainval's
# skew of 0) wants it strictly before now: a chain checked within that
# second is bogus. Wait for the clock to leave it (a condition, not a delay).
_clock_past() { [ "$(date +%s)" -gt "$signed" ]; }
lab_poll 3 _clock_past || bail "the clock does not move"
CH=$LAB/chains
mkdir -p "$CH"
REQ='GET /chain HTTP/1.1\r\nHost: js.dp.test\r\nConnection: close\r\n\r\n'

# ---- the chains, offline ------------------------------------------------

# build FILE NAME [dp-chain options]: the chain for NAME into $CH/FILE,
# checked against ${TA:-$LAB_TRUST_ANCHOR}, built up to ${ANCHOR:-dp.test};
# prints dp-chain's two lines (stderr into $CH/FILE.err).
build() {
  local file=$1 name=$2
  shift 2
  "$DP_BUILD/dp-chain" --server "$LAB_NSD" --anchor-zone "${ANCHOR:-dp.test}" \
    --check "${TA:-$LAB_TRUST_ANCHOR}" --out "$CH/$file" "$@" "$name" 2>"$CH/$file.err"
}

# chain FILE NAME VERDICT DESC [dp-chain options]: build it, one test point
# for the offline verdict (check=VERDICT); the sizes go to the TAP output.
chain() {
  local file=$1 name=$2 want=$3 desc=$4 out
  shift 4
  out=$(build "$file" "$name" "$@") || {
    fail "chain $file: built ($(tr '\n' ' ' <"$CH/$file.err"))"
    return 1
  }
  note "chain $file ($name $*): $(head -n 1 <<<"$out")"
  like "$out" "check=$want " "offline: $desc: $want"
}

chain good client.child.dp.test secure "signed child zone, DS from dp.test"
chain nsec3 client.nsec3.dp.test secure "NSEC3 child zone"
chain ns1 _lorawan-ns.ns1.dp.test secure "a name in the anchor zone itself"
chain tampered client.child.dp.test bogus "TLSA RRSIG tampered" --corrupt-rrsig TLSA
chain bogus client.bogus.dp.test bogus "a zone whose TLSA RRSIG NSD serves broken"
# chainval has no "expired" verdict: getdns's check_dates makes it bogus;
# the server tells expired from bogus by the chain's RRSIG dates
# (dnschain's sig_left), so it says chain_expired below.
chain expired client.expired.dp.test bogus "RRSIGs expired in 2020"
# A missing link below the anchor is BOGUS for getdns, not INDETERMINATE:
# without child.dp.test's DS, its DNSKEY set is one the anchor's chain
# never vouches for and the TLSA RRSIG fails (likewise with the child's
# DNSKEY, the anchor zone's DNSKEY or every RRSIG dropped).
chain nods client.child.dp.test bogus "DS of child.dp.test dropped" --drop DS@child.dp.test
chain insecure client.insecure.dp.test insecure "unsigned delegation, NSEC proving no DS"
# getdns wants the wildcard proof (find_nsec_covering_name) in the set it
# validates, not among the support records: until chainval passes it
# there, this says bogus.
chain wild x._device.dp.test secure "wildcard *._device with the NSEC proving no closer name"
chain wild-nonsec x._device.dp.test bogus "the same without its NSEC" --drop-nsec
chain wild3 x.wild.nsec3.dp.test secure "wildcard *.wild.nsec3 with the NSEC3 proving no closer name"
chain wild3-nonsec x.wild.nsec3.dp.test bogus "the same without its NSEC3" --drop-nsec
chain big client.child.dp.test secure "padded past 4096 bytes with unrelated CNAME records" --pad-bytes 4097
chain manyrrs client.child.dp.test oversize "padded to 300 RRs (the 256-RR cap)" --pad-rrs 300
chain trunc client.child.dp.test malformed "cut to 500 bytes" --raw-truncate 500
ANCHOR=aged.test chain noanchor client.aged.test indeterminate "aged.test, no anchor above it"
ANCHOR=aged.test TA=$LAB_AGED_TA chain aged client.aged.test secure "aged.test from its own DS"
like "$(wc -c <"$CH/big")" '^ *(409[7-9]|4[1-9][0-9][0-9])$' "the padded chain is 4097 bytes or a little more"

# Two anchors in one trust_anchor_file, in either order: the verdict must
# not depend on it.
cat "$LAB_TRUST_ANCHOR" "$LAB_AGED_TA" >"$LAB/ta-dp-aged.ds"
cat "$LAB_AGED_TA" "$LAB_TRUST_ANCHOR" >"$LAB/ta-aged-dp.ds"
for ta in ta-dp-aged ta-aged-dp; do
  TA=$LAB/$ta.ds chain "two-$ta" client.child.dp.test secure "$ta.ds: dp.test's name"
  ANCHOR=aged.test TA=$LAB/$ta.ds chain "two-aged-$ta" client.aged.test secure "$ta.ds: aged.test's name"
done

# ---- the test client, against a stand-in server -------------------------

# dp-extsink asks for dane_clientid and the chain in its CertificateRequest
# and records what the leaf entry carries: dp-testclient --dnssec-chain
# sends the file's bytes, only when asked, under --chain-type.
lab_spawn sink "$DP_BUILD/dp-extsink" --cert "$C/server-chain.crt" --key "$C/server.key" \
  --ext-type 0xffdc --ext-type 0xffdd --count 3 --out-prefix "$LAB/sink" --port-file "$LAB/sink.port"
lab_wait_file "$LAB/sink.port" 5 || bail "dp-extsink did not start"
SINK=$(<"$LAB/sink.port")
sink_conn() { # N [client options]
  local n=$1
  shift
  dp_testclient --connect "127.0.0.1:$SINK" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid client.child.dp.test --quiet "$@" 2>&1
  lab_wait_log sink "^conn=$n ext=0xffdd" 5
}
like "$(sink_conn 1 --dnssec-chain "$CH/big")" 'result=ok .*server_asked_clientid=1 server_asked_chain=1' \
  "client: the server's ask for the chain is seen"
ok "client: the leaf entry carries the chain file's bytes exactly" cmp "$LAB/sink.1.0xffdd" "$CH/big"
like "$(sink_conn 2 --dnssec-chain "$CH/good" --chain-type 0xfe01)" 'result=ok .*server_asked_chain=0' \
  "client: --chain-type 0xfe01: not asked for"
like "$(grep '^conn=2 ext=0xffdd' "$LAB/sink.log")" 'sent=0' "client: ... so not sent"
sink_conn 3 >/dev/null
like "$(grep '^conn=3 ' "$LAB/sink.log" | tr '\n' ' ')" 'ext=0xffdc sent=1 .*ext=0xffdd sent=0' \
  "client: without --dnssec-chain only dane_clientid is sent"

# ---- the server role ----------------------------------------------------

ALLOW='_lorawan-ns.ns1.dp.test, *._device.dp.test, *.child.dp.test, *.nsec3.dp.test, *.wild.nsec3.dp.test, *.insecure.dp.test, *.bogus.dp.test, *.expired.dp.test, *.aged.test'

# listener NAME UPSTREAM_PORT [extra lines]
listener() {
  printf '[server %s]\nlisten = 127.0.0.1:0\ncert = %s\nkey = %s\nupstream = 127.0.0.1:%s\n' \
    "$1" "$C/server-chain.crt" "$C/server.key" "$2"
  printf 'forward = proxy-v2\nallow = %s\nhandshake_timeout_ms = 5000\n%s\n' "$ALLOW" "${3:-}"
}

# dns_section TA: resolver-ad (the lookups of accept and off) and the
# anchor the stapled chains are validated from.
dns_section() {
  printf '[dns]\nmode = resolver-ad\nresolvers = %s\ntrust_anchor_file = %s\ntimeout_ms = 2000\n' \
    "$LAB_AD_RESOLVER" "$1"
  # One worker: "validated once, then cached" is a property of one
  # worker's cache.
  printf '[global]\nadmin = 127.0.0.1:0\nworkers = 1\n'
}

for u in up-req up-req2 up-typed up-acc up-off up-aged; do
  lab_upstream_start "$u" --proxy v2
done
{
  dns_section "$LAB_TRUST_ANCHOR"
  listener req "$UPSTREAM_UP_REQ_PORT" 'stapled_chain = require
max_chain_bytes = 4096
stapled_max_age = 7d'
  # require with no stapled_max_age (aged.test's chain is 10 days old) and
  # the format's own byte bound (the RR cap in reach)
  listener req2 "$UPSTREAM_UP_REQ2_PORT" 'stapled_chain = require
max_chain_bytes = 65539'
  listener typed "$UPSTREAM_UP_TYPED_PORT" 'stapled_chain = require
dane_chain_type = 0xfe01'
  listener acc "$UPSTREAM_UP_ACC_PORT" 'stapled_chain = accept'
  listener off "$UPSTREAM_UP_OFF_PORT"
} >"$LAB/dp.ini"
dp_start dp "$LAB/dp.ini" PORT_REQ=req PORT_REQ2=req2 PORT_TYPED=typed PORT_ACC=acc PORT_OFF=off APORT=admin ||
  bail "daneproxy refused the issue 16 configuration (server side not merged?)"
{
  dns_section "$LAB_AGED_TA"
  listener aged "$UPSTREAM_UP_AGED_PORT" 'stapled_chain = require
stapled_max_age = 7d'
  listener aged0 "$UPSTREAM_UP_AGED_PORT" 'stapled_chain = require'
} >"$LAB/dp-aged.ini"
dp_start dp-aged "$LAB/dp-aged.ini" PORT_AGED=aged PORT_AGED0=aged0 APORT_AGED=admin ||
  bail "daneproxy (aged.test anchor) did not start"

# metric LISTENER KIND VALUE [ADMIN_PORT]: daneproxy_handshake_failures_total
# (KIND reason) or daneproxy_stapled_chains_total (KIND result) of a server
# listener; "missing" when there is no such series.
metric() {
  local fam=handshake_failures_total
  [ "$2" = result ] && fam=stapled_chains_total
  dp_metric "${4:-$APORT}" "daneproxy_$fam{listener=\"$1\",role=\"server\",$2=\"$3\"}" 2>/dev/null ||
    echo missing
}
metric_ge() { # LISTENER KIND VALUE N [ADMIN_PORT]
  local v
  v=$(metric "$1" "$2" "$3" "${5:-}")
  [ "$v" != missing ] && [ "$v" -ge "$4" ]
}

# connect PORT NAME [client options]: dp-testclient with the lab's client
# certificate and NAME as dane_clientid.
connect() {
  local port=$1 name=$2
  shift 2
  dp_testclient --connect "127.0.0.1:$port" --cert "$C/client.crt" --key "$C/client.key" \
    --clientid "$name" --send "$REQ" --timeout-ms 8000 --quiet "$@" 2>&1
}

# accepted LISTENER PORT UPSTREAM NAME CHAIN DESC [client options]: the
# handshake succeeds with the chain stapled (CHAIN "-": none), the upstream
# sees NAME as the identity.
accepted() {
  local l=$1 port=$2 up=$3 name=$4 file=$5 desc=$6 before out args=()
  shift 6
  before=$(dp_upstream_conns "$up")
  [ "$file" = - ] || args=(--dnssec-chain "$CH/$file")
  out=$(connect "$port" "$name" "${args[@]}" "$@")
  like "$out" 'result=ok' "$l: $desc: accepted"
  if lab_upstream_wait "$up" $((before + 1)) 5; then
    is "$(dp_upstream_last "$up" 'r["proxy"]["identity"]')" "$name" "$l: $desc: the upstream sees the identity"
    is "$(dp_upstream_last "$up" 'r["proxy"]["ssl"]["verify"]')" 0 "$l: $desc: PP2 verify = 0"
  else
    fail "$l: $desc: the upstream recorded the connection"
  fi
}

# _refusal_seen NAME WORD LOG SUP0: a refused line for NAME naming the
# stapled chain's WORD, or the line left out as a repeat (a refusal of the
# same name for the same reason within 10 s, conn.c).
_refusal_seen() {
  grep -E "client_name=$1 .*reason=\"stapled chain: [^\"]*$2" "$LAB/$3.log" >/dev/null && return 0
  [ "$(suppressed "$3")" -gt "$4" ]
}
suppressed() { # DAEMON: daneproxy_log_suppressed_total, all listeners
  local p=$APORT
  [ "$1" = dp-aged ] && p=$APORT_AGED
  dp_metric_sum "$p" daneproxy_log_suppressed_total 2>/dev/null || echo 0
}

# refused LISTENER PORT UPSTREAM NAME CHAIN REASON DESC [ADMIN_PORT DAEMON]:
# the client gets an alert, the failure is counted under REASON (chain_X),
# logged with "stapled chain: X" (or left out as a repeat), nothing reaches
# the upstream.
refused() {
  local l=$1 port=$2 up=$3 name=$4 file=$5 reason=$6 desc=$7 aport=${8:-$APORT} daemon=${9:-dp}
  local before h0 sup0 out word args=()
  before=$(dp_upstream_conns "$up")
  h0=$(metric "$l" reason "$reason" "$aport")
  sup0=$(suppressed "$daemon")
  [ "$file" = - ] || args=(--dnssec-chain "$CH/$file")
  out=$(connect "$port" "$name" "${args[@]}")
  like "$out" 'result=alert' "$l: $desc: refused with an alert"
  if [ "$h0" = missing ]; then
    fail "$l: $desc: counted as $reason (no such series)"
  else
    ok "$l: $desc: counted as $reason" lab_poll 5 metric_ge "$l" reason "$reason" $((h0 + 1)) "$aport"
  fi
  word=${reason#chain_}
  word=${word//_/[_ ]}
  ok "$l: $desc: logged with the reason \"stapled chain: ... ${reason#chain_}\"" \
    lab_poll 5 _refusal_seen "${name//./\\.}" "$word" "$daemon" "$sup0"
  is "$(dp_upstream_conns "$up")" "$before" "$l: $desc: nothing reached the upstream"
}

# -- require --
q_child=$(lab_dns_query_count client.child.dp.test TLSA ad)
accepted req "$PORT_REQ" up-req client.child.dp.test good "a good chain"
like "$(connect "$PORT_REQ" client.child.dp.test --dnssec-chain "$CH/good")" 'result=ok .*server_asked_chain=1' \
  "req: the CertificateRequest asked for the chain"
ok "req: the chain was validated once" lab_poll 5 metric_ge req result validated 1
ok "req: ... and the second connection with the same chain found it cached" \
  lab_poll 5 metric_ge req result cached 1
is "$(metric req result validated)" 1 "req: ... not validated again"
is "$(lab_dns_query_count client.child.dp.test TLSA ad)" "$q_child" \
  "req: not one TLSA query for client.child.dp.test reached the resolver"
accepted req "$PORT_REQ" up-req client.nsec3.dp.test nsec3 "a chain through an NSEC3 zone"
accepted req "$PORT_REQ" up-req _lorawan-ns.ns1.dp.test ns1 "a chain of the anchor zone alone"
# The contract wants a wildcard answer with its proof accepted; see the
# offline point above for what chainval says today.
accepted req "$PORT_REQ" up-req x._device.dp.test wild "a wildcard answer with its NSEC"
is "$(dp_upstream_last up-req 'bytes.fromhex(r["proxy"]["ssl"]["tlvs"].get("0xe0", "")).decode()')" \
  '*._device.dp.test' "req: ... named as a wildcard to the upstream, as after a lookup"
accepted req "$PORT_REQ" up-req x.wild.nsec3.dp.test wild3 "a wildcard answer with its NSEC3"

refused req "$PORT_REQ" up-req client.child.dp.test tampered chain_bogus "TLSA RRSIG tampered"
refused req "$PORT_REQ" up-req client.bogus.dp.test bogus chain_bogus "a zone's broken TLSA RRSIG"
refused req "$PORT_REQ" up-req client.expired.dp.test expired chain_expired "RRSIGs expired in 2020"
refused req "$PORT_REQ" up-req _lorawan-ns.ns1.dp.test good chain_wrong_name \
  "client.child.dp.test's good chain sent for _lorawan-ns.ns1.dp.test"
# getdns: BOGUS for a link missing below the anchor (offline point above).
refused req "$PORT_REQ" up-req client.child.dp.test nods chain_bogus "DS of child.dp.test dropped"
refused req "$PORT_REQ" up-req client.insecure.dp.test insecure chain_insecure "unsigned delegation"
# Without the NSEC, getdns finds no proof that no closer name exists:
# BOGUS (a_key_signed_rrset), not INDETERMINATE.
refused req "$PORT_REQ" up-req x._device.dp.test wild-nonsec chain_bogus "a wildcard answer without its NSEC"
refused req "$PORT_REQ" up-req x.wild.nsec3.dp.test wild3-nonsec chain_bogus "a wildcard answer without its NSEC3"
refused req "$PORT_REQ" up-req client.child.dp.test big chain_oversize "4097+ bytes over max_chain_bytes = 4096"
refused req "$PORT_REQ" up-req client.child.dp.test trunc chain_malformed "a chain cut short"
refused req "$PORT_REQ" up-req client.child.dp.test - chain_missing "no chain at all"
refused req2 "$PORT_REQ2" up-req2 client.child.dp.test manyrrs chain_oversize "300 RRs, over the 256-RR cap"
# INDETERMINATE (chain_incomplete): a chain with no anchor above its name
# (on req2: its signatures are older than req's stapled_max_age).
refused req2 "$PORT_REQ2" up-req2 client.aged.test noanchor chain_incomplete "aged.test, no anchor above it"
ok "req: chains refused are counted" lab_poll 5 metric_ge req result refused 10
for n in client.expired.dp.test client.insecure.dp.test client.bogus.dp.test x._device.dp.test; do
  is "$(lab_dns_query_count "$n" TLSA ad)" 0 "req: no TLSA query for $n either"
done

# -- dane_chain_type --
accepted typed "$PORT_TYPED" up-typed client.child.dp.test good "the chain under dane_chain_type = 0xfe01" \
  --chain-type 0xfe01
like "$(connect "$PORT_TYPED" client.child.dp.test --dnssec-chain "$CH/good")" 'result=alert .*server_asked_chain=0' \
  "typed: a client offering 0xffdd is not asked"
refused typed "$PORT_TYPED" up-typed client.child.dp.test good chain_missing "the chain under 0xffdd, not the type asked for"

# -- accept --
absent0=$(metric acc result absent)
accepted acc "$PORT_ACC" up-acc client.child.dp.test - "no chain: a lookup instead"
ok "acc: ... the TLSA query reached the resolver" test "$(lab_dns_query_count client.child.dp.test TLSA ad)" -ge 1
if [ "$absent0" = missing ]; then
  fail "acc: ... counted as absent (no such series)"
else
  ok "acc: ... counted as absent" lab_poll 5 metric_ge acc result absent $((absent0 + 1))
fi
accepted acc "$PORT_ACC" up-acc client.nsec3.dp.test nsec3 "a chain where one is accepted"
is "$(lab_dns_query_count client.nsec3.dp.test TLSA ad)" 0 "acc: ... no TLSA query for it"

# -- off (the default) --
out=$(connect "$PORT_OFF" client.child.dp.test --dnssec-chain "$CH/good")
like "$out" 'result=ok .*server_asked_chain=0' "off: the server does not ask, the chain is never sent, the lookup authenticates"

# -- stapled_max_age: aged.test's signatures were made 10 days ago --
refused aged "$PORT_AGED" up-aged client.aged.test aged chain_expired \
  "signatures made 10 days ago, stapled_max_age = 7d" "$APORT_AGED" dp-aged
accepted aged0 "$PORT_AGED0" up-aged client.aged.test aged "the same chain, no stapled_max_age"

dp_stop_all_checked
done_testing
