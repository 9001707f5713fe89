/* checker.c: porcupine's linearizability checker (checker.go), in C.
 *
 * Each part of the history becomes a doubly linked list of call and return
 * entries in time order.  The search walks it from the front: a call whose
 * operation the model accepts in the current state is linearized (its call
 * and return are lifted out of the list, and the search starts again from
 * the front); reaching a return means some operation called earlier must
 * come first, so the search undoes the last choice (unlift) and tries the
 * next call after it.  The list empties when every operation is
 * linearized.  A cache of (set of linearized operations, state) pairs cuts
 * off every branch that reaches a pair already explored: from the same set
 * and state the rest of the search would be the same.
 *
 * Ours differs from Go's in how it is paid for, not in what it decides:
 * nodes live in one array and link by index; the set's hash is kept up to
 * date bit by bit (Zobrist) instead of rehashing the set at every step; the
 * budget is a count of search steps; the parts take turns instead of
 * running in goroutines; and the longest partial linearizations are kept
 * with a running minimum so that a backtrack does not walk the whole stack
 * when nothing on it gets longer.
 *
 * A part whose operations follow one another in real time (each returns
 * before the next is called) leaves the search no choice: its list is
 * call, return, call, return, and the search can only linearize them in
 * order.  Such a part is stepped through without the cache and without
 * keeping the states behind it (search_sequential): the lab's one-client
 * histories of 50,000 appends would otherwise keep 50,000 values of up to
 * 300 KB.  It takes the general search's steps, one for one, so the
 * verdict, the budget and the page are the same. */
#include <stdlib.h>
#include <string.h>

#include "bitset.h"
#include "info.h"
#include "porcupine.h"

/* Steps a part searches before the next part's turn. */
#define TURN_STEPS 4096

/* What a state costs the memory bound when the model cannot say. */
#define DEFAULT_STATE_BYTES 32

const char *porc_result_name(porc_result r)
{
	switch (r) {
	case PORC_OK:
		return "Ok";
	case PORC_ILLEGAL:
		return "Illegal";
	case PORC_UNKNOWN:
		return "Unknown";
	}
	return "?";
}

/* ---- Entries and the linked list (makeEntries, makeLinkedEntries) ---- */

typedef struct {
	int64_t time;
	int32_t id;
	bool is_return;
} entry;

/* Time order; at equal times calls before returns (so operations that
 * touch in time overlap, as Go has it), then by id for a fixed order. */
static int entry_cmp(const void *pa, const void *pb)
{
	const entry *a = pa, *b = pb;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->is_return != b->is_return)
		return a->is_return ? 1 : -1;
	return (a->id > b->id) - (a->id < b->id);
}

/* Node 0 is the head; a call's match is its return's node, a return's -1. */
typedef struct {
	const void *value; /* the input of a call, the output of a return */
	int32_t match;
	int32_t id;
	int32_t next, prev; /* -1: none */
} node;

static void lift(node *nodes, int32_t e)
{
	node *c = &nodes[e];
	nodes[c->prev].next = c->next;
	nodes[c->next].prev = c->prev; /* a call always has its return after it */
	node *r = &nodes[c->match];
	nodes[r->prev].next = r->next;
	if (r->next >= 0)
		nodes[r->next].prev = r->prev;
}

static void unlift(node *nodes, int32_t e)
{
	node *c = &nodes[e];
	node *r = &nodes[c->match];
	nodes[r->prev].next = c->match;
	if (r->next >= 0)
		nodes[r->next].prev = c->match;
	nodes[c->prev].next = e;
	nodes[c->next].prev = e;
}

/* ---- Memory accounting ---- */

typedef struct {
	size_t used;
	size_t max;
	size_t peak;
} budget_mem;

/* Reserve bytes against the bound; false if they do not fit. */
static bool mem_take(budget_mem *bm, size_t bytes)
{
	if (bytes > bm->max - bm->used)
		return false;
	bm->used += bytes;
	if (bm->used > bm->peak)
		bm->peak = bm->used;
	return true;
}

