/* test_chainval.c — a stapled DNSSEC chain validated offline (dane/chainval.c)
 * and judged for a server listener (dane/chaincache.c):
 * a zone "chain.test." signed here with ldns (a KSK and a ZSK, ECDSA P-256),
 * the KSK's DS as trust anchor in a temporary file, the chain encoded with
 * dnschain_encode from the RRs' uncompressed wire form; then the verdicts
 * for a good chain, a signed and an unsigned CNAME, a tampered signature, dates outside the signatures'
 * validity, another name, a missing DNSKEY RRset and an anchor for another
 * zone; then the judge's verdicts and reasons, its table (a second judgement
 * of the same bytes costs no validation), max_chain_bytes and
 * stapled_max_age. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "chaincache.h"
#include "chainval.h"
#include "dnschain.h"
#include "err.h"
#include "tap.h"

#define NOW 1800000000u			/* 2027-01-15 08:00:00 UTC */
#define INCEPTION (NOW - 3600u)
#define EXPIRATION (NOW + 86400u)
#define ZONE "chain.test."
#define TLSA_NAME "_lorawan-ns.a.chain.test."
#define CNAME_NAME "_lorawan-ns.c.chain.test."	/* signed CNAME to TLSA_NAME */
#define FORGED_NAME "_lorawan-ns.d.chain.test."	/* unsigned CNAME to it */
#define OUTSIDE_NAME "_lorawan-ns.e.other.test."	/* unsigned CNAME to it, outside the anchor */
#define DOUBLE_NAME "_lorawan-ns.f.chain.test."	/* two CNAMEs, one to it */
#define HEX32 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define MAX_RRS 16
#define CHAIN_MAX 8192

/* The signed zone's RRs in wire form: DNSKEYs, their RRSIG, TLSAs, theirs. */
struct zone {
	unsigned char *wire[MAX_RRS];
	size_t len[MAX_RRS];
	uint16_t type[MAX_RRS];		/* the RR's type; for an RRSIG, the covered type */
	int is_sig[MAX_RRS];
	size_t n;
	char ta_file[64];		/* the KSK's DS */
	char other_ta_file[64];		/* the same DS, owned by another zone */
};

static ldns_key *
key_new(uint16_t flags)
{
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);

	if (k == NULL)
		return NULL;
	ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str(ZONE));
	ldns_key_set_flags(k, flags);
	ldns_key_set_inception(k, INCEPTION);
	ldns_key_set_expiration(k, EXPIRATION);
	ldns_key_set_use(k, true);
	return k;
}

/* The key's DNSKEY RR, its key tag set on the key for ldns_sign_public. */
static ldns_rr *
key_rr(ldns_key *k)
{
	ldns_rr *rr = ldns_key2rr(k);

	if (rr != NULL) {
		ldns_rr_set_ttl(rr, 3600);
		ldns_key_set_keytag(k, ldns_calc_keytag(rr));
	}
	return rr;
}

static int
zone_add(struct zone *z, const ldns_rr *rr, int is_sig)
{
	uint8_t *w = NULL;
	size_t len = 0;

	if (z->n == MAX_RRS ||
	    ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &len) != LDNS_STATUS_OK)
		return -1;
	z->wire[z->n] = w;
	z->len[z->n] = len;
	z->type[z->n] = is_sig ?
	    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) : ldns_rr_get_type(rr);
	z->is_sig[z->n] = is_sig;
	z->n++;
	return 0;
}

static int
zone_add_list(struct zone *z, const ldns_rr_list *l, int is_sig)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (zone_add(z, ldns_rr_list_rr(l, i), is_sig) != 0)
			return -1;
	return 0;
}

static int
write_ta(char *path, size_t size, const ldns_rr *ds)
{
	char *text = ldns_rr2str(ds);
	int fd, ok;

	snprintf(path, size, "/tmp/test_chainval.XXXXXX");
	if (text == NULL || (fd = mkstemp(path)) < 0) {
		free(text);
		return -1;
	}
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	free(text);
	return ok ? 0 : -1;
}

