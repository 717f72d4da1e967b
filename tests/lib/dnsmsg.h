/* dnsmsg.h — for the unit tests of the DNS answer parsers: a response
 * built with ldns from zone-file text. Header-only, like tap.h. */
#ifndef DP_TEST_DNSMSG_H
#define DP_TEST_DNSMSG_H

#include <stdio.h>

#include <ldns/ldns.h>

#include "tap.h"

/* A response (ID 4242, QR RD RA, AD as given, rcode) to "qname qtype IN"
 * holding the RRs (zone-file lines, TTL 300 by default, NULL-terminated
 * lists) of the answer and authority sections. Its wire form goes to *wire
 * (free it); returns its length, 0 when ldns cannot encode it. */
static inline size_t
dnsmsg_build(const char *qname, const char *qtype, ldns_pkt_rcode rcode,
    int ad, const char *const *answer, const char *const *authority,
    uint8_t **wire)
{
	const char *const *lists[2] = { answer, authority };
	const ldns_pkt_section sections[2] = { LDNS_SECTION_ANSWER,
	    LDNS_SECTION_AUTHORITY };
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_rr *q = NULL;
	size_t len = 0, s;
	char line[512];

	snprintf(line, sizeof(line), "%s IN %s", qname, qtype);
	ldns_pkt_set_id(pkt, 4242);
	ldns_pkt_set_qr(pkt, 1);
	ldns_pkt_set_rd(pkt, 1);
	ldns_pkt_set_ra(pkt, 1);
	ldns_pkt_set_ad(pkt, ad);
	ldns_pkt_set_rcode(pkt, rcode);
	if (ldns_rr_new_question_frm_str(&q, line, NULL, NULL) == LDNS_STATUS_OK)
		ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q);
	for (s = 0; s < 2; s++) {
		const char *const *rrs = lists[s];
		for (; rrs != NULL && *rrs != NULL; rrs++) {
			ldns_rr *rr = NULL;
			if (ldns_rr_new_frm_str(&rr, *rrs, 300, NULL, NULL) ==
			    LDNS_STATUS_OK)
				ldns_pkt_push_rr(pkt, sections[s], rr);
			else
				diag("bad test RR: %s", *rrs);
		}
	}
	if (ldns_pkt2wire(wire, pkt, &len) != LDNS_STATUS_OK)
		len = 0;
	ldns_pkt_free(pkt);
	return len;
}

#endif