static void mem_give(budget_mem *bm, size_t bytes)
{
	bm->used -= bytes;
}

/* ---- The cache of (linearized set, state) pairs ---- */

typedef struct {
	size_t words; /* per set */
	size_t count, cap;
	uint64_t *hash;  /* only for rehashing */
	uint8_t *owns;   /* whether the entry frees its state */
	/* Entry k's record: its state's address, then its set, side by side
	 * so that a cache hit reads one place. */
	uint64_t *rec;
	/* Open addressing, indexed by the hash's low bits: a slot holds the
	 * hash's high 32 bits over the entry's index + 1 (0 = empty), so a
	 * probe that does not match costs no visit to the entry. */
	uint64_t *slots;
	size_t nslots;
	size_t state_bytes;
} cache;

static size_t cache_stride(const cache *c)
{
	return 1 + c->words;
}

static size_t cache_entry_bytes(const cache *c)
{
	return sizeof(uint64_t) + 1 + cache_stride(c) * sizeof(uint64_t);
}

static void *cache_state(const cache *c, size_t k)
{
	return (void *)(uintptr_t)c->rec[k * cache_stride(c)];
}

static bool cache_grow_entries(cache *c, budget_mem *bm)
{
	size_t ncap = c->cap ? c->cap * 2 : 256;
	if (!mem_take(bm, (ncap - c->cap) * cache_entry_bytes(c)))
		return false;
	uint64_t *h = realloc(c->hash, ncap * sizeof *h);
	if (h)
		c->hash = h;
	uint8_t *o = realloc(c->owns, ncap);
	if (o)
		c->owns = o;
	uint64_t *r = realloc(c->rec, ncap * cache_stride(c) * sizeof *r);
	if (r)
		c->rec = r;
	if (!h || !o || !r) {
		mem_give(bm, (ncap - c->cap) * cache_entry_bytes(c));
		return false;
	}
	c->cap = ncap;
	return true;
}

#define SLOT_TAG(h) ((h) & UINT64_C(0xffffffff00000000))
#define SLOT_ENTRY(s) ((size_t)((s) & 0xffffffffu) - 1)

static void slot_put(uint64_t *slots, size_t nslots, uint64_t h, size_t k)
{
	size_t i = h & (nslots - 1);
	while (slots[i])
		i = (i + 1) & (nslots - 1);
	slots[i] = SLOT_TAG(h) | (uint64_t)(k + 1);
}

static bool cache_grow_slots(cache *c, budget_mem *bm)
{
	size_t n = c->nslots ? c->nslots * 2 : 1024;
	if (n / 2 > UINT32_MAX - 1 || !mem_take(bm, (n - c->nslots) * sizeof(uint64_t)))
		return false;
	uint64_t *slots = calloc(n, sizeof *slots);
	if (!slots) {
		mem_give(bm, (n - c->nslots) * sizeof(uint64_t));
		return false;
	}
	for (size_t k = 0; k < c->count; k++)
		slot_put(slots, n, c->hash[k], k);
	free(c->slots);
	c->slots = slots;
	c->nslots = n;
	return true;
}

static bool cache_contains(const cache *c, const porc_model *m, uint64_t h, const uint64_t *bits,
			   const void *state)
{
	if (!c->nslots)
		return false;
	size_t mask = c->nslots - 1;
	for (size_t i = h & mask; c->slots[i]; i = (i + 1) & mask) {
		if (SLOT_TAG(c->slots[i]) != SLOT_TAG(h))
			continue;
		const uint64_t *r = &c->rec[SLOT_ENTRY(c->slots[i]) * cache_stride(c)];
		if (!bitset_equal(r + 1, bits, c->words))
			continue;
		void *cached = (void *)(uintptr_t)r[0];
		if (m->equal ? m->equal(cached, state) : cached == state)
			return true;
	}
	return false;
}

