/* check_zap.c — the ZAP handler (protocols/zap.h): a CURVE ROUTER of a context with a handler
 * admits a configured key and tags its messages with the key's identity, refuses an unknown
 * key (counted, reported through the callback with the peer's address); hand-made ZAP
 * requests on the handler's inproc endpoint, malformed in every way, are refused with a
 * well-formed reply and leave the handler working; bad configurations are refused.  Every
 * ZeroMQ context is created inside its test, after Check's fork. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "runner.h"
#include "clock.h"
#include "keys.h"
#include "mpc_err.h"
#include "zap.h"

static atomic_int s_refusals[MPC_ZAP_MALFORMED + 1];
static char s_last_addr[128];

static void s_on_refused(void *ctx, mpc_zap_refusal why, const char *address)
{
    ck_assert_ptr_eq(ctx, (void *)s_refusals);
    ck_assert(why >= MPC_ZAP_UNKNOWN_KEY && why <= MPC_ZAP_MALFORMED);
    snprintf(s_last_addr, sizeof s_last_addr, "%s", address);
    atomic_fetch_add(&s_refusals[why], 1);
}

typedef struct {
    void *ctx;
    mpc_zap *zap;
    mpc_keypair *server, *alice, *bob, *stranger;
} s_fix;

/* A handler admitting alice ("alice") and bob ("bob") in a fresh context. */
static void s_fix_up(s_fix *f)
{
    memset(f, 0, sizeof *f);
    memset(s_refusals, 0, sizeof s_refusals);
    s_last_addr[0] = 0;
    ck_assert_ptr_nonnull(f->ctx = zmq_ctx_new());
    ck_assert_ptr_nonnull(f->server = mpc_keypair_new());
    ck_assert_ptr_nonnull(f->alice = mpc_keypair_new());
    ck_assert_ptr_nonnull(f->bob = mpc_keypair_new());
    ck_assert_ptr_nonnull(f->stranger = mpc_keypair_new());
    uint8_t keys[2][MPC_KEY_BYTES];
    memcpy(keys[0], mpc_keypair_public(f->alice), MPC_KEY_BYTES);
    memcpy(keys[1], mpc_keypair_public(f->bob), MPC_KEY_BYTES);
    const char *ids[2] = {"alice", "bob"};
    mpc_zap_config zc = {.domain = "test-domain", .n_keys = 2,
                         .keys = (const uint8_t (*)[MPC_KEY_BYTES])keys, .ids = ids,
                         .on_refused = s_on_refused, .refused_ctx = s_refusals};
    char err[256] = "";
    ck_assert_msg(mpc_zap_start(&f->zap, f->ctx, &zc, err, sizeof err) == 0, "%s", err);
}

static void s_fix_down(s_fix *f)
{
    zmq_ctx_shutdown(f->ctx);
    mpc_zap_destroy(&f->zap);
    ck_assert_ptr_null(f->zap);
    zmq_ctx_term(f->ctx);
    mpc_keypair_destroy(&f->server);
    mpc_keypair_destroy(&f->alice);
    mpc_keypair_destroy(&f->bob);
    mpc_keypair_destroy(&f->stranger);
}

static void s_setint(void *s, int opt, int v)
{
    ck_assert_int_eq(zmq_setsockopt(s, opt, &v, sizeof v), 0);
}

/* A CURVE ROUTER attached to the handler, bound on a free loopback port (endpoint in ep). */
static void *s_server(s_fix *f, char *ep, size_t eplen)
{
    void *r = zmq_socket(f->ctx, ZMQ_ROUTER);
    ck_assert_ptr_nonnull(r);
    s_setint(r, ZMQ_CURVE_SERVER, 1);
    s_setint(r, ZMQ_LINGER, 0);
    ck_assert_int_eq(zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, mpc_keypair_secret(f->server), 32), 0);
    ck_assert_int_eq(mpc_zap_attach(f->zap, r), 0);
    /* attach leaves the socket refusing clients should the handler not answer */
    int enforce = 0;
    size_t elen = sizeof enforce;
    ck_assert_int_eq(zmq_getsockopt(r, 93 /* ZMQ_ZAP_ENFORCE_DOMAIN */, &enforce, &elen), 0);
    ck_assert_int_eq(enforce, 1);
    ck_assert_int_eq(zmq_bind(r, "tcp://127.0.0.1:*"), 0);
    ck_assert_int_eq(zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &eplen), 0);
    return r;
}

