/* test_conf.c — conf_load(), conf_dump(), conf_free(): values, defaults,
 * every class of error with its FILE:LINE prefix, the dump round trip and the
 * example configurations in conf/ (found through $DP_SOURCE_DIR). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clientid.h"
#include "conf.h"
#include "http1.h"
#include "err.h"
#include "log.h"
#include "tap.h"

/* One conf_load() of a text written to a temporary file. */
struct run {
	char *path;
	char *errs;		/* everything conf_load wrote to errs */
	struct conf *c;
	int r;
};

static char *
write_tmp(const char *text)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	size_t n;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	n = strlen(dir) + sizeof("/test_conf.XXXXXX");
	if ((path = malloc(n)) == NULL)
		abort();
	snprintf(path, n, "%s/test_conf.XXXXXX", dir);
	if ((fd = mkstemp(path)) < 0 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    close(fd) != 0) {
		perror(path);
		abort();
	}
	return path;
}

static void
load_path(struct run *run, const char *path)
{
	size_t len = 0;
	FILE *f;

	run->errs = NULL;
	if ((f = open_memstream(&run->errs, &len)) == NULL)
		abort();
	run->r = conf_load(path, f, &run->c);
	fclose(f);
}

static void
load(struct run *run, const char *text)
{
	run->path = write_tmp(text);
	load_path(run, run->path);
}

static void
run_free(struct run *run)
{
	if (run->path != NULL)
		unlink(run->path);
	free(run->path);
	free(run->errs);
	conf_free(run->c);
	memset(run, 0, sizeof(*run));
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* True if one line of run->errs starts with "PATH:LINE: want". */
static int
has_error(const struct run *run, int line, const char *want)
{
	char prefix[1024];
	const char *p;
	size_t n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "%s:%d: %s", run->path,
	    line, want);
	for (p = run->errs; p != NULL && *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, n) == 0)
			return 1;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return 0;
}

/* Asserts that text fails to load with the error want on line. */
static void
expect_error(const char *text, int line, const char *want, const char *what)
{
	struct run run;

	load(&run, text);
	if (!ok(run.r == DP_ERR_INVALID && run.c == NULL &&
	    has_error(&run, line, want), "%s: line %d: %s", what, line, want))
		diag("conf_load returned %d, errors:\n%s", run.r,
		    run.errs != NULL ? run.errs : "");
	run_free(&run);
}

static const char *
addr(const struct dp_addr *a, char *buf)
{
	return dp_addr_str((const struct sockaddr *)&a->ss, buf, DP_ADDR_STRLEN);
}

/* A valid server section, 6 lines, for tests that need one. */
#define SERVER_OK \
	"[server ok]\n" \
	"listen = 127.0.0.1:8443\n" \
	"cert = c.pem\n" \
	"key = k.pem\n" \
	"upstream = 127.0.0.1:8080\n" \
	"allow = *\n"

static const char full_text[] =
    "; every key\n"						/* 1 */
    "[global]\n"
    "log_level = debug\n"
    "log_format = json\n"
    "\n"							/* 5 */
    "[dns]\n"
    "mode = resolver-ad\n"
    "resolvers = 127.0.0.1, [::1]:5353 ; inline comment\n"
    "allow_remote_resolver = off\n"
    "trust_anchor_file = /etc/root.key\n"			/* 10 */
    "timeout_ms = 1500\n"
    "cache_max_ttl = 0\n"
    "negative_cache_ttl = 3600\n"
    "max_inflight = 65536\n"
    "cache_max_entries = 1\n"					/* 15 */
    "\n"
    "[server js]\n"
    "listen = [::]:443\n"
    "cert = /etc/js.crt\n"
    "key = /etc/js.key\n"					/* 20 */
    "upstream = 127.0.0.1:8080\n"
    "forward = http\n"
    "client_auth = optional\n"
    "allow = *._Device.Example.NET., _lorawan-ns.ns.example.net\n"
    "\tns2.example.org  *\n"					/* 25 */
    "identity = extension-or-san\n"
    "san_tlsa_prefix = _LoRaWAN-ns\n"
    "tls_versions = 1.3, 1.2\n"
    "dane_clientid_type = 0xfe00\n"
    "handshake_timeout_ms = 100\n"				/* 30 */
    "idle_timeout_ms = 86400000\n"
    "connect_timeout_ms = 600000\n"
    "max_handshakes = 1\n"
    "pkix_ca_file = /etc/ca.pem\n"
    "proxy_v2_identity_tlv = 0xEF\n"				/* 35 */
    "proxy_v2_tlvs = minimal\n"
    "proxy_v2_crc32c = true\n"
    "\n"
    "[client js-acme.1]\n"
    "listen = 127.0.0.1:9443\n"					/* 40 */
    "connect = [2001:db8::1]:4433\n"
    "server_name = JS.Acme.Example.COM.\n"
    "cert = /etc/ns.crt\n"
    "key = /etc/ns.key\n"
    "client_name = _LoRaWAN-NS.ns.example.net.\n"		/* 45 */
    "ca_file = /etc/ca-bundle.pem\n"
    "tls_versions = 1.2\n"
    "dane_clientid_type = 65000\n"
    "connect_timeout_ms = 100\n"
    "handshake_timeout_ms = 600000\n"				/* 50 */
    "idle_timeout_ms = 1000\n"
    "\n"
    "[client second]\n"
    "listen = 127.0.0.1:9444\n"
    "connect = js.example.org.:443\n"				/* 55 */
    "cert = a\n"
    "key = b\n"
    "client_name = ns.example.net\n"
    "ca_file = c\n";

