/* dp-chain — builds the DNSSEC chain extension's data (RFC 9102, as
 * codec/dnschain.h reads it) a client staples for NAME, by asking an
 * AUTHORITATIVE server directly (the lab's NSD), so that it builds chains
 * for broken zones too: nothing is validated on the way.
 *
 *   dp-chain --server IP:PORT --anchor-zone ZONE [--out FILE] [--lifetime H]
 *            [--corrupt-rrsig TYPE]... [--drop TYPE[@OWNER]]... [--drop-nsec]
 *            [--pad-bytes N] [--pad-rrs N] [--raw-truncate N]
 *            [--check TA_FILE [--check-name NAME2]] [-v] NAME
 *
 * What it asks (TCP, DO bit, no recursion):
 *  - NAME TLSA: the answer section whole (TLSA, CNAMEs, their RRSIGs), and
 *    the NSEC/NSEC3 of the authority section with their RRSIGs (for a
 *    wildcard-synthesised answer, the proof that no closer name exists);
 *    a CNAME chain ending outside the answer is followed by asking its
 *    target (16 at most);
 *  - for each zone that signed something (the RRSIGs' signer names; for an
 *    unsigned RRset, the zone the SOA query at its owner names): ZONE
 *    DNSKEY (the RRset and its RRSIGs) and, but for the anchor zone, ZONE
 *    DS from its parent: the DS RRset and its RRSIGs, or for an unsigned
 *    delegation the parent's NSEC/NSEC3 proving there is none, with their
 *    RRSIGs; the signers of those come next, up to the anchor zone.
 *
 * Then the edits, in this order, on the records collected:
 *   --drop TYPE[@OWNER]   remove the RRs of TYPE (at OWNER only, if given)
 *                         and the RRSIGs covering them; TYPE RRSIG removes
 *                         RRSIGs only
 *   --drop-nsec           remove every NSEC and NSEC3 and their RRSIGs
 *   --corrupt-rrsig TYPE  flip a byte in the middle of the signature of
 *                         every RRSIG covering TYPE
 *   --pad-rrs N           add CNAME records at padNNNNNN.pad.invalid
 *                         (unsigned, unrelated to any proof: a chain holds
 *                         no type outside its own) until it holds N RRs
 *   --pad-bytes N         the same, with long targets, until the data is
 *                         N bytes at least
 * encoded with dnschain_encode (--lifetime H: ExtSupportLifetime, default
 * 0). Edits that take the chain past dnschain_encode's bounds (256 RRs, 64
 * RRSIGs) are written raw, in the same framing; a chain longer than the
 * format's 2^16-1 bytes cannot be framed and is refused. --raw-truncate N
 * then keeps the first N bytes (malformed on purpose).
 *
 * Output: the data into --out FILE (nothing written without it), and on
 * stdout one line
 *   bytes=N rrs=N rrsigs=N
 * (rrs counting the RRSIGs; bytes after truncation). With --check TA_FILE
 * the data is then parsed (dnschain_parse, default bounds) and validated
 * offline (dane/chainval.c) for NAME (or --check-name NAME2), and a second
 * line says
 *   check=secure|bogus|insecure|indeterminate|malformed|oversize reason="..."
 * -v prints every record kept to stderr.
 * Exit 0 when the data was built (whatever --check concluded), 1 when a
 * query failed or the chain cannot be built, 2 on usage errors. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "chainval.h"
#include "dnschain.h"
#include "err.h"
#include "util.h"

#define DC_CNAME_MAX 16
#define DC_ZONES_MAX 32
#define DC_EDITS_MAX 16
#define DC_DATA_MAX (4u + 65535u)

/* One --drop: a type, and an owner or NULL for any. */
struct dc_drop {
	ldns_rr_type type;
	ldns_rdf *owner;		/* owned, or NULL */
};

struct dc {
	ldns_resolver *res;
	ldns_rdf *name;			/* NAME, absolute */
	ldns_rdf *anchor;		/* the anchor zone */
	ldns_rr_list *rrs;		/* collected, no duplicates (owned) */
	ldns_rdf *zones[DC_ZONES_MAX];	/* zones seen (owned), in order */
	size_t nzones;
	size_t next_zone;		/* first zone not walked yet */
	int verbose;
};

