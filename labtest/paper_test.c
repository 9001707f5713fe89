/* paper_test.c: beyond the lab: does your Raft keep each rule of the
 * paper?  One test per rule of Figure 2, sections 5.1-5.4 and the parts
 * of section 7 (and Figure 13) that 2D uses, in the spirit of etcd's
 * raft_paper_test.go.  Each comment cites its section.
 *
 * Each test builds the exact situation its rule is about with one real
 * peer, S0, among scripted ones (scripted.h): the test plays the other
 * peers, holds S0's requests and answers them late, or drops them, and
 * restarts S0 from its persister as the tester does.  Only the lab's API
 * and labrpc are used, so the suite judges any Raft written for the lab.
 * The lab's 28 tests let a Raft that breaks some of these rules pass
 * (notes.md, "The paper suite", says which). */
#define _GNU_SOURCE
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "called_from.h"
#include "registry.h"
#include "scripted.h"

/* ---- helpers ---- */

/* The tests call these through CALLED_FROM (below), so that a failure in
 * one (require) also names the test's line. */

/* S0 fresh, among n-1 scripted peers that refuse it votes and pre-votes:
 * a Raft with pre-vote then keeps its term while the test plays leader. */
static scripted *quiet_make(int n)
{
	scripted *s = scripted_make(n, NULL);
	for (int j = 1; j < n; j++)
		scripted_set_prevote(s, j, POLICY_REFUSE);
	return s;
}

/* The test, as leader from in term, sends S0 entries that set the stage;
 * S0 must take them. */
static void feed(scripted *s, int from, int term, int prev, int prev_term, int n,
		 const int *terms, int commit)
{
	bool success;
	require(s0_append(s, from, term, prev, prev_term, n, terms, commit, &success, NULL),
		      "S0 did not answer an AppendEntries");
	require(success,
		      "S0 refused S%d's AppendEntries of term %d (prev %d/T%d, %d entries), "
		      "which agrees with its log",
		      from, term, prev, prev_term, n);
}

/* Does S0's log hold index with term?  Asked as a leader of term would:
 * an empty AppendEntries after it. */
static bool s0_has(scripted *s, int from, int term, int index, int index_term)
{
	bool success;
	require(s0_append(s, from, term, index, index_term, 0, NULL, 0, &success, NULL),
		      "S0 did not answer an AppendEntries");
	return success;
}

static bool vote(scripted *s, int from, int term, int last_index, int last_term)
{
	bool granted;
	require(s0_request_vote(s, from, term, last_index, last_term, &granted, NULL),
		      "S0 did not answer a RequestVote");
	return granted;
}

/* The next real RequestVote S0 sends peer, within ms; fails without one. */
static msg *next_vote(scripted *s, int peer, int ms)
{
	msg *m = scripted_next(s, peer, MSG_VOTE, false, ms);
	require(m != NULL, "S0 sent S%d no RequestVote within %d ms", peer, ms);
	return m;
}

/* The next AppendEntries of term (or later) that S0 sends peer carrying
 * entries through index, waiting up to ms for each; the ones before it
 * are answered with success when answer_others (a Raft may send a peer
 * one request at a time), else left as they are.  NULL if none came. */
static msg *next_carrying(scripted *s, int peer, int term, int index, bool answer_others, int ms)
{
	msg *m;
	while ((m = scripted_next_in(s, peer, MSG_APPEND, term, ms)) != NULL &&
	       m->prev_index + m->n < index)
		if (answer_others)
			scripted_answer(s, m, term, true);
	return m;
}

/* Start a command on S0 (its text cmd_for(index, term)); returns the
 * index. */
static int start(scripted *s, int want_index, int want_term)
{
	char cmd[32];
	cmd_for(want_index, want_term, cmd, sizeof cmd);
	int index, term;
	require(raft_start(s->rf, cmd, strlen(cmd), &index, &term), "S0, leader, refused Start");
	require(index == want_index && term == want_term,
		      "Start on S0, leader of term %d with %d entries, returned index %d, term %d",
		      want_term, want_index - 1, index, term);
	return index;
}

/* The i-th message S0 applied must be the command of index in term. */
static void expect_applied(scripted *s, int i, int index, int term)
{
	applied_msg a;
	require(s0_applied_msg(s, i, &a), "S0 applied no message %d", i + 1);
	char want[32];
	cmd_for(index, term, want, sizeof want);
	require(!a.snapshot && a.index == index && strcmp(a.cmd, want) == 0,
		      "message %d S0 applied: %s %d \"%s\", not entry %d \"%s\"", i + 1,
		      a.snapshot ? "snapshot" : "entry", a.index, a.cmd, index, want);
}

#define quiet_make(...) CALLED_FROM(quiet_make, __VA_ARGS__)
#define scripted_make(...) CALLED_FROM(scripted_make, __VA_ARGS__)
#define s0_elect(...) CALLED_FROM(s0_elect, __VA_ARGS__)
#define s0_restart(...) CALLED_FROM(s0_restart, __VA_ARGS__)
#define feed(...) CALLED_FROM(feed, __VA_ARGS__)
#define s0_has(...) CALLED_FROM(s0_has, __VA_ARGS__)
#define vote(...) CALLED_FROM(vote, __VA_ARGS__)
#define next_vote(...) CALLED_FROM(next_vote, __VA_ARGS__)
#define start(...) CALLED_FROM(start, __VA_ARGS__)
#define expect_applied(...) CALLED_FROM(expect_applied, __VA_ARGS__)