/* A CURVE DEALER with key pair `own` (in its own context) connected to ep. */
static void *s_client(void *ctx, const mpc_keypair *own, const mpc_keypair *server, const char *ep)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    ck_assert_ptr_nonnull(d);
    s_setint(d, ZMQ_LINGER, 0);
    ck_assert_int_eq(zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, mpc_keypair_public(server), 32), 0);
    ck_assert_int_eq(zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, mpc_keypair_public(own), 32), 0);
    ck_assert_int_eq(zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, mpc_keypair_secret(own), 32), 0);
    ck_assert_int_eq(zmq_connect(d, ep), 0);
    return d;
}

/* Receives [routing id, body] on the ROUTER within 5 s; returns the User-Id of the body. */
static void s_expect_from(void *router, const char *body, const char *user)
{
    zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 5000), 1);
    zmq_msg_t rid, m;
    zmq_msg_init(&rid);
    zmq_msg_init(&m);
    ck_assert_int_ge(zmq_msg_recv(&rid, router, 0), 0);
    ck_assert_int_ge(zmq_msg_recv(&m, router, 0), 0);
    ck_assert_uint_eq(zmq_msg_size(&m), strlen(body));
    ck_assert(memcmp(zmq_msg_data(&m), body, strlen(body)) == 0);
    const char *u = zmq_msg_gets(&m, "User-Id");
    ck_assert_ptr_nonnull(u);
    ck_assert_str_eq(u, user);
    zmq_msg_close(&rid);
    zmq_msg_close(&m);
}

START_TEST(test_known_admitted_unknown_refused)
{
    s_fix f;
    s_fix_up(&f);
    char ep[256];
    void *router = s_server(&f, ep, sizeof ep);
    void *cctx = zmq_ctx_new();
    void *a = s_client(cctx, f.alice, f.server, ep);
    void *b = s_client(cctx, f.bob, f.server, ep);
    ck_assert_int_eq(zmq_send(a, "from alice", 10, 0), 10);
    s_expect_from(router, "from alice", "alice");
    ck_assert_int_eq(zmq_send(b, "from bob", 8, 0), 8);
    s_expect_from(router, "from bob", "bob");
    ck_assert_uint_eq(mpc_zap_admitted(f.zap), 2);
    ck_assert_uint_eq(mpc_zap_refused(f.zap), 0);

    /* A stranger's handshake is refused: nothing reaches the ROUTER, the refusal is counted
     * and reported with the peer's address. */
    void *s = s_client(cctx, f.stranger, f.server, ep);
    (void)zmq_send(s, "from stranger", 13, ZMQ_DONTWAIT);   /* queued, never delivered */
    uint64_t until = mpc_now_ms() + 5000;
    while (atomic_load(&s_refusals[MPC_ZAP_UNKNOWN_KEY]) == 0 && mpc_now_ms() < until)
        zmq_poll(NULL, 0, 10);
    ck_assert_int_ge(atomic_load(&s_refusals[MPC_ZAP_UNKNOWN_KEY]), 1);
    ck_assert_int_eq(atomic_load(&s_refusals[MPC_ZAP_MALFORMED]), 0);
    ck_assert_uint_ge(mpc_zap_refused(f.zap), 1);
    ck_assert_str_eq(s_last_addr, "127.0.0.1");
    zmq_pollitem_t it = {router, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 200), 0);
    ck_assert_uint_eq(mpc_zap_admitted(f.zap), 2);

    zmq_close(a);
    zmq_close(b);
    zmq_close(s);
    zmq_ctx_term(cctx);
    zmq_close(router);
    s_fix_down(&f);
}
END_TEST

