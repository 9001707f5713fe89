/* test_test.c: labrpc's 11 tests (labrpc/test_test.go), under their Go
 * names and with their bounds.  The JunkServer handlers decode and encode
 * their arguments with labgob, as Go's reflection does for them. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../labtest/registry.h"
#include "../util.h"
#include "labrpc.h"

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool closing; /* the test is over: Handler3 stops sleeping */
	int nlog1, nlog2;
} JunkServer;

static int handler1(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	JunkServer *js = rcvr;
	const uint8_t *s;
	size_t n;
	if (!labgob_get_bytes(args, &s, &n))
		return -1;
	char buf[64] = "";
	memcpy(buf, s, n < sizeof buf - 1 ? n : sizeof buf - 1);
	pthread_mutex_lock(&js->mu);
	js->nlog1++;
	pthread_mutex_unlock(&js->mu);
	labgob_put_int(reply, atoi(buf));
	return 0;
}

static int handler2(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	JunkServer *js = rcvr;
	int64_t x;
	if (!labgob_get_int64(args, &x))
		return -1;
	pthread_mutex_lock(&js->mu);
	js->nlog2++;
	pthread_mutex_unlock(&js->mu);
	char buf[64];
	int n = snprintf(buf, sizeof buf, "handler2-%lld", (long long)x);
	labgob_put_bytes(reply, buf, (size_t)n);
	return 0;
}

/* Sleeps 20 s holding the lock, as in Go; the test's end wakes it, since
 * cleanup waits for every handler (Go just leaves the goroutine behind). */
static int handler3(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	JunkServer *js = rcvr;
	int64_t x;
	if (!labgob_get_int64(args, &x))
		return -1;
	struct timespec deadline;
	deadline_after_ms(&deadline, 20000);
	pthread_mutex_lock(&js->mu);
	while (!js->closing && pthread_cond_timedwait(&js->wake, &js->mu, &deadline) == 0)
		;
	pthread_mutex_unlock(&js->mu);
	labgob_put_int(reply, -x);
	return 0;
}

/* JunkArgs{X int} -> JunkReply{X string}.  C has no pointer/value
 * distinction in what crosses the wire: both handlers take the same bytes. */
static int handler4(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	(void)rcvr;
	int64_t x;
	if (!labgob_get_int64(args, &x))
		return -1;
	labgob_put_bytes(reply, "pointer", 7);
	return 0;
}

static int handler5(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	(void)rcvr;
	int64_t x;
	if (!labgob_get_int64(args, &x))
		return -1;
	labgob_put_bytes(reply, "no pointer", 10);
	return 0;
}

static int handler6(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	JunkServer *js = rcvr;
	const uint8_t *s;
	size_t n;
	if (!labgob_get_bytes(args, &s, &n))
		return -1;
	pthread_mutex_lock(&js->mu);
	pthread_mutex_unlock(&js->mu);
	labgob_put_int(reply, (int64_t)n);
	return 0;
}

static int handler7(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	JunkServer *js = rcvr;
	int64_t x;
	if (!labgob_get_int64(args, &x) || x < 0 || x > 1 << 20)
		return -1;
	pthread_mutex_lock(&js->mu);
	pthread_mutex_unlock(&js->mu);
	char *s = xmalloc((size_t)x);
	memset(s, 'y', (size_t)x);
	labgob_put_bytes(reply, s, (size_t)x);
	free(s);
	return 0;
}

static const labrpc_method junk_methods[] = {
	{ "Handler1", handler1 }, { "Handler2", handler2 }, { "Handler3", handler3 },
	{ "Handler4", handler4 }, { "Handler5", handler5 }, { "Handler6", handler6 },
	{ "Handler7", handler7 },
};

/* One network with one JunkServer registered as servername. */
typedef struct {
	labrpc_net *net;
	JunkServer js;
} fixture;

static void setup(fixture *f, const char *servername)
{
	f->net = labrpc_make_network(random_seed());
	pthread_mutex_init(&f->js.mu, NULL);
	cond_init_monotonic(&f->js.wake);
	f->js.closing = false;
	f->js.nlog1 = f->js.nlog2 = 0;
	labrpc_service *svc = labrpc_make_service("JunkServer", &f->js, junk_methods,
						  sizeof junk_methods / sizeof junk_methods[0], NULL);
	labrpc_server *rs = labrpc_make_server();
	labrpc_server_add_service(rs, svc);
	labrpc_add_server(f->net, servername, rs);
}