/* Add a pair; false when the memory bound (or malloc) says no. */
static bool cache_add(cache *c, const porc_model *m, budget_mem *bm, uint64_t h,
		      const uint64_t *bits, void *state, bool owns)
{
	if (c->count == c->cap && !cache_grow_entries(c, bm))
		return false;
	if ((c->count + 1) * 2 > c->nslots && !cache_grow_slots(c, bm))
		return false;
	size_t sb = 0;
	if (owns) {
		sb = m->state_size ? m->state_size(state) : DEFAULT_STATE_BYTES;
		if (!mem_take(bm, sb))
			return false;
		c->state_bytes += sb;
	}
	size_t k = c->count++;
	c->hash[k] = h;
	c->owns[k] = owns;
	uint64_t *r = &c->rec[k * cache_stride(c)];
	r[0] = (uint64_t)(uintptr_t)state;
	memcpy(r + 1, bits, c->words * sizeof *bits);
	slot_put(c->slots, c->nslots, h, k);
	return true;
}

static void cache_free(cache *c, const porc_model *m, budget_mem *bm)
{
	for (size_t k = 0; k < c->count; k++)
		if (c->owns[k])
			m->free_state(cache_state(c, k));
	mem_give(bm, c->cap * cache_entry_bytes(c) + c->nslots * sizeof(uint64_t) + c->state_bytes);
	free(c->hash);
	free(c->owns);
	free(c->rec);
	free(c->slots);
	memset(c, 0, sizeof *c);
}

/* ---- The longest partial linearizations (Go's longest[]) ---- */

/* A linearization shared by every operation whose longest it is. */
typedef struct {
	size_t refs;
	int32_t len;
	int32_t ids[];
} seq;

static void seq_release(seq *s, budget_mem *view)
{
	if (s && --s->refs == 0) {
		mem_give(view, sizeof *s + (size_t)s->len * sizeof(int32_t));
		free(s);
	}
}

/* ---- One part's search, resumable so the parts can take turns ---- */

typedef struct {
	int32_t entry;       /* the call linearized at this depth */
	int32_t min_longest; /* the least longest-length of the ops at depths 0..this */
	void *state;         /* the state before it */
} frame;

enum { SEARCHING, FOUND_OK, FOUND_ILLEGAL, OUT_OF_MEMORY };

typedef struct {
	const porc_model *m;
	size_t n;
	size_t *op; /* op[id]: index in the whole history */
	node *nodes;
	int32_t cur;
	void *state;
	void *init_state;
	uint64_t *lin; /* the linearized set */
	uint64_t lin_hash;
	frame *stack;
	size_t depth;
	cache c;
	bool record; /* keep the longest partial linearizations */
	/* The list is call, its return, call, its return, ...: searched by
	 * search_sequential, where depth counts the operations stepped
	 * through, state is the only state kept (owned, unless it is
	 * init_state), and refused says the model refused the next one. */
	bool sequential;
	bool refused;
	int32_t refused_at; /* the depth at which it was refused */
	size_t state_bytes; /* state's, taken from the memory bound */
	seq **longest;
	int status;
	size_t bytes; /* taken from the memory bound for the above */
} part_search;

static int32_t longest_len(const part_search *ps, int32_t id)
{
	return ps->longest[id] ? ps->longest[id]->len : 0;
}

static seq *seq_new(size_t len, budget_mem *view)
{
	size_t bytes = sizeof(seq) + len * sizeof(int32_t);
	if (!mem_take(view, bytes))
		return NULL;
	seq *s = malloc(bytes);
	if (!s) {
		mem_give(view, bytes);
		return NULL;
	}
	s->refs = 1; /* the caller's, until it has handed it out */
	s->len = (int32_t)len;
	return s;
}

