/* check_zmq_chunks.c — payloads longer than MPC_ZMQ_CHUNK_BYTES travel as several frames
 * (transport_zmq.c, docs/transport.md "Framing"): delivered intact directly and from the
 * hold, zero-copy sends release their buffer exactly once, and a peer whose frames do not
 * follow the chunking rule is refused on that stream. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "runner.h"
#include "keys.h"
#include "clock.h"
#include "mpc_err.h"
#include "transport_zmq.h"
#include "wire.h"

typedef struct {
    mpc_keypair *k[2];
    mpc_transport *t[2];
} s_pair;

static void s_pair_up(s_pair *m)
{
    for (int i = 0; i < 2; i++) ck_assert_ptr_nonnull(m->k[i] = mpc_keypair_new());
    for (int i = 0; i < 2; i++) {
        mpc_zmq_config c;
        mpc_zmq_config_init(&c);
        c.self = (uint32_t)i;
        c.n = 2;
        c.bind = "tcp://127.0.0.1:*";
        c.keys = m->k[i];
        c.timeout_ms = 10000;
        memcpy(c.peer_public[1 - i], mpc_keypair_public(m->k[1 - i]), MPC_KEY_BYTES);
        char err[256];
        ck_assert_msg(mpc_transport_zmq_new(&m->t[i], &c, err, sizeof err) == 0, "new: %s", err);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(mpc_transport_zmq_connect_peer(m->t[i], (uint32_t)(1 - i),
                                                        mpc_transport_zmq_endpoint(m->t[1 - i])), 0);
    int64_t until = (int64_t)mpc_now_ms() + 15000;
    for (;;) {
        int ok = 1;
        for (int i = 0; i < 2; i++)
            if (mpc_transport_zmq_ready(m->t[i], 20) != 0) ok = 0;
        if (ok) break;
        ck_assert_msg((int64_t)mpc_now_ms() < until, "not ready: %s", mpc_transport_zmq_last_error(m->t[0]));
    }
}

static void s_pair_down(s_pair *m)
{
    for (int i = 0; i < 2; i++) {
        mpc_transport_destroy(&m->t[i]);
        mpc_keypair_destroy(&m->k[i]);
    }
}

static void s_fill(uint64_t *v, uint64_t n, uint64_t salt)
{
    for (uint64_t i = 0; i < n; i++) v[i] = (i + salt) * 0x9e3779b97f4a7c15ull;
}

static int s_freed;
static void s_free_count(void *data, void *hint)
{
    (void)hint;
    __atomic_add_fetch(&s_freed, 1, __ATOMIC_SEQ_CST);
    free(data);
}

START_TEST(test_multi_frame_payloads_direct_held_and_owned)
{
    s_pair m;
    s_pair_up(&m);
    const uint64_t C = MPC_ZMQ_CHUNK_BYTES / 8;
    /* sizes around the chunk boundary: one frame, exactly one chunk, one word more, several */
    const uint64_t sizes[] = {C - 1, C, C + 1, 3 * C + 5};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint64_t n = sizes[k];
        uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *out = malloc(n * 8);
        ck_assert(a && b && out);
        s_fill(a, n, 10 * k + 1);
        s_fill(b, n, 10 * k + 2);
        /* stream 100+k first, then 200+k; receiving 200+k first holds the other */
        ck_assert_int_eq(mpc_send(m.t[0], 1, MPC_MSG_OPEN, 100 + k, 7, a, n), 0);
        uint64_t *owned = malloc(n * 8);
        ck_assert_ptr_nonnull(owned);
        memcpy(owned, b, n * 8);
        s_freed = 0;
        ck_assert_int_eq(mpc_transport_zmq_send_owned(m.t[0], 1, MPC_MSG_OPEN, 200 + k, 8, owned, n,
                                                      s_free_count, NULL), 0);
        ck_assert_int_eq(mpc_recv(m.t[1], 0, MPC_MSG_OPEN, 200 + k, 8, out, n, 10000), 0);
        ck_assert_int_eq(memcmp(out, b, n * 8), 0);
        mpc_zmq_stats st;
        mpc_transport_zmq_stats(m.t[1], &st);
        ck_assert_uint_eq(st.held_msgs, 1);
        ck_assert_uint_eq(st.held_bytes, n * 8);
        ck_assert_int_eq(mpc_recv(m.t[1], 0, MPC_MSG_OPEN, 100 + k, 7, out, n, 10000), 0);
        ck_assert_int_eq(memcmp(out, a, n * 8), 0);
        mpc_transport_zmq_stats(m.t[1], &st);
        ck_assert_uint_eq(st.held_msgs, 0);
        ck_assert_uint_eq(st.held_bytes, 0);
        /* the owned buffer is released exactly once, once ZeroMQ is done with every frame */
        int64_t until = (int64_t)mpc_now_ms() + 5000;
        while (__atomic_load_n(&s_freed, __ATOMIC_SEQ_CST) == 0 && (int64_t)mpc_now_ms() < until) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        ck_assert_int_eq(__atomic_load_n(&s_freed, __ATOMIC_SEQ_CST), 1);
        ck_assert_uint_eq(m.t[0]->bytes_sent >= 2 * n * 8, 1);
        free(a);
        free(b);
        free(out);
    }
    s_pair_down(&m);
}
END_TEST

