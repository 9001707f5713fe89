/* server.c: the KVServer (server.go).
 *
 * Every Get, Put and Append goes through Raft: the handler starts the
 * operation (raft_start), then waits until the applier thread has applied
 * the entry at the index Raft gave it.  The applier alone changes the
 * key/value state, in log order, so every server goes through the same
 * states.  The handler answers OK only if the entry applied at its index
 * is its own operation (same client and seq): another one there means
 * that leader lost its term and the entry was replaced.  A handler also
 * gives up (ErrWrongLeader) when its server is no longer leader of the
 * term it started in, which it checks every POLL_MS: a leader cut off in
 * a minority may otherwise keep a client forever.
 *
 * Duplicates: the state holds, for each client, the highest seq applied.
 * A Put or Append whose seq is not above it has run already and is
 * skipped; the table is part of the state, so it is in every snapshot and
 * the same on every server.
 *
 * Snapshots: after each applied command, if Raft's saved state has reached
 * maxraftstate bytes, the applier encodes the state (the last applied
 * index, the key/value pairs, the duplicate table) and hands it to
 * raft_snapshot.  A snapshot from Raft (the leader's, through
 * InstallSnapshot) replaces the state when it is newer; one saved by an
 * earlier incarnation is read at start. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../raft_harness.h"
#include "../util.h"
#include "common.h"
#include "kvraft.h"

/* How often a waiting handler checks that its server still leads the
 * term it started in. */
#define POLL_MS 50

/* ---- the state machine's tables ---- */

/* A string that grows at its end (Append). */
typedef struct {
	char *s;
	size_t len, cap;
} kv_value;

typedef struct {
	char *key;
	kv_value value;
} kv_pair;

/* key -> value, open addressing with linear probing; never shrinks (the
 * service deletes no key). */
typedef struct {
	kv_pair *slots; /* key NULL: empty */
	size_t cap, len; /* cap a power of two, len < cap / 2 */
} kv_map;

/* client id -> the highest seq applied for it, laid out as kv_map. */
typedef struct {
	int64_t client_id;
	int64_t seq; /* 0: empty slot (clerks number their calls from 1) */
} dup_entry;

typedef struct {
	dup_entry *slots;
	size_t cap, len;
} dup_table;

static uint64_t hash_bytes(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

static uint64_t hash_id(int64_t id)
{
	uint64_t x = (uint64_t)id;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	return x ^ (x >> 33);
}

static void value_set(kv_value *v, const char *s, bool append)
{
	size_t n = strlen(s), len = append ? v->len : 0;
	if (len + n + 1 > v->cap) {
		v->cap = (len + n + 1) * 2;
		v->s = xrealloc(v->s, v->cap);
	}
	memcpy(v->s + len, s, n + 1);
	v->len = len + n;
}

static kv_pair *map_slot(const kv_map *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash_bytes(key) & mask;; i = (i + 1) & mask)
		if (m->slots[i].key == NULL || strcmp(m->slots[i].key, key) == 0)
			return &m->slots[i];
}

/* The value of key, or NULL. */
static const kv_value *map_get(const kv_map *m, const char *key)
{
	if (m->len == 0)
		return NULL;
	kv_pair *p = map_slot(m, key);
	return p->key ? &p->value : NULL;
}

static void map_grow(kv_map *m)
{
	kv_map bigger = { xcalloc(m->cap ? m->cap * 2 : 16, sizeof(kv_pair)),
			  m->cap ? m->cap * 2 : 16, m->len };
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			*map_slot(&bigger, m->slots[i].key) = m->slots[i];
	free(m->slots);
	*m = bigger;
}

/* The value of key, made empty first if the key is new. */
static kv_value *map_put(kv_map *m, const char *key)
{
	if ((m->len + 1) * 2 > m->cap)
		map_grow(m);
	kv_pair *p = map_slot(m, key);
	if (p->key == NULL) {
		p->key = xstrdup(key);
		p->value = (kv_value){ xstrdup(""), 0, 1 };
		m->len++;
	}
	return &p->value;
}

