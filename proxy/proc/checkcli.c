/* checkcli.c — see checkcli.h. The command line, the event loop, and the
 * steps both sides share; checkcli_server.c and checkcli_connect.c run the
 * two sides. */
#include "checkcli.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "checkrun.h"
#include "clientid.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "util.h"

static void
check_usage(FILE *f)
{
	fprintf(f,
	    "usage: daneproxy check -c FILE [--listener NAME] [--cert FILE] [--json] CLIENT_NAME\n"
	    "       daneproxy check -c FILE --connect [ROUTE] [--json]\n"
	    "\n"
	    "Runs the DANE decision of a [server] listener for CLIENT_NAME (the allow\n"
	    "list, the TLSA lookup and, with --cert, the PEM certificate and chain\n"
	    "matched against the records), or with --connect, of a [client] route\n"
	    "(its own client_name record, the remote's TLSA lookup and a real TLS\n"
	    "connection to it), with the configured [dns]. Exit status 0: a handshake\n"
	    "would succeed; 1: it would be refused; 2: usage or configuration error.\n");
}

/* ---- certificates */

int
check_cert_load(const char *path, struct check_cert *c, FILE *errs)
{
	FILE *f = NULL;
	X509 *x = NULL;
	int r = DP_ERR_NOMEM;

	memset(c, 0, sizeof(*c));
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(errs, "daneproxy check: %s: %s\n", path, strerror(errno));
		return DP_ERR_IO;
	}
	if ((c->chain = sk_X509_new_null()) == NULL)
		goto out;
	if ((c->leaf = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		fprintf(errs, "daneproxy check: %s: no PEM certificate\n", path);
		r = DP_ERR_INVALID;
		goto out;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(c->chain, x))
			goto out;
		x = NULL;	/* the chain's */
	}
	r = DP_OK;
 out:
	X509_free(x);
	ERR_clear_error();	/* the end of the file reads as an error */
	fclose(f);
	if (r != DP_OK)
		check_cert_clear(c);
	return r;
}

void
check_cert_clear(struct check_cert *c)
{
	X509_free(c->leaf);
	sk_X509_pop_free(c->chain, X509_free);
	memset(c, 0, sizeof(*c));
}

/* The data a record with selector and mtype holds for x, into out (>=
 * EVP_MAX_MD_SIZE; Full: *full, OPENSSL_free). Returns its length, 0 on
 * failure. */
static size_t
cert_data(X509 *x, unsigned selector, unsigned mtype, unsigned char *out,
    unsigned char **full)
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n;

	*full = NULL;
	if (selector == TLSA_SELECTOR_CERT)
		n = i2d_X509(x, &der);
	else if (selector == TLSA_SELECTOR_SPKI)
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	else
		return 0;
	if (n <= 0)
		return 0;
	if (mtype == TLSA_MTYPE_FULL) {
		*full = der;
		return (size_t)n;
	}
	if ((mtype == TLSA_MTYPE_SHA256 || mtype == TLSA_MTYPE_SHA512) &&
	    EVP_Digest(der, (size_t)n, out, &mdlen, mtype == TLSA_MTYPE_SHA256 ?
	    EVP_sha256() : EVP_sha512(), NULL) != 1)
		mdlen = 0;
	OPENSSL_free(der);
	return mdlen;
}

/* Hex of len bytes into a new string (free), or NULL. */
static char *
hex(const unsigned char *p, size_t len)
{
	char *s = malloc(2 * len + 1);
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	s[2 * len] = '\0';
	return s;
}

/* Hex of the data a selector/mtype record holds for x, or NULL. */
static char *
cert_hex(X509 *x, unsigned selector, unsigned mtype)
{
	unsigned char md[EVP_MAX_MD_SIZE], *full = NULL;
	size_t n = cert_data(x, selector, mtype, md, &full);
	char *s = n > 0 ? hex(full != NULL ? full : md, n) : NULL;

	OPENSSL_free(full);
	return s;
}

