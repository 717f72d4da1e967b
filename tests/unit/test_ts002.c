/* test_ts002.c — the TS002 codec: bodies parsed and refused, the reject
 * answer, the map file. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "tap.h"
#include "ts002.h"

/* A JoinReq as a NS sends it to a JS (TS002 1.0, JoinReq with the fields
 * of its message table). */
static const char JOINREQ[] =
    "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"00000C\","
    "\"ReceiverID\":\"70B3D57ED0000001\",\"TransactionID\":1234567890,"
    "\"MessageType\":\"JoinReq\",\"SenderToken\":\"0a0b\","
    "\"MACVersion\":\"1.0.3\","
    "\"PHYPayload\":\"00010000D07ED5B370A8F80F03FE5A020089D7F2CB3C\","
    "\"DevEUI\":\"0004A30B001C0530\",\"DevAddr\":\"01A2B3C4\","
    "\"DLSettings\":\"00\",\"RxDelay\":1,"
    "\"CFList\":\"184F84E85684B85E84886684586E8400\"}";

static const char JOINANS[] =
    "{\"ProtocolVersion\":\"1.1\",\"SenderID\":\"70b3d57ed0000001\","
    "\"ReceiverID\":\"00000c\",\"TransactionID\":1234567890,"
    "\"MessageType\":\"JoinAns\",\"ReceiverToken\":\"0a0b\","
    "\"Result\":{\"ResultCode\":\"Success\"},"
    "\"PHYPayload\":\"20493eeb51fba2116f810edb3742975142\","
    "\"Lifetime\":0,\"AppSKey\":{\"KEKLabel\":\"\","
    "\"AESKey\":\"2b7e151628aed2a6abf7158809cf4f3c\"}}";

static const char PRSTARTREQ[] =
    "{\"ProtocolVersion\":\"1.1\",\"SenderID\":\"600013\","
    "\"ReceiverID\":\"000013\",\"TransactionID\":7,"
    "\"MessageType\":\"PRStartReq\","
    "\"PHYPayload\":\"40c4b3a2018000010163f7c82ec8\","
    "\"ULMetaData\":{\"DevAddr\":\"01a2b3c4\",\"DataRate\":5,"
    "\"ULFreq\":868.1,\"RecvTime\":\"2026-11-30T09:00:00Z\","
    "\"RFRegion\":\"EU868\",\"GWCnt\":1,\"GWInfo\":[{\"ID\":\"0102\","
    "\"RSSI\":-60,\"SNR\":9.5,\"DLAllowed\":true}]}}";

static const char HRSTARTREQ[] =
    "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000013\","
    "\"ReceiverID\":\"600013\",\"TransactionID\":4294967295,"
    "\"MessageType\":\"HRStartReq\","
    "\"PHYPayload\":\"20493eeb51fba2116f810edb3742975142\","
    "\"DevAddr\":\"01a2b3c4\",\"Lifetime\":86400,"
    "\"DeviceProfile\":{\"DeviceProfileID\":\"a\",\"MACVersion\":\"1.0.3\"},"
    "\"DLSettings\":\"00\",\"RxDelay\":1}";

static const char XMITDATAREQ[] =
    "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000013\","
    "\"ReceiverID\":\"600013\",\"TransactionID\":0,"
    "\"MessageType\":\"XmitDataReq\",\"PHYPayload\":\"60c4b3a201\","
    "\"DLMetaData\":{\"DevEUI\":\"0004a30b001c0530\",\"FPort\":1,"
    "\"DLFreq1\":868.1,\"DataRate1\":5,\"ClassMode\":\"A\","
    "\"GWInfo\":[{\"ULToken\":\"0a\"}]}}";

static int
parse(const char *s, struct ts002_msg *m, char *why, size_t why_size)
{
	return ts002_parse(s, strlen(s), m, why, why_size);
}

