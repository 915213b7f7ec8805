/* check_eval.c — the plaintext evaluator against direct C arithmetic, gate kind by kind. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"
#include "eval.h"
#include "value.h"

#define NW MPC_NO_WIRE

static uint64_t s_rng = 0x243f6a8885a308d3ull;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ull;
}

static mpc_circuit *s_new(void)
{
    mpc_circuit *c = mpc_circ_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(mpc_circ_add_party(c, "a"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "b"), 1);
    return c;
}

static uint32_t s_gate(mpc_circuit *c, mpc_gate_kind k, mpc_type t, uint64_t len, uint32_t a,
                       uint32_t b, uint32_t d, uint64_t x0, uint64_t x1)
{
    uint32_t w = mpc_circ_add_gate(c, k, t, len, a, b, d, x0, x1, 10 + c->n_gates, 3);
    ck_assert_uint_ne(w, NW);
    return w;
}

/* Works around circuit.c's mpc_circ_add_output, which reads the source gate through a
 * pointer that the realloc in mpc_circ_add_gate may invalidate (reported to the lead):
 * keep room for one more gate before every call. */
static void s_room(mpc_circuit *c)
{
    if (c->n_gates < c->cap_gates) return;
    uint32_t nc = c->cap_gates ? c->cap_gates * 2 : 16;
    mpc_gate *g = realloc(c->gates, nc * sizeof *g);
    ck_assert_ptr_nonnull(g);
    c->gates = g;
    c->cap_gates = nc;
}

static void s_out(mpc_circuit *c, const char *name, uint32_t w)
{
    s_room(c);
    ck_assert_int_ge(mpc_circ_add_output(c, name, w, 3, 99, 1), 0);
}

static void s_finish(mpc_circuit *c)
{
    char err[256];
    int r = mpc_circ_finish(c, err, sizeof err);
    ck_assert_msg(r == 0, "finish: %s", err);
}

static void s_eval(const mpc_circuit *c, const uint64_t *const *in, mpc_eval_result *res)
{
    char err[256];
    int r = mpc_eval(c, in, res, err, sizeof err);
    ck_assert_msg(r == 0, "eval: %s", err);
    ck_assert_uint_eq(res->n_outputs, c->n_outputs);
}

static int64_t s_floor_div_pow2(int64_t v, unsigned m)
{
    /* reference computed with signed division and a correction, independent of the
     * evaluator's shift helper */
    int64_t d = (int64_t)1 << m;
    int64_t q = v / d;
    if ((v % d) != 0 && v < 0) q--;
    return q;
}

