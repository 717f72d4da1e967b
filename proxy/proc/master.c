/* master.c — see master.h.
 *
 * Here: the listening sockets, readiness, the workers and the admin process
 * supervised, signals. master_reload.c starts a generation of workers and
 * commits or aborts it; mastergen.h is the state both parts share. */
#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "adminproc.h"
#include "err.h"
#include "listen.h"
#include "log.h"
#include "mastergen.h"
#include "metrics.h"
#include "notify.h"
#include "util.h"
#include "watch.h"
#include "worker.h"

#define ADMIN_RESTART_DELAY_MS 1000	/* an admin process that died at once */
#define RESTART_DELAY_MAX_MS 10000

/* Every listener a configuration may have gets its counters. */
_Static_assert(CONF_MAX_LISTENERS <= MX_MAX_LISTENERS, "metrics: too few listener slots");

static void admin_exited(struct master *m, int status);

/* ---- sockets -------------------------------------------------------------- */

static evutil_socket_t
pool_find(const struct master *m, const struct dp_addr *a)
{
	size_t i;

	for (i = 0; i < m->n_pool; i++)
		if (dp_addr_equal(&m->pool[i].addr, a))
			return m->pool[i].fd;
	return -1;
}

/* The socket for a, bound now if the pool has none (for listener name of
 * role). The pool keys a socket by the address bound, so a configuration
 * naming the port the kernel chose for port 0 keeps that socket. */
int
master_pool_get(struct master *m, const char *role, const char *name,
    const struct dp_addr *a, evutil_socket_t *fd)
{
	if ((*fd = pool_find(m, a)) >= 0)
		return DP_OK;
	if (m->n_pool == POOL_MAX) {
		errno = EMFILE;
		return DP_ERR_IO;
	}
	if (dp_listen_socket(a, role, name, fd, &m->pool[m->n_pool].addr) != DP_OK)
		return DP_ERR_IO;
	m->pool[m->n_pool].fd = *fd;
	m->n_pool++;
	return DP_OK;
}

static int
gen_uses(const struct generation *g, evutil_socket_t fd)
{
	size_t i;

	for (i = 0; g != NULL && i < g->n_fds; i++)
		if (g->fds[i] == fd)
			return 1;
	return 0;
}

/* Closes the sockets neither the active nor the pending generation uses. */
void
master_pool_prune(struct master *m)
{
	size_t i = 0;

	while (i < m->n_pool) {
		if (gen_uses(m->active, m->pool[i].fd) ||
		    gen_uses(m->pending, m->pool[i].fd)) {
			i++;
			continue;
		}
		close(m->pool[i].fd);
		m->pool[i] = m->pool[--m->n_pool];
	}
}

/* ---- readiness ------------------------------------------------------------ */

/* The master's part of /readyz: started, not stopping, every worker of the
 * active generation serving. (The admin process adds the DNS probe.) */
static int
ready_check(struct master *m, char *why, size_t why_size)
{
	struct generation *g = m->active;
	unsigned i;

	if (m->stopping) {
		snprintf(why, why_size, "shutting down");
		return 0;
	}
	if (g == NULL) {
		snprintf(why, why_size, "starting");
		return 0;
	}
	for (i = 0; i < g->n_w; i++) {
		if (g->w[i].pid == 0 || !g->w[i].ready) {
			snprintf(why, why_size, "worker %u.%u not serving",
			    g->id, i);
			return 0;
		}
	}
	why[0] = '\0';
	return 1;
}

/* Tells the admin process what only the master knows. Called at the end of
 * every master callback (each state change happens in one) and once a
 * second. */
void
master_publish(struct master *m)
{
	struct generation *g;
	char why[160];
	unsigned running = 0, i;

	if (m->ash == NULL)
		return;
	for (g = m->gens; g != NULL; g = g->next)
		for (i = 0; i < g->n_w; i++)
			running += g->w[i].pid != 0;
	m->mxm.workers_running = running;
	m->mxm.ready = ready_check(m, why, sizeof(why));
	admin_shared_publish(m->ash, &m->mxm, why);
}

