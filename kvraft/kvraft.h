/* kvraft.h: the fault-tolerant key/value service of lab 3: its clerk
 * (client.go) and its server (server.go), as the tester uses them.
 *
 *   ck = clerk_make(ends, n, seed)     a client of the n servers
 *   v = clerk_get(ck, key)             "" when the key does not exist
 *   clerk_put(ck, key, value), clerk_append(ck, key, value)
 *
 *   kv = kvserver_start(ends, n, me, persister, maxraftstate, seed, err, errlen)
 *   kvserver_service(kv)               the labrpc service "KVServer"
 *   kvserver_raft(kv)                  its Raft peer (Go's kv.rf)
 *   kvserver_kill(kv), kvserver_release(kv)
 *
 * Each clerk call blocks until the service has done it, trying the servers
 * in turn for as long as it takes. */
#ifndef KVRAFT_H
#define KVRAFT_H

#include <stddef.h>
#include <stdint.h>

#include "../labrpc/labrpc.h"
#include "../persister.h"
#include "../raft.h"

typedef struct Clerk Clerk;

/* Go's MakeClerk.  servers[i] is an end to server i (in any order: the
 * tester shuffles them); the array is copied, the ends stay the network's.
 * seed stands for Go's crypto/rand: the client id comes from it.  A clerk
 * serves one call at a time. */
Clerk *clerk_make(labrpc_end *const *servers, int n, uint64_t seed);
void clerk_free(Clerk *ck);

/* Fetch the current value for a key (malloc'd; the caller frees it), ""
 * if the key does not exist.  Keeps trying forever in the face of all
 * other errors. */
char *clerk_get(Clerk *ck, const char *key);
void clerk_put(Clerk *ck, const char *key, const char *value);
void clerk_append(Clerk *ck, const char *key, const char *value);

typedef struct KVServer KVServer;

/* Go's StartKVServer: servers[] are the ends to the Raft peers of the
 * group (servers[me] is this one's own), persister holds what the last
 * incarnation saved, and a snapshot is taken when Raft's saved state
 * reaches maxraftstate bytes (-1: never).  Returns at once, with its
 * threads running, and one reference, the caller's; NULL with the reason
 * in err when the saved state does not decode. */
KVServer *kvserver_start(labrpc_end *const *servers, int n, int me, Persister *persister,
			 int maxraftstate, uint64_t seed, char *err, size_t errlen);

/* The service "KVServer" (methods Get and PutAppend) that the tester adds
 * to the server's labrpc server; it holds a reference to kv. */
labrpc_service *kvserver_service(KVServer *kv);

/* The Raft peer under kv, for the tester's raft_service and GetState.  It
 * lives as long as kv does. */
Raft *kvserver_raft(KVServer *kv);

/* Stop the server and its Raft: every thread it started is joined and
 * every call waiting in it returns (ErrWrongLeader) before this returns.
 * Safe to call more than once. */
void kvserver_kill(KVServer *kv);

/* Drop a reference; the last one kills the server and frees it. */
void kvserver_release(KVServer *kv);

#endif
