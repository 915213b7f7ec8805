/* check_numeric.c — the numeric builtins (LANGUAGE.md "Numerics" and "Statistics") against
 * a float64 reference: each function over random inputs across its documented range with
 * its documented error bound in the plaintext evaluator (exact floor truncation), then on
 * short vectors under MPC (in-process engine, dealer material, 2 and 3 parties) with the
 * bound plus the engine's truncation slack; comparisons, sign, relu and histogram exact on
 * edge values; examples/risk_score.mpc and examples/joint_corr.mpc end to end.
 *
 * With MPC_ACCURACY=1 in the environment it also prints one "ACC|..." line per function
 * (measured maximum errors, rounds, triples, comparisons): scripts/accuracy turns them into
 * the table of docs/accuracy.md. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "runner.h"
#include "compile.h"
#include "enginetest.h"
#include "eval.h"
#include "value.h"

#define F 16
#define ULP (1.0 / 65536)

/* Deterministic inputs (reproducible failures): splitmix64. */
static uint64_t s_rng = 0x6a09e667f3bcc909ull;
static uint64_t s_next(void)
{
    uint64_t z = (s_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double s_unif(double a, double b) { return a + (b - a) * (double)(s_next() >> 11) / 9007199254740992.0; }
/* |v| log-uniform in [2^lo, 2^hi], sign random when sgn. */
static double s_logu(double lo, double hi, int sgn)
{
    double v = exp2(s_unif(lo, hi));
    return sgn && (s_next() & 1) ? -v : v;
}

static mpc_circuit *s_compile(const char *src)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int rc = mpc_compile(src, strlen(src), "numeric.mpc", NULL, 0, &c, &d);
    if (rc != 0) mpc_diag_print(&d, stderr);
    mpc_diag_free(&d);
    ck_assert_msg(rc == 0, "does not compile:\n%s", src);
    return c;
}

/* One function under test: out = EXPR(x[, y]) element-wise. */
typedef struct {
    const char *name;
    const char *expr;        /* in x (and y) */
    int         two;         /* uses y */
    double    (*ref)(double x, double y);
    void      (*gen)(double *x, double *y);
    double      abs_bound, rel_bound;   /* documented: |err| <= abs + rel·|ref| */
    const char *range;       /* documented valid range, for the table */
} s_fn;

static double r_div(double x, double y) { return x / y; }
static double r_recip(double x, double y) { (void)y; return 1 / x; }
static double r_sqrt(double x, double y) { (void)y; return sqrt(x); }
static double r_rsqrt(double x, double y) { (void)y; return 1 / sqrt(x); }
static double r_log(double x, double y) { (void)y; return log(x); }
static double r_exp(double x, double y) { (void)y; return exp(x); }
static double r_sig(double x, double y) { (void)y; return 1 / (1 + exp(-x)); }

static void g_div(double *x, double *y)
{
    *y = s_logu(-10, 25, 1);
    double q = s_logu(-12, 19.5, 1);
    *x = q * *y;
    if (fabs(*x) > 1e9) *x = copysign(1e9, *x);
}
static void g_recip(double *x, double *y) { *x = s_logu(-12, 25, 1), *y = 0; }
static void g_sqrt(double *x, double *y) { *x = s_logu(-16, 36.9, 0), *y = 0; }
static void g_rsqrt(double *x, double *y) { *x = s_logu(-14, 39.9, 0), *y = 0; }
static void g_log(double *x, double *y) { *x = s_logu(-14, 39.9, 0), *y = 0; }
static void g_exp(double *x, double *y) { *x = s_unif(-24, 15.9), *y = 0; }
static void g_sig(double *x, double *y)
{
    uint64_t r = s_next() % 8;
    *x = r == 0 ? s_unif(-2000, 2000) : s_unif(-20, 20);
    *y = 0;
}

static const s_fn s_fns[] = {
    {"x / y", "x / y", 1, r_div, g_div, 2 * ULP, 1.0 / (1 << 18), "2^-16 <= |y| < 2^26, |x/y| < 2^20"},
    {"1 / x", "1 / x", 0, r_recip, g_recip, 2 * ULP, 1.0 / (1 << 18), "2^-16 <= |x| < 2^26"},
    {"sqrt", "sqrt(x)", 0, r_sqrt, g_sqrt, 2 * ULP, 1.0 / (1 << 20), "0 <= x < 2^37"},
    {"rsqrt", "rsqrt(x)", 0, r_rsqrt, g_rsqrt, 2 * ULP, 1.0 / (1 << 20), "2^-16 <= x < 2^40"},
    {"log", "log(x)", 0, r_log, g_log, 2 * ULP, 0, "2^-16 <= x < 2^40"},
    {"exp", "exp(x)", 0, r_exp, g_exp, 2 * ULP, 1.0 / (1 << 17), "x < 15.9 (2^23 from there on)"},
    {"sigmoid", "sigmoid(x)", 0, r_sig, g_sig, 2 * ULP, 0, "|x| < 2^25 (saturated beyond |x| = 16.6)"},
};
#define S_NFNS (sizeof s_fns / sizeof s_fns[0])

/* Runs c under MPC (dealer) on vals once; out[o] = output o reconstructed (malloc'ed), for
 * the first 8 outputs. */
static void s_mpc_all(const mpc_circuit *c, const uint64_t *const *vals, uint64_t **out)
{
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.use_dealer = 1;
    j.job = 12;
    j.no_open = 1;
    randombytes_buf(j.master, sizeof j.master);
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    for (uint32_t p = 0; p < c->n_parties; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, j.err[p]);
    for (uint32_t o = 0; o < c->n_outputs && o < 8; o++) {
        out[o] = calloc(c->outputs[o].len, 8);
        for (uint32_t p = 0; p < c->n_parties; p++)
            for (uint64_t e = 0; e < c->outputs[o].len; e++) out[o][e] += j.share[p][o][e];
    }
    et_clear(&j);
}

/* Runs c under MPC (dealer) on vals and returns output out_index reconstructed (malloc'ed). */
static uint64_t *s_mpc(const mpc_circuit *c, const uint64_t *const *vals, uint32_t out_index)
{
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.use_dealer = 1;
    j.job = 11;
    j.no_open = 1;
    randombytes_buf(j.master, sizeof j.master);
    et_plain_inputs(&j, vals);
    ck_assert_int_eq(et_run(&j), 0);
    for (uint32_t p = 0; p < c->n_parties; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, j.err[p]);
    uint64_t len = c->outputs[out_index].len;
    uint64_t *r = calloc(len, 8);
    for (uint32_t p = 0; p < c->n_parties; p++)
        for (uint64_t e = 0; e < len; e++) r[e] += j.share[p][out_index][e];
    et_clear(&j);
    return r;
}

static uint64_t *s_eval1(const mpc_circuit *c, const uint64_t *const *vals, uint32_t *warnings)
{
    mpc_eval_result res;
    char err[256];
    ck_assert_msg(mpc_eval(c, vals, &res, err, sizeof err) == 0, "%s", err);
    uint64_t len = c->outputs[0].len;
    uint64_t *r = malloc(len * 8);
    memcpy(r, res.outputs[0], len * 8);
    if (warnings) *warnings = res.n_warnings;
    mpc_eval_result_free(&res);
    return r;
}

static char *s_prog(const s_fn *fn, unsigned parties, uint64_t n)
{
    static char buf[512];
    char yin[64] = "";
    if (fn->two)
        snprintf(yin, sizeof yin, "input y: fix[%llu] from %s\n", (unsigned long long)n, parties == 2 ? "b" : "c");
    snprintf(buf, sizeof buf, "party %s\ninput x: fix[%llu] from a\n%soutput out = %s to a\n",
             parties == 2 ? "a, b" : "a, b, c", (unsigned long long)n, yin, fn->expr);
    return buf;
}

/* Largest |err| and |err| - abs bound relative part over the run. */
typedef struct {
    double max_abs, max_rel, worst_x, worst_y;
} s_acc;

static void s_check(const s_fn *fn, const double *x, const double *y, const uint64_t *got, uint64_t n,
                    double slack, s_acc *acc, const char *where)
{
    for (uint64_t e = 0; e < n; e++) {
        double xq = mpc_fix_to_double(mpc_fix_from_double(x[e], F), F);
        double yq = mpc_fix_to_double(mpc_fix_from_double(y[e], F), F);
        double want = fn->ref(xq, yq);
        double v = mpc_fix_to_double(got[e], F);
        double err = fabs(v - want);
        double bound = fn->abs_bound + slack + fn->rel_bound * fabs(want);
        if (err > acc->max_abs) {
            acc->max_abs = err;
            acc->worst_x = xq;
            acc->worst_y = yq;
        }
        if (fabs(want) >= 256 && err / fabs(want) > acc->max_rel) acc->max_rel = err / fabs(want);
        ck_assert_msg(err <= bound, "%s %s: x=%.10g y=%.10g got %.10g want %.10g (err %.3g > bound %.3g)", where,
                      fn->name, xq, yq, v, want, err, bound);
    }
}

static void s_run_plain(const s_fn *fn, uint64_t n, s_acc *acc)
{
    mpc_circuit *c = s_compile(s_prog(fn, 2, n));
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint64_t *xv = malloc(n * 8), *yv = malloc(n * 8);
    for (uint64_t e = 0; e < n; e++) {
        fn->gen(&x[e], &y[e]);
        xv[e] = mpc_fix_from_double(x[e], F);
        yv[e] = mpc_fix_from_double(y[e], F);
    }
    const uint64_t *vals[2] = {xv, yv};
    uint32_t warnings = 0;
    uint64_t *got = s_eval1(c, vals, &warnings);
    ck_assert_msg(warnings == 0, "%s: %u evaluator warnings (a truncation out of its headroom)", fn->name, warnings);
    s_check(fn, x, y, got, n, 0, acc, "eval");
    free(got);
    free(x), free(y), free(xv), free(yv);
    mpc_circ_destroy(&c);
}

START_TEST(test_functions_plain)
{
    const s_fn *fn = &s_fns[_i];
    s_acc acc = {0};
    s_run_plain(fn, 4000, &acc);
    printf("%-8s eval: max |err| %.3g (%.2f ulp) at x=%.8g y=%.8g, max rel %.3g\n", fn->name, acc.max_abs,
           acc.max_abs / ULP, acc.worst_x, acc.worst_y, acc.max_rel);
}
END_TEST

/* Other precisions (f = 8, 12, 20): the same bounds in ulps of f (2 ulp + the same relative
 * terms), on inputs valid at every f <= 20. */
START_TEST(test_other_precisions)
{
    static const unsigned fs[] = {8, 12, 20};
    static const struct {
        const char *expr;
        int         two;
        double    (*ref)(double, double);
        double      lo, hi;   /* x (or y for division) log2 magnitude, or linear range when lin */
        int         lin, sgn;
        double      rel;
    } t[] = {
        {"x / y", 1, r_div, -4, 8, 0, 1, 1.0 / (1 << 18)},
        {"sqrt(x)", 0, r_sqrt, -4, 12, 0, 0, 1.0 / (1 << 20)},
        {"rsqrt(x)", 0, r_rsqrt, -4, 12, 0, 0, 1.0 / (1 << 20)},
        {"log(x)", 0, r_log, -4, 12, 0, 0, 0},
        {"exp(x)", 0, r_exp, -8, 8, 1, 0, 1.0 / (1 << 17)},
        {"sigmoid(x)", 0, r_sig, -20, 20, 1, 0, 0},
    };
    enum { N = 1000 };
    for (size_t fi = 0; fi < sizeof fs / sizeof fs[0]; fi++) {
        unsigned f = fs[fi];
        double ulp = ldexp(1, -(int)f);
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            char src[256];
            snprintf(src, sizeof src, "party a, b\nprecision %u\ninput x: fix[%d] from a\n%soutput o = %s to a\n", f, N,
                     t[i].two ? "input y: fix[1000] from b\n" : "", t[i].expr);
            mpc_circuit *c = s_compile(src);
            static uint64_t xv[N], yv[N];
            static double xd[N], yd[N];
            for (int e = 0; e < N; e++) {
                double a = t[i].lin ? s_unif(t[i].lo, t[i].hi) : s_logu(t[i].lo, t[i].hi, t[i].sgn);
                double b = 0;
                if (t[i].two) b = a, a = b * s_logu(-4, 7, 1);
                xv[e] = mpc_fix_from_double(a, f);
                yv[e] = mpc_fix_from_double(b, f);
                xd[e] = mpc_fix_to_double(xv[e], f);
                yd[e] = mpc_fix_to_double(yv[e], f);
                if (t[i].two && yv[e] == 0) yv[e] = 1, yd[e] = ulp;
            }
            const uint64_t *vals[2] = {xv, yv};
            uint32_t warnings = 0;
            uint64_t *got = s_eval1(c, vals, &warnings);
            ck_assert_uint_eq(warnings, 0);
            for (int e = 0; e < N; e++) {
                double want = t[i].ref(xd[e], yd[e]), v = mpc_fix_to_double(got[e], f);
                /* above f = 16 the 20-bit internals of exp and sigmoid add up to 2^-18 */
                double extra = f > 16 ? ldexp(1, -18) : 0;
                ck_assert_msg(fabs(v - want) <= 2 * ulp + extra + t[i].rel * fabs(want),
                              "f=%u %s: x=%.9g y=%.9g got %.9g want %.9g", f, t[i].expr, xd[e], yd[e], v, want);
            }
            free(got);
            mpc_circ_destroy(&c);
        }
    }
}
END_TEST

