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

#include "runner.h"
#include "parties.h"
#include "compile.h"
#include "enginetest.h"
#include "eval.h"
#include "mpc_err.h"
#include "prep_ot.h"
#include "prep_ot_bench.h"
#include "gilboa.h"
#include "otext.h"
#include "transport_mem.h"

#define STREAM (MPC_STREAM_PREP_BIT | 0x5eed)
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
    int                 given_party;    /* party + 1 whose own a, b, ba, bb are given_ab */
    uint64_t            given_ab;
    uint64_t            E, BW, D;       /* edaBits, binary triple words, daBits per batch */
    uint64_t            S;              /* square pairs per batch */
    /* results */
    uint64_t           *a[MAXP], *b[MAXP], *c[MAXP], *lo[MAXP], *mid[MAXP], *msb[MAXP];
    uint64_t           *er[MAXP], *eb[MAXP], *ba[MAXP], *bb[MAXP], *bc[MAXP], *dr[MAXP], *db[MAXP];
    uint64_t           *sa[MAXP], *sa2[MAXP];
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
        uint64_t DW = (j->D + 63) / 64;
        mpc_prep_req req = {.n_triples = T, .trunc = j->specs, .n_trunc = j->ng,
                            .n_edabits = j->E, .n_btriples = j->BW, .n_dabits = j->D,
                            .n_squares = j->S};
        mpc_prep_out out = {
            .a = extra ? extra : j->a[p] + k * j->T,
            .b = extra ? extra + T : j->b[p] + k * j->T,
            .c = extra ? extra + 2 * T : j->c[p] + k * j->T,
            .r_lo = j->lo[p] + k * R, .r_mid = j->mid[p] + k * R, .r_msb = j->msb[p] + k * R,
            .eda_r = j->er[p] + k * j->E, .eda_bits = j->eb[p] + k * j->E,
            .ba = j->ba[p] + k * j->BW, .bb = j->bb[p] + k * j->BW, .bc = j->bc[p] + k * j->BW,
            .da_r = j->dr[p] + k * j->D, .da_bits = j->db[p] + k * DW,
            .sa = j->sa[p] + k * j->S, .sa2 = j->sa2[p] + k * j->S};
        if (j->given_party == (int)p + 1) {   /* its own a_i, b_i: fixed words */
            for (uint64_t t = 0; t < T; t++) out.a[t] = out.b[t] = j->given_ab;
            for (uint64_t w = 0; w < j->BW; w++) out.ba[w] = out.bb[w] = j->given_ab;
            for (uint64_t q = 0; q < j->S; q++) out.sa[q] = j->given_ab;
            j->rc[p] = mpc_prep_ot_fetch_given(src, &req, &out);
        } else {
            j->rc[p] = mpc_prep_fetch(src, &req, &out);
        }
        free(extra);
    }
    mpc_prep_ot_stats_get(src, &j->st[p]);
    for (uint32_t q = 0; q < j->n; q++)
        snprintf(j->hash[p][q], sizeof j->hash[p][q], "%s", mpc_prep_ot_hash_name(src, q));
    if (j->rc[p]) mpc_prep_abort(src, j->rc[p]);
    mpc_prep_destroy(&src);
    return NULL;
}

/* Wraps party p's transport in the recorder of what it receives (the view). */
static mpc_transport *s_record(mpc_transport *t, void *arg)
{
    s_arg *a = arg;
    mpc_transport *w = calloc(1, sizeof *w);
    s_rec *r = calloc(1, sizeof *r);
    ck_assert(w && r);
    r->inner = t;
    r->job = a->j;
    w->ops = &s_rec_ops;
    w->impl = r;
    w->self = a->p;
    w->n = t->n;
    return w;
}

static void s_run(s_job *j)
{
    uint64_t R = s_R(j);
    th_node nodes[MAXP];
    s_arg args[MAXP];
    for (uint32_t p = 0; p < j->n; p++) {
        if (!j->opts[p].timeout_ms) j->opts[p].timeout_ms = 60000;
        j->a[p] = malloc((j->T * j->batches + 1) * 8);
        j->b[p] = malloc((j->T * j->batches + 1) * 8);
        j->c[p] = malloc((j->T * j->batches + 1) * 8);
        j->lo[p] = malloc((R * j->batches + 1) * 8);
        j->mid[p] = malloc((R * j->batches + 1) * 8);
        j->msb[p] = malloc((R * j->batches + 1) * 8);
        j->er[p] = malloc((j->E * j->batches + 1) * 8);
        j->eb[p] = malloc((j->E * j->batches + 1) * 8);
        j->ba[p] = malloc((j->BW * j->batches + 1) * 8);
        j->bb[p] = malloc((j->BW * j->batches + 1) * 8);
        j->bc[p] = malloc((j->BW * j->batches + 1) * 8);
        j->dr[p] = malloc((j->D * j->batches + 1) * 8);
        j->db[p] = malloc(((j->D + 63) / 64 * j->batches + 1) * 8);
        j->sa[p] = malloc((j->S * j->batches + 1) * 8);
        j->sa2[p] = malloc((j->S * j->batches + 1) * 8);
        args[p].j = j;
        args[p].p = p;
        nodes[p] = (th_node){s_party, &args[p], &args[p].t, j->view_party == (int)p + 1 ? s_record : NULL};
    }
    th_run_mem(j->n, 60000, nodes);
}

static void s_free(s_job *j)
{
    for (uint32_t p = 0; p < MAXP; p++) {
        free(j->a[p]); free(j->b[p]); free(j->c[p]);
        free(j->lo[p]); free(j->mid[p]); free(j->msb[p]);
        free(j->er[p]); free(j->eb[p]); free(j->ba[p]); free(j->bb[p]); free(j->bc[p]);
        free(j->dr[p]); free(j->db[p]);
        free(j->sa[p]); free(j->sa2[p]);
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

/* 10^6 triples per n; under AddressSanitizer (≈10× slower) 2^16, so that the sanitizer
 * run of the whole project stays within minutes. */
#if defined(__SANITIZE_ADDRESS__)
#define S_MILLION (1u << 16)
#else
#define S_MILLION 1000000u
#endif

/* Σsa2 = (Σsa)² for every square pair; the sums are not degenerate. */
static void s_check_squares(const s_job *j)
{
    uint64_t N = j->S * (uint64_t)j->batches, bad = 0, zero = 0, same_a = 0;
    for (uint64_t t = 0; t < N; t++) {
        uint64_t a = 0, a2 = 0;
        for (uint32_t p = 0; p < j->n; p++) {
            a += j->sa[p][t];
            a2 += j->sa2[p][t];
        }
        bad += a * a != a2;
        zero += a2 == 0;
        if (t) same_a += j->sa[0][t] == j->sa[0][t - 1];
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_le(zero, 2);
    ck_assert_uint_le(same_a, 2);
}

/* Bytes all parties sent together for one batch of T triples and S square pairs. */
static uint64_t s_total_bytes(uint32_t n, uint64_t T, uint64_t S)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = n;
    j.T = T;
    j.S = S;
    j.batches = 1;
    s_run(&j);
    uint64_t tot = 0;
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, mpc_strerror(j.rc[p]));
        tot += j.st[p].bytes_sent;
    }
    if (T) s_check_triples(&j);
    if (S) s_check_squares(&j);
    s_free(&j);
    return tot;
}

/* Square pairs for n = 2, 3, 5 (in two batches, beside triples in the same request), and
 * their cost: one Gilboa product per unordered pair of parties, so beyond the setup and the
 * request digests exactly half the bytes of as many triples, summed over the parties. */