static seq *seq_of_stack(const part_search *ps, budget_mem *view)
{
	seq *s = seq_new(ps->depth, view);
	for (size_t j = 0; s && j < ps->depth; j++)
		s->ids[j] = ps->nodes[ps->stack[j].entry].id;
	return s;
}

/* A sequential part's first len operations, in their order in the list
 * (node 2j+1 is the j-th call). */
static seq *seq_of_prefix(const part_search *ps, size_t len, budget_mem *view)
{
	seq *s = seq_new(len, view);
	for (size_t j = 0; s && j < len; j++)
		s->ids[j] = ps->nodes[2 * j + 1].id;
	return s;
}

static void set_longest(part_search *ps, int32_t id, seq *s, budget_mem *view)
{
	s->refs++;
	seq_release(ps->longest[id], view);
	ps->longest[id] = s;
}

/* Before a backtrack from depth D: every operation on the stack whose
 * longest linearization is shorter than D gets the stack as its longest.
 * The operations below the lowest one that needs it are skipped: the
 * running minimum says none of them does. */
static void record_longest(part_search *ps, budget_mem *view)
{
	int32_t D = (int32_t)ps->depth;
	if (ps->stack[D - 1].min_longest >= D)
		return;
	int32_t p = D - 1;
	while (p > 0 && ps->stack[p - 1].min_longest < D)
		p--;
	seq *s = seq_of_stack(ps, view);
	if (!s)
		return; /* over the view's memory: the page shows less */
	for (int32_t j = p; j < D; j++) {
		int32_t id = ps->nodes[ps->stack[j].entry].id;
		if (longest_len(ps, id) < D)
			set_longest(ps, id, s, view);
		int32_t below = j > 0 ? ps->stack[j - 1].min_longest : INT32_MAX;
		int32_t here = longest_len(ps, id);
		ps->stack[j].min_longest = here < below ? here : below;
	}
	seq_release(s, view);
}

static void push(part_search *ps, int32_t e)
{
	frame *f = &ps->stack[ps->depth];
	f->entry = e;
	f->state = ps->state;
	int32_t here = ps->record ? longest_len(ps, ps->nodes[e].id) : 0;
	int32_t below = ps->depth ? ps->stack[ps->depth - 1].min_longest : INT32_MAX;
	f->min_longest = here < below ? here : below;
	ps->depth++;
}

/* Add id to the linearized set, or take it out, and its hash with it. */
static void toggle(part_search *ps, int32_t id)
{
	bitset_flip(ps->lin, (size_t)id);
	ps->lin_hash ^= bitset_zobrist((size_t)id);
}

/* Try to linearize call e next (checkSingle's first branch). */
static void try_call(part_search *ps, int32_t e, budget_mem *bm)
{
	const porc_model *m = ps->m;
	node *nodes = ps->nodes;
	void *next = NULL;
	if (!m->step(ps->state, nodes[e].value, nodes[nodes[e].match].value, &next)) {
		ps->cur = nodes[e].next;
		return;
	}
	bool owns = next != ps->state;
	toggle(ps, nodes[e].id);
	uint64_t h = ps->lin_hash ^ (m->hash ? m->hash(next) : 0);
	if (cache_contains(&ps->c, m, h, ps->lin, next)) {
		toggle(ps, nodes[e].id);
		if (owns)
			m->free_state(next);
		ps->cur = nodes[e].next;
		return;
	}
	if (!cache_add(&ps->c, m, bm, h, ps->lin, next, owns)) {
		toggle(ps, nodes[e].id);
		if (owns)
			m->free_state(next);
		ps->status = OUT_OF_MEMORY;
		return;
	}
	push(ps, e);
	ps->state = next;
	lift(nodes, e);
	ps->cur = nodes[0].next;
}

/* Undo the last choice and try the call after it (the second branch). */
static void backtrack(part_search *ps, budget_mem *view)
{
	if (ps->depth == 0) {
		ps->status = FOUND_ILLEGAL;
		return;
	}
	if (ps->record)
		record_longest(ps, view);
	frame *top = &ps->stack[--ps->depth];
	int32_t e = top->entry;
	ps->state = top->state;
	toggle(ps, ps->nodes[e].id);
	unlift(ps->nodes, e);
	ps->cur = ps->nodes[e].next;
}

