/* dnsanswer.h — a DNS message answering "NAME TLSA", parsed. Pure: no I/O,
 * no logging, no clock of its own (the caller says what time it is), and no
 * ldns type in sight; both DNS back ends (dane/dns.c) use it, and it is
 * unit-tested and fuzzed on its own. */
#ifndef DP_DNSANSWER_H
#define DP_DNSANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "tlsarr.h"

/* "*." + a name of at most 253 characters, NUL. */
#define DNS_WILDCARD_MAX 256

struct dns_answer {
	uint16_t id;			/**< message ID */
	int question_ok;		/**< QR, opcode QUERY, one question: NAME TLSA IN */
	int rcode;			/**< from the header */
	int ad;				/**< AD bit */
	int tc;				/**< TC bit */
	uint32_t tlsa_ttl;		/**< min TTL of the TLSA RRs (if any) */
	int have_sig;			/**< an RRSIG over them was seen */
	int64_t sig_left;		/**< seconds until its earliest expiration */
	int have_soa;
	uint32_t neg_ttl;		/**< min(SOA TTL, SOA minimum) */
	struct tlsa_rrset rrset;	/**< TLSA RRs at the end of the CNAME chain */
	/** When an RRSIG over them has a Labels field below the owner's label
	 * count (RFC 4034 §3.1.3): the wildcard that synthesised them, e.g.
	 * "*._device.example.net"; else "". */
	char wildcard[DNS_WILDCARD_MAX];
};

/* Parses the len-byte message at wire as an answer to "qname TLSA" (qname
 * in presentation form; "." is the root); now is the wall-clock time in
 * seconds, against which RRSIG expirations are measured. Returns DP_OK with
 * *a filled (the caller owns a->rrset: tlsa_rrset_clear), DP_ERR_INVALID when
 * wire is not a DNS message or qname not a name, or DP_ERR_NOMEM. */
int dns_answer_parse(const unsigned char *wire, size_t len, const char *qname,
    uint32_t now, struct dns_answer *a);

/* How long a secure answer may be kept: the TLSA TTL, shortened to the
 * earliest RRSIG expiration when signatures came with it (0 when past). */
uint32_t dns_answer_secure_ttl(const struct dns_answer *a);

/* RCODE mnemonic ("SERVFAIL", "REFUSED", ...; "unknown"). */
const char *dns_rcode_str(int rcode);

#endif
