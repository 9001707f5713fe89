/* test_test.c: labgob's tests.  Go's three (TestGOB, TestCapital,
 * TestDefault) check gob's reflection rules, which C has no use for; ours
 * check what the C codec promises instead: round trips, and that bad input
 * of any kind is an error and never a read past the end. */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../labtest/registry.h"
#include "../util.h"
#include "labgob.h"

/* A sample message shaped like AppendEntries: term, leader, prev index,
 * prev term, an array of {index, term, command} records, commit, a flag. */
static void encode_sample(labgob_encoder *e)
{
	labgob_put_int(e, 7);
	labgob_put_int(e, 2);
	labgob_put_int(e, 41);
	labgob_put_int(e, 6);
	labgob_put_count(e, 3);
	for (int i = 0; i < 3; i++) {
		labgob_put_int(e, 42 + i);
		labgob_put_int(e, 7);
		labgob_put_bytes(e, "command", 7);
	}
	labgob_put_int(e, 40);
	labgob_put_bool(e, true);
}

/* Decodes the sample; returns the decoder's final verdict. */
static labgob_err decode_sample(const uint8_t *p, size_t n, bool check_values)
{
	labgob_decoder d;
	labgob_decoder_init(&d, p, n);
	int term = 0, leader = 0, prev = 0, prev_term = 0, commit = 0;
	bool flag = false;
	size_t count = 0;
	labgob_get_int(&d, &term, 0, INT_MAX);
	labgob_get_int(&d, &leader, 0, 100);
	labgob_get_int(&d, &prev, 0, INT_MAX);
	labgob_get_int(&d, &prev_term, 0, INT_MAX);
	if (labgob_get_count(&d, &count, 3)) {
		int *idx = xcalloc(count, sizeof *idx);
		for (size_t i = 0; i < count; i++) {
			int t;
			const uint8_t *c;
			size_t clen;
			labgob_get_int(&d, &idx[i], 0, INT_MAX);
			labgob_get_int(&d, &t, 0, INT_MAX);
			labgob_get_bytes(&d, &c, &clen);
			if (check_values && d.err == LABGOB_OK) {
				ck_assert_int_eq(idx[i], 42 + (int)i);
				ck_assert_int_eq(t, 7);
				ck_assert_int_eq(clen, 7);
				ck_assert(memcmp(c, "command", 7) == 0);
			}
		}
		free(idx);
	}
	labgob_get_int(&d, &commit, 0, INT_MAX);
	labgob_get_bool(&d, &flag);
	if (check_values) {
		ck_assert_int_eq(term, 7);
		ck_assert_int_eq(leader, 2);
		ck_assert_int_eq(prev, 41);
		ck_assert_int_eq(prev_term, 6);
		ck_assert_int_eq(count, 3);
		ck_assert_int_eq(commit, 40);
		ck_assert(flag);
	}
	return labgob_decoder_finish(&d);
}

START_TEST(TestRoundTrip)
{
	static const int64_t ints[] = { 0, 1, -1, 63, 64, -64, -65, 127, 128, 300, -300,
					INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN };
	labgob_encoder e;
	labgob_encoder_init(&e);
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
		labgob_put_int(&e, ints[i]);
	labgob_put_bool(&e, false);
	labgob_put_bool(&e, true);
	labgob_put_bytes(&e, "", 0);
	char big[5000];
	memset(big, 'z', sizeof big);
	labgob_put_bytes(&e, big, sizeof big);

	labgob_decoder d;
	labgob_decoder_init(&d, e.buf, e.len);
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		int64_t v;
		ck_assert(labgob_get_int64(&d, &v));
		ck_assert_msg(v == ints[i], "int %zu: got %lld want %lld", i, (long long)v,
			      (long long)ints[i]);
	}
	bool b;
	ck_assert(labgob_get_bool(&d, &b) && !b);
	ck_assert(labgob_get_bool(&d, &b) && b);
	const uint8_t *p;
	size_t n;
	ck_assert(labgob_get_bytes(&d, &p, &n) && n == 0);
	ck_assert(labgob_get_bytes(&d, &p, &n) && n == sizeof big && memcmp(p, big, n) == 0);
	ck_assert_int_eq(labgob_decoder_finish(&d), LABGOB_OK);
	labgob_encoder_free(&e);

	labgob_encoder_init(&e);
	encode_sample(&e);
	ck_assert_int_eq(decode_sample(e.buf, e.len, true), LABGOB_OK);
	labgob_encoder_free(&e);

	/* Part of a message kept encoded and spliced in later reads as if
	 * the whole had been encoded at once. */
	labgob_encoder part, whole;
	labgob_encoder_init(&part);
	labgob_put_int(&part, 7);
	labgob_put_bytes(&part, "abc", 3);
	labgob_encoder_init(&e);
	labgob_put_count(&e, 1);
	labgob_put_encoded(&e, part.buf, part.len);
	labgob_put_encoded(&e, NULL, 0);
	labgob_encoder_init(&whole);
	labgob_put_count(&whole, 1);
	labgob_put_int(&whole, 7);
	labgob_put_bytes(&whole, "abc", 3);
	ck_assert(e.len == whole.len && memcmp(e.buf, whole.buf, e.len) == 0);
	labgob_encoder_free(&part);
	labgob_encoder_free(&whole);
	labgob_encoder_free(&e);
}
END_TEST

