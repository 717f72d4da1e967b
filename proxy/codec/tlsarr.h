/* tlsarr.h — TLSA records and record sets (RFC 6698 §2.1): the type the DNS
 * layer and the cache hand around, without OpenSSL (tlsa.h matches them).
 * Pure: no I/O, no logging. */
#ifndef DP_TLSARR_H
#define DP_TLSARR_H

#include <stddef.h>
#include <stdint.h>

#define TLSA_USAGE_PKIX_TA 0
#define TLSA_USAGE_PKIX_EE 1
#define TLSA_USAGE_DANE_TA 2
#define TLSA_USAGE_DANE_EE 3
#define TLSA_SELECTOR_CERT 0
#define TLSA_SELECTOR_SPKI 1
#define TLSA_MTYPE_FULL 0
#define TLSA_MTYPE_SHA256 1
#define TLSA_MTYPE_SHA512 2

/* Whether a record counts, as tlsa_rrset_prepare() (dane/tlsa.h) decided it
 * once for its whole set, so that matching need not parse or compare records
 * again. Whether PKIX usages count depends on the matcher (a trust store), so
 * that is left to matching. */
enum tlsa_rr_prep {
	TLSA_RR_UNPREPARED = 0,	/* as tlsa_rrset_add leaves a record */
	TLSA_RR_USE,		/* well-formed; Full, or the strongest digest
				 * of its usage and selector in the set */
	TLSA_RR_WEAKER,		/* well-formed, but the set has a stronger
				 * digest for its usage and selector
				 * (RFC 7671 §9): ignored */
	TLSA_RR_MALFORMED,	/* usage > 3, selector > 1, unknown matching
				 * type, a digest of the wrong length, no data,
				 * or Full data that is not exactly one DER
				 * certificate (selector 0) or
				 * SubjectPublicKeyInfo (selector 1): ignored */
};

struct tlsa_rr {
	uint8_t usage;
	uint8_t selector;
	uint8_t mtype;
	uint8_t prep;			/* enum tlsa_rr_prep */
	size_t len;
	unsigned char *data;		/* owned */
};

/* A TLSA RRset. Zero-initialise before use. */
struct tlsa_rrset {
	size_t n;
	struct tlsa_rr *rr;		/* owned array of n records */
};

/* Appends a copy of one record (any values, usable or not), not prepared
 * (TLSA_RR_UNPREPARED). Returns DP_OK or DP_ERR_NOMEM. */
int tlsa_rrset_add(struct tlsa_rrset *set, uint8_t usage, uint8_t selector,
    uint8_t mtype, const unsigned char *data, size_t len);

/* Frees the records (not set itself) and zeroes it. Accepts NULL. */
void tlsa_rrset_clear(struct tlsa_rrset *set);

/* The usage every record of set has (0..255), or -1 when set is empty or
 * its records differ in usage. For metrics: what a failed match was up
 * against. */
int tlsa_rrset_usage(const struct tlsa_rrset *set);

/* A DANE-TA(2) SPKI(1) Full(0) record: a bare public key as trust anchor.
 * OpenSSL 3.0's verifier dereferences NULL when such a record matches a
 * self-signed leaf that its PKIX trust store also holds and PKIX-TA or
 * PKIX-EE records are in force in the same verification (found by
 * tests/fuzz/fuzz_tlsa): a peer that publishes both kinds and presents that
 * certificate could crash a worker. Callers never hand OpenSSL both kinds
 * at once. */
int tlsa_rr_is_bare_ta(const struct tlsa_rr *rr);

/* Formats "U S M" for one record into buf (>= 12 bytes). Returns buf. */
char *tlsa_rr_str(const struct tlsa_rr *rr, char *buf, size_t buf_size);

/* What a refusal line shows of a record set: at most
 * TLSA_SUMMARY_RECORDS records, then "+N more"; of each, "U S M" and the
 * first TLSA_SUMMARY_BYTES bytes of its data in lower-case hex, followed by
 * "…" (UTF-8) when the data is longer. */
#define TLSA_SUMMARY_RECORDS 8
#define TLSA_SUMMARY_BYTES 8
#define TLSA_SUMMARY_LEN 320	/* room for the longest summary, NUL included */

/* Formats set as, e.g., "3 1 1 5a8f0c21d4e6b7a9…,3 1 1 0c11…" (an empty
 * set or NULL: "none") into buf; with buf_size < TLSA_SUMMARY_LEN the text
 * may end early, between records (always terminated when buf_size > 0). The length stays bounded whatever the set holds, so that a peer
 * publishing many or long records cannot lengthen a log line at will.
 * Returns buf. */
char *tlsa_rrset_summary(const struct tlsa_rrset *set, char *buf,
    size_t buf_size);

#endif
