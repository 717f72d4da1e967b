#!/bin/bash
# 52-staple-build.t -- a client's own DNSSEC chain for stapling
# (proxy/dane/staple.c, through dns_lookup_rrsets) built against the lab with
# tests/tools/dp-staple, in both DNS modes (validate: libunbound forwarding to
# the lab's non-validating Unbound, trust anchor = DS of dp.test.;
# resolver-ad: the lab's validating Unbound and its AD bit). Every chain built
# is checked again offline from its file (dp-staple --validate:
# codec/dnschain.c, dane/chainval.c), its RR counts asserted; the same chain
# with its DS, DNSKEY or NSEC RRs dropped is refused; names whose chain must
# not be built (unsigned zone, bogus or expired signatures, no TLSA) give
# result=error with a reason and no file.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

lab_skip_unless_root_tools
STAPLE=$DP_BUILD/dp-staple
[[ -x $STAPLE ]] || skip_all "$STAPLE not built"
lab_init
lab_dns_start || bail "the DNS lab did not start"

VALIDATE=(--mode validate --resolver "$LAB_FWD_RESOLVER")
RESOLVER_AD=(--mode resolver-ad --resolver "$LAB_AD_RESOLVER")
TA=(--trust-anchor "$LAB_TRUST_ANCHOR")

# run OUT ARGS...: dp-staple, stdout to $LAB/OUT.out, stderr to $LAB/OUT.log
# (shown on failure); sets RC and LINE (the first line of stdout).
run() {
	local out=$1
	shift
	"$STAPLE" "$@" >"$LAB/$out.out" 2>"$LAB/$out.log"
	RC=$?
	LINE=$(head -n 1 "$LAB/$out.out")
}
# field LINE KEY: the value of KEY=VALUE in LINE.
field() { sed -n "s/^\\(.* \\)\\{0,1\\}$2=\\([^ ]*\\).*/\\2/p" <<<"$1"; }

# What each chain holds: the lab's zones have a KSK and a ZSK each, sign
# every RRset once (with the ZSK; DNSKEY with the KSK), and dp.test. is the
# anchor (no DS RRset for it in the chain).
#   child, nsec3: TLSA + DNSKEY x2 + DS of the child zone, DNSKEY x2 of dp.test
#   ns1: TLSA + DNSKEY x2 of dp.test
#   x._device: TLSA synthesised from *._device.dp.test, its NSEC proof
NAMES=(client.child.dp.test _lorawan-ns.ns1.dp.test x._device.dp.test
	client.nsec3.dp.test)
declare -A WANT=(
	[client.child.dp.test]="rrs=10 rrsigs=4 dnskey=4 ds=1 nsec=0 nsec3=0 cname=0 tlsa=1"
	[_lorawan-ns.ns1.dp.test]="rrs=5 rrsigs=2 dnskey=2 ds=0 nsec=0 nsec3=0 cname=0 tlsa=1"
	[x._device.dp.test]="rrs=7 rrsigs=3 dnskey=2 ds=0 nsec=1 nsec3=0 cname=0 tlsa=1"
	[client.nsec3.dp.test]="rrs=10 rrsigs=4 dnskey=4 ds=1 nsec=0 nsec3=0 cname=0 tlsa=1"
)

for mode in validate resolver-ad; do
	if [[ $mode == validate ]]; then args=("${VALIDATE[@]}"); else args=("${RESOLVER_AD[@]}"); fi
	for n in "${NAMES[@]}"; do
		f=$LAB/$n.$mode.chain
		run "$n.$mode" "${args[@]}" "${TA[@]}" --name "$n" --out "$f"
		is "$RC" 0 "$mode: $n: built"
		like "$LINE" '^result=ok ' "$mode: $n: result=ok"
		diag "$mode: $n: $LINE"
		got=""
		for kv in ${WANT[$n]}; do
			got+="${kv%%=*}=$(field "$LINE" "${kv%%=*}") "
		done
		is "${got% }" "${WANT[$n]}" "$mode: $n: RR counts"
		is "$(stat -c %s "$f" 2>/dev/null)" "$(field "$LINE" bytes)" \
			"$mode: $n: --out holds the bytes reported"
		now=$(date +%s)
		exp=$(field "$LINE" sig_expires)
		ok "$mode: $n: sig_expires in the future" test "${exp:-0}" -gt "$now"
		ref=$(field "$LINE" refresh_in)
		ok "$mode: $n: refresh within an hour (refresh_in=$ref)" \
			test "${ref:--1}" -ge 1 -a "${ref:--1}" -le 3600

		# The file alone, validated offline from the anchor.
		run "$n.$mode.check" --validate "$f" "${TA[@]}" --name "$n"
		is "$RC" 0 "$mode: $n: the file validates offline"
		like "$LINE" '^status=secure tlsa=1 ' "$mode: $n: status=secure, one TLSA record"
	done
	like "$(cat "$LAB/client.child.dp.test.$mode.log")" \
		"staple: client\\.child\\.dp\\.test: chain built: bytes=[0-9]+ rrs=10 rrsigs=4 " \
		"$mode: one log line for the build"
