/* chaincache.c — see chaincache.h. */
#include "chaincache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainval.h"
#include "dnschain.h"
#include "err.h"
#include "util.h"

struct slot {
	unsigned char digest[32];
	char *name;			/* NULL: empty */
	struct tlsa_answer *answer;	/* one reference */
	int64_t sig_expires;		/* wall clock: earliest RRSIG expiration */
	int64_t signed_at;		/* wall clock: the oldest TLSA RRSIG's inception */
};

struct chaincache {
	struct chainval *v;
	struct slot slot[CHAINCACHE_SLOTS];
};

int
chaincache_new(const char *trust_anchor_file, struct chaincache **out,
    char *err, size_t err_size)
{
	struct chaincache *cc;
	int r;

	*out = NULL;
	if ((cc = calloc(1, sizeof(*cc))) == NULL) {
		snprintf(err, err_size, "out of memory");
		return DP_ERR_NOMEM;
	}
	if ((r = chainval_new(trust_anchor_file, &cc->v, err, err_size)) != DP_OK) {
		free(cc);
		return r;
	}
	*out = cc;
	return DP_OK;
}

static void
slot_clear(struct slot *s)
{
	free(s->name);
	tlsa_answer_unref(s->answer);
	memset(s, 0, sizeof(*s));
}

void
chaincache_free(struct chaincache *cc)
{
	size_t i;

	if (cc == NULL)
		return;
	for (i = 0; i < CHAINCACHE_SLOTS; i++)
		slot_clear(&cc->slot[i]);
	chainval_free(cc->v);
	free(cc);
}

