/* dns.c — see dns.h.
 *
 * One query object per lookup, on a list owned by the client so that
 * dns_client_free() can cancel them all. Whatever the back end, a finished
 * lookup stores its result in the query and activates an event: the user's
 * callback therefore always runs from the event loop, never from inside
 * dns_lookup_tlsa() (libunbound answers local data synchronously, inside
 * ub_resolve_event) and never from inside a libunbound callback (where
 * calling back into libunbound, or freeing its context, is not safe).
 *
 * Both back ends parse the answer with the same pure code (codec/dnsanswer.c):
 * the real RCODE, the CNAME chain, the TLSA RRs at its end, their TTL and the
 * earliest expiration of the RRSIGs over them, the SOA negative TTL. */
#include "dns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <ldns/ldns.h>
#include <unbound-event.h>
#include <unbound.h>

#include "err.h"
#include "log.h"
#include "util.h"

#define DNS_RR_TYPE_TLSA 52
#define DNS_EDNS_SIZE 1232
#define DNS_TCP_MAX (65535 + 2)	/* largest message plus its length prefix */
#define DNS_UDP_MAX 65535
#define DNS_TRIES_PER_RESOLVER 2
/* Unbound's own val-bogus-ttl default: how long a bogus answer may be kept
 * (the cache caps it with negative_cache_ttl). */
#define DNS_BOGUS_TTL 60

struct dns_client {
	struct event_base *base;	/**< not owned */
	enum conf_dns_mode mode;
	unsigned timeout_ms;		/**< whole lookup */
	size_t n_resolvers;
	struct dp_addr resolvers[CONF_MAX_RESOLVERS];
	struct ub_ctx *ub;		/**< validate mode */
	uint64_t started;		/**< lookups started */
	struct dns_query *head;		/**< live queries (pending or finished
					 * but not yet delivered) */
};

/* One UDP socket of a resolver-ad lookup, connected to one resolver. */
struct ad_udp {
	int fd;				/**< -1 until first used */
	struct event *ev;		/**< persistent read event */
};

struct dns_query {
	struct dns_client *c;
	struct dns_query *prev, *next;	/**< on c->head */
	dns_cb cb;
	void *arg;
	char *owner;			/**< as given */
	ldns_rdf *qname;		/**< owner as a dname, for matching */
	struct event *timeout_ev;	/**< whole-lookup timer */
	struct event *done_ev;		/**< delivers res from the loop */
	int finished;			/**< res holds the outcome */
	struct dns_result res;
	char why[160];			/**< res.why points here */

	/* validate mode */
	int ub_id;			/**< async id, when ub_pending */
	int ub_pending;			/**< libunbound still owes a callback */

	/* resolver-ad mode */
	uint8_t *wire;			/**< the query (ldns-allocated) */
	size_t wire_len;
	unsigned tries;			/**< UDP sends so far */
	unsigned max_tries;
	size_t last_ri;			/**< resolver of the latest try */
	struct event *try_ev;		/**< per-try retransmit timer */
	struct ad_udp udp[CONF_MAX_RESOLVERS];
	int tcp_fd;			/**< -1 when no TCP exchange runs */
	struct event *tcp_ev;
	int tcp_connected;
	uint8_t *tcp_buf;		/**< query out, then answer in */
	size_t tcp_len;			/**< bytes to send / expected to read */
	size_t tcp_off;			/**< bytes sent / read so far */
	int tcp_reading;		/**< 0: sending the query; 1: reading */
};

const char *
dns_status_str(enum dns_status s)
{
	switch (s) {
	case DNS_SECURE: return "secure";
	case DNS_SECURE_NXDOMAIN: return "nxdomain";
	case DNS_SECURE_NODATA: return "nodata";
	case DNS_INSECURE: return "insecure";
	case DNS_BOGUS: return "bogus";
	case DNS_TEMPFAIL: return "servfail/error";
	case DNS_TIMEOUT: return "timeout";
	}
	return "unknown";
}

uint64_t
dns_queries_started(const struct dns_client *c)
{
	return c->started;
}

/* A name the proxy looks up: a DNS name (dp_dns_name_check), or "." (the
 * root, which only the readiness probe asks for). */
