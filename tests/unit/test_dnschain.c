/* test_dnschain.c — the RFC 9102 chain extension's data (codec/dnschain.c):
 * RRs built here with ldns from zone-file text (ldns_rr2wire: uncompressed),
 * encoded, parsed back; every malformed shape by hand, byte by byte; the
 * RRSIG summary against a fixed `now`; TLSA records at a name, through
 * CNAMEs or not.
 *
 * `test_dnschain --seeds DIR` writes the named seeds of
 * tests/fuzz/corpus/fuzz_dnschain/ instead of testing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnschain.h"
#include "err.h"
#include "tap.h"

#define NOW 1800000000u			/* 2027-01-15 08:00:00 UTC */
#define EXP_IN_1H "20270115090000"	/* NOW + 3600 s */
#define EXP_IN_1D "20270116080000"	/* NOW + 86400 s */
#define INC_1H_AGO "20270115070000"	/* NOW - 3600 s */
#define INC_10M_AGO "20270115075000"	/* NOW - 600 s */
#define HEX32 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KEY "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="

#define RR_MAX 2048
#define CHAIN_MAX 65600

/* One RR from zone-file text into buf; its length, 0 on failure. */
static size_t
rr_wire(const char *text, unsigned char *buf, size_t size)
{
	ldns_rr *rr = NULL;
	uint8_t *w = NULL;
	size_t len = 0;

	if (ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL) != LDNS_STATUS_OK) {
		diag("bad test RR: %s", text);
		return 0;
	}
	if (ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &len) != LDNS_STATUS_OK ||
	    len > size)
		len = 0;
	else
		memcpy(buf, w, len);
	free(w);
	ldns_rr_free(rr);
	return len;
}

/* Extension data from lifetime and zone-file lines (NULL-terminated) into
 * out; the encoder's result. */
static int
chain(uint16_t lifetime, const char *const *lines, unsigned char *out,
    size_t out_size, size_t *out_len)
{
	static unsigned char bufs[300][RR_MAX];
	const unsigned char *rrs[300];
	size_t lens[300], n;

	for (n = 0; lines[n] != NULL && n < 300; n++) {
		lens[n] = rr_wire(lines[n], bufs[n], RR_MAX);
		rrs[n] = bufs[n];
	}
	return dnschain_encode(lifetime, rrs, lens, n, out, out_size, out_len);
}

/* Extension data around raw chain bytes (no check): 2 + 2 + len. */
static size_t
frame(uint16_t lifetime, const unsigned char *raw, size_t len,
    unsigned char *out)
{
	out[0] = (unsigned char)(lifetime >> 8);
	out[1] = (unsigned char)lifetime;
	out[2] = (unsigned char)(len >> 8);
	out[3] = (unsigned char)len;
	memcpy(out + 4, raw, len);
	return len + 4;
}

static const char *const full[] = {
	"client.example.net. 3600 IN TLSA 3 1 1 " HEX32,
	"client.example.net. 3600 IN RRSIG TLSA 13 3 3600 " EXP_IN_1D " "
	    INC_1H_AGO " 12345 example.net. AAAA",
	"example.net. 3600 IN DNSKEY 257 3 13 " KEY,
	"example.net. 3600 IN RRSIG DNSKEY 13 2 3600 " EXP_IN_1H " "
	    INC_10M_AGO " 12345 example.net. AAAA",
	"example.net. 86400 IN DS 12345 13 2 " HEX32,
	"example.net. 86400 IN RRSIG DS 13 2 86400 " EXP_IN_1D " "
	    INC_1H_AGO " 4444 net. AAAA",
	"net. 86400 IN DNSKEY 257 3 13 " KEY,
	"net. 86400 IN DS 4444 13 2 " HEX32,
	". 86400 IN DNSKEY 257 3 13 " KEY,
	"Alias.Example.NET. 300 IN CNAME client.example.net.",
	"a.example.net. 300 IN NSEC c.example.net. TLSA RRSIG NSEC",
	NULL
};

