/* httprelay_tunnel.c — see bevrelay.h: the HTTP relay's tunnel after an
 * Upgrade, between the two bufferevents the relay already had. Modelled on
 * libevent's le-proxy back-pressure. */
#include "bevrelay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "err.h"
#include "log.h"
#include "util.h"

/* One direction's source side. */
struct side {
	struct bufferevent *bev;
	const char *name;
	int eof;		/* read EOF from this side */
	int shut;		/* we have sent FIN/close_notify to this side */
};

struct bev_relay {
	struct event_base *base;
	struct side s[2];
	struct relay_stats st;
	struct event *idle;
	unsigned idle_ms;
	uint64_t last_active;
	relay_done_cb done;
	void *arg;
	char reason[160];
	struct bev_ws_first first;	/* check of the client's first message */
	int first_pending;		/* not decided yet: hold what a sends */
	int refused;			/* close frame queued for a: end when written */
};

/* The message being checked: the loop is single-threaded and the check
 * runs to its end inside first_check, so no relay needs its own 4 KiB. */
static struct ws_message br_msg;

static void relay_read_cb(struct bufferevent *bev, void *arg);

/* One debug line with both sides' queues: what a stalled relay needs. */
static void
relay_trace(const struct bev_relay *r, const char *what, int i)
{
	if (!log_enabled(DP_LOG_DEBUG))
		return;
	log_debug("relay %p %s %s: in %zu/%zu out %zu/%zu eof %d/%d shut %d/%d "
	    "read %d/%d", (const void *)r, what, r->s[i].name,
	    evbuffer_get_length(bufferevent_get_input(r->s[0].bev)),
	    evbuffer_get_length(bufferevent_get_input(r->s[1].bev)),
	    evbuffer_get_length(bufferevent_get_output(r->s[0].bev)),
	    evbuffer_get_length(bufferevent_get_output(r->s[1].bev)),
	    r->s[0].eof, r->s[1].eof, r->s[0].shut, r->s[1].shut,
	    (bufferevent_get_enabled(r->s[0].bev) & EV_READ) != 0,
	    (bufferevent_get_enabled(r->s[1].bev) & EV_READ) != 0);
}
static void relay_write_cb(struct bufferevent *bev, void *arg);
static void relay_event_cb(struct bufferevent *bev, short what, void *arg);

static int
side_of(const struct bev_relay *r, const struct bufferevent *bev)
{
	return r->s[0].bev == bev ? 0 : 1;
}

static void
finish(struct bev_relay *r, const char *reason)
{
	relay_done_cb done = r->done;
	void *arg = r->arg;

	bufferevent_disable(r->s[0].bev, EV_READ | EV_WRITE);
	bufferevent_disable(r->s[1].bev, EV_READ | EV_WRITE);
	bufferevent_setcb(r->s[0].bev, NULL, NULL, NULL, NULL);
	bufferevent_setcb(r->s[1].bev, NULL, NULL, NULL, NULL);
	if (r->idle != NULL)
		event_del(r->idle);
	r->done = NULL;
	if (done != NULL)
		done(arg, &r->st, reason);
}

/* Sends the end of stream to side i: close_notify for TLS, FIN for TCP. */
static void
shut_write(struct bev_relay *r, int i)
{
	struct side *sd = &r->s[i];
	SSL *ssl = bufferevent_openssl_get_ssl(sd->bev);

	if (sd->shut)
		return;
	sd->shut = 1;
	relay_trace(r, "shut", i);
	if (ssl != NULL)
		(void)SSL_shutdown(ssl);
	(void)shutdown(bufferevent_getfd(sd->bev), SHUT_WR);
}

/* Both directions done and flushed: the relay is over. */
static void
maybe_finish(struct bev_relay *r)
{
	if (r->s[0].eof && r->s[1].eof && r->s[0].shut && r->s[1].shut)
		finish(r, "closed");
}

