/* fuzz_rpc.c: one Raft RPC handler fed arbitrary argument bytes on a live
 * peer (make fuzz).  Built once per method, with RPC_METHOD set to
 * "Raft.RequestVote", "Raft.AppendEntries" or "Raft.InstallSnapshot".
 *
 * Each input is a short sequence of messages, each a 2-byte little-endian
 * length and that many bytes (the last takes what is left), delivered in
 * order through labrpc to peer 0 of three, a fresh peer with its threads
 * running, so that a sequence can build a log and then cut into it.  The
 * peer must survive anything, keep its indexes in order, and be killed
 * and freed without a leak. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../chan.h"
#include "../labrpc/labrpc.h"
#include "../persister.h"
#include "../raft.h"
#include "../raft_harness.h"
#include "../raftstate.h"

#ifndef RPC_METHOD
#error "build with -DRPC_METHOD='\"Raft.AppendEntries\"' (or RequestVote, InstallSnapshot)"
#endif

#define NPEERS 3
#define MAX_MESSAGES 8

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* The service's side of the apply channel: take and drop. */
static void *drain(void *arg)
{
	Chan *ch = arg;
	ApplyMsg m;
	while (chan_recv(ch, &m))
		apply_msg_free(&m);
	return NULL;
}

typedef struct {
	labrpc_net *net;
	labrpc_end *client;
	Persister *ps;
	Raft *rf;
} live_peer;

/* One apply channel and reader for the whole run (a thread per input
 * would cost a third of the time): each peer is killed, so sends nothing
 * more, before the next one starts. */
static Chan *apply_ch;

static void start_reader(void)
{
	if (apply_ch)
		return;
	apply_ch = chan_make(sizeof(ApplyMsg));
	pthread_t reader;
	pthread_create(&reader, NULL, drain, apply_ch);
	pthread_detach(reader);
}

static void peer_start(live_peer *lp)
{
	lp->net = labrpc_make_network(1);
	/* The other peers do not exist: calls to them fail within 100 ms. */
	labrpc_long_delays(lp->net, false);
	labrpc_end *ends[NPEERS];
	for (int j = 0; j < NPEERS; j++) {
		char name[16], srv[16];
		snprintf(name, sizeof name, "0-%d", j);
		snprintf(srv, sizeof srv, "%d", j);
		ends[j] = labrpc_make_end(lp->net, name);
		labrpc_connect(lp->net, name, srv);
		labrpc_enable(lp->net, name, true);
	}
	lp->client = labrpc_make_end(lp->net, "client");
	labrpc_connect(lp->net, "client", "0");
	labrpc_enable(lp->net, "client", true);

	lp->ps = persister_make();
	start_reader();
	char err[256];
	lp->rf = raft_make(ends, NPEERS, 0, lp->ps, apply_ch, 7, err, sizeof err);
	check(lp->rf != NULL);
	labrpc_server *srv = labrpc_make_server();
	labrpc_server_add_service(srv, raft_service(lp->rf));
	labrpc_add_server(lp->net, "0", srv);
}

static void peer_stop(live_peer *lp)
{
	raft_kill(lp->rf);
	raft_release(lp->rf);
	labrpc_free(lp->net); /* releases the service's reference: frees the Raft */
	persister_release(lp->ps);
}

/* What the peer persisted must read back (issue 15, item 7: a message
 * with entry terms above its own term could make a peer save a state
 * that raft_make() refuses).  make fuzz builds with -DFUZZ_CHECK_STATE. */
static void check_state_reads_back(Persister *ps)
{
#ifdef FUZZ_CHECK_STATE
	size_t len;
	uint8_t *data = persister_read_raft_state(ps, &len);
	if (len > 0) {
		raft_persistent_state st;
		char err[256];
		if (!raft_decode_state(data, len, &st, err, sizeof err)) {
			fprintf(stderr, "the peer saved a state it cannot read back: %s\n", err);
			__builtin_trap();
		}
		raft_persistent_state_free(&st);
	}
	free(data);
#else
	(void)ps;
#endif
}

/* The peer's indexes stay in order whatever it was told. */
static void check_status(Raft *rf)
{
	raft_status st;
	raft_get_status(rf, &st);
	check(st.term >= 0);
	check(st.base_index >= 0 && st.base_index <= st.last_index);
	check(st.last_applied <= st.commit_index && st.commit_index <= st.last_index);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	live_peer lp;
	peer_start(&lp);
	for (int k = 0; k < MAX_MESSAGES && size > 0; k++) {
		size_t len = size;
		if (size >= 2) {
			len = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
			if (len > size || k == MAX_MESSAGES - 1)
				len = size;
		}
		uint8_t *args = malloc(len ? len : 1); /* exactly len bytes, for ASan */
		memcpy(args, data, len);
		uint8_t *reply;
		size_t reply_len;
		labrpc_call(lp.client, RPC_METHOD, args, len, &reply, &reply_len);
		free(reply);
		free(args);
		data += len;
		size -= len;
		check_status(lp.rf);
		check_state_reads_back(lp.ps);
	}
	peer_stop(&lp);
	return 0;
}