static void
test_roundtrip(void)
{
	static unsigned char data[CHAIN_MAX], rr[RR_MAX];
	struct dnschain c;
	char why[DNSCHAIN_WHY_MAX];
	size_t len = 0, i, off = 4;
	int r, same = 1;

	r = chain(48, full, data, sizeof(data), &len);
	is_int(r, DP_OK, "encode: a whole chain");
	r = dnschain_parse(data, len, NULL, NOW, &c, why, sizeof(why));
	is_int(r, DP_OK, "parse: a whole chain (%s)", why);
	is_int(c.lifetime, 48, "ExtSupportLifetime");
	is_int(c.n, 11, "11 RRs");
	is_int(c.len, len, "the length kept");
	for (i = 0; i < c.n && full[i] != NULL; i++) {
		size_t n = rr_wire(full[i], rr, sizeof(rr));
		same = same && c.rr[i].len == n && c.rr[i].off == off &&
		    c.rr[i].wire == c.data + off && memcmp(c.rr[i].wire, rr, n) == 0 &&
		    c.rr[i].rdata_off + c.rr[i].rdlength == n;
		off += n;
	}
	ok(same && off == len, "each RR's bytes, offset and rdata as built");
	is_str(c.rr[0].owner, "client.example.net", "owner in presentation form");
	is_int(c.rr[0].type, DNSCHAIN_TYPE_TLSA, "type");
	is_int(c.rr[0].ttl, 3600, "TTL");
	is_str(c.rr[8].owner, ".", "the root's owner");
	is_str(c.rr[9].owner, "alias.example.net", "owner in lower case");
	is_int(c.count.tlsa, 1, "TLSA count");
	is_int(c.count.rrsig, 3, "RRSIG count");
	is_int(c.count.dnskey, 3, "DNSKEY count");
	is_int(c.count.ds, 2, "DS count");
	is_int(c.count.cname, 1, "CNAME count");
	is_int(c.count.nsec, 1, "NSEC count");
	is_int(c.count.dname + c.count.nsec3 + c.count.other, 0, "no others");
	/* encode(parse(x)) == x */
	{
		static unsigned char again[CHAIN_MAX];
		const unsigned char *rrs[16];
		size_t lens[16], alen = 0;
		for (i = 0; i < c.n; i++) {
			rrs[i] = c.rr[i].wire;
			lens[i] = c.rr[i].len;
		}
		r = dnschain_encode(c.lifetime, rrs, lens, c.n, again,
		    sizeof(again), &alen);
		ok(r == DP_OK && alen == len && memcmp(again, data, len) == 0,
		    "encode(parse(x)) == x");
		r = dnschain_encode(c.lifetime, rrs, lens, c.n, again, len - 1, &alen);
		is_int(r, DP_ERR_SPACE, "encode: one byte short of room");
	}
	dnschain_free(&c);
	dnschain_free(&c);
	ok(c.n == 0 && c.rr == NULL && c.data == NULL, "free zeroes, twice is harmless");
	dnschain_free(NULL);
}

static void
test_sig_summary(void)
{
	static unsigned char data[CHAIN_MAX];
	const char *const late[] = {
		"client.example.net. 3600 IN TLSA 3 1 1 " HEX32,
		"client.example.net. 3600 IN RRSIG TLSA 13 3 3600 20270115070000 "
		    "20270116000000 1 example.net. AAAA",
		NULL
	};
	const char *const none[] = {
		"client.example.net. 3600 IN TLSA 3 1 1 " HEX32, NULL
	};
	struct dnschain c;
	char why[DNSCHAIN_WHY_MAX];
	size_t len = 0;

	chain(0, full, data, sizeof(data), &len);
	dnschain_parse(data, len, NULL, NOW, &c, why, sizeof(why));
	ok(c.have_sig, "RRSIGs seen");
	is_int(c.sig_left, 3600, "earliest expiration: 1 h from now");
	is_int(c.sig_expiration, NOW + 3600, "earliest expiration, raw");
	is_int(c.sig_age, 600, "latest inception: 10 min ago");
	is_int(c.sig_inception, NOW - 600, "latest inception, raw");
	dnschain_free(&c);

	/* Measured from the caller's now, not from the RRSIGs. */
	dnschain_parse(data, len, NULL, NOW + 100, &c, why, sizeof(why));
	is_int(c.sig_left, 3500, "expiration measured from now");
	dnschain_free(&c);

	chain(0, late, data, sizeof(data), &len);
	dnschain_parse(data, len, NULL, NOW, &c, why, sizeof(why));
	is_int(c.sig_left, -3600, "expired 1 h ago: negative");
	ok(c.sig_age < 0, "inception in the future: negative age");
	dnschain_free(&c);

	chain(0, none, data, sizeof(data), &len);
	is_int(dnschain_parse(data, len, NULL, NOW, &c, why, sizeof(why)), DP_OK,
	    "a chain without RRSIGs parses (the validator refuses it)");
	ok(!c.have_sig && c.sig_left == 0, "no RRSIG: no summary");
	dnschain_free(&c);
}

