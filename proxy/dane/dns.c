/* dns.c — see dns.h.
 *
 * One query object per lookup, on a list owned by the client so that
 * dns_client_free() can cancel them all. Whatever the back end, a finished
 * lookup stores its result in the query and activates an event: the user's
 * callback therefore always runs from the event loop, never from inside
 * dns_lookup_tlsa() (libunbound answers local data synchronously, inside
 * ub_resolve_event) and never from inside a libunbound callback (where
 * calling back into libunbound, or freeing its context, is not safe).
 *
 * The back ends: dns_unbound.c (validate) and dns_stub.c (resolver-ad).
 * Both parse the answer with the same pure code (codec/dnsanswer.c):
 * the real RCODE, the CNAME chain, the TLSA RRs at its end, their TTL and the
 * earliest expiration of the RRSIGs over them, the SOA negative TTL; a
 * dns_lookup_rrsets query is judged by codec/dnstargets.c's count of the
 * RRs of its type and hands the message itself to its caller. */
#include "dns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "dnsq.h"
#include "err.h"
#include "log.h"
#include "util.h"

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_SECURE: return "secure";
	case DNS_SECURE_NXDOMAIN: return "nxdomain";
	case DNS_SECURE_NODATA: return "nodata";
	case DNS_INSECURE: return "insecure";
	case DNS_BOGUS: return "bogus";
	case DNS_TEMPFAIL: return "servfail/error";
	case DNS_TIMEOUT: return "timeout";
	}
	return "unknown";
}

uint64_t
dns_queries_started(const struct dns_client *c)
{
	return c->started;
}

/* A name the proxy looks up: a DNS name (dp_dns_name_check), or "." (the
 * root, which only the readiness probe asks for). */
static int
owner_valid(const char *s)
{
	return strcmp(s, ".") == 0 || dp_dns_name_check(s, strlen(s)) == DP_OK;
}

/* ---- query life cycle ---- */

static void query_stop_io(struct dns_query *q);

/* Frees everything of q; q must be unlinked and its I/O stopped. */
static void
query_free(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->timeout_ev != NULL)
		event_free(q->timeout_ev);
	if (q->done_ev != NULL)
		event_free(q->done_ev);
	tlsa_rrset_clear(&q->res.rrset);
	free(q->targets);
	free(q->packet);
	if (q->qname != NULL)
		ldns_rdf_deep_free(q->qname);
	free(q->wire);	/* ldns_pkt2wire allocates with malloc */
	free(q->owner);
	free(q);
}

void
dns_query_finish(struct dns_query *q, enum dns_status status, uint32_t ttl,
    struct tlsa_rrset *set, const char *why)
{
	if (q->finished)
		return;
	q->finished = 1;
	query_stop_io(q);
	q->res.status = status;
	q->res.ttl = ttl;
	if (set != NULL) {
		q->res.rrset = *set;
		memset(set, 0, sizeof(*set));
	}
	dp_strlcpy(q->why, why != NULL ? why : "", sizeof(q->why));
	q->res.why = q->why[0] != '\0' ? q->why : NULL;
	event_active(q->done_ev, 0, 0);
}

static void
query_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	/* Unlinked first: the callback may free the client (and with it every
	 * other query) or start new lookups. */
	LIST_REMOVE(q, link);
	q->cb(q->arg, &q->res);
	query_free(q);
}

static void
query_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	char why[64];

	snprintf(why, sizeof(why), "no answer within %u ms", q->c->timeout_ms);
	dns_query_finish(q, DNS_TIMEOUT, 0, NULL, why);
}

/* ---- the answer, whichever back end got it ---- */

void
dns_answer_finish(struct dns_query *q, struct dns_answer *info, int secure,
    const char *insecure_why)
{
	char why[64];

	if (info->rcode != LDNS_RCODE_NOERROR &&
	    info->rcode != LDNS_RCODE_NXDOMAIN) {
		snprintf(why, sizeof(why), "rcode %s", dns_rcode_str(info->rcode));
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
	} else if (!secure) {
		dns_query_finish(q, DNS_INSECURE, info->rrset.n > 0 ?
		    info->tlsa_ttl : info->neg_ttl, NULL, insecure_why);
	} else if (info->rcode == LDNS_RCODE_NXDOMAIN) {
		dns_query_finish(q, DNS_SECURE_NXDOMAIN, info->neg_ttl, NULL, NULL);
	} else if (info->rrset.n == 0) {
		dns_query_finish(q, DNS_SECURE_NODATA, info->neg_ttl, NULL, NULL);
	} else {
		dp_strlcpy(q->res.wildcard, info->wildcard, sizeof(q->res.wildcard));
		q->res.rr_ttl = info->tlsa_ttl;
		q->res.sig_expires = info->have_sig ?
		    (int64_t)time(NULL) + info->sig_left : 0;
		dns_query_finish(q, DNS_SECURE, dns_answer_secure_ttl(info),
		    &info->rrset, NULL);
	}
	tlsa_rrset_clear(&info->rrset);
}