static void
dc_die_usage(void)
{
	fputs(
"usage: dp-chain --server IP:PORT --anchor-zone ZONE [--out FILE]\n"
"         [--lifetime H] [--corrupt-rrsig TYPE]... [--drop TYPE[@OWNER]]...\n"
"         [--drop-nsec] [--pad-bytes N] [--pad-rrs N] [--raw-truncate N]\n"
"         [--check TA_FILE [--check-name NAME2]] [-v] NAME\n", stderr);
	exit(2);
}

static ldns_rdf *
dc_dname(const char *s)
{
	ldns_rdf *d = ldns_dname_new_frm_str(s);

	if (d != NULL)
		ldns_dname2canonical(d);
	return d;
}

/* The resolver: one nameserver, TCP, DO bit, no recursion asked. */
static int
dc_resolver(struct dc *d, const char *server)
{
	char host[128];
	uint16_t port;
	ldns_rdf *ns;

	if (dp_split_hostport(server, host, sizeof(host), &port) != DP_OK) {
		fprintf(stderr, "dp-chain: bad --server %s\n", server);
		return -1;
	}
	ns = ldns_rdf_new_frm_str(strchr(host, ':') != NULL ?
	    LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host);
	if (ns == NULL || (d->res = ldns_resolver_new()) == NULL ||
	    ldns_resolver_push_nameserver(d->res, ns) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		fprintf(stderr, "dp-chain: bad --server %s\n", server);
		return -1;
	}
	ldns_rdf_deep_free(ns);	/* pushed as a copy */
	ldns_resolver_set_port(d->res, port);
	ldns_resolver_set_usevc(d->res, true);
	ldns_resolver_set_dnssec(d->res, true);
	ldns_resolver_set_recursive(d->res, false);
	ldns_resolver_set_retry(d->res, 2);
	ldns_resolver_set_timeout(d->res, (struct timeval){ .tv_sec = 3 });
	return 0;
}

/* Asks name/type. Returns the answer (the caller frees it) or NULL after
 * saying why: no answer, or an RCODE other than NOERROR and NXDOMAIN. */
static ldns_pkt *
dc_query(struct dc *d, const ldns_rdf *name, ldns_rr_type type)
{
	ldns_pkt *p = NULL;
	ldns_status s;
	char *n, *t;

	s = ldns_resolver_send(&p, d->res, name, type, LDNS_RR_CLASS_IN, 0);
	if (s == LDNS_STATUS_OK && p != NULL &&
	    (ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR ||
	    ldns_pkt_get_rcode(p) == LDNS_RCODE_NXDOMAIN))
		return p;
	n = ldns_rdf2str(name);
	t = ldns_rr_type2str(type);
	if (s != LDNS_STATUS_OK || p == NULL)
		fprintf(stderr, "dp-chain: %s %s: %s\n", n, t,
		    ldns_get_errorstr_by_id(s));
	else
		fprintf(stderr, "dp-chain: %s %s: rcode %d\n", n, t,
		    (int)ldns_pkt_get_rcode(p));
	free(n);
	free(t);
	ldns_pkt_free(p);
	return NULL;
}

static ldns_rr_type
dc_covered(const ldns_rr *rr)
{
	return ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
}

/* Keeps a copy of rr unless an equal one is kept already. */
static int
dc_keep(struct dc *d, const ldns_rr *rr)
{
	size_t i;
	ldns_rr *c;

	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return 0;
	for (i = 0; i < ldns_rr_list_rr_count(d->rrs); i++)
		if (ldns_rr_compare(ldns_rr_list_rr(d->rrs, i), rr) == 0)
			return 0;
	if ((c = ldns_rr_clone(rr)) == NULL)
		return -1;
	if (!ldns_rr_list_push_rr(d->rrs, c)) {
		ldns_rr_free(c);
		return -1;
	}
	if (d->verbose) {
		fputs("+ ", stderr);
		ldns_rr_print(stderr, c);
	}
	return 0;
}

/* Notes zone (absolute) to walk, unless seen. */
static int
dc_zone(struct dc *d, const ldns_rdf *zone)
{
	size_t i;

	for (i = 0; i < d->nzones; i++)
		if (ldns_dname_compare(d->zones[i], zone) == 0)
			return 0;
	if (d->nzones == DC_ZONES_MAX) {
		fprintf(stderr, "dp-chain: more than %d zones\n", DC_ZONES_MAX);
		return -1;
	}
	if ((d->zones[d->nzones] = ldns_rdf_clone(zone)) == NULL)
		return -1;
	ldns_dname2canonical(d->zones[d->nzones]);
	d->nzones++;
	return 0;
}

