/* recheck.c — see recheck.h.
 *
 * Entries live in a chained hash table keyed by name. An entry's one event
 * does two jobs: as a timer it starts the entry's own lookup when the
 * answer in hand expires (or a failed one is retried); activated by the
 * cache's observer it looks at an answer the cache just got. Either way the
 * work runs from the event loop, never inside the cache's delivery. A
 * watch's callback may end its connection, which stops the watch: while an
 * entry walks its watches it is marked busy and freed, if empty, only
 * afterwards. */
#include "recheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/x509.h>

#include "dane.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "tlsarr.h"
#include "util.h"

#define RECHECK_BUCKETS 1024		/* a power of two */
#define RECHECK_MIN_MS 1000		/* no entry looks names up more often */
#define RECHECK_EXPIRY_SLACK_MS 10	/* past the expiry: the cache agrees */
#define RECHECK_RETRY_MS 1000		/* first retry after a failed lookup */
#define RECHECK_RETRY_MAX_MS 30000
#define RECHECK_WHY_MAX 700

LIST_HEAD(watch_list, recheck_watch);
LIST_HEAD(entry_list, recheck_entry);

struct recheck_entry {
	struct recheck_table *t;
	LIST_ENTRY(recheck_entry) chain;	/* on its bucket */
	char *name;
	uint32_t hash;
	struct watch_list watches;
	unsigned n_watches;
	unsigned n_revoked;		/* watches whose last verdict was a no */
	struct event *ev;		/* the next lookup, or an answer to look at */
	struct cache_wait *wait;	/* the entry's own lookup in flight */
	struct tlsa_answer *last;	/* the last definitive answer looked at */
	struct tlsa_answer *fresh;	/* from the cache, not yet looked at */
	uint64_t secure_ms;		/* dp_now_ms() of the last secure answer */
	unsigned fails;			/* lookups failed in a row */
	int busy;			/* walking its watches: not freed */
};

struct recheck_table {
	struct event_base *base;
	struct tlsa_cache *cache;
	struct entry_list buckets[RECHECK_BUCKETS];
	unsigned n_entries;
};

