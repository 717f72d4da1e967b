/* test_tlsa.c — the TLSA matching matrix (RFC 6698 §2.1, RFC 7671), against
 * keys and certificates made in memory; expected record data is computed
 * here, independently of tlsa.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "tap.h"
#include "tlsa.h"

#define DAY (24L * 60 * 60)
#define NAME "dev1.example"

static void
die(const char *what)
{
	fprintf(stderr, "test_tlsa: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(2);
}

static EVP_PKEY *
key_ec(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (k == NULL)
		die("EC keygen");
	return k;
}

static EVP_PKEY *
key_rsa(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);

	if (k == NULL)
		die("RSA keygen");
	return k;
}

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext;

	if ((ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		die(value);
	if (!X509_add_ext(x, ext, -1))
		die("X509_add_ext");
	X509_EXTENSION_free(ext);
}

struct certspec {
	const char *cn;
	int ca;
	const char *eku;	/* "clientAuth", "serverAuth" or NULL */
	const char *san;	/* "DNS:..." or NULL */
	long nb_days;		/* notBefore, relative to now */
	long na_days;		/* notAfter, relative to now */
};

/* Makes a certificate for key, issued by issuer/ikey (self-signed if NULL). */
static X509 *
make_cert(const struct certspec *cs, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *ikey)
{
	static long serial = 1;
	X509 *x;
	X509_NAME *n;
	X509V3_CTX ctx;

	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial++))
		die("X509_new");
	if ((n = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cs->cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, n) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : n))
		die("X509 names");
	X509_NAME_free(n);
	if (!X509_gmtime_adj(X509_getm_notBefore(x), cs->nb_days * DAY) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), cs->na_days * DAY) ||
	    !X509_set_pubkey(x, key))
		die("X509 dates/key");
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if (cs->ca) {
		add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, &ctx, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
	}
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (cs->eku != NULL)
		add_ext(x, &ctx, NID_ext_key_usage, cs->eku);
	if (cs->san != NULL)
		add_ext(x, &ctx, NID_subject_alt_name, cs->san);
	if (!X509_sign(x, ikey ? ikey : key, EVP_sha256()))
		die("X509_sign");
	return x;
}

/* Record data computed the way RFC 6698 §2.1 says, without tlsa.c. */
static size_t
tlsa_data(X509 *x, int selector, int mtype, unsigned char *out, size_t size)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n;

	if (selector == 0)
		n = i2d_X509(x, &der);
	else
		n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
	if (n <= 0)
		die("i2d");
	if (mtype == 0) {
		if ((size_t)n > size)
			die("tlsa_data size");
		memcpy(out, der, (size_t)n);
		mdlen = (unsigned int)n;
	} else if (!EVP_Digest(der, (size_t)n, out, &mdlen,
	    mtype == 1 ? EVP_sha256() : EVP_sha512(), NULL)) {
		die("EVP_Digest");
	}
	OPENSSL_free(der);
	return mdlen;
}

/* Adds a record for x; bad != 0 flips one bit of the data. */
static void
add_rr(struct tlsa_rrset *set, X509 *x, int u, int s, int mt, int bad)
{
	unsigned char d[8192];
	size_t n = tlsa_data(x, s, mt, d, sizeof(d));

	/* The last byte: a Full certificate stays parseable (signature). */
	if (bad)
		d[n - 1] ^= 0x01;
	if (tlsa_rrset_add(set, (uint8_t)u, (uint8_t)s, (uint8_t)mt, d, n) !=
	    DP_OK)
		die("tlsa_rrset_add");
}

static void
add_raw(struct tlsa_rrset *set, int u, int s, int mt, size_t len)
{
	unsigned char d[128];

	memset(d, 0xab, sizeof(d));
	if (tlsa_rrset_add(set, (uint8_t)u, (uint8_t)s, (uint8_t)mt, d, len) !=
	    DP_OK)
		die("tlsa_rrset_add");
}

static STACK_OF(X509) *
chain_of(X509 *a, X509 *b)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	if (sk == NULL || (a && !sk_X509_push(sk, a)) ||
	    (b && !sk_X509_push(sk, b)))
		die("chain");
	return sk;
}

/* The certificates of the matrix. */
static EVP_PKEY *k_root, *k_int, *k_leaf, *k_rogue, *k_rsa;
static X509 *root, *inter, *leaf, *leaf_rsa, *rogue, *rogue_int, *leaf_rogue;
static X509 *leaf_forged, *leaf_cn_only, *leaf_expired, *leaf_future, *leaf_srv;
static X509 *root2, *leaf_pkix;
static EVP_PKEY *k_root2;
static STACK_OF(X509) *ch_int, *ch_none, *ch_leaf_int, *ch_int_root;
static STACK_OF(X509) *ch_rogue_int, *ch_root2;

