/* config.c: the key/value service's tester harness, ported from
 * kvraft/config.go.
 *
 * Differences forced by C (notes.md lists them): the tester holds one
 * reference on each KVServer and frees what Go leaves to its garbage
 * collector (servers, persisters, clerks) at cleanup; randomness comes
 * from the test's seed. */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../labtest/config.h" /* cfg_fatalf */
#include "../raft_harness.h"

/* ---- randomness ---- */

int64_t kvcfg_rand(kv_config *cfg)
{
	pthread_mutex_lock(&cfg->rng_mu);
	int64_t x = (int64_t)(prng_next(&cfg->rng) >> 1);
	pthread_mutex_unlock(&cfg->rng_mu);
	return x;
}

/* The lab's randstring: n base64url characters (labtest/config.c's
 * cfg_randstring, on this tester's PRNG). */
static char *randstring(kv_config *cfg, int n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *s = xmalloc((size_t)n + 1);
	for (int i = 0; i < n; i++)
		s[i] = b64[kvcfg_rand(cfg) % 64];
	s[n] = '\0';
	return s;
}

/* Randomize server handles */
static void random_handles(kv_config *cfg, labrpc_end **sa, int n)
{
	for (int i = 0; i < n; i++) {
		int j = (int)(kvcfg_rand(cfg) % (i + 1));
		labrpc_end *t = sa[i];
		sa[i] = sa[j];
		sa[j] = t;
	}
}

static void server_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "%d", i);
}

static void check_timeout(kv_config *cfg)
{
	/* enforce a two minute real-time limit on each test */
	if (now_us() - cfg->start_us > 120 * 1000000LL)
		cfg_fatalf(cfg, "test took longer than 120 seconds");
}

static void free_endnames(char **names, int n)
{
	if (names)
		for (int j = 0; j < n; j++)
			free(names[j]);
	free(names);
}

void kvcfg_cleanup(kv_config *cfg)
{
	/* Go holds cfg.mu across the Kills; a Kill joins threads, so ours
	 * takes the list under the lock and kills outside it. */
	KVServer *kvs[cfg->n];
	pthread_mutex_lock(&cfg->mu);
	memcpy(kvs, cfg->kvservers, sizeof kvs);
	pthread_mutex_unlock(&cfg->mu);
	for (int i = 0; i < cfg->n; i++)
		if (kvs[i])
			kvserver_kill(kvs[i]);
	labrpc_cleanup(cfg->net);
	check_timeout(cfg);

	/* Go leaves the rest to its garbage collector. */
	for (int i = 0; i < cfg->n; i++) {
		kvserver_release(cfg->kvservers[i]);
		persister_release(cfg->saved[i]);
		free_endnames(cfg->endnames[i], cfg->n);
	}
	for (kv_clerk_entry *c = cfg->clerks, *next; c; c = next) {
		next = c->next;
		clerk_free(c->ck);
		free_endnames(c->endnames, cfg->n);
		free(c);
	}
	labrpc_free(cfg->net);
	free(cfg->kvservers);
	free(cfg->saved);
	free(cfg->endnames);
	pthread_mutex_destroy(&cfg->mu);
	pthread_mutex_destroy(&cfg->rng_mu);
	free(cfg);
}

int kvcfg_log_size(kv_config *cfg)
{
	int logsize = 0;
	pthread_mutex_lock(&cfg->mu);
	for (int i = 0; i < cfg->n; i++) {
		int n = (int)persister_raft_state_size(cfg->saved[i]);
		if (n > logsize)
			logsize = n;
	}
	pthread_mutex_unlock(&cfg->mu);
	return logsize;
}

int kvcfg_snapshot_size(kv_config *cfg)
{
	int snapshotsize = 0;
	pthread_mutex_lock(&cfg->mu);
	for (int i = 0; i < cfg->n; i++) {
		int n = (int)persister_snapshot_size(cfg->saved[i]);
		if (n > snapshotsize)
			snapshotsize = n;
	}
	pthread_mutex_unlock(&cfg->mu);
	return snapshotsize;
}

