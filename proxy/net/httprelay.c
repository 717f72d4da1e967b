/* httprelay.c — see httprelay.h. */
#include "httprelay.h"

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

#include "bevrelay.h"
#include "err.h"
#include "hrelay.h"
#include "metrics.h"
#include "util.h"

/* Parse and rewrite scratch shared by every relay of the process (8 KiB and
 * max_request_head + a little): the loop is single-threaded and both are
 * used only inside process_requests, so no connection needs its own. */
static struct http1_request hr_req;
char *hr_out;
static size_t hr_out_size;

static void hr_client_read(struct bufferevent *bev, void *arg);
static void hr_upstream_read(struct bufferevent *bev, void *arg);
static void hr_write(struct bufferevent *bev, void *arg);
static void hr_event(struct bufferevent *bev, short what, void *arg);

/* Stops everything and schedules the done callback. It runs from the event
 * loop, never from inside this call, so callers up the stack may still look
 * at h (and see h->finished). */
static void
finish(struct http_relay *h, const char *reason)
{
	if (h->finished)
		return;
	h->finished = 1;
	h->done_reason = reason;
	if (h->verdict_owed) {
		h->verdict_owed = 0;
		if (h->o->inspect.cancel != NULL)
			h->o->inspect.cancel(h->o->inspect.arg, h);
	}
	bufferevent_disable(h->cl, EV_READ | EV_WRITE);
	bufferevent_disable(h->up, EV_READ | EV_WRITE);
	bufferevent_setcb(h->cl, NULL, NULL, NULL, NULL);
	bufferevent_setcb(h->up, NULL, NULL, NULL, NULL);
	event_del(h->timer);
	event_active(h->done_ev, EV_TIMEOUT, 0);
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_relay *h = arg;
	relay_done_cb done = h->done;

	h->done = NULL;
	if (done != NULL)
		done(h->arg, &h->st, h->done_reason);
}

/* Ends the exchange once what is queued for the client is written. */
void
hr_close_after_flush(struct http_relay *h, const char *reason)
{
	SSL *ssl;

	if (h->finished)
		return;
	h->closing = 1;
	h->closing_reason = reason;
	h->client_done = 1;
	bufferevent_disable(h->cl, EV_READ);
	bufferevent_disable(h->up, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(h->cl)) == 0) {
		if ((ssl = bufferevent_openssl_get_ssl(h->cl)) != NULL)
			(void)SSL_shutdown(ssl);
		finish(h, reason);
	}
}

/* Answers the client with an error of our own and closes. */
void
hr_fail_client(struct http_relay *h, int status, const char *reason)
{
	const char *resp = http1_error_response(status);

	if (h->m_count > 0 && (status == 400 || status == 403 || status == 413 ||
	    status == 431 || status == 501)) {
		/* A bad request behind good pipelined ones: answer those first,
		 * in order, then this one, then close. */
		h->deferred_status = status;
		h->deferred_reason = reason;
		h->client_done = 1;
		bufferevent_disable(h->cl, EV_READ);
		return;
	}

	evbuffer_add(bufferevent_get_output(h->cl), resp, strlen(resp));
	bev_rearm_write(h->cl);
	snprintf(h->reason, sizeof(h->reason), "%d %s", status, reason);
	hr_close_after_flush(h, h->reason);
}

/* The upstream failed this exchange: counted for the listener. */
static void
upstream_error(struct http_relay *h, enum mx_up_reason why)
{
	if (h->o->mx != NULL)
		mx_upstream_error(h->o->mx, why);
}

