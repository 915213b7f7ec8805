/* splitcat.c — distributing gates over CONCAT (splitcat.h). */
#include "splitcat.h"
#include "diag.h"
#include "dp.h"
#include "joindecl.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const mpc_circuit *c;       /* the circuit read */
    mpc_circuit       *n;       /* the circuit written */
    uint32_t          *off;     /* per gate of c: its first segment in seg[] */
    uint16_t          *nseg;    /* per gate of c: its number of segments */
    uint32_t          *whole;   /* per gate of c: the whole vector as a wire of n, or MPC_NO_WIRE */
    uint32_t          *seg;     /* segment wires (of n) */
    uint64_t          *start;   /* where each segment starts in its vector */
    size_t             nsegs, cap;
} s_sc;

static int s_push(s_sc *x, uint32_t w, uint64_t start)
{
    if (w == MPC_NO_WIRE) return -1;
    if (x->nsegs == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 1024;
        uint32_t *s = realloc(x->seg, cap * sizeof *s);
        if (!s) return -1;
        x->seg = s;
        uint64_t *st = realloc(x->start, cap * sizeof *st);
        if (!st) return -1;
        x->start = st;
        x->cap = cap;
    }
    x->seg[x->nsegs] = w;
    x->start[x->nsegs++] = start;
    return 0;
}

/* Gate i of c is wire w of n, in one piece. */
static int s_single(s_sc *x, uint32_t i, uint32_t w)
{
    x->off[i] = (uint32_t)x->nsegs;
    x->nseg[i] = 1;
    x->whole[i] = w;
    return s_push(x, w, 0);
}

static uint64_t s_seg_end(const s_sc *x, uint32_t i, uint32_t k)
{
    return k + 1 < x->nseg[i] ? x->start[x->off[i] + k + 1] : x->c->gates[i].len;
}

/* Gate i of c as one wire of n: its segments concatenated (once; remembered). */
static uint32_t s_whole(s_sc *x, uint32_t i)
{
    if (x->whole[i] != MPC_NO_WIRE) return x->whole[i];
    const mpc_gate *g = &x->c->gates[i];
    uint32_t acc = x->seg[x->off[i]];
    for (uint32_t k = 1; k < x->nseg[i] && acc != MPC_NO_WIRE; k++)
        acc = mpc_circ_add_gate(x->n, MPC_G_CONCAT, (mpc_type)g->type, s_seg_end(x, i, k), acc,
                                x->seg[x->off[i] + k], MPC_NO_WIRE, 0, 0, g->line, g->col);
    x->whole[i] = acc;
    return acc;
}

/* Elements [s, e) of gate i of c as a wire of n, inside one of its segments (the caller cut
 * at every segment boundary).  A gate of length 1 is a broadcast: the whole wire. */
static uint32_t s_piece(s_sc *x, uint32_t i, uint64_t s, uint64_t e)
{
    const mpc_gate *g = &x->c->gates[i];
    if (g->len == 1) return s_whole(x, i);
    uint32_t k = 0;
    while (s_seg_end(x, i, k) <= s) k++;
    uint64_t s0 = x->start[x->off[i] + k], e0 = s_seg_end(x, i, k);
    uint32_t w = x->seg[x->off[i] + k];
    if (s == s0 && e == e0) return w;
    const mpc_gate *ng = &x->n->gates[w];
    if (ng->kind != MPC_G_CONST)
        return mpc_circ_add_gate(x->n, MPC_G_SLICE, (mpc_type)g->type, e - s, w, MPC_NO_WIRE, MPC_NO_WIRE,
                                 s - s0, 1, g->line, g->col);
    /* A public operand (ADD_PUB, MUL_PUB) is cut as a constant: SLICE takes secret wires only.
     * Copied first: adding a constant may move the table it comes from. */
    uint64_t *v = malloc((size_t)(e - s) * sizeof *v);
    if (!v) return MPC_NO_WIRE;
    memcpy(v, x->n->consts + ng->aux[0] + (s - s0), (size_t)(e - s) * sizeof *v);
    uint32_t r = mpc_circ_add_const(x->n, (mpc_type)g->type, v, e - s, g->line, g->col);
    free(v);
    return r;
}

