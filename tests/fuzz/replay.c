/* replay.c — runs a libFuzzer target over its stored corpus without
 * libFuzzer, as a TAP test: one test point per input file (the target aborts
 * on a broken invariant, which fails the whole program under prove), plus
 * every prefix of each input, where most parser bugs live.
 * Usage: test_fuzz_X CORPUS_DIR (default: $DP_SOURCE_DIR/tests/fuzz/corpus/fuzz_X). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

#define REPLAY_MAX_INPUT (1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	static unsigned char buf[REPLAY_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	size_t n, i;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 0; i <= n; i++) {
		/* A copy of exactly i bytes, so ASan sees any over-read. */
		unsigned char *copy = malloc(i ? i : 1);
		if (copy == NULL)
			return -1;
		memcpy(copy, buf, i);
		LLVMFuzzerTestOneInput(copy, i);
		free(copy);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char dir[4096], path[8192];
	const char *src = getenv("DP_SOURCE_DIR");
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	struct dirent *de;
	DIR *d;

	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
		    src != NULL ? src : ".", strncmp(name, "test_", 5) == 0 ? name + 5 : name);
	if ((d = opendir(dir)) == NULL) {
		printf("1..0 # SKIP no corpus at %s (set DP_SOURCE_DIR)\n", dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ok(replay_file(path) == 0, "%s and its prefixes", de->d_name);
	}
	closedir(d);
	return done_testing();
}
