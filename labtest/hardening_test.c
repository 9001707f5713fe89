/* hardening_test.c: regression tests for the Raft bugs that all 28 lab
 * tests pass over (issue 15, "found by review").  Each failed before its
 * fix; notes.md ("Hardening") says what each bug was and why the lab's
 * tests missed it.
 *
 * Three kinds of setup, the smallest that shows each bug:
 *   - the tester (config.c), for whole-cluster behaviour;
 *   - a cluster of real peers whose apply channels nobody reads until the
 *     test says so (items 1 and 2: the applier's timing is the bug);
 *   - one real peer (S0) among scripted ones: S1 and S2 are test services
 *     that answer as the test decides, and the test itself can call S0's
 *     handlers as any peer would, with any arguments.
 * None of these names ends in 2A-2D: RUN=2B runs exactly the lab's tests. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../labgob/labgob.h"
#include "../raftstate.h"
#include "config.h"
#include "registry.h"

/* ---- process figures ---- */

/* A "Name:  value" line of /proc/self/status (kB for the Vm lines). */
static long proc_status(const char *name)
{
	FILE *f = fopen("/proc/self/status", "r");
	ck_assert_msg(f != NULL, "cannot read /proc/self/status");
	char line[256];
	size_t n = strlen(name);
	long v = -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* ---- a cluster of real peers, apply channels unread ---- */

typedef struct {
	labrpc_net *net;
	int n;
	Raft *rf[5];
	Chan *ch[5];
	Persister *ps[5];
} cluster;

static cluster *cluster_make(int n)
{
	cluster *c = xcalloc(1, sizeof *c);
	c->n = n;
	c->net = labrpc_make_network(random_seed());
	for (int i = 0; i < n; i++) {
		labrpc_end *ends[5];
		for (int j = 0; j < n; j++) {
			char end[32], srv[16];
			snprintf(end, sizeof end, "c%d-%d", i, j);
			snprintf(srv, sizeof srv, "%d", j);
			ends[j] = labrpc_make_end(c->net, end);
			labrpc_connect(c->net, end, srv);
			labrpc_enable(c->net, end, true);
		}
		c->ps[i] = persister_make();
		c->ch[i] = chan_make(sizeof(ApplyMsg));
		char err[256];
		c->rf[i] = raft_make(ends, n, i, c->ps[i], c->ch[i], random_seed(), err, sizeof err);
		ck_assert_msg(c->rf[i] != NULL, "%s", err);
		labrpc_server *srv = labrpc_make_server();
		labrpc_server_add_service(srv, raft_service(c->rf[i]));
		char name[16];
		snprintf(name, sizeof name, "%d", i);
		labrpc_add_server(c->net, name, srv);
	}
	return c;
}

/* The leader, once one peer says it is (3 s at most). */
static int cluster_leader(cluster *c)
{
	for (int64_t t0 = now_ms(); now_ms() - t0 < 3000; sleep_ms(10))
		for (int i = 0; i < c->n; i++) {
			int term;
			if (raft_get_state(c->rf[i], &term))
				return i;
		}
	ck_abort_msg("no leader within 3 s");
	return -1;
}

static void wait_commit(Raft *rf, int index)
{
	raft_status st;
	for (int64_t t0 = now_ms(); now_ms() - t0 < 3000; sleep_ms(5)) {
		raft_get_status(rf, &st);
		if (st.commit_index >= index)
			return;
	}
	ck_abort_msg("index %d not committed within 3 s (commit %d)", index, st.commit_index);
}

static void start_str(Raft *rf, const char *s)
{
	int index, term;
	ck_assert_msg(raft_start(rf, s, strlen(s), &index, &term), "Start(%s) refused", s);
}

/* The channels are closed first: an applier parked in a send gives up. */
static void cluster_free(cluster *c)
{
	for (int i = 0; i < c->n; i++)
		chan_close(c->ch[i]);
	for (int i = 0; i < c->n; i++)
		raft_kill(c->rf[i]);
	labrpc_cleanup(c->net);
	for (int i = 0; i < c->n; i++) {
		raft_release(c->rf[i]);
		chan_free(c->ch[i]);
		persister_release(c->ps[i]);
	}
	labrpc_free(c->net);
	free(c);
}

/* ---- one real peer (S0) among scripted ones ---- */

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int votes_asked;    /* real RequestVotes */
	int prevotes_asked;
	bool hold_prevote;  /* the next pre-vote waits for release, then is granted */
	bool holding, released;
} fake_peer;

/* The scripted peers stay in term 1 and refuse every vote, except a
 * pre-vote they were told to hold and then grant. */
#define FAKE_TERM 1

