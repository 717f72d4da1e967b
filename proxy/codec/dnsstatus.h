/* dnsstatus.h — what a TLSA lookup concluded: the type alone, so that a
 * module that only counts or reports outcomes (metrics) needs neither the
 * DNS layer nor the configuration. */
#ifndef DP_DNSSTATUS_H
#define DP_DNSSTATUS_H

enum dns_status {
	DNS_SECURE = 0,		/* secure answer holding >= 1 TLSA record */
	DNS_SECURE_NXDOMAIN,	/* secure denial: name does not exist */
	DNS_SECURE_NODATA,	/* secure denial: name exists, no TLSA */
	DNS_INSECURE,		/* answer (or denial) from an unsigned zone */
	DNS_BOGUS,		/* DNSSEC validation failed */
	DNS_TEMPFAIL,		/* SERVFAIL, REFUSED, network error, malformed answer */
	DNS_TIMEOUT,		/* no answer within timeout_ms */
};

/* Static text for a status ("secure", "nxdomain", "nodata", "insecure",
 * "bogus", "servfail/error", "timeout"). */
const char *dns_status_str(enum dns_status s);

#endif
