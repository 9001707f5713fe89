/* dsim.c: see dsim.h.
 *
 * Each pthread of the program is a fiber: its own stack, run on the one OS
 * thread of the process, switched only inside the wrappers below.  So
 * exactly one runs at any moment, and only the scheduler decides which.
 * The scheduler's state:
 *
 *   - the runnable threads, in an array; at each synchronization point the
 *     scheduler's PRNG picks one of them (the current thread included);
 *   - mutexes and condition variables, kept inside the pthread_mutex_t and
 *     pthread_cond_t objects themselves (PTHREAD_*_INITIALIZER is all
 *     zeros, which here means unlocked, nobody waiting), each with a FIFO
 *     queue of blocked threads;
 *   - the timers: threads in a timed wait or a sleep, sorted by deadline
 *     (ties by thread number, so the order never depends on addresses);
 *   - the virtual clock, in nanoseconds.
 *
 * A thread that blocks leaves the runnable array and the scheduler picks
 * another.  When none is runnable the clock jumps to the first deadline;
 * when there is no deadline either, nothing can ever happen again: that is
 * a deadlock, reported with what every thread waits on.
 *
 * Fork: Check forks a process per test.  The child starts a fresh
 * scheduler (pthread_atfork) with the forking thread as its only thread,
 * the clock at its start value and the PRNGs seeded from SEED again, so a
 * test's run depends on SEED alone, not on what ran before it. */
#define _GNU_SOURCE
#include "dsim.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <execinfo.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../chan.h"
#include "../labrpc/labrpc.h"

/* The real functions (ld --wrap). */
int __real_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
int __real_clock_gettime(clockid_t, struct timespec *);
pthread_t __real_pthread_self(void);
int __real_nanosleep(const struct timespec *, struct timespec *);
ssize_t __real_getrandom(void *, size_t, unsigned);

#define NS_PER_S 1000000000LL
/* The virtual clock starts here (not at 0, so that code subtracting a
 * few seconds from "now" never goes negative). */
#define CLOCK_START_NS (1000 * NS_PER_S)
/* Virtual time one synchronization point takes, and a yield: about what
 * they cost on a real machine.  Without it a loop that polls the clock
 * between synchronization points would never see time move. */
#define POINT_NS 100
#define YIELD_NS 1000
#define STACK_DEFAULT (256 * 1024)
#define MAX_HELD 8
#define MAX_FRAMES 16

typedef enum { RUNNING, BLOCKED, DONE } thread_state;
typedef enum { W_NONE, W_MUTEX, W_COND, W_JOIN, W_SLEEP, W_BARRIER } wait_kind;

typedef struct held_lock {
	const void *mutex;
	void *site;            /* where it was locked */
} held_lock;

typedef struct sim_thread {
	int id;
	char name[32];         /* pthread_setname_np, if the code names it */
	void *(*start)(void *);
	void *arg, *ret;

	void *sp;              /* saved stack pointer while switched out */
	void *stack;
	size_t stack_size;

	thread_state state;
	bool started;          /* has run (a fresh thread has no stack to show) */
	int runq_pos;          /* index in the runnable array, or -1 */
	wait_kind wait;
	const void *wait_obj;
	void *wait_site;       /* the caller of the blocking call */
	int64_t deadline;      /* when timed */
	bool timed, timed_out;
	struct sim_thread *qnext;    /* in a mutex's or condition's queue */
	struct sim_thread *tnext;    /* in the timer list */
	struct sim_thread *joiner;
	bool detached;
	uint64_t prio;         /* SIM_SCHED=pct: its priority, higher runs first */

	held_lock held[MAX_HELD];
	int nheld;

	void *frames[MAX_FRAMES];    /* for the deadlock report */
	int nframes;
	struct sim_thread *all_next;
} sim_thread;

typedef struct {
	sim_thread *head, *tail;
} wait_queue;

/* Our state inside the pthread objects. */
typedef struct {
	sim_thread *owner;
	wait_queue q;
} sim_mutex;

typedef struct {
	wait_queue q;
} sim_cond;

typedef struct {
	unsigned count, arrived;
	wait_queue q;
} sim_barrier;

_Static_assert(sizeof(sim_mutex) <= sizeof(pthread_mutex_t), "sim_mutex fits");
_Static_assert(sizeof(sim_barrier) <= sizeof(pthread_barrier_t), "sim_barrier fits");
_Static_assert(sizeof(sim_cond) <= sizeof(pthread_cond_t), "sim_cond fits");

typedef struct { uint64_t s; } rng_t;

typedef enum { SCHED_RANDOM, SCHED_PCT } sched_kind;

/* PCT's change points (SIM_PCT_DEPTH - 1 of them) at most. */
#define PCT_MAX_DEPTH 16

static struct {
	bool ready;
	uint64_t seed;
	int watchdog_s;
	bool stats;

	sim_thread *cur;
	sim_thread **runq;
	int nrun, caprun;
	sim_thread *timers;
	sim_thread *all;
	int next_id;
	int64_t now;
	rng_t sched_rng, random_rng;

	sched_kind sched;
	int pct_depth;          /* d: d - 1 priority change points */
	uint64_t pct_steps;     /* k: the steps the change points are drawn from */
	uint64_t pct_change[PCT_MAX_DEPTH]; /* the change points, ascending */
	int pct_next;           /* the next change point to come */
	uint64_t pct_step;      /* steps so far: points where a thread woke */
	bool woken;             /* a thread became runnable since the last point */
	sim_thread *yielder;    /* yields the coming pick to the others */

	bool check_run;         /* SIM_CHECK's child run: print the schedule hash */
	uint64_t schedule_hash; /* every pick and its time, FNV-1a */

	_Atomic uint64_t points;
	uint64_t switches, threads;
	int64_t wall_start;
	bool watchdog_started;
	bool dumping;
	sim_thread *dump_caller;

	/* The test's time limit, virtual, from limit_from: SIM_TIMEOUT when
	 * set (limit_env), else the test's own (the lab's 120 s). */
	int64_t limit_ns, limit_from;
	bool limit_env;
	/* The lock rule (SIM_LOCK_RULE): fail the run, or only warn once per
	 * place. */
	bool lock_rule_warn;
} S;

/* ---- PRNG (splitmix64, as util.c's) ---- */