static int
owner_valid(const char *s)
{
	return strcmp(s, ".") == 0 || dp_dns_name_check(s, strlen(s)) == DP_OK;
}

/* ---- query life cycle ---- */

static void query_stop_io(struct dns_query *q);

static void
query_unlink(struct dns_query *q)
{
	if (q->c == NULL)
		return;
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		q->c->head = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

/* Frees everything of q; q must be unlinked and its I/O stopped. */
static void
query_free(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->timeout_ev != NULL)
		event_free(q->timeout_ev);
	if (q->done_ev != NULL)
		event_free(q->done_ev);
	tlsa_rrset_clear(&q->res.rrset);
	if (q->qname != NULL)
		ldns_rdf_deep_free(q->qname);
	free(q->wire);	/* ldns_pkt2wire allocates with malloc */
	free(q->owner);
	free(q);
}

/* Records the outcome and schedules its delivery. The rrset (if any) is
 * taken from *set. */
static void
query_finish(struct dns_query *q, enum dns_status status, uint32_t ttl,
    struct tlsa_rrset *set, const char *why)
{
	if (q->finished)
		return;
	q->finished = 1;
	query_stop_io(q);
	q->res.status = status;
	q->res.ttl = ttl;
	if (set != NULL) {
		q->res.rrset = *set;
		memset(set, 0, sizeof(*set));
	}
	dp_strlcpy(q->why, why != NULL ? why : "", sizeof(q->why));
	q->res.why = q->why[0] != '\0' ? q->why : NULL;
	event_active(q->done_ev, 0, 0);
}

static void
query_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	/* Unlinked first: the callback may free the client (and with it every
	 * other query) or start new lookups. */
	query_unlink(q);
	q->cb(q->arg, &q->res);
	query_free(q);
}

static void
query_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	char why[64];

	snprintf(why, sizeof(why), "no answer within %u ms", q->c->timeout_ms);
	query_finish(q, DNS_TIMEOUT, 0, NULL, why);
}

/* ---- validate mode: libunbound ---- */

/* Ends q with what a parsed answer says, given whether DNSSEC vouched for
 * it (libunbound's verdict, or the AD bit of a trusted resolver). Takes the
 * records out of info. */
static void
answer_finish(struct dns_query *q, struct dns_answer *info, int secure,
    const char *insecure_why)
{
	char why[64];

	if (info->rcode != LDNS_RCODE_NOERROR &&
	    info->rcode != LDNS_RCODE_NXDOMAIN) {
		snprintf(why, sizeof(why), "rcode %s", dns_rcode_str(info->rcode));
		query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
	} else if (!secure) {
		query_finish(q, DNS_INSECURE, info->rrset.n > 0 ?
		    info->tlsa_ttl : info->neg_ttl, NULL, insecure_why);
	} else if (info->rcode == LDNS_RCODE_NXDOMAIN) {
		query_finish(q, DNS_SECURE_NXDOMAIN, info->neg_ttl, NULL,
		    "nxdomain");
	} else if (info->rrset.n == 0) {
		query_finish(q, DNS_SECURE_NODATA, info->neg_ttl, NULL,
		    "nodata");
	} else {
		dp_strlcpy(q->res.wildcard, info->wildcard, sizeof(q->res.wildcard));
		query_finish(q, DNS_SECURE, dns_answer_secure_ttl(info),
		    &info->rrset, NULL);
	}
	tlsa_rrset_clear(&info->rrset);
}