/* Every operation's longest is the whole linearization (Go's end of
 * checkSingle). */
static void record_complete(part_search *ps, budget_mem *view)
{
	seq *s = seq_of_stack(ps, view);
	if (!s)
		return;
	for (size_t id = 0; id < ps->n; id++)
		set_longest(ps, (int32_t)id, s, view);
	seq_release(s, view);
}

/* The operations of a sequential part's first len each get that prefix as
 * their longest (what the general search's first backtrack from depth len
 * records, or its end when len is the whole part). */
static void record_prefix(part_search *ps, size_t len, budget_mem *view)
{
	seq *s = seq_of_prefix(ps, len, view);
	if (!s)
		return;
	for (size_t j = 0; j < len; j++)
		set_longest(ps, ps->nodes[2 * j + 1].id, s, view);
	seq_release(s, view);
}

/* The state a sequential part moves to; the one it leaves is not needed
 * again.  false when the memory bound says no. */
static bool sequential_advance(part_search *ps, void *next, budget_mem *bm)
{
	if (next == ps->state)
		return true; /* a step that changes nothing (a Get) */
	size_t sb = ps->m->state_size ? ps->m->state_size(next) : DEFAULT_STATE_BYTES;
	if (!mem_take(bm, sb)) {
		ps->m->free_state(next);
		return false;
	}
	if (ps->state != ps->init_state)
		ps->m->free_state(ps->state);
	mem_give(bm, ps->state_bytes);
	ps->state = next;
	ps->state_bytes = sb;
	return true;
}

/* One step of a sequential part, the general search's step for step: the
 * next call is tried; once one is refused, each step is the backtrack the
 * general search would take, from the depth reached down to the empty
 * stack, which proves the part illegal.  (Its backtracks find nothing: each
 * popped call is followed by its own return.) */
static void sequential_step(part_search *ps, budget_mem *bm, budget_mem *view)
{
	if (ps->refused) {
		if (ps->depth == 0) {
			ps->status = FOUND_ILLEGAL;
			return;
		}
		if (ps->record && ps->depth == (size_t)ps->refused_at)
			record_prefix(ps, ps->depth, view);
		ps->depth--;
		return;
	}
	const node *c = &ps->nodes[2 * ps->depth + 1];
	void *next = NULL;
	if (!ps->m->step(ps->state, c->value, ps->nodes[c->match].value, &next)) {
		ps->refused = true;
		ps->refused_at = (int32_t)ps->depth;
		return;
	}
	if (!sequential_advance(ps, next, bm)) {
		ps->status = OUT_OF_MEMORY;
		return;
	}
	ps->depth++;
}

/* search() for a sequential part: the same loop, with no choice to make. */
static void search_sequential(part_search *ps, uint64_t quota, uint64_t *used, budget_mem *bm,
			      budget_mem *view)
{
	uint64_t steps = 0;
	while (ps->status == SEARCHING) {
		if (!ps->refused && ps->depth == ps->n) {
			ps->status = FOUND_OK;
			if (ps->record)
				record_prefix(ps, ps->n, view);
			break;
		}
		if (steps == quota)
			break;
		steps++;
		sequential_step(ps, bm, view);
	}
	*used = steps;
}

/* Search for at most quota steps; *used gets the steps taken. */
static void search(part_search *ps, uint64_t quota, uint64_t *used, budget_mem *bm,
		   budget_mem *view)
{
	if (ps->sequential) {
		search_sequential(ps, quota, used, bm, view);
		return;
	}
	uint64_t steps = 0;
	while (ps->status == SEARCHING) {
		/* Done before out of steps: a part whose last step was its
		 * turn's last is not left waiting for a turn it may not get. */
		if (ps->nodes[0].next < 0) {
			ps->status = FOUND_OK;
			if (ps->record)
				record_complete(ps, view);
			break;
		}
		if (steps == quota)
			break;
		steps++;
		int32_t e = ps->cur;
		if (ps->nodes[e].match >= 0)
			try_call(ps, e, bm);
		else
			backtrack(ps, view);
	}
	*used = steps;
}

