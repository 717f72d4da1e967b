/* watch.c — see watch.h. */
#include "watch.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "util.h"

#define WATCH_DEBOUNCE_MS 500	/* quiet time after the last event */
#define WATCH_SETTLE_MAX_MS 5000	/* a busy directory delays no longer */
#define WATCH_LINKS_MAX 16	/* symbolic links followed from one path */
#define WATCH_STEPS_MAX 1024	/* paths looked at per arming, all files */
#define WATCH_DIRS_MAX 512	/* inotify watches per arming */
#define WATCH_NAMES_MAX 1024	/* names that matter; beyond, every name does */
#define WATCH_READS_MAX 8	/* reads of the inotify fd per callback */
#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
	IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

/* What a path resolved to. */
struct wstate {
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct wfile {
	char *path;		/* as the configuration names it */
	struct wstate seen;	/* when last looked at */
};

struct watch {
	struct event_base *base;
	watch_cb *cb;
	void *arg;
	int fd;			/* inotify, -1 before arming */
	struct event *ev;	/* fd readable */
	struct event *timer;	/* the debounce */
	uint64_t first_ms;	/* first event not yet checked, 0: none */
	struct wfile *files;
	size_t n_files;
	/* Last components of the paths met while arming: an event on another
	 * name in a watched directory (the editor's swap file, a neighbour's
	 * log) is not ours. */
	char **names;
	size_t n_names;
	int all_names;		/* too many, or out of memory: every name matters */
	unsigned steps, dirs;	/* spent while arming */
};

/* ---- state ---------------------------------------------------------------- */

static struct wstate
state_of(const char *path)
{
	struct wstate s;
	struct stat st;

	memset(&s, 0, sizeof(s));
	if (stat(path, &st) != 0)
		return s;
	s.exists = 1;
	s.dev = st.st_dev;
	s.ino = st.st_ino;
	s.size = st.st_size;
	s.mtime = st.st_mtim;
	return s;
}

static int
state_equal(const struct wstate *a, const struct wstate *b)
{
	if (!a->exists || !b->exists)
		return a->exists == b->exists;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* ---- arming --------------------------------------------------------------- */

static void
names_clear(struct watch *w)
{
	while (w->n_names > 0)
		free(w->names[--w->n_names]);
	free(w->names);
	w->names = NULL;
	w->all_names = 0;
}

static void
name_add(struct watch *w, const char *name)
{
	char **v;
	size_t i;

	if (w->all_names)
		return;
	for (i = 0; i < w->n_names; i++)
		if (strcmp(w->names[i], name) == 0)
			return;
	if (w->n_names == WATCH_NAMES_MAX ||
	    (v = realloc(w->names, (w->n_names + 1) * sizeof(*v))) == NULL) {
		w->all_names = 1;
		return;
	}
	w->names = v;
	if ((v[w->n_names] = strdup(name)) == NULL) {
		w->all_names = 1;
		return;
	}
	w->n_names++;
}

static int
name_matters(const struct watch *w, const char *name)
{
	size_t i;

	if (w->all_names)
		return 1;
	for (i = 0; i < w->n_names; i++)
		if (strcmp(w->names[i], name) == 0)
			return 1;
	return 0;
}

static void
dir_add(struct watch *w, int fd, const char *dir)
{
	if (w->dirs == WATCH_DIRS_MAX) {
		if (w->dirs++ == WATCH_DIRS_MAX)
			log_warn("reload_on_change: more than %d directories "
			    "to watch; some changes may go unnoticed",
			    WATCH_DIRS_MAX);
		return;
	}
	if (inotify_add_watch(fd, dir, WATCH_MASK) < 0) {
		/* A directory that is missing now: the path's state says
		 * so, and its parent's events lead to a new arming. */
		if (errno == ENOSPC)
			log_warn("reload_on_change: cannot watch %s: the "
			    "inotify watch limit is reached "
			    "(fs.inotify.max_user_watches)", dir);
		else
			log_debug("reload_on_change: cannot watch %s: %s", dir,
			    strerror(errno));
		return;
	}
	w->dirs++;
}

/* Watches the directory holding path and, through chain_watch() again, the
 * directory holding every symbolic link met while resolving path: in its
 * directory part and as its last component. Records each last component
 * as a name that matters. depth counts the links followed. */
static void
chain_watch(struct watch *w, int fd, const char *path, int depth)
{
	char dir[PATH_MAX], next[PATH_MAX];
	const char *slash = strrchr(path, '/'), *base;
	struct stat st;
	size_t dlen, i;
	ssize_t n;

	if (depth > WATCH_LINKS_MAX || w->steps++ >= WATCH_STEPS_MAX)
		return;
	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else {
		dlen = slash == path ? 1 : (size_t)(slash - path);
		if (dlen >= sizeof(dir))
			return;
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
		base = slash + 1;
	}
	if (base[0] != '\0')
		name_add(w, base);
	/* Links in the directory part ("..data" in "/s/..data/cert.pem"):
	 * each prefix ending before a '/', then the whole directory. */
	dlen = strlen(dir);
	for (i = 1; i <= dlen && slash != NULL; i++) {
		if (i < dlen && dir[i] != '/')
			continue;
		memcpy(next, dir, i);
		next[i] = '\0';
		if (lstat(next, &st) == 0 && S_ISLNK(st.st_mode))
			chain_watch(w, fd, next, depth + 1);
	}
	dir_add(w, fd, dir);
	if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode))
		return;
	if ((n = readlink(path, next, sizeof(next) - 1)) <= 0 ||
	    (size_t)n >= sizeof(next) - 1)
		return;
	next[n] = '\0';
	if (next[0] != '/') {
		/* Relative to the link's directory. */
		char rel[PATH_MAX];

		memcpy(rel, next, (size_t)n + 1);
		if (snprintf(next, sizeof(next), "%s/%s", dir, rel) >=
		    (int)sizeof(next))
			return;
	}
	chain_watch(w, fd, next, depth + 1);
}

