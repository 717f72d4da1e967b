/* notify.h — the systemd notification protocol (sd_notify(3)) without
 * libsystemd: datagrams of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name when it starts with '@').
 *
 * The unit file says Type=notify and NotifyAccess=main: only the master
 * speaks, so notify_open() removes NOTIFY_SOCKET from the environment and
 * the master's children close the socket (master.c, forget_master).
 *
 * Sending never blocks the master's event loop: the socket is non-blocking
 * and a datagram the receiver cannot take now is dropped. Errors are logged
 * at debug level and otherwise ignored, since systemd's view of the service
 * must never stop it serving. Every function accepts NULL (no socket: not
 * started by systemd) and then does nothing. */
#ifndef DP_NOTIFY_H
#define DP_NOTIFY_H

struct notify;

/* Reads and unsets $NOTIFY_SOCKET. Returns a new notifier (notify_free), or
 * NULL when the variable is unset, malformed or the socket cannot be made
 * (logged at debug level). */
struct notify *notify_open(void);

/* Closes the socket and frees n; accepts NULL. */
void notify_free(struct notify *n);

/* The service serves: "READY=1", "STATUS=status", and "MAINPID=" the
 * caller's pid (the master is the main process even when started by a
 * wrapper). status must not hold a newline. */
void notify_ready(struct notify *n, const char *status);

/* A reload starts: "RELOADING=1", "MONOTONIC_USEC=" CLOCK_MONOTONIC now in
 * microseconds (systemd 253 and later require it with RELOADING=1), and
 * "STATUS=status". notify_ready() ends it, whatever its outcome. */
void notify_reloading(struct notify *n, const char *status);

/* The service stops: "STOPPING=1" and "STATUS=status". */
void notify_stopping(struct notify *n, const char *status);

#endif