void
hr_arm_timer(struct http_relay *h)
{
	uint64_t now = dp_now_ms(), due = UINT64_MAX;
	struct timeval tv;

	if (h->o->idle_timeout_ms > 0)
		due = h->last_active + h->o->idle_timeout_ms;
	if (h->waiting_since != 0 && h->o->upstream_timeout_ms > 0 &&
	    h->waiting_since + h->o->upstream_timeout_ms < due)
		due = h->waiting_since + h->o->upstream_timeout_ms;
	if (h->head_since != 0 && h->o->idle_timeout_ms > 0 &&
	    h->head_since + h->o->idle_timeout_ms < due)
		due = h->head_since + h->o->idle_timeout_ms;
	if (due == UINT64_MAX)
		return;
	due = due > now ? due - now : 0;
	tv = dp_ms_tv(due);
	event_add(h->timer, &tv);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_relay *h = arg;
	uint64_t now = dp_now_ms();

	if (h->waiting_since != 0 && h->o->upstream_timeout_ms > 0 &&
	    now >= h->waiting_since + h->o->upstream_timeout_ms &&
	    h->resp.body == BODY_NONE) {
		upstream_error(h, MX_UP_RESPONSE_TIMEOUT);
		hr_fail_client(h, 504, "upstream timeout");
		return;
	}
	if (h->head_since != 0 && h->o->idle_timeout_ms > 0 &&
	    now >= h->head_since + h->o->idle_timeout_ms) {
		hr_fail_client(h, 408, "request head timeout");
		return;
	}
	if (h->o->idle_timeout_ms > 0 && now >= h->last_active + h->o->idle_timeout_ms) {
		finish(h, "idle timeout");
		return;
	}
	hr_arm_timer(h);
}

/* Moves n bytes of body from src's input to dst's output. */
static void
move(struct http_relay *h, struct bufferevent *src, struct bufferevent *dst,
    size_t n)
{
	evbuffer_remove_buffer(bufferevent_get_input(src),
	    bufferevent_get_output(dst), n);
	if (src == h->cl) {
		h->st.a_to_b += n;
	} else {
		h->st.b_to_a += n;
		if (h->client_eof)
			bev_rearm_write(dst);
	}
}

/* Streams body bytes per d's framing; returns 1 when the body ended. */
static int
pump_body(struct http_relay *h, struct direction *d, struct bufferevent *src,
    struct bufferevent *dst, int *bad)
{
	struct evbuffer *in = bufferevent_get_input(src);
	size_t avail, n, used;
	int r, in_trailers;

	*bad = 0;
	while ((avail = evbuffer_get_length(in)) > 0) {
		switch (d->body) {
		case BODY_NONE:
			return 1;
		case BODY_CLOSE:
			move(h, src, dst, avail);
			return 0;
		case BODY_LENGTH:
			n = d->remaining < avail ? (size_t)d->remaining : avail;
			move(h, src, dst, n);
			d->remaining -= n;
			if (d->remaining == 0) {
				d->body = BODY_NONE;
				return 1;
			}
			return 0;
		case BODY_CHUNKED:
			n = avail < HR_SCAN_CHUNK ? avail : HR_SCAN_CHUNK;
			in_trailers = d->ck.in_trailers && d->ck.stop_at_trailers;
			r = http1_chunked_scan(&d->ck,
			    (const char *)evbuffer_pullup(in, (ev_ssize_t)n), n, &used);
			if (r == DP_ERR_INVALID) {
				*bad = 1;
				return 0;
			}
			if (in_trailers) {
				/* Trailer fields are dropped; the body still
				 * ends with its final CRLF. */
				evbuffer_drain(in, used);
				if (r == DP_OK) {
					evbuffer_add(bufferevent_get_output(dst), "\r\n", 2);
					h->st.a_to_b += 2;
				}
			} else {
				move(h, src, dst, used);
			}
			if (r == DP_OK) {
				d->body = BODY_NONE;
				return 1;
			}
			break;
		}
	}
	return d->body == BODY_NONE;
}

/* Whether the head at the front of in is worth parsing now: a line ended
 * since the last look (the strict parser works on whole lines) or max bytes
 * are there. A head sent a byte per TLS record then costs one parse per
 * line, not one per byte (which grows with the square of its size). */
static int
head_worth_parsing(struct evbuffer *in, size_t *scanned, size_t max)
{
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr from, hit;

	if (len >= max)
		return 1;
	if (len <= *scanned)
		return 0;
	if (evbuffer_ptr_set(in, &from, *scanned, EVBUFFER_PTR_SET) != 0)
		return 1;
	hit = evbuffer_search(in, "\n", 1, &from);
	*scanned = len;
	return hit.pos >= 0;
}

