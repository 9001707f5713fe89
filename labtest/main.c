/* main.c: the test runner, `go test -run RUN` for our tests.
 *
 * RUN (first argument, or the RUN environment variable) is a POSIX
 * extended regular expression matched anywhere in a test's name (or in
 * "suite/name": RUN=hardening runs that suite); the
 * Go/RE2 spellings \d, \w, \s (and \D, \W, \S) are accepted too.  A RUN
 * that matches nothing is an error, never a pass.
 *
 * Each matching test runs in a process of its own (Check's fork mode)
 * with its own timeout, one at a time, in the registry's order.  A test
 * that fails is reported at once, as go test does:
 *
 *   --- FAIL: TestInitialElection2A (5.02s)
 *       test_test.c:43: config.c:577: expected one leader, got none
 *       seed: SEED=1234
 *
 * and the run ends with Check's summary, then go test's last line
 * (`ok  \traft\t263.4s` or `FAIL\traft\t263.4s`).
 *
 * The environment: COUNT=N runs the list N times (go test -count),
 * FAILFAST=1 stops at the first failure, SEED repeats a run's random
 * choices (each test otherwise gets a fresh one, which a failure prints),
 * VERBOSE turns the Debug log on.  A value that is not a number is refused
 * before any test runs (exit 2).  No thread is started here before Check
 * forks.
 *
 * `tests --list [RUN]` prints the names RUN matches, one a line. */
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util.h"
#include "registry.h"
#include "report.h"
#ifdef LAB_SIM
#include "../dsim/dsim.h"
#endif

/* The decoder tests test this project's raft.c; a student's tree (make
 * handout) has neither them nor the decoder. */
static const test_group *const groups[] = {
	&labgob, &chan, &goroutine, &persister, &labrpc,
#ifdef WITH_RAFT_PERSIST_TEST
	&raft_persist,
#endif
	&raft,
	&kill_test, /* what Kill must do in C (a student's tree has them too) */
	&paper, /* beyond the lab: each rule of the paper */
	&kvraft, /* lab 3 */
#ifdef WITH_HARDENING_TEST
	&hardening,
#endif
#ifdef WITH_TESTER_TEST
	&tester, /* the tester's and labrpc's regression tests */
#endif
	&tools,
	&porcupine, /* the linearizability checker's own tests */
#ifdef LAB_SIM
	&dsim, /* the simulator's own tests, in the sim build only */
#endif
};
#define NGROUPS (sizeof groups / sizeof groups[0])

typedef struct {
	int run, failed, errors;
	char **lines; /* Check's line for each test that did not pass */
	int nlines;
} tally;

/* ---- the environment ---- */

/* An unsigned decimal number, all of s; false otherwise. */
static bool parse_u64(const char *s, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*v = n;
	return true;
}

/* The variable's value, or NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* Refuse (exit 2) a variable that must be a number in [min, max]. */
static uint64_t env_number(const char *name, uint64_t dflt, uint64_t min, uint64_t max,
			   const char *what)
{
	const char *v = env(name);
	uint64_t n;
	if (v == NULL)
		return dflt;
	if (!parse_u64(v, &n) || n < min || n > max) {
		fprintf(stderr, "testing: %s=%s: %s\n", name, v, what);
		exit(2);
	}
	return n;
}

/* ---- RUN ---- */

/* RUN in POSIX ERE: \d, \w, \s and their negations become bracket
 * expressions (inside brackets, the classes they stand for).  The result
 * is malloc'd. */
