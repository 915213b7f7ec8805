/* check_join.c — the private join (protocols/join.h): Beneš routing checked exhaustively for
 * n <= 8 and on random permutations of many sizes; the OSN's shares add up to the permuted
 * vector; whole joins of two parties in threads over transport_mem with overlaps of 0, 1,
 * 50 and 100 %, empty sides, several payload columns on each side (plaintext and shares
 * from a third party), compared with a plaintext join, in-memory and over the ZeroMQ
 * transport; duplicate keys refused by side; a stop flag or deadline ends both parties' run
 * mid-join. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "clock.h"
#include "join.h"
#include "keys.h"
#include "mpc_err.h"
#include "osn.h"
#include "psi.h"
#include "transport_mem.h"
#include "transport_zmq.h"

#define TIMEOUT 20000

static void s_shuffle(uint32_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) p[i] = (uint32_t)i;
    for (uint64_t i = n; i > 1; i--) {
        uint32_t j = randombytes_uniform((uint32_t)i), t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
}

/* The network routed for src, applied to 0..N−1, gathers exactly src (padding fixed). */
static void s_check_route(const uint32_t *src, uint64_t n)
{
    uint64_t N = mpc_benes_size(n);
    uint8_t *bits = malloc(mpc_benes_layers(N) * N / 2);
    uint64_t *x = malloc(N * 8), *tmp = malloc(N * 8);
    ck_assert_int_eq(mpc_benes_route(src, n, bits), 0);
    for (uint64_t i = 0; i < N; i++) x[i] = i;
    mpc_benes_apply(bits, N, 1, x, tmp);
    for (uint64_t i = 0; i < n; i++) ck_assert_uint_eq(x[i], src[i]);
    for (uint64_t i = n; i < N; i++) ck_assert_uint_eq(x[i], i);
    free(bits); free(x); free(tmp);
}

/* every permutation of n <= 8 (Heap's algorithm) */
START_TEST(test_benes_exhaustive)
{
    for (uint32_t n = 1; n <= 8; n++) {
        uint32_t p[8], c[8] = {0};
        for (uint32_t i = 0; i < n; i++) p[i] = i;
        uint64_t count = 1;
        s_check_route(p, n);
        for (uint32_t i = 1; i < n;) {
            if (c[i] < i) {
                uint32_t j = (i & 1) ? c[i] : 0, t = p[j];
                p[j] = p[i]; p[i] = t;
                s_check_route(p, n);
                count++;
                c[i]++;
                i = 1;
            } else {
                c[i++] = 0;
            }
        }
        uint64_t f = 1;
        for (uint32_t i = 2; i <= n; i++) f *= i;
        ck_assert_uint_eq(count, f);
    }
}
END_TEST

START_TEST(test_benes_random)
{
    static const uint64_t sizes[] = {9, 15, 16, 17, 31, 33, 100, 127, 128, 129, 1000, 4095, 4097, 65539};
    uint32_t *p = malloc(65539 * 4);
    for (uint64_t n = 1; n <= 70; n++)
        for (int rep = 0; rep < 5; rep++) { s_shuffle(p, n); s_check_route(p, n); }
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) { s_shuffle(p, sizes[s]); s_check_route(p, sizes[s]); }
    /* not a permutation: refused */
    uint8_t bits[64];
    uint32_t bad[5] = {0, 1, 2, 2, 4}, out_of_range[3] = {0, 1, 3};
    ck_assert_int_eq(mpc_benes_route(bad, 5, bits), MPC_ERR_INVALID);
    ck_assert_int_eq(mpc_benes_route(out_of_range, 3, bits), MPC_ERR_INVALID);
    free(p);
}
END_TEST

/* ---- OSN between two threads ---- */

typedef struct {
    mpc_mem_hub *hub;
    uint64_t     n;
    uint32_t     W;
    uint32_t    *src;
    uint64_t    *x, *out[2];
    int          rc[2];
} s_osn_job;

typedef struct { s_osn_job *j; uint32_t p; } s_osn_arg;

