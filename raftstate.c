/* raftstate.c: the decoder of what this project's raft.c persists
 * (raftstate.h says why it stands apart). */
#include "raftstate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labgob/labgob.h"
#include "util.h"

void raft_persistent_state_free(raft_persistent_state *st)
{
	for (int i = 0; i < st->nentries; i++)
		free(st->entries[i].command);
	free(st->entries);
	st->entries = NULL;
	st->nentries = 0;
}

bool raft_decode_state(const uint8_t *data, size_t len, raft_persistent_state *st,
		       char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	labgob_decoder d;
	labgob_decoder_init(&d, data, len);
	size_t count = 0;
	labgob_get_int(&d, &st->current_term, 0, INT_MAX);
	labgob_get_int(&d, &st->voted_for, -1, INT_MAX); /* -1: none */
	labgob_get_int(&d, &st->base_index, 0, INT_MAX);
	labgob_get_int(&d, &st->base_term, -1, INT_MAX);
	/* Each entry takes at least two bytes: a term and a length. */
	if (labgob_get_count(&d, &count, 2) && count > (size_t)(INT_MAX - st->base_index))
		d.err = LABGOB_ERANGE;
	if (d.err == LABGOB_OK) {
		st->entries = xcalloc(count, sizeof *st->entries);
		for (size_t i = 0; i < count && d.err == LABGOB_OK; i++) {
			const uint8_t *cmd;
			size_t n;
			if (labgob_get_int(&d, &st->entries[i].term, 0, INT_MAX) &&
			    labgob_get_bytes(&d, &cmd, &n)) {
				st->entries[i].command = xmemdup(cmd, n);
				st->entries[i].command_len = n;
				st->nentries++;
			}
		}
	}
	labgob_err rc = labgob_decoder_finish(&d);
	const char *why = rc != LABGOB_OK ? labgob_strerror(rc) : NULL;
	/* Terms in the log never decrease, nor exceed currentTerm. */
	int prev = st->base_term;
	for (int i = 0; why == NULL && i < st->nentries; i++) {
		if (st->entries[i].term < prev || st->entries[i].term > st->current_term)
			why = "log terms out of order";
		prev = st->entries[i].term;
	}
	if (why) {
		snprintf(err, errlen, "persisted Raft state (%zu bytes) refused: %s", len, why);
		raft_persistent_state_free(st);
		return false;
	}
	return true;
}
