/* chainval.c — a stapled DNSSEC chain validated offline with getdns
 * (chainval.h says what getdns checks). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include "chainval.h"
#include "err.h"
#include "util.h"

#define CHAINVAL_SKEW 1	/* see chainval_check */

struct chainval {
	getdns_list *tas;	/* DS and DNSKEY rr_dicts only */
};

const char *
chainval_status_str(enum chainval_status s)
{
	switch (s) {
	case CHAINVAL_SECURE: return "secure";
	case CHAINVAL_BOGUS: return "bogus";
	case CHAINVAL_INSECURE: return "insecure";
	default: return "indeterminate";
	}
}

/* Appends a copy of d to l. */
static int
list_append(getdns_list *l, const getdns_dict *d)
{
	size_t n;

	if (getdns_list_get_length(l, &n) != GETDNS_RETURN_GOOD ||
	    getdns_list_set_dict(l, n, d) != GETDNS_RETURN_GOOD)
		return DP_ERR_NOMEM;
	return DP_OK;
}

static uint32_t
rr_type(const getdns_dict *d)
{
	uint32_t t = 0;

	(void)getdns_dict_get_int(d, "type", &t);
	return t;
}

int
chainval_new(const char *trust_anchor_file, struct chainval **out,
    char *err, size_t err_size)
{
	struct chainval *v = NULL;
	getdns_list *all = NULL;
	getdns_dict *d;
	FILE *f = NULL;
	size_t i;
	int r = DP_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (err_size > 0)
		err[0] = '\0';
	if (trust_anchor_file == NULL || out == NULL) {
		r = DP_ERR_INVALID;
		goto out;
	}
	if ((f = fopen(trust_anchor_file, "r")) == NULL) {
		if (err_size > 0)
			snprintf(err, err_size, "%s: %s", trust_anchor_file,
			    strerror(errno));
		r = DP_ERR_IO;
		goto out;
	}
	/* No origin: getdns 1.6 refuses "." as one, and an anchor's owner
	 * is absolute anyway (root.key's is). The TTL is of no use to it. */
	if (getdns_fp2rr_list(f, &all, NULL, 3600) != GETDNS_RETURN_GOOD) {
		if (err_size > 0)
			snprintf(err, err_size, "%s: not zone-file text",
			    trust_anchor_file);
		r = DP_ERR_INVALID;
		goto out;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL ||
	    (v->tas = getdns_list_create()) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; getdns_list_get_dict(all, i, &d) == GETDNS_RETURN_GOOD; i++) {
		uint32_t t = rr_type(d);

		if (t != GETDNS_RRTYPE_DS && t != GETDNS_RRTYPE_DNSKEY)
			continue;
		if ((r = list_append(v->tas, d)) != DP_OK)
			goto out;
	}
	if (getdns_list_get_length(v->tas, &i) != GETDNS_RETURN_GOOD || i == 0) {
		if (err_size > 0)
			snprintf(err, err_size, "%s: no DS or DNSKEY record",
			    trust_anchor_file);
		r = DP_ERR_INVALID;
		goto out;
	}
	*out = v;
	v = NULL;	/* transferred */
	r = DP_OK;
out:
	if (f != NULL)
		fclose(f);
	getdns_list_destroy(all);
	chainval_free(v);
	return r;
}

void
chainval_free(struct chainval *v)
{
	if (v == NULL)
		return;
	getdns_list_destroy(v->tas);
	free(v);
}

void
chainval_result_clear(struct chainval_result *res)
{
	if (res == NULL)
		return;
	tlsa_rrset_clear(&res->tlsa);
	memset(res, 0, sizeof(*res));
}

/* Wire-form names equal, ignoring ASCII case (length octets are < 64, so
 * folding them is harmless). */