/* A raw CURVE DEALER in the role of party 1: sends frames our transport never would. */
static void *s_raw(void *ctx, const s_pair *m, mpc_keypair *as)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(s);
    int zero = 0;
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero), 0);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, mpc_keypair_public(m->k[0]), 32), 0);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, mpc_keypair_public(as), 32), 0);
    ck_assert_int_eq(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, mpc_keypair_secret(as), 32), 0);
    ck_assert_int_eq(zmq_connect(s, mpc_transport_zmq_endpoint(m->t[0])), 0);
    return s;
}

static void s_send_frames(void *s, uint64_t stream, uint64_t count, const size_t *lens, int nf,
                          const uint8_t *buf)
{
    mpc_msg_hdr h = {.version = MPC_WIRE_VERSION, .type = MPC_MSG_OPEN, .stream = stream, .seq = 0,
                     .sender = 1, .count = count};
    uint8_t hb[MPC_WIRE_HDR_MAX];
    size_t hl;
    ck_assert_int_eq(mpc_wire_hdr_encode(hb, sizeof hb, &hl, &h), 0);
    ck_assert_int_eq(zmq_send(s, hb, hl, ZMQ_SNDMORE), (int)hl);
    size_t off = 0;
    for (int i = 0; i < nf; i++) {
        ck_assert_int_eq(zmq_send(s, buf + off, lens[i], i + 1 < nf ? ZMQ_SNDMORE : 0), (int)lens[i]);
        off += lens[i];
    }
}

START_TEST(test_frames_off_the_chunking_rule_refused)
{
    s_pair m;
    s_pair_up(&m);
    void *ctx = zmq_ctx_new();
    void *raw = s_raw(ctx, &m, m.k[1]);
    const size_t C = MPC_ZMQ_CHUNK_BYTES;
    uint8_t *buf = calloc(1, 4 * C);
    uint64_t *out = malloc(4 * C);
    ck_assert(buf && out);
    uint64_t count = (2 * C + 64) / 8;
    /* right total, wrong split: half a chunk, then the rest */
    size_t bad1[2] = {C / 2, 2 * C + 64 - C / 2};
    s_send_frames(raw, 30, count, bad1, 2, buf);
    ck_assert_int_eq(mpc_recv(m.t[0], 1, MPC_MSG_OPEN, 30, 0, out, count, 5000), MPC_ERR_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(mpc_transport_zmq_last_error(m.t[0]), "frame"));
    /* the whole payload in one frame longer than a chunk */
    size_t bad2[1] = {2 * C + 64};
    s_send_frames(raw, 31, count, bad2, 1, buf);
    ck_assert_int_eq(mpc_recv(m.t[0], 1, MPC_MSG_OPEN, 31, 0, out, count, 5000), MPC_ERR_PROTOCOL);
    /* one frame too many (an empty one at the end) */
    size_t bad3[4] = {C, C, 64, 0};
    s_send_frames(raw, 32, count, bad3, 4, buf);
    ck_assert_int_eq(mpc_recv(m.t[0], 1, MPC_MSG_OPEN, 32, 0, out, count, 5000), MPC_ERR_PROTOCOL);
    /* and the rule followed: accepted, other streams unaffected */
    size_t good[3] = {C, C, 64};
    for (size_t i = 0; i < 2 * C + 64; i++) buf[i] = (uint8_t)(i * 7 + 3);
    s_send_frames(raw, 33, count, good, 3, buf);
    ck_assert_int_eq(mpc_recv(m.t[0], 1, MPC_MSG_OPEN, 33, 0, out, count, 5000), 0);
    ck_assert_int_eq(memcmp(out, buf, 2 * C + 64), 0);
    mpc_zmq_stats st;
    mpc_transport_zmq_stats(m.t[0], &st);
    ck_assert_uint_eq(st.malformed, 3);
    free(buf);
    free(out);
    zmq_close(raw);
    zmq_ctx_term(ctx);
    s_pair_down(&m);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("zmq_chunks");
    TCase *tc = tcase_create("chunks");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_multi_frame_payloads_direct_held_and_owned);
    tcase_add_test(tc, test_frames_off_the_chunking_rule_refused);
    suite_add_tcase(s, tc);
    return s;
}

