/* check_cwire_auth.c — authenticated client inputs (security = malicious) on the client wire
 * (client-sdk/cwire.h): the MASK request and reply, INPUT mode MASKED, the security flag of
 * SUBMIT and STATUS replies (round trips, and every malformed form refused), and the client's
 * check of the daemons' triple shares (mpc_cwire_auth_mask: an honest set passes and gives
 * x − a mod 2^64; a change of any word of any daemon's a, b or c share is refused, naming
 * the element, and nothing is written). */
#include <check.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "cwire.h"
#include "mpc_err.h"

typedef unsigned __int128 u128;

static char s_err[256];
static const uint8_t s_job[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

/* A MASK request header with the given arity and fields, as raw msgpack. */
static int s_mask_raw(uint32_t arity, uint64_t count, uint64_t wait, int name_ok, size_t n_payload)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, arity);
    msgpack_pack_uint64(&pk, MPC_CWIRE_VERSION);
    msgpack_pack_uint64(&pk, MPC_CW_MASK);
    msgpack_pack_uint64(&pk, 3);
    if (arity > 3) {
        msgpack_pack_bin(&pk, 16);
        msgpack_pack_bin_body(&pk, s_job, 16);
    }
    if (arity > 4) {
        const char *n = name_ok ? "x" : "-x";
        msgpack_pack_str(&pk, strlen(n));
        msgpack_pack_str_body(&pk, n, strlen(n));
    }
    if (arity > 5) msgpack_pack_uint64(&pk, count);
    if (arity > 6) msgpack_pack_uint64(&pk, wait);
    for (uint32_t i = 7; i < arity; i++) msgpack_pack_uint64(&pk, 0);
    mpc_cwire_req q;
    int r = mpc_cwire_req_decode((const uint8_t *)sb.data, sb.size, n_payload, n_payload ? 8 : 0, &q, s_err,
                                 sizeof s_err);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

START_TEST(test_mask_request)
{
    mpc_cwire_req q, out;
    memset(&q, 0, sizeof q);
    q.type = MPC_CW_MASK; q.rid = 77; memcpy(q.job, s_job, 16); strcpy(q.name, "xa"); q.count = 1000;
    q.wait_ms = 5000;
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    ck_assert_uint_eq(mpc_cwire_req_payload_len(&q), 0);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.type, MPC_CW_MASK);
    ck_assert_uint_eq(out.rid, 77);
    ck_assert_mem_eq(out.job, s_job, 16);
    ck_assert_str_eq(out.name, "xa");
    ck_assert_uint_eq(out.count, 1000);
    ck_assert_uint_eq(out.wait_ms, 5000);
    /* a MASK carries no payload */
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, 8, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    /* the encoder refuses what the decoder refuses */
    buf = NULL;
    q.count = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    q.count = MPC_CWIRE_MAX_COUNT / MPC_CWIRE_MASK_WORDS + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    q.count = 1;
    q.wait_ms = MPC_CWIRE_MAX_WAIT_MS + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    ck_assert_ptr_null(buf);
    /* hostile headers */
    ck_assert_int_eq(s_mask_raw(7, 4, 100, 1, 0), 0);
    ck_assert_int_eq(s_mask_raw(6, 4, 100, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(8, 4, 100, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(7, 0, 100, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(7, MPC_CWIRE_MAX_COUNT / MPC_CWIRE_MASK_WORDS + 1, 100, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(7, 4, MPC_CWIRE_MAX_WAIT_MS + 1, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(7, 4, 100, 0, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(7, 4, 100, 1, 1), MPC_ERR_PROTOCOL);
}
END_TEST

START_TEST(test_masked_input)
{
    mpc_cwire_req q, out;
    memset(&q, 0, sizeof q);
    q.type = MPC_CW_INPUT; q.rid = 5; memcpy(q.job, s_job, 16); strcpy(q.name, "x"); q.count = 3;
    q.mode = MPC_CW_MASKED;
    ck_assert_uint_eq(mpc_cwire_req_payload_len(&q), 24);   /* x − a mod 2^64: 8 bytes an element */
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, 24, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.mode, MPC_CW_MASKED);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, 48, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    buf = NULL;
    q.mode = MPC_CW_MASKED + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    ck_assert_ptr_null(buf);
}
END_TEST

START_TEST(test_mask_reply)
{
    mpc_cwire_rep r, out;
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_MASK_OK; r.rid = 8; r.state = MPC_JOB_INPUTS;
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);   /* not ready */
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.ready, 0);
    ck_assert_uint_eq(out.state, MPC_JOB_INPUTS);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 48, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    r.ready = 1; r.count = 5; r.state = MPC_JOB_RUNNING;
    ck_assert_uint_eq(mpc_cwire_rep_payload_len(&r), 5 * 48);
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 240, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.ready, 1);
    ck_assert_uint_eq(out.count, 5);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 40, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    buf = NULL;
    r.count = 0;   /* ready with nothing */
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.ready = 0; r.count = 2;   /* not ready with a count */
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    ck_assert_ptr_null(buf);
    /* the same malformed forms by hand: a ready reply of count 0, a not-ready one of count 2 */
    for (int v = 0; v < 2; v++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 6);
        msgpack_pack_uint64(&pk, MPC_CWIRE_VERSION);
        msgpack_pack_uint64(&pk, MPC_CW_MASK_OK);
        msgpack_pack_uint64(&pk, 1);
        if (v == 0) msgpack_pack_true(&pk);
        else msgpack_pack_false(&pk);
        msgpack_pack_uint64(&pk, MPC_JOB_RUNNING);
        msgpack_pack_uint64(&pk, v == 0 ? 0 : 2);
        ck_assert_int_eq(mpc_cwire_rep_decode((const uint8_t *)sb.data, sb.size, 0, 0, &out, s_err, sizeof s_err),
                         MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&sb);
    }
}
END_TEST

