/* listen.c — see listen.h. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "err.h"
#include "log.h"

#define LISTEN_BACKLOG 1024
#define ACCEPT_PAUSE_MS 100

struct dp_listener {
	struct evconnlistener *evl;
	struct event *resume;
	const char *name;
	dp_accept_cb cb;
	void *arg;
};

int
dp_listen_socket(const struct dp_addr *addr, const char *role,
    const char *name, evutil_socket_t *out, struct dp_addr *bound)
{
	const struct sockaddr *sa = (const struct sockaddr *)&addr->ss;
	struct dp_addr got;
	char buf[DP_ADDR_STRLEN];
	const struct log_kv kv[] = {
		{ "role", role }, { "listener", name }, { "addr", buf },
	};
	evutil_socket_t fd;
	int one = 1, e;

	*out = -1;
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return DP_ERR_IO;
	memset(&got, 0, sizeof(got));
	got.len = sizeof(got.ss);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, sa, addr->len) != 0 || listen(fd, LISTEN_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&got.ss, &got.len) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return DP_ERR_IO;
	}
	dp_addr_str((const struct sockaddr *)&got.ss, buf, sizeof(buf));
	log_event(DP_LOG_INFO, "listening", kv, 3);
	if (bound != NULL)
		*bound = got;
	*out = fd;
	return DP_OK;
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct dp_listener *l = arg;

	dp_tcp_nodelay(fd);
	l->cb(l->arg, fd, sa, salen);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dp_listener *l = arg;

	evconnlistener_enable(l->evl);
}

static void
error_cb(struct evconnlistener *evl, void *arg)
{
	struct dp_listener *l = arg;
	struct timeval tv = { 0, ACCEPT_PAUSE_MS * 1000 };

	/* Out of descriptors or buffers: retrying at once would spin. */
	log_warn("%s: accept: %s; pausing %d ms", l->name,
	    strerror(EVUTIL_SOCKET_ERROR()), ACCEPT_PAUSE_MS);
	evconnlistener_disable(evl);
	event_add(l->resume, &tv);
}

int
dp_listener_start_fd(struct event_base *base, evutil_socket_t fd,
    const char *name, dp_accept_cb cb, void *arg, struct dp_listener **out)
{
	struct dp_listener *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->resume = evtimer_new(base, resume_cb, l)) == NULL) {
		free(l);
		close(fd);
		return DP_ERR_NOMEM;
	}
	l->name = name;
	l->cb = cb;
	l->arg = arg;
	/* Backlog 0: the socket listens already. */
	l->evl = evconnlistener_new(base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->evl == NULL) {
		close(fd);
		event_free(l->resume);
		free(l);
		return DP_ERR_NOMEM;
	}
	evconnlistener_set_error_cb(l->evl, error_cb);
	*out = l;
	return DP_OK;
}

int
dp_listener_start(struct event_base *base, const struct dp_addr *addr,
    evutil_socket_t fd, const char *name, dp_accept_cb cb, void *arg,
    struct dp_listener **out)
{
	*out = NULL;
	if (fd < 0 && dp_listen_socket(addr, NULL, name, &fd, NULL) != DP_OK)
		return DP_ERR_IO;
	return dp_listener_start_fd(base, fd, name, cb, arg, out);
}

void
dp_listener_free(struct dp_listener *l)
{
	if (l == NULL)
		return;
	evconnlistener_free(l->evl);
	event_free(l->resume);
	free(l);
}
