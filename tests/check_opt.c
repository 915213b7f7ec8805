/* check_opt.c — CSE, dead-gate removal and renumbering keep results and shrink circuits. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "eval.h"
#include "format.h"
#include "opt.h"

#define NW MPC_NO_WIRE

static uint64_t s_rng = 0xa4093822299f31d0ull;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ull;
}

/* See check_eval.c: works around mpc_circ_add_output's stale pointer after realloc. */
static void s_room(mpc_circuit *c)
{
    if (c->n_gates < c->cap_gates) return;
    uint32_t nc = c->cap_gates ? c->cap_gates * 2 : 16;
    mpc_gate *g = realloc(c->gates, nc * sizeof *g);
    ck_assert_ptr_nonnull(g);
    c->gates = g;
    c->cap_gates = nc;
}

static mpc_circuit *s_new(void)
{
    mpc_circuit *c = mpc_circ_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(mpc_circ_add_party(c, "a"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "b"), 1);
    return c;
}

static uint32_t s_g(mpc_circuit *c, mpc_gate_kind k, uint64_t len, uint32_t a, uint32_t b, uint32_t d,
                    uint64_t x0, uint64_t x1)
{
    uint32_t w = mpc_circ_add_gate(c, k, k == MPC_G_LTZ || k == MPC_G_EQZ ? MPC_T_BOOL : MPC_T_INT,
                                   len, a, b, d, x0, x1, c->n_gates + 1, 1);
    ck_assert_uint_ne(w, NW);
    return w;
}

static int s_out(mpc_circuit *c, const char *name, uint32_t w)
{
    s_room(c);
    int o = mpc_circ_add_output(c, name, w, 3, 50, 1);
    ck_assert_int_ge(o, 0);
    return o;
}

static void s_optimize(mpc_circuit *c)
{
    char err[256];
    int r = mpc_circ_optimize(c, err, sizeof err);
    ck_assert_msg(r == 0, "optimize: %s", err);
    ck_assert_int_eq(mpc_circ_validate(c, NULL, err, sizeof err), 0);
}

static uint32_t s_count(const mpc_circuit *c, mpc_gate_kind k)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->n_gates; i++) n += c->gates[i].kind == k;
    return n;
}