static uint64_t rng_next(rng_t *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- context switch ---- */

#if defined(__x86_64__)
/* Save the callee-saved registers on this stack, store the stack pointer
 * in *save, load new_sp and pop the other thread's registers. */
void dsim_switch(void **save, void *new_sp);
__asm__(".text\n"
	".globl dsim_switch\n"
	".type dsim_switch,@function\n"
	"dsim_switch:\n"
	"  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
	"  movq %rsp, (%rdi)\n"
	"  movq %rsi, %rsp\n"
	"  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
	"  ret\n"
	".size dsim_switch, .-dsim_switch\n");

static void thread_entry(void);

/* A new thread's stack, as if it had called dsim_switch from the start
 * of thread_entry. */
static void *initial_stack(void *stack, size_t size)
{
	uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	void **sp = (void **)top;
	*--sp = NULL;                   /* thread_entry's return address: none */
	*--sp = (void *)thread_entry;   /* where dsim_switch returns */
	for (int i = 0; i < 6; i++)
		*--sp = NULL;           /* rbp rbx r12 r13 r14 r15 */
	return sp;
}
#else
#error "dsim: the context switch is written for x86-64 only"
#endif

/* ---- failure reports ---- */

static int64_t wall_ns(void)
{
	struct timespec ts;
	__real_clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "dsim: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* "function (file:line)" for each address, by addr2line on our own
 * executable.  Only on the way to a failure, so a process is fine. */
/* Is addr in our own executable (not in a shared library)? */
static bool in_executable(const void *addr, uintptr_t *offset)
{
	Dl_info me, info;
	if (!dladdr((void *)dsim_get_stats, &me) || !dladdr(addr, &info) ||
	    info.dli_fbase != me.dli_fbase)
		return false;
	*offset = (uintptr_t)addr - (uintptr_t)info.dli_fbase;
	return true;
}

/* Put "fn (file:line)" into out, or append " <- fn (file:line)" for a
 * frame addr2line reports as inlined into the previous one. */
static void format_frame(char *out, const char *line, bool inlined)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", line);
	buf[strcspn(buf, "\n")] = '\0';
	char *disc = strstr(buf, " (discriminator");
	if (disc)
		*disc = '\0';
	char *at = strstr(buf, " at ");
	if (at)
		*at = '\0';
	char frame[160];
	snprintf(frame, sizeof frame, "%.90s (%.60s)", buf, at ? at + 4 : "?");
	if (inlined) {
		size_t len = strlen(out);
		snprintf(out + len, 160 - len, " <- %s", frame);
	} else {
		snprintf(out, 160, "%s", frame);
	}
}

/* "fn (file:line)" for each address, by addr2line on our own executable
 * (frames inlined into a function are listed after it).  Addresses
 * outside it become "??".  Only on the way to a failure report, so
 * running a process is fine. */
static void symbolize(void *const *addrs, int n, char out[][160])
{
	char cmd[4096];
	int len = snprintf(cmd, sizeof cmd, "addr2line -i -f -p -s -e /proc/%d/exe", (int)getpid());
	int map[MAX_FRAMES + 1], nmapped = 0;
	for (int i = 0; i < n; i++) {
		uintptr_t off;
		snprintf(out[i], 160, "??");
		if (!in_executable(addrs[i], &off) || off == 0 || nmapped >= MAX_FRAMES)
			continue;
		/* A return address points after the call: name the call. */
		len += snprintf(cmd + len, sizeof cmd - (size_t)len, " 0x%lx", (unsigned long)(off - 1));
		map[nmapped++] = i;
	}
	if (nmapped == 0)
		return;
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return;
	char line[512];
	int k = -1;
	while (fgets(line, sizeof line, p)) {
		bool inlined = strncmp(line, " (inlined by) ", 14) == 0;
		if (!inlined && ++k >= nmapped)
			break;
		if (k >= 0)
			format_frame(out[map[k]], inlined ? line + 14 : line, inlined);
	}
	pclose(p);
}

static bool in_simulator(const char *sym)
{
	return strstr(sym, "(dsim.c:") != NULL;
}

static const char *thread_name(sim_thread *t, char *buf, size_t n)
{
	if (t->name[0])
		snprintf(buf, n, "%s", t->name);
	else if (t->start == NULL)
		snprintf(buf, n, "main");
	else {
		char sym[1][160];
		void *a = (void *)t->start;
		/* symbolize names the instruction before: point past the entry. */
		void *after = (char *)a + 1;
		symbolize(&after, 1, sym);
		char *paren = strstr(sym[0], " (");
		if (paren)
			*paren = '\0';
		snprintf(buf, n, "%.40s", sym[0]);
	}
	return buf;
}

static sim_thread *find_owner(const void *mutex)
{
	for (sim_thread *t = S.all; t; t = t->all_next)
		for (int i = 0; i < t->nheld; i++)
			if (t->held[i].mutex == mutex)
				return t;
	return NULL;
}

/* The thread's own frames outside the simulator, "a <- b <- c". */
static void describe_frames(sim_thread *t, char *buf, size_t n)
{
	char sym[MAX_FRAMES][160];
	symbolize(t->frames, t->nframes, sym);
	size_t len = 0;
	int shown = 0;
	buf[0] = '\0';
	for (int i = 0; i < t->nframes && shown < 4; i++) {
		if (in_simulator(sym[i]) || strncmp(sym[i], "??", 2) == 0 || strncmp(sym[i], "_start ", 7) == 0)
			continue;
		len += (size_t)snprintf(buf + len, n - len, "%s%s", shown ? " <- " : "", sym[i]);
		if (len >= n)
			break;
		shown++;
	}
}

/* Does t wait inside the channel (chan.c)?  which gets the outermost
 * chan_ function on its stack: the call the thread's own code made. */
static bool waits_in_channel(sim_thread *t, char *which, size_t n)
{
	char sym[MAX_FRAMES][160];
	symbolize(t->frames, t->nframes, sym);
	const char *outer = NULL;
	for (int i = 0; i < t->nframes; i++)
		/* An entry lists a frame and what was inlined into it:
		 * "park (chan.c:100) <- chan_send (chan.c:118)". */
		for (const char *f = sym[i]; f; f = strstr(f, " <- ")) {
			if (f != sym[i])
				f += 4;
			if (strncmp(f, "chan_", 5) == 0)
				outer = f;
		}
	if (outer == NULL)
		return false;
	snprintf(which, n, "%.*s", (int)strcspn(outer, " "), outer);
	return true;
}

/* The mutex a lock call at site names, from the source line of the call:
 * "rf->mu" for pthread_mutex_lock(&rf->mu).  Empty when the source is
 * not at hand (the report then gives the address alone). */
static void mutex_name(void *site, char *out, size_t n)
{
	out[0] = '\0';
	uintptr_t off;
	if (!in_executable(site, &off) || off == 0)
		return;
	char cmd[256], line[512];
	snprintf(cmd, sizeof cmd, "addr2line -e /proc/%d/exe 0x%lx", (int)getpid(),
		 (unsigned long)(off - 1));
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return;
	char *got = fgets(line, sizeof line, p);
	pclose(p);
	char *colon = got ? strrchr(line, ':') : NULL;
	if (colon == NULL)
		return;
	*colon = '\0';
	long want = strtol(colon + 1, NULL, 10);
	FILE *src = fopen(line, "r");
	if (src == NULL)
		return;
	char text[512];
	for (long i = 1; fgets(text, sizeof text, src); i++) {
		if (i < want)
			continue;
		/* pthread_mutex_lock(&rf->mu): the argument; a condition wait,
		 * pthread_cond_wait(&rf->cv, &rf->mu), locks its second. */
		char *arg = strstr(text, "lock(");
		if (arg)
			arg += 5;
		else if ((arg = strstr(text, "wait(")) != NULL && (arg = strchr(arg, ',')) != NULL)
			arg += 1 + strspn(arg + 1, " ");
		if (arg) {
			if (*arg == '&')
				arg++;
			size_t len = strcspn(arg, "),");
			if (len > 0 && len < 60)
				snprintf(out, n, "%.*s", (int)len, arg);
		}
		break;
	}
	fclose(src);
}

/* "rf->mu (mutex 0x...)", or "mutex 0x..." when it has no name. */
static void describe_mutex(const void *m, void *site, char *out, size_t n)
{
	char name[64];
	mutex_name(site, name, sizeof name);
	if (name[0])
		snprintf(out, n, "%s (mutex %p)", name, m);
	else
		snprintf(out, n, "mutex %p", m);
}

static const held_lock *find_held(sim_thread *t, const void *mutex)
{
	for (int i = 0; i < t->nheld; i++)
		if (t->held[i].mutex == mutex)
			return &t->held[i];
	return NULL;
}

static void report_thread(sim_thread *t)
{
	char name[64], where[700], what[300];
	thread_name(t, name, sizeof name);
	describe_frames(t, where, sizeof where);
	if (!t->started)
		snprintf(where, sizeof where, "(not started yet)");
	switch (t->wait) {
	case W_MUTEX: {
		sim_thread *o = find_owner(t->wait_obj);
		char oname[64], m[128];
		const held_lock *h = o ? find_held(o, t->wait_obj) : NULL;
		describe_mutex(t->wait_obj, h ? h->site : NULL, m, sizeof m);
		if (o)
			snprintf(what, sizeof what, "waits for %s, held by thread %d (%s)", m, o->id,
				 thread_name(o, oname, sizeof oname));
		else
			snprintf(what, sizeof what, "waits for %s", m);
		break;
	}
	case W_COND: {
		char ch[64];
		if (waits_in_channel(t, ch, sizeof ch))
			snprintf(what, sizeof what, "waits on a channel (%s)", ch);
		else
			snprintf(what, sizeof what, "waits on condition variable %p", t->wait_obj);
		break;
	}
	case W_JOIN: {
		char tname[64];
		const sim_thread *j = t->wait_obj;
		snprintf(what, sizeof what, "waits to join thread %d (%s)", j->id,
			 thread_name((sim_thread *)j, tname, sizeof tname));
		break;
	}
	case W_BARRIER: {
		const sim_barrier *b = t->wait_obj;
		snprintf(what, sizeof what, "waits at barrier %p (%u of %u arrived)", t->wait_obj,
			 b->arrived, b->count);
		break;
	}
	case W_SLEEP:
		snprintf(what, sizeof what, "sleeps until virtual time %.3f s",
			 (double)(t->deadline - CLOCK_START_NS) / NS_PER_S);
		break;
	default:
		snprintf(what, sizeof what, t->state == BLOCKED ? "is blocked" : "is runnable");
	}
	fprintf(stderr, "\nthread %d [%s]: %s\n    at %s\n", t->id, name, what, where);
	for (int i = 0; i < t->nheld; i++) {
		char site[1][160], m[128];
		symbolize(&t->held[i].site, 1, site);
		describe_mutex(t->held[i].mutex, t->held[i].site, m, sizeof m);
		fprintf(stderr, "    holds %s, locked at %s\n", m, site[0]);
	}
}

static void switch_to(sim_thread *t);
static void lock_rule_check(const char *call, const void *allowed, void *site);

/* Visit each thread that has a stack once, so that it records it (the
 * caller records its own here). */
static void collect_stacks(void)
{
	sim_thread *me = S.cur;
	me->nframes = backtrace(me->frames, MAX_FRAMES);
	S.dumping = true;
	S.dump_caller = me;
	for (sim_thread *t = S.all; t; t = t->all_next)
		if (t != me && t->started && t->state != DONE)
			switch_to(t);
	S.dumping = false;
	S.cur = me;
}

static double virtual_s(int64_t ns)
{
	return (double)(ns - CLOCK_START_NS) / NS_PER_S;
}

/* The run is over: what every live thread is doing, oldest first as Go
 * lists goroutines, under the headline (what went wrong), then exit. */
static void report_threads_and_exit(const char *headline, const char *detail)
	__attribute__((noreturn));
static void report_threads_and_exit(const char *headline, const char *detail)
{
	collect_stacks();
	fflush(stdout);
	fprintf(stderr, "fatal error: %s\n%s", headline, detail);
	fprintf(stderr, "(dsim: at virtual time %.3f s, seed: SEED=%llu)\n", virtual_s(S.now),
		(unsigned long long)S.seed);
	for (int id = 0; id < S.next_id; id++)
		for (sim_thread *t = S.all; t; t = t->all_next)
			if (t->id == id && t->state != DONE)
				report_thread(t);
	fprintf(stderr, "\n");
	_exit(2);
}

/* Every thread is blocked and no deadline is pending. */
static void deadlock(void) __attribute__((noreturn));
static void deadlock(void)
{
	report_threads_and_exit("all threads are asleep - deadlock!", "");
}

/* ---- the run queue, timers and the clock ---- */

static void runq_add(sim_thread *t)
{
	if (t->runq_pos >= 0)
		return;
	if (S.nrun == S.caprun) {
		S.caprun = S.caprun ? 2 * S.caprun : 16;
		S.runq = realloc(S.runq, (size_t)S.caprun * sizeof *S.runq);
		if (S.runq == NULL)
			fatal("out of memory");
	}
	t->runq_pos = S.nrun;
	S.runq[S.nrun++] = t;
}

static void runq_remove(sim_thread *t)
{
	if (t->runq_pos < 0)
		return;
	sim_thread *last = S.runq[--S.nrun];
	S.runq[t->runq_pos] = last;
	last->runq_pos = t->runq_pos;
	t->runq_pos = -1;
}

static void timer_add(sim_thread *t, int64_t deadline)
{
	t->timed = true;
	t->timed_out = false;
	t->deadline = deadline;
	sim_thread **pp = &S.timers;
	while (*pp && ((*pp)->deadline < deadline ||
		       ((*pp)->deadline == deadline && (*pp)->id < t->id)))
		pp = &(*pp)->tnext;
	t->tnext = *pp;
	*pp = t;
}

static void timer_remove(sim_thread *t)
{
	if (!t->timed)
		return;
	for (sim_thread **pp = &S.timers; *pp; pp = &(*pp)->tnext)
		if (*pp == t) {
			*pp = t->tnext;
			break;
		}
	t->timed = false;
}

static void queue_push(wait_queue *q, sim_thread *t)
{
	t->qnext = NULL;
	if (q->tail)
		q->tail->qnext = t;
	else
		q->head = t;
	q->tail = t;
}

static sim_thread *queue_pop(wait_queue *q)
{
	sim_thread *t = q->head;
	if (t) {
		q->head = t->qnext;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return t;
}

static void queue_remove(wait_queue *q, sim_thread *t)
{
	sim_thread *prev = NULL;
	for (sim_thread *p = q->head; p; prev = p, p = p->qnext)
		if (p == t) {
			if (prev)
				prev->qnext = p->qnext;
			else
				q->head = p->qnext;
			if (q->tail == p)
				q->tail = prev;
			return;
		}
}

static void wake(sim_thread *t)
{
	timer_remove(t);
	t->state = RUNNING;
	t->wait = W_NONE;
	runq_add(t);
	S.woken = true;
}

/* Wake the threads whose deadline has come. */
static void fire_timers(void)
{
	while (S.timers && S.timers->deadline <= S.now) {
		sim_thread *t = S.timers;
		S.timers = t->tnext;
		t->timed = false;
		t->timed_out = true;
		if (t->wait == W_COND)
			queue_remove(&((sim_cond *)t->wait_obj)->q, t);
		wake(t);
	}
}

/* ---- the test's time limit ---- */

/* The lab's 120 s limit on a test, in virtual time: a test that passes it
 * ends at once with every thread's report (as go test's -timeout prints
 * every goroutine), not after the wall-clock timeout of Check.  A hang
 * with a timer still pending (a ticker that sleeps on) moves the virtual
 * clock forever and is never a deadlock: this is what ends it. */
static void time_limit_passed(void) __attribute__((noreturn));
static void time_limit_passed(void)
{
	char headline[96];
	S.now = S.limit_from + S.limit_ns;
	snprintf(headline, sizeof headline, "test timed out after %lld virtual s",
		 (long long)(S.limit_ns / NS_PER_S));
	report_threads_and_exit(headline, "");
}

static void check_time_limit(void)
{
	if (S.limit_ns > 0 && S.now - S.limit_from > S.limit_ns && !S.dumping)
		time_limit_passed();
}

/* ---- scheduling ---- */

static void zombie_free(sim_thread *t);

static void switch_to(sim_thread *t)
{
	sim_thread *me = S.cur;
	if (t == me)
		return;
	S.cur = t;
	S.switches++;
	dsim_switch(&me->sp, t->sp);
	/* Back on me.  The deadlock report visits blocked threads so that
	 * each records its stack, then returns to the reporter. */
	while (S.dumping && S.cur == me && me != S.dump_caller) {
		me->nframes = backtrace(me->frames, MAX_FRAMES);
		sim_thread *caller = S.dump_caller;
		S.cur = caller;
		dsim_switch(&me->sp, caller->sp);
	}
}

/* ---- PCT scheduling (SIM_SCHED=pct) ----
 *
 * Burckhardt, Kothari, Musuvathi and Nagarakatte, "A Randomized Scheduler
 * with Probabilistic Guarantees of Finding Bugs" (ASPLOS 2010).  Each
 * thread gets a random priority when it is created, and the runnable
 * thread of highest priority runs.  At d - 1 steps drawn at random from
 * the first k (SIM_PCT_DEPTH=d, SIM_PCT_STEPS=k), the running thread drops
 * to a priority below every initial one: the i-th change point to d - i.
 * A bug that needs d orderings in a row is then found in each run with
 * probability at least 1/(n k^(d-1)), n threads, where a random walk's
 * chance shrinks with every scheduling decision on the way.
 *
 * A step is a point that matters: one where some thread became runnable
 * (a message delivered, that is a condition signalled; a timer fired; a
 * mutex handed over; a thread started or joined).  Where nothing woke,
 * the running thread just goes on, as the highest priority says.  A
 * thread that yields (a spin waiting for another) lets the others go
 * first, or a high priority would spin it for ever.
 *
 * After the first k steps the random walk takes over, as in Coyote's
 * PCT: strict priorities never end a loop that runs until a time has
 * passed when its iterations cost no virtual time.  TestReliableChurn2C's
 * clients commit at once when the Raft threads outrank them, so they never
 * sleep, and 16 virtual seconds took minutes of wall time. */

/* Draw the change points for this process (after the seed is read). */
static void pct_start(void)
{
	int n = S.pct_depth - 1;
	for (int i = 0; i < n; i++) {
		uint64_t c = 1 + rng_next(&S.sched_rng) % S.pct_steps;
		int j = i;
		for (; j > 0 && S.pct_change[j - 1] > c; j--)
			S.pct_change[j] = S.pct_change[j - 1];
		S.pct_change[j] = c;
	}
	S.pct_next = 0;
	S.pct_step = 0;
}

/* A new thread's priority: random, above every change point's. */
static void pct_born(sim_thread *t)
{
	t->prio = (uint64_t)S.pct_depth + (rng_next(&S.sched_rng) >> 2);
}

/* Count a step if a thread woke since the last point, and at a change
 * point lower the running thread's priority. */
static void pct_step(void)
{
	if (!S.woken)
		return;
	S.woken = false;
	S.pct_step++;
	while (S.pct_next < S.pct_depth - 1 && S.pct_change[S.pct_next] == S.pct_step)
		S.cur->prio = (uint64_t)(S.pct_depth - 1 - S.pct_next++);
}

/* The runnable thread of highest priority (ties: the older thread),
 * passing over one that yields unless it is alone; NULL once the first k
 * steps are over: from there the random walk picks. */
static sim_thread *pct_pick(void)
{
	pct_step();
	if (S.pct_step > S.pct_steps)
		return NULL;
	sim_thread *best = NULL;
	for (int i = 0; i < S.nrun; i++) {
		sim_thread *t = S.runq[i];
		if (t == S.yielder && S.nrun > 1)
			continue;
		if (best == NULL || t->prio > best->prio || (t->prio == best->prio && t->id < best->id))
			best = t;
	}
	return best;
}

/* SIM_CHECK: fold each pick and its virtual time into the schedule hash. */
static void note_pick(const sim_thread *next)
{
	uint64_t v[2] = { (uint64_t)next->id, (uint64_t)S.now };
	const unsigned char *b = (const unsigned char *)v;
	for (size_t i = 0; i < sizeof v; i++)
		S.schedule_hash = (S.schedule_hash ^ b[i]) * 0x100000001b3ULL;
}

/* Pick the next thread to run among the runnable ones (the current
 * thread may or may not be one of them) and run it. */
static void schedule(void)
{
	atomic_fetch_add_explicit(&S.points, 1, memory_order_relaxed);
	while (S.nrun == 0) {
		if (S.timers == NULL)
			deadlock();
		if (S.timers->deadline > S.now)
			S.now = S.timers->deadline;
		check_time_limit();
		fire_timers();
	}
	sim_thread *next = S.sched == SCHED_PCT ? pct_pick() : NULL;
	if (next == NULL)
		next = S.runq[rng_next(&S.sched_rng) % (uint64_t)S.nrun];
	S.yielder = NULL;
	note_pick(next);
	switch_to(next);
}

/* A synchronization point: time moves on by cost_ns, due timers fire,
 * and the scheduler picks who runs next (the current thread only if it
 * is still runnable). */
static void point(int64_t cost_ns)
{
	S.now += cost_ns;
	check_time_limit();
	fire_timers();
	schedule();
}

/* Block the current thread on what it waits for; returns when woken. */
static void block(wait_kind kind, const void *obj, void *site)
{
	sim_thread *me = S.cur;
	me->state = BLOCKED;
	me->wait = kind;
	me->wait_obj = obj;
	me->wait_site = site;
	runq_remove(me);
	point(POINT_NS);
}

/* ---- setup, fork and the watchdog ---- */

static sim_thread *thread_new(void)
{
	sim_thread *t = calloc(1, sizeof *t);
	if (t == NULL)
		fatal("out of memory");
	t->id = S.next_id++;
	t->runq_pos = -1;
	t->all_next = S.all;
	S.all = t;
	if (S.sched == SCHED_PCT)
		pct_born(t);
	return t;
}

static void unlink_thread(sim_thread *t)
{
	for (sim_thread **pp = &S.all; *pp; pp = &(*pp)->all_next)
		if (*pp == t) {
			*pp = t->all_next;
			return;
		}
}

static uint64_t parse_u64(const char *name, const char *v)
{
	char *end;
	errno = 0;
	if (*v < '0' || *v > '9')
		fatal("%s=%s: expected a decimal number", name, v);
	unsigned long long x = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0')
		fatal("%s=%s: expected a decimal number", name, v);
	return x;
}

extern char **environ;

static void read_seed(void);

/* SIM_TIMEOUT: the test's limit in virtual seconds (the lab's 120 by
 * default; 0: none).  SIM_LOCK_RULE: fail (the default) or warn. */
static void read_diagnosis_settings(void)
{
	const char *to = getenv("SIM_TIMEOUT");
	S.limit_ns = 120 * NS_PER_S;
	if (to) {
		uint64_t s = parse_u64("SIM_TIMEOUT", to);
		if (s > 86400)
			fatal("SIM_TIMEOUT=%s: expected 0..86400 virtual seconds", to);
		S.limit_ns = (int64_t)s * NS_PER_S;
		S.limit_env = true;
	}
	const char *lr = getenv("SIM_LOCK_RULE");
	if (lr && strcmp(lr, "fail") != 0 && strcmp(lr, "warn") != 0)
		fatal("SIM_LOCK_RULE=%s: expected fail or warn", lr);
	S.lock_rule_warn = lr && strcmp(lr, "warn") == 0;
}

/* SIM_SCHED (random, the default, or pct), SIM_PCT_DEPTH (d, default
 * PCT_DEPTH) and SIM_PCT_STEPS (k, default PCT_STEPS). */
#define PCT_DEPTH 3
#define PCT_STEPS 20000
static void read_scheduler_settings(void)
{
	const char *sched = getenv("SIM_SCHED");
	if (sched == NULL || strcmp(sched, "random") == 0)
		S.sched = SCHED_RANDOM;
	else if (strcmp(sched, "pct") == 0)
		S.sched = SCHED_PCT;
	else
		fatal("SIM_SCHED=%s: expected random or pct", sched);
	const char *d = getenv("SIM_PCT_DEPTH");
	S.pct_depth = PCT_DEPTH;
	if (d) {
		uint64_t v = parse_u64("SIM_PCT_DEPTH", d);
		if (v < 1 || v > PCT_MAX_DEPTH)
			fatal("SIM_PCT_DEPTH=%s: expected 1..%d", d, PCT_MAX_DEPTH);
		S.pct_depth = (int)v;
	}
	const char *k = getenv("SIM_PCT_STEPS");
	S.pct_steps = PCT_STEPS;
	if (k) {
		S.pct_steps = parse_u64("SIM_PCT_STEPS", k);
		if (S.pct_steps < 1)
			fatal("SIM_PCT_STEPS=%s: expected at least 1", k);
	}
	const char *c = getenv("SIM_CHECK");
	if (c && strcmp(c, "0") != 0 && strcmp(c, "1") != 0 && strcmp(c, "run") != 0)
		fatal("SIM_CHECK=%s: expected 0 or 1", c);
	S.check_run = c && strcmp(c, "run") == 0;
}

static void read_settings(void)
{
	static const char *const known[] = { "SIM_WATCHDOG",  "SIM_STATS",     "SIM_TIMEOUT",
					     "SIM_LOCK_RULE", "SIM_SCHED",     "SIM_PCT_DEPTH",
					     "SIM_PCT_STEPS", "SIM_CHECK" };
	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "SIM_", 4) != 0)
			continue;
		size_t n = strcspn(*e, "=");
		bool ok = false;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			ok |= strlen(known[i]) == n && strncmp(*e, known[i], n) == 0;
		if (!ok)
			fatal("unknown setting %.*s (known: SIM_WATCHDOG=seconds, SIM_STATS=0|1, "
			      "SIM_TIMEOUT=virtual seconds, SIM_LOCK_RULE=fail|warn, "
			      "SIM_SCHED=random|pct, SIM_PCT_DEPTH=d, SIM_PCT_STEPS=k, SIM_CHECK=0|1)",
			      (int)n, *e);
	}
	const char *w = getenv("SIM_WATCHDOG");
	S.watchdog_s = 10;
	if (w) {
		uint64_t s = parse_u64("SIM_WATCHDOG", w);
		if (s < 1 || s > 86400)
			fatal("SIM_WATCHDOG=%s: expected 1..86400 seconds", w);
		S.watchdog_s = (int)s;
	}
	const char *st = getenv("SIM_STATS");
	if (st && strcmp(st, "0") != 0 && strcmp(st, "1") != 0)
		fatal("SIM_STATS=%s: expected 0 or 1", st);
	S.stats = st == NULL || strcmp(st, "1") == 0;
	read_diagnosis_settings();
	read_scheduler_settings();

	read_seed();
}

