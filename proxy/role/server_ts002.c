/* server_ts002.c — ts002_binding: every request of a connection is held
 * by the HTTP relay until its body is read whole; a TS002 message passes
 * only when its SenderID is bound to the name the client authenticated
 * with (DANE): by the map here, by DNS in server_ts002_dns.c, which gives
 * its verdicts through the functions at the end. See sconn.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnstargets.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "sconn.h"
#include "ts002.h"

/* The refusal of a request that is not a TS002 message, or an answer
 * (*Ans) that cannot be answered in TS002 terms: a short JSON object. */
#define TS002_NOT_POST \
	"{\"error\":\"a TS002 endpoint takes POST requests only\"}\n"
#define TS002_NOT_TS002 \
	"{\"error\":\"the body is not a TS002 message\"}\n"
#define TS002_DNS_UNAVAILABLE \
	"{\"error\":\"the SenderID's DNS binding cannot be checked now; " \
	"try again later\"}\n"
#define TS002_ANS_UNBOUND \
	"{\"error\":\"SenderID not bound to the authenticated client; an " \
	"answer gets no TS002 answer\"}\n"

int
sconn_ts002_load(struct server_listener *l, FILE *errs)
{
	const struct conf_server *cs = l->conf;
	int r;

	if (cs->ts002_binding != TS002_MAP)
		return DP_OK;
	if (cs->ts002_map == NULL)	/* conf.c refuses this */
		return DP_ERR_INVALID;
	r = ts002_map_load(cs->ts002_map, errs, &l->ts002);
	if (r != DP_OK && r != DP_ERR_INVALID && errs != NULL)
		/* The map's own lines report what is wrong inside it; an
		 * unreadable file is named from the configuration's line. */
		fprintf(errs, "%s:%d: ts002_map: cannot load %s: %s\n",
		    cs->ts002_map_where.file, cs->ts002_map_where.line,
		    cs->ts002_map, dp_strerror(r));
	return r;
}

/* One line per refusal: who claimed what, and what became of it. */
static void
log_refusal(struct sconn *c, const struct ts002_msg *m, int status,
    const char *result, const char *why)
{
	char tid[16], st[8];
	struct log_kv kv[] = {
		{ "id", c->base.id },
		{ "listener", c->base.l->name },
		{ "client", c->base.peer_str },
		{ "name", sconn_authenticated(c) ? c->name : "-" },
		{ "sender_id", m != NULL ? m->sender_id : NULL },
		{ "receiver_id", m != NULL ? m->receiver_id : NULL },
		{ "type", m != NULL ? m->message_type : NULL },
		{ "transaction_id", m != NULL ? tid : NULL },
		{ "status", st },
		{ "result", result },
		{ "reason", why },
	};

	if (m != NULL)
		snprintf(tid, sizeof(tid), "%" PRIu32, m->transaction_id);
	snprintf(st, sizeof(st), "%d", status);
	log_event(DP_LOG_WARN, "ts002_refused", kv, (int)(sizeof(kv) / sizeof(kv[0])));
}

static void
refuse(struct http_relay *h, int status, const char *text, const char *body,
    size_t len, const char *allow)
{
	struct http_verdict v = {
		.pass = 0,
		.status = status,
		.status_text = text,
		.content_type = "application/json",
		.body = body,
		.body_len = len,
		.allow = allow,
	};

	http_relay_verdict(h, &v);
}

/* A request that cannot be bound: a *Req gets the TS002 answer (HTTP 200,
 * the answer's Result saying why: TS002 carries a synchronous answer,
 * failures included, in the response body); an *Ans gets 403, since an
 * answer is never answered. */
static void
refuse_msg(struct sconn *c, struct http_relay *h, const struct ts002_msg *m,
    enum mx_ts002 count, const char *result_code, const char *desc)
{
	char *ans;
	size_t len = 0;

	mx_ts002(c->base.l->mx, count);
	if (m->is_answer) {
		log_refusal(c, m, 403, result_code, desc);
		refuse(h, 403, "Forbidden", TS002_ANS_UNBOUND,
		    sizeof(TS002_ANS_UNBOUND) - 1, NULL);
		return;
	}
	if ((ans = ts002_reject_answer(m, result_code, desc, &len)) == NULL) {
		/* Out of memory: fail closed, without the answer. */
		log_refusal(c, m, 503, result_code, desc);
		refuse(h, 503, "Service Unavailable", NULL, 0, NULL);
		return;
	}
	log_refusal(c, m, 200, result_code, desc);
	refuse(h, 200, "OK", ans, len, NULL);
	free(ans);
}

