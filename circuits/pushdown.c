/* pushdown.c — owner-local pushdown (pushdown.h).
 *
 * Ownership of a wire: CONST wires are public; an INPUT wire belongs to its party; any other
 * gate belongs to party p when every secret operand belongs to p, and to the MPC part
 * otherwise (operands of two parties, or of the MPC part; OUTPUT gates always).  Gates of
 * party p other than INPUT and CONST move to p's local part; a wire of p read by the MPC part
 * becomes an output of the local part and a derived input of the MPC part.  Constants are
 * copied into every part that reads them.  A local part only computes values the owner could
 * compute from its own inputs, and they enter the MPC as that owner's secret inputs. */
#include "pushdown.h"
#include "dp.h"
#include "diag.h"
#include "joindecl.h"
#include "splitcat.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MPC    (-2)
#define S_PUBLIC (-1)


static int s_find_input(const mpc_circuit *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_inputs; i++)
        if (strcmp(c->inputs[i].name, name) == 0) return (int)i;
    return -1;
}

static int s_find_output(const mpc_circuit *c, const char *name)
{
    for (uint32_t i = 0; i < c->n_outputs; i++)
        if (strcmp(c->outputs[i].name, name) == 0) return (int)i;
    return -1;
}

const mpc_circuit *mpc_circ_local_of(const mpc_circuit *c, uint32_t p)
{
    for (uint32_t l = 0; l < c->n_locals; l++)
        if (c->locals[l]->n_inputs && c->locals[l]->inputs[0].party == p) return c->locals[l];
    return NULL;
}

const mpc_circuit *mpc_circ_input_local(const mpc_circuit *c, uint32_t i)
{
    if (i >= c->n_inputs) return NULL;
    const mpc_circuit *l = mpc_circ_local_of(c, c->inputs[i].party);
    return l && s_find_output(l, c->inputs[i].name) >= 0 ? l : NULL;
}

int mpc_circ_validate_locals(const mpc_circuit *c, const mpc_circ_limits *lim, char *err, size_t errlen)
{
    char e2[256];
    uint32_t seen = 0;
    if (c->n_locals > c->n_parties || !c->locals)
        return mpc_errf(err, errlen, "%u local parts for %u parties", (unsigned)c->n_locals, (unsigned)c->n_parties);
    for (uint32_t l = 0; l < c->n_locals; l++) {
        const mpc_circuit *lc = c->locals[l];
        if (!lc) return mpc_errf(err, errlen, "local part %u missing", (unsigned)l);
        if (lc->n_locals) return mpc_errf(err, errlen, "local part %u has local parts", (unsigned)l);
        if (mpc_circ_validate(lc, lim, e2, sizeof e2) != 0)
            return mpc_errf(err, errlen, "local part %u: %s", (unsigned)l, e2);
        if (lc->n_parties != c->n_parties || lc->frac_bits != c->frac_bits)
            return mpc_errf(err, errlen, "local part %u: parties or precision differ from the circuit's", (unsigned)l);
        for (uint32_t p = 0; p < c->n_parties; p++)
            if (strcmp(lc->party_names[p], c->party_names[p]) != 0)
                return mpc_errf(err, errlen, "local part %u: parties differ from the circuit's", (unsigned)l);
        if (lc->n_inputs == 0) return mpc_errf(err, errlen, "local part %u has no inputs", (unsigned)l);
        uint32_t p = lc->inputs[0].party;
        if (seen & (1u << p))
            return mpc_errf(err, errlen, "party '%s' has two local parts", c->party_names[p]);
        seen |= 1u << p;
        for (uint32_t i = 0; i < lc->n_inputs; i++) {
            const mpc_input *li = &lc->inputs[i];
            if (li->party != p)
                return mpc_errf(err, errlen, "local part of '%s': input '%s' is from another party",
                             c->party_names[p], li->name);
            int j = s_find_input(c, li->name);
            if (j >= 0 && (c->inputs[j].party != p || c->inputs[j].type != li->type || c->inputs[j].len != li->len))
                return mpc_errf(err, errlen, "local part of '%s': input '%s' differs from the circuit's",
                             c->party_names[p], li->name);
            if (s_find_output(lc, li->name) >= 0)
                return mpc_errf(err, errlen, "local part of '%s': '%s' is both its input and its output",
                             c->party_names[p], li->name);
        }
        for (uint32_t o = 0; o < lc->n_outputs; o++) {
            const mpc_output *lo = &lc->outputs[o];
            if (lo->recipients != 1u << p)
                return mpc_errf(err, errlen, "local part of '%s': output '%s' goes to another party",
                             c->party_names[p], lo->name);
            int j = s_find_input(c, lo->name);
            if (j < 0 || c->inputs[j].party != p || c->inputs[j].type != lo->type || c->inputs[j].len != lo->len)
                return mpc_errf(err, errlen, "local part of '%s': output '%s' is no input of the circuit",
                             c->party_names[p], lo->name);
        }
    }
    return 0;
}

