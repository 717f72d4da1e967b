/* test_proxyproto.c — PROXY v1/v2 encoder and v2 decoder, byte by byte.
 *
 * Every expected header below is written out by hand from
 * HAProxy's doc/proxy-protocol.txt, one field per line, never
 * produced by the encoder under test. Only the CRC32C value was computed
 * elsewhere (an independent bitwise implementation, checked against the
 * "123456789" vector). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proxyproto.h"
#include "tap.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"
#define ID_LORA "_lorawan-ns.ns.example.net"	/* 26 octets */
#define ID_A "a.example.net"			/* 13 octets */

/* src 192.0.2.10:54321, dst 198.51.100.1:443 */
#define ADDR4 "\xc0\x00\x02\x0a" "\xc6\x33\x64\x01" "\xd4\x31" "\x01\xbb"

/* IPv4, everything, verified. 16 + 12 + 5 + 17 + 11 + 100 + 29 = 190. */
static const unsigned char v4_full[] =
	SIG "\x21" "\x11" "\x00\xae"		/* length 174 */
	ADDR4
	"\x01" "\x00\x02" "h2"			/* ALPN */
	"\x02" "\x00\x0e" "ns.example.net"	/* AUTHORITY */
	"\x05" "\x00\x08" "0000002a"		/* UNIQUE_ID */
	"\x20" "\x00\x61"			/* SSL, 97 */
	    "\x03"				/* SSL | CERT_CONN */
	    "\x00\x00\x00\x00"			/* verify: 0 = verified */
	    "\x21" "\x00\x07" "TLSv1.3"
	    "\x22" "\x00\x1a" ID_LORA
	    "\x23" "\x00\x16" "TLS_AES_128_GCM_SHA256"
	    "\x24" "\x00\x11" "ecdsa-with-SHA256"
	    "\x25" "\x00\x05" "EC256"
	"\xe0" "\x00\x1a" ID_LORA;		/* identity TLV */

/* IPv6, resumed session, identity TLV type 0xE7. 16 + 36 + 4 + 34 + 16. */
static const unsigned char v6[] =
	SIG "\x21" "\x21" "\x00\x5a"		/* length 90 */
	"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02"
	"\x9c\x40" "\x20\xfb"			/* 40000, 8443 */
	"\x05" "\x00\x01" "7"			/* UNIQUE_ID */
	"\x20" "\x00\x1f"			/* SSL, 31 */
	    "\x05"				/* SSL | CERT_SESS */
	    "\x00\x00\x00\x00"
	    "\x21" "\x00\x07" "TLSv1.3"
	    "\x22" "\x00\x0d" ID_A
	"\xe7" "\x00\x0d" ID_A;

/* IPv4, certificate presented but not authenticated: verify 1, no CN, no
 * identity TLV although an identity and a TLV type are set. 16 + 12 + 17 + 43. */
static const unsigned char v4_unverified[] =
	SIG "\x21" "\x11" "\x00\x48"		/* length 72 */
	ADDR4
	"\x02" "\x00\x0e" "ns.example.net"
	"\x20" "\x00\x28"			/* SSL, 40 */
	    "\x03"
	    "\x00\x00\x00\x01"			/* verify: 1 = not verified */
	    "\x21" "\x00\x07" "TLSv1.3"
	    "\x23" "\x00\x16" "TLS_AES_256_GCM_SHA384";

/* v4_full's info with minimal = 1. 16 + 12 + 37 + 29 = 94. */
static const unsigned char v4_minimal[] =
	SIG "\x21" "\x11" "\x00\x4e"		/* length 78 */
	ADDR4
	"\x20" "\x00\x22"			/* SSL, 34 */
	    "\x03"
	    "\x00\x00\x00\x00"
	    "\x22" "\x00\x1a" ID_LORA
	"\xe0" "\x00\x1a" ID_LORA;