/* attach server i to servers listed in to (cfg->mu held) */
static void connect_unlocked(kv_config *cfg, int i, const int *to, int nto)
{
	/* outgoing socket files */
	for (int j = 0; j < nto; j++)
		labrpc_enable(cfg->net, cfg->endnames[i][to[j]], true);
	/* incoming socket files */
	for (int j = 0; j < nto; j++)
		labrpc_enable(cfg->net, cfg->endnames[to[j]][i], true);
}

void kvcfg_connect(kv_config *cfg, int i, const int *to, int nto)
{
	pthread_mutex_lock(&cfg->mu);
	connect_unlocked(cfg, i, to, nto);
	pthread_mutex_unlock(&cfg->mu);
}

/* detach server i from the servers listed in from (cfg->mu held) */
static void disconnect_unlocked(kv_config *cfg, int i, const int *from, int nfrom)
{
	/* outgoing socket files */
	for (int j = 0; j < nfrom; j++)
		if (cfg->endnames[i])
			labrpc_enable(cfg->net, cfg->endnames[i][from[j]], false);
	/* incoming socket files */
	for (int j = 0; j < nfrom; j++)
		if (cfg->endnames[from[j]])
			labrpc_enable(cfg->net, cfg->endnames[from[j]][i], false);
}

void kvcfg_disconnect(kv_config *cfg, int i, const int *from, int nfrom)
{
	pthread_mutex_lock(&cfg->mu);
	disconnect_unlocked(cfg, i, from, nfrom);
	pthread_mutex_unlock(&cfg->mu);
}

void kvcfg_all(kv_config *cfg, int *all)
{
	for (int i = 0; i < cfg->n; i++)
		all[i] = i;
}

void kvcfg_connect_all(kv_config *cfg)
{
	int all[cfg->n];
	kvcfg_all(cfg, all);
	pthread_mutex_lock(&cfg->mu);
	for (int i = 0; i < cfg->n; i++)
		connect_unlocked(cfg, i, all, cfg->n);
	pthread_mutex_unlock(&cfg->mu);
}

void kvcfg_partition(kv_config *cfg, const int *p1, int n1, const int *p2, int n2)
{
	pthread_mutex_lock(&cfg->mu);
	for (int i = 0; i < n1; i++) {
		disconnect_unlocked(cfg, p1[i], p2, n2);
		connect_unlocked(cfg, p1[i], p1, n1);
	}
	for (int i = 0; i < n2; i++) {
		disconnect_unlocked(cfg, p2[i], p1, n1);
		connect_unlocked(cfg, p2[i], p2, n2);
	}
	pthread_mutex_unlock(&cfg->mu);
}

static kv_clerk_entry *find_clerk(kv_config *cfg, Clerk *ck)
{
	for (kv_clerk_entry *c = cfg->clerks; c; c = c->next)
		if (c->ck == ck)
			return c;
	fprintf(stderr, "kvraft config: unknown clerk\n");
	abort();
}

/* (cfg->mu held) */
static void enable_client_unlocked(kv_config *cfg, Clerk *ck, const int *to, int nto, bool on)
{
	kv_clerk_entry *c = find_clerk(cfg, ck);
	for (int j = 0; j < nto; j++)
		labrpc_enable(cfg->net, c->endnames[to[j]], on);
}

Clerk *kvcfg_make_client(kv_config *cfg, const int *to, int nto)
{
	pthread_mutex_lock(&cfg->mu);
	/* a fresh set of ClientEnds. */
	labrpc_end *ends[cfg->n];
	kv_clerk_entry *c = xcalloc(1, sizeof *c);
	c->endnames = xcalloc((size_t)cfg->n, sizeof *c->endnames);
	for (int j = 0; j < cfg->n; j++) {
		char srv[16];
		server_name(j, srv, sizeof srv);
		c->endnames[j] = randstring(cfg, 20);
		ends[j] = labrpc_make_end(cfg->net, c->endnames[j]);
		labrpc_connect(cfg->net, c->endnames[j], srv);
	}
	random_handles(cfg, ends, cfg->n);
	c->ck = clerk_make(ends, cfg->n, (uint64_t)kvcfg_rand(cfg));
	c->next = cfg->clerks;
	cfg->clerks = c;
	cfg->next_client_id++;
	enable_client_unlocked(cfg, c->ck, to, nto, true);
	pthread_mutex_unlock(&cfg->mu);
	return c->ck;
}

