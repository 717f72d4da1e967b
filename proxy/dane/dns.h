/* dns.h — asynchronous, DNSSEC-validated TLSA lookups on a libevent base,
 * and lookups of the hosts a NAPTR answer names (ts002_binding = dns).
 *
 * Two back ends, one result type:
 *  - DNS_MODE_VALIDATE: libunbound on the caller's event_base
 *    (ub_ctx_create_event), validating from conf->trust_anchor_file, with the
 *    configured resolvers as forwarders (none: full recursion).
 *  - DNS_MODE_RESOLVER_AD: ldns-built queries (random ID, RD=1, DO=1, EDNS
 *    size 1232, CD=0) over UDP with TCP on truncation to the configured
 *    resolvers in turn; an answer counts only if its ID and question match,
 *    RCODE is NOERROR/NXDOMAIN and AD=1.
 * No ldns or libunbound type leaks out of this header. Never blocks. */
#ifndef DP_DNS_H
#define DP_DNS_H

#include <stdint.h>

#include "conf.h"
#include "dnsanswer.h"
#include "dnstargets.h"
#include "dnsstatus.h"
#include "tlsarr.h"

struct event_base;



struct dns_result {
	enum dns_status status;
	uint32_t ttl;		/* seconds this result may be kept: for DNS_SECURE
				 * min(TTL of the TLSA RRs, seconds until the earliest
				 * RRSIG expiration seen); for denials the SOA
				 * negative TTL when known, else 0 */
	struct tlsa_rrset rrset;	/* DNS_SECURE only; the callback may take
					 * it (copy the struct and zero this one) */
	const char *why;	/* short human text (e.g. unbound's why_bogus, the
				 * RCODE); valid during the callback only */
	/* DNS_SECURE only: when the TLSA RRset was synthesised from a wildcard
	 * (its RRSIG's Labels field counts fewer labels than the owner name,
	 * RFC 4034 §3.1.3), the wildcard's owner, e.g. "*._device.example.net";
	 * else "". */
	char wildcard[DNS_WILDCARD_MAX];
	/* DNS_SECURE only, for monitoring: the TLSA RRs' TTL as published,
	 * and the wall-clock time (seconds since the epoch) of the earliest
	 * expiration of the RRSIGs over them; 0 when none came with them. */
	uint32_t rr_ttl;
	int64_t sig_expires;
	/* dns_lookup_targets only: the host names the answer points at
	 * (DNS_SECURE: at least one); NULL for other statuses and for TLSA
	 * lookups. Valid during the callback only. */
	const struct dns_targets *targets;
	/* dns_lookup_rrsets only, DNS_SECURE only: the whole answer message
	 * in wire form (header, question, answer with the RRSIGs, authority,
	 * additional), as the back end received or libunbound encoded it;
	 * NULL/0 otherwise. Valid during the callback only. */
	const unsigned char *packet;
	size_t packet_len;
};

/* Called exactly once per lookup unless cancelled first. */
typedef void (*dns_cb)(void *arg, struct dns_result *res);

struct dns_client;
struct dns_query;

/* Creates a client on base. Reads the trust anchor file (validate mode) now,
 * at startup. Returns DP_OK, or DP_ERR_INVALID/DP_ERR_NOMEM/DP_ERR_DNS with a
 * human text in err. */
int dns_client_new(struct event_base *base, const struct conf_dns *conf,
    struct dns_client **out, char *err, size_t err_size);

/* Cancels all lookups (no callbacks) and frees the client; accepts NULL. */
void dns_client_free(struct dns_client *c);

/* Starts a TLSA lookup of owner (lower-case, no trailing dot, queried
 * verbatim). The callback runs later, from the event loop, never from inside
 * this call. *out (if out != NULL) is a handle for dns_query_cancel, valid
 * until the callback starts. Returns DP_OK, DP_ERR_INVALID (bad name) or
 * DP_ERR_NOMEM. */
int dns_lookup_tlsa(struct dns_client *c, const char *owner, dns_cb cb,
    void *arg, struct dns_query **out);

/* Starts a lookup of owner (as for dns_lookup_tlsa) for qtype (NAPTR):
 * the host names the answer points at (struct dns_targets: the CNAME
 * targets at owner, and for NAPTR each record's replacement and its
 * regexp's URL host). DNSSEC status exactly as for TLSA: DNS_SECURE when
 * the answer is secure and names at least one host, DNS_SECURE_NODATA /
 * DNS_SECURE_NXDOMAIN for secure denials (or none of the records naming
 * a host), DNS_INSECURE, DNS_BOGUS, DNS_TEMPFAIL, DNS_TIMEOUT. Returns as
 * dns_lookup_tlsa. */
int dns_lookup_targets(struct dns_client *c, const char *owner, uint16_t qtype,
    dns_cb cb, void *arg, struct dns_query **out);

/* Starts a lookup of owner (as for dns_lookup_tlsa; "." is the root) for
 * any qtype, for a caller that reads the records itself (dane/staple.c:
 * a DNSSEC chain is made of them). DNSSEC status exactly as for TLSA:
 * DNS_SECURE only when the answer is secure (libunbound's verdict, or AD=1
 * from the resolver), its RCODE NOERROR and RRs of qtype at owner or at the
 * end of the CNAME chain from owner; DNS_SECURE_NODATA/DNS_SECURE_NXDOMAIN
 * for secure denials, DNS_INSECURE, DNS_BOGUS, DNS_TEMPFAIL, DNS_TIMEOUT.
 * On DNS_SECURE, res->packet holds the answer message with its RRSIGs (and,
 * for a wildcard answer, the authority section's NSEC/NSEC3 proof) and
 * res->ttl the least TTL of the qtype RRs and the CNAMEs. Returns as
 * dns_lookup_tlsa (DP_ERR_INVALID also for qtype 0). */
int dns_lookup_rrsets(struct dns_client *c, const char *owner, uint16_t qtype,
    dns_cb cb, void *arg, struct dns_query **out);

/* Cancels a pending lookup: its callback will not run. */
void dns_query_cancel(struct dns_query *q);

/* Number of queries (TLSA and others) started since creation (for metrics and tests). */
uint64_t dns_queries_started(const struct dns_client *c);

#endif
