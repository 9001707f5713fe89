/* raft_harness.h: what the tester, raftsim and bench need around a Raft
 * beyond the lab's API (raft.h), so that raft.c holds only what a Go
 * student writes in raft.go.
 *
 *   raft_retain(rf) / raft_release(rf)   reference counting, Go's garbage
 *                                        collector: the last release kills
 *                                        the peer and frees it
 *   raft_service(rf)                     the labrpc service ("Raft") that
 *                                        serves its RPCs; holds a reference
 *
 * raft_make returns a peer with one reference, the caller's. */
#ifndef RAFT_HARNESS_H
#define RAFT_HARNESS_H

#include "labrpc/labrpc.h"
#include "raft.h"

void raft_retain(Raft *rf);
void raft_release(Raft *rf);

labrpc_service *raft_service(Raft *rf);

#endif
