/* test_test.c: the 23 tests of the key/value service (kvraft/test_test.go),
 * in Go's order, with Go's names, descriptions, constants and messages.
 *
 * Every generic test records each operation's call and return and checks
 * the history with porcupine (porcupine/porcupine.h).  Go gives the check
 * one second; ours a budget of search steps (PORC_LAB_BUDGET), so a
 * history gets the same verdict on any machine and under make sim. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "../labtest/config.h" /* cfg_fatalf */
#include "../labtest/registry.h"
#include "../models/kv.h"
#include "../porcupine/porcupine.h"
#include "config.h"

/* Each call in a test notes its line, so that a failure inside a helper
 * names the test's line too: CALLED_FROM, with the lab-2 tester's helpers'
 * names freed for the key/value tester's. */
#include "../labtest/called_from.h"
#undef make_config
#undef cfg_end
#undef cfg_cleanup
#define make_config(...) CALLED_FROM(kvcfg_make_config, __VA_ARGS__)
#define cfg_end(...) CALLED_FROM(kvcfg_end, __VA_ARGS__)
#define cfg_cleanup(...) CALLED_FROM(kvcfg_cleanup, __VA_ARGS__)

/* The tester generously allows solutions to complete elections in one
 * second (much more than the paper's range of timeouts). */
#define electionTimeout 1000 /* ms */

/* ---- the history ---- */

/* One recorded operation; input and output point into it. */
typedef struct {
	kv_input in;
	kv_output out;
	int client_id;
	int64_t call, ret;
} logged_op;

typedef struct {
	pthread_mutex_t mu;
	logged_op **ops;
	size_t len, cap;
} OpLog;

static OpLog *oplog_make(void)
{
	OpLog *log = xcalloc(1, sizeof *log);
	pthread_mutex_init(&log->mu, NULL);
	return log;
}

static void oplog_append(OpLog *log, uint8_t op, const char *key, const char *value,
			 const char *output, int64_t start, int64_t end, int cli)
{
	logged_op *o = xmalloc(sizeof *o);
	o->in = (kv_input){ op, xstrdup(key), xstrdup(value) };
	o->out = (kv_output){ xstrdup(output) };
	o->client_id = cli;
	o->call = start;
	o->ret = end;
	pthread_mutex_lock(&log->mu);
	if (log->len == log->cap) {
		log->cap = log->cap ? log->cap * 2 : 1024;
		log->ops = xrealloc(log->ops, log->cap * sizeof *log->ops);
	}
	log->ops[log->len++] = o;
	pthread_mutex_unlock(&log->mu);
}

/* The history as porcupine takes it (points into log; free() the array). */
static porc_operation *oplog_read(OpLog *log, size_t *n)
{
	pthread_mutex_lock(&log->mu);
	porc_operation *ops = xcalloc(log->len ? log->len : 1, sizeof *ops);
	for (size_t i = 0; i < log->len; i++) {
		const logged_op *o = log->ops[i];
		ops[i] = (porc_operation){ o->client_id, &o->in, o->call, &o->out, o->ret };
	}
	*n = log->len;
	pthread_mutex_unlock(&log->mu);
	return ops;
}

static void oplog_free(OpLog *log)
{
	for (size_t i = 0; i < log->len; i++) {
		free((char *)log->ops[i]->in.key);
		free((char *)log->ops[i]->in.value);
		free((char *)log->ops[i]->out.value);
		free(log->ops[i]);
	}
	free(log->ops);
	pthread_mutex_destroy(&log->mu);
	free(log);
}

/* ---- get/put/append that keep counts ---- */

/* Times on the monotonic clock (virtual under make sim), in nanoseconds
 * as Go's time.Now().UnixNano(): in microseconds, one client's return and
 * its next call often fell in the same microsecond, which the checker
 * must count as overlapping, so a one-client history was not sequential
 * and its check ran out of memory ("timed out, assuming history is ok"). */
static int64_t since_t0(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Under make sim, computing costs no virtual time: a client that never
 * waits would run tens of thousands of operations a round, each Get
 * copying an ever longer value (and, in 3A, each Raft save the whole
 * log), which no simulation could get through.  So there each tester
 * call is followed by SIM_OP_PAUSE_MS of virtual time, outside the call's
 * [call, return] interval: a client then runs about 1,000 operations a
 * round, about half the Go reference solution's rate (5.5 ms an
 * operation), and the 23 tests take about 4 s of CPU (5 ms: 12 s). */