/* ---- 5.1: terms ---- */

/* Figure 2, rules for all servers: a request or reply with term T >
 * currentTerm sets currentTerm = T (section 5.1). */
START_TEST(TestPaperTermUpdatedFromMessage)
{
	scripted *s = quiet_make(3);
	bool success, granted;
	int rt;
	ck_assert(s0_append(s, 1, 2, 0, 0, 0, NULL, 0, &success, &rt));
	ck_assert_msg(rt == 2 && s0_term(s) == 2,
		      "S0 heard S1 lead term 2 and is in term %d (replied %d): a message of a "
		      "higher term sets currentTerm (5.1)",
		      s0_term(s), rt);
	ck_assert(s0_request_vote(s, 2, 4, 0, 0, &granted, &rt));
	ck_assert_msg(rt == 4 && s0_term(s) == 4,
		      "S2 asked S0 for its vote in term 4; S0 is in term %d (replied %d): a "
		      "message of a higher term sets currentTerm (5.1)",
		      s0_term(s), rt);
	scripted_free(s);
}
END_TEST

/* Figure 2: AppendEntries, RequestVote (and InstallSnapshot, Figure 13)
 * reply false if term < currentTerm (section 5.1). */
START_TEST(TestPaperStaleTermRejected)
{
	scripted *s = quiet_make(3);
	int t3[] = { 3 };
	feed(s, 1, 3, 0, 0, 1, t3, 0);

	bool success, granted;
	int rt;
	int t2[] = { 2 };
	ck_assert(s0_append(s, 2, 2, 0, 0, 1, t2, 0, &success, &rt));
	ck_assert_msg(!success && rt == 3,
		      "S0, in term 3, took S2's AppendEntries of term 2 (success %d, term %d): "
		      "requests of an older term are refused (5.1)",
		      success, rt);
	ck_assert(s0_request_vote(s, 2, 2, 5, 3, &granted, &rt));
	ck_assert_msg(!granted && rt == 3,
		      "S0, in term 3, granted S2 its vote for term 2 (replied term %d): "
		      "requests of an older term are refused (5.1)",
		      rt);
	ck_assert(s0_install_snapshot(s, 2, 2, 5, 2, "stale", &rt));
	ck_assert_msg(rt == 3, "S0, in term 3, answered a snapshot of term 2 with term %d", rt);
	sleep_ms(100);
	applied_msg a = { 0 };
	ck_assert_msg(!s0_applied_msg(s, 0, &a),
		      "S0, in term 3, installed a snapshot from a stale leader of term 2 (applied "
		      "index %d): requests of an older term are refused (5.1, Figure 13)",
		      a.index);
	ck_assert_msg(s0_has(s, 1, 3, 1, 3),
		      "S0 replaced its entry 1/T3 with a stale leader's of term 2 (5.1)");
	scripted_free(s);
}
END_TEST

/* Figure 2, rules for all servers: a leader or candidate that sees a
 * higher term in a reply steps down (section 5.1). */
START_TEST(TestPaperLeaderStepsDownForHigherTerm)
{
	scripted *s = scripted_make(3, NULL);
	int term = s0_elect(s);
	scripted_set(s, 1, MSG_APPEND, POLICY_HOLD);
	msg *m = scripted_next_in(s, 1, MSG_APPEND, term, 1000);
	ck_assert_msg(m != NULL, "S0, leader, sent S1 no AppendEntries within 1 s");
	scripted_answer(s, m, term + 5, false);
	int64_t t0 = now_ms();
	while ((s0_is_leader(s) || s0_term(s) < term + 5) && now_ms() - t0 < 1000)
		sleep_ms(5);
	ck_assert_msg(!s0_is_leader(s) && s0_term(s) >= term + 5,
		      "S0, leader of term %d, got a reply of term %d and is %s of term %d: a leader "
		      "that sees a higher term steps down (5.1)",
		      term, term + 5, s0_is_leader(s) ? "still leader" : "follower", s0_term(s));
	scripted_free(s);
}
END_TEST

START_TEST(TestPaperCandidateStepsDownForHigherTerm)
{
	scripted *s = scripted_make(3, NULL);
	scripted_set_all(s, MSG_VOTE, POLICY_HOLD);
	msg *m1 = next_vote(s, 1, 3000);
	msg *m2 = next_vote(s, 2, 1000);
	int term = m1->term;
	/* S1 is in a later term and refuses; S2 grants, which would make S0
	 * leader had it not stepped down. */
	scripted_answer(s, m1, term + 5, false);
	int64_t t0 = now_ms();
	while (s0_term(s) < term + 5 && now_ms() - t0 < 1000)
		sleep_ms(5);
	scripted_answer(s, m2, term, true);
	sleep_ms(100);
	ck_assert_msg(!s0_is_leader(s) && s0_term(s) >= term + 5,
		      "S0, candidate of term %d, got a refusal of term %d and is %sin term %d: a "
		      "candidate that sees a higher term steps down (5.1)",
		      term, term + 5, s0_is_leader(s) ? "leader " : "", s0_term(s));
	scripted_free(s);
}
END_TEST

/* ---- 5.2: leader election ---- */

