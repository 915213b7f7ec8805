/* check_worker.c — the job worker over the in-memory mesh: sequencing, agreement, the
 * engine with dealer material, and clean failures (missing job, different circuit, missing
 * input), with the daemons kept in threads. */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "config.h"
#include "engine.h"
#include "format.h"
#include "jobs.h"
#include "log.h"
#include "mpc_err.h"
#include "transport_mem.h"
#include "pool.h"
#include "release_job.h"
#include "worker.h"

#define MAXN 5

typedef struct {
    mpc_mem_hub  *hub;
    uint32_t      n;
    mpc_transport *t[MAXN + 1];
    mpcd_jobs    *jobs[MAXN];
    mpcd_worker   w[MAXN + 1];
    mpcd_pool    *pool[MAXN];
    pthread_t     th[MAXN + 1];
    atomic_int    stop;
} cluster;

static atomic_int s_hold_p0;   /* test_sequencer_failover: p0's worker has not started yet */

static void *s_thread(void *arg)
{
    mpcd_worker *w = arg;
    while (w->self == 0 && atomic_load(&s_hold_p0) && !atomic_load(w->stop)) usleep(10 * 1000);
    mpcd_worker_run(w);
    return NULL;
}

/* The mesh nodes the parties other than p0 see down (test_sequencer_failover); p0 itself and
 * the other tests see every node up. */
static atomic_uint s_down_mask;
static int s_peer_up_mask(void *ctx, uint32_t node)
{
    const mpcd_worker *w = ctx;
    return w->self == 0 || !(atomic_load(&s_down_mask) & (1u << node));
}

/* A mesh over p0's that loses the next RUN p0 sends to p1 while s_lose_run is set, or its next
 * AGREE of round R to p1 while s_lose_agree is 1 + R, as a connection that drops and comes
 * back loses what was queued on it (test_lost_run, test_lost_agree). */
static atomic_int s_lose_run, s_lost_runs, s_lose_agree, s_lost_agrees;
static atomic_int s_dup_agree;   /* 1 + R: p0 sends its next AGREE of round R to p1 twice */
typedef struct {
    mpc_transport  pub;
    mpc_transport *inner;
} s_lossy;

static int s_lossy_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                        const uint64_t *data, uint64_t count)
{
    s_lossy *l = t->impl;
    if (to == 1 && type == MPC_MSG_CONTROL && stream == MPCD_JOB_CONTROL && count == MPCD_RUN_WORDS &&
        atomic_exchange(&s_lose_run, 0)) {
        atomic_fetch_add(&s_lost_runs, 1);
        return 0;   /* "sent" */
    }
    int la = atomic_load(&s_lose_agree);
    if (la && to == 1 && type == MPC_MSG_CONTROL && count == MPCD_AGREE_WORDS &&
        data[MPCD_AGREE_ROUND_WORD] == (uint64_t)(la - 1) && atomic_compare_exchange_strong(&s_lose_agree, &la, 0)) {
        atomic_fetch_add(&s_lost_agrees, 1);
        return 0;
    }
    int da = atomic_load(&s_dup_agree);
    if (da && to == 1 && type == MPC_MSG_CONTROL && count == MPCD_AGREE_WORDS &&
        data[MPCD_AGREE_ROUND_WORD] == (uint64_t)(da - 1) && atomic_compare_exchange_strong(&s_dup_agree, &da, 0)) {
        int rc = mpc_send(l->inner, to, type, stream, seq, data, count);
        if (rc != 0) return rc;   /* and the copy, as an answer to an ask that crossed the original */
    }
    return mpc_send(l->inner, to, type, stream, seq, data, count);
}
static int s_lossy_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq, uint64_t *out,
                        uint64_t count, int timeout_ms)
{
    return mpc_recv(((s_lossy *)t->impl)->inner, from, type, stream, seq, out, count, timeout_ms);
}
static void s_lossy_forget(mpc_transport *t, uint64_t stream)
{
    mpc_transport_forget(((s_lossy *)t->impl)->inner, stream);
}
static void s_lossy_destroy(mpc_transport **t)
{
    if (*t) free((*t)->impl);
    *t = NULL;
}
static int s_lossy_abort_info(mpc_transport *t, uint64_t stream, uint32_t *from, uint32_t *lost)
{
    mpc_transport *in = ((s_lossy *)t->impl)->inner;
    return in->ops->abort_info ? in->ops->abort_info(in, stream, from, lost) : 0;
}
static const struct mpc_transport_ops s_lossy_ops = {s_lossy_send, s_lossy_recv, s_lossy_forget, s_lossy_destroy,
                                                     s_lossy_abort_info, NULL};
static mpc_transport *s_lossy_new(mpc_transport *inner)
{
    s_lossy *l = calloc(1, sizeof *l);
    ck_assert_ptr_nonnull(l);
    l->inner = inner;
    l->pub.ops = &s_lossy_ops;
    l->pub.impl = l;
    l->pub.self = inner->self;
    l->pub.n = inner->n;
    return &l->pub;
}
static int s_lossy_p0;   /* the next cluster's p0 sends through s_lossy */
static mpc_transport *s_lossy_mesh;

static void s_cluster_start_ex(cluster *cl, uint32_t n, int input_timeout_ms, int64_t job_timeout_ms);
static void s_cluster_start(cluster *cl, uint32_t n, int input_timeout_ms)
{
    s_cluster_start_ex(cl, n, input_timeout_ms, 0);
}

static void s_cluster_start_ex(cluster *cl, uint32_t n, int input_timeout_ms, int64_t job_timeout_ms)
{
    memset(cl, 0, sizeof *cl);
    cl->n = n;
    cl->hub = mpc_mem_hub_new(n + 1, 5000);
    for (uint32_t i = 0; i <= n; i++) {
        cl->t[i] = mpc_mem_transport_new(cl->hub, i);
        ck_assert_ptr_nonnull(cl->t[i]);
        mpcd_worker *w = &cl->w[i];
        w->n_parties = n;
        w->self = i;
        w->dealer = n;
        w->is_dealer = i == n;
        w->prep_mode = MPCD_PREP_DEALER;
        w->peer_timeout_ms = 3000;
        w->input_timeout_ms = input_timeout_ms;
        w->job_timeout_ms = job_timeout_ms;
        for (uint32_t k = 0; k <= n; k++) snprintf(w->names[k], sizeof w->names[k], "p%u", (unsigned)k);
        w->mesh = i == 0 && s_lossy_p0 ? (s_lossy_mesh = s_lossy_new(cl->t[i])) : cl->t[i];
        w->stop = &cl->stop;
        w->peer_up = s_peer_up_mask;
        w->idle_ctx = w;
        if (i < n) {
            cl->jobs[i] = mpcd_jobs_new(100);
            w->jobs = cl->jobs[i];
        }
        ck_assert_int_eq(pthread_create(&cl->th[i], NULL, s_thread, w), 0);
    }
}

