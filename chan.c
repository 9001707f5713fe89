/* chan.c: an unbuffered channel, as Go's runtime builds one.
 *
 * A thread that finds no partner parks on a queue (senders with their
 * value, receivers with room for one); the partner that comes along later
 * copies the value straight across, marks the parked thread done and wakes
 * it.  So a send to a receiver that is already waiting completes at once:
 * the value is in the receiver's hands, and the sender need not sleep until
 * the receiver has run.  Each message then costs one wake-up, not the two
 * of a shared slot (wake the receiver, then sleep until it says "taken"),
 * and on this machine a wake-up costs more than everything else here.
 *
 * chan_send_all_unless() parks a whole run of values at once, as n goroutines
 * queued in order on the channel would be: a receiver that comes along
 * takes the next value without sleeping and without waking the sender,
 * which is woken once, when the last value has been taken.
 *
 * Parked threads sleep on their queue's condition variable, which lives
 * as long as the channel, so a partner signals it after releasing the
 * mutex: woken before, the parked thread would run only to sleep again on
 * the mutex, a second hand-off.  A signal wakes every thread parked on
 * that side (each checks its own count); the apply channel has one. */
#include "chan.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A parked sender (elem holds its n values) or receiver (elem is where
 * its one value goes).  It lives on the parked thread's stack, and only
 * the channel's mutex guards it. */
typedef struct parked {
	void *elem;
	size_t n;              /* values to move */
	size_t moved;          /* values partners copied across so far */
	const atomic_bool *stop; /* a sender that may be called off, or NULL */
	bool after_mark;       /* a receiver: its value came after chan_mark() */
	struct parked *next;
} parked;

typedef struct {
	parked *head, *tail;
	pthread_cond_t cv;     /* its parked threads sleep here */
} park_queue;

struct Chan {
	pthread_mutex_t mu;
	size_t elem_size;
	bool closed;
	bool marked;           /* chan_mark() was called */
	park_queue senders, receivers;
};

Chan *chan_make(size_t elem_size)
{
	Chan *ch = xcalloc(1, sizeof *ch);
	pthread_mutex_init(&ch->mu, NULL);
	pthread_cond_init(&ch->senders.cv, NULL);
	pthread_cond_init(&ch->receivers.cv, NULL);
	ch->elem_size = elem_size;
	return ch;
}

/* Out of line: inlined into park(), it has gcc 12 warn that q may keep
 * pointing at the parked thread's stack, which every way out of park()
 * prevents. */
__attribute__((noinline)) static void enqueue(park_queue *q, parked *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
}

