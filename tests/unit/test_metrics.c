/* test_metrics.c — the shared counters region and its exposition: listener
 * claims, worker slots taken in turn as two workers would, max_connections
 * across both, what a release folds, the text rendered (parsed back), slot
 * reuse, and a forked child counting into the shared mapping. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "metrics.h"
#include "tap.h"

/* ---- reading the exposition back ---- */

static char *text;
static size_t text_len;

static void
render(struct mx_region *r, const struct mx_master *m)
{
	free(text);
	text = NULL;
	if (metrics_render(r, m, &text, &text_len) != DP_OK) {
		diag("metrics_render failed");
		exit(1);
	}
}

/* The value of the sample whose name and labels are exactly series, or -1
 * when there is no such line (-2 when there are several). */
static long long
val(const char *series)
{
	size_t n = strlen(series);
	const char *p = text, *hit = NULL;
	int count = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			hit = p + n + 1;
			count++;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	if (count == 0)
		return -1;
	if (count > 1)
		return -2;
	return strtoll(hit, NULL, 10);
}

/* The value text of the sample (for non-integers), into buf. */
static const char *
val_str(const char *series, char *buf, size_t size)
{
	size_t n = strlen(series);
	const char *p = text;

	buf[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			size_t k = strcspn(p + n + 1, "\n");
			if (k >= size)
				k = size - 1;
			memcpy(buf, p + n + 1, k);
			buf[k] = '\0';
			return buf;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return buf;
}

static int
has_line(const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return 0;
}

static int
count_prefix(const char *prefix)
{
	size_t n = strlen(prefix);
	const char *p = text;
	int count = 0;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, n) == 0)
			count++;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return count;
}

/* Every sample line belongs to a family announced by # HELP and # TYPE
 * before it; every line ends with a newline. Returns the number of
 * problems (each reported). */
static int
check_format(void)
{
	char fam[256], type[32], help_line[300], line[1024];
	const char *p = text, *nl;
	int bad = 0, samples = 0;

	fam[0] = '\0';
	if (text_len == 0 || text[text_len - 1] != '\n') {
		diag("exposition does not end with a newline");
		bad++;
	}
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL || (size_t)(nl - p) >= sizeof(line)) {
			diag("line too long or unterminated");
			return bad + 1;
		}
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t k = strcspn(line + 7, " ");
			if (k >= sizeof(help_line))
				k = sizeof(help_line) - 1;
			memcpy(help_line, line + 7, k);
			help_line[k] = '\0';
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			if (sscanf(line + 7, "%255s %31s", fam, type) != 2 ||
			    strcmp(fam, help_line) != 0) {
				diag("TYPE without its HELP: %s", line);
				bad++;
			}
			continue;
		}
		samples++;
		{
			size_t n = strlen(fam);
			const char *rest = line + n;
			if (fam[0] == '\0' || strncmp(line, fam, n) != 0) {
				diag("sample outside its family: %s", line);
				bad++;
				continue;
			}
			if (strcmp(type, "histogram") == 0 &&
			    (strncmp(rest, "_bucket", 7) == 0 ||
			    strncmp(rest, "_sum", 4) == 0 ||
			    strncmp(rest, "_count", 6) == 0))
				rest += rest[1] == 'b' ? 7 : rest[1] == 's' ? 4 : 6;
			if (*rest != ' ' && *rest != '{') {
				diag("sample name not its family's: %s", line);
				bad++;
			}
		}
	}
	if (samples == 0)
		bad++;
	return bad;
}

/* ---- tests ---- */

