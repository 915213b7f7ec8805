/* check_cwire.c — the client <-> daemon codec: every message round-trips, and every malformed
 * header or payload is refused (wrong arity, types, ranges, trailing bytes, truncation,
 * declared container sizes far beyond the frame, payload length mismatches). */
#include <check.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "cwire.h"
#include "vcheck.h"
#include "mpc_err.h"

static char s_err[256];

/* A raw msgpack buffer built by hand for malformed cases. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer  pk;
} raw;

static void raw_init(raw *w)
{
    msgpack_sbuffer_init(&w->sb);
    msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
}
static void raw_bin(raw *w, const void *p, size_t n)
{
    msgpack_pack_bin(&w->pk, n);
    msgpack_pack_bin_body(&w->pk, p, n);
}
static void raw_str(raw *w, const char *s)
{
    msgpack_pack_str(&w->pk, strlen(s));
    msgpack_pack_str_body(&w->pk, s, strlen(s));
}

static const uint8_t s_job[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static int req_dec(const raw *w, size_t n_payload, size_t payload_len)
{
    mpc_cwire_req q;
    return mpc_cwire_req_decode((const uint8_t *)w->sb.data, w->sb.size, n_payload, payload_len, &q,
                                s_err, sizeof s_err);
}
static int rep_dec(const raw *w, size_t n_payload, size_t payload_len)
{
    mpc_cwire_rep p;
    return mpc_cwire_rep_decode((const uint8_t *)w->sb.data, w->sb.size, n_payload, payload_len, &p,
                                s_err, sizeof s_err);
}

/* INPUT header with the given fields, for malformed variants. */
static void raw_input(raw *w, uint32_t arity, uint64_t mode, uint64_t count)
{
    raw_init(w);
    msgpack_pack_array(&w->pk, arity);
    msgpack_pack_uint64(&w->pk, MPC_CWIRE_VERSION);
    msgpack_pack_uint64(&w->pk, MPC_CW_INPUT);
    msgpack_pack_uint64(&w->pk, 7);
    if (arity > 3) raw_bin(w, s_job, 16);
    if (arity > 4) raw_str(w, "x");
    if (arity > 5) msgpack_pack_uint64(&w->pk, mode);
    if (arity > 6) msgpack_pack_uint64(&w->pk, count);
    for (uint32_t i = 7; i < arity; i++) msgpack_pack_uint64(&w->pk, 0);
}

static mpc_cwire_req s_submit(void)
{
    static const uint8_t circ[] = "not really a circuit, but bytes";
    mpc_cwire_req q;
    memset(&q, 0, sizeof q);
    q.type = MPC_CW_SUBMIT;
    q.rid = 0x0123456789abcdefull;
    memcpy(q.job, s_job, 16);
    q.n_bind = 3;
    strcpy(q.bind[0], "clinic");
    strcpy(q.bind[1], "insurer");
    strcpy(q.bind[2], "a-b_c.d");
    q.circ = circ;
    q.circ_len = sizeof circ;
    return q;
}

START_TEST(test_requests_round_trip)
{
    mpc_cwire_req in[6], out;
    memset(in, 0, sizeof in);
    in[0] = s_submit();
    in[1].type = MPC_CW_INPUT; in[1].rid = 1; memcpy(in[1].job, s_job, 16);
    strcpy(in[1].name, "xa"); in[1].mode = MPC_CW_EXPLICIT; in[1].count = 1000;
    in[2] = in[1]; in[2].mode = MPC_CW_SEED; in[2].count = MPC_CWIRE_MAX_COUNT; in[2].rid = UINT64_MAX;
    in[3].type = MPC_CW_RESULT; in[3].rid = 3; memcpy(in[3].job, s_job, 16);
    strcpy(in[3].name, "mean"); in[3].wait_ms = MPC_CWIRE_MAX_WAIT_MS;
    in[4].type = MPC_CW_STATUS; in[4].rid = 4; in[4].has_job = 1; memcpy(in[4].job, s_job, 16);
    in[5].type = MPC_CW_STATUS; in[5].rid = 0; in[5].has_job = 0;
    for (int i = 0; i < 6; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        ck_assert_int_eq(mpc_cwire_req_encode(&in[i], &buf, &len), 0);
        size_t pl = mpc_cwire_req_payload_len(&in[i]);
        ck_assert_int_eq(mpc_cwire_req_decode(buf, len, pl ? 1 : 0, pl, &out, s_err, sizeof s_err), 0);
        ck_assert_uint_eq(out.type, in[i].type);
        ck_assert_uint_eq(out.rid, in[i].rid);
        if (in[i].type != MPC_CW_STATUS || in[i].has_job) ck_assert_mem_eq(out.job, s_job, 16);
        ck_assert_int_eq(out.has_job, in[i].has_job);
        ck_assert_str_eq(out.name, in[i].name);
        ck_assert_uint_eq(out.mode, in[i].mode);
        ck_assert_uint_eq(out.count, in[i].count);
        ck_assert_uint_eq(out.wait_ms, in[i].wait_ms);
        ck_assert_uint_eq(out.n_bind, in[i].n_bind);
        for (uint32_t b = 0; b < out.n_bind; b++) ck_assert_str_eq(out.bind[b], in[i].bind[b]);
        ck_assert_uint_eq(out.circ_len, in[i].circ_len);
        if (in[i].circ_len) {
            ck_assert_mem_eq(out.circ, in[i].circ, in[i].circ_len);
            /* zero-copy: the circuit points into the frame */
            ck_assert(out.circ >= buf && out.circ + out.circ_len <= buf + len);
        }
        free(buf);
    }
    /* the payload each INPUT announces */
    ck_assert_uint_eq(mpc_cwire_req_payload_len(&in[1]), 8000);
    ck_assert_uint_eq(mpc_cwire_req_payload_len(&in[2]), 32);
    ck_assert_uint_eq(mpc_cwire_req_payload_len(&in[0]), 0);
}
END_TEST

