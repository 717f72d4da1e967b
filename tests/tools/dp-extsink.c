/* dp-extsink — a TLS 1.3 server that asks for custom extensions in its
 * CertificateRequest and records what a client puts in its leaf
 * CertificateEntry: a stand-in for daneproxy's server role when a test wants
 * the exact bytes a client sends (dp-testclient --dnssec-chain, the client
 * role's stapled chain, dane_clientid).
 *
 *   dp-extsink --cert F --key F --ext-type N [--ext-type N]...
 *              [--count N] [--out-prefix P] [--port-file F]
 *
 * Binds 127.0.0.1 port 0, writes the port into --port-file (written to a
 * temporary name, then renamed) and prints "listening 127.0.0.1:PORT".
 * Each --ext-type is sent EMPTY in the CertificateRequest (as the server
 * role sends dane_clientid's and the chain's). For each of --count
 * connections (default 1), one at a time, after the handshake: one line per
 * type
 *   conn=K ext=0xNNNN sent=0|1 len=N sha256=HEX|-
 * and with --out-prefix the bytes in P.K.0xNNNN (K from 1). A handshake
 * that fails prints "conn=K error=..." and counts. Exit 0 after --count
 * connections, 2 on usage or setup errors. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "err.h"
#include "util.h"

#define XS_TYPES_MAX 8

/* What one connection's client sent, per type asked. */
struct xs_got {
	int sent[XS_TYPES_MAX];
	unsigned char *data[XS_TYPES_MAX];	/* owned */
	size_t len[XS_TYPES_MAX];
};

static unsigned int xs_types[XS_TYPES_MAX];
static size_t xs_ntypes;

static int
xs_index(unsigned int type)
{
	size_t i;

	for (i = 0; i < xs_ntypes; i++)
		if (xs_types[i] == type)
			return (int)i;
	return -1;
}

/* The CertificateRequest carries each type, empty. */
static int
xs_add(SSL *s, unsigned int type, unsigned int context,
    const unsigned char **out, size_t *outlen, X509 *x, size_t chainidx,
    int *al, void *arg)
{
	if (context != SSL_EXT_TLS1_3_CERTIFICATE_REQUEST)
		return 0;
	*out = NULL;
	*outlen = 0;
	return 1;
}

/* The client's leaf entry: keep the bytes. */
static int
xs_parse(SSL *s, unsigned int type, unsigned int context,
    const unsigned char *in, size_t inlen, X509 *x, size_t chainidx,
    int *al, void *arg)
{
	struct xs_got *g = SSL_get_app_data(s);
	int i = xs_index(type);

	if (g == NULL || i < 0 || context != SSL_EXT_TLS1_3_CERTIFICATE ||
	    chainidx != 0)
		return 1;
	free(g->data[i]);
	g->data[i] = malloc(inlen > 0 ? inlen : 1);
	if (g->data[i] == NULL)
		return 0;
	memcpy(g->data[i], in, inlen);
	g->len[i] = inlen;
	g->sent[i] = 1;
	return 1;
}

/* Any client certificate: the extensions are what is recorded. */
static int
xs_verify(int ok, X509_STORE_CTX *ctx)
{
	return 1;
}

static void
xs_report(const struct xs_got *g, unsigned long k, const char *prefix)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char path[4096];
	size_t i, b;
	FILE *f;

	for (i = 0; i < xs_ntypes; i++) {
		printf("conn=%lu ext=0x%04x sent=%d len=%zu sha256=", k,
		    xs_types[i], g->sent[i], g->len[i]);
		if (g->sent[i]) {
			SHA256(g->data[i], g->len[i], md);
			for (b = 0; b < sizeof(md); b++)
				printf("%02x", md[b]);
		} else
			printf("-");
		printf("\n");
		if (prefix == NULL || !g->sent[i])
			continue;
		snprintf(path, sizeof(path), "%s.%lu.0x%04x", prefix, k,
		    xs_types[i]);
		if ((f = fopen(path, "wb")) == NULL ||
		    fwrite(g->data[i], 1, g->len[i], f) != g->len[i] ||
		    fclose(f) != 0)
			fprintf(stderr, "dp-extsink: %s: %s\n", path,
			    strerror(errno));
	}
	fflush(stdout);
}

static int
xs_port_file(const char *path, unsigned int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fprintf(f, "%u\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

static void
xs_usage(void)
{
	fputs("usage: dp-extsink --cert F --key F --ext-type N [--ext-type N]..."
	    "\n         [--count N] [--out-prefix P] [--port-file F]\n",
	    stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "ext-type", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "out-prefix", required_argument, NULL, 'o' },
		{ "port-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert = NULL, *key = NULL, *prefix = NULL, *port_file = NULL;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	unsigned long count = 1, k;
	SSL_CTX *ctx = NULL;
	uint64_t v;
	size_t i;
	int ch, lfd = -1, fd;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'o': prefix = optarg; break;
		case 'p': port_file = optarg; break;
		case 't':
			if (xs_ntypes == XS_TYPES_MAX ||
			    dp_parse_uint(optarg, 0, 0xffff, &v) != DP_OK)
				xs_usage();
			xs_types[xs_ntypes++] = (unsigned int)v;
			break;
		case 'n':
			if (dp_parse_uint(optarg, 1, 1000000, &v) != DP_OK)
				xs_usage();
			count = (unsigned long)v;
			break;
		default:
			xs_usage();
		}
	}
	if (optind != argc || cert == NULL || key == NULL || xs_ntypes == 0)
		xs_usage();

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_use_certificate_chain_file(ctx, cert) ||
	    !SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM))
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, xs_verify);
	SSL_CTX_set_num_tickets(ctx, 0);
	for (i = 0; i < xs_ntypes; i++)
		if (!SSL_CTX_add_custom_ext(ctx, xs_types[i],
		    SSL_EXT_TLS1_3_CERTIFICATE_REQUEST |
		    SSL_EXT_TLS1_3_CERTIFICATE, xs_add, NULL, NULL, xs_parse,
		    NULL))
			goto fail;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 16) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("dp-extsink: listen");
		goto fail;
	}
	if (port_file != NULL &&
	    xs_port_file(port_file, ntohs(sa.sin_port)) != 0) {
		perror("dp-extsink: port file");
		goto fail;
	}
	printf("listening 127.0.0.1:%u\n", ntohs(sa.sin_port));
	fflush(stdout);

	for (k = 1; k <= count; k++) {
		struct xs_got g = { { 0 }, { NULL }, { 0 } };
		SSL *ssl;
		char buf[256];

		if ((fd = accept(lfd, NULL, NULL)) < 0) {
			if (errno == EINTR) {
				k--;
				continue;
			}
			perror("dp-extsink: accept");
			goto fail;
		}
		if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd))
			goto fail;
		SSL_set_app_data(ssl, &g);
		if (SSL_accept(ssl) == 1) {
			xs_report(&g, k, prefix);
			SSL_shutdown(ssl);
		} else {
			ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
			printf("conn=%lu error=%s\n", k, buf);
			fflush(stdout);
			ERR_clear_error();
		}
		SSL_free(ssl);
		close(fd);
		for (i = 0; i < xs_ntypes; i++)
			free(g.data[i]);
	}
	close(lfd);
	SSL_CTX_free(ctx);
	return 0;
 fail:
	ERR_print_errors_fp(stderr);
	if (lfd >= 0)
		close(lfd);
	SSL_CTX_free(ctx);
	return 2;
}
