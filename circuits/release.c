/* release.c — output supports and the release check (release.h). */
#include "release.h"
#include "joindecl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-element supports held over all wires at once, at most; beyond it wires collapse to one
 * support each (never less strict), so a hostile circuit cannot make the analysis big. */
#define S_BUDGET (1u << 22)

typedef struct {
    uint8_t         bits;   /* every element is 0 or 1, computed inside the circuit */
    uint8_t         noise;  /* a NOISE gate's elements, sliced or concatenated: noise alone */
    mpc_support_vec v;
} s_wire;

typedef struct {
    const mpc_circuit *c;
    s_wire            *w;
    uint64_t           budget;
    mpc_support_vec  **derived;   /* per input: the supports of the owner-local output it is, or NULL */
} s_ctx;

static const mpc_support S_ONE_ROW = {1, 0};

static uint64_t s_add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A count used as anything but a count: support 1. */
static mpc_support s_taint(mpc_support s)
{
    return s.count ? S_ONE_ROW : s;
}

static mpc_support s_min(mpc_support a, mpc_support b)
{
    a = s_taint(a);
    b = s_taint(b);
    return a.rows <= b.rows ? a : b;
}

/* The element of v an element-wise gate of length len reads at i (length-1 broadcasts). */
static mpc_support s_at(const mpc_support_vec *v, uint64_t i)
{
    return v->uniform ? v->one : v->el[v->len == 1 ? 0 : i];
}

/* The least strict support that is still no weaker than every element of v. */
static mpc_support s_floor(const mpc_support_vec *v)
{
    if (v->uniform) return s_taint(v->one);
    mpc_support m = {MPC_SUPPORT_NONE, 0};
    for (uint64_t i = 0; i < v->len; i++) m = s_min(m, v->el[i]);
    return m;
}

static void s_set_uniform(mpc_support_vec *v, uint64_t len, mpc_support s)
{
    free(v->el);
    v->el = NULL;
    v->len = len;
    v->uniform = 1;
    v->one = s;
}

/* Room for len per-element supports (from the budget), or 0: the caller collapses. */
static int s_alloc(s_ctx *x, mpc_support_vec *v, uint64_t len)
{
    if (len <= 1 || len > MPC_SUPPORT_MAX_ELEMS || len > x->budget) return 0;
    v->el = malloc(len * sizeof *v->el);
    if (!v->el) return -1;
    x->budget -= len;
    v->len = len;
    v->uniform = 0;
    return 1;
}

/* Makes v uniform when all its elements agree (gives the budget back). */
static void s_normalize(s_ctx *x, mpc_support_vec *v)
{
    if (v->uniform) return;
    for (uint64_t i = 1; i < v->len; i++)
        if (v->el[i].rows != v->el[0].rows || v->el[i].count != v->el[0].count) return;
    x->budget += v->len;
    s_set_uniform(v, v->len, v->el[0]);
}

/* An element-wise gate's element from its operands' elements. */
static mpc_support s_combine(const mpc_gate *g, const mpc_support *op, uint32_t nops)
{
    if ((g->kind == MPC_G_ADD || g->kind == MPC_G_SUB) && nops == 2 && op[0].count && op[1].count) {
        mpc_support s = {g->kind == MPC_G_ADD ? s_add_sat(op[0].rows, op[1].rows)
                                              : (op[0].rows > op[1].rows ? op[0].rows : op[1].rows), 1};
        return s;
    }
    mpc_support m = {MPC_SUPPORT_NONE, 0};
    for (uint32_t k = 0; k < nops; k++) m = s_min(m, op[k]);
    return m;
}