/* Figure 2, followers: if the election timeout elapses without hearing a
 * leader, become candidate: increment currentTerm, vote for self, send
 * RequestVote to all others with the last log index and term (5.2). */
START_TEST(TestPaperFollowerStartsElection)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 2 };
	feed(s, 1, 2, 0, 0, 2, t, 0);
	scripted_set_prevote(s, 1, POLICY_GRANT);
	scripted_set_prevote(s, 2, POLICY_GRANT);
	scripted_set_all(s, MSG_VOTE, POLICY_HOLD);
	for (int j = 1; j < 3; j++) {
		msg *m = next_vote(s, j, 3000);
		ck_assert_msg(m->term == 3 && m->from == 0 && m->last_index == 2 && m->last_term == 2,
			      "S0, follower of term 2 with log 1/T1 2/T2, asked S%d for its vote in "
			      "term %d as S%d, last log %d/T%d; expected term 3, S0, 2/T2 (5.2)",
			      j, m->term, m->from, m->last_index, m->last_term);
	}
	scripted_free(s);
}
END_TEST

/* Figure 2, candidates: on conversion, vote for self (5.2): S0 then
 * refuses another candidate of its term. */
START_TEST(TestPaperCandidateVotesForItself)
{
	scripted *s = scripted_make(3, NULL);
	scripted_set_all(s, MSG_VOTE, POLICY_HOLD);
	msg *m = next_vote(s, 1, 3000);
	ck_assert_msg(!vote(s, 2, m->term, 10, m->term),
		      "S0, candidate of term %d, voted for S2 in that term: a candidate votes "
		      "for itself (5.2)",
		      m->term);
	scripted_free(s);
}
END_TEST

/* Section 5.2: "Raft uses randomized election timeouts to ensure that
 * split votes are rare": the time between S0's elections (all split)
 * varies. */
