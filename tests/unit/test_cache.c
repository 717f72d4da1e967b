/* test_cache.c — the TLSA cache against a fake DNS client.
 *
 * This program is linked without dns.c: it provides dns_lookup_tlsa() and
 * friends itself, records every lookup, and completes lookups by hand (from
 * an event loop for one case, directly for the rest) with a fake clock.
 * What the cache counts is read back from the metrics region this program
 * attaches to, as /metrics renders it: the cache's one counting path. */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cache.h"
#include "err.h"
#include "metrics.h"
#include "tap.h"
#include "tlsa.h"

/* ---- the fake DNS client ---- */

#define MAX_FAKE 256

struct dns_client {
	uint64_t started;
};

struct dns_query {
	char name[256];
	dns_cb cb;
	void *arg;
	int cancelled;
	int completed;
};

static struct dns_query fake_q[MAX_FAKE];
static int n_fake;
static int fake_fail;		/* next dns_lookup_tlsa returns this if != 0 */

const char *
dns_status_str(enum dns_status s)
{
	static const char *t[] = { "secure", "nxdomain", "nodata", "insecure",
	    "bogus", "servfail/error", "timeout" };
	return (unsigned)s < 7 ? t[s] : "unknown";
}

int
dns_lookup_tlsa(struct dns_client *c, const char *owner, dns_cb cb,
    void *arg, struct dns_query **out)
{
	struct dns_query *q;

	if (fake_fail != 0) {
		int r = fake_fail;
		fake_fail = 0;
		return r;
	}
	if (n_fake >= MAX_FAKE)
		abort();
	q = &fake_q[n_fake++];
	memset(q, 0, sizeof(*q));
	snprintf(q->name, sizeof(q->name), "%s", owner);
	q->cb = cb;
	q->arg = arg;
	c->started++;
	if (out != NULL)
		*out = q;
	return DP_OK;
}

void
dns_query_cancel(struct dns_query *q)
{
	q->cancelled = 1;
}

uint64_t
dns_queries_started(const struct dns_client *c)
{
	return c->started;
}

