/* worker.c — see worker.h. */
#include "worker.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "cache.h"
#include "chaincache.h"
#include "client.h"
#include "conn.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "recheck.h"
#include "server.h"
#include "tlsamon.h"
#include "util.h"

#define DRAIN_POLL_MS 100

struct worker {
	const struct conf *conf;
	struct event_base *base;
	struct dns_client *dns;
	struct tlsa_cache *cache;
	struct recheck_table *rechecks;	/* live connections against new answers */
	struct chaincache *chains;	/* stapled chains judged; NULL: none */
	/* Worker 0: the TLSA names its client routes watch, two per route
	 * (own, remote), with what each monitor reads. */
	struct tlsa_monitor **monitors;
	struct tlsamon_params *mon_params;
	size_t n_monitors;
	struct conn_listener **listeners;	/* servers, then clients, in file order */
	size_t n_listeners;
	struct event *sig_term, *sig_quit, *drain;
	uint64_t drain_deadline;
	unsigned generation, index;
	const int *listen_fds;		/* the master's sockets, one per listener;
					 * NULL: bind them here */
};

static unsigned
active_connections(const struct worker *w)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < w->n_listeners; i++)
		n += conn_listener_active(w->listeners[i]);
	return n;
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
	unsigned n = active_connections(w);

	if (n == 0 || dp_now_ms() >= w->drain_deadline) {
		if (n > 0)
			log_warn("worker %u.%u: drain timeout (%u ms): closing %u "
			    "connections", w->generation, w->index,
			    w->conf->global.drain_timeout_ms, n);
		event_base_loopbreak(w->base);
		return;
	}
	event_add(w->drain, &tv);
}

static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	size_t i;

	if (w->drain_deadline != 0)
		return;		/* draining already */
	log_info("worker %u.%u: no longer accepting, draining %u connections",
	    w->generation, w->index, active_connections(w));
	for (i = 0; i < w->n_listeners; i++)
		conn_listener_stop(w->listeners[i]);
	w->drain_deadline = dp_now_ms() + w->conf->global.drain_timeout_ms;
	drain_cb(-1, 0, w);
}

static void
sigquit_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	log_info("worker %u.%u: exiting now, closing %u connections",
	    w->generation, w->index, active_connections(w));
	event_base_loopbreak(w->base);
}

/* Builds everything the configuration describes, binding nothing. Returns
 * the number of errors (written to errs). */
static int
build(struct worker *w, FILE *errs)
{
	const struct conf *c = w->conf;
	const struct conf_server *cs;
	const struct conf_client *cc;
	char err[512];
	struct dane_shared sh;
	int errors = 0, need_dns = c->servers != NULL, need_chains = 0;
	size_t n;

	for (cc = c->clients; cc != NULL; cc = cc->next)
		if (cc->verify_server != VERIFY_PKIX ||
		    cc->self_check != SELF_CHECK_OFF || cc->staple_chain)
			need_dns = 1;
	for (cs = c->servers; cs != NULL; cs = cs->next)
		if (cs->stapled_chain != STAPLED_OFF)
			need_chains = 1;
	/* The anchors read once per worker, for every listener's chains. */
	if (need_chains &&
	    chaincache_new(c->dns.trust_anchor_file, &w->chains, err,
	    sizeof(err)) != DP_OK) {
		fprintf(errs, "%s:%d: trust_anchor_file: stapled_chain cannot "
		    "use it: %s\n", c->file, c->dns.trust_anchor_where.line > 0 ?
		    c->dns.trust_anchor_where.line : c->dns.where.line, err);
		errors++;
	}
	if (need_dns) {
		if (dns_client_new(w->base, &c->dns, &w->dns, err, sizeof(err)) != DP_OK) {
			fprintf(errs, "%s:%d: [dns]: %s\n", c->file,
			    c->dns.trust_anchor_where.line > 0 ?
			    c->dns.trust_anchor_where.line : c->dns.where.line, err);
			errors++;
		} else if (tlsa_cache_new(w->dns, &c->dns, &w->cache) != DP_OK ||
		    recheck_table_new(w->base, w->cache, &w->rechecks) != DP_OK) {
			fprintf(errs, "%s: out of memory\n", c->file);
			return errors + 1;
		}
	}
	n = 0;
	for (cs = c->servers; cs != NULL; cs = cs->next)
		n++;
	for (cc = c->clients; cc != NULL; cc = cc->next)
		n++;
	if ((w->listeners = calloc(n ? n : 1, sizeof(*w->listeners))) == NULL)
		return errors + 1;
	sh = (struct dane_shared){ .cache = w->cache, .rechecks = w->rechecks,
	    .chains = w->chains, .trust_anchor_file = c->dns.trust_anchor_file };
	for (cs = c->servers; cs != NULL; cs = cs->next)
		if (server_listener_new(w->base, cs, &sh, errs,
		    &w->listeners[w->n_listeners]) == DP_OK)
			w->n_listeners++;
		else
			errors++;
	for (cc = c->clients; cc != NULL; cc = cc->next)
		if (client_route_new(w->base, cc, &sh, errs,
		    &w->listeners[w->n_listeners]) == DP_OK)
			w->n_listeners++;
		else
			errors++;
	return errors;
}

