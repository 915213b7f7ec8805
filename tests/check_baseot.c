/* check_baseot.c — Chou–Orlandi and Masny–Rindal (endemic) base OT: the receiver gets exactly
 * the chosen key over the in-memory transport for a large batch; the other key differs, is
 * fresh per run, balanced, and not what a curious receiver computes from what it holds (nor,
 * for the endemic OT, what a receiver that knows the logarithms of its points computes); bad
 * points are refused; the key derivation separates sessions, pairs, purposes and indices. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "parties.h"
#include "baseot.h"
#include "mpc_err.h"

#define STREAM (MPC_STREAM_PREP_BIT | 7)
#define N MPC_BASEOT_MAX

typedef struct {
    mpc_transport *t;
    mpc_baseot_ctx ctx;
    const uint8_t *choices;
    uint8_t       *k0, *k1, *kc;
    int            rc;
} s_arg;

static void *s_snd(void *v)
{
    s_arg *a = v;
    a->rc = mpc_baseot_run_sender(a->t, a->ctx.receiver, STREAM, 3, &a->ctx, N, a->k0, a->k1, 20000);
    return NULL;
}

static void *s_rcv(void *v)
{
    s_arg *a = v;
    a->rc = mpc_baseot_run_receiver(a->t, a->ctx.sender, STREAM, 3, &a->ctx, a->choices, N, a->kc, 20000);
    return NULL;
}

/* One batch of N OTs between party 1 (sender) and party 0 (receiver) over the hub; endemic
 * chooses the protocol (mpc_baseot_ctx.endemic). */
static void s_run_kind(int endemic, const uint8_t *choices, uint8_t *k0, uint8_t *k1, uint8_t *kc)
{
    s_arg as = {.k0 = k0, .k1 = k1, .ctx.endemic = (uint32_t)endemic};
    s_arg ar = {.choices = choices, .kc = kc, .ctx.endemic = (uint32_t)endemic};
    as.ctx.sender = ar.ctx.sender = 1;
    as.ctx.receiver = ar.ctx.receiver = 0;
    as.ctx.purpose = ar.ctx.purpose = 9;
    memset(as.ctx.sid, 0x5a, 32);
    memcpy(ar.ctx.sid, as.ctx.sid, 32);
    const th_node nodes[2] = {{s_rcv, &ar, &ar.t, NULL}, {s_snd, &as, &as.t, NULL}};
    th_run_mem(2, 20000, nodes);
    ck_assert_int_eq(as.rc, 0);
    ck_assert_int_eq(ar.rc, 0);
}

static int s_endemic;   /* the protocol of s_run, for the tests run with both */
static void s_run(const uint8_t *choices, uint8_t *k0, uint8_t *k1, uint8_t *kc)
{
    s_run_kind(s_endemic, choices, k0, k1, kc);
}

static int s_bit(const uint8_t *c, size_t i)
{
    return (c[i / 8] >> (i % 8)) & 1;
}

static void s_chosen_key(void)
{
    uint8_t choices[N / 8];
    randombytes_buf(choices, sizeof choices);
    uint8_t *k0 = malloc(32 * N), *k1 = malloc(32 * N), *kc = malloc(32 * N);
    s_run(choices, k0, k1, kc);
    size_t ones = 0, bad = 0;
    for (size_t i = 0; i < N; i++) {
        int c = s_bit(choices, i);
        const uint8_t *want = c ? k1 + 32 * i : k0 + 32 * i;
        const uint8_t *other = c ? k0 + 32 * i : k1 + 32 * i;
        bad += memcmp(kc + 32 * i, want, 32) != 0;
        bad += memcmp(kc + 32 * i, other, 32) == 0;
        if (i) bad += memcmp(kc + 32 * i, kc + 32 * (i - 1), 32) == 0;
        for (int b = 0; b < 256; b++) ones += (other[b / 8] >> (b % 8)) & 1;
    }
    ck_assert_uint_eq(bad, 0);
    /* the unchosen keys look uniform: N·256 bits, 5 sigma is about 0.0024 of the count */
    double frac = (double)ones / (N * 256.0);
    ck_assert_msg(frac > 0.4975 && frac < 0.5025, "unchosen key bit balance %f", frac);
    free(k0);
    free(k1);
    free(kc);
}

START_TEST(test_chosen_key_over_transport)
{
    s_chosen_key();
}
END_TEST

