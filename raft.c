/* raft.c: a Raft peer, written from the extended Raft paper (Figure 2,
 * Figure 13 and sections 5-7) and the course notes; notes.md points from
 * each note to the function here that carries it out.
 *
 * The file follows Figure 2: persistence, then the RPC receivers in the
 * paper's order (RequestVote, AppendEntries step by step, InstallSnapshot),
 * then the rules for all servers, followers, candidates and leaders, each
 * in a function named after what it does.  What Figure 2 leaves out comes
 * next (pre-vote, check quorum, a leader's resends), then the threads and
 * the API.  Beside it: the state (Figure 2's "State" box) and the
 * constants in raft_peer.h, the log and its index arithmetic in
 * raft_log.c, the RPCs' arguments and wire format in raft_rpc.c, and what
 * only makes it faster in raft_fast.c.
 *
 * Threads, all started with go_start (goroutine.h) in the peer's group,
 * which Kill ends and waits for: a ticker (Go's ticker goroutine: election
 * timeouts), a leader's loop while it leads (heartbeats and its quorum
 * check), an applier (it sends committed entries on the apply channel),
 * and one call per RPC, as Go's `go rf.sendAppendEntries(...)`.  None
 * holds a lock while it sleeps.  One mutex (rf->mu) guards all the
 * state.  It is never held across an RPC, an apply-channel send, or a
 * sleep. */
#define _GNU_SOURCE
#include "raft_peer.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "labgob/labgob.h"
#include "raft_rpc.h"
#include "raftstate.h"

static const char *const role_names[] = { "follower", "candidate", "leader" };
static const char *const rpc_methods[] = { "Raft.RequestVote", "Raft.AppendEntries",
					   "Raft.InstallSnapshot" };

/* Defined further down: the rules come in the paper's order. */
static void become_leader(Raft *rf);
static void replicate_to_all(Raft *rf, bool heartbeat);
static void send_install_snapshot(Raft *rf, int peer);
static void advance_commit_index(Raft *rf);
static void set_commit_index(Raft *rf, int index);
static void tell_commit_soon(Raft *rf);
static void send_commit_notice(void *arg);
static int64_t slowest_recent_rtt(const Raft *rf, int64_t now);
static rpc_job new_job(Raft *rf, rpc_kind kind, int peer, const void *args);
static void send_rpc(Raft *rf, rpc_job *job);
static void call_peer(void *arg);
static void lead(void *arg);

/* ---- persistent state: "updated on stable storage before responding to
 * RPCs" (Figure 2) ---- */

/* The state, as raft_decode_state reads it back: currentTerm, votedFor,
 * the sentinel's index and term, then the entries after it as
 * {term, command}. */
static void encode_state(Raft *rf, labgob_encoder *e)
{
	labgob_put_int(e, rf->current_term);
	labgob_put_int(e, rf->voted_for);
	labgob_put_int(e, log_base_index(&rf->log));
	labgob_put_int(e, log_base_term(&rf->log));
	labgob_put_count(e, (size_t)(log_last_index(&rf->log) - log_base_index(&rf->log)));
	log_put_entries(&rf->log, e, log_base_index(&rf->log), log_last_index(&rf->log));
}

/* Save currentTerm, votedFor and the log, with the current snapshot,
 * before anyone can see the change (rf->mu held): before the reply to an
 * RPC or the next RPC sent.  Start leaves its entries to the next send
 * (save_new_entries()). */
void persist(Raft *rf)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_state(rf, &e);
	persister_save(rf->persister, e.buf, e.len, rf->snapshot, rf->snapshot_len);
	Debug(dPersist, "S%d saved T%d voted %d log (%d..%d] %zu bytes", rf->me, rf->current_term,
	      rf->voted_for, log_base_index(&rf->log), log_last_index(&rf->log), e.len);
	labgob_encoder_free(&e);
	/* All of the log is saved now: a leader counts itself as holding
	 * what Start appended. */
	rf->log_unsaved = false;
	if (rf->state == LEADER)
		rf->match_index[rf->me] = log_last_index(&rf->log);
}

/* Restore what persist() saved, and the snapshot saved with it.  False,
 * with a message in err, when the state does not decode. */
static bool read_persist(Raft *rf, char *err, size_t errlen)
{
	size_t len;
	uint8_t *data = persister_read_raft_state(rf->persister, &len);
	rf->snapshot = persister_read_snapshot(rf->persister, &rf->snapshot_len);
	if (len == 0) {
		free(data);
		return true;
	}
	raft_persistent_state st;
	bool ok = raft_decode_state(data, len, &st, err, errlen);
	if (ok && st.voted_for >= rf->npeers) {
		snprintf(err, errlen, "persisted Raft state refused: votedFor %d, with %d peers",
			 st.voted_for, rf->npeers);
		raft_persistent_state_free(&st);
		ok = false;
	}
	free(data);
	if (!ok)
		return false;
	rf->current_term = st.current_term;
	rf->voted_for = st.voted_for;
	log_compact(&rf->log, st.base_index, st.base_term, false);
	for (int i = 0; i < st.nentries; i++)
		log_append(&rf->log, st.entries[i].term, st.entries[i].command, st.entries[i].command_len);
	raft_persistent_state_free(&st);
	/* Everything in the snapshot was committed and applied. */
	rf->commit_index = rf->last_applied = log_base_index(&rf->log);
	Debug(dPersist, "S%d restored T%d voted %d log (%d..%d]", rf->me, rf->current_term,
	      rf->voted_for, log_base_index(&rf->log), log_last_index(&rf->log));
	return true;
}

/* ---- all servers: "if RPC request or response contains term T >
 * currentTerm: set currentTerm = T, convert to follower" ---- */

static void reset_election_timer(Raft *rf)
{
	rf->election_deadline_ms =
		now_ms() + ELECTION_TIMEOUT_MIN_MS + prng_intn(&rf->rng, ELECTION_TIMEOUT_SPAN_MS);
}

/* Every change of role or term goes through here, and is logged in the one
 * form tools/dslogs reads: "S1 T4 follower -> T5 candidate". */
static void set_role(Raft *rf, int term, role r)
{
	if (term == rf->current_term && r == rf->state)
		return;
	Debug(dTerm, "S%d T%d %s -> T%d %s", rf->me, rf->current_term, role_names[rf->state], term,
	      role_names[r]);
	rf->current_term = term;
	rf->state = r;
}

/* A higher term was seen (in any RPC or reply): adopt it, forget the vote,
 * step down; or the leader of our term was heard: a candidate steps down.
 * The caller persists. */
