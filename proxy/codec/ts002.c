/* ts002.c — a TS002 (LoRaWAN Backend Interfaces 1.0/1.1) body parsed and
 * checked, and the answer that rejects a request. The map file is in
 * ts002_map.c.
 *
 * The body is read by libjansson with JSON_REJECT_DUPLICATES: two
 * "SenderID" keys are a classic parser differential (we would bind the
 * first, the backend might act on the last), so such a body is refused.
 * json_loadb also refuses trailing bytes after the value (we never pass
 * JSON_DISABLE_EOF_CHECK), a top level that is not an object or array
 * (never JSON_DECODE_ANY), a NUL byte or \u0000 (never JSON_ALLOW_NUL) and
 * invalid UTF-8. Nesting is bounded by jansson itself (JSON_PARSER_MAX_DEPTH,
 * 2048 levels); the body's size is bounded by the caller (ts002_max_body). */
#include "ts002.h"

#include <jansson.h>
#include <string.h>

#include "err.h"
#include "util.h"

/* Which identifier each side of a message type carries (TS002 1.0 §16.2 /
 * 1.1 §23.2, the "Backend Message Types" table with the sending and
 * receiving entity of each message):
 * - JoinReq, RejoinReq, HomeNSReq go from a NS (SenderID = its NetID) to
 *   the JS (ReceiverID = the JoinEUI, which names the JS); their answers go
 *   back, IDs swapped.
 * - PRStart/PRStop (passive roaming, sNS <-> hNS, fNS <-> sNS), HRStart/
 *   HRStop (handover roaming, hNS <-> sNS), ProfileReq (sNS -> hNS),
 *   XmitDataReq (between NSs) and XmitLocReq (1.1, between NSs) carry a
 *   NetID on both sides. TS002 1.1 and The Things Stack spell it
 *   "XmitLocReq"/"XmitLocAns" (transmit location); the contract in ts002.h
 *   was written "XmitLockReq". Both spellings are accepted, and the answer
 *   keeps the spelling of its request.
 * - The version is not checked against the type (RejoinReq is 1.1 only in
 *   The Things Stack's table): binding a SenderID does not depend on it, and
 *   the backend answers a type its version lacks itself.
 * - AppSKeyReq goes from an AS to the JS: its SenderID is an AS-ID, the
 *   ReceiverID the JoinEUI; AppSKeyAns goes back, IDs swapped. TS002 says
 *   only "ASCII string in case of AS-ID": no kind of hex, no length. It is
 *   read as TS002_ID_ASID (ts002_asid_check: 1..255 printable ASCII
 *   characters without '"', '\\', ';' or ','), kept as sent, and bound by
 *   the map's "as:" lines or, with ts002_binding = dns, by lying under the
 *   authenticated name's organisational domain (ts002_dns.c). An AS-ID is
 *   never read as hex: "000013" in the AS side of AppSKeyReq is an AS-ID,
 *   not a NetID, so no NetID line or NetID record can bind it. */
struct ts002_type {
	const char *name;
	enum ts002_id_kind sender;
	enum ts002_id_kind receiver;
};

#define N TS002_ID_NETID
#define E TS002_ID_EUI
#define A TS002_ID_ASID
static const struct ts002_type ts002_types[] = {
	{ "JoinReq", N, E },		{ "JoinAns", E, N },
	{ "RejoinReq", N, E },		{ "RejoinAns", E, N },
	{ "HomeNSReq", N, E },		{ "HomeNSAns", E, N },
	{ "AppSKeyReq", A, E },		{ "AppSKeyAns", E, A },
	{ "PRStartReq", N, N },		{ "PRStartAns", N, N },
	{ "PRStopReq", N, N },		{ "PRStopAns", N, N },
	{ "HRStartReq", N, N },		{ "HRStartAns", N, N },
	{ "HRStopReq", N, N },		{ "HRStopAns", N, N },
	{ "ProfileReq", N, N },		{ "ProfileAns", N, N },
	{ "XmitDataReq", N, N },	{ "XmitDataAns", N, N },
	{ "XmitLocReq", N, N },		{ "XmitLocAns", N, N },
	{ "XmitLockReq", N, N },	{ "XmitLockAns", N, N },
};
#undef N
#undef E
#undef A

