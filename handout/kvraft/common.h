/* common.h: the key/value service's RPC messages (common.go), and their
 * encoding.  Add the fields you need to a struct and to its encode and
 * decode functions in common.c. */
#ifndef KVRAFT_COMMON_H
#define KVRAFT_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "../labgob/labgob.h"

/* Go's Err strings. */
typedef enum { OK = 0, ErrNoKey, ErrWrongLeader } Err;

#define KV_ERR_MAX ErrWrongLeader

/* "OK", "ErrNoKey", "ErrWrongLeader". */
const char *kv_err_name(Err err);

typedef enum { OP_GET = 0, OP_PUT = 1, OP_APPEND = 2 } kv_op_kind;

/* Put or Append.  The strings are the caller's (encoding) or malloc'd by
 * the decoder (put_append_args_free). */
typedef struct {
	const char *key;
	const char *value;
	kv_op_kind op; /* OP_PUT or OP_APPEND */
	/* You'll have to add definitions here. */
} PutAppendArgs;

typedef struct {
	Err err;
} PutAppendReply;

typedef struct {
	const char *key;
	/* You'll have to add definitions here. */
} GetArgs;

typedef struct {
	Err err;
	char *value; /* malloc'd by the decoder; the caller frees it */
} GetReply;

void encode_put_append_args(labgob_encoder *e, const PutAppendArgs *a);
void encode_put_append_reply(labgob_encoder *e, const PutAppendReply *r);
void encode_get_args(labgob_encoder *e, const GetArgs *a);
void encode_get_reply(labgob_encoder *e, const GetReply *r);

/* Each decoder reads the whole message, or returns false. */
bool decode_put_append_args(labgob_decoder *d, PutAppendArgs *a);
void put_append_args_free(PutAppendArgs *a);
bool decode_put_append_reply(labgob_decoder *d, PutAppendReply *r);
bool decode_get_args(labgob_decoder *d, GetArgs *a);
void get_args_free(GetArgs *a);
bool decode_get_reply(labgob_decoder *d, GetReply *r);

/* A string field: a malloc'd C string, NULL when the decoder fails. */
char *kv_get_string(labgob_decoder *d);
void kv_put_string(labgob_encoder *e, const char *s);

#endif
