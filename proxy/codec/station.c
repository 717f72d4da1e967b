/* station.c — see station.h. */
#include "station.h"

#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "err.h"
#include "util.h"

#define EUI_HEX 16
#define PATH_MAX_DECODED 8192	/* a request head is smaller than this */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* n hex digits (n <= 16) into *v. */
static int
hex_run(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;
	int d;

	if (n == 0 || n > EUI_HEX)
		return DP_ERR_INVALID;
	for (i = 0; i < n; i++) {
		if ((d = hexval(s[i])) < 0)
			return DP_ERR_INVALID;
		x = x << 4 | (uint64_t)d;
	}
	*v = x;
	return DP_OK;
}

/* Eight pairs of hex digits joined by sep: 23 bytes. */
static int
parse_pairs(const char *s, size_t len, char sep, uint64_t *eui)
{
	uint64_t x = 0, b;
	size_t i;

	if (len != 23)
		return DP_ERR_INVALID;
	for (i = 0; i < 8; i++) {
		if (i > 0 && s[i * 3 - 1] != sep)
			return DP_ERR_INVALID;
		if (hex_run(s + i * 3, 2, &b) != DP_OK)
			return DP_ERR_INVALID;
		x = x << 8 | b;
	}
	*eui = x;
	return DP_OK;
}

/* Groups of 1-4 hex digits joined by ':' (n of them, n <= 4) into g. */
static int
id6_groups(const char *s, size_t len, uint64_t *g, size_t *n)
{
	size_t start = 0, i;

	*n = 0;
	if (len == 0)
		return DP_OK;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ':')
			continue;
		if (*n == 4 || i - start > 4 ||
		    hex_run(s + start, i - start, &g[*n]) != DP_OK)
			return DP_ERR_INVALID;
		(*n)++;
		start = i + 1;
	}
	return DP_OK;
}

/* ID6: four 16-bit groups, "::" once for two or more zero groups (Station's
 * encId6 never shortens one group, its reader accepts it: so do we). */
static int
parse_id6(const char *s, size_t len, uint64_t *eui)
{
	uint64_t left[4], right[4], x = 0;
	size_t nl, nr, i;
	const char *dc = NULL;

	for (i = 0; i + 1 < len; i++)
		if (s[i] == ':' && s[i + 1] == ':') {
			dc = s + i;
			break;
		}
	if (dc == NULL) {
		if (id6_groups(s, len, left, &nl) != DP_OK || nl != 4)
			return DP_ERR_INVALID;
		for (i = 0; i < 4; i++)
			x = x << 16 | left[i];
		*eui = x;
		return DP_OK;
	}
	if (id6_groups(s, (size_t)(dc - s), left, &nl) != DP_OK ||
	    id6_groups(dc + 2, len - (size_t)(dc - s) - 2, right, &nr) != DP_OK ||
	    nl + nr > 3)
		return DP_ERR_INVALID;
	for (i = 0; i < nl; i++)
		x |= left[i] << (16 * (3 - i));
	for (i = 0; i < nr; i++)
		x |= right[i] << (16 * (nr - 1 - i));
	*eui = x;
	return DP_OK;
}

int
station_eui_parse(const char *s, size_t len, uint64_t *eui)
{
	size_t colons = 0, i;

	if (len >= 4 && lower(s[0]) == 'e' && lower(s[1]) == 'u' &&
	    lower(s[2]) == 'i' && s[3] == '-') {
		s += 4;
		len -= 4;
	}
	if (len == EUI_HEX + 2 && s[0] == '0' && lower(s[1]) == 'x')
		return hex_run(s + 2, EUI_HEX, eui);
	if (len == EUI_HEX)
		return hex_run(s, EUI_HEX, eui);
	if (len == 23 && s[2] == '-')
		return parse_pairs(s, len, '-', eui);
	for (i = 0; i < len; i++)
		colons += s[i] == ':';
	if (colons == 7)
		return parse_pairs(s, len, ':', eui);
	if (colons >= 2 && colons <= 3 && len <= 19)
		return parse_id6(s, len, eui);
	return DP_ERR_INVALID;
}

void
station_eui_format(uint64_t eui, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < EUI_HEX; i++)
		buf[i] = hex[(eui >> (60 - 4 * i)) & 0xf];
	buf[EUI_HEX] = '\0';
}