static void
publish_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	master_publish(arg);
}

/* ---- workers -------------------------------------------------------------- */

static struct wproc *
wproc_by_pid(struct master *m, pid_t pid)
{
	struct generation *g;
	unsigned i;

	for (g = m->gens; g != NULL; g = g->next)
		for (i = 0; i < g->n_w; i++)
			if (g->w[i].pid == pid)
				return &g->w[i];
	return NULL;
}

void
master_wproc_signal(struct wproc *w, int sig)
{
	if (w->pid != 0)
		kill(w->pid, sig);
}

unsigned
master_gen_running(const struct generation *g)
{
	unsigned i, n = 0;

	for (i = 0; i < g->n_w; i++)
		n += g->w[i].pid != 0;
	return n;
}

void
master_close_pipe(struct wproc *w)
{
	if (w->ready_ev != NULL)
		event_free(w->ready_ev);
	w->ready_ev = NULL;
	if (w->pipe >= 0)
		close(w->pipe);
	w->pipe = -1;
}

static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wproc *w = arg;
	struct generation *g = w->g;
	char b;
	ssize_t n = read(fd, &b, 1);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	master_close_pipe(w);
	if (n != 1)
		return;		/* it exits: SIGCHLD tells the rest */
	w->ready = 1;
	if (g->state == GEN_STARTING && ++g->n_ready == g->n_w)
		master_generation_commit(g);
	else if (g->state == GEN_ACTIVE)
		log_info("worker %u.%u serving again (pid %ld)", g->id, w->index,
		    (long)w->pid);
	master_publish(g->m);
}

void
master_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct wproc *w = arg;

	if (w->g->state != GEN_ACTIVE || w->g->m->stopping || w->pid != 0)
		return;
	if (master_worker_spawn(w) != DP_OK)
		log_error("worker %u.%u: cannot start: %s", w->g->id, w->index,
		    strerror(errno));
	master_publish(w->g->m);
}

static void
describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "ended (status 0x%x)", status);
}

/* A worker is gone: count it out, and replace it if it should be serving. */
static void
worker_exited(struct master *m, struct wproc *w, int status)
{
	struct generation *g = w->g;
	char how[96];
	struct timeval tv;
	uint64_t delay;

	pid_t pid = w->pid;

	describe_status(status, how, sizeof(how));
	master_close_pipe(w);
	metrics_slot_release(m->mx, w->slot);
	w->slot = -1;
	w->pid = 0;
	if (g->state == GEN_STARTING) {
		master_generation_abort(g, how);	/* may free g */
		return;
	}
	if (g->state == GEN_ACTIVE && !m->stopping) {
		w->ready = 0;
		delay = 0;
		if (dp_now_ms() - w->started_ms >= 1000) {
			w->quick_deaths = 0;
		} else {
			w->quick_deaths++;
			delay = (uint64_t)1000 << (w->quick_deaths < 4 ? w->quick_deaths - 1 : 3);
			if (delay > RESTART_DELAY_MAX_MS)
				delay = RESTART_DELAY_MAX_MS;
		}
		m->mxm.worker_restarts++;
		log_error("worker %u.%u (pid %ld) %s; restarting it%s",
		    g->id, w->index, (long)pid, how,
		    delay ? " after a pause" : "");
		tv = dp_ms_tv(delay);
		evtimer_add(w->restart_ev, &tv);
	} else {
		log_info("worker %u.%u (pid %ld) %s", g->id, w->index,
		    (long)pid, how);
	}
	if (g->state != GEN_ACTIVE && master_gen_running(g) == 0)
		master_generation_free(g);
	if (m->stopping && m->gens == NULL)
		event_base_loopbreak(m->base);
}

