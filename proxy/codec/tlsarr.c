/* tlsarr.c — see tlsarr.h. */
#include "tlsarr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int
tlsa_rrset_add(struct tlsa_rrset *set, uint8_t usage, uint8_t selector,
    uint8_t mtype, const unsigned char *data, size_t len)
{
	struct tlsa_rr *rr;
	unsigned char *copy = NULL;

	if (set->n >= SIZE_MAX / sizeof(*set->rr) - 1)
		return DP_ERR_NOMEM;
	if (len > 0) {
		if ((copy = malloc(len)) == NULL)
			return DP_ERR_NOMEM;
		memcpy(copy, data, len);
	}
	if ((rr = realloc(set->rr, (set->n + 1) * sizeof(*rr))) == NULL) {
		free(copy);
		return DP_ERR_NOMEM;
	}
	set->rr = rr;
	rr[set->n].usage = usage;
	rr[set->n].selector = selector;
	rr[set->n].mtype = mtype;
	rr[set->n].prep = TLSA_RR_UNPREPARED;
	rr[set->n].len = len;
	rr[set->n].data = copy;
	set->n++;
	return DP_OK;
}

void
tlsa_rrset_clear(struct tlsa_rrset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		free(set->rr[i].data);
	free(set->rr);
	set->rr = NULL;
	set->n = 0;
}

int
tlsa_rrset_usage(const struct tlsa_rrset *set)
{
	size_t i;

	if (set == NULL || set->n == 0)
		return -1;
	for (i = 1; i < set->n; i++)
		if (set->rr[i].usage != set->rr[0].usage)
			return -1;
	return set->rr[0].usage;
}

char *
tlsa_rr_str(const struct tlsa_rr *rr, char *buf, size_t buf_size)
{
	snprintf(buf, buf_size, "%u %u %u", (unsigned)rr->usage,
	    (unsigned)rr->selector, (unsigned)rr->mtype);
	return buf;
}

int
tlsa_rr_is_bare_ta(const struct tlsa_rr *rr)
{
	return rr->usage == TLSA_USAGE_DANE_TA &&
	    rr->selector == TLSA_SELECTOR_SPKI && rr->mtype == TLSA_MTYPE_FULL;
}

char *
tlsa_rrset_summary(const struct tlsa_rrset *set, char *buf, size_t buf_size)
{
	static const char hex[] = "0123456789abcdef";
	char one[48];
	size_t i, j, k, len, pos = 0;
	const struct tlsa_rr *rr;

	if (buf_size == 0)
		return buf;
	buf[0] = '\0';
	if (set == NULL || set->n == 0) {
		snprintf(buf, buf_size, "none");
		return buf;
	}
	for (i = 0; i < set->n && i < TLSA_SUMMARY_RECORDS; i++) {
		rr = &set->rr[i];
		k = (size_t)snprintf(one, sizeof(one), "%s%u %u %u%s",
		    i > 0 ? "," : "", (unsigned)rr->usage,
		    (unsigned)rr->selector, (unsigned)rr->mtype,
		    rr->len > 0 ? " " : "");
		for (j = 0; j < rr->len && j < TLSA_SUMMARY_BYTES; j++) {
			one[k++] = hex[rr->data[j] >> 4];
			one[k++] = hex[rr->data[j] & 0x0f];
		}
		if (rr->len > TLSA_SUMMARY_BYTES) {
			memcpy(one + k, "\xe2\x80\xa6", 3);	/* "…" */
			k += 3;
		}
		one[k] = '\0';
		len = strlen(one);
		if (pos + len >= buf_size)
			return buf;	/* cut between records */
		memcpy(buf + pos, one, len);
		pos += len;
		buf[pos] = '\0';
	}
	if (set->n > TLSA_SUMMARY_RECORDS && pos + 1 < buf_size)
		snprintf(buf + pos, buf_size - pos, ",+%zu more",
		    set->n - TLSA_SUMMARY_RECORDS);
	return buf;
}