START_TEST(test_cse_merges_duplicates)
{
    char err[256];
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 4, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, 4, 1, 1);
    uint32_t s1 = s_g(c, MPC_G_ADD, 4, x, y, NW, 0, 0);
    uint32_t s2 = s_g(c, MPC_G_ADD, 4, y, x, NW, 0, 0);        /* commuted */
    uint32_t m1 = s_g(c, MPC_G_MUL, 4, s1, x, NW, 0, 0);
    uint32_t m2 = s_g(c, MPC_G_MUL, 4, x, s2, NW, 0, 0);       /* equal after s2 -> s1 */
    uint32_t d1 = s_g(c, MPC_G_SUB, 4, x, y, NW, 0, 0);
    uint32_t d2 = s_g(c, MPC_G_SUB, 4, y, x, NW, 0, 0);        /* not commutative */
    uint64_t k[3] = {5, 6, 7}, k2[3] = {5, 6, 8};
    uint32_t c1 = mpc_circ_add_const(c, MPC_T_INT, k, 3, 1, 1);
    uint32_t c2 = mpc_circ_add_const(c, MPC_T_INT, k, 3, 1, 1);
    uint32_t c3 = mpc_circ_add_const(c, MPC_T_INT, k2, 3, 1, 1);
    uint32_t c4 = mpc_circ_add_const(c, MPC_T_FIX, k, 3, 1, 1); /* other type: kept apart */
    uint32_t xs = s_g(c, MPC_G_SLICE, 3, x, NW, NW, 0, 1);
    uint32_t p1 = s_g(c, MPC_G_ADD_PUB, 3, xs, c1, NW, 0, 0);
    uint32_t p2 = s_g(c, MPC_G_ADD_PUB, 3, xs, c2, NW, 0, 0);
    uint32_t p3 = s_g(c, MPC_G_ADD_PUB, 3, xs, c3, NW, 0, 0);
    uint32_t p4 = s_g(c, MPC_G_MUL_PUB, 3, xs, c4, NW, 0, 0);
    uint32_t t1 = s_g(c, MPC_G_TRUNC, 4, m1, NW, NW, 3, 63);
    uint32_t t2 = s_g(c, MPC_G_TRUNC, 4, m2, NW, NW, 4, 63);   /* other aux: kept apart */
    uint32_t sl1 = s_g(c, MPC_G_SLICE, 2, x, NW, NW, 1, 2);
    uint32_t sl2 = s_g(c, MPC_G_SLICE, 2, x, NW, NW, 0, 2);
    int o[14];
    const uint32_t ws[14] = {s1, s2, m1, m2, d1, d2, p1, p2, p3, p4, t1, t2, sl1, sl2};
    for (int i = 0; i < 14; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "o%d", i);
        o[i] = s_out(c, nm, ws[i]);
    }
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    mpc_circ_stats st0, st1;
    mpc_circ_stats_get(c, &st0);
    uint64_t consts0 = c->n_consts;
    s_optimize(c);
    mpc_circ_stats_get(c, &st1);
    /* Merged: s1/s2, m1/m2, p1/p2 (and c1/c2).  Kept apart: d1/d2, p3, p4, t1/t2, sl1/sl2. */
    ck_assert_uint_eq(c->outputs[o[0]].wire, c->outputs[o[1]].wire);
    ck_assert_uint_eq(c->outputs[o[2]].wire, c->outputs[o[3]].wire);
    ck_assert_uint_eq(c->outputs[o[6]].wire, c->outputs[o[7]].wire);
    ck_assert_uint_ne(c->outputs[o[4]].wire, c->outputs[o[5]].wire);
    ck_assert_uint_ne(c->outputs[o[6]].wire, c->outputs[o[8]].wire);
    ck_assert_uint_ne(c->outputs[o[10]].wire, c->outputs[o[11]].wire);
    ck_assert_uint_ne(c->outputs[o[12]].wire, c->outputs[o[13]].wire);
    ck_assert_uint_eq(s_count(c, MPC_G_MUL), 1);
    ck_assert_uint_eq(s_count(c, MPC_G_CONST), 3);
    ck_assert_uint_eq(c->n_consts, consts0 - 3);
    ck_assert_uint_eq(st1.triples, st0.triples - 4);
    ck_assert_uint_eq(c->n_gates, 2 + 1 + 1 + 2 + 3 + 1 + 3 + 2 + 2 + 14);
    ck_assert_uint_eq(c->n_outputs, 14);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_dce_removes_dead_gates)
{
    char err[256];
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 4, 1, 1);
    uint32_t unused = mpc_circ_add_input(c, "unused", 1, MPC_T_INT, 2, 1, 1);
    uint64_t kv[4] = {9, 9, 9, 9}, k1 = 3;
    uint32_t kdead = mpc_circ_add_const(c, MPC_T_INT, kv, 4, 1, 1);
    uint32_t dead1 = s_g(c, MPC_G_MUL, 4, x, x, NW, 0, 0);
    uint32_t dead2 = s_g(c, MPC_G_ADD_PUB, 4, dead1, kdead, NW, 0, 0);
    s_g(c, MPC_G_LTZ, 4, dead2, NW, NW, 0, 0);
    s_g(c, MPC_G_NEG, 2, unused, NW, NW, 0, 0);
    uint32_t klive = mpc_circ_add_const(c, MPC_T_INT, &k1, 1, 1, 1);
    uint32_t live = s_g(c, MPC_G_MUL_PUB, 4, x, klive, NW, 0, 0);
    s_out(c, "r", live);
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    s_optimize(c);
    /* x, unused, klive, live, output. */
    ck_assert_uint_eq(c->n_gates, 5);
    ck_assert_uint_eq(c->n_inputs, 2);
    ck_assert_uint_eq(c->inputs[1].wire, 1);
    ck_assert_uint_eq(c->gates[1].kind, MPC_G_INPUT);
    ck_assert_uint_eq(c->n_consts, 1);
    ck_assert_uint_eq(c->consts[0], 3);
    ck_assert_uint_eq(c->gates[2].kind, MPC_G_CONST);
    ck_assert_uint_eq(c->gates[2].aux[0], 0);
    ck_assert_uint_eq(c->outputs[0].wire, 3);
    ck_assert_uint_eq(c->gates[4].in[0], 3);
    ck_assert_uint_eq(c->rounds, 0);
    uint64_t xv[4] = {1, 2, 3, (uint64_t)-4}, uv[2] = {0, 0};
    const uint64_t *in[] = {xv, uv};
    mpc_eval_result res;
    ck_assert_int_eq(mpc_eval(c, in, &res, err, sizeof err), 0);
    for (int i = 0; i < 4; i++) ck_assert_uint_eq(res.outputs[0][i], xv[i] * 3);
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
}
END_TEST