static void *s_osn_party(void *arg)
{
    s_osn_arg *a = arg;
    s_osn_job *j = a->j;
    mpc_transport *t = mpc_mem_transport_new(j->hub, a->p);
    uint8_t sid[32];
    memset(sid, 7, sizeof sid);
    mpc_osn_ot *ot = NULL;
    int r = mpc_osn_ot_setup(t, 1 - a->p, 5, 1, sid, TIMEOUT, &ot);
    /* two runs in a row: P = party 0, then the roles swapped on the same OT pair */
    for (int run = 0; run < 2 && r == 0; run++) {
        int perm = (uint32_t)run == a->p;
        r = perm ? mpc_osn_permuter(ot, t, 1 - a->p, 5, 64 + 64 * run, j->src, j->n, j->W, j->out[a->p] + run * j->n * j->W, TIMEOUT)
                 : mpc_osn_sender(ot, t, 1 - a->p, 5, 64 + 64 * run, j->x, j->n, j->W, j->out[a->p] + run * j->n * j->W, TIMEOUT);
    }
    j->rc[a->p] = r;
    mpc_osn_ot_free(&ot);
    mpc_transport_destroy(&t);
    return NULL;
}

START_TEST(test_osn_shares)
{
    static const uint64_t sizes[] = {1, 2, 3, 5, 64, 100, 1000, 5000};
    static const uint32_t widths[] = {1, 3, 1, 2, 4, 1, 3, 2};
    enum { NS = sizeof sizes / sizeof *sizes };
    /* every size twice: all layers' OTs at once, then a window of 1, 2 or 3 layers of pads
     * (a layer's pads are N·W words) */
    for (size_t s = 0; s < 2 * NS; s++) {
        s_osn_job j = {.n = sizes[s % NS], .W = widths[s % NS]};
        mpc_osn_pad_budget(s < NS ? 0 : mpc_benes_size(j.n) * j.W * (1 + s % 3));
        uint64_t n = j.n, W = j.W;
        j.hub = mpc_mem_hub_new(2, TIMEOUT);
        j.src = malloc(n * 4);
        j.x = malloc(n * W * 8);
        j.out[0] = calloc(2 * n * W, 8);
        j.out[1] = calloc(2 * n * W, 8);
        s_shuffle(j.src, n);
        randombytes_buf(j.x, n * W * 8);
        pthread_t th[2];
        s_osn_arg args[2] = {{&j, 0}, {&j, 1}};
        for (int p = 0; p < 2; p++) ck_assert_int_eq(pthread_create(&th[p], NULL, s_osn_party, &args[p]), 0);
        for (int p = 0; p < 2; p++) pthread_join(th[p], NULL);
        ck_assert_int_eq(j.rc[0], 0);
        ck_assert_int_eq(j.rc[1], 0);
        for (int run = 0; run < 2; run++)
            for (uint64_t c = 0; c < W; c++)
                for (uint64_t i = 0; i < n; i++) {
                    uint64_t k = run * n * W + c * n + i;
                    ck_assert_uint_eq(j.out[0][k] + j.out[1][k], j.x[c * n + j.src[i]]);
                    if (n > 1) ck_assert_uint_ne(j.out[0][k], j.x[c * n + j.src[i]]);   /* masked */
                }
        free(j.src); free(j.x); free(j.out[0]); free(j.out[1]);
        mpc_mem_hub_destroy(&j.hub);
    }
    mpc_osn_pad_budget(0);
}
END_TEST

/* ---- whole joins ---- */

typedef struct {
    mpc_mem_hub *hub;
    mpc_transport *zt[2];    /* set: the ZeroMQ pair to run on instead of a hub */
    mpc_join_in  in[2];
    mpc_join_out out[2];
    int          rc[2];
    char         err[2][160];
} s_join;

typedef struct { s_join *j; uint32_t p; } s_join_arg;

static void *s_join_party(void *arg)
{
    s_join_arg *a = arg;
    mpc_transport *t = a->j->zt[a->p] ? a->j->zt[a->p] : mpc_mem_transport_new(a->j->hub, a->p);
    a->j->rc[a->p] = mpc_join_run(t, 1 - a->p, a->p == 0 ? MPC_JOIN_A : MPC_JOIN_B, 9, &a->j->in[a->p],
                                  &a->j->out[a->p], a->j->err[a->p], sizeof a->j->err[a->p]);
    if (!a->j->zt[a->p]) mpc_transport_destroy(&t);
    return NULL;
}

