/* config.c: the Raft tester's harness, ported from config.go.
 *
 * Differences forced by C (notes.md lists them): the tester holds a
 * reference on each Raft it hands to other threads.  As in Go, a crashed
 * server's applier goes on reading its channel (until cfg_cleanup()), and
 * anything it receives after Kill returned fails the test. */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../labgob/labgob.h"

bool cfg_outside_check;

/* ---- commands ---- */

cmd_t cmd_int(int64_t v)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_bytes(&e, "i", 1);
	labgob_put_int(&e, v);
	cmd_t c;
	c.data = labgob_encoder_take(&e, &c.len);
	return c;
}

cmd_t cmd_str(const char *s, size_t n)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_bytes(&e, "s", 1);
	labgob_put_bytes(&e, s, n);
	cmd_t c;
	c.data = labgob_encoder_take(&e, &c.len);
	return c;
}

void cmd_free(cmd_t *c)
{
	free(c->data);
	c->data = NULL;
	c->len = 0;
}

bool cmd_equal(cmd_t a, cmd_t b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

bool cmd_as_int(cmd_t c, int64_t *v)
{
	labgob_decoder d;
	labgob_decoder_init(&d, c.data, c.len);
	const uint8_t *tag;
	size_t n;
	return labgob_get_bytes(&d, &tag, &n) && n == 1 && tag[0] == 'i' &&
	       labgob_get_int64(&d, v) && labgob_decoder_finish(&d) == LABGOB_OK;
}

static cmd_t cmd_copy(cmd_t c)
{
	return (cmd_t){ c.len ? xmemdup(c.data, c.len) : NULL, c.len };
}

/* ---- the tester's record of applied values ---- */

static void alog_grow(applied_log *l, int index)
{
	if (index < l->cap)
		return;
	int cap = l->cap ? l->cap : 64;
	while (cap <= index)
		cap *= 2;
	l->have = xrealloc(l->have, (size_t)cap * sizeof *l->have);
	l->val = xrealloc(l->val, (size_t)cap * sizeof *l->val);
	memset(l->have + l->cap, 0, (size_t)(cap - l->cap) * sizeof *l->have);
	memset(l->val + l->cap, 0, (size_t)(cap - l->cap) * sizeof *l->val);
	l->cap = cap;
}

static bool alog_get(applied_log *l, int index, cmd_t *v)
{
	if (index < 0 || index >= l->cap || !l->have[index])
		return false;
	if (v)
		*v = l->val[index];
	return true;
}

static void alog_set(applied_log *l, int index, cmd_t v)
{
	alog_grow(l, index);
	if (l->have[index])
		cmd_free(&l->val[index]);
	l->have[index] = true;
	l->val[index] = cmd_copy(v);
}

static void alog_clear(applied_log *l)
{
	for (int i = 0; i < l->cap; i++)
		if (l->have[i])
			cmd_free(&l->val[i]);
	free(l->have);
	free(l->val);
	memset(l, 0, sizeof *l);
}

/* ---- randomness ---- */

int64_t cfg_rand(config *cfg)
{
	pthread_mutex_lock(&cfg->rng_mu);
	int64_t x = (int64_t)(prng_next(&cfg->rng) >> 1);
	pthread_mutex_unlock(&cfg->rng_mu);
	return x;
}

char *cfg_randstring(config *cfg, int n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *s = xmalloc((size_t)n + 1);
	for (int i = 0; i < n; i++)
		s[i] = b64[cfg_rand(cfg) % 64];
	s[n] = '\0';
	return s;
}

static void server_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "%d", i);
}

#define SNAPSHOT_INTERVAL 10

/* ---- make_config ---- */

config *make_config(int n, bool unreliable, bool snapshot)
{
	return make_config_every(n, unreliable, snapshot, SNAPSHOT_INTERVAL);
}

