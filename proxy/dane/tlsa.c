/* tlsa.c — see tlsa.h.
 *
 * Two paths with one semantics. When every usable record (after digest
 * agility) is DANE-EE, the leaf's DER or SPKI is compared with the records
 * directly: RFC 7671 §5.1 makes DANE-EE a pure key/certificate match, with no
 * chain, no dates and no names, so building a chain would only cost time.
 * Anything else goes through OpenSSL's DANE verifier on a scratch SSL, never
 * the live connection's (SSL_dane_enable would overwrite its SNI name).
 *
 * Which records count is decided once per set, by tlsa_rrset_prepare() when
 * the cache takes an answer: a match neither parses Full records to see
 * whether they are usable nor weighs digests against each other. */
#include "tlsa.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "err.h"

#define SHA256_LEN 32
#define SHA512_LEN 64

struct tlsa_matcher {
	SSL_CTX *ctx;		/**< DANE-enabled; only for scratch SSLs */
	X509_STORE *store;	/**< PKIX trust anchors, or empty */
	int have_pkix;		/**< store came from pkix_ca_file */
	EVP_MD *sha256;		/**< fetched once */
	EVP_MD *sha512;		/**< fetched once */
};

int
tlsa_matcher_new(const char *pkix_ca_file, struct tlsa_matcher **out)
{
	struct tlsa_matcher *m;
	int r = DP_ERR_TLS;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return DP_ERR_NOMEM;
	if ((m->ctx = SSL_CTX_new(TLS_method())) == NULL ||
	    SSL_CTX_dane_enable(m->ctx) <= 0)
		goto out;
	if ((m->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL)) == NULL ||
	    (m->sha512 = EVP_MD_fetch(NULL, "SHA2-512", NULL)) == NULL)
		goto out;
	/* The verifier would otherwise fetch implicitly on every digest. */
	if (SSL_CTX_dane_mtype_set(m->ctx, m->sha256, TLSA_MTYPE_SHA256, 1) <= 0 ||
	    SSL_CTX_dane_mtype_set(m->ctx, m->sha512, TLSA_MTYPE_SHA512, 2) <= 0)
		goto out;
	if ((m->store = X509_STORE_new()) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	if (pkix_ca_file != NULL) {
		if (X509_STORE_load_file(m->store, pkix_ca_file) != 1)
			goto out;
		m->have_pkix = 1;
	}
	*out = m;
	m = NULL;	/* transferred */
	r = DP_OK;
 out:
	tlsa_matcher_free(m);
	return r;
}

void
tlsa_matcher_free(struct tlsa_matcher *m)
{
	if (m == NULL)
		return;
	/* The DANE context points at the digests: free it first. */
	SSL_CTX_free(m->ctx);
	X509_STORE_free(m->store);
	EVP_MD_free(m->sha256);
	EVP_MD_free(m->sha512);
	free(m);
}

/* A Full(0) record must hold exactly one DER certificate (selector 0) or
 * SubjectPublicKeyInfo (selector 1), as SSL_dane_tlsa_add demands for the
 * records it parses. */
static int
tlsa_full_parses(const struct tlsa_rr *rr)
{
	const unsigned char *p = rr->data;
	X509 *x;
	EVP_PKEY *k;
	int ok = 0;

	if (rr->len > LONG_MAX)
		return 0;
	if (rr->selector == TLSA_SELECTOR_CERT) {
		if ((x = d2i_X509(NULL, &p, (long)rr->len)) != NULL) {
			ok = p == rr->data + rr->len;
			X509_free(x);
		}
	} else {
		if ((k = d2i_PUBKEY(NULL, &p, (long)rr->len)) != NULL) {
			ok = p == rr->data + rr->len;
			EVP_PKEY_free(k);
		}
	}
	return ok;
}

/* What a record is worth by itself: TLSA_RR_USE or TLSA_RR_MALFORMED. */
static uint8_t
tlsa_rr_shape(const struct tlsa_rr *rr)
{
	if (rr->usage > TLSA_USAGE_DANE_EE || rr->selector > TLSA_SELECTOR_SPKI ||
	    rr->data == NULL)
		return TLSA_RR_MALFORMED;
	switch (rr->mtype) {
	case TLSA_MTYPE_FULL:
		return rr->len > 0 && tlsa_full_parses(rr) ?
		    TLSA_RR_USE : TLSA_RR_MALFORMED;
	case TLSA_MTYPE_SHA256:
		return rr->len == SHA256_LEN ? TLSA_RR_USE : TLSA_RR_MALFORMED;
	case TLSA_MTYPE_SHA512:
		return rr->len == SHA512_LEN ? TLSA_RR_USE : TLSA_RR_MALFORMED;
	}
	return TLSA_RR_MALFORMED;
}

