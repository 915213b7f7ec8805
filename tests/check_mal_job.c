/* check_mal_job.c — the daemon's malicious path without daemons (mpcd/mal_job.h): what the
 * admission refuses and how, and the circuit rewrite that makes client inputs and outputs
 * parties' own (evaluated in plaintext: the shares of every input and the masks of every
 * output give the original outputs exactly).  The run itself is tested end to end by
 * tests/daemon_malicious.test.sh. */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "circuit.h"
#include "compile.h"
#include "engine.h"
#include "eval.h"
#include "format.h"
#include "jobs.h"
#include "mal_job.h"
#include "mpc_err.h"
#include "runner.h"
#include "transport_mem.h"
#include "worker.h"

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
    /* fixed point (TRUNC), comparisons (EQZ, LTZ) and SELECT run under MACs now (engine_mal.h) */
    const char *ok[3] = {
        "party a, b\ninput x: fix from a in 0..9\ninput y: fix from b in 0..9\noutput p = x * y to a\n",
        "party a, b\ninput x: int from a\ninput y: int from b\noutput p = x == y to a\n",
        "party a, b\ninput x: int from a\ninput y: int from b\n\noutput p = x < y ? x : y to a\n",
    };
    for (int i = 0; i < 3; i++) {
        c = s_compile(ok[i]);
        ck_assert_msg(mpcd_mal_admit(c, err, sizeof err) == 0, "%s", err);
        mpc_circ_destroy(&c);
    }
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
 * summed; outputs are unchanged (the engine checks them for the clients).  Evaluating the
 * rewritten circuit on random shares gives the original outputs. */
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
        ck_assert_uint_eq(m->n_inputs, c->n_inputs * n);
        ck_assert_uint_eq(m->n_outputs, c->n_outputs);
        ck_assert_uint_eq(m->rounds, c->rounds);
        uint64_t *vals[16], *mv[64];
        for (uint32_t k = 0; k < c->n_inputs; k++) {
            vals[k] = calloc(c->inputs[k].len, 8);
            randombytes_buf(vals[k], c->inputs[k].len * 8);
        }
        /* each input's shares sum to its value */
        for (uint32_t i = 0; i < m->n_inputs; i++) {
            uint64_t L = m->inputs[i].len;
            ck_assert_uint_eq(m->inputs[i].party, map[i].party);
            mv[i] = calloc(L, 8);
            randombytes_buf(mv[i], L * 8);
            ck_assert_uint_eq(L, c->inputs[map[i].index].len);
            if (map[i].party == n - 1) {
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
            ck_assert_uint_eq(m->outputs[o].recipients, c->outputs[o].recipients);
            for (uint64_t e = 0; e < c->outputs[o].len; e++)
                ck_assert_msg(got.outputs[o][e] == want.outputs[o][e], "program %d output %u", si,
                              (unsigned)o);
        }
        mpc_eval_result_free(&want);
        mpc_eval_result_free(&got);
        for (uint32_t i = 0; i < m->n_inputs; i++) free(mv[i]);
        for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
        free(map);
        mpc_circ_destroy(&m);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* ---- the job path in process: parties as threads over the in-memory transport ---- */

/* A cheating party's transport: adds 1 to word 0 of its first OPEN message to party 0. */
typedef struct {
    mpc_transport *inner;
    int            done;
} s_cheat;

static int s_ch_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq, const uint64_t *data,
                     uint64_t count)
{
    s_cheat *c = t->impl;
    if (type == MPC_MSG_OPEN && to == 0 && !c->done && count > 0) {
        c->done = 1;
        uint64_t *copy = malloc((size_t)count * 8);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, data, (size_t)count * 8);
        copy[0] += 1;
        int r = mpc_send(c->inner, to, type, stream, seq, copy, count);
        free(copy);
        return r;
    }
    return mpc_send(c->inner, to, type, stream, seq, data, count);
}

static int s_ch_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq, uint64_t *out,
                     uint64_t count, int timeout_ms)
{
    s_cheat *c = t->impl;
    return mpc_recv(c->inner, from, type, stream, seq, out, count, timeout_ms);
}

