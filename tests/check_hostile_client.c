/* check_hostile_client.c — hostile input on a real 2-party cluster (scripts/cluster, started
 * once by an unchecked fixture): a test client speaking raw ZeroMQ CURVE with a valid client
 * key sends what the SDK never would — garbage headers, extra frames, an oversize frame, a
 * circuit over the configured limits, inputs of the wrong length or mode, a second input for
 * the same name — and a test process holding party a's peer key (or an unknown key) sends
 * garbage to party b's peer socket.  Each must be refused with an error saying why, store
 * nothing, and leave the daemons up: the job under attack still computes the right answer
 * and a fresh job through the SDK succeeds.  The daemons log at debug level, and the last test
 * checks that no input, share, seed, output or key of any test appears in any log or in the
 * CLI's error output. */
#include <check.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "runner.h"
#include "cluster.h"
#include "proc.h"
#include "mpcclient.h"

#include "client_conf.h"
#include "compile.h"
#include "config.h"
#include "cwire.h"
#include "vcheck.h"
#include "format.h"
#include "keys.h"
#include "wire.h"

#define S_MAX_GATES 300
#define S_MAX_MSG   65536

static tc_cluster s_cl;
static mpc_client_conf s_ccfg;

/* --- the cluster (parent process, before Check forks) ------------------------------------ */

static void s_cluster_up(void)
{
    char extra[512];
    snprintf(extra, sizeof extra,
             "--set limits.max_gates=%d --set limits.max_message_bytes=%d --set limits.peer_timeout_ms=2000 "
             "--set limits.input_timeout_ms=20000 --set mpcd.log_level=debug",
             S_MAX_GATES, S_MAX_MSG);
    tc_up(&s_cl, 2, extra);
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/client.ini", s_cl.dir);
    ck_assert_int_eq(mpc_client_conf_load(path, &s_ccfg, err, sizeof err), 0);
}

static void s_cluster_down(void)
{
    tc_down(&s_cl);
}

/* --- a raw client ------------------------------------------------------------------------- */

typedef struct {
    void *ctx, *sock;
} raw;

/* A DEALER to daemon i's client socket with the client key pair of `keyname` (keys/NAME.*),
 * or with a fresh key no daemon knows when keyname is NULL. */
static void s_raw_open(raw *r, uint32_t i, const char *keyname)
{
    r->ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(r->ctx);
    r->sock = zmq_socket(r->ctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(r->sock);
    char pub[41], sec[41], srv[41];
    mpc_keypair *kp = NULL;
    if (keyname) {
        char path[512], err[256];
        snprintf(path, sizeof path, "%s/keys/%s.secret", s_cl.dir, keyname);
        ck_assert_int_eq(mpc_keys_load_secret(&kp, path, err, sizeof err), 0);
    } else {
        kp = mpc_keypair_new();
    }
    ck_assert_ptr_nonnull(kp);
    mpc_key_to_z85(pub, mpc_keypair_public(kp));
    mpc_key_to_z85(sec, mpc_keypair_secret(kp));
    mpc_key_to_z85(srv, s_ccfg.daemons[i].public_key);
    int zero = 0, tmo = 5000;
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SERVERKEY, srv, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero), 0);
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_RCVTIMEO, &tmo, sizeof tmo), 0);
    sodium_memzero(sec, sizeof sec);
    mpc_keypair_destroy(&kp);
    ck_assert_int_eq(zmq_connect(r->sock, s_ccfg.daemons[i].endpoint), 0);
}

static void s_raw_close(raw *r)
{
    zmq_close(r->sock);
    zmq_ctx_term(r->ctx);
}

/* Sends the frames; each frames[k] of lens[k] bytes. */
static void s_send(raw *r, int n, const void *const *frames, const size_t *lens)
{
    for (int k = 0; k < n; k++)
        ck_assert_int_ge(zmq_send(r->sock, frames[k], lens[k], k + 1 < n ? ZMQ_SNDMORE : 0), 0);
}

/* Receives one reply within the socket timeout: 0 and *rep decoded (payload, if any, copied
 * into share[0..cap-1]), or -1 when nothing came. */
static int s_recv(raw *r, mpc_cwire_rep *rep, uint64_t *share, size_t cap)
{
    zmq_msg_t h, p;
    zmq_msg_init(&h);
    if (zmq_msg_recv(&h, r->sock, 0) < 0) {
        zmq_msg_close(&h);
        return -1;
    }
    size_t np = 0, plen = 0;
    if (zmq_msg_more(&h)) {
        zmq_msg_init(&p);
        ck_assert_int_ge(zmq_msg_recv(&p, r->sock, 0), 0);
        ck_assert(!zmq_msg_more(&p));
        np = 1;
        plen = zmq_msg_size(&p);
        if (share) {
            ck_assert_uint_le(plen, cap * 8);
            memcpy(share, zmq_msg_data(&p), plen);
        }
        zmq_msg_close(&p);
    }
    char err[256];
    int rc = mpc_cwire_rep_decode(zmq_msg_data(&h), zmq_msg_size(&h), np, plen, rep, err, sizeof err);
    ck_assert_msg(rc == 0, "daemon sent an undecodable reply: %s", err);
    zmq_msg_close(&h);
    return 0;
}

/* One request (encoded by the real encoder) with an optional payload; returns the reply. */
static void s_rpc(raw *r, const mpc_cwire_req *req, const void *payload, size_t plen, mpc_cwire_rep *rep,
                  uint64_t *share, size_t cap)
{
    uint8_t *h = NULL;
    size_t hl = 0;
    ck_assert_int_eq(mpc_cwire_req_encode(req, &h, &hl), 0);
    const void *fr[2] = {h, payload};
    size_t ln[2] = {hl, plen};
    s_send(r, payload ? 2 : 1, fr, ln);
    free(h);
    ck_assert_msg(s_recv(r, rep, share, cap) == 0, "no reply");
    /* Even a request the decoder refused is answered on its id (regression: it used to be 0,
     * so an SDK waiting for its reply dropped the error and timed out). */
    ck_assert_uint_eq(rep->rid, req->rid);
}

