/* conf.h — the configuration: INI file → validated structures.
 *
 * conf_load() is pure apart from reading the one file it is given
 * (conf_load_mem() reads a buffer instead): it does not open certificates or
 * keys (tls.c does, and reports against the line numbers kept here). Every error is reported as "FILE:LINE: key: reason". */
#ifndef DP_CONF_H
#define DP_CONF_H

#include <stdint.h>
#include <stdio.h>

#include "util.h"

#define CONF_MAX_RESOLVERS 8
#define CONF_MAX_ALLOW 256
#define CONF_NAME_MAX DP_DNS_NAME_MAX	/* a DNS name, no trailing dot (util.h) */

enum conf_dns_mode { DNS_MODE_VALIDATE, DNS_MODE_RESOLVER_AD };
enum conf_forward { FORWARD_PROXY_V2, FORWARD_PROXY_V1, FORWARD_NONE, FORWARD_HTTP };
enum conf_client_auth { CLIENT_AUTH_REQUIRE, CLIENT_AUTH_OPTIONAL };
enum conf_identity { IDENTITY_EXTENSION, IDENTITY_EXTENSION_OR_SAN };
enum conf_verify_server { VERIFY_DANE, VERIFY_PKIX, VERIFY_DANE_OR_PKIX };
/* What a live connection's re-check does when its peer's TLSA answer no
 * longer authenticates it ("recheck"). */
enum conf_recheck { RECHECK_OFF, RECHECK_LOG, RECHECK_CLOSE };
/* What the client role does when its own record does not match its own
 * key ("self_check"). */
enum conf_self_check { SELF_CHECK_OFF, SELF_CHECK_WARN, SELF_CHECK_NOT_READY };
/* How a TS002 request's SenderID is bound to the authenticated name
 * ("ts002_binding"). */
enum conf_ts002 { TS002_OFF, TS002_MAP, TS002_DNS };
/* What the server role does with a client's stapled DNSSEC chain
 * ("stapled_chain"): ignore it, validate it when sent (else look the name
 * up), or demand it. */
enum conf_stapled { STAPLED_OFF, STAPLED_ACCEPT, STAPLED_REQUIRE };

/* The stapled chain extension's type when none is configured: private use
 * (RFC 8446 §4.2), next to dane_clientid's 0xffdc. */
#define CONF_CHAIN_DEFAULT_TYPE 0xffdd

/* Bits of tls_versions. */
#define CONF_TLS12 0x1
#define CONF_TLS13 0x2

/* Where a key was set: line 0 = not set (default in force). */
struct conf_where {
	const char *file;	/* points into struct conf (conf->file) */
	int line;
};

#define CONF_MAX_WORKERS 64
#define CONF_MAX_LISTENERS 64	/* [server] + [client] sections */

struct conf_global {
	int log_level;			/* DP_LOG_*; "log_level = error|warn|info|debug", default info */
	int log_json;			/* "log_format = text|json", default text */
	unsigned workers;		/* "workers = auto|N": 0 = auto (one per online CPU),
					 * else 1..CONF_MAX_WORKERS; default 1 */
	char *user;			/* "user": drop to this user after binding and reading
					 * keys; NULL = stay who we are */
	struct conf_where user_where;
	struct dp_addr admin;		/* "admin": /metrics, /healthz, /readyz; len 0 = off;
					 * port 0: any */
	struct conf_where admin_where;
	unsigned drain_timeout_ms;	/* "drain_timeout_ms": how long SIGTERM and a reload
					 * let open connections finish, default 10000 */
	int reload_on_change;		/* "reload_on_change": a change of a cert, key or
					 * trust anchor file reloads, default no */
};

struct conf_dns {
	enum conf_dns_mode mode;	/* "mode", default validate */
	size_t n_resolvers;		/* "resolvers": comma/space separated numeric host:port, default none */
	struct dp_addr resolvers[CONF_MAX_RESOLVERS];
	int allow_remote_resolver;	/* "allow_remote_resolver = yes|no", default no: resolver-ad
					 * mode refuses non-loopback resolvers unless yes */
	char *trust_anchor_file;	/* "trust_anchor_file", default /usr/share/dns/root.key */
	struct conf_where trust_anchor_where;
	unsigned timeout_ms;		/* "timeout_ms", default 3000, 100..60000 */
	unsigned cache_max_ttl;		/* "cache_max_ttl", seconds, default 300, 0..86400 (0: no caching) */
	unsigned negative_ttl;		/* "negative_cache_ttl", seconds, default 30, 0..3600 */
	unsigned max_inflight;		/* "max_inflight", default 256, 1..65536 */
	unsigned cache_max_entries;	/* "cache_max_entries", default 10000, 1..10000000 */
	char *probe_name;		/* "probe_name": TLSA owner /readyz looks up to see
					 * that DNS answers; "." = the root (default), NULL
					 * ("none") = no probe */
	struct conf_where where;	/* the [dns] section header */
};

