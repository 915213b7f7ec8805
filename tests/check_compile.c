/* check_compile.c — semantic analysis and code generation: the gates each construct
 * becomes, constant folding and identities, fixed-point and division lowering, vector IR
 * invariance, params, precision, warnings, and the examples' statistics. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>

#include "runner.h"
#include "proc.h"
#include "compile.h"
#include "joindecl.h"
#include "pushdown.h"
#include "codegen.h"
#include "contrib.h"
#include "eval.h"
#include "value.h"

static mpc_circuit *s_compile_defs(const char *src, const mpc_define *defs, size_t n_defs)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    /* Unoptimised: these tests check what code generation emits for each construct. */
    int r = mpc_compile_ex(src, strlen(src), "t.mpc", defs, n_defs, MPC_COMPILE_NO_OPT, &c, &d);
    if (r != 0) {
        char msg[512] = "?";
        if (mpc_diag_first_error(&d)) mpc_diag_format(&d, mpc_diag_first_error(&d), msg, sizeof msg);
        mpc_diag_free(&d);
        ck_abort_msg("compile failed: %s\n%s", msg, src);
    }
    mpc_diag_free(&d);
    return c;
}

static mpc_circuit *s_compile(const char *src)
{
    return s_compile_defs(src, NULL, 0);
}

/* As mpcc compiles: optimised. */
static mpc_circuit *s_compile_opt(const char *src)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int r = mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d);
    ck_assert_msg(r == 0, "compile failed:\n%s", src);
    mpc_diag_free(&d);
    return c;
}

/* The first error's formatted text (the compile must fail). */
static void s_fails(const char *src, const mpc_define *defs, size_t n_defs, const char *want)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "t.mpc", defs, n_defs, &c, &d), -1);
    ck_assert_ptr_null(c);
    char got[512];
    mpc_diag_format(&d, mpc_diag_first_error(&d), got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "got  %s\nwant %s", got, want);
    mpc_diag_free(&d);
}

static int s_count(const mpc_circuit *c, mpc_gate_kind k)
{
    int n = 0;
    for (uint32_t i = 0; i < c->n_gates; i++) n += c->gates[i].kind == k;
    return n;
}

/* The gate an output reveals. */
static const mpc_gate *s_out(const mpc_circuit *c, uint32_t i)
{
    return &c->gates[c->outputs[i].wire];
}

static const mpc_gate *s_in(const mpc_circuit *c, const mpc_gate *g, int k)
{
    return &c->gates[g->in[k]];
}

static uint64_t s_constval(const mpc_circuit *c, const mpc_gate *g)
{
    ck_assert_int_eq(g->kind, MPC_G_CONST);
    return c->consts[g->aux[0]];
}

#define HDR2 "party a, b\ninput x: int from a\ninput y: int from b\n"
#define HDRF "party a, b\ninput x: fix from a\ninput y: fix from b\n"
#define HDRV "party a, b\ninput x: int[8] from a\ninput y: int[8] from b\n"

START_TEST(test_folding_constants)
{
    /* 3*4*x: the constants fold, x is multiplied once. */
    mpc_circuit *c = s_compile(HDR2 "output o = 3 * 4 * x + y - y to a\n");
    ck_assert_int_eq(s_count(c, MPC_G_MUL_PUB), 1);
    ck_assert_int_eq(s_count(c, MPC_G_MUL), 0);
    const mpc_gate *g = s_in(c, s_in(c, s_out(c, 0), 0), 0);
    ck_assert_int_eq(g->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, g, 1)), 12);
    mpc_circ_destroy(&c);
    /* Public-only subexpressions never reach the circuit, whatever their shape. */
    c = s_compile(HDR2 "param K = 5\nlet k = (K * 2 - 3) * -1 + 7 / 2\noutput o = x + k to a\n");
    ck_assert_uint_eq(c->n_gates, 5);   /* 2 inputs, const, add_pub, output */
    g = s_out(c, 0);
    ck_assert_int_eq(g->kind, MPC_G_ADD_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, g, 1)), (uint64_t)(-7 + 3));   /* 7/2 floors to 3 */
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_identities)
{
    const char *forms[] = {"x + 0", "0 + x", "x - 0", "x * 1", "1 * x", "-(-x)", "x * (2 - 1)",
                           "(x * 0) + x", "x + 0 * y", "x / 1", "--x"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char src[256];
        snprintf(src, sizeof src, HDR2 "output o = %s to a\n", forms[i]);
        mpc_circuit *c = s_compile(src);
        ck_assert_msg(c->outputs[0].wire == c->inputs[0].wire, "%s is not x itself", forms[i]);
        mpc_circ_destroy(&c);
    }
    /* x * 0 is the constant 0: adding it to y leaves y. */
    mpc_circuit *c = s_compile(HDR2 "output o = x * 0 + y to a\n");
    ck_assert_uint_eq(c->outputs[0].wire, c->inputs[1].wire);
    mpc_circ_destroy(&c);
    /* x * -1 is a negation, not a multiplication. */
    c = s_compile(HDR2 "output o = x * -1 to a\n");
    ck_assert_int_eq(s_out(c, 0)->kind, MPC_G_NEG);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_secret_times_public_no_triple)
{
    mpc_circuit *c = s_compile(HDRV "param K = 7\nlet k = K + 1\n"
                                    "output o = x * k + sum(y * 3) + dot(x, y * 0 + 5) to a\n");
    mpc_circ_stats st;
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.triples, 0);
    ck_assert_uint_eq(st.rounds, 0);
    ck_assert_int_eq(s_count(c, MPC_G_MUL), 0);
    ck_assert_int_eq(s_count(c, MPC_G_DOT), 0);
    mpc_circ_destroy(&c);
    /* A real product of secrets costs one triple per element. */
    c = s_compile(HDRV "output o = x * y to a\n");
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.triples, 8);
    ck_assert_uint_eq(st.rounds, 1);
    mpc_circ_destroy(&c);
}
END_TEST

/* g is an exact floor(x / 2^k) (int division by 2^k, int() of a fix): SUB(t, LTZ(SUB(x,
 * MUL_PUB(t, 2^k)))) with t = TRUNC(x, k); returns t. */
static const mpc_gate *s_exact_floor(const mpc_circuit *c, const mpc_gate *g, unsigned k)
{
    ck_assert_int_eq(g->kind, MPC_G_SUB);
    const mpc_gate *t = s_in(c, g, 0), *l = s_in(c, g, 1);
    ck_assert_int_eq(t->kind, MPC_G_TRUNC);
    ck_assert_uint_eq(t->aux[0], k);
    ck_assert_int_eq(l->kind, MPC_G_LTZ);
    const mpc_gate *r = s_in(c, l, 0);
    ck_assert_int_eq(r->kind, MPC_G_SUB);
    ck_assert_uint_eq(r->in[0], t->in[0]);                  /* x ... */
    const mpc_gate *back = s_in(c, r, 1);                    /* ... minus t·2^k */
    ck_assert_int_eq(back->kind, MPC_G_MUL_PUB);
    ck_assert_ptr_eq(s_in(c, back, 0), t);
    ck_assert_uint_eq(s_constval(c, s_in(c, back, 1)), (uint64_t)1 << k);
    return t;
}