static struct recheck_entry *
entry_find(struct recheck_table *t, const char *name, uint32_t h)
{
	struct recheck_entry *e;

	LIST_FOREACH(e, &t->buckets[h & (RECHECK_BUCKETS - 1)], chain)
		if (e->hash == h && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void
entry_free(struct recheck_entry *e)
{
	struct recheck_watch *w;

	while ((w = LIST_FIRST(&e->watches)) != NULL) {
		LIST_REMOVE(w, link);
		w->e = NULL;
	}
	if (e->wait != NULL)
		tlsa_cache_cancel(e->wait);
	if (e->ev != NULL)
		event_free(e->ev);
	tlsa_answer_unref(e->last);
	tlsa_answer_unref(e->fresh);
	LIST_REMOVE(e, chain);
	e->t->n_entries--;
	mx_recheck_names(-1);
	free(e->name);
	free(e);
}

/* The entry's work is over for now: gone if nothing watches it. */
static void
entry_release(struct recheck_entry *e)
{
	if (--e->busy == 0 && e->n_watches == 0)
		entry_free(e);
}

static void
schedule(struct recheck_entry *e, uint64_t delay_ms)
{
	struct timeval tv;

	if (delay_ms < RECHECK_MIN_MS)
		delay_ms = RECHECK_MIN_MS;
	tv = dp_ms_tv(delay_ms);
	event_add(e->ev, &tv);
}

/* Two answers that authenticate the same certificates the same way. */
static int
same_answer(const struct tlsa_answer *a, const struct tlsa_answer *b)
{
	size_t i;

	if (a == b)
		return 1;
	if (a->status != b->status || a->rrset.n != b->rrset.n ||
	    (a->wildcard == NULL) != (b->wildcard == NULL) ||
	    (a->wildcard != NULL && strcmp(a->wildcard, b->wildcard) != 0))
		return 0;
	for (i = 0; i < a->rrset.n; i++) {
		const struct tlsa_rr *x = &a->rrset.rr[i], *y = &b->rrset.rr[i];

		if (x->usage != y->usage || x->selector != y->selector ||
		    x->mtype != y->mtype || x->len != y->len ||
		    memcmp(x->data, y->data, x->len) != 0)
			return 0;
	}
	return 1;
}

static void
verdict(struct recheck_watch *w, int ok)
{
	struct recheck_entry *e = w->e;

	if (ok && w->revoked) {
		w->revoked = 0;
		e->n_revoked--;
	} else if (!ok && !w->revoked) {
		w->revoked = 1;
		e->n_revoked++;
	}
}

/* Every watch against a, a definitive answer (not a failure). */
static void
rematch(struct recheck_entry *e, struct tlsa_answer *a)
{
	struct recheck_watch *w, *next;
	char why[RECHECK_WHY_MAX], tlsa[16];
	int ok, was_revoked;

	for (w = LIST_FIRST(&e->watches); w != NULL; w = next) {
		X509 *leaf = SSL_get0_peer_certificate(w->ssl);

		next = LIST_NEXT(w, link);	/* w's callback may stop w */
		why[0] = '\0';
		ok = leaf != NULL && dane_recheck(w->rules, a, leaf,
		    SSL_get_peer_cert_chain(w->ssl), w->match_name, tlsa, why,
		    sizeof(why));
		if (leaf == NULL)
			dp_strlcpy(why, "no peer certificate", sizeof(why));
		was_revoked = w->revoked;
		if (!ok && was_revoked)
			continue;	/* still refused: said already */
		verdict(w, ok);
		if (ok)
			w->cb(w->arg, was_revoked ? RECHECK_RESTORED :
			    RECHECK_VALID, tlsa);
		else
			w->cb(w->arg, RECHECK_REVOKED, why);
	}
}

/* No answer this time: tell the watches whose grace has run out, and retry
 * before the next one would. */
static void
failed(struct recheck_entry *e, const char *reason)
{
	struct recheck_watch *w, *next;
	uint64_t now = dp_now_ms(), quiet = now - e->secure_ms, delay, left;
	char why[RECHECK_WHY_MAX];
	unsigned shift;

	shift = e->fails < 5 ? e->fails : 5;
	e->fails++;
	delay = (uint64_t)RECHECK_RETRY_MS << shift;
	if (delay > RECHECK_RETRY_MAX_MS)
		delay = RECHECK_RETRY_MAX_MS;
	snprintf(why, sizeof(why), "no secure TLSA answer for %llu ms "
	    "(recheck_grace_ms): %s", (unsigned long long)quiet, reason);
	for (w = LIST_FIRST(&e->watches); w != NULL; w = next) {
		next = LIST_NEXT(w, link);
		if (w->revoked)
			continue;
		if (quiet < w->rules->recheck_grace_ms) {
			left = w->rules->recheck_grace_ms - quiet;
			if (left < delay)
				delay = left;
			continue;
		}
		verdict(w, 0);
		w->cb(w->arg, RECHECK_DNS_FAILING, why);
	}
	schedule(e, delay);
}

/* An answer the cache got for e's name, or handed out fresh. */
static void
look(struct recheck_entry *e, struct tlsa_answer *a)
{
	uint64_t now = dp_now_ms();
	char reason[RECHECK_WHY_MAX];

	e->busy++;
	event_del(e->ev);
	if (a->status == DNS_TEMPFAIL || a->status == DNS_TIMEOUT) {
		snprintf(reason, sizeof(reason), "%s%s%s",
		    dns_status_str(a->status), a->why != NULL ? ": " : "",
		    a->why != NULL ? a->why : "");
		failed(e, reason);
	} else {
		e->fails = 0;
		if (a->status == DNS_SECURE)
			e->secure_ms = now;
		if (e->last == NULL || !same_answer(e->last, a) ||
		    e->n_revoked > 0) {
			tlsa_answer_ref(a);
			tlsa_answer_unref(e->last);
			e->last = a;
			rematch(e, a);
		}
		schedule(e, a->expires_ms > now ?
		    a->expires_ms - now + RECHECK_EXPIRY_SLACK_MS : 0);
	}
	entry_release(e);
}

static void
wait_cb(void *arg, struct tlsa_answer *ans)
{
	struct recheck_entry *e = arg;

	e->wait = NULL;
	/* The observer has the answer already (it runs before the waiters). */
	tlsa_answer_unref(ans);
}

/* The answer in hand expired, or a failed lookup is due again. */
static void
lookup(struct recheck_entry *e)
{
	struct tlsa_answer *ans = NULL;
	int r;

	if (e->wait != NULL)
		return;		/* the observer will see its answer */
	r = tlsa_cache_get(e->t->cache, e->name, wait_cb, e, &ans, &e->wait);
	if (r == DP_ERR_AGAIN) {
		mx_recheck_lookup();
		return;
	}
	if (r == DP_OK) {
		look(e, ans);	/* fresh already: another lookup refreshed it */
		tlsa_answer_unref(ans);
		return;
	}
	e->busy++;
	failed(e, r == DP_ERR_BUSY ? "too many TLSA lookups in flight "
	    "(max_inflight)" : dp_strerror(r));
	entry_release(e);
}

static void
entry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct recheck_entry *e = arg;
	struct tlsa_answer *a = e->fresh;

	if (a == NULL) {
		lookup(e);
		return;
	}
	e->fresh = NULL;
	look(e, a);
	tlsa_answer_unref(a);
}

static void
observe(void *arg, struct tlsa_answer *ans)
{
	struct recheck_table *t = arg;
	struct recheck_entry *e;

	if (t->n_entries == 0 ||
	    (e = entry_find(t, ans->name, dp_str_hash(ans->name))) == NULL)
		return;
	tlsa_answer_ref(ans);
	tlsa_answer_unref(e->fresh);	/* only the latest matters */
	e->fresh = ans;
	event_active(e->ev, EV_TIMEOUT, 0);
}

/* ---- public ---- */

int
recheck_table_new(struct event_base *base, struct tlsa_cache *cache,
    struct recheck_table **out)
{
	struct recheck_table *t;
	size_t i;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return DP_ERR_NOMEM;
	t->base = base;
	t->cache = cache;
	for (i = 0; i < RECHECK_BUCKETS; i++)
		LIST_INIT(&t->buckets[i]);
	tlsa_cache_observe(cache, observe, t);
	*out = t;
	return DP_OK;
}

void
recheck_table_free(struct recheck_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < RECHECK_BUCKETS; i++)
		while (!LIST_EMPTY(&t->buckets[i]))
			entry_free(LIST_FIRST(&t->buckets[i]));
	tlsa_cache_observe(t->cache, NULL, NULL);
	free(t);
}