/* Parses len bytes, wanting r and a reason containing want. */
static void
refused(const unsigned char *data, size_t len, const struct dnschain_limits *lim,
    int want_r, const char *want, const char *what)
{
	struct dnschain c;
	char why[DNSCHAIN_WHY_MAX];
	int r = dnschain_parse(data, len, lim, NOW, &c, why, sizeof(why));

	if (!ok(r == want_r && strstr(why, want) != NULL && c.n == 0 &&
	    c.data == NULL, "refused: %s", what))
		diag("r=%d why='%s', want %d '%s'", r, why, want_r, want);
	dnschain_free(&c);
}

static void
test_malformed(void)
{
	static unsigned char data[CHAIN_MAX], raw[CHAIN_MAX];
	static const unsigned char tail_a[] = {	/* type TLSA, IN, TTL 300, 3 1 1 aa */
		0, 52, 0, 1, 0, 0, 1, 44, 0, 4, 3, 1, 1, 0xaa
	};
	const char *const one[] = {
		"client.example.net. 3600 IN TLSA 3 1 1 " HEX32, NULL
	};
	struct dnschain_limits lim;
	size_t len = 0, n, i;

	chain(1, one, data, sizeof(data), &len);
	refused(data, len - 1, NULL, DP_ERR_INVALID, "but", "truncated by a byte");
	refused(data, 3, NULL, DP_ERR_INVALID, "shorter than the framing",
	    "shorter than the framing");
	refused(data, 0, NULL, DP_ERR_INVALID, "shorter", "no bytes");
	data[3]++;
	refused(data, len, NULL, DP_ERR_INVALID, "but", "outer length one more");
	data[3] -= 2;
	refused(data, len, NULL, DP_ERR_INVALID, "but", "outer length one less");
	data[3]++;
	/* Truncated inside the RR with the outer length agreeing. */
	memcpy(raw, data + 4, len - 4);
	n = frame(1, raw, len - 5, data);
	refused(data, n, NULL, DP_ERR_INVALID, "rdata runs past", "RR cut short");
	n = frame(1, raw, 25, data);
	refused(data, n, NULL, DP_ERR_INVALID, "RR header runs past",
	    "RR cut in its header");
	n = frame(1, raw, 5, data);
	refused(data, n, NULL, DP_ERR_INVALID, "name runs past",
	    "RR cut in its owner");
	/* rdlength one more than the bytes left */
	n = frame(1, raw, len - 4, data);
	data[4 + 20 + 9]++;	/* owner is 20 bytes: rdlength at +8..9 */
	refused(data, n, NULL, DP_ERR_INVALID, "rdata runs past", "rdlength overflow");
	data[4 + 20 + 9] -= 2;
	refused(data, n, NULL, DP_ERR_INVALID, "RR 1", "rdlength one less: a stray byte");
	frame(1, raw, len - 4, data);
	memcpy(data + 4 + 20 + 2, "\0\3", 2);
	refused(data, n, NULL, DP_ERR_INVALID, "class is not IN", "class CH");
	memcpy(data + 4 + 20 + 2, "\0\1", 2);
	memcpy(data + 4 + 20, "\0\51", 2);
	refused(data, n, NULL, DP_ERR_INVALID, "meta type", "type OPT");
	memcpy(data + 4 + 20, "\0\377", 2);
	refused(data, n, NULL, DP_ERR_INVALID, "meta type", "type ANY");
	memcpy(data + 4 + 20, "\0\64", 2);
	data[4 + 20 + 9] = 2;
	data[2] = 0;
	data[3] = 20 + 10 + 2;
	n = 4 + 20 + 10 + 2;
	refused(data, n, NULL, DP_ERR_INVALID, "TLSA rdata", "TLSA of 2 bytes");

	refused((const unsigned char *)"\0\1\0\0", 4, NULL, DP_ERR_INVALID,
	    "empty chain", "zero RRs");

	/* A compression pointer as the owner, and after a label. */
	raw[0] = 0xc0;
	raw[1] = 0x0c;
	memcpy(raw + 2, tail_a, sizeof(tail_a));
	n = frame(0, raw, 2 + sizeof(tail_a), data);
	refused(data, n, NULL, DP_ERR_INVALID, "compression pointer", "owner a pointer");
	memcpy(raw, "\1x\xc0\x04", 4);
	memcpy(raw + 4, tail_a, sizeof(tail_a));
	n = frame(0, raw, 4 + sizeof(tail_a), data);
	refused(data, n, NULL, DP_ERR_INVALID, "compression pointer", "pointer after a label");
	/* Label types 01 and 10 (a 64-octet label) */
	raw[0] = 64;
	memset(raw + 1, 'a', 64);
	raw[65] = 0;
	memcpy(raw + 66, tail_a, sizeof(tail_a));
	n = frame(0, raw, 66 + sizeof(tail_a), data);
	refused(data, n, NULL, DP_ERR_INVALID, "label longer than 63", "label of 64");
	raw[0] = 0x80;
	refused(data, n, NULL, DP_ERR_INVALID, "label longer than 63", "label type 10");
	/* 4 labels of 63 and one of 2: 4 * 64 + 3 + 1 = 260 > 255 */
	for (i = 0, n = 0; i < 4; i++) {
		raw[n++] = 63;
		memset(raw + n, 'a', 63);
		n += 63;
	}
	raw[n++] = 2;
	raw[n++] = 'b';
	raw[n++] = 'b';
	raw[n++] = 0;
	memcpy(raw + n, tail_a, sizeof(tail_a));
	n = frame(0, raw, n + sizeof(tail_a), data);
	refused(data, n, NULL, DP_ERR_INVALID, "longer than 255", "name of 260 octets");
	/* 255 exactly is a name: 3 * 64 + 62 + 1 */
	raw[3 * 64] = 61;
	raw[3 * 64 + 62] = 0;
	memcpy(raw + 3 * 64 + 63, tail_a, sizeof(tail_a));
	n = frame(0, raw, 255 + sizeof(tail_a), data);
	{
		struct dnschain c;
		char why[DNSCHAIN_WHY_MAX];
		is_int(dnschain_parse(data, n, NULL, NOW, &c, why, sizeof(why)),
		    DP_OK, "a name of 255 octets (%s)", why);
		is_int(c.count.tlsa, 1, "  one TLSA record");
		dnschain_free(&c);
	}
	/* Types that have no place in a chain: getdns's readers of some
	 * (HIP, APL) trust lengths inside the rdata. */
	{
		static const unsigned char a_rr[] = {
			0, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1
		};
		static const unsigned char hip_rr[] = {	/* HIT length 200 in 4 bytes */
			0, 0, 55, 0, 1, 0, 0, 1, 44, 0, 4, 200, 2, 0, 16
		};
		n = frame(0, a_rr, sizeof(a_rr), data);
		refused(data, n, NULL, DP_ERR_INVALID, "no place in a DNSSEC chain",
		    "an A record");
		n = frame(0, hip_rr, sizeof(hip_rr), data);
		refused(data, n, NULL, DP_ERR_INVALID, "no place in a DNSSEC chain",
		    "a HIP record");
	}
	/* The rdata of the chain's own types checked before getdns reads it. */
	{
		static const unsigned char ds4[] = {	/* no digest */
			0, 0, 43, 0, 1, 0, 0, 1, 44, 0, 4, 1, 2, 13, 2
		};
		static const unsigned char nsec_win0[] = {	/* "." next, window 0 of 0 bytes */
			0, 0, 47, 0, 1, 0, 0, 1, 44, 0, 3, 0, 0, 0
		};
		static const unsigned char nsec_ok[] = {	/* "." next, window 0: A */
			0, 0, 47, 0, 1, 0, 0, 1, 44, 0, 4, 0, 0, 1, 0x40
		};
		static const unsigned char nsec_long[] = {	/* window of 33 bytes */
			0, 0, 47, 0, 1, 0, 0, 1, 44, 0, 4, 0, 0, 33, 0x40
		};
		static const unsigned char nsec3_salt[] = {	/* salt length past the end */
			0, 0, 50, 0, 1, 0, 0, 1, 44, 0, 6, 1, 0, 0, 0, 9, 1
		};
		static const unsigned char nsec3_ok[] = {	/* no salt, 1-byte hash, no types */
			0, 0, 50, 0, 1, 0, 0, 1, 44, 0, 7, 1, 0, 0, 0, 0, 1, 0xab
		};
		struct dnschain c;
		char why[DNSCHAIN_WHY_MAX];

		n = frame(0, ds4, sizeof(ds4), data);
		refused(data, n, NULL, DP_ERR_INVALID, "DS rdata", "a DS without a digest");
		n = frame(0, nsec_win0, sizeof(nsec_win0), data);
		refused(data, n, NULL, DP_ERR_INVALID, "NSEC rdata", "an NSEC window of 0 bytes");
		n = frame(0, nsec_long, sizeof(nsec_long), data);
		refused(data, n, NULL, DP_ERR_INVALID, "NSEC rdata", "an NSEC window past its rdata");
		n = frame(0, nsec3_salt, sizeof(nsec3_salt), data);
		refused(data, n, NULL, DP_ERR_INVALID, "NSEC3 rdata", "an NSEC3 salt past its rdata");
		n = frame(0, nsec_ok, sizeof(nsec_ok), data);
		is_int(dnschain_parse(data, n, NULL, NOW, &c, why, sizeof(why)),
		    DP_OK, "a well-formed NSEC (%s)", why);
		dnschain_free(&c);
		n = frame(0, nsec3_ok, sizeof(nsec3_ok), data);
		is_int(dnschain_parse(data, n, NULL, NOW, &c, why, sizeof(why)),
		    DP_OK, "a well-formed NSEC3 (%s)", why);
		dnschain_free(&c);
	}

	/* Names inside rdata. */
	{
		static const unsigned char cname_ptr[] = {
			1, 'a', 0, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'b', 0xc0, 0
		};
		static const unsigned char cname_two[] = {
			1, 'a', 0, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 'b', 0, 0
		};
		static const unsigned char rrsig_short[] = {
			1, 'a', 0, 0, 46, 0, 1, 0, 0, 0, 60, 0, 17,
			0, 1, 13, 1, 0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0
		};
		static const unsigned char rrsig_nosig[] = {
			1, 'a', 0, 0, 46, 0, 1, 0, 0, 0, 60, 0, 19,
			0, 1, 13, 1, 0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0
		};
		n = frame(0, cname_ptr, sizeof(cname_ptr), data);
		refused(data, n, NULL, DP_ERR_INVALID, "not one uncompressed name",
		    "CNAME target compressed");
		n = frame(0, cname_two, sizeof(cname_two), data);
		refused(data, n, NULL, DP_ERR_INVALID, "not one uncompressed name",
		    "CNAME rdata with a byte after the name");
		n = frame(0, rrsig_short, sizeof(rrsig_short), data);
		refused(data, n, NULL, DP_ERR_INVALID, "RRSIG rdata", "RRSIG of 17 bytes");
		n = frame(0, rrsig_nosig, sizeof(rrsig_nosig), data);
		refused(data, n, NULL, DP_ERR_INVALID, "without a signature",
		    "RRSIG without a signature");
	}

	/* Each bound, with its own reason. */
	chain(0, full, data, sizeof(data), &len);
	lim.max_chain_bytes = len;
	lim.max_rrs = 11;
	lim.max_rrsigs = 3;
	{
		struct dnschain c;
		char why[DNSCHAIN_WHY_MAX];
		is_int(dnschain_parse(data, len, &lim, NOW, &c, why, sizeof(why)),
		    DP_OK, "at every bound: accepted");
		dnschain_free(&c);
	}
	lim.max_chain_bytes = len - 1;
	refused(data, len, &lim, DP_ERR_BUSY, "over the bound", "over max bytes");
	lim.max_chain_bytes = len;
	lim.max_rrs = 10;
	refused(data, len, &lim, DP_ERR_BUSY, "more than 10 RRs", "over max RRs");
	lim.max_rrs = 11;
	lim.max_rrsigs = 2;
	refused(data, len, &lim, DP_ERR_BUSY, "more than 2 RRSIGs", "over max RRSIGs");
}