START_TEST(test_fixed_point_products)
{
    mpc_circuit *c = s_compile(HDRF "output p = x * y, h = x * 0.5, w = x * 2.0, i = x * 3, "
                                    "m = x * -1.5 to a\n");
    const mpc_gate *g = s_out(c, 0);   /* fix*fix: MUL then TRUNC(16) */
    ck_assert_int_eq(g->kind, MPC_G_TRUNC);
    ck_assert_uint_eq(g->aux[0], 16);
    ck_assert_uint_eq(g->aux[1], MPC_TRUNC_BOUND);
    ck_assert_int_eq(s_in(c, g, 0)->kind, MPC_G_MUL);
    g = s_out(c, 1);                   /* x * 0.5: MUL_PUB by 2^15, TRUNC(16) */
    ck_assert_int_eq(g->kind, MPC_G_TRUNC);
    ck_assert_int_eq(s_in(c, g, 0)->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, s_in(c, g, 0), 1)), 32768);
    g = s_out(c, 2);                   /* x * 2.0: a whole number, MUL_PUB by 2, no TRUNC */
    ck_assert_int_eq(g->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, g, 1)), 2);
    g = s_out(c, 3);                   /* x * 3: int constant, MUL_PUB by 3 */
    ck_assert_int_eq(g->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, g, 1)), 3);
    g = s_out(c, 4);
    ck_assert_int_eq(g->kind, MPC_G_TRUNC);
    ck_assert_uint_eq(s_constval(c, s_in(c, s_in(c, g, 0), 1)), (uint64_t)-98304);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(c->outputs[i].type, MPC_T_FIX);
    mpc_circ_destroy(&c);
    /* dot of fix vectors: DOT in segments of 256 products, TRUNC of each segment, SUM. */
    c = s_compile("party a, b\ninput u: fix[5] from a\ninput v: fix[5] from b\noutput d = dot(u, v) to b\n");
    ck_assert_int_eq(s_out(c, 0)->kind, MPC_G_SUM);
    ck_assert_int_eq(s_in(c, s_out(c, 0), 0)->kind, MPC_G_TRUNC);
    ck_assert_int_eq(s_in(c, s_in(c, s_out(c, 0), 0), 0)->kind, MPC_G_DOT);
    ck_assert_uint_eq(s_in(c, s_in(c, s_out(c, 0), 0), 0)->aux[0], 256);
    ck_assert_uint_eq(s_in(c, s_in(c, s_out(c, 0), 0), 0)->len, 1);
    mpc_circ_destroy(&c);
    c = s_compile("party a, b\ninput u: fix[10000] from a\ninput v: fix[10000] from b\noutput d = dot(u, v) to b\n");
    ck_assert_uint_eq(s_in(c, s_in(c, s_out(c, 0), 0), 0)->len, 40);   /* 39 · 256 + 16 */
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_division)
{
    /* int / 2^k: exact floor, TRUNC corrected by one comparison. */
    mpc_circuit *c = s_compile(HDR2 "output q = x / 4, r = x / -8 to a\n");
    const mpc_gate *g = s_out(c, 0);
    s_exact_floor(c, g, 2);
    g = s_out(c, 1);
    ck_assert_int_eq(g->kind, MPC_G_NEG);
    s_exact_floor(c, s_in(c, g, 0), 3);
    mpc_circ_stats st;
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.comparisons, 2);
    ck_assert_uint_eq(st.trunc_elems, 2);
    ck_assert_uint_eq(st.rounds, 9);
    mpc_circ_destroy(&c);

    c = s_compile(HDRF "output q = x / 0.25, e = x / 8, t = x / 3, n = x / -3, s = x / 0.1 to a\n");
    g = s_out(c, 0);   /* |c| = 2^-2: MUL_PUB by 4 */
    ck_assert_int_eq(g->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, g, 1)), 4);
    g = s_out(c, 1);
    ck_assert_int_eq(g->kind, MPC_G_TRUNC);
    ck_assert_uint_eq(g->aux[0], 3);
    /* x / 3: t = 1, s = 24, R = round(2^25 * 2^16 / (3 * 2^16)) = 11184811. */
    g = s_out(c, 2);
    ck_assert_int_eq(g->kind, MPC_G_TRUNC);
    ck_assert_uint_eq(g->aux[0], 24);
    const mpc_gate *m = s_in(c, g, 0);
    ck_assert_int_eq(m->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, m, 1)), 11184811);
    ck_assert_int_eq(s_in(c, m, 0)->kind, MPC_G_TRUNC);
    ck_assert_uint_eq(s_in(c, m, 0)->aux[0], 1);
    ck_assert_int_eq(s_out(c, 3)->kind, MPC_G_NEG);
    /* x / 0.1: C = round(0.1 * 2^16) = 6554, t = 0, R = round(2^24 * 2^16 / 6554) */
    g = s_out(c, 4);
    m = s_in(c, g, 0);
    ck_assert_int_eq(s_in(c, m, 0)->kind, MPC_G_INPUT);
    unsigned __int128 num = (unsigned __int128)1 << 40;
    ck_assert_uint_eq(s_constval(c, s_in(c, m, 1)), (uint64_t)((2 * num + 6554) / (2 * 6554)));
    mpc_circ_destroy(&c);

    /* precision 20: s = 20 */
    c = s_compile("party a, b\nprecision 20\ninput x: fix from a\noutput t = x / 5 to a\n");
    ck_assert_uint_eq(c->frac_bits, 20);
    ck_assert_uint_eq(s_out(c, 0)->aux[0], 20);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_comparisons)
{
    mpc_circuit *c = s_compile(HDR2 "output lt = x < y, gt = x > y, le = x <= y, ge = x >= y, "
                                    "eq = x == y, ne = x != y to a\n");
    const mpc_gate *g = s_out(c, 0);
    ck_assert_int_eq(g->kind, MPC_G_LTZ);
    ck_assert_int_eq(s_in(c, g, 0)->kind, MPC_G_SUB);
    ck_assert_uint_eq(s_in(c, g, 0)->in[0], c->inputs[0].wire);
    g = s_out(c, 1);
    ck_assert_int_eq(g->kind, MPC_G_LTZ);
    ck_assert_uint_eq(s_in(c, g, 0)->in[0], c->inputs[1].wire);   /* y - x */
    g = s_out(c, 2);                                               /* 1 - LTZ(y - x) */
    ck_assert_int_eq(g->kind, MPC_G_ADD_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, g, 1)), 1);
    ck_assert_int_eq(s_in(c, g, 0)->kind, MPC_G_NEG);
    ck_assert_int_eq(s_in(c, s_in(c, g, 0), 0)->kind, MPC_G_LTZ);
    ck_assert_int_eq(s_out(c, 4)->kind, MPC_G_EQZ);
    ck_assert_int_eq(s_in(c, s_in(c, s_out(c, 5), 0), 0)->kind, MPC_G_EQZ);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(c->outputs[i].type, MPC_T_BOOL);
    mpc_circ_stats st;
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.comparisons, 6);
    mpc_circ_destroy(&c);
    /* Public comparisons fold, and a public condition picks its side. */
    c = s_compile(HDR2 "param N = 3\noutput o = N < 4 ? x : y, p = (N == 4) ? x : y to a\n");
    ck_assert_uint_eq(c->outputs[0].wire, c->inputs[0].wire);
    ck_assert_uint_eq(c->outputs[1].wire, c->inputs[1].wire);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_select_min_max_abs)
{
    mpc_circuit *c = s_compile(HDR2 "output s = x < y ? x : y, lo = min(x, y), hi = max(x, y), "
                                    "ab = abs(x), k = x < y ? 10 : y to a\n");
    const mpc_gate *g = s_out(c, 0);
    ck_assert_int_eq(g->kind, MPC_G_SELECT);
    ck_assert_int_eq(s_in(c, g, 0)->kind, MPC_G_LTZ);
    g = s_out(c, 1);   /* min(a, b) = SELECT(LTZ(a - b), a, b) */
    ck_assert_int_eq(g->kind, MPC_G_SELECT);
    ck_assert_uint_eq(g->in[1], c->inputs[0].wire);
    ck_assert_uint_eq(g->in[2], c->inputs[1].wire);
    g = s_out(c, 2);   /* max: SELECT(LTZ(a - b), b, a) */
    ck_assert_uint_eq(g->in[1], c->inputs[1].wire);
    ck_assert_uint_eq(g->in[2], c->inputs[0].wire);
    g = s_out(c, 3);   /* abs(x) = SELECT(LTZ(x), NEG(x), x) */
    ck_assert_int_eq(g->kind, MPC_G_SELECT);
    ck_assert_int_eq(s_in(c, g, 1)->kind, MPC_G_NEG);
    ck_assert_uint_eq(g->in[2], c->inputs[0].wire);
    /* A public branch: y + c*(10 - y), one MUL. */
    g = s_out(c, 4);
    ck_assert_int_eq(g->kind, MPC_G_ADD);
    ck_assert_int_eq(s_in(c, g, 1)->kind, MPC_G_MUL);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_vectors)
{
    mpc_circuit *c = s_compile(HDRV "input k: int from b\n"
                                    "output s = x[2:5], e = x[7], b = x + k, c2 = concat(x[0:2], y, k), "
                                    "n = sum(x) * len(y), w = x[:3] * 2 + 1 to a, b\n");
    const mpc_gate *g = s_out(c, 0);
    ck_assert_int_eq(g->kind, MPC_G_SLICE);
    ck_assert_uint_eq(g->aux[0], 2);
    ck_assert_uint_eq(g->aux[1], 1);
    ck_assert_uint_eq(g->len, 3);
    g = s_out(c, 1);
    ck_assert_int_eq(g->kind, MPC_G_SLICE);
    ck_assert_uint_eq(g->aux[0], 7);
    ck_assert_uint_eq(g->len, 1);
    g = s_out(c, 2);   /* broadcast of a scalar: one ADD of length 8 */
    ck_assert_int_eq(g->kind, MPC_G_ADD);
    ck_assert_uint_eq(g->len, 8);
    g = s_out(c, 3);
    ck_assert_int_eq(g->kind, MPC_G_CONCAT);
    ck_assert_uint_eq(g->len, 11);
    ck_assert_int_eq(s_count(c, MPC_G_CONCAT), 2);
    g = s_out(c, 4);
    ck_assert_int_eq(g->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, g, 1)), 8);
    ck_assert_uint_eq(c->outputs[5].len, 3);
    ck_assert_uint_eq(c->outputs[0].recipients, 3);
    mpc_circ_destroy(&c);
}
END_TEST

