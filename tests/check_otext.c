/* check_otext.c — the symmetric primitives and IKNP: AES-128 known answer, TCCR tweak and
 * input separation, PRG positions, the SSE2 transpose against the definition, and the COT
 * correlation q_j = t_j ⊕ x_j·Δ (with h = x ? h1 : h0) on more than 10^6 OTs seeded by real
 * base OTs, for both primitive kinds; no PRG position is reused across batches. */
#include <check.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "aeshash.h"
#include "baseot.h"
#include "mpc_err.h"
#include "otext.h"

static const mpc_sym_kind s_kinds[2] = {MPC_SYM_AESNI, MPC_SYM_PORTABLE};

static int s_runnable(mpc_sym_kind k)
{
    return k == MPC_SYM_PORTABLE || mpc_sym_have_aesni();
}

/* The AES-NI PRG is AES-128-CTR: block j is AES-128 under the seed's first 16 bytes of the
 * counter j as a little-endian 128-bit block.  Known answers: AES-128 of the zero block under
 * the zero key (the well-known 66e94bd4…), and under the FIPS-197 appendix C.1 key
 * 000102…0f blocks 0, 1, 2 and 9 (computed with OpenSSL's aes-128-ecb, which gives 69c4e0d8…
 * for the C.1 plaintext).  Checked through mpc_sym_prg and mpc_sym_prg_multi (the VAES
 * pair path where the CPU has it), with and without VAES. */
START_TEST(test_aes_known_answer)
{
    static const uint8_t want0[16] = {0x66, 0xe9, 0x4b, 0xd4, 0xef, 0x8a, 0x2c, 0x3b,
                                      0x88, 0x4c, 0xfa, 0x59, 0xca, 0x34, 0x2b, 0x2e};
    static const char *const want_c1[4] = {"c6a13b37878f5b826f4f8162a1c8d879",
                                           "e37cd363dd7c87a09aff0e3e60e09c82",
                                           "fb8ae31ba5db9cad97364d8722d47326",
                                           "7d9ac6c53ae558a0933e2f03b4d2a280"};
    if (!mpc_sym_have_aesni()) {
        ck_assert_int_eq(mpc_sym_best(), MPC_SYM_PORTABLE);
        return;
    }
    ck_assert_str_eq(mpc_sym_name(mpc_sym_best()), "aes-ni");
    uint8_t seeds[2][MPC_OT_SEEDBYTES], c1[4][16];
    memset(seeds, 0xa5, sizeof seeds);   /* bytes 16..31 must not matter */
    memset(seeds[0], 0, 16);
    for (int i = 0; i < 16; i++) seeds[1][i] = (uint8_t)i;
    for (int b = 0; b < 4; b++) ck_assert_int_eq(sodium_hex2bin(c1[b], 16, want_c1[b], 32, NULL, NULL, NULL), 0);
    int was = mpc_sym_vaes(-1);
    for (int vaes = 0; vaes < 2; vaes++) {
        mpc_sym_vaes(vaes);
        mpc_prg_key k[2];
        mpc_sym_prg_key(MPC_SYM_AESNI, &k[0], seeds[0]);
        mpc_sym_prg_key(MPC_SYM_AESNI, &k[1], seeds[1]);
        uint8_t out[10 * 16], multi[2][10 * 16];
        mpc_sym_prg(MPC_SYM_AESNI, &k[0], 0, out, 1);
        ck_assert_int_eq(memcmp(out, want0, 16), 0);
        mpc_sym_prg(MPC_SYM_AESNI, &k[1], 0, out, 10);
        ck_assert_int_eq(memcmp(out, c1[0], 16), 0);
        ck_assert_int_eq(memcmp(out + 16, c1[1], 16), 0);
        ck_assert_int_eq(memcmp(out + 32, c1[2], 16), 0);
        ck_assert_int_eq(memcmp(out + 144, c1[3], 16), 0);
        mpc_sym_prg(MPC_SYM_AESNI, &k[1], 8, out, 2);   /* a block offset */
        ck_assert_int_eq(memcmp(out + 16, c1[3], 16), 0);
        mpc_sym_prg_multi(MPC_SYM_AESNI, k, 2, 0, (uint8_t *)multi, 10);
        ck_assert_int_eq(memcmp(multi[0], want0, 16), 0);
        ck_assert_int_eq(memcmp(multi[1], c1[0], 16), 0);
        ck_assert_int_eq(memcmp(multi[1] + 144, c1[3], 16), 0);
        sodium_memzero(k, sizeof k);
    }
    mpc_sym_vaes(was);
}
END_TEST

