/* main.c: the test runner, `go test -run RUN` for our tests.
 *
 * RUN (first argument, or the RUN environment variable) is a POSIX
 * extended regular expression matched anywhere in a test's name.  Only the
 * matching tests are given to Check, each in a TCase of its own, run in
 * fork mode (one process per test).  A RUN that matches nothing is an
 * error, never a pass.  No thread is started here before Check forks.
 *
 * `tests --list [RUN]` prints the names RUN matches, one a line. */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* The decoder tests test this project's raft.c; a student's tree (make
 * handout) has neither them nor the decoder. */
static const test_group *const groups[] = {
	&labgob, &chan, &persister, &labrpc,
#ifdef WITH_RAFT_PERSIST_TEST
	&raft_persist,
#endif
	&raft, &tools,
#ifdef LAB_SIM
	&dsim, /* the simulator's own tests, in the sim build only */
#endif
};

int main(int argc, char **argv)
{
	/* Line-buffered, so a test's lines survive if Check kills it. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	bool list = argc > 1 && strcmp(argv[1], "--list") == 0;
	if (list) {
		argv++;
		argc--;
	}
	const char *run = argc > 1 ? argv[1] : getenv("RUN");
	if (run == NULL)
		run = "";
	regex_t re;
	int rc = regcomp(&re, run, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[256];
		regerror(rc, &re, msg, sizeof msg);
		fprintf(stderr, "RUN=%s: bad regular expression: %s\n", run, msg);
		return 2;
	}

	SRunner *sr = NULL;
	int matched = 0;
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
		Suite *s = NULL;
		for (size_t i = 0; i < groups[g]->ntests; i++) {
			const test_entry *t = &groups[g]->tests[i];
			if (regexec(&re, t->test->name, 0, NULL, 0) != 0)
				continue;
			matched++;
			if (list) {
				printf("%s\n", t->test->name);
				continue;
			}
			if (s == NULL)
				s = suite_create(groups[g]->suite);
			TCase *tc = tcase_create(t->test->name);
			tcase_set_timeout(tc, t->timeout_s);
			tcase_add_test(tc, t->test);
			suite_add_tcase(s, tc);
		}
		if (s && sr == NULL)
			sr = srunner_create(s);
		else if (s)
			srunner_add_suite(sr, s);
	}
	regfree(&re);
	if (list)
		return matched ? 0 : 1;
	if (matched == 0) {
		fprintf(stderr, "testing: RUN=%s matches no test: nothing was run\n", run);
		return 1;
	}

	/* Fork mode unless the user asks otherwise (CK_FORK=no, for gdb). */
	if (getenv("CK_FORK") == NULL)
		srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	int ran = srunner_ntests_run(sr);
	srunner_free(sr);
	if (ran == 0) {
		fprintf(stderr, "testing: no test ran\n");
		return 1;
	}
	return failed == 0 ? 0 : 1;
}
