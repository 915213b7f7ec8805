/* check_auth_ot.c — SPDZ2k authenticated material from OT (protocols/auth_ot.h) among 2 and 3
 * in-process parties: the triples and masks reconstruct (c = a·b mod 2^128, every MAC equal
 * to α times its value), the malicious engine computes the reference outputs on them, and a
 * party that cheats in the products (a Gilboa correction, so a wrong c share before the
 * sacrifice; also one of a candidate other than the first, so that skipping the combination
 * of candidates would pass), in the vOLE authentication, in the OT extension (inconsistent choice bits) or
 * in a coin is caught: every honest party fails, with "MAC check failed" or the OT check's or
 * the coin's error. */
#include <check.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_ot.h"
#include "bitpack.h"
#include "circuit.h"
#include "engine_mal.h"
#include "enginetest.h"
#include "mpc_err.h"
#include "runner.h"
#include "transport_mem.h"

#define MAXP 3
#define TIMEOUT 30000
#define STREAM (MPC_STREAM_PREP_BIT | 0x77)

typedef mpc_u128 u128;

/* ---- a corrupt party: a transport that changes what it sends ---- */

typedef struct {
    uint32_t party;          /* the cheater (no fault: UINT32_MAX) */
    uint64_t seq;            /* PREP message to change */
    uint32_t peer_mask;      /* to these peers */
    uint64_t w0, w1;         /* words [w0, w1) ... */
    uint64_t delta;          /* ... get delta added (xor_mode: xor'ed) */
    int      xor_mode;
    uint64_t stride;         /* step between changed words (0: 1) */
} s_fault;

typedef struct {
    mpc_transport *inner;
    const s_fault *f;
} s_ct;

static int s_ct_send(mpc_transport *t, uint32_t to, uint8_t type, uint64_t stream, uint64_t seq,
                     const uint64_t *data, uint64_t count)
{
    s_ct *c = t->impl;
    const s_fault *f = c->f;
    if (type == MPC_MSG_PREP && stream == STREAM && seq == f->seq && (f->peer_mask >> to & 1)) {
        uint64_t *copy = malloc((size_t)count * 8);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, data, (size_t)count * 8);
        for (uint64_t w = f->w0; w < f->w1 && w < count; w += f->stride ? f->stride : 1)
            copy[w] = f->xor_mode ? copy[w] ^ f->delta : copy[w] + f->delta;
        int r = c->inner->ops->send(c->inner, to, type, stream, seq, copy, count);
        free(copy);
        return r;
    }
    return c->inner->ops->send(c->inner, to, type, stream, seq, data, count);
}

static int s_ct_recv(mpc_transport *t, uint32_t from, uint8_t type, uint64_t stream, uint64_t seq,
                     uint64_t *out, uint64_t count, int timeout_ms)
{
    s_ct *c = t->impl;
    return c->inner->ops->recv(c->inner, from, type, stream, seq, out, count, timeout_ms);
}

static void s_ct_forget(mpc_transport *t, uint64_t stream)
{
    s_ct *c = t->impl;
    c->inner->ops->forget(c->inner, stream);
}

static void s_ct_destroy(mpc_transport **tp)
{
    s_ct *c = (*tp)->impl;
    mpc_transport_destroy(&c->inner);
    free(c);
    free(*tp);
    *tp = NULL;
}

static const struct mpc_transport_ops s_ct_ops = {s_ct_send, s_ct_recv, s_ct_forget, s_ct_destroy, NULL, NULL};

static mpc_transport *s_cheat(mpc_transport *inner, const s_fault *f)
{
    mpc_transport *t = calloc(1, sizeof *t);
    s_ct *c = calloc(1, sizeof *c);
    ck_assert(t && c);
    c->inner = inner;
    c->f = f;
    t->ops = &s_ct_ops;
    t->impl = c;
    t->self = inner->self;
    t->n = inner->n;
    return t;
}

/* ---- the parties ---- */

#define NT 2500      /* triples of the first call (chunks of 1000: two full, one partial) */
#define NM 7         /* masks of party 1 */

