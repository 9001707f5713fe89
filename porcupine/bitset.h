/* bitset.h: the set of linearized operations (porcupine's bitset.go), with
 * a Zobrist hash that the checker keeps up to date as it sets and clears
 * bits, so hashing a set costs nothing however many operations a part has.
 *
 * A set of n operations is ceil(n/64) words; the caller owns the words. */
#ifndef PORCUPINE_BITSET_H
#define PORCUPINE_BITSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline size_t bitset_words(size_t bits)
{
	return (bits + 63) / 64;
}

/* Flip bit pos: the checker sets a bit to try a step and clears it again. */
static inline void bitset_flip(uint64_t *b, size_t pos)
{
	b[pos / 64] ^= UINT64_C(1) << (pos % 64);
}

/* A loop, not memcmp: sets are a few words, and this runs at every cache
 * probe that matches a hash. */
static inline bool bitset_equal(const uint64_t *a, const uint64_t *b, size_t words)
{
	for (size_t i = 0; i < words; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The Zobrist key of bit pos: the hash of a set is the XOR of its bits'
 * keys (splitmix64 of the position: fixed, so hashes are the same on every
 * run). */
static inline uint64_t bitset_zobrist(size_t pos)
{
	uint64_t z = (uint64_t)pos * UINT64_C(0x9e3779b97f4a7c15) + UINT64_C(0x632be59bd9b4e019);
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#endif