static void s_expect_error(const mpc_cwire_rep *rep, int code, const char *text)
{
    ck_assert_msg(rep->type == MPC_CW_ERROR, "expected an error (%s), got reply type 0x%x", text, rep->type);
    ck_assert_msg(rep->code == code, "error code %d (%s), expected %d; message: %s", rep->code,
                  mpc_strerror(rep->code), code, rep->msg);
    ck_assert_msg(strstr(rep->msg, text) != NULL, "message '%s' does not say '%s'", rep->msg, text);
}

/* STATUS of the daemon: proves it answers. */
static void s_status_ok(uint32_t daemon)
{
    raw r;
    s_raw_open(&r, daemon, "client");
    mpc_cwire_req q = {.type = MPC_CW_STATUS, .rid = 4242};
    mpc_cwire_rep rep;
    s_rpc(&r, &q, NULL, 0, &rep, NULL, 0);
    ck_assert_int_eq(rep.type, MPC_CW_STATUS_OK);
    ck_assert_str_eq(rep.daemon, daemon ? "b" : "a");
    s_raw_close(&r);
}

static uint8_t *s_compile(const char *src, size_t *len)
{
    mpc_circuit *c = NULL;
    mpc_diag d;
    ck_assert_int_eq(mpc_compile(src, strlen(src), "t.mpc", NULL, 0, &c, &d), 0);
    mpc_diag_free(&d);
    uint8_t *buf = NULL;
    ck_assert_int_eq(mpc_circ_write(c, &buf, len), 0);
    mpc_circ_destroy(&c);
    return buf;
}

/* --- client socket -------------------------------------------------------------------------- */

START_TEST(test_garbage_frames_refused)
{
    raw r;
    s_raw_open(&r, 0, "client");
    mpc_cwire_rep rep;
    /* Not msgpack at all. */
    const void *fr[5] = {"\xc1garbage", NULL, NULL, NULL, NULL};
    size_t ln[5] = {8, 0, 0, 0, 0};
    s_send(&r, 1, fr, ln);
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "malformed request");
    /* An array32 announcing 2^32-1 elements in a 5-byte frame (docs/security.md, "Decoders"). */
    fr[0] = "\xdd\xff\xff\xff\xff";
    ln[0] = 5;
    s_send(&r, 1, fr, ln);
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "exceeds the frame");
    /* A valid STATUS header with an empty frame after it: no payload belongs there. */
    mpc_cwire_req q = {.type = MPC_CW_STATUS, .rid = 77};
    uint8_t *h;
    size_t hl;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &h, &hl), 0);
    fr[0] = h; ln[0] = hl;
    fr[1] = ""; ln[1] = 0;
    s_send(&r, 2, fr, ln);
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "unexpected payload frame");
    /* Too many frames: header + four more. */
    for (int k = 1; k < 5; k++) { fr[k] = "xxxxxxxx"; ln[k] = 8; }
    s_send(&r, 5, fr, ln);
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "too many frames");
    /* An unknown request type and a future version. */
    const uint8_t bad_type[] = {0x94, 0x01, 0x0a, 0x05, 0xc0};   /* 9 is MASK (security = malicious) */
    const uint8_t bad_ver[] = {0x94, 0x02, 0x04, 0x05, 0xc0};
    fr[0] = bad_type; ln[0] = sizeof bad_type;
    s_send(&r, 1, fr, ln);
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "unknown request type 10");
    fr[0] = bad_ver; ln[0] = sizeof bad_ver;
    s_send(&r, 1, fr, ln);
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "unsupported protocol version 2");
    ck_assert_uint_eq(rep.rid, 5);   /* answered on the request's id */
    free(h);
    /* The same connection still works. */
    s_rpc(&r, &q, NULL, 0, &rep, NULL, 0);
    ck_assert_int_eq(rep.type, MPC_CW_STATUS_OK);
    s_raw_close(&r);
    tc_assert_alive(&s_cl, "a daemon died");
}
END_TEST

START_TEST(test_oversize_frame_dropped)
{
    /* A frame over max_message_bytes: libzmq drops the connection (ZMQ_MAXMSGSIZE), so there
     * is no reply to give; the daemon must stay up and serve the next connection. */
    raw r;
    s_raw_open(&r, 0, "client");
    size_t big = 4 * S_MAX_MSG;
    uint8_t *junk = calloc(1, big);
    ck_assert_ptr_nonnull(junk);
    const void *fr[1] = {junk};
    size_t ln[1] = {big};
    s_send(&r, 1, fr, ln);
    mpc_cwire_rep rep;
    int tmo = 1500;
    zmq_setsockopt(r.sock, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), -1);
    free(junk);
    s_raw_close(&r);
    tc_assert_alive(&s_cl, "a daemon died");
    s_status_ok(0);
}
END_TEST