typedef struct {
    uint32_t          n;
    const s_fault    *f;
    const mpc_circuit *c;            /* engine mode when set */
    const uint64_t *const *vals;
    mpc_mem_hub      *hub;
    int               rc[MAXP];
    char              err[MAXP][300];
    u128              alpha[MAXP];
    mpc_auth_triples  tr[MAXP];
    u128             *mx[MAXP], *mm[MAXP], *mval;
    uint64_t         *out[MAXP][4];
    mpc_auth_ot_stats st[MAXP];
} s_job;

typedef struct {
    s_job   *j;
    uint32_t p;
} s_arg;

static void s_material(s_job *j, uint32_t p, mpc_auth_src *src)
{
    mpc_auth_key key;
    ck_assert_int_eq(mpc_auth_key_init(&key), 0);
    int r = mpc_auth_src_key(src, &key);
    if (!r) j->alpha[p] = *key.alpha;
    mpc_auth_key_free(&key);
    mpc_auth_triples *t = &j->tr[p];
    t->a = mpc_auth_alloc(NT);
    t->ma = mpc_auth_alloc(NT);
    t->b = mpc_auth_alloc(NT);
    t->mb = mpc_auth_alloc(NT);
    t->c = mpc_auth_alloc(NT);
    t->mc = mpc_auth_alloc(NT);
    j->mx[p] = mpc_auth_alloc(NM);
    j->mm[p] = mpc_auth_alloc(NM);
    if (p == 1) j->mval = mpc_auth_alloc(NM);
    if (!r) r = mpc_auth_src_triples(src, NT, t);
    if (!r) r = mpc_auth_src_masks(src, 1, NM, j->mx[p], j->mm[p], p == 1 ? j->mval : NULL);
    j->rc[p] = r;
    if (r) snprintf(j->err[p], sizeof j->err[p], "%s", mpc_auth_ot_error(src));
}

static void s_engine(s_job *j, uint32_t p, mpc_transport *t, mpc_auth_src *src)
{
    const uint64_t *in[16] = {0};
    for (uint32_t k = 0; k < j->c->n_inputs; k++)
        if (j->c->inputs[k].party == p) in[k] = j->vals[k];
    mpc_mal_opts o = {.stream = 55, .timeout_ms = TIMEOUT};
    mpc_mal_engine *e = mpc_mal_engine_new(j->c, p, t, src, &o);
    ck_assert_ptr_nonnull(e);
    j->rc[p] = mpc_mal_run(e, in, j->err[p], sizeof j->err[p]);
    for (uint32_t k = 0; k < j->c->n_outputs && k < 4; k++) {
        const uint64_t *v = mpc_mal_output(e, k);
        if (!v) continue;
        j->out[p][k] = malloc((size_t)j->c->outputs[k].len * 8);
        memcpy(j->out[p][k], v, (size_t)j->c->outputs[k].len * 8);
    }
    mpc_mal_engine_destroy(&e);
}

static void *s_party(void *arg)
{
    s_arg *a = arg;
    s_job *j = a->j;
    uint32_t p = a->p;
    mpc_transport *t = mpc_mem_transport_new(j->hub, p);
    ck_assert_ptr_nonnull(t);
    if (j->f && j->f->party == p) t = s_cheat(t, j->f);
    mpc_auth_ot_opts o = {.timeout_ms = TIMEOUT, .chunk = 1000};
    mpc_auth_src *src = mpc_auth_ot_new(t, p, j->n, STREAM, &o);
    ck_assert_ptr_nonnull(src);
    if (j->c) s_engine(j, p, t, src);
    else s_material(j, p, src);
    ck_assert_int_eq(mpc_auth_ot_stats_get(src, &j->st[p]), 0);
    mpc_auth_src_destroy(&src);
    mpc_transport_destroy(&t);
    return NULL;
}

static void s_run(s_job *j)
{
    j->hub = mpc_mem_hub_new(j->n, TIMEOUT);
    ck_assert_ptr_nonnull(j->hub);
    pthread_t th[MAXP];
    s_arg args[MAXP];
    for (uint32_t p = 0; p < j->n; p++) {
        args[p] = (s_arg){j, p};
        ck_assert_int_eq(pthread_create(&th[p], NULL, s_party, &args[p]), 0);
    }
    for (uint32_t p = 0; p < j->n; p++) pthread_join(th[p], NULL);
    mpc_mem_hub_destroy(&j->hub);
}

