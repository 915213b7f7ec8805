/* check_collect.c — a daemon's collection state (mpcd/collect.h) with three daemons simulated
 * against each other, and the daemon's side (mpcd/contrib_daemon.h: CONTRIBUTE, the collectors'
 * agreement over an in-memory mesh, the close): contributions that reach only some daemons (a contributor that
 * vanished) never enter the sums, duplicates are refused, every daemon ends with a share of
 * exactly the same set, whose shares add up to the plaintext sum; tokens; the protocol
 * checks (batch order, committing what is not pending); the pending table's bound. */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "collect.h"
#include "compile.h"
#include "contrib_daemon.h"
#include "ctwire.h"
#include "transport_mem.h"
#include "config.h"
#include "cwire.h"
#include "engine.h"
#include "field61.h"
#include "flp.h"
#include "format.h"
#include "handlers.h"
#include "jobs.h"
#include "mpc_err.h"
#include "runner.h"

#define NP 3
#define L 9

static const mpcd_collect_limits s_lim = {.max_pending = 64, .max_count = 100000, .pending_ms = 1000};

START_TEST(test_tokens)
{
    uint8_t key[MPCD_TOKEN_KEY_BYTES], other[MPCD_TOKEN_KEY_BYTES], id[MPCD_TOKEN_ID_BYTES], tok[MPCD_TOKEN_BYTES];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    randombytes_buf(id, sizeof id);
    mpcd_token_make(key, id, tok);
    ck_assert_mem_eq(tok, id, sizeof id);
    ck_assert(mpcd_token_ok(key, tok));
    ck_assert(!mpcd_token_ok(other, tok));
    tok[MPCD_TOKEN_BYTES - 1] ^= 1;
    ck_assert(!mpcd_token_ok(key, tok));
    tok[MPCD_TOKEN_BYTES - 1] ^= 1;
    tok[0] ^= 1;   /* another id under the same tag */
    ck_assert(!mpcd_token_ok(key, tok));
}
END_TEST

/* Shares x (signed values) mod p among NP parties: out[p][e]. */
static void s_share(const int64_t *x, uint64_t out[NP][L])
{
    for (int e = 0; e < L; e++) {
        uint64_t v, rest;
        ck_assert_int_eq(mpc_f61_from_signed(x[e], &v), 0);
        rest = v;
        for (int p = 0; p + 1 < NP; p++) {
            out[p][e] = mpc_f61_reduce(randombytes_random() | (uint64_t)randombytes_random() << 32);
            rest = mpc_f61_sub(rest, out[p][e]);
        }
        out[NP - 1][e] = rest;
    }
}

/* One agreement round led by party 0. */
static uint32_t s_round(mpcd_collect **d, uint32_t max)
{
    uint8_t (*ids)[MPCD_CONTRIB_REF_BYTES] = malloc((size_t)max * MPCD_CONTRIB_REF_BYTES + 1);
    uint8_t bm[NP][64], and[64];
    uint64_t batch;
    uint32_t n = mpcd_collect_propose(d[0], ids, max, &batch);
    memset(and, 0xff, sizeof and);
    for (int p = 0; p < NP; p++) {
        ck_assert_int_eq(mpcd_collect_have(d[p], batch, (const uint8_t(*)[32])ids, n, bm[p]), 0);
        for (uint32_t i = 0; i < (n + 7) / 8; i++) and[i] &= bm[p][i];
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) k += and[i / 8] >> (i % 8) & 1;
    for (int p = 0; p < NP; p++) ck_assert_int_eq(mpcd_collect_commit(d[p], batch, (const uint8_t(*)[32])ids, n, and), 0);
    free(ids);
    return k;
}

START_TEST(test_three_daemons_dropouts)
{
    mpcd_collect *d[NP];
    for (int p = 0; p < NP; p++) ck_assert_ptr_nonnull(d[p] = mpcd_collect_new(L, &s_lim));
    int64_t want[L] = {0};
    uint64_t now = 0, included = 0, dup_refused = 0;
    for (int c = 0; c < 400; c++) {
        uint8_t id[MPCD_CONTRIB_REF_BYTES];   /* contributor id, nonce */
        randombytes_buf(id, sizeof id);
        int64_t x[L];
        for (int e = 0; e < L; e++) x[e] = (int64_t)randombytes_uniform(2001) - 1000;
        uint64_t sh[NP][L];
        s_share(x, sh);
        /* 1 in 8 contributors vanish after reaching only some daemons (never daemon 2) */
        int reach = c % 8 == 3 ? (c % 16 == 3 ? 1 : 2) : NP;
        for (int p = 0; p < reach; p++) ck_assert_int_eq(mpcd_collect_offer(d[p], id, sh[p], L, now), 0);
        if (reach == NP) {
            for (int e = 0; e < L; e++) want[e] += x[e];
            included++;
        }
        if (c % 8 == 3 || c % 50 == 7) {
            /* the same contributor again (a new nonce, other values): refused where the first
             * arrived; where it had not, it is pending with another nonce than the others
             * hold, so it is never committed */
            int64_t y[L] = {5};
            uint64_t sh2[NP][L];
            s_share(y, sh2);
            randombytes_buf(id + MPCD_TOKEN_ID_BYTES, MPCD_TOKEN_ID_BYTES);
            for (int p = 0; p < NP; p++) {
                int rc = mpcd_collect_offer(d[p], id, sh2[p], L, now);
                ck_assert_int_eq(rc, p < reach ? MPC_ERR_STATE : 0);
                dup_refused += rc == MPC_ERR_STATE;
            }
        }
        now += 10;
        if (c % 20 == 19) s_round(d, 32);          /* a batch every 200 ms, at most 32 */
        for (int p = 0; p < NP; p++) mpcd_collect_expire(d[p], now);
    }
    ck_assert_uint_gt(dup_refused, 0);
    now += 10 * s_lim.pending_ms;   /* whatever is left: batches until nothing more is common */
    while (s_round(d, 16) > 0) {}
    for (int p = 0; p < NP; p++) mpcd_collect_expire(d[p], now);
    uint64_t b0, c0, b, cnt;
    uint8_t g0[32], g[32];
    mpcd_collect_summary(d[0], &b0, &c0, g0);
    for (int p = 1; p < NP; p++) {
        mpcd_collect_summary(d[p], &b, &cnt, g);
        ck_assert_uint_eq(b, b0);
        ck_assert_uint_eq(cnt, c0);
        ck_assert_mem_eq(g, g0, 32);
    }
    ck_assert_uint_eq(c0, included);   /* only the ones every daemon got (none expired in time) */
    uint64_t share[NP][L + 1], t[L + 1] = {0};
    for (int p = 0; p < NP; p++) {
        mpcd_collect_close(d[p], p == 0, share[p]);
        for (int e = 0; e <= L; e++) t[e] = e < L ? mpc_f61_add(t[e], share[p][e]) : t[e] + share[p][e];
        ck_assert_uint_eq(mpcd_collect_pending(d[p]), 0);
    }
    ck_assert_uint_eq(t[L], included);
    for (int e = 0; e < L; e++) ck_assert_int_eq(mpc_f61_to_signed(t[e]), want[e]);
    uint8_t id[MPCD_CONTRIB_REF_BYTES] = {1};
    uint64_t z[L] = {0};
    ck_assert_int_eq(mpcd_collect_offer(d[0], id, z, L, now), MPC_ERR_STATE);   /* closed */
    for (int p = 0; p < NP; p++) mpcd_collect_free(&d[p]);
}
END_TEST

