/* conf_values.c — a keyword's value as conf.c reads it: one parser per
 * value type (numbers in a range, yes/no, choices, addresses, names,
 * lists), checking the value and storing it in the field its keyword
 * names. conf_dump.c writes the values back. */
#include "confkw.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "clientid.h"
#include "err.h"

/* ---- helpers ------------------------------------------------------------ */

static void *
field_of(const struct keyword *kw, void *obj)
{
	return (char *)obj + kw->off;
}

/* Replaces *field with a copy of s. Returns DP_OK or DP_ERR_NOMEM. */
static int
set_string(char **field, const char *s)
{
	char *copy;

	if ((copy = strdup(s)) == NULL)
		return DP_ERR_NOMEM;
	free(*field);
	*field = copy;
	return DP_OK;
}

/* Removes one trailing dot: "example.net." names the same as "example.net". */
static void
strip_one_dot(char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		s[n - 1] = '\0';
}

int
conf_is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Lists are separated by commas and/or white space. */
#define LIST_SEPARATORS ", \t"

static void
format_range(const struct keyword *kw, char *buf, size_t size)
{
	if (kw->flags & KW_HEX)
		snprintf(buf, size, "0x%llx..0x%llx", (unsigned long long)kw->min,
		    (unsigned long long)kw->max);
	else
		snprintf(buf, size, "%llu..%llu", (unsigned long long)kw->min,
		    (unsigned long long)kw->max);
}

/* Parses a number within kw's range. */
static int
parse_number(const struct keyword *kw, const char *val, uint64_t *out,
    char *why, size_t why_size)
{
	char range[64];
	uint64_t v;

	format_range(kw, range, sizeof(range));
	if (dp_parse_uint(val, 0, UINT64_MAX, &v) != DP_OK) {
		snprintf(why, why_size, "'%s' is not a number (expected %s)",
		    val, range);
		return DP_ERR_INVALID;
	}
	if (v < kw->min || v > kw->max) {
		snprintf(why, why_size, "%s is out of range (%s)", val, range);
		return DP_ERR_INVALID;
	}
	*out = v;
	return DP_OK;
}

/* Checks and normalises a DNS name in place: one trailing dot removed, the
 * ClientName rules (dp_dns_name_check), lower case. */
static int
normalize_name(char *s, char *why, size_t why_size)
{
	strip_one_dot(s);
	if (dp_dns_name_check(s, strlen(s)) != DP_OK) {
		snprintf(why, why_size, "'%s' is not a valid DNS name (letters, "
		    "digits, '-', '_'; labels of 1..63 separated by dots; at most "
		    "%d characters)", s, CONF_NAME_MAX);
		return DP_ERR_INVALID;
	}
	dp_str_lower(s);
	return DP_OK;
}

/* ---- parsers, one per value type ---------------------------------------- */

/* Stores v (within the keyword's range) in a field of the keyword's width. */
static void
store_number(const struct keyword *kw, void *obj, uint64_t v)
{
	void *field = field_of(kw, obj);

	if (kw->flags & KW_U8)
		*(uint8_t *)field = (uint8_t)v;
	else if (kw->flags & KW_U16)
		*(uint16_t *)field = (uint16_t)v;
	else
		*(unsigned *)field = (unsigned)v;
}

int
conf_parse_uint(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	uint64_t v;
	int r;

	if ((r = parse_number(kw, val, &v, why, why_size)) != DP_OK)
		return r;
	store_number(kw, obj, v);
	return DP_OK;
}

/* Seconds, with an optional unit: "90", "90s", "15m", "12h", "7d". The
 * range (kw->min..max) is in seconds. */
