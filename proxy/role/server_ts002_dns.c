/* server_ts002_dns.c — ts002_binding = dns: a TS002 request's SenderID is
 * bound to the client's authenticated name when the name TS002 publishes
 * for it (ts002_dns_owner: <NetID>.<netid_domain>, or the JoinEUI's
 * nibbles reversed under <joineui_domain>) answers NAPTR with a
 * DNSSEC-secure answer that points (CNAME target, NAPTR replacement, the
 * host of a NAPTR's URL) at a host in the organisational domain of that
 * name (ts002_org_domain). The lookup runs on the worker's DNS client
 * while the relay holds the request; its answer is kept per owner name
 * (bounded, its TTL capped as the TLSA cache caps it: cache_max_ttl,
 * negative_cache_ttl), concurrent requests for one name wait on one
 * lookup, and the lookups in flight are bounded per listener. An AS-ID
 * (AppSKeyReq's SenderID) is not looked up: it binds when it is a DNS name
 * under that organisational domain (ts002_asid_under_domain). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "dns.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "sconn.h"
#include "ts002.h"
#include "util.h"

#define TS002_DNS_ENTRIES 128		/* answers kept per listener */
#define TS002_DNS_MAX_LOOKUPS 64	/* lookups in flight per listener */
#define TS002_DNS_MAX_WAITERS 256	/* requests waiting per listener */
#define TS002_OWNER_MAX 254

struct ts002_lookup;

/* A request held for its SenderID's answer; c->http->ts002_wait. */
struct ts002_wait {
	LIST_ENTRY(ts002_wait) link;	/**< on lk->waiters */
	struct ts002_lookup *lk;
	struct sconn *c;
	struct http_relay *h;
	struct ts002_msg m;
};

/* One lookup in flight, for one owner name. */
struct ts002_lookup {
	LIST_ENTRY(ts002_lookup) link;	/**< on d->lookups */
	struct ts002_dns *d;
	struct dns_query *q;		/**< until its callback runs */
	char owner[TS002_OWNER_MAX];
	LIST_HEAD(, ts002_wait) waiters;
};

/* An answer kept: the status and, when secure, the host names. */
struct ts002_entry {
	char owner[TS002_OWNER_MAX];	/**< "" when free */
	uint64_t expires_ms;
	enum dns_status status;
	struct dns_targets *targets;	/**< DNS_SECURE only (malloc'd) */
};

struct ts002_dns {
	struct dns_client *dns;		/**< the worker's, not owned */
	unsigned max_ttl;		/**< [dns] cache_max_ttl: secure answers */
	unsigned neg_ttl;		/**< [dns] negative_cache_ttl: the rest */
	struct ts002_entry ent[TS002_DNS_ENTRIES];
	LIST_HEAD(, ts002_lookup) lookups;
	unsigned n_lookups;
	unsigned n_waiters;
};

int
sconn_ts002_dns_new(struct server_listener *l, struct tlsa_cache *cache)
{
	struct ts002_dns *d;

	if (l->conf->ts002_binding != TS002_DNS)
		return DP_OK;
	if (tlsa_cache_dns(cache) == NULL)
		return DP_ERR_INVALID;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return DP_ERR_NOMEM;
	d->dns = tlsa_cache_dns(cache);
	tlsa_cache_ttl_caps(cache, &d->max_ttl, &d->neg_ttl);
	LIST_INIT(&d->lookups);
	l->ts002_dns = d;
	return DP_OK;
}

void
sconn_ts002_dns_free(struct server_listener *l)
{
	struct ts002_dns *d = l->ts002_dns;
	struct ts002_lookup *lk;
	struct ts002_wait *w;
	size_t i;

	if (d == NULL)
		return;
	/* The connections ended first (conn_listener_free), so no waiter
	 * is left; the lookups may still run. */
	while ((lk = LIST_FIRST(&d->lookups)) != NULL) {
		while ((w = LIST_FIRST(&lk->waiters)) != NULL) {
			LIST_REMOVE(w, link);
			free(w);
		}
		dns_query_cancel(lk->q);
		LIST_REMOVE(lk, link);
		free(lk);
	}
	for (i = 0; i < TS002_DNS_ENTRIES; i++)
		free(d->ent[i].targets);
	free(d);
	l->ts002_dns = NULL;
}

