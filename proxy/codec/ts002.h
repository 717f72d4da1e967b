/* ts002.h — LoRaWAN Backend Interfaces (TS002 1.0 and 1.1) messages, as
 * far as binding their SenderID to an authenticated DANE name needs: the
 * JSON body parsed (libjansson) and checked, the answer TS002 gives a
 * rejected request, and the map file of ts002_binding = map. Pure: no I/O
 * but reading the map file, no logging. ts002.c parses and answers,
 * ts002_map.c reads the map. */
#ifndef DP_TS002_H
#define DP_TS002_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What kind of identifier a SenderID/ReceiverID is. */
enum ts002_id_kind {
	TS002_ID_NETID,		/* a NetID: 3 bytes, 6 hex digits */
	TS002_ID_EUI,		/* a JoinEUI / JS ID: 8 bytes, 16 hex digits */
	TS002_ID_ASID,		/* an AS-ID: opaque ASCII (ts002_asid_check) */
};

#define TS002_TYPE_MAX 32	/* the longest MessageType, NUL included */
#define TS002_NETID_DIGITS 6	/* a NetID: 3 bytes */
#define TS002_EUI_DIGITS 16	/* a JoinEUI / JS ID: 8 bytes */
#define TS002_ASID_MAX 255	/* the longest AS-ID, in characters */
#define TS002_ID_MAX (TS002_ASID_MAX + 1)	/* any ID, NUL included */

/* The one check of an AS-ID (TS002: "ASCII string in case of AS-ID", no
 * further grammar): the len bytes at s are 1..TS002_ASID_MAX characters of
 * printable ASCII 0x21..0x7e except '"', '\\', ';' and ','. No space, no
 * control, no octet >= 0x80; and none of the four, so an AS-ID can never
 * end or split a field of the binding header ("held; sender-id=<id>;
 * ...") nor break out of a quoted log value. Case is kept: an AS-ID is
 * compared exactly. Returns DP_OK or DP_ERR_INVALID. */
int ts002_asid_check(const char *s, size_t len);

/* The one reader of an ID's hex (case-insensitive): len must be 6 (a
 * NetID) or 16 (a JoinEUI / JS ID) digits, no prefix, no sign. Sets *kind
 * and *value (big-endian, as written) when not NULL. Returns DP_OK or
 * DP_ERR_INVALID. */
int ts002_hex_id(const char *s, size_t len, enum ts002_id_kind *kind,
    uint64_t *value);

struct ts002_msg {
	char protocol_version[8];	/* "1.0" or "1.1" */
	char message_type[TS002_TYPE_MAX];	/* "JoinReq", "PRStartAns", ... */
	int is_answer;			/* the type ends in "Ans" */
	/* NetID/JoinEUI: lower-case hex, 6 or 16 digits; AS-ID: as sent,
	 * checked by ts002_asid_check */
	char sender_id[TS002_ID_MAX];
	enum ts002_id_kind sender_kind;
	char receiver_id[TS002_ID_MAX];
	enum ts002_id_kind receiver_kind;
	uint32_t transaction_id;
};

/* ResultCodes (TS002 1.0/1.1, "Result Codes") the proxy itself gives. */
#define TS002_RC_UNKNOWN_SENDER "UnknownSender"	/* SenderID not bound */
#define TS002_RC_MALFORMED_REQUEST "MalformedRequest"	/* JSON/fields bad */

/* Parses a request body (len bytes, not NUL-terminated) as a TS002 message:
 * a JSON object whose ProtocolVersion, MessageType, SenderID, ReceiverID
 * and TransactionID are present and well-formed for a known message type
 * of TS002 1.0/1.1 (JoinReq/Ans, RejoinReq/Ans, AppSKeyReq/Ans,
 * PRStartReq/Ans, PRStopReq/Ans, HRStartReq/Ans, HRStopReq/Ans,
 * HomeNSReq/Ans, ProfileReq/Ans, XmitDataReq/Ans, XmitLocReq/Ans, also
 * spelt XmitLockReq/Ans), the IDs of the kinds that type carries: hex of
 * its kind's length, stored lower-case, or for the AS side of AppSKeyReq/
 * Ans an AS-ID (ts002_asid_check), stored as sent. A body refused leaves
 * *m untouched. Returns DP_OK with *m filled, or
 * DP_ERR_INVALID with a short reason in why. Never reads past len. */
