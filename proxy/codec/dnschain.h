/* dnschain.h — the DNSSEC chain extension's data (RFC 9102 §2), as a client
 * staples it for its own TLSA record: its wire form checked and kept as
 * parsed records, the TLSA records at a name, the encoder, the digest that
 * keys a cache of validated chains. Pure: no I/O, no logging, no clock of
 * its own (the caller says what time it is), no validation (a DNSSEC
 * library does that later from the records kept here) and no ldns type in
 * sight.
 *
 *   struct {
 *       uint16 ExtSupportLifetime;
 *       opaque AuthenticationChain<1..2^16-1>;
 *   }
 *
 * AuthenticationChain is a sequence of resource records in uncompressed
 * wire form (owner, type, class, TTL, rdlength, rdata), in any order. */
#ifndef DP_DNSCHAIN_H
#define DP_DNSCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "tlsarr.h"

/* The bounds dnschain_parse enforces; parse takes NULL for these defaults,
 * which dnschain_encode always applies. */
#define DNSCHAIN_MAX_BYTES_DEFAULT 65539u	/* 2 + 2 + 2^16-1: no bound below the format's */
#define DNSCHAIN_MAX_RRS_DEFAULT 256u
#define DNSCHAIN_MAX_RRSIGS_DEFAULT 64u

/* CNAMEs followed by dnschain_tlsa (as dnswire.h's DNS_CNAME_MAX). */
#define DNSCHAIN_CNAME_MAX 16

/* An owner in presentation form: 255 wire octets at most, each shown as
 * up to 4 characters (\DDD), the dots, NUL. */
#define DNSCHAIN_NAME_STR_MAX 1024

/* What a why buffer should hold to show any refusal whole. */
#define DNSCHAIN_WHY_MAX 128

#define DNSCHAIN_TYPE_CNAME 5
#define DNSCHAIN_TYPE_DNAME 39
#define DNSCHAIN_TYPE_DS 43
#define DNSCHAIN_TYPE_RRSIG 46
#define DNSCHAIN_TYPE_NSEC 47
#define DNSCHAIN_TYPE_DNSKEY 48
#define DNSCHAIN_TYPE_NSEC3 50
#define DNSCHAIN_TYPE_TLSA 52

struct dnschain_limits {
	size_t max_chain_bytes;		/**< the whole extension data, 4 bytes of framing included */
	size_t max_rrs;			/**< RRs in the chain */
	size_t max_rrsigs;		/**< RRSIG RRs among them */
};

/* One RR of the chain, pointing into the chain's own copy of the data. */
struct dnschain_rr {
	const unsigned char *wire;	/**< the RR: owner .. end of rdata (in dnschain.data) */
	size_t off;			/**< offset of wire in the extension data */
	size_t len;			/**< bytes of wire */
	size_t rdata_off;		/**< offset of the rdata within wire */
	uint16_t rdlength;		/**< bytes of rdata */
	uint16_t type;			/**< RR type */
	uint32_t ttl;			/**< TTL as sent */
	char *owner;			/**< owned: lower case, presentation form
					 * (\DDD and \. escapes), no final dot;
					 * the root is "." */
};

/* How many RRs of each type the chain holds. */
struct dnschain_counts {
	size_t tlsa;
	size_t rrsig;
	size_t dnskey;
	size_t ds;
	size_t cname;
	size_t dname;
	size_t nsec;
	size_t nsec3;
	size_t other;			/**< any other type */
};

/* A parsed chain. Zero-initialise before use, or let dnschain_parse do it. */
struct dnschain {
	uint16_t lifetime;		/**< ExtSupportLifetime (hours) */
	unsigned char *data;		/**< owned copy of the extension data */
	size_t len;			/**< its length */
	size_t n;			/**< RRs */
	struct dnschain_rr *rr;		/**< owned array of n, in wire order */
	struct dnschain_counts count;	/**< RRs per type */
	int have_sig;			/**< at least one RRSIG */
	/** Earliest RRSIG expiration and latest inception, in RFC 4034 §3.1.5
	 * serial arithmetic against now (raw 32-bit values). */
	uint32_t sig_expiration;
	uint32_t sig_inception;
	int64_t sig_left;		/**< seconds from now to sig_expiration (< 0: past) */
	int64_t sig_age;		/**< seconds from sig_inception to now (< 0: not yet valid) */
};

/* Parses len bytes of extension data. The framing is checked exactly: the
 * chain's length is what follows it, at least one RR, every RR whole inside
 * it, owner names (and the names inside CNAME, DNAME and RRSIG rdata)
 * uncompressed, labels of at most 63 octets, names of at most 255; class
 * IN; no meta type (0, OPT, 128..255); an RRSIG's fixed fields and signer
 * present, a CNAME/DNAME's rdata exactly one name, a TLSA's at least 3
 * bytes. lim (NULL: the defaults above) bounds the bytes, RRs and RRSIGs;
 * now (wall-clock seconds) is what the RRSIG summary is measured against.
 * Returns DP_OK with *out filled (the caller frees it: dnschain_free),
 * DP_ERR_INVALID for malformed data, DP_ERR_BUSY for data over a bound
 * (*out zeroed in both cases, the reason in why when why_size > 0), or
 * DP_ERR_NOMEM. */
int dnschain_parse(const unsigned char *data, size_t len,
    const struct dnschain_limits *lim, uint32_t now, struct dnschain *out,
    char *why, size_t why_size);

/* Frees what c holds (not c) and zeroes it. Accepts NULL. */
void dnschain_free(struct dnschain *c);

/* The TLSA records of c at name (presentation form, any case, an optional
 * final dot), after the CNAMEs of c from name (at most DNSCHAIN_CNAME_MAX;
 * DNAMEs are not followed: a chain carries the CNAME synthesised from one),
 * into out (zero-initialised; tlsarr.h records, unprepared). Nothing is
 * validated: the caller validates c first. TLSA rdata shorter than 4 bytes
 * (no data) is skipped, as dnsanswer.c skips it. Returns DP_OK with at
 * least one record, or, with out left empty: DP_ERR_NOT_FOUND when there
 * are none, DP_ERR_INVALID for a name that is not one, a CNAME loop or a
 * longer chain of them, DP_ERR_NOMEM. */
int dnschain_tlsa(const struct dnschain *c, const char *name,
    struct tlsa_rrset *out);

/* Builds extension data from lifetime and n wire RRs (rrs[i], lens[i]
 * bytes, each exactly one RR) into out (out_size bytes), *out_len its
 * length. Refuses what dnschain_parse with the default limits refuses.
 * Returns DP_OK, DP_ERR_INVALID (an RR malformed, none, or the chain over
 * 2^16-1 bytes), DP_ERR_BUSY (over a default bound), or DP_ERR_SPACE; on
 * a refusal *out_len is 0 and out's bytes are unspecified. */
int dnschain_encode(uint16_t lifetime, const unsigned char *const *rrs,
    const size_t *lens, size_t n, unsigned char *out, size_t out_size,
    size_t *out_len);

/* SHA-256 of the len bytes of extension data at data, into out: the key
 * of a cache of validated chains. Returns DP_OK or DP_ERR_INTERNAL. */
int dnschain_digest(const unsigned char *data, size_t len,
    unsigned char out[32]);

#endif
