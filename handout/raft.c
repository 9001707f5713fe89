/* raft.c: your Raft peer.
 *
 * This is an outline of the API that raft must expose to the service (or
 * tester); raft.h says more about each function.
 *
 *   rf = raft_make(peers, npeers, me, persister, apply_ch, seed, err, errlen)
 *     create a new Raft server (NULL, with the reason in err, when the
 *     persisted state does not decode).
 *   raft_start(rf, command, len, &index, &term) -> is leader
 *     start agreement on a new log entry.
 *   raft_get_state(rf, &term) -> is leader
 *     ask a Raft for its current term, and whether it thinks it is leader.
 *   ApplyMsg
 *     each time a new entry is committed to the log, each Raft peer should
 *     send an ApplyMsg to the service (or tester) in the same server.
 *
 * Go's runtime has counterparts here (goroutine.h, chan.h):
 *
 *   Go                                    C
 *   go rf.ticker()                        go_start(rf->group, ticker, &rf, sizeof rf)
 *   go rf.sendRequestVote(server, ...)    go_start(rf->group, fn, &call, sizeof call)
 *   time.Sleep(ms * time.Millisecond)     go_sleep(rf->group, ms)
 *   rf.killed()                           raft_killed(rf)
 *   rf.mu.Lock() / rf.mu.Unlock()         pthread_mutex_lock(&rf->mu) / ..._unlock
 *   rf.applyCh <- msg                     chan_send(rf->apply_ch, &msg)
 *
 * C has no garbage collector: raft_kill waits for every thread started
 * with go_start (so start yours with it), and raft_free frees what
 * raft_make allocated.  Never hold rf->mu across an RPC call, a send on
 * apply_ch, or a sleep.  The tests check Kill from part 2A on: every lab
 * test fails if a killed peer leaves a thread running, and RUN=kill_test
 * also checks that a killed peer sends nothing.
 *
 * Parts marked "Given" are plumbing (the RPC codec); change them as you
 * need.  "Your code here" marks what the lab asks of you. */
#include "raft.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goroutine.h"
#include "labgob/labgob.h"
#include "util.h"

/* For a helper your code does not call yet: -Werror would refuse it. */
#define NOT_YET_USED __attribute__((unused))

/* A C struct implementing a single Raft peer. */
struct Raft {
	pthread_mutex_t mu;      /* lock to protect shared access to this peer's state */
	labrpc_end **peers;      /* RPC end points of all peers */
	int npeers;
	int me;                  /* this peer's index into peers[] */
	Persister *persister;    /* object to hold this peer's persisted state */
	Chan *apply_ch;          /* where committed entries go (ApplyMsg) */
	go_group *group;         /* its threads, Kill's flag and sleeps (goroutine.h) */
	prng rng;                /* this peer's randomness (util.h), under mu */

	/* Your data here (2A, 2B, 2C).
	 * Look at the paper's Figure 2 for a description of what
	 * state a Raft server must maintain. */
};

/* One log entry as it travels in AppendEntries.  Commands are byte blobs;
 * the tester's are a few bytes to 5000. */
typedef struct {
	int term;
	const uint8_t *command; /* see decode_append_entries_args() */
	size_t command_len;
} log_entry_msg;

/* Return currentTerm in *term, and whether this server believes it is the
 * leader. */
bool raft_get_state(Raft *rf, int *term)
{
	int t = 0;
	bool is_leader = false;
	/* Your code here (2A). */
	(void)rf;
	*term = t;
	return is_leader;
}

/* Save Raft's persistent state to stable storage, where it can later be
 * retrieved after a crash and restart.  See the paper's Figure 2 for a
 * description of what should be persistent.  Before you've implemented
 * snapshots, pass NULL, 0 as the snapshot to persister_save(); after,
 * pass the current snapshot. */
static NOT_YET_USED void persist(Raft *rf)
{
	/* Your code here (2C).
	 * Example:
	 *	labgob_encoder e;
	 *	labgob_encoder_init(&e);
	 *	labgob_put_int(&e, rf->xxx);
	 *	labgob_put_int(&e, rf->yyy);
	 *	persister_save(rf->persister, e.buf, e.len, NULL, 0);
	 *	labgob_encoder_free(&e);
	 */
	(void)rf;
}

/* Restore previously persisted state; false, with the reason in err,
 * when it does not decode. */
