/* etcd.c: the register model of the Jepsen etcd logs (porcupine_test.go's
 * etcdModel).  Go stands for nil with -1000000; a flag says it here, so no
 * value is taken from the register's range. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "etcd.h"

typedef struct {
	bool exists;
	int64_t value;
} etcd_state;

static etcd_state *etcd_state_new(bool exists, int64_t value)
{
	etcd_state *st = malloc(sizeof *st);
	if (st)
		*st = (etcd_state){ exists, value };
	return st;
}

static void *etcd_init(void)
{
	return etcd_state_new(false, 0);
}

static bool holds(const etcd_state *st, int64_t v)
{
	return st->exists && st->value == v;
}

static bool etcd_step(const void *state, const void *input, const void *output, void **next)
{
	const etcd_state *st = state;
	const etcd_input *in = input;
	const etcd_output *out = output;
	switch (in->op) {
	case ETCD_OP_READ:
		if (!(out->unknown || (!out->exists && !st->exists) ||
		      (out->exists && holds(st, out->value))))
			return false;
		*next = (void *)state;
		return true;
	case ETCD_OP_WRITE:
		*next = etcd_state_new(true, in->arg1);
		return *next != NULL;
	default: { /* ETCD_OP_CAS, as Go's else */
		bool matches = holds(st, in->arg1);
		if (!(out->unknown || matches == out->ok))
			return false;
		*next = matches ? etcd_state_new(true, in->arg2) : (void *)state;
		return *next != NULL;
	}
	}
}

static bool etcd_equal(const void *a, const void *b)
{
	const etcd_state *x = a, *y = b;
	return x->exists == y->exists && (!x->exists || x->value == y->value);
}

static uint64_t etcd_hash(const void *state)
{
	const etcd_state *st = state;
	return st->exists ? (uint64_t)st->value * UINT64_C(0x9e3779b97f4a7c15) + 1 : 0;
}

static size_t etcd_state_size(const void *state)
{
	(void)state;
	return sizeof(etcd_state);
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format(const char *fmt, ...)
{
	char buf[96];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s)
		snprintf(s, (size_t)n + 1, "%s", buf);
	return s;
}

static char *etcd_describe_operation(const void *input, const void *output)
{
	const etcd_input *in = input;
	const etcd_output *out = output;
	switch (in->op) {
	case ETCD_OP_READ:
		if (out->unknown)
			return format("read() -> unknown");
		if (!out->exists)
			return format("read() -> null");
		return format("read() -> %" PRId64, out->value);
	case ETCD_OP_WRITE:
		return format("write(%" PRId64 ")", in->arg1);
	case ETCD_OP_CAS:
		return format("cas(%" PRId64 ", %" PRId64 ") -> %s", in->arg1, in->arg2,
			      out->unknown ? "unknown" : out->ok ? "ok" : "fail");
	default:
		return format("<invalid>");
	}
}

static char *etcd_describe_state(const void *state)
{
	const etcd_state *st = state;
	return st->exists ? format("%" PRId64, st->value) : format("null");
}

const porc_model etcd_model = {
	.name = "etcd",
	.partition = NULL,
	.init = etcd_init,
	.step = etcd_step,
	.equal = etcd_equal,
	.hash = etcd_hash,
	.free_state = free,
	.describe_operation = etcd_describe_operation,
	.describe_state = etcd_describe_state,
	.state_size = etcd_state_size,
};