static struct ts002_entry *
entry_find(struct ts002_dns *d, const char *owner, uint64_t now)
{
	size_t i;

	for (i = 0; i < TS002_DNS_ENTRIES; i++)
		if (d->ent[i].owner[0] != '\0' && d->ent[i].expires_ms > now &&
		    strcmp(d->ent[i].owner, owner) == 0)
			return &d->ent[i];
	return NULL;
}

/* Keeps res for owner: in a free or expired slot, else in place of the
 * entry that expires first. Temporary failures are not kept. */
static void
entry_store(struct ts002_dns *d, const char *owner, const struct dns_result *res)
{
	uint64_t now = dp_now_ms();
	struct ts002_entry *e = NULL;
	uint32_t ttl = res->ttl;
	size_t i;

	if (res->status == DNS_TEMPFAIL || res->status == DNS_TIMEOUT)
		return;
	if (res->status == DNS_SECURE) {
		if (ttl > d->max_ttl)
			ttl = d->max_ttl;
	} else if (ttl > d->neg_ttl) {
		ttl = d->neg_ttl;
	}
	if (ttl == 0)
		return;
	for (i = 0; i < TS002_DNS_ENTRIES; i++) {
		struct ts002_entry *x = &d->ent[i];
		if (x->owner[0] == '\0' || x->expires_ms <= now ||
		    strcmp(x->owner, owner) == 0) {
			e = x;
			break;
		}
		if (e == NULL || x->expires_ms < e->expires_ms)
			e = x;
	}
	free(e->targets);
	memset(e, 0, sizeof(*e));
	if (res->status == DNS_SECURE) {
		if (res->targets == NULL ||
		    (e->targets = malloc(sizeof(*e->targets))) == NULL)
			return;		/* not kept */
		*e->targets = *res->targets;
	}
	dp_strlcpy(e->owner, owner, sizeof(e->owner));
	e->status = res->status;
	e->expires_ms = now + (uint64_t)ttl * 1000;
}

/* The verdict on w's request from what DNS said about its SenderID. */
static void
judge(struct sconn *c, struct http_relay *h, const struct ts002_msg *m,
    enum dns_status status, const struct dns_targets *t, const char *why)
{
	char org[DP_DNS_NAME_MAX + 1];
	char desc[TS002_ID_MAX + CLIENTID_NAME_MAX + 160];
	size_t i;

	if (status == DNS_TEMPFAIL || status == DNS_TIMEOUT) {
		snprintf(desc, sizeof(desc), "SenderID %s: DNS lookup failed: %s%s%s",
		    m->sender_id, dns_status_str(status), why != NULL ? ": " : "",
		    why != NULL ? why : "");
		sconn_ts002_unavailable(c, h, m, desc);
		return;
	}
	if (status != DNS_SECURE || t == NULL) {
		snprintf(desc, sizeof(desc), "SenderID %s is not bound to %s: "
		    "DNS %s", m->sender_id, c->name, dns_status_str(status));
		sconn_ts002_unbound(c, h, m, desc);
		return;
	}
	if (ts002_org_domain(c->name, org, sizeof(org)) != DP_OK) {
		snprintf(desc, sizeof(desc), "SenderID %s is not bound to %s: "
		    "the name has no organisational domain", m->sender_id,
		    c->name);
		sconn_ts002_unbound(c, h, m, desc);
		return;
	}
	for (i = 0; i < t->n; i++) {
		if (ts002_under_domain(t->name[i], org)) {
			sconn_ts002_bound(c, h, m, "dns", t->name[i]);
			return;
		}
	}
	snprintf(desc, sizeof(desc), "SenderID %s is not bound to %s: no DNS "
	    "target under %s", m->sender_id, c->name, org);
	sconn_ts002_unbound(c, h, m, desc);
}

static void
lookup_cb(void *arg, struct dns_result *res)
{
	struct ts002_lookup *lk = arg;
	struct ts002_dns *d = lk->d;
	struct ts002_wait *w;

	lk->q = NULL;
	LIST_REMOVE(lk, link);
	d->n_lookups--;
	entry_store(d, lk->owner, res);
	/* Each verdict may end its connection (the cancel hook then finds
	 * no wait): unlink first. */
	while ((w = LIST_FIRST(&lk->waiters)) != NULL) {
		LIST_REMOVE(w, link);
		d->n_waiters--;
		w->c->http->ts002_wait = NULL;
		judge(w->c, w->h, &w->m, res->status, res->targets, res->why);
		free(w);
	}
	free(lk);
}