/* n parties with OT preprocessing and a pool of `target` triples each (no dealer thread). */
static void s_cluster_start_ot(cluster *cl, uint32_t n, uint64_t target, uint64_t chunk)
{
    memset(cl, 0, sizeof *cl);
    cl->n = n;
    cl->hub = mpc_mem_hub_new(n + 1, 5000);
    for (uint32_t i = 0; i < n; i++) {
        cl->t[i] = mpc_mem_transport_new(cl->hub, i);
        mpcd_worker *w = &cl->w[i];
        w->n_parties = n;
        w->self = i;
        w->dealer = UINT32_MAX;
        w->prep_mode = MPCD_PREP_OT;
        w->peer_timeout_ms = 5000;
        w->input_timeout_ms = 5000;
        for (uint32_t k = 0; k < n; k++) snprintf(w->names[k], sizeof w->names[k], "p%u", (unsigned)k);
        w->mesh = cl->t[i];
        w->stop = &cl->stop;
        cl->jobs[i] = mpcd_jobs_new(100);
        w->jobs = cl->jobs[i];
        cl->pool[i] = target ? mpcd_pool_new(target, chunk) : NULL;
        w->pool = cl->pool[i];
    }
    for (uint32_t i = 0; i < n; i++) ck_assert_int_eq(pthread_create(&cl->th[i], NULL, s_thread, &cl->w[i]), 0);
    cl->th[n] = 0;
}

/* Stops and joins the workers (idempotent); the pools and tables stay for inspection. */
static void s_cluster_join(cluster *cl)
{
    if (atomic_load(&cl->stop)) return;
    atomic_store(&cl->stop, 1);
    for (uint32_t i = 0; i <= cl->n; i++)
        if (i < cl->n || cl->t[i]) pthread_join(cl->th[i], NULL);
}

static void s_cluster_stop(cluster *cl)
{
    s_cluster_join(cl);
    mpc_transport_destroy(&s_lossy_mesh);
    for (uint32_t i = 0; i < cl->n; i++) mpcd_pool_destroy(&cl->pool[i]);
    for (uint32_t i = 0; i <= cl->n; i++) mpc_transport_destroy(&cl->t[i]);
    for (uint32_t i = 0; i < cl->n; i++) mpcd_jobs_destroy(&cl->jobs[i]);
    mpc_mem_hub_destroy(&cl->hub);
}

/* out = sum(x * y) + 5*x0 over parties' int inputs x (party 0) and y (party n-1), length L. */
static mpc_circuit *s_circuit(uint32_t n, uint64_t L, uint64_t k)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16];
    for (uint32_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "p%u", (unsigned)i);
        mpc_circ_add_party(c, name);
    }
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, L, 2, 1);
    uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t s = mpc_circ_add_gate(c, MPC_G_SUM, MPC_T_INT, 1, m, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 3, 1);
    uint32_t kc = mpc_circ_add_const(c, MPC_T_INT, &k, 1, 4, 1);
    uint32_t sx = mpc_circ_add_gate(c, MPC_G_MUL_PUB, MPC_T_INT, L, x, kc, MPC_NO_WIRE, 0, 0, 4, 1);
    mpc_circ_add_output(c, "dot", s, 1u, 5, 1);
    mpc_circ_add_output(c, "scaled", sx, (1u << n) - 1, 5, 1);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

/* The release rule each party's submission asks for (release rules tests; 0 elsewhere). */
static uint64_t s_rule_rows[MAXN], s_rule_contrib[MAXN];
static int      s_one_giver[MAXN];   /* party i saw both inputs come from one client */

/* Submits the job to party i's table as a client would: shares of x and y. */
static void s_submit(cluster *cl, uint32_t i, const uint8_t id[16], uint64_t L, uint64_t k,
                     uint64_t *const shares[2])
{
    mpc_circuit *c = s_circuit(cl->n, L, k);
    uint8_t hash[32];
    ck_assert_int_eq(mpc_circ_hash(c, hash), 0);
    uint32_t binding[MPC_MAX_PARTIES];
    for (uint32_t p = 0; p < cl->n; p++) binding[p] = p;
    ck_assert_int_eq(mpcd_jobs_add(cl->jobs[i], id, "tester", &c, hash, binding, i), 0);
    if (!shares) return;
    mpcd_jobs_lock(cl->jobs[i]);
    mpcd_job *job = mpcd_jobs_find(cl->jobs[i], id);
    job->rule_rows = s_rule_rows[i];
    job->rule_contrib = s_rule_contrib[i];
    for (int in = 0; in < 2; in++) {
        job->inputs[in].giver_id = 100 + (uint64_t)(s_one_giver[i] ? 0 : in);   /* two clients */
        job->inputs[in].present = 1;
        job->inputs[in].mode = MPC_IN_SHARE;
        job->inputs[in].share = malloc(L * 8);
        memcpy(job->inputs[in].share, shares[in], L * 8);
    }
    mpcd_jobs_notify(cl->jobs[i]);
    mpcd_jobs_unlock(cl->jobs[i]);
}

static mpcd_job_state s_wait_done(cluster *cl, uint32_t i, const uint8_t id[16], char *reason)
{
    mpcd_jobs *j = cl->jobs[i];
    uint64_t deadline = mpc_now_ms() + 20000;
    mpcd_jobs_lock(j);
    mpcd_job *job;
    for (;;) {
        job = mpcd_jobs_find(j, id);
        if (job && (job->state == MPCD_JOB_DONE || job->state == MPCD_JOB_FAILED)) break;
        if (mpcd_jobs_wait(j, deadline) != 0 && mpc_now_ms() >= deadline) break;
    }
    mpcd_job_state st = job ? job->state : MPCD_JOB_QUEUED;
    if (reason) snprintf(reason, MPCD_REASON_MAX, "%s", job ? job->reason : "no job");
    mpcd_jobs_unlock(j);
    return st;
}

/* Splits v into n additive shares. */
static void s_share(uint32_t n, const uint64_t *v, uint64_t L, uint64_t **sh)
{
    for (uint64_t e = 0; e < L; e++) {
        uint64_t acc = 0;
        for (uint32_t i = 1; i < n; i++) {
            randombytes_buf(&sh[i][e], 8);
            acc += sh[i][e];
        }
        sh[0][e] = v[e] - acc;
    }
}

