/* check_mal_job.c — the daemon's malicious path without daemons (mpcd/mal_job.h): what the
 * admission refuses and how, and the circuit rewrite that makes client inputs and outputs
 * parties' own (evaluated in plaintext: the shares of every input and the masks of every
 * output give the original outputs exactly).  The run itself is tested end to end by
 * tests/daemon_malicious.test.sh. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "compile.h"
#include "eval.h"
#include "mal_job.h"
#include "mpc_err.h"
#include "runner.h"

static mpc_circuit *s_compile(const char *src)
{
    mpc_diag d;
    mpc_circuit *c = NULL;
    int rc = mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d);
    ck_assert_msg(rc == 0, "does not compile");
    mpc_diag_free(&d);
    return c;
}

static void s_refused(const char *src, const char *want)
{
    mpc_circuit *c = s_compile(src);
    char err[256] = "";
    ck_assert_int_eq(mpcd_mal_admit(c, err, sizeof err), MPC_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(err, want) != NULL, "said '%s', want '%s'", err, want);
    mpc_circ_destroy(&c);
}

START_TEST(test_admission)
{
    mpc_circuit *c = s_compile("party a, b\ninput x: int[3] from a\ninput y: int[3] from b\n"
                               "output p = x * y, d = dot(x, y), s = sum(x) - 2 * y to a\n");
    char err[256] = "";
    ck_assert_msg(mpcd_mal_admit(c, err, sizeof err) == 0, "%s", err);
    mpc_circ_destroy(&c);
    s_refused("party a, b\ninput x: fix from a in 0..9\ninput y: fix from b in 0..9\noutput p = x * y to a\n",
              "TRUNC is not supported with security = malicious yet (line 4)");
    s_refused("party a, b\ninput x: int from a\ninput y: int from b\noutput p = x == y to a\n",
              "EQZ is not supported with security = malicious yet (line 4)");
    s_refused("party a, b\ninput x: int from a\ninput y: int from b\n\noutput p = x < y ? x : y to a\n",
              "is not supported with security = malicious yet (line 5)");
    s_refused("party a, b\ninput v: int[2] from contributors in 0..10\noutput s = sum(v) to a\n",
              "contributor inputs (input v");
    s_refused("party a, b\ninput x: int[4] from a in 0..10\ninput y: int[4] from b in 0..10\n"
              "output s = dp_sum(x + y, 0, 20, 1.0) to a\n",
              "DP noise (dp_* outputs) is not supported with security = malicious yet");
    s_refused("party a, b\ninput l: table(id: key, v: int in 0..100)[4] from a\n"
              "input r: table(id: key, w: int in 0..100)[4] from b\nlet j = join(l, r, on id)\n"
              "output s = sum(j.v) to a\n",
              "private joins are not supported with security = malicious yet");
}
END_TEST

/* The rewrite for n = 2 and 3: input k of party q becomes n inputs (one per party) that are
 * summed; output o is x − Σ_{p≥1} r_p to party 0 alone.  Evaluating the rewritten circuit on
 * random shares and masks and adding the masks back gives the original outputs. */
START_TEST(test_rewrite)
{
    const char *srcs[2] = {
        "party a, b\ninput x: int[3] from a\ninput y: int[3] from b\ninput k: int from b\n"
        "let z = x * y + k\noutput p = z to b\noutput d = dot(z, x) - 5 to a, b\n",
        "party a, b, c\ninput x: int[2] from a\ninput y: int[2] from b\ninput w: int[2] from c\n"
        "output s = sum(x * y * w) to c\noutput t = concat(x, w) to a\n",
    };
    for (int si = 0; si < 2; si++) {
        mpc_circuit *c = s_compile(srcs[si]);
        const uint32_t n = c->n_parties;
        mpcd_mal_input *map = NULL;
        char err[256];
        mpc_circuit *m = mpcd_mal_circuit(c, &map, err, sizeof err);
        ck_assert_msg(m != NULL, "%s", err);
        ck_assert_uint_eq(m->n_inputs, c->n_inputs * n + (n - 1) * c->n_outputs);
        ck_assert_uint_eq(m->n_outputs, c->n_outputs);
        ck_assert_uint_eq(m->rounds, c->rounds);
        uint64_t *vals[16], *mv[64];
        for (uint32_t k = 0; k < c->n_inputs; k++) {
            vals[k] = calloc(c->inputs[k].len, 8);
            randombytes_buf(vals[k], c->inputs[k].len * 8);
        }
        /* each input's shares sum to its value; each output mask is random */
        uint64_t *masksum[8];
        for (uint32_t o = 0; o < c->n_outputs; o++) masksum[o] = calloc(c->outputs[o].len, 8);
        for (uint32_t i = 0; i < m->n_inputs; i++) {
            uint64_t L = m->inputs[i].len;
            ck_assert_uint_eq(m->inputs[i].party, map[i].party);
            mv[i] = calloc(L, 8);
            randombytes_buf(mv[i], L * 8);
            if (map[i].output) {
                ck_assert_uint_ge(map[i].party, 1);
                ck_assert_uint_eq(L, c->outputs[map[i].index].len);
                for (uint64_t e = 0; e < L; e++) masksum[map[i].index][e] += mv[i][e];
            } else if (map[i].party == n - 1) {
                /* the last party's share completes the sum (shares come in party order) */
                for (uint64_t e = 0; e < L; e++) {
                    uint64_t s = 0;
                    for (uint32_t p = 1; p < n; p++) s += mv[i - p][e];
                    mv[i][e] = vals[map[i].index][e] - s;
                }
            }
        }
        mpc_eval_result want, got;
        ck_assert_int_eq(mpc_eval(c, (const uint64_t *const *)vals, &want, err, sizeof err), 0);
        ck_assert_int_eq(mpc_eval(m, (const uint64_t *const *)mv, &got, err, sizeof err), 0);
        for (uint32_t o = 0; o < c->n_outputs; o++) {
            ck_assert_str_eq(m->outputs[o].name, c->outputs[o].name);
            ck_assert_uint_eq(m->outputs[o].recipients, 1u);   /* party 0 alone */
            for (uint64_t e = 0; e < c->outputs[o].len; e++)
                ck_assert_msg(got.outputs[o][e] + masksum[o][e] == want.outputs[o][e], "program %d output %u", si,
                              (unsigned)o);
        }
        mpc_eval_result_free(&want);
        mpc_eval_result_free(&got);
        for (uint32_t i = 0; i < m->n_inputs; i++) free(mv[i]);
        for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
        for (uint32_t o = 0; o < c->n_outputs; o++) free(masksum[o]);
        free(map);
        mpc_circ_destroy(&m);
        mpc_circ_destroy(&c);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("mal_job");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_admission);
    tcase_add_test(tc, test_rewrite);
    suite_add_tcase(s, tc);
    return s;
}