START_TEST(test_square_pairs)
{
    static const uint32_t ns[3] = {2, 3, 5};
    for (int i = 0; i < 3; i++) {
        uint32_t n = ns[i];
        s_job j;
        memset(&j, 0, sizeof j);
        j.n = n;
        j.S = 50000;
        j.T = 1000;
        j.batches = 2;
        s_run(&j);
        for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, mpc_strerror(j.rc[p]));
        s_check_squares(&j);
        s_check_triples(&j);
        s_free(&j);
        uint64_t T = 20000;
        uint64_t base = s_total_bytes(n, 0, 0), tri = s_total_bytes(n, T, 0), sq = s_total_bytes(n, 0, T);
        ck_assert_uint_gt(tri, base);
        ck_assert_msg(2 * (sq - base) == tri - base, "n = %u: squares %llu bytes, triples %llu (setup %llu)",
                      n, (unsigned long long)(sq - base), (unsigned long long)(tri - base),
                      (unsigned long long)base);
        printf("prep_ot n=%u: %.0f bytes per square pair per party, %.0f per triple\n", (unsigned)n,
               (double)(sq - base) / n / (double)T, (double)(tri - base) / n / (double)T);
    }
}
END_TEST

/* Privacy of the pairs: party 1's sa_1 = 0 in one run and 2^64 − 1 in the other.  With
 * n = 2 party 1 is the Gilboa sender of a_0·a_1 (s_sq_sender: 0 + 1 is odd), so party 0
 * receives only its packed corrections, which carry a_1: every word after the setup and the
 * digest must be balanced in both runs and the views independent. */
static uint64_t *s_sview(uint64_t a, uint64_t *len)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = 2;
    j.S = 16384;
    j.batches = 1;
    j.view_party = 1;
    j.given_party = 2;
    j.given_ab = a;
    s_run(&j);
    ck_assert_int_eq(j.rc[0], 0);
    ck_assert_int_eq(j.rc[1], 0);
    for (uint64_t t = 0; t < j.S; t++) ck_assert_uint_eq(j.sa[1][t], a);
    s_check_squares(&j);
    uint64_t *v = j.view;
    *len = j.view_len;
    j.view = NULL;
    s_free(&j);
    return v;
}

START_TEST(test_view_independent_of_peer_sa)
{
    uint64_t l0, l1;
    uint64_t *v0 = s_sview(0, &l0), *v1 = s_sview(UINT64_MAX, &l1);
    ck_assert_uint_eq(l0, l1);
    uint64_t skip = 10 + 512 + (MPC_PREP_OT_K > 1 ? 1024 : 0) + 4, N = l0 - skip;
    ck_assert_uint_eq(N, mpc_gilboa_corr_words(16384));
    uint64_t ones0 = 0, ones1 = 0, agree = 0;
    for (uint64_t k = skip; k < l0; k++) {
        ones0 += (uint64_t)__builtin_popcountll(v0[k]);
        ones1 += (uint64_t)__builtin_popcountll(v1[k]);
        agree += (uint64_t)__builtin_popcountll(~(v0[k] ^ v1[k]));
    }
    double bits = 64.0 * (double)N, tol = 6 * 0.5 / sqrt(bits);
    ck_assert_msg(fabs((double)ones0 / bits - 0.5) < tol, "view bits, a=0: %f", (double)ones0 / bits);
    ck_assert_msg(fabs((double)ones1 / bits - 0.5) < tol, "view bits, a=~0: %f", (double)ones1 / bits);
    ck_assert_msg(fabs((double)agree / bits - 0.5) < tol, "views agree on %f", (double)agree / bits);
    free(v0);
    free(v1);
}
END_TEST

START_TEST(test_triples_n2)
{
    s_triples_n(2, S_MILLION / 2, 2);
}
END_TEST

START_TEST(test_triples_n3)
{
    s_triples_n(3, S_MILLION, 1);
}
END_TEST

/* Five parties are five threads on this machine's two cores: a quarter of the triples keeps
 * the case within its timeout on a loaded machine (10^6 took over 300 s at load 20). */
START_TEST(test_triples_n5)
{
    s_triples_n(5, S_MILLION / 4, 1);
}
END_TEST

/* Bytes party 0 sends each peer for one chunk of nb random bits of widths w[0 .. nb): the
 * bits are XOR-ed in the order 0 .. n−1 in the first half (party 0 first: it sends
 * corrections) and n−1 .. 0 in the second (party 0 last: it sends a COT message), the
 * halves split on a word.  Headers included. */
static uint64_t s_p0_bits(const uint8_t *w, uint64_t nb, uint32_t k)
{
    uint64_t h1 = ((nb / 2) + 63) & ~63ull;
    if (h1 > nb) h1 = nb;
    uint64_t bytes = 32 + 8 * mpc_bitmul_corr_words(w, h1);
    if (nb > h1) bytes += 32 + 8 * mpc_cot_msg_words_k(k, nb - h1);
    return bytes;
}

/* IKNP (k = 1) and SoftSpokenOT with k = 4 and 8 end to end, triples and truncation tuples;
 * parties configured with different k refuse at setup. */
static void s_with_k(uint32_t n, uint32_t k, uint64_t T)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = n;
    j.T = T;
    j.batches = 2;
    j.specs[0] = (mpc_prep_trunc_spec){.m = 12, .l = 50, .n = 700};
    j.ng = 1;
    for (uint32_t p = 0; p < n; p++) j.opts[p].ot_k = k;
    s_run(&j);
    for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0, "k=%u party %u: %s", k, p, mpc_strerror(j.rc[p]));
    s_check_triples(&j);
    for (uint64_t e = 0; e < 2 * 700; e++) {
        uint64_t lo = 0, mid = 0, msb = 0;
        for (uint32_t p = 0; p < n; p++) {
            lo += j.lo[p][e];
            mid += j.mid[p][e];
            msb += j.msb[p][e];
        }
        ck_assert(lo < (1u << 12) && mid < (1ull << 38) && msb <= 1);
    }
    /* bytes of party 0 to each peer: setup, a digest per batch, per triple 16·64/k of COT
     * messages and 260 of corrections, and for the random bits of the tuples (s_p0_bits)
     * the corrections of the first half and the COT message of the second — plus a 32-byte
     * header per message */
    uint8_t *wd = malloc(700 * 51);
    for (uint64_t e = 0; e < 700; e++)
        for (uint32_t b = 0; b <= 50; b++) wd[e * 51 + b] = (uint8_t)(b < 12 ? 64 - b : b < 50 ? 64 - (b - 12) : 64);
    uint64_t per_peer = 80 + 4096 + (k > 1 ? 8192 : 0) +
                        2 * (32 + 8 * mpc_cot_msg_words_k(k, 64 * T) + 8 * mpc_gilboa_corr_words(T) +
                             s_p0_bits(wd, 700 * 51, k));
    free(wd);
    /* and the COT messages are 16·64/k bytes per triple up to the padding of a block */
    ck_assert_uint_le(8 * mpc_cot_msg_words_k(k, 64 * T), T * 1024 / k + 2048 / k);
    uint64_t got = j.st[0].bytes_sent / (n - 1);
    /* messages to each peer: hello, points, [GGM sums]; per batch a digest and two per chunk
     * of triples */
    uint64_t msgs = 2 + (k > 1) + 2 * (1 + 2 * ((T + MPC_PREP_OT_CHUNK - 1) / MPC_PREP_OT_CHUNK));
    ck_assert_msg(got == per_peer + 32 * msgs, "k=%u: %llu bytes per peer, payload %llu, %llu messages",
                  k, (unsigned long long)got, (unsigned long long)per_peer, (unsigned long long)msgs);
    s_free(&j);
}