config *make_config_every(int n, bool unreliable, bool snapshot, int snapshot_every)
{
	debug_reset_clock();
	config *cfg = xcalloc(1, sizeof *cfg);
	cfg->threads0 = thread_count();
	pthread_mutex_init(&cfg->mu, NULL);
	pthread_mutex_init(&cfg->rng_mu, NULL);
	const char *seed = getenv("SEED");
	cfg->seed = seed && *seed ? strtoull(seed, NULL, 10) : random_seed();
	prng_seed(&cfg->rng, cfg->seed);
	cfg->net = labrpc_make_network(cfg->seed ^ 0x6c6162727063ULL);
	cfg->n = n;
	cfg->rafts = xcalloc((size_t)n, sizeof *cfg->rafts);
	cfg->connected = xcalloc((size_t)n, sizeof *cfg->connected);
	cfg->saved = xcalloc((size_t)n, sizeof *cfg->saved);
	cfg->endnames = xcalloc((size_t)n, sizeof *cfg->endnames);
	cfg->logs = xcalloc((size_t)n, sizeof *cfg->logs);
	cfg->last_applied = xcalloc((size_t)n, sizeof *cfg->last_applied);
	cfg->apply_ch = xcalloc((size_t)n, sizeof *cfg->apply_ch);
	cfg->applier = xcalloc((size_t)n, sizeof *cfg->applier);
	cfg->applier_running = xcalloc((size_t)n, sizeof *cfg->applier_running);
	cfg->snapshot = snapshot;
	cfg->snapshot_every = snapshot_every;
	cfg->limit_s = 120;
	cfg->start_us = now_us();

	cfg_set_unreliable(cfg, unreliable);
	labrpc_long_delays(cfg->net, true);

	/* create a full set of Rafts. */
	for (int i = 0; i < n; i++)
		cfg_start1(cfg, i);
	/* connect everyone */
	for (int i = 0; i < n; i++)
		cfg_connect(cfg, i);
	return cfg;
}

/* ---- appliers ---- */

/* Go's checkLogs (cfg->mu held): "" or an error. */
static void check_logs(config *cfg, int i, const ApplyMsg *m, char *err, size_t errlen,
		       bool *prevok)
{
	cmd_t v = { m->command, m->command_len };
	err[0] = '\0';
	for (int j = 0; j < cfg->n; j++) {
		cmd_t old;
		if (alog_get(&cfg->logs[j], m->command_index, &old) && !cmd_equal(old, v)) {
			/* some server has already committed a different value for this entry! */
			snprintf(err, errlen, "commit index=%d server=%d != server=%d",
				 m->command_index, i, j);
		}
	}
	*prevok = alog_get(&cfg->logs[i], m->command_index - 1, NULL);
	alog_set(&cfg->logs[i], m->command_index, v);
	if (m->command_index > cfg->max_index)
		cfg->max_index = m->command_index;
}

static _Noreturn void apply_error(config *cfg, const char *err)
{
	fprintf(stderr, "apply error: %s\nseed: SEED=%llu\n", err, (unsigned long long)cfg->seed);
	fflush(stdout);
	_exit(1);
}

/* Go's ingestSnap (cfg->mu held): "" or an error. */
static void ingest_snap(config *cfg, int i, const uint8_t *snap, size_t len, int index,
			char *err, size_t errlen)
{
	err[0] = '\0';
	if (snap == NULL || len == 0)
		apply_error(cfg, "nil snapshot");
	labgob_decoder d;
	labgob_decoder_init(&d, snap, len);
	int last_included;
	size_t count;
	if (!labgob_get_int(&d, &last_included, 0, INT32_MAX) || !labgob_get_count(&d, &count, 1))
		apply_error(cfg, "snapshot decode error");
	applied_log fresh = { 0 };
	for (size_t j = 0; j < count; j++) {
		const uint8_t *p;
		size_t n;
		if (!labgob_get_bytes(&d, &p, &n))
			apply_error(cfg, "snapshot decode error");
		alog_set(&fresh, (int)j, (cmd_t){ (uint8_t *)p, n });
	}
	if (labgob_decoder_finish(&d) != LABGOB_OK)
		apply_error(cfg, "snapshot decode error");
	if (index != -1 && index != last_included) {
		snprintf(err, errlen, "server %d snapshot doesn't match m.SnapshotIndex", i);
		alog_clear(&fresh);
		return;
	}
	alog_clear(&cfg->logs[i]);
	cfg->logs[i] = fresh;
	cfg->last_applied[i] = last_included;
}