static void
make_pki(void)
{
	struct certspec cs_root = { "Test Root", 1, NULL, NULL, -1, 3650 };
	struct certspec cs_int = { "Test Int", 1, NULL, NULL, -1, 3650 };
	struct certspec cs_leaf = { NAME, 0, "clientAuth", "DNS:" NAME, -1, 365 };
	struct certspec cs_cn_only = { NAME, 0, "clientAuth", "DNS:other.example",
	    -1, 365 };
	struct certspec cs_expired = { NAME, 0, "clientAuth", "DNS:" NAME, -30, -1 };
	struct certspec cs_future = { NAME, 0, "clientAuth", "DNS:" NAME, 10, 365 };
	struct certspec cs_srv = { NAME, 0, "serverAuth", "DNS:" NAME, -1, 365 };
	struct certspec cs_root2 = { "PKIX Root", 1, NULL, NULL, -1, 3650 };

	k_root = key_ec();
	k_int = key_ec();
	k_leaf = key_ec();
	k_rogue = key_ec();
	k_rsa = key_rsa();
	k_root2 = key_ec();
	root = make_cert(&cs_root, k_root, NULL, NULL);
	inter = make_cert(&cs_int, k_int, root, k_root);
	leaf = make_cert(&cs_leaf, k_leaf, inter, k_int);
	leaf_rsa = make_cert(&cs_leaf, k_rsa, inter, k_int);
	/* Same names as the good ones, other keys. */
	rogue = make_cert(&cs_leaf, k_rogue, NULL, NULL);
	rogue_int = make_cert(&cs_int, k_rogue, root, k_rogue);
	leaf_rogue = make_cert(&cs_leaf, k_leaf, rogue_int, k_rogue);
	/* Names and key identifier of the TA, signature by another key. */
	leaf_forged = make_cert(&cs_leaf, k_leaf, inter, k_rogue);
	leaf_cn_only = make_cert(&cs_cn_only, k_leaf, inter, k_int);
	leaf_expired = make_cert(&cs_expired, k_leaf, inter, k_int);
	leaf_future = make_cert(&cs_future, k_leaf, inter, k_int);
	leaf_srv = make_cert(&cs_srv, k_leaf, inter, k_int);
	root2 = make_cert(&cs_root2, k_root2, NULL, NULL);
	leaf_pkix = make_cert(&cs_leaf, k_leaf, root2, k_root2);

	ch_int = chain_of(inter, NULL);
	ch_none = chain_of(NULL, NULL);
	ch_leaf_int = chain_of(leaf, inter);
	ch_int_root = chain_of(inter, root);
	ch_rogue_int = chain_of(rogue_int, NULL);
	ch_root2 = chain_of(root2, NULL);
}

static void
free_pki(void)
{
	sk_X509_free(ch_int);
	sk_X509_free(ch_none);
	sk_X509_free(ch_leaf_int);
	sk_X509_free(ch_int_root);
	sk_X509_free(ch_rogue_int);
	sk_X509_free(ch_root2);
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
	X509_free(leaf_rsa);
	X509_free(rogue);
	X509_free(rogue_int);
	X509_free(leaf_rogue);
	X509_free(leaf_forged);
	X509_free(leaf_cn_only);
	X509_free(leaf_expired);
	X509_free(leaf_future);
	X509_free(leaf_srv);
	X509_free(root2);
	X509_free(leaf_pkix);
	EVP_PKEY_free(k_root);
	EVP_PKEY_free(k_int);
	EVP_PKEY_free(k_leaf);
	EVP_PKEY_free(k_rogue);
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_root2);
}

/* Runs one match and checks its outcome: want_rr "U S M" for a match, or
 * want_reason for a failure. */
static void
expect_one(struct tlsa_matcher *m, const struct tlsa_rrset *set, X509 *x,
    STACK_OF(X509) *chain, enum tlsa_peer peer, const char *want_rr,
    const char *want_reason, const char *desc)
{
	struct tlsa_result res;
	char buf[16];
	int r;

	memset(&res, 0xa5, sizeof(res));
	r = tlsa_match(m, set, x, chain, NAME, peer, &res);
	if (want_rr != NULL) {
		if (!ok(r == DP_OK && res.matched == 1 &&
		    strcmp(tlsa_rr_str(&res.rr, buf, sizeof(buf)), want_rr) == 0 &&
		    res.rr.data == NULL && res.rr.len == 0,
		    "%s: matches by %s", desc, want_rr))
			diag("r=%d matched=%d reason=%s rr=%s", r, res.matched,
			    r == DP_OK ? "-" : res.reason,
			    r == DP_OK ? tlsa_rr_str(&res.rr, buf, sizeof(buf)) : "-");
		if (want_rr[0] == '3')
			ok(r != DP_OK || res.verified == NULL,
			    "%s: DANE-EE reports no verified chain (the leaf alone decided)", desc);
		else
			ok(r != DP_OK || (res.verified != NULL && sk_X509_num(res.verified) >= 1 &&
			    X509_cmp(sk_X509_value(res.verified, 0), x) == 0),
			    "%s: the verified chain is reported, leaf first", desc);
	} else {
		if (!ok(r == DP_ERR_NOMATCH && res.matched == 0 &&
		    res.reason != NULL && strcmp(res.reason, want_reason) == 0,
		    "%s: no match (%s)", desc, want_reason))
			diag("r=%d matched=%d reason=%s", r, res.matched,
			    res.reason && r != DP_OK ? res.reason : "(none)");
	}
	if (ERR_peek_error() != 0) {
		ok(0, "%s: OpenSSL error queue left clean", desc);
		ERR_print_errors_fp(stdout);
	}
	tlsa_result_clear(&res);
}

