/* chan.c: an unbuffered channel, as Go's runtime builds one.
 *
 * A thread that finds no partner parks on a queue (senders with their
 * value, receivers with room for one); the partner that comes along later
 * copies the value straight across, marks the parked thread done and wakes
 * it.  So a send to a receiver that is already waiting completes at once:
 * the value is in the receiver's hands, and the sender need not sleep until
 * the receiver has run.  Each message then costs one wake-up, not the two
 * of a shared slot (wake the receiver, then sleep until it says "taken"),
 * and on this machine a wake-up costs more than everything else here. */
#include "chan.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A parked sender (elem holds its value) or receiver (elem is where the
 * value goes).  It lives on the parked thread's stack. */
typedef struct parked {
	void *elem;
	bool done;             /* a partner copied the value across */
	const atomic_bool *stop; /* a sender that may be called off, or NULL */
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

/* Park on q until a partner is done with us, the channel closes, or (a
 * sender) *stop is set (ch->mu held).  True when the partner copied the
 * value across. */
static bool park(Chan *ch, park_queue *q, void *elem, const atomic_bool *stop)
{
	parked me = { .elem = elem, .stop = stop };
	pthread_cond_init(&me.cv, NULL);
	enqueue(q, &me);
	while (!me.done && !ch->closed && !stopped(stop))
		pthread_cond_wait(&me.cv, &ch->mu);
	/* Close empties the queues; a stopped sender leaves by itself, so
	 * that nobody points at me any more. */
	if (!me.done && !ch->closed)
		unlink_parked(q, &me);
	pthread_cond_destroy(&me.cv);
	return me.done;
}

/* Mark p done and wake it (ch->mu held: it cannot leave before). */
static void unpark(parked *p)
{
	p->done = true;
	pthread_cond_signal(&p->cv);
}

bool chan_send(Chan *ch, const void *elem)
{
	return chan_send_unless(ch, elem, NULL);
}

bool chan_send_unless(Chan *ch, const void *elem, const atomic_bool *stop)
{
	pthread_mutex_lock(&ch->mu);
	bool sent = false;
	if (!ch->closed && !stopped(stop)) {
		parked *r = dequeue(&ch->receivers);
		if (r) {
			memcpy(r->elem, elem, ch->elem_size);
			unpark(r);
			sent = true;
		} else {
			sent = park(ch, &ch->senders, (void *)elem, stop);
		}
	}
	pthread_mutex_unlock(&ch->mu);
	return sent;
}

bool chan_recv(Chan *ch, void *elem)
{
	pthread_mutex_lock(&ch->mu);
	bool got = false;
	if (!ch->closed) {
		parked *s = dequeue(&ch->senders);
		if (s) {
			memcpy(elem, s->elem, ch->elem_size);
			unpark(s);
			got = true;
		} else {
			got = park(ch, &ch->receivers, elem, NULL);
		}
	}
	pthread_mutex_unlock(&ch->mu);
	return got;
}

static void wake_all(park_queue *q)
{
	for (parked *p; (p = dequeue(q)) != NULL;)
		pthread_cond_signal(&p->cv);
}

void chan_wake_senders(Chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	for (parked *p = ch->senders.head; p; p = p->next)
		if (p->stop)
			pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&ch->mu);
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
