/* checkcli_connect.c — daneproxy check, client side (checkrun.h): a
 * [client] route's own record, then the remote as the route would meet it:
 * the TLSA lookup of tlsa_name, a TCP connection to connect, the handshake
 * with the route's own SSL_CTX (its certificate, dane_clientid when asked,
 * the records in OpenSSL's DANE verifier, as tls_client_use_tlsa sets
 * them), and what the remote says of the route afterwards.
 *
 * In TLS 1.3 the client's handshake ends when it sends its Finished; a
 * server that refuses the client's certificate says so with an alert after
 * that. So once the handshake is done the check reads for a while: an alert
 * is the remote refusing the route; silence for [dns] timeout_ms (at most
 * handshake_timeout_ms), data, or a close without an alert (a proxy whose
 * own upstream is down) leave the handshake standing.
 * Nothing is ever written after the handshake: no byte reaches the remote's
 * upstream. */
#include "checkrun.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "client.h"
#include "err.h"
#include "metrics.h"
#include "tls.h"
#include "tlsa.h"
#include "util.h"

enum tstate { T_RESOLVING, T_CONNECTING, T_HANDSHAKE, T_LISTENING, T_DONE };

/* One TLS connection to the remote, driven by plain events. */
struct tconn {
	struct check_env *e;
	const struct conf_client *cc;
	enum tstate state;
	int fd;
	SSL *ssl;
	struct event *ev;		/* fd's readiness */
	struct event *timer;		/* the phase's deadline */
	struct evdns_base *dns;		/* when connect is a host name */
	struct evdns_getaddrinfo_request *gai;
	struct check_cert peer;		/* what the remote presented: the leaf
					 * and the certificates it sent */
	int handshake_ok;		/* the handshake completed */
	int verify_failed;		/* it failed in certificate verification */
	int refused;			/* the remote refused the route */
	char addr[DP_ADDR_STRLEN];
	char reason[300];		/* why the phase that ended failed */
	char after[300];		/* what the remote did after the handshake */
};

static void step(struct tconn *t);

static void
finish(struct tconn *t)
{
	t->state = T_DONE;
	if (t->ev != NULL)
		event_del(t->ev);
	if (t->timer != NULL)
		event_del(t->timer);
}

static void fail(struct tconn *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The phase ends in failure: why (printf format). */
static void
fail(struct tconn *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->reason, sizeof(t->reason), fmt, ap);
	va_end(ap);
	finish(t);
}

static void
io_cb(evutil_socket_t fd, short what, void *arg)
{
	step(arg);
}

static void
wait_fd(struct tconn *t, short what)
{
	event_del(t->ev);
	event_assign(t->ev, t->e->base, t->fd, what, io_cb, t);
	event_add(t->ev, NULL);
}

static void
arm(struct tconn *t, unsigned ms)
{
	struct timeval tv = dp_ms_tv(ms);

	event_add(t->timer, &tv);
}

static void
timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tconn *t = arg;
	switch (t->state) {
	case T_LISTENING:
		/* Silence: the remote took the route's certificate. */
		snprintf(t->after, sizeof(t->after), "no alert within %u ms",
		    t->e->conf->dns.timeout_ms < t->cc->handshake_timeout_ms ?
		    t->e->conf->dns.timeout_ms : t->cc->handshake_timeout_ms);
		finish(t);
		return;
	case T_HANDSHAKE:
		fail(t, "handshake timeout (%u ms)", t->cc->handshake_timeout_ms);
		return;
	default:
		fail(t, "connect timeout (%u ms)", t->cc->connect_timeout_ms);
		return;
	}
}

/* Keeps what the remote presented (first call: the leaf, and the
 * certificates it sent), whatever the verdict, for the report. */
static int
verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tconn *t = ssl != NULL ? SSL_get_ex_data(ssl, tls_conn_index()) : NULL;
	STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xs);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	int i;

	if (t == NULL || t->peer.leaf != NULL || leaf == NULL)
		return preverify_ok;
	if (X509_up_ref(leaf) != 1)
		return preverify_ok;
	t->peer.leaf = leaf;
	if ((t->peer.chain = sk_X509_new_null()) == NULL)
		return preverify_ok;
	for (i = 0; sent != NULL && i < sk_X509_num(sent); i++) {
		X509 *x = sk_X509_value(sent, i);

		if (X509_cmp(x, leaf) == 0 || X509_up_ref(x) != 1)
			continue;
		if (!sk_X509_push(t->peer.chain, x))
			X509_free(x);
	}
	return preverify_ok;
}

