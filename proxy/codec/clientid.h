/* clientid.h — the dane_clientid TLS extension and the allowlist. Pure. */
#ifndef DP_CLIENTID_H
#define DP_CLIENTID_H

#include <stddef.h>

#include "util.h"

#define CLIENTID_NAME_MAX DP_DNS_NAME_MAX	/* characters, no trailing dot */
#define CLIENTID_DEFAULT_TYPE 0xffdc


/* Parses extension_data sent by a client (TLS 1.3 leaf CertificateEntry, or
 * the legacy ClientHello form): one length byte L >= 1, then exactly L bytes
 * of a valid name. Writes the name lower-cased and NUL-terminated into out
 * (out_size >= CLIENTID_NAME_MAX + 1). Returns DP_OK or DP_ERR_INVALID (empty
 * name, length disagreement, bad alphabet/labels) or DP_ERR_SPACE. */
int clientid_parse_client(const unsigned char *data, size_t len, char *out,
    size_t out_size);

/* Parses extension_data sent by a server in a CertificateRequest (or the
 * legacy ServerHello): both the zero-byte form and the one-byte {0x00} form
 * are accepted. Returns DP_OK or DP_ERR_INVALID. */
int clientid_parse_request(const unsigned char *data, size_t len);

/* Encodes a (valid) name as extension_data: length byte + name. Writes
 * 1 + strlen(name) bytes to out. Returns DP_OK, DP_ERR_INVALID (name not
 * valid), or DP_ERR_SPACE. */
int clientid_encode(const char *name, unsigned char *out, size_t out_size,
    size_t *written);

/* Checks an allowlist pattern: "*", "*.suffix" where suffix is a valid name,
 * or a valid name. Returns DP_OK or DP_ERR_INVALID. */
int allow_pattern_check(const char *pattern);

/* True (1) if name (lower-case, valid) matches one of the n lower-case
 * patterns: "*" matches everything; "*.suffix" matches names that end in
 * ".suffix" with one or more labels before it (never suffix itself); any
 * other pattern matches the equal name. 0 otherwise. */
int allow_match(char *const *patterns, size_t n, const char *name);

/* As allow_match, telling which pattern: the index of the first of the n
 * patterns that matches name, or -1 when none does (for daneproxy check,
 * which shows the operator the pattern that let a name in). */
int allow_match_index(char *const *patterns, size_t n, const char *name);

#endif
