/* spin_demo.c: a thread that spins on a flag without ever reaching a
 * synchronization point, for the simulator's watchdog test.  Under make
 * sim only one thread runs at a time, so the flag can never be set. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

static atomic_bool flag;

static void *setter(void *arg)
{
	(void)arg;
	sleep(1); /* main is spinning by now */
	atomic_store(&flag, true);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, setter, NULL);
	while (!atomic_load(&flag))
		; /* no yield: the bug the watchdog must report */
	pthread_join(t, NULL);
	printf("flag set\n");
	return 0;
}