static void
test_claims(struct mx_region *r)
{
	char longname[80];

	is_int(metrics_listener_claim(r, MX_SERVER, "web", "127.0.0.1:8443", 3),
	    0, "first listener: slot 0");
	is_int(metrics_listener_claim(r, MX_CLIENT, "out", "127.0.0.1:9000", 2),
	    1, "second listener: slot 1");
	is_int(metrics_listener_claim(r, MX_CLIENT, "web", "127.0.0.1:9001", 5),
	    2, "same name, other role: a slot of its own");
	is_int(metrics_listener_claim(r, MX_SERVER, "web", "127.0.0.1:8443", 3),
	    0, "claimed again: same slot");
	memset(longname, 'a', 65);
	longname[65] = '\0';
	is_int(metrics_listener_claim(r, MX_SERVER, longname, "x", 1),
	    DP_ERR_INVALID, "a name over 64 bytes is refused");
	longname[64] = '\0';
	is_int(metrics_listener_claim(r, MX_SERVER, longname, "x", 1), 3,
	    "a name of 64 bytes fits");
	metrics_listener_rollback(r);
	is_int(metrics_listener_claim(r, MX_SERVER, "web", "127.0.0.1:8443", 3),
	    0, "rollback freed the fresh claims: web gets slot 0 again");
	/* The rollback freed the fresh ones; claim the configuration again. */
	is_int(metrics_listener_claim(r, MX_CLIENT, "out", "127.0.0.1:9000", 2),
	    1, "claimed anew after the rollback: slot 1");
	is_int(metrics_listener_claim(r, MX_CLIENT, "web", "127.0.0.1:9001", 5),
	    2, "and slot 2");
	metrics_listener_commit(r);
}

static void
test_unattached(void)
{
	struct mx_listener *l = mx_listener_get(MX_SERVER, "web");
	int i, busy = 0;

	ok(l != NULL, "not attached: a listener handle all the same");
	for (i = 0; i < 10; i++)
		if (mx_conn_open(l) != DP_OK)
			busy++;
	is_int(busy, 0, "not attached: mx_conn_open never refuses");
	for (i = 0; i < 10; i++)
		mx_conn_close(l, MX_OUT_OK, 1, 1);
	mx_handshake_failure(l, MX_HS_TLS);
	mx_tlsa_cache_hit();
	mx_tlsa_lookup_start();
	mx_tlsa_lookup_done(DNS_SECURE, 10);
}

