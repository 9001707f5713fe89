/* tester_test.c: regression tests for the tester and the network it runs
 * on (issue 15): the holes through which a Raft could misbehave, or the
 * harness itself touch freed memory, without any lab test noticing.
 *
 *   TestAppliedAfterKill          a send on a killed peer's apply channel
 *                                 fails the test
 *   TestParkedApplyAfterKill      so does one that was parked on the
 *                                 channel when Kill returned
 *   TestKilledPeerRequestsArrive  requests still in the unreliable delay
 *                                 when their peer is killed arrive, as in Go,
 *                                 while the calls return at once
 *   TestFreeNetworkWithLiveRaft   labrpc_free() with a Raft never killed,
 *                                 held only by its service
 *   TestConcurrentKill            a second raft_kill() waits for the first
 *                                 one's joins
 *   TestThreadStartFails          raft_make() reports a thread it cannot
 *                                 start
 *
 * Names in the lab's style, never ending in 2A-2D, so that RUN=2B runs
 * exactly the lab's tests. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../chan.h"
#include "../labgob/labgob.h"
#include "../labrpc/labrpc.h"
#include "../persister.h"
#include "../raft.h"
#include "../raft_harness.h"
#include "../util.h"
#include "config.h"
#include "registry.h"

/* ---- running part of a test in a child process ---- */

/* Run fn in a child process with its stderr captured; returns the child's
 * wait status and, in out, what it wrote (a NUL-terminated string). */
static int run_in_child(void (*fn)(void), char *out, size_t cap)
{
	int fds[2];
	ck_assert(pipe(fds) == 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		alarm(30); /* a hang fails too */
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while ((n = read(fds[0], out + len, cap - 1 - len)) > 0 && len + (size_t)n < cap - 1)
		len += (size_t)n;
	if (n > 0)
		len += (size_t)n;
	out[len] = '\0';
	/* Drain the rest, so the child never blocks on a full pipe. */
	char sink[256];
	while (read(fds[0], sink, sizeof sink) > 0)
		;
	close(fds[0]);
	int status;
	ck_assert(waitpid(pid, &status, 0) == pid);
	return status;
}

/* ---- TestAppliedAfterKill ---- */

/* A Raft that sends on its apply channel after Kill returned, as one with
 * a thread Kill forgot would: here the test sends in its place. */
static void send_after_kill(void)
{
	cfg_outside_check = true; /* no Check in the child: fatal errors exit */
	config *cfg = make_config(3, false, false);
	Chan *ch = cfg->apply_ch[1];
	cfg_crash1(cfg, 1);

	cmd_t c = cmd_int(42);
	ApplyMsg m = { .command_valid = true, .command = c.data, .command_len = c.len,
		       .command_index = 1 };
	if (chan_send(ch, &m))
		sleep_ms(2000); /* the tester's verdict ends the process */
	else
		cmd_free(&c);
	cfg_cleanup(cfg);
}

/* Go's old applier goes on reading a crashed server's channel; ours must
 * too, and must fail the test on anything a killed peer still sends,
 * rather than drop it.  (Before: the channel was closed and freed after
 * Kill, so such a send was silently refused, or touched freed memory.) */
START_TEST(TestAppliedAfterKill)
{
	printf("Test (tester): a message applied after Kill fails the test ...\n");
	char out[8192];
	int status = run_in_child(send_after_kill, out, sizeof out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
			      strstr(out, "apply error: server 1 applied after Kill") != NULL,
		      "a send after Kill was not reported (status %d): %s", status, out);
	printf("  ... Passed\n");
}
END_TEST

/* ---- TestParkedApplyAfterKill ---- */

typedef struct {
	Chan *ch;
	ApplyMsg *batch;
	size_t n;
} parked_send;

static void *send_batch(void *p)
{
	parked_send *s = p;
	chan_send_all_unless(s->ch, s->batch, s->n, NULL);
	return NULL;
}

/* A Raft whose send is under way when Kill returns (a thread Kill does
 * not wait for, parked on the channel behind a long backlog): here the
 * test sends in its place, 200,000 entries, and kills the server once the
 * tester has taken the first. */
static void parked_send_at_kill(void)
{
	cfg_outside_check = true;
	config *cfg = make_config(3, false, false);
	enum { N = 200000 };
	parked_send s = { cfg->apply_ch[1], xcalloc(N, sizeof(ApplyMsg)), N };
	for (int i = 0; i < N; i++) {
		cmd_t c = cmd_int(i + 1);
		s.batch[i] = (ApplyMsg){ .command_valid = true, .command = c.data,
					 .command_len = c.len, .command_index = i + 1 };
	}
	pthread_t tid;
	ck_assert(pthread_create(&tid, NULL, send_batch, &s) == 0);
	for (;;) {
		pthread_mutex_lock(&cfg->mu);
		int applied = cfg->last_applied[1];
		pthread_mutex_unlock(&cfg->mu);
		if (applied > 0)
			break;
		sleep_ms(1);
	}
	cfg_crash1(cfg, 1); /* the rest of the batch is still parked */
	pthread_join(tid, NULL);
	fprintf(stderr, "all %d entries applied, no error\n", N);
	exit(0);
}

/* The check above saw only sends made after its mark was queued: one
 * already parked when Kill returned is taken first, and passed. */
START_TEST(TestParkedApplyAfterKill)
{
	printf("Test (tester): a send parked when Kill returned fails the test ...\n");
	char out[8192];
	int status = run_in_child(parked_send_at_kill, out, sizeof out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
			      strstr(out, "apply error: server 1 applied after Kill") != NULL,
		      "a send parked when Kill returned was not reported (status %d): %s", status,
		      out);
	printf("  ... Passed\n");
}
END_TEST

/* ---- TestKilledPeerRequestsArrive ---- */

typedef struct {
	pthread_mutex_t mu;
	int hits;
} counter;

static int counter_hit(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	counter *c = rcvr;
	int64_t x;
	if (!labgob_get_int64(args, &x))
		return -1;
	pthread_mutex_lock(&c->mu);
	c->hits++;
	pthread_mutex_unlock(&c->mu);
	labgob_put_int(reply, x);
	return 0;
}

static const labrpc_method counter_methods[] = { { "Hit", counter_hit } };

/* Holds the callers until all are ready (a condition variable, not a
 * pthread barrier, which make sim does not simulate). */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
} start_gate;

