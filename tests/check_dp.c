/* check_dp.c — differential privacy inside MPC (circuits/dp.h, docs/governance.md
 * "Differential privacy"): the binomial mechanism's accounting against a brute-force
 * computation, the NOISE gate's distribution drawn by the engine with the dealer's and with
 * OT preprocessing (mean, variance, chi-square against the exact distribution), clamping
 * inside MPC (values far outside [lo, hi] are checked against the noise's hard bound m/2),
 * the DP records in the circuit format, and the optimiser keeping noise draws apart. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "compile.h"
#include "dp.h"
#include "enginetest.h"
#include "eval.h"
#include "format.h"
#include "prep_ot.h"
#include "proc.h"

#define STREAM 0x4450ull

/* ---- accounting ---- */

/* delta(eps) by brute force over every shift 1..s (exact binomial probabilities). */
static double s_brute_delta(uint64_t m, uint64_t s, double eps)
{
    double *p = calloc(m + 1, sizeof *p);
    for (uint64_t k = 0; k <= m; k++)
        p[k] = exp(lgamma((double)m + 1) - lgamma((double)k + 1) - lgamma((double)(m - k) + 1) - (double)m * log(2.0));
    double worst = 0;
    for (uint64_t sh = 1; sh <= s; sh++) {
        double d = 0;
        for (uint64_t j = 0; j <= m + sh; j++) {
            double a = j <= m ? p[j] : 0, b = j >= sh && j - sh <= m ? p[j - sh] : 0;
            if (a - exp(eps) * b > 0) d += a - exp(eps) * b;
        }
        if (sh == s) ck_assert_msg(d >= worst - 1e-15, "shift %llu is not the worst for m=%llu",
                                   (unsigned long long)s, (unsigned long long)m);
        if (d > worst) worst = d;
    }
    free(p);
    return worst;
}

START_TEST(test_accounting_exact)
{
    static const double epss[] = {0.1, 0.5, 1.0, 2.0};
    for (uint64_t m = 2; m <= 400; m += 14)
        for (uint64_t s = 1; s <= 8; s++)
            for (int e = 0; e < 4; e++) {
                double want = s_brute_delta(m, s, epss[e]);
                double got = mpc_dp_binom_delta(m, s, epss[e]);
                ck_assert_msg(fabs(got - want) <= 1e-12 + 1e-9 * want, "m=%llu s=%llu eps=%g: %g, brute %g",
                              (unsigned long long)m, (unsigned long long)s, epss[e], got, want);
            }
    /* the smallest m: it passes, m - 2 does not */
    uint64_t m = 0;
    ck_assert_int_eq(mpc_dp_binom_coins(1, 1.0, 1e-6, MPC_NOISE_MAX_COINS, &m), 0);
    ck_assert_uint_eq(m % 2, 0);
    ck_assert(mpc_dp_binom_delta(m, 1, 1.0) * (1 + MPC_DP_SLACK) <= 1e-6);
    ck_assert(mpc_dp_binom_delta(m - 2, 1, 1.0) * (1 + MPC_DP_SLACK) > 1e-6);
    ck_assert(s_brute_delta(m, 1, 1.0) <= 1e-6);
    double eps = mpc_dp_binom_eps(m, 1, 1e-6);
    ck_assert(eps <= 1.0 && eps > 0.9);
    /* too much noise needed: refused, with the number */
    ck_assert_int_eq(mpc_dp_binom_coins(1000, 0.01, 1e-9, MPC_NOISE_MAX_COINS, &m), -1);
    ck_assert_uint_gt(m, MPC_NOISE_MAX_COINS);
}
END_TEST

/* ---- the engine's noise ---- */

/* Runs c (inputs vals) on 3 parties with the dealer (ot = 0) or OT material; outs[o] are
 * party 0's opened values (owned by j). */