/* v4_minimal plus CRC32C. 94 + 7 = 101. */
#define V4_MINIMAL_CRC_OFF 97
static const unsigned char v4_minimal_crc[] =
	SIG "\x21" "\x11" "\x00\x55"		/* length 85 */
	ADDR4
	"\x20" "\x00\x22"
	    "\x03"
	    "\x00\x00\x00\x00"
	    "\x22" "\x00\x1a" ID_LORA
	"\xe0" "\x00\x1a" ID_LORA
	"\x03" "\x00\x04" "\x8b\xb1\x46\x26";	/* CRC32C 0x8BB14626 */

/* Mixed families: UNSPEC, no address block. 16 + 8. */
static const unsigned char v_unspec[] =
	SIG "\x21" "\x00" "\x00\x08"
	"\x20" "\x00\x05" "\x01" "\x00\x00\x00\x01";

/* Literal arrays carry the string terminator; the vectors do not. */
#define VLEN(v) (sizeof(v) - 1)

static struct sockaddr_in src4, dst4;
static struct sockaddr_in6 src6, dst6;

static void
setup_addresses(void)
{
	src4.sin_family = dst4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &src4.sin_addr);
	inet_pton(AF_INET, "198.51.100.1", &dst4.sin_addr);
	src4.sin_port = htons(54321);
	dst4.sin_port = htons(443);
	src6.sin6_family = dst6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &src6.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::2", &dst6.sin6_addr);
	src6.sin6_port = htons(40000);
	dst6.sin6_port = htons(8443);
}

static struct pp_info
info_v4_full(void)
{
	static const unsigned char h2[] = { 'h', '2' };
	struct pp_info i = {
		.src = (const struct sockaddr *)&src4,
		.dst = (const struct sockaddr *)&dst4,
		.ssl = 1, .cert_conn = 1, .verified = 1,
		.tls_version = "TLSv1.3",
		.cipher = "TLS_AES_128_GCM_SHA256",
		.sig_alg = "ecdsa-with-SHA256",
		.key_alg = "EC256",
		.identity = ID_LORA,
		.authority = "ns.example.net",
		.alpn = h2, .alpn_len = sizeof(h2),
		.unique_id = "0000002a",
		.identity_tlv = PP2_TYPE_DANE_IDENTITY_DEFAULT,
	};
	return i;
}

static struct pp_info
info_v6(void)
{
	struct pp_info i = {
		.src = (const struct sockaddr *)&src6,
		.dst = (const struct sockaddr *)&dst6,
		.ssl = 1, .cert_sess = 1, .verified = 1,
		.tls_version = "TLSv1.3",
		.identity = ID_A,
		.unique_id = "7",
		.identity_tlv = 0xe7,
	};
	return i;
}

static struct pp_info
info_v4_unverified(void)
{
	struct pp_info i = {
		.src = (const struct sockaddr *)&src4,
		.dst = (const struct sockaddr *)&dst4,
		.ssl = 1, .cert_conn = 1, .verified = 0,
		.tls_version = "TLSv1.3",
		.cipher = "TLS_AES_256_GCM_SHA384",
		.identity = ID_A,		/* must not leak out */
		.authority = "ns.example.net",
		.identity_tlv = PP2_TYPE_DANE_IDENTITY_DEFAULT,
	};
	return i;
}

/* Compares an encoding with a vector; on a mismatch says where. */
static void
is_bytes(const unsigned char *got, size_t got_len, const unsigned char *want,
    size_t want_len, const char *what)
{
	size_t i, n = got_len < want_len ? got_len : want_len;

	if (ok(got_len == want_len && memcmp(got, want, n) == 0, "%s: bytes", what))
		return;
	diag("lengths: got %zu, want %zu", got_len, want_len);
	for (i = 0; i < n; i++)
		if (got[i] != want[i]) {
			diag("first difference at offset %zu: got 0x%02x, want 0x%02x",
			    i, got[i], want[i]);
			break;
		}
}

static void
check_encode(const struct pp_info *info, const unsigned char *want,
    size_t want_len, const char *what)
{
	unsigned char buf[PP2_HEADER_MAX];
	size_t len = 0;

	is_int(pp2_encode(info, buf, sizeof(buf), &len), DP_OK, "%s: encode", what);
	is_bytes(buf, len, want, want_len, what);
}

