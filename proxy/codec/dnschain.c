/* dnschain.c — see dnschain.h.
 *
 * Read by hand rather than with ldns: ldns_wire2rr follows compression
 * pointers and would accept what RFC 9102 calls malformed, and the offsets
 * of each RR are what the validator step and the fuzz invariants need. One
 * checker (rr_check) serves the parser, the encoder and both passes of the
 * parser, so encode and parse cannot disagree. */
#include "dnschain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define DNS_CLASS_IN 1
#define DNS_TYPE_OPT 41
#define RRSIG_FIXED 18		/* type covered .. key tag, before the signer */
#define RRSIG_EXPIRATION 8
#define RRSIG_INCEPTION 12

/* One RR as rr_check found it, offsets in the buffer it was given. */
struct rr_view {
	size_t off;
	size_t len;
	size_t rdata;		/* offset of the rdata in the buffer */
	uint16_t type;
	uint16_t rdlength;
	uint32_t ttl;
};

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Checks the uncompressed wire name at b[p], which must end by end: labels
 * of at most 63 octets, 255 octets in all. Returns DP_OK with *next just
 * past it, or DP_ERR_INVALID with *why. */
static int
name_check(const unsigned char *b, size_t end, size_t p, size_t *next,
    const char **why)
{
	size_t start = p;
	unsigned l;

	for (;;) {
		if (p >= end) {
			*why = "name runs past its end";
			return DP_ERR_INVALID;
		}
		l = b[p];
		if ((l & 0xc0) == 0xc0) {
			*why = "compression pointer in a name";
			return DP_ERR_INVALID;
		}
		if (l > 63) {
			*why = "label longer than 63 octets";
			return DP_ERR_INVALID;
		}
		if (l > end - p - 1) {
			*why = "name runs past its end";
			return DP_ERR_INVALID;
		}
		p += 1 + l;
		if (p - start > 255) {
			*why = "name longer than 255 octets";
			return DP_ERR_INVALID;
		}
		if (l == 0)
			break;
	}
	*next = p;
	return DP_OK;
}

/* The name at b[p] (checked by name_check) in lower-case presentation
 * form, no final dot, "." for the root, into out (DNSCHAIN_NAME_STR_MAX
 * bytes: the longest name needs 1,016). */
static void
name_str(const unsigned char *b, size_t p, char *out)
{
	size_t o = 0;
	unsigned l, i;

	if (b[p] == 0) {
		strcpy(out, ".");
		return;
	}
	while ((l = b[p++]) != 0) {
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < l; i++) {
			unsigned char ch = b[p++];
			if (ch >= 'A' && ch <= 'Z')
				ch = (unsigned char)(ch - 'A' + 'a');
			if (ch < 0x21 || ch > 0x7e) {
				snprintf(out + o, 5, "\\%03u", ch);
				o += 4;
			} else if (strchr(".\\\"();@$", ch) != NULL) {
				out[o++] = '\\';
				out[o++] = (char)ch;
			} else {
				out[o++] = (char)ch;
			}
		}
	}
	out[o] = '\0';
}

/* Type bit maps (RFC 4034 §4.1.2) fill b[p..end) exactly: windows in
 * ascending order, each 1 to 32 bytes long. */
static int
bitmaps_check(const unsigned char *b, size_t p, size_t end)
{
	int last = -1;

	while (p < end) {
		if (end - p < 2 || (int)b[p] <= last || b[p + 1] == 0 ||
		    b[p + 1] > 32 || b[p + 1] > end - p - 2)
			return DP_ERR_INVALID;
		last = b[p];
		p += 2 + (size_t)b[p + 1];
	}
	return DP_OK;
}

/* NSEC3 rdata (RFC 5155 §3.2): the fixed fields, a salt and a hash of the
 * lengths they announce (a hash of at least one byte), type bit maps. */
static int
nsec3_check(const unsigned char *b, size_t rd, size_t end)
{
	size_t p = rd + 4, salt, hash;

	if (end - rd < 5 || (salt = b[p]) > end - p - 1)
		return DP_ERR_INVALID;
	p += 1 + salt;
	if (p >= end || (hash = b[p]) == 0 || hash > end - p - 1)
		return DP_ERR_INVALID;
	return bitmaps_check(b, p + 1 + hash, end);
}

/* Checks the RR at b[p], which must end by end, as dnschain.h says. Returns
 * DP_OK with *v filled, or DP_ERR_INVALID with *why. */
