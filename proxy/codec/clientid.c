/* clientid.c — see clientid.h.
 *
 * The wire form is draft-ietf-dance-tls-clientid: extension_data is
 * opaque ClientName<0..2^8-1>, one length byte then the name in presentation
 * format. Names are checked here, before anything else sees them, so that the
 * allowlist and the DNS layer only ever handle a known-harmless alphabet. */
#include "clientid.h"

#include <limits.h>
#include <string.h>

#include "err.h"
#include "util.h"

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int
clientid_parse_client(const unsigned char *data, size_t len, char *out,
    size_t out_size)
{
	size_t n, i;

	/* One length byte, a non-empty name, and no byte more or less. */
	if (data == NULL || len < 2 || data[0] == 0 || (size_t)data[0] != len - 1)
		return DP_ERR_INVALID;
	n = data[0];
	if (dp_dns_name_check((const char *)data + 1, n) != DP_OK)
		return DP_ERR_INVALID;
	if (out == NULL || out_size < n + 1)
		return DP_ERR_SPACE;
	for (i = 0; i < n; i++)
		out[i] = ascii_lower((char)data[1 + i]);
	out[n] = '\0';
	return DP_OK;
}

int
clientid_parse_request(const unsigned char *data, size_t len)
{
	/* The zero-byte form is what drafts before -12 sent; {0x00} is the
	 * standard empty ClientName. Anything else is not a request. */
	if (len == 0)
		return DP_OK;
	if (len == 1 && data != NULL && data[0] == 0)
		return DP_OK;
	return DP_ERR_INVALID;
}

int
clientid_encode(const char *name, unsigned char *out, size_t out_size,
    size_t *written)
{
	size_t n;

	if (name == NULL)
		return DP_ERR_INVALID;
	n = strlen(name);
	if (dp_dns_name_check(name, n) != DP_OK)
		return DP_ERR_INVALID;
	if (out == NULL || out_size < n + 1)
		return DP_ERR_SPACE;
	out[0] = (unsigned char)n;
	memcpy(out + 1, name, n);
	if (written != NULL)
		*written = n + 1;
	return DP_OK;
}

int
allow_pattern_check(const char *pattern)
{
	if (pattern == NULL)
		return DP_ERR_INVALID;
	if (strcmp(pattern, "*") == 0)
		return DP_OK;
	if (pattern[0] == '*' && pattern[1] == '.')
		pattern += 2;
	/* Any other '*' fails the alphabet check: "**", "*a.b", "a.*.b". */
	return dp_dns_name_check(pattern, strlen(pattern));
}

/* Case-insensitive equality of n bytes. The contract promises lower-case
 * inputs; folding anyway costs nothing and keeps a mixed-case allowlist entry
 * from silently never matching. */
static int
ascii_eq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return 0;
	return 1;
}

static int
pattern_match(const char *pattern, const char *name, size_t name_len)
{
	size_t plen = strlen(pattern);

	if (strcmp(pattern, "*") == 0)
		return 1;
	if (pattern[0] == '*' && pattern[1] == '.') {
		/* Compare ".suffix" including its dot, so the match always
		 * starts on a label boundary ("badexample.net" is not under
		 * "example.net"), and demand a non-empty label before it. */
		const char *dot_suffix = pattern + 1;
		size_t slen = plen - 1;

		if (name_len <= slen)
			return 0;
		if (name[name_len - slen - 1] == '.')
			return 0;
		return ascii_eq(name + name_len - slen, dot_suffix, slen);
	}
	return plen == name_len && ascii_eq(pattern, name, name_len);
}

int
allow_match_index(char *const *patterns, size_t n, const char *name)
{
	size_t i, name_len;

	if (patterns == NULL || name == NULL)
		return -1;
	name_len = strlen(name);
	if (name_len == 0)
		return -1;
	for (i = 0; i < n && i <= INT_MAX; i++)
		if (patterns[i] != NULL &&
		    pattern_match(patterns[i], name, name_len))
			return (int)i;
	return -1;
}

int
allow_match(char *const *patterns, size_t n, const char *name)
{
	return allow_match_index(patterns, n, name) >= 0;
}
