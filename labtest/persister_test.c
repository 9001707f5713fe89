/* persister_test.c: Save replaces both parts at once, NULL erases the
 * snapshot, Copy is independent, reads are copies. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../persister.h"
#include "registry.h"

START_TEST(TestPersisterSaveRead)
{
	Persister *ps = persister_make();
	size_t n;
	uint8_t *p = persister_read_raft_state(ps, &n);
	ck_assert_int_eq(n, 0);
	free(p);

	persister_save(ps, "state", 5, "snap", 4);
	ck_assert_int_eq(persister_raft_state_size(ps), 5);
	ck_assert_int_eq(persister_snapshot_size(ps), 4);
	p = persister_read_snapshot(ps, &n);
	ck_assert(n == 4 && memcmp(p, "snap", 4) == 0);
	p[0] = 'X'; /* a copy: the stored bytes do not change */
	free(p);
	p = persister_read_snapshot(ps, &n);
	ck_assert(memcmp(p, "snap", 4) == 0);
	free(p);

	/* Save(x, nil) erases the snapshot, as in Go. */
	persister_save(ps, "state2", 6, NULL, 0);
	ck_assert_int_eq(persister_raft_state_size(ps), 6);
	ck_assert_int_eq(persister_snapshot_size(ps), 0);
	persister_release(ps);
}
END_TEST

START_TEST(TestPersisterCopy)
{
	Persister *ps = persister_make();
	persister_save(ps, "a", 1, "b", 1);
	Persister *cp = persister_copy(ps);
	persister_save(ps, "zz", 2, NULL, 0);
	size_t n;
	uint8_t *p = persister_read_raft_state(cp, &n);
	ck_assert(n == 1 && p[0] == 'a');
	free(p);
	ck_assert_int_eq(persister_snapshot_size(cp), 1);
	persister_retain(cp);
	persister_release(cp);
	persister_release(cp);
	persister_release(ps);
}
END_TEST

static void *saver(void *p)
{
	Persister *ps = p;
	char buf[64];
	for (int i = 0; i < 2000; i++) {
		memset(buf, 'a' + i % 26, sizeof buf);
		persister_save(ps, buf, (size_t)(i % 64), buf, (size_t)(i % 64));
		size_t n1, n2;
		uint8_t *a = persister_read_raft_state(ps, &n1);
		uint8_t *b = persister_read_snapshot(ps, &n2);
		free(a);
		free(b);
	}
	return NULL;
}

START_TEST(TestPersisterConcurrent)
{
	Persister *ps = persister_make();
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, saver, ps);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	persister_release(ps);
}
END_TEST

static const test_entry persister_tests[] = {
	TEST_ENTRY(TestPersisterSaveRead, 10),
	TEST_ENTRY(TestPersisterCopy, 10),
	TEST_ENTRY(TestPersisterConcurrent, 60),
};
TEST_GROUP(persister, persister_tests);
