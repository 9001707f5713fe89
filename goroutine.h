/* goroutine.h: what Go's runtime gives the lab beside channels (chan.h):
 * the go statement, a sync.WaitGroup over what was started, and a
 * time.Sleep that Kill cuts short, with the killed flag the lab's
 * rf.killed() reads.
 *
 *   C                                      Go
 *   go_group *g = go_group_make();         var wg sync.WaitGroup; var dead int32
 *   go_start(g, f, &x, sizeof x)           go f(x)   (x is copied, as Go copies arguments)
 *   go_sleep(g, ms)                        time.Sleep(ms * time.Millisecond)
 *   go_sleep_us(g, us)                     time.Sleep(us * time.Microsecond)
 *   go_killed(g)                           rf.killed()
 *   go_kill(g)                             rf.Kill(): atomic.StoreInt32(&rf.dead, 1)
 *   go_wait(g)                             wg.Wait()
 *   go_group_free(g)                       (the garbage collector)
 *
 * Under the hood a group keeps the threads its functions ran on and hands
 * them the next function, so `go` per RPC costs a wake-up, not a thread
 * (none at all after go_returning).
 * Every wait is a pthread call, so the simulator (make sim) schedules it. */
#ifndef GOROUTINE_H
#define GOROUTINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct go_group go_group;

go_group *go_group_make(void);

/* go fn(arg): run fn on a thread of its own, with a copy of the size
 * bytes at arg (fn gets a pointer to the copy, valid until it returns).
 * Returns at once.  False, running nothing, once go_kill(g) was called
 * (go_wait must be able to end every thread, so nothing new starts after
 * Kill), or when the system starts no more threads.  The copy is all fn
 * gets: memory the bytes point to stays the caller's when go_start
 * returns false. */
#define go_start(g, fn, arg, size) go_start_named((g), (fn), #fn, (arg), (size))
/* go_start with the function's name given (the thread is named after it);
 * go_start passes the name as written. */
bool go_start_named(go_group *g, void (*fn)(void *arg), const char *name, const void *arg,
		    size_t size);

/* Not in Go, an optimization: the function calling it (one that g's
 * go_start runs) is about to return without waiting for anything.  The
 * first function it starts from now on then runs on this same thread
 * once it returns, instead of waking another: one thread hand-off saved
 * (a reply that sets off the next RPC).  Called from elsewhere it does
 * nothing. */
void go_returning(go_group *g);

/* Sleep ms milliseconds, or less if go_kill(g) comes first.  True when
 * the whole sleep passed, false when killed. */
bool go_sleep(go_group *g, int64_t ms);
/* The same in microseconds. */
bool go_sleep_us(go_group *g, int64_t us);

/* Set the killed flag and cut every go_sleep of g short.  Functions
 * already running go on until they return: they look at go_killed. */
void go_kill(go_group *g);

/* Whether go_kill(g) has been called (an atomic load: no lock needed). */
bool go_killed(const go_group *g);

/* The flag itself, for chan_send_unless: a send that Kill calls off. */
const atomic_bool *go_kill_flag(const go_group *g);

/* Wait until every function started in g has returned.  After go_kill,
 * also end and join the group's threads: when it returns nothing of g
 * runs any more.  Several threads may wait at once. */
void go_wait(go_group *g);

/* Free a group that was killed and waited for (one whose threads still
 * run is a bug: it aborts with a message). */
void go_group_free(go_group *g);

#endif
