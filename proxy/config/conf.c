/* conf.c — see conf.h.
 *
 * inih splits lines into section, key and value; everything else is ours.
 * Our reader feeds inih one line at a time and counts lines, so when the
 * handler runs, p->line is the line of the key. The reader also recognises
 * section headers itself (inih does not report them, and truncates their
 * names at 49 bytes), lines too long for inih's fixed 200-byte buffer (inih
 * would split them silently and mis-count), and lines that should have
 * reached the handler but did not (syntax errors: inih reports only the
 * first).
 *
 * Every keyword lives in one table, which drives parsing, required-key
 * checks and the dump. Errors are collected, sorted by line and printed at
 * the end, so an operator sees all of them at once. */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>
#include <openssl/ssl.h>

#include "clientid.h"
#include "err.h"
#include "http1.h"
#include "log.h"

#define SECTION_NAME_MAX 64	/* NAME in [server NAME] / [client NAME] */
#define WHY_MAX 512		/* a reason text */
#define NO_SECTION ((size_t)-1)
#define DUMP_WRAP 72		/* dump: start a continuation line past this column */

enum sect_kind { SECT_GLOBAL, SECT_DNS, SECT_SERVER, SECT_CLIENT, SECT_IGNORED };

static const char *const sect_kind_label[] = {
	"[global]", "[dns]", "[server NAME]", "[client NAME]", "?",
};

/* Keyword flags. */
#define KW_REQUIRED 0x1	/* missing → error at the section header */
#define KW_WHERE 0x2	/* record the line in the struct conf_where at where_off */
#define KW_LIST 0x4	/* the value is a list; indented continuation lines append */
#define KW_HEX 0x8	/* numbers: show ranges and dump values in hexadecimal */
#define KW_REQUIRED_VALUE 0x10	/* strings: the value may not be empty */

struct keyword;

/* Parses val (trimmed, writable) into the field of obj that kw names.
 * Returns DP_OK, DP_ERR_INVALID with a reason in why, or DP_ERR_NOMEM. */
typedef int kw_parse_fn(const struct keyword *kw, void *obj, char *val,
    char *why, size_t why_size);
/* Writes the field of obj that kw names as one "key = value" line (or an
 * INI comment when the value is unset). */
typedef void kw_dump_fn(const struct keyword *kw, const void *obj, FILE *f);

struct choice {
	const char *text;
	int value;
};

struct keyword {
	enum sect_kind kind;
	const char *name;
	kw_parse_fn *parse;
	kw_dump_fn *dump;
	size_t off;			/* the field in the section's struct */
	size_t where_off;		/* its struct conf_where, with KW_WHERE */
	uint64_t min, max;		/* numbers */
	const struct choice *choices;	/* NULL-terminated, for parse_choice */
	unsigned flags;
};

/* Enum fields are read and written as int through memcpy. */
_Static_assert(sizeof(enum conf_dns_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_forward) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_client_auth) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_identity) == sizeof(int), "enum size");

/* ---- helpers ------------------------------------------------------------ */

static void *
field_of(const struct keyword *kw, void *obj)
{
	return (char *)obj + kw->off;
}

