/* util.h: what util.go gives the lab (DPrintf), grown into the helpers every
 * module shares: the Debug log with the notes' 16 topics, monotonic time and
 * sleeps, and a small seeded PRNG. */
#ifndef UTIL_H
#define UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 16 four-letter log topics (the notes' "logTopic" list). */
typedef enum {
	dTimer, /* TIMR election timer resets and timeouts */
	dVote,  /* VOTE RequestVote sent, granted, refused */
	dLeader,/* LEAD becoming leader, heartbeats */
	dTerm,  /* TERM term changes, stepping down */
	dLog,   /* LOG1 AppendEntries sent */
	dLog2,  /* LOG2 AppendEntries received, log changes */
	dCommit,/* CMIT commitIndex moves, entries applied */
	dPersist,/* PERS persist and readPersist */
	dSnap,  /* SNAP snapshots taken, sent, installed */
	dDrop,  /* DROP stale or rejected messages */
	dClient,/* CLNT Start() calls */
	dTest,  /* TEST the tester's own events */
	dInfo,  /* INFO anything else */
	dWarn,  /* WARN unexpected but survivable */
	dError, /* ERRO errors (bad input and the like) */
	dTrace, /* TRCE very detailed tracing */
	DEBUG_NTOPICS
} log_topic;

/* The topic's four-letter name ("TIMR"...). */
const char *debug_topic_name(log_topic t);

/* The VERBOSE level, read once from the environment (0 when unset).
 * A VERBOSE that is not a number is fatal, as in the Go helper. */
int debug_verbosity(void);

/* Restart the clock the Debug lines count from (each test calls it). */
void debug_reset_clock(void);

/* One whole line on stderr when VERBOSE >= 1:
 * "%06d TOPIC message", the time in tenths of a millisecond.
 * By convention the message starts with "S<id> " for a peer. */
void Debug(log_topic topic, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define DEBUG_ON() (debug_verbosity() >= 1)

/* Monotonic time. */
int64_t now_us(void);
int64_t now_ms(void);
void sleep_ms(int64_t ms);

/* How many threads this process has (in make sim, the simulator's count,
 * which includes threads that ended and were not joined). */
int thread_count(void);

/* A pthread condition-variable deadline ms from now (CLOCK_MONOTONIC,
 * for conditions made with cond_init_monotonic). */
void deadline_after_ms(struct timespec *ts, int64_t ms);
void deadline_after_us(struct timespec *ts, int64_t us);
void cond_init_monotonic(pthread_cond_t *cv);

/* A small seeded PRNG (splitmix64): one per user, never shared
 * between threads without a lock. */
typedef struct { uint64_t s; } prng;
void prng_seed(prng *r, uint64_t seed);
uint64_t prng_next(prng *r);
/* Uniform in [0, n), n > 0. */
int64_t prng_intn(prng *r, int64_t n);
/* A fresh seed from the OS (getrandom), for when none is given. */
uint64_t random_seed(void);

/* Allocation that aborts with a message rather than returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n);

#endif
