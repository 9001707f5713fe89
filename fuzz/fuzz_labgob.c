/* fuzz_labgob.c: the labgob decoder on arbitrary bytes (make fuzz).
 *
 * The input's first byte says how many reads to make (1-16) and the next
 * ones which reads (int, int in a range, bool, bytes, count): the rest is
 * the message.  Every read must stay inside the message, a bytes view must
 * lie inside it, a count must fit what is left, and an error must stick.
 * What decoded is encoded again and must decode to the same values
 * (counts aside: their bound depends on what follows them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../labgob/labgob.h"

#define MAX_READS 16

typedef struct {
	int op;
	int64_t i;
	bool b;
	const uint8_t *p;
	size_t n;
} value;

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* One read of kind op % 5 (op's other bits pick a range or record size). */
static bool read_one(labgob_decoder *d, int op, value *v)
{
	v->op = op % 5;
	switch (v->op) {
	case 0:
		return labgob_get_int64(d, &v->i);
	case 1: {
		int x, min = (op & 8) ? -1 : 0, max = (op & 16) ? 100 : INT32_MAX;
		bool ok = labgob_get_int(d, &x, min, max);
		check(!ok || (x >= min && x <= max));
		v->i = x;
		return ok;
	}
	case 2:
		return labgob_get_bool(d, &v->b);
	case 3:
		return labgob_get_bytes(d, &v->p, &v->n);
	default: {
		size_t min_record = 1 + (size_t)(op >> 5);
		size_t left = d->len - d->off;
		bool ok = labgob_get_count(d, &v->n, min_record);
		check(!ok || v->n <= left / min_record);
		return ok;
	}
	}
}

static void write_one(labgob_encoder *e, const value *v)
{
	switch (v->op) {
	case 0:
	case 1: labgob_put_int(e, v->i); break;
	case 2: labgob_put_bool(e, v->b); break;
	case 3: labgob_put_bytes(e, v->p, v->n); break;
	default: break; /* counts are not re-encoded */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t nreads = (size_t)(data[0] % MAX_READS) + 1;
	if (size < 1 + nreads)
		return 0;
	const uint8_t *ops = data + 1, *msg = data + 1 + nreads;
	size_t len = size - 1 - nreads;

	labgob_decoder d;
	labgob_decoder_init(&d, msg, len);
	value vals[MAX_READS];
	size_t ok_reads = 0;
	for (size_t k = 0; k < nreads; k++) {
		labgob_err before = d.err;
		bool ok = read_one(&d, ops[k], &vals[k]);
		check(d.off <= d.len);
		check(ok == (d.err == LABGOB_OK));
		check(before == LABGOB_OK || d.err == before); /* errors stick */
		if (ok && vals[k].op == 3)
			check(vals[k].p >= msg && vals[k].n <= len && vals[k].p + vals[k].n <= msg + len);
		if (ok)
			ok_reads++;
	}
	labgob_err fin = labgob_decoder_finish(&d);
	check(fin != LABGOB_OK || (d.err == LABGOB_OK && d.off == len));

	/* Round trip what decoded. */
	if (d.err == LABGOB_OK) {
		labgob_encoder e;
		labgob_encoder_init(&e);
		for (size_t k = 0; k < ok_reads; k++)
			write_one(&e, &vals[k]);
		size_t elen;
		uint8_t *enc = labgob_encoder_take(&e, &elen);
		labgob_decoder d2;
		labgob_decoder_init(&d2, enc, elen);
		for (size_t k = 0; k < ok_reads; k++) {
			value v2;
			int op = ops[k];
			if (op % 5 == 4)
				continue;
			check(read_one(&d2, op, &v2));
			if (v2.op <= 1)
				check(v2.i == vals[k].i);
			else if (v2.op == 2)
				check(v2.b == vals[k].b);
			else
				check(v2.n == vals[k].n && (v2.n == 0 || memcmp(v2.p, vals[k].p, v2.n) == 0));
		}
		check(labgob_decoder_finish(&d2) == LABGOB_OK);
		free(enc);
	}
	return 0;
}