static void
test_full(void)
{
	struct run run;
	const struct conf *c;
	const struct conf_server *s;
	const struct conf_client *cl;
	char buf[DP_ADDR_STRLEN];

	load(&run, full_text);
	is_int(run.r, DP_OK, "full config loads");
	is_str(run.errs, "", "full config: no error output");
	if ((c = run.c) == NULL) {
		run_free(&run);
		return;
	}
	is_str(c->file, run.path, "conf->file is the path");
	ok(c->file != run.path, "conf->file is a copy");
	is_int(c->global.log_level, DP_LOG_DEBUG, "log_level = debug");
	is_int(c->global.log_json, 1, "log_format = json");

	is_int(c->dns.mode, DNS_MODE_RESOLVER_AD, "mode = resolver-ad");
	is_int(c->dns.where.line, 6, "[dns] where.line");
	is_int(c->dns.n_resolvers, 2, "two resolvers, inline comment stripped");
	is_str(addr(&c->dns.resolvers[0], buf), "127.0.0.1:53", "bare resolver gets port 53");
	is_str(addr(&c->dns.resolvers[1], buf), "[::1]:5353", "IPv6 resolver with port");
	is_int(c->dns.allow_remote_resolver, 0, "allow_remote_resolver = off");
	is_str(c->dns.trust_anchor_file, "/etc/root.key", "trust_anchor_file");
	is_int(c->dns.trust_anchor_where.line, 10, "trust_anchor_where.line");
	ok(c->dns.trust_anchor_where.file == c->file, "where.file points at conf->file");
	is_int(c->dns.timeout_ms, 1500, "timeout_ms");
	is_int(c->dns.cache_max_ttl, 0, "cache_max_ttl = 0 (lower bound)");
	is_int(c->dns.negative_ttl, 3600, "negative_cache_ttl (upper bound)");
	is_int(c->dns.max_inflight, 65536, "max_inflight (upper bound)");
	is_int(c->dns.cache_max_entries, 1, "cache_max_entries (lower bound)");

	s = c->servers;
	ok(s != NULL && s->next == NULL, "one server");
	if (s != NULL) {
		is_str(s->name, "js", "server name");
		is_int(s->where.line, 17, "server where.line");
		is_str(addr(&s->listen, buf), "[::]:443", "server listen");
		is_str(s->cert_file, "/etc/js.crt", "cert");
		is_int(s->cert_where.line, 19, "cert_where.line");
		is_str(s->key_file, "/etc/js.key", "key");
		is_int(s->key_where.line, 20, "key_where.line");
		is_str(addr(&s->upstream, buf), "127.0.0.1:8080", "upstream");
		is_int(s->forward, FORWARD_HTTP, "forward = http");
		is_int(s->client_auth, CLIENT_AUTH_OPTIONAL, "client_auth = optional");
		is_int(s->n_allow, 4, "allow: four patterns over a continuation line");
		if (s->n_allow == 4) {
			is_str(s->allow[0], "*._device.example.net",
			    "allow: lower-cased, trailing dot removed");
			is_str(s->allow[1], "_lorawan-ns.ns.example.net", "allow[1]");
			is_str(s->allow[2], "ns2.example.org", "allow[2] from continuation");
			is_str(s->allow[3], "*", "allow[3] = *");
		}
		is_int(s->identity, IDENTITY_EXTENSION_OR_SAN, "identity");
		is_str(s->san_tlsa_prefix, "_lorawan-ns", "san_tlsa_prefix lower-cased");
		is_int(s->tls_versions, CONF_TLS12 | CONF_TLS13, "tls_versions = 1.3, 1.2");
		is_int(s->dane_clientid_type, 0xfe00, "dane_clientid_type hex");
		is_int(s->handshake_timeout_ms, 100, "handshake_timeout_ms");
		is_int(s->idle_timeout_ms, 86400000, "idle_timeout_ms");
		is_int(s->connect_timeout_ms, 600000, "connect_timeout_ms");
		is_int(s->max_handshakes, 1, "max_handshakes");
		is_str(s->pkix_ca_file, "/etc/ca.pem", "pkix_ca_file");
		is_int(s->pkix_ca_where.line, 34, "pkix_ca_where.line");
		is_int(s->pp2_identity_tlv, 0xef, "proxy_v2_identity_tlv");
		is_int(s->pp2_minimal, 1, "proxy_v2_tlvs = minimal");
		is_int(s->pp2_crc32c, 1, "proxy_v2_crc32c = true");
	}

	cl = c->clients;
	ok(cl != NULL && cl->next != NULL && cl->next->next == NULL,
	    "two clients, in file order");
	if (cl != NULL) {
		is_str(cl->name, "js-acme.1", "client name");
		is_int(cl->where.line, 39, "client where.line");
		is_str(addr(&cl->listen, buf), "127.0.0.1:9443", "client listen");
		is_str(cl->connect_host, "2001:db8::1", "connect host without brackets");
		is_int(cl->connect_port, 4433, "connect port");
		is_str(cl->server_name, "js.acme.example.com",
		    "server_name lower-cased, trailing dot removed");
		is_str(cl->cert_file, "/etc/ns.crt", "client cert");
		is_int(cl->cert_where.line, 43, "client cert_where.line");
		is_str(cl->key_file, "/etc/ns.key", "client key");
		is_str(cl->client_name, "_lorawan-ns.ns.example.net",
		    "client_name lower-cased, trailing dot removed");
		is_str(cl->ca_file, "/etc/ca-bundle.pem", "ca_file");
		is_int(cl->ca_where.line, 46, "ca_where.line");
		is_int(cl->tls_versions, CONF_TLS12, "client tls_versions = 1.2");
		is_int(cl->dane_clientid_type, 65000, "client dane_clientid_type decimal");
		is_int(cl->connect_timeout_ms, 100, "client connect_timeout_ms");
		is_int(cl->handshake_timeout_ms, 600000, "client handshake_timeout_ms");
		is_int(cl->idle_timeout_ms, 1000, "client idle_timeout_ms");
		if (cl->next != NULL) {
			is_str(cl->next->connect_host, "js.example.org",
			    "connect host name: trailing dot removed");
			is_str(cl->next->server_name, "js.example.org",
			    "server_name defaults to the connect host");
		}
	}
	run_free(&run);
}

