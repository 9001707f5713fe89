/* raft_rpc.c: the wire format of Raft's RPCs (raft_rpc.h).  Each message is
 * its fields in the order the struct declares them; labgob's decoder
 * stops at the first bad value and labgob_decoder_finish() reports it, so
 * a decoder reads every field and asks once at the end. */
#include "raft_rpc.h"

#include <limits.h>

void encode_request_vote_args(labgob_encoder *e, const request_vote_args *a)
{
	labgob_put_int(e, a->term);
	labgob_put_int(e, a->candidate_id);
	labgob_put_int(e, a->last_log_index);
	labgob_put_int(e, a->last_log_term);
	labgob_put_bool(e, a->pre_vote);
}

bool decode_request_vote_args(labgob_decoder *d, int npeers, request_vote_args *a)
{
	labgob_get_int(d, &a->term, 0, INT_MAX);
	labgob_get_int(d, &a->candidate_id, 0, npeers - 1);
	labgob_get_int(d, &a->last_log_index, 0, INT_MAX);
	labgob_get_int(d, &a->last_log_term, -1, INT_MAX);
	labgob_get_bool(d, &a->pre_vote);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

void encode_request_vote_reply(labgob_encoder *e, const request_vote_reply *r)
{
	labgob_put_int(e, r->term);
	labgob_put_bool(e, r->vote_granted);
}

bool decode_request_vote_reply(labgob_decoder *d, request_vote_reply *r)
{
	labgob_get_int(d, &r->term, 0, INT_MAX);
	labgob_get_bool(d, &r->vote_granted);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

void encode_append_entries_args(labgob_encoder *e, const append_entries_args *a,
				const raft_log *log)
{
	labgob_put_int(e, a->term);
	labgob_put_int(e, a->leader_id);
	labgob_put_int(e, a->prev_log_index);
	labgob_put_int(e, a->prev_log_term);
	labgob_put_count(e, a->n);
	log_put_entries(log, e, a->prev_log_index, a->prev_log_index + (int)a->n);
	labgob_put_int(e, a->leader_commit);
}

bool next_entry(append_entries_args *a, int *term, const uint8_t **cmd, size_t *len)
{
	return labgob_get_int(&a->entries, term, 0, INT_MAX) &&
	       labgob_get_bytes(&a->entries, cmd, len);
}

/* The entries are walked over once here, to check them and reach
 * leaderCommit behind them; the receiver decodes them again, one at a
 * time, from a->entries. */
bool decode_append_entries_args(labgob_decoder *d, int npeers, append_entries_args *a,
				const char **refused)
{
	*refused = NULL;
	labgob_get_int(d, &a->term, 0, INT_MAX);
	labgob_get_int(d, &a->leader_id, 0, npeers - 1);
	labgob_get_int(d, &a->prev_log_index, 0, INT_MAX);
	labgob_get_int(d, &a->prev_log_term, -1, INT_MAX);
	if (!labgob_get_count(d, &a->n, 2))
		return false;
	a->entries = *d;
	bool terms_ok = true;
	int prev_term = a->prev_log_term;
	for (size_t i = 0; i < a->n; i++) {
		int t;
		const uint8_t *c;
		size_t l;
		if (!labgob_get_int(d, &t, 0, INT_MAX) || !labgob_get_bytes(d, &c, &l))
			return false;
		if (t < prev_term || t > a->term)
			terms_ok = false;
		prev_term = t;
	}
	labgob_get_int(d, &a->leader_commit, 0, INT_MAX);
	if (labgob_decoder_finish(d) != LABGOB_OK || a->prev_log_index > INT_MAX - (int)a->n)
		return false;
	if (!terms_ok)
		*refused = "entry terms out of order";
	return terms_ok;
}

void encode_append_entries_reply(labgob_encoder *e, const append_entries_reply *r)
{
	labgob_put_int(e, r->term);
	labgob_put_bool(e, r->success);
	labgob_put_int(e, r->xterm);
	labgob_put_int(e, r->xindex);
	labgob_put_int(e, r->xlen);
}

bool decode_append_entries_reply(labgob_decoder *d, append_entries_reply *r)
{
	labgob_get_int(d, &r->term, 0, INT_MAX);
	labgob_get_bool(d, &r->success);
	labgob_get_int(d, &r->xterm, -1, INT_MAX);
	labgob_get_int(d, &r->xindex, 0, INT_MAX);
	labgob_get_int(d, &r->xlen, 0, INT_MAX);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

void encode_install_snapshot_args(labgob_encoder *e, const install_snapshot_args *a)
{
	labgob_put_int(e, a->term);
	labgob_put_int(e, a->leader_id);
	labgob_put_int(e, a->last_included_index);
	labgob_put_int(e, a->last_included_term);
	labgob_put_bytes(e, a->data, a->len);
}

bool decode_install_snapshot_args(labgob_decoder *d, int npeers, install_snapshot_args *a,
				  const char **refused)
{
	*refused = NULL;
	labgob_get_int(d, &a->term, 0, INT_MAX);
	labgob_get_int(d, &a->leader_id, 0, npeers - 1);
	labgob_get_int(d, &a->last_included_index, 0, INT_MAX);
	labgob_get_int(d, &a->last_included_term, -1, INT_MAX);
	labgob_get_bytes(d, &a->data, &a->len);
	if (labgob_decoder_finish(d) != LABGOB_OK)
		return false;
	if (a->last_included_term > a->term)
		*refused = "its last term is above its term";
	return *refused == NULL;
}

void encode_install_snapshot_reply(labgob_encoder *e, const install_snapshot_reply *r)
{
	labgob_put_int(e, r->term);
}

bool decode_install_snapshot_reply(labgob_decoder *d, install_snapshot_reply *r)
{
	labgob_get_int(d, &r->term, 0, INT_MAX);
	return labgob_decoder_finish(d) == LABGOB_OK;
}