/* Returns the decoded top-level TLV of type, or NULL. */
static const struct pp2_tlv *
find_tlv(const struct pp2_header *h, uint8_t type)
{
	size_t i;

	for (i = 0; i < h->n_tlvs; i++)
		if (h->tlvs[i].type == type)
			return &h->tlvs[i];
	return NULL;
}

static int
tlv_is(const struct pp2_tlv *t, const char *s)
{
	return t != NULL && s != NULL && t->len == strlen(s) &&
	    memcmp(t->value, s, t->len) == 0;
}

static int
subtlv_is(const struct pp2_tlv *ssl, uint8_t subtype, const char *s)
{
	struct pp2_tlv sub;

	if (pp2_ssl_subtlv(ssl, subtype, &sub) != DP_OK)
		return s == NULL;
	return tlv_is(&sub, s);
}

/* Address and port equality of a decoded address and an original one. */
static int
same_sockaddr(const struct sockaddr_storage *got, const struct sockaddr *want)
{
	if (got->ss_family != want->sa_family)
		return 0;
	if (want->sa_family == AF_INET) {
		const struct sockaddr_in *g = (const struct sockaddr_in *)got;
		const struct sockaddr_in *w = (const struct sockaddr_in *)want;

		return g->sin_addr.s_addr == w->sin_addr.s_addr &&
		    g->sin_port == w->sin_port;
	}
	if (want->sa_family == AF_INET6) {
		const struct sockaddr_in6 *g = (const struct sockaddr_in6 *)got;
		const struct sockaddr_in6 *w = (const struct sockaddr_in6 *)want;

		return memcmp(&g->sin6_addr, &w->sin6_addr, 16) == 0 &&
		    g->sin6_port == w->sin6_port;
	}
	return 0;
}

/* Decodes an encoded vector and checks every field against the info it was
 * encoded from. */
static void
check_decode(const struct pp_info *info, const unsigned char *v, size_t len,
    const char *what)
{
	struct pp2_header h;
	const struct pp2_tlv *ssl, *id;
	int family = info->src != NULL && info->dst != NULL &&
	    info->src->sa_family == info->dst->sa_family ? info->src->sa_family :
	    AF_UNSPEC;
	int same_addr = 1;
	int fields_ok;
	uint8_t client;
	uint32_t verify;

	if (!ok(pp2_decode(v, len, &h) == DP_OK, "%s: decodes", what))
		return;
	if (family != AF_UNSPEC)
		same_addr = same_sockaddr(&h.src, info->src) &&
		    same_sockaddr(&h.dst, info->dst);
	ok(h.command == 1 && h.header_len == len && same_addr &&
	    h.family == (family == AF_INET ? 1 : family == AF_INET6 ? 2 : 0) &&
	    h.transport == (family == AF_UNSPEC ? 0 : 1) &&
	    h.crc_ok == (info->crc32c ? 1 : -1),
	    "%s: command, length, family, addresses, crc", what);

	ssl = find_tlv(&h, PP2_TYPE_SSL);
	if (!ok(ssl != NULL && ssl->len >= 5, "%s: SSL TLV present", what))
		return;
	client = ssl->value[0];
	verify = (uint32_t)ssl->value[1] << 24 | (uint32_t)ssl->value[2] << 16 |
	    (uint32_t)ssl->value[3] << 8 | ssl->value[4];
	id = info->identity_tlv != 0 ? find_tlv(&h, info->identity_tlv) : NULL;
	fields_ok = client == ((info->ssl ? PP2_CLIENT_SSL : 0) |
	    (info->cert_conn ? PP2_CLIENT_CERT_CONN : 0) |
	    (info->cert_sess ? PP2_CLIENT_CERT_SESS : 0)) &&
	    verify == (info->verified ? 0u : 1u) &&
	    subtlv_is(ssl, PP2_SUBTYPE_SSL_CN, info->verified ? info->identity : NULL) &&
	    (info->verified && info->identity_tlv != 0 ?
	    tlv_is(id, info->identity) : id == NULL);
	if (!info->minimal)
		fields_ok = fields_ok &&
		    subtlv_is(ssl, PP2_SUBTYPE_SSL_VERSION, info->tls_version) &&
		    subtlv_is(ssl, PP2_SUBTYPE_SSL_CIPHER, info->cipher) &&
		    subtlv_is(ssl, PP2_SUBTYPE_SSL_SIG_ALG, info->sig_alg) &&
		    subtlv_is(ssl, PP2_SUBTYPE_SSL_KEY_ALG, info->key_alg) &&
		    (info->authority ? tlv_is(find_tlv(&h, PP2_TYPE_AUTHORITY),
		    info->authority) : find_tlv(&h, PP2_TYPE_AUTHORITY) == NULL) &&
		    (info->unique_id ? tlv_is(find_tlv(&h, PP2_TYPE_UNIQUE_ID),
		    info->unique_id) : find_tlv(&h, PP2_TYPE_UNIQUE_ID) == NULL) &&
		    (info->alpn ? find_tlv(&h, PP2_TYPE_ALPN) != NULL &&
		    find_tlv(&h, PP2_TYPE_ALPN)->len == info->alpn_len :
		    find_tlv(&h, PP2_TYPE_ALPN) == NULL);
	else
		fields_ok = fields_ok && h.n_tlvs == (size_t)(1 +
		    (info->verified && info->identity_tlv != 0) + (info->crc32c != 0));
	ok(fields_ok, "%s: decoded TLVs equal what was encoded", what);
}