static void teardown(fixture *f)
{
	pthread_mutex_lock(&f->js.mu);
	f->js.closing = true;
	pthread_cond_broadcast(&f->js.wake);
	pthread_mutex_unlock(&f->js.mu);
	labrpc_free(f->net);
	pthread_cond_destroy(&f->js.wake);
	pthread_mutex_destroy(&f->js.mu);
}

/* Call with an int argument; *reply_s gets the string reply (or ""). */
static bool call_int_str(labrpc_end *e, const char *meth, int64_t arg, char *reply_s, size_t cap)
{
	labgob_encoder enc;
	labgob_encoder_init(&enc);
	labgob_put_int(&enc, arg);
	uint8_t *rep;
	size_t rep_len;
	bool ok = labrpc_call(e, meth, enc.buf, enc.len, &rep, &rep_len);
	labgob_encoder_free(&enc);
	reply_s[0] = '\0';
	if (ok) {
		labgob_decoder d;
		labgob_decoder_init(&d, rep, rep_len);
		const uint8_t *s;
		size_t n;
		if (labgob_get_bytes(&d, &s, &n) && n < cap) {
			memcpy(reply_s, s, n);
			reply_s[n] = '\0';
		}
		free(rep);
	}
	return ok;
}

static bool call_str_int(labrpc_end *e, const char *meth, const char *arg, int64_t *reply_i)
{
	labgob_encoder enc;
	labgob_encoder_init(&enc);
	labgob_put_bytes(&enc, arg, strlen(arg));
	uint8_t *rep;
	size_t rep_len;
	bool ok = labrpc_call(e, meth, enc.buf, enc.len, &rep, &rep_len);
	labgob_encoder_free(&enc);
	if (ok) {
		labgob_decoder d;
		labgob_decoder_init(&d, rep, rep_len);
		labgob_get_int64(&d, reply_i);
		free(rep);
	}
	return ok;
}

START_TEST(TestBasic)
{
	fixture f;
	setup(&f, "server99");
	labrpc_end *e = labrpc_make_end(f.net, "end1-99");
	labrpc_connect(f.net, "end1-99", "server99");
	labrpc_enable(f.net, "end1-99", true);

	char reply[64];
	call_int_str(e, "JunkServer.Handler2", 111, reply, sizeof reply);
	ck_assert_msg(strcmp(reply, "handler2-111") == 0, "wrong reply from Handler2");

	int64_t r = 0;
	call_str_int(e, "JunkServer.Handler1", "9099", &r);
	ck_assert_msg(r == 9099, "wrong reply from Handler1");
	teardown(&f);
}
END_TEST

START_TEST(TestTypes)
{
	fixture f;
	setup(&f, "server99");
	labrpc_end *e = labrpc_make_end(f.net, "end1-99");
	labrpc_connect(f.net, "end1-99", "server99");
	labrpc_enable(f.net, "end1-99", true);

	char reply[64];
	call_int_str(e, "JunkServer.Handler4", 0, reply, sizeof reply);
	ck_assert_msg(strcmp(reply, "pointer") == 0, "wrong reply from Handler4");
	call_int_str(e, "JunkServer.Handler5", 0, reply, sizeof reply);
	ck_assert_msg(strcmp(reply, "no pointer") == 0, "wrong reply from Handler5");
	teardown(&f);
}
END_TEST

/* does net.Enable(endname, false) really disconnect a client? */
START_TEST(TestDisconnect)
{
	fixture f;
	setup(&f, "server99");
	labrpc_end *e = labrpc_make_end(f.net, "end1-99");
	labrpc_connect(f.net, "end1-99", "server99");

	char reply[64];
	call_int_str(e, "JunkServer.Handler2", 111, reply, sizeof reply);
	ck_assert_msg(strcmp(reply, "") == 0, "unexpected reply from Handler2");

	labrpc_enable(f.net, "end1-99", true);
	int64_t r = 0;
	call_str_int(e, "JunkServer.Handler1", "9099", &r);
	ck_assert_msg(r == 9099, "wrong reply from Handler1");
	teardown(&f);
}
END_TEST