static int
over_high_water(struct bufferevent *bev)
{
	return evbuffer_get_length(bufferevent_get_output(bev)) >= HR_HIGH_WATER;
}

/* Back-pressure: stop reading src while dst has too much queued. */
static int
throttle(struct bufferevent *src, struct bufferevent *dst)
{
	if (!over_high_water(dst))
		return 0;
	bufferevent_disable(src, EV_READ);
	bufferevent_setwatermark(dst, EV_WRITE, HR_HIGH_WATER / 2, 0);
	return 1;
}

/* A request head is incomplete. The idle timeout alone never ends a
 * slowloris client that sends one byte of its head every few seconds (each
 * byte makes it active again), so the whole head must arrive within
 * idle_timeout_ms of its start, else 408. Only while no answer is owed: a
 * 408 then cannot cut into a pipelined response. */
static void
head_started(struct http_relay *h)
{
	if (h->head_since != 0 || h->m_count > 0)
		return;
	h->head_since = dp_now_ms();
	hr_arm_timer(h);
}


/* Client → upstream: heads are parsed and rewritten, bodies streamed. */
static void process_requests_loop(struct http_relay *h);

void
hr_process_requests(struct http_relay *h)
{
	if (h->in_requests)
		return;		/* the loop below goes on after the verdict */
	h->in_requests = 1;
	process_requests_loop(h);
	h->in_requests = 0;
}

