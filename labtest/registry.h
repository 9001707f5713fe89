/* registry.h: the list of every test the runner knows, by group.
 *
 * Each test is a Check test function (START_TEST) that the runner puts in
 * a TCase of its own, named after the test, so RUN can pick single tests
 * and each runs in its own forked process with its own timeout. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <check.h>
#include <stddef.h>

/* Check's START_TEST also defines a pointer to the test, which a static
 * table cannot use; ours defines only what the table needs. */
#undef START_TEST
#define START_TEST(name)                                                        \
	static void name##_fn(int _i CK_ATTRIBUTE_UNUSED);                      \
	static const TTest name##_ttest = { #name, name##_fn, __FILE__, __LINE__ }; \
	static void name##_fn(int _i CK_ATTRIBUTE_UNUSED)

typedef struct {
	const TTest *test;
	double timeout_s; /* Check's per-test limit (before CK_TIMEOUT_MULTIPLIER) */
} test_entry;

#define TEST_ENTRY(fn, secs) { &fn##_ttest, (secs) }

typedef struct {
	const char *suite;
	const test_entry *tests;
	size_t ntests;
} test_group;

#define TEST_GROUP(name, array) \
	const test_group name = { #name, array, sizeof(array) / sizeof((array)[0]) }

/* The lab's limit on a single test. */
#define LAB_TEST_TIMEOUT 120.0

extern const test_group labgob, chan, goroutine, persister, labrpc, raft_persist, raft, kill_test, paper,
	hardening, tester, tools, dsim, porcupine, kvraft;

#endif