static void s_run(et_job *j, const mpc_circuit *c, const uint64_t *const *vals, int ot, et_ot *ep)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->job = 7;
    j->timeout_ms = 30000;
    j->use_dealer = !ot;
    if (ot) {
        ep->n = c->n_parties;
        ep->o.timeout_ms = 20000;
        ep->stream = STREAM;
        j->before = et_ot_before;
        j->make_prep = et_ot_make;
        j->before_arg = ep;
    }
    et_plain_inputs(j, vals);
    ck_assert_int_eq(et_run(j), 0);
    for (uint32_t p = 0; p < c->n_parties; p++)
        ck_assert_msg(j->rc[p] == 0 && j->open_rc[p] == 0, "party %u: %s", p, j->err[p]);
}

/* N draws of Bin(16, 1/2) - 8 in one NOISE gate.  Bounds fail with probability < 1e-6
 * each: |mean| < 5 sd (sd = 2/sqrt(N)); |var - 4| < 6 sd of the sample variance
 * (sqrt((mu4 - 16)/N), mu4 = 46); chi-square over 11 cells (k <= 3, 4..12, >= 13: 10
 * degrees of freedom) below 48.0 (P = 6.2e-7). */
static void s_noise_stats(int ot)
{
    const uint64_t N = 4000, M = 16;
    mpc_circuit *c = mpc_circ_new();
    ck_assert_int_eq(mpc_circ_add_party(c, "a"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "b"), 1);
    ck_assert_int_eq(mpc_circ_add_party(c, "c"), 2);
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, 1, 1, 1);
    uint32_t z = mpc_circ_add_gate(c, MPC_G_NOISE, MPC_T_INT, N, MPC_NO_WIRE, MPC_NO_WIRE, MPC_NO_WIRE, M, 1, 2, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "z", z, 7u, 3, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "x", x, 1u, 4, 1), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    uint64_t xv = 5;
    const uint64_t *vals[1] = {&xv};
    et_job j;
    et_ot ep = {0};
    s_run(&j, c, vals, ot, &ep);
    for (uint32_t p = 1; p < 3; p++) ck_assert_mem_eq(j.value[p][0], j.value[0][0], N * 8);
    ck_assert_uint_eq(j.st[0].dabits, N * M);
    double sum = 0, sq = 0;
    uint64_t cnt[M + 1];
    memset(cnt, 0, sizeof cnt);
    for (uint64_t i = 0; i < N; i++) {
        int64_t v = (int64_t)j.value[0][0][i];
        ck_assert_msg(v >= -(int64_t)M / 2 && v <= (int64_t)M / 2, "draw %lld outside [-8, 8]", (long long)v);
        cnt[v + (int64_t)M / 2]++;
        sum += (double)v;
        sq += (double)v * (double)v;
    }
    double mean = sum / (double)N, var = sq / (double)N - mean * mean;
    ck_assert_msg(fabs(mean) < 5 * 2 / sqrt((double)N), "%s: mean %g", ot ? "ot" : "dealer", mean);
    ck_assert_msg(fabs(var - 4) < 6 * sqrt(30.0 / (double)N), "%s: variance %g", ot ? "ot" : "dealer", var);
    double chi = 0;
    for (int cell = 0; cell < 11; cell++) {
        int lo = cell == 0 ? 0 : cell + 3, hi = cell == 0 ? 3 : cell == 10 ? 16 : cell + 3;
        double e = 0, o = 0;
        for (int k = lo; k <= hi; k++) {
            e += exp(lgamma(17) - lgamma(k + 1) - lgamma(17 - k) - 16 * log(2.0)) * (double)N;
            o += (double)cnt[k];
        }
        chi += (o - e) * (o - e) / e;
    }
    ck_assert_msg(chi < 48.0, "%s: chi-square %g", ot ? "ot" : "dealer", chi);
    et_clear(&j);
    et_ot_free(&ep);
    mpc_circ_destroy(&c);
}

START_TEST(test_noise_distribution_dealer) { s_noise_stats(0); }
END_TEST

START_TEST(test_noise_distribution_ot) { s_noise_stats(1); }
END_TEST

/* ---- clamping inside MPC ---- */

