/* staple.c — see staple.h.
 *
 * One build at a time, a walk of lookups (tasks) from the TLSA RRset up to
 * the trust anchor: TLSA at the name first; every RRSIG taken names its
 * signer, and each signer zone seen for the first time adds "DNSKEY zone"
 * and, below the anchor, "DS zone", whose RRSIG names the parent zone, and
 * so on. At most STAPLE_INFLIGHT lookups run at once; the walk is bounded
 * by STAPLE_MAX_ZONES zones and the build by STAPLE_BUILD_MS. The RRs come
 * from each answer's own sections (dns_lookup_rrsets hands the message on),
 * owner names in lower case, deduplicated ignoring the TTL (two answers may
 * carry one RR with TTLs aged differently by a cache).
 *
 * Freshness. A chain is good for the server until its earliest RRSIG
 * expires, whatever the TTLs say; the TTLs say how long the data may be
 * taken as current. So the next build is due at the earlier of
 *  - now + the least TTL taken, clamped to [STAPLE_TTL_MIN, STAPLE_TTL_MAX]:
 *    not below a minute, or a zone with tiny TTLs would have us re-walk the
 *    whole chain (several lookups per zone cut) every few seconds; not above
 *    an hour, so a TLSA or key rollover reaches the chain we staple within
 *    an hour even under day-long TTLs;
 *  - the earliest RRSIG expiration less a margin (an hour, or half the
 *    time left when that is shorter), so retries have time before it.
 * The current chain stays in use while a build runs or fails, until its
 * earliest RRSIG expiration; a failed build is retried after 1 s, doubling
 * up to 60 s. */
#include "staple.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "chainval.h"
#include "dns.h"
#include "dnschain.h"
#include "err.h"
#include "log.h"
#include "util.h"

#define STAPLE_MAX_ZONES 16		/* zone cuts walked, the anchor's included */
#define STAPLE_MAX_TASKS (1 + 2 * STAPLE_MAX_ZONES)
#define STAPLE_INFLIGHT 3		/* lookups of one build at once */
#define STAPLE_BUILD_MS 10000		/* one build, all its lookups */
#define STAPLE_TTL_MIN 60
#define STAPLE_TTL_MAX 3600
#define STAPLE_SIG_MARGIN 3600
#define STAPLE_RETRY_MIN 1
#define STAPLE_RETRY_MAX 60
#define STAPLE_NAME_MAX 256		/* a name, no final dot, or ".", NUL */
#define STAPLE_WHY_MAX 640		/* a type, a name, a DNS reason */

/* One lookup of a build. */
struct staple_task {
	struct staple *s;
	char owner[STAPLE_NAME_MAX];
	uint16_t qtype;
	struct dns_query *q;		/**< while in flight */
};

struct staple {
	struct event_base *base;	/**< not owned */
	struct dns_client *dns;		/**< not owned */
	char name[STAPLE_NAME_MAX];
	struct chainval *v;		/**< our own check of what we built */
	char (*ta)[STAPLE_NAME_MAX];	/**< the trust anchors' owners */
	size_t n_ta;
	struct event *timer;		/**< the next build */
	struct event *deadline_ev;	/**< the build under way's end */

	/* the chain in use */
	unsigned char *data;
	size_t len, rrs, rrsigs;
	int64_t sig_expires;
	int64_t refresh_at;
	unsigned retry_s;
	char last_error[STAPLE_WHY_MAX];	/**< "" after a success */

	/* the build under way */
	int building;
	struct staple_task task[STAPLE_MAX_TASKS];
	size_t n_task, next_task, inflight;
	char zone[STAPLE_MAX_ZONES][STAPLE_NAME_MAX];
	size_t n_zone;
	unsigned char **rrw;		/**< RRs taken, wire form (ldns-allocated) */
	size_t *rrl;
	size_t n_rr, cap_rr;
	uint32_t min_ttl;
};

static const char *
qtype_str(uint16_t t)
{
	switch (t) {
	case DNSCHAIN_TYPE_TLSA: return "TLSA";
	case DNSCHAIN_TYPE_DNSKEY: return "DNSKEY";
	case DNSCHAIN_TYPE_DS: return "DS";
	}
	return "?";
}

