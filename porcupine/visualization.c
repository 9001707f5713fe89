/* visualization.c: the HTML page of a checked history (porcupine's
 * visualization.go; the page and its script are ours).
 *
 * The page is one file: a style sheet, the history as JSON, and a script
 * that draws it.  This file does what needs the model: it describes every
 * operation, replays each kept linearization to describe the state after
 * every step, and, where a part is not linearizable, tries each operation
 * that could come next after the linearization and says what the model
 * made of it.  That is "where it breaks": every one of them is refused, or
 * leads only to states from which the search found no way on. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "info.h"
#include "porcupine.h"

/* The longest partial linearizations a part's page shows (Go shows all;
 * a long illegal history can have hundreds, each as long as the part). */
#define VIEW_PARTIALS 10

/* A state's text longer than this is cut (a long Append chain). */
#define VIEW_STATE_CHARS 2000

char *porc_format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- JSON out ---- */

/* A JSON string that is also safe inside <script>: no "</script>", no
 * raw control characters. */
static void json_string(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	size_t n = 0;
	for (; *s && n < max; s++, n++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	if (*s)
		fprintf(out, "\\u2026 (%zu more bytes)", strlen(s));
	fputc('"', out);
}

/* json_string of a malloc'd description, which it frees (NULL: "?"). */
static void json_owned(FILE *out, char *s, size_t max)
{
	json_string(out, s ? s : "?", max);
	free(s);
}

/* ---- Times: each part's timestamps by rank, so the bars stay readable ---- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The rank of t among the sorted distinct times ts[0..n). */
static size_t rank_of(const int64_t *ts, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ts[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int64_t ret_of(const porc_operation *o)
{
	return o->ret < o->call ? o->call : o->ret; /* as the checker has it */
}

/* ---- One part ---- */

typedef struct {
	const porc_model *m;
	const porc_info *info;
	const porc_part_info *pi;
	FILE *out;
} part_view;

static const porc_operation *op_of(const part_view *v, int32_t id)
{
	return &v->info->ops[v->pi->op[id]];
}

static void free_if_new(const porc_model *m, void *next, const void *state)
{
	if (next != state)
		m->free_state(next);
}

/* The operations that could come right after the linearization l: not in
 * it, and called before any other remaining one returned (the calls the
 * search tries before it meets a return).  Each as [id, accepted, "state
 * after"]. */
static void write_breaks(const part_view *v, const porc_linearization *l, const void *state)
{
	size_t n = v->pi->n;
	bool *in = calloc(n ? n : 1, sizeof *in);
	if (!in)
		return;
	for (size_t j = 0; j < l->len; j++)
		in[l->ids[j]] = true;
	bool any = false;
	int64_t first_ret = 0;
	for (size_t id = 0; id < n; id++) {
		if (in[id])
			continue;
		int64_t r = ret_of(op_of(v, (int32_t)id));
		if (!any || r < first_ret)
			first_ret = r;
		any = true;
	}
	bool comma = false;
	for (size_t id = 0; any && id < n; id++) {
		const porc_operation *o = op_of(v, (int32_t)id);
		if (in[id] || o->call > first_ret)
			continue;
		void *next = NULL;
		bool ok = v->m->step(state, o->input, o->output, &next);
		fprintf(v->out, "%s[%zu,%d,", comma ? "," : "", id, ok ? 1 : 0);
		if (ok) {
			json_owned(v->out, v->m->describe_state(next), VIEW_STATE_CHARS);
			free_if_new(v->m, next, state);
		} else {
			json_string(v->out, "", 0);
		}
		fputc(']', v->out);
		comma = true;
	}
	free(in);
}

/* {"steps":[[id,"state after"],...],"breaks":[...]} */
static void write_linearization(const part_view *v, const porc_linearization *l)
{
	const porc_model *m = v->m;
	FILE *out = v->out;
	void *state = m->init();
	fputs("{\"steps\":[", out);
	size_t j = 0;
	for (; state && j < l->len; j++) {
		const porc_operation *o = op_of(v, l->ids[j]);
		void *next = NULL;
		if (!m->step(state, o->input, o->output, &next))
			break; /* cannot happen: the search took this step */
		fprintf(out, "%s[%d,", j ? "," : "", l->ids[j]);
		json_owned(out, m->describe_state(next), VIEW_STATE_CHARS);
		fputc(']', out);
		if (next != state) {
			m->free_state(state);
			state = next;
		}
	}
	fputs("],\"breaks\":[", out);
	if (state && v->pi->result != PORC_OK)
		write_breaks(v, l, state);
	fputs("]}", out);
	if (state)
		m->free_state(state);
}

/* The kept partials: the longest VIEW_PARTIALS, longest first. */
static size_t pick_partials(const porc_part_info *pi, size_t *pick)
{
	size_t k = 0;
	for (size_t i = 0; i < pi->n_partials; i++) {
		size_t j = k < VIEW_PARTIALS ? k++ : VIEW_PARTIALS;
		if (j == VIEW_PARTIALS) {
			if (pi->partials[i].len <= pi->partials[pick[VIEW_PARTIALS - 1]].len)
				continue;
			j = VIEW_PARTIALS - 1;
		}
		while (j > 0 && pi->partials[pick[j - 1]].len < pi->partials[i].len) {
			pick[j] = pick[j - 1];
			j--;
		}
		pick[j] = i;
	}
	return k;
}

static void write_part(const part_view *v, size_t index)
{
	const porc_model *m = v->m;
	const porc_part_info *pi = v->pi;
	FILE *out = v->out;
	size_t n = pi->n;

	int64_t *ts = malloc((2 * n + 1) * sizeof *ts);
	size_t nts = 0;
	if (ts) {
		for (size_t id = 0; id < n; id++) {
			ts[nts++] = op_of(v, (int32_t)id)->call;
			ts[nts++] = ret_of(op_of(v, (int32_t)id));
		}
		qsort(ts, nts, sizeof *ts, cmp_i64);
		size_t u = 0;
		for (size_t i = 0; i < nts; i++)
			if (u == 0 || ts[u - 1] != ts[i])
				ts[u++] = ts[i];
		nts = u;
	}

	fputs("{\"name\":", out);
	if (m->describe_part && n > 0) {
		json_owned(out, m->describe_part(op_of(v, 0)->input), 200);
	} else {
		char name[40];
		snprintf(name, sizeof name, v->info->n_parts == 1 ? "history" : "part %zu", index);
		json_string(out, name, sizeof name);
	}
	fprintf(out, ",\"result\":\"%s\",\"ranks\":%zu,\"init\":", porc_result_name(pi->result), nts);
	void *init = m->init();
	json_owned(out, init ? m->describe_state(init) : NULL, VIEW_STATE_CHARS);
	if (init)
		m->free_state(init);
	fputs(",\"ops\":[", out);
	for (size_t id = 0; id < n; id++) {
		const porc_operation *o = op_of(v, (int32_t)id);
		size_t s = ts ? rank_of(ts, nts, o->call) : 0, e = ts ? rank_of(ts, nts, ret_of(o)) : 0;
		fprintf(out, "%s{\"c\":%d,\"s\":%zu,\"e\":%zu,\"os\":%lld,\"oe\":%lld,\"d\":",
			id ? "," : "", o->client_id, s, e, (long long)o->call, (long long)o->ret);
		json_owned(out, m->describe_operation(o->input, o->output), 500);
		fputc('}', out);
	}
	free(ts);

	size_t pick[VIEW_PARTIALS];
	size_t np = pick_partials(pi, pick);
	fputs("],\"lins\":[", out);
	for (size_t k = 0; k < np; k++) {
		if (k)
			fputc(',', out);
		write_linearization(v, &pi->partials[pick[k]]);
	}
	/* largest[id]: the first kept linearization (longest first) that has
	 * id, or -1. */
	fputs("],\"largest\":[", out);
	long *largest = malloc((n ? n : 1) * sizeof *largest);
	for (size_t id = 0; largest && id < n; id++)
		largest[id] = -1;
	for (size_t k = np; largest && k-- > 0;) {
		const porc_linearization *l = &pi->partials[pick[k]];
		for (size_t j = 0; j < l->len; j++)
			largest[l->ids[j]] = (long)k;
	}
	for (size_t id = 0; id < n; id++)
		fprintf(out, "%s%ld", id ? "," : "", largest ? largest[id] : -1L);
	free(largest);
	fputs("]}", out);
}

/* ---- The page ---- */

static const char page_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	"<title>linearizability: %s</title>\n<style>\n"
	"body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222}\n"
	"h1{font-size:20px;margin:0 0 4px}\n"
	"h2{font-size:16px;margin:18px 0 4px}\n"
	".Ok{color:#1a7f37}.Illegal{color:#c62828}.Unknown{color:#9a6700}\n"
	".legend span{display:inline-block;margin-right:14px}\n"
	".sw{display:inline-block;width:14px;height:10px;border:1px solid #555;margin-right:4px;vertical-align:middle}\n"
	".scroll{overflow-x:auto;border:1px solid #ddd;background:#fcfcfc}\n"
	"svg text{font:11px monospace;pointer-events:none}\n"
	"rect.op{stroke:#444;stroke-width:1;cursor:pointer}\n"
	"rect.lin{fill:#b7d7f7}rect.out{fill:#e4e4e4}rect.next{fill:#f7b7b7;stroke:#c62828;stroke-width:2}\n"
	"rect.hi{stroke:#000;stroke-width:2.5}\n"
	"#tip{position:absolute;display:none;max-width:560px;background:#fffbe6;border:1px solid #999;"
	"padding:6px 8px;font:12px monospace;white-space:pre-wrap;word-break:break-all;z-index:9;"
	"box-shadow:2px 2px 6px rgba(0,0,0,.2)}\n"
	".note{color:#555;margin:2px 0 6px}\n"
	"</style>\n</head>\n<body>\n"
	"<h1 id=\"title\"></h1>\n"
	"<div class=\"legend\"><span><i class=\"sw\" style=\"background:#b7d7f7\"></i>linearized (dot: its "
	"linearization point, in order along the line)</span>"
	"<span><i class=\"sw\" style=\"background:#f7b7b7;border-color:#c62828\"></i>could come next, but "
	"no order works from here</span>"
	"<span><i class=\"sw\" style=\"background:#e4e4e4\"></i>not reached</span></div>\n"
	"<p class=\"note\">Each lane is a client, each bar an operation from its call to its return "
	"(times by rank). Hover a bar for its states; click it to see the longest linearization that "
	"has it.</p>\n"
	"<div id=\"parts\"></div>\n<div id=\"tip\"></div>\n"
	"<script id=\"data\" type=\"application/json\">";

/* The drawing: written for this page, not taken from porcupine's. */
static const char page_script[] =
	"</script>\n<script>\n"
	"'use strict';\n"
	"const D = JSON.parse(document.getElementById('data').textContent);\n"
	"const SVG = 'http://www.w3.org/2000/svg', LANE = 30, BAR = 22, LEFT = 90, STEP = 24, TOP = 8;\n"
	"const tip = document.getElementById('tip');\n"
	"function mk(tag, attrs, parent) {\n"
	"  const e = document.createElementNS(SVG, tag);\n"
	"  for (const k in attrs) e.setAttribute(k, attrs[k]);\n"
	"  if (parent) parent.appendChild(e);\n"
	"  return e;\n"
	"}\n"
	"function html(tag, text, cls, parent) {\n"
	"  const e = document.createElement(tag);\n"
	"  if (text !== undefined) e.textContent = text;\n"
	"  if (cls) e.className = cls;\n"
	"  if (parent) parent.appendChild(e);\n"
	"  return e;\n"
	"}\n"
	"const title = document.getElementById('title');\n"
	"title.textContent = D.model + ' model: ' + D.result + ' (' + D.nops + ' operations, ' +\n"
	"  D.parts.length + (D.parts.length === 1 ? ' part)' : ' parts)');\n"
	"title.className = D.result;\n"
	"document.title = 'linearizability: ' + D.model + ' ' + D.result;\n"
	"const root = document.getElementById('parts');\n"
	"const order = D.parts.map((p, i) => i);\n"
	"const rank = { Illegal: 0, Unknown: 1, Ok: 2 };\n"
	"order.sort((a, b) => rank[D.parts[a].result] - rank[D.parts[b].result] || a - b);\n"
	"const shown = new Map();\n"
	"for (const i of order) shown.set(i, drawPart(D.parts[i]));\n"
	"/* #part=I&op=J opens that operation's details (for links and screenshots). */\n"
	"const want = new URLSearchParams(location.hash.slice(1));\n"
	"if (shown.has(+want.get('part'))) shown.get(+want.get('part'))(+want.get('op'));\n"
	"function drawPart(p) {\n"
	"  const h = html('h2', '', '', root);\n"
	"  html('span', p.name + ': ', '', h);\n"
	"  html('span', p.result, p.result, h);\n"
	"  html('span', ' (' + p.ops.length + ' operations)', '', h);\n"
	"  const note = html('div', '', 'note', root);\n"
	"  const pick = html('select', undefined, '', root);\n"
	"  p.lins.forEach((l, k) => html('option', (p.result === 'Ok' ? 'linearization' :\n"
	"    'partial linearization ' + (k + 1)) + ': ' + l.steps.length + ' of ' + p.ops.length +\n"
	"    ' operations', '', pick).value = k);\n"
	"  if (p.lins.length < 2) pick.style.display = 'none';\n"
	"  const clients = [...new Set(p.ops.map(o => o.c))].sort((a, b) => a - b);\n"
	"  const lane = new Map(clients.map((c, i) => [c, i]));\n"
	"  const box = html('div', undefined, 'scroll', root);\n"
	"  const width = LEFT + (p.ranks + 1) * STEP + 20, height = TOP + clients.length * LANE + 8;\n"
	"  const svg = mk('svg', { width: width, height: height }, box);\n"
	"  clients.forEach((c, i) => {\n"
	"    const y = TOP + i * LANE;\n"
	"    mk('line', { x1: 0, x2: width, y1: y + LANE - 2, y2: y + LANE - 2, stroke: '#eee' }, svg);\n"
	"    mk('text', { x: 6, y: y + BAR / 2 + 4 }, svg).textContent = 'client ' + c;\n"
	"  });\n"
	"  const x = t => LEFT + t * STEP + STEP / 2;\n"
	"  const bars = p.ops.map((o, id) => {\n"
	"    const y = TOP + lane.get(o.c) * LANE;\n"
	"    const w = Math.max(x(o.e) - x(o.s), 10);\n"
	"    const r = mk('rect', { x: x(o.s), y: y, width: w, height: BAR, rx: 3, class: 'op out' }, svg);\n"
	"    const clip = mk('svg', { x: x(o.s) + 3, y: y, width: Math.max(w - 6, 0), height: BAR }, svg);\n"
	"    mk('text', { x: 0, y: BAR / 2 + 4 }, clip).textContent = o.d;\n"
	"    r.addEventListener('mousemove', ev => showTip(ev, id));\n"
	"    r.addEventListener('mouseleave', () => { tip.style.display = 'none'; });\n"
	"    r.addEventListener('click', () => { if (p.largest[id] >= 0) select(p.largest[id], id); });\n"
	"    return r;\n"
	"  });\n"
	"  const marks = mk('g', {}, svg);\n"
	"  let cur = 0, where = new Map(), next = new Map();\n"
	"  function select(k, focus) {\n"
	"    cur = k; pick.value = k;\n"
	"    while (marks.firstChild) marks.removeChild(marks.firstChild);\n"
	"    where = new Map(); next = new Map();\n"
	"    const l = p.lins[k];\n"
	"    bars.forEach(b => b.setAttribute('class', 'op out'));\n"
	"    if (!l) { note.textContent = 'No linearization was recorded for this part.'; return; }\n"
	"    /* Linearization points: in order, each inside its bar, never before the last. */\n"
	"    let t = -1, pts = [];\n"
	"    l.steps.forEach(([id, after], j) => {\n"
	"      const o = p.ops[id];\n"
	"      t = Math.min(Math.max(t + 0.25, o.s), o.e);\n"
	"      where.set(id, j);\n"
	"      bars[id].setAttribute('class', 'op lin' + (id === focus ? ' hi' : ''));\n"
	"      pts.push([x(t), TOP + lane.get(o.c) * LANE + BAR / 2]);\n"
	"    });\n"
	"    if (pts.length > 1) mk('polyline', { points: pts.map(q => q.join(',')).join(' '), fill: 'none',\n"
	"      stroke: '#1f5fa8', 'stroke-width': 1.5, 'stroke-dasharray': '4 3' }, marks);\n"
	"    pts.forEach(q => mk('circle', { cx: q[0], cy: q[1], r: 4, fill: '#1f5fa8' }, marks));\n"
	"    l.breaks.forEach(([id, ok, after]) => {\n"
	"      next.set(id, [ok, after]);\n"
	"      bars[id].setAttribute('class', 'op next');\n"
	"    });\n"
	"    if (l.breaks.length) {\n"
	"      const first = Math.min(...l.breaks.map(([id]) => p.ops[id].e));\n"
	"      mk('line', { x1: x(first), x2: x(first), y1: 0, y2: height, stroke: '#c62828',\n"
	"        'stroke-width': 2, 'stroke-dasharray': '6 3' }, marks);\n"
	"    }\n"
	"    const last = l.steps.length ? l.steps[l.steps.length - 1][1] : p.init;\n"
	"    const cands = l.breaks.slice(0, 3).map(([id]) => p.ops[id].d).join('; ') +\n"
	"      (l.breaks.length > 3 ? '; ...' : '');\n"
	"    note.textContent = p.result === 'Ok' ? 'Linearized in the order of the dots.' :\n"
	"      'Linearized ' + l.steps.length + ' of ' + p.ops.length + ' operations; then the state is ' +\n"
	"      last + ' and none of the ' + l.breaks.length + ' operations that could come next (red; the ' +\n"
	"      'dashed line is the first return among them) leads to a linearization: ' + cands;\n"
	"  }\n"
	"  pick.addEventListener('change', () => select(+pick.value));\n"
	"  function showTip(ev, id) {\n"
	"    const o = p.ops[id], l = p.lins[cur];\n"
	"    let s = o.d + '\\nclient ' + o.c + ', called at ' + o.os + ', returned at ' + o.oe;\n"
	"    if (where.has(id)) {\n"
	"      const j = where.get(id);\n"
	"      s += '\\nstep ' + (j + 1) + ' of ' + l.steps.length + '\\nstate before: ' +\n"
	"        (j ? l.steps[j - 1][1] : p.init) + '\\nstate after:  ' + l.steps[j][1];\n"
	"    } else if (next.has(id)) {\n"
	"      const [ok, after] = next.get(id);\n"
	"      const before = l.steps.length ? l.steps[l.steps.length - 1][1] : p.init;\n"
	"      s += '\\nstate before: ' + before + (ok ? '\\nstate after:  ' + after +\n"
	"        '\\nthe model takes it, but no order of the rest works after it' :\n"
	"        '\\nthe model refuses it in this state');\n"
	"    } else {\n"
	"      s += '\\nnot in this linearization' + (p.largest[id] >= 0 ? ' (click: one that has it)' : '');\n"
	"    }\n"
	"    tip.textContent = s;\n"
	"    tip.style.display = 'block';\n"
	"    tip.style.left = Math.max(0, Math.min(ev.pageX + 14, scrollX + innerWidth - 580)) + 'px';\n"
	"    tip.style.top = (ev.pageY + 14) + 'px';\n"
	"  }\n"
	"  select(0);\n"
	"  return id => {\n"
	"    if (!(id in bars)) return;\n"
	"    const r = bars[id].getBoundingClientRect();\n"
	"    showTip({ pageX: r.right + scrollX, pageY: r.bottom + scrollY }, id);\n"
	"    bars[id].setAttribute('class', bars[id].getAttribute('class') + ' hi');\n"
	"  };\n"
	"}\n"
	"</script>\n</body>\n</html>\n";

int porc_visualize(const porc_model *m, const porc_info *info, FILE *out)
{
	if (!m || !info || !out) {
		errno = EINVAL;
		return -1;
	}
	fprintf(out, page_head, m->name);
	fputs("{\"model\":", out);
	json_string(out, m->name, 100);
	fprintf(out, ",\"result\":\"%s\",\"nops\":%zu,\"parts\":[", porc_result_name(info->result),
		info->n_ops);
	for (size_t p = 0; p < info->n_parts; p++) {
		if (p)
			fputc(',', out);
		part_view v = { m, info, &info->parts[p], out };
		write_part(&v, p);
	}
	fputs("]}", out);
	fputs(page_script, out);
	if (fflush(out) != 0 || ferror(out)) {
		if (!errno)
			errno = EIO;
		return -1;
	}
	return 0;
}

int porc_visualize_path(const porc_model *m, const porc_info *info, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = porc_visualize(m, info, f);
	int saved = errno;
	if (fclose(f) != 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}
