/* report.h — the output of daneproxy check: the same steps either as human
 * text, one step per line, or as the fields of one JSON object for scripts.
 *
 * The caller says each step twice, once per audience: report_line() writes
 * a text line (ignored in JSON mode), report_str()/report_int()/… write a
 * JSON field (ignored in text mode). Objects and arrays nest up to
 * REPORT_DEPTH levels; report_open() starts the outermost object. */
#ifndef DP_REPORT_H
#define DP_REPORT_H

#include <stdint.h>
#include <stdio.h>

#define REPORT_DEPTH 8

struct report {
	FILE *out;
	int json;
	int depth;			/* objects and arrays open */
	int first[REPORT_DEPTH];	/* no member written yet at that level */
	char closer[REPORT_DEPTH];	/* '}' or ']' */
};

/* Starts a report on out (not owned): in JSON mode, the outer "{". */
void report_open(struct report *r, FILE *out, int json);

/* Ends it: closes every open level and, in JSON mode, ends the line. */
void report_close(struct report *r);

/* Text mode: one line, "STEP: TEXT" (printf format), newline added. */
void report_line(struct report *r, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* JSON mode: a member named key (NULL inside an array). report_str writes
 * null for a NULL value; strings are escaped (quotes, backslash, control
 * characters as \u00XX). */
void report_str(struct report *r, const char *key, const char *val);
void report_int(struct report *r, const char *key, int64_t val);
void report_bool(struct report *r, const char *key, int val);

/* JSON mode: a nested object or array named key (NULL inside an array),
 * ended by report_end. Deeper than REPORT_DEPTH is a bug (asserted). */
void report_object(struct report *r, const char *key);
void report_array(struct report *r, const char *key);
void report_end(struct report *r);

#endif
