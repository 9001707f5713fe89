/* raftsim.c: watch a cluster of our real Raft peers live, with faults, and
 * check that it stays safe (make run).
 *
 * The cluster is the tester's (labtest/config.c): real raft.c peers on
 * labrpc with persisters, each with the tester's snapshot applier, which
 * already checks that every peer applies the same command at every index.
 * Clients submit commands; a nemesis partitions, heals, crashes and
 * restarts peers, its choices drawn from the seed.  At the end everything
 * is healed, the peers must converge, and the verdict checks: at most one
 * leader per term, the same command at every index on every peer, and no
 * acknowledged command lost.  Any violation exits 1, naming peers, index
 * and term.  A Raft that is not finished (a student's tree with 2A only)
 * cannot converge, which is no violation: the verdict says what is
 * missing ("UNFINISHED: no command committed: is 2B done?") and the exit
 * status is 3. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../labtest/config.h"

typedef struct {
	int peers, seconds, clients, snapshot_every;
	bool reliable, crash, inject_violation;
	uint64_t seed;
	const char *html;
} options;

#define EVENTS_SHOWN 6

/* What the watcher saw: a leader per term, elections, and violations. */
typedef struct {
	pthread_mutex_t mu;
	int *leader_of_term;  /* -1: none seen; grows with the term */
	int nterms;
	int elections;
	char violation[512];
	/* The latest events for the live view: nemesis actions and new
	 * leaders, oldest first in the ring; nevents counts all ever seen. */
	char events[EVENTS_SHOWN][64];
	long nevents;
} watch;

typedef struct sim {
	options opt;
	config *cfg;
	watch w;
	atomic_bool stop;
	prng nemesis_rng;
	/* acknowledged commands: committed with the value the client gave */
	pthread_mutex_t ack_mu;
	int64_t *acked;
	int nacked, acked_cap;
	atomic_long committed;
	int64_t t0_us;
} sim;

static const char usage_text[] =
	"usage: raftsim [--peers N] [--seconds S] [--seed X] [--reliable] [--no-crash]\n"
	"               [--clients C] [--snapshot-every K] [--html FILE]\n"
	"\n"
	"  --peers N           peers in the cluster, 1..9 (5)\n"
	"  --seconds S         how long the clients and the nemesis run, 1..86400 (30)\n"
	"  --seed X            the seed of the network's and the nemesis' choices\n"
	"  --reliable          a reliable network (default: unreliable)\n"
	"  --no-crash          the nemesis partitions but never crashes peers\n"
	"  --clients C         clients submitting commands, 0..64 (3)\n"
	"  --snapshot-every K  each peer's service snapshots every K entries, 2..100000 (10)\n"
	"  --html FILE         also write the run's timeline page to FILE\n"
	"\n"
	"Exit status: 0 OK; 1 a safety VIOLATION; 2 a refused argument; 3 UNFINISHED\n"
	"(the peers never agreed on a final command: the verdict says which part is missing).\n";

/* A refused argument: say why, and exit 2. */
static void refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void refuse(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "raftsim: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n%s", usage_text);
	va_end(ap);
	exit(2);
}

/* v as a whole decimal number in [min, max], or refuse it. */
static uint64_t number_arg(const char *flag, const char *v, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long n = v[0] >= '0' && v[0] <= '9' ? strtoull(v, &end, 10) : 0;
	if (v[0] < '0' || v[0] > '9' || errno != 0 || *end != '\0')
		refuse("%s wants a whole number, not '%s'", flag, v);
	if (n < min || n > max)
		refuse("%s must be %llu..%llu (got %s)", flag, (unsigned long long)min,
		       (unsigned long long)max, v);
	return n;
}

