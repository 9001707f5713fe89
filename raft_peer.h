/* raft_peer.h: a peer's state (Figure 2's "State" box, and what this
 * Raft keeps beyond it) and its timing constants, shared by raft.c (the
 * rules) and raft_fast.c (what only makes it faster).  Go keeps all of
 * this in raft.go; C needs a header to give two files one struct.  Not
 * part of the lab: a raft.c of your own need not use it. */
#ifndef RAFT_PEER_H
#define RAFT_PEER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "goroutine.h"
#include "raft.h"
#include "raft_log.h"
#include "util.h"

/* At most 10 heartbeats a second (the lab's rule); ours are a little
 * rarer, which keeps idle RPC counts low.  Election timeouts are several
 * heartbeats long, randomized so that peers rarely time out together, and
 * short enough that a new leader comes well within the tester's 5 s. */
#define HEARTBEAT_MS 180
#define ELECTION_TIMEOUT_MIN_MS 300
#define ELECTION_TIMEOUT_SPAN_MS 150
#define TICK_MS 10
/* How long a leader may hold the news of a commit for a follower, in
 * microseconds (tell_commit_soon()). */
#ifndef COMMIT_NOTICE_US
#define COMMIT_NOTICE_US 1000
#endif
#define NONE (-1)

/* A leader that has heard from no majority for this long steps down
 * (check quorum, Raft thesis 6.2).  It is shorter than the shortest
 * election timeout: by the time the others can have elected a successor,
 * a cut-off leader has stepped down, so it never accepts a Start() that
 * cannot commit. */
#define LEADER_QUORUM_MS (ELECTION_TIMEOUT_MIN_MS - 30)

/* When its majority has been quiet for a heartbeat and this much more, a
 * leader probes the quiet followers again, at most this often, so that a
 * few lost messages on an unreliable network do not depose it.  On a
 * reliable network no probe is ever needed. */
#define PROBE_MS 40

/* On a network whose replies come late (labrpc's long reordering holds
 * two replies in three back for 200 ms to 2.2 s), followers hear the
 * leader at once but the leader hears them late, and a late reply counts
 * from when its request left.  Then only the prompt replies keep the
 * leader's quorum fresh, so a leader that has seen a round trip longer
 * than a heartbeat in the last RTT_MEMORY_MS or so probes quiet followers
 * every PROBE_MS, not only once its majority has been quiet for a
 * heartbeat. */
#define RTT_MEMORY_MS 5000

/* How long an AppendEntries in flight holds back the next one to the same
 * follower (coalescing).  A reply takes microseconds, or up to 27 ms on an
 * unreliable network; a call that takes longer is probably lost or stuck in
 * labrpc's long delay, and waiting for it would stall replication. */
#ifndef REPLY_WAIT_MS
#define REPLY_WAIT_MS 30
#endif

/* What a follower that cannot be reached may cost.  labrpc holds a call
 * to it (and the thread making it) for up to 7 s, so sending it the
 * whole unacknowledged tail every REPLY_WAIT_MS would pile up hundreds of
 * threads and copies of the log.  Instead: one AppendEntries carries at
 * most MAX_APPEND_BYTES of entries (at least one entry); a follower that
 * has answered nothing sent in the last UNREACHABLE_MS hears from us only
 * at the heartbeat rate; and at most MAX_IN_FLIGHT AppendEntries and
 * InstallSnapshot calls to one peer are under way at once (more wait for
 * one to return).  About 20 calls are in flight to a cut-off follower at
 * the heartbeat rate, so the cap rarely binds; it is what bounds the
 * threads making calls.  RequestVotes are not held back (an election
 * must reach every peer it can): the election timer already limits them
 * to one per peer every 300 ms, so at most about 25 can be stuck at once. */
#define MAX_APPEND_BYTES (64 * 1024)
#define UNREACHABLE_MS (2 * HEARTBEAT_MS)
#define MAX_IN_FLIGHT 32

typedef enum { FOLLOWER, CANDIDATE, LEADER } role;

typedef enum { RPC_REQUEST_VOTE, RPC_APPEND_ENTRIES, RPC_INSTALL_SNAPSHOT } rpc_kind;