/* Sends a hand-made request of n frames on req and checks the reply: 6 frames, version 1.0,
 * the request id echoed (frame 1 of the request, or empty), the status code and User-Id. */
static void s_ask(void *req, const char *const *fr, const size_t *len, int n, const char *code,
                  const char *user)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(zmq_send(req, fr[i], len[i], i + 1 < n ? ZMQ_SNDMORE : 0), (int)len[i]);
    zmq_pollitem_t it = {req, 0, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zmq_poll(&it, 1, 5000), 1);
    char got[6][64];
    size_t glen[6];
    int nf = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        ck_assert_int_ge(zmq_msg_recv(&m, req, 0), 0);
        more = zmq_msg_more(&m);
        ck_assert_int_lt(nf, 6);
        glen[nf] = zmq_msg_size(&m);
        ck_assert_uint_lt(glen[nf], sizeof got[0]);
        memcpy(got[nf], zmq_msg_data(&m), glen[nf]);
        got[nf][glen[nf]] = 0;
        nf++;
        zmq_msg_close(&m);
    }
    ck_assert_int_eq(nf, 6);
    ck_assert_str_eq(got[0], "1.0");
    if (n >= 2) {
        ck_assert_uint_eq(glen[1], len[1]);
        ck_assert(memcmp(got[1], fr[1], len[1]) == 0);
    } else {
        ck_assert_uint_eq(glen[1], 0);
    }
    ck_assert_str_eq(got[2], code);
    ck_assert_str_eq(got[4], user);
    ck_assert_uint_eq(glen[5], 0);
}

START_TEST(test_malformed_requests_refused)
{
    s_fix f;
    s_fix_up(&f);
    void *req = zmq_socket(f.ctx, ZMQ_REQ);
    ck_assert_ptr_nonnull(req);
    s_setint(req, ZMQ_LINGER, 0);
    ck_assert_int_eq(zmq_connect(req, MPC_ZAP_ENDPOINT), 0);
    const uint8_t *ak = mpc_keypair_public(f.alice), *sk = mpc_keypair_public(f.stranger);
    /* version, request id, domain, address, routing id, mechanism, key */
    const char *good[8] = {"1.0", "rq-1", "test-domain", "10.0.0.7", "", "CURVE", (const char *)ak, "x"};
    size_t glen[8] = {3, 4, 11, 8, 0, 5, 32, 1};
    s_ask(req, good, glen, 7, "200", "alice");

    const char *v[8];
    size_t l[8];
    struct {
        int frame;              /* frame to replace (-1: none) */
        const char *with;
        size_t len;
        int nframes;
        mpc_zap_refusal why;
    } cases[] = {
        {0, "2.0", 3, 7, MPC_ZAP_MALFORMED},              /* other version */
        {2, "other-domain", 12, 7, MPC_ZAP_WRONG_DOMAIN},
        {5, "PLAIN", 5, 7, MPC_ZAP_WRONG_MECHANISM},
        {5, "NULL", 4, 7, MPC_ZAP_WRONG_MECHANISM},
        {6, (const char *)ak, 31, 7, MPC_ZAP_MALFORMED},  /* short key */
        {6, "", 0, 7, MPC_ZAP_MALFORMED},
        {6, (const char *)sk, 32, 7, MPC_ZAP_UNKNOWN_KEY},
        {-1, NULL, 0, 6, MPC_ZAP_MALFORMED},              /* a frame missing */
        {-1, NULL, 0, 8, MPC_ZAP_MALFORMED},              /* a frame too many */
        {-1, NULL, 0, 2, MPC_ZAP_MALFORMED},
        {-1, NULL, 0, 1, MPC_ZAP_MALFORMED},              /* no request id to echo */
    };
    int expect[MPC_ZAP_MALFORMED + 1] = {0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(v, good, sizeof v);
        memcpy(l, glen, sizeof l);
        if (cases[c].frame >= 0) {
            v[cases[c].frame] = cases[c].with;
            l[cases[c].frame] = cases[c].len;
        }
        s_ask(req, v, l, cases[c].nframes, "400", "");
        expect[cases[c].why]++;
        for (int w = MPC_ZAP_UNKNOWN_KEY; w <= MPC_ZAP_MALFORMED; w++)
            ck_assert_msg(atomic_load(&s_refusals[w]) == expect[w], "case %zu: reason %d counted %d, "
                          "expected %d", c, w, atomic_load(&s_refusals[w]), expect[w]);
    }
    ck_assert_str_eq(s_last_addr, "");   /* the last request had no address frame */
    /* Unprintable bytes of the address never reach the callback as such. */
    memcpy(v, good, sizeof v);
    memcpy(l, glen, sizeof l);
    v[3] = "a\nb\x01";
    l[3] = 4;
    v[6] = (const char *)sk;
    s_ask(req, v, l, 7, "400", "");
    ck_assert_str_eq(s_last_addr, "a?b?");
    /* Still working, and bob is admitted as bob. */
    v[3] = "10.0.0.8";
    l[3] = 8;
    v[6] = (const char *)mpc_keypair_public(f.bob);
    s_ask(req, v, l, 7, "200", "bob");
    ck_assert_uint_eq(mpc_zap_admitted(f.zap), 2);
    ck_assert_uint_eq(mpc_zap_refused(f.zap), sizeof cases / sizeof cases[0] + 1);
    zmq_close(req);
    s_fix_down(&f);
}
END_TEST