static options parse_options(int argc, char **argv)
{
	options o = { .peers = 5, .seconds = 30, .clients = 3, .snapshot_every = 10,
		      .crash = true, .seed = random_seed() % 1000000 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf("%s", usage_text);
			exit(0);
		} else if (strcmp(a, "--reliable") == 0) {
			o.reliable = true;
		} else if (strcmp(a, "--no-crash") == 0) {
			o.crash = false;
		} else if (strcmp(a, "--inject-violation") == 0) {
			o.inject_violation = true; /* for the tests of the checker */
		} else if (strcmp(a, "--peers") && strcmp(a, "--seconds") && strcmp(a, "--seed") &&
			   strcmp(a, "--clients") && strcmp(a, "--snapshot-every") &&
			   strcmp(a, "--html")) {
			refuse("unknown argument '%s'", a);
		} else if (i + 1 >= argc) {
			refuse("%s needs a value", a);
		} else {
			const char *v = argv[++i];
			if (strcmp(a, "--peers") == 0)
				o.peers = (int)number_arg(a, v, 1, 9);
			else if (strcmp(a, "--seconds") == 0)
				o.seconds = (int)number_arg(a, v, 1, 86400);
			else if (strcmp(a, "--seed") == 0)
				o.seed = number_arg(a, v, 0, UINT64_MAX);
			else if (strcmp(a, "--clients") == 0)
				o.clients = (int)number_arg(a, v, 0, 64);
			else if (strcmp(a, "--snapshot-every") == 0)
				o.snapshot_every = (int)number_arg(a, v, 2, 100000);
			else
				o.html = v;
		}
	}
	return o;
}

