/* ts002_map.c — the map file of ts002_binding = map: which SenderIDs an
 * authenticated name may use. Each line is "SENDER_ID NAME_PATTERN"; the
 * ID is exact, a prefix "HEX/BITS" or a range "HEX-HEX", always written at
 * the full length of its kind (6 hex digits for a NetID, 16 for a JoinEUI),
 * so a line's kind is never in doubt and a NetID line never matches a
 * JoinEUI sender, nor the reverse. An AS-ID (AppSKeyReq's SenderID) is
 * written "as:AS-ID" and matched exactly, case included: TS002 gives an
 * AS-ID no grammar to fold case by, and the prefix keeps an AS-ID that
 * reads as hex ("as:000013") apart from a NetID. The '#' of a comment
 * ends the field, so an AS-ID holding '#' cannot be bound by the map. */
#include "ts002.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clientid.h"
#include "err.h"
#include "util.h"

#define TS002_MAP_LINES_MAX 100000	/* lines read, blank ones included */
#define TS002_MAP_LINE_MAX 1024		/* bytes, newline excluded */

struct ts002_map_entry {
	enum ts002_id_kind kind;
	uint64_t lo, hi;	/* inclusive; exact: lo == hi; unused for an AS-ID */
	char *asid;		/* TS002_ID_ASID: the AS-ID, as written */
	char *pattern;		/* lower-case, checked by allow_pattern_check */
};

struct ts002_map {
	struct ts002_map_entry *e;
	size_t n, cap;
};

static int
map_error(FILE *errs, const char *path, unsigned long line,
    const char *reason)
{
	if (errs != NULL)
		fprintf(errs, "%s:%lu: %s\n", path, line, reason);
	return DP_ERR_INVALID;
}

/* Parses one ID field: "HEX", "HEX/BITS" or "HEX-HEX". Sets *reason on
 * failure. */
static int
parse_id_field(const char *f, struct ts002_map_entry *e, const char **reason)
{
	const char *slash = strchr(f, '/'), *dash = strchr(f, '-');
	enum ts002_id_kind k2;
	uint64_t bits, width, mask, hi;

	if (strncmp(f, "as:", 3) == 0) {
		if (ts002_asid_check(f + 3, strlen(f + 3)) != DP_OK) {
			*reason = "as:AS-ID: not 1..255 printable ASCII "
			    "characters without quote, backslash, ';' or ','";
			return DP_ERR_INVALID;
		}
		if ((e->asid = strdup(f + 3)) == NULL)
			return DP_ERR_NOMEM;
		e->kind = TS002_ID_ASID;
		return DP_OK;
	}
	if (slash != NULL && dash != NULL) {
		*reason = "an ID is HEX, HEX/BITS or HEX-HEX";
		return DP_ERR_INVALID;
	}
	if (slash != NULL) {
		if (ts002_hex_id(f, (size_t)(slash - f), &e->kind, &e->lo) !=
		    DP_OK) {
			*reason = "prefix: not 6 or 16 hex digits before '/'";
			return DP_ERR_INVALID;
		}
		width = e->kind == TS002_ID_NETID ? 24 : 64;
		/* dp_parse_uint also takes 0x-hex; a prefix length is
		 * written in decimal only. */
		if (slash[1] < '0' || slash[1] > '9' ||
		    dp_parse_uint(slash + 1, 0, width, &bits) != DP_OK ||
		    strspn(slash + 1, "0123456789") != strlen(slash + 1)) {
			*reason = e->kind == TS002_ID_NETID ?
			    "prefix: BITS is not a number in 0..24 (NetID)" :
			    "prefix: BITS is not a number in 0..64 (JoinEUI)";
			return DP_ERR_INVALID;
		}
		/* the bits past the prefix: all ones below width - bits */
		mask = width - bits >= 64 ? UINT64_MAX :
		    (((uint64_t)1 << (width - bits)) - 1);
		if ((e->lo & mask) != 0) {
			*reason = "prefix: bits set past the prefix length";
			return DP_ERR_INVALID;
		}
		e->hi = e->lo | mask;
		return DP_OK;
	}
	if (dash != NULL) {
		if (ts002_hex_id(f, (size_t)(dash - f), &e->kind, &e->lo) !=
		    DP_OK || ts002_hex_id(dash + 1, strlen(dash + 1), &k2,
		    &hi) != DP_OK) {
			*reason = "range: not 6 or 16 hex digits on each side";
			return DP_ERR_INVALID;
		}
		if (k2 != e->kind) {
			*reason = "range: both ends must have the same length";
			return DP_ERR_INVALID;
		}
		if (e->lo > hi) {
			*reason = "range: the low end is above the high end";
			return DP_ERR_INVALID;
		}
		e->hi = hi;
		return DP_OK;
	}
	if (ts002_hex_id(f, strlen(f), &e->kind, &e->lo) != DP_OK) {
		*reason = "SENDER_ID: not a NetID (6 hex digits), a "
		    "JoinEUI (16) or as:AS-ID";
		return DP_ERR_INVALID;
	}
	e->hi = e->lo;
	return DP_OK;
}

static int
map_add(struct ts002_map *map, struct ts002_map_entry *e)
{
	struct ts002_map_entry *ne;
	size_t cap;

	if (map->n == map->cap) {
		cap = map->cap == 0 ? 16 : map->cap * 2;
		if ((ne = realloc(map->e, cap * sizeof(*ne))) == NULL)
			return DP_ERR_NOMEM;
		map->e = ne;
		map->cap = cap;
	}
	map->e[map->n++] = *e;
	return DP_OK;
}

