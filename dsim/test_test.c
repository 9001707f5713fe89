/* test_test.c: tests of the deterministic simulator itself (make sim only).
 *
 * Virtual time, exact replay by seed (and SIM_CHECK's check of it, with
 * both schedulers), the deadlock report on a planted
 * 2D deadlock, the watchdog on a spin that never yields, and refused
 * settings.  Programs that must fail run as child processes: this very
 * test binary again, or the demos built beside it. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../labtest/registry.h"
#include "../util.h"
#include "dsim.h"

extern char **environ;

/* Real wall time, through the simulator's statistics. */
static double wall_s(void)
{
	dsim_stats st;
	dsim_get_stats(&st);
	return (double)st.wall_ns / 1e9;
}

/* The path of a program built beside this test binary. */
static void sibling(const char *name, char *out, size_t n)
{
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	ck_assert_msg(len > 0, "cannot read /proc/self/exe");
	self[len] = '\0';
	snprintf(out, n, "%s/%s", dirname(self), name);
}

typedef struct {
	int status;        /* exit status, or 128 + signal */
	char *out;         /* stdout and stderr together */
	double wall;
} run_result;

/* Run argv with env_extra ("NAME=value", NULL-terminated) added to our
 * environment, output to a temporary file read back into r->out. */
static void run(char *const argv[], const char *const env_extra[], run_result *r)
{
	char path[] = "/tmp/dsim-test-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp failed");
	unlink(path);

	size_t n = 0, k = 0;
	while (environ[n])
		n++;
	while (env_extra[k])
		k++;
	char **env = xcalloc(n + k + 1, sizeof *env);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		bool overridden = false;
		for (size_t j = 0; j < k; j++) {
			size_t len = strcspn(env_extra[j], "=") + 1;
			overridden |= strncmp(environ[i], env_extra[j], len) == 0;
		}
		if (!overridden)
			env[m++] = environ[i];
	}
	for (size_t j = 0; j < k; j++)
		env[m++] = (char *)env_extra[j];

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_adddup2(&fa, fd, 2);
	double t0 = wall_s();
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
	ck_assert_msg(rc == 0, "cannot start %s", argv[0]);
	int st;
	waitpid(pid, &st, 0);
	r->wall = wall_s() - t0;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	posix_spawn_file_actions_destroy(&fa);
	free(env);

	off_t size = lseek(fd, 0, SEEK_END);
	r->out = xcalloc(1, (size_t)size + 1);
	ck_assert(pread(fd, r->out, (size_t)size, 0) == size);
	close(fd);
}

static void expect_in(const run_result *r, const char *what)
{
	ck_assert_msg(strstr(r->out, what) != NULL, "expected \"%s\" in the output:\n%s", what,
		      r->out);
}

/* Sleeps cost virtual time only; timed waits end at their virtual
 * deadline. */
START_TEST(TestSimVirtualTime)
{
	double w0 = wall_s();
	int64_t t0 = now_ms();
	sleep_ms(10 * 1000);
	ck_assert_int_eq(now_ms() - t0, 10 * 1000);

	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	cond_init_monotonic(&cv);
	struct timespec dl;
	deadline_after_ms(&dl, 2500);
	pthread_mutex_lock(&mu);
	int rc = pthread_cond_timedwait(&cv, &mu, &dl);
	pthread_mutex_unlock(&mu);
	ck_assert_int_eq(rc, ETIMEDOUT);
	int64_t waited = now_ms() - t0 - 10 * 1000;
	ck_assert_msg(waited >= 2500 && waited <= 2501, "timed wait took %lld ms",
		      (long long)waited);
	ck_assert_msg(wall_s() - w0 < 0.5, "12.5 virtual seconds took %.2f s of wall time",
		      wall_s() - w0);
}
END_TEST

typedef struct {
	pthread_barrier_t *b;
	int *phase;
	int serial;
} barrier_arg;

static void *barrier_main(void *p)
{
	barrier_arg *a = p;
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(a->phase[0], round);
		if (pthread_barrier_wait(a->b) == PTHREAD_BARRIER_SERIAL_THREAD) {
			a->serial++;
			a->phase[0]++;
		}
		pthread_barrier_wait(a->b);
	}
	return NULL;
}

