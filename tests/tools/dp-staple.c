/* dp-staple — a client's own DNSSEC chain built once through dane/staple.c,
 * and an independent check of a chain file.
 *
 *   dp-staple --mode validate|resolver-ad --resolver IP:PORT
 *             --trust-anchor FILE --name NAME [--out FILE] [--timeout-ms N] [-v]
 *   dp-staple --validate FILE --trust-anchor FILE --name NAME
 *             [--drop TYPE]... [-v]
 *
 * The first form runs an event loop with a DNS client (--timeout-ms: per
 * lookup, default 3000) and a staple for NAME until its first build ends,
 * writes the extension data to --out and prints one line:
 *   result=ok bytes=N rrs=N rrsigs=N dnskey=N ds=N nsec=N nsec3=N cname=N
 *       tlsa=N sig_expires=T refresh_in=S
 * or result=error why="...". The counts come from parsing the data again
 * (codec/dnschain.c). The second form parses FILE as extension data and
 * validates it offline with dane/chainval.c against the trust anchor (-v:
 * its RRs to stderr in zone-file text first); --drop TYPE (a mnemonic:
 * NSEC, DS, ...) leaves out the RRs of TYPE and the RRSIGs over them first,
 * to show that a chain missing them is refused:
 *   status=secure|bogus|insecure|indeterminate tlsa=N reason="..."
 * Exit 0 for result=ok / status=secure, 1 otherwise, 2 on usage or setup
 * errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "chainval.h"
#include "conf.h"
#include "dns.h"
#include "dnschain.h"
#include "err.h"
#include "log.h"
#include "staple.h"
#include "util.h"

#define TICK_MS 10		/* how often the build's state is looked at */
#define RUN_MAX_MS 30000	/* a safety stop; the build's own deadline comes first */

struct run {
	struct event_base *base;
	struct staple *st;
	uint64_t start_ms;
	int done;		/* 1 ok, -1 error */
};

static void
usage(void)
{
	fprintf(stderr, "usage: dp-staple --mode validate|resolver-ad "
	    "--resolver IP:PORT --trust-anchor FILE --name NAME [--out FILE] "
	    "[--timeout-ms N] [-v]\n"
	    "       dp-staple --validate FILE --trust-anchor FILE --name NAME\n");
	exit(2);
}

static void
print_error(const char *why)
{
	const char *p;

	printf("result=error why=\"");
	for (p = why; *p != '\0'; p++)
		putchar(*p == '"' ? '\'' : *p);
	printf("\"\n");
}

static int
read_file(const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0, k;

	if (f == NULL)
		return DP_ERR_IO;
	for (;;) {
		if (n == cap) {
			unsigned char *nb = realloc(buf, cap = cap ? 2 * cap : 4096);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return DP_ERR_NOMEM;
			}
			buf = nb;
		}
		if ((k = fread(buf + n, 1, cap - n, f)) == 0)
			break;
		n += k;
	}
	fclose(f);
	*data = buf;
	*len = n;
	return DP_OK;
}

/* The RRs of c in zone-file text, to stderr (-v). */
static void
dump_chain(const struct dnschain *c)
{
	size_t i, pos;
	ldns_rr *rr;

	for (i = 0; i < c->n; i++) {
		pos = 0;
		if (ldns_wire2rr(&rr, c->rr[i].wire, c->rr[i].len, &pos,
		    LDNS_SECTION_ANSWER) != LDNS_STATUS_OK) {
			fprintf(stderr, "; RR %zu: unreadable\n", i);
			continue;
		}
		ldns_rr_print(stderr, rr);
		ldns_rr_free(rr);
	}
}

#define MAX_DROP 8

/* The types --drop names. */
struct drop {
	uint16_t type[MAX_DROP];
	size_t n;
};

static int
dropped(const struct drop *d, const struct dnschain_rr *rr)
{
	uint16_t t = rr->type;
	size_t i;

	/* an RRSIG's rdata starts with the type it covers */
	if (t == DNSCHAIN_TYPE_RRSIG && rr->rdlength >= 2)
		t = (uint16_t)(rr->wire[rr->rdata_off] << 8 |
		    rr->wire[rr->rdata_off + 1]);
	for (i = 0; i < d->n; i++)
		if (d->type[i] == t)
			return 1;
	return 0;
}