/* KEYS (a join's key column): round-trips with its payload size, (rows + 1) offsets and the
 * key bytes; out-of-range rows and byte counts refused by both sides, and a payload of any
 * other length refused. */
START_TEST(test_keys_request)
{
    mpc_cwire_req q, out;
    memset(&q, 0, sizeof q);
    q.type = MPC_CW_KEYS;
    q.rid = 9;
    memcpy(q.job, s_job, 16);
    strcpy(q.name, "labs.patient_id");
    q.count = 3;
    q.key_bytes = 10;
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    size_t pl = mpc_cwire_req_payload_len(&q);
    ck_assert_uint_eq(pl, 4 * 8 + 10);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, pl, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.type, MPC_CW_KEYS);
    ck_assert_uint_eq(out.rid, 9);
    ck_assert_mem_eq(out.job, s_job, 16);
    ck_assert_str_eq(out.name, "labs.patient_id");
    ck_assert_uint_eq(out.count, 3);
    ck_assert_uint_eq(out.key_bytes, 10);
    /* the payload must be exactly what the header announces */
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, pl - 1, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, pl + 1, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 2, pl, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    /* the encoder refuses what the decoder would */
    mpc_cwire_req bad = q;
    bad.count = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&bad, &buf, &len), MPC_ERR_INVALID);
    bad = q;
    bad.count = MPC_CWIRE_KEYS_MAX_ROWS + 1;
    bad.key_bytes = bad.count;
    ck_assert_int_eq(mpc_cwire_req_encode(&bad, &buf, &len), MPC_ERR_INVALID);
    bad = q;
    bad.key_bytes = 2;   /* fewer bytes than rows: an empty key */
    ck_assert_int_eq(mpc_cwire_req_encode(&bad, &buf, &len), MPC_ERR_INVALID);
    bad = q;
    bad.key_bytes = 3 * MPC_CWIRE_KEY_MAX + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&bad, &buf, &len), MPC_ERR_INVALID);
    /* and the decoder refuses them when a hostile client encodes them by hand */
    const uint64_t cases[][2] = {{0, 0}, {MPC_CWIRE_KEYS_MAX_ROWS + 1, MPC_CWIRE_KEYS_MAX_ROWS + 1}, {3, 2},
                                 {3, 3 * MPC_CWIRE_KEY_MAX + 1}, {1, UINT64_MAX}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw w;
        raw_init(&w);
        msgpack_pack_array(&w.pk, 7);
        msgpack_pack_uint64(&w.pk, MPC_CWIRE_VERSION);
        msgpack_pack_uint64(&w.pk, MPC_CW_KEYS);
        msgpack_pack_uint64(&w.pk, 7);
        raw_bin(&w, s_job, 16);
        raw_str(&w, "labs.patient_id");
        msgpack_pack_uint64(&w.pk, cases[i][0]);
        msgpack_pack_uint64(&w.pk, cases[i][1]);
        ck_assert_int_eq(req_dec(&w, 1, 64), MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
    /* the reply */
    mpc_cwire_rep rep, rout;
    memset(&rep, 0, sizeof rep);
    rep.type = MPC_CW_KEYS_OK;
    rep.rid = 9;
    ck_assert_int_eq(mpc_cwire_rep_encode(&rep, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &rout, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(rout.type, MPC_CW_KEYS_OK);
    free(buf);
}
END_TEST

/* SUBMIT's optional collection options (docs/contributions.md): sent as two more fields only
 * when set, round-tripped, and out-of-range values refused by both sides. */
START_TEST(test_submit_collection_options)
{
    mpc_cwire_req q = s_submit(), out;
    uint8_t *b0 = NULL, *b1 = NULL;
    size_t l0 = 0, l1 = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &b0, &l0), 0);
    ck_assert_uint_eq(b0[0], 0x96);   /* fixarray of 6: a daemon of before understands it */
    q.collect_ms = 1500;
    q.collect_count = MPC_CWIRE_MAX_COLLECT_COUNT;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &b1, &l1), 0);
    ck_assert_uint_eq(b1[0], 0x98);
    ck_assert_int_eq(mpc_cwire_req_decode(b1, l1, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.collect_ms, 1500);
    ck_assert_uint_eq(out.collect_count, MPC_CWIRE_MAX_COLLECT_COUNT);
    ck_assert_int_eq(mpc_cwire_req_decode(b0, l0, 0, 0, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.collect_ms, 0);
    ck_assert_uint_eq(out.collect_count, 0);
    free(b0);
    free(b1);
    uint8_t *b = NULL;
    size_t l = 0;
    q.collect_count = MPC_CWIRE_MAX_COLLECT_COUNT + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &b, &l), MPC_ERR_INVALID);
    q.collect_count = 0;
    q.collect_ms = MPC_CWIRE_MAX_COLLECT_MS + 1;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &b, &l), MPC_ERR_INVALID);
    /* by hand: 7 fields, and an 8th out of range */
    for (int bad = 0; bad < 2; bad++) {
        raw w;
        raw_init(&w);
        msgpack_pack_array(&w.pk, bad ? 8 : 7);
        msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_SUBMIT); msgpack_pack_uint64(&w.pk, 1);
        raw_bin(&w, s_job, 16);
        msgpack_pack_array(&w.pk, 1);
        raw_str(&w, "a");
        raw_bin(&w, s_job, 16);
        msgpack_pack_uint64(&w.pk, 5);
        if (bad) msgpack_pack_uint64(&w.pk, MPC_CWIRE_MAX_COLLECT_COUNT + 1);
        ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
}
END_TEST