/* A name as the DNS client takes it: lower case, no final dot, the root
 * as ".". Returns DP_OK or DP_ERR_INVALID (too long, or not convertible). */
static int
name_from_rdf(const ldns_rdf *d, char *out, size_t out_size)
{
	char *p;
	size_t n;

	if (d == NULL || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME ||
	    (p = ldns_rdf2str(d)) == NULL)
		return DP_ERR_INVALID;
	n = strlen(p);
	if (n > 1 && p[n - 1] == '.')
		p[--n] = '\0';
	if (n == 0 || n >= out_size) {
		free(p);
		return DP_ERR_INVALID;
	}
	memcpy(out, p, n + 1);
	free(p);
	dp_str_lower(out);
	return DP_OK;
}

static int
is_ta_owner(const struct staple *s, const char *zone)
{
	size_t i;

	for (i = 0; i < s->n_ta; i++)
		if (strcmp(s->ta[i], zone) == 0)
			return 1;
	return 0;
}

/* ---- the build's records ---- */

static void
rrs_clear(struct staple *s)
{
	size_t i;

	for (i = 0; i < s->n_rr; i++)
		free(s->rrw[i]);
	free(s->rrw);
	free(s->rrl);
	s->rrw = NULL;
	s->rrl = NULL;
	s->n_rr = s->cap_rr = 0;
}

/* Takes rr (owner lowered in place) unless an RR with the same owner,
 * type, class and rdata is already taken. */
static int
take_rr(struct staple *s, ldns_rr *rr, char *why, size_t why_size)
{
	uint8_t *w = NULL;
	size_t len = 0, olen, i;

	ldns_dname2canonical(ldns_rr_owner(rr));
	if (ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &len) != LDNS_STATUS_OK) {
		snprintf(why, why_size, "cannot encode an RR");
		return DP_ERR_INTERNAL;
	}
	olen = ldns_rdf_size(ldns_rr_owner(rr));
	/* owner, type, class | TTL | rdlength, rdata */
	for (i = 0; i < s->n_rr; i++) {
		if (s->rrl[i] == len && memcmp(s->rrw[i], w, olen + 4) == 0 &&
		    memcmp(s->rrw[i] + olen + 8, w + olen + 8,
		    len - olen - 8) == 0) {
			free(w);
			return DP_OK;
		}
	}
	if (s->n_rr == DNSCHAIN_MAX_RRS_DEFAULT) {
		free(w);
		snprintf(why, why_size, "more than %u RRs",
		    DNSCHAIN_MAX_RRS_DEFAULT);
		return DP_ERR_BUSY;
	}
	if (s->n_rr == s->cap_rr) {
		size_t cap = s->cap_rr ? 2 * s->cap_rr : 16;
		unsigned char **nw = realloc(s->rrw, cap * sizeof(*nw));
		size_t *nl;
		if (nw != NULL)
			s->rrw = nw;
		nl = nw != NULL ? realloc(s->rrl, cap * sizeof(*nl)) : NULL;
		if (nl == NULL) {
			free(w);
			snprintf(why, why_size, "out of memory");
			return DP_ERR_NOMEM;
		}
		s->rrl = nl;
		s->cap_rr = cap;
	}
	s->rrw[s->n_rr] = w;
	s->rrl[s->n_rr++] = len;
	if (ldns_rr_ttl(rr) < s->min_ttl)
		s->min_ttl = ldns_rr_ttl(rr);
	return DP_OK;
}

static int
add_task(struct staple *s, const char *owner, uint16_t qtype)
{
	struct staple_task *t;

	if (s->n_task == STAPLE_MAX_TASKS)
		return DP_ERR_BUSY;
	t = &s->task[s->n_task++];
	memset(t, 0, sizeof(*t));
	t->s = s;
	dp_strlcpy(t->owner, owner, sizeof(t->owner));
	t->qtype = qtype;
	return DP_OK;
}

/* A zone whose key signed something taken: its DNSKEY RRset, and its DS
 * RRset unless the walk ends there (an anchor's owner, or the root). */