/* joint_stats with a million elements per hospital: the same gates, and fast. */
START_TEST(test_gate_count_invariance)
{
    FILE *f = fopen("examples/joint_stats.mpc", "rb");
    ck_assert_msg(f != NULL, "run from the repository root");
    char src[4096];
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = 0;
    mpc_define small = {"N", "1000"}, big = {"N", "1000000"};
    mpc_circuit *a = s_compile_defs(src, &small, 1);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mpc_circuit *b = s_compile_defs(src, &big, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(secs < 0.25, "compiling N=1000000 took %.3f s", secs);
    ck_assert_uint_eq(a->n_gates, b->n_gates);
    for (uint32_t i = 0; i < a->n_gates; i++) {
        ck_assert_int_eq(a->gates[i].kind, b->gates[i].kind);
        ck_assert_uint_eq(a->gates[i].layer, b->gates[i].layer);
    }
    ck_assert_uint_eq(b->inputs[0].len, 1000000);
    mpc_circ_stats sa, sb;
    mpc_circ_stats_get(a, &sa);
    mpc_circ_stats_get(b, &sb);
    ck_assert_uint_eq(sa.triples, 0);   /* every product is a square: dot(x, x), mean*mean */
    ck_assert_uint_eq(sa.squares, 3 * 1000 + 1);
    ck_assert_uint_eq(sb.squares, 3 * 1000000 + 1);
    ck_assert_uint_eq(sa.rounds, sb.rounds);
    mpc_circ_destroy(&a);
    mpc_circ_destroy(&b);
}
END_TEST

static mpc_circuit *s_example_src(const char *name, char *src, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "examples/%s.mpc", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    size_t n = fread(src, 1, cap - 1, f);
    fclose(f);
    src[n] = 0;
    return s_compile_opt(src);
}

static mpc_circuit *s_example(const char *name)
{
    char path[256], src[4096];
    snprintf(path, sizeof path, "examples/%s.mpc", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = 0;
    return s_compile(src);
}

/* The numeric builtins' lowering (LANGUAGE.md "Statistics", "Numerics"). */
START_TEST(test_numeric_lowering)
{
    /* sign: LTZ and EQZ side by side, no triple; relu: one LTZ and one MUL. */
    mpc_circuit *c = s_compile_opt("party a, b\ninput x: int[5] from a\noutput s = sign(x) to b\n");
    ck_assert_int_eq(s_count(c, MPC_G_LTZ), 1);
    ck_assert_int_eq(s_count(c, MPC_G_EQZ), 1);
    ck_assert_int_eq(s_count(c, MPC_G_MUL) + s_count(c, MPC_G_SELECT), 0);
    ck_assert_uint_eq(c->rounds, 8);
    mpc_circ_destroy(&c);
    c = s_compile_opt("party a, b\ninput x: fix[5] from a\noutput r = relu(x) to b\n");
    ck_assert_int_eq(s_count(c, MPC_G_LTZ), 1);
    ck_assert_int_eq(s_count(c, MPC_G_MUL), 1);
    ck_assert_int_eq(s_count(c, MPC_G_TRUNC), 0);
    ck_assert_uint_eq(c->rounds, 9);
    mpc_circ_destroy(&c);

    /* histogram: one LTZ over (edges) x (elements), compared against e_i - 1 (>=) and e_k (>). */
    c = s_compile_opt("party a, b\ninput v: int[7] from a\noutput h = histogram(v, [-3, 0, 10]) to b\n");
    ck_assert_int_eq(s_count(c, MPC_G_LTZ), 1);
    ck_assert_uint_eq(c->rounds, 8);
    ck_assert_uint_eq(c->outputs[0].len, 2);
    ck_assert_int_eq(c->outputs[0].type, MPC_T_INT);
    for (uint32_t g = 0; g < c->n_gates; g++)
        if (c->gates[g].kind == MPC_G_LTZ) ck_assert_uint_eq(c->gates[g].len, 21);
    /* thresholds e_i - 1 for ">=" and e_k for ">" (scalar constants added block by block) */
    int found = 0;
    for (uint32_t g = 0; g < c->n_gates; g++)
        if (c->gates[g].kind == MPC_G_CONST) {
            uint64_t k = c->consts[c->gates[g].aux[0]];
            found |= (k == (uint64_t)-4) | (k == (uint64_t)-1) << 1 | (k == 10) << 2;
        }
    ck_assert_int_eq(found, 7);
    mpc_circ_destroy(&c);

    /* Division, roots, exp, log, sigmoid: one comparison layer each, rounds independent of
     * the vector length, and the normalisation thresholds are 2^j - 1. */
    c = s_compile_opt("party a, b\ninput x: fix from a\noutput r = sqrt(x) to b\n");
    ck_assert_int_eq(s_count(c, MPC_G_LTZ), 1);
    found = 0;
    for (uint32_t g = 0; g < c->n_gates; g++)
        if (c->gates[g].kind == MPC_G_CONST && c->gates[g].len == 53) {
            const uint64_t *k = &c->consts[c->gates[g].aux[0]];
            if (k[0] != 0) continue;
            for (int j = 0; j < 53; j++) ck_assert_uint_eq(k[j], ((uint64_t)1 << j) - 1);
            found = 1;
        }
    ck_assert(found);
    mpc_circ_destroy(&c);
    /* On a vector the same thresholds are scalar constants: no CONST grows with the data. */
    c = s_compile_opt("party a, b\ninput x: fix[100000] from a\noutput r = sqrt(x), s = sigmoid(x), q = 1 / x to b\n");
    ck_assert_int_eq(s_count(c, MPC_G_LTZ), 3);
    for (uint32_t g = 0; g < c->n_gates; g++)
        if (c->gates[g].kind == MPC_G_CONST) ck_assert_uint_le(c->gates[g].len, 1);
    for (uint32_t g = 0; g < c->n_gates; g++)
        if (c->gates[g].kind == MPC_G_LTZ) ck_assert_uint_eq(c->gates[g].len % 100000, 0);
    mpc_circ_destroy(&c);

    /* Statistics: the joint_corr example's gates and rounds do not grow with N. */
    char src[4096];
    mpc_circuit *c1 = s_example_src("joint_corr", src, sizeof src);
    mpc_define d = {"N", "200000"};
    mpc_circuit *c2 = NULL;
    mpc_diag dg;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "joint_corr.mpc", &d, 1, &c2, &dg), 0);
    mpc_diag_free(&dg);
    ck_assert_uint_eq(c1->n_gates, c2->n_gates);
    ck_assert_uint_eq(c1->rounds, c2->rounds);
    mpc_circ_stats s1, s2;
    mpc_circ_stats_get(c1, &s1);
    mpc_circ_stats_get(c2, &s2);
    ck_assert_uint_gt(s2.triples, s1.triples);   /* the per-element work grows, the rounds do not */
    mpc_circ_destroy(&c1);
    mpc_circ_destroy(&c2);

    /* Secret division: x / y of fix is allowed, of int is an error. */
    s_fails("party a, b\ninput x: int from a\ninput y: int from b\noutput o = x / y to a\n", NULL, 0,
            "t.mpc:4:14: error: integer division by a secret value is not supported; convert with fix(...)");
    c = s_compile_opt("party a, b\ninput x: fix[4] from a\ninput y: fix from b\noutput o = x / y, p = 1 / y to a\n");
    ck_assert_uint_eq(c->outputs[0].len, 4);
    ck_assert_uint_eq(c->outputs[1].len, 1);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_examples_stats)
{
    char src[4096];
    mpc_circ_stats st;
    mpc_circuit *c = s_example_src("secure_sum", src, sizeof src);
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.triples, 0);
    ck_assert_uint_eq(st.rounds, 0);
    ck_assert_uint_eq(st.gates, 6);   /* 3 inputs, 2 adds, 1 output */
    ck_assert_uint_eq(c->n_parties, 3);
    ck_assert_uint_eq(c->n_outputs, 1);
    ck_assert_uint_eq(c->outputs[0].recipients, 7);
    mpc_circ_destroy(&c);

    c = s_example_src("risk_linear", src, sizeof src);
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.triples, 4);
    ck_assert_uint_eq(st.trunc_elems, 1);
    ck_assert_uint_eq(st.rounds, 2);
    ck_assert_uint_eq(c->outputs[0].recipients, 1);   /* only the patient */
    ck_assert_int_eq(c->outputs[0].type, MPC_T_FIX);
    mpc_circ_destroy(&c);

    c = s_example_src("poly", src, sizeof src);
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(c->n_outputs, 2);
    ck_assert_str_eq(c->outputs[0].name, "p");
    ck_assert_str_eq(c->outputs[1].name, "acc");
    /* x*y is computed once (the loop's four copies and 3*x*y = 3*(x*y) share it), plus
     * x*x (a square pair) and (x*x)*x: two triples, one square, two rounds. */
    ck_assert_uint_eq(st.triples, 2);
    ck_assert_uint_eq(st.squares, 1);
    ck_assert_uint_eq(st.rounds, 2);
    ck_assert_int_eq(s_count(c, MPC_G_MUL_PUB), 1);
    mpc_circ_destroy(&c);

    c = s_example_src("joint_stats", src, sizeof src);
    mpc_circ_stats_get(c, &st);
    ck_assert_str_eq(c->outputs[0].name, "mean");
    ck_assert_str_eq(c->outputs[1].name, "var");
    ck_assert_uint_eq(c->inputs[2].len, 1000);
    ck_assert_uint_eq(st.triples, 0);
    ck_assert_uint_eq(st.squares, 3001);   /* three dots of 1000 with themselves, mean*mean */
    ck_assert_uint_eq(st.comparisons, 0);
    mpc_circ_destroy(&c);

    /* fedavg: a collection of 8-value updates in -1..1 beside party a's model; every party
     * learns the count, the mean and the new model, nothing else. */
    c = s_example_src("fedavg", src, sizeof src);
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(c->n_parties, 3);
    const mpc_contrib_decl *cd = mpc_circ_contrib(c, "update");
    ck_assert_ptr_nonnull(cd);
    ck_assert_str_eq(cd->input, "update-contrib");
    ck_assert_int_eq(cd->type, MPC_T_FIX);
    ck_assert_uint_eq(cd->len, 8);
    ck_assert_int_eq(cd->lo, -65536);
    ck_assert_int_eq(cd->hi, 65536);
    ck_assert_uint_eq(cd->max_count, MPC_CONTRIB_MAX_COUNT);
    ck_assert_uint_eq(c->n_inputs, 2);
    ck_assert_uint_eq(c->n_outputs, 3);
    const char *outs[] = {"clients", "mean_update", "new_model"};
    for (int o = 0; o < 3; o++) {
        ck_assert_str_eq(c->outputs[o].name, outs[o]);
        ck_assert_uint_eq(c->outputs[o].recipients, 7);
        ck_assert_uint_eq(c->outputs[o].len, o ? 8 : 1);
    }
    /* the field-to-ring conversion (2 comparisons for 3 parties, then 1) and the division */
    ck_assert_uint_gt(st.comparisons, 3 * 9);
    mpc_circ_destroy(&c);
}
END_TEST

