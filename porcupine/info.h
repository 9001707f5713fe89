/* info.h: what a check leaves for the view (porcupine's
 * linearizationInfo), shared by checker.c and visualization.c. */
#ifndef PORCUPINE_INFO_H
#define PORCUPINE_INFO_H

#include "porcupine.h"

/* A linearization of a part: its operations' part-local ids in order. */
typedef struct {
	size_t len;
	int32_t *ids;
} porc_linearization;

typedef struct {
	porc_result result;  /* PORC_UNKNOWN: the budget ran out before it was decided */
	size_t n;            /* operations in this part */
	size_t *op;          /* op[id]: the operation's index in porc_info.ops */
	/* The longest partial linearizations (for an Ok part, the one full
	 * linearization), each different. */
	size_t n_partials;
	porc_linearization *partials;
} porc_part_info;

struct porc_info {
	porc_result result;
	size_t n_ops;
	porc_operation *ops; /* a copy; inputs and outputs still the caller's */
	size_t n_parts;
	porc_part_info *parts;
};

#endif
