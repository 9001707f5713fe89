/* history.c: porcupine's two history formats (see history.h).
 *
 * The parser reads a private copy of the text and cuts kv keys and values
 * out of it in place.  It never trusts the input: every field is checked,
 * numbers for overflow, and the process table is a hash map so a file of
 * many processes stays linear. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../models/etcd.h"
#include "../models/kv.h"
#include "history.h"

/* The most operations a history may hold (ids are int32 in the checker). */
#define HISTORY_MAX_OPS (1u << 28)

typedef struct {
	const char *name;
	size_t line;
	char *err;
	size_t errlen;
} where;

static int fail(const where *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const where *w, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (w->line)
		snprintf(w->err, w->errlen, "%s:%zu: %s", w->name, w->line, what);
	else
		snprintf(w->err, w->errlen, "%s: %s", w->name, what);
	return -1;
}

/* ---- Open calls by process: a small open-addressing map ---- */

typedef struct {
	int64_t *proc;
	size_t *op;
	size_t cap, count; /* cap a power of two; proc -1 = empty, -2 = deleted */
} open_calls;

static size_t slot_of(const open_calls *oc, int64_t proc)
{
	uint64_t h = (uint64_t)proc * UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h >> 32) & (oc->cap - 1);
}

/* The slot holding proc, or SIZE_MAX. */
static size_t open_find(const open_calls *oc, int64_t proc)
{
	if (!oc->cap)
		return SIZE_MAX;
	for (size_t i = slot_of(oc, proc);; i = (i + 1) & (oc->cap - 1)) {
		if (oc->proc[i] == proc)
			return i;
		if (oc->proc[i] == -1)
			return SIZE_MAX;
	}
}

static bool open_grow(open_calls *oc)
{
	size_t cap = oc->cap ? oc->cap * 2 : 64;
	open_calls n = { malloc(cap * sizeof(int64_t)), malloc(cap * sizeof(size_t)), cap, 0 };
	if (!n.proc || !n.op) {
		free(n.proc);
		free(n.op);
		return false;
	}
	for (size_t i = 0; i < cap; i++)
		n.proc[i] = -1;
	for (size_t i = 0; i < oc->cap; i++) {
		if (oc->proc[i] < 0)
			continue;
		size_t j = slot_of(&n, oc->proc[i]);
		while (n.proc[j] != -1)
			j = (j + 1) & (cap - 1);
		n.proc[j] = oc->proc[i];
		n.op[j] = oc->op[i];
		n.count++;
	}
	free(oc->proc);
	free(oc->op);
	*oc = n;
	return true;
}

/* *used counts deleted slots too, so the table is rebuilt before it fills. */
static bool open_add(open_calls *oc, int64_t proc, size_t op, size_t *used)
{
	if ((*used + 1) * 2 > oc->cap) {
		if (!open_grow(oc))
			return false;
		*used = oc->count;
	}
	size_t i = slot_of(oc, proc);
	while (oc->proc[i] >= 0)
		i = (i + 1) & (oc->cap - 1);
	if (oc->proc[i] == -1)
		(*used)++;
	oc->proc[i] = proc;
	oc->op[i] = op;
	oc->count++;
	return true;
}

static void open_remove(open_calls *oc, size_t slot)
{
	oc->proc[slot] = -2;
	oc->count--;
}

/* ---- Building the history ---- */

typedef struct {
	history *h;
	size_t cap;
	size_t in_size, out_size;
	int64_t time; /* events so far */
	open_calls open;
	size_t used;
} builder;

static void *input_at(builder *b, size_t i)
{
	return (char *)b->h->inputs + i * b->in_size;
}

static void *output_at(builder *b, size_t i)
{
	return (char *)b->h->outputs + i * b->out_size;
}

static int grow_ops(builder *b, const where *w)
{
	size_t cap = b->cap ? b->cap * 2 : 256;
	if (cap > HISTORY_MAX_OPS)
		return fail(w, "more than %u operations", HISTORY_MAX_OPS);
	porc_operation *ops = realloc(b->h->ops, cap * sizeof *ops);
	if (ops)
		b->h->ops = ops;
	void *in = realloc(b->h->inputs, cap * b->in_size);
	if (in)
		b->h->inputs = in;
	void *out = realloc(b->h->outputs, cap * b->out_size);
	if (out)
		b->h->outputs = out;
	if (!ops || !in || !out)
		return fail(w, "out of memory");
	b->cap = cap;
	return 0;
}