static void s_run_ok(uint32_t n, uint64_t L, int jobs)
{
    cluster cl;
    s_cluster_start(&cl, n, 5000);
    for (int jn = 0; jn < jobs; jn++) {
        uint64_t *x = malloc(L * 8), *y = malloc(L * 8), expect = 0;
        randombytes_buf(x, L * 8);
        randombytes_buf(y, L * 8);
        for (uint64_t e = 0; e < L; e++) expect += x[e] * y[e];
        uint64_t *xs[MAXN], *ys[MAXN];
        for (uint32_t i = 0; i < n; i++) xs[i] = malloc(L * 8), ys[i] = malloc(L * 8);
        s_share(n, x, L, xs);
        s_share(n, y, L, ys);
        uint8_t id[16];
        randombytes_buf(id, sizeof id);
        /* Submit to the parties in reverse order: the sequencer last. */
        for (uint32_t i = n; i-- > 0;) {
            uint64_t *sh[2] = {xs[i], ys[i]};
            s_submit(&cl, i, id, L, 5, sh);
        }
        uint64_t dot = 0, *scaled = calloc(L, 8);
        for (uint32_t i = 0; i < n; i++) {
            char reason[MPCD_REASON_MAX];
            ck_assert_msg(s_wait_done(&cl, i, id, reason) == MPCD_JOB_DONE, "party %u: %s", i, reason);
            mpcd_jobs_lock(cl.jobs[i]);
            mpcd_job *job = mpcd_jobs_find(cl.jobs[i], id);
            dot += job->out_shares[0][0];
            for (uint64_t e = 0; e < L; e++) scaled[e] += job->out_shares[1][e];
            ck_assert_ptr_null(job->inputs[0].share);  /* wiped after the run */
            mpcd_jobs_unlock(cl.jobs[i]);
        }
        ck_assert_uint_eq(dot, expect);
        for (uint64_t e = 0; e < L; e++) ck_assert_uint_eq(scaled[e], 5 * x[e]);
        for (uint32_t i = 0; i < n; i++) free(xs[i]), free(ys[i]);
        free(x), free(y), free(scaled);
    }
    s_cluster_stop(&cl);
}

START_TEST(test_jobs_run_in_order)
{
    s_run_ok(2, 1000, 3);
    s_run_ok(3, 100000, 2);
    s_run_ok(5, 10, 2);
}
END_TEST

/* A job one party never received fails on every party, naming that party. */
START_TEST(test_missing_job_fails_everywhere)
{
    cluster cl;
    s_cluster_start(&cl, 3, 500);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    s_submit(&cl, 0, id, 4, 5, sh);
    s_submit(&cl, 1, id, 4, 5, sh);
    char reason[MPCD_REASON_MAX];
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_int_eq(s_wait_done(&cl, i, id, reason), MPCD_JOB_FAILED);
        ck_assert_msg(strstr(reason, "not ready on party p2 within input_timeout_ms"), "%s", reason);
    }
    /* The next job runs. */
    uint8_t id2[16];
    randombytes_buf(id2, sizeof id2);
    for (uint32_t i = 0; i < 3; i++) s_submit(&cl, i, id2, 4, 5, sh);
    for (uint32_t i = 0; i < 3; i++) ck_assert_int_eq(s_wait_done(&cl, i, id2, reason), MPCD_JOB_DONE);
    s_cluster_stop(&cl);
}
END_TEST

/* Runs one job of L = 8 under the rules set in s_rule_*; checks every party agreed on
 * want_rows/want_contrib and returns party 0's withheld byte of dot and of scaled[0]. */
static void s_run_rule(cluster *cl, uint64_t want_rows, uint64_t want_contrib, uint8_t wh[2], uint64_t *dot)
{
    enum { L = 8 };
    uint64_t x[L], y[L], *xs[MAXN], *ys[MAXN];
    for (uint64_t e = 0; e < L; e++) x[e] = e + 1, y[e] = 2;
    for (uint32_t i = 0; i < cl->n; i++) xs[i] = malloc(L * 8), ys[i] = malloc(L * 8);
    s_share(cl->n, x, L, xs);
    s_share(cl->n, y, L, ys);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    for (uint32_t i = cl->n; i-- > 0;) {
        uint64_t *sh[2] = {xs[i], ys[i]};
        s_submit(cl, i, id, L, 5, sh);
    }
    *dot = 0;
    for (uint32_t i = 0; i < cl->n; i++) {
        char reason[MPCD_REASON_MAX];
        ck_assert_msg(s_wait_done(cl, i, id, reason) == MPCD_JOB_DONE, "party %u: %s", i, reason);
        mpcd_jobs_lock(cl->jobs[i]);
        mpcd_job *job = mpcd_jobs_find(cl->jobs[i], id);
        ck_assert_uint_eq(job->agreed_rows, want_rows);
        ck_assert_uint_eq(job->agreed_contrib, want_contrib);
        ck_assert_uint_eq(job->contributors, 2);
        *dot += job->out_shares[0][0];
        if (i == 0) {
            wh[0] = job->withheld ? job->withheld[0][0] : 0;
            wh[1] = job->withheld ? job->withheld[1][0] : 0;
        }
        mpcd_jobs_unlock(cl->jobs[i]);
    }
    for (uint32_t i = 0; i < cl->n; i++) free(xs[i]), free(ys[i]);
}

/* min_contributors' count: the distinct clients of ordinary inputs, plus each collection's
 * valid contributions (a collection is not one giver); inputs not present count nothing. */
START_TEST(test_release_contributors_collections)
{
    mpc_circuit *c = mpc_circ_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(mpc_circ_add_party(c, "a"), 0);
    ck_assert_int_eq(mpc_circ_add_party(c, "b"), 1);
    const char *names[5] = {"x", "y", "g-contrib", "h-contrib", "z"};
    for (int k = 0; k < 5; k++)
        ck_assert_uint_ne(mpc_circ_add_input(c, names[k], 0, MPC_T_INT, 2, 1, 1), MPC_NO_WIRE);
    mpcd_job_input in[5];
    memset(in, 0, sizeof in);
    mpcd_job job;
    memset(&job, 0, sizeof job);
    job.circ = c;
    job.inputs = in;
    in[0].present = in[1].present = 1, in[0].giver_id = in[1].giver_id = 7;   /* one client, twice */
    ck_assert_uint_eq(mpcd_release_contributors(&job), 1);
    in[2].present = 1, in[2].contributions = 4;   /* giver_id 0 like the daemons leave it */
    ck_assert_uint_eq(mpcd_release_contributors(&job), 5);
    in[3].present = 1, in[3].contributions = 0;   /* an empty collection adds nobody */
    ck_assert_uint_eq(mpcd_release_contributors(&job), 5);
    in[3].contributions = 3;
    in[4].giver_id = 9;                           /* not present: not counted */
    ck_assert_uint_eq(mpcd_release_contributors(&job), 8);
    in[4].present = 1;
    ck_assert_uint_eq(mpcd_release_contributors(&job), 9);
    mpc_circ_destroy(&c);
}
END_TEST