static int
rr_check(const unsigned char *b, size_t end, size_t p, struct rr_view *v,
    const char **why)
{
	size_t q, rd, x;
	uint16_t type, rdlength;
	int r;

	if ((r = name_check(b, end, p, &q, why)) != DP_OK)
		return r;
	if (end - q < 10) {
		*why = "RR header runs past the chain";
		return DP_ERR_INVALID;
	}
	type = get16(b + q);
	rdlength = get16(b + q + 8);
	rd = q + 10;
	if (get16(b + q + 2) != DNS_CLASS_IN) {
		*why = "class is not IN";
		return DP_ERR_INVALID;
	}
	/* Meta and query types (RFC 6895 §3.1) are never data. */
	if (type == 0 || type == DNS_TYPE_OPT || (type >= 128 && type <= 255)) {
		*why = "meta type";
		return DP_ERR_INVALID;
	}
	if (rdlength > end - rd) {
		*why = "rdata runs past the chain";
		return DP_ERR_INVALID;
	}
	switch (type) {
	case DNSCHAIN_TYPE_CNAME:
	case DNSCHAIN_TYPE_DNAME:
		if (name_check(b, rd + rdlength, rd, &x, why) != DP_OK ||
		    x != rd + rdlength) {
			*why = "rdata is not one uncompressed name";
			return DP_ERR_INVALID;
		}
		break;
	case DNSCHAIN_TYPE_RRSIG:
		/* RFC 4034 §3.1.7: the signer is never compressed. */
		if (rdlength < RRSIG_FIXED ||
		    name_check(b, rd + rdlength, rd + RRSIG_FIXED, &x, why) != DP_OK) {
			*why = "RRSIG rdata malformed";
			return DP_ERR_INVALID;
		}
		if (x == rd + rdlength) {
			*why = "RRSIG without a signature";
			return DP_ERR_INVALID;
		}
		break;
	case DNSCHAIN_TYPE_TLSA:
		if (rdlength < 3) {
			*why = "TLSA rdata shorter than 3 bytes";
			return DP_ERR_INVALID;
		}
		break;
	case DNSCHAIN_TYPE_DS:
	case DNSCHAIN_TYPE_DNSKEY:
		/* key tag/flags, algorithm, digest type/protocol; then data */
		if (rdlength < 5) {
			*why = type == DNSCHAIN_TYPE_DS ? "DS rdata too short" :
			    "DNSKEY rdata too short";
			return DP_ERR_INVALID;
		}
		break;
	case DNSCHAIN_TYPE_NSEC:
		if (name_check(b, rd + rdlength, rd, &x, why) != DP_OK ||
		    bitmaps_check(b, x, rd + rdlength) != DP_OK) {
			*why = "NSEC rdata malformed";
			return DP_ERR_INVALID;
		}
		break;
	case DNSCHAIN_TYPE_NSEC3:
		if (nsec3_check(b, rd, rd + rdlength) != DP_OK) {
			*why = "NSEC3 rdata malformed";
			return DP_ERR_INVALID;
		}
		break;
	default:
		/* Only the types above make a chain; getdns's readers of other
		 * types' rdata trust the lengths inside it (a HIP RR made
		 * getdns_wire2rr_dict read past the record: fuzz_chainjudge). */
		*why = "an RR type that has no place in a DNSSEC chain";
		return DP_ERR_INVALID;
	}
	v->off = p;
	v->len = rd + rdlength - p;
	v->rdata = rd;
	v->type = type;
	v->rdlength = rdlength;
	v->ttl = get32(b + q + 4);
	return DP_OK;
}

static const struct dnschain_limits default_limits = {
	DNSCHAIN_MAX_BYTES_DEFAULT, DNSCHAIN_MAX_RRS_DEFAULT,
	DNSCHAIN_MAX_RRSIGS_DEFAULT,
};

/* Checks the framing and every RR of the extension data b[0..len) within
 * lim. Returns DP_OK with *n the number of RRs, DP_ERR_INVALID or
 * DP_ERR_BUSY with the reason in why. */
