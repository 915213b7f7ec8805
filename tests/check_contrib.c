/* check_contrib.c — contributor inputs (circuits/contrib.h): compile errors; the reading of
 * contributions; and the conversion from the field to the ring, in the clear (mpc_eval on the
 * unreduced sum t = Σ a_i < n·p) and under MPC (the engine with each party's field sums as a
 * STORED share, as the daemons give them), for 2, 3 and 4 parties, with sums that wrap past
 * p and 2p and negative results. */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "contrib.h"
#include "enginetest.h"
#include "eval.h"
#include "field61.h"
#include "flp.h"
#include "runner.h"
#include "value.h"

#define D 17

static mpc_circuit *s_compile(const char *src)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int rc = mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d);
    char msg[512] = "";
    if (rc != 0) mpc_diag_format(&d, mpc_diag_first_error(&d), msg, sizeof msg);
    mpc_diag_free(&d);
    ck_assert_msg(rc == 0, "%s", msg);
    return c;
}

static void s_compile_fails(const char *src, const char *want)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_ne(mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d), 0);
    char msg[512];
    mpc_diag_format(&d, mpc_diag_first_error(&d), msg, sizeof msg);
    ck_assert_msg(strstr(msg, want) != NULL, "want '%s' in: %s", want, msg);
    mpc_diag_free(&d);
}

START_TEST(test_compile_errors)
{
    s_compile_fails("party a, b\ninput g: bool[3] from contributors\noutput n = count(g) to a\n", "int or fix");
    s_compile_fails("party a, b\ninput g: fix[3] from contributors\noutput n = count(g) to a\n", "validity range");
    s_compile_fails("party a, b, c, d, e\ninput g: int[3] from contributors in 0..1\noutput n = count(g) to a\n",
                    "2 to 4 parties");
    s_compile_fails("party a, b\ninput g: int[3] from contributors in 0..1\noutput n = g to a\n",
                    "use count(g), sum(g) or mean(g)");
    s_compile_fails("party a, b\ninput g: int[3] from contributors in 0..1\noutput n = max(g) to a\n",
                    "not max(g)");
    s_compile_fails("party a, contributors\ninput x: int from a\noutput y = x to a\n", "cannot name a party");
    s_compile_fails("party a, b\ninput g: int[3] from contributors in 0..1\ninput g: int from a\noutput n = count(g) to a\n",
                    "already defined");
    s_compile_fails("party a, b\ninput g: int[3] from contributors in 0..4611686018427387904\noutput n = count(g) to a\n",
                    "too wide");
}
END_TEST

START_TEST(test_decl_and_parse)
{
    mpc_circuit *c = s_compile("party a, b, c\nprecision 8\ninput g: fix[3] from contributors in -2..1.5\n"
                               "output s = sum(g) to a\n");
    const mpc_contrib_decl *d = mpc_circ_contrib(c, "g");
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_eq(mpc_circ_contrib(c, "g-contrib"), d);
    ck_assert_ptr_null(mpc_circ_contrib(c, "s"));
    ck_assert_str_eq(d->input, "g-contrib");
    ck_assert_int_eq(d->type, MPC_T_FIX);
    ck_assert_uint_eq(d->len, 3);
    ck_assert_int_eq(d->lo, -512);
    ck_assert_int_eq(d->hi, 384);
    ck_assert_uint_eq(d->max_count, MPC_CONTRIB_MAX_COUNT);
    ck_assert_uint_eq(c->n_inputs, 1);
    ck_assert_str_eq(c->inputs[0].name, "g-contrib");
    ck_assert_uint_eq(c->inputs[0].len, 4);
    ck_assert(mpc_contrib_input_of("g-contrib"));
    ck_assert(!mpc_contrib_input_of("g"));
    ck_assert(!mpc_contrib_input_of("-contrib"));
    uint64_t e[3];
    char err[256];
    ck_assert_int_eq(mpc_contrib_parse(d, 8, "1.5, -2 0", 9, e, err, sizeof err), 0);
    ck_assert_uint_eq(e[0], 384);
    ck_assert_uint_eq(e[1], MPC_F61_P - 512);
    ck_assert_uint_eq(e[2], 0);
    ck_assert_int_eq(mpc_contrib_parse(d, 8, "1, 1", 4, e, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "2 values"));
    ck_assert_int_eq(mpc_contrib_parse(d, 8, "1, 1, 1, 1", 10, e, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "more than 3"));
    ck_assert_int_eq(mpc_contrib_parse(d, 8, "1, 1.75, 1", 10, e, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "value 2 is outside"));
    ck_assert_ptr_null(strstr(err, "1.75"));   /* never quotes the value */
    ck_assert_int_eq(mpc_contrib_parse(d, 8, "1, x, 1", 7, e, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "value 2 is not a fix"));
    /* an int range wide enough to bound the count */
    mpc_circuit *c2 = s_compile("party a, b\ninput k: int from contributors in -1000000000000..5\n"
                                "output s = sum(k) to a\n");
    ck_assert_uint_eq(mpc_circ_contrib(c2, "k")->max_count, (uint32_t)((MPC_F61_HALF - 1) / 1000000000000ull));
    mpc_circ_destroy(&c2);
    mpc_circ_destroy(&c);
}
END_TEST