int
recheck_watch_start(struct recheck_table *t, struct recheck_watch *w,
    const char *name, struct tlsa_answer *ans, const struct dane_rules *rules,
    SSL *ssl, const char *match_name, recheck_cb cb, void *arg)
{
	char key[CONF_NAME_MAX + 1];
	uint32_t h;
	struct recheck_entry *e;
	uint64_t now = dp_now_ms();

	/* The cache's key, which its answers carry: lower case. */
	if (dp_strlcpy(key, name, sizeof(key)) >= sizeof(key))
		return DP_ERR_INVALID;
	dp_str_lower(key);
	h = dp_str_hash(key);
	if ((e = entry_find(t, key, h)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->name = strdup(key)) == NULL ||
		    (e->ev = event_new(t->base, -1, 0, entry_cb, e)) == NULL) {
			if (e != NULL)
				free(e->name);
			free(e);
			return DP_ERR_NOMEM;
		}
		e->t = t;
		e->hash = h;
		e->secure_ms = now;
		LIST_INIT(&e->watches);
		LIST_INSERT_HEAD(&t->buckets[h & (RECHECK_BUCKETS - 1)], e, chain);
		t->n_entries++;
		mx_recheck_names(1);
		tlsa_answer_ref(ans);
		e->last = ans;
		schedule(e, ans->expires_ms > now ?
		    ans->expires_ms - now + RECHECK_EXPIRY_SLACK_MS : 0);
	}
	w->e = e;
	w->rules = rules;
	w->ssl = ssl;
	w->match_name = match_name;
	w->revoked = 0;
	w->cb = cb;
	w->arg = arg;
	LIST_INSERT_HEAD(&e->watches, w, link);
	e->n_watches++;
	return DP_OK;
}

void
recheck_watch_stop(struct recheck_watch *w)
{
	struct recheck_entry *e = w->e;

	if (e == NULL)
		return;
	LIST_REMOVE(w, link);
	w->e = NULL;
	e->n_watches--;
	if (w->revoked)
		e->n_revoked--;
	if (e->busy == 0 && e->n_watches == 0)
		entry_free(e);
}

const char *
recheck_watch_name(const struct recheck_watch *w)
{
	return w->e != NULL ? w->e->name : NULL;
}

unsigned
recheck_table_names(const struct recheck_table *t)
{
	return t->n_entries;
}
