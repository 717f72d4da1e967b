/* test_staple.c — dane/staple.c against a fake DNS client.
 *
 * This program is linked without dns.c: it provides dns_lookup_rrsets() and
 * friends itself and answers from the event loop, like the real client,
 * with messages built here with ldns from a zone signed here (KSK, ZSK, a
 * TLSA RRset; the KSK's DS is the trust anchor), or with scripted failures,
 * or never. What is checked: the walk (which lookups, none past the
 * anchor), the chain (parsed and validated again here), when the next build
 * is due (the TTL clamped, the RRSIG expiration), a forged answer refused by
 * the staple's own validator, retries doubling, the chain in use kept
 * through a failed rebuild until its signatures expire, the zone bound and
 * the lookups-in-flight bound on an endless walk, lookups cancelled by
 * staple_free, errors at creation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "chainval.h"
#include "dns.h"
#include "dnschain.h"
#include "err.h"
#include "staple.h"
#include "tap.h"

#define ZONE "chain.test."
#define NAME "_x.chain.test"

/* ---- the zone ---- */

struct zone {
	ldns_rr_list *keys, *ksig, *tlsa, *tsig;
	char ta_file[64];
};

static void
zone_free(struct zone *z)
{
	ldns_rr_list_deep_free(z->keys);
	ldns_rr_list_deep_free(z->ksig);
	ldns_rr_list_deep_free(z->tlsa);
	ldns_rr_list_deep_free(z->tsig);
	if (z->ta_file[0] != '\0')
		unlink(z->ta_file);
	memset(z, 0, sizeof(*z));
}

static ldns_key *
key_new(uint16_t flags, uint32_t expiration)
{
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);

	if (k == NULL)
		return NULL;
	ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str(ZONE));
	ldns_key_set_flags(k, flags);
	ldns_key_set_inception(k, (uint32_t)time(NULL) - 3600);
	ldns_key_set_expiration(k, expiration);
	ldns_key_set_use(k, true);
	return k;
}

/* chain.test. signed with RRSIGs expiring sig_left seconds from now, every
 * RR with TTL ttl; the TA file holds the KSK's DS. */
static int
zone_make(struct zone *z, uint32_t ttl, uint32_t sig_left)
{
	uint32_t exp = (uint32_t)time(NULL) + sig_left;
	ldns_key *ksk = key_new(257, exp), *zsk = key_new(256, exp);
	ldns_key_list *kl = ldns_key_list_new(), *zl = ldns_key_list_new();
	ldns_rr *rr = NULL, *ds = NULL;
	char text[256], *s = NULL;
	FILE *f;
	int fd, r = -1;

	memset(z, 0, sizeof(*z));
	z->keys = ldns_rr_list_new();
	z->tlsa = ldns_rr_list_new();
	if (ksk == NULL || zsk == NULL || kl == NULL || zl == NULL)
		goto out;
	ldns_key_list_push_key(kl, ksk);
	ldns_key_list_push_key(zl, zsk);
	if ((rr = ldns_key2rr(ksk)) == NULL)
		goto out;
	ldns_rr_set_ttl(rr, ttl);
	ldns_key_set_keytag(ksk, ldns_calc_keytag(rr));
	ldns_rr_list_push_rr(z->keys, rr);
	if ((ds = ldns_key_rr2ds(rr, LDNS_SHA256)) == NULL)
		goto out;
	if ((rr = ldns_key2rr(zsk)) == NULL)
		goto out;
	ldns_rr_set_ttl(rr, ttl);
	ldns_key_set_keytag(zsk, ldns_calc_keytag(rr));
	ldns_rr_list_push_rr(z->keys, rr);
	snprintf(text, sizeof(text), NAME ". %u IN TLSA 3 1 1 "
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    ttl);
	if (ldns_rr_new_frm_str(&rr, text, ttl, NULL, NULL) != LDNS_STATUS_OK)
		goto out;
	ldns_rr_list_push_rr(z->tlsa, rr);
	if ((z->ksig = ldns_sign_public(z->keys, kl)) == NULL ||
	    (z->tsig = ldns_sign_public(z->tlsa, zl)) == NULL)
		goto out;
	snprintf(z->ta_file, sizeof(z->ta_file), "/tmp/test_staple.XXXXXX");
	if ((fd = mkstemp(z->ta_file)) < 0 || (f = fdopen(fd, "w")) == NULL ||
	    (s = ldns_rr2str(ds)) == NULL || fputs(s, f) < 0 || fclose(f) != 0)
		goto out;
	r = 0;
out:
	free(s);
	ldns_rr_free(ds);
	ldns_key_list_free(kl);
	ldns_key_list_free(zl);
	return r;
}

