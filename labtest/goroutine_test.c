/* goroutine_test.c: go_start, go_wait, go_sleep and go_kill behave as
 * Go's go statement, WaitGroup, time.Sleep and the lab's killed flag. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "../goroutine.h"
#include "../util.h"
#include "registry.h"

typedef struct {
	atomic_int *count;
	int add;
} add_arg;

static void add(void *p)
{
	add_arg *a = p;
	atomic_fetch_add(a->count, a->add);
}

/* Every function started runs once, with its own copy of the argument,
 * and go_wait returns only when all have returned. */
START_TEST(TestGoRunsEachOnce)
{
	go_group *g = go_group_make();
	atomic_int count;
	atomic_init(&count, 0);
	for (int i = 1; i <= 1000; i++) {
		add_arg a = { &count, i };
		ck_assert(go_start(g, add, &a, sizeof a));
		a.add = -1000000; /* the copy was taken: this change is not seen */
	}
	go_wait(g);
	ck_assert_msg(atomic_load(&count) == 1000 * 1001 / 2,
		      "sum %d after go_wait: a function ran twice, not at all, or after go_wait",
		      atomic_load(&count));
	go_kill(g);
	go_wait(g);
	go_group_free(g);
}
END_TEST

typedef struct {
	char bytes[200];
	atomic_int *ok;
} big_arg;

static void check_big(void *p)
{
	big_arg *a = p;
	for (int i = 0; i < (int)sizeof a->bytes; i++)
		if (a->bytes[i] != (char)i)
			return;
	atomic_fetch_add(a->ok, 1);
}

/* An argument too big for the worker's own room is copied whole too. */
START_TEST(TestGoCopiesBigArgument)
{
	go_group *g = go_group_make();
	atomic_int ok;
	atomic_init(&ok, 0);
	big_arg a = { .ok = &ok };
	for (int i = 0; i < (int)sizeof a.bytes; i++)
		a.bytes[i] = (char)i;
	for (int i = 0; i < 20; i++)
		ck_assert(go_start(g, check_big, &a, sizeof a));
	go_wait(g);
	ck_assert_int_eq(atomic_load(&ok), 20);
	go_kill(g);
	go_wait(g);
	go_group_free(g);
}
END_TEST

typedef struct {
	go_group *g;
	atomic_int *count;
	int depth;
} tree_arg;

/* Each call starts two more, down to depth 0: go_wait must count the ones
 * started from inside the group. */
static void tree(void *p)
{
	tree_arg *a = p;
	atomic_fetch_add(a->count, 1);
	if (a->depth == 0)
		return;
	tree_arg child = { a->g, a->count, a->depth - 1 };
	go_start(a->g, tree, &child, sizeof child);
	go_start(a->g, tree, &child, sizeof child);
}

START_TEST(TestGoWaitCountsNested)
{
	go_group *g = go_group_make();
	atomic_int count;
	atomic_init(&count, 0);
	tree_arg a = { g, &count, 7 };
	go_start(g, tree, &a, sizeof a);
	go_wait(g);
	ck_assert_msg(atomic_load(&count) == 255,
		      "%d of 255 calls had run when go_wait returned", atomic_load(&count));
	go_kill(g);
	go_wait(g);
	go_group_free(g);
}
END_TEST

typedef struct {
	go_group *g;
	atomic_int *woke;
} sleeper_arg;

static void sleep_long(void *p)
{
	sleeper_arg *a = p;
	if (!go_sleep(a->g, 60 * 1000))
		atomic_fetch_add(a->woke, 1);
}

/* go_kill cuts every sleep short, and go_wait then ends the threads. */
START_TEST(TestGoKillCutsSleepShort)
{
	go_group *g = go_group_make();
	atomic_int woke;
	atomic_init(&woke, 0);
	sleeper_arg a = { g, &woke };
	for (int i = 0; i < 5; i++)
		go_start(g, sleep_long, &a, sizeof a);
	ck_assert(go_sleep(g, 20));
	ck_assert(!go_killed(g));
	int64_t t0 = now_ms();
	go_kill(g);
	go_wait(g);
	ck_assert_msg(now_ms() - t0 < 1000, "go_wait after go_kill took %lld ms: a sleep went on",
		      (long long)(now_ms() - t0));
	ck_assert_int_eq(atomic_load(&woke), 5);
	ck_assert(go_killed(g));
	ck_assert_msg(!go_sleep(g, 1000), "a sleep after go_kill slept");
	go_group_free(g);
}
END_TEST

/* A sleep nobody cuts short lasts its time. */
START_TEST(TestGoSleepLasts)
{
	go_group *g = go_group_make();
	int64_t t0 = now_ms();
	ck_assert(go_sleep(g, 100));
	int64_t took = now_ms() - t0;
	ck_assert_msg(took >= 100, "go_sleep(100) returned after %lld ms", (long long)took);
	/* And in microseconds (the leader's commit notice waits 50 us). */
	int64_t u0 = now_us();
	ck_assert(go_sleep_us(g, 1500));
	int64_t took_us = now_us() - u0;
	ck_assert_msg(took_us >= 1500, "go_sleep_us(1500) returned after %lld us",
		      (long long)took_us);
	go_kill(g);
	ck_assert_msg(!go_sleep_us(g, 1000000), "a sleep after go_kill slept");
	go_wait(g);
	go_group_free(g);
}
END_TEST

typedef struct {
	char *name; /* 16 bytes: the thread's name while the function ran */
} name_arg;

static void report_my_name(void *p)
{
	name_arg *a = p;
	if (pthread_getname_np(pthread_self(), a->name, 16) != 0)
		strcpy(a->name, "(no name)");
}

