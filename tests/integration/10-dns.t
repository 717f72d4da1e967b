#!/bin/bash
# 10-dns.t -- DNSSEC-validated TLSA lookups (proxy/dane/dns.c) through the TLSA
# cache (proxy/dane/cache.c), with tests/tools/dp-lookup against the lab: both back
# ends (validate: libunbound forwarding to the lab's non-validating Unbound,
# trust anchor = DS of dp.test.; resolver-ad: the lab's validating Unbound and
# its AD bit), every DNSSEC case of the lab zones, a dead resolver, fail-over,
# and in-flight merging counted at the resolver.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lab.sh"

lab_skip_unless_root_tools
LOOKUP=$DP_BUILD/dp-lookup
[[ -x $LOOKUP ]] || skip_all "$LOOKUP not built"
lab_init
lab_dns_start || bail "the DNS lab did not start"

VALIDATE=(--mode validate --resolver "$LAB_FWD_RESOLVER" --ta "$LAB_TRUST_ANCHOR")
RESOLVER_AD=(--mode resolver-ad --resolver "$LAB_AD_RESOLVER")

# lookup OUT ARGS...: run dp-lookup, stdout to $LAB/OUT.out, stderr to
# $LAB/OUT.log (shown on failure); sets LOOKUP_RC and LOOKUP_MS (wall time).
lookup() {
	local out=$1 t0
	shift
	t0=$(_lab_now_ms)
	"$LOOKUP" "$@" >"$LAB/$out.out" 2>"$LAB/$out.log"
	LOOKUP_RC=$?
	LOOKUP_MS=$(($(_lab_now_ms) - t0))
}

# field OUT NAME: the first result line for NAME, without the name.
line() { sed -n "s/^$2 //p" "$LAB/$1.out" | head -n 1; }
queries() { sed -n 's/^queries=//p' "$LAB/$1.out"; }
# round_ms OUT N: the time dp-lookup reports for round N.
round_ms() { sed -n "s/^# round $2: \\([0-9.]*\\) ms$/\\1/p" "$LAB/$1.log"; }

EE=$("$DP_SOURCE_DIR/certs/tlsa.sh" 3 1 1 "$LAB_CERTS/client.crt") || bail "tlsa.sh failed"
EE="3 1 1 ${EE^^}"
ROGUE=$("$DP_SOURCE_DIR/certs/tlsa.sh" 3 1 1 "$LAB_CERTS/rogue.crt") || bail "tlsa.sh failed"
ROGUE="3 1 1 ${ROGUE^^}"

# ---- merging, on cold caches: 200 lookups of one name, one query ----------
MERGE=_lorawan-ns.ns1.dp.test
for mode in resolver-ad validate; do
	if [[ $mode == validate ]]; then args=("${VALIDATE[@]}"); which=fwd
	else args=("${RESOLVER_AD[@]}"); which=ad; fi
	lookup "merge-$mode" "${args[@]}" --repeat 200 --rounds 2 "$MERGE"
	is "$LOOKUP_RC" 0 "$mode: --repeat 200 completes"
	is "$(grep -c "^$MERGE secure ttl=[0-9]* records=$EE\$" "$LAB/merge-$mode.out")" 400 \
		"$mode: 200 secure answers in each of 2 rounds, same record"
	is "$(queries "merge-$mode")" 1 "$mode: queries=1 (200 merged, round 2 from the cache)"
	is "$(lab_dns_query_count "$MERGE" TLSA "$which")" 1 \
		"$mode: the resolver saw the TLSA query once"
	diag "$mode: cold lookup (cold resolver caches) $(round_ms "merge-$mode" 1) ms," \
		"warm from our cache $(round_ms "merge-$mode" 2) ms for 200 gets"
done

# ---- every DNSSEC case, both modes -----------------------------------------
NAMES=(_lorawan-ns.ns1.dp.test dev1._device.dp.test client.child.dp.test
	client.nsec3.dp.test client.insecure.dp.test client.bogus.dp.test
	client.expired.dp.test nothere.dp.test ns1.dp.test multi.dp.test)
