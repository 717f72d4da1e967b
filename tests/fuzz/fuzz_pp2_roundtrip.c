/* fuzz_pp2_roundtrip.c — libFuzzer target for the PROXY v2 encoder, checked
 * by the decoder: every field of a pp_info taken from the input (flags,
 * addresses and ports, the strings, ALPN bytes, the identity TLV type, the
 * output buffer's size) is encoded, and the result must be exactly as long as
 * the contract in proxyproto.h says, or refused for the reason it names; then
 * decode back to the same family, addresses, ports and TLVs in the documented
 * order, with each SSL sub-TLV present exactly when the contract sends it.
 * This is what the upstream believes about a client; abort() on mismatch.
 *
 * Input: 2 flag bytes, the buffer size (2 bytes), source and destination
 * address (16 bytes each, the first 4 for IPv4) and ports (2 each), then
 * NUL-terminated strings: tls_version, cipher, sig_alg, key_alg, identity,
 * tlsa_wildcard, authority, unique_id, alpn. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_FIXED (2 + 2 + 16 + 16 + 2 + 2)
#define FUZZ_N_STR 9

static void
check(int cond)
{
	if (!cond)
		abort();
}

static size_t
slen(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

/* The bytes a string TLV of s takes (left out when NULL or empty). */
static size_t
tlv_size(const char *s)
{
	return slen(s) > 0 ? 3 + slen(s) : 0;
}

/* The value of sub-TLV subtype must be s when want, absent otherwise. */
static void
check_sub(const struct pp2_tlv *ssl, uint8_t subtype, int want, const char *s)
{
	struct pp2_tlv sub;
	int r = pp2_ssl_subtlv(ssl, subtype, &sub);

	want = want && slen(s) > 0;
	if (!want) {
		check(r == DP_ERR_NOT_FOUND);
		return;
	}
	check(r == DP_OK && sub.type == subtype && sub.len == slen(s) &&
	    memcmp(sub.value, s, sub.len) == 0);
}

