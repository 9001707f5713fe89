/* report.c: the call site of a failure, kept where the runner can read
 * it after the test's process is gone (report.h). */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include "report.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef struct {
	bool failed;
	int line;
	char file[128];
} failure_site;

/* One page shared by the runner and every test process it forks. */
static failure_site *shared;
/* The call site this thread is under. */
static _Thread_local const char *call_file;
static _Thread_local int call_line;

void report_init(void)
{
	void *p = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p != MAP_FAILED)
		shared = p;
}

void report_reset(void)
{
	if (shared)
		memset(shared, 0, sizeof *shared);
}

void report_note_call(const char *file, int line)
{
	call_file = file;
	call_line = line;
}

void report_failure(void)
{
	if (shared == NULL || call_file == NULL || shared->failed)
		return;
	shared->failed = true;
	shared->line = call_line;
	snprintf(shared->file, sizeof shared->file, "%s", call_file);
}

bool report_failed_at(char *file, size_t filelen, int *line)
{
	if (shared == NULL || !shared->failed)
		return false;
	snprintf(file, filelen, "%s", shared->file);
	*line = shared->line;
	return true;
}
