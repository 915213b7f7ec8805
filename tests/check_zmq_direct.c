/* check_zmq_direct.c — direct lanes of the ZeroMQ transport (docs/transport.md, "Direct lanes"):
 * every message on the lanes, large ones in part frames; small messages on the lanes and large
 * ones through ZeroMQ (direct_max_bytes) keep their order on every stream;
 * a stranger connecting to a listener is refused and the lanes still come up; a frame changed
 * on the way fails the lane (it is never delivered) and the transport carries on over ZeroMQ;
 * lanes are set up only before stream traffic; three threads per party on streams of their
 * own share the lanes.  Parties run in threads of this process, their lanes on Unix sockets in
 * a fresh directory (party 0 to 1 through a relay socket there in the tampering test).  Every
 * ZeroMQ context is created inside its test, after Check's fork. */
#include <check.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sodium.h>
#include <unistd.h>

#include "runner.h"
#include "clock.h"
#include "mpc_err.h"
#include "transport_zmq.h"

#define S_N 3

typedef struct {
    uint32_t n;
    char dir[48];
    char ep[S_N][128];
    const char *via[S_N][S_N];   /* [i][j]: the endpoint i uses for j's lane, NULL: j's own */
    uint64_t direct_max;         /* mpc_zmq_config.direct_max_bytes (0: every message on the lanes) */
    uint64_t max_msg[S_N];       /* mpc_zmq_config.max_msg_bytes per party (0: the default) */
    mpc_keypair *k[S_N];
    mpc_transport *t[S_N];
} s_mesh;

static void s_tmpdir(s_mesh *m)
{
    snprintf(m->dir, sizeof m->dir, "/tmp/check_zmq_direct.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(m->dir));
}

/* Removes what a test may have left in its directory (the listeners unlink their sockets). */
static void s_rmdir(s_mesh *m)
{
    const char *names[] = {"lane0", "lane1", "lane2", "relay"};
    for (int i = 0; i < 4; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s/%s", m->dir, names[i]);
        (void)unlink(p);
    }
    ck_assert_int_eq(rmdir(m->dir), 0);
}

static void s_mesh_new(s_mesh *m, uint32_t n)
{
    m->n = n;
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(m->k[i] = mpc_keypair_new());
        snprintf(m->ep[i], sizeof m->ep[i], "ipc://%s/lane%u", m->dir, i);
    }
    for (uint32_t i = 0; i < n; i++) {
        mpc_zmq_config c;
        mpc_zmq_config_init(&c);
        c.self = i;
        c.n = n;
        c.bind = "tcp://127.0.0.1:*";
        c.keys = m->k[i];
        c.timeout_ms = 10000;
        c.direct_bind = m->ep[i];
        c.direct_max_bytes = m->direct_max;
        c.max_msg_bytes = m->max_msg[i];
        for (uint32_t j = 0; j < n; j++)
            if (j != i) {
                memcpy(c.peer_public[j], mpc_keypair_public(m->k[j]), MPC_KEY_BYTES);
                c.peer_direct[j] = m->via[i][j] ? m->via[i][j] : m->ep[j];
            }
        char err[256];
        ck_assert_msg(mpc_transport_zmq_new(&m->t[i], &c, err, sizeof err) == 0, "new: %s", err);
    }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < n; j++)
            if (i != j)
                ck_assert_int_eq(mpc_transport_zmq_connect_peer(m->t[i], j, mpc_transport_zmq_endpoint(m->t[j])), 0);
}

/* Destroys the parties and removes the test's directory. */
static void s_mesh_down(s_mesh *m)
{
    for (uint32_t i = 0; i < m->n; i++) {
        mpc_transport_destroy(&m->t[i]);
        mpc_keypair_destroy(&m->k[i]);
    }
    s_rmdir(m);
}

static uint64_t s_val(uint32_t from, uint32_t to, uint64_t seq, uint64_t i)
{
    return (uint64_t)from << 56 ^ (uint64_t)to << 48 ^ seq << 24 ^ i ^ 0x9e3779b97f4a7c15ull * (i + 1);
}

/* Words of message seq: small (on a lane) and large (ZeroMQ) mixed, two small after each large. */
static uint64_t s_count(uint64_t seq)
{
    return seq % 3 == 0 ? 600 + seq * 97 % 30000 : 1 + seq * 31 % 512;
}

typedef struct {
    mpc_transport *t;
    int rc, direct_rc, setup;   /* setup: ready and direct first (else only the rounds) */
    uint64_t stream;
    char err[512];
} s_party;

