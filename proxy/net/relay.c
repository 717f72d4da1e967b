/* relay.c — see relay.h. */
#include "relay.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "err.h"
#include "log.h"
#include "util.h"

/* What an end's next read or write waits for (after EAGAIN or OpenSSL's
 * WANT_*); cleared by the edge that ends the wait. */
enum {
	R_ON_READABLE = 1,	/* read: the socket has bytes */
	R_ON_WRITABLE = 2,	/* read: OpenSSL must write first (e.g. KeyUpdate) */
	W_ON_WRITABLE = 4,	/* write: the socket takes bytes */
	W_ON_READABLE = 8,	/* write: OpenSSL must read first */
};

enum shut { SHUT_NO, SHUT_PENDING, SHUT_DONE };

struct end {
	struct relay *r;
	evutil_socket_t fd;
	SSL *ssl;
	const char *name;
	struct event *ev;	/* EV_READ|EV_WRITE, persistent, edge-triggered */
	unsigned wait;		/* R_ON_* | W_ON_* */
	int eof;		/* read its end of stream */
	enum shut shut;		/* our end of stream towards it */
};

/* Bytes read from one end, waiting to be written to the other. */
struct dir {
	unsigned char *buf;	/* RELAY_BUF bytes while it holds any, else NULL */
	size_t off, len;	/* unwritten: buf[off..len) */
};

struct relay {
	struct end e[2];
	struct dir d[2];	/* d[i]: from e[i] to e[1 - i] */
	struct relay_stats st;
	struct event *idle;
	unsigned idle_ms;
	uint64_t last_active;
	relay_done_cb done;
	void *arg;
	char *reason;		/* why it failed, formatted then */
};

#define IO_AGAIN (-1)	/* wait: the end's wait bits say for what */
#define IO_ERROR (-2)	/* r->reason says why */

/* Ends the relay: no more events, then the callback (which may free r). */
static void
finish(struct relay *r, const char *reason)
{
	relay_done_cb done = r->done;

	event_del(r->e[0].ev);
	event_del(r->e[1].ev);
	if (r->idle != NULL)
		event_del(r->idle);
	r->done = NULL;
	if (done != NULL)
		done(r->arg, &r->st, reason);
}

/* Formats why the relay fails (kept until relay_free; an idle connection
 * carries no buffer for it). Returns IO_ERROR. */
static int
failed(struct relay *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
failed(struct relay *r, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(r->reason);
	r->reason = strdup(buf);
	return IO_ERROR;
}

/* errno after a failed recv/send (or OpenSSL's SSL_ERROR_SYSCALL). */
static int
sys_failed(struct end *e, int err)
{
	if (err == ECONNRESET || err == EPIPE || err == 0)
		return failed(e->r, "%s reset", e->name);
	return failed(e->r, "%s error: %s", e->name, strerror(err));
}

/* OpenSSL's answer to an I/O call on e: IO_AGAIN with e->wait set, 0 for
 * the peer's end of stream (reads), or IO_ERROR. */
static int
tls_failed(struct end *e, int ret, unsigned on_readable, unsigned on_writable)
{
	char buf[120];
	int err = SSL_get_error(e->ssl, ret);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		e->wait |= on_readable;
		return IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		e->wait |= on_writable;
		return IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0)
			return sys_failed(e, errno);
		/* FALLTHROUGH */
	default:
		ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
		ERR_clear_error();
		return failed(e->r, "%s TLS error: %s", e->name, buf);
	}
}

/* Reads up to n bytes: the count, 0 at end of stream, IO_AGAIN, IO_ERROR. */
static ssize_t
end_read(struct end *e, unsigned char *buf, size_t n)
{
	ssize_t got;
	int ret;

	if (e->ssl != NULL) {
		ERR_clear_error();
		if ((ret = SSL_read(e->ssl, buf, (int)n)) > 0)
			return ret;
		return tls_failed(e, ret, R_ON_READABLE, R_ON_WRITABLE);
	}
	/* EINTR is no edge: waiting for one could stall until idle timeout. */
	while ((got = recv(e->fd, buf, n, 0)) < 0 && errno == EINTR)
		;
	if (got >= 0)
		return got;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		e->wait |= R_ON_READABLE;
		return IO_AGAIN;
	}
	return sys_failed(e, errno);
}