/* Withheld elements go only with a ready result no longer than MPC_CWIRE_WITHHELD_MAX. */
START_TEST(test_withheld_rules)
{
    mpc_cwire_rep r;
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_RESULT_OK; r.rid = 1; r.ready = 0; r.state = MPC_JOB_RUNNING;
    strcpy(r.withheld, "output 'h' is withheld: fewer than min_rows = 10 rows");
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.ready = 1; r.state = MPC_JOB_DONE; r.count = MPC_CWIRE_WITHHELD_MAX + 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), MPC_ERR_INVALID);
    r.count = 3;
    r.withheld_bits[0] = 7;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
    /* three elements: a one-byte bitmap, and the 24-byte share */
    mpc_cwire_rep out;
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 24, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.withheld_bits[0], 7);
    free(buf);
}
END_TEST

/* A checked output (security = malicious): one more header element, the job's number of
 * parties, and a payload of exactly that many parties' vector-check record
 * (mpc_vcheck_record_bytes); the semi-honest reply's bytes are unchanged; with withheld
 * elements the parties come after them; refused when not ready, with a bool (the old flag) or
 * an out-of-range count of parties, and with any other payload length. */
START_TEST(test_checked_result)
{
    mpc_cwire_rep r;
    memset(&r, 0, sizeof r);
    r.type = MPC_CW_RESULT_OK; r.rid = 5; r.ready = 1; r.state = MPC_JOB_DONE; r.count = 3;
    uint8_t *plain = NULL, *buf = NULL;
    size_t plen = 0, len = 0;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &plain, &plen), 0);
    ck_assert_uint_eq(mpc_cwire_rep_payload_len(&r), 24);
    r.checked = 1;
    r.parties = 3;
    const size_t rec = mpc_vcheck_record_bytes(3, 3);
    ck_assert_uint_eq(rec, (3 + 128) * 8 + 64 + 3 * 32);
    ck_assert_uint_eq(mpc_cwire_rep_payload_len(&r), rec);
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
    /* the same header with one more element: array size 7 -> 8, then the parties (3) at the end */
    ck_assert_uint_eq(len, plen + 1);
    ck_assert_uint_eq(plain[0], 0x97);
    ck_assert_uint_eq(buf[0], 0x98);
    ck_assert_mem_eq(buf + 1, plain + 1, plen - 1);
    ck_assert_uint_eq(buf[len - 1], 0x03);
    mpc_cwire_rep out;
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, rec, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.checked, 1);
    ck_assert_uint_eq(out.parties, 3);
    ck_assert_uint_eq(out.count, 3);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 24, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 144, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, rec - 8, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, mpc_vcheck_record_bytes(3, 2), &out, s_err, sizeof s_err),
                     MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_rep_decode(plain, plen, 1, 24, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.checked, 0);
    ck_assert_uint_eq(out.parties, 0);
    buf[len - 1] = 0x02;   /* two parties: their record's size */
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, mpc_vcheck_record_bytes(3, 2), &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.parties, 2);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, rec, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    const uint8_t bad_parties[] = {0xc3, 0xc2, 0x00, 0x01, MPC_MAX_PARTIES_AUTH + 1, 0xff};   /* bools, 0, 1, 17, -1 */
    for (unsigned t = 0; t < sizeof bad_parties; t++) {
        buf[len - 1] = bad_parties[t];
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, rec, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 24, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    }
    free(buf);
    free(plain);
    uint8_t *bad = NULL;
    r.checked = 2;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &bad, &len), MPC_ERR_INVALID);
    r.checked = 1;
    r.parties = 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &bad, &len), MPC_ERR_INVALID);
    r.parties = MPC_MAX_PARTIES_AUTH + 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &bad, &len), MPC_ERR_INVALID);
    r.checked = 0;
    r.parties = 3;   /* parties on a plain reply */
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &bad, &len), MPC_ERR_INVALID);
    r.checked = 1;
    /* with withheld elements (release rules under malicious security): 10 header elements,
     * the note and the bits, then the parties */
    strcpy(r.withheld, "output 'h' elements 0 withheld: fewer than min_rows = 10 rows");
    r.withheld_bits[0] = 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &buf, &len), 0);
    ck_assert_uint_eq(buf[0], 0x9a);
    ck_assert_uint_eq(buf[len - 1], 0x03);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, rec, &out, s_err, sizeof s_err), 0);
    ck_assert_uint_eq(out.checked, 1);
    ck_assert_uint_eq(out.parties, 3);
    ck_assert_str_eq(out.withheld, r.withheld);
    ck_assert_uint_eq(out.withheld_bits[0], 1);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 24, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    buf[len - 1] = 0xc3;   /* the old flag */
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, rec, &out, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    r.withheld[0] = 0;
    r.ready = 0; r.count = 0; r.state = MPC_JOB_RUNNING;
    ck_assert_int_eq(mpc_cwire_rep_encode(&r, &bad, &len), MPC_ERR_INVALID);
    ck_assert_ptr_null(bad);
}
END_TEST

