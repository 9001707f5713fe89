/* chan_test.c: the apply channel behaves like Go's unbuffered channel. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>

#include "../chan.h"
#include "../util.h"
#include "registry.h"

struct send_arg {
	Chan *ch;
	atomic_int sent;
};

static void *send_one(void *p)
{
	struct send_arg *a = p;
	int v = 42;
	if (chan_send(a->ch, &v))
		atomic_store(&a->sent, 1);
	return NULL;
}

/* A send does not return before a receiver has taken the value. */
START_TEST(TestChanRendezvous)
{
	struct send_arg arg = { .ch = chan_make(sizeof(int)) };
	atomic_init(&arg.sent, 0);
	pthread_t th;
	pthread_create(&th, NULL, send_one, &arg);
	sleep_ms(50);
	ck_assert_msg(atomic_load(&arg.sent) == 0, "send returned before anyone received");
	int v = 0;
	ck_assert(chan_recv(arg.ch, &v));
	ck_assert_int_eq(v, 42);
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&arg.sent), 1);
	chan_free(arg.ch);
}
END_TEST

enum { NSENDERS = 4, NRECEIVERS = 3, PER_SENDER = 2000 };

typedef struct {
	Chan *ch;
	int id;
	long long sum;
	int count;
} worker_arg;

static void *sender_main(void *p)
{
	worker_arg *a = p;
	for (int i = 1; i <= PER_SENDER; i++) {
		int v = a->id * PER_SENDER + i;
		ck_assert(chan_send(a->ch, &v));
	}
	return NULL;
}

static void *receiver_main(void *p)
{
	worker_arg *a = p;
	int v;
	while (chan_recv(a->ch, &v)) {
		a->sum += v;
		a->count++;
	}
	return NULL;
}

START_TEST(TestChanManySendersReceivers)
{
	Chan *ch = chan_make(sizeof(int));
	pthread_t s[NSENDERS], r[NRECEIVERS];
	worker_arg sa[NSENDERS], ra[NRECEIVERS];
	for (int i = 0; i < NRECEIVERS; i++) {
		ra[i] = (worker_arg){ .ch = ch };
		pthread_create(&r[i], NULL, receiver_main, &ra[i]);
	}
	long long want = 0;
	for (int i = 0; i < NSENDERS; i++) {
		sa[i] = (worker_arg){ .ch = ch, .id = i };
		for (int k = 1; k <= PER_SENDER; k++)
			want += i * PER_SENDER + k;
		pthread_create(&s[i], NULL, sender_main, &sa[i]);
	}
	for (int i = 0; i < NSENDERS; i++)
		pthread_join(s[i], NULL);
	chan_close(ch);
	long long got = 0;
	int count = 0;
	for (int i = 0; i < NRECEIVERS; i++) {
		pthread_join(r[i], NULL);
		got += ra[i].sum;
		count += ra[i].count;
	}
	ck_assert_int_eq(count, NSENDERS * PER_SENDER);
	ck_assert(got == want);
	chan_free(ch);
}
END_TEST

static void *blocked_sender(void *p)
{
	worker_arg *a = p;
	int v = 7;
	a->count = chan_send(a->ch, &v) ? 1 : 0;
	return NULL;
}

START_TEST(TestChanCloseWakes)
{
	Chan *ch = chan_make(sizeof(int));
	pthread_t th[3];
	worker_arg a[3];
	for (int i = 0; i < 3; i++) {
		a[i] = (worker_arg){ .ch = ch, .count = -1 };
		pthread_create(&th[i], NULL, blocked_sender, &a[i]);
	}
	sleep_ms(50);
	chan_close(ch);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(a[i].count == 0, "a send succeeded with no receiver");
	}
	int v;
	ck_assert(!chan_recv(ch, &v));
	ck_assert(!chan_send(ch, &v));
	chan_free(ch);
}
END_TEST

typedef struct {
	Chan *ch;
	atomic_bool stop;
	int v;
	atomic_int result; /* -1 while sending, then 0 or 1 */
} stoppable_arg;

static void *stoppable_sender(void *p)
{
	stoppable_arg *a = p;
	atomic_store(&a->result, chan_send_unless(a->ch, &a->v, &a->stop) ? 1 : 0);
	return NULL;
}

/* A parked chan_send_unless gives up when its flag is set and the
 * channel's senders are woken; the others, plain or not, keep waiting,
 * and the channel works on. */
