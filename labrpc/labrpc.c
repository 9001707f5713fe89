/* labrpc.c: see labrpc.h.
 *
 * One mutex (net->mu) guards the network's maps, settings, calls and
 * worker pool.  A call in progress is registered in net->waiting; anything
 * that could end its wait early wakes it, and it re-checks its own
 * condition: abort and cleanup end any wait, while enable and delete end
 * only a wait for a worker's handler.  That is how a caller learns
 * promptly that its server was deleted or disconnected (Go polls every
 * 100 ms).  Handlers of a service that never blocks run on the caller's
 * thread instead (labrpc_service_set_inline). */
#define _GNU_SOURCE
#include "labrpc.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util.h"

#define END_BUCKETS 1024

/* How long a caller spins for its reply, and an idle worker for its next
 * job, before sleeping on a condition variable.  A wake-up across cores
 * costs tens of microseconds on a VM; a Raft handler takes a few. */
#define SPIN_US 15

struct labrpc_service {
	char *name;
	void *rcvr;
	labrpc_method *methods;
	size_t nmethods;
	void (*release)(void *rcvr);
	bool inline_handlers;  /* run on the caller's thread */
	labrpc_service *next;
};

struct labrpc_server {
	atomic_int refs;       /* the network's, the creator's, each handler's */
	atomic_int count;      /* incoming RPCs dispatched */
	pthread_mutex_t mu;    /* guards services */
	labrpc_service *services;
};

struct labrpc_end {
	char *name;
	labrpc_net *net;
	bool enabled;          /* these three under net->mu */
	bool aborted;
	char *servername;
	labrpc_end *hnext;
};

typedef struct server_entry {
	char *name;
	labrpc_server *srv;    /* NULL once deleted */
	struct server_entry *next;
} server_entry;

/* A call waiting on the network: its condition variable is signalled when
 * anything it may be waiting for changes.  A delay ends early only when
 * the call is stopped; a wait for a worker's handler also when the server
 * dies. */
typedef struct waiter {
	pthread_cond_t cv;
	labrpc_end *end;
	bool handler_wait;     /* waiting for a worker's handler */
	struct waiter *prev, *next;
} waiter;

/* A handler run: the caller's alone when it runs inline, else shared by
 * the caller and a worker and freed by the last. */
typedef struct job {
	int refs;
	atomic_bool done;      /* handled, for the caller's spin */
	labrpc_server *srv;
	const labrpc_service *svc;
	const labrpc_method *method;
	uint8_t *args;
	size_t args_len;
	bool handled, reply_ok;
	uint8_t *reply;
	size_t reply_len;
	waiter *caller;        /* NULL once the caller gave up */
	/* A request whose caller was aborted during the unreliable delay
	 * (labrpc_end_abort): a worker delivers it when the delay ends. */
	bool orphan;
	struct timespec due;
} job;

typedef struct worker {
	pthread_t tid;
	bool joined;
	pthread_cond_t cv;
	labrpc_net *net;
	job *job;
	atomic_bool has_job;   /* job != NULL, for the worker's spin */
	struct worker *next_idle, *next_all;
} worker;

struct labrpc_net {
	pthread_mutex_t mu;
	bool reliable, long_delays, long_reordering, done;
	labrpc_end *ends[END_BUCKETS];
	server_entry *servers;
	atomic_int count;
	atomic_int calls_made;
	atomic_llong bytes;
	prng rng;
	waiter *waiting;
	int active_calls;
	pthread_cond_t calls_gone;
	worker *idle, *workers;
	bool pool_stop;
};

static unsigned hash_name(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % END_BUCKETS;
}