void
check_cert_report(struct check_env *e, const char *step, const char *key,
    const char *path, const struct check_cert *c)
{
	static const struct { const char *name; unsigned sel, mt; } d[] = {
		{ "spki_sha256", 1, 1 }, { "spki_sha512", 1, 2 },
		{ "cert_sha256", 0, 1 }, { "cert_sha512", 0, 2 },
	};
	char subject[256], *h;
	size_t i;

	X509_NAME_oneline(X509_get_subject_name(c->leaf), subject,
	    sizeof(subject));
	report_line(&e->rep, step, "%s: %s, %d more in the chain", path,
	    subject, sk_X509_num(c->chain));
	report_object(&e->rep, key);
	report_str(&e->rep, "file", path);
	report_str(&e->rep, "subject", subject);
	report_int(&e->rep, "chain", sk_X509_num(c->chain));
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		h = cert_hex(c->leaf, d[i].sel, d[i].mt);
		report_line(&e->rep, step, "%s %s (x %u %u)", d[i].name,
		    h != NULL ? h : "?", d[i].sel, d[i].mt);
		report_str(&e->rep, d[i].name, h);
		free(h);
	}
	report_end(&e->rep);
}

/* ---- the event loop */

void
check_run_until(struct check_env *e, const int *done)
{
	while (!*done)
		if (event_base_loop(e->base, EVLOOP_ONCE) != 0)
			break;	/* nothing pending (or an error): never spin */
}

/* ---- step 1: the allow list and the TLSA answer */

struct answer_wait {
	int done;
	struct tlsa_answer *ans;
};

static void
answer_cb(void *arg, struct tlsa_answer *ans)
{
	struct answer_wait *w = arg;

	w->ans = ans;	/* the reference is ours */
	w->done = 1;
}

static void
looked_up_cb(void *arg, struct dane_check *d)
{
	*(int *)arg = 1;
}

/* Whether a record counts for a matcher (tlsarr.h's verdict, and PKIX
 * usages only with a trust store), as text. */
static const char *
record_state(const struct tlsa_rr *rr, int pkix_store)
{
	switch (rr->prep) {
	case TLSA_RR_WEAKER:
		return "ignored: a stronger digest of this usage and "
		    "selector is published";
	case TLSA_RR_MALFORMED:
		return "ignored: malformed";
	case TLSA_RR_USE:
		if (rr->usage <= TLSA_USAGE_PKIX_EE && !pkix_store)
			return "ignored: PKIX usage without pkix_ca_file";
		return NULL;	/* usable */
	default:
		return "not prepared";
	}
}

