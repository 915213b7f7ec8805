/* check_mal_job.c — the daemon's malicious path without daemons (mpcd/mal_job.h): what the
 * admission refuses and how, and the job path in process (parties as threads over the
 * in-memory transport, a thread as the client of the authenticated inputs: it reads every
 * party's record of the input's masks from the jobs, verifies them as the SDK does
 * (mpc_vcheck_verify) and hands each party its masked vector).  Through real daemons: tests/daemon_malicious*.test.sh. */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "circuit.h"
#include "compile.h"
#include "cwire.h"
#include "engine.h"
#include "eval.h"
#include "format.h"
#include "jobs.h"
#include "mal_job.h"
#include "mpc_err.h"
#include "runner.h"
#include "transport_mem.h"
#include "vcheck.h"
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
    c = s_compile("party a, b\ninput x: int[4] from a in 0..10\ninput y: int[4] from b in 0..10\n"
                  "output s = dp_sum(x + y, 0, 20, 1.0) to a\n");   /* DP noise runs (engine_mal.c s_noise) */
    ck_assert_msg(mpcd_mal_admit(c, err, sizeof err) == 0, "%s", err);
    mpc_circ_destroy(&c);
    s_refused("party a, b\ninput l: table(id: key, v: int in 0..100)[4] from a\n"
              "input r: table(id: key, w: int in 0..100)[4] from b\nlet j = join(l, r, on id)\n"
              "output s = sum(j.v) to a\n",
              "private joins are not supported with security = malicious yet");
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

/* What the client thread does (the SDK's part, client-sdk/client_in.c). */
enum {
    C_HONEST,     /* verifies the records, the same x − r to every party */
    C_SPLIT,      /* x − r to party 0, x − r + 1 to the others: a client (or path) that differs */
    C_BADSHARE,   /* party 1's share of element 0 changed in its record on its way (a cheating
                   * daemon): the check refuses (its report does not open its commitment), the
                   * client cancels the job as `mpc run` does */
    C_BADPAD,     /* party 1's pad share changed and its commitment made again in every record
                   * (a daemon that committed to a wrong report): refused by the sums */
    C_ABSENT,     /* never sends its masked input */
};

typedef struct {
    s_party        *P;
    uint32_t        n;
    const mpc_circuit *c;
    const uint64_t *const *vals;
    int             mode;
    int             refused;   /* the client check said no */
} s_client;

/* Waits until every party posted its record of input k's masks (bounded), copies them. */
static int s_client_fetch(s_client *cl, uint32_t k, uint8_t **rec)
{
    size_t bytes = mpc_vcheck_record_bytes(cl->c->inputs[k].len, cl->n);
    for (int tries = 0; tries < 20000; tries++) {
        uint32_t have = 0;
        for (uint32_t q = 0; q < cl->n; q++) {
            mpcd_jobs_lock(cl->P[q].jobs);
            mpcd_job_input *in = &cl->P[q].job->inputs[k];
            if (in->mask && !rec[q]) {
                ck_assert_uint_eq(mpcd_job_mask_bytes(cl->P[q].job, k), bytes);
                rec[q] = malloc(bytes);
                ck_assert_ptr_nonnull(rec[q]);
                memcpy(rec[q], in->mask, bytes);
            }
            int failed = mpcd_job_finished(cl->P[q].job) || cl->P[q].job->state == MPCD_JOB_FAILED;
            mpcd_jobs_unlock(cl->P[q].jobs);
            if (failed) return -1;
            have += rec[q] != NULL;
        }
        if (have == cl->n) return 0;
        usleep(1000);
    }
    return -1;
}