static int
start(struct worker *w)
{
	const struct conn_listener *l;
	char addr[DP_ADDR_STRLEN];
	size_t i;

	for (i = 0; i < w->n_listeners; i++) {
		l = w->listeners[i];
		if (conn_listener_start(w->listeners[i], w->listen_fds != NULL ?
		    w->listen_fds[i] : -1) == DP_OK)
			continue;
		log_error("%s:%d: listen: cannot listen on %s: %s", w->conf->file,
		    l->where->line, dp_addr_str((const struct sockaddr *)
		    &l->listen->ss, addr, sizeof(addr)), strerror(errno));
		return DP_ERR_IO;
	}
	return DP_OK;
}

static const char *
self_check_name(enum conf_self_check s)
{
	return s == SELF_CHECK_NOT_READY ? "not-ready" : s == SELF_CHECK_WARN ?
	    "warn" : "off";
}

/* Worker 0 watches its client routes' TLSA names: its own client_name
 * (self_check) and the remote's, for the expiry metrics and the
 * self-check. Routes are the listeners after the servers, in file order. */
static int
monitors_start(struct worker *w)
{
	const struct conf *c = w->conf;
	const struct conf_client *cc;
	const struct conf_server *cs;
	struct tlsamon_params *p;
	size_t n = 0, li = 0;
	int r;

	if (w->index != 0 || w->cache == NULL || c->clients == NULL)
		return DP_OK;
	for (cc = c->clients; cc != NULL; cc = cc->next)
		n += 2;
	if ((w->monitors = calloc(n, sizeof(*w->monitors))) == NULL ||
	    (w->mon_params = calloc(n, sizeof(*w->mon_params))) == NULL)
		return DP_ERR_NOMEM;
	for (cs = c->servers; cs != NULL; cs = cs->next)
		li++;
	for (cc = c->clients; cc != NULL; cc = cc->next, li++) {
		struct conn_listener *l = w->listeners[li];

		if (cc->self_check != SELF_CHECK_OFF) {
			p = &w->mon_params[w->n_monitors];
			*p = (struct tlsamon_params){ w->base, w->cache, cc->name,
			    cc->client_name, MX_NAME_OWN, l->mx, l->ctx,
			    self_check_name(cc->self_check) };
			if ((r = tlsa_monitor_new(p, &w->monitors[w->n_monitors])) != DP_OK)
				return r;
			w->n_monitors++;
		}
		if (cc->verify_server != VERIFY_PKIX) {
			p = &w->mon_params[w->n_monitors];
			*p = (struct tlsamon_params){ w->base, w->cache, cc->name,
			    cc->tlsa_name, MX_NAME_REMOTE, l->mx, NULL, NULL };
			if ((r = tlsa_monitor_new(p, &w->monitors[w->n_monitors])) != DP_OK)
				return r;
			w->n_monitors++;
		}
	}
	return DP_OK;
}

static void
teardown(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_monitors; i++)
		tlsa_monitor_free(w->monitors[i]);
	free(w->monitors);
	free(w->mon_params);

	for (i = 0; i < w->n_listeners; i++)
		conn_listener_free(w->listeners[i]);
	free(w->listeners);
	recheck_table_free(w->rechecks);
	chaincache_free(w->chains);
	tlsa_cache_free(w->cache);
	dns_client_free(w->dns);
	if (w->sig_term != NULL)
		event_free(w->sig_term);
	if (w->sig_quit != NULL)
		event_free(w->sig_quit);
	if (w->drain != NULL)
		event_free(w->drain);
	if (w->base != NULL)
		event_base_free(w->base);
}

