/* circuit.c — building, layering and validating the vector circuit IR (circuit.h).
 * mpc_circ_validate is the gate every circuit from outside passes: the file reader and the
 * daemon call it before anything is evaluated, so it assumes nothing about its input. */
#include "circuit.h"
#include "dp.h"
#include "joindecl.h"
#include "program.h"
#include "pushdown.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const mpc_gate_info mpc_gate_infos[MPC_G__COUNT] = {
#define X(e, s, ops, pub, shape, aux, rounds, triples) \
    [MPC_G_##e] = {s, ops, pub, MPC_SHAPE_##shape, MPC_AUX_##aux, rounds, triples},
    MPC_GATE_LIST(X)
#undef X
};

const char *const mpc_type_names[MPC_T__COUNT] = {
#define X(e, s) [MPC_T_##e] = s,
    MPC_TYPE_LIST(X)
#undef X
};

mpc_circuit *mpc_circ_new(void)
{
    mpc_circuit *c = calloc(1, sizeof *c);
    if (c) c->frac_bits = MPC_DEFAULT_FRAC;
    return c;
}

mpc_circuit *mpc_circ_new_like(const mpc_circuit *c)
{
    mpc_circuit *n = mpc_circ_new();
    if (!n) return NULL;
    n->frac_bits = c->frac_bits;
    n->n_parties = c->n_parties;
    memcpy(n->party_names, c->party_names, sizeof n->party_names);
    memcpy(n->source, c->source, sizeof n->source);
    n->warnings = c->warnings;
    return n;
}

void mpc_circ_destroy(mpc_circuit **cp)
{
    if (!cp || !*cp) return;
    mpc_circuit *c = *cp;
    free(c->inputs);
    free(c->outputs);
    free(c->gates);
    free(c->consts);
    for (uint32_t i = 0; i < c->n_locals; i++) mpc_circ_destroy(&c->locals[i]);
    free(c->locals);
    mpc_program_free(&c->program);
    free(c->dp);
    free(c->contrib);
    free(c->joins);
    free(c);
    *cp = NULL;
}

/* Grows *arr (of elements of size `sz`) to hold at least `need`; 0 or -1. */
static int s_reserve(void **arr, uint64_t *cap, uint64_t need, size_t sz)
{
    if (need <= *cap) return 0;
    uint64_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > UINT64_MAX / 2) return -1;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / sz) return -1;
    void *p = realloc(*arr, (size_t)(ncap * sz));
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int s_reserve32(void **arr, uint32_t *cap, uint64_t need, size_t sz)
{
    uint64_t c64 = *cap;
    if (need > UINT32_MAX) return -1;
    if (s_reserve(arr, &c64, need, sz) != 0) return -1;
    *cap = c64 > UINT32_MAX ? UINT32_MAX : (uint32_t)c64;
    return 0;
}

int mpc_name_ok(const char *s, size_t n)
{
    if (!s || n == 0 || n >= MPC_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                 (i > 0 && (ch == '-' || ch == '.'));
        if (!ok) return 0;
    }
    return 1;
}

int mpc_name_ok_str(const char *s)
{
    return s && mpc_name_ok(s, strnlen(s, MPC_NAME_MAX));
}

int mpc_circ_add_party(mpc_circuit *c, const char *name)
{
    if (c->n_parties >= MPC_MAX_PARTIES || !mpc_name_ok_str(name)) return -1;
    for (uint32_t i = 0; i < c->n_parties; i++)
        if (strcmp(c->party_names[i], name) == 0) return -1;
    strcpy(c->party_names[c->n_parties], name);
    return (int)c->n_parties++;
}

uint32_t mpc_circ_add_gate(mpc_circuit *c, mpc_gate_kind kind, mpc_type type, uint64_t len,
                           uint32_t in0, uint32_t in1, uint32_t in2,
                           uint64_t aux0, uint64_t aux1, uint32_t line, uint32_t col)
{
    if (c->n_gates >= MPC_CIRC_MAX_GATES) return MPC_NO_WIRE;
    if (s_reserve32((void **)&c->gates, &c->cap_gates, (uint64_t)c->n_gates + 1, sizeof(mpc_gate)))
        return MPC_NO_WIRE;
    mpc_gate *g = &c->gates[c->n_gates];
    memset(g, 0, sizeof *g);
    g->kind = (uint8_t)kind;
    g->type = (uint8_t)type;
    g->len = len;
    g->in[0] = in0;
    g->in[1] = in1;
    g->in[2] = in2;
    g->aux[0] = aux0;
    g->aux[1] = aux1;
    g->line = line;
    g->col = col;
    return c->n_gates++;
}

