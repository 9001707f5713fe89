/* history.h: reading the histories porcupine publishes (porcupine_test.go's
 * parseKvLog and parseJepsenLog) into operations for the checker.
 *
 * Key/value files, one event a line:
 *   {:process 3, :type :invoke, :f :append, :key "4", :value "x 3 1 y"}
 *   {:process 3, :type :ok, :f :append, :key "4", :value "x 3 1 y"}
 *   (:f :get, :put or :append; a get's invoke has :value nil)
 * Jepsen etcd logs, one event a line:
 *   INFO  jepsen.util - 7	:invoke	:cas	[1 4]
 *   (:invoke, :ok, :fail or :info; :read nil|N, :write N, :cas [N N];
 *    a failed read is :fail :read :timed-out, an :info line :timed-out)
 *
 * An event's line number is its time.  As in Go: an :info (timed-out)
 * write or cas stays open and, like every operation still open at the end,
 * returns after the last event with an unknown (etcd) or empty (kv)
 * output.  Unlike Go, which skips a line it does not recognise, every
 * non-blank line must be an event, a return must match an open call of its
 * process, and a process may not call twice at once: the file is refused
 * with its name, line and what is wrong. */
#ifndef PORCUPINE_HISTORY_H
#define PORCUPINE_HISTORY_H

#include <stddef.h>

#include "porcupine.h"

typedef enum { HISTORY_AUTO, HISTORY_KV, HISTORY_ETCD } history_format;

typedef struct {
	history_format format; /* HISTORY_KV or HISTORY_ETCD */
	size_t n;
	porc_operation *ops; /* client_id: the process number */
	void *inputs;  /* kv_input[n] or etcd_input[n] */
	void *outputs; /* kv_output[n] or etcd_output[n] */
	char *text;    /* the file's text, which kv keys and values point into */
} history;

/* Parse len bytes of text (need not end in NUL).  name names the text in
 * messages ("name:line: what").  format HISTORY_AUTO: the first non-blank
 * line decides ('{' kv, "INFO" etcd).  0, or -1 with a one-line message in
 * err (and h empty). */
int history_parse(const char *text, size_t len, const char *name, history_format format,
		  history *h, char *err, size_t errlen);

/* history_parse of a file's contents. */
int history_read_file(const char *path, history_format format, history *h, char *err,
		      size_t errlen);

/* kv_model or etcd_model, as the format needs. */
const porc_model *history_model(const history *h);

void history_free(history *h);

#endif