START_TEST(test_protocol_checks)
{
    mpcd_collect *d = mpcd_collect_new(L, &s_lim);
    uint8_t ids[3][MPCD_CONTRIB_REF_BYTES];
    uint64_t z[L] = {0}, big[L] = {0};
    big[4] = MPC_F61_P;
    for (int i = 0; i < 3; i++) {
        randombytes_buf(ids[i], sizeof ids[i]);
        ck_assert_int_eq(mpcd_collect_offer(d, ids[i], z, L, 0), i < 2 ? 0 : 0);
    }
    uint8_t x[MPCD_CONTRIB_REF_BYTES] = {9};
    ck_assert_int_eq(mpcd_collect_offer(d, x, big, L, 0), MPC_ERR_INPUT);   /* element >= p */
    ck_assert_int_eq(mpcd_collect_offer(d, x, z, L - 1, 0), MPC_ERR_INPUT); /* wrong length */
    ck_assert_int_eq(mpcd_collect_offer(d, x, z, L, 0), 0);                 /* nothing was kept */
    uint8_t bm = 0x07, bm2[1];
    ck_assert_int_eq(mpcd_collect_have(d, 1, (const uint8_t(*)[32])ids, 3, bm2), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpcd_collect_commit(d, 1, (const uint8_t(*)[32])ids, 3, &bm), MPC_ERR_PROTOCOL);
    uint8_t dup[2][MPCD_CONTRIB_REF_BYTES];
    memcpy(dup[0], ids[0], 32);
    memcpy(dup[1], ids[0], 32);
    uint8_t b2 = 0x03;
    ck_assert_int_eq(mpcd_collect_commit(d, 0, (const uint8_t(*)[32])dup, 2, &b2), MPC_ERR_PROTOCOL);
    ck_assert_uint_eq(mpcd_collect_pending(d), 4);   /* nothing changed */
    uint8_t wrong[1][MPCD_CONTRIB_REF_BYTES];
    memcpy(wrong[0], ids[2], 32);
    wrong[0][20] ^= 1;   /* that contributor, another nonce: not what is pending here */
    uint8_t one = 1;
    ck_assert_int_eq(mpcd_collect_have(d, 0, (const uint8_t(*)[32])wrong, 1, bm2), 0);
    ck_assert_uint_eq(bm2[0], 0);
    ck_assert_int_eq(mpcd_collect_commit(d, 0, (const uint8_t(*)[32])wrong, 1, &one), MPC_ERR_PROTOCOL);
    ck_assert_int_eq(mpcd_collect_have(d, 0, (const uint8_t(*)[32])ids, 3, bm2), 0);
    ck_assert_uint_eq(bm2[0], 7);
    ck_assert_int_eq(mpcd_collect_commit(d, 0, (const uint8_t(*)[32])ids, 3, &bm), 0);
    ck_assert_int_eq(mpcd_collect_commit(d, 1, (const uint8_t(*)[32])ids, 1, &bm), MPC_ERR_PROTOCOL); /* included */
    ck_assert_uint_eq(mpcd_collect_pending(d), 1);
    ck_assert_int_eq(mpcd_collect_offer(d, ids[1], z, L, 0), MPC_ERR_STATE);   /* included: a duplicate */
    mpcd_collect_free(&d);

    /* the pending table's bound, and max_count */
    mpcd_collect_limits lim = {.max_pending = 4, .max_count = 6, .pending_ms = 100};
    d = mpcd_collect_new(L, &lim);
    uint8_t many[8][MPCD_CONTRIB_REF_BYTES];
    for (int i = 0; i < 8; i++) randombytes_buf(many[i], sizeof many[i]);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(mpcd_collect_offer(d, many[i], z, L, 5), 0);
    ck_assert_int_eq(mpcd_collect_offer(d, many[4], z, L, 5), MPC_ERR_LIMIT);
    ck_assert_uint_eq(mpcd_collect_expire(d, 105), 0);
    ck_assert_uint_eq(mpcd_collect_expire(d, 106), 4);
    ck_assert_int_eq(mpcd_collect_offer(d, many[0], z, L, 200), MPC_ERR_STATE);   /* dropped: still seen */
    for (int i = 4; i < 8; i++) ck_assert_int_eq(mpcd_collect_offer(d, many[i], z, L, 200), 0);
    uint8_t all = 0x0f;
    ck_assert_int_eq(mpcd_collect_commit(d, 0, (const uint8_t(*)[32])(many + 4), 4, &all), 0);
    uint8_t more[MPCD_CONTRIB_REF_BYTES] = {7}, more2[MPCD_CONTRIB_REF_BYTES] = {8}, more3[MPCD_CONTRIB_REF_BYTES] = {6};
    ck_assert_int_eq(mpcd_collect_offer(d, more, z, L, 200), 0);
    ck_assert_int_eq(mpcd_collect_offer(d, more2, z, L, 200), 0);
    ck_assert_int_eq(mpcd_collect_offer(d, more3, z, L, 200), MPC_ERR_STATE);   /* 4 + 2 = max_count */
    mpcd_collect_free(&d);
}
END_TEST

/* Prep messages kept with the pending contributions; a rejected one dropped, counted as
 * invalid and still seen; a nonce refused a second time under another id. */