static void
test_two_workers(struct mx_region *r)
{
	struct mx_master m = { .generation = 1, .workers_configured = 2,
	    .workers_running = 2, .reloads_ok = 3, .reloads_failed = 1,
	    .worker_restarts = 4, .start_time = 1700000000, .ready = 1 };
	struct mx_listener *web, *out, *nosuch;
	int a, b;
	char buf[64];

	render(r, NULL);
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"ok\"}"), 0, "the sink's counts never reach the region");
	is_int(val("daneproxy_tlsa_cache_hits_total"), 0, "... nor its globals");

	a = metrics_slot_take(r, 1);
	b = metrics_slot_take(r, 1);
	is_int(a, 0, "first worker slot: 0");
	is_int(b, 1, "second worker slot: 1");
	metrics_slot_set_pid(r, a, 1001);
	metrics_slot_set_pid(r, b, 1002);

	/* Worker A. */
	metrics_worker_attach(r, a);
	web = mx_listener_get(MX_SERVER, "web");
	out = mx_listener_get(MX_CLIENT, "out");
	nosuch = mx_listener_get(MX_SERVER, "nosuch");
	ok(web != out && web != nosuch, "attached: distinct listener handles");
	ok(mx_listener_get(MX_CLIENT, "web") != web, "role tells apart");
	is_int(mx_conn_open(web), DP_OK, "A: 1st connection on web");
	is_int(mx_conn_open(web), DP_OK, "A: 2nd connection on web");
	is_int(mx_conn_open(nosuch), DP_OK, "unknown listener: the sink, never refused");
	mx_conn_close(nosuch, MX_OUT_OK, 100, 100);
	mx_handshake_failure(web, MX_HS_MISMATCH);
	mx_handshake_failure(web, MX_HS_NOT_ALLOWED);
	mx_dane(web, 3, 1);
	mx_dane(web, 2, 0);
	mx_dane(web, MX_USAGE_NONE, 0);
	mx_dane(web, 17, 0);
	mx_upstream_error(web, MX_UP_CONNECT_TIMEOUT);
	mx_station(web, MX_ST_BAD_ROUTER_INFO);
	mx_station(web, MX_ST_N);	/* out of range: ignored */
	mx_tlsa_cache_miss();
	mx_tlsa_cache_merged();
	mx_tlsa_cache_busy();
	mx_tlsa_lookup_start();
	mx_tlsa_lookup_done(DNS_SECURE, 500);		/* le 0.001 */
	mx_tlsa_lookup_start();
	mx_tlsa_lookup_done(DNS_BOGUS, 1000);		/* le 0.001 (le is <=) */
	mx_tlsa_lookup_start();				/* stays in flight */
	is_int(mx_conn_open(out), DP_OK, "A: 1st connection on out");
	mx_conn_close(out, MX_OUT_REFUSED, 10, 20);

	/* Worker B: the same listener, the shared count. */
	metrics_worker_attach(r, b);
	web = mx_listener_get(MX_SERVER, "web");
	is_int(mx_conn_open(web), DP_OK, "B: 3rd connection on web (max 3)");
	is_int(mx_conn_open(web), DP_ERR_BUSY, "B: 4th refused: max_connections "
	    "counts both workers");
	is_int(mx_conn_open(web), DP_ERR_BUSY, "B: 5th refused too");
	mx_conn_limit(web);
	mx_conn_close(web, MX_OUT_OK, 1000, 2000);
	is_int(mx_conn_open(web), DP_OK, "B: one closed, room for one more");
	mx_conn_close(web, MX_OUT_UNAUTHENTICATED, 1, 2);
	mx_tlsa_cache_hit();
	mx_tlsa_cache_hit();
	mx_tlsa_cache_merged();
	mx_tlsa_lookup_start();
	mx_tlsa_lookup_done(DNS_TIMEOUT, 20000000);	/* +Inf only */
	mx_tlsa_lookup_start();
	mx_tlsa_lookup_done(DNS_TEMPFAIL, 3000);	/* le 0.005 */
	mx_handshake_failure(web, MX_HS_MISMATCH);
	mx_log_suppressed(web);
	mx_log_suppressed(web);
	mx_ts002(web, MX_TS002_UNKNOWN_SENDER);
	mx_ts002(web, MX_TS002_N);	/* out of range: ignored */

	render(r, &m);
	is_int(check_format(), 0, "every sample has its family's HELP and TYPE");
	ok(has_line("# TYPE daneproxy_connections_total counter"), "TYPE counter line");
	ok(has_line("# TYPE daneproxy_connections_open gauge"), "TYPE gauge line");
	ok(has_line("# TYPE daneproxy_tlsa_lookup_duration_seconds histogram"),
	    "TYPE histogram line");
	is_int(val("daneproxy_connections_open{listener=\"web\",role=\"server\"}"),
	    2, "web: 2 open (A's two)");
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"ok\"}"), 1, "web: 1 ok");
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"unauthenticated\"}"), 1, "web: 1 unauthenticated");
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"limit\"}"), 3, "web: 3 limit (2 shared, 1 local)");
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"error\"}"), 0, "web: 0 error, shown all the same");
	is_int(val("daneproxy_connections_total{listener=\"out\",role=\"client\","
	    "outcome=\"refused\"}"), 1, "out: 1 refused");
	is_int(val("daneproxy_connections_open{listener=\"out\",role=\"client\"}"),
	    0, "out: 0 open");
	is_int(val("daneproxy_received_bytes_total{listener=\"web\",role=\"server\"}"),
	    1001, "web: bytes received");
	is_int(val("daneproxy_sent_bytes_total{listener=\"web\",role=\"server\"}"),
	    2002, "web: bytes sent");
	is_int(val("daneproxy_received_bytes_total{listener=\"out\",role=\"client\"}"),
	    10, "out: bytes received");
	is_int(val("daneproxy_handshake_failures_total{listener=\"web\","
	    "role=\"server\",reason=\"mismatch\"}"), 2, "web: 2 mismatches (A + B)");
	is_int(val("daneproxy_handshake_failures_total{listener=\"web\","
	    "role=\"server\",reason=\"not_allowed\"}"), 1, "web: 1 not_allowed");
	is_int(val("daneproxy_handshake_failures_total{listener=\"web\","
	    "role=\"server\",reason=\"busy\"}"), 0, "web: busy shown as 0");
	is_int(count_prefix("daneproxy_handshake_failures_total{listener=\"web\","
	    "role=\"server\","), MX_HS_N, "web: every handshake failure reason");
	is_int(val("daneproxy_dane_verifications_total{listener=\"web\","
	    "role=\"server\",usage=\"dane-ee\",result=\"match\"}"), 1,
	    "web: dane-ee match");
	is_int(val("daneproxy_dane_verifications_total{listener=\"web\","
	    "role=\"server\",usage=\"dane-ta\",result=\"mismatch\"}"), 1,
	    "web: dane-ta mismatch");
	is_int(val("daneproxy_dane_verifications_total{listener=\"web\","
	    "role=\"server\",usage=\"mixed\",result=\"mismatch\"}"), 2,
	    "web: mixed mismatch (an out-of-range usage counts there)");
	is_int(count_prefix("daneproxy_dane_verifications_total{listener=\"out\","),
	    MX_USAGES * 2 - 1, "out: every usage x result (no mixed match)");
	is_int(val("daneproxy_upstream_errors_total{listener=\"web\",role=\"server\","
	    "reason=\"connect_timeout\"}"), 1, "web: 1 connect timeout");
	is_int(count_prefix("daneproxy_upstream_errors_total{"), 3 * MX_UP_N,
	    "three listeners x every upstream reason");
	is_int(val("daneproxy_station_total{listener=\"web\",role=\"server\","
	    "result=\"bad_router_info\"}"), 1, "web: 1 bad router-info");
	is_int(val("daneproxy_station_total{listener=\"web\",role=\"server\","
	    "result=\"bound\"}"), 0, "web: station bound shown with 0");
	is_int(count_prefix("daneproxy_station_total{"), 3 * MX_ST_N,
	    "three listeners x every station result");
	is_int(val("daneproxy_log_suppressed_total{listener=\"web\","
	    "role=\"server\"}"), 2, "web: 2 log lines suppressed");
	is_int(val("daneproxy_ts002_total{listener=\"web\",role=\"server\","
	    "result=\"unknown_sender\"}"), 1, "web: 1 TS002 unknown sender");
	is_int(count_prefix("daneproxy_ts002_total{"), 3 * MX_TS002_N,
	    "three listeners x every TS002 result");
	is_int(val("daneproxy_log_suppressed_total{listener=\"out\","
	    "role=\"client\"}"), 0, "out: shown with 0");
	is_str(mx_hs_reason_name(MX_HS_MISMATCH), "mismatch",
	    "mx_hs_reason_name: the label's name");
	is_str(mx_hs_reason_name(MX_HS_N), "unknown",
	    "mx_hs_reason_name: out of range");
	is_int(val("daneproxy_tlsa_cache_hits_total"), 2, "cache hits summed");
	is_int(val("daneproxy_tlsa_cache_misses_total"), 3,
	    "cache misses summed: 1 started, 2 merged");
	is_int(val("daneproxy_tlsa_cache_merged_total"), 2, "merged joins summed");
	is_int(val("daneproxy_tlsa_cache_busy_total"), 1, "busy refusals");
	is_int(val("daneproxy_tlsa_lookups_in_flight"), 1, "1 lookup in flight");
	is_int(val("daneproxy_tlsa_lookups_total{result=\"secure\"}"), 1, "1 secure");
	is_int(val("daneproxy_tlsa_lookups_total{result=\"bogus\"}"), 1, "1 bogus");
	is_int(val("daneproxy_tlsa_lookups_total{result=\"timeout\"}"), 1, "1 timeout");
	is_int(val("daneproxy_tlsa_lookups_total{result=\"error\"}"), 1,
	    "1 error (DNS_TEMPFAIL)");
	is_int(val("daneproxy_tlsa_lookups_total{result=\"nodata\"}"), 0, "0 nodata");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_bucket{le=\"0.001\"}"),
	    2, "histogram: 2 within 1 ms");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_bucket{le=\"0.0025\"}"),
	    2, "histogram: cumulative, 2 within 2.5 ms");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_bucket{le=\"0.005\"}"),
	    3, "histogram: 3 within 5 ms");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_bucket{le=\"10\"}"),
	    3, "histogram: 3 within 10 s");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_bucket{le=\"+Inf\"}"),
	    4, "histogram: +Inf holds all 4");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_count"), 4,
	    "histogram: count == +Inf");
	is_str(val_str("daneproxy_tlsa_lookup_duration_seconds_sum", buf,
	    sizeof(buf)), "20.004500", "histogram: sum in seconds");
	is_int(count_prefix("daneproxy_tlsa_lookup_duration_seconds_bucket{"),
	    MX_LATENCY_BUCKETS + 1, "histogram: 13 buckets and +Inf");
	is_int(val("daneproxy_workers"), 2, "workers");
	is_int(val("daneproxy_workers_configured"), 2, "workers_configured");
	is_int(val("daneproxy_config_generation"), 1, "config_generation");
	is_int(val("daneproxy_reloads_total{result=\"ok\"}"), 3, "reloads ok");
	is_int(val("daneproxy_reloads_total{result=\"failed\"}"), 1, "reloads failed");
	is_int(val("daneproxy_worker_restarts_total"), 4, "worker restarts");
	is_int(val("daneproxy_ready"), 1, "ready");
	is_int(val("daneproxy_start_time_seconds"), 1700000000, "start time");
	is_int(val("daneproxy_build_info{version=\"" DP_VERSION "\"}"), 1,
	    "build_info");

	/* Worker A dies with its two open connections and a lookup in flight. */
	metrics_worker_attach(NULL, -1);
	metrics_slot_release(r, a);
	render(r, &m);
	is_int(val("daneproxy_connections_open{listener=\"web\",role=\"server\"}"),
	    0, "A released: its open connections leave the shared count");
	is_int(val("daneproxy_tlsa_lookups_in_flight"), 0,
	    "A released: its lookup in flight is gone");
	is_int(val("daneproxy_handshake_failures_total{listener=\"web\","
	    "role=\"server\",reason=\"mismatch\"}"), 2,
	    "A released: its counters stay (retired)");
	is_int(val("daneproxy_connections_total{listener=\"out\",role=\"client\","
	    "outcome=\"refused\"}"), 1, "A released: out's refusal stays");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_count"), 4,
	    "A released: histogram count unchanged");
	is_int(val("daneproxy_tlsa_cache_misses_total"), 3,
	    "A released: cache misses stay");
	is_int(val("daneproxy_tlsa_cache_merged_total"), 2,
	    "A released: merged joins stay");
	is_int(val("daneproxy_tlsa_cache_busy_total"), 1,
	    "A released: busy refusal stays");

	/* A new worker takes the freed slot, which starts from zero. */
	a = metrics_slot_take(r, 2);
	is_int(a, 0, "slot 0 reused");
	metrics_worker_attach(r, a);
	web = mx_listener_get(MX_SERVER, "web");
	is_int(mx_conn_open(web), DP_OK, "new worker: opens on web");
	mx_conn_close(web, MX_OUT_ERROR, 5, 6);
	render(r, &m);
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"error\"}"), 1, "reused slot counts from zero");
	is_int(val("daneproxy_handshake_failures_total{listener=\"web\","
	    "role=\"server\",reason=\"mismatch\"}"), 2,
	    "reused slot: nothing counted twice");
	metrics_worker_attach(NULL, -1);
	metrics_slot_release(r, a);
	metrics_slot_release(r, b);
	metrics_slot_release(r, b);	/* twice: no effect */
	render(r, &m);
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"limit\"}"), 3, "all released: totals stay");
	is_int(val("daneproxy_received_bytes_total{listener=\"web\",role=\"server\"}"),
	    1006, "all released: bytes stay");
	is_int(val("daneproxy_log_suppressed_total{listener=\"web\","
	    "role=\"server\"}"), 2, "all released: suppressed lines stay");
}

