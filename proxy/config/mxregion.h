/* mxregion.h — inside the metrics module (metrics.c and metrics_expo.c):
 * the layout of the shared region, the single-writer arithmetic on its
 * counters, and the folding of one block of counters into another. Not
 * for use outside proxy/config. */
#ifndef DP_MXREGION_H
#define DP_MXREGION_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "metrics.h"
#include "util.h"

#define MX_NAME_MAX 64			/* a section name, as conf.c allows */
#define MX_DNS_N 7			/* enum dns_status values */

typedef _Atomic uint64_t mx_u64;

/* What one worker counted for one listener. */
struct mx_lcounters {
	mx_u64 conns[MX_OUT_N];		/**< by outcome */
	mx_u64 open;			/**< gauge: this worker's open connections */
	mx_u64 hs[MX_HS_N];		/**< handshake failures by reason */
	mx_u64 dane[MX_USAGES][2];	/**< by usage, [0] mismatch, [1] match */
	mx_u64 up[MX_UP_N];		/**< upstream errors by reason */
	mx_u64 recheck[MX_RC_N];	/**< live connections re-checked, by result */
	mx_u64 station[MX_ST_N];	/**< station_binding checks, by result */
	mx_u64 bytes_in;		/**< from the connecting clients */
	mx_u64 bytes_out;		/**< towards them */
	mx_u64 log_suppressed;		/**< connection lines not logged (conn.c's
					 * rate limit of repeated refusals) */
	mx_u64 ts002[MX_TS002_N];	/**< TS002 requests judged, by result */
	mx_u64 stapled[MX_SC_N];	/**< stapled chains judged, by result */
};

/* What one worker counted for its TLSA cache and lookups. */
struct mx_gcounters {
	mx_u64 cache_hits;
	mx_u64 cache_misses;		/**< lookups started or joined */
	mx_u64 cache_merged;		/**< of those, joined */
	mx_u64 cache_busy;
	mx_u64 recheck_lookups;		/**< lookups started to re-check */
	mx_u64 recheck_names;		/**< gauge: names with live connections */
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

/* A watched TLSA name's latest lookup (mx_name_state). */
struct mx_name_gauges {
	mx_u64 checked;			/**< seconds since the epoch; 0: never */
	mx_u64 status;			/**< enum dns_status */
	mx_u64 ttl;
	mx_u64 sig_expires;		/**< seconds since the epoch; 0: unknown */
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
	/* Client routes, written by the worker that monitors them. */
	struct mx_name_gauges names[MX_NAMES];
	mx_u64 self_check;		/**< 0 not checked, 1 matches, 2 does not */
};

struct mx_region {
	struct mx_listener listeners[MX_MAX_LISTENERS];
	struct mx_block retired;	/**< workers gone, folded in */
	struct mx_slot_info info[MX_MAX_SLOTS];
	struct mx_slot slots[MX_MAX_SLOTS];
};

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

/* Folds the counters of from into to (metrics.c); not the gauges, which
 * leave with a worker. */
void mx_fold_listener(struct mx_lcounters *to,
    const struct mx_lcounters *from);
void mx_fold_global(struct mx_gcounters *to, const struct mx_gcounters *from);

#endif
