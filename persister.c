/* persister.c: see persister.h. */
#include "persister.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct Persister {
	pthread_mutex_t mu;
	atomic_int refs;
	uint8_t *raftstate;
	size_t raftstate_len;
	uint8_t *snapshot;
	size_t snapshot_len;
};

Persister *persister_make(void)
{
	Persister *ps = xcalloc(1, sizeof *ps);
	pthread_mutex_init(&ps->mu, NULL);
	atomic_init(&ps->refs, 1);
	return ps;
}

Persister *persister_copy(Persister *ps)
{
	Persister *np = persister_make();
	pthread_mutex_lock(&ps->mu);
	np->raftstate = xmemdup(ps->raftstate, ps->raftstate_len);
	np->raftstate_len = ps->raftstate_len;
	np->snapshot = xmemdup(ps->snapshot, ps->snapshot_len);
	np->snapshot_len = ps->snapshot_len;
	pthread_mutex_unlock(&ps->mu);
	return np;
}

void persister_retain(Persister *ps)
{
	atomic_fetch_add(&ps->refs, 1);
}

void persister_release(Persister *ps)
{
	if (ps == NULL || atomic_fetch_sub(&ps->refs, 1) != 1)
		return;
	free(ps->raftstate);
	free(ps->snapshot);
	pthread_mutex_destroy(&ps->mu);
	free(ps);
}

void persister_save(Persister *ps, const void *raftstate, size_t raftstate_len,
		    const void *snapshot, size_t snapshot_len)
{
	/* Copy outside the lock; swap inside it. */
	uint8_t *state = xmemdup(raftstate, raftstate ? raftstate_len : 0);
	if (snapshot == NULL)
		snapshot_len = 0;
	uint8_t *snap = xmemdup(snapshot, snapshot_len);
	pthread_mutex_lock(&ps->mu);
	uint8_t *old_state = ps->raftstate, *old_snap = ps->snapshot;
	ps->raftstate = state;
	ps->raftstate_len = raftstate ? raftstate_len : 0;
	ps->snapshot = snap;
	ps->snapshot_len = snapshot_len;
	pthread_mutex_unlock(&ps->mu);
	free(old_state);
	free(old_snap);
}

static uint8_t *read_copy(Persister *ps, uint8_t *const *field, const size_t *len,
			  size_t *out_len)
{
	pthread_mutex_lock(&ps->mu);
	uint8_t *copy = xmemdup(*field, *len);
	*out_len = *len;
	pthread_mutex_unlock(&ps->mu);
	return copy;
}

uint8_t *persister_read_raft_state(Persister *ps, size_t *len)
{
	return read_copy(ps, &ps->raftstate, &ps->raftstate_len, len);
}

uint8_t *persister_read_snapshot(Persister *ps, size_t *len)
{
	return read_copy(ps, &ps->snapshot, &ps->snapshot_len, len);
}

size_t persister_raft_state_size(Persister *ps)
{
	pthread_mutex_lock(&ps->mu);
	size_t n = ps->raftstate_len;
	pthread_mutex_unlock(&ps->mu);
	return n;
}

size_t persister_snapshot_size(Persister *ps)
{
	pthread_mutex_lock(&ps->mu);
	size_t n = ps->snapshot_len;
	pthread_mutex_unlock(&ps->mu);
	return n;
}
