/* dp-chainbench.c — what a stapled chain costs a server (the figures of
 * README "Stapled DNSSEC chains"): CPU per judgement of one chain, cold
 * (parsed and validated by getdns, as for a client's first handshake) and
 * cached (the digest found in the judge's table, as for every later one).
 *
 *   dp-chainbench --anchor FILE --name NAME --chain FILE [--n N]
 *
 * prints one line:
 *
 *   bytes=B rrs=R rrsigs=S cold_us=X cached_us=Y n=N
 *
 * with X and Y the mean process CPU time per judgement over N rounds
 * (default 200 cold, 100 times as many cached). Exit 0 when every
 * judgement was secure, 1 otherwise (the verdict's reason on stderr), 3 for
 * usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chaincache.h"
#include "chainval.h"
#include "dnschain.h"
#include "err.h"

static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(70000);

	*len = 0;
	if (f == NULL || buf == NULL) {
		if (f != NULL)
			fclose(f);
		free(buf);
		return NULL;
	}
	*len = fread(buf, 1, 70000, f);
	fclose(f);
	return buf;
}

/* One judgement, secure or the reason on stderr. */
static int
judge(struct chaincache *cc, const unsigned char *d, size_t len,
    const char *name, const struct chain_policy *pol, int want_cached)
{
	struct chain_verdict v;
	int ok;

	if (chaincache_judge(cc, d, len, name, pol, time(NULL), &v) != DP_OK) {
		fprintf(stderr, "dp-chainbench: out of memory\n");
		return 0;
	}
	ok = v.answer != NULL && v.cached == want_cached;
	if (v.answer == NULL)
		fprintf(stderr, "dp-chainbench: refused: %s\n", v.reason);
	tlsa_answer_unref(v.answer);
	return ok;
}

int
main(int argc, char **argv)
{
	const char *anchor = NULL, *name = NULL, *chain = NULL;
	struct chain_policy pol = { .max_bytes = DNSCHAIN_MAX_BYTES_DEFAULT,
	    .max_ttl = 300 };
	struct chaincache *cc = NULL;
	struct dnschain c = { 0 };
	unsigned char *d;
	char err[256];
	size_t len;
	long n = 200, i;
	double t0, cold, cached;
	int k;

	for (k = 1; k + 1 < argc; k += 2) {
		if (strcmp(argv[k], "--anchor") == 0)
			anchor = argv[k + 1];
		else if (strcmp(argv[k], "--name") == 0)
			name = argv[k + 1];
		else if (strcmp(argv[k], "--chain") == 0)
			chain = argv[k + 1];
		else if (strcmp(argv[k], "--n") == 0)
			n = strtol(argv[k + 1], NULL, 10);
		else
			break;
	}
	if (k != argc || anchor == NULL || name == NULL || chain == NULL ||
	    n <= 0) {
		fprintf(stderr, "usage: dp-chainbench --anchor FILE --name NAME "
		    "--chain FILE [--n N]\n");
		return 3;
	}
	if ((d = slurp(chain, &len)) == NULL || len == 0) {
		fprintf(stderr, "dp-chainbench: cannot read %s\n", chain);
		return 1;
	}
	if (dnschain_parse(d, len, NULL, (uint32_t)time(NULL), &c, err,
	    sizeof(err)) != DP_OK) {
		fprintf(stderr, "dp-chainbench: %s: %s\n", chain, err);
		return 1;
	}
	if (chaincache_new(anchor, &cc, err, sizeof(err)) != DP_OK) {
		fprintf(stderr, "dp-chainbench: %s: %s\n", anchor, err);
		return 1;
	}
	/* Cold: a table emptied before each round, so each judgement parses
	 * and validates (a new judge per round would also count reading the
	 * anchor file, which a worker does once). */
	cold = 0;
	for (i = 0; i < n; i++) {
		chaincache_free(cc);
		if (chaincache_new(anchor, &cc, err, sizeof(err)) != DP_OK)
			return 1;
		t0 = cpu_us();
		if (!judge(cc, d, len, name, &pol, 0))
			return 1;
		cold += cpu_us() - t0;
	}
	t0 = cpu_us();
	for (i = 0; i < n * 100; i++)
		if (!judge(cc, d, len, name, &pol, 1))
			return 1;
	cached = cpu_us() - t0;
	printf("bytes=%zu rrs=%zu rrsigs=%zu cold_us=%.1f cached_us=%.2f n=%ld\n",
	    len, c.n, c.count.rrsig, cold / (double)n,
	    cached / (double)(n * 100), n);
	dnschain_free(&c);
	chaincache_free(cc);
	free(d);
	return 0;
}
