/* unmodeled_demo.c: waits the simulator does not model, for its test
 * (dsim/test_test.c).  `unmodeled_demo sem|rwlock|pipe`: the thread
 * "waiter" waits on a semaphore, a read/write lock or a pipe that the
 * thread "poster" would post, unlock or write after a sleep.  Under make
 * sim the waiter blocks the one OS thread every simulated thread runs
 * on: the run must fail naming the call, not as a spin. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util.h"

static sem_t sem;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int fds[2];
static const char *what;

static void *poster(void *arg)
{
	(void)arg;
	sleep_ms(10);
	if (strcmp(what, "sem") == 0)
		sem_post(&sem);
	else if (strcmp(what, "rwlock") == 0)
		pthread_rwlock_unlock(&rw);
	else if (write(fds[1], "x", 1) != 1)
		perror("write");
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	char c;
	if (strcmp(what, "sem") == 0)
		sem_wait(&sem);
	else if (strcmp(what, "rwlock") == 0)
		pthread_rwlock_wrlock(&rw);
	else if (read(fds[0], &c, 1) != 1)
		perror("read");
	return NULL;
}

int main(int argc, char **argv)
{
	what = argc > 1 ? argv[1] : "pipe";
	sem_init(&sem, 0, 0);
	if (pipe(fds) != 0)
		return 1;
	pthread_t p, w;
	pthread_create(&w, NULL, waiter, NULL);
	pthread_setname_np(w, "waiter");
	pthread_create(&p, NULL, poster, NULL);
	pthread_setname_np(p, "poster");
	pthread_join(w, NULL);
	pthread_join(p, NULL);
	printf("done\n");
	return 0;
}