START_TEST(test_reject_and_nonces)
{
    mpcd_collect_limits lim = {.max_pending = 8, .max_count = 100, .pending_ms = 1000, .msg_bytes = 40};
    mpcd_collect *d = mpcd_collect_new(L, &lim);
    ck_assert_ptr_nonnull(d);
    uint8_t refs[4][MPCD_CONTRIB_REF_BYTES], msg[40];
    uint64_t sh[L] = {1, 2, 3};   /* the rest 0 */
    for (int i = 0; i < 4; i++) {
        randombytes_buf(refs[i], sizeof refs[i]);
        memset(msg, i, sizeof msg);
        ck_assert_int_eq(mpcd_collect_offer(d, refs[i], sh, L, 0), MPC_ERR_INPUT);   /* no message */
        ck_assert_int_eq(mpcd_collect_offer_msg(d, refs[i], sh, L, msg, 0), 0);
    }
    const uint8_t *m = mpcd_collect_msg(d, refs[2]);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m[0], 2);
    ck_assert_int_eq(m[39], 2);
    uint8_t other[MPCD_CONTRIB_REF_BYTES];
    randombytes_buf(other, 16);
    memcpy(other + 16, refs[1] + 16, 16);   /* a new id, a nonce seen */
    ck_assert_int_eq(mpcd_collect_offer_msg(d, other, sh, L, msg, 0), MPC_ERR_STATE);
    uint8_t inval[1] = {0x2}, com[1] = {0x5};   /* 1 invalid; 0 and 2 in; 3 stays pending */
    ck_assert_int_eq(mpcd_collect_reject(d, 1, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, 4, inval),
                     MPC_ERR_PROTOCOL);   /* not this batch */
    ck_assert_int_eq(mpcd_collect_reject(d, 0, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, 4, inval), 0);
    ck_assert_ptr_null(mpcd_collect_msg(d, refs[1]));
    ck_assert_int_eq(mpcd_collect_reject(d, 0, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, 4, inval),
                     MPC_ERR_PROTOCOL);   /* not pending any more */
    ck_assert_int_eq(mpcd_collect_commit(d, 0, (const uint8_t(*)[MPCD_CONTRIB_REF_BYTES])refs, 4, com), 0);
    ck_assert_uint_eq(mpcd_collect_invalid(d), 1);
    ck_assert_uint_eq(mpcd_collect_pending(d), 1);
    ck_assert_int_eq(mpcd_collect_offer_msg(d, refs[1], sh, L, msg, 0), MPC_ERR_STATE);   /* still seen */
    uint64_t b, cnt, out[L + 1];
    uint8_t dg[32];
    mpcd_collect_summary(d, &b, &cnt, dg);
    ck_assert_uint_eq(cnt, 2);
    mpcd_collect_close(d, 1, out);
    ck_assert_uint_eq(out[0], 2);
    ck_assert_uint_eq(out[2], 6);
    ck_assert_uint_eq(out[L], 2);
    mpcd_collect_free(&d);
}
END_TEST

START_TEST(test_many_ids)
{
    /* the dedup set grows past its first size and still finds every id */
    mpcd_collect_limits lim = {.max_pending = 256, .max_count = 1u << 20, .pending_ms = 1000};
    mpcd_collect *d = mpcd_collect_new(1, &lim);
    uint64_t z = 1;
    uint8_t (*ids)[MPCD_CONTRIB_REF_BYTES] = malloc(5000 * MPCD_CONTRIB_REF_BYTES);
    for (int i = 0; i < 5000; i++) {
        memset(ids[i], 0, 32);
        memcpy(ids[i], &i, sizeof i);   /* sequential ids: the keyed hash spreads them */
        ck_assert_int_eq(mpcd_collect_offer(d, ids[i], &z, 1, 0), 0);
        if (mpcd_collect_pending(d) == 256) {
            uint8_t bm[32];
            memset(bm, 0xff, sizeof bm);
            uint64_t batch;
            uint8_t (*p)[MPCD_CONTRIB_REF_BYTES] = malloc(256 * MPCD_CONTRIB_REF_BYTES);
            ck_assert_uint_eq(mpcd_collect_propose(d, p, 256, &batch), 256);
            ck_assert_int_eq(mpcd_collect_commit(d, batch, (const uint8_t(*)[32])p, 256, bm), 0);
            free(p);
        }
    }
    for (int i = 0; i < 5000; i += 7) ck_assert_int_eq(mpcd_collect_offer(d, ids[i], &z, 1, 0), MPC_ERR_STATE);
    uint64_t b, cnt;
    uint8_t g[32];
    mpcd_collect_summary(d, &b, &cnt, g);
    ck_assert_uint_eq(cnt, 4864);   /* 19 full batches of 256 */
    uint64_t sh[2];
    mpcd_collect_close(d, 1, sh);
    ck_assert_uint_eq(sh[0], 4864);
    ck_assert_uint_eq(sh[1], 4864);
    free(ids);
    mpcd_collect_free(&d);
}
END_TEST

/* A daemon without a contributor token key serves no collections: a circuit with a
 * contributor input is refused at submission; and no client may give an input named like a
 * collection's (it would stand in for the aggregate). */
