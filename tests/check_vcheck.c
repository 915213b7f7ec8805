/* check_vcheck.c — the vector check's client side (protocols/vcheck.h): honest records of 2
 * and 3 daemons (tests/vrec.c, built the way the spec says) verify and give the vector, for
 * lengths from 1 to past the 4096-word piece of the coin stream; a change of any word or byte
 * of any part of any daemon's record is refused with the reason the spec gives (1: public
 * parts differ, 2: a report does not open its commitment, 3: the sums fail); a daemon that
 * changes a share and commits to the changed report before the seed exists is caught (3),
 * for small errors and for 2^63; invalid arguments are refused. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"
#include "runner.h"
#include "vcheck.h"
#include "vrec.h"

static uint64_t *s_vec(uint64_t L)
{
    uint64_t *v = malloc((size_t)L * 8);
    ck_assert_ptr_nonnull(v);
    randombytes_buf(v, (size_t)L * 8);
    return v;
}

/* verify's result, why and who; v gets the vector (or what verify left there). */
static int s_verify(uint8_t **recs, uint32_t n, uint64_t L, uint64_t *v, int *why, uint32_t *who)
{
    return mpc_vcheck_verify((const uint8_t *const *)recs, n, L, v, why, who);
}

START_TEST(test_sizes)
{
    ck_assert_uint_eq(mpc_vcheck_record_bytes(1, 2), (1 + 2 * 64) * 8 + 32 + 32 + 2 * 32);
    ck_assert_uint_eq(mpc_vcheck_record_bytes(1000, 3), (1000 + 2 * 64) * 8 + 64 + 3 * 32);
    ck_assert_uint_eq(mpc_vcheck_record_bytes(MPC_VCHECK_MAX_LEN, MPC_MAX_PARTIES_AUTH),
                      (MPC_VCHECK_MAX_LEN + 128) * 8 + 64 + 32 * MPC_MAX_PARTIES_AUTH);
    ck_assert_uint_eq(mpc_vcheck_record_bytes(0, 2), 0);
    ck_assert_uint_eq(mpc_vcheck_record_bytes(MPC_VCHECK_MAX_LEN + 1, 2), 0);
    ck_assert_uint_eq(mpc_vcheck_record_bytes(5, 1), 0);
    ck_assert_uint_eq(mpc_vcheck_record_bytes(5, MPC_MAX_PARTIES_AUTH + 1), 0);
    /* the offsets follow the record's order */
    ck_assert_uint_eq(mpc_vcheck_off_pad(10), 80);
    ck_assert_uint_eq(mpc_vcheck_off_z(10), 80 + 512);
    ck_assert_uint_eq(mpc_vcheck_off_nonce(10), 80 + 1024);
    ck_assert_uint_eq(mpc_vcheck_off_seed(10), 80 + 1024 + 32);
    ck_assert_uint_eq(mpc_vcheck_off_com(10), 80 + 1024 + 64);
}
END_TEST

/* The coin stream: a piece from any multiple of 8 equals that part of the whole stream, and
 * mpc_vcheck_combine adds exactly the elements whose bit i is set. */