static int s_elementwise(s_ctx *x, const mpc_gate *g, mpc_support_vec *out)
{
    uint32_t nops = mpc_gate_infos[g->kind].operands;
    const mpc_support_vec *ops[3];
    int uniform = 1;
    for (uint32_t k = 0; k < nops; k++) {
        ops[k] = &x->w[g->in[k]].v;
        uniform &= ops[k]->uniform || ops[k]->len == 1;
    }
    mpc_support e[3] = {{0, 0}, {0, 0}, {0, 0}};
    if (!uniform) {
        int r = s_alloc(x, out, g->len);
        if (r < 0) return -1;
        if (r > 0) {
            for (uint64_t i = 0; i < g->len; i++) {
                for (uint32_t k = 0; k < nops; k++) e[k] = s_at(ops[k], i);
                out->el[i] = s_combine(g, e, nops);
            }
            s_normalize(x, out);
            return 0;
        }
        for (uint32_t k = 0; k < nops; k++) e[k] = s_floor(ops[k]);
        mpc_support m = s_combine(g, e, nops);
        s_set_uniform(out, g->len, s_taint(m));
        return 0;
    }
    for (uint32_t k = 0; k < nops; k++) e[k] = s_at(ops[k], 0);
    s_set_uniform(out, g->len, s_combine(g, e, nops));
    return 0;
}

/* SUM: the rows of all elements; a count when it sums the circuit's own bits. */
static void s_sum(s_ctx *x, const mpc_gate *g, mpc_support_vec *out)
{
    const s_wire *in = &x->w[g->in[0]];
    uint64_t len = x->c->gates[g->in[0]].len;
    mpc_support s = {0, 0};
    int any_count = 0;
    if (in->v.uniform) {
        any_count = in->v.one.count;
        uint64_t r = in->v.one.rows;
        s.rows = r == MPC_SUPPORT_NONE ? r : (len && r > UINT64_MAX / len ? UINT64_MAX : r * len);
    } else {
        for (uint64_t i = 0; i < in->v.len; i++) {
            any_count |= in->v.el[i].count;
            s.rows = s_add_sat(s.rows, in->v.el[i].rows);
        }
    }
    if (any_count) s = S_ONE_ROW;
    else s.count = in->bits && s.rows != MPC_SUPPORT_NONE;
    s_set_uniform(out, 1, s);
}

/* DOT: per segment, the rows of its elements (the smaller of the two operands' each). */
static int s_dot(s_ctx *x, const mpc_gate *g, mpc_support_vec *out)
{
    const mpc_support_vec *a = &x->w[g->in[0]].v, *b = &x->w[g->in[1]].v;
    uint64_t L = x->c->gates[g->in[0]].len, seg = g->aux[0] ? g->aux[0] : L;
    int r = s_alloc(x, out, g->len);
    if (r < 0) return -1;
    mpc_support m = {MPC_SUPPORT_NONE, 0};
    for (uint64_t j = 0; j < g->len; j++) {
        mpc_support s = {0, 0};
        uint64_t hi = (j + 1) * seg < L ? (j + 1) * seg : L;
        if (a->uniform && b->uniform) {
            mpc_support e = s_min(a->one, b->one);
            uint64_t n = hi - j * seg;
            s.rows = e.rows == MPC_SUPPORT_NONE ? e.rows : (n && e.rows > UINT64_MAX / n ? UINT64_MAX : e.rows * n);
        } else {
            for (uint64_t i = j * seg; i < hi; i++) s.rows = s_add_sat(s.rows, s_min(s_at(a, i), s_at(b, i)).rows);
        }
        if (r > 0) out->el[j] = s;
        else m = s_min(m, s);
    }
    if (r > 0) s_normalize(x, out);
    else s_set_uniform(out, g->len, m);
    return 0;
}

/* SLICE and CONCAT move supports with their elements. */
static int s_move(s_ctx *x, const mpc_gate *g, mpc_support_vec *out)
{
    const mpc_support_vec *a = &x->w[g->in[0]].v;
    const mpc_support_vec *b = g->kind == MPC_G_CONCAT ? &x->w[g->in[1]].v : NULL;
    if (!b && a->uniform) {
        s_set_uniform(out, g->len, a->one);
        return 0;
    }
    if (b && a->uniform && b->uniform && a->one.rows == b->one.rows && a->one.count == b->one.count) {
        s_set_uniform(out, g->len, a->one);
        return 0;
    }
    int r = s_alloc(x, out, g->len);
    if (r < 0) return -1;
    if (r == 0) {
        mpc_support m = s_floor(a);
        if (b) m = s_min(m, s_floor(b));
        s_set_uniform(out, g->len, m);
        return 0;
    }
    uint64_t la = x->c->gates[g->in[0]].len;
    for (uint64_t i = 0; i < g->len; i++) {
        if (b) out->el[i] = i < la ? s_at(a, i) : s_at(b, i - la);
        else out->el[i] = s_at(a, g->aux[0] + i * g->aux[1]);
    }
    s_normalize(x, out);
    return 0;
}