/* expect_one() twice: on the set as built, which tlsa_match prepares on a
 * copy, then on the set prepared as the cache prepares answers. The set is
 * cleared afterwards. */
static void
expect(struct tlsa_matcher *m, struct tlsa_rrset *set, X509 *x,
    STACK_OF(X509) *chain, enum tlsa_peer peer, const char *want_rr,
    const char *want_reason, const char *desc)
{
	char d[256];
	size_t i;
	int unprepared = 1;

	snprintf(d, sizeof(d), "%s [as built]", desc);
	expect_one(m, set, x, chain, peer, want_rr, want_reason, d);
	for (i = 0; set != NULL && i < set->n; i++)
		if (set->rr[i].prep != TLSA_RR_UNPREPARED)
			unprepared = 0;
	if (!unprepared)
		ok(0, "%s: tlsa_match left the caller's set as it was", d);
	tlsa_rrset_prepare(set);
	snprintf(d, sizeof(d), "%s [prepared]", desc);
	expect_one(m, set, x, chain, peer, want_rr, want_reason, d);
	tlsa_rrset_clear(set);
}

#define MATCH(m, set, x, ch, peer, rr, desc) \
	expect(m, set, x, ch, peer, rr, NULL, desc)
#define NOMATCH(m, set, x, ch, peer, why, desc) \
	expect(m, set, x, ch, peer, NULL, why, desc)
#define C TLSA_PEER_CLIENT
#define S TLSA_PEER_SERVER

static void
test_rrset(void)
{
	struct tlsa_rrset set = { 0 };
	struct tlsa_rr rr = { .usage = 255, .selector = 255, .mtype = 255 };
	unsigned char d[3] = { 1, 2, 3 };
	char buf[12];

	is_int(tlsa_rrset_add(&set, 3, 1, 1, d, sizeof(d)), DP_OK, "rrset_add");
	d[0] = 9;
	is_int(tlsa_rrset_add(&set, 2, 0, 0, NULL, 0), DP_OK,
	    "rrset_add with no data");
	is_int(set.n, 2, "rrset holds two records");
	ok(set.rr[0].usage == 3 && set.rr[0].selector == 1 &&
	    set.rr[0].mtype == 1 && set.rr[0].len == 3, "record fields copied");
	ok(set.rr[0].data != d && set.rr[0].data[0] == 1,
	    "record data is a copy, not the caller's buffer");
	is_int(tlsa_rrset_usage(&set), -1, "rrset_usage: usages differ");
	is_str(tlsa_rr_str(&set.rr[0], buf, sizeof(buf)), "3 1 1", "tlsa_rr_str");
	is_str(tlsa_rr_str(&rr, buf, sizeof(buf)), "255 255 255",
	    "tlsa_rr_str widest record fits 12 bytes");
	tlsa_rrset_clear(&set);
	ok(set.n == 0 && set.rr == NULL, "rrset_clear zeroes the set");
	is_int(tlsa_rrset_usage(&set), -1, "rrset_usage: empty set");
	tlsa_rrset_add(&set, 2, 0, 1, d, sizeof(d));
	tlsa_rrset_add(&set, 2, 1, 1, d, sizeof(d));
	is_int(tlsa_rrset_usage(&set), 2, "rrset_usage: the usage all share");
	tlsa_rrset_clear(&set);
	tlsa_rrset_clear(&set);
	tlsa_rrset_clear(NULL);
	ok(1, "rrset_clear twice and on NULL");
	tlsa_rrset_prepare(NULL);
	ok(1, "rrset_prepare(NULL)");
	tlsa_matcher_free(NULL);
	ok(1, "matcher_free(NULL)");
}