START_TEST(test_block_sizes)
{
    s_with_k(2, 1, 30000);
    s_with_k(3, 1, 10000);
    s_with_k(2, 4, 20000);
    s_with_k(3, 8, 3000);
    s_with_k(2, 2, 1001);   /* odd counts: a partial 128-OT block, a half-word of corrections */
    s_with_k(3, 1, 777);
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = 2;
    j.T = 100;
    j.batches = 1;
    j.opts[0].ot_k = 2;
    j.opts[1].ot_k = 4;
    s_run(&j);
    ck_assert(j.rc[0] == MPC_ERR_PROTOCOL || j.rc[0] == MPC_ERR_PEER_ABORT);
    ck_assert(j.rc[1] == MPC_ERR_PROTOCOL || j.rc[1] == MPC_ERR_PEER_ABORT);
    s_free(&j);
}
END_TEST

/* ---- truncation tuples ---- */

static void s_trunc_n(uint32_t n)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = n;
    j.T = 1000;
    j.batches = 2;
    j.specs[0] = (mpc_prep_trunc_spec){.m = 16, .l = 40, .n = 6000};
    j.specs[1] = (mpc_prep_trunc_spec){.m = 1, .l = 2, .n = 3000};
    j.specs[2] = (mpc_prep_trunc_spec){.m = 20, .l = 63, .n = 3000};
    j.ng = 3;
    s_run(&j);
    for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, mpc_strerror(j.rc[p]));
    s_check_triples(&j);
    uint64_t R = s_R(&j), off = 0;
    for (uint32_t g = 0; g < j.ng; g++) {
        const mpc_prep_trunc_spec *sp = &j.specs[g];
        uint64_t cnt[64] = {0}, N = 0, bad = 0, distinct = 0, prev = 0;
        for (int k = 0; k < j.batches; k++)
            for (uint64_t e = 0; e < sp->n; e++) {
                uint64_t x = k * R + off + e, lo = 0, mid = 0, msb = 0;
                for (uint32_t p = 0; p < n; p++) {
                    lo += j.lo[p][x];
                    mid += j.mid[p][x];
                    msb += j.msb[p][x];
                }
                bad += lo >> sp->m != 0;
                bad += mid >> (sp->l - sp->m) != 0;
                bad += msb > 1;
                uint64_t r = lo | mid << sp->m | msb << sp->l;
                for (uint32_t b = 0; b <= sp->l; b++) cnt[b] += (r >> b) & 1;
                distinct += r != prev;
                prev = r;
                N++;
            }
        ck_assert_uint_eq(bad, 0);
        ck_assert_uint_ge(distinct, N * 2 / 5);   /* even for 3-bit r: P(r = prev) = 1/8 */
        /* each of the l+1 bits of r is 1 with probability 1/2: within 6 sigma */
        double tol = 6 * 0.5 / sqrt((double)N);
        for (uint32_t b = 0; b <= sp->l; b++) {
            double f = (double)cnt[b] / (double)N;
            ck_assert_msg(fabs(f - 0.5) < tol, "n=%u m=%u l=%u bit %u: frequency %f", n, sp->m,
                          sp->l, b, f);
        }
        off += sp->n;
    }
    s_free(&j);
}

START_TEST(test_trunc_tuples)
{
    s_trunc_n(2);
    s_trunc_n(3);
    s_trunc_n(5);
}
END_TEST

/* ---- comparison material ---- */

/* XOR of the parties' words. */
static uint64_t s_xor(uint64_t *const *v, uint32_t n, uint64_t i)
{
    uint64_t x = 0;
    for (uint32_t p = 0; p < n; p++) x ^= v[p][i];
    return x;
}

static uint64_t s_sum(uint64_t *const *v, uint32_t n, uint64_t i)
{
    uint64_t x = 0;
    for (uint32_t p = 0; p < n; p++) x += v[p][i];
    return x;
}

/* edaBits, binary triples and daBits with triples and truncation tuples in the same
 * requests (two batches): the edaBit's arithmetic value equals its bits, both halves of a
 * daBit are the same bit, binary triples hold in every lane; values balanced and fresh.
 * The sizes cross chunk boundaries: 96,000 edaBit bits then 2,037 daBits make two chunks of
 * random bits (the second mixes both kinds), 5,000 binary triple words two chunks. */