/* The answer's details. Returns the number of usable records. */
static unsigned
report_answer(struct check_env *e, const char *step, const char *name,
    const struct tlsa_answer *a, int refuse_wildcard, int pkix_store)
{
	struct report *r = &e->rep;
	unsigned usable = 0;
	char when[32] = "", rr[16], *h;
	const char *state;
	int64_t left = 0;
	struct tm tm;
	time_t t;
	size_t i;

	report_str(r, "status", dns_status_str(a->status));
	report_str(r, "why", a->why);
	if (a->status != DNS_SECURE) {
		/* The back ends often say no more than the status. */
		int why = a->why != NULL &&
		    strcmp(a->why, dns_status_str(a->status)) != 0;

		report_line(r, step, "%s: %s%s%s", name, dns_status_str(a->status),
		    why ? ": " : "", why ? a->why : "");
		return 0;
	}
	if (a->sig_expires != 0) {
		t = (time_t)a->sig_expires;
		left = a->sig_expires - (int64_t)time(NULL);
		if (gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (a->sig_expires != 0)
		report_line(r, step, "%s: secure, %zu record%s, TTL %u s, "
		    "earliest signature expires %s (in %lld s)", name, a->rrset.n,
		    a->rrset.n == 1 ? "" : "s", a->rr_ttl, when, (long long)left);
	else
		report_line(r, step, "%s: secure, %zu record%s, TTL %u s, no "
		    "signature expiry seen", name, a->rrset.n,
		    a->rrset.n == 1 ? "" : "s", a->rr_ttl);
	report_int(r, "ttl", a->rr_ttl);
	if (a->sig_expires != 0) {
		report_int(r, "sig_expires", a->sig_expires);
		report_str(r, "sig_expires_date", when);
		report_int(r, "sig_expires_in", left);
	}
	report_str(r, "wildcard", a->wildcard);
	if (a->wildcard != NULL) {
		report_bool(r, "wildcard_refused", refuse_wildcard);
		report_line(r, step, "synthesised from the wildcard %s (%s)",
		    a->wildcard, refuse_wildcard ? "tlsa_wildcard = refuse: "
		    "refused" : "tlsa_wildcard = accept");
	}
	report_array(r, "records");
	for (i = 0; i < a->rrset.n; i++) {
		state = record_state(&a->rrset.rr[i], pkix_store);
		usable += state == NULL;
		h = hex(a->rrset.rr[i].data, a->rrset.rr[i].len);
		tlsa_rr_str(&a->rrset.rr[i], rr, sizeof(rr));
		report_line(r, "record", "%s %s%s%s", rr, h != NULL ? h : "?",
		    state != NULL ? " -- " : "", state != NULL ? state : "");
		report_object(r, NULL);
		report_int(r, "usage", a->rrset.rr[i].usage);
		report_int(r, "selector", a->rrset.rr[i].selector);
		report_int(r, "mtype", a->rrset.rr[i].mtype);
		report_str(r, "data", h);
		report_bool(r, "usable", state == NULL);
		if (state != NULL)
			report_str(r, "ignored", state);
		report_end(r);
		free(h);
	}
	report_end(r);
	report_int(r, "usable", usable);
	return usable;
}

unsigned
check_lookup(struct check_env *e, const char *step,
    const struct dane_rules *rules, int pkix_store, const char *name,
    struct dane_check *d)
{
	struct report *r = &e->rep;
	struct answer_wait w = { 0, NULL };
	struct cache_wait *cw = NULL;
	unsigned usable = 0;
	int idx = -1, rc, done = 0;

	if (rules->allow != NULL) {
		idx = allow_match_index(rules->allow, rules->n_allow, name);
		report_object(r, "allow");
		report_bool(r, "allowed", idx >= 0);
		report_str(r, "pattern", idx >= 0 ? rules->allow[idx] : NULL);
		report_end(r);
		if (idx >= 0)
			report_line(r, "allow", "%s: allowed by the pattern %s",
			    name, rules->allow[idx]);
		else
			report_line(r, "allow", "%s: matches no allow pattern "
			    "(no DNS query is sent)", name);
	}
	report_object(r, "tlsa");
	report_str(r, "owner", name);
	if (rules->allow == NULL || idx >= 0) {
		/* The answer's details from the cache the decision reads next:
		 * dane_lookup finds it there (answers it keeps), or asks again
		 * (a failure, which is never cached). */
		rc = tlsa_cache_get(rules->cache, name, answer_cb, &w, &w.ans, &cw);
		if (rc == DP_ERR_AGAIN)
			check_run_until(e, &w.done);
		else if (rc != DP_OK)
			w.ans = NULL;
		if (w.ans != NULL)
			usable = report_answer(e, step, name, w.ans,
			    rules->refuse_wildcard, pkix_store);
		else {
			if (cw != NULL && !w.done)
				tlsa_cache_cancel(cw);
			report_str(r, "status", rc == DP_ERR_AGAIN ? "no answer" :
			    dp_strerror(rc));
			report_line(r, step, "%s: %s", name, rc == DP_ERR_AGAIN ?
			    "no answer" : dp_strerror(rc));
		}
		tlsa_answer_unref(w.ans);
	} else {
		report_str(r, "status", "not looked up");
	}
	report_end(r);
	dane_lookup(d, rules, name, looked_up_cb, &done);
	check_run_until(e, &done);
	if (!done) {
		dane_check_clear(d);	/* withdraws the lookup */
		d->verdict = DANE_REFUSED;
		d->reason = "TLSA lookup: no answer";
	}
	return usable;
}

/* ---- step 2: the chain against the records */

/* The first record of d's set holding exactly the data of c's leaf (EE
 * usages) or of a certificate of its chain (TA usages), or -1. */
static int
record_of(const struct dane_check *d, const struct check_cert *c)
{
	const struct tlsa_rrset *set = &d->answer->rrset;
	unsigned char md[EVP_MAX_MD_SIZE], *full;
	size_t i, n;
	int j, found = -1;

	for (i = 0; i < set->n && found < 0; i++) {
		const struct tlsa_rr *rr = &set->rr[i];
		int ee = rr->usage == TLSA_USAGE_PKIX_EE ||
		    rr->usage == TLSA_USAGE_DANE_EE;

		for (j = -1; j < (ee ? 0 : sk_X509_num(c->chain)); j++) {
			X509 *x = j < 0 ? c->leaf : sk_X509_value(c->chain, j);

			n = cert_data(x, rr->selector, rr->mtype, md, &full);
			if (n > 0 && n == rr->len &&
			    memcmp(full != NULL ? full : md, rr->data, n) == 0)
				found = (int)i;
			OPENSSL_free(full);
			if (found >= 0)
				break;
		}
	}
	return found;
}

int
check_match(struct check_env *e, const char *step, struct dane_check *d,
    const struct check_cert *c, const char *name)
{
	struct report *r = &e->rep;
	int idx = record_of(d, c), ok;

	dane_match(d, c->leaf, c->chain, name);
	ok = d->verdict == DANE_MATCHED;
	report_object(r, "match");
	report_bool(r, "matched", ok);
	report_str(r, "record", ok ? d->tlsa : NULL);
	if (idx >= 0)
		report_int(r, "index", idx + 1);
	report_str(r, "reason", ok ? NULL : d->reason);
	report_end(r);
	if (ok)
		report_line(r, step, "matched by the record %s%s", d->tlsa,
		    d->verified != NULL ? " (chain verified)" : "");
	else
		report_line(r, step, "no match: %s", d->reason);
	if (idx >= 0)
		report_line(r, step, "record %d of the set holds this "
		    "certificate's data", idx + 1);
	return ok;
}

int
check_verdict(struct check_env *e, int accept, const char *reason)
{
	int rc = accept ? CHECK_ACCEPT : CHECK_REFUSE;

	report_str(&e->rep, "verdict", accept ? "accept" : "refuse");
	report_str(&e->rep, "reason", accept ? NULL : reason);
	report_int(&e->rep, "exit", rc);
	if (accept)
		report_line(&e->rep, "verdict", "would accept");
	else
		report_line(&e->rep, "verdict", "would refuse: %s", reason);
	return rc;
}

/* ---- the command */

/* Names the sections of a kind on errs, for a choice that was not made. */
static void
list_choices(const char *kind, const char *const *names, size_t n)
{
	size_t i;

	fprintf(stderr, "daneproxy check: ");
	if (n == 0) {
		fprintf(stderr, "the configuration has no [%s] section\n", kind);
		return;
	}
	fprintf(stderr, "choose a [%s] section:", kind);
	for (i = 0; i < n; i++)
		fprintf(stderr, " %s", names[i]);
	fprintf(stderr, "\n");
}

static const struct conf_server *
pick_server(const struct conf *c, const char *name)
{
	const char *names[CONF_MAX_LISTENERS];
	const struct conf_server *s, *found = NULL;
	size_t n = 0;

	for (s = c->servers; s != NULL; s = s->next) {
		if (n < CONF_MAX_LISTENERS)
			names[n++] = s->name;
		if (name != NULL && strcmp(s->name, name) == 0)
			found = s;
	}
	if (name == NULL && n == 1)
		found = c->servers;
	if (found == NULL) {
		if (name != NULL)
			fprintf(stderr, "daneproxy check: no [server %s]\n", name);
		list_choices("server", names, n);
	}
	return found;
}

static const struct conf_client *
pick_client(const struct conf *c, const char *name)
{
	const char *names[CONF_MAX_LISTENERS];
	const struct conf_client *s, *found = NULL;
	size_t n = 0;

	for (s = c->clients; s != NULL; s = s->next) {
		if (n < CONF_MAX_LISTENERS)
			names[n++] = s->name;
		if (name != NULL && strcmp(s->name, name) == 0)
			found = s;
	}
	if (name == NULL && n == 1)
		found = c->clients;
	if (found == NULL) {
		if (name != NULL)
			fprintf(stderr, "daneproxy check: no [client %s]\n", name);
		list_choices("client", names, n);
	}
	return found;
}

/* The event loop, DNS client and cache a worker builds from [dns]. The
 * check's cache keeps every answer it may keep for a minute at least, so
 * that the decision (dane_lookup) reads the very answer the report shows
 * even where the configuration caches nothing. */
static int
env_open(struct check_env *e, const struct conf *c)
{
	struct conf_dns dns = c->dns;
	char err[512];

	e->conf = c;
	if ((e->base = event_base_new()) == NULL) {
		fprintf(stderr, "daneproxy check: cannot create an event loop\n");
		return DP_ERR_NOMEM;
	}
	if (dns_client_new(e->base, &c->dns, &e->dns, err, sizeof(err)) != DP_OK) {
		fprintf(stderr, "%s:%d: [dns]: %s\n", c->file,
		    c->dns.trust_anchor_where.line > 0 ?
		    c->dns.trust_anchor_where.line : c->dns.where.line, err);
		return DP_ERR_DNS;
	}
	if (dns.cache_max_ttl < 60)
		dns.cache_max_ttl = 60;
	if (dns.negative_ttl < 60)
		dns.negative_ttl = 60;
	if (tlsa_cache_new(e->dns, &dns, &e->cache) != DP_OK) {
		fprintf(stderr, "daneproxy check: out of memory\n");
		return DP_ERR_NOMEM;
	}
	return DP_OK;
}

static void
env_close(struct check_env *e)
{
	tlsa_cache_free(e->cache);
	dns_client_free(e->dns);
	if (e->base != NULL)
		event_base_free(e->base);
	memset(e, 0, sizeof(*e));
}

#define CHECK_SELF_TIMEOUT_MS 1000

int
check_self_routes(const struct conf *c, FILE *warn)
{
	struct check_env e;
	struct conf quick;
	const struct conf_client *cc;
	char why[300];
	FILE *null;
	int bad = 0, need = 0;

	for (cc = c->clients; cc != NULL; cc = cc->next)
		need |= cc->self_check != SELF_CHECK_OFF;
	if (!need)
		return 0;
	/* -t must not hang on a DNS outage: at most a second per lookup. */
	quick = *c;
	if (quick.dns.timeout_ms > CHECK_SELF_TIMEOUT_MS)
		quick.dns.timeout_ms = CHECK_SELF_TIMEOUT_MS;
	memset(&e, 0, sizeof(e));
	if ((null = fopen("/dev/null", "w")) == NULL ||
	    env_open(&e, &quick) != DP_OK) {
		fprintf(warn, "%s: self_check: warning: the routes' own records "
		    "were not checked (no DNS)\n", c->file);
		if (null != NULL)
			fclose(null);
		env_close(&e);
		return 0;
	}
	report_open(&e.rep, null, 0);
	for (cc = c->clients; cc != NULL; cc = cc->next) {
		if (cc->self_check == SELF_CHECK_OFF || check_self(&e, cc, why,
		    sizeof(why)))
			continue;
		fprintf(warn, "%s:%d: self_check: warning: route %s: %s: every "
		    "DANE server will refuse it\n", c->file, cc->where.line,
		    cc->name, why);
		bad++;
	}
	report_close(&e.rep);
	fclose(null);
	env_close(&e);
	return bad;
}

int
check_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listener", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'C' },
		{ "connect", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *listener = NULL, *cert = NULL, *arg = NULL;
	char name[CLIENTID_NAME_MAX + 2];
	struct check_env e;
	struct check_cert chain = { NULL, NULL };
	struct conf *conf = NULL;
	int ch, json = 0, connect = 0, rc = CHECK_USAGE;
	size_t len;

	memset(&e, 0, sizeof(e));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:l:C:kjh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 'l': listener = optarg; break;
		case 'C': cert = optarg; break;
		case 'k': connect = 1; break;
		case 'j': json = 1; break;
		case 'h': check_usage(stdout); return 0;
		default: goto bad_usage;
		}
	}
	if (optind < argc)
		arg = argv[optind++];
	if (path == NULL || optind != argc || (!connect && arg == NULL) ||
	    (connect && (listener != NULL || cert != NULL)))
		goto bad_usage;
	if (!connect) {
		len = dp_strlcpy(name, arg, sizeof(name));
		if (len < sizeof(name) && len > 1 && name[len - 1] == '.')
			name[--len] = '\0';
		if (len >= sizeof(name) || dp_dns_name_check(name, len) != DP_OK) {
			fprintf(stderr, "daneproxy check: '%s' is not a valid DNS "
			    "name\n", arg);
			return CHECK_USAGE;
		}
		dp_str_lower(name);
	}
	signal(SIGPIPE, SIG_IGN);
	if (conf_load(path, stderr, &conf) != DP_OK)
		return CHECK_USAGE;
	log_init(conf->global.log_level, conf->global.log_json);
	OPENSSL_init_ssl(0, NULL);
	if (connect) {
		const struct conf_client *cc = pick_client(conf, arg);

		if (cc != NULL && env_open(&e, conf) == DP_OK) {
			report_open(&e.rep, stdout, json);
			rc = check_connect(&e, cc);
			report_close(&e.rep);
		}
	} else {
		const struct conf_server *cs = pick_server(conf, listener);

		/* A certificate that cannot be read is a usage error, told
		 * before any output. */
		if (cs != NULL && (cert == NULL ||
		    check_cert_load(cert, &chain, stderr) == DP_OK) &&
		    env_open(&e, conf) == DP_OK) {
			report_open(&e.rep, stdout, json);
			rc = check_server(&e, cs, name, cert,
			    cert != NULL ? &chain : NULL);
			report_close(&e.rep);
		}
	}
	check_cert_clear(&chain);
	env_close(&e);
	conf_free(conf);
	return rc;
 bad_usage:
	check_usage(stderr);
	return CHECK_USAGE;
}
