/* check_zmq_wipe.c — wiped ZeroMQ messages (protocols/zmq_wipe.h): a released frame's memory
 * is zero when its free function runs (observed through a counting free function of the
 * test), secret copies travel intact and their free function is the wiping one, and the
 * ownership-taking constructor releases its buffer on every failure. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "runner.h"
#include "mpc_err.h"
#include "zmq_wipe.h"

static int s_frees, s_frees_zeroed;

/* A zmq_msg_init_data free function that records whether the buffer was wiped by then. */
static void s_counting_free(void *data, void *hint)
{
    size_t n = (size_t)(uintptr_t)hint;
    const uint8_t *p = data;
    int zero = 1;
    for (size_t i = 0; i < n; i++)
        if (p[i]) zero = 0;
    s_frees++;
    s_frees_zeroed += zero;
    free(data);
}

START_TEST(test_wipe_close_zeroes_before_release)
{
    s_frees = s_frees_zeroed = 0;
    size_t sizes[] = {1, 33, 4096, 1u << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint8_t *buf = malloc(sizes[k]);
        ck_assert_ptr_nonnull(buf);
        memset(buf, 0xa5, sizes[k]);
        zmq_msg_t m;
        ck_assert_int_eq(zmq_msg_init_data(&m, buf, sizes[k], s_counting_free, (void *)(uintptr_t)sizes[k]), 0);
        mpc_zmq_msg_wipe_close(&m);
        ck_assert_int_eq(s_frees, (int)k + 1);
        ck_assert_int_eq(s_frees_zeroed, (int)k + 1);
    }
    /* The control: a plain close leaves the bytes (what the wipe is for). */
    uint8_t *buf = malloc(64);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0xa5, 64);
    zmq_msg_t m;
    ck_assert_int_eq(zmq_msg_init_data(&m, buf, 64, s_counting_free, (void *)(uintptr_t)64), 0);
    zmq_msg_close(&m);
    ck_assert_int_eq(s_frees, 5);
    ck_assert_int_eq(s_frees_zeroed, 4);
    /* Small received-style messages (data inside the zmq_msg_t) and empty ones. */
    zmq_msg_t v, e;
    ck_assert_int_eq(zmq_msg_init_size(&v, 16), 0);
    memset(zmq_msg_data(&v), 0x5a, 16);
    mpc_zmq_msg_wipe_close(&v);
    zmq_msg_init(&e);
    mpc_zmq_msg_wipe_close(&e);
}
END_TEST

/* A secret copy crosses a socket intact; the sender's copy is its own buffer (not the
 * caller's), released with the wiping free function. */
START_TEST(test_secret_copy_travels)
{
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    ck_assert_int_eq(zmq_bind(a, "inproc://wipe-test"), 0);
    ck_assert_int_eq(zmq_connect(b, "inproc://wipe-test"), 0);
    size_t sizes[] = {0, 8, 40, 1u << 16};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *src = malloc(n + 1);
        ck_assert_ptr_nonnull(src);
        for (size_t i = 0; i < n; i++) src[i] = (uint8_t)(i * 7 + 1);
        zmq_msg_t m, r;
        ck_assert_int_eq(mpc_zmq_msg_init_secret(&m, src, n), 0);
        ck_assert_uint_eq(zmq_msg_size(&m), n);
        if (n) ck_assert_ptr_ne(zmq_msg_data(&m), src);
        ck_assert_int_eq(zmq_msg_send(&m, a, 0), (int)n);
        zmq_msg_init(&r);
        ck_assert_int_eq(zmq_msg_recv(&r, b, 0), (int)n);
        ck_assert(n == 0 || memcmp(zmq_msg_data(&r), src, n) == 0);
        mpc_zmq_msg_wipe_close(&r);
        for (size_t i = 0; i < n; i++) ck_assert_uint_eq(src[i], (uint8_t)(i * 7 + 1));   /* untouched */
        free(src);
    }
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
}
END_TEST

START_TEST(test_owned_secret_released_on_failure)
{
    zmq_msg_t m;
    ck_assert_int_eq(mpc_zmq_msg_init_owned_secret(&m, NULL, 8), MPC_ERR_INVALID);
    ck_assert_uint_eq(zmq_msg_size(&m), 0);
    zmq_msg_close(&m);
    ck_assert_int_eq(mpc_zmq_msg_init_owned_secret(&m, NULL, 0), 0);
    ck_assert_uint_eq(zmq_msg_size(&m), 0);
    zmq_msg_close(&m);
    uint64_t *share = malloc(3 * sizeof *share);
    ck_assert_ptr_nonnull(share);
    share[0] = 1, share[1] = 2, share[2] = 3;
    ck_assert_int_eq(mpc_zmq_msg_init_owned_secret(&m, share, 3 * sizeof *share), 0);
    ck_assert_ptr_eq(zmq_msg_data(&m), share);            /* zero-copy */
    ck_assert_uint_eq(zmq_msg_size(&m), 24);
    zmq_msg_close(&m);                                     /* wiped and freed (ASan: no leak) */
    mpc_zmq_wipe_free(NULL, (void *)(uintptr_t)8);         /* tolerated */
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("zmq_wipe");
    TCase *tc = tcase_create("wipe");
    tcase_add_test(tc, test_wipe_close_zeroes_before_release);
    tcase_add_test(tc, test_secret_copy_travels);
    tcase_add_test(tc, test_owned_secret_released_on_failure);
    suite_add_tcase(s, tc);
    return s;
}
