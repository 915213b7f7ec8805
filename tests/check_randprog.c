/* check_randprog.c — hundreds of random programs (tests/randprog.c): each compiles, its
 * circuit declares the inputs and outputs the generator meant, with their types, lengths
 * and recipients, and the plaintext evaluator reproduces the generator's own arithmetic bit
 * for bit, with and without the optimiser, and with owner-local pushdown (pushdown.h): the
 * parties' declared inputs are still the program's, the local parts run in the clear and
 * the MPC part never needs more triples. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "compile.h"
#include "eval.h"
#include "pushdown.h"
#include "randprog.h"

static mpc_circuit *s_compile_prog(const mpc_randprog *p, unsigned flags)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int r = mpc_compile_ex(p->src, strlen(p->src), "rand.mpc", NULL, 0, flags, &c, &d);
    if (r != 0) {
        char msg[512] = "?";
        if (mpc_diag_first_error(&d)) mpc_diag_format(&d, mpc_diag_first_error(&d), msg, sizeof msg);
        mpc_diag_free(&d);
        ck_abort_msg("random program does not compile: %s\n%s", msg, p->src);
    }
    ck_assert_uint_eq(d.n_errors, 0);   /* warnings (an unused input) are fine */
    mpc_diag_free(&d);
    return c;
}

static void s_check_interface(const mpc_randprog *p, const mpc_circuit *c)
{
    ck_assert_uint_eq(c->n_parties, p->n_parties);
    ck_assert_uint_eq(c->frac_bits, p->frac ? p->frac : MPC_DEFAULT_FRAC);
    ck_assert_uint_eq(c->n_inputs, p->n_inputs);
    for (uint32_t i = 0; i < p->n_inputs; i++) {
        ck_assert_str_eq(c->inputs[i].name, p->inputs[i].name);
        ck_assert_uint_eq(c->inputs[i].party, p->inputs[i].party);
        ck_assert_uint_eq(c->inputs[i].len, p->inputs[i].len);
        ck_assert_int_eq(c->inputs[i].type, p->inputs[i].type);
    }
    ck_assert_uint_eq(c->n_outputs, p->n_outputs);
    for (uint32_t i = 0; i < p->n_outputs; i++) {
        ck_assert_str_eq(c->outputs[i].name, p->outputs[i].name);
        ck_assert_uint_eq(c->outputs[i].len, p->outputs[i].len);
        ck_assert_uint_eq(c->outputs[i].recipients, p->outputs[i].recipients);
        ck_assert_int_eq(c->outputs[i].type, p->outputs[i].type);
    }
}

static void s_check_values(const mpc_randprog *p, const mpc_circuit *c, uint64_t seed)
{
    const uint64_t *ins[16];
    ck_assert_uint_le(p->n_inputs, 16);
    for (uint32_t i = 0; i < p->n_inputs; i++) ins[i] = p->inputs[i].vals;
    mpc_eval_result res;
    char err[256];
    ck_assert_int_eq(mpc_eval(c, ins, &res, err, sizeof err), 0);
    /* The generator keeps every truncation inside its headroom. */
    ck_assert_msg(res.n_warnings == 0, "seed %llu: %s\n%s", (unsigned long long)seed,
                  res.n_warnings ? res.warnings[0].msg : "", p->src);
    for (uint32_t i = 0; i < p->n_outputs; i++)
        for (uint64_t j = 0; j < p->outputs[i].len; j++)
            ck_assert_msg(res.outputs[i][j] == p->outputs[i].vals[j],
                          "seed %llu: output %s[%llu] is %lld, expected %lld\n%s", (unsigned long long)seed,
                          p->outputs[i].name, (unsigned long long)j, (long long)res.outputs[i][j],
                          (long long)p->outputs[i].vals[j], p->src);
    mpc_eval_result_free(&res);
}

/* The pushed-down circuit: same declared inputs (by name), same outputs bit for bit through
 * mpc_eval_declared, no more triples than without pushdown. */
