/* dnschain_digest.c — see dnschain.h. Apart from dnschain.c so that the one
 * OpenSSL include of the codec layer stays in one small file: libcrypto's
 * digest is pure computation (no I/O, no state), and no OpenSSL type
 * reaches dnschain.h. */
#include "dnschain.h"

#include <openssl/evp.h>

#include "err.h"

int
dnschain_digest(const unsigned char *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return DP_ERR_INTERNAL;
	return DP_OK;
}