/* Writes buf[0..n): the count written (TLS: all of it, one record), or
 * IO_AGAIN, IO_ERROR. After IO_AGAIN a TLS write is retried with the same
 * bytes. */
static ssize_t
end_write(struct end *e, const unsigned char *buf, size_t n)
{
	ssize_t put;
	int ret;

	if (e->ssl != NULL) {
		ERR_clear_error();
		if ((ret = SSL_write(e->ssl, buf, (int)n)) > 0)
			return ret;
		ret = tls_failed(e, ret, W_ON_READABLE, W_ON_WRITABLE);
		return ret == 0 ? sys_failed(e, EPIPE) : ret;
	}
	while ((put = send(e->fd, buf, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;	/* as in end_read: no edge would follow */
	if (put >= 0)
		return put;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		e->wait |= W_ON_WRITABLE;
		return IO_AGAIN;
	}
	return sys_failed(e, errno);
}

/* Our end of stream towards e: close_notify for TLS, then FIN. A
 * close_notify the socket cannot take now is retried on the next writable
 * edge. */
static void
shut_write(struct end *e)
{
	int ret;

	if (e->ssl != NULL) {
		ERR_clear_error();
		ret = SSL_shutdown(e->ssl);
		if (ret < 0 && SSL_get_error(e->ssl, ret) == SSL_ERROR_WANT_WRITE) {
			e->wait |= W_ON_WRITABLE;
			e->shut = SHUT_PENDING;
			return;
		}
		ERR_clear_error();	/* a peer gone already: FIN regardless */
		/* SSL_MODE_RELEASE_BUFFERS does not cover the alert's write
		 * buffer: a half-closed connection would keep 16 KiB. */
		(void)SSL_free_buffers(e->ssl);
	}
	(void)shutdown(e->fd, SHUT_WR);
	e->shut = SHUT_DONE;
}

static int
can_read(const struct end *e)
{
	return !e->eof && !(e->wait & (R_ON_READABLE | R_ON_WRITABLE));
}

static int
can_write(const struct end *e)
{
	return !(e->wait & (W_ON_WRITABLE | W_ON_READABLE));
}

/* Moves bytes from e[i] to e[1 - i] until one of them has to wait. Returns
 * 0, or -1 when the relay finished (r may be gone). */
static int
pump(struct relay *r, int i)
{
	struct end *src = &r->e[i], *dst = &r->e[1 - i];
	struct dir *d = &r->d[i];
	ssize_t n;
	int moved;

	do {
		moved = 0;
		if (d->len == 0 && can_read(src)) {
			if (d->buf == NULL && (d->buf = malloc(RELAY_BUF)) == NULL) {
				finish(r, "out of memory");
				return -1;
			}
			if ((n = end_read(src, d->buf, RELAY_BUF)) == IO_ERROR) {
				finish(r, r->reason != NULL ? r->reason : "out of memory");
				return -1;
			}
			if (n == 0) {
				src->eof = 1;
			} else if (n > 0) {
				d->off = 0;
				d->len = (size_t)n;
				*(i == 0 ? &r->st.a_to_b : &r->st.b_to_a) += (uint64_t)n;
				r->last_active = dp_now_ms();
				moved = 1;
			}
		}
		if (d->len > 0 && can_write(dst)) {
			if ((n = end_write(dst, d->buf + d->off, d->len - d->off)) ==
			    IO_ERROR) {
				finish(r, r->reason != NULL ? r->reason : "out of memory");
				return -1;
			}
			if (n > 0) {
				d->off += (size_t)n;
				if (d->off == d->len)
					d->off = d->len = 0;
				moved = 1;
			}
		}
	} while (moved);
	if (d->len == 0 && d->buf != NULL) {
		/* Nothing to hold: an idle connection keeps no buffer. */
		free(d->buf);
		d->buf = NULL;
	}
	if (src->eof && d->len == 0 && dst->shut != SHUT_DONE && can_write(dst))
		shut_write(dst);
	return 0;
}

static void
end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct end *e = arg;
	struct relay *r = e->r;

	if (what & EV_READ)
		e->wait &= ~(unsigned)(R_ON_READABLE | W_ON_READABLE);
	if (what & EV_WRITE)
		e->wait &= ~(unsigned)(R_ON_WRITABLE | W_ON_WRITABLE);
	if (pump(r, 0) != 0 || pump(r, 1) != 0)
		return;
	if (r->e[0].eof && r->e[1].eof && r->e[0].shut == SHUT_DONE &&
	    r->e[1].shut == SHUT_DONE)
		finish(r, "closed");
}

static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	if (relay_idle_expired(r->idle, r->last_active, r->idle_ms))
		finish(r, "idle timeout");
}