int mpc_circ_declared_inputs(const mpc_circuit *c, mpc_input **out, uint32_t *n)
{
    uint64_t cap = c->n_inputs;
    for (uint32_t l = 0; l < c->n_locals; l++) cap += c->locals[l]->n_inputs;
    mpc_input *d = calloc(cap ? cap : 1, sizeof *d);
    if (!d) return -1;
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->n_inputs; i++)
        if (!mpc_circ_input_local(c, i)) d[k++] = c->inputs[i];
    for (uint32_t l = 0; l < c->n_locals; l++)
        for (uint32_t i = 0; i < c->locals[l]->n_inputs; i++)
            if (s_find_input(c, c->locals[l]->inputs[i].name) < 0) d[k++] = c->locals[l]->inputs[i];
    /* In source order (a stable sort by position; a circuit without positions keeps this). */
    for (uint32_t i = 1; c->n_locals && i < k; i++) {
        mpc_input t = d[i];
        uint32_t j = i;
        while (j > 0 && (d[j - 1].line > t.line || (d[j - 1].line == t.line && d[j - 1].col > t.col))) {
            d[j] = d[j - 1];
            j--;
        }
        d[j] = t;
    }
    *out = d;
    *n = k;
    return 0;
}

static int s_decl_index(const mpc_input *decl, uint32_t ndecl, const char *name)
{
    for (uint32_t k = 0; k < ndecl; k++)
        if (strcmp(decl[k].name, name) == 0) return (int)k;
    return -1;
}

/* Runs local part lc on the declared values; its outputs go to vals[] of c (owned). */
static int s_run_local(const mpc_circuit *c, const mpc_circuit *lc, const mpc_input *decl, uint32_t ndecl,
                       const uint64_t *const *decl_vals, uint64_t **vals, uint8_t *owned,
                       mpc_eval_result *warn, char *err, size_t errlen)
{
    const uint64_t **in = calloc(lc->n_inputs, sizeof *in);
    if (!in) return mpc_errf(err, errlen, "out of memory");
    int missing = 0;
    for (uint32_t i = 0; i < lc->n_inputs; i++) {
        int k = s_decl_index(decl, ndecl, lc->inputs[i].name);
        in[i] = k >= 0 ? decl_vals[k] : NULL;
        if (!in[i]) missing = 1;
    }
    if (missing) {
        size_t off = 0;
        int n = snprintf(err, errlen, "inputs");
        if (n > 0) off = (size_t)n;
        for (uint32_t i = 0; i < lc->n_inputs && off < errlen; i++) {
            n = snprintf(err + off, errlen - off, "%s '%s'", i ? "," : "", lc->inputs[i].name);
            if (n > 0) off += (size_t)n;
        }
        if (off < errlen)
            snprintf(err + off, errlen - off, " of party '%s' must be given together: the party computes "
                     "their local part before sharing (or compile or run with --no-pushdown)",
                     c->party_names[lc->inputs[0].party]);
        free(in);
        return -1;
    }
    mpc_eval_result res;
    char e2[256];
    if (mpc_eval(lc, in, &res, e2, sizeof e2) != 0) {
        free(in);
        return mpc_errf(err, errlen, "local part of '%s': %s", c->party_names[lc->inputs[0].party], e2);
    }
    free(in);
    for (uint32_t o = 0; o < lc->n_outputs; o++) {
        int j = s_find_input(c, lc->outputs[o].name);
        if (j < 0) continue;   /* validated: cannot happen */
        if (owned[j]) free(vals[j]);
        vals[j] = res.outputs[o];
        owned[j] = 1;
        res.outputs[o] = NULL;
    }
    for (uint32_t w = 0; warn && w < res.n_warnings; w++) {
        mpc_eval_warning *nw = realloc(warn->warnings, (warn->n_warnings + 1) * sizeof *nw);
        if (!nw) break;
        warn->warnings = nw;
        warn->warnings[warn->n_warnings++] = res.warnings[w];
    }
    mpc_eval_result_free(&res);
    return 0;
}