static int
zone_make(struct zone *z)
{
	ldns_key *ksk = key_new(257), *zsk = key_new(256);
	ldns_key_list *kl = ldns_key_list_new(), *zl = ldns_key_list_new();
	ldns_rr_list *keys = ldns_rr_list_new(), *tlsa = ldns_rr_list_new();
	ldns_rr_list *cname = ldns_rr_list_new(), *forged = ldns_rr_list_new();
	ldns_rr_list *ksig = NULL, *tsig = NULL, *csig = NULL;
	ldns_rr *kr, *zr, *ds = NULL, *rr = NULL;
	const char *tl[] = {
		TLSA_NAME " 300 IN TLSA 3 1 1 " HEX32,
		TLSA_NAME " 300 IN TLSA 2 0 1 " HEX32,
	};
	size_t i;
	int r = -1;

	memset(z, 0, sizeof(*z));
	if (ksk == NULL || zsk == NULL || kl == NULL || zl == NULL)
		goto out;
	ldns_key_list_push_key(kl, ksk);
	ldns_key_list_push_key(zl, zsk);
	if ((kr = key_rr(ksk)) == NULL)
		goto out;
	ldns_rr_list_push_rr(keys, kr);
	if ((zr = key_rr(zsk)) == NULL)
		goto out;
	ldns_rr_list_push_rr(keys, zr);
	for (i = 0; i < 2; i++) {
		if (ldns_rr_new_frm_str(&rr, tl[i], 300, NULL, NULL) !=
		    LDNS_STATUS_OK)
			goto out;
		ldns_rr_list_push_rr(tlsa, rr);
	}
	/* c's CNAME is signed; d's is not, as if an attacker added it. */
	if (ldns_rr_new_frm_str(&rr, CNAME_NAME " 300 IN CNAME " TLSA_NAME,
	    300, NULL, NULL) != LDNS_STATUS_OK)
		goto out;
	ldns_rr_list_push_rr(cname, rr);
	if (ldns_rr_new_frm_str(&rr, FORGED_NAME " 300 IN CNAME " TLSA_NAME,
	    300, NULL, NULL) != LDNS_STATUS_OK)
		goto out;
	ldns_rr_list_push_rr(forged, rr);
	if (ldns_rr_new_frm_str(&rr, DOUBLE_NAME " 300 IN CNAME " TLSA_NAME,
	    300, NULL, NULL) != LDNS_STATUS_OK)
		goto out;
	ldns_rr_list_push_rr(forged, rr);
	if (ldns_rr_new_frm_str(&rr, DOUBLE_NAME " 300 IN CNAME x.chain.test.",
	    300, NULL, NULL) != LDNS_STATUS_OK)
		goto out;
	ldns_rr_list_push_rr(forged, rr);
	if (ldns_rr_new_frm_str(&rr, OUTSIDE_NAME " 300 IN CNAME " TLSA_NAME,
	    300, NULL, NULL) != LDNS_STATUS_OK)
		goto out;
	ldns_rr_list_push_rr(forged, rr);
	/* The DNSKEY RRset by the KSK only, the TLSA RRset by the ZSK only:
	 * the validator must walk DS → KSK → DNSKEY set → ZSK → TLSA. */
	if ((ksig = ldns_sign_public(keys, kl)) == NULL ||
	    (tsig = ldns_sign_public(tlsa, zl)) == NULL ||
	    (csig = ldns_sign_public(cname, zl)) == NULL)
		goto out;
	if (zone_add_list(z, keys, 0) != 0 || zone_add_list(z, ksig, 1) != 0 ||
	    zone_add_list(z, tlsa, 0) != 0 || zone_add_list(z, tsig, 1) != 0 ||
	    zone_add_list(z, cname, 0) != 0 || zone_add_list(z, csig, 1) != 0 ||
	    zone_add_list(z, forged, 0) != 0)
		goto out;
	if ((ds = ldns_key_rr2ds(kr, LDNS_SHA256)) == NULL ||
	    write_ta(z->ta_file, sizeof(z->ta_file), ds) != 0)
		goto out;
	ldns_rdf_deep_free(ldns_rr_owner(ds));
	ldns_rr_set_owner(ds, ldns_dname_new_frm_str("other.test."));
	if (write_ta(z->other_ta_file, sizeof(z->other_ta_file), ds) != 0)
		goto out;
	r = 0;
out:
	ldns_rr_free(ds);
	ldns_rr_list_deep_free(ksig);
	ldns_rr_list_deep_free(tsig);
	ldns_rr_list_deep_free(csig);
	ldns_rr_list_deep_free(cname);
	ldns_rr_list_deep_free(forged);
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_deep_free(tlsa);
	ldns_key_list_free(kl);		/* frees the keys it holds */
	ldns_key_list_free(zl);
	return r;
}

static void
zone_free(struct zone *z)
{
	size_t i;

	for (i = 0; i < z->n; i++)
		free(z->wire[i]);
	if (z->ta_file[0] != '\0')
		unlink(z->ta_file);
	if (z->other_ta_file[0] != '\0')
		unlink(z->other_ta_file);
}