/* One line (NUL-terminated, newline removed). Returns DP_OK (an entry
 * added, or nothing on the line), DP_ERR_INVALID (*reason set) or
 * DP_ERR_NOMEM. */
static int
parse_line(struct ts002_map *map, char *line, const char **reason)
{
	struct ts002_map_entry e;
	char *hash, *id, *pat, *rest;
	int r;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	id = strtok_r(line, " \t\r", &rest);
	if (id == NULL)
		return DP_OK;
	pat = strtok_r(NULL, " \t\r", &rest);
	if (pat == NULL) {
		*reason = "expected \"SENDER_ID NAME_PATTERN\"";
		return DP_ERR_INVALID;
	}
	if (strtok_r(NULL, " \t\r", &rest) != NULL) {
		*reason = "more than two fields";
		return DP_ERR_INVALID;
	}
	memset(&e, 0, sizeof(e));
	if ((r = parse_id_field(id, &e, reason)) != DP_OK)
		return r;
	dp_str_lower(pat);
	if (allow_pattern_check(pat) != DP_OK) {
		*reason = "NAME_PATTERN is not \"*\", \"*.suffix\" or a name";
		r = DP_ERR_INVALID;
		goto fail;
	}
	if ((e.pattern = strdup(pat)) == NULL) {
		r = DP_ERR_NOMEM;
		goto fail;
	}
	if ((r = map_add(map, &e)) != DP_OK)
		goto fail;
	return DP_OK;
fail:
	free(e.pattern);
	free(e.asid);
	return r;
}

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_NUL };

/* Reads one line into buf (size bytes, the line at most size - 1), without
 * its newline, NUL-terminated. A line too long or holding a NUL byte is
 * read to its end and reported as such (fgets could not tell a NUL byte
 * from the end of the text). LINE_EOF at the end of the file (a last line
 * without a newline is still a line). */
static int
read_line(FILE *f, char *buf, size_t size)
{
	size_t n = 0;
	int c, st = LINE_OK;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0' && st == LINE_OK)
			st = LINE_NUL;
		if (n + 1 < size)
			buf[n] = (char)c;
		else if (st == LINE_OK)
			st = LINE_LONG;
		n++;
	}
	if (c == EOF && n == 0)
		return LINE_EOF;
	buf[n < size ? n : size - 1] = '\0';
	return st;
}

int
ts002_map_load(const char *path, FILE *errs, struct ts002_map **out)
{
	struct ts002_map *map = NULL;
	char buf[TS002_MAP_LINE_MAX + 1];
	const char *reason;
	unsigned long lineno = 0;
	FILE *f = NULL;
	int r = DP_ERR_INTERNAL, bad = 0, got;

	if (path == NULL || out == NULL)
		return DP_ERR_INVALID;
	*out = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: %s\n", path, strerror(errno));
		r = DP_ERR_IO;
		goto out;
	}
	if ((map = calloc(1, sizeof(*map))) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	while ((got = read_line(f, buf, sizeof(buf))) != LINE_EOF) {
		if (++lineno > TS002_MAP_LINES_MAX) {
			map_error(errs, path, lineno,
			    "more than 100000 lines");
			bad = 1;
			break;
		}
		if (got == LINE_LONG || got == LINE_NUL) {
			map_error(errs, path, lineno, got == LINE_LONG ?
			    "line longer than 1024 bytes" : "NUL byte in line");
			bad = 1;
			continue;
		}
		r = parse_line(map, buf, &reason);
		if (r == DP_ERR_NOMEM)
			goto out;
		if (r != DP_OK) {
			map_error(errs, path, lineno, reason);
			bad = 1;
		}
	}
	if (ferror(f)) {
		if (errs != NULL)
			fprintf(errs, "%s: read error\n", path);
		r = DP_ERR_IO;
		goto out;
	}
	if (bad) {
		r = DP_ERR_INVALID;
		goto out;
	}
	*out = map;
	map = NULL;	/* transferred */
	r = DP_OK;
out:
	ts002_map_free(map);
	if (f != NULL)
		fclose(f);
	return r;
}

int
ts002_map_binds(const struct ts002_map *map, const struct ts002_msg *m,
    const char *name)
{
	enum ts002_id_kind kind;
	uint64_t v;
	size_t i;

	if (map == NULL || m == NULL || name == NULL)
		return 0;
	if (m->sender_kind == TS002_ID_ASID) {
		if (ts002_asid_check(m->sender_id, strnlen(m->sender_id,
		    sizeof(m->sender_id))) != DP_OK)
			return 0;
		for (i = 0; i < map->n; i++) {
			const struct ts002_map_entry *e = &map->e[i];

			if (e->kind == TS002_ID_ASID &&
			    strcmp(e->asid, m->sender_id) == 0 &&
			    allow_match(&e->pattern, 1, name))
				return 1;
		}
		return 0;
	}
	if (ts002_hex_id(m->sender_id, strnlen(m->sender_id,
	    sizeof(m->sender_id)), &kind, &v) != DP_OK ||
	    kind != m->sender_kind)
		return 0;
	for (i = 0; i < map->n; i++) {
		const struct ts002_map_entry *e = &map->e[i];

		if (e->kind == kind && e->lo <= v && v <= e->hi &&
		    allow_match(&e->pattern, 1, name))
			return 1;
	}
	return 0;
}

void
ts002_map_free(struct ts002_map *map)
{
	size_t i;

	if (map == NULL)
		return;
	for (i = 0; i < map->n; i++) {
		free(map->e[i].pattern);
		free(map->e[i].asid);
	}
	free(map->e);
	free(map);
}