START_TEST(test_elementwise_kinds)
{
    enum { N = 257 };
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, N, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, N, 2, 1);
    uint32_t s = mpc_circ_add_input(c, "s", 1, MPC_T_INT, 1, 3, 1);
    uint64_t kv[N];
    for (int i = 0; i < N; i++) kv[i] = s_rand();
    uint32_t kvec = mpc_circ_add_const(c, MPC_T_INT, kv, N, 4, 1);
    uint64_t k1 = 0xfffffffffffffff3ull;            /* -13 */
    uint32_t kone = mpc_circ_add_const(c, MPC_T_INT, &k1, 1, 4, 1);
    s_out(c, "add", s_gate(c, MPC_G_ADD, MPC_T_INT, N, x, y, NW, 0, 0));
    s_out(c, "sub", s_gate(c, MPC_G_SUB, MPC_T_INT, N, x, y, NW, 0, 0));
    s_out(c, "mul", s_gate(c, MPC_G_MUL, MPC_T_INT, N, x, y, NW, 0, 0));
    s_out(c, "neg", s_gate(c, MPC_G_NEG, MPC_T_INT, N, x, NW, NW, 0, 0));
    s_out(c, "addp", s_gate(c, MPC_G_ADD_PUB, MPC_T_INT, N, x, kvec, NW, 0, 0));
    s_out(c, "mulp", s_gate(c, MPC_G_MUL_PUB, MPC_T_INT, N, x, kone, NW, 0, 0));
    s_out(c, "subb", s_gate(c, MPC_G_SUB, MPC_T_INT, N, s, y, NW, 0, 0));    /* broadcast left */
    s_out(c, "mulb", s_gate(c, MPC_G_MUL, MPC_T_INT, N, x, s, NW, 0, 0));    /* broadcast right */
    s_out(c, "ltz", s_gate(c, MPC_G_LTZ, MPC_T_BOOL, N, x, NW, NW, 0, 0));
    s_out(c, "eqz", s_gate(c, MPC_G_EQZ, MPC_T_BOOL, N, y, NW, NW, 0, 0));
    s_out(c, "sq", s_gate(c, MPC_G_MUL, MPC_T_INT, N, y, y, NW, 0, 0));
    s_out(c, "mulp1", s_gate(c, MPC_G_MUL_PUB, MPC_T_INT, 1, s, kone, NW, 0, 0));
    s_finish(c);

    uint64_t xs[N], ys[N], sv = s_rand();
    for (int i = 0; i < N; i++) {
        xs[i] = s_rand();
        ys[i] = i % 5 == 0 ? 0 : s_rand() >> (i % 64);
    }
    xs[0] = 0; xs[1] = 1ull << 63; xs[2] = UINT64_MAX; xs[3] = (1ull << 63) - 1;
    const uint64_t *in[] = {xs, ys, &sv};
    mpc_eval_result res;
    s_eval(c, in, &res);
    for (int i = 0; i < N; i++) {
        int64_t xi = (int64_t)xs[i];
        ck_assert_uint_eq(res.outputs[0][i], xs[i] + ys[i]);
        ck_assert_uint_eq(res.outputs[1][i], xs[i] - ys[i]);
        ck_assert_uint_eq(res.outputs[2][i], xs[i] * ys[i]);
        ck_assert_uint_eq(res.outputs[3][i], (uint64_t)0 - xs[i]);
        ck_assert_uint_eq(res.outputs[4][i], xs[i] + kv[i]);
        ck_assert_uint_eq(res.outputs[5][i], xs[i] * k1);
        ck_assert_uint_eq(res.outputs[6][i], sv - ys[i]);
        ck_assert_uint_eq(res.outputs[7][i], xs[i] * sv);
        ck_assert_uint_eq(res.outputs[8][i], xi < 0 ? 1 : 0);
        ck_assert_uint_eq(res.outputs[9][i], ys[i] == 0 ? 1 : 0);
        ck_assert_uint_eq(res.outputs[10][i], ys[i] * ys[i]);
    }
    ck_assert_uint_eq(res.outputs[11][0], sv * k1);
    ck_assert_uint_eq(res.n_warnings, 0);
    mpc_eval_result_free(&res);
    ck_assert_ptr_null(res.outputs);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_reductions_slices_select)
{
    enum { N = 100 };
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, N, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, N, 2, 1);
    uint32_t cond = mpc_circ_add_input(c, "c", 1, MPC_T_BOOL, N, 2, 1);
    uint32_t c1 = mpc_circ_add_input(c, "c1", 0, MPC_T_BOOL, 1, 2, 1);
    uint32_t s1 = mpc_circ_add_input(c, "s1", 0, MPC_T_INT, 1, 2, 1);
    s_out(c, "sum", s_gate(c, MPC_G_SUM, MPC_T_INT, 1, x, NW, NW, 0, 0));
    s_out(c, "dot", s_gate(c, MPC_G_DOT, MPC_T_INT, 1, x, y, NW, 0, 0));
    s_out(c, "sl", s_gate(c, MPC_G_SLICE, MPC_T_INT, 10, x, NW, NW, 5, 1));
    s_out(c, "sl3", s_gate(c, MPC_G_SLICE, MPC_T_INT, 33, x, NW, NW, 1, 3));  /* 1,4,...,97 */
    s_out(c, "cat", s_gate(c, MPC_G_CONCAT, MPC_T_INT, 2 * N, x, y, NW, 0, 0));
    s_out(c, "sel", s_gate(c, MPC_G_SELECT, MPC_T_INT, N, cond, x, y, 0, 0));
    s_out(c, "selb", s_gate(c, MPC_G_SELECT, MPC_T_INT, N, c1, s1, y, 0, 0));  /* all broadcasts */
    s_out(c, "selc", s_gate(c, MPC_G_SELECT, MPC_T_INT, N, cond, x, s1, 0, 0));
    s_finish(c);
    uint64_t xs[N], ys[N], cs[N], c1v = 1, s1v = 777;
    for (int i = 0; i < N; i++) { xs[i] = s_rand(); ys[i] = s_rand(); cs[i] = s_rand() & 1; }
    const uint64_t *in[] = {xs, ys, cs, &c1v, &s1v};
    mpc_eval_result res;
    s_eval(c, in, &res);
    uint64_t sum = 0, dot = 0;
    for (int i = 0; i < N; i++) { sum += xs[i]; dot += xs[i] * ys[i]; }
    ck_assert_uint_eq(res.outputs[0][0], sum);
    ck_assert_uint_eq(res.outputs[1][0], dot);
    for (int i = 0; i < 10; i++) ck_assert_uint_eq(res.outputs[2][i], xs[5 + i]);
    for (int i = 0; i < 33; i++) ck_assert_uint_eq(res.outputs[3][i], xs[1 + 3 * i]);
    for (int i = 0; i < N; i++) {
        ck_assert_uint_eq(res.outputs[4][i], xs[i]);
        ck_assert_uint_eq(res.outputs[4][N + i], ys[i]);
        ck_assert_uint_eq(res.outputs[5][i], cs[i] ? xs[i] : ys[i]);
        ck_assert_uint_eq(res.outputs[6][i], 777);
        ck_assert_uint_eq(res.outputs[7][i], cs[i] ? xs[i] : 777);
    }
    mpc_eval_result_free(&res);
    c1v = 0;
    s_eval(c, in, &res);
    for (int i = 0; i < N; i++) ck_assert_uint_eq(res.outputs[6][i], ys[i]);
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_trunc_and_warnings)
{
    enum { N = 64 };
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, N, 1, 1);
    uint32_t t16 = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, N, x, NW, NW, 16, 63, 7, 13);
    uint32_t t3 = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, N, x, NW, NW, 3, 40, 8, 21);
    s_out(c, "t16", t16);
    s_out(c, "t3", t3);
    s_finish(c);
    uint64_t xs[N];
    for (int i = 0; i < N; i++) xs[i] = (s_rand() >> 30) - (1ull << 33);   /* |x| < 2^34 */
    xs[0] = (uint64_t)-1;                      /* floor(-1 / 2^m) = -1 */
    xs[1] = (uint64_t)-65536;
    xs[2] = (uint64_t)-65537;
    xs[3] = 65535;
    const uint64_t *in[] = {xs};
    mpc_eval_result res;
    s_eval(c, in, &res);
    for (int i = 0; i < N; i++) {
        ck_assert_uint_eq(res.outputs[0][i], (uint64_t)s_floor_div_pow2((int64_t)xs[i], 16));
        ck_assert_uint_eq(res.outputs[1][i], (uint64_t)s_floor_div_pow2((int64_t)xs[i], 3));
    }
    ck_assert_uint_eq(res.outputs[0][0], UINT64_MAX);
    ck_assert_uint_eq(res.outputs[0][1], UINT64_MAX);
    ck_assert_uint_eq(res.outputs[0][2], (uint64_t)-2);
    ck_assert_uint_eq(res.outputs[0][3], 0);
    ck_assert_uint_eq(res.n_warnings, 0);
    mpc_eval_result_free(&res);

    /* Out of the bound 2^39 of the second trunc (l = 40): exactly at +-2^39 and beyond. */
    xs[5] = 1ull << 39;                         /* |x| = 2^39: not < 2^39 */
    xs[9] = (uint64_t)-(int64_t)(1ull << 39);   /* -2^39: also out */
    xs[10] = (1ull << 39) - 1;                  /* in */
    xs[11] = (uint64_t)-(int64_t)((1ull << 39) - 1);  /* in */
    xs[12] = (1ull << 62) - 8;                  /* out of the l = 40 bound only */
    s_eval(c, in, &res);
    ck_assert_uint_eq(res.n_warnings, 1);
    ck_assert_uint_eq(res.warnings[0].gate, t3);
    ck_assert_uint_eq(res.warnings[0].line, 8);
    ck_assert_uint_eq(res.warnings[0].col, 21);
    ck_assert_ptr_nonnull(strstr(res.warnings[0].msg, "3 of 64"));
    ck_assert_ptr_nonnull(strstr(res.warnings[0].msg, "first at element 5"));
    ck_assert_uint_eq(res.outputs[1][12], (1ull << 59) - 1);
    ck_assert_uint_eq(res.outputs[0][12], (1ull << 46) - 1);
    mpc_eval_result_free(&res);
    /* |x| >= 2^62 trips the default bound too. */
    xs[7] = (uint64_t)-(int64_t)(1ull << 62);
    s_eval(c, in, &res);
    ck_assert_uint_eq(res.n_warnings, 2);
    ck_assert_uint_eq(res.warnings[0].gate, t16);
    ck_assert_ptr_nonnull(strstr(res.warnings[0].msg, "1 of 64"));
    ck_assert_ptr_nonnull(strstr(res.warnings[0].msg, "first at element 7"));
    ck_assert_ptr_nonnull(strstr(res.warnings[1].msg, "4 of 64"));
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
}
END_TEST

