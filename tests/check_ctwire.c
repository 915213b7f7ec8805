/* check_ctwire.c — the contribution messages (client-sdk/ctwire.h): round trips, hostile
 * headers refused with the request id kept, the payload length bound to the header, the proof length
 * bounding a proved contribution's payload; and the contributor's sharing among 2..4 daemons reconstructs
 * the contribution in the field, with seeds expanding to uniform elements below p. */
#include <check.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "ctwire.h"
#include "field61.h"
#include "mpc_err.h"
#include "runner.h"

static mpc_ct_req s_req(void)
{
    mpc_ct_req r;
    memset(&r, 0, sizeof r);
    r.rid = 77;
    randombytes_buf(r.job, sizeof r.job);
    strcpy(r.name, "g");
    randombytes_buf(r.token, sizeof r.token);
    randombytes_buf(r.nonce, sizeof r.nonce);
    r.mode = MPC_CW_EXPLICIT;
    r.count = 1000;
    return r;
}

START_TEST(test_roundtrip)
{
    for (int mode = 0; mode < 2; mode++) {
        mpc_ct_req r = s_req(), d;
        r.mode = (uint8_t)mode;
        uint8_t *buf;
        size_t len;
        char err[256];
        ck_assert_int_eq(mpc_ct_req_encode(&r, &buf, &len), 0);
        ck_assert(mpc_ct_is_contribution(buf, len));
        size_t pl = mode ? 32 : 8000;
        ck_assert_uint_eq(mpc_ct_req_payload_len(&r), pl);
        ck_assert_msg(mpc_ct_req_decode(buf, len, 1, pl, &d, err, sizeof err) == 0, "%s", err);
        ck_assert_mem_eq(&d, &r, sizeof r);
        ck_assert_int_eq(mpc_ct_req_decode(buf, len, 1, pl + 8, &d, err, sizeof err), MPC_ERR_PROTOCOL);
        ck_assert_uint_eq(d.rid, 77);
        ck_assert_int_eq(mpc_ct_req_decode(buf, len, 0, 0, &d, err, sizeof err), MPC_ERR_PROTOCOL);
        for (size_t cut = 0; cut < len; cut++)   /* every truncation refused */
            ck_assert_int_eq(mpc_ct_req_decode(buf, cut, 1, pl, &d, err, sizeof err), MPC_ERR_PROTOCOL);
        free(buf);
    }
    uint8_t *buf;
    size_t len;
    uint64_t rid, pending;
    char err[128];
    ck_assert_int_eq(mpc_ct_rep_encode(9, 12, &buf, &len), 0);
    ck_assert_int_eq(mpc_ct_rep_decode(buf, len, 0, &rid, &pending, err, sizeof err), 0);
    ck_assert_uint_eq(rid, 9);
    ck_assert_uint_eq(pending, 12);
    ck_assert_int_eq(mpc_ct_rep_decode(buf, len, 1, &rid, &pending, err, sizeof err), MPC_ERR_PROTOCOL);
    ck_assert(!mpc_ct_is_contribution(buf, len));
    free(buf);
}
END_TEST

