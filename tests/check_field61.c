/* check_field61.c — the contribution field (protocols/field61.h) against 128-bit reference
 * arithmetic, at the edges and on random elements, and the signed encoding. */
#include <check.h>
#include <sodium.h>
#include <stdint.h>

#include "field61.h"
#include "runner.h"

static uint64_t s_rand_elem(void)
{
    uint64_t x;
    randombytes_buf(&x, sizeof x);
    return x % MPC_F61_P;
}

static void s_check(uint64_t a, uint64_t b)
{
    unsigned __int128 P = MPC_F61_P;
    ck_assert_uint_eq(mpc_f61_add(a, b), (uint64_t)(((unsigned __int128)a + b) % P));
    ck_assert_uint_eq(mpc_f61_sub(a, b), (uint64_t)(((unsigned __int128)a + P - b) % P));
    ck_assert_uint_eq(mpc_f61_mul(a, b), (uint64_t)(((unsigned __int128)a * b) % P));
}

START_TEST(test_ops_reference)
{
    const uint64_t edge[] = {0, 1, 2, MPC_F61_HALF, MPC_F61_HALF + 1, MPC_F61_P - 2, MPC_F61_P - 1,
                             UINT64_C(1) << 32, (UINT64_C(1) << 61) - 1 - MPC_F61_P + MPC_F61_P / 2};
    size_t ne = sizeof edge / sizeof edge[0];
    for (size_t i = 0; i < ne; i++)
        for (size_t j = 0; j < ne; j++) s_check(edge[i] % MPC_F61_P, edge[j] % MPC_F61_P);
    for (int i = 0; i < 100000; i++) s_check(s_rand_elem(), s_rand_elem());
}
END_TEST

START_TEST(test_field_facts)
{
    ck_assert_uint_eq(MPC_F61_P, UINT64_C(2305842979148922881));
    ck_assert_uint_eq(MPC_F61_P - 1, UINT64_C(536870905) << 32);
    /* 3 parties' sums of elements stay below 2^63 (the engine's signed comparisons). */
    ck_assert((unsigned __int128)3 * MPC_F61_P < ((unsigned __int128)1 << 63));
    ck_assert((unsigned __int128)4 * MPC_F61_P < ((unsigned __int128)1 << 63));
    ck_assert_uint_eq(mpc_f61_neg(1), MPC_F61_P - 1);
    ck_assert_uint_eq(mpc_f61_neg(0), 0);
    ck_assert_uint_eq(mpc_f61_reduce(UINT64_MAX), UINT64_MAX % MPC_F61_P);
}
END_TEST

START_TEST(test_signed_encoding)
{
    const int64_t v[] = {0, 1, -1, 65536, -98304, (int64_t)MPC_F61_HALF, -(int64_t)MPC_F61_HALF};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint64_t e = 0;
        ck_assert_int_eq(mpc_f61_from_signed(v[i], &e), 0);
        ck_assert_uint_lt(e, MPC_F61_P);
        ck_assert_int_eq(mpc_f61_to_signed(e), v[i]);
        ck_assert_int_eq(mpc_f61_from_ring((uint64_t)v[i], &e), 0);
        ck_assert_int_eq(mpc_f61_to_signed(e), v[i]);
    }
    uint64_t e = 7;
    ck_assert_int_eq(mpc_f61_from_signed((int64_t)MPC_F61_HALF + 1, &e), -1);
    ck_assert_int_eq(mpc_f61_from_signed(INT64_MIN, &e), -1);
    ck_assert_uint_eq(e, 7);
    /* shares of a signed sum reconstruct to it */
    int64_t xs[] = {-5, 3, -7, 100};
    uint64_t s0 = 0, s1 = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t x, r = s_rand_elem();
        ck_assert_int_eq(mpc_f61_from_signed(xs[i], &x), 0);
        s0 = mpc_f61_add(s0, r);
        s1 = mpc_f61_add(s1, mpc_f61_sub(x, r));
    }
    ck_assert_int_eq(mpc_f61_to_signed(mpc_f61_add(s0, s1)), 91);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("field61");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ops_reference);
    tcase_add_test(tc, test_field_facts);
    tcase_add_test(tc, test_signed_encoding);
    suite_add_tcase(s, tc);
    return s;
}
