/* config.h: the key/value service's tester harness (kvraft/config.go).
 *
 * Names differ from Go's only where C needs them apart from the Raft
 * tester's (labtest/config.h), which links into the same binary: the
 * harness is a kv_config and its methods are kvcfg_*.  Failures go through
 * the Raft tester's cfg_fatalf, which needs only cfg->seed. */
#ifndef KVRAFT_CONFIG_H
#define KVRAFT_CONFIG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../labrpc/labrpc.h"
#include "../persister.h"
#include "../util.h"
#include "kvraft.h"

/* One clerk the tester made, with the names of its ends. */
typedef struct kv_clerk_entry {
	Clerk *ck;
	char **endnames;
	struct kv_clerk_entry *next;
} kv_clerk_entry;

typedef struct kv_config {
	pthread_mutex_t mu;
	labrpc_net *net;
	int n;
	KVServer **kvservers;
	Persister **saved;
	char ***endnames;      /* names of each server's sending ClientEnds */
	kv_clerk_entry *clerks;
	int next_client_id;
	int maxraftstate;
	int64_t start_us;      /* time at which make_config() was called */
	/* begin()/end() statistics */
	int64_t t0_us;         /* time at which the test called cfg.begin() */
	int rpcs0;             /* rpcTotal() at start of test */
	atomic_int ops;        /* number of clerk get/put/append method calls */
	int incarnation;       /* servers started so far, for their seeds */
	uint64_t seed;
	pthread_mutex_t rng_mu;
	prng rng;
} kv_config;

kv_config *kvcfg_make_config(int n, bool unreliable, int maxraftstate);
void kvcfg_cleanup(kv_config *cfg);
/* Go's rand.Int(), from the tester's seeded PRNG. */
int64_t kvcfg_rand(kv_config *cfg);
/* Maximum log (Raft state) size across all servers. */
int kvcfg_log_size(kv_config *cfg);
/* Maximum snapshot size across all servers. */
int kvcfg_snapshot_size(kv_config *cfg);
void kvcfg_connect(kv_config *cfg, int i, const int *to, int nto);
void kvcfg_disconnect(kv_config *cfg, int i, const int *from, int nfrom);
/* Go's All(): 0..n-1 into all (n ints). */
void kvcfg_all(kv_config *cfg, int *all);
void kvcfg_connect_all(kv_config *cfg);
/* Two partitions with connectivity between servers in each. */
void kvcfg_partition(kv_config *cfg, const int *p1, int n1, const int *p2, int n2);
/* A clerk with ends to every server, only those to to[] enabled. */
Clerk *kvcfg_make_client(kv_config *cfg, const int *to, int nto);
/* Forget a clerk and free it (nobody may use it any more). */
void kvcfg_delete_client(kv_config *cfg, Clerk *ck);
void kvcfg_connect_client(kv_config *cfg, Clerk *ck, const int *to, int nto);
void kvcfg_disconnect_client(kv_config *cfg, Clerk *ck, const int *from, int nfrom);
/* Shut a server down by isolating it; its persisted state stays. */
void kvcfg_shutdown_server(kv_config *cfg, int i);
/* Start server i (after kvcfg_shutdown_server, for a restart). */
void kvcfg_start_server(kv_config *cfg, int i);
/* Whether some server thinks it leads, and which. */
bool kvcfg_leader(kv_config *cfg, int *leader);
/* Partition the servers into p1 (n/2+1 of them) and p2 (n/2, the current
 * leader last), each an array the caller frees. */
void kvcfg_make_partition(kv_config *cfg, int **p1, int *n1, int **p2, int *n2);
int kvcfg_rpc_total(kv_config *cfg);
void kvcfg_begin(kv_config *cfg, const char *description);
void kvcfg_op(kv_config *cfg);
void kvcfg_end(kv_config *cfg);

#endif