static void s_check_pushdown(const mpc_randprog *p, const mpc_circuit *plain, uint64_t seed, int *pushed)
{
    mpc_circuit *c = s_compile_prog(p, MPC_COMPILE_PUSHDOWN);
    mpc_input *d = NULL;
    uint32_t nd = 0;
    ck_assert_int_eq(mpc_circ_declared_inputs(c, &d, &nd), 0);
    ck_assert_uint_eq(nd, p->n_inputs);
    const uint64_t *ins[16];
    ck_assert_uint_le(p->n_inputs, 16);
    for (uint32_t k = 0; k < nd; k++) {
        uint32_t i = 0;
        while (i < p->n_inputs && strcmp(p->inputs[i].name, d[k].name) != 0) i++;
        ck_assert_msg(i < p->n_inputs, "seed %llu: declared input %s unknown", (unsigned long long)seed, d[k].name);
        ck_assert_uint_eq(d[k].party, p->inputs[i].party);
        ck_assert_uint_eq(d[k].len, p->inputs[i].len);
        ck_assert_int_eq(d[k].type, p->inputs[i].type);
        ins[k] = p->inputs[i].vals;
    }
    mpc_eval_result res;
    char err[512];
    ck_assert_msg(mpc_eval_declared(c, d, nd, ins, &res, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(res.n_warnings, 0);
    for (uint32_t i = 0; i < p->n_outputs; i++) {
        ck_assert_str_eq(c->outputs[i].name, p->outputs[i].name);
        for (uint64_t j = 0; j < p->outputs[i].len; j++)
            ck_assert_msg(res.outputs[i][j] == p->outputs[i].vals[j],
                          "seed %llu (pushdown): output %s[%llu] is %lld, expected %lld\n%s",
                          (unsigned long long)seed, p->outputs[i].name, (unsigned long long)j,
                          (long long)res.outputs[i][j], (long long)p->outputs[i].vals[j], p->src);
    }
    mpc_eval_result_free(&res);
    mpc_circ_stats a, b;
    mpc_circ_stats_get(plain, &a);
    mpc_circ_stats_get(c, &b);
    ck_assert_uint_le(b.triples, a.triples);
    ck_assert_uint_le(b.squares, a.squares);
    ck_assert_uint_le(b.comparisons, a.comparisons);
    *pushed += c->n_locals > 0;
    free(d);
    mpc_circ_destroy(&c);
}

static void s_run(const mpc_randprog_opts *o, uint64_t first_seed, int count)
{
    int pushed = 0, squares = 0;
    for (int i = 0; i < count; i++) {
        uint64_t seed = first_seed + (uint64_t)i;
        mpc_randprog p;
        ck_assert_int_eq(mpc_randprog_generate(seed, o, &p), 0);
        mpc_circuit *c = s_compile_prog(&p, 0);
        mpc_circ_stats st;
        mpc_circ_stats_get(c, &st);
        squares += st.squares > 0;
        s_check_interface(&p, c);
        s_check_values(&p, c, seed);
        s_check_pushdown(&p, c, seed, &pushed);
        mpc_circ_destroy(&c);
        c = s_compile_prog(&p, MPC_COMPILE_NO_OPT);
        s_check_values(&p, c, seed);
        mpc_circ_destroy(&c);
        mpc_randprog_free(&p);
    }
    ck_assert_int_gt(pushed, 0);   /* the generator's programs do have owner-local parts */
    ck_assert_int_gt(squares, count / 20);   /* and squares (x * x, dot(x, x)) */
}

START_TEST(test_int_programs)
{
    mpc_randprog_opts o = {0};
    s_run(&o, 1000, 300);
}
END_TEST

START_TEST(test_int_programs_with_division)
{
    mpc_randprog_opts o = {.with_div = 1};
    s_run(&o, 5000, 200);
    /* with int() of fix values too: exact floors (the generator computes them itself) */
    mpc_randprog_opts ot = {.with_div = 1, .with_toint = 1, .with_cmp = 1};
    s_run(&ot, 6000, 200);
    int seen = 0;
    for (uint64_t seed = 6000; seed < 6050; seed++) {
        mpc_randprog p;
        ck_assert_int_eq(mpc_randprog_generate(seed, &ot, &p), 0);
        seen += strstr(p.src, "int(fix(") != NULL;
        mpc_randprog_free(&p);
    }
    ck_assert_int_ge(seen, 10);
}
END_TEST

START_TEST(test_fix_programs)
{
    mpc_randprog_opts o = {.fix = 1, .with_div = 1};
    s_run(&o, 9000, 300);
    mpc_randprog_opts o20 = {.fix = 1, .with_div = 1, .frac = 20, .max_len = 5};
    s_run(&o20, 20000, 100);
}
END_TEST

START_TEST(test_comparison_programs)
{
    mpc_randprog_opts o = {.with_cmp = 1};
    s_run(&o, 30000, 200);
    mpc_randprog_opts of = {.fix = 1, .with_div = 1, .with_cmp = 1};
    s_run(&of, 40000, 200);
}
END_TEST

START_TEST(test_deterministic)
{
    mpc_randprog_opts o = {.fix = 1, .with_div = 1};
    mpc_randprog a, b;
    ck_assert_int_eq(mpc_randprog_generate(77, &o, &a), 0);
    ck_assert_int_eq(mpc_randprog_generate(77, &o, &b), 0);
    ck_assert_str_eq(a.src, b.src);
    ck_assert_uint_eq(a.n_outputs, b.n_outputs);
    for (uint32_t i = 0; i < a.n_outputs; i++)
        ck_assert(memcmp(a.outputs[i].vals, b.outputs[i].vals, a.outputs[i].len * 8) == 0);
    mpc_randprog_free(&a);
    mpc_randprog_free(&b);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("randprog");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_int_programs);
    tcase_add_test(tc, test_int_programs_with_division);
    tcase_add_test(tc, test_fix_programs);
    tcase_add_test(tc, test_comparison_programs);
    tcase_add_test(tc, test_deterministic);
    suite_add_tcase(s, tc);
    return s;
}