START_TEST(test_tccr_separation)
{
    enum { M = 2048 };
    for (int kk = 0; kk < 2; kk++) {
        mpc_sym_kind k = s_kinds[kk];
        if (!s_runnable(k)) continue;
        uint8_t *in = malloc(16 * M), x[16];
        uint64_t *o1 = malloc(8 * M), *o2 = malloc(8 * M);
        randombytes_buf(x, 16);
        /* the same input under M different tweaks: all outputs distinct */
        for (int j = 0; j < M; j++) memcpy(in + 16 * j, x, 16);
        mpc_tccr(k, o1, in, NULL, 77, 1000, M);
        int coll = 0;
        for (int j = 0; j < M; j++)
            for (int i = 0; i < j; i++) coll += o1[i] == o1[j];
        ck_assert_int_eq(coll, 0);
        /* another tweak_hi changes every output; the batch agrees with the single call */
        mpc_tccr(k, o2, in, NULL, 78, 1000, M);
        coll = 0;
        for (int j = 0; j < M; j++) coll += o1[j] == o2[j];
        ck_assert_int_eq(coll, 0);
        uint8_t h[16];
        mpc_tccr128(k, h, x, 77, 1005);
        uint64_t lo = 0;
        for (int i = 7; i >= 0; i--) lo = (lo << 8) | h[i];
        ck_assert_uint_eq(lo, o1[5]);
        /* xor16 is applied to the input: H(in ⊕ x, i) = H(in', i) with in' = in ⊕ x */
        uint8_t d[16], *in2 = malloc(16 * M);
        randombytes_buf(in, 16 * M);
        randombytes_buf(d, 16);
        for (int j = 0; j < 16 * M; j++) in2[j] = (uint8_t)(in[j] ^ d[j % 16]);
        mpc_tccr(k, o1, in, d, 5, 0, M);
        mpc_tccr(k, o2, in2, NULL, 5, 0, M);
        ck_assert_int_eq(memcmp(o1, o2, 8 * M), 0);
        mpc_tccr(k, o2, in, NULL, 5, 0, M);
        coll = 0;
        for (int j = 0; j < M; j++) coll += o1[j] == o2[j];
        ck_assert_int_eq(coll, 0);
        free(in); free(in2); free(o1); free(o2);
    }
}
END_TEST

/* mpc_tccr2 (π(x) shared by the two tweaks) equals the straightforward per-block
 * mpc_tccr128 calls on x ⊕ d, for both kinds, with and without VAES, on every tail length;
 * its low words are mpc_tccr's outputs. */
START_TEST(test_tccr2_same)
{
    enum { M = 300 };
    uint8_t *in = malloc(16 * M), d[16], x[16], h[16];
    uint8_t *oa = malloc(16 * M), *ob = malloc(16 * M);
    uint64_t *lo = malloc(8 * M);
    randombytes_buf(in, 16 * M);
    randombytes_buf(d, 16);
    int was = mpc_sym_vaes(-1);
    for (int kk = 0; kk < 2; kk++) {
        mpc_sym_kind k = s_kinds[kk];
        if (!s_runnable(k)) continue;
        for (int v = 0; v < 2; v++) {
            mpc_sym_vaes(v);
            for (size_t n = 1; n <= M; n += (k == MPC_SYM_AESNI ? 7 : 61)) {
                const uint8_t *xd = (n & 1) ? d : NULL;
                uint64_t ta = 0x123 | 1ull << 62, tb = 0x123 | 2ull << 62, i0 = 1000 * n;
                memset(oa, 0, 16 * M);
                memset(ob, 0, 16 * M);
                mpc_tccr2(k, oa, ob, in, xd, ta, tb, i0, n);
                for (size_t j = 0; j < n; j++) {
                    for (int i = 0; i < 16; i++) x[i] = (uint8_t)(in[16 * j + i] ^ (xd ? xd[i] : 0));
                    mpc_tccr128(k, h, x, ta, i0 + j);
                    ck_assert_int_eq(memcmp(h, oa + 16 * j, 16), 0);
                    mpc_tccr128(k, h, x, tb, i0 + j);
                    ck_assert_int_eq(memcmp(h, ob + 16 * j, 16), 0);
                }
                ck_assert_int_ne(memcmp(oa, ob, 16 * n), 0);
                mpc_tccr(k, lo, in, xd, tb, i0, n);
                for (size_t j = 0; j < n; j++) ck_assert_int_eq(memcmp(&lo[j], ob + 16 * j, 8), 0);
            }
        }
    }
    mpc_sym_vaes(was);
    free(in); free(oa); free(ob); free(lo);
}
END_TEST

