/* client.c: the Clerk (client.go).  kvraft.h says what each function
 * must do. */
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "common.h"
#include "kvraft.h"

struct Clerk {
	labrpc_end **servers;
	int n;
	/* You will have to modify this struct. */
};

/* Go's nrand(): 62 random bits, from the seed the tester gives. */
static int64_t nrand(prng *r)
{
	return (int64_t)(prng_next(r) >> 2);
}

Clerk *clerk_make(labrpc_end *const *servers, int n, uint64_t seed)
{
	Clerk *ck = xcalloc(1, sizeof *ck);
	ck->servers = xmemdup(servers, (size_t)n * sizeof *servers);
	ck->n = n;
	prng r;
	prng_seed(&r, seed);
	(void)nrand(&r);
	/* You'll have to add code here. */
	return ck;
}

void clerk_free(Clerk *ck)
{
	if (ck == NULL)
		return;
	free(ck->servers);
	free(ck);
}

/* fetch the current value for a key.
 * returns "" if the key does not exist.
 * keeps trying forever in the face of all other errors.
 *
 * you can send an RPC with code like this:
 *
 *   labgob_encoder e;
 *   labgob_encoder_init(&e);
 *   encode_get_args(&e, &args);
 *   uint8_t *buf; size_t len;
 *   bool ok = labrpc_call(ck->servers[i], "KVServer.Get", e.buf, e.len, &buf, &len);
 *
 * and decode the reply (when ok) with decode_get_reply, then free(buf). */
char *clerk_get(Clerk *ck, const char *key)
{
	(void)ck;
	(void)key;
	/* You will have to modify this function. */
	return xstrdup("");
}

/* shared by Put and Append ("KVServer.PutAppend"). */
static void put_append(Clerk *ck, const char *key, const char *value, kv_op_kind op)
{
	(void)ck;
	(void)key;
	(void)value;
	(void)op;
	/* You will have to modify this function. */
}

void clerk_put(Clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, OP_PUT);
}

void clerk_append(Clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, OP_APPEND);
}
