/* worker.h — one worker process: an event loop serving every listener of a
 * configuration on sockets the master bound, until told to drain.
 *
 * The same build step checks a configuration without serving it (daneproxy
 * -t, and the master before it starts or reloads workers): it opens every
 * certificate, key and trust anchor and builds every TLS context, binding
 * nothing. */
#ifndef DP_WORKER_H
#define DP_WORKER_H

#include <stdio.h>

#include "conf.h"

struct mx_region;

/* Builds everything c describes on a scratch event loop, binds nothing, and
 * frees it again. Problems are written to errs as "FILE:LINE: key: reason".
 * Also checks that [global] user exists. Returns the number of problems. */
int worker_check(const struct conf *c, FILE *errs);

struct worker_params {
	const struct conf *conf;
	const int *listen_fds;	/* listening sockets, one per [server] then per
				 * [client] section, in file order; taken over */
	struct mx_region *mx;	/* shared counters (NULL: none) */
	int slot;		/* this worker's slot in mx */
	int ready_fd;		/* written one byte once serving, then closed */
	unsigned generation;	/* of the configuration, for log lines */
	unsigned index;		/* 0.. within the generation, for log lines */
};

/* Runs a worker in the calling (freshly forked) process: builds, drops
 * privileges to [global] user, starts accepting, reports ready, serves.
 * SIGTERM: stop accepting, let open connections finish for at most
 * drain_timeout_ms, then close them; SIGQUIT: exit at once. Returns the
 * process exit status: 0 after a drain, WORKER_EXIT_CONFIG when it could not
 * start (reported on stderr; restarting it would not help). */
#define WORKER_EXIT_CONFIG 78
int worker_run(const struct worker_params *p);

/* Becomes [global] user (its uid, gid and supplementary groups), as a
 * worker does; the admin process too. Refuses, logging why, when that fails
 * or root could be regained. DP_OK when no user is set. */
int worker_drop_privileges(const struct conf *c);

#endif
