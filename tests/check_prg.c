/* check_prg.c — ChaCha20 expansion: a known-answer vector, position independence, stream and
 * seed separation, seed memory helpers. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "mpc_err.h"
#include "prg.h"

/* ChaCha20 (64-bit nonce), all-zero key and nonce: the first key-stream bytes are the
 * published test vector 76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28 ... */
START_TEST(test_known_answer)
{
    uint8_t seed[32] = {0};
    uint64_t w[2];
    ck_assert_int_eq(mpc_prg_expand(w, 2, seed, 0, 0), 0);
    static const uint8_t want[16] = {0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90,
                                     0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86, 0xbd, 0x28};
    ck_assert_int_eq(memcmp(w, want, 16), 0);
}
END_TEST

/* Words at a position do not depend on how the request is split. */
START_TEST(test_positions_consistent)
{
    uint8_t seed[32];
    randombytes_buf(seed, 32);
    uint64_t whole[1000], part[1000];
    ck_assert_int_eq(mpc_prg_expand(whole, 1000, seed, 7, 0), 0);
    uint64_t cuts[] = {0, 3, 8, 9, 17, 500, 993, 1000};
    for (size_t i = 0; i + 1 < sizeof cuts / sizeof cuts[0]; i++)
        ck_assert_int_eq(mpc_prg_expand(part + cuts[i], cuts[i + 1] - cuts[i], seed, 7, cuts[i]), 0);
    ck_assert_int_eq(memcmp(whole, part, sizeof whole), 0);
    /* an unaligned short read inside one block */
    uint64_t two[2];
    ck_assert_int_eq(mpc_prg_expand(two, 2, seed, 7, 5), 0);
    ck_assert_uint_eq(two[0], whole[5]);
    ck_assert_uint_eq(two[1], whole[6]);
    ck_assert_int_eq(mpc_prg_expand(two, 2, seed, 7, UINT64_MAX), MPC_ERR_INVALID);
}
END_TEST

START_TEST(test_streams_and_seeds_differ)
{
    uint8_t s1[32], s2[32];
    randombytes_buf(s1, 32);
    memcpy(s2, s1, 32);
    s2[31] ^= 1;
    uint64_t a[64], b[64], c[64];
    ck_assert_int_eq(mpc_prg_expand(a, 64, s1, MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 0), 0), 0);
    ck_assert_int_eq(mpc_prg_expand(b, 64, s1, MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_B, 0), 0), 0);
    ck_assert_int_eq(mpc_prg_expand(c, 64, s2, MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 0), 0), 0);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 64; i++) {
        same_ab += a[i] == b[i];
        same_ac += a[i] == c[i];
    }
    ck_assert_int_eq(same_ab, 0);
    ck_assert_int_eq(same_ac, 0);
    ck_assert_uint_ne(MPC_PRG_STREAM(MPC_PRG_D_INPUT, 1), MPC_PRG_STREAM(MPC_PRG_D_CLIENT, 1));
}
END_TEST

START_TEST(test_seed_memory)
{
    uint8_t *s = mpc_prg_seed_new(), *t = mpc_prg_seed_new();
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_ne(sodium_memcmp(s, t, 32), 0);   /* fresh randomness */
    uint8_t *d = mpc_prg_seed_dup(s);
    ck_assert_int_eq(sodium_memcmp(s, d, 32), 0);
    mpc_prg_seed_free(&s);
    mpc_prg_seed_free(&t);
    mpc_prg_seed_free(&d);
    ck_assert_ptr_null(s);
    mpc_prg_seed_free(&s);   /* NULL accepted */
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("prg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_known_answer);
    tcase_add_test(tc, test_positions_consistent);
    tcase_add_test(tc, test_streams_and_seeds_differ);
    tcase_add_test(tc, test_seed_memory);
    suite_add_tcase(su, tc);
    return su;
}

