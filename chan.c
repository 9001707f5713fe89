/* chan.c: an unbuffered channel as a one-slot rendezvous.
 *
 * A sender waits for the slot to be free, fills it, and waits until a
 * receiver has emptied it (taken counts the values handed over, so each
 * sender knows when its own value is gone). */
#include "chan.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct Chan {
	pthread_mutex_t mu;
	pthread_cond_t slot_free;  /* senders wait for an empty slot */
	pthread_cond_t slot_full;  /* receivers wait for a value */
	pthread_cond_t taken_cv;   /* the sender waits for its value to go */
	size_t elem_size;
	bool full, closed;
	uint64_t put, taken;       /* values put in, values taken out */
	unsigned char slot[];
};

Chan *chan_make(size_t elem_size)
{
	Chan *ch = xcalloc(1, sizeof *ch + elem_size);
	pthread_mutex_init(&ch->mu, NULL);
	pthread_cond_init(&ch->slot_free, NULL);
	pthread_cond_init(&ch->slot_full, NULL);
	pthread_cond_init(&ch->taken_cv, NULL);
	ch->elem_size = elem_size;
	return ch;
}

bool chan_send(Chan *ch, const void *elem)
{
	pthread_mutex_lock(&ch->mu);
	while (ch->full && !ch->closed)
		pthread_cond_wait(&ch->slot_free, &ch->mu);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->mu);
		return false;
	}
	memcpy(ch->slot, elem, ch->elem_size);
	ch->full = true;
	uint64_t mine = ++ch->put;
	pthread_cond_signal(&ch->slot_full);
	while (ch->taken < mine && !ch->closed)
		pthread_cond_wait(&ch->taken_cv, &ch->mu);
	bool delivered = ch->taken >= mine;
	if (!delivered)
		ch->full = false; /* closed under us: take the value back */
	pthread_mutex_unlock(&ch->mu);
	return delivered;
}

bool chan_recv(Chan *ch, void *elem)
{
	pthread_mutex_lock(&ch->mu);
	while (!ch->full && !ch->closed)
		pthread_cond_wait(&ch->slot_full, &ch->mu);
	if (!ch->full || ch->closed) {
		pthread_mutex_unlock(&ch->mu);
		return false;
	}
	memcpy(elem, ch->slot, ch->elem_size);
	ch->full = false;
	ch->taken++;
	pthread_cond_broadcast(&ch->taken_cv);
	pthread_cond_signal(&ch->slot_free);
	pthread_mutex_unlock(&ch->mu);
	return true;
}

void chan_close(Chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	ch->closed = true;
	pthread_cond_broadcast(&ch->slot_free);
	pthread_cond_broadcast(&ch->slot_full);
	pthread_cond_broadcast(&ch->taken_cv);
	pthread_mutex_unlock(&ch->mu);
}

void chan_free(Chan *ch)
{
	if (ch == NULL)
		return;
	pthread_cond_destroy(&ch->slot_free);
	pthread_cond_destroy(&ch->slot_full);
	pthread_cond_destroy(&ch->taken_cv);
	pthread_mutex_destroy(&ch->mu);
	free(ch);
}