static void s_ch_forget(mpc_transport *t, uint64_t stream)
{
    s_cheat *c = t->impl;
    mpc_transport_forget(c->inner, stream);
}

static void s_ch_destroy(mpc_transport **tp)
{
    s_cheat *c = (*tp)->impl;
    mpc_transport_destroy(&c->inner);
    free(c);
    free(*tp);
    *tp = NULL;
}

static const struct mpc_transport_ops s_ch_ops = {
    .send = s_ch_send, .recv = s_ch_recv, .forget = s_ch_forget, .destroy = s_ch_destroy,
};

static mpc_transport *s_cheat_new(mpc_transport *inner)
{
    mpc_transport *t = calloc(1, sizeof *t);
    s_cheat *c = calloc(1, sizeof *c);
    ck_assert(t && c);
    c->inner = inner;
    t->ops = &s_ch_ops;
    t->impl = c;
    t->self = inner->self;
    t->n = inner->n;
    return t;
}

#define NP 3
typedef struct {
    mpcd_worker    w;
    mpcd_jobs     *jobs;
    mpcd_job      *job;
    mpc_transport *t;
    uint32_t       me, n;
    int            rc;
    char           reason[512];
} s_party;

static void *s_party_run(void *arg)
{
    s_party *p = arg;
    p->rc = mpcd_mal_execute(&p->w, p->job, p->t, 99, p->me, p->n, "test", p->reason, sizeof p->reason);
    return NULL;
}

/* Runs src on n in-process parties, client inputs vals[k] shared at random among them (seeds
 * for parties 0..n−2 like the SDK would be equivalent; explicit shares here), party `cheater`
 * (n: none) cheating.  Checks every party's rc against want_rc; on success, that the stored
 * output shares are checked ones (x', r, y, 128 bits each) whose sums give mpc_eval's outputs
 * (x' mod 2^64) with y = r·x' mod 2^128, and on failure that no party stored any. */