static void become_follower(Raft *rf, int term)
{
	if (term > rf->current_term)
		rf->voted_for = NONE;
	/* A deposed leader's election timer is stale: start a fresh one,
	 * giving the new leader time to be heard. */
	if (rf->state == LEADER)
		reset_election_timer(rf);
	set_role(rf, term > rf->current_term ? term : rf->current_term, FOLLOWER);
}

/* Every RPC and reply first compares terms (Figure 2, all servers).
 * True when the term changed, so the caller knows to persist. */
static bool handle_term(Raft *rf, int term)
{
	if (term <= rf->current_term)
		return false;
	become_follower(rf, term);
	return true;
}

/* A killed peer is silent: its handlers change nothing and send no reply
 * (the lab's killed() check).  Checked under rf->mu, which Kill takes to
 * set dead, so nothing changes after Kill has returned (rf->mu held). */
static bool answer_unless_dead(Raft *rf)
{
	if (!killed(rf))
		return true;
	pthread_mutex_unlock(&rf->mu);
	return false;
}

/* ---- RequestVote RPC, receiver implementation ---- */

/* The election restriction (section 5.4.1): a candidate's log is at
 * least as up-to-date as ours when its last term is higher, or the same
 * and its log at least as long. */
static bool candidate_up_to_date(Raft *rf, int last_term, int last_index)
{
	return last_term > log_last_term(&rf->log) ||
	       (last_term == log_last_term(&rf->log) && last_index >= log_last_index(&rf->log));
}

/* Heard from a leader of our term within the shortest election timeout:
 * it is alive, so no one gets a pre-vote from us. */
static bool leader_recently_heard(Raft *rf)
{
	return rf->state == LEADER ||
	       now_ms() - rf->leader_heard_ms < ELECTION_TIMEOUT_MIN_MS;
}

/* RequestVote RPC receiver (Figure 2), and pre-votes, which change
 * nothing here: granted when a real vote in that term could be.  False,
 * with no answer, when dead. */
static bool request_vote(Raft *rf, const request_vote_args *a, request_vote_reply *r)
{
	pthread_mutex_lock(&rf->mu);
	if (!answer_unless_dead(rf))
		return false;
	bool changed = false;
	bool up_to_date = candidate_up_to_date(rf, a->last_log_term, a->last_log_index);
	if (a->pre_vote) {
		r->vote_granted = a->term > rf->current_term && !leader_recently_heard(rf) &&
				  up_to_date;
	} else {
		changed = handle_term(rf, a->term);
		r->vote_granted = a->term == rf->current_term && up_to_date &&
				  (rf->voted_for == NONE || rf->voted_for == a->candidate_id);
		if (r->vote_granted) {
			changed |= rf->voted_for != a->candidate_id;
			rf->voted_for = a->candidate_id;
			reset_election_timer(rf);
		}
	}
	if (changed)
		persist(rf);
	r->term = rf->current_term;
	Debug(dVote, "S%d %s %svote to S%d for T%d", rf->me,
	      r->vote_granted ? "granted" : "refused", a->pre_vote ? "pre-" : "", a->candidate_id,
	      a->term);
	pthread_mutex_unlock(&rf->mu);
	return true;
}

/* ---- AppendEntries RPC, receiver implementation ---- */

/* Entries that reach into our snapshot hold its last entry, as every
 * leader from its term on does (Leader Completeness): true unless the one
 * at the sentinel's index has another term.  Entries after it could then
 * go below the sentinel's term, which raft_decode_state() refuses. */
static bool agrees_with_snapshot(Raft *rf, const append_entries_args *a)
{
	int base = log_base_index(&rf->log);
	if (a->prev_log_index >= base || a->prev_log_index + (int)a->n <= base)
		return true;
	append_entries_args copy = *a;
	int t = -1;
	const uint8_t *c;
	size_t l;
	for (int index = a->prev_log_index + 1; index <= base; index++)
		next_entry(&copy, &t, &c, &l);
	return t == log_base_term(&rf->log);
}

/* An AppendEntries or InstallSnapshot of our term: its sender is the
 * leader.  A candidate steps down, no one starts an election while it is
 * heard, and a (pre-)vote round under way ends: a grant that comes late
 * must not start an election against the leader just heard. */
static void heard_from_leader(Raft *rf)
{
	become_follower(rf, rf->current_term);
	reset_election_timer(rf);
	rf->leader_heard_ms = now_ms();
	rf->election_round++;
}

/* prevLogIndex lies inside our snapshot: the entries the snapshot covers
 * are committed and match, so skip them (a is left at the first entry
 * after it).  Moves *prev to the snapshot's index at most; false when an
 * entry does not decode. */
static bool skip_snapshotted(Raft *rf, append_entries_args *a, int *prev, size_t *skip)
{
	*skip = 0;
	if (*prev >= log_base_index(&rf->log))
		return true;
	*skip = (size_t)(log_base_index(&rf->log) - *prev);
	if (*skip > a->n)
		*skip = a->n;
	for (size_t i = 0; i < *skip; i++) {
		int t;
		const uint8_t *c;
		size_t l;
		if (!next_entry(a, &t, &c, &l))
			return false;
	}
	*prev += (int)*skip;
	return true;
}

/* Receiver step 2: does our log hold an entry at prev of prev_term?  If
 * not, r gets the fast-backup hint (XTerm, XIndex, XLen). */
static bool log_matches(Raft *rf, int prev, int prev_term, append_entries_reply *r)
{
	if (prev > log_last_index(&rf->log)) {
		r->xlen = log_last_index(&rf->log) + 1;
		return false;
	}
	if (log_term_at(&rf->log, prev) == prev_term)
		return true;
	r->xterm = log_term_at(&rf->log, prev);
	r->xindex = log_first_index_of_term(&rf->log, prev, r->xterm);
	r->xlen = log_last_index(&rf->log) + 1;
	return false;
}

/* Receiver steps 3 and 4: delete an existing entry that conflicts with a
 * new one (same index, other term) and all that follow, then append the
 * new entries not already in the log.  Truncates only at a real conflict,
 * so a stale or repeated message never shortens the log.  *last gets the
 * index of the last new entry; false when an entry does not decode or
 * would replace a committed one. */
static bool append_new_entries(Raft *rf, append_entries_args *a, int prev, size_t skip,
			       int *last, bool *changed)
{
	int index = prev;
	for (size_t i = skip; i < a->n; i++) {
		int t;
		const uint8_t *c;
		size_t l;
		if (!next_entry(a, &t, &c, &l))
			return false;
		index++;
		if (log_has(&rf->log, index)) {
			if (log_term_at(&rf->log, index) == t)
				continue;
			if (index <= rf->commit_index) {
				Debug(dError, "S%d leader S%d conflicts at committed %d", rf->me,
				      a->leader_id, index);
				return false;
			}
			Debug(dLog2, "S%d conflict at %d: truncating after %d", rf->me, index,
			      index - 1);
			log_truncate_after(&rf->log, index - 1);
		}
		log_append(&rf->log, t, c, l);
		*changed = true;
	}
	*last = index;
	return true;
}