/* The VAES path (two blocks per instruction) computes exactly what the AES-NI path does. */
START_TEST(test_tccr_vaes_same)
{
    if (!mpc_sym_have_aesni()) return;
    enum { M = 1000 };
    uint8_t *in = malloc(16 * M), d[16];
    uint64_t *o1 = malloc(8 * M), *o2 = malloc(8 * M);
    randombytes_buf(in, 16 * M);
    randombytes_buf(d, 16);
    int was = mpc_sym_vaes(-1);
    for (size_t n = 1; n <= M; n += 37) {
        mpc_sym_vaes(1);
        mpc_tccr(MPC_SYM_AESNI, o1, in, (n & 1) ? d : NULL, 0xabc, 17 * n, n);
        mpc_sym_vaes(0);
        mpc_tccr(MPC_SYM_AESNI, o2, in, (n & 1) ? d : NULL, 0xabc, 17 * n, n);
        ck_assert_int_eq(memcmp(o1, o2, 8 * n), 0);
    }
    /* the multi-key PRG (two keys per VAES instruction) equals key-by-key expansion */
    mpc_prg_key *keys = sodium_allocarray(5, sizeof *keys);
    uint8_t seed[32], *g1 = malloc(5 * 16 * 13), *g2 = malloc(5 * 16 * 13);
    for (int i = 0; i < 5; i++) {
        randombytes_buf(seed, 32);
        mpc_sym_prg_key(MPC_SYM_AESNI, &keys[i], seed);
    }
    for (size_t nblk = 1; nblk <= 13; nblk += 4) {
        mpc_sym_vaes(1);
        mpc_sym_prg_multi(MPC_SYM_AESNI, keys, 5, 64, g1, nblk);
        mpc_sym_vaes(0);
        for (int i = 0; i < 5; i++) mpc_sym_prg(MPC_SYM_AESNI, &keys[i], 64, g2 + 16 * nblk * i, nblk);
        ck_assert_int_eq(memcmp(g1, g2, 5 * 16 * nblk), 0);
    }
    sodium_free(keys);
    free(g1);
    free(g2);
    mpc_sym_vaes(was);
    printf("TCCR: %s%s\n", mpc_sym_name(mpc_sym_best()), was ? " with VAES" : "");
    free(in); free(o1); free(o2);
}
END_TEST

START_TEST(test_prg_positions)
{
    for (int kk = 0; kk < 2; kk++) {
        mpc_sym_kind k = s_kinds[kk];
        if (!s_runnable(k)) continue;
        uint8_t seed[32], seed2[32], a[16 * 40], b[16 * 32], c[16 * 40];
        randombytes_buf(seed, 32);
        memcpy(seed2, seed, 32);
        seed2[0] ^= 1;
        mpc_prg_key *key = sodium_malloc(sizeof *key), *key2 = sodium_malloc(sizeof *key2);
        mpc_sym_prg_key(k, key, seed);
        mpc_sym_prg_key(k, key2, seed2);
        mpc_sym_prg(k, key, 0, a, 40);
        mpc_sym_prg(k, key, 8, b, 32);
        ck_assert_int_eq(memcmp(a + 16 * 8, b, 16 * 32), 0);
        for (int i = 1; i < 40; i++) ck_assert_int_ne(memcmp(a, a + 16 * i, 16), 0);
        mpc_sym_prg(k, key2, 0, c, 40);
        ck_assert_int_ne(memcmp(a, c, 16), 0);
        sodium_free(key);
        sodium_free(key2);
    }
}
END_TEST

START_TEST(test_transpose)
{
    uint8_t in[128 * 48], out[128 * 16], ref[128 * 16], back[128 * 16];
    for (int rep = 0; rep < 50; rep++) {
        randombytes_buf(in, sizeof in);
        uint64_t stride = rep % 2 ? 48 : 16;
        mpc_transpose128(out, in, stride);
        mpc_transpose128_ref(ref, in, stride);
        ck_assert_int_eq(memcmp(out, ref, sizeof out), 0);
        mpc_transpose128_sse2(out, in, stride);
        ck_assert_int_eq(memcmp(out, ref, sizeof out), 0);
        mpc_transpose128(out, in, stride);
        mpc_transpose128(back, out, 16);
        for (int i = 0; i < 128; i++) ck_assert_int_eq(memcmp(back + 16 * i, in + stride * i, 16), 0);
    }
    /* a single bit lands where the definition says */
    memset(in, 0, sizeof in);
    in[16 * 5 + 9] = 0x08;   /* row 5, bit 75 */
    mpc_transpose128(out, in, 16);
    int badb = 0;
    for (int j = 0; j < 128 * 16; j++) badb += out[j] != (j == 16 * 75 + 0 ? 0x20 : 0);
    ck_assert_int_eq(badb, 0);
}
END_TEST

/* Base OTs in process (receiver of the base OTs = extension sender with choices Δ). */
static void s_pair(mpc_sym_kind k, mpc_cot_send **snd, mpc_cot_recv **rcv, uint8_t delta[16])
{
    mpc_baseot_ctx ctx = {.sender = 1, .receiver = 0, .purpose = 1};
    randombytes_buf(ctx.sid, 32);
    uint8_t A[32], *B = malloc(32 * 128), *kd = malloc(32 * 128), *k0 = malloc(32 * 128),
            *k1 = malloc(32 * 128);
    randombytes_buf(delta, 16);
    mpc_baseot_sender *bs = mpc_baseot_sender_new(A);
    ck_assert_int_eq(mpc_baseot_receive(&ctx, A, delta, 128, B, kd), 0);
    ck_assert_int_eq(mpc_baseot_sender_finish(bs, &ctx, B, 128, k0, k1), 0);
    mpc_baseot_sender_destroy(&bs);
    *snd = mpc_cot_send_new(k, delta, kd, 0x1234);
    *rcv = mpc_cot_recv_new(k, k0, k1, 0x1234);
    ck_assert_ptr_nonnull(*snd);
    ck_assert_ptr_nonnull(*rcv);
    free(B); free(kd); free(k0); free(k1);
}