START_TEST(test_unknown_client_key_refused)
{
    raw r;
    s_raw_open(&r, 1, NULL);
    mpc_cwire_req q = {.type = MPC_CW_STATUS, .rid = 5};
    uint8_t *h;
    size_t hl;
    ck_assert_int_eq(mpc_cwire_req_encode(&q, &h, &hl), 0);
    const void *fr[1] = {h};
    size_t ln[1] = {hl};
    int tmo = 1500;
    zmq_setsockopt(r.sock, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    zmq_send(r.sock, fr[0], ln[0], ZMQ_DONTWAIT);
    mpc_cwire_rep rep;
    ck_assert_int_eq(s_recv(&r, &rep, NULL, 0), -1);
    free(h);
    s_raw_close(&r);
    ck_assert(tc_log_has(&s_cl, "b", "client with an unknown key was refused"));
    s_status_ok(1);
}
END_TEST

START_TEST(test_circuit_over_limits_refused)
{
    /* 400 multiplications cannot fit in max_gates = 300. */
    static const char *src = "party a, b\ninput x: int from a\ninput y: int from b\nvar acc = x\n"
                             "for i in 0..400 {\n  acc = acc * y + x\n}\noutput s = acc to a, b\n";
    size_t len;
    uint8_t *circ = s_compile(src, &len);
    raw r;
    s_raw_open(&r, 0, "client");
    mpc_cwire_req q = {.type = MPC_CW_SUBMIT, .rid = 9, .circ = circ, .circ_len = len, .n_bind = 2};
    ck_assert_int_eq(mpc_cwire_job_new(q.job), 0);
    strcpy(q.bind[0], "a");
    strcpy(q.bind[1], "b");
    mpc_cwire_rep rep;
    s_rpc(&r, &q, NULL, 0, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_CIRCUIT, "circuit refused");
    ck_assert_msg(strstr(rep.msg, "gates") != NULL, "the refusal does not name the limit: %s", rep.msg);
    /* Nothing stored: the daemon does not know the job. */
    mpc_cwire_req st = {.type = MPC_CW_STATUS, .rid = 10, .has_job = 1};
    memcpy(st.job, q.job, sizeof st.job);
    s_rpc(&r, &st, NULL, 0, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_NOTFOUND, "no such job");
    /* Garbage where the circuit goes. */
    static const uint8_t notcirc[] = "MPCCIRC but not really a circuit";
    q.circ = notcirc;
    q.circ_len = sizeof notcirc;
    ck_assert_int_eq(mpc_cwire_job_new(q.job), 0);
    s_rpc(&r, &q, NULL, 0, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_CIRCUIT, "circuit refused");
    /* A binding naming a daemon that is not configured. */
    q.circ = circ;
    q.circ_len = len;
    free(circ);
    circ = s_compile("party a, b\ninput x: int from a\ninput y: int from b\noutput s = x + y to a, b\n", &len);
    q.circ = circ;
    q.circ_len = len;
    strcpy(q.bind[1], "mallory");
    ck_assert_int_eq(mpc_cwire_job_new(q.job), 0);
    s_rpc(&r, &q, NULL, 0, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_INVALID, "'mallory', which is not a configured party");
    s_raw_close(&r);
    free(circ);
    tc_assert_alive(&s_cl, "a daemon died");
}
END_TEST

/* Opens a client to both daemons and submits x·y summed (int[4] from a and from b) to both,
 * each answering with the security flag `malicious`; the circuit bytes (free them). */
static uint8_t *s_submit_xy(raw r[2], mpc_cwire_req *q, int malicious)
{
    static const char *src = "party a, b\ninput x: int[4] from a\ninput y: int[4] from b\n"
                             "output s = sum(x * y) to a, b\n";
    size_t len;
    uint8_t *circ = s_compile(src, &len);
    s_raw_open(&r[0], 0, "client");
    s_raw_open(&r[1], 1, "client");
    *q = (mpc_cwire_req){.type = MPC_CW_SUBMIT, .rid = 1, .circ = circ, .circ_len = len, .n_bind = 2};
    ck_assert_int_eq(mpc_cwire_job_new(q->job), 0);
    strcpy(q->bind[0], "a");
    strcpy(q->bind[1], "b");
    mpc_cwire_rep rep;
    for (int d = 0; d < 2; d++) {
        s_rpc(&r[d], q, NULL, 0, &rep, NULL, 0);
        ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "submit: %s", rep.msg);
        ck_assert_uint_eq(rep.malicious, (unsigned)malicious);
    }
    return circ;
}