static void s_cmp_material(uint32_t n)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = n;
    j.T = 501;
    j.batches = 2;
    j.specs[0] = (mpc_prep_trunc_spec){.m = 16, .l = 40, .n = 300};
    j.ng = 1;
    j.E = 1500;
    j.BW = 5000;
    j.D = 2037;
    s_run(&j);
    for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0, "n=%u party %u: %s", n, p, mpc_strerror(j.rc[p]));
    s_check_triples(&j);
    /* edaBits */
    uint64_t NE = j.E * j.batches, bad = 0, same = 0, cnt[64] = {0};
    for (uint64_t e = 0; e < NE; e++) {
        uint64_t r = s_sum(j.er, n, e);
        bad += r != s_xor(j.eb, n, e);
        for (int b = 0; b < 64; b++) cnt[b] += (r >> b) & 1;
        if (e >= j.E) same += r == s_sum(j.er, n, e - j.E);   /* batch 1 vs batch 0 */
    }
    ck_assert_msg(bad == 0, "n=%u: %llu edaBits whose value is not their bits", n, (unsigned long long)bad);
    ck_assert_uint_eq(same, 0);
    double tol = 6 * 0.5 / sqrt((double)NE);
    for (int b = 0; b < 64; b++)
        ck_assert_msg(fabs((double)cnt[b] / (double)NE - 0.5) < tol, "n=%u edaBit bit %d: %f", n, b,
                      (double)cnt[b] / (double)NE);
    /* every party's GF(2) shares are its own random bits: none is constant */
    for (uint32_t p = 0; p < n; p++) {
        uint64_t ones = 0;
        for (uint64_t e = 0; e < NE; e++) ones += (uint64_t)__builtin_popcountll(j.eb[p][e]);
        ck_assert(fabs((double)ones / (64.0 * (double)NE) - 0.5) < 0.02);
    }
    /* daBits */
    uint64_t DW = (j.D + 63) / 64, ones = 0;
    bad = 0;
    for (int k = 0; k < j.batches; k++)
        for (uint64_t d = 0; d < j.D; d++) {
            uint64_t a = s_sum(j.dr, n, k * j.D + d);
            uint64_t x = (s_xor(j.db, n, k * DW + d / 64) >> (d % 64)) & 1;
            bad += a != x;
            ones += x;
        }
    ck_assert_msg(bad == 0, "n=%u: %llu daBits whose halves differ", n, (unsigned long long)bad);
    double ND = (double)(j.D * j.batches);
    ck_assert_msg(fabs((double)ones / ND - 0.5) < 6 * 0.5 / sqrt(ND), "n=%u daBits: %f ones", n, (double)ones / ND);
    /* binary triples: every lane */
    uint64_t NW = j.BW * j.batches, pa = 0, pb = 0, pc = 0, dup = 0;
    bad = 0;
    for (uint64_t w = 0; w < NW; w++) {
        uint64_t a = s_xor(j.ba, n, w), b = s_xor(j.bb, n, w), c = s_xor(j.bc, n, w);
        bad += (uint64_t)__builtin_popcountll((a & b) ^ c);
        pa += (uint64_t)__builtin_popcountll(a);
        pb += (uint64_t)__builtin_popcountll(b);
        pc += (uint64_t)__builtin_popcountll(c);
        if (w >= j.BW) dup += a == s_xor(j.ba, n, w - j.BW);
    }
    ck_assert_msg(bad == 0, "n=%u: %llu binary triple lanes wrong", n, (unsigned long long)bad);
    ck_assert_uint_eq(dup, 0);
    double bits = 64.0 * (double)NW, tb = 6 * 0.5 / sqrt(bits);
    ck_assert(fabs((double)pa / bits - 0.5) < tb && fabs((double)pb / bits - 0.5) < tb);
    ck_assert(fabs((double)pc / bits - 0.25) < tb);   /* c = a ∧ b: one lane in four */
    if (n == 2) {
        /* party 0's bytes to its peer, exactly: setup, then per batch the digest, the
         * triples (COT message and Gilboa corrections), the truncation bits, the comparison
         * bits in two chunks (s_p0_bits), the binary triples in chunks of COT message + one
         * correction word per word — each message with a 32-byte header */
        uint64_t k = MPC_PREP_OT_K, nb2 = 476 * 64 + 2037;
        uint8_t *w = malloc(65536);
        for (uint64_t e = 0; e < 300; e++)
            for (uint32_t b = 0; b <= 40; b++) w[e * 41 + b] = (uint8_t)(b < 16 ? 64 - b : b < 40 ? 64 - (b - 16) : 64);
        uint64_t per = 32 + 32, C = MPC_PREP_OT_CHUNK;
        for (uint64_t e0 = 0; e0 < j.T; e0 += C) {
            uint64_t q = j.T - e0 < C ? j.T - e0 : C;
            per += 32 + 8 * mpc_cot_msg_words_k(k, 64 * q) + 32 + 8 * mpc_gilboa_corr_words(q);
        }
        per += s_p0_bits(w, 300 * 41, (uint32_t)k);
        for (uint64_t b = 0; b < 65536; b++) w[b] = (uint8_t)(64 - b % 64);   /* edaBits only */
        per += s_p0_bits(w, 65536, (uint32_t)k);
        for (uint64_t b = 0; b < nb2; b++) w[b] = (uint8_t)(b < 476 * 64 ? 64 - b % 64 : 64);
        per += s_p0_bits(w, nb2, (uint32_t)k);
        free(w);
        for (uint64_t e0 = 0; e0 < j.BW; e0 += C) {
            uint64_t q = j.BW - e0 < C ? j.BW - e0 : C;
            per += 32 + 8 * mpc_cot_msg_words_k(k, 64 * q) + 32 + 8 * q;
        }
        uint64_t want = 32 * (2 + (k > 1)) + 80 + 4096 + (k > 1 ? 8192 : 0) + 2 * per;
        ck_assert_msg(j.st[0].bytes_sent == want, "party 0 sent %llu bytes, expected %llu",
                      (unsigned long long)j.st[0].bytes_sent, (unsigned long long)want);
    }
    s_free(&j);
}

START_TEST(test_cmp_material)
{
    s_cmp_material(2);
    s_cmp_material(3);
    s_cmp_material(4);
}
END_TEST

/* ---- primitive agreement: AES only where both ends have it ---- */

START_TEST(test_portable_agreed)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = 3;
    j.T = 4000;
    j.batches = 1;
    j.specs[0] = (mpc_prep_trunc_spec){.m = 8, .l = 30, .n = 500};
    j.ng = 1;
    j.opts[2].force_portable = 1;
    s_run(&j);
    for (uint32_t p = 0; p < 3; p++) ck_assert_msg(j.rc[p] == 0, "party %u: %s", p, mpc_strerror(j.rc[p]));
    s_check_triples(&j);
    const char *best = mpc_sym_name(mpc_sym_best());
    ck_assert_str_eq(j.hash[0][1], best);
    ck_assert_str_eq(j.hash[1][0], best);
    ck_assert_str_eq(j.hash[0][2], "blake2b");
    ck_assert_str_eq(j.hash[2][0], "blake2b");
    ck_assert_str_eq(j.hash[1][2], "blake2b");
    ck_assert_str_eq(j.hash[2][1], "blake2b");
    ck_assert_int_eq(j.st[0].kind[2], MPC_SYM_PORTABLE);
    for (uint64_t e = 0; e < 500; e++) {
        uint64_t lo = 0, mid = 0, msb = 0;
        for (uint32_t p = 0; p < 3; p++) {
            lo += j.lo[p][e];
            mid += j.mid[p][e];
            msb += j.msb[p][e];
        }
        ck_assert(lo < 256 && mid < (1u << 22) && msb <= 1);
    }
    s_free(&j);
}
END_TEST

/* mpc_gilboa_recv_hashes + mpc_gilboa_recv_corr is mpc_gilboa_recv, and with the sender's
 * share the products come out: random hashes h0, h1, b, with h = b_k ? h1 : h0, an odd n
 * (the last pair half full). */
START_TEST(test_gilboa_split)
{
    const uint64_t n = 37;
    uint64_t *h0 = malloc(64 * n * 8), *h1 = malloc(64 * n * 8), *h = malloc(64 * n * 8);
    uint64_t a[37], b[37], u[37], v1[37], v2[37], *corr = malloc(mpc_gilboa_corr_words(n) * 8);
    randombytes_buf(h0, 64 * n * 8);
    randombytes_buf(h1, 64 * n * 8);
    randombytes_buf(a, sizeof a);
    randombytes_buf(b, sizeof b);
    for (uint64_t e = 0; e < n; e++)
        for (unsigned k = 0; k < 64; k++) h[64 * e + k] = (b[e] >> k) & 1 ? h1[64 * e + k] : h0[64 * e + k];
    memset(u, 0, sizeof u);
    mpc_gilboa_send(u, corr, a, h0, h1, n);
    for (uint64_t e = 0; e < n; e++) v1[e] = v2[e] = 5 * e;
    mpc_gilboa_recv(v1, b, h, corr, n);
    mpc_gilboa_recv_corr(v2, b, corr, n);
    mpc_gilboa_recv_hashes(v2, h, n);
    for (uint64_t e = 0; e < n; e++) {
        ck_assert_uint_eq(v1[e], v2[e]);
        ck_assert_uint_eq(u[e] + v2[e] - 5 * e, a[e] * b[e]);
    }
    free(h0); free(h1); free(h); free(corr);
}
END_TEST

/* ---- the chunk pipeline: windows and threads ----
 * Triples and binary triples over many small chunks (64 per chunk) with every window from
 * lock-step to the largest and one or two compute threads per party (mixed: the thread
 * count is each party's own business), 2 and 3 parties, two requests per source: every
 * triple must satisfy Σc = Σa·Σb and (⊕ba)∧(⊕bb) = ⊕bc, and the bytes sent must be those of
 * lock-step (the schedule moves messages, it adds none).  Parties with different windows
 * refuse at setup. */
static void s_check_btriples(const s_job *j)
{
    uint64_t N = j->BW * (uint64_t)j->batches, bad = 0;
    for (uint64_t w = 0; w < N; w++) {
        uint64_t a = 0, b = 0, c = 0;
        for (uint32_t p = 0; p < j->n; p++) {
            a ^= j->ba[p][w];
            b ^= j->bb[p][w];
            c ^= j->bc[p][w];
        }
        bad += (a & b) != c;
    }
    ck_assert_uint_eq(bad, 0);
}