START_TEST(TestPaperElectionTimeoutRandomized)
{
	enum { ELECTIONS = 16 };
	scripted *s = scripted_make(3, NULL);
	int64_t at[ELECTIONS];
	for (int i = 0; i < ELECTIONS; i++) {
		msg *m = next_vote(s, 1, 3000);
		at[i] = m->at_ms;
	}
	int64_t lo = INT64_MAX, hi = 0;
	for (int i = 1; i < ELECTIONS; i++) {
		int64_t d = at[i] - at[i - 1];
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	ck_assert_msg(hi - lo >= 40,
		      "S0's %d election timeouts all lay in %" PRId64 "..%" PRId64
		      " ms: election timeouts are chosen at random, or split votes repeat (5.2)",
		      ELECTIONS - 1, lo, hi);
	scripted_free(s);
}
END_TEST

/* Figure 2, candidates: if the election timeout elapses, start a new
 * election (5.2). */
START_TEST(TestPaperCandidateRestartsElection)
{
	scripted *s = scripted_make(3, NULL);
	scripted_set_all(s, MSG_VOTE, POLICY_HOLD);
	msg *m = next_vote(s, 1, 3000);
	msg *again = scripted_next_in(s, 1, MSG_VOTE, m->term + 1, 3000);
	ck_assert_msg(again != NULL,
		      "S0, candidate of term %d, got no answers and started no new election in "
		      "3 s: a candidate whose election times out starts another (5.2)",
		      m->term);
	scripted_free(s);
}
END_TEST

/* Figure 2, RequestVote: grant if votedFor is null or candidateId; each
 * server votes for at most one candidate in a term (5.2). */
START_TEST(TestPaperOneVotePerTerm)
{
	scripted *s = quiet_make(3);
	ck_assert_msg(vote(s, 1, 2, 0, 0), "S0, in term 0, refused S1 its vote for term 2");
	ck_assert_msg(!vote(s, 2, 2, 0, 0),
		      "S0 voted twice in term 2: for S1, then for S2 (5.2)");
	ck_assert_msg(vote(s, 1, 2, 0, 0),
		      "S0 voted for S1 in term 2, then refused S1's repeated request: votedFor "
		      "= candidateId is granted (Figure 2)");
	scripted_free(s);
}
END_TEST

/* Figure 2, persistent state: votedFor is on stable storage before the
 * reply; a restart must not give a second vote in the same term (5.2). */
START_TEST(TestPaperVotedForSurvivesRestart)
{
	scripted *s = quiet_make(3);
	int t3[] = { 3 };
	feed(s, 1, 3, 0, 0, 1, t3, 0);
	/* Term 4 comes with a refused vote, so that the vote below changes
	 * votedFor alone. */
	ck_assert_msg(!vote(s, 2, 4, 0, 0), "S0, log 1/T3, voted for an empty log");
	ck_assert_msg(vote(s, 1, 4, 1, 3), "S0 refused S1 its vote for term 4");
	s0_restart(s);
	ck_assert_msg(!vote(s, 2, 4, 1, 3),
		      "S0 voted twice in term 4: for S1, then after a restart for S2 (votedFor "
		      "is persistent state, Figure 2)");
	scripted_free(s);
}
END_TEST

/* Figure 2, persistent state: currentTerm. */
START_TEST(TestPaperCurrentTermSurvivesRestart)
{
	scripted *s = quiet_make(3);
	feed(s, 1, 5, 0, 0, 0, NULL, 0);
	s0_restart(s);
	bool granted;
	int rt;
	ck_assert(s0_request_vote(s, 2, 4, 10, 4, &granted, &rt));
	ck_assert_msg(!granted && rt >= 5,
		      "after a restart S0 answered a vote request of term 4 with term %d%s: it "
		      "forgot currentTerm 5 (persistent state, Figure 2)",
		      rt, granted ? ", granted" : "");
	scripted_free(s);
}
END_TEST

/* Figure 2, persistent state: log[]; an entry acknowledged is on stable
 * storage. */
START_TEST(TestPaperLogSurvivesRestart)
{
	scripted *s = quiet_make(3);
	feed(s, 1, 2, 0, 0, 0, NULL, 0); /* the term first: then the entries alone */
	int t[] = { 2, 2, 2 };
	feed(s, 1, 2, 0, 0, 3, t, 0);
	s0_restart(s);
	ck_assert_msg(s0_has(s, 1, 2, 3, 2),
		      "after a restart S0 no longer holds entry 3 (term 2), which it had "
		      "acknowledged: the log is persistent state (Figure 2)");
	scripted_free(s);
}
END_TEST

/* Section 5.2: a candidate wins with votes from a majority of the
 * servers, itself included, and not with fewer. */
START_TEST(TestPaperCandidateWinsWithMajority)
{
	scripted *s = scripted_make(5, NULL);
	scripted_set_all(s, MSG_VOTE, POLICY_HOLD);
	msg *m[5];
	for (int j = 1; j < 5; j++)
		m[j] = next_vote(s, j, j == 1 ? 3000 : 1000);
	int term = m[1]->term;
	scripted_answer(s, m[1], term, true);
	scripted_answer(s, m[2], term, false);
	sleep_ms(50);
	ck_assert_msg(!s0_is_leader(s),
		      "S0 leads term %d with 2 votes of 5 (its own and S1's): a candidate needs a "
		      "majority (5.2)",
		      term);
	scripted_answer(s, m[3], term, true);
	ck_assert_msg(s0_wait_leader(s, 1000),
		      "S0 has 3 votes of 5 for term %d and is not leader after 1 s (5.2)", term);
	scripted_free(s);
}
END_TEST

/* Section 5.2: a candidate that hears from a leader of its term (or a
 * later one) recognizes it and returns to follower state. */
START_TEST(TestPaperCandidateStepsDownForLeader)
{
	scripted *s = scripted_make(3, NULL);
	scripted_set_all(s, MSG_VOTE, POLICY_HOLD);
	msg *m1 = next_vote(s, 1, 3000);
	msg *m2 = next_vote(s, 2, 1000);
	int term = m1->term;
	bool success;
	ck_assert(s0_append(s, 1, term, 0, 0, 0, NULL, 0, &success, NULL));
	ck_assert_msg(success, "S0, candidate of term %d, refused S1, leader of term %d", term, term);
	/* Two grants of the election S0 abandoned come late. */
	scripted_answer(s, m1, term, true);
	scripted_answer(s, m2, term, true);
	sleep_ms(100);
	ck_assert_msg(!s0_is_leader(s) || s0_term(s) != term,
		      "S0 became leader of term %d after S1, leader of term %d, was heard: a "
		      "candidate that hears the leader of its term becomes a follower (5.2)",
		      term, term);
	scripted_free(s);
}
END_TEST

/* Section 5.1: a reply to a request of an older term is ignored; here,
 * votes granted in a term S0 has left do not elect it in the next. */
START_TEST(TestPaperStaleVoteGrantIgnored)
{
	scripted *s = scripted_make(3, NULL);
	scripted_set_all(s, MSG_VOTE, POLICY_HOLD);
	msg *old1 = next_vote(s, 1, 3000);
	msg *old2 = next_vote(s, 2, 1000);
	int term = old1->term;
	ck_assert_msg(scripted_next_in(s, 1, MSG_VOTE, term + 1, 3000) != NULL,
		      "S0 started no new election after term %d", term);
	scripted_answer(s, old1, term, true);
	scripted_answer(s, old2, term, true);
	sleep_ms(100);
	ck_assert_msg(!s0_is_leader(s),
		      "S0 leads term %d on votes granted for term %d: a reply to a request of an "
		      "older term must be ignored (5.1)",
		      s0_term(s), term);
	scripted_free(s);
}
END_TEST

/* Figure 2, leaders: upon election, send initial empty AppendEntries
 * (heartbeat) to each server; repeat during idle periods (5.2). */
START_TEST(TestPaperLeaderSendsHeartbeats)
{
	scripted *s = scripted_make(3, NULL);
	int term = s0_elect(s);
	int64_t elected = now_ms(); /* within 5 ms of it */
	for (int j = 1; j < 3; j++) {
		msg *m = scripted_next_in(s, j, MSG_APPEND, term, 1000);
		ck_assert_msg(m != NULL, "S0, leader of term %d, sent S%d nothing in 1 s", term, j);
		ck_assert_msg(m->at_ms - elected <= 100,
			      "S0 sent S%d its first AppendEntries %" PRId64
			      " ms after it was elected: a new leader sends heartbeats at once (5.2)",
			      j, m->at_ms - elected);
	}
	int before = scripted_count(s, 1, MSG_APPEND, false);
	sleep_ms(1000);
	int beats = scripted_count(s, 1, MSG_APPEND, false) - before;
	ck_assert_msg(beats >= 3,
		      "S0, an idle leader, sent S1 %d AppendEntries in 1 s: a leader sends "
		      "heartbeats during idle periods (5.2)",
		      beats);
	scripted_free(s);
}
END_TEST

/* Figure 2, followers: an election starts only if the election timeout
 * elapses without an AppendEntries from the current leader (5.2). */
START_TEST(TestPaperHeartbeatsKeepFollower)
{
	scripted *s = scripted_make(3, NULL);
	bool success = true;
	for (int64_t t0 = now_ms(); success && now_ms() - t0 < 2000; sleep_ms(50))
		ck_assert(s0_append(s, 1, 1, 0, 0, 0, NULL, 0, &success, NULL));
	int votes = scripted_count(s, 1, MSG_VOTE, false);
	ck_assert_msg(votes == 0 && s0_term(s) <= 1,
		      "S0 started an election (term %d, %d vote requests to S1) while its leader "
		      "S1 was heard every 50 ms (5.2)",
		      s0_term(s), votes);
	ck_assert_msg(success, "S0, in term %d, refused a heartbeat of S1, leader of term 1",
		      s0_term(s));
	scripted_free(s);
}
END_TEST

/* ---- 5.3, 5.4: log replication and safety ---- */

/* Section 5.4.1, the election restriction: a vote only for a candidate
 * whose log is at least as up-to-date: a later last term, or the same
 * and at least as long. */
START_TEST(TestPaperVoteRequiresUpToDateLog)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 2 };
	feed(s, 1, 2, 0, 0, 3, t, 0);
	ck_assert_msg(!vote(s, 1, 3, 5, 1),
		      "S0, log ending 3/T2, voted for a log ending 5/T1: a lower last term is "
		      "less up-to-date, however long (5.4.1)");
	ck_assert_msg(!vote(s, 2, 4, 2, 2),
		      "S0, log ending 3/T2, voted for a log ending 2/T2: the same last term and "
		      "shorter is less up-to-date (5.4.1)");
	ck_assert_msg(vote(s, 1, 5, 3, 2),
		      "S0, log ending 3/T2, refused a log ending 3/T2 (5.4.1)");
	ck_assert_msg(vote(s, 2, 6, 1, 3),
		      "S0, log ending 3/T2, refused a log ending 1/T3: a later last term is "
		      "more up-to-date, however short (5.4.1)");
	scripted_free(s);
}
END_TEST