START_TEST(test_bad_inputs_refused)
{
    raw r[2];
    mpc_cwire_req q;
    mpc_cwire_rep rep;
    uint8_t *circ = s_submit_xy(r, &q, 0);   /* semi-honest: seed-shared inputs */
    /* The same job id again is refused. */
    s_rpc(&r[0], &q, NULL, 0, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_STATE, "a job with this id exists");

    uint64_t x[4] = {1, 2, 3, 4}, y[4] = {10, 20, 30, 40};
    uint8_t *seed = sodium_malloc(MPC_CWIRE_SEED_BYTES);
    uint64_t xs[5], ys[4];
    ck_assert_int_eq(mpc_cwire_share(seed, xs, x, 4, 2, 0), 0);
    mpc_cwire_req in = {.type = MPC_CW_INPUT, .rid = 2, .mode = MPC_CW_EXPLICIT, .count = 5};
    memcpy(in.job, q.job, sizeof in.job);
    strcpy(in.name, "x");
    xs[4] = 0;
    /* Wrong length: 5 elements for an int[4]. */
    s_rpc(&r[1], &in, xs, 5 * 8, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_INPUT, "input 'x' has 5 elements, the program needs 4");
    /* A payload that does not match the header: refused by the decoder. */
    in.count = 4;
    s_rpc(&r[1], &in, xs, 3 * 8, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "payload of 24 bytes, header announces 32");
    /* A seed of the wrong size. */
    in.mode = MPC_CW_SEED;
    s_rpc(&r[0], &in, seed, 16, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_PROTOCOL, "payload of 16 bytes, header announces 32");
    /* An unknown mode (the "type" of an input on the wire). */
    {
        uint8_t *h;
        size_t hl;
        in.mode = MPC_CW_SEED;
        ck_assert_int_eq(mpc_cwire_req_encode(&in, &h, &hl), 0);
        /* [1, 2, rid, job, name, mode, count]: the mode is the byte before the last. */
        ck_assert_int_eq(h[hl - 2], MPC_CW_SEED);
        h[hl - 2] = 7;
        const void *fr[2] = {h, seed};
        size_t ln[2] = {hl, MPC_CWIRE_SEED_BYTES};
        s_send(&r[0], 2, fr, ln);
        ck_assert_int_eq(s_recv(&r[0], &rep, NULL, 0), 0);
        s_expect_error(&rep, MPC_ERR_PROTOCOL, "INPUT: bad mode");
        free(h);
    }
    /* The authenticated input of security = malicious, on a semi-honest daemon: refused. */
    {
        mpc_cwire_req mk = {.type = MPC_CW_MASK, .rid = 4, .count = 4};
        memcpy(mk.job, q.job, sizeof mk.job);
        strcpy(mk.name, "x");
        s_rpc(&r[0], &mk, NULL, 0, &rep, NULL, 0);
        s_expect_error(&rep, MPC_ERR_UNSUPPORTED, "MASK is for security = malicious; this daemon runs semi-honest");
        in.mode = MPC_CW_MASKED;
        in.count = 4;
        strcpy(in.name, "x");
        s_rpc(&r[0], &in, xs, 4 * 8, &rep, NULL, 0);
        s_expect_error(&rep, MPC_ERR_UNSUPPORTED, "a masked input needs security = malicious");
        in.mode = MPC_CW_SEED;
    }
    /* An input the program does not have. */
    strcpy(in.name, "z");
    s_rpc(&r[0], &in, seed, MPC_CWIRE_SEED_BYTES, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_NOTFOUND, "the program has no input 'z'");
    /* Nothing of the above was stored. */
    mpc_cwire_req st = {.type = MPC_CW_STATUS, .rid = 3, .has_job = 1};
    memcpy(st.job, q.job, sizeof st.job);
    for (int d = 0; d < 2; d++) {
        s_rpc(&r[d], &st, NULL, 0, &rep, NULL, 0);
        ck_assert_int_eq(rep.type, MPC_CW_STATUS_OK);
        ck_assert_uint_eq(rep.job.inputs_given, 0);
        ck_assert_uint_eq(rep.job.inputs_total, 2);
    }
    /* The real x: a seed to a, the explicit share to b. */
    strcpy(in.name, "x");
    in.mode = MPC_CW_SEED;
    s_rpc(&r[0], &in, seed, MPC_CWIRE_SEED_BYTES, &rep, NULL, 0);
    ck_assert_msg(rep.type == MPC_CW_INPUT_OK, "%s", rep.msg);
    /* A second x to a (another seed) is refused; the first one stands. */
    uint8_t *seed2 = sodium_malloc(MPC_CWIRE_SEED_BYTES);
    randombytes_buf(seed2, MPC_CWIRE_SEED_BYTES);
    s_rpc(&r[0], &in, seed2, MPC_CWIRE_SEED_BYTES, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_STATE, "input 'x' was already given");
    in.mode = MPC_CW_EXPLICIT;
    s_rpc(&r[1], &in, xs, 4 * 8, &rep, NULL, 0);
    ck_assert_msg(rep.type == MPC_CW_INPUT_OK, "%s", rep.msg);
    /* ... and to b: a second explicit share. */
    s_rpc(&r[1], &in, ys, 4 * 8, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_STATE, "input 'x' was already given");
    /* y, properly. */
    ck_assert_int_eq(mpc_cwire_share(seed, ys, y, 4, 2, 1), 0);
    strcpy(in.name, "y");
    in.mode = MPC_CW_SEED;
    s_rpc(&r[0], &in, seed, MPC_CWIRE_SEED_BYTES, &rep, NULL, 0);
    ck_assert_msg(rep.type == MPC_CW_INPUT_OK, "%s", rep.msg);
    in.mode = MPC_CW_EXPLICIT;
    s_rpc(&r[1], &in, ys, 4 * 8, &rep, NULL, 0);
    ck_assert_msg(rep.type == MPC_CW_INPUT_OK, "%s", rep.msg);
    /* The job under attack computes the right answer: 10+40+90+160. */
    uint64_t total = 0;
    mpc_cwire_req res = {.type = MPC_CW_RESULT, .rid = 5, .wait_ms = 2000};
    memcpy(res.job, q.job, sizeof res.job);
    strcpy(res.name, "s");
    for (int d = 0; d < 2; d++) {
        for (int tries = 0;; tries++) {
            uint64_t share = 0;
            s_rpc(&r[d], &res, NULL, 0, &rep, &share, 1);
            ck_assert_msg(rep.type == MPC_CW_RESULT_OK, "result: %s", rep.msg);
            if (rep.ready) {
                total += share;
                break;
            }
            /* The daemon may answer "not ready" at once (wait is an upper bound). */
            ck_assert_int_lt(tries, 300);
            usleep(50 * 1000);
        }
    }
    ck_assert_uint_eq(total, 300);
    sodium_free(seed);
    sodium_free(seed2);
    s_raw_close(&r[0]);
    s_raw_close(&r[1]);
    free(circ);
    tc_assert_alive(&s_cl, "a daemon died");
    tc_sdk_job_ok(&s_cl);
}
END_TEST

/* --- peer socket ---------------------------------------------------------------------------- */

/* A DEALER to party b's peer socket, as party a (its key pair from the cluster directory) or
 * with an unknown key. */
static void s_peer_open(raw *r, int as_a, mpcd_config *bcfg)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/b.ini", s_cl.dir);
    ck_assert_msg(mpcd_config_load(path, bcfg, err, sizeof err) == 0, "%s", err);
    mpc_keypair *kp = NULL;
    if (as_a) {
        snprintf(path, sizeof path, "%s/keys/a.secret", s_cl.dir);
        ck_assert_int_eq(mpc_keys_load_secret(&kp, path, err, sizeof err), 0);
    } else {
        kp = mpc_keypair_new();
    }
    uint8_t bpub[32];
    snprintf(path, sizeof path, "%s/keys/b.pub", s_cl.dir);
    ck_assert_int_eq(mpc_keys_load_public(bpub, path, err, sizeof err), 0);
    char pub[41], sec[41], srv[41];
    mpc_key_to_z85(pub, mpc_keypair_public(kp));
    mpc_key_to_z85(sec, mpc_keypair_secret(kp));
    mpc_key_to_z85(srv, bpub);
    mpc_keypair_destroy(&kp);
    r->ctx = zmq_ctx_new();
    r->sock = zmq_socket(r->ctx, ZMQ_DEALER);
    int zero = 0;
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SERVERKEY, srv, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero), 0);
    sodium_memzero(sec, sizeof sec);
    ck_assert_int_eq(zmq_connect(r->sock, bcfg->peer_endpoint), 0);
}