/* Under MPC the engine's truncations return floor or floor + 1: the same bound plus a few
 * ulp of slack (measured: see docs/accuracy.md). */
START_TEST(test_functions_mpc)
{
    const s_fn *fn = &s_fns[_i / 2];
    unsigned parties = 2 + (unsigned)(_i % 2);
    uint64_t n = 12;
    mpc_circuit *c = s_compile(s_prog(fn, parties, n));
    double x[12], y[12];
    uint64_t xv[12], yv[12];
    for (uint64_t e = 0; e < n; e++) {
        fn->gen(&x[e], &y[e]);
        xv[e] = mpc_fix_from_double(x[e], F);
        yv[e] = mpc_fix_from_double(y[e], F);
    }
    const uint64_t *vals[2] = {xv, yv};
    uint64_t *got = s_mpc(c, vals, 0);
    s_acc acc = {0};
    s_check(fn, x, y, got, n, 2 * ULP, &acc, parties == 2 ? "mpc(2)" : "mpc(3)");
    free(got);
    mpc_circ_destroy(&c);
}
END_TEST


/* Batching: each function is one LTZ gate (one set of 8 rounds) whatever the vector length,
 * and its rounds do not grow with the length. */
START_TEST(test_batched)
{
    static const char *const fns[] = {"x / y", "sqrt(x)", "rsqrt(x)", "log(x)", "exp(x)", "sigmoid(x)", "1 / x"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        uint32_t rounds[2];
        for (int k = 0; k < 2; k++) {
            char src[256];
            unsigned n = k ? 1000 : 1;
            snprintf(src, sizeof src, "party a, b\ninput x: fix[%u] from a\ninput y: fix[%u] from b\noutput o = %s + 0 * y to a\n",
                     n, n, fns[i]);
            mpc_circuit *c = s_compile(src);
            unsigned ltz = 0;
            uint64_t ltz_len = 0;
            for (uint32_t g = 0; g < c->n_gates; g++)
                if (c->gates[g].kind == MPC_G_LTZ) ltz++, ltz_len = c->gates[g].len;
            ck_assert_msg(ltz == 1, "%s: %u LTZ gates", fns[i], ltz);
            ck_assert_uint_eq(ltz_len % n, 0);
            ck_assert_uint_ge(ltz_len / n, 40);   /* every threshold of every element in that one gate */
            rounds[k] = c->rounds;
            mpc_circ_destroy(&c);
        }
        ck_assert_uint_eq(rounds[0], rounds[1]);
    }
}
END_TEST