static int
refuse(struct chain_verdict *out, enum mx_hs_reason why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct chain_verdict *out, enum mx_hs_reason why, const char *fmt, ...)
{
	va_list ap;

	out->why = why;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	return DP_OK;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Seconds since the oldest inception of the RRSIGs over TLSA RRsets in c
 * (RFC 4034 serial arithmetic against now); -1 without any. */
static int64_t
tlsa_sig_age(const struct dnschain *c, uint32_t now)
{
	int64_t age, oldest = -1;
	size_t i;

	for (i = 0; i < c->n; i++) {
		const unsigned char *rd = c->rr[i].wire + c->rr[i].rdata_off;

		/* dnschain_parse checked the RRSIG's fixed fields are there. */
		if (c->rr[i].type != DNSCHAIN_TYPE_RRSIG ||
		    (rd[0] << 8 | rd[1]) != DNSCHAIN_TYPE_TLSA)
			continue;
		age = (int32_t)(now - be32(rd + 12));
		if (age > oldest)
			oldest = age;
	}
	return oldest;
}

/* The dates of a chain: every RRSIG valid now, the TLSA ones not older
 * than max_age. 1 when they pass, else 0 with out refused. */
static int
dates_ok(int64_t sig_left, int64_t sig_age, int64_t tlsa_age,
    unsigned max_age, struct chain_verdict *out)
{
	if (sig_left < 0)
		refuse(out, MX_HS_CHAIN_EXPIRED, "stapled chain: expired: an "
		    "RRSIG expired %lld s ago", (long long)-sig_left);
	else if (sig_age < 0)
		refuse(out, MX_HS_CHAIN_EXPIRED, "stapled chain: expired: an "
		    "RRSIG is not valid for another %lld s", (long long)-sig_age);
	else if (max_age != 0 && tlsa_age > (int64_t)max_age)
		refuse(out, MX_HS_CHAIN_EXPIRED, "stapled chain: expired: the "
		    "TLSA record was signed %lld s ago (stapled_max_age %u)",
		    (long long)tlsa_age, max_age);
	else
		return 1;
	return 0;
}

/* The secure answer of a validated chain, expiring as chaincache.h says. */
static struct tlsa_answer *
answer_of(const char *name, struct chainval_result *cv,
    const struct chain_policy *pol)
{
	struct dns_result res = {
		.status = DNS_SECURE,
		.rrset = cv->tlsa,
		.rr_ttl = cv->ttl,
	};
	struct tlsa_answer *a;
	uint64_t life = cv->ttl;

	dp_strlcpy(res.wildcard, cv->wildcard, sizeof(res.wildcard));
	res.sig_expires = (int64_t)time(NULL) + cv->sig_left;
	memset(&cv->tlsa, 0, sizeof(cv->tlsa));	/* taken by the answer */
	if ((a = tlsa_answer_new(name, &res)) == NULL) {
		tlsa_rrset_clear(&res.rrset);
		return NULL;
	}
	if ((uint64_t)cv->sig_left < life)
		life = (uint64_t)cv->sig_left;
	if (pol->max_ttl < life)
		life = pol->max_ttl;
	a->fetched_ms = dp_now_ms();
	a->expires_ms = a->fetched_ms + life * 1000;
	return a;
}

int
chaincache_judge(struct chaincache *cc, const unsigned char *data,
    size_t len, const char *name, const struct chain_policy *pol,
    time_t now, struct chain_verdict *out)
{
	struct dnschain_limits lim = {
		.max_chain_bytes = pol->max_bytes,
		.max_rrs = DNSCHAIN_MAX_RRS_DEFAULT,
		.max_rrsigs = DNSCHAIN_MAX_RRSIGS_DEFAULT,
	};
	struct dnschain c = { 0 };
	struct chainval_result cv = { 0 };
	unsigned char digest[32];
	char why[DNSCHAIN_WHY_MAX];
	struct slot *s;
	int64_t tlsa_age;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > pol->max_bytes)
		return refuse(out, MX_HS_CHAIN_OVERSIZE, "stapled chain: "
		    "oversize: %zu bytes (max_chain_bytes %zu)", len,
		    pol->max_bytes);
	if (dnschain_digest(data, len, digest) != DP_OK)
		return refuse(out, MX_HS_CHAIN_MALFORMED, "stapled chain: "
		    "cannot digest it");
	s = &cc->slot[be32(digest) % CHAINCACHE_SLOTS];
	if (s->name != NULL && memcmp(s->digest, digest, sizeof(digest)) == 0 &&
	    strcmp(s->name, name) == 0) {
		if (!dates_ok(s->sig_expires - now, 0, now - s->signed_at,
		    pol->max_age, out)) {
			slot_clear(s);
			return DP_OK;
		}
		tlsa_answer_ref(s->answer);
		out->answer = s->answer;
		out->cached = 1;
		return DP_OK;
	}

	r = dnschain_parse(data, len, &lim, (uint32_t)now, &c, why, sizeof(why));
	if (r == DP_ERR_NOMEM)
		return r;
	if (r == DP_ERR_BUSY)
		return refuse(out, MX_HS_CHAIN_OVERSIZE, "stapled chain: "
		    "oversize: %s", why);
	if (r != DP_OK)
		return refuse(out, MX_HS_CHAIN_MALFORMED, "stapled chain: "
		    "malformed: %s", why);
	tlsa_age = tlsa_sig_age(&c, (uint32_t)now);
	if (c.have_sig && !dates_ok(c.sig_left, c.sig_age, tlsa_age,
	    pol->max_age, out)) {
		dnschain_free(&c);
		return DP_OK;
	}
	r = chainval_check(cc->v, &c, name, now, &cv);
	dnschain_free(&c);
	if (r == DP_ERR_NOMEM) {
		chainval_result_clear(&cv);
		return r;
	}
	switch (cv.status) {
	case CHAINVAL_SECURE:
		break;
	case CHAINVAL_BOGUS:
		refuse(out, MX_HS_CHAIN_BOGUS, "stapled chain: bogus: %s",
		    cv.reason);
		goto done;
	case CHAINVAL_INSECURE:
		refuse(out, MX_HS_CHAIN_INSECURE, "stapled chain: insecure: %s",
		    cv.reason);
		goto done;
	case CHAINVAL_INDETERMINATE:
		if (cv.no_tlsa)
			refuse(out, MX_HS_CHAIN_WRONG_NAME, "stapled chain: "
			    "wrong name: no TLSA RRset for %s in it", name);
		else
			refuse(out, MX_HS_CHAIN_INCOMPLETE, "stapled chain: "
			    "incomplete: %s", cv.reason);
		goto done;
	}
	if ((out->answer = answer_of(name, &cv, pol)) == NULL) {
		chainval_result_clear(&cv);
		return DP_ERR_NOMEM;
	}
	/* Kept for the next handshake with these bytes for this name. */
	slot_clear(s);
	if ((s->name = strdup(name)) != NULL) {
		memcpy(s->digest, digest, sizeof(digest));
		tlsa_answer_ref(out->answer);
		s->answer = out->answer;
		s->sig_expires = (int64_t)now + cv.sig_left;
		s->signed_at = tlsa_age >= 0 ? (int64_t)now - tlsa_age : now;
	}
 done:
	chainval_result_clear(&cv);
	return DP_OK;
}