static void s_unchosen_fresh(void)
{
    uint8_t choices[N / 8];
    randombytes_buf(choices, sizeof choices);
    uint8_t *k0[2], *k1[2], *kc[2];
    for (int r = 0; r < 2; r++) {
        k0[r] = malloc(32 * N);
        k1[r] = malloc(32 * N);
        kc[r] = malloc(32 * N);
        s_run(choices, k0[r], k1[r], kc[r]);
    }
    size_t same = 0;
    for (size_t i = 0; i < N; i++) {
        int c = s_bit(choices, i);
        const uint8_t *o0 = (c ? k0[0] : k1[0]) + 32 * i, *o1 = (c ? k0[1] : k1[1]) + 32 * i;
        same += memcmp(o0, o1, 32) == 0;
        same += memcmp(kc[0] + 32 * i, kc[1] + 32 * i, 32) == 0;
    }
    ck_assert_uint_eq(same, 0);
    for (int r = 0; r < 2; r++) {
        free(k0[r]);
        free(k1[r]);
        free(kc[r]);
    }
}

START_TEST(test_unchosen_fresh_per_run)
{
    s_unchosen_fresh();
}
END_TEST

/* A curious receiver knows its scalars b_i, A, B_i and its key; the unchosen key is none of
 * the keys it can derive from those with the public key derivation. */
START_TEST(test_curious_receiver)
{
    enum { M = 256 };
    mpc_baseot_ctx ctx = {.sender = 2, .receiver = 5, .purpose = 1};
    randombytes_buf(ctx.sid, 32);
    uint8_t A[32], choices[M / 8], *B = malloc(32 * M), *kc = malloc(32 * M);
    uint8_t *k0 = malloc(32 * M), *k1 = malloc(32 * M), *bs = malloc(32 * M);
    randombytes_buf(choices, sizeof choices);
    for (int i = 0; i < M; i++) crypto_core_ristretto255_scalar_random(bs + 32 * i);
    mpc_baseot_sender *s = mpc_baseot_sender_new(A);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(mpc_baseot_receive_with(&ctx, A, choices, M, bs, B, kc), 0);
    ck_assert_int_eq(mpc_baseot_sender_finish(s, &ctx, B, M, k0, k1), 0);
    mpc_baseot_sender_destroy(&s);
    ck_assert_ptr_null(s);
    for (int i = 0; i < M; i++) {
        int c = s_bit(choices, (size_t)i);
        const uint8_t *b = bs + 32 * i, *Bi = B + 32 * i;
        const uint8_t *other = (c ? k0 : k1) + 32 * i;
        ck_assert_int_eq(memcmp(kc + 32 * i, (c ? k1 : k0) + 32 * i, 32), 0);
        uint8_t P[4][32], BmA[32], BpA[32], k[32];
        ck_assert_int_eq(crypto_scalarmult_ristretto255(P[0], b, A), 0);          /* its own */
        ck_assert_int_eq(crypto_scalarmult_ristretto255(P[1], b, Bi), 0);
        ck_assert_int_eq(crypto_core_ristretto255_sub(BmA, Bi, A), 0);
        ck_assert_int_eq(crypto_core_ristretto255_add(BpA, Bi, A), 0);
        ck_assert_int_eq(crypto_scalarmult_ristretto255(P[2], b, BmA), 0);
        ck_assert_int_eq(crypto_scalarmult_ristretto255(P[3], b, BpA), 0);
        for (int t = 0; t < 4; t++) {
            mpc_baseot_kdf(k, &ctx, (uint64_t)i, A, Bi, P[t]);
            if (t == 0) ck_assert_int_eq(memcmp(k, kc + 32 * i, 32), 0);
            ck_assert_int_ne(memcmp(k, other, 32), 0);
        }
        /* nor its key under another index, nor a plain point */
        mpc_baseot_kdf(k, &ctx, (uint64_t)i ^ 1, A, Bi, P[0]);
        ck_assert_int_ne(memcmp(k, other, 32), 0);
        ck_assert_int_ne(memcmp(P[0], other, 32), 0);
    }
    free(B); free(kc); free(k0); free(k1); free(bs);
}
END_TEST

START_TEST(test_bad_points_refused)
{
    mpc_baseot_ctx ctx = {.sender = 0, .receiver = 1, .purpose = 1};
    uint8_t A[32], zero[32] = {0}, bad[32], B[32 * 4], kc[32 * 4], k0[32 * 4], k1[32 * 4];
    uint8_t ch[1] = {0x5};
    memset(bad, 0xff, sizeof bad);
    ck_assert_int_eq(mpc_baseot_receive(&ctx, zero, ch, 4, B, kc), MPC_ERR_CRYPTO);
    ck_assert_int_eq(mpc_baseot_receive(&ctx, bad, ch, 4, B, kc), MPC_ERR_CRYPTO);
    mpc_baseot_sender *s = mpc_baseot_sender_new(A);
    ck_assert_int_eq(mpc_baseot_receive(&ctx, A, ch, 4, B, kc), 0);
    ck_assert_int_eq(mpc_baseot_sender_finish(s, &ctx, B, 4, k0, k1), 0);
    /* identity, an invalid encoding, and B = A (a·B − a·A = identity) */
    uint8_t Bs[3][32];
    memcpy(Bs[0], zero, 32);
    memcpy(Bs[1], bad, 32);
    memcpy(Bs[2], A, 32);
    for (int t = 0; t < 3; t++) {
        memcpy(B + 32 * 2, Bs[t], 32);
        ck_assert_int_eq(mpc_baseot_sender_finish(s, &ctx, B, 4, k0, k1), MPC_ERR_CRYPTO);
        ck_assert(sodium_is_zero(k0, sizeof k0) && sodium_is_zero(k1, sizeof k1));
    }
    /* a zero scalar gives the identity: refused */
    uint8_t zs[32 * 4] = {0};
    ck_assert_int_eq(mpc_baseot_receive_with(&ctx, A, ch, 4, zs, B, kc), MPC_ERR_CRYPTO);
    ck_assert_int_eq(mpc_baseot_receive_with(&ctx, A, ch, 4, NULL, B, kc), MPC_ERR_INVALID);
    mpc_baseot_sender_destroy(&s);
}
END_TEST