done

# The two modes walk the same zones: the same RRs (owner case, order and
# TTLs may differ, so compare the sizes).
for n in "${NAMES[@]}"; do
	is "$(stat -c %s "$LAB/$n.resolver-ad.chain" 2>/dev/null)" \
		"$(stat -c %s "$LAB/$n.validate.chain" 2>/dev/null)" "$n: same size in both modes"
done

# ---- every link matters: the chain without it is refused --------------------
f=$LAB/client.child.dp.test.validate.chain
for t in DS DNSKEY; do
	run "child-drop-$t" --validate "$f" "${TA[@]}" --name client.child.dp.test --drop "$t"
	is "$RC" 1 "client.child.dp.test without its $t RRs: refused"
	unlike "$LINE" '^status=secure' "client.child.dp.test without $t: not secure ($LINE)"
done
f=$LAB/x._device.dp.test.validate.chain
run wild-drop-nsec --validate "$f" "${TA[@]}" --name x._device.dp.test --drop NSEC
is "$RC" 1 "x._device.dp.test without the NSEC proof: refused"
like "$LINE" '^status=bogus' "x._device.dp.test without the NSEC proof: bogus ($LINE)"
run wild-other-name --validate "$f" "${TA[@]}" --name y._device.dp.test
is "$RC" 1 "x._device.dp.test's chain does not vouch for y._device.dp.test"

# ---- chains that must not be built ------------------------------------------
declare -A REFUSE_V=(
	[client.insecure.dp.test]='insecure' [client.bogus.dp.test]='bogus'
	[client.expired.dp.test]='bogus' [ns1.dp.test]='nodata'
	[nothere.dp.test]='nxdomain'
)
declare -A REFUSE_AD=(
	[client.insecure.dp.test]='insecure: no AD bit' [client.bogus.dp.test]='servfail'
	[client.expired.dp.test]='servfail' [ns1.dp.test]='nodata'
	[nothere.dp.test]='nxdomain'
)
for mode in validate resolver-ad; do
	for n in client.insecure.dp.test client.bogus.dp.test client.expired.dp.test \
		ns1.dp.test nothere.dp.test; do
		if [[ $mode == validate ]]; then
			args=("${VALIDATE[@]}"); why=${REFUSE_V[$n]}
		else
			args=("${RESOLVER_AD[@]}"); why=${REFUSE_AD[$n]}
		fi
		f=$LAB/$n.$mode.chain
		run "refuse-$n.$mode" "${args[@]}" "${TA[@]}" --name "$n" --out "$f"
		is "$RC" 1 "$mode: $n: no chain"
		like "$LINE" "^result=error why=\"TLSA $n: $why" "$mode: $n: the reason ($LINE)"
		ok "$mode: $n: no file written" test ! -e "$f"
	done
done

# A trust anchor that is not one: refused at creation, before any lookup.
printf 'dp.test. 3600 IN A 127.0.0.1\n' >"$LAB/not-a-ta"
run good-ta "${RESOLVER_AD[@]}" --trust-anchor "$LAB_TRUST_ANCHOR" --name client.child.dp.test
is "$RC" 0 "control: the real anchor works"
run bad-ta "${RESOLVER_AD[@]}" --trust-anchor "$LAB/not-a-ta" --name client.child.dp.test
is "$RC" 2 "an anchor file without DS or DNSKEY: setup error"
like "$(cat "$LAB/bad-ta.log")" "no DS or DNSKEY" "the reason names it"

done_testing