static void map_clear(kv_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].key);
		free(m->slots[i].value.s);
	}
	free(m->slots);
	*m = (kv_map){ 0 };
}

static dup_entry *dup_slot(const dup_table *t, int64_t client_id)
{
	size_t mask = t->cap - 1;
	for (size_t i = hash_id(client_id) & mask;; i = (i + 1) & mask)
		if (t->slots[i].seq == 0 || t->slots[i].client_id == client_id)
			return &t->slots[i];
}

/* The highest seq applied for the client, 0 if none. */
static int64_t dup_last(const dup_table *t, int64_t client_id)
{
	return t->len ? dup_slot(t, client_id)->seq : 0;
}

static void dup_set(dup_table *t, int64_t client_id, int64_t seq)
{
	if ((t->len + 1) * 2 > t->cap) {
		dup_table bigger = { xcalloc(t->cap ? t->cap * 2 : 16, sizeof(dup_entry)),
				     t->cap ? t->cap * 2 : 16, t->len };
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].seq)
				*dup_slot(&bigger, t->slots[i].client_id) = t->slots[i];
		free(t->slots);
		*t = bigger;
	}
	dup_entry *e = dup_slot(t, client_id);
	if (e->seq == 0)
		t->len++;
	*e = (dup_entry){ client_id, seq };
}

static void dup_clear(dup_table *t)
{
	free(t->slots);
	*t = (dup_table){ 0 };
}

/* ---- the server ---- */

/* Go's Op: what goes into the Raft log. */
typedef struct {
	kv_op_kind kind;
	const char *key, *value; /* value "" for Get */
	int64_t client_id, seq;
} Op;

/* A handler waiting for the entry at index to be applied. */
typedef struct waiter {
	int index, term;
	int64_t client_id, seq;
	bool done;
	Err err;           /* once done */
	char *value;       /* a Get's value once done (malloc'd) */
	pthread_cond_t cv;
	struct waiter *next;
} waiter;

struct KVServer {
	pthread_mutex_t mu; /* guards everything below but the marked fields */
	int me;
	Raft *rf;           /* set once */
	Chan *apply_ch;
	atomic_bool dead;   /* set by kvserver_kill */
	atomic_int refs;
	int maxraftstate;   /* snapshot if log grows this big */
	Persister *persister;
	pthread_t applier;

	kv_map data;
	dup_table dups;
	int last_applied;   /* the index the state has applied through */
	size_t applied_since_snapshot; /* command bytes applied since the last snapshot */
	waiter *waiters;

	/* kvserver_kill: the first caller does the work, the others wait
	 * for it (kill_cv, on mu): the lab's rule forbids holding a mutex
	 * across raft_kill's joins. */
	bool kill_started;       /* mu */
	bool killed;             /* mu */
	pthread_cond_t kill_cv;
};

static void encode_op(labgob_encoder *e, const Op *op)
{
	labgob_put_int(e, op->kind);
	kv_put_string(e, op->key);
	kv_put_string(e, op->value);
	labgob_put_int(e, op->client_id);
	labgob_put_int(e, op->seq);
}

/* The log holds only what encode_op wrote: anything else is a bug, so it
 * stops the server with the reason. */
static void decode_op(const uint8_t *p, size_t len, Op *op, char **key, char **value)
{
	labgob_decoder d;
	labgob_decoder_init(&d, p, len);
	int kind = 0;
	labgob_get_int(&d, &kind, OP_GET, OP_APPEND);
	*key = kv_get_string(&d);
	*value = kv_get_string(&d);
	labgob_get_int64(&d, &op->client_id);
	labgob_get_int64(&d, &op->seq);
	if (*key == NULL || *value == NULL || labgob_decoder_finish(&d) != LABGOB_OK) {
		fprintf(stderr, "kvraft: a log entry is not an Op: %s\n", labgob_strerror(d.err));
		abort();
	}
	op->kind = (kv_op_kind)kind;
	op->key = *key;
	op->value = *value;
}

/* The snapshot: the last applied index, the key/value pairs, the
 * duplicate table (mu held). */
