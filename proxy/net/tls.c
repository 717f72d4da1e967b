/* tls.c — see tls.h. */
#include "tls.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "util.h"

static int clientid_index = -1;
static int conn_index = -1;

static int
indexes_init(void)
{
	if (clientid_index < 0)
		clientid_index = SSL_get_ex_new_index(0, "dp clientid", NULL, NULL, NULL);
	if (conn_index < 0)
		conn_index = SSL_get_ex_new_index(0, "dp conn", NULL, NULL, NULL);
	return clientid_index >= 0 && conn_index >= 0 ? DP_OK : DP_ERR_TLS;
}

int
tls_conn_index(void)
{
	indexes_init();
	return conn_index;
}

int
tls_clientid_attach(SSL *ssl, struct tls_clientid *st)
{
	if (indexes_init() != DP_OK || !SSL_set_ex_data(ssl, clientid_index, st))
		return DP_ERR_TLS;
	return DP_OK;
}

char *
tls_error_text(char *buf, size_t buf_size)
{
	unsigned long e;
	size_t pos = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		if (pos + 2 < buf_size) {
			if (pos > 0)
				buf[pos++] = ';';
			ERR_error_string_n(e, buf + pos, buf_size - pos);
			pos += strlen(buf + pos);
		}
	}
	if (pos == 0)
		dp_strlcpy(buf, "unknown TLS error", buf_size);
	return buf;
}

char *
tls_key_alg(EVP_PKEY *pkey, char *buf, size_t buf_size)
{
	const char *kind = "UNKNOWN";

	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA: kind = "RSA"; break;
	case EVP_PKEY_EC: kind = "EC"; break;
	case EVP_PKEY_ED25519: kind = "ED"; break;
	case EVP_PKEY_ED448: kind = "ED"; break;
	}
	snprintf(buf, buf_size, "%s%d", kind, EVP_PKEY_get_bits(pkey));
	return buf;
}

/* --- dane_clientid, server side: ask in CertificateRequest, read the leaf's.
 * With the legacy (TLS 1.2 draft) form enabled, a ClientName in the
 * ClientHello is read too and acknowledged with an empty extension in a TLS
 * 1.2 ServerHello. */

static int
server_ext_add(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
    int *al, void *arg)
{
	static const unsigned char empty_name[1] = { 0x00 };

	if (context == SSL_EXT_TLS1_2_SERVER_HELLO) {
		*out = empty_name;	/* only sent if the ClientHello had it */
		*outlen = 0;
		return 1;
	}
	if (context != SSL_EXT_TLS1_3_CERTIFICATE_REQUEST)
		return 0;
	*out = empty_name;	/* zero-length ClientName: "please send yours" */
	*outlen = sizeof(empty_name);
	return 1;
}

static int
server_ext_parse(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx, int *al,
    void *arg)
{
	struct tls_clientid *st = SSL_get_ex_data(ssl, clientid_index);
	char name[CLIENTID_NAME_MAX + 1];

	if (st == NULL)
		return 1;
	if (context == SSL_EXT_TLS1_3_CERTIFICATE && chainidx != 0)
		return 1;	/* only the leaf entry carries the identity */
	if (context != SSL_EXT_TLS1_3_CERTIFICATE && context != SSL_EXT_CLIENT_HELLO)
		return 1;
	if (clientid_parse_client(in, inlen, name, sizeof(name)) != DP_OK ||
	    (st->seen && strcmp(st->name, name) != 0)) {
		/* Malformed, or two different names in one handshake. */
		st->seen = 1;
		st->malformed = 1;
		st->name[0] = '\0';
		*al = SSL_AD_HANDSHAKE_FAILURE;
		return 0;
	}
	st->seen = 1;
	memcpy(st->name, name, sizeof(name));
	return 1;
}

void
tls_clientid_clear(struct tls_clientid *st)
{
	free(st->chain);
	st->chain = NULL;
	st->chain_len = 0;
	st->chain_seen = 0;
}

/* --- the stapled chain, server side: an empty extension in
 * CertificateRequest asks for it; the leaf entry's is kept for the
 * certificate callback (which validates it on the event loop, not inside
 * the handshake's job). A chain over max_chain_bytes is noted, not copied. */

