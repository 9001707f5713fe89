/* bench.c: throughput and latency of our Raft on our labrpc (make bench).
 *
 * The workload, kept exactly so to compare with the Go lab's figures:
 * N peers on a reliable network with long delays on, each with a counter
 * service reading its apply channel (count += 1, sum += command; every 100
 * applied commands it calls Snapshot(index, its 16-byte state); a snapshot
 * message sets its applied index).  Once a leader is elected, W closed-loop
 * clients each Start a unique 8-byte command on the leader and wait until
 * a majority of services have applied that index.  Latency is from Start
 * to majority applied.
 *
 * Clients wait the way a lab 3 key/value server's handlers do: each waits
 * on its own condition variable for its own index, and the service that
 * moves the majority-applied index wakes exactly the clients whose index
 * it has now reached (a heap of waiting clients ordered by index), never
 * all of them.
 *
 *   bench                                   the table: N in {3,5} x W in {1,8,64}, 5 s each
 *   bench --seconds S --peers N --clients W one row */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../chan.h"
#include "../labgob/labgob.h"
#include "../labrpc/labrpc.h"
#include "../persister.h"
#include "../raft_harness.h"
#include "../util.h"

#define SNAPSHOT_EVERY 100
#define MAX_PEERS 7

typedef struct bench bench;
typedef struct client client;

typedef struct {
	bench *b;
	int id;
	Raft *rf;
	Chan *ch;
	pthread_t tid;
	int64_t count, sum; /* the service's state */
} service;

struct bench {
	int npeers, nclients;
	labrpc_net *net;
	service svc[MAX_PEERS];
	Persister *ps[MAX_PEERS];

	pthread_mutex_t mu;          /* guards applied[], majority, waiting */
	int applied[MAX_PEERS];
	int majority;                /* highest index a majority has applied */
	client **waiting;            /* a min-heap on wait_index */
	int nwaiting;

	atomic_bool stop;
	atomic_int leader;
	int64_t *lat_us;             /* latencies, per client arrays joined */
	atomic_long ops;
};

/* A client of the service: Start, then wait for its own index. */
struct client {
	bench *b;
	int id;
	int wait_index;              /* under b->mu: the index it waits for */
	pthread_mutex_t mu;          /* guards woken and applied, so that a */
	pthread_cond_t cv;           /* wake-up never waits for b->mu */
	bool woken;                  /* its index was applied, or the run ended */
	bool applied;                /* its index was applied */
	int64_t *lat;
	size_t n, cap;
};

/* ---- the waiting clients, a min-heap on wait_index (b->mu held) ---- */

static bool waits_before(client *x, client *y)
{
	return x->wait_index < y->wait_index;
}

static void heap_swap(bench *b, int i, int j)
{
	client *t = b->waiting[i];
	b->waiting[i] = b->waiting[j];
	b->waiting[j] = t;
}