/* Evaluates circuit c on inputs ins[] and returns output i's values (caller frees res). */
static void s_eval(const mpc_circuit *c, const uint64_t *const *ins, mpc_eval_result *res)
{
    char err[256];
    ck_assert_int_eq(mpc_eval(c, ins, res, err, sizeof err), 0);
    ck_assert_uint_eq(res->n_warnings, 0);
}

static uint64_t s_rng = 0x1234567;
static uint64_t s_rand64(void)
{
    uint64_t z = (s_rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A random fix encoding with |x| < 8, f = 16. */
static uint64_t s_rand_fix(void)
{
    return (s_rand64() % (16u << 16)) - (8u << 16);
}

static uint64_t s_floor_shift(uint64_t x, unsigned m)
{
    uint64_t r = x >> m;
    if (x >> 63) r |= ~(UINT64_MAX >> m);
    return r;
}

/* x / n for a fix x and an int n > 1 that is not a power of two, as LANGUAGE.md specifies. */
static uint64_t s_fix_div_int(uint64_t X, uint64_t n)
{
    unsigned t = 0;
    while ((n >> (t + 1)) != 0) t++;
    unsigned s = 40 - 16;
    unsigned __int128 num = (unsigned __int128)1 << (s + t);   /* 2^(s+t) * 2^f / (n * 2^f) */
    uint64_t R = (uint64_t)((2 * num + n) / (2 * (unsigned __int128)n));
    return s_floor_shift(s_floor_shift(X, t) * R, s);
}

/* Each example against an independent computation of its result in C, on random inputs. */
START_TEST(test_examples_evaluate)
{
    char src[4096];
    mpc_eval_result res;
    for (int round = 0; round < 20; round++) {
        mpc_circuit *c = s_example_src("secure_sum", src, sizeof src);
        uint64_t x = s_rand64(), y = s_rand64(), z = s_rand64();
        const uint64_t *ins[] = {&x, &y, &z};
        s_eval(c, ins, &res);
        ck_assert_uint_eq(res.outputs[0][0], x + y + z);
        mpc_eval_result_free(&res);
        mpc_circ_destroy(&c);

        c = s_example_src("poly", src, sizeof src);
        const uint64_t *pins[] = {&x, &y};
        s_eval(c, pins, &res);
        ck_assert_uint_eq(res.outputs[0][0], x * x * x + 3 * x * y - y);
        ck_assert_uint_eq(res.outputs[1][0], 4 * x * y + 0 + 1 + 2 + 3);
        mpc_eval_result_free(&res);
        mpc_circ_destroy(&c);

        c = s_example_src("risk_linear", src, sizeof src);
        uint64_t xv[4], wv[4], bias = s_rand_fix();
        __int128 acc = 0;
        for (int i = 0; i < 4; i++) {
            xv[i] = s_rand_fix();
            wv[i] = s_rand_fix();
            acc += (__int128)(int64_t)xv[i] * (int64_t)wv[i];
        }
        const uint64_t *rins[] = {xv, wv, &bias};
        s_eval(c, rins, &res);
        ck_assert_uint_eq(res.outputs[0][0], s_floor_shift((uint64_t)acc, 16) + bias);
        mpc_eval_result_free(&res);
        mpc_circ_destroy(&c);
    }
    /* joint_stats with N = 7: n = 21. */
    FILE *f = fopen("examples/joint_stats.mpc", "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = 0;
    mpc_define def = {"N", "7"};
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, n, "joint_stats.mpc", &def, 1, &c, &d), 0);
    mpc_diag_free(&d);
    for (int round = 0; round < 20; round++) {
        uint64_t v[3][7], S = 0, SQ = 0;
        double ds = 0, dsq = 0;
        for (int h = 0; h < 3; h++) {
            __int128 dot = 0;
            for (int i = 0; i < 7; i++) {
                v[h][i] = s_rand_fix();
                S += v[h][i];
                dot += (__int128)(int64_t)v[h][i] * (int64_t)v[h][i];
                double xd = (double)(int64_t)v[h][i] / 65536.0;
                ds += xd;
                dsq += xd * xd;
            }
            SQ += s_floor_shift((uint64_t)dot, 16);
        }
        const uint64_t *ins[] = {v[0], v[1], v[2]};
        s_eval(c, ins, &res);
        uint64_t mean = s_fix_div_int(S, 21);
        __int128 m2 = (__int128)(int64_t)mean * (int64_t)mean;
        uint64_t var = s_fix_div_int(SQ, 21) - s_floor_shift((uint64_t)m2, 16);
        ck_assert_uint_eq(res.outputs[0][0], mean);
        ck_assert_uint_eq(res.outputs[1][0], var);
        /* and both are close to the real statistics */
        double dm = ds / 21, dv = dsq / 21 - dm * dm;
        ck_assert_double_le(fabs((double)(int64_t)mean / 65536.0 - dm), 1e-4);
        ck_assert_double_le(fabs((double)(int64_t)var / 65536.0 - dv), 1e-3);
        mpc_eval_result_free(&res);
    }
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_source_positions)
{
    mpc_circuit *c = s_example("joint_stats");
    for (uint32_t i = 0; i < c->n_gates; i++) {
        ck_assert_uint_gt(c->gates[i].line, 0);
        ck_assert_uint_gt(c->gates[i].col, 0);
    }
    /* "let mean = s / n" is line 10; its TRUNC/MUL_PUB gates point at the '/'. */
    const mpc_gate *g = s_out(c, 0);
    ck_assert_uint_eq(g->line, 10);
    ck_assert_uint_eq(g->col, 14);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_params_and_defines)
{
    const char *src = "party a, b\nparam N = 4\nparam S = 1.5\ninput x: fix[N] from a\n"
                      "output o = x * S to a\n";
    mpc_define d[] = {{"N", "6"}, {"S", "2"}};
    mpc_circuit *c = s_compile_defs(src, d, 2);
    ck_assert_uint_eq(c->inputs[0].len, 6);
    ck_assert_int_eq(s_out(c, 0)->kind, MPC_G_MUL_PUB);   /* x * 2: int, exact */
    mpc_circ_destroy(&c);
    mpc_define bad[] = {{"M", "3"}};
    s_fails(src, bad, 1, "t.mpc: error: unknown parameter 'M' given with -D");
    mpc_define junk[] = {{"N", "4x"}};
    s_fails(src, junk, 1, "t.mpc:2:1: error: invalid value '4x' for parameter 'N' given with -D");
    s_fails("party a, b\ninput x: int from a\nparam N = x\noutput o = x to a\n", NULL, 0,
            "t.mpc:3:11: error: the value of param 'N' must be a compile-time constant");
}
END_TEST

START_TEST(test_types_and_promotion)
{
    /* bool counts as int in sum; bool + fix scales the bool by 2^f. */
    mpc_circuit *c = s_compile("party a, b\ninput v: fix[6] from a\ninput t: fix from b\n"
                               "output n = sum(v > t), f = (v[0] > t) + t, i = int(t), g = fix(sum(v > t)) to a\n");
    ck_assert_int_eq(c->outputs[0].type, MPC_T_INT);
    ck_assert_int_eq(s_out(c, 0)->kind, MPC_G_SUM);
    const mpc_gate *g = s_out(c, 1);
    ck_assert_int_eq(c->outputs[1].type, MPC_T_FIX);
    ck_assert_int_eq(s_in(c, g, 0)->kind, MPC_G_MUL_PUB);
    ck_assert_uint_eq(s_constval(c, s_in(c, s_in(c, g, 0), 1)), 65536);
    g = s_out(c, 2);   /* int(t): exact floor */
    s_exact_floor(c, g, 16);
    ck_assert_int_eq(c->outputs[2].type, MPC_T_INT);
    mpc_circ_destroy(&c);
    /* An int constant meeting a fix becomes fix: 1 is added as 65536. */
    c = s_compile(HDRF "output o = x + 1 to a\n");
    ck_assert_uint_eq(s_constval(c, s_in(c, s_out(c, 0), 1)), 65536);
    mpc_circ_destroy(&c);
    s_fails(HDRF "input k: int from a\noutput o = x * 0.5 + k to a\n", NULL, 0,
            "t.mpc:5:20: error: type mismatch in '+': fix and int (convert with fix(...) or int(...))");
}
END_TEST

START_TEST(test_functions_and_loops)
{
    /* Inlined: each call is its own copy; a fn sees its parameters and the top level only. */
    mpc_circuit *c = s_compile(HDR2 "let k = 3\nfn f(u) { let t = u * u return t + k }\n"
                                    "var acc = 0\nfor i in 0..3 { acc = acc + f(x) * i }\n"
                                    "output o = acc, p = f(f(y)) to a\n");
    /* three calls in the loop (the i = 0 product is dead: mpc_circ_optimize drops it), two nested */
    ck_assert_int_eq(s_count(c, MPC_G_MUL), 3 + 2);
    ck_assert_int_eq(s_count(c, MPC_G_MUL_PUB), 1);   /* * 2; * 1 and * 0 fold */
    mpc_circ_destroy(&c);
    s_fails(HDR2 "fn f(u) { return u * z }\nlet z = 1\nfor i in 0..1 { let w = 2 output o = f(x) to a }\n",
            NULL, 0, "t.mpc:6:27: error: 'output' is only allowed at the top level");
    s_fails(HDR2 "fn f(u) { return u * w }\nfor i in 0..1 { let w = 2\n let o = f(x) }\n", NULL, 0,
            "t.mpc:4:22: error: undefined name 'w'");
    /* Shadowing inside a function is allowed; a loop variable is not assignable. */
    c = s_compile(HDR2 "fn g(x) { let y = x + 1 return y }\noutput o = g(y) to a\n");
    mpc_circ_destroy(&c);
    s_fails(HDR2 "for i in 0..2 { i = 3 }\noutput o = x to a\n", NULL, 0,
            "t.mpc:4:17: error: cannot assign to 'i': it is a loop variable (only a var can change)");
}
END_TEST

START_TEST(test_warnings)
{
    const char *src = HDR2 "input z: int from a\noutput o = x + y to a\n";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "w.mpc", NULL, 0, &c, &d), 0);
    ck_assert_uint_eq(d.n_warnings, 1);
    ck_assert_uint_eq(d.n_errors, 0);
    char buf[256];
    mpc_diag_format(&d, &d.items[0], buf, sizeof buf);
    ck_assert_str_eq(buf, "w.mpc:4:1: warning: input 'z' is never used");
    mpc_diag_free(&d);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_decimal_literals)
{
    uint64_t x;
    ck_assert_int_eq(mpc_compile_decimal("2.5", 16, &x), 0);
    ck_assert_uint_eq(x, 163840);
    ck_assert_int_eq(mpc_compile_decimal("0.1", 16, &x), 0);
    ck_assert_uint_eq(x, 6554);                  /* 6553.6 rounds up */
    ck_assert_int_eq(mpc_compile_decimal("0.00000762939453125", 16, &x), 0);
    ck_assert_uint_eq(x, 1);                     /* exactly 2^-17: half, away from zero */
    ck_assert_int_eq(mpc_compile_decimal("0.00000762939453124999999999999", 16, &x), 0);
    ck_assert_uint_eq(x, 0);                     /* just below half */
    ck_assert_int_eq(mpc_compile_decimal("140737488355327.99998", 16, &x), 0);
    ck_assert_uint_eq(x, ((uint64_t)1 << 63) - 1);
    ck_assert_int_eq(mpc_compile_decimal("140737488355328.0", 16, &x), -1);   /* 2^47 */
    ck_assert_int_eq(mpc_compile_decimal("1.", 16, &x), -1);
    ck_assert_int_eq(mpc_compile_decimal("1.5e3", 16, &x), -1);
    ck_assert_int_eq(mpc_compile_decimal("3.25", 20, &x), 0);
    ck_assert_uint_eq(x, 3407872);
}
END_TEST

