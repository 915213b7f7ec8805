/* check_mpc_programs.c — compiled programs under MPC equal the plaintext evaluator: random
 * int programs from the compiler's generator bit for bit, random fix programs within the
 * truncation error, and every example program; 2 to 5 parties over the in-memory transport
 * with dealer material.  With and without owner-local pushdown (circuits/pushdown.h): the
 * local parts run in the clear as a client runs them, the MPC part on their results. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "runner.h"
#include "compile.h"
#include "contrib.h"
#include "enginetest.h"
#include "eval.h"
#include "pushdown.h"
#include "mpc_err.h"
#include "randprog.h"
#include "value.h"

/* flags: MPC_COMPILE_PUSHDOWN or 0 (circuits/pushdown.h). */
static mpc_circuit *s_compile(const char *src, const char *name, unsigned flags)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int rc = mpc_compile_ex(src, strlen(src), name, NULL, 0, flags, &c, &d);
    if (rc != 0) mpc_diag_print(&d, stderr);
    mpc_diag_free(&d);
    ck_assert_msg(rc == 0, "%s does not compile", name);
    return c;
}

/* Runs c under MPC on vals (per input) and returns the reconstructed outputs (first 8). */
static void s_mpc(const mpc_circuit *c, const uint64_t *const *vals, int use_dealer, uint64_t *out[8])
{
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.use_dealer = use_dealer;
    j.job = 7;
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

/* The values of c's inputs from the declared inputs names[k] = vals[k] (k < n), as a client
 * computes them: each party's local part runs in the clear.  vals_out[i] per input of c,
 * owned[i] when allocated here (free with s_free_main). */
static void s_main_inputs(const mpc_circuit *c, const char *const *names, const uint64_t *const *vals, uint32_t n,
                          uint64_t ***vals_out, uint8_t **owned)
{
    mpc_input *d = NULL;
    uint32_t nd = 0;
    ck_assert_int_eq(mpc_circ_declared_inputs(c, &d, &nd), 0);
    ck_assert_uint_eq(nd, n);
    const uint64_t **dv = calloc(nd + 1, sizeof *dv);
    for (uint32_t k = 0; k < nd; k++)
        for (uint32_t i = 0; i < n; i++)
            if (!strcmp(d[k].name, names[i])) dv[k] = vals[i];
    *vals_out = calloc(c->n_inputs + 1, sizeof **vals_out);
    *owned = calloc(c->n_inputs + 1, 1);
    char err[512];
    ck_assert_msg(mpc_pushdown_derive(c, UINT32_MAX, d, nd, dv, *vals_out, *owned, NULL, err, sizeof err) == 0,
                  "%s", err);
    free(dv);
    free(d);
}

static void s_free_main(const mpc_circuit *c, uint64_t **v, uint8_t *owned)
{
    for (uint32_t i = 0; i < c->n_inputs; i++)
        if (owned[i]) free(v[i]);
    free(v);
    free(owned);
}

static void s_eval(const mpc_circuit *c, const uint64_t *const *vals, mpc_eval_result *res)
{
    char err[256];
    ck_assert_msg(mpc_eval(c, vals, res, err, sizeof err) == 0, "%s", err);
}

/* Compiles generated program p with and without owner-local pushdown, runs it under MPC
 * (dealer material when `dealer`) and in the evaluator, and checks both equal the generator's
 * own outputs bit for bit; frees p. */
static int s_with_squares;   /* programs run whose MPC part squares (x * x, dot(x, x)) */

static void s_check_bit_exact_pd(mpc_randprog *p, uint64_t seed, const char *name, int dealer, unsigned flags)
{
    mpc_circuit *c = s_compile(p->src, name, flags);
    mpc_circ_stats cst;
    mpc_circ_stats_get(c, &cst);
    s_with_squares += !flags && cst.squares > 0;
    const uint64_t **pv = calloc(p->n_inputs, sizeof *pv);
    const char **pn = calloc(p->n_inputs, sizeof *pn);
    for (uint32_t k = 0; k < p->n_inputs; k++) {
        pv[k] = p->inputs[k].vals;
        pn[k] = p->inputs[k].name;
    }
    uint64_t **mv;
    uint8_t *owned;
    s_main_inputs(c, pn, pv, p->n_inputs, &mv, &owned);
    const uint64_t *const *vals = (const uint64_t *const *)mv;
    uint64_t *got[8] = {0};
    s_mpc(c, vals, dealer, got);
    mpc_eval_result res;
    s_eval(c, vals, &res);
    for (uint32_t o = 0; o < c->n_outputs && o < 8; o++) {
        for (uint64_t e = 0; e < c->outputs[o].len; e++) {
            ck_assert_msg(got[o][e] == res.outputs[o][e], "seed %llu output %s[%llu]: mpc %llu eval %llu\n%s",
                          (unsigned long long)seed, c->outputs[o].name, (unsigned long long)e,
                          (unsigned long long)got[o][e], (unsigned long long)res.outputs[o][e], p->src);
            ck_assert_uint_eq(got[o][e], p->outputs[o].vals[e]);
        }
        free(got[o]);
    }
    mpc_eval_result_free(&res);
    s_free_main(c, mv, owned);
    free(pv);
    free(pn);
    mpc_circ_destroy(&c);
}

static void s_check_bit_exact(mpc_randprog *p, uint64_t seed, const char *name, int dealer)
{
    s_check_bit_exact_pd(p, seed, name, dealer, 0);
    s_check_bit_exact_pd(p, seed, name, dealer, MPC_COMPILE_PUSHDOWN);
    mpc_randprog_free(p);
}

/* Int programs are exact in MPC: bit for bit equal to the evaluator and to the generator's
 * own arithmetic. */
START_TEST(test_random_int_programs_bit_exact)
{
    mpc_randprog_opts opts = {.fix = 0, .max_len = 16, .with_div = 0, .small_ints = _i, .with_cmp = 0};
    int runs = 0;
    s_with_squares = 0;
    for (uint64_t seed = 1; runs < 60; seed++) {
        mpc_randprog p;
        ck_assert_int_eq(mpc_randprog_generate(seed * 7919 + (uint64_t)_i, &opts, &p), 0);
        s_check_bit_exact(&p, seed, "random.mpc", runs % 2);
        runs++;
    }
    ck_assert_int_ge(s_with_squares, 5);   /* square pairs (dealer and local source) are exercised */
}
END_TEST

/* Int programs with division by ±2^k and int() of fix values (int(fix(e) + D)): both are
 * exact floors (a TRUNC corrected by one comparison, LANGUAGE.md "Division"), so MPC, the
 * evaluator and the generator agree bit for bit although the engine's TRUNC rounds at
 * random.  (With a bare TRUNC about half of these programs differed by one.) */
START_TEST(test_random_int_division_bit_exact)
{
    mpc_randprog_opts opts = {.fix = 0, .max_len = 8, .with_div = 1, .with_toint = 1, .with_cmp = _i};
    int runs = 0, divs = 0, toints = 0;
    for (uint64_t seed = 1; runs < 30; seed++) {
        mpc_randprog p;
        ck_assert_int_eq(mpc_randprog_generate(seed * 6151 + (uint64_t)_i, &opts, &p), 0);
        divs += strstr(p.src, " / ") != NULL;
        toints += strstr(p.src, "int(fix(") != NULL;
        s_check_bit_exact(&p, seed, "random_div.mpc", runs % 2);
        runs++;
    }
    ck_assert_int_ge(divs, 5);
    ck_assert_int_ge(toints, 5);
}
END_TEST

/* Fix programs: every TRUNC of the engine returns floor or floor + 1 (docs/engine.md), and
 * an error of e ulp in a factor grows to e·|other factor| through a product.  The generator
 * keeps magnitudes small, so the error stays near a few ulp times the size of the values it
 * went through: the bound below is 2^-10 + 2^-11·|value| (observed: up to ≈3e-4 relative,
 * 0.0054 on 17.86 for dot(w, w) · dot(w, w): a square's two factors carry the SAME error, so
 * it doubles instead of partly cancelling as in a product of two independent values); the
 * test prints the largest error it saw. */
START_TEST(test_random_fix_programs_within_error)
{
    mpc_randprog_opts opts = {.fix = 1, .max_len = 8, .with_div = 1};
    double worst = 0;
    int runs = 0;
    for (uint64_t seed = 1; runs < 40; seed++) {
        mpc_randprog p;
        ck_assert_int_eq(mpc_randprog_generate(seed * 104729, &opts, &p), 0);
        /* every other program with owner-local pushdown (exact local truncations) */
        mpc_circuit *c = s_compile(p.src, "random_fix.mpc", runs % 2 ? MPC_COMPILE_PUSHDOWN : 0);
        const uint64_t **pv = calloc(p.n_inputs, sizeof *pv);
        const char **pn = calloc(p.n_inputs, sizeof *pn);
        for (uint32_t k = 0; k < p.n_inputs; k++) {
            pv[k] = p.inputs[k].vals;
            pn[k] = p.inputs[k].name;
        }
        uint64_t **mv;
        uint8_t *owned;
        s_main_inputs(c, pn, pv, p.n_inputs, &mv, &owned);
        const uint64_t *const *vals = (const uint64_t *const *)mv;
        uint64_t *got[8] = {0};
        s_mpc(c, vals, 1, got);
        mpc_eval_result res;
        s_eval(c, vals, &res);
        for (uint32_t o = 0; o < c->n_outputs && o < 8; o++) {
            for (uint64_t e = 0; e < c->outputs[o].len; e++) {
                double a = mpc_fix_to_double(got[o][e], c->frac_bits);
                double b = mpc_fix_to_double(res.outputs[o][e], c->frac_bits);
                double d = fabs(a - b);
                if (d > worst) {
                    worst = d;
                    if (getenv("MPC_TEST_VERBOSE"))
                        printf("seed %llu %s[%llu]: eval %.6f err %.6f\n%s\n", (unsigned long long)seed,
                               c->outputs[o].name, (unsigned long long)e, b, d, p.src);
                }
                ck_assert_msg(d <= 1.0 / 1024 + fabs(b) / 2048, "seed %llu output %s[%llu]: mpc %.8f eval %.8f\n%s",
                              (unsigned long long)seed, c->outputs[o].name, (unsigned long long)e, a, b, p.src);
            }
            free(got[o]);
        }
        mpc_eval_result_free(&res);
        s_free_main(c, mv, owned);
        free(pv);
        free(pn);
        mpc_circ_destroy(&c);
        mpc_randprog_free(&p);
        runs++;
    }
    printf("random fix programs: largest |mpc - eval| = %.3g (%.1f ulp at f=16)\n", worst, worst * 65536);
}
END_TEST

static char *s_read(const char *path)
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

/* Every example under MPC, on the example data, against the evaluator (fix outputs within
 * 4 ulp per truncation on the output's path; int outputs exact). */
static const struct {
    const char *file;
    const char *inputs[8];   /* name=spec, as on the mpcc command line; NULL-terminated */
    double      tol;         /* real units */
} s_examples[] = {
    {"examples/secure_sum.mpc", {"x=12", "y=30", "z=-2"}, 0},
    {"examples/joint_stats.mpc",
     {"xa=@examples/data/ldl_a.csv", "xb=@examples/data/ldl_b.csv", "xc=@examples/data/ldl_c.csv"}, 0.01},
    {"examples/risk_linear.mpc",
     {"x=@examples/data/patient_x4.csv", "w=@examples/data/provider_w4.csv", "bias=-0.5"}, 1e-4},
    {"examples/poly.mpc", {"x=3", "y=5"}, 0},
    {"examples/risk_score.mpc",
     {"x=@examples/data/patient_x8.csv", "w=@examples/data/provider_w8.csv", "bias=-1.25", "threshold=0.7"}, 1e-4},
    {"examples/joint_corr.mpc",
     {"ua=@examples/data/ldl_a.csv", "va=@examples/data/tc_a.csv", "ub=@examples/data/ldl_b.csv",
      "vb=@examples/data/tc_b.csv", "uc=@examples/data/ldl_c.csv", "vc=@examples/data/tc_c.csv"}, 1e-3},
    /* a collection: its circuit input (the field sums and the count) read as mpcc --eval does */
    {"examples/fedavg.mpc", {"model=@examples/data/fedavg_model.csv", "update=@examples/data/fedavg_updates.csv"}, 2e-4},
};

/* Every example under MPC, with and without owner-local pushdown, against the evaluator. */
START_TEST(test_examples)
{
    char *src = s_read(s_examples[_i].file);
    for (int pd = 0; pd < 2; pd++) {
        mpc_circuit *c = s_compile(src, s_examples[_i].file, pd ? MPC_COMPILE_PUSHDOWN : 0);
        mpc_input *d = NULL;
        uint32_t nd = 0;
        ck_assert_int_eq(mpc_circ_declared_inputs(c, &d, &nd), 0);
        uint64_t **dv = calloc(nd + 1, sizeof *dv);
        const char **dn = calloc(nd + 1, sizeof *dn);
        for (uint32_t k = 0; k < nd; k++) {
            const mpc_contrib_decl *cd = mpc_circ_contrib(c, d[k].name);
            const char *name = cd ? cd->name : d[k].name, *spec = NULL;
            size_t nl = strlen(name);
            for (int s = 0; s_examples[_i].inputs[s]; s++)
                if (!strncmp(s_examples[_i].inputs[s], name, nl) && s_examples[_i].inputs[s][nl] == '=')
                    spec = s_examples[_i].inputs[s] + nl + 1;
            ck_assert_ptr_nonnull(spec);
            uint64_t n = 0;
            char err[256];
            if (cd) {   /* contributions, one per line: the field sums and the count (< p, no wrap) */
                ck_assert(spec[0] == '@');
                ck_assert_uint_eq(d[k].len, cd->len + cd->n_derived + 1);
                dv[k] = calloc(d[k].len, sizeof *dv[k]);
                ck_assert_msg(mpc_contrib_load(cd, c->frac_bits, spec + 1, dv[k], NULL, err, sizeof err) == 0, "%s", err);
                ck_assert_uint_gt(dv[k][d[k].len - 1], 0);
                n = d[k].len;
            } else {
                ck_assert_msg(mpc_values_load(d[k].type, c->frac_bits, spec, &dv[k], &n, err, sizeof err) == 0, "%s",
                              err);
            }
            ck_assert_uint_eq(n, d[k].len);
            dn[k] = d[k].name;
        }
        uint64_t **mv;
        uint8_t *owned;
        s_main_inputs(c, dn, (const uint64_t *const *)dv, nd, &mv, &owned);
        uint64_t *got[8] = {0};
        s_mpc(c, (const uint64_t *const *)mv, 1, got);
        mpc_eval_result res;
        s_eval(c, (const uint64_t *const *)mv, &res);
        for (uint32_t o = 0; o < c->n_outputs; o++) {
            for (uint64_t e = 0; e < c->outputs[o].len; e++) {
                if (c->outputs[o].type == MPC_T_FIX) {
                    double a = mpc_fix_to_double(got[o][e], c->frac_bits);
                    double b = mpc_fix_to_double(res.outputs[o][e], c->frac_bits);
                    ck_assert_msg(fabs(a - b) <= s_examples[_i].tol, "%s (pushdown %d): %s mpc %.6f eval %.6f",
                                  s_examples[_i].file, pd, c->outputs[o].name, a, b);
                } else {
                    ck_assert_uint_eq(got[o][e], res.outputs[o][e]);
                }
            }
            free(got[o]);
        }
        mpc_eval_result_free(&res);
        s_free_main(c, mv, owned);
        for (uint32_t k = 0; k < nd; k++) free(dv[k]);
        free(dv);
        free(dn);
        free(d);
        mpc_circ_destroy(&c);
    }
    free(src);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("mpc_programs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_random_int_programs_bit_exact, 0, 2);
    tcase_add_loop_test(tc, test_random_int_division_bit_exact, 0, 2);
    tcase_add_test(tc, test_random_fix_programs_within_error);
    tcase_add_loop_test(tc, test_examples, 0, (int)(sizeof s_examples / sizeof s_examples[0]));
    suite_add_tcase(s, tc);
    return s;
}

