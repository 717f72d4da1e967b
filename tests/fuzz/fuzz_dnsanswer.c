/* fuzz_dnsanswer.c — libFuzzer target for the DNS answer parser both back
 * ends use (codec/dnsanswer.c): any bytes, as an answer to a TLSA name and
 * to the root. Whatever it accepts must be self-consistent: records only
 * with their data, a wildcard only as "*." + a name, a secure TTL never
 * above the records' TTL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsanswer.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
one(const uint8_t *data, size_t size, const char *qname)
{
	struct dns_answer a;
	size_t i;
	int r = dns_answer_parse(data, size, qname, 1800000000u, &a);

	check(r == DP_OK || r == DP_ERR_INVALID || r == DP_ERR_NOMEM);
	if (r != DP_OK)
		return;
	for (i = 0; i < a.rrset.n; i++)
		check(a.rrset.rr[i].len > 0 && a.rrset.rr[i].data != NULL);
	check(a.wildcard[0] == '\0' ||
	    (strncmp(a.wildcard, "*.", 2) == 0 && strlen(a.wildcard) < DNS_WILDCARD_MAX));
	check(a.rrset.n == 0 || dns_answer_secure_ttl(&a) <= a.tlsa_ttl);
	check(a.rcode >= 0 && a.rcode <= 15);
	tlsa_rrset_clear(&a.rrset);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(data, size, "dev9._device.example.net");
	one(data, size, ".");
	return 0;
}