static void watch_read_cb(evutil_socket_t fd, short what, void *arg);

/* Sets up the watches for every file afresh, on a new inotify instance:
 * the old one's queue may hold events of watches that no longer apply. */
static int
arm(struct watch *w)
{
	struct event *ev = NULL;
	size_t i;
	int fd;

	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_error("reload_on_change: inotify: %s", strerror(errno));
		return DP_ERR_IO;
	}
	names_clear(w);
	w->steps = 0;
	w->dirs = 0;
	for (i = 0; i < w->n_files; i++)
		chain_watch(w, fd, w->files[i].path, 0);
	if ((ev = event_new(w->base, fd, EV_READ | EV_PERSIST, watch_read_cb,
	    w)) == NULL || event_add(ev, NULL) != 0) {
		log_error("reload_on_change: cannot add the inotify event");
		if (ev != NULL)
			event_free(ev);
		close(fd);
		return DP_ERR_NOMEM;
	}
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->fd >= 0)
		close(w->fd);
	w->ev = ev;
	w->fd = fd;
	log_debug("reload_on_change: %zu files, %u directories watched",
	    w->n_files, w->dirs);
	return DP_OK;
}

/* ---- events --------------------------------------------------------------- */

/* (Re)starts the debounce. */
static void
schedule(struct watch *w)
{
	uint64_t now = dp_now_ms(), delay = WATCH_DEBOUNCE_MS;
	struct timeval tv;

	if (w->first_ms == 0)
		w->first_ms = now;
	if (now - w->first_ms + delay > WATCH_SETTLE_MAX_MS)
		delay = now - w->first_ms >= WATCH_SETTLE_MAX_MS ? 0 :
		    WATCH_SETTLE_MAX_MS - (now - w->first_ms);
	tv = dp_ms_tv(delay);
	if (evtimer_add(w->timer, &tv) != 0)
		log_error("reload_on_change: cannot start the debounce timer");
}