static void
test_defaults(void)
{
	struct run run;
	const struct conf_server *s;
	const struct conf_client *cl;

	load(&run, SERVER_OK "\n[client c]\nlisten = 127.0.0.1:1\n"
	    "connect = h.example:1\ncert = a\nkey = b\nclient_name = n.example\n"
	    "ca_file = ca\n");
	is_int(run.r, DP_OK, "minimal config loads");
	if (run.c == NULL) {
		diag("%s", run.errs);
		run_free(&run);
		return;
	}
	is_int(run.c->global.log_level, DP_LOG_INFO, "default log_level info");
	is_int(run.c->global.log_json, 0, "default log_format text");
	is_int(run.c->dns.mode, DNS_MODE_VALIDATE, "default mode validate");
	is_int(run.c->dns.where.line, 0, "no [dns]: where.line 0");
	is_int(run.c->dns.n_resolvers, 0, "default: no resolvers");
	is_str(run.c->dns.trust_anchor_file, "/usr/share/dns/root.key",
	    "default trust_anchor_file");
	is_int(run.c->dns.trust_anchor_where.line, 0, "default: trust_anchor_where.line 0");
	is_int(run.c->dns.timeout_ms, 3000, "default timeout_ms");
	is_int(run.c->dns.cache_max_ttl, 300, "default cache_max_ttl");
	is_int(run.c->dns.negative_ttl, 30, "default negative_cache_ttl");
	is_int(run.c->dns.max_inflight, 256, "default max_inflight");
	is_int(run.c->dns.cache_max_entries, 10000, "default cache_max_entries");

	s = run.c->servers;
	is_int(s->forward, FORWARD_PROXY_V2, "default forward proxy-v2");
	is_int(s->client_auth, CLIENT_AUTH_REQUIRE, "default client_auth require");
	is_int(s->identity, IDENTITY_EXTENSION, "default identity extension");
	is_str(s->san_tlsa_prefix, "", "default san_tlsa_prefix empty");
	is_int(s->tls_versions, CONF_TLS13, "default tls_versions 1.3");
	is_int(s->dane_clientid_type, 0xffdc, "default dane_clientid_type 0xffdc");
	is_int(s->handshake_timeout_ms, 10000, "default handshake_timeout_ms");
	is_int(s->idle_timeout_ms, 300000, "default idle_timeout_ms");
	is_int(s->connect_timeout_ms, 5000, "default connect_timeout_ms");
	is_int(s->max_handshakes, 1024, "default max_handshakes");
	ok(s->pkix_ca_file == NULL, "default pkix_ca_file NULL");
	is_int(s->pkix_ca_where.line, 0, "default pkix_ca_where.line 0");
	is_int(s->pp2_identity_tlv, 0xe0, "default proxy_v2_identity_tlv 0xE0");
	is_int(s->pp2_minimal, 0, "default proxy_v2_tlvs full");
	is_int(s->pp2_crc32c, 0, "default proxy_v2_crc32c no");

	cl = run.c->clients;
	is_str(cl->server_name, "h.example", "default server_name = connect host");
	is_int(cl->tls_versions, CONF_TLS13, "client default tls_versions");
	is_int(cl->dane_clientid_type, 0xffdc, "client default dane_clientid_type");
	is_int(cl->connect_timeout_ms, 5000, "client default connect_timeout_ms");
	is_int(cl->handshake_timeout_ms, 10000, "client default handshake_timeout_ms");
	is_int(cl->idle_timeout_ms, 300000, "client default idle_timeout_ms");
	run_free(&run);
}

