/* deadlock_demo.c: the classic 2D deadlock, planted for the simulator's
 * test (dsim/test_test.c), not in raft.c.
 *
 * The applier sends on the unbuffered apply channel while holding the
 * peer's mutex; the service, which reads that channel, first calls
 * "Snapshot", which takes the same mutex.  Neither can go on, and main
 * waits to join both: under make sim the run must end at once with
 * "all threads are asleep - deadlock!" and each thread's wait. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "../chan.h"

static pthread_mutex_t peer_mu = PTHREAD_MUTEX_INITIALIZER;
static Chan *apply_ch;

/* The applier holds peer_mu before the service starts, whatever the
 * schedule: so every seed deadlocks. */
static pthread_mutex_t start_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cv = PTHREAD_COND_INITIALIZER;
static bool applier_holds_mu;

static void *applier(void *arg)
{
	(void)arg;
	int msg = 1;
	pthread_mutex_lock(&peer_mu);
	pthread_mutex_lock(&start_mu);
	applier_holds_mu = true;
	pthread_cond_signal(&start_cv);
	pthread_mutex_unlock(&start_mu);
	chan_send(apply_ch, &msg);      /* the bug: sends holding the mutex */
	pthread_mutex_unlock(&peer_mu);
	return NULL;
}

static void snapshot(void)
{
	pthread_mutex_lock(&peer_mu);
	pthread_mutex_unlock(&peer_mu);
}

static void *service(void *arg)
{
	(void)arg;
	snapshot();
	int msg;
	chan_recv(apply_ch, &msg);
	return NULL;
}

int main(void)
{
	apply_ch = chan_make(sizeof(int));
	pthread_t a, s;
	pthread_create(&a, NULL, applier, NULL);
	pthread_mutex_lock(&start_mu);
	while (!applier_holds_mu)
		pthread_cond_wait(&start_cv, &start_mu);
	pthread_mutex_unlock(&start_mu);
	pthread_create(&s, NULL, service, NULL);
	pthread_join(a, NULL);
	pthread_join(s, NULL);
	printf("no deadlock\n");
	return 0;
}
