/* dnsanswer.c — see dnsanswer.h.
 *
 * The real RCODE, the CNAME chain as the resolver followed it, the TLSA RRs
 * at its end, their TTL and the earliest expiration of the RRSIGs over them
 * (and whether those say the RRset was synthesised from a wildcard), the SOA
 * negative TTL. */
#include "dnsanswer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnswire.h"
#include "err.h"
#include "util.h"

#define DNS_RR_TYPE_TLSA 52


/* If rr, an RRSIG over owner's TLSA RRset, says the RRset was synthesised
 * from a wildcard (its Labels field is below owner's label count; RFC 4034
 * §3.1.3), writes the wildcard's owner ("*." + the rightmost Labels labels,
 * lower case, no final dot) to out. */
static void
note_wildcard(const ldns_rr *rr, const ldns_rdf *owner, char *out, size_t size)
{
	const ldns_rdf *lab = ldns_rr_rrsig_labels(rr);
	ldns_rdf *closest;
	uint8_t n = ldns_dname_label_count(owner), labels;
	char *s;
	size_t len;

	if (lab == NULL || (labels = ldns_rdf2native_int8(lab)) >= n ||
	    (closest = ldns_dname_clone_from(owner, (uint16_t)(n - labels))) == NULL)
		return;
	if ((s = ldns_rdf2str(closest)) != NULL) {
		len = strlen(s);
		if (len > 0 && s[len - 1] == '.')
			s[--len] = '\0';
		snprintf(out, size, "*.%s", s);
		dp_str_lower(out);
		free(s);
	}
	ldns_rdf_deep_free(closest);
}

/* Seconds from now until the RRSIG expiration exp (RFC 4034 serial number
 * arithmetic on 32-bit wall-clock seconds); negative when already past. */
static int64_t
sig_seconds_left(uint32_t exp, uint32_t now)
{
	return (int64_t)(int32_t)(exp - now);
}

/* Fills info from pkt, a response to "qname TLSA". Returns DP_OK or
 * DP_ERR_NOMEM. */
static int
parse_pkt(const ldns_pkt *pkt, const ldns_rdf *qname, uint32_t now,
    struct dns_answer *info)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	const ldns_rdf *cur = qname;
	size_t i, n, hops;
	int r;

	memset(info, 0, sizeof(*info));
	info->rcode = ldns_pkt_get_rcode(pkt);
	info->ad = ldns_pkt_ad(pkt);
	info->tc = ldns_pkt_tc(pkt);
	n = an != NULL ? ldns_rr_list_rr_count(an) : 0;

	/* The CNAME chain as the resolver already followed it. */
	for (hops = 0; hops < DNS_CNAME_MAX; hops++) {
		const ldns_rr *next = dnswire_cname(an, cur);
		if (next == NULL)
			break;
		cur = ldns_rr_rdf(next, 0);
	}

	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		const ldns_rdf *d;
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    ldns_dname_compare(ldns_rr_owner(rr), cur) != 0)
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG) {
			const ldns_rdf *tc = ldns_rr_rrsig_typecovered(rr);
			const ldns_rdf *ex = ldns_rr_rrsig_expiration(rr);
			int64_t left;
			if (tc == NULL || ex == NULL ||
			    ldns_rdf2rr_type(tc) != DNS_RR_TYPE_TLSA)
				continue;
			left = sig_seconds_left(ldns_rdf2native_int32(ex), now);
			if (!info->have_sig || left < info->sig_left)
				info->sig_left = left;
			info->have_sig = 1;
			note_wildcard(rr, cur, info->wildcard, sizeof(info->wildcard));
			continue;
		}
		if ((int)ldns_rr_get_type(rr) != DNS_RR_TYPE_TLSA)
			continue;
		/* usage, selector, matching type, data (ldns >= 1.8 splits
		 * the RDATA this way; an empty data field is malformed) */
		if (ldns_rr_rd_count(rr) != 4 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 0)) != 1 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 1)) != 1 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 2)) != 1)
			continue;
		d = ldns_rr_rdf(rr, 3);
		if (info->rrset.n == 0 || ldns_rr_ttl(rr) < info->tlsa_ttl)
			info->tlsa_ttl = ldns_rr_ttl(rr);
		if ((r = tlsa_rrset_add(&info->rrset,
		    ldns_rdf2native_int8(ldns_rr_rdf(rr, 0)),
		    ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)),
		    ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)),
		    ldns_rdf_data(d), ldns_rdf_size(d))) != DP_OK) {
			tlsa_rrset_clear(&info->rrset);
			return r;
		}
	}

	info->have_soa = dnswire_neg_ttl(pkt, &info->neg_ttl);
	return DP_OK;
}

uint32_t
dns_answer_secure_ttl(const struct dns_answer *info)
{
	uint32_t ttl = info->tlsa_ttl;

	if (info->have_sig) {
		if (info->sig_left <= 0)
			ttl = 0;
		else if ((uint64_t)info->sig_left < ttl)
			ttl = (uint32_t)info->sig_left;
	}
	return ttl;
}

int
dns_answer_parse(const unsigned char *wire, size_t len, const char *qname,
    uint32_t now, struct dns_answer *a)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *q = NULL;
	int r;

	memset(a, 0, sizeof(*a));
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
		return DP_ERR_INVALID;
	if ((q = ldns_dname_new_frm_str(qname)) == NULL) {
		ldns_pkt_free(pkt);
		return DP_ERR_INVALID;
	}
	r = parse_pkt(pkt, q, now, a);	/* zeroes *a first */
	a->id = ldns_pkt_id(pkt);
	a->question_ok = dnswire_question_ok(pkt, q, DNS_RR_TYPE_TLSA);
	ldns_rdf_deep_free(q);
	ldns_pkt_free(pkt);
	return r;
}

const char *
dns_rcode_str(int rcode)
{
	ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, rcode);

	return lt != NULL ? lt->name : "unknown";
}
