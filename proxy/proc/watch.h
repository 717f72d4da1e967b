/* watch.h — reload_on_change: the master learns through inotify that a
 * file its configuration names now holds something else, and calls back
 * once the change has settled, to reload as SIGHUP does.
 *
 * The files: the configuration file itself; each [server]'s cert, key and
 * pkix_ca_file; each [client]'s cert, key and ca_file; [dns]
 * trust_anchor_file (mode = validate). "Changed" means that the path now
 * resolves (through any symbolic links) to a file of another device, inode,
 * size or modification time than when last looked at, or that it appeared
 * or disappeared.
 *
 * Kubernetes updates a mounted secret by replacing a "..data" symbolic link
 * to a timestamped directory (cert.pem -> ..data/cert.pem, ..data ->
 * ..2026_11_30_...); an editor writes a temporary file and renames it over
 * the old one. Neither touches the old file, so inotify watches not the
 * files but the directory holding each path and every directory holding a
 * symbolic link met while resolving it, and every event there on a name
 * that matters starts (or restarts) a 500 ms debounce: the many steps of one
 * update cause one reload. Events never delay the check by more than 5 s.
 * After each check the watches are set up anew, since the links may now
 * lead elsewhere. */
#ifndef DP_WATCH_H
#define DP_WATCH_H

#include <event2/event.h>

#include "conf.h"

struct watch;

/* Called on the event loop when a watched file changed (each changed file
 * has been logged). It may free the watch (watch_set, watch_free). */
typedef void watch_cb(void *arg);

/* Makes *wp follow the files c names, on base, calling cb(arg) when one
 * changes; when c is NULL or c->global.reload_on_change is off, frees *wp
 * and sets it to NULL. A file *wp followed already keeps the state it was
 * last seen in (watch_mark): if it differs now, cb is called after the
 * debounce, so that a change made while a reload read the files is not lost.
 * Returns DP_OK; or an error (logged), *wp left as it was. */
int watch_set(struct watch **wp, struct event_base *base, const struct conf *c,
    watch_cb *cb, void *arg);

/* Records the state of every followed file now: a reload is about to read
 * them. Accepts NULL. */
void watch_mark(struct watch *w);

/* Stops watching and frees w; accepts NULL. */
void watch_free(struct watch *w);

#endif