/* The receiver's steps of Figure 2, once the term is known to be current
 * (rf->mu held).  *changed says whether the log changed. */
static void accept_entries(Raft *rf, append_entries_args *a, append_entries_reply *r,
			   bool *changed)
{
	int prev = a->prev_log_index, prev_term = a->prev_log_term;
	size_t skip;
	if (!skip_snapshotted(rf, a, &prev, &skip))
		return;
	if (prev < log_base_index(&rf->log)) {
		r->success = true; /* all of it is in our snapshot */
		return;
	}
	if (skip > 0)
		prev_term = log_term_at(&rf->log, prev);
	int last;
	if (!log_matches(rf, prev, prev_term, r) ||
	    !append_new_entries(rf, a, prev, skip, &last, changed))
		return;
	r->success = true;
	/* Step 5: commitIndex = min(leaderCommit, index of last new entry). */
	if (a->leader_commit > rf->commit_index)
		set_commit_index(rf, a->leader_commit < last ? a->leader_commit : last);
	Debug(dLog2, "S%d accepted %zu entries after %d from S%d, log (%d..%d]", rf->me, a->n,
	      a->prev_log_index, a->leader_id, log_base_index(&rf->log), log_last_index(&rf->log));
}

/* AppendEntries RPC receiver (Figure 2).  False, with no answer, when
 * dead or when the entries disagree with our snapshot. */
static bool append_entries(Raft *rf, append_entries_args *a, append_entries_reply *r)
{
	pthread_mutex_lock(&rf->mu);
	if (!answer_unless_dead(rf))
		return false;
	/* (An older leader may disagree: it is refused below, as stale.) */
	if (a->term >= rf->current_term && !agrees_with_snapshot(rf, a)) {
		Debug(dWarn, "S%d refused AppendEntries T%d from S%d: disagrees with snapshot at %d",
		      rf->me, a->term, a->leader_id, log_base_index(&rf->log));
		pthread_mutex_unlock(&rf->mu);
		return false;
	}
	collect_wakes(rf);
	bool changed = handle_term(rf, a->term);
	*r = (append_entries_reply){ .xterm = -1 };
	if (a->term < rf->current_term) {
		/* Step 1: reply false if term < currentTerm. */
		Debug(dDrop, "S%d stale AppendEntries T%d from S%d", rf->me, a->term, a->leader_id);
	} else {
		heard_from_leader(rf);
		accept_entries(rf, a, r, &changed);
	}
	if (changed)
		persist(rf);
	r->term = rf->current_term;
	unlock_and_wake(rf);
	return true;
}

/* ---- InstallSnapshot RPC, receiver implementation (Figure 13), and the
 * service's snapshots ---- */

/* InstallSnapshot RPC receiver (Figure 13), the whole snapshot at once. */
static bool install_snapshot(Raft *rf, const install_snapshot_args *a, install_snapshot_reply *r)
{
	pthread_mutex_lock(&rf->mu);
	if (!answer_unless_dead(rf))
		return false;
	bool changed = handle_term(rf, a->term);
	int last = a->last_included_index, last_term = a->last_included_term;
	if (a->term == rf->current_term) {
		heard_from_leader(rf);
		/* Never move the service backwards: ignore what we have. */
		if (last > rf->commit_index) {
			bool keep = log_term_at(&rf->log, last) == last_term;
			log_compact(&rf->log, last, last_term, keep);
			free(rf->snapshot);
			rf->snapshot = xmemdup(a->data, a->len);
			rf->snapshot_len = a->len;
			rf->commit_index = last;
			rf->snapshot_pending = true;
			pthread_cond_signal(&rf->apply_cv);
			changed = true;
			Debug(dSnap, "S%d installed S%d's snapshot through %d/T%d", rf->me,
			      a->leader_id, last, last_term);
		}
	}
	if (changed)
		persist(rf);
	r->term = rf->current_term;
	pthread_mutex_unlock(&rf->mu);
	return true;
}

void raft_snapshot(Raft *rf, int index, const void *snapshot, size_t len)
{
	pthread_mutex_lock(&rf->mu);
	/* The entry offered to the service this moment may be in its hands
	 * already (offer_next_committed()). */
	while (index == rf->offered_index && index > rf->last_applied) {
		rf->snapshot_waits_offer = true;
		pthread_cond_wait(&rf->apply_cv, &rf->mu);
	}
	rf->snapshot_waits_offer = false;
	/* The service snapshots only what it was sent.  An index past what
	 * the applier has taken would drop entries it has yet to copy (and
	 * send the sentinel, or read outside the log, in their place). */
	if (index > rf->last_applied) {
		Debug(dWarn, "S%d snapshot through %d refused: only %d taken for applying", rf->me,
		      index, rf->last_applied);
	} else if (index > log_base_index(&rf->log)) {
		Debug(dSnap, "S%d snapshot through %d (%zu bytes)", rf->me, index, len);
		log_compact(&rf->log, index, log_term_at(&rf->log, index), true);
		free(rf->snapshot);
		rf->snapshot = xmemdup(snapshot, len);
		rf->snapshot_len = len;
		persist(rf);
	}
	pthread_mutex_unlock(&rf->mu);
}

/* ---- all servers: "if commitIndex > lastApplied: increment lastApplied,
 * apply log[lastApplied] to state machine" ---- */

bool apply_pending(Raft *rf)
{
	return rf->snapshot_pending || rf->last_applied < rf->commit_index;
}

/* Send the installed snapshot (rf->mu held, released while it sends);
 * false when the channel is closed or we are dead. */
static bool deliver_snapshot(Raft *rf)
{
	rf->snapshot_pending = false;
	ApplyMsg m = {
		.snapshot_valid = true,
		.snapshot = xmemdup(rf->snapshot, rf->snapshot_len),
		.snapshot_len = rf->snapshot_len,
		.snapshot_term = log_base_term(&rf->log),
		.snapshot_index = log_base_index(&rf->log),
	};
	if (m.snapshot_index > rf->last_applied)
		rf->last_applied = m.snapshot_index;
	pthread_mutex_unlock(&rf->mu);
	bool ok = chan_send_unless(rf->apply_ch, &m, go_kill_flag(rf->group));
	if (!ok)
		apply_msg_free(&m);
	pthread_mutex_lock(&rf->mu);
	return ok;
}