static void
test_vectors(void)
{
	struct pp_info i;

	i = info_v4_full();
	check_encode(&i, v4_full, VLEN(v4_full), "IPv4 full verified");
	check_decode(&i, v4_full, VLEN(v4_full), "IPv4 full verified");

	i = info_v6();
	check_encode(&i, v6, VLEN(v6), "IPv6 resumed");
	check_decode(&i, v6, VLEN(v6), "IPv6 resumed");

	i = info_v4_unverified();
	check_encode(&i, v4_unverified, VLEN(v4_unverified), "IPv4 unverified");
	check_decode(&i, v4_unverified, VLEN(v4_unverified), "IPv4 unverified");

	i = info_v4_full();
	i.minimal = 1;
	check_encode(&i, v4_minimal, VLEN(v4_minimal), "IPv4 minimal");
	check_decode(&i, v4_minimal, VLEN(v4_minimal), "IPv4 minimal");
	ok(VLEN(v4_minimal) <= 107, "minimal header fits nginx's 107 bytes");

	i.crc32c = 1;
	check_encode(&i, v4_minimal_crc, VLEN(v4_minimal_crc), "IPv4 minimal CRC");
	check_decode(&i, v4_minimal_crc, VLEN(v4_minimal_crc), "IPv4 minimal CRC");

	i = info_v4_unverified();
	i.src = (const struct sockaddr *)&src4;
	i.dst = (const struct sockaddr *)&dst6;
	i.minimal = 1;
	i.cert_conn = 0;
	check_encode(&i, v_unspec, VLEN(v_unspec), "mixed families UNSPEC");
	check_decode(&i, v_unspec, VLEN(v_unspec), "mixed families UNSPEC");

	i.src = NULL;
	i.dst = NULL;
	check_encode(&i, v_unspec, VLEN(v_unspec), "no addresses UNSPEC");
}

static void
test_crc32c(void)
{
	unsigned char v[VLEN(v4_minimal_crc)];

	is_int(pp2_crc32c((const unsigned char *)"123456789", 9), 0xE3069283,
	    "crc32c check vector");
	is_int(pp2_crc32c(NULL, 0), 0, "crc32c of nothing");
	memcpy(v, v4_minimal_crc, sizeof(v));
	memset(v + V4_MINIMAL_CRC_OFF, 0, 4);
	is_int(pp2_crc32c(v, sizeof(v)), 0x8BB14626,
	    "crc32c of the vector with the field zeroed is the stored value");
}