static int
chain_check(const unsigned char *b, size_t len,
    const struct dnschain_limits *lim, size_t *n, char *why, size_t why_size)
{
	struct rr_view v;
	const char *what = NULL;
	size_t p, nrr = 0, nsig = 0;
	int r;

	if (len > lim->max_chain_bytes) {
		snprintf(why, why_size, "%zu bytes, over the bound of %zu",
		    len, lim->max_chain_bytes);
		return DP_ERR_BUSY;
	}
	if (len < 4) {
		snprintf(why, why_size, "%zu bytes, shorter than the framing", len);
		return DP_ERR_INVALID;
	}
	if (get16(b + 2) != len - 4) {
		snprintf(why, why_size, "chain length %u, but %zu bytes follow",
		    get16(b + 2), len - 4);
		return DP_ERR_INVALID;
	}
	if (len == 4) {
		snprintf(why, why_size, "empty chain");
		return DP_ERR_INVALID;
	}
	for (p = 4; p < len; p += v.len) {
		if ((r = rr_check(b, len, p, &v, &what)) != DP_OK) {
			snprintf(why, why_size, "RR %zu at offset %zu: %s",
			    nrr, p, what);
			return r;
		}
		if (++nrr > lim->max_rrs) {
			snprintf(why, why_size, "more than %zu RRs", lim->max_rrs);
			return DP_ERR_BUSY;
		}
		if (v.type == DNSCHAIN_TYPE_RRSIG && ++nsig > lim->max_rrsigs) {
			snprintf(why, why_size, "more than %zu RRSIGs",
			    lim->max_rrsigs);
			return DP_ERR_BUSY;
		}
	}
	*n = nrr;
	return DP_OK;
}

static void
count_type(struct dnschain_counts *k, uint16_t type)
{
	switch (type) {
	case DNSCHAIN_TYPE_TLSA: k->tlsa++; break;
	case DNSCHAIN_TYPE_RRSIG: k->rrsig++; break;
	case DNSCHAIN_TYPE_DNSKEY: k->dnskey++; break;
	case DNSCHAIN_TYPE_DS: k->ds++; break;
	case DNSCHAIN_TYPE_CNAME: k->cname++; break;
	case DNSCHAIN_TYPE_DNAME: k->dname++; break;
	case DNSCHAIN_TYPE_NSEC: k->nsec++; break;
	case DNSCHAIN_TYPE_NSEC3: k->nsec3++; break;
	default: k->other++; break;
	}
}

/* Folds one RRSIG's validity period into c's summary (RFC 4034 §3.1.5:
 * serial number arithmetic, so both are measured from now). */
static void
note_sig(struct dnschain *c, const unsigned char *rdata, uint32_t now)
{
	uint32_t exp = get32(rdata + RRSIG_EXPIRATION);
	uint32_t inc = get32(rdata + RRSIG_INCEPTION);
	int64_t left = (int32_t)(exp - now), age = (int32_t)(now - inc);

	if (!c->have_sig || left < c->sig_left) {
		c->sig_left = left;
		c->sig_expiration = exp;
	}
	if (!c->have_sig || age < c->sig_age) {
		c->sig_age = age;
		c->sig_inception = inc;
	}
	c->have_sig = 1;
}

int
dnschain_parse(const unsigned char *data, size_t len,
    const struct dnschain_limits *lim, uint32_t now, struct dnschain *out,
    char *why, size_t why_size)
{
	struct dnschain c;
	struct rr_view v;
	char name[DNSCHAIN_NAME_STR_MAX];
	const char *what = NULL;
	size_t n = 0, i, p;
	int r = DP_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if (why_size > 0)
		why[0] = '\0';
	if (lim == NULL)
		lim = &default_limits;
	if (data == NULL && len > 0) {
		snprintf(why, why_size, "no data");
		return DP_ERR_INVALID;
	}
	if ((r = chain_check(data, len, lim, &n, why, why_size)) != DP_OK)
		return r;

	/* Both bounded: len by lim->max_chain_bytes, n by lim->max_rrs. */
	r = DP_ERR_NOMEM;
	if ((c.data = malloc(len)) == NULL ||
	    (c.rr = calloc(n, sizeof(*c.rr))) == NULL)
		goto out;
	memcpy(c.data, data, len);
	c.len = len;
	c.lifetime = get16(c.data);
	for (i = 0, p = 4; i < n; i++, p += v.len) {
		struct dnschain_rr *rr = &c.rr[i];
		if (rr_check(c.data, len, p, &v, &what) != DP_OK) {
			r = DP_ERR_INTERNAL;	/* chain_check passed it */
			goto out;
		}
		name_str(c.data, p, name);
		if ((rr->owner = strdup(name)) == NULL)
			goto out;
		c.n = i + 1;
		rr->wire = c.data + p;
		rr->off = p;
		rr->len = v.len;
		rr->rdata_off = v.rdata - p;
		rr->rdlength = v.rdlength;
		rr->type = v.type;
		rr->ttl = v.ttl;
		count_type(&c.count, v.type);
		if (v.type == DNSCHAIN_TYPE_RRSIG)
			note_sig(&c, c.data + v.rdata, now);
	}
	*out = c;
	memset(&c, 0, sizeof(c));	/* transferred */
	r = DP_OK;
out:
	if (r != DP_OK && why_size > 0 && why[0] == '\0')
		snprintf(why, why_size, "%s", dp_strerror(r));
	dnschain_free(&c);
	return r;
}