/* A random valid circuit over int wires with lengths 1 and L, with deliberate duplicates. */
static mpc_circuit *s_random_circuit(uint64_t L, int ngates)
{
    mpc_circuit *c = s_new();
    char err[256];
    uint32_t *sec = malloc(sizeof(uint32_t) * (size_t)(ngates + 8));
    uint32_t *pub = malloc(sizeof(uint32_t) * (size_t)(ngates + 8));
    int ns = 0, np = 0;
    sec[ns++] = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    sec[ns++] = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 1, 1);
    sec[ns++] = mpc_circ_add_input(c, "s", 0, MPC_T_INT, 1, 1, 1);
    uint64_t one = 1;
    pub[np++] = mpc_circ_add_const(c, MPC_T_INT, &one, 1, 1, 1);
    for (int it = 0; it < ngates; it++) {
        uint32_t a = sec[s_rand() % ns], b = sec[s_rand() % ns], d = sec[s_rand() % ns];
        uint64_t la = c->gates[a].len, lb = c->gates[b].len, ld = c->gates[d].len;
        uint64_t lmax = la > lb ? la : lb;
        int ok_ab = la == lb || la == 1 || lb == 1;
        uint32_t w = NW;
        switch (s_rand() % 16) {
        case 0: if (ok_ab) w = s_g(c, MPC_G_ADD, lmax, a, b, NW, 0, 0); break;
        case 1: if (ok_ab) w = s_g(c, MPC_G_SUB, lmax, a, b, NW, 0, 0); break;
        case 2: if (ok_ab) w = s_g(c, MPC_G_MUL, lmax, a, b, NW, 0, 0); break;
        case 3: w = s_g(c, MPC_G_NEG, la, a, NW, NW, 0, 0); break;
        case 4: w = s_g(c, MPC_G_LTZ, la, a, NW, NW, 0, 0); break;
        case 5: w = s_g(c, MPC_G_EQZ, la, a, NW, NW, 0, 0); break;
        case 6: w = s_g(c, MPC_G_TRUNC, la, a, NW, NW, 1 + s_rand() % 20, 63); break;
        case 7: case 8: {
            uint32_t k = pub[s_rand() % np];
            uint64_t lk = c->gates[k].len;
            if (lk == la || lk == 1 || la == 1)
                w = s_g(c, (s_rand() & 1) ? MPC_G_ADD_PUB : MPC_G_MUL_PUB, la > lk ? la : lk, a, k, NW, 0, 0);
            break;
        }
        case 9: w = s_g(c, MPC_G_SUM, 1, a, NW, NW, 0, 0); break;
        case 10: if (la == lb) w = s_g(c, MPC_G_DOT, 1, a, b, NW, 0, 0); break;
        case 11: {
            uint64_t n = la > lb ? la : lb;
            if (ld > n) n = ld;
            if ((la == n || la == 1) && (lb == n || lb == 1) && (ld == n || ld == 1))
                w = s_g(c, MPC_G_SELECT, n, a, b, d, 0, 0);
            break;
        }
        case 12: {
            uint64_t st = s_rand() % la, stride = 1 + s_rand() % 2;
            uint64_t maxn = (la - 1 - st) / stride + 1;
            w = s_g(c, MPC_G_SLICE, 1 + s_rand() % maxn, a, NW, NW, st, stride);
            break;
        }
        case 13: if (la + lb <= 4 * L) w = s_g(c, MPC_G_CONCAT, la + lb, a, b, NW, 0, 0); break;
        case 14: {   /* a constant, sometimes equal to an existing one */
            uint32_t k = pub[s_rand() % np];
            if (s_rand() & 1) {
                uint64_t *v = malloc(c->gates[k].len * 8);
                memcpy(v, c->consts + c->gates[k].aux[0], c->gates[k].len * 8);
                pub[np++] = mpc_circ_add_const(c, MPC_T_INT, v, c->gates[k].len, 1, 1);
                free(v);
            } else {
                uint64_t v[64], n = (s_rand() & 1) ? 1 : L;
                for (uint64_t i = 0; i < n; i++) v[i] = s_rand() % 7;
                pub[np++] = mpc_circ_add_const(c, MPC_T_INT, v, n, 1, 1);
            }
            break;
        }
        case 15: {   /* an exact or commuted duplicate of an earlier computing gate */
            uint32_t g = (uint32_t)(s_rand() % c->n_gates);
            mpc_gate G = c->gates[g];
            if (G.kind == MPC_G_INPUT || G.kind == MPC_G_CONST || G.kind == MPC_G_OUTPUT) break;
            if ((G.kind == MPC_G_ADD || G.kind == MPC_G_MUL || G.kind == MPC_G_DOT) && (s_rand() & 1)) {
                uint32_t t = G.in[0]; G.in[0] = G.in[1]; G.in[1] = t;
            }
            w = mpc_circ_add_gate(c, G.kind, G.type, G.len, G.in[0], G.in[1], G.in[2], G.aux[0], G.aux[1], 0, 0);
            break;
        }
        }
        if (w != NW) sec[ns++] = w;
    }
    int nout = 1 + (int)(s_rand() % 4);
    for (int i = 0; i < nout; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "o%d", i);
        s_out(c, nm, sec[ns - 1 - (int)(s_rand() % (ns < 6 ? ns : 6))]);
    }
    free(sec);
    free(pub);
    int r = mpc_circ_finish(c, err, sizeof err);
    ck_assert_msg(r == 0, "random circuit invalid: %s", err);
    return c;
}

