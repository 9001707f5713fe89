/* persister.h: where a Raft peer saves its state and snapshot
 * (persister.go).  There is no disk: the tester hands the same bytes to
 * the next Make after a crash.  Thread-safe.
 *
 * Unlike Go, a Persister is reference-counted: the tester and each Raft
 * that uses it hold a reference, so a killed peer's late writes land in an
 * orphaned persister that is freed when its last user lets go. */
#ifndef PERSISTER_H
#define PERSISTER_H

#include <stddef.h>
#include <stdint.h>

typedef struct Persister Persister;

/* An empty persister, one reference. */
Persister *persister_make(void);
/* A new persister (one reference) holding the same bytes as ps. */
Persister *persister_copy(Persister *ps);
void persister_retain(Persister *ps);
void persister_release(Persister *ps);

/* Replace both the Raft state and the snapshot at once.  A NULL snapshot
 * stores an empty one: it erases any snapshot saved before, as in Go. */
void persister_save(Persister *ps, const void *raftstate, size_t raftstate_len,
		    const void *snapshot, size_t snapshot_len);

/* Copies of what is stored (free() them); *len is 0 when nothing is. */
uint8_t *persister_read_raft_state(Persister *ps, size_t *len);
uint8_t *persister_read_snapshot(Persister *ps, size_t *len);
size_t persister_raft_state_size(Persister *ps);
size_t persister_snapshot_size(Persister *ps);

#endif
