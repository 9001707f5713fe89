/* report.h: what a failing test's "--- FAIL" block says beyond Check's
 * message: the line in test_test.c of the call under which it failed.
 *
 * Each test runs in a child process (Check's fork mode); the runner reads
 * the child's report from a shared page once the child is gone.  A
 * failure inside a helper of config.c would otherwise name only the
 * helper's line (config.c:577), as Go's t.Fatalf does. */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>

/* The runner, before any test: map the shared page. */
void report_init(void);
/* The runner, before each test: forget the last test's report. */
void report_reset(void);
/* The call site the calling thread is under (CALLED_FROM below). */
void report_note_call(const char *file, int line);
/* At a failure: keep the calling thread's call site, if it has one and no
 * failure was kept before. */
void report_failure(void);
/* The runner, after a test: the kept call site, if any. */
bool report_failed_at(char *file, size_t filelen, int *line);

#endif
