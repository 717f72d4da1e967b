/* adminproc.h — the admin endpoint's own process.
 *
 * The master binds the admin socket (a low port may need root) but parses
 * nothing that comes from the network: a child it forks for the purpose
 * drops privileges as the workers do, then serves /metrics, /healthz and
 * /readyz (admin.c) and runs the readiness DNS probe. What only the master
 * knows (its generation, workers, reload counters, whether it is starting
 * or stopping) it publishes in a shared page the child reads. A parser bug
 * there can thus never run as root. */
#ifndef DP_ADMINPROC_H
#define DP_ADMINPROC_H

#include "conf.h"
#include "metrics.h"

/* Written by the master only, read by the admin process: a sequence lock
 * (seq is odd while a write is in progress) keeps a read consistent. */
struct admin_shared {
	unsigned seq;
	struct mx_master mxm;		/* its .ready is the master's part only */
	char why[160];			/* why the master is not ready, or "" */
};

/* Maps a zeroed page shared with every child forked after it. Returns NULL
 * when the system refuses. */
struct admin_shared *admin_shared_new(void);

/* Unmaps; accepts NULL. */
void admin_shared_free(struct admin_shared *s);

/* Master: publishes mxm (with .ready: the master's own readiness) and, when
 * not ready, why. */
void admin_shared_publish(struct admin_shared *s, const struct mx_master *mxm,
    const char *why);

struct adminproc_params {
	const struct conf *conf;	/* [global] user, [dns] for the probe */
	int fd;				/* bound, listening admin socket; taken */
	struct mx_region *mx;		/* the counters /metrics renders */
	struct admin_shared *shared;
};

/* Runs the admin process in the calling, freshly forked process: drops
 * privileges to [global] user (refusing to go on as root when that fails),
 * serves until SIGTERM, then stops accepting and ends once the connections
 * in progress are answered (at most ADMIN_HEAD_TIMEOUT_MS). /readyz is 200
 * when the master says ready and, with [dns] probe_name set, the probe's
 * last lookup of that TLSA name got an answer (NXDOMAIN and NODATA count;
 * a timeout or SERVFAIL does not). Returns the process exit status. */
int adminproc_run(const struct adminproc_params *p);

#endif