static void *s_party_main(void *arg)
{
    s_party *p = arg;
    mpc_transport *t = p->t;
    uint32_t me = t->self, n = t->n;
    uint64_t *buf = malloc(40000 * 8), *got = malloc(40000 * 8), st = p->stream;
    int rc = buf && got ? 0 : MPC_ERR_NOMEM;
    if (!rc && p->setup) rc = mpc_transport_zmq_ready(t, 15000);
    if (!rc && p->setup) p->direct_rc = mpc_transport_zmq_direct(t, 15000);
    /* Rounds of two messages per peer sent back to back (the second often small behind a large
     * first: the ordering case), then both received and checked. */
    for (uint64_t seq = 0; seq < 120 && !rc; seq += 2) {
        for (uint32_t j = 0; j < n && !rc; j++) {
            if (j == me) continue;
            for (uint64_t s = seq; s < seq + 2 && !rc; s++) {
                for (uint64_t i = 0; i < s_count(s); i++) buf[i] = s_val(me, j, s, i);
                rc = mpc_send(t, j, MPC_MSG_OPEN, st, s, buf, s_count(s));
            }
        }
        for (uint32_t j = 0; j < n && !rc; j++) {
            if (j == me) continue;
            for (uint64_t s = seq; s < seq + 2 && !rc; s++) {
                rc = mpc_recv(t, j, MPC_MSG_OPEN, st, s, got, s_count(s), 15000);
                for (uint64_t i = 0; !rc && i < s_count(s); i++)
                    if (got[i] != s_val(j, me, s, i)) rc = -100;
            }
        }
    }
    /* a last exchange so that nobody tears down before its peers have read everything */
    for (uint32_t j = 0; j < n && !rc; j++)
        if (j != me) rc = mpc_send(t, j, MPC_MSG_CONTROL, st + 1000, 0, NULL, 0);
    for (uint32_t j = 0; j < n && !rc; j++)
        if (j != me) rc = mpc_recv(t, j, MPC_MSG_CONTROL, st + 1000, 0, NULL, 0, 15000);
    p->rc = rc;
    if (rc) snprintf(p->err, sizeof p->err, "%s", mpc_transport_zmq_last_error(t));
    free(buf);
    free(got);
    return NULL;
}

static void s_run_parties(s_mesh *m, s_party *p)
{
    pthread_t th[S_N];
    for (uint32_t i = 0; i < m->n; i++) {
        p[i] = (s_party){.t = m->t[i], .setup = 1, .stream = 40};
        ck_assert_int_eq(pthread_create(&th[i], NULL, s_party_main, &p[i]), 0);
    }
    for (uint32_t i = 0; i < m->n; i++) pthread_join(th[i], NULL);
}

/* A mesh of n parties (m's other fields as set) whose lanes are up, one round of messages done. */
static void s_mesh_lanes_up(s_mesh *m, uint32_t n, s_party *p)
{
    s_tmpdir(m);
    s_mesh_new(m, n);
    s_run_parties(m, p);
    for (uint32_t i = 0; i < n; i++) ck_assert_msg(p[i].direct_rc == 0 && p[i].rc == 0, "party %u: %s", i, p[i].err);
}

/* The mixed-size rounds between 3 parties with direct_max_bytes = direct_max; every value is
 * checked, and `on_lanes` of each party's 2 x 121 messages went on its lanes. */
static void s_rounds_case(uint64_t direct_max, uint64_t on_lanes)
{
    s_mesh m = {.direct_max = direct_max};
    s_tmpdir(&m);
    s_mesh_new(&m, 3);
    s_party p[S_N];
    s_run_parties(&m, p);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_msg(p[i].direct_rc == 0, "party %u: direct: %s", i, mpc_transport_zmq_last_error(m.t[i]));
        ck_assert_msg(p[i].rc == 0, "party %u: %d %s", i, p[i].rc, p[i].err);
        mpc_zmq_stats st;
        mpc_transport_zmq_stats(m.t[i], &st);
        ck_assert_uint_eq(st.direct_lanes, 2);
        ck_assert_uint_eq(st.direct_failures, 0);
        ck_assert_uint_eq(st.direct_sent, on_lanes);
        ck_assert_uint_eq(st.direct_recv, on_lanes);
        ck_assert_uint_eq(m.t[i]->msgs_sent, 2 * 121);
    }
    s_mesh_down(&m);
}

/* Messages of up to 4 KiB on the lanes, larger ones through ZeroMQ (direct_max_bytes): the
 * order across the two paths.  2 peers x 120 messages, 80 of them small, plus the closing
 * empty message, on the lanes. */
START_TEST(test_lanes_keep_the_order_of_mixed_sizes)
{
    s_rounds_case(4096, 2 * 81);
}
END_TEST

/* By default every message takes the lane: the large ones (up to 240 KiB here) in part frames
 * of 64 KiB after their header's frame. */
