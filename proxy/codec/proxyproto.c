/* proxyproto.c — see proxyproto.h.
 *
 * Follows HAProxy's doc/proxy-protocol.txt (sections 2.1 and 2.2). The
 * encoder builds the whole header in the caller's buffer so it goes out in
 * one write; the decoder validates everything it reports and never reads past
 * the length it was given. */
#include "proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "util.h"

#define PP2_FIXED_LEN 16		/* signature, ver/cmd, fam, length */
#define PP2_VERSION_PROXY 0x21		/* version 2, command PROXY */
#define PP2_FAM_UNSPEC 0x00
#define PP2_FAM_TCP4 0x11
#define PP2_FAM_TCP6 0x21
#define PP2_ADDR_LEN_INET 12
#define PP2_ADDR_LEN_INET6 36
#define PP2_ADDR_LEN_UNIX 216
#define PP2_TLV_HDR_LEN 3
#define PP2_SSL_FIXED_LEN 5		/* uint8 client, uint32 verify */
#define PP2_UNIQUE_ID_MAX 128		/* doc/proxy-protocol.txt 2.2.5 */
#define PP1_LINE_MAX 107		/* doc/proxy-protocol.txt 2.1 */

/* ---- CRC32C ---------------------------------------------------------- */

/* Reflected Castagnoli polynomial. Bitwise: headers are at most a few
 * hundred bytes, and this needs no table and no initialisation. */
#define CRC32C_POLY 0x82F63B78u

static uint32_t
crc32c_update(uint32_t crc, const unsigned char *p, size_t len)
{
	size_t i;
	int k;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1u)));
	}
	return crc;
}

uint32_t
pp2_crc32c(const unsigned char *p, size_t len)
{
	return ~crc32c_update(0xFFFFFFFFu, p, len);
}

/* ---- encoder --------------------------------------------------------- */

static void
put_u8(struct dp_wbuf *w, uint8_t v)
{
	dp_wbuf_put(w, &v, 1);
}

static void
put_be16(struct dp_wbuf *w, uint16_t v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	dp_wbuf_put(w, b, sizeof(b));
}

static void
put_be32(struct dp_wbuf *w, uint32_t v)
{
	unsigned char b[4] = {
		(unsigned char)(v >> 24), (unsigned char)(v >> 16),
		(unsigned char)(v >> 8), (unsigned char)v
	};

	dp_wbuf_put(w, b, sizeof(b));
}

/* Patches a big-endian 16-bit value at off (already written). */
static void
set_be16(struct dp_wbuf *w, size_t off, size_t v)
{
	w->p[off] = (unsigned char)(v >> 8);
	w->p[off + 1] = (unsigned char)v;
}

static void
put_tlv(struct dp_wbuf *w, uint8_t type, const void *value, size_t len)
{
	if (len > UINT16_MAX) {
		w->overflow = 1;
		return;
	}
	put_u8(w, type);
	put_be16(w, (uint16_t)len);
	dp_wbuf_put(w, value, len);
}

/* A string TLV, left out when the string is NULL or empty. */
static void
put_tlv_str(struct dp_wbuf *w, uint8_t type, const char *s)
{
	if (s != NULL && *s != '\0')
		put_tlv(w, type, s, strlen(s));
}

/* Address family of the pair, or AF_UNSPEC when it cannot be told. */
static int
pair_family(const struct sockaddr *src, const struct sockaddr *dst)
{
	if (src == NULL || dst == NULL || src->sa_family != dst->sa_family)
		return AF_UNSPEC;
	if (src->sa_family == AF_INET || src->sa_family == AF_INET6)
		return src->sa_family;
	return AF_UNSPEC;
}

static void
put_addresses(struct dp_wbuf *w, int family, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	if (family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)src;
		const struct sockaddr_in *d = (const struct sockaddr_in *)dst;

		/* sin_addr and sin_port are already in network order. */
		dp_wbuf_put(w, &s->sin_addr, 4);
		dp_wbuf_put(w, &d->sin_addr, 4);
		dp_wbuf_put(w, &s->sin_port, 2);
		dp_wbuf_put(w, &d->sin_port, 2);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)src;
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)dst;

		dp_wbuf_put(w, &s->sin6_addr, 16);
		dp_wbuf_put(w, &d->sin6_addr, 16);
		dp_wbuf_put(w, &s->sin6_port, 2);
		dp_wbuf_put(w, &d->sin6_port, 2);
	}
}

