/* notify.c — see notify.h. */
#include "notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define NOTIFY_MSG_MAX 1024	/* our longest message is a few lines */

struct notify {
	int fd;
	struct sockaddr_un addr;
	socklen_t addr_len;
};

struct notify *
notify_open(void)
{
	const char *env = getenv("NOTIFY_SOCKET");
	struct notify *n = NULL;
	size_t len;

	if (env == NULL)
		return NULL;
	len = strlen(env);
	if ((env[0] != '/' && env[0] != '@') || len < 2 ||
	    len >= sizeof(n->addr.sun_path)) {
		log_debug("notify: NOTIFY_SOCKET '%s' is not a socket path or "
		    "abstract name: not notifying", env);
		goto out;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		log_debug("notify: out of memory: not notifying");
		goto out;
	}
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, env, len);
	if (env[0] == '@')
		n->addr.sun_path[0] = '\0';	/* abstract: no NUL at the end */
	n->addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + (env[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0) {
		log_debug("notify: socket: %s: not notifying", strerror(errno));
		free(n);
		n = NULL;
	}
 out:
	/* Not for the workers nor anything they might run. */
	unsetenv("NOTIFY_SOCKET");
	return n;
}

void
notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	close(n->fd);
	free(n);
}

/* Sends the lines of msg (len bytes) as one datagram. */
static void
notify_send(struct notify *n, const char *msg, int len)
{
	if (len < 0 || len >= NOTIFY_MSG_MAX) {
		log_debug("notify: message too long, not sent");
		return;
	}
	if (sendto(n->fd, msg, (size_t)len, MSG_NOSIGNAL,
	    (const struct sockaddr *)&n->addr, n->addr_len) < 0)
		log_debug("notify: cannot send to NOTIFY_SOCKET: %s",
		    strerror(errno));
}

void
notify_ready(struct notify *n, const char *status)
{
	char msg[NOTIFY_MSG_MAX];

	if (n == NULL)
		return;
	notify_send(n, msg, snprintf(msg, sizeof(msg),
	    "READY=1\nSTATUS=%s\nMAINPID=%ld\n", status, (long)getpid()));
}

void
notify_reloading(struct notify *n, const char *status)
{
	char msg[NOTIFY_MSG_MAX];
	struct timespec ts;

	if (n == NULL)
		return;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		log_debug("notify: clock_gettime: %s", strerror(errno));
		return;
	}
	notify_send(n, msg, snprintf(msg, sizeof(msg),
	    "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s\n",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL, status));
}

void
notify_stopping(struct notify *n, const char *status)
{
	char msg[NOTIFY_MSG_MAX];

	if (n == NULL)
		return;
	notify_send(n, msg, snprintf(msg, sizeof(msg),
	    "STOPPING=1\nSTATUS=%s\n", status));
}