START_TEST(test_pipeline_windows)
{
    const int32_t windows[] = {-1, 1, 2, MPC_PREP_OT_WINDOW, MPC_PREP_OT_WINDOW_MAX};
    for (uint32_t n = 2; n <= 3; n++) {
        uint64_t lockstep_bytes = 0;
        for (size_t wi = 0; wi < sizeof windows / sizeof windows[0]; wi++) {
            s_job j;
            memset(&j, 0, sizeof j);
            j.n = n;
            j.T = 1001;        /* 16 chunks, the last one short */
            j.BW = 333;
            j.batches = 2;
            for (uint32_t p = 0; p < n; p++) {
                j.opts[p].chunk = 64;
                j.opts[p].window = windows[wi];
                j.opts[p].threads = 1 + (p + wi) % 2;
            }
            s_run(&j);
            for (uint32_t p = 0; p < n; p++)
                ck_assert_msg(j.rc[p] == 0, "n=%u window %d party %u: %s", n, windows[wi], p, mpc_strerror(j.rc[p]));
            s_check_triples(&j);
            s_check_btriples(&j);
            if (wi == 0) lockstep_bytes = j.st[0].bytes_sent;
            ck_assert_uint_eq(j.st[0].bytes_sent, lockstep_bytes);
            s_free(&j);
        }
        /* windows that differ */
        s_job j;
        memset(&j, 0, sizeof j);
        j.n = n;
        j.T = 100;
        j.batches = 1;
        j.opts[0].window = 2;
        s_run(&j);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_int_ne(j.rc[p], 0);
            ck_assert(j.rc[p] == MPC_ERR_PROTOCOL || j.rc[p] == MPC_ERR_PEER_ABORT);
        }
        s_free(&j);
    }
}
END_TEST

/* ---- requests must agree ---- */

START_TEST(test_mismatch_aborts)
{
    for (uint32_t n = 2; n <= 3; n++) {
        s_job j;
        memset(&j, 0, sizeof j);
        j.n = n;
        j.T = 3000;
        j.batches = 2;
        j.skew = 2;   /* party 1 asks for one triple more in the first batch */
        s_run(&j);
        int protocol = 0;
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_int_ne(j.rc[p], 0);
            ck_assert(j.rc[p] == MPC_ERR_PROTOCOL || j.rc[p] == MPC_ERR_PEER_ABORT);
            protocol += j.rc[p] == MPC_ERR_PROTOCOL;
        }
        ck_assert_int_ge(protocol, 1);
        s_free(&j);
    }
}
END_TEST

/* ---- privacy: party 0's view does not depend on party 1's a_1, b_1 ----
 * Party 1's a_1 = b_1 = 0 in one run and a_1 = b_1 = 2^64 − 1 in the other (given with
 * mpc_prep_ot_fetch_given); everything else
 * fresh.  In both runs every word party 0 receives (u columns, packed corrections) must be
 * balanced bit by bit, and the two views must agree on half their bits (independent).  An
 * implementation that sent b_1's bits unmasked (u = x) or a_1 unmasked (τ = a) fails all
 * three: the views would be all-zero and all-one. */
static uint64_t *s_view(uint64_t ab, uint64_t *len)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = 2;
    j.T = 16384;
    j.batches = 1;
    j.view_party = 1;
    j.given_party = 2;
    j.given_ab = ab;
    s_run(&j);
    ck_assert_int_eq(j.rc[0], 0);
    ck_assert_int_eq(j.rc[1], 0);
    /* the material is still right: a_1 = b_1 = ab on party 1 */
    for (uint64_t t = 0; t < j.T; t++) ck_assert_uint_eq(j.a[1][t], ab);
    s_check_triples(&j);
    uint64_t *v = j.view;
    *len = j.view_len;
    j.view = NULL;
    s_free(&j);
    return v;
}

START_TEST(test_view_independent_of_peer_ab)
{
    uint64_t l0, l1;
    uint64_t *v0 = s_view(0, &l0), *v1 = s_view(UINT64_MAX, &l1);
    ck_assert_uint_eq(l0, l1);
    /* skip the setup (hello 10 words, base-OT points 512, padded GGM sums 1024) and the
     * request digest (4); what remains is the COT messages and the corrections */
    uint64_t skip = 10 + 512 + (MPC_PREP_OT_K > 1 ? 1024 : 0) + 4, N = l0 - skip;
    ck_assert_uint_eq(N, mpc_cot_msg_words_k(MPC_PREP_OT_K, 64 * 16384) + mpc_gilboa_corr_words(16384));
    uint64_t ones0 = 0, ones1 = 0, agree = 0, pos0[64] = {0}, pos1[64] = {0};
    for (uint64_t k = skip; k < l0; k++) {
        ones0 += (uint64_t)__builtin_popcountll(v0[k]);
        ones1 += (uint64_t)__builtin_popcountll(v1[k]);
        agree += (uint64_t)__builtin_popcountll(~(v0[k] ^ v1[k]));
        for (int b = 0; b < 64; b++) {
            pos0[b] += (v0[k] >> b) & 1;
            pos1[b] += (v1[k] >> b) & 1;
        }
    }
    double bits = 64.0 * (double)N, tol = 6 * 0.5 / sqrt(bits);
    ck_assert_msg(fabs((double)ones0 / bits - 0.5) < tol, "view bits, a=b=0: %f", (double)ones0 / bits);
    ck_assert_msg(fabs((double)ones1 / bits - 0.5) < tol, "view bits, a=b=~0: %f", (double)ones1 / bits);
    ck_assert_msg(fabs((double)agree / bits - 0.5) < tol, "views agree on %f", (double)agree / bits);
    double tolb = 6 * 0.5 / sqrt((double)N);
    for (int b = 0; b < 64; b++) {
        ck_assert(fabs((double)pos0[b] / (double)N - 0.5) < tolb);
        ck_assert(fabs((double)pos1[b] / (double)N - 0.5) < tolb);
    }
    free(v0);
    free(v1);
}
END_TEST

/* The same for binary triples: party 1's words a_1 = b_1 = 0 in one run, all ones in the
 * other.  Party 0 receives COT messages whose choices are b_1's bits and one-bit
 * corrections that carry a_1: every received word after the setup and the digest must be
 * balanced in both runs, and the two views independent. */
static uint64_t *s_bview(uint64_t ab, uint64_t *len)
{
    s_job j;
    memset(&j, 0, sizeof j);
    j.n = 2;
    j.T = 0;
    j.BW = 8192;
    j.batches = 1;
    j.opts[0].chunk = j.opts[1].chunk = 4096;   /* the layout read below */
    j.view_party = 1;
    j.given_party = 2;
    j.given_ab = ab;
    s_run(&j);
    ck_assert_int_eq(j.rc[0], 0);
    ck_assert_int_eq(j.rc[1], 0);
    for (uint64_t w = 0; w < j.BW; w++) {
        ck_assert_uint_eq(j.ba[1][w], ab);
        ck_assert_uint_eq((j.ba[0][w] ^ j.ba[1][w]) & (j.bb[0][w] ^ j.bb[1][w]), j.bc[0][w] ^ j.bc[1][w]);
    }
    uint64_t *v = j.view;
    *len = j.view_len;
    j.view = NULL;
    s_free(&j);
    return v;
}