static void gate_wait(start_gate *g)
{
	pthread_mutex_lock(&g->mu);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void gate_open(start_gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

typedef struct {
	labrpc_end *end;
	start_gate *go;
} hit_arg;

static void *hit_caller(void *p)
{
	hit_arg *a = p;
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, 7);
	gate_wait(a->go);
	uint8_t *reply;
	size_t len;
	labrpc_call(a->end, "Counter.Hit", e.buf, e.len, &reply, &len);
	free(reply);
	labgob_encoder_free(&e);
	return NULL;
}

/* In Go a request on its way when its sender is killed still arrives
 * (stale RPCs from dead incarnations are part of what the crash tests
 * exercise); only the reply goes nowhere.  Ours, aborted with Kill during
 * the unreliable network's short delay, used to vanish.  Here N calls are
 * aborted while in that delay (0-26 ms): about 90% must arrive (10% are
 * lost, as any request may be), against the few whose delay had ended. */
START_TEST(TestKilledPeerRequestsArrive)
{
	printf("Test (tester): a killed peer's requests in the delay still arrive ...\n");
	enum { N = 100 };
	labrpc_net *net = labrpc_make_network(random_seed());
	labrpc_reliable(net, false);
	counter c = { .hits = 0 };
	pthread_mutex_init(&c.mu, NULL);
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, labrpc_make_service("Counter", &c, counter_methods, 1, NULL));
	labrpc_add_server(net, "server", srv);

	start_gate go = { .open = false };
	pthread_mutex_init(&go.mu, NULL);
	pthread_cond_init(&go.cv, NULL);
	pthread_t th[N];
	hit_arg args[N];
	labrpc_end *ends[N];
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof name, "end%d", i);
		ends[i] = labrpc_make_end(net, name);
		labrpc_connect(net, name, "server");
		labrpc_enable(net, name, true);
		args[i] = (hit_arg){ ends[i], &go };
		pthread_create(&th[i], NULL, hit_caller, &args[i]);
	}
	gate_open(&go);
	/* Every call has entered the network (and drawn its delay). */
	while (labrpc_total_count(net) < N)
		sched_yield();
	for (int i = 0; i < N; i++)
		labrpc_end_abort(ends[i]); /* what Kill does to its ends */
	int64_t t0 = now_us();
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	double waited = (double)(now_us() - t0) / 1e6;

	sleep_ms(200); /* longer than any delay */
	pthread_mutex_lock(&c.mu);
	int hits = c.hits;
	pthread_mutex_unlock(&c.mu);
	ck_assert_msg(hits >= N * 3 / 4 && hits <= N,
		      "%d of %d aborted requests arrived; expected about 90%%", hits, N);
	ck_assert_msg(labrpc_get_count(net, "server") == hits, "GetCount %d, handled %d",
		      labrpc_get_count(net, "server"), hits);
	labrpc_free(net);
	pthread_cond_destroy(&go.cv);
	pthread_mutex_destroy(&go.mu);
	pthread_mutex_destroy(&c.mu);
	printf("  ... Passed -- %d of %d arrived, callers back %.3f s after abort\n", hits, N,
	       waited);
}
END_TEST