static int
add_zone(struct staple *s, const ldns_rdf *signer, char *why, size_t why_size)
{
	char z[STAPLE_NAME_MAX];
	size_t i;

	if (name_from_rdf(signer, z, sizeof(z)) != DP_OK) {
		snprintf(why, why_size, "an RRSIG's signer is not a usable name");
		return DP_ERR_INVALID;
	}
	for (i = 0; i < s->n_zone; i++)
		if (strcmp(s->zone[i], z) == 0)
			return DP_OK;
	if (s->n_zone == STAPLE_MAX_ZONES) {
		snprintf(why, why_size, "more than %d zones to the anchor",
		    STAPLE_MAX_ZONES);
		return DP_ERR_BUSY;
	}
	memcpy(s->zone[s->n_zone++], z, sizeof(z));
	if (add_task(s, z, DNSCHAIN_TYPE_DNSKEY) != DP_OK ||
	    (strcmp(z, ".") != 0 && !is_ta_owner(s, z) &&
	    add_task(s, z, DNSCHAIN_TYPE_DS) != DP_OK)) {
		snprintf(why, why_size, "too many lookups");
		return DP_ERR_BUSY;
	}
	return DP_OK;
}

/* Does rr (of the answer to t) belong in the chain: the RRs of t's type,
 * the CNAMEs on the way to a TLSA RRset, and the RRSIGs over either. */
static int
wanted(const struct staple_task *t, uint16_t type)
{
	return type == t->qtype ||
	    (t->qtype == DNSCHAIN_TYPE_TLSA && type == DNSCHAIN_TYPE_CNAME);
}

static uint16_t
rrsig_covers(const ldns_rr *rr)
{
	const ldns_rdf *tc = ldns_rr_rrsig_typecovered(rr);

	return tc != NULL ? (uint16_t)ldns_rdf2rr_type(tc) : 0;
}

/* An RRSIG that took the Labels field below its owner's label count:
 * the RRset was synthesised from a wildcard (RFC 4034 §3.1.3). */
static int
rrsig_wildcard(const ldns_rr *rr)
{
	const ldns_rdf *lab = ldns_rr_rrsig_labels(rr);

	return lab != NULL &&
	    ldns_rdf2native_int8(lab) < ldns_dname_label_count(ldns_rr_owner(rr));
}

/* Takes what t's answer (len bytes at wire) contributes to the chain. */
static int
take_answer(struct staple *s, const struct staple_task *t,
    const unsigned char *wire, size_t len, char *why, size_t why_size)
{
	ldns_pkt *pkt = NULL;
	ldns_rr_list *sec;
	size_t i;
	int wildcard = 0, r = DP_ERR_INTERNAL;

	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
		snprintf(why, why_size, "unparsable answer");
		return DP_ERR_INVALID;
	}
	sec = ldns_pkt_answer(pkt);
	for (i = 0; sec != NULL && i < ldns_rr_list_rr_count(sec); i++) {
		ldns_rr *rr = ldns_rr_list_rr(sec, i);
		uint16_t type = (uint16_t)ldns_rr_get_type(rr);

		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		if (type == DNSCHAIN_TYPE_RRSIG && wanted(t, rrsig_covers(rr))) {
			wildcard |= rrsig_wildcard(rr);
			if ((r = add_zone(s, ldns_rr_rrsig_signame(rr), why,
			    why_size)) != DP_OK)
				goto out;
		} else if (!wanted(t, type)) {
			continue;
		}
		if ((r = take_rr(s, rr, why, why_size)) != DP_OK)
			goto out;
	}
	/* A wildcard answer is valid only with the proof that no closer name
	 * exists: the authority section's NSEC/NSEC3 RRs and their RRSIGs
	 * (libunbound keeps them there, see dns_unbound.c). */
	sec = ldns_pkt_authority(pkt);
	for (i = 0; wildcard && sec != NULL && i < ldns_rr_list_rr_count(sec);
	    i++) {
		ldns_rr *rr = ldns_rr_list_rr(sec, i);
		uint16_t type = (uint16_t)ldns_rr_get_type(rr);

		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		if (type == DNSCHAIN_TYPE_RRSIG) {
			type = rrsig_covers(rr);
			if (type != DNSCHAIN_TYPE_NSEC && type != DNSCHAIN_TYPE_NSEC3)
				continue;
			if ((r = add_zone(s, ldns_rr_rrsig_signame(rr), why,
			    why_size)) != DP_OK)
				goto out;
		} else if (type != DNSCHAIN_TYPE_NSEC &&
		    type != DNSCHAIN_TYPE_NSEC3) {
			continue;
		}
		if ((r = take_rr(s, rr, why, why_size)) != DP_OK)
			goto out;
	}
	r = DP_OK;