/* Every ```mpc block of LANGUAGE.md compiles, and the ```eval block after it names exactly
 * the program's outputs, in order. */
typedef struct {
    char  src[4096];
    char  in[16][512];
    int   n_in;
    char  out[16][512];
    int   n_out;
    char  seed[80];   /* "seed: HEX": the noise of dp_* outputs (mpcc --eval --seed HEX) */
    char  key[4][512];   /* "key: TABLE.KEYCOL = k1, k2, ...": a join's key column (joindecl.h) */
    int   n_key;
} s_doc_example;

static int s_doc_examples(s_doc_example *ex, int max)
{
    FILE *f = fopen("circuits/LANGUAGE.md", "rb");
    ck_assert_msg(f != NULL, "cannot open circuits/LANGUAGE.md (run from the repository root)");
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = 0;
    int k = 0;
    char *p = doc;
    while ((p = strstr(p, "```mpc\n")) != NULL) {
        ck_assert_int_lt(k, max);
        p += 7;
        char *e = strstr(p, "```");
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_lt((size_t)(e - p), sizeof ex[k].src);
        memcpy(ex[k].src, p, (size_t)(e - p));
        ex[k].src[e - p] = 0;
        char *ev = strstr(e + 3, "```eval\n");
        ck_assert_msg(ev != NULL, "example %d has no eval block", k + 1);
        ck_assert_msg(ev == e + 4, "example %d: the eval block must follow the program", k + 1);
        ev += 8;
        char *ee = strstr(ev, "```");
        ex[k].n_in = ex[k].n_out = ex[k].n_key = 0;
        ex[k].seed[0] = 0;
        for (char *l = ev; l < ee;) {
            char *nl = strchr(l, '\n');
            size_t ll = (size_t)(nl - l);
            ck_assert_uint_lt(ll, 512);
            if (strncmp(l, "in: ", 4) == 0) {
                memcpy(ex[k].in[ex[k].n_in], l + 4, ll - 4);
                ex[k].in[ex[k].n_in++][ll - 4] = 0;
            } else if (strncmp(l, "key: ", 5) == 0) {
                ck_assert_int_lt(ex[k].n_key, 4);
                memcpy(ex[k].key[ex[k].n_key], l + 5, ll - 5);
                ex[k].key[ex[k].n_key++][ll - 5] = 0;
            } else if (strncmp(l, "seed: ", 6) == 0) {
                ck_assert_uint_lt(ll - 6, sizeof ex[k].seed);
                memcpy(ex[k].seed, l + 6, ll - 6);
                ex[k].seed[ll - 6] = 0;
            } else if (strncmp(l, "out: ", 5) == 0) {
                memcpy(ex[k].out[ex[k].n_out], l + 5, ll - 5);
                ex[k].out[ex[k].n_out++][ll - 5] = 0;
            } else {
                ck_abort_msg("example %d: unexpected line in eval block: %.*s", k + 1, (int)ll, l);
            }
            l = nl + 1;
        }
        p = ee + 3;
        k++;
    }
    return k;
}