/* The ZeroMQ pair (CURVE on, ipc:// sockets in a directory of their own) when set. */
static mpc_transport *s_zt[2];

static void s_join_run(s_join *j)
{
    j->zt[0] = s_zt[0];
    j->zt[1] = s_zt[1];
    j->hub = mpc_mem_hub_new(2, TIMEOUT);
    pthread_t th[2];
    s_join_arg args[2] = {{j, 0}, {j, 1}};
    for (int p = 0; p < 2; p++) ck_assert_int_eq(pthread_create(&th[p], NULL, s_join_party, &args[p]), 0);
    for (int p = 0; p < 2; p++) pthread_join(th[p], NULL);
    mpc_mem_hub_destroy(&j->hub);
}

/* Keys "patient-<id>" of varying length; key i of a side = ids[i]. */
typedef struct { uint8_t *data; uint64_t *off; } s_keys;

static void s_make_keys(s_keys *k, const uint64_t *ids, uint64_t n)
{
    k->data = malloc(32 * n + 1);
    k->off = malloc((n + 1) * 8);
    k->off[0] = 0;
    for (uint64_t i = 0; i < n; i++) {
        int len = snprintf((char *)k->data + k->off[i], 32, "patient-%llu", (unsigned long long)ids[i]);
        k->off[i + 1] = k->off[i] + (uint64_t)len;
    }
}

/* A has na rows, B nb; `common` ids in both.  A: 2 plaintext columns; B: 3 columns, the
 * first two B's plaintext and — when third is set — every B column given as random shares
 * held by both (as a third party's re-sharing would leave them). */
static void s_join_case(uint64_t na, uint64_t nb, uint64_t common, int third)
{
    enum { CA = 2, CB = 3 };
    uint64_t *ida = malloc((na + 1) * 8), *idb = malloc((nb + 1) * 8);
    for (uint64_t i = 0; i < na; i++) ida[i] = 1000000 + i * 3;       /* A: 1000000 + 3i */
    for (uint64_t i = 0; i < nb; i++) idb[i] = i < common ? 1000000 + 3 * ((i * 7919) % na) : 5000000 + i;
    s_keys ka, kb;
    s_make_keys(&ka, ida, na);
    s_make_keys(&kb, idb, nb);
    uint64_t *va = malloc((CA * na + 1) * 8), *vb = malloc((CB * nb + 1) * 8);
    randombytes_buf(va, CA * na * 8);
    for (uint64_t i = 0; i < nb; i++) {
        vb[i] = i + 1;                 /* a row id: finds B's row in the shuffled output */
        vb[nb + i] = randombytes_random();
        vb[2 * nb + i] = (uint64_t)randombytes_random() << 32;
    }
    uint64_t *sb0 = NULL, *sb1 = NULL;
    s_join j;
    memset(&j, 0, sizeof j);
    for (int p = 0; p < 2; p++) {
        j.in[p].cols_a = CA;
        j.in[p].cols_b = CB;
        memset(j.in[p].salt, 0x5a, 32);
        j.in[p].timeout_ms = TIMEOUT;
        j.in[p].chunk_points = 1000;   /* lists of several messages */
    }
    j.in[0].rows = na; j.in[0].key_data = ka.data; j.in[0].key_off = ka.off; j.in[0].share_a = va;
    j.in[1].rows = nb; j.in[1].key_data = kb.data; j.in[1].key_off = kb.off; j.in[1].share_b = vb;
    if (third) {
        sb0 = malloc((CB * nb + 1) * 8);
        sb1 = malloc((CB * nb + 1) * 8);
        randombytes_buf(sb0, CB * nb * 8);
        for (uint64_t i = 0; i < CB * nb; i++) sb1[i] = vb[i] - sb0[i];
        j.in[0].share_b = sb0;
        j.in[0].peer_rows = nb;
        j.in[1].share_b = sb1;
    }
    s_join_run(&j);
    ck_assert_msg(j.rc[0] == 0 && j.rc[1] == 0, "A: %d %s / B: %d %s", j.rc[0], j.err[0], j.rc[1], j.err[1]);
    mpc_join_out *oa = &j.out[0], *ob = &j.out[1];
    ck_assert_uint_eq(oa->rows, nb);
    ck_assert_uint_eq(ob->rows, nb);
    ck_assert_uint_eq(oa->cols, 1 + CA + CB);
    ck_assert_uint_eq(oa->intersection, common);
    ck_assert_uint_eq(ob->intersection, UINT64_MAX);
    uint64_t count = 0, sum = 0, want_sum = 0;
    uint8_t *seen = calloc(nb + 1, 1);
    for (uint64_t r = 0; r < nb; r++) {
        uint64_t v[1 + CA + CB];
        for (int c = 0; c < 1 + CA + CB; c++) v[c] = oa->share[c * nb + r] + ob->share[c * nb + r];
        uint64_t brow = v[1 + CA] - 1;         /* B's column 0 is the row id */
        ck_assert_uint_lt(brow, nb);
        ck_assert(!seen[brow]);
        seen[brow] = 1;
        for (int c = 0; c < CB; c++) ck_assert_uint_eq(v[1 + CA + c], vb[c * nb + brow]);
        int matched = brow < common;
        ck_assert_uint_eq(v[0], (uint64_t)matched);
        if (matched) {
            uint64_t arow = (brow * 7919) % na;
            for (int c = 0; c < CA; c++) ck_assert_uint_eq(v[1 + c], va[c * na + arow]);
            want_sum += va[arow];
        }
        count += v[0];
        sum += v[0] * v[1];
    }
    ck_assert_uint_eq(count, common);
    ck_assert_uint_eq(sum, want_sum);
    for (int p = 0; p < 2; p++) mpc_join_out_free(&j.out[p]);
    free(seen); free(ida); free(idb); free(ka.data); free(ka.off); free(kb.data); free(kb.off);
    free(va); free(vb); free(sb0); free(sb1);
}