/* Parses the RRs of z that keep(z, i) selects into c. */
static int
chain_of(const struct zone *z, int (*keep)(const struct zone *, size_t),
    struct dnschain *c)
{
	static unsigned char data[CHAIN_MAX];
	const unsigned char *rrs[MAX_RRS];
	size_t lens[MAX_RRS], n = 0, i, len = 0;
	char why[DNSCHAIN_WHY_MAX];
	int r;

	for (i = 0; i < z->n; i++) {
		if (keep != NULL && !keep(z, i))
			continue;
		rrs[n] = z->wire[i];
		lens[n++] = z->len[i];
	}
	if ((r = dnschain_encode(24, rrs, lens, n, data, sizeof(data), &len)) !=
	    DP_OK)
		return r;
	r = dnschain_parse(data, len, NULL, NOW, c, why, sizeof(why));
	if (r != DP_OK)
		diag("dnschain_parse: %s", why);
	return r;
}

static int
no_dnskeys(const struct zone *z, size_t i)
{
	return z->type[i] != LDNS_RR_TYPE_DNSKEY;
}

static void
check(struct chainval *v, const struct dnschain *c, const char *name,
    time_t now, enum chainval_status want, size_t want_rrs, const char *what)
{
	struct chainval_result res = { 0 };
	int r = chainval_check(v, c, name, now, &res);

	is_int(r, DP_OK, "%s: a verdict", what);
	is_str(chainval_status_str(res.status), chainval_status_str(want),
	    "%s: %s (%s)", what, chainval_status_str(want), res.reason);
	is_int((int)res.tlsa.n, (int)want_rrs, "%s: %zu TLSA records", what,
	    want_rrs);
	chainval_result_clear(&res);
}

static void
check_not_secure(struct chainval *v, const struct dnschain *c,
    const char *name, time_t now, const char *what)
{
	struct chainval_result res = { 0 };
	int r = chainval_check(v, c, name, now, &res);

	is_int(r, DP_OK, "%s: a verdict", what);
	ok(res.status != CHAINVAL_SECURE, "%s: not secure (%s: %s)", what,
	    chainval_status_str(res.status), res.reason);
	is_int((int)res.tlsa.n, 0, "%s: no TLSA records", what);
	chainval_result_clear(&res);
}

static int
no_tlsa_sigs(const struct zone *z, size_t i)
{
	return !(z->is_sig[i] && z->type[i] == LDNS_RR_TYPE_TLSA);
}

/* The extension data of the RRs keep selects. */
static size_t
data_of(const struct zone *z, int (*keep)(const struct zone *, size_t),
    unsigned char *data, size_t size)
{
	const unsigned char *rrs[MAX_RRS];
	size_t lens[MAX_RRS], n = 0, i, len = 0;

	for (i = 0; i < z->n; i++) {
		if (keep != NULL && !keep(z, i))
			continue;
		rrs[n] = z->wire[i];
		lens[n++] = z->len[i];
	}
	return dnschain_encode(0, rrs, lens, n, data, size, &len) == DP_OK ?
	    len : 0;
}

static void
judge(struct chaincache *cc, const unsigned char *d, size_t len,
    const char *name, const struct chain_policy *pol, time_t now,
    enum mx_hs_reason want, const char *word, const char *what)
{
	struct chain_verdict v;

	is_int(chaincache_judge(cc, d, len, name, pol, now, &v), DP_OK,
	    "%s: judged", what);
	ok(v.answer == NULL && v.why == want && strstr(v.reason, word) != NULL,
	    "%s: refused, %s (%s)", what, word, v.reason);
	tlsa_answer_unref(v.answer);
}