/* TLV i must be (type, value s of n bytes). */
static void
check_tlv(const struct pp2_header *h, size_t i, uint8_t type, const void *s, size_t n)
{
	check(i < h->n_tlvs);
	check(h->tlvs[i].type == type && h->tlvs[i].len == n &&
	    memcmp(h->tlvs[i].value, s, n) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[4096];
	const char *str[FUZZ_N_STR] = { NULL };
	struct sockaddr_in s4, d4;
	struct sockaddr_in6 s6, d6;
	struct pp_info info;
	static struct pp2_header h;
	unsigned char *out;
	size_t off, i, buf_size, len = 0, want, ssl_len, n_tlv;
	const uint8_t *p = data;
	int family, r, want_r;
	uint8_t f0, f1, client;

	if (size < FUZZ_FIXED || size - FUZZ_FIXED >= sizeof(text))
		return 0;
	f0 = p[0];
	f1 = p[1];
	buf_size = (size_t)(p[2] << 8 | p[3]) % (PP2_HEADER_MAX + 64);
	memset(&s4, 0, sizeof(s4));
	memset(&d4, 0, sizeof(d4));
	memset(&s6, 0, sizeof(s6));
	memset(&d6, 0, sizeof(d6));
	s4.sin_family = d4.sin_family = AF_INET;
	s6.sin6_family = d6.sin6_family = AF_INET6;
	memcpy(&s4.sin_addr, p + 4, 4);
	memcpy(&s6.sin6_addr, p + 4, 16);
	memcpy(&d4.sin_addr, p + 20, 4);
	memcpy(&d6.sin6_addr, p + 20, 16);
	memcpy(&s4.sin_port, p + 36, 2);
	memcpy(&s6.sin6_port, p + 36, 2);
	memcpy(&d4.sin_port, p + 38, 2);
	memcpy(&d6.sin6_port, p + 38, 2);

	/* The strings: NUL-terminated pieces of the rest; an empty one or one
	 * past the end is NULL or "" (the encoder leaves both out). */
	memcpy(text, p + FUZZ_FIXED, size - FUZZ_FIXED);
	text[size - FUZZ_FIXED] = '\0';
	for (off = 0, i = 0; i < FUZZ_N_STR && off <= size - FUZZ_FIXED; i++) {
		str[i] = text + off;
		off += strlen(text + off) + 1;
	}

	memset(&info, 0, sizeof(info));
	switch (f0 & 3) {
	case 0: info.src = (struct sockaddr *)&s4; info.dst = (struct sockaddr *)&d4; family = 1; break;
	case 1: info.src = (struct sockaddr *)&s6; info.dst = (struct sockaddr *)&d6; family = 2; break;
	case 2: info.src = (struct sockaddr *)&s4; info.dst = (struct sockaddr *)&d6; family = 0; break;
	default: info.src = (struct sockaddr *)&s6; family = 0; break;
	}
	info.ssl = (f0 >> 2) & 1;
	info.cert_conn = (f0 >> 3) & 1;
	info.cert_sess = (f0 >> 4) & 1;
	info.verified = (f0 >> 5) & 1;
	info.minimal = (f0 >> 6) & 1;
	info.crc32c = (f0 >> 7) & 1;
	/* The configuration allows 0xe0..0xef (conf_keys.c); 0 sends none. */
	info.identity_tlv = (f1 & 0x10) ? (uint8_t)(0xe0 | (f1 & 0x0f)) : 0;
	info.tls_version = str[0];
	info.cipher = str[1];
	info.sig_alg = str[2];
	info.key_alg = str[3];
	info.identity = str[4];
	info.tlsa_wildcard = str[5];
	info.authority = str[6];
	info.unique_id = str[7];
	info.alpn = (const unsigned char *)str[8];
	info.alpn_len = slen(str[8]);

	/* What the contract says the header is: fixed part, addresses, TLVs. */
	want = 16 + (family == 1 ? 12 : family == 2 ? 36 : 0);
	if (!info.minimal)
		want += tlv_size(str[8]) + tlv_size(info.authority) + tlv_size(info.unique_id);
	ssl_len = 5;
	if (!info.minimal)
		ssl_len += tlv_size(info.tls_version) + tlv_size(info.cipher) +
		    tlv_size(info.sig_alg) + tlv_size(info.key_alg);
	if (info.verified)
		ssl_len += tlv_size(info.identity) + tlv_size(info.tlsa_wildcard);
	want += 3 + ssl_len;
	if (info.verified && info.identity_tlv != 0)
		want += tlv_size(info.identity);
	if (info.crc32c)
		want += 7;
	if (info.verified && slen(info.identity) == 0)
		want_r = DP_ERR_INVALID;
	else if (slen(info.unique_id) > 128)
		want_r = DP_ERR_INVALID;
	else if (want > buf_size || want > PP2_HEADER_MAX)
		want_r = DP_ERR_SPACE;
	else
		want_r = DP_OK;

	/* Exactly buf_size bytes, so ASan sees a write past them. */
	if ((out = malloc(buf_size ? buf_size : 1)) == NULL)
		return 0;
	r = pp2_encode(&info, buf_size ? out : NULL, buf_size, &len);
	if (buf_size == 0 && want_r == DP_OK)
		want_r = DP_ERR_SPACE;
	check(r == want_r);
	if (r != DP_OK) {
		free(out);
		return 0;
	}
	check(len == want);

	r = pp2_decode(out, len, &h);
	check(r == DP_OK && h.header_len == len);
	check(h.command == 1 && h.family == family);
	check(h.transport == (family != 0 ? 1 : 0));
	if (family == 1) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&h.src;
		const struct sockaddr_in *b = (const struct sockaddr_in *)&h.dst;

		check(a->sin_family == AF_INET && b->sin_family == AF_INET);
		check(memcmp(&a->sin_addr, &s4.sin_addr, 4) == 0 && a->sin_port == s4.sin_port);
		check(memcmp(&b->sin_addr, &d4.sin_addr, 4) == 0 && b->sin_port == d4.sin_port);
	} else if (family == 2) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&h.src;
		const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&h.dst;

		check(a->sin6_family == AF_INET6 && b->sin6_family == AF_INET6);
		check(memcmp(&a->sin6_addr, &s6.sin6_addr, 16) == 0 && a->sin6_port == s6.sin6_port);
		check(memcmp(&b->sin6_addr, &d6.sin6_addr, 16) == 0 && b->sin6_port == d6.sin6_port);
	}
	check(h.crc_ok == (info.crc32c ? 1 : -1));

	/* The TLVs, in the order proxyproto.h gives. */
	n_tlv = 0;
	if (!info.minimal) {
		if (slen(str[8]) > 0)
			check_tlv(&h, n_tlv++, PP2_TYPE_ALPN, str[8], slen(str[8]));
		if (slen(info.authority) > 0)
			check_tlv(&h, n_tlv++, PP2_TYPE_AUTHORITY, info.authority, slen(info.authority));
		if (slen(info.unique_id) > 0)
			check_tlv(&h, n_tlv++, PP2_TYPE_UNIQUE_ID, info.unique_id, slen(info.unique_id));
	}
	check(n_tlv < h.n_tlvs && h.tlvs[n_tlv].type == PP2_TYPE_SSL &&
	    h.tlvs[n_tlv].len == ssl_len);
	client = h.tlvs[n_tlv].value[0];
	check(client == ((info.ssl ? PP2_CLIENT_SSL : 0) |
	    (info.cert_conn ? PP2_CLIENT_CERT_CONN : 0) |
	    (info.cert_sess ? PP2_CLIENT_CERT_SESS : 0)));
	check(memcmp(h.tlvs[n_tlv].value + 1,
	    info.verified ? "\0\0\0\0" : "\0\0\0\1", 4) == 0);
	check_sub(&h.tlvs[n_tlv], PP2_SUBTYPE_SSL_VERSION, !info.minimal, info.tls_version);
	check_sub(&h.tlvs[n_tlv], PP2_SUBTYPE_SSL_CN, info.verified, info.identity);
	check_sub(&h.tlvs[n_tlv], PP2_SUBTYPE_SSL_CIPHER, !info.minimal, info.cipher);
	check_sub(&h.tlvs[n_tlv], PP2_SUBTYPE_SSL_SIG_ALG, !info.minimal, info.sig_alg);
	check_sub(&h.tlvs[n_tlv], PP2_SUBTYPE_SSL_KEY_ALG, !info.minimal, info.key_alg);
	check_sub(&h.tlvs[n_tlv], PP2_SUBTYPE_SSL_DANE_WILDCARD, info.verified,
	    info.tlsa_wildcard);
	n_tlv++;
	if (info.verified && info.identity_tlv != 0)
		check_tlv(&h, n_tlv++, info.identity_tlv, info.identity, slen(info.identity));
	if (info.crc32c) {
		check(n_tlv < h.n_tlvs && h.tlvs[n_tlv].type == PP2_TYPE_CRC32C);
		n_tlv++;
	}
	check(n_tlv == h.n_tlvs);
	free(out);
	return 0;
}