START_TEST(test_join_overlaps)
{
    /* common ids are distinct A rows: 7919 is prime, coprime with these na */
    s_join_case(500, 400, 0, 0);       /* 0 % */
    s_join_case(1000, 800, 8, 0);      /* 1 % */
    s_join_case(600, 700, 350, 1);     /* 50 %, B's columns as a third party's shares */
    s_join_case(300, 300, 300, 0);     /* 100 % */
    s_join_case(257, 100, 100, 1);     /* n_A > n_B, all of B matched */
    s_join_case(4099, 4097, 2048, 0);  /* n = 4097: a network of 8192 wires */
}
END_TEST

START_TEST(test_join_empty)
{
    s_join_case(0 + 1, 0, 0, 0);       /* B empty */
    s_join_case(1, 1, 1, 0);
    /* A empty: no common rows */
    uint64_t off0[1] = {0}, offb[3] = {0, 1, 2};
    uint8_t kb[2] = {'x', 'y'};
    uint64_t vb[2] = {5, 6};
    s_join j;
    memset(&j, 0, sizeof j);
    j.in[0] = (mpc_join_in){.rows = 0, .key_off = off0, .cols_a = 1, .cols_b = 1, .timeout_ms = TIMEOUT};
    j.in[1] = (mpc_join_in){.rows = 2, .key_data = kb, .key_off = offb, .cols_a = 1, .cols_b = 1,
                            .share_b = vb, .timeout_ms = TIMEOUT};
    s_join_run(&j);
    ck_assert_msg(j.rc[0] == 0 && j.rc[1] == 0, "%s / %s", j.err[0], j.err[1]);
    ck_assert_uint_eq(j.out[0].intersection, 0);
    ck_assert_uint_eq(j.out[0].rows, 2);
    uint64_t s = 0;
    for (int r = 0; r < 2; r++) {
        ck_assert_uint_eq(j.out[0].share[r] + j.out[1].share[r], 0);
        s += j.out[0].share[4 + r] + j.out[1].share[4 + r];
    }
    ck_assert_uint_eq(s, 11);
    for (int p = 0; p < 2; p++) mpc_join_out_free(&j.out[p]);
}
END_TEST

