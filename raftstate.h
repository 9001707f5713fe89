/* raftstate.h: the persisted-state decoder of this project's raft.c, given
 * a header of its own so that its tests (labtest/raft_persist_test.c) can
 * feed it damaged input.  Not part of the lab: a raft.c of your own need
 * not define these. */
#ifndef RAFTSTATE_H
#define RAFTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The persisted state, decoded.  On failure returns false with a message
 * in err. */
bool raft_decode_state(const uint8_t *data, size_t len, raft_persistent_state *st,
		       char *err, size_t errlen);
void raft_persistent_state_free(raft_persistent_state *st);

#endif
