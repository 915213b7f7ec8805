/* check_support.c — output supports derived from the gates (circuits/release.h) and the
 * release circuit that withholds counts below min_rows, checked with the plaintext evaluator. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "eval.h"
#include "release.h"
#include "runner.h"

static mpc_circuit *s_compile(const char *src)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int r = mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d);
    ck_assert_msg(r == 0, "compile failed:\n%s", src);
    mpc_diag_free(&d);
    return c;
}

static uint32_t s_out(const mpc_circuit *c, const char *name)
{
    for (uint32_t o = 0; o < c->n_outputs; o++)
        if (!strcmp(c->outputs[o].name, name)) return o;
    ck_abort_msg("no output %s", name);
    return 0;
}

static void s_want(const mpc_support_vec *v, uint64_t i, uint64_t rows, int count)
{
    const mpc_support *s = mpc_support_at(v, i);
    ck_assert_msg(s->count == count, "element %llu: count %d, want %d", (unsigned long long)i, s->count, count);
    if (!count) ck_assert_msg(s->rows == rows, "element %llu: rows %llu, want %llu", (unsigned long long)i,
                              (unsigned long long)s->rows, (unsigned long long)rows);
}

static const char *const s_prog =
    "party a, b\n"
    "input x: int[40] from a in 0..100\n"
    "input y: int[40] from b in 0..100\n"
    "input z: int from b in 0..100\n"
    "input flag: bool[40] from a\n"
    "output s = sum(x) + sum(y), m = mean(x), e = x + y, c = count(x > 50), h = histogram(x, [0, 10, 50, 101]),\n"
    "       both = count(x > 50) + count(y > 50), shifted = count(x > 50) + 1, leak = sum(x) + z,\n"
    "       d = dot(x, y), f = count(flag), k = 7 + z - z to a, b\n";

/* Public supports of plain aggregates, counts for count() and histogram bins. */
START_TEST(test_supports)
{
    mpc_circuit *c = s_compile(s_prog);
    mpc_support_vec *sup = NULL;
    ck_assert_int_eq(mpc_circ_support(c, &sup), 0);
    s_want(&sup[s_out(c, "s")], 0, 40, 0);        /* min(40, 40) */
    s_want(&sup[s_out(c, "m")], 0, 40, 0);
    const mpc_support_vec *e = &sup[s_out(c, "e")];
    ck_assert_uint_eq(e->len, 40);
    for (uint64_t i = 0; i < 40; i++) s_want(e, i, 1, 0);
    s_want(&sup[s_out(c, "c")], 0, 0, 1);
    const mpc_support_vec *h = &sup[s_out(c, "h")];
    ck_assert_uint_eq(h->len, 3);
    for (uint64_t i = 0; i < 3; i++) s_want(h, i, 0, 1);
    s_want(&sup[s_out(c, "both")], 0, 0, 1);
    s_want(&sup[s_out(c, "shifted")], 0, 1, 0);   /* a count used otherwise: support 1 */
    s_want(&sup[s_out(c, "leak")], 0, 1, 0);      /* an aggregate plus one row */
    s_want(&sup[s_out(c, "d")], 0, 40, 0);
    s_want(&sup[s_out(c, "f")], 0, 40, 0);        /* a client's bools: a sum, not a count */
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&c);
}
END_TEST