void
dns_targets_finish(struct dns_query *q, const struct dns_targets *t,
    int secure, const char *insecure_why)
{
	char why[64];

	if (t->rcode != LDNS_RCODE_NOERROR && t->rcode != LDNS_RCODE_NXDOMAIN) {
		snprintf(why, sizeof(why), "rcode %s", dns_rcode_str(t->rcode));
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
	} else if (!secure) {
		dns_query_finish(q, DNS_INSECURE, t->n > 0 ? t->ttl : t->neg_ttl,
		    NULL, insecure_why);
	} else if (t->n == 0) {
		dns_query_finish(q, t->rcode == LDNS_RCODE_NXDOMAIN ?
		    DNS_SECURE_NXDOMAIN : DNS_SECURE_NODATA, t->neg_ttl, NULL,
		    NULL);
	} else if ((q->targets = malloc(sizeof(*q->targets))) == NULL) {
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, "out of memory");
	} else {
		*q->targets = *t;
		q->res.targets = q->targets;
		dns_query_finish(q, DNS_SECURE, t->ttl, NULL, NULL);
	}
}

void
dns_rrsets_finish(struct dns_query *q, const struct dns_targets *t,
    const unsigned char *wire, size_t len, int secure,
    const char *insecure_why)
{
	char why[64];

	if (t->rcode != LDNS_RCODE_NOERROR && t->rcode != LDNS_RCODE_NXDOMAIN) {
		snprintf(why, sizeof(why), "rcode %s", dns_rcode_str(t->rcode));
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
	} else if (!secure) {
		dns_query_finish(q, DNS_INSECURE, t->n_rr > 0 ? t->rr_ttl :
		    t->neg_ttl, NULL, insecure_why);
	} else if (t->rcode == LDNS_RCODE_NXDOMAIN) {
		dns_query_finish(q, DNS_SECURE_NXDOMAIN, t->neg_ttl, NULL, NULL);
	} else if (t->n_rr == 0) {
		dns_query_finish(q, DNS_SECURE_NODATA, t->neg_ttl, NULL, NULL);
	} else if (len == 0 || (q->packet = malloc(len)) == NULL) {
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, "out of memory");
	} else {
		memcpy(q->packet, wire, len);
		q->res.packet = q->packet;
		q->res.packet_len = len;
		dns_query_finish(q, DNS_SECURE, t->rr_ttl, NULL, NULL);
	}
}

static void
query_stop_io(struct dns_query *q)
{
	if (q->timeout_ev != NULL)
		event_del(q->timeout_ev);
	dns_ub_stop(q);
	dns_ad_stop(q);
}

/* ---- public ---- */

int
dns_client_new(struct event_base *base, const struct conf_dns *conf,
    struct dns_client **out, char *err, size_t err_size)
{
	struct dns_client *c = NULL;
	char a[DP_ADDR_STRLEN];
	size_t i;
	int r = DP_ERR_INTERNAL;

