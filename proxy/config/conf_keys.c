/* conf_keys.c — the keyword table of conf.c: every keyword with its
 * section, its value type (parser and dumper), its range or choices and
 * its flags; and the defaults the table does not hold, set by the
 * constructors of a conf and of its sections, with conf_free(). */
#include "confkw.h"

#include <stdlib.h>
#include <string.h>

#include "clientid.h"
#include "http1.h"
#include "log.h"

/* ---- the keyword table --------------------------------------------------- */

static const struct choice log_levels[] = {
	{ "error", DP_LOG_ERROR }, { "warn", DP_LOG_WARN },
	{ "info", DP_LOG_INFO }, { "debug", DP_LOG_DEBUG }, { NULL, 0 },
};
static const struct choice log_formats[] = {
	{ "text", 0 }, { "json", 1 }, { NULL, 0 },
};
static const struct choice dns_modes[] = {
	{ "validate", DNS_MODE_VALIDATE }, { "resolver-ad", DNS_MODE_RESOLVER_AD },
	{ NULL, 0 },
};
static const struct choice forwards[] = {
	{ "proxy-v2", FORWARD_PROXY_V2 }, { "proxy-v1", FORWARD_PROXY_V1 },
	{ "none", FORWARD_NONE }, { "http", FORWARD_HTTP }, { NULL, 0 },
};
static const struct choice client_forwards[] = {
	{ "none", FORWARD_NONE }, { "http", FORWARD_HTTP }, { NULL, 0 },
};
static const struct choice client_auths[] = {
	{ "require", CLIENT_AUTH_REQUIRE }, { "optional", CLIENT_AUTH_OPTIONAL },
	{ NULL, 0 },
};
static const struct choice identities[] = {
	{ "extension", IDENTITY_EXTENSION },
	{ "extension-or-san", IDENTITY_EXTENSION_OR_SAN }, { NULL, 0 },
};
static const struct choice verify_servers[] = {
	{ "dane", VERIFY_DANE }, { "pkix", VERIFY_PKIX },
	{ "dane-or-pkix", VERIFY_DANE_OR_PKIX }, { NULL, 0 },
};
static const struct choice underscore_policies[] = {
	{ "allow", HTTP1_UNDERSCORES_ALLOW }, { "drop", HTTP1_UNDERSCORES_DROP },
	{ "reject", HTTP1_UNDERSCORES_REJECT }, { NULL, 0 },
};
static const struct choice wildcard_policies[] = {
	{ "accept", 0 }, { "refuse", 1 }, { NULL, 0 },
};
static const struct choice rechecks[] = {
	{ "off", RECHECK_OFF }, { "log", RECHECK_LOG }, { "close", RECHECK_CLOSE },
	{ NULL, 0 },
};
static const struct choice self_checks[] = {
	{ "off", SELF_CHECK_OFF }, { "warn", SELF_CHECK_WARN },
	{ "not-ready", SELF_CHECK_NOT_READY }, { NULL, 0 },
};
static const struct choice ts002_bindings[] = {
	{ "off", TS002_OFF }, { "map", TS002_MAP }, { "dns", TS002_DNS },
	{ NULL, 0 },
};
static const struct choice stapled_modes[] = {
	{ "off", STAPLED_OFF }, { "accept", STAPLED_ACCEPT },
	{ "require", STAPLED_REQUIRE }, { NULL, 0 },
};
static const struct choice pp2_tlv_sets[] = {
	{ "full", 0 }, { "minimal", 1 }, { NULL, 0 },
};

#define G_(f) offsetof(struct conf_global, f)
#define D_(f) offsetof(struct conf_dns, f)
#define S_(f) offsetof(struct conf_server, f)
#define C_(f) offsetof(struct conf_client, f)

