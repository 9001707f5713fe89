/* chan.h: Go's unbuffered channel, for the apply channel (chan ApplyMsg).
 * A send blocks until a receiver has taken the value (copied it into its
 * own hands: it need not have returned yet); close wakes both sides.  Values are copied in and out by size, so ownership of anything
 * they point to passes to the receiver with a successful send. */
#ifndef CHAN_H
#define CHAN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct Chan Chan;

Chan *chan_make(size_t elem_size);
/* Blocks until a receiver takes *elem.  False when the channel is (or
 * becomes, before a receiver took the value) closed: the value was not
 * delivered and still belongs to the sender. */
bool chan_send(Chan *ch, const void *elem);
/* chan_send that its sender can call off: it also gives up (false, the
 * value still the sender's) once *stop is true, seen on entry or when
 * chan_wake_senders(ch) is called after *stop was set.  Raft's Kill uses it
 * to end an apply that nobody reads. */
bool chan_send_unless(Chan *ch, const void *elem, const atomic_bool *stop);
/* Sends the n values at elems in order, as if n goroutines queued in
 * that order each sent one: blocks until receivers have taken them all,
 * each receiver taking the next without waiting for the sender to run.
 * Returns how many were taken: fewer than n when the channel is or
 * becomes closed, or when stop is not NULL and the send is called off as
 * chan_send_unless's is.  The rest still belong to the sender. */
size_t chan_send_all_unless(Chan *ch, const void *elems, size_t n, const atomic_bool *stop);
/* Go's non-blocking send (a select with a default), for a run of values:
 * hands values from elems on, in order, to receivers already waiting, and
 * returns at once how many were taken (0 when nobody waits); the rest
 * still belong to the sender. */
size_t chan_offer_all(Chan *ch, const void *elems, size_t n);
/* Makes every parked sender look at its stop flag again; the others go
 * back to waiting.  Nothing else about the channel changes. */
void chan_wake_senders(Chan *ch);
/* Blocks for a value.  False once the channel is closed (nothing is
 * left behind in an unbuffered channel). */
bool chan_recv(Chan *ch, void *elem);
/* Marks this moment in the channel's history: chan_recv_marked() says of
 * each value whether it was taken after the mark, whether its send was
 * parked then or began later.  The tester marks a crashed server's
 * channel once Kill has returned. */
void chan_mark(Chan *ch);
/* chan_recv, and *after_mark: whether the value was taken after
 * chan_mark(). */
bool chan_recv_marked(Chan *ch, void *elem, bool *after_mark);
/* Wakes every sender and receiver; later sends and receives fail. */
void chan_close(Chan *ch);
/* Frees the channel; nobody may be using it. */
void chan_free(Chan *ch);

#endif