static bool read_persist(Raft *rf, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	if (data == NULL || len < 1) /* bootstrap without any state? */
		return true;
	/* Your code here (2C).
	 * Example:
	 *	labgob_decoder d;
	 *	labgob_decoder_init(&d, data, len);
	 *	int xxx, yyy;
	 *	labgob_get_int(&d, &xxx, 0, INT_MAX);
	 *	labgob_get_int(&d, &yyy, -1, INT_MAX);
	 *	if (labgob_decoder_finish(&d) != LABGOB_OK) {
	 *		snprintf(err, errlen, "persisted state refused");
	 *		return false;
	 *	} else {
	 *		rf->xxx = xxx;
	 *		rf->yyy = yyy;
	 *	}
	 */
	(void)rf;
	(void)err;
	(void)errlen;
	return true;
}

/* The service says it has created a snapshot that has all info up to and
 * including index.  This means the service no longer needs the log
 * through (and including) that index.  Raft should now trim its log as
 * much as possible.  The bytes are the caller's: copy what you keep. */
void raft_snapshot(Raft *rf, int index, const void *snapshot, size_t len)
{
	/* Your code here (2D). */
	(void)rf;
	(void)index;
	(void)snapshot;
	(void)len;
}

/* ---- RequestVote ---- */

/* RequestVote RPC arguments and reply (Figure 2).  Add a field to a
 * struct, and to its encode and decode functions below, in the same
 * order. */
typedef struct {
	int term;
	int candidate_id;
	int last_log_index;
	int last_log_term;
} RequestVoteArgs;

typedef struct {
	int term;
	bool vote_granted;
} RequestVoteReply;

/* Given: the codec (Go's gob does this for you). */
static void encode_request_vote_args(labgob_encoder *e, const RequestVoteArgs *a)
{
	labgob_put_int(e, a->term);
	labgob_put_int(e, a->candidate_id);
	labgob_put_int(e, a->last_log_index);
	labgob_put_int(e, a->last_log_term);
}