/* ---- the fake DNS client ---- */

enum script {
	ANSWER,		/* the zone's RRsets, secure */
	FORGE,		/* the same, the TLSA record changed after signing */
	FAIL,		/* DNS_BOGUS */
	HANG,		/* no answer */
	ENDLESS,	/* every zone's DS signed by a zone one label longer */
};

struct dns_client {
	struct event_base *base;
	const struct zone *z;
	enum script script;
	unsigned lookups, tlsa, dnskey, ds, inflight, max_inflight, cancelled;
};

struct dns_query {
	struct dns_client *c;
	char owner[256];
	uint16_t qtype;
	dns_cb cb;
	void *arg;
	struct event *ev;
};

const char *
dns_status_str(enum dns_status s)
{
	return s == DNS_SECURE ? "secure" : s == DNS_BOGUS ? "bogus" : "other";
}

static void
push_list(ldns_pkt *p, const ldns_rr_list *l)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER,
		    ldns_rr_clone(ldns_rr_list_rr(l, i)));
}

static void
push_str(ldns_pkt *p, const char *text)
{
	ldns_rr *rr = NULL;

	if (ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL) == LDNS_STATUS_OK)
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	else
		diag("bad RR text: %s", text);
}

/* The ENDLESS script's answer: "DS zone" signed by "x.zone", the DNSKEY
 * set of a zone by itself, TLSA by "z.test"; signatures are not checked
 * by the walk, only by the validator at its end, which it never reaches. */
static void
endless(ldns_pkt *p, const struct dns_query *q)
{
	static const char sig[] = "13 %d 300 20370101000000 20200101000000 1 "
	    "%s. AAAA";
	char text[1024], rd[600];

	if (q->qtype == DNSCHAIN_TYPE_TLSA) {
		push_str(p, NAME ". 300 IN TLSA 3 1 1 00");
		snprintf(rd, sizeof(rd), sig, 2, "z.test");
		snprintf(text, sizeof(text), NAME ". 300 IN RRSIG TLSA %s", rd);
	} else if (q->qtype == DNSCHAIN_TYPE_DNSKEY) {
		snprintf(text, sizeof(text), "%s. 300 IN DNSKEY 257 3 13 AAAA",
		    q->owner);
		push_str(p, text);
		snprintf(rd, sizeof(rd), sig, 1, q->owner);
		snprintf(text, sizeof(text), "%s. 300 IN RRSIG DNSKEY %s",
		    q->owner, rd);
	} else {
		char parent[300];
		snprintf(text, sizeof(text), "%s. 300 IN DS 1 13 2 00",
		    q->owner);
		push_str(p, text);
		snprintf(parent, sizeof(parent), "x.%s", q->owner);
		snprintf(rd, sizeof(rd), sig, 1, parent);
		snprintf(text, sizeof(text), "%s. 300 IN RRSIG DS %s", q->owner,
		    rd);
	}
	push_str(p, text);
}

static void
answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	struct dns_client *c = q->c;
	struct dns_result res;
	ldns_pkt *p = NULL;
	uint8_t *wire = NULL;
	size_t len = 0;

	memset(&res, 0, sizeof(res));
	res.status = DNS_SECURE;
	if (c->script == FAIL) {
		res.status = DNS_BOGUS;
		res.why = "scripted";
	} else {
		p = ldns_pkt_new();
		ldns_pkt_set_qr(p, 1);
		ldns_pkt_set_ad(p, 1);
		if (c->script == ENDLESS) {
			endless(p, q);
		} else if (q->qtype == DNSCHAIN_TYPE_TLSA) {
			push_list(p, c->z->tlsa);
			push_list(p, c->z->tsig);
			if (c->script == FORGE) {
				/* the last byte of the TLSA record */
				ldns_rr *rr = ldns_rr_list_rr(
				    ldns_pkt_answer(p), 0);
				ldns_rdf *d = ldns_rr_rdf(rr, 3);
				ldns_rdf_data(d)[ldns_rdf_size(d) - 1] ^= 1;
			}
		} else if (q->qtype == DNSCHAIN_TYPE_DNSKEY) {
			push_list(p, c->z->keys);
			push_list(p, c->z->ksig);
		}
		if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK)
			res.status = DNS_TEMPFAIL;
		res.packet = wire;
		res.packet_len = len;
	}
	event_free(q->ev);
	c->inflight--;
	q->cb(q->arg, &res);
	free(wire);
	ldns_pkt_free(p);
	free(q);
}