/* Go's applierSnap's snapshot: the index, then logs[i][0..index]. */
static void take_snapshot(config *cfg, int i, Raft *rf, int index)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, index);
	labgob_put_count(&e, (size_t)index + 1);
	pthread_mutex_lock(&cfg->mu);
	for (int j = 0; j <= index; j++) {
		cmd_t v = { NULL, 0 };
		alog_get(&cfg->logs[i], j, &v);
		labgob_put_bytes(&e, v.data, v.len);
	}
	pthread_mutex_unlock(&cfg->mu);
	raft_snapshot(rf, index, e.buf, e.len);
	labgob_encoder_free(&e);
}

typedef struct {
	config *cfg;
	int i;
	Raft *rf;       /* NULL once killed */
	Chan *ch;
} applier_arg;

/* What crash1 sends on a server's apply channel once Kill has returned,
 * to tell its applier to let go of the Raft.  Kill's return is also
 * marked in the channel itself (chan_mark()), so the applier knows of
 * every value whether it was taken after Kill returned: a send that was
 * parked then (ahead of this message) as well as one begun later.  Only a
 * send taken before Kill returned is the Raft's to make. */
static uint8_t killed_mark;

static bool is_killed_mark(const ApplyMsg *m)
{
	return m->command == &killed_mark;
}

/* applier (2A-2C) and applierSnap (2D) read the apply channel and check
 * that the messages match the other servers' logs. */
static void *cfg_applier_main(void *p)
{
	applier_arg *a = p;
	config *cfg = a->cfg;
	int i = a->i;
	ApplyMsg m;
	char err[256];
	bool after_kill;
	while (chan_recv_marked(a->ch, &m, &after_kill)) {
		err[0] = '\0';
		if (is_killed_mark(&m)) {
			a->rf = NULL;
			continue;
		}
		if (after_kill) {
			/* Stricter than Go, whose old applier checks such
			 * messages against the next incarnation's log. */
			snprintf(err, sizeof err, "server %d applied after Kill", i);
		} else if (cfg->snapshot && m.snapshot_valid) {
			pthread_mutex_lock(&cfg->mu);
			ingest_snap(cfg, i, m.snapshot, m.snapshot_len, m.snapshot_index, err,
				    sizeof err);
			pthread_mutex_unlock(&cfg->mu);
		} else if (m.command_valid) {
			pthread_mutex_lock(&cfg->mu);
			int expected = cfg->last_applied[i] + 1;
			pthread_mutex_unlock(&cfg->mu);
			if (cfg->snapshot && m.command_index != expected)
				snprintf(err, sizeof err,
					 "server %d apply out of order, expected index %d, got %d", i,
					 expected, m.command_index);
			if (err[0] == '\0') {
				bool prevok;
				pthread_mutex_lock(&cfg->mu);
				check_logs(cfg, i, &m, err, sizeof err, &prevok);
				pthread_mutex_unlock(&cfg->mu);
				if (m.command_index > 1 && !prevok)
					snprintf(err, sizeof err, "server %d apply out of order %d", i,
						 m.command_index);
			}
			pthread_mutex_lock(&cfg->mu);
			cfg->last_applied[i] = m.command_index;
			pthread_mutex_unlock(&cfg->mu);
			if (cfg->snapshot && (m.command_index + 1) % cfg->snapshot_every == 0)
				take_snapshot(cfg, i, a->rf, m.command_index);
		}
		/* Ignore other types of ApplyMsg. */
		apply_msg_free(&m);
		if (err[0])
			apply_error(cfg, err);
	}
	free(a);
	return NULL;
}