START_TEST(test_view_independent_of_peer_binary)
{
    uint64_t l0, l1;
    uint64_t *v0 = s_bview(0, &l0), *v1 = s_bview(UINT64_MAX, &l1);
    ck_assert_uint_eq(l0, l1);
    uint64_t skip = 10 + 512 + (MPC_PREP_OT_K > 1 ? 1024 : 0) + 4, N = l0 - skip;
    /* two chunks of 4096 words: COT messages and one correction word per word */
    ck_assert_uint_eq(N, 2 * (mpc_cot_msg_words_k(MPC_PREP_OT_K, 64 * 4096) + 4096));
    uint64_t ones0 = 0, ones1 = 0, agree = 0;
    for (uint64_t k = skip; k < l0; k++) {
        ones0 += (uint64_t)__builtin_popcountll(v0[k]);
        ones1 += (uint64_t)__builtin_popcountll(v1[k]);
        agree += (uint64_t)__builtin_popcountll(~(v0[k] ^ v1[k]));
    }
    double bits = 64.0 * (double)N, tol = 6 * 0.5 / sqrt(bits);
    ck_assert_msg(fabs((double)ones0 / bits - 0.5) < tol, "view bits, a=b=0: %f", (double)ones0 / bits);
    ck_assert_msg(fabs((double)ones1 / bits - 0.5) < tol, "view bits, a=b=~0: %f", (double)ones1 / bits);
    ck_assert_msg(fabs((double)agree / bits - 0.5) < tol, "views agree on %f", (double)agree / bits);
    /* the correction words alone (the last 4096 of each chunk): balanced too */
    uint64_t c0 = 0, c1 = 0, cw = mpc_cot_msg_words_k(MPC_PREP_OT_K, 64 * 4096);
    for (int ch = 0; ch < 2; ch++)
        for (uint64_t k = 0; k < 4096; k++) {
            uint64_t at = skip + (uint64_t)ch * (cw + 4096) + cw + k;
            c0 += (uint64_t)__builtin_popcountll(v0[at]);
            c1 += (uint64_t)__builtin_popcountll(v1[at]);
        }
    double cb = 64.0 * 8192, tc = 6 * 0.5 / sqrt(cb);
    ck_assert_msg(fabs((double)c0 / cb - 0.5) < tc && fabs((double)c1 / cb - 0.5) < tc,
                  "corrections: %f, %f ones", (double)c0 / cb, (double)c1 / cb);
    free(v0);
    free(v1);
}
END_TEST

/* ---- the engine with OT material ---- */

typedef struct {
    mpc_mem_hub   *hub;
    mpc_transport *t[MAXP];
    uint32_t       n;
} s_engprep;

static void s_eng_before(mpc_mem_hub *hub, void *arg)
{
    (void)hub;
    s_engprep *e = arg;
    e->hub = mpc_mem_hub_new(e->n, 20000);
    for (uint32_t p = 0; p < e->n; p++) e->t[p] = mpc_mem_transport_new(e->hub, p);
}

static mpc_prep *s_eng_make(uint32_t p, void *arg)
{
    s_engprep *e = arg;
    mpc_prep_ot_opts o = {.timeout_ms = 20000};
    return mpc_prep_ot_new(e->t[p], p, e->n, STREAM, &o);
}

static uint64_t s_floor_shift(uint64_t x, unsigned m)
{
    uint64_t r = x >> m;
    if (x >> 63) r |= ~(UINT64_MAX >> m);
    return r;
}

START_TEST(test_engine_with_ot_material)
{
    for (uint32_t n = 2; n <= 3; n++) {
        uint64_t L = 3000;
        mpc_circuit *c = mpc_circ_new();
        char name[16];
        for (uint32_t p = 0; p < n; p++) {
            snprintf(name, sizeof name, "p%u", (unsigned)p);
            ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
        }
        uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
        uint32_t y = mpc_circ_add_input(c, "y", n - 1, MPC_T_INT, L, 2, 1);
        uint32_t m = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 3, 1);
        uint32_t m2 = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, L, m, x, MPC_NO_WIRE, 0, 0, 4, 1);
        uint32_t d = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, x, y, MPC_NO_WIRE, 0, 0, 5, 1);
        uint32_t t = mpc_circ_add_gate(c, MPC_G_TRUNC, MPC_T_FIX, L, m, MPC_NO_WIRE, MPC_NO_WIRE, 8, 40, 6, 1);
        ck_assert_int_ge(mpc_circ_add_output(c, "m2", m2, (1u << n) - 1, 7, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "d", d, 1u, 8, 1), 0);
        ck_assert_int_ge(mpc_circ_add_output(c, "t", t, 1u, 9, 1), 0);
        char err[256];
        ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
        uint64_t *xv = malloc(L * 8), *yv = malloc(L * 8);
        for (uint64_t k = 0; k < L; k++) {
            xv[k] = et_rand64() % 40000;      /* x·y < 2^31: inside TRUNC's l = 40 */
            yv[k] = et_rand64() % 40000;
            if (k & 1) yv[k] = 0 - yv[k];
        }
        const uint64_t *vals[2] = {xv, yv};
        s_engprep ep = {.n = n};
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 99;
        j.timeout_ms = 20000;
        j.before = s_eng_before;
        j.make_prep = s_eng_make;
        j.before_arg = &ep;
        et_plain_inputs(&j, vals);
        ck_assert_int_eq(et_run(&j), 0);
        for (uint32_t p = 0; p < n; p++)
            ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "n=%u party %u: %s", n, p, j.err[p]);
        uint64_t dot = 0, bad = 0;
        for (uint64_t k = 0; k < L; k++) {
            uint64_t mm = xv[k] * yv[k];
            dot += mm;
            bad += j.value[0][0][k] != mm * xv[k];
            uint64_t f = s_floor_shift(mm, 8);
            bad += j.value[0][2][k] != f && j.value[0][2][k] != f + 1;
        }
        ck_assert_uint_eq(bad, 0);
        ck_assert_uint_eq(j.value[0][1][0], dot);
        ck_assert_uint_eq(j.prep_triples[0], 3 * L);
        et_clear(&j);
        for (uint32_t p = 0; p < n; p++) mpc_transport_destroy(&ep.t[p]);
        mpc_mem_hub_destroy(&ep.hub);
        mpc_circ_destroy(&c);
        free(xv);
        free(yv);
    }
}
END_TEST

/* Comparisons through the engine on OT material: a compiled program with <, <=, >, ==, !=,
 * min, max and abs (LTZ, EQZ and SELECT as the compiler emits them) gives exactly what the
 * plaintext evaluator gives, on random values, ties and the edge values of the ring. */
static uint64_t *s_cmp_inputs(uint64_t L, int which)
{
    static const uint64_t edge[] = {0, 1, UINT64_MAX, 2, UINT64_MAX - 1, 1ull << 62, 0 - (1ull << 62),
                                    INT64_MAX, 1ull << 63, (1ull << 63) + 1, INT64_MAX - 1};
    const uint64_t ne = sizeof edge / sizeof edge[0];
    uint64_t *v = malloc(L * 8);
    for (uint64_t k = 0; k < L; k++) {
        v[k] = (uint64_t)((int64_t)(et_rand64() >> 24) - (1ll << 39));   /* a − b never wraps */
        if (k < ne * ne) v[k] = which ? edge[k % ne] : edge[k / ne];    /* every pair of edges */
        else if (k % 5 == 0 && which) v[k] = 0;                          /* ties come below */
    }
    return v;
}