/* Gate i copied as it is, its operands whole. */
static int s_plain(s_sc *x, uint32_t i)
{
    const mpc_circuit *c = x->c;
    const mpc_gate *g = &c->gates[i];
    uint32_t w;
    if (g->kind == MPC_G_INPUT) {
        const mpc_input *in = &c->inputs[g->aux[0]];
        w = mpc_circ_add_input(x->n, in->name, in->party, (mpc_type)in->type, in->len, in->line, in->col);
    } else if (g->kind == MPC_G_CONST) {
        w = mpc_circ_add_const(x->n, (mpc_type)g->type, c->consts + g->aux[0], g->len, g->line, g->col);
    } else {
        uint32_t in[3] = {MPC_NO_WIRE, MPC_NO_WIRE, MPC_NO_WIRE};
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++)
            if ((in[k] = s_whole(x, g->in[k])) == MPC_NO_WIRE) return -1;
        if (g->kind == MPC_G_OUTPUT) {
            const mpc_output *o = &c->outputs[g->aux[0]];
            return mpc_circ_add_output(x->n, o->name, in[0], o->recipients, o->line, o->col) < 0 ? -1 : 0;
        }
        w = mpc_circ_add_gate(x->n, (mpc_gate_kind)g->kind, (mpc_type)g->type, g->len, in[0], in[1], in[2],
                              g->aux[0], g->aux[1], g->line, g->col);
    }
    return s_single(x, i, w);
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t u = *(const uint64_t *)a, v = *(const uint64_t *)b;
    return u < v ? -1 : u > v;
}

/* The common boundaries of gate i's operands of length len (bounds[0] = 0, bounds[n] = len):
 * the number of pieces n, or 0 when no operand is cut or there would be too many pieces. */
static uint32_t s_bounds(const s_sc *x, const mpc_gate *g, uint64_t len, uint64_t *bounds)
{
    uint32_t nb = 0, cut = 0;
    bounds[nb++] = 0;
    bounds[nb++] = len;
    for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) {
        uint32_t op = g->in[k];
        if (x->c->gates[op].len != len) continue;   /* a broadcast operand */
        if (x->nseg[op] > 1) cut = 1;
        for (uint32_t s = 1; s < x->nseg[op]; s++) bounds[nb++] = x->start[x->off[op] + s];
    }
    if (!cut) return 0;
    qsort(bounds, nb, sizeof *bounds, s_cmp_u64);
    uint32_t m = 1;
    for (uint32_t k = 1; k < nb; k++)
        if (bounds[k] != bounds[m - 1]) bounds[m++] = bounds[k];
    return m - 1 <= MPC_SPLIT_MAX_SEGS ? m - 1 : 0;
}

/* Gate i once per piece of its operands.  Element-wise gates give a segmented wire; SUM and
 * a whole DOT (reductions: `reduce`) give the ADD chain of the pieces' results. */
static int s_pieces(s_sc *x, uint32_t i, int reduce)
{
    const mpc_gate *g = &x->c->gates[i];
    uint64_t len = reduce ? x->c->gates[g->in[0]].len : g->len;
    uint64_t bounds[3 * MPC_SPLIT_MAX_SEGS + 2];
    uint32_t np = s_bounds(x, g, len, bounds);
    if (np == 0) return s_plain(x, i);
    int nop = mpc_gate_infos[g->kind].operands;
    uint32_t acc = MPC_NO_WIRE;
    if (!reduce) {
        x->off[i] = (uint32_t)x->nsegs;
        x->nseg[i] = (uint16_t)np;
        x->whole[i] = MPC_NO_WIRE;
    }
    for (uint32_t p = 0; p < np; p++) {
        uint64_t s = bounds[p], e = bounds[p + 1];
        uint32_t in[3] = {MPC_NO_WIRE, MPC_NO_WIRE, MPC_NO_WIRE};
        for (int k = 0; k < nop; k++) {
            /* The same operand twice is the same piece twice: x * x stays a square. */
            for (int j = 0; j < k && in[k] == MPC_NO_WIRE; j++)
                if (g->in[j] == g->in[k]) in[k] = in[j];
            if (in[k] == MPC_NO_WIRE && (in[k] = s_piece(x, g->in[k], s, e)) == MPC_NO_WIRE) return -1;
        }
        uint32_t w = mpc_circ_add_gate(x->n, (mpc_gate_kind)g->kind, (mpc_type)g->type, reduce ? 1 : e - s,
                                       in[0], in[1], in[2], g->aux[0], g->aux[1], g->line, g->col);
        if (w == MPC_NO_WIRE) return -1;
        if (!reduce) {
            if (s_push(x, w, s)) return -1;
            continue;
        }
        acc = acc == MPC_NO_WIRE ? w
            : mpc_circ_add_gate(x->n, MPC_G_ADD, (mpc_type)g->type, 1, acc, w, MPC_NO_WIRE, 0, 0, g->line, g->col);
        if (acc == MPC_NO_WIRE) return -1;
    }
    return reduce ? s_single(x, i, acc) : 0;
}

