/* check_engine_prefetch.c — mpc_engine_opts.prefetch_words: the material of several layers in
 * one preprocessing request.  Runs the same programs (multiplications, truncations, LTZ and
 * EQZ batches in flight together, daBits at unaligned offsets) with the dealer over the
 * in-memory transport, per layer and with several window sizes, and checks the opened
 * outputs against the plaintext evaluator and the number of dealer batches. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "parties.h"
#include "compile.h"
#include "engine.h"
#include "enginetest.h"
#include "eval.h"
#include "mpc_err.h"
#include "prep_dealer.h"
#include "transport_mem.h"

#define NP_MAX 3

typedef struct {
    const mpc_circuit *c;
    mpc_transport     *t;
    uint32_t           self;
    uint64_t           prefetch;
    mpc_engine_input   in[8];         /* this party's shares of the inputs, as from a client */
    int                rc;
    char               err[256];
    uint64_t          *out[4];        /* opened outputs */
    mpc_engine_stats   st;
    uint64_t           dealer_batches;
    mpc_dealer_stats   dst;
} s_node;

static void *s_party(void *arg)
{
    s_node *p = arg;
    const mpc_circuit *c = p->c;
    mpc_prep *prep = mpc_prep_dealer_new(p->t, p->self, c->n_parties, c->n_parties, 77 | MPC_STREAM_PREP_BIT, 10000);
    mpc_engine_opts o = {.stream = 77, .timeout_ms = 10000, .prefetch_words = p->prefetch};
    mpc_engine *e = prep ? mpc_engine_new(c, p->self, p->t, prep, &o) : NULL;
    p->rc = e ? mpc_engine_run(e, p->in, p->err, sizeof p->err) : MPC_ERR_NOMEM;
    if (p->rc == 0) p->rc = et_open(e, c, p->t, p->self, 77, 10000, p->out, 4, p->err, sizeof p->err);
    for (uint32_t q = 0; p->rc == 0 && q < c->n_outputs && q < 4; q++) ck_assert_ptr_nonnull(p->out[q]);
    if (e) mpc_engine_stats_get(e, &p->st);
    mpc_engine_destroy(&e);
    mpc_prep_destroy(&prep);
    return NULL;
}

static void *s_dealer(void *arg)
{
    s_node *p = arg;
    p->rc = mpc_dealer_serve(p->t, p->c->n_parties, 77 | MPC_STREAM_PREP_BIT, 10000, &p->dst, p->err, sizeof p->err);
    return NULL;
}

static mpc_circuit *s_compile(const char *src)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    int r = mpc_compile(src, strlen(src), "prefetch.mpc", NULL, 0, &c, &d);
    mpc_diag_free(&d);
    ck_assert_int_eq(r, 0);
    return c;
}

/* Runs c on every party with the given window; checks outputs against mpc_eval (TRUNC'ed
 * outputs may be one unit above the floor) and returns the dealer's batch count. */
static uint64_t s_run(const mpc_circuit *c, const uint64_t *const *vals, uint64_t prefetch,
                      const int *approx)
{
    uint32_t n = c->n_parties;
    s_node nodes[NP_MAX + 1];
    th_node th[NP_MAX + 1];
    memset(nodes, 0, sizeof nodes);
    /* the inputs as a client shares them: seeds for parties 0..n-2, a share for party n-1 */
    ck_assert_uint_le(c->n_inputs, 8);
    uint8_t seeds[8][NP_MAX * 32];
    uint64_t *shares[8] = {0};
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        shares[k] = malloc(c->inputs[k].len * 8);
        et_client_share(vals[k], c->inputs[k].len, n, k, NULL, seeds[k], shares[k]);
        for (uint32_t i = 0; i + 1 < n; i++)
            nodes[i].in[k] = (mpc_engine_input){.mode = MPC_IN_SEED, .seed = seeds[k] + 32 * i};
        nodes[n - 1].in[k] = (mpc_engine_input){.mode = MPC_IN_SHARE, .values = shares[k],
                                                .len = c->inputs[k].len};
    }
    for (uint32_t i = 0; i <= n; i++) {
        nodes[i].c = c;
        nodes[i].self = i;
        nodes[i].prefetch = prefetch;
        th[i] = (th_node){i < n ? s_party : s_dealer, &nodes[i], &nodes[i].t, NULL};
    }
    th_run_mem(n + 1, 10000, th);
    for (uint32_t k = 0; k < c->n_inputs; k++) free(shares[k]);
    mpc_eval_result ref;
    memset(&ref, 0, sizeof ref);
    char err[256];
    ck_assert_int_eq(mpc_eval(c, vals, &ref, err, sizeof err), 0);
    for (uint32_t i = 0; i <= n; i++) ck_assert_msg(nodes[i].rc == 0, "node %u: %s", i, nodes[i].err);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq(nodes[i].st.rounds, c->rounds);
        for (uint32_t q = 0; q < c->n_outputs && q < 4; q++) {
            for (uint64_t k = 0; k < c->outputs[q].len; k++) {
                uint64_t got = nodes[i].out[q][k], want = ref.outputs[q][k];
                if (approx[q]) ck_assert_msg(got == want || got == want + 1, "output %u[%llu]", q, (unsigned long long)k);
                else ck_assert_msg(got == want, "output %u[%llu]: %llu != %llu", q, (unsigned long long)k,
                                   (unsigned long long)got, (unsigned long long)want);
            }
            free(nodes[i].out[q]);
        }
    }
    mpc_eval_result_free(&ref);
    return nodes[n].dst.batches;
}

