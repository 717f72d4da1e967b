/* dp-testclient.c — a TLS test client for daneproxy's integration tests and
 * benchmarks.
 *
 * It connects, optionally presents a client certificate and the dane_clientid
 * extension (SPEC §1) — well-formed or deliberately malformed bytes — sends a
 * request, reads the answer and prints one key=value line per connection:
 *
 *   result=ok|alert|error alert=N|none sent_alert=N|none connect_ms=X
 *   handshake_ms=X total_ms=X bytes_read=N server_asked_clientid=0|1
 *   server_asked_chain=0|1 request_form=none|empty|00|bad
 *   version=TLSv1.3|none alpn=P|none tickets=N
 *   end=none|close_notify|eof|timeout|bytes|error reason="..."
 *
 * tickets counts the session tickets (TLS 1.3 NewSessionTicket) the server
 * sent; they are never used (every connection is a full handshake).
 *
 * followed, unless --quiet or --output, by "data: " and the bytes read
 * (escaped). alert is what the server sent (close_notify excluded); any such
 * alert makes result=alert. handshake_ms is 0 when the handshake did not
 * complete. request_form is what the server put in its CertificateRequest
 * (or legacy ServerHello): "empty" zero bytes, "00" the one-byte form.
 * server_asked_clientid is always 0 with --no-clientid: nothing listens.
 *
 * --dnssec-chain FILE staples a DNSSEC chain (RFC 9102's extension data,
 * as tests/tools/dp-chain.c builds it, sent as the file's bytes whatever
 * they are) in the leaf CertificateEntry, in an extension of type
 * --chain-type (default 0xffdd) beside dane_clientid. As with dane_clientid,
 * the server asks by sending that extension (empty) in its
 * CertificateRequest, and OpenSSL sends ours only then:
 * server_asked_chain=1 says it did (always 0 without --dnssec-chain).
 * (--chain is the client certificate's chain, as before.)
 *
 * In TLS 1.3 the client finishes its handshake before the server has judged
 * the client certificate, so a rejection (handshake_failure, 40) only shows on
 * the first read; an info callback records every alert the server sends, at
 * whatever moment it arrives.
 *
 * Plain blocking-style I/O on non-blocking sockets with poll() deadlines: it
 * is a test tool, one connection at a time per process; --parallel forks.
 *
 * Load mode (--load N): one process keeps N connections in flight, each a
 * state machine (TCP connect, SSL_connect, SSL_write, SSL_read) on a
 * non-blocking socket driven by epoll. Each is a full handshake, set up by
 * the same code as above (same SSL_CTX, same callbacks, the extension sent
 * the same way); it sends --send, reads the answer, repeats that
 * --keepalive times, closes, and the slot starts the next connection at
 * once. New connections start for --duration seconds or until --count have
 * started; those in flight then finish. An answer ends after --read-bytes,
 * else with --keepalive > 1 by its HTTP framing (Content-Length, chunked,
 * or none), else at EOF (close_notify or not); an EOF before the end the
 * first two expect is a failure. --timeout-ms bounds the connect, the
 * handshake and each request with its answer; a connection that reaches
 * it, like one that ends in an alert or an error, is counted as failed, not
 * fatal. No per-connection lines; at the end one line:
 *
 *   load conns=N done=D failed=F alert=A error=E timeout=T requests=R
 *   secs=S rate=R/s hs_p50_ms=X hs_p99_ms=X total_p50_ms=X total_p99_ms=X
 *   req_p50_ms=X req_p99_ms=X
 *
 * conns is N; done the connections that ended ok, failed = alert + error +
 * timeout (timeout: errors that were a deadline); requests the answers
 * received; secs from the start to the last connection's end; rate =
 * done / secs. Latencies (ms, nearest rank, "none" without samples): hs
 * from connect() to SSL_connect done, total from connect() to the last
 * answer, both over the connections that ended ok; req from a request's
 * first byte written to its answer's end, over every answer. At most 2^20
 * samples per kind are kept (a uniform reservoir beyond). Then one line
 * per distinct reason of failure (the first 8 reasons; "other" counts the
 * rest):
 *
 *   failure count=N result=alert|error|other reason="..."
 *
 * The exit status follows the same rule, over every connection.
 *
 * Exit status: 0 all ok, 1 some alert (no error), 2 some error; with
 * --expect R: 0 iff every connection had result R, else 1. 3 for usage or
 * setup failures (bad option, unreadable key). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "clientid.h"
#include "err.h"
#include "http1.h"
#include "util.h"

#define TC_EXIT_OK	0
#define TC_EXIT_ALERT	1
#define TC_EXIT_ERROR	2
#define TC_EXIT_USAGE	3

#define TC_HOST_MAX	256
#define TC_REASON_MAX	256
#define TC_DATA_MAX	(64u * 1024 * 1024)	/* kept for printing/--output */
#define TC_CHAIN_DEFAULT_TYPE 0xffdd	/* the DNSSEC chain extension's type */

enum tc_result { TC_OK, TC_ALERT, TC_ERROR };

static const char *const tc_result_names[] = { "ok", "alert", "error" };

/* How the dane_clientid extension is handled. */
enum tc_idmode {
	TC_ID_NONE,	/* --no-clientid (or nothing given): register nothing */
	TC_ID_TLS13,	/* answer a CertificateRequest in the leaf entry */
	TC_ID_LEGACY,	/* --clientid-legacy: send in ClientHello (TLS 1.2 form) */
};

/* Options, parsed once; read-only after setup. */
struct tc_opts {
	char host[TC_HOST_MAX];		/* --connect host part */
	char port[8];			/* --connect port part, decimal */
	const char *servername;		/* SNI and host check; NULL: derived */
	const char *cafile;		/* server trust anchors */
	int insecure;			/* skip server verification */
	const char *cert, *key, *chain;	/* client certificate */
	enum tc_idmode idmode;
	unsigned char *ext_data;	/* extension_data to send (owned) */
	int ext_random;			/* '#' in it: a random hex digit each */
	size_t ext_len;
	unsigned int ext_type;		/* code point, default 0xffdc */
	unsigned char *chain_data;	/* --dnssec-chain's bytes (owned), or NULL */
	size_t chain_len;
	unsigned int chain_type;	/* its code point, default 0xffdd */
	int tls_version;		/* 0 any, TLS1_2_VERSION, TLS1_3_VERSION */
	unsigned char *alpn;		/* wire format (owned), NULL if none */
	size_t alpn_len;
	unsigned char *send;		/* bytes to send (owned), NULL if none */
	size_t send_len;
	size_t read_bytes;		/* stop after this many; 0: until EOF */
	int timeout_ms;			/* connect, handshake, each read */
	unsigned int parallel;		/* 0: no fork */
	unsigned int repeat;		/* connections per process */
	unsigned int load;		/* connections in flight; 0: no load */
	double duration_ms;		/* --load: start new ones this long */
	unsigned long count;		/* --load: start this many; 0: no cap */
	unsigned int keepalive;		/* --load: requests per connection */
	int quiet;			/* no data: lines */
	const char *output;		/* raw bytes read go here (appended) */
	int expect;			/* -1 or an enum tc_result */
};

/* Per-connection state, reachable from OpenSSL callbacks via app data. */
struct tc_conn {
	int alert;			/* last non-close_notify alert read, -1 */
	int close_notify;		/* server sent close_notify */
	int sent_alert;			/* alert we sent, -1 */
	int server_asked;		/* extension seen in CR / ServerHello */
	int server_asked_chain;		/* chain extension seen in CR */
	int server_hello;		/* a ServerHello arrived */
	const char *request_form;	/* "none", "empty", "00", "bad" */
	int tickets;			/* session tickets received */
};

/* What one connection did. */
struct tc_outcome {
	enum tc_result result;
	int alert;			/* read from the server, -1 none */
	int sent_alert;			/* sent by us, -1 none */
	double connect_ms, handshake_ms, total_ms;
	size_t bytes_read;
	int server_asked;
	int server_asked_chain;
	int tickets;
	const char *request_form;
	char version[16];
	char alpn[64];
	const char *end;		/* how reading ended */
	char reason[TC_REASON_MAX];
	unsigned char *data;		/* bytes read, if kept (owned) */
	size_t data_len;
};

