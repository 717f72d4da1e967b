/* cache.h — TLSA answers by owner name: expiry, negative entries, merging of
 * identical lookups in flight, and a cap on lookups in flight.
 *
 * Expiry of an entry = now + min(result ttl, cap) where cap is cache_max_ttl
 * for DNS_SECURE and negative_ttl for secure denials, insecure and bogus
 * answers. DNS_TEMPFAIL and DNS_TIMEOUT are handed to the waiters but never
 * cached. At most cache_max_entries entries are kept (least recently used
 * first out); entries with waiters are never evicted.
 *
 * Every event is counted once, in metrics.h's TLSA hooks (the counters
 * /metrics exports, which tests read back the same way): each get that
 * reaches a verdict as a hit (fresh answer), a miss (lookup started), a
 * merged join (lookup already in flight) or busy (max_inflight reached); and
 * each DNS query's start and end (result and latency), or its cancellation
 * when the cache is freed. tlsa_cache_stats() tells only what the cache holds
 * now. */
#ifndef DP_CACHE_H
#define DP_CACHE_H

#include <stdint.h>

#include "dns.h"

/* A cached answer, shared by reference count. Read-only for users. */
struct tlsa_answer {
	int refs;
	enum dns_status status;
	struct tlsa_rrset rrset;	/* DNS_SECURE only; prepared
					 * (tlsa_rrset_prepare) */
	uint64_t expires_ms;		/* dp_now_ms() time */
	char *why;			/* copy of the result's why, may be NULL */
	char *name;			/* owner name */
	char *wildcard;			/* DNS_SECURE: the wildcard owner that synthesised
					 * the records (dns_result.wildcard), or NULL */
	uint32_t rr_ttl;		/* DNS_SECURE: dns_result.rr_ttl */
	int64_t sig_expires;		/* DNS_SECURE: dns_result.sig_expires (0: none) */
	uint64_t fetched_ms;		/* dp_now_ms() time the answer arrived */
};

/* Takes one more reference. */
void tlsa_answer_ref(struct tlsa_answer *a);
/* Drops a reference; frees on the last. Accepts NULL. */
void tlsa_answer_unref(struct tlsa_answer *a);

/* A new answer for name from res (one reference): status, why, wildcard,
 * rr_ttl, sig_expires copied, a DNS_SECURE result's records taken and
 * prepared; expires_ms and fetched_ms are left 0 for the caller. NULL when
 * out of memory. The cache makes its answers so; a stapled chain's
 * (chaincache.h) are made the same way. */
struct tlsa_answer *tlsa_answer_new(const char *name, struct dns_result *res);

/* Called once with a new reference the callee must unref. */
typedef void (*cache_cb)(void *arg, struct tlsa_answer *ans);

struct tlsa_cache;
struct cache_wait;

/* What the cache holds now; event counts are in metrics.h. */
struct cache_stats {
	unsigned inflight;	/* lookups in flight now */
	unsigned entries;	/* entries held now */
};

/* Creates a cache using dns for lookups (not owned). conf gives the TTL caps,
 * max_inflight and cache_max_entries. Returns DP_OK or DP_ERR_NOMEM. */
int tlsa_cache_new(struct dns_client *dns, const struct conf_dns *conf,
    struct tlsa_cache **out);

/* Cancels every waiter (no callbacks), cancels lookups, frees; accepts NULL.
 * Not from inside a cache callback. Answers still referenced stay valid. */
void tlsa_cache_free(struct tlsa_cache *c);

/* Looks name up.
 * - Fresh entry: returns DP_OK and *ans, a new reference.
 * - Lookup for name already in flight, or started now: returns DP_ERR_AGAIN
 *   and *wait; cb(arg, ans) runs later from the event loop, exactly once,
 *   unless tlsa_cache_cancel(*wait) is called first.
 * - A new lookup would exceed max_inflight: returns DP_ERR_BUSY.
 * Also DP_ERR_INVALID (bad name) or DP_ERR_NOMEM. */
int tlsa_cache_get(struct tlsa_cache *c, const char *name, cache_cb cb,
    void *arg, struct tlsa_answer **ans, struct cache_wait **wait);

/* Withdraws a waiter: its callback will not run. The lookup goes on for the
 * others (and still fills the cache). */
void tlsa_cache_cancel(struct cache_wait *w);

/* Sees every answer a lookup brings (name in ans->name; DNS_TEMPFAIL and
 * DNS_TIMEOUT too), before its waiters do; must not free the cache. One
 * per cache (fn NULL: none): the re-checks of live connections
 * (recheck.h). */
typedef void (*cache_observer)(void *arg, struct tlsa_answer *ans);
void tlsa_cache_observe(struct tlsa_cache *c, cache_observer fn, void *arg);

/* The DNS client c looks names up with (not owned): for other lookups
 * the same worker makes (ts002_binding = dns). */
struct dns_client *tlsa_cache_dns(const struct tlsa_cache *c);

/* The caps c keeps answers under (cache_max_ttl for secure answers,
 * negative_cache_ttl for the rest), in seconds: other answers the same
 * worker keeps follow the operator's settings too. */
void tlsa_cache_ttl_caps(const struct tlsa_cache *c, unsigned *max_ttl,
    unsigned *neg_ttl);

/* Copies what the cache holds now. */
void tlsa_cache_stats(const struct tlsa_cache *c, struct cache_stats *out);

/* Test hook: replaces the clock used for expiry (default dp_now_ms; NULL
 * restores it). expires_ms of new answers is then in that clock's time. */
void tlsa_cache_set_clock(struct tlsa_cache *c, uint64_t (*now_ms)(void));

#endif