void kvcfg_delete_client(kv_config *cfg, Clerk *ck)
{
	pthread_mutex_lock(&cfg->mu);
	for (kv_clerk_entry **pp = &cfg->clerks; *pp; pp = &(*pp)->next) {
		kv_clerk_entry *c = *pp;
		if (c->ck == ck) {
			*pp = c->next;
			/* The ends stay the network's, disabled or not, as in Go. */
			clerk_free(c->ck);
			free_endnames(c->endnames, cfg->n);
			free(c);
			break;
		}
	}
	pthread_mutex_unlock(&cfg->mu);
}

void kvcfg_connect_client(kv_config *cfg, Clerk *ck, const int *to, int nto)
{
	pthread_mutex_lock(&cfg->mu);
	enable_client_unlocked(cfg, ck, to, nto, true);
	pthread_mutex_unlock(&cfg->mu);
}

void kvcfg_disconnect_client(kv_config *cfg, Clerk *ck, const int *from, int nfrom)
{
	pthread_mutex_lock(&cfg->mu);
	enable_client_unlocked(cfg, ck, from, nfrom, false);
	pthread_mutex_unlock(&cfg->mu);
}

/* A fresh persister holding saved[i]'s bytes (cfg->mu held). */
static void renew_persister(kv_config *cfg, int i)
{
	Persister *old = cfg->saved[i];
	cfg->saved[i] = persister_copy(old);
	persister_release(old);
}

void kvcfg_shutdown_server(kv_config *cfg, int i)
{
	int all[cfg->n];
	kvcfg_all(cfg, all);
	char name[16];
	server_name(i, name, sizeof name);
	pthread_mutex_lock(&cfg->mu);
	disconnect_unlocked(cfg, i, all, cfg->n);

	/* disable client connections to the server.  it's important to do
	 * this before creating the new Persister in saved[i], to avoid the
	 * possibility of the server returning a positive reply to an Append
	 * but persisting the result in the superseded Persister. */
	labrpc_delete_server(cfg->net, name);

	/* a fresh persister, in case old instance continues to update the
	 * Persister.  but copy old persister's content so that we always
	 * pass Make() the last persisted state. */
	if (cfg->saved[i])
		renew_persister(cfg, i);

	KVServer *kv = cfg->kvservers[i];
	if (kv) {
		pthread_mutex_unlock(&cfg->mu);
		kvserver_kill(kv);
		pthread_mutex_lock(&cfg->mu);
		cfg->kvservers[i] = NULL;
	}
	pthread_mutex_unlock(&cfg->mu);
	kvserver_release(kv);
}

void kvcfg_start_server(kv_config *cfg, int i)
{
	pthread_mutex_lock(&cfg->mu);

	/* a fresh set of outgoing ClientEnd names. */
	free_endnames(cfg->endnames[i], cfg->n);
	cfg->endnames[i] = xcalloc((size_t)cfg->n, sizeof(char *));
	for (int j = 0; j < cfg->n; j++)
		cfg->endnames[i][j] = randstring(cfg, 20);

	/* a fresh set of ClientEnds. */
	labrpc_end *ends[cfg->n];
	for (int j = 0; j < cfg->n; j++) {
		char srv[16];
		server_name(j, srv, sizeof srv);
		ends[j] = labrpc_make_end(cfg->net, cfg->endnames[i][j]);
		labrpc_connect(cfg->net, cfg->endnames[i][j], srv);
	}

	/* a fresh persister, so old instance doesn't overwrite new instance's
	 * persisted state.  give the fresh persister a copy of the old
	 * persister's state, so that the spec is that we pass
	 * StartKVServer() the last persisted state. */
	if (cfg->saved[i])
		renew_persister(cfg, i);
	else
		cfg->saved[i] = persister_make();
	Persister *ps = cfg->saved[i];
	uint64_t seed = cfg->seed * 31 + (uint64_t)(++cfg->incarnation) * 1000003ULL + (uint64_t)i;
	pthread_mutex_unlock(&cfg->mu);

	char err[256];
	KVServer *kv = kvserver_start(ends, cfg->n, i, ps, cfg->maxraftstate, seed, err, sizeof err);
	if (kv == NULL)
		cfg_fatalf(cfg, "%s", err);
	pthread_mutex_lock(&cfg->mu);
	cfg->kvservers[i] = kv;
	pthread_mutex_unlock(&cfg->mu);

	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, kvserver_service(kv));
	labrpc_server_add_service(srv, raft_service(kvserver_raft(kv)));
	char name[16];
	server_name(i, name, sizeof name);
	labrpc_add_server(cfg->net, name, srv);
}

