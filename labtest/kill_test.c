/* kill_test.c: what Kill must do in C, where Go's garbage collector does
 * not clean up after it.  Go's Kill only sets a flag; here the tester
 * frees a killed peer next, so Kill must also end every thread the peer
 * started, and a killed peer must send nothing more.  These tests ship in
 * the student's tree: run them with RUN=kill_test from part 2A on.  (Every lab
 * test's cleanup checks the threads too, config.c, check_threads_ended.)
 * Their names end in no part: RUN=2A runs exactly Go's tests. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "registry.h"

/* A busy cluster (an unreliable network, a follower cut off, RPCs in
 * flight) is killed: every thread its peers started ends. */
START_TEST(TestKillEndsThreads)
{
	int servers = 5;
	config *cfg = make_config(servers, true, false);
	cfg_begin(cfg, "Kill: a killed peer's threads all end");
	int leader = cfg_check_one_leader(cfg);
	cfg_disconnect(cfg, (leader + 1) % servers);
	sleep_ms(500);
	for (int i = 0; i < servers; i++)
		cfg_crash1(cfg, i);
	cfg_end(cfg);
	cfg_cleanup(cfg); /* fails the test if a thread of a peer still runs */
}
END_TEST

/* Once Kill has returned, the peer makes no more RPC calls. */
START_TEST(TestKillSendsNothing)
{
	int servers = 3;
	config *cfg = make_config(servers, false, false);
	cfg_begin(cfg, "Kill: a killed peer sends nothing");
	cfg_check_one_leader(cfg);
	for (int i = 0; i < servers; i++)
		cfg_crash1(cfg, i);
	int calls0 = labrpc_calls_made(cfg->net);
	sleep_ms(2 * RAFT_ELECTION_TIMEOUT_MS);
	int calls = labrpc_calls_made(cfg->net) - calls0;
	if (calls > 0)
		cfg_fatalf(cfg,
			   "%d RPC call(s) made after every peer was killed: a killed peer must send "
			   "nothing (check raft_killed(rf) before each send, and have raft_kill wait "
			   "for the threads that send: go_wait(rf->group))",
			   calls);
	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

static const test_entry kill_tests[] = {
	TEST_ENTRY(TestKillEndsThreads, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestKillSendsNothing, LAB_TEST_TIMEOUT),
};
TEST_GROUP(kill_test, kill_tests);
