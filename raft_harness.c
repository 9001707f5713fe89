/* raft_harness.c: reference counting and the labrpc service for a Raft
 * peer (raft_harness.h).
 *
 * A peer is used by the thread that made it, by threads the tester hands
 * it to (the churn clients' Start), and by labrpc handlers that may still
 * run after Kill.  In Go the garbage collector keeps it alive for all of
 * them; here each holds a reference, and the last one out kills and frees
 * it.  The counts live in a table of their own, keyed by the peer, so that
 * struct Raft (the student's) carries nothing for them: a peer not in the
 * table has one reference. */
#include "raft_harness.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util.h"

typedef struct {
	Raft *rf;
	int refs; /* >= 2: a peer with one reference has no entry */
} ref_entry;

static pthread_mutex_t refs_mu = PTHREAD_MUTEX_INITIALIZER;
static ref_entry *refs_table;
static size_t refs_len, refs_cap;

/* The entry of rf, or NULL (refs_mu held). */
static ref_entry *find_refs(Raft *rf)
{
	for (size_t i = 0; i < refs_len; i++)
		if (refs_table[i].rf == rf)
			return &refs_table[i];
	return NULL;
}

void raft_retain(Raft *rf)
{
	pthread_mutex_lock(&refs_mu);
	ref_entry *e = find_refs(rf);
	if (e) {
		e->refs++;
	} else {
		if (refs_len == refs_cap) {
			refs_cap = refs_cap ? refs_cap * 2 : 16;
			refs_table = xrealloc(refs_table, refs_cap * sizeof *refs_table);
		}
		refs_table[refs_len++] = (ref_entry){ rf, 2 };
	}
	pthread_mutex_unlock(&refs_mu);
}

void raft_release(Raft *rf)
{
	if (rf == NULL)
		return;
	pthread_mutex_lock(&refs_mu);
	ref_entry *e = find_refs(rf);
	bool last = e == NULL;
	if (e && --e->refs == 1)
		*e = refs_table[--refs_len];
	if (refs_len == 0) {
		free(refs_table); /* nothing left over at exit, for ASan */
		refs_table = NULL;
		refs_cap = 0;
	}
	pthread_mutex_unlock(&refs_mu);
	if (last) {
		raft_kill(rf);
		raft_free(rf);
	}
}

/* Given with ApplyMsg (raft.h), so that raft.c need not define it. */
void apply_msg_free(ApplyMsg *m)
{
	free(m->command);
	free(m->snapshot);
	m->command = m->snapshot = NULL;
}

/* ---- the service: Go's labrpc.MakeService(rf) finds the methods by
 * reflection; here they are listed ---- */

static int request_vote(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	return raft_request_vote(rcvr, args, reply);
}

static int append_entries(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	return raft_append_entries(rcvr, args, reply);
}

static int install_snapshot(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	return raft_install_snapshot(rcvr, args, reply);
}

static const labrpc_method raft_methods[] = {
	{ "RequestVote", request_vote },
	{ "AppendEntries", append_entries },
	{ "InstallSnapshot", install_snapshot },
};

static void release_service(void *rcvr)
{
	raft_release(rcvr);
}

labrpc_service *raft_service(Raft *rf)
{
	raft_retain(rf);
	labrpc_service *svc = labrpc_make_service("Raft", rf, raft_methods,
						  sizeof raft_methods / sizeof raft_methods[0],
						  release_service);
	if (raft_handlers_never_block)
		labrpc_service_set_inline(svc);
	return svc;
}