uint32_t mpc_circ_add_const(mpc_circuit *c, mpc_type type, const uint64_t *vals, uint64_t n,
                            uint32_t line, uint32_t col)
{
    if (n == 0 || n > MPC_CIRC_MAX_CONSTS - c->n_consts) return MPC_NO_WIRE;
    if (s_reserve((void **)&c->consts, &c->cap_consts, c->n_consts + n, sizeof(uint64_t)))
        return MPC_NO_WIRE;
    uint64_t off = c->n_consts;
    uint32_t w = mpc_circ_add_gate(c, MPC_G_CONST, type, n, MPC_NO_WIRE, MPC_NO_WIRE,
                                   MPC_NO_WIRE, off, 0, line, col);
    if (w == MPC_NO_WIRE) return w;
    memcpy(c->consts + off, vals, (size_t)n * sizeof(uint64_t));
    c->n_consts += n;
    return w;
}

uint32_t mpc_circ_add_input(mpc_circuit *c, const char *name, uint32_t party, mpc_type type,
                            uint64_t len, uint32_t line, uint32_t col)
{
    if (!mpc_name_ok_str(name)) return MPC_NO_WIRE;
    if (s_reserve32((void **)&c->inputs, &c->cap_inputs, (uint64_t)c->n_inputs + 1, sizeof(mpc_input)))
        return MPC_NO_WIRE;
    uint32_t w = mpc_circ_add_gate(c, MPC_G_INPUT, type, len, MPC_NO_WIRE, MPC_NO_WIRE,
                                   MPC_NO_WIRE, c->n_inputs, 0, line, col);
    if (w == MPC_NO_WIRE) return w;
    mpc_input *in = &c->inputs[c->n_inputs++];
    memset(in, 0, sizeof *in);
    strcpy(in->name, name);
    in->party = party;
    in->type = (uint8_t)type;
    in->len = len;
    in->wire = w;
    in->line = line;
    in->col = col;
    return w;
}

int mpc_circ_add_output(mpc_circuit *c, const char *name, uint32_t wire, uint32_t recipients,
                        uint32_t line, uint32_t col)
{
    if (!mpc_name_ok_str(name) || wire >= c->n_gates) return -1;
    if (s_reserve32((void **)&c->outputs, &c->cap_outputs, (uint64_t)c->n_outputs + 1, sizeof(mpc_output)))
        return -1;
    /* Copy before adding a gate: mpc_circ_add_gate may move c->gates. */
    const uint8_t type = c->gates[wire].type;
    const uint64_t len = c->gates[wire].len;
    uint32_t g = mpc_circ_add_gate(c, MPC_G_OUTPUT, (mpc_type)type, len, wire,
                                   MPC_NO_WIRE, MPC_NO_WIRE, c->n_outputs, 0, line, col);
    if (g == MPC_NO_WIRE) return -1;
    mpc_output *o = &c->outputs[c->n_outputs];
    memset(o, 0, sizeof *o);
    strcpy(o->name, name);
    o->type = type;
    o->len = len;
    o->wire = wire;
    o->recipients = recipients;
    o->line = line;
    o->col = col;
    return (int)c->n_outputs++;
}

/* Depth of wire w given the layers already assigned to gates < w. */
static uint32_t s_depth(const mpc_circuit *c, uint32_t w)
{
    const mpc_gate *g = &c->gates[w];
    return g->layer + mpc_gate_infos[g->kind].rounds;
}

static uint32_t s_layer_of(const mpc_circuit *c, const mpc_gate *g)
{
    uint32_t layer = 0;
    for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) {
        uint32_t d = s_depth(c, g->in[k]);
        if (d > layer) layer = d;
    }
    return layer;
}

void mpc_circ_assign_layers(mpc_circuit *c)
{
    uint32_t rounds = 0;
    for (uint32_t i = 0; i < c->n_gates; i++) {
        mpc_gate *g = &c->gates[i];
        g->layer = s_layer_of(c, g);
        uint32_t d = s_depth(c, i);
        if (d > rounds) rounds = d;
    }
    c->rounds = rounds;
}

