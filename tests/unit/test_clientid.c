/* test_clientid.c — the dane_clientid codec and the allowlist. */
#include <string.h>

#include "clientid.h"
#include "err.h"
#include "tap.h"

/* Runs clientid_parse_client on a C string used as raw bytes (without its
 * NUL) and returns the result; out receives the name. */
static int
parse_bytes(const char *bytes, size_t len, char *out, size_t out_size)
{
	return clientid_parse_client((const unsigned char *)bytes, len, out,
	    out_size);
}

/* Builds extension_data for a name of arbitrary content (even invalid), as a
 * hostile client would, and parses it. */
static int
parse_name(const char *name, char *out, size_t out_size)
{
	unsigned char buf[300];
	size_t n = strlen(name);

	buf[0] = (unsigned char)n;
	memcpy(buf + 1, name, n);
	return clientid_parse_client(buf, n + 1, out, out_size);
}

/* A name of `labels` labels of `label_len` 'a's joined by dots. */
static void
make_name(char *buf, size_t labels, size_t label_len)
{
	size_t i, off = 0;

	for (i = 0; i < labels; i++) {
		if (i > 0)
			buf[off++] = '.';
		memset(buf + off, 'a', label_len);
		off += label_len;
	}
	buf[off] = '\0';
}

static void
test_name_check(void)
{
	char name[400];

	is_int(dp_dns_name_check("a", 1), DP_OK, "single letter");
	is_int(dp_dns_name_check("a.b", 3), DP_OK, "two labels");
	is_int(dp_dns_name_check("", 0), DP_ERR_INVALID, "empty name");
	is_int(dp_dns_name_check("a.b", 2), DP_ERR_INVALID,
	    "len cuts before the last label: trailing dot");
	is_int(dp_dns_name_check("ab\0c", 4), DP_ERR_INVALID, "embedded NUL");

	make_name(name, 1, 63);
	is_int(dp_dns_name_check(name, strlen(name)), DP_OK, "63-octet label");
	make_name(name, 1, 64);
	is_int(dp_dns_name_check(name, strlen(name)), DP_ERR_INVALID,
	    "64-octet label");
	/* 4 labels of 62 + 3 dots = 251, then ".a" = 253. */
	make_name(name, 4, 62);
	strcat(name, ".a");
	is_int(strlen(name), 253, "built a 253-character name");
	is_int(dp_dns_name_check(name, strlen(name)), DP_OK,
	    "253 characters accepted");
	strcat(name, "b");
	is_int(dp_dns_name_check(name, strlen(name)), DP_ERR_INVALID,
	    "254 characters refused");
}

