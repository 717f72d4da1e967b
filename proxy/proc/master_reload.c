/* master_reload.c — the transactional reload of master.c: a generation of
 * workers for a new configuration starts beside the running one, then is
 * committed (the old generation drains) or aborted (nothing changed); the
 * admin endpoint moves with it; SIGHUP (or reload_on_change, watch.h) reads
 * and checks the file first. systemd hears of the start and the outcome
 * (notify.h). */
#include "mastergen.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "err.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "watch.h"
#include "worker.h"

#define START_TIMEOUT_MS 30000	/* a new generation must serve within this */
#define STATUS_MAX 256		/* systemd's STATUS= line */

static void settled(struct master *m, int first, const char *status);

/* ---- generations ---------------------------------------------------------- */

static void
gen_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct generation *g = arg;
	struct master *m = g->m;
	unsigned i;

	if (g->state == GEN_STARTING) {
		master_generation_abort(g, "did not start in time");
		master_publish(m);
		return;
	}
	/* Retiring past its drain timeout and grace: stop waiting. */
	for (i = 0; i < g->n_w; i++) {
		if (g->w[i].pid != 0) {
			log_warn("worker %u.%u (pid %ld) still running after its "
			    "drain timeout: killing it", g->id, i,
			    (long)g->w[i].pid);
			master_wproc_signal(&g->w[i], SIGKILL);
		}
	}
}

