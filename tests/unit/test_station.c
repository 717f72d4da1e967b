/* test_station.c — the Basics Station binding: EUI spellings, the name
 * template, request targets, the /router-info message. */
#include <string.h>

#include "err.h"
#include "station.h"
#include "tap.h"

#define EUI 0xb827ebfffe611234ULL

static int
eui_is(const char *s, uint64_t want)
{
	uint64_t v = 0;

	return station_eui_parse(s, strlen(s), &v) == DP_OK && v == want;
}

static int
eui_bad(const char *s)
{
	uint64_t v;

	return station_eui_parse(s, strlen(s), &v) == DP_ERR_INVALID;
}

static void
test_eui(void)
{
	char buf[17];

	ok(eui_is("b827ebfffe611234", EUI), "hex");
	ok(eui_is("B827EBFFFE611234", EUI), "hex, upper case");
	ok(eui_is("0xb827ebfffe611234", EUI), "0x hex");
	ok(eui_is("B8-27-EB-FF-FE-61-12-34", EUI), "dashed pairs");
	ok(eui_is("b8:27:eb:ff:fe:61:12:34", EUI), "colon pairs");
	ok(eui_is("b827:ebff:fe61:1234", EUI), "ID6");
	ok(eui_is("eui-b827ebfffe611234", EUI), "eui- hex (The Things Stack)");
	ok(eui_is("EUI-b827:ebff:fe61:1234", EUI), "eui- ID6");
	ok(eui_is("::1", 1), "ID6 ::1");
	ok(eui_is("::a:b", 0x000a000bULL), "ID6 ::a:b");
	ok(eui_is("1::", 0x0001000000000000ULL), "ID6 1::");
	ok(eui_is("1:2::", 0x0001000200000000ULL), "ID6 1:2::");
	ok(eui_is("1::2", 0x0001000000000002ULL), "ID6 1::2");
	ok(eui_is("0:0:0:0", 0), "ID6 all zero groups");
	ok(eui_bad("b827ebfffe61123"), "15 hex digits refused");
	ok(eui_bad("b827ebfffe6112345"), "17 hex digits refused");
	ok(eui_bad("b827ebfffe61123g"), "non-hex digit refused");
	ok(eui_bad("B8-27-EB-FF-FE-61-12"), "seven pairs refused");
	ok(eui_bad("B8-27-EB-FF-FE-61:12-34"), "mixed separators refused");
	ok(eui_bad("b827:ebff:fe61"), "ID6 with three groups refused");
	ok(eui_bad("b827:ebff:fe61:12345"), "ID6 group of 5 digits refused");
	ok(eui_bad("1::2::3"), "two :: refused");
	ok(eui_bad("1:2:3::4"), ":: standing for no group refused");
	ok(eui_bad(":1:2:3"), "leading single colon refused");
	ok(eui_bad(""), "empty refused");
	ok(eui_bad("eui-"), "bare eui- refused");
	ok(eui_bad("router-info"), "router-info is no EUI");
	ok(eui_bad("gateway"), "gateway is no EUI");
	station_eui_format(EUI, buf);
	is_str(buf, "b827ebfffe611234", "format: 16 lower-case hex digits");
	station_eui_format(1, buf);
	is_str(buf, "0000000000000001", "format: leading zeros");
}