static void
test_realistic(void)
{
	struct ts002_msg m;
	char why[128];

	is_int(parse(JOINREQ, &m, why, sizeof(why)), DP_OK, "JoinReq parses");
	is_str(m.protocol_version, "1.0", "JoinReq: ProtocolVersion");
	is_str(m.message_type, "JoinReq", "JoinReq: MessageType");
	is_int(m.is_answer, 0, "JoinReq is a request");
	is_str(m.sender_id, "00000c", "JoinReq: SenderID lower-cased NetID");
	is_int(m.sender_kind, TS002_ID_NETID, "JoinReq: SenderID is a NetID");
	is_str(m.receiver_id, "70b3d57ed0000001",
	    "JoinReq: ReceiverID lower-cased JoinEUI");
	is_int(m.receiver_kind, TS002_ID_EUI, "JoinReq: ReceiverID is an EUI");
	ok(m.transaction_id == 1234567890u, "JoinReq: TransactionID");

	is_int(parse(JOINANS, &m, why, sizeof(why)), DP_OK, "JoinAns parses");
	is_int(m.is_answer, 1, "JoinAns is an answer");
	is_int(m.sender_kind, TS002_ID_EUI, "JoinAns: SenderID is an EUI");
	is_int(m.receiver_kind, TS002_ID_NETID,
	    "JoinAns: ReceiverID is a NetID");
	is_str(m.protocol_version, "1.1", "JoinAns: 1.1");

	is_int(parse(PRSTARTREQ, &m, why, sizeof(why)), DP_OK,
	    "PRStartReq parses");
	ok(m.sender_kind == TS002_ID_NETID && m.receiver_kind == TS002_ID_NETID,
	    "PRStartReq: NetID to NetID");
	is_str(m.sender_id, "600013", "PRStartReq: sNS NetID");

	is_int(parse(HRSTARTREQ, &m, why, sizeof(why)), DP_OK,
	    "HRStartReq parses");
	ok(m.transaction_id == 4294967295u, "TransactionID 2^32-1 accepted");
	ok(m.sender_kind == TS002_ID_NETID && m.receiver_kind == TS002_ID_NETID,
	    "HRStartReq: NetID to NetID");

	is_int(parse(XMITDATAREQ, &m, why, sizeof(why)), DP_OK,
	    "XmitDataReq parses");
	ok(m.transaction_id == 0, "TransactionID 0 accepted");

	/* Every message type of the table, both directions. */
	{
		static const char *const netid_both[] = {
			"PRStartReq", "PRStartAns", "PRStopReq", "PRStopAns",
			"HRStartReq", "HRStartAns", "HRStopReq", "HRStopAns",
			"ProfileReq", "ProfileAns", "XmitDataReq",
			"XmitDataAns", "XmitLocReq", "XmitLocAns",
			"XmitLockReq", "XmitLockAns",
		};
		static const char *const ns_to_js[] = {
			"JoinReq", "RejoinReq", "HomeNSReq",
		};
		static const char *const js_to_ns[] = {
			"JoinAns", "RejoinAns", "HomeNSAns",
		};
		char body[256];
		size_t i;

		for (i = 0; i < sizeof(netid_both) / sizeof(*netid_both); i++) {
			snprintf(body, sizeof(body), "{\"ProtocolVersion\":"
			    "\"1.1\",\"SenderID\":\"AbCdEf\",\"ReceiverID\":"
			    "\"000001\",\"TransactionID\":1,\"MessageType\":"
			    "\"%s\"}", netid_both[i]);
			is_int(parse(body, &m, why, sizeof(why)), DP_OK,
			    "%s: NetID to NetID", netid_both[i]);
		}
		for (i = 0; i < sizeof(ns_to_js) / sizeof(*ns_to_js); i++) {
			snprintf(body, sizeof(body), "{\"ProtocolVersion\":"
			    "\"1.1\",\"SenderID\":\"000001\",\"ReceiverID\":"
			    "\"0102030405060708\",\"TransactionID\":1,"
			    "\"MessageType\":\"%s\"}", ns_to_js[i]);
			is_int(parse(body, &m, why, sizeof(why)), DP_OK,
			    "%s: NetID to JoinEUI", ns_to_js[i]);
			snprintf(body, sizeof(body), "{\"ProtocolVersion\":"
			    "\"1.1\",\"SenderID\":\"0102030405060708\","
			    "\"ReceiverID\":\"000001\",\"TransactionID\":1,"
			    "\"MessageType\":\"%s\"}", js_to_ns[i]);
			is_int(parse(body, &m, why, sizeof(why)), DP_OK,
			    "%s: JoinEUI to NetID", js_to_ns[i]);
			snprintf(body, sizeof(body), "{\"ProtocolVersion\":"
			    "\"1.1\",\"SenderID\":\"0102030405060708\","
			    "\"ReceiverID\":\"000001\",\"TransactionID\":1,"
			    "\"MessageType\":\"%s\"}", ns_to_js[i]);
			is_int(parse(body, &m, why, sizeof(why)),
			    DP_ERR_INVALID, "%s: IDs the wrong way round",
			    ns_to_js[i]);
		}
		snprintf(m.sender_id, sizeof(m.sender_id), "%s", "sentinel");
		is_int(parse("{}", &m, why, sizeof(why)), DP_ERR_INVALID, "{}");
		is_str(m.sender_id, "sentinel",
		    "a refused body leaves *m as it was");
	}
	/* Whitespace around the value is JSON, not garbage. */
	{
		char body[sizeof(XMITDATAREQ) + 8];

		snprintf(body, sizeof(body), " \n%s\r\n\t", XMITDATAREQ);
		is_int(parse(body, &m, why, sizeof(why)), DP_OK,
		    "white space around the object");
	}
}

struct bad {
	const char *body;
	const char *reason;	/* a word of the reason expected */
	const char *what;
};

#define HEAD_NET "\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\"," \
    "\"ReceiverID\":\"000002\",\"TransactionID\":5"

