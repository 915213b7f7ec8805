/* check_cwire_auth.c — authenticated client inputs (security = malicious) on the client wire
 * (client-sdk/cwire.h): the MASK request and reply (a vector-check record sized by the job's
 * parties, which the reply carries), INPUT mode MASKED, the security flag of SUBMIT and STATUS
 * replies (round trips, and every malformed form refused), and the client's path: k daemons'
 * records through the wire verify (protocols/vcheck.h) to the masks' vector r, so x − r is
 * what the client sends; a record changed on the way is refused. */
#include <check.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "cwire.h"
#include "mpc_err.h"
#include "vcheck.h"
#include "vrec.h"

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
    q.count = MPC_CWIRE_MAX_COUNT + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    q.count = MPC_CWIRE_MAX_COUNT;   /* the longest vector: a record of 8 bytes an element and a fixed part */
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    free(buf);
    buf = NULL;
    q.count = 1;
    q.wait_ms = MPC_CWIRE_MAX_WAIT_MS + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    ck_assert_ptr_null(buf);
    /* hostile headers */
    ck_assert_int_eq(s_mask_raw(7, 4, 100, 1, 0), 0);
    ck_assert_int_eq(s_mask_raw(6, 4, 100, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(8, 4, 100, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(7, 0, 100, 1, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_raw(7, MPC_CWIRE_MAX_COUNT + 1, 100, 1, 0), MPC_ERR_PROTOCOL);
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

/* A MASK_OK header by hand: ready, state, count, then `extra` as the 7th element (0: none,
 * 1: uint parties, 2: `true`). */
static int s_mask_ok_raw(int ready, uint64_t count, int extra, uint64_t parties, size_t plen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, extra ? 7 : 6);
    msgpack_pack_uint64(&pk, MPC_CWIRE_VERSION);
    msgpack_pack_uint64(&pk, MPC_CW_MASK_OK);
    msgpack_pack_uint64(&pk, 1);
    if (ready) msgpack_pack_true(&pk);
    else msgpack_pack_false(&pk);
    msgpack_pack_uint64(&pk, MPC_JOB_RUNNING);
    msgpack_pack_uint64(&pk, count);
    if (extra == 1) msgpack_pack_uint64(&pk, parties);
    if (extra == 2) msgpack_pack_true(&pk);
    mpc_cwire_rep out;
    int r = mpc_cwire_rep_decode((const uint8_t *)sb.data, sb.size, plen ? 1 : 0, plen, &out, s_err, sizeof s_err);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

START_TEST(test_mask_reply)
{
    mpc_cwire_rep r, out;
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_MASK_OK; r.rid = 8; r.state = MPC_JOB_INPUTS;
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);   /* not ready: no parties, no payload */
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.ready, 0);
    ck_assert_uint_eq(out.parties, 0);
    ck_assert_uint_eq(out.state, MPC_JOB_INPUTS);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 48, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    for (uint32_t n = 2; n <= 3; n++) {
        r.ready = 1; r.count = 5; r.state = MPC_JOB_RUNNING; r.parties = n;
        size_t want = mpc_vcheck_record_bytes(5, n);   /* (5 + 2·64)·8 + 64 + 32·n */
        ck_assert_uint_eq(want, (5 + 128) * 8 + 64 + 32 * n);
        ck_assert_uint_eq(mpc_cwire_rep_payload_len(&r), want);
        ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, want, &out, s_err, sizeof s_err), 0);
        ck_assert_uint_eq(out.ready, 1);
        ck_assert_uint_eq(out.count, 5);
        ck_assert_uint_eq(out.parties, n);
        /* exactly the record: a byte less or more, the other party count's size, the old 48
         * bytes an element, or no payload are refused */
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, want - 1, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, want + 1, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, mpc_vcheck_record_bytes(5, 5 - n), &out, s_err,
                                              sizeof s_err), MPC_ERR_PROTOCOL);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 5 * 48, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 2, want, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
        free(buf);
        buf = NULL;
    }
    /* the encoder refuses what the decoder refuses */
    r.parties = 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.parties = MPC_MAX_PARTIES_AUTH + 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.parties = 3;
    r.count = 0;   /* ready with nothing */
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.count = MPC_CWIRE_MAX_COUNT + 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.ready = 0; r.count = 2;   /* not ready with a count */
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.count = 0;   /* not ready with parties */
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    ck_assert_ptr_null(buf);
    /* by hand: the good forms, then every malformed one */
    size_t rec3 = mpc_vcheck_record_bytes(4, 3);
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 1, 3, rec3), 0);
    ck_assert_int_eq(s_mask_ok_raw(0, 0, 0, 0, 0), 0);
    ck_assert_int_eq(s_mask_ok_raw(1, 0, 1, 3, mpc_vcheck_record_bytes(1, 3)), MPC_ERR_PROTOCOL);   /* count 0 */
    ck_assert_int_eq(s_mask_ok_raw(0, 2, 0, 0, 0), MPC_ERR_PROTOCOL);      /* not ready, count 2 */
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 0, 0, rec3), MPC_ERR_PROTOCOL);   /* ready without parties */
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 0, 0, 4 * 48), MPC_ERR_PROTOCOL); /* the old form */
    ck_assert_int_eq(s_mask_ok_raw(0, 0, 1, 3, 0), MPC_ERR_PROTOCOL);      /* not ready with parties */
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 1, 1, mpc_vcheck_record_bytes(4, 2) - 32), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 1, 0, rec3), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 1, MPC_MAX_PARTIES_AUTH + 1, rec3), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 1, 1ull << 32 | 3, rec3), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(s_mask_ok_raw(1, 4, 2, 0, rec3), MPC_ERR_PROTOCOL);   /* a bool, not a count */
    ck_assert_int_eq(s_mask_ok_raw(1, MPC_CWIRE_MAX_COUNT + 1, 1, 3, rec3), MPC_ERR_PROTOCOL);
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