int mpc_pushdown_derive(const mpc_circuit *c, uint32_t party, const mpc_input *decl, uint32_t ndecl,
                        const uint64_t *const *decl_vals, uint64_t **vals, uint8_t *owned,
                        mpc_eval_result *warn, char *err, size_t errlen)
{
    for (uint32_t l = 0; l < c->n_locals; l++) {
        const mpc_circuit *lc = c->locals[l];
        if (party != UINT32_MAX && lc->inputs[0].party != party) continue;
        if (s_run_local(c, lc, decl, ndecl, decl_vals, vals, owned, warn, err, errlen)) return -1;
    }
    for (uint32_t j = 0; j < c->n_inputs; j++) {
        if ((party != UINT32_MAX && c->inputs[j].party != party) || mpc_circ_input_local(c, j)) continue;
        int k = s_decl_index(decl, ndecl, c->inputs[j].name);
        if (owned[j]) free(vals[j]);
        vals[j] = k >= 0 ? (uint64_t *)decl_vals[k] : NULL;   /* NULL: not given (here) */
        owned[j] = 0;
    }
    return 0;
}

int mpc_eval_declared(const mpc_circuit *c, const mpc_input *decl, uint32_t ndecl,
                      const uint64_t *const *decl_vals, mpc_eval_result *res, char *err, size_t errlen)
{
    uint64_t **vals = calloc(c->n_inputs + 1, sizeof *vals);
    uint8_t *owned = calloc(c->n_inputs + 1, 1);
    mpc_eval_result lw;
    memset(&lw, 0, sizeof lw);
    memset(res, 0, sizeof *res);
    int r = -1;
    if (!vals || !owned) { mpc_errf(err, errlen, "out of memory"); goto out; }
    if (mpc_pushdown_derive(c, UINT32_MAX, decl, ndecl, decl_vals, vals, owned, &lw, err, errlen)) goto out;
    if (mpc_eval(c, (const uint64_t *const *)vals, res, err, errlen)) goto out;
    if (lw.n_warnings) {   /* local warnings first: they come from earlier gates */
        mpc_eval_warning *nw = realloc(lw.warnings, (lw.n_warnings + res->n_warnings) * sizeof *nw);
        if (nw) {
            if (res->n_warnings) memcpy(nw + lw.n_warnings, res->warnings, res->n_warnings * sizeof *nw);
            free(res->warnings);
            res->warnings = nw;
            res->n_warnings += lw.n_warnings;
            lw.warnings = NULL;
        }
    }
    r = 0;
out:
    for (uint32_t j = 0; vals && owned && j < c->n_inputs; j++)
        if (owned[j]) free(vals[j]);
    free(vals);
    free(owned);
    free(lw.warnings);
    return r;
}