static void
put_ssl_tlv(struct dp_wbuf *w, const struct pp_info *info)
{
	uint8_t client = 0;
	size_t len_off;

	if (info->ssl)
		client |= PP2_CLIENT_SSL;
	if (info->cert_conn)
		client |= PP2_CLIENT_CERT_CONN;
	if (info->cert_sess)
		client |= PP2_CLIENT_CERT_SESS;

	put_u8(w, PP2_TYPE_SSL);
	len_off = w->len;
	put_be16(w, 0);			/* patched below */
	put_u8(w, client);
	/* Consumers treat verify == 0 as "certificate verified"; that must
	 * only ever mean DANE-authenticated. */
	put_be32(w, info->verified ? 0 : 1);
	if (!info->minimal)
		put_tlv_str(w, PP2_SUBTYPE_SSL_VERSION, info->tls_version);
	if (info->verified)
		put_tlv_str(w, PP2_SUBTYPE_SSL_CN, info->identity);
	if (!info->minimal) {
		put_tlv_str(w, PP2_SUBTYPE_SSL_CIPHER, info->cipher);
		put_tlv_str(w, PP2_SUBTYPE_SSL_SIG_ALG, info->sig_alg);
		put_tlv_str(w, PP2_SUBTYPE_SSL_KEY_ALG, info->key_alg);
	}
	/* A verified identity vouched for by a wildcard record says so even
	 * in the minimal set: one key may then speak for many names. */
	if (info->verified)
		put_tlv_str(w, PP2_SUBTYPE_SSL_DANE_WILDCARD, info->tlsa_wildcard);
	if (!w->overflow)
		set_be16(w, len_off, w->len - len_off - 2);
}

int
pp2_encode(const struct pp_info *info, unsigned char *buf, size_t buf_size,
    size_t *out_len)
{
	struct dp_wbuf w = { buf, buf_size, 0, 0 };
	int family;
	size_t crc_off = 0;

	if (info == NULL || out_len == NULL)
		return DP_ERR_INVALID;
	/* A verified connection without a name would tell the upstream
	 * "verified" with nobody to attach it to. */
	if (info->verified && (info->identity == NULL || *info->identity == '\0'))
		return DP_ERR_INVALID;
	if (info->unique_id != NULL && strlen(info->unique_id) > PP2_UNIQUE_ID_MAX)
		return DP_ERR_INVALID;
	if (buf == NULL)
		return DP_ERR_SPACE;
	if (w.cap > PP2_HEADER_MAX)
		w.cap = PP2_HEADER_MAX;

	family = pair_family(info->src, info->dst);
	dp_wbuf_put(&w, PP2_SIGNATURE, PP2_SIGNATURE_LEN);
	put_u8(&w, PP2_VERSION_PROXY);
	put_u8(&w, family == AF_INET ? PP2_FAM_TCP4 :
	    family == AF_INET6 ? PP2_FAM_TCP6 : PP2_FAM_UNSPEC);
	put_be16(&w, 0);		/* patched below */
	put_addresses(&w, family, info->src, info->dst);

	if (!info->minimal) {
		if (info->alpn != NULL && info->alpn_len > 0)
			put_tlv(&w, PP2_TYPE_ALPN, info->alpn, info->alpn_len);
		put_tlv_str(&w, PP2_TYPE_AUTHORITY, info->authority);
		put_tlv_str(&w, PP2_TYPE_UNIQUE_ID, info->unique_id);
	}
	put_ssl_tlv(&w, info);
	if (info->verified && info->identity_tlv != 0)
		put_tlv_str(&w, info->identity_tlv, info->identity);
	if (info->crc32c) {
		static const unsigned char zero[4];

		put_u8(&w, PP2_TYPE_CRC32C);
		put_be16(&w, sizeof(zero));
		crc_off = w.len;
		dp_wbuf_put(&w, zero, sizeof(zero));
	}
	if (w.overflow)
		return DP_ERR_SPACE;

	set_be16(&w, PP2_SIGNATURE_LEN + 2, w.len - PP2_FIXED_LEN);
	if (info->crc32c) {
		/* Last, over the finished header with the value still zero. */
		uint32_t crc = pp2_crc32c(buf, w.len);

		buf[crc_off] = (unsigned char)(crc >> 24);
		buf[crc_off + 1] = (unsigned char)(crc >> 16);
		buf[crc_off + 2] = (unsigned char)(crc >> 8);
		buf[crc_off + 3] = (unsigned char)crc;
	}
	*out_len = w.len;
	return DP_OK;
}