/* ---- a Raft peer on a network of its own ---- */

typedef struct {
	labrpc_net *net;
	labrpc_end *ends[3];
	Persister *ps;
	Chan *apply_ch;
	Raft *rf;
} lone_peer;

/* Peer 0 of three; servers "1" and "2" are whatever the test adds. */
static void lone_peer_make(lone_peer *lp)
{
	lp->net = labrpc_make_network(random_seed());
	labrpc_long_delays(lp->net, false);
	for (int j = 0; j < 3; j++) {
		char name[16], srvname[16];
		snprintf(name, sizeof name, "0-%d", j);
		snprintf(srvname, sizeof srvname, "%d", j);
		lp->ends[j] = labrpc_make_end(lp->net, name);
		labrpc_connect(lp->net, name, srvname);
		labrpc_enable(lp->net, name, true);
	}
	lp->ps = persister_make();
	lp->apply_ch = chan_make(sizeof(ApplyMsg));
	char err[256];
	lp->rf = raft_make(lp->ends, 3, 0, lp->ps, lp->apply_ch, random_seed(), err, sizeof err);
	ck_assert_msg(lp->rf != NULL, "raft_make: %s", err);
}

/* ---- TestThreadStartFails ---- */

/* The sanitizers reserve terabytes of address space: no limit on it can
 * make just a thread's stack fail under them. */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
/* The process's address space now (kB). */
static long vm_size_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	long v = -1;
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmSize:", 7) == 0)
			v = strtol(line + 7, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* raft_make with no room left for a thread's stack (256 KB under make
 * sim, 8 MB on real threads), in a process that has run no thread yet, so
 * no stack is cached for reuse. */
static void make_without_threads(void)
{
	lone_peer lp = { 0 };
	lp.net = labrpc_make_network(random_seed());
	for (int j = 0; j < 3; j++) {
		char name[16];
		snprintf(name, sizeof name, "0-%d", j);
		lp.ends[j] = labrpc_make_end(lp.net, name);
	}
	lp.ps = persister_make();
	lp.apply_ch = chan_make(sizeof(ApplyMsg));
	struct rlimit lim = { .rlim_cur = (rlim_t)(vm_size_kb() + 160) * 1024,
			      .rlim_max = RLIM_INFINITY };
	if (setrlimit(RLIMIT_AS, &lim) != 0) {
		fprintf(stderr, "setrlimit failed\n");
		_exit(2);
	}
	char err[256] = "";
	Raft *rf = raft_make(lp.ends, 3, 0, lp.ps, lp.apply_ch, 1, err, sizeof err);
	if (rf != NULL) {
		fprintf(stderr, "raft_make returned a peer\n");
		raft_kill(rf);
		_exit(3);
	}
	fprintf(stderr, "raft_make: %s\n", err);
	_exit(1);
}
#endif

/* A thread Raft cannot start is an error: raft_make returns NULL with the
 * reason.  (Before: the failure went unseen, and Kill joined a thread
 * handle never set.) */
START_TEST(TestThreadStartFails)
{
	printf("Test (tester): raft_make fails cleanly when it cannot start a thread ...\n");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	printf("  ... Skipped under a sanitizer\n");
#else
	char out[8192];
	int status = run_in_child(make_without_threads, out, sizeof out);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
			      strstr(out, "raft_make: cannot start the ticker thread") != NULL,
		      "raft_make without room for a thread (status %d): %s", status, out);
	printf("  ... Passed\n");
#endif
}
END_TEST

/* ---- TestFreeNetworkWithLiveRaft ---- */

/* A service that never kills its Raft and lets go of its own reference
 * leaves the labrpc service holding the last one, so the Raft is killed
 * when labrpc_free() releases the server.  Kill aborts the peer's ends:
 * they must still exist then.  (Before: labrpc_free() freed the ends
 * first, and ASan reported a heap-use-after-free in labrpc_end_abort.) */
