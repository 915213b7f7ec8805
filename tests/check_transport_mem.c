/* check_transport_mem.c — every rule of transport.h on the in-memory backend: FIFO per pair,
 * streams held by stream id, exact type/seq/count checks, ABORT, timeouts, counters, malformed
 * raw messages, forget. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "mpc_err.h"
#include "transport_mem.h"

static mpc_mem_hub *H;
static mpc_transport *T[3];

static void s_setup(void)
{
    H = mpc_mem_hub_new(3, 200);
    ck_assert_ptr_nonnull(H);
    for (uint32_t i = 0; i < 3; i++) {
        T[i] = mpc_mem_transport_new(H, i);
        ck_assert_ptr_nonnull(T[i]);
    }
}

static void s_teardown(void)
{
    for (int i = 0; i < 3; i++) mpc_transport_destroy(&T[i]);
    mpc_mem_hub_destroy(&H);
}

START_TEST(test_fifo_and_counters)
{
    uint64_t a[3] = {1, 2, 3}, b[1] = {9}, out[3];
    ck_assert_int_eq(mpc_send(T[0], 1, MPC_MSG_OPEN, 5, 0, a, 3), 0);
    ck_assert_int_eq(mpc_send(T[0], 1, MPC_MSG_OPEN, 5, 1, b, 1), 0);
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 5, 0, out, 3, -1), 0);
    ck_assert_int_eq(memcmp(out, a, sizeof a), 0);
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 5, 1, out, 1, -1), 0);
    ck_assert_uint_eq(out[0], 9);
    ck_assert_uint_eq(T[0]->msgs_sent, 2);
    ck_assert_uint_eq(T[0]->bytes_sent, 2 * MPC_MEM_HDR_BYTES + 32);
    ck_assert_uint_eq(T[1]->msgs_recv, 2);
    ck_assert_uint_eq(T[1]->bytes_recv, 2 * MPC_MEM_HDR_BYTES + 32);
    ck_assert_int_eq(mpc_send(T[0], 0, MPC_MSG_OPEN, 5, 0, a, 1), MPC_ERR_INVALID);  /* self */
    ck_assert_int_eq(mpc_send(T[0], 3, MPC_MSG_OPEN, 5, 0, a, 1), MPC_ERR_INVALID);
}
END_TEST

START_TEST(test_streams_held)
{
    uint64_t v = 1, w = 2, out;
    ck_assert_int_eq(mpc_send(T[2], 0, MPC_MSG_OPEN, 100, 0, &v, 1), 0);
    ck_assert_int_eq(mpc_send(T[2], 0, MPC_MSG_OPEN, 200, 0, &w, 1), 0);
    ck_assert_int_eq(mpc_recv(T[0], 2, MPC_MSG_OPEN, 200, 0, &out, 1, -1), 0);
    ck_assert_uint_eq(out, 2);
    ck_assert_uint_eq(mpc_mem_pending(H, 2, 0), 1);
    ck_assert_int_eq(mpc_recv(T[0], 2, MPC_MSG_OPEN, 100, 0, &out, 1, -1), 0);
    ck_assert_uint_eq(out, 1);
    /* forget drops only its stream */
    ck_assert_int_eq(mpc_send(T[2], 0, MPC_MSG_OPEN, 300, 0, &v, 1), 0);
    ck_assert_int_eq(mpc_send(T[2], 0, MPC_MSG_OPEN, 400, 0, &w, 1), 0);
    mpc_transport_forget(T[0], 300);
    ck_assert_uint_eq(mpc_mem_pending(H, 2, 0), 1);
    ck_assert_int_eq(mpc_recv(T[0], 2, MPC_MSG_OPEN, 300, 0, &out, 1, 50), MPC_ERR_TIMEOUT);
    ck_assert_int_eq(mpc_recv(T[0], 2, MPC_MSG_OPEN, 400, 0, &out, 1, 50), 0);
}
END_TEST

