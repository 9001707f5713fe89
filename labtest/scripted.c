/* scripted.c: one real Raft peer among scripted ones (scripted.h). */
#define _GNU_SOURCE
#include "scripted.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../labgob/labgob.h"
#include "../raft_harness.h"
#include "../util.h"

static const char *const methods[] = { "Raft.RequestVote", "Raft.AppendEntries",
				       "Raft.InstallSnapshot" };
/* Figure 2's fields in each kind's reply. */
static const int reply_fields[] = { 2, 2, 1 };

/* ---- the wire: Figure 2's fields, then the Raft's own, zero ---- */

static void put_zeros(labgob_encoder *e, int n)
{
	for (int i = 0; i < n; i++)
		labgob_put_int(e, 0); /* a zero int, bool, count or empty bytes */
}

/* How many values the bytes hold: ints and bools end at a byte below
 * 0x80 (replies carry no byte strings). */
static int count_values(const uint8_t *p, size_t len)
{
	int n = 0;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x80)
			n++;
	return n;
}

static void put_vote_args(labgob_encoder *e, int term, int from, int last_index, int last_term)
{
	labgob_put_int(e, term);
	labgob_put_int(e, from);
	labgob_put_int(e, last_index);
	labgob_put_int(e, last_term);
}

void cmd_for(int index, int term, char *buf, size_t len)
{
	snprintf(buf, len, "e%d.t%d", index, term);
}

static void put_append_args(labgob_encoder *e, int term, int from, int prev, int prev_term,
			    int n, const int *terms, int commit)
{
	labgob_put_int(e, term);
	labgob_put_int(e, from);
	labgob_put_int(e, prev);
	labgob_put_int(e, prev_term);
	labgob_put_count(e, (size_t)n);
	for (int i = 0; i < n; i++) {
		char cmd[32];
		cmd_for(prev + 1 + i, terms[i], cmd, sizeof cmd);
		labgob_put_int(e, terms[i]);
		labgob_put_bytes(e, cmd, strlen(cmd));
	}
	labgob_put_int(e, commit);
}

static void put_snapshot_args(labgob_encoder *e, int term, int from, int last_index,
			      int last_term, const char *data)
{
	labgob_put_int(e, term);
	labgob_put_int(e, from);
	labgob_put_int(e, last_index);
	labgob_put_int(e, last_term);
	labgob_put_bytes(e, data, strlen(data));
}

typedef int (*raft_handler)(Raft *, labgob_decoder *, labgob_encoder *);
static const raft_handler handlers[] = { raft_request_vote, raft_append_entries,
					 raft_install_snapshot };

/* Learn how many fields this Raft adds to each request and reply, from a
 * throwaway peer whose handlers are called directly: the request padded
 * with 0, 1, 2... zeros until it decodes, and the reply's values counted. */
static void calibrate(scripted *s)
{
	labrpc_end *ends[SCRIPTED_MAX_PEERS];
	for (int j = 0; j < s->n; j++) {
		char name[32];
		snprintf(name, sizeof name, "calibrate-%d", j);
		ends[j] = labrpc_make_end(s->net, name); /* connected to nothing */
	}
	Persister *ps = persister_make();
	Chan *ch = chan_make(sizeof(ApplyMsg));
	char err[256];
	Raft *rf = raft_make(ends, s->n, 0, ps, ch, 1, err, sizeof err);
	require(rf != NULL, "%s", err);
	for (int k = 0; k < 3; k++) {
		s->pad_req[k] = -1;
		for (int pad = 0; pad < 8 && s->pad_req[k] < 0; pad++) {
			labgob_encoder e, r;
			labgob_encoder_init(&e);
			labgob_encoder_init(&r);
			if (k == MSG_VOTE)
				put_vote_args(&e, 0, 1, 0, 0);
			else if (k == MSG_APPEND)
				put_append_args(&e, 0, 1, 0, 0, 0, NULL, 0);
			else
				put_snapshot_args(&e, 0, 1, 0, 0, "x");
			put_zeros(&e, pad);
			labgob_decoder d;
			labgob_decoder_init(&d, e.buf, e.len);
			if (handlers[k](rf, &d, &r) == 0) {
				s->pad_req[k] = pad;
				s->pad_reply[k] = count_values(r.buf, r.len) - reply_fields[k];
			}
			labgob_encoder_free(&e);
			labgob_encoder_free(&r);
		}
		require(s->pad_req[k] >= 0 && s->pad_reply[k] >= 0,
			      "%s: the scripted peers cannot speak this Raft's arguments "
			      "(Figure 2's fields first, in the handout's order)",
			      methods[k]);
	}
	chan_close(ch);
	raft_kill(rf);
	raft_release(rf);
	chan_free(ch);
	persister_release(ps);
}