/* In dump order. Defaults are set by conf_new(), conf_server_new(), conf_client_new(). */
const struct keyword conf_keywords[] = {
	{ SECT_GLOBAL, "log_level", conf_parse_choice, conf_dump_choice, G_(log_level),
	    .choices = log_levels },
	{ SECT_GLOBAL, "log_format", conf_parse_choice, conf_dump_choice, G_(log_json),
	    .choices = log_formats },
	{ SECT_GLOBAL, "workers", conf_parse_workers, conf_dump_workers, G_(workers),
	    .min = 1, .max = CONF_MAX_WORKERS },
	{ SECT_GLOBAL, "user", conf_parse_user, conf_dump_path, G_(user),
	    .where_off = G_(user_where), .flags = KW_WHERE },
	{ SECT_GLOBAL, "admin", conf_parse_listen_addr, conf_dump_opt_addr, G_(admin),
	    .where_off = G_(admin_where), .flags = KW_WHERE },
	{ SECT_GLOBAL, "drain_timeout_ms", conf_parse_uint, conf_dump_uint,
	    G_(drain_timeout_ms), .min = 0, .max = 3600000 },
	{ SECT_GLOBAL, "reload_on_change", conf_parse_bool, conf_dump_bool,
	    G_(reload_on_change), .flags = 0 },

	{ SECT_DNS, "mode", conf_parse_choice, conf_dump_choice, D_(mode),
	    .choices = dns_modes },
	{ SECT_DNS, "resolvers", conf_parse_resolvers, conf_dump_resolvers, 0,
	    .flags = KW_LIST },
	{ SECT_DNS, "allow_remote_resolver", conf_parse_bool, conf_dump_bool,
	    D_(allow_remote_resolver), .flags = 0 },
	{ SECT_DNS, "trust_anchor_file", conf_parse_path, conf_dump_path,
	    D_(trust_anchor_file), .where_off = D_(trust_anchor_where),
	    .flags = KW_WHERE },
	{ SECT_DNS, "timeout_ms", conf_parse_uint, conf_dump_uint, D_(timeout_ms),
	    .min = 100, .max = 60000 },
	{ SECT_DNS, "cache_max_ttl", conf_parse_uint, conf_dump_uint, D_(cache_max_ttl),
	    .min = 0, .max = 86400 },
	{ SECT_DNS, "negative_cache_ttl", conf_parse_uint, conf_dump_uint, D_(negative_ttl),
	    .min = 0, .max = 3600 },
	{ SECT_DNS, "max_inflight", conf_parse_uint, conf_dump_uint, D_(max_inflight),
	    .min = 1, .max = 65536 },
	{ SECT_DNS, "cache_max_entries", conf_parse_uint, conf_dump_uint,
	    D_(cache_max_entries), .min = 1, .max = 10000000 },
	{ SECT_DNS, "probe_name", conf_parse_probe_name, conf_dump_probe_name,
	    D_(probe_name), .flags = 0 },

	{ SECT_SERVER, "listen", conf_parse_listen_addr, conf_dump_addr, S_(listen),
	    .flags = KW_REQUIRED },
	{ SECT_SERVER, "cert", conf_parse_path, conf_dump_path, S_(cert_file),
	    .where_off = S_(cert_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_SERVER, "key", conf_parse_path, conf_dump_path, S_(key_file),
	    .where_off = S_(key_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_SERVER, "upstream", conf_parse_addr, conf_dump_addr, S_(upstream),
	    .flags = KW_REQUIRED },
	{ SECT_SERVER, "forward", conf_parse_choice, conf_dump_choice, S_(forward),
	    .choices = forwards },
	{ SECT_SERVER, "client_auth", conf_parse_choice, conf_dump_choice, S_(client_auth),
	    .choices = client_auths },
	{ SECT_SERVER, "allow", conf_parse_allow, conf_dump_allow, 0,
	    .flags = KW_REQUIRED | KW_LIST },
	{ SECT_SERVER, "identity", conf_parse_choice, conf_dump_choice, S_(identity),
	    .choices = identities },
	{ SECT_SERVER, "tlsa_wildcard", conf_parse_choice, conf_dump_choice,
	    S_(tlsa_wildcard_refuse), .choices = wildcard_policies },
	{ SECT_SERVER, "san_tlsa_prefix", conf_parse_label, conf_dump_label,
	    S_(san_tlsa_prefix), .flags = 0 },
	{ SECT_SERVER, "tls_versions", conf_parse_tls_versions, conf_dump_tls_versions,
	    S_(tls_versions), .flags = 0 },
	{ SECT_SERVER, "dane_clientid_type", conf_parse_ext_type, conf_dump_uint,
	    S_(dane_clientid_type), .min = 0, .max = 0xffff, .flags = KW_HEX | KW_U16 },
	{ SECT_SERVER, "handshake_timeout_ms", conf_parse_uint, conf_dump_uint,
	    S_(handshake_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_SERVER, "idle_timeout_ms", conf_parse_uint, conf_dump_uint,
	    S_(idle_timeout_ms), .min = 1000, .max = 86400000 },
	{ SECT_SERVER, "connect_timeout_ms", conf_parse_uint, conf_dump_uint,
	    S_(connect_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_SERVER, "max_handshakes", conf_parse_uint, conf_dump_uint,
	    S_(max_handshakes), .min = 1, .max = 1000000 },
	{ SECT_SERVER, "max_connections", conf_parse_uint, conf_dump_uint,
	    S_(max_connections), .min = 1, .max = 1000000 },
	{ SECT_SERVER, "pkix_ca_file", conf_parse_path, conf_dump_path, S_(pkix_ca_file),
	    .where_off = S_(pkix_ca_where), .flags = KW_WHERE },
	{ SECT_SERVER, "proxy_v2_identity_tlv", conf_parse_uint, conf_dump_uint,
	    S_(pp2_identity_tlv), .min = 0xe0, .max = 0xef, .flags = KW_HEX | KW_U8 },
	{ SECT_SERVER, "proxy_v2_tlvs", conf_parse_choice, conf_dump_choice,
	    S_(pp2_minimal), .choices = pp2_tlv_sets },
	{ SECT_SERVER, "proxy_v2_crc32c", conf_parse_bool, conf_dump_bool, S_(pp2_crc32c), .flags = 0 },
	{ SECT_SERVER, "legacy_clientid", conf_parse_bool, conf_dump_bool,
	    S_(legacy_clientid), .flags = 0 },
	{ SECT_SERVER, "header", conf_parse_token, conf_dump_label, S_(http_header),
	    .flags = KW_REQUIRED_VALUE },
	{ SECT_SERVER, "add_client_cert", conf_parse_bool, conf_dump_bool,
	    S_(add_client_cert), .flags = 0 },
	{ SECT_SERVER, "add_client_cert_chain", conf_parse_bool, conf_dump_bool,
	    S_(add_client_cert_chain), .flags = 0 },
	{ SECT_SERVER, "add_x_forwarded_for", conf_parse_bool, conf_dump_bool, S_(add_xff),
	    .flags = 0 },
	{ SECT_SERVER, "add_x_forwarded_proto", conf_parse_bool, conf_dump_bool, S_(add_xfp),
	    .flags = 0 },
	{ SECT_SERVER, "add_tlsa_header", conf_parse_bool, conf_dump_bool,
	    S_(add_tlsa_header), .flags = 0 },
	{ SECT_SERVER, "max_request_head", conf_parse_uint, conf_dump_uint,
	    S_(max_request_head), .min = 1024, .max = 1048576 },
	{ SECT_SERVER, "max_request_headers", conf_parse_uint, conf_dump_uint,
	    S_(max_request_headers), .min = 1, .max = 256 },
	{ SECT_SERVER, "upstream_timeout_ms", conf_parse_uint, conf_dump_uint,
	    S_(upstream_timeout_ms), .min = 100, .max = 3600000 },
	{ SECT_SERVER, "allow_from", conf_parse_allow_from, conf_dump_allow_from,
	    S_(allow_from), .flags = KW_LIST },
	{ SECT_SERVER, "upgrade_protocols", conf_parse_token_list, conf_dump_label,
	    S_(upgrade_protocols), .flags = 0 },
	{ SECT_SERVER, "headers_with_underscores", conf_parse_choice, conf_dump_choice,
	    S_(underscores), .choices = underscore_policies },
	{ SECT_SERVER, "recheck", conf_parse_choice, conf_dump_choice,
	    S_(recheck), .choices = rechecks },
	{ SECT_SERVER, "recheck_grace_ms", conf_parse_uint, conf_dump_uint,
	    S_(recheck_grace_ms), .min = 0, .max = 86400000 },
	{ SECT_SERVER, "ts002_binding", conf_parse_choice, conf_dump_choice,
	    S_(ts002_binding), .choices = ts002_bindings },
	{ SECT_SERVER, "ts002_map", conf_parse_path, conf_dump_path, S_(ts002_map),
	    .where_off = S_(ts002_map_where), .flags = KW_WHERE },
	{ SECT_SERVER, "ts002_max_body", conf_parse_uint, conf_dump_uint,
	    S_(ts002_max_body), .min = 1024, .max = 16777216 },
	{ SECT_SERVER, "netid_domain", conf_parse_name, conf_dump_name,
	    S_(netid_domain), .flags = 0 },
	{ SECT_SERVER, "joineui_domain", conf_parse_name, conf_dump_name,
	    S_(joineui_domain), .flags = 0 },
	{ SECT_SERVER, "station_binding", conf_parse_path, conf_dump_path,
	    S_(station_binding), .where_off = S_(station_binding_where),
	    .flags = KW_WHERE },
	{ SECT_SERVER, "stapled_chain", conf_parse_choice, conf_dump_choice,
	    S_(stapled_chain), .choices = stapled_modes },
	{ SECT_SERVER, "dane_chain_type", conf_parse_ext_type, conf_dump_uint,
	    S_(dane_chain_type), .min = 0, .max = 0xffff, .flags = KW_HEX | KW_U16 },
	{ SECT_SERVER, "max_chain_bytes", conf_parse_uint, conf_dump_uint,
	    S_(max_chain_bytes), .min = 512, .max = 65539 },
	{ SECT_SERVER, "stapled_max_age", conf_parse_seconds, conf_dump_uint,
	    S_(stapled_max_age), .min = 0, .max = 31536000 },

	{ SECT_CLIENT, "listen", conf_parse_listen_addr, conf_dump_addr, C_(listen),
	    .flags = KW_REQUIRED },
	{ SECT_CLIENT, "connect", conf_parse_connect, conf_dump_connect, 0,
	    .flags = KW_REQUIRED },
	{ SECT_CLIENT, "server_name", conf_parse_name, conf_dump_name, C_(server_name), .flags = 0 },
	{ SECT_CLIENT, "cert", conf_parse_path, conf_dump_path, C_(cert_file),
	    .where_off = C_(cert_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_CLIENT, "key", conf_parse_path, conf_dump_path, C_(key_file),
	    .where_off = C_(key_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_CLIENT, "client_name", conf_parse_name, conf_dump_name, C_(client_name),
	    .flags = KW_REQUIRED },
	{ SECT_CLIENT, "ca_file", conf_parse_path, conf_dump_path, C_(ca_file),
	    .where_off = C_(ca_where), .flags = KW_WHERE },
	{ SECT_CLIENT, "verify_server", conf_parse_choice, conf_dump_choice,
	    C_(verify_server), .choices = verify_servers },
	{ SECT_CLIENT, "tlsa_name", conf_parse_name, conf_dump_name, C_(tlsa_name), .flags = 0 },
	{ SECT_CLIENT, "alpn", conf_parse_alpn, conf_dump_label, C_(alpn), .flags = 0 },
	{ SECT_CLIENT, "legacy_clientid", conf_parse_bool, conf_dump_bool,
	    C_(legacy_clientid), .flags = 0 },
	{ SECT_CLIENT, "tls_versions", conf_parse_tls_versions, conf_dump_tls_versions,
	    C_(tls_versions), .flags = 0 },
	{ SECT_CLIENT, "dane_clientid_type", conf_parse_ext_type, conf_dump_uint,
	    C_(dane_clientid_type), .min = 0, .max = 0xffff, .flags = KW_HEX | KW_U16 },
	{ SECT_CLIENT, "connect_timeout_ms", conf_parse_uint, conf_dump_uint,
	    C_(connect_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_CLIENT, "max_connections", conf_parse_uint, conf_dump_uint,
	    C_(max_connections), .min = 1, .max = 1000000 },
	{ SECT_CLIENT, "handshake_timeout_ms", conf_parse_uint, conf_dump_uint,
	    C_(handshake_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_CLIENT, "idle_timeout_ms", conf_parse_uint, conf_dump_uint,
	    C_(idle_timeout_ms), .min = 1000, .max = 86400000 },
	{ SECT_CLIENT, "forward", conf_parse_choice, conf_dump_choice, C_(forward),
	    .choices = client_forwards },
	{ SECT_CLIENT, "header_out", conf_parse_token, conf_dump_label, C_(header_out),
	    .flags = 0 },
	{ SECT_CLIENT, "max_request_head", conf_parse_uint, conf_dump_uint,
	    C_(max_request_head), .min = 1024, .max = 1048576 },
	{ SECT_CLIENT, "max_request_headers", conf_parse_uint, conf_dump_uint,
	    C_(max_request_headers), .min = 1, .max = 256 },
	{ SECT_CLIENT, "allow_from", conf_parse_allow_from, conf_dump_allow_from,
	    C_(allow_from), .flags = KW_LIST },
	{ SECT_CLIENT, "upgrade_protocols", conf_parse_token_list, conf_dump_label,
	    C_(upgrade_protocols), .flags = 0 },
	{ SECT_CLIENT, "headers_with_underscores", conf_parse_choice, conf_dump_choice,
	    C_(underscores), .choices = underscore_policies },
	{ SECT_CLIENT, "recheck", conf_parse_choice, conf_dump_choice,
	    C_(recheck), .choices = rechecks },
	{ SECT_CLIENT, "recheck_grace_ms", conf_parse_uint, conf_dump_uint,
	    C_(recheck_grace_ms), .min = 0, .max = 86400000 },
	{ SECT_CLIENT, "self_check", conf_parse_choice, conf_dump_choice,
	    C_(self_check), .choices = self_checks },
	{ SECT_CLIENT, "staple_chain", conf_parse_bool, conf_dump_bool,
	    C_(staple_chain), .flags = 0 },
	{ SECT_CLIENT, "dane_chain_type", conf_parse_ext_type, conf_dump_uint,
	    C_(dane_chain_type), .min = 0, .max = 0xffff, .flags = KW_HEX | KW_U16 },
};

/* Every section's seen[] (conf.c) has N_KEYWORDS entries, one per row. */
_Static_assert(sizeof(conf_keywords) / sizeof(conf_keywords[0]) == N_KEYWORDS,
    "N_KEYWORDS (confkw.h) is not the number of rows of conf_keywords[]");

int
conf_keyword_find(enum sect_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYWORDS; i++)
		if (conf_keywords[i].kind == kind && strcmp(conf_keywords[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- defaults ----------------------------------------------------------- */

struct conf_server *
conf_server_new(struct conf *c, const char *name)
{
	struct conf_server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->name = strdup(name)) == NULL ||
	    (s->san_tlsa_prefix = strdup("")) == NULL ||
	    (s->http_header = strdup("DANE-Client-Identity")) == NULL ||
	    (s->upgrade_protocols = strdup("websocket")) == NULL ||
	    (s->netid_domain = strdup("netids.lora-alliance.org")) == NULL ||
	    (s->joineui_domain = strdup("joineuis.lora-alliance.org")) == NULL) {
		free(s->netid_domain);
		free(s->upgrade_protocols);
		free(s->http_header);
		free(s->san_tlsa_prefix);
		free(s->name);
		free(s);
		return NULL;
	}
	s->where.file = s->cert_where.file = s->key_where.file =
	    s->pkix_ca_where.file = s->ts002_map_where.file =
	    s->station_binding_where.file = c->file;
	s->forward = FORWARD_PROXY_V2;
	s->client_auth = CLIENT_AUTH_REQUIRE;
	s->identity = IDENTITY_EXTENSION;
	s->tls_versions = CONF_TLS13;
	s->dane_clientid_type = CLIENTID_DEFAULT_TYPE;
	s->handshake_timeout_ms = 10000;
	s->idle_timeout_ms = 300000;
	s->connect_timeout_ms = 5000;
	s->max_handshakes = 1024;
	s->max_connections = 10000;
	s->pp2_identity_tlv = 0xe0;
	s->pp2_minimal = 0;
	s->pp2_crc32c = 0;
	s->max_request_head = 16384;
	s->max_request_headers = 100;
	s->upstream_timeout_ms = 30000;
	s->underscores = HTTP1_UNDERSCORES_DROP;
	s->recheck = RECHECK_CLOSE;
	s->recheck_grace_ms = 300000;
	s->ts002_max_body = 65536;
	s->stapled_chain = STAPLED_OFF;
	s->dane_chain_type = CONF_CHAIN_DEFAULT_TYPE;
	s->max_chain_bytes = 16384;
	s->stapled_max_age = 0;
	return s;
}

static void
server_free(struct conf_server *s)
{
	size_t i;

	for (i = 0; i < s->n_allow; i++)
		free(s->allow[i]);
	free(s->allow);
	free(s->name);
	free(s->cert_file);
	free(s->key_file);
	free(s->san_tlsa_prefix);
	free(s->pkix_ca_file);
	free(s->http_header);
	free(s->upgrade_protocols);
	free(s->ts002_map);
	free(s->netid_domain);
	free(s->joineui_domain);
	free(s->station_binding);
	free(s->allow_from.v);
	free(s);
}

struct conf_client *
conf_client_new(struct conf *c, const char *name)
{
	struct conf_client *cl;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	if ((cl->name = strdup(name)) == NULL ||
	    (cl->header_out = strdup("")) == NULL ||
	    (cl->alpn = strdup("")) == NULL ||
	    (cl->upgrade_protocols = strdup("websocket")) == NULL) {
		free(cl->alpn);
		free(cl->header_out);
		free(cl->name);
		free(cl);
		return NULL;
	}
	cl->where.file = cl->cert_where.file = cl->key_where.file =
	    cl->ca_where.file = c->file;
	cl->tls_versions = CONF_TLS13;
	cl->dane_clientid_type = CLIENTID_DEFAULT_TYPE;
	cl->connect_timeout_ms = 5000;
	cl->max_connections = 10000;
	cl->handshake_timeout_ms = 10000;
	cl->idle_timeout_ms = 300000;
	cl->forward = FORWARD_NONE;
	cl->verify_server = VERIFY_DANE;
	cl->max_request_head = 16384;
	cl->max_request_headers = 100;
	cl->underscores = HTTP1_UNDERSCORES_DROP;
	cl->recheck = RECHECK_CLOSE;
	cl->recheck_grace_ms = 300000;
	cl->self_check = SELF_CHECK_WARN;
	cl->dane_chain_type = CONF_CHAIN_DEFAULT_TYPE;
	return cl;
}

static void
client_free(struct conf_client *cl)
{
	free(cl->name);
	free(cl->connect_host);
	free(cl->server_name);
	free(cl->cert_file);
	free(cl->key_file);
	free(cl->client_name);
	free(cl->ca_file);
	free(cl->header_out);
	free(cl->tlsa_name);
	free(cl->alpn);
	free(cl->upgrade_protocols);
	free(cl->allow_from.v);
	free(cl);
}

/* A conf holding the defaults of [global] and [dns], no listeners. */
struct conf *
conf_new(const char *path)
{
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->file = strdup(path)) == NULL ||
	    (c->dns.trust_anchor_file = strdup("/usr/share/dns/root.key")) == NULL) {
		conf_free(c);
		return NULL;
	}
	c->global.log_level = DP_LOG_INFO;
	c->global.log_json = 0;
	c->dns.mode = DNS_MODE_VALIDATE;
	c->dns.allow_remote_resolver = 0;
	c->dns.trust_anchor_where.file = c->file;
	c->dns.timeout_ms = 3000;
	c->dns.cache_max_ttl = 300;
	c->dns.negative_ttl = 30;
	c->dns.max_inflight = 256;
	c->dns.cache_max_entries = 10000;
	c->dns.where.file = c->file;
	if ((c->dns.probe_name = strdup(".")) == NULL) {
		conf_free(c);
		return NULL;
	}
	c->global.workers = 1;
	c->global.drain_timeout_ms = 10000;
	c->global.user_where.file = c->file;
	c->global.admin_where.file = c->file;
	return c;
}

void
conf_free(struct conf *c)
{
	struct conf_server *s, *snext;
	struct conf_client *cl, *clnext;

	if (c == NULL)
		return;
	for (s = c->servers; s != NULL; s = snext) {
		snext = s->next;
		server_free(s);
	}
	for (cl = c->clients; cl != NULL; cl = clnext) {
		clnext = cl->next;
		client_free(cl);
	}
	free(c->dns.trust_anchor_file);
	free(c->dns.probe_name);
	free(c->global.user);
	free(c->file);
	free(c);
}
