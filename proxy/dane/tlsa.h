/* tlsa.h — matching a peer's chain against a TLSA record set (tlsarr.h)
 * (RFC 6698 §2.1, RFC 7671), using OpenSSL's DANE verifier where a chain has
 * to be built and a direct digest comparison when every usable record is
 * DANE-EE. No I/O apart from reading the optional PKIX trust store at
 * construction; no logging. */
#ifndef DP_TLSA_H
#define DP_TLSA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "tlsarr.h"

/* Which peer is verified: the server role verifies clients (purpose
 * sslclient, DANE-TA name checks against the ClientName in SAN dNSNames);
 * the client role verifies servers (purpose sslserver, RFC 7672-style name
 * checks against the server name). */
enum tlsa_peer { TLSA_PEER_CLIENT, TLSA_PEER_SERVER };

struct tlsa_matcher;

/* Decides once, for every record of set, whether it counts (enum
 * tlsa_rr_prep, tlsarr.h): its usage, selector and matching type, the length
 * of a digest, whether Full(0) data parses, and digest agility among the
 * set's records (RFC 7671 §9); tlsa_match then only reads the verdicts. The
 * TLSA cache prepares every DNS_SECURE answer as it arrives. Records added
 * afterwards leave the set unprepared until it is prepared again (records
 * already judged are not parsed twice). Accepts NULL. Leaves OpenSSL's error
 * queue as it found it. */
void tlsa_rrset_prepare(struct tlsa_rrset *set);

/* Creates a matcher: a DANE-enabled SSL_CTX, digests fetched once, and, if
 * pkix_ca_file is not NULL, a trust store that makes PKIX-TA/PKIX-EE records
 * usable (without one they are ignored). Returns DP_OK, DP_ERR_TLS (errors
 * on OpenSSL's queue) or DP_ERR_NOMEM. */
int tlsa_matcher_new(const char *pkix_ca_file, struct tlsa_matcher **out);

/* Frees a matcher; accepts NULL. */
void tlsa_matcher_free(struct tlsa_matcher *m);

struct tlsa_result {
	int matched;			/* 1 if authenticated */
	struct tlsa_rr rr;		/* the record that matched (data not owned, NULL) */
	const char *reason;		/* static text when not matched, e.g.
					 * "no usable TLSA record", "no TLSA record matches",
					 * "name not in certificate SANs", "certificate expired" */
	/* After a DANE-TA, PKIX-TA or PKIX-EE match: the chain that was
	 * verified, leaf first, trust anchor last; owned by the caller
	 * (tlsa_result_clear). NULL after a DANE-EE match, which looks at the
	 * leaf alone: the other certificates a peer sent took no part. */
	STACK_OF(X509) *verified;
};

/* Frees what res owns; accepts a zeroed or cleared result. */
void tlsa_result_clear(struct tlsa_result *res);

/* Authenticates a peer: leaf is its certificate, chain the other certificates
 * it sent (may be NULL; may include the leaf), name the DANE identity
 * (ClientName, or the server's name). Unusable records are ignored; one
 * matching usable record authenticates; per usage+selector only the
 * strongest digest present counts (RFC 7671 §9). DANE-EE: no name and no
 * date checks. DANE-TA: chain to the record's TA, dates, key usage/purpose,
 * and name among SAN dNSNames. A set with a record not prepared
 * (tlsa_rrset_prepare; e.g. built by hand) is matched all the same: it is
 * prepared on a copy for this call alone, set itself is not changed.
 * Returns DP_OK with res->matched = 1, or DP_ERR_NOMATCH with res->reason,
 * or DP_ERR_TLS / DP_ERR_NOMEM. */
int tlsa_match(struct tlsa_matcher *m, const struct tlsa_rrset *set,
    X509 *leaf, STACK_OF(X509) *chain, const char *name, enum tlsa_peer peer,
    struct tlsa_result *res);

/* The SHA-256 digest of leaf's SubjectPublicKeyInfo (DER), what a "3 1 1"
 * record publishes, as 64 lower-case hex digits into hex (hex_size >= 65),
 * with m's digest fetched once. For refusal lines (what was presented):
 * matching never needs it. Returns DP_OK, DP_ERR_INVALID (hex too small) or
 * DP_ERR_TLS (no leaf, or errors on OpenSSL's queue; hex is then ""). */
int tlsa_spki_sha256_hex(struct tlsa_matcher *m, X509 *leaf, char *hex,
    size_t hex_size);

#endif