static void
test_dane_ee(struct tlsa_matcher *m)
{
	struct tlsa_rrset set = { 0 };

	add_rr(&set, leaf, 3, 1, 1, 0);
	MATCH(m, &set, leaf, ch_int, C, "3 1 1", "DANE-EE 3 1 1");
	add_rr(&set, leaf, 3, 0, 1, 0);
	MATCH(m, &set, leaf, NULL, C, "3 0 1", "DANE-EE 3 0 1");
	add_rr(&set, leaf, 3, 1, 2, 0);
	MATCH(m, &set, leaf, NULL, C, "3 1 2", "DANE-EE 3 1 2");
	add_rr(&set, leaf, 3, 0, 2, 0);
	MATCH(m, &set, leaf, NULL, C, "3 0 2", "DANE-EE 3 0 2");
	add_rr(&set, leaf, 3, 0, 0, 0);
	MATCH(m, &set, leaf, NULL, C, "3 0 0", "DANE-EE 3 0 0 (full certificate)");
	add_rr(&set, leaf, 3, 1, 0, 0);
	MATCH(m, &set, leaf, NULL, C, "3 1 0", "DANE-EE 3 1 0 (full SPKI)");
	add_rr(&set, leaf_rsa, 3, 1, 1, 0);
	MATCH(m, &set, leaf_rsa, NULL, C, "3 1 1", "DANE-EE 3 1 1, RSA-2048 leaf");
	add_rr(&set, rogue, 3, 0, 0, 0);
	add_rr(&set, leaf, 3, 1, 1, 0);
	MATCH(m, &set, leaf, NULL, C, "3 1 1",
	    "DANE-EE: second record matches after a first that does not");

	add_rr(&set, leaf, 3, 1, 1, 1);
	NOMATCH(m, &set, leaf, NULL, C, "no TLSA record matches",
	    "DANE-EE 3 1 1 with wrong data");
	add_rr(&set, leaf, 3, 0, 0, 1);
	NOMATCH(m, &set, leaf, NULL, C, "no TLSA record matches",
	    "DANE-EE 3 0 0 with one bit flipped in the certificate");
	add_rr(&set, leaf, 3, 1, 1, 0);
	NOMATCH(m, &set, rogue, NULL, C, "no TLSA record matches",
	    "DANE-EE 3 1 1: rogue certificate with the same names");
	add_rr(&set, leaf, 3, 0, 1, 0);
	NOMATCH(m, &set, leaf_rogue, NULL, C, "no TLSA record matches",
	    "DANE-EE 3 0 1: same key, other certificate");
	add_rr(&set, leaf, 3, 1, 1, 0);
	MATCH(m, &set, leaf_rogue, NULL, C, "3 1 1",
	    "DANE-EE 3 1 1: same key, other certificate (SPKI pins the key)");

	/* RFC 7671 §5.1: no name and no date checks for DANE-EE. */
	add_rr(&set, leaf_expired, 3, 1, 1, 0);
	MATCH(m, &set, leaf_expired, NULL, C, "3 1 1", "DANE-EE 3 1 1, expired leaf");
	add_rr(&set, leaf_cn_only, 3, 1, 1, 0);
	MATCH(m, &set, leaf_cn_only, NULL, C, "3 1 1",
	    "DANE-EE 3 1 1, name not in SANs");
	add_rr(&set, leaf_srv, 3, 1, 1, 0);
	MATCH(m, &set, leaf_srv, NULL, C, "3 1 1",
	    "DANE-EE 3 1 1, serverAuth-only leaf as a client");
}

