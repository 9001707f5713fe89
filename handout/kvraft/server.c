/* server.c: the KVServer (server.go).  kvraft.h says what each function
 * must do.
 *
 * Given: the RPC plumbing (each handler decodes its arguments and encodes
 * its reply), the reference count the tester and the service hold, and
 * kvserver_kill's first steps.  "Your code here" marks what the lab asks
 * of you.  C has no garbage collector: kvserver_kill must stop and join
 * every thread the server started, and wake every handler that waits. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../raft_harness.h"
#include "../util.h"
#include "common.h"
#include "kvraft.h"

/* Go's Op: what goes into the Raft log (you encode it as bytes). */
typedef struct {
	/* Your definitions here. */
	int unused;
} Op;

struct KVServer {
	pthread_mutex_t mu;
	int me;
	Raft *rf;
	Chan *apply_ch;
	atomic_bool dead;     /* set by kvserver_kill() */
	atomic_int refs;      /* the tester's and the service's */
	int maxraftstate;     /* snapshot if log grows this big */

	pthread_mutex_t kill_mu; /* serializes kvserver_kill */
	bool killed;             /* kill_mu */

	/* Your definitions here. */
};

static void Get(KVServer *kv, const GetArgs *args, GetReply *reply)
{
	(void)kv;
	(void)args;
	(void)reply;
	/* Your code here. */
}

static void PutAppend(KVServer *kv, const PutAppendArgs *args, PutAppendReply *reply)
{
	(void)kv;
	(void)args;
	(void)reply;
	/* Your code here. */
}

/* ---- Given: the RPC plumbing ---- */

static int kv_get(void *rcvr, labgob_decoder *d, labgob_encoder *out)
{
	GetArgs args;
	if (!decode_get_args(d, &args))
		return -1;
	GetReply reply = { .err = OK, .value = NULL };
	Get(rcvr, &args, &reply);
	encode_get_reply(out, &reply);
	free(reply.value);
	get_args_free(&args);
	return 0;
}

static int kv_put_append(void *rcvr, labgob_decoder *d, labgob_encoder *out)
{
	PutAppendArgs args;
	if (!decode_put_append_args(d, &args))
		return -1;
	PutAppendReply reply = { .err = OK };
	PutAppend(rcvr, &args, &reply);
	encode_put_append_reply(out, &reply);
	put_append_args_free(&args);
	return 0;
}

static const labrpc_method kv_methods[] = {
	{ "Get", kv_get },
	{ "PutAppend", kv_put_append },
};

static void release_service(void *rcvr)
{
	kvserver_release(rcvr);
}

labrpc_service *kvserver_service(KVServer *kv)
{
	atomic_fetch_add(&kv->refs, 1);
	/* Not inline: handlers that wait for Raft block. */
	return labrpc_make_service("KVServer", kv, kv_methods,
				   sizeof kv_methods / sizeof kv_methods[0], release_service);
}

Raft *kvserver_raft(KVServer *kv)
{
	return kv->rf;
}

/* the tester calls kvserver_kill() when a KVServer instance won't be
 * needed again.  it sets kv->dead and kills Raft; your code must stop and
 * join whatever threads the server started, and wake every handler that
 * waits, before it returns. */
void kvserver_kill(KVServer *kv)
{
	pthread_mutex_lock(&kv->kill_mu);
	if (!kv->killed) {
		atomic_store(&kv->dead, true);
		raft_kill(kv->rf);
		/* Your code here, if desired. */
		kv->killed = true;
	}
	pthread_mutex_unlock(&kv->kill_mu);
}

static bool killed(KVServer *kv) __attribute__((unused));
static bool killed(KVServer *kv)
{
	return atomic_load(&kv->dead);
}

void kvserver_release(KVServer *kv)
{
	if (kv == NULL || atomic_fetch_sub(&kv->refs, 1) != 1)
		return;
	kvserver_kill(kv);
	raft_release(kv->rf);
	chan_free(kv->apply_ch);
	/* Your code here: free what kvserver_start allocated. */
	pthread_mutex_destroy(&kv->mu);
	pthread_mutex_destroy(&kv->kill_mu);
	free(kv);
}

/* servers[] contains the ports of the set of servers that will cooperate
 * via Raft to form the fault-tolerant key/value service.  me is the index
 * of the current server in servers[].  the k/v server should store
 * snapshots through the underlying Raft implementation, which should call
 * persister_save() to atomically save the Raft state along with the
 * snapshot.  the k/v server should snapshot when Raft's saved state
 * exceeds maxraftstate bytes, in order to allow Raft to garbage-collect
 * its log.  if maxraftstate is -1, you don't need to snapshot.
 * kvserver_start() must return quickly, so it should start threads for
 * any long-running work. */
KVServer *kvserver_start(labrpc_end *const *servers, int n, int me, Persister *persister,
			 int maxraftstate, uint64_t seed, char *err, size_t errlen)
{
	KVServer *kv = xcalloc(1, sizeof *kv);
	pthread_mutex_init(&kv->mu, NULL);
	pthread_mutex_init(&kv->kill_mu, NULL);
	atomic_init(&kv->dead, false);
	atomic_init(&kv->refs, 1);
	kv->me = me;
	kv->maxraftstate = maxraftstate;

	/* You may need initialization code here. */

	kv->apply_ch = chan_make(sizeof(ApplyMsg));
	kv->rf = raft_make(servers, n, me, persister, kv->apply_ch, seed, err, errlen);
	if (kv->rf == NULL) {
		chan_free(kv->apply_ch);
		pthread_mutex_destroy(&kv->mu);
		pthread_mutex_destroy(&kv->kill_mu);
		free(kv);
		return NULL;
	}

	/* You may need initialization code here. */

	return kv;
}