START_TEST(test_language_examples_compile)
{
    static s_doc_example ex[32];
    int n = s_doc_examples(ex, 32);
    ck_assert_int_ge(n, 12);
    for (int k = 0; k < n; k++) {
        mpc_circuit *c = s_compile(ex[k].src);
        ck_assert_int_eq((int)c->n_outputs, ex[k].n_out);
        int given = 0;   /* a join's outputs are computed from the key: lines */
        for (uint32_t i = 0; i < c->n_inputs; i++) given += !mpc_join_input_of(c->inputs[i].name);
        ck_assert_int_eq(given, ex[k].n_in);
        for (int i = 0; i < ex[k].n_out; i++) {
            size_t nl = strlen(c->outputs[i].name);
            ck_assert_msg(strncmp(ex[k].out[i], c->outputs[i].name, nl) == 0 &&
                              strncmp(ex[k].out[i] + nl, " = ", 3) == 0,
                          "example %d: output %d is '%s', the doc says '%s'", k + 1, i, c->outputs[i].name,
                          ex[k].out[i]);
        }
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* The value of a contributor input's circuit input for contributions "v, v | v, v | ..."
 * (field sums of the values and of the derived entries, then the count), as mpcc --eval
 * computes it from a file. */
static void s_contrib_sums(const mpc_contrib_decl *cd, unsigned frac, const char *text, uint64_t **out)
{
    const uint64_t P = UINT64_C(0x1FFFFFF900000001);
    uint64_t w = cd->len + cd->n_derived;
    uint64_t *v = calloc(w + 1, sizeof *v), *row = calloc(w, sizeof *row);
    ck_assert(v && row);
    char err[256];
    for (const char *p = text;;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        ck_assert_msg(mpc_contrib_parse(cd, frac, p, n, row, err, sizeof err) == 0, "%s", err);
        if (mpc_contrib_norm_ok(cd, row)) {   /* one over the norm bound is dropped, as the daemons do */
            mpc_contrib_derive(cd, row, row + cd->len);
            for (uint64_t e = 0; e < w; e++) v[e] = (v[e] + row[e]) % P;
            v[w]++;
        }
        if (!bar) break;
        p = bar + 1;
    }
    free(row);
    *out = v;
}

/* The join outputs among decl, from the example's key: lines ("labs.patient_id = P1, P2")
 * and the payload values already in vals, by mpc_join_eval (as mpcc --eval does). */
static void s_doc_joins(const s_doc_example *ex, int k, const mpc_circuit *c, const mpc_input *decl, uint32_t nd,
                        uint64_t **vals)
{
    for (uint32_t j = 0; j < c->n_joins; j++) {
        const mpc_join_decl *jd = &c->joins[j];
        mpc_join_keys keys[2];
        const uint64_t *pv[2][MPC_JOIN_MAX_PAYLOAD];
        uint64_t *ov[1 + 2 * MPC_JOIN_MAX_PAYLOAD];
        for (int s = 0; s < 2; s++) {
            char want[2 * MPC_NAME_MAX + 4];
            snprintf(want, sizeof want, "%s.%s = ", jd->table[s], jd->key[s]);
            const char *line = NULL;
            for (int i = 0; i < ex->n_key; i++)
                if (!strncmp(ex->key[i], want, strlen(want))) line = ex->key[i] + strlen(want);
            ck_assert_msg(line != NULL, "example %d: no key: %s...", k, want);
            memset(&keys[s], 0, sizeof keys[s]);
            keys[s].data = malloc(strlen(line) + 1);
            keys[s].off = calloc(strlen(line) + 2, sizeof *keys[s].off);
            for (const char *p = line;;) {
                const char *e = strstr(p, ", ");
                size_t n = e ? (size_t)(e - p) : strlen(p);
                memcpy(keys[s].data + keys[s].off[keys[s].rows], p, n);
                keys[s].off[keys[s].rows + 1] = keys[s].off[keys[s].rows] + n;
                keys[s].rows++;
                if (!e) break;
                p = e + 2;
            }
            for (uint32_t m = 0; m < jd->n_cols[s]; m++)
                for (uint32_t i = 0; i < nd; i++)
                    if (!strcmp(decl[i].name, c->inputs[jd->col[s][m]].name)) pv[s][m] = vals[i];
        }
        for (uint32_t m = 0; m < 1 + jd->n_cols[0] + jd->n_cols[1]; m++)
            for (uint32_t i = 0; i < nd; i++)
                if (!strcmp(decl[i].name, c->inputs[jd->out[m]].name)) ov[m] = vals[i] = calloc(jd->rows[1], 8);
        char err[256];
        ck_assert_msg(mpc_join_eval(jd, &keys[0], &keys[1], pv[0], pv[1], ov, err, sizeof err) == 0, "example %d: %s",
                      k, err);
        mpc_join_keys_free(&keys[0]);
        mpc_join_keys_free(&keys[1]);
    }
}

/* Compiles (optimised, as mpcc does; with owner-local pushdown when `pushdown`, the declared
 * inputs run through the local parts), evaluates on the `in:` lines ("name = v, v") and
 * compares each output, formatted as mpcc --eval prints it, with the `out:` lines. */
static void s_eval_doc_pd(const s_doc_example *ex, int k, int pushdown)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_msg(mpc_compile_ex(ex->src, strlen(ex->src), "doc.mpc", NULL, 0, pushdown ? MPC_COMPILE_PUSHDOWN : 0,
                                 &c, &d) == 0, "example %d", k);
    mpc_diag_free(&d);
    mpc_input *decl = NULL;
    uint32_t nd = 0;
    ck_assert_int_eq(mpc_circ_declared_inputs(c, &decl, &nd), 0);
    ck_assert_uint_le(nd, 16);
    uint64_t *vals[16] = {0};
    char err[256];
    for (int i = 0; i < ex->n_in; i++) {
        const char *eq = strstr(ex->in[i], " = ");
        ck_assert_ptr_nonnull(eq);
        size_t nl = (size_t)(eq - ex->in[i]);
        uint32_t j;
        for (j = 0; j < nd; j++)
            if (strlen(decl[j].name) == nl && strncmp(decl[j].name, ex->in[i], nl) == 0) break;
        char cname[MPC_NAME_MAX];
        snprintf(cname, sizeof cname, "%.*s", (int)nl, ex->in[i]);
        const mpc_contrib_decl *cd = mpc_circ_contrib(c, cname);
        if (j == nd && cd) {   /* contributions "v, v | v, v | ...", one per '|'-separated part */
            for (j = 0; j < nd && strcmp(decl[j].name, cd->input) != 0; j++) {}
            ck_assert_uint_lt(j, nd);
            s_contrib_sums(cd, c->frac_bits, eq + 3, &vals[j]);
            continue;
        }
        ck_assert_msg(j < nd, "example %d: no input %s", k, ex->in[i]);
        uint64_t n = 0;
        ck_assert_msg(mpc_values_load((mpc_type)decl[j].type, c->frac_bits, eq + 3, &vals[j], &n, err,
                                      sizeof err) == 0, "example %d: %s", k, err);
        ck_assert_uint_eq(n, decl[j].len);
    }
    s_doc_joins(ex, k, c, decl, nd, vals);
    mpc_eval_result res;
    uint8_t seed[MPC_EVAL_SEED_BYTES];
    size_t got = 0;
    if (ex->seed[0])
        ck_assert_msg(sodium_hex2bin(seed, sizeof seed, ex->seed, strlen(ex->seed), NULL, &got, NULL) == 0 &&
                          got == sizeof seed, "example %d: bad seed", k);
    mpc_eval_noise_seed(ex->seed[0] ? seed : NULL);
    ck_assert_int_eq(mpc_eval_declared(c, decl, nd, (const uint64_t *const *)vals, &res, err, sizeof err), 0);
    mpc_eval_noise_seed(NULL);
    ck_assert_uint_eq(res.n_warnings, 0);
    for (uint32_t i = 0; i < c->n_outputs; i++) {
        char line[1024], v[64];
        int off = snprintf(line, sizeof line, "%s = ", c->outputs[i].name);
        for (uint64_t e = 0; e < c->outputs[i].len; e++) {
            mpc_value_format((mpc_type)c->outputs[i].type, c->frac_bits, res.outputs[i][e], v, sizeof v);
            off += snprintf(line + off, sizeof line - (size_t)off, "%s%s", e ? ", " : "", v);
        }
        ck_assert_msg(strcmp(line, ex->out[i]) == 0, "example %d (pushdown %d): got '%s', the doc says '%s'", k,
                      pushdown, line, ex->out[i]);
    }
    mpc_eval_result_free(&res);
    for (int i = 0; i < 16; i++) free(vals[i]);
    free(decl);
    mpc_circ_destroy(&c);
}

static void s_eval_doc(const s_doc_example *ex, int k)
{
    s_eval_doc_pd(ex, k, 0);
    s_eval_doc_pd(ex, k, 1);
}

START_TEST(test_language_examples_evaluate)
{
    static s_doc_example ex[32];
    int n = s_doc_examples(ex, 32);
    for (int k = 0; k < n; k++) s_eval_doc(&ex[k], k + 1);
}
END_TEST


/* ---- mpcc on the command line ---- */

static int s_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

START_TEST(test_mpcc_stats_and_circ_roundtrip)
{
    tp_cmd r;
    tp_run(&r, "mpcc", "--stats --no-pushdown examples/joint_stats.mpc");
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.err, "");
    ck_assert_msg(s_prefix(r.out, "gates: 31\ntriples: 0\ncomparisons: 0\nrounds: 4\nhash: "), "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\nsquares: 3001\n"));   /* dot(x, x) and mean*mean */
    ck_assert_ptr_nonnull(strstr(r.out, "\ntruncations: 17\n"));   /* 3 dots of 4 segments each: 12, + 5 */
    ck_assert_ptr_nonnull(strstr(r.out, "\ninput: xa from a fix[1000]\ninput: xb from b fix[1000]\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "\noutput: mean fix[1] to a, b, c\noutput: var fix[1] to a, b, c\n"));
    ck_assert_ptr_null(strstr(r.out, "local "));
    /* With pushdown (the default) each hospital's sum and dot are its own: one square left
     * (mean*mean). */
    tp_run(&r, "mpcc", "--stats examples/joint_stats.mpc");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(s_prefix(r.out, "gates: 22\ntriples: 0\ncomparisons: 0\nrounds: 4\nhash: "), "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\nlocal a: gates 7, inputs xa, derived xa.sum xa.sum2\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "\nmpc: gates 22, triples 0, squares 1, comparisons 0, rounds 4\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "\ninput: xa.sum from a fix[1] (derived)\n"));
    char stats[16384];
    strcpy(stats, r.out);
    /* The same numbers and hash from the compiled file. */
    char args[600];
    snprintf(args, sizeof args, "examples/joint_stats.mpc -o '%s/j.circ'", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 0);
    snprintf(args, sizeof args, "--stats '%s/j.circ'", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, stats);
    /* A million elements: the same gates. */
    tp_run(&r, "mpcc", "--stats --no-pushdown examples/joint_stats.mpc -D N=1000000");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(s_prefix(r.out, "gates: 31\ntriples: 0\n"), "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\nsquares: 3000001\n"));
    tp_run(&r, "mpcc", "--stats examples/joint_stats.mpc -D N=1000000");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(s_prefix(r.out, "gates: 22\ntriples: 0\n"), "%s", r.out);
    /* A compiled circuit with local parts cannot be taken as one without. */
    snprintf(args, sizeof args, "--stats --no-pushdown '%s/j.circ'", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "recompile the source with --no-pushdown"));
    tp_run(&r, "mpcc", "--stats --json examples/secure_sum.mpc");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(s_prefix(r.out, "{\"gates\": 6, \"triples\": 0, \"comparisons\": 0, \"rounds\": 0, \"hash\": \""),
                  "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "{\"name\": \"total\", \"type\": \"int\", \"len\": 1, \"recipients\": [\"a\", \"b\", \"c\"]}"));
    tp_run(&r, "mpcc", "--dump examples/risk_linear.mpc");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "dot"));
    tp_run(&r, "mpcc", "--version");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "mpcc "));
    tp_scratch_remove();
}
END_TEST