static void *s_client_run(void *arg)
{
    s_client *cl = arg;
    for (uint32_t k = 0; k < cl->c->n_inputs; k++) {
        uint64_t L = cl->c->inputs[k].len, *delta = calloc(L, 8), *rv = calloc(L, 8);
        uint8_t *rec[NP] = {0};
        ck_assert_ptr_nonnull(delta);
        ck_assert_ptr_nonnull(rv);
        int r = s_client_fetch(cl, k, rec), why = 0;
        uint32_t who;
        if (r == 0 && cl->mode == C_BADSHARE) rec[1][0] ^= 1;   /* after its commitment: why 2 */
        if (r == 0 && cl->mode == C_BADPAD) {   /* a pad share, committed again: why 3 */
            rec[1][mpc_vcheck_off_pad(L) + 8] ^= 1;
            uint8_t com[32];
            mpc_vcheck_commit(com, 1, L, rec[1] + mpc_vcheck_off_nonce(L), rec[1]);
            for (uint32_t q = 0; q < cl->n; q++) memcpy(rec[q] + mpc_vcheck_off_com(L) + 32, com, 32);
        }
        if (r == 0) r = mpc_vcheck_verify((const uint8_t *const *)rec, cl->n, L, rv, &why, &who);
        if (r == MPC_ERR_CRYPTO) {
            cl->refused = 1;
            ck_assert_int_eq(why, cl->mode == C_BADSHARE ? 2 : 3);
        }
        for (uint64_t l = 0; r == 0 && l < L; l++) delta[l] = cl->vals[k][l] - rv[l];
        for (uint32_t q = 0; q < cl->n && r == 0 && cl->mode != C_ABSENT; q++) {
            mpcd_jobs_lock(cl->P[q].jobs);
            mpcd_job_input *in = &cl->P[q].job->inputs[k];
            in->share = malloc((size_t)L * 8);
            ck_assert_ptr_nonnull(in->share);
            memcpy(in->share, delta, (size_t)L * 8);
            if (cl->mode == C_SPLIT && q > 0) in->share[0] += 1;
            in->masked = 1;
            mpcd_job_wipe_mask(cl->P[q].job, k);
            mpcd_jobs_notify(cl->P[q].jobs);
            mpcd_jobs_unlock(cl->P[q].jobs);
        }
        for (uint32_t q = 0; q < cl->n; q++) free(rec[q]);
        free(delta);
        free(rv);
        if (r == MPC_ERR_CRYPTO)   /* as `mpc run`: cancel the job everywhere */
            for (uint32_t q = 0; q < cl->n; q++) {
                mpcd_jobs_lock(cl->P[q].jobs);
                (void)mpcd_job_cancel(cl->P[q].jobs, cl->P[q].job, "tester");
                mpcd_jobs_unlock(cl->P[q].jobs);
            }
        if (r || cl->mode == C_ABSENT) break;
    }
    return NULL;
}

/* Runs src on n in-process parties with client inputs vals[k] entered by the client thread
 * in `mode`, party `cheater` (n: none) cheating on its first opening.  Checks every party's
 * rc against want_rc; on success, that the stored outputs are records (vcheck.h) that verify
 * together to mpc_eval's outputs, and that a record changed in one share is refused; on
 * failure that no party stored any.  Returns whether the client refused. */
static int s_job_run(const char *src, uint32_t n, const uint64_t *const *vals, uint32_t cheater, int mode,
                     int want_rc, const char *want_reason)
{
    s_party P[NP];
    memset(P, 0, sizeof P);
    mpc_mem_hub *hub = mpc_mem_hub_new(n, 10000);
    ck_assert_ptr_nonnull(hub);
    uint8_t id[MPCD_JOB_ID_BYTES];
    randombytes_buf(id, sizeof id);
    mpc_circuit *ref = s_compile(src);
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
        for (uint32_t k = 0; k < ref->n_inputs; k++) {   /* claimed by the client (MASK) */
            p->job->inputs[k].present = 1;
            p->job->inputs[k].mode = MPCD_IN_AUTH;
            strcpy(p->job->inputs[k].giver, "tester");
        }
        p->job->state = MPCD_JOB_RUNNING;
        p->w.jobs = p->jobs;
        p->w.peer_timeout_ms = 10000;
        atomic_store(&p->w.input_timeout_ms, mode == C_ABSENT ? 300 : 10000);
        p->t = mpc_mem_transport_new(hub, q);
        if (q == cheater) p->t = s_cheat_new(p->t);
    }
    s_client cl = {P, n, ref, vals, mode, 0};
    pthread_t th[NP], ct;
    for (uint32_t q = 0; q < n; q++) ck_assert_int_eq(pthread_create(&th[q], NULL, s_party_run, &P[q]), 0);
    ck_assert_int_eq(pthread_create(&ct, NULL, s_client_run, &cl), 0);
    for (uint32_t q = 0; q < n; q++) pthread_join(th[q], NULL);
    pthread_join(ct, NULL);
    mpc_eval_result want;
    char err[256];
    ck_assert_int_eq(mpc_eval(ref, vals, &want, err, sizeof err), 0);
    for (uint32_t q = 0; q < n; q++) {
        ck_assert_msg(P[q].rc == want_rc, "party %u: rc %d: %s", (unsigned)q, P[q].rc, P[q].reason);
        if (want_reason) ck_assert_msg(strstr(P[q].reason, want_reason), "party %u: %s", (unsigned)q, P[q].reason);
        if (want_rc) ck_assert_ptr_null(P[q].job->out_shares);   /* nothing to hand out */
        else ck_assert_ptr_nonnull(P[q].job->out_shares);
        if (!want_rc) ck_assert_int_eq(P[q].job->out_checked, 1);
        /* the material as the daemon announced it: a triple per product; none per client
         * input or checked output element (their vector checks take masks only) */
        if (!want_rc) ck_assert_uint_eq(P[q].job->triples_used, P[q].job->prep_needed);
        for (uint32_t k = 0; k < ref->n_inputs; k++) ck_assert_ptr_null(P[q].job->inputs[k].mask);   /* wiped */
    }
    for (uint32_t o = 0; !want_rc && o < ref->n_outputs; o++) {
        uint64_t L = ref->outputs[o].len, got[8];
        ck_assert_uint_le(L, 8);
        uint8_t *rec[NP];
        for (uint32_t q = 0; q < n; q++) {
            ck_assert_uint_eq(mpcd_job_out_bytes(P[q].job, o), mpc_vcheck_record_bytes(L, n));
            rec[q] = (uint8_t *)P[q].job->out_shares[o];
        }
        int why;
        uint32_t who;
        ck_assert_int_eq(mpc_vcheck_verify((const uint8_t *const *)rec, n, L, got, &why, &who), 0);
        for (uint64_t e = 0; e < L; e++)
            ck_assert_msg(got[e] == want.outputs[o][e], "output %u element %llu", (unsigned)o, (unsigned long long)e);
        rec[n - 1][8 * (L - 1) + 7] ^= 0x80;   /* the top bit of one share: refused */
        ck_assert_int_eq(mpc_vcheck_verify((const uint8_t *const *)rec, n, L, got, &why, &who), MPC_ERR_CRYPTO);
        rec[n - 1][8 * (L - 1) + 7] ^= 0x80;
    }
    mpc_eval_result_free(&want);
    for (uint32_t q = 0; q < n; q++) {
        mpc_transport_destroy(&P[q].t);
        mpcd_jobs_destroy(&P[q].jobs);
    }
    mpc_mem_hub_destroy(&hub);
    mpc_circ_destroy(&ref);
    return cl.refused;
}