static const struct bad bads[] = {
	{ "", "JSON", "empty body" },
	{ "   ", "JSON", "white space only" },
	{ "[]", "object", "top level an array" },
	{ "\"JoinReq\"", "JSON", "top level a string" },
	{ "5", "JSON", "top level a number" },
	{ "null", "JSON", "top level null" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\"}x", "JSON",
	    "trailing garbage" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\"}{}", "JSON",
	    "a second object after the first" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\"", "JSON",
	    "truncated object" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\",}", "JSON",
	    "trailing comma" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\","
	    "\"SenderID\":\"000003\"}", "duplicate", "duplicate SenderID" },
	{ "{\"SenderID\":\"000009\"," HEAD_NET
	    ",\"MessageType\":\"PRStartReq\"}", "duplicate",
	    "duplicate SenderID, first one differing" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\","
	    "\"MessageType\":\"JoinReq\"}", "duplicate",
	    "duplicate MessageType" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\","
	    "\"x\":{\"a\":1,\"a\":2}}", "duplicate",
	    "duplicate key in a nested object" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReq\","
	    "\"Sender\\u0049D\":\"000003\"}", "duplicate",
	    "duplicate SenderID spelt with an escape" },
	{ "{" HEAD_NET ",\"MessageType\":\"JoinRequest\"}", "MessageType",
	    "unknown MessageType" },
	{ "{" HEAD_NET ",\"MessageType\":\"joinreq\"}", "MessageType",
	    "MessageType in the wrong case" },
	{ "{" HEAD_NET ",\"MessageType\":\"\"}", "MessageType",
	    "empty MessageType" },
	{ "{" HEAD_NET ",\"MessageType\":7}", "MessageType",
	    "MessageType a number" },
	{ "{" HEAD_NET "}", "MessageType", "no MessageType" },
	{ "{" HEAD_NET ",\"MessageType\":\"PRStartReqPRStartReqPRStartReqPRStart\"}",
	    "MessageType", "MessageType longer than any" },
#define ASKR(sender) "{\"ProtocolVersion\":\"1.0\",\"SenderID\":" sender \
    ",\"ReceiverID\":\"0102030405060708\",\"TransactionID\":5," \
    "\"MessageType\":\"AppSKeyReq\"}"
	{ ASKR("\"\""), "AS-ID", "AppSKeyReq: empty AS-ID" },
	{ ASKR("\"as 1\""), "AS-ID", "AppSKeyReq: AS-ID with a space" },
	{ ASKR("\"as\\\"1\""), "AS-ID", "AppSKeyReq: AS-ID with '\"'" },
	{ ASKR("\"as\\\\1\""), "AS-ID", "AppSKeyReq: AS-ID with '\\'" },
	{ ASKR("\"as;by=map\""), "AS-ID", "AppSKeyReq: AS-ID with ';'" },
	{ ASKR("\"as,1\""), "AS-ID", "AppSKeyReq: AS-ID with ','" },
	{ ASKR("\"as\\t1\""), "AS-ID", "AppSKeyReq: AS-ID with a tab" },
	{ ASKR("\"as\\u007f\""), "AS-ID", "AppSKeyReq: AS-ID with DEL" },
	{ ASKR("\"as\xc3\xa9\""), "AS-ID",
	    "AppSKeyReq: AS-ID with a non-ASCII letter" },
	{ ASKR("5"), "AS-ID", "AppSKeyReq: AS-ID a number" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"as.example\","
	    "\"ReceiverID\":\"000001\",\"TransactionID\":5,"
	    "\"MessageType\":\"AppSKeyReq\"}", "ReceiverID",
	    "AppSKeyReq: ReceiverID a NetID, not a JoinEUI" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"0102030405060708\","
	    "\"ReceiverID\":\"as;x\",\"TransactionID\":5,"
	    "\"MessageType\":\"AppSKeyAns\"}", "ReceiverID",
	    "AppSKeyAns: ReceiverID with ';'" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"as.example\","
	    "\"ReceiverID\":\"0102030405060708\",\"TransactionID\":5,"
	    "\"MessageType\":\"AppSKeyAns\"}", "SenderID",
	    "AppSKeyAns: SenderID an AS-ID, not a JoinEUI" },
	{ "{\"ProtocolVersion\":\"1.2\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "ProtocolVersion",
	    "ProtocolVersion 1.2" },
	{ "{\"ProtocolVersion\":1.0,\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "ProtocolVersion",
	    "ProtocolVersion a number" },
	{ "{\"ProtocolVersion\":\"1.0.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "ProtocolVersion",
	    "ProtocolVersion 1.0.0" },
	{ "{\"SenderID\":\"000001\",\"ReceiverID\":\"000002\","
	    "\"TransactionID\":5,\"MessageType\":\"PRStartReq\"}",
	    "ProtocolVersion", "no ProtocolVersion" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"00001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "SenderID of 5 digits" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"0000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "SenderID of 7 digits" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"0x0001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "SenderID with 0x" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"00000g\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "SenderID not hex" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\" 00001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "SenderID with a space" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"0102030405060708\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "PRStartReq with an EUI as SenderID" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":1,"
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "SenderID a number" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":null,"
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "SenderID null" },
	{ "{\"ProtocolVersion\":\"1.0\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID", "no SenderID" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"0102030405060708\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "ReceiverID",
	    "PRStartReq with an EUI as ReceiverID" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"01020304050607\",\"TransactionID\":5,"
	    "\"MessageType\":\"JoinReq\"}", "ReceiverID",
	    "JoinReq with a 7-byte ReceiverID" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":[\"000002\"],\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "ReceiverID",
	    "ReceiverID an array" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":-1,"
	    "\"MessageType\":\"PRStartReq\"}", "TransactionID",
	    "TransactionID -1" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":4294967296,"
	    "\"MessageType\":\"PRStartReq\"}", "TransactionID",
	    "TransactionID 2^32" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5.0,"
	    "\"MessageType\":\"PRStartReq\"}", "TransactionID",
	    "TransactionID a real" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":\"5\","
	    "\"MessageType\":\"PRStartReq\"}", "TransactionID",
	    "TransactionID a string" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":true,"
	    "\"MessageType\":\"PRStartReq\"}", "TransactionID",
	    "TransactionID a boolean" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":"
	    "99999999999999999999999,\"MessageType\":\"PRStartReq\"}", "JSON",
	    "TransactionID beyond 64 bits" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\","
	    "\"ReceiverID\":\"000002\","
	    "\"MessageType\":\"PRStartReq\"}", "TransactionID",
	    "no TransactionID" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"000001\\u0000\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "JSON",
	    "\\u0000 in a string" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"00000\xc3\xa9\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "SenderID",
	    "a non-ASCII letter in SenderID" },
	{ "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"00000\xff\","
	    "\"ReceiverID\":\"000002\",\"TransactionID\":5,"
	    "\"MessageType\":\"PRStartReq\"}", "JSON",
	    "invalid UTF-8" },
};

static void
test_malformed(void)
{
	struct ts002_msg m;
	char why[128];
	size_t i;
	char deep[5000];

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		why[0] = '\0';
		is_int(parse(bads[i].body, &m, why, sizeof(why)),
		    DP_ERR_INVALID, "refused: %s", bads[i].what);
		if (!ok(strstr(why, bads[i].reason) != NULL,
		    "reason of %s names %s", bads[i].what, bads[i].reason))
			diag("why: %s", why);
	}

	/* A NUL byte inside len: the body is not a C string. */
	{
		static const char nul[] = "{" HEAD_NET
		    ",\"MessageType\":\"PRStartReq\"}\0{}";

		is_int(ts002_parse(nul, sizeof(nul) - 1, &m, why, sizeof(why)),
		    DP_ERR_INVALID, "NUL byte after the object, inside len");
		is_int(ts002_parse(nul, strlen(nul), &m, why, sizeof(why)),
		    DP_OK, "the same body cut at len before the NUL");
		is_int(ts002_parse(nul, strlen(nul) - 1, &m, why, sizeof(why)),
		    DP_ERR_INVALID, "len one short: never reads past len");
	}
	/* Deep nesting: jansson's own depth limit (2048) refuses it. */
	memset(deep, '[', 2500);
	snprintf(deep + 2500, sizeof(deep) - 2500, "%s", "0");
	is_int(parse(deep, &m, why, sizeof(why)), DP_ERR_INVALID,
	    "2500 nested arrays refused by jansson's depth limit");
	is_int(ts002_parse(NULL, 0, &m, why, sizeof(why)), DP_ERR_INVALID,
	    "NULL body");
	is_int(parse(JOINREQ, &m, NULL, 0), DP_OK, "why may be NULL");
	is_int(parse("[", &m, why, 4), DP_ERR_INVALID, "short why buffer");
	is_int((int)strlen(why), 3, "why truncated to its size");
}