/* Release rules: the strictest party's rule applies on every party; an aggregate over 8 rows
 * passes min_rows = 8 and fails 9, an element-wise output fails any min_rows above 1, and
 * 2 contributors fail min_contributors = 3 (every output withheld, no value). */
START_TEST(test_release_rule_agreement)
{
    cluster cl;
    s_cluster_start(&cl, 3, 5000);
    uint8_t wh[2];
    uint64_t dot;
    s_rule_rows[1] = 8;
    s_run_rule(&cl, 8, 0, wh, &dot);
    ck_assert_uint_eq(wh[0], MPCD_WITHHELD_NO);
    ck_assert_uint_eq(dot, 2 * 36);
    ck_assert_uint_eq(wh[1], MPCD_WITHHELD_ROWS);
    s_rule_rows[2] = 9;
    s_run_rule(&cl, 9, 0, wh, &dot);
    ck_assert_uint_eq(wh[0], MPCD_WITHHELD_ROWS);
    ck_assert_uint_eq(dot, 0);
    s_rule_rows[1] = s_rule_rows[2] = 0;
    s_rule_contrib[0] = 2;
    s_run_rule(&cl, 0, 2, wh, &dot);
    ck_assert_uint_eq(wh[0], MPCD_WITHHELD_NO);
    ck_assert_uint_eq(dot, 2 * 36);
    s_rule_contrib[2] = 3;
    s_run_rule(&cl, 0, 3, wh, &dot);
    ck_assert_uint_eq(wh[0], MPCD_WITHHELD_CONTRIB);
    ck_assert_uint_eq(wh[1], MPCD_WITHHELD_CONTRIB);
    ck_assert_uint_eq(dot, 0);
    memset(s_rule_contrib, 0, sizeof s_rule_contrib);
    s_cluster_stop(&cl);
}
END_TEST

/* Parties that count different contributors fail the job on every party, naming the party that
 * disagrees. */
START_TEST(test_release_rule_disagreement)
{
    cluster cl;
    s_cluster_start(&cl, 2, 5000);
    s_one_giver[1] = 1;
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    s_submit(&cl, 1, id, 4, 5, sh);
    s_submit(&cl, 0, id, 4, 5, sh);
    char reason[MPCD_REASON_MAX];
    ck_assert_int_eq(s_wait_done(&cl, 0, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "party p1 disagrees on the release rule: it applies min_rows = 0, min_contributors = 0 "
                                 "with 1 contributors; this party min_rows = 0, min_contributors = 0 with 2"), "%s", reason);
    ck_assert_int_eq(s_wait_done(&cl, 1, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "party p0 disagrees on the release rule"), "%s", reason);
    s_one_giver[1] = 0;
    s_cluster_stop(&cl);
}
END_TEST

/* A daemon given a different circuit than its peers aborts the job on all. */
START_TEST(test_different_circuit_aborts)
{
    cluster cl;
    s_cluster_start(&cl, 2, 2000);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    s_submit(&cl, 0, id, 4, 5, sh);
    s_submit(&cl, 1, id, 4, 6, sh);   /* other constant: other hash */
    char reason[MPCD_REASON_MAX];
    ck_assert_int_eq(s_wait_done(&cl, 0, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "party p1 holds a different circuit"), "%s", reason);
    ck_assert_int_eq(s_wait_done(&cl, 1, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "party p0 holds a different circuit"), "%s", reason);
    s_cluster_stop(&cl);
}
END_TEST

/* A party that fails the agreement alone (one malformed frame from a peer) tells the others
 * with an ABORT: every party fails within 2 s, not after its timeouts, and the next job runs.
 * Only jobs ready everywhere are sequenced, so the frame is planted before the job: stream
 * ids are the sequencer's epoch and a counter, so the job after a first one runs on the
 * first one's stream + 1. */
