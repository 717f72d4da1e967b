/* report.c — see report.h. */
#include "report.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>

/* Writes s as a JSON string, quotes included. */
static void
json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* The separator and the name of a new member at the current level. */
static void
member(struct report *r, const char *key)
{
	if (!r->first[r->depth - 1])
		fputc(',', r->out);
	r->first[r->depth - 1] = 0;
	if (key != NULL) {
		json_string(r->out, key);
		fputc(':', r->out);
	}
}

static void
open_level(struct report *r, const char *key, int ch)
{
	if (!r->json)
		return;
	assert(r->depth < REPORT_DEPTH);
	if (r->depth > 0)
		member(r, key);
	fputc(ch, r->out);
	r->closer[r->depth] = ch == '{' ? '}' : ']';
	r->first[r->depth++] = 1;
}

void
report_open(struct report *r, FILE *out, int json)
{
	r->out = out;
	r->json = json;
	r->depth = 0;
	open_level(r, NULL, '{');
}

void
report_close(struct report *r)
{
	while (r->json && r->depth > 0)
		report_end(r);
	if (r->json)
		fputc('\n', r->out);
	fflush(r->out);
}

void
report_line(struct report *r, const char *step, const char *fmt, ...)
{
	va_list ap;

	if (r->json)
		return;
	fprintf(r->out, "%s: ", step);
	va_start(ap, fmt);
	vfprintf(r->out, fmt, ap);
	va_end(ap);
	fputc('\n', r->out);
}

void
report_str(struct report *r, const char *key, const char *val)
{
	if (!r->json)
		return;
	member(r, key);
	if (val == NULL)
		fputs("null", r->out);
	else
		json_string(r->out, val);
}

void
report_int(struct report *r, const char *key, int64_t val)
{
	if (!r->json)
		return;
	member(r, key);
	fprintf(r->out, "%" PRId64, val);
}

void
report_bool(struct report *r, const char *key, int val)
{
	if (!r->json)
		return;
	member(r, key);
	fputs(val ? "true" : "false", r->out);
}

void
report_object(struct report *r, const char *key)
{
	open_level(r, key, '{');
}

void
report_array(struct report *r, const char *key)
{
	open_level(r, key, '[');
}

void
report_end(struct report *r)
{
	if (!r->json || r->depth == 0)
		return;
	r->depth--;
	fputc(r->closer[r->depth], r->out);
}
