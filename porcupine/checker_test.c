/* checker_test.c: the linearizability checker's own tests (suite
 * "porcupine"): hand-made key/value and register histories whose verdicts
 * are known, partitioning, the step budget and the memory bound, the same
 * verdict every time, generated histories, sequential parts (the fast path
 * and its agreement with the general search), the HTML page and the history
 * files' parser.  porcupine's published histories are checked against Go's
 * verdicts by tools/lincheck_published (they may not be copied here). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../labtest/registry.h"
#include "../models/etcd.h"
#include "../models/kv.h"
#include "history.h"
#include "info.h"
#include "porcupine.h"

/* ---- Building histories ---- */

/* One key/value operation: who, what, when, and what it returned. */
typedef struct {
	int client;
	char op; /* 'g', 'p' or 'a' */
	const char *key;
	const char *value; /* put's or append's argument */
	int64_t call, ret;
	const char *out; /* get's result */
} kv_row;

typedef struct {
	size_t n;
	porc_operation *ops;
	kv_input *in;
	kv_output *out;
	char **strings; /* owned copies, for generated histories */
	size_t nstrings;
} kv_history;

static void kv_history_init(kv_history *h, size_t n)
{
	memset(h, 0, sizeof *h);
	h->ops = calloc(n ? n : 1, sizeof *h->ops);
	h->in = calloc(n ? n : 1, sizeof *h->in);
	h->out = calloc(n ? n : 1, sizeof *h->out);
	h->strings = calloc(2 * n + 1, sizeof *h->strings);
	ck_assert(h->ops && h->in && h->out && h->strings);
}

static void kv_history_add(kv_history *h, kv_row r)
{
	size_t i = h->n++;
	uint8_t op = r.op == 'g' ? KV_OP_GET : r.op == 'p' ? KV_OP_PUT : KV_OP_APPEND;
	h->in[i] = (kv_input){ op, r.key, r.value ? r.value : "" };
	h->out[i] = (kv_output){ r.out ? r.out : "" };
	h->ops[i] = (porc_operation){ r.client, &h->in[i], r.call, &h->out[i], r.ret };
}

static void kv_history_of(kv_history *h, const kv_row *rows, size_t n)
{
	kv_history_init(h, n);
	for (size_t i = 0; i < n; i++)
		kv_history_add(h, rows[i]);
}

static char *kv_history_keep(kv_history *h, char *s)
{
	ck_assert(s != NULL);
	h->strings[h->nstrings++] = s;
	return s;
}

static void kv_history_free(kv_history *h)
{
	for (size_t i = 0; i < h->nstrings; i++)
		free(h->strings[i]);
	free(h->strings);
	free(h->ops);
	free(h->in);
	free(h->out);
}

static porc_result check_kv(const kv_row *rows, size_t n)
{
	kv_history h;
	kv_history_of(&h, rows, n);
	porc_result r = porc_check_operations(&kv_model, h.ops, h.n, 0, NULL);
	kv_history_free(&h);
	return r;
}

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

#define ck_assert_result(got, want, what)                                                    \
	ck_assert_msg((got) == (want), "%s: got %s, want %s", (what), porc_result_name(got), \
		      porc_result_name(want))

/* A small deterministic PRNG (splitmix64). */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int64_t rng_below(uint64_t *s, int64_t n)
{
	return (int64_t)(rng_next(s) % (uint64_t)n);
}

/* A linearizable history by construction: clients run operations one
 * after another; each takes effect at a point inside its interval, and the
 * operations are applied to a real store in the order of those points. */
typedef struct {
	int64_t point;
	size_t index;
} lin_point;

static int by_point(const void *pa, const void *pb)
{
	const lin_point *a = pa, *b = pb;
	if (a->point != b->point)
		return a->point < b->point ? -1 : 1;
	return (a->index > b->index) - (a->index < b->index);
}

static void generate_kv(kv_history *h, uint64_t seed, int clients, int keys, size_t n)
{
	kv_history_init(h, n);
	uint64_t rng = seed;
	int64_t *clock = calloc((size_t)clients, sizeof *clock);
	lin_point *points = calloc(n ? n : 1, sizeof *points);
	char **value = calloc((size_t)keys, sizeof *value);
	static const char *names[] = { "0", "1", "2", "3", "4", "5", "6", "7",
				       "8", "9", "a", "b", "c", "d", "e", "f" };
	ck_assert(clock && points && value && keys <= 16);
	for (size_t i = 0; i < n; i++) {
		int c = (int)rng_below(&rng, clients);
		int64_t call = clock[c] + rng_below(&rng, 4);
		int64_t ret = call + 1 + rng_below(&rng, 40);
		clock[c] = ret + 1;
		int64_t kind = rng_below(&rng, 10);
		char *arg = malloc(32);
		ck_assert(arg != NULL);
		snprintf(arg, 32, "x %d %zu y", c, i);
		kv_history_keep(h, arg);
		kv_history_add(h, (kv_row){ c, kind < 4 ? 'g' : kind < 9 ? 'a' : 'p',
					    names[rng_below(&rng, keys)], arg, call, ret, NULL });
		points[i] = (lin_point){ call + rng_below(&rng, ret - call + 1), i };
	}
	qsort(points, n, sizeof *points, by_point);
	for (size_t k = 0; k < n; k++) {
		size_t i = points[k].index;
		int key = 0;
		while (strcmp(names[key], h->in[i].key) != 0)
			key++;
		const char *old = value[key] ? value[key] : "";
		if (h->in[i].op == KV_OP_GET) {
			h->out[i].value = kv_history_keep(h, strdup(old));
			continue;
		}
		const char *tail = h->in[i].value;
		char *nv = malloc(strlen(old) * (h->in[i].op == KV_OP_APPEND) + strlen(tail) + 1);
		ck_assert(nv != NULL);
		sprintf(nv, "%s%s", h->in[i].op == KV_OP_APPEND ? old : "", tail);
		free(value[key]);
		value[key] = nv;
	}
	for (int k = 0; k < keys; k++)
		free(value[k]);
	free(value);
	free(points);
	free(clock);
}