static int fake_request_vote(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	fake_peer *f = rcvr;
	int term, cand, last_index, last_term;
	bool pre;
	labgob_get_int(args, &term, 0, INT32_MAX);
	labgob_get_int(args, &cand, 0, INT32_MAX);
	labgob_get_int(args, &last_index, 0, INT32_MAX);
	labgob_get_int(args, &last_term, -1, INT32_MAX);
	labgob_get_bool(args, &pre);
	if (labgob_decoder_finish(args) != LABGOB_OK)
		return -1;
	bool grant = false;
	pthread_mutex_lock(&f->mu);
	if (pre)
		f->prevotes_asked++;
	else
		f->votes_asked++;
	if (pre && f->hold_prevote) {
		f->hold_prevote = false;
		f->holding = true;
		pthread_cond_broadcast(&f->cv);
		while (!f->released)
			pthread_cond_wait(&f->cv, &f->mu);
		grant = true;
	}
	pthread_mutex_unlock(&f->mu);
	labgob_put_int(reply, FAKE_TERM);
	labgob_put_bool(reply, grant);
	return 0;
}

static int fake_append_entries(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	(void)rcvr;
	(void)args;
	labgob_put_int(reply, FAKE_TERM);
	labgob_put_bool(reply, false);
	labgob_put_int(reply, -1);
	labgob_put_int(reply, 0);
	labgob_put_int(reply, 1);
	return 0;
}

static int fake_install_snapshot(void *rcvr, labgob_decoder *args, labgob_encoder *reply)
{
	(void)rcvr;
	(void)args;
	labgob_put_int(reply, FAKE_TERM);
	return 0;
}

static const labrpc_method fake_methods[] = {
	{ "RequestVote", fake_request_vote },
	{ "AppendEntries", fake_append_entries },
	{ "InstallSnapshot", fake_install_snapshot },
};

typedef struct {
	labrpc_net *net;
	Raft *rf;            /* S0 */
	Persister *ps;
	Chan *ch;
	pthread_t reader;
	pthread_mutex_t mu;
	int applied;         /* the last index S0 delivered */
	fake_peer fake[3];   /* S1, S2 */
	labrpc_end *to_s0;   /* the test's own end to S0 */
} scripted;

/* Reads S0's apply channel, as a service would. */
static void *scripted_reader(void *arg)
{
	scripted *s = arg;
	ApplyMsg m;
	while (chan_recv(s->ch, &m)) {
		pthread_mutex_lock(&s->mu);
		if (m.command_valid)
			s->applied = m.command_index;
		else if (m.snapshot_valid)
			s->applied = m.snapshot_index;
		pthread_mutex_unlock(&s->mu);
		apply_msg_free(&m);
	}
	return NULL;
}

/* A persisted state: currentTerm term, no vote, an empty log. */
static void save_term(Persister *ps, int term)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, term);
	labgob_put_int(&e, -1);
	labgob_put_int(&e, 0);
	labgob_put_int(&e, 0);
	labgob_put_count(&e, 0);
	persister_save(ps, e.buf, e.len, NULL, 0);
	labgob_encoder_free(&e);
}

static scripted *scripted_make(void)
{
	scripted *s = xcalloc(1, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->net = labrpc_make_network(random_seed());
	labrpc_end *ends[3];
	for (int j = 0; j < 3; j++) {
		char end[16], srv[16];
		snprintf(end, sizeof end, "s0-%d", j);
		snprintf(srv, sizeof srv, "%d", j);
		ends[j] = labrpc_make_end(s->net, end);
		labrpc_connect(s->net, end, srv);
		labrpc_enable(s->net, end, true);
	}
	for (int j = 1; j < 3; j++) {
		fake_peer *f = &s->fake[j];
		pthread_mutex_init(&f->mu, NULL);
		pthread_cond_init(&f->cv, NULL);
		labrpc_server *srv = labrpc_make_server();
		labrpc_server_add_service(srv, labrpc_make_service("Raft", f, fake_methods, 3, NULL));
		char name[16];
		snprintf(name, sizeof name, "%d", j);
		labrpc_add_server(s->net, name, srv);
	}
	s->ps = persister_make();
	save_term(s->ps, FAKE_TERM);
	s->ch = chan_make(sizeof(ApplyMsg));
	pthread_create(&s->reader, NULL, scripted_reader, s);
	char err[256];
	s->rf = raft_make(ends, 3, 0, s->ps, s->ch, random_seed(), err, sizeof err);
	ck_assert_msg(s->rf != NULL, "%s", err);
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, raft_service(s->rf));
	labrpc_add_server(s->net, "0", srv);
	s->to_s0 = labrpc_make_end(s->net, "test-0");
	labrpc_connect(s->net, "test-0", "0");
	labrpc_enable(s->net, "test-0", true);
	return s;
}

