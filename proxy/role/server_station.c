/* server_station.c — station_binding: a LoRa Basics Station may speak only
 * for the EUI its authenticated name encodes (README "LoRa Basics Station").
 * Every request head on the listener is checked before the upstream sees
 * it: the name must fit the template, and every path segment that reads as
 * an EUI must be the station's (403 otherwise). On /router-info the first
 * WebSocket message after the 101 must be {"router": <that EUI>}, or the
 * tunnel closes with 1008 before any of it reaches the upstream. Each
 * refusal is logged with the EUI claimed and the name, and counted. */
#include "server.h"

#include <stdio.h>
#include <string.h>

#include "bevrelay.h"
#include "err.h"
#include "log.h"
#include "sconn.h"
#include "station.h"
#include "wsframe.h"

/* Logs and counts a refusal; returns the reason kept for the log line. */
static const char *
station_refused(struct sconn *c, enum mx_station why, const uint64_t *claimed,
    const char *text)
{
	struct sconn_http *h = c->http;
	char claimed_hex[17], eui_hex[17];
	struct log_kv kv[] = {
		{ "id", c->base.id },
		{ "listener", c->base.l->name },
		{ "client", c->name != NULL ? c->name : "-" },
		{ "eui", NULL },
		{ "claimed", NULL },
		{ "reason", text },
	};

	if (h->station_named) {
		station_eui_format(h->station_eui, eui_hex);
		kv[3].value = eui_hex;
	}
	if (claimed != NULL) {
		station_eui_format(*claimed, claimed_hex);
		kv[4].value = claimed_hex;
	}
	log_event(DP_LOG_WARN, "station_refused", kv, (int)(sizeof(kv) / sizeof(kv[0])));
	mx_station(c->base.l->mx, why);
	snprintf(h->station_reason, sizeof(h->station_reason), "station_binding: %s%s%s",
	    text, claimed != NULL ? ", claimed " : "", claimed != NULL ? claimed_hex : "");
	return h->station_reason;
}

/* The first message on /router-info: {"router": the station's EUI}. */
static const char *
station_first_message(void *arg, const struct ws_message *m, const char *why)
{
	struct sconn *c = arg;
	uint64_t claimed = 0;
	char text[120];

	if (m == NULL) {
		snprintf(text, sizeof(text), "router-info: %s", why);
		return station_refused(c, MX_ST_BAD_ROUTER_INFO, NULL, text);
	}
	if (m->opcode != WS_OP_TEXT)
		return station_refused(c, MX_ST_BAD_ROUTER_INFO, NULL,
		    "router-info: not a text message");
	switch (station_router_info_check((const char *)m->data, m->len,
	    c->http->station_eui, &claimed)) {
	case STATION_PASS:
		mx_station(c->base.l->mx, MX_ST_BOUND);
		return NULL;
	case STATION_EUI_MISMATCH:
		return station_refused(c, MX_ST_BAD_ROUTER_INFO, &claimed,
		    "router-info names another EUI");
	default:
		return station_refused(c, MX_ST_BAD_ROUTER_INFO, NULL,
		    "router-info is not a JSON object with a readable \"router\"");
	}
}

/* http_relay_opts.head_check: every request head before it is forwarded. */
static int
station_head_check(void *arg, const struct http1_request *rq,
    struct bev_ws_first *ws_first, const char **reason)
{
	struct sconn *c = arg;
	struct sconn_http *h = c->http;
	uint64_t claimed = 0;
	int router_info = 0;

	if (!h->station_named) {
		*reason = station_refused(c, MX_ST_EUI_MISMATCH, NULL,
		    "the client's name does not fit station_binding");
		return 403;
	}
	switch (station_target_check(rq->target, rq->target_len, h->station_eui,
	    &claimed, &router_info)) {
	case STATION_PASS:
		break;
	case STATION_EUI_MISMATCH:
		*reason = station_refused(c, MX_ST_EUI_MISMATCH, &claimed,
		    "the request target names another EUI");
		return 403;
	default:
		*reason = station_refused(c, MX_ST_EUI_MISMATCH, NULL,
		    "the request target cannot be read safely");
		return 403;
	}
	if (router_info) {
		/* Counted bound once its message passes. */
		ws_first->check = station_first_message;
		ws_first->arg = c;
	} else {
		mx_station(c->base.l->mx, MX_ST_BOUND);
	}
	return 0;
}

void
sconn_station_setup(struct sconn *c, struct http_relay_opts *o)
{
	const struct conf_server *cs = sconn_listener(c)->conf;
	struct sconn_http *h = c->http;

	/* Unauthenticated (client_auth = optional) or another name: every
	 * request of the connection is refused by the head check. */
	h->station_named = sconn_authenticated(c) && c->name != NULL &&
	    station_template_match(cs->station_binding, c->name,
	    &h->station_eui) == DP_OK;
	o->head_check = station_head_check;
	o->head_check_arg = c;
}