#ifdef LAB_SIM
#define SIM_OP_PAUSE_MS 10
#else
#define SIM_OP_PAUSE_MS 0
#endif

static void counted_op(kv_config *cfg)
{
	kvcfg_op(cfg);
	if (SIM_OP_PAUSE_MS > 0)
		sleep_ms(SIM_OP_PAUSE_MS);
}

/* The value (malloc'd). */
static char *Get(kv_config *cfg, Clerk *ck, const char *key, OpLog *log, int cli)
{
	int64_t start = since_t0();
	char *v = clerk_get(ck, key);
	int64_t end = since_t0();
	counted_op(cfg);
	if (log)
		oplog_append(log, KV_OP_GET, key, "", v, start, end, cli);
	return v;
}

static void Put(kv_config *cfg, Clerk *ck, const char *key, const char *value, OpLog *log,
		int cli)
{
	int64_t start = since_t0();
	clerk_put(ck, key, value);
	int64_t end = since_t0();
	counted_op(cfg);
	if (log)
		oplog_append(log, KV_OP_PUT, key, value, "", start, end, cli);
}

static void Append(kv_config *cfg, Clerk *ck, const char *key, const char *value, OpLog *log,
		   int cli)
{
	int64_t start = since_t0();
	clerk_append(ck, key, value);
	int64_t end = since_t0();
	counted_op(cfg);
	if (log)
		oplog_append(log, KV_OP_APPEND, key, value, "", start, end, cli);
}

static void check_fn(kv_config *cfg, Clerk *ck, const char *key, const char *value)
{
	char *v = Get(cfg, ck, key, NULL, -1);
	if (strcmp(v, value) != 0)
		cfg_fatalf(cfg, "Get(%s): expected:\n%s\nreceived:\n%s", key, value, v);
	free(v);
}
#define check(...) CALLED_FROM(check_fn, __VA_ARGS__)

/* ---- clients ---- */

typedef void (*client_fn)(int me, Clerk *ck, void *arg);

typedef struct {
	kv_config *cfg;
	int me;
	client_fn fn;
	void *arg;
	pthread_t tid;
} client_arg;

/* a client runs the function f and then signals it is done */
static void *run_client(void *p)
{
	client_arg *a = p;
	int all[a->cfg->n];
	kvcfg_all(a->cfg, all);
	Clerk *ck = kvcfg_make_client(a->cfg, all, a->cfg->n);
	a->fn(a->me, ck, a->arg);
	kvcfg_delete_client(a->cfg, ck);
	return NULL;
}

/* spawn ncli clients and wait until they are all done.  A client that
 * fails (cfg_fatalf) ends the whole test process, so Go's "failure" for a
 * client that did not finish cannot happen here. */
static void spawn_clients_and_wait(kv_config *cfg, int ncli, client_fn fn, void *arg)
{
	client_arg *ca = xcalloc((size_t)ncli, sizeof *ca);
	for (int cli = 0; cli < ncli; cli++) {
		ca[cli] = (client_arg){ cfg, cli, fn, arg, 0 };
		pthread_create(&ca[cli].tid, NULL, run_client, &ca[cli]);
	}
	for (int cli = 0; cli < ncli; cli++)
		pthread_join(ca[cli].tid, NULL);
	free(ca);
}

/* A growable string, for the expected values. */
typedef struct {
	char *s;
	size_t len, cap;
} strbuf;