int
dns_lookup_rrsets(struct dns_client *c, const char *owner, uint16_t qtype,
    dns_cb cb, void *arg, struct dns_query **out)
{
	struct dns_query *q = calloc(1, sizeof(*q));
	struct timeval tv = { 0, 1000 };

	if (q == NULL)
		return DP_ERR_NOMEM;
	q->c = c;
	snprintf(q->owner, sizeof(q->owner), "%s", owner);
	q->qtype = qtype;
	q->cb = cb;
	q->arg = arg;
	c->lookups++;
	c->tlsa += qtype == DNSCHAIN_TYPE_TLSA;
	c->dnskey += qtype == DNSCHAIN_TYPE_DNSKEY;
	c->ds += qtype == DNSCHAIN_TYPE_DS;
	if (++c->inflight > c->max_inflight)
		c->max_inflight = c->inflight;
	q->ev = evtimer_new(c->base, answer_cb, q);
	if (c->script != HANG)
		evtimer_add(q->ev, &tv);
	*out = q;
	return DP_OK;
}

void
dns_query_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	q->c->cancelled++;
	q->c->inflight--;
	event_free(q->ev);
	free(q);
}

/* ---- helpers ---- */

/* Runs base for ms milliseconds. */
static void
run_for(struct event_base *base, unsigned ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Runs base until s's build has ended (a chain, or an error); 0 if that
 * took over 15 s. */
static int
run_until_built(struct event_base *base, const struct staple *s)
{
	struct staple_info si;
	int i;

	for (i = 0; i < 1500; i++) {
		staple_info(s, &si);
		if (si.usable || si.last_error != NULL)
			return 1;
		run_for(base, 10);
	}
	return 0;
}

/* The chain s uses, validated again here. */
static void
check_chain(const struct staple *s, const char *ta_file, size_t want_rrs,
    const char *what)
{
	struct chainval *v = NULL;
	struct dnschain c = { 0 };
	struct chainval_result res = { 0 };
	const unsigned char *data;
	char err[128];
	size_t len = staple_get(s, &data);

	ok(len > 0 && data != NULL, "%s: a chain (%zu bytes)", what, len);
	is_int(dnschain_parse(data, len, NULL, (uint32_t)time(NULL), &c, err,
	    sizeof(err)), DP_OK, "%s: it parses", what);
	is_int((int)c.n, (int)want_rrs, "%s: %zu RRs", what, want_rrs);
	is_int(c.lifetime, 0, "%s: ExtSupportLifetime 0", what);
	is_int(chainval_new(ta_file, &v, err, sizeof(err)), DP_OK, "anchor read");
	chainval_check(v, &c, NAME, time(NULL), &res);
	is_int(res.status, CHAINVAL_SECURE, "%s: secure (%s)", what, res.reason);
	chainval_result_clear(&res);
	chainval_free(v);
	dnschain_free(&c);
}

/* ---- the cases ---- */

/* A staple on a zone signed for the case (TTL ttl, RRSIGs valid sig_left
 * s), its lookups answered by the fake client's script. */
struct fixture {
	struct dns_client c;		/* the staple keeps a pointer to it */
	struct zone z;
	struct staple *s;
};

static int
fixture_start(struct fixture *f, struct event_base *base, enum script script,
    uint32_t ttl, uint32_t sig_left, const char *what)
{
	char err[128];

	memset(f, 0, sizeof(*f));
	f->c = (struct dns_client){ .base = base, .script = script };
	if (zone_make(&f->z, ttl, sig_left) != 0) {
		ok(0, "%s: zone signed", what);
		return 0;
	}
	f->c.z = &f->z;
	if (!ok(staple_new(base, &f->c, NAME, f->z.ta_file, &f->s, err,
	    sizeof(err)) == DP_OK, "%s: staple_new (%s)", what, err)) {
		zone_free(&f->z);
		return 0;
	}
	return 1;
}

static void
fixture_end(struct fixture *f)
{
	staple_free(f->s);
	zone_free(&f->z);
}

static void
test_build(struct event_base *base, uint32_t ttl, uint32_t sig_left,
    int64_t want_refresh, const char *what)
{
	struct fixture f;
	struct staple_info si;
	int64_t now;

	if (!fixture_start(&f, base, ANSWER, ttl, sig_left, what))
		return;
	staple_info(f.s, &si);
	ok(!si.usable && si.last_error == NULL && f.c.lookups == 0,
	    "%s: nothing before the loop runs", what);
	ok(run_until_built(base, f.s), "%s: the build ends", what);
	now = (int64_t)time(NULL);
	staple_info(f.s, &si);
	ok(si.usable && si.last_error == NULL, "%s: usable (%s)", what,
	    si.last_error ? si.last_error : "no error");
	ok(f.c.tlsa == 1 && f.c.dnskey == 1 && f.c.ds == 0,
	    "%s: TLSA and DNSKEY looked up, no DS at the anchor (%u/%u/%u)",
	    what, f.c.tlsa, f.c.dnskey, f.c.ds);
	check_chain(f.s, f.z.ta_file, 5, what);
	ok(si.rrs == 5 && si.rrsigs == 2, "%s: info: %zu RRs, %zu RRSIGs", what,
	    si.rrs, si.rrsigs);
	ok(si.sig_expires >= now + sig_left - 2 && si.sig_expires <= now + sig_left,
	    "%s: sig_expires is the RRSIGs' expiration (in %lld s)", what,
	    (long long)(si.sig_expires - now));
	ok(si.refresh_at - now >= want_refresh - 2 &&
	    si.refresh_at - now <= want_refresh,
	    "%s: next build in %lld s (want %lld)", what,
	    (long long)(si.refresh_at - now), (long long)want_refresh);
	staple_free(f.s);
	f.s = NULL;
	is_int((int)f.c.inflight, 0, "%s: nothing left in flight", what);
	fixture_end(&f);
}

static void
test_forged(struct event_base *base)
{
	struct fixture f;
	struct staple_info si;
	const unsigned char *data;

	if (!fixture_start(&f, base, FORGE, 300, 86400, "forged"))
		return;
	ok(run_until_built(base, f.s), "forged: the build ends");
	staple_info(f.s, &si);
	ok(!si.usable && si.last_error != NULL &&
	    strstr(si.last_error, "our own validator says bogus") != NULL,
	    "forged TLSA (answer said secure): refused by our own validator (%s)",
	    si.last_error ? si.last_error : "no error");
	ok(staple_get(f.s, &data) == 0 && data == NULL, "forged: nothing to staple");
	fixture_end(&f);
}

static void
test_retry(struct event_base *base)
{
	struct fixture f;
	struct staple_info si;
	int64_t now;

	if (!fixture_start(&f, base, FAIL, 300, 86400, "failing"))
		return;
	ok(run_until_built(base, f.s), "failing: the build ends");
	now = (int64_t)time(NULL);
	staple_info(f.s, &si);
	ok(!si.usable && si.last_error != NULL &&
	    strcmp(si.last_error, "TLSA " NAME ": bogus: scripted") == 0,
	    "failing: the reason names the lookup (%s)",
	    si.last_error ? si.last_error : "none");
	ok(si.refresh_at - now >= 0 && si.refresh_at - now <= 1,
	    "failing: retry after 1 s");
	is_int((int)f.c.lookups, 1, "failing: one lookup");
	run_for(base, 1300);
	now = (int64_t)time(NULL);
	staple_info(f.s, &si);
	is_int((int)f.c.lookups, 2, "failing: retried once after ~1 s");
	ok(si.refresh_at - now >= 1 && si.refresh_at - now <= 2,
	    "failing: then after 2 s (in %lld s)", (long long)(si.refresh_at - now));
	fixture_end(&f);
}

/* RRSIGs valid 4 s: the next build after 2 s (half of it); it fails, the
 * chain stays in use until the RRSIGs expire, then nothing is stapled. */
static void
test_keep_until_expiry(struct event_base *base)
{
	struct fixture f;
	struct staple_info si;
	const unsigned char *data;
	int64_t exp;

	if (!fixture_start(&f, base, ANSWER, 300, 4, "short-lived"))
		return;
	ok(run_until_built(base, f.s), "short-lived: built");
	staple_info(f.s, &si);
	exp = si.sig_expires;
	ok(si.usable, "short-lived: usable");
	f.c.script = FAIL;
	while ((int64_t)time(NULL) < exp - 1 && si.last_error == NULL) {
		run_for(base, 50);
		staple_info(f.s, &si);
	}
	ok(si.last_error != NULL, "short-lived: the rebuild before expiry failed");
	ok(si.usable && staple_get(f.s, &data) > 0,
	    "short-lived: the chain stays in use meanwhile");
	while ((int64_t)time(NULL) < exp)
		run_for(base, 100);
	staple_info(f.s, &si);
	ok(!si.usable && staple_get(f.s, &data) == 0 && data == NULL,
	    "short-lived: nothing stapled once its RRSIGs expired");
	ok(si.bytes > 0, "short-lived: info still shows the old chain's size");
	fixture_end(&f);
}

static void
test_bounds(struct event_base *base)
{
	struct fixture f;
	struct staple_info si;
	char err[128];

	if (!fixture_start(&f, base, ENDLESS, 300, 86400, "endless walk"))
		return;
	ok(run_until_built(base, f.s), "endless walk: the build ends");
	staple_info(f.s, &si);
	ok(!si.usable && si.last_error != NULL &&
	    strstr(si.last_error, "more than 16 zones") != NULL,
	    "endless walk: stopped at the zone bound (%s)",
	    si.last_error ? si.last_error : "none");
	ok(f.c.max_inflight >= 2 && f.c.max_inflight <= 3,
	    "endless walk: at most 3 lookups in flight (%u)", f.c.max_inflight);
	ok(f.c.dnskey <= 16 && f.c.ds <= 16,
	    "endless walk: %u DNSKEY, %u DS lookups", f.c.dnskey, f.c.ds);
	is_int((int)f.c.inflight, 0, "endless walk: the others cancelled");
	staple_free(f.s);

	/* staple_free with lookups in flight cancels them. */
	f.c = (struct dns_client){ .base = base, .script = HANG, .z = &f.z };
	is_int(staple_new(base, &f.c, NAME, f.z.ta_file, &f.s, err,
	    sizeof(err)), DP_OK, "hanging: staple_new (%s)", err);
	run_for(base, 20);
	is_int((int)f.c.inflight, 1, "hanging: the TLSA lookup in flight");
	staple_free(f.s);
	f.s = NULL;
	ok(f.c.inflight == 0 && f.c.cancelled == 1,
	    "hanging: staple_free cancels it");
	staple_free(NULL);
	ok(1, "staple_free(NULL)");
	fixture_end(&f);
}

static void
test_new_errors(struct event_base *base)
{
	struct dns_client c = { .base = base, .script = HANG };
	struct staple *s = (struct staple *)&c;
	char err[128], path[64];
	FILE *f;
	int fd;

	is_int(staple_new(base, &c, "not a name!", "/dev/null", &s, err,
	    sizeof(err)), DP_ERR_INVALID, "a bad name refused (%s)", err);
	ok(s == NULL, "no staple on failure");
	is_int(staple_new(base, &c, NAME, "/nonexistent/ta", &s, err,
	    sizeof(err)), DP_ERR_IO, "a missing anchor file refused (%s)", err);
	snprintf(path, sizeof(path), "/tmp/test_staple.XXXXXX");
	if ((fd = mkstemp(path)) >= 0 && (f = fdopen(fd, "w")) != NULL) {
		fputs("chain.test. 300 IN A 192.0.2.1\n", f);
		fclose(f);
	}
	is_int(staple_new(base, &c, NAME, path, &s, err, sizeof(err)),
	    DP_ERR_INVALID, "an anchor file without DS or DNSKEY refused (%s)",
	    err);
	unlink(path);
	is_int((int)c.lookups, 0, "no lookup started by a failed staple_new");
}

int
main(void)
{
	struct event_base *base = event_base_new();

	/* TTL 30 s: clamped to a minute; 2 h: capped at an hour; RRSIGs
	 * expiring in 1000 s: a build after 500 s (half the time left). */
	test_build(base, 30, 86400, 60, "TTL 30");
	test_build(base, 7200, 86400, 3600, "TTL 7200");
	test_build(base, 7200, 1000, 500, "RRSIGs for 1000 s");
	test_forged(base);
	test_retry(base);
	test_keep_until_expiry(base);
	test_bounds(base);
	test_new_errors(base);
	event_base_free(base);
	return done_testing();
}