/* ---- exact functions on edge values ---- */

START_TEST(test_edges_exact)
{
    static const int64_t ev[] = {0, 1, -1, 2, -2, (int64_t)1 << 62, -((int64_t)1 << 62), ((int64_t)1 << 62) - 1,
                                 INT64_MAX, INT64_MIN, INT64_MIN + 1, 65536, -65536, 123456789};
    enum { NE = sizeof ev / sizeof ev[0] };
    const char *src = "party a, b, c\ninput x: int[14] from a\ninput y: int from b\n"
                      "output s = sign(x), r = relu(x), l = x < y, e = x == y, g = x >= y, z = x < 0,"
                      " m = max(x, y) to a\n";
    mpc_circuit *c = s_compile(src);
    for (int yi = 0; yi < NE; yi++) {
        uint64_t xv[NE], yv[1] = {(uint64_t)ev[yi]};
        for (int i = 0; i < NE; i++) xv[i] = (uint64_t)ev[i];
        const uint64_t *vals[2] = {xv, yv};
        mpc_eval_result res;
        char err[256];
        ck_assert(mpc_eval(c, vals, &res, err, sizeof err) == 0);
        uint64_t *mp[7];
        int run_mpc = yi % 5 == 0;   /* a few under MPC: every output at once */
        if (run_mpc) {
            et_job j;
            memset(&j, 0, sizeof j);
            j.c = c;
            j.use_dealer = 1;
            j.job = 3;
            j.no_open = 1;
            et_plain_inputs(&j, vals);
            ck_assert_int_eq(et_run(&j), 0);
            for (uint32_t o = 0; o < 7; o++) {
                mp[o] = calloc(NE, 8);
                for (uint32_t p = 0; p < 3; p++)
                    for (int e = 0; e < NE; e++) mp[o][e] += j.share[p][o][e];
            }
            et_clear(&j);
        }
        for (int i = 0; i < NE; i++) {
            int64_t a = ev[i], b = ev[yi];
            /* a < b is LTZ(a - b): exact when the difference does not wrap (LANGUAGE.md). */
            __int128 d = (__int128)a - b;
            int nowrap = d < ((__int128)1 << 63) && d >= -((__int128)1 << 63);
            uint64_t want[7] = {(uint64_t)(a > 0) - (uint64_t)(a < 0), a > 0 ? (uint64_t)a : 0, a < b, a == b, a >= b,
                                a < 0, (uint64_t)(a > b ? a : b)};
            for (int o = 0; o < 7; o++) {
                if ((o == 2 || o == 4 || o == 6) && !nowrap) continue;
                ck_assert_msg(res.outputs[o][i] == want[o], "eval %s x=%lld y=%lld: %llu want %llu",
                              c->outputs[o].name, (long long)a, (long long)b,
                              (unsigned long long)res.outputs[o][i], (unsigned long long)want[o]);
                if (run_mpc)
                    ck_assert_msg(mp[o][i] == want[o], "mpc %s x=%lld y=%lld", c->outputs[o].name, (long long)a,
                                  (long long)b);
            }
        }
        if (run_mpc)
            for (int o = 0; o < 7; o++) free(mp[o]);
        mpc_eval_result_free(&res);
    }
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_histogram_and_count)
{
    const char *src = "party a, b\ninput v: fix[200] from a\ninput t: fix from b\n"
                      "output h = histogram(v, [-10, -2.5, 0, 1, 7.25]), n = count(v > t), k = count(v == t) to a\n";
    mpc_circuit *c = s_compile(src);
    static const double edges[] = {-10, -2.5, 0, 1, 7.25};
    uint64_t v[200], t[1];
    double vd[200];
    for (int i = 0; i < 200; i++) {
        /* many values exactly on the edges */
        vd[i] = (s_next() % 3 == 0) ? edges[s_next() % 5] : round(s_unif(-12, 9) * 4) / 4;
        v[i] = mpc_fix_from_double(vd[i], F);
    }
    double td = 1;
    t[0] = mpc_fix_from_double(td, F);
    uint64_t want[4] = {0};
    for (int i = 0; i < 200; i++)
        for (int b = 0; b < 4; b++)
            if (vd[i] >= edges[b] && (vd[i] < edges[b + 1] || (b == 3 && vd[i] <= edges[4]))) want[b]++;
    uint64_t wn = 0, wk = 0;
    for (int i = 0; i < 200; i++) wn += vd[i] > td, wk += vd[i] == td;
    const uint64_t *vals[2] = {v, t};
    mpc_eval_result res;
    char err[256];
    ck_assert(mpc_eval(c, vals, &res, err, sizeof err) == 0);
    uint64_t *m = s_mpc(c, vals, 0);
    for (int b = 0; b < 4; b++) {
        ck_assert_uint_eq(res.outputs[0][b], want[b]);
        ck_assert_uint_eq(m[b], want[b]);
    }
    ck_assert_uint_eq(res.outputs[1][0], wn);
    ck_assert_uint_eq(res.outputs[2][0], wk);
    free(m);
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
}
END_TEST