/* Whether the list is call, its return, call, its return, ...: every
 * operation returns before the next is called (at equal times a call
 * sorts first, so operations that touch are not sequential). */
static bool list_is_sequential(const node *nodes, size_t n)
{
	for (size_t j = 0; j < n; j++)
		if (nodes[2 * j + 1].match != (int32_t)(2 * j + 2))
			return false;
	return true;
}

/* Build a part's list and search state; false when out of memory.
 * general_only: search it the general way even when it is sequential. */
static bool part_init(part_search *ps, const porc_model *m, const porc_operation *ops,
		      size_t *op, size_t n, bool record, bool general_only, budget_mem *bm)
{
	memset(ps, 0, sizeof *ps);
	ps->m = m;
	ps->n = n;
	ps->op = op;
	ps->record = record;
	size_t words = bitset_words(n);
	size_t bytes = (2 * n + 1) * sizeof(node) + 2 * n * sizeof(entry) + n * sizeof(frame) +
		       words * sizeof(uint64_t) + n * sizeof(int32_t) + n * sizeof(seq *);
	if (!mem_take(bm, bytes))
		return false;
	ps->bytes = bytes;
	entry *es = malloc(2 * n * sizeof *es);
	int32_t *ret_node = malloc(n * sizeof *ret_node);
	ps->nodes = malloc((2 * n + 1) * sizeof *ps->nodes);
	ps->stack = malloc(n * sizeof *ps->stack);
	ps->lin = calloc(words ? words : 1, sizeof *ps->lin);
	ps->longest = calloc(n ? n : 1, sizeof *ps->longest);
	ps->c.words = words;
	ps->init_state = m->init();
	ps->state = ps->init_state;
	bool ok = es && ret_node && ps->nodes && ps->stack && ps->lin && ps->longest && ps->init_state;
	if (ok) {
		for (size_t id = 0; id < n; id++) {
			const porc_operation *o = &ops[op[id]];
			/* A return before its call would unlink the list:
			 * treat it as at the call. */
			int64_t ret = o->ret < o->call ? o->call : o->ret;
			es[2 * id] = (entry){ o->call, (int32_t)id, false };
			es[2 * id + 1] = (entry){ ret, (int32_t)id, true };
		}
		qsort(es, 2 * n, sizeof *es, entry_cmp);
		ps->nodes[0] = (node){ NULL, -1, -1, n > 0 ? 1 : -1, -1 };
		for (size_t i = 0; i < 2 * n; i++)
			if (es[i].is_return)
				ret_node[es[i].id] = (int32_t)(i + 1);
		for (size_t i = 0; i < 2 * n; i++) {
			const porc_operation *o = &ops[op[es[i].id]];
			node *nd = &ps->nodes[i + 1];
			nd->value = es[i].is_return ? o->output : o->input;
			nd->match = es[i].is_return ? -1 : ret_node[es[i].id];
			nd->id = es[i].id;
			nd->prev = (int32_t)i;
			nd->next = i + 1 < 2 * n ? (int32_t)(i + 2) : -1;
		}
		ps->cur = ps->nodes[0].next;
		ps->sequential = !general_only && list_is_sequential(ps->nodes, n);
	}
	free(es);
	free(ret_node);
	return ok;
}