static void strbuf_add(strbuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

/* check that for a specific client all known appends are present in a
 * value, and in order */
static void checkClntAppends_fn(kv_config *cfg, int clnt, const char *v, int count)
{
	const char *lastoff = NULL;
	for (int j = 0; j < count; j++) {
		char wanted[64];
		snprintf(wanted, sizeof wanted, "x %d %d y", clnt, j);
		const char *off = strstr(v, wanted);
		if (off == NULL)
			cfg_fatalf(cfg, "%d missing element %s in Append result %s", clnt, wanted, v);
		if (strstr(off + 1, wanted) != NULL)
			cfg_fatalf(cfg, "duplicate element %s in Append result", wanted);
		if (lastoff != NULL && off <= lastoff)
			cfg_fatalf(cfg, "wrong order for element %s in Append result", wanted);
		lastoff = off;
	}
}
#define checkClntAppends(...) CALLED_FROM(checkClntAppends_fn, __VA_ARGS__)

/* check that all known appends are present in a value, and are in order
 * for each concurrent client. */
static void checkConcurrentAppends_fn(kv_config *cfg, const char *v, const int *counts,
				      int nclients)
{
	for (int i = 0; i < nclients; i++)
		(checkClntAppends_fn)(cfg, i, v, counts[i]);
}
#define checkConcurrentAppends(...) CALLED_FROM(checkConcurrentAppends_fn, __VA_ARGS__)

/* ---- the partitioner ---- */

typedef struct {
	kv_config *cfg;
	atomic_int done;
} partitioner_arg;

/* repartition the servers periodically */
static void *partitioner(void *p)
{
	partitioner_arg *a = p;
	kv_config *cfg = a->cfg;
	int n = cfg->n;
	while (atomic_load(&a->done) == 0) {
		int pa[2][n], np[2] = { 0, 0 };
		for (int i = 0; i < n; i++) {
			int side = (int)(kvcfg_rand(cfg) % 2);
			pa[side][np[side]++] = i;
		}
		kvcfg_partition(cfg, pa[0], np[0], pa[1], np[1]);
		sleep_ms(electionTimeout + kvcfg_rand(cfg) % 200);
	}
	return NULL;
}

/* ---- the generic test ---- */

typedef struct {
	kv_config *cfg;
	OpLog *oplog;
	int nclients;
	bool randomkeys;
	atomic_int done_clients;
	int *clnts; /* each client's j, once it is done */
} generic_arg;

static void generic_client(int cli, Clerk *myck, void *p)
{
	generic_arg *g = p;
	kv_config *cfg = g->cfg;
	int j = 0;
	strbuf last = { 0 }; /* only used when not randomkeys */
	strbuf_add(&last, "");
	char key[16], nv[64];
	if (!g->randomkeys) {
		snprintf(key, sizeof key, "%d", cli);
		Put(cfg, myck, key, last.s, g->oplog, cli);
	}
	while (atomic_load(&g->done_clients) == 0) {
		if (g->randomkeys)
			snprintf(key, sizeof key, "%d", (int)(kvcfg_rand(cfg) % g->nclients));
		else
			snprintf(key, sizeof key, "%d", cli);
		snprintf(nv, sizeof nv, "x %d %d y", cli, j);
		if (kvcfg_rand(cfg) % 1000 < 500) {
			Append(cfg, myck, key, nv, g->oplog, cli);
			if (!g->randomkeys)
				strbuf_add(&last, nv); /* NextValue(last, nv) */
			j++;
		} else if (g->randomkeys && kvcfg_rand(cfg) % 1000 < 100) {
			/* we only do this when using random keys, because it would
			 * break the check done after Get() operations */
			Put(cfg, myck, key, nv, g->oplog, cli);
			j++;
		} else {
			char *v = Get(cfg, myck, key, g->oplog, cli);
			/* the following check only makes sense when we're not
			 * using random keys */
			if (!g->randomkeys && strcmp(v, last.s) != 0)
				cfg_fatalf(cfg, "get wrong value, key %s, wanted:\n%s\n, got\n%s\n", key,
					   last.s, v);
			free(v);
		}
	}
	free(last.s);
	g->clnts[cli] = j;
}

typedef struct {
	generic_arg *g;
	pthread_t tid;
} spawner;

static void *spawn_generic_clients(void *p)
{
	generic_arg *g = p;
	spawn_clients_and_wait(g->cfg, g->nclients, generic_client, g);
	return NULL;
}

/* Where the page of a history that is not linearizable goes: named after
 * the test and its seed, so it can be found after a dstest sweep. */
static void visualization_path(kv_config *cfg, char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/%s-%llu.html", dir && *dir ? dir : "/tmp", tcase_name(),
		 (unsigned long long)cfg->seed);
}

