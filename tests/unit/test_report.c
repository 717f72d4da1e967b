/* test_report.c — daneproxy check's output: text lines, and JSON that
 * escapes what names and reasons may hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tap.h"

/* Runs fill on a report into memory; returns the text (free). */
static char *
render(int json, void (*fill)(struct report *))
{
	struct report r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	report_open(&r, f, json);
	fill(&r);
	report_close(&r);
	fclose(f);
	return buf;
}

static void
fill_steps(struct report *r)
{
	report_line(r, "tlsa", "%s: %s", "a.example", "secure");
	report_str(r, "name", "a.example");
	report_object(r, "tlsa");
	report_str(r, "why", "say \"no\"\\\n\x01");
	report_array(r, "records");
	report_object(r, NULL);
	report_int(r, "usage", 3);
	report_bool(r, "usable", 1);
	report_end(r);
	report_object(r, NULL);
	report_int(r, "usage", -1);
	report_end(r);
	report_end(r);
	report_str(r, "wildcard", NULL);
	report_end(r);
	report_line(r, "verdict", "would accept");
	report_bool(r, "ok", 0);
}

static void
fill_unclosed(struct report *r)
{
	report_object(r, "a");
	report_array(r, "b");
	report_int(r, NULL, 1);
	report_int(r, NULL, 2);
}

int
main(void)
{
	char *s;

	s = render(0, fill_steps);
	is_str(s, "tlsa: a.example: secure\nverdict: would accept\n",
	    "text: one line per step, JSON fields left out");
	free(s);
	s = render(1, fill_steps);
	is_str(s, "{\"name\":\"a.example\",\"tlsa\":{\"why\":\"say \\\"no\\\"\\\\\\n"
	    "\\u0001\",\"records\":[{\"usage\":3,\"usable\":true},{\"usage\":-1}],"
	    "\"wildcard\":null},\"ok\":false}\n",
	    "JSON: nested objects and arrays, escaping, null, text lines left out");
	free(s);
	s = render(1, fill_unclosed);
	is_str(s, "{\"a\":{\"b\":[1,2]}}\n", "JSON: report_close closes what is open");
	free(s);
	return done_testing();
}
