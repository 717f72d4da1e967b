/* metrics_expo.c — the Prometheus text exposition of metrics.c: each
 * listener's counters summed over the retired and the live blocks, the
 * TLSA cache and lookups, the master's own numbers; and the names the
 * counters are shown by (an outcome's also in log lines). */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "mxregion.h"

#define MX_RENDER_MAX (16u << 20)	/* exposition size cap, bytes */

/* The le labels of the latency buckets: mx_bucket_usec (metrics.c) in
 * seconds. */
static const char *const mx_bucket_le[MX_LATENCY_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10",
};

static const char *const mx_outcome_names[MX_OUT_N] = {
	"ok", "unauthenticated", "refused", "error", "limit", "denied",
	"revoked",
};
static const char *const mx_rc_names[MX_RC_N] = {
	"valid", "revoked", "closed", "dns_failing", "restored",
};
static const char *const mx_hs_names[MX_HS_N] = {
	"timeout", "tls", "closed", "no_cert", "no_clientid", "bad_clientid",
	"not_allowed", "dns_error", "dns_bogus", "dns_insecure", "no_tlsa",
	"mismatch", "busy", "chain_missing", "chain_malformed", "chain_oversize",
	"chain_bogus", "chain_expired", "chain_incomplete", "chain_insecure",
	"chain_wrong_name",
};
static const char *const mx_sc_names[MX_SC_N] = {
	"validated", "cached", "refused", "absent",
};
static const char *const mx_usage_names[MX_USAGES] = {
	"pkix-ta", "pkix-ee", "dane-ta", "dane-ee", "mixed",
};
static const char *const mx_up_names[MX_UP_N] = {
	"connect", "connect_timeout", "response_timeout", "protocol",
};
static const char *const mx_st_names[MX_ST_N] = {
	"bound", "eui_mismatch", "bad_router_info",
};
static const char *const mx_ts002_names[MX_TS002_N] = {
	"bound", "unknown_sender", "malformed", "too_large", "dns_error",
};
static const char *const mx_dns_names[MX_DNS_N] = {
	"secure", "nxdomain", "nodata", "insecure", "bogus", "error", "timeout",
};
static const char *const mx_role_names[2] = { "server", "client" };

/* ---- the exposition ---- */

struct mx_out {
	char *p;
	size_t len;
	size_t cap;
	int err;		/* first failure: DP_ERR_NOMEM or DP_ERR_SPACE */
};