/* ---- The key/value model ---- */

START_TEST(TestPorcupineKvSequential)
{
	const kv_row ok[] = {
		{ 0, 'p', "x", "a", 0, 10, NULL },
		{ 1, 'g', "x", NULL, 20, 30, "a" },
		{ 0, 'a', "x", "b", 40, 50, NULL },
		{ 1, 'g', "x", NULL, 60, 70, "ab" },
		{ 2, 'g', "y", NULL, 80, 90, "" },
	};
	ck_assert_result(check_kv(ok, NROWS(ok)), PORC_OK, "put, get, append, get in turn");

	const kv_row stale[] = {
		{ 0, 'p', "x", "a", 0, 10, NULL },
		{ 0, 'p', "x", "b", 20, 30, NULL },
		{ 1, 'g', "x", NULL, 40, 50, "a" },
	};
	ck_assert_result(check_kv(stale, NROWS(stale)), PORC_ILLEGAL,
			 "a get after a completed put that sees the older value");

	const kv_row order[] = {
		{ 0, 'a', "x", "1", 0, 10, NULL },
		{ 0, 'a', "x", "2", 20, 30, NULL },
		{ 1, 'g', "x", NULL, 40, 50, "21" },
	};
	ck_assert_result(check_kv(order, NROWS(order)), PORC_ILLEGAL,
			 "appends that completed in turn seen in the other order");

	const kv_row unwritten[] = {
		{ 0, 'g', "x", NULL, 0, 10, "ghost" },
	};
	ck_assert_result(check_kv(unwritten, NROWS(unwritten)), PORC_ILLEGAL,
			 "a get of a value nobody wrote");
}
END_TEST

START_TEST(TestPorcupineKvConcurrent)
{
	/* Overlapping appends may take effect in either order; a get that
	 * overlaps them may see any prefix consistent with one order. */
	const kv_row either[] = {
		{ 0, 'a', "x", "1", 0, 100, NULL },
		{ 1, 'a', "x", "2", 10, 90, NULL },
		{ 2, 'g', "x", NULL, 20, 30, "2" },
		{ 2, 'g', "x", NULL, 110, 120, "21" },
	};
	ck_assert_result(check_kv(either, NROWS(either)), PORC_OK,
			 "overlapping appends seen in the second one's order");

	const kv_row flip[] = {
		{ 0, 'a', "x", "1", 0, 100, NULL },
		{ 1, 'a', "x", "2", 10, 90, NULL },
		{ 2, 'g', "x", NULL, 20, 30, "2" },
		{ 2, 'g', "x", NULL, 40, 50, "1" },
	};
	ck_assert_result(check_kv(flip, NROWS(flip)), PORC_ILLEGAL,
			 "gets in turn that see 2 and then 1 without 2");

	/* The same two puts in either order leave different values: the
	 * search reaches the set {put 1, put 2} twice, with "2" and then
	 * with "1", and only the second way on works.  (A cache that
	 * remembered sets without their states would cut it off.) */
	const kv_row second_order[] = {
		{ 0, 'p', "x", "1", 0, 100, NULL },
		{ 1, 'p', "x", "2", 0, 100, NULL },
		{ 2, 'g', "x", NULL, 200, 210, "1" },
	};
	ck_assert_result(check_kv(second_order, NROWS(second_order)), PORC_OK,
			 "concurrent puts whose second order explains the get");

	/* A get overlapping a put may see the old or the new value, but two
	 * gets in turn may not see new then old. */
	const kv_row newold[] = {
		{ 0, 'p', "x", "a", 0, 5, NULL },
		{ 1, 'p', "x", "b", 10, 100, NULL },
		{ 2, 'g', "x", NULL, 20, 30, "b" },
		{ 3, 'g', "x", NULL, 40, 50, "a" },
	};
	ck_assert_result(check_kv(newold, NROWS(newold)), PORC_ILLEGAL,
			 "a new value then the old one, both during a put");
}
END_TEST

/* Operations that touch in time (one's return at the other's call) overlap,
 * as Go's checker sorts calls before returns at equal times. */
