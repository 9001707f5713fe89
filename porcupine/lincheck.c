/* lincheck.c: the checker on the command line.
 *
 *   lincheck [--model kv|etcd] [--budget STEPS] [--html FILE] [--quiet|--verbose] HISTORY...
 *
 * Reads porcupine's key/value test files or Jepsen etcd logs (the format
 * is told by --model or by the file's first line), checks each history and
 * prints one line per file:
 *
 *   test_data/kv/c10-bad.txt: Illegal (1,130 operations, 10 parts, 4,213 steps, 0.8 ms)
 *
 * Exit status: 0 every history is linearizable, 1 some history is not,
 * 3 some could not be decided within the budget (and none is illegal),
 * 2 bad usage or a file that cannot be read or parsed (one line on stderr
 * saying which and why). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "porcupine.h"

enum { EXIT_LINEARIZABLE = 0, EXIT_ILLEGAL = 1, EXIT_BAD_INPUT = 2, EXIT_UNKNOWN = 3 };

typedef struct {
	history_format format;
	uint64_t budget;
	const char *html;
	bool quiet;
	bool verbose;
	char **files;
	int nfiles;
} options;

static void usage(FILE *to)
{
	fprintf(to, "usage: lincheck [--model kv|etcd] [--budget STEPS] [--html FILE] [--quiet|--verbose] HISTORY...\n"
		    "  --model   kv (porcupine's test_data/kv files) or etcd (its Jepsen logs);\n"
		    "            by default the first line decides\n"
		    "  --budget  search steps before giving up with Unknown (default: no limit;\n"
		    "            the lab's tests use %llu)\n"
		    "  --html    write the history's page to FILE (one HISTORY only)\n"
		    "  --quiet   print nothing; the exit status says it\n"
		    "  --verbose also the states the search remembered and its memory\n"
		    "exit: 0 linearizable, 1 not linearizable, 2 bad input, 3 unknown\n",
		(unsigned long long)PORC_LAB_BUDGET);
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("lincheck: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (lincheck --help)\n", stderr);
	va_end(ap);
	return EXIT_BAD_INPUT;
}

static bool parse_budget(const char *s, uint64_t *v)
{
	if (!*s || *s == '-')
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*v = x;
	return true;
}

/* 0, or an exit status to leave with. */
static int parse_args(int argc, char **argv, options *o, bool *help)
{
	memset(o, 0, sizeof *o);
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			*help = true;
			return 0;
		}
		if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o->quiet = true;
			continue;
		}
		if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->verbose = true;
			continue;
		}
		if (strcmp(a, "--model") && strcmp(a, "--budget") && strcmp(a, "--html"))
			return bad_usage("unknown option %s", a);
		if (i + 1 >= argc)
			return bad_usage("%s needs a value", a);
		const char *v = argv[++i];
		if (!strcmp(a, "--model")) {
			if (!strcmp(v, "kv"))
				o->format = HISTORY_KV;
			else if (!strcmp(v, "etcd"))
				o->format = HISTORY_ETCD;
			else
				return bad_usage("unknown model '%s' (kv or etcd)", v);
		} else if (!strcmp(a, "--budget")) {
			if (!parse_budget(v, &o->budget))
				return bad_usage("--budget wants a number of steps, not '%s'", v);
		} else {
			o->html = v;
		}
	}
	o->files = argv + i;
	o->nfiles = argc - i;
	if (o->nfiles == 0)
		return bad_usage("%s", "no history file given");
	if (o->html && o->nfiles != 1)
		return bad_usage("%s", "--html takes one history file");
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ", 177864 states cached, 36.3 MB" (a static buffer). */
static const char *memory_note(const porc_stats *st)
{
	static char buf[80];
	snprintf(buf, sizeof buf, ", %zu states cached, %.1f MB", st->cache_entries,
		 st->peak_memory / 1e6);
	return buf;
}

/* Check one file; its exit status. */
static int check_file(const options *o, const char *path, FILE *html)
{
	char err[512];
	history h;
	if (history_read_file(path, o->format, &h, err, sizeof err) != 0) {
		fprintf(stderr, "lincheck: %s\n", err);
		return EXIT_BAD_INPUT;
	}
	const porc_model *m = history_model(&h);
	porc_info *info = NULL;
	porc_stats st;
	double t0 = now_ms();
	porc_limits limits = { o->budget, 0, false };
	porc_result r = porc_check(m, h.ops, h.n, &limits, html ? &info : NULL, &st);
	double ms = now_ms() - t0;
	int status = r == PORC_OK ? EXIT_LINEARIZABLE : r == PORC_ILLEGAL ? EXIT_ILLEGAL : EXIT_UNKNOWN;
	if (!o->quiet)
		printf("%s: %s (%s model, %zu operations, %zu parts, %" PRIu64 " steps, %.1f ms%s)\n",
		       path, porc_result_name(r), m->name, h.n, st.parts, st.steps, ms,
		       o->verbose ? memory_note(&st) : "");
	if (html && porc_visualize(m, info, html) != 0) {
		fprintf(stderr, "lincheck: cannot write %s: %s\n", o->html, strerror(errno));
		status = EXIT_BAD_INPUT;
	}
	porc_info_free(info);
	history_free(&h);
	return status;
}

/* The worst of two exit statuses: bad input, then illegal, then unknown. */
static int worse(int a, int b)
{
	static const int rank[] = { [EXIT_LINEARIZABLE] = 0, [EXIT_UNKNOWN] = 1,
				    [EXIT_ILLEGAL] = 2, [EXIT_BAD_INPUT] = 3 };
	return rank[a] >= rank[b] ? a : b;
}

int main(int argc, char **argv)
{
	options o;
	bool help = false;
	int rc = parse_args(argc, argv, &o, &help);
	if (help) {
		usage(stdout);
		return 0;
	}
	if (rc != 0)
		return rc;
	/* Open the page first, so a path that cannot be written is said
	 * before any checking. */
	FILE *html = NULL;
	if (o.html && !(html = fopen(o.html, "w"))) {
		fprintf(stderr, "lincheck: cannot write %s: %s\n", o.html, strerror(errno));
		return EXIT_BAD_INPUT;
	}
	int status = EXIT_LINEARIZABLE;
	for (int i = 0; i < o.nfiles; i++)
		status = worse(status, check_file(&o, o.files[i], html));
	if (html && fclose(html) != 0) {
		fprintf(stderr, "lincheck: cannot write %s: %s\n", o.html, strerror(errno));
		status = EXIT_BAD_INPUT;
	}
	return status;
}