static void start_applier(config *cfg, int i, Raft *rf, Chan *ch)
{
	applier_arg *a = xmalloc(sizeof *a);
	*a = (applier_arg){ cfg, i, rf, ch };
	cfg->apply_ch[i] = ch;
	/* A small stack: a crashed server's applier lives until cleanup. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&cfg->applier[i], &attr, cfg_applier_main, a);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(a);
		cfg_fatalf(cfg, "cannot start S%d's applier thread: %s", i, strerror(rc));
	}
	cfg->applier_running[i] = true;
}

/* After Kill returned: mark the channel, so that the applier fails the
 * test on anything that comes after, and keep it reading, as Go's old
 * applier does, until cfg_cleanup().  Once the applier has taken the mark
 * it no longer touches the Raft. */
static void retire_applier(config *cfg, int i)
{
	if (!cfg->applier_running[i])
		return;
	chan_mark(cfg->apply_ch[i]);
	ApplyMsg mark = { .command = &killed_mark };
	chan_send(cfg->apply_ch[i], &mark);
	retired_applier *r = xmalloc(sizeof *r);
	*r = (retired_applier){ cfg->applier[i], cfg->apply_ch[i], cfg->retired };
	cfg->retired = r;
	cfg->apply_ch[i] = NULL;
	cfg->applier_running[i] = false;
}

/* The test is over and every Raft killed: end the appliers. */
static void stop_retired_appliers(config *cfg)
{
	for (retired_applier *r = cfg->retired; r; r = r->next) {
		chan_close(r->ch);
		pthread_join(r->tid, NULL);
	}
}

static void free_retired_appliers(config *cfg)
{
	for (retired_applier *r = cfg->retired, *next; r; r = next) {
		next = r->next;
		chan_free(r->ch);
		free(r);
	}
	cfg->retired = NULL;
}

/* ---- crash and start ---- */

/* Replace saved[i] with a fresh persister holding the same bytes, so an old
 * instance that still writes cannot touch what the next one reads. */
static void renew_persister(config *cfg, int i)
{
	Persister *old = cfg->saved[i];
	cfg->saved[i] = persister_copy(old);
	persister_release(old);
}

/* shut down a Raft server but save its persistent state. */
void cfg_crash1(config *cfg, int i)
{
	char name[16];
	server_name(i, name, sizeof name);
	if (cfg->rafts[i])
		Debug(dTest, "crash S%d", i);
	cfg_disconnect(cfg, i);
	labrpc_delete_server(cfg->net, name); /* disable client connections to the server. */

	pthread_mutex_lock(&cfg->mu);
	if (cfg->saved[i])
		renew_persister(cfg, i);
	Raft *rf = cfg->rafts[i];
	if (rf) {
		pthread_mutex_unlock(&cfg->mu);
		raft_kill(rf);
		retire_applier(cfg, i);
		pthread_mutex_lock(&cfg->mu);
		cfg->rafts[i] = NULL;
	}
	if (cfg->saved[i])
		renew_persister(cfg, i);
	pthread_mutex_unlock(&cfg->mu);
	raft_release(rf);
}

/* start or re-start a Raft. if one already exists, "kill" it first. */
void cfg_start1(config *cfg, int i)
{
	cfg_crash1(cfg, i);
	Debug(dTest, "start S%d", i);

	/* a fresh set of outgoing ClientEnd names, so that the old crashed
	 * instance's ClientEnds can't send. */
	if (cfg->endnames[i] == NULL)
		cfg->endnames[i] = xcalloc((size_t)cfg->n, sizeof(char *));
	labrpc_end **ends = xcalloc((size_t)cfg->n, sizeof *ends);
	for (int j = 0; j < cfg->n; j++) {
		char *name = cfg_randstring(cfg, 20);
		char srv[16];
		server_name(j, srv, sizeof srv);
		ends[j] = labrpc_make_end(cfg->net, name);
		labrpc_connect(cfg->net, name, srv);
		pthread_mutex_lock(&cfg->mu);
		free(cfg->endnames[i][j]);
		cfg->endnames[i][j] = name;
		pthread_mutex_unlock(&cfg->mu);
	}

	pthread_mutex_lock(&cfg->mu);
	cfg->last_applied[i] = 0;
	if (cfg->saved[i]) {
		renew_persister(cfg, i);
		size_t len;
		uint8_t *snap = persister_read_snapshot(cfg->saved[i], &len);
		if (len > 0) {
			/* mimic KV server and process snapshot now. */
			char err[256];
			ingest_snap(cfg, i, snap, len, -1, err, sizeof err);
			if (err[0]) {
				pthread_mutex_unlock(&cfg->mu);
				cfg_fatalf(cfg, "%s", err);
			}
		}
		free(snap);
	} else {
		cfg->saved[i] = persister_make();
	}
	Persister *ps = cfg->saved[i];
	pthread_mutex_unlock(&cfg->mu);

	Chan *ch = chan_make(sizeof(ApplyMsg));
	uint64_t peer_seed = cfg->seed * 31 + (uint64_t)(++cfg->incarnation) * 1000003ULL + (uint64_t)i;
	char err[256];
	Raft *rf = raft_make(ends, cfg->n, i, ps, ch, peer_seed, err, sizeof err);
	free(ends);
	if (rf == NULL) {
		/* A state Raft saved but cannot read back (fatal, as in Go), or
		 * a thread it could not start. */
		chan_free(ch);
		cfg_fatalf(cfg, "raft: S%d: %s", i, err);
	}

	pthread_mutex_lock(&cfg->mu);
	cfg->rafts[i] = rf;
	pthread_mutex_unlock(&cfg->mu);

	start_applier(cfg, i, rf, ch);

	char name[16];
	server_name(i, name, sizeof name);
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, raft_service(rf));
	labrpc_add_server(cfg->net, name, srv);
}