static mpc_circuit *s_compile(const char *src, unsigned flags)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int r = mpc_compile_ex(src, strlen(src), "t.mpc", NULL, 0, flags, &c, &d);
    ck_assert_msg(r == 0, "%s", d.n_items ? d.items[0].msg : "?");
    mpc_diag_free(&d);
    return c;
}

static void s_clamp(int ot)
{
    /* No pushdown: the clamps run under MPC.  Values far outside the bounds, and a bool
     * input holding 5 (a malformed share), must each move a release by at most its bound. */
    const char *src = "party a, b, c\n"
                      "input x: int[5] from a\n"
                      "input z: fix[4] from b\n"
                      "input f: bool[3] from c\n"
                      "output s = dp_sum(x, 0, 10, 40.0, 0.01),\n"
                      "       m = dp_mean(x, 0, 10, 40.0, 0.01),\n"
                      "       t = dp_sum(z, -2, 2, 40.0, 0.01),\n"
                      "       n = dp_count(f, 40.0, 0.01),\n"
                      "       h = dp_histogram(x, [0, 6, 100000], 40.0, 0.01) to a, b, c\n";
    mpc_circuit *c = s_compile(src, 0);
    ck_assert_uint_eq(c->n_dp, 5);
    for (uint32_t o = 0; o < 5; o++) ck_assert_ptr_nonnull(mpc_circ_output_dp(c, o));
    uint64_t xv[5] = {0 - (uint64_t)100000, 5, 100000, 7, 50000};
    uint64_t zv[4] = {3u << 15, 0 - (7ull << 16), 1u << 14, 100ull << 16};   /* 1.5, -7, 0.25, 100 */
    uint64_t fv[3] = {5, 0, 1};
    const uint64_t *vals[3] = {xv, zv, fv};
    et_job j;
    et_ot ep = {0};
    s_run(&j, c, vals, ot, &ep);
    const int64_t want[5] = {0 + 5 + 10 + 7 + 10, 0, 1 + -2 + 0 + 2, 2, 0};
    for (uint32_t o = 0; o < 5; o++) {
        const mpc_dp_output *d = mpc_circ_output_dp(c, o);
        double half = (double)d->coins / 2;
        if (o == 1) {   /* the mean of 5: (32 + Z) / 5, fix */
            double v = (double)(int64_t)j.value[0][o][0] / 65536.0;
            ck_assert_msg(fabs(v - 32.0 / 5) <= half / 5 + 0.01, "mean %g", v);
        } else if (o == 4) {   /* buckets [0, 6): 5 and 0 (clamped -100000 is not counted: below 0) */
            int64_t b0 = (int64_t)j.value[0][o][0], b1 = (int64_t)j.value[0][o][1];
            ck_assert_msg(fabs((double)(b0 - 1)) <= half && fabs((double)(b1 - 3)) <= half, "histogram %lld %lld",
                          (long long)b0, (long long)b1);
        } else {
            int64_t v = (int64_t)j.value[0][o][0];
            ck_assert_msg(fabs((double)(v - want[o])) <= half, "output %u: %lld, want %lld ± %g", o, (long long)v,
                          (long long)want[o], half);
        }
    }
    et_clear(&j);
    et_ot_free(&ep);
    mpc_circ_destroy(&c);
}

START_TEST(test_clamp_dealer) { s_clamp(0); }
END_TEST

START_TEST(test_clamp_ot) { s_clamp(1); }
END_TEST

/* ---- the circuit: records, format, optimiser ---- */

