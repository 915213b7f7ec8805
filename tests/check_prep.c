/* check_prep.c — preprocessing: the dealer's material is correct (c = a·b summed over the
 * parties, over 10^6 triples; truncation tuples in range; edaBits, binary triples and
 * daBits consistent, with their compression bytes), the explicit party rotates,
 * mismatched requests abort every party, material is never handed out twice, and the
 * test-only local source agrees with the same arithmetic. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner.h"
#include "parties.h"
#include "mpc_err.h"
#include "prep_dealer.h"
#include "transport_mem.h"

#define STREAM (MPC_STREAM_PREP_BIT | 42)

typedef struct {
    mpc_transport *t;
    uint32_t       self, n;
    int            batches;
    uint64_t       T;
    mpc_prep_trunc_spec spec;  /* one group, spec.n tuples */
    int            skew;       /* this party asks for one triple more in batch 1 */
    int            rc;
    uint64_t      *a, *b, *c, *lo, *mid, *msb;   /* batches * T (or * spec.n) */
    uint64_t       handed;
    int            silent_ms;  /* after its batches, silent this long before it says goodbye */
    uint32_t       abort_from, abort_lost;   /* what an ABORT on the stream named */
} s_party;

static void *s_party_main(void *arg)
{
    s_party *p = arg;
    mpc_prep *src = mpc_prep_dealer_new(p->t, p->self, p->n, p->n, STREAM, 20000);
    ck_assert_ptr_nonnull(src);
    uint64_t R = p->spec.n;
    for (int k = 0; k < p->batches && p->rc == 0; k++) {
        mpc_prep_req req = {.n_triples = p->T + (p->skew && k == 1), .trunc = &p->spec, .n_trunc = R ? 1 : 0};
        uint64_t *extra = malloc((p->T + 1) * 8 * 3);
        mpc_prep_out out = {.a = p->skew ? extra : p->a + k * p->T, .b = p->skew ? extra + p->T + 1 : p->b + k * p->T,
                            .c = p->skew ? extra + 2 * (p->T + 1) : p->c + k * p->T,
                            .r_lo = p->lo + k * R, .r_mid = p->mid + k * R, .r_msb = p->msb + k * R};
        p->rc = mpc_prep_fetch(src, &req, &out);
        free(extra);
    }
    p->handed = src->triples_out;
    if (p->rc == MPC_ERR_PEER_ABORT) (void)mpc_transport_abort_info(p->t, STREAM, &p->abort_from, &p->abort_lost);
    if (p->rc) mpc_prep_abort(src, p->rc);
    if (p->silent_ms) {
        struct timespec ts = {p->silent_ms / 1000, (p->silent_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0) {
        }
    }
    mpc_prep_destroy(&src);
    return NULL;
}

typedef struct {
    mpc_transport   *t;
    uint32_t         n;
    int              rc;
    char             err[256];
    mpc_dealer_stats st;
    int              timeout_ms;   /* 0: 20 s */
} s_dealer;

static void *s_dealer_main(void *arg)
{
    s_dealer *d = arg;
    d->rc = mpc_dealer_serve(d->t, d->n, STREAM, d->timeout_ms ? d->timeout_ms : 20000, &d->st, d->err, sizeof d->err);
    return NULL;
}

/* Runs n parties (party_main each, args of stride `size` from ps, their transport slot
 * given by tslot) and the dealer over the in-memory hub, filling nodes[0..n]; the
 * transports stay until th_free(n + 1, nodes, &hub). */
static mpc_mem_hub *s_run_nodes(uint32_t n, void *(*party_main)(void *), void *ps, size_t size,
                                mpc_transport **(*tslot)(void *), s_dealer *d, th_node *nodes)
{
    for (uint32_t i = 0; i < n; i++) {
        void *p = (char *)ps + i * size;
        nodes[i] = (th_node){party_main, p, tslot(p), NULL};
    }
    d->n = n;
    nodes[n] = (th_node){s_dealer_main, d, &d->t, NULL};
    return th_run_mem_keep(n + 1, 20000, nodes);
}

static mpc_transport **s_party_t(void *p)
{
    s_party *ps = p;
    return &ps->t;
}

/* Runs n parties and the dealer; parties[] must be prepared except t/self/n. */
static void s_run(uint32_t n, s_party *ps, s_dealer *d)
{
    for (uint32_t i = 0; i < n; i++) {
        ps[i].self = i;
        ps[i].n = n;
    }
    th_node nodes[17];
    mpc_mem_hub *hub = s_run_nodes(n, s_party_main, ps, sizeof *ps, s_party_t, d, nodes);
    th_free(n + 1, nodes, &hub);
}

static void s_alloc(s_party *p, int batches, uint64_t T, uint64_t R)
{
    p->batches = batches;
    p->T = T;
    p->a = calloc(batches * T + 1, 8);
    p->b = calloc(batches * T + 1, 8);
    p->c = calloc(batches * T + 1, 8);
    p->lo = calloc(batches * R + 1, 8);
    p->mid = calloc(batches * R + 1, 8);
    p->msb = calloc(batches * R + 1, 8);
}

static void s_free(s_party *p)
{
    free(p->a); free(p->b); free(p->c); free(p->lo); free(p->mid); free(p->msb);
}

START_TEST(test_dealer_million_triples)
{
    uint32_t n = 3;
    uint64_t T = 250000;
    int batches = 4;   /* 10^6 triples; every party is explicit at least once */
    s_party ps[3];
    s_dealer d;
    memset(ps, 0, sizeof ps);
    memset(&d, 0, sizeof d);
    for (uint32_t i = 0; i < n; i++) {
        s_alloc(&ps[i], batches, T, 1000);
        ps[i].spec = (mpc_prep_trunc_spec){.m = 16, .l = 40, .n = 1000};
    }
    s_run(n, ps, &d);
    ck_assert_msg(d.rc == 0, "%s", d.err);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(ps[i].rc, 0);
        ck_assert_uint_eq(ps[i].handed, batches * T);
    }
    uint64_t bad = 0, repeat = 0;
    for (uint64_t k = 0; k < batches * T; k++) {
        uint64_t a = ps[0].a[k] + ps[1].a[k] + ps[2].a[k];
        uint64_t b = ps[0].b[k] + ps[1].b[k] + ps[2].b[k];
        uint64_t c = ps[0].c[k] + ps[1].c[k] + ps[2].c[k];
        bad += a * b != c;
        if (k >= T) repeat += ps[0].a[k] == ps[0].a[k - T];   /* fresh material per batch */
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(repeat, 0);
    /* truncation tuples: r_lo < 2^m, r_mid < 2^(l-m), r_msb a bit; all values seen */
    uint64_t msb_ones = 0;
    for (uint64_t k = 0; k < batches * 1000ull; k++) {
        uint64_t lo = ps[0].lo[k] + ps[1].lo[k] + ps[2].lo[k];
        uint64_t mid = ps[0].mid[k] + ps[1].mid[k] + ps[2].mid[k];
        uint64_t msb = ps[0].msb[k] + ps[1].msb[k] + ps[2].msb[k];
        ck_assert_uint_lt(lo, 1ull << 16);
        ck_assert_uint_lt(mid, 1ull << 24);
        ck_assert_uint_le(msb, 1);
        msb_ones += msb;
    }
    ck_assert(msb_ones > 1700 && msb_ones < 2300);
    /* explicit party rotates: batches 0..3 -> parties 0, 1, 2, 0 */
    ck_assert_uint_eq(d.st.batches, 4);
    ck_assert_uint_eq(d.st.explicit_count[0], 2);
    ck_assert_uint_eq(d.st.explicit_count[1], 1);
    ck_assert_uint_eq(d.st.explicit_count[2], 1);
    ck_assert_uint_eq(d.st.triples, batches * T);
    for (uint32_t i = 0; i < n; i++) s_free(&ps[i]);
}
END_TEST

/* Dealer traffic: a non-explicit party receives only its seed (plus headers). */
START_TEST(test_dealer_compression_bytes)
{
    uint32_t n = 2;
    s_party ps[2];
    s_dealer d;
    memset(ps, 0, sizeof ps);
    memset(&d, 0, sizeof d);
    for (uint32_t i = 0; i < n; i++) {
        s_alloc(&ps[i], 1, 10000, 0);
        ps[i].self = i;
        ps[i].n = n;
    }
    th_node nodes[3];
    mpc_mem_hub *h = s_run_nodes(n, s_party_main, ps, sizeof *ps, s_party_t, &d, nodes);
    ck_assert_int_eq(d.rc, 0);
    /* batch 0: party 0 explicit (seed + 8 bytes per triple), party 1 seed only */
    ck_assert_uint_eq(ps[0].t->bytes_recv, MPC_MEM_HDR_BYTES + 32 + 8 * 10000);
    ck_assert_uint_eq(ps[1].t->bytes_recv, MPC_MEM_HDR_BYTES + 32);
    ck_assert_uint_eq(d.t->bytes_sent, 2 * (MPC_MEM_HDR_BYTES + 32) + 8 * 10000);
    th_free(n + 1, nodes, &h);
    for (uint32_t i = 0; i < n; i++) s_free(&ps[i]);
}
END_TEST

START_TEST(test_dealer_mismatch_aborts)
{
    uint32_t n = 3;
    s_party ps[3];
    s_dealer d;
    memset(ps, 0, sizeof ps);
    memset(&d, 0, sizeof d);
    for (uint32_t i = 0; i < n; i++) s_alloc(&ps[i], 3, 100, 0);
    ps[2].skew = 1;   /* party 2 asks for 101 triples in batch 1 */
    s_run(n, ps, &d);
    ck_assert_int_eq(d.rc, MPC_ERR_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(d.err, "party 2"));
    for (uint32_t i = 0; i < n; i++) ck_assert_int_eq(ps[i].rc, MPC_ERR_PEER_ABORT);
    for (uint32_t i = 0; i < n; i++) s_free(&ps[i]);
}
END_TEST

/* A party that goes silent (a frozen daemon): the dealer times out on it and its ABORT names
 * that party, so the others can say who is gone before their own heartbeats notice
 * (regression: make asan, daemon_faults, "the error does not name the frozen party"). */
START_TEST(test_dealer_abort_names_the_silent_party)
{
    uint32_t n = 3;
    s_party ps[3];
    s_dealer d;
    memset(ps, 0, sizeof ps);
    memset(&d, 0, sizeof d);
    d.timeout_ms = 300;
    for (uint32_t i = 0; i < n; i++) s_alloc(&ps[i], i == 2 ? 1 : 3, 100, 0);
    ps[2].silent_ms = 1500;   /* one batch, then nothing until well after the dealer gave up */
    s_run(n, ps, &d);
    ck_assert_int_eq(d.rc, MPC_ERR_TIMEOUT);
    ck_assert_ptr_nonnull(strstr(d.err, "party 2"));
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_int_eq(ps[i].rc, MPC_ERR_PEER_ABORT);
        ck_assert_uint_eq(ps[i].abort_from, n);   /* the dealer */
        ck_assert_uint_eq(ps[i].abort_lost, 2);
    }
    for (uint32_t i = 0; i < n; i++) s_free(&ps[i]);
}
END_TEST

