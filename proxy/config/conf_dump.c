/* conf_dump.c — the -T dump of conf.c: one dumper per value type, writing
 * its keyword as a "key = value" line that conf_load() reads back, and
 * conf_dump(), which walks the keyword table section by section. */
#include "confkw.h"

#include <string.h>

#define DUMP_WRAP 72		/* dump: start a continuation line past this column */

static const void *
cfield_of(const struct keyword *kw, const void *obj)
{
	return (const char *)obj + kw->off;
}

void
conf_dump_uint(const struct keyword *kw, const void *obj, FILE *f)
{
	const void *field = cfield_of(kw, obj);

	if (kw->flags & KW_U8)
		fprintf(f, "%s = 0x%02x\n", kw->name, (unsigned)*(const uint8_t *)field);
	else if (kw->flags & KW_U16)
		fprintf(f, "%s = 0x%04x\n", kw->name, (unsigned)*(const uint16_t *)field);
	else if (kw->flags & KW_HEX)
		fprintf(f, "%s = 0x%x\n", kw->name, *(const unsigned *)field);
	else
		fprintf(f, "%s = %u\n", kw->name, *(const unsigned *)field);
}

void
conf_dump_bool(const struct keyword *kw, const void *obj, FILE *f)
{
	fprintf(f, "%s = %s\n", kw->name,
	    *(const int *)cfield_of(kw, obj) ? "yes" : "no");
}

void
conf_dump_choice(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct choice *c;
	int v;

	memcpy(&v, cfield_of(kw, obj), sizeof(int));
	for (c = kw->choices; c->text != NULL; c++)
		if (c->value == v)
			break;
	fprintf(f, "%s = %s\n", kw->name, c->text != NULL ? c->text : "?");
}

void
conf_dump_path(const struct keyword *kw, const void *obj, FILE *f)
{
	const char *s = *(char *const *)cfield_of(kw, obj);

	if (s == NULL)
		fprintf(f, "; %s: not set\n", kw->name);
	else
		fprintf(f, "%s = %s\n", kw->name, s);
}

void
conf_dump_addr(const struct keyword *kw, const void *obj, FILE *f)
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

void
conf_dump_resolvers(const struct keyword *kw, const void *obj, FILE *f)
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

void
conf_dump_allow(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct conf_server *s = obj;
	struct list_writer w;
	size_t i;

	list_begin(&w, f, kw->name);
	for (i = 0; i < s->n_allow; i++)
		list_item(&w, s->allow[i]);
	list_end(&w);
}

void
conf_dump_allow_from(const struct keyword *kw, const void *obj, FILE *f)
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

void
conf_dump_tls_versions(const struct keyword *kw, const void *obj, FILE *f)
{
	unsigned bits = *(const unsigned *)cfield_of(kw, obj);

	fprintf(f, "%s = %s\n", kw->name, bits == (CONF_TLS12 | CONF_TLS13) ?
	    "1.2,1.3" : bits == CONF_TLS12 ? "1.2" : "1.3");
}

void
conf_dump_name(const struct keyword *kw, const void *obj, FILE *f)
{
	fprintf(f, "%s = %s\n", kw->name, *(char *const *)cfield_of(kw, obj));
}

void
conf_dump_label(const struct keyword *kw, const void *obj, FILE *f)
{
	const char *s = *(char *const *)cfield_of(kw, obj);

	if (*s == '\0')
		fprintf(f, "%s =\n", kw->name);
	else
		fprintf(f, "%s = %s\n", kw->name, s);
}

void
conf_dump_connect(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct conf_client *c = obj;

	fprintf(f, strchr(c->connect_host, ':') != NULL ? "%s = [%s]:%u\n" :
	    "%s = %s:%u\n", kw->name, c->connect_host, (unsigned)c->connect_port);
}

void
conf_dump_workers(const struct keyword *kw, const void *obj, FILE *f)
{
	unsigned n = *(const unsigned *)cfield_of(kw, obj);

	if (n == 0)
		fprintf(f, "%s = auto\n", kw->name);
	else
		fprintf(f, "%s = %u\n", kw->name, n);
}

void
conf_dump_opt_addr(const struct keyword *kw, const void *obj, FILE *f)
{
	const struct dp_addr *a = cfield_of(kw, obj);

	if (a->len == 0)
		fprintf(f, "; %s: not set\n", kw->name);
	else
		conf_dump_addr(kw, obj, f);
}

void
conf_dump_probe_name(const struct keyword *kw, const void *obj, FILE *f)
{
	const char *s = *(char *const *)cfield_of(kw, obj);

	fprintf(f, "%s = %s\n", kw->name, s == NULL ? "none" : s);
}

static void
dump_section(enum sect_kind kind, const void *obj, FILE *f)
{
	size_t i;

	for (i = 0; i < N_KEYWORDS; i++)
		if (conf_keywords[i].kind == kind)
			conf_keywords[i].dump(&conf_keywords[i], obj, f);
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