START_TEST(test_replies_round_trip)
{
    mpc_cwire_rep in[7], out;
    memset(in, 0, sizeof in);
    in[0].type = MPC_CW_SUBMIT_OK; in[0].rid = 9;
    for (int i = 0; i < 32; i++) in[0].hash[i] = (uint8_t)(0xa0 + i);
    in[1].type = MPC_CW_INPUT_OK; in[1].rid = 10;
    in[2].type = MPC_CW_RESULT_OK; in[2].rid = 11; in[2].ready = 1; in[2].state = MPC_JOB_DONE;
    in[2].vtype = MPC_T_FIX; in[2].count = 5;
    strcpy(in[2].withheld, "output 'h' elements 0, 3 withheld: fewer than min_rows = 10 rows");
    in[2].withheld_bits[0] = 0x09;
    in[3].type = MPC_CW_RESULT_OK; in[3].rid = 12; in[3].ready = 0; in[3].state = MPC_JOB_RUNNING;
    in[4].type = MPC_CW_STATUS_OK; in[4].rid = 13; strcpy(in[4].daemon, "clinic");
    in[4].info = (mpc_cwire_daemon_info){1, 2, 3, 4, UINT64_MAX, 6};
    in[5] = in[4]; in[5].rid = 14; in[5].has_job = 1;
    in[5].job.state = MPC_JOB_FAILED; strcpy(in[5].job.reason, "peer 'insurer' timed out");
    in[5].job.layers_done = 3; in[5].job.layers_total = 7; in[5].job.triples_used = 12345;
    in[5].job.inputs_given = 2; in[5].job.inputs_total = 2;
    memcpy(in[5].job.hash, in[0].hash, 32);
    in[5].job.n_bind = 2; strcpy(in[5].job.bind[0], "clinic"); strcpy(in[5].job.bind[1], "insurer");
    in[6].type = MPC_CW_ERROR; in[6].rid = 15; in[6].code = MPC_ERR_DENIED;
    strcpy(in[6].msg, "daemon clinic: job 0102: client 'x' may not read output 'y'");
    for (int i = 0; i < 7; i++) {
        uint8_t *buf = NULL;
        size_t len = 0;
        ck_assert_int_eq(mpc_cwire_rep_encode(&in[i], &buf, &len), 0);
        size_t pl = mpc_cwire_rep_payload_len(&in[i]);
        ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, pl ? 1 : 0, pl, &out, s_err, sizeof s_err), 0);
        ck_assert_uint_eq(out.type, in[i].type);
        ck_assert_uint_eq(out.rid, in[i].rid);
        ck_assert_mem_eq(out.hash, in[i].hash, 32);
        ck_assert_uint_eq(out.ready, in[i].ready);
        ck_assert_uint_eq(out.state, in[i].state);
        ck_assert_uint_eq(out.vtype, in[i].vtype);
        ck_assert_uint_eq(out.count, in[i].count);
        ck_assert_str_eq(out.daemon, in[i].daemon);
        ck_assert_mem_eq(&out.info, &in[i].info, sizeof out.info);
        ck_assert_int_eq(out.has_job, in[i].has_job);
        ck_assert_uint_eq(out.job.state, in[i].job.state);
        ck_assert_str_eq(out.job.reason, in[i].job.reason);
        ck_assert_uint_eq(out.job.layers_done, in[i].job.layers_done);
        ck_assert_uint_eq(out.job.layers_total, in[i].job.layers_total);
        ck_assert_uint_eq(out.job.triples_used, in[i].job.triples_used);
        ck_assert_uint_eq(out.job.inputs_given, in[i].job.inputs_given);
        ck_assert_uint_eq(out.job.inputs_total, in[i].job.inputs_total);
        ck_assert_mem_eq(out.job.hash, in[i].job.hash, 32);
        ck_assert_uint_eq(out.job.n_bind, in[i].job.n_bind);
        for (uint32_t b = 0; b < out.job.n_bind; b++) ck_assert_str_eq(out.job.bind[b], in[i].job.bind[b]);
        ck_assert_int_eq(out.code, in[i].code);
        ck_assert_str_eq(out.msg, in[i].msg);
        ck_assert_str_eq(out.withheld, in[i].withheld);
        ck_assert_mem_eq(out.withheld_bits, in[i].withheld_bits, sizeof out.withheld_bits);
        free(buf);
    }
    ck_assert_uint_eq(mpc_cwire_rep_payload_len(&in[2]), 40);
    ck_assert_uint_eq(mpc_cwire_rep_payload_len(&in[3]), 0);
}
END_TEST

/* The status fields: peers, a job's preprocessing progress, and the JOBS request and reply;
 * out-of-range values are refused by the encoder, a short peer record by the decoder. */