/* Keeps the RRs of list that want(rr) says yes to; an RRSIG's signer
 * becomes a zone to walk. */
static int
dc_take(struct dc *d, const ldns_rr_list *list,
    int (*want)(const ldns_rr *, const void *), const void *arg)
{
	size_t i;
	const ldns_rr *rr;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		rr = ldns_rr_list_rr(list, i);
		if (!want(rr, arg))
			continue;
		if (dc_keep(d, rr) != 0)
			return -1;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
		    dc_zone(d, ldns_rr_rrsig_signame(rr)) != 0)
			return -1;
	}
	return 0;
}

static int
dc_want_any(const ldns_rr *rr, const void *arg)
{
	return 1;
}

static int
dc_is_denial_type(ldns_rr_type t)
{
	return t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3;
}

/* NSEC, NSEC3 and the RRSIGs covering them. */
static int
dc_want_denial(const ldns_rr *rr, const void *arg)
{
	ldns_rr_type t = ldns_rr_get_type(rr);

	return dc_is_denial_type(t) ||
	    (t == LDNS_RR_TYPE_RRSIG && dc_is_denial_type(dc_covered(rr)));
}

/* The RRs of *type at owner arg[0] and their RRSIGs. */
struct dc_set {
	const ldns_rdf *owner;
	ldns_rr_type type;
};

static int
dc_want_set(const ldns_rr *rr, const void *arg)
{
	const struct dc_set *s = arg;
	ldns_rr_type t = ldns_rr_get_type(rr);

	if (ldns_dname_compare(ldns_rr_owner(rr), s->owner) != 0)
		return 0;
	return t == s->type || (t == LDNS_RR_TYPE_RRSIG &&
	    dc_covered(rr) == s->type);
}

/* The target of the CNAME at owner in list, or NULL. */
static const ldns_rdf *
dc_cname_at(const ldns_rr_list *list, const ldns_rdf *owner)
{
	size_t i;
	const ldns_rr *rr;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		rr = ldns_rr_list_rr(list, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			return ldns_rr_rdf(rr, 0);
	}
	return NULL;
}

static int
dc_has(const ldns_rr_list *list, const ldns_rdf *owner, ldns_rr_type type)
{
	size_t i;
	const ldns_rr *rr;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++) {
		rr = ldns_rr_list_rr(list, i);
		if (ldns_rr_get_type(rr) == type &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			return 1;
	}
	return 0;
}

/* The TLSA answer for NAME, through CNAMEs. */
static int
dc_tlsa(struct dc *d)
{
	ldns_rdf *q = NULL, *t = NULL;
	const ldns_rdf *next;
	ldns_pkt *p = NULL;
	int i, k, r = -1;

	if ((q = ldns_rdf_clone(d->name)) == NULL)
		return -1;
	for (i = 0; i <= DC_CNAME_MAX; i++) {
		if ((p = dc_query(d, q, LDNS_RR_TYPE_TLSA)) == NULL)
			goto out;
		if (dc_take(d, ldns_pkt_answer(p), dc_want_any, NULL) != 0 ||
		    dc_take(d, ldns_pkt_authority(p), dc_want_denial, NULL) != 0)
			goto out;
		/* Where the CNAMEs of this answer lead. */
		if ((t = ldns_rdf_clone(q)) == NULL)
			goto out;
		for (k = 0; k <= DC_CNAME_MAX &&
		    (next = dc_cname_at(ldns_pkt_answer(p), t)) != NULL; k++) {
			ldns_rdf_deep_free(t);
			if ((t = ldns_rdf_clone(next)) == NULL)
				goto out;
			ldns_dname2canonical(t);
		}
		if (ldns_dname_compare(t, q) == 0 ||
		    dc_has(ldns_pkt_answer(p), t, LDNS_RR_TYPE_TLSA) ||
		    ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR) {
			r = 0;
			goto out;
		}
		/* A CNAME out of what the server answered with: ask there. */
		ldns_rdf_deep_free(q);
		q = t;
		t = NULL;
		ldns_pkt_free(p);
		p = NULL;
	}
	fprintf(stderr, "dp-chain: more than %d CNAMEs\n", DC_CNAME_MAX);
 out:
	ldns_pkt_free(p);
	ldns_rdf_deep_free(q);
	ldns_rdf_deep_free(t);
	return r;
}