/* ADD of a value and noise (dpgen.c's noisy release; after splitcat.h the noise of a vector
 * may reach its elements through SLICE and CONCAT): the value's supports, so a noisy count
 * stays a count and the release circuit compares the noisy value with min_rows. */
static int s_noisy(s_ctx *x, const mpc_gate *g, const mpc_support_vec *v, mpc_support_vec *out)
{
    if (v->uniform || v->len == 1) {
        s_set_uniform(out, g->len, s_at(v, 0));
        return 0;
    }
    int r = s_alloc(x, out, g->len);
    if (r <= 0) {
        s_set_uniform(out, g->len, s_floor(v));
        return r;
    }
    for (uint64_t i = 0; i < g->len; i++) out->el[i] = s_at(v, i);
    return 0;
}

static int s_gate(s_ctx *x, uint32_t id)
{
    const mpc_gate *g = &x->c->gates[id];
    s_wire *w = &x->w[id];
    w->v.uniform = 1;
    w->v.len = g->len;
    switch ((mpc_gate_kind)g->kind) {
    case MPC_G_INPUT: {
        const mpc_support_vec *d = x->derived ? x->derived[g->aux[0]] : NULL;
        w->v.one = S_ONE_ROW;
        if (!d || d->uniform) {
            if (d) w->v.one = d->one;
            return 0;
        }
        int r = s_alloc(x, &w->v, g->len);
        if (r <= 0) {
            s_set_uniform(&w->v, g->len, s_floor(d));
            return r;
        }
        memcpy(w->v.el, d->el, g->len * sizeof *d->el);
        return 0;
    }
    case MPC_G_CONST:
    case MPC_G_OUTPUT:
        w->v.one.rows = MPC_SUPPORT_NONE;
        return 0;
    case MPC_G_SUM:
        s_sum(x, g, &w->v);
        return 0;
    case MPC_G_DOT:
        return s_dot(x, g, &w->v);
    case MPC_G_SLICE:
        w->bits = x->w[g->in[0]].bits;
        w->noise = x->w[g->in[0]].noise;
        return s_move(x, g, &w->v);
    case MPC_G_CONCAT:
        w->bits = x->w[g->in[0]].bits && x->w[g->in[1]].bits;
        w->noise = x->w[g->in[0]].noise && x->w[g->in[1]].noise;
        return s_move(x, g, &w->v);
    case MPC_G_NOISE:
        w->noise = 1;
        w->v.one.rows = MPC_SUPPORT_NONE;
        return 0;
    case MPC_G_LTZ:
    case MPC_G_EQZ:
        w->bits = 1;
        return s_elementwise(x, g, &w->v);
    case MPC_G_MUL:
        w->bits = x->w[g->in[0]].bits && x->w[g->in[1]].bits;
        return s_elementwise(x, g, &w->v);
    case MPC_G_ADD:
        for (int k = 0; k < 2; k++)
            if (x->w[g->in[k]].noise) return s_noisy(x, g, &x->w[g->in[1 - k]].v, &w->v);
        return s_elementwise(x, g, &w->v);
    default:
        return s_elementwise(x, g, &w->v);
    }
}

void mpc_support_free(mpc_support_vec **v, uint32_t n)
{
    if (!*v) return;
    for (uint32_t i = 0; i < n; i++) free((*v)[i].el);
    free(*v);
    *v = NULL;
}

/* The supports of c's derived inputs (pushdown.h): each is an output of an owner-local part,
 * which the owner computes in the clear from its own rows, so its support is that output's.
 * *derived receives one pointer per input (NULL: a plain input), pointing into *locals (the
 * supports of each local part's outputs).  0, or -1 when out of memory. */