START_TEST(test_engine_comparisons_ot)
{
    for (uint32_t n = 2; n <= 3; n++) {
        const uint64_t L = 300;
        char src[512];
        snprintf(src, sizeof src,
                 "party p0, p1%s\n"
                 "input x: int[%llu] from p0\n"
                 "input y: int[%llu] from p1\n"
                 "output lt = x < y, le = x <= y, gt = x > y, eq = x == y, ne = x != y,\n"
                 "       mn = min(x, y), mx = max(x, y), ab = abs(x) to p0\n",
                 n == 3 ? ", p2" : "", (unsigned long long)L, (unsigned long long)L);
        mpc_circuit *c = NULL;
        mpc_diag d;
        ck_assert_msg(mpc_compile(src, strlen(src), "cmp.mpc", NULL, 0, &c, &d) == 0, "compile:\n%s", src);
        mpc_diag_free(&d);
        uint64_t *xv = s_cmp_inputs(L, 0), *yv = s_cmp_inputs(L, 1);
        for (uint64_t k = 200; k < L; k += 3) yv[k] = xv[k];   /* ties */
        const uint64_t *vals[2] = {xv, yv};
        mpc_eval_result ev;
        char err[256];
        ck_assert_int_eq(mpc_eval(c, vals, &ev, err, sizeof err), 0);
        s_engprep ep = {.n = n};
        et_job j;
        memset(&j, 0, sizeof j);
        j.c = c;
        j.job = 77;
        j.timeout_ms = 20000;
        j.before = s_eng_before;
        j.make_prep = s_eng_make;
        j.before_arg = &ep;
        et_plain_inputs(&j, vals);
        ck_assert_int_eq(et_run(&j), 0);
        for (uint32_t p = 0; p < n; p++)
            ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "n=%u party %u: %s", n, p, j.err[p]);
        ck_assert_uint_eq(c->n_outputs, 8);
        for (uint32_t o = 0; o < 8; o++)
            for (uint64_t k = 0; k < L; k++)
                ck_assert_msg(j.value[0][o][k] == ev.outputs[o][k], "n=%u output %s[%llu]: %llx, evaluator %llx",
                              n, c->outputs[o].name, (unsigned long long)k,
                              (unsigned long long)j.value[0][o][k], (unsigned long long)ev.outputs[o][k]);
        /* the material came from the OT source: comparisons ran and consumed it */
        ck_assert_uint_ge(j.st[0].comparisons, 3 * L);
        ck_assert_uint_eq(j.st[0].edabits, j.st[0].comparisons);
        ck_assert_uint_gt(j.st[0].btriples, 0);
        ck_assert_uint_gt(ep.t[0]->bytes_sent, 0);
        mpc_eval_result_free(&ev);
        et_clear(&j);
        for (uint32_t p = 0; p < n; p++) mpc_transport_destroy(&ep.t[p]);
        mpc_mem_hub_destroy(&ep.hub);
        mpc_circ_destroy(&c);
        free(xv);
        free(yv);
    }
}
END_TEST

/* ---- failures: a silent peer times out, a malformed or hostile setup is refused, and a
 * failed source refuses further requests ---- */

static int s_alone(const mpc_msg_hdr *inj, const uint64_t *payload, uint64_t cnt, int timeout_ms)
{
    mpc_mem_hub *h = mpc_mem_hub_new(2, timeout_ms);
    mpc_transport *t = mpc_mem_transport_new(h, 0);
    if (inj) ck_assert_int_eq(mpc_mem_inject(h, 0, inj, payload, cnt), 0);
    mpc_prep_ot_opts o = {.timeout_ms = timeout_ms};
    mpc_prep *p = mpc_prep_ot_new(t, 0, 2, STREAM, &o);
    ck_assert_ptr_nonnull(p);
    uint64_t a[4], b[4], c[4];
    mpc_prep_req req = {.n_triples = 4};
    mpc_prep_out out = {.a = a, .b = b, .c = c};
    int r = mpc_prep_fetch(p, &req, &out);
    ck_assert_int_eq(mpc_prep_fetch(p, &req, &out), MPC_ERR_STATE);
    mpc_prep_destroy(&p);
    ck_assert_ptr_null(p);
    mpc_transport_destroy(&t);
    mpc_mem_hub_destroy(&h);
    return r;
}

START_TEST(test_failures)
{
    ck_assert_int_eq(s_alone(NULL, NULL, 0, 300), MPC_ERR_TIMEOUT);
    /* a hello with another version, then one with the identity as A (a valid version) */
    uint64_t hello[10] = {0x4d50434f54000001ull, 1u | (MPC_PREP_OT_K << 8) | (MPC_PREP_OT_WINDOW << 16)};
    mpc_msg_hdr hd = {.version = MPC_WIRE_VERSION, .type = MPC_MSG_PREP, .sender = 1,
                      .stream = STREAM, .seq = 0, .count = 10};
    ck_assert_int_eq(s_alone(&hd, hello, 10, 2000), MPC_ERR_PROTOCOL);
    hello[0] = 0x4d50434f54000002ull;
    hello[1] = 1u | (MPC_PREP_OT_K << 8) | ((MPC_PREP_OT_WINDOW + 1) << 16);   /* another window */
    ck_assert_int_eq(s_alone(&hd, hello, 10, 2000), MPC_ERR_PROTOCOL);
    hello[1] = 1u | (MPC_PREP_OT_K << 8) | (MPC_PREP_OT_WINDOW << 16);
    ck_assert_int_eq(s_alone(&hd, hello, 10, 2000), MPC_ERR_CRYPTO);
    /* a hello of the wrong length */
    hd.count = 9;
    ck_assert_int_eq(s_alone(&hd, hello, 9, 2000), MPC_ERR_PROTOCOL);
    /* bad arguments */
    mpc_mem_hub *h = mpc_mem_hub_new(2, 100);
    mpc_transport *t = mpc_mem_transport_new(h, 0);
    mpc_prep_ot_opts bad = {.ot_k = 3};
    ck_assert_ptr_null(mpc_prep_ot_new(t, 0, 2, STREAM, &bad));
    mpc_prep_ot_opts badw = {.window = MPC_PREP_OT_WINDOW_MAX + 1};
    ck_assert_ptr_null(mpc_prep_ot_new(t, 0, 2, STREAM, &badw));
    ck_assert_ptr_null(mpc_prep_ot_new(t, 1, 2, STREAM, NULL));
    ck_assert_ptr_null(mpc_prep_ot_new(t, 0, 1, STREAM, NULL));
    mpc_transport_destroy(&t);
    mpc_mem_hub_destroy(&h);
}
END_TEST

/* ---- measurements (printed, never asserted) ---- */

START_TEST(test_print_rates)
{
    mpc_prep_ot_bench_result r;
    mpc_prep_ot_opts o = {.timeout_ms = 60000};
    double want = 1024.0 / MPC_PREP_OT_K + 260;
    ck_assert_int_eq(mpc_prep_ot_bench(2, S_MILLION / 2, 0, &o, &r), 0);
    mpc_prep_ot_bench_print(stdout, &r);
    ck_assert(r.bytes_per_triple >= want && r.bytes_per_triple < want + 1);
    ck_assert_int_eq(mpc_prep_ot_bench(3, S_MILLION / 8, 0, &o, &r), 0);
    mpc_prep_ot_bench_print(stdout, &r);
    ck_assert(r.bytes_per_triple >= 2 * want && r.bytes_per_triple < 2 * want + 1);
    fflush(stdout);
}
END_TEST