static const void *
cfield_of(const struct keyword *kw, const void *obj)
{
	return (const char *)obj + kw->off;
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

static int
is_ip_literal(const char *s)
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

/* ---- parsers and dumpers, one pair per value type ------------------------ */

static int
parse_uint(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	uint64_t v;
	int r;

	if ((r = parse_number(kw, val, &v, why, why_size)) != DP_OK)
		return r;
	*(unsigned *)field_of(kw, obj) = (unsigned)v;
	return DP_OK;
}

static void
dump_uint(const struct keyword *kw, const void *obj, FILE *f)
{
	fprintf(f, "%s = %u\n", kw->name, *(const unsigned *)cfield_of(kw, obj));
}

static int
parse_u8(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	uint64_t v;
	int r;

	if ((r = parse_number(kw, val, &v, why, why_size)) != DP_OK)
		return r;
	*(uint8_t *)field_of(kw, obj) = (uint8_t)v;
	return DP_OK;
}

static void
dump_u8(const struct keyword *kw, const void *obj, FILE *f)
{
	fprintf(f, "%s = 0x%02x\n", kw->name,
	    (unsigned)*(const uint8_t *)cfield_of(kw, obj));
}

/* dane_clientid_type: a 16-bit extension type that OpenSSL does not handle
 * itself; SSL_CTX_add_custom_ext() refuses those (0xff01, renegotiation_info,
 * among them). */
static int
parse_ext_type(const struct keyword *kw, void *obj, char *val, char *why,
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
	*(uint16_t *)field_of(kw, obj) = (uint16_t)v;
	return DP_OK;
}

static void
dump_u16(const struct keyword *kw, const void *obj, FILE *f)
{
	fprintf(f, "%s = 0x%04x\n", kw->name,
	    (unsigned)*(const uint16_t *)cfield_of(kw, obj));
}

static int
parse_bool(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_bool(const struct keyword *kw, const void *obj, FILE *f)
{
	fprintf(f, "%s = %s\n", kw->name,
	    *(const int *)cfield_of(kw, obj) ? "yes" : "no");
}

static int
parse_choice(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_choice(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct choice *c;
	int v;

	memcpy(&v, cfield_of(kw, obj), sizeof(int));
	for (c = kw->choices; c->text != NULL; c++)
		if (c->value == v)
			break;
	fprintf(f, "%s = %s\n", kw->name, c->text != NULL ? c->text : "?");
}

/* A file name; the file itself is opened by the module that uses it. */
static int
parse_path(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	if (*val == '\0') {
		snprintf(why, why_size, "empty value (expected a file name)");
		return DP_ERR_INVALID;
	}
	return set_string(field_of(kw, obj), val);
}

static void
dump_path(const struct keyword *kw, const void *obj, FILE *f)
{
	const char *s = *(char *const *)cfield_of(kw, obj);

	if (s == NULL)
		fprintf(f, "; %s: not set\n", kw->name);
	else
		fprintf(f, "%s = %s\n", kw->name, s);
}

static int
parse_addr(const struct keyword *kw, void *obj, char *val, char *why,
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
static int
parse_listen_addr(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	if (dp_listen_addr_parse(val, field_of(kw, obj)) != DP_OK) {
		snprintf(why, why_size, "'%s' is not a numeric address:port "
		    "(e.g. 127.0.0.1:443 or [::1]:443)", val);
		return DP_ERR_INVALID;
	}
	return DP_OK;
}

static void
dump_addr(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct dp_addr *a = cfield_of(kw, obj);
	char buf[DP_ADDR_STRLEN];

	fprintf(f, "%s = %s\n", kw->name,
	    dp_addr_str((const struct sockaddr *)&a->ss, buf, sizeof(buf)));
}

/* Writes list items, starting an indented continuation line (which inih
 * appends to the same key) whenever a line grows long, so no dumped line
 * exceeds what conf_load accepts. */
struct list_writer {
	FILE *f;
	size_t col;
	int first;
};

static void
list_begin(struct list_writer *w, FILE *f, const char *name)
{
	w->f = f;
	w->first = 1;
	w->col = (size_t)fprintf(f, "%s =", name);
}

static void
list_item(struct list_writer *w, const char *item)
{
	if (!w->first && w->col + strlen(item) + 2 > DUMP_WRAP) {
		fprintf(w->f, ",\n");
		w->col = (size_t)fprintf(w->f, "\t%s", item);
	} else {
		w->col += (size_t)fprintf(w->f, "%s %s", w->first ? "" : ",",
		    item);
	}
	w->first = 0;
}

static void
list_end(struct list_writer *w)
{
	fprintf(w->f, "\n");
}

/* [dns] resolvers: numeric addresses, port 53 unless given. Appends. */
static int
parse_resolvers(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	struct conf_dns *dns = obj;
	char *tok, *save = NULL;
	char buf[DP_ADDR_STRLEN + 8];

	for (tok = strtok_r(val, LIST_SEPARATORS, &save); tok != NULL;
	    tok = strtok_r(NULL, LIST_SEPARATORS, &save)) {
		struct dp_addr a;
		int r = dp_addr_parse(tok, &a);

		if (r != DP_OK && is_ip_literal(tok)) {
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

static void
dump_resolvers(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct conf_dns *dns = obj;
	struct list_writer w;
	char buf[DP_ADDR_STRLEN];
	size_t i;

	if (dns->n_resolvers == 0) {
		fprintf(f, "; %s: none\n", kw->name);
		return;
	}
	list_begin(&w, f, kw->name);
	for (i = 0; i < dns->n_resolvers; i++)
		list_item(&w, dp_addr_str((const struct sockaddr *)
		    &dns->resolvers[i].ss, buf, sizeof(buf)));
	list_end(&w);
}

/* [server] allow: "*", "*.suffix" or names, lower-cased. Appends. */
static int
parse_allow(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_allow(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct conf_server *s = obj;
	struct list_writer w;
	size_t i;

	list_begin(&w, f, kw->name);
	for (i = 0; i < s->n_allow; i++)
		list_item(&w, s->allow[i]);
	list_end(&w);
}

/* allow_from: prefixes (ADDR or ADDR/BITS) separated by commas or spaces.
 * Appends, so continuation lines add to the list. */
static int
parse_allow_from(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_allow_from(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct conf_cidrs *set = cfield_of(kw, obj);
	struct list_writer w;
	char buf[DP_ADDR_STRLEN];
	size_t i;

	if (set->n == 0) {
		fprintf(f, "; %s: any source\n", kw->name);
		return;
	}
	list_begin(&w, f, kw->name);
	for (i = 0; i < set->n; i++)
		list_item(&w, dp_cidr_str(&set->v[i], buf, sizeof(buf)));
	list_end(&w);
}

/* tls_versions: "1.2" and/or "1.3", in any order. */
static int
parse_tls_versions(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_tls_versions(const struct keyword *kw, const void *obj, FILE *f)
{
	unsigned bits = *(const unsigned *)cfield_of(kw, obj);

	fprintf(f, "%s = %s\n", kw->name, bits == (CONF_TLS12 | CONF_TLS13) ?
	    "1.2,1.3" : bits == CONF_TLS12 ? "1.2" : "1.3");
}

/* client_name, server_name: a DNS name. */
static int
parse_name(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	int r;

	if ((r = normalize_name(val, why, why_size)) != DP_OK)
		return r;
	return set_string(field_of(kw, obj), val);
}

static void
dump_name(const struct keyword *kw, const void *obj, FILE *f)
{
	fprintf(f, "%s = %s\n", kw->name, *(char *const *)cfield_of(kw, obj));
}

/* san_tlsa_prefix: empty, or one label starting with '_' or a letter. */
static int
parse_label(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_label(const struct keyword *kw, const void *obj, FILE *f)
{
	const char *s = *(char *const *)cfield_of(kw, obj);

	if (*s == '\0')
		fprintf(f, "%s =\n", kw->name);
	else
		fprintf(f, "%s = %s\n", kw->name, s);
}

/* An HTTP field name (RFC 9110 token), or empty where allowed. */
static int
parse_token(const struct keyword *kw, void *obj, char *val, char *why,
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
static int
parse_token_list(const struct keyword *kw, void *obj, char *val, char *why,
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
static int
parse_alpn(const struct keyword *kw, void *obj, char *val, char *why,
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
static int
parse_connect(const struct keyword *kw, void *obj, char *val, char *why,
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
	if (val[0] == '[' || is_ip_literal(host)) {
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

static void
dump_connect(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct conf_client *c = obj;

	fprintf(f, strchr(c->connect_host, ':') != NULL ? "%s = [%s]:%u\n" :
	    "%s = %s:%u\n", kw->name, c->connect_host, (unsigned)c->connect_port);
}

/* workers: "auto" (0: one per online CPU, decided at start) or a count. */
static int
parse_workers(const struct keyword *kw, void *obj, char *val, char *why,
    size_t why_size)
{
	if (strcasecmp(val, "auto") == 0) {
		*(unsigned *)field_of(kw, obj) = 0;
		return DP_OK;
	}
	return parse_uint(kw, obj, val, why, why_size);
}

static void
dump_workers(const struct keyword *kw, const void *obj, FILE *f)
{
	unsigned n = *(const unsigned *)cfield_of(kw, obj);

	if (n == 0)
		fprintf(f, "%s = auto\n", kw->name);
	else
		fprintf(f, "%s = %u\n", kw->name, n);
}

/* user: a login name (POSIX portable filename characters, not starting
 * with '-'); whether it exists is checked when the process starts. */
static int
parse_user(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_opt_addr(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct dp_addr *a = cfield_of(kw, obj);

	if (a->len == 0)
		fprintf(f, "; %s: not set\n", kw->name);
	else
		dump_addr(kw, obj, f);
}

/* probe_name: a DNS name, "." for the root, or "none". */
static int
parse_probe_name(const struct keyword *kw, void *obj, char *val, char *why,
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

static void
dump_probe_name(const struct keyword *kw, const void *obj, FILE *f)
{
	const char *s = *(char *const *)cfield_of(kw, obj);

	fprintf(f, "%s = %s\n", kw->name, s == NULL ? "none" : s);
}

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
static const struct choice pp2_tlv_sets[] = {
	{ "full", 0 }, { "minimal", 1 }, { NULL, 0 },
};

#define G_(f) offsetof(struct conf_global, f)
#define D_(f) offsetof(struct conf_dns, f)
#define S_(f) offsetof(struct conf_server, f)
#define C_(f) offsetof(struct conf_client, f)

/* In dump order. Defaults are set by conf_new(), server_new(), client_new(). */
static const struct keyword keywords[] = {
	{ SECT_GLOBAL, "log_level", parse_choice, dump_choice, G_(log_level),
	    .choices = log_levels },
	{ SECT_GLOBAL, "log_format", parse_choice, dump_choice, G_(log_json),
	    .choices = log_formats },
	{ SECT_GLOBAL, "workers", parse_workers, dump_workers, G_(workers),
	    .min = 1, .max = CONF_MAX_WORKERS },
	{ SECT_GLOBAL, "user", parse_user, dump_path, G_(user),
	    .where_off = G_(user_where), .flags = KW_WHERE },
	{ SECT_GLOBAL, "admin", parse_listen_addr, dump_opt_addr, G_(admin),
	    .where_off = G_(admin_where), .flags = KW_WHERE },
	{ SECT_GLOBAL, "drain_timeout_ms", parse_uint, dump_uint,
	    G_(drain_timeout_ms), .min = 0, .max = 3600000 },

	{ SECT_DNS, "mode", parse_choice, dump_choice, D_(mode),
	    .choices = dns_modes },
	{ SECT_DNS, "resolvers", parse_resolvers, dump_resolvers, 0,
	    .flags = KW_LIST },
	{ SECT_DNS, "allow_remote_resolver", parse_bool, dump_bool,
	    D_(allow_remote_resolver), .flags = 0 },
	{ SECT_DNS, "trust_anchor_file", parse_path, dump_path,
	    D_(trust_anchor_file), .where_off = D_(trust_anchor_where),
	    .flags = KW_WHERE },
	{ SECT_DNS, "timeout_ms", parse_uint, dump_uint, D_(timeout_ms),
	    .min = 100, .max = 60000 },
	{ SECT_DNS, "cache_max_ttl", parse_uint, dump_uint, D_(cache_max_ttl),
	    .min = 0, .max = 86400 },
	{ SECT_DNS, "negative_cache_ttl", parse_uint, dump_uint, D_(negative_ttl),
	    .min = 0, .max = 3600 },
	{ SECT_DNS, "max_inflight", parse_uint, dump_uint, D_(max_inflight),
	    .min = 1, .max = 65536 },
	{ SECT_DNS, "cache_max_entries", parse_uint, dump_uint,
	    D_(cache_max_entries), .min = 1, .max = 10000000 },
	{ SECT_DNS, "probe_name", parse_probe_name, dump_probe_name,
	    D_(probe_name), .flags = 0 },

	{ SECT_SERVER, "listen", parse_listen_addr, dump_addr, S_(listen),
	    .flags = KW_REQUIRED },
	{ SECT_SERVER, "cert", parse_path, dump_path, S_(cert_file),
	    .where_off = S_(cert_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_SERVER, "key", parse_path, dump_path, S_(key_file),
	    .where_off = S_(key_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_SERVER, "upstream", parse_addr, dump_addr, S_(upstream),
	    .flags = KW_REQUIRED },
	{ SECT_SERVER, "forward", parse_choice, dump_choice, S_(forward),
	    .choices = forwards },
	{ SECT_SERVER, "client_auth", parse_choice, dump_choice, S_(client_auth),
	    .choices = client_auths },
	{ SECT_SERVER, "allow", parse_allow, dump_allow, 0,
	    .flags = KW_REQUIRED | KW_LIST },
	{ SECT_SERVER, "identity", parse_choice, dump_choice, S_(identity),
	    .choices = identities },
	{ SECT_SERVER, "tlsa_wildcard", parse_choice, dump_choice,
	    S_(tlsa_wildcard_refuse), .choices = wildcard_policies },
	{ SECT_SERVER, "san_tlsa_prefix", parse_label, dump_label,
	    S_(san_tlsa_prefix), .flags = 0 },
	{ SECT_SERVER, "tls_versions", parse_tls_versions, dump_tls_versions,
	    S_(tls_versions), .flags = 0 },
	{ SECT_SERVER, "dane_clientid_type", parse_ext_type, dump_u16,
	    S_(dane_clientid_type), .min = 0, .max = 0xffff, .flags = KW_HEX },
	{ SECT_SERVER, "handshake_timeout_ms", parse_uint, dump_uint,
	    S_(handshake_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_SERVER, "idle_timeout_ms", parse_uint, dump_uint,
	    S_(idle_timeout_ms), .min = 1000, .max = 86400000 },
	{ SECT_SERVER, "connect_timeout_ms", parse_uint, dump_uint,
	    S_(connect_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_SERVER, "max_handshakes", parse_uint, dump_uint,
	    S_(max_handshakes), .min = 1, .max = 1000000 },
	{ SECT_SERVER, "max_connections", parse_uint, dump_uint,
	    S_(max_connections), .min = 1, .max = 1000000 },
	{ SECT_SERVER, "pkix_ca_file", parse_path, dump_path, S_(pkix_ca_file),
	    .where_off = S_(pkix_ca_where), .flags = KW_WHERE },
	{ SECT_SERVER, "proxy_v2_identity_tlv", parse_u8, dump_u8,
	    S_(pp2_identity_tlv), .min = 0xe0, .max = 0xef, .flags = KW_HEX },
	{ SECT_SERVER, "proxy_v2_tlvs", parse_choice, dump_choice,
	    S_(pp2_minimal), .choices = pp2_tlv_sets },
	{ SECT_SERVER, "proxy_v2_crc32c", parse_bool, dump_bool, S_(pp2_crc32c), .flags = 0 },
	{ SECT_SERVER, "legacy_clientid", parse_bool, dump_bool,
	    S_(legacy_clientid), .flags = 0 },
	{ SECT_SERVER, "header", parse_token, dump_label, S_(http_header),
	    .flags = KW_REQUIRED_VALUE },
	{ SECT_SERVER, "add_client_cert", parse_bool, dump_bool,
	    S_(add_client_cert), .flags = 0 },
	{ SECT_SERVER, "add_client_cert_chain", parse_bool, dump_bool,
	    S_(add_client_cert_chain), .flags = 0 },
	{ SECT_SERVER, "add_x_forwarded_for", parse_bool, dump_bool, S_(add_xff),
	    .flags = 0 },
	{ SECT_SERVER, "add_x_forwarded_proto", parse_bool, dump_bool, S_(add_xfp),
	    .flags = 0 },
	{ SECT_SERVER, "add_tlsa_header", parse_bool, dump_bool,
	    S_(add_tlsa_header), .flags = 0 },
	{ SECT_SERVER, "max_request_head", parse_uint, dump_uint,
	    S_(max_request_head), .min = 1024, .max = 1048576 },
	{ SECT_SERVER, "max_request_headers", parse_uint, dump_uint,
	    S_(max_request_headers), .min = 1, .max = 256 },
	{ SECT_SERVER, "upstream_timeout_ms", parse_uint, dump_uint,
	    S_(upstream_timeout_ms), .min = 100, .max = 3600000 },
	{ SECT_SERVER, "allow_from", parse_allow_from, dump_allow_from,
	    S_(allow_from), .flags = KW_LIST },
	{ SECT_SERVER, "upgrade_protocols", parse_token_list, dump_label,
	    S_(upgrade_protocols), .flags = 0 },
	{ SECT_SERVER, "headers_with_underscores", parse_choice, dump_choice,
	    S_(underscores), .choices = underscore_policies },

	{ SECT_CLIENT, "listen", parse_listen_addr, dump_addr, C_(listen),
	    .flags = KW_REQUIRED },
	{ SECT_CLIENT, "connect", parse_connect, dump_connect, 0,
	    .flags = KW_REQUIRED },
	{ SECT_CLIENT, "server_name", parse_name, dump_name, C_(server_name), .flags = 0 },
	{ SECT_CLIENT, "cert", parse_path, dump_path, C_(cert_file),
	    .where_off = C_(cert_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_CLIENT, "key", parse_path, dump_path, C_(key_file),
	    .where_off = C_(key_where), .flags = KW_REQUIRED | KW_WHERE },
	{ SECT_CLIENT, "client_name", parse_name, dump_name, C_(client_name),
	    .flags = KW_REQUIRED },
	{ SECT_CLIENT, "ca_file", parse_path, dump_path, C_(ca_file),
	    .where_off = C_(ca_where), .flags = KW_WHERE },
	{ SECT_CLIENT, "verify_server", parse_choice, dump_choice,
	    C_(verify_server), .choices = verify_servers },
	{ SECT_CLIENT, "tlsa_name", parse_name, dump_name, C_(tlsa_name), .flags = 0 },
	{ SECT_CLIENT, "alpn", parse_alpn, dump_label, C_(alpn), .flags = 0 },
	{ SECT_CLIENT, "legacy_clientid", parse_bool, dump_bool,
	    C_(legacy_clientid), .flags = 0 },
	{ SECT_CLIENT, "tls_versions", parse_tls_versions, dump_tls_versions,
	    C_(tls_versions), .flags = 0 },
	{ SECT_CLIENT, "dane_clientid_type", parse_ext_type, dump_u16,
	    C_(dane_clientid_type), .min = 0, .max = 0xffff, .flags = KW_HEX },
	{ SECT_CLIENT, "connect_timeout_ms", parse_uint, dump_uint,
	    C_(connect_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_CLIENT, "max_connections", parse_uint, dump_uint,
	    C_(max_connections), .min = 1, .max = 1000000 },
	{ SECT_CLIENT, "handshake_timeout_ms", parse_uint, dump_uint,
	    C_(handshake_timeout_ms), .min = 100, .max = 600000 },
	{ SECT_CLIENT, "idle_timeout_ms", parse_uint, dump_uint,
	    C_(idle_timeout_ms), .min = 1000, .max = 86400000 },
	{ SECT_CLIENT, "forward", parse_choice, dump_choice, C_(forward),
	    .choices = client_forwards },
	{ SECT_CLIENT, "header_out", parse_token, dump_label, C_(header_out),
	    .flags = 0 },
	{ SECT_CLIENT, "max_request_head", parse_uint, dump_uint,
	    C_(max_request_head), .min = 1024, .max = 1048576 },
	{ SECT_CLIENT, "max_request_headers", parse_uint, dump_uint,
	    C_(max_request_headers), .min = 1, .max = 256 },
	{ SECT_CLIENT, "allow_from", parse_allow_from, dump_allow_from,
	    C_(allow_from), .flags = KW_LIST },
	{ SECT_CLIENT, "upgrade_protocols", parse_token_list, dump_label,
	    C_(upgrade_protocols), .flags = 0 },
	{ SECT_CLIENT, "headers_with_underscores", parse_choice, dump_choice,
	    C_(underscores), .choices = underscore_policies },
};

#define N_KEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

static int
keyword_find(enum sect_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYWORDS; i++)
		if (keywords[i].kind == kind && strcmp(keywords[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- parse state ---------------------------------------------------------- */

/* What the reader made of the current line, mirroring inih's own decision. */
enum line_kind {
	LINE_NONE,		/* nothing for the handler */
	LINE_KEY,		/* "key = value": the handler must be called */
	LINE_CONTINUATION,	/* indented line after a key: likewise */
};

struct section {
	enum sect_kind kind;	/* SECT_IGNORED: bad or duplicate header */
	char *label;		/* "[server js]", for messages */
	int line;		/* of the header */
	void *obj;		/* &conf->global, &conf->dns, a server or a client */
	int seen[N_KEYWORDS];	/* line where each keyword was set, 0 if not */
};

struct conf_error {
	int line;
	size_t seq;		/* keeps messages of one line in order */
	char *msg;
};

struct parser {
	struct conf *conf;
	FILE *fp;
	int line;		/* lines read so far: the current line */
	enum line_kind kind;
	int handled;		/* the handler ran for the current line */
	int prev_key;		/* inih will treat an indented line as continuation */
	const struct keyword *prev_kw;	/* the key being continued, NULL if it failed */
	size_t cur;		/* index in sects, NO_SECTION before the first header */
	struct section *sects;
	size_t n_sects;
	struct conf_server **server_tail;
	struct conf_client **client_tail;
	struct conf_error *errs;
	size_t n_errs;
	int nomem;
};

/* Records an error message for line. */
__attribute__((format(printf, 3, 4)))
static void
perr(struct parser *p, int line, const char *fmt, ...)
{
	struct conf_error *grown;
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (msg = malloc((size_t)n + 1)) == NULL) {
		p->nomem = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	grown = realloc(p->errs, (p->n_errs + 1) * sizeof(*p->errs));
	if (grown == NULL) {
		free(msg);
		p->nomem = 1;
		return;
	}
	p->errs = grown;
	p->errs[p->n_errs].line = line;
	p->errs[p->n_errs].seq = p->n_errs;
	p->errs[p->n_errs].msg = msg;
	p->n_errs++;
}

static int
error_cmp(const void *a, const void *b)
{
	const struct conf_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct conf_server *
server_new(struct conf *c, const char *name)
{
	struct conf_server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->name = strdup(name)) == NULL ||
	    (s->san_tlsa_prefix = strdup("")) == NULL ||
	    (s->http_header = strdup("DANE-Client-Identity")) == NULL ||
	    (s->upgrade_protocols = strdup("websocket")) == NULL) {
		free(s->http_header);
		free(s->san_tlsa_prefix);
		free(s->name);
		free(s);
		return NULL;
	}
	s->where.file = s->cert_where.file = s->key_where.file =
	    s->pkix_ca_where.file = c->file;
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
	free(s->allow_from.v);
	free(s);
}

static struct conf_client *
client_new(struct conf *c, const char *name)
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
static struct conf *
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

/* ---- sections ----------------------------------------------------------- */

static int
section_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= SECTION_NAME_MAX && strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* Returns the earlier section of this kind and name, or NULL. */
static const struct section *
section_find(const struct parser *p, enum sect_kind kind, const char *label)
{
	size_t i;

	for (i = 0; i < p->n_sects; i++)
		if (p->sects[i].kind == kind && strcmp(p->sects[i].label, label) == 0)
			return &p->sects[i];
	return NULL;
}

/* Appends a section that is ignored until section_open() accepts it, and
 * makes it current. Returns it, or NULL when out of memory. */
static struct section *
section_push(struct parser *p)
{
	struct section *grown, *s;

	grown = realloc(p->sects, (p->n_sects + 1) * sizeof(*p->sects));
	if (grown == NULL) {
		p->nomem = 1;
		return NULL;
	}
	p->sects = grown;
	s = &p->sects[p->n_sects];
	memset(s, 0, sizeof(*s));
	s->kind = SECT_IGNORED;
	s->line = p->line;
	p->cur = p->n_sects++;
	p->prev_kw = NULL;
	return s;
}

/* Opens the section whose header text (between the brackets) is text. */
static void
section_open(struct parser *p, char *text)
{
	struct section *s;
	const struct section *dup;
	enum sect_kind kind = SECT_IGNORED;
	char *type, *name, label[2 * SECTION_NAME_MAX + 8];
	size_t n;

	if ((s = section_push(p)) == NULL)
		return;
	p->prev_key = 0;	/* as inih forgets the previous key */

	type = dp_str_trim(text);
	n = strcspn(type, " \t");
	name = dp_str_trim(type + n);
	type[n] = '\0';
	if (*name != '\0')
		snprintf(label, sizeof(label), "[%s %s]", type, name);
	else
		snprintf(label, sizeof(label), "[%s]", type);
	if ((s->label = strdup(label)) == NULL) {
		p->nomem = 1;
		return;
	}

	if (strcmp(type, "global") == 0)
		kind = SECT_GLOBAL;
	else if (strcmp(type, "dns") == 0)
		kind = SECT_DNS;
	else if (strcmp(type, "server") == 0)
		kind = SECT_SERVER;
	else if (strcmp(type, "client") == 0)
		kind = SECT_CLIENT;
	else {
		perr(p, p->line, "%s: unknown section (expected [global], [dns], "
		    "[server NAME] or [client NAME])", label);
		return;
	}
	if ((kind == SECT_GLOBAL || kind == SECT_DNS) && *name != '\0') {
		perr(p, p->line, "%s: [%s] takes no name", label, type);
		return;
	}
	if ((kind == SECT_SERVER || kind == SECT_CLIENT) && !section_name_ok(name)) {
		perr(p, p->line, "%s: section needs a name of 1..%d letters, "
		    "digits, '-', '_' or '.', e.g. [%s js]", label,
		    SECTION_NAME_MAX, type);
		return;
	}
	if ((dup = section_find(p, kind, label)) != NULL) {
		perr(p, p->line, "%s: duplicate section (first at line %d)",
		    label, dup->line);
		return;
	}

	switch (kind) {
	case SECT_GLOBAL:
		s->obj = &p->conf->global;
		break;
	case SECT_DNS:
		s->obj = &p->conf->dns;
		p->conf->dns.where.line = p->line;
		break;
	case SECT_SERVER: {
		struct conf_server *srv = server_new(p->conf, name);

		if (srv == NULL) {
			p->nomem = 1;
			return;
		}
		srv->where.line = p->line;
		*p->server_tail = srv;
		p->server_tail = &srv->next;
		s->obj = srv;
		break;
	}
	case SECT_CLIENT: {
		struct conf_client *cl = client_new(p->conf, name);

		if (cl == NULL) {
			p->nomem = 1;
			return;
		}
		cl->where.line = p->line;
		*p->client_tail = cl;
		p->client_tail = &cl->next;
		s->obj = cl;
		break;
	}
	case SECT_IGNORED:
		break;
	}
	s->kind = kind;
}

/* ---- the reader: one line per call, as inih sees it ----------------------- */

/* Called before each line and after the last: a line that should have
 * reached the handler and did not is one inih refused. */
static void
line_done(struct parser *p)
{
	if (p->kind != LINE_NONE && !p->handled)
		perr(p, p->line, "syntax error (expected 'key = value' or "
		    "'[section]')");
	p->kind = LINE_NONE;
	p->handled = 0;
}

/* Decides what inih will do with the line, in inih's own order (ini.c,
 * ini_parse_stream): comment, continuation, section header, key. */
static void
line_classify(struct parser *p, char *line)
{
	char *start = line, *end, *text;
	int was_space = 0;

	if (p->line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	while (isspace((unsigned char)*start))
		start++;
	if (*start == '\0' || *start == ';' || *start == '#')
		return;
	if (p->prev_key && start > line) {
		p->kind = LINE_CONTINUATION;
		return;
	}
	if (*start != '[') {
		p->kind = LINE_KEY;
		return;
	}
	/* inih takes the header up to ']', or up to an inline comment. */
	for (end = start + 1; *end != '\0' && *end != ']' &&
	    !(was_space && *end == ';'); end++)
		was_space = isspace((unsigned char)*end);
	if (*end != ']') {
		/* inih keeps the previous section: ignore keys until the next
		 * good header, rather than filing them under the wrong one. */
		perr(p, p->line, "%.*s: section header lacks ']'",
		    (int)strcspn(start, "\r\n"), start);
		section_push(p);
		return;
	}
	for (text = end + 1; isspace((unsigned char)*text); text++)
		;
	if (*text != '\0' && *text != ';' && *text != '#')
		perr(p, p->line, "%.*s: unexpected text after ']'",
		    (int)(end + 1 - start), start);
	if ((text = strndup(start + 1, (size_t)(end - start - 1))) == NULL) {
		p->nomem = 1;
		return;
	}
	section_open(p, text);
	free(text);
}

/* inih's ini_reader: fills str (num bytes) with the next line. A longer line
 * is reported and skipped whole, so inih never sees a split line and line
 * numbers stay exact. */
static char *
conf_reader(char *str, int num, void *stream)
{
	struct parser *p = stream;
	int c, n = 0, too_long = 0, nul = 0;

	line_done(p);
	if (num < 2)
		return NULL;
	while ((c = getc(p->fp)) != EOF && c != '\n') {
		if (c == '\0')
			nul = 1;
		if (n < num - 1)
			str[n++] = (char)c;
		else
			too_long = 1;
	}
	if (c == EOF && n == 0 && !too_long)
		return NULL;
	str[n] = '\0';
	p->line++;
	if (too_long || nul) {
		if (too_long)
			perr(p, p->line, "line too long (at most %d characters; "
			    "split lists over indented continuation lines)",
			    num - 1);
		else
			perr(p, p->line, "NUL byte in line");
		str[0] = '\0';
		return str;
	}
	line_classify(p, str);
	return str;
}

/* ---- the handler -------------------------------------------------------- */

/* Names the sections where a key misplaced in kind would be valid. */
static void
key_hint(enum sect_kind kind, const char *name, char *buf, size_t size)
{
	size_t i, used = 0;
	int last = -1;

	buf[0] = '\0';
	for (i = 0; i < N_KEYWORDS && used < size; i++) {
		if (keywords[i].kind == kind || (int)keywords[i].kind == last ||
		    strcmp(keywords[i].name, name) != 0)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    last < 0 ? " (it belongs in " : " or ",
		    sect_kind_label[keywords[i].kind]);
		last = (int)keywords[i].kind;
	}
	if (last >= 0 && used < size)
		snprintf(buf + used, size - used, ")");
}

static int
on_key(struct parser *p, const char *name, const char *value)
{
	const struct keyword *kw;
	struct section *s;
	char why[WHY_MAX], *val = NULL;
	int i, r, continuation = p->kind == LINE_CONTINUATION;

	p->handled = 1;
	if (p->nomem)
		return DP_ERR_NOMEM;
	if (continuation) {
		/* Nothing to add to a key that failed: reported already. */
		if ((kw = p->prev_kw) == NULL || p->sects[p->cur].obj == NULL)
			return DP_OK;
		if (!(kw->flags & KW_LIST)) {
			perr(p, p->line, "%s: indented line is read as a "
			    "continuation of '%s' (only allow and resolvers take "
			    "continuation lines); remove the indentation",
			    kw->name, kw->name);
			p->prev_kw = NULL;
			return DP_OK;
		}
	} else {
		p->prev_key = *name != '\0';
		p->prev_kw = NULL;
		if (*name == '\0') {
			perr(p, p->line, "syntax error (no key name before '=')");
			return DP_OK;
		}
		if (p->cur == NO_SECTION) {
			perr(p, p->line, "%s: key outside any section (expected "
			    "under [global], [dns], [server NAME] or "
			    "[client NAME])", name);
			return DP_OK;
		}
		s = &p->sects[p->cur];
		if (s->kind == SECT_IGNORED)
			return DP_OK;
		if ((i = keyword_find(s->kind, name)) < 0) {
			key_hint(s->kind, name, why, sizeof(why));
			perr(p, p->line, "%s: unknown key in %s%s", name,
			    s->label, why);
			return DP_OK;
		}
		kw = &keywords[i];
		if (s->seen[i] != 0) {
			perr(p, p->line, "%s: duplicate key (first set at line %d)",
			    name, s->seen[i]);
			return DP_OK;
		}
		s->seen[i] = p->line;
	}

	s = &p->sects[p->cur];
	if ((val = strdup(value)) == NULL) {
		p->nomem = 1;
		return DP_ERR_NOMEM;
	}
	r = kw->parse(kw, s->obj, val, why, sizeof(why));
	free(val);
	if (r == DP_ERR_NOMEM) {
		p->nomem = 1;
		return r;
	}
	if (r != DP_OK) {
		perr(p, p->line, "%s: %s", kw->name, why);
		return DP_OK;
	}
	if (kw->flags & KW_WHERE) {
		struct conf_where *w = (struct conf_where *)
		    ((char *)s->obj + kw->where_off);

		w->file = p->conf->file;
		w->line = p->line;
	}
	p->prev_kw = kw;
	return DP_OK;
}

/* inih's handler: non-zero means success. */
static int
conf_ini_handler(void *user, const char *section, const char *name,
    const char *value)
{
	(void)section;	/* tracked by the reader, untruncated */
	return on_key(user, name, value) == DP_OK;
}

/* ---- checks across keys and sections ---------------------------------- */

static const struct dp_addr *
section_listen(const struct section *s, int *line)
{
	int i;

	if (s->kind != SECT_SERVER && s->kind != SECT_CLIENT)
		return NULL;
	i = keyword_find(s->kind, "listen");
	if ((*line = s->seen[i]) == 0)
		return NULL;
	return s->kind == SECT_SERVER ? &((struct conf_server *)s->obj)->listen :
	    &((struct conf_client *)s->obj)->listen;
}

static void
check_listeners(struct parser *p)
{
	const struct dp_addr *a, *b;
	const struct conf_global *g = &p->conf->global;
	char buf[DP_ADDR_STRLEN];
	size_t i, j, n = 0;
	int li, lj;

	for (i = 0; i < p->n_sects; i++) {
		if ((a = section_listen(&p->sects[i], &li)) == NULL)
			continue;
		if (++n == CONF_MAX_LISTENERS + 1)
			perr(p, p->sects[i].line, "more than %d [server] and "
			    "[client] sections", CONF_MAX_LISTENERS);
		/* Port 0 is a new port for each socket: never a clash. */
		if (dp_addr_port(a) == 0)
			continue;
		if (g->admin.len != 0 && dp_addr_equal(a, &g->admin))
			perr(p, li, "listen: %s is already the admin address "
			    "(line %d)", dp_addr_str((const struct sockaddr *)
			    &a->ss, buf, sizeof(buf)), g->admin_where.line);
		for (j = 0; j < i; j++) {
			if ((b = section_listen(&p->sects[j], &lj)) == NULL ||
			    !dp_addr_equal(a, b))
				continue;
			perr(p, li, "listen: %s is already the listen address "
			    "of %s (line %d)", dp_addr_str((const struct sockaddr *)
			    &a->ss, buf, sizeof(buf)), p->sects[j].label, lj);
			break;
		}
	}
}

static void
check_dns(struct parser *p, const struct section *s)
{
	const struct conf_dns *dns = &p->conf->dns;
	int line = s->seen[keyword_find(SECT_DNS, "resolvers")];
	char buf[DP_ADDR_STRLEN];
	size_t i;

	if (dns->mode != DNS_MODE_RESOLVER_AD)
		return;
	if (dns->n_resolvers == 0) {
		perr(p, line != 0 ? line : s->line, "resolvers: required when "
		    "mode = resolver-ad");
		return;
	}
	if (dns->allow_remote_resolver)
		return;
	for (i = 0; i < dns->n_resolvers; i++) {
		const struct sockaddr *sa =
		    (const struct sockaddr *)&dns->resolvers[i].ss;

		if (!dp_addr_is_loopback(sa))
			perr(p, line, "resolvers: %s is not a loopback address; "
			    "resolver-ad mode trusts the AD bit only over a "
			    "trusted path (set allow_remote_resolver = yes if "
			    "the path is protected)",
			    dp_addr_str(sa, buf, sizeof(buf)));
	}
}

static void
check_server(struct parser *p, const struct section *s)
{
	const struct conf_server *srv = s->obj;
	int line = s->seen[keyword_find(SECT_SERVER, "allow")];

	if (line != 0 && srv->n_allow == 0)
		perr(p, line, "allow: empty list (give at least one pattern; "
		    "\"*\" allows every name)");
}

static void check_client_names(struct parser *p, const struct section *s);

static void
check_client(struct parser *p, const struct section *s)
{
	struct conf_client *cl = s->obj;

	if (cl->verify_server != VERIFY_DANE && cl->ca_file == NULL)
		perr(p, s->line, "ca_file: required with verify_server = %s",
		    cl->verify_server == VERIFY_PKIX ? "pkix" : "dane-or-pkix");
	check_client_names(p, s);
	if (cl->allow_from.n == 0 &&
	    !dp_addr_is_loopback((const struct sockaddr *)&cl->listen.ss)) {
		int line = s->seen[keyword_find(SECT_CLIENT, "listen")];
		char buf[DP_ADDR_STRLEN];

		perr(p, line != 0 ? line : s->line, "listen: %s is not a loopback "
		    "address: whoever reaches it would be given this route's DANE "
		    "identity; set allow_from to the local clients' addresses",
		    dp_addr_str((const struct sockaddr *)&cl->listen.ss, buf,
		    sizeof(buf)));
	}
	if (cl->tlsa_name == NULL && cl->server_name != NULL) {
		char name[CONF_NAME_MAX + 16];

		snprintf(name, sizeof(name), "_%u._tcp.%s", cl->connect_port,
		    cl->server_name);
		if (strlen(name) > CONF_NAME_MAX)
			perr(p, s->line, "tlsa_name: _%u._tcp.%s is too long; "
			    "set tlsa_name", cl->connect_port, cl->server_name);
		else if ((cl->tlsa_name = strdup(name)) == NULL)
			p->nomem = 1;
	}
}

static void
check_client_names(struct parser *p, const struct section *s)
{
	struct conf_client *cl = s->obj;

	if (cl->server_name != NULL || cl->connect_host == NULL)
		return;
	if (is_ip_literal(cl->connect_host)) {
		perr(p, s->line, "server_name: required when connect is an IP "
		    "address");
		return;
	}
	if ((cl->server_name = strdup(cl->connect_host)) == NULL)
		p->nomem = 1;
}

static void
check_all(struct parser *p)
{
	size_t i, k;
	int listeners = 0;

	for (i = 0; i < p->n_sects; i++) {
		const struct section *s = &p->sects[i];

		if (s->kind == SECT_IGNORED)
			continue;
		for (k = 0; k < N_KEYWORDS; k++)
			if (keywords[k].kind == s->kind &&
			    (keywords[k].flags & KW_REQUIRED) && s->seen[k] == 0)
				perr(p, s->line, "%s: required key missing",
				    keywords[k].name);
		if (s->kind == SECT_DNS)
			check_dns(p, s);
		else if (s->kind == SECT_SERVER)
			check_server(p, s);
		else if (s->kind == SECT_CLIENT)
			check_client(p, s);
	}
	check_listeners(p);
	/* Refused [server]/[client] headers count too: one message is enough. */
	for (i = 0; i < p->n_sects; i++)
		listeners += p->sects[i].label != NULL &&
		    (strncmp(p->sects[i].label, "[server", 7) == 0 ||
		    strncmp(p->sects[i].label, "[client", 7) == 0);
	if (listeners == 0)
		perr(p, 0, "no [server NAME] or [client NAME] section: nothing "
		    "to do");
}

/* ---- public ----------------------------------------------------------- */

int
conf_load(const char *path, FILE *errs, struct conf **out)
{
	struct parser p;
	size_t i;
	int r = DP_ERR_INTERNAL, rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.cur = NO_SECTION;
	if ((p.conf = conf_new(path)) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	p.server_tail = &p.conf->servers;
	p.client_tail = &p.conf->clients;
	if ((p.fp = fopen(path, "r")) == NULL) {
		perr(&p, 0, "cannot open: %s", strerror(errno));
		r = DP_ERR_INVALID;
		goto out;
	}
	rc = ini_parse_stream(conf_reader, &p, conf_ini_handler, &p);
	line_done(&p);
	if (ferror(p.fp))
		perr(&p, 0, "read error: %s", strerror(errno));
	else if (rc > 0 && !p.nomem) {
		/* inih saw a problem on line rc; we should have too. */
		for (i = 0; i < p.n_errs && p.errs[i].line != rc; i++)
			;
		if (i == p.n_errs)
			perr(&p, rc, "syntax error");
	}
	if (!p.nomem)
		check_all(&p);
	if (p.nomem)
		r = DP_ERR_NOMEM;
	else if (p.n_errs > 0)
		r = DP_ERR_INVALID;
	else {
		*out = p.conf;
		p.conf = NULL;	/* transferred */
		r = DP_OK;
	}

out:
	if (errs != NULL && p.n_errs > 0) {
		qsort(p.errs, p.n_errs, sizeof(*p.errs), error_cmp);
		for (i = 0; i < p.n_errs; i++)
			fprintf(errs, "%s:%d: %s\n", path, p.errs[i].line,
			    p.errs[i].msg);
	}
	if (errs != NULL && r == DP_ERR_NOMEM)
		fprintf(errs, "%s:0: out of memory\n", path);
	for (i = 0; i < p.n_errs; i++)
		free(p.errs[i].msg);
	free(p.errs);
	for (i = 0; i < p.n_sects; i++)
		free(p.sects[i].label);
	free(p.sects);
	if (p.fp != NULL)
		fclose(p.fp);
	conf_free(p.conf);
	return r;
}

static void
dump_section(enum sect_kind kind, const void *obj, FILE *f)
{
	size_t i;

	for (i = 0; i < N_KEYWORDS; i++)
		if (keywords[i].kind == kind)
			keywords[i].dump(&keywords[i], obj, f);
}

void
conf_dump(const struct conf *c, FILE *f)
{
	const struct conf_server *s;
	const struct conf_client *cl;

	fprintf(f, "; effective configuration from %s\n\n[global]\n", c->file);
	dump_section(SECT_GLOBAL, &c->global, f);
	fprintf(f, "\n[dns]\n");
	dump_section(SECT_DNS, &c->dns, f);
	for (s = c->servers; s != NULL; s = s->next) {
		fprintf(f, "\n[server %s]\n", s->name);
		dump_section(SECT_SERVER, s, f);
	}
	for (cl = c->clients; cl != NULL; cl = cl->next) {
		fprintf(f, "\n[client %s]\n", cl->name);
		dump_section(SECT_CLIENT, cl, f);
	}
}
