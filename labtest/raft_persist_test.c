/* raft_persist_test.c: a damaged persisted Raft state is refused with a
 * clear message, never read past its end (raft_decode_state, which
 * read_persist uses). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../labgob/labgob.h"
#include "../raftstate.h"
#include "../util.h"
#include "registry.h"

/* The layout persist() writes: term, votedFor, the sentinel's index and
 * term, then {term, command} for each entry after it. */
static void encode_state(labgob_encoder *e, int nentries)
{
	labgob_put_int(e, 5);  /* currentTerm */
	labgob_put_int(e, 2);  /* votedFor */
	labgob_put_int(e, 19); /* snapshot's last index */
	labgob_put_int(e, 3);  /* and term */
	labgob_put_count(e, (size_t)nentries);
	for (int i = 0; i < nentries; i++) {
		labgob_put_int(e, 3 + i / 3);
		labgob_put_bytes(e, "cmd-bytes", 9);
	}
}

START_TEST(TestPersistDecodeRoundTrip)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_state(&e, 7);
	raft_persistent_state st;
	char err[256];
	ck_assert_msg(raft_decode_state(e.buf, e.len, &st, err, sizeof err), "%s", err);
	ck_assert_int_eq(st.current_term, 5);
	ck_assert_int_eq(st.voted_for, 2);
	ck_assert_int_eq(st.base_index, 19);
	ck_assert_int_eq(st.base_term, 3);
	ck_assert_int_eq(st.nentries, 7);
	ck_assert_int_eq(st.entries[6].term, 5);
	ck_assert(st.entries[6].command_len == 9 && memcmp(st.entries[6].command, "cmd-bytes", 9) == 0);
	raft_persistent_state_free(&st);
	labgob_encoder_free(&e);
}
END_TEST

START_TEST(TestPersistDecodeTruncated)
{
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_state(&e, 7);
	for (size_t cut = 1; cut < e.len; cut++) {
		uint8_t *p = xmemdup(e.buf, cut); /* exactly cut bytes, for ASan */
		raft_persistent_state st;
		char err[256] = "";
		ck_assert_msg(!raft_decode_state(p, cut, &st, err, sizeof err),
			      "a %zu-byte prefix of %zu was accepted", cut, e.len);
		ck_assert_msg(strstr(err, "refused") != NULL, "unclear message: %s", err);
		free(p);
	}
	labgob_encoder_free(&e);
}
END_TEST

START_TEST(TestPersistDecodeBadValues)
{
	raft_persistent_state st;
	char err[256];
	/* A log whose terms go down, or beyond currentTerm. */
	labgob_encoder e;
	labgob_encoder_init(&e);
	labgob_put_int(&e, 5);
	labgob_put_int(&e, -1);
	labgob_put_int(&e, 0);
	labgob_put_int(&e, 0);
	labgob_put_count(&e, 2);
	labgob_put_int(&e, 4);
	labgob_put_bytes(&e, "a", 1);
	labgob_put_int(&e, 2);
	labgob_put_bytes(&e, "b", 1);
	ck_assert(!raft_decode_state(e.buf, e.len, &st, err, sizeof err));
	ck_assert_msg(strstr(err, "log terms out of order") != NULL, "%s", err);
	labgob_encoder_free(&e);

	/* A negative term; a huge entry count. */
	labgob_encoder_init(&e);
	labgob_put_int(&e, -3);
	ck_assert(!raft_decode_state(e.buf, e.len, &st, err, sizeof err));
	labgob_encoder_free(&e);
	labgob_encoder_init(&e);
	labgob_put_int(&e, 1);
	labgob_put_int(&e, 0);
	labgob_put_int(&e, 0);
	labgob_put_int(&e, 0);
	labgob_put_count(&e, (size_t)1 << 40);
	ck_assert(!raft_decode_state(e.buf, e.len, &st, err, sizeof err));
	labgob_encoder_free(&e);
}
END_TEST

START_TEST(TestPersistDecodeGarbage)
{
	prng r;
	prng_seed(&r, random_seed());
	labgob_encoder e;
	labgob_encoder_init(&e);
	encode_state(&e, 5);
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = iter % 2 ? e.len : (size_t)prng_intn(&r, 80);
		uint8_t *p = xmalloc(n);
		if (iter % 2) {
			memcpy(p, e.buf, n);
			for (int k = 0; k < 2; k++)
				p[prng_intn(&r, (int64_t)n)] = (uint8_t)prng_next(&r);
		} else {
			for (size_t i = 0; i < n; i++)
				p[i] = (uint8_t)prng_next(&r);
		}
		raft_persistent_state st;
		char err[256];
		if (raft_decode_state(p, n, &st, err, sizeof err))
			raft_persistent_state_free(&st);
		free(p);
	}
	labgob_encoder_free(&e);
}
END_TEST

static const test_entry persist_tests[] = {
	TEST_ENTRY(TestPersistDecodeRoundTrip, 10),
	TEST_ENTRY(TestPersistDecodeTruncated, 10),
	TEST_ENTRY(TestPersistDecodeBadValues, 10),
	TEST_ENTRY(TestPersistDecodeGarbage, 60),
};
TEST_GROUP(raft_persist, persist_tests);