int
station_template_check(const char *tmpl, const char **why)
{
	const char *at = strstr(tmpl, STATION_EUI_PLACEHOLDER);
	size_t plen = strlen(STATION_EUI_PLACEHOLDER), n = strlen(tmpl);
	char name[300];

	if (at == NULL) {
		*why = "no {eui} in the template";
		return DP_ERR_INVALID;
	}
	if (strstr(at + plen, STATION_EUI_PLACEHOLDER) != NULL) {
		*why = "more than one {eui} in the template";
		return DP_ERR_INVALID;
	}
	if (n - plen + EUI_HEX >= sizeof(name)) {
		*why = "name too long";
		return DP_ERR_INVALID;
	}
	memcpy(name, tmpl, (size_t)(at - tmpl));
	memset(name + (at - tmpl), '0', EUI_HEX);
	memcpy(name + (at - tmpl) + EUI_HEX, at + plen, n - (size_t)(at - tmpl) - plen + 1);
	if (dp_dns_name_check(name, strlen(name)) != DP_OK) {
		*why = "not a DNS name once {eui} is replaced by 16 hex digits "
		    "(letters, digits, '-', '_'; labels of 1-63; no trailing dot)";
		return DP_ERR_INVALID;
	}
	return DP_OK;
}

int
station_template_match(const char *tmpl, const char *name, uint64_t *eui)
{
	const char *at = strstr(tmpl, STATION_EUI_PLACEHOLDER);
	size_t pre, post, n = strlen(name), i;

	if (at == NULL)
		return DP_ERR_DENIED;
	pre = (size_t)(at - tmpl);
	post = strlen(at) - strlen(STATION_EUI_PLACEHOLDER);
	if (n != pre + EUI_HEX + post)
		return DP_ERR_DENIED;
	for (i = 0; i < pre; i++)
		if (lower(name[i]) != lower(tmpl[i]))
			return DP_ERR_DENIED;
	for (i = 0; i < post; i++)
		if (lower(name[pre + EUI_HEX + i]) !=
		    lower(at[strlen(STATION_EUI_PLACEHOLDER) + i]))
			return DP_ERR_DENIED;
	for (i = pre; i < pre + EUI_HEX; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return DP_ERR_DENIED;
	return hex_run(name + pre, EUI_HEX, eui) == DP_OK ? DP_OK : DP_ERR_DENIED;
}

enum station_verdict
station_target_check(const char *target, size_t target_len, uint64_t eui,
    uint64_t *claimed, int *router_info)
{
	char path[PATH_MAX_DECODED];
	size_t n = 0, i, start;
	uint64_t v;
	int hi, lo;

	*router_info = 0;
	if (target_len == 0 || target[0] != '/')
		return STATION_BAD;
	for (i = 0; i < target_len && target[i] != '?' && target[i] != '#'; i++) {
		char c = target[i];

		if (c == '%') {
			if (i + 2 >= target_len || (hi = hexval(target[i + 1])) < 0 ||
			    (lo = hexval(target[i + 2])) < 0)
				return STATION_BAD;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		/* A '%' left after decoding would be decoded again by an
		 * upstream that decodes twice: refused, not guessed. */
		if ((unsigned char)c < 0x20 || c == 0x7f || c == '%' ||
		    n == sizeof(path))
			return STATION_BAD;
		path[n++] = c;
	}
	for (start = 1, i = 1; i <= n; i++) {
		size_t seg;

		if (i < n && path[i] != '/')
			continue;
		/* Servers that drop path parameters (";x=1", RFC 3986 §3.3)
		 * read what comes before them. */
		for (seg = 0; start + seg < i && path[start + seg] != ';'; seg++)
			;
		if (seg == 11 && strncasecmp(path + start, "router-info", 11) == 0)
			*router_info = 1;
		if (station_eui_parse(path + start, seg, &v) == DP_OK && v != eui) {
			*claimed = v;
			return STATION_EUI_MISMATCH;
		}
		start = i + 1;
	}
	return STATION_PASS;
}

enum station_verdict
station_router_info_check(const char *msg, size_t len, uint64_t eui,
    uint64_t *claimed)
{
	json_t *root = NULL, *router;
	json_error_t jerr;
	enum station_verdict r = STATION_BAD;
	const char *s;
	uint64_t v;

	if (len > STATION_ROUTER_INFO_MAX)
		return STATION_BAD;
	root = json_loadb(msg, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root) ||
	    (router = json_object_get(root, "router")) == NULL)
		goto out;
	if (json_is_integer(router)) {
		v = (uint64_t)json_integer_value(router);
	} else if (json_is_string(router)) {
		s = json_string_value(router);
		if (station_eui_parse(s, json_string_length(router), &v) != DP_OK)
			goto out;
	} else {
		goto out;
	}
	if (v == eui) {
		r = STATION_PASS;
	} else {
		*claimed = v;
		r = STATION_EUI_MISMATCH;
	}
 out:
	json_decref(root);
	return r;
}