/* chaincache_judge on the zone's chain: secure, then from the table. */
static void
judge_checks(struct zone *z, const struct dnschain *c)
{
	static unsigned char data[CHAIN_MAX], pad[CHAIN_MAX];
	struct chain_policy pol = { .max_bytes = CHAIN_MAX, .max_ttl = 100 };
	struct chaincache *cc = NULL;
	struct chain_verdict v, w;
	char err[256];
	size_t len = data_of(z, NULL, data, sizeof(data));

	(void)c;
	is_int(chaincache_new(z->ta_file, &cc, err, sizeof(err)), DP_OK,
	    "judge made (%s)", err);
	if (cc == NULL)
		return;
	ok(len > 0, "chain data: %zu bytes", len);
	is_int(chaincache_judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol,
	    NOW, &v), DP_OK, "judged");
	ok(v.answer != NULL && !v.cached && v.answer->status == DNS_SECURE &&
	    v.answer->rrset.n == 2, "secure, 2 records, validated now");
	if (v.answer != NULL)
		ok(v.answer->expires_ms - v.answer->fetched_ms == 100 * 1000,
		    "answer kept min(TTL 300, RRSIG 86400 s, max_ttl 100) s");
	is_int(chaincache_judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol,
	    NOW + 10, &w), DP_OK, "judged again");
	ok(w.cached && w.answer == v.answer, "  from the table: the same answer");
	tlsa_answer_unref(w.answer);
	is_int(chaincache_judge(cc, data, len, "_lorawan-ns.c.chain.test", &pol,
	    NOW, &w), DP_OK, "same bytes, the CNAME's name");
	ok(w.answer != NULL && !w.cached, "  validated for that name, not "
	    "taken from another name's slot");
	tlsa_answer_unref(w.answer);
	tlsa_answer_unref(v.answer);

	judge(cc, data, len, "_lorawan-ns.b.chain.test", &pol, NOW,
	    MX_HS_CHAIN_WRONG_NAME, "wrong name", "another name");
	judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol,
	    (time_t)EXPIRATION + 5, MX_HS_CHAIN_EXPIRED, "expired",
	    "cached chain past its RRSIGs");
	judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol,
	    (time_t)INCEPTION - 5, MX_HS_CHAIN_EXPIRED, "not valid for another",
	    "before inception");
	pol.max_age = 600;
	judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol, NOW,
	    MX_HS_CHAIN_EXPIRED, "stapled_max_age 600",
	    "TLSA signed 3600 s ago, stapled_max_age 600");
	pol.max_age = 7200;
	is_int(chaincache_judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol,
	    NOW, &w), DP_OK, "stapled_max_age 7200");
	ok(w.answer != NULL, "  passes");
	tlsa_answer_unref(w.answer);
	pol.max_age = 0;
	pol.max_bytes = len - 1;
	judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol, NOW,
	    MX_HS_CHAIN_OVERSIZE, "max_chain_bytes", "one byte over the bound");
	pol.max_bytes = CHAIN_MAX;
	judge(cc, data, len - 1, "_lorawan-ns.a.chain.test", &pol, NOW,
	    MX_HS_CHAIN_MALFORMED, "malformed", "truncated");
	/* getdns calls a DS anchor matching no DNSKEY present bogus. */
	len = data_of(z, no_dnskeys, pad, sizeof(pad));
	judge(cc, pad, len, "_lorawan-ns.a.chain.test", &pol, NOW,
	    MX_HS_CHAIN_BOGUS, "bogus", "no DNSKEY RRset");
	len = data_of(z, no_tlsa_sigs, pad, sizeof(pad));
	judge(cc, pad, len, "_lorawan-ns.a.chain.test", &pol, NOW,
	    MX_HS_CHAIN_BOGUS, "bogus", "TLSA RRSIGs left out");
	chaincache_free(cc);

	/* No anchor above the name: no link from it to the chain. */
	is_int(chaincache_new(z->other_ta_file, &cc, err, sizeof(err)), DP_OK,
	    "judge with another zone's anchor (%s)", err);
	if (cc == NULL)
		return;
	len = data_of(z, NULL, data, sizeof(data));
	judge(cc, data, len, "_lorawan-ns.a.chain.test", &pol, NOW,
	    MX_HS_CHAIN_INCOMPLETE, "incomplete", "no anchor above the name");
	chaincache_free(cc);
}