/* Waits up to 5 s for the refusal counter of `why` to pass `was`. */
static int s_refusal_after(mpc_zap_refusal why, int was)
{
    uint64_t until = mpc_now_ms() + 5000;
    while (atomic_load(&s_refusals[why]) <= was && mpc_now_ms() < until) zmq_poll(NULL, 0, 10);
    return atomic_load(&s_refusals[why]) > was;
}

/* The key set replaced at run time: a removed key is refused from then on, an added one is
 * admitted under its identity (two keys may share one: a rotation's current and next key); a
 * connection admitted before stays; a bad new set is refused and the old one kept. */
START_TEST(test_set_keys)
{
    s_fix f;
    s_fix_up(&f);
    char ep[256];
    void *router = s_server(&f, ep, sizeof ep);
    void *cctx = zmq_ctx_new();
    void *a = s_client(cctx, f.alice, f.server, ep);
    ck_assert_int_eq(zmq_send(a, "alice 1", 7, 0), 7);
    s_expect_from(router, "alice 1", "alice");

    uint8_t keys[2][MPC_KEY_BYTES];
    memcpy(keys[0], mpc_keypair_public(f.bob), MPC_KEY_BYTES);
    memcpy(keys[1], mpc_keypair_public(f.stranger), MPC_KEY_BYTES);
    const char *ids[2] = {"bob", "bob"};
    char err[256] = "";
    ck_assert_msg(mpc_zap_set_keys(f.zap, 2, (const uint8_t (*)[MPC_KEY_BYTES])keys, ids, err, sizeof err) == 0,
                  "%s", err);
    void *a2 = s_client(cctx, f.alice, f.server, ep);
    (void)zmq_send(a2, "alice 2", 7, ZMQ_DONTWAIT);
    ck_assert(s_refusal_after(MPC_ZAP_UNKNOWN_KEY, 0));
    void *st = s_client(cctx, f.stranger, f.server, ep);
    ck_assert_int_eq(zmq_send(st, "next key", 8, 0), 8);
    s_expect_from(router, "next key", "bob");
    ck_assert_int_eq(zmq_send(a, "alice 3", 7, 0), 7);
    s_expect_from(router, "alice 3", "alice");

    /* Two identities with one key: refused, the set stays (the stranger's key still admitted
     * as "bob", alice's still refused). */
    memcpy(keys[1], keys[0], MPC_KEY_BYTES);
    const char *ids2[2] = {"bob", "carol"};
    ck_assert_int_eq(mpc_zap_set_keys(f.zap, 2, (const uint8_t (*)[MPC_KEY_BYTES])keys, ids2, err, sizeof err),
                     MPC_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "same key"));
    void *st2 = s_client(cctx, f.stranger, f.server, ep);
    ck_assert_int_eq(zmq_send(st2, "still", 5, 0), 5);
    s_expect_from(router, "still", "bob");
    int was = atomic_load(&s_refusals[MPC_ZAP_UNKNOWN_KEY]);
    void *a3 = s_client(cctx, f.alice, f.server, ep);
    (void)zmq_send(a3, "alice 4", 7, ZMQ_DONTWAIT);
    ck_assert(s_refusal_after(MPC_ZAP_UNKNOWN_KEY, was));

    void *socks[] = {a, a2, a3, st, st2};
    for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++) zmq_close(socks[i]);
    zmq_ctx_term(cctx);
    zmq_close(router);
    s_fix_down(&f);
}
END_TEST