static void check_timeout(config *cfg)
{
	/* enforce a two minute real-time limit on each test */
	if (cfg->limit_s > 0 && now_us() - cfg->start_us > cfg->limit_s * 1000000LL)
		cfg_fatalf(cfg, "test took longer than 120 seconds");
}

static bool check_finished(config *cfg)
{
	return atomic_load(&cfg->finished) != 0;
}

/* Not in Go, whose garbage collector keeps a killed peer's memory for
 * its goroutines: in C the peer is freed next, so every thread it started
 * must have ended by now (every peer killed, the network's and the
 * tester's threads joined).  The kernel may show a joined thread a moment
 * longer: look again for up to 200 ms. */
static void check_threads_ended(config *cfg)
{
#if defined(__SANITIZE_THREAD__)
	/* ThreadSanitizer may start a thread of its own meanwhile (one more
	 * thread is seen in the Kill tests under make tsan only): the count
	 * means nothing there.  make test, make asan and make sim check. */
	(void)cfg;
	return;
#endif
	int extra = thread_count() - cfg->threads0;
	for (int i = 0; i < 20 && extra > 0; i++) {
		sleep_ms(10);
		extra = thread_count() - cfg->threads0;
	}
	if (extra > 0)
		cfg_fatalf(cfg,
			   "%d thread(s) still running after every peer was killed: raft_kill must "
			   "stop and wait for every thread its peer started (start them with go_start("
			   "rf->group, ...); raft_kill calls go_kill(rf->group), then go_wait(rf->group))",
			   extra);
}