out:
	ldns_pkt_free(pkt);
	return r;
}

/* ---- a build's life ---- */

static void build_pump(struct staple *s);

static void
schedule(struct staple *s, unsigned secs)
{
	struct timeval tv = { .tv_sec = secs, .tv_usec = 0 };

	evtimer_add(s->timer, &tv);
}

/* Stops the build under way: its lookups cancelled, its records freed. */
static void
build_stop(struct staple *s)
{
	size_t i;

	for (i = 0; i < s->n_task; i++) {
		if (s->task[i].q != NULL)
			dns_query_cancel(s->task[i].q);
		s->task[i].q = NULL;
	}
	if (s->deadline_ev != NULL)
		event_del(s->deadline_ev);
	s->n_task = s->next_task = s->inflight = s->n_zone = 0;
	rrs_clear(s);
	s->building = 0;
}

static int
chain_usable(const struct staple *s, int64_t now)
{
	return s->data != NULL && now < s->sig_expires;
}

static void
build_fail(struct staple *s, const char *why)
{
	int64_t now = (int64_t)time(NULL);

	build_stop(s);
	dp_strlcpy(s->last_error, why, sizeof(s->last_error));
	s->refresh_at = now + s->retry_s;
	log_warn("staple: %s: no chain built: %s; retry in %us%s", s->name,
	    why, s->retry_s, chain_usable(s, now) ?
	    " (the current chain stays in use)" : "");
	schedule(s, s->retry_s);
	s->retry_s = s->retry_s * 2 > STAPLE_RETRY_MAX ? STAPLE_RETRY_MAX :
	    s->retry_s * 2;
}

/* All lookups answered: the chain encoded, checked by our own validator,
 * put in use, the next build scheduled. */
static void
build_done(struct staple *s)
{
	struct dnschain chain = { 0 };
	struct chainval_result res = { 0 };
	char why[STAPLE_WHY_MAX], cwhy[DNSCHAIN_WHY_MAX];
	unsigned char *buf = NULL;
	size_t total = 4, len = 0, i;
	int64_t now = (int64_t)time(NULL), margin, ttl, next;
	int r;

	for (i = 0; i < s->n_rr; i++)
		total += s->rrl[i];
	if ((buf = malloc(total)) == NULL) {
		build_fail(s, "out of memory");
		return;
	}
	if ((r = dnschain_encode(0, (const unsigned char *const *)s->rrw,
	    s->rrl, s->n_rr, buf, total, &len)) != DP_OK) {
		snprintf(why, sizeof(why), "the chain cannot be encoded: %s",
		    dp_strerror(r));
		goto fail;
	}
	if ((r = dnschain_parse(buf, len, NULL, (uint32_t)now, &chain, cwhy,
	    sizeof(cwhy))) != DP_OK) {
		snprintf(why, sizeof(why), "the chain built does not parse: %s",
		    cwhy);
		goto fail;
	}
	if ((r = chainval_check(s->v, &chain, s->name, (time_t)now,
	    &res)) != DP_OK || res.status != CHAINVAL_SECURE) {
		snprintf(why, sizeof(why), "our own validator says %s: %s",
		    chainval_status_str(res.status), res.reason);
		goto fail;
	}
	if (!chain.have_sig || chain.sig_left <= 0) {
		snprintf(why, sizeof(why), "no RRSIG valid now");
		goto fail;
	}
	free(s->data);
	s->data = buf;
	buf = NULL;	/* transferred */
	s->len = len;
	s->rrs = chain.n;
	s->rrsigs = chain.count.rrsig;
	s->sig_expires = now + chain.sig_left;
	s->last_error[0] = '\0';
	s->retry_s = STAPLE_RETRY_MIN;

	ttl = s->min_ttl < STAPLE_TTL_MIN ? STAPLE_TTL_MIN :
	    s->min_ttl > STAPLE_TTL_MAX ? STAPLE_TTL_MAX : s->min_ttl;
	margin = chain.sig_left / 2 < STAPLE_SIG_MARGIN ?
	    chain.sig_left / 2 : STAPLE_SIG_MARGIN;
	next = chain.sig_left - margin < ttl ? chain.sig_left - margin : ttl;
	if (next < 1)
		next = 1;
	s->refresh_at = now + next;
	log_info("staple: %s: chain built: bytes=%zu rrs=%zu rrsigs=%zu "
	    "zones=%zu sig_expires=%lld refresh_in=%llds", s->name, s->len,
	    s->rrs, s->rrsigs, s->n_zone, (long long)s->sig_expires,
	    (long long)next);
	build_stop(s);
	schedule(s, (unsigned)next);
	dnschain_free(&chain);
	chainval_result_clear(&res);
	return;
fail:
	free(buf);
	dnschain_free(&chain);
	chainval_result_clear(&res);
	build_fail(s, why);
}

