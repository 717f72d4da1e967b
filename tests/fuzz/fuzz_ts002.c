/* fuzz_ts002.c — libFuzzer target for the TS002 codec. Checks invariants,
 * not just crashes: whatever ts002_parse accepts has a known version and
 * type, hex IDs of exactly the length their kind has, stored lower-case,
 * AS-IDs (AppSKeyReq/Ans only) of 1..255 characters of their charset,
 * stored as sent, and agrees with jansson read without
 * JSON_REJECT_DUPLICATES (no parser
 * differential got through); the reject answer of an accepted request is
 * JSON whose IDs are the request's swapped, TransactionID echoed, and it
 * parses back as the matching answer; ts002_map_binds agrees with a
 * reference computed here for a fixed map, and so does the dns rule for an
 * AS-ID. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "ts002.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static const char MAP_TEXT[] =
    "000013 ns.a.example\n"
    "600000/3 *.roam.example\n"
    "0102030405060000-01020304050600ff js.example\n"
    "as:as.example.net as.a.example\n";

/* The fixed map, loaded once from a temporary file (kept for the life of
 * the process, reachable, so not a leak). */
static struct ts002_map *
fixed_map(void)
{
	static struct ts002_map *map;
	static int tried;
	char path[] = "/tmp/fuzz_ts002.XXXXXX";
	int fd;

	if (tried)
		return map;
	tried = 1;
	fd = mkstemp(path);
	check(fd >= 0);
	check(write(fd, MAP_TEXT, sizeof(MAP_TEXT) - 1) ==
	    (ssize_t)(sizeof(MAP_TEXT) - 1));
	close(fd);
	check(ts002_map_load(path, NULL, &map) == DP_OK);
	unlink(path);
	return map;
}

static int
is_lower_hex(const char *s, size_t want)
{
	size_t i;

	if (strlen(s) != want)
		return 0;
	for (i = 0; i < want; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* An AS-ID of the allowed charset, independently of ts002_asid_check. */
static int
is_asid(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > TS002_ASID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || strchr("\"\\;,", c) != NULL)
			return 0;
	}
	return 1;
}

/* An ID well-formed for its kind as the codec stores it. */
static int
id_ok(const char *id, enum ts002_id_kind k)
{
	switch (k) {
	case TS002_ID_NETID:
		return is_lower_hex(id, TS002_NETID_DIGITS);
	case TS002_ID_EUI:
		return is_lower_hex(id, TS002_EUI_DIGITS);
	case TS002_ID_ASID:
		return is_asid(id);
	}
	return 0;
}

/* The same member read by plain jansson: hex compared case-insensitively,
 * an AS-ID exactly. */
static int
same_id(json_t *o, const char *key, const char *id, enum ts002_id_kind k)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (v == NULL)
		return 0;
	return k == TS002_ID_ASID ? strcmp(v, id) == 0 :
	    strcasecmp(v, id) == 0;
}

static void
check_binds(const struct ts002_msg *m)
{
	static const char *const names[] = {
		"ns.a.example", "x.roam.example", "roam.example", "js.example",
		"other.example", "as.a.example",
	};
	uint64_t v = 0;
	enum ts002_id_kind k;
	size_t i;
	int want;

	if (m->sender_kind == TS002_ID_ASID) {
		/* only the as: line, exactly, case included */
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			want = i == 5 && strcmp(m->sender_id,
			    "as.example.net") == 0;
			check(ts002_map_binds(fixed_map(), m, names[i]) ==
			    want);
		}
		return;
	}
	check(ts002_hex_id(m->sender_id, strlen(m->sender_id), &k, &v) ==
	    DP_OK && k == m->sender_kind);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (k == TS002_ID_NETID)
			want = (i == 0 && v == 0x000013) ||
			    (i == 1 && v >= 0x600000 && v <= 0x7fffff);
		else
			want = i == 3 && v >= 0x0102030405060000ULL &&
			    v <= 0x01020304050600ffULL;
		check(ts002_map_binds(fixed_map(), m, names[i]) == want);
	}
}

/* ts002_binding = dns for an AS-ID agrees with a reference: a DNS name
 * equal to example.net or under it, whatever its case. */