static void scripted_free(scripted *s)
{
	for (int j = 1; j < 3; j++) {
		pthread_mutex_lock(&s->fake[j].mu);
		s->fake[j].released = true;
		pthread_cond_broadcast(&s->fake[j].cv);
		pthread_mutex_unlock(&s->fake[j].mu);
	}
	raft_kill(s->rf);
	labrpc_cleanup(s->net);
	chan_close(s->ch);
	pthread_join(s->reader, NULL);
	raft_release(s->rf);
	labrpc_free(s->net);
	chan_free(s->ch);
	persister_release(s->ps);
	for (int j = 1; j < 3; j++) {
		pthread_mutex_destroy(&s->fake[j].mu);
		pthread_cond_destroy(&s->fake[j].cv);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Call S0's method with the encoded arguments; false when no reply came. */
static bool call_s0(scripted *s, const char *method, labgob_encoder *args, labgob_decoder *d,
		    uint8_t **reply)
{
	size_t len;
	bool ok = labrpc_call(s->to_s0, method, args->buf, args->len, reply, &len);
	labgob_encoder_free(args);
	if (ok)
		labgob_decoder_init(d, *reply, len);
	return ok;
}

/* RequestVote to S0; false when no reply came. */
static bool s0_request_vote(scripted *s, int term, int cand, bool pre, bool *granted)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, term);
	labgob_put_int(&e, cand);
	labgob_put_int(&e, 100); /* a long log: up to date */
	labgob_put_int(&e, term);
	labgob_put_bool(&e, pre);
	labgob_decoder d;
	uint8_t *reply = NULL;
	bool ok = call_s0(s, "Raft.RequestVote", &e, &d, &reply);
	if (ok) {
		int rterm;
		labgob_get_int(&d, &rterm, 0, INT32_MAX);
		labgob_get_bool(&d, granted);
		ck_assert(labgob_decoder_finish(&d) == LABGOB_OK);
	}
	free(reply);
	return ok;
}

/* AppendEntries to S0 from S2 with one entry per term in terms (each
 * command "e<i>"); false when no reply came, else *success. */
static bool s0_append(scripted *s, int term, int prev, int prev_term, int n, const int *terms,
		      int commit, bool *success)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, term);
	labgob_put_int(&e, 2);
	labgob_put_int(&e, prev);
	labgob_put_int(&e, prev_term);
	labgob_put_count(&e, (size_t)n);
	for (int i = 0; i < n; i++) {
		char cmd[16];
		int len = snprintf(cmd, sizeof cmd, "e%d", prev + 1 + i);
		labgob_put_int(&e, terms[i]);
		labgob_put_bytes(&e, cmd, (size_t)len);
	}
	labgob_put_int(&e, commit);
	labgob_decoder d;
	uint8_t *reply = NULL;
	bool ok = call_s0(s, "Raft.AppendEntries", &e, &d, &reply);
	if (ok) {
		int rterm, x;
		labgob_get_int(&d, &rterm, 0, INT32_MAX);
		labgob_get_bool(&d, success);
		labgob_get_int(&d, &x, -1, INT32_MAX);
		labgob_get_int(&d, &x, 0, INT32_MAX);
		labgob_get_int(&d, &x, 0, INT32_MAX);
		ck_assert(labgob_decoder_finish(&d) == LABGOB_OK);
	}
	free(reply);
	return ok;
}

/* InstallSnapshot to S0 from S2; false when no reply came. */
static bool s0_install_snapshot(scripted *s, int term, int last_index, int last_term)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, term);
	labgob_put_int(&e, 2);
	labgob_put_int(&e, last_index);
	labgob_put_int(&e, last_term);
	labgob_put_bytes(&e, "snapshot", 8);
	labgob_decoder d;
	uint8_t *reply = NULL;
	bool ok = call_s0(s, "Raft.InstallSnapshot", &e, &d, &reply);
	free(reply);
	return ok;
}

static void s0_wait_applied(scripted *s, int index)
{
	int got = 0;
	for (int64_t t0 = now_ms(); now_ms() - t0 < 3000; sleep_ms(5)) {
		pthread_mutex_lock(&s->mu);
		got = s->applied;
		pthread_mutex_unlock(&s->mu);
		if (got >= index)
			return;
	}
	ck_abort_msg("S0 applied %d, not %d, within 3 s", got, index);
}

/* S0's persisted state must read back, as raft_make will read it. */
static void assert_state_decodes(scripted *s, const char *after)
{
	size_t len;
	uint8_t *data = persister_read_raft_state(s->ps, &len);
	raft_persistent_state st;
	char err[256];
	bool ok = raft_decode_state(data, len, &st, err, sizeof err);
	free(data);
	ck_assert_msg(ok, "after %s, S0 saved a state it cannot read back: %s", after, err);
	raft_persistent_state_free(&st);
}

/* ---- item 3: a cluster of one ---- */