static int s_derived(const mpc_circuit *c, mpc_support_vec ***derived, mpc_support_vec ***locals)
{
    *derived = NULL;
    *locals = NULL;
    if (!c->n_locals) return 0;
    *derived = calloc(c->n_inputs ? c->n_inputs : 1, sizeof **derived);
    *locals = calloc(c->n_locals, sizeof **locals);
    if (!*derived || !*locals) return -1;
    for (uint32_t l = 0; l < c->n_locals; l++) {
        const mpc_circuit *lc = c->locals[l];
        if (lc->n_locals || mpc_circ_support(lc, &(*locals)[l]) != 0) return -1;
        for (uint32_t o = 0; o < lc->n_outputs; o++)
            for (uint32_t k = 0; k < c->n_inputs; k++)
                if (!strcmp(c->inputs[k].name, lc->outputs[o].name) && c->inputs[k].len == lc->outputs[o].len)
                    (*derived)[k] = &(*locals)[l][o];
    }
    return 0;
}

int mpc_circ_support(const mpc_circuit *c, mpc_support_vec **out)
{
    *out = NULL;
    s_ctx x = {c, calloc(c->n_gates ? c->n_gates : 1, sizeof(s_wire)), S_BUDGET, NULL};
    mpc_support_vec *res = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *res);
    mpc_support_vec **locals = NULL;
    int rc = x.w && res ? s_derived(c, &x.derived, &locals) : -1;
    for (uint32_t g = 0; rc == 0 && g < c->n_gates; g++) rc = s_gate(&x, g);
    for (uint32_t o = 0; rc == 0 && o < c->n_outputs; o++) {
        const mpc_support_vec *v = &x.w[c->outputs[o].wire].v;
        res[o] = *v;
        if (!v->uniform) {
            res[o].el = malloc(v->len * sizeof *v->el);
            if (!res[o].el) rc = -1;
            else memcpy(res[o].el, v->el, v->len * sizeof *v->el);
        }
    }
    for (uint32_t g = 0; x.w && g < c->n_gates; g++) free(x.w[g].v.el);
    free(x.w);
    for (uint32_t l = 0; locals && l < c->n_locals; l++) mpc_support_free(&locals[l], c->locals[l]->n_outputs);
    free(locals);
    free(x.derived);
    if (rc != 0) {
        mpc_support_free(&res, c->n_outputs);
        return -1;
    }
    *out = res;
    return 0;
}

/* ---- the release circuit ---- */

static int s_copy_tables(const mpc_circuit *c, mpc_circuit *n)
{
    n->frac_bits = c->frac_bits;
    n->n_parties = c->n_parties;
    memcpy(n->party_names, c->party_names, sizeof n->party_names);
    memcpy(n->source, c->source, sizeof n->source);
    n->warnings = c->warnings;
    if (c->n_inputs) {
        n->inputs = malloc(c->n_inputs * sizeof *n->inputs);
        if (!n->inputs) return -1;
        memcpy(n->inputs, c->inputs, c->n_inputs * sizeof *n->inputs);
        n->n_inputs = n->cap_inputs = c->n_inputs;
    }
    if (mpc_circ_copy_joins(n, c)) return -1;   /* the same inputs: the same join records */
    if (c->n_consts) {
        n->consts = malloc(c->n_consts * sizeof *n->consts);
        if (!n->consts) return -1;
        memcpy(n->consts, c->consts, c->n_consts * sizeof *n->consts);
        n->n_consts = n->cap_consts = c->n_consts;
    }
    return 0;
}

/* Appends the check of output o (wire w in n): returns the masked wire and sets *pass. */
static uint32_t s_check(mpc_circuit *n, const mpc_output *o, const mpc_support_vec *sv, uint32_t w,
                        uint64_t min_rows, uint32_t *pass)
{
    uint64_t L = o->len, neg = 0 - min_rows, one = 1;
    uint32_t kc = mpc_circ_add_const(n, MPC_T_INT, &neg, 1, o->line, o->col);
    uint32_t d = mpc_circ_add_gate(n, MPC_G_ADD_PUB, MPC_T_INT, L, w, kc, MPC_NO_WIRE, 0, 0, o->line, o->col);
    uint32_t lt = mpc_circ_add_gate(n, MPC_G_LTZ, MPC_T_BOOL, L, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, o->line, o->col);
    int all = sv->uniform;
    if (!all) {
        uint64_t *mask = malloc(L * sizeof *mask);
        if (!mask) return MPC_NO_WIRE;
        for (uint64_t i = 0; i < L; i++) mask[i] = mpc_support_at(sv, i)->count ? 1 : 0;
        uint32_t mc = mpc_circ_add_const(n, MPC_T_INT, mask, L, o->line, o->col);
        free(mask);
        lt = mpc_circ_add_gate(n, MPC_G_MUL_PUB, MPC_T_BOOL, L, lt, mc, MPC_NO_WIRE, 0, 0, o->line, o->col);
    }
    uint32_t nl = mpc_circ_add_gate(n, MPC_G_NEG, MPC_T_INT, L, lt, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, o->line, o->col);
    uint32_t oc = mpc_circ_add_const(n, MPC_T_INT, &one, 1, o->line, o->col);
    *pass = mpc_circ_add_gate(n, MPC_G_ADD_PUB, MPC_T_BOOL, L, nl, oc, MPC_NO_WIRE, 0, 0, o->line, o->col);
    return mpc_circ_add_gate(n, MPC_G_MUL, (mpc_type)o->type, L, w, *pass, MPC_NO_WIRE, 0, 0, o->line, o->col);
}

