/* check_dswire.c — the dataset messages (client-sdk/dswire.c): every request and reply
 * survives encode/decode; payload lengths must match the header; the decoder refuses
 * truncations, bad names, out-of-range fields and trailing bytes of every encoded message;
 * dataset headers are told apart from the other requests. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cwire.h"
#include "dswire.h"
#include "mpc_err.h"
#include "runner.h"

static mpc_dw_req s_begin(void)
{
    mpc_dw_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_DW_PUT;
    q.rid = 77;
    q.phase = MPC_DW_BEGIN;
    strcpy(q.name, "hosp_a.labs");
    strcpy(q.owner, "a");
    q.append = 1;
    q.frac = 16;
    q.n_cols = 2;
    strcpy(q.cols[0].name, "age");
    q.cols[0].type = MPC_T_INT;
    strcpy(q.cols[1].name, "glucose");
    q.cols[1].type = MPC_T_FIX;
    q.n_parties = 3;
    strcpy(q.parties[0], "a");
    strcpy(q.parties[1], "b");
    strcpy(q.parties[2], "c");
    return q;
}

START_TEST(roundtrip)
{
    mpc_dw_req q = s_begin(), o;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    ck_assert_int_eq(mpc_dw_req_encode(&q, &buf, &len), 0);
    ck_assert(mpc_dw_is_dataset(buf, len));
    ck_assert_int_eq(mpc_dw_req_decode(buf, len, 0, 0, &o, err, sizeof err), 0);
    ck_assert_uint_eq(o.rid, 77);
    ck_assert_str_eq(o.name, "hosp_a.labs");
    ck_assert_str_eq(o.cols[1].name, "glucose");
    ck_assert_uint_eq(o.cols[1].type, MPC_T_FIX);
    ck_assert_str_eq(o.parties[2], "c");
    ck_assert_uint_eq(o.append, 1);
    free(buf);

    q.phase = MPC_DW_CHUNK;
    q.rows = 10;
    q.mode = MPC_DW_EXPLICIT;
    q.chunk = 4;
    ck_assert_int_eq(mpc_dw_req_encode(&q, &buf, &len), 0);
    ck_assert_uint_eq(mpc_dw_req_payload_len(&q), 160);
    ck_assert_int_eq(mpc_dw_req_decode(buf, len, 1, 160, &o, err, sizeof err), 0);
    ck_assert_uint_eq(o.chunk, 4);
    ck_assert_uint_eq(o.n_cols, 2);
    ck_assert_int_eq(mpc_dw_req_decode(buf, len, 1, 159, &o, err, sizeof err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_dw_req_decode(buf, len, 0, 0, &o, err, sizeof err), MPC_ERR_PROTOCOL);
    ck_assert_uint_eq(o.rid, 77);   /* kept for the error reply */
    free(buf);

    mpc_dw_info info;
    memset(&info, 0, sizeof info);
    strcpy(info.name, "x");
    strcpy(info.owner, "a");
    strcpy(info.uploader, "client_a");
    info.n_cols = 1;
    strcpy(info.cols[0].name, "v");
    info.n_parties = 2;
    strcpy(info.parties[0], "a");
    strcpy(info.parties[1], "b");
    info.rows = 1000000;
    info.created = -5;
    info.uploads = 3;
    mpc_dw_rep r = {.type = MPC_DW_LIST_OK, .rid = 9, .n = 1, .items = &info}, ro;
    strcpy(r.daemon, "b");
    ck_assert_int_eq(mpc_dw_rep_encode(&r, &buf, &len), 0);
    ck_assert_int_eq(mpc_dw_rep_decode(buf, len, &ro, err, sizeof err), 0);
    ck_assert_uint_eq(ro.n, 1);
    ck_assert_uint_eq(ro.items[0].rows, 1000000);
    ck_assert_int_eq(ro.items[0].created, -5);
    ck_assert_str_eq(ro.items[0].uploader, "client_a");
    free(ro.items);
    free(buf);
}
END_TEST

/* Every prefix and every one-byte change of an encoded BEGIN: no crash, and a decoded
 * message is always a valid one. */
START_TEST(hostile)
{
    mpc_dw_req q = s_begin(), o;
    uint8_t *buf = NULL;
    size_t len = 0;
    char err[256];
    ck_assert_int_eq(mpc_dw_req_encode(&q, &buf, &len), 0);
    for (size_t n = 0; n < len; n++) ck_assert_int_eq(mpc_dw_req_decode(buf, n, 0, 0, &o, err, sizeof err), MPC_ERR_PROTOCOL);
    uint8_t *big = malloc(len + 1);
    memcpy(big, buf, len);
    big[len] = 0;
    ck_assert_int_eq(mpc_dw_req_decode(big, len + 1, 0, 0, &o, err, sizeof err), MPC_ERR_PROTOCOL);
    for (size_t i = 0; i < len; i++)
        for (int v = 0; v < 256; v += 17) {
            memcpy(big, buf, len);
            big[i] = (uint8_t)v;
            if (mpc_dw_req_decode(big, len, 0, 0, &o, err, sizeof err) == 0) {
                ck_assert(mpc_name_ok_str(o.name));
                ck_assert_uint_le(o.n_cols, MPC_DW_MAX_COLS);
                ck_assert_uint_le(o.n_parties, MPC_MAX_PARTIES);
                ck_assert_uint_le(o.frac, 62);
            }
        }
    free(big);
    free(buf);
    /* a name that is not a name */
    strcpy(q.name, "../etc");
    ck_assert_int_eq(mpc_dw_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    /* a cwire request is not a dataset request, and the reverse */
    mpc_cwire_req cq;
    memset(&cq, 0, sizeof cq);
    cq.type = MPC_CW_JOBS;
    ck_assert_int_eq(mpc_cwire_req_encode(&cq, &buf, &len), 0);
    ck_assert(!mpc_dw_is_dataset(buf, len));
    ck_assert_int_eq(mpc_dw_req_decode(buf, len, 0, 0, &o, err, sizeof err), MPC_ERR_PROTOCOL);
    free(buf);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("dswire");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, hostile);
    suite_add_tcase(s, tc);
    return s;
}
