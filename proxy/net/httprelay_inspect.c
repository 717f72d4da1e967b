/* httprelay_inspect.c — the HTTP relay's inspection (httprelay.h's
 * struct http_inspect): a request held whole, head and body, until the
 * inspector's verdict; then forwarded with the inspector's field, or
 * answered by the relay itself once every earlier request is answered. */
#include "httprelay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "err.h"
#include "hrelay.h"
#include "util.h"

#define HR_CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"

/* The raw bytes a held body may take: its data (max_body) and the chunked
 * framing around it, which a client could otherwise inflate without bound
 * (a long extension on every one-byte chunk). */
static size_t
held_cap(const struct http_relay *h)
{
	return 2 * h->o->inspect.max_body + 8192;
}

void
hr_held_clear(struct http_relay *h)
{
	free(h->held_head);
	h->held_head = NULL;
	free(h->held_target);
	h->held_target = NULL;
	free(h->plain);
	h->plain = NULL;
	if (h->held_body != NULL)
		evbuffer_drain(h->held_body, evbuffer_get_length(h->held_body));
	h->holding = 0;
	h->held_in = 0;
}

/* What is owed to the client once every earlier request is answered: a 100
 * Continue for the held request, or our own answer to a refused one. */
void
hr_flush_owed(struct http_relay *h)
{
	struct evbuffer *out = bufferevent_get_output(h->cl);

	if (h->finished || h->closing || h->m_count != 0 ||
	    h->resp.body != BODY_NONE)
		return;
	if (h->continue_owed) {
		h->continue_owed = 0;
		evbuffer_add(out, HR_CONTINUE, sizeof(HR_CONTINUE) - 1);
		bev_rearm_write(h->cl);
	}
	if (h->refusal == NULL)
		return;
	evbuffer_add_buffer(out, h->refusal);
	evbuffer_free(h->refusal);
	h->refusal = NULL;
	bev_rearm_write(h->cl);
	if (h->refusal_close || h->last_request || h->client_done) {
		hr_close_after_flush(h, h->reason);
		return;
	}
	if (!h->client_eof)
		bufferevent_enable(h->cl, EV_READ);
	/* Requests behind it may be read already: no read event will come. */
	hr_process_requests(h);
}

/* The request's head is parsed and rewritten (into the shared scratch):
 * keep a copy, take it off the input, and start collecting the body. */
int
hr_hold_request(struct http_relay *h, const struct http1_request *rq,
    const struct http1_rewritten *rw)
{
	if ((h->held_head = malloc(rw->len)) == NULL ||
	    (h->held_target = malloc(rq->target_len + 1)) == NULL ||
	    (h->held_body == NULL && (h->held_body = evbuffer_new()) == NULL))
		return DP_ERR_NOMEM;
	memcpy(h->held_head, hr_out, rw->len);
	h->held_head_len = rw->len;
	memcpy(h->held_method, rq->method, rq->method_len);
	h->held_method[rq->method_len] = '\0';
	memcpy(h->held_target, rq->target, rq->target_len);
	h->held_target[rq->target_len] = '\0';
	h->held_upgrade = rw->upgrade;
	h->held_minor = rq->version_minor;
	h->held_has_body = rq->framing != HTTP1_BODY_NONE &&
	    !(rq->framing == HTTP1_BODY_LENGTH && rq->content_length == 0);
	h->held_chunked = rq->framing == HTTP1_BODY_CHUNKED;
	h->held_in = rq->head_len;
	h->holding = 1;
	/* As without inspection: a drain arriving later only sets it. */
	h->last_request = rw->upgrade || !rq->keep_alive;
	/* The client waits for a 100 before its body; the upstream, which
	 * gets the body with the head, is not asked (Expect is dropped). */
	h->continue_owed = h->held_has_body && rq->expect_continue;
	return DP_OK;
}

/* Moves the held request's body from the client's input into held_body.
 * Returns DP_OK when it is whole, DP_ERR_AGAIN, DP_ERR_INVALID (malformed
 * chunked) or DP_ERR_SPACE (over the bounds). */