/* Layers: a multiplication chain, a fix product (TRUNC), LTZ and EQZ batches started in
 * different layers (so they are in flight together), a select on a comparison. */
static const char *s_prog =
    "party a, b, c\n"
    "input x: int[37] from a\n"
    "input y: int[37] from b\n"
    "input f: fix[5] from c\n"
    "let p = x * y\n"
    "let q = p * y\n"
    "let lt = x < y\n"
    "let eq = q == p\n"
    "let lt2 = q < x\n"
    "let s = lt ? x : q\n"
    "let g = f * f\n"
    "output s, eq, lt2, g to a, b, c\n";

START_TEST(test_prefetch_windows_match_per_layer)
{
    mpc_circuit *c = s_compile(s_prog);
    uint64_t x[37], y[37], f[5];
    for (int i = 0; i < 37; i++) {
        x[i] = (uint64_t)(int64_t)(i * 7 - 100);
        y[i] = i % 3 ? (uint64_t)(int64_t)(50 - i * 3) : 1;   /* y = 1: q == p */
    }
    for (int i = 0; i < 5; i++) f[i] = (uint64_t)(int64_t)((i - 2) * 98304);   /* (i-2) * 1.5 */
    const uint64_t *vals[3] = {x, y, f};
    const int approx[4] = {0, 0, 0, 1};
    /* per layer: one dealer batch per layer with fresh interactive gates */
    uint64_t per_layer = s_run(c, vals, 0, approx);
    ck_assert_uint_gt(per_layer, 2);
    /* one word: a window never grows past its first layer, same batches */
    ck_assert_uint_eq(s_run(c, vals, 1, approx), per_layer);
    /* everything in one request */
    ck_assert_uint_eq(s_run(c, vals, 1u << 24, approx), 1);
    /* windows in between: fewer batches, same results */
    uint64_t mid = s_run(c, vals, 600, approx);
    ck_assert_uint_ge(mid, 1);
    ck_assert_uint_le(mid, per_layer);
    mpc_circ_destroy(&c);
}
END_TEST

START_TEST(test_prefetch_deep_chain)
{
    /* 200 dependent multiplications: 200 dealer round trips per layer, 1 with a window */
    mpc_circuit *c = s_compile("party a, b\ninput x: int from a\ninput y: int from b\n"
                               "var z = x\nfor i in 0..200 { z = z * y }\noutput z to a, b\n");
    uint64_t x = 3, y = 5;
    const uint64_t *vals[2] = {&x, &y};
    const int approx[4] = {0};
    ck_assert_uint_eq(s_run(c, vals, 0, approx), 200);
    ck_assert_uint_eq(s_run(c, vals, 4096, approx), 1);
    ck_assert_uint_eq(s_run(c, vals, 30, approx), 20);   /* 3 words per triple: 10 layers */
    mpc_circ_destroy(&c);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("engine_prefetch");
    TCase *tc = tcase_create("prefetch");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_prefetch_windows_match_per_layer);
    tcase_add_test(tc, test_prefetch_deep_chain);
    suite_add_tcase(s, tc);
    return s;
}

