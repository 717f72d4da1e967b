/* fuzz_dnschain.c — libFuzzer target for the RFC 9102 chain extension's
 * data (codec/dnschain.c): any bytes, with the default bounds and with
 * tight ones. What parse accepts lies inside the input (each RR, its rdata,
 * back to back from the framing to the last byte, counts adding up); the
 * encoder gives the same bytes back from the parsed RRs; the TLSA records
 * at the first owner are there only if a TLSA RR (or a CNAME) is; tight
 * bounds refuse only with DP_ERR_BUSY what the default ones accepted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnschain.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static void
check_inside(const struct dnschain *c, const uint8_t *data, size_t size)
{
	const struct dnschain_counts *k = &c->count;
	size_t i, off = 4, sigs = 0;

	check(c->len == size && memcmp(c->data, data, size) == 0);
	check(c->n > 0 && c->lifetime == (uint16_t)(data[0] << 8 | data[1]));
	for (i = 0; i < c->n; i++) {
		const struct dnschain_rr *rr = &c->rr[i];
		check(rr->off == off && rr->wire == c->data + off);
		check(rr->len > 0 && rr->len <= size - off);
		check(rr->rdata_off >= 11 && rr->rdata_off <= rr->len &&
		    rr->rdata_off + rr->rdlength == rr->len);
		check(rr->owner != NULL && rr->owner[0] != '\0' &&
		    strlen(rr->owner) < DNSCHAIN_NAME_STR_MAX);
		sigs += rr->type == DNSCHAIN_TYPE_RRSIG;
		off += rr->len;
	}
	check(off == size);
	check(k->tlsa + k->rrsig + k->dnskey + k->ds + k->cname + k->dname +
	    k->nsec + k->nsec3 + k->other == c->n);
	check(k->rrsig == sigs && (sigs > 0) == (c->have_sig != 0));
	check(!c->have_sig || (c->sig_left >= INT32_MIN && c->sig_left <= INT32_MAX));
}

static void
check_reencode(const struct dnschain *c, const uint8_t *data, size_t size)
{
	static unsigned char out[DNSCHAIN_MAX_BYTES_DEFAULT];
	const unsigned char *rrs[DNSCHAIN_MAX_RRS_DEFAULT];
	size_t lens[DNSCHAIN_MAX_RRS_DEFAULT], i, len = 0;

	for (i = 0; i < c->n; i++) {
		rrs[i] = c->rr[i].wire;
		lens[i] = c->rr[i].len;
	}
	check(dnschain_encode(c->lifetime, rrs, lens, c->n, out, sizeof(out),
	    &len) == DP_OK);
	check(len == size && memcmp(out, data, size) == 0);
	if (size > 0)
		check(dnschain_encode(c->lifetime, rrs, lens, c->n, out, size - 1,
		    &len) == DP_ERR_SPACE && len == 0);
}

static void
check_tlsa(const struct dnschain *c)
{
	struct tlsa_rrset set;
	int r;

	memset(&set, 0, sizeof(set));
	r = dnschain_tlsa(c, c->rr[0].owner, &set);
	check(r == DP_OK || r == DP_ERR_NOT_FOUND || r == DP_ERR_INVALID ||
	    r == DP_ERR_NOMEM);
	check((r == DP_OK) == (set.n > 0));
	check(r != DP_OK || c->count.tlsa >= set.n);
	check(r != DP_ERR_INVALID || c->count.cname > 0);
	tlsa_rrset_clear(&set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dnschain_limits tight = { 512, 8, 2 };
	struct dnschain c, t;
	char why[DNSCHAIN_WHY_MAX];
	unsigned char d[32];
	int r, rt;

	r = dnschain_parse(data, size, NULL, 1800000000u, &c, why, sizeof(why));
	check(r == DP_OK || r == DP_ERR_INVALID || r == DP_ERR_BUSY ||
	    r == DP_ERR_NOMEM);
	check(r == DP_OK || (why[0] != '\0' && c.n == 0 && c.data == NULL));
	rt = dnschain_parse(data, size, &tight, 1800000000u, &t, why, sizeof(why));
	/* Tighter bounds refuse more, and only as over a bound. */
	check(rt != DP_OK || r == DP_OK);
	check(r != DP_OK || rt == DP_OK || rt == DP_ERR_BUSY || rt == DP_ERR_NOMEM);
	check(r != DP_ERR_INVALID || rt != DP_OK);
	dnschain_free(&t);
	if (r == DP_OK) {
		check_inside(&c, data, size);
		check_reencode(&c, data, size);
		check_tlsa(&c);
		check(dnschain_digest(c.data, c.len, d) == DP_OK);
	}
	dnschain_free(&c);
	return 0;
}