/* ---- the scripted peers' handlers ---- */

typedef struct {
	scripted *s;
	int id;
} peer_ref;

static void free_msgs(msg *m)
{
	while (m) {
		msg *next = m->next;
		free(m->terms);
		free(m);
		m = next;
	}
}

/* The added fields of a RequestVote: true if any is not zero. */
static bool any_nonzero(labgob_decoder *d)
{
	for (size_t i = d->off; i < d->len; i++)
		if (d->p[i] != 0)
			return true;
	return false;
}

static msg *decode_request(msg_kind kind, labgob_decoder *d)
{
	msg *m = xcalloc(1, sizeof *m);
	m->kind = kind;
	labgob_get_int(d, &m->term, 0, INT32_MAX);
	labgob_get_int(d, &m->from, 0, INT32_MAX);
	if (kind == MSG_VOTE) {
		labgob_get_int(d, &m->last_index, 0, INT32_MAX);
		labgob_get_int(d, &m->last_term, -1, INT32_MAX);
		m->pre = any_nonzero(d);
	} else if (kind == MSG_APPEND) {
		size_t n = 0;
		labgob_get_int(d, &m->prev_index, 0, INT32_MAX);
		labgob_get_int(d, &m->prev_term, -1, INT32_MAX);
		if (labgob_get_count(d, &n, 2)) {
			m->terms = xcalloc(n ? n : 1, sizeof *m->terms);
			for (size_t i = 0; i < n; i++) {
				const uint8_t *c;
				size_t l;
				if (labgob_get_int(d, &m->terms[i], 0, INT32_MAX) &&
				    labgob_get_bytes(d, &c, &l))
					m->n++;
			}
		}
		labgob_get_int(d, &m->leader_commit, 0, INT32_MAX);
	} else {
		const uint8_t *data;
		size_t len;
		labgob_get_int(d, &m->snap_index, 0, INT32_MAX);
		labgob_get_int(d, &m->snap_term, -1, INT32_MAX);
		labgob_get_bytes(d, &data, &len);
	}
	if (d->err != LABGOB_OK) {
		free_msgs(m);
		return NULL;
	}
	m->at_ms = now_ms();
	return m;
}

/* POLICY_FOLLOW's AppendEntries: Figure 2's receiver rules on a log of
 * terms (s->mu held). */
static bool follow_append(scripted_peer *p, const msg *m)
{
	if (m->prev_index > p->len || (m->prev_index > 0 && p->log[m->prev_index - 1] != m->prev_term))
		return false;
	for (int i = 0; i < m->n; i++) {
		int index = m->prev_index + 1 + i;
		if (index > SCRIPTED_LOG_MAX)
			return false;
		if (index <= p->len && p->log[index - 1] == m->terms[i])
			continue;
		p->len = index;
		p->log[index - 1] = m->terms[i];
	}
	return true;
}

