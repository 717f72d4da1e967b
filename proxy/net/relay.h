/* relay.h — moves bytes both ways between two connected sockets, either of
 * them TLS (an SSL object whose handshake is done), without bufferevents:
 * reads of up to RELAY_BUF bytes go out as one write, so a TLS side gets
 * full-size records (16 KiB) and a bulk transfer costs one read and one
 * write per 16 KiB each way.
 *
 * - Back-pressure: one buffer per direction; a side is not read while the
 *   bytes read from it wait to be written.
 * - Memory: a direction's buffer exists only while it holds bytes; the SSL
 *   objects get SSL_MODE_RELEASE_BUFFERS. An idle connection holds none.
 * - Half-close: EOF from one side (FIN, or close_notify, or a TLS peer's
 *   plain FIN) is passed on once everything before it is written: TCP FIN,
 *   or close_notify then FIN.
 * - Events: one edge-triggered event per socket, registered once; reads and
 *   writes are tried at once and wait for an edge only after EAGAIN.
 * - An idle timeout. */
#ifndef DP_RELAY_H
#define DP_RELAY_H

#include <stdint.h>

#include <event2/util.h>
#include <openssl/ssl.h>

struct event;
struct event_base;

#define RELAY_BUF (16 * 1024)	/* one TLS record's worth */

struct relay_stats {
	uint64_t a_to_b;		/* bytes read from a, written or queued to b */
	uint64_t b_to_a;
};

/* Called once when the relay ends: reason is "closed" (both sides finished),
 * "idle timeout", "<side> reset" or "<side> error: …" / "<side> TLS error:
 * …"; the sockets and SSL objects are untouched and the caller's again. */
typedef void (*relay_done_cb)(void *arg, const struct relay_stats *st,
    const char *reason);

/* One side: a connected non-blocking socket, with ssl when it speaks TLS
 * (SSL_set_fd'd to fd, handshake done). name ("client", "upstream") appears
 * in reasons. Not owned by the relay. */
struct relay_end {
	evutil_socket_t fd;
	SSL *ssl;
	const char *name;
};

struct relay;

/* Starts relaying between a and b. Bytes a TLS side's SSL object already
 * holds are relayed on the event loop's first iteration (registering the
 * sockets reports them writable, which runs the first pumps), not within
 * this call. Returns DP_OK or DP_ERR_NOMEM. */
int relay_start(struct event_base *base, const struct relay_end *a,
    const struct relay_end *b, unsigned idle_timeout_ms, relay_done_cb done,
    void *arg, struct relay **out);

/* Stops relaying (no callback) and frees the relay; accepts NULL. */
void relay_free(struct relay *r);

/* Counters so far. */
const struct relay_stats *relay_stats(const struct relay *r);



/* The idle timeout of both relays, one timer each, re-armed lazily rather
 * than reset on every read: 1 when idle_ms have passed since last_active
 * (dp_now_ms() time), else 0 with ev re-armed for the rest. */
int relay_idle_expired(struct event *ev, uint64_t last_active,
    unsigned idle_ms);

#endif