static void
process_requests_loop(struct http_relay *h)
{
	struct evbuffer *in = bufferevent_get_input(h->cl);
	struct http1_request *rq = &hr_req;
	struct http1_rewritten rw;
	size_t len, want;
	const char *p;
	int r, bad;

	while (!h->finished && !h->closing && !h->client_done) {
		if (throttle(h->cl, h->up))
			return;
		if (h->verdict_owed || h->refusal != NULL)
			/* One request at a time: what follows waits, read
			 * ahead up to the watermark set at the start. */
			return;
		if (h->holding) {
			if (!hr_held_step(h))
				return;
			continue;
		}
		if (h->req.body == BODY_NONE && h->last_request) {
			h->client_done = 1;
			bufferevent_disable(h->cl, EV_READ);
			return;
		}
		if (h->req.body != BODY_NONE) {
			if (!pump_body(h, &h->req, h->cl, h->up, &bad)) {
				if (bad)
					hr_fail_client(h, 400, "malformed chunked request body");
				return;
			}
			continue;
		}
		if ((len = evbuffer_get_length(in)) == 0)
			return;
		if (!head_worth_parsing(in, &h->req_scanned, h->o->limits.max_head)) {
			head_started(h);
			return;
		}
		if (h->m_count == HR_MAX_PIPELINE) {
			/* Enough answers owed: read on once some arrive. */
			bufferevent_disable(h->cl, EV_READ);
			return;
		}
		want = len < h->o->limits.max_head ? len : h->o->limits.max_head;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
		r = http1_request_parse(p, want, &h->o->limits, rq);
		if (r == DP_ERR_AGAIN) {
			head_started(h);
			return;
		}
		if (r == HTTP1_ERR_TOO_LARGE) {
			hr_fail_client(h, 431, "request head too large");
			return;
		}
		if (r == HTTP1_ERR_NOT_IMPLEMENTED) {
			hr_fail_client(h, 501, "unsupported transfer coding");
			return;
		}
		if (r != DP_OK) {
			hr_fail_client(h, 400, "malformed request");
			return;
		}
		if (rq->method_len >= HR_METHOD_MAX) {
			hr_fail_client(h, 501, "method name too long");
			return;
		}
		if (h->o->head_check != NULL) {
			const char *why = "refused";

			memset(&h->ws_first, 0, sizeof(h->ws_first));
			if ((r = h->o->head_check(h->o->head_check_arg, rq,
			    &h->ws_first, &why)) != 0) {
				hr_fail_client(h, r, why);
				return;
			}
		}
		r = http1_request_rewrite(p, rq, &h->o->rw, hr_out, h->out_size, &rw);
		if (r == HTTP1_ERR_BAD_REQUEST) {
			hr_fail_client(h, 400, "Connection names a framing field, or '_' in a name");
			return;
		}
		if (r != DP_OK) {
			/* SPACE cannot happen (out_size covers head + added
			 * fields); INVALID would be a bad added value. */
			hr_fail_client(h, 500, "cannot rewrite request head");
			return;
		}
		if (h->o->inspect.inspect != NULL) {
			r = hr_hold_request(h, rq, &rw);
			h->req.body = rq->framing == HTTP1_BODY_LENGTH ? BODY_LENGTH :
			    rq->framing == HTTP1_BODY_CHUNKED ? BODY_CHUNKED :
			    BODY_NONE;
			h->req.remaining = rq->content_length;
			if (h->req.body == BODY_LENGTH && h->req.remaining == 0)
				h->req.body = BODY_NONE;
			http1_chunked_init(&h->req.ck);
			h->req.ck.stop_at_trailers = 1;
			evbuffer_drain(in, rq->head_len);	/* rq is stale now */
			h->req_scanned = 0;
			h->head_since = 0;
			if (r != DP_OK) {
				hr_held_clear(h);
				hr_fail_client(h, 500, "out of memory");
				return;
			}
			if (h->req.body == BODY_LENGTH &&
			    h->req.remaining > h->o->inspect.max_body) {
				/* Refused before a byte of it is read. */
				if (h->o->inspect.oversize != NULL)
					h->o->inspect.oversize(h->o->inspect.arg, h,
					    h->held_method, h->held_target,
					    h->req.remaining);
				hr_held_clear(h);
				h->continue_owed = 0;
				h->req.body = BODY_NONE;
				hr_fail_client(h, 413, "request body over the "
				    "inspection limit");
				return;
			}
			hr_flush_owed(h);	/* a 100 Continue, if due now */
			continue;
		}
		evbuffer_add(bufferevent_get_output(h->up), hr_out, rw.len);
		{
			/* Before the drain: rq points into the input buffer. */
			unsigned slot = (h->m_head + h->m_count) % HR_MAX_PIPELINE;
			memcpy(h->methods[slot], rq->method, rq->method_len);
			h->methods[slot][rq->method_len] = '\0';
			h->m_count++;
		}
		h->st.a_to_b += rq->head_len;
		evbuffer_drain(in, rq->head_len);
		h->req_scanned = 0;
		h->head_since = 0;
		h->requests++;
		if (h->waiting_since == 0) {
			h->waiting_since = dp_now_ms();
			hr_arm_timer(h);
		}
		h->req.body = rq->framing == HTTP1_BODY_LENGTH ? BODY_LENGTH :
		    rq->framing == HTTP1_BODY_CHUNKED ? BODY_CHUNKED : BODY_NONE;
		h->req.remaining = rq->content_length;
		if (h->req.body == BODY_LENGTH && h->req.remaining == 0)
			h->req.body = BODY_NONE;
		http1_chunked_init(&h->req.ck);
		h->req.ck.stop_at_trailers = 1;
		/* After an Upgrade request for an allowed protocol, what follows
		 * belongs to that protocol if the upstream agrees: hold it until
		 * the answer. Any other upgrade was removed from the head. */
		h->upgrade_pending = rw.upgrade;
		h->last_request = rw.upgrade || !rq->keep_alive;
	}
}

/* Every request read has been answered and no more will be read. */
void
hr_all_answered(struct http_relay *h)
{
	if (h->deferred_status != 0)
		hr_fail_client(h, h->deferred_status, h->deferred_reason);
	else
		hr_close_after_flush(h, h->end_reason != NULL ? h->end_reason :
		    "closed");
}

static void start_tunnel(struct http_relay *h);