/* An independent, deliberately naive evaluator: every wire gets its own array, operands are
 * read through a broadcast index, truncation uses signed division.  Returns the wire
 * arrays (caller frees) and counts TRUNC gates whose operand leaves |x| < 2^(l-1). */
static uint64_t **s_ref_eval(const mpc_circuit *c, const uint64_t *const *in, uint32_t *trunc_bad)
{
    uint64_t **w = calloc(c->n_gates, sizeof *w);
    *trunc_bad = 0;
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        w[i] = malloc(g->len * 8);
#define OP(k, j) (w[g->in[k]][c->gates[g->in[k]].len == 1 ? 0 : (j)])
        int bad = 0;
        for (uint64_t j = 0; j < g->len; j++) {
            uint64_t v = 0;
            switch (g->kind) {
            case MPC_G_INPUT: v = in[g->aux[0]][j]; break;
            case MPC_G_CONST: v = c->consts[g->aux[0] + j]; break;
            case MPC_G_ADD: case MPC_G_ADD_PUB: v = OP(0, j) + OP(1, j); break;
            case MPC_G_SUB: v = OP(0, j) - OP(1, j); break;
            case MPC_G_MUL: case MPC_G_MUL_PUB: v = OP(0, j) * OP(1, j); break;
            case MPC_G_NEG: v = 0 - OP(0, j); break;
            case MPC_G_LTZ: v = (int64_t)OP(0, j) < 0; break;
            case MPC_G_EQZ: v = OP(0, j) == 0; break;
            case MPC_G_TRUNC: {
                int64_t x = (int64_t)OP(0, j), d = (int64_t)1 << g->aux[0];
                int64_t q = x / d;
                if (x % d != 0 && x < 0) q--;
                v = (uint64_t)q;
                int64_t b = (int64_t)1 << (g->aux[1] - 1);
                if (x >= b || x <= -b) bad = 1;
                break;
            }
            case MPC_G_SELECT: {
                uint64_t cnd = OP(0, j), t = OP(1, j), f = OP(2, j);
                v = cnd == 0 ? f : cnd == 1 ? t : f + cnd * (t - f);
                break;
            }
            case MPC_G_SUM:
                for (uint64_t k = 0; k < c->gates[g->in[0]].len; k++) v += w[g->in[0]][k];
                break;
            case MPC_G_DOT:
                for (uint64_t k = 0; k < c->gates[g->in[0]].len; k++) v += w[g->in[0]][k] * w[g->in[1]][k];
                break;
            case MPC_G_SLICE: v = w[g->in[0]][g->aux[0] + j * g->aux[1]]; break;
            case MPC_G_CONCAT: {
                uint64_t l0 = c->gates[g->in[0]].len;
                v = j < l0 ? w[g->in[0]][j] : w[g->in[1]][j - l0];
                break;
            }
            case MPC_G_OUTPUT: v = OP(0, j); break;
            }
            w[i][j] = v;
        }
#undef OP
        *trunc_bad += (uint32_t)bad;
    }
    return w;
}