static char *translate_run(const char *run)
{
	static const struct {
		char esc;
		const char *outside, *inside;
	} classes[] = {
		{ 'd', "[0-9]", "0-9" },
		{ 'D', "[^0-9]", NULL },
		{ 'w', "[[:alnum:]_]", "[:alnum:]_" },
		{ 'W', "[^[:alnum:]_]", NULL },
		{ 's', "[[:space:]]", "[:space:]" },
		{ 'S', "[^[:space:]]", NULL },
	};
	size_t cap = strlen(run) * 14 + 1;
	char *out = xmalloc(cap), *o = out;
	bool in_bracket = false;
	for (const char *p = run; *p; p++) {
		if (*p == '\\' && p[1]) {
			const char *with = NULL;
			for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
				if (classes[i].esc == p[1])
					with = in_bracket ? classes[i].inside : classes[i].outside;
			if (with) {
				o += sprintf(o, "%s", with);
				p++;
				continue;
			}
			if (!in_bracket) { /* keep other escapes as they are */
				*o++ = *p++;
				*o++ = *p;
				continue;
			}
		}
		if (!in_bracket && *p == '[') {
			in_bracket = true;
			*o++ = *p;
			if (p[1] == '^')
				*o++ = *++p;
			if (p[1] == ']')
				*o++ = *++p; /* a ']' first is literal */
			continue;
		}
		if (in_bracket && *p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *end = strstr(p + 2, (char[]){ p[1], ']', '\0' });
			if (end) { /* [:alpha:] and the like, whole */
				size_t n = (size_t)(end + 2 - p);
				memcpy(o, p, n);
				o += n;
				p = end + 1;
				continue;
			}
		}
		if (in_bracket && *p == ']')
			in_bracket = false;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* ---- running one test ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void tally_line(tally *t, const char *line)
{
	t->lines = xrealloc(t->lines, (size_t)(t->nlines + 1) * sizeof *t->lines);
	t->lines[t->nlines++] = xstrdup(line);
}

/* go test's block for a test that did not pass, on out. */
static void write_failure(FILE *out, const char *name, double secs, TestResult *tr,
			  uint64_t seed)
{
	fprintf(out, "--- FAIL: %s (%.2fs)\n", name, secs);
	char site[128];
	int line;
	const char *file = base_name(tr_lfile(tr));
	fprintf(out, "    ");
	/* A failure inside a helper also names the call in the test (a
	 * helper of the same file too, when the lines differ). */
	if (report_failed_at(site, sizeof site, &line) &&
	    (strcmp(base_name(site), file) != 0 || line != tr_lno(tr)))
		fprintf(out, "%s:%d: ", base_name(site), line);
	fprintf(out, "%s:%d: %s%s\n", file, tr_lno(tr),
		tr_rtype(tr) == CK_ERROR ? "(after this point) " : "", tr_msg(tr));
	fprintf(out, "    seed: SEED=%" PRIu64 "\n", seed);
}

/* Do stdout and stderr go to different places (VERBOSE=1 ... 2>run.log)? */
static bool log_apart(void)
{
	struct stat o, e;
	return fstat(1, &o) == 0 && fstat(2, &e) == 0 &&
	       (o.st_dev != e.st_dev || o.st_ino != e.st_ino);
}

/* The failure on stdout, as go test prints it; and, when the Debug log
 * goes to a file of its own, in the log too, so that the log (and
 * dslogs' page of it) says why the run failed. */
static void print_failure(const char *name, double secs, TestResult *tr, uint64_t seed)
{
	write_failure(stdout, name, secs, tr, seed);
	if (debug_verbosity() >= 1 && log_apart())
		write_failure(stderr, name, secs, tr, seed);
}

/* Microseconds of wall time, for the runner's own figures.  In the sim
 * build every clock our code reads is virtual, and the runner's process
 * never sleeps, so it asks the simulator for the real time. */
static int64_t runner_clock_us(void)
{
#ifdef LAB_SIM
	dsim_stats st;
	dsim_get_stats(&st);
	return st.wall_ns / 1000;
#else
	return now_us();
#endif
}

/* ---- the test's time limit, in real time ----
 *
 * A test that passes the lab's limit (its Check timeout) prints each
 * thread's backtrace before its process ends, as go test's -timeout
 * prints every goroutine, and how to try it in simulation.  An alarm in
 * the test's own process does it (a signal handler: no thread is started
 * for it); Check's timeout, a little later, stays as the last resort.
 * The sim build counts the limit in virtual time instead (dsim.c). */
#ifndef LAB_SIM
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Time gdb gets to print the backtraces before Check kills the process. */
#define TIMEOUT_REPORT_GRACE_S 30

static const char *current_test;
static char timeout_headline[128], timeout_replay[256], timeout_gdb[256];

/* Only async-signal-safe calls: write, prctl, fork, execve, waitpid. */
static void timeout_report(int sig)
{
	(void)sig;
	if (write(2, timeout_headline, strlen(timeout_headline)) < 0) {
	}
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0); /* gdb, our child, may attach */
	pid_t pid = fork();
	if (pid == 0) {
		char *const argv[] = { "/bin/sh", "-c", timeout_gdb, NULL };
		dup2(2, 1);
		execve("/bin/sh", argv, (char *const[]){ "PATH=/usr/bin:/bin", NULL });
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (write(2, timeout_replay, strlen(timeout_replay)) < 0) {
	}
	_exit(2);
}

/* The limit, as Check applies it (CK_TIMEOUT_MULTIPLIER included). */
static double test_limit_s(const test_entry *t)
{
	const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
	double mult = m && *m ? strtod(m, NULL) : 1.0;
	return t->timeout_s * (mult > 0 ? mult : 1.0);
}

static const test_entry *current_entry;

/* A checked fixture: runs in the test's process, before the test. */
static void arm_timeout_report(void)
{
	double limit = test_limit_s(current_entry);
	const char *seed = getenv("SEED");
	snprintf(timeout_headline, sizeof timeout_headline,
		 "\npanic: test timed out after %.0f s: %s\n\nEach thread's backtrace (gdb):\n",
		 limit, current_test);
	snprintf(timeout_gdb, sizeof timeout_gdb,
		 "gdb -batch -nx -p %d -ex 'thread apply all bt' 2>/dev/null | "
		 "grep -E '^(Thread |#)' || echo '(gdb could not attach: no backtraces)'",
		 (int)getpid());
	snprintf(timeout_replay, sizeof timeout_replay,
		 "\nTo try it in simulation (the virtual clock and the lock rule check "
		 "find most hangs at once):\n    SEED=%s make sim RUN='^%s$'\n",
		 seed ? seed : "0", current_test);
	struct sigaction sa = { .sa_handler = timeout_report };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)(limit + 0.5));
}