static int
chain_server_add(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
    int *al, void *arg)
{
	static const unsigned char none[1];

	if (context != SSL_EXT_TLS1_3_CERTIFICATE_REQUEST)
		return 0;
	*out = none;
	*outlen = 0;
	return 1;
}

static int
chain_server_parse(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx, int *al,
    void *arg)
{
	const struct conf_server *cs = arg;
	struct tls_clientid *st = SSL_get_ex_data(ssl, clientid_index);

	if (st == NULL || context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0)
		return 1;
	tls_clientid_clear(st);
	st->chain_seen = 1;
	st->chain_len = inlen;
	if (inlen > cs->max_chain_bytes)
		return 1;	/* refused with its reason once the name is known */
	if ((st->chain = malloc(inlen ? inlen : 1)) == NULL) {
		*al = SSL_AD_INTERNAL_ERROR;
		return 0;
	}
	memcpy(st->chain, in, inlen);
	return 1;
}

/* --- the stapled chain, client side: the route's chain in the leaf entry,
 * when the server's CertificateRequest asked (OpenSSL sends a custom
 * extension in Certificate only then). */

static int
chain_client_add(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
    int *al, void *arg)
{
	const struct tls_chain_source *src = arg;

	if (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0)
		return 0;
	return (*outlen = src->get(src->arg, out)) > 0;
}

static int
chain_client_parse(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx, int *al,
    void *arg)
{
	if (context == SSL_EXT_TLS1_3_CERTIFICATE_REQUEST && inlen != 0) {
		*al = SSL_AD_DECODE_ERROR;	/* the request is empty */
		return 0;
	}
	return 1;
}

/* --- dane_clientid, client side: answer in the leaf entry when asked. */

struct client_ext {
	unsigned char data[1 + CLIENTID_NAME_MAX];
	size_t len;
};

static int
client_ext_add(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
    int *al, void *arg)
{
	const struct client_ext *ce = arg;

	/* The ClientHello context is only registered for the legacy form. */
	if (context != SSL_EXT_CLIENT_HELLO &&
	    (context != SSL_EXT_TLS1_3_CERTIFICATE || chainidx != 0))
		return 0;
	*out = ce->data;
	*outlen = ce->len;
	return 1;
}

static int
client_ext_parse(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx, int *al,
    void *arg)
{
	if ((context == SSL_EXT_TLS1_3_CERTIFICATE_REQUEST &&
	    clientid_parse_request(in, inlen) != DP_OK) ||
	    (context == SSL_EXT_TLS1_2_SERVER_HELLO && inlen != 0)) {
		*al = SSL_AD_DECODE_ERROR;
		return 0;
	}
	return 1;
}

/* --- contexts */

static int
set_versions(SSL_CTX *ctx, unsigned versions)
{
	int min = (versions & CONF_TLS12) ? TLS1_2_VERSION : TLS1_3_VERSION;
	int max = (versions & CONF_TLS13) ? TLS1_3_VERSION : TLS1_2_VERSION;

	return SSL_CTX_set_min_proto_version(ctx, min) &&
	    SSL_CTX_set_max_proto_version(ctx, max) ? DP_OK : DP_ERR_TLS;
}

static void
report(FILE *errs, const struct conf_where *w, const char *key, const char *what,
    const char *path)
{
	char buf[512];

	if (errs == NULL)
		return;
	fprintf(errs, "%s:%d: %s: %s %s: %s\n", w->file ? w->file : "?", w->line,
	    key, what, path, tls_error_text(buf, sizeof(buf)));
}

/* SSL_CTX_add_custom_ext refused the type key names (section at w). */
static void
ext_refused(FILE *errs, const struct conf_where *w, const char *key,
    unsigned type)
{
	if (errs != NULL)
		fprintf(errs, "%s:%d: %s: OpenSSL refuses extension type 0x%04x\n",
		    w->file, w->line, key, type);
}

/* Loads a PEM chain and its key, checking that they belong together. */
static int
load_cert_key(SSL_CTX *ctx, const char *cert, const struct conf_where *cw,
    const char *key, const struct conf_where *kw, FILE *errs)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		report(errs, cw, "cert", "cannot load certificate chain", cert);
		return DP_ERR_TLS;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = ERR_peek_last_error();

		if (ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
			report(errs, kw, "key", "private key does not match certificate",
			    cert);
		else
			report(errs, kw, "key", "cannot load private key", key);
		return DP_ERR_TLS;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		report(errs, kw, "key", "private key does not match certificate", cert);
		return DP_ERR_TLS;
	}
	return DP_OK;
}

