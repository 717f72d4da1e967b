/* metrics.c — see metrics.h.
 *
 * The region is one fixed layout of plain C11 atomics, so the master and its
 * workers (forked after the mapping) read and write the same bytes without
 * pointers into it: a worker's hooks address its own block by index. Every
 * counter of a block has one writer (the worker owning the slot; the master
 * only while no worker owns it), so an increment is a relaxed load and a
 * relaxed store: no lock prefix, and a reader never sees a torn value. The
 * shared count of open connections per listener is the one field every
 * worker writes, with atomic add and subtract. */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "err.h"
#include "util.h"

#define MX_NAME_MAX 64			/* a section name, as conf.c allows */
#define MX_DNS_N 7			/* enum dns_status values */
#define MX_RENDER_MAX (16u << 20)	/* exposition size cap, bytes */

typedef _Atomic uint64_t mx_u64;

/* What one worker counted for one listener. */
struct mx_lcounters {
	mx_u64 conns[MX_OUT_N];		/**< by outcome */
	mx_u64 open;			/**< gauge: this worker's open connections */
	mx_u64 hs[MX_HS_N];		/**< handshake failures by reason */
	mx_u64 dane[MX_USAGES][2];	/**< by usage, [0] mismatch, [1] match */
	mx_u64 up[MX_UP_N];		/**< upstream errors by reason */
	mx_u64 bytes_in;		/**< from the connecting clients */
	mx_u64 bytes_out;		/**< towards them */
};

/* What one worker counted for its TLSA cache and lookups. */
struct mx_gcounters {
	mx_u64 cache_hits;
	mx_u64 cache_misses;		/**< lookups started or joined */
	mx_u64 cache_merged;		/**< of those, joined */
	mx_u64 cache_busy;
	mx_u64 inflight;		/**< gauge */
	mx_u64 results[MX_DNS_N];	/**< lookups by dns_status */
	mx_u64 buckets[MX_LATENCY_BUCKETS + 1];	/**< per bucket (not cumulative); last: +Inf */
	mx_u64 sum_usec;
	mx_u64 count;
};

/* The counters of one worker, or the retired totals. */
struct mx_block {
	struct mx_gcounters g;
	struct mx_lcounters l[MX_MAX_LISTENERS];
};

enum { SLOT_FREE = 0, SLOT_TAKEN = 1 };

/* Master-only bookkeeping of a worker slot, kept apart from the counters
 * so that scanning the slots touches one page, not one per slot. */
struct mx_slot_info {
	int state;			/**< SLOT_* */
	pid_t pid;
	unsigned generation;
};

struct mx_slot {
	struct mx_block c;		/**< written by the worker in the slot */
};

/* A listener slot; also the handle the hooks count through. */
struct mx_listener {
	int index;			/**< in the region; -1: the private sink */
	int in_use;			/**< holds a listener (shown) */
	int configured;			/**< in the running configuration */
	int claimed;			/**< claimed since the last commit */
	int fresh;			/**< claimed for the first time since the last commit */
	enum mx_role role;
	char name[MX_NAME_MAX + 1];
	char addr[DP_ADDR_STRLEN];	/**< for a human reading a core dump */
	_Atomic unsigned max_connections;	/**< read by workers at every accept */
	unsigned saved_max;		/**< before this round's claim, for a rollback */
	mx_u64 open;			/**< connections open in all workers */
};

struct mx_region {
	struct mx_listener listeners[MX_MAX_LISTENERS];
	struct mx_block retired;	/**< workers gone, folded in */
	struct mx_slot_info info[MX_MAX_SLOTS];
	struct mx_slot slots[MX_MAX_SLOTS];
};

/* Where this process counts: its slot once attached, else the sink. */
static struct mx_block mx_sink;
static struct mx_listener mx_sink_listener = { .index = -1 };
static struct mx_region *mx_cur_region;
static struct mx_block *mx_cur = &mx_sink;

