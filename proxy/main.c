/* main.c — command line, startup, signals, the event loop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "cache.h"
#include "client.h"
#include "conf.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "server.h"
#include "tlsacli.h"
#include "util.h"

#define DRAIN_MAX_MS 10000

struct daneproxy {
	struct conf *conf;
	struct event_base *base;
	struct dns_client *dns;
	struct tlsa_cache *cache;
	struct server_listener **servers;
	size_t n_servers;
	struct client_route **clients;
	size_t n_clients;
	struct event *sig_term, *sig_int, *drain;
	uint64_t drain_deadline;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: daneproxy [-t] -c FILE\n"
	    "       daneproxy tlsa [--usage U] [--selector S] [--mtype M] --name NAME FILE\n"
	    "       daneproxy -V | -h\n"
	    "\n"
	    "  -c FILE  configuration file (INI)\n"
	    "  -t       check the configuration (files, keys, addresses) and exit\n"
	    "  -T       like -t, then print the effective configuration\n"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n"
	    "\n"
	    "Runs in the foreground and logs to stderr. SIGTERM/SIGINT stop\n"
	    "accepting and let open connections finish (at most %d s).\n",
	    DRAIN_MAX_MS / 1000);
}

static unsigned
active_connections(const struct daneproxy *dp)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < dp->n_servers; i++)
		n += server_listener_active(dp->servers[i]);
	for (i = 0; i < dp->n_clients; i++)
		n += client_route_active(dp->clients[i]);
	return n;
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daneproxy *dp = arg;
	struct timeval tv = { 0, 100000 };
	unsigned n = active_connections(dp);

	if (n == 0 || dp_now_ms() >= dp->drain_deadline) {
		if (n > 0)
			log_warn("drain timeout: closing %u connections", n);
		event_base_loopbreak(dp->base);
		return;
	}
	event_add(dp->drain, &tv);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daneproxy *dp = arg;
	size_t i;

	if (dp->drain_deadline != 0) {
		log_info("second signal: exiting now");
		event_base_loopbreak(dp->base);
		return;
	}
	log_info("signal %d: no longer accepting, draining %u connections",
	    (int)sig, active_connections(dp));
	for (i = 0; i < dp->n_servers; i++)
		server_listener_stop(dp->servers[i]);
	for (i = 0; i < dp->n_clients; i++)
		client_route_stop(dp->clients[i]);
	dp->drain_deadline = dp_now_ms() + DRAIN_MAX_MS;
	drain_cb(-1, 0, dp);
}

/* Builds everything the configuration describes, binding nothing. Returns
 * the number of errors (written to stderr). */
static int
build(struct daneproxy *dp)
{
	const struct conf *c = dp->conf;
	const struct conf_server *cs;
	const struct conf_client *cc;
	char err[512];
	int errors = 0;
	size_t n;

	int need_dns = c->servers != NULL;

	for (cc = c->clients; cc != NULL; cc = cc->next)
		if (cc->verify_server != VERIFY_PKIX)
			need_dns = 1;
	if (need_dns) {
		if (dns_client_new(dp->base, &c->dns, &dp->dns, err, sizeof(err)) != DP_OK) {
			fprintf(stderr, "%s:%d: [dns]: %s\n", c->file,
			    c->dns.trust_anchor_where.line > 0 ?
			    c->dns.trust_anchor_where.line : c->dns.where.line, err);
			errors++;
		} else if (tlsa_cache_new(dp->dns, &c->dns, &dp->cache) != DP_OK) {
			fprintf(stderr, "%s: out of memory\n", c->file);
			return errors + 1;
		}
	}
	for (n = 0, cs = c->servers; cs != NULL; cs = cs->next)
		n++;
	dp->servers = calloc(n ? n : 1, sizeof(*dp->servers));
	for (n = 0, cc = c->clients; cc != NULL; cc = cc->next)
		n++;
	dp->clients = calloc(n ? n : 1, sizeof(*dp->clients));
	if (dp->servers == NULL || dp->clients == NULL)
		return errors + 1;
	for (cs = c->servers; cs != NULL; cs = cs->next) {
		if (server_listener_new(dp->base, cs, dp->cache, stderr,
		    &dp->servers[dp->n_servers]) != DP_OK)
			errors++;
		else
			dp->n_servers++;
	}
	for (cc = c->clients; cc != NULL; cc = cc->next) {
		if (client_route_new(dp->base, cc, dp->cache, stderr,
		    &dp->clients[dp->n_clients]) != DP_OK)
			errors++;
		else
			dp->n_clients++;
	}
	return errors;
}