START_TEST(test_agreement_failure_reaches_all)
{
    cluster cl;
    s_cluster_start(&cl, 3, 10000);
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    char reason[MPCD_REASON_MAX];
    uint8_t id0[16];
    randombytes_buf(id0, sizeof id0);
    for (uint32_t i = 0; i < 3; i++) s_submit(&cl, i, id0, 4, 5, sh);
    for (uint32_t i = 0; i < 3; i++) ck_assert_int_eq(s_wait_done(&cl, i, id0, reason), MPCD_JOB_DONE);
    mpcd_jobs_lock(cl.jobs[1]);
    uint64_t stream = mpcd_jobs_find(cl.jobs[1], id0)->stream + 1;
    mpcd_jobs_unlock(cl.jobs[1]);
    /* A malformed agreement frame "from p2" (one word short) waits at p1 for the next job. */
    mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = MPC_MSG_CONTROL, .sender = 2,
                     .stream = MPCD_AGREE_STREAM(stream), .seq = MPCD_AGREE_SEQ, .count = MPCD_AGREE_WORDS - 1};
    uint64_t junk[MPCD_AGREE_WORDS] = {0};
    ck_assert_int_eq(mpc_mem_inject(cl.hub, 1, &h, junk, MPCD_AGREE_WORDS - 1), 0);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint64_t t0 = mpc_now_ms();
    for (uint32_t i = 0; i < 3; i++) s_submit(&cl, i, id, 4, 5, sh);
    ck_assert_int_eq(s_wait_done(&cl, 1, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "no agreement from party p2"), "%s", reason);
    ck_assert_int_eq(s_wait_done(&cl, 0, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "aborted"), "%s", reason);
    ck_assert_msg(mpc_now_ms() - t0 < 2000, "p0 failed after %llu ms", (unsigned long long)(mpc_now_ms() - t0));
    ck_assert_int_eq(s_wait_done(&cl, 2, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(mpc_now_ms() - t0 < 2000, "p2 failed after %llu ms", (unsigned long long)(mpc_now_ms() - t0));
    /* The next job runs at once. */
    uint8_t id2[16];
    randombytes_buf(id2, sizeof id2);
    for (uint32_t i = 0; i < 3; i++) s_submit(&cl, i, id2, 4, 5, sh);
    for (uint32_t i = 0; i < 3; i++) ck_assert_int_eq(s_wait_done(&cl, i, id2, reason), MPCD_JOB_DONE);
    ck_assert_msg(mpc_now_ms() - t0 < 4000, "the next job ended after %llu ms",
                  (unsigned long long)(mpc_now_ms() - t0));
    s_cluster_stop(&cl);
}
END_TEST

/* A job's preprocessing progress: the triples it needs are known when it starts, and the
 * count made grows chunk by chunk while its material is made (STATUS shows it), reaching
 * the need when the job is done.  (Before streamed rounds the chunks were the counted
 * source's 2^17; a streamed round's are its stream's 2^16.) */
START_TEST(test_prep_progress)
{
    cluster cl;
    s_cluster_start(&cl, 2, 5000);
    const uint64_t L = 600000;   /* > 4 chunks of triples */
    uint64_t *zero = calloc(L, 8), *sh[2] = {zero, zero};
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    s_submit(&cl, 1, id, L, 5, sh);
    s_submit(&cl, 0, id, L, 5, sh);
    uint64_t partial = 0, needed = 0, deadline = mpc_now_ms() + 20000;
    int done = 0;
    while (!done && mpc_now_ms() < deadline) {
        mpcd_jobs_lock(cl.jobs[0]);
        mpcd_job *job = mpcd_jobs_find(cl.jobs[0], id);
        if (job->prep_needed) needed = job->prep_needed;
        if (job->prep_made > 0 && job->prep_made < job->prep_needed) partial = job->prep_made;
        done = job->state == MPCD_JOB_DONE || job->state == MPCD_JOB_FAILED;
        mpcd_jobs_unlock(cl.jobs[0]);
        usleep(200);
    }
    char reason[MPCD_REASON_MAX];
    ck_assert_int_eq(s_wait_done(&cl, 0, id, reason), MPCD_JOB_DONE);
    ck_assert_uint_eq(needed, L);   /* one triple per element of x*y */
    /* the round of x*y streams its material (docs/engine.md, "Streamed rounds"): fetched in
     * chunks of MPC_PREP_STREAM_CHUNK, each counted as it is made */
    ck_assert_msg(partial > 0 && partial % MPC_PREP_STREAM_CHUNK == 0, "no partial progress seen (%llu)",
                  (unsigned long long)partial);
    mpcd_jobs_lock(cl.jobs[0]);
    mpcd_job *job = mpcd_jobs_find(cl.jobs[0], id);
    ck_assert_uint_eq(job->prep_made, L);
    mpcd_jobs_unlock(cl.jobs[0]);
    free(zero);
    s_cluster_stop(&cl);
}
END_TEST

/* Inputs that never arrive fail the job after the input timeout, with the input named. */
START_TEST(test_missing_input_times_out)
{
    cluster cl;
    s_cluster_start(&cl, 2, 300);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    s_submit(&cl, 0, id, 4, 5, sh);
    s_submit(&cl, 1, id, 4, 5, NULL);
    char reason[MPCD_REASON_MAX];
    ck_assert_int_eq(s_wait_done(&cl, 1, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "input 'x' never arrived"), "%s", reason);
    ck_assert_int_eq(s_wait_done(&cl, 0, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "not ready on party p1 within input_timeout_ms"), "%s", reason);
    s_cluster_stop(&cl);
}
END_TEST

/* A job that runs past job_timeout_ms fails on every party, saying so; the progress of the
 * rounds it did run is recorded. */
START_TEST(test_job_timeout)
{
    cluster cl;
    s_cluster_start_ex(&cl, 2, 2000, 30);
    mpc_circuit *c = mpc_circ_new();
    mpc_circ_add_party(c, "p0");
    mpc_circ_add_party(c, "p1");
    const uint64_t L = 200000;
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 2, 1);
    uint32_t acc = x;
    for (int d = 0; d < 400; d++) acc = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, acc, y, MPC_NO_WIRE, 0, 0, 3, 1);
    mpc_circ_add_output(c, "o", acc, 3, 4, 1);
    char err[256];
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    uint8_t id[16], hash[32];
    randombytes_buf(id, sizeof id);
    ck_assert_int_eq(mpc_circ_hash(c, hash), 0);
    uint32_t binding[2] = {0, 1};
    uint64_t *zero = calloc(L, 8);
    for (uint32_t i = 0; i < 2; i++) {
        mpc_circuit *ci = NULL;
        uint8_t *buf;
        size_t len;
        ck_assert_int_eq(mpc_circ_write(c, &buf, &len), 0);
        ck_assert_int_eq(mpc_circ_read(buf, len, NULL, &ci, err, sizeof err), 0);
        free(buf);
        ck_assert_int_eq(mpcd_jobs_add(cl.jobs[i], id, "tester", &ci, hash, binding, i), 0);
        mpcd_jobs_lock(cl.jobs[i]);
        mpcd_job *job = mpcd_jobs_find(cl.jobs[i], id);
        for (int in = 0; in < 2; in++) {
            job->inputs[in].present = 1;
            job->inputs[in].mode = MPC_IN_SHARE;
            job->inputs[in].share = calloc(L, 8);
        }
        mpcd_jobs_notify(cl.jobs[i]);
        mpcd_jobs_unlock(cl.jobs[i]);
    }
    char reason[MPCD_REASON_MAX];
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_int_eq(s_wait_done(&cl, i, id, reason), MPCD_JOB_FAILED);
        ck_assert_msg(strstr(reason, "time limit") || strstr(reason, "abort"), "%s", reason);
    }
    free(zero);
    mpc_circ_destroy(&c);
    s_cluster_stop(&cl);
}
END_TEST

/* Five jobs whose inputs never come do not delay a ready job: the sequencer orders only jobs
 * ready on every party.  Later they end after input_timeout_ms, naming the missing input
 * where it is missing and the party elsewhere. */