static int
wire_name_eq(const getdns_bindata *a, const getdns_bindata *b)
{
	size_t i;

	if (a->size != b->size)
		return 0;
	for (i = 0; i < a->size; i++) {
		unsigned char x = a->data[i], y = b->data[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

static int
owner_is(const getdns_dict *d, const getdns_bindata *name)
{
	getdns_bindata *o = NULL;

	return getdns_dict_get_bindata(d, "name", &o) == GETDNS_RETURN_GOOD &&
	    wire_name_eq(o, name);
}

static uint32_t
rrsig_covers(const getdns_dict *d)
{
	uint32_t t = 0;

	(void)getdns_dict_get_int(d, "/rdata/type_covered", &t);
	return t;
}

/* The labels of a wire-format name, the root's empty one not counted. */
static unsigned
wire_labels(const getdns_bindata *n)
{
	size_t i = 0;
	unsigned k = 0;

	while (i < n->size && n->data[i] != 0) {
		i += 1 + (size_t)n->data[i];
		k++;
	}
	return k;
}

/* What the RRs of the RRsets validated say beyond their verdict: res->ttl
 * (TTLs capped by the RRSIGs' Original TTL), res->wildcard (the TLSA
 * RRset's RRSIGs at owner). */
static void
note_sets(struct chainval_result *res, getdns_dict **rr,
    const unsigned char *set, size_t n, const getdns_bindata *owner)
{
	uint32_t ttl = UINT32_MAX, t, labels;
	unsigned have = wire_labels(owner);
	size_t i, skip, j;
	char *fqdn = NULL;

	for (i = 0; i < n; i++) {
		if (set[i] == 0)
			continue;
		if (getdns_dict_get_int(rr[i], "ttl", &t) == GETDNS_RETURN_GOOD &&
		    t < ttl)
			ttl = t;
		if (rr_type(rr[i]) != GETDNS_RRTYPE_RRSIG)
			continue;
		if (getdns_dict_get_int(rr[i], "/rdata/original_ttl", &t) ==
		    GETDNS_RETURN_GOOD && t < ttl)
			ttl = t;
		if (rrsig_covers(rr[i]) != GETDNS_RRTYPE_TLSA ||
		    getdns_dict_get_int(rr[i], "/rdata/labels", &labels) !=
		    GETDNS_RETURN_GOOD || labels >= have || res->wildcard[0])
			continue;
		/* "*." and the rightmost `labels` labels of owner. */
		for (skip = have - labels, j = 0; skip > 0 && j < owner->size;
		    skip--)
			j += 1 + (size_t)owner->data[j];
		if (getdns_convert_dns_name_to_fqdn(&(getdns_bindata){
		    owner->size - j, owner->data + j }, &fqdn) ==
		    GETDNS_RETURN_GOOD) {
			size_t len = strlen(fqdn);

			if (len > 1 && fqdn[len - 1] == '.')
				fqdn[len - 1] = '\0';
			if (strcmp(fqdn, ".") == 0)
				dp_strlcpy(res->wildcard, "*",
				    sizeof(res->wildcard));
			else
				snprintf(res->wildcard, sizeof(res->wildcard),
				    "*.%s", fqdn);
			dp_str_lower(res->wildcard);
			free(fqdn);
			fqdn = NULL;
		}
	}
	res->ttl = ttl == UINT32_MAX ? 0 : ttl;
}

static void
verdict2(struct chainval_result *res, enum chainval_status s,
    const char *what, const char *reason)
{
	res->status = s;
	snprintf(res->reason, sizeof(res->reason), "%s%s", what, reason);
}

static void
verdict(struct chainval_result *res, enum chainval_status s,
    const char *reason)
{
	res->status = s;
	snprintf(res->reason, sizeof(res->reason), "%s", reason);
}

/* An NSEC or NSEC3 RR, or an RRSIG over either: a proof of denial. */
static int
is_denial(const getdns_dict *d)
{
	uint32_t t = rr_type(d);

	if (t == GETDNS_RRTYPE_RRSIG)
		t = rrsig_covers(d);
	return t == GETDNS_RRTYPE_NSEC || t == GETDNS_RRTYPE_NSEC3;
}

/* One getdns call: the k-th RRset (and, with denial, the NSEC/NSEC3 RRs
 * and their RRSIGs) to validate, the other RRs of the chain as support.
 * *g is getdns' verdict. Returns DP_OK or DP_ERR_NOMEM. */
static int
validate_set(struct chainval *v, getdns_dict **rr, const unsigned char *set,
    size_t n, unsigned char k, int denial, time_t now, getdns_return_t *g)
{
	getdns_list *to_val = NULL, *support = NULL;
	size_t i;
	int r = DP_ERR_NOMEM;

	if ((to_val = getdns_list_create()) == NULL ||
	    (support = getdns_list_create()) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = list_append(set[i] == k ||
		    (denial && is_denial(rr[i])) ? to_val : support,
		    rr[i])) != DP_OK)
			goto out;
	/* skew 1, not 0: getdns' check_dates() takes inception - now
	 * < skew and now - expiration < skew, so 0 would refuse a
	 * signature in the very second of its inception or expiration,
	 * which RFC 4035 §5.3.1 accepts (both bounds inclusive); 1
	 * makes them exactly inclusive. A freshly signed zone (the lab
	 * signs with inception = now) otherwise fails for a second. */
	*g = getdns_validate_dnssec2(to_val, support, v->tas, now,
	    CHAINVAL_SKEW);
	r = DP_OK;
out:
	getdns_list_destroy(to_val);
	getdns_list_destroy(support);
	return r;
}

int
chainval_check(struct chainval *v, const struct dnschain *c,
    const char *name, time_t now, struct chainval_result *res)
{
	getdns_dict **rr = NULL;
	unsigned char *set = NULL;	/* RR i: 0 support, k: in the k-th RRset validated */
	const char *what;
	getdns_bindata *qname = NULL, *cur, *target;
	getdns_return_t g;
	size_t i, hops, nsets, k, ntlsa = 0;
	int r = DP_ERR_INTERNAL, have_denial = 0;

	if (res == NULL)
		return DP_ERR_INVALID;
	chainval_result_clear(res);
	verdict(res, CHAINVAL_INDETERMINATE, "internal error");
	if (v == NULL || c == NULL || name == NULL || c->n == 0) {
		verdict(res, CHAINVAL_INDETERMINATE, "no chain");
		r = DP_ERR_INVALID;
		goto out;
	}
	res->have_sig = c->have_sig;
	res->sig_expiration = c->sig_expiration;
	res->sig_left = (int64_t)(int32_t)(c->sig_expiration - (uint32_t)now);

	if (getdns_convert_fqdn_to_dns_name(name, &qname) != GETDNS_RETURN_GOOD) {
		verdict(res, CHAINVAL_INDETERMINATE, "name is not a DNS name");
		r = DP_ERR_INVALID;
		goto out;
	}
	if ((rr = calloc(c->n, sizeof(*rr))) == NULL ||
	    (set = calloc(c->n, 1)) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < c->n; i++) {
		if (getdns_wire2rr_dict(c->rr[i].wire, c->rr[i].len, &rr[i]) !=
		    GETDNS_RETURN_GOOD) {
			verdict(res, CHAINVAL_BOGUS, "an RR getdns cannot read");
			r = DP_OK;
			goto out;
		}
	}

	/* Follow the CNAMEs from name; every CNAME on the way is validated
	 * too, or a forged one could send us to any signed TLSA RRset.
	 * set[i]: 0 for support, k > 0 for the k-th RRset to validate. */
	cur = qname;
	for (hops = 0; ; hops++) {
		size_t ncname = 0;

		target = NULL;
		for (i = 0; i < c->n; i++) {
			if (rr_type(rr[i]) != GETDNS_RRTYPE_CNAME ||
			    !owner_is(rr[i], cur))
				continue;
			set[i] = (unsigned char)(hops + 1);
			ncname++;
			if (getdns_dict_get_bindata(rr[i], "/rdata/cname",
			    &target) != GETDNS_RETURN_GOOD)
				target = NULL;
		}
		/* Two CNAMEs at a name are no DNS; dnschain_tlsa might follow
		 * the other one to a TLSA RRset never validated here. */
		if (ncname > 1) {
			verdict(res, CHAINVAL_BOGUS, "several CNAMEs at one name");
			r = DP_OK;
			goto out;
		}
		if (target == NULL)
			break;
		if (hops == DNSCHAIN_CNAME_MAX) {
			verdict(res, CHAINVAL_BOGUS, "CNAME loop or chain too long");
			r = DP_OK;
			goto out;
		}
		for (i = 0; i < c->n; i++)
			if (rr_type(rr[i]) == GETDNS_RRTYPE_RRSIG &&
			    rrsig_covers(rr[i]) == GETDNS_RRTYPE_CNAME &&
			    owner_is(rr[i], cur))
				set[i] = (unsigned char)(hops + 1);
		cur = target;
	}
	nsets = hops + 1;	/* the CNAME hops, then the TLSA RRset */
	for (i = 0; i < c->n; i++) {
		if (!owner_is(rr[i], cur))
			continue;
		if (rr_type(rr[i]) == GETDNS_RRTYPE_TLSA) {
			set[i] = (unsigned char)nsets;
			ntlsa++;
		} else if (rr_type(rr[i]) == GETDNS_RRTYPE_RRSIG &&
		    rrsig_covers(rr[i]) == GETDNS_RRTYPE_TLSA)
			set[i] = (unsigned char)nsets;
	}
	if (ntlsa == 0) {
		/* A proof of non-existence would be INSECURE or "no records"
		 * at best; either way there is nothing to authenticate with. */
		verdict(res, CHAINVAL_INDETERMINATE, "no TLSA RRset at the name");
		res->no_tlsa = 1;
		r = DP_OK;
		goto out;
	}

	/* One getdns call per RRset: given several, getdns reports the worst
	 * but lets SECURE beat INDETERMINATE (chain_validate_dnssec), so a
	 * CNAME with no anchor above it would pass beside a signed TLSA RRset.
	 * Anchors only from the file: the chain's DNSKEYs are support, so
	 * getdns trusts one only through a DS or DNSKEY anchor above it. */
	for (i = 0; i < c->n; i++)
		have_denial |= is_denial(rr[i]);
	for (k = 1; k <= nsets; k++) {
		if ((r = validate_set(v, rr, set, c->n, (unsigned char)k, 0,
		    now, &g)) != DP_OK)
			goto out;
		/* A wildcard expansion is proven only by an NSEC/NSEC3 RR
		 * covering the next closer name, and getdns looks for it in
		 * the records to validate only (find_nsec_covering_name()
		 * iterates rrset->pkt, the to-validate packet; the support
		 * packet is searched for DNSKEY and DS alone): alone, such
		 * an RRset is BOGUS. Then it is validated again with the
		 * chain's NSEC/NSEC3 RRsets beside it, which getdns validates
		 * as RRsets of their own. Only a BOGUS first verdict is
		 * retried: that one found an anchor and a signed path to the
		 * RRset (else INDETERMINATE or INSECURE), so in the second call
		 * SECURE cannot come from the NSEC RRsets beating an
		 * unanchored RRset (SECURE beats INDETERMINATE there). */
		if ((int)g == GETDNS_DNSSEC_BOGUS && have_denial &&
		    (r = validate_set(v, rr, set, c->n, (unsigned char)k, 1,
		    now, &g)) != DP_OK)
			goto out;
		what = k < nsets ? "CNAME: " : "TLSA: ";
		/* getdns_return_t carries the DNSSEC statuses, outside its enum. */
		switch ((int)g) {
		case GETDNS_DNSSEC_SECURE:
			verdict(res, CHAINVAL_SECURE, "signed from the trust anchor");
			continue;
		case GETDNS_DNSSEC_BOGUS:
			verdict2(res, CHAINVAL_BOGUS, what,
			    "signature, date, key tag or digest does not verify");
			break;
		case GETDNS_DNSSEC_INSECURE:
			verdict2(res, CHAINVAL_INSECURE, what,
			    "unsigned or unsupported algorithm below the anchor");
			break;
		case GETDNS_DNSSEC_INDETERMINATE:
			verdict2(res, CHAINVAL_INDETERMINATE, what,
			    "no trust anchor above the name, or a link missing");
			break;
		default:	/* an error code: no verdict */
			verdict2(res, CHAINVAL_INDETERMINATE, what,
			    "getdns could not validate");
			break;
		}
		break;	/* fail closed at the first RRset not SECURE */
	}
	if (res->status == CHAINVAL_SECURE)
		note_sets(res, rr, set, c->n, cur);
	if (res->status == CHAINVAL_SECURE &&
	    (r = dnschain_tlsa(c, name, &res->tlsa)) != DP_OK) {
		tlsa_rrset_clear(&res->tlsa);
		if (r == DP_ERR_NOMEM)
			goto out;
		verdict(res, CHAINVAL_INDETERMINATE, "no usable TLSA record");
		res->no_tlsa = 1;
	}
	r = DP_OK;
out:
	if (r != DP_OK) {
		tlsa_rrset_clear(&res->tlsa);
		res->status = CHAINVAL_INDETERMINATE;
		if (r == DP_ERR_NOMEM)
			verdict(res, CHAINVAL_INDETERMINATE, "out of memory");
	}
	if (rr != NULL)
		for (i = 0; i < c->n; i++)
			getdns_dict_destroy(rr[i]);
	free(rr);
	free(set);
	if (qname != NULL) {
		free(qname->data);
		free(qname);
	}
	return r;
}