static void
task_cb(void *arg, struct dns_result *res)
{
	struct staple_task *t = arg;
	struct staple *s = t->s;
	char why[STAPLE_WHY_MAX], twhy[160];

	t->q = NULL;	/* delivered: dns.c frees it */
	s->inflight--;
	if (res->status != DNS_SECURE) {
		snprintf(why, sizeof(why), "%s %s: %s%s%s", qtype_str(t->qtype),
		    t->owner, dns_status_str(res->status),
		    res->why != NULL ? ": " : "",
		    res->why != NULL ? res->why : "");
		build_fail(s, why);
		return;
	}
	if (take_answer(s, t, res->packet, res->packet_len, twhy,
	    sizeof(twhy)) != DP_OK) {
		snprintf(why, sizeof(why), "%s %s: %s", qtype_str(t->qtype),
		    t->owner, twhy);
		build_fail(s, why);
		return;
	}
	build_pump(s);
}

/* Starts queued lookups while fewer than STAPLE_INFLIGHT run; ends the
 * build when none is left. */
static void
build_pump(struct staple *s)
{
	char why[STAPLE_WHY_MAX];
	int r;

	while (s->building && s->inflight < STAPLE_INFLIGHT &&
	    s->next_task < s->n_task) {
		struct staple_task *t = &s->task[s->next_task++];
		if ((r = dns_lookup_rrsets(s->dns, t->owner, t->qtype, task_cb,
		    t, &t->q)) != DP_OK) {
			snprintf(why, sizeof(why), "%s %s: %s",
			    qtype_str(t->qtype), t->owner, dp_strerror(r));
			build_fail(s, why);
			return;
		}
		s->inflight++;
	}
	if (s->building && s->inflight == 0 && s->next_task == s->n_task)
		build_done(s);
}

static void
build_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct staple *s = arg;
	char why[64];

	snprintf(why, sizeof(why), "not built within %d ms", STAPLE_BUILD_MS);
	build_fail(s, why);
}

static void
build_start_cb(evutil_socket_t fd, short what, void *arg)
{
	struct staple *s = arg;
	struct timeval tv = dp_ms_tv(STAPLE_BUILD_MS);

	build_stop(s);
	s->building = 1;
	s->refresh_at = 0;
	s->min_ttl = UINT32_MAX;
	evtimer_add(s->deadline_ev, &tv);
	if (add_task(s, s->name, DNSCHAIN_TYPE_TLSA) != DP_OK) {
		build_fail(s, "internal: no room for a lookup");
		return;
	}
	build_pump(s);
}

/* ---- public ---- */

/* The owners of the DS and DNSKEY records of file, as the walk names
 * zones. */