static void s_correlation(mpc_sym_kind k, uint64_t m)
{
    mpc_cot_send *snd;
    mpc_cot_recv *rcv;
    uint8_t delta[16];
    s_pair(k, &snd, &rcv, delta);
    uint8_t *x = malloc(m / 8 + 1), *t = malloc(16 * m), *q = malloc(16 * m), *t2 = malloc(16 * 1024);
    uint64_t *u = malloc(8 * mpc_cot_msg_words(m)), *h = malloc(8 * m), *h0 = malloc(8 * m),
             *h1 = malloc(8 * m);
    randombytes_buf(x, m / 8 + 1);
    ck_assert_int_eq(mpc_cot_recv_extend(rcv, x, m, u, h, t), 0);
    ck_assert_int_eq(mpc_cot_send_extend(snd, u, m, h0, h1, q), 0);
    /* counted, then asserted once: a Check assertion per element would dominate the time */
    uint64_t ones = 0, bad_q = 0, bad_h = 0, same = 0;
    for (uint64_t j = 0; j < m; j++) {
        int xj = (x[j / 8] >> (j % 8)) & 1;
        for (int i = 0; i < 16; i++)
            bad_q += q[16 * j + i] != (uint8_t)(t[16 * j + i] ^ (xj ? delta[i] : 0));
        bad_h += h[j] != (xj ? h1[j] : h0[j]);
        same += h0[j] == h1[j];
        ones += (uint64_t)__builtin_popcountll(u[2 * j]) + (uint64_t)__builtin_popcountll(u[2 * j + 1]);
    }
    ck_assert_uint_eq(bad_q, 0);
    ck_assert_uint_eq(bad_h, 0);
    ck_assert_uint_eq(same, 0);
    double frac = (double)ones / (128.0 * (double)m);
    ck_assert_msg(frac > 0.499 && frac < 0.501, "u bit balance %f", frac);
    /* the next batch uses fresh PRG positions: same choices, other rows and hashes */
    ck_assert_uint_eq(mpc_cot_recv_pos(rcv), mpc_cot_send_pos(snd));
    ck_assert_uint_ge(mpc_cot_recv_pos(rcv), m);
    ck_assert_int_eq(mpc_cot_recv_extend(rcv, x, 1024, u, h, t2), 0);
    ck_assert_int_eq(mpc_cot_send_extend(snd, u, 1024, h0, h1, q), 0);
    uint64_t eq_t = 0;
    bad_h = 0;
    for (uint64_t j = 0; j < 1024; j++) {
        eq_t += memcmp(t2 + 16 * j, t + 16 * j, 16) == 0;
        int xj = (x[j / 8] >> (j % 8)) & 1;
        bad_h += h[j] != (xj ? h1[j] : h0[j]);
    }
    ck_assert_uint_eq(eq_t, 0);
    ck_assert_uint_eq(bad_h, 0);
    mpc_cot_send_destroy(&snd);
    mpc_cot_recv_destroy(&rcv);
    ck_assert_ptr_null(snd);
    free(x); free(t); free(q); free(t2); free(u); free(h); free(h0); free(h1);
}

START_TEST(test_cot_million_aesni)
{
    if (!mpc_sym_have_aesni()) return;
    s_correlation(MPC_SYM_AESNI, (1u << 20) + 77);
}
END_TEST

START_TEST(test_cot_million_portable)
{
    /* BLAKE2b is ≈30× slower: 10^6 OTs still take only a few seconds */
    s_correlation(MPC_SYM_PORTABLE, 1000003);
}
END_TEST

/* One GGM tree of depth k.  Not inlined: with k a constant of an unrolled loop, gcc -O3
 * peels an iteration d = k of the copy below and warns of an overflow that cannot happen. */
