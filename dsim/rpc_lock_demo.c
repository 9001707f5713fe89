/* rpc_lock_demo.c: a student's lock bug, planted for the simulator's test
 * (dsim/test_test.c), not in raft.c.
 *
 * The ticker sends its heartbeat with labrpc_call while it holds the
 * peer's mutex; the handler on the other peer is fine.  On most schedules
 * nothing hangs (this peer's own handlers just wait), which is why the
 * simulator checks the rule at the call: the run must fail there, on
 * every seed, naming the mutex and both places. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../labrpc/labrpc.h"
#include "../util.h"

static pthread_mutex_t peer_mu = PTHREAD_MUTEX_INITIALIZER;
static labrpc_end *to_peer1;

static int heartbeat_handler(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	(void)rcvr, (void)args, (void)reply;
	return 0;
}

static void *ticker(void *arg)
{
	(void)arg;
	for (int round = 0; round < 3; round++) {
		sleep_ms(100);
		pthread_mutex_lock(&peer_mu);
		uint8_t *reply = NULL;
		size_t len = 0;
		/* the bug: the RPC waits out the network holding peer_mu */
		if (labrpc_call(to_peer1, "Raft.AppendEntries", "", 0, &reply, &len))
			free(reply);
		pthread_mutex_unlock(&peer_mu);
	}
	return NULL;
}

int main(void)
{
	labrpc_net *net = labrpc_make_network(1);
	static const labrpc_method methods[] = { { "AppendEntries", heartbeat_handler } };
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, labrpc_make_service("Raft", NULL, methods, 1, NULL));
	labrpc_add_server(net, "peer1", srv);
	to_peer1 = labrpc_make_end(net, "end01");
	labrpc_connect(net, "end01", "peer1");
	labrpc_enable(net, "end01", true);

	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	pthread_join(t, NULL);
	labrpc_free(net);
	printf("three heartbeats sent\n");
	return 0;
}