static void
ub_answer_cb(void *arg, int rcode, void *packet, int packet_len, int sec,
    char *why_bogus, int was_ratelimited)
{
	struct dns_query *q = arg;
	struct dns_answer info;
	char why[160];
	int r;

	q->ub_pending = 0;
	if (q->finished)	/* cannot happen: ub_cancel stops callbacks */
		return;
	if (sec == 1) {
		snprintf(why, sizeof(why), "%s",
		    why_bogus != NULL ? why_bogus : "validation failed");
		query_finish(q, DNS_BOGUS, DNS_BOGUS_TTL, NULL, why);
		return;
	}
	/* The rcode argument is not the answer's RCODE (0 on NXDOMAIN):
	 * nonzero means the resolution itself failed. */
	if ((rcode != 0 && rcode != LDNS_RCODE_NXDOMAIN) || packet == NULL ||
	    packet_len <= 0) {
		snprintf(why, sizeof(why), "unbound: %s%s", dns_rcode_str(rcode),
		    was_ratelimited ? " (ratelimited)" : "");
		query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
		return;
	}
	if ((r = dns_answer_parse(packet, (size_t)packet_len, q->owner,
	    (uint32_t)time(NULL), &info)) != DP_OK) {
		query_finish(q, DNS_TEMPFAIL, 0, NULL, r == DP_ERR_NOMEM ?
		    "out of memory" : "unparsable answer");
		return;
	}
	log_debug("dns: %s: validate: sec=%d rcode=%d tlsa=%zu ttl=%u rrsig=%s "
	    "sig_left=%lld soa=%s neg_ttl=%u", q->owner, sec, info.rcode,
	    info.rrset.n, info.tlsa_ttl, info.have_sig ? "yes" : "no",
	    (long long)info.sig_left, info.have_soa ? "yes" : "no",
	    info.neg_ttl);

	answer_finish(q, &info, sec == 2, "insecure");
}

static int
ub_setup(struct dns_client *c, const struct conf_dns *conf, char *err,
    size_t err_size)
{
	FILE *f;
	size_t i;
	int r;

	if (conf->trust_anchor_file == NULL) {
		snprintf(err, err_size, "validate mode needs a trust anchor file");
		return DP_ERR_INVALID;
	}
	/* libunbound reads the file only when the context is finalised: check
	 * it here to give a clear message. */
	if ((f = fopen(conf->trust_anchor_file, "r")) == NULL) {
		snprintf(err, err_size, "trust anchor file %s: %s",
		    conf->trust_anchor_file, strerror(errno));
		return DP_ERR_INVALID;
	}
	fclose(f);
	if ((c->ub = ub_ctx_create_event(c->base)) == NULL) {
		snprintf(err, err_size, "cannot create the libunbound context");
		return DP_ERR_NOMEM;
	}
	if ((r = ub_ctx_add_ta_file(c->ub, conf->trust_anchor_file)) != 0 ||
	    /* the configured resolvers are usually on loopback */
	    (r = ub_ctx_set_option(c->ub, "do-not-query-localhost:", "no")) != 0 ||
	    (r = ub_ctx_set_option(c->ub, "qname-minimisation:", "no")) != 0) {
		snprintf(err, err_size, "libunbound setup: %s", ub_strerror(r));
		return DP_ERR_DNS;
	}
	for (i = 0; i < c->n_resolvers; i++) {
		const struct sockaddr *sa =
		    (const struct sockaddr *)&c->resolvers[i].ss;
		char ip[INET6_ADDRSTRLEN], fwd[INET6_ADDRSTRLEN + 8];
		unsigned port;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)sa;
			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			port = ntohs(s4->sin_port);
		} else {
			const struct sockaddr_in6 *s6 = (const void *)sa;
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			port = ntohs(s6->sin6_port);
		}
		snprintf(fwd, sizeof(fwd), "%s@%u", ip, port);
		if ((r = ub_ctx_set_fwd(c->ub, fwd)) != 0) {
			snprintf(err, err_size, "forwarder %s: %s", fwd,
			    ub_strerror(r));
			return DP_ERR_INVALID;
		}
	}
	/* Unbound answers the RFC 6761 name "test." itself (NXDOMAIN) by
	 * default; a lab or a private deployment may delegate it for real.
	 * Removing the zone also finalises the context, which loads the trust
	 * anchor now rather than at the first lookup. */
	if ((r = ub_ctx_zone_remove(c->ub, "test.")) != 0) {
		snprintf(err, err_size, "libunbound: %s (trust anchor file %s "
		    "unusable?)", ub_strerror(r), conf->trust_anchor_file);
		return r == UB_NOMEM ? DP_ERR_NOMEM : DP_ERR_DNS;
	}
	return DP_OK;
}