START_TEST(test_bad_configuration_refused)
{
    void *ctx = zmq_ctx_new();
    mpc_keypair *k = mpc_keypair_new();
    uint8_t keys[2][MPC_KEY_BYTES];
    memcpy(keys[0], mpc_keypair_public(k), MPC_KEY_BYTES);
    memcpy(keys[1], mpc_keypair_public(k), MPC_KEY_BYTES);
    const char *ids[2] = {"a", "b"};
    mpc_zap_config zc = {.domain = "d", .n_keys = 2,
                         .keys = (const uint8_t (*)[MPC_KEY_BYTES])keys, .ids = ids};
    mpc_zap *z = NULL;
    char err[256] = "";
    ck_assert_int_eq(mpc_zap_start(&z, ctx, &zc, err, sizeof err), MPC_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "same key"));
    ck_assert_ptr_null(z);
    keys[1][0] ^= 1;
    char longid[MPC_ZAP_ID_MAX + 1];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = 0;
    const char *bad_ids[2][2] = {{"a", ""}, {"a", longid}};
    for (int i = 0; i < 2; i++) {
        zc.ids = bad_ids[i];
        ck_assert_int_eq(mpc_zap_start(&z, ctx, &zc, err, sizeof err), MPC_ERR_CONFIG);
    }
    zc.ids = ids;
    zc.domain = "";
    ck_assert_int_eq(mpc_zap_start(&z, ctx, &zc, err, sizeof err), MPC_ERR_CONFIG);
    zc.domain = "d";
    zc.keys = NULL;
    ck_assert_int_eq(mpc_zap_start(&z, ctx, &zc, err, sizeof err), MPC_ERR_CONFIG);
    zc.keys = (const uint8_t (*)[MPC_KEY_BYTES])keys;
    /* One handler per context: the second cannot bind the endpoint. */
    ck_assert_int_eq(mpc_zap_start(&z, ctx, &zc, err, sizeof err), 0);
    mpc_zap *z2 = NULL;
    ck_assert_int_eq(mpc_zap_start(&z2, ctx, &zc, err, sizeof err), MPC_ERR_IO);
    ck_assert_ptr_null(z2);
    zmq_ctx_shutdown(ctx);
    mpc_zap_destroy(&z);
    zmq_ctx_term(ctx);
    mpc_keypair_destroy(&k);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("zap");
    TCase *tc = tcase_create("zap");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_known_admitted_unknown_refused);
    tcase_add_test(tc, test_malformed_requests_refused);
    tcase_add_test(tc, test_bad_configuration_refused);
    tcase_add_test(tc, test_set_keys);
    suite_add_tcase(s, tc);
    return s;
}
