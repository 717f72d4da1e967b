/* proxyproto.h — PROXY protocol v1/v2 encoder and v2 decoder (HAProxy's
 * doc/proxy-protocol.txt). Pure: no I/O, no logging. */
#ifndef DP_PROXYPROTO_H
#define DP_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PP2_SIGNATURE "\r\n\r\n\0\r\nQUIT\n"
#define PP2_SIGNATURE_LEN 12
/* The largest header we emit: 16 + 36 (IPv6) + ALPN 3+255 + AUTHORITY
 * 3+255 + UNIQUE_ID 3+128 + SSL 3+5 with VERSION, CN 3+253, CIPHER,
 * SIG_ALG, KEY_ALG (each at most 3+64), DANE_WILDCARD 3+255 + identity
 * 3+253 + CRC32C 3+4 = 1742; 536 dropped clients whose (verified) names
 * were long. */
#define PP2_HEADER_MAX 1792

#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_CRC32C 0x03
#define PP2_TYPE_NOOP 0x04
#define PP2_TYPE_UNIQUE_ID 0x05
#define PP2_TYPE_SSL 0x20
#define PP2_SUBTYPE_SSL_VERSION 0x21
#define PP2_SUBTYPE_SSL_CN 0x22
#define PP2_SUBTYPE_SSL_CIPHER 0x23
#define PP2_SUBTYPE_SSL_SIG_ALG 0x24
#define PP2_SUBTYPE_SSL_KEY_ALG 0x25
/* daneproxy's own SSL sub-TLV: the wildcard owner ("*._device.example.net")
 * that synthesised the TLSA record the client matched; absent otherwise. */
#define PP2_SUBTYPE_SSL_DANE_WILDCARD 0xE0
#define PP2_TYPE_DANE_IDENTITY_DEFAULT 0xE0

#define PP2_CLIENT_SSL 0x01
#define PP2_CLIENT_CERT_CONN 0x02
#define PP2_CLIENT_CERT_SESS 0x04

/* What the upstream is told about one connection. Strings may be NULL (left
 * out). Addresses must be of the same family (AF_INET or AF_INET6); with
 * another family or mixed families the header says AF_UNSPEC/LOCAL-less
 * "UNSPEC" (no addresses). */
struct pp_info {
	const struct sockaddr *src;	/* the remote client */
	const struct sockaddr *dst;	/* the listener address it connected to */
	int ssl;			/* 1: the client spoke TLS */
	int cert_conn;			/* 1: a certificate was presented on this connection */
	int cert_sess;			/* 1: the session was resumed with a certificate */
	int verified;			/* 1: DANE-authenticated → verify field 0 */
	const char *tls_version;	/* "TLSv1.3" */
	const char *cipher;		/* "TLS_AES_128_GCM_SHA256" */
	const char *sig_alg;		/* signature algorithm of the client cert, e.g. "ecdsa-with-SHA256" */
	const char *key_alg;		/* client key algorithm, e.g. "EC256" */
	const char *identity;		/* the verified ClientName; only sent when verified */
	const char *tlsa_wildcard;	/* the wildcard owner whose synthesised TLSA record
					 * matched; NULL: none. Sent, when verified, as
					 * PP2_SUBTYPE_SSL_DANE_WILDCARD (minimal set too) */
	const char *authority;		/* SNI */
	const unsigned char *alpn;	/* negotiated ALPN protocol */
	size_t alpn_len;
	const char *unique_id;		/* connection id, at most 128 bytes */
	uint8_t identity_tlv;		/* custom TLV type for the identity; 0: not sent */
	int minimal;			/* 1: only PP2_TYPE_SSL with client/verify/CN and the identity TLV */
	int crc32c;			/* 1: append a PP2_TYPE_CRC32C TLV */
};

/* Encodes a PROXY v2 "PROXY" command header with the TLVs of info into buf.
 * TLV order: ALPN, AUTHORITY, UNIQUE_ID, SSL{VERSION, CN, CIPHER, SIG_ALG,
 * KEY_ALG, DANE_WILDCARD}, identity TLV, CRC32C. PP2_SUBTYPE_SSL_CN carries the identity and
 * is sent only when verified. verify = 0 only when verified, else 1. Values
 * longer than fit in PP2_HEADER_MAX make it fail with DP_ERR_SPACE.
 * Returns DP_OK and *out_len, DP_ERR_INVALID or DP_ERR_SPACE. */
int pp2_encode(const struct pp_info *info, unsigned char *buf, size_t buf_size,
    size_t *out_len);

/* Encodes a PROXY v1 text line ("PROXY TCP4 a b p q\r\n", or
 * "PROXY UNKNOWN\r\n" for other families). Returns DP_OK or DP_ERR_SPACE. */
int pp1_encode(const struct sockaddr *src, const struct sockaddr *dst,
    char *buf, size_t buf_size, size_t *out_len);

/* One TLV as found by pp2_decode: value points into the decoded buffer. */
struct pp2_tlv {
	uint8_t type;
	uint16_t len;
	const unsigned char *value;
};

#define PP2_DECODE_MAX_TLVS 32

/* A decoded v2 header. */
struct pp2_header {
	uint8_t command;		/* 0 LOCAL, 1 PROXY */
	uint8_t family;			/* high nibble of byte 14: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX */
	uint8_t transport;		/* low nibble: 1 STREAM, 2 DGRAM */
	struct sockaddr_storage src, dst; /* valid for INET/INET6 */
	size_t header_len;		/* bytes consumed: 16 + length field */
	size_t n_tlvs;
	struct pp2_tlv tlvs[PP2_DECODE_MAX_TLVS];	/* top-level TLVs in order */
	int crc_ok;			/* -1 no CRC TLV, 0 bad, 1 good */
};

/* Decodes a v2 header at the start of buf. Returns DP_OK, DP_ERR_AGAIN if
 * more bytes are needed, or DP_ERR_INVALID. */
int pp2_decode(const unsigned char *buf, size_t len, struct pp2_header *out);

/* Finds sub-TLV `subtype` inside a PP2_TYPE_SSL TLV value (after the 5-byte
 * client/verify prefix). Returns DP_OK and *out, or DP_ERR_NOT_FOUND /
 * DP_ERR_INVALID. */
int pp2_ssl_subtlv(const struct pp2_tlv *ssl, uint8_t subtype, struct pp2_tlv *out);

/* CRC32C (Castagnoli) of len bytes, as used by PP2_TYPE_CRC32C. */
uint32_t pp2_crc32c(const unsigned char *p, size_t len);

#endif
