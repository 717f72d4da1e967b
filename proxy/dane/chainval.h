/* chainval.h — a stapled DNSSEC chain (codec/dnschain.h) validated OFFLINE
 * against the configured trust anchor: no query is sent, the chain must
 * carry every DNSKEY, DS and RRSIG from the anchor down to the TLSA RRset.
 * Fail closed: only CHAINVAL_SECURE yields records.
 *
 * The validation is getdns_validate_dnssec2() (libgetdns 1.6, src/dnssec.c,
 * read at getdnsapi/getdns f8c95b4f). What it checks, from that source:
 *  - getdns_validate_dnssec2 → wire_validate_dnssec: the records to validate
 *    become chain heads (add_pkt2val_chain, one per RRset); the support
 *    records are the only place DNSKEY and DS sets are looked up.
 *  - chain_head_validate: the trust anchor (DS or DNSKEY) closest above the
 *    RRset's owner (_dname_is_parent); none above it → INDETERMINATE, so the
 *    chain's own DNSKEYs are never trusted without an anchor. A DNSKEY anchor
 *    whose algorithms are all unsupported (_getdns_dnskey_algo_id_is_supported)
 *    → INSECURE unless a DS anchor is also given.
 *  - ds_authenticates_keys: a DS digest matches a DNSKEY that signed its
 *    own DNSKEY set; key_matches_signer / dnskey_signed_rrset: an RRSIG
 *    counts only when its algorithm equals the key's, its key tag equals
 *    the key's (gldns_calc_keytag_raw), its signer name equals the DNSKEY
 *    owner, check_dates() holds (expiration after inception, inception
 *    before and expiration after `now` within `skew`, 32-bit serial
 *    arithmetic), and _getdns_verify_rrsig verifies the signature over the
 *    canonical RRset (sorted rdata, original TTL).
 *  - _getdns_verify_rrsig: owner labels > the RRSIG labels field means a
 *    wildcard expansion; a_key_signed_rrset then demands an NSEC/NSEC3
 *    covering the next closer name (find_nsec_covering_name), which it
 *    looks for among the records to validate only, never in the support:
 *    chainval_check gives it the chain's NSEC/NSEC3 RRs in a second call
 *    for an RRset the first call found BOGUS.
 *  - key_proves_nonexistance, nsec_covers_name, nsec3_covers_name,
 *    nsec3_find_next_closer: NSEC/NSEC3 denial (NXDOMAIN, NODATA, opt-out
 *    as INSECURE, insecure_delegation); nsec3_iteration_count_high turns a
 *    high NSEC3 iteration count into INSECURE.
 *  - The result per RRset is SECURE, BOGUS, INSECURE or INDETERMINATE;
 *    over several RRsets chain_validate_dnssec keeps the worst but lets
 *    SECURE beat INDETERMINATE, so chainval_check makes one call per RRset
 *    (each CNAME, then the TLSA RRset) and stops at the first not SECURE.
 *
 * Why not the other libraries already linked: libunbound (dane/dns_unbound.c)
 * validates only answers it fetched itself — it has no entry point taking a
 * chain of records as input; ldns has the primitives (ldns_verify_rrsig,
 * ldns_verify_trusted) but leaves the chain of trust, wildcard and denial
 * proofs to the caller, which is exactly the code not to write twice. */
#ifndef DP_CHAINVAL_H
#define DP_CHAINVAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dnsanswer.h"
#include "dnschain.h"
#include "tlsarr.h"

enum chainval_status {
	CHAINVAL_INDETERMINATE = 0,	/* no verdict (no anchor above the name, a link missing) */
	CHAINVAL_SECURE,		/* signed all the way from the anchor */
	CHAINVAL_BOGUS,			/* a signature, date or digest failed */
	CHAINVAL_INSECURE,		/* provably unsigned, or unsupported algorithms */
};

#define CHAINVAL_REASON_MAX 96

/* The trust anchors, read once. Opaque. */
struct chainval;

/* What chainval_check concluded. Zero-initialise before the first use;
 * chainval_result_clear frees it. */
struct chainval_result {
	enum chainval_status status;
	char reason[CHAINVAL_REASON_MAX];	/**< short, for a log line */
	struct tlsa_rrset tlsa;			/**< owned; records only when SECURE */
	int have_sig;				/**< the chain holds an RRSIG */
	uint32_t sig_expiration;		/**< earliest RRSIG expiration (raw) */
	int64_t sig_left;			/**< seconds from now to it (< 0: past) */
	/* SECURE only: the smallest TTL of the RRsets validated (the CNAMEs
	 * and the TLSA RRset), each capped by its RRSIGs' Original TTL; and
	 * when the TLSA RRset was synthesised from a wildcard (an RRSIG's
	 * Labels below the owner's label count, RFC 4034 §3.1.3), the
	 * wildcard's owner ("*._device.example.net"), else "". */
	uint32_t ttl;
	char wildcard[DNS_WILDCARD_MAX];
	/* INDETERMINATE because the chain holds no (usable) TLSA RRset at the
	 * name, whatever else it proves: a chain for another name. */
	int no_tlsa;
};

/* Reads the DS and DNSKEY records of trust_anchor_file (zone-file text, as
 * [dns] trust_anchor_file; other types are ignored). Returns DP_OK with *out
 * (the caller frees it: chainval_free), DP_ERR_IO (file unreadable),
 * DP_ERR_INVALID (not zone-file text, or no DS/DNSKEY in it), DP_ERR_NOMEM;
 * on failure *out is NULL and err (err_size > 0) says why. */
int chainval_new(const char *trust_anchor_file, struct chainval **out,
    char *err, size_t err_size);

/* Frees v. Accepts NULL. */
void chainval_free(struct chainval *v);

/* Validates the TLSA RRset of c at name (presentation form, an optional
 * final dot), reached through c's CNAMEs (at most DNSCHAIN_CNAME_MAX), as of
 * now. Each of those CNAME RRsets and the TLSA RRset is validated on its
 * own, with its RRSIGs; every other RR of c is support (DNSKEY, DS and their
 * RRSIGs). The reason names the first RRset not SECURE. res is
 * cleared first, then filled: the status, a reason, the TLSA records
 * (dnschain_tlsa) only when SECURE, the earliest RRSIG expiration of c
 * measured against now. Returns DP_OK whenever res holds a verdict (SECURE
 * or not), DP_ERR_INVALID (name not a DNS name, NULL arguments) or
 * DP_ERR_NOMEM, with res->status INDETERMINATE. */
int chainval_check(struct chainval *v, const struct dnschain *c,
    const char *name, time_t now, struct chainval_result *res);

/* Frees what res holds (not res) and zeroes it. Accepts NULL. */
void chainval_result_clear(struct chainval_result *res);

/* "secure", "bogus", "insecure", "indeterminate". */
const char *chainval_status_str(enum chainval_status s);

#endif