/* test net.GetCount() */
START_TEST(TestCounts)
{
	fixture f;
	setup(&f, "99");
	labrpc_end *e = labrpc_make_end(f.net, "end1-99");
	labrpc_connect(f.net, "end1-99", "99");
	labrpc_enable(f.net, "end1-99", true);

	for (int i = 0; i < 17; i++) {
		char reply[64], wanted[64];
		call_int_str(e, "JunkServer.Handler2", i, reply, sizeof reply);
		snprintf(wanted, sizeof wanted, "handler2-%d", i);
		ck_assert_msg(strcmp(reply, wanted) == 0, "wrong reply %s from Handler1, expecting %s",
			      reply, wanted);
	}
	int n = labrpc_get_count(f.net, "99");
	ck_assert_msg(n == 17, "wrong GetCount() %d, expected 17\n", n);
	teardown(&f);
}
END_TEST

/* test net.GetTotalBytes(): both directions are counted.  Go's bounds hold
 * for our encoding too: 17 x (286 + 2) = 4896, then 17 x (2 + 108) = 1870. */
START_TEST(TestBytes)
{
	fixture f;
	setup(&f, "99");
	labrpc_end *e = labrpc_make_end(f.net, "end1-99");
	labrpc_connect(f.net, "end1-99", "99");
	labrpc_enable(f.net, "end1-99", true);

	for (int i = 0; i < 17; i++) {
		char args[285];
		memset(args, 'x', 284);
		args[284] = '\0';
		int64_t reply = 0;
		call_str_int(e, "JunkServer.Handler6", args, &reply);
		ck_assert_msg(reply == 284, "wrong reply %lld from Handler6, expecting %d",
			      (long long)reply, 284);
	}
	int64_t n = labrpc_total_bytes(f.net);
	ck_assert_msg(n >= 4828 && n <= 6000, "wrong GetTotalBytes() %lld, expected about 5000\n",
		      (long long)n);

	for (int i = 0; i < 17; i++) {
		char reply[256];
		call_int_str(e, "JunkServer.Handler7", 107, reply, sizeof reply);
		ck_assert_msg(strlen(reply) == 107, "wrong reply len=%zu from Handler6, expecting %d",
			      strlen(reply), 107);
	}
	int64_t nn = labrpc_total_bytes(f.net) - n;
	ck_assert_msg(nn >= 1800 && nn <= 2500, "wrong GetTotalBytes() %lld, expected about 2000\n",
		      (long long)nn);
	teardown(&f);
}
END_TEST

typedef struct {
	fixture *f;
	int i;
	labrpc_end *e; /* for TestConcurrentOne and TestRegression1 */
	int n;         /* calls that completed as expected */
} client_arg;

static void *many_client(void *p)
{
	client_arg *a = p;
	char name[32];
	snprintf(name, sizeof name, "%d", a->i);
	labrpc_end *e = labrpc_make_end(a->f->net, name);
	labrpc_connect(a->f->net, name, "1000");
	labrpc_enable(a->f->net, name, true);
	for (int j = 0; j < 10; j++) {
		int arg = a->i * 100 + j;
		char reply[64], wanted[64];
		call_int_str(e, "JunkServer.Handler2", arg, reply, sizeof reply);
		snprintf(wanted, sizeof wanted, "handler2-%d", arg);
		ck_assert_msg(strcmp(reply, wanted) == 0, "wrong reply %s from Handler1, expecting %s",
			      reply, wanted);
		a->n++;
	}
	return NULL;
}

/* test RPCs from concurrent ClientEnds */
START_TEST(TestConcurrentMany)
{
	fixture f;
	setup(&f, "1000");
	enum { nclients = 20, nrpcs = 10 };
	pthread_t th[nclients];
	client_arg args[nclients];
	for (int i = 0; i < nclients; i++) {
		args[i] = (client_arg){ .f = &f, .i = i };
		pthread_create(&th[i], NULL, many_client, &args[i]);
	}
	int total = 0;
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		total += args[i].n;
	}
	ck_assert_msg(total == nclients * nrpcs,
		      "wrong number of RPCs completed, got %d, expected %d", total, nclients * nrpcs);
	int n = labrpc_get_count(f.net, "1000");
	ck_assert_msg(n == total, "wrong GetCount() %d, expected %d\n", n, total);
	teardown(&f);
}
END_TEST