/* Figure 2, leaders: a command from a client is appended to the local
 * log and sent in AppendEntries with the index and term of the entry
 * before it (5.3). */
START_TEST(TestPaperLeaderAppendsToFollowers)
{
	scripted *s = quiet_make(3);
	int t[] = { 2 };
	feed(s, 1, 2, 0, 0, 1, t, 0);
	scripted_set_log(s, 1, 1, t);
	scripted_set_log(s, 2, 1, t);
	int term = s0_elect(s);
	start(s, 2, term);
	msg *m = next_carrying(s, 1, term, 2, false, 1000);
	ck_assert_msg(m != NULL, "S0, leader, did not send S1 the new entry 2 within 1 s");
	ck_assert_msg(m->prev_index == 1 && m->prev_term == 2 && m->n == 1 && m->terms[0] == term,
		      "S0, leader of term %d with log 1/T2 2/T%d, sent S1 prev %d/T%d with %d "
		      "entries (first of term %d): expected prev 1/T2 and entry 2 of term %d (5.3)",
		      term, term, m->prev_index, m->prev_term, m->n, m->n ? m->terms[0] : -1, term);
	scripted_free(s);
}
END_TEST

/* Section 5.3: an entry is committed once the leader has replicated it on
 * a majority; not before. */
START_TEST(TestPaperLeaderCommitsWithMajority)
{
	scripted *s = scripted_make(5, NULL);
	int term = s0_elect(s);
	scripted_set_all(s, MSG_APPEND, POLICY_HOLD);
	start(s, 1, term);
	msg *m[5];
	for (int j = 1; j < 5; j++) {
		m[j] = next_carrying(s, j, term, 1, true, 1000);
		ck_assert_msg(m[j] != NULL, "S0 did not send S%d entry 1 within 1 s", j);
	}
	scripted_answer(s, m[1], term, true);
	sleep_ms(100);
	ck_assert_msg(s0_applied(s) == 0,
		      "S0 applied entry 1 stored on 2 servers of 5 (itself and S1): an entry is "
		      "committed once a majority stores it (5.3)");
	scripted_answer(s, m[2], term, true);
	ck_assert_msg(s0_wait_applied(s, 1, 1000),
		      "S0 did not apply entry 1, stored on 3 servers of 5, within 1 s (5.3)");
	expect_applied(s, 0, 1, term);
	scripted_free(s);
}
END_TEST

/* Figure 2, AppendEntries 2: reply false if the log has no entry at
 * prevLogIndex whose term matches prevLogTerm (5.3). */
START_TEST(TestPaperFollowerRejectsMismatchedPrev)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 2 };
	feed(s, 1, 2, 0, 0, 3, t, 0);
	ck_assert_msg(!s0_has(s, 1, 3, 3, 1),
		      "S0, log 1/T1 2/T1 3/T2, accepted prev 3/T1: a mismatched prevLogTerm is "
		      "refused (5.3)");
	ck_assert_msg(!s0_has(s, 1, 3, 4, 2),
		      "S0, log 1/T1 2/T1 3/T2, accepted prev 4/T2, past its log (5.3)");
	ck_assert_msg(s0_has(s, 1, 3, 3, 2), "S0, log 1/T1 2/T1 3/T2, refused prev 3/T2 (5.3)");
	scripted_free(s);
}
END_TEST

