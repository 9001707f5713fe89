/* goroutine.c: go, WaitGroup and a Kill-aware sleep on pthreads.
 *
 * A worker is a thread with a slot for one function.  When its function
 * returns, it goes on the group's idle stack and sleeps on its own
 * condition variable until go_start fills the slot again; the stack is
 * last-in first-out, so the thread that ran most recently (its stack still
 * in the cache) runs the next function.  Only when no worker is idle does
 * go_start create a thread.
 *
 * Wake-ups come after the unlock: go_start fills the slot under the
 * group's mutex and signals the worker once it has released it, so the
 * worker wakes to a free mutex rather than running only to sleep again on
 * it.  Condition variables live as long as the group, which nobody frees
 * while a go_start is under way. */
#define _GNU_SOURCE
#include "goroutine.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Room for a function's argument in the worker itself; a bigger one is
 * allocated. */
#define ARG_INLINE 128
/* Workers carry an RPC call and its reply handler; labrpc's and the
 * tester's stacks are small.  Many may exist at once (one per call a
 * partitioned peer has in flight), so they get less than glibc's 8 MB. */
#define WORKER_STACK (256 * 1024)

typedef struct worker {
	pthread_t tid;
	pthread_cond_t cv;        /* sleeps here while idle */
	struct go_group *g;
	void (*fn)(void *);       /* the function to run, NULL while idle */
	const char *name;         /* its name, as go_start was given it */
	void *arg;                /* in room[0] or room[1], or allocated */
	bool returning;           /* fn said so (go_returning) */
	void (*then)(void *);     /* started by fn after that: runs next, here */
	const char *then_name;
	void *then_arg;
	const char *named;        /* the name the thread has now */
	unsigned char room[2][ARG_INLINE];
	struct worker *next_idle, *next_all;
} worker;

struct go_group {
	pthread_mutex_t mu;
	atomic_bool killed;
	int running;              /* functions started and not yet returned */
	int returning;            /* workers whose function said go_returning */
	bool retiring;            /* idle workers are to exit */
	bool joined;              /* every worker has been joined */
	pthread_cond_t done_cv;   /* go_wait sleeps here */
	pthread_cond_t sleep_cv;  /* go_sleep sleeps here (CLOCK_MONOTONIC) */
	worker *idle, *all;
};

go_group *go_group_make(void)
{
	go_group *g = xcalloc(1, sizeof *g);
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->done_cv, NULL);
	cond_init_monotonic(&g->sleep_cv);
	atomic_init(&g->killed, false);
	return g;
}

static void *worker_main(void *arg);

/* A copy of size bytes at arg, in room if they fit. */
static void *copy_arg(void *room, const void *arg, size_t size)
{
	void *copy = size <= ARG_INLINE ? room : xmalloc(size);
	if (size)
		memcpy(copy, arg, size);
	return copy;
}

static bool in_room(const worker *w, const void *arg)
{
	return arg == w->room[0] || arg == w->room[1];
}

/* Give w the function and a copy of its argument (g->mu held). */
static void assign(worker *w, void (*fn)(void *), const char *name, const void *arg,
		   size_t size)
{
	w->fn = fn;
	w->name = name;
	w->arg = copy_arg(w->room[0], arg, size);
}

/* The worker the caller runs on, if its function said go_returning
 * (g->mu held). */
static worker *returning_self(go_group *g)
{
	if (g->returning == 0)
		return NULL;
	pthread_t me = pthread_self();
	for (worker *w = g->all; w; w = w->next_all)
		if (w->returning && pthread_equal(w->tid, me))
			return w;
	return NULL;
}

/* A new worker with a function to run, on the group's list (g->mu held:
 * go_wait reads tid only after taking it).  False when the system starts
 * no more threads. */
static bool spawn(go_group *g, void (*fn)(void *), const char *name, const void *arg,
		  size_t size)
{
	worker *w = xcalloc(1, sizeof *w);
	pthread_cond_init(&w->cv, NULL);
	w->g = g;
	assign(w, fn, name, arg, size);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	int rc = pthread_create(&w->tid, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		if (!in_room(w, w->arg))
			free(w->arg);
		pthread_cond_destroy(&w->cv);
		free(w);
		return false;
	}
	w->next_all = g->all;
	g->all = w;
	return true;
}

bool go_start_named(go_group *g, void (*fn)(void *arg), const char *name, const void *arg,
		    size_t size)
{
	pthread_mutex_lock(&g->mu);
	if (atomic_load(&g->killed)) {
		pthread_mutex_unlock(&g->mu);
		return false;
	}
	g->running++;
	worker *w = returning_self(g);
	if (w && w->then == NULL) {
		/* Runs here once the caller returns: no thread to wake. */
		w->then = fn;
		w->then_name = name;
		w->then_arg = copy_arg(w->arg == w->room[0] ? w->room[1] : w->room[0], arg, size);
		pthread_mutex_unlock(&g->mu);
		return true;
	}
	w = g->idle;
	if (w == NULL) {
		bool started = spawn(g, fn, name, arg, size);
		if (!started)
			g->running--;
		pthread_mutex_unlock(&g->mu);
		return started;
	}
	g->idle = w->next_idle;
	assign(w, fn, name, arg, size);
	pthread_mutex_unlock(&g->mu);
	pthread_cond_signal(&w->cv);
	return true;
}