static void
test_parse_client(void)
{
	char out[CLIENTID_NAME_MAX + 1];
	char name[400];
	unsigned char ext[300];
	size_t written = 0;

	/* Round trip. */
	is_int(clientid_encode("_lorawan-ns.ns.example.net", ext, sizeof(ext),
	    &written), DP_OK, "encode a format-1 owner name");
	is_int(written, 27, "encode writes 1 + strlen bytes");
	is_int(ext[0], 26, "encode: length byte");
	ok(memcmp(ext + 1, "_lorawan-ns.ns.example.net", 26) == 0,
	    "encode: name bytes verbatim");
	is_int(clientid_parse_client(ext, written, out, sizeof(out)), DP_OK,
	    "parse what was encoded");
	is_str(out, "_lorawan-ns.ns.example.net", "round trip preserves the name");

	is_int(clientid_encode("dev1._device.example.org", ext, sizeof(ext),
	    &written), DP_OK, "encode a format-2 owner name");
	is_int(clientid_parse_client(ext, written, out, sizeof(out)), DP_OK,
	    "parse format-2");
	is_str(out, "dev1._device.example.org", "format-2 round trip");

	is_int(parse_bytes("\x0d" "NS.Example.NET", 15, out, sizeof(out)),
	    DP_ERR_INVALID, "length byte 13 for 14 bytes refused");
	is_int(parse_bytes("\x0e" "NS.Example.NET", 15, out, sizeof(out)),
	    DP_OK, "mixed case accepted");
	is_str(out, "ns.example.net", "mixed case lower-cased on output");

	/* Framing. */
	is_int(parse_bytes("", 0, out, sizeof(out)), DP_ERR_INVALID,
	    "empty extension_data refused from a client");
	is_int(parse_bytes("\x00", 1, out, sizeof(out)), DP_ERR_INVALID,
	    "zero-length ClientName refused from a client");
	is_int(parse_bytes("\x05" "abc", 4, out, sizeof(out)), DP_ERR_INVALID,
	    "length byte larger than the rest");
	is_int(parse_bytes("\x02" "abc", 4, out, sizeof(out)), DP_ERR_INVALID,
	    "length byte smaller than the rest");
	is_int(parse_bytes("\x01", 1, out, sizeof(out)), DP_ERR_INVALID,
	    "length byte with no name");
	is_int(parse_bytes("\x01" "a", 2, out, 1), DP_ERR_SPACE,
	    "output buffer too small");

	/* Alphabet. */
	is_int(parse_name("a b.example", out, sizeof(out)), DP_ERR_INVALID,
	    "space refused");
	is_int(parse_name("*.example.net", out, sizeof(out)), DP_ERR_INVALID,
	    "'*' refused");
	is_int(parse_name("a\\046b.example", out, sizeof(out)), DP_ERR_INVALID,
	    "backslash escape refused");
	is_int(parse_name("b\xc3\xbc" "cher.example", out, sizeof(out)),
	    DP_ERR_INVALID, "UTF-8 (U-label) refused");
	is_int(parse_name("user@example.net", out, sizeof(out)), DP_ERR_INVALID,
	    "'@' refused");
	is_int(parse_name("xn--bcher-kva.example", out, sizeof(out)), DP_OK,
	    "A-label accepted");
	is_int(parse_name("_service._tcp.host-1.example", out, sizeof(out)), DP_OK,
	    "underscores and hyphens accepted");

	/* Labels and dots. */
	is_int(parse_name(".example.net", out, sizeof(out)), DP_ERR_INVALID,
	    "leading dot refused");
	is_int(parse_name("example.net.", out, sizeof(out)), DP_ERR_INVALID,
	    "trailing dot refused");
	is_int(parse_name("a..example.net", out, sizeof(out)), DP_ERR_INVALID,
	    "double dot refused");
	is_int(parse_name(".", out, sizeof(out)), DP_ERR_INVALID,
	    "root refused");
	make_name(name, 2, 64);
	is_int(parse_name(name, out, sizeof(out)), DP_ERR_INVALID,
	    "64-octet label refused");
	make_name(name, 3, 63);
	is_int(parse_name(name, out, sizeof(out)), DP_OK,
	    "63-octet labels accepted");
	/* 127 one-octet labels: 127 + 126 dots = 253. */
	make_name(name, 127, 1);
	is_int(parse_name(name, out, sizeof(out)), DP_OK, "253 characters accepted");
	is_str(out, name, "253 characters copied whole");
	strcat(name, "a");
	is_int(parse_name(name, out, sizeof(out)), DP_ERR_INVALID,
	    "254 characters refused");
}

static void
test_parse_request(void)
{
	is_int(clientid_parse_request(NULL, 0), DP_OK,
	    "zero-byte request (older drafts) accepted");
	is_int(clientid_parse_request((const unsigned char *)"\x00", 1), DP_OK,
	    "{0x00} request accepted");
	is_int(clientid_parse_request((const unsigned char *)"\x01" "a", 2),
	    DP_ERR_INVALID, "request carrying a name refused");
	is_int(clientid_parse_request((const unsigned char *)"\x00\x00", 2),
	    DP_ERR_INVALID, "{0x00,0x00} refused");
	is_int(clientid_parse_request((const unsigned char *)"\x01", 1),
	    DP_ERR_INVALID, "{0x01} refused");
}

static void
test_encode(void)
{
	unsigned char ext[300];
	char name[400];
	size_t written = 99;

	is_int(clientid_encode("a.example", ext, 9, &written), DP_ERR_SPACE,
	    "encode: buffer one byte short");
	is_int(clientid_encode("a.example", ext, 10, &written), DP_OK,
	    "encode: exact buffer");
	is_int(written, 10, "encode: written");
	is_int(clientid_encode("", ext, sizeof(ext), &written), DP_ERR_INVALID,
	    "encode: empty name refused");
	is_int(clientid_encode("a..b", ext, sizeof(ext), &written),
	    DP_ERR_INVALID, "encode: invalid name refused");
	is_int(clientid_encode(NULL, ext, sizeof(ext), &written), DP_ERR_INVALID,
	    "encode: NULL refused");
	make_name(name, 127, 1);
	is_int(clientid_encode(name, ext, sizeof(ext), &written), DP_OK,
	    "encode: 253 characters");
	is_int(ext[0], 253, "encode: length byte 253");
}