static void
test_encode_refuses(void)
{
	static unsigned char data[CHAIN_MAX], rr[RR_MAX];
	static const char *lines[300];
	static const unsigned char ptr[] = {
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1
	};
	const unsigned char *rrs[2] = { NULL, NULL };
	size_t lens[2] = { 0, 0 }, len = 0, n, i;
	char sig[256];

	is_int(dnschain_encode(0, rrs, lens, 0, data, sizeof(data), &len),
	    DP_ERR_INVALID, "encode: no RR");
	rrs[0] = ptr;
	lens[0] = sizeof(ptr);
	is_int(dnschain_encode(0, rrs, lens, 1, data, sizeof(data), &len),
	    DP_ERR_INVALID, "encode: a compressed owner");
	n = rr_wire(full[0], rr, sizeof(rr));
	rrs[0] = rr;
	lens[0] = n - 1;
	is_int(dnschain_encode(0, rrs, lens, 1, data, sizeof(data), &len),
	    DP_ERR_INVALID, "encode: an RR cut short");
	lens[0] = n;
	rrs[1] = rr;
	lens[1] = n + 1;
	is_int(dnschain_encode(0, rrs, lens, 2, data, sizeof(data), &len),
	    DP_ERR_INVALID, "encode: a byte after an RR");
	is_int(len, 0, "nothing reported on refusal");

	/* 65 RRSIGs: over the default bound; 64 pass. */
	snprintf(sig, sizeof(sig), "client.example.net. 3600 IN RRSIG TLSA 13 3 "
	    "3600 " EXP_IN_1H " " INC_1H_AGO " 1 example.net. AAAA");
	for (i = 0; i < 65; i++)
		lines[i] = sig;
	lines[65] = NULL;
	is_int(chain(0, lines, data, sizeof(data), &len), DP_ERR_BUSY,
	    "encode: 65 RRSIGs");
	lines[64] = NULL;
	is_int(chain(0, lines, data, sizeof(data), &len), DP_OK,
	    "encode: 64 RRSIGs");
	/* 257 RRs */
	for (i = 0; i < 257; i++)
		lines[i] = full[0];
	lines[257] = NULL;
	is_int(chain(0, lines, data, sizeof(data), &len), DP_ERR_BUSY,
	    "encode: 257 RRs");
	/* Over 2^16-1 bytes of chain: 70 TLSA RRs of 1,000 bytes. */
	{
		static char big[2200];
		int o = snprintf(big, sizeof(big), "client.example.net. 3600 IN TLSA 3 1 0 ");
		for (i = 0; i < 1000; i++)
			o += snprintf(big + o, sizeof(big) - (size_t)o, "ab");
		for (i = 0; i < 70; i++)
			lines[i] = big;
		lines[70] = NULL;
		is_int(chain(0, lines, data, sizeof(data), &len), DP_ERR_INVALID,
		    "encode: a chain over 65535 bytes");
	}
}