static void
watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *e;
	ssize_t n, off;
	int i, relevant = 0;

	/* Bounded: what is left is read on the next turn of the loop. */
	for (i = 0; i < WATCH_READS_MAX; i++) {
		if ((n = read(fd, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_error("reload_on_change: reading inotify "
				    "events: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (off = 0; off + (ssize_t)sizeof(*e) <= n;
		    off += (ssize_t)(sizeof(*e) + e->len)) {
			e = (const struct inotify_event *)(buf + off);
			/* The queue overflowed, a watched directory went,
			 * or an event on the directory itself. */
			if ((e->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF |
			    IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) != 0 ||
			    e->len == 0 || name_matters(w, e->name))
				relevant = 1;
		}
	}
	if (relevant)
		schedule(w);
}

/* The debounce ended: arm anew, compare, and call back on a change. */
static void
watch_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	struct wstate now;
	size_t i;
	int changed = 0;

	w->first_ms = 0;
	/* Before comparing: a change from now on raises an event. On
	 * failure the old watches stay. */
	(void)arm(w);
	for (i = 0; i < w->n_files; i++) {
		now = state_of(w->files[i].path);
		if (state_equal(&now, &w->files[i].seen))
			continue;
		log_info("reload_on_change: %s %s", w->files[i].path,
		    !now.exists ? "is gone" : !w->files[i].seen.exists ?
		    "appeared" : "changed");
		w->files[i].seen = now;
		changed = 1;
	}
	if (changed)
		w->cb(w->arg);	/* last: it may free w */
}

/* ---- the files ------------------------------------------------------------ */

/* Adds path (NULL: none) once, with the state old saw it in, if it followed
 * it, else its state now. */
static int
file_add(struct watch *w, const struct watch *old, const char *path)
{
	size_t i;

	if (path == NULL || path[0] == '\0')
		return DP_OK;
	for (i = 0; i < w->n_files; i++)
		if (strcmp(w->files[i].path, path) == 0)
			return DP_OK;
	/* The array has room for every path (watch_set counts them). */
	if ((w->files[w->n_files].path = strdup(path)) == NULL)
		return DP_ERR_NOMEM;
	w->files[w->n_files].seen = state_of(path);
	for (i = 0; old != NULL && i < old->n_files; i++)
		if (strcmp(old->files[i].path, path) == 0)
			w->files[w->n_files].seen = old->files[i].seen;
	w->n_files++;
	return DP_OK;
}

static int
files_add(struct watch *w, const struct watch *old, const struct conf *c)
{
	const struct conf_server *cs;
	const struct conf_client *cc;
	size_t n = 2;
	int r;

	for (cs = c->servers; cs != NULL; cs = cs->next)
		n += 3;
	for (cc = c->clients; cc != NULL; cc = cc->next)
		n += 3;
	if ((w->files = calloc(n, sizeof(*w->files))) == NULL)
		return DP_ERR_NOMEM;
	if ((r = file_add(w, old, c->file)) != DP_OK)
		return r;
	for (cs = c->servers; cs != NULL; cs = cs->next)
		if ((r = file_add(w, old, cs->cert_file)) != DP_OK ||
		    (r = file_add(w, old, cs->key_file)) != DP_OK ||
		    (r = file_add(w, old, cs->pkix_ca_file)) != DP_OK)
			return r;
	for (cc = c->clients; cc != NULL; cc = cc->next)
		if ((r = file_add(w, old, cc->cert_file)) != DP_OK ||
		    (r = file_add(w, old, cc->key_file)) != DP_OK ||
		    (r = file_add(w, old, cc->ca_file)) != DP_OK)
			return r;
	if (c->dns.mode == DNS_MODE_VALIDATE &&
	    (r = file_add(w, old, c->dns.trust_anchor_file)) != DP_OK)
		return r;
	return DP_OK;
}

/* ---- the contract --------------------------------------------------------- */

int
watch_set(struct watch **wp, struct event_base *base, const struct conf *c,
    watch_cb *cb, void *arg)
{
	struct watch *w = NULL, *old = *wp;
	struct wstate now;
	size_t i;
	int r = DP_ERR_NOMEM;

	if (c == NULL || !c->global.reload_on_change) {
		if (old != NULL)
			log_info("reload_on_change: no longer watching");
		watch_free(old);
		*wp = NULL;
		return DP_OK;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		goto out;
	w->base = base;
	w->cb = cb;
	w->arg = arg;
	w->fd = -1;
	if ((w->timer = evtimer_new(base, watch_timer_cb, w)) == NULL)
		goto out;
	if ((r = files_add(w, old, c)) != DP_OK)
		goto out;
	if ((r = arm(w)) != DP_OK)
		goto out;
	if (old == NULL)
		log_info("reload_on_change: watching %zu files", w->n_files);
	for (i = 0; i < w->n_files; i++) {
		now = state_of(w->files[i].path);
		if (!state_equal(&now, &w->files[i].seen)) {
			schedule(w);
			break;
		}
	}
	watch_free(old);
	*wp = w;
	w = NULL;	/* transferred */
	r = DP_OK;
 out:
	if (r == DP_ERR_NOMEM)
		log_error("reload_on_change: out of memory");
	watch_free(w);
	return r;
}

void
watch_mark(struct watch *w)
{
	size_t i;

	for (i = 0; w != NULL && i < w->n_files; i++)
		w->files[i].seen = state_of(w->files[i].path);
}

void
watch_free(struct watch *w)
{
	size_t i;

	if (w == NULL)
		return;
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->timer != NULL)
		event_free(w->timer);
	if (w->fd >= 0)
		close(w->fd);
	for (i = 0; i < w->n_files; i++)
		free(w->files[i].path);
	free(w->files);
	names_clear(w);
	free(w);
}