static void
test_errors(void)
{
	/* Sections. */
	expect_error(SERVER_OK "[frontend x]\nlisten = 1.2.3.4:5\n", 7,
	    "[frontend x]: unknown section (expected [global], [dns], "
	    "[server NAME] or [client NAME])", "unknown section");
	expect_error(SERVER_OK "[server ok]\nlisten = 127.0.0.1:1\n", 7,
	    "[server ok]: duplicate section (first at line 1)",
	    "duplicate section name");
	expect_error("[dns]\n" SERVER_OK "[dns]\n", 8,
	    "[dns]: duplicate section (first at line 1)", "duplicate [dns]");
	expect_error(SERVER_OK "[server bad/name]\n", 7, "[server bad/name]: "
	    "section needs a name", "bad section name");
	expect_error(SERVER_OK "[client]\n", 7, "[client]: section needs a name",
	    "client without a name");
	expect_error(SERVER_OK "[global extra]\n", 7, "[global extra]: [global] "
	    "takes no name", "[global] with a name");
	expect_error(SERVER_OK "[server x\nlisten = 127.0.0.1:9\n", 7,
	    "[server x: section header lacks ']'", "header without ']'");
	expect_error("[global]\nlog_level = info\n", 0,
	    "no [server NAME] or [client NAME] section", "no listener section");

	/* Keys. */
	expect_error("log_level = info\n" SERVER_OK, 1,
	    "log_level: key outside any section", "key before any section");
	expect_error(SERVER_OK "frobnicate = 1\n", 7,
	    "frobnicate: unknown key in [server ok]", "unknown key");
	expect_error("[dns]\nlisten = 127.0.0.1:53\n" SERVER_OK, 2,
	    "listen: unknown key in [dns] (it belongs in [server NAME] or "
	    "[client NAME])", "misplaced key with hint");
	expect_error(SERVER_OK "cert = other.pem\n", 7,
	    "cert: duplicate key (first set at line 3)", "duplicate key");
	expect_error(SERVER_OK "this line has no equals sign\n", 7,
	    "syntax error (expected 'key = value' or '[section]')", "syntax error");
	expect_error("[server ok]\nlisten = 127.0.0.1:8443\nkey = k.pem\n"
	    "upstream = 127.0.0.1:8080\nallow = *\n", 1,
	    "cert: required key missing", "missing required key at header line");
	expect_error(SERVER_OK "\tcert = x\n", 7, "allow: ", "indented line "
	    "after a list key continues it (and fails as a pattern)");
	expect_error(SERVER_OK "forward = none\n  client_auth = optional\n", 8,
	    "forward: indented line is read as a continuation of 'forward'",
	    "continuation of a non-list key");

	/* Stapled chains. */
	expect_error(SERVER_OK "stapled_max_age = 7x\n", 7, "stapled_max_age: "
	    "'7x' is not a duration", "a duration with an unknown unit");
	expect_error(SERVER_OK "stapled_max_age = 400d\n", 7, "stapled_max_age: "
	    "400d is out of range (0..31536000 seconds)", "a duration too long");
	expect_error(SERVER_OK "stapled_chain = require\ndane_chain_type = "
	    "0xffdc\n", 8, "dane_chain_type: 0xffdc is also dane_clientid_type",
	    "the chain's type must not be the ClientName's");
	expect_error(SERVER_OK "max_chain_bytes = 100\n", 7, "max_chain_bytes: "
	    "100 is out of range", "max_chain_bytes below 512");
	{
		struct run run;

		load(&run, SERVER_OK "stapled_chain = accept\nstapled_max_age = "
		    "7d\nmax_chain_bytes = 4096\n");
		ok(run.c != NULL && run.c->servers->stapled_chain ==
		    STAPLED_ACCEPT && run.c->servers->stapled_max_age == 604800 &&
		    run.c->servers->max_chain_bytes == 4096 &&
		    run.c->servers->dane_chain_type == 0xffdd,
		    "stapled_chain = accept, 7d = 604800 s, 4096 bytes, type 0xffdd");
		run_free(&run);
		load(&run, SERVER_OK "stapled_max_age = 90\n");
		ok(run.c != NULL && run.c->servers->stapled_max_age == 90 &&
		    run.c->servers->stapled_chain == STAPLED_OFF,
		    "plain seconds; stapled_chain off by default");
		run_free(&run);
	}

	/* Values. */
	expect_error(SERVER_OK "forward = proxy-v3\n", 7, "forward: invalid "
	    "value 'proxy-v3' (expected proxy-v2, proxy-v1, none or http)", "bad choice");
	expect_error("[global]\nlog_level = loud\n" SERVER_OK, 2, "log_level: "
	    "invalid value 'loud' (expected error, warn, info or debug)",
	    "bad log_level");
	expect_error(SERVER_OK "proxy_v2_crc32c = maybe\n", 7, "proxy_v2_crc32c: "
	    "invalid value 'maybe' (expected yes or no", "bad boolean");
	expect_error(SERVER_OK "handshake_timeout_ms = 99\n", 7,
	    "handshake_timeout_ms: 99 is out of range (100..600000)",
	    "number below range");
	expect_error(SERVER_OK "max_handshakes = 1000001\n", 7,
	    "max_handshakes: 1000001 is out of range (1..1000000)",
	    "number above range");
	expect_error(SERVER_OK "idle_timeout_ms = 10s\n", 7, "idle_timeout_ms: "
	    "'10s' is not a number (expected 1000..86400000)", "not a number");
	expect_error(SERVER_OK "proxy_v2_identity_tlv = 0xdf\n", 7,
	    "proxy_v2_identity_tlv: 0xdf is out of range (0xe0..0xef)",
	    "TLV type out of range, in hex");
	expect_error(SERVER_OK "dane_clientid_type = 0xff01\n", 7,
	    "dane_clientid_type: 0xff01 is an extension type OpenSSL handles "
	    "itself", "0xff01 refused");
	expect_error(SERVER_OK "dane_clientid_type = 0\n", 7,
	    "dane_clientid_type: 0x0000 is an extension type OpenSSL handles "
	    "itself", "server_name type refused");
	expect_error(SERVER_OK "dane_clientid_type = 0x10000\n", 7,
	    "dane_clientid_type: 0x10000 is out of range (0x0..0xffff)",
	    "type above 16 bits");
	expect_error(SERVER_OK "tls_versions = 1.1\n", 7, "tls_versions: "
	    "invalid version '1.1' (expected 1.3, 1.2,1.3 or 1.2)", "TLS 1.1");
	expect_error(SERVER_OK "tls_versions = 1.3,1.3\n", 7,
	    "tls_versions: 1.3 listed twice", "TLS version twice");
	expect_error("[server s]\nlisten = 127.0.0.1:1\ncert = c\nkey = k\n"
	    "upstream = 127.0.0.1:2\nallow = *.ok.example, bad..name\n", 6,
	    "allow: 'bad..name' is not a valid pattern", "bad allow pattern");
	expect_error("[server s]\nlisten = 127.0.0.1:1\ncert = c\nkey = k\n"
	    "upstream = 127.0.0.1:2\nallow = a.*.example\n", 6,
	    "allow: 'a.*.example' is not a valid pattern", "inner wildcard");
	expect_error(SERVER_OK "san_tlsa_prefix = _a.b\n", 7, "san_tlsa_prefix: "
	    "'_a.b' is not a single label", "prefix with a dot");
	expect_error(SERVER_OK "san_tlsa_prefix = -x\n", 7, "san_tlsa_prefix: "
	    "'-x' is not a single label", "prefix starting with '-'");
	expect_error(SERVER_OK "upstream2 = 1\n", 7, "upstream2: unknown key",
	    "near-miss key");
	expect_error("[server s]\nlisten = localhost:443\n", 2, "listen: "
	    "'localhost:443' is not a numeric address:port", "listen by name");
	expect_error(SERVER_OK "cert =\n", 7, "cert: duplicate key", "dup before "
	    "emptiness");
	expect_error("[server s]\nlisten = 127.0.0.1:1\ncert =\n", 3,
	    "cert: empty value (expected a file name)", "empty path");

	/* Clients. */
	expect_error("[client c]\nlisten = 127.0.0.1:1\nconnect = 192.0.2.1:443\n"
	    "cert = a\nkey = b\nclient_name = n.example\nca_file = ca\n", 1,
	    "server_name: required when connect is an IP address",
	    "server_name required with an IP connect");
	expect_error("[client c]\nlisten = 127.0.0.1:1\nconnect = 300.1.2.3:443\n", 3,
	    "connect: '300.1.2.3' is neither an IP address nor a host name",
	    "numeric non-address host");
	expect_error("[client c]\nlisten = 127.0.0.1:1\nconnect = h.example\n", 3,
	    "connect: 'h.example' is not host:port", "connect without port");
	expect_error("[client c]\nlisten = 127.0.0.1:1\nconnect = [h.example]:1\n", 3,
	    "connect: 'h.example' is not an IPv6 address", "bracketed name");
	expect_error("[client c]\nclient_name = bad name.example\n", 2,
	    "client_name: 'bad name.example' is not a valid DNS name",
	    "client_name with a space");
	expect_error("[client c]\nclient_name = a..b\n", 1,
	    "listen: required key missing", "client missing listen");

	/* Across sections. */
	expect_error(SERVER_OK "[client c]\nlisten = 127.0.0.1:8443\n", 8,
	    "listen: 127.0.0.1:8443 is already the listen address of "
	    "[server ok] (line 2)", "server and client on one address");

	/* [dns] resolver-ad. */
	expect_error("[dns]\nmode = resolver-ad\nresolvers = 127.0.0.1, 192.0.2.53\n"
	    SERVER_OK, 3, "resolvers: 192.0.2.53:53 is not a loopback address",
	    "resolver-ad with a remote resolver");
	expect_error("[dns]\nmode = resolver-ad\n" SERVER_OK, 1,
	    "resolvers: required when mode = resolver-ad",
	    "resolver-ad without resolvers");
	expect_error("[dns]\nresolvers = 127.0.0.1 resolver.example\n" SERVER_OK, 2,
	    "resolvers: 'resolver.example' is not a numeric address",
	    "resolver by name");
	expect_error("[dns]\nresolvers = 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 "
	    "127.0.0.5 127.0.0.6 127.0.0.7 127.0.0.8 127.0.0.9\n" SERVER_OK, 2,
	    "resolvers: more than 8 resolvers", "too many resolvers");
}

/* ts002_binding reads request bodies: forward = http only; map names its
 * file; dns takes no map. */
static void
test_ts002_binding(void)
{
	struct run run;

	load(&run, SERVER_OK "forward = http\nts002_binding = map\n"
	    "ts002_map = /etc/daneproxy/ts002.map\n");
	is_int(run.r, DP_OK, "ts002_binding = map with forward = http and a map loads");
	run_free(&run);
	load(&run, SERVER_OK "ts002_binding = off\n");
	is_int(run.r, DP_OK, "ts002_binding = off with proxy-v2 loads");
	run_free(&run);
	expect_error(SERVER_OK "ts002_binding = map\nts002_map = /x\n", 7,
	    "ts002_binding: needs forward = http", "binding with proxy-v2");
	expect_error(SERVER_OK "forward = http\nts002_binding = map\n", 8,
	    "ts002_binding: map needs ts002_map", "map without a file");
	load(&run, SERVER_OK "forward = http\nts002_binding = dns\n"
	    "netid_domain = netids.dp.test\njoineui_domain = joineuis.dp.test\n");
	is_int(run.r, DP_OK, "ts002_binding = dns with forward = http loads");
	run_free(&run);
	expect_error(SERVER_OK "forward = http\nts002_binding = dns\n"
	    "ts002_map = /x\n", 9, "ts002_map: used only with ts002_binding = "
	    "map", "dns with a map file");
}

