/* station.h — LoRa Basics Station bound to its DANE name (station_binding):
 * the EUI-64 spellings Station and the LNSs use, the name template holding
 * {eui}, the EUIs a request target carries, and the /router-info message.
 * Pure: no I/O, no logging; unit-tested and fuzzed.
 *
 * Facts it rests on (Basics Station 2.0.6, src/tc.c, src/uj.c, src/rt.c,
 * src/cups.c): the station sends {"router": ID6} as the first message on
 * /router-info and in the POST /update-info body; ID6 is four 16-bit groups
 * in hex with IPv6's "::" for zero groups ("b827:ebff:fe61:1234", "::1");
 * an LNS reads an EUI also as hex digits, as dashed or colon pairs, or as a
 * JSON integer. The muxs URI it is sent to is /gateway/<EUI> (ChirpStack's
 * gateway bridge: the last path segment, 16 hex digits) or
 * /traffic/eui-<EUI> (The Things Stack). */
#ifndef DP_STATION_H
#define DP_STATION_H

#include <stddef.h>
#include <stdint.h>

#define STATION_EUI_PLACEHOLDER "{eui}"
#define STATION_ROUTER_INFO_MAX 4096	/* bytes of the /router-info message */

/* What a check of a request target or a message concluded. */
enum station_verdict {
	STATION_PASS = 0,	/* carries no EUI, or only the station's */
	STATION_EUI_MISMATCH,	/* carries another EUI (claimed set) */
	STATION_BAD,		/* cannot be read safely: refuse */
};

/* Parses one spelling of an EUI-64 (len bytes, not NUL-terminated), case
 * insensitive: 16 hex digits ("b827ebfffe611234", also after "0x"); eight
 * pairs joined by '-' or ':' ("B8-27-EB-FF-FE-61-12-34"); ID6, four groups
 * of 1-4 hex digits joined by ':' with at most one "::" standing for two or
 * more zero groups ("b827:ebff:fe61:1234", "::1", "1::", "1::2"); any of
 * these after "eui-" (The Things Stack's gateway ids). Nothing else: no
 * shortened hex, no other separator. Returns DP_OK and *eui, or
 * DP_ERR_INVALID. */
int station_eui_parse(const char *s, size_t len, uint64_t *eui);

/* Writes eui as 16 lower-case hex digits and a NUL (buf >= 17 bytes). */
void station_eui_format(uint64_t eui, char *buf);

/* Checks a station_binding template: exactly one "{eui}"; with 16 hex
 * digits in its place a valid DNS name (dp_dns_name_check: letters,
 * digits, '-', '_', labels of 1-63, at most 253 in all), no trailing dot.
 * Returns DP_OK, or DP_ERR_INVALID with *why set to a static text. */
int station_template_check(const char *tmpl, const char **why);

/* Matches an authenticated name against a checked template: the fixed
 * parts compare case-insensitively, {eui} must be exactly 16 lower-case hex
 * digits. Returns DP_OK and *eui, or DP_ERR_DENIED. */
int station_template_match(const char *tmpl, const char *name, uint64_t *eui);

/* Checks a request target (target_len bytes) for a station whose EUI is eui.
 * The target must be origin-form ("/..."); its path (up to '?' or '#') is
 * percent-decoded first (an upstream splitting the decoded path must not see
 * a segment this check did not), then every '/'-separated segment (up to
 * a ';', for servers that drop path parameters) that reads as an EUI
 * (station_eui_parse) must be eui. *router_info is set to 1 when a segment
 * is "router-info" (any case), else 0. Returns STATION_PASS,
 * STATION_EUI_MISMATCH with *claimed (the first other EUI), or STATION_BAD
 * (not origin-form, an empty target, a bad escape, a control character or
 * a '%' once decoded: an upstream decoding twice would see another path). */
enum station_verdict station_target_check(const char *target, size_t target_len,
    uint64_t eui, uint64_t *claimed, int *router_info);

/* Checks the first message of /router-info (len bytes of a text message):
 * a JSON object (libjansson, duplicate keys refused, nothing after it)
 * whose "router" is eui, as a string in a station_eui_parse spelling or as
 * a JSON integer (negative values read as two's complement, as Station's
 * test tools write them). Returns STATION_PASS, STATION_EUI_MISMATCH with
 * *claimed, or STATION_BAD (not JSON, not an object, no or an unreadable
 * "router", longer than STATION_ROUTER_INFO_MAX). */
enum station_verdict station_router_info_check(const char *msg, size_t len,
    uint64_t eui, uint64_t *claimed);

#endif