static labrpc_end *find_end(labrpc_net *net, const char *name)
{
	for (labrpc_end *e = net->ends[hash_name(name)]; e; e = e->hnext)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static server_entry *find_server_entry(labrpc_net *net, const char *name)
{
	for (server_entry *s = net->servers; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static labrpc_server *find_server(labrpc_net *net, const char *name)
{
	server_entry *s = name ? find_server_entry(net, name) : NULL;
	return s ? s->srv : NULL;
}

/* Wake the calls on e (on every end when NULL); with handler_waits_only,
 * just those waiting for a worker's handler, the only waits that a server
 * dying or an end being disabled ends.  Calls in a delay sleep on: waking
 * them all on every partition change cost more than the rest of the
 * network. */
static void wake_waiters(labrpc_net *net, labrpc_end *e, bool handler_waits_only)
{
	for (waiter *w = net->waiting; w; w = w->next)
		if ((e == NULL || w->end == e) && (w->handler_wait || !handler_waits_only))
			pthread_cond_signal(&w->cv);
}

static void server_release(labrpc_server *srv)
{
	if (srv == NULL || atomic_fetch_sub(&srv->refs, 1) != 1)
		return;
	labrpc_service *svc = srv->services;
	while (svc) {
		labrpc_service *next = svc->next;
		if (svc->release)
			svc->release(svc->rcvr);
		for (size_t i = 0; i < svc->nmethods; i++)
			free((char *)svc->methods[i].name);
		free(svc->methods);
		free(svc->name);
		free(svc);
		svc = next;
	}
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

labrpc_net *labrpc_make_network(uint64_t seed)
{
	labrpc_net *net = xcalloc(1, sizeof *net);
	pthread_mutex_init(&net->mu, NULL);
	pthread_cond_init(&net->calls_gone, NULL);
	net->reliable = true;
	prng_seed(&net->rng, seed);
	return net;
}

#define SETTER(fn, field)                              \
	void fn(labrpc_net *net, bool yes)             \
	{                                              \
		pthread_mutex_lock(&net->mu);          \
		net->field = yes;                      \
		pthread_mutex_unlock(&net->mu);        \
	}
SETTER(labrpc_reliable, reliable)
SETTER(labrpc_long_reordering, long_reordering)
SETTER(labrpc_long_delays, long_delays)

labrpc_end *labrpc_make_end(labrpc_net *net, const char *endname)
{
	pthread_mutex_lock(&net->mu);
	if (find_end(net, endname)) {
		fprintf(stderr, "MakeEnd: %s already exists\n", endname);
		exit(1);
	}
	labrpc_end *e = xcalloc(1, sizeof *e);
	e->name = xstrdup(endname);
	e->net = net;
	unsigned h = hash_name(endname);
	e->hnext = net->ends[h];
	net->ends[h] = e;
	pthread_mutex_unlock(&net->mu);
	return e;
}

void labrpc_connect(labrpc_net *net, const char *endname, const char *servername)
{
	pthread_mutex_lock(&net->mu);
	labrpc_end *e = find_end(net, endname);
	if (e) {
		free(e->servername);
		e->servername = servername ? xstrdup(servername) : NULL;
	}
	pthread_mutex_unlock(&net->mu);
}

void labrpc_enable(labrpc_net *net, const char *endname, bool enabled)
{
	pthread_mutex_lock(&net->mu);
	labrpc_end *e = find_end(net, endname);
	if (e && e->enabled != enabled) {
		e->enabled = enabled;
		wake_waiters(net, e, true);
	}
	pthread_mutex_unlock(&net->mu);
}

void labrpc_end_abort(labrpc_end *e)
{
	labrpc_net *net = e->net;
	pthread_mutex_lock(&net->mu);
	e->aborted = true;
	wake_waiters(net, e, false);
	pthread_mutex_unlock(&net->mu);
}

/* Replace the server under name (NULL deletes); the old one is released
 * outside the lock, since releasing may run a service's release(). */
static void set_server(labrpc_net *net, const char *name, labrpc_server *srv)
{
	pthread_mutex_lock(&net->mu);
	server_entry *s = find_server_entry(net, name);
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->name = xstrdup(name);
		s->next = net->servers;
		net->servers = s;
	}
	labrpc_server *old = s->srv;
	s->srv = srv;
	wake_waiters(net, NULL, true);
	pthread_mutex_unlock(&net->mu);
	server_release(old);
}

void labrpc_add_server(labrpc_net *net, const char *servername, labrpc_server *srv)
{
	set_server(net, servername, srv);
}

void labrpc_delete_server(labrpc_net *net, const char *servername)
{
	set_server(net, servername, NULL);
}

int labrpc_get_count(labrpc_net *net, const char *servername)
{
	pthread_mutex_lock(&net->mu);
	labrpc_server *srv = find_server(net, servername);
	int n = srv ? atomic_load(&srv->count) : 0;
	pthread_mutex_unlock(&net->mu);
	return n;
}

int labrpc_calls_made(labrpc_net *net)
{
	return atomic_load(&net->calls_made);
}

int labrpc_total_count(labrpc_net *net)
{
	return atomic_load(&net->count);
}

int64_t labrpc_total_bytes(labrpc_net *net)
{
	return atomic_load(&net->bytes);
}

labrpc_server *labrpc_make_server(void)
{
	labrpc_server *srv = xcalloc(1, sizeof *srv);
	atomic_init(&srv->refs, 1);
	pthread_mutex_init(&srv->mu, NULL);
	return srv;
}

void labrpc_server_add_service(labrpc_server *srv, labrpc_service *svc)
{
	pthread_mutex_lock(&srv->mu);
	svc->next = srv->services;
	srv->services = svc;
	pthread_mutex_unlock(&srv->mu);
}

labrpc_service *labrpc_make_service(const char *name, void *rcvr, const labrpc_method *methods,
				    size_t nmethods, void (*release)(void *rcvr))
{
	labrpc_service *svc = xcalloc(1, sizeof *svc);
	svc->name = xstrdup(name);
	svc->rcvr = rcvr;
	svc->methods = xcalloc(nmethods, sizeof *svc->methods);
	for (size_t i = 0; i < nmethods; i++) {
		svc->methods[i].name = xstrdup(methods[i].name);
		svc->methods[i].fn = methods[i].fn;
	}
	svc->nmethods = nmethods;
	svc->release = release;
	return svc;
}

void labrpc_service_set_inline(labrpc_service *svc)
{
	svc->inline_handlers = true;
}

/* ---- calls ---- */

static bool call_stopped(labrpc_net *net, labrpc_end *e)
{
	return net->done || e->aborted;
}

/* Wait on w until deadline (net->mu held).  False if the call was stopped. */
static bool delay_until(labrpc_net *net, labrpc_end *e, waiter *w, const struct timespec *deadline)
{
	while (!call_stopped(net, e)) {
		if (pthread_cond_timedwait(&w->cv, &net->mu, deadline) != 0)
			return true;
	}
	return false;
}

/* Wait up to ms on w (net->mu held).  False if the call was stopped. */
static bool delay(labrpc_net *net, labrpc_end *e, waiter *w, int64_t ms)
{
	struct timespec deadline;
	deadline_after_ms(&deadline, ms);
	return delay_until(net, e, w, &deadline);
}

/* Go's isServerDead: the end was disabled or the server replaced. */
static bool server_dead(labrpc_net *net, labrpc_end *e, const char *servername,
			labrpc_server *srv)
{
	return !e->enabled || find_server(net, servername) != srv;
}

static _Noreturn void unknown_method(labrpc_server *srv, const char *svc_meth)
{
	fprintf(stderr, "labrpc: unknown service or method %s; expecting one of:", svc_meth);
	for (labrpc_service *s = srv->services; s; s = s->next)
		for (size_t i = 0; i < s->nmethods; i++)
			fprintf(stderr, " %s.%s", s->name, s->methods[i].name);
	fprintf(stderr, "\n");
	exit(1);
}

static void find_method(labrpc_server *srv, const char *svc_meth, job *j)
{
	const char *dot = strrchr(svc_meth, '.');
	if (dot == NULL)
		unknown_method(srv, svc_meth);
	size_t svc_len = (size_t)(dot - svc_meth);
	pthread_mutex_lock(&srv->mu);
	for (labrpc_service *s = srv->services; s; s = s->next) {
		if (strlen(s->name) != svc_len || strncmp(s->name, svc_meth, svc_len) != 0)
			continue;
		for (size_t i = 0; i < s->nmethods; i++) {
			if (strcmp(s->methods[i].name, dot + 1) == 0) {
				j->svc = s;
				j->method = &s->methods[i];
				pthread_mutex_unlock(&srv->mu);
				return;
			}
		}
	}
	pthread_mutex_unlock(&srv->mu);
	unknown_method(srv, svc_meth);
}

static void job_unref(job *j)
{
	if (--j->refs > 0)
		return;
	free(j->args);
	free(j->reply);
	free(j);
}

static void *worker_main(void *arg);

/* One step of a busy wait.  In the sim build (make sim) it yields to the
 * scheduler: there one thread runs at a time, so a spin that never yields
 * would wait for a flag that nobody else can set. */
static inline void cpu_relax(void)
{
#if defined(LAB_SIM)
	sched_yield();
#elif defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin up to SPIN_US for *flag to become true (no lock held). */
static bool spin_until(atomic_bool *flag)
{
	int64_t start = now_us();
	for (int i = 0;; i++) {
		if (atomic_load_explicit(flag, memory_order_acquire))
			return true;
		cpu_relax();
		if ((i & 63) == 63 && now_us() - start > SPIN_US)
			return false;
	}
}

/* Hand j to an idle worker, or start one (net->mu held). */
static void run_on_worker(labrpc_net *net, job *j)
{
	worker *w = net->idle;
	if (w) {
		net->idle = w->next_idle;
		w->job = j;
		atomic_store(&w->has_job, true);
		pthread_cond_signal(&w->cv);
		return;
	}
	w = xcalloc(1, sizeof *w);
	cond_init_monotonic(&w->cv);
	w->net = net;
	w->job = j;
	atomic_init(&w->has_job, true);
	w->next_all = net->workers;
	net->workers = w;
	if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
		fprintf(stderr, "labrpc: cannot create a worker thread\n");
		abort();
	}
}

static void run_handler(job *j)
{
	labgob_decoder args;
	labgob_decoder_init(&args, j->args, j->args_len);
	labgob_encoder reply;
	labgob_encoder_init(&reply);
	int rc = j->method->fn(j->svc->rcvr, &args, &reply);
	if (rc != 0)
		Debug(dWarn, "labrpc: %s.%s: arguments do not decode (%s): no reply", j->svc->name,
		      j->method->name, labgob_strerror(args.err));
	j->reply_ok = rc == 0;
	j->reply = labgob_encoder_take(&reply, &j->reply_len);
}

/* An orphaned request waits out the rest of its delay on its worker
 * (net->mu held).  False when the network is cleaned up meanwhile: the
 * test is over, as for every other delay. */
static bool orphan_due(labrpc_net *net, worker *w, job *j)
{
	while (!net->done && pthread_cond_timedwait(&w->cv, &net->mu, &j->due) == 0)
		;
	return !net->done;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	labrpc_net *net = w->net;
	pthread_mutex_lock(&net->mu);
	for (;;) {
		if (w->job == NULL && !net->pool_stop) {
			pthread_mutex_unlock(&net->mu);
			spin_until(&w->has_job);
			pthread_mutex_lock(&net->mu);
		}
		while (w->job == NULL && !net->pool_stop)
			pthread_cond_wait(&w->cv, &net->mu);
		job *j = w->job;
		if (j == NULL)
			break;
		bool run = !j->orphan || orphan_due(net, w, j);
		pthread_mutex_unlock(&net->mu);

		if (run) {
			atomic_fetch_add(&j->srv->count, 1);
			run_handler(j);
		}

		pthread_mutex_lock(&net->mu);
		j->handled = true;
		atomic_store_explicit(&j->done, true, memory_order_release);
		if (j->caller)
			pthread_cond_signal(&j->caller->cv);
		labrpc_server *srv = j->srv;
		job_unref(j);
		w->job = NULL;
		atomic_store(&w->has_job, false);
		w->next_idle = net->idle;
		net->idle = w;
		pthread_mutex_unlock(&net->mu);
		server_release(srv);
		pthread_mutex_lock(&net->mu);
	}
	pthread_mutex_unlock(&net->mu);
	return NULL;
}

static job *new_job(labrpc_server *srv, const char *svc_meth, const void *args,
		    size_t args_len)
{
	job *j = xcalloc(1, sizeof *j);
	j->srv = srv;
	find_method(srv, svc_meth, j);
	j->args = xmemdup(args, args_len);
	j->args_len = args_len;
	atomic_init(&j->done, false);
	return j;
}

/* A handler that never blocks runs right here (net->mu held, dropped
 * meanwhile): no hand-off to a worker and back, which is most of the CPU
 * of a short call.  The call already holds srv. */
static void run_inline(labrpc_net *net, job *j)
{
	j->refs = 1;
	pthread_mutex_unlock(&net->mu);
	atomic_fetch_add(&j->srv->count, 1);
	run_handler(j);
	pthread_mutex_lock(&net->mu);
	j->handled = true;
}

/* Run the handler on a worker and wait for it, or for the server to die
 * (net->mu held). */
static void run_on_worker_and_wait(labrpc_net *net, labrpc_end *e, waiter *w,
				   const char *servername, job *j)
{
	j->refs = 2;
	atomic_fetch_add(&j->srv->refs, 1); /* the worker's */
	j->caller = w;
	run_on_worker(net, j);
	pthread_mutex_unlock(&net->mu);
	spin_until(&j->done);
	pthread_mutex_lock(&net->mu);
	w->handler_wait = true;
	while (!j->handled && !call_stopped(net, e) && !server_dead(net, e, servername, j->srv))
		pthread_cond_wait(&w->cv, &net->mu);
	w->handler_wait = false;
	j->caller = NULL;
}

/* Run the handler and wait for it, or for the server to die (net->mu
 * held).  Returns the job, handled or not; the caller unrefs it. */
static job *dispatch(labrpc_net *net, labrpc_end *e, waiter *w, const char *servername,
		     labrpc_server *srv, const char *svc_meth, const void *args, size_t args_len)
{
	job *j = new_job(srv, svc_meth, args, args_len);
	if (j->svc->inline_handlers)
		run_inline(net, j);
	else
		run_on_worker_and_wait(net, e, w, servername, j);
	return j;
}

/* The caller's end was aborted (its peer killed) while the request was in
 * the unreliable network's delay.  In Go the request goes on regardless,
 * so stale RPCs from dead incarnations still arrive: a worker delivers it
 * when its delay ends, and drops the reply (net->mu held). */
static void deliver_orphan(labrpc_net *net, labrpc_server *srv, const char *svc_meth,
			   const void *args, size_t args_len, const struct timespec *due)
{
	job *j = new_job(srv, svc_meth, args, args_len);
	j->refs = 1;
	j->orphan = true;
	j->due = *due;
	atomic_fetch_add(&srv->refs, 1); /* the worker's */
	run_on_worker(net, j);
}

static void waiter_add(labrpc_net *net, waiter *w, labrpc_end *e)
{
	cond_init_monotonic(&w->cv);
	w->end = e;
	w->handler_wait = false;
	w->prev = NULL;
	w->next = net->waiting;
	if (net->waiting)
		net->waiting->prev = w;
	net->waiting = w;
	net->active_calls++;
}

static void waiter_remove(labrpc_net *net, waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		net->waiting = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_cond_destroy(&w->cv);
	if (--net->active_calls == 0 && net->done)
		pthread_cond_broadcast(&net->calls_gone);
}

static bool lose(labrpc_net *net)
{
	return prng_intn(&net->rng, 1000) < 100;
}

/* The request reached a live server: deliver it, maybe, and the reply,
 * maybe (net->mu held).  Go's processReq, the enabled branch. */
static bool deliver(labrpc_net *net, labrpc_end *e, waiter *w, const char *servername,
		    labrpc_server *srv, const char *svc_meth, const void *args, size_t args_len,
		    uint8_t **reply, size_t *reply_len)
{
	bool reliable = net->reliable, reordering = net->long_reordering;
	if (!reliable) {
		/* short delay */
		struct timespec due;
		deadline_after_ms(&due, prng_intn(&net->rng, 27));
		if (!delay_until(net, e, w, &due)) {
			/* Aborted: the caller goes, the request need not. */
			if (!net->done && !lose(net))
				deliver_orphan(net, srv, svc_meth, args, args_len, &due);
			return false;
		}
		if (lose(net))
			return false; /* the request is lost */
	}

	job *j = dispatch(net, e, w, servername, srv, svc_meth, args, args_len);
	/* A reply from a server deleted or disconnected meanwhile is never
	 * delivered: the server may have saved state in a persister that has
	 * since been replaced. */
	bool ok = j->handled && j->reply_ok && !call_stopped(net, e) &&
		  !server_dead(net, e, servername, srv);
	if (ok) {
		*reply = j->reply;
		*reply_len = j->reply_len;
		j->reply = NULL;
	}
	job_unref(j);
	if (!ok)
		return false;

	if (!reliable && lose(net))
		ok = false; /* the reply is lost */
	else if (reordering && prng_intn(&net->rng, 900) < 600)
		ok = delay(net, e, w, 200 + prng_intn(&net->rng, 1 + prng_intn(&net->rng, 2000)));
	if (ok)
		atomic_fetch_add(&net->bytes, (long long)*reply_len);
	else {
		free(*reply);
		*reply = NULL;
		*reply_len = 0;
	}
	return ok;
}

bool labrpc_call(labrpc_end *e, const char *svc_meth, const void *args, size_t args_len,
		 uint8_t **reply, size_t *reply_len)
{
	labrpc_net *net = e->net;
	*reply = NULL;
	*reply_len = 0;
	atomic_fetch_add(&net->calls_made, 1);
	pthread_mutex_lock(&net->mu);
	if (call_stopped(net, e)) {
		pthread_mutex_unlock(&net->mu);
		return false;
	}
	atomic_fetch_add(&net->count, 1);
	atomic_fetch_add(&net->bytes, (long long)args_len);
	waiter w;
	waiter_add(net, &w, e);

	bool ok = false;
	char *servername = e->servername ? xstrdup(e->servername) : NULL;
	labrpc_server *srv = find_server(net, servername);
	if (e->enabled && srv) {
		/* The call holds the server for its whole length, as Go's
		 * garbage collector would: it may be deleted (and otherwise
		 * freed) while we wait out the unreliable network's delay. */
		atomic_fetch_add(&srv->refs, 1);
		ok = deliver(net, e, &w, servername, srv, svc_meth, args, args_len, reply,
			     reply_len);
	} else {
		srv = NULL;
		/* No reply, and an eventual timeout.  The long delay checks
		 * that Raft leaders never send RPCs synchronously. */
		int64_t ms = net->long_delays ? prng_intn(&net->rng, 7000)
					      : prng_intn(&net->rng, 100);
		delay(net, e, &w, ms);
	}
	waiter_remove(net, &w);
	pthread_mutex_unlock(&net->mu);
	server_release(srv);
	free(servername);
	return ok;
}

void labrpc_cleanup(labrpc_net *net)
{
	pthread_mutex_lock(&net->mu);
	net->done = true;
	wake_waiters(net, NULL, false);
	while (net->active_calls > 0)
		pthread_cond_wait(&net->calls_gone, &net->mu);
	net->pool_stop = true;
	for (worker *w = net->workers; w; w = w->next_all)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&net->mu);
	/* Workers finish the handler they run, if any, then exit. */
	for (worker *w = net->workers; w; w = w->next_all)
		if (!w->joined) {
			pthread_join(w->tid, NULL);
			w->joined = true;
		}
}

void labrpc_free(labrpc_net *net)
{
	if (net == NULL)
		return;
	labrpc_cleanup(net);
	for (worker *w = net->workers, *next; w; w = next) {
		next = w->next_all;
		pthread_cond_destroy(&w->cv);
		free(w);
	}
	/* Servers first: releasing one may run its service's release(), and
	 * a Raft released there is killed, which aborts its ends. */
	pthread_mutex_lock(&net->mu);
	server_entry *servers = net->servers;
	net->servers = NULL;
	pthread_mutex_unlock(&net->mu);
	for (server_entry *s = servers, *next; s; s = next) {
		next = s->next;
		server_release(s->srv);
		free(s->name);
		free(s);
	}
	for (int i = 0; i < END_BUCKETS; i++) {
		for (labrpc_end *e = net->ends[i], *next; e; e = next) {
			next = e->hnext;
			free(e->name);
			free(e->servername);
			free(e);
		}
	}
	pthread_cond_destroy(&net->calls_gone);
	pthread_mutex_destroy(&net->mu);
	free(net);
}
