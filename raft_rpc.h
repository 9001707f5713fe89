/* raft_rpc.h: the arguments and replies of Raft's three RPCs (Figure 2 and
 * Figure 13), as raft.go declares them in structs, and their wire format,
 * which Go's labgob derives from the structs and C has to spell out.  Not
 * part of the lab: the RPCs of this project's raft.c (a raft.c of your own
 * need not use it).
 *
 *   C                                   Go
 *   request_vote_args a = {...};        args := RequestVoteArgs{...}
 *   encode_request_vote_args(&e, &a)    labgob encodes args in Call
 *   decode_request_vote_args(d, n, &a)  labgob decodes them for the handler
 *
 * Every decoder reads all of its message or nothing: false when the bytes
 * do not decode, hold a value out of range (a peer number not below
 * npeers, a negative term) or leave bytes over. */
#ifndef RAFT_RPC_H
#define RAFT_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labgob/labgob.h"
#include "raft_log.h"

typedef struct {
	int term;
	int candidate_id;
	int last_log_index;
	int last_log_term;
	bool pre_vote; /* beyond Figure 2: a pre-vote (Raft thesis 9.6) */
} request_vote_args;

typedef struct {
	int term;
	bool vote_granted;
} request_vote_reply;

/* The entries travel as n encoded {term, command} records.  A sender takes
 * them from its log (those after prev_log_index); a receiver reads them
 * one at a time from entries, a decoder left at the first of them. */
typedef struct {
	int term;
	int leader_id;
	int prev_log_index;
	int prev_log_term;
	size_t n;
	labgob_decoder entries;
	int leader_commit;
} append_entries_args;

/* xterm, xindex and xlen: the fast backup of the course notes (the term
 * of the conflicting entry, the first index of that term, the log's
 * length), or -1 for xterm when the log is too short. */
typedef struct {
	int term;
	bool success;
	int xterm, xindex, xlen;
} append_entries_reply;

typedef struct {
	int term;
	int leader_id;
	int last_included_index;
	int last_included_term;
	const uint8_t *data; /* the whole snapshot, in one message */
	size_t len;
} install_snapshot_args;

typedef struct {
	int term;
} install_snapshot_reply;

void encode_request_vote_args(labgob_encoder *e, const request_vote_args *a);
bool decode_request_vote_args(labgob_decoder *d, int npeers, request_vote_args *a);
void encode_request_vote_reply(labgob_encoder *e, const request_vote_reply *r);
bool decode_request_vote_reply(labgob_decoder *d, request_vote_reply *r);

/* a->n entries of log after a->prev_log_index (a->entries is not read). */
void encode_append_entries_args(labgob_encoder *e, const append_entries_args *a,
				const raft_log *log);
/* Also false, with *refused saying why, for entries that decode but no
 * leader sends: terms that go down, or above the leader's own (saved,
 * they would be refused on restart by raft_decode_state()).  *refused is
 * NULL when the bytes themselves are bad. */
bool decode_append_entries_args(labgob_decoder *d, int npeers, append_entries_args *a,
				const char **refused);
/* The next entry of a received a (its term and command, pointing into the
 * message); false when it does not decode. */
bool next_entry(append_entries_args *a, int *term, const uint8_t **cmd, size_t *len);
void encode_append_entries_reply(labgob_encoder *e, const append_entries_reply *r);
bool decode_append_entries_reply(labgob_decoder *d, append_entries_reply *r);

void encode_install_snapshot_args(labgob_encoder *e, const install_snapshot_args *a);
/* Also false, with *refused set, for a snapshot whose last term is above
 * the sender's term (saved, it would be refused on restart). */
bool decode_install_snapshot_args(labgob_decoder *d, int npeers, install_snapshot_args *a,
				  const char **refused);
void encode_install_snapshot_reply(labgob_encoder *e, const install_snapshot_reply *r);
bool decode_install_snapshot_reply(labgob_decoder *d, install_snapshot_reply *r);

#endif