bool kvcfg_leader(kv_config *cfg, int *leader)
{
	pthread_mutex_lock(&cfg->mu);
	for (int i = 0; i < cfg->n; i++) {
		int term;
		if (cfg->kvservers[i] && raft_get_state(kvserver_raft(cfg->kvservers[i]), &term)) {
			pthread_mutex_unlock(&cfg->mu);
			*leader = i;
			return true;
		}
	}
	pthread_mutex_unlock(&cfg->mu);
	*leader = 0;
	return false;
}

void kvcfg_make_partition(kv_config *cfg, int **p1out, int *n1, int **p2out, int *n2)
{
	int l;
	kvcfg_leader(cfg, &l);
	*n1 = cfg->n / 2 + 1;
	*n2 = cfg->n / 2;
	int *p1 = xcalloc((size_t)*n1, sizeof *p1), *p2 = xcalloc((size_t)*n2, sizeof *p2);
	int j = 0;
	for (int i = 0; i < cfg->n; i++) {
		if (i != l) {
			if (j < *n1)
				p1[j] = i;
			else
				p2[j - *n1] = i;
			j++;
		}
	}
	p2[*n2 - 1] = l;
	*p1out = p1;
	*p2out = p2;
}

kv_config *kvcfg_make_config(int n, bool unreliable, int maxraftstate)
{
	debug_reset_clock();
	kv_config *cfg = xcalloc(1, sizeof *cfg);
	pthread_mutex_init(&cfg->mu, NULL);
	pthread_mutex_init(&cfg->rng_mu, NULL);
	const char *seed = getenv("SEED");
	cfg->seed = seed && *seed ? strtoull(seed, NULL, 10) : random_seed();
	prng_seed(&cfg->rng, cfg->seed);
	cfg->net = labrpc_make_network(cfg->seed ^ 0x6b7672616674ULL);
	cfg->n = n;
	cfg->kvservers = xcalloc((size_t)n, sizeof *cfg->kvservers);
	cfg->saved = xcalloc((size_t)n, sizeof *cfg->saved);
	cfg->endnames = xcalloc((size_t)n, sizeof *cfg->endnames);
	cfg->next_client_id = n + 1000; /* client ids start 1000 above the highest serverid */
	cfg->maxraftstate = maxraftstate;
	cfg->start_us = now_us();
	atomic_init(&cfg->ops, 0);

	/* create a full set of KV servers. */
	for (int i = 0; i < n; i++)
		kvcfg_start_server(cfg, i);
	kvcfg_connect_all(cfg);
	labrpc_reliable(cfg->net, !unreliable);
	return cfg;
}

int kvcfg_rpc_total(kv_config *cfg)
{
	return labrpc_total_count(cfg->net);
}

void kvcfg_begin(kv_config *cfg, const char *description)
{
	printf("%s ...\n", description);
	Debug(dTest, "%s", description);
	cfg->t0_us = now_us();
	cfg->rpcs0 = kvcfg_rpc_total(cfg);
	atomic_store(&cfg->ops, 0);
}

void kvcfg_op(kv_config *cfg)
{
	atomic_fetch_add(&cfg->ops, 1);
}

/* end a Test -- the fact that we got here means there was no failure.
 * print the Passed message, and some performance numbers. */
void kvcfg_end(kv_config *cfg)
{
	check_timeout(cfg);
	double t = (double)(now_us() - cfg->t0_us) / 1e6; /* real time */
	int npeers = cfg->n;                                /* number of Raft peers */
	int nrpc = kvcfg_rpc_total(cfg) - cfg->rpcs0;       /* number of RPC sends */
	int ops = atomic_load(&cfg->ops);                   /* number of clerk get/put/append calls */
	printf("  ... Passed --");
	printf("  %4.1f  %d %5d %4d\n", t, npeers, nrpc, ops);
}