START_TEST(test_peer_garbage_refused)
{
    static mpcd_config bcfg;
    raw r;
    s_peer_open(&r, 1, &bcfg);
    usleep(300 * 1000);   /* the CURVE handshake */
    uint8_t hdr[MPC_WIRE_HDR_MAX];
    size_t hl;
    uint64_t payload[4] = {1, 2, 3, 4};
    /* Garbage msgpack, a huge declared array, a header with no payload frame, a payload of the
     * wrong length, a wrong sender field, four frames, and messages for jobs that do not
     * exist with replayed and out-of-order sequence numbers, and an ABORT for no job. */
    const void *fr[4];
    size_t ln[4];
    fr[0] = "\xc1\xc1\xc1"; ln[0] = 3; fr[1] = ""; ln[1] = 0;
    for (int i = 0; i < 20; i++) {
        ck_assert_int_ge(zmq_send(r.sock, fr[0], ln[0], ZMQ_SNDMORE), 0);
        ck_assert_int_ge(zmq_send(r.sock, fr[1], ln[1], 0), 0);
    }
    zmq_send(r.sock, "\xdd\xff\xff\xff\xff", 5, ZMQ_SNDMORE);
    zmq_send(r.sock, "", 0, 0);
    mpc_msg_hdr h = {.version = 1, .type = MPC_MSG_OPEN, .sender = 0, .stream = 0xdeadbeef, .seq = 5, .count = 4};
    ck_assert_int_eq(mpc_wire_hdr_encode(hdr, sizeof hdr, &hl, &h), 0);
    zmq_send(r.sock, hdr, hl, 0);                                     /* truncated: no payload */
    zmq_send(r.sock, hdr, hl, ZMQ_SNDMORE);
    zmq_send(r.sock, payload, 3 * 8, 0);                              /* wrong length */
    zmq_send(r.sock, hdr, hl, ZMQ_SNDMORE);
    zmq_send(r.sock, payload, 32, ZMQ_SNDMORE);
    zmq_send(r.sock, payload, 32, 0);                                 /* an extra frame */
    for (uint64_t s = 9; s > 0; s--) {                                /* out of order, replayed */
        h.seq = s % 3;
        ck_assert_int_eq(mpc_wire_hdr_encode(hdr, sizeof hdr, &hl, &h), 0);
        zmq_send(r.sock, hdr, hl, ZMQ_SNDMORE);
        zmq_send(r.sock, payload, 32, 0);
    }
    h.sender = 1;                                                     /* claims to be b itself */
    ck_assert_int_eq(mpc_wire_hdr_encode(hdr, sizeof hdr, &hl, &h), 0);
    zmq_send(r.sock, hdr, hl, ZMQ_SNDMORE);
    zmq_send(r.sock, payload, 32, 0);
    h.sender = 0;
    h.type = MPC_MSG_ABORT;
    h.count = 1;
    h.stream = 0xfeedface;
    ck_assert_int_eq(mpc_wire_hdr_encode(hdr, sizeof hdr, &hl, &h), 0);
    zmq_send(r.sock, hdr, hl, ZMQ_SNDMORE);
    zmq_send(r.sock, payload, 8, 0);
    /* A frame far over the size limit: libzmq drops this connection. */
    size_t big = 4 * S_MAX_MSG + 4096;
    uint8_t *junk = calloc(1, big);
    h.type = MPC_MSG_OPEN;
    h.count = big / 8;
    ck_assert_int_eq(mpc_wire_hdr_encode(hdr, sizeof hdr, &hl, &h), 0);
    zmq_send(r.sock, hdr, hl, ZMQ_SNDMORE);
    zmq_send(r.sock, junk, big, 0);
    usleep(500 * 1000);
    free(junk);
    s_raw_close(&r);
    tc_assert_alive(&s_cl, "a daemon died");
    /* b still serves clients and runs jobs with a. */
    s_status_ok(1);
    tc_sdk_job_ok(&s_cl);
}
END_TEST

START_TEST(test_peer_unknown_key_refused)
{
    static mpcd_config bcfg;
    raw r;
    s_peer_open(&r, 0, &bcfg);
    mpc_msg_hdr h = {.version = 1, .type = MPC_MSG_ABORT, .sender = 0, .stream = 1, .seq = 0, .count = 1};
    uint8_t hdr[MPC_WIRE_HDR_MAX];
    size_t hl;
    uint64_t code = (uint64_t)(int64_t)MPC_ERR_PROTOCOL;
    ck_assert_int_eq(mpc_wire_hdr_encode(hdr, sizeof hdr, &hl, &h), 0);
    zmq_send(r.sock, hdr, hl, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(r.sock, &code, 8, ZMQ_DONTWAIT);
    usleep(500 * 1000);
    s_raw_close(&r);
    tc_assert_alive(&s_cl, "a daemon died");
    tc_sdk_job_ok(&s_cl);
}
END_TEST

/* --- secrets never in logs ------------------------------------------------------------------ */

/* Every spelling of a 64-bit value a careless format string could produce. */
static void s_forms_u64(char forms[][48], int *n, uint64_t v)
{
    snprintf(forms[(*n)++], 48, "%llu", (unsigned long long)v);
    snprintf(forms[(*n)++], 48, "%lld", (long long)(int64_t)v);
    snprintf(forms[(*n)++], 48, "%llx", (unsigned long long)v);
    snprintf(forms[(*n)++], 48, "%llX", (unsigned long long)v);
}

/* 1 if any of the n needles occurs in the file (case-sensitively). */
static const char *s_file_has_any(const char *path, char needles[][48], int n)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char line[8192];
    const char *hit = NULL;
    while (!hit && fgets(line, sizeof line, f))
        for (int i = 0; i < n && !hit; i++)
            if (strstr(line, needles[i])) hit = needles[i];
    fclose(f);
    return hit;
}