static int
ub_start(struct dns_query *q)
{
	char why[96];
	int r;

	q->ub_pending = 1;
	r = ub_resolve_event(q->c->ub, q->owner, DNS_RR_TYPE_TLSA,
	    LDNS_RR_CLASS_IN, q, ub_answer_cb, &q->ub_id);
	if (r != 0) {
		q->ub_pending = 0;
		if (r == UB_NOMEM)
			return DP_ERR_NOMEM;
		snprintf(why, sizeof(why), "unbound: %s", ub_strerror(r));
		query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
	}
	/* A local answer already ran ub_answer_cb (and cleared ub_pending). */
	return DP_OK;
}

/* ---- resolver-ad mode: our own stub over UDP and TCP ---- */

static void ad_send_try(struct dns_query *q);

static void
ad_tcp_close(struct dns_query *q)
{
	if (q->tcp_ev != NULL) {
		event_free(q->tcp_ev);
		q->tcp_ev = NULL;
	}
	if (q->tcp_fd >= 0) {
		close(q->tcp_fd);
		q->tcp_fd = -1;
	}
	free(q->tcp_buf);
	q->tcp_buf = NULL;
}

/* Judges one received message. Returns 1 if it ended the lookup, 0 if it was
 * ignored (not ours, malformed), 2 if it asked for TCP. */
static int
ad_handle_packet(struct dns_query *q, const uint8_t *buf, size_t len,
    int over_tcp)
{
	struct dns_answer info;
	int r;

	/* Cheap checks before parsing: our ID, a response. */
	if (len < 12 || ((buf[0] << 8) | buf[1]) != ldns_read_uint16(q->wire) ||
	    (buf[2] & 0x80) == 0)
		return 0;
	r = dns_answer_parse(buf, len, q->owner, (uint32_t)time(NULL), &info);
	if (r == DP_ERR_NOMEM) {
		query_finish(q, DNS_TEMPFAIL, 0, NULL, "out of memory");
		return 1;
	}
	if (r != DP_OK || !info.question_ok) {
		tlsa_rrset_clear(&info.rrset);
		return 0;
	}
	if (info.tc && !over_tcp) {
		tlsa_rrset_clear(&info.rrset);
		return 2;
	}
	log_debug("dns: %s: resolver-ad: %s rcode=%d ad=%d tlsa=%zu ttl=%u "
	    "rrsig=%s sig_left=%lld soa=%s neg_ttl=%u", q->owner,
	    over_tcp ? "tcp" : "udp", info.rcode, info.ad, info.rrset.n,
	    info.tlsa_ttl, info.have_sig ? "yes" : "no",
	    (long long)info.sig_left, info.have_soa ? "yes" : "no",
	    info.neg_ttl);

	if (info.rcode == LDNS_RCODE_SERVFAIL) {
		/* A validating resolver says SERVFAIL for bogus data too: from
		 * here the two cannot be told apart. */
		query_finish(q, DNS_TEMPFAIL, 0, NULL,
		    "servfail (bogus data or resolution failure)");
		tlsa_rrset_clear(&info.rrset);
		return 1;
	}
	answer_finish(q, &info, info.ad, "no AD bit");
	return 1;
}

static void ad_tcp_start(struct dns_query *q, size_t ri);

static void
ad_udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	size_t ri;
	uint8_t buf[DNS_UDP_MAX];
	ssize_t n;
	int r, i;

	for (ri = 0; ri < q->c->n_resolvers; ri++)
		if (q->udp[ri].fd == fd)
			break;
	/* A few datagrams per wake-up: a flood of spoofed ones must not
	 * starve the loop. */
	for (i = 0; i < 16 && !q->finished; i++) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			/* ECONNREFUSED and the like: this resolver is not
			 * there. If it had the latest try, go on to the next
			 * one now rather than when the try timer fires. */
			log_debug("dns: %s: recv from resolver %zu: %s",
			    q->owner, ri, strerror(errno));
			if (ri == q->last_ri && q->tries < q->max_tries) {
				evtimer_del(q->try_ev);
				ad_send_try(q);
			}
			return;
		}
		r = ad_handle_packet(q, buf, (size_t)n, 0);
		if (r == 1)
			return;
		if (r == 2 && q->tcp_fd < 0 && ri < q->c->n_resolvers)
			ad_tcp_start(q, ri);
	}
}