static double
tc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void
tc_reason(struct tc_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets the reason once: the first cause is the interesting one. */
static void
tc_reason(struct tc_outcome *o, const char *fmt, ...)
{
	va_list ap;

	if (o->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

/* Reason from the OpenSSL error queue (the last error is the most specific),
 * falling back to what. Clears the queue. */
static void
tc_reason_ssl(struct tc_outcome *o, const char *what)
{
	unsigned long e, last = 0;
	char buf[200];

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last != 0) {
		ERR_error_string_n(last, buf, sizeof(buf));
		tc_reason(o, "%s: %s", what, buf);
	} else if (errno != 0) {
		tc_reason(o, "%s: %s", what, strerror(errno));
	} else {
		tc_reason(o, "%s", what);
	}
}

/* ---------------------------------------------------------------------- */
/* The dane_clientid extension.                                            */

static int
tc_ext_add(SSL *s, unsigned int ext_type, unsigned int context,
    const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
    int *al, void *add_arg)
{
	const struct tc_opts *o = add_arg;

	/* Only the leaf CertificateEntry carries the name (SPEC §1); OpenSSL
	 * calls us for every entry of the chain. 0 means "do not add". */
	if (context == SSL_EXT_TLS1_3_CERTIFICATE && chainidx != 0)
		return 0;
	if (context != SSL_EXT_TLS1_3_CERTIFICATE &&
	    context != SSL_EXT_CLIENT_HELLO)
		return 0;
	if (o->ext_random) {
		/* --clientid with '#': a fresh name per connection (many distinct
		 * names from one process, for cache and allowlist floods).
		 * OpenSSL copies the bytes before the next call. */
		static unsigned char buf[256];
		static pid_t seeded;	/* --parallel forks: seed each process */
		size_t i;

		if (seeded != getpid()) {
			seeded = getpid();
			srand((unsigned)seeded ^ (unsigned)time(NULL));
		}
		memcpy(buf, o->ext_data, o->ext_len);
		for (i = 1; i < o->ext_len; i++)
			if (buf[i] == '#')
				buf[i] = (unsigned char)"0123456789abcdef"[rand() & 15];
		*out = buf;
	} else
		*out = o->ext_data;
	*outlen = o->ext_len;
	return 1;
}

static int
tc_ext_parse(SSL *s, unsigned int ext_type, unsigned int context,
    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
    int *al, void *parse_arg)
{
	struct tc_conn *c = SSL_get_app_data(s);

	if (c == NULL)
		return 1;
	c->server_asked = 1;
	/* Record the form rather than refuse it: a test wants to see what the
	 * server sent. Both the zero-byte and the {0x00} form are valid. */
	if (clientid_parse_request(in, inlen) != DP_OK)
		c->request_form = "bad";
	else
		c->request_form = inlen == 0 ? "empty" : "00";
	return 1;
}

/* ---------------------------------------------------------------------- */
/* The stapled DNSSEC chain extension.                                     */

static int
tc_chain_add(SSL *s, unsigned int ext_type, unsigned int context,
    const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
    int *al, void *add_arg)
{
	const struct tc_opts *o = add_arg;

	/* The leaf CertificateEntry only, as dane_clientid; OpenSSL calls us
	 * in a Certificate only when the CertificateRequest carried it. */
	if (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0)
		return 0;
	*out = o->chain_data;
	*outlen = o->chain_len;
	return 1;
}

static int
tc_chain_parse(SSL *s, unsigned int ext_type, unsigned int context,
    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
    int *al, void *parse_arg)
{
	struct tc_conn *c = SSL_get_app_data(s);

	/* Any bytes the server put there: a test wants to see the ask. */
	if (c != NULL && context == SSL_EXT_TLS1_3_CERTIFICATE_REQUEST)
		c->server_asked_chain = 1;
	return 1;
}

/* SSL_CB_READ_ALERT and SSL_CB_WRITE_ALERT share the SSL_CB_ALERT bit, so
 * "where & SSL_CB_READ_ALERT" is also true for alerts we send: test the
 * direction bit separately. */
static void
tc_info_cb(const SSL *s, int where, int ret)
{
	struct tc_conn *c = SSL_get_app_data(s);
	int desc = ret & 0xff;

	if (c == NULL || (where & SSL_CB_ALERT) == 0)
		return;
	if (where & SSL_CB_READ) {
		if (desc == SSL3_AD_CLOSE_NOTIFY)
			c->close_notify = 1;
		else
			c->alert = desc;
	} else if (desc != SSL3_AD_CLOSE_NOTIFY) {
		c->sent_alert = desc;
	}
}

/* Notes the ServerHello, so a version is only reported once negotiated
 * (before that SSL_get_version() shows the client's maximum). */
static void
tc_msg_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *s, void *arg)
{
	struct tc_conn *c = arg;

	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_SERVER_HELLO)
		c->server_hello = 1;
}

/* OpenSSL 3.0's SSL_alert_desc_string_long() predates the TLS 1.3 alerts. */
static const char *
tc_alert_name(int desc)
{
	switch (desc) {
	case 109: return "missing_extension";
	case 110: return "unsupported_extension";
	case 112: return "unrecognized_name";
	case 115: return "unknown_psk_identity";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	default: return SSL_alert_desc_string_long(desc);
	}
}

/* ---------------------------------------------------------------------- */
/* Context setup (once per process, before any fork).                      */

static int
tc_load_chain(SSL_CTX *ctx, const char *file)
{
	BIO *bio = NULL;
	X509 *x = NULL;
	int n = 0, r = -1;

	if ((bio = BIO_new_file(file, "r")) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!SSL_CTX_add1_chain_cert(ctx, x))
			goto out;
		X509_free(x);
		x = NULL;
		n++;
	}
	ERR_clear_error();	/* the loop ends on a "no start line" error */
	if (n == 0) {
		fprintf(stderr, "dp-testclient: no certificate in %s\n", file);
		goto out;
	}
	r = 0;
 out:
	X509_free(x);
	BIO_free(bio);
	return r;
}

/* A session ticket arrived: counted, not kept (0: OpenSSL frees it). */
static int
tc_new_session(SSL *s, SSL_SESSION *sess)
{
	struct tc_conn *c = SSL_get_app_data(s);

	if (c != NULL)
		c->tickets++;
	return 0;
}

static SSL_CTX *
tc_ctx_new(struct tc_opts *o)
{
	SSL_CTX *ctx = NULL;
	unsigned int context;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto fail;
	/* Every connection a full handshake: tickets are counted (a server
	 * that must not resume must not issue them), never kept or used. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tc_new_session);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	/* Send exactly the chain we are given, never one OpenSSL builds from
	 * the verify store (--cafile may hold the client's CA too). */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
	if (!SSL_CTX_set_min_proto_version(ctx, o->tls_version ?
	    o->tls_version : TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, o->tls_version ?
	    o->tls_version : TLS1_3_VERSION))
		goto fail;

	if (o->cafile != NULL && !o->insecure) {
		if (!SSL_CTX_load_verify_locations(ctx, o->cafile, NULL))
			goto fail;
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}

	if (o->cert != NULL) {
		if (!SSL_CTX_use_certificate_chain_file(ctx, o->cert) ||
		    !SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) ||
		    !SSL_CTX_check_private_key(ctx))
			goto fail;
		if (o->chain != NULL && tc_load_chain(ctx, o->chain) != 0)
			goto fail;
	}

	if (o->alpn != NULL &&
	    SSL_CTX_set_alpn_protos(ctx, o->alpn, (unsigned int)o->alpn_len) != 0)
		goto fail;

	if (o->idmode != TC_ID_NONE) {
		if (o->idmode == TC_ID_TLS13)
			context = SSL_EXT_TLS1_3_CERTIFICATE_REQUEST |
			    SSL_EXT_TLS1_3_CERTIFICATE;
		else
			context = SSL_EXT_CLIENT_HELLO |
			    SSL_EXT_TLS1_2_SERVER_HELLO;
		if (!SSL_CTX_add_custom_ext(ctx, o->ext_type, context,
		    tc_ext_add, NULL, o, tc_ext_parse, NULL)) {
			fprintf(stderr, "dp-testclient: OpenSSL refuses custom "
			    "extension type 0x%04x (handled internally?)\n",
			    o->ext_type);
			goto fail;
		}
	}
	if (o->chain_data != NULL &&
	    !SSL_CTX_add_custom_ext(ctx, o->chain_type,
	    SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE,
	    tc_chain_add, NULL, o, tc_chain_parse, NULL)) {
		fprintf(stderr, "dp-testclient: OpenSSL refuses custom "
		    "extension type 0x%04x (handled internally, or the "
		    "dane_clientid type?)\n", o->chain_type);
		goto fail;
	}
	return ctx;
 fail:
	ERR_print_errors_fp(stderr);
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* One connection.                                                         */

/* Waits until fd is ready for events, at most ms. Returns 0 ready, -1 on
 * timeout (errno ETIMEDOUT) or poll failure. */
static int
tc_wait(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, ms);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

/* Connects a non-blocking TCP socket to host:port within timeout_ms, trying
 * every address. Returns the fd or -1 with the reason set. */