static void a_function_with_a_long_name(void *p)
{
	report_my_name(p);
}

/* A function's thread carries the function's name (cut to Linux's 15
 * characters), also when the thread ran another function before: the
 * simulator's reports and gdb then say "applier", not "worker_main". */
START_TEST(TestGoNamesThreads)
{
	go_group *g = go_group_make();
	char first[16] = "", second[16] = "", third[16] = "";
	name_arg a = { first };
	ck_assert(go_start(g, report_my_name, &a, sizeof a));
	go_wait(g);
	a.name = second; /* the same, idle thread runs the next one */
	ck_assert(go_start(g, a_function_with_a_long_name, &a, sizeof a));
	go_wait(g);
	a.name = third;
	ck_assert(go_start(g, report_my_name, &a, sizeof a));
	go_wait(g);
	ck_assert_msg(strcmp(first, "report_my_name") == 0,
		      "the thread of report_my_name is named \"%s\"", first);
	ck_assert_msg(strcmp(second, "a_function_with") == 0,
		      "the thread of a_function_with_a_long_name is named \"%s\" "
		      "(want its first 15 characters)", second);
	ck_assert_msg(strcmp(third, "report_my_name") == 0,
		      "a reused thread kept the name \"%s\" of its last function", third);
	go_kill(g);
	go_wait(g);
	go_group_free(g);
}
END_TEST

static void nothing(void *p)
{
	(void)p;
}

/* Nothing starts after go_kill: go_wait could not end it. */
START_TEST(TestGoStartAfterKillRefused)
{
	go_group *g = go_group_make();
	go_kill(g);
	ck_assert_msg(!go_start(g, nothing, NULL, 0), "go_start ran a function after go_kill");
	go_wait(g);
	go_group_free(g);
}
END_TEST

/* Functions that start one after another reuse one thread, as goroutines
 * reuse Go's threads: thousands of calls, a handful of threads. */
typedef struct {
	pthread_mutex_t *mu;
	pthread_t *seen;
	int *nseen;
} who_arg;

static void note_thread(void *p)
{
	who_arg *a = p;
	pthread_t self = pthread_self();
	pthread_mutex_lock(a->mu);
	bool known = false;
	for (int i = 0; i < *a->nseen; i++)
		known |= pthread_equal(a->seen[i], self) != 0;
	if (!known && *a->nseen < 64)
		a->seen[(*a->nseen)++] = self;
	pthread_mutex_unlock(a->mu);
}

START_TEST(TestGoReusesThreads)
{
	go_group *g = go_group_make();
	pthread_mutex_t mu;
	pthread_mutex_init(&mu, NULL);
	pthread_t seen[64];
	int nseen = 0;
	who_arg a = { &mu, seen, &nseen };
	for (int i = 0; i < 2000; i++) {
		go_start(g, note_thread, &a, sizeof a);
		go_wait(g);
	}
	ck_assert_msg(nseen == 1, "2000 calls one after another ran on %d threads", nseen);
	go_kill(g);
	go_wait(g);
	pthread_mutex_destroy(&mu);
	go_group_free(g);
}
END_TEST

static void *wait_main(void *p)
{
	go_wait(p);
	return NULL;
}

/* Several go_waits after a go_kill all return, with the threads joined
 * once. */
START_TEST(TestGoWaitFromMany)
{
	go_group *g = go_group_make();
	atomic_int woke;
	atomic_init(&woke, 0);
	sleeper_arg a = { g, &woke };
	for (int i = 0; i < 3; i++)
		go_start(g, sleep_long, &a, sizeof a);
	go_kill(g);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, wait_main, g);
	go_wait(g);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&woke), 3);
	go_group_free(g);
}
END_TEST

typedef struct {
	go_group *g;
	pthread_t *first, *second;
	atomic_int *order; /* 1 once the first returned */
	int seen_order;
} tail_arg;

static void second_half(void *p)
{
	tail_arg *a = p;
	*a->second = pthread_self();
	a->seen_order = atomic_load(a->order);
	ck_assert_msg(a->seen_order == 1, "the function started after go_returning ran before "
					  "its starter returned");
}

static void first_half(void *p)
{
	tail_arg *a = p;
	*a->first = pthread_self();
	go_returning(a->g);
	go_start(a->g, second_half, a, sizeof *a);
	atomic_store(a->order, 1);
}

/* After go_returning, the next function started runs on the same thread,
 * after the caller returned. */
START_TEST(TestGoReturningRunsNextHere)
{
	go_group *g = go_group_make();
	pthread_t first, second;
	atomic_int order;
	atomic_init(&order, 0);
	tail_arg a = { g, &first, &second, &order, 0 };
	go_start(g, first_half, &a, sizeof a);
	go_wait(g);
	ck_assert_msg(pthread_equal(first, second), "the next function ran on another thread");
	go_kill(g);
	go_wait(g);
	go_group_free(g);
}
END_TEST

static const test_entry goroutine_tests[] = {
	TEST_ENTRY(TestGoRunsEachOnce, 30),
	TEST_ENTRY(TestGoCopiesBigArgument, 10),
	TEST_ENTRY(TestGoWaitCountsNested, 10),
	TEST_ENTRY(TestGoKillCutsSleepShort, 10),
	TEST_ENTRY(TestGoSleepLasts, 10),
	TEST_ENTRY(TestGoNamesThreads, 10),
	TEST_ENTRY(TestGoStartAfterKillRefused, 10),
	TEST_ENTRY(TestGoReusesThreads, 30),
	TEST_ENTRY(TestGoWaitFromMany, 10),
	TEST_ENTRY(TestGoReturningRunsNextHere, 10),
};
TEST_GROUP(goroutine, goroutine_tests);