START_TEST(test_secrets_not_logged)
{
    /* Recognisable values: 0x5EC12E75EC12E7 and friends. */
    static const char *src = "party a, b\ninput x: int[2] from a\ninput y: int[2] from b\n"
                             "output s = x * y + x to a, b\noutput t = sum(y) to a, b\n";
    uint64_t x[2] = {0x5EC12E75EC12E7ull, 0x5EC12E75EC12E8ull}, y[2] = {3, 0x7E57AB1E5EC2E7ull};
    size_t len;
    uint8_t *circ = s_compile(src, &len);
    raw r[2];
    s_raw_open(&r[0], 0, "client");
    s_raw_open(&r[1], 1, "client");
    mpc_cwire_req q = {.type = MPC_CW_SUBMIT, .rid = 1, .circ = circ, .circ_len = len, .n_bind = 2};
    ck_assert_int_eq(mpc_cwire_job_new(q.job), 0);
    strcpy(q.bind[0], "a");
    strcpy(q.bind[1], "b");
    mpc_cwire_rep rep;
    for (int d = 0; d < 2; d++) {
        s_rpc(&r[d], &q, NULL, 0, &rep, NULL, 0);
        ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
    }
    static char forms[512][48];
    int nf = 0;
    for (int i = 0; i < 2; i++) {
        s_forms_u64(forms, &nf, x[i]);
        s_forms_u64(forms, &nf, y[i] > 1000 ? y[i] : x[i]);
    }
    uint8_t *seeds = sodium_malloc(2 * MPC_CWIRE_SEED_BYTES);
    uint64_t ex[2][2];
    const uint64_t *vals[2] = {x, y};
    const char *names[2] = {"x", "y"};
    for (uint32_t k = 0; k < 2; k++) {
        uint8_t *seed = seeds + k * MPC_CWIRE_SEED_BYTES;
        ck_assert_int_eq(mpc_cwire_share(seed, ex[k], vals[k], 2, 2, k), 0);
        uint64_t prg[2];
        ck_assert_int_eq(mpc_cwire_seed_expand(prg, 2, seed, k), 0);
        for (int i = 0; i < 2; i++) {
            s_forms_u64(forms, &nf, ex[k][i]);
            s_forms_u64(forms, &nf, prg[i]);
        }
        char hex[2 * MPC_CWIRE_SEED_BYTES + 1], z85[41];
        sodium_bin2hex(hex, sizeof hex, seed, MPC_CWIRE_SEED_BYTES);
        snprintf(forms[nf++], 48, "%.16s", hex);       /* any 8 bytes of it in hex */
        snprintf(forms[nf++], 48, "%.16s", hex + 48);
        mpc_key_to_z85(z85, seed);
        snprintf(forms[nf++], 48, "%.12s", z85);
        mpc_cwire_req in = {.type = MPC_CW_INPUT, .rid = 2, .mode = MPC_CW_SEED, .count = 2};
        memcpy(in.job, q.job, sizeof in.job);
        strcpy(in.name, names[k]);
        s_rpc(&r[0], &in, seed, MPC_CWIRE_SEED_BYTES, &rep, NULL, 0);
        ck_assert_msg(rep.type == MPC_CW_INPUT_OK, "%s", rep.msg);
        in.mode = MPC_CW_EXPLICIT;
        s_rpc(&r[1], &in, ex[k], 16, &rep, NULL, 0);
        ck_assert_msg(rep.type == MPC_CW_INPUT_OK, "%s", rep.msg);
    }
    /* Fetch both outputs' shares from both daemons; they and the values are secrets too. */
    const char *outs[2] = {"s", "t"};
    for (int o = 0; o < 2; o++) {
        uint64_t sum[2] = {0, 0};
        for (int d = 0; d < 2; d++) {
            mpc_cwire_req res = {.type = MPC_CW_RESULT, .rid = 3, .wait_ms = 3000};
            memcpy(res.job, q.job, sizeof res.job);
            strcpy(res.name, outs[o]);
            uint64_t share[2] = {0, 0};
            for (int tries = 0;; tries++) {
                s_rpc(&r[d], &res, NULL, 0, &rep, share, 2);
                ck_assert_msg(rep.type == MPC_CW_RESULT_OK, "%s", rep.msg);
                if (rep.ready) break;
                ck_assert_int_lt(tries, 300);
                usleep(50 * 1000);
            }
            for (uint64_t i = 0; i < rep.count; i++) {
                s_forms_u64(forms, &nf, share[i]);
                sum[i] += share[i];
            }
        }
        if (o == 0) {
            for (int i = 0; i < 2; i++) {
                ck_assert_uint_eq(sum[i], x[i] * y[i] + x[i]);
                s_forms_u64(forms, &nf, sum[i]);
            }
        } else {
            ck_assert_uint_eq(sum[0], y[0] + y[1]);
            s_forms_u64(forms, &nf, sum[0]);
        }
    }
    s_raw_close(&r[0]);
    s_raw_close(&r[1]);
    free(circ);
    sodium_free(seeds);

    /* The CLI refusing a bad input: its error output must not echo the values either. */
    char cmd[4096], cli_err[512];
    snprintf(cli_err, sizeof cli_err, "%s/cli.err", s_cl.dir);
    snprintf(cmd, sizeof cmd, "printf 'party a, b\\ninput x: int from a\\ninput y: int from b\\noutput s = x + y to a\\n' "
             "> %s/p.mpc; %s/mpc run %s/p.mpc --config %s/client-b.ini --input x=%llu --input y=%llu "
             ">/dev/null 2>%s; %s/mpc run %s/p.mpc --config %s/client.ini --input x=%llu,%llu --input y=1 "
             ">/dev/null 2>>%s",
             s_cl.dir, tp_bin(), s_cl.dir, s_cl.dir, (unsigned long long)x[0], (unsigned long long)y[1], cli_err,
             tp_bin(), s_cl.dir, s_cl.dir, (unsigned long long)x[0], (unsigned long long)x[1], cli_err);
    ck_assert_int_ne(system(cmd), -1);
    static char failed_word[1][48] = {"error"};
    ck_assert(s_file_has_any(cli_err, failed_word, 1) != NULL);   /* it did fail */

    /* Every secret key of the cluster, in Z85 and hex. */
    const char *keys[] = {"a", "b", "dealer", "client", "client_a", "client_b"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char path[512], err[256], z85[41], hex[65];
        mpc_keypair *kp = NULL;
        snprintf(path, sizeof path, "%s/keys/%s.secret", s_cl.dir, keys[i]);
        ck_assert_int_eq(mpc_keys_load_secret(&kp, path, err, sizeof err), 0);
        mpc_key_to_z85(z85, mpc_keypair_secret(kp));
        sodium_bin2hex(hex, sizeof hex, mpc_keypair_secret(kp), 32);
        snprintf(forms[nf++], 48, "%.20s", z85);
        snprintf(forms[nf++], 48, "%.20s", z85 + 20);
        snprintf(forms[nf++], 48, "%.24s", hex);
        mpc_keypair_destroy(&kp);
    }
    ck_assert_int_lt(nf, 512);
    /* Short decimal forms (e.g. the share 3) would match timestamps: keep needles >= 6 chars. */
    int m = 0;
    for (int i = 0; i < nf; i++)
        if (strlen(forms[i]) >= 6) memmove(forms[m++], forms[i], 48);
    const char *logs[] = {"a.log", "b.log", "dealer.log", "cli.err"};
    for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", s_cl.dir, logs[i]);
        const char *hit = s_file_has_any(path, forms, m);
        ck_assert_msg(hit == NULL, "%s contains the secret '%s'", logs[i], hit);
    }
    /* Not vacuous: the logs do talk about this job and its inputs and outputs (at debug level,
     * the most verbose; nothing in mpcd logs at DEBUG yet, so INFO is what there is). */
    char hex[MPC_CWIRE_JOB_HEX + 1], needle[128];
    mpc_cwire_job_hex(q.job, hex);
    snprintf(needle, sizeof needle, "job=%s input 'y' received", hex);
    ck_assert(tc_log_has(&s_cl, "a", needle) && tc_log_has(&s_cl, "b", needle));
    snprintf(needle, sizeof needle, "job=%s output 's' share sent", hex);
    ck_assert(tc_log_has(&s_cl, "a", needle) && tc_log_has(&s_cl, "b", needle));
}
END_TEST