static int
tc_connect(const struct tc_opts *o, struct tc_outcome *out)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, e, soerr, one = 1;
	socklen_t sl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		tc_reason(out, "resolve %s: %s", o->host, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS &&
		    tc_wait(fd, POLLOUT, o->timeout_ms) == 0) {
			sl = sizeof(soerr);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0)
				break;
			errno = soerr;
		}
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd < 0)
		tc_reason(out, "connect %s:%s: %s", o->host, o->port,
		    strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/* After an SSL_* call returned ret <= 0: waits for the socket when OpenSSL
 * wants I/O (0: retry the call), else returns the SSL_get_error() code. */
static int
tc_ssl_retry(SSL *ssl, int fd, int ret, int ms)
{
	int err = SSL_get_error(ssl, ret);

	if (err == SSL_ERROR_WANT_READ)
		return tc_wait(fd, POLLIN, ms) == 0 ? 0 : -1;
	if (err == SSL_ERROR_WANT_WRITE)
		return tc_wait(fd, POLLOUT, ms) == 0 ? 0 : -1;
	return err;
}

static int
tc_is_ip(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

static void
tc_keep(struct tc_outcome *out, const unsigned char *buf, size_t n)
{
	unsigned char *p;

	if (out->data_len + n > TC_DATA_MAX)
		n = TC_DATA_MAX - out->data_len;
	if (n == 0)
		return;
	if ((p = realloc(out->data, out->data_len + n)) == NULL)
		return;
	memcpy(p + out->data_len, buf, n);
	out->data = p;
	out->data_len += n;
}

/* Reads until EOF, timeout, an error, or o->read_bytes. Sets out->end. */
static void
tc_read_all(const struct tc_opts *o, SSL *ssl, int fd, struct tc_outcome *out,
    int keep)
{
	unsigned char buf[16384];
	size_t want;
	int n, err;

	for (;;) {
		want = sizeof(buf);
		if (o->read_bytes > 0) {
			if (out->bytes_read >= o->read_bytes) {
				out->end = "bytes";
				return;
			}
			if (o->read_bytes - out->bytes_read < want)
				want = o->read_bytes - out->bytes_read;
		}
		ERR_clear_error();
		errno = 0;
		n = SSL_read(ssl, buf, (int)want);
		if (n > 0) {
			out->bytes_read += (size_t)n;
			if (keep)
				tc_keep(out, buf, (size_t)n);
			continue;
		}
		err = tc_ssl_retry(ssl, fd, n, o->timeout_ms);
		if (err == 0)
			continue;
		if (err < 0) {
			out->end = "timeout";
			return;
		}
		if (err == SSL_ERROR_ZERO_RETURN) {
			out->end = "close_notify";
			return;
		}
		if (err == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_last_error())
		    == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			/* TCP FIN without close_notify: tell, don't fail. */
			ERR_clear_error();
			out->end = "eof";
			return;
		}
		out->end = "error";
		tc_reason_ssl(out, "read");
		return;
	}
}

/* Writes all of o->send. Returns 0 or -1 with the reason set. */
static int
tc_write_all(const struct tc_opts *o, SSL *ssl, int fd, struct tc_outcome *out)
{
	size_t off = 0;
	int n, err, chunk;

	while (off < o->send_len) {
		chunk = o->send_len - off > 65536 ? 65536 :
		    (int)(o->send_len - off);
		ERR_clear_error();
		errno = 0;
		n = SSL_write(ssl, o->send + off, chunk);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		err = tc_ssl_retry(ssl, fd, n, o->timeout_ms);
		if (err == 0)
			continue;
		if (err < 0)
			tc_reason(out, "write: timeout");
		else
			tc_reason_ssl(out, "write");
		return -1;
	}
	return 0;
}

/* An outcome with nothing happened yet. */
static void
tc_outcome_init(struct tc_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->alert = -1;
	out->sent_alert = -1;
	out->end = "none";
	dp_strlcpy(out->version, "none", sizeof(out->version));
	dp_strlcpy(out->alpn, "none", sizeof(out->alpn));
}

/* The reason of a failed SSL_connect (not a timeout): the server's
 * certificate if that is what failed, else OpenSSL's error queue. */
static void
tc_reason_handshake(SSL *ssl, struct tc_outcome *out)
{
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		tc_reason(out, "handshake: server certificate: %s",
		    X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
	else
		tc_reason_ssl(out, "handshake");
}

/* Makes the SSL object of a connection on fd, set up alike in every mode:
 * the callbacks report into *c (which must outlive it), SNI, the host
 * check. Returns it (the caller frees it), or NULL with the reason set. */
static SSL *
tc_ssl_new(const struct tc_opts *o, SSL_CTX *ctx, int fd, struct tc_conn *c,
    struct tc_outcome *out)
{
	const char *sni = o->servername;
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd)) {
		tc_reason_ssl(out, "SSL_new");
		goto fail;
	}
	SSL_set_app_data(ssl, c);
	SSL_set_info_callback(ssl, tc_info_cb);
	SSL_set_msg_callback(ssl, tc_msg_cb);
	SSL_set_msg_callback_arg(ssl, c);
	if (sni == NULL && !tc_is_ip(o->host))
		sni = o->host;
	if (sni != NULL && !SSL_set_tlsext_host_name(ssl, sni)) {
		tc_reason_ssl(out, "SNI");
		goto fail;
	}
	if (o->cafile != NULL && !o->insecure && sni != NULL &&
	    !SSL_set1_host(ssl, sni)) {
		tc_reason_ssl(out, "host check");
		goto fail;
	}
	return ssl;
 fail:
	SSL_free(ssl);
	return NULL;
}

/* The verdict on a finished connection, from what the callbacks saw (*c),
 * whether the handshake completed, and the reason recorded so far: sets
 * out->result, alert, sent_alert and the final reason. */
static void
tc_conclude(const struct tc_conn *c, int handshake_done,
    struct tc_outcome *out)
{
	out->alert = c->alert;
	out->sent_alert = c->sent_alert;
	if (c->alert >= 0) {
		/* Whatever the read or handshake error said, the alert is the
		 * cause. */
		out->result = TC_ALERT;
		out->reason[0] = '\0';
		tc_reason(out, "server sent alert %d (%s)", c->alert,
		    tc_alert_name(c->alert));
	} else if (!handshake_done || out->reason[0] != '\0') {
		out->result = TC_ERROR;
		if (c->sent_alert >= 0)
			tc_reason(out, "we sent alert %d (%s)", c->sent_alert,
			    tc_alert_name(c->sent_alert));
		tc_reason(out, "unknown failure");
	} else {
		out->result = TC_OK;
	}
}

/* Runs one connection; fills *out (caller frees out->data). */
static void
tc_run_one(const struct tc_opts *o, SSL_CTX *ctx, struct tc_outcome *out,
    int keep)
{
	struct tc_conn c = { .alert = -1, .sent_alert = -1,
	    .request_form = "none" };
	const char *v;
	const unsigned char *alpn;
	unsigned int alpn_len;
	SSL *ssl = NULL;
	double t0, t1;
	int fd = -1, n, err, handshake_done = 0;

	tc_outcome_init(out);
	t0 = tc_now();
	if ((fd = tc_connect(o, out)) < 0)
		goto out;
	t1 = tc_now();
	out->connect_ms = t1 - t0;

	if ((ssl = tc_ssl_new(o, ctx, fd, &c, out)) == NULL)
		goto out;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_connect(ssl)) == 1)
			break;
		err = tc_ssl_retry(ssl, fd, n, o->timeout_ms);
		if (err == 0)
			continue;
		if (err < 0)
			tc_reason(out, "handshake: timeout");
		else
			tc_reason_handshake(ssl, out);
		goto out;
	}
	handshake_done = 1;
	out->handshake_ms = tc_now() - t1;
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn_len > 0 && alpn_len < sizeof(out->alpn)) {
		memcpy(out->alpn, alpn, alpn_len);
		out->alpn[alpn_len] = '\0';
	}

	/* A failed write (the server may already have rejected us and reset
	 * the connection) still goes on to read: the alert may be waiting. */
	if (o->send != NULL)
		tc_write_all(o, ssl, fd, out);
	tc_read_all(o, ssl, fd, out, keep);
	if (c.alert < 0 && !c.close_notify && out->reason[0] == '\0')
		SSL_shutdown(ssl);	/* our close_notify; do not wait */

 out:
	if (ssl != NULL && c.server_hello) {
		v = SSL_get_version(ssl);
		if (v != NULL && strcmp(v, "unknown") != 0)
			dp_strlcpy(out->version, v, sizeof(out->version));
	}
	out->server_asked = c.server_asked;
	out->server_asked_chain = c.server_asked_chain;
	out->tickets = c.tickets;
	out->request_form = c.request_form;
	tc_conclude(&c, handshake_done, out);
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	out->total_ms = tc_now() - t0;
}

/* ---------------------------------------------------------------------- */
/* Output.                                                                 */

/* Writes s[0..n) with \\, \", \r, \n, \t and \xHH escapes. */
static void
tc_escape(FILE *f, const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\': fputs("\\\\", f); break;
		case '"': fputs("\\\"", f); break;
		case '\r': fputs("\\r", f); break;
		case '\n': fputs("\\n", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (s[i] >= 0x20 && s[i] < 0x7f)
				fputc(s[i], f);
			else
				fprintf(f, "\\x%02x", s[i]);
		}
	}
}