void cfg_cleanup(config *cfg)
{
	atomic_store(&cfg->finished, 1);
	for (int i = 0; i < cfg->n; i++) {
		if (cfg->rafts[i]) {
			raft_kill(cfg->rafts[i]);
			retire_applier(cfg, i);
		}
	}
	labrpc_cleanup(cfg->net);
	check_timeout(cfg);

	/* Go leaves the rest to its garbage collector. */
	stop_retired_appliers(cfg);
	check_threads_ended(cfg);
	for (int i = 0; i < cfg->n; i++) {
		raft_release(cfg->rafts[i]);
		persister_release(cfg->saved[i]);
		alog_clear(&cfg->logs[i]);
		if (cfg->endnames[i])
			for (int j = 0; j < cfg->n; j++)
				free(cfg->endnames[i][j]);
		free(cfg->endnames[i]);
	}
	labrpc_free(cfg->net);
	free_retired_appliers(cfg);
	free(cfg->rafts);
	free(cfg->connected);
	free(cfg->saved);
	free(cfg->endnames);
	free(cfg->logs);
	free(cfg->last_applied);
	free(cfg->apply_ch);
	free(cfg->applier);
	free(cfg->applier_running);
	pthread_mutex_destroy(&cfg->mu);
	pthread_mutex_destroy(&cfg->rng_mu);
	free(cfg);
}

/* attach server i to the net. */
void cfg_connect(config *cfg, int i)
{
	Debug(dTest, "connect S%d", i);
	pthread_mutex_lock(&cfg->mu);
	cfg->connected[i] = true;
	pthread_mutex_unlock(&cfg->mu);
	for (int j = 0; j < cfg->n; j++) {
		/* outgoing ClientEnds */
		if (cfg->connected[j])
			labrpc_enable(cfg->net, cfg->endnames[i][j], true);
		/* incoming ClientEnds */
		if (cfg->connected[j])
			labrpc_enable(cfg->net, cfg->endnames[j][i], true);
	}
}

/* detach server i from the net. */
void cfg_disconnect(config *cfg, int i)
{
	Debug(dTest, "disconnect S%d", i);
	pthread_mutex_lock(&cfg->mu);
	cfg->connected[i] = false;
	pthread_mutex_unlock(&cfg->mu);
	for (int j = 0; j < cfg->n; j++) {
		if (cfg->endnames[i])
			labrpc_enable(cfg->net, cfg->endnames[i][j], false);
		if (cfg->endnames[j])
			labrpc_enable(cfg->net, cfg->endnames[j][i], false);
	}
}

int cfg_rpc_count(config *cfg, int server)
{
	char name[16];
	server_name(server, name, sizeof name);
	return labrpc_get_count(cfg->net, name);
}

int cfg_rpc_total(config *cfg)
{
	return labrpc_total_count(cfg->net);
}

int64_t cfg_bytes_total(config *cfg)
{
	return labrpc_total_bytes(cfg->net);
}

void cfg_set_unreliable(config *cfg, bool unrel)
{
	labrpc_reliable(cfg->net, !unrel);
}

void cfg_set_long_reordering(config *cfg, bool longrel)
{
	labrpc_long_reordering(cfg->net, longrel);
}

/* check that one of the connected servers thinks it is the leader, and
 * that no other connected server thinks otherwise.  try a few times in
 * case re-elections are needed. */