	*out = NULL;
	if (err_size > 0)
		err[0] = '\0';
	if (conf->n_resolvers > CONF_MAX_RESOLVERS || conf->timeout_ms == 0) {
		snprintf(err, err_size, "bad resolver count or timeout");
		return DP_ERR_INVALID;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, err_size, "out of memory");
		return DP_ERR_NOMEM;
	}
	LIST_INIT(&c->queries);
	c->base = base;
	c->mode = conf->mode;
	c->timeout_ms = conf->timeout_ms;
	c->n_resolvers = conf->n_resolvers;
	memcpy(c->resolvers, conf->resolvers, sizeof(c->resolvers));
	for (i = 0; i < c->n_resolvers; i++) {
		int fam = c->resolvers[i].ss.ss_family;
		if (fam != AF_INET && fam != AF_INET6) {
			snprintf(err, err_size, "resolver %zu: not an IP address",
			    i + 1);
			r = DP_ERR_INVALID;
			goto out;
		}
	}
	if (c->mode == DNS_MODE_RESOLVER_AD) {
		if (c->n_resolvers == 0) {
			snprintf(err, err_size,
			    "mode resolver-ad needs at least one resolver");
			r = DP_ERR_INVALID;
			goto out;
		}
		/* The AD bit is only worth what the path to the resolver is. */
		for (i = 0; i < c->n_resolvers; i++) {
			const struct sockaddr *sa =
			    (const struct sockaddr *)&c->resolvers[i].ss;
			if (!conf->allow_remote_resolver &&
			    !dp_addr_is_loopback(sa)) {
				snprintf(err, err_size, "resolver %s is not on "
				    "loopback (allow_remote_resolver = no)",
				    dp_addr_str(sa, a, sizeof(a)));
				r = DP_ERR_INVALID;
				goto out;
			}
		}
	} else if ((r = dns_ub_setup(c, conf, err, err_size)) != DP_OK) {
		goto out;
	}
	*out = c;
	c = NULL;	/* transferred */
	r = DP_OK;
out:
	dns_client_free(c);
	return r;
}

void
dns_client_free(struct dns_client *c)
{
	struct dns_query *q;

	if (c == NULL)
		return;
	while ((q = LIST_FIRST(&c->queries)) != NULL) {
		query_stop_io(q);
		LIST_REMOVE(q, link);
		query_free(q);
	}
	/* Its events are on c->base: free it before the base. */
	dns_ub_free(c);
	free(c);
}

static int
lookup_start(struct dns_client *c, const char *owner, uint16_t qtype,
    int raw, dns_cb cb, void *arg, struct dns_query **out)
{
	struct dns_query *q = NULL;
	struct timeval tv;
	size_t i;
	int r = DP_ERR_NOMEM;

	if (out != NULL)
		*out = NULL;
	if (!owner_valid(owner))
		return DP_ERR_INVALID;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return DP_ERR_NOMEM;
	q->c = c;
	q->qtype = qtype;
	q->raw = raw;
	q->cb = cb;
	q->arg = arg;
	q->tcp_fd = -1;
	for (i = 0; i < CONF_MAX_RESOLVERS; i++)
		q->udp[i].fd = -1;
	if ((q->owner = strdup(owner)) == NULL)
		goto fail;
	if ((q->qname = ldns_dname_new_frm_str(owner)) == NULL) {
		r = DP_ERR_INVALID;
		goto fail;
	}
	if ((q->timeout_ev = evtimer_new(c->base, query_timeout_cb, q)) == NULL ||
	    (q->done_ev = event_new(c->base, -1, 0, query_deliver_cb, q)) == NULL)
		goto fail;
	tv = dp_ms_tv(c->timeout_ms);
	if (evtimer_add(q->timeout_ev, &tv) < 0)
		goto fail;
	/* Linked before starting: a synchronous libunbound answer finishes q
	 * right away, and a finished q must be on the list to be freed. */
	LIST_INSERT_HEAD(&c->queries, q, link);
	r = c->mode == DNS_MODE_VALIDATE ? dns_ub_start(q) : dns_ad_start(q);
	if (r != DP_OK) {
		query_stop_io(q);
		LIST_REMOVE(q, link);
		goto fail;
	}
	c->started++;
	if (out != NULL)
		*out = q;
	return DP_OK;
fail:
	query_free(q);
	return r;
}

int
dns_lookup_tlsa(struct dns_client *c, const char *owner, dns_cb cb,
    void *arg, struct dns_query **out)
{
	return lookup_start(c, owner, DNS_RR_TYPE_TLSA, 0, cb, arg, out);
}

int
dns_lookup_targets(struct dns_client *c, const char *owner, uint16_t qtype,
    dns_cb cb, void *arg, struct dns_query **out)
{
	if (out != NULL)
		*out = NULL;
	if (qtype == DNS_RR_TYPE_TLSA || qtype == 0)
		return DP_ERR_INVALID;
	return lookup_start(c, owner, qtype, 0, cb, arg, out);
}

int
dns_lookup_rrsets(struct dns_client *c, const char *owner, uint16_t qtype,
    dns_cb cb, void *arg, struct dns_query **out)
{
	if (out != NULL)
		*out = NULL;
	if (qtype == 0)
		return DP_ERR_INVALID;
	return lookup_start(c, owner, qtype, 1, cb, arg, out);
}

void
dns_query_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	query_stop_io(q);
	LIST_REMOVE(q, link);
	query_free(q);
}