START_TEST(test_kdf_separation)
{
    uint8_t A[32], B[32], P[32], base[32], k[32];
    randombytes_buf(A, 32);
    randombytes_buf(B, 32);
    randombytes_buf(P, 32);
    mpc_baseot_ctx c0 = {.sender = 1, .receiver = 2, .purpose = 1};
    randombytes_buf(c0.sid, 32);
    mpc_baseot_kdf(base, &c0, 5, A, B, P);
    mpc_baseot_ctx c = c0;
    c.sid[31] ^= 1;
    mpc_baseot_kdf(k, &c, 5, A, B, P);
    ck_assert_int_ne(memcmp(k, base, 32), 0);
    c = c0; c.sender = 2; c.receiver = 1;
    mpc_baseot_kdf(k, &c, 5, A, B, P);
    ck_assert_int_ne(memcmp(k, base, 32), 0);
    c = c0; c.purpose = 2;
    mpc_baseot_kdf(k, &c, 5, A, B, P);
    ck_assert_int_ne(memcmp(k, base, 32), 0);
    mpc_baseot_kdf(k, &c0, 6, A, B, P);
    ck_assert_int_ne(memcmp(k, base, 32), 0);
    mpc_baseot_kdf(k, &c0, 5, B, A, P);
    ck_assert_int_ne(memcmp(k, base, 32), 0);
    mpc_baseot_kdf(k, &c0, 5, A, B, P);
    ck_assert_int_eq(memcmp(k, base, 32), 0);
}
END_TEST

/* The endemic OT: the same properties over the transport as Chou–Orlandi. */
START_TEST(test_mr_over_transport)
{
    s_endemic = 1;
    s_chosen_key();
    s_unchosen_fresh();
    s_endemic = 0;
}
END_TEST

/* A receiver that keeps its scalars, and one that deviates: it makes r_0 = x·G and r_1 = y·G
 * with both logarithms known.  Neither derives a key it did not choose: pk_j = r_j +
 * H_G(r_{1−j}) has an offset nobody knows the logarithm of. */
START_TEST(test_mr_receivers_learn_one_key)
{
    enum { M = 64 };
    mpc_baseot_ctx ctx = {.sender = 3, .receiver = 1, .purpose = 7, .endemic = 1};
    randombytes_buf(ctx.sid, 32);
    uint8_t A[32], ch[M / 8], flip[M / 8];
    randombytes_buf(ch, sizeof ch);
    for (size_t i = 0; i < sizeof ch; i++) flip[i] = (uint8_t)~ch[i];
    uint8_t *R = malloc(64 * M), *sk = malloc(32 * M), *kc = malloc(32 * M), *kx = malloc(32 * M);
    uint8_t *k0 = malloc(32 * M), *k1 = malloc(32 * M);
    mpc_baseot_sender *s = mpc_baseot_sender_new(A);
    ck_assert_int_eq(mpc_baseot_mr_choose(&ctx, ch, M, R, sk), 0);
    ck_assert_int_eq(mpc_baseot_mr_keys(&ctx, A, ch, M, R, sk, kc), 0);
    ck_assert_int_eq(mpc_baseot_mr_sender_finish(s, &ctx, R, M, k0, k1), 0);
    /* what the curious receiver derives for the other slot with its own scalar */
    ck_assert_int_eq(mpc_baseot_mr_keys(&ctx, A, flip, M, R, sk, kx), 0);
    for (size_t i = 0; i < M; i++) {
        int c = s_bit(ch, i);
        ck_assert_int_eq(memcmp(kc + 32 * i, (c ? k1 : k0) + 32 * i, 32), 0);
        ck_assert_int_ne(memcmp(kx + 32 * i, (c ? k0 : k1) + 32 * i, 32), 0);
        ck_assert_int_ne(memcmp(kx + 32 * i, (c ? k1 : k0) + 32 * i, 32), 0);
    }
    /* the deviating receiver: both points with known logarithms */
    uint8_t *xy = malloc(64 * M);
    for (size_t i = 0; i < 2 * M; i++) {
        crypto_core_ristretto255_scalar_random(xy + 32 * i);
        ck_assert_int_eq(crypto_scalarmult_ristretto255_base(R + 32 * i, xy + 32 * i), 0);
    }
    ck_assert_int_eq(mpc_baseot_mr_sender_finish(s, &ctx, R, M, k0, k1), 0);
    for (int slot = 0; slot < 2; slot++) {
        uint8_t sel[M / 8];
        memset(sel, slot ? 0xff : 0, sizeof sel);
        for (size_t i = 0; i < M; i++) memcpy(sk + 32 * i, xy + 64 * i + 32 * slot, 32);
        ck_assert_int_eq(mpc_baseot_mr_keys(&ctx, A, sel, M, R, sk, kx), 0);
        for (size_t i = 0; i < M; i++) {
            ck_assert_int_ne(memcmp(kx + 32 * i, k0 + 32 * i, 32), 0);
            ck_assert_int_ne(memcmp(kx + 32 * i, k1 + 32 * i, 32), 0);
        }
    }
    mpc_baseot_sender_destroy(&s);
    free(R); free(sk); free(kc); free(kx); free(k0); free(k1); free(xy);
}
END_TEST

