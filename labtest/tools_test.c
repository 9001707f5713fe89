/* tools_test.c: a test for the tools' own tests.  It passes, unless
 * DSTEST_SELFTEST_FAIL=1 asks it to fail, so tools/test_tools.py can check
 * how dstest reports a failed run and keeps its log, or DSTEST_SELFTEST_HANG=1
 * asks it to hang on a mutex, for the report at the test's time limit. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "../util.h"
#include "registry.h"

static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;

static void *hang_on_mutex(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hang_mu); /* main holds it and joins us: never */
	pthread_mutex_unlock(&hang_mu);
	return NULL;
}

static void hang(void)
{
	pthread_t t;
	pthread_mutex_lock(&hang_mu);
	pthread_create(&t, NULL, hang_on_mutex, NULL);
	pthread_join(t, NULL);
	pthread_mutex_unlock(&hang_mu);
}

START_TEST(TestToolsSelfCheck)
{
	Debug(dTest, "Test (tools): self check");
	Debug(dInfo, "S0 a line for the log");
	const char *fail = getenv("DSTEST_SELFTEST_FAIL");
	ck_assert_msg(fail == NULL || fail[0] != '1', "failing on purpose (DSTEST_SELFTEST_FAIL=1)");
	const char *h = getenv("DSTEST_SELFTEST_HANG");
	if (h && h[0] == '1')
		hang();
}
END_TEST

static const test_entry tools_tests[] = {
	TEST_ENTRY(TestToolsSelfCheck, 10),
};
TEST_GROUP(tools, tools_tests);
