/* fuzz_chainjudge.c — libFuzzer target for what a server does with a
 * stapled chain a client sent (dane/chaincache.c): the bounds, the parser,
 * the dates, and getdns validating attacker-chosen records against a fixed
 * trust anchor. The first input byte picks the ClientName from NAMES, the
 * rest is the extension data. The anchor (the DS of a lab's dp.test) and
 * the clock (the moment its chains in corpus/fuzz_chainjudge were built,
 * so their signatures stay valid here forever) are fixed.
 *
 * Beyond "no crash, no leak": a verdict is either a secure answer with the
 * TLSA records dnschain_tlsa finds at the name, or a refusal with one of
 * the chain reasons and its "stapled chain: " text; the same bytes judged
 * again give the same verdict, a secure one then from the table. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chaincache.h"
#include "dnschain.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1796042511)
static const char TA_TEXT[] = "dp.test.\t3600\tIN\tDS\t14307 13 2 "
    "ca41c2409ceda433a1a73a6c97b26907b753015b72b31cc535a719bba111e54e\n";
static const char *const NAMES[] = {
	"_lorawan-ns.ns1.dp.test", "client.child.dp.test", "x._device.dp.test",
	"client.nsec3.dp.test", "x.wild.nsec3.dp.test",
	"client.insecure.dp.test", "client.expired.dp.test",
	"client.bogus.dp.test",
};
#define N_NAMES (sizeof(NAMES) / sizeof(NAMES[0]))

static void
check(int cond)
{
	if (!cond)
		abort();
}

static struct chaincache *
judge_once(void)
{
	static struct chaincache *cc;
	char path[] = "/tmp/fuzz_chainjudge.XXXXXX", err[256];
	int fd;

	if (cc != NULL)
		return cc;
	fd = mkstemp(path);
	check(fd >= 0);
	check(write(fd, TA_TEXT, sizeof(TA_TEXT) - 1) ==
	    (ssize_t)(sizeof(TA_TEXT) - 1));
	close(fd);
	check(chaincache_new(path, &cc, err, sizeof(err)) == DP_OK);
	unlink(path);
	return cc;
}

/* The records a secure verdict gave are those at the name in the chain. */
static void
check_records(const uint8_t *data, size_t size, const char *name,
    const struct tlsa_answer *a)
{
	struct dnschain c = { 0 };
	struct tlsa_rrset set = { 0 };
	char why[DNSCHAIN_WHY_MAX];

	check(a->status == DNS_SECURE && a->rrset.n > 0);
	check(dnschain_parse(data, size, NULL, (uint32_t)NOW, &c, why,
	    sizeof(why)) == DP_OK);
	check(dnschain_tlsa(&c, name, &set) == DP_OK && set.n == a->rrset.n);
	tlsa_rrset_clear(&set);
	dnschain_free(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chain_policy pol = { .max_bytes = 16384, .max_ttl = 300 };
	struct chaincache *cc = judge_once();
	struct chain_verdict v, w;
	const char *name;

	if (size < 1)
		return 0;
	name = NAMES[data[0] % N_NAMES];
	data++;
	size--;
	check(chaincache_judge(cc, data, size, name, &pol, NOW, &v) == DP_OK);
	if (v.answer != NULL) {
		check_records(data, size, name, v.answer);
	} else {
		check(v.why >= MX_HS_CHAIN_MISSING && v.why <= MX_HS_CHAIN_WRONG_NAME &&
		    !v.cached);
		check(strncmp(v.reason, "stapled chain: ", 15) == 0);
	}
	check(chaincache_judge(cc, data, size, name, &pol, NOW, &w) == DP_OK);
	check((w.answer != NULL) == (v.answer != NULL));
	if (v.answer != NULL)
		check(w.cached && w.answer == v.answer);
	else
		check(w.why == v.why && strcmp(w.reason, v.reason) == 0);
	tlsa_answer_unref(v.answer);
	tlsa_answer_unref(w.answer);
	return 0;
}