int
relay_idle_expired(struct event *ev, uint64_t last_active, unsigned idle_ms)
{
	uint64_t quiet = dp_now_ms() - last_active;
	struct timeval tv;

	if (quiet >= idle_ms)
		return 1;
	/* Re-arm for the remainder instead of resetting a timer per read. */
	tv = dp_ms_tv(idle_ms - quiet);
	event_add(ev, &tv);
	return 0;
}

int
relay_start(struct event_base *base, const struct relay_end *a,
    const struct relay_end *b, unsigned idle_timeout_ms, relay_done_cb done,
    void *arg, struct relay **out)
{
	const struct relay_end *in[2] = { a, b };
	struct relay *r;
	struct timeval tv;
	int i;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return DP_ERR_NOMEM;
	r->done = done;
	r->arg = arg;
	r->idle_ms = idle_timeout_ms;
	r->last_active = dp_now_ms();
	for (i = 0; i < 2; i++) {
		struct end *e = &r->e[i];

		e->r = r;
		e->fd = in[i]->fd;
		e->ssl = in[i]->ssl;
		e->name = in[i]->name;
		if ((e->ev = event_new(base, e->fd, EV_READ | EV_WRITE |
		    EV_PERSIST | EV_ET, end_cb, e)) == NULL)
			goto fail;
		if (e->ssl != NULL) {
			/* Whole records per read; no buffers while idle; a peer's
			 * FIN without close_notify ends its stream, as for TCP. */
			SSL_set_read_ahead(e->ssl, 1);
			SSL_set_mode(e->ssl, SSL_MODE_RELEASE_BUFFERS);
			SSL_set_options(e->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
		}
	}
	if (idle_timeout_ms > 0 &&
	    (r->idle = evtimer_new(base, idle_cb, r)) == NULL)
		goto fail;
	/* Registering reports each socket writable at once (and readable if
	 * it is): the first pumps run from the loop, bytes an SSL object
	 * holds already included. */
	if (event_add(r->e[0].ev, NULL) != 0 || event_add(r->e[1].ev, NULL) != 0)
		goto fail;
	if (r->idle != NULL) {
		tv = dp_ms_tv(idle_timeout_ms);
		event_add(r->idle, &tv);
	}
	*out = r;
	return DP_OK;
 fail:
	relay_free(r);
	return DP_ERR_NOMEM;
}

void
relay_free(struct relay *r)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < 2; i++) {
		if (r->e[i].ev != NULL)
			event_free(r->e[i].ev);
		free(r->d[i].buf);
	}
	free(r->reason);
	if (r->idle != NULL)
		event_free(r->idle);
	free(r);
}

const struct relay_stats *
relay_stats(const struct relay *r)
{
	return &r->st;
}
