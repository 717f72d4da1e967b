/* adminproc.c — see adminproc.h. */
#include "adminproc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/event.h>

#include "admin.h"
#include "dns.h"
#include "err.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#define PROBE_INTERVAL_MS 10000	/* readiness DNS probe */
#define STOP_POLL_MS 20		/* after SIGTERM: are the connections done? */

struct admin_shared *
admin_shared_new(void)
{
	void *p = mmap(NULL, sizeof(struct admin_shared), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void
admin_shared_free(struct admin_shared *s)
{
	if (s != NULL)
		munmap(s, sizeof(*s));
}

void
admin_shared_publish(struct admin_shared *s, const struct mx_master *mxm,
    const char *why)
{
	unsigned seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	s->mxm = *mxm;
	dp_strlcpy(s->why, why != NULL ? why : "", sizeof(s->why));
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* A consistent copy of what the master published. */
static void
shared_read(const struct admin_shared *s, struct mx_master *mxm, char *why,
    size_t why_size)
{
	unsigned before, after;

	do {
		before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		*mxm = s->mxm;
		dp_strlcpy(why, s->why, why_size);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		after = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	} while ((before & 1) != 0 || before != after);
}

struct adminproc {
	const struct adminproc_params *p;
	struct event_base *base;
	struct admin_server *admin;
	struct event *sig_term;
	struct event *stop_poll;
	struct dns_client *probe_dns;
	struct dns_query *probe_q;
	struct event *probe_timer;
	int probe_state;		/* -1 not yet answered, 0 failing, 1 answering */
	char probe_why[320];
};

/* ---- the readiness probe ---- */

static void probe_start(evutil_socket_t fd, short what, void *arg);

static void
probe_done(void *arg, struct dns_result *res)
{
	struct adminproc *ap = arg;
	const char *name = ap->p->conf->dns.probe_name;
	struct timeval tv = dp_ms_tv(PROBE_INTERVAL_MS);
	int ok = res->status != DNS_TEMPFAIL && res->status != DNS_TIMEOUT;

	ap->probe_q = NULL;
	if (ok != ap->probe_state)
		log_msg(ok ? DP_LOG_INFO : DP_LOG_WARN, "readiness: DNS %s "
		    "(TLSA %s: %s%s%s)", ok ? "answers" : "does not answer",
		    name, dns_status_str(res->status),
		    res->why != NULL ? ", " : "", res->why != NULL ? res->why : "");
	ap->probe_state = ok;
	snprintf(ap->probe_why, sizeof(ap->probe_why), "DNS: TLSA %s: %s",
	    name, dns_status_str(res->status));
	evtimer_add(ap->probe_timer, &tv);
}

static void
probe_start(evutil_socket_t fd, short what, void *arg)
{
	struct adminproc *ap = arg;
	struct timeval tv = dp_ms_tv(PROBE_INTERVAL_MS);

	if (ap->probe_q != NULL || ap->probe_dns == NULL)
		return;
	if (dns_lookup_tlsa(ap->probe_dns, ap->p->conf->dns.probe_name,
	    probe_done, ap, &ap->probe_q) != DP_OK) {
		ap->probe_state = 0;
		snprintf(ap->probe_why, sizeof(ap->probe_why), "DNS: cannot "
		    "start the probe");
		evtimer_add(ap->probe_timer, &tv);
	}
}

/* Probes DNS when something in the configuration looks TLSA records up and
 * probe_name is set. */
static int
probe_setup(struct adminproc *ap)
{
	const struct conf *c = ap->p->conf;
	const struct conf_client *cc;
	char err[256];
	int need = c->servers != NULL;

	ap->probe_state = 1;
	for (cc = c->clients; cc != NULL; cc = cc->next)
		need |= cc->verify_server != VERIFY_PKIX;
	if (!need || c->dns.probe_name == NULL)
		return DP_OK;
	if ((ap->probe_timer = evtimer_new(ap->base, probe_start, ap)) == NULL)
		return DP_ERR_NOMEM;
	if (dns_client_new(ap->base, &c->dns, &ap->probe_dns, err,
	    sizeof(err)) != DP_OK) {
		ap->probe_state = 0;
		snprintf(ap->probe_why, sizeof(ap->probe_why), "DNS: %s", err);
		return DP_OK;
	}
	ap->probe_state = -1;
	snprintf(ap->probe_why, sizeof(ap->probe_why), "DNS: probe pending");
	probe_start(-1, 0, ap);
	return DP_OK;
}

/* ---- the endpoint's handlers ---- */

static int
ready_check(void *arg, char *why, size_t why_size)
{
	struct adminproc *ap = arg;
	struct mx_master mxm;

	const struct conf_client *cc;
	int sc;

	shared_read(ap->p->shared, &mxm, why, why_size);
	if (!mxm.ready)
		return 0;
	if (ap->probe_state != 1) {
		dp_strlcpy(why, ap->probe_why, why_size);
		return 0;
	}
	for (cc = ap->p->conf->clients; cc != NULL; cc = cc->next) {
		if (cc->self_check != SELF_CHECK_NOT_READY ||
		    (sc = metrics_self_check(ap->p->mx, cc->name)) == 1)
			continue;
		snprintf(why, why_size, "self-check: route %s: %s", cc->name,
		    sc < 0 ? "pending" : "no TLSA record at client_name matches "
		    "our own key");
		return 0;
	}
	return 1;
}

static int
metrics_body(void *arg, char **body, size_t *len)
{
	struct adminproc *ap = arg;
	struct mx_master mxm;
	char why[8];

	shared_read(ap->p->shared, &mxm, why, sizeof(why));
	mxm.ready = ready_check(ap, why, sizeof(why));
	return metrics_render(ap->p->mx, &mxm, body, len);
}

/* ---- life cycle ---- */

static void
stop_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct adminproc *ap = arg;
	struct timeval tv = dp_ms_tv(STOP_POLL_MS);

	if (admin_server_active(ap->admin) == 0)
		event_base_loopbreak(ap->base);
	else
		evtimer_add(ap->stop_poll, &tv);
}

/* SIGTERM: accept no more, answer what was accepted (each admin
 * connection ends within ADMIN_HEAD_TIMEOUT_MS), then end. */
static void
sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct adminproc *ap = arg;

	admin_server_stop_accepting(ap->admin);
	if (ap->probe_timer != NULL)
		evtimer_del(ap->probe_timer);
	stop_poll_cb(-1, 0, ap);
}

int
adminproc_run(const struct adminproc_params *p)
{
	struct adminproc ap;
	const struct admin_handlers h = { metrics_body, ready_check, &ap };
	pid_t master = getppid();
	int rc = WORKER_EXIT_CONFIG, fd = p->fd;
	sigset_t none;

	memset(&ap, 0, sizeof(ap));
	ap.p = p;
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (worker_drop_privileges(p->conf) != DP_OK)
		goto out;
	/* After the drop: a change of credentials clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master) {
		log_error("admin: master gone");
		goto out;
	}
	if ((ap.base = event_base_new()) == NULL ||
	    (ap.sig_term = evsignal_new(ap.base, SIGTERM, sigterm_cb, &ap)) == NULL ||
	    (ap.stop_poll = evtimer_new(ap.base, stop_poll_cb, &ap)) == NULL ||
	    event_add(ap.sig_term, NULL) != 0 || probe_setup(&ap) != DP_OK) {
		log_error("admin: out of memory");
		goto out;
	}
	fd = -1;	/* admin_server_new takes it, even when it fails */
	if (admin_server_new(ap.base, p->fd, &h, &ap.admin) != DP_OK) {
		log_error("admin: out of memory");
		goto out;
	}
	log_debug("admin: serving (pid %ld, uid %ld)", (long)getpid(),
	    (long)geteuid());
	event_base_dispatch(ap.base);
	rc = 0;
 out:
	if (fd >= 0)
		close(fd);
	admin_server_free(ap.admin);
	if (ap.probe_q != NULL)
		dns_query_cancel(ap.probe_q);
	dns_client_free(ap.probe_dns);
	if (ap.probe_timer != NULL)
		event_free(ap.probe_timer);
	if (ap.stop_poll != NULL)
		event_free(ap.stop_poll);
	if (ap.sig_term != NULL)
		event_free(ap.sig_term);
	if (ap.base != NULL)
		event_base_free(ap.base);
	return rc;
}
