/* metrics.c — see metrics.h.
 *
 * The region is one fixed layout of plain C11 atomics, so the master and its
 * workers (forked after the mapping) read and write the same bytes without
 * pointers into it: a worker's hooks address its own block by index. Every
 * counter of a block has one writer (the worker owning the slot; the master
 * only while no worker owns it), so an increment is a relaxed load and a
 * relaxed store: no lock prefix, and a reader never sees a torn value. The
 * shared count of open connections per listener is the one field every
 * worker writes, with atomic add and subtract.
 *
 * The parts: metrics_expo.c renders the region as Prometheus text;
 * mxregion.h is the layout and the arithmetic both parts use. */
#include "metrics.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#include "err.h"
#include "mxregion.h"
#include "util.h"

/* Where this process counts: its slot once attached, else the sink. */
static struct mx_block mx_sink;
static struct mx_listener mx_sink_listener = { .index = -1 };
static struct mx_region *mx_cur_region;
static struct mx_block *mx_cur = &mx_sink;

/* Latency bucket bounds, microseconds; their le labels are in
 * metrics_expo.c. */
static const uint64_t mx_bucket_usec[MX_LATENCY_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

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
		memset((void *)l->names, 0, sizeof(l->names));
		atomic_store(&l->self_check, 0);
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

void
mx_fold_listener(struct mx_lcounters *to, const struct mx_lcounters *from)
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
	for (i = 0; i < MX_RC_N; i++)
		add(&to->recheck[i], ld(&from->recheck[i]));
	for (i = 0; i < MX_ST_N; i++)
		add(&to->station[i], ld(&from->station[i]));
	add(&to->bytes_in, ld(&from->bytes_in));
	add(&to->bytes_out, ld(&from->bytes_out));
	add(&to->log_suppressed, ld(&from->log_suppressed));
	for (i = 0; i < MX_TS002_N; i++)
		add(&to->ts002[i], ld(&from->ts002[i]));
	for (i = 0; i < MX_SC_N; i++)
		add(&to->stapled[i], ld(&from->stapled[i]));
	/* open is a gauge: it left with the worker. */
}

void
mx_fold_global(struct mx_gcounters *to, const struct mx_gcounters *from)
{
	int i;

	add(&to->cache_hits, ld(&from->cache_hits));
	add(&to->cache_misses, ld(&from->cache_misses));
	add(&to->cache_merged, ld(&from->cache_merged));
	add(&to->cache_busy, ld(&from->cache_busy));
	add(&to->recheck_lookups, ld(&from->recheck_lookups));
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
		mx_fold_listener(&r->retired.l[i], &s->c.l[i]);
	}
	mx_fold_global(&r->retired.g, &s->c.g);
	memset((void *)&s->c, 0, sizeof(s->c));
	r->info[slot].pid = 0;
	r->info[slot].generation = 0;
	r->info[slot].state = SLOT_FREE;
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
mx_log_suppressed(struct mx_listener *l)
{
	add(&lcounters(l)->log_suppressed, 1);
}

void
mx_upstream_error(struct mx_listener *l, enum mx_up_reason r)
{
	if ((unsigned)r < MX_UP_N)
		add(&lcounters(l)->up[r], 1);
}

void
mx_station(struct mx_listener *l, enum mx_station r)
{
	if ((unsigned)r < MX_ST_N)
		add(&lcounters(l)->station[r], 1);
}

void
mx_stapled(struct mx_listener *l, enum mx_stapled r)
{
	if ((unsigned)r < MX_SC_N)
		add(&lcounters(l)->stapled[r], 1);
}

void
mx_ts002(struct mx_listener *l, enum mx_ts002 r)
{
	if ((unsigned)r < MX_TS002_N)
		add(&lcounters(l)->ts002[r], 1);
}

void
mx_recheck(struct mx_listener *l, enum mx_recheck r)
{
	if ((unsigned)r < MX_RC_N)
		add(&lcounters(l)->recheck[r], 1);
}

void
mx_name_state(struct mx_listener *l, enum mx_name which,
    enum dns_status status, uint32_t ttl, int64_t sig_expires)
{
	struct mx_name_gauges *g;

	if (l->index < 0 || (unsigned)which >= MX_NAMES)
		return;
	g = &l->names[which];
	atomic_store_explicit(&g->status, (uint64_t)status, memory_order_relaxed);
	atomic_store_explicit(&g->ttl, ttl, memory_order_relaxed);
	atomic_store_explicit(&g->sig_expires,
	    sig_expires > 0 ? (uint64_t)sig_expires : 0, memory_order_relaxed);
	atomic_store_explicit(&g->checked, (uint64_t)time(NULL),
	    memory_order_relaxed);
}

void
mx_self_check(struct mx_listener *l, int ok)
{
	if (l->index >= 0)
		atomic_store_explicit(&l->self_check, ok ? 1 : 2,
		    memory_order_relaxed);
}

int
metrics_self_check(const struct mx_region *r, const char *name)
{
	int i;

	for (i = 0; i < MX_MAX_LISTENERS; i++) {
		const struct mx_listener *l = &r->listeners[i];
		if (l->in_use && l->role == MX_CLIENT && strcmp(l->name, name) == 0)
			return ld(&l->self_check) == 0 ? -1 :
			    ld(&l->self_check) == 1;
	}
	return -1;
}

void
mx_recheck_names(int delta)
{
	if (delta > 0)
		add(&mx_cur->g.recheck_names, (uint64_t)delta);
	else
		sub(&mx_cur->g.recheck_names, (uint64_t)-delta);
}

void
mx_recheck_lookup(void)
{
	add(&mx_cur->g.recheck_lookups, 1);
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
