/* cache.c — see cache.h.
 *
 * Entries live in a chained hash table keyed by the lower-cased owner name.
 * An entry is in one of two states:
 *  - answered: holds an answer (one reference), sits on the LRU list, has no
 *    lookup and no waiters; only these can be evicted;
 *  - in flight: holds a dns_query and a FIFO list of waiters; not on the LRU
 *    list, so never evicted.
 * An expired answered entry becomes in flight again on the next get.
 *
 * Delivery moves the waiters to a list on the stack before the first
 * callback runs and always takes the head of that list: a callback may then
 * cancel any other waiter (it is unlinked from whichever list it is on), start
 * new lookups, or evict the very entry that was answered.
 *
 * The lists are <sys/queue.h>'s: a bucket's chain (LIST), the LRU list and
 * the waiter lists (TAILQ). */
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "metrics.h"
#include "tlsa.h"
#include "util.h"

#define CACHE_BUCKETS_MIN 64

TAILQ_HEAD(wait_list, cache_wait);

struct cache_wait {
	struct wait_list *list;		/**< the list this waiter is on */
	TAILQ_ENTRY(cache_wait) link;	/**< on *list */
	cache_cb cb;
	void *arg;
};

LIST_HEAD(bucket, cache_entry);
TAILQ_HEAD(lru_list, cache_entry);

struct cache_entry {
	struct tlsa_cache *c;
	char *name;			/**< lower-cased key */
	uint32_t hash;
	LIST_ENTRY(cache_entry) chain;	/**< on its bucket */
	TAILQ_ENTRY(cache_entry) lru;	/**< on c->lru, exactly when ans != NULL */
	struct tlsa_answer *ans;	/**< answered state: one reference */
	struct dns_query *q;		/**< in-flight state */
	uint64_t q_start_us;		/**< when q started, for its latency */
	struct wait_list waiters;	/**< in-flight state, FIFO */
};

struct tlsa_cache {
	struct dns_client *dns;		/**< not owned */
	unsigned max_ttl;		/**< cap for DNS_SECURE, seconds */
	unsigned neg_ttl;		/**< cap for everything else cached */
	unsigned max_inflight;
	unsigned max_entries;
	uint64_t (*now)(void);		/**< clock, ms */
	struct bucket *buckets;
	size_t n_buckets;		/**< a power of two */
	struct lru_list lru;		/**< answered entries, most recently
					 * used first, next to go last */
	struct cache_stats st;		/**< what it holds now */
	cache_observer observer;	/**< sees every answer, or NULL */
	void *observer_arg;
};

/* Handed to waiters when no answer object can be allocated: never freed. */
static struct tlsa_answer oom_answer = {
	.refs = -1, .status = DNS_TEMPFAIL, .why = "out of memory",
};

void
tlsa_answer_ref(struct tlsa_answer *a)
{
	if (a != NULL && a->refs >= 0)
		a->refs++;
}

void
tlsa_answer_unref(struct tlsa_answer *a)
{
	if (a == NULL || a->refs < 0 || --a->refs > 0)
		return;
	tlsa_rrset_clear(&a->rrset);
	free(a->why);
	free(a->wildcard);
	free(a->name);
	free(a);
}

/* Monotonic microseconds, for lookup latency (the cache's own clock is in
 * milliseconds and may be a test's fake). */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- names and the hash table ---- */

/* Lower-cases a valid owner name (dp_dns_name_check) into buf
 * (CONF_NAME_MAX + 1 bytes). Returns DP_OK or DP_ERR_INVALID. */
static int
name_key(const char *s, char *buf)
{
	size_t n = strnlen(s, CONF_NAME_MAX + 1);

	if (dp_dns_name_check(s, n) != DP_OK)
		return DP_ERR_INVALID;
	memcpy(buf, s, n + 1);
	dp_str_lower(buf);
	return DP_OK;
}

static struct cache_entry *
entry_find(struct tlsa_cache *c, const char *key, uint32_t h)
{
	struct cache_entry *e;

	LIST_FOREACH(e, &c->buckets[h & (c->n_buckets - 1)], chain)
		if (e->hash == h && strcmp(e->name, key) == 0)
			return e;
	return NULL;
}

/* Doubles the table when it is fuller than one entry per bucket; a failed
 * allocation only leaves the chains longer. */