/* The seed: SEED, or one drawn from the OS.  The runner gives each test
 * its own SEED (drawn with getrandom, which comes from this seed), and a
 * test's process reads it again after the fork (after_fork_in_child). */
static void read_seed(void)
{
	const char *seed = getenv("SEED");
	if (seed && *seed) {
		S.seed = parse_u64("SEED", seed);
	} else if (__real_getrandom(&S.seed, sizeof S.seed, 0) != (ssize_t)sizeof S.seed) {
		S.seed = (uint64_t)wall_ns();
	}
}

/* A fresh scheduler whose only thread is the caller. */
static void start_scheduler(void)
{
	for (sim_thread *t = S.all; t;) {
		sim_thread *next = t->all_next;
		if (t != S.cur)
			zombie_free(t);
		t = next;
	}
	sim_thread *me = S.cur;
	S.all = NULL;
	S.timers = NULL;
	S.nrun = 0;
	S.next_id = 0;
	if (me == NULL)
		me = thread_new();
	else {
		memset(me, 0, sizeof *me);
		me->runq_pos = -1;
		me->id = S.next_id++;
		S.all = me;
	}
	me->state = RUNNING;
	me->started = true;
	runq_add(me);
	S.cur = me;
	S.now = CLOCK_START_NS;
	S.limit_from = S.now;
	S.sched_rng.s = S.seed ^ 0x7363686564756c65ULL;   /* "schedule" */
	S.random_rng.s = S.seed ^ 0x72616e646f6d0000ULL;  /* "random" */
	S.schedule_hash = 0xcbf29ce484222325ULL;
	S.woken = false;
	S.yielder = NULL;
	if (S.sched == SCHED_PCT) {
		pct_start();
		pct_born(me); /* from the seeded PRNG, as every later thread */
	}
	atomic_store(&S.points, 0);
	S.switches = S.threads = 0;
	S.wall_start = wall_ns();
	S.watchdog_started = false;
}

