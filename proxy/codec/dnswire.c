/* dnswire.c — see dnswire.h. */
#include "dnswire.h"

int
dnswire_question_ok(const ldns_pkt *pkt, const ldns_rdf *qname,
    uint16_t qtype)
{
	const ldns_rr_list *qd = ldns_pkt_question(pkt);
	const ldns_rr *qrr;

	return ldns_pkt_qr(pkt) && ldns_pkt_get_opcode(pkt) == LDNS_PACKET_QUERY &&
	    qd != NULL && ldns_rr_list_rr_count(qd) == 1 &&
	    (qrr = ldns_rr_list_rr(qd, 0)) != NULL &&
	    (uint16_t)ldns_rr_get_type(qrr) == qtype &&
	    ldns_rr_get_class(qrr) == LDNS_RR_CLASS_IN &&
	    ldns_dname_compare(ldns_rr_owner(qrr), qname) == 0;
}

const ldns_rr *
dnswire_cname(const ldns_rr_list *an, const ldns_rdf *owner)
{
	size_t i, n = an != NULL ? ldns_rr_list_rr_count(an) : 0;

	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
		    ldns_rr_rd_count(rr) == 1 &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			return rr;
	}
	return NULL;
}

int
dnswire_neg_ttl(const ldns_pkt *pkt, uint32_t *ttl)
{
	const ldns_rr_list *ns = ldns_pkt_authority(pkt);
	size_t i, n = ns != NULL ? ldns_rr_list_rr_count(ns) : 0;

	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ns, i);
		uint32_t t;
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) != 7)
			continue;
		t = ldns_rr_ttl(rr);
		if (ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)) < t)
			t = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		*ttl = t;
		return 1;
	}
	return 0;
}