START_TEST(test_abandoned_jobs_do_not_block)
{
    cluster cl;
    s_cluster_start(&cl, 3, 3000);
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    uint8_t idle[5][16], id[16];
    for (int a = 0; a < 5; a++) {
        randombytes_buf(idle[a], 16);
        for (uint32_t i = 0; i < 3; i++) s_submit(&cl, i, idle[a], 4, 5, i == 2 ? NULL : sh);   /* p2 never gets inputs */
    }
    randombytes_buf(id, sizeof id);
    uint64_t t0 = mpc_now_ms();
    for (uint32_t i = 0; i < 3; i++) s_submit(&cl, i, id, 4, 5, sh);
    char reason[MPCD_REASON_MAX];
    for (uint32_t i = 0; i < 3; i++) ck_assert_msg(s_wait_done(&cl, i, id, reason) == MPCD_JOB_DONE, "%s", reason);
    uint64_t took = mpc_now_ms() - t0;
    ck_assert_msg(took < 2000, "the ready job took %llu ms behind five abandoned ones", (unsigned long long)took);
    for (int a = 0; a < 5; a++) {
        mpcd_jobs_lock(cl.jobs[1]);
        ck_assert_int_eq(mpcd_jobs_find(cl.jobs[1], idle[a])->state, MPCD_JOB_QUEUED);   /* waiting, not failed */
        mpcd_jobs_unlock(cl.jobs[1]);
    }
    for (int a = 0; a < 5; a++) {
        ck_assert_int_eq(s_wait_done(&cl, 2, idle[a], reason), MPCD_JOB_FAILED);
        ck_assert_msg(strstr(reason, "input 'x' never arrived here within input_timeout_ms"), "%s", reason);
        for (uint32_t i = 0; i < 2; i++) {
            ck_assert_int_eq(s_wait_done(&cl, i, idle[a], reason), MPCD_JOB_FAILED);
            ck_assert_msg(strstr(reason, "not ready on party p2"), "%s", reason);
        }
        mpcd_jobs_lock(cl.jobs[0]);
        ck_assert_ptr_null(mpcd_jobs_find(cl.jobs[0], idle[a])->inputs[0].share);   /* wiped */
        mpcd_jobs_unlock(cl.jobs[0]);
    }
    ck_assert_uint_ge(mpc_now_ms() - t0, 2500);
    s_cluster_stop(&cl);
}
END_TEST

/* A job whose submission time is later than the `now` a party's pass read (a client thread
 * added it between the two) is new, not 2^64 ms old.  CI saw the wrap once: a small job of
 * daemon_faults' load failed at party c the instant it was submitted there, "input 'x' never
 * arrived here within input_timeout_ms (20000 ms)".  Here the submission time is set 800 ms
 * ahead, so every pass in that span sees it in the future; the job must wait for its inputs. */
START_TEST(test_job_newer_than_pass)
{
    cluster cl;
    s_cluster_start(&cl, 3, 3000);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    s_submit(&cl, 1, id, 4, 5, NULL);   /* p1, not the sequencer; no inputs yet */
    mpcd_jobs_lock(cl.jobs[1]);
    mpcd_jobs_find(cl.jobs[1], id)->submitted_ms = mpc_now_ms() + 800;
    mpcd_jobs_notify(cl.jobs[1]);
    mpcd_jobs_unlock(cl.jobs[1]);
    usleep(1200 * 1000);
    mpcd_jobs_lock(cl.jobs[1]);
    mpcd_job *job = mpcd_jobs_find(cl.jobs[1], id);
    ck_assert_msg(job->state == MPCD_JOB_QUEUED, "ended at once: %s", job->reason);
    mpcd_jobs_unlock(cl.jobs[1]);
    s_cluster_stop(&cl);
}
END_TEST

/* A ready job submitted to one party only (the sequencer never saw it) ends there after
 * input_timeout_ms, and not before. */
START_TEST(test_unsequenced_job_expires)
{
    cluster cl;
    s_cluster_start(&cl, 3, 1500);
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint64_t t0 = mpc_now_ms();
    s_submit(&cl, 1, id, 4, 5, sh);
    usleep(1000 * 1000);
    mpcd_jobs_lock(cl.jobs[1]);
    ck_assert_int_eq(mpcd_jobs_find(cl.jobs[1], id)->state, MPCD_JOB_QUEUED);
    mpcd_jobs_unlock(cl.jobs[1]);
    char reason[MPCD_REASON_MAX];
    ck_assert_int_eq(s_wait_done(&cl, 1, id, reason), MPCD_JOB_FAILED);
    uint64_t took = mpc_now_ms() - t0;
    ck_assert_msg(took >= 1500 && took < 4000, "ended after %llu ms", (unsigned long long)took);
    ck_assert_msg(strstr(reason, "never sequenced: the sequencer p0 does not hold the job"), "%s", reason);
    s_cluster_stop(&cl);
}
END_TEST

/* Submits a 2-party job (the circuit of s_circuit) bound to p1 and p2 to party i's table
 * (i = 0 holds it without being a party), with this party's shares of x and y. */
static void s_submit_bc(cluster *cl, uint32_t i, const uint8_t id[16], uint64_t *const shares[2])
{
    mpc_circuit *c = s_circuit(2, 4, 5);
    uint8_t hash[32];
    ck_assert_int_eq(mpc_circ_hash(c, hash), 0);
    uint32_t binding[MPC_MAX_PARTIES] = {1, 2};
    ck_assert_int_eq(mpcd_jobs_add(cl->jobs[i], id, "tester", &c, hash, binding, i == 0 ? UINT32_MAX : i - 1), 0);
    if (i == 0) return;
    mpcd_jobs_lock(cl->jobs[i]);
    mpcd_job *job = mpcd_jobs_find(cl->jobs[i], id);
    job->rule_rows = s_rule_rows[i];
    job->rule_contrib = s_rule_contrib[i];
    for (int in = 0; in < 2; in++) {
        job->inputs[in].giver_id = 100 + (uint64_t)(s_one_giver[i] ? 0 : in);   /* two clients */
        job->inputs[in].present = 1;
        job->inputs[in].mode = MPC_IN_SHARE;
        job->inputs[in].share = malloc(4 * 8);
        memcpy(job->inputs[in].share, shares[in], 4 * 8);
    }
    mpcd_jobs_notify(cl->jobs[i]);
    mpcd_jobs_unlock(cl->jobs[i]);
}

/* Sequencer failover (docs/daemon.md): while p0 is down (its worker not started) and p1, p2
 * and the dealer see it so, p1 sequences: a job bound to p1 and p2 runs with the right
 * answer, and a job of all three ends after input_timeout_ms naming p0.  When p0 comes back (and is seen up) it sequences again: its copy of that job ends
 * for lack of reports without touching p1's and p2's records, and a job of all three runs. */
