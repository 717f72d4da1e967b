/* hrelay.h — inside the HTTP relay (httprelay.c and its part
 * httprelay_inspect.c, the requests held for an inspector): the relay's
 * state and the steps both parts take. Not for use outside proxy/net. */
#ifndef DP_HRELAY_H
#define DP_HRELAY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "bevrelay.h"
#include "http1.h"
#include "httprelay.h"

#define HR_HIGH_WATER (256 * 1024)	/* bytes queued towards one side */
#define HR_MAX_PIPELINE 64		/* requests forwarded, not yet answered */
#define HR_METHOD_MAX 24
#define HR_RESPONSE_HEAD_MAX (64 * 1024)
#define HR_SCAN_CHUNK (16 * 1024)	/* bytes of chunked body scanned at once */

enum body_state {
	BODY_NONE,		/* expecting a head */
	BODY_LENGTH,		/* `remaining` bytes */
	BODY_CHUNKED,
	BODY_CLOSE,		/* response: until the upstream closes */
};

struct direction {
	enum body_state body;
	uint64_t remaining;
	struct http1_chunked ck;
};

struct http_relay {
	struct event_base *base;
	struct bufferevent *cl, *up;
	const struct http_relay_opts *o;
	relay_done_cb done;
	void *arg;
	struct relay_stats st;
	unsigned long requests;

	struct direction req, resp;
	/* Methods of requests forwarded and not yet answered, a ring. */
	char methods[HR_MAX_PIPELINE][HR_METHOD_MAX];
	unsigned m_head, m_count;
	int upgrade_pending;	/* the last request asked to upgrade: parse no more */
	int last_request;	/* the request being sent is the connection's last */
	int deferred_status;	/* an error owed once earlier requests are answered */
	const char *deferred_reason;
	int client_done;	/* no more requests will be read (close, EOF, upgrade) */
	int client_eof;
	int closing;		/* flush the client's output, then end */
	const char *closing_reason;
	const char *end_reason;	/* http_relay_close_after_response's */
	struct bev_relay *tunnel;	/* after 101 */
	struct bev_ws_first ws_first;	/* head_check's, for the tunnel */

	struct event *timer;	/* idle and upstream timeouts */
	struct event *done_ev;	/* runs the done callback from the loop */
	int finished;		/* done is scheduled: touch nothing else */
	const char *done_reason;
	uint64_t last_active;
	uint64_t waiting_since;	/* a request waits for its response head; 0 none */
	uint64_t head_since;	/* an incomplete request head began arriving
				 * (no answer owed); 0 none */

	size_t req_scanned;	/* bytes of the pending request head looked at */
	size_t resp_scanned;	/* the same for the pending response head */

	size_t out_size;		/* rewrite room this relay needs */
	char reason[160];

	/* Inspection (o->inspect.inspect set): one request held at a time. */
	int holding;		/* its head is read, its body being collected */
	int verdict_owed;	/* the inspector has it */
	int in_requests;	/* inside process_requests: no re-entry */
	int continue_owed;	/* Expect: 100-continue, answered once earlier
				 * requests are */
	char *held_head;	/* the rewritten head, held_head_len bytes */
	size_t held_head_len;
	size_t held_in;		/* bytes of head and body the client sent */
	struct evbuffer *held_body;	/* the body as the client sent it */
	char *plain;		/* the de-chunked copy the inspector sees */
	char held_method[HR_METHOD_MAX];
	char *held_target;
	int held_upgrade, held_minor, held_has_body, held_chunked;
	struct evbuffer *refusal;	/* our answer, owed after earlier ones */
	int refusal_close;
};

/* The rewrite scratch every relay of the process shares (httprelay.c). */
extern char *hr_out;

/* httprelay.c */
void hr_close_after_flush(struct http_relay *h, const char *reason);
/* Answers the client with an error of our own and closes. */
void hr_fail_client(struct http_relay *h, int status, const char *reason);
void hr_arm_timer(struct http_relay *h);
void hr_all_answered(struct http_relay *h);
void hr_process_requests(struct http_relay *h);

/* httprelay_inspect.c: one request held whole until its verdict. */
void hr_held_clear(struct http_relay *h);
/* What is owed to the client once every earlier request is answered. */
void hr_flush_owed(struct http_relay *h);
/* The request's head is parsed and rewritten (into hr_out): keep a copy,
 * take it off the input, and start collecting the body. */
int hr_hold_request(struct http_relay *h, const struct http1_request *rq,
    const struct http1_rewritten *rw);
/* The held request, step by step: 1 to go on with the loop, 0 to stop
 * reading for now. */
int hr_held_step(struct http_relay *h);

#endif