/* The test-only local source: consistent shares across instances, counters, fresh batches. */
START_TEST(test_local_source)
{
    uint8_t master[32];
    randombytes_buf(master, 32);
    uint32_t n = 4;
    uint64_t T = 1000;
    mpc_prep_trunc_spec sp = {.m = 3, .l = 10, .n = 50};
    uint64_t a[4][2][1000], b[4][2][1000], c[4][2][1000], lo[4][50], mid[4][50], msb[4][50];
    for (uint32_t i = 0; i < n; i++) {
        mpc_prep *p = mpc_prep_testlocal_new(master, i, n);
        for (int k = 0; k < 2; k++) {
            mpc_prep_req req = {.n_triples = T, .trunc = &sp, .n_trunc = k == 0};
            mpc_prep_out out = {.a = a[i][k], .b = b[i][k], .c = c[i][k], .r_lo = lo[i], .r_mid = mid[i], .r_msb = msb[i]};
            ck_assert_int_eq(mpc_prep_fetch(p, &req, &out), 0);
        }
        ck_assert_uint_eq(p->triples_out, 2 * T);
        ck_assert_uint_eq(p->trunc_out, 50);
        ck_assert_uint_eq(p->batches, 2);
        mpc_prep_trunc_spec bad = {.m = 10, .l = 10, .n = 1};
        mpc_prep_req rb = {.n_triples = 0, .trunc = &bad, .n_trunc = 1};
        mpc_prep_out ob = {.r_lo = lo[i], .r_mid = mid[i], .r_msb = msb[i]};
        ck_assert_int_eq(mpc_prep_fetch(p, &rb, &ob), MPC_ERR_INVALID);
        ck_assert_uint_eq(p->batches, 2);
        mpc_prep_destroy(&p);
        ck_assert_ptr_null(p);
    }
    for (int k = 0; k < 2; k++)
        for (uint64_t t = 0; t < T; t++) {
            uint64_t sa = 0, sb = 0, sc = 0;
            for (uint32_t i = 0; i < n; i++) {
                sa += a[i][k][t];
                sb += b[i][k][t];
                sc += c[i][k][t];
            }
            ck_assert_uint_eq(sa * sb, sc);
            if (k) ck_assert_uint_ne(a[0][1][t], a[0][0][t]);
        }
    for (int t = 0; t < 50; t++) {
        uint64_t s1 = 0, s2 = 0, s3 = 0;
        for (uint32_t i = 0; i < n; i++) {
            s1 += lo[i][t];
            s2 += mid[i][t];
            s3 += msb[i][t];
        }
        ck_assert_uint_lt(s1, 8);
        ck_assert_uint_lt(s2, 128);
        ck_assert_uint_le(s3, 1);
    }
}
END_TEST