static void
tc_print(const struct tc_opts *o, FILE *f, const struct tc_outcome *r)
{
	char alert[16], sent[16];
	int fd;

	if (r->alert >= 0)
		snprintf(alert, sizeof(alert), "%d", r->alert);
	else
		dp_strlcpy(alert, "none", sizeof(alert));
	if (r->sent_alert >= 0)
		snprintf(sent, sizeof(sent), "%d", r->sent_alert);
	else
		dp_strlcpy(sent, "none", sizeof(sent));
	fprintf(f, "result=%s alert=%s sent_alert=%s connect_ms=%.1f "
	    "handshake_ms=%.1f total_ms=%.1f bytes_read=%zu "
	    "server_asked_clientid=%d server_asked_chain=%d request_form=%s "
	    "version=%s alpn=%s tickets=%d end=%s reason=\"",
	    tc_result_names[r->result], alert, sent, r->connect_ms,
	    r->handshake_ms,
	    r->total_ms, r->bytes_read, r->server_asked,
	    r->server_asked_chain, r->request_form,
	    r->version, r->alpn, r->tickets, r->end);
	tc_escape(f, (const unsigned char *)r->reason, strlen(r->reason));
	fputs("\"\n", f);
	if (o->output != NULL) {
		/* One write per connection, appended: parallel children do
		 * not interleave inside a connection's bytes. */
		fd = open(o->output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		if (fd < 0 || (r->data_len > 0 &&
		    write(fd, r->data, r->data_len) != (ssize_t)r->data_len))
			fprintf(stderr, "dp-testclient: %s: %s\n", o->output,
			    strerror(errno));
		if (fd >= 0)
			close(fd);
	} else if (!o->quiet && r->data_len > 0) {
		fputs("data: ", f);
		tc_escape(f, r->data, r->data_len);
		fputc('\n', f);
	}
	fflush(f);
}

/* Runs o->repeat connections, printing a line for each to f; adds the
 * results to counts[]. */
static void
tc_run_many(const struct tc_opts *o, SSL_CTX *ctx, FILE *f,
    unsigned long counts[3])
{
	struct tc_outcome r;
	unsigned int i;
	int keep = o->output != NULL || !o->quiet;

	for (i = 0; i < o->repeat; i++) {
		tc_run_one(o, ctx, &r, keep);
		tc_print(o, f, &r);
		counts[r.result]++;
		free(r.data);
	}
}

static void
tc_summary(unsigned long counts[3], unsigned long conns, double elapsed_ms)
{
	double rate = elapsed_ms > 0 ? (double)conns * 1000.0 / elapsed_ms : 0;

	printf("summary ok=%lu alert=%lu error=%lu conns=%lu elapsed_ms=%.1f "
	    "rate=%.1f/s\n", counts[TC_OK], counts[TC_ALERT], counts[TC_ERROR],
	    conns, elapsed_ms, rate);
	fflush(stdout);
}

/* Counts a result line collected from a child. */
static void
tc_count_line(const char *line, size_t len, unsigned long counts[3])
{
	int i;
	size_t n;

	if (len < 7 || memcmp(line, "result=", 7) != 0)
		return;
	for (i = 0; i < 3; i++) {
		n = strlen(tc_result_names[i]);
		if (len >= 7 + n + 1 &&
		    memcmp(line + 7, tc_result_names[i], n) == 0 &&
		    line[7 + n] == ' ') {
			counts[i]++;
			return;
		}
	}
}

/* One child's pipe as the parent sees it. */
struct tc_child {
	pid_t pid;
	int fd;			/* read end, -1 once EOF */
	char *buf;		/* partial line */
	size_t len;
};

/* Forks o->parallel children released together by a barrier; relays their
 * lines to stdout and counts them. Returns 0 or -1 on a setup failure. */
static int
tc_run_parallel(const struct tc_opts *o, SSL_CTX *ctx, unsigned long counts[3])
{
	struct tc_child *ch = NULL;
	struct pollfd *pfd = NULL;
	int barrier[2] = { -1, -1 }, outp[2], status, open_fds, r = -1;
	unsigned int i, forked = 0;
	unsigned long seen, conns = (unsigned long)o->parallel * o->repeat;
	char c, tmp[8192], *nl, *p;
	ssize_t n;
	double t0;

	ch = calloc(o->parallel, sizeof(*ch));
	pfd = calloc(o->parallel, sizeof(*pfd));
	if (ch == NULL || pfd == NULL || pipe(barrier) != 0)
		goto out;
	fflush(stdout);
	for (i = 0; i < o->parallel; i++) {
		if (pipe(outp) != 0)
			goto out;
		ch[i].pid = fork();
		if (ch[i].pid < 0) {
			close(outp[0]);
			close(outp[1]);
			goto out;
		}
		if (ch[i].pid == 0) {
			unsigned long mine[3] = { 0, 0, 0 };
			FILE *f;

			close(barrier[1]);
			close(outp[0]);
			/* Wait for the parent to close the barrier's write
			 * end: EOF releases every child at once. */
			while (read(barrier[0], &c, 1) < 0 && errno == EINTR)
				;
			if ((f = fdopen(outp[1], "w")) == NULL)
				_exit(TC_EXIT_USAGE);
			tc_run_many(o, ctx, f, mine);
			fclose(f);
			_exit(mine[TC_ERROR] ? TC_EXIT_ERROR :
			    mine[TC_ALERT] ? TC_EXIT_ALERT : TC_EXIT_OK);
		}
		close(outp[1]);
		ch[i].fd = outp[0];
		forked++;
	}
	close(barrier[0]);
	barrier[0] = -1;
	t0 = tc_now();
	close(barrier[1]);
	barrier[1] = -1;

	open_fds = (int)forked;
	while (open_fds > 0) {
		for (i = 0; i < forked; i++) {
			pfd[i].fd = ch[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, forked, -1) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		for (i = 0; i < forked; i++) {
			if (pfd[i].revents == 0)
				continue;
			n = read(ch[i].fd, tmp, sizeof(tmp));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(ch[i].fd);
				ch[i].fd = -1;
				open_fds--;
				continue;
			}
			if ((p = realloc(ch[i].buf, ch[i].len + (size_t)n)) ==
			    NULL)
				goto out;
			ch[i].buf = p;
			memcpy(ch[i].buf + ch[i].len, tmp, (size_t)n);
			ch[i].len += (size_t)n;
			/* Relay whole lines only, so children never mix
			 * within a line. */
			while ((nl = memchr(ch[i].buf, '\n', ch[i].len)) !=
			    NULL) {
				size_t ll = (size_t)(nl - ch[i].buf) + 1;

				fwrite(ch[i].buf, 1, ll, stdout);
				tc_count_line(ch[i].buf, ll, counts);
				memmove(ch[i].buf, ch[i].buf + ll,
				    ch[i].len - ll);
				ch[i].len -= ll;
			}
		}
	}
	for (i = 0; i < forked; i++) {
		while (waitpid(ch[i].pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) > TC_EXIT_ERROR)
			fprintf(stderr, "dp-testclient: child %ld died "
			    "(status 0x%x)\n", (long)ch[i].pid, status);
		ch[i].pid = 0;
	}
	/* A child that died without reporting counts its connections as
	 * errors, so a crash can never look like success. */
	seen = counts[TC_OK] + counts[TC_ALERT] + counts[TC_ERROR];
	if (seen < conns)
		counts[TC_ERROR] += conns - seen;
	tc_summary(counts, conns, tc_now() - t0);
	r = 0;
 out:
	if (r != 0)
		fprintf(stderr, "dp-testclient: parallel: %s\n",
		    strerror(errno));
	for (i = 0; ch != NULL && i < o->parallel; i++) {
		if (ch[i].fd > 0)
			close(ch[i].fd);
		if (ch[i].pid > 0) {
			kill(ch[i].pid, SIGTERM);
			waitpid(ch[i].pid, &status, 0);
		}
		free(ch[i].buf);
	}
	if (barrier[0] >= 0)
		close(barrier[0]);
	if (barrier[1] >= 0)
		close(barrier[1]);
	free(ch);
	free(pfd);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Load mode: --load N connections in flight from one process.             */

#define TC_LOAD_SAMPLES_MAX	(1u << 20)	/* latencies kept per kind */
#define TC_LOAD_REASONS		8		/* distinct failure reasons kept */
#define TC_LOAD_HEAD_MAX	16384		/* an answer's HTTP head */
#define TC_LOAD_EVENTS		256		/* epoll events per wait */

/* Latencies in ms: every one up to TC_LOAD_SAMPLES_MAX, then a uniform
 * reservoir of that size (Algorithm R), so memory stays bounded and the
 * percentiles of a long run are not biased towards its start. */
struct tc_samples {
	float *v;
	size_t n;			/* kept */
	size_t cap;			/* allocated */
	uint64_t seen;			/* offered */
};

/* One distinct failure reason and how often it was the cause. */
struct tc_load_reason {
	enum tc_result result;
	unsigned long n;
	char text[TC_REASON_MAX];
};

enum tc_lstate {
	TC_L_IDLE,			/* no connection: to be started */
	TC_L_CONNECT,			/* TCP connect in progress */
	TC_L_HANDSHAKE,			/* SSL_connect */
	TC_L_WRITE,			/* SSL_write of the request */
	TC_L_READ,			/* SSL_read of the answer */
};

/* What a timeout in each state is called in its reason. */
static const char *const tc_lstate_names[] = {
	"idle", "connect", "handshake", "write", "read",
};

/* One slot of the N: a connection in flight, or idle between two. */
struct tc_lconn {
	TAILQ_ENTRY(tc_lconn) entry;	/* in busy (by deadline) or idle */
	enum tc_lstate state;
	uint32_t index;			/* in tc_load.conns */
	uint32_t gen;			/* per connection: stale epoll events */
	int fd;				/* -1 when idle */
	uint32_t events;		/* the epoll interest set */
	SSL *ssl;
	struct tc_conn c;		/* what the OpenSSL callbacks saw */
	struct tc_outcome out;		/* reason and verdict (no data kept) */
	int handshake_done;
	int timed_out;			/* the deadline passed */
	double t_start;			/* before connect() */
	double t_handshake;		/* SSL_connect done */
	double t_request;		/* the current request's first write */
	double deadline;		/* of the current phase */
	double not_before;		/* idle: not to be started before */
	unsigned int answered;		/* requests answered so far */
	size_t sent;			/* bytes of the current request written */
	size_t got;			/* bytes of the current answer read */
	/* Each answer's end by its HTTP framing (--keepalive > 1 without
	 * --read-bytes); head is NULL otherwise. */
	char *head;			/* TC_LOAD_HEAD_MAX bytes */
	size_t head_len;
	int in_body;
	enum http1_framing framing;
	uint64_t body_left;		/* HTTP1_BODY_LENGTH */
	struct http1_chunked chunked;	/* HTTP1_BODY_CHUNKED */
};

TAILQ_HEAD(tc_lconn_list, tc_lconn);

/* One load run. */
struct tc_load {
	const struct tc_opts *o;
	SSL_CTX *ctx;
	int ep;				/* epoll, -1 before it exists */
	struct sockaddr_storage addr;	/* --connect, resolved once */
	socklen_t addr_len;
	const char *method;		/* of --send: HEAD changes the framing */
	size_t method_len;
	struct tc_lconn *conns;		/* o->load slots */
	struct tc_lconn_list busy;	/* in flight, earliest deadline first */
	struct tc_lconn_list idle;	/* waiting to be started */
	unsigned long started, inflight;
	unsigned long counts[3];	/* finished connections by result */
	unsigned long timeouts;		/* of counts[TC_ERROR]: a deadline */
	unsigned long requests;		/* answered */
	struct tc_samples hs, total, req;
	uint64_t rng;			/* xorshift64 for the reservoirs */
	struct tc_load_reason reasons[TC_LOAD_REASONS];
	unsigned long other_reasons;	/* failures beyond those kept */
	double t0, t_last;		/* start, last connection finished */
};

static void
tc_samples_add(struct tc_samples *s, double ms, uint64_t *rng)
{
	float *p;
	size_t cap;
	uint64_t j;

	s->seen++;
	if (s->n < TC_LOAD_SAMPLES_MAX) {
		if (s->n == s->cap) {
			cap = s->cap ? s->cap * 2 : 4096;
			if ((p = realloc(s->v, cap * sizeof(*p))) == NULL)
				return;	/* one sample lost, not the run */
			s->v = p;
			s->cap = cap;
		}
		s->v[s->n++] = (float)ms;
		return;
	}
	*rng ^= *rng << 13;
	*rng ^= *rng >> 7;
	*rng ^= *rng << 17;
	if ((j = *rng % s->seen) < s->n)
		s->v[j] = (float)ms;
}

static int
tc_float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/* Prints " NAME_p50_ms=X NAME_p99_ms=Y" by nearest rank, "none" without
 * samples. Sorts the samples. */
static void
tc_samples_print(FILE *f, const char *name, struct tc_samples *s)
{
	static const unsigned int permille[] = { 500, 990 };
	size_t i, rank;

	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), tc_float_cmp);
	for (i = 0; i < sizeof(permille) / sizeof(permille[0]); i++) {
		if (s->n == 0) {
			fprintf(f, " %s_p%u_ms=none", name, permille[i] / 10);
			continue;
		}
		rank = (s->n * permille[i] + 999) / 1000;
		fprintf(f, " %s_p%u_ms=%.3f", name, permille[i] / 10,
		    (double)s->v[rank > 0 ? rank - 1 : 0]);
	}
}