START_TEST(test_mpcc_eval)
{
    tp_cmd r;
    tp_run(&r, "mpcc", "--eval examples/secure_sum.mpc --input x=1 --input y=2 --input z=-45");
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "total = -42\n");
    /* Values from a file: commas and newlines. */
    char path[512], args[1024];
    snprintf(path, sizeof path, "%s/x.csv", tp_scratch());
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs("1, 2\n3\n4\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--eval examples/risk_linear.mpc --input x=@'%s' --input w=0.5,0.25,-1,2 --input bias=0.125",
             path);
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "score = 6.125\n");
    snprintf(args, sizeof args, "--eval --json examples/risk_linear.mpc --input x=@'%s' --input w=0.5,0.25,-1,2 --input bias=0.125",
             path);
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_str_eq(r.out, "{\"outputs\": [{\"name\": \"score\", \"type\": \"fix\", \"values\": [6.125], "
                            "\"recipients\": [\"patient\"]}], \"warnings\": []}\n");
    /* A product beyond the truncation headroom: the value, and a warning at the '*'. */
    tp_run(&r, "mpcc", "--eval examples/risk_linear.mpc --input x=100000,0,0,0 --input w=100000,0,0,0 --input bias=0");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(s_prefix(r.err, "examples/risk_linear.mpc:6:13: warning: "), "%s", r.err);
    /* A compiled circuit evaluates the same. */
    snprintf(args, sizeof args, "examples/poly.mpc -o '%s/p.circ'", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    snprintf(args, sizeof args, "--eval '%s/p.circ' --input x=3 --input y=5", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "p = 67\nacc = 66\n");
    /* With no action, the circuit goes beside the source. */
    snprintf(args, sizeof args, "cp examples/secure_sum.mpc '%s/ss.mpc'", tp_scratch());
    ck_assert_int_eq(system(args), 0);
    snprintf(args, sizeof args, "'%s/ss.mpc'", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 0);
    snprintf(path, sizeof path, "%s/ss.circ", tp_scratch());
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    tp_scratch_remove();
}
END_TEST

