/* dsim.h: the deterministic simulator behind `make sim`.
 *
 * In the sim build every pthread call, clock read and sleep of our code is
 * redirected here at link time (ld --wrap, see the Makefile), so raft.c,
 * labrpc.c, chan.c and the tests run unchanged, but:
 *
 *   - one thread at a time: each pthread is a fiber on one OS thread, and
 *     at every synchronization point (mutex lock and unlock, condition wait,
 *     signal and broadcast, thread create, join and exit, sleep, yield) a
 *     PRNG seeded from SEED picks which runnable thread goes on;
 *   - virtual time: clock_gettime reads a virtual clock, which moves by a
 *     tick at each synchronization point and jumps to the earliest deadline
 *     when no thread can run, so sleeps cost no wall time;
 *   - exact replay: nothing else decides the run, so SEED=s repeats it;
 *   - deadlock detection: when no thread can run and none has a deadline,
 *     it prints Go's "all threads are asleep - deadlock!" and each
 *     thread's wait, and the process exits with status 2;
 *   - the test's time limit in virtual time: past it (120 virtual s), the
 *     run ends at once with "test timed out after 120 virtual s" and the
 *     same report of each thread (exit status 2);
 *   - the lab's lock rule: a thread that calls chan_send, chan_recv (and
 *     the other blocking channel calls), labrpc_call, a sleep, a join or
 *     a condition wait (on another mutex) while it holds a mutex fails the
 *     run at that call (exit status 2), with the mutex, where it was
 *     locked and where the call is; locking a mutex the thread already
 *     holds is reported as a deadlock, with both places;
 *   - a semaphore, read/write lock or spin lock (which the simulator does
 *     not model) fails the run at the call, named.
 *
 * Settings (environment): SEED (decimal; drawn and exported when unset),
 * SIM_WATCHDOG (wall seconds a thread may run without reaching a
 * synchronization point before the run fails; default 10), SIM_STATS=0
 * (no statistics line at the end of each test process), SIM_TIMEOUT
 * (a test's limit in virtual seconds; default 120, 0 for none),
 * SIM_LOCK_RULE=warn (the lock rule warns once per place instead of
 * failing the run: for code that breaks it on purpose), SIM_SCHED=pct
 * (PCT's priorities and change points instead of the random walk, with
 * SIM_PCT_DEPTH=d, default 3, and SIM_PCT_STEPS=k, default 20000: see
 * dsim.c), SIM_CHECK=1 (run the process twice with the same seed and fail
 * when the schedules or the output differ). */
#ifndef DSIM_H
#define DSIM_H

#include <stdint.h>

/* Counters of this process since it started (or forked). */
typedef struct {
	uint64_t points;      /* synchronization points */
	uint64_t switches;    /* times another thread was given the CPU */
	uint64_t threads;     /* threads created */
	int64_t virtual_ns;   /* virtual time elapsed */
	int64_t wall_ns;      /* real time elapsed */
} dsim_stats;

void dsim_get_stats(dsim_stats *st);

/* Threads that exist: running, blocked, or ended and not yet joined. */
int dsim_live_threads(void);

/* The seed this process's schedule comes from. */
uint64_t dsim_seed(void);

/* The time limit counts from now, and is test_limit_s virtual seconds (the
 * test's own: the lab's 120 s, more for a test of ours that runs longer)
 * unless SIM_TIMEOUT sets it.  The runner calls it before each test. */
void dsim_restart_time_limit(double test_limit_s);

#endif