static uint8_t *encode_snapshot(KVServer *kv, size_t *len)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, kv->last_applied);
	labgob_put_count(&e, kv->data.len);
	for (size_t i = 0; i < kv->data.cap; i++) {
		const kv_pair *p = &kv->data.slots[i];
		if (p->key) {
			kv_put_string(&e, p->key);
			kv_put_string(&e, p->value.s);
		}
	}
	labgob_put_count(&e, kv->dups.len);
	for (size_t i = 0; i < kv->dups.cap; i++) {
		const dup_entry *d = &kv->dups.slots[i];
		if (d->seq) {
			labgob_put_int(&e, d->client_id);
			labgob_put_int(&e, d->seq);
		}
	}
	return labgob_encoder_take(&e, len);
}

/* Replace the state with a snapshot's (mu held).  False, the state as it
 * was, when the bytes are not a snapshot. */
static bool restore_snapshot(KVServer *kv, const uint8_t *p, size_t len)
{
	labgob_decoder d;
	labgob_decoder_init(&d, p, len);
	int index;
	size_t npairs, ndups;
	kv_map data = { 0 };
	dup_table dups = { 0 };
	bool ok = labgob_get_int(&d, &index, 0, INT32_MAX) && labgob_get_count(&d, &npairs, 2);
	for (size_t i = 0; ok && i < npairs; i++) {
		char *key = kv_get_string(&d), *value = kv_get_string(&d);
		ok = key && value;
		if (ok)
			value_set(map_put(&data, key), value, false);
		free(key);
		free(value);
	}
	ok = ok && labgob_get_count(&d, &ndups, 2);
	for (size_t i = 0; ok && i < ndups; i++) {
		int64_t id, seq;
		ok = labgob_get_int64(&d, &id) && labgob_get_int64(&d, &seq) && seq > 0;
		if (ok)
			dup_set(&dups, id, seq);
	}
	if (!ok || labgob_decoder_finish(&d) != LABGOB_OK) {
		map_clear(&data);
		dup_clear(&dups);
		return false;
	}
	map_clear(&kv->data);
	dup_clear(&kv->dups);
	kv->data = data;
	kv->dups = dups;
	kv->last_applied = index;
	return true;
}

/* Finish every waiter whose index the state has passed: the one at index
 * gets err (and value), those below it lost their entry (mu held). */
static void finish_waiters(KVServer *kv, const Op *op, int index, Err err, const char *value)
{
	for (waiter *w = kv->waiters; w; w = w->next) {
		if (w->done || w->index > index)
			continue;
		bool mine = op && w->index == index && w->client_id == op->client_id &&
			    w->seq == op->seq;
		w->done = true;
		w->err = mine ? err : ErrWrongLeader;
		if (mine && value)
			w->value = xstrdup(value);
		pthread_cond_signal(&w->cv);
	}
}

/* Apply one committed operation (mu held).  A Put or Append that its
 * client's seq shows has run already is skipped; a Get always reads. */
static void apply_op(KVServer *kv, const Op *op, int index)
{
	bool fresh = op->seq > dup_last(&kv->dups, op->client_id);
	Err err = OK;
	const char *value = NULL;
	if (op->kind == OP_GET) {
		const kv_value *v = map_get(&kv->data, op->key);
		err = v ? OK : ErrNoKey;
		value = v ? v->s : "";
	} else if (fresh) {
		value_set(map_put(&kv->data, op->key), op->value, op->kind == OP_APPEND);
	}
	if (fresh)
		dup_set(&kv->dups, op->client_id, op->seq);
	kv->last_applied = index;
	finish_waiters(kv, op, index, err, value);
}

/* Raft's saved state has reached maxraftstate, and enough has been
 * applied since the last snapshot for a new one to shrink it: the state
 * also holds entries not yet applied, which no snapshot can take, and an
 * applier that snapshotted after every entry while such a tail lasts would
 * fall further behind (each snapshot encodes every value). */
static bool wants_snapshot(KVServer *kv)
{
	return kv->maxraftstate >= 0 &&
	       persister_raft_state_size(kv->persister) >= (size_t)kv->maxraftstate &&
	       kv->applied_since_snapshot >= (size_t)kv->maxraftstate / 4;
}