static void disarm_timeout_report(void)
{
	alarm(0);
}

/* Check's own timeout: the limit, and time for the report after it. */
static void set_timeouts(TCase *tc, const test_entry *t)
{
	current_test = t->test->name;
	current_entry = t;
	tcase_set_timeout(tc, t->timeout_s + TIMEOUT_REPORT_GRACE_S);
	tcase_add_checked_fixture(tc, arm_timeout_report, disarm_timeout_report);
}
#else
static void set_timeouts(TCase *tc, const test_entry *t)
{
	tcase_set_timeout(tc, t->timeout_s);
}
#endif

/* Run one test in a process of its own; true when it passed. */
static bool run_test(const test_group *g, const test_entry *t, uint64_t seed, tally *tl)
{
	/* The tester reads its seed from SEED, so the runner knows it. */
	char buf[32];
	snprintf(buf, sizeof buf, "%" PRIu64, seed);
	setenv("SEED", buf, 1);
	report_reset();

	Suite *s = suite_create(g->suite);
	TCase *tc = tcase_create(t->test->name);
	set_timeouts(tc, t);
	tcase_add_test(tc, t->test);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	/* Fork mode unless the user asks otherwise (CK_FORK=no, for gdb). */
	if (getenv("CK_FORK") == NULL)
		srunner_set_fork_status(sr, CK_FORK);
	int64_t t0 = runner_clock_us();
#ifdef LAB_SIM
	/* The test's limit in virtual time: the lab's 120 s, or a test of
	 * ours's own when it is longer (TestLeaderStaysUp runs 120 s). */
	dsim_restart_time_limit(t->timeout_s > LAB_TEST_TIMEOUT ? t->timeout_s : LAB_TEST_TIMEOUT);
#endif
	srunner_run_all(sr, CK_SILENT);
	double secs = (double)(runner_clock_us() - t0) / 1e6;

	bool passed = true;
	TestResult **res = srunner_results(sr);
	for (int i = 0; i < srunner_ntests_run(sr); i++) {
		TestResult *tr = res[i];
		tl->run++;
		if (tr_rtype(tr) == CK_PASS)
			continue;
		passed = false;
		if (tr_rtype(tr) == CK_ERROR)
			tl->errors++;
		else
			tl->failed++;
		print_failure(t->test->name, secs, tr, seed);
		/* Check's own line, for the summary. */
		char line[4096];
		snprintf(line, sizeof line, "%s:%d:%c:%s:%s:0: %s%s", tr_lfile(tr), tr_lno(tr),
			 tr_rtype(tr) == CK_ERROR ? 'E' : 'F', tr_tcname(tr), t->test->name,
			 tr_rtype(tr) == CK_ERROR ? "(after this point) " : "", tr_msg(tr));
		tally_line(tl, line);
	}
	free(res);
	srunner_free(sr);
	return passed;
}