START_TEST(TestChanSendUnless)
{
	Chan *ch = chan_make(sizeof(int));
	stoppable_arg a[3];
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		a[i].ch = ch;
		a[i].v = 10 + i;
		atomic_init(&a[i].stop, false);
		atomic_init(&a[i].result, -1);
		pthread_create(&th[i], NULL, stoppable_sender, &a[i]);
		sleep_ms(20); /* parked in this order */
	}
	atomic_store(&a[1].stop, true);
	chan_wake_senders(ch);
	pthread_join(th[1], NULL);
	ck_assert_int_eq(atomic_load(&a[1].result), 0);
	chan_wake_senders(ch); /* nobody else stops */
	sleep_ms(20);
	ck_assert(atomic_load(&a[0].result) == -1 && atomic_load(&a[2].result) == -1);
	int v;
	ck_assert(chan_recv(ch, &v));
	ck_assert_int_eq(v, 10);
	ck_assert(chan_recv(ch, &v));
	ck_assert_int_eq(v, 12);
	pthread_join(th[0], NULL);
	pthread_join(th[2], NULL);
	ck_assert(atomic_load(&a[0].result) == 1 && atomic_load(&a[2].result) == 1);
	/* A flag already set: the send fails at once. */
	ck_assert(!chan_send_unless(ch, &v, &a[1].stop));
	chan_free(ch);
}
END_TEST

enum { RUN_LEN = 1000 };

typedef struct {
	Chan *ch;
	int values[RUN_LEN];
	size_t sent;
} run_arg;

static void *send_run(void *p)
{
	run_arg *a = p;
	a->sent = chan_send_all_unless(a->ch, a->values, RUN_LEN, NULL);
	return NULL;
}

/* chan_send_all_unless delivers its run in order, to whichever receivers come,
 * and returns only once the last value has been taken. */
START_TEST(TestChanSendAllInOrder)
{
	run_arg a = { .ch = chan_make(sizeof(int)) };
	for (int i = 0; i < RUN_LEN; i++)
		a.values[i] = i + 1;
	a.sent = 12345;
	pthread_t th;
	pthread_create(&th, NULL, send_run, &a);
	int v = 0;
	for (int i = 0; i < RUN_LEN - 1; i++) {
		ck_assert(chan_recv(a.ch, &v));
		ck_assert_int_eq(v, i + 1);
	}
	sleep_ms(50);
	ck_assert_msg(a.sent == 12345, "chan_send_all_unless returned before its last value was taken");
	ck_assert(chan_recv(a.ch, &v));
	ck_assert_int_eq(v, RUN_LEN);
	pthread_join(th, NULL);
	ck_assert_int_eq(a.sent, RUN_LEN);
	chan_free(a.ch);
}
END_TEST

/* Closed part way through a run: it says how many were taken. */
START_TEST(TestChanSendAllClosed)
{
	run_arg a = { .ch = chan_make(sizeof(int)) };
	for (int i = 0; i < RUN_LEN; i++)
		a.values[i] = i + 1;
	pthread_t th;
	pthread_create(&th, NULL, send_run, &a);
	int v = 0;
	for (int i = 0; i < 10; i++) {
		ck_assert(chan_recv(a.ch, &v));
		ck_assert_int_eq(v, i + 1);
	}
	chan_close(a.ch);
	pthread_join(th, NULL);
	ck_assert_int_eq(a.sent, 10);
	ck_assert(!chan_recv(a.ch, &v));
	chan_free(a.ch);
}
END_TEST

static void *recv_one(void *p)
{
	worker_arg *a = p;
	int v;
	if (chan_recv(a->ch, &v)) {
		a->sum = v;
		a->count = 1;
	}
	return NULL;
}

/* chan_offer_all never blocks: with nobody waiting it hands over nothing;
 * with one receiver waiting, exactly one value. */
START_TEST(TestChanOfferAll)
{
	Chan *ch = chan_make(sizeof(int));
	int values[3] = { 5, 6, 7 };
	ck_assert_int_eq(chan_offer_all(ch, values, 3), 0);
	worker_arg a = { .ch = ch };
	pthread_t th;
	pthread_create(&th, NULL, recv_one, &a);
	size_t sent = 0;
	for (int i = 0; i < 1000 && sent == 0; i++) {
		sleep_ms(1);
		sent = chan_offer_all(ch, values, 3);
	}
	ck_assert_int_eq(sent, 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(a.count, 1);
	ck_assert_int_eq(a.sum, 5);
	chan_close(ch);
	ck_assert_int_eq(chan_offer_all(ch, values, 3), 0);
	chan_free(ch);
}
END_TEST

static const test_entry chan_tests[] = {
	TEST_ENTRY(TestChanRendezvous, 10),
	TEST_ENTRY(TestChanManySendersReceivers, 60),
	TEST_ENTRY(TestChanCloseWakes, 10),
	TEST_ENTRY(TestChanSendUnless, 10),
	TEST_ENTRY(TestChanSendAllInOrder, 10),
	TEST_ENTRY(TestChanSendAllClosed, 10),
	TEST_ENTRY(TestChanOfferAll, 10),
};
TEST_GROUP(chan, chan_tests);