static void
test_template(void)
{
	const char *why = NULL;
	uint64_t v = 0;

	is_int(station_template_check("eui-{eui}.gw.example.net", &why), DP_OK,
	    "template: {eui} inside a label");
	is_int(station_template_check("{eui}.gw.example.net", &why), DP_OK,
	    "template: {eui} as a whole label");
	is_int(station_template_check("_lns.{eui}.example.net", &why), DP_OK,
	    "template: underscore label");
	is_int(station_template_check("gw.example.net", &why), DP_ERR_INVALID,
	    "template: no {eui}");
	is_int(station_template_check("{eui}.{eui}.example.net", &why),
	    DP_ERR_INVALID, "template: two {eui}");
	is_int(station_template_check("eui {eui}.example.net", &why),
	    DP_ERR_INVALID, "template: a space");
	is_int(station_template_check("{eui}.example.net.", &why),
	    DP_ERR_INVALID, "template: trailing dot");
	is_int(station_template_check("{eui}..example.net", &why),
	    DP_ERR_INVALID, "template: empty label");
	is_int(station_template_check("{eui}0123456789012345678901234567890123456789"
	    "01234567.net", &why), DP_ERR_INVALID, "template: label over 63");
	is_int(station_template_check("{EUI}.example.net", &why), DP_ERR_INVALID,
	    "template: {EUI} is not the placeholder");

	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "eui-b827ebfffe611234.gw.example.net", &v), DP_OK, "match");
	ok(v == EUI, "match: the EUI");
	is_int(station_template_match("eui-{eui}.GW.example.net",
	    "eui-b827ebfffe611234.gw.example.net", &v), DP_OK,
	    "match: fixed parts compare case-insensitively");
	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "eui-B827EBFFFE611234.gw.example.net", &v), DP_ERR_DENIED,
	    "match: upper-case hex refused");
	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "eui-b827ebfffe61123.gw.example.net", &v), DP_ERR_DENIED,
	    "match: 15 digits refused");
	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "eui-b827ebfffe6112345.gw.example.net", &v), DP_ERR_DENIED,
	    "match: 17 digits refused");
	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "eui-b827ebfffe611234.gw.example.org", &v), DP_ERR_DENIED,
	    "match: another suffix refused");
	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "x.eui-b827ebfffe611234.gw.example.net", &v), DP_ERR_DENIED,
	    "match: an extra label refused");
	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "eui-b827-ebff-fe61-1234.gw.example.net", &v), DP_ERR_DENIED,
	    "match: another spelling in the name refused");
	is_int(station_template_match("eui-{eui}.gw.example.net",
	    "ns1.example.net", &v), DP_ERR_DENIED, "match: unrelated name");
}

static enum station_verdict
target(const char *t, uint64_t *claimed, int *ri)
{
	return station_target_check(t, strlen(t), EUI, claimed, ri);
}

static void
test_target(void)
{
	uint64_t c = 0;
	int ri = -1;

	is_int(target("/gateway/b827ebfffe611234", &c, &ri), STATION_PASS,
	    "target: own EUI, hex");
	is_int(ri, 0, "target: not router-info");
	is_int(target("/gateway/B8-27-EB-FF-FE-61-12-34", &c, &ri), STATION_PASS,
	    "target: own EUI, dashed");
	is_int(target("/gateway/b827:ebff:fe61:1234", &c, &ri), STATION_PASS,
	    "target: own EUI, ID6");
	is_int(target("/traffic/eui-b827ebfffe611234", &c, &ri), STATION_PASS,
	    "target: own EUI, The Things Stack's path");
	is_int(target("/gateway/b827ebfffe611235", &c, &ri), STATION_EUI_MISMATCH,
	    "target: another EUI");
	ok(c == 0xb827ebfffe611235ULL, "target: the claimed EUI");
	is_int(target("/traffic/eui-b827ebfffe611235", &c, &ri),
	    STATION_EUI_MISMATCH, "target: another EUI after eui-");
	is_int(target("/gateway/b827ebfffe611235/x", &c, &ri), STATION_EUI_MISMATCH,
	    "target: another EUI in a middle segment");
	is_int(target("/gateway/b827ebfffe611235?x=1", &c, &ri),
	    STATION_EUI_MISMATCH, "target: query ignored, path checked");
	is_int(target("/gateway/b827ebfffe611234?eui=b827ebfffe611235", &c, &ri),
	    STATION_PASS, "target: an EUI in the query is not a path segment");
	is_int(target("/gateway/x%2Fb827ebfffe611235", &c, &ri),
	    STATION_EUI_MISMATCH, "target: %%2F decoded before splitting");
	is_int(target("/gateway/b827%3aebff%3afe61%3a1235", &c, &ri),
	    STATION_EUI_MISMATCH, "target: %%3A decoded");
	is_int(target("/gateway/b827ebfffe611235/", &c, &ri), STATION_EUI_MISMATCH,
	    "target: trailing slash");
	is_int(target("/gateway/b827ebfffe611235;x=1", &c, &ri),
	    STATION_EUI_MISMATCH, "target: EUI before a path parameter");
	is_int(target("/router-info;v=2", &c, &ri), STATION_PASS,
	    "target: router-info before a path parameter");
	is_int(ri, 1, "target: router-info seen before ';'");
	is_int(target("/gateway/b827%253aebff%253afe61%253a1235", &c, &ri),
	    STATION_BAD, "target: double-encoded escape refused");
	is_int(target("/gateway/%zz", &c, &ri), STATION_BAD, "target: bad escape");
	is_int(target("/gateway/%0a", &c, &ri), STATION_BAD,
	    "target: escaped control character");
	is_int(target("/gateway/%", &c, &ri), STATION_BAD, "target: cut escape");
	is_int(target("http://lns/gateway/b827ebfffe611235", &c, &ri), STATION_BAD,
	    "target: absolute form refused");
	is_int(target("*", &c, &ri), STATION_BAD, "target: asterisk form refused");
	is_int(target("/router-info", &c, &ri), STATION_PASS, "target: router-info");
	is_int(ri, 1, "target: router-info seen");
	is_int(target("/lns/ROUTER-INFO?x", &c, &ri), STATION_PASS,
	    "target: router-info behind a prefix, any case");
	is_int(ri, 1, "target: router-info seen again");
	is_int(target("/", &c, &ri), STATION_PASS, "target: no EUI at all");
	is_int(target("/api/add/feed/cafe", &c, &ri), STATION_PASS,
	    "target: short hex words are no EUI");
}

