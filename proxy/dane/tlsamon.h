/* tlsamon.h — a TLSA name a client route keeps an eye on: its own
 * client_name (the self-check) or the remote server's TLSA owner.
 *
 * The name is looked up through the worker's cache at start and again
 * whenever the answer expires (at least every 10 s, at most every 300 s;
 * 10 s after a failed lookup). Each answer's status, TTL and RRSIG
 * expiration go to the route's metrics (mx_name_state). With a certificate
 * to check (the route's own), the answer is matched against it as a DANE
 * server would match the route (dane_recheck, peer = client): the verdict
 * goes to mx_self_check, and each change is logged — a failure at error
 * level, since every server will refuse the route: the classic rollover
 * outage (a new key, its record not yet published) shows here first. A
 * failed lookup (timeout, SERVFAIL) leaves the verdict as it was. */
#ifndef DP_TLSAMON_H
#define DP_TLSAMON_H

#include <openssl/ssl.h>

#include "cache.h"
#include "metrics.h"

struct event_base;
struct tlsa_monitor;

struct tlsamon_params {
	struct event_base *base;
	struct tlsa_cache *cache;
	const char *route;		/* section name, for the log */
	const char *name;		/* the TLSA owner (valid, lower-case) */
	enum mx_name which;
	struct mx_listener *mx;
	SSL_CTX *own;			/* whose certificate must match (the
					 * self-check), or NULL */
	const char *policy;		/* self_check's value, for the log */
};

/* Starts watching (the first lookup from the event loop). p and what it
 * points to must outlive the monitor. Returns DP_OK, DP_ERR_NOMEM or
 * DP_ERR_TLS. */
int tlsa_monitor_new(const struct tlsamon_params *p, struct tlsa_monitor **out);

/* Stops and frees; accepts NULL. */
void tlsa_monitor_free(struct tlsa_monitor *m);

#endif