/* Fixed-point product as the compiler emits it: mul then trunc by f. */
START_TEST(test_fixed_point_pipeline)
{
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, 3, 1, 1);
    uint32_t w = mpc_circ_add_input(c, "w", 1, MPC_T_FIX, 3, 1, 1);
    uint32_t d = s_gate(c, MPC_G_DOT, MPC_T_FIX, 1, x, w, NW, 0, 0);
    uint32_t t = s_gate(c, MPC_G_TRUNC, MPC_T_FIX, 1, d, NW, NW, 16, 63);
    s_out(c, "score", t);
    s_finish(c);
    char err[128];
    uint64_t *xv, *wv, n1, n2;
    ck_assert_int_eq(mpc_values_load(MPC_T_FIX, 16, "1.5, -2, 0.25", &xv, &n1, err, sizeof err), 0);
    ck_assert_int_eq(mpc_values_load(MPC_T_FIX, 16, "2, 0.5, -4", &wv, &n2, err, sizeof err), 0);
    const uint64_t *in[] = {xv, wv};
    mpc_eval_result res;
    s_eval(c, in, &res);
    char b[64];
    mpc_value_format(MPC_T_FIX, 16, res.outputs[0][0], b, sizeof b);
    ck_assert_str_eq(b, "1");                 /* 3 - 1 - 1 */
    mpc_eval_result_free(&res);
    free(xv);
    free(wv);
    mpc_circ_destroy(&c);
}
END_TEST