/* The automatic answer to m, or false to hold it (s->mu held). */
static bool auto_answer(scripted_peer *p, msg *m)
{
	policy pol = m->kind == MSG_VOTE ? (m->pre ? p->prevote : p->vote)
		     : m->kind == MSG_APPEND ? p->append : p->snapshot;
	if (pol == POLICY_HOLD)
		return false;
	if (!m->pre && m->term > p->term)
		p->term = m->term; /* a real request's term is adopted */
	m->answered = true;
	m->reply_term = p->term;
	switch (pol) {
	case POLICY_DROP:
		m->dropped = true;
		break;
	case POLICY_GRANT:
		m->reply_ok = m->term >= p->term;
		if (m->reply_ok && m->kind == MSG_APPEND)
			follow_append(p, m);
		break;
	case POLICY_REFUSE:
		m->reply_ok = false;
		break;
	case POLICY_FOLLOW:
		if (m->term < p->term)
			m->reply_ok = false;
		else if (m->kind == MSG_APPEND)
			m->reply_ok = follow_append(p, m);
		else if (m->kind == MSG_SNAPSHOT) {
			for (int i = 0; i < m->snap_index && i < SCRIPTED_LOG_MAX; i++)
				p->log[i] = m->snap_term;
			if (p->len < m->snap_index)
				p->len = m->snap_index;
			m->reply_ok = true;
		} else
			m->reply_ok = false;
		break;
	case POLICY_HOLD:
		break;
	}
	return true;
}

static int handle(void *rcvr, msg_kind kind, labgob_decoder *args, labgob_encoder *reply)
{
	peer_ref *ref = rcvr;
	scripted *s = ref->s;
	msg *m = decode_request(kind, args);
	if (m == NULL)
		return -1;
	m->to = ref->id;
	pthread_mutex_lock(&s->mu);
	*s->tail = m;
	s->tail = &m->next;
	pthread_cond_broadcast(&s->cv);
	if (!auto_answer(&s->peer[ref->id], m))
		while (!m->answered && !s->closing)
			pthread_cond_wait(&s->cv, &s->mu);
	bool reply_now = m->answered && !m->dropped;
	labgob_put_int(reply, m->reply_term);
	if (kind != MSG_SNAPSHOT)
		labgob_put_bool(reply, m->reply_ok);
	put_zeros(reply, s->pad_reply[kind]);
	pthread_mutex_unlock(&s->mu);
	return reply_now ? 0 : -1;
}

static int peer_request_vote(void *r, labgob_decoder *a, labgob_encoder *re)
{
	return handle(r, MSG_VOTE, a, re);
}

static int peer_append_entries(void *r, labgob_decoder *a, labgob_encoder *re)
{
	return handle(r, MSG_APPEND, a, re);
}

static int peer_install_snapshot(void *r, labgob_decoder *a, labgob_encoder *re)
{
	return handle(r, MSG_SNAPSHOT, a, re);
}

static const labrpc_method peer_methods[] = {
	{ "RequestVote", peer_request_vote },
	{ "AppendEntries", peer_append_entries },
	{ "InstallSnapshot", peer_install_snapshot },
};

/* ---- S0 ---- */

/* Reads S0's apply channel, as a service would. */
static void *reader_main(void *arg)
{
	scripted *s = arg;
	ApplyMsg m;
	while (chan_recv(s->ch, &m)) {
		applied_msg a = { 0 };
		if (m.command_valid) {
			a.index = m.command_index;
			size_t n = m.command_len < sizeof a.cmd - 1 ? m.command_len : sizeof a.cmd - 1;
			memcpy(a.cmd, m.command, n);
		} else if (m.snapshot_valid) {
			a.index = m.snapshot_index;
			a.snapshot = true;
		}
		pthread_mutex_lock(&s->mu);
		if (s->napplied == s->applied_cap) {
			s->applied_cap = s->applied_cap ? 2 * s->applied_cap : 64;
			s->applied = xrealloc(s->applied, (size_t)s->applied_cap * sizeof *s->applied);
		}
		s->applied[s->napplied++] = a;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		apply_msg_free(&m);
	}
	return NULL;
}