static void check_linearizable_fn(kv_config *cfg, OpLog *oplog)
{
	size_t n;
	porc_operation *ops = oplog_read(oplog, &n);
	porc_info *info = NULL;
	porc_result res = porc_check_operations(&kv_model, ops, n, PORC_LAB_BUDGET, &info);
	if (res == PORC_ILLEGAL) {
		char path[512];
		visualization_path(cfg, path, sizeof path);
		if (porc_visualize_path(&kv_model, info, path) != 0)
			printf("info: failed to write history visualization to %s\n", path);
		else
			printf("info: wrote history visualization to %s\n", path);
	} else if (res == PORC_UNKNOWN) {
		printf("info: linearizability check timed out, assuming history is ok\n");
	}
	porc_info_free(info);
	free(ops);
	if (res == PORC_ILLEGAL)
		cfg_fatalf(cfg, "history is not linearizable");
}
#define check_linearizable(...) CALLED_FROM(check_linearizable_fn, __VA_ARGS__)

/* Basic test is as follows: one or more clients submitting Append/Get
 * operations to set of servers for some period of time.  After the period
 * is over, test checks that all appended values are present and in order
 * for a particular key.  If unreliable is set, RPCs may fail.  If crash is
 * set, the servers crash after the period is over and restart.  If
 * partitions is set, the test repartitions the network concurrently with
 * the clients and servers.  If maxraftstate is a positive number, the size
 * of the state for Raft (i.e., log size) shouldn't exceed 8*maxraftstate.
 * If maxraftstate is negative, snapshots shouldn't be used. */
static void GenericTest(const char *part, int nclients, int nservers, bool unreliable, bool crash,
			bool partitions, int maxraftstate, bool randomkeys)
{
	char title[256] = "Test: ";
	if (unreliable)
		strcat(title, "unreliable net, "); /* the network drops RPC requests and replies. */
	if (crash)
		strcat(title, "restarts, "); /* peers re-start, and thus persistence must work. */
	if (partitions)
		strcat(title, "partitions, "); /* the network may partition */
	if (maxraftstate != -1)
		strcat(title, "snapshots, ");
	if (randomkeys)
		strcat(title, "random keys, ");
	strcat(title, nclients > 1 ? "many clients" : "one client");
	snprintf(title + strlen(title), sizeof title - strlen(title), " (%s)", part); /* 3A or 3B */

	kv_config *cfg = make_config(nservers, unreliable, maxraftstate);

	kvcfg_begin(cfg, title);
	OpLog *opLog = oplog_make();

	int all[nservers];
	kvcfg_all(cfg, all);
	Clerk *ck = kvcfg_make_client(cfg, all, nservers);

	generic_arg g = { .cfg = cfg, .oplog = opLog, .nclients = nclients, .randomkeys = randomkeys };
	g.clnts = xcalloc((size_t)nclients, sizeof *g.clnts);
	for (int i = 0; i < 3; i++) {
		atomic_store(&g.done_clients, 0);
		partitioner_arg pa = { .cfg = cfg };
		atomic_init(&pa.done, 0);
		pthread_t spawn_tid, part_tid;
		pthread_create(&spawn_tid, NULL, spawn_generic_clients, &g);

		if (partitions) {
			/* Allow the clients to perform some operations without interruption */
			sleep_ms(1000);
			pthread_create(&part_tid, NULL, partitioner, &pa);
		}
		sleep_ms(5000);

		atomic_store(&g.done_clients, 1); /* tell clients to quit */
		atomic_store(&pa.done, 1);        /* tell partitioner to quit */

		if (partitions) {
			pthread_join(part_tid, NULL);
			/* reconnect network and submit a request. A client may have
			 * submitted a request in a minority.  That request won't
			 * return until that server discovers a new term has started. */
			kvcfg_connect_all(cfg);
			/* wait for a while so that we have a new term */
			sleep_ms(electionTimeout);
		}

		if (crash) {
			for (int s = 0; s < nservers; s++)
				kvcfg_shutdown_server(cfg, s);
			/* Wait for a while for servers to shutdown, since shutdown
			 * isn't a real crash and isn't instantaneous */
			sleep_ms(electionTimeout);
			/* crash and re-start all */
			for (int s = 0; s < nservers; s++)
				kvcfg_start_server(cfg, s);
			kvcfg_connect_all(cfg);
		}

		/* wait for clients */
		pthread_join(spawn_tid, NULL);
		for (int c = 0; c < nclients; c++) {
			int j = g.clnts[c];
			char key[16];
			snprintf(key, sizeof key, "%d", c);
			char *v = Get(cfg, ck, key, opLog, 0);
			if (!randomkeys)
				checkClntAppends(cfg, c, v, j);
			free(v);
		}

		if (maxraftstate > 0) {
			/* Check maximum after the servers have processed all client
			 * requests and had time to checkpoint. */
			int sz = kvcfg_log_size(cfg);
			if (sz > 8 * maxraftstate)
				cfg_fatalf(cfg, "logs were not trimmed (%d > 8*%d)", sz, maxraftstate);
		}
		if (maxraftstate < 0) {
			/* Check that snapshots are not used */
			int ssz = kvcfg_snapshot_size(cfg);
			if (ssz > 0)
				cfg_fatalf(cfg,
					   "snapshot too large (%d), should not be used when maxraftstate = %d",
					   ssz, maxraftstate);
		}
	}

	check_linearizable(cfg, opLog);

	cfg_end(cfg);
	free(g.clnts);
	oplog_free(opLog);
	cfg_cleanup(cfg);
}