int
pp1_encode(const struct sockaddr *src, const struct sockaddr *dst,
    char *buf, size_t buf_size, size_t *out_len)
{
	char line[PP1_LINE_MAX + 1];
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int family = pair_family(src, dst);
	int n;

	if (family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)src;
		const struct sockaddr_in *d = (const struct sockaddr_in *)dst;

		inet_ntop(AF_INET, &s->sin_addr, sa, sizeof(sa));
		inet_ntop(AF_INET, &d->sin_addr, da, sizeof(da));
		n = snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n",
		    sa, da, (unsigned)ntohs(s->sin_port),
		    (unsigned)ntohs(d->sin_port));
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)src;
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)dst;

		inet_ntop(AF_INET6, &s->sin6_addr, sa, sizeof(sa));
		inet_ntop(AF_INET6, &d->sin6_addr, da, sizeof(da));
		n = snprintf(line, sizeof(line), "PROXY TCP6 %s %s %u %u\r\n",
		    sa, da, (unsigned)ntohs(s->sin6_port),
		    (unsigned)ntohs(d->sin6_port));
	} else {
		n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
	}
	/* Cannot happen with numeric addresses (the spec's worst case is
	 * 104 bytes), but never emit a cut line. */
	if (n < 0 || (size_t)n >= sizeof(line))
		return DP_ERR_INTERNAL;
	if (buf == NULL || (size_t)n > buf_size)
		return DP_ERR_SPACE;
	memcpy(buf, line, (size_t)n);
	/* Terminate when there is room, for callers that print it. */
	if ((size_t)n < buf_size)
		buf[n] = '\0';
	if (out_len != NULL)
		*out_len = (size_t)n;
	return DP_OK;
}

/* ---- decoder --------------------------------------------------------- */

static uint16_t
get_be16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Address block size for a family/transport byte, or -1 if the byte is not
 * one of the values the spec allows. */
static int
addr_block_len(uint8_t fam)
{
	switch (fam) {
	case 0x00:
		return 0;
	case 0x11:
	case 0x12:
		return PP2_ADDR_LEN_INET;
	case 0x21:
	case 0x22:
		return PP2_ADDR_LEN_INET6;
	case 0x31:
	case 0x32:
		return PP2_ADDR_LEN_UNIX;
	default:
		return -1;
	}
}

static void
get_addresses(const unsigned char *a, uint8_t family, struct pp2_header *out)
{
	if (family == 1) {
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2);
		memcpy(&d->sin_port, a + 10, 2);
	} else if (family == 2) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
		memcpy(&d->sin6_addr, a + 16, 16);
		memcpy(&s->sin6_port, a + 32, 2);
		memcpy(&d->sin6_port, a + 34, 2);
	}
}

