/* tlsamon.c — see tlsamon.h. */
#include "tlsamon.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "dane.h"
#include "err.h"
#include "log.h"
#include "tlsa.h"
#include "util.h"

#define TLSAMON_MIN_MS 10000
#define TLSAMON_MAX_MS 300000
#define TLSAMON_RETRY_MS 10000

struct tlsa_monitor {
	const struct tlsamon_params *p;
	struct event *timer;
	struct cache_wait *wait;
	struct dane_rules rules;	/* the self-check's: peer = client */
	int verdict;			/* -1 none yet, 0 no match, 1 match */
};

static void
arm(struct tlsa_monitor *m, uint64_t ms)
{
	struct timeval tv;

	if (ms < TLSAMON_MIN_MS)
		ms = TLSAMON_MIN_MS;
	if (ms > TLSAMON_MAX_MS)
		ms = TLSAMON_MAX_MS;
	tv = dp_ms_tv(ms);
	evtimer_add(m->timer, &tv);
}

static void
self_check(struct tlsa_monitor *m, struct tlsa_answer *ans)
{
	const struct tlsamon_params *p = m->p;
	STACK_OF(X509) *chain = NULL;
	X509 *leaf = SSL_CTX_get0_certificate(p->own);
	char why[400], tlsa[16];
	int ok;

	why[0] = '\0';
	SSL_CTX_get0_chain_certs(p->own, &chain);
	ok = leaf != NULL && dane_recheck(&m->rules, ans, leaf, chain, p->name,
	    tlsa, why, sizeof(why));
	mx_self_check(p->mx, ok);
	if (ok == m->verdict)
		return;
	m->verdict = ok;
	if (ok)
		log_info("self-check: route %s: the TLSA record at %s (%s) matches "
		    "our own key", p->route, p->name, tlsa);
	else
		log_error("self-check: route %s: NO TLSA record at %s matches our "
		    "own key: every DANE server will refuse this route (%s; "
		    "self_check = %s)", p->route, p->name, why, p->policy);
}

static void
answered(struct tlsa_monitor *m, struct tlsa_answer *ans)
{
	uint64_t now = dp_now_ms();

	mx_name_state(m->p->mx, m->p->which, ans->status, ans->rr_ttl,
	    ans->sig_expires);
	if (ans->status == DNS_TEMPFAIL || ans->status == DNS_TIMEOUT) {
		log_warn("route %s: TLSA %s: %s%s%s", m->p->route, m->p->name,
		    dns_status_str(ans->status), ans->why != NULL ? ": " : "",
		    ans->why != NULL ? ans->why : "");
		arm(m, TLSAMON_RETRY_MS);
		return;
	}
	if (m->p->own != NULL)
		self_check(m, ans);
	arm(m, ans->expires_ms > now ? ans->expires_ms - now : 0);
}

static void
answer_cb(void *arg, struct tlsa_answer *ans)
{
	struct tlsa_monitor *m = arg;

	m->wait = NULL;
	answered(m, ans);
	tlsa_answer_unref(ans);
}

static void
lookup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tlsa_monitor *m = arg;
	struct tlsa_answer *ans = NULL;
	int r;

	r = tlsa_cache_get(m->p->cache, m->p->name, answer_cb, m, &ans, &m->wait);
	if (r == DP_ERR_AGAIN)
		return;
	if (r == DP_OK) {
		answered(m, ans);
		tlsa_answer_unref(ans);
		return;
	}
	log_warn("route %s: TLSA %s: %s", m->p->route, m->p->name,
	    r == DP_ERR_BUSY ? "too many lookups in flight" : dp_strerror(r));
	arm(m, TLSAMON_RETRY_MS);
}

int
tlsa_monitor_new(const struct tlsamon_params *p, struct tlsa_monitor **out)
{
	struct tlsa_monitor *m;
	struct timeval now = { 0, 0 };
	int r;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return DP_ERR_NOMEM;
	m->p = p;
	m->verdict = -1;
	m->rules.peer = TLSA_PEER_CLIENT;
	m->rules.cache = p->cache;
	m->rules.mx = p->mx;
	if (p->own != NULL &&
	    (r = tlsa_matcher_new(NULL, &m->rules.matcher)) != DP_OK) {
		free(m);
		ERR_clear_error();
		return r;
	}
	if ((m->timer = evtimer_new(p->base, lookup_cb, m)) == NULL) {
		tlsa_monitor_free(m);
		return DP_ERR_NOMEM;
	}
	evtimer_add(m->timer, &now);
	*out = m;
	return DP_OK;
}

void
tlsa_monitor_free(struct tlsa_monitor *m)
{
	if (m == NULL)
		return;
	if (m->wait != NULL)
		tlsa_cache_cancel(m->wait);
	if (m->timer != NULL)
		event_free(m->timer);
	tlsa_matcher_free(m->rules.matcher);
	free(m);
}
