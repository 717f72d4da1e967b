/* dane.c — see dane.h. */
#include "dane.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "cache.h"
#include "clientid.h"
#include "err.h"
#include "util.h"

static void
refuse(struct dane_check *d, enum mx_hs_reason why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct dane_check *d, enum mx_hs_reason why, const char *fmt, ...)
{
	char buf[640];	/* a mismatch: ~100 + the digest and TLSA_SUMMARY_LEN */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(d->reason_alloc);
	d->reason_alloc = strdup(buf);
	d->verdict = DANE_REFUSED;
	d->why = why;
	d->reason = d->reason_alloc != NULL ? d->reason_alloc : "refused";
}

/* Securely no records to match, or insecure ones: PKIX where the rules
 * accept it; otherwise refused with why. */
static void
no_dane(struct dane_check *d, enum mx_hs_reason why, const char *what,
    const char *detail)
{
	if (d->rules->pkix_fallback) {
		d->verdict = DANE_PKIX;
		return;
	}
	refuse(d, why, "TLSA lookup: %s%s%s", what, detail != NULL ? ": " : "",
	    detail != NULL ? detail : "");
}

/* The verdict of step 1 for an answer. */
static void
decide(struct dane_check *d, struct tlsa_answer *ans)
{
	switch (ans->status) {
	case DNS_SECURE:
		break;
	case DNS_SECURE_NXDOMAIN:
	case DNS_SECURE_NODATA:
	case DNS_INSECURE:
		no_dane(d, mx_hs_dns(ans->status), dns_status_str(ans->status),
		    ans->why);
		return;
	default:
		/* Bogus or failed: never PKIX instead (RFC 7672 §2.2). */
		refuse(d, mx_hs_dns(ans->status), "TLSA lookup: %s%s%s",
		    dns_status_str(ans->status), ans->why != NULL ? ": " : "",
		    ans->why != NULL ? ans->why : "");
		return;
	}
	if (ans->wildcard != NULL && d->rules->refuse_wildcard) {
		refuse(d, MX_HS_NOT_ALLOWED, "TLSA record synthesised from the "
		    "wildcard %s (tlsa_wildcard = refuse)", ans->wildcard);
		return;
	}
	tlsa_answer_ref(ans);
	d->answer = ans;
	d->wildcard = ans->wildcard != NULL ? ans->wildcard : "";
	d->verdict = DANE_RECORDS;
}

static void
answer_cb(void *arg, struct tlsa_answer *ans)
{
	struct dane_check *d = arg;

	d->wait = NULL;
	decide(d, ans);
	tlsa_answer_unref(ans);
	d->cb(d->arg, d);	/* may free d */
}

int
dane_allowed(const struct dane_rules *rules, const char *name)
{
	return rules->allow == NULL ||
	    allow_match(rules->allow, rules->n_allow, name);
}

void
dane_lookup(struct dane_check *d, const struct dane_rules *rules,
    const char *name, dane_cb cb, void *arg)
{
	struct tlsa_answer *ans = NULL;
	int r;

	d->rules = rules;
	d->cb = cb;
	d->arg = arg;
	if (!dane_allowed(rules, name)) {
		refuse(d, MX_HS_NOT_ALLOWED, "name not allowed");
	} else {
		r = tlsa_cache_get(rules->cache, name, answer_cb, d, &ans,
		    &d->wait);
		if (r == DP_ERR_AGAIN)
			return;		/* answer_cb goes on */
		if (r == DP_OK) {
			decide(d, ans);
			tlsa_answer_unref(ans);
		} else if (r == DP_ERR_BUSY) {
			refuse(d, MX_HS_BUSY, "too many TLSA lookups in flight");
		} else {
			refuse(d, MX_HS_DNS_ERROR, "TLSA lookup: %s",
			    dp_strerror(r));
		}
	}
	cb(arg, d);
}

void
dane_use_answer(struct dane_check *d, const struct dane_rules *rules,
    const char *name, struct tlsa_answer *ans)
{
	d->rules = rules;
	if (!dane_allowed(rules, name))
		refuse(d, MX_HS_NOT_ALLOWED, "name not allowed");
	else
		decide(d, ans);
}

void
dane_refuse(struct dane_check *d, const struct dane_rules *rules,
    enum mx_hs_reason why, const char *reason)
{
	d->rules = rules;
	refuse(d, why, "%s", reason);
}

static void
matched(struct dane_check *d, uint8_t usage, uint8_t selector, uint8_t mtype)
{
	d->verdict = DANE_MATCHED;
	snprintf(d->tlsa, sizeof(d->tlsa), "%u %u %u", usage, selector, mtype);
	mx_dane(d->rules->mx, usage, 1);
}

/* A mismatch against the records held: counted with the usage they share. */
static void
count_mismatch(struct dane_check *d)
{
	mx_dane(d->rules->mx, tlsa_rrset_usage(&d->answer->rrset), 0);
}