int
pp2_decode(const unsigned char *buf, size_t len, struct pp2_header *out)
{
	size_t body_len, total, off, crc_off = 0;
	int alen;

	if (buf == NULL || out == NULL)
		return DP_ERR_INVALID;
	memset(out, 0, sizeof(*out));
	out->crc_ok = -1;

	/* Refuse a wrong prefix as early as possible rather than wait for
	 * bytes that can never make it valid. */
	if (memcmp(buf, PP2_SIGNATURE,
	    len < PP2_SIGNATURE_LEN ? len : PP2_SIGNATURE_LEN) != 0)
		return DP_ERR_INVALID;
	if (len > PP2_SIGNATURE_LEN && (buf[12] >> 4) != 2)
		return DP_ERR_INVALID;
	if (len > PP2_SIGNATURE_LEN && (buf[12] & 0x0f) > 1)
		return DP_ERR_INVALID;
	if (len > PP2_SIGNATURE_LEN + 1 && addr_block_len(buf[13]) < 0)
		return DP_ERR_INVALID;
	if (len < PP2_FIXED_LEN)
		return DP_ERR_AGAIN;

	out->command = buf[12] & 0x0f;
	out->family = buf[13] >> 4;
	out->transport = buf[13] & 0x0f;
	alen = addr_block_len(buf[13]);
	body_len = get_be16(buf + 14);
	total = PP2_FIXED_LEN + body_len;
	if (body_len < (size_t)alen)
		return DP_ERR_INVALID;
	if (len < total)
		return DP_ERR_AGAIN;
	out->header_len = total;
	get_addresses(buf + PP2_FIXED_LEN, out->family, out);

	for (off = PP2_FIXED_LEN + (size_t)alen; off < total; ) {
		struct pp2_tlv *t;
		uint16_t vlen;

		if (total - off < PP2_TLV_HDR_LEN)
			return DP_ERR_INVALID;
		vlen = get_be16(buf + off + 1);
		if (vlen > total - off - PP2_TLV_HDR_LEN)
			return DP_ERR_INVALID;
		if (out->n_tlvs == PP2_DECODE_MAX_TLVS)
			return DP_ERR_INVALID;
		t = &out->tlvs[out->n_tlvs++];
		t->type = buf[off];
		t->len = vlen;
		t->value = buf + off + PP2_TLV_HDR_LEN;
		if (t->type == PP2_TYPE_CRC32C) {
			if (vlen != 4 || crc_off != 0)
				return DP_ERR_INVALID;
			crc_off = off + PP2_TLV_HDR_LEN;
		}
		off += PP2_TLV_HDR_LEN + vlen;
	}

	if (crc_off != 0) {
		static const unsigned char zero[4];
		const unsigned char *v = buf + crc_off;
		uint32_t want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
		    (uint32_t)v[2] << 8 | v[3];
		uint32_t crc = 0xFFFFFFFFu;

		/* The sum covers the header with the CRC value read as zero;
		 * feed it in three pieces rather than copy the header. */
		crc = crc32c_update(crc, buf, crc_off);
		crc = crc32c_update(crc, zero, sizeof(zero));
		crc = crc32c_update(crc, v + 4, total - crc_off - 4);
		out->crc_ok = (~crc == want);
		/* doc/proxy-protocol.txt 2.2.3: a mismatch must be refused. */
		if (!out->crc_ok)
			return DP_ERR_INVALID;
	}
	return DP_OK;
}

int
pp2_ssl_subtlv(const struct pp2_tlv *ssl, uint8_t subtype, struct pp2_tlv *out)
{
	const unsigned char *v;
	size_t off;
	int found = 0;

	if (ssl == NULL || out == NULL || ssl->type != PP2_TYPE_SSL ||
	    ssl->len < PP2_SSL_FIXED_LEN || ssl->value == NULL)
		return DP_ERR_INVALID;
	v = ssl->value;
	/* Walk every sub-TLV so a malformed tail is refused even when the
	 * wanted one comes first. */
	for (off = PP2_SSL_FIXED_LEN; off < ssl->len; ) {
		uint16_t vlen;

		if (ssl->len - off < PP2_TLV_HDR_LEN)
			return DP_ERR_INVALID;
		vlen = get_be16(v + off + 1);
		if (vlen > ssl->len - off - PP2_TLV_HDR_LEN)
			return DP_ERR_INVALID;
		if (!found && v[off] == subtype) {
			out->type = subtype;
			out->len = vlen;
			out->value = v + off + PP2_TLV_HDR_LEN;
			found = 1;
		}
		off += PP2_TLV_HDR_LEN + vlen;
	}
	return found ? DP_OK : DP_ERR_NOT_FOUND;
}