/* ---- comparison material ---- */

#define CM_E 1000    /* edaBits per batch */
#define CM_B 300     /* binary triple words per batch */
#define CM_D 1000    /* daBits per batch */
#define CM_DW ((CM_D + 63) / 64)
#define CM_K 2       /* batches: the explicit party rotates */

typedef struct {
    mpc_transport *t;
    uint32_t       self, n;
    int            local;          /* the test-only local source instead of the dealer */
    uint8_t        master[32];
    int            rc;
    uint64_t       er[CM_K][CM_E], eb[CM_K][CM_E];
    uint64_t       ba[CM_K][CM_B], bb[CM_K][CM_B], bc[CM_K][CM_B];
    uint64_t       dr[CM_K][CM_D], db[CM_K][CM_DW];
    uint64_t       out_e, out_b, out_d;
} s_cm_party;

static mpc_transport **s_cm_t(void *p)
{
    s_cm_party *ps = p;
    return &ps->t;
}

static void *s_cm_main(void *arg)
{
    s_cm_party *p = arg;
    mpc_prep *src = p->local ? mpc_prep_testlocal_new(p->master, p->self, p->n)
                             : mpc_prep_dealer_new(p->t, p->self, p->n, p->n, STREAM, 20000);
    ck_assert_ptr_nonnull(src);
    ck_assert_uint_eq(src->caps & MPC_PREP_CAP_COMPARE, MPC_PREP_CAP_COMPARE);
    for (int k = 0; k < CM_K && p->rc == 0; k++) {
        mpc_prep_req req = {.n_triples = 10, .n_edabits = CM_E, .n_btriples = CM_B, .n_dabits = CM_D};
        uint64_t a[10], b[10], c[10];
        mpc_prep_out out = {.a = a, .b = b, .c = c, .eda_r = p->er[k], .eda_bits = p->eb[k],
                            .ba = p->ba[k], .bb = p->bb[k], .bc = p->bc[k], .da_r = p->dr[k],
                            .da_bits = p->db[k]};
        p->rc = mpc_prep_fetch(src, &req, &out);
    }
    p->out_e = src->edabits_out;
    p->out_b = src->btriples_out;
    p->out_d = src->dabits_out;
    if (p->rc) mpc_prep_abort(src, p->rc);
    mpc_prep_destroy(&src);
    return NULL;
}