static void
test_tlsa(void)
{
	static unsigned char data[CHAIN_MAX];
	const char *const two[] = {
		"client.example.org. 3600 IN TLSA 3 1 1 " HEX32,
		"client.example.org. 3600 IN TLSA 2 0 1 " HEX32,
		"other.example.org. 3600 IN TLSA 3 0 1 " HEX32,
		"alias.example.net. 300 IN CNAME mid.example.com.",
		"mid.example.com. 300 IN CNAME Client.Example.ORG.",
		"loop1.example. 300 IN CNAME loop2.example.",
		"loop2.example. 300 IN CNAME loop1.example.",
		NULL
	};
	struct dnschain c;
	struct tlsa_rrset set;
	char why[DNSCHAIN_WHY_MAX];
	size_t len = 0;

	chain(0, two, data, sizeof(data), &len);
	dnschain_parse(data, len, NULL, NOW, &c, why, sizeof(why));

	memset(&set, 0, sizeof(set));
	is_int(dnschain_tlsa(&c, "client.example.org", &set), DP_OK, "TLSA at the name");
	is_int(set.n, 2, "both records, not the other name's");
	ok(set.n == 2 && set.rr[0].usage == 3 && set.rr[0].selector == 1 &&
	    set.rr[0].mtype == 1 && set.rr[0].len == 32 && set.rr[1].usage == 2,
	    "usage, selector, matching type, data");
	tlsa_rrset_clear(&set);

	is_int(dnschain_tlsa(&c, "CLIENT.example.org.", &set), DP_OK,
	    "any case, a final dot");
	tlsa_rrset_clear(&set);

	is_int(dnschain_tlsa(&c, "Alias.example.net", &set), DP_OK,
	    "through two CNAMEs");
	is_int(set.n, 2, "the target's records");
	tlsa_rrset_clear(&set);

	is_int(dnschain_tlsa(&c, "nothing.example.org", &set), DP_ERR_NOT_FOUND,
	    "no TLSA: not found");
	is_int(set.n, 0, "and nothing added");
	is_int(dnschain_tlsa(&c, "loop1.example", &set), DP_ERR_INVALID,
	    "a CNAME loop");
	is_int(dnschain_tlsa(&c, "", &set), DP_ERR_INVALID, "an empty name");
	dnschain_free(&c);
}