/* The committed entry at index, as the service is sent it (rf->mu held). */
ApplyMsg committed_msg(Raft *rf, int index)
{
	log_entry *e = log_at(&rf->log, index);
	return (ApplyMsg){
		.command_valid = true,
		.command = xmemdup(e->command, e->command_len),
		.command_len = e->command_len,
		.command_index = index,
	};
}

/* Send the committed entries after lastApplied, in order, all in one run
 * (rf->mu held, released while it sends), until the service has taken
 * them all (or the send is called off): the service takes one after
 * another without a hand-off each (64 clients: 18,000 -> 45,000 ops/s).
 * False when some were not taken. */
static bool deliver_committed(Raft *rf)
{
	int first = rf->last_applied + 1, last = rf->commit_index;
	int n = last - first + 1;
	ApplyMsg *batch = xcalloc((size_t)n, sizeof *batch);
	for (int i = 0; i < n; i++)
		batch[i] = committed_msg(rf, first + i);
	/* Taken: a snapshot may now cover the batch (it is copied), and the
	 * next batch starts after it. */
	rf->last_applied = last;
	pthread_mutex_unlock(&rf->mu);
	int sent = (int)chan_send_all_unless(rf->apply_ch, batch, (size_t)n,
					     go_kill_flag(rf->group));
	for (int i = sent; i < n; i++)
		apply_msg_free(&batch[i]);
	free(batch);
	pthread_mutex_lock(&rf->mu);
	if (sent > 0)
		Debug(dCommit, "S%d applied %d..%d", rf->me, first, first + sent - 1);
	return sent == n;
}

/* go rf.applier(): sends installed snapshots and committed entries, in
 * index order, on the apply channel, with rf->mu released while it sends. */
static void applier(void *arg)
{
	Raft *rf = *(Raft **)arg;
	pthread_mutex_lock(&rf->mu);
	while (!killed(rf)) {
		if (rf->applying || !apply_pending(rf)) {
			pthread_cond_wait(&rf->apply_cv, &rf->mu);
			continue;
		}
		rf->applying = true;
		bool ok = rf->snapshot_pending ? deliver_snapshot(rf) : deliver_committed(rf);
		rf->applying = false;
		if (!ok)
			break;
	}
	pthread_mutex_unlock(&rf->mu);
}

/* ---- candidates: "on conversion to candidate, start election" ---- */

/* Ask every peer for its vote in term: the real vote, or a pre-vote. */
static void send_vote_requests(Raft *rf, int term, bool pre)
{
	for (int p = 0; p < rf->npeers; p++) {
		if (p == rf->me)
			continue;
		request_vote_args a = { term, rf->me, log_last_index(&rf->log),
					log_last_term(&rf->log), pre };
		rpc_job job = new_job(rf, RPC_REQUEST_VOTE, p, &a);
		job.pre_vote = pre;
		job.round = rf->election_round;
		send_rpc(rf, &job);
	}
}

/* "On conversion to candidate, start election: increment currentTerm,
 * vote for self, reset election timer, send RequestVote RPCs to all other
 * servers." */
static void start_election(Raft *rf)
{
	set_role(rf, rf->current_term + 1, CANDIDATE);
	rf->voted_for = rf->me;
	rf->votes = 1;
	rf->election_round++;
	persist(rf);
	reset_election_timer(rf);
	Debug(dVote, "S%d election for T%d, last %d/T%d", rf->me, rf->current_term,
	      log_last_index(&rf->log), log_last_term(&rf->log));
	if (rf->votes * 2 > rf->npeers)
		become_leader(rf); /* a cluster of one: its own vote wins */
	else
		send_vote_requests(rf, rf->current_term, false);
}

/* "If votes received from majority of servers: become leader" (and a
 * pre-vote majority starts the real election). */
static void handle_request_vote_reply(Raft *rf, rpc_job *job, labgob_decoder *d)
{
	request_vote_reply r;
	if (!decode_request_vote_reply(d, &r))
		return;
	if (handle_term(rf, r.term)) {
		persist(rf);
		return;
	}
	/* Count only this round's answers, in the term they were asked in. */
	if (!r.vote_granted || job->round != rf->election_round || rf->current_term != job->term ||
	    rf->state == LEADER)
		return;
	if (job->pre_vote) {
		if (++rf->votes * 2 > rf->npeers)
			start_election(rf);
	} else if (rf->state == CANDIDATE && ++rf->votes * 2 > rf->npeers) {
		become_leader(rf);
	}
}

/* "Upon election: send initial empty AppendEntries RPCs (heartbeat) to
 * each server"; nextIndex starts after our last entry, matchIndex at 0. */
static void become_leader(Raft *rf)
{
	Debug(dLeader, "S%d leader for T%d with %d votes, log (%d..%d]", rf->me, rf->current_term,
	      rf->votes, log_base_index(&rf->log), log_last_index(&rf->log));
	set_role(rf, rf->current_term, LEADER);
	for (int p = 0; p < rf->npeers; p++) {
		rf->next_index[p] = log_last_index(&rf->log) + 1;
		rf->match_index[p] = 0;
		rf->pending[p] = false;
	}
	rf->match_index[rf->me] = log_last_index(&rf->log);
	int64_t now = now_ms();
	for (int p = 0; p < rf->npeers; p++)
		rf->last_ack_ms[p] = now; /* a fresh leader gets a full period */
	/* Tell everyone at once, so no one else times out. */
	rf->heartbeat_due_ms = now + HEARTBEAT_MS;
	for (int p = 0; p < rf->npeers; p++)
		if (p != rf->me)
			replicate_to(rf, p, true);
	lead_arg a = { rf, rf->current_term };
	go_start(rf->group, lead, &a, sizeof a); /* go rf.lead(term) */
}

/* ---- leaders: heartbeats, AppendEntries from nextIndex, and commitIndex ---- */

/* "If command received from client: append entry to local log, respond
 * after entry applied to state machine" (the service waits on apply_ch). */
bool raft_start(Raft *rf, const void *command, size_t len, int *index, int *term)
{
	pthread_mutex_lock(&rf->mu);
	collect_wakes(rf);
	bool leader = rf->state == LEADER && !killed(rf);
	if (leader) {
		log_append(&rf->log, rf->current_term, command, len);
		rf->log_unsaved = true;
		Debug(dClient, "S%d Start at %d/T%d", rf->me, log_last_index(&rf->log), rf->current_term);
		if (rf->npeers == 1) {
			save_new_entries(rf); /* nobody sends: save now */
			advance_commit_index(rf); /* its own copy is the majority */
		} else {
			replicate_to_all(rf, false);
		}
	}
	*index = log_last_index(&rf->log);
	*term = rf->current_term;
	unlock_and_wake(rf);
	return leader;
}

