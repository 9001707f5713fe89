/* raft_log.h: a Raft peer's log (Figure 2's log[]) after its last
 * snapshot, with all of the index arithmetic.  Not part of the lab: the
 * log of this project's raft.c (a raft.c of your own need not use it).
 *
 * Indexes are the paper's, from 1.  e[0] is a sentinel standing for the
 * snapshot's last entry (index 0, term 0 before any snapshot), so the
 * entry before any other always has a term.  Beside the entries, the log
 * keeps those after the sentinel encoded as {term, command} each, as
 * persist() saves them and AppendEntries carries them: neither encodes
 * the log again each time (make bench, notes.md "Where the CPU goes":
 * churn CPU per committed entry 310-330 -> 235-265 us). */
#ifndef RAFT_LOG_H
#define RAFT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labgob/labgob.h"

typedef struct {
	int index;
	int term;
	uint8_t *command;
	size_t command_len;
	size_t enc_end; /* where this entry ends in raft_log.enc */
} log_entry;

typedef struct {
	log_entry *e;        /* e[0]: the sentinel */
	int len, cap;
	labgob_encoder enc;  /* the entries after the sentinel, encoded */
} raft_log;

/* An empty log: the sentinel alone, index 0, term 0. */
void log_init(raft_log *l);
void log_free(raft_log *l);

/* The sentinel's index and term: the snapshot's last entry. */
int log_base_index(const raft_log *l);
int log_base_term(const raft_log *l);
int log_last_index(const raft_log *l);
int log_last_term(const raft_log *l);
/* Whether index is in the log (the sentinel counts). */
bool log_has(const raft_log *l, int index);
/* The entry at index; index must be in the log (log_has). */
log_entry *log_at(const raft_log *l, int index);
/* The term at index, or -1 when the log does not hold it. */
int log_term_at(const raft_log *l, int index);

/* Append one entry after the last (a copy of command). */
void log_append(raft_log *l, int term, const void *command, size_t len);
/* Drop every entry after index (index in the log). */
void log_truncate_after(raft_log *l, int index);
/* Make (index, term) the sentinel: drop every entry up to index, and keep
 * those after it only when keep_tail (they match the snapshot's). */
void log_compact(raft_log *l, int index, int term, bool keep_tail);

/* The first index of the run of term that ends at or after index. */
int log_first_index_of_term(const raft_log *l, int index, int term);
/* The last index holding term, or -1. */
int log_last_index_of_term(const raft_log *l, int term);

/* The last index of the entries after `after` that fit in max_bytes
 * encoded: at least one entry, when there is one (after in the log). */
int log_last_within(const raft_log *l, int after, size_t max_bytes);
/* Append the entries in (after, last] to e, encoded {term, command} each;
 * both must be in the log. */
void log_put_entries(const raft_log *l, labgob_encoder *e, int after, int last);

#endif