void
http_relay_drain(struct http_relay *h)
{
	if (h == NULL || h->finished || h->closing || h->tunnel != NULL ||
	    h->upgrade_pending)
		return;
	/* The request being received (if any) is the last one read. */
	h->last_request = 1;
	if (h->req.body != BODY_NONE || h->holding || h->verdict_owed ||
	    h->refusal != NULL)
		return;
	h->client_done = 1;
	bufferevent_disable(h->cl, EV_READ);
	if (h->m_count == 0 && h->resp.body == BODY_NONE)
		hr_all_answered(h);
}

int
http_relay_close_after_response(struct http_relay *h, const char *reason)
{
	if (h == NULL || h->finished || h->tunnel != NULL || h->upgrade_pending)
		return 0;
	if (!h->closing) {
		h->end_reason = reason;
		http_relay_drain(h);
	}
	return 1;
}

/* Upstream → client: heads parsed for framing, passed on unchanged. */
static void
process_responses(struct http_relay *h)
{
	struct evbuffer *in = bufferevent_get_input(h->up);
	struct http1_response rs;
	const char *method, *p;
	size_t len, want;
	int r, bad;

	while (!h->finished && !h->closing) {
		if (throttle(h->up, h->cl))
			return;
		if (h->resp.body != BODY_NONE) {
			if (!pump_body(h, &h->resp, h->up, h->cl, &bad)) {
				if (bad) {
					upstream_error(h, MX_UP_PROTOCOL);
					snprintf(h->reason, sizeof(h->reason),
					    "malformed chunked response body");
					hr_close_after_flush(h, h->reason);
				}
				return;
			}
			hr_flush_owed(h);
			if (h->closing || h->finished)
				return;
			if (h->m_count == 0 && h->client_done && !h->upgrade_pending &&
			    !h->verdict_owed && h->refusal == NULL) {
				hr_all_answered(h);
				return;
			}
			continue;
		}
		if ((len = evbuffer_get_length(in)) == 0)
			return;
		if (h->m_count != 0 &&
		    !head_worth_parsing(in, &h->resp_scanned, HR_RESPONSE_HEAD_MAX))
			return;
		if (h->m_count == 0) {
			/* Bytes nobody asked for: the exchange is broken. */
			upstream_error(h, MX_UP_PROTOCOL);
			hr_close_after_flush(h, "upstream sent an unsolicited response");
			return;
		}
		method = h->methods[h->m_head];
		want = len < HR_RESPONSE_HEAD_MAX ? len : HR_RESPONSE_HEAD_MAX;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
		r = http1_response_parse(p, want, HR_RESPONSE_HEAD_MAX, method,
		    strlen(method), &rs);
		if (r == DP_ERR_AGAIN)
			return;
		if (r != DP_OK) {
			upstream_error(h, MX_UP_PROTOCOL);
			hr_fail_client(h, 502, "malformed response from upstream");
			return;
		}
		if (rs.status == 101 && (rs.n_upgrade != 1 ||
		    !http1_upgrade_allowed(h->o->rw.upgrade_protocols, rs.upgrade,
		    rs.upgrade_len))) {
			/* Whatever it switched to was never asked for: relaying
			 * it would carry requests past the header rewrite. */
			upstream_error(h, MX_UP_PROTOCOL);
			h->m_count = 0;
			hr_fail_client(h, 502, "101 for a protocol not allowed");
			return;
		}
		move(h, h->up, h->cl, rs.head_len);
		h->resp_scanned = 0;
		if (rs.status == 101) {
			if (!h->upgrade_pending || h->m_count != 1) {
				upstream_error(h, MX_UP_PROTOCOL);
				hr_close_after_flush(h, "unexpected 101 from upstream");
				return;
			}
			h->m_count = 0;
			h->waiting_since = 0;
			start_tunnel(h);
			return;
		}
		if (rs.status < 200)
			continue;	/* interim (100 Continue): the final one follows */
		h->m_head = (h->m_head + 1) % HR_MAX_PIPELINE;
		h->m_count--;
		h->waiting_since = h->m_count > 0 ? dp_now_ms() : 0;
		if (h->upgrade_pending && h->m_count == 0) {
			/* Upgrade refused: the connection carries on as HTTP. */
			h->upgrade_pending = 0;
			h->last_request = 0;
			h->client_done = h->client_eof;
		}
		if (!rs.keep_alive) {
			/* This is the last response the upstream sends. */
			h->client_done = 1;
			bufferevent_disable(h->cl, EV_READ);
		}
		h->resp.body = rs.framing == HTTP1_BODY_LENGTH ? BODY_LENGTH :
		    rs.framing == HTTP1_BODY_CHUNKED ? BODY_CHUNKED :
		    rs.framing == HTTP1_BODY_CLOSE ? BODY_CLOSE : BODY_NONE;
		h->resp.remaining = rs.content_length;
		if (h->resp.body == BODY_LENGTH && h->resp.remaining == 0)
			h->resp.body = BODY_NONE;
		http1_chunked_init(&h->resp.ck);
		hr_flush_owed(h);
		if (h->closing || h->finished)
			return;
		if (h->resp.body == BODY_NONE && h->m_count == 0 && h->client_done &&
		    !h->upgrade_pending && !h->verdict_owed && h->refusal == NULL) {
			hr_all_answered(h);
			return;
		}
		if (!h->client_done && h->m_count < HR_MAX_PIPELINE) {
			/* Requests held back (pipeline full) may go on now. */
			bufferevent_enable(h->cl, EV_READ);
			hr_process_requests(h);
		}
	}
}

