/* chaincache.h — the server role's judge of stapled DNSSEC chains: a
 * chain's extension data (codec/dnschain.h) in, for a ClientName, either a
 * secure TLSA answer (the same struct tlsa_answer a lookup gives, so the
 * same matcher, identity delivery and live re-checks apply) or a refusal
 * with its handshake-failure reason.
 *
 * A worker has one, holding the trust anchors (chainval.h) and the chains
 * it validated, keyed by the SHA-256 of their bytes and the name they were
 * judged for: a reconnecting client costs one digest. A slot is kept until
 * the chain's earliest RRSIG expiration; the slots are a fixed, direct-mapped
 * table (CHAINCACHE_SLOTS), so the memory is bounded whatever clients send,
 * and a chain that collides only costs a validation. Refusals are not kept:
 * their cost is bounded by the per-chain caps (dnschain_limits). */
#ifndef DP_CHAINCACHE_H
#define DP_CHAINCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cache.h"
#include "metrics.h"

#define CHAINCACHE_SLOTS 1024
#define CHAINCACHE_REASON_MAX 160

struct chaincache;

/* What a listener asks of a chain (conf_server). */
struct chain_policy {
	size_t max_bytes;		/* max_chain_bytes */
	unsigned max_age;		/* stapled_max_age, seconds; 0: no cap */
	unsigned max_ttl;		/* [dns] cache_max_ttl: the answer's
					 * lifetime cap, as for a lookup */
};

/* The verdict on one chain. */
struct chain_verdict {
	struct tlsa_answer *answer;	/* secure: a new reference (the caller
					 * unrefs it); NULL when refused */
	enum mx_hs_reason why;		/* refused: MX_HS_CHAIN_* */
	int cached;			/* the verdict came from the table */
	char reason[CHAINCACHE_REASON_MAX];	/* refused: for the log line */
};

/* Reads the trust anchors (DS/DNSKEY lines of trust_anchor_file, as [dns]
 * trust_anchor_file). Returns DP_OK, or an error with err saying why. */
int chaincache_new(const char *trust_anchor_file, struct chaincache **out,
    char *err, size_t err_size);

/* Frees cc and the answers it holds (references taken by users stay
 * valid). Accepts NULL. */
void chaincache_free(struct chaincache *cc);

/* Judges len bytes of chain data for name (lower case) under pol, as of
 * now (wall-clock seconds):
 *  - over pol->max_bytes, the RR or RRSIG caps: MX_HS_CHAIN_OVERSIZE;
 *  - framing wrong: MX_HS_CHAIN_MALFORMED;
 *  - an RRSIG expired or not yet valid, or the TLSA RRSIGs made more than
 *    max_age ago: MX_HS_CHAIN_EXPIRED;
 *  - chainval: bogus → MX_HS_CHAIN_BOGUS, insecure → MX_HS_CHAIN_INSECURE,
 *    no TLSA RRset at name → MX_HS_CHAIN_WRONG_NAME, other indeterminate
 *    (a link missing) → MX_HS_CHAIN_INCOMPLETE;
 *  - secure: out->answer, expiring (expires_ms) at the earliest of the
 *    RRSIG expiration, the RRsets' TTL and max_ttl.
 * A cached chain is judged again on its dates and max_age, never on its
 * signatures. Returns DP_OK with out filled (secure or refused), or
 * DP_ERR_NOMEM. */
int chaincache_judge(struct chaincache *cc, const unsigned char *data,
    size_t len, const char *name, const struct chain_policy *pol,
    time_t now, struct chain_verdict *out);

#endif