static void
test_slots_full(struct mx_region *r)
{
	int i, s, full = 1;

	for (i = 0; i < MX_MAX_SLOTS; i++)
		if (metrics_slot_take(r, 3) != i)
			full = 0;
	ok(full, "all %d worker slots taken in order", MX_MAX_SLOTS);
	is_int(metrics_slot_take(r, 3), DP_ERR_SPACE, "then DP_ERR_SPACE");
	metrics_slot_release(r, 77);
	s = metrics_slot_take(r, 3);
	is_int(s, 77, "the one released is the one taken next");
	for (i = 0; i < MX_MAX_SLOTS; i++)
		metrics_slot_release(r, i);
}

static void
test_listener_reuse(struct mx_region *r)
{
	char name[32];
	int i, s, held, ok_all = 1;
	struct mx_listener *l;

	/* Slots 0..2 hold web/server, out/client, web/client: claimed again
	 * with the rest, as one configuration. */
	metrics_listener_claim(r, MX_SERVER, "web", "127.0.0.1:8443", 3);
	metrics_listener_claim(r, MX_CLIENT, "out", "127.0.0.1:9000", 2);
	metrics_listener_claim(r, MX_CLIENT, "web", "127.0.0.1:9001", 5);
	for (i = 3; i < MX_MAX_LISTENERS; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		if (metrics_listener_claim(r, MX_SERVER, name, "127.0.0.1:1", 10) != i)
			ok_all = 0;
	}
	ok(ok_all, "listeners 3..%d claimed", MX_MAX_LISTENERS - 1);
	is_int(metrics_listener_claim(r, MX_SERVER, "one-too-many", "x", 1),
	    DP_ERR_SPACE, "no free listener slot: DP_ERR_SPACE");
	metrics_listener_commit(r);

	/* A connection stays open on l5 in a worker. */
	s = metrics_slot_take(r, 4);
	metrics_worker_attach(r, s);
	l = mx_listener_get(MX_SERVER, "l5");
	is_int(mx_conn_open(l), DP_OK, "a connection open on l5");
	l = mx_listener_get(MX_SERVER, "l3");
	mx_handshake_failure(l, MX_HS_BUSY);
	metrics_worker_attach(NULL, -1);

	/* The next configuration keeps only web/server, l3 and l5. */
	is_int(metrics_listener_claim(r, MX_SERVER, "web", "127.0.0.1:8443", 3),
	    0, "reload: web keeps slot 0");
	is_int(metrics_listener_claim(r, MX_SERVER, "l3", "127.0.0.1:1", 10), 3,
	    "reload: l3 keeps slot 3");
	is_int(metrics_listener_claim(r, MX_SERVER, "l5", "127.0.0.1:1", 10), 5,
	    "reload: l5 keeps slot 5");
	/* Not committed yet: the old ones are still configured. */
	is_int(metrics_listener_claim(r, MX_SERVER, "fresh", "x", 1), DP_ERR_SPACE,
	    "before the commit, nothing is reusable");
	metrics_listener_commit(r);
	render(r, NULL);
	is_int(val("daneproxy_connections_open{listener=\"out\",role=\"client\"}"),
	    0, "after the commit, a listener gone is still shown");
	held = metrics_listener_claim(r, MX_SERVER, "fresh", "x", 1);
	is_int(held, 1, "after the commit, the first unconfigured slot is reused");
	render(r, NULL);
	is_int(val("daneproxy_connections_total{listener=\"out\",role=\"client\","
	    "outcome=\"refused\"}"), -1, "the listener it held is gone");
	is_int(val("daneproxy_connections_total{listener=\"fresh\",role=\"server\","
	    "outcome=\"refused\"}"), 0, "... and its counters did not pass on");
	is_int(val("daneproxy_handshake_failures_total{listener=\"l3\","
	    "role=\"server\",reason=\"busy\"}"), 1, "l3 kept its counters");
	metrics_listener_commit(r);	/* only "fresh" claimed: l3, l5 go */

	/* l5 has an open connection: never reused while it has. */
	ok_all = 1;
	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		if ((s = metrics_listener_claim(r, MX_SERVER, name, "x", 1)) < 0)
			break;
		if (s == 5)
			ok_all = 0;
	}
	ok(ok_all, "a listener with open connections keeps its slot");
	is_int(s, DP_ERR_SPACE, "... so the 63rd claim finds no slot");
	is_int(i, MX_MAX_LISTENERS - 2, "62 slots were free to reuse");
	metrics_listener_rollback(r);
	render(r, NULL);
	is_int(val("daneproxy_connections_open{listener=\"l5\",role=\"server\"}"),
	    1, "rollback: l5 shown again with its open connection");
	is_int(val("daneproxy_connections_open{listener=\"l4\",role=\"server\"}"),
	    -1, "rollback: a listener whose slot was reused does not come back");
	is_int(count_prefix("daneproxy_connections_open{listener=\"m"), 0,
	    "rollback: the fresh claims are forgotten");
	for (s = 0; s < MX_MAX_SLOTS; s++)
		metrics_slot_release(r, s);
	render(r, NULL);
	is_int(val("daneproxy_connections_open{listener=\"l5\",role=\"server\"}"),
	    0, "the worker released: l5 has none open");
}

