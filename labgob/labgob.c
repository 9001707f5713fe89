/* labgob.c: the codec.  See labgob.h for the format. */
#include "labgob.h"

#include <stdlib.h>
#include <string.h>

#include "../util.h"

const char *labgob_strerror(labgob_err err)
{
	switch (err) {
	case LABGOB_OK: return "ok";
	case LABGOB_ETRUNCATED: return "input truncated";
	case LABGOB_EVARINT: return "varint too long";
	case LABGOB_ERANGE: return "integer out of range";
	case LABGOB_EBOOL: return "bad bool byte";
	case LABGOB_ELENGTH: return "length larger than the input";
	case LABGOB_ETRAILING: return "trailing bytes after the last value";
	}
	return "unknown labgob error";
}

void labgob_encoder_init(labgob_encoder *e)
{
	e->buf = NULL;
	e->len = e->cap = 0;
}

void labgob_encoder_free(labgob_encoder *e)
{
	free(e->buf);
	labgob_encoder_init(e);
}

static uint8_t *reserve(labgob_encoder *e, size_t n)
{
	if (e->cap - e->len < n) {
		size_t cap = e->cap ? e->cap : 64;
		while (cap - e->len < n)
			cap *= 2;
		e->buf = xrealloc(e->buf, cap);
		e->cap = cap;
	}
	return e->buf + e->len;
}

static void put_uvarint(labgob_encoder *e, uint64_t v)
{
	uint8_t *p = reserve(e, 10);
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	e->len += n;
}

void labgob_put_int(labgob_encoder *e, int64_t v)
{
	put_uvarint(e, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void labgob_put_bool(labgob_encoder *e, bool v)
{
	*reserve(e, 1) = v ? 1 : 0;
	e->len++;
}

void labgob_put_bytes(labgob_encoder *e, const void *p, size_t n)
{
	put_uvarint(e, n);
	labgob_put_encoded(e, p, n);
}

void labgob_put_encoded(labgob_encoder *e, const void *p, size_t n)
{
	if (n) {
		memcpy(reserve(e, n), p, n);
		e->len += n;
	}
}

void labgob_put_count(labgob_encoder *e, size_t n)
{
	put_uvarint(e, n);
}

uint8_t *labgob_encoder_take(labgob_encoder *e, size_t *len)
{
	uint8_t *buf = e->buf ? e->buf : xmalloc(1);
	*len = e->len;
	labgob_encoder_init(e);
	return buf;
}

void labgob_decoder_init(labgob_decoder *d, const void *p, size_t len)
{
	d->p = p;
	d->len = p ? len : 0;
	d->off = 0;
	d->err = LABGOB_OK;
}

static bool fail(labgob_decoder *d, labgob_err err)
{
	if (d->err == LABGOB_OK)
		d->err = err;
	return false;
}

static size_t remaining(const labgob_decoder *d)
{
	return d->len - d->off;
}

static bool get_uvarint(labgob_decoder *d, uint64_t *v)
{
	if (d->err)
		return false;
	uint64_t x = 0;
	for (unsigned shift = 0, i = 0;; shift += 7, i++) {
		if (d->off >= d->len)
			return fail(d, LABGOB_ETRUNCATED);
		uint8_t b = d->p[d->off++];
		/* The tenth byte may only carry the top bit of 64. */
		if (i == 9 && b > 1)
			return fail(d, LABGOB_EVARINT);
		x |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80)
			break;
	}
	*v = x;
	return true;
}

bool labgob_get_int64(labgob_decoder *d, int64_t *v)
{
	uint64_t u;
	if (!get_uvarint(d, &u))
		return false;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return true;
}

bool labgob_get_int(labgob_decoder *d, int *v, int min, int max)
{
	int64_t x;
	if (!labgob_get_int64(d, &x))
		return false;
	if (x < min || x > max)
		return fail(d, LABGOB_ERANGE);
	*v = (int)x;
	return true;
}

bool labgob_get_bool(labgob_decoder *d, bool *v)
{
	if (d->err)
		return false;
	if (d->off >= d->len)
		return fail(d, LABGOB_ETRUNCATED);
	uint8_t b = d->p[d->off++];
	if (b > 1)
		return fail(d, LABGOB_EBOOL);
	*v = b == 1;
	return true;
}

bool labgob_get_bytes(labgob_decoder *d, const uint8_t **p, size_t *n)
{
	uint64_t len;
	if (!get_uvarint(d, &len))
		return false;
	if (len > remaining(d))
		return fail(d, LABGOB_ELENGTH);
	*p = d->p + d->off;
	*n = (size_t)len;
	d->off += (size_t)len;
	return true;
}

bool labgob_get_count(labgob_decoder *d, size_t *n, size_t min_record_bytes)
{
	uint64_t count;
	if (!get_uvarint(d, &count))
		return false;
	if (min_record_bytes == 0)
		min_record_bytes = 1;
	if (count > remaining(d) / min_record_bytes)
		return fail(d, LABGOB_ELENGTH);
	*n = (size_t)count;
	return true;
}

labgob_err labgob_decoder_finish(const labgob_decoder *d)
{
	if (d->err)
		return d->err;
	return d->off == d->len ? LABGOB_OK : LABGOB_ETRAILING;
}