/* data re-encoded without the RRs d drops, in place. */
static int
drop_rrs(unsigned char *data, size_t *len, const struct drop *d)
{
	struct dnschain c = { 0 };
	const unsigned char **w = NULL;
	unsigned char *out = NULL;
	size_t *l = NULL, n = 0, i, out_len = 0;
	char why[DNSCHAIN_WHY_MAX];
	int r = DP_ERR_NOMEM;

	if ((r = dnschain_parse(data, *len, NULL, (uint32_t)time(NULL), &c, why,
	    sizeof(why))) != DP_OK)
		return r;
	r = DP_ERR_NOMEM;
	if ((w = calloc(c.n, sizeof(*w))) == NULL ||
	    (l = calloc(c.n, sizeof(*l))) == NULL ||
	    (out = malloc(*len)) == NULL)
		goto out;
	for (i = 0; i < c.n; i++) {
		if (dropped(d, &c.rr[i]))
			continue;
		w[n] = c.rr[i].wire;
		l[n++] = c.rr[i].len;
	}
	if ((r = dnschain_encode(c.lifetime, w, l, n, out, *len,
	    &out_len)) != DP_OK)
		goto out;
	memcpy(data, out, out_len);
	*len = out_len;
out:
	free(out);
	free(w);
	free(l);
	dnschain_free(&c);
	return r;
}

/* The second form. */
static int
validate_file(const char *path, const char *ta, const char *name,
    const struct drop *drop, int verbose)
{
	struct chainval *v = NULL;
	struct dnschain c = { 0 };
	struct chainval_result res = { 0 };
	unsigned char *data = NULL;
	size_t len = 0;
	char err[256];
	int rc = 2;

	if (read_file(path, &data, &len) != DP_OK) {
		fprintf(stderr, "dp-staple: cannot read %s\n", path);
		return 2;
	}
	if (drop->n > 0 && drop_rrs(data, &len, drop) != DP_OK) {
		fprintf(stderr, "dp-staple: %s: cannot drop RRs\n", path);
		goto out;
	}
	if (chainval_new(ta, &v, err, sizeof(err)) != DP_OK) {
		fprintf(stderr, "dp-staple: %s\n", err);
		goto out;
	}
	if (dnschain_parse(data, len, NULL, (uint32_t)time(NULL), &c, err,
	    sizeof(err)) != DP_OK) {
		printf("status=unparsable reason=\"%s\"\n", err);
		rc = 1;
		goto out;
	}
	if (verbose)
		dump_chain(&c);
	if (chainval_check(v, &c, name, time(NULL), &res) != DP_OK) {
		fprintf(stderr, "dp-staple: chainval_check refused its input\n");
		goto out;
	}
	printf("status=%s tlsa=%zu reason=\"%s\"\n",
	    chainval_status_str(res.status), res.tlsa.n, res.reason);
	rc = res.status == CHAINVAL_SECURE ? 0 : 1;
out:
	chainval_result_clear(&res);
	dnschain_free(&c);
	chainval_free(v);
	free(data);
	return rc;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct run *run = arg;
	struct staple_info si;

	staple_info(run->st, &si);
	if (si.usable)
		run->done = 1;
	else if (si.last_error != NULL)
		run->done = -1;
	else if (dp_now_ms() - run->start_ms > RUN_MAX_MS)
		run->done = -2;
	if (run->done != 0)
		event_base_loopbreak(run->base);
}

