/* fuzz_history.c: the history parser (porcupine/history.c) on arbitrary
 * text, then the checker and the page on whatever it accepts (make fuzz).
 *
 * The input's first byte picks the format (auto, kv, etcd); the rest is
 * the file.  A refused file must come with a one-line message; an accepted
 * one must have every return at or after its call, and must check and
 * draw without trouble (in a small budget and memory bound, so each run
 * stays short). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../porcupine/history.h"
#include "../porcupine/porcupine.h"

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	history_format f = data[0] % 3 == 0 ? HISTORY_AUTO : data[0] % 3 == 1 ? HISTORY_KV : HISTORY_ETCD;
	char err[256];
	err[0] = '\0';
	history h;
	if (history_parse((const char *)data + 1, size - 1, "fuzz", f, &h, err, sizeof err) != 0) {
		check(err[0] != '\0' && strchr(err, '\n') == NULL && strlen(err) < sizeof err);
		return 0;
	}
	for (size_t i = 0; i < h.n; i++)
		check(h.ops[i].ret > h.ops[i].call && h.ops[i].input && h.ops[i].output);
	const porc_model *m = history_model(&h);
	porc_limits lim = { .budget = 20000, .memory_max = 16u << 20 };
	porc_info *info = NULL;
	porc_result r = porc_check(m, h.ops, h.n, &lim, &info, NULL);
	check(r == PORC_OK || r == PORC_ILLEGAL || r == PORC_UNKNOWN);
	FILE *out = fopen("/dev/null", "w");
	if (out) {
		check(porc_visualize(m, info, out) == 0);
		fclose(out);
	}
	porc_info_free(info);
	history_free(&h);
	return 0;
}