static void
test_reject_answer(void)
{
	struct ts002_msg m;
	json_t *a, *res;
	json_error_t jerr;
	char why[128];
	char *text;
	size_t len = 0;

	if (!ok(parse(JOINREQ, &m, why, sizeof(why)) == DP_OK, "JoinReq"))
		return;
	text = ts002_reject_answer(&m, "UnknownSender",
	    "SenderID 00000c is not bound to a.example.net", &len);
	if (!ok(text != NULL, "reject answer built"))
		return;
	is_int(len, strlen(text), "length returned");
	is_str(text, "{\"ProtocolVersion\":\"1.0\",\"SenderID\":"
	    "\"70b3d57ed0000001\",\"ReceiverID\":\"00000c\","
	    "\"TransactionID\":1234567890,\"MessageType\":\"JoinAns\","
	    "\"Result\":{\"ResultCode\":\"UnknownSender\",\"Description\":"
	    "\"SenderID 00000c is not bound to a.example.net\"}}",
	    "reject answer, exact text");
	a = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	ok(a != NULL && json_is_object(a), "it parses back");
	is_str(json_string_value(json_object_get(a, "MessageType")), "JoinAns",
	    "MessageType JoinAns");
	is_str(json_string_value(json_object_get(a, "SenderID")),
	    "70b3d57ed0000001", "SenderID is the request's ReceiverID");
	is_str(json_string_value(json_object_get(a, "ReceiverID")), "00000c",
	    "ReceiverID is the request's SenderID");
	is_int(json_integer_value(json_object_get(a, "TransactionID")),
	    1234567890, "TransactionID echoed");
	res = json_object_get(a, "Result");
	is_str(json_string_value(json_object_get(res, "ResultCode")),
	    "UnknownSender", "ResultCode");
	json_decref(a);
	free(text);

	/* The answer parses as a TS002 answer itself. */
	text = ts002_reject_answer(&m, "MalformedRequest", NULL, &len);
	ok(text != NULL && strstr(text, "Description") == NULL,
	    "NULL description: left out");
	if (text != NULL) {
		struct ts002_msg back;

		is_int(ts002_parse(text, len, &back, why, sizeof(why)), DP_OK,
		    "the answer is a TS002 message");
		is_int(back.is_answer, 1, "an answer");
		is_int(back.sender_kind, TS002_ID_EUI, "from the JS");
	}
	free(text);

	is_int(parse(HRSTARTREQ, &m, why, sizeof(why)), DP_OK, "HRStartReq");
	text = ts002_reject_answer(&m, "MalformedRequest", "bad", NULL);
	is_str(text, "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"600013\","
	    "\"ReceiverID\":\"000013\",\"TransactionID\":4294967295,"
	    "\"MessageType\":\"HRStartAns\",\"Result\":{\"ResultCode\":"
	    "\"MalformedRequest\",\"Description\":\"bad\"}}",
	    "HRStartAns, TransactionID 2^32-1, len NULL");
	free(text);

	text = ts002_reject_answer(&m, "Other", "quote \" and \\ and \n",
	    &len);
	a = text != NULL ? json_loads(text, 0, &jerr) : NULL;
	is_str(json_string_value(json_object_get(json_object_get(a, "Result"),
	    "Description")), "quote \" and \\ and \n",
	    "a description with quotes escaped");
	json_decref(a);
	free(text);

	ok(ts002_reject_answer(&m, "Other", "\xff", &len) == NULL,
	    "invalid UTF-8 description: NULL");
	ok(ts002_reject_answer(&m, NULL, "x", &len) == NULL,
	    "no result code: NULL");
	is_int(parse("{" HEAD_NET ",\"MessageType\":\"XmitLocReq\"}", &m,
	    why, sizeof(why)), DP_OK, "XmitLocReq");
	text = ts002_reject_answer(&m, TS002_RC_UNKNOWN_SENDER, NULL, NULL);
	ok(text != NULL && strstr(text, "\"MessageType\":\"XmitLocAns\"") &&
	    strstr(text, "\"ResultCode\":\"UnknownSender\""),
	    "XmitLocReq answered by XmitLocAns, UnknownSender");
	free(text);
	is_int(parse(JOINANS, &m, why, sizeof(why)), DP_OK, "JoinAns");
	ok(ts002_reject_answer(&m, "Other", "x", &len) == NULL,
	    "no reject answer to an answer");
}