/* What the leader's loop (lead()) is started with. */
typedef struct {
	struct Raft *rf;
	int term;
} lead_arg;

/* One RPC on its way: its encoded arguments and what the reply handler
 * needs to know about what was sent.  go_start copies it to the thread
 * that makes the call. */
typedef struct {
	struct Raft *rf;
	rpc_kind kind;
	int peer;
	int term;        /* the term it was sent in */
	int prev_index;  /* AppendEntries: prevLogIndex */
	int nentries;    /* AppendEntries: entries carried */
	int last_index;  /* InstallSnapshot: lastIncludedIndex */
	uint64_t seq;    /* AppendEntries/InstallSnapshot: sent_seq when sent */
	int64_t sent_ms; /* when it was started */
	bool pre_vote;   /* RequestVote: a pre-vote */
	int round;       /* RequestVote: the election round it belongs to */
	uint8_t *args;
	size_t args_len;
} rpc_job;

struct Raft {
	pthread_mutex_t mu;
	go_group *group;        /* its threads, and the killed flag (goroutine.h) */
	labrpc_end **peers;
	int npeers;
	int me;
	Persister *persister;
	Chan *apply_ch;
	prng rng;

	/* Persistent state on all servers (Figure 2), and the snapshot. */
	int current_term;
	int voted_for;
	raft_log log;
	uint8_t *snapshot;
	size_t snapshot_len;

	/* Volatile state on all servers. */
	int commit_index;
	/* The last index the applier has taken to send: delivered, or copied
	 * and on its way.  The service may snapshot up to here, never past
	 * it: the entries after it are still to be copied from the log. */
	int last_applied;
	role state;
	int64_t election_deadline_ms;
	int votes;
	int election_round;     /* tells this round's votes from older ones */
	int64_t leader_heard_ms; /* last AppendEntries/InstallSnapshot of our term */
	bool snapshot_pending;  /* an installed snapshot for the applier */
	bool applying;          /* a thread is sending on apply_ch (the apply path) */
	int offered_index;      /* the entry being offered to a waiting service, or 0 */
	bool snapshot_waits_offer; /* raft_snapshot() waits for that offer's outcome */
	pthread_cond_t apply_cv;

	/* Volatile state on leaders. */
	int *next_index;
	int *match_index;
	int64_t heartbeat_due_ms;
	/* Check quorum and resends (beyond Figure 2). */
	int64_t *last_ack_ms;   /* the latest send time of a reply of this term */
	uint64_t *sent_seq;     /* AppendEntries/InstallSnapshot sent, per peer */
	uint64_t *answered_seq; /* the latest of them answered or lost */
	int64_t *last_sent_ms;  /* when the latest one left */
	int64_t rtt_period_ms;  /* the slowest round trips: since this time, */
	int64_t rtt_slowest;    /* this one, */
	int64_t rtt_slowest_before; /* and in the period before */

	/* Performance (raft_fast.c). */
	bool log_unsaved;       /* Start appended entries persist() has not saved */
	bool *pending;          /* new entries wait for an in-flight reply */
	int *commit_told;       /* the commitIndex the latest AppendEntries carried */
	bool commit_notice_due; /* a send_commit_notice() goroutine is on its way */
	int *in_flight;         /* AppendEntries/InstallSnapshot under way, per peer */
	bool collecting;        /* the applier's wake-up waits for the unlock */
	bool applier_to_wake;
};

/* rf.killed() */
static inline bool killed(const Raft *rf)
{
	return go_killed(rf->group);
}

/* Shared by raft.c and raft_fast.c (rf->mu held for each). */
void persist(Raft *rf);
void replicate_to(Raft *rf, int peer, bool heartbeat);
bool apply_pending(Raft *rf);
ApplyMsg committed_msg(Raft *rf, int index);
void save_new_entries(Raft *rf);
bool awaiting_reply(Raft *rf, int peer, int64_t now);
bool unreachable(Raft *rf, int peer, int64_t now);
bool can_send_to(Raft *rf, int peer);
void flush_pending(Raft *rf, int64_t now);
void collect_wakes(Raft *rf);
void wake_applier(Raft *rf);
void unlock_and_wake(Raft *rf);

#endif