/* Figure 2, AppendEntries 3: if an existing entry conflicts with a new one
 * (same index, different terms), delete it and all that follow; entries
 * that agree stay, even when the message is shorter (an old, delayed or
 * repeated one) (5.3). */
START_TEST(TestPaperFollowerTruncatesOnlyConflicts)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 1, 1 };
	feed(s, 1, 1, 0, 0, 4, t, 0);
	feed(s, 1, 1, 0, 0, 2, t, 0); /* a delayed copy of an earlier message */
	ck_assert_msg(s0_has(s, 1, 1, 4, 1),
		      "S0 lost entries 3..4 to an AppendEntries whose entries 1..2 agreed with "
		      "its log: only a conflict truncates (Figure 2, AppendEntries 3)");
	int t2[] = { 2 };
	feed(s, 2, 2, 1, 1, 1, t2, 0);
	ck_assert_msg(!s0_has(s, 2, 2, 3, 1),
		      "S0 kept entry 3/T1 after entry 2 was replaced by one of term 2: a "
		      "conflict deletes the entry and all that follow (Figure 2, AppendEntries 3)");
	ck_assert_msg(s0_has(s, 2, 2, 2, 2), "S0 did not append entry 2/T2 (Figure 2, AppendEntries 4)");
	scripted_free(s);
}
END_TEST

/* Figure 2, AppendEntries 5: if leaderCommit > commitIndex, commitIndex =
 * min(leaderCommit, index of the last new entry): not the end of a log
 * that may still hold a stale leader's entries. */
START_TEST(TestPaperCommitIndexMinOfLeaderCommit)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 1 };
	feed(s, 1, 1, 0, 0, 3, t, 1);
	ck_assert_msg(s0_wait_applied(s, 1, 1000), "S0 did not apply committed entry 1");
	/* A new leader, whose log agrees with S0's up to 1 only, commits 3. */
	feed(s, 2, 2, 1, 1, 0, NULL, 3);
	sleep_ms(100);
	ck_assert_msg(s0_applied(s) == 1,
		      "S0 applied up to %d on leaderCommit 3 from a leader that had checked its log "
		      "up to entry 1 only: commitIndex = min(leaderCommit, index of last new entry) "
		      "(Figure 2, AppendEntries 5)",
		      s0_applied(s));
	int t2[] = { 2, 2 };
	feed(s, 2, 2, 1, 1, 2, t2, 3);
	ck_assert_msg(s0_wait_applied(s, 3, 1000), "S0 did not apply entries 2..3 within 1 s");
	expect_applied(s, 1, 2, 2);
	expect_applied(s, 2, 3, 2);
	scripted_free(s);
}
END_TEST

/* Figure 2, leaders: if AppendEntries fails because of log
 * inconsistency, decrement nextIndex and retry (5.3). */
START_TEST(TestPaperLeaderBacksUpOnRejection)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 1, 2, 2 };
	feed(s, 1, 2, 0, 0, 5, t, 0);
	scripted_set_log(s, 1, 2, t); /* S1 lacks 3..5 */
	scripted_set_log(s, 2, 5, t);
	s0_elect(s);
	int got[SCRIPTED_LOG_MAX], n = 0;
	for (int64_t t0 = now_ms(); now_ms() - t0 < 2000; sleep_ms(10))
		if ((n = scripted_log(s, 1, got)) == 5)
			break;
	ck_assert_msg(n == 5 && got[2] == 1 && got[4] == 2,
		      "S1, with 2 of leader S0's 5 entries, holds %d after 2 s: a leader whose "
		      "AppendEntries is refused decrements nextIndex and retries (5.3)",
		      n);
	scripted_free(s);
}
END_TEST

/* Section 5.4.2 and Figure 8: a leader commits an entry of an earlier
 * term only by committing one of its own term after it, never by
 * counting the replicas of the older one. */
START_TEST(TestPaperLeaderCommitsOnlyCurrentTerm)
{
	scripted *s = quiet_make(3);
	int t[] = { 2 };
	feed(s, 1, 2, 0, 0, 1, t, 0);
	scripted_set_log(s, 1, 1, t);
	scripted_set_log(s, 2, 1, t);
	int term = s0_elect(s);
	/* Both followers hold entry 1 (term 2) and say so to heartbeats. */
	sleep_ms(400);
	ck_assert_msg(s0_applied(s) == 0,
		      "S0, leader of term %d, committed entry 1 of term 2 by counting its "
		      "replicas: only entries of the leader's term are committed that way "
		      "(5.4.2, Figure 8)",
		      term);
	start(s, 2, term);
	ck_assert_msg(s0_wait_applied(s, 2, 2000),
		      "S0 did not commit entry 2 (term %d), stored on all 3, within 2 s", term);
	expect_applied(s, 0, 1, 2);
	expect_applied(s, 1, 2, term);
	scripted_free(s);
}
END_TEST

/* Section 5.1 and Figure 2: a leader uses only replies to requests of
 * its current term.  A stale success would set matchIndex from a log S0
 * no longer has. */