/* The daemon's job path (mal_job.c) on 2 and 3 parties with authenticated client inputs:
 * the output shares it stores sum to the plaintext outputs; a party that adds 1 to one word
 * of one opening, or a client that gives one party another masked vector, makes every party
 * fail with "MAC check failed" and no party stores a share for the clients; a party whose
 * record of an input's masks reaches the client changed is refused by the client's check (the
 * client cancels); a client that never sends its masked input fails the job after
 * input_timeout_ms. */
START_TEST(test_job_path)
{
    const char *src2 = "party a, b\ninput x: int[6] from a\ninput y: int[6] from b\n"
                       "output p = x * y - x to a\noutput d = dot(x, y) + 9 to a, b\n";
    const char *src3 = "party a, b, c\ninput x: int[3] from a\ninput y: int[3] from b\ninput w: int[3] from c\n"
                       "output s = dot(x * y, w) to c\noutput t = y - w to a\n";
    uint64_t v[3][6];
    randombytes_buf(v, sizeof v);
    const uint64_t *vals[3] = {v[0], v[1], v[2]};
    ck_assert_int_eq(s_job_run(src2, 2, vals, 2, C_HONEST, 0, NULL), 0);
    ck_assert_int_eq(s_job_run(src3, 3, vals, 3, C_HONEST, 0, NULL), 0);
    s_job_run(src2, 2, vals, 1, C_HONEST, MPC_ERR_CRYPTO, "MAC check failed");
    s_job_run(src3, 3, vals, 2, C_HONEST, MPC_ERR_CRYPTO, "MAC check failed");
    s_job_run(src2, 2, vals, 2, C_SPLIT, MPC_ERR_CRYPTO, "MAC check failed");
    s_job_run(src3, 3, vals, 3, C_SPLIT, MPC_ERR_CRYPTO, "MAC check failed");
    ck_assert_int_eq(s_job_run(src2, 2, vals, 2, C_BADSHARE, MPC_ERR_CANCELLED, "cancelled"), 1);
    ck_assert_int_eq(s_job_run(src3, 3, vals, 3, C_BADSHARE, MPC_ERR_CANCELLED, "cancelled"), 1);
    ck_assert_int_eq(s_job_run(src2, 2, vals, 2, C_BADPAD, MPC_ERR_CANCELLED, "cancelled"), 1);
    ck_assert_int_eq(s_job_run(src3, 3, vals, 3, C_BADPAD, MPC_ERR_CANCELLED, "cancelled"), 1);
    s_job_run(src2, 2, vals, 2, C_ABSENT, MPC_ERR_TIMEOUT, "input 'x': client tester did not send its masked input");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("mal_job");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_admission);
    tcase_add_test(tc, test_job_path);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
