/* master.h — the master process: binds the listening sockets, starts and
 * supervises the workers, reloads on SIGHUP (and, with reload_on_change,
 * when a file of the configuration changes: watch.h), tells systemd
 * (notify.h), drains on SIGTERM/SIGINT, and
 * binds the admin endpoint's socket for the admin process it supervises
 * too (adminproc.h), which serves it: the master itself reads nothing from
 * the network.
 *
 * Processes rather than threads: OpenSSL 3.0 loses much of its
 * speed to lock contention between threads. Every worker shares the master's
 * listening sockets (inherited descriptors, not SO_REUSEPORT), so a worker
 * that stops accepting leaves queued connections to the others: a reload
 * loses none.
 *
 * A reload is transactional: the new configuration is read and checked (every
 * certificate and key opened), new sockets are bound and the new generation
 * of workers is started; only when every new worker reports that it serves
 * are the old ones told to drain. Any failure on the way leaves the running
 * generation untouched and is logged. */
#ifndef DP_MASTER_H
#define DP_MASTER_H

#include "conf.h"

/* Runs until stopped by a signal. conf (checked by worker_check) is taken
 * over. Returns the process exit status: 0 after a clean stop, 1 when the
 * first generation could not start. */
int master_run(struct conf *conf);

#endif