void
sconn_ts002_dns_judge(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m)
{
	struct server_listener *l = sconn_listener(c);
	const struct conf_server *cs = l->conf;
	struct ts002_dns *d = l->ts002_dns;
	char owner[TS002_OWNER_MAX], org[DP_DNS_NAME_MAX + 1];
	char desc[TS002_ID_MAX + TS002_OWNER_MAX + CLIENTID_NAME_MAX + 96];
	struct ts002_entry *e;
	struct ts002_lookup *lk;
	struct ts002_wait *w = NULL;
	int r;

	if (m->sender_kind == TS002_ID_ASID) {
		/* No lookup: TS002 publishes nothing for an AS-ID. It binds
		 * when it is a DNS name in the client's own organisational
		 * domain (ts002_asid_under_domain says why that is sound). */
		if (ts002_org_domain(c->name, org, sizeof(org)) != DP_OK) {
			snprintf(desc, sizeof(desc), "AS-ID %s is not bound to "
			    "%s: the name has no organisational domain",
			    m->sender_id, c->name);
			sconn_ts002_unbound(c, h, m, desc);
		} else if (ts002_asid_under_domain(m->sender_id, org))
			sconn_ts002_bound(c, h, m, "dns", NULL);
		else {
			snprintf(desc, sizeof(desc), "AS-ID %s is not bound to "
			    "%s: not a DNS name under %s", m->sender_id,
			    c->name, org);
			sconn_ts002_unbound(c, h, m, desc);
		}
		return;
	}

	if (d == NULL || ts002_dns_owner(m->sender_id, m->sender_kind,
	    cs->netid_domain, cs->joineui_domain, owner, sizeof(owner)) != DP_OK) {
		snprintf(desc, sizeof(desc), "SenderID %s: no DNS name for it",
		    m->sender_id);
		sconn_ts002_unbound(c, h, m, desc);
		return;
	}
	if ((e = entry_find(d, owner, dp_now_ms())) != NULL) {
		judge(c, h, m, e->status, e->targets, NULL);
		return;
	}
	if (d->n_waiters >= TS002_DNS_MAX_WAITERS ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		sconn_ts002_unavailable(c, h, m, "too many requests waiting "
		    "for DNS");
		return;
	}
	w->c = c;
	w->h = h;
	w->m = *m;
	LIST_FOREACH(lk, &d->lookups, link)
		if (strcmp(lk->owner, owner) == 0)
			break;
	if (lk == NULL) {
		if (d->n_lookups >= TS002_DNS_MAX_LOOKUPS ||
		    (lk = calloc(1, sizeof(*lk))) == NULL) {
			free(w);
			sconn_ts002_unavailable(c, h, m, "too many DNS lookups "
			    "in flight");
			return;
		}
		lk->d = d;
		dp_strlcpy(lk->owner, owner, sizeof(lk->owner));
		LIST_INIT(&lk->waiters);
		if ((r = dns_lookup_targets(d->dns, owner, DNS_QTYPE_NAPTR,
		    lookup_cb, lk, &lk->q)) != DP_OK) {
			free(lk);
			free(w);
			snprintf(desc, sizeof(desc), "DNS lookup of %s: %s",
			    owner, dp_strerror(r));
			sconn_ts002_unavailable(c, h, m, desc);
			return;
		}
		LIST_INSERT_HEAD(&d->lookups, lk, link);
		d->n_lookups++;
	}
	w->lk = lk;
	LIST_INSERT_HEAD(&lk->waiters, w, link);
	d->n_waiters++;
	c->http->ts002_wait = w;
}

void
sconn_ts002_cancel(void *arg, struct http_relay *h)
{
	struct sconn *c = arg;
	struct ts002_wait *w;

	(void)h;
	if (c->http == NULL || (w = c->http->ts002_wait) == NULL)
		return;
	/* The lookup goes on: its answer is kept for the next request. */
	LIST_REMOVE(w, link);
	w->lk->d->n_waiters--;
	c->http->ts002_wait = NULL;
	free(w);
}