START_TEST(test_daemon_refuses_contributor_inputs)
{
    mpcd_config cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.name, "a");
    cfg.n_parties = 2;
    strcpy(cfg.parties[0].name, "a");
    strcpy(cfg.parties[1].name, "b");
    cfg.n_clients = 1;
    strcpy(cfg.clients[0].name, "analyst");
    cfg.clients[0].may_submit = 1;
    cfg.clients[0].input_for = 3;
    cfg.allow_any_program = 1;
    cfg.max_queued_jobs = 10;
    cfg.max_jobs_per_client = 10;
    cfg.max_job_bytes = (int64_t)1 << 26;
    const char *src[2] = {"party a, b\ninput g: int[4] from contributors in 0..1\noutput n = count(g) to a\n",
                          "party a, b\ninput x: int from a\noutput y = x to a\n"};
    mpcd_jobs *jobs = mpcd_jobs_new(100);
    for (int i = 0; i < 2; i++) {
        mpc_circuit *c = NULL;
        mpc_diag dg;
        ck_assert_int_eq(mpc_compile(src[i], strlen(src[i]), "p.mpc", NULL, 0, &c, &dg), 0);
        mpc_diag_free(&dg);
        uint8_t *b = NULL;
        size_t len;
        ck_assert_int_eq(mpc_circ_write(c, &b, &len), 0);
        mpc_circ_destroy(&c);
        mpc_cwire_req req;
        memset(&req, 0, sizeof req);
        req.type = MPC_CW_SUBMIT;
        req.rid = 1;
        req.job[0] = (uint8_t)(i + 1);
        req.n_bind = 2;
        strcpy(req.bind[0], "a");
        strcpy(req.bind[1], "b");
        req.circ = b;
        req.circ_len = len;
        mpc_cwire_rep rep;
        uint64_t *share = NULL;
        mpcd_handle(&cfg, jobs, "analyst", &req, NULL, 0, NULL, &rep, &share);
        if (i == 0) {
            ck_assert_int_eq(rep.type, MPC_CW_ERROR);
            ck_assert_int_eq(rep.code, MPC_ERR_UNSUPPORTED);
            ck_assert_ptr_nonnull(strstr(rep.msg, "contributor input"));
        } else {
            ck_assert_msg(rep.type == MPC_CW_SUBMIT_OK, "%s", rep.msg);
            /* an input named like a collection's, which this circuit does not have */
            req.type = MPC_CW_INPUT;
            strcpy(req.name, "x-contrib");
            req.count = 1;
            uint64_t v = 5;
            mpcd_handle(&cfg, jobs, "analyst", &req, (const uint8_t *)&v, 8, NULL, &rep, &share);
            ck_assert_int_eq(rep.type, MPC_CW_ERROR);
            ck_assert_int_eq(rep.code, MPC_ERR_NOTFOUND);
        }
        free(b);
    }
    mpcd_jobs_destroy(&jobs);
}
END_TEST

/* A fresh token key, loaded as the daemons' (mpcd_contrib_key_load from a file). */
static void s_load_key(uint8_t key[32])
{
    char kpath[] = "/tmp/check_collect_key_XXXXXX";
    int fd = mkstemp(kpath);
    ck_assert_int_ge(fd, 0);
    char hex[65], err[256];
    randombytes_buf(key, 32);
    sodium_bin2hex(hex, sizeof hex, key, 32);
    ck_assert_int_eq((int)write(fd, hex, 64), 64);
    close(fd);
    ck_assert_msg(mpcd_contrib_key_load(kpath, err, sizeof err) == 0, "%s", err);
    unlink(kpath);
}

/* Forms of contribution q (its payloads pay[p], plen[p]) every daemon refuses: the explicit
 * share to a seed daemon, a seed to the first party, a forged token, a client without the
 * right; with reused_nonce, a new contributor reusing that nonce, and one without a proof. */
static void s_refusals(const mpcd_config *cfg, mpcd_jobs **jobs, mpc_ct_req *q, uint8_t **pay, const size_t *plen,
                       const uint8_t key[32], const uint8_t *reused_nonce)
{
    char err[256];
    uint64_t pending;
    q->mode = MPC_CW_EXPLICIT;
    q->proof_len = plen[0];
    ck_assert_int_eq(mpcd_contrib_handle(cfg, jobs[1], "contrib", q, pay[0], plen[0], &pending, err, sizeof err),
                     MPC_ERR_INPUT);
    q->mode = MPC_CW_SEED;
    q->proof_len = plen[1];
    ck_assert_int_eq(mpcd_contrib_handle(cfg, jobs[0], "contrib", q, pay[1], plen[1], &pending, err, sizeof err),
                     MPC_ERR_INPUT);
    ck_assert_ptr_null(strstr(err, "0x"));
    q->token[40] ^= 1;   /* a forged token */
    ck_assert_int_eq(mpcd_contrib_handle(cfg, jobs[1], "contrib", q, pay[1], plen[1], &pending, err, sizeof err),
                     MPC_ERR_DENIED);
    ck_assert_int_eq(mpcd_contrib_handle(cfg, jobs[1], "nobody", q, pay[1], plen[1], &pending, err, sizeof err),
                     MPC_ERR_DENIED);
    if (!reused_nonce) return;
    uint8_t uid2[16];
    randombytes_buf(uid2, sizeof uid2);
    mpcd_token_make(key, uid2, q->token);
    memcpy(q->nonce, reused_nonce, 16);
    ck_assert_int_eq(mpcd_contrib_handle(cfg, jobs[1], "contrib", q, pay[1], plen[1], &pending, err, sizeof err),
                     MPC_ERR_STATE);
    randombytes_buf(q->nonce, sizeof q->nonce);
    q->proof_len = 0;
    ck_assert_int_eq(mpcd_contrib_handle(cfg, jobs[1], "contrib", q, pay[1], 32, &pending, err, sizeof err),
                     MPC_ERR_INPUT);
}

/* Three daemons' collectors over the in-memory mesh: contributions with validity proofs
 * through mpcd_contrib_handle (the explicit FLP share to the first party, seeds to the others,
 * as the SDK sends them), some reaching only two daemons (dropped), some out of range with an
 * honest proof or with a tampered proof or seed (rejected by the leader's decision: neither
 * in the sums nor in the count), duplicates, forged tokens and malformed forms refused; the collection closes at its window and every daemon's job gets a share of the
 * same set, adding up to the plaintext sums and count. */