/* sigmoid saturates exactly: 1.0 and 0 (not one ulp off) from |x| >= 16.64, under MPC too
 * (the saturated values reach the final truncation as exact multiples, which the engine's
 * probabilistic truncation keeps exact). */
START_TEST(test_sigmoid_saturation)
{
    static const double xs[] = {16.7, -16.7, 17, -17, 100, -100, 12345.5, -12345.5, 3e7, -3e7};
    enum { NX = sizeof xs / sizeof xs[0] };
    const char *src = "party a, b, c\ninput x: fix[10] from a\noutput s = sigmoid(x) to b\n";
    mpc_circuit *c = s_compile(src);
    uint64_t xv[NX];
    for (int i = 0; i < NX; i++) xv[i] = mpc_fix_from_double(xs[i], F);
    const uint64_t *vals[1] = {xv};
    uint32_t warnings = 0;
    uint64_t *e = s_eval1(c, vals, &warnings);
    for (int run = 0; run < 4; run++) {
        uint64_t *m = s_mpc(c, vals, 0);
        for (int i = 0; i < NX; i++) {
            uint64_t want = xs[i] > 0 ? (uint64_t)1 << F : 0;
            ck_assert_msg(e[i] == want, "eval sigmoid(%g) = %llu", xs[i], (unsigned long long)e[i]);
            ck_assert_msg(m[i] == want, "mpc sigmoid(%g) = %llu", xs[i], (unsigned long long)m[i]);
        }
        free(m);
    }
    free(e);
    mpc_circ_destroy(&c);
}
END_TEST