static void
tunnel_done(void *arg, const struct relay_stats *st, const char *reason)
{
	struct http_relay *h = arg;

	h->st.a_to_b += st->a_to_b;
	h->st.b_to_a += st->b_to_a;
	h->finished = 1;
	h->done_reason = reason;
	event_active(h->done_ev, EV_TIMEOUT, 0);
}

/* After 101 Switching Protocols: bytes both ways, no more parsing. */
static void
start_tunnel(struct http_relay *h)
{
	event_del(h->timer);
	bufferevent_setwatermark(h->cl, EV_WRITE, 0, 0);
	bufferevent_setwatermark(h->up, EV_WRITE, 0, 0);
	if (bev_relay_start(h->base, h->cl, "client", h->up, "upstream",
	    h->o->idle_timeout_ms, &h->ws_first, tunnel_done, h,
	    &h->tunnel) != DP_OK)
		finish(h, "out of memory");
}

static void
hr_client_read(struct bufferevent *bev, void *arg)
{
	struct http_relay *h = arg;

	h->last_active = dp_now_ms();
	hr_process_requests(h);
}

static void
hr_upstream_read(struct bufferevent *bev, void *arg)
{
	struct http_relay *h = arg;

	h->last_active = dp_now_ms();
	process_responses(h);
}

static void
hr_write(struct bufferevent *bev, void *arg)
{
	struct http_relay *h = arg;
	size_t left = evbuffer_get_length(bufferevent_get_output(bev));

	if (bev == h->cl && h->closing) {
		if (left == 0) {
			SSL *ssl = bufferevent_openssl_get_ssl(h->cl);
			if (ssl != NULL)
				(void)SSL_shutdown(ssl);
			finish(h, h->closing_reason);
		}
		return;
	}
	if (left < HR_HIGH_WATER / 2) {
		/* Drained: the other side may read again. */
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		if (bev == h->up) {
			if (!h->client_done && !h->client_eof)
				bufferevent_enable(h->cl, EV_READ);
			hr_process_requests(h);
		} else {
			bufferevent_enable(h->up, EV_READ);
			process_responses(h);
		}
	}
}

