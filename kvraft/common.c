/* common.c: encoding the key/value service's RPC messages (common.h). */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#include "../util.h"

const char *kv_err_name(Err err)
{
	static const char *const names[] = { "OK", "ErrNoKey", "ErrWrongLeader" };
	return (unsigned)err <= KV_ERR_MAX ? names[err] : "Err?";
}

void kv_put_string(labgob_encoder *e, const char *s)
{
	labgob_put_bytes(e, s, strlen(s));
}

char *kv_get_string(labgob_decoder *d)
{
	const uint8_t *p;
	size_t n;
	if (!labgob_get_bytes(d, &p, &n) || memchr(p, '\0', n) != NULL)
		return NULL;
	char *s = xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static bool get_err(labgob_decoder *d, Err *err)
{
	int v;
	if (!labgob_get_int(d, &v, 0, KV_ERR_MAX))
		return false;
	*err = (Err)v;
	return true;
}

void encode_put_append_args(labgob_encoder *e, const PutAppendArgs *a)
{
	kv_put_string(e, a->key);
	kv_put_string(e, a->value);
	labgob_put_int(e, a->op);
	labgob_put_int(e, a->client_id);
	labgob_put_int(e, a->seq);
}

bool decode_put_append_args(labgob_decoder *d, PutAppendArgs *a)
{
	memset(a, 0, sizeof *a);
	char *key = kv_get_string(d);
	char *value = kv_get_string(d);
	int op;
	a->key = key;
	a->value = value;
	if (key && value && labgob_get_int(d, &op, OP_PUT, OP_APPEND) &&
	    labgob_get_int64(d, &a->client_id) && labgob_get_int64(d, &a->seq) &&
	    labgob_decoder_finish(d) == LABGOB_OK) {
		a->op = (kv_op_kind)op;
		return true;
	}
	put_append_args_free(a);
	return false;
}

void put_append_args_free(PutAppendArgs *a)
{
	free((char *)a->key);
	free((char *)a->value);
	a->key = a->value = NULL;
}

void encode_put_append_reply(labgob_encoder *e, const PutAppendReply *r)
{
	labgob_put_int(e, r->err);
}

bool decode_put_append_reply(labgob_decoder *d, PutAppendReply *r)
{
	return get_err(d, &r->err) && labgob_decoder_finish(d) == LABGOB_OK;
}

void encode_get_args(labgob_encoder *e, const GetArgs *a)
{
	kv_put_string(e, a->key);
	labgob_put_int(e, a->client_id);
	labgob_put_int(e, a->seq);
}

bool decode_get_args(labgob_decoder *d, GetArgs *a)
{
	memset(a, 0, sizeof *a);
	a->key = kv_get_string(d);
	if (a->key && labgob_get_int64(d, &a->client_id) && labgob_get_int64(d, &a->seq) &&
	    labgob_decoder_finish(d) == LABGOB_OK)
		return true;
	get_args_free(a);
	return false;
}

void get_args_free(GetArgs *a)
{
	free((char *)a->key);
	a->key = NULL;
}

void encode_get_reply(labgob_encoder *e, const GetReply *r)
{
	labgob_put_int(e, r->err);
	kv_put_string(e, r->value ? r->value : "");
}

bool decode_get_reply(labgob_decoder *d, GetReply *r)
{
	r->value = NULL;
	if (get_err(d, &r->err) && (r->value = kv_get_string(d)) != NULL &&
	    labgob_decoder_finish(d) == LABGOB_OK)
		return true;
	free(r->value);
	r->value = NULL;
	return false;
}