START_TEST(test_large_messages_on_the_lanes)
{
    s_rounds_case(0, 2 * 121);
}
END_TEST

/* Parties 0 and 1 each send the other 4 messages of 2 MB before either receives: far more than
 * the sockets hold, so each sender must read what the other sends while it waits for room
 * (a lane written by both ends at once must not block both).  Every value checked. */
enum { S_BULK = 262144, S_BULK_N = 4 };

static void *s_bulk_main(void *arg)
{
    s_party *p = arg;
    mpc_transport *t = p->t;
    uint32_t me = t->self, peer = 1 - me;
    uint64_t *buf = malloc(S_BULK * 8), *got = malloc(S_BULK * 8);
    int rc = buf && got ? 0 : MPC_ERR_NOMEM;
    for (uint64_t s = 0; s < S_BULK_N && !rc; s++) {
        for (uint64_t i = 0; i < S_BULK; i++) buf[i] = s_val(me, peer, s, i);
        rc = mpc_send(t, peer, MPC_MSG_OPEN, 90, s, buf, S_BULK);
    }
    for (uint64_t s = 0; s < S_BULK_N && !rc; s++) {
        rc = mpc_recv(t, peer, MPC_MSG_OPEN, 90, s, got, S_BULK, 15000);
        for (uint64_t i = 0; !rc && i < S_BULK; i++)
            if (got[i] != s_val(peer, me, s, i)) rc = -100;
    }
    p->rc = rc;
    if (rc) snprintf(p->err, sizeof p->err, "%s", mpc_transport_zmq_last_error(t));
    free(buf);
    free(got);
    return NULL;
}

START_TEST(test_both_ends_write_at_once)
{
    s_mesh m = {0};
    s_party p[S_N];
    s_mesh_lanes_up(&m, 2, p);
    pthread_t th[2];
    for (uint32_t i = 0; i < 2; i++) {
        p[i] = (s_party){.t = m.t[i]};
        ck_assert_int_eq(pthread_create(&th[i], NULL, s_bulk_main, &p[i]), 0);
    }
    for (uint32_t i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_msg(p[i].rc == 0, "party %u: %d %s", i, p[i].rc, p[i].err);
        mpc_zmq_stats st;
        mpc_transport_zmq_stats(m.t[i], &st);
        ck_assert_uint_eq(st.direct_failures, 0);
        ck_assert_uint_eq(st.direct_sent, 121 + S_BULK_N);
    }
    s_mesh_down(&m);
}
END_TEST

/* The same rounds from 3 threads per party at once, each on a stream of its own (the lanes are
 * written by several threads and read by whichever holds the reader token). */
START_TEST(test_lanes_under_concurrent_threads)
{
    s_mesh m = {0};
    s_party p[S_N];
    s_mesh_lanes_up(&m, 3, p);
    enum { K = 3 };
    s_party q[S_N][K];
    pthread_t th[S_N][K];
    for (uint32_t i = 0; i < 3; i++)
        for (int k = 0; k < K; k++) {
            q[i][k] = (s_party){.t = m.t[i], .stream = 70 + (uint64_t)k};
            ck_assert_int_eq(pthread_create(&th[i][k], NULL, s_party_main, &q[i][k]), 0);
        }
    for (uint32_t i = 0; i < 3; i++)
        for (int k = 0; k < K; k++) pthread_join(th[i][k], NULL);
    for (uint32_t i = 0; i < 3; i++) {
        for (int k = 0; k < K; k++) ck_assert_msg(q[i][k].rc == 0, "party %u thread %d: %d %s", i, k, q[i][k].rc, q[i][k].err);
        mpc_zmq_stats st;
        mpc_transport_zmq_stats(m.t[i], &st);
        ck_assert_uint_eq(st.direct_lanes, 2);
        ck_assert_uint_eq(st.direct_failures, 0);
        ck_assert_uint_eq(st.direct_sent, (1 + K) * 2 * 121);
        ck_assert_uint_eq(st.direct_recv, (1 + K) * 2 * 121);
    }
    s_mesh_down(&m);
}
END_TEST

/* A stranger connects to party 1's listener first and sends a hello with an unknown key. */
static void *s_stranger_main(void *arg)
{
    const char *path = arg;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    for (int i = 0; i < 200 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0; i++) usleep(5000);
    uint8_t m1[74] = "mpcdDL02";
    m1[8] = 0;
    m1[9] = 1;
    randombytes_buf(m1 + 10, 64);
    ck_assert_int_eq(write(fd, m1, sizeof m1), (ssize_t)sizeof m1);
    uint8_t b[64];
    /* party 1 closes the connection without an answer */
    struct pollfd pf = {fd, POLLIN, 0};
    ck_assert_int_eq(poll(&pf, 1, 5000), 1);
    ck_assert_int_le(read(fd, b, sizeof b), 0);
    close(fd);
    return NULL;
}