static void
test_dane_ta(struct tlsa_matcher *m)
{
	struct tlsa_rrset set = { 0 };

	add_rr(&set, inter, 2, 0, 1, 0);
	MATCH(m, &set, leaf, ch_int, C, "2 0 1",
	    "DANE-TA 2 0 1, intermediate TA in the chain");
	add_rr(&set, root, 2, 0, 1, 0);
	MATCH(m, &set, leaf, ch_int_root, C, "2 0 1",
	    "DANE-TA 2 0 1, root TA in the chain");
	add_rr(&set, inter, 2, 1, 1, 0);
	MATCH(m, &set, leaf, ch_int, C, "2 1 1", "DANE-TA 2 1 1, TA in the chain");
	add_rr(&set, inter, 2, 0, 2, 0);
	MATCH(m, &set, leaf, ch_leaf_int, C, "2 0 2",
	    "DANE-TA 2 0 2, chain that repeats the leaf");
	add_rr(&set, inter, 2, 0, 1, 0);
	MATCH(m, &set, leaf_rsa, ch_int, C, "2 0 1", "DANE-TA 2 0 1, RSA-2048 leaf");

	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf, NULL, C, "no TLSA record matches",
	    "DANE-TA 2 0 1 without the TA in the chain");
	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf, ch_none, C, "no TLSA record matches",
	    "DANE-TA 2 0 1 with an empty chain");
	add_rr(&set, inter, 2, 0, 0, 0);
	MATCH(m, &set, leaf, NULL, C, "2 0 0",
	    "DANE-TA 2 0 0 (full TA certificate), no chain at all");
	add_rr(&set, inter, 2, 0, 0, 0);
	MATCH(m, &set, leaf, ch_none, C, "2 0 0",
	    "DANE-TA 2 0 0 (full TA certificate), empty chain");
	add_rr(&set, inter, 2, 1, 0, 0);
	MATCH(m, &set, leaf, NULL, C, "2 1 0",
	    "DANE-TA 2 1 0 (full TA SPKI), TA not in the chain");
	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf_rogue, ch_rogue_int, C, "no TLSA record matches",
	    "DANE-TA 2 0 1: rogue intermediate with the TA's name");
	add_rr(&set, inter, 2, 0, 0, 0);
	NOMATCH(m, &set, leaf_rogue, NULL, C, "no TLSA record matches",
	    "DANE-TA 2 0 0: leaf issued by another CA of the TA's name");
	add_rr(&set, inter, 2, 0, 0, 0);
	NOMATCH(m, &set, leaf_forged, NULL, C, "bad certificate signature",
	    "DANE-TA 2 0 0: leaf naming the TA as issuer, signed by another key");
	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf_forged, ch_int, C, "bad certificate signature",
	    "DANE-TA 2 0 1: leaf naming the TA as issuer, signed by another key");

	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf_cn_only, ch_int, C, "name not in certificate SANs",
	    "DANE-TA 2 0 1, name only in the CN, not in SAN dNSNames");
	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf_expired, ch_int, C, "certificate expired",
	    "DANE-TA 2 0 1, expired leaf");
	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf_future, ch_int, C, "certificate not yet valid",
	    "DANE-TA 2 0 1, leaf not yet valid");

	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf_srv, ch_int, C, "unsuitable certificate purpose",
	    "DANE-TA 2 0 1, serverAuth-only leaf verifying a client");
	add_rr(&set, inter, 2, 0, 1, 0);
	MATCH(m, &set, leaf_srv, ch_int, S, "2 0 1",
	    "DANE-TA 2 0 1, serverAuth leaf verifying a server");
	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf, ch_int, S, "unsuitable certificate purpose",
	    "DANE-TA 2 0 1, clientAuth-only leaf verifying a server");
}

static void
test_agility(struct tlsa_matcher *m)
{
	struct tlsa_rrset set = { 0 };

	add_rr(&set, leaf, 3, 1, 1, 0);
	add_rr(&set, leaf, 3, 1, 2, 1);
	NOMATCH(m, &set, leaf, NULL, C, "no TLSA record matches",
	    "agility: good 3 1 1 beside bad 3 1 2");
	add_rr(&set, leaf, 3, 1, 1, 1);
	add_rr(&set, leaf, 3, 1, 2, 0);
	MATCH(m, &set, leaf, NULL, C, "3 1 2", "agility: good 3 1 2 beside bad 3 1 1");
	add_rr(&set, leaf, 3, 1, 2, 1);
	add_rr(&set, leaf, 3, 1, 0, 0);
	MATCH(m, &set, leaf, NULL, C, "3 1 0",
	    "agility: Full 3 1 0 counts beside a bad 3 1 2");
	add_rr(&set, leaf, 3, 0, 2, 1);
	add_rr(&set, leaf, 3, 1, 1, 0);
	MATCH(m, &set, leaf, NULL, C, "3 1 1",
	    "agility is per selector: bad 3 0 2 does not hide good 3 1 1");
	add_rr(&set, leaf, 3, 1, 1, 0);
	add_raw(&set, 3, 1, 2, 63);
	MATCH(m, &set, leaf, NULL, C, "3 1 1",
	    "agility: an unusable SHA-512 (63 bytes) does not hide good 3 1 1");

	add_rr(&set, inter, 2, 0, 1, 0);
	add_rr(&set, inter, 2, 0, 2, 1);
	NOMATCH(m, &set, leaf, ch_int, C, "no TLSA record matches",
	    "agility: good 2 0 1 beside bad 2 0 2");
	add_rr(&set, inter, 2, 0, 1, 1);
	add_rr(&set, inter, 2, 0, 2, 0);
	MATCH(m, &set, leaf, ch_int, C, "2 0 2", "agility: good 2 0 2 beside bad 2 0 1");
	/* Verifier path with a DANE-EE pair: agility must hold there too. */
	add_rr(&set, inter, 2, 0, 1, 1);
	add_rr(&set, leaf, 3, 1, 1, 0);
	add_rr(&set, leaf, 3, 1, 2, 1);
	NOMATCH(m, &set, leaf, ch_int, C, "no TLSA record matches",
	    "agility in the verifier path: good 3 1 1 beside bad 3 1 2 and bad 2 0 1");
}