/* Send peer what it lacks from nextIndex on, up to MAX_APPEND_BYTES of it
 * (rf->mu held).  A heartbeat always goes (unless MAX_IN_FLIGHT calls to
 * peer are under way); otherwise, while the latest message to peer awaits
 * its reply, or peer is unreachable, only note that more is pending: the
 * reply (or the leader's loop, once REPLY_WAIT_MS has passed, or the next
 * heartbeat) sends the rest in one message, so a burst of Start()s is
 * coalesced. */
void replicate_to(Raft *rf, int peer, bool heartbeat)
{
	if (rf->state != LEADER)
		return;
	int64_t now = now_ms();
	if ((!heartbeat && (awaiting_reply(rf, peer, now) || unreachable(rf, peer, now))) ||
	    !can_send_to(rf, peer)) {
		rf->pending[peer] = true;
		return;
	}
	rf->last_sent_ms[peer] = now;
	rf->pending[peer] = false;
	save_new_entries(rf);
	if (rf->next_index[peer] <= log_base_index(&rf->log)) {
		send_install_snapshot(rf, peer);
		return;
	}
	int prev = rf->next_index[peer] - 1;
	int n = log_last_within(&rf->log, prev, MAX_APPEND_BYTES) - prev;
	append_entries_args a = { .term = rf->current_term, .leader_id = rf->me,
				  .prev_log_index = prev, .prev_log_term = log_term_at(&rf->log, prev),
				  .n = (size_t)n, .leader_commit = rf->commit_index };
	rf->commit_told[peer] = rf->commit_index;
	rpc_job job = new_job(rf, RPC_APPEND_ENTRIES, peer, &a);
	job.prev_index = prev;
	job.nentries = n;
	Debug(dLog, "S%d -> S%d AppendEntries prev %d/T%d, %d entries, commit %d", rf->me, peer,
	      prev, log_term_at(&rf->log, prev), n, rf->commit_index);
	job.seq = ++rf->sent_seq[peer];
	send_rpc(rf, &job);
}

static void replicate_to_all(Raft *rf, bool heartbeat)
{
	for (int p = 0; p < rf->npeers; p++)
		if (p != rf->me)
			replicate_to(rf, p, heartbeat);
}

static void send_install_snapshot(Raft *rf, int peer)
{
	install_snapshot_args a = { rf->current_term, rf->me, log_base_index(&rf->log),
				    log_base_term(&rf->log), rf->snapshot, rf->snapshot_len };
	rpc_job job = new_job(rf, RPC_INSTALL_SNAPSHOT, peer, &a);
	job.last_index = log_base_index(&rf->log);
	Debug(dSnap, "S%d -> S%d InstallSnapshot through %d", rf->me, peer, job.last_index);
	job.seq = ++rf->sent_seq[peer];
	send_rpc(rf, &job);
}

/* A reply to the leader's AppendEntries or InstallSnapshot: a higher term
 * deposes us; a reply from an older term is dropped; otherwise it shows
 * the follower was alive when the request left (check_quorum()): not
 * when the reply came, which the network may have held for seconds.  True
 * when it is to be used. */
static bool leader_reply_current(Raft *rf, rpc_job *job, int term)
{
	if (handle_term(rf, term)) {
		persist(rf);
		return false;
	}
	if (rf->state != LEADER || rf->current_term != job->term)
		return false;
	if (job->sent_ms > rf->last_ack_ms[job->peer])
		rf->last_ack_ms[job->peer] = job->sent_ms;
	return true;
}

/* "If AppendEntries fails because of log inconsistency: decrement
 * nextIndex and retry", by a term at a time rather than an entry: the
 * fast backup of the course notes (XTerm, XIndex, XLen). */
static void back_up_next_index(Raft *rf, int p, int xterm, int xindex, int xlen)
{
	int next;
	if (xterm == -1) {
		next = xlen;
	} else {
		int last = log_last_index_of_term(&rf->log, xterm);
		next = last >= 0 ? last + 1 : xindex;
	}
	if (next <= rf->match_index[p])
		next = rf->match_index[p] + 1;
	if (next < 1)
		next = 1;
	if (next > log_last_index(&rf->log) + 1)
		next = log_last_index(&rf->log) + 1;
	Debug(dDrop, "S%d S%d refused: X %d/T%d len %d, next %d", rf->me, p, xindex, xterm, xlen,
	      next);
	rf->next_index[p] = next;
	rf->pending[p] = true; /* retry at once, not at the next heartbeat */
}

/* The reply to an AppendEntries we sent in job: "if successful: update
 * nextIndex and matchIndex for follower", else back up. */
static void handle_append_entries_reply(Raft *rf, rpc_job *job, labgob_decoder *d)
{
	append_entries_reply r;
	if (!decode_append_entries_reply(d, &r) || !leader_reply_current(rf, job, r.term))
		return;
	int p = job->peer;
	if (r.success) {
		/* matchIndex from what was sent, never from the log now. */
		int match = job->prev_index + job->nentries;
		if (match + 1 > rf->next_index[p])
			rf->next_index[p] = match + 1;
		if (match > rf->match_index[p]) {
			rf->match_index[p] = match;
			advance_commit_index(rf);
		}
	} else if (job->prev_index == rf->next_index[p] - 1) {
		back_up_next_index(rf, p, r.xterm, r.xindex, r.xlen);
	}
	if (rf->pending[p] || rf->next_index[p] <= log_last_index(&rf->log))
		replicate_to(rf, p, false);
}

static void handle_install_snapshot_reply(Raft *rf, rpc_job *job, labgob_decoder *d)
{
	install_snapshot_reply r;
	if (!decode_install_snapshot_reply(d, &r) || !leader_reply_current(rf, job, r.term))
		return;
	int p = job->peer;
	if (job->last_index + 1 > rf->next_index[p])
		rf->next_index[p] = job->last_index + 1;
	if (job->last_index > rf->match_index[p]) {
		rf->match_index[p] = job->last_index;
		advance_commit_index(rf);
	}
	if (rf->pending[p] || rf->next_index[p] <= log_last_index(&rf->log))
		replicate_to(rf, p, false);
}

/* Figure 2, rules for leaders: commit N when a majority has matchIndex >= N
 * and log[N].term == currentTerm (only entries of its own term: Figure 8). */
static void advance_commit_index(Raft *rf)
{
	for (int n = log_last_index(&rf->log); n > rf->commit_index; n--) {
		if (log_term_at(&rf->log, n) != rf->current_term)
			break; /* earlier entries have older terms */
		int count = 0;
		for (int p = 0; p < rf->npeers; p++)
			if (rf->match_index[p] >= n)
				count++;
		if (count * 2 > rf->npeers) {
			set_commit_index(rf, n);
			break;
		}
	}
}