/* ---- main ---- */

/* RUN matches the test's name, or "suite/name" (RUN=hardening runs that
 * suite; RUN='2B$' still picks the same tests, as no suite name ends so). */
static bool selected(const regex_t *re, const char *suite, const char *name)
{
	char full[256];
	snprintf(full, sizeof full, "%s/%s", suite, name);
	return regexec(re, name, 0, NULL, 0) == 0 || regexec(re, full, 0, NULL, 0) == 0;
}

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
	char *ere = translate_run(run);
	regex_t re;
	int rc = regcomp(&re, ere, REG_EXTENDED | REG_NOSUB);
	free(ere);
	if (rc != 0) {
		char msg[256];
		regerror(rc, &re, msg, sizeof msg);
		fprintf(stderr, "testing: RUN=%s: bad regular expression: %s\n", run, msg);
		return 2;
	}

	/* Everything from the environment is checked before any test runs. */
	uint64_t count = env_number("COUNT", 1, 1, 1000000, "want a count of 1 or more");
	bool failfast = env_number("FAILFAST", 0, 0, 1, "want 0 or 1") == 1;
	env_number("VERBOSE", 0, 0, 1000, "want a verbosity level, 0 to 1000");
	const char *seed_env = env("SEED");
	uint64_t seed = env_number("SEED", 0, 0, UINT64_MAX,
				   "want the unsigned number a failed run printed");

	const test_entry *todo[512];
	const test_group *todo_group[512];
	int ntodo = 0;
	for (size_t g = 0; g < NGROUPS; g++) {
		for (size_t i = 0; i < groups[g]->ntests && ntodo < 512; i++) {
			const test_entry *t = &groups[g]->tests[i];
			if (!selected(&re, groups[g]->suite, t->test->name))
				continue;
			if (list)
				printf("%s\n", t->test->name);
			todo_group[ntodo] = groups[g];
			todo[ntodo++] = t;
		}
	}
	regfree(&re);
	if (list)
		return ntodo ? 0 : 1;
	if (ntodo == 0) {
		fprintf(stderr, "testing: RUN=%s matches no test: nothing was run\n", run);
		return 1;
	}

	/* Check's header: every suite that has a test to run. */
	printf("Running suite(s):");
	for (int i = 0; i < ntodo; i++)
		if (i == 0 || todo_group[i] != todo_group[i - 1])
			printf(" %s\n", todo_group[i]->suite);

	report_init();
	tally tl = { 0 };
	int64_t t0 = runner_clock_us();
	bool stop = false;
	for (uint64_t round = 0; round < count && !stop; round++) {
		for (int i = 0; i < ntodo && !stop; i++) {
			uint64_t s = seed_env ? seed : random_seed();
			stop = !run_test(todo_group[i], todo[i], s, &tl) && failfast;
		}
	}
	double secs = (double)(runner_clock_us() - t0) / 1e6;

	/* Check's summary, as srunner_print() writes it. */
	int bad = tl.failed + tl.errors;
	int percent = bad == 0 ? 100 : tl.run == 0 ? 0 : (int)((float)(tl.run - bad) / (float)tl.run * 100);
	printf("%d%%: Checks: %d, Failures: %d, Errors: %d\n", percent, tl.run, tl.failed, tl.errors);
	for (int i = 0; i < tl.nlines; i++) {
		printf("%s\n", tl.lines[i]);
		free(tl.lines[i]);
	}
	free(tl.lines);
	if (tl.run == 0) {
		fprintf(stderr, "testing: no test ran\n");
		return 1;
	}
	/* go test's last line. */
	printf("%s\traft\t%.1fs\n", bad == 0 ? "ok  " : "FAIL", secs);
	return bad == 0 ? 0 : 1;
}