static parked *dequeue(park_queue *q)
{
	parked *p = q->head;
	if (p) {
		q->head = p->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return p;
}

/* Take p off q, wherever it is. */
static void unlink_parked(park_queue *q, parked *p)
{
	parked *prev = NULL;
	for (parked *x = q->head; x; prev = x, x = x->next) {
		if (x != p)
			continue;
		if (prev)
			prev->next = x->next;
		else
			q->head = x->next;
		if (q->tail == x)
			q->tail = prev;
		return;
	}
}

static bool stopped(const atomic_bool *stop)
{
	return stop && atomic_load(stop);
}

/* Park on q until partners have moved all n values, the channel closes,
 * or (a sender) *stop is set (ch->mu held).  Returns how many they
 * moved; a receiver learns in *after_mark (if not NULL) whether its value
 * was handed over after chan_mark(). */
static size_t park(Chan *ch, park_queue *q, void *elem, size_t n, size_t moved,
		   const atomic_bool *stop, bool *after_mark)
{
	parked me = { .elem = elem, .n = n, .moved = moved, .stop = stop };
	enqueue(q, &me);
	while (me.moved < me.n && !ch->closed && !stopped(stop))
		pthread_cond_wait(&q->cv, &ch->mu);
	/* Done, a partner took me off the queue; closed, close emptied it; a
	 * stopped sender leaves by itself.  Nobody points at me any more. */
	if (me.moved < me.n)
		unlink_parked(q, &me);
	if (after_mark)
		*after_mark = me.after_mark;
	return me.moved;
}

/* Count one value moved for p, at the head of q (ch->mu held).  True
 * when that was its last: p is off the queue, and q's sleepers are to be
 * woken once the mutex is released. */
static bool moved_one(park_queue *q, parked *p)
{
	if (++p->moved < p->n)
		return false;
	dequeue(q);
	return true;
}

/* Hand values from elems on, straight into the hands of receivers already
 * waiting (ch->mu held, channel open).  Returns how many were taken;
 * *wake says whether receivers.cv is to be signalled. */
static size_t hand_to_receivers(Chan *ch, const void *elems, size_t n, bool *wake)
{
	const char *next = elems;
	size_t sent = 0;
	for (parked *r; sent < n && (r = ch->receivers.head) != NULL; sent++) {
		memcpy(r->elem, next + sent * ch->elem_size, ch->elem_size);
		r->after_mark = ch->marked;
		*wake |= moved_one(&ch->receivers, r);
	}
	return sent;
}

/* Release ch->mu, then wake q's sleepers if wake.  The condition variable
 * lives as long as the channel, which nobody frees while we are in it. */
static void unlock_and_wake(Chan *ch, park_queue *q, bool wake)
{
	pthread_mutex_unlock(&ch->mu);
	if (wake)
		pthread_cond_broadcast(&q->cv);
}

size_t chan_send_all_unless(Chan *ch, const void *elems, size_t n, const atomic_bool *stop)
{
	size_t sent = 0;
	bool wake = false;
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed && !stopped(stop)) {
		sent = hand_to_receivers(ch, elems, n, &wake);
		if (sent < n) {
			/* Those we filled may sleep on until we sleep. */
			if (wake)
				pthread_cond_broadcast(&ch->receivers.cv);
			wake = false;
			sent = park(ch, &ch->senders, (void *)elems, n, sent, stop, NULL);
		}
	}
	unlock_and_wake(ch, &ch->receivers, wake);
	return sent;
}

size_t chan_offer_all(Chan *ch, const void *elems, size_t n)
{
	size_t sent = 0;
	bool wake = false;
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed)
		sent = hand_to_receivers(ch, elems, n, &wake);
	unlock_and_wake(ch, &ch->receivers, wake);
	return sent;
}

bool chan_send(Chan *ch, const void *elem)
{
	return chan_send_all_unless(ch, elem, 1, NULL) == 1;
}

bool chan_send_unless(Chan *ch, const void *elem, const atomic_bool *stop)
{
	return chan_send_all_unless(ch, elem, 1, stop) == 1;
}

bool chan_recv_marked(Chan *ch, void *elem, bool *after_mark)
{
	size_t got = 0;
	bool wake = false;
	*after_mark = false;
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed) {
		parked *s = ch->senders.head;
		if (s) {
			memcpy(elem, (char *)s->elem + s->moved * ch->elem_size, ch->elem_size);
			*after_mark = ch->marked;
			wake = moved_one(&ch->senders, s);
			got = 1;
		} else {
			got = park(ch, &ch->receivers, elem, 1, 0, NULL, after_mark);
		}
	}
	unlock_and_wake(ch, &ch->senders, wake);
	return got == 1;
}

bool chan_recv(Chan *ch, void *elem)
{
	bool after_mark;
	return chan_recv_marked(ch, elem, &after_mark);
}

void chan_mark(Chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	ch->marked = true;
	pthread_mutex_unlock(&ch->mu);
}

void chan_wake_senders(Chan *ch)
{
	/* A sender that looked at its flag before it was set is asleep once
	 * we hold the mutex; one that looks after sees it set. */
	pthread_mutex_lock(&ch->mu);
	pthread_mutex_unlock(&ch->mu);
	pthread_cond_broadcast(&ch->senders.cv);
}

void chan_close(Chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	ch->closed = true;
	ch->senders.head = ch->senders.tail = NULL;
	ch->receivers.head = ch->receivers.tail = NULL;
	pthread_cond_broadcast(&ch->senders.cv);
	pthread_cond_broadcast(&ch->receivers.cv);
	pthread_mutex_unlock(&ch->mu);
}

void chan_free(Chan *ch)
{
	if (ch == NULL)
		return;
	pthread_cond_destroy(&ch->senders.cv);
	pthread_cond_destroy(&ch->receivers.cv);
	pthread_mutex_destroy(&ch->mu);
	free(ch);
}