static void apply_command(KVServer *kv, const ApplyMsg *m)
{
	Op op;
	char *key, *value;
	decode_op(m->command, m->command_len, &op, &key, &value);
	uint8_t *snap = NULL;
	size_t len = 0;
	pthread_mutex_lock(&kv->mu);
	if (m->command_index > kv->last_applied) {
		apply_op(kv, &op, m->command_index);
		kv->applied_since_snapshot += m->command_len;
		if (wants_snapshot(kv)) {
			snap = encode_snapshot(kv, &len);
			kv->applied_since_snapshot = 0;
		}
	}
	pthread_mutex_unlock(&kv->mu);
	free(key);
	free(value);
	if (snap) {
		raft_snapshot(kv->rf, m->command_index, snap, len);
		free(snap);
	}
}

static void apply_snapshot(KVServer *kv, const ApplyMsg *m)
{
	pthread_mutex_lock(&kv->mu);
	if (m->snapshot_index > kv->last_applied) {
		if (!restore_snapshot(kv, m->snapshot, m->snapshot_len)) {
			fprintf(stderr, "kvraft: S%d: the snapshot at %d does not decode\n", kv->me,
				m->snapshot_index);
			abort();
		}
		kv->last_applied = m->snapshot_index;
		kv->applied_since_snapshot = 0;
		finish_waiters(kv, NULL, kv->last_applied, ErrWrongLeader, NULL);
	}
	pthread_mutex_unlock(&kv->mu);
}

static void *applier_main(void *arg)
{
	KVServer *kv = arg;
	ApplyMsg m;
	while (chan_recv(kv->apply_ch, &m)) {
		if (m.command_valid)
			apply_command(kv, &m);
		else if (m.snapshot_valid)
			apply_snapshot(kv, &m);
		apply_msg_free(&m);
	}
	return NULL;
}

/* Start op in Raft and wait until it is applied, the server stops leading
 * the term, or the server is killed.  *value gets a Get's value. */
static Err submit(KVServer *kv, const Op *op, char **value)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_op(&e, op);
	waiter w = { .client_id = op->client_id, .seq = op->seq };
	cond_init_monotonic(&w.cv);
	/* mu is held from Start on, so the applier cannot pass the index
	 * before the waiter is in the list. */
	pthread_mutex_lock(&kv->mu);
	bool leader = !atomic_load(&kv->dead) &&
		      raft_start(kv->rf, e.buf, e.len, &w.index, &w.term);
	labgob_encoder_free(&e);
	if (!leader) {
		pthread_mutex_unlock(&kv->mu);
		pthread_cond_destroy(&w.cv);
		return ErrWrongLeader;
	}
	w.next = kv->waiters;
	kv->waiters = &w;
	while (!w.done && !atomic_load(&kv->dead)) {
		struct timespec ts;
		deadline_after_ms(&ts, POLL_MS);
		if (pthread_cond_timedwait(&w.cv, &kv->mu, &ts) != 0 && !w.done) {
			int term;
			if (!raft_get_state(kv->rf, &term) || term != w.term)
				break;
		}
	}
	for (waiter **pp = &kv->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == &w) {
			*pp = w.next;
			break;
		}
	}
	pthread_mutex_unlock(&kv->mu);
	pthread_cond_destroy(&w.cv);
	if (!w.done)
		return ErrWrongLeader;
	*value = w.value;
	return w.err;
}

static int kv_get(void *rcvr, labgob_decoder *d, labgob_encoder *out)
{
	KVServer *kv = rcvr;
	GetArgs args;
	if (!decode_get_args(d, &args))
		return -1;
	Op op = { OP_GET, args.key, "", args.client_id, args.seq };
	GetReply reply = { .value = NULL };
	reply.err = submit(kv, &op, &reply.value);
	encode_get_reply(out, &reply);
	free(reply.value);
	get_args_free(&args);
	return 0;
}