static void heap_push(bench *b, client *c)
{
	int i = b->nwaiting++;
	b->waiting[i] = c;
	while (i > 0 && waits_before(b->waiting[i], b->waiting[(i - 1) / 2])) {
		heap_swap(b, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static client *heap_pop(bench *b)
{
	client *top = b->waiting[0];
	b->waiting[0] = b->waiting[--b->nwaiting];
	for (int i = 0;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < b->nwaiting && waits_before(b->waiting[l], b->waiting[m]))
			m = l;
		if (r < b->nwaiting && waits_before(b->waiting[r], b->waiting[m]))
			m = r;
		if (m == i)
			break;
		heap_swap(b, i, m);
		i = m;
	}
	return top;
}

/* Take off the heap every client whose index a majority has now applied
 * (b->mu held); they are woken once the lock is released. */
static int pop_reached(bench *b, client **reached)
{
	int n = 0;
	while (b->nwaiting > 0 && b->waiting[0]->wait_index <= b->majority)
		reached[n++] = heap_pop(b);
	return n;
}

/* Signalled after the unlock, so that the client does not wake into a
 * mutex we still hold; its condition variable lives as long as it does. */
static void wake(client *c, bool applied)
{
	pthread_mutex_lock(&c->mu);
	c->woken = true;
	c->applied = applied;
	pthread_mutex_unlock(&c->mu);
	pthread_cond_signal(&c->cv);
}

/* The highest index that a majority of services have applied: the
 * (N/2+1)-th largest of applied[]. */
static int majority_applied(const bench *b)
{
	int sorted[MAX_PEERS];
	for (int i = 0; i < b->npeers; i++) {
		int v = b->applied[i], j = i;
		for (; j > 0 && sorted[j - 1] < v; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = v;
	}
	return sorted[b->npeers / 2];
}

/* A service applied index: move the majority index, wake exactly the
 * clients it reached. */
static void note_applied(bench *b, int peer, int index)
{
	client *reached[b->nclients > 0 ? b->nclients : 1];
	int n = 0;
	pthread_mutex_lock(&b->mu);
	if (index > b->applied[peer]) {
		b->applied[peer] = index;
		int maj = majority_applied(b);
		if (maj > b->majority) {
			b->majority = maj;
			n = pop_reached(b, reached);
		}
	}
	pthread_mutex_unlock(&b->mu);
	for (int i = 0; i < n; i++)
		wake(reached[i], true);
}

/* Wait until a majority has applied index, or the run stops; true when
 * it was applied. */
static bool wait_applied(client *c, int index)
{
	bench *b = c->b;
	pthread_mutex_lock(&b->mu);
	bool done = b->majority >= index, wait = !done && !atomic_load(&b->stop);
	if (wait) {
		c->wait_index = index;
		c->woken = false;
		heap_push(b, c);
	}
	pthread_mutex_unlock(&b->mu);
	if (wait) {
		pthread_mutex_lock(&c->mu);
		while (!c->woken)
			pthread_cond_wait(&c->cv, &c->mu);
		done = c->applied;
		pthread_mutex_unlock(&c->mu);
	}
	return done;
}

/* The run is over: wake every client still waiting. */
static void wake_all_clients(bench *b)
{
	client *reached[b->nclients > 0 ? b->nclients : 1];
	pthread_mutex_lock(&b->mu);
	int n = 0;
	while (b->nwaiting > 0)
		reached[n++] = heap_pop(b);
	pthread_mutex_unlock(&b->mu);
	for (int i = 0; i < n; i++)
		wake(reached[i], false);
}

static void *service_main(void *arg)
{
	service *s = arg;
	ApplyMsg m;
	while (chan_recv(s->ch, &m)) {
		if (m.command_valid) {
			labgob_decoder d;
			labgob_decoder_init(&d, m.command, m.command_len);
			int64_t v = 0;
			labgob_get_int64(&d, &v);
			s->count++;
			s->sum += v;
			if (m.command_index % SNAPSHOT_EVERY == 0) {
				uint8_t state[16];
				memcpy(state, &s->count, 8);
				memcpy(state + 8, &s->sum, 8);
				raft_snapshot(s->rf, m.command_index, state, sizeof state);
			}
			note_applied(s->b, s->id, m.command_index);
		} else if (m.snapshot_valid && m.snapshot_len == 16) {
			memcpy(&s->count, m.snapshot, 8);
			memcpy(&s->sum, m.snapshot + 8, 8);
			note_applied(s->b, s->id, m.snapshot_index);
		}
		apply_msg_free(&m);
	}
	return NULL;
}

static void start_cluster(bench *b, uint64_t seed)
{
	b->net = labrpc_make_network(seed);
	labrpc_reliable(b->net, true);
	labrpc_long_delays(b->net, true);
	char name[64], srv[16];
	for (int i = 0; i < b->npeers; i++) {
		labrpc_end *ends[MAX_PEERS];
		for (int j = 0; j < b->npeers; j++) {
			snprintf(name, sizeof name, "end-%d-%d", i, j);
			snprintf(srv, sizeof srv, "%d", j);
			ends[j] = labrpc_make_end(b->net, name);
			labrpc_connect(b->net, name, srv);
			labrpc_enable(b->net, name, true);
		}
		service *s = &b->svc[i];
		s->b = b;
		s->id = i;
		s->ch = chan_make(sizeof(ApplyMsg));
		b->ps[i] = persister_make();
		char err[256];
		s->rf = raft_make(ends, b->npeers, i, b->ps[i], s->ch, seed + (uint64_t)i * 7919,
				  err, sizeof err);
		if (s->rf == NULL) { /* a fresh persister: cannot happen */
			fprintf(stderr, "bench: S%d: %s\n", i, err);
			exit(1);
		}
		pthread_create(&s->tid, NULL, service_main, s);
		labrpc_server *server = labrpc_make_server();
		labrpc_server_add_service(server, raft_service(s->rf));
		snprintf(srv, sizeof srv, "%d", i);
		labrpc_add_server(b->net, srv, server);
	}
}

static void stop_cluster(bench *b)
{
	for (int i = 0; i < b->npeers; i++)
		raft_kill(b->svc[i].rf);
	labrpc_cleanup(b->net);
	for (int i = 0; i < b->npeers; i++) {
		chan_close(b->svc[i].ch);
		pthread_join(b->svc[i].tid, NULL);
		chan_free(b->svc[i].ch);
		raft_release(b->svc[i].rf);
		persister_release(b->ps[i]);
	}
	labrpc_free(b->net);
}

static int find_leader(bench *b)
{
	for (;;) {
		for (int i = 0; i < b->npeers; i++) {
			int term;
			if (raft_get_state(b->svc[i].rf, &term))
				return i;
		}
		sleep_ms(10);
	}
}

static void *client_main(void *arg)
{
	client *c = arg;
	bench *b = c->b;
	for (int64_t seq = 1; !atomic_load(&b->stop); seq++) {
		labgob_encoder e;
		labgob_encoder_init(&e);
		labgob_put_int(&e, ((int64_t)c->id << 40) | seq);
		int index, term;
		int64_t t0 = now_us();
		bool ok = raft_start(b->svc[atomic_load(&b->leader)].rf, e.buf, e.len, &index, &term);
		labgob_encoder_free(&e);
		if (!ok) {
			atomic_store(&b->leader, find_leader(b));
			continue;
		}
		if (!wait_applied(c, index))
			break;
		if (c->n == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 1024;
			c->lat = xrealloc(c->lat, c->cap * sizeof *c->lat);
		}
		c->lat[c->n++] = now_us() - t0;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void run_row(int npeers, int nclients, double seconds)
{
	bench b;
	memset(&b, 0, sizeof b);
	b.npeers = npeers;
	b.nclients = nclients;
	pthread_mutex_init(&b.mu, NULL);
	start_cluster(&b, random_seed());
	atomic_store(&b.leader, find_leader(&b));

	client *cl = xcalloc((size_t)nclients, sizeof *cl);
	b.waiting = xcalloc((size_t)nclients, sizeof *b.waiting);
	pthread_t *th = xcalloc((size_t)nclients, sizeof *th);
	int rpc0 = labrpc_total_count(b.net);
	int64_t bytes0 = labrpc_total_bytes(b.net);
	double cpu0 = cpu_ms();
	int64_t t0 = now_us();
	for (int i = 0; i < nclients; i++) {
		cl[i] = (client){ .b = &b, .id = i + 1 };
		pthread_mutex_init(&cl[i].mu, NULL);
		pthread_cond_init(&cl[i].cv, NULL);
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	sleep_ms((int64_t)(seconds * 1000));
	atomic_store(&b.stop, true);
	wake_all_clients(&b);
	for (int i = 0; i < nclients; i++)
		pthread_join(th[i], NULL);
	double elapsed = (double)(now_us() - t0) / 1e6;
	double cpu = cpu_ms() - cpu0;
	int rpcs = labrpc_total_count(b.net) - rpc0;
	int64_t bytes = labrpc_total_bytes(b.net) - bytes0;

	size_t n = 0;
	for (int i = 0; i < nclients; i++)
		n += cl[i].n;
	int64_t *all = xcalloc(n ? n : 1, sizeof *all);
	size_t k = 0;
	for (int i = 0; i < nclients; i++) {
		memcpy(all + k, cl[i].lat, cl[i].n * sizeof *all);
		k += cl[i].n;
		free(cl[i].lat);
		pthread_cond_destroy(&cl[i].cv);
		pthread_mutex_destroy(&cl[i].mu);
	}
	qsort(all, n, sizeof *all, cmp_i64);
	int64_t p50 = n ? all[n / 2] : 0, p99 = n ? all[(n * 99) / 100] : 0;
	printf("| %d | %d | %zu | %.0f | %" PRId64 " | %" PRId64 " | %.2f | %.0f | %.0f |\n", npeers,
	       nclients, n, (double)n / elapsed, p50, p99, n ? (double)rpcs / (double)n : 0.0,
	       n ? (double)bytes / (double)n : 0.0, n ? cpu * 1000.0 / (double)n : 0.0);
	fflush(stdout);
	free(all);
	free(cl);
	free(th);
	free(b.waiting);
	stop_cluster(&b);
	pthread_mutex_destroy(&b.mu);
}

static const char bench_usage[] =
	"usage: bench [--seconds S] [--peers N] [--clients W]\n"
	"  --seconds S   seconds per row, more than 0 (5)\n"
	"  --peers N     only rows with N peers, 1..%d (default: 3 and 5)\n"
	"  --clients W   only rows with W clients, 1 or more (default: 1, 8 and 64)\n";

/* A refused argument: say why, and exit 2. */
static void bench_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bench_refuse(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fprintf(stderr, bench_usage, MAX_PEERS);
	exit(2);
}

/* --seconds, --peers, --clients, strictly: a flag without its value, an
 * unknown flag, a value that is not all a number or out of range is
 * refused.  0 for peers or clients means every row. */
static void parse_args(int argc, char **argv, double *seconds, int *peers, int *clients)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf(bench_usage, MAX_PEERS);
			exit(0);
		}
		bool is_s = strcmp(a, "--seconds") == 0, is_p = strcmp(a, "--peers") == 0,
		     is_c = strcmp(a, "--clients") == 0;
		if (!is_s && !is_p && !is_c)
			bench_refuse("unknown argument '%s'", a);
		if (v == NULL)
			bench_refuse("%s needs a value", a);
		i++;
		char *end;
		if (is_s) {
			*seconds = strtod(v, &end);
			if (end == v || *end != '\0' || !(*seconds > 0 && *seconds <= 3600))
				bench_refuse("%s wants seconds, more than 0 and at most 3600, not '%s'", a, v);
			continue;
		}
		long n = v[0] >= '0' && v[0] <= '9' ? strtol(v, &end, 10) : -1;
		if (n < 0 || *end != '\0')
			bench_refuse("%s wants a whole number, not '%s'", a, v);
		if (is_p && (n < 1 || n > MAX_PEERS))
			bench_refuse("--peers must be 1..%d (got %s)", MAX_PEERS, v);
		if (is_c && (n < 1 || n > 4096))
			bench_refuse("--clients must be 1..4096 (got %s)", v);
		*(is_p ? peers : clients) = (int)n;
	}
}

int main(int argc, char **argv)
{
	double seconds = 5;
	int peers = 0, clients = 0;
	parse_args(argc, argv, &seconds, &peers, &clients);
	printf("| peers | clients | ops | ops/s | p50 µs | p99 µs | RPCs/op | bytes/op | CPU ms per 1000 ops |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	static const int all_peers[] = { 3, 5 }, all_clients[] = { 1, 8, 64 };
	for (int a = 0; a < 2; a++)
		for (int c = 0; c < 3; c++)
			if ((!peers || peers == all_peers[a]) && (!clients || clients == all_clients[c]))
				run_row(all_peers[a], all_clients[c], seconds);
	if ((peers && peers != 3 && peers != 5) || (clients && clients != 1 && clients != 8 && clients != 64))
		run_row(peers ? peers : 3, clients ? clients : 1, seconds);
	return 0;
}
