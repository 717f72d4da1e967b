/* dane.h — the DANE decision both roles make about a peer: the role's rules,
 * the TLSA answer for a name (through the cache), and the peer's chain
 * matched against the records. Out comes a verdict, its reason (a text for
 * the log line and a metrics reason) and the record that matched; the DANE
 * metrics (mx_dane) are counted here, once per decision.
 *
 * The roles meet the peer's certificate at different times, so the decision
 * has two steps:
 *  1. dane_lookup: the allow list (before any DNS query: strangers cannot
 *     make us look names up), the TLSA answer, its DNSSEC status and the
 *     wildcard policy. Ends in DANE_RECORDS (secure records to match),
 *     DANE_PKIX (no records, and the rules accept PKIX instead: RFC 7672
 *     §2.2) or DANE_REFUSED. The server role runs it while its handshake is
 *     paused in the certificate callback; the client role before it
 *     connects.
 *  2. dane_match: the peer's chain against the records (server role; the
 *     client role's resumed sessions). Or, when OpenSSL's own DANE verifier
 *     matched during the handshake (client role), dane_matched_by_tls or
 *     dane_failed_by_tls. Ends in DANE_MATCHED or DANE_REFUSED.
 *
 * A struct dane_check lives inside the role's connection; dane_check_clear
 * releases what it holds (a lookup in flight is withdrawn). */
#ifndef DP_DANE_H
#define DP_DANE_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "cache.h"
#include "dnsanswer.h"
#include "metrics.h"
#include "tlsa.h"

enum dane_verdict {
	DANE_PENDING = 0,	/* nothing decided yet (a lookup may be in flight) */
	DANE_RECORDS,		/* secure TLSA records to match against */
	DANE_PKIX,		/* no usable DANE records; the rules accept PKIX */
	DANE_MATCHED,		/* authenticated by a TLSA record */
	DANE_REFUSED,		/* not authenticated: why, reason */
};

/* What a role asks of a peer; lives as long as its listener. */
struct dane_rules {
	char *const *allow;		/* names allowed, clientid.h patterns;
					 * NULL: any name (the name is the role's own) */
	size_t n_allow;
	int refuse_wildcard;		/* records synthesised from a wildcard are
					 * not enough (tlsa_wildcard = refuse) */
	int pkix_fallback;		/* securely absent, insecure or unusable
					 * records: PKIX decides (dane-or-pkix) */
	enum tlsa_peer peer;		/* which side the peer is */
	struct tlsa_matcher *matcher;
	struct tlsa_cache *cache;
	struct mx_listener *mx;		/* where mx_dane counts */
	/* Live connections (recheck.h): what a new answer that no longer
	 * authenticates them does, and how long DNS may fail first. */
	enum conf_recheck recheck;
	unsigned recheck_grace_ms;
	struct recheck_table *rechecks;	/* the worker's; NULL: none */
};

struct dane_check;
struct recheck_table;
struct chaincache;

/* What a worker's listeners share for their decisions (proc/worker.c owns
 * it all). */
struct dane_shared {
	struct tlsa_cache *cache;	/* NULL when no listener needs DNS */
	struct recheck_table *rechecks;	/* live re-checks; NULL: none */
	struct chaincache *chains;	/* stapled chains judged (a server with
					 * stapled_chain); else NULL */
	const char *trust_anchor_file;	/* [dns]'s: a route's staple_chain
					 * stops its walk at these anchors */
};

/* name passes rules' allow list (or there is none). */
int dane_allowed(const struct dane_rules *rules, const char *name);

/* Step 1 is over (verdict DANE_RECORDS, DANE_PKIX or DANE_REFUSED). */
typedef void (*dane_cb)(void *arg, struct dane_check *d);