void
master_generation_free(struct generation *g)
{
	struct generation **pp;
	unsigned i;

	if (g == NULL)
		return;
	for (pp = &g->m->gens; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	if (g->m->active == g)
		g->m->active = NULL;
	if (g->m->pending == g)
		g->m->pending = NULL;
	if (g->state == GEN_RETIRING && g->m->active != NULL && !g->m->stopping)
		log_info("generation %u finished draining", g->id);
	for (i = 0; i < g->n_w; i++) {
		master_close_pipe(&g->w[i]);
		if (g->w[i].restart_ev != NULL)
			event_free(g->w[i].restart_ev);
		if (g->w[i].slot >= 0)
			metrics_slot_release(g->m->mx, g->w[i].slot);
	}
	if (g->timer != NULL)
		event_free(g->timer);
	free(g->w);
	conf_free(g->conf);
	free(g);
}

/* A generation that was starting failed: its workers go, the running
 * generation (if any) keeps serving. */
void
master_generation_abort(struct generation *g, const char *why)
{
	struct master *m = g->m;
	char status[STATUS_MAX] = "";
	unsigned i;

	if (g->state != GEN_STARTING)
		return;
	g->state = GEN_RETIRING;
	evtimer_del(g->timer);
	m->pending = NULL;
	for (i = 0; i < g->n_w; i++)
		master_wproc_signal(&g->w[i], SIGQUIT);
	if (m->active != NULL) {
		m->mxm.reloads_failed++;
		log_error("reload failed: a worker of generation %u %s; "
		    "generation %u keeps serving", g->id, why, m->active->id);
		snprintf(status, sizeof(status), "reload failed: a worker of "
		    "generation %u %s; generation %u serving", g->id, why,
		    m->active->id);
	} else {
		log_error("startup failed: a worker %s", why);
		m->exit_code = 1;
		m->stopping = 2;
	}
	metrics_listener_rollback(m->mx);
	master_admin_cancel(m);
	master_pool_prune(m);
	if (master_gen_running(g) == 0)
		master_generation_free(g);
	if (m->active != NULL)
		settled(m, 0, status);
	if (m->stopping && m->gens == NULL)
		event_base_loopbreak(m->base);
	else if (m->reload_again && m->active != NULL) {
		m->reload_again = 0;
		raise(SIGHUP);
	}
}

static unsigned
worker_count(const struct conf *c)
{
	long n;

	if (c->global.workers != 0)
		return c->global.workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CONF_MAX_WORKERS ? CONF_MAX_WORKERS : (unsigned)n;
}

/* Gives g the listening socket for one [server] or [client] section (line)
 * and claims its metrics. Logs and fails when the address cannot be bound. */
static int
gen_add_listener(struct generation *g, enum mx_role role, const char *name,
    const struct dp_addr *listen, int line, unsigned max_connections)
{
	char addr[DP_ADDR_STRLEN];

	dp_addr_str((const struct sockaddr *)&listen->ss, addr, sizeof(addr));
	if (master_pool_get(g->m, role == MX_SERVER ? "server" : "client", name,
	    listen, &g->fds[g->n_fds]) != DP_OK) {
		log_error("%s:%d: listen: cannot listen on %s: %s", g->conf->file,
		    line, addr, strerror(errno));
		return DP_ERR_IO;
	}
	g->n_fds++;
	if (metrics_listener_claim(g->m->mx, role, name, addr,
	    max_connections) < 0) {
		log_error("%s:%d: too many listeners for the metrics region",
		    g->conf->file, line);
		return DP_ERR_SPACE;
	}
	return DP_OK;
}

/* Binds what c needs, claims its metrics and starts its workers. On failure
 * the problem has been logged, c is freed and nothing else changed. */
int
master_generation_start(struct master *m, struct conf *c)
{
	const struct conf_server *cs;
	const struct conf_client *cc;
	struct generation *g = NULL;
	struct timeval tv = { START_TIMEOUT_MS / 1000, 0 };
	unsigned i;
	int r = DP_ERR_NOMEM;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto fail;
	g->m = m;
	g->conf = c;
	g->n_w = worker_count(c);
	if ((g->w = calloc(g->n_w, sizeof(*g->w))) == NULL ||
	    (g->timer = evtimer_new(m->base, gen_timer_cb, g)) == NULL)
		goto fail;
	for (i = 0; i < g->n_w; i++) {
		g->w[i].g = g;
		g->w[i].index = i;
		g->w[i].slot = -1;
		g->w[i].pipe = -1;
		if ((g->w[i].restart_ev = evtimer_new(m->base, master_restart_cb,
		    &g->w[i])) == NULL)
			goto fail;
	}
	m->pending = g;		/* master_pool_prune keeps its sockets */
	r = DP_ERR_IO;
	for (cs = c->servers; cs != NULL; cs = cs->next)
		if (gen_add_listener(g, MX_SERVER, cs->name, &cs->listen,
		    cs->where.line, cs->max_connections) != DP_OK)
			goto fail;
	for (cc = c->clients; cc != NULL; cc = cc->next)
		if (gen_add_listener(g, MX_CLIENT, cc->name, &cc->listen,
		    cc->where.line, cc->max_connections) != DP_OK)
			goto fail;
	g->id = ++m->next_gen;
	g->state = GEN_STARTING;
	g->next = m->gens;
	m->gens = g;
	evtimer_add(g->timer, &tv);
	for (i = 0; i < g->n_w; i++) {
		if (master_worker_spawn(&g->w[i]) != DP_OK) {
			log_error("cannot start worker %u.%u: %s", g->id, i,
			    strerror(errno));
			/* Logged and counted there; nothing more to undo. */
			master_generation_abort(g, "could not be forked");
			return DP_OK;
		}
	}
	log_info("generation %u: starting %u workers", g->id, g->n_w);
	return DP_OK;
 fail:
	m->pending = NULL;
	if (g != NULL) {
		for (i = 0; g->w != NULL && i < g->n_w; i++)
			if (g->w[i].restart_ev != NULL)
				event_free(g->w[i].restart_ev);
		if (g->timer != NULL)
			event_free(g->timer);
		free(g->w);
		free(g);
	}
	conf_free(c);
	metrics_listener_rollback(m->mx);
	master_admin_cancel(m);
	master_pool_prune(m);
	return r;
}

/* The new generation serves: the old one drains, the sockets only it used
 * are closed. */
void
master_generation_commit(struct generation *g)
{
	struct master *m = g->m;
	struct generation *old = m->active;
	char status[STATUS_MAX];
	struct timeval tv;
	unsigned i;
	int first = old == NULL;

	evtimer_del(g->timer);
	g->state = GEN_ACTIVE;
	m->active = g;
	m->pending = NULL;
	log_init(g->conf->global.log_level, g->conf->global.log_json);
	if (old != NULL) {
		old->state = GEN_RETIRING;
		for (i = 0; i < old->n_w; i++) {
			if (old->w[i].restart_ev != NULL)
				evtimer_del(old->w[i].restart_ev);
			master_wproc_signal(&old->w[i], SIGTERM);
		}
		tv = dp_ms_tv((uint64_t)old->conf->global.drain_timeout_ms + KILL_GRACE_MS);
		evtimer_add(old->timer, &tv);
		m->mxm.reloads_ok++;
		log_info("reload: generation %u serving with %u workers; "
		    "generation %u draining %u workers (at most %u ms)", g->id,
		    g->n_w, old->id, master_gen_running(old),
		    old->conf->global.drain_timeout_ms);
		if (master_gen_running(old) == 0)
			master_generation_free(old);
	} else {
		log_info("daneproxy %s ready (pid %ld, %u workers)", DP_VERSION,
		    (long)getpid(), g->n_w);
	}
	metrics_listener_commit(m->mx);
	m->mxm.generation = g->id;
	m->mxm.workers_configured = g->n_w;
	master_pool_prune(m);
	master_admin_commit(m, g->conf);
	snprintf(status, sizeof(status), "generation %u serving with %u "
	    "workers", g->id, g->n_w);
	settled(m, first, status);
	if (m->reload_again) {
		m->reload_again = 0;
		raise(SIGHUP);
	}
}

/* ---- the admin endpoint across a reload ------------------------------------ */

/* The admin endpoint for c: kept, moved or turned off. The new socket is
 * bound now, so that a reload to an address in use fails and changes
 * nothing; the admin process moves to it in master_admin_commit(), when c takes
 * over. */
int
master_admin_prepare(struct master *m, const struct conf *c)
{
	const struct dp_addr *a = &c->global.admin;
	char buf[DP_ADDR_STRLEN];

	m->admin_change = 0;
	m->admin_fd = -1;
	if (a->len == 0) {
		m->admin_change = m->admin_listen >= 0;
		return DP_OK;
	}
	if (m->admin_listen >= 0 && dp_addr_equal(&m->admin_addr, a))
		return DP_OK;
	if (dp_listen_socket(a, "admin", NULL, &m->admin_fd, &m->admin_new) !=
	    DP_OK) {
		log_error("%s:%d: admin: cannot listen on %s: %s", c->file,
		    c->global.admin_where.line, dp_addr_str((const struct
		    sockaddr *)&a->ss, buf, sizeof(buf)), strerror(errno));
		return DP_ERR_IO;
	}
	m->admin_change = 1;
	return DP_OK;
}

void
master_admin_cancel(struct master *m)
{
	if (m->admin_fd >= 0)
		close(m->admin_fd);
	m->admin_fd = -1;
	m->admin_change = 0;
}

/* c takes over: the admin endpoint moves, ends or stays, and a new admin
 * process serves it with c (the old one finishes what it serves). */
void
master_admin_commit(struct master *m, const struct conf *c)
{
	char buf[DP_ADDR_STRLEN];

	if (m->admin_change) {
		if (m->admin_listen >= 0) {
			/* Closes it for the admin process too, at once. */
			shutdown(m->admin_listen, SHUT_RDWR);
			close(m->admin_listen);
		}
		m->admin_listen = m->admin_fd;
		m->admin_fd = -1;
		m->admin_change = 0;
		m->admin_addr = m->admin_new;
		if (m->admin_listen < 0)
			m->admin_addr.len = 0;
		else
			log_info("admin endpoint on %s (/metrics, /healthz, "
			    "/readyz)", dp_addr_str((const struct sockaddr *)
			    &m->admin_addr.ss, buf, sizeof(buf)));
	}
	master_admin_retire(m);
	master_admin_spawn(m, c);
}

/* ---- reload --------------------------------------------------------------- */

/* Logs each line of a memory stream's text as an error. */
static void
log_lines(const char *prefix, char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_error("%s%s", prefix, line);
}

void
master_reload(struct master *m)
{
	const char *path = m->active->conf->file;
	struct conf *c = NULL;
	char *text = NULL;
	size_t len = 0;
	char status[STATUS_MAX];
	FILE *errs;
	int bad;

	if (m->pending != NULL) {
		log_info("reload: another one is in progress; this one follows");
		m->reload_again = 1;
		return;
	}
	log_info("reload: reading %s", path);
	notify_reloading(m->notify, "reloading");
	m->reloading = 1;
	/* What the files hold from now on is what this reload reads. */
	watch_mark(m->watch);
	snprintf(status, sizeof(status), "reload failed; generation %u serving",
	    m->active->id);
	if ((errs = open_memstream(&text, &len)) == NULL) {
		log_error("reload failed: out of memory");
		m->mxm.reloads_failed++;
		settled(m, 0, status);
		return;
	}
	bad = conf_load(path, errs, &c) != DP_OK;
	if (!bad)
		bad = worker_check(c, errs) != 0;
	fclose(errs);
	if (bad) {
		log_lines("reload: ", text);
		log_error("reload failed: %s is not valid; generation %u keeps "
		    "serving", path, m->active->id);
		m->mxm.reloads_failed++;
		snprintf(status, sizeof(status), "reload failed: the "
		    "configuration is not valid; generation %u serving",
		    m->active->id);
		conf_free(c);
		free(text);
		settled(m, 0, status);
		return;
	}
	free(text);
	if (master_admin_prepare(m, c) != DP_OK) {
		conf_free(c);
		log_error("reload failed; generation %u keeps serving",
		    m->active->id);
		m->mxm.reloads_failed++;
		settled(m, 0, status);
		return;
	}
	if (master_generation_start(m, c) != DP_OK) {
		log_error("reload failed; generation %u keeps serving",
		    m->active->id);
		m->mxm.reloads_failed++;
		settled(m, 0, status);
	}
}

/* ---- reload_on_change, and systemd ---------------------------------------- */

/* A file of the configuration in force changed (logged by the watch):
 * reload as SIGHUP does. */
static void
watch_changed_cb(void *arg)
{
	struct master *m = arg;

	if (m->stopping)
		return;
	if (m->active == NULL) {
		m->reload_again = 1;	/* once the first generation serves */
		return;
	}
	master_reload(m);
	master_publish(m);
}

/* Follows the files of the configuration in force (the one starting, at
 * startup), or none once reload_on_change is off or the master stops. */
void
master_watch_rearm(struct master *m)
{
	const struct conf *c = m->active != NULL ? m->active->conf :
	    m->pending != NULL ? m->pending->conf : NULL;

	if (m->stopping)
		c = NULL;
	if (watch_set(&m->watch, m->base, c, watch_changed_cb, m) != DP_OK)
		log_error("reload_on_change: cannot watch the files this "
		    "configuration names; the next reload tries again");
}

/* The first generation serves (first), or a reload ended: tell systemd
 * (READY=1 also ends RELOADING=1), and watch the files of the
 * configuration now in force, which may name other files. */
static void
settled(struct master *m, int first, const char *status)
{
	if (first || m->reloading)
		notify_ready(m->notify, status);
	m->reloading = 0;
	master_watch_rearm(m);
}