/* SUBMIT and STATUS replies say security = malicious with one more element, `true`; the
 * semi-honest bytes are unchanged. */
START_TEST(test_security_flag)
{
    mpc_cwire_rep r, out;
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_SUBMIT_OK; r.rid = 4;
    for (int i = 0; i < 32; i++) r.hash[i] = (uint8_t)i;
    uint8_t *plain = NULL, *buf = NULL;
    size_t plen = 0, len = 0;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &plain, &plen), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(plain, plen, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.malicious, 0);
    r.malicious = 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
    ck_assert_uint_eq(len, plen + 1);
    ck_assert_uint_eq(plain[0], 0x94);
    ck_assert_uint_eq(buf[0], 0x95);
    ck_assert_mem_eq(buf + 1, plain + 1, plen - 1);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.malicious, 1);
    ck_assert_mem_eq(out.hash, r.hash, 32);
    buf[len - 1] = 0xc2;   /* false: not a form the encoder makes */
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    buf[len - 1] = 0x01;   /* not a bool */
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    free(plain);
    buf = NULL;
    r.malicious = 2;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_STATUS_OK; r.rid = 6; strcpy(r.daemon, "a"); r.has_job = 1;
    r.job.state = MPC_JOB_RUNNING; r.job.n_bind = 2; strcpy(r.job.bind[0], "a"); strcpy(r.job.bind[1], "b");
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &plain, &plen), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(plain, plen, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.job.malicious, 0);
    r.job.malicious = 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
    ck_assert_uint_eq(len, plen + 1);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.job.malicious, 1);
    free(buf);
    free(plain);
}
END_TEST

/* k daemons' MASK payloads for n elements: random additive shares of a, b and c = a·b
 * mod 2^128. */
static uint64_t **s_triples(uint32_t k, uint64_t n)
{
    uint64_t **abc = calloc(k, sizeof *abc);
    ck_assert_ptr_nonnull(abc);
    for (uint32_t d = 0; d < k; d++) {
        abc[d] = malloc((size_t)n * 48);
        ck_assert_ptr_nonnull(abc[d]);
        randombytes_buf(abc[d], (size_t)n * 48);
    }
    for (uint64_t i = 0; i < n; i++) {
        u128 a = 0, b = 0, c = 0, w;
        for (uint32_t d = 0; d < k; d++) {
            memcpy(&w, abc[d] + 2 * i, 16);
            a += w;
            memcpy(&w, abc[d] + 2 * (n + i), 16);
            b += w;
            if (d + 1 < k) {
                memcpy(&w, abc[d] + 2 * (2 * n + i), 16);
                c += w;
            }
        }
        w = a * b - c;   /* the last daemon's share of c */
        memcpy(abc[k - 1] + 2 * (2 * n + i), &w, 16);
    }
    return abc;
}

START_TEST(test_client_check)
{
    for (uint32_t k = 2; k <= 3; k++) {
        const uint64_t n = 37;
        uint64_t **abc = s_triples(k, n), x[37], delta[37], bad = 0;
        randombytes_buf(x, sizeof x);
        ck_assert_int_eq(mpc_cwire_auth_mask((const uint64_t *const *)abc, k, x, n, delta, &bad), 0);
        for (uint64_t i = 0; i < n; i++) {   /* [x] = [a] + δ gives x mod 2^64 */
            uint64_t a = 0;
            for (uint32_t d = 0; d < k; d++) a += abc[d][2 * i];
            ck_assert_uint_eq(a + delta[i], x[i]);
        }
        /* any daemon, any of a, b, c, low or high half: refused, the element named, nothing written */
        for (uint32_t d = 0; d < k; d++)
            for (int f = 0; f < 3; f++)
                for (int half = 0; half < 2; half++) {
                    uint64_t i = (uint64_t)(d * 7 + (uint32_t)f * 3 + (uint32_t)half) % n;
                    uint64_t *w = &abc[d][2 * ((uint64_t)f * n + i) + (uint64_t)half];
                    uint64_t keep = *w, e = 1ull << (d * 5 + (uint32_t)f);
                    *w += e;
                    memset(delta, 0x5a, sizeof delta);
                    bad = UINT64_MAX;
                    ck_assert_int_eq(mpc_cwire_auth_mask((const uint64_t *const *)abc, k, x, n, delta, &bad),
                                     MPC_ERR_CRYPTO);
                    ck_assert_uint_eq(bad, i);
                    for (uint64_t t = 0; t < n; t++) ck_assert_uint_eq(delta[t], 0x5a5a5a5a5a5a5a5aull);
                    *w = keep;
                }
        /* restored: passes again */
        ck_assert_int_eq(mpc_cwire_auth_mask((const uint64_t *const *)abc, k, x, n, delta, &bad), 0);
        ck_assert_int_eq(mpc_cwire_auth_mask((const uint64_t *const *)abc, 1, x, n, delta, &bad), MPC_ERR_INVALID);
        ck_assert_int_eq(mpc_cwire_auth_mask((const uint64_t *const *)abc, k, x, 0, delta, &bad), MPC_ERR_INVALID);
        ck_assert_int_eq(mpc_cwire_auth_mask(NULL, k, x, n, delta, &bad), MPC_ERR_INVALID);
        for (uint32_t d = 0; d < k; d++) free(abc[d]);
        free(abc);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("cwire_auth");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_mask_request);
    tcase_add_test(tc, test_masked_input);
    tcase_add_test(tc, test_mask_reply);
    tcase_add_test(tc, test_security_flag);
    tcase_add_test(tc, test_client_check);
    suite_add_tcase(s, tc);
    return s;
}
