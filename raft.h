/* raft.h: the Raft peer the tester drives (raft.go).
 *
 *   rf = raft_make(peers, npeers, me, persister, apply_ch, seed)
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
 * Returns at once, with its threads running, and one reference held by the
 * caller (raft_release).  A persisted state that does not decode is fatal:
 * going on without it could break Raft's promises. */
Raft *raft_make(labrpc_end *const *peers, int npeers, int me, Persister *persister,
		Chan *apply_ch, uint64_t seed);

/* Start agreement on a command; returns at once.  *index is where it will
 * be if it commits, *term the current term; false if not leader. */
bool raft_start(Raft *rf, const void *command, size_t len, int *index, int *term);

/* The current term, and whether this peer believes it is the leader. */
bool raft_get_state(Raft *rf, int *term);

/* The service has a snapshot of everything through index: trim the log. */
void raft_snapshot(Raft *rf, int index, const void *snapshot, size_t len);

/* Stop the peer: its threads end and are joined, its pending calls are
 * abandoned, and it sends nothing more on apply_ch.  Returns promptly (it
 * does not wait out labrpc's long delays).  The memory stays until the
 * last reference goes. */
void raft_kill(Raft *rf);

/* A snapshot of a peer's state, for tools that watch a cluster (raftsim). */
typedef struct {
	int term;
	const char *role;  /* "follower", "candidate" or "leader" */
	int base_index;    /* the snapshot's last index */
	int last_index;
	int commit_index;
	int last_applied;
} raft_status;

void raft_get_status(Raft *rf, raft_status *st);

void raft_retain(Raft *rf);
void raft_release(Raft *rf);

/* The labrpc service serving this peer's RPCs ("Raft.RequestVote",
 * "Raft.AppendEntries", "Raft.InstallSnapshot"); it holds a reference. */
labrpc_service *raft_service(Raft *rf);

/* The persisted state, decoded (for raft_make and the tests that feed it
 * damaged input).  On failure returns false with a message in err. */
typedef struct {
	int term;
	uint8_t *command;
	size_t command_len;
} raft_entry_blob;

typedef struct {
	int current_term;
	int voted_for;
	int base_index, base_term;   /* the log's sentinel: last snapshot entry */
	int nentries;                /* entries after the sentinel */
	raft_entry_blob *entries;
} raft_persistent_state;

bool raft_decode_state(const uint8_t *data, size_t len, raft_persistent_state *st,
		       char *err, size_t errlen);
void raft_persistent_state_free(raft_persistent_state *st);

#endif