START_TEST(test_collectors_over_mesh)
{
    enum { NP3 = 3, LEN = 5, NC = 60 };
    uint8_t key[32];
    s_load_key(key);
    char err[256];

    mpcd_config cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.name, "a");
    cfg.n_clients = 1;
    strcpy(cfg.clients[0].name, "contrib");
    cfg.clients[0].may_contribute = 1;
    cfg.contrib_window_ms = 600;
    cfg.contrib_max_count = 1000;
    cfg.contrib_max_pending = 64;
    cfg.contrib_pending_ms = 200;
    const char *src = "party a, b, c\ninput g: int[5] from contributors in -10..10\noutput s = sum(g) to a\n";
    mpc_mem_hub *hub = mpc_mem_hub_new(NP3, 1000);
    mpcd_jobs *jobs[NP3];
    mpcd_collector x[NP3];
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint32_t binding[MPC_MAX_PARTIES] = {0, 1, 2};
    for (uint32_t p = 0; p < NP3; p++) {
        jobs[p] = mpcd_jobs_new(10);
        mpc_circuit *c = NULL;
        mpc_diag dg;
        ck_assert_int_eq(mpc_compile(src, strlen(src), "p.mpc", NULL, 0, &c, &dg), 0);
        mpc_diag_free(&dg);
        uint8_t h[32];
        ck_assert_int_eq(mpc_circ_hash(c, h), 0);
        ck_assert_int_eq(mpcd_jobs_add(jobs[p], id, "analyst", &c, h, binding, p), 0);
        mpcd_jobs_lock(jobs[p]);
        ck_assert_int_eq(mpcd_contrib_open(&cfg, mpcd_jobs_find(jobs[p], id), mpc_now_ms(), 0, 0), 0);
        mpcd_jobs_unlock(jobs[p]);
        memset(&x[p], 0, sizeof x[p]);
        x[p].mesh = mpc_mem_transport_new(hub, p);
        x[p].jobs = jobs[p];
        x[p].self = p;
        x[p].n_parties = NP3;
        x[p].batch_ms = 20;
        x[p].peer_timeout_ms = 5000;
        snprintf(x[p].names[p], sizeof x[p].names[p], "%c", 'a' + p);
    }
    int64_t want[LEN] = {0};
    uint64_t included = 0;
    mpc_flp f;
    ck_assert_int_eq(mpc_flp_init(&f, LEN, -10, 10, 0, 2), 0);
    size_t pub_len = mpc_flp_public_share_size(NP3), plen[NP3];
    uint8_t *pay[NP3], *sh[NP3];
    for (uint32_t p = 0; p < NP3; p++) {
        plen[p] = mpc_flp_input_share_size(&f, p > 0) + pub_len;
        pay[p] = malloc(plen[p]);
        sh[p] = pay[p];
    }
    uint8_t pub[32 * NP3];
    uint64_t *meas = malloc(f.meas_len * 8);
    uint8_t nonce0[16];
    for (int i = 0; i < NC; i++) {
        int64_t v[LEN];
        for (int e = 0; e < LEN; e++) v[e] = (int64_t)randombytes_uniform(21) - 10;
        ck_assert_int_eq(mpc_flp_encode(&f, v, meas), 0);
        /* every 9th from 2: element 0 far out of range, honestly proved; from 5: a tampered
         * proof share (the explicit one, or a seed daemon's seed) */
        int bad = i % 9 == 2 ? 1 : i % 9 == 5 ? 2 : 0;
        if (bad == 1) meas[f.bits - 1] = 1000;
        mpc_ct_req q;
        memset(&q, 0, sizeof q);
        memcpy(q.job, id, 16);
        strcpy(q.name, "g");
        uint8_t uid[16];
        randombytes_buf(uid, sizeof uid);
        mpcd_token_make(key, uid, q.token);
        randombytes_buf(q.nonce, sizeof q.nonce);
        if (i == 0) memcpy(nonce0, q.nonce, 16);
        q.count = LEN;
        ck_assert_int_eq(mpc_flp_shard(&f, NP3, 1, meas, q.nonce, sh, pub), 0);
        if (bad == 2 && i % 2) pay[0][8 * f.meas_len + 8 * (i % 7)] ^= 1;
        else if (bad == 2) pay[1 + i % 2][3] ^= 0x40;
        for (uint32_t p = 0; p < NP3; p++) memcpy(pay[p] + plen[p] - pub_len, pub, pub_len);
        int reach = i % 10 == 4 ? 2 : NP3;   /* a contributor that vanished midway */
        for (uint32_t p = 0; p < (uint32_t)reach; p++) {
            q.mode = p == 0 ? MPC_CW_EXPLICIT : MPC_CW_SEED;
            q.proof_len = plen[p];
            uint64_t pending = 0;
            int rc = mpcd_contrib_handle(&cfg, jobs[p], "contrib", &q, pay[p], plen[p], &pending, err, sizeof err);
            ck_assert_msg(rc == 0, "%d: %s", i, err);
            if (i % 7 == 0) {   /* again: a duplicate */
                rc = mpcd_contrib_handle(&cfg, jobs[p], "contrib", &q, pay[p], plen[p], &pending, err, sizeof err);
                ck_assert_int_eq(rc, MPC_ERR_STATE);
            }
        }
        if (reach == NP3 && !bad) {
            included++;
            for (int e = 0; e < LEN; e++) want[e] += v[e];
        }
        s_refusals(&cfg, jobs, &q, pay, plen, key, i == 1 ? nonce0 : NULL);
        if (i % 8 == 0)
            for (uint32_t p = 0; p < NP3; p++) mpcd_collector_pass(&x[p], mpc_now_ms());
    }
    free(meas);
    for (uint32_t p = 0; p < NP3; p++) free(pay[p]);
    int done = 0;
    for (int t = 0; t < 400 && !done; t++) {
        for (uint32_t p = 0; p < NP3; p++) mpcd_collector_pass(&x[p], mpc_now_ms());
        done = 1;
        for (uint32_t p = 0; p < NP3; p++) {
            mpcd_jobs_lock(jobs[p]);
            mpcd_job *job = mpcd_jobs_find(jobs[p], id);
            ck_assert_msg(job->state != MPCD_JOB_FAILED, "%s", job->reason);
            done &= job->inputs[0].present;
            mpcd_jobs_unlock(jobs[p]);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(done, "the collection did not close");
    uint64_t t[LEN + 1] = {0};
    for (uint32_t p = 0; p < NP3; p++) {
        mpcd_jobs_lock(jobs[p]);
        mpcd_job *job = mpcd_jobs_find(jobs[p], id);
        ck_assert_int_eq(job->inputs[0].mode, MPC_IN_STORED);
        for (int e = 0; e <= LEN; e++)
            t[e] = e < LEN ? mpc_f61_add(t[e], job->inputs[0].share[e]) : t[e] + job->inputs[0].share[e];
        mpcd_jobs_unlock(jobs[p]);
    }
    ck_assert_uint_eq(t[LEN], included);
    for (int e = 0; e < LEN; e++) ck_assert_int_eq(mpc_f61_to_signed(t[e]), want[e]);
    /* closed: a late contribution is refused by the leader */
    mpc_ct_req q;
    memset(&q, 0, sizeof q);
    memcpy(q.job, id, 16);
    strcpy(q.name, "g");
    uint8_t uid[16] = {5};
    mpcd_token_make(key, uid, q.token);
    q.count = LEN;
    q.mode = MPC_CW_EXPLICIT;
    q.proof_len = mpc_flp_input_share_size(&f, 0) + mpc_flp_public_share_size(NP3);
    uint8_t *late = calloc(1, q.proof_len);
    uint64_t pending;
    ck_assert_int_eq(mpcd_contrib_handle(&cfg, jobs[0], "contrib", &q, late, q.proof_len, &pending, err, sizeof err),
                     MPC_ERR_STATE);
    free(late);
    for (uint32_t p = 0; p < NP3; p++) {
        mpc_transport_destroy(&x[p].mesh);
        mpcd_jobs_destroy(&jobs[p]);
    }
    mpc_mem_hub_destroy(&hub);
    mpcd_contrib_key_free();
}
END_TEST

/* Three daemons of one job on program src, collections opened, collectors over a new mesh. */
static mpc_mem_hub *s_three(const mpcd_config *cfg, const char *src, const uint8_t id[16], mpcd_jobs **jobs,
                            mpcd_collector *x)
{
    mpc_mem_hub *hub = mpc_mem_hub_new(3, 1000);
    uint32_t binding[MPC_MAX_PARTIES] = {0, 1, 2};
    for (uint32_t p = 0; p < 3; p++) {
        jobs[p] = mpcd_jobs_new(10);
        mpc_circuit *c = NULL;
        mpc_diag dg;
        ck_assert_int_eq(mpc_compile(src, strlen(src), "p.mpc", NULL, 0, &c, &dg), 0);
        mpc_diag_free(&dg);
        uint8_t h[32];
        ck_assert_int_eq(mpc_circ_hash(c, h), 0);
        ck_assert_int_eq(mpcd_jobs_add(jobs[p], id, "analyst", &c, h, binding, p), 0);
        mpcd_jobs_lock(jobs[p]);
        ck_assert_int_eq(mpcd_contrib_open(cfg, mpcd_jobs_find(jobs[p], id), mpc_now_ms(), 0, 0), 0);
        mpcd_jobs_unlock(jobs[p]);
        memset(&x[p], 0, sizeof x[p]);
        x[p].mesh = mpc_mem_transport_new(hub, p);
        x[p].jobs = jobs[p];
        x[p].self = p;
        x[p].n_parties = 3;
        x[p].batch_ms = 20;
        x[p].peer_timeout_ms = 5000;
        snprintf(x[p].names[p], sizeof x[p].names[p], "%c", 'a' + p);
    }
    return hub;
}

/* One contribution v (proved under f, with its first derived entry off by one when lie) from a
 * fresh contributor to all three daemons: mpcd_contrib_handle's result at the first party (the
 * others must agree). */
static int s_send_derived(const mpcd_config *cfg, mpcd_jobs **jobs, const uint8_t key[32], const uint8_t id[16],
                          const mpc_flp *f, const int64_t *v, int lie)
{
    size_t pub_len = mpc_flp_public_share_size(3), plen[3];
    uint8_t *pay[3], pub[96];
    for (uint32_t p = 0; p < 3; p++) {
        plen[p] = mpc_flp_input_share_size(f, p > 0) + pub_len;
        pay[p] = malloc(plen[p]);
    }
    uint64_t *meas = malloc(f->meas_len * 8);
    ck_assert_int_eq(mpc_flp_encode(f, v, meas), 0);
    if (lie) meas[f->bit_len] = mpc_f61_add(meas[f->bit_len], 1);
    mpc_ct_req q;
    memset(&q, 0, sizeof q);
    memcpy(q.job, id, 16);
    strcpy(q.name, "g");
    uint8_t uid[16];
    randombytes_buf(uid, sizeof uid);
    mpcd_token_make(key, uid, q.token);
    randombytes_buf(q.nonce, sizeof q.nonce);
    q.count = f->dim;
    ck_assert_int_eq(mpc_flp_shard(f, 3, 1, meas, q.nonce, pay, pub), 0);
    int rc0 = 0;
    char err[256];
    for (uint32_t p = 0; p < 3; p++) {
        memcpy(pay[p] + plen[p] - pub_len, pub, pub_len);
        q.mode = p == 0 ? MPC_CW_EXPLICIT : MPC_CW_SEED;
        q.proof_len = plen[p];
        uint64_t pending = 0;
        int rc = mpcd_contrib_handle(cfg, jobs[p], "contrib", &q, pay[p], plen[p], &pending, err, sizeof err);
        if (p == 0) rc0 = rc;
        ck_assert_msg(rc == rc0, "party %u: %d (%s), the first party %d", p, rc, err, rc0);
    }
    if (!lie) {   /* the element count is D, never D + the entries */
        q.count = f->out_len;
        uint64_t pending;
        ck_assert_int_eq(mpcd_contrib_handle(cfg, jobs[1], "contrib", &q, pay[1], plen[1], &pending, err, sizeof err),
                         MPC_ERR_INPUT);
        char want[96];
        snprintf(want, sizeof want, "has %llu elements, not %llu", (unsigned long long)f->out_len,
                 (unsigned long long)f->dim);
        ck_assert_msg(strstr(err, want), "%s", err);
    }
    free(meas);
    for (uint32_t p = 0; p < 3; p++) free(pay[p]);
    return rc0;
}

/* Derived entries through the daemons (docs/contributions.md, "Per-contribution operations"):
 * each daemon builds the proof's circuit with the program's terms, its running sums are D +
 * entries long, a contribution lying in an entry is rejected by the leader's decision, and the
 * shares add up to the plaintext sums of the values, of the squares and of the sliced dot
 * products; a share proved without the entries has the wrong form.  Then a program whose
 * products allow only 3 contributions (max_count): the daemons take 3 and refuse the 4th. */
START_TEST(test_collectors_derived)
{
    enum { LEN = 5, NC = 24 };
    uint8_t key[32], id[16];
    s_load_key(key);
    mpcd_config cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.name, "a");
    cfg.n_clients = 1;
    strcpy(cfg.clients[0].name, "contrib");
    cfg.clients[0].may_contribute = 1;
    cfg.contrib_window_ms = 600;
    cfg.contrib_max_count = 1000;
    cfg.contrib_max_pending = 64;
    cfg.contrib_pending_ms = 2000;
    const char *src = "party a, b, c\ninput g: int[5] from contributors in -10..10\n"
                      "output s = sum(g), q = sum(g * g), d = sum(dot(g[0:2], g[3:5])) to a\n";
    mpcd_jobs *jobs[3];
    mpcd_collector x[3];
    randombytes_buf(id, sizeof id);
    mpc_mem_hub *hub = s_three(&cfg, src, id, jobs, x);
    mpc_flp_term t[2] = {{0, 0, LEN, 1}, {0, 3, 2, 0}}, t1[1] = {{0, 0, LEN, 1}};
    mpc_flp f, g;
    ck_assert_int_eq(mpc_flp_init_derived(&f, LEN, -10, 10, 0, t, 2, 2), 0);
    ck_assert_int_eq(mpc_flp_init_derived(&g, LEN, -10, 10, 0, t1, 1, 2), 0);
    int64_t want[LEN + LEN + 1] = {0};
    uint64_t included = 0;
    for (int i = 0; i < NC; i++) {
        int64_t v[LEN];
        for (int e = 0; e < LEN; e++) v[e] = (int64_t)randombytes_uniform(21) - 10;
        int lie = i % 4 == 3;
        ck_assert_int_eq(s_send_derived(&cfg, jobs, key, id, &f, v, lie), 0);
        if (i == 5) {   /* proved for other terms: another proof length, the wrong form */
            mpc_ct_req q;
            memset(&q, 0, sizeof q);
            memcpy(q.job, id, 16);
            strcpy(q.name, "g");
            q.count = LEN;
            mpcd_token_make(key, id, q.token);
            q.mode = MPC_CW_EXPLICIT;
            q.proof_len = mpc_flp_input_share_size(&g, 0) + mpc_flp_public_share_size(3);
            uint8_t *pay = calloc(1, q.proof_len);
            char err[256];
            uint64_t pending;
            ck_assert_int_eq(mpcd_contrib_handle(&cfg, jobs[0], "contrib", &q, pay, q.proof_len, &pending, err,
                                                 sizeof err), MPC_ERR_INPUT);
            ck_assert_msg(strstr(err, "wrong form"), "%s", err);
            free(pay);
        }
        if (!lie) {
            included++;
            for (int e = 0; e < LEN; e++) want[e] += v[e], want[LEN + e] += v[e] * v[e];
            want[2 * LEN] += v[0] * v[3] + v[1] * v[4];
        }
        if (i % 6 == 0)
            for (uint32_t p = 0; p < 3; p++) mpcd_collector_pass(&x[p], mpc_now_ms());
    }
    int done = 0;
    for (int k = 0; k < 400 && !done; k++) {
        done = 1;
        for (uint32_t p = 0; p < 3; p++) {
            mpcd_collector_pass(&x[p], mpc_now_ms());
            mpcd_jobs_lock(jobs[p]);
            mpcd_job *job = mpcd_jobs_find(jobs[p], id);
            ck_assert_msg(job->state != MPCD_JOB_FAILED, "%s", job->reason);
            done &= job->inputs[0].present;
            mpcd_jobs_unlock(jobs[p]);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(done, "the collection did not close");
    uint64_t sum[2 * LEN + 2] = {0};
    for (uint32_t p = 0; p < 3; p++) {
        mpcd_jobs_lock(jobs[p]);
        mpcd_job *job = mpcd_jobs_find(jobs[p], id);
        ck_assert_uint_eq(job->circ->inputs[0].len, 2 * LEN + 2);
        for (int e = 0; e < 2 * LEN + 2; e++)
            sum[e] = e < 2 * LEN + 1 ? mpc_f61_add(sum[e], job->inputs[0].share[e]) : sum[e] + job->inputs[0].share[e];
        mpcd_jobs_unlock(jobs[p]);
    }
    ck_assert_uint_eq(sum[2 * LEN + 1], included);
    for (int e = 0; e <= 2 * LEN; e++) ck_assert_int_eq(mpc_f61_to_signed(sum[e]), want[e]);
    for (uint32_t p = 0; p < 3; p++) {
        mpc_transport_destroy(&x[p].mesh);
        mpcd_jobs_destroy(&jobs[p]);
    }
    mpc_mem_hub_destroy(&hub);

    /* max_count from the program: |x| <= 2^29, squares up to 2^58: 3 contributions */
    src = "party a, b, c\ninput g: int[2] from contributors in -536870912..536870912\noutput q = sum(g * g) to a\n";
    randombytes_buf(id, sizeof id);
    hub = s_three(&cfg, src, id, jobs, x);
    mpc_flp_term sq = {0, 0, 2, 1};
    ck_assert_int_eq(mpc_flp_init_derived(&f, 2, -536870912, 536870912, 0, &sq, 1, 2), 0);
    int64_t v[2] = {536870912, -536870912};
    for (int i = 0; i < 3; i++) ck_assert_int_eq(s_send_derived(&cfg, jobs, key, id, &f, v, 0), 0);
    ck_assert_int_eq(s_send_derived(&cfg, jobs, key, id, &f, v, 0), MPC_ERR_STATE);
    for (uint32_t p = 0; p < 3; p++) {
        mpc_transport_destroy(&x[p].mesh);
        mpcd_jobs_destroy(&jobs[p]);
    }
    mpc_mem_hub_destroy(&hub);
    mpcd_contrib_key_free();
}
END_TEST

/* Two daemons' collectors over the in-memory mesh for `from contributors unchecked`: shares
 * without proofs (mpc_ct_share: a seed to the first party, the explicit share to the last)
 * through mpcd_contrib_handle; a contribution with a proof refused; the sums mod p and the
 * count right at the close.  With `mixed`, party b holds the same circuit from the checked
 * program (one circuit hash: the program text differs): b refuses the proof-less share, and
 * the first PROPOSE fails the job on both parties, the leader naming the disagreement. */
static void s_unchecked_mesh(int mixed)
{
    enum { NP2 = 2, LEN = 3, NC = 20 };
    uint8_t key[32];
    s_load_key(key);
    char err[256];
    mpcd_config cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.name, "a");
    cfg.n_clients = 1;
    strcpy(cfg.clients[0].name, "contrib");
    cfg.clients[0].may_contribute = 1;
    cfg.contrib_window_ms = 400;
    cfg.contrib_max_count = 1000;
    cfg.contrib_max_pending = 64;
    cfg.contrib_pending_ms = 5000;
    const char *src[2] = {"party a, b\ninput g: int[3] from contributors unchecked\noutput s = sum(g) to a\n",
                          "party a, b\ninput g: int[3] from contributors in -10..10\noutput s = sum(g) to a\n"};
    mpc_mem_hub *hub = mpc_mem_hub_new(NP2, 1000);
    mpcd_jobs *jobs[NP2];
    mpcd_collector x[NP2];
    uint8_t id[16];
    randombytes_buf(id, sizeof id);
    uint32_t binding[MPC_MAX_PARTIES] = {0, 1};
    for (uint32_t p = 0; p < NP2; p++) {
        jobs[p] = mpcd_jobs_new(10);
        mpc_circuit *c = NULL;
        mpc_diag dg;
        const char *sp = src[mixed && p == 1];
        ck_assert_int_eq(mpc_compile(sp, strlen(sp), "p.mpc", NULL, 0, &c, &dg), 0);
        mpc_diag_free(&dg);
        uint8_t h[32];
        ck_assert_int_eq(mpc_circ_hash(c, h), 0);
        ck_assert_int_eq(mpcd_jobs_add(jobs[p], id, "analyst", &c, h, binding, p), 0);
        mpcd_jobs_lock(jobs[p]);
        ck_assert_int_eq(mpcd_contrib_open(&cfg, mpcd_jobs_find(jobs[p], id), mpc_now_ms(), 0, 0), 0);
        mpcd_jobs_unlock(jobs[p]);
        memset(&x[p], 0, sizeof x[p]);
        x[p].mesh = mpc_mem_transport_new(hub, p);
        x[p].jobs = jobs[p];
        x[p].self = p;
        x[p].n_parties = NP2;
        x[p].batch_ms = 20;
        x[p].peer_timeout_ms = 5000;
        snprintf(x[p].names[p], sizeof x[p].names[p], "%c", 'a' + p);
    }
    int64_t want[LEN] = {0};
    uint64_t half = MPC_F61_HALF;
    for (int i = 0; i < NC; i++) {
        uint64_t v[LEN];
        for (int e = 0; e < LEN; e++) {
            int64_t y = i < 2 && e == 0 ? (int64_t)half : i == 2 && e == 0 ? 1 : (int64_t)randombytes_uniform(2001) - 1000;
            want[e] += e == 0 && i < 3 ? 0 : y;   /* the two halves and the 1: p, i.e. 0 (a wrap) */
            ck_assert_int_eq(mpc_f61_from_signed(y, &v[e]), 0);
        }
        uint8_t seed[32];
        uint64_t last[LEN];
        ck_assert_int_eq(mpc_ct_share(v, LEN, NP2, seed, last), 0);
        mpc_ct_req q;
        memset(&q, 0, sizeof q);
        memcpy(q.job, id, 16);
        strcpy(q.name, "g");
        uint8_t uid[16];
        randombytes_buf(uid, sizeof uid);
        mpcd_token_make(key, uid, q.token);
        randombytes_buf(q.nonce, sizeof q.nonce);
        q.count = LEN;
        uint64_t pending;
        q.mode = MPC_CW_SEED;
        ck_assert_msg(mpcd_contrib_handle(&cfg, jobs[0], "contrib", &q, seed, 32, &pending, err, sizeof err) == 0, "%s",
                      err);
        q.mode = MPC_CW_EXPLICIT;
        int rc = mpcd_contrib_handle(&cfg, jobs[1], "contrib", &q, (uint8_t *)last, sizeof last, &pending, err,
                                     sizeof err);
        if (mixed) {
            ck_assert_int_eq(rc, MPC_ERR_INPUT);
            ck_assert_ptr_nonnull(strstr(err, "carries no validity proof"));
        } else {
            ck_assert_msg(rc == 0, "%s", err);
        }
        /* the explicit share to the seed daemon, a seed to the last: the wrong forms */
        ck_assert_int_eq(mpcd_contrib_handle(&cfg, jobs[0], "contrib", &q, (uint8_t *)last, sizeof last, &pending, err,
                                             sizeof err), MPC_ERR_INPUT);
        /* a proof (any bytes) to the unchecked collection */
        q.mode = MPC_CW_SEED;
        q.proof_len = 64;
        uint8_t junk[64] = {0};
        ck_assert_int_eq(mpcd_contrib_handle(&cfg, jobs[0], "contrib", &q, junk, sizeof junk, &pending, err, sizeof err),
                         MPC_ERR_INPUT);
        ck_assert_ptr_nonnull(strstr(err, "declared unchecked"));
    }
    int done = 0;
    for (int t = 0; t < 300 && !done; t++) {
        for (uint32_t p = 0; p < NP2; p++) mpcd_collector_pass(&x[p], mpc_now_ms());
        done = 1;
        for (uint32_t p = 0; p < NP2; p++) {
            mpcd_jobs_lock(jobs[p]);
            mpcd_job *job = mpcd_jobs_find(jobs[p], id);
            if (mixed) done &= job->state == MPCD_JOB_FAILED;
            else {
                ck_assert_msg(job->state != MPCD_JOB_FAILED, "%s", job->reason);
                done &= job->inputs[0].present;
            }
            mpcd_jobs_unlock(jobs[p]);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(done, mixed ? "the job did not fail" : "the collection did not close");
    if (mixed) {
        ck_assert_ptr_nonnull(strstr(mpcd_jobs_find(jobs[0], id)->reason, "disagree on whether the collection is checked"));
    } else {
        uint64_t t[LEN + 1] = {0};
        for (uint32_t p = 0; p < NP2; p++) {
            mpcd_job *job = mpcd_jobs_find(jobs[p], id);
            for (int e = 0; e <= LEN; e++)
                t[e] = e < LEN ? mpc_f61_add(t[e], job->inputs[0].share[e]) : t[e] + job->inputs[0].share[e];
        }
        ck_assert_uint_eq(t[LEN], NC);
        for (int e = 0; e < LEN; e++) ck_assert_int_eq(mpc_f61_to_signed(t[e]), want[e]);
    }
    for (uint32_t p = 0; p < NP2; p++) {
        mpc_transport_destroy(&x[p].mesh);
        mpcd_jobs_destroy(&jobs[p]);
    }
    mpc_mem_hub_destroy(&hub);
    mpcd_contrib_key_free();
}

START_TEST(test_unchecked_over_mesh) { s_unchecked_mesh(0); }
END_TEST

START_TEST(test_unchecked_disagreement) { s_unchecked_mesh(1); }
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *s = suite_create("collect");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tokens);
    tcase_add_test(tc, test_three_daemons_dropouts);
    tcase_add_test(tc, test_protocol_checks);
    tcase_add_test(tc, test_reject_and_nonces);
    tcase_add_test(tc, test_many_ids);
    tcase_add_test(tc, test_daemon_refuses_contributor_inputs);
    tcase_add_test(tc, test_collectors_over_mesh);
    tcase_add_test(tc, test_unchecked_over_mesh);
    tcase_add_test(tc, test_unchecked_disagreement);
    tcase_add_test(tc, test_collectors_derived);
    suite_add_tcase(s, tc);
    return s;
}