static int kv_put_append(void *rcvr, labgob_decoder *d, labgob_encoder *out)
{
	KVServer *kv = rcvr;
	PutAppendArgs args;
	if (!decode_put_append_args(d, &args))
		return -1;
	Op op = { args.op, args.key, args.value, args.client_id, args.seq };
	char *value = NULL;
	PutAppendReply reply = { submit(kv, &op, &value) };
	free(value);
	encode_put_append_reply(out, &reply);
	put_append_args_free(&args);
	return 0;
}

static const labrpc_method kv_methods[] = {
	{ "Get", kv_get },
	{ "PutAppend", kv_put_append },
};

static void release_service(void *rcvr)
{
	kvserver_release(rcvr);
}

labrpc_service *kvserver_service(KVServer *kv)
{
	atomic_fetch_add(&kv->refs, 1);
	/* Not inline: the handlers wait for Raft. */
	return labrpc_make_service("KVServer", kv, kv_methods,
				   sizeof kv_methods / sizeof kv_methods[0], release_service);
}

Raft *kvserver_raft(KVServer *kv)
{
	return kv->rf;
}

KVServer *kvserver_start(labrpc_end *const *servers, int n, int me, Persister *persister,
			 int maxraftstate, uint64_t seed, char *err, size_t errlen)
{
	KVServer *kv = xcalloc(1, sizeof *kv);
	pthread_mutex_init(&kv->mu, NULL);
	pthread_cond_init(&kv->kill_cv, NULL);
	atomic_init(&kv->dead, false);
	atomic_init(&kv->refs, 1);
	kv->me = me;
	kv->maxraftstate = maxraftstate;
	kv->persister = persister;
	persister_retain(persister);

	size_t len;
	uint8_t *snap = persister_read_snapshot(persister, &len);
	bool ok = len == 0 || restore_snapshot(kv, snap, len);
	free(snap);
	if (!ok) {
		snprintf(err, errlen, "kvraft: S%d: the saved snapshot does not decode", me);
		goto err_after_init;
	}

	kv->apply_ch = chan_make(sizeof(ApplyMsg));
	kv->rf = raft_make(servers, n, me, persister, kv->apply_ch, seed, err, errlen);
	if (kv->rf == NULL)
		goto err_after_chan;
	if (pthread_create(&kv->applier, NULL, applier_main, kv) != 0) {
		snprintf(err, errlen, "kvraft: S%d: cannot start the applier thread", me);
		raft_kill(kv->rf);
		raft_release(kv->rf);
		goto err_after_chan;
	}
	return kv;

err_after_chan:
	chan_free(kv->apply_ch);
err_after_init:
	map_clear(&kv->data);
	dup_clear(&kv->dups);
	persister_release(persister);
	pthread_mutex_destroy(&kv->mu);
	pthread_cond_destroy(&kv->kill_cv);
	free(kv);
	return NULL;
}

void kvserver_kill(KVServer *kv)
{
	pthread_mutex_lock(&kv->mu);
	if (kv->kill_started) {
		/* Another Kill is under way: return once it is done. */
		while (!kv->killed)
			pthread_cond_wait(&kv->kill_cv, &kv->mu);
		pthread_mutex_unlock(&kv->mu);
		return;
	}
	kv->kill_started = true;
	pthread_mutex_unlock(&kv->mu);

	atomic_store(&kv->dead, true);
	raft_kill(kv->rf); /* nothing more comes on apply_ch */
	chan_close(kv->apply_ch);
	pthread_join(kv->applier, NULL);

	pthread_mutex_lock(&kv->mu);
	for (waiter *w = kv->waiters; w; w = w->next)
		pthread_cond_signal(&w->cv);
	kv->killed = true;
	pthread_cond_broadcast(&kv->kill_cv);
	pthread_mutex_unlock(&kv->mu);
}

void kvserver_release(KVServer *kv)
{
	if (kv == NULL || atomic_fetch_sub(&kv->refs, 1) != 1)
		return;
	kvserver_kill(kv);
	/* No handler is left: the service held a reference. */
	raft_release(kv->rf);
	chan_free(kv->apply_ch);
	map_clear(&kv->data);
	dup_clear(&kv->dups);
	persister_release(kv->persister);
	pthread_mutex_destroy(&kv->mu);
	pthread_cond_destroy(&kv->kill_cv);
	free(kv);
}
