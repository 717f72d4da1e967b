/* staple.h — a client route's own DNSSEC chain (RFC 9102 style, the data of
 * the extension codec/dnschain.h frames), built from DNS answers and kept
 * fresh, for the client role to staple into its Certificate.
 *
 * The chain for name: the TLSA RRset at name and the CNAMEs on the way,
 * with their RRSIGs; for a wildcard-synthesised answer the NSEC/NSEC3 RRs
 * proving no closer match, with theirs; then, for every zone whose key
 * signed something taken, its DNSKEY RRset and (unless the zone is a trust
 * anchor's owner or the root) its DS RRset, with their RRSIGs, up to the
 * trust anchor. Each lookup is dns_lookup_rrsets (dane/dns.h): only secure
 * answers are used. A built chain is validated offline (dane/chainval.h)
 * against the same trust anchor file before it is used: never staple what
 * our own validator refuses. Never blocks the event loop. */
#ifndef DP_STAPLE_H
#define DP_STAPLE_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dns_client;

struct staple;

/* Builds the chain for name (the route's client_name: a DNS name, lower
 * case, no final dot) with dns (not owned; it must outlive the staple) on
 * base, the walk stopping at a zone whose name is the owner of a DS or
 * DNSKEY in trust_anchor_file (read with ldns now, at creation; the root
 * "." always ends the walk), and keeps it fresh. The first build starts
 * now; its outcome comes later, from the event loop. Returns DP_OK with
 * *out (free with staple_free), DP_ERR_INVALID (bad name, no usable trust
 * anchor), DP_ERR_IO (file unreadable) or DP_ERR_NOMEM, err saying why. */
int staple_new(struct event_base *base, struct dns_client *dns,
    const char *name, const char *trust_anchor_file, struct staple **out,
    char *err, size_t err_size);

/* Cancels lookups and timers, frees s. Accepts NULL. */
void staple_free(struct staple *s);

/* The chain to send now (extension data, dnschain form, lifetime 0) in
 * *data and its length, or 0 with *data NULL when none is usable (not
 * built yet, or the last one's earliest RRSIG expiration has passed).
 * Valid until the next return to the event loop. */
size_t staple_get(const struct staple *s, const unsigned char **data);

/* For metrics, logs and tests. */
struct staple_info {
	int usable;		/**< staple_get would return a chain */
	size_t bytes;		/**< of the current chain (0: none) */
	size_t rrs;		/**< RRs in it */
	size_t rrsigs;		/**< RRSIGs among them */
	int64_t sig_expires;	/**< wall-clock seconds: its earliest RRSIG expiration (0: none) */
	int64_t refresh_at;	/**< wall-clock seconds: the next build (0: one runs now) */
	const char *last_error;	/**< the last failed build's reason, NULL after a success */
};

/* Fills out; its strings are valid until the next return to the loop. */
void staple_info(const struct staple *s, struct staple_info *out);

#endif