START_TEST(TestPorcupineEqualTimesOverlap)
{
	const kv_row touch[] = {
		{ 0, 'p', "x", "1", 0, 10, NULL },
		{ 1, 'g', "x", NULL, 10, 20, "" },
	};
	ck_assert_result(check_kv(touch, NROWS(touch)), PORC_OK,
			 "a get called at the instant a put returned may precede it");
	const kv_row apart[] = {
		{ 0, 'p', "x", "1", 0, 10, NULL },
		{ 1, 'g', "x", NULL, 11, 20, "" },
	};
	ck_assert_result(check_kv(apart, NROWS(apart)), PORC_ILLEGAL,
			 "a get called after a put returned must see it");
}
END_TEST

START_TEST(TestPorcupinePartitionByKey)
{
	const kv_row rows[] = {
		{ 0, 'p', "b", "1", 0, 10, NULL },
		{ 1, 'p', "a", "1", 0, 10, NULL },
		{ 2, 'p', "c", "1", 0, 10, NULL },
		{ 0, 'g', "b", NULL, 20, 30, "" }, /* stale: only key b is wrong */
		{ 1, 'g', "a", NULL, 20, 30, "1" },
		{ 2, 'g', "c", NULL, 20, 30, "1" },
	};
	kv_history h;
	kv_history_of(&h, rows, NROWS(rows));
	porc_info *info = NULL;
	porc_stats st;
	porc_limits lim = { 0, 0, false };
	porc_result r = porc_check(&kv_model, h.ops, h.n, &lim, &info, &st);
	ck_assert_result(r, PORC_ILLEGAL, "stale get on key b");
	ck_assert_msg(st.parts == 3, "3 keys should make 3 parts, got %zu", st.parts);
	ck_assert_msg(info->n_parts == 3, "the info has %zu parts", info->n_parts);
	/* Parts in key order, each with its own verdict. */
	const char *keys[] = { "a", "b", "c" };
	porc_result want[] = { PORC_OK, PORC_ILLEGAL, PORC_OK };
	for (size_t p = 0; p < 3; p++) {
		const porc_part_info *pi = &info->parts[p];
		ck_assert_msg(pi->n == 2, "part %zu has %zu operations, want 2", p, pi->n);
		const kv_input *in = info->ops[pi->op[0]].input;
		ck_assert_msg(strcmp(in->key, keys[p]) == 0, "part %zu is key %s, want %s", p, in->key,
			      keys[p]);
		ck_assert_result(pi->result, want[p], keys[p]);
	}
	/* Key b's longest partial linearization: the put alone. */
	const porc_part_info *b = &info->parts[1];
	ck_assert_msg(b->n_partials == 1 && b->partials[0].len == 1,
		      "key b: %zu partials, the first of length %zu; want one of length 1",
		      b->n_partials, b->n_partials ? b->partials[0].len : 0);
	porc_info_free(info);
	kv_history_free(&h);
}
END_TEST

/* ---- The register model of the etcd logs ---- */

typedef struct {
	char op; /* 'r', 'w', 'c' */
	int64_t a1, a2;
	int64_t call, ret;
	int exists; /* read: 1 value, 0 nil */
	int64_t value;
	int ok;      /* cas */
	int unknown; /* timed out */
} reg_row;

static porc_result check_register(const reg_row *rows, size_t n)
{
	porc_operation ops[16];
	etcd_input in[16];
	etcd_output out[16];
	ck_assert(n <= 16);
	for (size_t i = 0; i < n; i++) {
		const reg_row *r = &rows[i];
		in[i] = (etcd_input){ r->op == 'r' ? ETCD_OP_READ : r->op == 'w' ? ETCD_OP_WRITE :
										  ETCD_OP_CAS,
				      r->a1, r->a2 };
		out[i] = (etcd_output){ r->ok != 0, r->exists != 0, r->value, r->unknown != 0 };
		ops[i] = (porc_operation){ (int)i, &in[i], r->call, &out[i], r->ret };
	}
	return porc_check_operations(&etcd_model, ops, n, 0, NULL);
}

START_TEST(TestPorcupineRegisterModel)
{
	const reg_row ok[] = {
		{ 'r', 0, 0, 0, 10, 0, 0, 0, 0 },  /* read -> nil */
		{ 'w', 3, 0, 20, 30, 0, 0, 0, 0 }, /* write 3 */
		{ 'c', 3, 4, 40, 50, 0, 0, 1, 0 }, /* cas 3->4 ok */
		{ 'c', 3, 5, 60, 70, 0, 0, 0, 0 }, /* cas 3->5 fails */
		{ 'r', 0, 0, 80, 90, 1, 4, 0, 0 }, /* read -> 4 */
	};
	ck_assert_result(check_register(ok, NROWS(ok)), PORC_OK, "read, write, cas, cas, read");

	const reg_row bad_cas[] = {
		{ 'w', 3, 0, 0, 10, 0, 0, 0, 0 },
		{ 'c', 3, 4, 20, 30, 0, 0, 0, 0 }, /* cas 3->4 fails though it holds 3 */
	};
	ck_assert_result(check_register(bad_cas, NROWS(bad_cas)), PORC_ILLEGAL,
			 "a cas that fails on the value it expects");

	const reg_row nil_after_write[] = {
		{ 'w', 1, 0, 0, 10, 0, 0, 0, 0 },
		{ 'r', 0, 0, 20, 30, 0, 0, 0, 0 }, /* read -> nil after a write */
	};
	ck_assert_result(check_register(nil_after_write, NROWS(nil_after_write)), PORC_ILLEGAL,
			 "nil read after a completed write");

	/* A timed-out cas may or may not have happened. */
	const reg_row unknown[] = {
		{ 'w', 1, 0, 0, 10, 0, 0, 0, 0 },
		{ 'c', 1, 2, 20, 30, 0, 0, 0, 1 },
		{ 'r', 0, 0, 40, 50, 1, 2, 0, 0 },
		{ 'r', 0, 0, 60, 70, 1, 2, 0, 0 },
	};
	ck_assert_result(check_register(unknown, NROWS(unknown)), PORC_OK,
			 "a timed-out cas that took effect");
}
END_TEST