/* Make S0 (another incarnation) on s->ps. */
static void start_s0(scripted *s)
{
	labrpc_end *ends[SCRIPTED_MAX_PEERS];
	int inc = ++s->incarnation;
	for (int j = 0; j < s->n; j++) {
		char end[32], srv[16];
		snprintf(end, sizeof end, "s0.%d-%d", inc, j);
		snprintf(srv, sizeof srv, "%d", j);
		ends[j] = labrpc_make_end(s->net, end);
		labrpc_connect(s->net, end, srv);
		labrpc_enable(s->net, end, true);
	}
	s->ch = chan_make(sizeof(ApplyMsg));
	pthread_mutex_lock(&s->mu);
	s->applied_mark = s->napplied;
	pthread_mutex_unlock(&s->mu);
	if (pthread_create(&s->reader, NULL, reader_main, s) != 0)
		require(false, "cannot start the apply reader");
	char err[256];
	s->rf = raft_make(ends, s->n, 0, s->ps, s->ch, random_seed(), err, sizeof err);
	require(s->rf != NULL, "%s", err);
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, raft_service(s->rf));
	labrpc_add_server(s->net, "0", srv);
}

/* Kill S0 and let go of it; the persister stays. */
static void stop_s0(scripted *s)
{
	labrpc_delete_server(s->net, "0");
	chan_close(s->ch); /* an applier parked in a send gives up */
	raft_kill(s->rf);
	pthread_join(s->reader, NULL);
	raft_release(s->rf);
	chan_free(s->ch);
	s->rf = NULL;
}

scripted *scripted_make(int n, Persister *initial)
{
	require(n >= 2 && n <= SCRIPTED_MAX_PEERS, "%d peers: 2 to %d", n, SCRIPTED_MAX_PEERS);
	scripted *s = xcalloc(1, sizeof *s);
	s->n = n;
	pthread_mutex_init(&s->mu, NULL);
	cond_init_monotonic(&s->cv);
	s->tail = &s->msgs;
	s->net = labrpc_make_network(random_seed());
	calibrate(s);
	for (int j = 1; j < n; j++) {
		scripted_peer *p = &s->peer[j];
		p->vote = POLICY_REFUSE;
		p->prevote = POLICY_GRANT;
		p->append = POLICY_FOLLOW;
		p->snapshot = POLICY_FOLLOW;
		peer_ref *ref = xcalloc(1, sizeof *ref);
		ref->s = s;
		ref->id = j;
		labrpc_server *srv = labrpc_make_server();
		labrpc_server_add_service(srv, labrpc_make_service("Raft", ref, peer_methods, 3, free));
		char name[16];
		snprintf(name, sizeof name, "%d", j);
		labrpc_add_server(s->net, name, srv);
	}
	s->ps = initial ? persister_copy(initial) : persister_make();
	start_s0(s);
	s->to_s0 = labrpc_make_end(s->net, "test-0");
	labrpc_connect(s->net, "test-0", "0");
	labrpc_enable(s->net, "test-0", true);
	return s;
}