START_TEST(test_stranger_refused_lanes_still_come_up)
{
    s_mesh m = {0};
    s_tmpdir(&m);
    s_mesh_new(&m, 2);
    pthread_t st;
    ck_assert_int_eq(pthread_create(&st, NULL, s_stranger_main, m.ep[1] + 6), 0);
    usleep(100000);   /* connected first: it waits in the backlog until party 1 sets up its lanes */
    s_party p[S_N];
    s_run_parties(&m, p);
    pthread_join(st, NULL);
    for (uint32_t i = 0; i < 2; i++) {
        ck_assert_msg(p[i].direct_rc == 0 && p[i].rc == 0, "party %u: %s", i, p[i].err);
        mpc_zmq_stats s;
        mpc_transport_zmq_stats(m.t[i], &s);
        ck_assert_uint_eq(s.direct_lanes, 1);
        ck_assert_uint_eq(s.direct_refused, i == 1 ? 1 : 0);
    }
    s_mesh_down(&m);
}
END_TEST

/* A relay between party 0 and party 1's listener that flips one bit of what party 0 sends, at
 * byte flip_at of its stream (the first 74 + 16 bytes are its handshake, frames follow). */
typedef struct {
    int lfd;
    const char *to;
    uint64_t flip_at;
    volatile int stop;
} s_relay;