static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct master *m = arg;
	struct wproc *w;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((w = wproc_by_pid(m, pid)) != NULL)
			worker_exited(m, w, status);
		else if (pid == m->admin_pid)
			admin_exited(m, status);
		/* else an admin process that was replaced: nothing to do */
	}
	master_publish(m);
}

/* In a new child (a worker, self; or the admin process, self NULL): lets go
 * of everything that is the master's but the sockets it serves. */
static void
forget_master(struct master *m, struct wproc *self)
{
	struct generation *g;
	unsigned i;
	size_t k;

	/* Not on the master's epoll instance, which the child shares. */
	event_reinit(m->base);
	for (g = m->gens; g != NULL; g = g->next) {
		for (i = 0; i < g->n_w; i++) {
			if (&g->w[i] != self)
				master_close_pipe(&g->w[i]);
			if (g->w[i].restart_ev != NULL)
				event_free(g->w[i].restart_ev);
			g->w[i].restart_ev = NULL;
		}
		event_free(g->timer);
		g->timer = NULL;
	}
	if (self != NULL && self->ready_ev != NULL)
		event_free(self->ready_ev);
	if (self != NULL)
		self->ready_ev = NULL;
	for (k = 0; k < m->n_pool; k++)
		if (self == NULL || !gen_uses(self->g, m->pool[k].fd))
			close(m->pool[k].fd);
	if (self != NULL && m->admin_listen >= 0)
		close(m->admin_listen);
	master_admin_cancel(m);
	event_free(m->admin_restart);
	event_free(m->publish_tick);
	event_free(m->sig_hup);
	event_free(m->sig_term);
	event_free(m->sig_int);
	event_free(m->sig_quit);
	event_free(m->sig_chld);
	watch_free(m->watch);
	m->watch = NULL;
	notify_free(m->notify);	/* NotifyAccess=main: the master speaks */
	m->notify = NULL;
	event_base_free(m->base);
	m->base = NULL;
}

int
master_worker_spawn(struct wproc *w)
{
	struct generation *g = w->g;
	struct master *m = g->m;
	struct worker_params p;
	sigset_t all, old;
	int pfd[2], slot, e;
	pid_t pid;

	if ((slot = metrics_slot_take(m->mx, g->id)) < 0) {
		errno = ENOSPC;
		return DP_ERR_SPACE;
	}
	if (pipe(pfd) != 0) {
		metrics_slot_release(m->mx, slot);
		return DP_ERR_IO;
	}
	fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
	/* Signals stay blocked in the child until it has its own handlers. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		w->pipe = -1;
		forget_master(m, w);
		p.conf = g->conf;
		p.listen_fds = g->fds;
		p.mx = m->mx;
		p.slot = slot;
		p.ready_fd = pfd[1];
		p.generation = g->id;
		p.index = w->index;
		exit(worker_run(&p));
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		metrics_slot_release(m->mx, slot);
		errno = e;
		return DP_ERR_IO;
	}
	evutil_make_socket_nonblocking(pfd[0]);
	w->pid = pid;
	w->slot = slot;
	w->ready = 0;
	w->pipe = pfd[0];
	w->started_ms = dp_now_ms();
	metrics_slot_set_pid(m->mx, slot, pid);
	if ((w->ready_ev = event_new(m->base, pfd[0], EV_READ | EV_PERSIST,
	    ready_cb, w)) == NULL || event_add(w->ready_ev, NULL) != 0) {
		/* Cannot learn that it serves: the start timeout ends it. */
		log_error("worker %u.%u: cannot watch its ready pipe", g->id,
		    w->index);
	}
	return DP_OK;
}

/* ---- the admin process ---------------------------------------------------- */