void scripted_free(scripted *s)
{
	pthread_mutex_lock(&s->mu);
	s->closing = true; /* held requests go unanswered */
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	stop_s0(s);
	labrpc_cleanup(s->net);
	labrpc_free(s->net);
	persister_release(s->ps);
	free_msgs(s->msgs);
	free(s->applied);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void s0_restart(scripted *s)
{
	stop_s0(s);
	/* As the tester does: the next incarnation gets a copy, so that a
	 * late write of the killed one cannot reach it. */
	Persister *copy = persister_copy(s->ps);
	persister_release(s->ps);
	s->ps = copy;
	start_s0(s);
}

/* ---- policies and messages ---- */

/* Requests of kind that peer got so far: scripted_next passes them over
 * (s->mu held). */
static void take_all(scripted *s, int peer, msg_kind kind)
{
	for (msg *m = s->msgs; m; m = m->next)
		if (m->to == peer && m->kind == kind)
			m->taken = true;
}

void scripted_set(scripted *s, int peer, msg_kind kind, policy p)
{
	pthread_mutex_lock(&s->mu);
	take_all(s, peer, kind);
	scripted_peer *sp = &s->peer[peer];
	if (kind == MSG_VOTE)
		sp->vote = p;
	else if (kind == MSG_APPEND)
		sp->append = p;
	else
		sp->snapshot = p;
	pthread_mutex_unlock(&s->mu);
}

void scripted_set_prevote(scripted *s, int peer, policy p)
{
	pthread_mutex_lock(&s->mu);
	s->peer[peer].prevote = p;
	pthread_mutex_unlock(&s->mu);
}

void scripted_set_all(scripted *s, msg_kind kind, policy p)
{
	for (int j = 1; j < s->n; j++)
		scripted_set(s, j, kind, p);
}

void scripted_set_term(scripted *s, int peer, int term)
{
	pthread_mutex_lock(&s->mu);
	s->peer[peer].term = term;
	pthread_mutex_unlock(&s->mu);
}

void scripted_set_log(scripted *s, int peer, int len, const int *terms)
{
	pthread_mutex_lock(&s->mu);
	s->peer[peer].len = len;
	if (len > 0)
		memcpy(s->peer[peer].log, terms, (size_t)len * sizeof *terms);
	pthread_mutex_unlock(&s->mu);
}

int scripted_log(scripted *s, int peer, int *terms)
{
	pthread_mutex_lock(&s->mu);
	int len = s->peer[peer].len;
	if (len > 0)
		memcpy(terms, s->peer[peer].log, (size_t)len * sizeof *terms);
	pthread_mutex_unlock(&s->mu);
	return len;
}

/* The first request not yet taken that matches (s->mu held). */
static msg *find(scripted *s, int peer, msg_kind kind, bool pre, int min_term)
{
	for (msg *m = s->msgs; m; m = m->next)
		if (!m->taken && m->to == peer && m->kind == kind && m->pre == pre &&
		    m->term >= min_term)
			return m;
	return NULL;
}

static msg *next_matching(scripted *s, int peer, msg_kind kind, bool pre, int min_term, int ms)
{
	struct timespec deadline;
	deadline_after_ms(&deadline, ms);
	pthread_mutex_lock(&s->mu);
	msg *m;
	bool timed_out = false;
	while ((m = find(s, peer, kind, pre, min_term)) == NULL && !timed_out)
		timed_out = pthread_cond_timedwait(&s->cv, &s->mu, &deadline) != 0;
	if (m)
		m->taken = true;
	pthread_mutex_unlock(&s->mu);
	return m;
}

msg *scripted_next(scripted *s, int peer, msg_kind kind, bool pre, int ms)
{
	return next_matching(s, peer, kind, pre, 0, ms);
}

msg *scripted_next_in(scripted *s, int peer, msg_kind kind, int term, int ms)
{
	return next_matching(s, peer, kind, false, term, ms);
}

void scripted_answer(scripted *s, msg *m, int term, bool ok)
{
	pthread_mutex_lock(&s->mu);
	if (!m->answered) {
		m->answered = true;
		m->reply_term = term;
		m->reply_ok = ok;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

void scripted_drop(scripted *s, msg *m)
{
	pthread_mutex_lock(&s->mu);
	if (!m->answered) {
		m->answered = true;
		m->dropped = true;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

int scripted_count(scripted *s, int peer, msg_kind kind, bool pre)
{
	int n = 0;
	pthread_mutex_lock(&s->mu);
	for (msg *m = s->msgs; m; m = m->next)
		if (m->to == peer && m->kind == kind && m->pre == pre)
			n++;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- S0's state and handlers ---- */

int s0_term(scripted *s)
{
	int term;
	raft_get_state(s->rf, &term);
	return term;
}

bool s0_is_leader(scripted *s)
{
	int term;
	return raft_get_state(s->rf, &term);
}

bool s0_wait_leader(scripted *s, int ms)
{
	for (int64_t t0 = now_ms(); !s0_is_leader(s); sleep_ms(5))
		if (now_ms() - t0 > ms)
			return false;
	return true;
}

int s0_elect(scripted *s)
{
	for (int j = 1; j < s->n; j++) {
		scripted_set(s, j, MSG_VOTE, POLICY_GRANT);
		scripted_set_prevote(s, j, POLICY_GRANT);
		scripted_set(s, j, MSG_APPEND, POLICY_FOLLOW);
	}
	require(s0_wait_leader(s, 3000), "S0 was not elected within 3 s, all votes granted");
	for (int j = 1; j < s->n; j++)
		scripted_set(s, j, MSG_VOTE, POLICY_REFUSE);
	return s0_term(s);
}

/* Call S0's method; the arguments get this Raft's added fields (zero). */
static bool call_s0(scripted *s, msg_kind kind, labgob_encoder *args, labgob_decoder *d,
		    uint8_t **reply)
{
	put_zeros(args, s->pad_req[kind]);
	size_t len;
	bool ok = labrpc_call(s->to_s0, methods[kind], args->buf, args->len, reply, &len);
	labgob_encoder_free(args);
	if (ok)
		labgob_decoder_init(d, *reply, len);
	return ok;
}

bool s0_request_vote(scripted *s, int from, int term, int last_index, int last_term,
		     bool *granted, int *reply_term)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	put_vote_args(&e, term, from, last_index, last_term);
	labgob_decoder d;
	uint8_t *reply = NULL;
	int rterm = -1;
	bool ok = call_s0(s, MSG_VOTE, &e, &d, &reply);
	*granted = false;
	if (ok) {
		labgob_get_int(&d, &rterm, 0, INT32_MAX);
		labgob_get_bool(&d, granted);
	}
	if (reply_term)
		*reply_term = rterm;
	free(reply);
	return ok;
}

bool s0_append(scripted *s, int from, int term, int prev, int prev_term, int n, const int *terms,
	       int commit, bool *success, int *reply_term)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	put_append_args(&e, term, from, prev, prev_term, n, terms, commit);
	labgob_decoder d;
	uint8_t *reply = NULL;
	int rterm = -1;
	bool ok = call_s0(s, MSG_APPEND, &e, &d, &reply);
	*success = false;
	if (ok) {
		labgob_get_int(&d, &rterm, 0, INT32_MAX);
		labgob_get_bool(&d, success);
	}
	if (reply_term)
		*reply_term = rterm;
	free(reply);
	return ok;
}

bool s0_install_snapshot(scripted *s, int from, int term, int last_index, int last_term,
			 const char *data, int *reply_term)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	put_snapshot_args(&e, term, from, last_index, last_term, data);
	labgob_decoder d;
	uint8_t *reply = NULL;
	int rterm = -1;
	bool ok = call_s0(s, MSG_SNAPSHOT, &e, &d, &reply);
	if (ok)
		labgob_get_int(&d, &rterm, 0, INT32_MAX);
	if (reply_term)
		*reply_term = rterm;
	free(reply);
	return ok;
}

/* ---- what S0 applied ---- */

int s0_applied(scripted *s)
{
	pthread_mutex_lock(&s->mu);
	int last = s->napplied > s->applied_mark ? s->applied[s->napplied - 1].index : 0;
	pthread_mutex_unlock(&s->mu);
	return last;
}

bool s0_wait_applied(scripted *s, int index, int ms)
{
	struct timespec deadline;
	deadline_after_ms(&deadline, ms);
	pthread_mutex_lock(&s->mu);
	bool got, timed_out = false;
	while (!(got = s->napplied > s->applied_mark && s->applied[s->napplied - 1].index >= index) &&
	       !timed_out)
		timed_out = pthread_cond_timedwait(&s->cv, &s->mu, &deadline) != 0;
	pthread_mutex_unlock(&s->mu);
	return got;
}

bool s0_applied_msg(scripted *s, int i, applied_msg *out)
{
	pthread_mutex_lock(&s->mu);
	bool have = s->applied_mark + i < s->napplied;
	if (have)
		*out = s->applied[s->applied_mark + i];
	pthread_mutex_unlock(&s->mu);
	return have;
}