static const struct ts002_type *
ts002_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ts002_types) / sizeof(ts002_types[0]); i++)
		if (strcmp(ts002_types[i].name, name) == 0)
			return &ts002_types[i];
	return NULL;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ts002_hex_id(const char *s, size_t len, enum ts002_id_kind *kind,
    uint64_t *value)
{
	uint64_t v = 0;
	size_t i;
	int d;

	if (s == NULL || (len != TS002_NETID_DIGITS && len != TS002_EUI_DIGITS))
		return DP_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if ((d = hex_digit(s[i])) < 0)
			return DP_ERR_INVALID;
		v = (v << 4) | (uint64_t)d;
	}
	if (kind != NULL)
		*kind = len == TS002_NETID_DIGITS ? TS002_ID_NETID : TS002_ID_EUI;
	if (value != NULL)
		*value = v;
	return DP_OK;
}

int
ts002_asid_check(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0 || len > TS002_ASID_MAX)
		return DP_ERR_INVALID;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* Explicit ranges: locale-independent, and no octet >= 0x80,
		 * no space and no control can pass. */
		if (c < 0x21 || c > 0x7e || c == '"' || c == '\\' ||
		    c == ';' || c == ',')
			return DP_ERR_INVALID;
	}
	return DP_OK;
}

static void
set_why(char *why, size_t why_size, const char *reason)
{
	if (why != NULL && why_size > 0)
		dp_strlcpy(why, reason, why_size);
}

/* Copies member key of o, a string, into dst (size dst_size) when it is
 * shorter than dst_size. Returns the member's length or -1. */
static int
get_string(json_t *o, const char *key, char *dst, size_t dst_size)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (v == NULL || !json_is_string(v))
		return -1;
	n = json_string_length(v);
	/* A string with a NUL inside cannot come from jansson without
	 * JSON_ALLOW_NUL; checked anyway so a change of flags cannot smuggle
	 * "0a0b0c\0junk" past the hex check. */
	if (n >= dst_size || strlen(json_string_value(v)) != n)
		return -1;
	memcpy(dst, json_string_value(v), n + 1);
	return (int)n;
}

/* Reads the ID member key into dst (TS002_ID_MAX bytes): an AS-ID as sent
 * when want is TS002_ID_ASID, else hex of exactly the length want gives,
 * stored lower-case. */
static int
get_id(json_t *o, const char *key, enum ts002_id_kind want, char *dst)
{
	enum ts002_id_kind kind;
	int n;

	if ((n = get_string(o, key, dst, TS002_ID_MAX)) < 0)
		return DP_ERR_INVALID;
	if (want == TS002_ID_ASID)
		return ts002_asid_check(dst, (size_t)n);
	if (ts002_hex_id(dst, (size_t)n, &kind, NULL) != DP_OK || kind != want)
		return DP_ERR_INVALID;
	dp_str_lower(dst);
	return DP_OK;
}

/* Why member key (SenderID or ReceiverID) of kind was refused. */
static const char *
id_reason(const char *key, enum ts002_id_kind kind)
{
	int sender = strcmp(key, "SenderID") == 0;

	switch (kind) {
	case TS002_ID_EUI:
		return sender ? "SenderID is not a JoinEUI (16 hex digits)" :
		    "ReceiverID is not a JoinEUI (16 hex digits)";
	case TS002_ID_ASID:
		return sender ? "SenderID is not an AS-ID (1..255 printable "
		    "ASCII, no quote, backslash, ';' or ',')" :
		    "ReceiverID is not an AS-ID (1..255 printable ASCII, no "
		    "quote, backslash, ';' or ',')";
	case TS002_ID_NETID:
	default:
		return sender ? "SenderID is not a NetID (6 hex digits)" :
		    "ReceiverID is not a NetID (6 hex digits)";
	}
}