static void set_commit_index(Raft *rf, int index)
{
	if (index <= rf->commit_index)
		return;
	Debug(dCommit, "S%d commit %d -> %d", rf->me, rf->commit_index, index);
	rf->commit_index = index;
	wake_applier(rf);
	if (rf->state == LEADER)
		tell_commit_soon(rf);
}

/* A leader tells the followers of a commit within COMMIT_NOTICE_US, not
 * at the next heartbeat, so they apply without waiting; but not at once:
 * the next Start's AppendEntries (or a reply's follow-up) usually carries
 * the new commitIndex for free.  Told at once, each entry of a slow
 * stream of Starts cost 4 AppendEntries with 3 peers, not 2, and
 * TestCount2B failed ("too many RPCs (48) for 10 entries") in 44 of 200
 * seeds of make stress SIM=1's PCT schedules, where the tester's thread
 * runs last (in make sim any wait lets the next Start come first: the
 * clock stands still while a thread can run).  How long is a trade: the
 * followers' apply, and so make bench's 1-client latency to a majority,
 * waits for it, and the shorter it is the fewer commits ride on a Start
 * that comes later.  1-client p50 and TestReliableChurn2C's RPCs per
 * commit: 5 ms, 5.0 ms and 3.7; 1 ms, 1.0 ms and 3.7; 200 us, 240 us and
 * 4.4; 50 us, 150 us and 5.1.  A cluster of one has no one to tell. */
static void tell_commit_soon(Raft *rf)
{
	if (rf->commit_notice_due || rf->npeers == 1)
		return;
	lead_arg a = { rf, rf->current_term };
	rf->commit_notice_due = go_start(rf->group, send_commit_notice, &a, sizeof a);
}

/* go rf.sendCommitNotice(term): after COMMIT_NOTICE_US, an AppendEntries
 * to each follower that no message has told of the commitIndex yet. */
static void send_commit_notice(void *arg)
{
	lead_arg *a = arg;
	Raft *rf = a->rf;
	go_sleep_us(rf->group, COMMIT_NOTICE_US); /* time.Sleep */
	pthread_mutex_lock(&rf->mu);
	collect_wakes(rf);
	rf->commit_notice_due = false;
	if (rf->state == LEADER && rf->current_term == a->term && !killed(rf))
		for (int p = 0; p < rf->npeers; p++)
			if (p != rf->me && rf->commit_told[p] < rf->commit_index)
				replicate_to(rf, p, false);
	unlock_and_wake(rf);
}

/* ---- beyond Figure 2: pre-vote (thesis 9.6), check quorum (6.2), resends ---- */

/* Pre-vote (Raft thesis 9.6): before raising its term, a peer whose
 * election timer fired asks whether it could win.  A peer cut off from
 * the majority then never raises its term, and cannot depose a healthy
 * leader with it when it comes back. */
static void start_pre_vote(Raft *rf)
{
	rf->votes = 1;
	rf->election_round++;
	reset_election_timer(rf);
	Debug(dVote, "S%d pre-vote for T%d, last %d/T%d", rf->me, rf->current_term + 1,
	      log_last_index(&rf->log), log_last_term(&rf->log));
	if (rf->votes * 2 > rf->npeers)
		start_election(rf); /* a cluster of one */
	else
		send_vote_requests(rf, rf->current_term + 1, true);
}

/* How many peers, itself included, answered within ms. */
static int heard_within(Raft *rf, int64_t now, int64_t ms)
{
	int heard = 1;
	for (int p = 0; p < rf->npeers; p++)
		if (p != rf->me && now - rf->last_ack_ms[p] <= ms)
			heard++;
	return heard;
}

/* The majority has been quiet for longer than a heartbeat should take:
 * send the quiet followers a heartbeat now rather than at the next tick. */
static void probe_quiet_followers(Raft *rf, int64_t now)
{
	bool slow_network = slowest_recent_rtt(rf, now) > HEARTBEAT_MS;
	int64_t quiet = slow_network ? PROBE_MS : HEARTBEAT_MS + PROBE_MS;
	if (heard_within(rf, now, quiet) * 2 > rf->npeers)
		return;
	for (int p = 0; p < rf->npeers; p++)
		if (p != rf->me && now - rf->last_ack_ms[p] > quiet &&
		    now - rf->last_sent_ms[p] >= PROBE_MS)
			replicate_to(rf, p, true);
}

/* Check quorum: a leader cut off from a majority (no reply of its term
 * for LEADER_QUORUM_MS) steps down in the same term.  It could commit
 * nothing anyway, and this way it stops accepting Start()s that can never
 * commit.  Nothing persistent changes. */
static void check_quorum(Raft *rf, int64_t now)
{
	if (heard_within(rf, now, LEADER_QUORUM_MS) * 2 > rf->npeers) {
		probe_quiet_followers(rf, now);
		return;
	}
	Debug(dLeader, "S%d hears from no majority: stepping down in T%d", rf->me,
	      rf->current_term);
	become_follower(rf, rf->current_term);
}

/* A reply came after rtt ms: remember it if it is the slowest of the
 * current period (periods of RTT_MEMORY_MS). */
static void note_round_trip(Raft *rf, int64_t now, int64_t rtt)
{
	int64_t age = now - rf->rtt_period_ms;
	if (age >= RTT_MEMORY_MS) {
		rf->rtt_slowest_before = age < 2 * RTT_MEMORY_MS ? rf->rtt_slowest : 0;
		rf->rtt_slowest = 0;
		rf->rtt_period_ms = now;
	}
	if (rtt > rf->rtt_slowest)
		rf->rtt_slowest = rtt;
}

/* The slowest round trip of the last RTT_MEMORY_MS or so. */
static int64_t slowest_recent_rtt(const Raft *rf, int64_t now)
{
	int64_t age = now - rf->rtt_period_ms;
	if (age >= 2 * RTT_MEMORY_MS)
		return 0;
	if (age >= RTT_MEMORY_MS || rf->rtt_slowest >= rf->rtt_slowest_before)
		return rf->rtt_slowest;
	return rf->rtt_slowest_before;
}

/* An AppendEntries or InstallSnapshot came back failed: the network lost
 * the request or its reply (labrpc says so within 27 ms on an unreliable
 * network), or the peer is cut off (then only after up to 7 s).  What
 * waited for its reply goes now.  And a reachable follower that has not
 * heard from us since is sent the message again at once, rather than at
 * the next heartbeat: with one follower in a majority of two, one lost
 * heartbeat and an unlucky probe were enough for check quorum to depose
 * a healthy leader (25 times in 120 s, issue 20).  Only the latest
 * message to peer is resent, not sooner than TICK_MS after it left (a
 * peer that fails calls at once costs at most one call per TICK_MS, and
 * only until it counts as unreachable); a sooner one is left to the
 * leader's loop (pending). */