/* Writes text into a new temporary file; path receives its name. */
static int
write_tmp(const char *text, char *path, size_t path_size)
{
	int fd;
	size_t n = strlen(text);

	snprintf(path, path_size, "/tmp/test_ts002.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* Loads text as a map; errors receive what went to errs (malloc'ed). */
static int
load(const char *text, struct ts002_map **map, char **errors,
    char *path, size_t path_size)
{
	FILE *errs;
	size_t n = 0;
	int r;

	*errors = NULL;
	if (write_tmp(text, path, path_size) != 0)
		return -100;
	if ((errs = open_memstream(errors, &n)) == NULL) {
		unlink(path);
		return -100;
	}
	r = ts002_map_load(path, errs, map);
	fclose(errs);
	unlink(path);
	return r;
}

static int
binds(const struct ts002_map *map, const char *sender, const char *name)
{
	struct ts002_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.sender_id, sizeof(m.sender_id), "%s", sender);
	m.sender_kind = strlen(sender) == 6 ? TS002_ID_NETID : TS002_ID_EUI;
	return ts002_map_binds(map, &m, name);
}

struct map_bad {
	const char *line;
	const char *reason;
};

static const struct map_bad map_bads[] = {
	{ "00000 a.example", "SENDER_ID" },
	{ "0000001 a.example", "SENDER_ID" },
	{ "00000g a.example", "SENDER_ID" },
	{ "0x0001 a.example", "SENDER_ID" },
	{ "000001", "expected" },
	{ "000001 a.example b.example", "more than two" },
	{ "000001 a..example", "NAME_PATTERN" },
	{ "000001 *example", "NAME_PATTERN" },
	{ "000001 a.*.example", "NAME_PATTERN" },
	{ "000000/25 *", "0..24" },
	{ "0000000000000000/65 *", "0..64" },
	{ "000000/ *", "BITS" },
	{ "000000/-1 *", "BITS" },
	{ "000000/0x8 *", "BITS" },
	{ "000000/8x *", "BITS" },
	{ "0000/8 *", "prefix" },
	{ "600001/8 *", "past the prefix" },
	{ "000010-00000f *", "low end" },
	{ "000000-0000000000000001 *", "same length" },
	{ "000000-00000 *", "range" },
	{ "000000- *", "range" },
	{ "-000001 *", "range" },
	{ "000000-000001/8 *", "HEX-HEX" },
	{ "as: a.example", "as:AS-ID" },
	{ "as:a;b a.example", "as:AS-ID" },
	{ "as:a\"b a.example", "as:AS-ID" },
	{ "as:a\\b a.example", "as:AS-ID" },
	{ "as:a,b a.example", "as:AS-ID" },
	{ "as:a\x7f a.example", "as:AS-ID" },
	{ "as:\xc3\xa9 a.example", "as:AS-ID" },
	{ "as:as.example", "expected" },
	{ "as:as.example *example", "NAME_PATTERN" },
	{ "AS:as.example a.example", "SENDER_ID" },
};

static void
test_map(void)
{
	struct ts002_map *map = NULL;
	char path[64], want[160], *errors = NULL;
	size_t i;
	int r;

	r = load("# LoRaWAN backends and their names\n"
	    "\n"
	    "000013   ns.operator-a.example   # an exact NetID\n"
	    "600000/3 *.roaming.example\n"
	    "C00000-C000FF ns.operator-c.example\n"
	    "70B3D57ED0000000/60 js.vendor.example\n"
	    "0004a30b00000000-0004a30b000000ff *.js.example\n"
	    "\t000014\tNS.Upper.Example\r\n"
	    "000000/0 catchall.example\n"
	    "0000000000000000/0 euicatchall.example\n"
	    "ffffff/24 max.example",
	    &map, &errors, path, sizeof(path));
	is_int(r, DP_OK, "a good map loads (no newline at the end)");
	is_str(errors, "", "no errors");
	free(errors);
	ok(binds(map, "000013", "ns.operator-a.example"), "exact NetID binds");
	ok(!binds(map, "000013", "ns.operator-b.example"),
	    "exact NetID, another name");
	ok(!binds(map, "000012", "ns.operator-a.example"),
	    "another NetID, exact name");
	ok(binds(map, "000014", "ns.upper.example"),
	    "pattern lower-cased, CR and tabs ignored");
	ok(binds(map, "600000", "x.roaming.example"), "prefix: first");
	ok(binds(map, "7fffff", "a.b.roaming.example"), "prefix: last");
	ok(!binds(map, "800000", "x.roaming.example"), "prefix: past its end");
	ok(!binds(map, "5fffff", "x.roaming.example"),
	    "prefix: before its start");
	ok(!binds(map, "600000", "roaming.example"),
	    "*.suffix never matches the suffix itself");
	ok(binds(map, "c00000", "ns.operator-c.example"), "range: low end");
	ok(binds(map, "c000ff", "ns.operator-c.example"), "range: high end");
	ok(binds(map, "c0007f", "ns.operator-c.example"), "range: inside");
	ok(!binds(map, "c00100", "ns.operator-c.example"), "range: above");
	ok(!binds(map, "bfffff", "ns.operator-c.example"), "range: below");
	ok(binds(map, "70b3d57ed0000001", "js.vendor.example"),
	    "EUI prefix /60");
	ok(binds(map, "70b3d57ed000000f", "js.vendor.example"),
	    "EUI prefix /60, last");
	ok(!binds(map, "70b3d57ed0000010", "js.vendor.example"),
	    "EUI prefix /60, past its end");
	ok(binds(map, "0004a30b000000ff", "a.js.example"), "EUI range");
	ok(!binds(map, "0004a30b00000100", "a.js.example"), "EUI range: above");
	ok(binds(map, "123456", "catchall.example"), "NetID /0: every NetID");
	ok(!binds(map, "0000000000123456", "catchall.example"),
	    "a NetID line never matches a JoinEUI sender");
	ok(binds(map, "0000000000123456", "euicatchall.example"),
	    "EUI /0: every EUI");
	ok(!binds(map, "123456", "euicatchall.example"),
	    "a JoinEUI line never matches a NetID sender");
	ok(binds(map, "ffffff", "max.example"), "/24: exactly one NetID");
	ok(!binds(map, "fffffe", "max.example"), "/24: not its neighbour");
	{
		struct ts002_msg m;

		memset(&m, 0, sizeof(m));
		snprintf(m.sender_id, sizeof(m.sender_id), "000013");
		m.sender_kind = TS002_ID_EUI;
		ok(!ts002_map_binds(map, &m, "ns.operator-a.example"),
		    "sender kind disagreeing with its length: no");
	}
	ok(!ts002_map_binds(NULL, NULL, "x"), "NULL map: no");
	ts002_map_free(map);
	ts002_map_free(NULL);

	/* Each bad line alone, then its line number among others. */
	for (i = 0; i < sizeof(map_bads) / sizeof(map_bads[0]); i++) {
		char text[200];

		map = NULL;
		snprintf(text, sizeof(text), "# ok\n000001 a.example\n%s\n",
		    map_bads[i].line);
		r = load(text, &map, &errors, path, sizeof(path));
		is_int(r, DP_ERR_INVALID, "refused: \"%s\"", map_bads[i].line);
		ok(map == NULL, "no map on error");
		snprintf(want, sizeof(want), "%s:3: ", path);
		ok(errors != NULL && strncmp(errors, want, strlen(want)) == 0 &&
		    strstr(errors, map_bads[i].reason) != NULL,
		    "\"%s\": PATH:3: and a reason naming %s",
		    map_bads[i].line, map_bads[i].reason);
		if (errors != NULL && strstr(errors, map_bads[i].reason) == NULL)
			diag("errors: %s", errors);
		free(errors);
	}

	/* Every problem reported, each with its line. */
	r = load("zz a.example\n000001 a.example\n\n000002\n",
	    &map, &errors, path, sizeof(path));
	is_int(r, DP_ERR_INVALID, "two bad lines");
	ok(errors != NULL && strstr(errors, ":1: ") != NULL &&
	    strstr(errors, ":4: ") != NULL && strstr(errors, ":2: ") == NULL,
	    "both reported, lines 1 and 4");
	free(errors);

	/* Line length: 1024 bytes is fine, 1025 is not. */
	{
		char *text = malloc(3000);
		size_t off;

		if (text != NULL) {
			off = (size_t)snprintf(text, 3000, "000001 ");
			memset(text + off, 'a', 1024 - off);
			off = 1024;
			text[off++] = '\n';
			memcpy(text + off, "000001 ", 7);
			memset(text + off + 7, 'a', 1025 - 7);
			off += 1025;
			memcpy(text + off, "\n000002 b.example\n", 19);
			r = load(text, &map, &errors, path, sizeof(path));
			is_int(r, DP_ERR_INVALID, "a 1025-byte line");
			if (!ok(errors != NULL &&
			    strstr(errors, ":2: line longer") != NULL &&
			    strstr(errors, ":1: NAME_PATTERN") != NULL &&
			    strstr(errors, ":3: ") == NULL,
			    "line 2 too long; line 1 of 1024 bytes only has a "
			    "label too long; line 3 read as a line of its own"))
				diag("errors: %s", errors ? errors : "");
			free(errors);
			free(text);
		}
	}

	/* A NUL byte. */
	{
		FILE *f;

		snprintf(path, sizeof(path), "/tmp/test_ts002.XXXXXX");
		r = mkstemp(path);
		if (r >= 0) {
			close(r);
			f = fopen(path, "w");
			if (f != NULL) {
				fwrite("000001 a.example\0x\n", 1, 19, f);
				fclose(f);
			}
			r = ts002_map_load(path, NULL, &map);
			is_int(r, DP_ERR_INVALID, "a NUL byte in a line");
			unlink(path);
		}
	}

	/* Too many lines: 100000 are fine, 100001 are not. */
	{
		size_t n = 100001 * 2;
		char *text = malloc(n + 1);

		if (text != NULL) {
			memset(text, '\n', n);
			text[n] = '\0';
			for (i = 0; i < n; i += 2)
				text[i] = '#';
			text[100000 * 2] = '\0';
			r = load(text, &map, &errors, path, sizeof(path));
			is_int(r, DP_OK, "100000 lines");
			ts002_map_free(map);
			free(errors);
			text[100000 * 2] = '#';
			r = load(text, &map, &errors, path, sizeof(path));
			is_int(r, DP_ERR_INVALID, "100001 lines");
			ok(errors != NULL && strstr(errors, ":100001: more than"),
			    "line 100001 named");
			free(errors);
			free(text);
		}
	}

	r = load("", &map, &errors, path, sizeof(path));
	is_int(r, DP_OK, "an empty map loads");
	ok(!binds(map, "000001", "a.example"), "and binds nothing");
	ts002_map_free(map);
	free(errors);

	map = (struct ts002_map *)&r;
	is_int(ts002_map_load("/nonexistent/ts002.map", NULL, &map), DP_ERR_IO,
	    "a missing file: DP_ERR_IO");
	ok(map == NULL, "*out NULL on error");
}

/* ts002_binding = dns: the name looked up, the organisational domain. */
static void
test_dns_rule(void)
{
	static const struct {
		const char *name, *org;
	} orgs[] = {
		{ "_lorawan-ns.ns1.operator.example", "operator.example" },
		{ "_lorawan-ns.ns1.dp.test", "dp.test" },
		{ "_a._b.js.eu.operator.example", "eu.operator.example" },
		{ "ns1.operator.example", "operator.example" },
		{ "operator.example", NULL },
		{ "_lorawan-ns.operator.example", NULL },
		{ "_x.example", NULL },
		{ "_x", NULL },
		{ "example", NULL },
		{ "", NULL },
	};
	char out[256];
	size_t i;
	int r;

	for (i = 0; i < sizeof(orgs) / sizeof(orgs[0]); i++) {
		r = ts002_org_domain(orgs[i].name, out, sizeof(out));
		if (orgs[i].org != NULL) {
			is_int(r, DP_OK, "org domain of %s", orgs[i].name);
			is_str(r == DP_OK ? out : "", orgs[i].org, "  is %s", orgs[i].org);
		} else {
			is_int(r, DP_ERR_INVALID, "%s has no org domain", orgs[i].name);
		}
	}
	is_int(ts002_org_domain("_lorawan-ns.ns1.operator.example", out, 10),
	    DP_ERR_INVALID, "org domain: too small a buffer refused");
	ok(ts002_under_domain("operator.example", "operator.example"), "equal: under");
	ok(ts002_under_domain("js.eu.operator.example", "operator.example"), "below: under");
	ok(!ts002_under_domain("evil-operator.example", "operator.example"), "suffix without a dot: not under");
	ok(!ts002_under_domain("operator.example.evil", "operator.example"), "prefix: not under");
	ok(!ts002_under_domain("example", "operator.example"), "shorter: not under");

	is_int(ts002_dns_owner("00001A", TS002_ID_NETID, "netids.lora-alliance.org",
	    "joineuis.lora-alliance.org", out, sizeof(out)), DP_OK, "NetID owner");
	is_str(out, "00001a.netids.lora-alliance.org", "NetID: 6 lower-case digits under netid_domain");
	is_int(ts002_dns_owner("70B3D57ED0000001", TS002_ID_EUI, "netids.x",
	    "joineuis.lora-alliance.org", out, sizeof(out)), DP_OK, "JoinEUI owner");
	is_str(out, "1.0.0.0.0.0.0.d.e.7.5.d.3.b.0.7.joineuis.lora-alliance.org",
	    "JoinEUI: 16 nibbles reversed, one label each, under joineui_domain");
	is_int(ts002_dns_owner("000013", TS002_ID_EUI, "n", "j.x", out, sizeof(out)),
	    DP_ERR_INVALID, "a NetID is not a JoinEUI");
	is_int(ts002_dns_owner("70B3D57ED0000001", TS002_ID_EUI, "n", "j.x", out, 20),
	    DP_ERR_INVALID, "owner: too small a buffer refused");
}

/* An AppSKeyReq as an AS sends it to a JS (TS002 1.0, AppSKeyReq), its
 * SenderID an AS-ID in mixed case. */
static const char APPSKEYREQ[] =
    "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"AS1.Operator.example\","
    "\"ReceiverID\":\"70B3D57ED0000001\",\"TransactionID\":42,"
    "\"MessageType\":\"AppSKeyReq\",\"DevEUI\":\"0004a30b001c0530\","
    "\"SessionKeyID\":\"01\"}";

static const char APPSKEYANS[] =
    "{\"ProtocolVersion\":\"1.1\",\"SenderID\":\"70B3D57ED0000001\","
    "\"ReceiverID\":\"as-1:{x}|~\",\"TransactionID\":42,"
    "\"MessageType\":\"AppSKeyAns\",\"Result\":{\"ResultCode\":"
    "\"Success\"},\"DevEUI\":\"0004a30b001c0530\","
    "\"AppSKey\":{\"KEKLabel\":\"\",\"AESKey\":"
    "\"2b7e151628aed2a6abf7158809cf4f3c\"},\"SessionKeyID\":\"01\"}";

/* Parses an AppSKeyReq whose SenderID member is sender (JSON text). */
static int
parse_askr(const char *sender, struct ts002_msg *m)
{
	char body[1200], why[128];

	snprintf(body, sizeof(body), "{\"ProtocolVersion\":\"1.0\","
	    "\"SenderID\":%s,\"ReceiverID\":\"0102030405060708\","
	    "\"TransactionID\":5,\"MessageType\":\"AppSKeyReq\"}", sender);
	return parse(body, m, why, sizeof(why));
}

static void
test_asid(void)
{
	struct ts002_msg m;
	char why[128], id[TS002_ASID_MAX + 3], *text;
	json_t *a;
	json_error_t jerr;
	size_t len = 0;
	unsigned c;
	int bad;

	is_int(parse(APPSKEYREQ, &m, why, sizeof(why)), DP_OK,
	    "AppSKeyReq parses");
	is_int(m.sender_kind, TS002_ID_ASID, "AppSKeyReq: SenderID an AS-ID");
	is_str(m.sender_id, "AS1.Operator.example",
	    "AppSKeyReq: AS-ID kept as sent, case included");
	is_int(m.receiver_kind, TS002_ID_EUI, "AppSKeyReq: ReceiverID an EUI");
	is_str(m.receiver_id, "70b3d57ed0000001",
	    "AppSKeyReq: JoinEUI lower-cased");
	is_int(m.is_answer, 0, "AppSKeyReq is a request");

	is_int(parse(APPSKEYANS, &m, why, sizeof(why)), DP_OK,
	    "AppSKeyAns parses");
	is_int(m.sender_kind, TS002_ID_EUI, "AppSKeyAns: SenderID the JoinEUI");
	is_str(m.sender_id, "70b3d57ed0000001", "AppSKeyAns: JoinEUI lower");
	is_int(m.receiver_kind, TS002_ID_ASID,
	    "AppSKeyAns: ReceiverID an AS-ID");
	is_str(m.receiver_id, "as-1:{x}|~", "AppSKeyAns: AS-ID as sent");
	is_int(m.is_answer, 1, "AppSKeyAns is an answer");

	/* An AS-ID that reads as hex is still an AS-ID, kept as sent. */
	is_int(parse_askr("\"00000C\"", &m), DP_OK, "AS-ID \"00000C\"");
	ok(m.sender_kind == TS002_ID_ASID && strcmp(m.sender_id, "00000C") == 0,
	    "  an AS-ID, not a NetID, not lower-cased");

	/* Length: 1 and 255 accepted, 256 refused. */
	is_int(parse_askr("\"a\"", &m), DP_OK, "AS-ID of 1 character");
	id[0] = '"';
	memset(id + 1, 'x', TS002_ASID_MAX);
	id[TS002_ASID_MAX + 1] = '"';
	id[TS002_ASID_MAX + 2] = '\0';
	is_int(parse_askr(id, &m), DP_OK, "AS-ID of 255 characters");
	is_int((int)strlen(m.sender_id), TS002_ASID_MAX, "  kept whole");
	{
		char longer[TS002_ASID_MAX + 4];

		snprintf(longer, sizeof(longer), "\"x%s", id + 1);
		is_int(parse_askr(longer, &m), DP_ERR_INVALID,
		    "AS-ID of 256 characters refused");
	}

	/* Every octet: the charset exactly. */
	bad = 0;
	for (c = 1; c < 256; c++) {
		char ch = (char)c;
		int want = c >= 0x21 && c <= 0x7e && c != '"' && c != '\\' &&
		    c != ';' && c != ',';

		if ((ts002_asid_check(&ch, 1) == DP_OK) != want) {
			diag("octet 0x%02x misjudged", c);
			bad = 1;
		}
	}
	ok(!bad, "ts002_asid_check: 0x21..0x7e but '\"', '\\', ';', ','");
	is_int(ts002_asid_check("", 0), DP_ERR_INVALID, "empty refused");
	is_int(ts002_asid_check(NULL, 1), DP_ERR_INVALID, "NULL refused");
	is_int(ts002_asid_check("a\0b", 3), DP_ERR_INVALID,
	    "a NUL inside refused");
	is_int(ts002_asid_check(id + 1, TS002_ASID_MAX + 1), DP_ERR_INVALID,
	    "256 characters refused");

	/* The reject answer: AppSKeyAns, the IDs swapped, the AS-ID as sent. */
	is_int(parse(APPSKEYREQ, &m, why, sizeof(why)), DP_OK, "AppSKeyReq");
	text = ts002_reject_answer(&m, TS002_RC_UNKNOWN_SENDER, NULL, &len);
	is_str(text, "{\"ProtocolVersion\":\"1.0\",\"SenderID\":"
	    "\"70b3d57ed0000001\",\"ReceiverID\":\"AS1.Operator.example\","
	    "\"TransactionID\":42,\"MessageType\":\"AppSKeyAns\","
	    "\"Result\":{\"ResultCode\":\"UnknownSender\"}}",
	    "AppSKeyReq refused: AppSKeyAns, IDs swapped, exact text");
	a = text != NULL ? json_loads(text, JSON_REJECT_DUPLICATES, &jerr) :
	    NULL;
	ok(a != NULL, "  it is JSON");
	json_decref(a);
	if (text != NULL) {
		struct ts002_msg back;

		is_int(ts002_parse(text, len, &back, why, sizeof(why)), DP_OK,
		    "  it parses as AppSKeyAns");
		ok(back.receiver_kind == TS002_ID_ASID &&
		    strcmp(back.receiver_id, "AS1.Operator.example") == 0 &&
		    back.sender_kind == TS002_ID_EUI,
		    "  to the AS-ID, from the JoinEUI");
	}
	free(text);
}

static int
binds_as(const struct ts002_map *map, const char *asid, const char *name)
{
	struct ts002_msg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.sender_id, sizeof(m.sender_id), "%s", asid);
	m.sender_kind = TS002_ID_ASID;
	return ts002_map_binds(map, &m, name);
}