/* Among the well-formed digest records of one usage+selector only those of
 * the strongest digest present count (RFC 7671 §9; the mtype numbers happen
 * to order by strength). Which usages count at all is the matcher's say
 * (tlsa_rr_counts), and does not change this: agility never looks across
 * usages. */
void
tlsa_rrset_prepare(struct tlsa_rrset *set)
{
	uint8_t best[4][2] = { { 0 } };
	struct tlsa_rr *rr;
	size_t i;

	if (set == NULL)
		return;
	/* A record that does not parse leaves errors that are the zone's. */
	ERR_set_mark();
	for (i = 0; i < set->n; i++) {
		rr = &set->rr[i];
		if (rr->prep == TLSA_RR_UNPREPARED)
			rr->prep = tlsa_rr_shape(rr);
		if (rr->prep != TLSA_RR_MALFORMED &&
		    rr->mtype > best[rr->usage][rr->selector])
			best[rr->usage][rr->selector] = rr->mtype;
	}
	ERR_pop_to_mark();
	for (i = 0; i < set->n; i++) {
		rr = &set->rr[i];
		if (rr->prep == TLSA_RR_MALFORMED)
			continue;
		rr->prep = rr->mtype == TLSA_MTYPE_FULL ||
		    rr->mtype == best[rr->usage][rr->selector] ?
		    TLSA_RR_USE : TLSA_RR_WEAKER;
	}
}

static int
tlsa_rrset_prepared(const struct tlsa_rrset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->rr[i].prep == TLSA_RR_UNPREPARED)
			return 0;
	return 1;
}

/* Whether a record of a prepared set takes part in a match by m: PKIX
 * usages only with a trust store. */
static int
tlsa_rr_counts(const struct tlsa_matcher *m, const struct tlsa_rr *rr)
{
	return rr->prep == TLSA_RR_USE &&
	    (rr->usage >= TLSA_USAGE_DANE_TA || m->have_pkix);
}

/* The leaf's encodings and digests, computed when a record first needs one. */
struct leaf_enc {
	unsigned char *der[2];			/* by selector */
	size_t len[2];
	unsigned char md[2][3][SHA512_LEN];	/* by selector, mtype */
	unsigned char have_md[2][3];
};

static int
leaf_enc_get(struct tlsa_matcher *m, X509 *leaf, struct leaf_enc *e,
    uint8_t selector, uint8_t mtype, const unsigned char **p, size_t *len)
{
	unsigned char *der = NULL;
	unsigned int mdlen;
	int n;

	if (e->der[selector] == NULL) {
		if (selector == TLSA_SELECTOR_CERT)
			n = i2d_X509(leaf, &der);
		else
			n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
		if (n <= 0)
			return DP_ERR_TLS;
		e->der[selector] = der;
		e->len[selector] = (size_t)n;
	}
	if (mtype == TLSA_MTYPE_FULL) {
		*p = e->der[selector];
		*len = e->len[selector];
		return DP_OK;
	}
	if (!e->have_md[selector][mtype]) {
		if (!EVP_Digest(e->der[selector], e->len[selector],
		    e->md[selector][mtype], &mdlen,
		    mtype == TLSA_MTYPE_SHA256 ? m->sha256 : m->sha512, NULL))
			return DP_ERR_TLS;
		e->have_md[selector][mtype] = 1;
	}
	*p = e->md[selector][mtype];
	*len = mtype == TLSA_MTYPE_SHA256 ? SHA256_LEN : SHA512_LEN;
	return DP_OK;
}

/* DANE-EE only: RFC 7671 §5.1, the presented leaf matches or not. */
static int
tlsa_match_ee(struct tlsa_matcher *m, const struct tlsa_rrset *set,
    X509 *leaf, struct tlsa_result *res)
{
	struct leaf_enc e;
	const struct tlsa_rr *rr;
	const unsigned char *p;
	size_t i, len;
	int r;

	memset(&e, 0, sizeof(e));
	for (i = 0; i < set->n; i++) {
		rr = &set->rr[i];
		if (!tlsa_rr_counts(m, rr))
			continue;
		if ((r = leaf_enc_get(m, leaf, &e, rr->selector, rr->mtype,
		    &p, &len)) != DP_OK)
			goto out;
		if (len == rr->len && CRYPTO_memcmp(p, rr->data, len) == 0) {
			res->matched = 1;
			res->rr.usage = rr->usage;
			res->rr.selector = rr->selector;
			res->rr.mtype = rr->mtype;
			r = DP_OK;
			goto out;
		}
	}
	res->reason = "no TLSA record matches";
	r = DP_ERR_NOMATCH;
 out:
	OPENSSL_free(e.der[0]);
	OPENSSL_free(e.der[1]);
	return r;
}