/* Small ints are one byte: what keeps RPCs small. */
START_TEST(TestCompact)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, 63);
	ck_assert_int_eq(e.len, 1);
	labgob_put_int(&e, -64);
	ck_assert_int_eq(e.len, 2);
	labgob_put_int(&e, INT64_MIN);
	ck_assert_int_eq(e.len, 12);
	labgob_encoder_free(&e);
}
END_TEST

/* Every proper prefix of the sample is an error, never a crash. */
START_TEST(TestTruncated)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_sample(&e);
	for (size_t cut = 0; cut < e.len; cut++) {
		/* A copy of exactly cut bytes, so ASan sees any over-read. */
		uint8_t *p = xmemdup(e.buf, cut);
		labgob_err err = decode_sample(p, cut, false);
		ck_assert_msg(err != LABGOB_OK, "prefix of %zu/%zu bytes decoded", cut, e.len);
		free(p);
	}
	/* And one byte too many is an error as well. */
	uint8_t *p = xmalloc(e.len + 1);
	memcpy(p, e.buf, e.len);
	p[e.len] = 0;
	ck_assert_int_eq(decode_sample(p, e.len + 1, false), LABGOB_ETRAILING);
	free(p);
	labgob_encoder_free(&e);
}
END_TEST

START_TEST(TestBadValues)
{
	static const uint8_t long_varint[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0x02 };
	labgob_decoder d;
	int64_t v;
	labgob_decoder_init(&d, long_varint, sizeof long_varint);
	ck_assert(!labgob_get_int64(&d, &v));
	ck_assert_int_eq(d.err, LABGOB_EVARINT);

	static const uint8_t bad_bool[] = { 2 };
	bool b;
	labgob_decoder_init(&d, bad_bool, 1);
	ck_assert(!labgob_get_bool(&d, &b));
	ck_assert_int_eq(d.err, LABGOB_EBOOL);

	/* A length of 100 with 2 bytes behind it. */
	static const uint8_t short_bytes[] = { 100, 'a', 'b' };
	const uint8_t *p;
	size_t n;
	labgob_decoder_init(&d, short_bytes, sizeof short_bytes);
	ck_assert(!labgob_get_bytes(&d, &p, &n));
	ck_assert_int_eq(d.err, LABGOB_ELENGTH);

	/* A count of 2^62 records: refused before anyone allocates. */
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_count(&e, (size_t)1 << 62);
	labgob_decoder_init(&d, e.buf, e.len);
	ck_assert(!labgob_get_count(&d, &n, 1));
	ck_assert_int_eq(d.err, LABGOB_ELENGTH);
	labgob_encoder_free(&e);

	/* Out of range for an int, and errors are sticky. */
	labgob_encoder_init(&e);
	labgob_put_int(&e, (int64_t)INT_MAX + 1);
	labgob_put_int(&e, 1);
	labgob_decoder_init(&d, e.buf, e.len);
	int x;
	ck_assert(!labgob_get_int(&d, &x, 0, INT_MAX));
	ck_assert_int_eq(d.err, LABGOB_ERANGE);
	ck_assert(!labgob_get_int(&d, &x, 0, INT_MAX));
	ck_assert_int_eq(labgob_decoder_finish(&d), LABGOB_ERANGE);
	ck_assert_str_eq(labgob_strerror(LABGOB_ERANGE), "integer out of range");
	labgob_encoder_free(&e);
}
END_TEST

/* Random garbage: any verdict is fine, a crash or sanitizer report is not. */
START_TEST(TestGarbage)
{
	prng r;
	uint64_t seed = random_seed();
	prng_seed(&r, seed);
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_sample(&e);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)prng_intn(&r, 64);
		uint8_t *p = xmalloc(n);
		if (iter % 2 == 0) {
			for (size_t i = 0; i < n; i++)
				p[i] = (uint8_t)prng_next(&r);
		} else {
			/* The sample with a few bytes flipped. */
			n = e.len;
			p = xrealloc(p, n);
			memcpy(p, e.buf, n);
			for (int k = 0; k < 3; k++)
				p[prng_intn(&r, (int64_t)n)] = (uint8_t)prng_next(&r);
		}
		decode_sample(p, n, false);
		free(p);
	}
	labgob_encoder_free(&e);
}
END_TEST

static const test_entry labgob_tests[] = {
	TEST_ENTRY(TestRoundTrip, 10),
	TEST_ENTRY(TestCompact, 10),
	TEST_ENTRY(TestTruncated, 10),
	TEST_ENTRY(TestBadValues, 10),
	TEST_ENTRY(TestGarbage, 60),
};
TEST_GROUP(labgob, labgob_tests);
