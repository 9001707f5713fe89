/* fuzz_decode_state.c: raft_decode_state() on arbitrary bytes (make fuzz),
 * what raft_make() reads from a persister after a crash.  Refused input
 * must come with a message; accepted input must obey what the decoder
 * promises (terms in order, none past currentTerm) and survive a round
 * trip through the layout persist() writes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../labgob/labgob.h"
#include "../raft.h"
#include "../raftstate.h"

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void encode(const raft_persistent_state *st, labgob_encoder *e)
{
	labgob_put_int(e, st->current_term);
	labgob_put_int(e, st->voted_for);
	labgob_put_int(e, st->base_index);
	labgob_put_int(e, st->base_term);
	labgob_put_count(e, (size_t)st->nentries);
	for (int i = 0; i < st->nentries; i++) {
		labgob_put_int(e, st->entries[i].term);
		labgob_put_bytes(e, st->entries[i].command, st->entries[i].command_len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	raft_persistent_state st;
	char err[256] = "";
	if (!raft_decode_state(data, size, &st, err, sizeof err)) {
		check(strstr(err, "refused") != NULL);
		check(st.nentries == 0 && st.entries == NULL);
		return 0;
	}
	int prev = st.base_term;
	for (int i = 0; i < st.nentries; i++) {
		check(st.entries[i].term >= prev && st.entries[i].term <= st.current_term);
		prev = st.entries[i].term;
	}
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode(&st, &e);
	raft_persistent_state again;
	check(raft_decode_state(e.buf, e.len, &again, err, sizeof err));
	check(again.current_term == st.current_term && again.voted_for == st.voted_for &&
	      again.base_index == st.base_index && again.base_term == st.base_term &&
	      again.nentries == st.nentries);
	for (int i = 0; i < st.nentries; i++)
		check(again.entries[i].term == st.entries[i].term &&
		      again.entries[i].command_len == st.entries[i].command_len &&
		      (st.entries[i].command_len == 0 ||
		       memcmp(again.entries[i].command, st.entries[i].command,
			      st.entries[i].command_len) == 0));
	raft_persistent_state_free(&again);
	raft_persistent_state_free(&st);
	labgob_encoder_free(&e);
	return 0;
}