/* Comparisons x < y on OT material, timed: all parties as threads over the in-memory
 * transport, everything included (base OTs, the material, the 8 rounds of the comparison).
 * A wrapper around each party's source times its fetches (the preprocessing share). */
typedef struct {
    s_engprep base;
    uint64_t  prep_ns[MAXP], prep_cpu_ns[MAXP];
} s_timedprep;

typedef struct {
    mpc_prep *inner;
    uint64_t *ns, *cpu_ns;
} s_timed;

static uint64_t s_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t s_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int s_timed_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_timed *t = p->impl;
    uint64_t t0 = s_ns(), c0 = s_cpu_ns();
    int r = mpc_prep_fetch(t->inner, req, out);
    *t->ns += s_ns() - t0;
    *t->cpu_ns += s_cpu_ns() - c0;
    return r;
}

static void s_timed_abort(mpc_prep *p, int code)
{
    s_timed *t = p->impl;
    mpc_prep_abort(t->inner, code);
}

static void s_timed_destroy(mpc_prep **pp)
{
    s_timed *t = (*pp)->impl;
    mpc_prep_destroy(&t->inner);
    free(t);
    free(*pp);
    *pp = NULL;
}

static const struct mpc_prep_ops s_timed_ops = {s_timed_fetch, s_timed_abort, s_timed_destroy};

static mpc_prep *s_timed_make(uint32_t party, void *arg)
{
    s_timedprep *tp = arg;
    mpc_prep *p = calloc(1, sizeof *p);
    s_timed *t = calloc(1, sizeof *t);
    mpc_prep_ot_opts o = {.timeout_ms = 60000};
    if (p && t) t->inner = mpc_prep_ot_new(tp->base.t[party], party, tp->base.n, STREAM, &o);
    if (!p || !t || !t->inner) {
        free(p);
        free(t);
        return NULL;
    }
    t->ns = &tp->prep_ns[party];
    t->cpu_ns = &tp->prep_cpu_ns[party];
    p->ops = &s_timed_ops;
    p->impl = t;
    p->self = party;
    p->n = tp->base.n;
    p->caps = t->inner->caps;
    return p;
}

static void s_time_cmp(uint32_t n, uint64_t L)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16];
    for (uint32_t p = 0; p < n; p++) {
        snprintf(name, sizeof name, "p%u", (unsigned)p);
        ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
    }
    uint32_t x = mpc_circ_add_input(c, "x", 0, MPC_T_INT, L, 1, 1);
    uint32_t y = mpc_circ_add_input(c, "y", 1, MPC_T_INT, L, 1, 1);
    uint32_t d = mpc_circ_add_gate(c, MPC_G_SUB, MPC_T_INT, L, x, y, MPC_NO_WIRE, 0, 0, 2, 1);
    uint32_t o = mpc_circ_add_gate(c, MPC_G_LTZ, MPC_T_BOOL, L, d, MPC_NO_WIRE, MPC_NO_WIRE, 0, 0, 2, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "o", o, 1u, 3, 1), 0);
    char err[256];
    ck_assert_int_eq(mpc_circ_finish(c, err, sizeof err), 0);
    uint64_t *xv = malloc(L * 8), *yv = malloc(L * 8);
    for (uint64_t k = 0; k < L; k++) {
        xv[k] = et_rand64();
        yv[k] = et_rand64();
    }
    const uint64_t *vals[2] = {xv, yv};
    s_timedprep tp;
    memset(&tp, 0, sizeof tp);
    tp.base.n = n;
    et_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.job = 55;
    j.timeout_ms = 60000;
    j.before = s_eng_before;
    j.make_prep = s_timed_make;
    j.before_arg = &tp.base;
    et_plain_inputs(&j, vals);
    uint64_t t0 = s_ns();
    ck_assert_int_eq(et_run(&j), 0);
    double secs = (double)(s_ns() - t0) * 1e-9;
    for (uint32_t p = 0; p < n; p++) ck_assert_msg(j.rc[p] == 0 && j.open_rc[p] == 0, "%s", j.err[p]);
    for (uint64_t k = 0; k < L; k++)
        if (j.value[0][0][k] != (xv[k] - yv[k]) >> 63) ck_abort_msg("comparison %llu wrong", (unsigned long long)k);
    static const double spdz[4] = {0, 0, 0.45, 1.96};   /* MP-SPDZ semi2k, 10^4 comparisons, s (docs/preprocessing.md) */
    double rate = (double)L / secs, target = 2e4 / spdz[n];
    printf("comparisons on OT material: %6llu x < y, n = %u, in-memory: %.3f s (%.0f per s; preprocessing "
           "%.3f s of it on party 0, base OTs included; its CPU %.2f us per comparison), %.0f preprocessing + "
           "%.1f online bytes sent per comparison per party; MP-SPDZ semi2k ≈%.0f per s, so %.1f x it "
           "(target 2 x)\n",
           (unsigned long long)L, (unsigned)n, secs, rate, (double)tp.prep_ns[0] * 1e-9,
           (double)tp.prep_cpu_ns[0] * 1e-3 / (double)L, (double)tp.base.t[0]->bytes_sent / (double)L,
           (double)j.st[0].bytes_sent / (double)L, 1e4 / spdz[n], rate / (target / 2));
    fflush(stdout);
    et_clear(&j);
    for (uint32_t p = 0; p < n; p++) mpc_transport_destroy(&tp.base.t[p]);
    mpc_mem_hub_destroy(&tp.base.hub);
    mpc_circ_destroy(&c);
    free(xv);
    free(yv);
}

START_TEST(test_print_cmp_rates)
{
    for (uint32_t n = 2; n <= 3; n++) {
#if defined(__SANITIZE_ADDRESS__)
        s_time_cmp(n, 1000);   /* the sanitizer run checks the code, not the speed */
        s_time_cmp(n, 10000);
#else
        s_time_cmp(n, 10000);
        s_time_cmp(n, 100000);
#endif
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("prep_ot");
    TCase *big = tcase_create("million");   /* CK_RUN_CASE=core skips these */
    tcase_set_timeout(big, 300);
    tcase_add_test(big, test_triples_n2);
    tcase_add_test(big, test_triples_n3);
    tcase_add_test(big, test_triples_n5);
    suite_add_tcase(su, big);
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_block_sizes);
    tcase_add_test(tc, test_square_pairs);
    tcase_add_test(tc, test_view_independent_of_peer_sa);
    tcase_add_test(tc, test_trunc_tuples);
    tcase_add_test(tc, test_cmp_material);
    tcase_add_test(tc, test_portable_agreed);
    tcase_add_test(tc, test_mismatch_aborts);
    tcase_add_test(tc, test_pipeline_windows);
    tcase_add_test(tc, test_gilboa_split);
    tcase_add_test(tc, test_view_independent_of_peer_ab);
    tcase_add_test(tc, test_view_independent_of_peer_binary);
    tcase_add_test(tc, test_engine_with_ot_material);
    tcase_add_test(tc, test_engine_comparisons_ot);
    tcase_add_test(tc, test_failures);
    suite_add_tcase(su, tc);
    TCase *rates = tcase_create("rates");
    tcase_set_timeout(rates, 300);
    tcase_add_test(rates, test_print_rates);
    suite_add_tcase(su, rates);
    TCase *cmprates = tcase_create("cmprates");
    tcase_set_timeout(cmprates, 300);
    tcase_add_test(cmprates, test_print_cmp_rates);
    suite_add_tcase(su, cmprates);
    return su;
}