int
ts002_parse(const char *body, size_t len, struct ts002_msg *m, char *why,
    size_t why_size)
{
	const struct ts002_type *t;
	json_t *root = NULL, *v;
	json_error_t jerr;
	json_int_t tid;
	struct ts002_msg out;
	const char *reason = "internal error";
	int r = DP_ERR_INVALID;

	memset(&out, 0, sizeof(out));
	if (body == NULL || m == NULL) {
		reason = "no body";
		goto out;
	}
	/* flags: see the head of this file for what the defaults refuse. */
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		reason = strstr(jerr.text, "duplicate") != NULL ?
		    "duplicate object key" : "not valid JSON";
		goto out;
	}
	if (!json_is_object(root)) {
		reason = "top level is not an object";
		goto out;
	}
	if (get_string(root, "ProtocolVersion", out.protocol_version,
	    sizeof(out.protocol_version)) < 0 ||
	    (strcmp(out.protocol_version, "1.0") != 0 &&
	    strcmp(out.protocol_version, "1.1") != 0)) {
		reason = "ProtocolVersion is not \"1.0\" or \"1.1\"";
		goto out;
	}
	if (get_string(root, "MessageType", out.message_type,
	    sizeof(out.message_type)) < 0 ||
	    (t = ts002_type_find(out.message_type)) == NULL) {
		reason = "unknown MessageType";
		goto out;
	}
	/* every name of the table ends in "Req" or "Ans" */
	out.is_answer = strcmp(out.message_type +
	    strlen(out.message_type) - 3, "Ans") == 0;
	out.sender_kind = t->sender;
	out.receiver_kind = t->receiver;
	if (get_id(root, "SenderID", out.sender_kind, out.sender_id) != DP_OK) {
		reason = id_reason("SenderID", out.sender_kind);
		goto out;
	}
	if (get_id(root, "ReceiverID", out.receiver_kind, out.receiver_id) !=
	    DP_OK) {
		reason = id_reason("ReceiverID", out.receiver_kind);
		goto out;
	}
	/* TS002: TransactionID is a number (uint32). A real such as 1.0 or 1e3
	 * is a different type to jansson and is refused. */
	v = json_object_get(root, "TransactionID");
	if (v == NULL || !json_is_integer(v) ||
	    (tid = json_integer_value(v)) < 0 || tid > (json_int_t)UINT32_MAX) {
		reason = "TransactionID is not an integer in 0..4294967295";
		goto out;
	}
	out.transaction_id = (uint32_t)tid;
	*m = out;
	reason = NULL;
	r = DP_OK;
out:
	if (reason != NULL)
		set_why(why, why_size, reason);
	json_decref(root);
	return r;
}

/* The answer type of a request type: "JoinReq" -> "JoinAns". */
static int
answer_type(const char *req, char *ans, size_t ans_size)
{
	size_t n = strlen(req);

	if (n < 4 || n >= ans_size || strcmp(req + n - 3, "Req") != 0)
		return DP_ERR_INVALID;
	memcpy(ans, req, n - 3);
	memcpy(ans + n - 3, "Ans", 4);
	return DP_OK;
}

char *
ts002_reject_answer(const struct ts002_msg *m, const char *result_code,
    const char *description, size_t *len)
{
	char ans[TS002_TYPE_MAX];
	json_t *root = NULL;
	char *text = NULL;

	if (m == NULL || result_code == NULL || m->is_answer ||
	    answer_type(m->message_type, ans, sizeof(ans)) != DP_OK)
		goto out;
	/* Description is optional in TS002; left out when NULL. jansson keeps
	 * the insertion order, so the text reads as TS002's examples do. */
	root = json_pack("{s:s, s:s, s:s, s:I, s:s, s:{s:s, s:s*}}",
	    "ProtocolVersion", m->protocol_version,
	    "SenderID", m->receiver_id,
	    "ReceiverID", m->sender_id,
	    "TransactionID", (json_int_t)m->transaction_id,
	    "MessageType", ans,
	    "Result", "ResultCode", result_code,
	    "Description", description);
	if (root == NULL)
		goto out;
	/* json_dumps allocates with jansson's allocator, malloc by default,
	 * which this program never replaces: the caller frees with free(). */
	text = json_dumps(root, JSON_COMPACT);
	if (text != NULL && len != NULL)
		*len = strlen(text);
out:
	json_decref(root);
	return text;
}