static void
test_unusable(struct tlsa_matcher *m)
{
	struct tlsa_rrset set = { 0 };
	unsigned char junk[40];

	memset(junk, 0x30, sizeof(junk));
	add_raw(&set, 4, 1, 1, 32);
	add_raw(&set, 3, 2, 1, 32);
	add_raw(&set, 3, 1, 3, 32);
	add_raw(&set, 3, 1, 1, 31);
	add_rr(&set, leaf, 3, 1, 1, 0);
	MATCH(m, &set, leaf, NULL, C, "3 1 1",
	    "usage 4, selector 2, mtype 3, 31-byte SHA-256 ignored beside good 3 1 1");
	add_raw(&set, 4, 1, 1, 32);
	add_raw(&set, 3, 2, 1, 32);
	add_raw(&set, 3, 1, 3, 32);
	add_raw(&set, 3, 1, 1, 31);
	add_raw(&set, 3, 1, 2, 65);
	tlsa_rrset_add(&set, 3, 0, 0, junk, sizeof(junk));
	tlsa_rrset_add(&set, 3, 1, 0, junk, sizeof(junk));
	tlsa_rrset_add(&set, 2, 0, 0, NULL, 0);
	NOMATCH(m, &set, leaf, NULL, C, "no usable TLSA record",
	    "only unusable records (incl. unparseable Full and empty data)");
	add_rr(&set, leaf, 1, 1, 1, 0);
	NOMATCH(m, &set, leaf_pkix, ch_root2, C, "no usable TLSA record",
	    "PKIX-EE 1 1 1 without a PKIX store is unusable");
	add_rr(&set, root, 0, 0, 1, 0);
	NOMATCH(m, &set, leaf, ch_int_root, C, "no usable TLSA record",
	    "PKIX-TA 0 0 1 without a PKIX store is unusable");
	NOMATCH(m, &set, leaf, NULL, C, "no usable TLSA record", "empty RRset");
	NOMATCH(m, NULL, leaf, NULL, C, "no usable TLSA record", "NULL RRset");
	add_rr(&set, leaf, 3, 1, 1, 0);
	NOMATCH(m, &set, NULL, NULL, C, "no peer certificate", "no leaf");
}

/* The verdicts tlsa_rrset_prepare records, and preparing again after a
 * record is added. */
static void
test_prepare(void)
{
	static const struct {
		int prep;
		const char *what;
	} want[] = {
		{ TLSA_RR_WEAKER, "3 1 1 beside 3 1 2: weaker" },
		{ TLSA_RR_USE, "3 1 2: the strongest digest" },
		{ TLSA_RR_USE, "3 1 0: Full counts beside digests" },
		{ TLSA_RR_USE, "3 0 1: agility is per selector" },
		{ TLSA_RR_USE, "2 0 1: agility is per usage" },
		{ TLSA_RR_USE, "1 1 1: PKIX is the matcher's say, not the record's" },
		{ TLSA_RR_MALFORMED, "3 0 0 that is no certificate" },
		{ TLSA_RR_MALFORMED, "3 1 0 that is no SubjectPublicKeyInfo" },
		{ TLSA_RR_MALFORMED, "3 1 2 of 63 bytes" },
		{ TLSA_RR_MALFORMED, "usage 4" },
		{ TLSA_RR_MALFORMED, "selector 2" },
		{ TLSA_RR_MALFORMED, "matching type 3" },
		{ TLSA_RR_MALFORMED, "2 0 0 without data" },
	};
	struct tlsa_rrset set = { 0 };
	unsigned char junk[40];
	size_t i;
	int unprepared = 1;

	memset(junk, 0x30, sizeof(junk));
	add_rr(&set, leaf, 3, 1, 1, 0);
	add_rr(&set, leaf, 3, 1, 2, 0);
	add_rr(&set, leaf, 3, 1, 0, 0);
	add_rr(&set, leaf, 3, 0, 1, 0);
	add_rr(&set, inter, 2, 0, 1, 0);
	add_rr(&set, leaf, 1, 1, 1, 0);
	tlsa_rrset_add(&set, 3, 0, 0, junk, sizeof(junk));
	tlsa_rrset_add(&set, 3, 1, 0, junk, sizeof(junk));
	add_raw(&set, 3, 1, 2, 63);
	add_raw(&set, 4, 1, 1, 32);
	add_raw(&set, 3, 2, 1, 32);
	add_raw(&set, 3, 1, 3, 32);
	tlsa_rrset_add(&set, 2, 0, 0, NULL, 0);
	if (set.n != sizeof(want) / sizeof(want[0]))
		die("test_prepare: records and verdicts differ in number");
	for (i = 0; i < set.n; i++)
		if (set.rr[i].prep != TLSA_RR_UNPREPARED)
			unprepared = 0;
	ok(unprepared, "prepare: records are added unprepared");
	tlsa_rrset_prepare(&set);
	for (i = 0; i < set.n; i++)
		is_int(set.rr[i].prep, want[i].prep, "prepare: %s", want[i].what);
	ok(ERR_peek_error() == 0, "prepare: OpenSSL error queue left clean");

	add_rr(&set, leaf, 3, 0, 2, 0);
	is_int(set.rr[set.n - 1].prep, TLSA_RR_UNPREPARED,
	    "prepare: a record added later is unprepared");
	tlsa_rrset_prepare(&set);
	is_int(set.rr[3].prep, TLSA_RR_WEAKER,
	    "prepare again: 3 0 1 is weaker once 3 0 2 joins");
	is_int(set.rr[set.n - 1].prep, TLSA_RR_USE, "prepare again: 3 0 2 counts");
	is_int(set.rr[1].prep, TLSA_RR_USE, "prepare again: earlier verdicts stand");
	tlsa_rrset_clear(&set);
}