/* A chain that exercises buffer reuse and freeing: x -> x+y -> *x -> -... with many
 * readers of the same wire; compared with a direct computation. */
START_TEST(test_chain_reuse_and_refcounts)
{
    enum { N = 1000 };
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, N, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, N, 1, 1);
    uint32_t acc = s_gate(c, MPC_G_ADD, MPC_T_INT, N, x, y, NW, 0, 0);
    uint32_t keep = acc;
    for (int i = 0; i < 20; i++) {
        acc = s_gate(c, (i % 3) == 0 ? MPC_G_MUL : (i % 3) == 1 ? MPC_G_SUB : MPC_G_ADD,
                     MPC_T_INT, N, acc, (i % 2) ? x : acc, NW, 0, 0);
        if (i == 10) s_out(c, "mid", acc);
    }
    s_out(c, "end", acc);
    s_out(c, "keep", s_gate(c, MPC_G_NEG, MPC_T_INT, N, keep, NW, NW, 0, 0));
    s_out(c, "keep2", keep);
    s_finish(c);
    uint64_t xs[N], ys[N], xcopy[N];
    for (int i = 0; i < N; i++) xcopy[i] = xs[i] = s_rand(), ys[i] = s_rand();
    const uint64_t *in[] = {xs, ys};
    mpc_eval_result res;
    s_eval(c, in, &res);
    for (int j = 0; j < N; j++) {
        uint64_t a = xs[j] + ys[j], k = a, mid = 0;
        for (int i = 0; i < 20; i++) {
            uint64_t b = (i % 2) ? xs[j] : a;
            a = (i % 3) == 0 ? a * b : (i % 3) == 1 ? a - b : a + b;
            if (i == 10) mid = a;
        }
        ck_assert_uint_eq(res.outputs[0][j], mid);
        ck_assert_uint_eq(res.outputs[1][j], a);
        ck_assert_uint_eq(res.outputs[2][j], 0 - k);
        ck_assert_uint_eq(res.outputs[3][j], k);
    }
    ck_assert_mem_eq(xs, xcopy, sizeof xs);      /* inputs are never written */
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_refuses_bad_arguments)
{
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 4, 1, 1);
    s_out(c, "o", s_gate(c, MPC_G_NEG, MPC_T_INT, 4, x, NW, NW, 0, 0));
    char err[256];
    mpc_eval_result res;
    /* Not finished: layers/rounds unset is fine here, but a missing input is not. */
    s_finish(c);
    ck_assert_int_eq(mpc_eval(c, NULL, &res, err, sizeof err), -1);
    const uint64_t *in[] = {NULL};
    ck_assert_int_eq(mpc_eval(c, in, &res, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'x'"));
    c->gates[1].in[0] = 5;                     /* corrupt: forward reference */
    uint64_t v[4] = {1, 2, 3, 4};
    const uint64_t *in2[] = {v};
    ck_assert_int_eq(mpc_eval(c, in2, &res, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "invalid circuit"));
    mpc_circ_destroy(&c);
}
END_TEST

/* 2 * 10^6 elements through a fixed-point pipeline; prints the time (not asserted). */
START_TEST(test_large_vectors)
{
    const uint64_t N = 2000000;
    mpc_circuit *c = s_new();
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_FIX, N, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_FIX, N, 1, 1);
    uint32_t m = s_gate(c, MPC_G_MUL, MPC_T_FIX, N, x, y, NW, 0, 0);
    uint32_t t = s_gate(c, MPC_G_TRUNC, MPC_T_FIX, N, m, NW, NW, 16, 63);
    uint32_t a = s_gate(c, MPC_G_ADD, MPC_T_FIX, N, t, x, NW, 0, 0);
    uint32_t l = s_gate(c, MPC_G_LTZ, MPC_T_BOOL, N, a, NW, NW, 0, 0);
    uint32_t d = s_gate(c, MPC_G_DOT, MPC_T_FIX, 1, x, y, NW, 0, 0);
    s_out(c, "sumltz", s_gate(c, MPC_G_SUM, MPC_T_INT, 1, l, NW, NW, 0, 0));
    s_out(c, "dot", d);
    s_finish(c);
    uint64_t *xs = malloc(N * 8), *ys = malloc(N * 8);
    for (uint64_t i = 0; i < N; i++) {
        xs[i] = (s_rand() >> 40) - (1ull << 23);
        ys[i] = (s_rand() >> 40) - (1ull << 23);
    }
    const uint64_t *in[] = {xs, ys};
    mpc_eval_result res;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s_eval(c, in, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t cnt = 0, dot = 0;
    for (uint64_t i = 0; i < N; i++) {
        int64_t p = (int64_t)(xs[i] * ys[i]);
        uint64_t v = (uint64_t)(p >= 0 ? p / 65536 : -((-p + 65535) / 65536)) + xs[i];
        cnt += v >> 63;
        dot += xs[i] * ys[i];
    }
    ck_assert_uint_eq(res.outputs[0][0], cnt);
    ck_assert_uint_eq(res.outputs[1][0], dot);
    printf("eval: 6 gates over %llu elements in %.1f ms\n", (unsigned long long)N,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    mpc_eval_result_free(&res);
    free(xs);
    free(ys);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_elementwise_kinds);
    tcase_add_test(tc, test_reductions_slices_select);
    tcase_add_test(tc, test_trunc_and_warnings);
    tcase_add_test(tc, test_fixed_point_pipeline);
    tcase_add_test(tc, test_chain_reuse_and_refcounts);
    tcase_add_test(tc, test_refuses_bad_arguments);
    tcase_add_test(tc, test_large_vectors);
    suite_add_tcase(s, tc);
    return s;
}