static int
collect_body(struct http_relay *h)
{
	struct direction *d = &h->req;
	struct evbuffer *in = bufferevent_get_input(h->cl);
	size_t avail, n, used;
	int r, in_trailers;

	while ((avail = evbuffer_get_length(in)) > 0 || d->body == BODY_NONE) {
		switch (d->body) {
		case BODY_NONE:
			return DP_OK;
		case BODY_CLOSE:	/* never for a request */
			return DP_ERR_INVALID;
		case BODY_LENGTH:
			n = d->remaining < avail ? (size_t)d->remaining : avail;
			evbuffer_remove_buffer(in, h->held_body, n);
			h->held_in += n;
			d->remaining -= n;
			if (d->remaining == 0)
				d->body = BODY_NONE;
			break;
		case BODY_CHUNKED:
			n = avail < HR_SCAN_CHUNK ? avail : HR_SCAN_CHUNK;
			in_trailers = d->ck.in_trailers && d->ck.stop_at_trailers;
			r = http1_chunked_scan(&d->ck,
			    (const char *)evbuffer_pullup(in, (ev_ssize_t)n), n, &used);
			if (r == DP_ERR_INVALID)
				return DP_ERR_INVALID;
			h->held_in += used;
			if (in_trailers) {
				/* Trailers are dropped, as when streaming. */
				evbuffer_drain(in, used);
				if (r == DP_OK)
					evbuffer_add(h->held_body, "\r\n", 2);
			} else {
				evbuffer_remove_buffer(in, h->held_body, used);
			}
			if (r == DP_OK)
				d->body = BODY_NONE;
			break;
		}
		if (evbuffer_get_length(h->held_body) > held_cap(h))
			return DP_ERR_SPACE;
	}
	return DP_ERR_AGAIN;
}

/* The body is whole: hand the request to the inspector. Returns DP_OK,
 * DP_ERR_SPACE (the de-chunked data exceed max_body), DP_ERR_INVALID or
 * DP_ERR_NOMEM. */
static int
inspect_held(struct http_relay *h, int chunked)
{
	struct http_inspected rq = { 0 };
	size_t raw = evbuffer_get_length(h->held_body), n = 0;
	int r;

	rq.method = h->held_method;
	rq.target = h->held_target;
	rq.has_body = h->held_has_body;
	if (chunked) {
		if ((h->plain = malloc(raw > 0 ? raw : 1)) == NULL)
			return DP_ERR_NOMEM;
		r = http1_chunked_decode((const char *)evbuffer_pullup(h->held_body,
		    -1), raw, h->plain, raw, &n);
		if (r != DP_OK)
			return DP_ERR_INVALID;
		rq.body = h->plain;
		rq.body_len = n;
	} else if (raw > 0) {
		rq.body = (const char *)evbuffer_pullup(h->held_body, -1);
		rq.body_len = raw;
	}
	if (rq.body_len > h->o->inspect.max_body)
		return DP_ERR_SPACE;
	h->verdict_owed = 1;
	h->o->inspect.inspect(h->o->inspect.arg, h, &rq);
	return DP_OK;
}

static int
field_name_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!(((unsigned char)*s >= 'a' && (unsigned char)*s <= 'z') ||
		    ((unsigned char)*s >= 'A' && (unsigned char)*s <= 'Z') ||
		    ((unsigned char)*s >= '0' && (unsigned char)*s <= '9') ||
		    *s == '-'))
			return 0;
	return 1;
}

static int
field_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* pass: the held request goes upstream as the streaming path would have
 * sent it, with the inspector's field added. */
static int
forward_held(struct http_relay *h, const struct http_verdict *v)
{
	struct evbuffer *up = bufferevent_get_output(h->up);
	unsigned slot;

	if (v->add_name != NULL && (!field_name_ok(v->add_name) ||
	    v->add_value == NULL || !field_value_ok(v->add_value)))
		return DP_ERR_INVALID;
	/* The head ends with CRLF CRLF: the field goes before the last. */
	if (evbuffer_add(up, h->held_head, h->held_head_len - 2) != 0 ||
	    (v->add_name != NULL && evbuffer_add_printf(up, "%s: %s\r\n",
	    v->add_name, v->add_value) < 0) ||
	    evbuffer_add(up, "\r\n", 2) != 0 ||
	    evbuffer_add_buffer(up, h->held_body) != 0)
		return DP_ERR_NOMEM;
	slot = (h->m_head + h->m_count) % HR_MAX_PIPELINE;
	memcpy(h->methods[slot], h->held_method, sizeof(h->held_method));
	h->m_count++;
	h->st.a_to_b += h->held_in;
	h->requests++;
	if (h->waiting_since == 0) {
		h->waiting_since = dp_now_ms();
		hr_arm_timer(h);
	}
	h->upgrade_pending = h->held_upgrade;
	return DP_OK;
}