/* Invalid encodings, an identity A, and a pair that makes pk_j the identity are refused, and
 * nothing is left in the key buffers. */
START_TEST(test_mr_bad_points_refused)
{
    mpc_baseot_ctx ctx = {.sender = 0, .receiver = 1, .purpose = 1, .endemic = 1};
    uint8_t A[32], zero[32] = {0}, bad[32], R[64 * 4], sk[32 * 4], kc[32 * 4], k0[32 * 4], k1[32 * 4];
    uint8_t ch[1] = {0x9};
    memset(bad, 0xff, sizeof bad);
    mpc_baseot_sender *s = mpc_baseot_sender_new(A);
    ck_assert_int_eq(mpc_baseot_mr_choose(&ctx, ch, 4, R, sk), 0);
    ck_assert_int_eq(mpc_baseot_mr_keys(&ctx, zero, ch, 4, R, sk, kc), MPC_ERR_CRYPTO);
    ck_assert_int_eq(mpc_baseot_mr_keys(&ctx, bad, ch, 4, R, sk, kc), MPC_ERR_CRYPTO);
    ck_assert_int_eq(mpc_baseot_mr_sender_finish(s, &ctx, R, 4, k0, k1), 0);
    for (int slot = 0; slot < 2; slot++) {
        uint8_t keep[64];
        memcpy(keep, R + 64 * 2, 64);
        memcpy(R + 64 * 2 + 32 * slot, bad, 32);
        ck_assert_int_eq(mpc_baseot_mr_sender_finish(s, &ctx, R, 4, k0, k1), MPC_ERR_CRYPTO);
        ck_assert(sodium_is_zero(k0, sizeof k0) && sodium_is_zero(k1, sizeof k1));
        memcpy(R + 64 * 2, keep, 64);
    }
    /* r_0 = −H_G(1, r_1): pk_0 = r_0 + H_G(1, r_1) is the identity, so a·pk_0 is refused */
    uint8_t h[32], one[32] = {1}, m1[32];
    crypto_core_ristretto255_scalar_negate(m1, one);
    mpc_baseot_mr_hash_to_group(h, &ctx, 3, 1, R + 64 * 3 + 32);
    ck_assert_int_eq(crypto_scalarmult_ristretto255(R + 64 * 3, m1, h), 0);
    ck_assert_int_eq(mpc_baseot_mr_sender_finish(s, &ctx, R, 4, k0, k1), MPC_ERR_CRYPTO);
    ck_assert(sodium_is_zero(k0, sizeof k0) && sodium_is_zero(k1, sizeof k1));
    ck_assert_int_eq(mpc_baseot_mr_choose(&ctx, ch, 4, R, NULL), MPC_ERR_INVALID);
    mpc_baseot_sender_destroy(&s);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("baseot");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_chosen_key_over_transport);
    tcase_add_test(tc, test_unchosen_fresh_per_run);
    tcase_add_test(tc, test_curious_receiver);
    tcase_add_test(tc, test_bad_points_refused);
    tcase_add_test(tc, test_kdf_separation);
    tcase_add_test(tc, test_mr_over_transport);
    tcase_add_test(tc, test_mr_receivers_learn_one_key);
    tcase_add_test(tc, test_mr_bad_points_refused);
    suite_add_tcase(su, tc);
    return su;
}