START_TEST(TestOnePeer)
{
	config *cfg = make_config(1, false, false);
	cfg_begin(cfg, "Test: a cluster of one elects itself and commits at once");

	/* Elected within one election timeout (at most 450 ms, and the
	 * tester's 1 s). */
	int64_t t0 = now_ms();
	int term;
	while (!raft_get_state(cfg->rafts[0], &term)) {
		if (now_ms() - t0 > RAFT_ELECTION_TIMEOUT_MS)
			cfg_fatalf(cfg, "a cluster of one elected no leader in %d ms",
				   RAFT_ELECTION_TIMEOUT_MS);
		sleep_ms(5);
	}

	/* Each Start commits at once: nobody else has to answer. */
	for (int i = 1; i <= 20; i++) {
		cmd_t c = cmd_int(100 + i);
		int index, t;
		bool leader;
		ck_assert(cfg_start_on(cfg, 0, c, &index, &t, &leader));
		if (!leader || index != i)
			cfg_fatalf(cfg, "Start %d: leader %d, index %d", i, leader, index);
		int64_t t1 = now_ms();
		while (cfg_n_committed(cfg, index, NULL) < 1) {
			if (now_ms() - t1 > 200)
				cfg_fatalf(cfg, "index %d not committed within 200 ms", index);
			sleep_ms(1);
		}
		cmd_free(&c);
	}

	/* After a restart it elects itself again and keeps its log. */
	cfg_crash1(cfg, 0);
	cfg_start1(cfg, 0);
	cfg_connect(cfg, 0);
	cmd_t c = cmd_int(1000);
	int index = cfg_one(cfg, c, 1, false);
	cmd_free(&c);
	if (index != 21)
		cfg_fatalf(cfg, "after a restart the next entry went to %d, not 21", index);
	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

/* ---- item 1: a snapshot beyond what the applier has taken ---- */

START_TEST(TestSnapshotAheadOfApplier)
{
	cluster *c = cluster_make(3);
	int l = cluster_leader(c);
	Raft *rf = c->rf[l];

	/* The leader's applier takes entry 1 and parks in its send: nobody
	 * reads the channel yet. */
	start_str(rf, "cmd1");
	wait_commit(rf, 1);
	sleep_ms(50);
	/* Entries 2..5 commit meanwhile; the service (wrongly) snapshots
	 * entry 2, which it has not been sent. */
	for (int i = 2; i <= 5; i++) {
		char cmd[16];
		snprintf(cmd, sizeof cmd, "cmd%d", i);
		start_str(rf, cmd);
	}
	wait_commit(rf, 5);
	raft_snapshot(rf, 2, "snap", 4);

	/* Whatever Raft does with that snapshot, the service must see each
	 * index once, in order, each with its own command: not the empty
	 * sentinel, and nothing read from outside the log. */
	for (int i = 1; i <= 5; i++) {
		ApplyMsg m;
		ck_assert(chan_recv(c->ch[l], &m));
		ck_assert_msg(m.command_valid, "message %d is not a command", i);
		char want[16];
		snprintf(want, sizeof want, "cmd%d", i);
		ck_assert_msg(m.command_index == i, "expected index %d, got %d", i,
			      m.command_index);
		ck_assert_msg(m.command_len == strlen(want) &&
				      memcmp(m.command, want, m.command_len) == 0,
			      "index %d: a %zu-byte command, not %s", i, m.command_len, want);
		apply_msg_free(&m);
	}
	/* A snapshot of what was delivered is taken as usual. */
	raft_snapshot(rf, 5, "snap", 4);
	raft_status st;
	raft_get_status(rf, &st);
	ck_assert_int_eq(st.base_index, 5);
	cluster_free(c);
}
END_TEST

/* ---- issue 20: a snapshot while an entry is handed over ---- */

/* Cut peer i off from the others, or join it again. */
static void cluster_link(cluster *c, int i, bool on)
{
	for (int j = 0; j < c->n; j++) {
		char end[32];
		snprintf(end, sizeof end, "c%d-%d", i, j);
		labrpc_enable(c->net, end, on);
		snprintf(end, sizeof end, "c%d-%d", j, i);
		labrpc_enable(c->net, end, on);
	}
}

#define HANDOFF_ROUNDS 8
#define HANDOFF_BATCH 4

typedef struct {
	Chan *ch;
	Raft *rf;
	int me;
	pthread_mutex_t mu;
	int received;  /* the last index received in order */
	char err[256];
} handoff_service;

/* A service that, on each entry k, (wrongly) snapshots k + 3, which it
 * has not been sent, and checks that it is still sent every index in
 * order. */
static void *handoff_service_main(void *arg)
{
	handoff_service *h = arg;
	for (int k = 1; k <= HANDOFF_ROUNDS * HANDOFF_BATCH; k++) {
		ApplyMsg m;
		if (!chan_recv(h->ch, &m))
			break;
		bool in_order = m.command_valid && m.command_index == k;
		pthread_mutex_lock(&h->mu);
		if (in_order)
			h->received = k;
		else
			snprintf(h->err, sizeof h->err,
				 "S%d sent index %d after %d: entries %d..%d were never sent "
				 "(a snapshot through them was accepted before they were)",
				 h->me, m.command_index, k - 1, k, m.command_index - 1);
		pthread_mutex_unlock(&h->mu);
		apply_msg_free(&m);
		if (!in_order)
			break;
		raft_snapshot(h->rf, k + 3, "snap", 4);
	}
	return NULL;
}

START_TEST(TestSnapshotDuringHandOff)
{
	/* A follower cut off while the leader commits a batch gets the batch
	 * and its commit in one AppendEntries, and the thread that takes it
	 * hands the first entry straight to its waiting service.  That
	 * hand-off used to count the whole batch as applied before any was
	 * taken, so a snapshot of an index the service had not been sent was
	 * accepted in that moment, and the entries it covered were never
	 * sent. */
	cluster *c = cluster_make(3);
	int l = cluster_leader(c);
	int f = (l + 1) % 3;
	handoff_service h = { .ch = c->ch[f], .rf = c->rf[f], .me = f };
	pthread_mutex_init(&h.mu, NULL);
	pthread_t tid;
	ck_assert(pthread_create(&tid, NULL, handoff_service_main, &h) == 0);

	int last = 0;
	for (int round = 0; round < HANDOFF_ROUNDS; round++) {
		cluster_link(c, f, false);
		for (int i = 0; i < HANDOFF_BATCH; i++) {
			char cmd[16];
			snprintf(cmd, sizeof cmd, "cmd%d", ++last);
			start_str(c->rf[l], cmd);
		}
		wait_commit(c->rf[l], last);
		cluster_link(c, f, true);
		int received = 0;
		for (int64_t t0 = now_ms(); now_ms() - t0 < 3000; sleep_ms(5)) {
			pthread_mutex_lock(&h.mu);
			received = h.err[0] ? -1 : h.received;
			pthread_mutex_unlock(&h.mu);
			if (received < 0 || received == last)
				break;
		}
		if (received != last)
			break;
	}
	chan_close(c->ch[f]);
	pthread_join(tid, NULL);
	pthread_mutex_lock(&h.mu);
	ck_assert_msg(h.err[0] == '\0', "%s", h.err);
	ck_assert_msg(h.received == last, "S%d sent entries 1..%d of %d within 3 s", f, h.received,
		      last);
	pthread_mutex_unlock(&h.mu);
	pthread_mutex_destroy(&h.mu);
	cluster_free(c);
}
END_TEST

/* ---- item 2: Kill while the applier is blocked ---- */

typedef struct {
	Raft *rf;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
} kill_job;

static void *kill_main(void *arg)
{
	kill_job *k = arg;
	raft_kill(k->rf);
	pthread_mutex_lock(&k->mu);
	k->done = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

START_TEST(TestKillWithApplyBlocked)
{
	cluster *c = cluster_make(3);
	int l = cluster_leader(c);
	start_str(c->rf[l], "cmd1");
	wait_commit(c->rf[l], 1);
	sleep_ms(50); /* the applier is parked in its send: nobody reads */

	/* A service that stopped reading kills its peer: Kill returns
	 * promptly (raft.h), without anyone reading the channel. */
	kill_job k = { .rf = c->rf[l] };
	pthread_mutex_init(&k.mu, NULL);
	cond_init_monotonic(&k.cv);
	pthread_t tid;
	pthread_create(&tid, NULL, kill_main, &k);
	struct timespec deadline;
	deadline_after_ms(&deadline, 1000);
	pthread_mutex_lock(&k.mu);
	while (!k.done && pthread_cond_timedwait(&k.cv, &k.mu, &deadline) == 0)
		;
	bool done = k.done;
	pthread_mutex_unlock(&k.mu);
	ck_assert_msg(done, "Kill did not return within 1 s: its applier is stuck in a send");
	pthread_join(tid, NULL);
	pthread_mutex_destroy(&k.mu);
	pthread_cond_destroy(&k.cv);
	cluster_free(c);
}
END_TEST

/* ---- item 4: check quorum and late replies ---- */

START_TEST(TestQuorumWithLateReplies)
{
	config *cfg = make_config(3, false, false);
	cfg_begin(cfg, "Test: a cut-off leader steps down despite late replies");
	/* Two replies in three come 200-2,200 ms late. */
	cfg_set_long_reordering(cfg, true);
	for (int round = 0; round < 2; round++) {
		int leader = cfg_check_one_leader(cfg);
		cmd_t c = cmd_int(round);
		cfg_one(cfg, c, 3, true);
		cmd_free(&c);
		sleep_ms(400); /* late replies pile up in the network */

		/* Cut off, the leader hears nobody; replies already on their
		 * way must not count as news from after the cut.  It steps
		 * down before the others can elect a successor (they wait at
		 * least an election timeout, 300 ms), so it never takes a
		 * Start() that cannot commit.  600 ms leaves room for
		 * scheduling. */
		int64_t t0 = now_ms();
		cfg_disconnect(cfg, leader);
		int term;
		while (raft_get_state(cfg->rafts[leader], &term)) {
			if (now_ms() - t0 > 600)
				cfg_fatalf(cfg, "round %d: S%d, cut off, still leader after 600 ms",
					   round, leader);
			sleep_ms(5);
		}
		cfg_connect(cfg, leader);
	}
	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

/* ---- issue 20: a leader that stays up on a lossy network ---- */

/* The connected leader and its term (-1 for none), one reading of each
 * connected server: the highest term wins, as a stale leader's reign is
 * already over. */
static int connected_leader(config *cfg, int *term)
{
	int leader = -1;
	*term = -1;
	for (int i = 0; i < cfg->n; i++) {
		int t;
		if (cfg->connected[i] && raft_get_state(cfg->rafts[i], &t) && t > *term) {
			leader = i;
			*term = t;
		}
	}
	return leader;
}

/* 120 s under make sim (virtual time: a fraction of a second of wall
 * time); on real threads a quarter of that, to keep the suite short. */
#ifdef LAB_SIM
#define STAYS_UP_S 120
#else
#define STAYS_UP_S 30
#endif

START_TEST(TestLeaderStaysUp)
{
	/* The setting of the 2D and Figure 8 tests: one request or reply in
	 * ten lost, and one peer of three cut off, so the leader's quorum is
	 * one follower over a lossy link.  Check quorum must not depose that
	 * leader: each change costs an election, about half a second without
	 * a leader. */
	config *cfg = make_config(3, true, false);
	cfg->limit_s = 0; /* the watch alone lasts STAYS_UP_S */
	cfg_begin(cfg, "Test: a healthy leader stays up with 10% loss and a follower cut off");
	int leader = cfg_check_one_leader(cfg);
	cfg_disconnect(cfg, (leader + 1) % 3);

	const int64_t poll_ms = 10;
	int term, changes = 0, prev_leader = leader, prev_term;
	connected_leader(cfg, &prev_term);
	int64_t leaderless_ms = 0, t0 = now_ms();
	while (now_ms() - t0 < STAYS_UP_S * 1000) {
		sleep_ms(poll_ms);
		int l = connected_leader(cfg, &term);
		if (l < 0) {
			leaderless_ms += poll_ms;
		} else if (l != prev_leader || term != prev_term) {
			changes++;
			prev_leader = l;
			prev_term = term;
		}
	}
	printf("  %d s: %d leader changes, %lld ms (%.2f%%) without a leader\n", STAYS_UP_S,
	       changes, (long long)leaderless_ms, 100.0 * (double)leaderless_ms / (STAYS_UP_S * 1e3));
	/* On average 0.46 changes in 120 s and 0.18% of the time without a
	 * leader over 50 seeds (15 to 36 changes before the fix; notes.md,
	 * "A leader that stays up").  A run may see a few; the bounds are
	 * where a Poisson tail of that rate falls below one run in 100,000
	 * (7 in 120 s; 4 in 30 s, of 6 expected there before the fix: the
	 * real-time run catches only gross regressions). */
	int max_changes = STAYS_UP_S >= 120 ? 6 : 3;
	int64_t max_leaderless_ms = max_changes * 800;
	if (changes > max_changes)
		cfg_fatalf(cfg, "the leader changed %d times in %d s with one follower cut off "
				"(at most %d): check quorum deposes a healthy leader",
			   changes, STAYS_UP_S, max_changes);
	if (leaderless_ms > max_leaderless_ms)
		cfg_fatalf(cfg, "no leader for %lld ms of %d s (at most %lld ms)",
			   (long long)leaderless_ms, STAYS_UP_S, (long long)max_leaderless_ms);
	cmd_t c = cmd_int(1);
	cfg_one(cfg, c, 2, true);
	cmd_free(&c);
	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

/* ---- item 5: an unreachable follower costs bounded threads and memory ---- */

START_TEST(TestUnreachableFollowerBounded)
{
	/* The scenario: long delays on (the tester's default), one
	 * follower cut off, Starts of 1 KB every 10 ms (STARTS, default 300:
	 * the issue measured 500). */
	const char *env = getenv("STARTS");
	int starts = env && *env ? atoi(env) : 300;
	config *cfg = make_config(3, false, false);
	cfg_begin(cfg, "Test: threads and memory stay bounded toward an unreachable follower");
	int leader = cfg_check_one_leader(cfg);
	cmd_t first = cmd_int(1);
	cfg_one(cfg, first, 3, false);
	cmd_free(&first);
	int cut = (leader + 1) % 3;
	cfg_disconnect(cfg, cut);

	long threads0 = proc_status("Threads"), rss0 = proc_status("VmRSS");
	long threads_max = threads0;
	char blob[1024];
	int index = 0;
	for (int i = 0; i < starts; i++) {
		for (size_t k = 0; k < sizeof blob; k++)
			blob[k] = (char)('a' + (i + k) % 26);
		cmd_t c = cmd_str(blob, sizeof blob);
		int term;
		bool is_leader;
		cfg_start_on(cfg, leader, c, &index, &term, &is_leader);
		cmd_free(&c);
		if (!is_leader)
			cfg_fatalf(cfg, "S%d lost its leadership", leader);
		long t = proc_status("Threads");
		if (t > threads_max)
			threads_max = t;
		sleep_ms(10);
	}
	cfg_wait(cfg, index, 2, -1, NULL);
	long threads1 = proc_status("Threads"), rss1 = proc_status("VmRSS");
	long hwm = proc_status("VmHWM");
	printf("  %d Starts of 1 KB: threads %ld -> %ld (peak %ld), RSS %.1f -> %.1f MB "
	       "(peak %.1f MB)\n",
	       starts, threads0, threads1, threads_max, rss0 / 1024.0, rss1 / 1024.0,
	       hwm / 1024.0);
	/* At most 32 calls in flight to the lost follower (MAX_IN_FLIGHT,
	 * one sender thread each), a few more to the live one (more under
	 * TSan, where replies are slow: 40 in all seen); each call carries at
	 * most 64 KB of entries.  Before the fix, 300 Starts grew the process
	 * by about 97 threads and 29 MB; now by about 30 and 9 MB.
	 * Sanitizers change memory use beyond recognition: there only the
	 * threads are checked. */
	if (threads_max - threads0 > 56)
		cfg_fatalf(cfg, "threads grew from %ld to %ld", threads0, threads_max);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	if (hwm - rss0 > 16 * 1024)
		cfg_fatalf(cfg, "RSS grew from %ld kB to a peak of %ld kB", rss0, hwm);
#endif

	/* The follower comes back and catches up. */
	cfg_connect(cfg, cut);
	cmd_t c = cmd_int(2);
	cfg_one(cfg, c, 3, true);
	cmd_free(&c);
	cfg_end(cfg);
	cfg_cleanup(cfg);
}
END_TEST

/* ---- item 6: a stale pre-vote grant ---- */

START_TEST(TestStalePreVote)
{
	scripted *s = scripted_make();
	fake_peer *f1 = &s->fake[1];
	pthread_mutex_lock(&f1->mu);
	f1->hold_prevote = true;
	pthread_mutex_unlock(&f1->mu);

	/* S0's election timer fires: its pre-vote request to S1 is held
	 * (as a slow network would), S2 refuses. */
	int64_t t0 = now_ms();
	pthread_mutex_lock(&f1->mu);
	while (!f1->holding) {
		pthread_mutex_unlock(&f1->mu);
		ck_assert_msg(now_ms() - t0 < 3000, "S0 asked for no pre-vote in 3 s");
		sleep_ms(5);
		pthread_mutex_lock(&f1->mu);
	}
	pthread_mutex_unlock(&f1->mu);

	/* S2, leader of term 1, is heard: the round is over. */
	bool success = false;
	ck_assert(s0_append(s, FAKE_TERM, 0, 0, 0, NULL, 0, &success));
	ck_assert(success);

	/* S1's grant arrives late; it must not start an election against
	 * the leader just heard. */
	pthread_mutex_lock(&f1->mu);
	f1->released = true;
	pthread_cond_broadcast(&f1->cv);
	pthread_mutex_unlock(&f1->mu);
	sleep_ms(200);
	int term;
	raft_get_state(s->rf, &term);
	pthread_mutex_lock(&f1->mu);
	int votes = f1->votes_asked;
	pthread_mutex_unlock(&f1->mu);
	ck_assert_msg(term == FAKE_TERM && votes == 0,
		      "a stale pre-vote grant started an election: S0 in term %d, %d vote requests",
		      term, votes);
	scripted_free(s);
}
END_TEST

/* ---- item 7: terms a peer would save but could not read back ---- */

START_TEST(TestBadTermsRefused)
{
	scripted *s = scripted_make();
	bool success = false;
	raft_status st;

	/* An entry of a term above the message's own. */
	int high[] = { 5 };
	s0_append(s, FAKE_TERM, 0, 0, 1, high, 0, &success);
	assert_state_decodes(s, "an entry of term 5 in a term-1 AppendEntries");
	raft_get_status(s->rf, &st);
	ck_assert_msg(st.last_index == 0, "S0 took an entry of term 5 from a leader of term 1");

	/* Terms that go down. */
	int down[] = { 1, 0 };
	s0_append(s, FAKE_TERM, 0, 0, 2, down, 0, &success);
	assert_state_decodes(s, "entries of terms 1, 0");
	raft_get_status(s->rf, &st);
	ck_assert_msg(st.last_index == 0, "S0 took entries whose terms go down");

	/* A snapshot whose last term is above the message's. */
	s0_install_snapshot(s, FAKE_TERM, 5, 3);
	assert_state_decodes(s, "a snapshot of term 3 in a term-1 InstallSnapshot");
	raft_get_status(s->rf, &st);
	ck_assert_msg(st.base_index == 0, "S0 installed a snapshot of term 3 from term 1");

	/* Good entries are taken, committed and snapshotted. */
	int ones[] = { 1, 1, 1 };
	ck_assert(s0_append(s, FAKE_TERM, 0, 0, 3, ones, 3, &success) && success);
	s0_wait_applied(s, 3);
	raft_snapshot(s->rf, 3, "snap", 4);
	raft_get_status(s->rf, &st);
	ck_assert_int_eq(st.base_index, 3);

	/* Entries that start inside the snapshot but disagree with it (term
	 * 0 at index 3, where the snapshot says 1), and go on below its
	 * term: the part after the snapshot would go down. */
	int zeros[] = { 0, 0, 0 };
	s0_append(s, FAKE_TERM, 1, 0, 3, zeros, 3, &success);
	assert_state_decodes(s, "entries that disagree with the snapshot");
	raft_get_status(s->rf, &st);
	ck_assert_msg(st.last_index == 3, "S0 took entries that disagree with its snapshot");

	/* A state that does not read back makes no peer, and says why;
	 * the library does not exit. */
	Persister *bad = persister_make();
	const int unreadable[] = { 1, -1, 0, 0 }; /* no entry count */
	labgob_encoder e;
	labgob_encoder_init(&e);
	for (int i = 0; i < 4; i++)
		labgob_put_int(&e, unreadable[i]);
	persister_save(bad, e.buf, e.len, NULL, 0);
	labgob_encoder_free(&e);
	labrpc_end *ends[3] = { s->to_s0, s->to_s0, s->to_s0 };
	char err[256] = "";
	Raft *rf = raft_make(ends, 3, 0, bad, s->ch, 1, err, sizeof err);
	ck_assert_msg(rf == NULL, "raft_make took an unreadable state");
	ck_assert_msg(strstr(err, "refused") != NULL, "unclear message: %s", err);
	persister_release(bad);
	scripted_free(s);
}
END_TEST

/* ---- item 9: a killed peer is silent ---- */

START_TEST(TestKilledPeerSilent)
{
	scripted *s = scripted_make();
	raft_kill(s->rf); /* its server stays registered */
	size_t len0, len1;
	uint8_t *before = persister_read_raft_state(s->ps, &len0);

	bool granted = false, success = false;
	int terms[] = { 7, 7 };
	ck_assert_msg(!s0_request_vote(s, 7, 1, false, &granted),
		      "a killed peer answered a RequestVote (granted %d)", granted);
	ck_assert_msg(!s0_append(s, 7, 0, 0, 2, terms, 0, &success),
		      "a killed peer answered an AppendEntries (success %d)", success);
	ck_assert_msg(!s0_install_snapshot(s, 7, 4, 7), "a killed peer answered an InstallSnapshot");

	uint8_t *after = persister_read_raft_state(s->ps, &len1);
	ck_assert_msg(len0 == len1 && memcmp(before, after, len0) == 0,
		      "a killed peer changed its persisted state");
	free(before);
	free(after);
	scripted_free(s);
}
END_TEST

static const test_entry hardening_tests[] = {
	TEST_ENTRY(TestOnePeer, 30),
	TEST_ENTRY(TestSnapshotAheadOfApplier, 30),
	TEST_ENTRY(TestSnapshotDuringHandOff, 60),
	TEST_ENTRY(TestKillWithApplyBlocked, 30),
	TEST_ENTRY(TestQuorumWithLateReplies, 60),
	TEST_ENTRY(TestLeaderStaysUp, 180),
	TEST_ENTRY(TestUnreachableFollowerBounded, 60),
	TEST_ENTRY(TestStalePreVote, 30),
	TEST_ENTRY(TestBadTermsRefused, 30),
	TEST_ENTRY(TestKilledPeerSilent, 30),
};
TEST_GROUP(hardening, hardening_tests);