void mpc_circ_local_stats(const mpc_circuit *c, uint32_t p, mpc_circ_stats *st)
{
    memset(st, 0, sizeof *st);
    const mpc_circuit *lc = mpc_circ_local_of(c, p);
    if (lc) mpc_circ_stats_get(lc, st);
}

/* ---- the transformation ----------------------------------------------------------------- */

typedef struct {
    const mpc_circuit *c;
    mpc_circuit       *main;
    mpc_circuit       *local[MPC_MAX_PARTIES];
    int32_t           *owner;     /* per gate: party, S_PUBLIC or S_MPC */
    uint8_t           *mpcuse;    /* read by an MPC-part gate */
    uint32_t          *lmask;     /* parties whose local part reads it */
    uint32_t          *map_main;  /* wire in the MPC part */
    uint32_t          *map_loc[MPC_MAX_PARTIES];
} s_pd;

/* A name for the derived input carrying wire w: the input it starts from (following first
 * operands) and the kind of its last gate other than a truncation, e.g. `xa.dot`. */
static void s_derived_name(const s_pd *x, uint32_t w, char *name)
{
    const mpc_circuit *c = x->c;
    uint32_t k = w;
    if (c->gates[k].kind == MPC_G_TRUNC) k = c->gates[k].in[0];
    const char *kind = mpc_gate_infos[c->gates[k].kind].name;
    uint32_t r = w;
    while (c->gates[r].kind != MPC_G_INPUT) {
        const mpc_gate *g = &c->gates[r];
        uint32_t nxt = g->in[0];
        for (int o = 0; o < mpc_gate_infos[g->kind].operands; o++)
            if (x->owner[g->in[o]] >= 0) { nxt = g->in[o]; break; }
        r = nxt;
    }
    const char *base = c->inputs[c->gates[r].aux[0]].name;
    int room = MPC_NAME_MAX - 1 - 1 - (int)strlen(kind) - 4;
    for (unsigned n = 1;; n++) {
        if (n == 1) snprintf(name, MPC_NAME_MAX, "%.*s.%s", room, base, kind);
        else snprintf(name, MPC_NAME_MAX, "%.*s.%s%u", room, base, kind, n);
        if (s_find_input(c, name) < 0 && s_find_input(x->main, name) < 0) return;
    }
}

static void s_analyse(s_pd *x)
{
    const mpc_circuit *c = x->c;
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        int32_t o = S_PUBLIC;
        /* A join's output is no party's value (the daemons give its shares): MPC only. */
        if (g->kind == MPC_G_INPUT) o = mpc_join_input_of(c->inputs[g->aux[0]].name) ? S_MPC : (int32_t)c->inputs[g->aux[0]].party;
        else if (g->kind == MPC_G_OUTPUT) o = S_MPC;
        else if (g->kind != MPC_G_CONST) {
            for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) {
                int32_t ow = x->owner[g->in[k]];
                if (ow == S_PUBLIC) continue;
                if (ow == S_MPC || (o != S_PUBLIC && o != ow)) { o = S_MPC; break; }
                o = ow;
            }
            if (o == S_PUBLIC) o = S_MPC;
        }
        x->owner[i] = o;
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) {
            if (o == S_MPC) x->mpcuse[g->in[k]] = 1;
            else x->lmask[g->in[k]] |= 1u << o;
        }
    }
}

static uint32_t s_emit(mpc_circuit *dst, const mpc_gate *g, const uint32_t *map)
{
    uint32_t in[3] = {MPC_NO_WIRE, MPC_NO_WIRE, MPC_NO_WIRE};
    for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) in[k] = map[g->in[k]];
    return mpc_circ_add_gate(dst, (mpc_gate_kind)g->kind, (mpc_type)g->type, g->len, in[0], in[1], in[2],
                             g->aux[0], g->aux[1], g->line, g->col);
}