static void
test_mixed(struct tlsa_matcher *m)
{
	struct tlsa_rrset set = { 0 };

	add_rr(&set, leaf, 3, 1, 1, 1);
	add_rr(&set, inter, 2, 0, 1, 0);
	MATCH(m, &set, leaf, ch_int, C, "2 0 1", "mixed: bad 3 1 1 plus good 2 0 1");
	add_rr(&set, inter, 2, 0, 1, 1);
	add_rr(&set, leaf, 3, 1, 1, 0);
	MATCH(m, &set, leaf, ch_int, C, "3 1 1",
	    "mixed: good 3 1 1 plus bad 2 0 1 (verifier path)");
	add_rr(&set, inter, 2, 0, 1, 1);
	add_rr(&set, leaf_expired, 3, 1, 1, 0);
	MATCH(m, &set, leaf_expired, ch_int, C, "3 1 1",
	    "mixed: expired leaf still matches DANE-EE in the verifier path");
	add_rr(&set, inter, 2, 0, 1, 1);
	add_rr(&set, leaf_cn_only, 3, 0, 1, 0);
	MATCH(m, &set, leaf_cn_only, ch_int, C, "3 0 1",
	    "mixed: DANE-EE needs no name in the verifier path");
	add_rr(&set, inter, 2, 0, 1, 1);
	add_rr(&set, leaf, 3, 1, 1, 1);
	NOMATCH(m, &set, leaf, ch_int, C, "no TLSA record matches",
	    "mixed: bad 3 1 1 plus bad 2 0 1");
	add_raw(&set, 3, 1, 1, 31);
	add_rr(&set, inter, 2, 0, 1, 0);
	MATCH(m, &set, leaf, ch_int, C, "2 0 1",
	    "mixed: unusable 3 1 1 plus good 2 0 1");
}

static void
test_pkix(const char *dir)
{
	struct tlsa_matcher *m = NULL;
	struct tlsa_rrset set = { 0 };
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	if ((f = fopen(path, "w")) == NULL || !PEM_write_X509(f, root2) ||
	    fclose(f) != 0)
		die("writing ca.pem");
	is_int(tlsa_matcher_new(path, &m), DP_OK, "matcher with a PKIX store");
	if (m == NULL)
		return;
	add_rr(&set, leaf_pkix, 1, 1, 1, 0);
	MATCH(m, &set, leaf_pkix, ch_root2, C, "1 1 1",
	    "PKIX-EE 1 1 1, leaf issued by a CA in the store");
	add_rr(&set, leaf_pkix, 1, 1, 1, 0);
	MATCH(m, &set, leaf_pkix, NULL, C, "1 1 1",
	    "PKIX-EE 1 1 1, CA not sent, found in the store");
	add_rr(&set, root2, 0, 0, 1, 0);
	MATCH(m, &set, leaf_pkix, ch_root2, C, "0 0 1",
	    "PKIX-TA 0 0 1, store CA in the chain");
	add_rr(&set, leaf, 1, 1, 1, 0);
	NOMATCH(m, &set, leaf, ch_int_root, C,
	    "chain does not lead to the TLSA trust anchor",
	    "PKIX-EE 1 1 1, leaf key matches but its CA is not in the store");
	add_rr(&set, leaf_pkix, 1, 0, 1, 1);
	NOMATCH(m, &set, leaf_pkix, ch_root2, C, "no TLSA record matches",
	    "PKIX-EE bad record: a PKIX-valid chain alone is not enough");
	add_rr(&set, inter, 2, 0, 1, 0);
	NOMATCH(m, &set, leaf_pkix, ch_root2, C, "no TLSA record matches",
	    "DANE-TA record for another CA: a PKIX-valid chain alone is not enough");
	add_rr(&set, inter, 2, 0, 1, 0);
	MATCH(m, &set, leaf, ch_int, C, "2 0 1", "DANE-TA still works with a PKIX store");
	tlsa_matcher_free(m);
	unlink(path);

	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	m = NULL;
	is_int(tlsa_matcher_new(path, &m), DP_ERR_TLS,
	    "matcher with a missing PKIX file fails");
	ok(m == NULL, "and returns no matcher");
	ERR_clear_error();
}