START_TEST(test_bits_combine)
{
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    enum { N = 9000 };
    uint64_t *all = malloc(N * 8), *part = malloc(N * 8);
    ck_assert_ptr_nonnull(all);
    ck_assert_ptr_nonnull(part);
    mpc_vcheck_bits(all, 0, N, seed);
    static const uint64_t firsts[] = {0, 8, 4096, 4104, 8192};
    for (unsigned t = 0; t < sizeof firsts / sizeof firsts[0]; t++) {
        uint64_t f = firsts[t], cnt = N - f < 777 ? N - f : 777;
        mpc_vcheck_bits(part, f, cnt, seed);
        ck_assert_int_eq(memcmp(part, all + f, (size_t)cnt * 8), 0);
    }
    uint64_t ones = 0;   /* roughly half the bits set: a stream, not zeros */
    for (unsigned l = 0; l < N; l++) ones += (uint64_t)__builtin_popcountll(all[l]);
    ck_assert_uint_gt(ones, (uint64_t)N * 64 * 45 / 100);
    ck_assert_uint_lt(ones, (uint64_t)N * 64 * 55 / 100);
    seed[0] ^= 1;   /* another seed, another stream */
    mpc_vcheck_bits(part, 0, 64, seed);
    ck_assert_int_ne(memcmp(part, all, 64 * 8), 0);

    mpc_u128 x[300], acc[MPC_VCHECK_D], want[MPC_VCHECK_D];
    randombytes_buf(x, sizeof x);
    randombytes_buf(acc, sizeof acc);
    memcpy(want, acc, sizeof acc);
    for (unsigned i = 0; i < MPC_VCHECK_D; i++)
        for (unsigned l = 0; l < 300; l++)
            if (all[l] >> i & 1) want[i] += x[l];
    mpc_vcheck_combine(acc, x, all, 300);
    ck_assert_int_eq(memcmp(acc, want, sizeof acc), 0);
    free(all);
    free(part);
}
END_TEST

/* Honest records verify and give v, for n = 2 and 3 and lengths across the stream's piece. */
START_TEST(test_honest)
{
    static const uint64_t lens[] = {1, 2, 7, 64, 4095, 4096, 4097, 9001};
    for (uint32_t n = 2; n <= 3; n++)
        for (unsigned t = 0; t < sizeof lens / sizeof lens[0]; t++) {
            uint64_t L = lens[t], *v = s_vec(L), *got = s_vec(L);
            uint8_t **recs = mpc_test_vrecs(n, L, v);
            int why = -1;
            uint32_t who = 99;
            ck_assert_int_eq(s_verify(recs, n, L, got, &why, &who), 0);
            ck_assert_int_eq(why, 0);
            ck_assert_int_eq(memcmp(got, v, (size_t)L * 8), 0);
            mpc_test_vrecs_free(recs, n);
            free(v);
            free(got);
        }
}
END_TEST

/* Flips one bit of byte `off` of daemon p's record and expects (why, who); v untouched for
 * reasons 1 and 2 (refused before the sums), zero for 3. */
static void s_flip_refused(uint8_t **recs, uint32_t n, uint64_t L, uint32_t p, size_t off, uint8_t bit, int want_why,
                           uint32_t want_who)
{
    uint64_t *v = malloc((size_t)L * 8);
    ck_assert_ptr_nonnull(v);
    memset(v, 0x5a, (size_t)L * 8);
    recs[p][off] ^= bit;
    int why = 0;
    uint32_t who = 99;
    ck_assert_int_eq(s_verify(recs, n, L, v, &why, &who), MPC_ERR_CRYPTO);
    ck_assert_msg(why == want_why, "n %u L %llu daemon %u byte %zu: why %d, expected %d", n, (unsigned long long)L, p,
                  off, why, want_why);
    if (want_why != 3) ck_assert_uint_eq(who, want_who);
    for (uint64_t l = 0; l < L; l++) ck_assert_uint_eq(v[l], want_why == 3 ? 0 : 0x5a5a5a5a5a5a5a5aull);
    recs[p][off] ^= bit;
    free(v);
}

/* The reason a change of byte `off` of daemon p's record must give, and whom it names. */
static int s_expect(uint32_t n, uint64_t L, uint32_t p, size_t off, uint32_t *who)
{
    if (off < mpc_vcheck_off_z(L) || (off >= mpc_vcheck_off_nonce(L) && off < mpc_vcheck_off_seed(L))) {
        *who = p;   /* its report or its nonce: its commitment does not open */
        return 2;
    }
    *who = p ? p : 1;   /* z, seed, commitments: compared with daemon 0's */
    (void)n;
    return 1;
}

/* Every byte of every part of every daemon's record, for short vectors; for long ones, the
 * bytes around every part's edges and a sample inside. */
