/* called_from.h: test_test.c calls the tester's helpers through these
 * macros, so that each call notes its line first (report.h): a failure
 * inside the helper then names the line in test_test.c too.  Include it
 * in a test file only (paper_test.c wraps its own helpers with
 * CALLED_FROM).  A name in parentheses, (cfg_one)(...), calls the
 * function without noting the line. */
#ifndef CALLED_FROM_H
#define CALLED_FROM_H

#include "report.h"

#define CALLED_FROM(f, ...) (report_note_call(__FILE__, __LINE__), f(__VA_ARGS__))
#define make_config(...) CALLED_FROM(make_config, __VA_ARGS__)
#define make_config_every(...) CALLED_FROM(make_config_every, __VA_ARGS__)
#define cfg_cleanup(...) CALLED_FROM(cfg_cleanup, __VA_ARGS__)
#define cfg_crash1(...) CALLED_FROM(cfg_crash1, __VA_ARGS__)
#define cfg_start1(...) CALLED_FROM(cfg_start1, __VA_ARGS__)
#define cfg_check_one_leader(...) CALLED_FROM(cfg_check_one_leader, __VA_ARGS__)
#define cfg_check_terms(...) CALLED_FROM(cfg_check_terms, __VA_ARGS__)
#define cfg_check_no_leader(...) CALLED_FROM(cfg_check_no_leader, __VA_ARGS__)
#define cfg_n_committed(...) CALLED_FROM(cfg_n_committed, __VA_ARGS__)
#define cfg_wait(...) CALLED_FROM(cfg_wait, __VA_ARGS__)
#define cfg_one(...) CALLED_FROM(cfg_one, __VA_ARGS__)
#define cfg_end(...) CALLED_FROM(cfg_end, __VA_ARGS__)

#endif