/* The release circuit: counts below min_rows become 0 and their pass bit 0; the rest exact. */
START_TEST(test_release_circuit)
{
    mpc_circuit *c = s_compile(s_prog);
    mpc_support_vec *sup = NULL;
    ck_assert_int_eq(mpc_circ_support(c, &sup), 0);
    mpc_circuit *r = NULL;
    uint8_t *has = calloc(c->n_outputs, 1);
    char err[256];
    ck_assert_msg(mpc_release_circuit(c, sup, 10, &r, has, err, sizeof err) == 0, "%s", err);
    uint32_t n_pass = 0;
    for (uint32_t o = 0; o < c->n_outputs; o++) n_pass += has[o];
    ck_assert_uint_eq(n_pass, 3);   /* c, h, both */
    ck_assert_uint_eq(r->n_outputs, c->n_outputs + 3);
    ck_assert_uint_eq(r->n_inputs, c->n_inputs);
    /* x: 3 values in [0,10), 30 in [10,50), 7 in [50,100]; y: all 60. */
    uint64_t x[40], y[40], z = 5, flag[40];
    for (int i = 0; i < 40; i++) {
        x[i] = i < 3 ? 4 : i < 33 ? 20 : 70;
        y[i] = 60;
        flag[i] = i & 1;
    }
    const uint64_t *ins[4];
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        const char *nm = c->inputs[k].name;
        ins[k] = !strcmp(nm, "x") ? x : !strcmp(nm, "y") ? y : !strcmp(nm, "z") ? &z : flag;
    }
    mpc_eval_result full, rel;
    ck_assert_int_eq(mpc_eval(c, ins, &full, err, sizeof err), 0);
    ck_assert_int_eq(mpc_eval(r, ins, &rel, err, sizeof err), 0);
    uint32_t oc = s_out(c, "c"), oh = s_out(c, "h"), ob = s_out(c, "both"), os = s_out(c, "s");
    ck_assert_uint_eq(full.outputs[oc][0], 7);
    ck_assert_uint_eq(rel.outputs[oc][0], 0);                 /* 7 < 10: withheld */
    ck_assert_uint_eq(rel.outputs[oh][0], 0);                 /* bin of 3 */
    ck_assert_uint_eq(rel.outputs[oh][1], 30);
    ck_assert_uint_eq(rel.outputs[oh][2], 0);                 /* bin of 7 */
    ck_assert_uint_eq(rel.outputs[ob][0], 47);
    ck_assert_uint_eq(rel.outputs[os][0], full.outputs[os][0]);
    /* The pass bits follow the outputs, in order: c, h, both. */
    uint32_t p = c->n_outputs;
    ck_assert_str_eq(r->outputs[p].name, "_pass.3");
    ck_assert_uint_eq(rel.outputs[p][0], 0);
    ck_assert_uint_eq(rel.outputs[p + 1][0], 0);
    ck_assert_uint_eq(rel.outputs[p + 1][1], 1);
    ck_assert_uint_eq(rel.outputs[p + 1][2], 0);
    ck_assert_uint_eq(rel.outputs[p + 2][0], 1);
    mpc_eval_result_free(&full);
    mpc_eval_result_free(&rel);
    mpc_circ_destroy(&r);
    /* min_rows = 0: no check at all. */
    ck_assert_int_eq(mpc_release_circuit(c, sup, 0, &r, has, err, sizeof err), 0);
    ck_assert_uint_eq(r->n_outputs, c->n_outputs);
    mpc_circ_destroy(&r);
    free(has);
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&c);
}
END_TEST

/* With owner-local pushdown a mean is computed by its owner: the derived input keeps the
 * support of the local part's output, and a count there stays a count. */
START_TEST(test_pushdown_supports)
{
    const char *src = "party a, b\ninput x: int[40] from a in 0..100\ninput y: int[3] from b in 0..100\n"
                      "output m = mean(x), c = count(x > 50), e = y + 1 to a, b\n";
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile_ex(src, strlen(src), "t.mpc", NULL, 0, MPC_COMPILE_PUSHDOWN, &c, &d), 0);
    mpc_diag_free(&d);
    ck_assert_uint_ge(c->n_locals, 1);
    mpc_support_vec *sup = NULL;
    ck_assert_int_eq(mpc_circ_support(c, &sup), 0);
    s_want(&sup[s_out(c, "m")], 0, 40, 0);
    s_want(&sup[s_out(c, "c")], 0, 0, 1);
    s_want(&sup[s_out(c, "e")], 2, 1, 0);
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&c);
}
END_TEST

/* A long element-wise vector mixing supports collapses to the strictest, never weaker. */
START_TEST(test_long_mixed_vector)
{
    mpc_circuit *c = s_compile("party a, b\ninput x: int[70000] from a\ninput y: int[2] from b\n"
                               "output v = concat(x, y), w = concat(y, count(x > 1), y) to a, b\n");
    mpc_support_vec *sup = NULL;
    ck_assert_int_eq(mpc_circ_support(c, &sup), 0);
    const mpc_support_vec *v = &sup[s_out(c, "v")];
    ck_assert(v->uniform);
    s_want(v, 0, 1, 0);
    const mpc_support_vec *w = &sup[s_out(c, "w")];
    ck_assert_uint_eq(w->len, 5);
    s_want(w, 0, 1, 0);
    s_want(w, 2, 0, 1);
    s_want(w, 4, 1, 0);
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&c);
}
END_TEST

