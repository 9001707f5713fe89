/* raft_log.c: the log after the last snapshot, and its encoded copy. */
#include "raft_log.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void log_init(raft_log *l)
{
	l->cap = 16;
	l->e = xcalloc((size_t)l->cap, sizeof *l->e);
	l->len = 1; /* the sentinel: index 0, term 0 */
	labgob_encoder_init(&l->enc);
}

void log_free(raft_log *l)
{
	for (int i = 0; i < l->len; i++)
		free(l->e[i].command);
	free(l->e);
	labgob_encoder_free(&l->enc);
}

int log_base_index(const raft_log *l)
{
	return l->e[0].index;
}

int log_base_term(const raft_log *l)
{
	return l->e[0].term;
}

int log_last_index(const raft_log *l)
{
	return l->e[0].index + l->len - 1;
}

int log_last_term(const raft_log *l)
{
	return l->e[l->len - 1].term;
}

bool log_has(const raft_log *l, int index)
{
	return index >= log_base_index(l) && index <= log_last_index(l);
}

log_entry *log_at(const raft_log *l, int index)
{
	return &l->e[index - log_base_index(l)];
}

int log_term_at(const raft_log *l, int index)
{
	return log_has(l, index) ? log_at(l, index)->term : -1;
}

/* Encode the entry at array position pos at the end of l->enc. */
static void encode_entry(raft_log *l, int pos)
{
	log_entry *ent = &l->e[pos];
	labgob_put_int(&l->enc, ent->term);
	labgob_put_bytes(&l->enc, ent->command, ent->command_len);
	ent->enc_end = l->enc.len;
}

/* Encode again every entry after the sentinel, which has just moved. */
static void encode_all(raft_log *l)
{
	l->enc.len = 0;
	l->e[0].enc_end = 0;
	for (int pos = 1; pos < l->len; pos++)
		encode_entry(l, pos);
}

void log_append(raft_log *l, int term, const void *command, size_t len)
{
	if (l->len == l->cap) {
		l->cap *= 2;
		l->e = xrealloc(l->e, (size_t)l->cap * sizeof *l->e);
	}
	l->e[l->len++] = (log_entry){
		.index = log_last_index(l) + 1,
		.term = term,
		.command = xmemdup(command, len),
		.command_len = len,
	};
	encode_entry(l, l->len - 1);
}

void log_truncate_after(raft_log *l, int index)
{
	int keep = index - log_base_index(l) + 1;
	for (int i = keep; i < l->len; i++)
		free(l->e[i].command);
	l->len = keep;
	l->enc.len = l->e[keep - 1].enc_end;
}

void log_compact(raft_log *l, int index, int term, bool keep_tail)
{
	int drop = keep_tail && log_has(l, index) ? index - log_base_index(l) : l->len;
	for (int i = 0; i < drop; i++)
		free(l->e[i].command);
	int tail = l->len - drop; /* starts with the entry at index, if kept */
	memmove(l->e, l->e + drop, (size_t)tail * sizeof *l->e);
	if (tail == 0)
		tail = 1;
	else
		free(l->e[0].command);
	l->e[0] = (log_entry){ .index = index, .term = term };
	l->len = tail;
	encode_all(l);
}

int log_first_index_of_term(const raft_log *l, int index, int term)
{
	while (index - 1 > log_base_index(l) && log_term_at(l, index - 1) == term)
		index--;
	return index;
}

int log_last_index_of_term(const raft_log *l, int term)
{
	for (int i = log_last_index(l); i > log_base_index(l); i--) {
		int t = log_term_at(l, i);
		if (t == term)
			return i;
		if (t < term)
			break;
	}
	return -1;
}

int log_last_within(const raft_log *l, int after, size_t max_bytes)
{
	size_t from = log_at(l, after)->enc_end;
	int lo = after + 1, hi = log_last_index(l);
	if (lo >= hi || log_at(l, hi)->enc_end - from <= max_bytes)
		return hi;
	while (lo < hi) { /* lo fits (or is the one entry we must send) */
		int mid = lo + (hi - lo + 1) / 2;
		if (log_at(l, mid)->enc_end - from <= max_bytes)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

void log_put_entries(const raft_log *l, labgob_encoder *e, int after, int last)
{
	size_t from = log_at(l, after)->enc_end, to = log_at(l, last)->enc_end;
	if (to > from) /* an empty enc may have no buffer at all */
		labgob_put_encoded(e, l->enc.buf + from, to - from);
}
