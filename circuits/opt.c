/* opt.c — circuit-level optimisation (opt.h): common-subexpression elimination by
 * hash-consing, dead-gate removal, renumbering with a compacted constant pool.  One pass
 * each, linear in gates plus constant-pool size; the circuit is only rewritten once every
 * buffer the rewrite needs has been allocated, so a failure leaves it untouched. */
#include "opt.h"
#include "diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static uint64_t s_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return h;
}

static int s_commutative(uint8_t kind)
{
    return kind == MPC_G_ADD || kind == MPC_G_MUL || kind == MPC_G_DOT;
}

typedef struct {
    const mpc_circuit *c;
    uint32_t          *ops;    /* 3 per gate: operands mapped to representatives (normalised) */
} s_cse;

static uint64_t s_hash(const s_cse *s, uint32_t i)
{
    const mpc_gate *g = &s->c->gates[i];
    uint64_t h = s_mix(s_mix(s_mix(0, g->kind), g->type), g->len);
    if (g->kind == MPC_G_CONST) {
        const uint64_t *v = s->c->consts + g->aux[0];
        for (uint64_t k = 0; k < g->len; k++) h = s_mix(h, v[k]);
        return h;
    }
    for (int k = 0; k < 3; k++) h = s_mix(h, s->ops[3 * i + k]);
    return s_mix(s_mix(h, g->aux[0]), g->aux[1]);
}

static int s_equal(const s_cse *s, uint32_t i, uint32_t j)
{
    const mpc_gate *a = &s->c->gates[i], *b = &s->c->gates[j];
    if (a->kind != b->kind || a->type != b->type || a->len != b->len) return 0;
    if (a->kind == MPC_G_CONST)
        return memcmp(s->c->consts + a->aux[0], s->c->consts + b->aux[0], (size_t)a->len * 8) == 0;
    return a->aux[0] == b->aux[0] && a->aux[1] == b->aux[1] &&
           memcmp(&s->ops[3 * i], &s->ops[3 * j], 3 * sizeof(uint32_t)) == 0;
}

/* The structural facts the passes rely on (the full check is mpc_circ_finish at the end). */
static int s_precheck(const mpc_circuit *c, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        if (g->kind >= MPC_G__COUNT) return mpc_errf(err, errlen, "gate %u has unknown kind", (unsigned)i);
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++)
            if (g->in[k] >= i) return mpc_errf(err, errlen, "gate %u: operand %d is not an earlier gate", (unsigned)i, k);
        if (g->kind == MPC_G_CONST && (g->aux[0] > c->n_consts || g->len > c->n_consts - g->aux[0]))
            return mpc_errf(err, errlen, "gate %u: constant range out of the constant table", (unsigned)i);
        if (g->kind == MPC_G_INPUT && g->aux[0] >= c->n_inputs)
            return mpc_errf(err, errlen, "gate %u: input index out of range", (unsigned)i);
        if (g->kind == MPC_G_OUTPUT && g->aux[0] >= c->n_outputs)
            return mpc_errf(err, errlen, "gate %u: output index out of range", (unsigned)i);
    }
    return 0;
}

int mpc_circ_optimize(mpc_circuit *c, char *err, size_t errlen)
{
    int r = -1;
    uint32_t n = c->n_gates;
    uint32_t *rep = NULL, *ops = NULL, *table = NULL, *newid = NULL;
    uint8_t *live = NULL;
    uint64_t *nconsts = NULL;
    if (s_precheck(c, err, errlen)) return -1;
    if (n == 0) return mpc_circ_finish(c, err, errlen);

    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n) cap *= 2;
    rep = malloc(n * sizeof *rep);
    ops = malloc(3 * (size_t)n * sizeof *ops);
    table = malloc((size_t)cap * sizeof *table);
    newid = malloc(n * sizeof *newid);
    live = calloc(n, 1);
    if (!rep || !ops || !table || !newid || !live) {
        mpc_errf(err, errlen, "out of memory");
        goto out;
    }
    memset(table, 0xff, (size_t)cap * sizeof *table);

    /* CSE: gate i's representative is the first earlier gate equal to it once operands
     * are replaced by their representatives. */
    s_cse s = {c, ops};
    for (uint32_t i = 0; i < n; i++) {
        const mpc_gate *g = &c->gates[i];
        int nop = mpc_gate_infos[g->kind].operands;
        for (int k = 0; k < 3; k++) ops[3 * i + k] = k < nop ? rep[g->in[k]] : MPC_NO_WIRE;
        if (s_commutative(g->kind) && ops[3 * i] > ops[3 * i + 1]) {
            uint32_t t = ops[3 * i];
            ops[3 * i] = ops[3 * i + 1];
            ops[3 * i + 1] = t;
        }
        rep[i] = i;
        /* never merged: inputs, outputs, and noise (each NOISE gate is an independent draw) */
        if (g->kind == MPC_G_INPUT || g->kind == MPC_G_OUTPUT || g->kind == MPC_G_NOISE) continue;
        uint64_t slot = s_hash(&s, i) & (cap - 1);
        while (table[slot] != MPC_NO_WIRE) {
            if (s_equal(&s, table[slot], i)) {
                rep[i] = table[slot];
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
        if (rep[i] == i) table[slot] = i;
    }

    /* Dead-gate removal: inputs and outputs are roots; references go to representatives,
     * so a merged-away gate is never live. */
    for (uint32_t i = n; i-- > 0;) {
        uint8_t kind = c->gates[i].kind;
        if (kind == MPC_G_INPUT || kind == MPC_G_OUTPUT) live[i] = 1;
        if (!live[i]) continue;
        for (int k = 0; k < mpc_gate_infos[kind].operands; k++) live[ops[3 * i + k]] = 1;
    }

    /* Renumbering keeps the order, hence topological order; constants are re-packed in
     * gate order. */
    uint32_t m = 0;
    uint64_t nc = 0;
    for (uint32_t i = 0; i < n; i++) {
        newid[i] = live[i] ? m++ : MPC_NO_WIRE;
        if (live[i] && c->gates[i].kind == MPC_G_CONST) nc += c->gates[i].len;
    }
    nconsts = malloc(nc ? (size_t)nc * sizeof *nconsts : sizeof *nconsts);
    if (!nconsts) {
        mpc_errf(err, errlen, "out of memory");
        goto out;
    }
    /* From here on nothing can fail before mpc_circ_finish. */
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!live[i]) continue;
        mpc_gate g = c->gates[i];
        int nop = mpc_gate_infos[g.kind].operands;
        for (int k = 0; k < nop; k++) g.in[k] = newid[ops[3 * i + k]];
        if (g.kind == MPC_G_CONST) {
            memcpy(nconsts + off, c->consts + g.aux[0], (size_t)g.len * sizeof *nconsts);
            g.aux[0] = off;
            off += g.len;
        } else if (g.kind == MPC_G_INPUT) {
            c->inputs[g.aux[0]].wire = newid[i];
        } else if (g.kind == MPC_G_OUTPUT) {
            c->outputs[g.aux[0]].wire = g.in[0];
        }
        c->gates[newid[i]] = g;    /* newid[i] <= i: never overwrites a gate still to be read */
    }
    c->n_gates = m;
    free(c->consts);
    c->consts = nconsts;
    c->n_consts = nc;
    c->cap_consts = nc ? nc : 1;
    nconsts = NULL;
    r = mpc_circ_finish(c, err, errlen);
out:
    free(rep);
    free(ops);
    free(table);
    free(newid);
    free(live);
    free(nconsts);
    return r;
}
