/* ts002_dns.c — ts002_binding = dns: the DNS name TS002 publishes for a
 * SenderID, the organisational domain an authenticated name vouches for,
 * and the rule for an AS-ID, which has no DNS name of its own (see
 * ts002.h). Pure. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "ts002.h"
#include "util.h"

int
ts002_dns_owner(const char *id, enum ts002_id_kind kind,
    const char *netid_domain, const char *joineui_domain, char *out,
    size_t out_size)
{
	enum ts002_id_kind k;
	size_t len = id != NULL ? strlen(id) : 0, i, o = 0;
	const char *dom = kind == TS002_ID_NETID ? netid_domain : joineui_domain;
	int n;

	if (id == NULL || dom == NULL || out_size == 0 ||
	    ts002_hex_id(id, len, &k, NULL) != DP_OK || k != kind)
		return DP_ERR_INVALID;
	if (kind == TS002_ID_NETID) {
		n = snprintf(out, out_size, "%s.%s", id, dom);
		if (n < 0 || (size_t)n >= out_size)
			return DP_ERR_INVALID;
		o = (size_t)n;
	} else {
		/* 16 nibbles, last first, "x." each: 32 characters */
		if (out_size < 2 * len + strlen(dom) + 1)
			return DP_ERR_INVALID;
		for (i = len; i > 0; i--) {
			out[o++] = id[i - 1];
			out[o++] = '.';
		}
		memcpy(out + o, dom, strlen(dom) + 1);
		o += strlen(dom);
	}
	dp_str_lower(out);
	return dp_dns_name_check(out, o) == DP_OK ? DP_OK : DP_ERR_INVALID;
}

int
ts002_org_domain(const char *name, char *out, size_t out_size)
{
	const char *p = name, *dot;

	if (name == NULL || dp_dns_name_check(name, strlen(name)) != DP_OK)
		return DP_ERR_INVALID;
	/* The service labels (_lorawan-ns, _443._tcp) say what, not who. */
	while (*p == '_') {
		if ((dot = strchr(p, '.')) == NULL)
			return DP_ERR_INVALID;
		p = dot + 1;
	}
	/* The host's own label: the operator names its hosts under its
	 * domain. */
	if ((dot = strchr(p, '.')) == NULL)
		return DP_ERR_INVALID;
	p = dot + 1;
	/* Two labels at least: a bare TLD is nobody's organisation. */
	if (strchr(p, '.') == NULL || strlen(p) >= out_size)
		return DP_ERR_INVALID;
	memcpy(out, p, strlen(p) + 1);
	return DP_OK;
}

int
ts002_under_domain(const char *target, const char *org)
{
	size_t t = strlen(target), o = strlen(org);

	if (o == 0 || t < o)
		return 0;
	if (t == o)
		return strcmp(target, org) == 0;
	return target[t - o - 1] == '.' && strcmp(target + t - o, org) == 0;
}

/* An AS-ID has no record of its own in DNS (TS002 publishes NetIDs and
 * JoinEUIs only), so nothing is looked up: the AS-ID binds when it names a
 * host in the client's own organisational domain. That adds no trust in
 * DNS beyond the DANE authentication of the client's name, which already
 * speaks for that domain; an AS-ID that is not a DNS name cannot bind this
 * way and needs the map. */
int
ts002_asid_under_domain(const char *asid, const char *org)
{
	char low[TS002_ID_MAX];
	size_t n;

	if (asid == NULL || org == NULL ||
	    (n = strnlen(asid, sizeof(low))) == sizeof(low) ||
	    ts002_asid_check(asid, n) != DP_OK ||
	    dp_dns_name_check(asid, n) != DP_OK)
		return 0;
	/* DNS names compare case-insensitively; org is lower case. */
	memcpy(low, asid, n + 1);
	dp_str_lower(low);
	return ts002_under_domain(low, org);
}