static void print_stats(void)
{
	if (!S.stats || S.threads == 0)
		return;
	dsim_stats st;
	dsim_get_stats(&st);
	printf("  ... sim: %.1f s virtual, %.3f s wall, %llu points, %llu switches, "
	       "%llu threads, SEED=%llu\n",
	       (double)st.virtual_ns / NS_PER_S, (double)st.wall_ns / NS_PER_S,
	       (unsigned long long)st.points, (unsigned long long)st.switches,
	       (unsigned long long)st.threads, (unsigned long long)S.seed);
	if (S.check_run)
		printf("  ... sim schedule: %016llx\n", (unsigned long long)S.schedule_hash);
	fflush(stdout);
}

static void after_fork_in_child(void)
{
	read_seed();
	start_scheduler();
	atexit(print_stats);
}

static void check_determinism(char **argv) __attribute__((noreturn));

__attribute__((constructor)) static void dsim_init(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)envp;
	read_settings();
	const char *check = getenv("SIM_CHECK");
	if (check && strcmp(check, "1") == 0)
		check_determinism(argv);
	start_scheduler();
	pthread_atfork(NULL, NULL, after_fork_in_child);
}

/* The OS thread the simulated threads run on (the watchdog looks at it). */
static pid_t fiber_os_tid;

/* The CPU time that OS thread has used, in ns (-1 when unknown). */
static clockid_t fiber_cpu_clock;
static bool fiber_cpu_clock_known;
static int64_t fiber_cpu_ns(void)
{
	struct timespec ts;
	if (!fiber_cpu_clock_known || __real_clock_gettime(fiber_cpu_clock, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Is that OS thread asleep in a system call?  call gets its name ("read(2)"),
 * from /proc: a wait the simulator cannot see, not a spin. */
static bool blocked_in_kernel(char *call, size_t n)
{
	static const struct {
		long nr;
		const char *name;
	} calls[] = {
		{ 0, "read(2)" }, { 1, "write(2)" }, { 7, "poll(2)" }, { 23, "select(2)" },
		{ 35, "nanosleep(2)" }, { 43, "accept(2)" }, { 45, "recvfrom(2)" },
		{ 47, "recvmsg(2)" }, { 61, "wait4(2)" }, { 202, "futex(2) (a lock or wait "
		"outside the simulator)" }, { 230, "clock_nanosleep(2)" }, { 232, "epoll_wait(2)" },
		{ 247, "waitid(2)" }, { 270, "pselect6(2)" }, { 271, "ppoll(2)" },
		{ 281, "epoll_pwait(2)" }, { 288, "accept4(2)" },
	};
	char path[64], buf[128];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)fiber_os_tid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char *got = fgets(buf, sizeof buf, f);
	fclose(f);
	if (got == NULL || buf[0] < '0' || buf[0] > '9')
		return false; /* "running" */
	long nr = strtol(buf, NULL, 10);
	snprintf(call, n, "system call %ld", nr);
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		if (calls[i].nr == nr)
			snprintf(call, n, "%s", calls[i].name);
	return true;
}

/* ---- SIM_CHECK=1: the same seed twice, the same run twice ----
 *
 * The process runs itself twice with the same SEED (and SIM_CHECK=run,
 * which adds each test's schedule hash to its output), without address
 * randomization, and compares the two outputs line by line, wall times
 * aside.  It prints the first run's output, then the verdict; it exits
 * with the first run's status, or 1 when the runs differ. */

/* Run argv with the environment as it is; its stdout and stderr in *out
 * (NUL-terminated, *len bytes), its wait status returned. */
static int run_capturing(char **argv, char **out, size_t *len)
{
	int fds[2];
	if (pipe(fds) != 0)
		fatal("SIM_CHECK: pipe failed");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		fatal("SIM_CHECK: fork failed");
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		personality(ADDR_NO_RANDOMIZE);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	size_t cap = 1 << 16;
	*len = 0;
	*out = malloc(cap);
	ssize_t n;
	while (*out && (n = read(fds[0], *out + *len, cap - *len - 1)) > 0) {
		*len += (size_t)n;
		if (cap - *len < 4096)
			*out = realloc(*out, cap *= 2);
	}
	if (*out == NULL)
		fatal("out of memory");
	(*out)[*len] = '\0';
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	return status;
}

/* Does this line carry a wall time (the statistics line, the runner's
 * totals), which no two runs share? */
static bool has_wall_time(const char *line, size_t n)
{
	return memmem(line, n, " s wall", 7) || (n >= 3 && memcmp(line, "ok ", 3) == 0) ||
	       (n >= 5 && memcmp(line, "FAIL\t", 5) == 0) ||
	       (n >= 8 && memcmp(line, "--- FAIL", 8) == 0);
}

/* Are the two lines the same, digits aside where they carry a wall time? */
static bool same_line(const char *a, size_t na, const char *b, size_t nb)
{
	if (!has_wall_time(a, na))
		return na == nb && memcmp(a, b, na) == 0;
	size_t i = 0, j = 0;
	for (;;) {
		while (i < na && ((a[i] >= '0' && a[i] <= '9') || a[i] == '.'))
			i++;
		while (j < nb && ((b[j] >= '0' && b[j] <= '9') || b[j] == '.'))
			j++;
		if (i == na || j == nb)
			return i == na && j == nb;
		if (a[i++] != b[j++])
			return false;
	}
}

static void check_determinism(char **argv)
{
	char seed[32];
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)S.seed);
	setenv("SEED", seed, 1);
	setenv("SIM_CHECK", "run", 1);
	char *out[2];
	size_t len[2];
	int status[2];
	for (int r = 0; r < 2; r++)
		status[r] = run_capturing(argv, &out[r], &len[r]);
	fwrite(out[0], 1, len[0], stdout);
	const char *a = out[0], *b = out[1];
	int line = 1;
	for (;; line++) {
		size_t na = strcspn(a, "\n"), nb = strcspn(b, "\n");
		bool a_ends = a[na] == '\0', b_ends = b[nb] == '\0';
		if (!same_line(a, na, b, nb) || a_ends != b_ends) {
			printf("dsim: SIM_CHECK: SEED=%s is not deterministic: the two runs differ "
			       "at line %d:\n  first:  %.*s%s\n  second: %.*s%s\n",
			       seed, line, (int)na, a, a_ends ? " (the end)" : "", (int)nb, b,
			       b_ends ? " (the end)" : "");
			fflush(stdout);
			_exit(1);
		}
		if (a_ends)
			break;
		a += na + 1;
		b += nb + 1;
	}
	bool same_status = status[0] == status[1];
	printf("dsim: SIM_CHECK: SEED=%s: %s (%d lines, schedules and output)\n", seed,
	       same_status ? "both runs the same" : "the same output, but not the same exit status",
	       line);
	fflush(stdout);
	if (!same_status)
		_exit(1);
	_exit(WIFEXITED(status[0]) ? WEXITSTATUS(status[0]) : 1);
}