/* ---- statistics ---- */

static void s_stats_ref(const double *u, const double *v, int n, double *out)
{
    double mu = 0, mv = 0, vu = 0, vv = 0, cv = 0;
    for (int i = 0; i < n; i++) mu += u[i], mv += v[i];
    mu /= n, mv /= n;
    for (int i = 0; i < n; i++) vu += (u[i] - mu) * (u[i] - mu), vv += (v[i] - mv) * (v[i] - mv),
                                cv += (u[i] - mu) * (v[i] - mv);
    vu /= n, vv /= n, cv /= n;
    out[0] = mu, out[1] = vu, out[2] = sqrt(vu), out[3] = cv, out[4] = cv / sqrt(vu * vv);
}

START_TEST(test_statistics)
{
    enum { N = 300 };
    const char *src = "party a, b\ninput u: fix[300] from a\ninput v: fix[300] from b\n"
                      "output mean_u = mean(u), var_u = var(u), std_u = std(u), cov_uv = cov(u, v), r = corr(u, v) to a\n";
    mpc_circuit *c = s_compile(src);
    for (int run = 0; run < 6; run++) {
        double u[N], v[N], ref[5];
        uint64_t uv[N], vv[N];
        double scale = run < 3 ? 10 : 150, corr = run % 3 == 0 ? 0.9 : run % 3 == 1 ? -0.3 : 0;
        for (int i = 0; i < N; i++) {
            double a = s_unif(-1, 1) * scale, b = s_unif(-1, 1) * scale;
            u[i] = mpc_fix_to_double(mpc_fix_from_double(100 + a, F), F);
            v[i] = mpc_fix_to_double(mpc_fix_from_double(-3 + corr * a + (1 - fabs(corr)) * b, F), F);
            uv[i] = mpc_fix_from_double(u[i], F);
            vv[i] = mpc_fix_from_double(v[i], F);
        }
        s_stats_ref(u, v, N, ref);
        const uint64_t *vals[2] = {uv, vv};
        mpc_eval_result res;
        char err[256];
        ck_assert(mpc_eval(c, vals, &res, err, sizeof err) == 0);
        ck_assert_uint_eq(res.n_warnings, 0);
        /* mean: the public division (2 ulp + 2^-25 relative); var, cov: one ulp per product
         * on average plus the division; std and corr: their functions' bounds on top. */
        const double tol[5] = {3 * ULP, 4 * ULP + 1e-6 * ref[1], 3 * ULP + 1e-5 * ref[2], 4 * ULP + 1e-6 * fabs(ref[3]),
                               1e-4};
        for (int o = 0; o < 5; o++) {
            double got = mpc_fix_to_double(res.outputs[o][0], F);
            ck_assert_msg(fabs(got - ref[o]) <= tol[o], "run %d %s: got %.8f want %.8f", run, c->outputs[o].name,
                          got, ref[o]);
        }
        if (run == 0 || run == 4) {
            for (uint32_t o = 0; o < 5; o++) {
                uint64_t *m = s_mpc(c, vals, o);
                double got = mpc_fix_to_double(m[0], F);
                /* the engine's truncations add up to one ulp per element summed, / n */
                ck_assert_msg(fabs(got - ref[o]) <= tol[o] + 4 * ULP + (o == 1 ? 1e-5 * ref[1] : 0),
                              "mpc run %d %s: got %.8f want %.8f", run, c->outputs[o].name, got, ref[o]);
                free(m);
            }
        }
        mpc_eval_result_free(&res);
    }
    mpc_circ_destroy(&c);
}
END_TEST