START_TEST(test_records_and_format)
{
    const char *src = "party a, b\n"
                      "input x: int[4] from a in 0..50\n"
                      "output p = dp_count(x > 1, 1.0), q = dp_count(x > 1, 1.0), r = sum(x),\n"
                      "       s = dp_sum(x, 0, 100, 2.0) to a\n";
    mpc_circuit *c = s_compile(src, MPC_COMPILE_PUSHDOWN);
    mpc_circ_stats st;
    mpc_circ_stats_get(c, &st);
    ck_assert_uint_eq(st.noise_elems, 3);   /* the two equal counts draw their own noise */
    ck_assert_uint_eq(c->n_dp, 3);
    ck_assert_ptr_null(mpc_circ_output_dp(c, 2));
    const mpc_dp_output *s = mpc_circ_output_dp(c, 3);
    ck_assert_uint_eq(s->sens, 100);
    ck_assert(s->eps == 2.0 && s->delta == MPC_DP_DEFAULT_DELTA);
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_circ_write(c, &buf, &len), 0);
    mpc_circuit *back = NULL;
    char err[256];
    ck_assert_msg(mpc_circ_read(buf, len, NULL, &back, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(back->n_dp, 3);
    ck_assert_mem_eq(back->dp, c->dp, 3 * sizeof *c->dp);
    uint8_t h1[MPC_HASH_BYTES], h2[MPC_HASH_BYTES];
    ck_assert_int_eq(mpc_circ_hash(c, h1), 0);
    ck_assert_int_eq(mpc_circ_hash(back, h2), 0);
    ck_assert_mem_eq(h1, h2, sizeof h1);
    mpc_circ_destroy(&back);
    free(buf);
    /* a record claiming a smaller eps than its coins give is refused */
    c->dp[2].eps = 0.5;
    ck_assert_int_eq(mpc_circ_write(c, &buf, &len), 0);
    ck_assert_int_ne(mpc_circ_read(buf, len, NULL, &back, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "do not give"));
    free(buf);
    c->dp[2].eps = 2.0;
    /* a record of an output without noise is refused */
    c->dp[1].output = 2;
    ck_assert_int_ne(mpc_circ_validate(c, NULL, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "adds no matching noise"));
    mpc_circ_destroy(&c);
    /* without dp the format stays version 4 */
    c = s_compile("party a, b\ninput x: int[2] from a\noutput r = sum(x) to a\n", 0);
    ck_assert_int_eq(mpc_circ_write(c, &buf, &len), 0);
    ck_assert_uint_eq(buf[9], MPC_CIRC_VERSION);
    free(buf);
    mpc_circ_destroy(&c);
}
END_TEST

/* A collection's dp_sum (LANGUAGE.md, "Contributions"): one record of kind
 * MPC_DP_CONTRIB_SUM for the whole D-vector with the requested (eps, delta), its coins sized
 * for (eps/D, delta/D) per element; the validator checks that composition: claiming the same
 * eps for coins that give it only per element (the record of a plain dp_sum) is refused. */
START_TEST(test_contrib_records)
{
    const char *src = "party a, b\n"
                      "input g: fix[3] from contributors in -1..1\n"
                      "output s = dp_sum(g, -1, 1, 1.0), n = dp_count(g, 0.5) to a, b\n";
    mpc_circuit *c = s_compile(src, MPC_COMPILE_PUSHDOWN);
    ck_assert_uint_eq(c->n_dp, 2);
    const mpc_dp_output *s = mpc_circ_output_dp(c, 0), *n = mpc_circ_output_dp(c, 1);
    ck_assert_uint_eq(s->kind, MPC_DP_CONTRIB_SUM);
    ck_assert(s->eps == 1.0 && s->delta == MPC_DP_DEFAULT_DELTA);
    ck_assert_uint_eq(s->sens, 1);
    uint64_t m3 = 0, m1 = 0;
    ck_assert_int_eq(mpc_dp_binom_coins(1, 1.0 / 3, MPC_DP_DEFAULT_DELTA / 3, MPC_NOISE_MAX_COINS, &m3), 0);
    ck_assert_int_eq(mpc_dp_binom_coins(1, 1.0, MPC_DP_DEFAULT_DELTA, MPC_NOISE_MAX_COINS, &m1), 0);
    ck_assert_uint_eq(s->coins, m3);
    ck_assert_uint_gt(m3, m1);
    ck_assert_uint_eq(n->kind, MPC_DP_COUNT);
    ck_assert_uint_eq(n->sens, 1);
    char err[256];
    ck_assert_int_eq(mpc_circ_validate_dp(c, err, sizeof err), 0);
    c->dp[0].eps = 0.5;   /* stronger than (eps/3) per element gives */
    ck_assert_int_ne(mpc_circ_validate_dp(c, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "do not give"));
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_compile_errors)
{
    static const char *bad[][2] = {
        {"output o = dp_sum(x, 0, 100, 0.0) to a\n", "eps must be in (0, 100]"},
        {"output o = dp_sum(x, 10, 0, 1.0) to a\n", "lo must not exceed hi"},
        {"output o = dp_sum(x, 0, 100000, 0.01, 0.000000001) to a\n", "noise bits per value"},
        {"output o = dp_count(x, 1.0) to a\n", "expects a bool vector"},
        {"output o = dp_sum(x, 0, 10, 1.0, 0.5) to a\n", "delta must be in"},
        {"output o = dp_sum(x, 0, 1.5, 1.0) to a\n", "a fix hi for int values"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char src[512];
        snprintf(src, sizeof src, "party a, b\ninput x: int[4] from a\n%s", bad[i][0]);
        mpc_circuit *c = NULL;
        mpc_diag d;
        ck_assert_msg(mpc_compile_ex(src, strlen(src), "t.mpc", NULL, 0, 0, &c, &d) != 0, "%s compiled", bad[i][0]);
        ck_assert_msg(d.n_items && strstr(d.items[0].msg, bad[i][1]), "%s: got '%s'", bad[i][0], d.n_items ? d.items[0].msg : "");
        mpc_diag_free(&d);
    }
}
END_TEST

/* mpcc: the dp lines of --stats, and --eval's noise: fresh by default, fixed by --seed. */
START_TEST(test_mpcc_stats_and_seed)
{
    tp_cmd r;
    tp_run(&r, "mpcc", "--stats examples/dp_histogram.mpc");
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(strstr(r.out, "\ndp: bands dp_histogram binomial eps 1 delta 1e-06 sensitivity 1 coins 80 "
                                "noise_sd 4.472 daBits 480\n") != NULL, "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\nnoise: 7 values, 560 daBits, 0 rounds, 0 triples\n"));
    tp_run(&r, "mpcc", "--stats --json examples/dp_histogram.mpc");
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "\"dp\": [{\"output\": \"bands\", \"kind\": \"dp_histogram\""));
    const char *in = "--input age_a=@examples/data/age_a.csv --input age_b=@examples/data/age_b.csv "
                     "--input age_c=@examples/data/age_c.csv";
    static char o1[sizeof r.out], o2[sizeof r.out];
    static const char seed[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    tp_run(&r, "mpcc", "--eval examples/dp_histogram.mpc %s --seed %s", in, seed);
    ck_assert_int_eq(r.status, 0);
    snprintf(o1, sizeof o1, "%s", r.out);
    tp_run(&r, "mpcc", "--eval --no-pushdown examples/dp_histogram.mpc %s --seed %s", in, seed);
    ck_assert_int_eq(r.status, 0);
    ck_assert_str_eq(r.out, o1);   /* the same draws with and without pushdown */
    tp_run(&r, "mpcc", "--eval examples/dp_histogram.mpc %s", in);
    snprintf(o1, sizeof o1, "%s", r.out);
    tp_run(&r, "mpcc", "--eval examples/dp_histogram.mpc %s", in);
    snprintf(o2, sizeof o2, "%s", r.out);
    ck_assert_str_ne(o1, o2);   /* seven values of sd 4.5: equal with probability < 1e-6 */
    tp_run(&r, "mpcc", "--eval examples/dp_histogram.mpc %s --seed 12", in);
    ck_assert_int_ne(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "--seed needs 64 hex digits"));
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("dp");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_accounting_exact);
    tcase_add_test(tc, test_noise_distribution_dealer);
    tcase_add_test(tc, test_noise_distribution_ot);
    tcase_add_test(tc, test_clamp_dealer);
    tcase_add_test(tc, test_clamp_ot);
    tcase_add_test(tc, test_records_and_format);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_contrib_records);
    tcase_add_test(tc, test_mpcc_stats_and_seed);
    suite_add_tcase(s, tc);
    return s;
}