static bool decode_request_vote_args(labgob_decoder *d, RequestVoteArgs *a)
{
	labgob_get_int(d, &a->term, 0, INT_MAX);
	labgob_get_int(d, &a->candidate_id, 0, INT_MAX);
	labgob_get_int(d, &a->last_log_index, 0, INT_MAX);
	labgob_get_int(d, &a->last_log_term, -1, INT_MAX);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

static void encode_request_vote_reply(labgob_encoder *e, const RequestVoteReply *r)
{
	labgob_put_int(e, r->term);
	labgob_put_bool(e, r->vote_granted);
}

static bool decode_request_vote_reply(labgob_decoder *d, RequestVoteReply *r)
{
	labgob_get_int(d, &r->term, 0, INT_MAX);
	labgob_get_bool(d, &r->vote_granted);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

/* The RequestVote RPC handler. */
static void request_vote(Raft *rf, const RequestVoteArgs *args, RequestVoteReply *reply)
{
	/* Your code here (2A, 2B). */
	(void)rf;
	(void)args;
	(void)reply;
}

/* Given: what labrpc calls for "Raft.RequestVote". */
int raft_request_vote(Raft *rf, labgob_decoder *args, labgob_encoder *reply)
{
	RequestVoteArgs a;
	RequestVoteReply r = { 0 };
	if (!decode_request_vote_args(args, &a))
		return -1;
	request_vote(rf, &a, &r);
	encode_request_vote_reply(reply, &r);
	return 0;
}

/* Example code to send a RequestVote RPC to a server.  server is the index
 * of the target server in rf->peers[].  Fills in *reply with the RPC
 * reply.
 *
 * The labrpc package simulates a lossy network, in which servers may be
 * unreachable, and in which requests and replies may be lost.
 * labrpc_call() sends a request and waits for a reply.  If a reply arrives
 * within a timeout interval, it returns true; otherwise it returns false.
 * Thus it may not return for a while.  A false return can be caused by a
 * dead server, a live server that can't be reached, a lost request, or a
 * lost reply.
 *
 * labrpc_call() is guaranteed to return (perhaps after a delay) *except*
 * if the handler on the server side does not return.  Thus there is no
 * need to implement your own timeouts around it.  It blocks: call it
 * without holding rf->mu, from a thread of its own if you must not wait.
 *
 * Look at the comments in labrpc/labrpc.h for more details.
 *
 * To send to every peer at once, as Go's `go rf.sendRequestVote(...)`
 * does, put what the call needs in a struct and hand go_start a copy:
 *
 *	typedef struct { Raft *rf; int server; RequestVoteArgs args; } vote_call;
 *
 *	static void call_request_vote(void *arg)
 *	{
 *		vote_call *c = arg;   // go_start's copy, yours until you return
 *		RequestVoteReply reply;
 *		if (send_request_vote(c->rf, c->server, &c->args, &reply)) {
 *			pthread_mutex_lock(&c->rf->mu);
 *			...                 // count the vote
 *			pthread_mutex_unlock(&c->rf->mu);
 *		}
 *	}
 *
 *	vote_call c = { rf, server, args };
 *	go_start(rf->group, call_request_vote, &c, sizeof c);  // go rf.sendRequestVote(...)
 */
static NOT_YET_USED bool send_request_vote(Raft *rf, int server, const RequestVoteArgs *args,
					   RequestVoteReply *reply)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_request_vote_args(&e, args);
	uint8_t *rbuf = NULL;
	size_t rlen = 0;
	bool ok = labrpc_call(rf->peers[server], "Raft.RequestVote", e.buf, e.len, &rbuf, &rlen);
	labgob_encoder_free(&e);
	if (ok) {
		labgob_decoder d;
		labgob_decoder_init(&d, rbuf, rlen);
		ok = decode_request_vote_reply(&d, reply);
	}
	free(rbuf);
	return ok;
}

/* ---- AppendEntries ---- */

/* AppendEntries RPC arguments and reply (Figure 2).  entries points to
 * nentries entries; in a handler, they and their commands live only as
 * long as the call: copy what you keep. */
typedef struct {
	int term;
	int leader_id;
	int prev_log_index;
	int prev_log_term;
	int nentries;
	log_entry_msg *entries;
	int leader_commit;
} AppendEntriesArgs;

typedef struct {
	int term;
	bool success;
} AppendEntriesReply;

/* Given: the codec. */
static void encode_append_entries_args(labgob_encoder *e, const AppendEntriesArgs *a)
{
	labgob_put_int(e, a->term);
	labgob_put_int(e, a->leader_id);
	labgob_put_int(e, a->prev_log_index);
	labgob_put_int(e, a->prev_log_term);
	labgob_put_count(e, (size_t)a->nentries);
	for (int i = 0; i < a->nentries; i++) {
		labgob_put_int(e, a->entries[i].term);
		labgob_put_bytes(e, a->entries[i].command, a->entries[i].command_len);
	}
	labgob_put_int(e, a->leader_commit);
}

/* The entries' commands point into d's input; a->entries is allocated
 * (free() it). */
static bool decode_append_entries_args(labgob_decoder *d, AppendEntriesArgs *a)
{
	size_t n = 0;
	a->entries = NULL;
	a->nentries = 0;
	labgob_get_int(d, &a->term, 0, INT_MAX);
	labgob_get_int(d, &a->leader_id, 0, INT_MAX);
	labgob_get_int(d, &a->prev_log_index, 0, INT_MAX);
	labgob_get_int(d, &a->prev_log_term, -1, INT_MAX);
	/* Each entry takes at least two bytes: a term and a length. */
	if (labgob_get_count(d, &n, 2) && n <= INT_MAX) {
		a->entries = xcalloc(n ? n : 1, sizeof *a->entries);
		for (size_t i = 0; i < n; i++) {
			log_entry_msg *m = &a->entries[i];
			if (labgob_get_int(d, &m->term, 0, INT_MAX) &&
			    labgob_get_bytes(d, &m->command, &m->command_len))
				a->nentries++;
		}
	}
	labgob_get_int(d, &a->leader_commit, 0, INT_MAX);
	if (labgob_decoder_finish(d) != LABGOB_OK) {
		free(a->entries);
		a->entries = NULL;
		return false;
	}
	return true;
}

static void encode_append_entries_reply(labgob_encoder *e, const AppendEntriesReply *r)
{
	labgob_put_int(e, r->term);
	labgob_put_bool(e, r->success);
}

static bool decode_append_entries_reply(labgob_decoder *d, AppendEntriesReply *r)
{
	labgob_get_int(d, &r->term, 0, INT_MAX);
	labgob_get_bool(d, &r->success);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

/* The AppendEntries RPC handler. */
static void append_entries(Raft *rf, const AppendEntriesArgs *args, AppendEntriesReply *reply)
{
	/* Your code here (2A, 2B). */
	(void)rf;
	(void)args;
	(void)reply;
}

/* Given: what labrpc calls for "Raft.AppendEntries". */
int raft_append_entries(Raft *rf, labgob_decoder *args, labgob_encoder *reply)
{
	AppendEntriesArgs a;
	AppendEntriesReply r = { 0 };
	if (!decode_append_entries_args(args, &a))
		return -1;
	append_entries(rf, &a, &r);
	free(a.entries);
	encode_append_entries_reply(reply, &r);
	return 0;
}

/* Send an AppendEntries RPC to a server, as send_request_vote() does. */
static NOT_YET_USED bool send_append_entries(Raft *rf, int server, const AppendEntriesArgs *args,
					     AppendEntriesReply *reply)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_append_entries_args(&e, args);
	uint8_t *rbuf = NULL;
	size_t rlen = 0;
	bool ok = labrpc_call(rf->peers[server], "Raft.AppendEntries", e.buf, e.len, &rbuf, &rlen);
	labgob_encoder_free(&e);
	if (ok) {
		labgob_decoder d;
		labgob_decoder_init(&d, rbuf, rlen);
		ok = decode_append_entries_reply(&d, reply);
	}
	free(rbuf);
	return ok;
}

/* ---- InstallSnapshot (2D) ---- */

/* InstallSnapshot RPC arguments and reply (the paper's Figure 13, without
 * offset and done: the whole snapshot goes in one RPC).  In a handler,
 * data lives only as long as the call: copy what you keep. */
typedef struct {
	int term;
	int leader_id;
	int last_included_index;
	int last_included_term;
	const uint8_t *data;
	size_t data_len;
} InstallSnapshotArgs;

typedef struct {
	int term;
} InstallSnapshotReply;

/* Given: the codec. */
static void encode_install_snapshot_args(labgob_encoder *e, const InstallSnapshotArgs *a)
{
	labgob_put_int(e, a->term);
	labgob_put_int(e, a->leader_id);
	labgob_put_int(e, a->last_included_index);
	labgob_put_int(e, a->last_included_term);
	labgob_put_bytes(e, a->data, a->data_len);
}

static bool decode_install_snapshot_args(labgob_decoder *d, InstallSnapshotArgs *a)
{
	labgob_get_int(d, &a->term, 0, INT_MAX);
	labgob_get_int(d, &a->leader_id, 0, INT_MAX);
	labgob_get_int(d, &a->last_included_index, 0, INT_MAX);
	labgob_get_int(d, &a->last_included_term, -1, INT_MAX);
	labgob_get_bytes(d, &a->data, &a->data_len);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

static void encode_install_snapshot_reply(labgob_encoder *e, const InstallSnapshotReply *r)
{
	labgob_put_int(e, r->term);
}

static bool decode_install_snapshot_reply(labgob_decoder *d, InstallSnapshotReply *r)
{
	labgob_get_int(d, &r->term, 0, INT_MAX);
	return labgob_decoder_finish(d) == LABGOB_OK;
}

/* The InstallSnapshot RPC handler. */
static void install_snapshot(Raft *rf, const InstallSnapshotArgs *args, InstallSnapshotReply *reply)
{
	/* Your code here (2D). */
	(void)rf;
	(void)args;
	(void)reply;
}

/* Given: what labrpc calls for "Raft.InstallSnapshot". */
int raft_install_snapshot(Raft *rf, labgob_decoder *args, labgob_encoder *reply)
{
	InstallSnapshotArgs a;
	InstallSnapshotReply r = { 0 };
	if (!decode_install_snapshot_args(args, &a))
		return -1;
	install_snapshot(rf, &a, &r);
	encode_install_snapshot_reply(reply, &r);
	return 0;
}

/* Send an InstallSnapshot RPC to a server, as send_request_vote() does. */
static NOT_YET_USED bool send_install_snapshot(Raft *rf, int server, const InstallSnapshotArgs *args,
					       InstallSnapshotReply *reply)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_install_snapshot_args(&e, args);
	uint8_t *rbuf = NULL;
	size_t rlen = 0;
	bool ok = labrpc_call(rf->peers[server], "Raft.InstallSnapshot", e.buf, e.len, &rbuf, &rlen);
	labgob_encoder_free(&e);
	if (ok) {
		labgob_decoder d;
		labgob_decoder_init(&d, rbuf, rlen);
		ok = decode_install_snapshot_reply(&d, reply);
	}
	free(rbuf);
	return ok;
}

/* Set this to true only when every handler above holds rf->mu for a
 * moment at most and never waits for anything else (an RPC, apply_ch, a
 * sleep): labrpc then runs handlers on the caller's thread, which is
 * faster.  False is always safe: handlers run on labrpc's worker threads,
 * as Go runs each in a goroutine of its own. */
const bool raft_handlers_never_block = false;

/* ---- Start, Kill, the ticker ---- */

/* The service using Raft (e.g. a k/v server) wants to start agreement on
 * the next command to be appended to Raft's log.  If this server isn't the
 * leader, returns false.  Otherwise start the agreement and return
 * immediately.  There is no guarantee that this command will ever be
 * committed to the Raft log, since the leader may fail or lose an
 * election.  Even if the Raft instance has been killed, this function
 * should return gracefully.  The command's bytes are the caller's: copy
 * them.
 *
 * *index is the index that the command will appear at if it's ever
 * committed, *term the current term.  The result is true if this server
 * believes it is the leader. */
bool raft_start(Raft *rf, const void *command, size_t len, int *index, int *term)
{
	*index = -1;
	*term = -1;
	bool is_leader = true;
	/* Your code here (2B). */
	(void)rf;
	(void)command;
	(void)len;
	return is_leader;
}

/* The tester calls raft_kill() when a peer crashes and at the end of each
 * test.  Your code can use raft_killed() to check whether it has been
 * called; the flag is atomic, so no lock is needed.
 *
 * Unlike Go's Kill, this one returns only when every thread the peer
 * started has ended: the tester frees the peer afterwards.  go_kill cuts
 * every go_sleep short; go_wait waits for what go_start started.  A
 * thread of yours that waits on a condition variable must be woken here. */
void raft_kill(Raft *rf)
{
	go_kill(rf->group); /* atomic.StoreInt32(&rf.dead, 1) */
	/* Your code here, if desired. */
	go_wait(rf->group); /* not in Go: wait for every go_start'ed thread */
}

/* rf.killed() */
static bool raft_killed(Raft *rf)
{
	return go_killed(rf->group);
}

/* go rf.ticker(): arg is go_start's copy of rf. */
static void ticker(void *arg)
{
	Raft *rf = *(Raft **)arg;
	while (!raft_killed(rf)) { /* for rf.killed() == false { */
		/* Your code here (2A)
		 * Check if a leader election should be started. */

		/* pause for a random amount of time between 50 and 350
		 * milliseconds. */
		pthread_mutex_lock(&rf->mu); /* rf->rng is under rf->mu */
		int64_t ms = 50 + prng_intn(&rf->rng, 300);
		pthread_mutex_unlock(&rf->mu);
		go_sleep(rf->group, ms); /* time.Sleep(time.Duration(ms) * time.Millisecond) */
	}
}

/* The service or tester wants to create a Raft server.  The ports of all
 * the Raft servers (including this one) are in peers[].  This server's
 * port is peers[me].  All the servers' peers[] arrays have the same order.
 * persister is a place for this server to save its persistent state, and
 * also initially holds the most recent saved state, if any.  apply_ch is
 * a channel on which the tester or service expects Raft to send ApplyMsg
 * messages.  seed seeds this peer's randomness (rf->rng): use no other.
 * raft_make() must return quickly, so it should start threads for any
 * long-running work.  A persisted state that does not decode makes no
 * peer: return NULL with the reason in err (errlen bytes); the tester
 * fails the test with it. */
Raft *raft_make(labrpc_end *const *peers, int npeers, int me, Persister *persister,
		Chan *apply_ch, uint64_t seed, char *err, size_t errlen)
{
	Raft *rf = xcalloc(1, sizeof *rf);
	pthread_mutex_init(&rf->mu, NULL);
	rf->group = go_group_make();
	rf->peers = xmemdup(peers, (size_t)npeers * sizeof *peers);
	rf->npeers = npeers;
	rf->me = me;
	rf->persister = persister;
	persister_retain(persister); /* reference-counted: hold it while in use */
	rf->apply_ch = apply_ch;
	prng_seed(&rf->rng, seed);

	/* Your initialization code here (2A, 2B, 2C). */

	/* initialize from state persisted before a crash */
	size_t len;
	uint8_t *state = persister_read_raft_state(persister, &len);
	bool ok = read_persist(rf, state, len, err, errlen);
	free(state);
	if (!ok) {
		raft_free(rf); /* no thread has started */
		return NULL;
	}

	/* start ticker goroutine to start elections */
	go_start(rf->group, ticker, &rf, sizeof rf); /* go rf.ticker() */
	return rf;
}

/* Free what raft_make() allocated; the peer was killed, and nothing uses
 * it any more. */
void raft_free(Raft *rf)
{
	/* Your code here: free what you added. */
	persister_release(rf->persister);
	free(rf->peers);
	go_group_free(rf->group);
	pthread_mutex_destroy(&rf->mu);
	free(rf);
}

/* Not in the lab: make run's live table (raftsim) shows what this fills
 * in.  Given: the term and role from raft_get_state(); set the other
 * fields too if you like (-1 shows as unknown). */
void raft_get_status(Raft *rf, raft_status *st)
{
	bool leader = raft_get_state(rf, &st->term);
	st->role = leader ? "leader" : "follower";
	st->base_index = st->last_index = st->commit_index = st->last_applied = -1;
}