/* "allow_from": the source prefixes a listener accepts connections from,
 * checked at accept before any TLS work; n = 0: every source. */
#define CONF_MAX_ALLOW_FROM 256
struct conf_cidrs {
	struct dp_cidr *v;
	size_t n;
};

struct conf_server {
	char *name;			/* from "[server NAME]" */
	struct conf_where where;	/* the section header */
	struct dp_addr listen;		/* "listen", required; port 0: any */
	char *cert_file;		/* "cert", required */
	struct conf_where cert_where;
	char *key_file;			/* "key", required */
	struct conf_where key_where;
	struct dp_addr upstream;	/* "upstream", required, numeric host:port */
	enum conf_forward forward;	/* "forward", default proxy-v2; also proxy-v1, none, http */
	enum conf_client_auth client_auth; /* "client_auth", default require */
	char **allow;			/* "allow", required: lower-cased patterns, comma/space separated:
					 * "*", "*.suffix" or an exact name */
	size_t n_allow;
	enum conf_identity identity;	/* "identity", default extension */
	char *san_tlsa_prefix;		/* "san_tlsa_prefix", default "" (none); one label, e.g. _lorawan-ns */
	unsigned tls_versions;		/* "tls_versions": "1.3" or "1.2,1.3" (or "1.2"), default CONF_TLS13 */
	uint16_t dane_clientid_type;	/* "dane_clientid_type", default 0xffdc; 0xff01 refused */
	unsigned handshake_timeout_ms;	/* default 10000 */
	unsigned idle_timeout_ms;	/* default 300000 */
	unsigned connect_timeout_ms;	/* "connect_timeout_ms", upstream connect, default 5000 */
	unsigned max_handshakes;	/* "max_handshakes": handshakes in progress at once, default 1024 */
	unsigned max_connections;	/* "max_connections": open connections on this listener,
					 * all workers together, default 10000 */
	char *pkix_ca_file;		/* "pkix_ca_file", default NULL: trust store for PKIX-TA/PKIX-EE TLSA records */
	struct conf_where pkix_ca_where;
	uint8_t pp2_identity_tlv;	/* "proxy_v2_identity_tlv", default 0xE0, 0xE0..0xEF */
	int pp2_minimal;		/* "proxy_v2_tlvs = full|minimal", default full */
	int pp2_crc32c;			/* "proxy_v2_crc32c = yes|no", default no */
	int legacy_clientid;		/* "legacy_clientid": also read a ClientName sent in the
					 * ClientHello (older drafts, TLS 1.2), default no */
	/* forward = http */
	char *http_header;		/* "header", default DANE-Client-Identity: a token */
	int add_client_cert;		/* "add_client_cert", RFC 9440 Client-Cert, default no */
	int add_client_cert_chain;	/* "add_client_cert_chain", default no */
	int add_xff;			/* "add_x_forwarded_for", default no */
	int add_xfp;			/* "add_x_forwarded_proto", default no */
	int add_tlsa_header;		/* "add_tlsa_header": DANE-Client-TLSA, default no */
	unsigned max_request_head;	/* "max_request_head", bytes, default 16384, 1024..1048576 */
	unsigned max_request_headers;	/* "max_request_headers", default 100, 1..256 */
	unsigned upstream_timeout_ms;	/* "upstream_timeout_ms": no response head → 504, default 30000 */
	char *upgrade_protocols;	/* "upgrade_protocols": comma-separated, lower-cased
					 * protocols an Upgrade may ask for, default "websocket" */
	int underscores;		/* "headers_with_underscores": an enum http1_underscores,
					 * default drop */
	struct conf_cidrs allow_from;	/* "allow_from", default: any source */
	int tlsa_wildcard_refuse;	/* "tlsa_wildcard = accept | refuse": refuse a TLSA
					 * RRset synthesised from a wildcard, default accept */
	enum conf_recheck recheck;	/* "recheck": live connections against new TLSA
					 * answers, default close */
	unsigned recheck_grace_ms;	/* "recheck_grace_ms": how long DNS may fail before
					 * recheck applies, default 300000 */
	/* forward = http, LoRaWAN (README "LoRaWAN"): */
	enum conf_ts002 ts002_binding;	/* "ts002_binding", default off */
	char *ts002_map;		/* "ts002_map": SENDER_ID NAME_PATTERN lines */
	struct conf_where ts002_map_where;
	unsigned ts002_max_body;	/* "ts002_max_body", bytes, default 65536 */
	char *netid_domain;		/* "netid_domain", default netids.lora-alliance.org */
	char *joineui_domain;		/* "joineui_domain", default joineuis.lora-alliance.org */
	char *station_binding;		/* "station_binding": a name template holding
					 * {eui}, e.g. eui-{eui}.gw.example.net; NULL off */
	struct conf_where station_binding_where;
	/* Stapled DNSSEC chains (README "Stapled DNSSEC chains"): */
	enum conf_stapled stapled_chain; /* "stapled_chain", default off */
	uint16_t dane_chain_type;	/* "dane_chain_type", default CONF_CHAIN_DEFAULT_TYPE */
	unsigned max_chain_bytes;	/* "max_chain_bytes": the extension's data, default
					 * 16384, 512..65539 */
	unsigned stapled_max_age;	/* "stapled_max_age", seconds: how old the latest
					 * RRSIG inception of a chain may be; 0 (default):
					 * no cap but the RRSIGs' own expiration */
	struct conf_server *next;
};

