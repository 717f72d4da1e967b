/* checkcli_server.c — daneproxy check, server side: the decision a [server]
 * listener makes about a client (checkrun.h). */
#include "checkrun.h"

#include <string.h>

#include "err.h"
#include "metrics.h"
#include "server.h"
#include "tlsa.h"

int
check_server(struct check_env *e, const struct conf_server *cs,
    const char *name, const char *cert_path, const struct check_cert *cert)
{
	struct report *r = &e->rep;
	struct dane_check d;
	/* The listener's rules, as server_listener_new sets them. */
	struct dane_rules rules = server_dane_rules(cs, e->cache,
	    mx_listener_get(MX_SERVER, cs->name));
	unsigned usable;
	int rc;

	memset(&d, 0, sizeof(d));
	report_str(r, "side", "server");
	report_str(r, "listener", cs->name);
	report_str(r, "name", name);
	report_str(r, "dns_mode", e->conf->dns.mode == DNS_MODE_VALIDATE ?
	    "validate" : "resolver-ad");
	report_line(r, "listener", "[server %s], [dns] mode %s", cs->name,
	    e->conf->dns.mode == DNS_MODE_VALIDATE ? "validate" : "resolver-ad");
	report_line(r, "name", "%s", name);
	report_str(r, "client_auth", cs->client_auth == CLIENT_AUTH_OPTIONAL ?
	    "optional" : "require");
	if (cs->client_auth == CLIENT_AUTH_OPTIONAL)
		report_line(r, "client_auth", "optional: a client refused here "
		    "still connects, and the upstream is told it is not verified");
	if (tlsa_matcher_new(cs->pkix_ca_file, &rules.matcher) != DP_OK) {
		report_line(r, "error", "pkix_ca_file: cannot load %s",
		    cs->pkix_ca_file != NULL ? cs->pkix_ca_file : "(none)");
		report_str(r, "error", "pkix_ca_file cannot be loaded");
		return CHECK_USAGE;
	}
	if (cert != NULL)
		check_cert_report(e, "cert", "cert", cert_path, cert);
	usable = check_lookup(e, "tlsa", &rules, cs->pkix_ca_file != NULL, name,
	    &d);
	if (d.verdict != DANE_RECORDS) {
		rc = check_verdict(e, 0, d.reason != NULL ? d.reason : "refused");
	} else if (cert != NULL) {
		check_match(e, "match", &d, cert, name);
		rc = check_verdict(e, d.verdict == DANE_MATCHED, d.reason);
	} else if (usable == 0) {
		rc = check_verdict(e, 0, "no usable TLSA record");
	} else {
		/* Everything a handshake needs but the client's key. */
		report_line(r, "match", "not tried (no --cert): a client "
		    "presenting a certificate that matches a usable record "
		    "would be authenticated");
		rc = check_verdict(e, 1, NULL);
	}
	dane_check_clear(&d);
	tlsa_matcher_free(rules.matcher);
	return rc;
}