int
conf_parse_seconds(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	static const struct { char unit; uint64_t mult; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	size_t len = strlen(val), i;
	uint64_t v, mult = 1;
	char num[32];

	for (i = 0; len > 1 && i < sizeof(units) / sizeof(units[0]); i++)
		if (val[len - 1] == units[i].unit) {
			mult = units[i].mult;
			len--;
			break;
		}
	if (len < sizeof(num)) {
		memcpy(num, val, len);
		num[len] = '\0';
	}
	if (len >= sizeof(num) ||
	    dp_parse_uint(num, 0, UINT64_MAX / 86400, &v) != DP_OK) {
		snprintf(why, why_size, "'%s' is not a duration (seconds, or a "
		    "number with s, m, h or d)", val);
		return DP_ERR_INVALID;
	}
	v *= mult;
	if (v < kw->min || v > kw->max) {
		snprintf(why, why_size, "%s is out of range (%llu..%llu seconds)",
		    val, (unsigned long long)kw->min,
		    (unsigned long long)kw->max);
		return DP_ERR_INVALID;
	}
	store_number(kw, obj, v);
	return DP_OK;
}

/* dane_clientid_type: a 16-bit extension type that OpenSSL does not handle
 * itself; SSL_CTX_add_custom_ext() refuses those (0xff01, renegotiation_info,
 * among them). */
int
conf_parse_ext_type(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	uint64_t v;
	int r;

	if ((r = parse_number(kw, val, &v, why, why_size)) != DP_OK)
		return r;
	if (v == 0xff01 || SSL_extension_supported((unsigned)v)) {
		snprintf(why, why_size, "0x%04x is an extension type OpenSSL "
		    "handles itself (use a private-use type, default 0x%04x)",
		    (unsigned)v, CLIENTID_DEFAULT_TYPE);
		return DP_ERR_INVALID;
	}
	store_number(kw, obj, v);
	return DP_OK;
}

int
conf_parse_bool(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(val, yes[i]) == 0) {
			*(int *)field_of(kw, obj) = 1;
			return DP_OK;
		}
		if (strcasecmp(val, no[i]) == 0) {
			*(int *)field_of(kw, obj) = 0;
			return DP_OK;
		}
	}
	snprintf(why, why_size, "invalid value '%s' (expected yes or no; also "
	    "true/false, on/off, 1/0)", val);
	return DP_ERR_INVALID;
}

int
conf_parse_choice(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	const struct choice *c;
	size_t used;

	for (c = kw->choices; c->text != NULL; c++) {
		if (strcasecmp(val, c->text) == 0) {
			memcpy(field_of(kw, obj), &c->value, sizeof(int));
			return DP_OK;
		}
	}
	used = (size_t)snprintf(why, why_size, "invalid value '%s' (expected ",
	    val);
	for (c = kw->choices; c->text != NULL && used < why_size; c++) {
		const char *sep = c == kw->choices ? "" :
		    c[1].text == NULL ? " or " : ", ";
		used += (size_t)snprintf(why + used, why_size - used, "%s%s",
		    sep, c->text);
	}
	if (used < why_size)
		snprintf(why + used, why_size - used, ")");
	return DP_ERR_INVALID;
}

/* A file name; the file itself is opened by the module that uses it. */
int
conf_parse_path(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	if (*val == '\0') {
		snprintf(why, why_size, "empty value (expected a file name)");
		return DP_ERR_INVALID;
	}
	return set_string(field_of(kw, obj), val);
}

int
conf_parse_addr(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	if (dp_addr_parse(val, field_of(kw, obj)) != DP_OK) {
		snprintf(why, why_size, "'%s' is not a numeric address:port "
		    "(e.g. 127.0.0.1:443 or [::1]:443)", val);
		return DP_ERR_INVALID;
	}
	return DP_OK;
}

/* An address daneproxy listens on (listen, admin): port 0 lets the kernel
 * choose a free port at bind time, which the master then logs; nothing can
 * take that port between choosing and binding it. */
int
conf_parse_listen_addr(const struct keyword *kw, void *obj, char *val,
    char *why, size_t why_size)
{
	if (dp_listen_addr_parse(val, field_of(kw, obj)) != DP_OK) {
		snprintf(why, why_size, "'%s' is not a numeric address:port "
		    "(e.g. 127.0.0.1:443 or [::1]:443)", val);
		return DP_ERR_INVALID;
	}
	return DP_OK;
}

/* [dns] resolvers: numeric addresses, port 53 unless given. Appends. */
int
conf_parse_resolvers(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	struct conf_dns *dns = obj;
	char *tok, *save = NULL;
	char buf[DP_ADDR_STRLEN + 8];

	for (tok = strtok_r(val, LIST_SEPARATORS, &save); tok != NULL;
	    tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		struct dp_addr a;
		int r = dp_addr_parse(tok, &a);

		if (r != DP_OK && conf_is_ip_literal(tok)) {
			snprintf(buf, sizeof(buf), strchr(tok, ':') != NULL ?
			    "[%s]:53" : "%s:53", tok);
			r = dp_addr_parse(buf, &a);
		}
		if (r != DP_OK) {
			snprintf(why, why_size, "'%s' is not a numeric address "
			    "(e.g. 127.0.0.1, 127.0.0.1:5353 or [::1]:53)", tok);
			return DP_ERR_INVALID;
		}
		if (dns->n_resolvers == CONF_MAX_RESOLVERS) {
			snprintf(why, why_size, "more than %d resolvers",
			    CONF_MAX_RESOLVERS);
			return DP_ERR_INVALID;
		}
		dns->resolvers[dns->n_resolvers++] = a;
	}
	return DP_OK;
}

