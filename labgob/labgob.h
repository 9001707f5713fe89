/* labgob.h: the compact binary codec for what Raft sends and persists
 * (the C counterpart of labgob/gob).
 *
 * Values are written in order and read back in the same order:
 *   int    zigzag LEB128 varint (1..10 bytes)
 *   bool   one byte, 0 or 1
 *   bytes  varint length, then the bytes
 *   count  varint, the length of an array of records that follows
 * There are no type descriptors: both sides know the layout, as the
 * structs in raft.c do.  Decoding is bounds-checked and sticky: the first
 * error is kept, every later read fails, and nothing reads past the end or
 * allocates more than the input could hold. */
#ifndef LABGOB_H
#define LABGOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	LABGOB_OK = 0,
	LABGOB_ETRUNCATED, /* input ends inside a value */
	LABGOB_EVARINT,    /* varint longer than 64 bits */
	LABGOB_ERANGE,     /* integer outside the range asked for */
	LABGOB_EBOOL,      /* bool byte other than 0 or 1 */
	LABGOB_ELENGTH,    /* length or count larger than the input left */
	LABGOB_ETRAILING,  /* bytes left over after the last value */
} labgob_err;

/* A short English description of err. */
const char *labgob_strerror(labgob_err err);

/* A growable output buffer.  Allocation failure aborts (util.c). */
typedef struct {
	uint8_t *buf;
	size_t len, cap;
} labgob_encoder;

void labgob_encoder_init(labgob_encoder *e);
void labgob_encoder_free(labgob_encoder *e);
void labgob_put_int(labgob_encoder *e, int64_t v);
void labgob_put_bool(labgob_encoder *e, bool v);
void labgob_put_bytes(labgob_encoder *e, const void *p, size_t n);
void labgob_put_count(labgob_encoder *e, size_t n);
/* Appends n bytes that an encoder wrote earlier, as they are: a writer
 * that keeps part of a message encoded need not encode it again. */
void labgob_put_encoded(labgob_encoder *e, const void *p, size_t n);
/* Hands the buffer to the caller (free() it); the encoder is empty after. */
uint8_t *labgob_encoder_take(labgob_encoder *e, size_t *len);

/* A read cursor over bytes the caller keeps alive. */
typedef struct {
	const uint8_t *p;
	size_t len, off;
	labgob_err err;
} labgob_decoder;

void labgob_decoder_init(labgob_decoder *d, const void *p, size_t len);
bool labgob_get_int64(labgob_decoder *d, int64_t *v);
/* An int in [min, max]; anything else is LABGOB_ERANGE. */
bool labgob_get_int(labgob_decoder *d, int *v, int min, int max);
bool labgob_get_bool(labgob_decoder *d, bool *v);
/* A view into the input (not a copy): valid while the input is. */
bool labgob_get_bytes(labgob_decoder *d, const uint8_t **p, size_t *n);
/* An array count whose records take at least min_record_bytes (>= 1)
 * each: a count the remaining input cannot hold is LABGOB_ELENGTH, so the
 * caller may allocate count records safely. */
bool labgob_get_count(labgob_decoder *d, size_t *n, size_t min_record_bytes);
/* LABGOB_OK when every read succeeded and the input is used up. */
labgob_err labgob_decoder_finish(const labgob_decoder *d);

#endif