static void s_clear(s_job *j)
{
    for (uint32_t p = 0; p < MAXP; p++) {
        mpc_auth_triples *t = &j->tr[p];
        free(t->a); free(t->ma); free(t->b); free(t->mb); free(t->c); free(t->mc);
        free(j->mx[p]);
        free(j->mm[p]);
        for (int k = 0; k < 4; k++) free(j->out[p][k]);
    }
    free(j->mval);
    memset(j, 0, sizeof *j);
}

/* ---- the material reconstructs ---- */

static void s_material_case(uint32_t n)
{
    s_job j = {.n = n};
    s_run(&j);
    u128 alpha = 0;
    for (uint32_t p = 0; p < n; p++) {
        ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
        ck_assert(j.alpha[p] >> 64 == 0);
        alpha += j.alpha[p];
    }
    uint64_t bad_c = 0, bad_mac = 0, zero_a = 0;
    for (uint64_t e = 0; e < NT; e++) {
        u128 a = 0, b = 0, c = 0, ma = 0, mb = 0, mc = 0;
        for (uint32_t p = 0; p < n; p++) {
            a += j.tr[p].a[e];
            b += j.tr[p].b[e];
            c += j.tr[p].c[e];
            ma += j.tr[p].ma[e];
            mb += j.tr[p].mb[e];
            mc += j.tr[p].mc[e];
        }
        bad_c += c != a * b;
        bad_mac += (ma != alpha * a) + (mb != alpha * b) + (mc != alpha * c);
        zero_a += (uint64_t)a == 0;
    }
    ck_assert_uint_eq(bad_c, 0);
    ck_assert_uint_eq(bad_mac, 0);
    ck_assert_uint_le(zero_a, 1);
    for (uint64_t k = 0; k < NM; k++) {
        u128 x = 0, m = 0;
        for (uint32_t p = 0; p < n; p++) {
            x += j.mx[p][k];
            m += j.mm[p][k];
            if (p != 1) ck_assert(j.mx[p][k] == 0);
        }
        ck_assert(x == j.mval[k]);
        ck_assert(m == alpha * x);
    }
    /* bytes: a few KiB per triple and party, measured by the benchmark */
    ck_assert_uint_gt(j.st[0].bytes_sent, (uint64_t)NT * 1000 * (n - 1));
    printf("auth_ot %u parties: %.0f bytes sent per triple by party 0\n", (unsigned)n,
           (double)j.st[0].bytes_sent / NT);
    s_clear(&j);
}

/* The sequential writer of the Gilboa corrections (bitpack.h) gives the bits of
 * mpc_bits_put at the same positions, and mpc_bits_get and mpc_bits_window read them back:
 * random values, the widths 128 − k of a τ vector (two vectors back to back) and random widths. */
START_TEST(test_bitpack_writer)
{
    enum { N = 2 * 128 + 300, W = (N * 128) / 64 + 4 };
    static uint64_t a[W], b[W];
    static unsigned width[N];
    static unsigned __int128 v[N];
    for (int rep = 0; rep < 20; rep++) {
        randombytes_buf(v, sizeof v);
        for (int i = 0; i < N; i++)
            width[i] = i < 256 ? 128 - (unsigned)(i % 128) : 1 + randombytes_uniform(128);
        memset(a, 0, sizeof a);
        memset(b, 0xa5, sizeof b);   /* the writer must not depend on zeroed memory */
        mpc_bits_writer wr = {b, 0, 0};
        uint64_t pos = 0;
        for (int i = 0; i < N; i++) {
            mpc_bits_put(a, pos, v[i], width[i]);
            mpc_bits_write(&wr, v[i], width[i]);
            pos += width[i];
            if (i == 255) ck_assert_uint_eq(wr.fill, 0);   /* two τ vectors: whole words */
        }
        mpc_bits_flush(&wr);
        uint64_t words = (pos + 63) / 64;
        ck_assert_uint_eq((uint64_t)(wr.out - b), words);
        ck_assert_int_eq(memcmp(a, b, words * 8), 0);
        pos = 0;
        for (int i = 0; i < N; i++) {
            unsigned __int128 m = width[i] < 128 ? ((unsigned __int128)1 << width[i]) - 1 : ~(unsigned __int128)0;
            ck_assert(mpc_bits_get(a, pos, width[i]) == (v[i] & m));
            /* the unmasked window: the same low bits, then the stream's next bits */
            ck_assert((mpc_bits_window(a, pos) & m) == (v[i] & m));
            if (width[i] < 128 && i + 1 < N)
                ck_assert((mpc_bits_window(a, pos) >> width[i]) ==
                          (mpc_bits_get(a, pos + width[i], 128 - width[i])));
            pos += width[i];
        }
    }
}
END_TEST