START_TEST(TestPaperStaleReplyIgnored)
{
	scripted *s = scripted_make(3, NULL);
	int t1 = s0_elect(s);
	scripted_set_all(s, MSG_APPEND, POLICY_HOLD);
	for (int i = 1; i <= 4; i++)
		start(s, i, t1);
	/* S1 gets entries 1..4; its reply is held. */
	msg *stale = next_carrying(s, 1, t1, 4, false, 1000);
	ck_assert_msg(stale != NULL, "S0 did not send S1 entries 1..4 within 1 s");
	/* S2 leads term t1+1 and replaces S0's entries 2..4 with one of its
	 * own. */
	int t2[] = { t1 + 1 };
	feed(s, 2, t1 + 1, 1, t1, 1, t2, 0);
	/* S0 is elected again and appends entry 3 of its new term. */
	scripted_set_all(s, MSG_VOTE, POLICY_GRANT);
	ck_assert_msg(s0_wait_leader(s, 3000), "S0 was not elected again within 3 s");
	int t3 = s0_term(s);
	msg *beat = scripted_next_in(s, 2, MSG_APPEND, t3, 1000);
	ck_assert_msg(beat != NULL, "S0, leader of term %d, sent S2 nothing in 1 s", t3);
	start(s, 3, t3);
	/* Now S1's success for entries 1..4 of term t1 comes; then S2's for
	 * its first heartbeat of term t3 (S2 holds entries 1..2), which has
	 * S0 count again once it holds entry 3 itself. */
	scripted_answer(s, stale, t1, true);
	sleep_ms(100);
	scripted_answer(s, beat, t3, true);
	sleep_ms(200);
	ck_assert_msg(s0_applied(s) == 0,
		      "S0, leader of term %d, applied up to %d on S1's reply to an AppendEntries of "
		      "term %d: a reply to a request of an older term must be ignored (5.1)",
		      t3, s0_applied(s), t1);
	scripted_free(s);
}
END_TEST

/* ---- section 7 and Figure 13: snapshots ---- */

/* Figure 13, InstallSnapshot 6: if an existing entry has the same index
 * and term as the snapshot's last included entry, retain the entries
 * following it. */
START_TEST(TestPaperSnapshotInstallKeepsFollowingEntries)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 1, 1, 1 };
	feed(s, 1, 1, 0, 0, 5, t, 0);
	int rt;
	ck_assert(s0_install_snapshot(s, 1, 1, 3, 1, "snap3", &rt));
	ck_assert_msg(s0_has(s, 1, 1, 5, 1),
		      "after a snapshot through 3 (term 1), S0 lost entries 4..5 that follow it: "
		      "they are kept (Figure 13, InstallSnapshot 6)");
	feed(s, 1, 1, 5, 1, 0, NULL, 5);
	ck_assert_msg(s0_wait_applied(s, 5, 1000), "S0 did not apply up to 5 within 1 s");
	applied_msg a;
	ck_assert(s0_applied_msg(s, 0, &a));
	ck_assert_msg(a.snapshot && a.index == 3,
		      "the first message S0 applied is %s %d, not the snapshot through 3",
		      a.snapshot ? "snapshot" : "entry", a.index);
	expect_applied(s, 1, 4, 1);
	expect_applied(s, 2, 5, 1);
	scripted_free(s);
}
END_TEST

/* Figure 13, InstallSnapshot 7: otherwise discard the entire log. */
START_TEST(TestPaperSnapshotInstallDiscardsConflictingLog)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 1, 1, 1 };
	feed(s, 1, 1, 0, 0, 5, t, 0);
	int rt;
	ck_assert(s0_install_snapshot(s, 2, 2, 4, 2, "snap4", &rt));
	ck_assert_msg(!s0_has(s, 2, 2, 5, 1),
		      "S0 kept entry 5/T1 after a snapshot through 4 of term 2, which conflicts "
		      "with its entry 4/T1: the whole log goes (Figure 13, InstallSnapshot 7)");
	int t2[] = { 2 };
	feed(s, 2, 2, 4, 2, 1, t2, 5);
	ck_assert_msg(s0_wait_applied(s, 5, 1000), "S0 did not apply entry 5 within 1 s");
	expect_applied(s, 1, 5, 2);
	scripted_free(s);
}
END_TEST

/* Section 7 as the lab has it (2D): a snapshot older than what the
 * service has is ignored; the service never goes back. */
START_TEST(TestPaperSnapshotNeverMovesServiceBack)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 1, 1 };
	feed(s, 1, 1, 0, 0, 4, t, 4);
	ck_assert_msg(s0_wait_applied(s, 4, 1000), "S0 did not apply 1..4 within 1 s");
	int rt;
	ck_assert(s0_install_snapshot(s, 1, 1, 2, 1, "snap2", &rt));
	sleep_ms(100);
	applied_msg a;
	for (int i = 0; s0_applied_msg(s, i, &a); i++)
		ck_assert_msg(!a.snapshot,
			      "S0 sent its service a snapshot through %d after applying 1..4: a "
			      "snapshot older than the service's state is ignored (section 7, 2D)",
			      a.index);
	ck_assert_msg(s0_has(s, 1, 1, 4, 1), "S0 lost entries 3..4 to a snapshot through 2");
	scripted_free(s);
}
END_TEST

/* Section 7: the snapshot replaces the log through its index on stable
 * storage: after a restart the persister holds it, the entries after it
 * remain, and those in it are not applied again. */