START_TEST(test_every_byte)
{
    static const uint64_t lens[] = {1, 3, 17};
    for (uint32_t n = 2; n <= 3; n++)
        for (unsigned t = 0; t < sizeof lens / sizeof lens[0]; t++) {
            uint64_t L = lens[t];
            size_t bytes = mpc_vcheck_record_bytes(L, n);
            uint8_t **recs = mpc_test_vrecs(n, L, NULL);
            for (uint32_t p = 0; p < n; p++)
                for (size_t off = 0; off < bytes; off++) {
                    uint32_t who;
                    int why = s_expect(n, L, p, off, &who);
                    s_flip_refused(recs, n, L, p, off, (uint8_t)(1u << (off % 8)), why, who);
                }
            mpc_test_vrecs_free(recs, n);
        }
}
END_TEST

START_TEST(test_long_edges)
{
    const uint64_t L = 5000;   /* more than one 4096-word piece */
    for (uint32_t n = 2; n <= 3; n++) {
        size_t bytes = mpc_vcheck_record_bytes(L, n);
        uint8_t **recs = mpc_test_vrecs(n, L, NULL);
        const size_t edges[] = {0, 4095 * 8, 4096 * 8, 4096 * 8 + 7, (L - 1) * 8 + 7, mpc_vcheck_off_pad(L),
                                mpc_vcheck_off_z(L) - 1, mpc_vcheck_off_z(L), mpc_vcheck_off_nonce(L) - 1,
                                mpc_vcheck_off_nonce(L), mpc_vcheck_off_seed(L) - 1, mpc_vcheck_off_seed(L),
                                mpc_vcheck_off_com(L) - 1, mpc_vcheck_off_com(L), bytes - 1};
        for (uint32_t p = 0; p < n; p++) {
            for (unsigned e = 0; e < sizeof edges / sizeof edges[0]; e++) {
                uint32_t who;
                int why = s_expect(n, L, p, edges[e], &who);
                s_flip_refused(recs, n, L, p, edges[e], 0x80, why, who);
            }
            for (int k = 0; k < 40; k++) {
                size_t off = randombytes_uniform((uint32_t)bytes);
                uint32_t who;
                int why = s_expect(n, L, p, off, &who);
                s_flip_refused(recs, n, L, p, off, 1, why, who);
            }
        }
        mpc_test_vrecs_free(recs, n);
    }
}
END_TEST

/* The same change of z, or of the seed, in every record passes the comparisons and fails the
 * sums (3): the client does not take z or the seed from one daemon on trust. */
START_TEST(test_public_parts_together)
{
    const uint32_t n = 3;
    const uint64_t L = 100;
    uint64_t *v = s_vec(L);   /* not zero: with v = 0 every seed passes (and rightly: nothing is wrong) */
    uint8_t **recs = mpc_test_vrecs(n, L, v);
    int why;
    uint32_t who;
    for (unsigned i = 0; i < MPC_VCHECK_D; i += 9) {
        for (uint32_t p = 0; p < n; p++) recs[p][mpc_vcheck_off_z(L) + 8 * i + 3] ^= 4;
        ck_assert_int_eq(s_verify(recs, n, L, v, &why, &who), MPC_ERR_CRYPTO);
        ck_assert_int_eq(why, 3);
        for (uint64_t l = 0; l < L; l++) ck_assert_uint_eq(v[l], 0);
        for (uint32_t p = 0; p < n; p++) recs[p][mpc_vcheck_off_z(L) + 8 * i + 3] ^= 4;
    }
    for (uint32_t p = 0; p < n; p++) recs[p][mpc_vcheck_off_seed(L) + 5] ^= 1;
    ck_assert_int_eq(s_verify(recs, n, L, v, &why, &who), MPC_ERR_CRYPTO);
    ck_assert_int_eq(why, 3);
    for (uint32_t p = 0; p < n; p++) recs[p][mpc_vcheck_off_seed(L) + 5] ^= 1;
    ck_assert_int_eq(s_verify(recs, n, L, v, &why, &who), 0);
    mpc_test_vrecs_free(recs, n);
    free(v);
}
END_TEST

