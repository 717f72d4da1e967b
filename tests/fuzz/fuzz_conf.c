/* fuzz_conf.c — libFuzzer target for the configuration loader (inih's reader
 * and handler, the keyword table, the value parsers, the checks across keys
 * and sections) and the -T dump.
 *
 * Any input gives either a conf and no error, or no conf and at least one
 * "fuzz.ini:LINE: ..." line; never a crash or a leak. A conf that loads dumps
 * to a text that loads again and dumps identically (daneproxy -T is a valid
 * configuration meaning the same). Certificates and keys are only recorded
 * as paths, never opened. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME "fuzz.ini"

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* Loads len bytes at buf; *errs receives what conf_load_mem reported. */
static int
load(const char *buf, size_t len, struct conf **c, char **errs)
{
	size_t errs_len = 0;
	FILE *f;
	int r;

	*errs = NULL;
	if ((f = open_memstream(errs, &errs_len)) == NULL)
		abort();
	r = conf_load_mem(FUZZ_NAME, buf, len, f, c);
	check(fclose(f) == 0);
	return r;
}

static char *
dump(const struct conf *c, size_t *len)
{
	char *s = NULL;
	FILE *f;

	if ((f = open_memstream(&s, len)) == NULL)
		abort();
	conf_dump(c, f);
	check(fclose(f) == 0);
	return s;
}

/* Every line of errs names the buffer and a line. */
static void
check_errs(const char *errs)
{
	const char *p = errs;

	check(*p != '\0');
	while (*p != '\0') {
		check(strncmp(p, FUZZ_NAME ":", sizeof(FUZZ_NAME)) == 0);
		p = strchr(p, '\n');
		check(p != NULL);
		p++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL, *again = NULL;
	char *errs = NULL, *errs2 = NULL, *d1, *d2;
	size_t d1_len = 0, d2_len = 0;
	int r;

	r = load((const char *)data, size, &c, &errs);
	check(r == DP_OK || r == DP_ERR_INVALID);
	check((r == DP_OK) == (c != NULL));
	if (r != DP_OK) {
		check_errs(errs);
		free(errs);
		return 0;
	}
	check(*errs == '\0');
	free(errs);

	d1 = dump(c, &d1_len);
	r = load(d1, d1_len, &again, &errs2);
	if (r != DP_OK) {
		fprintf(stderr, "the dump does not load again:\n%s\n%s", errs2, d1);
		abort();
	}
	d2 = dump(again, &d2_len);
	/* The first line names the file; both are FUZZ_NAME here. */
	if (d1_len != d2_len || memcmp(d1, d2, d1_len) != 0) {
		fprintf(stderr, "the dump of the dump differs:\n%s\n----\n%s", d1, d2);
		abort();
	}
	free(d1);
	free(d2);
	free(errs2);
	conf_free(again);
	conf_free(c);
	return 0;
}
