/* tlsacli.c — see tlsacli.h. */
#include "tlsacli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "clientid.h"
#include "err.h"
#include "util.h"

static void
tlsa_usage(FILE *f)
{
	fprintf(f,
	    "usage: daneproxy tlsa [--usage 3] [--selector 1] [--mtype 1] --name NAME FILE\n"
	    "\n"
	    "Prints the TLSA record for the certificate or key in FILE (PEM), to publish\n"
	    "at NAME. --usage 0..3 (3 DANE-EE, 2 DANE-TA), --selector 0 (whole\n"
	    "certificate; needs a certificate) or 1 (public key), --mtype 0 (full),\n"
	    "1 (SHA-256) or 2 (SHA-512).\n");
}

/* The DER the selector points at, from a certificate or (selector 1) a
 * private or public key. Returns a length > 0 and *der (OPENSSL_free), or 0
 * with a message on stderr. */
static int
selected_der(const char *path, int selector, unsigned char **der)
{
	FILE *f = fopen(path, "r");
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	int n = 0;

	*der = NULL;
	if (f == NULL) {
		perror(path);
		return 0;
	}
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		rewind(f);
		if ((pk = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
			rewind(f);
			pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		}
	}
	fclose(f);
	if (x == NULL && pk == NULL)
		fprintf(stderr, "%s: no PEM certificate or key\n", path);
	else if (selector == 0 && x == NULL)
		fprintf(stderr, "%s: selector 0 needs a certificate, not a key\n", path);
	else if (selector == 0)
		n = i2d_X509(x, der);
	else
		n = i2d_PUBKEY(x != NULL ? X509_get0_pubkey(x) : pk, der);
	X509_free(x);
	EVP_PKEY_free(pk);	/* the key material itself is never printed */
	return n > 0 ? n : 0;
}

int
tlsa_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "usage", required_argument, NULL, 'u' },
		{ "selector", required_argument, NULL, 's' },
		{ "mtype", required_argument, NULL, 'm' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t usage = 3, selector = 1, mtype = 1;
	char name[CLIENTID_NAME_MAX + 2] = "";
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	const unsigned char *data;
	unsigned int mdlen = 0;
	size_t len, i;
	int ch, n, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "u:s:m:n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			if (dp_parse_uint(optarg, 0, 3, &usage) != DP_OK)
				goto bad_usage;
			break;
		case 's':
			if (dp_parse_uint(optarg, 0, 1, &selector) != DP_OK)
				goto bad_usage;
			break;
		case 'm':
			if (dp_parse_uint(optarg, 0, 2, &mtype) != DP_OK)
				goto bad_usage;
			break;
		case 'n':
			dp_strlcpy(name, optarg, sizeof(name));
			break;
		case 'h':
			tlsa_usage(stdout);
			return 0;
		default:
			goto bad_usage;
		}
	}
	if (optind != argc - 1 || name[0] == '\0')
		goto bad_usage;
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		name[--len] = '\0';
	if (dp_dns_name_check(name, len) != DP_OK) {
		fprintf(stderr, "daneproxy tlsa: '%s' is not a valid DNS name\n", name);
		return 1;
	}
	dp_str_lower(name);
	if ((n = selected_der(argv[optind], (int)selector, &der)) == 0)
		return 1;
	data = der;
	len = (size_t)n;
	if (mtype != 0) {
		if (EVP_Digest(der, (size_t)n, md, &mdlen, mtype == 1 ?
		    EVP_sha256() : EVP_sha512(), NULL) != 1) {
			fprintf(stderr, "daneproxy tlsa: digest failed\n");
			goto out;
		}
		data = md;
		len = mdlen;
	}
	printf("%s. IN TLSA %u %u %u ", name, (unsigned)usage,
	    (unsigned)selector, (unsigned)mtype);
	for (i = 0; i < len; i++)
		printf("%02x", data[i]);
	printf("\n");
	rc = 0;
 out:
	OPENSSL_free(der);
	return rc;
 bad_usage:
	tlsa_usage(stderr);
	return 2;
}
