/* kv.c: the key/value model of lab 3 (models/kv.go).
 *
 * A state is one key's value (the history is split by key, so that is
 * enough), kept with its length and hash: the checker hashes and compares
 * states at every step, and an Append's hash follows from the old one
 * (FNV-1a runs left to right), so neither ever rereads a long value. */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

typedef struct {
	uint64_t hash;
	size_t len;
	char s[];
} kv_state;

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME UINT64_C(0x100000001b3)

static uint64_t fnv_extend(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* prefix followed by suffix, as a new state (NULL if out of memory). */
static kv_state *kv_state_new(const kv_state *prefix, const char *suffix, size_t n)
{
	size_t plen = prefix ? prefix->len : 0;
	kv_state *st = malloc(sizeof *st + plen + n + 1);
	if (!st)
		return NULL;
	if (plen)
		memcpy(st->s, prefix->s, plen);
	memcpy(st->s + plen, suffix, n);
	st->len = plen + n;
	st->s[st->len] = '\0';
	st->hash = fnv_extend(prefix ? prefix->hash : FNV_OFFSET, suffix, n);
	return st;
}

static void *kv_init(void)
{
	return kv_state_new(NULL, "", 0);
}

static bool kv_step(const void *state, const void *input, const void *output, void **next)
{
	const kv_state *st = state;
	const kv_input *in = input;
	const kv_output *out = output;
	switch (in->op) {
	case KV_OP_GET:
		if (strlen(out->value) != st->len || memcmp(out->value, st->s, st->len) != 0)
			return false;
		*next = (void *)state; /* a Get leaves the value as it is */
		return true;
	case KV_OP_PUT:
		*next = kv_state_new(NULL, in->value, strlen(in->value));
		return *next != NULL;
	default: /* KV_OP_APPEND, as kv.go's else */
		*next = kv_state_new(st, in->value, strlen(in->value));
		return *next != NULL;
	}
}

static bool kv_equal(const void *a, const void *b)
{
	const kv_state *x = a, *y = b;
	return x->hash == y->hash && x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

static uint64_t kv_hash(const void *state)
{
	return ((const kv_state *)state)->hash;
}

static size_t kv_state_size(const void *state)
{
	return sizeof(kv_state) + ((const kv_state *)state)->len + 1;
}

/* Parts in the order of their keys (kv.go sorts the keys). */
typedef struct {
	const char *key;
	size_t index;
} keyed_op;

static int by_key(const void *pa, const void *pb)
{
	const keyed_op *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);
	return c ? c : (a->index > b->index) - (a->index < b->index);
}

static size_t kv_partition(const porc_operation *ops, size_t n, size_t *part)
{
	keyed_op *order = malloc(n * sizeof *order);
	if (!order) { /* one part: slower, never wrong */
		memset(part, 0, n * sizeof *part);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (keyed_op){ ((const kv_input *)ops[i].input)->key, i };
	qsort(order, n, sizeof *order, by_key);
	size_t parts = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(order[i - 1].key, order[i].key) != 0)
			parts++;
		part[order[i].index] = parts - 1;
	}
	free(order);
	return parts;
}

static char *kv_describe_operation(const void *input, const void *output)
{
	const kv_input *in = input;
	const kv_output *out = output;
	switch (in->op) {
	case KV_OP_GET:
		return porc_format("get('%s') -> '%s'", in->key, out->value);
	case KV_OP_PUT:
		return porc_format("put('%s', '%s')", in->key, in->value);
	case KV_OP_APPEND:
		return porc_format("append('%s', '%s')", in->key, in->value);
	default:
		return porc_format("<invalid>");
	}
}

/* kv.go leaves this to %v, which prints the bare value; quoted, an empty
 * value is still something to see. */
static char *kv_describe_state(const void *state)
{
	return porc_format("'%s'", ((const kv_state *)state)->s);
}

static char *kv_describe_part(const void *input)
{
	return porc_format("key '%s'", ((const kv_input *)input)->key);
}

const porc_model kv_model = {
	.name = "kv",
	.partition = kv_partition,
	.init = kv_init,
	.step = kv_step,
	.equal = kv_equal,
	.hash = kv_hash,
	.free_state = free,
	.describe_operation = kv_describe_operation,
	.describe_state = kv_describe_state,
	.state_size = kv_state_size,
	.describe_part = kv_describe_part,
};
