/* checkcli.h — "daneproxy check": runs, for one name, exactly the DANE
 * decision a listener or route of a configuration would make, step by step,
 * with the real DNS client and cache on an event loop, and says why it
 * would accept or refuse.
 *
 *   server side: [server] LISTENER's allow list, the TLSA lookup of
 *     CLIENT_NAME and, with --cert, the certificate matched against it;
 *   client side (--connect): [client] ROUTE's own client_name record against
 *     its own certificate, then the remote's TLSA lookup, a real TLS
 *     connection sending dane_clientid, and the remote's chain matched. */
#ifndef DP_CHECKCLI_H
#define DP_CHECKCLI_H

#include <stdio.h>

/* Runs the subcommand (argv[0] = "check"); returns the process exit status:
 * 0 a handshake would succeed, 1 it would be refused, 2 usage or
 * configuration error (message on stderr). */
int check_cli_main(int argc, char **argv);

struct conf;

/* For daneproxy -t: the self-check of every [client] route with
 * self_check on (check_self), each failure written to warn as "FILE:LINE:
 * self_check: warning: ...". Each lookup waits at most [dns] timeout_ms,
 * and never more than a second.
 * Returns the number of routes whose own record does not match. */
int check_self_routes(const struct conf *c, FILE *warn);

#endif