/* Starts the admin process on admin_listen with c (its user, its probe). */
void
master_admin_spawn(struct master *m, const struct conf *c)
{
	struct adminproc_params p;
	sigset_t all, old;
	pid_t pid;

	if (m->admin_listen < 0 || m->ash == NULL || m->stopping || c == NULL)
		return;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		evutil_socket_t fd = m->admin_listen;

		forget_master(m, NULL);
		p.conf = c;
		p.fd = fd;
		p.mx = m->mx;
		p.shared = m->ash;
		exit(adminproc_run(&p));
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_error("admin: cannot start its process: %s", strerror(errno));
		return;
	}
	m->admin_pid = pid;
	m->admin_started_ms = dp_now_ms();
}

/* Asks the admin process to finish what it serves and end. */
void
master_admin_retire(struct master *m)
{
	if (m->admin_pid > 0)
		kill(m->admin_pid, SIGTERM);
	m->admin_pid = 0;
}

static void
admin_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	if (m->admin_pid == 0)
		master_admin_spawn(m, m->active != NULL ? m->active->conf :
		    m->pending != NULL ? m->pending->conf : NULL);
}

/* The admin process ended on its own: start another (after a pause when
 * it lived less than a second). */
static void
admin_exited(struct master *m, int status)
{
	char how[96];
	struct timeval tv;
	uint64_t lived = dp_now_ms() - m->admin_started_ms;

	describe_status(status, how, sizeof(how));
	m->admin_pid = 0;
	if (m->stopping)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == WORKER_EXIT_CONFIG) {
		/* It said why (e.g. user); another would say the same. */
		log_error("admin process could not start (%s); the admin "
		    "endpoint stays down until a reload", how);
		return;
	}
	log_error("admin process %s; restarting it", how);
	tv = dp_ms_tv(lived < 1000 ? ADMIN_RESTART_DELAY_MS : 0);
	evtimer_add(m->admin_restart, &tv);
}

/* ---- signals -------------------------------------------------------------- */

static void
stop(struct master *m, int now)
{
	struct generation *g;
	unsigned i;
	struct timeval tv;
	unsigned drain = m->active != NULL ?
	    m->active->conf->global.drain_timeout_ms : 0;

	m->reloading = 0;	/* a reload cut short: no READY=1 before STOPPING=1 */
	if (m->pending != NULL)
		master_generation_abort(m->pending, "was stopped: shutting down");
	if (m->stopping == 0)
		notify_stopping(m->notify, "stopping");
	m->stopping = now ? 2 : 1;
	watch_free(m->watch);
	m->watch = NULL;
	for (g = m->gens; g != NULL; g = g->next) {
		for (i = 0; i < g->n_w; i++) {
			if (g->w[i].restart_ev != NULL)
				evtimer_del(g->w[i].restart_ev);
			master_wproc_signal(&g->w[i], now ? SIGQUIT : SIGTERM);
		}
		if (!now && g->state == GEN_ACTIVE) {
			g->state = GEN_RETIRING;
			tv = dp_ms_tv((uint64_t)drain + KILL_GRACE_MS);
			evtimer_add(g->timer, &tv);
		}
	}
	/* The workers close their copies when they stop accepting. */
	for (i = 0; i < m->n_pool; i++)
		close(m->pool[i].fd);
	m->n_pool = 0;
	m->active = NULL;
	/* The admin process goes on answering (/readyz: "shutting down")
	 * until the master exits; it follows then (PR_SET_PDEATHSIG). */
	for (g = m->gens; g != NULL; ) {
		struct generation *next = g->next;
		if (master_gen_running(g) == 0)
			master_generation_free(g);
		g = next;
	}
	if (m->gens == NULL)
		event_base_loopbreak(m->base);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct master *m = arg;

	switch (sig) {
	case SIGHUP:
		if (m->stopping == 0 && m->active != NULL)
			master_reload(m);
		break;
	case SIGTERM:
	case SIGINT:
		if (m->stopping == 0) {
			log_info("signal %d: stopping; workers drain their "
			    "connections (at most %u ms)", (int)sig,
			    m->active != NULL ?
			    m->active->conf->global.drain_timeout_ms : 0);
			stop(m, 0);
		} else {
			log_info("signal %d again: exiting now", (int)sig);
			stop(m, 1);
		}
		break;
	case SIGQUIT:
		log_info("signal %d: exiting now", (int)sig);
		stop(m, 1);
		break;
	}
	master_publish(m);
}