/* A mismatch against the records held: refused with front (the short
 * reason) followed by what was presented (the leaf's SPKI SHA-256, "none"
 * without a leaf) and the records seen (tlsa_rrset_summary), so that one
 * line shows a rollover mistake: the digest published next to the key's.
 * Only on this path: the digest costs a hash a match does not need. */
static void
refuse_mismatch(struct dane_check *d, X509 *leaf, const char *front)
{
	char spki[2 * 32 + 1], recs[TLSA_SUMMARY_LEN];

	if (leaf == NULL)
		dp_strlcpy(spki, "none", sizeof(spki));
	else if (d->rules->matcher == NULL ||
	    tlsa_spki_sha256_hex(d->rules->matcher, leaf, spki,
	    sizeof(spki)) != DP_OK)
		dp_strlcpy(spki, "unknown", sizeof(spki));
	tlsa_rrset_summary(d->answer != NULL ? &d->answer->rrset : NULL, recs,
	    sizeof(recs));
	refuse(d, MX_HS_MISMATCH, "%s; presented spki_sha256=%s; records=%s",
	    front, spki, recs);
}

void
dane_match(struct dane_check *d, X509 *leaf, STACK_OF(X509) *chain,
    const char *name)
{
	struct tlsa_result res;
	char front[120];
	int r;

	r = tlsa_match(d->rules->matcher, &d->answer->rrset, leaf, chain, name,
	    d->rules->peer, &res);
	if (r == DP_OK && res.matched) {
		matched(d, res.rr.usage, res.rr.selector, res.rr.mtype);
		sk_X509_pop_free(d->verified, X509_free);
		d->verified = res.verified;	/* transferred */
		return;
	}
	if (r == DP_ERR_NOMATCH) {
		count_mismatch(d);
		snprintf(front, sizeof(front), "DANE: %s", res.reason != NULL ?
		    res.reason : dp_strerror(r));
		refuse_mismatch(d, leaf, front);
	} else {
		refuse(d, MX_HS_MISMATCH, "DANE: %s", dp_strerror(r));
	}
	ERR_clear_error();
}

void
dane_unusable(struct dane_check *d)
{
	tlsa_answer_unref(d->answer);
	d->answer = NULL;
	no_dane(d, MX_HS_NO_TLSA, "no usable record", NULL);
}

int
dane_matched_by_tls(struct dane_check *d, SSL *ssl)
{
	uint8_t u, s, m;

	if (SSL_get0_dane_tlsa(ssl, &u, &s, &m, NULL, NULL) < 0) {
		/* Not expected with DANE in force: fail closed. */
		refuse(d, MX_HS_MISMATCH, "handshake done without a TLSA match");
		return 0;
	}
	matched(d, u, s, m);
	return 1;
}

void
dane_failed_by_tls(struct dane_check *d, SSL *ssl, const char *reason)
{
	STACK_OF(X509) *chain = ssl != NULL ? SSL_get_peer_cert_chain(ssl) : NULL;
	X509 *leaf = ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;

	/* A failed verification leaves the peer's certificate unset in the
	 * session; the chain it sent (a client's: leaf first) is kept. */
	if (leaf == NULL && chain != NULL && sk_X509_num(chain) > 0)
		leaf = sk_X509_value(chain, 0);
	count_mismatch(d);
	refuse_mismatch(d, leaf, reason);
	ERR_clear_error();
}

void
dane_check_clear(struct dane_check *d)
{
	if (d->wait != NULL)
		tlsa_cache_cancel(d->wait);
	tlsa_answer_unref(d->answer);
	sk_X509_pop_free(d->verified, X509_free);
	free(d->reason_alloc);
	memset(d, 0, sizeof(*d));
}

int
dane_recheck(const struct dane_rules *rules, struct tlsa_answer *ans,
    X509 *leaf, STACK_OF(X509) *chain, const char *name, char *tlsa,
    char *why, size_t why_size)
{
	struct dane_check d = { .rules = rules };
	struct tlsa_result res = { 0 };
	int r, ok = 0;

	decide(&d, ans);
	if (d.verdict == DANE_RECORDS) {
		r = tlsa_match(rules->matcher, &ans->rrset, leaf, chain, name,
		    rules->peer, &res);
		if (r == DP_OK && res.matched) {
			ok = 1;
			tlsa_rr_str(&res.rr, tlsa, 16);
		} else {
			char front[120];

			snprintf(front, sizeof(front), "DANE: %s", r == DP_ERR_NOMATCH &&
			    res.reason != NULL ? res.reason : dp_strerror(r));
			refuse_mismatch(&d, leaf, front);	/* key and records */
			snprintf(why, why_size, "%s", d.reason);
		}
		tlsa_result_clear(&res);
		ERR_clear_error();
	} else if (d.verdict == DANE_PKIX) {
		snprintf(why, why_size, "TLSA lookup: %s", dns_status_str(ans->status));
	} else {
		snprintf(why, why_size, "%s", d.reason);
	}
	dane_check_clear(&d);
	return ok;
}