/* client_auth = optional relays unauthenticated clients: only a forward
 * mode that can mark them (the PROXY v2 verify field, the identity header
 * set by forward = http) may carry them. */
static void
test_client_auth_forward(void)
{
	static const char *const marked[] = { "proxy-v2", "http" };
	static const char *const unmarked[] = { "proxy-v1", "none" };
	char text[512], want[256];
	struct run run;
	size_t i;

	for (i = 0; i < sizeof(marked) / sizeof(marked[0]); i++) {
		snprintf(text, sizeof(text), SERVER_OK "forward = %s\n"
		    "client_auth = optional\n", marked[i]);
		load(&run, text);
		is_int(run.r, DP_OK, "client_auth = optional with forward = %s "
		    "loads", marked[i]);
		run_free(&run);
	}
	load(&run, SERVER_OK "client_auth = optional\n");
	is_int(run.r, DP_OK, "client_auth = optional with the default forward "
	    "(proxy-v2) loads");
	run_free(&run);
	for (i = 0; i < sizeof(unmarked) / sizeof(unmarked[0]); i++) {
		snprintf(text, sizeof(text), SERVER_OK "forward = %s\n"
		    "client_auth = require\n", unmarked[i]);
		load(&run, text);
		is_int(run.r, DP_OK, "client_auth = require with forward = %s "
		    "loads", unmarked[i]);
		run_free(&run);

		snprintf(want, sizeof(want), "client_auth: optional needs "
		    "forward = proxy-v2 or http: with forward = %s ", unmarked[i]);
		snprintf(text, sizeof(text), SERVER_OK "forward = %s\n"
		    "client_auth = optional\n", unmarked[i]);
		expect_error(text, 8, want, "optional after forward");
		/* The error names client_auth's line, whichever comes first. */
		snprintf(text, sizeof(text), SERVER_OK "client_auth = optional\n"
		    "forward = %s\n", unmarked[i]);
		expect_error(text, 7, want, "optional before forward");
	}
}

static void
test_resolver_ad_remote_allowed(void)
{
	struct run run;

	load(&run, "[dns]\nmode = resolver-ad\nresolvers = 192.0.2.53\n"
	    "allow_remote_resolver = yes\n" SERVER_OK);
	is_int(run.r, DP_OK, "resolver-ad with a remote resolver and "
	    "allow_remote_resolver = yes");
	run_free(&run);

	load(&run, "[dns]\nresolvers = 192.0.2.53\n" SERVER_OK);
	is_int(run.r, DP_OK, "validate mode: remote forwarder allowed");
	run_free(&run);
}

static void
test_many_errors(void)
{
	struct run run;
	char big[400];

	memset(big, 'x', sizeof(big));
	memcpy(big, "cert = ", 7);
	big[sizeof(big) - 1] = '\0';

	load(&run,
	    "[server a]\n"			/* 1: cert, key missing */
	    "listen = 127.0.0.1:1\n"
	    "upstream = 127.0.0.1:2\n"
	    "allow = *\n"
	    "bogus = 1\n"			/* 5 */
	    "forward = sideways\n"		/* 6 */
	    "listen = 127.0.0.1:3\n"		/* 7 */
	    "[weird]\n"				/* 8 */
	    "[server b]\n"			/* 9 */
	    "listen = 127.0.0.1:1\n"		/* 10: same as a */
	    "cert = c\nkey = k\nupstream = 127.0.0.1:2\nallow = *\n"
	    "max_handshakes = 0\n");		/* 15 */
	is_int(run.r, DP_ERR_INVALID, "many errors: refused");
	ok(has_error(&run, 1, "cert: required key missing") &&
	    has_error(&run, 1, "key: required key missing") &&
	    has_error(&run, 5, "bogus: unknown key") &&
	    has_error(&run, 6, "forward: invalid value") &&
	    has_error(&run, 7, "listen: duplicate key") &&
	    has_error(&run, 8, "[weird]: unknown section") &&
	    has_error(&run, 10, "listen: 127.0.0.1:1 is already the listen "
	    "address of [server a] (line 2)") &&
	    has_error(&run, 15, "max_handshakes: 0 is out of range"),
	    "many errors: each reported with its line");
	is_int(count_lines(run.errs), 8, "many errors: exactly eight messages");
	if (!ok(run.errs != NULL && strstr(run.errs, ":1: cert") <
	    strstr(run.errs, ":5: bogus") && strstr(run.errs, ":5: bogus") <
	    strstr(run.errs, ":15: max_handshakes"), "many errors: sorted by line"))
		diag("%s", run.errs);
	run_free(&run);

	/* A line longer than inih's buffer is reported once, and the lines
	 * after it keep their numbers. */
	{
		char text[1024];

		snprintf(text, sizeof(text), "[server a]\n%s\nbogus = 1\n", big);
		load(&run, text);
	}
	ok(has_error(&run, 2, "line too long (at most 199 characters") &&
	    has_error(&run, 3, "bogus: unknown key") &&
	    has_error(&run, 1, "cert: required key missing"),
	    "overlong line: reported, line numbers intact");
	run_free(&run);
}

static void
test_missing_file(void)
{
	struct run run;

	memset(&run, 0, sizeof(run));
	run.path = strdup("/nonexistent/daneproxy.ini");
	load_path(&run, run.path);
	is_int(run.r, DP_ERR_INVALID, "missing file: DP_ERR_INVALID");
	ok(run.c == NULL, "missing file: *out is NULL");
	ok(has_error(&run, 0, "cannot open: No such file"),
	    "missing file: FILE:0: cannot open");
	free(run.path);
	run.path = NULL;
	run_free(&run);

	is_int(conf_load("/nonexistent/x.ini", NULL, &run.c), DP_ERR_INVALID,
	    "errs may be NULL");
	conf_free(NULL);
	ok(1, "conf_free(NULL) is harmless");
}

static char *
dump_to_string(const struct conf *c)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&s, &len)) == NULL)
		abort();
	conf_dump(c, f);
	fclose(f);
	return s;
}

/* The dump of a conf loads again into the same configuration. */
static void
test_round_trip(const char *what, const char *text)
{
	struct run first, second;
	char *d1, *d2, *p;

	load(&first, text);
	if (first.c == NULL) {
		ok(0, "%s: loads", what);
		diag("%s", first.errs);
		run_free(&first);
		return;
	}
	d1 = dump_to_string(first.c);
	load(&second, d1);
	is_int(second.r, DP_OK, "%s: dump loads again", what);
	if (second.r != DP_OK)
		diag("%s\n%s", second.errs, d1);
	d2 = second.c != NULL ? dump_to_string(second.c) : strdup("");
	/* Only the first line, which names the file, may differ. */
	p = strchr(d1, '\n');
	is_str(strchr(d2, '\n'), p, "%s: dump of the dump is identical", what);
	free(d1);
	free(d2);
	run_free(&first);
	run_free(&second);
}