/* A call by proc: a new operation whose input the caller fills in. */
static int add_call(builder *b, const where *w, int64_t proc, void **input)
{
	if (open_find(&b->open, proc) != SIZE_MAX)
		return fail(w, "process %lld calls while its last call is still open",
			    (long long)proc);
	if (b->h->n == b->cap && grow_ops(b, w) != 0)
		return -1;
	size_t i = b->h->n++;
	if (!open_add(&b->open, proc, i, &b->used))
		return fail(w, "out of memory");
	/* input and output are pointed to at the end: the arrays still move. */
	b->h->ops[i] = (porc_operation){ (int)proc, NULL, b->time++, NULL, 0 };
	memset(input_at(b, i), 0, b->in_size);
	memset(output_at(b, i), 0, b->out_size);
	*input = input_at(b, i);
	return 0;
}

/* proc's open call returns: its operation, for the caller to fill in the
 * output (op_kind, the event's :f, must be the call's). */
static int add_return(builder *b, const where *w, int64_t proc, int op_kind, void **output)
{
	size_t slot = open_find(&b->open, proc);
	if (slot == SIZE_MAX)
		return fail(w, "process %lld returns with no call open", (long long)proc);
	size_t i = b->open.op[slot];
	int called = b->h->format == HISTORY_KV ? ((kv_input *)input_at(b, i))->op :
						  ((etcd_input *)input_at(b, i))->op;
	if (called != op_kind)
		return fail(w, "process %lld returns from another operation than it called",
			    (long long)proc);
	open_remove(&b->open, slot);
	b->h->ops[i].ret = b->time++;
	*output = output_at(b, i);
	return 0;
}

/* Calls still open return after the last event, in the order they were
 * made, with outputs as Go gives them (kv: empty; etcd: unknown). */
static bool close_open_calls(builder *b)
{
	/* By operation, not by slot, so the order does not depend on hashing. */
	bool *open = calloc(b->h->n ? b->h->n : 1, sizeof *open);
	if (!open)
		return false;
	for (size_t s = 0; s < b->open.cap; s++)
		if (b->open.proc[s] >= 0)
			open[b->open.op[s]] = true;
	for (size_t i = 0; i < b->h->n; i++) {
		if (!open[i])
			continue;
		b->h->ops[i].ret = b->time++;
		if (b->h->format == HISTORY_ETCD)
			((etcd_output *)output_at(b, i))->unknown = true;
		else
			((kv_output *)output_at(b, i))->value = "";
	}
	free(open);
	return true;
}

/* ---- Tokens ---- */

