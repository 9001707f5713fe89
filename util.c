/* util.c: Debug log, time, PRNG and allocation helpers. */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#ifdef LAB_SIM
#include "dsim/dsim.h"
#endif

static const char *const topic_names[DEBUG_NTOPICS] = {
	"TIMR", "VOTE", "LEAD", "TERM", "LOG1", "LOG2", "CMIT", "PERS",
	"SNAP", "DROP", "CLNT", "TEST", "INFO", "WARN", "ERRO", "TRCE",
};

const char *debug_topic_name(log_topic t)
{
	return (unsigned)t < DEBUG_NTOPICS ? topic_names[t] : "????";
}

static pthread_once_t verbosity_once = PTHREAD_ONCE_INIT;
static int verbosity;
static _Atomic int64_t debug_start_us;

static void read_verbosity(void)
{
	const char *v = getenv("VERBOSE");
	if (v == NULL || *v == '\0')
		return;
	char *end;
	errno = 0;
	long level = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || level < 0 || level > 1000) {
		fprintf(stderr, "Invalid verbosity %s\n", v);
		exit(2);
	}
	verbosity = (int)level;
}

int debug_verbosity(void)
{
	pthread_once(&verbosity_once, read_verbosity);
	return verbosity;
}

void debug_reset_clock(void)
{
	debug_start_us = now_us();
}

__attribute__((constructor)) static void debug_init_clock(void)
{
	debug_reset_clock();
}

void Debug(log_topic topic, const char *fmt, ...)
{
	if (debug_verbosity() < 1)
		return;
	char line[1024];
	int64_t tenths = (now_us() - debug_start_us) / 100;
	int n = snprintf(line, sizeof line, "%06lld %s ", (long long)tenths,
			 debug_topic_name(topic));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = strlen(line);
	line[len++] = '\n';
	/* One fwrite on unbuffered stderr: the line arrives whole. */
	fwrite(line, 1, len, stderr);
}

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t now_ms(void)
{
	return now_us() / 1000;
}

void sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int thread_count(void)
{
#ifdef LAB_SIM
	return dsim_live_threads();
#else
	DIR *d = opendir("/proc/self/task");
	if (d == NULL)
		return -1;
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
#endif
}

void deadline_after_ms(struct timespec *ts, int64_t ms)
{
	deadline_after_us(ts, ms * 1000);
}

void deadline_after_us(struct timespec *ts, int64_t us)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

void cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
}

void prng_seed(prng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t prng_next(prng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int64_t prng_intn(prng *r, int64_t n)
{
	return (int64_t)(prng_next(r) % (uint64_t)n);
}

uint64_t random_seed(void)
{
	uint64_t s;
	if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s)
		s = (uint64_t)now_us();
	return s;
}

static void out_of_memory(size_t n)
{
	fprintf(stderr, "out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		out_of_memory(n);
	return p;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

void *xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);
	if (n)
		memcpy(q, p, n);
	return q;
}