START_TEST(test_sequencer_failover)
{
    atomic_store(&s_down_mask, 1u);
    atomic_store(&s_hold_p0, 1);
    cluster cl;
    s_cluster_start(&cl, 3, 2000);
    uint64_t x[4] = {1, 2, 3, 4}, y[4] = {5, 6, 7, 8}, xs0[4], xs1[4], ys0[4], ys1[4];
    uint64_t *xs[2] = {xs0, xs1}, *ys[2] = {ys0, ys1};
    s_share(2, x, 4, xs);
    s_share(2, y, 4, ys);
    /* A job of all three, held by p1 and p2: it cannot run without p0. */
    uint64_t zero[4] = {0}, *sh[2] = {zero, zero};
    uint8_t id3[16];
    randombytes_buf(id3, sizeof id3);
    for (uint32_t i = 1; i < 3; i++) s_submit(&cl, i, id3, 4, 5, sh);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    s_submit_bc(&cl, 0, id, NULL);
    for (uint32_t i = 1; i <= 2; i++) {
        uint64_t *mine[2] = {xs[i - 1], ys[i - 1]};
        s_submit_bc(&cl, i, id, mine);
    }
    char reason[MPCD_REASON_MAX];
    uint64_t dot = 0;
    for (uint32_t i = 1; i <= 2; i++) {
        ck_assert_msg(s_wait_done(&cl, i, id, reason) == MPCD_JOB_DONE, "party %u: %s", i, reason);
        mpcd_jobs_lock(cl.jobs[i]);
        dot += mpcd_jobs_find(cl.jobs[i], id)->out_shares[0][0];
        mpcd_jobs_unlock(cl.jobs[i]);
    }
    ck_assert_uint_eq(dot, 1 * 5 + 2 * 6 + 3 * 7 + 4 * 8);
    /* The job of all three ends after input_timeout_ms on p1 and p2, naming p0 as down. */
    for (uint32_t i = 1; i < 3; i++) {
        ck_assert_int_eq(s_wait_done(&cl, i, id3, reason), MPCD_JOB_FAILED);
        ck_assert_msg(strstr(reason, "not ready on party p0") && strstr(reason, "p0 is unreachable"), "party %u: %s",
                      i, reason);
    }
    /* p0 is back: it ends its copy (no party reports it ready: it ran); p1's and p2's records
     * stay done. */
    atomic_store(&s_down_mask, 0);
    atomic_store(&s_hold_p0, 0);
    ck_assert_int_eq(s_wait_done(&cl, 0, id, reason), MPCD_JOB_FAILED);
    ck_assert_msg(strstr(reason, "not ready on party p1"), "%s", reason);
    usleep(300 * 1000);
    for (uint32_t i = 1; i <= 2; i++) {
        mpcd_jobs_lock(cl.jobs[i]);
        ck_assert_int_eq(mpcd_jobs_find(cl.jobs[i], id)->state, MPCD_JOB_DONE);
        mpcd_jobs_unlock(cl.jobs[i]);
    }
    /* A job of the three runs, sequenced by p0. */
    uint8_t id2[16];
    randombytes_buf(id2, sizeof id2);
    for (uint32_t i = 0; i < 3; i++) s_submit(&cl, i, id2, 4, 5, sh);
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_msg(s_wait_done(&cl, i, id2, reason) == MPCD_JOB_DONE, "party %u: %s", i, reason);
    s_cluster_stop(&cl);
}
END_TEST

/* A RUN lost on its way (the CI failure of daemon_failover: the sequencer woke from a freeze,
 * its connection to b dropped and came back, and the RUN queued on it was gone; the sequencer
 * then waited in the job's agreement for b until its job timeout, b for its turn): the party
 * that never got it still reports the job ready, the sequencer sends the RUN again, and the job
 * runs on every party, long before the agreement would give up (30 s here). */
START_TEST(test_lost_run)
{
    s_lossy_p0 = 1;
    cluster cl;
    s_cluster_start_ex(&cl, 3, 2000, 30000);
    s_lossy_p0 = 0;
    uint64_t x[4] = {1, 2, 3, 4}, y[4] = {5, 6, 7, 8}, *xs[3], *ys[3];
    for (int i = 0; i < 3; i++) xs[i] = malloc(32), ys[i] = malloc(32);
    s_share(3, x, 4, xs);
    s_share(3, y, 4, ys);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    atomic_store(&s_lose_run, 1);
    uint64_t t0 = mpc_now_ms();
    for (uint32_t i = 0; i < 3; i++) {
        uint64_t *sh[2] = {xs[i], ys[i]};
        s_submit(&cl, i, id, 4, 5, sh);
    }
    char reason[MPCD_REASON_MAX];
    uint64_t dot = 0;
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_msg(s_wait_done(&cl, i, id, reason) == MPCD_JOB_DONE, "party %u: %s", i, reason);
        mpcd_jobs_lock(cl.jobs[i]);
        dot += mpcd_jobs_find(cl.jobs[i], id)->out_shares[0][0];
        mpcd_jobs_unlock(cl.jobs[i]);
    }
    uint64_t took = mpc_now_ms() - t0;
    ck_assert_int_eq(atomic_load(&s_lost_runs), 1);
    ck_assert_uint_eq(dot, 1 * 5 + 2 * 6 + 3 * 7 + 4 * 8);
    /* a report repeats every 5 s once acknowledged: the RUN goes again within that */
    ck_assert_msg(took < 12000, "the job took %llu ms", (unsigned long long)took);
    /* and the next job runs as usual */
    randombytes_buf(id, sizeof id);
    for (uint32_t i = 0; i < 3; i++) {
        uint64_t *sh[2] = {xs[i], ys[i]};
        s_submit(&cl, i, id, 4, 5, sh);
    }
    for (uint32_t i = 0; i < 3; i++)
        ck_assert_msg(s_wait_done(&cl, i, id, reason) == MPCD_JOB_DONE, "party %u: %s", i, reason);
    for (int i = 0; i < 3; i++) free(xs[i]), free(ys[i]);
    s_cluster_stop(&cl);
}
END_TEST

/* An AGREE lost on its way (a connection that drops and comes back, as for a RUN): the party
 * that waits for it asks for it again and the job runs, long before the agreement would give up
 * (input_timeout_ms + peer_timeout_ms + job_timeout_ms = 10 s here).  Round 0 lost: p0 goes on
 * to round 1 (it has p1's), so p1 gets p0's round 1 before the copy of round 0.  Round 1 lost:
 * p0 goes on to the run itself, and its worker thread answers p1.  Then an AGREE that comes
 * twice (an ask crossed the original): a second round 0 comes while p1 waits for round 1 and
 * is dropped; a second round 1 comes while p1 runs the job and stays on the agreement stream,
 * where nothing reads it.  Then a job without a loss. */