static void
hr_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_relay *h = arg;

	if (bev == h->cl) {
		if ((what & BEV_EVENT_EOF) && h->req.body != BODY_NONE &&
		    h->req.body != BODY_CLOSE) {
			/* Gone before its request body ended: the upstream
			 * would wait for bytes that never come. */
			finish(h, "client closed in the middle of a request body");
			return;
		}
		if (what & BEV_EVENT_EOF) {
			/* No more requests; answers still owed are delivered. */
			h->client_eof = 1;
			h->client_done = 1;
			bufferevent_disable(h->cl, EV_READ);
			bev_rearm_write(h->cl);
			if (h->m_count == 0 && h->resp.body == BODY_NONE &&
			    !h->holding && !h->verdict_owed && h->refusal == NULL)
				hr_close_after_flush(h, "closed");	/* with close_notify */
			return;
		}
		finish(h, (what & BEV_EVENT_ERROR) && EVUTIL_SOCKET_ERROR() != 0 &&
		    EVUTIL_SOCKET_ERROR() != ECONNRESET ? "client error" : "client reset");
		return;
	}
	/* Upstream ended. */
	process_responses(h);
	if (h->closing || h->finished)
		return;
	if (h->resp.body == BODY_CLOSE) {
		hr_close_after_flush(h, "closed");
	} else if (h->resp.body != BODY_NONE) {
		hr_close_after_flush(h, "upstream closed in the middle of a response");
	} else if (h->m_count > 0) {
		upstream_error(h, MX_UP_PROTOCOL);
		hr_fail_client(h, 502, (what & BEV_EVENT_EOF) ?
		    "upstream closed before answering" : "upstream reset");
	} else {
		hr_close_after_flush(h, "closed");
	}
}

int
http_relay_start(struct event_base *base, struct bufferevent *client,
    struct bufferevent *upstream, const struct http_relay_opts *opts,
    relay_done_cb done, void *arg, struct http_relay **out)
{
	struct http_relay *h;
	size_t i, extra = 0;

	*out = NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return DP_ERR_NOMEM;
	for (i = 0; i < opts->rw.n_add; i++)
		extra += strlen(opts->rw.add[i].name) + strlen(opts->rw.add[i].value) + 4;
	/* A field "a:b" comes out as "a: b": one byte more per field; the
	 * rewriter's own Connection field is added (Upgrade only shrinks). */
	h->out_size = opts->limits.max_head + opts->limits.max_headers + extra +
	    sizeof("Connection: upgrade, close\r\n") + 64;
	if (h->out_size > hr_out_size) {
		char *p = realloc(hr_out, h->out_size);
		if (p == NULL) {
			free(h);
			return DP_ERR_NOMEM;
		}
		hr_out = p;
		hr_out_size = h->out_size;
	}
	if ((h->timer = evtimer_new(base, timer_cb, h)) == NULL ||
	    (h->done_ev = event_new(base, -1, 0, done_cb, h)) == NULL) {
		if (h->timer != NULL)
			event_free(h->timer);
		free(h);
		return DP_ERR_NOMEM;
	}
	h->base = base;
	h->cl = client;
	h->up = upstream;
	h->o = opts;
	h->done = done;
	h->arg = arg;
	h->last_active = dp_now_ms();
	bufferevent_setcb(client, hr_client_read, hr_write, hr_event, h);
	bufferevent_setcb(upstream, hr_upstream_read, hr_write, hr_event, h);
	bufferevent_enable(client, EV_READ | EV_WRITE);
	bufferevent_enable(upstream, EV_READ | EV_WRITE);
	if (opts->inspect.inspect != NULL)
		/* Held requests stop the parsing, not the reading: a client
		 * that resets is seen at once (the verdict is cancelled), and
		 * what it sends ahead is bounded (room for one whole head). */
		bufferevent_setwatermark(client, EV_READ, 0,
		    opts->limits.max_head + HR_SCAN_CHUNK);
	hr_arm_timer(h);
	*out = h;
	hr_process_requests(h);
	return DP_OK;
}

void
http_relay_free(struct http_relay *h)
{
	if (h == NULL)
		return;
	if (h->verdict_owed && h->o->inspect.cancel != NULL)
		h->o->inspect.cancel(h->o->inspect.arg, h);
	hr_held_clear(h);
	if (h->held_body != NULL)
		evbuffer_free(h->held_body);
	if (h->refusal != NULL)
		evbuffer_free(h->refusal);
	bev_relay_free(h->tunnel);
	event_free(h->timer);
	event_free(h->done_ev);
	free(h);
}

const struct relay_stats *
http_relay_stats(const struct http_relay *h)
{
	return &h->st;
}

unsigned long
http_relay_requests(const struct http_relay *h)
{
	return h->requests;
}
