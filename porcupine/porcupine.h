/* porcupine.h: a linearizability checker (porcupine's model.go,
 * checker.go, porcupine.go and visualization.go).
 *
 * A history is a list of operations, each with its client, its input, its
 * output and the times of its call and return.  The checker splits it with
 * the model's partition function (by key, for the key/value model), then
 * searches each part depth-first for an order of the operations that the
 * model accepts and that respects real time (an operation that returned
 * before another was called comes first), remembering the (set of
 * linearized operations, state) pairs it has seen so it never explores one
 * twice.
 *
 * Go's porcupine gives up after a wall-clock timeout and then assumes the
 * history is fine ("Unknown").  Ours counts its budget in search steps, so
 * the same history gets the same verdict on any machine and under make sim. */
#ifndef PORCUPINE_H
#define PORCUPINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Go's porcupine.Operation.  input and output point to the model's own
 * types (models/kv.h's kv_input and kv_output); the history's owner keeps
 * them alive while the checker runs. */
typedef struct {
	int client_id; /* zero-based; only the HTML view uses it */
	const void *input;
	int64_t call;  /* invocation time (any unit, the same for every operation) */
	const void *output;
	int64_t ret;   /* response time */
} porc_operation;

/* A model's state is an opaque pointer that the model allocates; the
 * checker copies none and frees each through free_state. */
typedef struct porc_model {
	const char *name;
	/* Split the operations into parts that can be checked alone: writes a
	 * part number for each operation into part[] and returns how many parts
	 * there are (numbered 0..n-1, in the order the view shows them).  NULL
	 * means a single part. */
	size_t (*partition)(const porc_operation *ops, size_t n, size_t *part);
	void *(*init)(void);
	/* Whether the state can take this step; if so *next is the new state:
	 * a new allocation, or state itself when the step leaves it as it is
	 * (a Get; the checker then frees nothing twice).  state is not
	 * changed. */
	bool (*step)(const void *state, const void *input, const void *output, void **next);
	bool (*equal)(const void *a, const void *b);
	uint64_t (*hash)(const void *state); /* equal states hash equally */
	void (*free_state)(void *state);
	/* For the view: "get('x') -> 'y'", and a state's text.  Each returns a
	 * malloc'd string. */
	char *(*describe_operation)(const void *input, const void *output);
	char *(*describe_state)(const void *state);
	/* Optional: the bytes a state holds, so that the checker's memory
	 * bound counts them (NULL: a few words each). */
	size_t (*state_size)(const void *state);
	/* Optional, for the view: the name of the part an operation is in
	 * ("key 'x'"), malloc'd.  NULL: "part N". */
	char *(*describe_part)(const void *input);
} porc_model;

typedef enum { PORC_OK, PORC_ILLEGAL, PORC_UNKNOWN } porc_result;

const char *porc_result_name(porc_result r); /* "Ok", "Illegal", "Unknown" */

/* What the view needs: each part's operations and its longest partial
 * linearizations.  Opaque. */
typedef struct porc_info porc_info;

/* The step budget of the lab's tests: the search steps that stand for Go's
 * one second (linearizabilityCheckTimeout).  Go's porcupine searches the
 * same steps as ours (the same algorithm in the same order) and takes 1.1 s
 * for porcupine's c50-ok history, 918,097 steps, on the machine this was
 * written on: about 0.85 million steps a second, rounded up to 1 million.
 * Ours takes about 60 ms for them. */
#define PORC_LAB_BUDGET 1000000ull

/* The most memory the search's caches may hold, over all parts: a history
 * that needs more says PORC_UNKNOWN, as one out of steps does. */
#define PORC_MEMORY_MAX (512u << 20)

/* Check a history.  budget: search steps over all parts (0: no limit); once
 * spent, the verdict is PORC_UNKNOWN unless a part was already found
 * illegal.  The parts are searched in turns of a few thousand steps each,
 * as Go's goroutines search them side by side, so a small illegal part is
 * found even when a large part would use up the budget.  When info is not
 * NULL it receives what porc_visualize needs (free it with porc_info_free);
 * it refers to the operations' inputs and outputs, which must then stay
 * alive until porc_visualize has run. */
porc_result porc_check_operations(const porc_model *m, const porc_operation *ops, size_t n,
				  uint64_t budget, porc_info **info);

/* What a check cost, for the command line and the tests. */
typedef struct {
	uint64_t steps;         /* search steps over all parts */
	size_t parts;
	size_t cache_entries;   /* (set, state) pairs remembered, over all parts */
	size_t peak_memory;     /* bytes the search held at most (the bound's count) */
} porc_stats;

typedef struct {
	uint64_t budget;   /* search steps; 0: no limit */
	size_t memory_max; /* bytes; 0: PORC_MEMORY_MAX */
	/* Search every part the general way, even one whose operations
	 * follow one another in time (for the tests: the fast path for those
	 * must give the same verdict, steps and page). */
	bool general_only;
} porc_limits;

/* porc_check_operations with both limits, and what it cost into *stats
 * (if not NULL). */
porc_result porc_check(const porc_model *m, const porc_operation *ops, size_t n,
		       const porc_limits *limits, porc_info **info, porc_stats *stats);

/* Write the HTML page of a checked history (porcupine's Visualize): one
 * lane per client, one block per part, each operation a bar from call to
 * return, and for an illegal part the longest partial linearization and
 * where it breaks.  0, or -1 with errno set when the write fails. */
int porc_visualize(const porc_model *m, const porc_info *info, FILE *out);
/* porc_visualize into a file by name. */
int porc_visualize_path(const porc_model *m, const porc_info *info, const char *path);

void porc_info_free(porc_info *info);

/* A malloc'd printf (NULL if out of memory), for the models' describe
 * functions. */
char *porc_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