/* ---- The budget and the memory bound ---- */

/* Twelve appends at once and a get that no order explains: the search has
 * to try every order (billions of steps) before it can say Illegal. */
static void add_hard_part(kv_history *h, const char *key)
{
	static const char *tails[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l" };
	for (int i = 0; i < 12; i++)
		kv_history_add(h, (kv_row){ i, 'a', key, tails[i], i, 100 + i, NULL });
	kv_history_add(h, (kv_row){ 12, 'g', key, NULL, 200, 210, "nonsense" });
}

START_TEST(TestPorcupineBudgetUnknown)
{
	kv_history h;
	kv_history_init(&h, 13);
	add_hard_part(&h, "x");
	porc_stats st;
	porc_limits lim = { 100000, 0, false };
	porc_result r = porc_check(&kv_model, h.ops, h.n, &lim, NULL, &st);
	ck_assert_result(r, PORC_UNKNOWN, "a search longer than its budget");
	ck_assert_msg(st.steps == 100000, "spent %llu steps of a budget of 100000",
		      (unsigned long long)st.steps);
	kv_history_free(&h);
}
END_TEST

/* Parts take turns, as Go's goroutines run side by side: a small illegal
 * part is found even though a large one would spend the whole budget. */
START_TEST(TestPorcupineIllegalPartWithinBudget)
{
	kv_history h;
	kv_history_init(&h, 16);
	add_hard_part(&h, "a"); /* first in key order */
	kv_history_add(&h, (kv_row){ 0, 'p', "b", "1", 300, 310, NULL });
	kv_history_add(&h, (kv_row){ 1, 'g', "b", NULL, 320, 330, "" });
	porc_limits lim = { PORC_LAB_BUDGET, 0, false };
	porc_stats st;
	porc_result r = porc_check(&kv_model, h.ops, h.n, &lim, NULL, &st);
	ck_assert_result(r, PORC_ILLEGAL, "a stale read beside a part too large to search");
	ck_assert_msg(st.steps < 20000, "found after %llu steps; want within a few turns",
		      (unsigned long long)st.steps);
	kv_history_free(&h);
}
END_TEST

START_TEST(TestPorcupineMemoryBound)
{
	kv_history h;
	kv_history_init(&h, 13);
	add_hard_part(&h, "x");
	porc_stats st;
	porc_limits lim = { 0, 4u << 20, false }; /* no step limit; 4 MB */
	porc_result r = porc_check(&kv_model, h.ops, h.n, &lim, NULL, &st);
	ck_assert_result(r, PORC_UNKNOWN, "a search that outgrows its memory bound");
	ck_assert_msg(st.peak_memory <= (4u << 20), "held %zu bytes over a bound of %u",
		      st.peak_memory, 4u << 20);
	kv_history_free(&h);
}
END_TEST

START_TEST(TestPorcupineDeterministic)
{
	kv_history h;
	generate_kv(&h, 7, 8, 3, 400);
	h.out[h.n - 1].value = "bogus"; /* not linearizable, if a get */
	porc_stats first, again;
	porc_limits none = { 0, 0, false };
	porc_result r1 = porc_check(&kv_model, h.ops, h.n, &none, NULL, &first);
	porc_result r2 = porc_check(&kv_model, h.ops, h.n, &none, NULL, &again);
	ck_assert_result(r2, r1, "the same history twice");
	ck_assert_msg(first.steps == again.steps && first.cache_entries == again.cache_entries,
		      "the same history took %llu then %llu steps",
		      (unsigned long long)first.steps, (unsigned long long)again.steps);
	/* An Ok verdict stands exactly at its step count, and not one step
	 * before. */
	kv_history ok;
	generate_kv(&ok, 8, 8, 3, 400);
	porc_stats st;
	ck_assert_result(porc_check(&kv_model, ok.ops, ok.n, &none, NULL, &st), PORC_OK,
			 "a generated history");
	porc_limits just = { st.steps, 0, false }, one_short = { st.steps - 1, 0, false };
	ck_assert_result(porc_check(&kv_model, ok.ops, ok.n, &just, NULL, NULL), PORC_OK,
			 "a budget of exactly the steps an Ok verdict needs");
	ck_assert_result(porc_check(&kv_model, ok.ops, ok.n, &one_short, NULL, NULL), PORC_UNKNOWN,
			 "one step short of an Ok verdict");
	kv_history_free(&ok);
	/* The same for this illegal one (unless illegal was found before). */
	porc_limits exact = { first.steps, 0, false }, short_one = { first.steps - 1, 0, false };
	ck_assert_result(porc_check(&kv_model, h.ops, h.n, &exact, NULL, NULL), r1,
			 "a budget of exactly the steps it needs");
	porc_result r3 = porc_check(&kv_model, h.ops, h.n, &short_one, NULL, NULL);
	ck_assert_msg(r3 == PORC_UNKNOWN || r3 == PORC_ILLEGAL,
		      "one step short of an Ok verdict gave %s", porc_result_name(r3));
	kv_history_free(&h);
}
END_TEST

/* ---- Generated histories ---- */

START_TEST(TestPorcupineGeneratedHistories)
{
	for (uint64_t seed = 1; seed <= 60; seed++) {
		kv_history h;
		generate_kv(&h, seed, 2 + (int)(seed % 6), 1 + (int)(seed % 4), 120);
		porc_result r = porc_check_operations(&kv_model, h.ops, h.n, 0, NULL);
		ck_assert_msg(r == PORC_OK, "seed %llu: a linearizable history judged %s",
			      (unsigned long long)seed, porc_result_name(r));
		/* One get made to see a value nobody wrote: the first, so the
		 * search that proves it wrong stays short. */
		for (size_t i = 0; i < h.n; i++)
			if (h.in[i].op == KV_OP_GET) {
				h.out[i].value = "never written";
				break;
			}
		r = porc_check_operations(&kv_model, h.ops, h.n, 0, NULL);
		ck_assert_msg(r == PORC_ILLEGAL, "seed %llu: a get of an unwritten value judged %s",
			      (unsigned long long)seed, porc_result_name(r));
		kv_history_free(&h);
	}
}
END_TEST

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The figure: 10,000 operations of 15 clients on 15 keys. */
START_TEST(TestPorcupineLargeHistory)
{
	kv_history h;
	generate_kv(&h, 2023, 15, 15, 10000);
	porc_stats st;
	porc_info *info = NULL;
	porc_limits lim = { PORC_LAB_BUDGET, 0, false };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	porc_result r = porc_check(&kv_model, h.ops, h.n, &lim, &info, &st);
	double ms = ms_since(&t0);
	ck_assert_result(r, PORC_OK, "10,000 generated operations");
	ck_assert_msg(st.parts == 15, "%zu parts, want 15", st.parts);
	printf("  ... 10,000 operations, 15 clients, 15 keys: %llu steps, %.1f ms (with the view's info)\n",
	       (unsigned long long)st.steps, ms);
	porc_info_free(info);
	kv_history_free(&h);
}
END_TEST

/* ---- The HTML page ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot read %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *s = malloc((size_t)n + 1);
	ck_assert(s != NULL);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

/* The HTML page of a kv history's check, written to a file and read back
 * (the caller frees it). */
static char *kv_page(const porc_info *info)
{
	char path[] = "/tmp/porcupine_test_XXXXXX";
	int fd = mkstemp(path);
	ck_assert(fd >= 0);
	close(fd);
	ck_assert_msg(porc_visualize_path(&kv_model, info, path) == 0, "writing %s: %s", path,
		      strerror(errno));
	char *page = slurp(path);
	unlink(path);
	return page;
}

START_TEST(TestPorcupineHtml)
{
	const kv_row rows[] = {
		{ 0, 'p', "x", "a", 0, 10, NULL },
		{ 0, 'p', "x", "b", 20, 30, NULL },
		{ 1, 'g', "x", NULL, 40, 50, "a</script>" },
		{ 2, 'p', "y", "1", 0, 10, NULL },
	};
	kv_history h;
	kv_history_of(&h, rows, NROWS(rows));
	porc_info *info = NULL;
	ck_assert_result(porc_check_operations(&kv_model, h.ops, h.n, 0, &info), PORC_ILLEGAL,
			 "stale get");
	char *page = kv_page(info);
	ck_assert_msg(strstr(page, "\"result\":\"Illegal\"") != NULL, "the page does not say Illegal");
	ck_assert_msg(strstr(page, "key 'x'") && strstr(page, "key 'y'"), "a part's name is missing");
	ck_assert_msg(strstr(page, "put('x', 'b')") != NULL, "an operation's description is missing");
	/* The stale get is where key x breaks: after the two puts, the one
	 * operation left, refused (id 2, accepted 0). */
	ck_assert_msg(strstr(page, "\"breaks\":[[2,0,\"\"]]") != NULL,
		      "the page does not show where key x breaks");
	/* Data cannot end the script early. */
	ck_assert_msg(strstr(page, "a</script>") == NULL, "an operation's text closed the script");
	free(page);

	errno = 0;
	ck_assert_msg(porc_visualize_path(&kv_model, info, "/nonexistent-dir/page.html") == -1 &&
			      errno == ENOENT,
		      "an unwritable path: want -1 and ENOENT");
	porc_info_free(info);
	kv_history_free(&h);
}
END_TEST

/* ---- Sequential parts (the fast path) ---- */

/* One client's n appends of 6 bytes to key x, each called after the last
 * returned (as the lab's one-client tests make them, up to 57,000 with
 * values of about 300 KB), and a get of the whole value every 10,000.
 * bad_get >= 0: that operation is a get that misses the last append. */
static void sequential_appends(kv_history *h, size_t n, long bad_get)
{
	kv_history_init(h, n);
	char *value = malloc(6 * n + 1);
	ck_assert(value != NULL);
	size_t len = 0;
	value[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int64_t call = 10 * (int64_t)i, ret = call + 5;
		if ((long)i == bad_get) {
			char *stale = strndup(value, len >= 6 ? len - 6 : 0);
			kv_history_add(h, (kv_row){ 0, 'g', "x", NULL, call, ret,
						    kv_history_keep(h, stale) });
		} else if (i % 10000 == 9999) {
			kv_history_add(h, (kv_row){ 0, 'g', "x", NULL, call, ret,
						    kv_history_keep(h, strdup(value)) });
		} else {
			char *arg = kv_history_keep(h, malloc(8));
			snprintf(arg, 8, "%05zu ", i % 100000);
			memcpy(value + len, arg, 6);
			len += 6;
			value[len] = '\0';
			kv_history_add(h, (kv_row){ 0, 'a', "x", arg, call, ret, NULL });
		}
	}
	free(value);
}

/* The lab's one-client histories: 50,000 operations on one key, the
 * value growing to 300 KB.  The general search keeps a state per step
 * (7.5 GB of values) and ran out of the memory bound; stepped through in
 * order it holds two values at a time. */
START_TEST(TestPorcupineSequentialLongHistory)
{
	kv_history h;
	sequential_appends(&h, 50000, -1);
	porc_stats st;
	porc_info *info = NULL;
	porc_limits lim = { PORC_LAB_BUDGET, 0, false };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	porc_result r = porc_check(&kv_model, h.ops, h.n, &lim, &info, &st);
	double ms = ms_since(&t0);
	ck_assert_result(r, PORC_OK, "50,000 sequential operations on one key");
	ck_assert_msg(st.steps == 50000, "%llu steps, want one per operation",
		      (unsigned long long)st.steps);
	ck_assert_msg(st.peak_memory <= (16u << 20), "held %zu bytes; want a few values' worth",
		      st.peak_memory);
	ck_assert_msg(info->parts[0].n_partials == 1 && info->parts[0].partials[0].len == 50000,
		      "the page's linearization: %zu partials, want one of all 50,000",
		      info->parts[0].n_partials);
	printf("  ... 50,000 sequential operations, one key, values to 300 KB: %llu steps, "
	       "%.1f MB held, %.1f ms\n",
	       (unsigned long long)st.steps, st.peak_memory / 1048576.0, ms);
	porc_info_free(info);
	kv_history_free(&h);
}
END_TEST

/* The same with a get at 5,000 that misses the last append: Illegal,
 * within the memory of a few values, and the page shows the 5,000
 * operations before it linearized and the get refused after them.  (The
 * page replays the linearization and describes every state: with the get
 * at 30,000 this test took 7 s, nearly all of it the page.) */
START_TEST(TestPorcupineSequentialIllegal)
{
	kv_history h;
	sequential_appends(&h, 50000, 5000);
	porc_info *info = NULL;
	porc_limits lim = { PORC_LAB_BUDGET, 0, false };
	porc_stats st;
	porc_result r = porc_check(&kv_model, h.ops, h.n, &lim, &info, &st);
	ck_assert_result(r, PORC_ILLEGAL, "a stale get after 5,000 sequential operations");
	ck_assert_msg(st.peak_memory <= (16u << 20), "held %zu bytes; want a few values' worth",
		      st.peak_memory);
	const porc_part_info *pi = &info->parts[0];
	ck_assert_msg(pi->n_partials == 1 && pi->partials[0].len == 5000,
		      "%zu partials, the first of length %zu; want one of 5,000", pi->n_partials,
		      pi->n_partials ? pi->partials[0].len : 0);
	char *page = kv_page(info);
	ck_assert_msg(strstr(page, "\"result\":\"Illegal\"") != NULL, "the page does not say Illegal");
	ck_assert_msg(strstr(page, "\"breaks\":[[5000,0,\"\"]]") != NULL,
		      "the page does not show the get (id 5000) refused where key x breaks");
	free(page);
	porc_info_free(info);
	kv_history_free(&h);
}
END_TEST

/* The part's longest partial linearizations, as the page gets them. */
static void ck_assert_same_partials(const porc_part_info *a, const porc_part_info *b,
				    const char *what)
{
	ck_assert_msg(a->result == b->result && a->n_partials == b->n_partials,
		      "%s: %s with %zu partials, the general search %s with %zu", what,
		      porc_result_name(a->result), a->n_partials, porc_result_name(b->result),
		      b->n_partials);
	for (size_t k = 0; k < a->n_partials; k++)
		ck_assert_msg(a->partials[k].len == b->partials[k].len &&
				      !memcmp(a->partials[k].ids, b->partials[k].ids,
					      a->partials[k].len * sizeof *a->partials[k].ids),
			      "%s: partial %zu differs from the general search's", what, k);
}

/* A pure optimization: on sequential histories the fast path gives the
 * general search's verdict, steps and page, also at every budget. */
static void ck_assert_same_as_general(const kv_history *h, const char *what)
{
	porc_limits fast = { 0, 0, false }, general = { 0, 0, true };
	porc_stats fs, gs;
	porc_info *fi = NULL, *gi = NULL;
	porc_result fr = porc_check(&kv_model, h->ops, h->n, &fast, &fi, &fs);
	porc_result gr = porc_check(&kv_model, h->ops, h->n, &general, &gi, &gs);
	ck_assert_result(fr, gr, what);
	ck_assert_msg(fs.steps == gs.steps, "%s: %llu steps, the general search %llu", what,
		      (unsigned long long)fs.steps, (unsigned long long)gs.steps);
	for (size_t p = 0; p < fi->n_parts; p++)
		ck_assert_same_partials(&fi->parts[p], &gi->parts[p], what);
	porc_info_free(fi);
	porc_info_free(gi);
	for (uint64_t b = 1; b <= gs.steps && b <= 64; b++) {
		porc_limits fb = { b, 0, false }, gb = { b, 0, true };
		fr = porc_check(&kv_model, h->ops, h->n, &fb, NULL, NULL);
		gr = porc_check(&kv_model, h->ops, h->n, &gb, NULL, NULL);
		ck_assert_msg(fr == gr, "%s, a budget of %llu steps: %s, the general search %s", what,
			      (unsigned long long)b, porc_result_name(fr), porc_result_name(gr));
	}
}

START_TEST(TestPorcupineSequentialSameAsGeneral)
{
	const kv_row stale[] = {
		{ 0, 'p', "x", "a", 0, 10, NULL },
		{ 0, 'p', "x", "b", 20, 30, NULL },
		{ 1, 'g', "x", NULL, 40, 50, "a" },
		{ 1, 'g', "x", NULL, 60, 70, "b" },
	};
	const kv_row first[] = {
		{ 0, 'g', "x", NULL, 0, 10, "ghost" },
		{ 0, 'p', "x", "a", 20, 30, NULL },
	};
	const kv_row touch[] = { /* not sequential: touching operations overlap */
		{ 0, 'p', "x", "1", 0, 10, NULL },
		{ 1, 'g', "x", NULL, 10, 20, "" },
	};
	const struct {
		const kv_row *rows;
		size_t n;
		const char *what;
	} hand[] = {
		{ stale, NROWS(stale), "a stale get after two puts" },
		{ first, NROWS(first), "the first operation refused" },
		{ touch, NROWS(touch), "operations that touch" },
	};
	for (size_t i = 0; i < NROWS(hand); i++) {
		kv_history h;
		kv_history_of(&h, hand[i].rows, hand[i].n);
		ck_assert_same_as_general(&h, hand[i].what);
		kv_history_free(&h);
	}
	/* One client's generated histories: every key's part sequential. */
	for (uint64_t seed = 1; seed <= 20; seed++) {
		kv_history h;
		generate_kv(&h, seed, 1, 1 + (int)(seed % 3), 300);
		char what[64];
		snprintf(what, sizeof what, "one client, seed %llu", (unsigned long long)seed);
		ck_assert_same_as_general(&h, what);
		for (size_t i = h.n / 2; i < h.n; i++)
			if (h.in[i].op == KV_OP_GET) {
				h.out[i].value = "never written";
				break;
			}
		snprintf(what, sizeof what, "one client, seed %llu, a bad get", (unsigned long long)seed);
		ck_assert_same_as_general(&h, what);
		kv_history_free(&h);
	}
	kv_history small;
	sequential_appends(&small, 3000, 2500);
	ck_assert_same_as_general(&small, "3,000 appends and a stale get");
	kv_history_free(&small);
}
END_TEST

/* ---- The history files ---- */

static int parse(const char *text, history_format f, history *h, char *err, size_t errlen)
{
	return history_parse(text, strlen(text), "t.txt", f, h, err, errlen);
}

START_TEST(TestPorcupineHistoryFiles)
{
	char err[256];
	history h;
	const char *kv =
		"{:process 0, :type :invoke, :f :put, :key \"k\", :value \"v 1\"}\n"
		"{:process 1, :type :invoke, :f :get, :key \"k\", :value nil}\n"
		"{:process 0, :type :ok, :f :put, :key \"k\", :value \"v 1\"}\r\n"
		"\n"
		"{:process 1, :type :ok, :f :get, :key \"k\", :value \"v 1\"}\n"
		"{:process 2, :type :invoke, :f :append, :key \"k\", :value \"x\"}\n";
	ck_assert_msg(parse(kv, HISTORY_AUTO, &h, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(h.format == HISTORY_KV && h.n == 3, "kv: format %d, %zu operations",
		      h.format, h.n);
	const kv_input *in1 = h.ops[1].input;
	const kv_output *out1 = h.ops[1].output;
	ck_assert(in1->op == KV_OP_GET && !strcmp(in1->key, "k") && !strcmp(out1->value, "v 1"));
	ck_assert_msg(h.ops[0].call == 0 && h.ops[0].ret == 2 && h.ops[1].ret == 3,
		      "an event's time is its place in the file");
	ck_assert_msg(h.ops[2].ret == 5, "an open call returns after the last event");
	ck_assert_result(porc_check_operations(history_model(&h), h.ops, h.n, 0, NULL), PORC_OK,
			 "the small kv file");
	history_free(&h);

	const char *etcd = "INFO  jepsen.util - 1\t:invoke\t:write\t3\n"
			   "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 4]\n"
			   "INFO  jepsen.util - 1\t:ok\t:write\t3\n"
			   "INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n"
			   "INFO  jepsen.util - 7   :invoke :read   nil\n"
			   "INFO  jepsen.util - 7   :ok     :read   4\n";
	ck_assert_msg(parse(etcd, HISTORY_AUTO, &h, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(h.format == HISTORY_ETCD && h.n == 3, "etcd: %zu operations", h.n);
	const etcd_output *cas = h.ops[1].output;
	ck_assert_msg(cas->unknown && h.ops[1].ret == 5,
		      "a timed-out cas stays open to the end, unknown");
	ck_assert_result(porc_check_operations(history_model(&h), h.ops, h.n, 0, NULL), PORC_OK,
			 "the small etcd log");
	history_free(&h);

	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{ "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\nnonsense\n",
		  "t.txt:2: not a key/value event" },
		{ "{:process 0, :type :ok, :f :get, :key \"k\", :value \"v\"}\n",
		  "t.txt:1: process 0 returns with no call open" },
		{ "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n"
		  "{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}\n",
		  "t.txt:2: process 0 calls while its last call is still open" },
		{ "{:process 0, :type :invoke, :f :cas, :key \"k\", :value nil}\n",
		  "t.txt:1: unknown operation :cas" },
		{ "{:process 99999999999, :type :invoke, :f :get, :key \"k\", :value nil}\n",
		  "t.txt:1: not a key/value event" },
		{ "INFO  jepsen.util - 1\t:invoke\t:write\tnil\n", "t.txt:1: bad argument" },
		{ "INFO  jepsen.util - 1\t:ok\t:read\t4\n", "t.txt:1: process 1 returns with no call open" },
		{ "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:write\t4\n",
		  "t.txt:2: process 1 returns from another operation than it called" },
		{ "hello\n", "t.txt: neither a key/value history nor a Jepsen log" },
		{ "", "t.txt: neither a key/value history nor a Jepsen log" },
	};
	for (size_t i = 0; i < NROWS(bad); i++) {
		err[0] = '\0';
		int rc = parse(bad[i].text, HISTORY_AUTO, &h, err, sizeof err);
		ck_assert_msg(rc == -1 && strncmp(err, bad[i].want, strlen(bad[i].want)) == 0,
			      "case %zu: got rc %d and \"%s\", want \"%s...\"", i, rc, err, bad[i].want);
	}
	/* An empty file with its model named is an empty history. */
	ck_assert_msg(parse("", HISTORY_ETCD, &h, err, sizeof err) == 0 && h.n == 0, "%s", err);
	history_free(&h);
	ck_assert(history_read_file("/nonexistent/history.txt", HISTORY_AUTO, &h, err, sizeof err) == -1);
	ck_assert_msg(strstr(err, "/nonexistent/history.txt: No such file") == err, "got \"%s\"", err);
}
END_TEST

static const test_entry porcupine_tests[] = {
	TEST_ENTRY(TestPorcupineKvSequential, 10),
	TEST_ENTRY(TestPorcupineKvConcurrent, 10),
	TEST_ENTRY(TestPorcupineEqualTimesOverlap, 10),
	TEST_ENTRY(TestPorcupinePartitionByKey, 10),
	TEST_ENTRY(TestPorcupineRegisterModel, 10),
	TEST_ENTRY(TestPorcupineBudgetUnknown, 30),
	TEST_ENTRY(TestPorcupineIllegalPartWithinBudget, 30),
	TEST_ENTRY(TestPorcupineMemoryBound, 30),
	TEST_ENTRY(TestPorcupineDeterministic, 30),
	TEST_ENTRY(TestPorcupineGeneratedHistories, 30),
	TEST_ENTRY(TestPorcupineLargeHistory, 30),
	TEST_ENTRY(TestPorcupineHtml, 10),
	TEST_ENTRY(TestPorcupineSequentialLongHistory, 30),
	TEST_ENTRY(TestPorcupineSequentialIllegal, 30),
	TEST_ENTRY(TestPorcupineSequentialSameAsGeneral, 30),
	TEST_ENTRY(TestPorcupineHistoryFiles, 10),
};
TEST_GROUP(porcupine, porcupine_tests);