__attribute__((noinline)) static void s_ggm_case(uint32_t k)
{
    uint8_t root[32], *leaves = malloc(32u << k), *got = malloc(32u << k);
    uint8_t *sums = malloc(64 * k), *mine = malloc(32 * k);
    randombytes_buf(root, 32);
    uint32_t alpha = randombytes_uniform(1u << k);
    ck_assert_int_eq(mpc_ggm_expand(k, root, leaves, sums), 0);
    for (uint32_t d = 0; d < k; d++)
        memcpy(mine + 32 * d, sums + 64 * d + 32 * (1 - ((alpha >> d) & 1)), 32);
    ck_assert_int_eq(mpc_ggm_puncture(k, alpha, mine, got), 0);
    int bad = 0, distinct = 1;
    for (uint32_t y = 0; y < (1u << k); y++) {
        if (y == alpha) bad += !sodium_is_zero(got + 32 * y, 32);
        else bad += memcmp(got + 32 * y, leaves + 32 * y, 32) != 0;
        if (y) distinct &= memcmp(leaves + 32 * y, leaves + 32 * (y - 1), 32) != 0;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert(distinct);
    /* the wrong sum at any level gives wrong leaves */
    mine[0] ^= 1;
    ck_assert_int_eq(mpc_ggm_puncture(k, alpha, mine, got), 0);
    bad = 0;
    for (uint32_t y = 0; y < (1u << k); y++)
        if (y != alpha) bad += memcmp(got + 32 * y, leaves + 32 * y, 32) != 0;
    ck_assert_int_ge(bad, 1);
    free(leaves); free(got); free(sums); free(mine);
}

START_TEST(test_ggm_puncture)
{
    for (uint32_t k = 1; k <= 8; k++)
        for (int rep = 0; rep < 8; rep++) s_ggm_case(k);
}
END_TEST

/* SoftSpokenOT: same correlation as IKNP; the sender never uses its punctured leaf. */
static void s_sso_correlation(mpc_sym_kind kind, uint32_t k, uint64_t m)
{
    uint32_t nl = 128 / k;
    size_t lb = (size_t)nl * 32 << k;
    uint8_t delta[16], *lr = malloc(lb), *ls = malloc(lb);
    randombytes_buf(delta, 16);
    randombytes_buf(lr, lb);
    memcpy(ls, lr, lb);
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t dl = 0;
        for (uint32_t i = 0; i < k; i++) dl |= (uint32_t)((delta[(l * k + i) / 8] >> ((l * k + i) % 8)) & 1) << i;
        randombytes_buf(ls + 32 * (((size_t)l << k) + dl), 32);   /* the sender cannot know it */
    }
    mpc_cot_recv *rcv = mpc_sso_recv_new(kind, k, lr, 99);
    mpc_cot_send *snd = mpc_sso_send_new(kind, k, delta, ls, 99);
    ck_assert_ptr_nonnull(rcv);
    ck_assert_ptr_nonnull(snd);
    uint64_t w = mpc_cot_msg_words_k(k, m);
    ck_assert_uint_eq(w, (m + 127) / 128 * 256 / k);
    uint8_t *x = malloc(m / 8 + 1), *t = malloc(16 * m), *q = malloc(16 * m);
    uint64_t *c = malloc(8 * w), *h = malloc(8 * m), *h0 = malloc(8 * m), *h1 = malloc(8 * m);
    for (int rep = 0; rep < 2; rep++) {
        randombytes_buf(x, m / 8 + 1);
        ck_assert_int_eq(mpc_cot_recv_extend(rcv, x, m, c, h, t), 0);
        ck_assert_int_eq(mpc_cot_send_extend(snd, c, m, h0, h1, q), 0);
        uint64_t bad = 0, ones = 0;
        for (uint64_t j = 0; j < m; j++) {
            int xj = (x[j / 8] >> (j % 8)) & 1;
            for (int i = 0; i < 16; i++) bad += q[16 * j + i] != (uint8_t)(t[16 * j + i] ^ (xj ? delta[i] : 0));
            bad += h[j] != (xj ? h1[j] : h0[j]);
            bad += h0[j] == h1[j];
        }
        for (uint64_t i = 0; i < w; i++) ones += (uint64_t)__builtin_popcountll(c[i]);
        ck_assert_uint_eq(bad, 0);
        double frac = (double)ones / (64.0 * (double)w);
        ck_assert_msg(fabs(frac - 0.5) < 0.01, "c bit balance %f", frac);
    }
    mpc_cot_recv_destroy(&rcv);
    mpc_cot_send_destroy(&snd);
    free(lr); free(ls); free(x); free(t); free(q); free(c); free(h); free(h0); free(h1);
}

START_TEST(test_sso_correlation)
{
    mpc_sym_kind kind = mpc_sym_best();
    s_sso_correlation(kind, 2, 1000037);
    s_sso_correlation(kind, 4, 200003);
    s_sso_correlation(kind, 8, 20011);
    s_sso_correlation(MPC_SYM_PORTABLE, 2, 50021);
    ck_assert_ptr_null(mpc_sso_recv_new(kind, 3, (const uint8_t *)"", 1));
    ck_assert_ptr_null(mpc_sso_recv_new(kind, 1, (const uint8_t *)"", 1));
}
END_TEST

START_TEST(test_cot_refuses)
{
    uint8_t k0[32 * 128] = {0}, d[16] = {0};
    mpc_cot_recv *r = mpc_cot_recv_new(MPC_SYM_PORTABLE, k0, k0, 1);
    mpc_cot_send *s = mpc_cot_send_new(MPC_SYM_PORTABLE, d, k0, 1);
    uint64_t u[256], h[128], h1[128];
    uint8_t x[16] = {0};
    ck_assert_int_eq(mpc_cot_recv_extend(r, x, 0, u, h, NULL), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_cot_send_extend(s, u, MPC_OT_MAX_M + 1, h, h1, NULL), MPC_ERR_INVALID);
    /* no hashes asks for the rows: without them there is no output */
    ck_assert_int_eq(mpc_cot_recv_extend(r, x, 128, u, NULL, NULL), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_cot_send_extend(s, u, 128, NULL, NULL, NULL), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_cot_send_extend(s, u, 128, h, NULL, NULL), MPC_ERR_INVALID);
    ck_assert_uint_eq(mpc_cot_msg_words(1), 256);
    ck_assert_uint_eq(mpc_cot_msg_words(128), 256);
    ck_assert_uint_eq(mpc_cot_msg_words(129), 512);
    mpc_cot_recv_destroy(&r);
    mpc_cot_send_destroy(&s);
}
END_TEST

