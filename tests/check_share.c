/* check_share.c — local share operations, with every broadcast combination, reconstruct to
 * the plaintext operation. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "share.h"

#define N 37

static void s_split(const uint64_t *x, uint64_t n, uint64_t *s0, uint64_t *s1)
{
    randombytes_buf(s0, n * 8);
    for (uint64_t i = 0; i < n; i++) s1[i] = x[i] - s0[i];
}

START_TEST(test_binary_ops_broadcast)
{
    uint64_t x[N], y[N], k[N];
    randombytes_buf(x, sizeof x);
    randombytes_buf(y, sizeof y);
    randombytes_buf(k, sizeof k);
    uint64_t x0[N], x1[N], y0[N], y1[N], z0[N], z1[N];
    s_split(x, N, x0, x1);
    s_split(y, N, y0, y1);
    for (int bx = 0; bx < 2; bx++)
        for (int by = 0; by < 2; by++) {
            uint64_t nx = bx ? 1 : N, ny = by ? 1 : N;
            for (int op = 0; op < 4; op++) {
                switch (op) {
                case 0: mpc_share_add(z0, x0, nx, y0, ny, N); mpc_share_add(z1, x1, nx, y1, ny, N); break;
                case 1: mpc_share_sub(z0, x0, nx, y0, ny, N); mpc_share_sub(z1, x1, nx, y1, ny, N); break;
                case 2: mpc_share_add_pub(z0, x0, nx, k, ny, N, 1); mpc_share_add_pub(z1, x1, nx, k, ny, N, 0); break;
                case 3: mpc_share_mul_pub(z0, x0, nx, k, ny, N); mpc_share_mul_pub(z1, x1, nx, k, ny, N); break;
                }
                for (uint64_t i = 0; i < N; i++) {
                    uint64_t xv = x[bx ? 0 : i], yv = y[by ? 0 : i], kv = k[by ? 0 : i], want = 0;
                    switch (op) {
                    case 0: want = xv + yv; break;
                    case 1: want = xv - yv; break;
                    case 2: want = xv + kv; break;
                    case 3: want = xv * kv; break;
                    }
                    ck_assert_uint_eq(z0[i] + z1[i], want);
                }
            }
        }
}
END_TEST

START_TEST(test_unary_and_sum)
{
    uint64_t x[N], x0[N], x1[N], z0[N], z1[N];
    randombytes_buf(x, sizeof x);
    s_split(x, N, x0, x1);
    mpc_share_neg(z0, x0, N, N);
    mpc_share_neg(z1, x1, N, N);
    uint64_t s = 0;
    for (int i = 0; i < N; i++) {
        ck_assert_uint_eq(z0[i] + z1[i], 0 - x[i]);
        s += x[i];
    }
    ck_assert_uint_eq(mpc_share_sum(x0, N) + mpc_share_sum(x1, N), s);
    mpc_share_copy(z0, x0, 1, N);
    for (int i = 0; i < N; i++) ck_assert_uint_eq(z0[i], x0[0]);
    /* in place */
    memcpy(z0, x0, sizeof z0);
    mpc_share_add(z0, z0, N, x1, N, N);
    for (int i = 0; i < N; i++) ck_assert_uint_eq(z0[i], x[i]);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("share");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_binary_ops_broadcast);
    tcase_add_test(tc, test_unary_and_sum);
    suite_add_tcase(su, tc);
    return su;
}