/* A dp_* release adds a NOISE gate to its value: a noisy count stays a count (the release
 * circuit compares the noisy value), a noisy sum keeps its rows; the noise makes nothing a
 * count that was not one. */
START_TEST(test_noisy_supports)
{
    mpc_circuit *c = s_compile("party a, b\ninput x: int[40] from a in 0..100\ninput z: int from b in 0..100\n"
                               "output h = dp_histogram(x, [0, 10, 50, 101], 1.0), n = dp_count(x > 50, 1.0),\n"
                               "       s = dp_sum(x, 0, 100, 1.0), one = dp_sum(x + z, 0, 200, 1.0),\n"
                               "       twice = dp_count(x > 50, 1.0) + 1 to a, b\n");
    mpc_support_vec *sup = NULL;
    ck_assert_int_eq(mpc_circ_support(c, &sup), 0);
    const mpc_support_vec *h = &sup[s_out(c, "h")];
    ck_assert_uint_eq(h->len, 3);
    for (uint64_t i = 0; i < 3; i++) s_want(h, i, 0, 1);
    s_want(&sup[s_out(c, "n")], 0, 0, 1);
    s_want(&sup[s_out(c, "s")], 0, 40, 0);
    s_want(&sup[s_out(c, "one")], 0, 40, 0);       /* x + z per row, then summed: 40 rows */
    s_want(&sup[s_out(c, "twice")], 0, 1, 0);      /* a noisy count used otherwise: support 1 */
    /* The release circuit compares the noisy values: a bin of 3 with noise of at most ±m/2. */
    mpc_circuit *r = NULL;
    uint8_t *has = calloc(c->n_outputs, 1);
    char err[256];
    ck_assert_msg(mpc_release_circuit(c, sup, 10, &r, has, err, sizeof err) == 0, "%s", err);
    ck_assert(has[s_out(c, "h")] && has[s_out(c, "n")] && !has[s_out(c, "s")]);
    uint64_t x[40], z = 5;
    for (int i = 0; i < 40; i++) x[i] = i < 3 ? 4 : i < 33 ? 20 : 70;
    const uint64_t *ins[2];
    for (uint32_t k = 0; k < c->n_inputs; k++) ins[k] = !strcmp(c->inputs[k].name, "x") ? x : &z;
    mpc_eval_result rel;
    ck_assert_int_eq(mpc_eval(r, ins, &rel, err, sizeof err), 0);
    uint32_t oh = s_out(c, "h"), p = c->n_outputs;
    for (uint64_t i = 0; i < 3; i++) {
        int64_t v = (int64_t)rel.outputs[oh][i];
        uint64_t pass = rel.outputs[p][i];
        ck_assert_uint_le(pass, 1);
        /* withheld: value 0 and pass 0; released: the noisy value itself, at least 10 */
        if (pass) ck_assert_int_ge(v, 10);
        else ck_assert_int_eq(v, 0);
    }
    ck_assert_uint_eq(rel.outputs[p][1], 1);          /* the bin of 30: noise of eps = 1 is far smaller */
    mpc_eval_result_free(&rel);
    mpc_circ_destroy(&r);
    free(has);
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&c);
    /* With pushdown over a concatenation each party counts its own rows per bin and the noise
     * of the vector reaches each bin through a SLICE (splitcat.h): still counts. */
    const char *src = "party a, b\ninput x: int[40] from a in 0..100\ninput y: int[40] from b in 0..100\n"
                      "output h = dp_histogram(concat(x, y), [0, 10, 50, 101], 1.0) to a, b\n";
    mpc_diag d;
    ck_assert_int_eq(mpc_compile_ex(src, strlen(src), "t.mpc", NULL, 0, MPC_COMPILE_PUSHDOWN, &c, &d), 0);
    mpc_diag_free(&d);
    ck_assert_uint_ge(c->n_locals, 1);
    ck_assert_int_eq(mpc_circ_support(c, &sup), 0);
    for (uint64_t i = 0; i < 3; i++) s_want(&sup[0], i, 0, 1);
    mpc_support_free(&sup, c->n_outputs);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("support");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_supports);
    tcase_add_test(tc, test_release_circuit);
    tcase_add_test(tc, test_long_mixed_vector);
    tcase_add_test(tc, test_pushdown_supports);
    tcase_add_test(tc, test_noisy_supports);
    suite_add_tcase(s, tc);
    return s;
}