/* --- security = malicious: the authenticated input through raw requests ---------------------- */

/* A 2-party record of 4 and of 1 elements, in words (vcheck.h: (L + 2·64)·8 + 64 + 2·32 bytes). */
#define S_REC4_WORDS ((4 + 2 * 64) + 8 + 8)
#define S_REC1_WORDS ((1 + 2 * 64) + 8 + 8)

static void s_mal_cluster_up(void)
{
    tc_up(&s_cl, 2, "--set mpcd.security=malicious --set limits.peer_timeout_ms=20000 "
                    "--set limits.input_timeout_ms=20000");
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/client.ini", s_cl.dir);
    ck_assert_int_eq(mpc_client_conf_load(path, &s_ccfg, err, sizeof err), 0);
}

/* MASK of input `name` (n elements) at daemon d, until ready (its record in rec, cap words:
 * exactly mpc_vcheck_record_bytes(n, 2) bytes, for the job's 2 parties). */
static void s_mask_ready(raw *r, const uint8_t *job, const char *name, uint64_t n, uint64_t *rec, size_t cap)
{
    mpc_cwire_req mk = {.type = MPC_CW_MASK, .rid = 40, .count = n, .wait_ms = 2000};
    memcpy(mk.job, job, sizeof mk.job);
    strcpy(mk.name, name);
    mpc_cwire_rep rep;
    for (int tries = 0;; tries++) {
        s_rpc(r, &mk, NULL, 0, &rep, rec, cap);
        ck_assert_msg(rep.type == MPC_CW_MASK_OK, "MASK: %s", rep.msg);
        if (rep.ready) break;
        ck_assert_int_lt(tries, 100);
        mk.rid++;
    }
    ck_assert_uint_eq(rep.count, n);
    ck_assert_uint_eq(rep.parties, 2);
    ck_assert_uint_eq(mpc_cwire_rep_payload_len(&rep), cap * 8);
}

/* The two daemons' records of a vector of 4 verify to it; a byte changed in either is refused. */
static void s_verify2(uint64_t rec[2][S_REC4_WORDS], uint64_t v[4])
{
    const uint8_t *rp[2] = {(const uint8_t *)rec[0], (const uint8_t *)rec[1]};
    int why;
    uint32_t who;
    for (int d = 0; d < 2; d++) {
        uint8_t *b = (uint8_t *)rec[d];
        b[d * 8 + 1] ^= 1;   /* a share */
        ck_assert_int_eq(mpc_vcheck_verify(rp, 2, 4, v, &why, &who), MPC_ERR_CRYPTO);
        b[d * 8 + 1] ^= 1;
    }
    ck_assert_int_eq(mpc_vcheck_verify(rp, 2, 4, v, &why, &who), 0);
}

/* A malicious daemon refuses seed-shared inputs and masked vectors out of turn, answers MASK
 * only for the input's length, and the whole protocol by hand gives the right output: the
 * two daemons' mask records verify (vcheck.h) to r, the masked vectors x − r enter, and the
 * checked output's records verify to x·y summed. */