struct conf_client {
	char *name;			/* from "[client NAME]" */
	struct conf_where where;
	struct dp_addr listen;		/* "listen", required; port 0: any */
	char *connect_host;		/* "connect" = host:port, required; host may be a name */
	uint16_t connect_port;
	char *server_name;		/* "server_name", default: the connect host when it is a name */
	char *cert_file;		/* "cert", required */
	struct conf_where cert_where;
	char *key_file;			/* "key", required */
	struct conf_where key_where;
	char *client_name;		/* "client_name", required, a valid DNS name, lower-cased */
	char *ca_file;			/* "ca_file": PKIX trust store; required for pkix and dane-or-pkix */
	struct conf_where ca_where;
	enum conf_verify_server verify_server;	/* "verify_server": dane (default), pkix, dane-or-pkix */
	char *tlsa_name;		/* "tlsa_name": TLSA owner of the remote, default
					 * _PORT._tcp.SERVER_NAME (RFC 6698 §3) */
	char *alpn;			/* "alpn": comma-separated protocols offered, "" none */
	int legacy_clientid;		/* "legacy_clientid": also send the ClientName in the
					 * ClientHello (older drafts), default no */
	unsigned tls_versions;		/* as for servers, default CONF_TLS13 */
	uint16_t dane_clientid_type;	/* default 0xffdc */
	unsigned connect_timeout_ms;	/* default 5000 */
	unsigned max_connections;	/* as for servers */
	unsigned handshake_timeout_ms;	/* default 10000 */
	unsigned idle_timeout_ms;	/* default 300000 */
	enum conf_forward forward;	/* "forward": none (default) or http */
	char *header_out;		/* "header_out": with forward = http, a header carrying
					 * client_name added to every local request; "" none */
	unsigned max_request_head;	/* as for servers */
	unsigned max_request_headers;
	char *upgrade_protocols;	/* as for servers */
	int underscores;
	struct conf_cidrs allow_from;	/* "allow_from": required when listen is not a
					 * loopback address (the route lends its DANE
					 * identity to whoever connects) */
	enum conf_recheck recheck;	/* as for servers, on the remote server's record */
	unsigned recheck_grace_ms;
	enum conf_self_check self_check; /* "self_check": off, warn (default), not-ready */
	int staple_chain;		/* "staple_chain": build and send the DNSSEC chain
					 * of client_name's TLSA record, default no */
	uint16_t dane_chain_type;	/* as for servers */
	struct conf_client *next;
};

struct conf {
	char *file;			/* the path given to conf_load() */
	struct conf_global global;
	struct conf_dns dns;
	struct conf_server *servers;	/* in file order */
	struct conf_client *clients;	/* in file order */
};

/* Reads and validates the INI file at path. Every problem found is written to
 * errs (if not NULL), one per line, as "FILE:LINE: key: reason" (LINE of the
 * key, or of the section header for a missing key; "FILE:0: reason" when the
 * file cannot be read). Unknown sections and keys, duplicate keys, bad values,
 * missing required keys, duplicate section names and two listeners on one
 * address are errors (port 0, any port, is a different one for each). At least one [server] or [client] section is required.
 * On success *out is a new conf owned by the caller (conf_free) and DP_OK is
 * returned; otherwise *out is NULL and DP_ERR_INVALID (or DP_ERR_NOMEM) is
 * returned. */
int conf_load(const char *path, FILE *errs, struct conf **out);

/* As conf_load, from the len bytes at buf (not NUL-terminated, read only),
 * named name in errors and in conf->file: for tests and the fuzz target. */
int conf_load_mem(const char *name, const char *buf, size_t len, FILE *errs,
    struct conf **out);

/* Frees a conf; accepts NULL. */
void conf_free(struct conf *c);

/* Writes the effective configuration (defaults included) as INI to f. */
void conf_dump(const struct conf *c, FILE *f);

#endif