START_TEST(TestFreeNetworkWithLiveRaft)
{
	printf("Test (tester): freeing a network that still serves a live Raft ...\n");
	lone_peer lp;
	lone_peer_make(&lp);
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, raft_service(lp.rf));
	labrpc_add_server(lp.net, "0", srv);
	sleep_ms(100);
	raft_release(lp.rf); /* the service's reference is the last */
	labrpc_free(lp.net);
	chan_free(lp.apply_ch);
	persister_release(lp.ps);
	printf("  ... Passed\n");
}
END_TEST

/* ---- TestConcurrentKill ---- */

/* Peer 1: a RequestVote handler that holds the caller (an inline handler
 * cannot be abandoned) until the test lets it go. */
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int entered;
	bool release;
} gate;

static int gated_request_vote(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	(void)args;
	(void)reply;
	gate *g = rcvr;
	pthread_mutex_lock(&g->mu);
	g->entered++;
	pthread_cond_broadcast(&g->cv);
	while (!g->release)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
	return -1; /* no reply */
}

static int no_reply(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	(void)rcvr;
	(void)args;
	(void)reply;
	return -1;
}

static const labrpc_method gate_methods[] = {
	{ "RequestVote", gated_request_vote },
	{ "AppendEntries", no_reply },
	{ "InstallSnapshot", no_reply },
};

typedef struct {
	Raft *rf;
	pthread_mutex_t mu;
	bool done;
} killer;

static void *kill_main(void *p)
{
	killer *k = p;
	raft_kill(k->rf);
	pthread_mutex_lock(&k->mu);
	k->done = true;
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

static bool killer_done(killer *k)
{
	pthread_mutex_lock(&k->mu);
	bool done = k->done;
	pthread_mutex_unlock(&k->mu);
	return done;
}

/* raft.h promises that Kill returns once the peer's threads are joined.
 * With a sender of the peer held in a handler, the first Kill cannot
 * finish joining; a second Kill must not return either, or its caller
 * could free the Raft under the first.  (Before: it returned at once.) */
START_TEST(TestConcurrentKill)
{
	printf("Test (tester): two concurrent Kills both wait for the joins ...\n");
	lone_peer lp;
	lone_peer_make(&lp);
	gate g = { .entered = 0, .release = false };
	pthread_mutex_init(&g.mu, NULL);
	cond_init_monotonic(&g.cv);
	labrpc_service *svc = labrpc_make_service("Raft", &g, gate_methods,
						  sizeof gate_methods / sizeof gate_methods[0], NULL);
	labrpc_service_set_inline(svc);
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, svc);
	labrpc_add_server(lp.net, "1", srv);

	/* Wait for the peer's first (pre-)vote request to be held. */
	struct timespec deadline;
	deadline_after_ms(&deadline, 5000);
	pthread_mutex_lock(&g.mu);
	while (g.entered == 0 && pthread_cond_timedwait(&g.cv, &g.mu, &deadline) == 0)
		;
	int entered = g.entered;
	pthread_mutex_unlock(&g.mu);
	ck_assert_msg(entered > 0, "the peer sent no RequestVote within 5 s");

	killer a = { .rf = lp.rf, .done = false }, b = { .rf = lp.rf, .done = false };
	pthread_mutex_init(&a.mu, NULL);
	pthread_mutex_init(&b.mu, NULL);
	pthread_t ta, tb;
	pthread_create(&ta, NULL, kill_main, &a);
	sleep_ms(50);
	pthread_create(&tb, NULL, kill_main, &b);
	sleep_ms(300);
	ck_assert_msg(!killer_done(&a), "Kill returned with a sender still in a handler");
	ck_assert_msg(!killer_done(&b),
		      "a second Kill returned while the first was still joining the threads");

	pthread_mutex_lock(&g.mu);
	g.release = true;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ck_assert(killer_done(&a) && killer_done(&b));

	raft_release(lp.rf);
	labrpc_free(lp.net);
	chan_free(lp.apply_ch);
	persister_release(lp.ps);
	pthread_mutex_destroy(&a.mu);
	pthread_mutex_destroy(&b.mu);
	pthread_cond_destroy(&g.cv);
	pthread_mutex_destroy(&g.mu);
	printf("  ... Passed\n");
}
END_TEST

static const test_entry tester_tests[] = {
	TEST_ENTRY(TestAppliedAfterKill, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestParkedApplyAfterKill, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestKilledPeerRequestsArrive, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestFreeNetworkWithLiveRaft, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestConcurrentKill, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestThreadStartFails, LAB_TEST_TIMEOUT),
};
TEST_GROUP(tester, tester_tests);
