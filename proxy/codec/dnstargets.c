/* dnstargets.c — see dnstargets.h. */
#include "dnstargets.h"

#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnswire.h"
#include "err.h"
#include "util.h"


/* Adds the name s (len bytes, a final dot allowed) to t unless it is not
 * a DNS name, already there, or t is full. */
static void
add_name(struct dns_targets *t, const char *s, size_t len, uint32_t ttl)
{
	char buf[DNS_TARGET_NAME_MAX];
	size_t i;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len >= sizeof(buf))
		return;
	memcpy(buf, s, len);
	buf[len] = '\0';
	dp_str_lower(buf);
	if (dp_dns_name_check(buf, len) != DP_OK)
		return;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->name[i], buf) == 0)
			break;
	if (i == t->n) {
		if (t->n == DNS_TARGETS_MAX)
			return;
		memcpy(t->name[t->n++], buf, len + 1);
	}
	if (ttl < t->ttl)
		t->ttl = ttl;
}

static void
add_dname(struct dns_targets *t, const ldns_rdf *d, uint32_t ttl)
{
	char *s;

	if (d == NULL || ldns_rdf_get_type(d) != LDNS_RDF_TYPE_DNAME ||
	    ldns_dname_label_count(d) == 0 || (s = ldns_rdf2str(d)) == NULL)
		return;
	add_name(t, s, strlen(s), ttl);
	free(s);
}

int
dns_naptr_regexp_host(const char *re, size_t len, char *host,
    size_t host_size)
{
	const char *url, *end, *p, *h;
	char delim;
	size_t n;

	/* RFC 3402 §3.2: delim-char ERE delim-char repl delim-char flags;
	 * the delimiter is not a digit, a flag or '\'. */
	if (len < 3)
		return DP_ERR_INVALID;
	delim = re[0];
	if (delim == '\\' || delim == 'i' || (delim >= '0' && delim <= '9'))
		return DP_ERR_INVALID;
	if ((p = memchr(re + 1, delim, len - 1)) == NULL)
		return DP_ERR_INVALID;
	url = p + 1;
	if ((end = memchr(url, delim, (size_t)(re + len - url))) == NULL)
		return DP_ERR_INVALID;
	/* Flags: none or "i"; nothing after them. */
	if (!(end + 1 == re + len || (end + 2 == re + len && end[1] == 'i')))
		return DP_ERR_INVALID;
	/* A back-reference makes the host depend on the input string: only
	 * literal replacements name a host by themselves. */
	if (memchr(url, '\\', (size_t)(end - url)) != NULL)
		return DP_ERR_INVALID;
	for (p = url; p < end && ((*p >= 'a' && *p <= 'z') ||
	    (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
	    *p == '-' || *p == '.'); p++)
		;
	if (p == url || end - p < 3 || memcmp(p, "://", 3) != 0)
		return DP_ERR_INVALID;
	h = p + 3;
	for (p = h; p < end && *p != ':' && *p != '/' && *p != '?' &&
	    *p != '#'; p++)
		;
	n = (size_t)(p - h);
	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n >= host_size || memchr(h, '@', n) != NULL)
		return DP_ERR_INVALID;
	memcpy(host, h, n);
	host[n] = '\0';
	dp_str_lower(host);
	return dp_dns_name_check(host, n) == DP_OK ? DP_OK : DP_ERR_INVALID;
}

static void
add_naptr(struct dns_targets *t, const ldns_rr *rr)
{
	const ldns_rdf *re;
	char host[DNS_TARGET_NAME_MAX];

	/* order, preference, flags, services, regexp, replacement */
	if (ldns_rr_rd_count(rr) != 6)
		return;
	add_dname(t, ldns_rr_rdf(rr, 5), ldns_rr_ttl(rr));
	re = ldns_rr_rdf(rr, 4);
	/* a character-string: its length, then the bytes */
	if (ldns_rdf_size(re) >= 1 &&
	    (size_t)ldns_rdf_data(re)[0] + 1 == ldns_rdf_size(re) &&
	    dns_naptr_regexp_host((const char *)ldns_rdf_data(re) + 1,
	    ldns_rdf_data(re)[0], host, sizeof(host)) == DP_OK)
		add_name(t, host, strlen(host), ldns_rr_ttl(rr));
}

static void
parse_pkt(const ldns_pkt *pkt, const ldns_rdf *qname, uint16_t qtype,
    struct dns_targets *t)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	const ldns_rdf *cur = qname;
	size_t i, n, hops;

	t->ttl = UINT32_MAX;
	t->rr_ttl = UINT32_MAX;
	n = an != NULL ? ldns_rr_list_rr_count(an) : 0;
	for (hops = 0; hops < DNS_CNAME_MAX; hops++) {
		const ldns_rr *next = dnswire_cname(an, cur);
		if (next == NULL)
			break;
		add_dname(t, ldns_rr_rdf(next, 0), ldns_rr_ttl(next));
		if (ldns_rr_ttl(next) < t->rr_ttl)
			t->rr_ttl = ldns_rr_ttl(next);
		cur = ldns_rr_rdf(next, 0);
	}
	for (i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
		    ldns_rr_get_type(rr) == (ldns_rr_type)qtype &&
		    ldns_dname_compare(ldns_rr_owner(rr), cur) == 0) {
			t->n_rr++;
			if (ldns_rr_ttl(rr) < t->rr_ttl)
				t->rr_ttl = ldns_rr_ttl(rr);
		}
	}
	if (t->n_rr == 0)
		t->rr_ttl = 0;
	for (i = 0; i < n && qtype == DNS_QTYPE_NAPTR; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_NAPTR &&
		    ldns_dname_compare(ldns_rr_owner(rr), cur) == 0)
			add_naptr(t, rr);
	}
	if (t->n == 0)
		t->ttl = 0;
	t->have_soa = dnswire_neg_ttl(pkt, &t->neg_ttl);
}

int
dns_targets_parse(const unsigned char *wire, size_t len, const char *qname,
    uint16_t qtype, struct dns_targets *t)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *q = NULL;

	memset(t, 0, sizeof(*t));
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
		return DP_ERR_INVALID;
	if ((q = ldns_dname_new_frm_str(qname)) == NULL) {
		ldns_pkt_free(pkt);
		return DP_ERR_INVALID;
	}
	t->rcode = ldns_pkt_get_rcode(pkt);
	t->ad = ldns_pkt_ad(pkt);
	t->tc = ldns_pkt_tc(pkt);
	t->question_ok = dnswire_question_ok(pkt, q, qtype);
	parse_pkt(pkt, q, qtype, t);
	ldns_rdf_deep_free(q);
	ldns_pkt_free(pkt);
	return DP_OK;
}
