/* dns_unbound.c — the validate back end of dns.c: libunbound on the
 * caller's event_base (ub_ctx_create_event), validating from the trust
 * anchor, with the configured resolvers as forwarders. Only secure == 2
 * answers are secure; the answer packet is parsed for the real RCODE (the
 * callback's rcode argument is 0 on NXDOMAIN).
 *
 * What the answer packet holds (dns_lookup_rrsets hands it on whole, and
 * dane/staple.c builds a DNSSEC chain from it), read in unbound's source
 * (NLnetLabs/unbound, libunbound/libworker.c, services/mesh.c,
 * util/data/msgencode.c) and checked against the lab (52-staple-build.t):
 *  - libworker's setup_qinfo_edns() sets EDNS_DO on every query libunbound
 *    makes for us, and mesh_do_callback() encodes the reply with
 *    reply_info_encode(..., dnssec = edns.bits & EDNS_DO, ...): the RRSIGs
 *    of every RRset are in the packet, no option needed.
 *  - minimal-responses (on by default) drops the authority section of a
 *    positive answer, except when it holds an NSEC or NSEC3
 *    (msgencode.c positive_answer(): "in case it is a wildcard with DNSSEC,
 *    there will be NSEC/NSEC3 records in the authority section that we
 *    cannot remove"): a wildcard answer keeps its proof of no closer match.
 * So the answer packet is enough; no second lookup is needed. */
#include "dnsq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <unbound-event.h>
#include <unbound.h>

#include "err.h"
#include "log.h"
#include "util.h"

/* Unbound's own val-bogus-ttl default: how long a bogus answer may be kept
 * (the cache caps it with negative_cache_ttl). */
#define DNS_BOGUS_TTL 60

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
		dns_query_finish(q, DNS_BOGUS, DNS_BOGUS_TTL, NULL, why);
		return;
	}
	/* The rcode argument is not the answer's RCODE (0 on NXDOMAIN):
	 * nonzero means the resolution itself failed. */
	if ((rcode != 0 && rcode != LDNS_RCODE_NXDOMAIN) || packet == NULL ||
	    packet_len <= 0) {
		snprintf(why, sizeof(why), "unbound: %s%s", dns_rcode_str(rcode),
		    was_ratelimited ? " (ratelimited)" : "");
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
		return;
	}
	if (q->raw || q->qtype != DNS_RR_TYPE_TLSA) {
		struct dns_targets t;
		if (dns_targets_parse(packet, (size_t)packet_len, q->owner,
		    q->qtype, &t) != DP_OK) {
			dns_query_finish(q, DNS_TEMPFAIL, 0, NULL,
			    "unparsable answer");
			return;
		}
		log_debug("dns: %s: validate: type %u sec=%d rcode=%d "
		    "targets=%zu ttl=%u rrs=%zu", q->owner, q->qtype, sec,
		    t.rcode, t.n, t.ttl, t.n_rr);
		if (q->raw)
			dns_rrsets_finish(q, &t, packet, (size_t)packet_len,
			    sec == 2, "no chain of trust to the zone");
		else
			dns_targets_finish(q, &t, sec == 2,
			    "no chain of trust to the zone");
		return;
	}
	if ((r = dns_answer_parse(packet, (size_t)packet_len, q->owner,
	    (uint32_t)time(NULL), &info)) != DP_OK) {
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, r == DP_ERR_NOMEM ?
		    "out of memory" : "unparsable answer");
		return;
	}
	log_debug("dns: %s: validate: sec=%d rcode=%d tlsa=%zu ttl=%u rrsig=%s "
	    "sig_left=%lld soa=%s neg_ttl=%u", q->owner, sec, info.rcode,
	    info.rrset.n, info.tlsa_ttl, info.have_sig ? "yes" : "no",
	    (long long)info.sig_left, info.have_soa ? "yes" : "no",
	    info.neg_ttl);

	dns_answer_finish(q, &info, sec == 2, "no chain of trust to the zone");
}

int
dns_ub_setup(struct dns_client *c, const struct conf_dns *conf, char *err,
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

int
dns_ub_start(struct dns_query *q)
{
	char why[96];
	int r;

	q->ub_pending = 1;
	r = ub_resolve_event(q->c->ub, q->owner, q->qtype,
	    LDNS_RR_CLASS_IN, q, ub_answer_cb, &q->ub_id);
	if (r != 0) {
		q->ub_pending = 0;
		if (r == UB_NOMEM)
			return DP_ERR_NOMEM;
		snprintf(why, sizeof(why), "unbound: %s", ub_strerror(r));
		dns_query_finish(q, DNS_TEMPFAIL, 0, NULL, why);
	}
	/* A local answer already ran ub_answer_cb (and cleared ub_pending). */
	return DP_OK;
}

void
dns_ub_stop(struct dns_query *q)
{
	if (q->ub_pending) {
		/* In event mode ub_cancel only marks the query: libunbound
		 * finishes its work but will not call ub_answer_cb. */
		ub_cancel(q->c->ub, q->ub_id);
		q->ub_pending = 0;
	}
}

void
dns_ub_free(struct dns_client *c)
{
	if (c->ub != NULL)
		ub_ctx_delete(c->ub);
	c->ub = NULL;
}
