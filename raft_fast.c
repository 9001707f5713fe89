/* raft_fast.c: what makes our Raft faster and cheaper, and nothing else:
 * Figure 2 needs none of it (raft.c has the rules).  Each part says what
 * it buys, in make bench figures (3 peers; notes.md "Where the CPU goes"
 * has the runs).  Elsewhere: the log kept encoded (raft_log.h), the
 * applier's batches (deliver_committed() in raft.c: 64 clients 18,000 ->
 * 45,000 ops/s), and a reply's first RPC on the reply's own thread
 * (call_peer(), go_returning).  Each function here is called with rf->mu
 * held. */
#include "raft_peer.h"

/* A leader saves what Start appended before any message carries it, not
 * in Start itself: Start leaves it to whoever sends next, so a burst of
 * Starts that waits for a reply costs one save, not one each (at 64
 * clients Start was 20% of the CPU, its saves 12%). */
void save_new_entries(Raft *rf)
{
	if (rf->log_unsaved)
		persist(rf);
}

/* Coalescing: while the latest message to peer is unanswered, and recent
 * enough that its reply may yet come (older calls may sit in labrpc's long
 * delay for seconds: they do not count), new entries wait for it and go
 * in one message (RPCs per operation at 64 clients: 2.06 -> 0.71). */
bool awaiting_reply(Raft *rf, int peer, int64_t now)
{
	return rf->answered_seq[peer] < rf->sent_seq[peer] &&
	       now - rf->last_sent_ms[peer] < REPLY_WAIT_MS;
}

/* peer has answered nothing sent in the last UNREACHABLE_MS: it hears
 * from us at the heartbeat rate only (what a cut-off follower costs:
 * MAX_APPEND_BYTES's comment in raft_peer.h). */
bool unreachable(Raft *rf, int peer, int64_t now)
{
	return now - rf->last_ack_ms[peer] > UNREACHABLE_MS;
}

/* Room for one more AppendEntries or InstallSnapshot to peer (rf->mu
 * held). */
bool can_send_to(Raft *rf, int peer)
{
	return rf->in_flight[peer] < MAX_IN_FLIGHT;
}

/* What waited on a reply that did not come within REPLY_WAIT_MS goes now. */
void flush_pending(Raft *rf, int64_t now)
{
	for (int p = 0; p < rf->npeers; p++)
		if (rf->pending[p] && !awaiting_reply(rf, p, now))
			replicate_to(rf, p, false);
}

/* Wake-ups after the unlock.  glibc does not hand a mutex to the thread a
 * signal wakes: woken while we still hold rf->mu, the applier would run
 * only to sleep again on the mutex.  So the busy entry points (Start, a
 * reply, the AppendEntries handler, the ticker) call collect_wakes() once
 * they hold rf->mu and leave through unlock_and_wake(), which then hands
 * new entries to a waiting service itself (deliver_directly()) or wakes
 * the applier.  (One client: 13.4 -> 6.8 context switches per operation,
 * with go_start's and the channel's own wake-ups after their unlocks.) */
void collect_wakes(Raft *rf)
{
	rf->collecting = true;
}

/* There is something to apply (rf->mu held). */
void wake_applier(Raft *rf)
{
	if (rf->collecting)
		rf->applier_to_wake = true;
	else
		pthread_cond_signal(&rf->apply_cv);
}

/* Hand the next committed entry to a service already waiting on the
 * channel, if one is (rf->mu held, released meanwhile; never blocks).  A
 * waiting receiver takes one entry, so one is copied.  lastApplied moves
 * only once it is known to be taken; until then raft_snapshot() waits
 * for the outcome if asked for that very index (rf->offered_index): the
 * service may have it already.  A snapshot of a later index, which the
 * service was never sent, is refused as always. */
static void offer_next_committed(Raft *rf)
{
	int index = rf->last_applied + 1;
	ApplyMsg m = committed_msg(rf, index);
	rf->offered_index = index;
	pthread_mutex_unlock(&rf->mu);
	bool taken = chan_offer_all(rf->apply_ch, &m, 1) == 1;
	if (!taken)
		apply_msg_free(&m);
	pthread_mutex_lock(&rf->mu);
	rf->offered_index = 0;
	if (taken) {
		rf->last_applied = index;
		Debug(dCommit, "S%d applied %d..%d", rf->me, index, index);
	}
	if (rf->snapshot_waits_offer)
		pthread_cond_broadcast(&rf->apply_cv);
}

/* Deliver what the commit index just uncovered, here and now, if the
 * service is waiting for it and nobody else is sending (rf->mu held,
 * released meanwhile).  False when some is left to the applier thread. */
static bool deliver_directly(Raft *rf)
{
	if (rf->applying || rf->snapshot_pending || killed(rf) ||
	    rf->last_applied >= rf->commit_index)
		return !apply_pending(rf);
	rf->applying = true;
	offer_next_committed(rf);
	rf->applying = false;
	if (killed(rf))
		pthread_cond_broadcast(&rf->apply_cv); /* Kill waits for us */
	return !apply_pending(rf);
}

/* Release rf->mu, then the apply path, if there is something to apply:
 * it hands new entries to a waiting service itself rather than wake the
 * applier thread for them.  The condition variable lives as long as rf,
 * so it may be signalled after the unlock. */
void unlock_and_wake(Raft *rf)
{
	bool applier = rf->applier_to_wake;
	rf->collecting = false;
	rf->applier_to_wake = false;
	pthread_mutex_unlock(&rf->mu);
	if (!applier)
		return;
	pthread_mutex_lock(&rf->mu);
	applier = !deliver_directly(rf);
	pthread_mutex_unlock(&rf->mu);
	if (applier)
		pthread_cond_signal(&rf->apply_cv);
}