static void
table_grow(struct tlsa_cache *c)
{
	struct bucket *nb;
	struct cache_entry *e;
	size_t n = c->n_buckets * 2, i;

	if (c->st.entries <= c->n_buckets ||
	    (nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < n; i++)
		LIST_INIT(&nb[i]);
	for (i = 0; i < c->n_buckets; i++) {
		while ((e = LIST_FIRST(&c->buckets[i])) != NULL) {
			LIST_REMOVE(e, chain);
			LIST_INSERT_HEAD(&nb[e->hash & (n - 1)], e, chain);
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->n_buckets = n;
}

/* ---- waiters ---- */

static void
wait_append(struct wait_list *l, struct cache_wait *w)
{
	w->list = l;
	TAILQ_INSERT_TAIL(l, w, link);
}

static void
wait_unlink(struct cache_wait *w)
{
	TAILQ_REMOVE(w->list, w, link);
	w->list = NULL;
}

/* ---- entries ---- */

/* Unhooks e from the table and the LRU list, cancels its lookup and its
 * waiters (no callbacks), drops its answer and frees it. */
static void
entry_free(struct tlsa_cache *c, struct cache_entry *e)
{
	struct cache_wait *w;

	LIST_REMOVE(e, chain);
	if (e->ans != NULL)
		TAILQ_REMOVE(&c->lru, e, lru);
	if (e->q != NULL) {
		dns_query_cancel(e->q);
		c->st.inflight--;
		mx_tlsa_lookup_cancel();
	}
	while ((w = TAILQ_FIRST(&e->waiters)) != NULL) {
		wait_unlink(w);
		free(w);
	}
	tlsa_answer_unref(e->ans);
	c->st.entries--;
	free(e->name);
	free(e);
}

/* Least recently used answered entries go first; in-flight ones stay. */
static void
evict(struct tlsa_cache *c)
{
	struct cache_entry *e;

	while (c->st.entries > c->max_entries &&
	    (e = TAILQ_LAST(&c->lru, lru_list)) != NULL)
		entry_free(c, e);
}

struct tlsa_answer *
tlsa_answer_new(const char *name, struct dns_result *res)
{
	struct tlsa_answer *a;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->name = strdup(name)) == NULL ||
	    (res->why != NULL && (a->why = strdup(res->why)) == NULL) ||
	    (res->status == DNS_SECURE && res->wildcard[0] != '\0' &&
	    (a->wildcard = strdup(res->wildcard)) == NULL)) {
		if (a != NULL) {
			free(a->name);
			free(a->why);
		}
		free(a);
		return NULL;
	}
	a->refs = 1;
	a->status = res->status;
	a->rr_ttl = res->rr_ttl;
	a->sig_expires = res->sig_expires;
	if (res->status == DNS_SECURE) {
		a->rrset = res->rrset;	/* taken, as dns.h allows */
		memset(&res->rrset, 0, sizeof(res->rrset));
		/* Once per answer, not once per handshake that uses it. */
		tlsa_rrset_prepare(&a->rrset);
	}
	return a;
}

static void
on_dns_result(void *arg, struct dns_result *res)
{
	struct cache_entry *e = arg;
	struct tlsa_cache *c = e->c;
	struct tlsa_answer *a;
	struct wait_list delivering = TAILQ_HEAD_INITIALIZER(delivering);
	struct cache_wait *w;
	uint64_t now = c->now();
	unsigned cap;
	uint32_t ttl;

	e->q = NULL;
	c->st.inflight--;
	mx_tlsa_lookup_done(res->status, now_us() - e->q_start_us);
	if ((a = tlsa_answer_new(e->name, res)) == NULL) {
		log_error("cache: %s: out of memory for the DNS answer",
		    e->name);
		a = &oom_answer;
	}
	a->expires_ms = a->fetched_ms = now;
	cap = a->status == DNS_SECURE ? c->max_ttl : c->neg_ttl;
	ttl = res->ttl < cap ? res->ttl : cap;
	if (a->status == DNS_TEMPFAIL || a->status == DNS_TIMEOUT)
		ttl = 0;	/* handed to the waiters, never cached */

	/* Settle the entry before any callback runs. */
	TAILQ_CONCAT(&delivering, &e->waiters, link);
	TAILQ_FOREACH(w, &delivering, link)
		w->list = &delivering;
	if (ttl > 0 && a != &oom_answer) {
		a->expires_ms = now + (uint64_t)ttl * 1000;
		tlsa_answer_ref(a);
		e->ans = a;
		TAILQ_INSERT_HEAD(&c->lru, e, lru);
		evict(c);
	} else {
		entry_free(c, e);
	}
	e = NULL;	/* may be gone from here on */
	if (c->observer != NULL && a != &oom_answer)
		c->observer(c->observer_arg, a);

	while ((w = TAILQ_FIRST(&delivering)) != NULL) {
		cache_cb cb = w->cb;
		void *cb_arg = w->arg;
		wait_unlink(w);
		free(w);
		tlsa_answer_ref(a);
		cb(cb_arg, a);
	}
	tlsa_answer_unref(a);
}

/* ---- public ---- */

void
tlsa_cache_observe(struct tlsa_cache *c, cache_observer fn, void *arg)
{
	c->observer = fn;
	c->observer_arg = arg;
}

struct dns_client *
tlsa_cache_dns(const struct tlsa_cache *c)
{
	return c != NULL ? c->dns : NULL;
}

void
tlsa_cache_ttl_caps(const struct tlsa_cache *c, unsigned *max_ttl,
    unsigned *neg_ttl)
{
	*max_ttl = c->max_ttl;
	*neg_ttl = c->neg_ttl;
}

int
tlsa_cache_new(struct dns_client *dns, const struct conf_dns *conf,
    struct tlsa_cache **out)
{
	struct tlsa_cache *c;
	size_t i;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return DP_ERR_NOMEM;
	if ((c->buckets = calloc(CACHE_BUCKETS_MIN, sizeof(*c->buckets))) == NULL) {
		free(c);
		return DP_ERR_NOMEM;
	}
	c->n_buckets = CACHE_BUCKETS_MIN;
	for (i = 0; i < c->n_buckets; i++)
		LIST_INIT(&c->buckets[i]);
	TAILQ_INIT(&c->lru);
	c->dns = dns;
	c->max_ttl = conf->cache_max_ttl;
	c->neg_ttl = conf->negative_ttl;
	c->max_inflight = conf->max_inflight > 0 ? conf->max_inflight : 1;
	c->max_entries = conf->cache_max_entries > 0 ?
	    conf->cache_max_entries : 1;
	c->now = dp_now_ms;
	*out = c;
	return DP_OK;
}

void
tlsa_cache_free(struct tlsa_cache *c)
{
	struct cache_entry *e;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_buckets; i++)
		while ((e = LIST_FIRST(&c->buckets[i])) != NULL)
			entry_free(c, e);
	free(c->buckets);
	free(c);
}

