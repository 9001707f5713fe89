/* etcd.h: a register with read, write and compare-and-set, the model of
 * the Jepsen etcd logs porcupine publishes (porcupine_test.go's
 * etcdModel).  The whole history is one part. */
#ifndef MODELS_ETCD_H
#define MODELS_ETCD_H

#include <stdbool.h>
#include <stdint.h>

#include "../porcupine/porcupine.h"

enum { ETCD_OP_READ = 0, ETCD_OP_WRITE = 1, ETCD_OP_CAS = 2 };

typedef struct {
	uint8_t op;   /* ETCD_OP_READ, ETCD_OP_WRITE or ETCD_OP_CAS */
	int64_t arg1; /* write's value, or cas's from */
	int64_t arg2; /* cas's to */
} etcd_input;

typedef struct {
	bool ok;      /* cas succeeded */
	bool exists;  /* read: the register had a value (else it read nil) */
	int64_t value; /* read's value */
	bool unknown; /* the operation timed out: any outcome fits */
} etcd_output;

extern const porc_model etcd_model;

#endif