START_TEST(test_status_and_jobs_round_trip)
{
    mpc_cwire_rep in, out;
    memset(&in, 0, sizeof in);
    in.type = MPC_CW_STATUS_OK; in.rid = 21; strcpy(in.daemon, "clinic"); in.has_job = 1;
    in.job.state = MPC_JOB_RUNNING; in.job.layers_total = 4;
    in.job.prep_made = 262144; in.job.prep_needed = 1000000; in.job.prep_per_s = 50000;
    in.job.inputs_total = 1; in.job.n_bind = 2; strcpy(in.job.bind[0], "clinic"); strcpy(in.job.bind[1], "lab");
    in.n_peers = 3;
    strcpy(in.peers[0].name, "lab"); in.peers[0].state = MPC_PEER_UP; in.peers[0].for_ms = 12;
    strcpy(in.peers[1].name, "insurer"); in.peers[1].state = MPC_PEER_DOWN; in.peers[1].for_ms = 65000;
    strcpy(in.peers[2].name, "dealer"); in.peers[2].state = MPC_PEER_REFUSED; in.peers[2].for_ms = 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_rep_encode(&in, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), 0);
    free(buf);
    ck_assert_uint_eq(out.job.prep_made, 262144);
    ck_assert_uint_eq(out.job.prep_needed, 1000000);
    ck_assert_uint_eq(out.job.prep_per_s, 50000);
    ck_assert_uint_eq(out.n_peers, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(out.peers[i].name, in.peers[i].name);
        ck_assert_uint_eq(out.peers[i].state, in.peers[i].state);
        ck_assert_uint_eq(out.peers[i].for_ms, in.peers[i].for_ms);
    }
    in.peers[1].state = 3;
    ck_assert_int_eq(mpc_cwire_rep_encode(&in, &buf, &len), MPC_ERR_INVALID);
    in.peers[1].state = MPC_PEER_DOWN;
    in.n_peers = MPC_CWIRE_MAX_PEERS + 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&in, &buf, &len), MPC_ERR_INVALID);

    /* JOBS: the request has no fields; the reply lists jobs */
    mpc_cwire_req q, qo;
    memset(&q, 0, sizeof q);
    q.type = MPC_CW_JOBS; q.rid = 5;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 0, 0, &qo, s_err, sizeof s_err), 0);
    free(buf);
    ck_assert_uint_eq(qo.type, MPC_CW_JOBS);
    ck_assert_uint_eq(qo.rid, 5);
    memset(&in, 0, sizeof in);
    in.type = MPC_CW_JOBS_OK; in.rid = 22; strcpy(in.daemon, "lab");
    in.jobs_total = 70; in.n_jobs = 2;
    memcpy(in.jobs[0].id, s_job, 16); in.jobs[0].state = MPC_JOB_DONE; in.jobs[0].age_s = 31;
    strcpy(in.jobs[0].client, "analyst"); in.jobs[0].layers_done = 4; in.jobs[0].layers_total = 4;
    in.jobs[1].state = MPC_JOB_RUNNING; strcpy(in.jobs[1].client, "analyst"); in.jobs[1].layers_total = 9;
    in.jobs[1].prep_made = 5; in.jobs[1].prep_needed = 10;
    ck_assert_int_eq(mpc_cwire_rep_encode(&in, &buf, &len), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &out, s_err, sizeof s_err), 0);
    free(buf);
    ck_assert_str_eq(out.daemon, "lab");
    ck_assert_uint_eq(out.jobs_total, 70);
    ck_assert_uint_eq(out.n_jobs, 2);
    ck_assert_mem_eq(out.jobs[0].id, s_job, 16);
    ck_assert_uint_eq(out.jobs[0].state, MPC_JOB_DONE);
    ck_assert_uint_eq(out.jobs[0].age_s, 31);
    ck_assert_str_eq(out.jobs[0].client, "analyst");
    ck_assert_uint_eq(out.jobs[1].prep_made, 5);
    ck_assert_uint_eq(out.jobs[1].prep_needed, 10);
    ck_assert_uint_eq(out.jobs[1].layers_total, 9);
    /* more lines than the total, a bad state, a bad submitter name: refused */
    in.jobs_total = 1;
    ck_assert_int_eq(mpc_cwire_rep_encode(&in, &buf, &len), MPC_ERR_INVALID);
    in.jobs_total = 2; in.jobs[1].state = MPC_JOB__COUNT;
    ck_assert_int_eq(mpc_cwire_rep_encode(&in, &buf, &len), MPC_ERR_INVALID);
    in.jobs[1].state = MPC_JOB_RUNNING; strcpy(in.jobs[1].client, "bad name");
    ck_assert_int_eq(mpc_cwire_rep_encode(&in, &buf, &len), MPC_ERR_INVALID);
}
END_TEST