static enum station_verdict
ri(const char *msg, uint64_t *claimed)
{
	return station_router_info_check(msg, strlen(msg), EUI, claimed);
}

static void
test_router_info(void)
{
	uint64_t c = 0;
	char big[STATION_ROUTER_INFO_MAX + 64];

	is_int(ri("{\"router\":\"b827:ebff:fe61:1234\"}", &c), STATION_PASS,
	    "router-info: ID6, as Station sends it");
	is_int(ri("{\"router\": \"B8-27-EB-FF-FE-61-12-34\"}", &c), STATION_PASS,
	    "router-info: dashed");
	is_int(ri("{\"router\":\"b827ebfffe611234\"}", &c), STATION_PASS,
	    "router-info: hex");
	is_int(ri("{\"router\":-5176909761922133452}", &c), STATION_PASS,
	    "router-info: integer (two's complement)");
	is_int(ri("{\"router\":\"b827:ebff:fe61:1235\"}", &c), STATION_EUI_MISMATCH,
	    "router-info: another EUI");
	ok(c == 0xb827ebfffe611235ULL, "router-info: the claimed EUI");
	is_int(ri("{\"router\":\"b827:ebff:fe61:1234\",\"router\":\"::1\"}", &c),
	    STATION_BAD, "router-info: duplicate key refused");
	is_int(ri("{\"router\":\"::1\",\"router\":\"b827:ebff:fe61:1234\"}", &c),
	    STATION_BAD, "router-info: duplicate key refused, either order");
	is_int(ri("{}", &c), STATION_BAD, "router-info: no router");
	is_int(ri("[\"b827:ebff:fe61:1234\"]", &c), STATION_BAD, "router-info: array");
	is_int(ri("{\"router\":true}", &c), STATION_BAD, "router-info: boolean");
	is_int(ri("{\"router\":1.5}", &c), STATION_BAD, "router-info: real");
	is_int(ri("{\"router\":\"nonsense\"}", &c), STATION_BAD,
	    "router-info: unreadable EUI");
	is_int(ri("{\"router\":18446744073709551615}", &c), STATION_BAD,
	    "router-info: integer beyond 64 bits signed refused");
	is_int(ri("{\"router\":\"b827:ebff:fe61:1234\"} x", &c), STATION_BAD,
	    "router-info: trailing garbage");
	is_int(ri("{\"router\":\"b827:ebff:fe61:1234\"", &c), STATION_BAD,
	    "router-info: cut");
	is_int(station_router_info_check("{\"router\":\"::1\"}\0", 17, 1, &c),
	    STATION_BAD, "router-info: NUL inside");
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"router\":\"b827:ebff:fe61:1234\"", 31);
	big[sizeof(big) - 1] = '}';
	is_int(station_router_info_check(big, sizeof(big), EUI, &c), STATION_BAD,
	    "router-info: over 4 KiB refused");
}

int
main(void)
{
	test_eui();
	test_template();
	test_target();
	test_router_info();
	return done_testing();
}