int mpc_release_circuit(const mpc_circuit *c, const mpc_support_vec *sup, uint64_t min_rows,
                        mpc_circuit **out, uint8_t *has_pass, char *err, size_t errlen)
{
    *out = NULL;
    mpc_circuit *n = mpc_circ_new();
    uint32_t *map = calloc(c->n_gates ? c->n_gates : 1, sizeof *map);
    uint32_t *wires = calloc(2 * (size_t)(c->n_outputs ? c->n_outputs : 1), sizeof *wires);
    int rc = n && map && wires && s_copy_tables(c, n) == 0 ? 0 : -1;
    for (uint32_t g = 0; rc == 0 && g < c->n_gates; g++) {
        const mpc_gate *gt = &c->gates[g];
        if (gt->kind == MPC_G_OUTPUT) {
            map[g] = MPC_NO_WIRE;
            continue;
        }
        uint32_t in[3];
        for (int k = 0; k < 3; k++) in[k] = gt->in[k] == MPC_NO_WIRE ? MPC_NO_WIRE : map[gt->in[k]];
        map[g] = mpc_circ_add_gate(n, (mpc_gate_kind)gt->kind, (mpc_type)gt->type, gt->len, in[0], in[1], in[2],
                                   gt->aux[0], gt->aux[1], gt->line, gt->col);
        if (map[g] == MPC_NO_WIRE) rc = -1;
        else if (gt->kind == MPC_G_INPUT) n->inputs[gt->aux[0]].wire = map[g];
    }
    for (uint32_t o = 0; rc == 0 && o < c->n_outputs; o++) {
        const mpc_support_vec *sv = &sup[o];
        int counts = 0;
        for (uint64_t i = 0; i < (sv->uniform ? 1 : sv->len) && !counts; i++) counts = mpc_support_at(sv, i)->count;
        has_pass[o] = min_rows > 0 && counts;
        wires[o] = map[c->outputs[o].wire];
        wires[c->n_outputs + o] = MPC_NO_WIRE;
        if (has_pass[o]) wires[o] = s_check(n, &c->outputs[o], sv, wires[o], min_rows, &wires[c->n_outputs + o]);
        if (wires[o] == MPC_NO_WIRE) rc = -1;
    }
    uint32_t all = c->n_parties >= 32 ? UINT32_MAX : (1u << c->n_parties) - 1;
    for (uint32_t o = 0; rc == 0 && o < c->n_outputs; o++)
        if (mpc_circ_add_output(n, c->outputs[o].name, wires[o], c->outputs[o].recipients, c->outputs[o].line,
                                c->outputs[o].col) < 0)
            rc = -1;
    for (uint32_t o = 0; rc == 0 && o < c->n_outputs; o++) {
        if (!has_pass[o]) continue;
        char name[MPC_NAME_MAX];
        snprintf(name, sizeof name, "_pass.%u", (unsigned)o);
        if (mpc_circ_add_output(n, name, wires[c->n_outputs + o], all, c->outputs[o].line, c->outputs[o].col) < 0)
            rc = -1;
    }
    if (rc != 0) snprintf(err, errlen, "out of memory building the release check");
    else rc = mpc_circ_finish(n, err, errlen);
    free(map);
    free(wires);
    if (rc != 0) {
        mpc_circ_destroy(&n);
        return -1;
    }
    *out = n;
    return 0;
}
