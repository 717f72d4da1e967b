/* fuzz_clientid.c — libFuzzer target for the dane_clientid codec and the
 * allowlist. Checks invariants, not just crashes: whatever the client parser
 * accepts is a valid lower-case name that encodes back to the same bytes, and
 * a wildcard match always ends on a label boundary. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clientid.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[CLIENTID_NAME_MAX + 1];
	char text[512];
	unsigned char ext[CLIENTID_NAME_MAX + 1];
	size_t written = 0, i;
	int r;
	char *patterns[] = { "*.example.net", "a.example.org", "*._device.example.org" };

	r = clientid_parse_request(data, size);
	check(r == DP_OK ? size == 0 || (size == 1 && data[0] == 0) :
	    r == DP_ERR_INVALID);

	r = clientid_parse_client(data, size, name, sizeof(name));
	if (r == DP_OK) {
		check(size >= 2 && data[0] == size - 1);
		check(strlen(name) == size - 1);
		check(dp_dns_name_check(name, strlen(name)) == DP_OK);
		for (i = 0; name[i] != '\0'; i++)
			check(!(name[i] >= 'A' && name[i] <= 'Z'));
		check(clientid_encode(name, ext, sizeof(ext), &written) == DP_OK);
		check(written == size);
		for (i = 1; i < size; i++) {
			char c = (char)data[i];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			check(ext[i] == (unsigned char)c);
		}
		if (allow_match(patterns, 1, name))
			check(ends_with(name, ".example.net"));
		if (allow_match(patterns + 2, 1, name))
			check(ends_with(name, "._device.example.org"));
	} else {
		check(r == DP_ERR_INVALID);
	}

	/* The same bytes as a NUL-terminated pattern / name. */
	if (size < sizeof(text)) {
		memcpy(text, data, size);
		text[size] = '\0';
		r = allow_pattern_check(text);
		check(r == DP_OK || r == DP_ERR_INVALID);
		if (r == DP_OK && text[0] == '*' && text[1] == '.')
			check(dp_dns_name_check(text + 2, strlen(text + 2)) == DP_OK);
		if (dp_dns_name_check(text, strlen(text)) == DP_OK) {
			char *self[1];

			self[0] = text;
			check(allow_pattern_check(text) == DP_OK);
			/* A valid name matches itself once lower-cased. */
			for (i = 0; text[i] != '\0'; i++)
				if (text[i] >= 'A' && text[i] <= 'Z')
					text[i] = (char)(text[i] - 'A' + 'a');
			check(allow_match(self, 1, text));
			(void)allow_match(patterns, 3, text);
		}
	}
	return 0;
}