static void
test_allow_pattern_check(void)
{
	static const char *good[] = {
		"*", "*.example.net", "*._device.example.org", "a.example.net",
		"_lorawan-ns.ns.example.net", "localhost",
	};
	static const char *bad[] = {
		"", "**", "*a.b", "a.*.b", "*.", "*..example", "a.b.*", "*.*",
		".example.net", "example.net.", " *.example.net", "*.exa mple",
		"*example.net",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(allow_pattern_check(good[i]), DP_OK, "pattern '%s' accepted",
		    good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(allow_pattern_check(bad[i]), DP_ERR_INVALID,
		    "pattern '%s' refused", bad[i]);
	is_int(allow_pattern_check(NULL), DP_ERR_INVALID, "NULL pattern refused");
}

static void
test_allow_match(void)
{
	char *wild[] = { "*.example.net" };
	char *exact[] = { "a.example.net" };
	char *any[] = { "*" };
	char *several[] = { "b.example.org", "*._device.example.org",
	    "_lorawan-ns.ns.example.net" };
	char *nested[] = { "*.ns.example.net" };

	ok(allow_match(exact, 1, "a.example.net"), "exact: equal name matches");
	ok(!allow_match(exact, 1, "b.example.net"), "exact: other name does not");
	ok(!allow_match(exact, 1, "x.a.example.net"),
	    "exact: subdomain does not");
	ok(!allow_match(exact, 1, "a.example.ne"), "exact: prefix does not");

	ok(allow_match(any, 1, "anything.example"), "'*' matches anything");

	ok(allow_match(wild, 1, "a.example.net"), "*.example.net: one label");
	ok(allow_match(wild, 1, "a.b.example.net"), "*.example.net: two labels");
	ok(allow_match(wild, 1, "_lorawan-ns.ns.example.net"),
	    "*.example.net: service-labelled name");
	ok(!allow_match(wild, 1, "example.net"),
	    "*.example.net: never the suffix itself");
	ok(!allow_match(wild, 1, "badexample.net"),
	    "*.example.net: not across a label boundary");
	ok(!allow_match(wild, 1, "a.example.net.evil"),
	    "*.example.net: suffix must be at the end");
	ok(!allow_match(wild, 1, "example.org"), "*.example.net: other domain");
	ok(!allow_match(wild, 1, "..example.net"),
	    "*.example.net: an empty label before the suffix (invalid input)");

	ok(allow_match(several, 3, "dev1._device.example.org"),
	    "list: second pattern matches");
	ok(allow_match(several, 3, "_lorawan-ns.ns.example.net"),
	    "list: third pattern matches");
	ok(!allow_match(several, 3, "ns.example.net"), "list: no pattern matches");
	ok(!allow_match(several, 0, "b.example.org"), "empty list matches nothing");
	is_int(allow_match_index(several, 3, "dev1._device.example.org"), 1,
	    "allow_match_index: the matching pattern's index");
	is_int(allow_match_index(several, 3, "b.example.org"), 0,
	    "allow_match_index: the first pattern");
	is_int(allow_match_index(several, 3, "ns.example.net"), -1,
	    "allow_match_index: -1 when none matches");
	is_int(allow_match_index(NULL, 0, "b.example.org"), -1,
	    "allow_match_index: no list, -1");

	ok(allow_match(nested, 1, "_lorawan-ns.ns.example.net"),
	    "*.ns.example.net matches _lorawan-ns.ns.example.net");
	ok(!allow_match(nested, 1, "_lorawan-ns.example.net"),
	    "*.ns.example.net does not match _lorawan-ns.example.net");
}

int
main(void)
{
	test_name_check();
	test_parse_client();
	test_parse_request();
	test_encode();
	test_allow_pattern_check();
	test_allow_match();
	return done_testing();
}