static int s_concat(s_sc *x, uint32_t i)
{
    const mpc_gate *g = &x->c->gates[i];
    uint32_t a = g->in[0], b = g->in[1];
    if ((uint32_t)x->nseg[a] + x->nseg[b] > MPC_SPLIT_MAX_SEGS) return s_plain(x, i);
    uint32_t off = (uint32_t)x->nsegs;
    /* Pushed one by one: s_push may move seg[] and start[]. */
    for (uint32_t k = 0; k < x->nseg[a]; k++)
        if (s_push(x, x->seg[x->off[a] + k], x->start[x->off[a] + k])) return -1;
    for (uint32_t k = 0; k < x->nseg[b]; k++)
        if (s_push(x, x->seg[x->off[b] + k], x->c->gates[a].len + x->start[x->off[b] + k])) return -1;
    x->off[i] = off;
    x->nseg[i] = (uint16_t)(x->nseg[a] + x->nseg[b]);
    x->whole[i] = MPC_NO_WIRE;
    return 0;
}

/* A SLICE with stride 1 of a segmented wire: the pieces of its segments inside the range,
 * still segmented (so a SUM of a block of a concatenation is still one SUM per part). */
static int s_slice(s_sc *x, uint32_t i)
{
    const mpc_gate *g = &x->c->gates[i];
    uint32_t op = g->in[0];
    if (g->aux[1] != 1 || x->nseg[op] < 2) return s_plain(x, i);
    uint64_t s = g->aux[0], e = s + g->len;
    uint32_t off = (uint32_t)x->nsegs, n = 0;
    for (uint32_t k = 0; k < x->nseg[op]; k++) {
        uint64_t s0 = x->start[x->off[op] + k], e0 = s_seg_end(x, op, k);
        uint64_t a = s0 > s ? s0 : s, b = e0 < e ? e0 : e;
        if (a >= b) continue;
        uint32_t w = s_piece(x, op, a, b);
        if (s_push(x, w, a - s)) return -1;
        n++;
    }
    x->off[i] = off;
    x->nseg[i] = (uint16_t)n;
    x->whole[i] = n == 1 ? x->seg[off] : MPC_NO_WIRE;
    return 0;
}

static int s_gate(s_sc *x, uint32_t i)
{
    const mpc_gate *g = &x->c->gates[i];
    const mpc_gate_info *in = &mpc_gate_infos[g->kind];
    if (g->kind == MPC_G_CONCAT) return s_concat(x, i);
    if (g->kind == MPC_G_SLICE) return s_slice(x, i);
    if (g->kind == MPC_G_SUM || (g->kind == MPC_G_DOT && g->aux[0] == 0)) return s_pieces(x, i, 1);
    if (in->shape == MPC_SHAPE_BCAST || in->shape == MPC_SHAPE_SAME) return s_pieces(x, i, 0);
    return s_plain(x, i);
}

int mpc_split_concat(const mpc_circuit *c, mpc_circuit **out, char *err, size_t errlen)
{
    s_sc x;
    memset(&x, 0, sizeof x);
    int r = -1;
    char e2[256];
    *out = NULL;
    if (c->n_locals) return mpc_errf(err, errlen, "circuit already has local parts");
    uint32_t ng = c->n_gates;
    x.c = c;
    x.n = mpc_circ_new_like(c);
    x.off = malloc((ng ? ng : 1) * sizeof *x.off);
    x.nseg = malloc((ng ? ng : 1) * sizeof *x.nseg);
    x.whole = malloc((ng ? ng : 1) * sizeof *x.whole);
    if (!x.n || !x.off || !x.nseg || !x.whole) { mpc_errf(err, errlen, "out of memory"); goto out; }
    if (mpc_circ_copy_dp(x.n, c)) { mpc_errf(err, errlen, "out of memory"); goto out; }
    for (uint32_t i = 0; i < ng; i++)
        if (s_gate(&x, i)) { mpc_errf(err, errlen, "out of memory or limits exceeded while splitting concatenations"); goto out; }
    if (mpc_circ_copy_joins(x.n, c)) { mpc_errf(err, errlen, "out of memory"); goto out; }
    if (mpc_circ_finish(x.n, e2, sizeof e2)) { mpc_errf(err, errlen, "after splitting concatenations: %s", e2); goto out; }
    *out = x.n;
    x.n = NULL;
    r = 0;
out:
    mpc_circ_destroy(&x.n);
    free(x.off);
    free(x.nseg);
    free(x.whole);
    free(x.seg);
    free(x.start);
    return r;
}