static void resend_lost(Raft *rf, rpc_job *job)
{
	int p = job->peer;
	int64_t now = now_ms();
	bool retry = rf->state == LEADER && rf->current_term == job->term &&
		     job->seq == rf->sent_seq[p] && !unreachable(rf, p, now);
	if (retry && now - rf->last_sent_ms[p] >= TICK_MS)
		replicate_to(rf, p, true);
	else if (rf->pending[p])
		replicate_to(rf, p, false);
	else if (retry)
		rf->pending[p] = true; /* flush_pending() sends it */
}

/* ---- the threads: one per call (go rf.call), the ticker, the leader's loop ---- */

/* A call of kind to peer with args (its kind's _args struct), encoded
 * now: what labrpc's Call does with &args in Go. */
static rpc_job new_job(Raft *rf, rpc_kind kind, int peer, const void *args)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	switch (kind) {
	case RPC_REQUEST_VOTE: encode_request_vote_args(&e, args); break;
	case RPC_APPEND_ENTRIES: encode_append_entries_args(&e, args, &rf->log); break;
	case RPC_INSTALL_SNAPSHOT: encode_install_snapshot_args(&e, args); break;
	}
	rpc_job job = { .rf = rf, .kind = kind, .peer = peer, .term = rf->current_term };
	job.sent_ms = now_ms();
	job.args = labgob_encoder_take(&e, &job.args_len);
	return job;
}

/* go call_peer(job) (rf->mu held).  After Kill nothing starts, and the
 * arguments are ours to free. */
static void send_rpc(Raft *rf, rpc_job *job)
{
	if (!go_start(rf->group, call_peer, job, sizeof *job)) {
		free(job->args);
		return;
	}
	if (job->kind != RPC_REQUEST_VOTE)
		rf->in_flight[job->peer]++;
}

static void handle_reply(Raft *rf, rpc_job *job, bool ok, const uint8_t *reply, size_t len)
{
	if (job->kind != RPC_REQUEST_VOTE && job->seq > rf->answered_seq[job->peer])
		rf->answered_seq[job->peer] = job->seq;
	if (!ok) {
		if (job->kind != RPC_REQUEST_VOTE)
			resend_lost(rf, job);
		return;
	}
	int64_t now = now_ms();
	note_round_trip(rf, now, now - job->sent_ms);
	labgob_decoder d;
	labgob_decoder_init(&d, reply, len);
	switch (job->kind) {
	case RPC_REQUEST_VOTE: handle_request_vote_reply(rf, job, &d); break;
	case RPC_APPEND_ENTRIES: handle_append_entries_reply(rf, job, &d); break;
	case RPC_INSTALL_SNAPSHOT: handle_install_snapshot_reply(rf, job, &d); break;
	}
	if (d.err != LABGOB_OK)
		Debug(dError, "S%d bad reply to %s from S%d: %s", rf->me, rpc_methods[job->kind],
		      job->peer, labgob_strerror(d.err));
}

/* go rf.call(job): make the call, with rf->mu released, then handle the
 * reply under it. */
static void call_peer(void *arg)
{
	rpc_job *job = arg;
	Raft *rf = job->rf;
	uint8_t *reply = NULL;
	size_t len = 0;
	bool ok = !killed(rf) && labrpc_call(rf->peers[job->peer], rpc_methods[job->kind],
					     job->args, job->args_len, &reply, &len);
	/* The first RPC the reply sets off (the rest of the log, the new
	 * commit index) runs on this thread once we return: no thread woken
	 * for it.  (make bench, 3 peers x 64 clients: 87% of the sender
	 * pool's throughput without it.) */
	go_returning(rf->group);
	pthread_mutex_lock(&rf->mu);
	collect_wakes(rf);
	if (job->kind != RPC_REQUEST_VOTE)
		rf->in_flight[job->peer]--;
	if (!killed(rf))
		handle_reply(rf, job, ok, reply, len);
	unlock_and_wake(rf);
	free(reply);
	free(job->args);
}

/* go rf.ticker(): "if election timeout elapses without receiving
 * AppendEntries RPC from current leader or granting vote to candidate:
 * convert to candidate" (by way of a pre-vote).  A sleep loop (no timer
 * objects) that holds no lock while it sleeps: it sleeps until the
 * election deadline and looks again, so a deadline pushed back meanwhile
 * just means another sleep.  A leader's ticker idles; lead() does its
 * work.  Kill cuts the sleep short. */
static void ticker(void *arg)
{
	Raft *rf = *(Raft **)arg;
	while (!killed(rf)) {
		pthread_mutex_lock(&rf->mu);
		collect_wakes(rf);
		if (rf->state != LEADER && now_ms() >= rf->election_deadline_ms)
			start_pre_vote(rf);
		int64_t wait = rf->state == LEADER ? ELECTION_TIMEOUT_MIN_MS
						   : rf->election_deadline_ms - now_ms();
		unlock_and_wake(rf);
		go_sleep(rf->group, wait < TICK_MS ? TICK_MS : wait); /* time.Sleep */
	}
}

/* One look at the clock for a leader (rf->mu held): it checks its quorum,
 * sends what waited too long, and "repeat[s] during idle periods to
 * prevent election timeouts" (heartbeats).  Returns how long to sleep:
 * until the next heartbeat, at most PROBE_MS, to watch its quorum. */
static int64_t leader_tick(Raft *rf)
{
	int64_t now = now_ms();
	check_quorum(rf, now);
	flush_pending(rf, now);
	if (rf->state == LEADER && now >= rf->heartbeat_due_ms) {
		rf->heartbeat_due_ms = now + HEARTBEAT_MS;
		replicate_to_all(rf, true);
	}
	int64_t wait = rf->heartbeat_due_ms - now_ms();
	if (wait > PROBE_MS)
		wait = PROBE_MS;
	return wait < TICK_MS ? TICK_MS : wait;
}

/* go rf.lead(term): the leader's loop, from its election until it is no
 * longer leader of term. */
static void lead(void *arg)
{
	lead_arg *a = arg;
	Raft *rf = a->rf;
	while (!killed(rf)) {
		pthread_mutex_lock(&rf->mu);
		if (rf->state != LEADER || rf->current_term != a->term) {
			pthread_mutex_unlock(&rf->mu);
			return;
		}
		collect_wakes(rf);
		int64_t wait = leader_tick(rf);
		unlock_and_wake(rf);
		go_sleep(rf->group, wait); /* time.Sleep(wait) */
	}
}

/* ---- the API ---- */