__attribute__((format(printf, 2, 3)))
static void
out_printf(struct mx_out *o, const char *fmt, ...)
{
	va_list ap;
	size_t want, cap;
	char *p;
	int n;

	if (o->err != DP_OK)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->err = DP_ERR_INTERNAL;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		want = o->len + (size_t)n + 1;
		if (want > MX_RENDER_MAX) {
			o->err = DP_ERR_SPACE;
			return;
		}
		for (cap = o->cap * 2; cap < want; cap *= 2)
			;
		if (cap > MX_RENDER_MAX)
			cap = MX_RENDER_MAX;
		if ((p = realloc(o->p, cap)) == NULL) {
			o->err = DP_ERR_NOMEM;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
}

static void
out_family(struct mx_out *o, const char *name, const char *type,
    const char *help)
{
	out_printf(o, "# HELP daneproxy_%s %s\n# TYPE daneproxy_%s %s\n",
	    name, help, name, type);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static char *
label_escape(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (; *s != '\0' && n + 3 < size; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[n++] = '\\';
			buf[n++] = *s == '\n' ? 'n' : *s;
		} else {
			buf[n++] = *s;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* Sums of retired and live blocks for one listener or for the globals. */
static void
sum_listener(const struct mx_region *r, int i, struct mx_lcounters *sum)
{
	int s;

	memset((void *)sum, 0, sizeof(*sum));
	mx_fold_listener(sum, &r->retired.l[i]);
	for (s = 0; s < MX_MAX_SLOTS; s++)
		if (r->info[s].state == SLOT_TAKEN)
			mx_fold_listener(sum, &r->slots[s].c.l[i]);
}

static void
sum_global(const struct mx_region *r, struct mx_gcounters *sum)
{
	int s;

	memset((void *)sum, 0, sizeof(*sum));
	mx_fold_global(sum, &r->retired.g);
	for (s = 0; s < MX_MAX_SLOTS; s++) {
		if (r->info[s].state != SLOT_TAKEN)
			continue;
		mx_fold_global(sum, &r->slots[s].c.g);
		add(&sum->inflight, ld(&r->slots[s].c.g.inflight));
		add(&sum->recheck_names, ld(&r->slots[s].c.g.recheck_names));
	}
}

/* Per listener: the summed counters and the escaped label prefix. */
struct mx_view;
static void render_names(struct mx_out *o, const struct mx_region *r,
    const struct mx_view *v);

struct mx_view {
	int n;
	int index[MX_MAX_LISTENERS];
	char labels[MX_MAX_LISTENERS][2 * MX_NAME_MAX + 40];
	struct mx_lcounters sum[MX_MAX_LISTENERS];
};

static const char *const mx_name_names[MX_NAMES] = { "own", "remote" };

/* Client routes: the TLSA names they watch (only those looked up) and the
 * self-check. */
static void
render_names(struct mx_out *o, const struct mx_region *r,
    const struct mx_view *v)
{
	uint64_t now = (uint64_t)time(NULL), exp;
	const struct mx_name_gauges *g;
	int i, k;

#define EACH_NAME(body) \
	for (i = 0; i < v->n; i++) \
		for (k = 0; k < MX_NAMES; k++) { \
			g = &r->listeners[v->index[i]].names[k]; \
			if (ld(&g->checked) == 0) \
				continue; \
			body; \
		}
	out_family(o, "tlsa_name_status", "gauge",
	    "Client routes: the latest lookup of their own (client_name) and the "
	    "remote's TLSA name: 1 for its status.");
	EACH_NAME(out_printf(o, "daneproxy_tlsa_name_status{%s,name=\"%s\","
	    "status=\"%s\"} 1\n", v->labels[i], mx_name_names[k],
	    ld(&g->status) < MX_DNS_N ? mx_dns_names[ld(&g->status)] : "error"));
	out_family(o, "tlsa_name_ttl_seconds", "gauge",
	    "Client routes: the TTL of the watched TLSA RRset, as received.");
	EACH_NAME(if (ld(&g->status) == DNS_SECURE)
	    out_printf(o, "daneproxy_tlsa_name_ttl_seconds{%s,name=\"%s\"} %"
	    PRIu64 "\n", v->labels[i], mx_name_names[k], ld(&g->ttl)));
	out_family(o, "tlsa_name_rrsig_expiry_seconds", "gauge",
	    "Client routes: seconds until the earliest RRSIG over the watched "
	    "TLSA RRset expires (negative: expired).");
	EACH_NAME(if ((exp = ld(&g->sig_expires)) != 0)
	    out_printf(o, "daneproxy_tlsa_name_rrsig_expiry_seconds{%s,"
	    "name=\"%s\"} %" PRId64 "\n", v->labels[i], mx_name_names[k],
	    (int64_t)exp - (int64_t)now));
	out_family(o, "tlsa_name_checked_timestamp_seconds", "gauge",
	    "Client routes: when the watched TLSA name was last looked up.");
	EACH_NAME(out_printf(o, "daneproxy_tlsa_name_checked_timestamp_seconds{%s,"
	    "name=\"%s\"} %" PRIu64 "\n", v->labels[i], mx_name_names[k],
	    ld(&g->checked)));
#undef EACH_NAME
	out_family(o, "self_check", "gauge",
	    "Client routes: 1 when the record at client_name matches the "
	    "route's own key, 0 when not (self_check).");
	for (i = 0; i < v->n; i++) {
		uint64_t sc = ld(&r->listeners[v->index[i]].self_check);
		if (sc != 0)
			out_printf(o, "daneproxy_self_check{%s} %d\n",
			    v->labels[i], sc == 1);
	}
}

/* A per-listener counter family with one more label: for each listener
 * and each of the n label values, the counter at field (an array of n
 * counters inside struct mx_lcounters). */
static void
render_labelled(struct mx_out *o, const struct mx_view *v, const char *name,
    const char *help, const char *label, const char *const *values, int n,
    size_t field)
{
	int i, k;

	out_family(o, name, "counter", help);
	for (i = 0; i < v->n; i++)
		for (k = 0; k < n; k++)
			out_printf(o, "daneproxy_%s{%s,%s=\"%s\"} %" PRIu64 "\n",
			    name, v->labels[i], label, values[k],
			    ld((const mx_u64 *)((const char *)&v->sum[i] + field) + k));
}

static void
render_listeners(struct mx_out *o, const struct mx_region *r,
    const struct mx_view *v)
{
	int i, u, m;

	render_labelled(o, v, "connections_total",
	    "Connections accepted, by how they ended.", "outcome",
	    mx_outcome_names, MX_OUT_N, offsetof(struct mx_lcounters, conns));

	out_family(o, "connections_open", "gauge",
	    "Connections open now, all workers together.");
	for (i = 0; i < v->n; i++)
		out_printf(o, "daneproxy_connections_open{%s} %" PRIu64 "\n",
		    v->labels[i], ld(&r->listeners[v->index[i]].open));

	render_labelled(o, v, "handshake_failures_total",
	    "Handshakes that did not authenticate the peer, by reason.",
	    "reason", mx_hs_names, MX_HS_N, offsetof(struct mx_lcounters, hs));

	out_family(o, "dane_verifications_total", "counter",
	    "DANE verifications against TLSA records, by usage and result.");
	for (i = 0; i < v->n; i++)
		for (u = 0; u < MX_USAGES; u++)
			/* A match has the usage of its record: no mixed one. */
			for (m = u == MX_USAGE_NONE ? 0 : 1; m >= 0; m--)
				out_printf(o, "daneproxy_dane_verifications_total{%s,"
				    "usage=\"%s\",result=\"%s\"} %" PRIu64 "\n",
				    v->labels[i], mx_usage_names[u],
				    m ? "match" : "mismatch",
				    ld(&v->sum[i].dane[u][m]));

	out_family(o, "log_suppressed_total", "counter",
	    "Connection log lines left out: the same refusal from the same "
	    "address within 10 s (every connection is still counted).");
	for (i = 0; i < v->n; i++)
		out_printf(o, "daneproxy_log_suppressed_total{%s} %" PRIu64 "\n",
		    v->labels[i], ld(&v->sum[i].log_suppressed));

	render_labelled(o, v, "upstream_errors_total",
	    "Failures towards the upstream (server role) or remote (client role).",
	    "reason", mx_up_names, MX_UP_N, offsetof(struct mx_lcounters, up));

	render_labelled(o, v, "ts002_total",
	    "TS002 requests judged by ts002_binding, by result (bound: forwarded).",
	    "result", mx_ts002_names, MX_TS002_N,
	    offsetof(struct mx_lcounters, ts002));

	render_labelled(o, v, "stapled_chains_total",
	    "Stapled DNSSEC chains judged by a server listener, by result "
	    "(absent: none sent, the name looked up).",
	    "result", mx_sc_names, MX_SC_N,
	    offsetof(struct mx_lcounters, stapled));

	render_labelled(o, v, "recheck_total",
	    "Live connections re-checked against a changed TLSA answer (or DNS "
	    "failing past recheck_grace_ms), by result.",
	    "result", mx_rc_names, MX_RC_N,
	    offsetof(struct mx_lcounters, recheck));

	render_labelled(o, v, "station_total",
	    "station_binding checks of LoRa Basics Station requests, by result.",
	    "result", mx_st_names, MX_ST_N,
	    offsetof(struct mx_lcounters, station));

	render_names(o, r, v);

	out_family(o, "received_bytes_total", "counter",
	    "Bytes received from connecting clients.");
	for (i = 0; i < v->n; i++)
		out_printf(o, "daneproxy_received_bytes_total{%s} %" PRIu64 "\n",
		    v->labels[i], ld(&v->sum[i].bytes_in));

	out_family(o, "sent_bytes_total", "counter",
	    "Bytes sent to connecting clients.");
	for (i = 0; i < v->n; i++)
		out_printf(o, "daneproxy_sent_bytes_total{%s} %" PRIu64 "\n",
		    v->labels[i], ld(&v->sum[i].bytes_out));
}

static void
render_tlsa(struct mx_out *o, const struct mx_gcounters *g)
{
	uint64_t cum = 0, sum = ld(&g->sum_usec);
	int k;

	out_family(o, "tlsa_cache_hits_total", "counter",
	    "TLSA lookups answered from the cache.");
	out_printf(o, "daneproxy_tlsa_cache_hits_total %" PRIu64 "\n",
	    ld(&g->cache_hits));
	out_family(o, "tlsa_cache_misses_total", "counter",
	    "TLSA lookups that started or joined a DNS query.");
	out_printf(o, "daneproxy_tlsa_cache_misses_total %" PRIu64 "\n",
	    ld(&g->cache_misses));
	out_family(o, "tlsa_cache_merged_total", "counter",
	    "TLSA cache misses that joined a DNS query already in flight.");
	out_printf(o, "daneproxy_tlsa_cache_merged_total %" PRIu64 "\n",
	    ld(&g->cache_merged));
	out_family(o, "recheck_lookups_total", "counter",
	    "TLSA lookups daneproxy started itself to re-check live connections.");
	out_printf(o, "daneproxy_recheck_lookups_total %" PRIu64 "\n",
	    ld(&g->recheck_lookups));
	out_family(o, "recheck_names", "gauge",
	    "TLSA names with live connections, re-checked as their answers "
	    "expire (all workers).");
	out_printf(o, "daneproxy_recheck_names %" PRIu64 "\n",
	    ld(&g->recheck_names));

	out_family(o, "tlsa_cache_busy_total", "counter",
	    "TLSA lookups refused: max_inflight DNS queries in flight.");
	out_printf(o, "daneproxy_tlsa_cache_busy_total %" PRIu64 "\n",
	    ld(&g->cache_busy));
	out_family(o, "tlsa_lookups_in_flight", "gauge",
	    "TLSA DNS queries waiting for an answer.");
	out_printf(o, "daneproxy_tlsa_lookups_in_flight %" PRIu64 "\n",
	    ld(&g->inflight));
	out_family(o, "tlsa_lookups_total", "counter",
	    "TLSA DNS queries answered, by result.");
	for (k = 0; k < MX_DNS_N; k++)
		out_printf(o, "daneproxy_tlsa_lookups_total{result=\"%s\"} %"
		    PRIu64 "\n", mx_dns_names[k], ld(&g->results[k]));
	out_family(o, "tlsa_lookup_duration_seconds", "histogram",
	    "Time a TLSA DNS query took.");
	for (k = 0; k < MX_LATENCY_BUCKETS; k++) {
		cum += ld(&g->buckets[k]);
		out_printf(o, "daneproxy_tlsa_lookup_duration_seconds_bucket"
		    "{le=\"%s\"} %" PRIu64 "\n", mx_bucket_le[k], cum);
	}
	cum += ld(&g->buckets[MX_LATENCY_BUCKETS]);
	out_printf(o, "daneproxy_tlsa_lookup_duration_seconds_bucket"
	    "{le=\"+Inf\"} %" PRIu64 "\n", cum);
	out_printf(o, "daneproxy_tlsa_lookup_duration_seconds_sum %" PRIu64
	    ".%06" PRIu64 "\n", sum / 1000000, sum % 1000000);
	out_printf(o, "daneproxy_tlsa_lookup_duration_seconds_count %" PRIu64
	    "\n", ld(&g->count));
}

static void
render_master(struct mx_out *o, const struct mx_master *m)
{
	out_family(o, "workers", "gauge", "Worker processes running.");
	out_printf(o, "daneproxy_workers %u\n", m->workers_running);
	out_family(o, "workers_configured", "gauge",
	    "Worker processes the running configuration asks for.");
	out_printf(o, "daneproxy_workers_configured %u\n", m->workers_configured);
	out_family(o, "config_generation", "gauge",
	    "Generation of the configuration accepting connections.");
	out_printf(o, "daneproxy_config_generation %u\n", m->generation);
	out_family(o, "reloads_total", "counter",
	    "Configuration reloads, by result.");
	out_printf(o, "daneproxy_reloads_total{result=\"ok\"} %" PRIu64 "\n"
	    "daneproxy_reloads_total{result=\"failed\"} %" PRIu64 "\n",
	    m->reloads_ok, m->reloads_failed);
	out_family(o, "worker_restarts_total", "counter",
	    "Workers that died and were replaced.");
	out_printf(o, "daneproxy_worker_restarts_total %" PRIu64 "\n",
	    m->worker_restarts);
	out_family(o, "ready", "gauge", "1 when /readyz answers ready.");
	out_printf(o, "daneproxy_ready %d\n", m->ready ? 1 : 0);
	out_family(o, "start_time_seconds", "gauge",
	    "Start time of the master process, seconds since the epoch.");
	out_printf(o, "daneproxy_start_time_seconds %" PRIu64 "\n", m->start_time);
	out_family(o, "build_info", "gauge", "Version of daneproxy; always 1.");
	out_printf(o, "daneproxy_build_info{version=\"%s\"} 1\n", DP_VERSION);
}

int
metrics_render(const struct mx_region *r, const struct mx_master *m,
    char **out, size_t *len)
{
	static const struct mx_master none;
	struct mx_out o = { NULL, 0, 0, DP_OK };
	struct mx_view *v = NULL;
	struct mx_gcounters g;
	char esc[2 * MX_NAME_MAX + 1];
	int i, rc = DP_ERR_NOMEM;

	*out = NULL;
	*len = 0;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		goto out;
	if ((o.p = malloc(o.cap = 64 * 1024)) == NULL)
		goto out;
	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		const struct mx_listener *l = &r->listeners[i];
		if (!l->in_use)
			continue;
		v->index[v->n] = i;
		snprintf(v->labels[v->n], sizeof(v->labels[v->n]),
		    "listener=\"%s\",role=\"%s\"",
		    label_escape(l->name, esc, sizeof(esc)),
		    mx_role_names[l->role == MX_CLIENT]);
		sum_listener(r, i, &v->sum[v->n]);
		v->n++;
	}
	sum_global(r, &g);
	render_listeners(&o, r, v);
	render_tlsa(&o, &g);
	render_master(&o, m != NULL ? m : &none);
	if ((rc = o.err) != DP_OK)
		goto out;
	*out = o.p;
	*len = o.len;
	o.p = NULL;	/* transferred */
 out:
	free(o.p);
	free(v);
	return rc;
}

const char *
mx_outcome_name(enum mx_outcome o)
{
	return (unsigned)o < MX_OUT_N ? mx_outcome_names[o] : "error";
}

const char *
mx_hs_reason_name(enum mx_hs_reason r)
{
	return (unsigned)r < MX_HS_N ? mx_hs_names[r] : "unknown";
}