START_TEST(test_lost_agree)
{
    s_lossy_p0 = 1;
    cluster cl;
    s_cluster_start_ex(&cl, 3, 2000, 5000);
    s_lossy_p0 = 0;
    uint64_t x[4] = {1, 2, 3, 4}, y[4] = {5, 6, 7, 8}, *xs[3], *ys[3];
    for (int i = 0; i < 3; i++) xs[i] = malloc(32), ys[i] = malloc(32);
    s_share(3, x, 4, xs);
    s_share(3, y, 4, ys);
    char reason[MPCD_REASON_MAX];
    for (int c = 0; c <= 4; c++) {   /* round c lost (c < 2), round c - 2 twice (c = 2, 3), neither (4) */
        uint8_t id[16];
        randombytes_buf(id, sizeof id);
        atomic_store(&s_lose_agree, c < 2 ? c + 1 : 0);
        atomic_store(&s_dup_agree, c == 2 || c == 3 ? c - 1 : 0);
        uint64_t t0 = mpc_now_ms();
        for (uint32_t i = 0; i < 3; i++) {
            uint64_t *sh[2] = {xs[i], ys[i]};
            s_submit(&cl, i, id, 4, 5, sh);
        }
        uint64_t dot = 0;
        for (uint32_t i = 0; i < 3; i++) {
            ck_assert_msg(s_wait_done(&cl, i, id, reason) == MPCD_JOB_DONE, "case %d, party %u: %s", c, i,
                          reason);
            mpcd_jobs_lock(cl.jobs[i]);
            dot += mpcd_jobs_find(cl.jobs[i], id)->out_shares[0][0];
            mpcd_jobs_unlock(cl.jobs[i]);
        }
        uint64_t took = mpc_now_ms() - t0;
        ck_assert_int_eq(atomic_load(&s_lose_agree), 0);
        ck_assert_int_eq(atomic_load(&s_dup_agree), 0);
        ck_assert_int_eq(atomic_load(&s_lost_agrees), c < 2 ? c + 1 : 2);
        ck_assert_uint_eq(dot, 1 * 5 + 2 * 6 + 3 * 7 + 4 * 8);
        /* asked again every peer_timeout_ms / 3 = 1 s: far below the agreement's 10 s */
        ck_assert_msg(took < 5000, "case %d: the job took %llu ms", c, (unsigned long long)took);
    }
    for (int i = 0; i < 3; i++) free(xs[i]), free(ys[i]);
    s_cluster_stop(&cl);
}
END_TEST

/* Pools fill in the background; a job of every party takes its triples from them (first in,
 * first out, the same count on every party, never twice), and the answer is right.  (A party
 * whose pool differs, as after a restart, is covered end to end in daemon_e2e.) */
START_TEST(test_pool)
{
    cluster cl;
    s_cluster_start_ot(&cl, 3, 6000, 2048);
    uint64_t deadline = mpc_now_ms() + 30000;
    for (uint32_t i = 0; i < 3; i++)
        while (mpcd_pool_stock(cl.pool[i]) < 6000 && mpc_now_ms() < deadline) usleep(20000);
    for (uint32_t i = 0; i < 3; i++) ck_assert_uint_eq(mpcd_pool_stock(cl.pool[i]), 6000);
    usleep(200000);   /* the sequencer is idle now: the stock is full */
    const uint64_t L = 1000;
    mpcd_pool_state before[3];
    for (uint32_t i = 0; i < 3; i++) mpcd_pool_state_get(cl.pool[i], &before[i]);
    uint64_t *x = malloc(L * 8), *y = malloc(L * 8), expect = 0;
    randombytes_buf(x, L * 8);
    randombytes_buf(y, L * 8);
    for (uint64_t e = 0; e < L; e++) expect += x[e] * y[e];
    uint64_t *xs[3], *ys[3];
    for (uint32_t i = 0; i < 3; i++) xs[i] = malloc(L * 8), ys[i] = malloc(L * 8);
    s_share(3, x, L, xs);
    s_share(3, y, L, ys);
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    for (uint32_t i = 3; i-- > 0;) {
        uint64_t *sh[2] = {xs[i], ys[i]};
        s_submit(&cl, i, id, L, 5, sh);
    }
    uint64_t dot = 0;
    char reason[MPCD_REASON_MAX];
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_msg(s_wait_done(&cl, i, id, reason) == MPCD_JOB_DONE, "party %u: %s", i, reason);
        mpcd_jobs_lock(cl.jobs[i]);
        dot += mpcd_jobs_find(cl.jobs[i], id)->out_shares[0][0];
        mpcd_jobs_unlock(cl.jobs[i]);
    }
    ck_assert_uint_eq(dot, expect);
    /* Let the refill that follows the job finish, so stopping cannot cut a chunk short. */
    deadline = mpc_now_ms() + 30000;
    for (uint32_t i = 0; i < 3; i++)
        while (mpcd_pool_stock(cl.pool[i]) < 6000 && mpc_now_ms() < deadline) usleep(20000);
    usleep(200000);
    s_cluster_join(&cl);   /* no refill runs while the counters are read */
    for (uint32_t i = 0; i < 3; i++) {
        mpcd_pool_state after;
        mpcd_pool_state_get(cl.pool[i], &after);
        ck_assert_uint_eq(after.taken, before[i].taken + L);     /* L triples, from the stock */
        ck_assert_uint_eq(after.session, before[0].session);
        ck_assert_uint_eq(mpcd_pool_stock(cl.pool[i]), after.added - after.taken);
    }
    s_cluster_stop(&cl);
    for (uint32_t i = 0; i < 3; i++) free(xs[i]), free(ys[i]);
    free(x), free(y);
}
END_TEST

Suite *mpc_test_suite(void)
{
    mpcd_log_init("test", MPCD_LOG_ERROR);
    Suite *s = suite_create("worker");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_jobs_run_in_order);
    tcase_add_test(tc, test_release_contributors_collections);
    tcase_add_test(tc, test_missing_job_fails_everywhere);
    tcase_add_test(tc, test_different_circuit_aborts);
    tcase_add_test(tc, test_release_rule_agreement);
    tcase_add_test(tc, test_release_rule_disagreement);
    tcase_add_test(tc, test_agreement_failure_reaches_all);
    tcase_add_test(tc, test_prep_progress);
    tcase_add_test(tc, test_missing_input_times_out);
    tcase_add_test(tc, test_job_timeout);
    tcase_add_test(tc, test_pool);
    tcase_add_test(tc, test_abandoned_jobs_do_not_block);
    tcase_add_test(tc, test_unsequenced_job_expires);
    tcase_add_test(tc, test_job_newer_than_pass);
    tcase_add_test(tc, test_sequencer_failover);
    tcase_add_test(tc, test_lost_run);
    tcase_add_test(tc, test_lost_agree);
    suite_add_tcase(s, tc);
    return s;
}