/* Counts a failed connection under its reason. */
static void
tc_load_reason_add(struct tc_load *L, const struct tc_outcome *out)
{
	size_t i;

	for (i = 0; i < TC_LOAD_REASONS && L->reasons[i].n > 0; i++) {
		if (L->reasons[i].result == out->result &&
		    strcmp(L->reasons[i].text, out->reason) == 0) {
			L->reasons[i].n++;
			return;
		}
	}
	if (i == TC_LOAD_REASONS) {
		L->other_reasons++;
		return;
	}
	L->reasons[i].result = out->result;
	L->reasons[i].n = 1;
	dp_strlcpy(L->reasons[i].text, out->reason,
	    sizeof(L->reasons[i].text));
}

/* Starts the deadline of a phase: deadlines are all now + timeout_ms, so
 * appending keeps the busy list sorted. */
static void
tc_load_arm(struct tc_load *L, struct tc_lconn *l, double now)
{
	l->deadline = now + L->o->timeout_ms;
	TAILQ_REMOVE(&L->busy, l, entry);
	TAILQ_INSERT_TAIL(&L->busy, l, entry);
}

/* Sets the epoll interest of l's socket. Returns 0 or -1 (reason set). */
static int
tc_load_want(struct tc_load *L, struct tc_lconn *l, uint32_t events)
{
	struct epoll_event ev;

	if (l->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)l->gen << 32 | l->index;
	if (epoll_ctl(L->ep, EPOLL_CTL_MOD, l->fd, &ev) != 0) {
		tc_reason(&l->out, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	l->events = events;
	return 0;
}

/* After an SSL_* call on l returned n <= 0: when OpenSSL waits for the
 * socket, sets the interest and returns 0; else returns the
 * SSL_get_error() code, or -1 if the interest could not be set. */
static int
tc_load_io(struct tc_load *L, struct tc_lconn *l, int n)
{
	int err = SSL_get_error(l->ssl, n);

	if (err == SSL_ERROR_WANT_READ)
		return tc_load_want(L, l, EPOLLIN);
	if (err == SSL_ERROR_WANT_WRITE)
		return tc_load_want(L, l, EPOLLOUT);
	return err;
}

/* Ends l's connection, counts it and its latencies, and queues the slot to
 * be started again. */
static void
tc_load_finish(struct tc_load *L, struct tc_lconn *l, double now)
{
	tc_conclude(&l->c, l->handshake_done, &l->out);
	if (l->out.result == TC_OK) {
		if (l->c.alert < 0 && !l->c.close_notify)
			SSL_shutdown(l->ssl);	/* our close_notify; no wait */
		tc_samples_add(&L->hs, l->t_handshake - l->t_start, &L->rng);
		tc_samples_add(&L->total, now - l->t_start, &L->rng);
	} else {
		if (l->out.result == TC_ERROR && l->timed_out)
			L->timeouts++;
		tc_load_reason_add(L, &l->out);
	}
	L->counts[l->out.result]++;
	ERR_clear_error();
	SSL_free(l->ssl);
	l->ssl = NULL;
	if (l->fd >= 0)
		close(l->fd);	/* also leaves the epoll set */
	l->fd = -1;
	l->events = 0;
	l->state = TC_L_IDLE;
	TAILQ_REMOVE(&L->busy, l, entry);
	TAILQ_INSERT_TAIL(&L->idle, l, entry);
	L->inflight--;
	L->t_last = now;
}

/* Begins a request (or, without --send, just the wait for the answer). */
static void
tc_load_request(struct tc_load *L, struct tc_lconn *l, double now)
{
	l->state = L->o->send != NULL ? TC_L_WRITE : TC_L_READ;
	l->t_request = now;
	l->sent = 0;
	l->got = 0;
	l->head_len = 0;
	l->in_body = 0;
	tc_load_arm(L, l, now);
}

/* n bytes of an answer's body with its HTTP framing. Returns 1 when the
 * body ended within them, 0 when more is to come, -1 when it is malformed
 * (reason set). Bytes after the end are ignored. */
static int
tc_load_body(struct tc_lconn *l, const char *p, size_t n)
{
	size_t used;
	int r;

	switch (l->framing) {
	case HTTP1_BODY_LENGTH:
		if (n >= l->body_left) {
			l->body_left = 0;
			return 1;
		}
		l->body_left -= n;
		return 0;
	case HTTP1_BODY_CHUNKED:
		if ((r = http1_chunked_scan(&l->chunked, p, n, &used)) == DP_OK)
			return 1;
		if (r == DP_ERR_AGAIN)
			return 0;
		tc_reason(&l->out, "read: malformed chunked answer");
		return -1;
	default:
		return 0;	/* HTTP1_BODY_CLOSE: until EOF */
	}
}

/* n bytes of an answer. Returns 1 when the answer is complete (by
 * --read-bytes, or by HTTP framing with --keepalive), 0 when more is to
 * come (in EOF mode: always), -1 when it is malformed (reason set). */
static int
tc_load_frame(struct tc_load *L, struct tc_lconn *l, const char *p, size_t n)
{
	const struct tc_opts *o = L->o;
	struct http1_response res;
	size_t take, extra;
	int r;

	if (o->read_bytes > 0) {
		l->got += n;
		return l->got >= o->read_bytes;
	}
	if (l->head == NULL)
		return 0;
	while (!l->in_body) {
		take = TC_LOAD_HEAD_MAX - l->head_len;
		if (take > n)
			take = n;
		memcpy(l->head + l->head_len, p, take);
		l->head_len += take;
		p += take;
		n -= take;
		r = http1_response_parse(l->head, l->head_len,
		    TC_LOAD_HEAD_MAX, L->method, L->method_len, &res);
		if (r == DP_ERR_AGAIN)
			return 0;	/* all n bytes are in the head */
		if (r != DP_OK) {
			tc_reason(&l->out, "read: bad answer head (%s)",
			    r == HTTP1_ERR_TOO_LARGE ? "too large" :
			    "malformed");
			return -1;
		}
		extra = l->head_len - res.head_len;
		if (res.status < 200 && res.status != 101) {
			/* Interim (100 Continue): the answer follows. */
			memmove(l->head, l->head + res.head_len, extra);
			l->head_len = extra;
			if (extra == 0 && n == 0)
				return 0;
			continue;
		}
		if (l->answered + 1 < o->keepalive &&
		    (!res.keep_alive || res.framing == HTTP1_BODY_CLOSE)) {
			tc_reason(&l->out, "read: the server closes the "
			    "connection before the last request");
			return -1;
		}
		l->in_body = 1;
		l->framing = res.framing;
		l->body_left = res.content_length;
		http1_chunked_init(&l->chunked);
		if (res.framing == HTTP1_BODY_NONE ||
		    (res.framing == HTTP1_BODY_LENGTH && l->body_left == 0))
			return 1;
		if (extra > 0 &&
		    (r = tc_load_body(l, l->head + res.head_len, extra)) != 0)
			return r;
	}
	return n > 0 ? tc_load_body(l, p, n) : 0;
}

/* An answer is complete. Returns 1 when the connection is done, 0 when
 * the next request is under way. */
static int
tc_load_answered(struct tc_load *L, struct tc_lconn *l, double now)
{
	if (l->out.reason[0] != '\0')
		return 1;	/* after a failed write: a failure anyway */
	tc_samples_add(&L->req, now - l->t_request, &L->rng);
	L->requests++;
	if (++l->answered >= L->o->keepalive)
		return 1;
	tc_load_request(L, l, now);
	return 0;
}

/* Drives l as far as it goes without waiting: connect, handshake, request,
 * answer, then the next request or the end. */
static void
tc_load_step(struct tc_load *L, struct tc_lconn *l)
{
	const struct tc_opts *o = L->o;
	char buf[16384];
	size_t want;
	socklen_t sl;
	int n, err, soerr, chunk;

	for (;;) {
		switch (l->state) {
		case TC_L_IDLE:
			return;
		case TC_L_CONNECT:
			sl = sizeof(soerr);
			if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) != 0)
				soerr = errno;
			if (soerr != 0) {
				tc_reason(&l->out, "connect %s:%s: %s",
				    o->host, o->port, strerror(soerr));
				goto finish;
			}
			if ((l->ssl = tc_ssl_new(o, L->ctx, l->fd, &l->c,
			    &l->out)) == NULL)
				goto finish;
			l->state = TC_L_HANDSHAKE;
			tc_load_arm(L, l, tc_now());
			break;
		case TC_L_HANDSHAKE:
			ERR_clear_error();
			errno = 0;
			if ((n = SSL_connect(l->ssl)) != 1) {
				if ((err = tc_load_io(L, l, n)) == 0)
					return;
				if (err > 0)
					tc_reason_handshake(l->ssl, &l->out);
				goto finish;
			}
			l->handshake_done = 1;
			l->t_handshake = tc_now();
			tc_load_request(L, l, l->t_handshake);
			break;
		case TC_L_WRITE:
			if (l->sent < o->send_len) {
				chunk = o->send_len - l->sent > 65536 ? 65536 :
				    (int)(o->send_len - l->sent);
				ERR_clear_error();
				errno = 0;
				if ((n = SSL_write(l->ssl, o->send + l->sent,
				    chunk)) > 0) {
					l->sent += (size_t)n;
					break;
				}
				if ((err = tc_load_io(L, l, n)) == 0)
					return;
				if (err < 0)
					goto finish;
				/* As in one-connection mode: read on, the
				 * alert may be waiting. */
				tc_reason_ssl(&l->out, "write");
			}
			l->state = TC_L_READ;
			break;
		case TC_L_READ:
			want = sizeof(buf);
			if (o->read_bytes > 0 && o->read_bytes - l->got < want)
				want = o->read_bytes - l->got;
			ERR_clear_error();
			errno = 0;
			if ((n = SSL_read(l->ssl, buf, (int)want)) > 0) {
				l->out.bytes_read += (size_t)n;
				if ((err = tc_load_frame(L, l, buf,
				    (size_t)n)) < 0)
					goto finish;
				if (err > 0 && tc_load_answered(L, l,
				    tc_now()) != 0)
					goto finish;
				break;
			}
			if ((err = tc_load_io(L, l, n)) == 0)
				return;
			if (err == SSL_ERROR_ZERO_RETURN ||
			    (err == SSL_ERROR_SSL &&
			    ERR_GET_REASON(ERR_peek_last_error()) ==
			    SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
				/* The server's close, with close_notify or
				 * without (as in one-connection mode, fine):
				 * the end of an answer delimited by it. */
				ERR_clear_error();
				if ((l->head == NULL && o->read_bytes == 0) ||
				    (l->in_body &&
				    l->framing == HTTP1_BODY_CLOSE)) {
					if (tc_load_answered(L, l,
					    tc_now()) != 0)
						goto finish;
					/* Unreachable: close-delimited
					 * answers end the connection. */
				}
				tc_reason(&l->out, "read: the server closed "
				    "before the answer was complete");
				goto finish;
			}
			if (err > 0)
				tc_reason_ssl(&l->out, "read");
			goto finish;
		}
	}
 finish:
	tc_load_finish(L, l, tc_now());
}

/* Starts a connection in the idle slot l. */
static void
tc_load_start(struct tc_load *L, struct tc_lconn *l)
{
	struct epoll_event ev;
	double now = tc_now();
	int one = 1;

	l->gen++;
	memset(&l->c, 0, sizeof(l->c));
	l->c.alert = -1;
	l->c.sent_alert = -1;
	l->c.request_form = "none";
	tc_outcome_init(&l->out);
	l->handshake_done = 0;
	l->timed_out = 0;
	l->answered = 0;
	l->t_start = now;
	l->state = TC_L_CONNECT;
	TAILQ_REMOVE(&L->idle, l, entry);
	TAILQ_INSERT_TAIL(&L->busy, l, entry);
	l->deadline = now + L->o->timeout_ms;
	L->started++;
	L->inflight++;

	l->fd = socket(L->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		tc_reason(&l->out, "socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.u64 = (uint64_t)l->gen << 32 | l->index;
	if (epoll_ctl(L->ep, EPOLL_CTL_ADD, l->fd, &ev) != 0) {
		tc_reason(&l->out, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	l->events = EPOLLOUT;
	if (connect(l->fd, (struct sockaddr *)&L->addr, L->addr_len) == 0) {
		tc_load_step(L, l);
		return;
	}
	if (errno == EINPROGRESS)
		return;		/* EPOLLOUT tells when it is done */
	tc_reason(&l->out, "connect %s:%s: %s", L->o->host, L->o->port,
	    strerror(errno));
 fail:
	tc_load_finish(L, l, tc_now());
}

/* Prints the load line and the failure reasons. */
static void
tc_load_report(struct tc_load *L)
{
	double end = L->t_last > L->t0 ? L->t_last : tc_now();
	double secs = (end - L->t0) / 1000.0;
	unsigned long failed = L->counts[TC_ALERT] + L->counts[TC_ERROR];
	size_t i;

	printf("load conns=%u done=%lu failed=%lu alert=%lu error=%lu "
	    "timeout=%lu requests=%lu secs=%.3f rate=%.1f/s", L->o->load,
	    L->counts[TC_OK], failed, L->counts[TC_ALERT],
	    L->counts[TC_ERROR] - L->timeouts, L->timeouts, L->requests, secs,
	    secs > 0 ? (double)L->counts[TC_OK] / secs : 0.0);
	tc_samples_print(stdout, "hs", &L->hs);
	tc_samples_print(stdout, "total", &L->total);
	tc_samples_print(stdout, "req", &L->req);
	putchar('\n');
	for (i = 0; i < TC_LOAD_REASONS && L->reasons[i].n > 0; i++) {
		printf("failure count=%lu result=%s reason=\"", L->reasons[i].n,
		    tc_result_names[L->reasons[i].result]);
		tc_escape(stdout, (const unsigned char *)L->reasons[i].text,
		    strlen(L->reasons[i].text));
		fputs("\"\n", stdout);
	}
	if (L->other_reasons > 0)
		printf("failure count=%lu result=other reason=\"(more "
		    "reasons than shown)\"\n", L->other_reasons);
	fflush(stdout);
}

/* Keeps o->load connections in flight until --duration has passed or
 * --count have been started, then lets those in flight finish (each within
 * its deadlines); prints the load line; adds the results to counts[].
 * Returns 0, or -1 on a setup failure (said on stderr). */
static int
tc_run_load(const struct tc_opts *o, SSL_CTX *ctx, unsigned long counts[3])
{
	struct tc_load L;
	struct epoll_event ev[TC_LOAD_EVENTS];
	struct addrinfo hints, *res = NULL;
	struct tc_lconn *l, *lnext;
	double now, end, next, soonest;
	unsigned int i, budget;
	int n, e, wait_ms, stopping = 0, r = -1;

	memset(&L, 0, sizeof(L));
	L.o = o;
	L.ctx = ctx;
	L.ep = -1;
	L.rng = 0x9e3779b97f4a7c15ull;
	TAILQ_INIT(&L.busy);
	TAILQ_INIT(&L.idle);

	/* Resolved once: a name resolution per connection would measure the
	 * resolver. The first address is used. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		fprintf(stderr, "dp-testclient: resolve %s: %s\n", o->host,
		    gai_strerror(e));
		goto out;
	}
	memcpy(&L.addr, res->ai_addr, res->ai_addrlen);
	L.addr_len = res->ai_addrlen;
	freeaddrinfo(res);

	L.method = "GET";
	L.method_len = 3;
	if (o->send != NULL) {
		L.method = (const char *)o->send;
		for (L.method_len = 0; L.method_len < o->send_len &&
		    o->send[L.method_len] != ' '; L.method_len++)
			;
	}

	if ((L.ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (L.conns = calloc(o->load, sizeof(*L.conns))) == NULL)
		goto fail;
	for (i = 0; i < o->load; i++) {
		l = &L.conns[i];
		l->index = i;
		l->fd = -1;
		if (o->keepalive > 1 && o->read_bytes == 0 &&
		    (l->head = malloc(TC_LOAD_HEAD_MAX)) == NULL)
			goto fail;
		TAILQ_INSERT_TAIL(&L.idle, l, entry);
	}

	L.t0 = tc_now();
	end = L.t0 + o->duration_ms;
	for (;;) {
		now = tc_now();
		if ((o->duration_ms > 0 && now >= end) ||
		    (o->count > 0 && L.started >= o->count))
			stopping = 1;
		/* Each idle slot once: one that fails at once (refused) is
		 * queued again, not to be started for 1 ms: restarting it at
		 * once would spin on the refusal. */
		for (budget = o->load, l = TAILQ_FIRST(&L.idle); !stopping &&
		    budget > 0 && l != NULL; l = lnext) {
			lnext = TAILQ_NEXT(l, entry);
			if (l->not_before > now)
				continue;
			if (o->count > 0 && L.started >= o->count)
				break;
			tc_load_start(&L, l);
			budget--;
			if (l->state == TC_L_IDLE)
				l->not_before = tc_now() + 1.0;
		}
		if (L.inflight == 0 && stopping)
			break;
		/* Until the first of: an idle slot may start, the earliest
		 * deadline in flight, the end of --duration. */
		soonest = -1;
		if (!stopping)
			TAILQ_FOREACH(l, &L.idle, entry)
				if (soonest < 0 || l->not_before < soonest)
					soonest = l->not_before;
		next = soonest;
		if ((l = TAILQ_FIRST(&L.busy)) != NULL &&
		    (next < 0 || l->deadline < next))
			next = l->deadline;
		if (!stopping && o->duration_ms > 0 && (next < 0 || end < next))
			next = end;
		wait_ms = next < 0 ? -1 : next <= now ? 0 : (int)(next - now) + 1;
		if ((n = epoll_wait(L.ep, ev, TC_LOAD_EVENTS, wait_ms)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		for (i = 0; i < (unsigned int)n; i++) {
			l = &L.conns[(uint32_t)ev[i].data.u64];
			if (l->state != TC_L_IDLE &&
			    l->gen == (uint32_t)(ev[i].data.u64 >> 32))
				tc_load_step(&L, l);
		}
		now = tc_now();
		while ((l = TAILQ_FIRST(&L.busy)) != NULL &&
		    l->deadline <= now) {
			tc_reason(&l->out, "%s: timeout",
			    tc_lstate_names[l->state]);
			l->timed_out = 1;
			tc_load_finish(&L, l, now);
		}
	}
	tc_load_report(&L);
	for (i = 0; i < 3; i++)
		counts[i] += L.counts[i];
	r = 0;
	goto out;
 fail:
	fprintf(stderr, "dp-testclient: load: %s\n", strerror(errno));
 out:
	for (i = 0; L.conns != NULL && i < o->load; i++) {
		SSL_free(L.conns[i].ssl);
		if (L.conns[i].fd >= 0)
			close(L.conns[i].fd);
		free(L.conns[i].head);
	}
	free(L.conns);
	free(L.hs.v);
	free(L.total.v);
	free(L.req.v);
	if (L.ep >= 0)
		close(L.ep);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Option parsing.                                                         */

static int
tc_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses hex digits (':' and ' ' ignored) into a new buffer. "" gives an
 * empty buffer. Returns 0 or -1. */
static int
tc_parse_hex(const char *s, unsigned char **out, size_t *len)
{
	unsigned char *b;
	size_t n = 0;
	int hi = -1, v;

	if ((b = malloc(strlen(s) / 2 + 1)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s == ':' || *s == ' ')
			continue;
		if ((v = tc_hexval((unsigned char)*s)) < 0)
			goto fail;
		if (hi < 0) {
			hi = v;
		} else {
			b[n++] = (unsigned char)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		goto fail;
	*out = b;
	*len = n;
	return 0;
 fail:
	free(b);
	return -1;
}

/* Interprets \r \n \t \\ \0 \xHH in s into a new buffer. */
static int
tc_unescape(const char *s, unsigned char **out, size_t *len)
{
	unsigned char *b;
	size_t n = 0;
	int h1, h2;

	if ((b = malloc(strlen(s) + 1)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			b[n++] = (unsigned char)*s;
			continue;
		}
		switch (*++s) {
		case 'r': b[n++] = '\r'; break;
		case 'n': b[n++] = '\n'; break;
		case 't': b[n++] = '\t'; break;
		case '0': b[n++] = '\0'; break;
		case '\\': b[n++] = '\\'; break;
		case 'x':
			if ((h1 = tc_hexval((unsigned char)s[1])) < 0 ||
			    (h2 = tc_hexval((unsigned char)s[2])) < 0)
				goto fail;
			b[n++] = (unsigned char)(h1 << 4 | h2);
			s += 2;
			break;
		default:
			goto fail;	/* also a trailing lone backslash */
		}
	}
	*out = b;
	*len = n;
	return 0;
 fail:
	free(b);
	return -1;
}

static int
tc_read_file(const char *path, unsigned char **out, size_t *len)
{
	FILE *f;
	unsigned char *b = NULL, *p;
	size_t n = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(b, cap)) == NULL)
				goto fail;
			b = p;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	*out = b;
	*len = n;
	return 0;
 fail:
	free(b);
	fclose(f);
	return -1;
}

/* "h1,h2,foo" to ALPN wire format; h1 means http/1.1. */
static int
tc_parse_alpn(const char *s, unsigned char **out, size_t *len)
{
	unsigned char *b, *nb;
	const char *p, *e, *name;
	size_t n = 0, nl;

	if ((b = malloc(strlen(s) + 16)) == NULL)
		return -1;
	for (p = s; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		name = p;
		nl = (size_t)(e - p);
		if (nl == 2 && memcmp(p, "h1", 2) == 0) {
			name = "http/1.1";
			nl = 8;
		}
		if (nl == 0 || nl > 255) {
			free(b);
			return -1;
		}
		if ((nb = realloc(b, n + 1 + nl + strlen(s) + 16)) == NULL) {
			free(b);
			return -1;
		}
		b = nb;
		b[n++] = (unsigned char)nl;
		memcpy(b + n, name, nl);
		n += nl;
	}
	*out = b;
	*len = n;
	return 0;
}

static void
tc_usage(FILE *f)
{
	fputs(
"usage: dp-testclient --connect HOST:PORT [--servername NAME] [--cafile F]\n"
"         [--insecure] [--cert F --key F [--chain F]]\n"
"         [--clientid NAME | --clientid-hex HEX | --no-clientid]\n"
"         [--clientid-legacy] [--ext-type 0xffdc] [--tls 1.2|1.3]\n"
"         [--dnssec-chain F [--chain-type 0xffdd]]\n"
"         [--alpn h1,h2] [--send STRING | --send-file F] [--read-bytes N]\n"
"         [--timeout-ms N] [--parallel N] [--repeat N] [--quiet]\n"
"         [--output FILE] [--expect ok|alert|error]\n"
"       dp-testclient --load N [--duration S | --count M] [--keepalive K]\n"
"         (and the options above but --parallel, --repeat, --output)\n"
"\n"
"  --clientid NAME      answer the server's dane_clientid request with NAME\n"
"                       (encoded as length byte + NAME, even if NAME is not\n"
"                       a valid ClientName); each '#' in NAME is a random\n"
"                       hex digit, drawn anew for every connection\n"
"  --clientid-hex HEX   send HEX verbatim as extension_data ('' = empty)\n"
"  --clientid-legacy    send the extension in ClientHello (TLS 1.2 form)\n"
"  --no-clientid        register no extension (the default without a name)\n"
"  --dnssec-chain F     staple F's bytes (dp-chain --out) as the DNSSEC chain\n"
"                       extension in the leaf entry, when the server asks\n"
"  --chain-type N       that extension's type (default 0xffdd)\n"
"  --send STRING        after the handshake; \\r \\n \\t \\\\ \\0 \\xHH escapes\n"
"  --read-bytes N       stop reading after N bytes (default: until EOF)\n"
"  --timeout-ms N       connect, handshake and each read (default 5000);\n"
"                       with --load each request and its answer\n"
"  --parallel N         N processes released together, --repeat each\n"
"  --output FILE        append the raw bytes read to FILE (no data: lines)\n"
"  --expect R           exit 0 iff every connection had result R\n"
"  --load N             keep N connections in flight from this process, each\n"
"                       a full handshake, --keepalive requests, then close\n"
"  --duration S         start new ones for S seconds (default 10), then let\n"
"                       those in flight finish\n"
"  --count M            start M connections in all (with --duration: the\n"
"                       first limit reached ends the run)\n"
"  --keepalive K        K requests per connection (default 1); each answer\n"
"                       ends by --read-bytes, else by its HTTP framing\n"
"\n"
"One line per connection: result=ok|alert|error alert=N|none ... reason=\"..\"\n"
"With --load one line at the end: load conns=N done=D failed=F alert=A\n"
"error=E timeout=T requests=R secs=S rate=R/s hs_p50_ms=X hs_p99_ms=X\n"
"total_p50_ms=X total_p99_ms=X req_p50_ms=X req_p99_ms=X, then one line per\n"
"failure reason: failure count=N result=alert|error reason=\"..\"\n"
"Exit: 0 all ok, 1 some alert, 2 some error, 3 usage/setup error.\n", f);
}

enum {
	OPT_CONNECT = 256, OPT_SERVERNAME, OPT_CAFILE, OPT_INSECURE, OPT_CERT,
	OPT_KEY, OPT_CHAIN, OPT_CLIENTID, OPT_CLIENTID_HEX, OPT_NO_CLIENTID,
	OPT_LEGACY, OPT_EXT_TYPE, OPT_TLS, OPT_ALPN, OPT_SEND, OPT_SEND_FILE,
	OPT_READ_BYTES, OPT_TIMEOUT, OPT_PARALLEL, OPT_REPEAT, OPT_QUIET,
	OPT_OUTPUT, OPT_EXPECT, OPT_LOAD, OPT_DURATION, OPT_COUNT,
	OPT_KEEPALIVE, OPT_HELP, OPT_DNSSEC_CHAIN, OPT_CHAIN_TYPE,
};

static const struct option tc_longopts[] = {
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "servername", required_argument, NULL, OPT_SERVERNAME },
	{ "cafile", required_argument, NULL, OPT_CAFILE },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "chain", required_argument, NULL, OPT_CHAIN },
	{ "clientid", required_argument, NULL, OPT_CLIENTID },
	{ "clientid-hex", required_argument, NULL, OPT_CLIENTID_HEX },
	{ "no-clientid", no_argument, NULL, OPT_NO_CLIENTID },
	{ "clientid-legacy", no_argument, NULL, OPT_LEGACY },
	{ "ext-type", required_argument, NULL, OPT_EXT_TYPE },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "alpn", required_argument, NULL, OPT_ALPN },
	{ "send", required_argument, NULL, OPT_SEND },
	{ "send-file", required_argument, NULL, OPT_SEND_FILE },
	{ "read-bytes", required_argument, NULL, OPT_READ_BYTES },
	{ "timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "expect", required_argument, NULL, OPT_EXPECT },
	{ "load", required_argument, NULL, OPT_LOAD },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "dnssec-chain", required_argument, NULL, OPT_DNSSEC_CHAIN },
	{ "chain-type", required_argument, NULL, OPT_CHAIN_TYPE },
	{ NULL, 0, NULL, 0 },
};

/* Parses argv into *o. Returns 0, or -1 after printing why. */
static int
tc_parse_args(int argc, char **argv, struct tc_opts *o)
{
	const char *connect_arg = NULL, *clientid = NULL, *hex = NULL;
	int ch, legacy = 0, no_clientid = 0, nsend = 0, i, nrepeat = 0;
	uint64_t v;
	double d;
	char *end;
	uint16_t port;
	size_t len;

	memset(o, 0, sizeof(*o));
	o->ext_type = CLIENTID_DEFAULT_TYPE;
	o->chain_type = TC_CHAIN_DEFAULT_TYPE;
	o->timeout_ms = 5000;
	o->repeat = 1;
	o->keepalive = 1;
	o->expect = -1;

	while ((ch = getopt_long(argc, argv, "h", tc_longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_CONNECT: connect_arg = optarg; break;
		case OPT_SERVERNAME: o->servername = optarg; break;
		case OPT_CAFILE: o->cafile = optarg; break;
		case OPT_INSECURE: o->insecure = 1; break;
		case OPT_CERT: o->cert = optarg; break;
		case OPT_KEY: o->key = optarg; break;
		case OPT_CHAIN: o->chain = optarg; break;
		case OPT_CLIENTID: clientid = optarg; break;
		case OPT_CLIENTID_HEX: hex = optarg; break;
		case OPT_NO_CLIENTID: no_clientid = 1; break;
		case OPT_LEGACY: legacy = 1; break;
		case OPT_QUIET: o->quiet = 1; break;
		case OPT_OUTPUT: o->output = optarg; break;
		case OPT_EXT_TYPE:
			if (dp_parse_uint(optarg, 0, 0xffff, &v) != DP_OK)
				goto bad;
			o->ext_type = (unsigned int)v;
			break;
		case OPT_DNSSEC_CHAIN:
			free(o->chain_data);
			o->chain_data = NULL;
			if (tc_read_file(optarg, &o->chain_data,
			    &o->chain_len) != 0) {
				fprintf(stderr, "dp-testclient: %s: %s\n",
				    optarg, strerror(errno));
				return -1;
			}
			if (o->chain_len > 0xffff) {
				fprintf(stderr, "dp-testclient: %s: more than "
				    "an extension holds\n", optarg);
				return -1;
			}
			break;
		case OPT_CHAIN_TYPE:
			if (dp_parse_uint(optarg, 0, 0xffff, &v) != DP_OK)
				goto bad;
			o->chain_type = (unsigned int)v;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "1.2") == 0)
				o->tls_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				o->tls_version = TLS1_3_VERSION;
			else
				goto bad;
			break;
		case OPT_ALPN:
			free(o->alpn);
			if (tc_parse_alpn(optarg, &o->alpn, &o->alpn_len) != 0)
				goto bad;
			break;
		case OPT_SEND:
			free(o->send);
			nsend++;
			if (tc_unescape(optarg, &o->send, &o->send_len) != 0)
				goto bad;
			break;
		case OPT_SEND_FILE:
			free(o->send);
			nsend++;
			if (tc_read_file(optarg, &o->send, &o->send_len) != 0) {
				fprintf(stderr, "dp-testclient: %s: %s\n",
				    optarg, strerror(errno));
				return -1;
			}
			break;
		case OPT_READ_BYTES:
			if (dp_parse_uint(optarg, 1, SIZE_MAX, &v) != DP_OK)
				goto bad;
			o->read_bytes = (size_t)v;
			break;
		case OPT_TIMEOUT:
			if (dp_parse_uint(optarg, 1, 3600000, &v) != DP_OK)
				goto bad;
			o->timeout_ms = (int)v;
			break;
		case OPT_PARALLEL:
			if (dp_parse_uint(optarg, 1, 4096, &v) != DP_OK)
				goto bad;
			o->parallel = (unsigned int)v;
			break;
		case OPT_REPEAT:
			if (dp_parse_uint(optarg, 1, 100000000, &v) != DP_OK)
				goto bad;
			o->repeat = (unsigned int)v;
			nrepeat = 1;
			break;
		case OPT_LOAD:
			if (dp_parse_uint(optarg, 1, 65536, &v) != DP_OK)
				goto bad;
			o->load = (unsigned int)v;
			break;
		case OPT_DURATION:
			errno = 0;
			d = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(d > 0 && d <= 86400))
				goto bad;
			o->duration_ms = d * 1000.0;
			break;
		case OPT_COUNT:
			if (dp_parse_uint(optarg, 1, 1000000000, &v) != DP_OK)
				goto bad;
			o->count = (unsigned long)v;
			break;
		case OPT_KEEPALIVE:
			if (dp_parse_uint(optarg, 1, 1000000, &v) != DP_OK)
				goto bad;
			o->keepalive = (unsigned int)v;
			break;
		case OPT_EXPECT:
			for (i = 0; i < 3; i++)
				if (strcmp(optarg, tc_result_names[i]) == 0)
					o->expect = i;
			if (o->expect < 0)
				goto bad;
			break;
		case 'h':
		case OPT_HELP:
			tc_usage(stdout);
			exit(TC_EXIT_OK);
		default:
			tc_usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dp-testclient: unexpected argument %s\n",
		    argv[optind]);
		return -1;
	}
	if (connect_arg == NULL) {
		fprintf(stderr, "dp-testclient: --connect HOST:PORT needed\n");
		return -1;
	}
	if (dp_split_hostport(connect_arg, o->host, sizeof(o->host),
	    &port) != DP_OK) {
		fprintf(stderr, "dp-testclient: bad --connect %s\n",
		    connect_arg);
		return -1;
	}
	snprintf(o->port, sizeof(o->port), "%u", (unsigned int)port);
	if ((o->cert == NULL) != (o->key == NULL) ||
	    (o->chain != NULL && o->cert == NULL)) {
		fprintf(stderr, "dp-testclient: --cert and --key go together "
		    "(--chain needs both)\n");
		return -1;
	}
	if ((clientid != NULL) + (hex != NULL) + no_clientid > 1 || nsend > 1) {
		fprintf(stderr, "dp-testclient: --clientid, --clientid-hex and "
		    "--no-clientid exclude each other, as do --send and "
		    "--send-file\n");
		return -1;
	}
	if (o->load == 0 && (o->duration_ms > 0 || o->count > 0 ||
	    o->keepalive > 1)) {
		fprintf(stderr, "dp-testclient: --duration, --count and "
		    "--keepalive go with --load\n");
		return -1;
	}
	if (o->load > 0 && (o->parallel > 0 || nrepeat || o->output != NULL)) {
		fprintf(stderr, "dp-testclient: --load excludes --parallel, "
		    "--repeat and --output\n");
		return -1;
	}
	if (o->keepalive > 1 && o->send == NULL) {
		fprintf(stderr, "dp-testclient: --keepalive needs --send or "
		    "--send-file\n");
		return -1;
	}
	if (o->load > 0 && o->duration_ms == 0 && o->count == 0)
		o->duration_ms = 10000;
	if (hex != NULL) {
		if (tc_parse_hex(hex, &o->ext_data, &o->ext_len) != 0) {
			fprintf(stderr, "dp-testclient: bad hex %s\n", hex);
			return -1;
		}
	} else if (clientid != NULL) {
		len = strlen(clientid);
		if (strchr(clientid, '#') != NULL)
			o->ext_random = 1;
		if (len > 255) {
			fprintf(stderr, "dp-testclient: --clientid longer than "
			    "255 bytes; use --clientid-hex\n");
			return -1;
		}
		if ((o->ext_data = malloc(len + 1)) == NULL)
			return -1;
		if (o->ext_random) {
			o->ext_data[0] = (unsigned char)len;
			memcpy(o->ext_data + 1, clientid, len);
			o->ext_len = len + 1;
		} else if (clientid_encode(clientid, o->ext_data, len + 1,
		    &o->ext_len) != DP_OK) {
			/* A test may want a bad name on the wire: send it. */
			fprintf(stderr, "dp-testclient: warning: %s is not a "
			    "valid ClientName; sending it anyway\n", clientid);
			o->ext_data[0] = (unsigned char)len;
			memcpy(o->ext_data + 1, clientid, len);
			o->ext_len = len + 1;
		}
	}
	if (o->ext_data != NULL)
		o->idmode = legacy ? TC_ID_LEGACY : TC_ID_TLS13;
	else if (legacy) {
		fprintf(stderr, "dp-testclient: --clientid-legacy needs "
		    "--clientid or --clientid-hex\n");
		return -1;
	}
	return 0;
 bad:
	fprintf(stderr, "dp-testclient: bad value for --%s: %s\n",
	    tc_longopts[ch - OPT_CONNECT].name, optarg);
	return -1;
}

int
main(int argc, char **argv)
{
	struct tc_opts o;
	SSL_CTX *ctx = NULL;
	unsigned long counts[3] = { 0, 0, 0 }, total;
	double t0;
	int rc = TC_EXIT_USAGE;

	signal(SIGPIPE, SIG_IGN);
	if (tc_parse_args(argc, argv, &o) != 0)
		goto out;
	if ((ctx = tc_ctx_new(&o)) == NULL)
		goto out;

	if (o.load > 0) {
		if (tc_run_load(&o, ctx, counts) != 0)
			goto out;
	} else if (o.parallel > 0) {
		if (tc_run_parallel(&o, ctx, counts) != 0)
			goto out;
	} else {
		t0 = tc_now();
		tc_run_many(&o, ctx, stdout, counts);
		if (o.repeat > 1)
			tc_summary(counts, o.repeat, tc_now() - t0);
	}

	total = counts[TC_OK] + counts[TC_ALERT] + counts[TC_ERROR];
	if (o.expect >= 0)
		rc = counts[o.expect] == total ? TC_EXIT_OK : TC_EXIT_ALERT;
	else if (counts[TC_ERROR] > 0)
		rc = TC_EXIT_ERROR;
	else if (counts[TC_ALERT] > 0)
		rc = TC_EXIT_ALERT;
	else
		rc = TC_EXIT_OK;
 out:
	SSL_CTX_free(ctx);
	free(o.ext_data);
	free(o.chain_data);
	free(o.alpn);
	free(o.send);
	return rc;
}