/* Skip the literal s; false if the text does not have it. */
static bool lit(char **p, const char *s)
{
	size_t n = strlen(s);
	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

/* One or more blanks (Go's \s+). */
static bool blanks(char **p)
{
	char *q = *p;
	while (*q == ' ' || *q == '\t')
		q++;
	if (q == *p)
		return false;
	*p = q;
	return true;
}

/* A non-negative decimal (Go's \d+) that fits in int32 (Go's int, and
 * the client id). */
static bool number(char **p, int64_t *v)
{
	char *q = *p;
	int64_t x = 0;
	if (!isdigit((unsigned char)*q))
		return false;
	while (isdigit((unsigned char)*q)) {
		x = x * 10 + (*q++ - '0');
		if (x > INT32_MAX)
			return false;
	}
	*v = x;
	*p = q;
	return true;
}

/* A word after ':' made of letters and '-' (":invoke", ":timed-out"). */
static bool keyword(char **p, char *out, size_t outlen)
{
	char *q = *p;
	if (*q != ':')
		return false;
	q++;
	size_t n = 0;
	while (isalpha((unsigned char)*q) || *q == '-') {
		if (n + 1 >= outlen)
			return false;
		out[n++] = *q++;
	}
	out[n] = '\0';
	if (n == 0)
		return false;
	*p = q;
	return true;
}

static bool at_end(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return *p == '\0';
}

/* ---- Key/value lines ---- */

static int kv_op_of(const char *f)
{
	return !strcmp(f, "get") ? KV_OP_GET :
	       !strcmp(f, "put") ? KV_OP_PUT :
	       !strcmp(f, "append") ? KV_OP_APPEND : -1;
}

/* {:process N, :type :T, :f :F, :key "K", :value nil|"V"} */
static int kv_line(builder *b, const where *w, char *p)
{
	int64_t proc;
	char type[16], f[16];
	if (!lit(&p, "{:process ") || !number(&p, &proc) || !lit(&p, ", :type ") ||
	    !keyword(&p, type, sizeof type) || !lit(&p, ", :f ") || !keyword(&p, f, sizeof f) ||
	    !lit(&p, ", :key \""))
		return fail(w, "not a key/value event: want {:process N, :type :T, :f :F, :key \"K\", :value V}");
	int op = kv_op_of(f);
	if (op < 0)
		return fail(w, "unknown operation :%s (want :get, :put or :append)", f);
	/* The key runs to the last `", :value ` (Go's greedy "(.*)"). */
	char *key = p, *sep = NULL;
	for (char *s = strstr(p, "\", :value "); s; s = strstr(s + 1, "\", :value "))
		sep = s;
	if (!sep)
		return fail(w, "no :value after the key");
	*sep = '\0';
	p = sep + strlen("\", :value ");
	char *value = NULL; /* NULL: nil */
	size_t rest = strlen(p);
	while (rest && (p[rest - 1] == ' ' || p[rest - 1] == '\t'))
		p[--rest] = '\0';
	if (!strcmp(p, "nil}")) {
		value = NULL;
	} else if (rest >= 3 && p[0] == '"' && !strcmp(p + rest - 2, "\"}")) {
		p[rest - 2] = '\0';
		value = p + 1;
	} else {
		return fail(w, "the value is neither nil nor a quoted string, or the line does not end in }");
	}

	if (!strcmp(type, "invoke")) {
		if ((op == KV_OP_GET) != (value == NULL))
			return fail(w, "a get's call has :value nil, a put's or append's a string");
		kv_input *in;
		if (add_call(b, w, proc, (void **)&in) != 0)
			return -1;
		*in = (kv_input){ (uint8_t)op, key, value ? value : "" };
		return 0;
	}
	if (!strcmp(type, "ok")) {
		if (!value)
			return fail(w, "a return has a quoted :value");
		kv_output *out;
		if (add_return(b, w, proc, op, (void **)&out) != 0)
			return -1;
		out->value = op == KV_OP_GET ? value : "";
		return 0;
	}
	return fail(w, "unknown :type :%s (want :invoke or :ok)", type);
}

/* ---- Jepsen etcd lines ---- */

static int etcd_op_of(const char *f)
{
	return !strcmp(f, "read") ? ETCD_OP_READ :
	       !strcmp(f, "write") ? ETCD_OP_WRITE :
	       !strcmp(f, "cas") ? ETCD_OP_CAS : -1;
}

/* [N N] */
static bool pair(char **p, int64_t *a, int64_t *c)
{
	return lit(p, "[") && number(p, a) && blanks(p) && number(p, c) && lit(p, "]");
}

static int etcd_call(builder *b, const where *w, int64_t proc, int op, char *p)
{
	etcd_input in = { (uint8_t)op, 0, 0 };
	bool ok = op == ETCD_OP_READ  ? lit(&p, "nil") :
		  op == ETCD_OP_WRITE ? number(&p, &in.arg1) :
					pair(&p, &in.arg1, &in.arg2);
	if (!ok || !at_end(p))
		return fail(w, "bad argument (read takes nil, write N, cas [N N])");
	etcd_input *slot;
	if (add_call(b, w, proc, (void **)&slot) != 0)
		return -1;
	*slot = in;
	return 0;
}

static int etcd_ok_or_fail(builder *b, const where *w, int64_t proc, int op, bool failed, char *p)
{
	etcd_output out = { 0 };
	int64_t a, c;
	char kw[16];
	bool ok;
	if (failed && op == ETCD_OP_READ) { /* a read that timed out */
		ok = keyword(&p, kw, sizeof kw) && !strcmp(kw, "timed-out");
		out.unknown = true;
	} else if (failed && op == ETCD_OP_WRITE) {
		ok = false;
	} else if (op == ETCD_OP_READ) {
		out.exists = !lit(&p, "nil");
		ok = !out.exists || number(&p, &out.value);
	} else if (op == ETCD_OP_WRITE) {
		ok = number(&p, &a);
	} else {
		ok = pair(&p, &a, &c);
		out.ok = !failed;
	}
	if (!ok || !at_end(p))
		return fail(w, "bad result for :%s", op == ETCD_OP_READ ? "read" :
						     op == ETCD_OP_WRITE ? "write" : "cas");
	etcd_output *slot;
	if (add_return(b, w, proc, op, (void **)&slot) != 0)
		return -1;
	*slot = out;
	return 0;
}

/* INFO  jepsen.util - N	:T	:F	ARG */
static int etcd_line(builder *b, const where *w, char *p)
{
	int64_t proc;
	char type[16], f[16];
	if (!lit(&p, "INFO") || !blanks(&p) || !lit(&p, "jepsen.util") || !blanks(&p) ||
	    !lit(&p, "-") || !blanks(&p) || !number(&p, &proc) || !blanks(&p) ||
	    !keyword(&p, type, sizeof type) || !blanks(&p) || !keyword(&p, f, sizeof f) ||
	    !blanks(&p))
		return fail(w, "not a Jepsen event: want INFO jepsen.util - N :type :f value");
	int op = etcd_op_of(f);
	if (op < 0)
		return fail(w, "unknown operation :%s (want :read, :write or :cas)", f);
	if (!strcmp(type, "invoke"))
		return etcd_call(b, w, proc, op, p);
	if (!strcmp(type, "ok") || !strcmp(type, "fail"))
		return etcd_ok_or_fail(b, w, proc, op, !strcmp(type, "fail"), p);
	if (!strcmp(type, "info")) {
		/* Timed out: it may or may not have happened.  Go skips the
		 * line, so the call stays open to the end; so does ours. */
		char kw[16];
		if (!keyword(&p, kw, sizeof kw) || strcmp(kw, "timed-out") || !at_end(p))
			return fail(w, "an :info event must be :timed-out");
		if (open_find(&b->open, proc) == SIZE_MAX)
			return fail(w, "process %lld times out with no call open", (long long)proc);
		return 0;
	}
	return fail(w, "unknown :type :%s (want :invoke, :ok, :fail or :info)", type);
}

/* ---- Files ---- */

static history_format detect(const char *text)
{
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '{')
		return HISTORY_KV;
	if (!strncmp(p, "INFO", 4))
		return HISTORY_ETCD;
	return HISTORY_AUTO;
}