static void
ad_tcp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	ssize_t n;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (!q->tcp_connected) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
		    soerr != 0)
			goto fail;
		q->tcp_connected = 1;
	}
	if (!q->tcp_reading) {
		n = send(fd, q->tcp_buf + q->tcp_off, q->tcp_len - q->tcp_off,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return;
			goto fail;
		}
		q->tcp_off += (size_t)n;
		if (q->tcp_off < q->tcp_len)
			return;
		/* Query sent: switch to reading the length prefix. */
		q->tcp_reading = 1;
		q->tcp_off = 0;
		q->tcp_len = 2;
		event_del(q->tcp_ev);
		event_assign(q->tcp_ev, q->c->base, fd, EV_READ | EV_PERSIST,
		    ad_tcp_cb, q);
		event_add(q->tcp_ev, NULL);
		return;
	}
	n = recv(fd, q->tcp_buf + q->tcp_off, q->tcp_len - q->tcp_off, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		goto fail;
	}
	if (n == 0)
		goto fail;
	q->tcp_off += (size_t)n;
	if (q->tcp_off < q->tcp_len)
		return;
	if (q->tcp_len == 2) {
		size_t msg = ((size_t)q->tcp_buf[0] << 8) | q->tcp_buf[1];
		if (msg < 12)
			goto fail;
		q->tcp_len = 2 + msg;	/* <= DNS_TCP_MAX by construction */
		return;
	}
	if (ad_handle_packet(q, q->tcp_buf + 2, q->tcp_len - 2, 1) == 1)
		return;		/* finished: I/O already stopped */
fail:
	/* A failed or useless TCP exchange: drop it; UDP retransmits and
	 * the overall timer go on. */
	ad_tcp_close(q);
}