static void s_job_run(const char *src, uint32_t n, const uint64_t *const *vals, uint32_t cheater, int want_rc,
                      const char *want_reason)
{
    s_party P[NP];
    memset(P, 0, sizeof P);
    mpc_mem_hub *hub = mpc_mem_hub_new(n, 10000);
    ck_assert_ptr_nonnull(hub);
    uint8_t id[MPCD_JOB_ID_BYTES];
    randombytes_buf(id, sizeof id);
    mpc_circuit *ref = s_compile(src);
    uint64_t **shares[NP];
    for (uint32_t q = 0; q < n; q++) shares[q] = calloc(ref->n_inputs, sizeof *shares[q]);
    for (uint32_t k = 0; k < ref->n_inputs; k++) {
        uint64_t L = ref->inputs[k].len;
        for (uint32_t q = 0; q < n; q++) shares[q][k] = calloc(L, 8);
        for (uint64_t e = 0; e < L; e++) {
            uint64_t s = 0;
            for (uint32_t q = 0; q + 1 < n; q++) {
                randombytes_buf(&shares[q][k][e], 8);
                s += shares[q][k][e];
            }
            shares[n - 1][k][e] = vals[k][e] - s;
        }
    }
    for (uint32_t q = 0; q < n; q++) {
        s_party *p = &P[q];
        p->me = q;
        p->n = n;
        p->jobs = mpcd_jobs_new(4);
        mpc_circuit *c = s_compile(src);
        uint8_t hash[32];
        ck_assert_int_eq(mpc_circ_hash(c, hash), 0);
        uint32_t binding[MPC_MAX_PARTIES];
        for (uint32_t i = 0; i < n; i++) binding[i] = i;
        ck_assert_int_eq(mpcd_jobs_add(p->jobs, id, "tester", &c, hash, binding, q), 0);
        p->job = mpcd_jobs_find(p->jobs, id);
        ck_assert_ptr_nonnull(p->job);
        for (uint32_t k = 0; k < ref->n_inputs; k++) {
            p->job->inputs[k].present = 1;
            p->job->inputs[k].mode = MPC_IN_SHARE;
            p->job->inputs[k].share = shares[q][k];
            shares[q][k] = NULL;   /* the job owns it */
        }
        p->w.jobs = p->jobs;
        p->w.peer_timeout_ms = 10000;
        p->t = mpc_mem_transport_new(hub, q);
        if (q == cheater) p->t = s_cheat_new(p->t);
    }
    pthread_t th[NP];
    for (uint32_t q = 0; q < n; q++) ck_assert_int_eq(pthread_create(&th[q], NULL, s_party_run, &P[q]), 0);
    for (uint32_t q = 0; q < n; q++) pthread_join(th[q], NULL);
    mpc_eval_result want;
    char err[256];
    ck_assert_int_eq(mpc_eval(ref, vals, &want, err, sizeof err), 0);
    for (uint32_t q = 0; q < n; q++) {
        ck_assert_msg(P[q].rc == want_rc, "party %u: rc %d: %s", (unsigned)q, P[q].rc, P[q].reason);
        if (want_reason) ck_assert_msg(strstr(P[q].reason, want_reason), "party %u: %s", (unsigned)q, P[q].reason);
        if (want_rc) ck_assert_ptr_null(P[q].job->out_shares);   /* nothing to hand out */
        else ck_assert_ptr_nonnull(P[q].job->out_shares);
        if (!want_rc) ck_assert_int_eq(P[q].job->out_checked, 1);
    }
    for (uint32_t o = 0; !want_rc && o < ref->n_outputs; o++) {
        uint64_t L = ref->outputs[o].len;
        for (uint64_t e = 0; e < L; e++) {
            unsigned __int128 x = 0, r = 0, y = 0, v;
            for (uint32_t q = 0; q < n; q++) {
                const uint64_t *sh = P[q].job->out_shares[o];
                memcpy(&v, sh + 2 * e, 16);
                x += v;
                memcpy(&v, sh + 2 * (L + e), 16);
                r += v;
                memcpy(&v, sh + 2 * (2 * L + e), 16);
                y += v;
            }
            ck_assert_msg((uint64_t)x == want.outputs[o][e], "output %u element %llu", (unsigned)o, (unsigned long long)e);
            ck_assert_msg(y == r * x, "output %u element %llu: y != r·x'", (unsigned)o, (unsigned long long)e);
        }
    }
    mpc_eval_result_free(&want);
    for (uint32_t q = 0; q < n; q++) {
        mpc_transport_destroy(&P[q].t);
        mpcd_jobs_destroy(&P[q].jobs);
        free(shares[q]);
    }
    mpc_mem_hub_destroy(&hub);
    mpc_circ_destroy(&ref);
}

/* The daemon's job path (mal_job.c) on 2 and 3 parties: the output shares it stores sum to the
 * plaintext outputs; a party that adds 1 to one word of one opening makes every party fail
 * with "MAC check failed" and no party stores a share for the clients. */
START_TEST(test_job_path)
{
    const char *src2 = "party a, b\ninput x: int[6] from a\ninput y: int[6] from b\n"
                       "output p = x * y - x to a\noutput d = dot(x, y) + 9 to a, b\n";
    const char *src3 = "party a, b, c\ninput x: int[3] from a\ninput y: int[3] from b\ninput w: int[3] from c\n"
                       "output s = dot(x * y, w) to c\noutput t = y - w to a\n";
    uint64_t v[3][6];
    randombytes_buf(v, sizeof v);
    const uint64_t *vals[3] = {v[0], v[1], v[2]};
    s_job_run(src2, 2, vals, 2, 0, NULL);
    s_job_run(src3, 3, vals, 3, 0, NULL);
    s_job_run(src2, 2, vals, 1, MPC_ERR_CRYPTO, "MAC check failed");
    s_job_run(src3, 3, vals, 2, MPC_ERR_CRYPTO, "MAC check failed");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("mal_job");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_admission);
    tcase_add_test(tc, test_rewrite);
    tcase_add_test(tc, test_job_path);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