static void s_dup_case(int dup_a, int dup_b)
{
    uint8_t ka[] = "alicebobcarol", kb[] = "bobdaveerin";
    uint64_t offa[4] = {0, 5, 8, 13}, offb[4] = {0, 3, 7, 11};
    uint8_t kad[] = "alicebobbob", kbd[] = "davedaveerin";
    uint64_t offad[4] = {0, 5, 8, 11}, offbd[4] = {0, 4, 8, 12};
    s_join j;
    memset(&j, 0, sizeof j);
    j.in[0] = (mpc_join_in){.rows = 3, .key_data = dup_a ? kad : ka, .key_off = dup_a ? offad : offa,
                            .timeout_ms = TIMEOUT};
    j.in[1] = (mpc_join_in){.rows = 3, .key_data = dup_b ? kbd : kb, .key_off = dup_b ? offbd : offb,
                            .timeout_ms = TIMEOUT};
    s_join_run(&j);
    const char *want = dup_a && dup_b ? "sides A and B" : dup_a ? "side A" : "side B";
    for (int p = 0; p < 2; p++) {
        ck_assert_int_eq(j.rc[p], MPC_ERR_INPUT);
        ck_assert_msg(strstr(j.err[p], "duplicate keys on") && strstr(j.err[p], want), "%s", j.err[p]);
        ck_assert_ptr_null(strstr(j.err[p], "bob"));
        ck_assert_ptr_null(strstr(j.err[p], "dave"));
        ck_assert_ptr_null(j.out[p].share);
    }
}

START_TEST(test_join_duplicates)
{
    s_dup_case(1, 0);
    s_dup_case(0, 1);
    s_dup_case(1, 1);
    /* the unit: a duplicate is found among keys of different lengths, prefixes are not */
    uint8_t k[] = "abab";
    uint64_t off[4] = {0, 2, 4}, off2[4] = {0, 1, 2, 4};
    ck_assert_int_eq(mpc_psi_has_dup(k, off, 2), 1);
    ck_assert_int_eq(mpc_psi_has_dup(k, off2, 3), 0);
}
END_TEST

/* The same joins over the ZeroMQ transport as deployed (CURVE, one stream): the messages'
 * order, sizes and the transport's queue limits hold outside the in-memory hub too. */