/* Three priorities: 1 (the default) for DNS, relays and timers, 2 for
 * handshake steps, so that under a burst of new connections a DNS answer many
 * of them wait for is read before the next round of handshake work, not after
 * it (and before a retransmit timer). */
static struct event_base *
new_base(void)
{
	struct event_base *base = event_base_new();

	if (base != NULL && event_base_priority_init(base, 3) != 0) {
		event_base_free(base);
		base = NULL;
	}
	return base;
}

int
worker_check(const struct conf *c, FILE *errs)
{
	struct worker w;
	int errors;

	memset(&w, 0, sizeof(w));
	w.conf = c;
	if (c->global.user != NULL && getpwnam(c->global.user) == NULL) {
		fprintf(errs, "%s:%d: user: no such user '%s'\n", c->file,
		    c->global.user_where.line, c->global.user);
		return 1;
	}
	if ((w.base = new_base()) == NULL) {
		fprintf(errs, "daneproxy: cannot create an event loop\n");
		return 1;
	}
	errors = build(&w, errs);
	teardown(&w);
	return errors;
}

/* Becomes [global] user: its uid, gid and supplementary groups. Refuses to
 * go on as root when that fails. */
int
worker_drop_privileges(const struct conf *c)
{
	const char *user = c->global.user;
	struct passwd *pw;

	if (user == NULL)
		return DP_OK;
	if ((pw = getpwnam(user)) == NULL) {
		log_error("%s:%d: user: no such user '%s'", c->file,
		    c->global.user_where.line, user);
		return DP_ERR_INVALID;
	}
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid &&
	    getgid() == pw->pw_gid)
		return DP_OK;	/* started as that user already */
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		log_error("%s:%d: user: cannot switch to '%s': %s; refusing to "
		    "run as uid %ld", c->file, c->global.user_where.line, user,
		    strerror(errno), (long)geteuid());
		return DP_ERR_IO;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		log_error("user: could regain root after switching to '%s'; "
		    "refusing to run", user);
		return DP_ERR_INTERNAL;
	}
	return DP_OK;
}

/* Leaves the signal handling the master set up: a fresh process starts from
 * default dispositions, except that SIGHUP (the master reloads) and SIGINT
 * (the master relays a Ctrl-C as SIGTERM) are not ours. */
static void
reset_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2 };
	sigset_t all;
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

int
worker_run(const struct worker_params *p)
{
	const struct conf *c = p->conf;
	struct worker w;
	pid_t master = getppid();
	int rc = WORKER_EXIT_CONFIG;

	reset_signals();
	memset(&w, 0, sizeof(w));
	w.conf = c;
	w.generation = p->generation;
	w.index = p->index;
	if (p->mx != NULL)
		metrics_worker_attach(p->mx, p->slot);
	w.listen_fds = p->listen_fds;
	if ((w.base = new_base()) == NULL) {
		log_error("worker %u.%u: cannot create an event loop",
		    w.generation, w.index);
		goto out;
	}
	if (build(&w, stderr) != 0 || worker_drop_privileges(c) != DP_OK)
		goto out;
	/* After the drop: a change of credentials clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master) {
		log_error("worker %u.%u: master gone", w.generation, w.index);
		goto out;
	}
	w.sig_term = evsignal_new(w.base, SIGTERM, sigterm_cb, &w);
	w.sig_quit = evsignal_new(w.base, SIGQUIT, sigquit_cb, &w);
	w.drain = evtimer_new(w.base, drain_cb, &w);
	if (w.sig_term == NULL || w.sig_quit == NULL || w.drain == NULL ||
	    event_add(w.sig_term, NULL) != 0 || event_add(w.sig_quit, NULL) != 0)
		goto out;
	if (start(&w) != DP_OK)
		goto out;
	if (monitors_start(&w) != DP_OK) {
		log_error("worker %u.%u: cannot watch the routes' TLSA names: out "
		    "of memory", w.generation, w.index);
		goto out;
	}
	if (write(p->ready_fd, "R", 1) != 1) {
		log_error("worker %u.%u: cannot report to the master: %s",
		    w.generation, w.index, strerror(errno));
		goto out;
	}
	close(p->ready_fd);
	log_debug("worker %u.%u serving (pid %ld, uid %ld)", w.generation,
	    w.index, (long)getpid(), (long)geteuid());
	event_base_dispatch(w.base);
	rc = 0;
 out:
	teardown(&w);
	return rc;
}
