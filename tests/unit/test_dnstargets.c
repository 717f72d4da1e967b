/* test_dnstargets.c — dns_targets_parse(): DNS messages answering
 * "NAME NAPTR", built here with ldns from zone-file text, reduced to the
 * host names they point at; dns_naptr_regexp_host() on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnstargets.h"
#include "err.h"
#include "dnsmsg.h"
#include "tap.h"

#define OWNER "000013.netids.example.org."

static int
parse(ldns_pkt_rcode rcode, const char *const *an, const char *const *ns,
    struct dns_targets *t)
{
	uint8_t *wire = NULL;
	size_t len = dnsmsg_build(OWNER, "NAPTR", rcode, 1, an, ns, &wire);
	int r = dns_targets_parse(wire, len, OWNER, DNS_QTYPE_NAPTR, t);

	free(wire);
	return r;
}

static void
test_naptr(void)
{
	struct dns_targets t;
	const char *an[] = {
		OWNER " 600 IN NAPTR 100 10 \"A\" \"LORA+HTTP\" \"\" NS1.Operator.example.",
		OWNER " 120 IN NAPTR 100 20 \"U\" \"LORA+HTTP\" "
		    "\"!^.*$!https://js.operator.example:8443/ts002!\" .",
		OWNER " 300 IN NAPTR 100 30 \"U\" \"LORA+HTTP\" "
		    "\"!^(.*)$!https://\\\\1.evil.example/!\" .",
		OWNER " 300 IN NAPTR 100 40 \"U\" \"LORA+HTTP\" "
		    "\"!^.*$!https://[2001:db8::1]/!\" .",
		"other.example.org. 300 IN NAPTR 1 1 \"A\" \"X\" \"\" other.example.",
		NULL,
	};

	is_int(parse(LDNS_RCODE_NOERROR, an, NULL, &t), DP_OK, "NAPTR answer parses");
	is_int(t.question_ok, 1, "question matches");
	is_int(t.ad, 1, "AD seen");
	is_int((int)t.n, 2, "two hosts: a replacement, a literal URL's host");
	if (t.n == 2) {
		is_str(t.name[0], "ns1.operator.example", "replacement, lower case, no dot");
		is_str(t.name[1], "js.operator.example", "the URL's host, port left out");
	}
	is_int((int)t.ttl, 120, "TTL: the least of the records used");
	is_int((int)t.n_rr, 4, "n_rr: the four NAPTRs at the owner, not the other one");
	is_int((int)t.rr_ttl, 120, "rr_ttl: the least of those four");
}

static void
test_cname(void)
{
	struct dns_targets t;
	const char *an[] = {
		OWNER " 60 IN CNAME 000013.netids.operator.example.",
		"000013.netids.operator.example. 600 IN NAPTR 100 10 \"A\" "
		    "\"LORA+HTTP\" \"\" .",
		NULL,
	};
	const char *soa[] = {
		"example.org. 300 IN SOA ns. h. 1 2 3 4 45", NULL,
	};

	is_int(parse(LDNS_RCODE_NOERROR, an, NULL, &t), DP_OK, "CNAME answer parses");
	is_int((int)t.n, 1, "the CNAME target; a \".\" replacement names nothing");
	if (t.n == 1)
		is_str(t.name[0], "000013.netids.operator.example", "CNAME target");
	is_int((int)t.ttl, 60, "TTL of the CNAME");
	is_int((int)t.n_rr, 1, "n_rr: the NAPTR at the CNAME's target");
	is_int((int)t.rr_ttl, 60, "rr_ttl: the CNAME's TTL is the least");
	is_int(parse(LDNS_RCODE_NXDOMAIN, NULL, soa, &t), DP_OK, "NXDOMAIN parses");
	is_int(t.rcode, LDNS_RCODE_NXDOMAIN, "NXDOMAIN seen");
	is_int((int)t.n, 0, "no host");
	is_int((int)t.n_rr, 0, "no RR");
	is_int((int)t.rr_ttl, 0, "rr_ttl 0 without RRs");
	is_int((int)t.neg_ttl, 45, "negative TTL from the SOA");
}

static void
test_question(void)
{
	struct dns_targets t;
	uint8_t *wire = NULL;
	size_t len = dnsmsg_build(OWNER, "TLSA", LDNS_RCODE_NOERROR, 1, NULL, NULL, &wire);

	is_int(dns_targets_parse(wire, len, OWNER, DNS_QTYPE_NAPTR, &t), DP_OK,
	    "a TLSA answer parses");
	is_int(t.question_ok, 0, "but its question is not NAPTR");
	free(wire);
	is_int(dns_targets_parse((const unsigned char *)"\1\2\3", 3, OWNER,
	    DNS_QTYPE_NAPTR, &t), DP_ERR_INVALID, "garbage refused");
}

static void
test_regexp(void)
{
	static const struct {
		const char *re, *host;
	} cases[] = {
		{ "!^.*$!https://js.example.com/x!", "js.example.com" },
		{ "!^.*$!https://JS.Example.com.:443!i", "js.example.com" },
		{ "#^.*$#http://a.b#", "a.b" },
		{ "!^.*$!https://user@js.example.com/!", NULL },
		{ "!^.*$!https://\\1.example.com/!", NULL },
		{ "!^.*$!js.example.com!", NULL },
		{ "!^.*$!https://js.example.com/!x", NULL },
		{ "!^.*$!https://js.example.com/", NULL },
		{ "1^.*$1https://js.example.com/1", NULL },
		{ "!^.*$!https:///x!", NULL },
		{ "", NULL },
	};
	char host[DNS_TARGET_NAME_MAX];
	size_t i;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = dns_naptr_regexp_host(cases[i].re, strlen(cases[i].re), host,
		    sizeof(host));
		if (cases[i].host != NULL) {
			is_int(r, DP_OK, "regexp %s gives a host", cases[i].re);
			is_str(r == DP_OK ? host : "", cases[i].host, "  that host");
		} else {
			is_int(r, DP_ERR_INVALID, "regexp \"%s\" gives none", cases[i].re);
		}
	}
}

int
main(void)
{
	test_naptr();
	test_cname();
	test_question();
	test_regexp();
	return done_testing();
}