static void
test_asid_map(void)
{
	struct ts002_map *map = NULL;
	char path[64], *errors = NULL;
	int r;

	r = load("as:AS1.Operator.example as1.operator.example\n"
	    "as:000013 *.apps.example   # an AS-ID that reads as a NetID\n"
	    "as:as-1:{x}|~ AS.Weird.Example\n"
	    "000014 ns.operator.example\n"
	    "0000000000000000/0 euicatchall.example\n",
	    &map, &errors, path, sizeof(path));
	is_int(r, DP_OK, "a map with as: lines loads");
	is_str(errors, "", "  no errors");
	free(errors);
	ok(binds_as(map, "AS1.Operator.example", "as1.operator.example"),
	    "as: exact AS-ID binds");
	ok(!binds_as(map, "as1.operator.example", "as1.operator.example"),
	    "as: the AS-ID in another case does not");
	ok(!binds_as(map, "AS1.Operator.example", "as2.operator.example"),
	    "as: another name does not");
	ok(!binds_as(map, "AS1.Operator.exampl", "as1.operator.example"),
	    "as: a prefix of the AS-ID does not");
	ok(binds_as(map, "as-1:{x}|~", "as.weird.example"),
	    "as: any allowed character; pattern lower-cased");
	ok(binds_as(map, "000013", "a.apps.example"),
	    "as:000013 binds the AS-ID \"000013\"");
	ok(!binds(map, "000013", "a.apps.example"),
	    "an as: line never binds a NetID sender");
	ok(!binds_as(map, "000014", "ns.operator.example"),
	    "a NetID line never binds an AS-ID sender");
	ok(!binds_as(map, "0000000000000001", "euicatchall.example"),
	    "a JoinEUI line never binds an AS-ID sender");
	ok(!binds_as(map, "", "as1.operator.example"), "empty AS-ID: no");
	ok(!binds_as(map, "a;b", "as1.operator.example"),
	    "a forbidden character in the sender: no");
	ts002_map_free(map);

	/* Line numbers with as: errors among good lines. */
	r = load("as:ok a.example\nas:bad;id a.example\n000001 a.example\n"
	    "as:\n", &map, &errors, path, sizeof(path));
	is_int(r, DP_ERR_INVALID, "bad as: lines");
	ok(errors != NULL && strstr(errors, ":2: as:AS-ID") != NULL &&
	    strstr(errors, ":4: ") != NULL && strstr(errors, ":1: ") == NULL &&
	    strstr(errors, ":3: ") == NULL, "  lines 2 and 4 reported");
	free(errors);
}

