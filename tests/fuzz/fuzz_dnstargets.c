/* fuzz_dnstargets.c — libFuzzer target for the NAPTR target parser both
 * back ends use (codec/dnstargets.c): any bytes, as an answer to a NAPTR
 * name, and the first bytes alone as a NAPTR regexp. Whatever it accepts
 * must be self-consistent: at most DNS_TARGETS_MAX names, each a DNS name
 * in lower case with no final dot, no two alike. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnstargets.h"
#include "err.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_name(const char *s)
{
	size_t i, len = strlen(s);

	check(len > 0 && len < DNS_TARGET_NAME_MAX);
	check(dp_dns_name_check(s, len) == DP_OK);
	for (i = 0; i < len; i++)
		check(!(s[i] >= 'A' && s[i] <= 'Z'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_targets t;
	char host[DNS_TARGET_NAME_MAX];
	size_t i, j;
	int r;

	r = dns_targets_parse(data, size, "000013.netids.example.org",
	    DNS_QTYPE_NAPTR, &t);
	check(r == DP_OK || r == DP_ERR_INVALID);
	if (r == DP_OK) {
		check(t.n <= DNS_TARGETS_MAX);
		check(t.rcode >= 0 && t.rcode <= 15);
		for (i = 0; i < t.n; i++) {
			check_name(t.name[i]);
			for (j = 0; j < i; j++)
				check(strcmp(t.name[i], t.name[j]) != 0);
		}
	}
	if (dns_naptr_regexp_host((const char *)data, size < 255 ? size : 255,
	    host, sizeof(host)) == DP_OK)
		check_name(host);
	return 0;
}