START_TEST(test_malicious_inputs)
{
    raw r[2];
    mpc_cwire_req q;
    mpc_cwire_rep rep;
    uint8_t *circ = s_submit_xy(r, &q, 1);
    uint64_t x[4] = {1, 2, 3, 4}, y[4] = {10, 20, 30, 40}, d4[4] = {0};
    uint8_t *seed = sodium_malloc(MPC_CWIRE_SEED_BYTES);
    randombytes_buf(seed, MPC_CWIRE_SEED_BYTES);
    mpc_cwire_req in = {.type = MPC_CW_INPUT, .rid = 2, .mode = MPC_CW_SEED, .count = 4};
    memcpy(in.job, q.job, sizeof in.job);
    strcpy(in.name, "x");
    s_rpc(&r[0], &in, seed, MPC_CWIRE_SEED_BYTES, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_UNSUPPORTED, "with security = malicious a client input is authenticated");
    in.mode = MPC_CW_MASKED;   /* before the claim */
    s_rpc(&r[0], &in, d4, 4 * 8, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_STATE, "input 'x': a masked input needs the client's MASK first");
    mpc_cwire_req mk = {.type = MPC_CW_MASK, .rid = 3, .count = 5};
    memcpy(mk.job, q.job, sizeof mk.job);
    strcpy(mk.name, "x");
    s_rpc(&r[0], &mk, NULL, 0, &rep, NULL, 0);
    s_expect_error(&rep, MPC_ERR_INPUT, "input 'x' has 5 elements, the program needs 4");
    mk.count = 4;   /* the claim: not ready, y is not claimed yet so the job does not run */
    s_rpc(&r[0], &mk, NULL, 0, &rep, NULL, 0);
    ck_assert_msg(rep.type == MPC_CW_MASK_OK && !rep.ready && rep.count == 0, "claim: %s", rep.msg);
    s_rpc(&r[0], &in, d4, 4 * 8, &rep, NULL, 0);   /* claimed, but the run has not posted its shares */
    s_expect_error(&rep, MPC_ERR_STATE, "waits for no masked input");
    mpc_cwire_req st = {.type = MPC_CW_STATUS, .rid = 9, .has_job = 1};
    memcpy(st.job, q.job, sizeof st.job);
    s_rpc(&r[0], &st, NULL, 0, &rep, NULL, 0);
    ck_assert_int_eq(rep.type, MPC_CW_STATUS_OK);
    ck_assert_uint_eq(rep.job.malicious, 1);
    ck_assert_uint_eq(rep.job.inputs_given, 1);   /* the claim counts */
    /* Claim the rest, then every daemon's shares of both inputs. */
    s_rpc(&r[1], &mk, NULL, 0, &rep, NULL, 0);
    ck_assert_msg(rep.type == MPC_CW_MASK_OK, "%s", rep.msg);
    strcpy(mk.name, "y");
    for (int d = 0; d < 2; d++) {
        s_rpc(&r[d], &mk, NULL, 0, &rep, NULL, 0);
        ck_assert_msg(rep.type == MPC_CW_MASK_OK, "%s", rep.msg);
    }
    const char *names[2] = {"x", "y"};
    const uint64_t *vals[2] = {x, y};
    for (int k = 0; k < 2; k++) {
        uint64_t rec[2][S_REC4_WORDS], rv[4], delta[4];
        for (int d = 0; d < 2; d++) s_mask_ready(&r[d], q.job, names[k], 4, rec[d], S_REC4_WORDS);
        s_verify2(rec, rv);
        for (int i = 0; i < 4; i++) delta[i] = vals[k][i] - rv[i];
        strcpy(in.name, names[k]);
        in.mode = MPC_CW_MASKED;
        s_rpc(&r[0], &in, delta, 3 * 8, &rep, NULL, 0);   /* a payload unlike its header */
        s_expect_error(&rep, MPC_ERR_PROTOCOL, "payload of 24 bytes, header announces 32");
        for (int d = 0; d < 2; d++) {
            s_rpc(&r[d], &in, delta, 4 * 8, &rep, NULL, 0);
            ck_assert_msg(rep.type == MPC_CW_INPUT_OK, "masked %s: %s", names[k], rep.msg);
        }
        s_rpc(&r[0], &in, delta, 4 * 8, &rep, NULL, 0);   /* once */
        s_expect_error(&rep, MPC_ERR_STATE, "was already given");
    }
    /* The checked output (one element): both daemons' records, verified together. */
    mpc_cwire_req res = {.type = MPC_CW_RESULT, .rid = 50, .wait_ms = 2000};
    memcpy(res.job, q.job, sizeof res.job);
    strcpy(res.name, "s");
    uint64_t orec[2][S_REC1_WORDS], sum = 0;
    for (int d = 0; d < 2; d++)
        for (int tries = 0;; tries++) {
            s_rpc(&r[d], &res, NULL, 0, &rep, orec[d], S_REC1_WORDS);
            ck_assert_msg(rep.type == MPC_CW_RESULT_OK, "result: %s", rep.msg);
            if (rep.ready) {
                ck_assert_uint_eq(rep.checked, 1);
                ck_assert_uint_eq(rep.parties, 2);
                ck_assert_uint_eq(mpc_cwire_rep_payload_len(&rep), sizeof orec[d]);
                break;
            }
            ck_assert_int_lt(tries, 100);
            res.rid++;
        }
    const uint8_t *op[2] = {(const uint8_t *)orec[0], (const uint8_t *)orec[1]};
    int why;
    uint32_t who;
    ck_assert_int_eq(mpc_vcheck_verify(op, 2, 1, &sum, &why, &who), 0);
    ck_assert_uint_eq(sum, 300);   /* 10 + 40 + 90 + 160 */
    ((uint8_t *)orec[1])[0] ^= 0x80;   /* a changed share: its report does not open its commitment */
    ck_assert_int_eq(mpc_vcheck_verify(op, 2, 1, &sum, &why, &who), MPC_ERR_CRYPTO);
    ck_assert_int_eq(why, 2);
    ck_assert_uint_eq(who, 1);
    sodium_free(seed);
    s_raw_close(&r[0]);
    s_raw_close(&r[1]);
    free(circ);
    tc_assert_alive(&s_cl, "a daemon died");
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("hostile_client");
    TCase *tc = tcase_create("cluster");
    tcase_add_unchecked_fixture(tc, s_cluster_up, s_cluster_down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_garbage_frames_refused);
    tcase_add_test(tc, test_oversize_frame_dropped);
    tcase_add_test(tc, test_unknown_client_key_refused);
    tcase_add_test(tc, test_circuit_over_limits_refused);
    tcase_add_test(tc, test_bad_inputs_refused);
    tcase_add_test(tc, test_peer_garbage_refused);
    tcase_add_test(tc, test_peer_unknown_key_refused);
    tcase_add_test(tc, test_secrets_not_logged);
    suite_add_tcase(s, tc);
    TCase *tm = tcase_create("malicious");
    tcase_add_unchecked_fixture(tm, s_mal_cluster_up, s_cluster_down);
    tcase_set_timeout(tm, 120);
    tcase_add_test(tm, test_malicious_inputs);
    suite_add_tcase(s, tm);
    return s;
}