START_TEST(test_random_circuits_match_reference)
{
    char err[256];
    for (int it = 0; it < 300; it++) {
        uint64_t L = 1 + s_rand() % 8;
        mpc_circuit *c = s_random_circuit(L, 10 + (int)(s_rand() % 80));
        uint64_t xv[8], yv[8], sv = s_rand() % 3;
        for (int i = 0; i < 8; i++) {
            xv[i] = (i & 1) ? s_rand() : s_rand() % 5;
            yv[i] = (i & 2) ? 0 - (s_rand() % 9) : s_rand() >> (s_rand() % 64);
        }
        const uint64_t *in[] = {xv, yv, &sv};
        mpc_eval_result r;
        uint32_t bad;
        ck_assert_int_eq(mpc_eval(c, in, &r, err, sizeof err), 0);
        uint64_t **w = s_ref_eval(c, in, &bad);
        for (uint32_t o = 0; o < r.n_outputs; o++)
            ck_assert_mem_eq(r.outputs[o], w[c->outputs[o].wire], c->outputs[o].len * 8);
        ck_assert_uint_eq(r.n_warnings, bad);
        for (uint32_t i = 0; i < c->n_gates; i++) free(w[i]);
        free(w);
        mpc_eval_result_free(&r);
        mpc_circ_destroy(&c);
    }
}
END_TEST