static void *unreliable_client(void *p)
{
	client_arg *a = p;
	char name[32];
	snprintf(name, sizeof name, "%d", a->i);
	labrpc_end *e = labrpc_make_end(a->f->net, name);
	labrpc_connect(a->f->net, name, "1000");
	labrpc_enable(a->f->net, name, true);
	int arg = a->i * 100;
	char reply[64], wanted[64];
	if (call_int_str(e, "JunkServer.Handler2", arg, reply, sizeof reply)) {
		snprintf(wanted, sizeof wanted, "handler2-%d", arg);
		ck_assert_msg(strcmp(reply, wanted) == 0, "wrong reply %s from Handler1, expecting %s",
			      reply, wanted);
		a->n++;
	}
	return NULL;
}

/* test unreliable */
START_TEST(TestUnreliable)
{
	fixture f;
	setup(&f, "1000");
	labrpc_reliable(f.net, false);
	enum { nclients = 300 };
	pthread_t *th = xcalloc(nclients, sizeof *th);
	client_arg *args = xcalloc(nclients, sizeof *args);
	for (int i = 0; i < nclients; i++) {
		args[i] = (client_arg){ .f = &f, .i = i };
		pthread_create(&th[i], NULL, unreliable_client, &args[i]);
	}
	int total = 0;
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		total += args[i].n;
	}
	free(th);
	free(args);
	ck_assert_msg(total != nclients && total != 0, "all RPCs succeeded despite unreliable");
	teardown(&f);
}
END_TEST

static void *one_end_client(void *p)
{
	client_arg *a = p;
	int arg = 100 + a->i;
	char reply[64], wanted[64];
	call_int_str(a->e, "JunkServer.Handler2", arg, reply, sizeof reply);
	snprintf(wanted, sizeof wanted, "handler2-%d", arg);
	ck_assert_msg(strcmp(reply, wanted) == 0, "wrong reply %s from Handler2, expecting %s", reply,
		      wanted);
	a->n++;
	return NULL;
}

/* test concurrent RPCs from a single ClientEnd */
START_TEST(TestConcurrentOne)
{
	fixture f;
	setup(&f, "1000");
	labrpc_end *e = labrpc_make_end(f.net, "c");
	labrpc_connect(f.net, "c", "1000");
	labrpc_enable(f.net, "c", true);
	enum { nrpcs = 20 };
	pthread_t th[nrpcs];
	client_arg args[nrpcs];
	for (int i = 0; i < nrpcs; i++) {
		args[i] = (client_arg){ .f = &f, .i = i, .e = e };
		pthread_create(&th[i], NULL, one_end_client, &args[i]);
	}
	int total = 0;
	for (int i = 0; i < nrpcs; i++) {
		pthread_join(th[i], NULL);
		total += args[i].n;
	}
	ck_assert_msg(total == nrpcs, "wrong number of RPCs completed, got %d, expected %d", total,
		      nrpcs);
	pthread_mutex_lock(&f.js.mu);
	int delivered = f.js.nlog2;
	pthread_mutex_unlock(&f.js.mu);
	ck_assert_msg(delivered == nrpcs, "wrong number of RPCs delivered");
	int n = labrpc_get_count(f.net, "1000");
	ck_assert_msg(n == total, "wrong GetCount() %d, expected %d\n", n, total);
	teardown(&f);
}
END_TEST

static void *disabled_client(void *p)
{
	client_arg *a = p;
	char reply[64];
	/* this call ought to return false. */
	call_int_str(a->e, "JunkServer.Handler2", 100 + a->i, reply, sizeof reply);
	a->n = 1;
	return NULL;
}

/* regression: an RPC that's delayed during Enabled=false
 * should not delay subsequent RPCs (e.g. after Enabled=true). */