void
bev_rearm_write(struct bufferevent *bev)
{
	if (bufferevent_openssl_get_ssl(bev) != NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		bufferevent_enable(bev, EV_WRITE);
}

/* The first message is refused: a gets a close frame 1008, b nothing of
 * what a sent; relay_write_cb ends the relay once the frame is written. */
static void
first_refuse(struct bev_relay *r, const char *reason)
{
	struct bufferevent *a = r->s[0].bev;
	unsigned char cf[WSFRAME_CLOSE_MAX];
	size_t n = wsframe_close(WS_CLOSE_POLICY, "policy violation", cf);

	r->refused = 1;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	bufferevent_disable(a, EV_READ);
	bufferevent_disable(r->s[1].bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(a),
	    evbuffer_get_length(bufferevent_get_input(a)));
	bufferevent_setwatermark(a, EV_WRITE, 0, 0);
	evbuffer_add(bufferevent_get_output(a), cf, n);
	bufferevent_enable(a, EV_WRITE);
	relay_trace(r, "first message refused", 0);
}

/* Looks for the client's first message in what it sent so far (nothing of
 * which has been passed on). Returns 1 when it passed the check (relay
 * on), 0 while waiting for more or after a refusal. */
static int
first_check(struct bev_relay *r)
{
	struct evbuffer *in = bufferevent_get_input(r->s[0].bev);
	size_t n = evbuffer_get_length(in);
	const unsigned char *p;
	const char *reason;
	int rc;

	if (r->refused || n == 0)
		return 0;
	r->last_active = dp_now_ms();
	if (n > WSFRAME_STREAM_MAX)
		n = WSFRAME_STREAM_MAX;
	if ((p = evbuffer_pullup(in, (ev_ssize_t)n)) == NULL) {
		first_refuse(r, "out of memory");
		return 0;
	}
	rc = wsframe_first_message(p, n, &br_msg);
	if (rc == DP_ERR_AGAIN)
		return 0;
	reason = r->first.check(r->first.arg, rc == DP_OK ? &br_msg : NULL,
	    br_msg.why != NULL ? br_msg.why : "unreadable");
	if (reason != NULL) {
		first_refuse(r, reason);
		return 0;
	}
	r->first_pending = 0;
	return 1;
}

/* Moves what side i has read into the other side's output. */
static void
pump(struct bev_relay *r, int i)
{
	struct side *src = &r->s[i], *dst = &r->s[1 - i];
	struct evbuffer *in = bufferevent_get_input(src->bev);
	struct evbuffer *out = bufferevent_get_output(dst->bev);
	size_t n;

	if (r->refused || (i == 0 && r->first_pending && !first_check(r)))
		return;
	if ((n = evbuffer_get_length(in)) == 0)
		return;
	r->last_active = dp_now_ms();
	if (i == 0)
		r->st.a_to_b += n;
	else
		r->st.b_to_a += n;
	evbuffer_add_buffer(out, in);
	if (dst->eof)
		bev_rearm_write(dst->bev);
	if (evbuffer_get_length(out) >= BEV_RELAY_HIGH_WATER) {
		/* Back-pressure: stop reading until dst drains below half. */
		bufferevent_disable(src->bev, EV_READ);
		bufferevent_setwatermark(dst->bev, EV_WRITE, BEV_RELAY_HIGH_WATER / 2,
		    BEV_RELAY_HIGH_WATER);
		relay_trace(r, "pause reading", i);
	}
}

static void
relay_read_cb(struct bufferevent *bev, void *arg)
{
	struct bev_relay *r = arg;

	pump(r, side_of(r, bev));
}

static void
relay_write_cb(struct bufferevent *bev, void *arg)
{
	struct bev_relay *r = arg;
	int i = side_of(r, bev);
	struct side *src = &r->s[1 - i];
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (r->refused) {
		if (i == 0 && left == 0) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);

			if (ssl != NULL)
				(void)SSL_shutdown(ssl);
			finish(r, r->reason);
		}
		return;
	}
	if (left < BEV_RELAY_HIGH_WATER / 2 && !src->eof) {
		if (!(bufferevent_get_enabled(src->bev) & EV_READ))
			relay_trace(r, "resume reading", 1 - i);
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(src->bev, EV_READ);
	}
	if (left == 0 && src->eof) {
		shut_write(r, i);
		maybe_finish(r);
	}
}