static int
start(struct daneproxy *dp)
{
	const struct conf_server *cs = dp->conf->servers;
	const struct conf_client *cc = dp->conf->clients;
	char addr[DP_ADDR_STRLEN];
	size_t i;

	for (i = 0; i < dp->n_servers; i++, cs = cs->next) {
		dp_addr_str((const struct sockaddr *)&cs->listen.ss, addr, sizeof(addr));
		if (server_listener_start(dp->servers[i]) != DP_OK) {
			log_error("%s:%d: listen: cannot listen on %s: %s",
			    dp->conf->file, cs->where.line, addr, strerror(errno));
			return DP_ERR_IO;
		}
		log_info("server %s listening on %s, upstream %s", cs->name, addr,
		    dp_addr_str((const struct sockaddr *)&cs->upstream.ss,
		    (char[DP_ADDR_STRLEN]){ 0 }, DP_ADDR_STRLEN));
	}
	for (i = 0; i < dp->n_clients; i++, cc = cc->next) {
		dp_addr_str((const struct sockaddr *)&cc->listen.ss, addr, sizeof(addr));
		if (client_route_start(dp->clients[i]) != DP_OK) {
			log_error("%s:%d: listen: cannot listen on %s: %s",
			    dp->conf->file, cc->where.line, addr, strerror(errno));
			return DP_ERR_IO;
		}
		log_info("client %s listening on %s, remote %s:%u as %s", cc->name,
		    addr, cc->connect_host, cc->connect_port, cc->client_name);
	}
	return DP_OK;
}

static void
teardown(struct daneproxy *dp)
{
	size_t i;

	for (i = 0; i < dp->n_servers; i++)
		server_listener_free(dp->servers[i]);
	for (i = 0; i < dp->n_clients; i++)
		client_route_free(dp->clients[i]);
	free(dp->servers);
	free(dp->clients);
	tlsa_cache_free(dp->cache);
	dns_client_free(dp->dns);
	if (dp->sig_term != NULL)
		event_free(dp->sig_term);
	if (dp->sig_int != NULL)
		event_free(dp->sig_int);
	if (dp->drain != NULL)
		event_free(dp->drain);
	if (dp->base != NULL)
		event_base_free(dp->base);
	conf_free(dp->conf);
}

int
main(int argc, char **argv)
{
	struct daneproxy dp;
	const char *path = NULL;
	int check = 0, dump = 0, ch, rc = 1;

	memset(&dp, 0, sizeof(dp));
	if (argc > 1 && strcmp(argv[1], "tlsa") == 0)
		return tlsa_cli_main(argc - 1, argv + 1);
	while ((ch = getopt(argc, argv, "c:tTVh")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't': check = 1; break;
		case 'T': check = 1; dump = 1; break;
		case 'V': printf("daneproxy %s\n", DP_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (conf_load(path, stderr, &dp.conf) != DP_OK)
		return 1;
	log_init(dp.conf->global.log_level, dp.conf->global.log_json);
	OPENSSL_init_ssl(0, NULL);
	/* Three priorities: 1 (the default) for DNS, relays and timers, 2 for
	 * handshake steps, so that under a burst of new connections a DNS
	 * answer many of them wait for is read before the next round of
	 * handshake work, not after it (and before a retransmit timer). */
	if ((dp.base = event_base_new()) == NULL ||
	    event_base_priority_init(dp.base, 3) != 0) {
		fprintf(stderr, "daneproxy: cannot create event loop\n");
		goto out;
	}
	if (build(&dp) != 0)
		goto out;
	if (check) {
		if (dump)
			conf_dump(dp.conf, stdout);
		fprintf(stderr, "%s: configuration OK\n", path);
		rc = 0;
		goto out;
	}
	dp.sig_term = evsignal_new(dp.base, SIGTERM, signal_cb, &dp);
	dp.sig_int = evsignal_new(dp.base, SIGINT, signal_cb, &dp);
	dp.drain = evtimer_new(dp.base, drain_cb, &dp);
	if (dp.sig_term == NULL || dp.sig_int == NULL || dp.drain == NULL ||
	    event_add(dp.sig_term, NULL) != 0 || event_add(dp.sig_int, NULL) != 0)
		goto out;
	if (start(&dp) != DP_OK)
		goto out;
	log_info("daneproxy %s ready (pid %ld)", DP_VERSION, (long)getpid());
	event_base_dispatch(dp.base);
	log_info("daneproxy stopped");
	rc = 0;
 out:
	teardown(&dp);
	return rc;
}