START_TEST(TestRegression1)
{
	fixture f;
	setup(&f, "1000");
	labrpc_end *e = labrpc_make_end(f.net, "c");
	labrpc_connect(f.net, "c", "1000");

	/* start some RPCs while the ClientEnd is disabled.
	 * they'll be delayed. */
	labrpc_enable(f.net, "c", false);
	enum { nrpcs = 20 };
	pthread_t th[nrpcs];
	client_arg args[nrpcs];
	for (int i = 0; i < nrpcs; i++) {
		args[i] = (client_arg){ .f = &f, .i = i, .e = e };
		pthread_create(&th[i], NULL, disabled_client, &args[i]);
	}
	sleep_ms(100);

	/* now enable the ClientEnd and check that an RPC completes quickly. */
	int64_t t0 = now_us();
	labrpc_enable(f.net, "c", true);
	char reply[64];
	call_int_str(e, "JunkServer.Handler2", 99, reply, sizeof reply);
	ck_assert_msg(strcmp(reply, "handler2-99") == 0, "wrong reply %s from Handler2, expecting %s",
		      reply, "handler2-99");
	double dur = (double)(now_us() - t0) / 1e6;
	ck_assert_msg(dur <= 0.03, "RPC took too long (%f) after Enable", dur);

	for (int i = 0; i < nrpcs; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_lock(&f.js.mu);
	int delivered = f.js.nlog2;
	pthread_mutex_unlock(&f.js.mu);
	ck_assert_msg(delivered == 1, "wrong number (%d) of RPCs delivered, expected 1", delivered);
	int n = labrpc_get_count(f.net, "1000");
	ck_assert_msg(n == 1, "wrong GetCount() %d, expected %d\n", n, 1);
	teardown(&f);
}
END_TEST

typedef struct {
	labrpc_end *e;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, ok;
} killed_call;

static void *killed_caller(void *p)
{
	killed_call *k = p;
	labgob_encoder enc;
	labgob_encoder_init(&enc);
	labgob_put_int(&enc, 99);
	uint8_t *rep;
	size_t rep_len;
	bool ok = labrpc_call(k->e, "JunkServer.Handler3", enc.buf, enc.len, &rep, &rep_len);
	labgob_encoder_free(&enc);
	free(rep);
	pthread_mutex_lock(&k->mu);
	k->done = true;
	k->ok = ok;
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

/* Wait up to ms for the call to finish; true if it did. */
static bool wait_done(killed_call *k, int ms)
{
	struct timespec deadline;
	deadline_after_ms(&deadline, ms);
	pthread_mutex_lock(&k->mu);
	while (!k->done && pthread_cond_timedwait(&k->cv, &k->mu, &deadline) == 0)
		;
	bool done = k->done;
	pthread_mutex_unlock(&k->mu);
	return done;
}

/* if an RPC is stuck in a server, and the server
 * is killed with DeleteServer(), does the RPC
 * get un-stuck? */
START_TEST(TestKilled)
{
	fixture f;
	setup(&f, "server99");
	labrpc_end *e = labrpc_make_end(f.net, "end1-99");
	labrpc_connect(f.net, "end1-99", "server99");
	labrpc_enable(f.net, "end1-99", true);

	killed_call k = { .e = e };
	pthread_mutex_init(&k.mu, NULL);
	cond_init_monotonic(&k.cv);
	pthread_t th;
	pthread_create(&th, NULL, killed_caller, &k);

	sleep_ms(1000);
	ck_assert_msg(!wait_done(&k, 100), "Handler3 should not have returned yet");

	labrpc_delete_server(f.net, "server99");
	ck_assert_msg(wait_done(&k, 100), "Handler3 should return after DeleteServer()");
	ck_assert_msg(!k.ok, "Handler3 returned successfully despite DeleteServer()");
	pthread_join(th, NULL);
	pthread_cond_destroy(&k.cv);
	pthread_mutex_destroy(&k.mu);
	teardown(&f);
}
END_TEST

START_TEST(TestBenchmark)
{
	fixture f;
	setup(&f, "server99");
	labrpc_end *e = labrpc_make_end(f.net, "end1-99");
	labrpc_connect(f.net, "end1-99", "server99");
	labrpc_enable(f.net, "end1-99", true);

	int64_t t0 = now_us();
	int n = 100000;
	for (int iters = 0; iters < n; iters++) {
		char reply[64];
		call_int_str(e, "JunkServer.Handler2", 111, reply, sizeof reply);
		ck_assert_msg(strcmp(reply, "handler2-111") == 0, "wrong reply from Handler2");
	}
	int64_t us = now_us() - t0;
	printf("%.3fs for %d (%.2f us per RPC)\n", (double)us / 1e6, n, (double)us / n);
	/* march 2016, rtm laptop, 22 microseconds per RPC */
	teardown(&f);
}
END_TEST

static const test_entry labrpc_tests[] = {
	TEST_ENTRY(TestBasic, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestTypes, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestDisconnect, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestCounts, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestBytes, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestConcurrentMany, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestUnreliable, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestConcurrentOne, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestRegression1, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestKilled, LAB_TEST_TIMEOUT),
	TEST_ENTRY(TestBenchmark, LAB_TEST_TIMEOUT),
};
TEST_GROUP(labrpc, labrpc_tests);