START_TEST(test_join_zmq)
{
    char dir[] = "/tmp/check_join.XXXXXX", ep[2][128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    mpc_keypair *k[2];
    for (int i = 0; i < 2; i++) ck_assert_ptr_nonnull(k[i] = mpc_keypair_new());
    for (int i = 0; i < 2; i++) {
        snprintf(ep[i], sizeof ep[i], "ipc://%s/p%d", dir, i);
        mpc_zmq_config c;
        mpc_zmq_config_init(&c);
        c.self = (uint32_t)i;
        c.n = 2;
        c.bind = ep[i];
        c.keys = k[i];
        c.timeout_ms = TIMEOUT;
        memcpy(c.peer_public[1 - i], mpc_keypair_public(k[1 - i]), MPC_KEY_BYTES);
        char err[256];
        ck_assert_msg(mpc_transport_zmq_new(&s_zt[i], &c, err, sizeof err) == 0, "new: %s", err);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(mpc_transport_zmq_connect_peer(s_zt[i], (uint32_t)(1 - i), ep[1 - i]), 0);
    uint64_t until = mpc_now_ms() + 15000;
    for (int ok = 0; !ok;) {
        ok = 1;
        for (int i = 0; i < 2; i++)
            if (mpc_transport_zmq_ready(s_zt[i], 20) != 0) ok = 0;
        ck_assert_msg(mpc_now_ms() < until, "not ready: %s", mpc_transport_zmq_last_error(s_zt[0]));
    }
    s_join_case(300, 250, 120, 1);
    s_join_case(200, 0, 0, 0);
    for (int i = 0; i < 2; i++) {
        mpc_transport_destroy(&s_zt[i]);
        mpc_keypair_destroy(&k[i]);
        snprintf(ep[i], sizeof ep[i], "%s/p%d", dir, i);
        unlink(ep[i]);
    }
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* The parties must agree on the columns; the error names no value. */
START_TEST(test_join_mismatch)
{
    uint8_t k[] = "ab";
    uint64_t off[3] = {0, 1, 2};
    s_join j;
    memset(&j, 0, sizeof j);
    j.in[0] = (mpc_join_in){.rows = 2, .key_data = k, .key_off = off, .cols_a = 1, .timeout_ms = TIMEOUT};
    j.in[1] = (mpc_join_in){.rows = 2, .key_data = k, .key_off = off, .cols_a = 2, .timeout_ms = TIMEOUT};
    s_join_run(&j);
    ck_assert_int_eq(j.rc[0], MPC_ERR_INPUT);
    ck_assert_int_eq(j.rc[1], MPC_ERR_INPUT);
    ck_assert_msg(strstr(j.err[0], "disagree on the payload columns"), "%s", j.err[0]);
}
END_TEST

/* Different job salts would hash every key apart and find no match: both parties refuse
 * instead, and the message shows neither salt. */
START_TEST(test_join_salt_mismatch)
{
    uint8_t k[] = "ab";
    uint64_t off[3] = {0, 1, 2};
    for (int same = 0; same < 2; same++) {
        s_join j;
        memset(&j, 0, sizeof j);
        for (int p = 0; p < 2; p++) {
            j.in[p] = (mpc_join_in){.rows = 2, .key_data = k, .key_off = off, .timeout_ms = TIMEOUT};
            memset(j.in[p].salt, 0x41, 32);
        }
        if (!same) j.in[1].salt[31] = 0x42;
        s_join_run(&j);
        for (int p = 0; p < 2; p++) {
            if (same) {
                ck_assert_msg(j.rc[p] == 0, "%s", j.err[p]);
                ck_assert_uint_eq(j.out[p].intersection, p == 0 ? 2 : UINT64_MAX);
                mpc_join_out_free(&j.out[p]);
                continue;
            }
            ck_assert_int_eq(j.rc[p], MPC_ERR_PROTOCOL);
            ck_assert_msg(strstr(j.err[p], "the parties disagree on the join's salt"), "%s", j.err[p]);
            ck_assert_ptr_null(strstr(j.err[p], "AAAA"));
            ck_assert_ptr_null(j.out[p].share);
        }
    }
}
END_TEST

/* Stopping a run (join.h: stop, deadline_ms): 60,000 keys a side take seconds of group
 * operations; a stop flag set 300 ms in at one party (A, then B), or a deadline 300 ms away,
 * makes that party return within 3 s with MPC_ERR_CANCELLED ("cancelled") or MPC_ERR_TIMEOUT
 * ("the deadline passed"), and the other, which was given neither, with MPC_ERR_PEER_ABORT
 * from the ABORT it got; no output is left. */
START_TEST(test_join_stop)
{
    enum { N = 60000 };
    uint64_t *ida = malloc(N * 8), *idb = malloc(N * 8);
    for (uint64_t i = 0; i < N; i++) {
        ida[i] = i;
        idb[i] = 2 * i;
    }
    s_keys ka, kb;
    s_make_keys(&ka, ida, N);
    s_make_keys(&kb, idb, N);
    for (int c = 0; c < 3; c++) {
        int who = c == 1 ? 1 : 0;   /* the party that stops */
        atomic_int stop = 0;
        s_join j;
        memset(&j, 0, sizeof j);
        j.in[0] = (mpc_join_in){.rows = N, .key_data = ka.data, .key_off = ka.off, .timeout_ms = TIMEOUT};
        j.in[1] = (mpc_join_in){.rows = N, .key_data = kb.data, .key_off = kb.off, .timeout_ms = TIMEOUT};
        if (c < 2) j.in[who].stop = &stop;
        else j.in[who].deadline_ms = mpc_now_ms() + 300;
        j.hub = mpc_mem_hub_new(2, TIMEOUT);
        pthread_t th[2];
        s_join_arg args[2] = {{&j, 0}, {&j, 1}};
        for (int p = 0; p < 2; p++) ck_assert_int_eq(pthread_create(&th[p], NULL, s_join_party, &args[p]), 0);
        usleep(300000);
        atomic_store(&stop, 1);
        uint64_t t0 = mpc_now_ms();
        for (int p = 0; p < 2; p++) pthread_join(th[p], NULL);
        uint64_t took = mpc_now_ms() - t0;
        mpc_mem_hub_destroy(&j.hub);
        ck_assert_msg(took < 3000, "case %d: the parties took %llu ms to stop", c, (unsigned long long)took);
        ck_assert_msg(j.rc[who] == (c < 2 ? MPC_ERR_CANCELLED : MPC_ERR_TIMEOUT), "case %d: %d %s", c, j.rc[who],
                      j.err[who]);
        ck_assert_msg(strstr(j.err[who], c < 2 ? "the run was cancelled" : "the deadline passed"), "%s", j.err[who]);
        ck_assert_msg(j.rc[1 - who] == MPC_ERR_PEER_ABORT, "case %d: the other party: %d %s", c, j.rc[1 - who],
                      j.err[1 - who]);
        ck_assert_msg(strstr(j.err[1 - who], "the peer stopped the run"), "%s", j.err[1 - who]);
        for (int p = 0; p < 2; p++) ck_assert_ptr_null(j.out[p].share);
    }
    free(ka.data); free(ka.off); free(kb.data); free(kb.off);
    free(ida);
    free(idb);
}
END_TEST

/* The map to Curve25519 (psi.h) against libsodium's own group code: hashed points are on
 * the curve; blinding commutes with the Ristretto255 scalar multiplication it replaces (a
 * wrong u = 1/s² would not); peers' points off the curve, non-canonical or of small order
 * are refused. */
START_TEST(test_psi_points)
{
    uint8_t h[64], r[32], u[32], ra[32], rb[32], ua[32], ub[32], x1[32], x2[32], x3[32], x4[32];
    uint8_t a[32], b[32], wa[64], wb[64], sa[32], sb[32], many_r[70][32], many_u[70][32], one_u[70][32];
    for (int it = 0; it < 70; it++) {
        randombytes_buf(h, sizeof h);
        randombytes_buf(a, 32);
        randombytes_buf(b, 32);
        crypto_core_ristretto255_from_hash(r, h);
        mpc_psi_ristretto_to_u(u, r, 1);
        ck_assert_int_eq(mpc_psi_u_ok(u), 1);
        memcpy(many_r[it], r, 32);
        memcpy(one_u[it], u, 32);
        /* the clamped scalars X25519 uses, reduced mod L for Ristretto255 */
        memset(wa, 0, sizeof wa);
        memset(wb, 0, sizeof wb);
        memcpy(wa, a, 32);
        memcpy(wb, b, 32);
        wa[0] &= 248; wa[31] = (uint8_t)((wa[31] & 127) | 64);
        wb[0] &= 248; wb[31] = (uint8_t)((wb[31] & 127) | 64);
        crypto_core_ristretto255_scalar_reduce(sa, wa);
        crypto_core_ristretto255_scalar_reduce(sb, wb);
        ck_assert_int_eq(crypto_scalarmult_ristretto255(ra, sa, r), 0);
        ck_assert_int_eq(crypto_scalarmult_ristretto255(rb, sb, r), 0);
        mpc_psi_ristretto_to_u(ua, ra, 1);
        mpc_psi_ristretto_to_u(ub, rb, 1);
        ck_assert_int_eq(crypto_scalarmult(x1, b, ua), 0);
        ck_assert_int_eq(crypto_scalarmult(x2, a, ub), 0);
        ck_assert_int_eq(crypto_scalarmult(x4, a, u), 0);
        ck_assert_int_eq(crypto_scalarmult(x3, b, x4), 0);
        ck_assert(memcmp(x1, x2, 32) == 0 && memcmp(x1, x3, 32) == 0);
        /* an Ed25519 point's u from libsodium's own map is on the curve too */
        crypto_core_ed25519_from_uniform(x1, h);
        ck_assert_int_eq(crypto_sign_ed25519_pk_to_curve25519(x2, x1), 0);
        ck_assert_int_eq(mpc_psi_u_ok(x2), 1);
    }
    /* the batch (shared inversions, blocks of 64) gives the same u one by one */
    mpc_psi_ristretto_to_u(many_u[0], many_r[0], 70);
    ck_assert(memcmp(many_u, one_u, sizeof one_u) == 0);
    /* about half of all u are on the twist */
    int on = 0;
    uint8_t twist[32];
    memset(twist, 0, sizeof twist);   /* (an "= {0}" initialiser here trips gcc 12 -O3 -Warray-bounds) */
    for (int it = 0; it < 200; it++) {
        randombytes_buf(u, 32);
        u[31] &= 127;
        if (mpc_psi_u_ok(u)) on++;
        else memcpy(twist, u, 32);
    }
    ck_assert_msg(on > 60 && on < 140, "%d of 200 on the curve", on);
    /* points of order 8 and 4 on the curve, 0 (order 2), p − 1, p + 1 (non-canonical 1) */
    static const uint8_t ord8[32] = {0xe0,0xeb,0x7a,0x7c,0x3b,0x41,0xb8,0xae,0x16,0x56,0xe3,0xfa,0xf1,0x9f,
        0xc4,0x6a,0xda,0x09,0x8d,0xeb,0x9c,0x32,0xb1,0xfd,0x86,0x62,0x05,0x16,0x5f,0x49,0xb8,0x00};
    uint8_t bad[6][32] = {{0}}, pm1[32];
    memcpy(bad[0], ord8, 32);
    bad[1][0] = 1;                                   /* u = 1: order 4 if on the curve */
    memset(pm1, 0xff, 32);
    pm1[0] = 0xec; pm1[31] = 0x7f;                  /* p − 1 */
    memcpy(bad[3], pm1, 32);
    memcpy(bad[4], pm1, 32);
    bad[4][0] = 0xee;                                /* p + 1 */
    memcpy(bad[5], twist, 32);
    ck_assert_int_eq(mpc_psi_u_ok(ord8), 1);
    ck_assert_int_eq(mpc_psi_u_ok(bad[2]), 0);
    ck_assert_int_eq(mpc_psi_u_ok(bad[4]), 0);
    ck_assert_int_eq(mpc_psi_u_ok(bad[5]), 0);
    uint8_t in[2 * 32], out[2 * 32], *s = mpc_psi_scalar_new();
    ck_assert_ptr_nonnull(s);
    crypto_core_ristretto255_from_hash(r, h);
    mpc_psi_ristretto_to_u(in, r, 1);
    for (int i = 0; i < 6; i++) {
        memcpy(in + 32, bad[i], 32);
        ck_assert_int_eq(mpc_psi_blind(out, in, NULL, 1, s, NULL), 0);
        ck_assert_msg(mpc_psi_blind(out, in, NULL, 2, s, NULL) == MPC_ERR_PROTOCOL, "point %d", i);
        in[63] |= 0x80;                              /* the unused top bit set */
        memcpy(in + 32, in, 31);
        ck_assert_int_eq(mpc_psi_blind(out, in, NULL, 2, s, NULL), MPC_ERR_PROTOCOL);
    }
    mpc_psi_scalar_free(&s);
    ck_assert_ptr_null(s);
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("join");
    TCase *tc = tcase_create("join");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_psi_points);
    tcase_add_test(tc, test_benes_exhaustive);
    tcase_add_test(tc, test_benes_random);
    tcase_add_test(tc, test_osn_shares);
    tcase_add_test(tc, test_join_overlaps);
    tcase_add_test(tc, test_join_empty);
    tcase_add_test(tc, test_join_duplicates);
    tcase_add_test(tc, test_join_mismatch);
    tcase_add_test(tc, test_join_salt_mismatch);
    tcase_add_test(tc, test_join_zmq);
    tcase_add_test(tc, test_join_stop);
    suite_add_tcase(su, tc);
    return su;
}
