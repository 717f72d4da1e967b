/* ts002_dns.c — ts002_binding = dns: the DNS name TS002 publishes for a
 * SenderID, and the organisational domain an authenticated name vouches
 * for (see ts002.h). Pure. */
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