/* ---- examples/risk_score.mpc and joint_corr.mpc, end to end in-process, against float64 ---- */

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = 0;
    fclose(f);
    return s;
}

static uint64_t *s_load(const mpc_circuit *c, uint32_t k, const char *spec)
{
    uint64_t *v = NULL, n = 0;
    char err[256];
    ck_assert_msg(mpc_values_load(c->inputs[k].type, c->frac_bits, spec, &v, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, c->inputs[k].len);
    return v;
}

/* Runs every output of c under MPC (2 or 3 parties as declared) and in the evaluator. */
static void s_both(const mpc_circuit *c, const uint64_t *const *vals, uint64_t **mpc, mpc_eval_result *res)
{
    char err[256];
    ck_assert(mpc_eval(c, vals, res, err, sizeof err) == 0);
    ck_assert_uint_eq(res->n_warnings, 0);
    s_mpc_all(c, vals, mpc);   /* one run: the outputs are consistent with each other */
}

START_TEST(test_example_risk_score)
{
    char *src = s_slurp("examples/risk_score.mpc");
    mpc_circuit *c = s_compile(src);
    const char *spec[4] = {"@examples/data/patient_x8.csv", "@examples/data/provider_w8.csv", "-1.25", "0.7"};
    static const double thresholds[] = {0.7, 0.6, 0.65373};
    for (int run = 0; run < 3; run++) {
        uint64_t *vals[4];
        for (uint32_t k = 0; k < 4; k++) vals[k] = s_load(c, k, spec[k]);
        vals[3][0] = mpc_fix_from_double(thresholds[run], F);
        double z = -1.25;
        for (int i = 0; i < 8; i++) z += mpc_fix_to_double(vals[0][i], F) * mpc_fix_to_double(vals[1][i], F);
        double p = 1 / (1 + exp(-z));
        uint64_t *m[2];
        mpc_eval_result res;
        s_both(c, (const uint64_t *const *)vals, m, &res);
        double pe = mpc_fix_to_double(res.outputs[0][0], F), pm = mpc_fix_to_double(m[0][0], F);
        ck_assert_msg(fabs(pe - p) <= 1e-4 && fabs(pm - p) <= 1e-4, "risk: eval %.6f mpc %.6f ref %.6f", pe, pm, p);
        /* The flag compares the computed p (exact comparison); away from the threshold it is
         * the reference's answer. */
        ck_assert_uint_eq(res.outputs[1][0], pe > mpc_fix_to_double(vals[3][0], F));
        ck_assert_uint_eq(m[1][0], pm > mpc_fix_to_double(vals[3][0], F));
        if (fabs(p - thresholds[run]) > 1e-3) ck_assert_uint_eq(m[1][0], p > thresholds[run]);
        for (int o = 0; o < 2; o++) free(m[o]);
        for (int k = 0; k < 4; k++) free(vals[k]);
        mpc_eval_result_free(&res);
    }
    mpc_circ_destroy(&c);
    free(src);
}
END_TEST

START_TEST(test_example_joint_corr)
{
    char *src = s_slurp("examples/joint_corr.mpc");
    mpc_circuit *c = s_compile(src);
    const char *spec[6] = {"@examples/data/ldl_a.csv", "@examples/data/tc_a.csv", "@examples/data/ldl_b.csv",
                           "@examples/data/tc_b.csv", "@examples/data/ldl_c.csv", "@examples/data/tc_c.csv"};
    uint64_t *vals[6];
    for (uint32_t k = 0; k < 6; k++) vals[k] = s_load(c, k, spec[k]);
    enum { N = 3000 };
    double *u = malloc(N * sizeof *u), *v = malloc(N * sizeof *v), ref[5];
    for (int h = 0; h < 3; h++)
        for (int i = 0; i < 1000; i++) {
            u[h * 1000 + i] = mpc_fix_to_double(vals[2 * h][i], F);
            v[h * 1000 + i] = mpc_fix_to_double(vals[2 * h + 1][i], F);
        }
    s_stats_ref(u, v, N, ref);
    uint64_t above = 0;
    for (int i = 0; i < N; i++) above += u[i] > 100;
    uint64_t *m[4];
    mpc_eval_result res;
    s_both(c, (const uint64_t *const *)vals, m, &res);
    const double want[3] = {ref[0], ref[2], ref[4]}, tol[3] = {4 * ULP, 1e-4, 1e-5};
    for (int o = 0; o < 3; o++) {
        double e = mpc_fix_to_double(res.outputs[o][0], F), g = mpc_fix_to_double(m[o][0], F);
        ck_assert_msg(fabs(e - want[o]) <= tol[o] && fabs(g - want[o]) <= tol[o] + 4 * ULP,
                      "%s: eval %.7f mpc %.7f ref %.7f", c->outputs[o].name, e, g, want[o]);
    }
    ck_assert_uint_eq(res.outputs[3][0], above);
    ck_assert_uint_eq(m[3][0], above);
    for (int o = 0; o < 4; o++) free(m[o]);
    for (int k = 0; k < 6; k++) free(vals[k]);
    free(u), free(v), free(src);
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
}
END_TEST


/* ---- declared input ranges and overflow warnings ---- */

/* Compiles src; returns the number of warnings and the first warning's line and text. */
static size_t s_warnings(const char *src, uint32_t *line, char *msg, size_t msglen)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int rc = mpc_compile(src, strlen(src), "ranges.mpc", NULL, 0, &c, &d);
    if (rc != 0) mpc_diag_print(&d, stderr);
    ck_assert_int_eq(rc, 0);
    size_t nw = 0;
    *line = 0;
    msg[0] = 0;
    for (size_t i = 0; i < d.n_items; i++)
        if (d.items[i].severity == MPC_DIAG_WARNING) {
            if (nw++ == 0) {
                *line = d.items[i].line;
                snprintf(msg, msglen, "%s", d.items[i].msg);
            }
        }
    mpc_diag_free(&d);
    mpc_circ_destroy(&c);
    return nw;
}

