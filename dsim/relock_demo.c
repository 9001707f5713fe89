/* relock_demo.c: a student's lock bug, planted for the simulator's test
 * (dsim/test_test.c), not in raft.c.
 *
 * The ticker takes the peer's mutex, and the election it starts takes it
 * again: a pthread mutex is not reentrant, so the thread waits for itself
 * for ever.  Under make sim the run must end at once with both places. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t peer_mu = PTHREAD_MUTEX_INITIALIZER;
static int term;

static void start_election(void)
{
	pthread_mutex_lock(&peer_mu); /* the bug: the caller holds it already */
	term++;
	pthread_mutex_unlock(&peer_mu);
}

static void *ticker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&peer_mu);
	start_election();
	pthread_mutex_unlock(&peer_mu);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	pthread_join(t, NULL);
	printf("term %d\n", term);
	return 0;
}