/* The zone of owner, from the SOA the server shows for it (answer or
 * authority section): a zone to walk. */
static int
dc_zone_of(struct dc *d, const ldns_rdf *owner)
{
	ldns_pkt *p;
	ldns_rr_list *l;
	size_t s, i;
	int r = -1;

	if ((p = dc_query(d, owner, LDNS_RR_TYPE_SOA)) == NULL)
		return -1;
	for (s = 0; s < 2 && r != 0; s++) {
		l = s == 0 ? ldns_pkt_answer(p) : ldns_pkt_authority(p);
		for (i = 0; i < ldns_rr_list_rr_count(l); i++)
			if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) ==
			    LDNS_RR_TYPE_SOA) {
				r = dc_zone(d, ldns_rr_owner(ldns_rr_list_rr(l, i)));
				break;
			}
	}
	if (r != 0)
		fprintf(stderr, "dp-chain: no SOA shown for a name's zone\n");
	ldns_pkt_free(p);
	return r;
}

/* An RRset kept without an RRSIG covering it: its zone is walked too (an
 * unsigned zone, whose parent must prove it so). */
static int
dc_unsigned_zones(struct dc *d)
{
	size_t i, k, n = ldns_rr_list_rr_count(d->rrs);
	const ldns_rr *rr, *s;
	int covered;

	for (i = 0; i < n; i++) {
		rr = ldns_rr_list_rr(d->rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
			continue;
		covered = 0;
		for (k = 0; k < n && !covered; k++) {
			s = ldns_rr_list_rr(d->rrs, k);
			covered = ldns_rr_get_type(s) == LDNS_RR_TYPE_RRSIG &&
			    dc_covered(s) == ldns_rr_get_type(rr) &&
			    ldns_dname_compare(ldns_rr_owner(s),
			    ldns_rr_owner(rr)) == 0;
		}
		if (!covered && dc_zone_of(d, ldns_rr_owner(rr)) != 0)
			return -1;
	}
	return 0;
}

/* Every zone noted, and those their DS answers name, up to the anchor. */
static int
dc_walk(struct dc *d)
{
	struct dc_set set;
	ldns_pkt *p = NULL;
	ldns_rdf *z;
	size_t before;
	char *zs;

	for (; d->next_zone < d->nzones; d->next_zone++) {
		z = d->zones[d->next_zone];
		set.owner = z;
		set.type = LDNS_RR_TYPE_DNSKEY;
		if ((p = dc_query(d, z, LDNS_RR_TYPE_DNSKEY)) == NULL ||
		    dc_take(d, ldns_pkt_answer(p), dc_want_set, &set) != 0)
			goto fail;
		ldns_pkt_free(p);
		p = NULL;
		if (ldns_dname_compare(z, d->anchor) == 0)
			continue;
		if (!ldns_dname_is_subdomain(z, d->anchor)) {
			zs = ldns_rdf2str(z);
			fprintf(stderr, "dp-chain: zone %s is not under the "
			    "anchor zone\n", zs);
			free(zs);
			goto fail;
		}
		set.type = LDNS_RR_TYPE_DS;
		before = d->nzones;
		if ((p = dc_query(d, z, LDNS_RR_TYPE_DS)) == NULL)
			goto fail;
		if (dc_has(ldns_pkt_answer(p), z, LDNS_RR_TYPE_DS)) {
			if (dc_take(d, ldns_pkt_answer(p), dc_want_set,
			    &set) != 0)
				goto fail;
		} else if (dc_take(d, ldns_pkt_authority(p), dc_want_denial,
		    NULL) != 0)
			goto fail;
		/* An unsigned parent names no signer: go on from its SOA. */
		if (d->nzones == before) {
			ldns_rdf *parent = ldns_dname_left_chop(z);

			if (parent == NULL || dc_zone_of(d, parent) != 0) {
				ldns_rdf_deep_free(parent);
				goto fail;
			}
			ldns_rdf_deep_free(parent);
		}
		ldns_pkt_free(p);
		p = NULL;
	}
	return 0;
 fail:
	ldns_pkt_free(p);
	return -1;
}

/* ---- edits ---- */

static void
dc_remove_if(struct dc *d, int (*gone)(const ldns_rr *, const void *),
    const void *arg)
{
	ldns_rr_list *keep = ldns_rr_list_new();
	size_t i;
	ldns_rr *rr;

	for (i = 0; i < ldns_rr_list_rr_count(d->rrs); i++) {
		rr = ldns_rr_list_rr(d->rrs, i);
		if (gone(rr, arg))
			ldns_rr_free(rr);
		else
			ldns_rr_list_push_rr(keep, rr);
	}
	ldns_rr_list_free(d->rrs);	/* the list only, RRs moved or freed */
	d->rrs = keep;
}

static int
dc_gone_drop(const ldns_rr *rr, const void *arg)
{
	const struct dc_drop *x = arg;
	ldns_rr_type t = ldns_rr_get_type(rr);

	if (x->owner != NULL &&
	    ldns_dname_compare(ldns_rr_owner(rr), x->owner) != 0)
		return 0;
	if (x->type == LDNS_RR_TYPE_RRSIG)
		return t == LDNS_RR_TYPE_RRSIG;
	return t == x->type || (t == LDNS_RR_TYPE_RRSIG &&
	    dc_covered(rr) == x->type);
}

static void
dc_corrupt(struct dc *d, ldns_rr_type type)
{
	size_t i;
	ldns_rr *rr;
	ldns_rdf *sig;

	for (i = 0; i < ldns_rr_list_rr_count(d->rrs); i++) {
		rr = ldns_rr_list_rr(d->rrs, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    dc_covered(rr) != type ||
		    (sig = ldns_rr_rrsig_sig(rr)) == NULL ||
		    ldns_rdf_size(sig) == 0)
			continue;
		ldns_rdf_data(sig)[ldns_rdf_size(sig) / 2] ^= 0xff;
	}
}

static size_t
dc_wire_len(const ldns_rr *rr)
{
	uint8_t *w = NULL;
	size_t len = 0;

	if (ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &len) != LDNS_STATUS_OK)
		len = 0;
	free(w);
	return len;
}