void
tlsa_cache_set_clock(struct tlsa_cache *c, uint64_t (*now_ms)(void))
{
	c->now = now_ms != NULL ? now_ms : dp_now_ms;
}

int
tlsa_cache_get(struct tlsa_cache *c, const char *name, cache_cb cb,
    void *arg, struct tlsa_answer **ans, struct cache_wait **wait)
{
	char key[CONF_NAME_MAX + 1];
	struct cache_entry *e;
	struct cache_wait *w = NULL;
	uint32_t h;
	int r;

	*ans = NULL;
	*wait = NULL;
	if (name_key(name, key) != DP_OK)
		return DP_ERR_INVALID;
	h = dp_str_hash(key);
	e = entry_find(c, key, h);

	if (e != NULL && e->ans != NULL) {
		if (c->now() < e->ans->expires_ms) {
			mx_tlsa_cache_hit();
			TAILQ_REMOVE(&c->lru, e, lru);
			TAILQ_INSERT_HEAD(&c->lru, e, lru);
			tlsa_answer_ref(e->ans);
			*ans = e->ans;
			return DP_OK;
		}
		/* Expired: the entry turns into a lookup below. */
		TAILQ_REMOVE(&c->lru, e, lru);
		tlsa_answer_unref(e->ans);
		e->ans = NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto fail_nomem;
	w->cb = cb;
	w->arg = arg;
	if (e != NULL && e->q != NULL) {
		mx_tlsa_cache_merged();
		wait_append(&e->waiters, w);
		*wait = w;
		return DP_ERR_AGAIN;
	}

	if (c->st.inflight >= c->max_inflight) {
		mx_tlsa_cache_busy();
		free(w);
		if (e != NULL)
			entry_free(c, e);	/* expired, nothing to keep */
		return DP_ERR_BUSY;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			goto fail_nomem;
		if ((e->name = strdup(key)) == NULL) {
			free(e);
			e = NULL;
			goto fail_nomem;
		}
		e->c = c;
		e->hash = h;
		TAILQ_INIT(&e->waiters);
		LIST_INSERT_HEAD(&c->buckets[h & (c->n_buckets - 1)], e, chain);
		c->st.entries++;
	}
	e->q_start_us = now_us();
	if ((r = dns_lookup_tlsa(c->dns, key, on_dns_result, e, &e->q)) != DP_OK) {
		e->q = NULL;
		free(w);
		entry_free(c, e);
		return r;
	}
	c->st.inflight++;
	mx_tlsa_cache_miss();
	mx_tlsa_lookup_start();
	wait_append(&e->waiters, w);
	*wait = w;
	table_grow(c);
	evict(c);
	return DP_ERR_AGAIN;

fail_nomem:
	free(w);
	if (e != NULL && e->ans == NULL && e->q == NULL)
		entry_free(c, e);
	return DP_ERR_NOMEM;
}

void
tlsa_cache_cancel(struct cache_wait *w)
{
	if (w == NULL)
		return;
	wait_unlink(w);
	free(w);
}

void
tlsa_cache_stats(const struct tlsa_cache *c, struct cache_stats *out)
{
	*out = c->st;
}