void
dnschain_free(struct dnschain *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		free(c->rr[i].owner);
	free(c->rr);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

/* The CNAME of c at owner, or NULL. */
static const struct dnschain_rr *
find_cname(const struct dnschain *c, const char *owner)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->rr[i].type == DNSCHAIN_TYPE_CNAME &&
		    strcmp(c->rr[i].owner, owner) == 0)
			return &c->rr[i];
	return NULL;
}

int
dnschain_tlsa(const struct dnschain *c, const char *name,
    struct tlsa_rrset *out)
{
	char cur[DNSCHAIN_NAME_STR_MAX];
	const struct dnschain_rr *cn;
	size_t i, len, hops;
	int r;

	if (name == NULL || (len = strlen(name)) == 0 || len >= sizeof(cur))
		return DP_ERR_INVALID;
	for (i = 0; i <= len; i++)
		cur[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] - 'A' + 'a' : name[i]);
	if (len > 1 && cur[len - 1] == '.')
		cur[len - 1] = '\0';

	for (hops = 0; (cn = find_cname(c, cur)) != NULL; hops++) {
		if (hops == DNSCHAIN_CNAME_MAX)
			return DP_ERR_INVALID;
		name_str(cn->wire, cn->rdata_off, cur);
	}
	for (i = 0; i < c->n; i++) {
		const struct dnschain_rr *rr = &c->rr[i];
		const unsigned char *rd = rr->wire + rr->rdata_off;
		if (rr->type != DNSCHAIN_TYPE_TLSA || rr->rdlength < 4 ||
		    strcmp(rr->owner, cur) != 0)
			continue;
		if ((r = tlsa_rrset_add(out, rd[0], rd[1], rd[2], rd + 3,
		    (size_t)rr->rdlength - 3)) != DP_OK) {
			tlsa_rrset_clear(out);
			return r;
		}
	}
	return out->n > 0 ? DP_OK : DP_ERR_NOT_FOUND;
}

int
dnschain_encode(uint16_t lifetime, const unsigned char *const *rrs,
    const size_t *lens, size_t n, unsigned char *out, size_t out_size,
    size_t *out_len)
{
	struct rr_view v;
	const char *what;
	char why[DNSCHAIN_WHY_MAX];
	size_t i, total = 4, m;
	int r;

	*out_len = 0;
	if (n == 0 || rrs == NULL || lens == NULL)
		return DP_ERR_INVALID;
	if (n > DNSCHAIN_MAX_RRS_DEFAULT)
		return DP_ERR_BUSY;
	for (i = 0; i < n; i++) {
		if (rrs[i] == NULL || lens[i] == 0 ||
		    rr_check(rrs[i], lens[i], 0, &v, &what) != DP_OK ||
		    v.len != lens[i])
			return DP_ERR_INVALID;
		if (lens[i] > 0xffff - (total - 4))
			return DP_ERR_INVALID;
		total += lens[i];
	}
	if (total > out_size)
		return DP_ERR_SPACE;
	out[0] = (unsigned char)(lifetime >> 8);
	out[1] = (unsigned char)lifetime;
	out[2] = (unsigned char)((total - 4) >> 8);
	out[3] = (unsigned char)(total - 4);
	for (i = 0, m = 4; i < n; m += lens[i], i++)
		memcpy(out + m, rrs[i], lens[i]);
	/* The RRSIG bound, and the proof that parse takes it back. */
	if ((r = chain_check(out, total, &default_limits, &m, why,
	    sizeof(why))) != DP_OK)
		return r;
	*out_len = total;
	return DP_OK;
}