static const char *
tlsa_verify_reason(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate not yet valid";
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return "name not in certificate SANs";
	case X509_V_ERR_INVALID_PURPOSE:
		return "unsuitable certificate purpose";
	case X509_V_ERR_DANE_NO_MATCH:
		return "no TLSA record matches";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_REJECTED:
		return "chain does not lead to the TLSA trust anchor";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
	case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
		return "bad certificate signature";
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		return "issuer is not a valid CA";
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		return "certificate chain too long";
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return "key or signature too weak";
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
	case X509_V_ERR_INVALID_EXTENSION:
	case X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION:
		return "malformed certificate";
	}
	return "certificate verification failed";
}

/* Usage sets for tlsa_match_openssl. */
#define USAGES_PKIX (1u << TLSA_USAGE_PKIX_TA | 1u << TLSA_USAGE_PKIX_EE)
#define USAGES_DANE (1u << TLSA_USAGE_DANE_TA | 1u << TLSA_USAGE_DANE_EE)

/* Chains, dates, purposes and names: OpenSSL's DANE verifier. */
static int
tlsa_match_openssl(struct tlsa_matcher *m, const struct tlsa_rrset *set,
    unsigned usages, X509 *leaf, STACK_OF(X509) *chain, const char *name,
    enum tlsa_peer peer, struct tlsa_result *res)
{
	SSL *scratch = NULL;
	X509_STORE_CTX *xs = NULL;
	STACK_OF(X509) *empty = NULL;
	X509_VERIFY_PARAM *param;
	const struct tlsa_rr *rr;
	uint8_t usage, selector, mtype;
	size_t i, added = 0;
	int r = DP_ERR_TLS, ret, err;

