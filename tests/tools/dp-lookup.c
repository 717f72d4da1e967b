/* dp-lookup — TLSA lookups through daneproxy's DNS client and cache.
 *
 *   dp-lookup --mode validate|resolver-ad --resolver IP:PORT [--resolver ...]
 *             [--ta FILE] [--timeout-ms N] [--repeat N] [--rounds N]
 *             [--free-after-ms N] [-v] NAME...
 *
 * Every NAME is looked up --repeat times, all at once, through one TLSA cache
 * (so repeats of a name merge into one query). With --rounds N the whole
 * batch runs N times in turn: later rounds are answered from the cache.
 * One line per lookup on stdout, in completion order:
 *   NAME STATUS ttl=N records=U S M HEX,U S M HEX      (records=- if none)
 * then "queries=N" (DNS queries started). The reason text of non-secure
 * answers and the time each round took go to stderr as "# ..." lines.
 * --free-after-ms N frees the cache and the DNS client N ms into the first
 * round, with lookups still in flight (a test of cancelling everything),
 * prints "freed pending=K" and exits 0.
 * Exit 0 if every lookup completed (whatever its status), 1 if not, 2 on
 * usage or setup errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "cache.h"
#include "conf.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "util.h"

struct lookup {
	const char *name;
	struct event_base *base;
	int *pending;
};

static void
print_answer(const char *name, struct tlsa_answer *ans)
{
	uint64_t now = dp_now_ms();
	uint64_t ttl = ans->expires_ms > now ?
	    (ans->expires_ms - now + 500) / 1000 : 0;
	size_t i, k;

	printf("%s %s ttl=%llu records=", name, dns_status_str(ans->status),
	    (unsigned long long)ttl);
	if (ans->rrset.n == 0)
		printf("-");
	for (i = 0; i < ans->rrset.n; i++) {
		const struct tlsa_rr *rr = &ans->rrset.rr[i];
		printf("%s%u %u %u ", i > 0 ? "," : "", rr->usage, rr->selector,
		    rr->mtype);
		for (k = 0; k < rr->len; k++)
			printf("%02X", rr->data[k]);
	}
	printf("\n");
	if (ans->why != NULL && ans->status != DNS_SECURE)
		fprintf(stderr, "# %s: %s\n", name, ans->why);
}

static void
on_answer(void *arg, struct tlsa_answer *ans)
{
	struct lookup *l = arg;

	print_answer(l->name, ans);
	tlsa_answer_unref(ans);
	if (--*l->pending == 0)
		event_base_loopbreak(l->base);
}

static void
on_free_timer(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: dp-lookup --mode validate|resolver-ad "
	    "--resolver IP:PORT [--resolver ...] [--ta FILE] [--timeout-ms N] "
	    "[--repeat N] [--rounds N] [--free-after-ms N] [-v] NAME...\n");
	exit(2);
}

static uint64_t
num_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (s == NULL || dp_parse_uint(s, min, max, &v) != DP_OK) {
		fprintf(stderr, "dp-lookup: %s: expected %llu..%llu\n", opt,
		    (unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	struct conf_dns cd;
	struct event_base *base = NULL;
	struct dns_client *dns = NULL;
	struct tlsa_cache *cache = NULL;
	struct lookup *lk = NULL;
	char err[256];
	const char **names;
	size_t n_names = 0, repeat = 1, rounds = 1, round, i, j;
	int verbose = 0, pending, failed = 0, r, a, rc = 2;
	unsigned free_after_ms = 0;
	struct event *free_ev = NULL;

	memset(&cd, 0, sizeof(cd));
	cd.mode = DNS_MODE_VALIDATE;
	cd.trust_anchor_file = "/usr/share/dns/root.key";
	cd.timeout_ms = 3000;
	/* Large caps, so the printed TTL is the one from DNS. */
	cd.cache_max_ttl = 86400;
	cd.negative_ttl = 86400;
	cd.max_inflight = 65536;
	cd.cache_max_entries = 1000000;

	if ((names = calloc((size_t)argc, sizeof(*names))) == NULL)
		return 2;
	for (a = 1; a < argc; a++) {
		const char *o = argv[a], *v = a + 1 < argc ? argv[a + 1] : NULL;
		if (strcmp(o, "--mode") == 0 && v != NULL) {
			if (strcmp(v, "validate") == 0)
				cd.mode = DNS_MODE_VALIDATE;
			else if (strcmp(v, "resolver-ad") == 0)
				cd.mode = DNS_MODE_RESOLVER_AD;
			else
				usage();
			a++;
		} else if (strcmp(o, "--resolver") == 0 && v != NULL) {
			if (cd.n_resolvers >= CONF_MAX_RESOLVERS ||
			    dp_addr_parse(v, &cd.resolvers[cd.n_resolvers]) != DP_OK) {
				fprintf(stderr, "dp-lookup: bad resolver %s\n", v);
				return 2;
			}
			cd.n_resolvers++;
			a++;
		} else if (strcmp(o, "--ta") == 0 && v != NULL) {
			cd.trust_anchor_file = (char *)v;
			a++;
		} else if (strcmp(o, "--timeout-ms") == 0) {
			cd.timeout_ms = (unsigned)num_arg(o, v, 1, 600000);
			a++;
		} else if (strcmp(o, "--repeat") == 0) {
			repeat = (size_t)num_arg(o, v, 1, 100000);
			a++;
		} else if (strcmp(o, "--rounds") == 0) {
			rounds = (size_t)num_arg(o, v, 1, 1000);
			a++;
		} else if (strcmp(o, "--free-after-ms") == 0) {
			free_after_ms = (unsigned)num_arg(o, v, 1, 600000);
			a++;
		} else if (strcmp(o, "-v") == 0) {
			verbose = 1;
		} else if (o[0] == '-') {
			usage();
		} else {
			names[n_names++] = o;
		}
	}
	if (n_names == 0)
		usage();
	log_init(verbose ? DP_LOG_DEBUG : DP_LOG_WARN, 0);

	if ((base = event_base_new()) == NULL) {
		fprintf(stderr, "dp-lookup: event_base_new failed\n");
		goto out;
	}
	if ((r = dns_client_new(base, &cd, &dns, err, sizeof(err))) != DP_OK) {
		fprintf(stderr, "dp-lookup: %s: %s\n", dp_strerror(r), err);
		goto out;
	}
	if ((r = tlsa_cache_new(dns, &cd, &cache)) != DP_OK ||
	    (lk = calloc(n_names * repeat, sizeof(*lk))) == NULL) {
		fprintf(stderr, "dp-lookup: out of memory\n");
		goto out;
	}

	for (round = 0; round < rounds; round++) {
		uint64_t t0 = now_us();
		pending = 0;
		for (i = 0; i < n_names; i++) {
			for (j = 0; j < repeat; j++) {
				struct lookup *l = &lk[i * repeat + j];
				struct tlsa_answer *ans = NULL;
				struct cache_wait *w = NULL;
				l->name = names[i];
				l->base = base;
				l->pending = &pending;
				r = tlsa_cache_get(cache, names[i], on_answer, l,
				    &ans, &w);
				if (r == DP_OK) {
					print_answer(names[i], ans);
					tlsa_answer_unref(ans);
				} else if (r == DP_ERR_AGAIN) {
					pending++;
				} else {
					printf("%s error %s\n", names[i],
					    dp_strerror(r));
					failed = 1;
				}
			}
		}
		if (free_after_ms > 0 && round == 0) {
			struct timeval tv = { free_after_ms / 1000,
			    (free_after_ms % 1000) * 1000 };
			if ((free_ev = evtimer_new(base, on_free_timer, base)) == NULL ||
			    evtimer_add(free_ev, &tv) < 0)
				goto out;
		}
		if (pending > 0)
			event_base_dispatch(base);
		if (free_ev != NULL) {
			/* Everything still in flight is cancelled by the frees:
			 * no callback may run after this. */
			event_free(free_ev);
			free_ev = NULL;
			tlsa_cache_free(cache);
			cache = NULL;
			dns_client_free(dns);
			dns = NULL;
			event_base_loop(base, EVLOOP_NONBLOCK);
			printf("freed pending=%d\n", pending);
			rc = 0;
			goto out;
		}
		if (pending > 0)
			failed = 1;
		t0 = now_us() - t0;
		fprintf(stderr, "# round %zu: %llu.%03llu ms\n", round + 1,
		    (unsigned long long)(t0 / 1000),
		    (unsigned long long)(t0 % 1000));
	}
	printf("queries=%llu\n", (unsigned long long)dns_queries_started(dns));
	fflush(stdout);
	rc = failed ? 1 : 0;
out:
	tlsa_cache_free(cache);
	dns_client_free(dns);
	if (base != NULL)
		event_base_free(base);
	free(lk);
	free(names);
	return rc;
}