START_TEST(test_range_warnings)
{
    static const struct {
        const char *src;
        uint32_t    line;   /* 0: no warning */
        const char *text;
    } cases[] = {
        /* a sum of squares of 10^7 values up to 10^4 overflows the ring */
        {"party a, b\ninput x: fix[10000000] from a in -10000..10000\nlet s = sum(x * x)\noutput s to b\n", 3,
         "overflow the ring"},
        /* up to 10^3 it fits (2^59.3) */
        {"party a, b\ninput x: fix[10000000] from a in -1000..1000\nlet s = sum(x * x)\noutput s to b\n", 0, NULL},
        /* dot() truncates every 256 products: 10^7 squares up to 10^3 fit (2^59.9) ... */
        {"party a, b\ninput x: fix[10000000] from a in -1000..1000\n\noutput d = dot(x, x) to b\n", 0, NULL},
        /* ... squares up to 10^4 do not, within one segment already (2^66.5) */
        {"party a, b\ninput x: fix[10000000] from a in -10000..10000\n\noutput d = dot(x, x) to b\n", 4,
         "overflow the ring"},
        /* a product inside the ring but beyond the truncation headroom (2^62.6) */
        {"party a, b\ninput x: fix from a in -40000..40000\ninput y: fix from b in -40000..40000\n"
         "output p = x * y to b\n", 4, "headroom"},
        /* int arithmetic: 3·10^18 · 4 wraps */
        {"party a, b\ninput n: int[3] from a in 0..3000000000000000000\noutput m = n * 4 to b\n", 3,
         "overflow the ring"},
        /* no declared range: nothing is known, so a fix product says so, with the hint */
        {"party a, b\ninput x: fix[10000000] from a\noutput s = sum(x * x) to b\n", 3,
         "without a declared range can overflow silently (it needs |x*y| < 2^30); declare a range for input 'x'"},
        /* ... and an ordered fix comparison; == is exact in the ring, and an int product wraps
         * by definition: neither warns */
        {"party a, b\ninput x: fix from a\ninput y: fix from b in 0..1\noutput c = x < y to b\n", 4,
         "fix comparison of a value without a declared range"},
        {"party a, b\ninput x: fix from a\ninput y: fix from b\ninput n: int from b\n"
         "output e = x == y, m = n * n, k = x * 2 to b\n", 0, NULL},
        /* a numeric builtin's valid range */
        {"party a, b\ninput x: fix from a in -5..20\noutput e = exp(x) to b\n", 3, "exp()"},
        {"party a, b\ninput x: fix from a in -5..15\noutput e = exp(x), s = sigmoid(x), q = sqrt(x) to b\n", 0, NULL},
        /* bool inputs and comparisons are ranged: a sum of many bools cannot overflow */
        {"party a, b\ninput x: fix[1000] from a in -1..1\ninput t: fix from b in -1..1\n"
         "output c = count(x > t), m = mean(x), v = var(x), r = sigmoid(sum(x)) * 1000 to b\n", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t line;
        char msg[256];
        size_t nw = s_warnings(cases[i].src, &line, msg, sizeof msg);
        if (cases[i].line == 0) {
            ck_assert_msg(nw == 0, "case %zu: unexpected warning at line %u: %s", i, line, msg);
        } else {
            ck_assert_msg(nw >= 1, "case %zu: no warning", i);
            ck_assert_msg(line == cases[i].line, "case %zu: warning at line %u, want %u: %s", i, line, cases[i].line, msg);
            ck_assert_msg(strstr(msg, cases[i].text) != NULL, "case %zu: '%s' lacks '%s'", i, msg, cases[i].text);
        }
    }
}
END_TEST

/* ---- accuracy table (MPC_ACCURACY=1) ---- */

START_TEST(test_accuracy_table)
{
    if (!getenv("MPC_ACCURACY")) return;
    for (size_t i = 0; i < S_NFNS; i++) {
        const s_fn *fn = &s_fns[i];
        s_acc acc = {0};
        s_run_plain(fn, 100000, &acc);
        /* MPC: a few vectors, the worst error. */
        s_acc macc = {0};
        for (int r = 0; r < 4; r++) {
            uint64_t n = 64;
            mpc_circuit *c = s_compile(s_prog(fn, 2 + (unsigned)(r % 2), n));
            double x[64], y[64];
            uint64_t xv[64], yv[64];
            for (uint64_t e = 0; e < n; e++) {
                fn->gen(&x[e], &y[e]);
                xv[e] = mpc_fix_from_double(x[e], F);
                yv[e] = mpc_fix_from_double(y[e], F);
            }
            const uint64_t *vals[2] = {xv, yv};
            uint64_t *got = s_mpc(c, vals, 0);
            s_check(fn, x, y, got, n, 2 * ULP, &macc, "mpc");
            free(got);
            mpc_circ_destroy(&c);
        }
        mpc_circuit *c1 = s_compile(s_prog(fn, 2, 1));
        mpc_circ_stats st;
        mpc_circ_stats_get(c1, &st);
        printf("ACC\t%s\t%s\t%.3g\t%.2f\t%.3g\t%.3g\t%.2f\t%u\t%llu\t%llu\t%llu\n", fn->name, fn->range, acc.max_abs,
               acc.max_abs / ULP, acc.max_rel, macc.max_abs, macc.max_abs / ULP, st.rounds,
               (unsigned long long)st.triples, (unsigned long long)st.trunc_elems,
               (unsigned long long)st.comparisons);
        mpc_circ_destroy(&c1);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("numeric");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_functions_plain, 0, (int)S_NFNS);
    tcase_add_loop_test(tc, test_functions_mpc, 0, 2 * (int)S_NFNS);
    tcase_add_test(tc, test_other_precisions);
    tcase_add_test(tc, test_batched);
    tcase_add_test(tc, test_edges_exact);
    tcase_add_test(tc, test_histogram_and_count);
    tcase_add_test(tc, test_sigmoid_saturation);
    tcase_add_test(tc, test_statistics);
    tcase_add_test(tc, test_range_warnings);
    tcase_add_test(tc, test_example_risk_score);
    tcase_add_test(tc, test_example_joint_corr);
    tcase_add_test(tc, test_accuracy_table);
    suite_add_tcase(s, tc);
    return s;
}