/* A real thread that fails the run when the running thread has reached
 * no synchronization point for SIM_WATCHDOG seconds of wall time (a
 * thread that spins without yielding would otherwise hang the run). */
static void *watchdog_main(void *arg)
{
	(void)arg;
	uint64_t last = atomic_load(&S.points);
	int64_t since = wall_ns(), cpu_since = fiber_cpu_ns();
	for (;;) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		__real_nanosleep(&ts, NULL);
		uint64_t p = atomic_load_explicit(&S.points, memory_order_relaxed);
		int64_t now = wall_ns();
		if (p != last) {
			last = p;
			since = now;
			cpu_since = fiber_cpu_ns();
			continue;
		}
		if (now - since >= (int64_t)S.watchdog_s * NS_PER_S) {
			char call[96];
			/* On a loaded machine the thread may have waited for a core
			 * all along: a spin is one that used the CPU (half the
			 * time at least), a kernel wait one that sleeps in it. */
			int64_t cpu = fiber_cpu_ns();
			if (!blocked_in_kernel(call, sizeof call) && cpu >= 0 && cpu_since >= 0 &&
			    cpu - cpu_since < (int64_t)S.watchdog_s * NS_PER_S / 2)
				continue;
			sim_thread *t = S.cur;
			char name[64], msg[400];
			thread_name(t, name, sizeof name);
			int n = blocked_in_kernel(call, sizeof call)
				? snprintf(msg, sizeof msg,
					   "\ndsim: thread %d [%s] has been blocked in the kernel in %s "
					   "for %d s of wall time: a wait the simulator does not model "
					   "(a pipe, a socket, a file?); seed: SEED=%llu\n",
					   t->id, name, call, S.watchdog_s, (unsigned long long)S.seed)
				: snprintf(msg, sizeof msg,
					 "\ndsim: thread %d [%s] has run for %d s of wall time without "
					 "reaching a synchronization point (a spin that never yields?); "
					 "seed: SEED=%llu\n",
					 t->id, name, S.watchdog_s, (unsigned long long)S.seed);
			if (write(2, msg, (size_t)n) < 0) {
			}
			/* Name it, and where it is, the way gdb would. */
			char cmd[128];
			snprintf(cmd, sizeof cmd,
				 "gdb -batch -p %d -ex bt 2>/dev/null | grep '^#' | head -8 >&2",
				 (int)getpid());
			if (system(cmd) < 0) {
			}
			_exit(3);
		}
	}
	return NULL;
}

