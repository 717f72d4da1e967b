/* dnsq.h — inside the DNS layer (dns.c and its two back ends): the client,
 * a query, and what the back ends share. Not for use outside proxy/dane. */
#ifndef DP_DNSQ_H
#define DP_DNSQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <ldns/ldns.h>

#include "dns.h"

struct event;
struct ub_ctx;

#define DNS_RR_TYPE_TLSA 52
#define DNS_EDNS_SIZE 1232
#define DNS_TCP_MAX (65535 + 2)	/* largest message plus its length prefix */
#define DNS_UDP_MAX 65535
#define DNS_TRIES_PER_RESOLVER 2

LIST_HEAD(dns_queries, dns_query);

struct dns_client {
	struct event_base *base;	/**< not owned */
	enum conf_dns_mode mode;
	unsigned timeout_ms;		/**< whole lookup */
	size_t n_resolvers;
	struct dp_addr resolvers[CONF_MAX_RESOLVERS];
	struct ub_ctx *ub;		/**< validate mode */
	uint64_t started;		/**< lookups started */
	struct dns_queries queries;	/**< live queries (pending or finished
					 * but not yet delivered) */
};

/* One UDP socket of a resolver-ad lookup, connected to one resolver. */
struct ad_udp {
	int fd;				/**< -1 until first used */
	struct event *ev;		/**< persistent read event */
};

struct dns_query {
	struct dns_client *c;
	LIST_ENTRY(dns_query) link;	/**< on c->queries until delivery */
	dns_cb cb;
	void *arg;
	char *owner;			/**< as given */
	uint16_t qtype;			/**< TLSA, or a dns_lookup_targets type */
	struct dns_targets *targets;	/**< the latter's outcome, when secure */
	int raw;			/**< dns_lookup_rrsets: the packet is the result */
	unsigned char *packet;		/**< its copy, when secure (res.packet) */
	ldns_rdf *qname;		/**< owner as a dname: the stub's query */
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


/* Records the outcome of q and schedules its delivery from the loop; the
 * rrset (if any) is taken from *set. Stops q's I/O. */
void dns_query_finish(struct dns_query *q, enum dns_status status,
    uint32_t ttl, struct tlsa_rrset *set, const char *why);

/* Ends q with what a parsed answer says, given whether DNSSEC vouched for
 * it (libunbound's verdict, or the AD bit of a trusted resolver). Takes the
 * records out of a. */
void dns_answer_finish(struct dns_query *q, struct dns_answer *a, int secure,
    const char *insecure_why);

/* The same for a dns_lookup_targets query (q->qtype not TLSA): t is
 * copied when secure and naming a host. */
void dns_targets_finish(struct dns_query *q, const struct dns_targets *t,
    int secure, const char *insecure_why);

/* The same for a dns_lookup_rrsets query (q->raw): t says what the len
 * bytes at wire hold, wire is copied when secure with RRs of q->qtype. */
void dns_rrsets_finish(struct dns_query *q, const struct dns_targets *t,
    const unsigned char *wire, size_t len, int secure,
    const char *insecure_why);

/* validate mode (dns_unbound.c): the context for c and its end; a lookup;
 * stopping it. */
int dns_ub_setup(struct dns_client *c, const struct conf_dns *conf, char *err,
    size_t err_size);
void dns_ub_free(struct dns_client *c);
int dns_ub_start(struct dns_query *q);
void dns_ub_stop(struct dns_query *q);

/* resolver-ad mode (dns_stub.c): a lookup; stopping its sockets and timers. */
int dns_ad_start(struct dns_query *q);
void dns_ad_stop(struct dns_query *q);

#endif
