/* checkrun.h — what the parts of daneproxy check share (checkcli.c, the
 * server side in checkcli_server.c, the client side in
 * checkcli_connect.c): an event loop with the DNS client and TLSA cache a
 * worker would build from the same [dns], the report, and the steps both
 * sides take (a TLSA lookup through dane_lookup, a certificate matched
 * through dane_match). */
#ifndef DP_CHECKRUN_H
#define DP_CHECKRUN_H

#include <stdio.h>

#include <openssl/x509.h>

#include "cache.h"
#include "conf.h"
#include "dane.h"
#include "report.h"

/* Exit statuses. */
#define CHECK_ACCEPT 0		/* a handshake would succeed */
#define CHECK_REFUSE 1		/* it would be refused */
#define CHECK_USAGE 2		/* usage or configuration error */

struct event_base;

struct check_env {
	const struct conf *conf;
	struct event_base *base;
	struct dns_client *dns;
	struct tlsa_cache *cache;
	struct report rep;
};

/* A PEM file: the leaf, then the rest of the chain. */
struct check_cert {
	X509 *leaf;
	STACK_OF(X509) *chain;	/* the certificates after the leaf (maybe none) */
};

/* Reads path; problems go to errs. Returns DP_OK, DP_ERR_IO (unreadable),
 * DP_ERR_INVALID (no certificate) or DP_ERR_NOMEM. */
int check_cert_load(const char *path, struct check_cert *c, FILE *errs);

/* Frees what c holds and zeroes it; accepts a zeroed c. */
void check_cert_clear(struct check_cert *c);

/* Reports the leaf's SPKI and whole-certificate SHA-256 and SHA-512 (the
 * data of x 1 1, x 1 2, x 0 1, x 0 2 records), as step (text) and the JSON
 * object key. */
void check_cert_report(struct check_env *e, const char *step, const char *key,
    const char *path, const struct check_cert *c);

/* Runs the event loop until *done, or until nothing is pending. */
void check_run_until(struct check_env *e, const int *done);

/* Step 1 of the DANE decision for name (valid, lower-case) under rules,
 * reported: the allow list (which pattern; rules->allow NULL: no list), the
 * TLSA answer (status, records, TTL, signature expiry, wildcard, why) as
 * text lines STEP… and the JSON fields "allow" and "tlsa" at the current
 * level. pkix_store: the matcher has a trust store (PKIX-TA/EE records
 * usable). d (zeroed) receives dane_lookup's verdict. Returns the number of
 * usable records of a secure answer. */
unsigned check_lookup(struct check_env *e, const char *step,
    const struct dane_rules *rules, int pkix_store, const char *name,
    struct dane_check *d);

/* Step 2, reported as step and the JSON object "match": c's chain against
 * d's records (verdict DANE_RECORDS) by dane_match, name being what DANE-TA
 * looks for; and which record holds this certificate's data. Returns 1 if
 * it matched. */
int check_match(struct check_env *e, const char *step, struct dane_check *d,
    const struct check_cert *c, const char *name);

/* The final line (and the JSON fields "verdict", "reason", "exit"):
 * returns CHECK_ACCEPT or CHECK_REFUSE. */
int check_verdict(struct check_env *e, int accept, const char *reason);

/* The two sides; return the exit status. The server side matches cert
 * (read from cert_path) when it is not NULL. */
int check_server(struct check_env *e, const struct conf_server *cs,
    const char *name, const char *cert_path, const struct check_cert *cert);
int check_connect(struct check_env *e, const struct conf_client *cc);
/* The route's own record: client_name's TLSA against its own certificate,
 * as a DANE server would check the route, reported. Returns 1 if it
 * matches, else 0 with why. */
int check_self(struct check_env *e, const struct conf_client *cc, char *why,
    size_t why_size);

#endif
