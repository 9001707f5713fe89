/* scripted.h: one real Raft peer (S0) among scripted ones, for tests that
 * build an exact situation (the hardening and paper suites).
 *
 * S1..Sn-1 are test services on the same labrpc network.  Every request
 * S0 sends them is recorded; each peer answers it as its policy says
 * (grant, refuse, accept, follow a log of its own, drop) or holds it until
 * the test answers or drops it, so a reply can come late, after S0 has
 * moved on.  The test also calls S0's handlers as any peer would, with any
 * arguments, and restarts S0 from its persister as the tester does.
 *
 * Only the lab's API (raft.h) and labrpc are used, so the same tests
 * judge any Raft.  The messages carry Figure 2's fields, in the handout's
 * order; fields a Raft adds after them are zero in what the scripted peers
 * send (as a gob leaves a field the sender does not know), and a
 * RequestVote whose added fields are not all zero is taken for a pre-vote
 * (ours carries a trailing pre flag).  How many fields a Raft adds is
 * learned once, from a throwaway peer.
 *
 * Everything here runs on the test's thread except the handlers; the
 * assertions (Check's) are made on the test's thread only. */
#ifndef SCRIPTED_H
#define SCRIPTED_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../raft.h"
#include "report.h"

/* A failed check in a helper (here or in a test file): Check's failure,
 * which also names the test's line that called the helper through
 * CALLED_FROM (called_from.h, report.h). */
#define require(cond, ...)                         \
	do {                                       \
		if (!(cond)) {                     \
			report_failure();          \
			ck_abort_msg(__VA_ARGS__); \
		}                                  \
	} while (0)

#define SCRIPTED_MAX_PEERS 5
#define SCRIPTED_LOG_MAX 256 /* entries in a scripted peer's log */

typedef enum { MSG_VOTE, MSG_APPEND, MSG_SNAPSHOT } msg_kind;

/* What a scripted peer does with a request of a kind. */
typedef enum {
	POLICY_HOLD,   /* keep it for the test to answer (scripted_answer) */
	POLICY_GRANT,  /* votes: granted; AppendEntries, snapshots: success */
	POLICY_REFUSE, /* votes: refused; AppendEntries: failure */
	POLICY_FOLLOW, /* AppendEntries, snapshots: as a correct follower */
	POLICY_DROP,   /* no reply */
} policy;

/* A request S0 sent to a scripted peer, with Figure 2's fields. */
typedef struct msg {
	msg_kind kind;
	int to;         /* the scripted peer */
	bool pre;       /* a RequestVote with non-zero added fields */
	int term, from; /* from: the candidate or leader id S0 gave */
	int last_index, last_term;            /* RequestVote */
	int prev_index, prev_term, leader_commit; /* AppendEntries */
	int n, *terms;                        /* its entries' terms */
	int snap_index, snap_term;            /* InstallSnapshot */
	int64_t at_ms;                        /* when it arrived */
	/* the answer (the harness's lock held) */
	bool answered, dropped, reply_ok, taken;
	int reply_term;
	struct msg *next;
} msg;

typedef struct {
	int term;             /* its current term */
	policy vote, prevote, append, snapshot;
	int log[SCRIPTED_LOG_MAX]; /* POLICY_FOLLOW's log: terms of indices 1..len */
	int len;
} scripted_peer;

typedef struct {
	int index;            /* command_index or snapshot_index */
	bool snapshot;
	char cmd[32];         /* the command, as text (cmd_for's) */
} applied_msg;

typedef struct scripted {
	int n;
	labrpc_net *net;
	Raft *rf;             /* S0 */
	Persister *ps;
	Chan *ch;
	pthread_t reader;
	int incarnation;
	labrpc_end *to_s0;    /* the test's own end to S0 */
	pthread_mutex_t mu;
	pthread_cond_t cv;    /* a message arrived, answered, or S0 applied */
	bool closing;
	scripted_peer peer[SCRIPTED_MAX_PEERS];
	msg *msgs, **tail;    /* every request, in arrival order */
	applied_msg *applied; /* what S0 delivered, all incarnations */
	int napplied, applied_cap, applied_mark; /* mark: first of this incarnation */
	int pad_req[3], pad_reply[3]; /* added fields, per kind */
} scripted;

/* A cluster of n (2..5): S0 real, reading state from initial (copied;
 * NULL for none), the others scripted: term 0, votes refused, pre-votes
 * granted, AppendEntries and snapshots followed. */
scripted *scripted_make(int n, Persister *initial);
void scripted_free(scripted *s);

/* Change a peer's policies (any time).  scripted_next then passes over
 * the requests of that kind the peer got before. */
void scripted_set(scripted *s, int peer, msg_kind kind, policy p);
void scripted_set_prevote(scripted *s, int peer, policy p);
void scripted_set_all(scripted *s, msg_kind kind, policy p);
/* Set a scripted peer's term; its log (POLICY_FOLLOW's): terms of
 * indices 1..len. */
void scripted_set_term(scripted *s, int peer, int term);
void scripted_set_log(scripted *s, int peer, int len, const int *terms);
/* Copy its log to terms (room for SCRIPTED_LOG_MAX); returns its length. */
int scripted_log(scripted *s, int peer, int *terms);

/* The next request from S0 to peer of kind (pre-votes are skipped unless
 * pre) not yet returned by this call, waiting up to ms; NULL when none
 * came.  The harness owns it. */
msg *scripted_next(scripted *s, int peer, msg_kind kind, bool pre, int ms);
/* Like scripted_next, for the first whose term is at least term. */
msg *scripted_next_in(scripted *s, int peer, msg_kind kind, int term, int ms);
/* Answer a held request now (reply_term, and granted or success). */
void scripted_answer(scripted *s, msg *m, int term, bool ok);
void scripted_drop(scripted *s, msg *m);
/* How many requests of kind (pre: pre-votes) peer got so far. */
int scripted_count(scripted *s, int peer, msg_kind kind, bool pre);

/* S0's term and leadership now. */
int s0_term(scripted *s);
bool s0_is_leader(scripted *s);
/* Wait up to ms for S0 to lead; false if it did not. */
bool s0_wait_leader(scripted *s, int ms);

/* The command of entry index in term, as the scripted peers make it. */
void cmd_for(int index, int term, char *buf, size_t len);

/* S0's handlers, called as peer from would.  Each returns false when no
 * reply came; the reply's term in *reply_term (may be NULL). */
bool s0_request_vote(scripted *s, int from, int term, int last_index, int last_term,
		     bool *granted, int *reply_term);
/* Entries prev+1..prev+n of the given terms, commands cmd_for's. */
bool s0_append(scripted *s, int from, int term, int prev, int prev_term, int n, const int *terms,
	       int commit, bool *success, int *reply_term);
bool s0_install_snapshot(scripted *s, int from, int term, int last_index, int last_term,
			 const char *data, int *reply_term);

/* Kill S0 and start it again from its persister, as the tester does. */
void s0_restart(scripted *s);

/* The highest index S0 delivered in this incarnation (0: none). */
int s0_applied(scripted *s);
/* Wait up to ms for S0 to deliver index; false if it did not. */
bool s0_wait_applied(scripted *s, int index, int ms);
/* The i-th message S0 delivered in this incarnation (from 0); false when
 * there is none yet. */
bool s0_applied_msg(scripted *s, int i, applied_msg *out);

/* Become S0's leader's peers: elect S0 in a term above its own, with the
 * scripted peers granting (real and pre-) votes; then they follow its
 * AppendEntries.  Returns the term; fails the test if S0 is not elected
 * within 3 s. */
int s0_elect(scripted *s);

#endif