/* The builtin table (builtins.c): every row is documented in LANGUAGE.md, cannot be
 * redefined by `fn`, and checks its argument count before anything else. */
START_TEST(test_builtin_table)
{
    FILE *f = fopen("circuits/LANGUAGE.md", "rb");
    ck_assert_msg(f != NULL, "run from the repository root");
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = 0;
    ck_assert_uint_ge(cg_n_builtins, 24);
    for (size_t i = 0; i < cg_n_builtins; i++) {
        const cg_builtin *b = &cg_builtins[i];
        ck_assert_ptr_eq(cg_find_builtin(b->name), b);
        char want[64], src[256], msg[160];
        snprintf(want, sizeof want, "`%s(", b->name);
        ck_assert_msg(strstr(doc, want) != NULL, "LANGUAGE.md does not document %s()", b->name);
        ck_assert_ptr_nonnull(b->emit);
        ck_assert_ptr_nonnull(b->cost);
        if (strcmp(b->name, "int") == 0 || strcmp(b->name, "fix") == 0 || strcmp(b->name, "bool") == 0)
            continue;   /* type keywords: `fn int` does not parse */
        snprintf(src, sizeof src, HDR2 "fn %s(q) { return q }\noutput o = x to a\n", b->name);
        snprintf(msg, sizeof msg, "t.mpc:4:1: error: '%s' is a builtin function and cannot be redefined", b->name);
        s_fails(src, NULL, 0, msg);
        if (b->max_args < 0) continue;
        snprintf(src, sizeof src, HDR2 "output o = %s(x, x, undefined_name) to a\n", b->name);
        if (b->min_args != b->max_args) {   /* optional trailing arguments (dp_*: delta): 6 is too many */
            snprintf(src, sizeof src, HDR2 "output o = %s(x, x, x, x, x, undefined_name) to a\n", b->name);
            snprintf(msg, sizeof msg, "t.mpc:4:12: error: %s() takes %d to %d arguments, got 6", b->name,
                     b->min_args, b->max_args);
        } else
            snprintf(msg, sizeof msg, "t.mpc:4:12: error: %s() takes %d argument%s, got 3", b->name, b->min_args,
                     b->min_args == 1 ? "" : "s");
        s_fails(src, NULL, 0, msg);
    }
    ck_assert_ptr_null(cg_find_builtin("nosuch"));
}
END_TEST

/* The silent overflow of sum(x*y)/2 with x = y = 50000, 40000 (fix inputs without ranges):
 * the value wraps (MPC and --eval alike), the compiler warns at the product with a hint,
 * records the warning in the circuit, and --strict / MPC_COMPILE_STRICT make it an error. */
#define S_OVERFLOW_SRC "party a, b\ninput x: fix[2] from a\ninput y: fix[2] from b\noutput m = sum(x*y)/2 to a\n"
START_TEST(test_overflow_warning_and_strict)
{
    static const char want[] = "ov.mpc:4:17: warning: fix product of a value without a declared range can "
                               "overflow silently (it needs |x*y| < 2^30); declare a range for input 'x' (`in LO..HI`)";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(S_OVERFLOW_SRC, strlen(S_OVERFLOW_SRC), "ov.mpc", NULL, 0, &c, &d), 0);
    ck_assert_uint_eq(d.n_warnings, 1);
    ck_assert_uint_eq(c->warnings, 1);
    char buf[512];
    mpc_diag_format(&d, mpc_diag_warning_at(&d, 0), buf, sizeof buf);
    ck_assert_str_eq(buf, want);
    ck_assert_ptr_null(mpc_diag_warning_at(&d, 1));
    mpc_diag_free(&d);
    mpc_circ_destroy(&c);
    /* the API's strict mode: the warning is an error, no circuit */
    ck_assert_int_eq(mpc_compile_ex(S_OVERFLOW_SRC, strlen(S_OVERFLOW_SRC), "ov.mpc", NULL, 0, MPC_COMPILE_STRICT,
                                    &c, &d), -1);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(d.n_warnings, 0);
    ck_assert_uint_eq(d.n_errors, 1);
    mpc_diag_format(&d, mpc_diag_first_error(&d), buf, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "ov.mpc:4:17: error: fix product of a value without a declared range"));
    ck_assert_ptr_nonnull(strstr(buf, " [strict]"));
    mpc_diag_free(&d);
    /* with declared ranges: no warning, nothing recorded, strict compiles */
    const char *ranged = "party a, b\ninput x: fix[2] from a in 0..1000\ninput y: fix[2] from b in 0..1000\n"
                         "output m = sum(x*y)/2 to a\n";
    ck_assert_int_eq(mpc_compile_ex(ranged, strlen(ranged), "ok.mpc", NULL, 0, MPC_COMPILE_STRICT, &c, &d), 0);
    ck_assert_uint_eq(d.n_warnings, 0);
    ck_assert_uint_eq(c->warnings, 0);
    mpc_diag_free(&d);
    mpc_circ_destroy(&c);

    /* mpcc: the wrapped value and the warning, exit 0; --strict: exit 1 */
    tp_cmd r;
    char path[512], args[1200];
        snprintf(path, sizeof path, "%s/ov.mpc", tp_scratch());
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(S_OVERFLOW_SRC, f);
    fclose(f);
    snprintf(args, sizeof args, "--eval '%s' --input x=50000,40000 --input y=50000,40000", path);
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, "m = -97483648\n");
    ck_assert_ptr_nonnull(strstr(r.err, "ov.mpc:4:17: warning: fix product of a value without a declared range"));
    snprintf(args, sizeof args, "--strict --eval '%s' --input x=50000,40000 --input y=50000,40000", path);
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_str_eq(r.out, "");
    ck_assert_ptr_nonnull(strstr(r.err, "ov.mpc:4:17: error: fix product of a value without a declared range"));
    /* the .circ records it: --strict refuses the compiled circuit too */
    snprintf(args, sizeof args, "'%s' -o '%s/ov.circ'", path, tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 0);
    snprintf(args, sizeof args, "--strict --stats '%s/ov.circ'", tp_scratch());
    tp_run(&r, "mpcc", "%s", args);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "ov.circ: refused (--strict): the compiler gave 1 overflow warning for this program"));
    tp_scratch_remove();
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("compile");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_folding_constants);
    tcase_add_test(tc, test_identities);
    tcase_add_test(tc, test_secret_times_public_no_triple);
    tcase_add_test(tc, test_fixed_point_products);
    tcase_add_test(tc, test_division);
    tcase_add_test(tc, test_comparisons);
    tcase_add_test(tc, test_select_min_max_abs);
    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, test_gate_count_invariance);
    tcase_add_test(tc, test_examples_stats);
    tcase_add_test(tc, test_numeric_lowering);
    tcase_add_test(tc, test_examples_evaluate);
    tcase_add_test(tc, test_source_positions);
    tcase_add_test(tc, test_params_and_defines);
    tcase_add_test(tc, test_types_and_promotion);
    tcase_add_test(tc, test_functions_and_loops);
    tcase_add_test(tc, test_warnings);
    tcase_add_test(tc, test_builtin_table);
    tcase_add_test(tc, test_decimal_literals);
    tcase_add_test(tc, test_language_examples_compile);
    tcase_add_test(tc, test_language_examples_evaluate);
    tcase_add_test(tc, test_mpcc_stats_and_circ_roundtrip);
    tcase_add_test(tc, test_mpcc_eval);
    tcase_add_test(tc, test_overflow_warning_and_strict);
    suite_add_tcase(s, tc);
    return s;
}