declare -A WANT=(
	[_lorawan-ns.ns1.dp.test]=secure [dev1._device.dp.test]=secure
	[client.child.dp.test]=secure [client.nsec3.dp.test]=secure
	[client.insecure.dp.test]=insecure [nothere.dp.test]=nxdomain
	[ns1.dp.test]=nodata [multi.dp.test]=secure
)
for mode in validate resolver-ad; do
	if [[ $mode == validate ]]; then
		args=("${VALIDATE[@]}"); bogus=bogus
	else
		# The validating resolver says SERVFAIL for bogus data.
		args=("${RESOLVER_AD[@]}"); bogus=servfail/error
	fi
	lookup "all-$mode" "${args[@]}" --timeout-ms 3000 "${NAMES[@]}"
	is "$LOOKUP_RC" 0 "$mode: all lookups complete"
	for n in "${NAMES[@]}"; do
		want=${WANT[$n]:-$bogus}
		l=$(line "all-$mode" "$n")
		like "$l" "^$want ttl=" "$mode: $n is $want"
	done
	like "$(line "all-$mode" dev1._device.dp.test)" "^secure ttl=([1-9][0-9]?|[12][0-9][0-9]|300) records=$EE\$" \
		"$mode: wildcard answer carries the record, TTL 1..300"
	l=$(line "all-$mode" multi.dp.test)
	ok "$mode: multi.dp.test has both records" \
		test "$(tr ',' '\n' <<<"${l#*records=}" | sort | tr '\n' ';')" == \
		"$(printf '%s\n' "$EE" "$ROGUE" | sort | tr '\n' ';')"
	like "$(line "all-$mode" client.insecure.dp.test)" "records=-\$" \
		"$mode: no records handed out for an insecure answer"
	like "$(line "all-$mode" nothere.dp.test)" "^nxdomain ttl=([1-9][0-9]?|[12][0-9][0-9]|300) " \
		"$mode: NXDOMAIN TTL from the SOA"
	is "$(queries "all-$mode")" "${#NAMES[@]}" "$mode: one query per name"
	if [[ $mode == validate ]]; then
		like "$(cat "$LAB/all-$mode.log")" "client\\.bogus\\.dp\\.test: validation failure" \
			"validate: unbound's reason for bogus is passed on"
	fi
done

# ---- a resolver that is not there --------------------------------------------
for mode in validate resolver-ad; do
	lookup "dead-$mode" --mode "$mode" --resolver "$LAB_DEAD_RESOLVER" \
		--ta "$LAB_TRUST_ANCHOR" --timeout-ms 800 multi.dp.test
	is "$LOOKUP_RC" 0 "$mode: dead resolver: the lookup completes"
	like "$(line "dead-$mode" multi.dp.test)" '^timeout ttl=0 records=-$' \
		"$mode: dead resolver: timeout"
	ok "$mode: dead resolver: within timeout_ms + 500 ms (took ${LOOKUP_MS} ms)" \
		test "$LOOKUP_MS" -lt 1300
done

# A dead resolver first, the validating one second: refused at once, next.
lookup failover --mode resolver-ad --resolver "$LAB_DEAD_RESOLVER" \
	--resolver "$LAB_AD_RESOLVER" --timeout-ms 2000 multi.dp.test
like "$(line failover multi.dp.test)" '^secure ' "resolver-ad: fails over to the second resolver"
ok "resolver-ad: fail-over without waiting out a try (took ${LOOKUP_MS} ms)" \
	test "$LOOKUP_MS" -lt 450

# ---- freeing the client with lookups in flight (no callback, no leak) --------
for mode in validate resolver-ad; do
	lookup "free-$mode" --mode "$mode" --resolver "$LAB_DEAD_RESOLVER" \
		--ta "$LAB_TRUST_ANCHOR" --timeout-ms 3000 --free-after-ms 100 \
		--repeat 3 free1.dp.test free2.dp.test
	is "$LOOKUP_RC" 0 "$mode: client freed with lookups in flight (sanitizers quiet)"
	is "$(cat "$LAB/free-$mode.out")" "freed pending=6" "$mode: no callback ran"
done

# ---- usage errors -------------------------------------------------------------
lookup badname "${RESOLVER_AD[@]}" 'bad name.dp.test'
is "$LOOKUP_RC" 1 "a malformed name is refused (exit 1)"
like "$(line badname 'bad name.dp.test')" '^error invalid input$' "and reported"
is "$(queries badname)" 0 "no query sent for it"
lookup badta --mode validate --resolver "$LAB_FWD_RESOLVER" --ta "$LAB/nonexistent" multi.dp.test
is "$LOOKUP_RC" 2 "validate: a missing trust anchor file fails at start"
like "$(cat "$LAB/badta.log")" 'trust anchor file' "with a message naming it"

done_testing
