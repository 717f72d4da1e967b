/* listen.c — see listen.h. */
#include "listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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
dp_listener_start(struct event_base *base, const struct dp_addr *addr,
    const char *name, dp_accept_cb cb, void *arg, struct dp_listener **out)
{
	struct dp_listener *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return DP_ERR_NOMEM;
	l->name = name;
	l->cb = cb;
	l->arg = arg;
	if ((l->resume = evtimer_new(base, resume_cb, l)) == NULL) {
		free(l);
		return DP_ERR_NOMEM;
	}
	l->evl = evconnlistener_new_bind(base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    LISTEN_BACKLOG, (const struct sockaddr *)&addr->ss, (int)addr->len);
	if (l->evl == NULL) {
		int e = errno;
		event_free(l->resume);
		free(l);
		errno = e;
		return DP_ERR_IO;
	}
	evconnlistener_set_error_cb(l->evl, error_cb);
	*out = l;
	return DP_OK;
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