/* Latency bucket bounds, microseconds, and their le labels. */
static const uint64_t mx_bucket_usec[MX_LATENCY_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
static const char *const mx_bucket_le[MX_LATENCY_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10",
};

static const char *const mx_outcome_names[MX_OUT_N] = {
	"ok", "unauthenticated", "refused", "error", "limit", "denied",
};
static const char *const mx_hs_names[MX_HS_N] = {
	"timeout", "tls", "closed", "no_cert", "no_clientid", "bad_clientid",
	"not_allowed", "dns_error", "dns_bogus", "dns_insecure", "no_tlsa",
	"mismatch", "busy",
};
static const char *const mx_usage_names[MX_USAGES] = {
	"pkix-ta", "pkix-ee", "dane-ta", "dane-ee", "mixed",
};
static const char *const mx_up_names[MX_UP_N] = {
	"connect", "connect_timeout", "response_timeout", "protocol",
};
static const char *const mx_dns_names[MX_DNS_N] = {
	"secure", "nxdomain", "nodata", "insecure", "bogus", "error", "timeout",
};
static const char *const mx_role_names[2] = { "server", "client" };

/* ---- single-writer arithmetic ---- */

static inline uint64_t
ld(const mx_u64 *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void
add(mx_u64 *p, uint64_t n)
{
	atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static inline void
sub(mx_u64 *p, uint64_t n)
{
	uint64_t v = atomic_load_explicit(p, memory_order_relaxed);

	atomic_store_explicit(p, v >= n ? v - n : 0, memory_order_relaxed);
}

static inline struct mx_lcounters *
lcounters(const struct mx_listener *l)
{
	return l->index < 0 ? &mx_sink.l[0] : &mx_cur->l[l->index];
}

/* ---- master side ---- */

int
metrics_region_new(struct mx_region **out)
{
	void *p;
	int i;

	*out = NULL;
	p = mmap(NULL, sizeof(struct mx_region), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return DP_ERR_NOMEM;
	*out = p;	/* zero-filled by the kernel */
	for (i = 0; i < MX_MAX_LISTENERS; i++)
		(*out)->listeners[i].index = i;
	return DP_OK;
}

void
metrics_region_free(struct mx_region *r)
{
	if (r == NULL)
		return;
	if (mx_cur_region == r) {
		mx_cur_region = NULL;
		mx_cur = &mx_sink;
	}
	(void)munmap(r, sizeof(*r));
}

/* Zeroes what every block (retired and live) counted for listener i: the
 * slot goes to another listener. No worker writes them any more: the old
 * listener is in no running configuration and has no open connection. */
static void
listener_forget(struct mx_region *r, int i)
{
	int s;

	memset((void *)&r->retired.l[i], 0, sizeof(r->retired.l[i]));
	for (s = 0; s < MX_MAX_SLOTS; s++)
		memset((void *)&r->slots[s].c.l[i], 0, sizeof(r->slots[s].c.l[i]));
}

int
metrics_listener_claim(struct mx_region *r, enum mx_role role,
    const char *name, const char *addr, unsigned max_connections)
{
	struct mx_listener *l;
	int i, unused = -1, reusable = -1;

	if (strlen(name) > MX_NAME_MAX)
		return DP_ERR_INVALID;
	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		l = &r->listeners[i];
		if (!l->in_use) {
			if (unused < 0)
				unused = i;
			continue;
		}
		if (l->role == role && strcmp(l->name, name) == 0)
			break;
		if (reusable < 0 && !l->configured && !l->claimed &&
		    atomic_load(&l->open) == 0)
			reusable = i;
	}
	if (i == MX_MAX_LISTENERS) {
		/* A new listener: a never used slot first, so that counters
		 * of listeners gone stay shown as long as possible. */
		if ((i = unused >= 0 ? unused : reusable) < 0)
			return DP_ERR_SPACE;
		l = &r->listeners[i];
		if (l->in_use)
			listener_forget(r, i);
		l->in_use = 1;
		l->configured = 0;
		l->fresh = 1;
		l->role = role;
		dp_strlcpy(l->name, name, sizeof(l->name));
		atomic_store(&l->open, 0);
	}
	if (!l->claimed)
		l->saved_max = atomic_load(&l->max_connections);
	l->claimed = 1;
	dp_strlcpy(l->addr, addr != NULL ? addr : "", sizeof(l->addr));
	atomic_store(&l->max_connections, max_connections);
	return i;
}

void
metrics_listener_commit(struct mx_region *r)
{
	int i;

	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		struct mx_listener *l = &r->listeners[i];
		if (!l->in_use)
			continue;
		l->configured = l->claimed;
		l->claimed = 0;
		l->fresh = 0;
	}
}

void
metrics_listener_rollback(struct mx_region *r)
{
	int i;

	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		struct mx_listener *l = &r->listeners[i];
		if (!l->in_use || !l->claimed)
			continue;
		l->claimed = 0;
		if (l->fresh) {
			l->fresh = 0;
			l->in_use = 0;
			l->name[0] = '\0';
			l->addr[0] = '\0';
			atomic_store(&l->max_connections, 0);
			continue;
		}
		atomic_store(&l->max_connections, l->saved_max);
	}
}

int
metrics_slot_take(struct mx_region *r, unsigned generation)
{
	int s;

	for (s = 0; s < MX_MAX_SLOTS; s++) {
		if (r->info[s].state != SLOT_FREE)
			continue;
		memset((void *)&r->slots[s].c, 0, sizeof(r->slots[s].c));
		r->info[s].state = SLOT_TAKEN;
		r->info[s].pid = 0;
		r->info[s].generation = generation;
		return s;
	}
	return DP_ERR_SPACE;
}

void
metrics_slot_set_pid(struct mx_region *r, int slot, pid_t pid)
{
	if (slot >= 0 && slot < MX_MAX_SLOTS)
		r->info[slot].pid = pid;
}

static void
fold_listener(struct mx_lcounters *to, const struct mx_lcounters *from)
{
	int i, j;

	for (i = 0; i < MX_OUT_N; i++)
		add(&to->conns[i], ld(&from->conns[i]));
	for (i = 0; i < MX_HS_N; i++)
		add(&to->hs[i], ld(&from->hs[i]));
	for (i = 0; i < MX_USAGES; i++)
		for (j = 0; j < 2; j++)
			add(&to->dane[i][j], ld(&from->dane[i][j]));
	for (i = 0; i < MX_UP_N; i++)
		add(&to->up[i], ld(&from->up[i]));
	add(&to->bytes_in, ld(&from->bytes_in));
	add(&to->bytes_out, ld(&from->bytes_out));
	/* open is a gauge: it left with the worker. */
}

static void
fold_global(struct mx_gcounters *to, const struct mx_gcounters *from)
{
	int i;

	add(&to->cache_hits, ld(&from->cache_hits));
	add(&to->cache_misses, ld(&from->cache_misses));
	add(&to->cache_merged, ld(&from->cache_merged));
	add(&to->cache_busy, ld(&from->cache_busy));
	for (i = 0; i < MX_DNS_N; i++)
		add(&to->results[i], ld(&from->results[i]));
	for (i = 0; i <= MX_LATENCY_BUCKETS; i++)
		add(&to->buckets[i], ld(&from->buckets[i]));
	add(&to->sum_usec, ld(&from->sum_usec));
	add(&to->count, ld(&from->count));
	/* inflight is a gauge: those lookups died with the worker. */
}

/* Takes n from a listener's shared open count, stopping at 0: a count that
 * wrapped below zero would refuse every later connection. */
static void
shared_open_sub(mx_u64 *open, uint64_t n)
{
	uint64_t cur = atomic_load_explicit(open, memory_order_relaxed);

	while (!atomic_compare_exchange_weak_explicit(open, &cur,
	    cur > n ? cur - n : 0, memory_order_relaxed, memory_order_relaxed))
		;
}

void
metrics_slot_release(struct mx_region *r, int slot)
{
	struct mx_slot *s;
	uint64_t open;
	int i;

	if (slot < 0 || slot >= MX_MAX_SLOTS ||
	    r->info[slot].state != SLOT_TAKEN)
		return;
	s = &r->slots[slot];
	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		if ((open = ld(&s->c.l[i].open)) > 0)
			shared_open_sub(&r->listeners[i].open, open);
		fold_listener(&r->retired.l[i], &s->c.l[i]);
	}
	fold_global(&r->retired.g, &s->c.g);
	memset((void *)&s->c, 0, sizeof(s->c));
	r->info[slot].pid = 0;
	r->info[slot].generation = 0;
	r->info[slot].state = SLOT_FREE;
}

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
	fold_listener(sum, &r->retired.l[i]);
	for (s = 0; s < MX_MAX_SLOTS; s++)
		if (r->info[s].state == SLOT_TAKEN)
			fold_listener(sum, &r->slots[s].c.l[i]);
}