/* The SSL error e asks for the socket: wait for it (1), or not (0). */
static int
ssl_wait(struct tconn *t, int e)
{
	if (e == SSL_ERROR_WANT_READ)
		wait_fd(t, EV_READ);
	else if (e == SSL_ERROR_WANT_WRITE)
		wait_fd(t, EV_WRITE);
	else
		return 0;
	return 1;
}

/* After the handshake: one read, for an alert, a close or data. */
static void
listen_step(struct tconn *t)
{
	unsigned char buf[256];
	char err[200];
	int n, e;

	ERR_clear_error();
	n = SSL_read(t->ssl, buf, sizeof(buf));
	if (n > 0) {
		dp_strlcpy(t->after, "the remote sent data", sizeof(t->after));
		finish(t);
		return;
	}
	if (ssl_wait(t, (e = SSL_get_error(t->ssl, n))))
		return;
	switch (e) {
	case SSL_ERROR_ZERO_RETURN:
	case SSL_ERROR_SYSCALL:
		/* No alert: the handshake stood (a proxy whose upstream is
		 * down closes like this). */
		dp_strlcpy(t->after, "the remote closed the connection after "
		    "the handshake, without an alert", sizeof(t->after));
		break;
	default:
		t->refused = 1;
		snprintf(t->after, sizeof(t->after), "the remote refused the "
		    "route: %s", tls_error_text(err, sizeof(err)));
		break;
	}
	finish(t);
}

static void
handshake_step(struct tconn *t)
{
	char err[200];
	long v;
	int r, e;

	ERR_clear_error();
	if ((r = SSL_do_handshake(t->ssl)) == 1) {
		unsigned ms = t->e->conf->dns.timeout_ms;

		t->handshake_ok = 1;
		t->state = T_LISTENING;
		event_del(t->timer);
		arm(t, ms < t->cc->handshake_timeout_ms ? ms :
		    t->cc->handshake_timeout_ms);
		listen_step(t);
		return;
	}
	if (ssl_wait(t, (e = SSL_get_error(t->ssl, r))))
		return;
	if ((v = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		t->verify_failed = 1;
		fail(t, "remote not authenticated: %s",
		    X509_verify_cert_error_string(v));
	} else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
		fail(t, "remote TLS: closed during the handshake");
	} else {
		/* TLS 1.2: a refusal of the route's certificate comes as an
		 * alert inside the handshake. */
		fail(t, "remote TLS: %s", tls_error_text(err, sizeof(err)));
	}
	ERR_clear_error();
}

static void
step(struct tconn *t)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	switch (t->state) {
	case T_CONNECTING:
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
			soerr = errno;
		if (soerr != 0) {
			fail(t, "connect: %s", strerror(soerr));
			return;
		}
		dp_tcp_nodelay(t->fd);
		if (SSL_set_fd(t->ssl, t->fd) != 1) {
			fail(t, "TLS: cannot attach the socket");
			return;
		}
		SSL_set_connect_state(t->ssl);
		t->state = T_HANDSHAKE;
		event_del(t->timer);
		arm(t, t->cc->handshake_timeout_ms);
		handshake_step(t);
		return;
	case T_HANDSHAKE:
		handshake_step(t);
		return;
	case T_LISTENING:
		listen_step(t);
		return;
	default:
		return;
	}
}

static void
connect_to(struct tconn *t, const struct sockaddr *sa, socklen_t len)
{
	dp_addr_str(sa, t->addr, sizeof(t->addr));
	t->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		fail(t, "socket: %s", strerror(errno));
		return;
	}
	t->state = T_CONNECTING;
	if (connect(t->fd, sa, len) != 0 && errno != EINPROGRESS) {
		fail(t, "connect: %s", strerror(errno));
		return;
	}
	wait_fd(t, EV_WRITE);
}

static void
resolved_cb(int err, struct evutil_addrinfo *res, void *arg)
{
	struct tconn *t = arg;

	if (err == EVUTIL_EAI_CANCEL)
		return;		/* t is being torn down */
	t->gai = NULL;
	if (err != 0 || res == NULL)
		fail(t, "resolve: %s", evutil_gai_strerror(err));
	else
		connect_to(t, res->ai_addr, res->ai_addrlen);
	if (res != NULL)
		evutil_freeaddrinfo(res);
}

/* Resolves connect (if a name), connects and shakes hands; returns when
 * t->state is T_DONE. */