static void
test_owner_escapes(void)
{
	static unsigned char data[64];
	static const unsigned char raw[] = {
		3, 'A', '.', 'b', 2, 1, '(', 0, 0, 52, 0, 1, 0, 0, 0, 60, 0, 4,
		3, 1, 1, 0xaa
	};
	struct dnschain c;
	char why[DNSCHAIN_WHY_MAX];
	size_t n = frame(0, raw, sizeof(raw), data);

	is_int(dnschain_parse(data, n, NULL, NOW, &c, why, sizeof(why)), DP_OK,
	    "odd octets in an owner");
	is_str(c.n == 1 ? c.rr[0].owner : NULL, "a\\.b.\\001\\(", "escaped as in a zone file");
	dnschain_free(&c);
}

static void
test_digest(void)
{
	static const unsigned char abc_sha256[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
	};
	unsigned char d[32];

	ok(dnschain_digest((const unsigned char *)"abc", 3, d) == DP_OK &&
	    memcmp(d, abc_sha256, 32) == 0, "digest: SHA-256");
}

/* The named seeds of tests/fuzz/corpus/fuzz_dnschain/. */
static int
write_seeds(const char *dir)
{
	static unsigned char data[CHAIN_MAX];
	const char *const cname[] = {
		"alias.example.net. 300 IN CNAME client.example.org.",
		"client.example.org. 3600 IN TLSA 3 1 1 " HEX32,
		"client.example.org. 3600 IN RRSIG TLSA 13 3 3600 " EXP_IN_1H " "
		    INC_1H_AGO " 12345 example.org. AAAA",
		NULL
	};
	const char *const wild[] = {
		"dev1._device.example.net. 3600 IN TLSA 3 1 1 " HEX32,
		"dev1._device.example.net. 3600 IN RRSIG TLSA 13 3 3600 "
		    EXP_IN_1H " " INC_1H_AGO " 12345 example.net. AAAA",
		"*._device.example.net. 3600 IN NSEC z._device.example.net. TLSA RRSIG NSEC",
		"_device.example.net. 3600 IN NSEC3 1 0 1 ab 0123456789abcdefghijklmnopqrstuv TLSA",
		"example.net. 3600 IN DNAME example.org.",
		NULL
	};
	struct { const char *name; const char *const *lines; } s[] = {
		{ "full-chain", full }, { "cname", cname }, { "wildcard-nsec", wild },
	};
	char path[4096];
	size_t i, len;
	FILE *f;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		if (chain(24, s[i].lines, data, sizeof(data), &len) != DP_OK)
			return 1;
		snprintf(path, sizeof(path), "%s/%s", dir, s[i].name);
		if ((f = fopen(path, "wb")) == NULL ||
		    fwrite(data, 1, len, f) != len || fclose(f) != 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);
	test_roundtrip();
	test_sig_summary();
	test_malformed();
	test_encode_refuses();
	test_tlsa();
	test_owner_escapes();
	test_digest();
	return done_testing();
}