/* A cheating daemon changes its share of one element (or its pad share) by e and commits to
 * the changed report, before the seed exists: every daemon's record carries its new
 * commitment and the z of the honest run.  Caught (3) every time, for random e, for e = 1 and
 * for the top bit 2^63 (an error a check mod 2^63 would miss). */
START_TEST(test_cheater_committed)
{
    for (uint32_t n = 2; n <= 3; n++)
        for (int trial = 0; trial < 60; trial++) {
            uint64_t L = trial % 3 == 0 ? 1 : 1 + randombytes_uniform(5000);
            uint64_t *v = s_vec(L), *got = s_vec(L);
            uint8_t **recs = mpc_test_vrecs(n, L, v);
            uint32_t p = randombytes_uniform(n);
            uint64_t e = trial % 4 == 0 ? 1ull << 63 : trial % 4 == 1 ? 1 : 0;
            while (!e) randombytes_buf(&e, sizeof e);
            /* a value share, or (every fifth trial) a pad share */
            size_t off = trial % 5 == 4 ? mpc_vcheck_off_pad(L) + 8 * randombytes_uniform(MPC_VCHECK_D)
                                        : 8 * (size_t)randombytes_uniform((uint32_t)L);
            mpc_vcheck_wr64(recs[p] + off, mpc_vcheck_rd64(recs[p] + off) + e);
            mpc_test_vrec_recommit(recs, n, L, p);
            int why = 0;
            uint32_t who;
            ck_assert_int_eq(s_verify(recs, n, L, got, &why, &who), MPC_ERR_CRYPTO);
            ck_assert_int_eq(why, 3);
            for (uint64_t l = 0; l < L; l++) ck_assert_uint_eq(got[l], 0);
            /* and undone (the commitment too): passes with v again */
            mpc_vcheck_wr64(recs[p] + off, mpc_vcheck_rd64(recs[p] + off) - e);
            mpc_test_vrec_recommit(recs, n, L, p);
            ck_assert_int_eq(s_verify(recs, n, L, got, &why, &who), 0);
            ck_assert_int_eq(memcmp(got, v, (size_t)L * 8), 0);
            mpc_test_vrecs_free(recs, n);
            free(v);
            free(got);
        }
}
END_TEST

/* Errors on two daemons at once, and on many elements of one, that cancel in v's sum but not
 * element-wise: caught.  Errors that cancel element-wise leave v as it is: the reports are
 * other sharings of the same vector, and pass (nothing to catch). */
START_TEST(test_cheaters_together)
{
    const uint32_t n = 3;
    const uint64_t L = 300;
    uint64_t *v = s_vec(L), *got = s_vec(L);
    uint8_t **recs = mpc_test_vrecs(n, L, v);
    int why;
    uint32_t who;
    for (uint64_t l = 0; l < L; l += 3) mpc_vcheck_wr64(recs[1] + 8 * l, mpc_vcheck_rd64(recs[1] + 8 * l) + l + 1);
    mpc_vcheck_wr64(recs[2] + 8 * 7, mpc_vcheck_rd64(recs[2] + 8 * 7) - 12345);
    mpc_test_vrec_recommit(recs, n, L, 1);
    mpc_test_vrec_recommit(recs, n, L, 2);
    ck_assert_int_eq(s_verify(recs, n, L, got, &why, &who), MPC_ERR_CRYPTO);
    ck_assert_int_eq(why, 3);
    mpc_test_vrecs_free(recs, n);

    recs = mpc_test_vrecs(n, L, v);   /* +e on daemon 1, −e on daemon 2, same element: same v */
    mpc_vcheck_wr64(recs[1] + 8 * 5, mpc_vcheck_rd64(recs[1] + 8 * 5) + 99);
    mpc_vcheck_wr64(recs[2] + 8 * 5, mpc_vcheck_rd64(recs[2] + 8 * 5) - 99);
    mpc_test_vrec_recommit(recs, n, L, 1);
    mpc_test_vrec_recommit(recs, n, L, 2);
    ck_assert_int_eq(s_verify(recs, n, L, got, &why, &who), 0);
    ck_assert_int_eq(memcmp(got, v, (size_t)L * 8), 0);
    mpc_test_vrecs_free(recs, n);
    free(v);
    free(got);
}
END_TEST