static void violation(sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(sim *s, const char *fmt, ...)
{
	pthread_mutex_lock(&s->w.mu);
	if (s->w.violation[0] == '\0') {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->w.violation, sizeof s->w.violation, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->w.mu);
}

/* An event for the live view ("partition S2", "S1 leads T5"), with its
 * time.  A nemesis action also goes into the debug log, where the
 * timeline page marks it. */
static void note_event(sim *s, bool nemesis, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note_event(sim *s, bool nemesis, const char *fmt, ...)
{
	char what[48];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (nemesis)
		Debug(dTest, "nemesis: %s", what);
	double t = (double)(now_us() - s->t0_us) / 1e6;
	pthread_mutex_lock(&s->w.mu);
	snprintf(s->w.events[s->w.nevents % EVENTS_SHOWN], sizeof s->w.events[0], "%6.1fs  %s",
		 t, what);
	s->w.nevents++;
	pthread_mutex_unlock(&s->w.mu);
}

/* Record that peer claims leadership of term: two claimants is a violation. */
static void saw_leader(sim *s, int peer, int term)
{
	watch *w = &s->w;
	pthread_mutex_lock(&w->mu);
	if (term >= w->nterms) {
		int n = term + 64;
		w->leader_of_term = xrealloc(w->leader_of_term, (size_t)n * sizeof(int));
		for (int t = w->nterms; t < n; t++)
			w->leader_of_term[t] = -1;
		w->nterms = n;
	}
	int other = w->leader_of_term[term];
	if (other == -1) {
		w->leader_of_term[term] = peer;
		w->elections++;
	}
	pthread_mutex_unlock(&w->mu);
	if (other == -1)
		note_event(s, false, "S%d leads T%d", peer, term);
	if (other != -1 && other != peer)
		violation(s, "two leaders in term %d: S%d and S%d", term, other, peer);
}

/* ---- the live view ---- */

/* An index for the table: -1 (a Raft that does not say) shows as "-". */
static const char *fmt_index(char *buf, size_t n, int v)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%d", v);
	return buf;
}

/* The events after *shown (all of the last EVENTS_SHOWN on a terminal),
 * oldest first. */
static void draw_events(sim *s, bool tty, long *shown)
{
	pthread_mutex_lock(&s->w.mu);
	long from = s->w.nevents - EVENTS_SHOWN;
	if (from < 0)
		from = 0;
	if (!tty && from < *shown)
		from = *shown;
	if (tty)
		printf("\nlatest events:\n");
	for (long k = from; k < s->w.nevents; k++)
		printf("  %s\n", s->w.events[k % EVENTS_SHOWN]);
	*shown = s->w.nevents;
	pthread_mutex_unlock(&s->w.mu);
}

static void draw(sim *s, bool tty)
{
	config *cfg = s->cfg;
	double t = (double)(now_us() - s->t0_us) / 1e6;
	if (t > s->opt.seconds)
		t = s->opt.seconds; /* the run is over; what follows is the ending */
	static long events_shown;
	char b1[16], b2[16], b3[16], b4[16];
	if (tty)
		printf("\033[H\033[J");
	else
		printf("[%5.1fs]", t);
	if (tty)
		printf("raftsim  seed %llu  %d peers  %s network%s  t=%.1fs/%ds\n\n",
		       (unsigned long long)s->opt.seed, s->opt.peers,
		       s->opt.reliable ? "reliable" : "unreliable", s->opt.crash ? ", crashes" : "", t,
		       s->opt.seconds);
	if (tty)
		printf("peer  role       term   log (base..last]   commit  applied  net\n");
	int leader = -1, lterm = -1;
	for (int i = 0; i < cfg->n; i++) {
		pthread_mutex_lock(&cfg->mu);
		Raft *rf = cfg->rafts[i];
		if (rf)
			raft_retain(rf);
		bool connected = cfg->connected[i];
		pthread_mutex_unlock(&cfg->mu);
		if (!rf) {
			printf(tty ? "S%-3d  %-9s\n" : " S%d:%s", i, "crashed");
			continue;
		}
		raft_status st;
		raft_get_status(rf, &st);
		raft_release(rf);
		if (strcmp(st.role, "leader") == 0 && connected && st.term > lterm)
			leader = i, lterm = st.term;
		if (tty)
			printf("S%-3d  %-9s  %4d   (%5s..%5s]     %6s  %7s  %s\n", i, st.role, st.term,
			       fmt_index(b1, sizeof b1, st.base_index),
			       fmt_index(b2, sizeof b2, st.last_index),
			       fmt_index(b3, sizeof b3, st.commit_index),
			       fmt_index(b4, sizeof b4, st.last_applied),
			       connected ? "connected" : "CUT OFF");
		else
			printf(" S%d:%c/T%d/c%s%s", i, st.role[0], st.term,
			       fmt_index(b3, sizeof b3, st.commit_index), connected ? "" : "/cut");
	}
	long committed = atomic_load(&s->committed);
	pthread_mutex_lock(&s->w.mu);
	int elections = s->w.elections;
	pthread_mutex_unlock(&s->w.mu);
	char who[16] = "none";
	if (leader >= 0)
		snprintf(who, sizeof who, "S%d", leader);
	if (tty)
		printf("\nleader: %s   elections seen: %d   commands committed: %ld (%.0f/s)\n", who,
		       elections, committed, t > 0 ? (double)committed / t : 0.0);
	else
		printf("  leader %s elections %d committed %ld\n", who, elections, committed);
	draw_events(s, tty, &events_shown);
	fflush(stdout);
}

/* Polls every peer often: the leader-per-term check, and the view. */
static void *watcher_main(void *arg)
{
	sim *s = arg;
	bool tty = isatty(STDOUT_FILENO);
	int64_t next_draw = 0;
	while (!atomic_load(&s->stop)) {
		for (int i = 0; i < s->cfg->n; i++) {
			pthread_mutex_lock(&s->cfg->mu);
			Raft *rf = s->cfg->rafts[i];
			if (rf)
				raft_retain(rf);
			pthread_mutex_unlock(&s->cfg->mu);
			if (!rf)
				continue;
			int term;
			if (raft_get_state(rf, &term))
				saw_leader(s, i, term);
			raft_release(rf);
		}
		if (now_ms() >= next_draw) {
			draw(s, tty);
			next_draw = now_ms() + (tty ? 250 : 1000);
		}
		sleep_ms(10);
	}
	return NULL;
}

/* ---- clients ---- */

/* Start cmd on the first peer that accepts it as leader: its index, or -1. */
static int start_on_leader(config *cfg, cmd_t cmd)
{
	for (int i = 0; i < cfg->n; i++) {
		int idx;
		bool leader;
		if (cfg_start_on(cfg, i, cmd, &idx, NULL, &leader) && leader)
			return idx;
	}
	return -1;
}

static void *client_main(void *arg)
{
	sim *s = arg;
	config *cfg = s->cfg;
	while (!atomic_load(&s->stop)) {
		int64_t x = cfg_rand(cfg);
		cmd_t cmd = cmd_int(x);
		int index = start_on_leader(cfg, cmd);
		if (index < 0) {
			cmd_free(&cmd);
			sleep_ms(50);
			continue;
		}
		for (int waited = 0; waited < 1000 && !atomic_load(&s->stop); waited += 5) {
			cmd_t got;
			int nd = cfg_n_committed(cfg, index, &got);
			bool same = cmd_equal(got, cmd);
			cmd_free(&got);
			if (nd > 0) {
				if (same) {
					pthread_mutex_lock(&s->ack_mu);
					if (s->nacked == s->acked_cap) {
						s->acked_cap = s->acked_cap ? 2 * s->acked_cap : 1024;
						s->acked = xrealloc(s->acked, (size_t)s->acked_cap * sizeof(int64_t));
					}
					s->acked[s->nacked++] = x;
					pthread_mutex_unlock(&s->ack_mu);
					atomic_fetch_add(&s->committed, 1);
				}
				break;
			}
			sleep_ms(5);
		}
		cmd_free(&cmd);
	}
	return NULL;
}

/* ---- the nemesis ---- */

static int count_up(config *cfg)
{
	int up = 0;
	for (int i = 0; i < cfg->n; i++)
		up += cfg->rafts[i] != NULL;
	return up;
}

static void nemesis_step(sim *s)
{
	config *cfg = s->cfg;
	prng *r = &s->nemesis_rng;
	int i = (int)prng_intn(r, cfg->n);
	int choice = (int)prng_intn(r, 100);
	if (choice < 30) {
		if (cfg->rafts[i]) {
			note_event(s, true, "partition S%d", i); /* cut one peer off */
			cfg_disconnect(cfg, i);
		}
	} else if (choice < 55) {
		note_event(s, true, "heal");
		for (int j = 0; j < cfg->n; j++)
			if (cfg->rafts[j])
				cfg_connect(cfg, j);
	} else if (choice < 75 && s->opt.crash) {
		if (cfg->rafts[i] && count_up(cfg) > cfg->n / 2 + 1) {
			note_event(s, true, "crash S%d", i);
			cfg_crash1(cfg, i);
		}
	} else if (s->opt.crash) {
		for (int j = 0; j < cfg->n; j++) /* restart a crashed one */
			if (!cfg->rafts[(i + j) % cfg->n]) {
				note_event(s, true, "restart S%d", (i + j) % cfg->n);
				cfg_start1(cfg, (i + j) % cfg->n);
				cfg_connect(cfg, (i + j) % cfg->n);
				break;
			}
	}
}

/* ---- the end: heal, converge, check ---- */

/* The exit status of a run whose Raft is not finished (no violation). */
#define EXIT_UNFINISHED 3

/* The peers did not converge: what the run shows is missing, as a lab
 * part to finish. */
static void what_is_missing(sim *s, char *out, size_t n)
{
	pthread_mutex_lock(&s->w.mu);
	int elections = s->w.elections;
	pthread_mutex_unlock(&s->w.mu);
	long committed = atomic_load(&s->committed);
	if (elections == 0)
		snprintf(out, n, "no leader was ever elected: is 2A done?");
	else if (committed == 0)
		snprintf(out, n, "no command committed: is 2B done?");
	else
		snprintf(out, n, "%ld commands committed, but the healed peers did not agree on a "
			 "new one within 20 s: is 2C (persistence, fast backup) done?", committed);
}

static bool converge(sim *s, int *last_index)
{
	config *cfg = s->cfg;
	for (int i = 0; i < cfg->n; i++) {
		if (!cfg->rafts[i])
			cfg_start1(cfg, i);
		cfg_connect(cfg, i);
	}
	cfg_set_unreliable(cfg, false);
	/* A final command must reach every peer. */
	int64_t t0 = now_ms();
	cmd_t cmd = cmd_int(cfg_rand(cfg));
	while (now_ms() - t0 < 20000) {
		int index = start_on_leader(cfg, cmd);
		for (int w = 0; index >= 0 && w < 200; w++) {
			cmd_t got;
			int nd = cfg_n_committed(cfg, index, &got);
			bool same = cmd_equal(got, cmd);
			cmd_free(&got);
			if (nd == cfg->n && same) {
				*last_index = index;
				cmd_free(&cmd);
				return true;
			}
			sleep_ms(10);
		}
		sleep_ms(50);
	}
	cmd_free(&cmd);
	return false;
}

/* Every index on every peer holds the same value; every acknowledged
 * command is in the log. */
static void check_logs_agree(sim *s, int last_index)
{
	config *cfg = s->cfg;
	pthread_mutex_lock(&cfg->mu);
	if (s->opt.inject_violation && last_index >= 2 && cfg->logs[1 % cfg->n].cap > 1) {
		/* A broken record, to show the checker reporting it. */
		applied_log *l = &cfg->logs[1 % cfg->n];
		cmd_free(&l->val[1]);
		l->val[1] = cmd_int(-424242);
		l->have[1] = true;
	}
	int64_t *value_at = xcalloc((size_t)last_index + 1, sizeof(int64_t));
	for (int index = 1; index <= last_index; index++) {
		int first = -1;
		for (int i = 0; i < cfg->n; i++) {
			applied_log *l = &cfg->logs[i];
			if (index >= l->cap || !l->have[index])
				continue;
			if (first < 0) {
				first = i;
				cmd_as_int(l->val[index], &value_at[index]);
			} else if (!cmd_equal(l->val[index], cfg->logs[first].val[index])) {
				violation(s, "different commands at index %d on S%d and S%d", index,
					  first, i);
			}
		}
	}
	pthread_mutex_unlock(&cfg->mu);
	pthread_mutex_lock(&s->ack_mu);
	for (int k = 0; k < s->nacked; k++) {
		bool found = false;
		for (int index = 1; index <= last_index && !found; index++)
			found = value_at[index] == s->acked[k];
		if (!found) {
			violation(s, "acknowledged command %lld is not in the log",
				  (long long)s->acked[k]);
			break;
		}
	}
	pthread_mutex_unlock(&s->ack_mu);
	free(value_at);
}

/* Refuse an --html path that cannot be written before the run, not after. */
static void check_writable(const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "raftsim: cannot write --html %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fclose(f);
}

static bool write_html(sim *s, const char *events)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 tools/dslogs -c %d --timeline-only --title 'raftsim: %d peers, "
		 "%s network, seed %llu' --html '%s' '%s'",
		 s->opt.peers, s->opt.peers, s->opt.reliable ? "reliable" : "unreliable",
		 (unsigned long long)s->opt.seed, s->opt.html, events);
	if (system(cmd) != 0) {
		fprintf(stderr, "raftsim: could not write %s\n", s->opt.html);
		return false;
	}
	printf("timeline written to %s\n", s->opt.html);
	return true;
}