static int
report(struct run *run, const char *out)
{
	struct staple_info si;
	struct dnschain c = { 0 };
	const unsigned char *data;
	char why[DNSCHAIN_WHY_MAX];
	size_t len;
	FILE *f;

	staple_info(run->st, &si);
	if (run->done == -2) {
		print_error("the build did not end");
		return 1;
	}
	if (run->done < 0) {
		print_error(si.last_error);
		return 1;
	}
	len = staple_get(run->st, &data);
	if (len == 0 || dnschain_parse(data, len, NULL, (uint32_t)time(NULL),
	    &c, why, sizeof(why)) != DP_OK) {
		print_error("the chain in use does not parse");
		return 1;
	}
	if (out != NULL) {
		if ((f = fopen(out, "wb")) == NULL ||
		    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
			fprintf(stderr, "dp-staple: cannot write %s\n", out);
			dnschain_free(&c);
			return 2;
		}
	}
	printf("result=ok bytes=%zu rrs=%zu rrsigs=%zu dnskey=%zu ds=%zu "
	    "nsec=%zu nsec3=%zu cname=%zu tlsa=%zu sig_expires=%lld "
	    "refresh_in=%lld\n", len, c.n, c.count.rrsig, c.count.dnskey,
	    c.count.ds, c.count.nsec, c.count.nsec3, c.count.cname,
	    c.count.tlsa, (long long)si.sig_expires,
	    (long long)(si.refresh_at - (int64_t)time(NULL)));
	dnschain_free(&c);
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf_dns cd;
	struct dns_client *dns = NULL;
	struct event *tick = NULL;
	struct run run = { 0 };
	struct drop drop = { .n = 0 };
	const char *ta = NULL, *name = NULL, *out = NULL, *check = NULL;
	char err[256];
	uint64_t n;
	int i, verbose = 0, rc = 2;

	memset(&cd, 0, sizeof(cd));
	cd.mode = DNS_MODE_VALIDATE;
	cd.timeout_ms = 3000;
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "-v") == 0) {
			verbose = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(o, "--mode") == 0) {
			if (strcmp(v, "validate") == 0)
				cd.mode = DNS_MODE_VALIDATE;
			else if (strcmp(v, "resolver-ad") == 0)
				cd.mode = DNS_MODE_RESOLVER_AD;
			else
				usage();
		} else if (strcmp(o, "--resolver") == 0) {
			if (cd.n_resolvers >= CONF_MAX_RESOLVERS ||
			    dp_addr_parse(v, &cd.resolvers[cd.n_resolvers]) != DP_OK) {
				fprintf(stderr, "dp-staple: bad resolver %s\n", v);
				return 2;
			}
			cd.n_resolvers++;
		} else if (strcmp(o, "--trust-anchor") == 0) {
			ta = v;
		} else if (strcmp(o, "--name") == 0) {
			name = v;
		} else if (strcmp(o, "--out") == 0) {
			out = v;
		} else if (strcmp(o, "--validate") == 0) {
			check = v;
		} else if (strcmp(o, "--drop") == 0) {
			ldns_rr_type t = ldns_get_rr_type_by_name(v);
			if (t == 0 || drop.n == MAX_DROP)
				usage();
			drop.type[drop.n++] = (uint16_t)t;
		} else if (strcmp(o, "--timeout-ms") == 0) {
			if (dp_parse_uint(v, 1, 60000, &n) != DP_OK)
				usage();
			cd.timeout_ms = (unsigned)n;
		} else {
			usage();
		}
	}
	if (ta == NULL || name == NULL)
		usage();
	log_init(verbose ? DP_LOG_DEBUG : DP_LOG_INFO, 0);
	if (check != NULL)
		return validate_file(check, ta, name, &drop, verbose);
	cd.trust_anchor_file = (char *)ta;

	if ((run.base = event_base_new()) == NULL) {
		fprintf(stderr, "dp-staple: no event base\n");
		return 2;
	}
	if (dns_client_new(run.base, &cd, &dns, err, sizeof(err)) != DP_OK) {
		fprintf(stderr, "dp-staple: %s\n", err);
		goto out;
	}
	if (staple_new(run.base, dns, name, ta, &run.st, err,
	    sizeof(err)) != DP_OK) {
		fprintf(stderr, "dp-staple: %s\n", err);
		goto out;
	}
	if ((tick = event_new(run.base, -1, EV_PERSIST, tick_cb, &run)) == NULL)
		goto out;
	{
		struct timeval tv = dp_ms_tv(TICK_MS);
		event_add(tick, &tv);
	}
	run.start_ms = dp_now_ms();
	event_base_dispatch(run.base);
	rc = report(&run, out);
out:
	if (tick != NULL)
		event_free(tick);
	staple_free(run.st);
	dns_client_free(dns);
	event_base_free(run.base);
	return rc;
}