int cfg_check_one_leader(config *cfg)
{
	int *leader_term = xcalloc((size_t)cfg->n, sizeof *leader_term);
	for (int iters = 0; iters < 10; iters++) {
		sleep_ms(450 + cfg_rand(cfg) % 100);

		/* One reading of every server, as Go's map of leaders by
		 * term: a leader that has stepped down since it was read
		 * still counts against another of its term. */
		for (int i = 0; i < cfg->n; i++) {
			int term;
			leader_term[i] = -1;
			if (cfg->connected[i] && raft_get_state(cfg->rafts[i], &term))
				leader_term[i] = term;
		}

		int last_term_with_leader = -1, leader = -1;
		for (int i = 0; i < cfg->n; i++) {
			if (leader_term[i] < 0)
				continue;
			int count = 0;
			for (int j = 0; j < cfg->n; j++)
				if (leader_term[j] == leader_term[i])
					count++;
			if (count > 1) {
				int term = leader_term[i];
				free(leader_term);
				cfg_fatalf(cfg, "term %d has %d (>1) leaders", term, count);
			}
			if (leader_term[i] > last_term_with_leader) {
				last_term_with_leader = leader_term[i];
				leader = i;
			}
		}

		if (leader != -1) {
			free(leader_term);
			return leader;
		}
	}
	free(leader_term);
	cfg_fatalf(cfg, "expected one leader, got none");
	return -1;
}

/* check that everyone agrees on the term. */
int cfg_check_terms(config *cfg)
{
	int term = -1;
	for (int i = 0; i < cfg->n; i++) {
		if (!cfg->connected[i])
			continue;
		int xterm;
		raft_get_state(cfg->rafts[i], &xterm);
		if (term == -1)
			term = xterm;
		else if (term != xterm)
			cfg_fatalf(cfg, "servers disagree on term");
	}
	return term;
}

/* check that none of the connected servers thinks it is the leader. */
void cfg_check_no_leader(config *cfg)
{
	for (int i = 0; i < cfg->n; i++) {
		int term;
		if (cfg->connected[i] && raft_get_state(cfg->rafts[i], &term))
			cfg_fatalf(cfg,
				   "expected no leader among connected servers, but %d claims to be leader",
				   i);
	}
}

/* how many servers think a log entry is committed? */
int cfg_n_committed(config *cfg, int index, cmd_t *cmd_out)
{
	int count = 0;
	cmd_t cmd = { NULL, 0 };
	pthread_mutex_lock(&cfg->mu);
	for (int i = 0; i < cfg->n; i++) {
		cmd_t cmd1;
		if (alog_get(&cfg->logs[i], index, &cmd1)) {
			if (count > 0 && !cmd_equal(cmd, cmd1)) {
				pthread_mutex_unlock(&cfg->mu);
				cfg_fatalf(cfg, "committed values do not match: index %d", index);
			}
			count++;
			cmd = cmd1;
		}
	}
	if (cmd_out)
		*cmd_out = cmd_copy(cmd);
	pthread_mutex_unlock(&cfg->mu);
	return count;
}

/* wait for at least n servers to commit. but don't wait forever. */
bool cfg_wait(config *cfg, int index, int n, int start_term, cmd_t *cmd)
{
	int64_t to = 10;
	for (int iters = 0; iters < 30; iters++) {
		if (cfg_n_committed(cfg, index, NULL) >= n)
			break;
		sleep_ms(to);
		if (to < 1000)
			to *= 2;
		if (start_term > -1) {
			for (int i = 0; i < cfg->n; i++) {
				int t;
				/* Go would crash on a nil Raft here; we skip it. */
				if (cfg->rafts[i] && (raft_get_state(cfg->rafts[i], &t), t > start_term))
					return false; /* someone has moved on */
			}
		}
	}
	cmd_t c;
	int nd = cfg_n_committed(cfg, index, &c);
	if (nd < n) {
		cmd_free(&c);
		cfg_fatalf(cfg, "only %d decided for index %d; wanted %d", nd, index, n);
	}
	if (cmd)
		*cmd = c;
	else
		cmd_free(&c);
	return true;
}

bool cfg_start_on(config *cfg, int i, cmd_t cmd, int *index, int *term, bool *is_leader)
{
	pthread_mutex_lock(&cfg->mu);
	Raft *rf = cfg->rafts[i];
	if (rf)
		raft_retain(rf);
	pthread_mutex_unlock(&cfg->mu);
	if (rf == NULL)
		return false;
	int t;
	*is_leader = raft_start(rf, cmd.data, cmd.len, index, term ? term : &t);
	raft_release(rf);
	return true;
}

