/* dns_stub.c — the resolver-ad back end of dns.c: ldns-built queries (random
 * ID, RD=1, DO=1, EDNS size set, CD=0) over UDP with TCP on truncation, to
 * the configured resolvers in turn. An answer counts only if its ID and
 * question match; the AD bit of the (trusted, loopback by default) resolver
 * says whether it is secure. */
#include "dnsq.h"

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

#include "err.h"
#include "log.h"
#include "util.h"

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

/* ad_handle_packet for a dns_lookup_targets or dns_lookup_rrsets query:
 * the same checks, the same verdicts. */
static int
ad_handle_targets(struct dns_query *q, const uint8_t *buf, size_t len,
    int over_tcp)
{
	struct dns_targets t;

	if (dns_targets_parse(buf, len, q->owner, q->qtype, &t) != DP_OK ||
	    !t.question_ok)
		return 0;
	if (t.tc && !over_tcp)
		return 2;
	log_debug("dns: %s: resolver-ad: %s type %u rcode=%d ad=%d targets=%zu "
	    "ttl=%u rrs=%zu", q->owner, over_tcp ? "tcp" : "udp", q->qtype,
	    t.rcode, t.ad, t.n, t.ttl, t.n_rr);
	if (t.rcode == LDNS_RCODE_SERVFAIL) {
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL,
		    "servfail (bogus data or resolution failure)");
		return 1;
	}
	if (q->raw)
		dns_rrsets_finish(q, &t, buf, len, t.ad, "no AD bit");
	else
		dns_targets_finish(q, &t, t.ad, "no AD bit");
	return 1;
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
	if (q->raw || q->qtype != DNS_RR_TYPE_TLSA)
		return ad_handle_targets(q, buf, len, over_tcp);
	r = dns_answer_parse(buf, len, q->owner, (uint32_t)time(NULL), &info);
	if (r == DP_ERR_NOMEM) {
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, "out of memory");
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
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL,
		    "servfail (bogus data or resolution failure)");
		tlsa_rrset_clear(&info.rrset);
		return 1;
	}
	dns_answer_finish(q, &info, info.ad, "no AD bit");
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
	if ((pkt = ldns_pkt_query_new(name, (ldns_rr_type)q->qtype,
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

int
dns_ad_start(struct dns_query *q)
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

void
dns_ad_stop(struct dns_query *q)
{
	size_t i;

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