static void
test_dump(void)
{
	char text[16384];
	size_t n;
	int i;

	test_round_trip("full config", full_text);
	test_round_trip("minimal config", SERVER_OK);

	/* Enough patterns to need continuation lines in the dump. */
	n = (size_t)snprintf(text, sizeof(text), "%s", SERVER_OK);
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "\tdevice-%02d.a-rather-long-organisation-name.example\n", i);
	test_round_trip("long allow list", text);
}

static void
test_examples(void)
{
	static const char *const files[] = { "server.ini", "client.ini" };
	const char *dir = getenv("DP_SOURCE_DIR");
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct run run;

		if (dir == NULL || *dir == '\0') {
			printf("ok %d # skip conf/%s: DP_SOURCE_DIR not set\n",
			    ++tap_n, files[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/conf/%s", dir, files[i]);
		memset(&run, 0, sizeof(run));
		load_path(&run, path);
		if (!ok(run.r == DP_OK, "example conf/%s loads", files[i]))
			diag("%s", run.errs);
		run_free(&run);
	}
}

/* The keys of forward = http, on both roles. */
static void
test_http_keys(void)
{
	struct run run;
	const struct conf_server *s;
	const struct conf_client *cl;

	load(&run, SERVER_OK "forward = http\nheader = X-DANE-Id\n"
	    "add_client_cert = yes\nadd_x_forwarded_for = on\n"
	    "add_tlsa_header = true\nmax_request_head = 4096\n"
	    "max_request_headers = 50\nupstream_timeout_ms = 1500\n"
	    "upgrade_protocols = WebSocket , h2c\nheaders_with_underscores = reject\n"
	    "\n[client c]\nlisten = 127.0.0.1:1\nconnect = h.example:1\n"
	    "cert = a\nkey = b\nclient_name = n.example\nca_file = ca\n"
	    "forward = http\nheader_out = DANE-Client-Identity\n"
	    "upgrade_protocols =\nheaders_with_underscores = allow\n");
	is_int(run.r, DP_OK, "http keys load");
	if (run.c == NULL) {
		diag("%s", run.errs);
		run_free(&run);
		return;
	}
	s = run.c->servers;
	cl = run.c->clients;
	is_int(s->forward, FORWARD_HTTP, "forward = http");
	is_str(s->http_header, "X-DANE-Id", "header");
	is_int(s->add_client_cert, 1, "add_client_cert");
	is_int(s->add_client_cert_chain, 0, "add_client_cert_chain default no");
	is_int(s->add_xff, 1, "add_x_forwarded_for");
	is_int(s->add_xfp, 0, "add_x_forwarded_proto default no");
	is_int(s->add_tlsa_header, 1, "add_tlsa_header");
	is_int(s->max_request_head, 4096, "max_request_head");
	is_int(s->max_request_headers, 50, "max_request_headers");
	is_int(s->upstream_timeout_ms, 1500, "upstream_timeout_ms");
	is_int(cl->forward, FORWARD_HTTP, "client forward = http");
	is_str(cl->header_out, "DANE-Client-Identity", "client header_out");
	is_str(s->upgrade_protocols, "websocket,h2c", "upgrade_protocols: lower-cased, spaces gone");
	is_int(s->underscores, HTTP1_UNDERSCORES_REJECT, "headers_with_underscores = reject");
	is_str(cl->upgrade_protocols, "", "client upgrade_protocols empty: none");
	is_int(cl->underscores, HTTP1_UNDERSCORES_ALLOW, "client headers_with_underscores = allow");
	run_free(&run);

	load(&run, SERVER_OK);
	if (run.c != NULL) {
		is_str(run.c->servers->http_header, "DANE-Client-Identity",
		    "default header DANE-Client-Identity");
		is_int(run.c->servers->max_request_head, 16384,
		    "default max_request_head 16384");
		is_int(run.c->servers->upstream_timeout_ms, 30000,
		    "default upstream_timeout_ms 30000");
		is_str(run.c->servers->upgrade_protocols, "websocket",
		    "default upgrade_protocols websocket");
		is_int(run.c->servers->underscores, HTTP1_UNDERSCORES_DROP,
		    "default headers_with_underscores drop");
	}
	run_free(&run);

	expect_error(SERVER_OK "header = Bad Header\n", 7, "header: ",
	    "header with a space refused");
	expect_error(SERVER_OK "header =\n", 7, "header: must not be empty",
	    "empty header refused");
	expect_error(SERVER_OK "max_request_head = 100\n", 7,
	    "max_request_head: 100 is out of range", "max_request_head below range");
	expect_error(SERVER_OK "upgrade_protocols = websocket,\n", 7,
	    "upgrade_protocols: 'websocket,' is not a comma-separated list",
	    "upgrade_protocols with a trailing comma refused");
	expect_error(SERVER_OK "upgrade_protocols = web socket\n", 7,
	    "upgrade_protocols: ", "upgrade_protocols with a space inside a name refused");
	expect_error(SERVER_OK "headers_with_underscores = maybe\n", 7,
	    "headers_with_underscores: invalid value 'maybe' (expected allow, drop or reject)",
	    "headers_with_underscores: an unknown value refused");
}

/* The client role's server authentication keys. */
static void
test_client_verify_keys(void)
{
	struct run run;
	const struct conf_client *cl;

	load(&run, "[client c]\nlisten = 127.0.0.1:1\nconnect = js.example.net:8443\n"
	    "cert = a\nkey = b\nclient_name = n.example\n");
	is_int(run.r, DP_OK, "client without ca_file loads (verify_server dane)");
	if ((cl = run.c != NULL ? run.c->clients : NULL) != NULL) {
		is_int(cl->verify_server, VERIFY_DANE, "default verify_server dane");
		is_str(cl->tlsa_name, "_8443._tcp.js.example.net",
		    "default tlsa_name _PORT._tcp.SERVER_NAME");
		is_str(cl->alpn, "", "default alpn empty");
		is_int(cl->legacy_clientid, 0, "default legacy_clientid no");
	}
	run_free(&run);

	load(&run, "[client c]\nlisten = 127.0.0.1:1\nconnect = 192.0.2.1:443\n"
	    "server_name = js.example.net\ncert = a\nkey = b\nclient_name = n.example\n"
	    "verify_server = dane-or-pkix\nca_file = ca.pem\n"
	    "tlsa_name = _8443._tcp.js.example.net\nalpn = h2,http/1.1\n"
	    "legacy_clientid = yes\n");
	is_int(run.r, DP_OK, "client verify keys load");
	if ((cl = run.c != NULL ? run.c->clients : NULL) != NULL) {
		is_int(cl->verify_server, VERIFY_DANE_OR_PKIX, "verify_server dane-or-pkix");
		is_str(cl->tlsa_name, "_8443._tcp.js.example.net", "tlsa_name as set");
		is_str(cl->alpn, "h2,http/1.1", "alpn");
		is_int(cl->legacy_clientid, 1, "legacy_clientid yes");
	}
	run_free(&run);

	expect_error("[client c]\nlisten = 127.0.0.1:1\nconnect = js.example.net:443\n"
	    "cert = a\nkey = b\nclient_name = n.example\nverify_server = pkix\n", 1,
	    "ca_file: required with verify_server = pkix",
	    "pkix without ca_file refused at the section header");
	expect_error("[client c]\nlisten = 127.0.0.1:1\nconnect = js.example.net:443\n"
	    "cert = a\nkey = b\nclient_name = n.example\nverify_server = maybe\n", 7,
	    "verify_server: invalid value 'maybe'", "bad verify_server value");
	expect_error("[client c]\nlisten = 127.0.0.1:1\nconnect = js.example.net:443\n"
	    "cert = a\nkey = b\nclient_name = n.example\nalpn = h2,,x\n", 7,
	    "alpn: ", "empty ALPN protocol refused");
}

/* [global] workers, user, admin, drain_timeout_ms; [dns] probe_name;
 * max_connections. */
static void
test_ops_keys(void)
{
	struct run run;

	load(&run, SERVER_OK);
	is_int(run.r, DP_OK, "ops defaults: loads");
	if (run.c != NULL) {
		is_int(run.c->global.workers, 1, "default workers 1");
		ok(run.c->global.user == NULL, "default user: none");
		is_int(run.c->global.admin.len, 0, "default admin: off");
		is_int(run.c->global.drain_timeout_ms, 10000, "default drain_timeout_ms");
		is_str(run.c->dns.probe_name, ".", "default probe_name: the root");
		is_int(run.c->servers->max_connections, 10000, "default max_connections");
	}
	run_free(&run);

	load(&run, "[global]\nworkers = AUTO\nuser = daneproxy\n"
	    "admin = 127.0.0.1:9750\ndrain_timeout_ms = 0\n"
	    "[dns]\nprobe_name = DP.Test.\n" SERVER_OK "max_connections = 7\n");
	is_int(run.r, DP_OK, "ops keys set: loads");
	if (run.c != NULL) {
		is_int(run.c->global.workers, 0, "workers = auto is 0");
		is_str(run.c->global.user, "daneproxy", "user");
		is_int(run.c->global.user_where.line, 3, "user: its line kept");
		ok(run.c->global.admin.len > 0, "admin set");
		is_int(run.c->global.drain_timeout_ms, 0, "drain_timeout_ms = 0 allowed");
		is_str(run.c->dns.probe_name, "dp.test", "probe_name normalised");
		is_int(run.c->servers->max_connections, 7, "max_connections");
	}
	run_free(&run);

	load(&run, "[dns]\nprobe_name = none\n" SERVER_OK);
	ok(run.r == DP_OK && run.c != NULL && run.c->dns.probe_name == NULL,
	    "probe_name = none: no probe");
	run_free(&run);

	expect_error("[global]\nworkers = 0\n" SERVER_OK, 2,
	    "workers: 0 is out of range (1..64)", "workers = 0 refused");
	expect_error("[global]\nworkers = 65\n" SERVER_OK, 2,
	    "workers: 65 is out of range", "workers = 65 refused");
	expect_error("[global]\nworkers = many\n" SERVER_OK, 2,
	    "workers: ", "workers = many refused");
	expect_error("[global]\nuser = -root\n" SERVER_OK, 2,
	    "user: '-root' is not a user name", "user starting with '-' refused");
	expect_error("[global]\nuser = a b\n" SERVER_OK, 2,
	    "user: 'a b' is not a user name", "user with a space refused");
	expect_error("[global]\nadmin = localhost:9750\n" SERVER_OK, 2,
	    "admin: 'localhost:9750' is not a numeric address:port",
	    "admin must be numeric");
	expect_error("[global]\ndrain_timeout_ms = 3600001\n" SERVER_OK, 2,
	    "drain_timeout_ms: 3600001 is out of range", "drain_timeout_ms cap");
	expect_error("[dns]\nprobe_name = a..b\n" SERVER_OK, 2,
	    "probe_name: ", "probe_name must be a name");
	expect_error("[global]\nadmin = 127.0.0.1:8443\n" SERVER_OK, 4,
	    "listen: 127.0.0.1:8443 is already the admin address (line 2)",
	    "a listener on the admin address refused");
	expect_error(SERVER_OK "max_connections = 0\n", 7,
	    "max_connections: 0 is out of range (1..1000000)",
	    "max_connections = 0 refused");
}

/* allow_from on both roles, and the client role's non-loopback rule. */
static void
test_allow_from(void)
{
	static const char client[] = "[client c]\nconnect = h.example:1\n"
	    "cert = a\nkey = b\nclient_name = n.example\n";
	struct run run;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
	char text[1024];

	load(&run, SERVER_OK "allow_from = 10.0.0.0/8, 192.0.2.7\n\t2001:db8::/32\n");
	is_int(run.r, DP_OK, "allow_from with a continuation line loads");
	if (run.c != NULL) {
		const struct conf_cidrs *a = &run.c->servers->allow_from;

		is_int((int)a->n, 3, "three prefixes");
		memset(&v4, 0, sizeof(v4));
		v4.sin_family = AF_INET;
		inet_pton(AF_INET, "10.200.3.4", &v4.sin_addr);
		ok(dp_cidr_match(a->v, a->n, (struct sockaddr *)&v4), "10.200.3.4 is in 10.0.0.0/8");
		inet_pton(AF_INET, "192.0.2.8", &v4.sin_addr);
		ok(!dp_cidr_match(a->v, a->n, (struct sockaddr *)&v4), "192.0.2.8 is not 192.0.2.7");
		memset(&v6, 0, sizeof(v6));
		v6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, "::ffff:192.0.2.7", &v6.sin6_addr);
		ok(dp_cidr_match(a->v, a->n, (struct sockaddr *)&v6),
		    "an IPv4-mapped IPv6 source matches as IPv4");
		inet_pton(AF_INET6, "2001:db8:ffff::1", &v6.sin6_addr);
		ok(dp_cidr_match(a->v, a->n, (struct sockaddr *)&v6), "2001:db8:ffff::1 is in 2001:db8::/32");
		inet_pton(AF_INET6, "2001:db9::1", &v6.sin6_addr);
		ok(!dp_cidr_match(a->v, a->n, (struct sockaddr *)&v6), "2001:db9::1 is not");
		ok(run.c->clients == NULL, "no client section");
	}
	run_free(&run);
	load(&run, SERVER_OK);
	if (run.c != NULL)
		is_int((int)run.c->servers->allow_from.n, 0, "default allow_from: any source");
	run_free(&run);

	expect_error(SERVER_OK "allow_from = 10.1.2.3/8\n", 7,
	    "allow_from: '10.1.2.3/8' is not an address or prefix with its host bits zero",
	    "a prefix with host bits set is refused");
	expect_error(SERVER_OK "allow_from = 10.0.0.0/33\n", 7,
	    "allow_from: '10.0.0.0/33'", "a prefix longer than 32 bits is refused");
	expect_error(SERVER_OK "allow_from = example.net\n", 7,
	    "allow_from: 'example.net'", "a name is refused");

	snprintf(text, sizeof(text), "%slisten = 0.0.0.0:8080\n", client);
	expect_error(text, 6, "listen: 0.0.0.0:8080 is not a loopback address: whoever "
	    "reaches it would be given this route's DANE identity; set allow_from",
	    "a client route on a non-loopback address without allow_from is refused");
	snprintf(text, sizeof(text), "%slisten = 0.0.0.0:8080\nallow_from = 10.0.0.0/8\n", client);
	load(&run, text);
	is_int(run.r, DP_OK, "... and accepted with allow_from");
	run_free(&run);
	snprintf(text, sizeof(text), "%slisten = [::1]:8080\n", client);
	load(&run, text);
	is_int(run.r, DP_OK, "a client route on loopback needs no allow_from");
	run_free(&run);
}

/* Port 0 (the kernel chooses, the master logs the port) where daneproxy
 * listens, and only there. */
static void
test_port_zero(void)
{
	struct run run;

	load(&run, "[global]\nadmin = 127.0.0.1:0\n"
	    "[server a]\nlisten = 127.0.0.1:0\ncert = c\nkey = k\n"
	    "upstream = 127.0.0.1:2\nallow = *\n"
	    "[client b]\nlisten = [::1]:0\nconnect = h.example:1\n"
	    "cert = a\nkey = b\nclient_name = n.example\n");
	is_int(run.r, DP_OK, "port 0 in admin and two listen: loads, no clash");
	if (run.c != NULL) {
		is_int(dp_addr_port(&run.c->global.admin), 0, "admin port 0");
		is_int(dp_addr_port(&run.c->servers->listen), 0, "server listen port 0");
		is_int(dp_addr_port(&run.c->clients->listen), 0, "client listen port 0");
	}
	run_free(&run);
	expect_error("[server s]\nlisten = 127.0.0.1:1\ncert = c\nkey = k\n"
	    "upstream = 127.0.0.1:0\n", 5, "upstream: '127.0.0.1:0' is not a "
	    "numeric address:port", "upstream port 0 refused");
	expect_error("[dns]\nresolvers = 127.0.0.1:0\n" SERVER_OK, 2,
	    "resolvers: '127.0.0.1:0' is not a numeric address", "resolver port 0 refused");
}

/* conf_load_mem: the same conf and the same errors as conf_load of a file
 * with those bytes, named as given; bytes past len are not read. */
static void
test_load_mem(void)
{
	static const char bad[] = "[server a]\nlisten = nowhere\n";
	char text[] = SERVER_OK "log_level = x";	/* the tail is past len */
	struct run file;
	struct conf *c = NULL;
	char *errs = NULL, *d1, *d2;
	size_t len = 0;
	FILE *f;

	load(&file, SERVER_OK);
	is_int(conf_load_mem("mem.ini", text, strlen(SERVER_OK), NULL, &c), DP_OK,
	    "load_mem: loads");
	ok(c != NULL && strcmp(c->file, "mem.ini") == 0, "load_mem: named as given");
	d1 = file.c != NULL ? dump_to_string(file.c) : strdup("");
	d2 = c != NULL ? dump_to_string(c) : strdup("");
	is_str(strchr(d2, '\n'), strchr(d1, '\n'), "load_mem: the conf a file gives");
	free(d1);
	free(d2);
	conf_free(c);
	run_free(&file);

	if ((f = open_memstream(&errs, &len)) == NULL)
		abort();
	is_int(conf_load_mem("mem.ini", bad, sizeof(bad) - 1, f, &c), DP_ERR_INVALID,
	    "load_mem: bad text refused");
	fclose(f);
	ok(c == NULL, "load_mem: *out NULL on error");
	ok(errs != NULL && strstr(errs, "mem.ini:2: listen: ") != NULL,
	    "load_mem: errors name the buffer and the line");
	free(errs);

	is_int(conf_load_mem("empty", "", 0, NULL, &c), DP_ERR_INVALID,
	    "load_mem: empty buffer is no configuration");
	is_int(conf_load_mem("nul", "[global]\0x\n", 11, NULL, &c), DP_ERR_INVALID,
	    "load_mem: a NUL byte is an error");
}

/* station_binding: a template with one {eui}, with forward = http. */
static void
test_station_binding(void)
{
	struct run run;

	load(&run, SERVER_OK "forward = http\n"
	    "station_binding = eui-{eui}.gw.example.net\n");
	is_int(run.r, DP_OK, "station_binding loads");
	if (run.c != NULL)
		is_str(run.c->servers->station_binding, "eui-{eui}.gw.example.net",
		    "station_binding kept as written");
	run_free(&run);
	expect_error(SERVER_OK "forward = http\nstation_binding = gw.example.net\n",
	    8, "station_binding: gw.example.net: no {eui} in the template",
	    "station_binding without {eui} refused");
	expect_error(SERVER_OK "forward = http\n"
	    "station_binding = {eui}.{eui}.example.net\n", 8,
	    "station_binding: {eui}.{eui}.example.net: more than one {eui}",
	    "station_binding with two {eui} refused");
	expect_error(SERVER_OK "forward = http\n"
	    "station_binding = eui {eui}.example.net\n", 8,
	    "station_binding: eui {eui}.example.net: not a DNS name",
	    "station_binding that is no name refused");
	expect_error(SERVER_OK "station_binding = {eui}.gw.example.net\n", 7,
	    "station_binding: needs forward = http",
	    "station_binding without forward = http refused");
}

int
main(void)
{
	test_full();
	test_defaults();
	test_errors();
	test_client_auth_forward();
	test_ts002_binding();
	test_resolver_ad_remote_allowed();
	test_many_errors();
	test_missing_file();
	test_dump();
	test_examples();
	test_http_keys();
	test_station_binding();
	test_allow_from();
	test_port_zero();
	test_client_verify_keys();
	test_ops_keys();
	test_load_mem();
	return done_testing();
}