static void start_watchdog(void)
{
	if (S.watchdog_started)
		return;
	S.watchdog_started = true;
	fiber_os_tid = (pid_t)syscall(SYS_gettid);
	fiber_cpu_clock_known = pthread_getcpuclockid(__real_pthread_self(), &fiber_cpu_clock) == 0;
	pthread_t tid;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (__real_pthread_create(&tid, &attr, watchdog_main, NULL) != 0)
		fatal("cannot start the watchdog thread");
	pthread_attr_destroy(&attr);
}

/* ---- threads ---- */

static void thread_exit(void *ret) __attribute__((noreturn));

static void thread_entry(void)
{
	sim_thread *me = S.cur;
	me->started = true;
	thread_exit(me->start(me->arg));
}

static void zombie_free(sim_thread *t)
{
	if (t->stack)
		munmap(t->stack, t->stack_size);
	free(t);
}

/* Threads that ended detached: freed by the next thread to run, since
 * a thread cannot free the stack it stands on. */
static sim_thread *zombies;

static void reap_zombies(void)
{
	while (zombies) {
		sim_thread *t = zombies;
		zombies = t->qnext;
		zombie_free(t);
	}
}

static void thread_exit(void *ret)
{
	sim_thread *me = S.cur;
	me->ret = ret;
	me->state = DONE;
	runq_remove(me);
	if (me->joiner)
		wake(me->joiner);
	if (me->detached) {
		unlink_thread(me);
		me->qnext = zombies;
		zombies = me;
	}
	point(POINT_NS);
	fatal("a finished thread was scheduled");
}

int __wrap_pthread_create(pthread_t *tid, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg)
{
	reap_zombies();
	size_t size = STACK_DEFAULT;
	int detach = PTHREAD_CREATE_JOINABLE;
	if (attr) {
		size_t want;
		if (pthread_attr_getstacksize(attr, &want) == 0 && want > size)
			size = want;
		pthread_attr_getdetachstate(attr, &detach);
	}
	size = (size + 4095) & ~(size_t)4095;
	/* One guard page below the stack: an overflow faults at once. */
	char *mem = mmap(NULL, size + 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return EAGAIN;
	mprotect(mem, 4096, PROT_NONE);

	sim_thread *t = thread_new();
	t->stack = mem;
	t->stack_size = size + 4096;
	t->start = fn;
	t->arg = arg;
	t->detached = detach == PTHREAD_CREATE_DETACHED;
	t->sp = initial_stack(mem + 4096, size);
	t->state = RUNNING;
	runq_add(t);
	S.woken = true;
	S.threads++;
	*tid = (pthread_t)t;
	start_watchdog();
	point(POINT_NS);
	return 0;
}

int __wrap_pthread_join(pthread_t tid, void **ret)
{
	sim_thread *t = (sim_thread *)tid;
	if (t == S.cur)
		return EDEADLK;
	if (t->detached || t->joiner)
		return EINVAL;
	lock_rule_check("pthread_join", NULL, __builtin_return_address(0));
	while (t->state != DONE) {
		t->joiner = S.cur;
		block(W_JOIN, t, __builtin_return_address(0));
	}
	if (ret)
		*ret = t->ret;
	unlink_thread(t);
	zombie_free(t);
	point(POINT_NS);
	return 0;
}

int __wrap_pthread_detach(pthread_t tid)
{
	sim_thread *t = (sim_thread *)tid;
	if (t->state == DONE) {
		unlink_thread(t);
		zombie_free(t);
	} else {
		t->detached = true;
	}
	return 0;
}

void __wrap_pthread_exit(void *ret)
{
	if (S.cur->start == NULL)
		exit(0); /* the main thread: the process ends (others are fibers) */
	thread_exit(ret);
}

pthread_t __wrap_pthread_self(void)
{
	return (pthread_t)S.cur;
}

int __wrap_pthread_setname_np(pthread_t tid, const char *name)
{
	sim_thread *t = (sim_thread *)tid;
	snprintf(t->name, sizeof t->name, "%s", name);
	return 0;
}

int __wrap_pthread_getname_np(pthread_t tid, char *name, size_t len)
{
	sim_thread *t = (sim_thread *)tid;
	if (len == 0 || strlen(t->name) >= len)
		return ERANGE;
	snprintf(name, len, "%s", t->name);
	return 0;
}

/* ---- mutexes ---- */

int __wrap_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	(void)attr;
	memset(m, 0, sizeof *m);
	return 0;
}