START_TEST(TestPaperSnapshotSurvivesRestart)
{
	scripted *s = quiet_make(3);
	int t[] = { 1, 1, 1, 1, 1 };
	feed(s, 1, 1, 0, 0, 5, t, 5);
	ck_assert_msg(s0_wait_applied(s, 5, 1000), "S0 did not apply 1..5 within 1 s");
	raft_snapshot(s->rf, 3, "snap3", 5);
	s0_restart(s);
	size_t len;
	uint8_t *snap = persister_read_snapshot(s->ps, &len);
	bool same = len == 5 && memcmp(snap, "snap3", 5) == 0;
	free(snap);
	ck_assert_msg(same, "after a restart S0's persister holds a %zu-byte snapshot, not the "
			    "one S0 took through 3 (section 7)", len);
	feed(s, 1, 1, 5, 1, 0, NULL, 5);
	ck_assert_msg(s0_wait_applied(s, 5, 1000),
		      "after a restart S0 did not apply up to 5 within 1 s");
	applied_msg a;
	for (int i = 0; s0_applied_msg(s, i, &a); i++)
		ck_assert_msg(a.snapshot || a.index > 3,
			      "after a restart S0 applied entry %d again, though its snapshot covers "
			      "1..3 (section 7)",
			      a.index);
	scripted_free(s);
}
END_TEST

/* Section 7: a leader sends InstallSnapshot to a follower that lacks
 * entries it has discarded. */
START_TEST(TestPaperLeaderSendsSnapshot)
{
	scripted *s = scripted_make(3, NULL);
	int term = s0_elect(s);
	/* S1 has lost every entry and refuses every AppendEntries (so no
	 * request in flight can make it catch up). */
	scripted_set(s, 1, MSG_APPEND, POLICY_REFUSE);
	for (int i = 1; i <= 5; i++)
		start(s, i, term);
	ck_assert_msg(s0_wait_applied(s, 5, 2000), "S0 did not apply 1..5 within 2 s");
	raft_snapshot(s->rf, 5, "snap5", 5);
	msg *m = scripted_next(s, 1, MSG_SNAPSHOT, false, 2000);
	ck_assert_msg(m != NULL,
		      "S0 sent S1 no InstallSnapshot within 2 s, though S1 lacks entries S0 "
		      "has discarded (section 7)");
	ck_assert_msg(m->snap_index == 5 && m->snap_term == term,
		      "S0 sent S1 a snapshot through %d/T%d, not 5/T%d", m->snap_index, m->snap_term,
		      term);
	scripted_free(s);
}
END_TEST

static const test_entry paper_tests[] = {
	TEST_ENTRY(TestPaperTermUpdatedFromMessage, 30),
	TEST_ENTRY(TestPaperStaleTermRejected, 30),
	TEST_ENTRY(TestPaperLeaderStepsDownForHigherTerm, 30),
	TEST_ENTRY(TestPaperCandidateStepsDownForHigherTerm, 30),
	TEST_ENTRY(TestPaperFollowerStartsElection, 30),
	TEST_ENTRY(TestPaperCandidateVotesForItself, 30),
	TEST_ENTRY(TestPaperElectionTimeoutRandomized, 60),
	TEST_ENTRY(TestPaperCandidateRestartsElection, 30),
	TEST_ENTRY(TestPaperOneVotePerTerm, 30),
	TEST_ENTRY(TestPaperVotedForSurvivesRestart, 30),
	TEST_ENTRY(TestPaperCurrentTermSurvivesRestart, 30),
	TEST_ENTRY(TestPaperLogSurvivesRestart, 30),
	TEST_ENTRY(TestPaperCandidateWinsWithMajority, 30),
	TEST_ENTRY(TestPaperCandidateStepsDownForLeader, 30),
	TEST_ENTRY(TestPaperStaleVoteGrantIgnored, 30),
	TEST_ENTRY(TestPaperLeaderSendsHeartbeats, 30),
	TEST_ENTRY(TestPaperHeartbeatsKeepFollower, 30),
	TEST_ENTRY(TestPaperVoteRequiresUpToDateLog, 30),
	TEST_ENTRY(TestPaperLeaderAppendsToFollowers, 30),
	TEST_ENTRY(TestPaperLeaderCommitsWithMajority, 30),
	TEST_ENTRY(TestPaperFollowerRejectsMismatchedPrev, 30),
	TEST_ENTRY(TestPaperFollowerTruncatesOnlyConflicts, 30),
	TEST_ENTRY(TestPaperCommitIndexMinOfLeaderCommit, 30),
	TEST_ENTRY(TestPaperLeaderBacksUpOnRejection, 30),
	TEST_ENTRY(TestPaperLeaderCommitsOnlyCurrentTerm, 30),
	TEST_ENTRY(TestPaperStaleReplyIgnored, 30),
	TEST_ENTRY(TestPaperSnapshotInstallKeepsFollowingEntries, 30),
	TEST_ENTRY(TestPaperSnapshotInstallDiscardsConflictingLog, 30),
	TEST_ENTRY(TestPaperSnapshotNeverMovesServiceBack, 30),
	TEST_ENTRY(TestPaperSnapshotSurvivesRestart, 30),
	TEST_ENTRY(TestPaperLeaderSendsSnapshot, 30),
};
TEST_GROUP(paper, paper_tests);