static int s_emit_gate(s_pd *x, uint32_t i)
{
    const mpc_circuit *c = x->c;
    const mpc_gate *g = &c->gates[i];
    int32_t o = x->owner[i];
    if (g->kind == MPC_G_INPUT || g->kind == MPC_G_CONST) {
        for (uint32_t p = 0; p < c->n_parties; p++) {
            if (!(x->lmask[i] & (1u << p))) continue;
            uint32_t w = g->kind == MPC_G_INPUT
                ? mpc_circ_add_input(x->local[p], c->inputs[g->aux[0]].name, p, (mpc_type)g->type, g->len, g->line, g->col)
                : mpc_circ_add_const(x->local[p], (mpc_type)g->type, c->consts + g->aux[0], g->len, g->line, g->col);
            if (w == MPC_NO_WIRE) return -1;
            x->map_loc[p][i] = w;
        }
        /* An input nobody reads stays an MPC input: the party still gives it; so does a join's
         * payload column, which the join (outside the circuit) reads. */
        if (x->mpcuse[i] || (g->kind == MPC_G_INPUT && (!x->lmask[i] || mpc_circ_join_payload(c, (uint32_t)g->aux[0])))) {
            uint32_t w = g->kind == MPC_G_INPUT
                ? mpc_circ_add_input(x->main, c->inputs[g->aux[0]].name, c->inputs[g->aux[0]].party, (mpc_type)g->type, g->len, g->line, g->col)
                : mpc_circ_add_const(x->main, (mpc_type)g->type, c->consts + g->aux[0], g->len, g->line, g->col);
            if (w == MPC_NO_WIRE) return -1;
            x->map_main[i] = w;
        }
        return 0;
    }
    if (o == S_MPC) {
        if (g->kind == MPC_G_OUTPUT) {
            const mpc_output *out = &c->outputs[g->aux[0]];
            return mpc_circ_add_output(x->main, out->name, x->map_main[g->in[0]], out->recipients, out->line,
                                       out->col) < 0 ? -1 : 0;
        }
        x->map_main[i] = s_emit(x->main, g, x->map_main);
        return x->map_main[i] == MPC_NO_WIRE ? -1 : 0;
    }
    uint32_t p = (uint32_t)o;
    uint32_t w = s_emit(x->local[p], g, x->map_loc[p]);
    if (w == MPC_NO_WIRE) return -1;
    x->map_loc[p][i] = w;
    if (x->mpcuse[i]) {
        char name[MPC_NAME_MAX];
        s_derived_name(x, i, name);
        if (mpc_circ_add_output(x->local[p], name, w, 1u << p, g->line, g->col) < 0) return -1;
        x->map_main[i] = mpc_circ_add_input(x->main, name, p, (mpc_type)g->type, g->len, g->line, g->col);
        if (x->map_main[i] == MPC_NO_WIRE) return -1;
    }
    return 0;
}