int __wrap_pthread_mutex_destroy(pthread_mutex_t *m)
{
	sim_mutex *sm = (sim_mutex *)m;
	return sm->owner || sm->q.head ? EBUSY : 0;
}

static void note_held(const void *m, void *site)
{
	sim_thread *me = S.cur;
	if (me->nheld < MAX_HELD)
		me->held[me->nheld++] = (held_lock){ m, site };
}

static void note_released(const void *m)
{
	sim_thread *me = S.cur;
	for (int i = me->nheld - 1; i >= 0; i--)
		if (me->held[i].mutex == m) {
			me->held[i] = me->held[--me->nheld];
			return;
		}
}

/* The thread locks a mutex it holds: it waits for itself forever.  The
 * report names both places. */
static void relock(sim_mutex *sm, void *site) __attribute__((noreturn));
static void relock(sim_mutex *sm, void *site)
{
	sim_thread *me = S.cur;
	const held_lock *h = find_held(me, sm);
	char name[64], m[128], first[1][160], again[700], headline[320], detail[1024];
	describe_mutex(sm, h ? h->site : site, m, sizeof m);
	snprintf(headline, sizeof headline, "thread %d [%s] locks %s, which it already holds - deadlock!",
		 me->id, thread_name(me, name, sizeof name), m);
	if (h)
		symbolize((void *const *)&h->site, 1, first);
	else
		snprintf(first[0], sizeof first[0], "?");
	me->nframes = backtrace(me->frames, MAX_FRAMES);
	describe_frames(me, again, sizeof again);
	snprintf(detail, sizeof detail, "    first locked at %s\n    locked again at %s\n",
		 first[0], again);
	me->wait = W_MUTEX;
	me->wait_obj = sm;
	me->wait_site = site;
	report_threads_and_exit(headline, detail);
}

static void mutex_acquire(sim_mutex *sm, void *site)
{
	while (sm->owner) {
		if (sm->owner == S.cur)
			relock(sm, site);
		queue_push(&sm->q, S.cur);
		block(W_MUTEX, sm, site);
	}
	sm->owner = S.cur;
	note_held(sm, site);
}

/* Release without a scheduling point; the first waiter may run again. */
static void mutex_release(sim_mutex *sm)
{
	sm->owner = NULL;
	note_released(sm);
	sim_thread *w = queue_pop(&sm->q);
	if (w)
		wake(w);
}

int __wrap_pthread_mutex_lock(pthread_mutex_t *m)
{
	sim_mutex *sm = (sim_mutex *)m;
	point(POINT_NS);
	mutex_acquire(sm, __builtin_return_address(0));
	return 0;
}

int __wrap_pthread_mutex_trylock(pthread_mutex_t *m)
{
	sim_mutex *sm = (sim_mutex *)m;
	point(POINT_NS);
	if (sm->owner)
		return EBUSY;
	sm->owner = S.cur;
	note_held(sm, __builtin_return_address(0));
	return 0;
}

int __wrap_pthread_mutex_unlock(pthread_mutex_t *m)
{
	sim_mutex *sm = (sim_mutex *)m;
	if (sm->owner != S.cur)
		fatal("thread %d unlocks a mutex it does not hold", S.cur->id);
	mutex_release(sm);
	point(POINT_NS);
	return 0;
}

/* ---- condition variables ---- */

int __wrap_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
	(void)attr; /* every clock is the virtual one */
	memset(c, 0, sizeof *c);
	return 0;
}

int __wrap_pthread_cond_destroy(pthread_cond_t *c)
{
	return ((sim_cond *)c)->q.head ? EBUSY : 0;
}

static int64_t timespec_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime,
		     void *site)
{
	sim_cond *sc = (sim_cond *)c;
	sim_mutex *sm = (sim_mutex *)m;
	if (sm->owner != S.cur)
		fatal("thread %d waits on a condition without holding its mutex", S.cur->id);
	lock_rule_check("pthread_cond_wait", sm, site);
	sim_thread *me = S.cur;
	mutex_release(sm);
	me->timed_out = false;
	if (abstime && timespec_ns(abstime) <= S.now) {
		me->timed_out = true;
		point(POINT_NS);
	} else {
		queue_push(&sc->q, me);
		if (abstime)
			timer_add(me, timespec_ns(abstime));
		block(W_COND, sc, site);
	}
	bool timed_out = me->timed_out;
	mutex_acquire(sm, site);
	return timed_out ? ETIMEDOUT : 0;
}

int __wrap_pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	return cond_wait(c, m, NULL, __builtin_return_address(0));
}

int __wrap_pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				  const struct timespec *abstime)
{
	return cond_wait(c, m, abstime, __builtin_return_address(0));
}

int __wrap_pthread_cond_signal(pthread_cond_t *c)
{
	sim_thread *w = queue_pop(&((sim_cond *)c)->q);
	if (w)
		wake(w);
	point(POINT_NS);
	return 0;
}

int __wrap_pthread_cond_broadcast(pthread_cond_t *c)
{
	for (sim_thread *w; (w = queue_pop(&((sim_cond *)c)->q)) != NULL;)
		wake(w);
	point(POINT_NS);
	return 0;
}

/* ---- barriers ---- */

int __wrap_pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr,
				unsigned count)
{
	(void)attr;
	if (count == 0)
		return EINVAL;
	memset(b, 0, sizeof *b);
	((sim_barrier *)b)->count = count;
	return 0;
}

int __wrap_pthread_barrier_destroy(pthread_barrier_t *b)
{
	return ((sim_barrier *)b)->q.head ? EBUSY : 0;
}

int __wrap_pthread_barrier_wait(pthread_barrier_t *b)
{
	sim_barrier *sb = (sim_barrier *)b;
	if (++sb->arrived == sb->count) {
		sb->arrived = 0;
		for (sim_thread *w; (w = queue_pop(&sb->q)) != NULL;)
			wake(w);
		point(POINT_NS);
		return PTHREAD_BARRIER_SERIAL_THREAD;
	}
	queue_push(&sb->q, S.cur);
	block(W_BARRIER, sb, __builtin_return_address(0));
	return 0;
}

/* ---- time ---- */

int __wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
	(void)clk; /* one virtual clock for all */
	ts->tv_sec = S.now / NS_PER_S;
	ts->tv_nsec = S.now % NS_PER_S;
	return 0;
}

static void sleep_until(int64_t deadline, void *site)
{
	lock_rule_check("a sleep", NULL, site);
	if (deadline <= S.now) {
		point(POINT_NS);
		return;
	}
	timer_add(S.cur, deadline);
	block(W_SLEEP, NULL, site);
}