START_TEST(test_exact_checks)
{
    uint64_t v[2] = {1, 2}, out[2];
    ck_assert_int_eq(mpc_send(T[0], 1, MPC_MSG_OPEN, 7, 3, v, 2), 0);
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_INPUT, 7, 3, out, 2, -1), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_send(T[0], 1, MPC_MSG_OPEN, 7, 3, v, 2), 0);
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 7, 4, out, 2, -1), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_send(T[0], 1, MPC_MSG_OPEN, 7, 3, v, 2), 0);
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 7, 3, out, 1, -1), MPC_ERR_PROTOCOL);
    ck_assert_uint_eq(mpc_mem_pending(H, 0, 1), 0);   /* discarded */
    /* ABORT on the stream, whatever type/seq/count was expected */
    uint64_t code = (uint64_t)(int64_t)MPC_ERR_TIMEOUT;
    ck_assert_int_eq(mpc_send(T[0], 1, MPC_MSG_ABORT, 7, 0, &code, 1), 0);
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 7, 9, out, 2, -1), MPC_ERR_PEER_ABORT);
    /* ... and it stays failed, whoever is waited for, until the stream is forgotten */
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 7, 9, out, 2, 30), MPC_ERR_PEER_ABORT);
    ck_assert_int_eq(mpc_recv(T[1], 2, MPC_MSG_OPEN, 7, 9, out, 2, 30), MPC_ERR_PEER_ABORT);
    /* A one-word ABORT names nobody as lost. */
    uint32_t from, lost;
    ck_assert_int_eq(mpc_transport_abort_info(T[1], 7, &from, &lost), 1);
    ck_assert_uint_eq(from, 0);
    ck_assert_uint_eq(lost, MPC_ABORT_NO_PARTY);
    ck_assert_int_eq(mpc_transport_abort_info(T[1], 8, &from, &lost), 0);
    mpc_transport_forget(T[1], 7);
    ck_assert_int_eq(mpc_transport_abort_info(T[1], 7, &from, &lost), 0);
    /* An ABORT naming the party its sender lost; an index out of range names nobody. */
    ck_assert_int_eq(mpc_send_abort(T[2], 1, 8, MPC_ERR_IO, 0), 0);
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 8, 0, out, 2, -1), MPC_ERR_PEER_ABORT);
    ck_assert_int_eq(mpc_transport_abort_info(T[1], 8, &from, &lost), 1);
    ck_assert_uint_eq(from, 2);
    ck_assert_uint_eq(lost, 0);
    mpc_transport_forget(T[1], 8);
    ck_assert_int_eq(mpc_send_abort(T[2], 1, 8, MPC_ERR_IO, 77), 0);
    ck_assert_int_eq(mpc_transport_abort_info(T[1], 8, &from, &lost), 1);
    ck_assert_uint_eq(lost, MPC_ABORT_NO_PARTY);
    mpc_transport_forget(T[1], 8);
    /* timeout */
    ck_assert_int_eq(mpc_recv(T[1], 0, MPC_MSG_OPEN, 7, 9, out, 2, 30), MPC_ERR_TIMEOUT);
}
END_TEST

START_TEST(test_injected_malformed)
{
    uint64_t v[4] = {1, 2, 3, 4}, out[4];
    mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = MPC_MSG_OPEN, .sender = 2, .stream = 1, .seq = 0, .count = 4};
    /* header count disagrees with the payload */
    ck_assert_int_eq(mpc_mem_inject(H, 0, &h, v, 3), 0);
    ck_assert_int_eq(mpc_recv(T[0], 2, MPC_MSG_OPEN, 1, 0, out, 4, -1), MPC_ERR_PROTOCOL);
    /* wrong version */
    h.version = 99;
    ck_assert_int_eq(mpc_mem_inject(H, 0, &h, v, 4), 0);
    ck_assert_int_eq(mpc_recv(T[0], 2, MPC_MSG_OPEN, 1, 0, out, 4, -1), MPC_ERR_PROTOCOL);
    h.version = MPC_WIRE_VERSION;
    /* a well-formed one passes */
    ck_assert_int_eq(mpc_mem_inject(H, 0, &h, v, 4), 0);
    ck_assert_int_eq(mpc_recv(T[0], 2, MPC_MSG_OPEN, 1, 0, out, 4, -1), 0);
    ck_assert_int_eq(memcmp(out, v, sizeof v), 0);
    ck_assert_int_eq(mpc_mem_inject(H, 0, &(mpc_msg_hdr){.sender = 9}, v, 1), MPC_ERR_INVALID);
    /* the per-pair holding limit */
    mpc_mem_hub_set_limit(H, 16);
    ck_assert_int_eq(mpc_send(T[1], 0, MPC_MSG_OPEN, 1, 1, v, 2), 0);
    ck_assert_int_eq(mpc_send(T[1], 0, MPC_MSG_OPEN, 1, 2, v, 1), MPC_ERR_LIMIT);
    ck_assert_ptr_null(mpc_mem_transport_new(H, 1));   /* already taken */
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("transport_mem");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_fifo_and_counters);
    tcase_add_test(tc, test_streams_held);
    tcase_add_test(tc, test_exact_checks);
    tcase_add_test(tc, test_injected_malformed);
    suite_add_tcase(su, tc);
    return su;
}