START_TEST(test_random_circuits_equivalent)
{
    char err[256];
    uint64_t total_before = 0, total_after = 0;
    for (int it = 0; it < 300; it++) {
        uint64_t L = 1 + s_rand() % 8;
        mpc_circuit *c = s_random_circuit(L, 10 + (int)(s_rand() % 80));
        uint64_t xv[8], yv[8], sv = s_rand();
        for (int i = 0; i < 8; i++) {
            xv[i] = (i & 1) ? s_rand() : s_rand() % 5;
            yv[i] = (i & 2) ? 0 - (s_rand() % 9) : s_rand();
        }
        const uint64_t *in[] = {xv, yv, &sv};
        mpc_eval_result r0, r1;
        ck_assert_int_eq(mpc_eval(c, in, &r0, err, sizeof err), 0);
        total_before += c->n_gates;
        s_optimize(c);
        total_after += c->n_gates;
        ck_assert_int_eq(mpc_eval(c, in, &r1, err, sizeof err), 0);
        ck_assert_uint_eq(r0.n_outputs, r1.n_outputs);
        for (uint32_t o = 0; o < r0.n_outputs; o++)
            ck_assert_mem_eq(r0.outputs[o], r1.outputs[o], c->outputs[o].len * 8);
        /* Optimising again changes nothing: same canonical bytes. */
        uint8_t *b1, *b2;
        size_t n1, n2;
        ck_assert_int_eq(mpc_circ_write(c, &b1, &n1), 0);
        s_optimize(c);
        ck_assert_int_eq(mpc_circ_write(c, &b2, &n2), 0);
        ck_assert_uint_eq(n1, n2);
        ck_assert_mem_eq(b1, b2, n1);
        free(b1);
        free(b2);
        /* No two remaining gates are duplicates of each other (CSE is complete). */
        for (uint32_t i = 0; i < c->n_gates; i++)
            for (uint32_t j = 0; j < i; j++) {
                const mpc_gate *p = &c->gates[i], *q = &c->gates[j];
                if (p->kind == MPC_G_INPUT || p->kind == MPC_G_OUTPUT || p->kind == MPC_G_CONST) continue;
                ck_assert(!(p->kind == q->kind && p->type == q->type && p->len == q->len &&
                            p->in[0] == q->in[0] && p->in[1] == q->in[1] && p->in[2] == q->in[2] &&
                            p->aux[0] == q->aux[0] && p->aux[1] == q->aux[1]));
            }
        mpc_eval_result_free(&r0);
        mpc_eval_result_free(&r1);
        mpc_circ_destroy(&c);
    }
    ck_assert_uint_lt(total_after, total_before);
    printf("opt: %llu gates -> %llu over 300 random circuits\n", (unsigned long long)total_before,
           (unsigned long long)total_after);
}
END_TEST

START_TEST(test_refuses_malformed)
{
    char err[256];
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 4, 1, 1);
    uint32_t n = s_g(c, MPC_G_NEG, 4, x, NW, NW, 0, 0);
    s_out(c, "o", n);
    c->gates[n].in[0] = n;                 /* a cycle */
    ck_assert_int_eq(mpc_circ_optimize(c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not an earlier gate"));
    ck_assert_uint_eq(c->n_gates, 3);      /* untouched */
    mpc_circ_destroy(&c);
}
END_TEST

/* Linear time: 200k gates (long CSE chains) optimise quickly. */
START_TEST(test_large_gate_count)
{
    char err[256];
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 2, 1, 1);
    uint32_t a = x, b = x;
    for (int i = 0; i < 100000; i++) {
        a = s_g(c, MPC_G_ADD, 2, a, x, NW, 0, 0);
        b = s_g(c, MPC_G_ADD, 2, x, b, NW, 0, 0);   /* same chain, commuted */
    }
    s_out(c, "a", a);
    s_out(c, "b", b);
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    s_optimize(c);
    ck_assert_uint_eq(c->n_gates, 1 + 100000 + 2);
    ck_assert_uint_eq(c->outputs[0].wire, c->outputs[1].wire);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("opt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_cse_merges_duplicates);
    tcase_add_test(tc, test_dce_removes_dead_gates);
    tcase_add_test(tc, test_random_circuits_equivalent);
    tcase_add_test(tc, test_random_circuits_match_reference);
    tcase_add_test(tc, test_refuses_malformed);
    tcase_add_test(tc, test_large_gate_count);
    suite_add_tcase(s, tc);
    return s;
}