int __wrap_nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (req->tv_nsec < 0 || req->tv_nsec >= NS_PER_S || req->tv_sec < 0) {
		errno = EINVAL;
		return -1;
	}
	sleep_until(S.now + timespec_ns(req), __builtin_return_address(0));
	if (rem)
		rem->tv_sec = rem->tv_nsec = 0;
	return 0;
}

int __wrap_clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			   struct timespec *rem)
{
	(void)clk;
	int64_t deadline = flags & TIMER_ABSTIME ? timespec_ns(req) : S.now + timespec_ns(req);
	sleep_until(deadline, __builtin_return_address(0));
	if (rem)
		rem->tv_sec = rem->tv_nsec = 0;
	return 0;
}

int __wrap_usleep(useconds_t us)
{
	sleep_until(S.now + (int64_t)us * 1000, __builtin_return_address(0));
	return 0;
}

unsigned __wrap_sleep(unsigned s)
{
	sleep_until(S.now + (int64_t)s * NS_PER_S, __builtin_return_address(0));
	return 0;
}

int __wrap_sched_yield(void)
{
	S.yielder = S.cur;
	point(YIELD_NS);
	return 0;
}

/* Randomness the code asks the OS for comes from SEED too. */
ssize_t __wrap_getrandom(void *buf, size_t len, unsigned flags)
{
	(void)flags;
	unsigned char *p = buf;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = rng_next(&S.random_rng);
		memcpy(p + i, &r, len - i < 8 ? len - i : 8);
	}
	return (ssize_t)len;
}

/* ---- dsim.h ---- */

void dsim_get_stats(dsim_stats *st)
{
	st->points = atomic_load(&S.points);
	st->switches = S.switches;
	st->threads = S.threads;
	st->virtual_ns = S.now - CLOCK_START_NS;
	st->wall_ns = wall_ns() - S.wall_start;
}

int dsim_live_threads(void)
{
	int n = 0;
	for (sim_thread *t = S.all; t; t = t->all_next)
		n++;
	return n;
}

uint64_t dsim_seed(void)
{
	return S.seed;
}

void dsim_restart_time_limit(double test_limit_s)
{
	S.limit_from = S.now;
	if (!S.limit_env)
		S.limit_ns = (int64_t)(test_limit_s * (double)NS_PER_S);
}

/* ---- the lab's lock rule ---- */

/* Places already warned about (SIM_LOCK_RULE=warn): the call's and the
 * lock's, so that a loop warns once. */
typedef struct {
	void *call, *lock;
} warned_pair;
static warned_pair warned[64];
static int nwarned;

static bool warned_before(void *call, void *lock)
{
	for (int i = 0; i < nwarned; i++)
		if (warned[i].call == call && warned[i].lock == lock)
			return true;
	if (nwarned < (int)(sizeof warned / sizeof warned[0]))
		warned[nwarned++] = (warned_pair){ call, lock };
	return false;
}

/* The thread makes a blocking call (call, made at site) while it holds h:
 * name the thread, the mutex, where it was locked and where the call is. */
static void lock_rule_broken(const char *call, void *site, const held_lock *h)
{
	sim_thread *me = S.cur;
	if (S.lock_rule_warn && warned_before(site, h->site))
		return;
	me->nframes = backtrace(me->frames, MAX_FRAMES);
	char name[64], m[128], locked[1][160], at[700];
	thread_name(me, name, sizeof name);
	describe_mutex(h->mutex, h->site, m, sizeof m);
	symbolize((void *const *)&h->site, 1, locked);
	describe_frames(me, at, sizeof at);
	fflush(stdout);
	fprintf(stderr, "%s: thread %d [%s] calls %s while holding %s\n"
		"    %s called at %s\n    %s was locked at %s\n"
		"    (the lab's rule: never hold a mutex across an RPC, a channel operation, "
		"a sleep or a join)\n(dsim: at virtual time %.3f s, seed: SEED=%llu)\n",
		S.lock_rule_warn ? "dsim: warning" : "fatal error", me->id, name, call, m, call, at,
		m, locked[0], virtual_s(S.now), (unsigned long long)S.seed);
	if (!S.lock_rule_warn)
		_exit(2);
}

/* "Never hold a mutex across an RPC call, channel op, join or sleep":
 * each such call checks that its thread holds no mutex but allowed (a
 * condition wait's own).  Checked at the call, not once it blocks, so
 * that a seed on which the call happens not to wait fails as well. */
static void lock_rule_check(const char *call, const void *allowed, void *site)
{
	sim_thread *me = S.cur;
	for (int i = 0; i < me->nheld; i++)
		if (me->held[i].mutex != allowed) {
			lock_rule_broken(call, site, &me->held[i]);
			return;
		}
}

bool __real_chan_send(Chan *ch, const void *elem);
bool __real_chan_send_unless(Chan *ch, const void *elem, const atomic_bool *stop);
size_t __real_chan_send_all_unless(Chan *ch, const void *elems, size_t n, const atomic_bool *stop);
bool __real_chan_recv(Chan *ch, void *elem);
bool __real_labrpc_call(labrpc_end *end, const char *svc_meth, const void *args,
			size_t args_len, uint8_t **reply, size_t *reply_len);

bool __wrap_chan_send(Chan *ch, const void *elem)
{
	lock_rule_check("chan_send", NULL, __builtin_return_address(0));
	return __real_chan_send(ch, elem);
}

bool __wrap_chan_send_unless(Chan *ch, const void *elem, const atomic_bool *stop)
{
	lock_rule_check("chan_send_unless", NULL, __builtin_return_address(0));
	return __real_chan_send_unless(ch, elem, stop);
}

size_t __wrap_chan_send_all_unless(Chan *ch, const void *elems, size_t n, const atomic_bool *stop)
{
	lock_rule_check("chan_send_all_unless", NULL, __builtin_return_address(0));
	return __real_chan_send_all_unless(ch, elems, n, stop);
}

bool __wrap_chan_recv(Chan *ch, void *elem)
{
	lock_rule_check("chan_recv", NULL, __builtin_return_address(0));
	return __real_chan_recv(ch, elem);
}

bool __wrap_labrpc_call(labrpc_end *end, const char *svc_meth, const void *args,
			size_t args_len, uint8_t **reply, size_t *reply_len)
{
	lock_rule_check("labrpc_call", NULL, __builtin_return_address(0));
	return __real_labrpc_call(end, svc_meth, args, args_len, reply, reply_len);
}

/* ---- waits the simulator does not model ---- */

/* A semaphore, a read/write lock or a spin lock would block the one OS
 * thread all simulated threads run on (or spin on it for ever): name the
 * call at once instead. */
static void not_modeled(const char *call) __attribute__((noreturn));
static void not_modeled(const char *call)
{
	sim_thread *me = S.cur;
	char name[64], at[700];
	me->nframes = backtrace(me->frames, MAX_FRAMES);
	describe_frames(me, at, sizeof at);
	fflush(stdout);
	fprintf(stderr, "fatal error: thread %d [%s] calls %s, which the simulator does not model\n"
		"    at %s\n    (every wait must go through a pthread mutex, condition variable, "
		"join or sleep, or util.h and chan.h, for make sim to schedule it)\n"
		"(dsim: at virtual time %.3f s, seed: SEED=%llu)\n",
		me->id, thread_name(me, name, sizeof name), call, at, virtual_s(S.now),
		(unsigned long long)S.seed);
	_exit(2);
}

int __wrap_sem_wait(sem_t *s)
{
	(void)s;
	not_modeled("sem_wait");
}

int __wrap_sem_timedwait(sem_t *s, const struct timespec *abstime)
{
	(void)s, (void)abstime;
	not_modeled("sem_timedwait");
}

int __wrap_pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	(void)l;
	not_modeled("pthread_rwlock_rdlock");
}

int __wrap_pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	(void)l;
	not_modeled("pthread_rwlock_wrlock");
}

int __wrap_pthread_spin_lock(pthread_spinlock_t *l)
{
	(void)l;
	not_modeled("pthread_spin_lock");
}