/* CNAME records at padNNNNNN.pad.invalid (a type a chain may hold, at
 * names no proof follows) until the chain holds min_rrs RRs and min_bytes
 * bytes (framing included): short targets to reach a count, long ones (of
 * about 200 octets) to reach a size. */
static int
dc_pad(struct dc *d, size_t min_rrs, size_t min_bytes)
{
	char line[512], label[64];
	size_t i, bytes = 4, n = 0;
	ldns_rr *rr = NULL;

	memset(label, 'x', 63);
	label[63] = '\0';
	for (i = 0; i < ldns_rr_list_rr_count(d->rrs); i++)
		bytes += dc_wire_len(ldns_rr_list_rr(d->rrs, i));
	while (ldns_rr_list_rr_count(d->rrs) < min_rrs || bytes < min_bytes) {
		if (bytes < min_bytes)
			snprintf(line, sizeof(line), "pad%06zu.pad.invalid. 300 IN "
			    "CNAME %s.%s.%s.pad.invalid.", n++, label, label, label);
		else
			snprintf(line, sizeof(line), "pad%06zu.pad.invalid. 300 IN "
			    "CNAME p.invalid.", n++);
		if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK)
			return -1;
		bytes += dc_wire_len(rr);
		if (!ldns_rr_list_push_rr(d->rrs, rr)) {
			ldns_rr_free(rr);
			return -1;
		}
	}
	return 0;
}

/* ---- encoding ---- */

/* The extension data, into out (DC_DATA_MAX bytes): dnschain_encode, or
 * past its bounds the same framing written here. */