struct dane_check {
	enum dane_verdict verdict;
	enum mx_hs_reason why;		/* DANE_REFUSED: the metrics reason */
	const char *reason;		/* DANE_REFUSED: the log line's reason */
	char tlsa[16];			/* DANE_MATCHED: the record, "3 1 1" */
	const char *wildcard;		/* from DANE_RECORDS on: the wildcard
					 * owner that synthesised the records
					 * (in answer), or "" */
	struct tlsa_answer *answer;	/* from DANE_RECORDS on: the secure answer */
	STACK_OF(X509) *verified;	/* DANE_MATCHED by DANE-TA, PKIX-TA or
					 * PKIX-EE: the verified chain, leaf first
					 * (owned); NULL after DANE-EE */
	/* private */
	const struct dane_rules *rules;
	struct cache_wait *wait;
	dane_cb cb;
	void *arg;
	char *reason_alloc;		/* reason, formatted on refusal */
};

/* Step 1 for name (a valid, lower-cased DNS name): d must be zeroed or
 * cleared. cb(arg, d) runs exactly once, from the event loop or before
 * dane_lookup returns, unless dane_check_clear withdraws it first; cb may
 * free the memory d lives in. */
void dane_lookup(struct dane_check *d, const struct dane_rules *rules,
    const char *name, dane_cb cb, void *arg);

/* Step 1 with an answer the caller holds (a stapled chain's, chaincache.h)
 * instead of a lookup: the allow list, then the answer judged exactly as a
 * looked-up one (DNSSEC status, wildcard policy). Synchronous: no callback;
 * d holds DANE_RECORDS (with its own reference to ans), DANE_PKIX or
 * DANE_REFUSED on return. d must be zeroed or cleared. */
void dane_use_answer(struct dane_check *d, const struct dane_rules *rules,
    const char *name, struct tlsa_answer *ans);

/* Step 1 ended by the caller before any answer (a stapled chain refused):
 * DANE_REFUSED with why and reason (copied). */
void dane_refuse(struct dane_check *d, const struct dane_rules *rules,
    enum mx_hs_reason why, const char *reason);

/* Step 2 with verdict DANE_RECORDS: leaf and chain (the other certificates
 * the peer sent, may be NULL) against the records. name is what a DANE-TA
 * or PKIX match looks for in the certificate (the ClientName, or the
 * server's name). A mismatch's reason is tlsa_match's short one, then the
 * leaf's SPKI SHA-256 and the records (at most TLSA_SUMMARY_RECORDS), e.g.
 * "DANE: no TLSA record matches; presented spki_sha256=<64 hex>;
 * records=3 1 1 5a8f0c21d4e6b7a9…". */
void dane_match(struct dane_check *d, X509 *leaf, STACK_OF(X509) *chain,
    const char *name);

/* The client role handed the records to OpenSSL (tls_client_use_tlsa) and
 * none was usable there: DANE_PKIX if the rules accept it, or DANE_REFUSED. */
void dane_unusable(struct dane_check *d);

/* The handshake with the records in OpenSSL's DANE verifier ended: matched
 * by the record OpenSSL reports (DANE_MATCHED; returns 1, or 0 and
 * DANE_REFUSED when ssl reports none), or failed verification with reason
 * (DANE_REFUSED, a mismatch; reason is copied, followed by the SPKI SHA-256
 * of the certificate ssl's peer presented, if any, and the records, as
 * dane_match words a mismatch). ssl may be NULL. */
int dane_matched_by_tls(struct dane_check *d, SSL *ssl);
void dane_failed_by_tls(struct dane_check *d, SSL *ssl, const char *reason);

/* A TLSA lookup is in flight for d. */
static inline int
dane_waiting(const struct dane_check *d)
{
	return d->wait != NULL;
}

/* Withdraws a lookup in flight, releases the answer and the verified chain,
 * and zeroes d. */
void dane_check_clear(struct dane_check *d);

/* A live connection's peer (leaf, chain, name as for dane_match) against a
 * new answer for its name, under the same rules (allow list aside: the name
 * was allowed): 1 when it still authenticates the peer (the matched record
 * in tlsa, >= 16 bytes), else 0 with the reason in why. An answer with no
 * records to match is a no even where the rules would accept PKIX: the
 * connection was authenticated by DANE. Nothing is counted in metrics. */
int dane_recheck(const struct dane_rules *rules, struct tlsa_answer *ans,
    X509 *leaf, STACK_OF(X509) *chain, const char *name, char *tlsa,
    char *why, size_t why_size);

#endif
