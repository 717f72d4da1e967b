/* dnswire.h — what the DNS answer parsers (dnsanswer.c for TLSA,
 * dnstargets.c for the TS002 binding's NAPTR/CNAME) read the same way from
 * an ldns packet: the question, the CNAME chain the resolver followed, the
 * negative TTL of a denial. The one header of the codec layer that shows
 * ldns types; only those two parsers include it. */
#ifndef DP_DNSWIRE_H
#define DP_DNSWIRE_H

#include <stdint.h>

#include <ldns/ldns.h>

/* The longest CNAME chain followed inside one answer. */
#define DNS_CNAME_MAX 16

/* pkt is a response to a QUERY whose one question is "qname qtype IN". */
int dnswire_question_ok(const ldns_pkt *pkt, const ldns_rdf *qname,
    uint16_t qtype);

/* The CNAME RR at owner among an's records (class IN, one rdata), or
 * NULL: one step of the chain the resolver followed. */
const ldns_rr *dnswire_cname(const ldns_rr_list *an, const ldns_rdf *owner);

/* A denial's negative TTL from the SOA in the authority section:
 * min(SOA TTL, SOA minimum). Returns 1 with *ttl set, or 0 without a SOA. */
int dnswire_neg_ttl(const ldns_pkt *pkt, uint32_t *ttl);

#endif