static void *s_relay_main(void *arg)
{
    s_relay *r = arg;
    int a = accept(r->lfd, NULL, NULL);
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    snprintf(u.sun_path, sizeof u.sun_path, "%s", r->to);
    int b = socket(AF_UNIX, SOCK_STREAM, 0);
    if (a < 0 || connect(b, (struct sockaddr *)&u, sizeof u) != 0) return NULL;
    uint64_t from_a = 0;
    int flipped = 0;
    while (!r->stop) {
        struct pollfd pf[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        if (poll(pf, 2, 50) <= 0) continue;
        uint8_t buf[8192];
        for (int k = 0; k < 2; k++) {
            if (!(pf[k].revents & (POLLIN | POLLHUP))) continue;
            ssize_t g = read(pf[k].fd, buf, sizeof buf);
            if (g <= 0) {
                r->stop = 1;
                break;
            }
            if (k == 0) {
                if (!flipped && from_a + (uint64_t)g > r->flip_at) {
                    buf[r->flip_at - from_a] ^= 1;
                    flipped = 1;
                }
                from_a += (uint64_t)g;
            }
            if (write(k == 0 ? b : a, buf, (size_t)g) != g) r->stop = 1;
        }
    }
    close(a);
    close(b);
    return NULL;
}

/* A party of test_fast_rounds_leave_zeromq_its_turn: dependent rounds of two words between
 * parties 0 and 1 on one stream (each waits for the peer's word before sending the next), so
 * that every wait may take a lane's fast path (s_lane_fast). */
typedef struct {
    mpc_transport *t;
    int rc;
    uint64_t rounds;
    atomic_int *done;   /* set once the rounds are over */
    char err[256];
} s_pp;

enum { S_BIG = 40000 };

static void *s_pp_main(void *arg)
{
    s_pp *p = arg;
    uint32_t me = p->t->self, peer = 1 - me;
    int rc = 0;
    for (uint64_t k = 0; k < p->rounds && !rc; k++) {
        uint64_t w[2] = {s_val(me, peer, k, 0), k}, g[2];
        rc = mpc_send(p->t, peer, MPC_MSG_OPEN, 60, k, w, 2);
        if (!rc) rc = mpc_recv(p->t, peer, MPC_MSG_OPEN, 60, k, g, 2, 15000);
        if (!rc && (g[0] != s_val(peer, me, k, 0) || g[1] != k)) rc = -100;
    }
    if (rc) snprintf(p->err, sizeof p->err, "%d %s", rc, mpc_transport_zmq_last_error(p->t));
    p->rc = rc;
    if (me == 0) atomic_store(p->done, 1);
    return NULL;
}

/* Party 2 sends a large message (ZeroMQ) to party 0 once the rounds are under way; a second
 * thread of party 0 waits for it. */
typedef struct {
    mpc_transport *t0, *t2;
    int rc, during;   /* during: it came while party 0's rounds were still going */
    atomic_int *done;
} s_big;

static void *s_big_main(void *arg)
{
    s_big *b = arg;
    uint64_t *buf = calloc(S_BIG, 8), *got = calloc(S_BIG, 8);
    b->rc = buf && got ? 0 : MPC_ERR_NOMEM;
    usleep(50 * 1000);
    for (uint64_t i = 0; buf && i < S_BIG; i++) buf[i] = s_val(2, 0, 7, i);
    if (!b->rc) b->rc = mpc_send(b->t2, 0, MPC_MSG_OPEN, 77, 0, buf, S_BIG);
    if (!b->rc) b->rc = mpc_recv(b->t0, 2, MPC_MSG_OPEN, 77, 0, got, S_BIG, 30000);
    b->during = !atomic_load(b->done);
    for (uint64_t i = 0; !b->rc && i < S_BIG; i++)
        if (got[i] != s_val(2, 0, 7, i)) b->rc = -100;
    free(buf);
    free(got);
    return NULL;
}

/* While parties 0 and 1 run dependent small rounds over their lane, waits spin on the lane and
 * read it without zmq_poll (direct_fast counts them; every value is checked); party 0's ZeroMQ
 * side (here a large message from party 2 that another thread waits for) still gets its turn,
 * so the message arrives while the rounds go on.  On 2 busy cores enough spins miss for the
 * slow path to run often anyway; the S_FAST_MAX_MS bound is what guarantees it on a quiet
 * machine where every spin hits. */
START_TEST(test_fast_rounds_leave_zeromq_its_turn)
{
    s_mesh m = {0};
    s_party p[S_N];
    s_mesh_lanes_up(&m, 3, p);
    atomic_int done = 0;
    s_pp pp[2];
    s_big big = {.t0 = m.t[0], .t2 = m.t[2], .done = &done};
    pthread_t th[3];
    for (uint32_t i = 0; i < 2; i++) {
        pp[i] = (s_pp){.t = m.t[i], .rounds = 20000, .done = &done};
        ck_assert_int_eq(pthread_create(&th[i], NULL, s_pp_main, &pp[i]), 0);
    }
    ck_assert_int_eq(pthread_create(&th[2], NULL, s_big_main, &big), 0);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    for (uint32_t i = 0; i < 2; i++) ck_assert_msg(pp[i].rc == 0, "party %u: %s", i, pp[i].err);
    ck_assert_msg(big.rc == 0, "the large message: %d %s", big.rc, mpc_transport_zmq_last_error(m.t[0]));
    ck_assert_msg(big.during, "the large message waited for the end of 20,000 fast rounds");
    for (uint32_t i = 0; i < 2; i++) {
        mpc_zmq_stats st;
        mpc_transport_zmq_stats(m.t[i], &st);
        ck_assert_uint_eq(st.direct_failures, 0);
        ck_assert_msg(st.direct_fast > 0, "party %u: no wait took the fast path", i);
        ck_assert_uint_le(st.direct_fast, st.direct_recv);
    }
    s_mesh_down(&m);
}
END_TEST

/* Round-robin hello exchange of two parties from one thread. */
static void s_ready2(s_mesh *m)
{
    int64_t until = (int64_t)mpc_now_ms() + 15000;
    for (;;) {
        int a = mpc_transport_zmq_ready(m->t[0], 20), b = mpc_transport_zmq_ready(m->t[1], 20);
        if (!a && !b) return;
        ck_assert_msg((int64_t)mpc_now_ms() < until, "not ready: %s", mpc_transport_zmq_last_error(m->t[0]));
    }
}

typedef struct {
    mpc_transport *t;
    int rc;
} s_dargs;

static void *s_direct_main(void *arg)
{
    s_dargs *d = arg;
    d->rc = mpc_transport_zmq_direct(d->t, 10000);
    return NULL;
}

/* Party 1 accepts at most 64 KiB per message, party 0 sends it a larger one on the lane: party
 * 1's recv of that stream fails with MPC_ERR_LIMIT (as on ZeroMQ), the message's parts are read
 * and dropped, and the lane carries the next messages both ways. */
START_TEST(test_large_message_over_the_limit_is_refused_the_lane_goes_on)
{
    s_mesh m = {.max_msg = {0, 65536}};
    s_tmpdir(&m);
    s_mesh_new(&m, 2);
    s_ready2(&m);
    pthread_t dt;
    s_dargs d1 = {m.t[1], -1};
    ck_assert_int_eq(pthread_create(&dt, NULL, s_direct_main, &d1), 0);
    ck_assert_int_eq(mpc_transport_zmq_direct(m.t[0], 10000), 0);
    pthread_join(dt, NULL);
    ck_assert_int_eq(d1.rc, 0);
    for (int k = 0; k < 10; k++) (void)mpc_transport_zmq_service(m.t[1], 20);   /* LANE_SYNCs */
    enum { BIG = 20000 };   /* 160,000 bytes: a header frame and 3 parts */
    uint64_t *big = calloc(BIG, 8), *got = calloc(BIG, 8), v, w = 0;
    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_nonnull(got);
    for (uint64_t i = 0; i < BIG; i++) big[i] = s_val(0, 1, 3, i);
    ck_assert_int_eq(mpc_send(m.t[0], 1, MPC_MSG_OPEN, 60, 0, big, BIG), 0);
    v = 77;
    ck_assert_int_eq(mpc_send(m.t[0], 1, MPC_MSG_OPEN, 61, 0, &v, 1), 0);
    /* party 1 cannot even ask for so large a message; it waits for its stream */
    ck_assert_int_eq(mpc_recv(m.t[1], 0, MPC_MSG_OPEN, 60, 0, got, 1, 5000), MPC_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(mpc_transport_zmq_last_error(m.t[1]), "size limit"));
    ck_assert_int_eq(mpc_recv(m.t[1], 0, MPC_MSG_OPEN, 61, 0, &w, 1, 5000), 0);
    ck_assert_uint_eq(w, 77);
    v = 78;
    ck_assert_int_eq(mpc_send(m.t[1], 0, MPC_MSG_OPEN, 62, 0, &v, 1), 0);
    ck_assert_int_eq(mpc_recv(m.t[0], 1, MPC_MSG_OPEN, 62, 0, &w, 1, 5000), 0);
    ck_assert_uint_eq(w, 78);
    for (uint32_t i = 0; i < 2; i++) {
        mpc_zmq_stats st;
        mpc_transport_zmq_stats(m.t[i], &st);
        ck_assert_uint_eq(st.direct_failures, 0);
        ck_assert_uint_eq(st.direct_lanes, 1);
        ck_assert_uint_eq(st.direct_sent, i == 0 ? 2 : 1);   /* the refused message too went on the lane */
    }
    free(big);
    free(got);
    s_mesh_down(&m);
}
END_TEST

/* Party 0's first message to party 1 (count words) goes through a relay that flips the bit at
 * byte flip_at of party 0's lane stream: party 1 never delivers the message, its recv fails
 * naming the peer, and the next streams work both ways over ZeroMQ. */
static void s_tamper_case(uint64_t flip_at, uint64_t count)
{
    s_mesh m = {0};
    s_tmpdir(&m);
    char relay_ep[96];
    snprintf(relay_ep, sizeof relay_ep, "ipc://%s/relay", m.dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    snprintf(u.sun_path, sizeof u.sun_path, "%s", relay_ep + 6);
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&u, sizeof u), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    m.via[0][1] = relay_ep;
    s_mesh_new(&m, 2);
    s_relay rl = {.lfd = lfd, .to = m.ep[1] + 6, .flip_at = flip_at};
    pthread_t rt;
    ck_assert_int_eq(pthread_create(&rt, NULL, s_relay_main, &rl), 0);
    s_ready2(&m);
    /* mpc_transport_zmq_direct blocks in its handshake: party 1 accepts, party 0 connects */
    pthread_t dt;
    s_dargs d1 = {m.t[1], -1};
    ck_assert_int_eq(pthread_create(&dt, NULL, s_direct_main, &d1), 0);
    ck_assert_int_eq(mpc_transport_zmq_direct(m.t[0], 10000), 0);
    pthread_join(dt, NULL);
    ck_assert_int_eq(d1.rc, 0);
    /* the first frame from 0 to 1 is changed on the way: party 1 never delivers it */
    uint64_t v = 42, w = 0, *big = calloc(count, 8), *got = calloc(count, 8);
    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_nonnull(got);
    for (uint64_t i = 0; i < count; i++) big[i] = s_val(0, 1, 9, i);
    /* Party 1 takes in party 0's LANE_SYNC first, and the frame is there before the recv: the
     * recv's first spin on the lane reads it and fails the lane (the fast path, s_lane_fast).
     * The recv must still end with MPC_ERR_IO after the grace, not wait out its timeout, as it
     * did once in make test when the fast path reported nothing done. */
    for (int k = 0; k < 10; k++) (void)mpc_transport_zmq_service(m.t[1], 20);
    ck_assert_int_eq(mpc_send(m.t[0], 1, MPC_MSG_OPEN, 50, 0, big, count), 0);
    usleep(200 * 1000);
    int r = mpc_recv(m.t[1], 0, MPC_MSG_OPEN, 50, 0, got, count, 3000);
    ck_assert_int_eq(r, MPC_ERR_IO);
    for (uint64_t i = 0; i < count; i++) ck_assert_uint_eq(got[i], 0);
    free(big);
    free(got);
    ck_assert_ptr_nonnull(strstr(mpc_transport_zmq_last_error(m.t[1]), "peer 0"));
    mpc_zmq_stats st;
    mpc_transport_zmq_stats(m.t[1], &st);
    ck_assert_uint_eq(st.direct_failures, 1);
    ck_assert_uint_eq(st.direct_lanes, 0);
    /* the next stream works both ways over ZeroMQ (party 0 learns of the closed lane by itself) */
    rl.stop = 1;
    pthread_join(rt, NULL);
    close(lfd);
    for (int k = 0; k < 3; k++) {
        v = 100 + (uint64_t)k;
        ck_assert_int_eq(mpc_send(m.t[1], 0, MPC_MSG_OPEN, 51, (uint64_t)k, &v, 1), 0);
        ck_assert_int_eq(mpc_recv(m.t[0], 1, MPC_MSG_OPEN, 51, (uint64_t)k, &w, 1, 5000), 0);
        ck_assert_uint_eq(w, 100 + (uint64_t)k);
    }
    int sent = mpc_send(m.t[0], 1, MPC_MSG_OPEN, 52, 0, &v, 1);
    if (sent == 0) {
        ck_assert_int_eq(mpc_recv(m.t[1], 0, MPC_MSG_OPEN, 52, 0, &w, 1, 5000), 0);
        ck_assert_uint_eq(w, v);
    } else {   /* the lane's failure surfaced on this send: the next one takes ZeroMQ */
        ck_assert_int_eq(mpc_send(m.t[0], 1, MPC_MSG_OPEN, 53, 0, &v, 1), 0);
        ck_assert_int_eq(mpc_recv(m.t[1], 0, MPC_MSG_OPEN, 53, 0, &w, 1, 5000), 0);
    }
    mpc_transport_zmq_stats(m.t[0], &st);
    ck_assert_uint_eq(st.direct_lanes, 0);
    s_mesh_down(&m);
}

START_TEST(test_tampered_frame_fails_the_lane_zeromq_carries_on)
{
    s_tamper_case(100, 1);   /* byte 90 + 10: inside the first frame's ciphertext */
}
END_TEST

/* A large message (3 part frames after its header's frame): a bit flipped in its second part. */
START_TEST(test_tampered_part_fails_the_lane)
{
    s_tamper_case(90 + 100 + 65536 + 1000, 20000);
}
END_TEST

/* Lanes set up while ZeroMQ messages are in flight both ways: LANE_SYNC puts those before
 * every lane message, so each stream still sees its messages in order. */
START_TEST(test_lanes_after_stream_traffic_keep_the_order)
{
    s_mesh m = {0};
    s_tmpdir(&m);
    s_mesh_new(&m, 2);
    s_ready2(&m);
    static uint64_t big[1000], got[1000];   /* 8,000 bytes: ZeroMQ */
    for (uint32_t i = 0; i < 2; i++)
        for (uint64_t q = 0; q < 3; q++) {
            for (int k = 0; k < 1000; k++) big[k] = s_val(i, 1 - i, q, (uint64_t)k);
            ck_assert_int_eq(mpc_send(m.t[i], 1 - i, MPC_MSG_OPEN, 70, q, big, q == 1 ? 1000 : 1), 0);
        }
    pthread_t th[2];
    s_dargs d[2] = {{m.t[0], -1}, {m.t[1], -1}};
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, s_direct_main, &d[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    ck_assert_int_eq(d[0].rc, 0);
    ck_assert_int_eq(d[1].rc, 0);
    for (uint32_t i = 0; i < 2; i++) {   /* one more each way, small: it takes the lane */
        uint64_t v = s_val(i, 1 - i, 3, 0);
        ck_assert_int_eq(mpc_send(m.t[i], 1 - i, MPC_MSG_OPEN, 70, 3, &v, 1), 0);
    }
    for (uint32_t i = 0; i < 2; i++)
        for (uint64_t q = 0; q < 4; q++) {
            uint64_t cnt = q == 1 ? 1000 : 1;
            ck_assert_int_eq(mpc_recv(m.t[1 - i], i, MPC_MSG_OPEN, 70, q, got, cnt, 5000), 0);
            for (uint64_t k = 0; k < cnt; k++) ck_assert_uint_eq(got[k], s_val(i, 1 - i, q, k));
        }
    mpc_zmq_stats st;
    for (int i = 0; i < 2; i++) {
        mpc_transport_zmq_stats(m.t[i], &st);
        ck_assert_uint_eq(st.direct_lanes, 1);
        ck_assert_uint_eq(st.direct_sent, 1);
        ck_assert_uint_eq(st.direct_recv, 1);
    }
    ck_assert_int_eq(mpc_transport_zmq_direct(m.t[0], 100), MPC_ERR_STATE);   /* once */
    s_mesh_down(&m);
}
END_TEST

/* Party i made again with its key and both endpoints, as a restarted daemon would be. */
static void s_remake(s_mesh *m, uint32_t i, const char *bind)
{
    mpc_transport_destroy(&m->t[i]);
    mpc_zmq_config c;
    mpc_zmq_config_init(&c);
    c.self = i;
    c.n = 2;
    c.bind = bind;
    c.keys = m->k[i];
    c.timeout_ms = 10000;
    c.direct_bind = m->ep[i];
    memcpy(c.peer_public[1 - i], mpc_keypair_public(m->k[1 - i]), MPC_KEY_BYTES);
    c.peer_direct[1 - i] = m->ep[1 - i];
    c.peer_endpoints[1 - i] = mpc_transport_zmq_endpoint(m->t[1 - i]);
    char err[256];
    ck_assert_msg(mpc_transport_zmq_new(&m->t[i], &c, err, sizeof err) == 0, "new: %s", err);
}

/* Restarts party `i` (0: the survivor accepts its new lane; 1: the survivor makes it), then
 * checks that the lane came back on both sides and carries the next messages. */
static void s_restart_and_check(s_mesh *m, uint32_t i, uint64_t made_before)
{
    char bind[128];
    snprintf(bind, sizeof bind, "%s", mpc_transport_zmq_endpoint(m->t[i]));
    s_remake(m, i, bind);
    s_ready2(m);
    pthread_t th;
    s_dargs d = {m->t[i], -1};
    ck_assert_int_eq(pthread_create(&th, NULL, s_direct_main, &d), 0);
    mpc_zmq_stats st = {0};
    int64_t until = (int64_t)mpc_now_ms() + 15000;
    do {   /* the survivor's reader accepts or makes the lane again */
        (void)mpc_transport_zmq_service(m->t[1 - i], 20);
        mpc_transport_zmq_stats(m->t[1 - i], &st);
    } while ((st.direct_made < made_before + 1 || st.direct_lanes != 1) && (int64_t)mpc_now_ms() < until);
    pthread_join(th, NULL);
    ck_assert_int_eq(d.rc, 0);
    ck_assert_uint_eq(st.direct_made, made_before + 1);
    ck_assert_uint_eq(st.direct_lanes, 1);
    uint64_t sent0 = st.direct_sent;
    for (uint64_t q = 0; q < 3; q++)
        for (uint32_t a = 0; a < 2; a++) {
            uint64_t v = s_val(a, 1 - a, q, 7), w = 0;
            ck_assert_int_eq(mpc_send(m->t[a], 1 - a, MPC_MSG_OPEN, 80 + i, q, &v, 1), 0);
            ck_assert_int_eq(mpc_recv(m->t[1 - a], a, MPC_MSG_OPEN, 80 + i, q, &w, 1, 5000), 0);
            ck_assert_uint_eq(w, v);
        }
    mpc_transport_zmq_stats(m->t[1 - i], &st);
    ck_assert_uint_eq(st.direct_sent, sent0 + 3);
    mpc_transport_zmq_stats(m->t[i], &st);
    ck_assert_uint_eq(st.direct_sent, 3);
    ck_assert_uint_eq(st.direct_lanes, 1);
}

START_TEST(test_lanes_made_again_after_a_restart)
{
    s_mesh m = {0};
    s_tmpdir(&m);
    s_mesh_new(&m, 2);
    s_ready2(&m);
    pthread_t th[2];
    s_dargs d[2] = {{m.t[0], -1}, {m.t[1], -1}};
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, s_direct_main, &d[i]), 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    ck_assert_int_eq(d[0].rc + d[1].rc, 0);
    s_restart_and_check(&m, 1, 1);   /* the higher one: party 0 connects to it again */
    s_restart_and_check(&m, 0, 1);   /* the lower one: party 1 (itself made again above) accepts it */
    s_mesh_down(&m);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("zmq_direct");
    TCase *tc = tcase_create("lanes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lanes_keep_the_order_of_mixed_sizes);
    tcase_add_test(tc, test_large_messages_on_the_lanes);
    tcase_add_test(tc, test_both_ends_write_at_once);
    tcase_add_test(tc, test_large_message_over_the_limit_is_refused_the_lane_goes_on);
    tcase_add_test(tc, test_lanes_under_concurrent_threads);
    tcase_add_test(tc, test_stranger_refused_lanes_still_come_up);
    tcase_add_test(tc, test_tampered_frame_fails_the_lane_zeromq_carries_on);
    tcase_add_test(tc, test_tampered_part_fails_the_lane);
    tcase_add_test(tc, test_lanes_after_stream_traffic_keep_the_order);
    tcase_add_test(tc, test_lanes_made_again_after_a_restart);
    tcase_add_test(tc, test_fast_rounds_leave_zeromq_its_turn);
    suite_add_tcase(s, tc);
    return s;
}
