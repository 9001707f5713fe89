/* kv.h: the key/value model of lab 3 (models/kv.go).  The state of one
 * key is its value; the history is partitioned by key. */
#ifndef MODELS_KV_H
#define MODELS_KV_H

#include <stdint.h>

#include "../porcupine/porcupine.h"

enum { KV_OP_GET = 0, KV_OP_PUT = 1, KV_OP_APPEND = 2 };

typedef struct {
	uint8_t op; /* KV_OP_GET, KV_OP_PUT or KV_OP_APPEND */
	const char *key;
	const char *value; /* Put's and Append's argument; "" for Get */
} kv_input;

typedef struct {
	const char *value; /* Get's result; "" for Put and Append */
} kv_output;

extern const porc_model kv_model;

#endif