START_TEST(test_wrong_arity_refused)
{
    raw w;
    for (uint32_t arity = 0; arity <= 9; arity++) {
        raw_input(&w, arity, MPC_CW_EXPLICIT, 2);
        int r = req_dec(&w, 1, 16);
        if (arity == 7) ck_assert_int_eq(r, 0);
        else ck_assert_int_eq(r, MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
    /* not an array at all */
    raw_init(&w);
    msgpack_pack_uint64(&w.pk, 1);
    ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    /* a STATUS reply with a job record of the wrong arity */
    raw_init(&w);
    msgpack_pack_array(&w.pk, 6);
    msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_STATUS_OK); msgpack_pack_uint64(&w.pk, 1);
    raw_str(&w, "a");
    msgpack_pack_array(&w.pk, 6);
    for (int i = 0; i < 6; i++) msgpack_pack_uint64(&w.pk, 0);
    msgpack_pack_array(&w.pk, 8);
    for (int i = 0; i < 8; i++) msgpack_pack_uint64(&w.pk, 0);
    ck_assert_int_eq(rep_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
}
END_TEST

START_TEST(test_wrong_types_refused)
{
    raw w;
    /* count as a string */
    raw_init(&w);
    msgpack_pack_array(&w.pk, 7);
    msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_INPUT); msgpack_pack_uint64(&w.pk, 1);
    raw_bin(&w, s_job, 16); raw_str(&w, "x"); msgpack_pack_uint64(&w.pk, 0); raw_str(&w, "2");
    ck_assert_int_eq(req_dec(&w, 1, 16), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    /* job id as a str, then of 15 bytes */
    for (int v = 0; v < 2; v++) {
        raw_init(&w);
        msgpack_pack_array(&w.pk, 4);
        msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_STATUS); msgpack_pack_uint64(&w.pk, 1);
        if (v == 0) raw_str(&w, "0123456789abcdef");
        else raw_bin(&w, s_job, 15);
        ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
    /* negative request id, version as a bool, name as bin */
    raw_init(&w);
    msgpack_pack_array(&w.pk, 4);
    msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_STATUS); msgpack_pack_int64(&w.pk, -1);
    msgpack_pack_nil(&w.pk);
    ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    raw_init(&w);
    msgpack_pack_array(&w.pk, 4);
    msgpack_pack_true(&w.pk); msgpack_pack_uint64(&w.pk, MPC_CW_STATUS); msgpack_pack_uint64(&w.pk, 1);
    msgpack_pack_nil(&w.pk);
    ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    raw_init(&w);
    msgpack_pack_array(&w.pk, 6);
    msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_RESULT); msgpack_pack_uint64(&w.pk, 1);
    raw_bin(&w, s_job, 16); raw_bin(&w, "out", 3); msgpack_pack_uint64(&w.pk, 0);
    ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    /* float, map and ext anywhere are refused before unpacking */
    const uint8_t floaty[] = {0x94, 0x01, 0x04, 0x01, 0xca, 0, 0, 0, 0};
    const uint8_t mappy[] = {0x94, 0x01, 0x04, 0x01, 0x80};
    const uint8_t exty[] = {0x94, 0x01, 0x04, 0x01, 0xd4, 0x01, 0x00};
    mpc_cwire_req q;
    ck_assert_int_eq(mpc_cwire_req_decode(floaty, sizeof floaty, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(mappy, sizeof mappy, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(exty, sizeof exty, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    /* version 2, unknown type, a reply type where a request is expected and vice versa */
    const uint8_t v2[] = {0x94, 0x02, 0x04, 0x01, 0xc0};
    const uint8_t t9[] = {0x94, 0x01, 0x09, 0x01, 0xc0};
    const uint8_t rep[] = {0x93, 0x01, 0xcc, 0x82, 0x01};
    const uint8_t req[] = {0x94, 0x01, 0x04, 0x01, 0xc0};
    ck_assert_int_eq(mpc_cwire_req_decode(v2, sizeof v2, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(t9, sizeof t9, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(rep, sizeof rep, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(req, sizeof req, 0, 0, &q, s_err, sizeof s_err), 0);
    mpc_cwire_rep p;
    ck_assert_int_eq(mpc_cwire_rep_decode(rep, sizeof rep, 0, 0, &p, s_err, sizeof s_err), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(req, sizeof req, 0, 0, &p, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
}
END_TEST

START_TEST(test_ranges_and_names_refused)
{
    raw w;
    /* count 0 and 2^32 + 1; mode 3 (2 is MASKED: check_cwire_auth) */
    raw_input(&w, 7, MPC_CW_EXPLICIT, 0);
    ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    raw_input(&w, 7, MPC_CW_SEED, MPC_CWIRE_MAX_COUNT + 1);
    ck_assert_int_eq(req_dec(&w, 1, 32), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    raw_input(&w, 7, 3, 1);
    ck_assert_int_eq(req_dec(&w, 1, 8), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    /* RESULT wait beyond the maximum */
    raw_init(&w);
    msgpack_pack_array(&w.pk, 6);
    msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_RESULT); msgpack_pack_uint64(&w.pk, 1);
    raw_bin(&w, s_job, 16); raw_str(&w, "out"); msgpack_pack_uint64(&w.pk, MPC_CWIRE_MAX_WAIT_MS + 1);
    ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    /* bad names: empty, 64 bytes, a slash, a NUL, a newline */
    const char *bad[] = {"", "0123456789012345678901234567890123456789012345678901234567890123", "a/b", "a\nb"};
    for (size_t i = 0; i < 5; i++) {
        raw_init(&w);
        msgpack_pack_array(&w.pk, 6);
        msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_RESULT); msgpack_pack_uint64(&w.pk, 1);
        raw_bin(&w, s_job, 16);
        if (i < 4) {
            raw_str(&w, bad[i]);
        } else {
            msgpack_pack_str(&w.pk, 3);
            msgpack_pack_str_body(&w.pk, "a\0b", 3);
        }
        msgpack_pack_uint64(&w.pk, 0);
        ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
    /* SUBMIT: duplicate daemons, 17 daemons, empty binding, empty circuit */
    for (int v = 0; v < 4; v++) {
        raw_init(&w);
        msgpack_pack_array(&w.pk, 6);
        msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_SUBMIT); msgpack_pack_uint64(&w.pk, 1);
        raw_bin(&w, s_job, 16);
        if (v == 0) { msgpack_pack_array(&w.pk, 2); raw_str(&w, "a"); raw_str(&w, "a"); }
        if (v == 1) {
            msgpack_pack_array(&w.pk, 17);
            for (int i = 0; i < 17; i++) { char nm[16]; snprintf(nm, sizeof nm, "p%d", i); raw_str(&w, nm); }
        }
        if (v == 2) msgpack_pack_array(&w.pk, 0);
        if (v == 3) { msgpack_pack_array(&w.pk, 2); raw_str(&w, "a"); raw_str(&w, "b"); }
        raw_bin(&w, "c", v == 3 ? 0 : 1);
        ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
    /* ERROR: a positive code, a code below -127 */
    for (int v = 0; v < 2; v++) {
        raw_init(&w);
        msgpack_pack_array(&w.pk, 5);
        msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_ERROR); msgpack_pack_uint64(&w.pk, 1);
        msgpack_pack_int64(&w.pk, v == 0 ? 3 : -128);
        raw_str(&w, "x");
        ck_assert_int_eq(rep_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
    /* RESULT_OK: ready but job not done; not ready but a count */
    for (int v = 0; v < 2; v++) {
        raw_init(&w);
        msgpack_pack_array(&w.pk, 7);
        msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_RESULT_OK); msgpack_pack_uint64(&w.pk, 1);
        if (v == 0) msgpack_pack_true(&w.pk); else msgpack_pack_false(&w.pk);
        msgpack_pack_uint64(&w.pk, MPC_JOB_RUNNING);
        msgpack_pack_uint64(&w.pk, MPC_T_INT);
        msgpack_pack_uint64(&w.pk, 4);
        ck_assert_int_eq(rep_dec(&w, 1, 32), MPC_ERR_PROTOCOL);
        ck_assert_int_eq(rep_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
        msgpack_sbuffer_destroy(&w.sb);
    }
    /* the encoder applies the same rules */
    mpc_cwire_req q = s_submit();
    uint8_t *buf = NULL;
    size_t len = 0;
    strcpy(q.bind[1], q.bind[0]);
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    q = s_submit();
    q.n_bind = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), MPC_ERR_INVALID);
    mpc_cwire_rep p;
    memset(&p, 0, sizeof p);
    p.type = MPC_CW_ERROR;
    p.code = 5;
    ck_assert_int_eq(mpc_cwire_rep_encode(&p, &buf, &len), MPC_ERR_INVALID);
}
END_TEST

START_TEST(test_error_message_sanitised)
{
    raw w;
    raw_init(&w);
    msgpack_pack_array(&w.pk, 5);
    msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_ERROR); msgpack_pack_uint64(&w.pk, 1);
    msgpack_pack_int64(&w.pk, MPC_ERR_DENIED);
    raw_str(&w, "line one\nline two\x1b[31m\xff");
    mpc_cwire_rep p;
    ck_assert_int_eq(mpc_cwire_rep_decode((const uint8_t *)w.sb.data, w.sb.size, 0, 0, &p, s_err, sizeof s_err), 0);
    ck_assert_str_eq(p.msg, "line one?line two?[31m?");
    ck_assert_int_eq(p.code, MPC_ERR_DENIED);
    msgpack_sbuffer_destroy(&w.sb);
    /* a message of MPC_CWIRE_MSG_MAX bytes does not fit */
    char big[MPC_CWIRE_MSG_MAX + 1];
    memset(big, 'm', MPC_CWIRE_MSG_MAX);
    big[MPC_CWIRE_MSG_MAX] = 0;
    raw_init(&w);
    msgpack_pack_array(&w.pk, 5);
    msgpack_pack_uint64(&w.pk, 1); msgpack_pack_uint64(&w.pk, MPC_CW_ERROR); msgpack_pack_uint64(&w.pk, 1);
    msgpack_pack_int64(&w.pk, MPC_ERR_DENIED);
    raw_str(&w, big);
    ck_assert_int_eq(rep_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
}
END_TEST

START_TEST(test_payload_mismatch_refused)
{
    raw w;
    raw_input(&w, 7, MPC_CW_EXPLICIT, 3);
    ck_assert_int_eq(req_dec(&w, 1, 24), 0);
    ck_assert_int_eq(req_dec(&w, 1, 16), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(req_dec(&w, 1, 32), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(req_dec(&w, 1, 25), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(req_dec(&w, 0, 0), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(req_dec(&w, 2, 24), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    /* a seed is exactly 32 bytes whatever the count */
    raw_input(&w, 7, MPC_CW_SEED, 4);
    ck_assert_int_eq(req_dec(&w, 1, 32), 0);
    ck_assert_int_eq(req_dec(&w, 1, 24), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(req_dec(&w, 1, 33), MPC_ERR_PROTOCOL);
    msgpack_sbuffer_destroy(&w.sb);
    /* messages without a payload refuse one */
    mpc_cwire_req q = s_submit();
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    mpc_cwire_req o;
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, 8, &o, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(buf, len, 1, 0, &o, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
    /* RESULT_OK ready: count * 8 */
    mpc_cwire_rep p;
    memset(&p, 0, sizeof p);
    p.type = MPC_CW_RESULT_OK; p.ready = 1; p.state = MPC_JOB_DONE; p.count = 2;
    ck_assert_int_eq(mpc_cwire_rep_encode(&p, &buf, &len), 0);
    mpc_cwire_rep po;
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 16, &po, s_err, sizeof s_err), 0);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 1, 8, &po, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_rep_decode(buf, len, 0, 0, &po, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(buf);
}
END_TEST

START_TEST(test_trailing_and_truncated_refused)
{
    mpc_cwire_req q = s_submit(), o;
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    uint8_t *more = malloc(len + 1);
    memcpy(more, buf, len);
    more[len] = 0xc0;
    ck_assert_int_eq(mpc_cwire_req_decode(more, len + 1, 0, 0, &o, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(s_err, "trailing"));
    /* every proper prefix is refused */
    for (size_t k = 0; k < len; k++)
        ck_assert_int_eq(mpc_cwire_req_decode(buf, k, 0, 0, &o, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    free(more);
    free(buf);
}
END_TEST

/* Declared sizes far beyond the frame: the precheck refuses them before msgpack-c would
 * allocate count * 24 bytes. */
START_TEST(test_huge_declared_sizes_refused)
{
    mpc_cwire_req q;
    mpc_cwire_rep p;
    /* a header that is itself an array32 of 2^32-1 elements */
    const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(mpc_cwire_req_decode(arr32, sizeof arr32, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(s_err, "exceeds"));
    /* a binding declared as array32 of 2^31 names inside a SUBMIT */
    const uint8_t sub[] = {0x96, 0x01, 0x01, 0x01, 0xc4, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                           0xdd, 0x80, 0x00, 0x00, 0x00, 0xa1, 'a'};
    ck_assert_int_eq(mpc_cwire_req_decode(sub, sizeof sub, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    /* array16 just one too big */
    const uint8_t arr16[] = {0xdc, 0x00, 0x04, 0x01, 0x04, 0x01};
    ck_assert_int_eq(mpc_cwire_req_decode(arr16, sizeof arr16, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    /* bin32 and str32 declaring 4 GB */
    const uint8_t bin32[] = {0x94, 0x01, 0x04, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00};
    const uint8_t str32[] = {0x95, 0x01, 0xcc, 0xff, 0x01, 0xff, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'x'};
    ck_assert_int_eq(mpc_cwire_req_decode(bin32, sizeof bin32, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_rep_decode(str32, sizeof str32, 0, 0, &p, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    /* a map32 header (maps are never sent) */
    const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(mpc_cwire_rep_decode(map32, sizeof map32, 0, 0, &p, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    /* a bin8 / str8 length one byte too long */
    const uint8_t bin8[] = {0x94, 0x01, 0x04, 0x01, 0xc4, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    ck_assert_int_eq(mpc_cwire_req_decode(bin8, sizeof bin8, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    /* empty frame and reserved byte 0xc1 */
    const uint8_t c1[] = {0x94, 0x01, 0x04, 0x01, 0xc1};
    ck_assert_int_eq(mpc_cwire_req_decode(c1, 0, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpc_cwire_req_decode(c1, sizeof c1, 0, 0, &q, s_err, sizeof s_err), MPC_ERR_PROTOCOL);
}
END_TEST

/* Every single-byte change of valid messages decodes or fails cleanly (ASan runs catch the
 * rest); decoded fields still satisfy the invariants the daemon relies on. */
START_TEST(test_mutations_are_safe)
{
    mpc_cwire_req q = s_submit(), o;
    uint8_t *buf = NULL;
    size_t len = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &buf, &len), 0);
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0x9f, 0xc0, 0xc4, 0xc6, 0xcf, 0xd9, 0xdb, 0xdc, 0xdd, 0xff};
    for (size_t i = 0; i < len; i++) {
        uint8_t keep = buf[i];
        for (size_t v = 0; v < sizeof vals; v++) {
            buf[i] = vals[v];
            int r = mpc_cwire_req_decode(buf, len, 0, 0, &o, s_err, sizeof s_err);
            ck_assert(r == 0 || r == MPC_ERR_PROTOCOL);
            if (r == 0 && o.type == MPC_CW_SUBMIT) {
                ck_assert(o.n_bind >= 1 && o.n_bind <= MPC_MAX_PARTIES);
                ck_assert(o.circ >= buf && o.circ + o.circ_len <= buf + len);
            }
        }
        buf[i] = keep;
    }
    free(buf);
    /* the same for the richest reply: STATUS with a job record */
    mpc_cwire_rep p, po;
    memset(&p, 0, sizeof p);
    p.type = MPC_CW_STATUS_OK; p.rid = 77; strcpy(p.daemon, "clinic"); p.has_job = 1;
    p.job.state = MPC_JOB_RUNNING; strcpy(p.job.reason, "none"); p.job.layers_done = 1; p.job.layers_total = 2;
    p.job.inputs_total = 3; p.job.n_bind = 2; strcpy(p.job.bind[0], "a"); strcpy(p.job.bind[1], "b");
    ck_assert_int_eq(mpc_cwire_rep_encode(&p, &buf, &len), 0);
    for (size_t i = 0; i < len; i++) {
        uint8_t keep = buf[i];
        for (size_t v = 0; v < sizeof vals; v++) {
            buf[i] = vals[v];
            int r = mpc_cwire_rep_decode(buf, len, 0, 0, &po, s_err, sizeof s_err);
            ck_assert(r == 0 || r == MPC_ERR_PROTOCOL);
            if (r == 0 && po.type == MPC_CW_STATUS_OK && po.has_job) {
                ck_assert(po.job.layers_done <= po.job.layers_total);
                ck_assert(po.job.n_bind >= 1 && po.job.n_bind <= MPC_MAX_PARTIES);
                ck_assert(strlen(po.job.reason) < MPC_CWIRE_MSG_MAX);
            }
        }
        buf[i] = keep;
    }
    free(buf);
}
END_TEST

START_TEST(test_job_ids)
{
    uint8_t a[16], b[16], c[16];
    char hex[33];
    ck_assert_int_eq(mpc_cwire_job_new(a), 0);
    ck_assert_int_eq(mpc_cwire_job_new(b), 0);
    ck_assert(memcmp(a, b, 16) != 0);
    mpc_cwire_job_hex(a, hex);
    ck_assert_uint_eq(strlen(hex), 32);
    ck_assert_int_eq(mpc_cwire_job_parse(c, hex), 0);
    ck_assert_mem_eq(a, c, 16);
    mpc_cwire_job_hex(s_job, hex);
    ck_assert_str_eq(hex, "0102030405060708090a0b0c0d0e0f10");
    ck_assert_int_eq(mpc_cwire_job_parse(c, "0102030405060708090A0B0C0D0E0F10"), 0);
    ck_assert_mem_eq(c, s_job, 16);
    ck_assert_int_eq(mpc_cwire_job_parse(c, "0102030405060708090a0b0c0d0e0f1"), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_cwire_job_parse(c, "0102030405060708090a0b0c0d0e0f100"), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_cwire_job_parse(c, "0102030405060708090a0b0c0d0e0fzz"), MPC_ERR_INVALID);
    ck_assert_str_eq(mpc_job_state_name(MPC_JOB_INPUTS), "waiting for inputs");
    ck_assert_str_eq(mpc_job_state_name(99), "unknown");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("cwire");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_requests_round_trip);
    tcase_add_test(tc, test_submit_collection_options);
    tcase_add_test(tc, test_keys_request);
    tcase_add_test(tc, test_replies_round_trip);
    tcase_add_test(tc, test_withheld_rules);
    tcase_add_test(tc, test_checked_result);
    tcase_add_test(tc, test_wrong_arity_refused);
    tcase_add_test(tc, test_wrong_types_refused);
    tcase_add_test(tc, test_ranges_and_names_refused);
    tcase_add_test(tc, test_error_message_sanitised);
    tcase_add_test(tc, test_payload_mismatch_refused);
    tcase_add_test(tc, test_trailing_and_truncated_refused);
    tcase_add_test(tc, test_huge_declared_sizes_refused);
    tcase_add_test(tc, test_mutations_are_safe);
    tcase_add_test(tc, test_job_ids);
    tcase_add_test(tc, test_status_and_jobs_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