/* The threaded extension (mpc_cot_*_extend_par) is the plain one bit for bit: two copies of
 * the same ends (same keys) run the same batches — of sizes that end inside a superblock —
 * one copy alone, the other on pools of 2, 3 and 5 threads; messages, hashes, rows and
 * positions must be equal, and the correlation must hold.  IKNP and SoftSpokenOT k = 2. */
static void s_par_case(mpc_sym_kind kind, uint32_t k, uint32_t threads)
{
    uint32_t nl = 128 / k;
    size_t lb = (size_t)nl * 32 << k;
    uint8_t delta[16], *lr = malloc(lb), *ls = malloc(lb), *k0 = malloc(32 * 128), *k1 = malloc(32 * 128),
            *kd = malloc(32 * 128);
    randombytes_buf(delta, 16);
    randombytes_buf(lr, lb);
    memcpy(ls, lr, lb);
    randombytes_buf(k0, 32 * 128);
    randombytes_buf(k1, 32 * 128);
    for (int i = 0; i < 128; i++) memcpy(kd + 32 * i, (delta[i / 8] >> (i % 8)) & 1 ? k1 + 32 * i : k0 + 32 * i, 32);
    mpc_cot_recv *r[2];
    mpc_cot_send *sd[2];
    for (int c = 0; c < 2; c++) {
        r[c] = k == 1 ? mpc_cot_recv_new(kind, k0, k1, 7) : mpc_sso_recv_new(kind, k, lr, 7);
        sd[c] = k == 1 ? mpc_cot_send_new(kind, delta, kd, 7) : mpc_sso_send_new(kind, k, delta, ls, 7);
        ck_assert(r[c] && sd[c]);
    }
    mpc_par *par = mpc_par_new(threads);
    ck_assert_ptr_nonnull(par);
    ck_assert_uint_eq(mpc_par_threads(par), threads);
    const uint64_t ms[3] = {100000, 777, 3 * MPC_OT_SUPER + 129};
    for (int b = 0; b < 3; b++) {
        uint64_t m = ms[b], w = mpc_cot_msg_words_k(k, m);
        uint8_t *x = malloc(m / 8 + 1), *rows[2], *qrows[2];
        uint64_t *u[2], *h[2], *h0[2], *h1[2];
        randombytes_buf(x, m / 8 + 1);
        for (int c = 0; c < 2; c++) {
            u[c] = malloc(8 * w);
            h[c] = malloc(8 * m);
            h0[c] = malloc(8 * m);
            h1[c] = malloc(8 * m);
            rows[c] = malloc(16 * m);
            qrows[c] = malloc(16 * m);
            mpc_par *pp = c ? par : NULL;
            ck_assert_int_eq(mpc_cot_recv_extend_par(r[c], pp, x, m, u[c], h[c], rows[c]), 0);
            ck_assert_int_eq(mpc_cot_send_extend_par(sd[c], pp, u[c], m, h0[c], h1[c], qrows[c]), 0);
        }
        ck_assert(memcmp(u[0], u[1], 8 * w) == 0);
        ck_assert(memcmp(h[0], h[1], 8 * m) == 0);
        ck_assert(memcmp(h0[0], h0[1], 8 * m) == 0);
        ck_assert(memcmp(h1[0], h1[1], 8 * m) == 0);
        ck_assert(memcmp(rows[0], rows[1], 16 * m) == 0);
        ck_assert(memcmp(qrows[0], qrows[1], 16 * m) == 0);
        ck_assert_uint_eq(mpc_cot_recv_pos(r[0]), mpc_cot_recv_pos(r[1]));
        ck_assert_uint_eq(mpc_cot_send_pos(sd[0]), mpc_cot_send_pos(sd[1]));
        uint64_t bad = 0;
        for (uint64_t j = 0; j < m; j++) bad += h[1][j] != (((x[j / 8] >> (j % 8)) & 1) ? h1[1][j] : h0[1][j]);
        ck_assert_uint_eq(bad, 0);
        for (int c = 0; c < 2; c++) {
            free(u[c]); free(h[c]); free(h0[c]); free(h1[c]); free(rows[c]); free(qrows[c]);
        }
        free(x);
    }
    mpc_par_free(&par);
    ck_assert_ptr_null(par);
    for (int c = 0; c < 2; c++) {
        mpc_cot_recv_destroy(&r[c]);
        mpc_cot_send_destroy(&sd[c]);
    }
    free(lr); free(ls); free(k0); free(k1); free(kd);
}

START_TEST(test_extend_threads_same)
{
    for (int ki = 0; ki < 2; ki++) {
        if (!s_runnable(s_kinds[ki])) continue;
        for (uint32_t t = 2; t <= 5; t += t == 3 ? 2 : 1) {
            s_par_case(s_kinds[ki], 1, t);
            s_par_case(s_kinds[ki], 2, t);
        }
    }
    /* a pool of one thread, and none, run on the caller */
    mpc_par *one = mpc_par_new(1);
    ck_assert_ptr_nonnull(one);
    ck_assert_uint_eq(mpc_par_threads(one), 1);
    ck_assert_uint_eq(mpc_par_threads(NULL), 1);
    mpc_par_free(&one);
    mpc_par_free(&one);
}
END_TEST

