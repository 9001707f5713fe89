/* etcd.c: the register model of the Jepsen etcd logs (porcupine_test.go's
 * etcdModel).  Go stands for nil with -1000000; here nil is a state of its
 * own, so no value is taken from the register's range. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "etcd.h"

/* A state is a tagged word, not an allocation, whenever it can be: the
 * checker takes a step millions of times, and most steps would otherwise
 * malloc a state only to free it when the cache already has it.
 *   nil                      -> NIL_STATE (2)
 *   a value v in TAG range   -> (v << 2) | 1
 *   any other value          -> a malloc'd etcd_state (aligned: low bits 0)
 * The checker never looks inside a state; only this file does. */
typedef struct {
	bool exists;
	int64_t value;
} etcd_state;

#define NIL_STATE ((void *)(uintptr_t)2)
#define TAG_MIN (INT64_MIN / 4)
#define TAG_MAX (INT64_MAX / 4)

static bool is_tagged(const void *st)
{
	return ((uintptr_t)st & 3) != 0;
}

static etcd_state unpack(const void *st)
{
	if (st == NIL_STATE)
		return (etcd_state){ false, 0 };
	if (is_tagged(st))
		return (etcd_state){ true, (int64_t)(intptr_t)st >> 2 };
	return *(const etcd_state *)st;
}

/* The state holding v (NULL if out of memory). */
static void *holding(int64_t v)
{
	if (v >= TAG_MIN && v <= TAG_MAX && (int64_t)(intptr_t)v == v)
		return (void *)(uintptr_t)(((uint64_t)v << 2) | 1);
	etcd_state *st = malloc(sizeof *st);
	if (st)
		*st = (etcd_state){ true, v };
	return st;
}

static void *etcd_init(void)
{
	return NIL_STATE;
}

static void etcd_free(void *state)
{
	if (!is_tagged(state))
		free(state);
}

static bool holds(etcd_state st, int64_t v)
{
	return st.exists && st.value == v;
}

static bool etcd_step(const void *state, const void *input, const void *output, void **next)
{
	etcd_state st = unpack(state);
	const etcd_input *in = input;
	const etcd_output *out = output;
	switch (in->op) {
	case ETCD_OP_READ:
		if (!(out->unknown || (!out->exists && !st.exists) ||
		      (out->exists && holds(st, out->value))))
			return false;
		*next = (void *)state;
		return true;
	case ETCD_OP_WRITE:
		*next = holding(in->arg1);
		return *next != NULL;
	default: { /* ETCD_OP_CAS, as Go's else */
		bool matches = holds(st, in->arg1);
		if (!(out->unknown || matches == out->ok))
			return false;
		*next = matches ? holding(in->arg2) : (void *)state;
		return *next != NULL;
	}
	}
}

static bool etcd_equal(const void *a, const void *b)
{
	if (a == b)
		return true;
	etcd_state x = unpack(a), y = unpack(b);
	return x.exists == y.exists && (!x.exists || x.value == y.value);
}

static uint64_t etcd_hash(const void *state)
{
	etcd_state st = unpack(state);
	return st.exists ? (uint64_t)st.value * UINT64_C(0x9e3779b97f4a7c15) + 1 : 0;
}

static size_t etcd_state_size(const void *state)
{
	return is_tagged(state) ? 0 : sizeof(etcd_state);
}

static char *etcd_describe_operation(const void *input, const void *output)
{
	const etcd_input *in = input;
	const etcd_output *out = output;
	switch (in->op) {
	case ETCD_OP_READ:
		if (out->unknown)
			return porc_format("read() -> unknown");
		if (!out->exists)
			return porc_format("read() -> null");
		return porc_format("read() -> %" PRId64, out->value);
	case ETCD_OP_WRITE:
		return porc_format("write(%" PRId64 ")", in->arg1);
	case ETCD_OP_CAS:
		return porc_format("cas(%" PRId64 ", %" PRId64 ") -> %s", in->arg1, in->arg2,
			      out->unknown ? "unknown" : out->ok ? "ok" : "fail");
	default:
		return porc_format("<invalid>");
	}
}

static char *etcd_describe_state(const void *state)
{
	etcd_state st = unpack(state);
	return st.exists ? porc_format("%" PRId64, st.value) : porc_format("null");
}

const porc_model etcd_model = {
	.name = "etcd",
	.partition = NULL,
	.init = etcd_init,
	.step = etcd_step,
	.equal = etcd_equal,
	.hash = etcd_hash,
	.free_state = etcd_free,
	.describe_operation = etcd_describe_operation,
	.describe_state = etcd_describe_state,
	.state_size = etcd_state_size,
};