static void
ad_tcp_start(struct dns_query *q, size_t ri)
{
	const struct dp_addr *a = &q->c->resolvers[ri];
	int fd;

	if ((q->tcp_buf = malloc(DNS_TCP_MAX)) == NULL)
		return;
	q->tcp_buf[0] = (uint8_t)(q->wire_len >> 8);
	q->tcp_buf[1] = (uint8_t)q->wire_len;
	memcpy(q->tcp_buf + 2, q->wire, q->wire_len);
	q->tcp_len = q->wire_len + 2;
	q->tcp_off = 0;
	q->tcp_reading = 0;
	q->tcp_connected = 0;
	if ((fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	q->tcp_fd = fd;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 &&
	    errno != EINPROGRESS)
		goto fail;
	if ((q->tcp_ev = event_new(q->c->base, fd, EV_WRITE | EV_PERSIST,
	    ad_tcp_cb, q)) == NULL || event_add(q->tcp_ev, NULL) < 0)
		goto fail;
	return;
fail:
	log_debug("dns: %s: TCP to resolver: %s", q->owner, strerror(errno));
	ad_tcp_close(q);
}

/* Socket for resolver ri, created and connected on first use. */
static int
ad_udp_get(struct dns_query *q, size_t ri)
{
	struct ad_udp *u = &q->udp[ri];
	const struct dp_addr *a = &q->c->resolvers[ri];
	int fd;

	if (u->fd >= 0)
		return u->fd;
	if ((fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    (u->ev = event_new(q->c->base, fd, EV_READ | EV_PERSIST,
	    ad_udp_read_cb, q)) == NULL || event_add(u->ev, NULL) < 0) {
		if (u->ev != NULL)
			event_free(u->ev);
		u->ev = NULL;
		close(fd);
		return -1;
	}
	u->fd = fd;
	return fd;
}

static void
ad_try_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;
	unsigned tries = q->tries;
	size_t ri;

	/* A busy loop may run this timer before the read event of an answer
	 * that is already waiting: read first, so a slow loop does not send
	 * a needless second query. query_finish defers delivery, so q stays
	 * valid here. */
	for (ri = 0; ri < q->c->n_resolvers && !q->finished; ri++)
		if (q->udp[ri].fd >= 0)
			ad_udp_read_cb(q->udp[ri].fd, EV_READ, q);
	if (!q->finished && q->tries == tries)	/* (a refusal sends on itself) */
		ad_send_try(q);
}

/* Sends the next try (resolvers in turn, each at most twice) and arms the
 * per-try timer; after the last try only the overall timer is left. */
static void
ad_send_try(struct dns_query *q)
{
	struct dns_client *c = q->c;
	unsigned per_try = c->timeout_ms / q->max_tries;
	struct timeval tv;
	size_t ri;
	int fd;

	while (q->tries < q->max_tries) {
		ri = q->tries % c->n_resolvers;
		q->tries++;
		q->last_ri = ri;
		if ((fd = ad_udp_get(q, ri)) < 0 ||
		    send(fd, q->wire, q->wire_len, 0) < 0) {
			log_debug("dns: %s: send to resolver %zu: %s",
			    q->owner, ri, strerror(errno));
			continue;	/* next resolver now */
		}
		if (q->tries < q->max_tries) {
			tv = dp_ms_tv(per_try);
			evtimer_add(q->try_ev, &tv);
		}
		return;
	}
}

static int
ad_build_query(struct dns_query *q)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *name = NULL;
	uint16_t id;
	int r = DP_ERR_NOMEM;

	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		return DP_ERR_INTERNAL;
	if ((name = ldns_rdf_clone(q->qname)) == NULL)
		goto out;
	if ((pkt = ldns_pkt_query_new(name, DNS_RR_TYPE_TLSA,
	    LDNS_RR_CLASS_IN, LDNS_RD)) == NULL) {
		ldns_rdf_deep_free(name);
		goto out;
	}
	/* name now belongs to pkt */
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_cd(pkt, false);
	ldns_pkt_set_edns_udp_size(pkt, DNS_EDNS_SIZE);
	ldns_pkt_set_edns_do(pkt, true);
	if (ldns_pkt2wire(&q->wire, pkt, &q->wire_len) != LDNS_STATUS_OK)
		goto out;
	r = DP_OK;
out:
	ldns_pkt_free(pkt);
	return r;
}

static int
ad_start(struct dns_query *q)
{
	int r;

	if ((r = ad_build_query(q)) != DP_OK)
		return r;
	q->max_tries = (unsigned)q->c->n_resolvers * DNS_TRIES_PER_RESOLVER;
	if ((q->try_ev = evtimer_new(q->c->base, ad_try_cb, q)) == NULL)
		return DP_ERR_NOMEM;
	ad_send_try(q);
	return DP_OK;
}

/* Stops timers, sockets and the libunbound query; q stays linked. */
static void
query_stop_io(struct dns_query *q)
{
	size_t i;

	if (q->timeout_ev != NULL)
		event_del(q->timeout_ev);
	if (q->ub_pending) {
		/* In event mode ub_cancel only marks the query: libunbound
		 * finishes its work but will not call ub_answer_cb. */
		ub_cancel(q->c->ub, q->ub_id);
		q->ub_pending = 0;
	}
	if (q->try_ev != NULL) {
		event_free(q->try_ev);
		q->try_ev = NULL;
	}
	for (i = 0; i < CONF_MAX_RESOLVERS; i++) {
		if (q->udp[i].ev != NULL)
			event_free(q->udp[i].ev);
		q->udp[i].ev = NULL;
		if (q->udp[i].fd >= 0)
			close(q->udp[i].fd);
		q->udp[i].fd = -1;
	}
	ad_tcp_close(q);
}

/* ---- public ---- */

int
dns_client_new(struct event_base *base, const struct conf_dns *conf,
    struct dns_client **out, char *err, size_t err_size)
{
	struct dns_client *c = NULL;
	char a[DP_ADDR_STRLEN];
	size_t i;
	int r = DP_ERR_INTERNAL;