static void
test_space(void)
{
	struct pp_info i = info_v4_full();
	unsigned char buf[PP2_HEADER_MAX + 64];
	char big[PP2_HEADER_MAX + 1];
	size_t len = 0;

	is_int(pp2_encode(&i, buf, VLEN(v4_full) - 1, &len), DP_ERR_SPACE,
	    "buffer one byte short: DP_ERR_SPACE");
	is_int(pp2_encode(&i, buf, VLEN(v4_full), &len), DP_OK,
	    "buffer of exactly the header size");
	is_int(pp2_encode(&i, buf, 16, &len), DP_ERR_SPACE,
	    "buffer of the fixed part only: DP_ERR_SPACE");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	i.authority = big;
	is_int(pp2_encode(&i, buf, sizeof(buf), &len), DP_ERR_SPACE,
	    "header beyond PP2_HEADER_MAX: DP_ERR_SPACE");

	{
		/* The longest legitimate values all at once still fit: a
		 * 253-character verified name (CN and identity TLV), a
		 * 255-byte SNI and ALPN, a 128-byte unique id, a wildcard
		 * owner "*." + 253 characters. */
		static char name[254], sni[256], uid[129], wild[256];
		static unsigned char alpn[255];
		struct pp_info w = info_v4_full();
		struct pp2_header h;
		struct pp2_tlv sub;

		memset(name, 'n', 253);
		wild[0] = '*';
		wild[1] = '.';
		memset(wild + 2, 'w', 253);
		w.tlsa_wildcard = wild;
		memset(sni, 's', 255);
		memset(uid, 'u', 128);
		memset(alpn, 'a', sizeof(alpn));
		w.identity = name;
		w.authority = sni;
		w.unique_id = uid;
		w.alpn = alpn;
		w.alpn_len = sizeof(alpn);
		is_int(pp2_encode(&w, buf, PP2_HEADER_MAX, &len), DP_OK,
		    "the longest legitimate values fit in PP2_HEADER_MAX");
		ok(pp2_decode(buf, len, &h) == DP_OK && h.n_tlvs > 0 &&
		    pp2_ssl_subtlv(&h.tlvs[3], PP2_SUBTYPE_SSL_DANE_WILDCARD, &sub) == DP_OK &&
		    sub.len == 255 && memcmp(sub.value, wild, 255) == 0,
		    "the wildcard sub-TLV (0xE0) inside PP2_TYPE_SSL carries the wildcard owner");
		w.verified = 0;
		w.identity = NULL;
		ok(pp2_encode(&w, buf, PP2_HEADER_MAX, &len) == DP_OK &&
		    pp2_decode(buf, len, &h) == DP_OK &&
		    pp2_ssl_subtlv(&h.tlvs[3], PP2_SUBTYPE_SSL_DANE_WILDCARD, &sub) == DP_ERR_NOT_FOUND,
		    "... and is never sent for an unverified client");
	}
	i = info_v4_full();
	i.unique_id = big;
	is_int(pp2_encode(&i, buf, sizeof(buf), &len), DP_ERR_INVALID,
	    "UNIQUE_ID over 128 bytes: DP_ERR_INVALID");
	i = info_v4_full();
	i.identity = NULL;
	is_int(pp2_encode(&i, buf, sizeof(buf), &len), DP_ERR_INVALID,
	    "verified without identity: DP_ERR_INVALID");
}