/* mpc_par_range: the parts cover [0, n) in order, each a multiple of the unit but the last. */
START_TEST(test_par_range)
{
    for (uint64_t n = 0; n < 40; n++)
        for (uint32_t np = 1; np <= 5; np++) {
            uint64_t at = 0;
            for (uint32_t i = 0; i < np; i++) {
                uint64_t lo, hi;
                mpc_par_range(n, 2, i, np, &lo, &hi);
                ck_assert_uint_eq(lo, at);
                ck_assert_uint_le(lo, hi);
                if (i + 1 < np) ck_assert_uint_eq((hi - lo) % 2, 0);
                at = hi;
            }
            ck_assert_uint_eq(at, n);
        }
}
END_TEST

/* ---- the KOS15 consistency check ---- */

START_TEST(test_gf128)
{
    uint8_t a[16], b[16], c[16], ab[16], bc[16], l[16], r[16], one[16] = {1}, s1[16], s2[16];
    for (int it = 0; it < 200; it++) {
        randombytes_buf(a, 16);
        randombytes_buf(b, 16);
        randombytes_buf(c, 16);
        mpc_gf128_mul(ab, a, b);
        mpc_gf128_mul_soft(s1, a, b);
        ck_assert_mem_eq(ab, s1, 16);
        mpc_gf128_mul(bc, b, c);
        mpc_gf128_mul(l, ab, c);
        mpc_gf128_mul(r, a, bc);
        ck_assert_mem_eq(l, r, 16);            /* associative: the reduction is right */
        mpc_gf128_mul(s1, a, one);
        ck_assert_mem_eq(s1, a, 16);
        for (int k = 0; k < 16; k++) s2[k] = (uint8_t)(b[k] ^ c[k]);
        mpc_gf128_mul(l, a, s2);                /* a(b + c) = ab + ac */
        mpc_gf128_mul(r, a, c);
        for (int k = 0; k < 16; k++) r[k] ^= ab[k];
        ck_assert_mem_eq(l, r, 16);
    }
    /* x^127 · x = x^128 = x^7 + x^2 + x + 1 */
    memset(a, 0, 16);
    memset(b, 0, 16);
    a[15] = 0x80;
    b[0] = 2;
    mpc_gf128_mul(ab, a, b);
    uint8_t want[16] = {0x87};
    ck_assert_mem_eq(ab, want, 16);
}
END_TEST

/* One IKNP batch of m OTs with the KOS check; `cheat` flips u's bit of OT j in column col
 * (the receiver used choice ¬x_j in that column only), all: in every column (a consistent
 * change of choice).  Returns mpc_kos_verify_k's result, χ drawn by `kind`. */
static int s_kos_run(mpc_sym_kind kind, uint64_t m, int cheat, uint64_t j, int col_want_delta, int all)
{
    mpc_cot_send *snd;
    mpc_cot_recv *rcv;
    uint8_t delta[16], seed[32];
    s_pair(kind, &snd, &rcv, delta);
    uint8_t *x = calloc(1, m / 8 + 1), *t = malloc(16 * m), *q = malloc(16 * m);
    uint64_t *u = malloc(8 * mpc_cot_msg_words(m)), *h = malloc(8 * m), *h0 = malloc(8 * m),
             *h1 = malloc(8 * m), proof[MPC_KOS_WORDS];
    randombytes_buf(x, m / 8 + 1);
    ck_assert_int_eq(mpc_cot_recv_extend(rcv, x, m, u, h, t), 0);
    if (cheat) {
        /* u of the first superblock is [column][block], nb 16-byte blocks per column */
        uint64_t nb = (m + 127) / 128 < 8 ? (m + 127) / 128 : 8;
        for (unsigned i = 0; i < 128; i++) {
            int di = (delta[i / 8] >> (i % 8)) & 1;
            if (!all && di != col_want_delta) continue;
            ((uint8_t *)u)[i * nb * 16 + (j % 128) / 8 + 16 * (j / 128)] ^= (uint8_t)(1u << (j % 8));
            if (!all) break;
        }
        if (all) x[j / 8] ^= (uint8_t)(1u << (j % 8));   /* it then proves with the new choice */
    }
    ck_assert_int_eq(mpc_cot_send_extend(snd, u, m, h0, h1, q), 0);
    randombytes_buf(seed, 32);
    ck_assert_int_eq(mpc_kos_prove_k(kind, seed, x, t, m, proof), 0);
    int r = mpc_kos_verify_k(kind, seed, delta, q, m, proof);
    if (!cheat && kind == MPC_SYM_PORTABLE) {   /* the forms without a kind are ChaCha20's */
        uint64_t p2[MPC_KOS_WORDS];
        ck_assert_int_eq(mpc_kos_prove(seed, x, t, m, p2), 0);
        ck_assert_mem_eq(p2, proof, sizeof p2);
        ck_assert_int_eq(mpc_kos_verify(seed, delta, q, m, proof), 0);
    }
    if (!cheat && kind == MPC_SYM_AESNI) {
        /* the other kind's χ: the honest proof of one kind fails the other's check */
        ck_assert_int_eq(mpc_kos_verify_k(MPC_SYM_PORTABLE, seed, delta, q, m, proof), MPC_ERR_CRYPTO);
        uint64_t p2[MPC_KOS_WORDS];
        ck_assert_int_eq(mpc_kos_prove_k(MPC_SYM_PORTABLE, seed, x, t, m, p2), 0);
        ck_assert_int_eq(mpc_kos_verify_k(kind, seed, delta, q, m, p2), MPC_ERR_CRYPTO);
        ck_assert_int_eq(mpc_kos_verify_k(MPC_SYM_PORTABLE, seed, delta, q, m, p2), 0);
    }
    if (!cheat) {
        /* a wrong proof or another seed fails */
        proof[2] ^= 1;
        ck_assert_int_eq(mpc_kos_verify_k(kind, seed, delta, q, m, proof), MPC_ERR_CRYPTO);
        proof[2] ^= 1;
        seed[0] ^= 1;
        ck_assert_int_eq(mpc_kos_verify_k(kind, seed, delta, q, m, proof), MPC_ERR_CRYPTO);
    }
    free(x); free(t); free(q); free(u); free(h); free(h0); free(h1);
    mpc_cot_send_destroy(&snd);
    mpc_cot_recv_destroy(&rcv);
    return r;
}