/* Reconstructed edaBit arithmetic values equal their bits; binary triples hold in every
 * lane; daBit halves are equal bits; values are fresh and balanced. */
static void s_cm_check(s_cm_party *ps, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(ps[i].rc, 0);
        ck_assert_uint_eq(ps[i].out_e, CM_K * CM_E);
        ck_assert_uint_eq(ps[i].out_b, CM_K * CM_B);
        ck_assert_uint_eq(ps[i].out_d, CM_K * CM_D);
    }
    uint64_t ones = 0, dones = 0, bones = 0;
    for (int k = 0; k < CM_K; k++) {
        for (uint64_t t = 0; t < CM_E; t++) {
            uint64_t r = 0, bits = 0;
            for (uint32_t i = 0; i < n; i++) {
                r += ps[i].er[k][t];
                bits ^= ps[i].eb[k][t];
            }
            ck_assert_uint_eq(r, bits);
            ones += (uint64_t)__builtin_popcountll(r);
            if (k) ck_assert_uint_ne(ps[0].er[1][t], ps[0].er[0][t]);
        }
        for (uint64_t t = 0; t < CM_B; t++) {
            uint64_t A = 0, B = 0, C = 0;
            for (uint32_t i = 0; i < n; i++) {
                A ^= ps[i].ba[k][t];
                B ^= ps[i].bb[k][t];
                C ^= ps[i].bc[k][t];
            }
            ck_assert_uint_eq(A & B, C);
            bones += (uint64_t)__builtin_popcountll(A);
        }
        for (uint64_t t = 0; t < CM_D; t++) {
            uint64_t v = 0, bit = 0;
            for (uint32_t i = 0; i < n; i++) {
                v += ps[i].dr[k][t];
                bit ^= (ps[i].db[k][t / 64] >> (t % 64)) & 1;
            }
            ck_assert_uint_le(v, 1);
            ck_assert_uint_eq(v, bit);
            dones += v;
        }
    }
    /* balanced: 64·E·K bits with mean 1/2 (sd ≈ 179), D·K daBits (sd ≈ 22) */
    ck_assert(ones > 64000 - 1500 && ones < 64000 + 1500);
    ck_assert(bones > 19200 - 1000 && bones < 19200 + 1000);
    ck_assert(dones > 1000 - 200 && dones < 1000 + 200);
}