static void
test_v1(void)
{
	char buf[128];
	size_t len = 0;
	static const char tcp4[] = "PROXY TCP4 192.0.2.10 198.51.100.1 54321 443\r\n";
	static const char tcp6[] = "PROXY TCP6 2001:db8::1 2001:db8::2 40000 8443\r\n";
	static const char unknown[] = "PROXY UNKNOWN\r\n";

	is_int(pp1_encode((struct sockaddr *)&src4, (struct sockaddr *)&dst4,
	    buf, sizeof(buf), &len), DP_OK, "v1 TCP4 encodes");
	ok(len == VLEN(tcp4) && memcmp(buf, tcp4, len) == 0, "v1 TCP4 bytes");
	is_int(pp1_encode((struct sockaddr *)&src6, (struct sockaddr *)&dst6,
	    buf, sizeof(buf), &len), DP_OK, "v1 TCP6 encodes");
	ok(len == VLEN(tcp6) && memcmp(buf, tcp6, len) == 0, "v1 TCP6 bytes");
	is_int(pp1_encode((struct sockaddr *)&src4, (struct sockaddr *)&dst6,
	    buf, sizeof(buf), &len), DP_OK, "v1 mixed families encodes");
	ok(len == VLEN(unknown) && memcmp(buf, unknown, len) == 0,
	    "v1 mixed families: UNKNOWN");
	is_int(pp1_encode(NULL, NULL, buf, sizeof(buf), &len), DP_OK,
	    "v1 no addresses encodes");
	ok(len == VLEN(unknown) && memcmp(buf, unknown, len) == 0,
	    "v1 no addresses: UNKNOWN");
	is_int(pp1_encode((struct sockaddr *)&src4, (struct sockaddr *)&dst4,
	    buf, VLEN(tcp4) - 1, &len), DP_ERR_SPACE, "v1 buffer short: DP_ERR_SPACE");
	is_int(pp1_encode((struct sockaddr *)&src4, (struct sockaddr *)&dst4,
	    buf, VLEN(tcp4), &len), DP_OK, "v1 buffer of exactly the line");
}

/* Decodes a modified copy of a vector. */
static int
decode_patched(const unsigned char *v, size_t len, size_t off,
    unsigned char byte)
{
	unsigned char copy[PP2_HEADER_MAX];
	struct pp2_header h;

	memcpy(copy, v, len);
	copy[off] = byte;
	return pp2_decode(copy, len, &h);
}

static void
test_decode_errors(void)
{
	struct pp2_header h;
	size_t n;
	int all_again = 1;
	/* IPv4, one TLV whose length runs past the header. */
	static const unsigned char overrun_tlv[] =
		SIG "\x21" "\x11" "\x00\x10" ADDR4 "\x04" "\x00\x02" "x";
	/* IPv4, a TLV cut inside its 3-byte type/length. */
	static const unsigned char cut_tlv[] =
		SIG "\x21" "\x11" "\x00\x0e" ADDR4 "\x04" "\x00";
	/* IPv4 with a length shorter than the address block. */
	static const unsigned char short_addr[] =
		SIG "\x21" "\x11" "\x00\x0b" ADDR4;
	/* LOCAL command, UNSPEC, no TLVs: valid (health checks). */
	static const unsigned char local[] = SIG "\x20" "\x00" "\x00\x00";
	/* A CRC32C TLV of 5 bytes instead of 4. */
	static const unsigned char crc_len5[] =
		SIG "\x21" "\x00" "\x00\x08" "\x03" "\x00\x05" "\x00\x00\x00\x00\x00";
	/* An empty NOOP TLV, then payload that belongs to the caller. */
	static const unsigned char with_tail[] =
		SIG "\x21" "\x00" "\x00\x03" "\x04" "\x00\x00" "GET /";

	is_int(decode_patched(v4_full, VLEN(v4_full), 3, 0x0b), DP_ERR_INVALID,
	    "bad signature refused");
	is_int(decode_patched(v4_full, VLEN(v4_full), 12, 0x11), DP_ERR_INVALID,
	    "version 1 in byte 13 refused");
	is_int(decode_patched(v4_full, VLEN(v4_full), 12, 0x22), DP_ERR_INVALID,
	    "command 2 refused");
	is_int(decode_patched(v4_full, VLEN(v4_full), 13, 0x41), DP_ERR_INVALID,
	    "family 4 refused");
	is_int(decode_patched(v4_full, VLEN(v4_full), 13, 0x13), DP_ERR_INVALID,
	    "transport 3 refused");
	is_int(pp2_decode(overrun_tlv, VLEN(overrun_tlv), &h), DP_ERR_INVALID,
	    "TLV value beyond the header refused");
	is_int(pp2_decode(cut_tlv, VLEN(cut_tlv), &h), DP_ERR_INVALID,
	    "truncated TLV header refused");
	is_int(pp2_decode(short_addr, VLEN(short_addr), &h), DP_ERR_INVALID,
	    "length below the address block size refused");
	/* Length 0x00af: one byte more than the TLVs fill, so the last TLV
	 * runs over once that byte is there. */
	{
		unsigned char copy[VLEN(v4_full) + 1];

		memcpy(copy, v4_full, VLEN(v4_full));
		copy[15] = 0xaf;
		copy[VLEN(v4_full)] = 0xe0;
		is_int(pp2_decode(copy, sizeof(copy), &h), DP_ERR_INVALID,
		    "length field past the last whole TLV refused");
		is_int(pp2_decode(copy, VLEN(v4_full), &h), DP_ERR_AGAIN,
		    "length field past the data given: DP_ERR_AGAIN");
	}
	is_int(decode_patched(v4_minimal_crc, VLEN(v4_minimal_crc),
	    V4_MINIMAL_CRC_OFF + 3, 0x27), DP_ERR_INVALID, "bad CRC refused");
	is_int(decode_patched(v4_minimal_crc, VLEN(v4_minimal_crc), 40, 'L'),
	    DP_ERR_INVALID, "covered byte changed: CRC mismatch refused");
	is_int(pp2_decode(crc_len5, VLEN(crc_len5), &h), DP_ERR_INVALID,
	    "CRC TLV of length 5 refused");
	for (n = 0; n < VLEN(v4_full); n++)
		if (pp2_decode(v4_full, n, &h) != DP_ERR_AGAIN) {
			diag("prefix of %zu bytes", n);
			all_again = 0;
		}
	ok(all_again, "every proper prefix gives DP_ERR_AGAIN");
	is_int(pp2_decode((const unsigned char *)"\r\n\r\nX", 5, &h),
	    DP_ERR_INVALID, "a prefix that cannot become a signature is refused");
	is_int(pp2_decode((const unsigned char *)"PROXY TCP4 ", 11, &h),
	    DP_ERR_INVALID, "v1 text refused");

	is_int(pp2_decode(local, VLEN(local), &h), DP_OK, "LOCAL accepted");
	ok(h.command == 0 && h.family == 0 && h.n_tlvs == 0 && h.header_len == 16,
	    "LOCAL fields");
	is_int(pp2_decode(with_tail, VLEN(with_tail), &h), DP_OK,
	    "header followed by payload accepted");
	is_int(h.header_len, 19, "header_len stops before the payload");
}