int ts002_parse(const char *body, size_t len, struct ts002_msg *m, char *why,
    size_t why_size);

/* The answer TS002 specifies for rejecting request m (is_answer 0): the
 * matching *Ans, ProtocolVersion and TransactionID echoed, SenderID and
 * ReceiverID swapped, Result {ResultCode: result_code, Description:
 * description} (Description left out when description is NULL), compact
 * JSON. A new malloc'ed NUL-terminated text for free() (*len its length
 * when len is not NULL), or NULL when out of memory, when m is an answer
 * or NULL, result_code NULL, or a text not valid UTF-8. The request's
 * SenderToken is not echoed as ReceiverToken (struct ts002_msg does not
 * keep it; TS002 makes ReceiverToken optional). */
char *ts002_reject_answer(const struct ts002_msg *m, const char *result_code,
    const char *description, size_t *len);

/* ts002_binding = map: the file's lines "SENDER_ID NAME_PATTERN" (SENDER_ID
 * a NetID of 6 hex digits or a JoinEUI of 16, or a prefix "HEX/BITS", or a
 * range "HEX-HEX", or "as:AS-ID", an AS-ID matched exactly, case
 * included; NAME_PATTERN as in allow: "*", "*.suffix" or a name; '#'
 * comments, blank lines: an AS-ID holding '#' cannot be written). */
struct ts002_map;

/* Reads path (at most 100000 lines of 1024 bytes); every problem goes to
 * errs (may be NULL) as "PATH:LINE: reason", all of them, not only the
 * first. An ID is written at its kind's full length: "000013",
 * "600000/7" (the bits past the prefix zero), "C00000-C000FF" (both ends of
 * one length, low <= high). On DP_OK *out is a new map for
 * ts002_map_free (an empty file gives a map that binds nothing); else *out
 * is NULL. Returns DP_OK, DP_ERR_IO (unreadable), DP_ERR_INVALID or
 * DP_ERR_NOMEM. */
int ts002_map_load(const char *path, FILE *errs, struct ts002_map **out);

/* 1 when a line of map binds sender (m->sender_id of m->sender_kind) to
 * name (the authenticated, lower-case name), else 0. A line binds only a
 * sender of its own kind: a NetID line never binds a JoinEUI or an AS-ID
 * sender, an "as:" line never binds a NetID or a JoinEUI, and so on. */
int ts002_map_binds(const struct ts002_map *map, const struct ts002_msg *m,
    const char *name);

/* ts002_binding = dns (ts002_dns.c). The name TS002 publishes for a
 * SenderID: a NetID as its 6 lower-case hex digits under netid_domain
 * ("000013.netids.lora-alliance.org"), a JoinEUI as its 16 nibbles
 * reversed, one label each, under joineui_domain
 * ("0.0.0.0.0.0.d.e.7.5.d.3.b.0.7.joineuis.lora-alliance.org"). Writes it
 * to out; returns DP_OK, or DP_ERR_INVALID when id is not an ID of kind
 * kind or the name does not fit in out_size (or is not a DNS name). */
int ts002_dns_owner(const char *id, enum ts002_id_kind kind,
    const char *netid_domain, const char *joineui_domain, char *out,
    size_t out_size);

/* The organisational domain of an authenticated name: its leading labels
 * that start with '_' removed, then its first remaining label; it must
 * keep at least two labels ("_lorawan-ns.ns1.operator.example" ->
 * "operator.example"). Writes it to out; returns DP_OK, or DP_ERR_INVALID
 * when the name has none (e.g. "operator.example", "_x.example"). */
int ts002_org_domain(const char *name, char *out, size_t out_size);

/* 1 when target (lower case, no final dot) equals org or lies under it
 * (ends in "." org), else 0. */
int ts002_under_domain(const char *target, const char *org);

/* ts002_binding = dns for an AS-ID, which TS002 publishes nothing in DNS
 * for: 1 when asid, compared case-insensitively, is a DNS name (the
 * project's one grammar, dp_dns_name_check) equal to org or under it,
 * else 0. org is an organisational domain (ts002_org_domain). */
int ts002_asid_under_domain(const char *asid, const char *org);

/* Frees map; NULL is fine. */
void ts002_map_free(struct ts002_map *map);

#endif
