/* tlsacli.h — "daneproxy tlsa": prints the TLSA record to publish for a
 * certificate or key, in zone-file presentation format. */
#ifndef DP_TLSACLI_H
#define DP_TLSACLI_H

/* Runs the subcommand (argv[0] = "tlsa"); returns the process exit status:
 * 0 printed, 1 bad input (message on stderr), 2 usage. */
int tlsa_cli_main(int argc, char **argv);

#endif