static void describe(cmd_t cmd, char *buf, size_t len)
{
	int64_t v;
	if (cmd_as_int(cmd, &v))
		snprintf(buf, len, "%lld", (long long)v);
	else
		snprintf(buf, len, "<%zu-byte command>", cmd.len);
}

/* do a complete agreement. (see config.go) */
int cfg_one(config *cfg, cmd_t cmd, int expected_servers, bool retry)
{
	int64_t t0 = now_us();
	int starts = 0;
	char what[64];
	while (now_us() - t0 < 10 * 1000000LL && !check_finished(cfg)) {
		/* try all the servers, maybe one is the leader. */
		int index = -1;
		for (int si = 0; si < cfg->n; si++) {
			starts = (starts + 1) % cfg->n;
			bool connected;
			pthread_mutex_lock(&cfg->mu);
			connected = cfg->connected[starts];
			pthread_mutex_unlock(&cfg->mu);
			int index1;
			bool ok;
			if (connected && cfg_start_on(cfg, starts, cmd, &index1, NULL, &ok) && ok) {
				index = index1;
				break;
			}
		}
		if (index != -1) {
			/* somebody claimed to be the leader and to have submitted
			 * our command; wait a while for agreement. */
			int64_t t1 = now_us();
			while (now_us() - t1 < 2 * 1000000LL) {
				cmd_t cmd1;
				int nd = cfg_n_committed(cfg, index, &cmd1);
				bool same = cmd_equal(cmd1, cmd);
				cmd_free(&cmd1);
				if (nd > 0 && nd >= expected_servers && same)
					return index;
				sleep_ms(20);
			}
			if (!retry) {
				describe(cmd, what, sizeof what);
				cfg_fatalf(cfg, "one(%s) failed to reach agreement", what);
			}
		} else {
			sleep_ms(50);
		}
	}
	if (!check_finished(cfg)) {
		describe(cmd, what, sizeof what);
		cfg_fatalf(cfg, "one(%s) failed to reach agreement", what);
	}
	return -1;
}

/* start a Test. print the Test message. */
void cfg_begin(config *cfg, const char *description)
{
	printf("%s ...\n", description);
	Debug(dTest, "%s", description);
	cfg->t0_us = now_us();
	cfg->rpcs0 = cfg_rpc_total(cfg);
	cfg->bytes0 = cfg_bytes_total(cfg);
	pthread_mutex_lock(&cfg->mu);
	cfg->max_index0 = cfg->max_index;
	pthread_mutex_unlock(&cfg->mu);
}

/* end a Test -- the fact that we got here means there was no failure.
 * print the Passed message, and some performance numbers. */
void cfg_end(config *cfg)
{
	check_timeout(cfg);
	pthread_mutex_lock(&cfg->mu);
	double t = (double)(now_us() - cfg->t0_us) / 1e6; /* real time */
	int npeers = cfg->n;                                /* number of Raft peers */
	int nrpc = cfg_rpc_total(cfg) - cfg->rpcs0;         /* number of RPC sends */
	int64_t nbytes = cfg_bytes_total(cfg) - cfg->bytes0; /* number of bytes */
	int ncmds = cfg->max_index - cfg->max_index0;       /* number of Raft agreements reported */
	pthread_mutex_unlock(&cfg->mu);
	printf("  ... Passed --");
	printf("  %4.1f  %d %4d %7lld %4d\n", t, npeers, nrpc, (long long)nbytes, ncmds);
}

/* Maximum log size across all servers */
int cfg_log_size(config *cfg)
{
	int logsize = 0;
	pthread_mutex_lock(&cfg->mu);
	for (int i = 0; i < cfg->n; i++) {
		int n = (int)persister_raft_state_size(cfg->saved[i]);
		if (n > logsize)
			logsize = n;
	}
	pthread_mutex_unlock(&cfg->mu);
	return logsize;
}