static void
sum_global(const struct mx_region *r, struct mx_gcounters *sum)
{
	int s;

	memset((void *)sum, 0, sizeof(*sum));
	fold_global(sum, &r->retired.g);
	for (s = 0; s < MX_MAX_SLOTS; s++) {
		if (r->info[s].state != SLOT_TAKEN)
			continue;
		fold_global(sum, &r->slots[s].c.g);
		add(&sum->inflight, ld(&r->slots[s].c.g.inflight));
	}
}

/* Per listener: the summed counters and the escaped label prefix. */
struct mx_view {
	int n;
	int index[MX_MAX_LISTENERS];
	char labels[MX_MAX_LISTENERS][2 * MX_NAME_MAX + 40];
	struct mx_lcounters sum[MX_MAX_LISTENERS];
};

static void
render_listeners(struct mx_out *o, const struct mx_region *r,
    const struct mx_view *v)
{
	int i, k, u, m;

	out_family(o, "connections_total", "counter",
	    "Connections accepted, by how they ended.");
	for (i = 0; i < v->n; i++)
		for (k = 0; k < MX_OUT_N; k++)
			out_printf(o, "daneproxy_connections_total{%s,outcome=\"%s\"} %"
			    PRIu64 "\n", v->labels[i], mx_outcome_names[k],
			    ld(&v->sum[i].conns[k]));

	out_family(o, "connections_open", "gauge",
	    "Connections open now, all workers together.");
	for (i = 0; i < v->n; i++)
		out_printf(o, "daneproxy_connections_open{%s} %" PRIu64 "\n",
		    v->labels[i], ld(&r->listeners[v->index[i]].open));

	out_family(o, "handshake_failures_total", "counter",
	    "Handshakes that did not authenticate the peer, by reason.");
	for (i = 0; i < v->n; i++)
		for (k = 0; k < MX_HS_N; k++)
			out_printf(o, "daneproxy_handshake_failures_total{%s,"
			    "reason=\"%s\"} %" PRIu64 "\n", v->labels[i],
			    mx_hs_names[k], ld(&v->sum[i].hs[k]));

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

	out_family(o, "upstream_errors_total", "counter",
	    "Failures towards the upstream (server role) or remote (client role).");
	for (i = 0; i < v->n; i++)
		for (k = 0; k < MX_UP_N; k++)
			out_printf(o, "daneproxy_upstream_errors_total{%s,"
			    "reason=\"%s\"} %" PRIu64 "\n", v->labels[i],
			    mx_up_names[k], ld(&v->sum[i].up[k]));

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

/* ---- worker side ---- */

void
metrics_worker_attach(struct mx_region *r, int slot)
{
	if (r == NULL || slot < 0 || slot >= MX_MAX_SLOTS) {
		mx_cur_region = NULL;
		mx_cur = &mx_sink;
		return;
	}
	mx_cur_region = r;
	mx_cur = &r->slots[slot].c;
}

struct mx_listener *
mx_listener_get(enum mx_role role, const char *name)
{
	struct mx_listener *l;
	int i;

	if (mx_cur_region == NULL || name == NULL)
		return &mx_sink_listener;
	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		l = &mx_cur_region->listeners[i];
		if (l->in_use && l->role == role && strcmp(l->name, name) == 0)
			return l;
	}
	return &mx_sink_listener;
}