void
sconn_ts002_inspect(void *arg, struct http_relay *h,
    const struct http_inspected *rq)
{
	struct sconn *c = arg;
	struct server_listener *l = sconn_listener(c);
	struct ts002_msg m;
	char why[128], desc[TS002_ID_MAX + CLIENTID_NAME_MAX + 96];
	int r;

	if (strcmp(rq->method, "POST") != 0) {
		/* TS002 is POST only; a health check belongs on the admin
		 * endpoint, not on a listener that vouches for every request. */
		mx_ts002(c->base.l->mx, MX_TS002_MALFORMED);
		log_refusal(c, NULL, 405, "not_post", rq->method);
		refuse(h, 405, "Method Not Allowed", TS002_NOT_POST,
		    sizeof(TS002_NOT_POST) - 1, "POST");
		return;
	}
	memset(&m, 0, sizeof(m));
	why[0] = '\0';
	r = rq->body_len > 0 ? ts002_parse(rq->body, rq->body_len, &m, why,
	    sizeof(why)) : DP_ERR_INVALID;
	if (r != DP_OK) {
		/* Not identified enough to answer in TS002 terms (the codec
		 * says nothing of *m on failure): plain 400. */
		mx_ts002(c->base.l->mx, MX_TS002_MALFORMED);
		log_refusal(c, NULL, 400, "malformed",
		    rq->body_len > 0 ? why : "empty body");
		refuse(h, 400, "Bad Request", TS002_NOT_TS002,
		    sizeof(TS002_NOT_TS002) - 1, NULL);
		return;
	}
	if (!sconn_authenticated(c)) {
		/* client_auth = optional: no name to bind the SenderID to. */
		snprintf(desc, sizeof(desc), "SenderID %s: the client is not "
		    "authenticated", m.sender_id);
		refuse_msg(c, h, &m, MX_TS002_UNKNOWN_SENDER,
		    TS002_RC_UNKNOWN_SENDER, desc);
		return;
	}
	if (l->conf->ts002_binding == TS002_DNS) {
		sconn_ts002_dns_judge(c, h, &m);
		return;
	}
	if (l->ts002 == NULL || !ts002_map_binds(l->ts002, &m, c->name)) {
		snprintf(desc, sizeof(desc), "SenderID %s is not bound to %s",
		    m.sender_id, c->name);
		sconn_ts002_unbound(c, h, &m, desc);
		return;
	}
	sconn_ts002_bound(c, h, &m, "map", NULL);
}

void
sconn_ts002_bound(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m, const char *by, const char *via)
{
	struct http_verdict pass = { .pass = 1 };
	/* room for the longest AS-ID and target: never a truncated header */
	char value[TS002_ID_MAX + DNS_TARGET_NAME_MAX + 64];

	mx_ts002(c->base.l->mx, MX_TS002_BOUND);
	if (via != NULL)
		snprintf(value, sizeof(value), "held; sender-id=%s; by=%s; via=%s",
		    m->sender_id, by, via);
	else
		snprintf(value, sizeof(value), "held; sender-id=%s; by=%s",
		    m->sender_id, by);
	pass.add_name = SCONN_TS002_HEADER;
	pass.add_value = value;
	http_relay_verdict(h, &pass);
}

void
sconn_ts002_unbound(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m, const char *desc)
{
	refuse_msg(c, h, m, MX_TS002_UNKNOWN_SENDER, TS002_RC_UNKNOWN_SENDER,
	    desc);
}

/* TS002 has no ResultCode for "the receiver cannot decide now"
 * (UnknownSender would tell the sender, wrongly and for good, that it is
 * not known): HTTP 503, which senders retry, for requests and answers. */
void
sconn_ts002_unavailable(struct sconn *c, struct http_relay *h,
    const struct ts002_msg *m, const char *why)
{
	mx_ts002(c->base.l->mx, MX_TS002_DNS_ERROR);
	log_refusal(c, m, 503, "dns_error", why);
	refuse(h, 503, "Service Unavailable", TS002_DNS_UNAVAILABLE,
	    sizeof(TS002_DNS_UNAVAILABLE) - 1, NULL);
}

void
sconn_ts002_oversize(void *arg, struct http_relay *h, const char *method,
    const char *target, uint64_t declared)
{
	struct sconn *c = arg;
	char why[64];

	(void)h;
	(void)target;
	mx_ts002(c->base.l->mx, MX_TS002_TOO_LARGE);
	snprintf(why, sizeof(why), "%s body of %" PRIu64 " bytes or more", method,
	    declared);
	log_refusal(c, NULL, 413, "too_large", why);
}