/* The summary a refusal line shows: bounded whatever the set holds. */
static void
test_summary(void)
{
	struct tlsa_rrset set = { 0 };
	unsigned char d[32], big[4096];
	char buf[TLSA_SUMMARY_LEN], small[40];
	size_t i;

	for (i = 0; i < sizeof(d); i++)
		d[i] = (unsigned char)(0x5a + i);
	memset(big, 0xff, sizeof(big));
	is_str(tlsa_rrset_summary(NULL, buf, sizeof(buf)), "none",
	    "summary: NULL set");
	is_str(tlsa_rrset_summary(&set, buf, sizeof(buf)), "none",
	    "summary: empty set");
	tlsa_rrset_add(&set, 3, 1, 1, d, sizeof(d));
	is_str(tlsa_rrset_summary(&set, buf, sizeof(buf)),
	    "3 1 1 5a5b5c5d5e5f6061\xe2\x80\xa6", "summary: U S M, 8 bytes, …");
	tlsa_rrset_add(&set, 2, 0, 0, d, 3);
	tlsa_rrset_add(&set, 3, 1, 2, NULL, 0);
	is_str(tlsa_rrset_summary(&set, buf, sizeof(buf)),
	    "3 1 1 5a5b5c5d5e5f6061\xe2\x80\xa6,2 0 0 5a5b5c,3 1 2",
	    "summary: short data whole (no …), no data: U S M alone");
	tlsa_rrset_clear(&set);
	tlsa_rrset_add(&set, 3, 1, 2, d, 8);
	is_str(tlsa_rrset_summary(&set, buf, sizeof(buf)), "3 1 2 5a5b5c5d5e5f6061",
	    "summary: exactly 8 bytes: no …");
	tlsa_rrset_clear(&set);
	for (i = 0; i < 1000; i++)
		tlsa_rrset_add(&set, 255, 255, 255, big, sizeof(big));
	tlsa_rrset_summary(&set, buf, sizeof(buf));
	ok(strlen(buf) < TLSA_SUMMARY_LEN, "summary: 1000 widest records fit "
	    "TLSA_SUMMARY_LEN (%zu bytes)", strlen(buf));
	ok(strstr(buf, ",+992 more") != NULL &&
	    strncmp(buf, "255 255 255 ffffffffffffffff\xe2\x80\xa6,", 32) == 0,
	    "summary: 8 records listed, then +992 more");
	tlsa_rrset_summary(&set, small, sizeof(small));
	is_str(small, "255 255 255 ffffffffffffffff\xe2\x80\xa6",
	    "summary: a small buffer is cut between records");
	is_str(tlsa_rrset_summary(&set, small, 1), "",
	    "summary: a 1-byte buffer holds the terminator");
	tlsa_rrset_clear(&set);
}

/* The presented key's digest on a refusal line: what "3 1 1" publishes. */
static void
test_spki_hex(struct tlsa_matcher *m)
{
	unsigned char md[64];
	char hex[65], want[65], tiny[64];
	size_t i, n = tlsa_data(leaf, 1, 1, md, sizeof(md));

	for (i = 0; i < n; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	is_int(tlsa_spki_sha256_hex(m, leaf, hex, sizeof(hex)), DP_OK,
	    "spki_sha256_hex");
	is_str(hex, want, "spki_sha256_hex: the 3 1 1 record's data, in hex");
	is_int(tlsa_spki_sha256_hex(m, leaf, tiny, sizeof(tiny)), DP_ERR_INVALID,
	    "spki_sha256_hex: 64 bytes are too few");
	is_int(tlsa_spki_sha256_hex(m, NULL, hex, sizeof(hex)), DP_ERR_TLS,
	    "spki_sha256_hex: no leaf");
	is_str(hex, "", "... leaves \"\"");
}

int
main(void)
{
	struct tlsa_matcher *m = NULL;
	char dir[] = "/tmp/test_tlsa.XXXXXX";

	make_pki();
	test_rrset();
	test_summary();
	is_int(tlsa_matcher_new(NULL, &m), DP_OK, "matcher without a PKIX store");
	if (m == NULL)
		die("tlsa_matcher_new");
	test_spki_hex(m);
	test_dane_ee(m);
	test_dane_ta(m);
	test_agility(m);
	test_unusable(m);
	test_prepare();
	test_mixed(m);
	tlsa_matcher_free(m);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	test_pkix(dir);
	rmdir(dir);
	free_pki();
	return done_testing();
}
