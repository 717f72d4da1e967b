/* test_dnsanswer.c — dns_answer_parse(): DNS messages answering "NAME TLSA",
 * built here with ldns from zone-file text, parsed as both back ends see
 * them. The clock is the test's: RRSIG expirations are measured against a
 * fixed `now`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsanswer.h"
#include "err.h"
#include "dnsmsg.h"
#include "tap.h"

#define NOW 1800000000u			/* 2027-01-15 */
#define EXP_IN_1H "20270115090000"	/* NOW + 3600 s */
#define EXP_PAST "20260101000000"
#define TLSA_RDATA "3 1 1 " \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int
parse(const char *qname, ldns_pkt_rcode rcode, int ad, const char *const *an,
    const char *const *ns, const char *asked, struct dns_answer *a)
{
	uint8_t *wire = NULL;
	size_t len = dnsmsg_build(qname, "TLSA", rcode, ad, an, ns, &wire);
	int r = dns_answer_parse(wire, len, asked, NOW, a);

	free(wire);
	return r;
}

static void
test_secure_exact(void)
{
	const char *an[] = {
		"_lorawan-ns.ns.example.net. 600 IN TLSA " TLSA_RDATA,
		"_lorawan-ns.ns.example.net. 600 IN RRSIG TLSA 13 4 600 "
		    EXP_IN_1H " 20270101000000 12345 example.net. AAAA",
		NULL };
	struct dns_answer a;

	is_int(parse("_lorawan-ns.ns.example.net.", LDNS_RCODE_NOERROR, 1, an,
	    NULL, "_lorawan-ns.ns.example.net", &a), DP_OK, "secure answer parses");
	ok(a.question_ok && a.id == 4242 && a.rcode == 0 && a.ad == 1 && !a.tc,
	    "question, ID, RCODE and AD as sent");
	ok(a.rrset.n == 1 && a.rrset.rr[0].usage == 3 && a.rrset.rr[0].selector == 1 &&
	    a.rrset.rr[0].mtype == 1 && a.rrset.rr[0].len == 32 &&
	    a.rrset.rr[0].data[0] == 0x01, "one TLSA record, 3 1 1, 32 bytes of data");
	ok(a.tlsa_ttl == 600 && a.have_sig && a.sig_left == 3600,
	    "TTL 600, RRSIG expiring in 3600 s");
	is_int(dns_answer_secure_ttl(&a), 600, "kept for the TTL (below the expiry)");
	is_str(a.wildcard, "", "Labels 4 = the owner's 4 labels: not a wildcard");
	tlsa_rrset_clear(&a.rrset);
	ok(parse("_lorawan-ns.ns.example.net.", LDNS_RCODE_NOERROR, 1, an, NULL,
	    "_LORAWAN-NS.NS.Example.NET", &a) == DP_OK && a.question_ok && a.rrset.n == 1,
	    "names compare case-insensitively");
	tlsa_rrset_clear(&a.rrset);
}

static void
test_wildcard_and_expiry(void)
{
	const char *an[] = {
		"dev9._device.example.net. 7200 IN TLSA " TLSA_RDATA,
		"dev9._device.example.net. 7200 IN RRSIG TLSA 13 3 7200 "
		    EXP_IN_1H " 20270101000000 12345 example.net. AAAA",
		NULL };
	const char *old[] = {
		"x.example.net. 300 IN TLSA " TLSA_RDATA,
		"x.example.net. 300 IN RRSIG TLSA 13 3 300 "
		    EXP_PAST " 20251201000000 12345 example.net. AAAA",
		NULL };
	struct dns_answer a;

	is_int(parse("dev9._device.example.net.", LDNS_RCODE_NOERROR, 1, an, NULL,
	    "dev9._device.example.net", &a), DP_OK, "answer synthesised from a wildcard");
	is_str(a.wildcard, "*._device.example.net",
	    "Labels 3 under a 4-label owner: the wildcard *._device.example.net");
	is_int(dns_answer_secure_ttl(&a), 3600, "TTL 7200 capped by the RRSIG expiry");
	tlsa_rrset_clear(&a.rrset);
	is_int(parse("x.example.net.", LDNS_RCODE_NOERROR, 1, old, NULL,
	    "x.example.net", &a), DP_OK, "expired signature parses");
	ok(a.sig_left < 0 && dns_answer_secure_ttl(&a) == 0, "... and may not be kept at all");
	tlsa_rrset_clear(&a.rrset);
}

static void
test_denials_and_chains(void)
{
	const char *soa[] = {
		"example.net. 900 IN SOA ns.example.net. h.example.net. 1 3600 900 604800 120",
		NULL };
	const char *chain[] = {
		"a.example.net. 300 IN CNAME b.example.net.",
		"b.example.net. 300 IN CNAME c.example.org.",
		"c.example.org. 200 IN TLSA " TLSA_RDATA,
		"elsewhere.example.org. 200 IN TLSA " TLSA_RDATA,
		NULL };
	struct dns_answer a;

	is_int(parse("nothere.example.net.", LDNS_RCODE_NXDOMAIN, 1, NULL, soa,
	    "nothere.example.net", &a), DP_OK, "NXDOMAIN parses");
	ok(a.rcode == LDNS_RCODE_NXDOMAIN && a.rrset.n == 0 && a.have_soa &&
	    a.neg_ttl == 120, "NXDOMAIN: no records, negative TTL min(SOA TTL, minimum) = 120");
	is_int(parse("a.example.net.", LDNS_RCODE_NOERROR, 1, chain, NULL,
	    "a.example.net", &a), DP_OK, "CNAME chain parses");
	ok(a.rrset.n == 1 && a.tlsa_ttl == 200,
	    "the TLSA RRset at the end of the chain only, not an unrelated one");
	tlsa_rrset_clear(&a.rrset);
	is_int(parse("a.example.net.", LDNS_RCODE_NOERROR, 1, chain, NULL,
	    "other.example.net", &a), DP_OK, "an answer to another question parses");
	ok(!a.question_ok && a.rrset.n == 0, "... but is not an answer to ours");
	tlsa_rrset_clear(&a.rrset);
	is_str(dns_rcode_str(LDNS_RCODE_SERVFAIL), "SERVFAIL", "RCODE mnemonic");
}

static void
test_garbage(void)
{
	static const unsigned char junk[] = { 0x12, 0x34, 0x81, 0x80, 0x00, 0x05 };
	struct dns_answer a;

	is_int(dns_answer_parse(junk, sizeof(junk), "x.example.net", NOW, &a),
	    DP_ERR_INVALID, "a truncated message is refused");
	is_int(dns_answer_parse(junk, 0, "x.example.net", NOW, &a), DP_ERR_INVALID,
	    "an empty one too");
}

int
main(void)
{
	test_secure_exact();
	test_wildcard_and_expiry();
	test_denials_and_chains();
	test_garbage();
	return done_testing();
}