/* [server] allow: "*", "*.suffix" or names, lower-cased. Appends. */
int
conf_parse_allow(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	struct conf_server *s = obj;
	char *tok, *save = NULL, *copy, **grown;

	for (tok = strtok_r(val, LIST_SEPARATORS, &save); tok != NULL;
	    tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		strip_one_dot(tok);
		if (allow_pattern_check(tok) != DP_OK) {
			snprintf(why, why_size, "'%s' is not a valid pattern "
			    "(expected *, *.suffix or a DNS name)", tok);
			return DP_ERR_INVALID;
		}
		if (s->n_allow == CONF_MAX_ALLOW) {
			snprintf(why, why_size, "more than %d patterns",
			    CONF_MAX_ALLOW);
			return DP_ERR_INVALID;
		}
		dp_str_lower(tok);
		if ((copy = strdup(tok)) == NULL)
			return DP_ERR_NOMEM;
		grown = realloc(s->allow, (s->n_allow + 1) * sizeof(*s->allow));
		if (grown == NULL) {
			free(copy);
			return DP_ERR_NOMEM;
		}
		s->allow = grown;
		s->allow[s->n_allow++] = copy;
	}
	return DP_OK;
}

/* allow_from: prefixes (ADDR or ADDR/BITS) separated by commas or spaces.
 * Appends, so continuation lines add to the list. */
int
conf_parse_allow_from(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	struct conf_cidrs *set = field_of(kw, obj);
	struct dp_cidr *grown;
	char *tok, *save = NULL;

	for (tok = strtok_r(val, LIST_SEPARATORS, &save); tok != NULL;
	    tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		if (set->n == CONF_MAX_ALLOW_FROM) {
			snprintf(why, why_size, "more than %d prefixes",
			    CONF_MAX_ALLOW_FROM);
			return DP_ERR_INVALID;
		}
		if ((grown = realloc(set->v, (set->n + 1) * sizeof(*set->v))) == NULL)
			return DP_ERR_NOMEM;
		set->v = grown;
		if (dp_cidr_parse(tok, &set->v[set->n]) != DP_OK) {
			snprintf(why, why_size, "'%s' is not an address or prefix "
			    "with its host bits zero (e.g. 127.0.0.1, 10.1.0.0/16, "
			    "fd00::/8)", tok);
			return DP_ERR_INVALID;
		}
		set->n++;
	}
	return DP_OK;
}

/* tls_versions: "1.2" and/or "1.3", in any order. */
int
conf_parse_tls_versions(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	char *tok, *save = NULL;
	unsigned bits = 0, bit;

	for (tok = strtok_r(val, LIST_SEPARATORS, &save); tok != NULL;
	    tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		if (strcmp(tok, "1.2") == 0)
			bit = CONF_TLS12;
		else if (strcmp(tok, "1.3") == 0)
			bit = CONF_TLS13;
		else {
			snprintf(why, why_size, "invalid version '%s' (expected "
			    "1.3, 1.2,1.3 or 1.2)", tok);
			return DP_ERR_INVALID;
		}
		if (bits & bit) {
			snprintf(why, why_size, "%s listed twice", tok);
			return DP_ERR_INVALID;
		}
		bits |= bit;
	}
	if (bits == 0) {
		snprintf(why, why_size, "empty value (expected 1.3, 1.2,1.3 or 1.2)");
		return DP_ERR_INVALID;
	}
	*(unsigned *)field_of(kw, obj) = bits;
	return DP_OK;
}

/* client_name, server_name: a DNS name. */
int
conf_parse_name(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	int r;

	if ((r = normalize_name(val, why, why_size)) != DP_OK)
		return r;
	return set_string(field_of(kw, obj), val);
}

/* san_tlsa_prefix: empty, or one label starting with '_' or a letter. */
int
conf_parse_label(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	if (*val != '\0' && (strchr(val, '.') != NULL ||
	    dp_dns_name_check(val, strlen(val)) != DP_OK ||
	    !(val[0] == '_' || isalpha((unsigned char)val[0])))) {
		snprintf(why, why_size, "'%s' is not a single label starting "
		    "with '_' or a letter (e.g. _lorawan-ns), nor empty", val);
		return DP_ERR_INVALID;
	}
	dp_str_lower(val);
	return set_string(field_of(kw, obj), val);
}

/* An HTTP field name (RFC 9110 token), or empty where allowed. */
int
conf_parse_token(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	const char *p;

	for (p = val; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL) {
			snprintf(why, why_size, "'%s' is not an HTTP header name "
			    "(letters, digits and !#$%%&'*+-.^_`|~)", val);
			return DP_ERR_INVALID;
		}
	}
	if (*val == '\0' && (kw->flags & KW_REQUIRED_VALUE)) {
		snprintf(why, why_size, "must not be empty");
		return DP_ERR_INVALID;
	}
	return set_string(field_of(kw, obj), val);
}