static void
relay_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bev_relay *r = arg;
	int i = side_of(r, bev);
	struct side *sd = &r->s[i];

	if (r->refused) {
		/* Only the close frame to the client is still under way. */
		if (i == 0)
			finish(r, r->reason);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		pump(r, i);
		if (r->refused)
			return;
		sd->eof = 1;
		relay_trace(r, "eof from", i);
		bev_rearm_write(bev);	/* what we still owe this side */
		bufferevent_disable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(r->s[1 - i].bev)) == 0)
			shut_write(r, 1 - i);
		/* else relay_write_cb shuts it once drained */
		maybe_finish(r);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int e = EVUTIL_SOCKET_ERROR();
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		unsigned long ssl_err = bufferevent_get_openssl_error(bev);

		if (ssl_err != 0) {
			char buf[120];
			ERR_error_string_n(ssl_err, buf, sizeof(buf));
			snprintf(r->reason, sizeof(r->reason), "%s TLS error: %s",
			    sd->name, buf);
		} else if (e == ECONNRESET || e == EPIPE || e == 0) {
			snprintf(r->reason, sizeof(r->reason), "%s reset", sd->name);
		} else {
			snprintf(r->reason, sizeof(r->reason), "%s error: %s",
			    sd->name, strerror(e));
		}
		(void)ssl;
		finish(r, r->reason);
	}
}

static void
idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bev_relay *r = arg;

	if (relay_idle_expired(r->idle, r->last_active, r->idle_ms))
		finish(r, "idle timeout");
}

int
bev_relay_start(struct event_base *base, struct bufferevent *a, const char *a_name,
    struct bufferevent *b, const char *b_name, unsigned idle_timeout_ms,
    const struct bev_ws_first *first, relay_done_cb done, void *arg,
    struct bev_relay **out)
{
	struct bev_relay *r;
	struct timeval tv;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return DP_ERR_NOMEM;
	r->base = base;
	r->s[0].bev = a;
	r->s[0].name = a_name;
	r->s[1].bev = b;
	r->s[1].name = b_name;
	r->done = done;
	r->arg = arg;
	r->idle_ms = idle_timeout_ms;
	r->last_active = dp_now_ms();
	if (first != NULL && first->check != NULL) {
		r->first = *first;
		r->first_pending = 1;
	}
	if (idle_timeout_ms > 0) {
		if ((r->idle = evtimer_new(base, idle_cb, r)) == NULL) {
			free(r);
			return DP_ERR_NOMEM;
		}
		tv = dp_ms_tv(idle_timeout_ms);
		event_add(r->idle, &tv);
	}
	bufferevent_setcb(a, relay_read_cb, relay_write_cb, relay_event_cb, r);
	bufferevent_setcb(b, relay_read_cb, relay_write_cb, relay_event_cb, r);
	/* A read high-water mark only on plain sockets: libevent 2.1's OpenSSL
	 * bufferevent, suspended by it in the middle of a TLS record, leaves
	 * the decrypted rest inside OpenSSL and waits for the socket, which
	 * may never become readable again (both directions full: deadlock).
	 * Our own back-pressure (disable in the read callback) runs after it
	 * has drained OpenSSL, so it is safe for both kinds. */
	if (bufferevent_openssl_get_ssl(a) == NULL)
		bufferevent_setwatermark(a, EV_READ, 0, BEV_RELAY_HIGH_WATER);
	if (bufferevent_openssl_get_ssl(b) == NULL)
		bufferevent_setwatermark(b, EV_READ, 0, BEV_RELAY_HIGH_WATER);
	bufferevent_enable(a, EV_READ | EV_WRITE);
	bufferevent_enable(b, EV_READ | EV_WRITE);
	*out = r;
	pump(r, 0);
	pump(r, 1);
	return DP_OK;
}

void
bev_relay_free(struct bev_relay *r)
{
	if (r == NULL)
		return;
	if (r->idle != NULL)
		event_free(r->idle);
	free(r);
}

const struct relay_stats *
bev_relay_stats(const struct bev_relay *r)
{
	return &r->st;
}
