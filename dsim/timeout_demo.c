/* timeout_demo.c: a hang that is no deadlock, planted for the simulator's
 * test (dsim/test_test.c).
 *
 * The applier waits for a commit that never comes (nobody signals), while
 * the ticker keeps sleeping and waking: a timer is always pending, so the
 * virtual clock moves on for ever and "all threads are asleep" never
 * comes.  The run must end at the test's limit in virtual time, with each
 * thread's report. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "../util.h"

static pthread_mutex_t peer_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t commit_cv = PTHREAD_COND_INITIALIZER;
static int commit_index, last_applied;

static void *applier(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&peer_mu);
	while (last_applied >= commit_index)
		pthread_cond_wait(&commit_cv, &peer_mu); /* the bug: nobody signals */
	last_applied = commit_index;
	pthread_mutex_unlock(&peer_mu);
	return NULL;
}

static void *ticker(void *arg)
{
	(void)arg;
	for (;;) {
		sleep_ms(50);
		pthread_mutex_lock(&peer_mu);
		bool done = last_applied > 0;
		pthread_mutex_unlock(&peer_mu);
		if (done)
			return NULL;
	}
}

int main(void)
{
	pthread_t a, t;
	pthread_create(&a, NULL, applier, NULL);
	pthread_create(&t, NULL, ticker, NULL);
	pthread_join(a, NULL);
	pthread_join(t, NULL);
	printf("applied\n");
	return 0;
}