/* Check that ops are committed fast enough, better than 1 per heartbeat
 * interval */
static void GenericTestSpeed(const char *part, int maxraftstate)
{
	enum { nservers = 3, numOps = 1000 };
	kv_config *cfg = make_config(nservers, false, maxraftstate);
	int all[nservers];
	kvcfg_all(cfg, all);
	Clerk *ck = kvcfg_make_client(cfg, all, nservers);

	char title[128];
	snprintf(title, sizeof title, "Test: ops complete fast enough (%s)", part);
	kvcfg_begin(cfg, title);

	/* wait until first op completes, so we know a leader is elected and
	 * KV servers are ready to process client requests */
	free(clerk_get(ck, "x"));

	int64_t start = now_us();
	for (int i = 0; i < numOps; i++) {
		char v[64];
		snprintf(v, sizeof v, "x 0 %d y", i);
		clerk_append(ck, "x", v);
	}
	int64_t dur = now_us() - start;

	char *v = clerk_get(ck, "x");
	checkClntAppends(cfg, 0, v, numOps);
	free(v);

	/* heartbeat interval should be ~ 100 ms; require at least 3 ops per */
	const int64_t heartbeatInterval = 100 * 1000; /* us */
	const int64_t opsPerInterval = 3;
	const int64_t timePerOp = heartbeatInterval / opsPerInterval;
	if (dur > numOps * timePerOp)
		cfg_fatalf(cfg, "Operations completed too slowly %.3fms/op > %.3fms/op\n",
			   (double)dur / numOps / 1000, (double)timePerOp / 1000);
	Debug(dTest, "%.3f ms/op", (double)dur / numOps / 1000);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

START_TEST(TestBasic3A)
{
	/* Test: one client (3A) ... */
	GenericTest("3A", 1, 5, false, false, false, -1, false);
}
END_TEST

START_TEST(TestSpeed3A)
{
	GenericTestSpeed("3A", -1);
}
END_TEST

START_TEST(TestConcurrent3A)
{
	/* Test: many clients (3A) ... */
	GenericTest("3A", 5, 5, false, false, false, -1, false);
}
END_TEST

START_TEST(TestUnreliable3A)
{
	/* Test: unreliable net, many clients (3A) ... */
	GenericTest("3A", 5, 5, true, false, false, -1, false);
}
END_TEST

typedef struct {
	kv_config *cfg;
	int upto;
} one_key_arg;

static void one_key_client(int me, Clerk *myck, void *p)
{
	one_key_arg *a = p;
	int n = 0;
	while (n < a->upto) {
		char v[64];
		snprintf(v, sizeof v, "x %d %d y", me, n);
		Append(a->cfg, myck, "k", v, NULL, -1);
		n++;
	}
}

START_TEST(TestUnreliableOneKey3A)
{
	enum { nservers = 3 };
	kv_config *cfg = make_config(nservers, true, -1);
	int all[nservers];
	kvcfg_all(cfg, all);
	Clerk *ck = kvcfg_make_client(cfg, all, nservers);

	kvcfg_begin(cfg, "Test: concurrent append to same key, unreliable (3A)");

	Put(cfg, ck, "k", "", NULL, -1);

	enum { nclient = 5, upto = 10 };
	one_key_arg a = { cfg, upto };
	spawn_clients_and_wait(cfg, nclient, one_key_client, &a);

	int counts[nclient];
	for (int i = 0; i < nclient; i++)
		counts[i] = upto;

	char *vx = Get(cfg, ck, "k", NULL, -1);
	checkConcurrentAppends(cfg, vx, counts, nclient);
	free(vx);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

/* A goroutine of TestOnePartition3A: one operation, then done. */
typedef struct {
	kv_config *cfg;
	Clerk *ck;
	bool put;
	atomic_bool done;
	pthread_t tid;
} minority_op;

static void *minority_op_main(void *p)
{
	minority_op *m = p;
	if (m->put)
		Put(m->cfg, m->ck, "1", "15", NULL, -1);
	else
		free(Get(m->cfg, m->ck, "1", NULL, -1)); /* different clerk in p2 */
	atomic_store(&m->done, true);
	return NULL;
}

/* Go's select on done with a time.After(ms): whether it came in time. */
static bool done_within(minority_op *m, int64_t ms)
{
	int64_t deadline = now_ms() + ms;
	while (!atomic_load(&m->done) && now_ms() < deadline)
		sleep_ms(10);
	return atomic_load(&m->done);
}

/* Submit a request in the minority partition and check that the requests
 * doesn't go through until the partition heals.  The leader in the
 * original network ends up in the minority partition. */
START_TEST(TestOnePartition3A)
{
	enum { nservers = 5 };
	kv_config *cfg = make_config(nservers, false, -1);
	int all[nservers];
	kvcfg_all(cfg, all);
	Clerk *ck = kvcfg_make_client(cfg, all, nservers);

	Put(cfg, ck, "1", "13", NULL, -1);

	kvcfg_begin(cfg, "Test: progress in majority (3A)");

	int *p1, *p2, n1, n2;
	kvcfg_make_partition(cfg, &p1, &n1, &p2, &n2);
	kvcfg_partition(cfg, p1, n1, p2, n2);

	Clerk *ckp1 = kvcfg_make_client(cfg, p1, n1);  /* connect ckp1 to p1 */
	Clerk *ckp2a = kvcfg_make_client(cfg, p2, n2); /* connect ckp2a to p2 */
	Clerk *ckp2b = kvcfg_make_client(cfg, p2, n2); /* connect ckp2b to p2 */

	Put(cfg, ckp1, "1", "14", NULL, -1);
	check(cfg, ckp1, "1", "14");

	cfg_end(cfg);

	minority_op done0 = { .cfg = cfg, .ck = ckp2a, .put = true };
	minority_op done1 = { .cfg = cfg, .ck = ckp2b, .put = false };
	atomic_init(&done0.done, false);
	atomic_init(&done1.done, false);

	kvcfg_begin(cfg, "Test: no progress in minority (3A)");
	pthread_create(&done0.tid, NULL, minority_op_main, &done0);
	pthread_create(&done1.tid, NULL, minority_op_main, &done1);

	/* Go's select: whichever comes first within a second fails. */
	int64_t deadline = now_ms() + 1000;
	while (now_ms() < deadline) {
		if (atomic_load(&done0.done))
			cfg_fatalf(cfg, "Put in minority completed");
		if (atomic_load(&done1.done))
			cfg_fatalf(cfg, "Get in minority completed");
		sleep_ms(10);
	}

	check(cfg, ckp1, "1", "14");
	Put(cfg, ckp1, "1", "16", NULL, -1);
	check(cfg, ckp1, "1", "16");

	cfg_end(cfg);

	kvcfg_begin(cfg, "Test: completion after heal (3A)");

	kvcfg_connect_all(cfg);
	kvcfg_connect_client(cfg, ckp2a, all, nservers);
	kvcfg_connect_client(cfg, ckp2b, all, nservers);

	sleep_ms(electionTimeout);

	if (!done_within(&done0, 30 * 100))
		cfg_fatalf(cfg, "Put did not complete");

	/* Go's select on the Get has a default: it need not be done yet. */

	check(cfg, ck, "1", "15");

	cfg_end(cfg);
	/* Go leaves the Get's goroutine behind; here it is joined (the
	 * healed service answers it). */
	pthread_join(done0.tid, NULL);
	pthread_join(done1.tid, NULL);
	free(p1);
	free(p2);
	cfg_cleanup(cfg);
}
END_TEST

START_TEST(TestManyPartitionsOneClient3A)
{
	/* Test: partitions, one client (3A) ... */
	GenericTest("3A", 1, 5, false, false, true, -1, false);
}
END_TEST

START_TEST(TestManyPartitionsManyClients3A)
{
	/* Test: partitions, many clients (3A) ... */
	GenericTest("3A", 5, 5, false, false, true, -1, false);
}
END_TEST

START_TEST(TestPersistOneClient3A)
{
	/* Test: restarts, one client (3A) ... */
	GenericTest("3A", 1, 5, false, true, false, -1, false);
}
END_TEST

START_TEST(TestPersistConcurrent3A)
{
	/* Test: restarts, many clients (3A) ... */
	GenericTest("3A", 5, 5, false, true, false, -1, false);
}
END_TEST

START_TEST(TestPersistConcurrentUnreliable3A)
{
	/* Test: unreliable net, restarts, many clients (3A) ... */
	GenericTest("3A", 5, 5, true, true, false, -1, false);
}
END_TEST

START_TEST(TestPersistPartition3A)
{
	/* Test: restarts, partitions, many clients (3A) ... */
	GenericTest("3A", 5, 5, false, true, true, -1, false);
}
END_TEST

START_TEST(TestPersistPartitionUnreliable3A)
{
	/* Test: unreliable net, restarts, partitions, many clients (3A) ... */
	GenericTest("3A", 5, 5, true, true, true, -1, false);
}
END_TEST

START_TEST(TestPersistPartitionUnreliableLinearizable3A)
{
	/* Test: unreliable net, restarts, partitions, random keys, many clients (3A) ... */
	GenericTest("3A", 15, 7, true, true, true, -1, true);
}
END_TEST

/* if one server falls behind, then rejoins, does it recover by using the
 * InstallSnapshot RPC?  also checks that majority discards committed log
 * entries even if minority doesn't respond. */
START_TEST(TestSnapshotRPC3B)
{
	enum { nservers = 3 };
	int maxraftstate = 1000;
	kv_config *cfg = make_config(nservers, false, maxraftstate);
	int all[nservers];
	kvcfg_all(cfg, all);
	Clerk *ck = kvcfg_make_client(cfg, all, nservers);

	kvcfg_begin(cfg, "Test: InstallSnapshot RPC (3B)");

	Put(cfg, ck, "a", "A", NULL, -1);
	check(cfg, ck, "a", "A");

	/* a bunch of puts into the majority partition. */
	kvcfg_partition(cfg, (int[]){ 0, 1 }, 2, (int[]){ 2 }, 1);
	{
		Clerk *ck1 = kvcfg_make_client(cfg, (int[]){ 0, 1 }, 2);
		for (int i = 0; i < 50; i++) {
			char s[16];
			snprintf(s, sizeof s, "%d", i);
			Put(cfg, ck1, s, s, NULL, -1);
		}
		sleep_ms(electionTimeout);
		Put(cfg, ck1, "b", "B", NULL, -1);
	}

	/* check that the majority partition has thrown away most of its log
	 * entries. */
	int sz = kvcfg_log_size(cfg);
	if (sz > 8 * maxraftstate)
		cfg_fatalf(cfg, "logs were not trimmed (%d > 8*%d)", sz, maxraftstate);

	/* now make group that requires participation of lagging server, so
	 * that it has to catch up. */
	kvcfg_partition(cfg, (int[]){ 0, 2 }, 2, (int[]){ 1 }, 1);
	{
		Clerk *ck1 = kvcfg_make_client(cfg, (int[]){ 0, 2 }, 2);
		Put(cfg, ck1, "c", "C", NULL, -1);
		Put(cfg, ck1, "d", "D", NULL, -1);
		check(cfg, ck1, "a", "A");
		check(cfg, ck1, "b", "B");
		check(cfg, ck1, "1", "1");
		check(cfg, ck1, "49", "49");
	}

	/* now everybody */
	kvcfg_partition(cfg, (int[]){ 0, 1, 2 }, 3, NULL, 0);

	Put(cfg, ck, "e", "E", NULL, -1);
	check(cfg, ck, "c", "C");
	check(cfg, ck, "e", "E");
	check(cfg, ck, "1", "1");

	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

/* are the snapshots not too huge? 500 bytes is a generous bound for the
 * operations we're doing here. */
START_TEST(TestSnapshotSize3B)
{
	enum { nservers = 3 };
	int maxraftstate = 1000;
	int maxsnapshotstate = 500;
	kv_config *cfg = make_config(nservers, false, maxraftstate);
	int all[nservers];
	kvcfg_all(cfg, all);
	Clerk *ck = kvcfg_make_client(cfg, all, nservers);

	kvcfg_begin(cfg, "Test: snapshot size is reasonable (3B)");

	for (int i = 0; i < 200; i++) {
		Put(cfg, ck, "x", "0", NULL, -1);
		check(cfg, ck, "x", "0");
		Put(cfg, ck, "x", "1", NULL, -1);
		check(cfg, ck, "x", "1");
	}

	/* check that servers have thrown away most of their log entries */
	int sz = kvcfg_log_size(cfg);
	if (sz > 8 * maxraftstate)
		cfg_fatalf(cfg, "logs were not trimmed (%d > 8*%d)", sz, maxraftstate);

	/* check that the snapshots are not unreasonably large */
	int ssz = kvcfg_snapshot_size(cfg);
	if (ssz > maxsnapshotstate)
		cfg_fatalf(cfg, "snapshot too large (%d > %d)", ssz, maxsnapshotstate);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

START_TEST(TestSpeed3B)
{
	GenericTestSpeed("3B", 1000);
}
END_TEST

START_TEST(TestSnapshotRecover3B)
{
	/* Test: restarts, snapshots, one client (3B) ... */
	GenericTest("3B", 1, 5, false, true, false, 1000, false);
}
END_TEST

START_TEST(TestSnapshotRecoverManyClients3B)
{
	/* Test: restarts, snapshots, many clients (3B) ... */
	GenericTest("3B", 20, 5, false, true, false, 1000, false);
}
END_TEST

START_TEST(TestSnapshotUnreliable3B)
{
	/* Test: unreliable net, snapshots, many clients (3B) ... */
	GenericTest("3B", 5, 5, true, false, false, 1000, false);
}
END_TEST

START_TEST(TestSnapshotUnreliableRecover3B)
{
	/* Test: unreliable net, restarts, snapshots, many clients (3B) ... */
	GenericTest("3B", 5, 5, true, true, false, 1000, false);
}
END_TEST

START_TEST(TestSnapshotUnreliableRecoverConcurrentPartition3B)
{
	/* Test: unreliable net, restarts, partitions, snapshots, many clients (3B) ... */
	GenericTest("3B", 5, 5, true, true, true, 1000, false);
}
END_TEST

START_TEST(TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable3B)
{
	/* Test: unreliable net, restarts, partitions, snapshots, random keys, many clients (3B) ... */
	GenericTest("3B", 15, 7, true, true, true, 1000, true);
}
END_TEST

#define T(fn) TEST_ENTRY(fn, LAB_TEST_TIMEOUT)
static const test_entry kvraft_tests[] = {
	T(TestBasic3A),
	T(TestSpeed3A),
	T(TestConcurrent3A),
	T(TestUnreliable3A),
	T(TestUnreliableOneKey3A),
	T(TestOnePartition3A),
	T(TestManyPartitionsOneClient3A),
	T(TestManyPartitionsManyClients3A),
	T(TestPersistOneClient3A),
	T(TestPersistConcurrent3A),
	T(TestPersistConcurrentUnreliable3A),
	T(TestPersistPartition3A),
	T(TestPersistPartitionUnreliable3A),
	T(TestPersistPartitionUnreliableLinearizable3A),
	T(TestSnapshotRPC3B),
	T(TestSnapshotSize3B),
	T(TestSpeed3B),
	T(TestSnapshotRecover3B),
	T(TestSnapshotRecoverManyClients3B),
	T(TestSnapshotUnreliable3B),
	T(TestSnapshotUnreliableRecover3B),
	T(TestSnapshotUnreliableRecoverConcurrentPartition3B),
	T(TestSnapshotUnreliableRecoverConcurrentPartitionLinearizable3B),
};
TEST_GROUP(kvraft, kvraft_tests);