static void
tconn_run(struct tconn *t)
{
	const struct conf_client *cc = t->cc;
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;
	struct dp_addr literal;
	char a[CONF_NAME_MAX + 16], port[8];
	int done = 0;

	snprintf(a, sizeof(a), strchr(cc->connect_host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", cc->connect_host, cc->connect_port);
	arm(t, cc->connect_timeout_ms);
	if (dp_addr_parse(a, &literal) == DP_OK) {
		connect_to(t, (struct sockaddr *)&literal.ss, literal.len);
	} else if ((t->dns = evdns_base_new(t->e->base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		fail(t, "resolve %s: cannot set up name resolution",
		    cc->connect_host);
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		snprintf(port, sizeof(port), "%u", cc->connect_port);
		t->state = T_RESOLVING;
		req = evdns_getaddrinfo(t->dns, cc->connect_host, port, &hints,
		    resolved_cb, t);
		if (req != NULL && t->state == T_RESOLVING)
			t->gai = req;
	}
	while (t->state != T_DONE && !done)
		if (event_base_loop(t->e->base, EVLOOP_ONCE) != 0)
			done = 1;
	if (t->state != T_DONE)
		fail(t, "internal: the event loop ran dry");
}

static void
tconn_clear(struct tconn *t)
{
	if (t->gai != NULL)
		evdns_getaddrinfo_cancel(t->gai);
	if (t->dns != NULL)
		evdns_base_free(t->dns, 1);
	if (t->ev != NULL)
		event_free(t->ev);
	if (t->timer != NULL)
		event_free(t->timer);
	if (t->ssl != NULL && t->handshake_ok && !t->refused)
		(void)SSL_shutdown(t->ssl);	/* a close_notify, best effort */
	SSL_free(t->ssl);
	if (t->fd >= 0)
		close(t->fd);
	check_cert_clear(&t->peer);
	ERR_clear_error();
}

/* The route's own record: client_name's TLSA against its own certificate,
 * as a DANE server would check the route. Returns 1 if it matches. */
int
check_self(struct check_env *e, const struct conf_client *cc, char *why,
    size_t why_size)
{
	struct report *r = &e->rep;
	struct check_cert own = { NULL, NULL };
	struct dane_check d;
	struct dane_rules rules = {
		.peer = TLSA_PEER_CLIENT,
		.cache = e->cache,
		.mx = mx_listener_get(MX_CLIENT, cc->name),
	};
	FILE *errs = NULL;
	char *msg = NULL;
	size_t msg_len = 0;
	int ok = 0;

	memset(&d, 0, sizeof(d));
	report_object(r, "self_check");
	report_str(r, "name", cc->client_name);
	report_line(r, "self-check", "client_name %s, cert %s", cc->client_name,
	    cc->cert_file);
	if ((errs = open_memstream(&msg, &msg_len)) == NULL ||
	    check_cert_load(cc->cert_file, &own, errs) != DP_OK) {
		if (errs != NULL)
			fclose(errs);
		snprintf(why, why_size, "the route's cert: %s", msg != NULL &&
		    msg[0] != '\0' ? msg : "cannot be read");
		why[strcspn(why, "\n")] = '\0';
		report_str(r, "reason", why);
		report_line(r, "self-check", "%s", why);
		goto out;
	}
	fclose(errs);
	if (tlsa_matcher_new(NULL, &rules.matcher) != DP_OK) {
		snprintf(why, why_size, "TLS: cannot build a matcher");
		goto out;
	}
	check_lookup(e, "self-check tlsa", &rules, 0, cc->client_name, &d);
	if (d.verdict == DANE_RECORDS)
		ok = check_match(e, "self-check match", &d, &own, cc->client_name);
	if (!ok)
		snprintf(why, why_size, "the route's own record (%s): %s",
		    cc->client_name, d.reason != NULL ? d.reason : "no match");
 out:
	report_bool(r, "ok", ok);
	report_end(r);
	free(msg);
	dane_check_clear(&d);
	tlsa_matcher_free(rules.matcher);
	check_cert_clear(&own);
	return ok;
}

static const char *
verify_name(enum conf_verify_server v)
{
	switch (v) {
	case VERIFY_PKIX: return "pkix";
	case VERIFY_DANE_OR_PKIX: return "dane-or-pkix";
	default: return "dane";
	}
}

int
check_connect(struct check_env *e, const struct conf_client *cc)
{
	struct report *r = &e->rep;
	struct tconn t;
	struct dane_check d;
	struct dane_rules rules = client_dane_rules(cc, e->cache,
	    mx_listener_get(MX_CLIENT, cc->name));
	SSL_CTX *ctx = NULL;
	char self_why[300] = "", why[400] = "", auth[32] = "", err[200];
	int self_ok, usable, accept = 0;

	memset(&t, 0, sizeof(t));
	memset(&d, 0, sizeof(d));
	t.fd = -1;
	t.e = e;
	t.cc = cc;
	report_str(r, "side", "client");
	report_str(r, "route", cc->name);
	report_str(r, "dns_mode", e->conf->dns.mode == DNS_MODE_VALIDATE ?
	    "validate" : "resolver-ad");
	report_line(r, "route", "[client %s], [dns] mode %s", cc->name,
	    e->conf->dns.mode == DNS_MODE_VALIDATE ? "validate" : "resolver-ad");
	if (tls_client_ctx_new(cc, NULL, stderr, &ctx) != DP_OK) {
		/* Its certificate, key or ca_file: a configuration error,
		 * told on stderr. */
		report_str(r, "error", "the route's TLS context cannot be built");
		report_line(r, "error", "the route's TLS context cannot be built");
		return CHECK_USAGE;
	}
	self_ok = check_self(e, cc, self_why, sizeof(self_why));

	report_object(r, "server");
	report_str(r, "server_name", cc->server_name);
	report_str(r, "verify_server", verify_name(cc->verify_server));
	report_line(r, "server", "%s (verify_server = %s), connect %s port %u",
	    cc->server_name, verify_name(cc->verify_server), cc->connect_host,
	    cc->connect_port);
	if (cc->verify_server == VERIFY_PKIX) {
		d.verdict = DANE_PKIX;
	} else {
		check_lookup(e, "server tlsa", &rules, cc->ca_file != NULL,
		    cc->tlsa_name, &d);
		if (d.verdict == DANE_REFUSED) {
			snprintf(why, sizeof(why), "%s", d.reason);
			goto decide;
		}
	}
	if ((t.ssl = SSL_new(ctx)) == NULL ||
	    tls_client_prepare(t.ssl, cc) != DP_OK ||
	    !SSL_set_ex_data(t.ssl, tls_conn_index(), &t) ||
	    (t.ev = event_new(e->base, -1, 0, io_cb, &t)) == NULL ||
	    (t.timer = evtimer_new(e->base, timeout_cb, &t)) == NULL) {
		snprintf(why, sizeof(why), "out of memory");
		goto decide;
	}
	SSL_set_verify(t.ssl, SSL_VERIFY_PEER, verify_cb);
	if (d.verdict == DANE_RECORDS) {
		usable = tls_client_use_tlsa(t.ssl, cc, &d.answer->rrset);
		if (usable < 0) {
			snprintf(why, sizeof(why), "remote TLSA records: %s",
			    tls_error_text(err, sizeof(err)));
			goto decide;
		}
		if (usable == 0)
			dane_unusable(&d);	/* PKIX, or refused */
		if (d.verdict == DANE_REFUSED) {
			snprintf(why, sizeof(why), "%s", d.reason);
			goto decide;
		}
	}
	report_str(r, "auth", d.verdict == DANE_RECORDS ? "dane" : "pkix");
	report_line(r, "connect", "%s:%u, authenticating the remote by %s",
	    cc->connect_host, cc->connect_port, d.verdict == DANE_RECORDS ?
	    "its TLSA records" : "PKIX (ca_file)");
	tconn_run(&t);
	report_str(r, "address", t.addr[0] != '\0' ? t.addr : NULL);
	if (t.peer.leaf != NULL)
		check_cert_report(e, "server cert", "cert",
		    "presented by the remote", &t.peer);
	report_bool(r, "handshake", t.handshake_ok);
	if (!t.handshake_ok) {
		if (t.verify_failed && d.verdict == DANE_RECORDS)
			dane_failed_by_tls(&d, NULL, t.reason);
		report_str(r, "reason", t.reason);
		report_line(r, "handshake", "failed: %s", t.reason);
		snprintf(why, sizeof(why), "%s", t.reason);
		goto decide;
	}
	if (d.verdict == DANE_RECORDS) {
		if (!dane_matched_by_tls(&d, t.ssl)) {
			snprintf(why, sizeof(why), "%s", d.reason);
			goto decide;
		}
		dp_strlcpy(auth, d.tlsa, sizeof(auth));
	} else {
		dp_strlcpy(auth, "pkix", sizeof(auth));
	}
	report_str(r, "version", SSL_get_version(t.ssl));
	report_str(r, "matched", auth);
	report_line(r, "handshake", "%s %s, the remote authenticated by %s%s",
	    SSL_get_version(t.ssl), SSL_get_cipher_name(t.ssl),
	    strcmp(auth, "pkix") == 0 ? "" : "the record ", auth);
	report_bool(r, "refused_by_remote", t.refused);
	report_str(r, "after_handshake", t.after);
	report_line(r, "remote", "%s", t.refused ? t.after : t.after[0] != '\0' ?
	    t.after : "accepted");
	if (t.refused) {
		snprintf(why, sizeof(why), "%s", t.after);
		goto decide;
	}
	accept = 1;
 decide:
	report_end(r);	/* server */
	tconn_clear(&t);
	dane_check_clear(&d);
	SSL_CTX_free(ctx);
	if (accept && !self_ok)
		return check_verdict(e, 0, self_why);
	return check_verdict(e, accept, why);
}