int
main(void)
{
	struct zone z;
	struct dnschain c = { 0 };
	struct chainval *v = NULL, *other = NULL;
	struct chainval_result res = { 0 };
	char err[256];
	size_t i;

	if (zone_make(&z) != 0) {
		ok(0, "signed test zone made with ldns");
		zone_free(&z);
		return done_testing();
	}
	ok(1, "signed test zone made with ldns (%zu RRs)", z.n);

	is_int(chainval_new(z.ta_file, &v, err, sizeof(err)), DP_OK,
	    "anchor file read (%s)", err);
	is_int(chainval_new("/nonexistent/ta", &other, err, sizeof(err)),
	    DP_ERR_IO, "a missing anchor file refused (%s)", err);
	ok(other == NULL, "no validator on failure");

	/* The good chain. */
	is_int(chain_of(&z, NULL, &c), DP_OK, "whole chain encoded and parsed");
	check(v, &c, TLSA_NAME, NOW, CHAINVAL_SECURE, 2, "good chain");
	check(v, &c, "_LoRaWAN-NS.A.Chain.Test", NOW, CHAINVAL_SECURE, 2,
	    "good chain, name in other case without the final dot");
	is_int(chainval_check(v, &c, TLSA_NAME, NOW, &res), DP_OK, "again");
	ok(res.have_sig && res.sig_expiration == EXPIRATION &&
	    res.sig_left == 86400, "earliest RRSIG expiration %u, %lld s left",
	    res.sig_expiration, (long long)res.sig_left);
	is_int((int)res.ttl, 300, "TTL of the RRsets validated (the DNSKEYs' "
	    "3600 is support)");
	is_str(res.wildcard, "", "not from a wildcard");
	ok(!res.no_tlsa, "records at the name");
	chainval_result_clear(&res);
	is_int(chainval_check(v, &c, "_lorawan-ns.b.chain.test", NOW, &res),
	    DP_OK, "another name");
	ok(res.no_tlsa && res.status == CHAINVAL_INDETERMINATE,
	    "  no TLSA RRset there: no_tlsa set (%s)", res.reason);
	chainval_result_clear(&res);
	judge_checks(&z, &c);

	/* Through CNAMEs: a signed one leads to the records, an unsigned one
	 * to nothing, though the TLSA RRset it points at is signed. */
	check(v, &c, CNAME_NAME, NOW, CHAINVAL_SECURE, 2, "signed CNAME");
	check_not_secure(v, &c, FORGED_NAME, NOW, "unsigned CNAME");
	/* getdns calls an RRset with no anchor above it INDETERMINATE, and
	 * the worst of several RRsets ignores INDETERMINATE beside SECURE
	 * (chain_validate_dnssec): chainval must judge each RRset alone. */
	check_not_secure(v, &c, OUTSIDE_NAME, NOW,
	    "unsigned CNAME outside the anchor's zone");
	check_not_secure(v, &c, DOUBLE_NAME, NOW, "two CNAMEs at one name");

	/* Dates: now after expiration, before inception. */
	check_not_secure(v, &c, TLSA_NAME, (time_t)EXPIRATION + 1, "expired");
	check_not_secure(v, &c, TLSA_NAME, (time_t)INCEPTION - 60,
	    "not yet valid");
	check_not_secure(v, &c, TLSA_NAME, (time_t)INCEPTION - 1,
	    "one second before inception");
	/* RFC 4035 §5.3.1: both bounds inclusive. */
	check(v, &c, TLSA_NAME, (time_t)INCEPTION, CHAINVAL_SECURE, 2,
	    "valid in the second of its inception");
	check(v, &c, TLSA_NAME, (time_t)EXPIRATION, CHAINVAL_SECURE, 2,
	    "valid in the second of its expiration");

	/* Another name: nothing validated, no records. */
	check_not_secure(v, &c, "_lorawan-ns.b.chain.test.", NOW, "another name");

	/* An anchor for another zone: the chain's own KSK is not trusted. */
	is_int(chainval_new(z.other_ta_file, &other, err, sizeof(err)), DP_OK,
	    "other zone's anchor read (%s)", err);
	check_not_secure(other, &c, TLSA_NAME, NOW, "anchor for another zone");
	chainval_free(other);
	dnschain_free(&c);

	/* The DNSKEY RRset (and its RRSIG) left out. */
	is_int(chain_of(&z, no_dnskeys, &c), DP_OK, "chain without DNSKEYs");
	check_not_secure(v, &c, TLSA_NAME, NOW, "DNSKEY RRset missing");
	dnschain_free(&c);

	/* One byte of the TLSA RRset's signature flipped. */
	for (i = 0; i < z.n; i++)
		if (z.is_sig[i] && z.type[i] == LDNS_RR_TYPE_TLSA)
			z.wire[i][z.len[i] - 1] ^= 0x01;
	is_int(chain_of(&z, NULL, &c), DP_OK, "tampered chain");
	check(v, &c, TLSA_NAME, NOW, CHAINVAL_BOGUS, 0, "tampered signature");
	dnschain_free(&c);

	/* Refusals of the arguments. */
	is_int(chainval_check(v, NULL, TLSA_NAME, NOW, &res), DP_ERR_INVALID,
	    "no chain refused");
	ok(res.status == CHAINVAL_INDETERMINATE, "  and not secure");
	chainval_result_clear(&res);
	chainval_free(NULL);
	chainval_result_clear(NULL);

	chainval_free(v);
	zone_free(&z);
	return done_testing();
}