	*out = NULL;
	if (err_size > 0)
		err[0] = '\0';
	if (conf->n_resolvers > CONF_MAX_RESOLVERS || conf->timeout_ms == 0) {
		snprintf(err, err_size, "bad resolver count or timeout");
		return DP_ERR_INVALID;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, err_size, "out of memory");
		return DP_ERR_NOMEM;
	}
	c->base = base;
	c->mode = conf->mode;
	c->timeout_ms = conf->timeout_ms;
	c->n_resolvers = conf->n_resolvers;
	memcpy(c->resolvers, conf->resolvers, sizeof(c->resolvers));
	for (i = 0; i < c->n_resolvers; i++) {
		int fam = c->resolvers[i].ss.ss_family;
		if (fam != AF_INET && fam != AF_INET6) {
			snprintf(err, err_size, "resolver %zu: not an IP address",
			    i + 1);
			r = DP_ERR_INVALID;
			goto out;
		}
	}
	if (c->mode == DNS_MODE_RESOLVER_AD) {
		if (c->n_resolvers == 0) {
			snprintf(err, err_size,
			    "mode resolver-ad needs at least one resolver");
			r = DP_ERR_INVALID;
			goto out;
		}
		/* The AD bit is only worth what the path to the resolver is. */
		for (i = 0; i < c->n_resolvers; i++) {
			const struct sockaddr *sa =
			    (const struct sockaddr *)&c->resolvers[i].ss;
			if (!conf->allow_remote_resolver &&
			    !dp_addr_is_loopback(sa)) {
				snprintf(err, err_size, "resolver %s is not on "
				    "loopback (allow_remote_resolver = no)",
				    dp_addr_str(sa, a, sizeof(a)));
				r = DP_ERR_INVALID;
				goto out;
			}
		}
	} else if ((r = ub_setup(c, conf, err, err_size)) != DP_OK) {
		goto out;
	}
	*out = c;
	c = NULL;	/* transferred */
	r = DP_OK;
out:
	dns_client_free(c);
	return r;
}

void
dns_client_free(struct dns_client *c)
{
	struct dns_query *q;

	if (c == NULL)
		return;
	while ((q = c->head) != NULL) {
		query_stop_io(q);
		query_unlink(q);
		query_free(q);
	}
	/* Its events are on c->base: free it before the base. */
	if (c->ub != NULL)
		ub_ctx_delete(c->ub);
	free(c);
}

int
dns_lookup_tlsa(struct dns_client *c, const char *owner, dns_cb cb,
    void *arg, struct dns_query **out)
{
	struct dns_query *q = NULL;
	struct timeval tv;
	size_t i;
	int r = DP_ERR_NOMEM;

	if (out != NULL)
		*out = NULL;
	if (!owner_valid(owner))
		return DP_ERR_INVALID;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return DP_ERR_NOMEM;
	q->c = c;
	q->cb = cb;
	q->arg = arg;
	q->tcp_fd = -1;
	for (i = 0; i < CONF_MAX_RESOLVERS; i++)
		q->udp[i].fd = -1;
	if ((q->owner = strdup(owner)) == NULL)
		goto fail;
	if ((q->qname = ldns_dname_new_frm_str(owner)) == NULL) {
		r = DP_ERR_INVALID;
		goto fail;
	}
	if ((q->timeout_ev = evtimer_new(c->base, query_timeout_cb, q)) == NULL ||
	    (q->done_ev = event_new(c->base, -1, 0, query_deliver_cb, q)) == NULL)
		goto fail;
	tv = dp_ms_tv(c->timeout_ms);
	if (evtimer_add(q->timeout_ev, &tv) < 0)
		goto fail;
	/* Linked before starting: a synchronous libunbound answer finishes q
	 * right away, and a finished q must be on the list to be freed. */
	q->next = c->head;
	if (c->head != NULL)
		c->head->prev = q;
	c->head = q;
	r = c->mode == DNS_MODE_VALIDATE ? ub_start(q) : ad_start(q);
	if (r != DP_OK) {
		query_stop_io(q);
		query_unlink(q);
		goto fail;
	}
	c->started++;
	if (out != NULL)
		*out = q;
	return DP_OK;
fail:
	query_free(q);
	return r;
}

void
dns_query_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	query_stop_io(q);
	query_unlink(q);
	query_free(q);
}