static int s_pushdown(const mpc_circuit *c, mpc_circuit **out, char *err, size_t errlen)
{
    s_pd x;
    memset(&x, 0, sizeof x);
    int r = -1;
    char e2[256];
    *out = NULL;
    if (c->n_locals) return mpc_errf(err, errlen, "circuit already has local parts");
    uint32_t ng = c->n_gates;
    x.c = c;
    x.owner = calloc(ng, sizeof *x.owner);
    x.mpcuse = calloc(ng, 1);
    x.lmask = calloc(ng, sizeof *x.lmask);
    x.map_main = malloc(ng * sizeof *x.map_main);
    x.main = mpc_circ_new_like(c);
    if (x.main && mpc_circ_copy_dp(x.main, c)) mpc_circ_destroy(&x.main);
    if (!x.owner || !x.mpcuse || !x.lmask || !x.map_main || !x.main) { mpc_errf(err, errlen, "out of memory"); goto out; }
    memset(x.map_main, 0xff, ng * sizeof *x.map_main);
    s_analyse(&x);
    /* A party gets a local part when one of its gates other than INPUT is read by the MPC part. */
    uint32_t parts = 0;
    for (uint32_t i = 0; i < ng; i++)
        if (x.owner[i] >= 0 && x.mpcuse[i] && c->gates[i].kind != MPC_G_INPUT) parts |= 1u << x.owner[i];
    for (uint32_t i = 0; i < ng; i++) {   /* parties without a part keep their gates in the MPC */
        if (x.owner[i] >= 0 && !(parts & (1u << x.owner[i])) && c->gates[i].kind != MPC_G_INPUT) x.owner[i] = S_MPC;
        x.lmask[i] &= parts;
    }
    if (parts) {   /* recompute the MPC reads after the demotion above */
        memset(x.mpcuse, 0, ng);
        for (uint32_t i = 0; i < ng; i++) {
            const mpc_gate *g = &c->gates[i];
            if (x.owner[i] == S_MPC || g->kind == MPC_G_OUTPUT)
                for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) x.mpcuse[g->in[k]] = 1;
        }
    }
    for (uint32_t p = 0; p < c->n_parties; p++) {
        if (!(parts & (1u << p))) continue;
        x.local[p] = mpc_circ_new_like(c);
        x.map_loc[p] = malloc(ng * sizeof *x.map_loc[p]);
        if (!x.local[p] || !x.map_loc[p]) { mpc_errf(err, errlen, "out of memory"); goto out; }
        memset(x.map_loc[p], 0xff, ng * sizeof *x.map_loc[p]);
    }
    for (uint32_t i = 0; i < ng; i++)
        if (s_emit_gate(&x, i)) { mpc_errf(err, errlen, "out of memory or limits exceeded while splitting"); goto out; }
    if (parts) {
        x.main->locals = calloc(c->n_parties, sizeof *x.main->locals);
        if (!x.main->locals) { mpc_errf(err, errlen, "out of memory"); goto out; }
    }
    for (uint32_t p = 0; p < c->n_parties; p++) {
        if (!x.local[p]) continue;
        if (mpc_circ_finish(x.local[p], e2, sizeof e2)) { mpc_errf(err, errlen, "local part: %s", e2); goto out; }
        x.main->locals[x.main->n_locals++] = x.local[p];
        x.local[p] = NULL;
    }
    if (mpc_circ_copy_joins(x.main, c)) { mpc_errf(err, errlen, "out of memory"); goto out; }
    if (mpc_circ_finish(x.main, e2, sizeof e2)) { mpc_errf(err, errlen, "after pushdown: %s", e2); goto out; }
    *out = x.main;
    x.main = NULL;
    r = 0;
out:
    for (uint32_t p = 0; p < MPC_MAX_PARTIES; p++) {
        mpc_circ_destroy(&x.local[p]);
        free(x.map_loc[p]);
    }
    mpc_circ_destroy(&x.main);
    free(x.owner);
    free(x.mpcuse);
    free(x.lmask);
    free(x.map_main);
    return r;
}

/* Pushdown of the circuit with its gates distributed over CONCAT (splitcat.h), so that the
 * parts of a concatenation that belong to one party are pushed too; when that leaves nothing
 * to push, the circuit as it was. */
int mpc_pushdown(const mpc_circuit *c, mpc_circuit **out, char *err, size_t errlen)
{
    *out = NULL;
    if (c->n_locals) return mpc_errf(err, errlen, "circuit already has local parts");
    mpc_circuit *sc = NULL;
    if (mpc_split_concat(c, &sc, err, errlen)) return -1;
    int r = s_pushdown(sc, out, err, errlen);
    mpc_circ_destroy(&sc);
    if (r == 0 && (*out)->n_locals == 0) {
        mpc_circ_destroy(out);
        r = s_pushdown(c, out, err, errlen);
    }
    return r;
}
