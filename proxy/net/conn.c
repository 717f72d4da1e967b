/* conn.c — see conn.h. */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#define LINGER_MAX_BYTES (64 * 1024)
#define LINGER_MAX_MS 2000
#define LINGER_MAX_SOCKETS 1024	/* beyond: plain close() */
#define REFUSALS_LOG_MS 1000

struct lingerer {
	struct event *ev;
	evutil_socket_t fd;
	size_t drained;
};

/* Sockets lingering now: they are outside max_connections, so a flood of
 * failing handshakes must not turn them into a descriptor leak. */
static unsigned n_lingering;

static void
linger_end(struct lingerer *lg)
{
	n_lingering--;
	event_free(lg->ev);
	close(lg->fd);
	free(lg);
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lingerer *lg = arg;
	char buf[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		linger_end(lg);
		return;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		lg->drained += (size_t)n;
		if (lg->drained >= LINGER_MAX_BYTES) {
			linger_end(lg);
			return;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		linger_end(lg);
}

void
conn_linger_close(struct event_base *base, evutil_socket_t fd)
{
	struct lingerer *lg;
	struct timeval tv = dp_ms_tv(LINGER_MAX_MS);

	if (fd < 0)
		return;
	if (n_lingering >= LINGER_MAX_SOCKETS) {
		close(fd);
		return;
	}
	(void)shutdown(fd, SHUT_WR);
	if ((lg = calloc(1, sizeof(*lg))) == NULL ||
	    (lg->ev = event_new(base, fd, EV_READ | EV_PERSIST, linger_cb, lg)) == NULL) {
		free(lg);
		close(fd);
		return;
	}
	lg->fd = fd;
	n_lingering++;
	event_add(lg->ev, &tv);
}

/* Counts one refusal in r. Returns 1 when a line is due (none in the last
 * second), with *n the refusals it reports and *elapsed_ms the time they
 * cover (0: the first line), and starts counting anew. */
static int
refusal_due(struct conn_refusals *r, uint64_t *n, uint64_t *elapsed_ms)
{
	uint64_t now = dp_now_ms();

	r->n++;
	if (r->since_ms != 0 && now - r->since_ms < REFUSALS_LOG_MS)
		return 0;
	*n = r->n;
	*elapsed_ms = r->since_ms == 0 ? 0 : now - r->since_ms;
	r->n = 0;
	r->since_ms = now;
	return 1;
}

void
conn_refused(struct conn_refusals *r, const char *listener, const char *what,
    unsigned limit)
{
	uint64_t n, ms;

	if (!refusal_due(r, &n, &ms))
		return;
	if (ms == 0)
		log_warn("listener %s: %u %s: refused %llu connection%s", listener,
		    limit, what, (unsigned long long)n, n == 1 ? "" : "s");
	else
		log_warn("listener %s: %u %s: refused %llu connection%s in the "
		    "last %llu ms", listener, limit, what, (unsigned long long)n,
		    n == 1 ? "" : "s", (unsigned long long)ms);
}

int
conn_source_allowed(const struct conf_cidrs *allow, const struct sockaddr *sa,
    struct mx_listener *mx, struct conn_refusals *r, const char *listener)
{
	char peer[DP_ADDR_STRLEN];
	uint64_t n, ms;

	if (allow->n == 0 || dp_cidr_match(allow->v, allow->n, sa))
		return 1;
	mx_conn_denied(mx);
	if (!refusal_due(r, &n, &ms))
		return 0;
	dp_addr_str(sa, peer, sizeof(peer));
	if (ms == 0)
		log_warn("listener %s: %s is not in allow_from: connection refused",
		    listener, peer);
	else
		log_warn("listener %s: sources not in allow_from: refused %llu "
		    "connection%s in the last %llu ms, the latest from %s", listener,
		    (unsigned long long)n, n == 1 ? "" : "s", (unsigned long long)ms,
		    peer);
	return 0;
}

void
conn_log(const struct conn_report *r)
{
	char in[24], out[24], ms[24];
	int ok = strcmp(r->outcome, "ok") == 0;

	snprintf(in, sizeof(in), "%llu", (unsigned long long)r->bytes_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)r->bytes_out);
	snprintf(ms, sizeof(ms), "%llu",
	    (unsigned long long)(dp_now_ms() - r->start_ms));
	struct log_kv kv[] = {
		{ "id", r->id },
		{ "role", r->role },
		{ "listener", r->listener },
		{ "peer", r->peer },
		{ "client_name", r->client_name },
		{ "tlsa", r->tlsa },
		{ "tlsa_wildcard", r->tlsa_wildcard },
		{ "outcome", r->outcome },
		{ "reason", r->reason },
		{ "tls", r->tls_version },
		{ "bytes_in", in },
		{ "bytes_out", out },
		{ "ms", ms },
	};
	log_event(ok ? DP_LOG_INFO : DP_LOG_WARN, "conn", kv,
	    (int)(sizeof(kv) / sizeof(kv[0])));
}
