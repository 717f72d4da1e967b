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
 * the end, so an operator sees all of them at once.
 *
 * The parts: conf_keys.c holds the keyword table and the defaults,
 * conf_values.c a parser per value type, conf_dump.c the dump; confkw.h
 * is what they share. */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "confkw.h"
#include "err.h"
#include "station.h"

#define SECTION_NAME_MAX 64	/* NAME in [server NAME] / [client NAME] */
#define WHY_MAX 512		/* a reason text */
#define NO_SECTION ((size_t)-1)

static const char *const sect_kind_label[] = {
	"[global]", "[dns]", "[server NAME]", "[client NAME]", "?",
};

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
		struct conf_server *srv = conf_server_new(p->conf, name);

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
		struct conf_client *cl = conf_client_new(p->conf, name);

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
		if (conf_keywords[i].kind == kind || (int)conf_keywords[i].kind == last ||
		    strcmp(conf_keywords[i].name, name) != 0)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    last < 0 ? " (it belongs in " : " or ",
		    sect_kind_label[conf_keywords[i].kind]);
		last = (int)conf_keywords[i].kind;
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
		if ((i = conf_keyword_find(s->kind, name)) < 0) {
			key_hint(s->kind, name, why, sizeof(why));
			perr(p, p->line, "%s: unknown key in %s%s", name,
			    s->label, why);
			return DP_OK;
		}
		kw = &conf_keywords[i];
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
	i = conf_keyword_find(s->kind, "listen");
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
	int line = s->seen[conf_keyword_find(SECT_DNS, "resolvers")];
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

/* The two extensions of a handshake need two types: one type would make
 * OpenSSL refuse the second registration, and a peer could not tell a
 * ClientName from a chain. */
static void
check_chain_type(struct parser *p, const struct section *s, uint16_t chain,
    uint16_t clientid)
{
	int line = s->seen[conf_keyword_find(s->kind, "dane_chain_type")];

	if (chain == clientid)
		perr(p, line != 0 ? line : s->line, "dane_chain_type: 0x%04x is "
		    "also dane_clientid_type; the stapled chain needs a type of "
		    "its own", chain);
}

static void check_station_binding(struct parser *p, const struct section *s);

/* ts002_binding reads request bodies: only the HTTP relay has them. */
static void
check_server_ts002(struct parser *p, const struct section *s)
{
	const struct conf_server *srv = s->obj;
	int line = s->seen[conf_keyword_find(SECT_SERVER, "ts002_binding")];

	if (srv->ts002_binding == TS002_OFF)
		return;
	if (line == 0)
		line = s->line;
	if (srv->forward != FORWARD_HTTP)
		perr(p, line, "ts002_binding: needs forward = http (the binding "
		    "reads each request's body)");
	if (srv->ts002_binding == TS002_MAP && srv->ts002_map == NULL)
		perr(p, line, "ts002_binding: map needs ts002_map (the file of "
		    "\"SENDER_ID NAME_PATTERN\" lines)");
	if (srv->ts002_binding == TS002_DNS && srv->ts002_map != NULL)
		perr(p, srv->ts002_map_where.line, "ts002_map: used only with "
		    "ts002_binding = map (this listener binds by dns)");
}

static void
check_server(struct parser *p, const struct section *s)
{
	const struct conf_server *srv = s->obj;
	int line = s->seen[conf_keyword_find(SECT_SERVER, "allow")];

	if (line != 0 && srv->n_allow == 0)
		perr(p, line, "allow: empty list (give at least one pattern; "
		    "\"*\" allows every name)");
	/* An unauthenticated client must reach the upstream marked as such:
	 * PROXY v1 has no field for it and none sends nothing, so the
	 * upstream could not tell it from a verified one. */
	if (srv->client_auth == CLIENT_AUTH_OPTIONAL &&
	    (srv->forward == FORWARD_PROXY_V1 || srv->forward == FORWARD_NONE)) {
		line = s->seen[conf_keyword_find(SECT_SERVER, "client_auth")];
		perr(p, line != 0 ? line : s->line, "client_auth: optional needs "
		    "forward = proxy-v2 or http: with forward = %s the upstream "
		    "cannot tell an unauthenticated client from a verified one",
		    srv->forward == FORWARD_PROXY_V1 ? "proxy-v1" : "none");
	}
	check_station_binding(p, s);
	check_server_ts002(p, s);
	if (srv->stapled_chain != STAPLED_OFF)
		check_chain_type(p, s, srv->dane_chain_type,
		    srv->dane_clientid_type);
}

/* station_binding: a name template the authenticated name must fit; its
 * checks read HTTP requests and WebSocket messages, so forward = http. */
static void
check_station_binding(struct parser *p, const struct section *s)
{
	const struct conf_server *srv = s->obj;
	int line = s->seen[conf_keyword_find(SECT_SERVER, "station_binding")];
	const char *why = NULL;

	if (srv->station_binding == NULL)
		return;
	if (station_template_check(srv->station_binding, &why) != DP_OK)
		perr(p, line, "station_binding: %s: %s", srv->station_binding, why);
	if (srv->forward != FORWARD_HTTP)
		perr(p, line, "station_binding: needs forward = http (the EUI is "
		    "read from HTTP requests and WebSocket messages)");
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
	if (cl->staple_chain)
		check_chain_type(p, s, cl->dane_chain_type,
		    cl->dane_clientid_type);
	if (cl->allow_from.n == 0 &&
	    !dp_addr_is_loopback((const struct sockaddr *)&cl->listen.ss)) {
		int line = s->seen[conf_keyword_find(SECT_CLIENT, "listen")];
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
	if (conf_is_ip_literal(cl->connect_host)) {
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
			if (conf_keywords[k].kind == s->kind &&
			    (conf_keywords[k].flags & KW_REQUIRED) && s->seen[k] == 0)
				perr(p, s->line, "%s: required key missing",
				    conf_keywords[k].name);
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

/* conf_load and conf_load_mem: reads fp (closed here; NULL: it could not
 * be opened, open_errno says why), naming it path in errors and in the conf. */
static int
conf_load_stream(const char *path, FILE *fp, int open_errno, FILE *errs,
    struct conf **out)
{
	struct parser p;
	size_t i;
	int r = DP_ERR_INTERNAL, rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.cur = NO_SECTION;
	p.fp = fp;
	if ((p.conf = conf_new(path)) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	p.server_tail = &p.conf->servers;
	p.client_tail = &p.conf->clients;
	if (p.fp == NULL) {
		perr(&p, 0, "cannot open: %s", strerror(open_errno));
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

int
conf_load(const char *path, FILE *errs, struct conf **out)
{
	FILE *fp = fopen(path, "r");

	return conf_load_stream(path, fp, fp == NULL ? errno : 0, errs, out);
}

int
conf_load_mem(const char *name, const char *buf, size_t len, FILE *errs,
    struct conf **out)
{
	/* fmemopen only reads in mode "r"; size 0 is allowed since glibc 2.22. */
	FILE *fp = fmemopen((void *)buf, len, "r");

	return conf_load_stream(name, fp, fp == NULL ? errno : 0, errs, out);
}