int
master_run(struct conf *conf)
{
	struct master m;
	struct generation *g;
	int ok = 0;

	memset(&m, 0, sizeof(m));
	m.admin_fd = -1;
	m.admin_listen = -1;
	m.notify = notify_open();
	m.mxm.start_time = (uint64_t)time(NULL);
	if ((m.base = event_base_new()) == NULL ||
	    metrics_region_new(&m.mx) != DP_OK) {
		log_error("cannot create the event loop or the metrics region");
		conf_free(conf);
		goto out;
	}
	m.sig_hup = evsignal_new(m.base, SIGHUP, signal_cb, &m);
	m.sig_term = evsignal_new(m.base, SIGTERM, signal_cb, &m);
	m.sig_int = evsignal_new(m.base, SIGINT, signal_cb, &m);
	m.sig_quit = evsignal_new(m.base, SIGQUIT, signal_cb, &m);
	m.sig_chld = evsignal_new(m.base, SIGCHLD, sigchld_cb, &m);
	m.admin_restart = evtimer_new(m.base, admin_restart_cb, &m);
	m.publish_tick = event_new(m.base, -1, EV_PERSIST, publish_tick_cb, &m);
	m.ash = admin_shared_new();
	if (m.sig_hup == NULL || m.sig_term == NULL || m.sig_int == NULL ||
	    m.sig_quit == NULL || m.sig_chld == NULL || m.admin_restart == NULL ||
	    m.publish_tick == NULL || m.ash == NULL ||
	    event_add(m.sig_hup, NULL) != 0 || event_add(m.sig_term, NULL) != 0 ||
	    event_add(m.sig_int, NULL) != 0 || event_add(m.sig_quit, NULL) != 0 ||
	    event_add(m.sig_chld, NULL) != 0) {
		log_error("cannot set up signal handling");
		conf_free(conf);
		goto out;
	}
	if (master_admin_prepare(&m, conf) != DP_OK) {
		conf_free(conf);
		goto out;
	}
	{
		struct timeval second = dp_ms_tv(1000);

		evtimer_add(m.publish_tick, &second);
	}
	master_publish(&m);
	master_admin_commit(&m, conf);	/* /healthz answers while the workers start */
	if (master_generation_start(&m, conf) != DP_OK) {
		m.exit_code = 1;
		goto out;
	}
	master_watch_rearm(&m);
	if (m.gens != NULL)
		event_base_dispatch(m.base);
	ok = m.exit_code == 0;
	if (ok)
		log_info("daneproxy stopped");
	else
		log_error("daneproxy stopped: it could not start");
 out:
	while ((g = m.gens) != NULL) {
		unsigned i;
		for (i = 0; i < g->n_w; i++)
			master_wproc_signal(&g->w[i], SIGKILL);
		master_generation_free(g);
	}
	master_admin_cancel(&m);
	master_admin_retire(&m);
	if (m.admin_listen >= 0)
		close(m.admin_listen);
	while (m.n_pool > 0)
		close(m.pool[--m.n_pool].fd);
	if (m.admin_restart != NULL)
		event_free(m.admin_restart);
	if (m.publish_tick != NULL)
		event_free(m.publish_tick);
	admin_shared_free(m.ash);
	if (m.sig_hup != NULL) event_free(m.sig_hup);
	if (m.sig_term != NULL) event_free(m.sig_term);
	if (m.sig_int != NULL) event_free(m.sig_int);
	if (m.sig_quit != NULL) event_free(m.sig_quit);
	if (m.sig_chld != NULL) event_free(m.sig_chld);
	watch_free(m.watch);
	notify_free(m.notify);
	metrics_region_free(m.mx);
	if (m.base != NULL)
		event_base_free(m.base);
	return ok ? 0 : 1;
}