int history_parse(const char *text, size_t len, const char *name, history_format format,
		  history *h, char *err, size_t errlen)
{
	where w = { name, 0, err, errlen };
	memset(h, 0, sizeof *h);
	if (memchr(text, '\0', len))
		return fail(&w, "a NUL byte: not a text file");
	h->text = malloc(len + 1);
	if (!h->text)
		return fail(&w, "out of memory");
	memcpy(h->text, text, len);
	h->text[len] = '\0';
	if (format == HISTORY_AUTO)
		format = detect(h->text);
	if (format == HISTORY_AUTO) {
		history_free(h);
		return fail(&w, "neither a key/value history nor a Jepsen log (give --model)");
	}
	h->format = format;
	builder b = { .h = h };
	b.in_size = format == HISTORY_KV ? sizeof(kv_input) : sizeof(etcd_input);
	b.out_size = format == HISTORY_KV ? sizeof(kv_output) : sizeof(etcd_output);
	int rc = 0;
	char *line = h->text;
	while (rc == 0 && line) {
		w.line++;
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t n = strlen(line);
		if (n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (!at_end(line))
			rc = format == HISTORY_KV ? kv_line(&b, &w, line) : etcd_line(&b, &w, line);
		line = nl ? nl + 1 : NULL;
	}
	if (rc == 0 && !close_open_calls(&b)) {
		w.line = 0;
		rc = fail(&w, "out of memory");
	}
	if (rc == 0) {
		for (size_t i = 0; i < h->n; i++) {
			h->ops[i].input = input_at(&b, i);
			h->ops[i].output = output_at(&b, i);
		}
	}
	free(b.open.proc);
	free(b.open.op);
	if (rc != 0)
		history_free(h);
	return rc;
}

int history_read_file(const char *path, history_format format, history *h, char *err,
		      size_t errlen)
{
	where w = { path, 0, err, errlen };
	memset(h, 0, sizeof *h);
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(&w, "%s", strerror(errno));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			char *nb = cap > (size_t)1 << 32 ? NULL : realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return fail(&w, "too large to read");
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	int read_error = ferror(f);
	fclose(f);
	if (read_error) {
		free(buf);
		return fail(&w, "read error");
	}
	int rc = history_parse(buf ? buf : "", len, path, format, h, err, errlen);
	free(buf);
	return rc;
}

const porc_model *history_model(const history *h)
{
	return h->format == HISTORY_ETCD ? &etcd_model : &kv_model;
}

void history_free(history *h)
{
	free(h->ops);
	free(h->inputs);
	free(h->outputs);
	free(h->text);
	memset(h, 0, sizeof *h);
}