static int s_fail(char *err, size_t errlen, const mpc_circuit *c, const mpc_gate *g,
                  const char *fmt, ...)
{
    if (!err || !errlen) return -1;
    size_t off = 0;
    if (g) {
        int n = snprintf(err, errlen, "gate %u (%s", (unsigned)(g - c->gates),
                         g->kind < MPC_G__COUNT ? mpc_gate_infos[g->kind].name : "?");
        if (n > 0 && (size_t)n < errlen) off = (size_t)n;
        if (g->line && off < errlen) {
            n = snprintf(err + off, errlen - off, ", line %u", (unsigned)g->line);
            if (n > 0 && off + (size_t)n < errlen) off += (size_t)n;
        }
        if (off + 2 < errlen) {
            memcpy(err + off, "): ", 3);
            off += 3;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    if (off < errlen) vsnprintf(err + off, errlen - off, fmt, ap);
    va_end(ap);
    return -1;
}

static uint64_t s_lim(uint64_t v, uint64_t dflt)
{
    return v == 0 || v > dflt ? dflt : v;
}

/* The shape column of g's kind (circuit.h): how len relates to the operands op[], and the
 * input/output tables for INPUT and OUTPUT (taken in gate order through *inputs_seen and
 * *outputs_seen). */
static int s_check_shape(const mpc_circuit *c, const mpc_gate *g, uint32_t i, const mpc_gate *const op[3],
                         uint32_t *inputs_seen, uint32_t *outputs_seen, char *err, size_t errlen)
{
    const mpc_gate_info *info = &mpc_gate_infos[g->kind];
    switch ((mpc_gate_shape)info->shape) {
    case MPC_SHAPE_INPUT: {
        if (g->aux[0] != *inputs_seen || g->aux[0] >= c->n_inputs)
            return s_fail(err, errlen, c, g, "input index %llu out of order", (unsigned long long)g->aux[0]);
        const mpc_input *in = &c->inputs[(*inputs_seen)++];
        if (in->wire != i || in->len != g->len || in->type != g->type)
            return s_fail(err, errlen, c, g, "does not match input '%.*s'", MPC_NAME_MAX, in->name);
        return 0;
    }
    case MPC_SHAPE_CONST:
        if (g->aux[0] > c->n_consts || g->len > c->n_consts - g->aux[0])
            return s_fail(err, errlen, c, g, "constant range out of the constant table");
        return 0;
    case MPC_SHAPE_BCAST:
        for (int k = 0; k < info->operands; k++)
            if (op[k]->len != 1 && op[k]->len != g->len)
                return s_fail(err, errlen, c, g, "operand %d has length %llu, expected 1 or %llu", k,
                              (unsigned long long)op[k]->len, (unsigned long long)g->len);
        return 0;
    case MPC_SHAPE_SAME:
        if (op[0]->len != g->len)
            return s_fail(err, errlen, c, g, "operand length %llu differs from %llu",
                          (unsigned long long)op[0]->len, (unsigned long long)g->len);
        return 0;
    case MPC_SHAPE_ONE:
        if (g->len != 1) return s_fail(err, errlen, c, g, "sum must have length 1");
        return 0;
    case MPC_SHAPE_DOT: {
        uint64_t seg = g->aux[0];
        uint64_t want = seg ? op[0]->len / seg + (op[0]->len % seg != 0) : 1;
        if (op[0]->len != op[1]->len || g->len != want)
            return s_fail(err, errlen, c, g, "dot needs equal operand lengths and one output per segment");
        return 0;
    }
    case MPC_SHAPE_SLICE: {
        uint64_t start = g->aux[0], stride = g->aux[1];
        if (stride < 1 || start >= op[0]->len || (g->len - 1) > (op[0]->len - 1 - start) / stride)
            return s_fail(err, errlen, c, g, "slice reaches past the end of its operand");
        return 0;
    }
    case MPC_SHAPE_CONCAT:
        if (op[0]->len + op[1]->len != g->len)
            return s_fail(err, errlen, c, g, "concat length is not the sum of its operands");
        return 0;
    case MPC_SHAPE_OUTPUT: {
        if (g->aux[0] != *outputs_seen || g->aux[0] >= c->n_outputs)
            return s_fail(err, errlen, c, g, "output index %llu out of order", (unsigned long long)g->aux[0]);
        const mpc_output *o = &c->outputs[(*outputs_seen)++];
        if (o->wire != g->in[0] || o->len != g->len || op[0]->len != g->len || o->type != g->type ||
            op[0]->type != g->type)
            return s_fail(err, errlen, c, g, "does not match output '%.*s'", MPC_NAME_MAX, o->name);
        return 0;
    }
    case MPC_SHAPE_NOISE:
        if (g->type != MPC_T_INT) return s_fail(err, errlen, c, g, "noise must have type int");
        return 0;
    }
    return s_fail(err, errlen, c, g, "internal error: no shape rule");
}

/* The aux column of g's kind (circuit.h). */
static int s_check_aux(const mpc_circuit *c, const mpc_gate *g, char *err, size_t errlen)
{
    switch ((mpc_gate_aux)mpc_gate_infos[g->kind].aux) {
    case MPC_AUX_NONE:
        if (g->aux[0] || g->aux[1]) return s_fail(err, errlen, c, g, "aux fields must be zero");
        return 0;
    case MPC_AUX_INDEX:
        if (g->aux[1]) return s_fail(err, errlen, c, g, "aux[1] must be zero");
        return 0;
    case MPC_AUX_SHIFT:
        if (g->aux[1] < 2 || g->aux[1] > 63 || g->aux[0] < 1 || g->aux[0] >= g->aux[1])
            return s_fail(err, errlen, c, g, "shift %llu / bound %llu out of range",
                          (unsigned long long)g->aux[0], (unsigned long long)g->aux[1]);
        return 0;
    case MPC_AUX_RANGE:   /* checked with the shape */
        return 0;
    case MPC_AUX_COINS:
        if (g->aux[0] < 2 || g->aux[0] > MPC_NOISE_MAX_COINS || (g->aux[0] & 1) || g->aux[1] < 1 ||
            g->aux[1] > g->aux[0] || g->len > MPC_NOISE_MAX_TOTAL / g->aux[0])
            return s_fail(err, errlen, c, g, "%llu coins (sensitivity %llu) for %llu elements out of range",
                          (unsigned long long)g->aux[0], (unsigned long long)g->aux[1],
                          (unsigned long long)g->len);
        return 0;
    }
    return s_fail(err, errlen, c, g, "internal error: no aux rule");
}

/* Gate i: its kind, type, length and the total so far, then the operand, public, shape and
 * aux columns of its kind, then its layer. */
static int s_check_gate(const mpc_circuit *c, uint32_t i, uint64_t max_vec, uint64_t max_total, uint64_t *total,
                        uint32_t *inputs_seen, uint32_t *outputs_seen, char *err, size_t errlen)
{
    const mpc_gate *g = &c->gates[i];
    if (g->kind >= MPC_G__COUNT) return s_fail(err, errlen, c, NULL, "gate %u has unknown kind %u", (unsigned)i, (unsigned)g->kind);
    if (g->type >= MPC_T__COUNT) return s_fail(err, errlen, c, g, "unknown value type %u", (unsigned)g->type);
    if (g->reserved) return s_fail(err, errlen, c, g, "reserved field is not zero");
    if (g->len == 0 || g->len > max_vec)
        return s_fail(err, errlen, c, g, "vector length %llu out of range 1..%llu",
                      (unsigned long long)g->len, (unsigned long long)max_vec);
    *total += g->len;
    if (*total > max_total)
        return s_fail(err, errlen, c, g, "circuit needs more than %llu wire elements in total",
                      (unsigned long long)max_total);
    const mpc_gate_info *info = &mpc_gate_infos[g->kind];
    const mpc_gate *op[3] = {NULL, NULL, NULL};
    for (int k = 0; k < 3; k++) {
        if (k < info->operands) {
            if (g->in[k] >= i)
                return s_fail(err, errlen, c, g, "operand %d refers to wire %u, not an earlier gate",
                              k, (unsigned)g->in[k]);
            op[k] = &c->gates[g->in[k]];
            if (op[k]->kind == MPC_G_OUTPUT)
                return s_fail(err, errlen, c, g, "operand %d is an output gate", k);
        } else if (g->in[k] != MPC_NO_WIRE) {
            return s_fail(err, errlen, c, g, "unused operand %d is set", k);
        }
    }
    for (int k = 0; k < info->operands; k++) {
        int is_pub = op[k]->kind == MPC_G_CONST;
        int want_pub = (info->public_mask >> k) & 1;
        if (is_pub != want_pub)
            return s_fail(err, errlen, c, g, "operand %d must be %s", k, want_pub ? "public" : "secret");
    }
    if (s_check_shape(c, g, i, op, inputs_seen, outputs_seen, err, errlen)) return -1;
    if (s_check_aux(c, g, err, errlen)) return -1;
    if (g->layer != s_layer_of(c, g))
        return s_fail(err, errlen, c, g, "stored layer %u is not its multiplicative depth", (unsigned)g->layer);
    return 0;
}

/* The input and output tables: names, parties, recipients, no duplicates. */
static int s_check_tables(const mpc_circuit *c, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        const mpc_input *in = &c->inputs[i];
        if (!mpc_name_ok_str(in->name)) return s_fail(err, errlen, c, NULL, "input %u has a bad name", (unsigned)i);
        if (in->party >= c->n_parties)
            return s_fail(err, errlen, c, NULL, "input '%s' comes from unknown party %u", in->name, (unsigned)in->party);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(in->name, c->inputs[j].name) == 0)
                return s_fail(err, errlen, c, NULL, "input '%s' is declared twice", in->name);
    }
    uint32_t all = c->n_parties == 32 ? UINT32_MAX : ((1u << c->n_parties) - 1);
    for (uint32_t i = 0; i < c->n_outputs; i++) {
        const mpc_output *o = &c->outputs[i];
        if (!mpc_name_ok_str(o->name)) return s_fail(err, errlen, c, NULL, "output %u has a bad name", (unsigned)i);
        if (o->type >= MPC_T__COUNT) return s_fail(err, errlen, c, NULL, "output '%s' has a bad type", o->name);
        if (o->recipients == 0 || (o->recipients & ~all))
            return s_fail(err, errlen, c, NULL, "output '%s' has no or unknown recipients", o->name);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(o->name, c->outputs[j].name) == 0)
                return s_fail(err, errlen, c, NULL, "output '%s' is declared twice", o->name);
    }
    return 0;
}