/* The client's path for k daemons: each daemon's record (honest ones, tests/vrec.c) goes out
 * as its MASK_OK payload and comes back through the decoder; the k records verify to the
 * masks' vector r, so δ = x − r gives x back as [x] = [r] + δ; a record changed in any part
 * on the way is refused (and the refusal leaves nothing to send). */
START_TEST(test_client_check)
{
    for (uint32_t k = 2; k <= 3; k++) {
        const uint64_t n = 37;
        uint64_t r[37], x[37], got[37], delta[37];
        randombytes_buf(r, sizeof r);
        randombytes_buf(x, sizeof x);
        uint8_t **recs = mpc_test_vrecs(k, n, r);
        size_t bytes = mpc_vcheck_record_bytes(n, k);
        const uint8_t *rx[3];
        for (uint32_t d = 0; d < k; d++) {
            mpc_cwire_rep rep, out;
            memset(&rep, 0, sizeof rep);
            rep.type = MPC_CW_MASK_OK; rep.rid = d + 1; rep.ready = 1; rep.state = MPC_JOB_RUNNING;
            rep.count = n; rep.parties = k;
            uint8_t *hdr = NULL;
            size_t hlen = 0;
            ck_assert_int_eq(mpc_cwire_rep_encode(&rep, &hdr, &hlen), 0);
            ck_assert_uint_eq(mpc_cwire_rep_payload_len(&rep), bytes);
            ck_assert_int_eq(mpc_cwire_rep_decode(hdr, hlen, 1, bytes, &out, s_err, sizeof s_err), 0);
            ck_assert_uint_eq(out.parties, k);
            ck_assert_uint_eq(mpc_cwire_rep_payload_len(&out), bytes);
            free(hdr);
            rx[d] = recs[d];
        }
        int why;
        uint32_t who;
        ck_assert_int_eq(mpc_vcheck_verify(rx, k, n, got, &why, &who), 0);
        for (uint64_t i = 0; i < n; i++) {
            ck_assert_uint_eq(got[i], r[i]);
            delta[i] = x[i] - got[i];
            ck_assert_uint_eq(r[i] + delta[i], x[i]);
        }
        /* one byte of one daemon's share, pad, z, nonce, seed or commitments: refused */
        const size_t offs[] = {0, 8 * (n - 1) + 7, mpc_vcheck_off_pad(n) + 3, mpc_vcheck_off_z(n) + 9,
                               mpc_vcheck_off_nonce(n), mpc_vcheck_off_seed(n) + 31, mpc_vcheck_off_com(n), bytes - 1};
        for (uint32_t d = 0; d < k; d++)
            for (unsigned t = 0; t < sizeof offs / sizeof offs[0]; t++) {
                recs[d][offs[t]] ^= 0x10;
                ck_assert_int_eq(mpc_vcheck_verify(rx, k, n, got, &why, &who), MPC_ERR_CRYPTO);
                ck_assert_int_ge(why, 1);
                ck_assert_int_le(why, 3);
                recs[d][offs[t]] ^= 0x10;
            }
        ck_assert_int_eq(mpc_vcheck_verify(rx, k, n, got, &why, &who), 0);
        mpc_test_vrecs_free(recs, k);
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
