/* config.h: the Raft tester's harness (config.go). */
#ifndef CONFIG_H
#define CONFIG_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../chan.h"
#include "../labrpc/labrpc.h"
#include "../persister.h"
#include "../raft_harness.h"
#include "../util.h"
#include "report.h"

/* The tests' interface{} commands: a tagged byte blob ('i' + an encoded
 * int, or 's' + string bytes); values compare by type and bytes, as Go's
 * interface equality does.  A blob with no data is Go's nil. */
typedef struct {
	uint8_t *data;
	size_t len;
} cmd_t;

cmd_t cmd_int(int64_t v);
cmd_t cmd_str(const char *s, size_t n);
void cmd_free(cmd_t *c);
bool cmd_equal(cmd_t a, cmd_t b);
/* True, with *v, when c holds an int. */
bool cmd_as_int(cmd_t c, int64_t *v);

/* One server's record of what it applied: index -> value. */
typedef struct {
	bool *have;
	cmd_t *val;
	int cap;
} applied_log;

/* A killed server's applier, still reading its channel. */
typedef struct retired_applier {
	pthread_t tid;
	Chan *ch;
	struct retired_applier *next;
} retired_applier;

typedef struct config {
	pthread_mutex_t mu;
	atomic_int finished;
	labrpc_net *net;
	int n;
	Raft **rafts;
	bool *connected;
	Persister **saved;
	char ***endnames;      /* the port names each sends to */
	applied_log *logs;     /* copy of each server's committed entries */
	int *last_applied;
	bool snapshot;         /* applierSnap rather than applier */
	Chan **apply_ch;
	pthread_t *applier;
	bool *applier_running;
	retired_applier *retired; /* killed incarnations' appliers */
	int incarnation;
	int64_t start_us;      /* make_config() time */
	int threads0;          /* the process's threads at make_config() */
	/* begin()/end() statistics */
	int64_t t0_us;
	int rpcs0;
	int64_t bytes0;
	int max_index, max_index0;
	int snapshot_every;    /* the snapshot applier's interval (Go's 10) */
	int limit_s;           /* the per-test limit (120 s), 0 for none */
	uint64_t seed;
	pthread_mutex_t rng_mu;
	prng rng;
} config;

#define RAFT_ELECTION_TIMEOUT_MS 1000

config *make_config(int n, bool unreliable, bool snapshot);
/* The same, with the snapshot applier snapshotting every snapshot_every. */
config *make_config_every(int n, bool unreliable, bool snapshot, int snapshot_every);
void cfg_cleanup(config *cfg);
void cfg_crash1(config *cfg, int i);
void cfg_start1(config *cfg, int i);
void cfg_connect(config *cfg, int i);
void cfg_disconnect(config *cfg, int i);
int cfg_rpc_count(config *cfg, int server);
int cfg_rpc_total(config *cfg);
int64_t cfg_bytes_total(config *cfg);
void cfg_set_unreliable(config *cfg, bool unrel);
void cfg_set_long_reordering(config *cfg, bool longrel);
int cfg_check_one_leader(config *cfg);
int cfg_check_terms(config *cfg);
void cfg_check_no_leader(config *cfg);
/* How many servers think index is committed; *cmd (may be NULL) gets a
 * borrowed view of the value. */
int cfg_n_committed(config *cfg, int index, cmd_t *cmd);
/* Wait for at least n servers to commit index.  False if a term moved
 * past start_term (Go returns -1); *cmd gets a copy of the value. */
bool cfg_wait(config *cfg, int index, int n, int start_term, cmd_t *cmd);
int cfg_one(config *cfg, cmd_t cmd, int expected_servers, bool retry);
void cfg_begin(config *cfg, const char *description);
void cfg_end(config *cfg);
int cfg_log_size(config *cfg);
/* rand.Int(): a non-negative random number from the tester's seeded PRNG. */
int64_t cfg_rand(config *cfg);
/* A random base64url string of n characters (the lab's randstring). */
char *cfg_randstring(config *cfg, int n);
/* Start/GetState on server i under a reference (the server may be crashed
 * concurrently, as in Go's churn clients).  False if i is down. */
bool cfg_start_on(config *cfg, int i, cmd_t cmd, int *index, int *term, bool *is_leader);

/* Outside Check (raftsim), a fatal error prints and exits instead. */
extern bool cfg_outside_check;

/* t.Fatalf.  Under the runner, which prints the seed in its "--- FAIL"
 * block, with the line in test_test.c of the call that failed
 * (report.h); outside Check, print the seed (to repeat the run's choices)
 * and the message, and exit. */
#define cfg_fatalf(cfg, ...)                                                        \
	do {                                                                        \
		if (cfg_outside_check) {                                            \
			fprintf(stderr, "seed: SEED=%llu\n", (unsigned long long)(cfg)->seed); \
			fprintf(stderr, __VA_ARGS__);                               \
			fprintf(stderr, "\n");                                      \
			exit(1);                                                    \
		}                                                                   \
		report_failure();                                                   \
		ck_abort_msg(__VA_ARGS__);                                          \
	} while (0)

#endif
