/* client.c: the Clerk (client.go).
 *
 * A clerk sends each call to the server it last found to be the leader,
 * and on any failure (no reply, ErrWrongLeader) to the next one.  Only
 * after every server has failed it once in a row does it pause, so that an
 * election can finish; a call to a live leader goes out at once.  The
 * same arguments (the same seq) go out on every retry: that is how the
 * servers know a retried Put or Append. */
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "common.h"
#include "kvraft.h"

/* The pause after a round of failures: about an RPC round trip, well
 * below an election. */
#define ROUND_PAUSE_MS 5

struct Clerk {
	labrpc_end **servers;
	int n;
	int leader;        /* where the next call goes first */
	int64_t client_id; /* Go's nrand(): 62 random bits */
	int64_t seq;       /* the last call's number */
};

Clerk *clerk_make(labrpc_end *const *servers, int n, uint64_t seed)
{
	Clerk *ck = xcalloc(1, sizeof *ck);
	ck->servers = xmemdup(servers, (size_t)n * sizeof *servers);
	ck->n = n;
	prng r;
	prng_seed(&r, seed);
	ck->client_id = (int64_t)(prng_next(&r) >> 2);
	return ck;
}

void clerk_free(Clerk *ck)
{
	if (ck == NULL)
		return;
	free(ck->servers);
	free(ck);
}

/* Moves on to the next server; after a whole round of failures, pauses. */
static void next_server(Clerk *ck, int *failures)
{
	ck->leader = (ck->leader + 1) % ck->n;
	if (++*failures % ck->n == 0)
		sleep_ms(ROUND_PAUSE_MS);
}

/* One call to the current server: true when it replied (*reply, *len). */
static bool call_leader(Clerk *ck, const char *meth, const labgob_encoder *args,
			uint8_t **reply, size_t *len)
{
	return labrpc_call(ck->servers[ck->leader], meth, args->buf, args->len, reply, len);
}

char *clerk_get(Clerk *ck, const char *key)
{
	GetArgs args = { .key = key, .client_id = ck->client_id, .seq = ++ck->seq };
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_get_args(&e, &args);
	for (int failures = 0;; next_server(ck, &failures)) {
		uint8_t *buf;
		size_t len;
		if (!call_leader(ck, "KVServer.Get", &e, &buf, &len))
			continue;
		labgob_decoder d;
		labgob_decoder_init(&d, buf, len);
		GetReply reply;
		bool ok = decode_get_reply(&d, &reply);
		free(buf);
		if (ok && (reply.err == OK || reply.err == ErrNoKey)) {
			labgob_encoder_free(&e);
			return reply.value; /* "" for ErrNoKey */
		}
		if (ok)
			free(reply.value);
	}
}

/* Go's PutAppend, shared by Put and Append. */
static void put_append(Clerk *ck, const char *key, const char *value, kv_op_kind op)
{
	PutAppendArgs args = {
		.key = key, .value = value, .op = op, .client_id = ck->client_id, .seq = ++ck->seq
	};
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_put_append_args(&e, &args);
	for (int failures = 0;; next_server(ck, &failures)) {
		uint8_t *buf;
		size_t len;
		if (!call_leader(ck, "KVServer.PutAppend", &e, &buf, &len))
			continue;
		labgob_decoder d;
		labgob_decoder_init(&d, buf, len);
		PutAppendReply reply;
		bool ok = decode_put_append_reply(&d, &reply);
		free(buf);
		if (ok && reply.err == OK)
			break;
	}
	labgob_encoder_free(&e);
}

void clerk_put(Clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, OP_PUT);
}

void clerk_append(Clerk *ck, const char *key, const char *value)
{
	put_append(ck, key, value, OP_APPEND);
}
