/* tools_test.c: a test for the tools' own tests.  It passes, unless
 * DSTEST_SELFTEST_FAIL=1 asks it to fail, so tools/test_tools.py can check
 * how dstest reports a failed run and keeps its log. */
#include <check.h>
#include <stdlib.h>

#include "../util.h"
#include "registry.h"

START_TEST(TestToolsSelfCheck)
{
	Debug(dTest, "Test (tools): self check");
	Debug(dInfo, "S0 a line for the log");
	const char *fail = getenv("DSTEST_SELFTEST_FAIL");
	ck_assert_msg(fail == NULL || fail[0] != '1', "failing on purpose (DSTEST_SELFTEST_FAIL=1)");
}
END_TEST

static const test_entry tools_tests[] = {
	TEST_ENTRY(TestToolsSelfCheck, 10),
};
TEST_GROUP(tools, tools_tests);