START_TEST(test_material_2p)
{
    s_material_case(2);
}
END_TEST

START_TEST(test_material_3p)
{
    s_material_case(3);
}
END_TEST

/* ---- the engine on OT-made material ---- */

static mpc_circuit *s_circuit(uint32_t n)
{
    mpc_circuit *c = mpc_circ_new();
    char name[16];
    for (uint32_t p = 0; p < n; p++) {
        snprintf(name, sizeof name, "p%u", (unsigned)p);
        ck_assert_int_eq(mpc_circ_add_party(c, name), (int)p);
    }
    uint32_t a = mpc_circ_add_input(c, "a", 0, MPC_T_INT, 6, 1, 1);
    uint32_t b = mpc_circ_add_input(c, "b", n - 1, MPC_T_INT, 6, 1, 2);
    uint32_t d = mpc_circ_add_input(c, "d", 1, MPC_T_INT, 6, 1, 3);
    uint32_t u = mpc_circ_add_gate(c, MPC_G_MUL, MPC_T_INT, 6, a, b, MPC_NO_WIRE, 0, 0, 4, 1);
    uint32_t v = mpc_circ_add_gate(c, MPC_G_DOT, MPC_T_INT, 1, u, d, MPC_NO_WIRE, 0, 0, 5, 1);
    uint32_t w = mpc_circ_add_gate(c, MPC_G_ADD, MPC_T_INT, 6, u, d, MPC_NO_WIRE, 0, 0, 6, 1);
    ck_assert_int_ge(mpc_circ_add_output(c, "v", v, (1u << n) - 1, 7, 1), 0);
    ck_assert_int_ge(mpc_circ_add_output(c, "w", w, 1u, 7, 2), 0);
    char err[256];
    ck_assert_msg(mpc_circ_finish(c, err, sizeof err) == 0, "%s", err);
    return c;
}

START_TEST(test_engine_on_ot)
{
    for (uint32_t n = 2; n <= 3; n++) {
        mpc_circuit *c = s_circuit(n);
        uint64_t *vals[3];
        for (uint32_t k = 0; k < c->n_inputs; k++) {
            vals[k] = malloc(c->inputs[k].len * 8);
            randombytes_buf(vals[k], c->inputs[k].len * 8);
        }
        uint64_t *ref[8] = {0};
        et_ref(c, (const uint64_t *const *)vals, ref);
        s_job j = {.n = n, .c = c, .vals = (const uint64_t *const *)vals};
        s_run(&j);
        for (uint32_t p = 0; p < n; p++) {
            ck_assert_msg(j.rc[p] == 0, "party %u: %s", (unsigned)p, j.err[p]);
            for (uint32_t o = 0; o < c->n_outputs; o++) {
                int rec = c->outputs[o].recipients >> p & 1;
                ck_assert_int_eq(j.out[p][o] != NULL, rec);
                for (uint64_t k = 0; rec && k < c->outputs[o].len; k++) ck_assert_uint_eq(j.out[p][o][k], ref[o][k]);
            }
        }
        s_clear(&j);
        for (uint32_t k = 0; k < c->n_inputs; k++) free(vals[k]);
        for (int o = 0; o < 8; o++) free(ref[o]);
        mpc_circ_destroy(&c);
    }
}
END_TEST

/* ---- cheating ---- */

/* Runs the material job with party 1 cheating as f says; every honest party must fail, and
 * party `must` (or all honest ones when UINT32_MAX) with `want` in its error. */
static void s_cheat_case(uint32_t n, const s_fault *f, const char *want, uint32_t must)
{
    s_job j = {.n = n, .f = f};
    s_run(&j);
    for (uint32_t p = 0; p < n; p++) {
        if (p == f->party) continue;
        ck_assert_msg(j.rc[p] != 0, "party %u did not notice", (unsigned)p);
        if (must == UINT32_MAX || must == p)
            ck_assert_msg(strstr(j.err[p], want), "party %u: \"%s\", not \"%s\"", (unsigned)p, j.err[p], want);
    }
    s_clear(&j);
}

