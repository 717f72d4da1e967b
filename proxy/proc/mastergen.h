/* mastergen.h — inside the master (master.c and master_reload.c): its
 * state, the generations of workers it runs, and what the two parts call
 * of each other. Not for use outside proxy/proc. */
#ifndef DP_MASTERGEN_H
#define DP_MASTERGEN_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/util.h>

#include "conf.h"
#include "metrics.h"

#define KILL_GRACE_MS 5000	/* after drain_timeout_ms, SIGKILL what is left */
#define POOL_MAX (2 * CONF_MAX_LISTENERS)

enum gen_state { GEN_STARTING, GEN_ACTIVE, GEN_RETIRING };

struct master;
struct generation;

/* One worker process of a generation. */
struct wproc {
	struct generation *g;
	unsigned index;
	pid_t pid;			/* 0: not running */
	int slot;			/* in the metrics region, -1: none */
	int ready;			/* reported that it serves */
	evutil_socket_t pipe;		/* read end of its ready pipe, -1 */
	struct event *ready_ev;
	struct event *restart_ev;	/* a delayed restart */
	uint64_t started_ms;
	unsigned quick_deaths;		/* in a row, each within 1 s of its start */
};

/* The workers running one configuration. */
struct generation {
	struct master *m;
	unsigned id;
	struct conf *conf;
	evutil_socket_t fds[CONF_MAX_LISTENERS];	/* servers then clients; the pool's */
	size_t n_fds;
	struct wproc *w;
	unsigned n_w;
	unsigned n_ready;
	enum gen_state state;
	struct event *timer;		/* start timeout, then the SIGKILL backstop */
	struct generation *next;	/* m->gens */
};

/* A listening socket the master holds for its workers. */
struct lsock {
	struct dp_addr addr;		/* as bound: never port 0 */
	evutil_socket_t fd;
};

struct master {
	struct event_base *base;
	struct mx_region *mx;
	struct mx_master mxm;
	struct lsock pool[POOL_MAX];
	size_t n_pool;
	struct generation *gens;	/* every generation with live workers */
	struct generation *active, *pending;
	unsigned next_gen;
	struct event *sig_hup, *sig_term, *sig_int, *sig_quit, *sig_chld;
	int stopping;			/* 1: draining, 2: exiting now */
	int reload_again;
	int exit_code;
	/* The admin endpoint: the master binds its socket; an unprivileged
	 * child, the admin process, serves it (adminproc.h). */
	evutil_socket_t admin_listen;	/* the socket served now, or -1 */
	struct dp_addr admin_addr;
	int admin_change;		/* the pending generation moves or ends it */
	evutil_socket_t admin_fd;	/* its new socket, bound, or -1 */
	struct dp_addr admin_new;
	pid_t admin_pid;		/* the admin process, 0: none */
	uint64_t admin_started_ms;
	struct event *admin_restart;	/* starts it (again) */
	struct admin_shared *ash;	/* what the master tells it */
	struct event *publish_tick;	/* republishes the counters every second */
	struct notify *notify;		/* systemd's $NOTIFY_SOCKET, NULL: none */
	int reloading;			/* RELOADING=1 sent, its READY=1 not yet */
	struct watch *watch;		/* reload_on_change, NULL: off */
};

/* master.c: the sockets, readiness, the workers, the admin process. */
int master_pool_get(struct master *m, const char *role, const char *name,
    const struct dp_addr *a, evutil_socket_t *fd);
void master_pool_prune(struct master *m);
void master_publish(struct master *m);
void master_wproc_signal(struct wproc *w, int sig);
unsigned master_gen_running(const struct generation *g);
void master_close_pipe(struct wproc *w);
void master_restart_cb(evutil_socket_t fd, short what, void *arg);
int master_worker_spawn(struct wproc *w);
void master_admin_spawn(struct master *m, const struct conf *c);
void master_admin_retire(struct master *m);

/* master_reload.c: a generation started, committed, aborted, freed; the
 * admin endpoint prepared for a configuration, committed or cancelled;
 * SIGHUP and reload_on_change (the files of the configuration in force
 * watched again after every reload); systemd told of each. */
int master_generation_start(struct master *m, struct conf *c);
void master_generation_commit(struct generation *g);
void master_generation_abort(struct generation *g, const char *why);
void master_generation_free(struct generation *g);
int master_admin_prepare(struct master *m, const struct conf *c);
void master_admin_commit(struct master *m, const struct conf *c);
void master_admin_cancel(struct master *m);
void master_reload(struct master *m);
void master_watch_rearm(struct master *m);

#endif