/* Completes fake lookup i with nrec TLSA records (3 1 1 with data i, k). */
static void
complete(int i, enum dns_status st, uint32_t ttl, int nrec)
{
	struct dns_result res;
	struct dns_query *q = &fake_q[i];
	unsigned char data[32];
	int k;

	if (q->cancelled || q->completed) {
		diag("complete(%d): query already cancelled/completed", i);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.status = st;
	res.ttl = ttl;
	res.why = "fake";
	for (k = 0; k < nrec; k++) {
		memset(data, i, sizeof(data));
		data[0] = (unsigned char)k;
		tlsa_rrset_add(&res.rrset, 3, 1, 1, data, sizeof(data));
	}
	q->completed = 1;
	q->cb(q->arg, &res);
	tlsa_rrset_clear(&res.rrset);	/* whatever the cache did not take */
}

/* ---- the fake clock ---- */

static uint64_t fake_now = 1000000;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

/* ---- callbacks ---- */

#define MAX_GOT 512

struct got {
	int n;				/* callbacks run */
	struct tlsa_answer *ans[MAX_GOT];
	int tag[MAX_GOT];
};

static struct got got;

struct waiter {
	int tag;
	struct cache_wait *w;
	struct cache_wait *cancel_other;	/* cancelled from the callback */
	struct tlsa_cache *cache;		/* for a get from the callback */
	int nested_rc;
	struct tlsa_answer *nested_ans;
};

static void
got_reset(void)
{
	int i;

	for (i = 0; i < got.n; i++)
		tlsa_answer_unref(got.ans[i]);
	memset(&got, 0, sizeof(got));
}

static void
on_answer(void *arg, struct tlsa_answer *ans)
{
	struct waiter *wt = arg;

	if (got.n < MAX_GOT) {
		got.ans[got.n] = ans;
		got.tag[got.n] = wt != NULL ? wt->tag : -1;
		got.n++;
	} else {
		tlsa_answer_unref(ans);
	}
	if (wt == NULL)
		return;
	wt->w = NULL;
	if (wt->cancel_other != NULL) {
		tlsa_cache_cancel(wt->cancel_other);
		wt->cancel_other = NULL;
	}
	if (wt->cache != NULL) {
		struct cache_wait *w2;
		wt->nested_rc = tlsa_cache_get(wt->cache, ans->name, on_answer,
		    NULL, &wt->nested_ans, &w2);
	}
}

static struct conf_dns
conf_default(void)
{
	struct conf_dns cd;

	memset(&cd, 0, sizeof(cd));
	cd.cache_max_ttl = 300;
	cd.negative_ttl = 30;
	cd.max_inflight = 4;
	cd.cache_max_entries = 100;
	cd.timeout_ms = 1000;
	return cd;
}

static struct tlsa_cache *
cache_make(struct dns_client *dns, const struct conf_dns *cd)
{
	struct tlsa_cache *c = NULL;

	if (tlsa_cache_new(dns, cd, &c) != DP_OK)
		abort();
	tlsa_cache_set_clock(c, fake_clock);
	return c;
}

static void
fake_reset(void)
{
	n_fake = 0;
	memset(fake_q, 0, sizeof(fake_q));
}

/* The value of one sample in an exposition, or -1. */
static long long
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

/* ---- what the cache counted, read back through the metrics ---- */

static struct mx_region *mx_region;

/* Makes the hooks count into a new, zeroed region from here on. */
static void
counters_reset(void)
{
	int slot;

	metrics_worker_attach(NULL, -1);
	metrics_region_free(mx_region);
	mx_region = NULL;
	if (metrics_region_new(&mx_region) != DP_OK ||
	    (slot = metrics_slot_take(mx_region, 1)) < 0)
		abort();
	metrics_worker_attach(mx_region, slot);
}

/* The value of one sample of the exposition now, or -1. */
static long long
counter(const char *series)
{
	char *text = NULL;
	size_t len;
	long long v;

	if (metrics_render(mx_region, NULL, &text, &len) != DP_OK)
		abort();
	v = sample(text, series);
	free(text);
	return v;
}

#define HITS "daneproxy_tlsa_cache_hits_total"
#define MISSES "daneproxy_tlsa_cache_misses_total"	/* started or joined */
#define MERGED "daneproxy_tlsa_cache_merged_total"
#define BUSY "daneproxy_tlsa_cache_busy_total"

/* ---- tests ---- */

static void
test_miss_merge_hit(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct tlsa_cache *c = cache_make(&dns, &cd);
	struct waiter wt[200];
	struct tlsa_answer *ans = NULL;
	struct cache_wait *w = NULL;
	struct cache_stats st;
	int i, rc, all_again = 1, same = 1;

	fake_reset();
	counters_reset();
	memset(wt, 0, sizeof(wt));
	rc = tlsa_cache_get(c, "dev1._device.dp.test", on_answer, &wt[0], &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "miss: DP_ERR_AGAIN");
	ok(w != NULL && ans == NULL, "miss: a wait handle, no answer");
	is_int(n_fake, 1, "miss: one lookup started");
	is_str(fake_q[0].name, "dev1._device.dp.test", "lookup of the name");
	for (i = 1; i < 200; i++) {
		wt[i].tag = i;
		rc = tlsa_cache_get(c, "dev1._device.dp.test", on_answer, &wt[i],
		    &ans, &wt[i].w);
		if (rc != DP_ERR_AGAIN || wt[i].w == NULL)
			all_again = 0;
	}
	ok(all_again, "199 more gets while pending: all DP_ERR_AGAIN");
	is_int(n_fake, 1, "200 gets, exactly one lookup");
	is_int(counter(MISSES) - counter(MERGED), 1, "counted: 1 lookup started");
	is_int(counter(MERGED), 199, "counted: 199 merged");
	is_int(counter(MISSES), 200, "counted: 200 misses, merged included");
	is_int(counter(HITS), 0, "counted: no hit yet");
	tlsa_cache_stats(c, &st);
	is_int(st.inflight, 1, "stats: 1 in flight");

	complete(0, DNS_SECURE, 100, 2);
	is_int(got.n, 200, "all 200 callbacks ran");
	for (i = 1; i < got.n; i++)
		if (got.ans[i] != got.ans[0])
			same = 0;
	ok(same, "all with the same answer object");
	ok(got.tag[0] == 0 && got.tag[199] == 199, "in arrival order");
	is_int(got.ans[0]->status, DNS_SECURE, "status secure");
	is_int(got.ans[0]->rrset.n, 2, "two records");
	ok(got.ans[0]->rrset.rr[0].prep == TLSA_RR_USE &&
	    got.ans[0]->rrset.rr[1].prep == TLSA_RR_USE,
	    "records prepared as the answer entered the cache");
	is_int(got.ans[0]->refs, 201, "refs: 200 callbacks + the cache");
	is_str(got.ans[0]->name, "dev1._device.dp.test", "answer carries the name");
	is_int(got.ans[0]->expires_ms, fake_now + 100000, "expires after the TTL");

	rc = tlsa_cache_get(c, "dev1._device.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_OK, "hit after completion");
	ok(ans == got.ans[0] && w == NULL, "hit: the cached answer, no wait");
	tlsa_answer_unref(ans);
	rc = tlsa_cache_get(c, "DEV1._Device.DP.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_OK, "names are case-insensitive");
	tlsa_answer_unref(ans);
	is_int(counter(HITS), 2, "counted: 2 hits");
	is_int(counter(MISSES), 200, "counted: no more misses");
	tlsa_cache_stats(c, &st);
	is_int(st.entries, 1, "stats: 1 entry");
	is_int(st.inflight, 0, "stats: 0 in flight");
	is_int(n_fake, 1, "still one lookup");
	got_reset();
	tlsa_cache_free(c);
}

static void
test_expiry(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct tlsa_cache *c = cache_make(&dns, &cd);
	struct tlsa_answer *ans;
	struct cache_wait *w;
	int rc;

	fake_reset();
	tlsa_cache_get(c, "a.dp.test", on_answer, NULL, &ans, &w);
	complete(0, DNS_SECURE, 10, 1);
	fake_now += 9999;
	rc = tlsa_cache_get(c, "a.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_OK, "fresh 1 ms before the TTL ends");
	tlsa_answer_unref(ans);
	fake_now += 1;
	rc = tlsa_cache_get(c, "a.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "expired at the TTL: new lookup");
	is_int(n_fake, 2, "second lookup started");

	/* Positive TTL cap: cache_max_ttl 300. */
	complete(1, DNS_SECURE, 86400, 1);
	is_int(got.ans[1]->expires_ms, fake_now + 300 * 1000,
	    "secure TTL capped at cache_max_ttl");

	/* Negative cap: negative_cache_ttl 30. */
	tlsa_cache_get(c, "nx.dp.test", on_answer, NULL, &ans, &w);
	complete(2, DNS_SECURE_NXDOMAIN, 3600, 0);
	is_int(got.ans[2]->status, DNS_SECURE_NXDOMAIN, "nxdomain delivered");
	is_int(got.ans[2]->expires_ms, fake_now + 30 * 1000,
	    "denial TTL capped at negative_cache_ttl");
	rc = tlsa_cache_get(c, "nx.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_OK, "nxdomain cached");
	tlsa_answer_unref(ans);

	/* Denial with a TTL shorter than the cap, and with no TTL. */
	tlsa_cache_get(c, "nodata.dp.test", on_answer, NULL, &ans, &w);
	complete(3, DNS_SECURE_NODATA, 5, 0);
	is_int(got.ans[3]->expires_ms, fake_now + 5000, "short denial TTL kept");
	tlsa_cache_get(c, "nosoa.dp.test", on_answer, NULL, &ans, &w);
	complete(4, DNS_SECURE_NODATA, 0, 0);
	rc = tlsa_cache_get(c, "nosoa.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "denial with TTL 0 not cached");
	complete(5, DNS_SECURE_NODATA, 0, 0);

	/* Bogus and insecure: negative cap. */
	tlsa_cache_get(c, "bogus.dp.test", on_answer, NULL, &ans, &w);
	complete(6, DNS_BOGUS, 60, 0);
	is_int(got.ans[got.n - 1]->expires_ms, fake_now + 30 * 1000,
	    "bogus capped at negative_cache_ttl");
	is_str(got.ans[got.n - 1]->why, "fake", "why copied");
	fake_now += 30 * 1000;
	rc = tlsa_cache_get(c, "bogus.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "bogus expired after negative_cache_ttl");
	got_reset();
	tlsa_cache_free(c);
	ok(fake_q[n_fake - 1].cancelled, "free cancels the pending lookup");
}

static void
test_tempfail_busy(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct tlsa_cache *c = cache_make(&dns, &cd);
	struct tlsa_answer *ans;
	struct cache_wait *w;
	struct cache_stats st;
	int rc, i;
	char name[128];

	fake_reset();
	counters_reset();
	tlsa_cache_get(c, "t.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_get(c, "t.dp.test", on_answer, NULL, &ans, &w);
	complete(0, DNS_TEMPFAIL, 300, 0);
	is_int(got.n, 2, "tempfail handed to both waiters");
	is_int(got.ans[0]->status, DNS_TEMPFAIL, "status tempfail");
	tlsa_cache_stats(c, &st);
	is_int(st.entries, 0, "tempfail not cached");
	rc = tlsa_cache_get(c, "t.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "next get starts a new lookup");
	complete(1, DNS_TIMEOUT, 0, 0);
	is_int(got.ans[2]->status, DNS_TIMEOUT, "timeout delivered");
	tlsa_cache_stats(c, &st);
	is_int(st.entries, 0, "timeout not cached");
	got_reset();

	/* max_inflight = 4 */
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "busy%d.dp.test", i);
		rc = tlsa_cache_get(c, name, on_answer, NULL, &ans, &w);
		if (rc != DP_ERR_AGAIN)
			diag("get %s: %d", name, rc);
	}
	rc = tlsa_cache_get(c, "busy9.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_BUSY, "fifth lookup in flight: DP_ERR_BUSY");
	rc = tlsa_cache_get(c, "busy0.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "joining a lookup in flight is still allowed");
	is_int(counter(BUSY), 1, "counted: 1 busy");
	is_int(counter(MERGED), 2, "counted: 2 merged (t, then busy0)");
	tlsa_cache_stats(c, &st);
	is_int(st.inflight, 4, "stats: 4 in flight");
	complete(2, DNS_SECURE, 60, 1);
	rc = tlsa_cache_get(c, "busy9.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "room again after one completes");

	/* Bad names, failing lookups. */
	is_int(tlsa_cache_get(c, "", on_answer, NULL, &ans, &w), DP_ERR_INVALID,
	    "empty name invalid");
	is_int(tlsa_cache_get(c, "a..b", on_answer, NULL, &ans, &w),
	    DP_ERR_INVALID, "empty label invalid");
	is_int(tlsa_cache_get(c, "a.b.", on_answer, NULL, &ans, &w),
	    DP_ERR_INVALID, "trailing dot invalid");
	is_int(tlsa_cache_get(c, "a b.test", on_answer, NULL, &ans, &w),
	    DP_ERR_INVALID, "space invalid");
	memset(name, 'a', 63);
	strcpy(name + 63, "a.test");
	is_int(tlsa_cache_get(c, name, on_answer, NULL, &ans, &w),
	    DP_ERR_INVALID, "64-octet label invalid");
	{
		char longname[300];
		for (i = 0; i < 254; i++)
			longname[i] = (i % 2) ? '.' : 'a';
		longname[253] = 'a';
		longname[254] = '\0';
		is_int(tlsa_cache_get(c, longname, on_answer, NULL, &ans, &w),
		    DP_ERR_INVALID, "254-character name invalid");
		longname[253] = '\0';
		is_int(tlsa_cache_get(c, longname, on_answer, NULL, &ans, &w),
		    DP_ERR_BUSY, "253-character name accepted (busy here)");
	}
	tlsa_cache_free(c);
	got_reset();

	cd = conf_default();
	c = cache_make(&dns, &cd);
	fake_reset();
	fake_fail = DP_ERR_NOMEM;
	rc = tlsa_cache_get(c, "fail.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_NOMEM, "lookup failure returned");
	tlsa_cache_stats(c, &st);
	ok(st.entries == 0 && st.inflight == 0, "no entry left after a failed lookup");
	tlsa_cache_free(c);
}

static void
test_cancel(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct tlsa_cache *c = cache_make(&dns, &cd);
	struct waiter wt[4];
	struct tlsa_answer *ans;
	int i;

	fake_reset();
	memset(wt, 0, sizeof(wt));
	for (i = 0; i < 4; i++) {
		wt[i].tag = i;
		tlsa_cache_get(c, "c.dp.test", on_answer, &wt[i], &ans, &wt[i].w);
	}
	tlsa_cache_cancel(wt[1].w);
	/* wt[0]'s callback cancels wt[2]; wt[3]'s does a get of the same name. */
	wt[0].cancel_other = wt[2].w;
	wt[3].cache = c;
	complete(0, DNS_SECURE, 60, 1);
	is_int(got.n, 2, "cancelled waiters got no callback");
	ok(got.tag[0] == 0 && got.tag[1] == 3, "the others did");
	is_int(wt[3].nested_rc, DP_OK, "get from inside a callback hits the new entry");
	ok(wt[3].nested_ans == got.ans[0], "same answer");
	tlsa_answer_unref(wt[3].nested_ans);
	got_reset();

	/* All waiters cancelled: the lookup goes on and fills the cache. */
	memset(wt, 0, sizeof(wt));
	tlsa_cache_get(c, "d.dp.test", on_answer, &wt[0], &ans, &wt[0].w);
	tlsa_cache_cancel(wt[0].w);
	ok(!fake_q[1].cancelled, "lookup not cancelled with its last waiter");
	complete(1, DNS_SECURE, 60, 1);
	is_int(got.n, 0, "no callback");
	is_int(tlsa_cache_get(c, "d.dp.test", on_answer, NULL, &ans, &wt[0].w),
	    DP_OK, "answer cached anyway");
	tlsa_answer_unref(ans);

	/* Freeing the cache with waiters: no callbacks, lookups cancelled. */
	tlsa_cache_get(c, "e.dp.test", on_answer, &wt[1], &ans, &wt[1].w);
	tlsa_cache_get(c, "e.dp.test", on_answer, &wt[2], &ans, &wt[2].w);
	tlsa_cache_free(c);
	ok(fake_q[2].cancelled, "free cancels the lookup");
	is_int(got.n, 0, "free runs no callback");
}

static void
test_lru_refs(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct tlsa_cache *c;
	struct tlsa_answer *ans, *kept;
	struct cache_wait *w;
	struct cache_stats st;
	int rc;

	cd.cache_max_entries = 3;
	c = cache_make(&dns, &cd);
	fake_reset();
	tlsa_cache_get(c, "a.dp.test", on_answer, NULL, &ans, &w);
	complete(0, DNS_SECURE, 60, 1);
	tlsa_cache_get(c, "b.dp.test", on_answer, NULL, &ans, &w);
	complete(1, DNS_SECURE, 60, 1);
	tlsa_cache_get(c, "c.dp.test", on_answer, NULL, &ans, &w);
	complete(2, DNS_SECURE, 60, 1);
	kept = got.ans[1];	/* b's answer, held by us */
	tlsa_answer_ref(kept);
	got_reset();
	rc = tlsa_cache_get(c, "a.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_OK, "a cached");
	tlsa_answer_unref(ans);
	/* d makes four: b is the least recently used. */
	tlsa_cache_get(c, "d.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_stats(c, &st);
	is_int(st.entries, 3, "eviction keeps cache_max_entries");
	complete(3, DNS_SECURE, 60, 1);
	is_int(tlsa_cache_get(c, "a.dp.test", on_answer, NULL, &ans, &w), DP_OK,
	    "recently used a kept");
	tlsa_answer_unref(ans);
	is_int(tlsa_cache_get(c, "c.dp.test", on_answer, NULL, &ans, &w), DP_OK,
	    "c kept");
	tlsa_answer_unref(ans);
	is_int(kept->refs, 1, "evicted answer still held by its other owner");
	is_int(tlsa_cache_get(c, "b.dp.test", on_answer, NULL, &ans, &w),
	    DP_ERR_AGAIN, "least recently used b evicted");
	complete(4, DNS_SECURE, 60, 1);
	got_reset();

	/* In-flight entries are never evicted, even beyond the limit. */
	tlsa_cache_get(c, "p1.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_get(c, "p2.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_get(c, "p3.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_get(c, "p4.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_stats(c, &st);
	is_int(st.entries, 4, "four in flight over a limit of three");
	ok(!fake_q[5].cancelled && !fake_q[8].cancelled, "none cancelled");
	complete(5, DNS_SECURE, 60, 1);
	complete(6, DNS_SECURE, 60, 1);
	complete(7, DNS_SECURE, 60, 1);
	complete(8, DNS_SECURE, 60, 1);
	is_int(got.n, 4, "all four answered");
	tlsa_cache_stats(c, &st);
	is_int(st.entries, 3, "back to the limit afterwards");

	/* Answers outlive the cache. */
	ans = got.ans[3];
	tlsa_answer_ref(ans);
	got_reset();
	tlsa_cache_free(c);
	is_int(ans->status, DNS_SECURE, "answer readable after the cache is gone");
	is_str(ans->name, "p4.dp.test", "its name too");
	tlsa_answer_unref(ans);
	tlsa_answer_unref(kept);
	tlsa_answer_unref(NULL);
	ok(1, "unref of NULL is harmless");

	/* cache_max_ttl 0: nothing secure is kept. */
	cd = conf_default();
	cd.cache_max_ttl = 0;
	c = cache_make(&dns, &cd);
	fake_reset();
	tlsa_cache_get(c, "z.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_get(c, "z.dp.test", on_answer, NULL, &ans, &w);
	complete(0, DNS_SECURE, 60, 1);
	is_int(got.n, 2, "cache_max_ttl 0: answers still merged and delivered");
	is_int(tlsa_cache_get(c, "z.dp.test", on_answer, NULL, &ans, &w),
	    DP_ERR_AGAIN, "cache_max_ttl 0: not cached");
	got_reset();
	tlsa_cache_free(c);
}

/* More entries than the table has buckets, twice over: every entry is still
 * found after the table grew, and the least recently used still goes first. */
static void
test_grow(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct tlsa_cache *c;
	struct tlsa_answer *ans;
	struct cache_wait *w;
	struct cache_stats st;
	char name[64];
	int i, all_hit = 1;

	cd.cache_max_entries = 200;
	c = cache_make(&dns, &cd);
	fake_reset();
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "g%d.dp.test", i);
		tlsa_cache_get(c, name, on_answer, NULL, &ans, &w);
		complete(i, DNS_SECURE, 60, 1);
	}
	got_reset();
	tlsa_cache_stats(c, &st);
	is_int(st.entries, 200, "grow: 200 entries held");
	for (i = 199; i >= 0; i--) {
		snprintf(name, sizeof(name), "g%d.dp.test", i);
		if (tlsa_cache_get(c, name, on_answer, NULL, &ans, &w) != DP_OK)
			all_hit = 0;
		tlsa_answer_unref(ans);
	}
	ok(all_hit, "grow: every entry found after the table grew");
	is_int(n_fake, 200, "grow: no lookup repeated");
	/* Used last in reverse: g199 is now the least recently used. */
	tlsa_cache_get(c, "g200.dp.test", on_answer, NULL, &ans, &w);
	complete(200, DNS_SECURE, 60, 1);
	got_reset();
	is_int(tlsa_cache_get(c, "g0.dp.test", on_answer, NULL, &ans, &w), DP_OK,
	    "grow: the most recently used stays");
	tlsa_answer_unref(ans);
	is_int(tlsa_cache_get(c, "g199.dp.test", on_answer, NULL, &ans, &w),
	    DP_ERR_AGAIN, "grow: the least recently used went");
	tlsa_cache_free(c);
	got_reset();
}

/* Lookups completed from a libevent loop, as dns.c does. */
static struct tlsa_cache *loop_cache;

static void
complete_from_loop(evutil_socket_t fd, short what, void *arg)
{
	complete((int)(intptr_t)arg, DNS_SECURE, 60, 3);
}

static void
test_event_loop(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct event_base *base = event_base_new();
	struct tlsa_answer *ans;
	struct cache_wait *w;
	struct timeval tv = { 0, 1000 };
	int rc;

	loop_cache = cache_make(&dns, &cd);
	fake_reset();
	rc = tlsa_cache_get(loop_cache, "loop.dp.test", on_answer, NULL, &ans, &w);
	tlsa_cache_get(loop_cache, "loop.dp.test", on_answer, NULL, &ans, &w);
	is_int(rc, DP_ERR_AGAIN, "loop: pending");
	event_base_once(base, -1, EV_TIMEOUT, complete_from_loop, (void *)0, &tv);
	is_int(got.n, 0, "loop: no callback before the loop runs");
	event_base_dispatch(base);
	is_int(got.n, 2, "loop: both callbacks from the loop");
	is_int(got.ans[0]->rrset.n, 3, "loop: three records");
	got_reset();
	tlsa_cache_free(loop_cache);
	event_base_free(base);
	is_str(dns_status_str(DNS_TIMEOUT), "timeout", "fake status text");
	is_int(dns_queries_started(&dns), 1, "fake counts lookups");
}

/* What the cache tells the metrics: hits, misses (new and merged), merged
 * joins alone, one lookup's result, and the in-flight gauge back to 0 once
 * the cache is freed with a lookup pending. */
static void
test_metrics_hooks(void)
{
	struct dns_client dns = { 0 };
	struct conf_dns cd = conf_default();
	struct tlsa_cache *c = cache_make(&dns, &cd);
	struct tlsa_answer *ans = NULL;
	struct cache_wait *w = NULL;

	fake_reset();
	counters_reset();
	tlsa_cache_get(c, "m1.dp.test", on_answer, NULL, &ans, &w);	/* miss */
	tlsa_cache_get(c, "m1.dp.test", on_answer, NULL, &ans, &w);	/* merged */
	tlsa_cache_get(c, "m2.dp.test", on_answer, NULL, &ans, &w);	/* miss */
	is_int(counter("daneproxy_tlsa_lookups_in_flight"), 2,
	    "metrics: two lookups in flight");
	complete(0, DNS_SECURE, 100, 1);
	tlsa_cache_get(c, "m1.dp.test", on_answer, NULL, &ans, &w);	/* hit */
	tlsa_answer_unref(ans);
	tlsa_cache_free(c);	/* m2 still in flight: cancelled */
	is_int(counter(HITS), 1, "metrics: 1 hit");
	is_int(counter(MISSES), 3, "metrics: 3 misses (2 lookups, 1 merged)");
	is_int(counter(MERGED), 1, "metrics: 1 merged");
	is_int(counter(BUSY), 0, "metrics: none busy");
	is_int(counter("daneproxy_tlsa_lookups_total{result=\"secure\"}"), 1,
	    "metrics: 1 secure result");
	is_int(counter("daneproxy_tlsa_lookup_duration_seconds_count"), 1,
	    "metrics: 1 latency observed (not the cancelled one)");
	is_int(counter("daneproxy_tlsa_lookups_in_flight"), 0,
	    "metrics: freeing the cache cancels the one in flight: gauge 0");
	got_reset();
}

int
main(void)
{
	test_miss_merge_hit();
	test_expiry();
	test_tempfail_busy();
	test_cancel();
	test_lru_refs();
	test_grow();
	test_event_loop();
	test_metrics_hooks();
	metrics_worker_attach(NULL, -1);
	metrics_region_free(mx_region);
	return done_testing();
}