START_TEST(test_dealer_compare_material)
{
    for (uint32_t n = 2; n <= 3; n++) {
        s_cm_party *ps = calloc(n, sizeof *ps);
        s_dealer d;
        memset(&d, 0, sizeof d);
        for (uint32_t i = 0; i < n; i++) {
            ps[i].self = i;
            ps[i].n = n;
        }
        th_node nodes[4];
        mpc_mem_hub *h = s_run_nodes(n, s_cm_main, ps, sizeof *ps, s_cm_t, &d, nodes);
        ck_assert_msg(d.rc == 0, "%s", d.err);
        s_cm_check(ps, n);
        ck_assert_uint_eq(d.st.edabits, CM_K * CM_E);
        ck_assert_uint_eq(d.st.btriples, CM_K * CM_B);
        ck_assert_uint_eq(d.st.dabits, CM_K * CM_D);
        /* seed compression: per batch the explicit party gets the seed and 8 bytes per
         * triple, binary triple word, edaBit half and daBit, plus the packed daBit words;
         * the others only their seed */
        uint64_t xb = 8 * (10 + CM_B + 2 * CM_E + CM_D + CM_DW);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t expl = 0;
            for (uint32_t k = 0; k < CM_K; k++) expl += k % n == i;
            ck_assert_uint_eq(ps[i].t->bytes_recv, CM_K * (MPC_MEM_HDR_BYTES + 32) + expl * xb);
        }
        th_free(n + 1, nodes, &h);
        free(ps);
    }
}
END_TEST

START_TEST(test_local_compare_material)
{
    uint32_t n = 4;
    s_cm_party *ps = calloc(n, sizeof *ps);
    uint8_t master[32];
    randombytes_buf(master, 32);
    for (uint32_t i = 0; i < n; i++) {
        ps[i].local = 1;
        ps[i].self = i;
        ps[i].n = n;
        memcpy(ps[i].master, master, 32);
        s_cm_main(&ps[i]);
    }
    s_cm_check(ps, n);
    free(ps);
}
END_TEST

/* A source without the comparison capability refuses comparison material. */
START_TEST(test_caps_refused)
{
    uint8_t master[32] = {7};
    mpc_prep *p = mpc_prep_testlocal_new(master, 0, 2);
    p->caps = 0;
    uint64_t w[4];
    mpc_prep_req req = {.n_dabits = 1};
    mpc_prep_out out = {.da_r = w, .da_bits = w + 1};
    ck_assert_int_eq(mpc_prep_fetch(p, &req, &out), MPC_ERR_UNSUPPORTED);
    mpc_prep_req req2 = {.n_edabits = 1};
    mpc_prep_out out2 = {.eda_r = w};   /* missing eda_bits */
    p->caps = MPC_PREP_CAP_COMPARE;
    ck_assert_int_eq(mpc_prep_fetch(p, &req2, &out2), MPC_ERR_INVALID);
    mpc_prep_req big = {.n_btriples = MPC_PREP_MAX_BATCH + 1};
    mpc_prep_out ob = {.ba = w, .bb = w, .bc = w};
    ck_assert_int_eq(mpc_prep_fetch(p, &big, &ob), MPC_ERR_INVALID);
    ck_assert_uint_eq(p->batches, 0);
    mpc_prep_destroy(&p);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("prep");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_dealer_million_triples);
    tcase_add_test(tc, test_dealer_compression_bytes);
    tcase_add_test(tc, test_dealer_mismatch_aborts);
    tcase_add_test(tc, test_dealer_abort_names_the_silent_party);
    tcase_add_test(tc, test_local_source);
    tcase_add_test(tc, test_dealer_compare_material);
    tcase_add_test(tc, test_local_compare_material);
    tcase_add_test(tc, test_caps_refused);
    suite_add_tcase(su, tc);
    return su;
}

