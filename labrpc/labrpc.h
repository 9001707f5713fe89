/* labrpc.h: the simulated network of the lab (labrpc.go), in C.
 *
 *   net = labrpc_make_network(seed)     holds ends, servers, settings
 *   end = labrpc_make_end(net, name)    a client end, disabled, unconnected
 *   labrpc_add_server(net, name, srv)   a named server (takes ownership)
 *   labrpc_delete_server(net, name)     the server is gone for new calls;
 *                                       a pending call to it fails (at
 *                                       once if it waits for a worker's
 *                                       handler, else when its delay or
 *                                       inline handler ends)
 *   labrpc_connect(net, endname, servername), labrpc_enable(net, endname, on)
 *   labrpc_reliable / labrpc_long_delays / labrpc_long_reordering
 *   labrpc_call(end, "Raft.AppendEntries", args, len, &reply, &reply_len)
 *
 * Arguments and replies cross as labgob-encoded bytes, so peers share no
 * memory.  labrpc_call returns true when a reply arrived (the caller frees
 * *reply) and false when the network lost the request or the reply, or the
 * server is down; it always returns, after at most the long delay (7 s).
 * Many threads may call at once, on one end or many.
 *
 * All the waiting (short delays, long delays, reordered replies) happens on
 * the calling thread, as timed waits that labrpc_cleanup cuts short.
 * Handlers run on a pool of worker threads, or on the caller's thread for
 * a service that says its handlers never block. */
#ifndef LABRPC_H
#define LABRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../labgob/labgob.h"

typedef struct labrpc_net labrpc_net;
typedef struct labrpc_end labrpc_end;
typedef struct labrpc_server labrpc_server;
typedef struct labrpc_service labrpc_service;

/* An RPC handler: decode args, do the work, encode the reply.  Returns 0,
 * or non-zero when args do not decode (the caller then gets no reply). */
typedef int (*labrpc_handler)(void *rcvr, labgob_decoder *args, labgob_encoder *reply);

typedef struct {
	const char *name; /* "RequestVote" */
	labrpc_handler fn;
} labrpc_method;

labrpc_net *labrpc_make_network(uint64_t seed);
/* Go's Cleanup: every pending and later call fails at once (pending delays
 * are cut short: the test is over); waits until no call or handler of this
 * network is left running, and joins every worker thread. */
void labrpc_cleanup(labrpc_net *net);
/* Cleanup if not done yet, then free ends and servers. */
void labrpc_free(labrpc_net *net);

void labrpc_reliable(labrpc_net *net, bool yes);
void labrpc_long_reordering(labrpc_net *net, bool yes);
void labrpc_long_delays(labrpc_net *net, bool yes);

/* A duplicate end name is fatal, as in Go.  The network owns the end. */
labrpc_end *labrpc_make_end(labrpc_net *net, const char *endname);
void labrpc_connect(labrpc_net *net, const char *endname, const char *servername);
void labrpc_enable(labrpc_net *net, const char *endname, bool enabled);
void labrpc_add_server(labrpc_net *net, const char *servername, labrpc_server *srv);
void labrpc_delete_server(labrpc_net *net, const char *servername);

/* Incoming RPCs dispatched at the server (0 for an unknown server). */
int labrpc_get_count(labrpc_net *net, const char *servername);
int labrpc_total_count(labrpc_net *net);
int64_t labrpc_total_bytes(labrpc_net *net);
/* Not in Go: every labrpc_call made, counted or not (a call on an
 * aborted end, or after cleanup, is not in labrpc_total_count). */
int labrpc_calls_made(labrpc_net *net);

bool labrpc_call(labrpc_end *end, const char *svc_meth, const void *args, size_t args_len,
		 uint8_t **reply, size_t *reply_len);

/* Not in Go: pending and later calls on this end fail at once.  Raft's
 * Kill uses it on the dead peer's ends, so that Kill does not wait out a
 * long delay (a Go goroutine would sit it out, then see killed()).  What
 * is already on the wire still arrives, as in Go: a request in the
 * unreliable network's short delay is delivered when the delay ends (or
 * lost, as any request may be), and only its reply is dropped. */
void labrpc_end_abort(labrpc_end *end);

/* A server is a set of services; it is freed when the network and every
 * handler running on it have let go of it. */
labrpc_server *labrpc_make_server(void);
void labrpc_server_add_service(labrpc_server *srv, labrpc_service *svc);

/* A named service ("Raft") with its methods.  release(rcvr), when given,
 * runs once the server holding the service is freed: no handler can run on
 * rcvr after that. */
labrpc_service *labrpc_make_service(const char *name, void *rcvr, const labrpc_method *methods,
				    size_t nmethods, void (*release)(void *rcvr));

/* Not in Go: this service's handlers never block (they hold a lock for a
 * moment at most), so its calls run them on the calling thread instead of
 * a worker's.  That saves two thread hand-offs per call; the price is that
 * a caller cannot give up while such a handler runs.  Call it before the
 * service is added to a server. */
void labrpc_service_set_inline(labrpc_service *svc);

#endif