START_TEST(test_encode_refuses)
{
    uint8_t *buf = NULL;
    size_t len;
    mpc_ct_req r = s_req();
    r.proof_len = MPC_CT_MAX_PROOF + 1;
    ck_assert_int_eq(mpc_ct_req_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.proof_len = 100;   /* a proved contribution: the payload is the proof length */
    ck_assert_uint_eq(mpc_ct_req_payload_len(&r), 100);
    r = s_req();
    r.count = 0;
    ck_assert_int_eq(mpc_ct_req_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r = s_req();
    strcpy(r.name, "../x");
    ck_assert_int_eq(mpc_ct_req_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r = s_req();
    r.mode = 2;
    ck_assert_int_eq(mpc_ct_req_encode(&r, &buf, &len), MPC_ERR_INVALID);
}
END_TEST

/* A header built by hand: [1, 7, rid, job, name, token, nonce, mode, count, proof] with one
 * field replaced. */
static size_t s_hand(uint8_t *out, int bad_field)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    uint8_t b[48] = {0};
    msgpack_pack_array(&pk, 10);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_bin(&pk, bad_field == 3 ? 15 : 16);
    msgpack_pack_bin_body(&pk, b, bad_field == 3 ? 15 : 16);
    if (bad_field == 4) {
        msgpack_pack_str(&pk, 3);
        msgpack_pack_str_body(&pk, "a\0b", 3);
    } else {
        msgpack_pack_str(&pk, 1);
        msgpack_pack_str_body(&pk, "g", 1);
    }
    msgpack_pack_bin(&pk, bad_field == 5 ? 47 : 48);
    msgpack_pack_bin_body(&pk, b, bad_field == 5 ? 47 : 48);
    msgpack_pack_bin(&pk, 16);
    msgpack_pack_bin_body(&pk, b, 16);
    if (bad_field == 7) msgpack_pack_int64(&pk, -1);
    else msgpack_pack_uint64(&pk, 0);
    msgpack_pack_uint64(&pk, bad_field == 8 ? 0 : 4);
    msgpack_pack_uint64(&pk, bad_field == 9 ? MPC_CT_MAX_PROOF + 1 : bad_field == 10 ? 64 : 0);
    size_t n = sb.size;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

START_TEST(test_hostile_headers)
{
    uint8_t h[256];
    mpc_ct_req d;
    char err[256];
    size_t n = s_hand(h, 0);
    ck_assert_msg(mpc_ct_req_decode(h, n, 1, 32, &d, err, sizeof err) == 0, "%s", err);
    const int bad[] = {3, 4, 5, 7, 8, 9};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = s_hand(h, bad[i]);
        ck_assert_int_eq(mpc_ct_req_decode(h, n, 1, 32, &d, err, sizeof err), MPC_ERR_PROTOCOL);
        ck_assert_uint_eq(d.rid, 5);
    }
    n = s_hand(h, 9);
    ck_assert_int_eq(mpc_ct_req_decode(h, n, 1, 32 + 64, &d, err, sizeof err), MPC_ERR_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(err, "proof"));
    n = s_hand(h, 10);   /* with a proof of 64 bytes the payload is those 64 bytes */
    ck_assert_int_eq(mpc_ct_req_decode(h, n, 1, 32 + 64, &d, err, sizeof err), MPC_ERR_PROTOCOL);
    ck_assert_msg(mpc_ct_req_decode(h, n, 1, 64, &d, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(d.proof_len, 64);
}
END_TEST

START_TEST(test_share_reconstructs)
{
    enum { LEN = 333 };
    uint64_t x[LEN], last[LEN], tmp[LEN];
    uint8_t seeds[3 * 32];
    for (int i = 0; i < LEN; i++) ck_assert_int_eq(mpc_f61_from_signed((int64_t)randombytes_uniform(2000) - 1000, &x[i]), 0);
    for (uint32_t k = 2; k <= 4; k++) {
        ck_assert_int_eq(mpc_ct_share(x, LEN, k, seeds, last), 0);
        uint64_t sum[LEN];
        memcpy(sum, last, sizeof sum);
        for (uint32_t j = 0; j + 1 < k; j++) {
            ck_assert_int_eq(mpc_ct_expand(seeds + 32 * j, LEN, tmp), 0);
            for (int i = 0; i < LEN; i++) {
                ck_assert_uint_lt(tmp[i], MPC_F61_P);
                sum[i] = mpc_f61_add(sum[i], tmp[i]);
            }
        }
        for (int i = 0; i < LEN; i++) ck_assert_uint_eq(sum[i], x[i]);
    }
    x[5] = MPC_F61_P;
    ck_assert_int_eq(mpc_ct_share(x, LEN, 2, seeds, last), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_ct_share(x, LEN, 1, seeds, last), MPC_ERR_INVALID);
    /* the expansion is a deterministic prefix: a longer one starts with the shorter */
    uint64_t a[10], b[100];
    ck_assert_int_eq(mpc_ct_expand(seeds, 10, a), 0);
    ck_assert_int_eq(mpc_ct_expand(seeds, 100, b), 0);
    ck_assert_mem_eq(a, b, sizeof a);
    /* roughly uniform: the top bit of 61 is set about half the time */
    uint64_t big[4096];
    ck_assert_int_eq(mpc_ct_expand(seeds + 32, 4096, big), 0);
    int top = 0;
    for (int i = 0; i < 4096; i++) top += (int)(big[i] >> 60);
    ck_assert_int_gt(top, 1800);
    ck_assert_int_lt(top, 2300);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("ctwire");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_encode_refuses);
    tcase_add_test(tc, test_hostile_headers);
    tcase_add_test(tc, test_share_reconstructs);
    suite_add_tcase(s, tc);
    return s;
}