START_TEST(test_kos_check)
{
    for (int ki = 0; ki < 2; ki++) {
        mpc_sym_kind k = s_kinds[ki];
        if (!s_runnable(k)) continue;
        uint64_t m = 5000 + MPC_KOS_EXTRA;
        ck_assert_int_eq(s_kos_run(k, m, 0, 0, 0, 0), 0);                      /* honest */
        /* inconsistent choice bits across columns: caught where Δ_i = 1 (the cheater's
         * guess of Δ_i = 0 was wrong) */
        ck_assert_int_eq(s_kos_run(k, m, 1, 77, 1, 0), MPC_ERR_CRYPTO);
        ck_assert_int_eq(s_kos_run(k, m, 1, 300, 1, 0), MPC_ERR_CRYPTO);
        /* ... and unnoticed where Δ_i = 0: then the flip changed nothing the sender holds,
         * and the cheater learns only that its guess was right (bounded by the extra OTs) */
        ck_assert_int_eq(s_kos_run(k, m, 1, 77, 0, 0), 0);
        /* the same flip in every column is a consistent change of choice: passes */
        ck_assert_int_eq(s_kos_run(k, m, 1, 77, 0, 1), 0);
    }
    uint64_t p[MPC_KOS_WORDS] = {0};
    uint8_t z[32] = {0};
    ck_assert_int_eq(mpc_kos_prove(z, NULL, z, 1, p), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_kos_verify(z, z, z, 0, p), MPC_ERR_INVALID);
}
END_TEST

/* The check's sums with VPCLMULQDQ (two products per instruction) equal those with PCLMULQDQ:
 * proofs of random rows and choices, odd and even counts, χ of each kind. */
START_TEST(test_kos_vpclmul_same)
{
    int had = mpc_kos_vpclmul(-1);
    uint64_t ms[] = {1, 2, 3, 1023, 1024, 1025, 5000 + MPC_KOS_EXTRA};
    for (unsigned i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        uint64_t m = ms[i], p1[MPC_KOS_WORDS], p2[MPC_KOS_WORDS];
        uint8_t seed[32], *x = malloc(m / 8 + 1), *t = malloc(16 * m);
        randombytes_buf(seed, 32);
        randombytes_buf(x, m / 8 + 1);
        randombytes_buf(t, 16 * m);
        for (int ki = 0; ki < 2; ki++) {
            if (!s_runnable(s_kinds[ki])) continue;
            mpc_kos_vpclmul(1);
            ck_assert_int_eq(mpc_kos_prove_k(s_kinds[ki], seed, x, t, m, p1), 0);
            mpc_kos_vpclmul(0);
            ck_assert_int_eq(mpc_kos_prove_k(s_kinds[ki], seed, x, t, m, p2), 0);
            ck_assert_mem_eq(p1, p2, sizeof p1);
        }
        free(x);
        free(t);
    }
    mpc_kos_vpclmul(had);
    printf("KOS sums: %s\n", had ? "VPCLMULQDQ" : "PCLMULQDQ or the loop");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("otext");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_aes_known_answer);
    tcase_add_test(tc, test_kos_vpclmul_same);
    tcase_add_test(tc, test_tccr_separation);
    tcase_add_test(tc, test_tccr_vaes_same);
    tcase_add_test(tc, test_tccr2_same);
    tcase_add_test(tc, test_prg_positions);
    tcase_add_test(tc, test_transpose);
    tcase_add_test(tc, test_cot_million_aesni);
    tcase_add_test(tc, test_cot_million_portable);
    tcase_add_test(tc, test_ggm_puncture);
    tcase_add_test(tc, test_sso_correlation);
    tcase_add_test(tc, test_cot_refuses);
    tcase_add_test(tc, test_extend_threads_same);
    tcase_add_test(tc, test_par_range);
    tcase_add_test(tc, test_gf128);
    tcase_add_test(tc, test_kos_check);
    suite_add_tcase(su, tc);
    return su;
}