static int
dc_encode(struct dc *d, uint16_t lifetime, unsigned char *out, size_t *len,
    size_t *nrr, size_t *nsig)
{
	size_t n = ldns_rr_list_rr_count(d->rrs), i, off;
	unsigned char **w = NULL;
	size_t *lens = NULL;
	int r = -1, e;

	*nrr = n;
	*nsig = 0;
	if (n == 0) {
		fprintf(stderr, "dp-chain: no record to encode\n");
		return -1;
	}
	if ((w = calloc(n, sizeof(*w))) == NULL ||
	    (lens = calloc(n, sizeof(*lens))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (ldns_rr2wire(&w[i], ldns_rr_list_rr(d->rrs, i),
		    LDNS_SECTION_ANSWER, &lens[i]) != LDNS_STATUS_OK)
			goto out;
		if (ldns_rr_get_type(ldns_rr_list_rr(d->rrs, i)) ==
		    LDNS_RR_TYPE_RRSIG)
			(*nsig)++;
	}
	e = dnschain_encode(lifetime, (const unsigned char *const *)w, lens, n,
	    out, DC_DATA_MAX, len);
	if (e == DP_OK) {
		r = 0;
		goto out;
	}
	if (e != DP_ERR_BUSY) {
		fprintf(stderr, "dp-chain: dnschain_encode: %s\n",
		    dp_strerror(e));
		goto out;
	}
	/* Over dnschain_encode's caps on purpose (--pad-rrs): raw. */
	fprintf(stderr, "dp-chain: over the default RR/RRSIG caps, "
	    "written raw\n");
	off = 4;
	for (i = 0; i < n; i++) {
		if (lens[i] > DC_DATA_MAX - off) {
			fprintf(stderr, "dp-chain: over 2^16-1 bytes\n");
			goto out;
		}
		memcpy(out + off, w[i], lens[i]);
		off += lens[i];
	}
	out[0] = (unsigned char)(lifetime >> 8);
	out[1] = (unsigned char)lifetime;
	out[2] = (unsigned char)((off - 4) >> 8);
	out[3] = (unsigned char)(off - 4);
	*len = off;
	r = 0;
 out:
	for (i = 0; w != NULL && i < n; i++)
		free(w[i]);
	free(w);
	free(lens);
	return r;
}

/* --check: parse and validate as the server would, one line. */
static void
dc_check(const unsigned char *data, size_t len, const char *ta,
    const char *name)
{
	char why[DNSCHAIN_WHY_MAX] = "", err[256] = "";
	struct dnschain c = { 0 };
	struct chainval_result res = { 0 };
	struct chainval *v = NULL;
	time_t now = time(NULL);
	int e;

	e = dnschain_parse(data, len, NULL, (uint32_t)now, &c, why,
	    sizeof(why));
	if (e != DP_OK) {
		printf("check=%s reason=\"%s\"\n", e == DP_ERR_BUSY ?
		    "oversize" : "malformed", why);
		return;
	}
	if (chainval_new(ta, &v, err, sizeof(err)) != DP_OK) {
		printf("check=error reason=\"%s\"\n", err);
		dnschain_free(&c);
		return;
	}
	e = chainval_check(v, &c, name, now, &res);
	printf("check=%s reason=\"%s\"\n", e == DP_OK ?
	    chainval_status_str(res.status) : "error",
	    e == DP_OK ? res.reason : dp_strerror(e));
	chainval_result_clear(&res);
	chainval_free(v);
	dnschain_free(&c);
}

static ldns_rr_type
dc_type(const char *s)
{
	ldns_rr_type t = ldns_get_rr_type_by_name(s);

	if (t == 0) {
		fprintf(stderr, "dp-chain: unknown type %s\n", s);
		dc_die_usage();
	}
	return t;
}

enum {
	OPT_SERVER = 256, OPT_ANCHOR, OPT_OUT, OPT_LIFETIME, OPT_CORRUPT,
	OPT_DROP, OPT_DROP_NSEC, OPT_PAD_BYTES, OPT_PAD_RRS, OPT_TRUNCATE,
	OPT_CHECK, OPT_CHECK_NAME,
};

static const struct option dc_longopts[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "anchor-zone", required_argument, NULL, OPT_ANCHOR },
	{ "out", required_argument, NULL, OPT_OUT },
	{ "lifetime", required_argument, NULL, OPT_LIFETIME },
	{ "corrupt-rrsig", required_argument, NULL, OPT_CORRUPT },
	{ "drop", required_argument, NULL, OPT_DROP },
	{ "drop-nsec", no_argument, NULL, OPT_DROP_NSEC },
	{ "pad-bytes", required_argument, NULL, OPT_PAD_BYTES },
	{ "pad-rrs", required_argument, NULL, OPT_PAD_RRS },
	{ "raw-truncate", required_argument, NULL, OPT_TRUNCATE },
	{ "check", required_argument, NULL, OPT_CHECK },
	{ "check-name", required_argument, NULL, OPT_CHECK_NAME },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct dc d = { 0 };
	struct dc_drop drops[DC_EDITS_MAX];
	ldns_rr_type corrupt[DC_EDITS_MAX];
	size_t ndrops = 0, ncorrupt = 0, i, len = 0, nrr, nsig;
	const char *server = getenv("LAB_NSD"), *anchor = NULL, *out = NULL;
	const char *check = NULL, *check_name = NULL;
	uint64_t v, pad_bytes = 0, pad_rrs = 0, truncate_at = 0;
	uint16_t lifetime = 0;
	int ch, drop_nsec = 0, truncate_set = 0, rc = 1;
	unsigned char *data = NULL;
	char *at;
	FILE *f;

	while ((ch = getopt_long(argc, argv, "v", dc_longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_SERVER: server = optarg; break;
		case OPT_ANCHOR: anchor = optarg; break;
		case OPT_OUT: out = optarg; break;
		case OPT_CHECK: check = optarg; break;
		case OPT_CHECK_NAME: check_name = optarg; break;
		case OPT_DROP_NSEC: drop_nsec = 1; break;
		case 'v': d.verbose = 1; break;
		case OPT_LIFETIME:
			if (dp_parse_uint(optarg, 0, 0xffff, &v) != DP_OK)
				dc_die_usage();
			lifetime = (uint16_t)v;
			break;
		case OPT_CORRUPT:
			if (ncorrupt == DC_EDITS_MAX)
				dc_die_usage();
			corrupt[ncorrupt++] = dc_type(optarg);
			break;
		case OPT_DROP:
			if (ndrops == DC_EDITS_MAX)
				dc_die_usage();
			drops[ndrops].owner = NULL;
			if ((at = strchr(optarg, '@')) != NULL) {
				*at = '\0';
				if ((drops[ndrops].owner = dc_dname(at + 1)) ==
				    NULL)
					dc_die_usage();
			}
			drops[ndrops++].type = dc_type(optarg);
			break;
		case OPT_PAD_BYTES:
			if (dp_parse_uint(optarg, 0, DC_DATA_MAX, &pad_bytes) !=
			    DP_OK)
				dc_die_usage();
			break;
		case OPT_PAD_RRS:
			if (dp_parse_uint(optarg, 0, 4096, &pad_rrs) != DP_OK)
				dc_die_usage();
			break;
		case OPT_TRUNCATE:
			if (dp_parse_uint(optarg, 0, DC_DATA_MAX, &truncate_at)
			    != DP_OK)
				dc_die_usage();
			truncate_set = 1;
			break;
		default:
			dc_die_usage();
		}
	}
	if (optind != argc - 1 || server == NULL || anchor == NULL)
		dc_die_usage();
	if ((d.name = dc_dname(argv[optind])) == NULL ||
	    (d.anchor = dc_dname(anchor)) == NULL) {
		fprintf(stderr, "dp-chain: bad name\n");
		return 2;
	}
	if (dc_resolver(&d, server) != 0)
		return 2;
	if ((d.rrs = ldns_rr_list_new()) == NULL ||
	    (data = malloc(DC_DATA_MAX)) == NULL)
		goto out;

	if (dc_tlsa(&d) != 0 || dc_unsigned_zones(&d) != 0 || dc_walk(&d) != 0)
		goto out;

	for (i = 0; i < ndrops; i++)
		dc_remove_if(&d, dc_gone_drop, &drops[i]);
	if (drop_nsec)
		dc_remove_if(&d, dc_want_denial, NULL);
	for (i = 0; i < ncorrupt; i++)
		dc_corrupt(&d, corrupt[i]);
	if ((pad_rrs > 0 || pad_bytes > 0) &&
	    dc_pad(&d, (size_t)pad_rrs, (size_t)pad_bytes) != 0)
		goto out;
	if (dc_encode(&d, lifetime, data, &len, &nrr, &nsig) != 0)
		goto out;
	if (truncate_set && truncate_at < len)
		len = (size_t)truncate_at;

	if (out != NULL) {
		if ((f = fopen(out, "wb")) == NULL ||
		    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
			fprintf(stderr, "dp-chain: %s: %s\n", out,
			    strerror(errno));
			goto out;
		}
	}
	printf("bytes=%zu rrs=%zu rrsigs=%zu\n", len, nrr, nsig);
	if (check != NULL)
		dc_check(data, len, check, check_name != NULL ? check_name :
		    argv[optind]);
	rc = 0;
 out:
	for (i = 0; i < ndrops; i++)
		ldns_rdf_deep_free(drops[i].owner);
	for (i = 0; i < d.nzones; i++)
		ldns_rdf_deep_free(d.zones[i]);
	ldns_rr_list_deep_free(d.rrs);
	ldns_rdf_deep_free(d.name);
	ldns_rdf_deep_free(d.anchor);
	ldns_resolver_deep_free(d.res);
	free(data);
	return rc;
}
