/* fuzz_pp2_decode.c — libFuzzer target for the PROXY v2 decoder.
 *
 * Part 1 decodes the input and checks that everything reported lies inside
 * the bytes given. Part 2 builds a pp_info from the input, encodes it, and
 * checks that the decoder accepts the result and reads back the identity. */
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proxyproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
decode_checks(const uint8_t *data, size_t size)
{
	struct pp2_header h;
	struct pp2_tlv sub;
	size_t i;
	int r, st;

	r = pp2_decode(data, size, &h);
	check(r == DP_OK || r == DP_ERR_AGAIN || r == DP_ERR_INVALID);
	if (r != DP_OK)
		return;
	check(h.header_len >= 16 && h.header_len <= size);
	check(h.n_tlvs <= PP2_DECODE_MAX_TLVS);
	check(h.crc_ok == -1 || h.crc_ok == 1);
	for (i = 0; i < h.n_tlvs; i++) {
		const struct pp2_tlv *t = &h.tlvs[i];

		check(t->value >= data && t->value + t->len <= data + h.header_len);
		if (t->type != PP2_TYPE_SSL)
			continue;
		for (st = 0; st < 256; st++) {
			r = pp2_ssl_subtlv(t, (uint8_t)st, &sub);
			check(r == DP_OK || r == DP_ERR_NOT_FOUND || r == DP_ERR_INVALID);
			if (r == DP_OK)
				check(sub.value >= t->value &&
				    sub.value + sub.len <= t->value + t->len);
		}
	}
	/* Any prefix must ask for more, never succeed or read past it. */
	if (h.header_len > 0)
		check(pp2_decode(data, h.header_len - 1, &h) == DP_ERR_AGAIN);
}

/* Takes the next NUL-terminated piece of the input as a string, or NULL. */
static const char *
next_str(char *buf, size_t *off, size_t size)
{
	const char *s;

	if (*off >= size)
		return NULL;
	s = buf + *off;
	*off += strlen(s) + 1;
	return *s == '\0' ? NULL : s;
}

static void
roundtrip_checks(const uint8_t *data, size_t size)
{
	char text[1024];
	unsigned char out[PP2_HEADER_MAX];
	struct sockaddr_in6 s6, d6;
	struct sockaddr_in s4, d4;
	struct pp_info info;
	struct pp2_header h;
	struct pp2_tlv cn;
	size_t off = 1, len = 0;
	uint8_t flags;
	int r;

	if (size < 1 || size >= sizeof(text))
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	flags = data[0];

	memset(&info, 0, sizeof(info));
	memset(&s4, 0, sizeof(s4));
	memset(&d4, 0, sizeof(d4));
	memset(&s6, 0, sizeof(s6));
	memset(&d6, 0, sizeof(d6));
	s4.sin_family = d4.sin_family = AF_INET;
	s6.sin6_family = d6.sin6_family = AF_INET6;
	s4.sin_port = d6.sin6_port = (uint16_t)size;
	switch (flags & 3) {
	case 0: info.src = (struct sockaddr *)&s4; info.dst = (struct sockaddr *)&d4; break;
	case 1: info.src = (struct sockaddr *)&s6; info.dst = (struct sockaddr *)&d6; break;
	case 2: info.src = (struct sockaddr *)&s4; info.dst = (struct sockaddr *)&d6; break;
	default: break;
	}
	info.ssl = (flags >> 2) & 1;
	info.cert_conn = (flags >> 3) & 1;
	info.verified = (flags >> 4) & 1;
	info.minimal = (flags >> 5) & 1;
	info.crc32c = (flags >> 6) & 1;
	info.identity_tlv = (flags >> 7) ? 0xE0 : 0;
	info.identity = next_str(text, &off, size);
	info.tls_version = next_str(text, &off, size);
	info.cipher = next_str(text, &off, size);
	info.authority = next_str(text, &off, size);
	info.unique_id = next_str(text, &off, size);

	r = pp2_encode(&info, out, sizeof(out), &len);
	check(r == DP_OK || r == DP_ERR_SPACE || r == DP_ERR_INVALID);
	if (r != DP_OK)
		return;
	check(len <= PP2_HEADER_MAX);
	r = pp2_decode(out, len, &h);
	check(r == DP_OK && h.header_len == len);
	check(h.crc_ok == (info.crc32c ? 1 : -1));
	check(h.n_tlvs >= 1);
	for (size_t i = 0; i < h.n_tlvs; i++) {
		if (h.tlvs[i].type != PP2_TYPE_SSL)
			continue;
		r = pp2_ssl_subtlv(&h.tlvs[i], PP2_SUBTYPE_SSL_CN, &cn);
		if (info.verified)
			check(r == DP_OK && cn.len == strlen(info.identity) &&
			    memcmp(cn.value, info.identity, cn.len) == 0);
		else
			check(r == DP_ERR_NOT_FOUND);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_checks(data, size);
	roundtrip_checks(data, size);
	return 0;
}