int mpc_circ_strict_check(const mpc_circuit *c, char *err, size_t errlen)
{
    if (c->warnings == 0) return 0;
    if (c->warnings == MPC_CIRC_WARNINGS_UNKNOWN)
        snprintf(err, errlen, "its format (version 1) does not record the compiler's overflow warnings; "
                              "recompile it with a current mpcc");
    else
        snprintf(err, errlen, "the compiler gave %u overflow warning%s for this program; declare the inputs' "
                              "ranges (`in LO..HI`) and recompile", (unsigned)c->warnings, c->warnings == 1 ? "" : "s");
    return -1;
}

int mpc_circ_validate(const mpc_circuit *c, const mpc_circ_limits *lim, char *err, size_t errlen)
{
    mpc_circ_limits L = {0};
    if (lim) L = *lim;
    uint64_t max_gates = s_lim(L.max_gates, MPC_CIRC_MAX_GATES);
    uint64_t max_vec = s_lim(L.max_vector, MPC_CIRC_MAX_VECTOR);
    uint64_t max_total = s_lim(L.max_total, MPC_CIRC_MAX_TOTAL);
    uint64_t max_consts = s_lim(L.max_consts, MPC_CIRC_MAX_CONSTS);

    if (c->n_parties < 2 || c->n_parties > MPC_MAX_PARTIES)
        return s_fail(err, errlen, c, NULL, "circuit has %u parties (2..%d allowed)",
                      (unsigned)c->n_parties, MPC_MAX_PARTIES);
    for (uint32_t i = 0; i < c->n_parties; i++) {
        if (!mpc_name_ok_str(c->party_names[i]))
            return s_fail(err, errlen, c, NULL, "party %u has an empty or overlong name", (unsigned)i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(c->party_names[i], c->party_names[j]) == 0)
                return s_fail(err, errlen, c, NULL, "party '%s' is declared twice", c->party_names[i]);
    }
    if (c->frac_bits < 1 || c->frac_bits > 40)
        return s_fail(err, errlen, c, NULL, "fixed-point precision %u out of range 1..40",
                      (unsigned)c->frac_bits);
    if (c->n_gates == 0) return s_fail(err, errlen, c, NULL, "circuit has no gates");
    if (c->n_gates > max_gates)
        return s_fail(err, errlen, c, NULL, "circuit has %u gates, limit is %llu",
                      (unsigned)c->n_gates, (unsigned long long)max_gates);
    if (c->n_consts > max_consts)
        return s_fail(err, errlen, c, NULL, "circuit has %llu constants, limit is %llu",
                      (unsigned long long)c->n_consts, (unsigned long long)max_consts);
    if (c->n_outputs == 0) return s_fail(err, errlen, c, NULL, "circuit has no outputs");

    uint64_t total = 0;
    uint32_t inputs_seen = 0, outputs_seen = 0;
    for (uint32_t i = 0; i < c->n_gates; i++)
        if (s_check_gate(c, i, max_vec, max_total, &total, &inputs_seen, &outputs_seen, err, errlen)) return -1;
    if (inputs_seen != c->n_inputs)
        return s_fail(err, errlen, c, NULL, "%u inputs declared but %u input gates",
                      (unsigned)c->n_inputs, (unsigned)inputs_seen);
    if (outputs_seen != c->n_outputs)
        return s_fail(err, errlen, c, NULL, "%u outputs declared but %u output gates",
                      (unsigned)c->n_outputs, (unsigned)outputs_seen);
    if (s_check_tables(c, err, errlen)) return -1;
    if (c->n_locals && mpc_circ_validate_locals(c, lim, err, errlen)) return -1;
    uint32_t rounds = 0;
    for (uint32_t i = 0; i < c->n_gates; i++) {
        uint32_t d = s_depth(c, i);
        if (d > rounds) rounds = d;
    }
    if (rounds != c->rounds)
        return s_fail(err, errlen, c, NULL, "stored round count %u, computed %u",
                      (unsigned)c->rounds, (unsigned)rounds);
    if (c->n_dp && mpc_circ_validate_dp(c, err, errlen)) return -1;
    if (mpc_join_validate(c, err, errlen)) return -1;
    return 0;
}