int
mx_conn_open(struct mx_listener *l)
{
	struct mx_lcounters *k = lcounters(l);
	uint64_t before;

	if (l->index >= 0) {
		before = atomic_fetch_add_explicit(&l->open, 1,
		    memory_order_relaxed);
		if (before >= atomic_load_explicit(&l->max_connections,
		    memory_order_relaxed)) {
			atomic_fetch_sub_explicit(&l->open, 1,
			    memory_order_relaxed);
			add(&k->conns[MX_OUT_LIMIT], 1);
			return DP_ERR_BUSY;
		}
	}
	add(&k->open, 1);
	return DP_OK;
}

void
mx_conn_limit(struct mx_listener *l)
{
	add(&lcounters(l)->conns[MX_OUT_LIMIT], 1);
}

void
mx_conn_denied(struct mx_listener *l)
{
	add(&lcounters(l)->conns[MX_OUT_DENIED], 1);
}

void
mx_conn_close(struct mx_listener *l, enum mx_outcome o, uint64_t bytes_in,
    uint64_t bytes_out)
{
	struct mx_lcounters *k = lcounters(l);

	/* This worker's count first: should it die between the two, the
	 * master's release takes the connection out of the shared count
	 * once, not twice. */
	sub(&k->open, 1);
	if (l->index >= 0)
		atomic_fetch_sub_explicit(&l->open, 1, memory_order_relaxed);
	if ((unsigned)o < MX_OUT_N)
		add(&k->conns[o], 1);
	add(&k->bytes_in, bytes_in);
	add(&k->bytes_out, bytes_out);
}