/* `, norm <= B`: recorded in the declaration (B and B² in ring units), refused where it does
 * not belong or could wrap the field, checked exactly at the bound, and the same as the
 * validity proof's encoding (protocols/flp.h) decides. */
START_TEST(test_norm_bound)
{
    mpc_circuit *c = s_compile("party a, b\ninput g: int[3] from contributors in -10..10, norm <= 5\n"
                               "output s = sum(g) to a\n");
    const mpc_contrib_decl *d = mpc_circ_contrib(c, "g");
    ck_assert_int_eq(d->norm, 5);
    ck_assert_uint_eq(d->l2_bound, 25);
    uint64_t e[3];
    char err[256];
    ck_assert_int_eq(mpc_contrib_parse(d, 16, "3, -4, 0", 8, e, err, sizeof err), 0);
    ck_assert(mpc_contrib_norm_ok(d, e));                 /* 9 + 16 = 25: at the bound */
    ck_assert_int_eq(mpc_contrib_parse(d, 16, "3, -4, 1", 8, e, err, sizeof err), 0);
    ck_assert(!mpc_contrib_norm_ok(d, e));                /* 26 */
    ck_assert_int_eq(mpc_contrib_parse(d, 16, "-5 0 0", 6, e, err, sizeof err), 0);
    ck_assert(mpc_contrib_norm_ok(d, e));
    mpc_circ_destroy(&c);

    /* fix: B in the ring encoding, squared; one unit (2^-16) above is invalid, as the proof says */
    c = s_compile("party a, b\ninput g: fix[4] from contributors in -1..1, norm <= 1\noutput s = sum(g) to a\n");
    d = mpc_circ_contrib(c, "g");
    ck_assert_int_eq(d->norm, 65536);
    ck_assert_uint_eq(d->l2_bound, UINT64_C(1) << 32);
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, d->len, d->lo, d->hi, d->l2_bound, 2), 0);
    uint64_t x[4], *meas = calloc(f.meas_len, sizeof *meas);
    int64_t xs[4];
    const char *at = "1, 0, 0, 0", *above = "1, 0.0000152587890625, 0, 0", *mixed = "0.6, -0.8, 0, 0";
    ck_assert_int_eq(mpc_contrib_parse(d, 16, at, strlen(at), x, err, sizeof err), 0);
    for (int i = 0; i < 4; i++) xs[i] = mpc_f61_to_signed(x[i]);
    ck_assert(mpc_contrib_norm_ok(d, x));
    ck_assert_int_eq(mpc_flp_encode(&f, xs, meas), 0);
    ck_assert_int_eq(mpc_contrib_parse(d, 16, above, strlen(above), x, err, sizeof err), 0);
    for (int i = 0; i < 4; i++) xs[i] = mpc_f61_to_signed(x[i]);
    ck_assert_int_eq(xs[1], 1);
    ck_assert(!mpc_contrib_norm_ok(d, x));
    ck_assert_int_eq(mpc_flp_encode(&f, xs, meas), MPC_ERR_INPUT);
    /* 0.6 and -0.8 round in the ring (39322, -52429): 39322² + 52429² = 4294967525 > 2^32 */
    ck_assert_int_eq(mpc_contrib_parse(d, 16, mixed, strlen(mixed), x, err, sizeof err), 0);
    for (int i = 0; i < 4; i++) xs[i] = mpc_f61_to_signed(x[i]);
    ck_assert(!mpc_contrib_norm_ok(d, x));
    ck_assert_int_eq(mpc_flp_encode(&f, xs, meas), MPC_ERR_INPUT);
    free(meas);

    /* mpcc --eval's reference leaves the contributions over the bound out and counts them */
    char path[] = "/tmp/check_contrib_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "%s\n%s\n%s\n0.5, 0.5, 0.5, 0.5\n1, 1, 0, 0\n", at, above, mixed);
    fclose(fp);
    uint64_t out[5], dropped = 99;
    ck_assert_msg(mpc_contrib_load(d, 16, path, out, &dropped, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(dropped, 3);
    ck_assert_uint_eq(out[4], 2);
    ck_assert_uint_eq(out[0], 65536 + 32768);
    ck_assert_uint_eq(out[3], 32768);
    unlink(path);
    mpc_circ_destroy(&c);

    s_compile_fails("party a, b\ninput x: int from a in 0..9, norm <= 3\noutput y = x to a\n",
                    "t.mpc:2:38: error: a norm bound is for contributor inputs only");
    s_compile_fails("party a, b\ninput g: int[2] from contributors in 0..9, norm <= 0\noutput n = count(g) to a\n",
                    "must be positive");
    s_compile_fails("party a, b\ninput g: int[2] from contributors in 0..9, norm <= 2.5\noutput n = count(g) to a\n",
                    "must be an integer");
    s_compile_fails("party a, b\ninput g: int[2] from contributors in 0..9, nrm <= 2\noutput n = count(g) to a\n",
                    "'norm <= BOUND'");
    /* D·max² + B² must stay below 2^60: D = 1000 values up to 2^26 reach 2^62 */
    s_compile_fails("party a, b\ninput g: int[1000] from contributors in -67108864..67108864, norm <= 10\n"
                    "output n = count(g) to a\n",
                    "t.mpc:2:70: error: the norm bound of contributor input 'g' could wrap the contribution field");
    s_compile_fails("party a, b\ninput g: int[2] from contributors in -1..1, norm <= 1073741824\n"
                    "output n = count(g) to a\n", "could wrap");
    s_compile_fails("party a, b\ninput g: fix[1000] from contributors in -1000..1000, norm <= 1\n"
                    "output n = count(g) to a\n", "could wrap");
    /* below the limit compiles: D·max² = 16·2^18, B² = 2^58 */
    mpc_circuit *c2 = s_compile("party a, b\ninput g: int[16] from contributors in -512..512, norm <= 536870912\n"
                                "output n = count(g) to a\n");
    mpc_circ_destroy(&c2);
}
END_TEST

START_TEST(test_load_file)
{
    mpc_circuit *c = s_compile("party a, b\ninput g: int[2] from contributors in -3..3\noutput s = sum(g) to a\n");
    const mpc_contrib_decl *d = mpc_circ_contrib(c, "g");
    char path[] = "/tmp/check_contrib_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("\xEF\xBB\xBFx,y\n1,2\n\n-3 3\r\n2,-1\n", f);
    fclose(f);
    uint64_t out[3];
    char err[256];
    ck_assert_msg(mpc_contrib_load(d, 16, path, out, NULL, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(out[0], 0);
    ck_assert_uint_eq(out[1], 4);
    ck_assert_uint_eq(out[2], 3);
    f = fopen(path, "w");
    fputs("1,2\n1,2,3\n", f);
    fclose(f);
    ck_assert_int_eq(mpc_contrib_load(d, 16, path, out, NULL, err, sizeof err), -1);
    char want[300];
    snprintf(want, sizeof want, "%s:2: error: more than 2 values", path);
    ck_assert_msg(strstr(err, want) == err, "%s", err);
    unlink(path);
    mpc_circ_destroy(&c);
}
END_TEST

/* Contributions x[c][e] in lo..hi (ring encoding), each shared mod p among n parties;
 * acc[p][e] is party p's field sum, acc[p][D] the count's share. */
static void s_collect(uint32_t n, uint64_t cnt, int64_t lo, int64_t hi, int64_t *plain, uint64_t acc[4][D + 1])
{
    memset(acc, 0, 4 * sizeof acc[0]);
    memset(plain, 0, D * sizeof *plain);
    for (uint64_t i = 0; i < cnt; i++)
        for (uint32_t e = 0; e < D; e++) {
            int64_t x = lo + (int64_t)(et_rand64() % (uint64_t)(hi - lo + 1));
            if (i == 0 && e < 2) x = e ? hi : lo;
            plain[e] += x;
            uint64_t v, rest;
            ck_assert_int_eq(mpc_f61_from_signed(x, &v), 0);
            rest = v;
            for (uint32_t p = 0; p + 1 < n; p++) {
                uint64_t r = mpc_f61_reduce(et_rand64());
                acc[p][e] = mpc_f61_add(acc[p][e], r);
                rest = mpc_f61_sub(rest, r);
            }
            acc[n - 1][e] = mpc_f61_add(acc[n - 1][e], rest);
        }
    acc[0][D] = cnt;
}

static const char *s_prog(uint32_t n)
{
    static char src[512];
    snprintf(src, sizeof src, "party %s\nprecision 8\ninput g: fix[%d] from contributors in -4..4\n"
             "output n = count(g), s = sum(g), m = mean(g) to a\n",
             n == 2 ? "a, b" : n == 3 ? "a, b, c" : "a, b, c, d", D);
    return src;
}

START_TEST(test_reduction_eval)
{
    for (uint32_t n = 2; n <= 4; n++)
        for (int round = 0; round < 20; round++) {
            mpc_circuit *c = s_compile(s_prog(n));
            uint64_t acc[4][D + 1], t[D + 1] = {0};
            int64_t plain[D];
            uint64_t cnt = 1 + (uint64_t)round * 7;
            s_collect(n, cnt, -1024, 1024, plain, acc);
            int wrapped = 0;
            for (uint32_t e = 0; e <= D; e++) {
                for (uint32_t p = 0; p < n; p++) t[e] += acc[p][e];   /* < n·p: no wrap mod 2^64 */
                wrapped |= t[e] >= MPC_F61_P;
            }
            ck_assert(wrapped || n == 2);
            const uint64_t *in[1] = {t};
            mpc_eval_result res;
            char err[256];
            ck_assert_int_eq(mpc_eval(c, in, &res, err, sizeof err), 0);
            ck_assert_uint_eq(res.outputs[0][0], cnt);
            for (uint32_t e = 0; e < D; e++) ck_assert_int_eq((int64_t)res.outputs[1][e], plain[e]);
            mpc_eval_result_free(&res);
            mpc_circ_destroy(&c);
        }
}
END_TEST

START_TEST(test_reduction_mpc)
{
    for (uint32_t n = 2; n <= 4; n++) {
        mpc_circuit *c = s_compile(s_prog(n));
        uint64_t acc[4][D + 1];
        int64_t plain[D];
        uint64_t cnt = 40;
        s_collect(n, cnt, -1024, 1024, plain, acc);
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 77;
        randombytes_buf(j.master, 32);
        for (uint32_t p = 0; p < n; p++) {   /* freed by et_clear */
            j.in[p] = calloc(1, sizeof *j.in[p]);
            ck_assert_ptr_nonnull(j.in[p]);
            j.in[p][0] = (mpc_engine_input){.mode = MPC_IN_STORED, .values = acc[p], .len = D + 1};
        }
        ck_assert_int_eq(et_run(&j), 0);
        ck_assert_msg(j.rc[0] == 0 && j.open_rc[0] == 0, "%s", j.err[0]);
        ck_assert_uint_eq(j.value[0][0][0], cnt);
        for (uint32_t e = 0; e < D; e++) {
            ck_assert_int_eq((int64_t)j.value[0][1][e], plain[e]);
            double want = (double)plain[e] / 256.0 / (double)cnt, got = mpc_fix_to_double(j.value[0][2][e], 8);
            ck_assert_msg(got > want - 0.02 && got < want + 0.02, "mean %g, want %g", got, want);
        }
        et_clear(&j);
        mpc_circ_destroy(&c);
    }
}
END_TEST

START_TEST(test_field_constant_agrees)
{
    /* circuits/contrib.c repeats p (circuits/ depends on nothing of ours): a sum of p - 1 and
     * 1 read from a file is 0 there as here. */
    mpc_circuit *c = s_compile("party a, b\ninput k: int from contributors in -1..1\noutput s = sum(k) to a\n");
    const mpc_contrib_decl *d = mpc_circ_contrib(c, "k");
    uint64_t e;
    char err[128];
    ck_assert_int_eq(mpc_contrib_parse(d, 16, "-1", 2, &e, err, sizeof err), 0);
    ck_assert_uint_eq(e, MPC_F61_P - 1);
    ck_assert_uint_eq(d->max_count, MPC_CONTRIB_MAX_COUNT);
    mpc_circ_destroy(&c);
}
END_TEST

/* ---- per-contribution operations (derived entries) ---- */

START_TEST(test_ops_errors)
{
    const char *h = "party a, b\ninput g: fix[4] from contributors in -1..1\ninput h: fix[4] from contributors in -1..1\n"
                    "input x: fix from a\ninput k: int[4] from contributors in -3..3\n";
    static const struct { const char *out, *want; } cases[] = {
        {"sum(g * g * g)", "6:22: error: a product of more than two elements of 'g' per contribution (degree above 2)"},
        {"sum(dot(g, g) * g[0])", "a product of more than two elements of 'g'"},
        {"sum(g * h)", "6:20: error: a per-contribution expression uses one contributor input: this one mixes 'g' and 'h'"},
        {"sum(g + h)", "mixes 'g' and 'h'"},
        {"sum(g * x)", "may combine it only with public numbers (this value is secret)"},
        {"max(g * g)", "max() of an expression in contributor input 'g' is not supported"},
        {"count(g * g)", "count() of an expression in contributor input 'g' is not supported"},
        {"sum(g > 0.5)", "a comparison of 'g' per contribution is not supported"},
        {"sum(sqrt(g))", "this operation on 'g' per contribution is not supported"},
        {"sum(g[0] * g)", "a single element of 'g' combined with a vector of its elements is not supported"},
        {"sum(g[0:2] * g)", "vectors of lengths 2 and 4"},
        {"sum(1.0 / g)", "division by 'g' per contribution is not supported"},
        {"sum(k / 2)", "an int contribution divided by an integer rounds each contribution"},
        {"sum(dot(g, g[0:3]))", "dot() of vectors of lengths 4 and 3"},
        {"sum(dot(g, 1.0))", "dot() expects vectors"},
        {"sum(g[1:5] * g)", "slice [1:5] out of range for a vector of length 4"},
        {"sum(g * g) + g[0]", "'g' is a contributor input, not a value"},
        {"sum(k + 0.5)", "6:12: error: type mismatch: a fix constant with the int contributor input 'k'"},
    };
    char src[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(src, sizeof src, "%soutput o = %s, u = sum(h) + sum(x) + sum(k) to a\n", h, cases[i].out);
        s_compile_fails(src, cases[i].want);
    }
    /* a square that could wrap the field, and one that could not */
    s_compile_fails("party a, b\ninput g: int[3] from contributors in -2147483648..2147483648\noutput s = sum(g * g) to a\n",
                    "3:12: error: this product of 'g' could wrap the contribution field");
    s_compile_fails("party a, b\ninput g: int[3] from contributors in -1073741824..1073741824\noutput s = sum(dot(g, g)) to a\n",
                    "could wrap the contribution field: n·max(|LO|, |HI|)²");
    mpc_circuit *c = s_compile("party a, b\ninput g: int[3] from contributors in -536870912..536870912\n"
                               "output s = sum(g * g) to a\n");
    ck_assert_uint_eq(mpc_circ_contrib(c, "g")->max_count, 3);   /* (p−1)/2 over 2^58 */
    mpc_circ_destroy(&c);
    /* more than MPC_CONTRIB_MAX_TERMS kinds of products */
    size_t u = (size_t)snprintf(src, sizeof src, "party a, b\ninput g: int[12] from contributors in 0..1\noutput ");
    for (int i = 0; i <= MPC_CONTRIB_MAX_TERMS; i++)
        u += (size_t)snprintf(src + u, sizeof src - u, "%so%d = sum(g[0] * g[%d])", i ? ", " : "", i, i + 1);
    snprintf(src + u, sizeof src - u, " to a\n");
    s_compile_fails(src, "needs more than 8 kinds of derived entries");
}
END_TEST

/* The declaration records each kind of product once, in the order of first use; the circuit
 * input grows by the entries; max_count shrinks so that every entry's sum decodes exactly. */
START_TEST(test_ops_decl)
{
    mpc_circuit *c = s_compile("party a, b\ninput g: fix[1000] from contributors in -1..1\n"
                               "output v = mean(g * g) - mean(g) * mean(g), q = sum(dot(g, g)), s = sum(g * g),\n"
                               "    xy = sum(g[0:500] * g[500:1000]), yx = mean(g[500:1000] * g[0:500]),\n"
                               "    w = sum(2.0 * g[3:7] + 1.0) to a\n");
    const mpc_contrib_decl *d = mpc_circ_contrib(c, "g");
    ck_assert_uint_eq(d->n_terms, 3);
    ck_assert(d->terms[0].a == 0 && d->terms[0].b == 0 && d->terms[0].n == 1000 && d->terms[0].each == 1);
    ck_assert(d->terms[1].a == 0 && d->terms[1].b == 0 && d->terms[1].n == 1000 && d->terms[1].each == 0);
    ck_assert(d->terms[2].a == 0 && d->terms[2].b == 500 && d->terms[2].n == 500 && d->terms[2].each == 1);
    ck_assert_uint_eq(d->n_derived, 1000 + 1 + 500);
    ck_assert_uint_eq(c->inputs[0].len, 1000 + 1501 + 1);
    /* the dot's bound, 1000·2^32 per contribution, sets it */
    ck_assert_uint_eq(d->max_count, (uint32_t)((MPC_F61_HALF - 1) / (UINT64_C(1000) << 32)));
    mpc_circ_destroy(&c);
    /* a run of an element-wise product already summed is read from its entries */
    c = s_compile("party a, b\ninput g: int[6] from contributors in -9..9\noutput s = sum(g * g), "
                  "t = sum(g[2:4] * g[2:4]), u = sum(g[0:3] * g[3:6]), v = sum(g[1:3] * g[4:6]) to a\n");
    d = mpc_circ_contrib(c, "g");
    ck_assert_uint_eq(d->n_terms, 2);
    ck_assert_uint_eq(d->n_derived, 9);
    char path[] = "/tmp/check_contrib_runs_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("1, 2, 3, 4, 5, 6\n-1, 0, 2, -3, 9, 1\n", f);
    fclose(f);
    uint64_t in[6 + 9 + 1];
    char err[256];
    ck_assert_msg(mpc_contrib_load(d, 16, path, in, NULL, err, sizeof err) == 0, "%s", err);
    unlink(path);
    const uint64_t *ins[1] = {in};
    mpc_eval_result res;
    ck_assert_int_eq(mpc_eval(c, ins, &res, err, sizeof err), 0);
    static const int64_t ws[6] = {2, 4, 13, 25, 106, 37}, wt[2] = {13, 25}, wu[3] = {4 + 3, 10 + 0, 18 + 2}, wv[2] = {10, 18 + 2};
    for (int e = 0; e < 6; e++) ck_assert_int_eq((int64_t)res.outputs[0][e], ws[e]);
    for (int e = 0; e < 2; e++) ck_assert_int_eq((int64_t)res.outputs[1][e], wt[e]);
    for (int e = 0; e < 3; e++) ck_assert_int_eq((int64_t)res.outputs[2][e], wu[e]);
    for (int e = 0; e < 2; e++) ck_assert_int_eq((int64_t)res.outputs[3][e], wv[e]);
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
    /* constants of E take its type: g - 1 is g - 1.0 per contribution, k - 1 an int */
    c = s_compile("party a, b\ninput g: fix[2] from contributors in -1..1\ninput k: int from contributors in 0..5\n"
                  "output x = sum(g - 1), y = mean(k * k - 1) to a\n");
    uint64_t gin[3] = {(UINT64_C(1) << 15), MPC_F61_P - (UINT64_C(1) << 16), 2}, kin[3] = {7, 9 + 16, 2};
    /* g: (0.5, -1) and (0, 0); k: 3 and 4 */
    const uint64_t *ins2[2] = {gin, kin};
    ck_assert_int_eq(mpc_eval(c, ins2, &res, err, sizeof err), 0);
    ck_assert_int_eq((int64_t)res.outputs[0][0], -(INT64_C(3) << 15));   /* 0.5 - 2 */
    ck_assert_int_eq((int64_t)res.outputs[0][1], -(INT64_C(3) << 16));   /* -1 - 2 */
    ck_assert_int_eq((int64_t)res.outputs[1][0], INT64_C(23) << 15);     /* (8 + 15) / 2 = 11.5 */
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
    c = s_compile("party a, b\ninput g: fix[4] from contributors in -1..1\noutput w = sum(2.0 * g + 1.0), "
                  "m = mean(g[1:3]) to a\n");
    d = mpc_circ_contrib(c, "g");
    ck_assert_uint_eq(d->n_terms, 0);   /* linear: no derived entry */
    ck_assert_uint_eq(c->inputs[0].len, 5);
    ck_assert_uint_eq(d->max_count, MPC_CONTRIB_MAX_COUNT);
    mpc_circ_destroy(&c);
}
END_TEST

#define OD 6
#define ON 30

static const char s_ops_prog[] =
    "party a, b, c\ninput g: fix[6] from contributors in -2..2\n"
    "output n = count(g), v = mean(g * g) - mean(g) * mean(g), q = sum(dot(g, g)), xy = sum(g[0:3] * g[3:6]),\n"
    "    w = sum(2.0 * g + 1.0), s = sum(g[2:5]), m2 = sum(g * g), d = sum(dot(g[0:2], g[4:6]) - 0.5 * g[1]) to a\n";

/* The daemons' path in process: every contribution proved with its derived entries
 * (protocols/flp.h, terms from the declaration), prepped by the 3 parties and decided; the
 * accepted ones' output shares summed mod p per party; one contribution in 6 lies in a
 * derived entry and is rejected.  The circuit under MPC on those sums gives what mpcc --eval
 * gives from the accepted contributions' file (mpc_contrib_load): int and sums exactly, means
 * within 2^-12. */
START_TEST(test_ops_mpc)
{
    mpc_circuit *c = s_compile(s_ops_prog);
    const mpc_contrib_decl *d = mpc_circ_contrib(c, "g");
    ck_assert_uint_eq(d->n_terms, 4);
    mpc_flp_term t[MPC_CONTRIB_MAX_TERMS];
    for (uint32_t i = 0; i < d->n_terms; i++)
        t[i] = (mpc_flp_term){d->terms[i].a, d->terms[i].b, d->terms[i].n, d->terms[i].each};
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init_derived(&f, OD, d->lo, d->hi, d->l2_bound, t, d->n_terms, 2), 0);
    ck_assert_uint_eq(f.out_len, OD + d->n_derived);
    uint64_t len = c->inputs[0].len;
    ck_assert_uint_eq(len, f.out_len + 1);
    uint64_t *acc[3];
    for (int p = 0; p < 3; p++) acc[p] = calloc(len, 8);
    uint64_t *out = calloc(f.out_len, 8), *meas = calloc(f.meas_len, 8);
    uint8_t key[MPC_FLP_KEYBYTES];
    randombytes_buf(key, sizeof key);
    char path[] = "/tmp/check_contrib_ops_XXXXXX";
    int fd = mkstemp(path);
    FILE *file = fdopen(fd, "w");
    uint64_t accepted = 0;
    for (int i = 0; i < ON; i++) {
        int64_t x[OD];
        char line[256];
        size_t u = 0;
        for (int e = 0; e < OD; e++) {
            x[e] = (int64_t)(et_rand64() % (2 * 131072 + 1)) - 131072;   /* -2..2 at 16 bits */
            u += (size_t)snprintf(line + u, sizeof line - u, "%s%.6f", e ? ", " : "", (double)x[e] / 65536.0);
        }
        /* what the file says is what was proved: parse it back */
        uint64_t xe[OD];
        char err[256];
        ck_assert_msg(mpc_contrib_parse(d, 16, line, u, xe, err, sizeof err) == 0, "%s", err);
        for (int e = 0; e < OD; e++) x[e] = mpc_f61_to_signed(xe[e]);
        ck_assert_int_eq(mpc_flp_encode(&f, x, meas), 0);
        int lie = i % 6 == 5;
        if (lie) meas[f.bit_len + (uint64_t)i % f.n_derived] = mpc_f61_add(meas[f.bit_len + (uint64_t)i % f.n_derived], 65536);
        uint8_t nonce[MPC_FLP_NONCEBYTES], *sh[3], *msgs[3], pub[96];
        randombytes_buf(nonce, sizeof nonce);
        size_t sl[3];
        for (int p = 0; p < 3; p++) {
            sl[p] = mpc_flp_input_share_size(&f, p > 0);
            sh[p] = malloc(sl[p]);
            msgs[p] = malloc(mpc_flp_prep_size(&f));
        }
        ck_assert_int_eq(mpc_flp_shard(&f, 3, 1, meas, nonce, sh, pub), 0);
        uint64_t *outs[3];
        for (int p = 0; p < 3; p++) {
            outs[p] = calloc(f.out_len, 8);
            ck_assert_int_eq(mpc_flp_prep(&f, 3, (unsigned)p, key, nonce, pub, 96, sh[p], sl[p], outs[p], msgs[p]), 0);
        }
        int rc = mpc_flp_prep_decide(&f, 3, nonce, (const uint8_t *const *)msgs);
        ck_assert_int_eq(rc, lie ? MPC_ERR_INPUT : 0);
        if (!lie) {
            accepted++;
            fprintf(file, "%s\n", line);
            for (int p = 0; p < 3; p++)
                for (uint64_t e = 0; e < f.out_len; e++) acc[p][e] = mpc_f61_add(acc[p][e], outs[p][e]);
        }
        for (int p = 0; p < 3; p++) free(sh[p]), free(msgs[p]), free(outs[p]);
    }
    fclose(file);
    acc[0][len - 1] = accepted;
    /* mpcc --eval's reference */
    uint64_t *ref = calloc(len, 8), dropped = 0;
    char err[256];
    ck_assert_msg(mpc_contrib_load(d, 16, path, ref, &dropped, err, sizeof err) == 0, "%s", err);
    unlink(path);
    ck_assert_uint_eq(ref[len - 1], accepted);
    for (uint64_t e = 0; e + 1 < len; e++)   /* the same sums, in the clear */
        ck_assert_uint_eq(ref[e], mpc_f61_add(mpc_f61_add(acc[0][e], acc[1][e]), acc[2][e]));
    const uint64_t *in[1] = {ref};
    mpc_eval_result res;
    ck_assert_int_eq(mpc_eval(c, in, &res, err, sizeof err), 0);
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 78;
    randombytes_buf(j.master, 32);
    for (uint32_t p = 0; p < 3; p++) {
        j.in[p] = calloc(1, sizeof *j.in[p]);
        j.in[p][0] = (mpc_engine_input){.mode = MPC_IN_STORED, .values = acc[p], .len = len};
    }
    ck_assert_int_eq(et_run(&j), 0);
    ck_assert_msg(j.rc[0] == 0 && j.open_rc[0] == 0, "%s", j.err[0]);
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        int approx = strcmp(c->outputs[o].name, "v") == 0;   /* means: a secret division */
        for (uint64_t e = 0; e < c->outputs[o].len; e++) {
            int64_t got = (int64_t)j.value[0][o][e], want = (int64_t)res.outputs[o][e];
            if (approx) ck_assert_msg(llabs(got - want) <= 16, "%s[%llu]: %lld, want %lld", c->outputs[o].name,
                                      (unsigned long long)e, (long long)got, (long long)want);
            else ck_assert_msg(got == want, "%s[%llu]: %lld, want %lld", c->outputs[o].name, (unsigned long long)e,
                               (long long)got, (long long)want);
        }
    }
    /* and the reference is the plaintext: q = Σ dot(g, g) over the file, recomputed in doubles */
    mpc_eval_result_free(&res);
    et_clear(&j);
    for (int p = 0; p < 3; p++) free(acc[p]);
    free(ref), free(out), free(meas);
    mpc_circ_destroy(&c);
}
END_TEST

/* `from contributors unchecked`: no range (any signed value of the field taken), the count
 * limit 2^24, the range refused beside it; the plaintext reference sums mod p (a sum past
 * (p-1)/2 wraps, as the daemons' sums do), under MPC too. */
START_TEST(test_unchecked)
{
    s_compile_fails("party a, b\ninput g: int[3] from contributors unchecked in 0..1\noutput n = count(g) to a\n",
                    "no validity range");
    s_compile_fails("party a, b\ninput g: int[3] from contributors\noutput n = count(g) to a\n",
                    "from contributors unchecked");
    mpc_circuit *c = s_compile("party a, b\ninput g: int[2] from contributors unchecked\n"
                               "output n = count(g), s = sum(g) to a\n");
    const mpc_contrib_decl *d = mpc_circ_contrib(c, "g");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->unchecked, 1);
    ck_assert_int_eq(d->lo, -(int64_t)MPC_F61_HALF);
    ck_assert_int_eq(d->hi, (int64_t)MPC_F61_HALF);
    ck_assert_uint_eq(d->max_count, MPC_CONTRIB_MAX_COUNT);
    ck_assert_uint_eq(d->l2_bound, 0);
    char txt[128], err[256];
    uint64_t e[2];
    snprintf(txt, sizeof txt, "%llu, -%llu", (unsigned long long)MPC_F61_HALF, (unsigned long long)MPC_F61_HALF);
    ck_assert_msg(mpc_contrib_parse(d, 16, txt, strlen(txt), e, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(e[0], MPC_F61_HALF);
    ck_assert_uint_eq(e[1], MPC_F61_P - MPC_F61_HALF);
    snprintf(txt, sizeof txt, "%llu, 0", (unsigned long long)MPC_F61_HALF + 1);
    ck_assert_int_eq(mpc_contrib_parse(d, 16, txt, strlen(txt), e, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "signed values"));
    /* a checked declaration is not unchecked */
    mpc_circuit *c2 = s_compile("party a, b\ninput g: int[2] from contributors in 0..1\noutput n = count(g) to a\n");
    ck_assert_int_eq(mpc_circ_contrib(c2, "g")->unchecked, 0);
    mpc_circ_destroy(&c2);
    /* mpcc --eval's reference: (p-1)/2 + (p-1)/2 + 1 = p wraps to 0; 5 + (-7) = -2 */
    char path[] = "/tmp/check_contrib_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%llu, 5\n%llu, -7\n1, 0\n", (unsigned long long)MPC_F61_HALF, (unsigned long long)MPC_F61_HALF);
    fclose(f);
    uint64_t out[3];
    ck_assert_msg(mpc_contrib_load(d, 16, path, out, NULL, err, sizeof err) == 0, "%s", err);
    unlink(path);
    ck_assert_uint_eq(out[0], 0);
    ck_assert_uint_eq(out[1], MPC_F61_P - 2);
    ck_assert_uint_eq(out[2], 3);
    const uint64_t *in[1] = {out};
    mpc_eval_result res;
    ck_assert_int_eq(mpc_eval(c, in, &res, err, sizeof err), 0);
    ck_assert_uint_eq(res.outputs[0][0], 3);
    ck_assert_int_eq((int64_t)res.outputs[1][0], 0);
    ck_assert_int_eq((int64_t)res.outputs[1][1], -2);
    mpc_eval_result_free(&res);
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("contrib");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_compile_errors);
    tcase_add_test(tc, test_decl_and_parse);
    tcase_add_test(tc, test_norm_bound);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_reduction_eval);
    tcase_add_test(tc, test_reduction_mpc);
    tcase_add_test(tc, test_field_constant_agrees);
    tcase_add_test(tc, test_unchecked);
    tcase_add_test(tc, test_ops_errors);
    tcase_add_test(tc, test_ops_decl);
    tcase_add_test(tc, test_ops_mpc);
    suite_add_tcase(s, tc);
    return s;
}
