/* main.c — command line, then the master (master.c) or a check. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

#include "checkcli.h"
#include "conf.h"
#include "err.h"
#include "log.h"
#include "master.h"
#include "tlsacli.h"
#include "worker.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: daneproxy [-t | -T] -c FILE\n"
	    "       daneproxy tlsa [--usage U] [--selector S] [--mtype M] --name NAME FILE\n"
	    "       daneproxy check -c FILE [--listener NAME] [--cert FILE] [--json] CLIENT_NAME\n"
	    "       daneproxy check -c FILE --connect [ROUTE] [--json]\n"
	    "       daneproxy -V | -h\n"
	    "\n"
	    "  -c FILE  configuration file (INI)\n"
	    "  -t       check the configuration (files, keys, addresses) and exit\n"
	    "  -T       like -t, then print the effective configuration\n"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n"
	    "\n"
	    "daneproxy check runs a listener's DANE decision for CLIENT_NAME (or a\n"
	    "route's, --connect) step by step and says why it would accept or\n"
	    "refuse: exit status 0 accept, 1 refuse, 2 usage or configuration error.\n"
	    "\n"
	    "Runs in the foreground and logs to stderr: a master process that\n"
	    "binds the sockets and supervises [global] workers worker processes.\n"
	    "SIGHUP reloads the configuration, certificates and keys (an invalid\n"
	    "one is logged and the running one kept); SIGTERM/SIGINT stop\n"
	    "accepting and let open connections finish (drain_timeout_ms); a\n"
	    "second one, or SIGQUIT, stops at once.\n");
}

int
main(int argc, char **argv)
{
	struct conf *conf = NULL;
	const char *path = NULL;
	int check = 0, dump = 0, ch;

	if (argc > 1 && strcmp(argv[1], "tlsa") == 0)
		return tlsa_cli_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "check") == 0)
		return check_cli_main(argc - 1, argv + 1);
	while ((ch = getopt(argc, argv, "c:tTVh")) != -1) {
		switch (ch) {
		case 'c': path = optarg; break;
		case 't': check = 1; break;
		case 'T': check = 1; dump = 1; break;
		case 'V': printf("daneproxy %s\n", DP_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (conf_load(path, stderr, &conf) != DP_OK)
		return 1;
	log_init(conf->global.log_level, conf->global.log_json);
	OPENSSL_init_ssl(0, NULL);
	if (worker_check(conf, stderr) != 0) {
		conf_free(conf);
		return 1;
	}
	if (check) {
		/* A warning, not an error: the record may be published later. */
		(void)check_self_routes(conf, stderr);
		if (dump)
			conf_dump(conf, stdout);
		fprintf(stderr, "%s: configuration OK\n", path);
		conf_free(conf);
		return 0;
	}
	return master_run(conf);	/* takes conf */
}