static void
test_escape(void)
{
	struct mx_region *r = NULL;
	int i;

	if (metrics_region_new(&r) != DP_OK) {
		ok(0, "region");
		return;
	}
	i = metrics_listener_claim(r, MX_SERVER, "a\"b\\c\nd", "x", 1);
	is_int(i, 0, "an odd name claimed");
	render(r, NULL);
	ok(has_line("daneproxy_connections_open{listener=\"a\\\"b\\\\c\\nd\","
	    "role=\"server\"} 0"), "label value escaped");
	is_int(check_format(), 0, "format intact with an odd name");
	metrics_region_free(r);
}

static void
test_fork(void)
{
	struct mx_region *r = NULL;
	struct mx_listener *l;
	pid_t pid;
	int s, st = 0;

	if (metrics_region_new(&r) != DP_OK) {
		ok(0, "region");
		return;
	}
	metrics_listener_claim(r, MX_SERVER, "web", "127.0.0.1:8443", 100);
	metrics_listener_commit(r);
	s = metrics_slot_take(r, 1);
	fflush(stdout);
	if ((pid = fork()) < 0) {
		ok(0, "fork");
		return;
	}
	if (pid == 0) {
		int i;

		metrics_worker_attach(r, s);
		l = mx_listener_get(MX_SERVER, "web");
		for (i = 0; i < 7; i++)
			if (mx_conn_open(l) != DP_OK)
				_exit(2);
		for (i = 0; i < 5; i++)
			mx_conn_close(l, MX_OUT_OK, 100, 200);
		mx_handshake_failure(l, MX_HS_DNS_BOGUS);
		mx_tlsa_cache_miss();
		mx_tlsa_lookup_start();
		mx_tlsa_lookup_done(DNS_SECURE, 42000);
		_exit(0);
	}
	metrics_slot_set_pid(r, s, pid);
	ok(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "child counted and exited");
	render(r, NULL);
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"ok\"}"), 5, "parent sees the child's 5 ok connections");
	is_int(val("daneproxy_connections_open{listener=\"web\",role=\"server\"}"),
	    2, "parent sees the child's 2 still open");
	is_int(val("daneproxy_sent_bytes_total{listener=\"web\",role=\"server\"}"),
	    1000, "parent sees the child's bytes");
	is_int(val("daneproxy_handshake_failures_total{listener=\"web\","
	    "role=\"server\",reason=\"dns_bogus\"}"), 1, "... and its failure");
	is_int(val("daneproxy_tlsa_lookup_duration_seconds_bucket{le=\"0.05\"}"),
	    1, "... and its lookup latency");
	metrics_slot_release(r, s);
	render(r, NULL);
	is_int(val("daneproxy_connections_open{listener=\"web\",role=\"server\"}"),
	    0, "child's slot released: its open connections are gone");
	is_int(val("daneproxy_connections_total{listener=\"web\",role=\"server\","
	    "outcome=\"ok\"}"), 5, "... its counters retired, not lost");
	metrics_region_free(r);
}

int
main(void)
{
	struct mx_region *r = NULL;

	is_int(metrics_region_new(&r), DP_OK, "region mapped");
	if (r == NULL)
		return done_testing();
	test_claims(r);
	test_unattached();
	test_two_workers(r);
	test_slots_full(r);
	test_listener_reuse(r);
	metrics_region_free(r);
	test_escape();
	test_fork();
	free(text);
	return done_testing();
}
