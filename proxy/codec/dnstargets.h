/* dnstargets.h — a DNS message answering "NAME NAPTR" (or another type
 * whose records name hosts), reduced to the host names it points at: the
 * CNAME targets of the chain at NAME, each NAPTR's replacement (when not
 * the root) and the host of the URL its regexp produces. Pure: no I/O, no
 * logging, no ldns type in sight; both DNS back ends use it (dane/dns.c),
 * and it is unit-tested on its own. */
#ifndef DP_DNSTARGETS_H
#define DP_DNSTARGETS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_TARGETS_MAX 16	/* host names kept per answer; more are dropped */
#define DNS_TARGET_NAME_MAX 254	/* a name of at most 253 characters, NUL */
#define DNS_QTYPE_NAPTR 35

struct dns_targets {
	int question_ok;		/**< QR, opcode QUERY, one question: NAME QTYPE IN */
	int rcode;			/**< from the header */
	int ad;				/**< AD bit */
	int tc;				/**< TC bit */
	uint32_t ttl;			/**< min TTL of the records the names came from */
	int have_soa;
	uint32_t neg_ttl;		/**< min(SOA TTL, SOA minimum) */
	size_t n;			/**< names in name[] */
	/** RRs of qtype (class IN) at the end of the CNAME chain, whatever
	 * qtype (dns_lookup_rrsets), and the min TTL of those and of the
	 * chain's CNAMEs (0 when there are none). */
	size_t n_rr;
	uint32_t rr_ttl;
	/** lower case, no final dot, each a valid DNS name, no duplicates */
	char name[DNS_TARGETS_MAX][DNS_TARGET_NAME_MAX];
};

/* Parses the len-byte message at wire as an answer to "qname qtype"
 * (qname in presentation form). The CNAME chain at qname is followed (at
 * most 16 links), each CNAME target kept; at its end, for qtype NAPTR,
 * each NAPTR's replacement unless it is "." and the host of the URL in its
 * regexp when the regexp is "DELIM ERE DELIM URL DELIM [i]" whose URL
 * holds no back-reference ('\') and reads SCHEME "://" HOST [":" PORT]
 * ["/" ...] (HOST a DNS name; an IP literal gives none). For any qtype
 * the RRs of qtype at the chain's end are counted (n_rr, rr_ttl). Returns DP_OK
 * with *t filled, DP_ERR_INVALID when wire is not a DNS message or qname
 * not a name. */
int dns_targets_parse(const unsigned char *wire, size_t len, const char *qname,
    uint16_t qtype, struct dns_targets *t);

/* The host of the URL a NAPTR regexp (len bytes, not NUL-terminated)
 * produces, as dns_targets_parse reads it, written to host (lower case);
 * returns DP_OK, or DP_ERR_INVALID when the regexp gives no host name. */
int dns_naptr_regexp_host(const char *re, size_t len, char *host,
    size_t host_size);

#endif