/* Barriers are simulated too: nobody passes before all have arrived. */
START_TEST(TestSimBarrier)
{
	enum { N = 4 };
	pthread_barrier_t b;
	pthread_barrier_init(&b, NULL, N);
	int phase = 0;
	barrier_arg args[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		args[i] = (barrier_arg){ &b, &phase, 0 };
		pthread_create(&th[i], NULL, barrier_main, &args[i]);
	}
	int serials = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		serials += args[i].serial;
	}
	ck_assert_int_eq(phase, 3);
	ck_assert_int_eq(serials, 3);
	pthread_barrier_destroy(&b);
}
END_TEST

/* The same seed gives a byte-identical VERBOSE=1 log, timestamps
 * included; another seed gives another schedule. */
START_TEST(TestSimReplay)
{
	char self[PATH_MAX];
	sibling("tests", self, sizeof self);
	char *const argv[] = { self, "^TestReElection2A$", NULL };
	const char *const env_a[] = { "SEED=4242", "VERBOSE=1", "CK_FORK=yes", NULL };
	const char *const env_b[] = { "SEED=4243", "VERBOSE=1", "CK_FORK=yes", NULL };
	run_result a1, a2, b;
	run(argv, env_a, &a1);
	run(argv, env_a, &a2);
	run(argv, env_b, &b);
	ck_assert_msg(a1.status == 0, "the run failed:\n%s", a1.out);
	expect_in(&a1, "LEAD");
	/* The statistics line carries wall time, which differs: drop it. */
	char *s1 = strstr(a1.out, "  ... sim:"), *s2 = strstr(a2.out, "  ... sim:");
	ck_assert(s1 && s2);
	*s1 = *s2 = '\0';
	ck_assert_msg(strcmp(a1.out, a2.out) == 0, "two runs with SEED=4242 differ");
	char *s3 = strstr(b.out, "  ... sim:");
	if (s3)
		*s3 = '\0';
	ck_assert_msg(strcmp(a1.out, b.out) != 0, "SEED=4242 and SEED=4243 gave the same run");
	free(a1.out);
	free(a2.out);
	free(b.out);
}
END_TEST

/* SIM_CHECK=1 runs a seed twice and finds the two runs the same, with
 * either scheduler; and PCT's schedule is not the random walk's. */
START_TEST(TestSimCheck)
{
	char self[PATH_MAX];
	sibling("tests", self, sizeof self);
	char *const argv[] = { self, "^TestReElection2A$", NULL };
	const char *const env_random[] = { "SEED=77", "SIM_CHECK=1", "CK_FORK=yes", NULL };
	const char *const env_pct[] = { "SEED=77", "SIM_CHECK=1", "SIM_SCHED=pct", "CK_FORK=yes",
					NULL };
	run_result r, p;
	run(argv, env_random, &r);
	run(argv, env_pct, &p);
	ck_assert_msg(r.status == 0, "SIM_CHECK=1 failed:\n%s", r.out);
	ck_assert_msg(p.status == 0, "SIM_CHECK=1 SIM_SCHED=pct failed:\n%s", p.out);
	expect_in(&r, "dsim: SIM_CHECK: SEED=77: both runs the same");
	expect_in(&p, "dsim: SIM_CHECK: SEED=77: both runs the same");
	char *h1 = strstr(r.out, "sim schedule: "), *h2 = strstr(p.out, "sim schedule: ");
	ck_assert_msg(h1 && h2, "no schedule hash:\n%s\n%s", r.out, p.out);
	ck_assert_msg(strncmp(h1, h2, 30) != 0, "pct and random gave the same schedule");
	free(r.out);
	free(p.out);
}
END_TEST

/* The classic 2D deadlock is reported at once, with Go's words and what
 * each thread waits on, whatever the schedule. */