static void part_free(part_search *ps, budget_mem *bm, budget_mem *view)
{
	const porc_model *m = ps->m;
	cache_free(&ps->c, m, bm);
	if (ps->sequential && ps->state != ps->init_state)
		m->free_state(ps->state); /* the cache holds none of its states */
	mem_give(bm, ps->state_bytes);
	ps->state_bytes = 0;
	if (ps->init_state)
		m->free_state(ps->init_state);
	if (ps->longest)
		for (size_t id = 0; id < ps->n; id++)
			seq_release(ps->longest[id], view);
	mem_give(bm, ps->bytes);
	ps->bytes = 0;
	free(ps->nodes);
	free(ps->stack);
	free(ps->lin);
	free(ps->longest);
	ps->nodes = NULL;
	ps->stack = NULL;
	ps->lin = NULL;
	ps->longest = NULL;
	ps->init_state = NULL;
}

/* ---- The info for the view ---- */

/* The distinct longest linearizations of a part (Go's set of pointers). */
static bool collect_partials(const part_search *ps, porc_part_info *pi)
{
	if (!ps->longest)
		return true;
	seq **seen = malloc((ps->n ? ps->n : 1) * sizeof *seen);
	pi->partials = calloc(ps->n ? ps->n : 1, sizeof *pi->partials);
	if (!seen || !pi->partials) {
		free(seen);
		return false;
	}
	size_t nseen = 0;
	for (size_t id = 0; id < ps->n; id++) {
		seq *s = ps->longest[id];
		if (!s)
			continue;
		bool dup = false;
		for (size_t k = 0; k < nseen && !dup; k++)
			dup = seen[k] == s;
		if (dup)
			continue;
		seen[nseen] = s;
		porc_linearization *l = &pi->partials[nseen++];
		l->len = (size_t)s->len;
		l->ids = malloc((l->len ? l->len : 1) * sizeof *l->ids);
		if (!l->ids) {
			pi->n_partials = nseen - 1;
			free(seen);
			return false;
		}
		memcpy(l->ids, s->ids, l->len * sizeof *l->ids);
	}
	pi->n_partials = nseen;
	free(seen);
	return true;
}

void porc_info_free(porc_info *info)
{
	if (!info)
		return;
	for (size_t p = 0; p < info->n_parts; p++) {
		porc_part_info *pi = &info->parts[p];
		for (size_t k = 0; k < pi->n_partials; k++)
			free(pi->partials[k].ids);
		free(pi->partials);
		free(pi->op);
	}
	free(info->parts);
	free(info->ops);
	free(info);
}

/* ---- Partitioning and the turns ---- */

/* Each part's operations' indexes, in history order: ids[part] arrays. */
static bool split(const porc_model *m, const porc_operation *ops, size_t n, size_t *nparts,
		  size_t ***members, size_t **sizes)
{
	size_t *part = calloc(n ? n : 1, sizeof *part);
	if (!part)
		return false;
	size_t np = m->partition && n ? m->partition(ops, n, part) : (n ? 1 : 0);
	size_t *sz = calloc(np ? np : 1, sizeof *sz);
	size_t **mem = calloc(np ? np : 1, sizeof *mem);
	bool ok = sz && mem;
	for (size_t i = 0; ok && i < n; i++) {
		if (part[i] >= np)
			ok = false; /* a broken partition function */
		else
			sz[part[i]]++;
	}
	for (size_t p = 0; ok && p < np; p++)
		ok = (mem[p] = malloc((sz[p] ? sz[p] : 1) * sizeof **mem)) != NULL;
	if (ok) {
		memset(sz, 0, np * sizeof *sz);
		for (size_t i = 0; i < n; i++)
			mem[part[i]][sz[part[i]]++] = i;
	} else if (mem) {
		for (size_t p = 0; p < np; p++)
			free(mem[p]);
	}
	free(part);
	if (!ok) {
		free(sz);
		free(mem);
		return false;
	}
	*nparts = np;
	*members = mem;
	*sizes = sz;
	return true;
}