int mpc_circ_finish(mpc_circuit *c, char *err, size_t errlen)
{
    /* Layers are only computable over well-formed operand references. */
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        if (g->kind >= MPC_G__COUNT) return s_fail(err, errlen, c, NULL, "gate %u has unknown kind", (unsigned)i);
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++)
            if (g->in[k] >= i) return s_fail(err, errlen, c, g, "operand %d is not an earlier gate", k);
    }
    mpc_circ_assign_layers(c);
    return mpc_circ_validate(c, NULL, err, errlen);
}

void mpc_circ_stats_get(const mpc_circuit *c, mpc_circ_stats *st)
{
    memset(st, 0, sizeof *st);
    st->gates = c->n_gates;
    st->rounds = c->rounds;
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        st->total_wire_elems += g->len;
        switch (g->kind) {
        case MPC_G_MUL:
        case MPC_G_SELECT:
        case MPC_G_DOT: {
            uint64_t L = g->kind == MPC_G_DOT ? c->gates[g->in[0]].len : g->len;
            if (mpc_gate_is_square(g)) {
                st->squares += L;
                st->opened_elems += L;
            } else {
                st->triples += L;
                st->opened_elems += 2 * L;
            }
            break;
        }
        case MPC_G_TRUNC:
            st->trunc_elems += g->len;
            st->opened_elems += g->len;
            break;
        case MPC_G_LTZ:
        case MPC_G_EQZ:
            st->comparisons += g->len;
            st->edabits += g->len;
            st->dabits += g->len;
            st->opened_elems += 2 * g->len;   /* the masked value, then the daBit opening */
            st->bin_ands += g->len * (g->kind == MPC_G_LTZ ? MPC_CIRC_LTZ_ANDS : MPC_CIRC_EQZ_ANDS);
            break;
        case MPC_G_NOISE:
            st->noise_elems += g->len;
            st->noise_dabits += g->len * g->aux[0];
            st->dabits += g->len * g->aux[0];
            break;
        default:
            break;
        }
    }
}