/* What the protocol's order buys: a daemon that could see the seed before committing can fit
 * its pad shares and z to any error and pass; so the parties must fix every commitment before
 * the coin (vcheck.h, step 3).  The client cannot tell: this shows the check rests on that. */
START_TEST(test_seed_before_commitment)
{
    const uint32_t n = 2;
    const uint64_t L = 50;
    uint64_t *v = s_vec(L), *got = s_vec(L);
    uint8_t **recs = mpc_test_vrecs(n, L, v);
    mpc_vcheck_wr64(recs[1] + 8 * 4, mpc_vcheck_rd64(recs[1] + 8 * 4) + 1000);
    mpc_test_vrec_recommit(recs, n, L, 1);
    mpc_test_vrec_rez(recs, n, L);   /* z fitted after the fact */
    int why;
    uint32_t who;
    ck_assert_int_eq(s_verify(recs, n, L, got, &why, &who), 0);
    ck_assert_uint_eq(got[4], v[4] + 1000);
    mpc_test_vrecs_free(recs, n);
    free(v);
    free(got);
}
END_TEST

START_TEST(test_invalid)
{
    const uint64_t L = 10;
    uint8_t **recs = mpc_test_vrecs(3, L, NULL);
    uint64_t v[10];
    int why = 7;
    uint32_t who = 7;
    ck_assert_int_eq(s_verify(recs, 3, L, v, &why, &who), 0);
    ck_assert_int_eq(s_verify(NULL, 3, L, v, &why, &who), MPC_ERR_INVALID);
    ck_assert_int_eq(s_verify(recs, 3, L, NULL, &why, &who), MPC_ERR_INVALID);
    ck_assert_int_eq(s_verify(recs, 1, L, v, &why, &who), MPC_ERR_INVALID);
    ck_assert_int_eq(s_verify(recs, MPC_MAX_PARTIES_AUTH + 1, L, v, &why, &who), MPC_ERR_INVALID);
    ck_assert_int_eq(s_verify(recs, 3, 0, v, &why, &who), MPC_ERR_INVALID);
    ck_assert_int_eq(s_verify(recs, 3, MPC_VCHECK_MAX_LEN + 1, v, &why, &who), MPC_ERR_INVALID);
    ck_assert_int_eq(why, 0);
    uint8_t *keep = recs[1];
    recs[1] = NULL;
    ck_assert_int_eq(s_verify(recs, 3, L, v, &why, &who), MPC_ERR_INVALID);
    recs[1] = keep;
    /* three daemons' records read as two: the public parts and the two commitments agree,
     * but two of three shares do not sum to what z covers: refused (3) */
    ck_assert_int_eq(s_verify(recs, 2, L, v, &why, &who), MPC_ERR_CRYPTO);
    ck_assert_int_eq(why, 3);
    mpc_test_vrecs_free(recs, 3);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("vcheck");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_bits_combine);
    tcase_add_test(tc, test_honest);
    tcase_add_test(tc, test_every_byte);
    tcase_add_test(tc, test_long_edges);
    tcase_add_test(tc, test_public_parts_together);
    tcase_add_test(tc, test_cheater_committed);
    tcase_add_test(tc, test_cheaters_together);
    tcase_add_test(tc, test_seed_before_commitment);
    tcase_add_test(tc, test_invalid);
    suite_add_tcase(s, tc);
    return s;
}
