/* raft.h: the Raft peer the tester drives (raft.go).
 *
 *   rf = raft_make(peers, npeers, me, persister, apply_ch, seed, err, errlen)
 *   raft_start(rf, command, len, &index, &term) -> is leader
 *   raft_get_state(rf, &term) -> is leader
 *   raft_snapshot(rf, index, snapshot, len)
 *   raft_kill(rf)
 *
 * Committed entries (and installed snapshots) arrive on apply_ch as
 * ApplyMsg values, in index order; the receiver owns the bytes they carry
 * (apply_msg_free).  Commands are byte blobs. */
#ifndef RAFT_H
#define RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "labrpc/labrpc.h"
#include "persister.h"

typedef struct {
	bool command_valid;
	uint8_t *command;
	size_t command_len;
	int command_index;

	bool snapshot_valid;
	uint8_t *snapshot;
	size_t snapshot_len;
	int snapshot_term;
	int snapshot_index;
} ApplyMsg;

void apply_msg_free(ApplyMsg *m);

typedef struct Raft Raft;

/* Make a peer.  peers[me] is its own end; every peer sees the same order.
 * It takes a reference to persister and reads the state saved there.
 * Returns at once, with its threads running.  apply_ch must stay valid
 * until raft_kill returns.
 *
 * A persisted state that does not decode makes no peer: NULL, with the
 * reason in err (errlen bytes).  Going on without that state could break
 * Raft's promises, so the caller treats it as fatal (the tester fails the
 * test with the message); a library does not exit on its own.  So does a
 * thread that cannot be started (NULL, err says which). */
Raft *raft_make(labrpc_end *const *peers, int npeers, int me, Persister *persister,
		Chan *apply_ch, uint64_t seed, char *err, size_t errlen);

/* Start agreement on a command; returns at once.  *index is where it will
 * be if it commits, *term the current term; false if not leader. */
bool raft_start(Raft *rf, const void *command, size_t len, int *index, int *term);

/* The current term, and whether this peer believes it is the leader. */
bool raft_get_state(Raft *rf, int *term);

/* The service has a snapshot of everything through index: trim the log.
 * index must have been sent on apply_ch; a snapshot past that is refused
 * (the log still holds entries the applier has to send). */
void raft_snapshot(Raft *rf, int index, const void *snapshot, size_t len);

/* Stop the peer: its threads end and are joined, its pending calls are
 * abandoned, its handlers answer nothing more, and it sends nothing more
 * on apply_ch.  Returns promptly, even when nobody reads apply_ch (a send
 * under way is called off) and without waiting out labrpc's long delays.
 * The memory stays until raft_free.  Several threads may call it, even at
 * once: each returns only when the peer's threads have all been joined. */
void raft_kill(Raft *rf);

/* Free a killed peer's memory, once nothing uses it any more (the
 * harness's reference count, raft_harness.h, decides when).  Go's garbage
 * collector does this; in C it is the peer's own job. */
void raft_free(Raft *rf);

/* The RPC handlers, Go's RequestVote, AppendEntries and InstallSnapshot
 * methods: labrpc calls them as "Raft.RequestVote" and so on
 * (raft_harness.c makes the service).  Each decodes its arguments, does
 * the work, and encodes the reply; it returns 0, or non-zero when the
 * arguments do not decode (the caller then gets no reply). */
int raft_request_vote(Raft *rf, labgob_decoder *args, labgob_encoder *reply);
int raft_append_entries(Raft *rf, labgob_decoder *args, labgob_encoder *reply);
int raft_install_snapshot(Raft *rf, labgob_decoder *args, labgob_encoder *reply);

/* True when the handlers above never block (they hold rf->mu for a moment
 * at most and wait for nothing else): labrpc then runs them on the
 * caller's thread, which saves two thread hand-offs per RPC.  False runs
 * them on labrpc's worker threads, as Go runs a handler in a goroutine. */
extern const bool raft_handlers_never_block;

/* Not in the lab: a snapshot of a peer's state, for make run's live table
 * (raftsim).  -1 in a field means "not known". */
typedef struct {
	int term;
	const char *role;  /* "follower", "candidate" or "leader" */
	int base_index;    /* the snapshot's last index */
	int last_index;
	int commit_index;
	int last_applied;
} raft_status;

void raft_get_status(Raft *rf, raft_status *st);

#endif