Raft *raft_make(labrpc_end *const *peers, int npeers, int me, Persister *persister,
		Chan *apply_ch, uint64_t seed, char *err, size_t errlen)
{
	Raft *rf = xcalloc(1, sizeof *rf);
	pthread_mutex_init(&rf->mu, NULL);
	pthread_cond_init(&rf->apply_cv, NULL);
	rf->group = go_group_make();
	rf->peers = xmemdup(peers, (size_t)npeers * sizeof *peers);
	rf->npeers = npeers;
	rf->me = me;
	rf->persister = persister;
	persister_retain(persister);
	rf->apply_ch = apply_ch;
	prng_seed(&rf->rng, seed);

	rf->voted_for = NONE;
	log_init(&rf->log);
	rf->next_index = xcalloc((size_t)npeers, sizeof(int));
	rf->match_index = xcalloc((size_t)npeers, sizeof(int));
	rf->sent_seq = xcalloc((size_t)npeers, sizeof(uint64_t));
	rf->answered_seq = xcalloc((size_t)npeers, sizeof(uint64_t));
	rf->last_sent_ms = xcalloc((size_t)npeers, sizeof(int64_t));
	rf->last_ack_ms = xcalloc((size_t)npeers, sizeof(int64_t));
	rf->pending = xcalloc((size_t)npeers, sizeof(bool));
	rf->in_flight = xcalloc((size_t)npeers, sizeof(int));
	rf->commit_told = xcalloc((size_t)npeers, sizeof(int));
	if (!read_persist(rf, err, errlen)) {
		raft_free(rf); /* no thread has started */
		return NULL;
	}
	reset_election_timer(rf);
	/* go rf.ticker(); go rf.applier().  Only the system's limit on
	 * threads can stop them: then there is no peer. */
	const char *failed = NULL;
	if (!go_start(rf->group, ticker, &rf, sizeof rf))
		failed = "ticker";
	else if (!go_start(rf->group, applier, &rf, sizeof rf))
		failed = "applier";
	if (failed) {
		snprintf(err, errlen, "cannot start the %s thread", failed);
		go_kill(rf->group);
		go_wait(rf->group);
		raft_free(rf);
		return NULL;
	}
	return rf;
}

bool raft_get_state(Raft *rf, int *term)
{
	pthread_mutex_lock(&rf->mu);
	*term = rf->current_term;
	bool leader = rf->state == LEADER;
	pthread_mutex_unlock(&rf->mu);
	return leader;
}

void raft_get_status(Raft *rf, raft_status *st)
{
	pthread_mutex_lock(&rf->mu);
	st->term = rf->current_term;
	st->role = role_names[rf->state];
	st->base_index = log_base_index(&rf->log);
	st->last_index = log_last_index(&rf->log);
	st->commit_index = rf->commit_index;
	st->last_applied = rf->last_applied;
	pthread_mutex_unlock(&rf->mu);
}

void raft_kill(Raft *rf)
{
	/* Set under rf->mu, so no handler changes anything once it is set
	 * (answer_unless_dead). */
	pthread_mutex_lock(&rf->mu);
	bool first = !killed(rf);
	go_kill(rf->group); /* atomic.StoreInt32(&rf.dead, 1) */
	pthread_cond_broadcast(&rf->apply_cv);
	bool applying = rf->applying;
	pthread_mutex_unlock(&rf->mu);
	if (first) {
		Debug(dInfo, "S%d killed", rf->me);
		/* An applier parked in a send nobody takes gives up (the flag
		 * is set).  Only the first Kill touches apply_ch: once one
		 * has returned, the service may have freed it. */
		if (applying)
			chan_wake_senders(rf->apply_ch);
		/* Pending calls return at once instead of sitting out a long
		 * delay. */
		for (int p = 0; p < rf->npeers; p++)
			labrpc_end_abort(rf->peers[p]);
	}
	go_wait(rf->group); /* every thread of ours has ended */
	/* A thread handing entries over directly (a caller's, not ours)
	 * finishes at once: it never waits on the channel.  After that
	 * nothing of ours touches apply_ch, which the service may then close
	 * and free. */
	pthread_mutex_lock(&rf->mu);
	while (rf->applying)
		pthread_cond_wait(&rf->apply_cv, &rf->mu);
	pthread_mutex_unlock(&rf->mu);
}

void raft_free(Raft *rf)
{
	go_group_free(rf->group);
	log_free(&rf->log);
	free(rf->snapshot);
	free(rf->next_index);
	free(rf->match_index);
	free(rf->sent_seq);
	free(rf->answered_seq);
	free(rf->last_sent_ms);
	free(rf->last_ack_ms);
	free(rf->pending);
	free(rf->in_flight);
	free(rf->commit_told);
	free(rf->peers);
	persister_release(rf->persister);
	pthread_cond_destroy(&rf->apply_cv);
	pthread_mutex_destroy(&rf->mu);
	free(rf);
}

/* ---- RPC handlers: decode, call the receiver, encode ---- */

/* A message that did not decode, or that no leader sends (refused says
 * why, with a WARN line): no reply. */
static int not_answered(Raft *rf, const char *method, int term, int from, const char *refused)
{
	if (refused)
		Debug(dWarn, "S%d refused %s T%d from S%d: %s", rf->me, method, term, from, refused);
	return -1;
}

int raft_request_vote(Raft *rf, labgob_decoder *args, labgob_encoder *reply)
{
	request_vote_args a;
	request_vote_reply r;
	if (!decode_request_vote_args(args, rf->npeers, &a) || !request_vote(rf, &a, &r))
		return -1;
	encode_request_vote_reply(reply, &r);
	return 0;
}

int raft_append_entries(Raft *rf, labgob_decoder *args, labgob_encoder *reply)
{
	append_entries_args a;
	append_entries_reply r;
	const char *refused;
	if (!decode_append_entries_args(args, rf->npeers, &a, &refused))
		return not_answered(rf, "AppendEntries", a.term, a.leader_id, refused);
	if (!append_entries(rf, &a, &r))
		return -1;
	encode_append_entries_reply(reply, &r);
	return 0;
}

int raft_install_snapshot(Raft *rf, labgob_decoder *args, labgob_encoder *reply)
{
	install_snapshot_args a;
	install_snapshot_reply r;
	const char *refused;
	if (!decode_install_snapshot_args(args, rf->npeers, &a, &refused))
		return not_answered(rf, "InstallSnapshot", a.term, a.leader_id, refused);
	if (!install_snapshot(rf, &a, &r))
		return -1;
	encode_install_snapshot_reply(reply, &r);
	return 0;
}

/* Each handler holds rf->mu for a moment and never waits on anything
 * else: what it hands the service on its way out it only offers
 * (offer_next_committed(): chan_offer_all() never blocks), and the rest is
 * the applier's.  So labrpc may run it on the caller's thread. */
const bool raft_handlers_never_block = true;