/* The thread takes the name of the function it runs, as far as Linux's
 * 15 characters go: the simulator's reports, gdb's backtraces and top -H
 * then say "applier", not "worker_main".  Named again only when the
 * function changes (a system call; a call_peer thread mostly runs
 * call_peer). */
static void name_thread(worker *w, const char *name)
{
	if (w->named == name || name == NULL)
		return;
	char buf[16];
	snprintf(buf, sizeof buf, "%s", name);
	pthread_setname_np(pthread_self(), buf);
	w->named = name;
}

/* Run functions as they are assigned, until the group retires its idle
 * workers. */
static void *worker_main(void *arg)
{
	worker *w = arg;
	go_group *g = w->g;
	pthread_mutex_lock(&g->mu);
	for (;;) {
		while (w->fn == NULL && !g->retiring)
			pthread_cond_wait(&w->cv, &g->mu);
		if (w->fn == NULL)
			break;
		void (*fn)(void *) = w->fn;
		const char *name = w->name;
		pthread_mutex_unlock(&g->mu);
		name_thread(w, name);
		fn(w->arg);
		pthread_mutex_lock(&g->mu);
		if (!in_room(w, w->arg))
			free(w->arg);
		if (w->returning) {
			w->returning = false;
			g->returning--;
		}
		w->fn = w->then;
		w->name = w->then_name;
		w->arg = w->then_arg;
		w->then = NULL;
		if (w->fn) { /* started by the last function: counted already */
			g->running--;
			continue;
		}
		w->next_idle = g->idle;
		g->idle = w;
		if (--g->running == 0) {
			pthread_mutex_unlock(&g->mu);
			pthread_cond_broadcast(&g->done_cv);
			pthread_mutex_lock(&g->mu);
		}
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

void go_returning(go_group *g)
{
	pthread_t me = pthread_self();
	pthread_mutex_lock(&g->mu);
	for (worker *w = g->all; w; w = w->next_all)
		if (!w->returning && w->fn && pthread_equal(w->tid, me)) {
			w->returning = true;
			g->returning++;
			break;
		}
	pthread_mutex_unlock(&g->mu);
}

bool go_sleep(go_group *g, int64_t ms)
{
	return go_sleep_us(g, ms * 1000);
}

bool go_sleep_us(go_group *g, int64_t us)
{
	struct timespec deadline;
	deadline_after_us(&deadline, us);
	pthread_mutex_lock(&g->mu);
	int rc = 0;
	while (!atomic_load(&g->killed) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&g->sleep_cv, &g->mu, &deadline);
	bool slept = !atomic_load(&g->killed);
	pthread_mutex_unlock(&g->mu);
	return slept;
}

void go_kill(go_group *g)
{
	/* Set under the mutex: a go_start or go_sleep that looked before is
	 * past its look (started, or asleep) when we have it. */
	pthread_mutex_lock(&g->mu);
	atomic_store(&g->killed, true);
	pthread_mutex_unlock(&g->mu);
	pthread_cond_broadcast(&g->sleep_cv);
}

bool go_killed(const go_group *g)
{
	return atomic_load(&g->killed);
}

const atomic_bool *go_kill_flag(const go_group *g)
{
	return &g->killed;
}

/* Every function has returned and nothing can start: make the idle
 * workers exit and join them (g->mu held, released while joining). */
static void retire_workers(go_group *g)
{
	g->retiring = true;
	worker *all = g->all;
	for (worker *w = all; w; w = w->next_all)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&g->mu);
	for (worker *w = all; w; w = w->next_all)
		pthread_join(w->tid, NULL);
	pthread_mutex_lock(&g->mu);
	g->joined = true;
	pthread_cond_broadcast(&g->done_cv);
}

void go_wait(go_group *g)
{
	pthread_mutex_lock(&g->mu);
	while (g->running > 0)
		pthread_cond_wait(&g->done_cv, &g->mu);
	if (atomic_load(&g->killed)) {
		if (!g->retiring)
			retire_workers(g);
		while (!g->joined) /* another go_wait is joining */
			pthread_cond_wait(&g->done_cv, &g->mu);
	}
	pthread_mutex_unlock(&g->mu);
}

void go_group_free(go_group *g)
{
	if (g == NULL)
		return;
	if (g->all != NULL && !g->joined) {
		/* Its threads would go on using what we free. */
		fprintf(stderr, "go_group_free: the group's threads still run: call go_kill, then "
				"go_wait, before freeing it\n");
		abort();
	}
	for (worker *w = g->all, *next; w; w = next) {
		next = w->next_all;
		pthread_cond_destroy(&w->cv);
		free(w);
	}
	pthread_cond_destroy(&g->done_cv);
	pthread_cond_destroy(&g->sleep_cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
