/* tls.h — SSL_CTX construction for both roles and the dane_clientid
 * extension (draft-ietf-dance-client-auth: the server asks in its
 * CertificateRequest, the client answers in its leaf CertificateEntry).
 *
 * The extension callbacks need somewhere to put what they find: the
 * connection attaches a struct tls_clientid to its SSL with
 * tls_clientid_attach() before the handshake starts. */
#ifndef DP_TLS_H
#define DP_TLS_H

#include <stdio.h>

#include <openssl/ssl.h>

#include "clientid.h"
#include "conf.h"
#include "tlsa.h"

/* What the server learnt from the client's leaf CertificateEntry. */
struct tls_clientid {
	int seen;			/* the extension was present */
	int malformed;			/* present but not a valid ClientName */
	char name[CLIENTID_NAME_MAX + 1];	/* lower-cased, when seen && !malformed */
	/* The stapled chain extension (stapled_chain != off): */
	int chain_seen;			/* present in the leaf entry */
	size_t chain_len;		/* its data's length */
	unsigned char *chain;		/* a copy of the data (malloc'd), NULL
					 * when over max_chain_bytes */
};

/* Where a client context finds the chain to staple (dane/staple.h's, for a
 * route): get returns its length and sets *data, or returns 0 when there is
 * none to send now. chain must outlive the context. */
struct tls_chain_source {
	size_t (*get)(void *arg, const unsigned char **data);
	void *arg;
};

/* Frees what st holds (the chain's copy). */
void tls_clientid_clear(struct tls_clientid *st);

/* Builds the server-role context of a listener: certificate chain and key
 * (checked to match), protocol versions, a CertificateRequest on every
 * handshake carrying dane_clientid, no session resumption (a resumed session
 * would skip the DANE check), SSL_MODE_RELEASE_BUFFERS. The caller installs
 * the certificate verification callback. Problems are written to errs as
 * "FILE:LINE: key: reason". Returns DP_OK or DP_ERR_TLS. */
int tls_server_ctx_new(const struct conf_server *cs, FILE *errs, SSL_CTX **out);

/* Builds the client-role context of a route: client certificate and key,
 * dane_clientid answered with client_name when the server asks, with
 * chain (staple_chain = yes; NULL: no) the chain it gives answering the
 * server's empty dane_chain_type extension (nothing while it has none),
 * server
 * authenticated by ca_file (peer name set per connection with
 * tls_client_prepare). Returns DP_OK or DP_ERR_TLS. */
int tls_client_ctx_new(const struct conf_client *cc,
    const struct tls_chain_source *chain, FILE *errs, SSL_CTX **out);

/* Prepares a new client SSL: SNI and host name check on cc->server_name. */
int tls_client_prepare(SSL *ssl, const struct conf_client *cc);

/* Makes a prepared client SSL authenticate the server by the TLSA records
 * of set (OpenSSL's DANE: DANE-EE without name checks, DANE-TA with the
 * server_name check; PKIX-TA/EE against ca_file). Returns the number of
 * usable records added (0: none usable, DANE is not in force) or
 * DP_ERR_TLS. */
int tls_client_use_tlsa(SSL *ssl, const struct conf_client *cc,
    const struct tlsa_rrset *set);

/* Attaches st (not owned, must outlive the handshake) to ssl; NULL detaches
 * it (the extension is then ignored). */
int tls_clientid_attach(SSL *ssl, struct tls_clientid *st);

/* Index of the SSL ex_data slot where connections keep their own pointer. */
int tls_conn_index(void);

/* Writes the text of OpenSSL's error queue (then clears it) into buf. */
char *tls_error_text(char *buf, size_t buf_size);

/* "EC256", "RSA2048", … for a key; buf >= 16 bytes. */
char *tls_key_alg(EVP_PKEY *pkey, char *buf, size_t buf_size);

#endif
