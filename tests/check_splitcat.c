/* check_splitcat.c — distributing gates over CONCAT (circuits/splitcat.h): the rewritten
 * circuit computes the same values bit for bit with the same material and rounds, and
 * owner-local pushdown then takes each party's part of a concatenation (the statistics of
 * examples/joint_corr.mpc and examples/dp_histogram.mpc leave only scalars under MPC). */
#include <check.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "compile.h"
#include "eval.h"
#include "pushdown.h"
#include "splitcat.h"

static mpc_circuit *s_compile(const char *src, unsigned flags)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int r = mpc_compile_ex(src, strlen(src), "t.mpc", NULL, 0, flags, &c, &d);
    if (r != 0) {
        const mpc_diag_item *it = mpc_diag_first_error(&d);
        char msg[512] = "";
        if (it) mpc_diag_format(&d, it, msg, sizeof msg);
        ck_abort_msg("compile failed: %s\n%s", msg, src);
    }
    mpc_diag_free(&d);
    return c;
}

/* Random inputs in [-2^20, 2^20) (fix: ±16 in value), so that no product leaves its range. */
static uint64_t **s_inputs(const mpc_circuit *c)
{
    uint64_t **in = calloc(c->n_inputs + 1, sizeof *in);
    ck_assert_ptr_nonnull(in);
    for (uint32_t i = 0; i < c->n_inputs; i++) {
        in[i] = malloc(c->inputs[i].len * sizeof **in);
        ck_assert_ptr_nonnull(in[i]);
        for (uint64_t j = 0; j < c->inputs[i].len; j++)
            in[i][j] = c->inputs[i].type == MPC_T_BOOL ? randombytes_uniform(2)
                                                       : (uint64_t)((int64_t)randombytes_uniform(1u << 21) - (1 << 20));
    }
    return in;
}

/* The split circuit against the compiled one: equal outputs on random inputs, equal material
 * and rounds. */