static porc_info *info_new(const porc_operation *ops, size_t n, size_t nparts)
{
	porc_info *info = calloc(1, sizeof *info);
	if (!info)
		return NULL;
	info->ops = malloc((n ? n : 1) * sizeof *info->ops);
	info->parts = calloc(nparts ? nparts : 1, sizeof *info->parts);
	if (!info->ops || !info->parts) {
		porc_info_free(info);
		return NULL;
	}
	if (n)
		memcpy(info->ops, ops, n * sizeof *ops);
	info->n_ops = n;
	info->n_parts = nparts;
	return info;
}

porc_result porc_check_operations(const porc_model *m, const porc_operation *ops, size_t n,
				  uint64_t budget, porc_info **info)
{
	porc_limits limits = { budget, 0, false };
	return porc_check(m, ops, n, &limits, info, NULL);
}

porc_result porc_check(const porc_model *m, const porc_operation *ops, size_t n,
		       const porc_limits *limits, porc_info **info, porc_stats *stats)
{
	uint64_t budget = limits->budget;
	size_t memory_max = limits->memory_max ? limits->memory_max : PORC_MEMORY_MAX;
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (info)
		*info = NULL;
	size_t np = 0, **members = NULL, *sizes = NULL;
	if (!split(m, ops, n, &np, &members, &sizes))
		return PORC_UNKNOWN;
	budget_mem bm = { 0, memory_max, 0 }, view = { 0, memory_max, 0 };
	part_search *ps = calloc(np ? np : 1, sizeof *ps);
	porc_info *inf = info ? info_new(ops, n, np) : NULL;
	bool out_of_memory = !ps || (info && !inf);
	size_t live = 0;
	for (size_t p = 0; p < np && !out_of_memory; p++) {
		if (!part_init(&ps[p], m, ops, members[p], sizes[p], info != NULL,
			       limits->general_only, &bm))
			out_of_memory = true;
		live = p + 1;
	}

	/* Turns, as goroutines side by side: stop at the first illegal part
	 * unless the view wants them all (Go's checkParallel). */
	bool illegal = false, spent = false;
	uint64_t used_total = 0;
	size_t searching = out_of_memory ? 0 : np;
	while (searching > 0 && !(illegal && !info) && !spent) {
		for (size_t p = 0; p < np && !spent && !(illegal && !info); p++) {
			if (ps[p].status != SEARCHING)
				continue;
			uint64_t quota = TURN_STEPS, used = 0;
			if (budget && budget - used_total < quota)
				quota = budget - used_total;
			search(&ps[p], quota, &used, &bm, &view);
			used_total += used;
			if (ps[p].status != SEARCHING)
				searching--;
			if (ps[p].status == FOUND_ILLEGAL)
				illegal = true;
			if (ps[p].status == OUT_OF_MEMORY)
				spent = true;
			if (budget && used_total >= budget && searching > 0)
				spent = true;
		}
	}
	porc_result result = illegal ? PORC_ILLEGAL :
			     (spent || out_of_memory || searching > 0) ? PORC_UNKNOWN : PORC_OK;

	if (stats) {
		stats->steps = used_total;
		stats->parts = np;
		for (size_t p = 0; p < live; p++)
			stats->cache_entries += ps[p].c.count;
	}
	for (size_t p = 0; p < live; p++) {
		if (inf) {
			porc_part_info *pi = &inf->parts[p];
			pi->result = ps[p].status == FOUND_OK	   ? PORC_OK :
				     ps[p].status == FOUND_ILLEGAL ? PORC_ILLEGAL :
								     PORC_UNKNOWN;
			pi->n = sizes[p];
			pi->op = members[p];
			members[p] = NULL;
			collect_partials(&ps[p], pi);
		}
		part_free(&ps[p], &bm, &view);
	}
	for (size_t p = 0; p < np; p++)
		free(members[p]);
	free(members);
	free(sizes);
	free(ps);
	if (stats)
		stats->peak_memory = bm.peak;
	if (inf) {
		inf->result = result;
		*info = inf;
	}
	return result;
}
