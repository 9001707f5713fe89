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
 * chan_send_all() parks a whole run of values at once, as n goroutines
 * queued in order on the channel would be: a receiver that comes along
 * takes the next value without sleeping and without waking the sender,
 * which is woken once, when the last value has been taken. */
#include "chan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A parked sender (elem holds its n values) or receiver (elem is where
 * its one value goes).  It lives on the parked thread's stack. */
typedef struct parked {
	void *elem;
	size_t n;              /* values to move */
	size_t moved;          /* values partners copied across so far */
	pthread_cond_t cv;
	struct parked *next;
} parked;

typedef struct {
	parked *head, *tail;
} park_queue;

struct Chan {
	pthread_mutex_t mu;
	size_t elem_size;
	bool closed;
	park_queue senders, receivers;
};

Chan *chan_make(size_t elem_size)
{
	Chan *ch = xcalloc(1, sizeof *ch);
	pthread_mutex_init(&ch->mu, NULL);
	ch->elem_size = elem_size;
	return ch;
}

static void enqueue(park_queue *q, parked *p)
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

/* Park on q until partners have moved all n values or the channel
 * closes (ch->mu held).  Returns how many they moved. */
static size_t park(Chan *ch, park_queue *q, void *elem, size_t n, size_t moved)
{
	parked me = { .elem = elem, .n = n, .moved = moved };
	pthread_cond_init(&me.cv, NULL);
	enqueue(q, &me);
	while (me.moved < me.n && !ch->closed)
		pthread_cond_wait(&me.cv, &ch->mu);
	/* Close empties the queues, so nobody points at me any more. */
	pthread_cond_destroy(&me.cv);
	return me.moved;
}

/* Count one value moved for p, which is at the head of q; the last one
 * takes p off the queue and wakes it (ch->mu held: it cannot leave
 * before). */
static void moved_one(park_queue *q, parked *p)
{
	if (++p->moved < p->n)
		return;
	dequeue(q);
	pthread_cond_signal(&p->cv);
}

/* Hand values from elems on, straight into the hands of receivers already
 * waiting (ch->mu held, channel open).  Returns how many were taken. */
static size_t hand_to_receivers(Chan *ch, const void *elems, size_t n)
{
	const char *next = elems;
	size_t sent = 0;
	for (parked *r; sent < n && (r = ch->receivers.head) != NULL; sent++) {
		memcpy(r->elem, next + sent * ch->elem_size, ch->elem_size);
		moved_one(&ch->receivers, r);
	}
	return sent;
}

size_t chan_send_all(Chan *ch, const void *elems, size_t n)
{
	size_t sent = 0;
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed) {
		sent = hand_to_receivers(ch, elems, n);
		if (sent < n)
			sent = park(ch, &ch->senders, (void *)elems, n, sent);
	}
	pthread_mutex_unlock(&ch->mu);
	return sent;
}

size_t chan_offer_all(Chan *ch, const void *elems, size_t n)
{
	size_t sent = 0;
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed)
		sent = hand_to_receivers(ch, elems, n);
	pthread_mutex_unlock(&ch->mu);
	return sent;
}

bool chan_send(Chan *ch, const void *elem)
{
	return chan_send_all(ch, elem, 1) == 1;
}

bool chan_recv(Chan *ch, void *elem)
{
	pthread_mutex_lock(&ch->mu);
	size_t got = 0;
	if (!ch->closed) {
		parked *s = ch->senders.head;
		if (s) {
			memcpy(elem, (char *)s->elem + s->moved * ch->elem_size, ch->elem_size);
			moved_one(&ch->senders, s);
			got = 1;
		} else {
			got = park(ch, &ch->receivers, elem, 1, 0);
		}
	}
	pthread_mutex_unlock(&ch->mu);
	return got == 1;
}

static void wake_all(park_queue *q)
{
	for (parked *p; (p = dequeue(q)) != NULL;)
		pthread_cond_signal(&p->cv);
}

void chan_close(Chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	ch->closed = true;
	wake_all(&ch->senders);
	wake_all(&ch->receivers);
	pthread_mutex_unlock(&ch->mu);
}

void chan_free(Chan *ch)
{
	if (ch == NULL)
		return;
	pthread_mutex_destroy(&ch->mu);
	free(ch);
}