/* forward = http: only http/1.1 is offered; a client that wants nothing we
 * speak gets no ALPN answer (and may carry on or give up). */
static int
alpn_http11_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "http/1.1";
	unsigned int i = 0;

	while (i < inlen) {
		unsigned int n = in[i];
		if (i + 1 + n > inlen)
			break;
		if (n == sizeof(h11) - 1 && memcmp(in + i + 1, h11, n) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

int
tls_server_ctx_new(const struct conf_server *cs, FILE *errs, SSL_CTX **out)
{
	SSL_CTX *ctx = NULL;
	int r = DP_ERR_TLS;
	int mode = SSL_VERIFY_PEER;

	*out = NULL;
	if (indexes_init() != DP_OK || (ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto out;
	if (set_versions(ctx, cs->tls_versions) != DP_OK)
		goto out;
	if ((r = load_cert_key(ctx, cs->cert_file, &cs->cert_where, cs->key_file,
	    &cs->key_where, errs)) != DP_OK)
		goto out;
	r = DP_ERR_TLS;
	if (cs->client_auth == CLIENT_AUTH_REQUIRE)
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	/* No resumption: a resumed session would carry an identity without a
	 * fresh look at the TLSA RRset. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (cs->forward == FORWARD_HTTP)
		SSL_CTX_set_alpn_select_cb(ctx, alpn_http11_cb, NULL);
	if (SSL_CTX_add_custom_ext(ctx, cs->dane_clientid_type,
	    SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE |
	    (cs->legacy_clientid ? SSL_EXT_CLIENT_HELLO |
	    SSL_EXT_TLS1_2_SERVER_HELLO : 0),
	    server_ext_add, NULL, NULL, server_ext_parse, NULL) != 1) {
		ext_refused(errs, &cs->where, "dane_clientid_type",
		    cs->dane_clientid_type);
		goto out;
	}
	if (cs->stapled_chain != STAPLED_OFF &&
	    SSL_CTX_add_custom_ext(ctx, cs->dane_chain_type,
	    SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE,
	    chain_server_add, NULL, NULL, chain_server_parse, (void *)cs) != 1) {
		ext_refused(errs, &cs->where, "dane_chain_type",
		    cs->dane_chain_type);
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	r = DP_OK;
 out:
	if (r != DP_OK && errs != NULL && ctx != NULL && ERR_peek_error() != 0) {
		char buf[256];
		fprintf(errs, "%s:%d: [server %s]: %s\n", cs->where.file,
		    cs->where.line, cs->name, tls_error_text(buf, sizeof(buf)));
	}
	SSL_CTX_free(ctx);
	return r;
}

static void
client_ext_free(SSL *ssl, unsigned int type, unsigned int context,
    const unsigned char *out, void *arg)
{
	(void)ssl; (void)type; (void)context; (void)out; (void)arg;
}

static int client_ext_index = -1;

static void
client_ext_ctx_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	free(ptr);
}

/* "h2,http/1.1" → the ALPN wire list offered by a client. */
static int
set_alpn(SSL_CTX *ctx, const char *list)
{
	unsigned char wire[512];
	size_t n = 0, len;
	const char *p = list, *end;

	while (*p != '\0') {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len > 255 || n + 1 + len > sizeof(wire))
			return DP_ERR_INVALID;
		wire[n++] = (unsigned char)len;
		memcpy(wire + n, p, len);
		n += len;
		p += len + (end != NULL);
	}
	return SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)n) == 0 ?
	    DP_OK : DP_ERR_TLS;
}

int
tls_client_ctx_new(const struct conf_client *cc,
    const struct tls_chain_source *chain, FILE *errs, SSL_CTX **out)
{
	SSL_CTX *ctx = NULL;
	struct client_ext *ce = NULL;
	int r = DP_ERR_TLS;

	*out = NULL;
	if (client_ext_index < 0)
		client_ext_index = SSL_CTX_get_ex_new_index(0, "dp client ext",
		    NULL, NULL, client_ext_ctx_free);
	if (indexes_init() != DP_OK || client_ext_index < 0 ||
	    (ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		goto out;
	if (set_versions(ctx, cc->tls_versions) != DP_OK)
		goto out;
	if ((r = load_cert_key(ctx, cc->cert_file, &cc->cert_where, cc->key_file,
	    &cc->key_where, errs)) != DP_OK)
		goto out;
	r = DP_ERR_TLS;
	if (cc->ca_file != NULL &&
	    SSL_CTX_load_verify_locations(ctx, cc->ca_file, NULL) != 1) {
		report(errs, &cc->ca_where, "ca_file", "cannot load CA file", cc->ca_file);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (cc->verify_server != VERIFY_PKIX && SSL_CTX_dane_enable(ctx) <= 0)
		goto out;
	if (cc->alpn[0] != '\0' && set_alpn(ctx, cc->alpn) != DP_OK) {
		if (errs != NULL)
			fprintf(errs, "%s:%d: alpn: cannot use '%s'\n",
			    cc->where.file, cc->where.line, cc->alpn);
		goto out;
	}
	if ((ce = calloc(1, sizeof(*ce))) == NULL) {
		r = DP_ERR_NOMEM;
		goto out;
	}
	if (clientid_encode(cc->client_name, ce->data, sizeof(ce->data), &ce->len) != DP_OK)
		goto out;
	if (!SSL_CTX_set_ex_data(ctx, client_ext_index, ce))
		goto out;
	ce = NULL;	/* owned by ctx, freed with it */
	if (SSL_CTX_add_custom_ext(ctx, cc->dane_clientid_type,
	    SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE |
	    (cc->legacy_clientid ? SSL_EXT_CLIENT_HELLO |
	    SSL_EXT_TLS1_2_SERVER_HELLO : 0),
	    client_ext_add, client_ext_free,
	    SSL_CTX_get_ex_data(ctx, client_ext_index), client_ext_parse, NULL) != 1) {
		ext_refused(errs, &cc->where, "dane_clientid_type",
		    cc->dane_clientid_type);
		goto out;
	}
	if (chain != NULL && SSL_CTX_add_custom_ext(ctx, cc->dane_chain_type,
	    SSL_EXT_TLS1_3_CERTIFICATE_REQUEST | SSL_EXT_TLS1_3_CERTIFICATE,
	    chain_client_add, NULL, (void *)chain, chain_client_parse,
	    NULL) != 1) {
		ext_refused(errs, &cc->where, "dane_chain_type",
		    cc->dane_chain_type);
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	r = DP_OK;
 out:
	free(ce);
	SSL_CTX_free(ctx);
	return r;
}

int
tls_client_prepare(SSL *ssl, const struct conf_client *cc)
{
	if (SSL_set_tlsext_host_name(ssl, cc->server_name) != 1 ||
	    SSL_set1_host(ssl, cc->server_name) != 1)
		return DP_ERR_TLS;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return DP_OK;
}

int
tls_client_use_tlsa(SSL *ssl, const struct conf_client *cc,
    const struct tlsa_rrset *set)
{
	size_t i;
	int usable = 0, bare_ta = 0;

	for (i = 0; i < set->n; i++)
		bare_ta |= tlsa_rr_is_bare_ta(&set->rr[i]);
	if (SSL_dane_enable(ssl, cc->server_name) <= 0)
		return DP_ERR_TLS;
	/* RFC 7671 §5.1: a DANE-EE match needs no name check. */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (i = 0; i < set->n; i++) {
		const struct tlsa_rr *rr = &set->rr[i];
		int r;

		/* Never a bare-key TA with PKIX records in one verification
		 * (tlsarr.h): the PKIX ones go, which can only refuse more. */
		if (bare_ta && rr->usage <= TLSA_USAGE_PKIX_EE)
			continue;
		r = SSL_dane_tlsa_add(ssl, rr->usage, rr->selector, rr->mtype,
		    rr->data, rr->len);
		if (r < 0)
			return DP_ERR_TLS;	/* not "unusable": no PKIX fallback */
		if (r > 0)
			usable++;
	}
	ERR_clear_error();	/* unusable records leave errors behind */
	return usable;
}