/* refuse: our own answer, sent once every earlier request is answered. */
static int
refuse_held(struct http_relay *h, const struct http_verdict *v)
{
	int head_only = strcmp(h->held_method, "HEAD") == 0;
	int close = h->last_request;

	if ((h->refusal = evbuffer_new()) == NULL)
		return DP_ERR_NOMEM;
	h->refusal_close = close;
	if (evbuffer_add_printf(h->refusal, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s%s%s\r\n",
	    v->status, v->status_text != NULL ? v->status_text : "Refused",
	    v->content_type != NULL ? v->content_type : "text/plain",
	    v->body_len, v->allow != NULL ? "Allow: " : "",
	    v->allow != NULL ? v->allow : "", v->allow != NULL ? "\r\n" : "",
	    close ? "Connection: close\r\n" : h->held_minor == 0 ?
	    "Connection: keep-alive\r\n" : "") < 0 ||
	    (!head_only && v->body_len > 0 &&
	    evbuffer_add(h->refusal, v->body, v->body_len) != 0))
		return DP_ERR_NOMEM;
	snprintf(h->reason, sizeof(h->reason), "%d refused by inspection",
	    v->status);
	return DP_OK;
}

void
http_relay_verdict(struct http_relay *h, const struct http_verdict *v)
{
	int r;

	if (h == NULL || h->finished || !h->verdict_owed)
		return;
	h->verdict_owed = 0;
	if (v->pass) {
		r = forward_held(h, v);
	} else if (v->status < 200 || v->status > 599 ||
	    (v->content_type != NULL && !field_value_ok(v->content_type)) ||
	    (v->status_text != NULL && !field_value_ok(v->status_text)) ||
	    (v->allow != NULL && !field_value_ok(v->allow))) {
		r = DP_ERR_INVALID;
	} else {
		r = refuse_held(h, v);
	}
	hr_held_clear(h);
	if (r != DP_OK) {
		if (h->refusal != NULL) {
			evbuffer_free(h->refusal);
			h->refusal = NULL;
		}
		h->continue_owed = 0;
		hr_fail_client(h, 500, r == DP_ERR_NOMEM ? "out of memory" :
		    "bad inspection verdict");
		return;
	}
	if (h->refusal != NULL)
		hr_flush_owed(h);
	/* From the loop (not inside the inspect call): go on reading. */
	if (!h->in_requests && !h->finished && !h->closing) {
		if (!h->client_done && !h->client_eof && h->refusal == NULL)
			bufferevent_enable(h->cl, EV_READ);
		hr_process_requests(h);
		if (h->m_count == 0 && h->resp.body == BODY_NONE &&
		    h->client_done && !h->closing && !h->finished &&
		    !h->verdict_owed && h->refusal == NULL && !h->upgrade_pending)
			hr_all_answered(h);
	}
}

/* The held request, step by step: returns 1 to go on with the loop, 0 to
 * stop reading for now. */
int
hr_held_step(struct http_relay *h)
{
	uint64_t declared;
	int r;

	r = collect_body(h);
	if (r == DP_ERR_AGAIN)
		return 0;
	if (r == DP_ERR_INVALID) {
		hr_held_clear(h);
		h->continue_owed = 0;
		hr_fail_client(h, 400, "malformed chunked request body");
		return 0;
	}
	if (r == DP_OK)
		r = inspect_held(h, h->held_chunked);
	if (r == DP_OK)
		return 1;
	declared = evbuffer_get_length(h->held_body);
	if (r == DP_ERR_SPACE && h->o->inspect.oversize != NULL)
		h->o->inspect.oversize(h->o->inspect.arg, h, h->held_method,
		    h->held_target, declared);
	hr_held_clear(h);
	h->continue_owed = 0;
	h->req.body = BODY_NONE;
	hr_fail_client(h, r == DP_ERR_SPACE ? 413 : r == DP_ERR_INVALID ? 400 : 500,
	    r == DP_ERR_SPACE ? "request body over the inspection limit" :
	    r == DP_ERR_INVALID ? "malformed chunked request body" :
	    "out of memory");
	return 0;
}