static int
read_anchors(struct staple *s, const char *file, char *err, size_t err_size)
{
	ldns_zone *z = NULL;
	ldns_rr_list *rrs;
	FILE *f;
	size_t i, n;
	int line = 0, r = DP_ERR_INVALID;

	if ((f = fopen(file, "r")) == NULL) {
		snprintf(err, err_size, "%s: %s", file, strerror(errno));
		return DP_ERR_IO;
	}
	if (ldns_zone_new_frm_fp_l(&z, f, NULL, 3600, LDNS_RR_CLASS_IN,
	    &line) != LDNS_STATUS_OK) {
		snprintf(err, err_size, "%s:%d: not zone-file text", file, line);
		goto out;
	}
	rrs = ldns_zone_rrs(z);
	n = rrs != NULL ? ldns_rr_list_rr_count(rrs) : 0;
	if ((s->ta = calloc(n > 0 ? n : 1, sizeof(*s->ta))) == NULL) {
		snprintf(err, err_size, "out of memory");
		r = DP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if ((t != LDNS_RR_TYPE_DS && t != LDNS_RR_TYPE_DNSKEY) ||
		    name_from_rdf(ldns_rr_owner(rr), s->ta[s->n_ta],
		    sizeof(s->ta[0])) != DP_OK || is_ta_owner(s, s->ta[s->n_ta]))
			continue;
		s->n_ta++;
	}
	if (s->n_ta == 0) {
		snprintf(err, err_size, "%s: no DS or DNSKEY record", file);
		goto out;
	}
	r = DP_OK;
out:
	ldns_zone_deep_free(z);
	fclose(f);
	return r;
}

int
staple_new(struct event_base *base, struct dns_client *dns, const char *name,
    const char *trust_anchor_file, struct staple **out, char *err,
    size_t err_size)
{
	struct staple *s = NULL;
	int r = DP_ERR_NOMEM;

	*out = NULL;
	if (err_size > 0)
		err[0] = '\0';
	if (name == NULL || strlen(name) >= STAPLE_NAME_MAX ||
	    dp_dns_name_check(name, strlen(name)) != DP_OK) {
		snprintf(err, err_size, "not a DNS name: %s", name ? name : "");
		return DP_ERR_INVALID;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, err_size, "out of memory");
		return DP_ERR_NOMEM;
	}
	s->base = base;
	s->dns = dns;
	s->retry_s = STAPLE_RETRY_MIN;
	dp_strlcpy(s->name, name, sizeof(s->name));
	dp_str_lower(s->name);
	if ((r = read_anchors(s, trust_anchor_file, err, err_size)) != DP_OK ||
	    (r = chainval_new(trust_anchor_file, &s->v, err, err_size)) != DP_OK)
		goto out;
	if ((s->timer = evtimer_new(base, build_start_cb, s)) == NULL ||
	    (s->deadline_ev = evtimer_new(base, build_deadline_cb, s)) == NULL) {
		snprintf(err, err_size, "out of memory");
		r = DP_ERR_NOMEM;
		goto out;
	}
	/* The first build from the loop, like every later one. */
	event_active(s->timer, EV_TIMEOUT, 0);
	*out = s;
	s = NULL;	/* transferred */
	r = DP_OK;
out:
	staple_free(s);
	return r;
}

void
staple_free(struct staple *s)
{
	if (s == NULL)
		return;
	build_stop(s);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->deadline_ev != NULL)
		event_free(s->deadline_ev);
	chainval_free(s->v);
	free(s->ta);
	free(s->data);
	free(s);
}

size_t
staple_get(const struct staple *s, const unsigned char **data)
{
	if (s == NULL || !chain_usable(s, (int64_t)time(NULL))) {
		*data = NULL;
		return 0;
	}
	*data = s->data;
	return s->len;
}

void
staple_info(const struct staple *s, struct staple_info *out)
{
	memset(out, 0, sizeof(*out));
	out->usable = chain_usable(s, (int64_t)time(NULL));
	if (s->data != NULL) {
		out->bytes = s->len;
		out->rrs = s->rrs;
		out->rrsigs = s->rrsigs;
		out->sig_expires = s->sig_expires;
	}
	out->refresh_at = s->refresh_at;
	out->last_error = s->last_error[0] != '\0' ? s->last_error : NULL;
}