/* upgrade_protocols: HTTP tokens separated by commas (white space around
 * them allowed), stored lower-cased as "a,b"; empty allows no upgrade. */
int
conf_parse_token_list(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	static const char tchars[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";
	const char *p = val;
	char *out, *w;
	size_t n;
	int r;

	if ((out = malloc(strlen(val) + 1)) == NULL)
		return DP_ERR_NOMEM;
	w = out;
	p += strspn(p, " \t");
	while (*p != '\0') {
		if ((n = strspn(p, tchars)) == 0)
			goto bad;
		if (w != out)
			*w++ = ',';
		memcpy(w, p, n);
		w += n;
		p += n;
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
		p += strspn(p, " \t");
		if (*p == '\0')
			goto bad;	/* a trailing comma */
	}
	*w = '\0';
	dp_str_lower(out);
	r = set_string(field_of(kw, obj), out);
	free(out);
	return r;
bad:
	snprintf(why, why_size, "'%s' is not a comma-separated list of "
	    "protocol names (e.g. websocket)", val);
	free(out);
	return DP_ERR_INVALID;
}

/* alpn: protocol names separated by commas, each 1..255 printable bytes. */
int
conf_parse_alpn(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	const char *p = val, *end;
	size_t n;

	while (*p != '\0') {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		if (n == 0 || n > 255 || memchr(p, ' ', n) != NULL) {
			snprintf(why, why_size, "'%s' is not a comma-separated list "
			    "of protocol names (e.g. h2,http/1.1)", val);
			return DP_ERR_INVALID;
		}
		p += n + (end != NULL);
		if (end != NULL && *p == '\0') {
			snprintf(why, why_size, "'%s' ends with a comma", val);
			return DP_ERR_INVALID;
		}
	}
	return set_string(field_of(kw, obj), val);
}

/* [client] connect: host:port, host a numeric address or a DNS name. */
int
conf_parse_connect(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	struct conf_client *c = obj;
	char host[CONF_NAME_MAX + 2];	/* a trailing dot, NUL */
	const char *last;
	uint16_t port;
	int r;

	r = dp_split_hostport(val, host, sizeof(host), &port);
	if (r == DP_ERR_SPACE) {
		snprintf(why, why_size, "host name longer than %d characters",
		    CONF_NAME_MAX);
		return DP_ERR_INVALID;
	}
	if (r != DP_OK) {
		snprintf(why, why_size, "'%s' is not host:port (e.g. "
		    "js.example.net:443, 192.0.2.1:443 or [2001:db8::1]:443)", val);
		return DP_ERR_INVALID;
	}
	if (val[0] == '[' || conf_is_ip_literal(host)) {
		unsigned char buf[sizeof(struct in6_addr)];

		if (val[0] == '[' && inet_pton(AF_INET6, host, buf) != 1) {
			snprintf(why, why_size, "'%s' is not an IPv6 address",
			    host);
			return DP_ERR_INVALID;
		}
	} else {
		if ((r = normalize_name(host, why, why_size)) != DP_OK)
			return r;
		/* "300.1.2.3" passes the name alphabet but is a bad address. */
		last = strrchr(host, '.');
		last = last != NULL ? last + 1 : host;
		if (strspn(last, "0123456789") == strlen(last)) {
			snprintf(why, why_size, "'%s' is neither an IP address "
			    "nor a host name", host);
			return DP_ERR_INVALID;
		}
	}
	if ((r = set_string(&c->connect_host, host)) != DP_OK)
		return r;
	c->connect_port = port;
	return DP_OK;
}

/* workers: "auto" (0: one per online CPU, decided at start) or a count. */
int
conf_parse_workers(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	if (strcasecmp(val, "auto") == 0) {
		*(unsigned *)field_of(kw, obj) = 0;
		return DP_OK;
	}
	return conf_parse_uint(kw, obj, val, why, why_size);
}

/* user: a login name (POSIX portable filename characters, not starting
 * with '-'); whether it exists is checked when the process starts. */
int
conf_parse_user(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	size_t n = strlen(val);

	if (n == 0 || n > 32 || val[0] == '-' ||
	    strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != n) {
		snprintf(why, why_size, "'%s' is not a user name", val);
		return DP_ERR_INVALID;
	}
	return set_string(field_of(kw, obj), val);
}

/* probe_name: a DNS name, "." for the root, or "none". */
int
conf_parse_probe_name(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	char **field = field_of(kw, obj);
	int r;

	if (strcasecmp(val, "none") == 0) {
		free(*field);
		*field = NULL;
		return DP_OK;
	}
	if (strcmp(val, ".") == 0)
		return set_string(field, ".");
	if ((r = normalize_name(val, why, why_size)) != DP_OK)
		return r;
	return set_string(field, val);
}