START_TEST(TestSimDeadlockReported)
{
	char prog[PATH_MAX];
	sibling("dsim_deadlock_demo", prog, sizeof prog);
	char *const argv[] = { prog, NULL };
	for (int seed = 1; seed <= 5; seed++) {
		char seed_env[32], seed_line[32];
		snprintf(seed_env, sizeof seed_env, "SEED=%d", seed);
		snprintf(seed_line, sizeof seed_line, "seed: SEED=%d)", seed);
		const char *const env[] = { seed_env, NULL };
		run_result r;
		run(argv, env, &r);
		ck_assert_msg(r.status == 2, "%s: exit status %d, expected 2:\n%s", seed_env,
			      r.status, r.out);
		expect_in(&r, "all threads are asleep - deadlock!");
		expect_in(&r, "[main]: waits to join thread 1 (applier)");
		expect_in(&r, "[applier]: waits on a channel (chan_send)");
		expect_in(&r, "holds mutex");
		expect_in(&r, "[service]: waits for mutex");
		expect_in(&r, "held by thread 1 (applier)");
		expect_in(&r, seed_line);
		ck_assert_msg(r.wall < 1.0, "the report took %.2f s", r.wall);
		free(r.out);
	}
}
END_TEST

/* A thread that spins without a synchronization point is named and the
 * run fails, instead of hanging. */
START_TEST(TestSimWatchdog)
{
	char prog[PATH_MAX];
	sibling("dsim_spin_demo", prog, sizeof prog);
	char *const argv[] = { prog, NULL };
	const char *const env[] = { "SIM_WATCHDOG=1", NULL };
	run_result r;
	run(argv, env, &r);
	ck_assert_msg(r.status == 3, "exit status %d, expected 3:\n%s", r.status, r.out);
	expect_in(&r, "thread 0 [main] has run for 1 s of wall time without reaching a synchronization point");
	ck_assert_msg(r.wall < 10.0, "the watchdog took %.2f s", r.wall);
	free(r.out);
}
END_TEST

/* Malformed SEED and unknown SIM_ settings are refused before any test. */
START_TEST(TestSimBadSettings)
{
	char self[PATH_MAX];
	sibling("tests", self, sizeof self);
	char *const argv[] = { self, "^TestSimVirtualTime$", NULL };
	static const char *const cases[][2] = {
		{ "SEED=abc", "SEED=abc: expected a decimal number" },
		{ "SEED=-5", "SEED=-5: expected a decimal number" },
		{ "SIM_BOGUS=1", "unknown setting SIM_BOGUS" },
		{ "SIM_WATCHDOG=0", "SIM_WATCHDOG=0: expected 1..86400 seconds" },
		{ "SIM_STATS=yes", "SIM_STATS=yes: expected 0 or 1" },
		{ "SIM_SCHED=fifo", "SIM_SCHED=fifo: expected random or pct" },
		{ "SIM_PCT_DEPTH=0", "SIM_PCT_DEPTH=0: expected 1..16" },
		{ "SIM_PCT_STEPS=x", "SIM_PCT_STEPS=x: expected a decimal number" },
		{ "SIM_CHECK=2", "SIM_CHECK=2: expected 0 or 1" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *const env[] = { cases[i][0], NULL };
		run_result r;
		run(argv, env, &r);
		ck_assert_msg(r.status == 2, "%s: exit status %d, expected 2:\n%s", cases[i][0],
			      r.status, r.out);
		expect_in(&r, cases[i][1]);
		ck_assert_msg(strstr(r.out, "Checks:") == NULL, "%s: tests ran:\n%s", cases[i][0],
			      r.out);
		free(r.out);
	}
}
END_TEST

static const test_entry dsim_tests[] = {
	TEST_ENTRY(TestSimVirtualTime, 10),
	TEST_ENTRY(TestSimBarrier, 10),
	TEST_ENTRY(TestSimReplay, 60),
	TEST_ENTRY(TestSimCheck, 60),
	TEST_ENTRY(TestSimDeadlockReported, 10),
	TEST_ENTRY(TestSimWatchdog, 20),
	TEST_ENTRY(TestSimBadSettings, 20),
};
TEST_GROUP(dsim, dsim_tests);