void
mx_handshake_failure(struct mx_listener *l, enum mx_hs_reason r)
{
	if ((unsigned)r < MX_HS_N)
		add(&lcounters(l)->hs[r], 1);
}

enum mx_hs_reason
mx_hs_dns(enum dns_status s)
{
	switch (s) {
	case DNS_SECURE_NXDOMAIN:
	case DNS_SECURE_NODATA:
		return MX_HS_NO_TLSA;
	case DNS_INSECURE:
		return MX_HS_DNS_INSECURE;
	case DNS_BOGUS:
		return MX_HS_DNS_BOGUS;
	default:
		return MX_HS_DNS_ERROR;
	}
}

void
mx_dane(struct mx_listener *l, int usage, int matched)
{
	if (usage < 0 || usage >= MX_USAGE_NONE)
		usage = MX_USAGE_NONE;
	add(&lcounters(l)->dane[usage][matched != 0], 1);
}

void
mx_upstream_error(struct mx_listener *l, enum mx_up_reason r)
{
	if ((unsigned)r < MX_UP_N)
		add(&lcounters(l)->up[r], 1);
}

void
mx_tlsa_cache_hit(void)
{
	add(&mx_cur->g.cache_hits, 1);
}

void
mx_tlsa_cache_miss(void)
{
	add(&mx_cur->g.cache_misses, 1);
}

void
mx_tlsa_cache_merged(void)
{
	add(&mx_cur->g.cache_misses, 1);
	add(&mx_cur->g.cache_merged, 1);
}

void
mx_tlsa_cache_busy(void)
{
	add(&mx_cur->g.cache_busy, 1);
}

void
mx_tlsa_lookup_start(void)
{
	add(&mx_cur->g.inflight, 1);
}

void
mx_tlsa_lookup_done(enum dns_status s, uint64_t usec)
{
	struct mx_gcounters *g = &mx_cur->g;
	int b;

	sub(&g->inflight, 1);
	add(&g->results[(unsigned)s < MX_DNS_N ? (int)s : DNS_TEMPFAIL], 1);
	for (b = 0; b < MX_LATENCY_BUCKETS && usec > mx_bucket_usec[b]; b++)
		;
	add(&g->buckets[b], 1);
	add(&g->sum_usec, usec);
	add(&g->count, 1);
}

void
mx_tlsa_lookup_cancel(void)
{
	sub(&mx_cur->g.inflight, 1);
}

const char *
mx_outcome_name(enum mx_outcome o)
{
	return (unsigned)o < MX_OUT_N ? mx_outcome_names[o] : "error";
}