static void
check_asid_dns(const char *asid)
{
	static const char org[] = "example.net";
	size_t n = strlen(asid), o = sizeof(org) - 1;
	int want;

	want = dp_dns_name_check(asid, n) == DP_OK &&
	    (strcasecmp(asid, org) == 0 || (n > o + 1 && asid[n - o - 1] == '.' &&
	    strcasecmp(asid + n - o, org) == 0));
	check(ts002_asid_under_domain(asid, org) == want);
}

static void
check_answer(const struct ts002_msg *m)
{
	struct ts002_msg back;
	json_error_t jerr;
	json_t *a, *res;
	char ans_type[TS002_TYPE_MAX], why[128];
	size_t len = 0, n;
	char *text;

	text = ts002_reject_answer(m, TS002_RC_UNKNOWN_SENDER,
	    "fuzz \"description\"", &len);
	check(text != NULL && len == strlen(text));
	a = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	check(a != NULL && json_is_object(a));
	check(same_id(a, "SenderID", m->receiver_id, m->receiver_kind));
	check(same_id(a, "ReceiverID", m->sender_id, m->sender_kind));
	check(json_integer_value(json_object_get(a, "TransactionID")) ==
	    (json_int_t)m->transaction_id);
	n = strlen(m->message_type);
	memcpy(ans_type, m->message_type, n - 3);
	memcpy(ans_type + n - 3, "Ans", 4);
	check(strcmp(json_string_value(json_object_get(a, "MessageType")),
	    ans_type) == 0);
	check(strcmp(json_string_value(json_object_get(a, "ProtocolVersion")),
	    m->protocol_version) == 0);
	res = json_object_get(a, "Result");
	check(strcmp(json_string_value(json_object_get(res, "ResultCode")),
	    "UnknownSender") == 0);
	json_decref(a);

	check(ts002_parse(text, len, &back, why, sizeof(why)) == DP_OK);
	check(back.is_answer == 1);
	check(strcmp(back.sender_id, m->receiver_id) == 0);
	check(strcmp(back.receiver_id, m->sender_id) == 0);
	check(back.sender_kind == m->receiver_kind);
	check(back.receiver_kind == m->sender_kind);
	check(back.transaction_id == m->transaction_id);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ts002_msg m;
	json_error_t jerr;
	json_t *plain;
	char why[128];
	size_t n;
	int r;

	why[0] = '\0';
	r = ts002_parse((const char *)data, size, &m, why, sizeof(why));
	if (r != DP_OK) {
		check(r == DP_ERR_INVALID && why[0] != '\0');
		return 0;
	}
	check(strcmp(m.protocol_version, "1.0") == 0 ||
	    strcmp(m.protocol_version, "1.1") == 0);
	n = strlen(m.message_type);
	check(n > 3 && n < TS002_TYPE_MAX);
	check(strcmp(m.message_type + n - 3, m.is_answer ? "Ans" : "Req") == 0);
	/* AS-IDs exactly on the AS side of AppSKeyReq/Ans */
	check((m.sender_kind == TS002_ID_ASID) ==
	    (strcmp(m.message_type, "AppSKeyReq") == 0));
	check((m.receiver_kind == TS002_ID_ASID) ==
	    (strcmp(m.message_type, "AppSKeyAns") == 0));
	check(id_ok(m.sender_id, m.sender_kind));
	check(id_ok(m.receiver_id, m.receiver_kind));
	check(ts002_asid_check(m.sender_id, strlen(m.sender_id)) == DP_OK ||
	    m.sender_kind != TS002_ID_ASID);

	/* No differential: jansson without the duplicate check reads the same
	 * IDs and TransactionID. */
	plain = json_loadb((const char *)data, size, 0, &jerr);
	check(plain != NULL);
	check(same_id(plain, "SenderID", m.sender_id, m.sender_kind));
	check(same_id(plain, "ReceiverID", m.receiver_id, m.receiver_kind));
	check(json_integer_value(json_object_get(plain, "TransactionID")) ==
	    (json_int_t)m.transaction_id);
	json_decref(plain);

	check_binds(&m);
	if (m.sender_kind == TS002_ID_ASID)
		check_asid_dns(m.sender_id);
	if (!m.is_answer)
		check_answer(&m);
	else
		check(ts002_reject_answer(&m, "Other", NULL, NULL) == NULL);
	return 0;
}