	if (name == NULL || *name == '\0') {
		res->reason = "no name to check";
		r = DP_ERR_NOMATCH;
		goto out;
	}
	if ((scratch = SSL_new(m->ctx)) == NULL ||
	    SSL_dane_enable(scratch, name) <= 0)
		goto out;
	SSL_dane_set_flags(scratch, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (i = 0; i < set->n; i++) {
		rr = &set->rr[i];
		if (!tlsa_rr_counts(m, rr) || !(usages & (1u << rr->usage)))
			continue;
		ret = SSL_dane_tlsa_add(scratch, rr->usage, rr->selector,
		    rr->mtype, rr->data, rr->len);
		if (ret < 0)
			goto out;
		if (ret > 0)
			added++;
	}
	if (added == 0) {
		/* DANE would be off and plain PKIX would run: fail closed. */
		res->reason = "no usable TLSA record";
		r = DP_ERR_NOMATCH;
		goto out;
	}
	if ((xs = X509_STORE_CTX_new()) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	/* OpenSSL looks for issuers among the untrusted certificates, and
	 * adds the 2 0 0 TAs from the records to them, only if that stack is
	 * not NULL; a resumed session has no peer chain. */
	if (chain == NULL && (chain = empty = sk_X509_new_null()) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	if (!X509_STORE_CTX_init(xs, m->store, leaf, chain))
		goto out;
	X509_STORE_CTX_set0_dane(xs, SSL_get0_dane(scratch));
	if (!X509_STORE_CTX_set_default(xs,
	    peer == TLSA_PEER_CLIENT ? "ssl_client" : "ssl_server"))
		goto out;
	param = X509_STORE_CTX_get0_param(xs);
	/* A client's name is one of its SAN dNSNames exactly: a wildcard SAN
	 * would let one certificate claim every name under it. Servers keep
	 * RFC 6125's whole-label wildcards. */
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT |
	    (peer == TLSA_PEER_CLIENT ? X509_CHECK_FLAG_NO_WILDCARDS :
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS));
	if (!X509_VERIFY_PARAM_set1_host(param, name, 0))
		goto out;
	if ((ret = X509_verify_cert(xs)) < 0)
		goto out;
	if (ret == 0) {
		err = X509_STORE_CTX_get_error(xs);
		if (err == X509_V_ERR_OUT_OF_MEM) {
			r = DP_ERR_NOMEM;
			goto out;
		}
		res->reason = tlsa_verify_reason(err);
		r = DP_ERR_NOMATCH;
		goto out;
	}
	/* Verified with DANE on means a record matched; if OpenSSL cannot say
	 * which, something is wrong: fail closed. */
	if (SSL_get0_dane_tlsa(scratch, &usage, &selector, &mtype,
	    NULL, NULL) < 0) {
		res->reason = "no TLSA record matches";
		r = DP_ERR_INTERNAL;
		goto out;
	}
	res->matched = 1;
	res->rr.usage = usage;
	res->rr.selector = selector;
	res->rr.mtype = mtype;
	/* NULL when out of memory: then no chain is reported, which is safe. */
	if (usage != TLSA_USAGE_DANE_EE)
		res->verified = X509_STORE_CTX_get1_chain(xs);
	r = DP_OK;
 out:
	X509_STORE_CTX_free(xs);	/* before the SSL that owns its DANE state */
	SSL_free(scratch);
	sk_X509_free(empty);
	return r;
}

void
tlsa_result_clear(struct tlsa_result *res)
{
	sk_X509_pop_free(res->verified, X509_free);
	res->verified = NULL;
}

int
tlsa_match(struct tlsa_matcher *m, const struct tlsa_rrset *set,
    X509 *leaf, STACK_OF(X509) *chain, const char *name, enum tlsa_peer peer,
    struct tlsa_result *res)
{
	struct tlsa_rrset copy = { 0, NULL };
	size_t i, usable = 0;
	int r, all_ee = 1, bare_ta = 0, pkix = 0;

	memset(res, 0, sizeof(*res));
	/* Parsing records and chains leaves errors that are the peer's, not
	 * ours: drop them unless we fail for an OpenSSL reason. */
	ERR_set_mark();
	if (leaf == NULL) {
		res->reason = "no peer certificate";
		r = DP_ERR_NOMATCH;
		goto out;
	}
	if (set == NULL || set->n == 0) {
		res->reason = "no usable TLSA record";
		r = DP_ERR_NOMATCH;
		goto out;
	}
	if (!tlsa_rrset_prepared(set)) {
		/* The records, not their data: those stay the caller's. */
		if ((copy.rr = calloc(set->n, sizeof(*copy.rr))) == NULL) {
			r = DP_ERR_NOMEM;
			goto out;
		}
		memcpy(copy.rr, set->rr, set->n * sizeof(*copy.rr));
		copy.n = set->n;
		tlsa_rrset_prepare(&copy);
		set = &copy;
	}
	for (i = 0; i < set->n; i++) {
		if (!tlsa_rr_counts(m, &set->rr[i]))
			continue;
		usable++;
		if (set->rr[i].usage != TLSA_USAGE_DANE_EE)
			all_ee = 0;
		bare_ta |= tlsa_rr_is_bare_ta(&set->rr[i]);
		pkix |= set->rr[i].usage <= TLSA_USAGE_PKIX_EE;
	}
	if (usable == 0) {
		res->reason = "no usable TLSA record";
		r = DP_ERR_NOMATCH;
		goto out;
	}
	if (all_ee) {
		r = tlsa_match_ee(m, set, leaf, res);
	} else if (bare_ta && pkix) {
		/* Never both kinds in one OpenSSL verification (tlsarr.h):
		 * the DANE records first, then the PKIX ones; either match
		 * authenticates, as one verification would. */
		r = tlsa_match_openssl(m, set, USAGES_DANE, leaf, chain, name,
		    peer, res);
		if (r == DP_ERR_NOMATCH) {
			tlsa_result_clear(res);
			memset(res, 0, sizeof(*res));
			r = tlsa_match_openssl(m, set, USAGES_PKIX, leaf, chain,
			    name, peer, res);
		}
	} else {
		r = tlsa_match_openssl(m, set, USAGES_DANE | USAGES_PKIX, leaf,
		    chain, name, peer, res);
	}
 out:
	if (r == DP_OK || r == DP_ERR_NOMATCH)
		ERR_pop_to_mark();
	else
		ERR_clear_last_mark();
	if (r != DP_OK) {
		tlsa_result_clear(res);
		res->matched = 0;
		if (res->reason == NULL)
			res->reason = "internal error";
	}
	free(copy.rr);	/* not tlsa_rrset_clear: the data are set's */
	return r;
}

int
tlsa_spki_sha256_hex(struct tlsa_matcher *m, X509 *leaf, char *hex,
    size_t hex_size)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[SHA256_LEN], *der = NULL;
	unsigned int mdlen = 0;
	int n, r = DP_ERR_TLS;
	size_t i;

	if (hex_size < 2 * SHA256_LEN + 1)
		return DP_ERR_INVALID;
	hex[0] = '\0';
	if (leaf == NULL ||
	    (n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der)) <= 0)
		goto out;
	if (!EVP_Digest(der, (size_t)n, md, &mdlen, m->sha256, NULL) ||
	    mdlen != SHA256_LEN)
		goto out;
	for (i = 0; i < SHA256_LEN; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * SHA256_LEN] = '\0';
	r = DP_OK;
 out:
	OPENSSL_free(der);
	return r;
}
