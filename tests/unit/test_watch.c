/* test_watch.c — reload_on_change's watch on a real event loop and real
 * files in a temp dir: a Kubernetes-style ..data swap calls back once; an
 * event on an unrelated name does not; a change made after watch_mark and
 * before a re-arm still calls back; the configuration file written calls
 * back; reload_on_change = no frees the watch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "err.h"
#include "tap.h"
#include "watch.h"

static struct event_base *base;
static char dir[64];
static int calls;

static void
changed_cb(void *arg)
{
	calls++;
	event_base_loopbreak(base);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(base);
}

/* Runs the loop until the callback or ms pass; returns the calls made. */
static int
run_for(unsigned ms)
{
	struct event *t = evtimer_new(base, timeout_cb, NULL);
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int before = calls;

	evtimer_add(t, &tv);
	event_base_dispatch(base);
	event_free(t);
	return calls - before;
}

static void
put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0)
		printf("# cannot write %s: %s\n", path, strerror(errno));
}

/* Runs the shell command cmd with every "%D" replaced by the temp dir. */
static int
sh(const char *cmd)
{
	char buf[1024];
	size_t n = 0, dl = strlen(dir);

	for (; *cmd != '\0' && n + dl + 1 < sizeof(buf); cmd++) {
		if (cmd[0] == '%' && cmd[1] == 'D') {
			memcpy(buf + n, dir, dl);
			n += dl;
			cmd++;
		} else {
			buf[n++] = *cmd;
		}
	}
	buf[n] = '\0';
	return system(buf);
}

/* A configuration naming dir/secret/cert.pem and key.pem, read from
 * dir/dp.ini (which it names as its own file). */
static struct conf *
load(const char *on)
{
	char text[1024], path[256];
	struct conf *c = NULL;

	snprintf(text, sizeof(text),
	    "[global]\nreload_on_change = %s\n"
	    "[dns]\nmode = resolver-ad\nresolvers = 127.0.0.1:53\n"
	    "[server s]\nlisten = 127.0.0.1:0\ncert = %s/secret/cert.pem\n"
	    "key = %s/secret/key.pem\nupstream = 127.0.0.1:1\nallow = *\n",
	    on, dir, dir);
	put("dp.ini", text);
	snprintf(path, sizeof(path), "%s/dp.ini", dir);
	if (conf_load_mem(path, text, strlen(text), stderr, &c) != DP_OK)
		return NULL;
	return c;
}

static void
test_watch(void)
{
	struct watch *w = NULL;
	struct conf *c, *off;

	snprintf(dir, sizeof(dir), "/tmp/dpwatch.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	sh("mkdir -p %D/secret/..v1 && echo a >%D/secret/..v1/cert.pem && "
	    "echo a >%D/secret/..v1/key.pem && ln -s ..v1 %D/secret/..data");
	sh("ln -s ..data/cert.pem %D/secret/cert.pem && "
	    "ln -s ..data/key.pem %D/secret/key.pem");
	if (!ok((c = load("yes")) != NULL, "the configuration loads"))
		return;
	is_int(watch_set(&w, base, c, changed_cb, NULL), DP_OK,
	    "watch_set: reload_on_change = yes");
	ok(w != NULL, "... makes a watch");

	/* A neighbour's file in a watched directory: not ours. */
	put("secret/unrelated.txt", "x");
	is_int(run_for(1200), 0, "a file of another name written: no callback");

	/* The kubelet's swap: a new version, ..data renamed over. */
	sh("mkdir %D/secret/..v2 && echo bb >%D/secret/..v2/cert.pem && "
	    "echo bb >%D/secret/..v2/key.pem && ln -s ..v2 %D/secret/..tmp");
	sh("mv -T %D/secret/..tmp %D/secret/..data && rm -rf %D/secret/..v1");
	is_int(run_for(3000), 1, "..data swapped: one callback");
	is_int(run_for(1000), 0, "... and no second one");

	/* A change made while a reload read the files (after watch_mark,
	 * before the re-arm) still calls back. */
	watch_mark(w);
	sh("cp %D/secret/..v2/cert.pem %D/secret/..v2/c.new && "
	    "echo ccc >>%D/secret/..v2/c.new && "
	    "mv %D/secret/..v2/c.new %D/secret/..v2/cert.pem");
	is_int(watch_set(&w, base, c, changed_cb, NULL), DP_OK,
	    "watch_set again (a reload ended)");
	is_int(run_for(3000), 1, "... a change made meanwhile: a callback");

	/* The configuration file itself, saved in place. */
	put("dp.ini", "; edited\n");
	is_int(run_for(3000), 1, "the configuration file written: a callback");

	if (ok((off = load("no")) != NULL, "a configuration with no")) {
		is_int(watch_set(&w, base, off, changed_cb, NULL), DP_OK,
		    "watch_set: reload_on_change = no");
		ok(w == NULL, "... frees the watch");
		conf_free(off);
	}
	watch_free(w);
	conf_free(c);
	sh("rm -rf %D");
}

int
main(void)
{
	if ((base = event_base_new()) == NULL)
		return 1;
	test_watch();
	event_base_free(base);
	return done_testing();
}