START_TEST(test_cheat_product)
{
    /* party 1's Gilboa corrections to party 0 for triple 0 (its τ vector: words 0..128) get
     * +1: party 0's c share of triple 0 is wrong by Σ_k 2^k b_k, consistently authenticated
     * afterwards — only the sacrifice can see it */
    for (uint32_t n = 2; n <= 3; n++) {
        s_fault f = {.party = 1, .seq = MPC_AUTH_OT_SEQ0 + MPC_AUTH_OT_R_CORR, .peer_mask = 1, .w0 = 0,
                     .w1 = 129, .delta = 1};
        s_cheat_case(n, &f, "MAC check failed", UINT32_MAX);
    }
}
END_TEST

START_TEST(test_cheat_candidate)
{
    /* the combination is applied: party 1 adds 1 to the first word (τ_0, bit 0 of the
     * product) of its correction to party 0 for candidate 1 of every triple of the first
     * chunk (candidate-major, 258 words per candidate: entries T .. 2T − 1 of T = 1000).
     * Party 0's cross share of candidate 1 of triple e is then off by its bit 0, and the
     * combined c by r_1 times it: the sacrifice fails unless all 1000 bits are 0.  Were
     * candidate 1 not part of b and c, nothing would be wrong and the job would pass. */
    for (uint32_t n = 2; n <= 3; n++) {
        s_fault f = {.party = 1, .seq = MPC_AUTH_OT_SEQ0 + MPC_AUTH_OT_R_CORR, .peer_mask = 1,
                     .w0 = 258 * 1000, .w1 = 258 * 2000, .stride = 258, .delta = 1};
        s_cheat_case(n, &f, "MAC check failed", UINT32_MAX);
    }
}
END_TEST

START_TEST(test_cheat_vole)
{
    /* party 1's vOLE message for its value 0 (a_1 of triple 0: words 0..95) to party 0 gets
     * +2^20 in every bit's word: party 0's MAC share is off by a key-dependent amount */
    for (uint32_t n = 2; n <= 3; n++) {
        s_fault f = {.party = 1, .seq = MPC_AUTH_OT_SEQ0 + MPC_AUTH_OT_R_VOLE, .peer_mask = 1, .w0 = 0,
                     .w1 = 96, .delta = 1ull << 20};
        s_cheat_case(n, &f, "MAC check failed", UINT32_MAX);
    }
}
END_TEST

START_TEST(test_cheat_kos)
{
    /* party 1 (IKNP receiver towards party 0) flips its choice of OT 5 in the first 64
     * columns only: u of the first superblock is [column][8 blocks of 16 bytes], so word
     * 16·i of u holds OT 5 of column i */
    for (uint32_t n = 2; n <= 3; n++) {
        s_fault f = {.party = 1, .seq = MPC_AUTH_OT_SEQ0 + MPC_AUTH_OT_R_U, .peer_mask = 1, .w0 = 0,
                     .w1 = 16 * 64, .stride = 16, .delta = 1ull << 5, .xor_mode = 1};
        s_cheat_case(n, &f, "OT extension consistency check failed with party 1", 0);
    }
}
END_TEST

START_TEST(test_cheat_coin)
{
    /* party 1 opens a different coin contribution to party 0 than it committed to */
    for (uint32_t n = 2; n <= 3; n++) {
        s_fault f = {.party = 1, .seq = MPC_AUTH_OT_SEQ0 + MPC_AUTH_OT_R_COIN1 + 1, .peer_mask = 1, .w0 = 0,
                     .w1 = 1, .delta = 1};
        s_cheat_case(n, &f, "coin: party 1's contribution does not match its commitment", 0);
    }
}
END_TEST

Suite *mpc_test_suite(void)
{
    Suite *su = suite_create("auth_ot");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bitpack_writer);
    tcase_add_test(tc, test_material_2p);
    tcase_add_test(tc, test_material_3p);
    tcase_add_test(tc, test_engine_on_ot);
    tcase_add_test(tc, test_cheat_product);
    tcase_add_test(tc, test_cheat_candidate);
    tcase_add_test(tc, test_cheat_vole);
    tcase_add_test(tc, test_cheat_kos);
    tcase_add_test(tc, test_cheat_coin);
    suite_add_tcase(su, tc);
    return su;
}