int main(int argc, char **argv)
{
	sim s;
	memset(&s, 0, sizeof s);
	s.opt = parse_options(argc, argv);
	cfg_outside_check = true;
	char events[] = "/tmp/raftsim-XXXXXX";
	if (s.opt.html) {
		check_writable(s.opt.html);
		/* Raft's own debug log is the timeline's source. */
		int fd = mkstemp(events);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
			perror("raftsim");
			return 2;
		}
		close(fd);
		setenv("VERBOSE", "1", 1);
	}
	char seed[32];
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)s.opt.seed);
	setenv("SEED", seed, 1);
	pthread_mutex_init(&s.w.mu, NULL);
	pthread_mutex_init(&s.ack_mu, NULL);
	prng_seed(&s.nemesis_rng, s.opt.seed ^ 0x6e656d65736973ULL);

	printf("raftsim: seed %llu (repeat with --seed %llu)\n", (unsigned long long)s.opt.seed,
	       (unsigned long long)s.opt.seed);
	s.cfg = make_config_every(s.opt.peers, !s.opt.reliable, true, s.opt.snapshot_every);
	s.cfg->limit_s = 0;
	s.t0_us = now_us();

	pthread_t watcher, *clients = xcalloc((size_t)s.opt.clients + 1, sizeof(pthread_t));
	pthread_create(&watcher, NULL, watcher_main, &s);
	for (int c = 0; c < s.opt.clients; c++)
		pthread_create(&clients[c], NULL, client_main, &s);

	int64_t end = now_ms() + (int64_t)s.opt.seconds * 1000;
	while (now_ms() < end) {
		int64_t next = now_ms() + 700 + prng_intn(&s.nemesis_rng, 600);
		sleep_ms((next < end ? next : end) - now_ms()); /* stop on time */
		if (now_ms() < end)
			nemesis_step(&s);
	}
	atomic_store(&s.stop, true);
	for (int c = 0; c < s.opt.clients; c++)
		pthread_join(clients[c], NULL);
	pthread_join(watcher, NULL);
	draw(&s, false);

	printf("healing the cluster and waiting for the peers to converge...\n");
	int last_index = 0;
	bool converged = converge(&s, &last_index);
	char unfinished[160] = "";
	if (!converged)
		what_is_missing(&s, unfinished, sizeof unfinished);
	else
		check_logs_agree(&s, last_index);

	pthread_mutex_lock(&s.w.mu);
	bool ok = s.w.violation[0] == '\0';
	if (ok && unfinished[0]) {
		printf("\nverdict: UNFINISHED: %s\n", unfinished);
		printf("  (not a safety violation: the peers never agreed on a final command)\n");
		Debug(dTest, "verdict: UNFINISHED: %s", unfinished);
	} else {
		printf("\nverdict: %s\n", ok ? "OK" : "VIOLATION");
	}
	printf("  commands acknowledged: %ld, log length after healing: %d\n",
	       atomic_load(&s.committed), last_index);
	printf("  elections seen: %d\n", s.w.elections);
	printf("  at most one leader per term: %s\n",
	       strstr(s.w.violation, "two leaders") ? "NO" : "yes");
	printf("  same command at every index on every peer: %s\n",
	       strstr(s.w.violation, "different commands") ? "NO" : converged ? "yes" : "unknown");
	printf("  no acknowledged command lost: %s\n",
	       strstr(s.w.violation, "acknowledged") ? "NO" : converged ? "yes" : "unknown");
	if (!ok)
		printf("  %s\n", s.w.violation);
	printf("  seed: %llu\n", (unsigned long long)s.opt.seed);
	/* The page shows it at the top. */
	if (!(ok && unfinished[0]))
		Debug(dTest, "verdict: %s%s%s", ok ? "OK" : "VIOLATION: ", ok ? "" : s.w.violation,
		      ok ? ": at most one leader per term, the same command at every index, no acknowledged command lost" : "");
	pthread_mutex_unlock(&s.w.mu);

	cfg_cleanup(s.cfg);
	bool page_ok = true;
	if (s.opt.html) {
		fflush(stderr);
		page_ok = write_html(&s, events);
		unlink(events);
	}
	free(clients);
	free(s.w.leader_of_term);
	free(s.acked);
	if (!ok || !page_ok)
		return 1;
	return unfinished[0] ? EXIT_UNFINISHED : 0;
}