static void
test_ssl_subtlv(void)
{
	struct pp2_header h;
	struct pp2_tlv sub, ssl;

	if (pp2_decode(v4_minimal, VLEN(v4_minimal), &h) != DP_OK || h.n_tlvs < 1) {
		ok(0, "decode v4_minimal for sub-TLV tests");
		return;
	}
	ssl = h.tlvs[0];
	is_int(pp2_ssl_subtlv(&ssl, PP2_SUBTYPE_SSL_CN, &sub), DP_OK, "CN found");
	ok(tlv_is(&sub, ID_LORA), "CN value");
	is_int(pp2_ssl_subtlv(&ssl, PP2_SUBTYPE_SSL_CIPHER, &sub), DP_ERR_NOT_FOUND,
	    "cipher absent in minimal mode");
	is_int(pp2_ssl_subtlv(&h.tlvs[1], PP2_SUBTYPE_SSL_CN, &sub), DP_ERR_INVALID,
	    "not an SSL TLV");
	ssl.len = 4;
	is_int(pp2_ssl_subtlv(&ssl, PP2_SUBTYPE_SSL_CN, &sub), DP_ERR_INVALID,
	    "SSL TLV shorter than client+verify");
	ssl.len = 5 + 3 + 25;
	is_int(pp2_ssl_subtlv(&ssl, PP2_SUBTYPE_SSL_CN, &sub), DP_ERR_INVALID,
	    "sub-TLV cut short");
	ssl.len = 5;
	is_int(pp2_ssl_subtlv(&ssl, PP2_SUBTYPE_SSL_CN, &sub), DP_ERR_NOT_FOUND,
	    "no sub-TLVs at all");
}

int
main(void)
{
	setup_addresses();
	test_vectors();
	test_crc32c();
	test_space();
	test_v1();
	test_decode_errors();
	test_ssl_subtlv();
	return done_testing();
}