static void
test_asid_dns(void)
{
	ok(ts002_asid_under_domain("as1.operator.example", "operator.example"),
	    "AS-ID under the org domain binds");
	ok(ts002_asid_under_domain("AS1.Operator.EXAMPLE", "operator.example"),
	    "  compared case-insensitively");
	ok(ts002_asid_under_domain("operator.example", "operator.example"),
	    "  the org domain itself binds");
	ok(!ts002_asid_under_domain("as1.evil-operator.example",
	    "operator.example"), "a suffix without a dot does not");
	ok(!ts002_asid_under_domain("as1.other.example", "operator.example"),
	    "another domain does not");
	ok(!ts002_asid_under_domain("as:1.operator.example",
	    "operator.example"), "not a DNS name (':') does not");
	ok(!ts002_asid_under_domain("as1.operator.example.",
	    "operator.example"), "a trailing dot is not our DNS grammar");
	ok(!ts002_asid_under_domain("a..operator.example", "operator.example"),
	    "an empty label does not");
	ok(!ts002_asid_under_domain("", "operator.example"), "empty does not");
	ok(!ts002_asid_under_domain(NULL, "operator.example"), "NULL does not");
}

int
main(void)
{
	test_realistic();
	test_malformed();
	test_reject_answer();
	test_map();
	test_dns_rule();
	test_asid();
	test_asid_map();
	test_asid_dns();
	return done_testing();
}