static void s_same(const char *src)
{
    mpc_circuit *c = s_compile(src, 0), *s = NULL;
    char err[256];
    ck_assert_msg(mpc_split_concat(c, &s, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(s->n_inputs, c->n_inputs);
    ck_assert_uint_eq(s->n_outputs, c->n_outputs);
    for (int trial = 0; trial < 4; trial++) {
        uint64_t **in = s_inputs(c);
        mpc_eval_result a, b;
        ck_assert_int_eq(mpc_eval(c, (const uint64_t *const *)in, &a, err, sizeof err), 0);
        ck_assert_int_eq(mpc_eval(s, (const uint64_t *const *)in, &b, err, sizeof err), 0);
        for (uint32_t o = 0; o < c->n_outputs; o++) {
            ck_assert_str_eq(s->outputs[o].name, c->outputs[o].name);
            ck_assert_uint_eq(s->outputs[o].len, c->outputs[o].len);
            for (uint64_t j = 0; j < c->outputs[o].len; j++)
                ck_assert_msg(a.outputs[o][j] == b.outputs[o][j], "output %s[%llu] differs after the split\n%s",
                              c->outputs[o].name, (unsigned long long)j, src);
        }
        mpc_eval_result_free(&a);
        mpc_eval_result_free(&b);
        for (uint32_t i = 0; i < c->n_inputs; i++) free(in[i]);
        free(in);
    }
    mpc_circ_stats x, y;
    mpc_circ_stats_get(c, &x);
    mpc_circ_stats_get(s, &y);
    ck_assert_uint_eq(y.triples, x.triples);
    ck_assert_uint_eq(y.squares, x.squares);
    ck_assert_uint_eq(y.comparisons, x.comparisons);
    ck_assert_uint_eq(y.trunc_elems, x.trunc_elems);
    ck_assert_uint_eq(y.rounds, x.rounds);
    mpc_circ_destroy(&s);
    mpc_circ_destroy(&c);
}

START_TEST(test_split_is_exact)
{
    /* Element-wise gates, broadcasts, comparisons, a square, SUM and DOT. */
    s_same("party a, b\ninput xa: fix[3] from a\ninput xb: fix[5] from b\ninput s: fix from a\n"
           "let x = concat(xa, xb)\n"
           "output o = x * s + 1.5, m = x * x, c = count(x > 0.5), t = sum(x), "
           "d = dot(x, x), e = dot(x, x * 2), l = x < s to a, b\n");
    /* Operands cut at different places: concat(3, 5) against concat(4, 4) and a whole input. */
    s_same("party a, b\ninput xa: int[3] from a\ninput xb: int[5] from b\ninput ya: int[4] from a\n"
           "input yb: int[4] from b\ninput z: int[8] from b\n"
           "let x = concat(xa, xb)\nlet y = concat(ya, yb)\n"
           "output p = x * y + z, q = sum(x * y - z), r = dot(x, y), w = x == y to a\n");
    /* Concatenations of concatenations, a slice and an output of the concatenation itself. */
    s_same("party a, b, c\ninput xa: fix[2] from a\ninput xb: fix[2] from b\ninput xc: fix[3] from c\n"
           "let x = concat(concat(xa, xb), concat(xc, xa))\n"
           "output whole = x, part = x[1:5], m = max(x, 0.25), mu = mean(x), v = var(x) to a, b, c\n");
}
END_TEST

/* More parts than MPC_SPLIT_MAX_SEGS: the concatenation is rebuilt whole past the cap, the
 * result is still exact, and no gate becomes more than 2·MPC_SPLIT_MAX_SEGS + 1 gates. */
START_TEST(test_many_parts)
{
    static char src[65536];
    int o = snprintf(src, sizeof src, "party a, b\ninput xa: int[2] from a\ninput xb: int[3] from b\nlet x0 = xa\n");
    for (int i = 1; i <= 300; i++)
        o += snprintf(src + o, sizeof src - (size_t)o, "let x%d = concat(x%d, %s)\n", i, i - 1, i % 2 ? "xb" : "xa");
    snprintf(src + o, sizeof src - (size_t)o, "output s = sum(x300 * x300), y = x300 + 1, n = count(x300 > 3) to a\n");
    s_same(src);
    mpc_circuit *c = s_compile(src, 0), *s = NULL;
    char err[256];
    ck_assert_int_eq(mpc_split_concat(c, &s, err, sizeof err), 0);
    ck_assert_uint_le(s->n_gates, (uint64_t)c->n_gates * (2 * MPC_SPLIT_MAX_SEGS + 1));
    mpc_circ_destroy(&s);
    mpc_circ_destroy(&c);
}
END_TEST

/* var, std, cov and corr of concatenations (the per-part form, circuits/numeric.c) against
 * the same statistics in double precision, on values in 0..1000 with means far from zero. */
START_TEST(test_parallel_moments)
{
    const char *src = "party a, b, c\n"
                      "input ua: fix[50] from a in 0..1000\ninput va: fix[50] from a in 0..1000\n"
                      "input ub: fix[70] from b in 0..1000\ninput vb: fix[70] from b in 0..1000\n"
                      "input uc: fix[30] from c in 0..1000\ninput vc: fix[30] from c in 0..1000\n"
                      "let u = concat(ua, ub, uc)\nlet v = concat(va, vb, vc)\n"
                      "output var_u = var(u), sd_v = std(v), c = cov(u, v), r = corr(u, v) to a\n";
    mpc_circuit *c = s_compile(src, 0);
    for (int trial = 0; trial < 5; trial++) {
        uint64_t *in[6];
        double u[150], v[150];
        uint32_t k = 0, len[3] = {50, 70, 30};
        for (int p = 0; p < 3; p++) {
            in[2 * p] = malloc(len[p] * sizeof **in);
            in[2 * p + 1] = malloc(len[p] * sizeof **in);
            for (uint32_t j = 0; j < len[p]; j++, k++) {
                /* u around 400 + 100p, v = 0.5 u + noise: correlated, means far from zero. */
                uint64_t x = (uint64_t)(400 + 100 * p) * 65536 + randombytes_uniform(200u * 65536) - 100u * 65536;
                uint64_t y = x / 2 + randombytes_uniform(50u * 65536);
                in[2 * p][j] = x;
                in[2 * p + 1][j] = y;
                u[k] = (double)x / 65536;
                v[k] = (double)y / 65536;
            }
        }
        double mu = 0, mv = 0, su = 0, sv = 0, suv = 0;
        for (k = 0; k < 150; k++) mu += u[k] / 150, mv += v[k] / 150;
        for (k = 0; k < 150; k++) {
            su += (u[k] - mu) * (u[k] - mu) / 150;
            sv += (v[k] - mv) * (v[k] - mv) / 150;
            suv += (u[k] - mu) * (v[k] - mv) / 150;
        }
        mpc_eval_result res;
        char err[256];
        ck_assert_int_eq(mpc_eval(c, (const uint64_t *const *)in, &res, err, sizeof err), 0);
        double got[4], want[4] = {su, sqrt(sv), suv, suv / sqrt(su * sv)}, tol[4];
        /* Two-pass error, plus the parts' means: each within 2 ulp, weighed by how far it is from
         * the whole mean (at most about 4·std ulps in all; circuits/LANGUAGE.md §4). */
        double ulp = 1.0 / 65536;
        tol[0] = 4 * ulp + 8 * sqrt(su) * ulp;
        tol[1] = 4 * ulp;
        tol[2] = 4 * ulp + 4 * (sqrt(su) + sqrt(sv)) * ulp;
        tol[3] = 1e-5;
        for (int o = 0; o < 4; o++) {
            got[o] = (double)(int64_t)res.outputs[o][0] / 65536;
            ck_assert_msg(fabs(got[o] - want[o]) <= tol[o], "%s: %.6f, in double %.6f", c->outputs[o].name, got[o],
                          want[o]);
        }
        mpc_eval_result_free(&res);
        for (int i = 0; i < 6; i++) free(in[i]);
    }
    mpc_circ_destroy(&c);
}
END_TEST

static void s_stats(const char *path, mpc_circ_stats *st, uint32_t *locals)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    static char src[1 << 16];
    size_t n = fread(src, 1, sizeof src - 1, f);
    fclose(f);
    src[n] = 0;
    mpc_define d = {"N", "1000000"};
    mpc_circuit *c = NULL;
    mpc_diag dg;
    ck_assert_int_eq(mpc_compile_ex(src, n, path, &d, 1, MPC_COMPILE_PUSHDOWN, &c, &dg), 0);
    mpc_diag_free(&dg);
    mpc_circ_stats_get(c, st);
    *locals = c->n_locals;
    mpc_circ_destroy(&c);
}

/* examples/joint_corr.mpc over 3 × 10^6 rows: mean, std, corr and a count over the
 * concatenation of three hospitals' columns.  Each hospital's part is pushed down: what is
 * left under MPC is a few dozen scalars (before the split: 3·10^6 comparisons, 3·10^6 triples
 * and 6·10^6 squares). */
START_TEST(test_joint_corr_pushed)
{
    mpc_circ_stats st;
    uint32_t locals = 0;
    s_stats("examples/joint_corr.mpc", &st, &locals);
    ck_assert_uint_eq(locals, 3);
    ck_assert_uint_lt(st.comparisons, 1000);
    ck_assert_uint_lt(st.triples + st.squares, 1000);
    ck_assert_uint_lt(st.trunc_elems, 1000);
    ck_assert_uint_lt(st.opened_elems, 10000);
    /* examples/dp_histogram.mpc: each hospital's bucket counts are its own (the comparisons of
     * its block of the concatenation, and their sums, cut along the parts); only the noise,
     * 480 daBits, is made for the MPC. */
    s_stats("examples/dp_histogram.mpc", &st, &locals);
    ck_assert_uint_eq(locals, 3);
    ck_assert_uint_eq(st.comparisons, 0);
    ck_assert_uint_eq(st.triples + st.squares, 0);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("splitcat");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_split_is_exact);
    tcase_add_test(tc, test_many_parts);
    tcase_add_test(tc, test_parallel_moments);
    tcase_add_test(tc, test_joint_corr_pushed);
    suite_add_tcase(s, tc);
    return s;
}
