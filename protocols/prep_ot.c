/* prep_ot.c — OT-based preprocessing among the parties (prep_ot.h). */
#include "prep_ot.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baseot.h"
#include "clock.h"
#include "gilboa.h"
#include "mpc_err.h"
#include "otext.h"
#include "par.h"
#include "prg.h"

#define S_MAXP      16
#define S_VERSION   0x4d50434f54000002ull   /* "MPCOT", protocol version 2 (pipelined chunks) */
#define S_HELLO_W   10                      /* version, caps, nonce (4), A (4) */
#define S_BITCHUNK  1024                    /* truncation tuples per chunk */

/* Own randomness (a_i, b_i, private bits) from a fresh seed per request. */
#define S_RND_A    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 2)
#define S_RND_B    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_B, 2)
#define S_RND_BITS MPC_PRG_STREAM(MPC_PRG_D_TRUNC_LO, 2)
#define S_RND_BA    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 4)   /* binary triples */
#define S_RND_BB    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_B, 4)
#define S_RND_CBITS MPC_PRG_STREAM(MPC_PRG_D_TRUNC_LO, 4)   /* edaBit and daBit bits */
#define S_RND_SA    MPC_PRG_STREAM(MPC_PRG_D_TRIPLE_A, 5)   /* square pairs */

enum { S_NEW, S_READY, S_FAILED };

typedef struct {
    mpc_transport   *t;
    uint64_t         stream;
    mpc_prep_ot_opts o;
    int              state;
    mpc_sym_kind     kind[S_MAXP];
    mpc_cot_send    *snd[S_MAXP];   /* self → j */
    mpc_cot_recv    *rcv[S_MAXP];   /* j → self */
    uint64_t         sseq[S_MAXP], rseq[S_MAXP];
    mpc_prep_ot_stats st;
    mpc_par         *par;           /* compute threads (NULL: this thread only) */
    int              given;         /* this fetch: a, b (ba, bb) come from the caller */
} s_ot;

static int s_send(s_ot *s, uint32_t to, const uint64_t *w, uint64_t n)
{
    uint64_t before = s->t->bytes_sent;
    int r = mpc_send(s->t, to, MPC_MSG_PREP, s->stream, s->sseq[to]++, w, n);
    s->st.bytes_sent += s->t->bytes_sent - before;
    return r;
}

static int s_recv(s_ot *s, uint32_t from, uint64_t *w, uint64_t n)
{
    uint64_t t0 = mpc_now_ns();
    int r = mpc_recv(s->t, from, MPC_MSG_PREP, s->stream, s->rseq[from]++, w, n, s->o.timeout_ms);
    s->st.wait_ns += mpc_now_ns() - t0;
    return r;
}

/* Wipes and frees a malloc'ed buffer of n words (NULL accepted). */
static void s_wfree(uint64_t *p, uint64_t n)
{
    if (!p) return;
    sodium_memzero(p, (size_t)n * 8);
    free(p);
}

static uint64_t *s_alloc(uint64_t n)
{
    return malloc((size_t)(n ? n : 1) * 8);
}

/* 64 bits naming the directed instance from → to of the pair's session, the high word of
 * every TCCR tweak of that instance (the low word is the OT index). */
static uint64_t s_tweak_hi(const uint8_t sid[32], uint32_t from, uint32_t to)
{
    uint8_t in[32 + 8 + 8], h[16];
    memcpy(in, sid, 32);
    memcpy(in + 32, "tccr-dir", 8);
    for (int i = 0; i < 4; i++) {
        in[40 + i] = (uint8_t)(from >> (8 * i));
        in[44 + i] = (uint8_t)(to >> (8 * i));
    }
    crypto_generichash(h, sizeof h, in, sizeof in, NULL, 0);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | h[i];
    return v;
}

static void s_fail(mpc_prep *p, int code)
{
    s_ot *s = p->impl;
    if (s->state == S_FAILED) return;
    s->state = S_FAILED;
    for (uint32_t j = 0; j < p->n; j++)
        if (j != p->self) (void)mpc_send_abort(s->t, j, s->stream, code, MPC_ABORT_NO_PARTY);
}

/* ---- setup: base OTs for every directed pair ---- */

typedef struct {
    mpc_baseot_sender *bs[S_MAXP];
    uint8_t            nonce[S_MAXP][32];    /* mine per peer */
    uint8_t            sid[S_MAXP][32];
    uint8_t            delta[S_MAXP][16];
    uint8_t            kd[S_MAXP][MPC_OT_KAPPA * 32];
    uint8_t            k0[MPC_OT_KAPPA * 32], k1[MPC_OT_KAPPA * 32];
    uint8_t            leaves[(MPC_OT_KAPPA / 8) << 8 << 5];   /* the most: k = 8 */
    uint8_t            sums[64 * 8];
    uint8_t            root[32];
    uint64_t           msg[MPC_OT_KAPPA * 8];
} s_setup;

/* Bit i of the 16-byte string v. */
static uint32_t s_bit(const uint8_t *v, uint32_t i)
{
    return (uint32_t)((v[i / 8] >> (i % 8)) & 1u);
}

/* SoftSpokenOT, receiver of the COTs (the base-OT sender): per block l a GGM tree; the sums
 * of level d go to the peer padded with the base-OT keys of OT lk + d (one-time pads: the
 * peer holds the key of branch ¬Δ_{l,d} only).  Fills w->leaves and w->msg (1024 words). */
static int s_sso_sender_setup(s_setup *w, uint32_t k)
{
    uint32_t nl = MPC_OT_KAPPA / k;
    uint8_t *m = (uint8_t *)w->msg;
    for (uint32_t l = 0; l < nl; l++) {
        randombytes_buf(w->root, 32);
        int r = mpc_ggm_expand(k, w->root, w->leaves + ((size_t)l << k) * 32, w->sums);
        if (r) return r;
        for (uint32_t d = 0; d < k; d++) {
            uint32_t ot = l * k + d;
            for (int i = 0; i < 32; i++) {
                m[64 * ot + i] = (uint8_t)(w->sums[64 * d + i] ^ w->k0[32 * ot + i]);
                m[64 * ot + 32 + i] = (uint8_t)(w->sums[64 * d + 32 + i] ^ w->k1[32 * ot + i]);
            }
        }
    }
    return 0;
}

/* SoftSpokenOT, sender of the COTs (the base-OT receiver with choices ¬Δ): unpads the sums
 * of branch ¬Δ_{l,d} and rebuilds every leaf but Δ_l. */
static int s_sso_receiver_setup(s_setup *w, uint32_t j, uint32_t k)
{
    uint32_t nl = MPC_OT_KAPPA / k;
    const uint8_t *m = (const uint8_t *)w->msg;
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t alpha = 0;
        for (uint32_t d = 0; d < k; d++) {
            uint32_t ot = l * k + d, a = s_bit(w->delta[j], ot);
            alpha |= a << d;
            /* my base-OT key is for choice ¬a: the pad of branch ¬a */
            for (int i = 0; i < 32; i++)
                w->sums[32 * d + i] = (uint8_t)(m[64 * ot + 32 * (1 - a) + i] ^ w->kd[j][32 * ot + i]);
        }
        int r = mpc_ggm_puncture(k, alpha, w->sums, w->leaves + ((size_t)l << k) * 32);
        if (r) return r;
    }
    return 0;
}

static int s_setup_run(mpc_prep *p)
{
    s_ot *s = p->impl;
    uint32_t n = p->n, me = p->self, k = s->o.ot_k;
    int r = MPC_ERR_NOMEM;
    s_setup *w = sodium_malloc(sizeof *w);
    if (!w) return r;
    memset(w, 0, sizeof *w);
    int caps = mpc_sym_have_aesni() && !s->o.force_portable;
    /* round 1: hello (version, capabilities and k, my nonce) and the A of the base OTs I
     * send (instance j → me) */
    for (uint32_t j = 0; j < n; j++) {
        if (j == me) continue;
        uint64_t h[S_HELLO_W];
        randombytes_buf(w->nonce[j], 32);
        h[0] = S_VERSION;
        h[1] = (uint64_t)caps | (uint64_t)k << 8 | (uint64_t)(uint32_t)s->o.window << 16;
        memcpy(h + 2, w->nonce[j], 32);
        if (!(w->bs[j] = mpc_baseot_sender_new((uint8_t *)(h + 6)))) { r = MPC_ERR_CRYPTO; goto out; }
        if ((r = s_send(s, j, h, S_HELLO_W))) goto out;
    }
    /* round 2: as base receiver with choices Δ_j (IKNP) or ¬Δ_j (SoftSpokenOT), instance
     * me → j */
    for (uint32_t j = 0; j < n; j++) {
        if (j == me) continue;
        uint64_t h[S_HELLO_W];
        if ((r = s_recv(s, j, h, S_HELLO_W))) goto out;
        if (h[0] != S_VERSION || (h[1] & ~0xffff01ull) || ((h[1] >> 8) & 0xff) != k ||
            (h[1] >> 16) != (uint64_t)(uint32_t)s->o.window) {
            r = MPC_ERR_PROTOCOL;
            goto out;
        }
        s->kind[j] = caps && (h[1] & 1) ? MPC_SYM_AESNI : MPC_SYM_PORTABLE;
        /* session id of the pair: the stream and both nonces, lower party first */
        uint8_t in[8 + 64], ch[16];
        for (int i = 0; i < 8; i++) in[i] = (uint8_t)(s->stream >> (8 * i));
        memcpy(in + 8 + (me < j ? 0 : 32), w->nonce[j], 32);
        memcpy(in + 8 + (me < j ? 32 : 0), h + 2, 32);
        crypto_generichash(w->sid[j], 32, in, sizeof in, NULL, 0);
        mpc_baseot_ctx ctx = {.sender = j, .receiver = me, .purpose = 1};
        memcpy(ctx.sid, w->sid[j], 32);
        randombytes_buf(w->delta[j], 16);
        for (int i = 0; i < 16; i++) ch[i] = (uint8_t)(k == 1 ? w->delta[j][i] : ~w->delta[j][i]);
        r = mpc_baseot_receive(&ctx, (const uint8_t *)(h + 6), ch, MPC_OT_KAPPA,
                               (uint8_t *)w->msg, w->kd[j]);
        sodium_memzero(ch, sizeof ch);
        if (r) goto out;
        if ((r = s_send(s, j, w->msg, MPC_OT_KAPPA * 4))) goto out;
        if (k == 1) {
            s->snd[j] = mpc_cot_send_new(s->kind[j], w->delta[j], w->kd[j], s_tweak_hi(w->sid[j], me, j));
            if (!s->snd[j]) { r = MPC_ERR_NOMEM; goto out; }
        }
    }
    /* round 3: finish the base OTs I sent (instance j → me); SoftSpokenOT: send the padded
     * GGM sums */
    for (uint32_t j = 0; j < n; j++) {
        if (j == me) continue;
        if ((r = s_recv(s, j, w->msg, MPC_OT_KAPPA * 4))) goto out;
        mpc_baseot_ctx ctx = {.sender = me, .receiver = j, .purpose = 1};
        memcpy(ctx.sid, w->sid[j], 32);
        r = mpc_baseot_sender_finish(w->bs[j], &ctx, (const uint8_t *)w->msg, MPC_OT_KAPPA,
                                     w->k0, w->k1);
        if (r) goto out;
        uint64_t tw = s_tweak_hi(w->sid[j], j, me);
        if (k == 1) {
            s->rcv[j] = mpc_cot_recv_new(s->kind[j], w->k0, w->k1, tw);
        } else {
            if ((r = s_sso_sender_setup(w, k))) goto out;
            if ((r = s_send(s, j, w->msg, MPC_OT_KAPPA * 8))) goto out;
            s->rcv[j] = mpc_sso_recv_new(s->kind[j], k, w->leaves, tw);
        }
        if (!s->rcv[j]) { r = MPC_ERR_NOMEM; goto out; }
    }
    /* round 4 (SoftSpokenOT): the punctured trees of instance me → j */
    for (uint32_t j = 0; k > 1 && j < n; j++) {
        if (j == me) continue;
        if ((r = s_recv(s, j, w->msg, MPC_OT_KAPPA * 8))) goto out;
        if ((r = s_sso_receiver_setup(w, j, k))) goto out;
        s->snd[j] = mpc_sso_send_new(s->kind[j], k, w->delta[j], w->leaves, s_tweak_hi(w->sid[j], me, j));
        if (!s->snd[j]) { r = MPC_ERR_NOMEM; goto out; }
    }
    r = 0;
out:
    for (uint32_t j = 0; j < S_MAXP; j++) mpc_baseot_sender_destroy(&w->bs[j]);
    sodium_free(w);   /* wipes Δ, seeds, nonces, leaves */
    if (r == 0) {
        s->state = S_READY;
        s->st.ready = 1;
        memcpy(s->st.kind, s->kind, sizeof s->kind);
    }
    return r;
}

int mpc_prep_ot_setup(mpc_prep *p)
{
    if (!p || !p->impl) return MPC_ERR_INVALID;
    s_ot *s = p->impl;
    if (s->state == S_READY) return 0;
    if (s->state == S_FAILED) return MPC_ERR_STATE;
    int r = s_setup_run(p);
    if (r) s_fail(p, r);
    return r;
}

/* ---- triples ---- */

/* ---- the chunk pipeline of triples and binary triples ----
 *
 * A request's triples (or binary triple words) go in chunks of up to C, each in three steps:
 *   A(k)  draw this chunk's own a, b; extend COTs as receiver (choices = bits of b) with every
 *         peer and send it the COT message;
 *   B(k)  take every peer's COT message of chunk k, extend as sender, send the corrections;
 *   C(k)  take every peer's corrections of chunk k and finish this party's shares.
 * With a window of W chunks, step i of the loop runs A(i), B(i − W), C(i − 2W): W chunks'
 * COT messages and W chunks' corrections are in flight per peer while this party computes,
 * so a chunk costs the larger of its compute time and one network latency divided by W.
 * W = 0 is the lock-step A(k), B(k), C(k).  Every party runs the same schedule, so the
 * messages of each directed pair are sent and received in the same order (one sequence
 * counter per pair, as before), and every receive waits only for a message its peer sends
 * in an earlier step or earlier in the same step: no cycle.  A(k) folds the receiver hashes
 * into the output shares at once (mpc_gilboa_recv_hashes; for binary triples their low
 * bits), so a chunk in flight holds nothing but its outputs: the buffers are those of one
 * chunk whatever W.  The compute of each step (COT extension, Gilboa sums) is split among
 * the source's threads (par.h); every transport call stays on the calling thread. */

typedef struct {
    uint64_t *u;                   /* a COT message (2 · 64 C words) */
    uint64_t *hr;                  /* receiver hashes (64 C) */
    uint64_t *h0, *h1;             /* sender hashes (64 C each) */
    uint64_t *corr;                /* packed corrections */
    uint64_t  C;                   /* items per chunk */
} s_tbuf;

static void s_tbuf_free(s_tbuf *b)
{
    s_wfree(b->u, 2 * 64 * b->C);
    s_wfree(b->hr, 64 * b->C);
    s_wfree(b->h0, 64 * b->C);
    s_wfree(b->h1, 64 * b->C);
    s_wfree(b->corr, mpc_gilboa_corr_words(b->C));
    memset(b, 0, sizeof *b);
}

/* Buffers for chunks of up to C triples (or C binary triple words: 64·C COTs either way). */
static int s_tbuf_alloc(s_tbuf *B, uint64_t C)
{
    B->C = (C + 1) & ~1ull;   /* corrections of two products fill whole words */
    if (!(B->u = s_alloc(2 * 64 * B->C)) || !(B->hr = s_alloc(64 * B->C)) || !(B->h0 = s_alloc(64 * B->C)) ||
        !(B->h1 = s_alloc(64 * B->C)) || !(B->corr = s_alloc(mpc_gilboa_corr_words(B->C))))
        return MPC_ERR_NOMEM;
    return 0;
}

/* One request's chunks: the buffers, the output and what the steps need. */
typedef struct {
    s_tbuf         B;
    const uint8_t *seed;
    uint64_t       total;      /* items of the request */
    uint64_t      *a, *b, *c;  /* the request's outputs (a, b, c or ba, bb, bc) */
} s_chunks;

typedef struct {
    int (*a)(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k);
    int (*b)(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k);
    int (*c)(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k);
} s_chunk_ops;

/* Runs the steps of every chunk of K->total items on the schedule above. */
static int s_pipeline(mpc_prep *p, s_chunks *K, const s_chunk_ops *ops)
{
    s_ot *s = p->impl;
    uint64_t C = K->B.C, nc = (K->total + C - 1) / C, W = (uint64_t)(uint32_t)s->o.window;
    int r;
    for (uint64_t i = 0; i < nc + 2 * W; i++) {
        for (int step = 0; step < 3; step++) {
            uint64_t lag = (uint64_t)step * W;
            if (i < lag || i - lag >= nc) continue;
            uint64_t ch = i - lag, e0 = ch * C, k = K->total - e0 < C ? K->total - e0 : C;
            r = step == 0 ? ops->a(p, K, e0, k) : step == 1 ? ops->b(p, K, e0, k) : ops->c(p, K, e0, k);
            if (r) return r;
        }
    }
    return 0;
}

/* Gilboa sums of n products split among the threads on pairs of products (a pair's
 * corrections fill 65 whole words, so every part writes its own words). */
enum { S_G_SEND, S_G_HASHES, S_G_CORR };
typedef struct {
    uint64_t       *share, *corr;
    const uint64_t *x, *h0, *h1;   /* send: x = a, h0, h1; hashes: h0 = h; corr: x = b */
    uint64_t        n;
    int             what;
} s_gjob;

static void s_gpart(void *ctx, uint32_t part, uint32_t np)
{
    s_gjob *g = ctx;
    uint64_t lo, hi;
    mpc_par_range(g->n, 2, part, np, &lo, &hi);
    if (lo >= hi) return;
    uint64_t *corr = g->corr ? g->corr + mpc_gilboa_corr_words(lo) : NULL;
    if (g->what == S_G_HASHES)
        mpc_gilboa_recv_hashes(g->share + lo, g->h0 + 64 * lo, hi - lo);
    else if (g->what == S_G_CORR)
        mpc_gilboa_recv_corr(g->share + lo, g->x + lo, corr, hi - lo);
    else
        mpc_gilboa_send(g->share + lo, corr, g->x + lo, g->h0 + 64 * lo, g->h1 + 64 * lo, hi - lo);
}

/* A(k) of triples e0 .. e0+k-1: c = a·b, then the COT messages (choices = the bits of b) and
 * the hashes' part of the receiver shares. */
static int s_tri_a(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    uint64_t *a = K->a + e0, *b = K->b + e0, *c = K->c + e0;
    uint64_t m = 64 * k, uw = mpc_cot_msg_words_k(s->o.ot_k, m);
    int r;
    uint64_t t0 = mpc_now_ns();
    if (!s->given) {
        if ((r = mpc_prg_expand(a, k, K->seed, S_RND_A, e0))) return r;
        if ((r = mpc_prg_expand(b, k, K->seed, S_RND_B, e0))) return r;
    }
    for (uint64_t e = 0; e < k; e++) c[e] = a[e] * b[e];
    s->st.sample_ns += mpc_now_ns() - t0;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self) continue;
        if ((r = mpc_cot_recv_extend_par(s->rcv[j], s->par, (const uint8_t *)b, m, K->B.u, K->B.hr, NULL)))
            return r;
        if ((r = s_send(s, j, K->B.u, uw))) return r;
        uint64_t tg = mpc_now_ns();
        s_gjob g = {c, NULL, NULL, K->B.hr, NULL, k, S_G_HASHES};
        mpc_par_run(s->par, s_gpart, &g);
        s->st.gilboa_ns += mpc_now_ns() - tg;
    }
    return 0;
}

/* B(k): as sender of a · b_j to every peer. */
static int s_tri_b(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    s_tbuf *B = &K->B;
    uint64_t m = 64 * k, uw = mpc_cot_msg_words_k(s->o.ot_k, m), cw = mpc_gilboa_corr_words(k);
    int r;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self) continue;
        if ((r = s_recv(s, j, B->u, uw))) return r;
        if ((r = mpc_cot_send_extend_par(s->snd[j], s->par, B->u, m, B->h0, B->h1, NULL))) return r;
        uint64_t tg = mpc_now_ns();
        s_gjob g = {K->c + e0, B->corr, K->a + e0, B->h0, B->h1, k, S_G_SEND};
        mpc_par_run(s->par, s_gpart, &g);
        s->st.gilboa_ns += mpc_now_ns() - tg;
        if ((r = s_send(s, j, B->corr, cw))) return r;
    }
    return 0;
}

/* C(k): the corrections for a_j · b from every peer. */
static int s_tri_c(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    uint64_t cw = mpc_gilboa_corr_words(k);
    int r;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self) continue;
        if ((r = s_recv(s, j, K->B.corr, cw))) return r;
        uint64_t tg = mpc_now_ns();
        s_gjob g = {K->c + e0, K->B.corr, K->b + e0, NULL, NULL, k, S_G_CORR};
        mpc_par_run(s->par, s_gpart, &g);
        s->st.gilboa_ns += mpc_now_ns() - tg;
    }
    return 0;
}

static const s_chunk_ops s_tri_ops = {s_tri_a, s_tri_b, s_tri_c};

/* T items (triples, or binary triple words with `ops`) into a, b, c, chunk by chunk. */
static int s_chunked(mpc_prep *p, const s_chunk_ops *ops, uint64_t T, uint64_t *a, uint64_t *b,
                     uint64_t *c)
{
    s_ot *s = p->impl;
    s_chunks K;
    uint8_t *seed = NULL;
    int r;
    memset(&K, 0, sizeof K);
    if (T == 0) return 0;
    uint64_t C = T < s->o.chunk ? T : s->o.chunk;
    if ((r = s_tbuf_alloc(&K.B, C))) goto out;
    r = MPC_ERR_NOMEM;
    if (!(seed = mpc_prg_seed_new())) goto out;
    K.seed = seed;
    K.total = T;
    K.a = a;
    K.b = b;
    K.c = c;
    r = s_pipeline(p, &K, ops);
out:
    mpc_prg_seed_free(&seed);
    s_tbuf_free(&K.B);
    return r;
}

/* ---- square pairs ---- */

/* Which of parties i != j makes the COT correction (the Gilboa sender) for their cross term
 * a_i·a_j: the lower party when i + j is even, the higher when it is odd, so that every
 * party sends and receives about as often. */
static int s_sq_sender(uint32_t me, uint32_t j)
{
    uint32_t lo = me < j ? me : j, hi = me < j ? j : me;
    return me == (((lo + hi) & 1) ? hi : lo);
}

/* Square pairs, on the schedule of the triples: every party draws a_i; with a = Σ a_i,
 * a² = Σ_i a_i² + Σ_{i<j} 2·a_i·a_j, and each cross term is ONE Gilboa product per unordered
 * pair (a triple needs one per ordered pair): the receiver's choices are the bits of its a_j,
 * the sender's word its a_i.  K->a gets a_i, K->c the share of a² (the cross terms' shares
 * are summed there, then doubled and a_i² added once the chunk's corrections are in).
 * A(k): draw a, COT messages to the peers this party receives from. */
static int s_sq_a(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    uint64_t *a = K->a + e0, *c = K->c + e0;
    uint64_t m = 64 * k, uw = mpc_cot_msg_words_k(s->o.ot_k, m);
    int r;
    uint64_t t0 = mpc_now_ns();
    if (!s->given && (r = mpc_prg_expand(a, k, K->seed, S_RND_SA, e0))) return r;
    memset(c, 0, k * sizeof *c);
    s->st.sample_ns += mpc_now_ns() - t0;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self || s_sq_sender(p->self, j)) continue;
        if ((r = mpc_cot_recv_extend_par(s->rcv[j], s->par, (const uint8_t *)a, m, K->B.u, K->B.hr, NULL)))
            return r;
        if ((r = s_send(s, j, K->B.u, uw))) return r;
        uint64_t tg = mpc_now_ns();
        s_gjob g = {c, NULL, NULL, K->B.hr, NULL, k, S_G_HASHES};
        mpc_par_run(s->par, s_gpart, &g);
        s->st.gilboa_ns += mpc_now_ns() - tg;
    }
    return 0;
}

/* B(k): as sender of a_i · a_j to the peers that receive from this party. */
static int s_sq_b(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    s_tbuf *B = &K->B;
    uint64_t m = 64 * k, uw = mpc_cot_msg_words_k(s->o.ot_k, m), cw = mpc_gilboa_corr_words(k);
    int r;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self || !s_sq_sender(p->self, j)) continue;
        if ((r = s_recv(s, j, B->u, uw))) return r;
        if ((r = mpc_cot_send_extend_par(s->snd[j], s->par, B->u, m, B->h0, B->h1, NULL))) return r;
        uint64_t tg = mpc_now_ns();
        s_gjob g = {K->c + e0, B->corr, K->a + e0, B->h0, B->h1, k, S_G_SEND};
        mpc_par_run(s->par, s_gpart, &g);
        s->st.gilboa_ns += mpc_now_ns() - tg;
        if ((r = s_send(s, j, B->corr, cw))) return r;
    }
    return 0;
}

/* C(k): the corrections from the senders, then a² = 2·(cross terms) + a_i². */
static int s_sq_c(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    uint64_t cw = mpc_gilboa_corr_words(k), *a = K->a + e0, *c = K->c + e0;
    int r;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self || s_sq_sender(p->self, j)) continue;
        if ((r = s_recv(s, j, K->B.corr, cw))) return r;
        uint64_t tg = mpc_now_ns();
        s_gjob g = {c, K->B.corr, a, NULL, NULL, k, S_G_CORR};
        mpc_par_run(s->par, s_gpart, &g);
        s->st.gilboa_ns += mpc_now_ns() - tg;
    }
    for (uint64_t e = 0; e < k; e++) c[e] = 2 * c[e] + a[e] * a[e];
    return 0;
}

static const s_chunk_ops s_sq_ops = {s_sq_a, s_sq_b, s_sq_c};

/* ---- shared random bits and truncation tuples ---- */

/* The weight of bit j of a TRUNC(m, l) tuple in its output word, hence the width (64 − it)
 * that matters of its arithmetic share. */
static uint8_t s_width(uint32_t j, uint32_t m, uint32_t l)
{
    uint32_t wt = j < m ? j : j < l ? j - m : 0;
    return (uint8_t)(64 - wt);
}

typedef struct {
    uint64_t *cw;            /* my private bits, packed (NB/64 words + 1) */
    uint64_t *y;             /* my arithmetic share of each bit (NB) */
    uint64_t *prod;          /* NB */
    uint64_t *u;             /* a u message */
    uint64_t *corr;          /* packed corrections */
    uint64_t *hr[S_MAXP];    /* receiver hashes from each peer (the half where it is earlier) */
    uint64_t *h0[S_MAXP], *h1[S_MAXP];   /* sender hashes to each peer (where it is later) */
    uint8_t  *width;
    uint64_t  NB;
} s_bbuf;

static void s_bbuf_free(s_bbuf *b, uint32_t n)
{
    uint64_t NB = b->NB;
    s_wfree(b->cw, NB / 64 + 2);
    s_wfree(b->y, NB);
    s_wfree(b->prod, NB);
    s_wfree(b->u, mpc_cot_msg_words(NB));
    s_wfree(b->corr, NB + 1);
    for (uint32_t j = 0; j < n; j++) {
        s_wfree(b->hr[j], NB);
        s_wfree(b->h0[j], NB);
        s_wfree(b->h1[j], NB);
    }
    free(b->width);
    memset(b, 0, sizeof *b);
}

/* The XOR order of half h of a chunk of random bits: half 0 XORs the parties' bits in the
 * order 0, 1, …, n−1, half 1 in the order n−1, …, 0, so that every party is the COT receiver
 * (and corrections sender) for some pairs and halves and all work at once; position v
 * of the order is party s_vparty(h, v, n). */
static uint32_t s_vparty(int h, uint32_t v, uint32_t n)
{
    return h ? n - 1 - v : v;
}

/* Shares of nb <= B->NB uniformly random bits b_j = c_0 ⊕ … ⊕ c_{n−1}: B->cw gets this
 * party's private bits c_j (packed, from (seed, stream) at word *bitpos, which advances) —
 * its XOR share — and B->y[j] its arithmetic share, exact mod 2^B->width[j] (the caller
 * fills width[0 .. nb)).  The XOR runs along the order of each half (s_vparty): y = bit of
 * the first, then y ← y + c − 2·y·c with the bit c of each next party, the product from one
 * COT per earlier party (sender: its share of y; receiver: its bit).  One message round of
 * COTs (one message per peer: the half in which it comes later than me), then n − 1
 * rounds of corrections (step k: the k-th party of each order receives). */
static int s_rbits(mpc_prep *p, s_bbuf *B, const uint8_t *seed, uint64_t stream, uint64_t *bitpos,
                   uint64_t NB)
{
    s_ot *s = p->impl;
    uint32_t n = p->n, me = p->self;
    int r;
    uint64_t t0 = mpc_now_ns();
    uint64_t nw = (NB + 63) / 64;
    if ((r = mpc_prg_expand(B->cw, nw, seed, stream, *bitpos))) return r;
    *bitpos += nw;
    const uint8_t *cb = (const uint8_t *)B->cw;
    s->st.sample_ns += mpc_now_ns() - t0;
    /* halves [0, h1) and [h1, NB), split on a word */
    uint64_t h1 = ((NB / 2) + 63) & ~63ull;
    if (h1 > NB) h1 = NB;
    const uint64_t off[2] = {0, h1}, len[2] = {h1, NB - h1};
    uint32_t vme[2] = {me, n - 1 - me};
    /* COTs: from every party earlier in a half's order to me (my bits as choices), sent
     * first; then as sender to every later party */
    for (int h = 0; h < 2; h++)
        for (uint32_t v = 0; v < vme[h] && len[h]; v++) {
            uint32_t i = s_vparty(h, v, n);
            if ((r = mpc_cot_recv_extend_par(s->rcv[i], s->par, cb + off[h] / 8, len[h], B->u, B->hr[i] + off[h], NULL)))
                return r;
            if ((r = s_send(s, i, B->u, mpc_cot_msg_words_k(s->o.ot_k, len[h])))) return r;
        }
    for (int h = 0; h < 2; h++)
        for (uint32_t v = vme[h] + 1; v < n && len[h]; v++) {
            uint32_t k = s_vparty(h, v, n);
            if ((r = s_recv(s, k, B->u, mpc_cot_msg_words_k(s->o.ot_k, len[h])))) return r;
            if ((r = mpc_cot_send_extend_par(s->snd[k], s->par, B->u, len[h], B->h0[k] + off[h], B->h1[k] + off[h], NULL)))
                return r;
        }
    uint64_t tb = mpc_now_ns();
    for (int h = 0; h < 2; h++)
        for (uint64_t j = off[h]; j < off[h] + len[h]; j++)
            B->y[j] = vme[h] == 0 ? (uint64_t)((cb[j / 8] >> (j % 8)) & 1) : 0;
    s->st.bits_ns += mpc_now_ns() - tb;
    for (uint32_t v = 1; v < n; v++) {
        /* every party earlier than position v sends its corrections, both halves ... */
        for (int h = 0; h < 2; h++) {
            if (vme[h] >= v || !len[h]) continue;
            uint32_t k = s_vparty(h, v, n);
            uint64_t o = off[h];
            tb = mpc_now_ns();
            mpc_bitmul_send(B->prod + o, B->corr, B->y + o, B->width + o, B->h0[k] + o, B->h1[k] + o, len[h]);
            for (uint64_t j = o; j < o + len[h]; j++) B->y[j] -= 2 * B->prod[j];
            s->st.bits_ns += mpc_now_ns() - tb;
            if ((r = s_send(s, k, B->corr, mpc_bitmul_corr_words(B->width + o, len[h])))) return r;
        }
        /* ... and the party at position v takes them */
        for (int h = 0; h < 2; h++) {
            if (vme[h] != v || !len[h]) continue;
            uint64_t o = off[h], cwords = mpc_bitmul_corr_words(B->width + o, len[h]);
            for (uint64_t j = o; j < o + len[h]; j++) B->y[j] = (uint64_t)((cb[j / 8] >> (j % 8)) & 1);
            for (uint32_t u = 0; u < v; u++) {
                uint32_t i = s_vparty(h, u, n);
                if ((r = s_recv(s, i, B->corr, cwords))) return r;
                tb = mpc_now_ns();
                mpc_bitmul_recv(B->prod + o, cb + o / 8, B->width + o, B->hr[i] + o, B->corr, len[h]);
                for (uint64_t j = o; j < o + len[h]; j++) B->y[j] -= 2 * B->prod[j];
                s->st.bits_ns += mpc_now_ns() - tb;
            }
        }
    }
    return 0;
}

/* Shares of q·(l+1) uniformly random bits, then q tuples of TRUNC(m, l). */
static int s_bit_chunk(mpc_prep *p, s_bbuf *B, const uint8_t *seed, uint64_t *bitpos,
                       const mpc_prep_trunc_spec *sp, uint64_t q, uint64_t *lo, uint64_t *mid,
                       uint64_t *msb)
{
    s_ot *s = p->impl;
    uint32_t L = sp->l + 1;
    int r;
    for (uint64_t e = 0; e < q; e++)
        for (uint32_t j = 0; j < L; j++) B->width[e * L + j] = s_width(j, sp->m, sp->l);
    if ((r = s_rbits(p, B, seed, S_RND_BITS, bitpos, q * L))) return r;
    /* r_lo = Σ_{j<m} 2^j b_j, r_mid = Σ_{m<=j<l} 2^(j−m) b_j, r_msb = b_l */
    uint64_t tb = mpc_now_ns();
    for (uint64_t e = 0; e < q; e++) {
        const uint64_t *y = B->y + e * L;
        uint64_t vlo = 0, vmid = 0;
        for (uint32_t j = 0; j < sp->m; j++) vlo += y[j] << j;
        for (uint32_t j = sp->m; j < sp->l; j++) vmid += y[j] << (j - sp->m);
        lo[e] = vlo;
        mid[e] = vmid;
        msb[e] = y[sp->l];
    }
    s->st.bits_ns += mpc_now_ns() - tb;
    return 0;
}

/* Working buffers for chunks of up to NB random bits. */
static int s_bbuf_alloc(mpc_prep *p, s_bbuf *B, uint64_t NB)
{
    memset(B, 0, sizeof *B);
    B->NB = NB;
    if (!(B->cw = s_alloc(NB / 64 + 2)) || !(B->y = s_alloc(NB)) || !(B->prod = s_alloc(NB)) ||
        !(B->u = s_alloc(mpc_cot_msg_words(NB))) || !(B->corr = s_alloc(NB + 1)) ||
        !(B->width = malloc(NB)))
        return MPC_ERR_NOMEM;
    for (uint32_t j = 0; j < p->n; j++)   /* each peer: receiver in one half, sender in the other */
        if (j != p->self && (!(B->hr[j] = s_alloc(NB)) || !(B->h0[j] = s_alloc(NB)) || !(B->h1[j] = s_alloc(NB))))
            return MPC_ERR_NOMEM;
    return 0;
}

static int s_trunc(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_bbuf B;
    uint8_t *seed = NULL;
    int r;
    uint64_t NB = (uint64_t)S_BITCHUNK * 64, bitpos = 0, done = 0;
    memset(&B, 0, sizeof B);
    if (req->n_trunc == 0) return 0;
    if ((r = s_bbuf_alloc(p, &B, NB))) goto out;
    r = MPC_ERR_NOMEM;
    if (!(seed = mpc_prg_seed_new())) goto out;
    for (uint32_t g = 0; g < req->n_trunc; g++) {
        const mpc_prep_trunc_spec *sp = &req->trunc[g];
        uint64_t per = NB / (sp->l + 1);
        for (uint64_t e0 = 0; e0 < sp->n; e0 += per) {
            uint64_t q = sp->n - e0 < per ? sp->n - e0 : per;
            r = s_bit_chunk(p, &B, seed, &bitpos, sp, q, out->r_lo + done, out->r_mid + done,
                            out->r_msb + done);
            if (r) goto out;
            done += q;
        }
    }
    r = 0;
out:
    mpc_prg_seed_free(&seed);
    s_bbuf_free(&B, p->n);
    return r;
}

/* ---- comparison material ---- */

/* edaBits and daBits from shared random bits (the bits of s_rbits, laid out as the 64 bits
 * of every edaBit, then the daBits), in chunks of NB bits.  A chunk starts at a multiple of
 * 64 bits and 64·E is one too, so every word of private bits belongs to one edaBit (its XOR
 * share of r's bits, as it is) or to 64 daBits (their packed XOR shares, as they are).
 * Arithmetic: r = Σ_j 2^j b_j, where bit j only matters mod 2^(64−j) (its COT corrections
 * carry 64 − j bits); a daBit is b itself, full width (EGKRS20 §3 builds edaBits from daBits
 * this way; their cheaper construction sums per-party values with a binary adder, which
 * costs more ANDs here than the 64 COTs it saves). */
static int s_cmp_bits(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_ot *s = p->impl;
    s_bbuf B;
    uint8_t *seed = NULL;
    int r;
    uint64_t E = req->n_edabits, D = req->n_dabits, total = 64 * E + D, bitpos = 0;
    uint64_t NB = (uint64_t)S_BITCHUNK * 64;
    memset(&B, 0, sizeof B);
    if (total == 0) return 0;
    if (total < NB) NB = (total + 63) & ~63ull;
    if ((r = s_bbuf_alloc(p, &B, NB))) goto out;
    r = MPC_ERR_NOMEM;
    if (!(seed = mpc_prg_seed_new())) goto out;
    for (uint64_t b0 = 0; b0 < total; b0 += NB) {
        uint64_t nb = total - b0 < NB ? total - b0 : NB;
        for (uint64_t j = 0; j < nb; j++) {
            uint64_t g = b0 + j;
            B.width[j] = (uint8_t)(g < 64 * E ? 64 - g % 64 : 64);
        }
        if ((r = s_rbits(p, &B, seed, S_RND_CBITS, &bitpos, nb))) goto out;
        uint64_t tb = mpc_now_ns();
        for (uint64_t w = 0; w < (nb + 63) / 64; w++) {
            uint64_t gw = b0 / 64 + w;
            const uint64_t *y = B.y + 64 * w;
            if (gw < E) {
                uint64_t v = 0;
                for (uint32_t j = 0; j < 64; j++) v += y[j] << j;
                out->eda_r[gw] = v;
                out->eda_bits[gw] = B.cw[w];
            } else {
                uint64_t dw = gw - E, d0 = 64 * dw, cnt = D - d0 < 64 ? D - d0 : 64;
                memcpy(out->da_r + d0, y, (size_t)cnt * 8);
                out->da_bits[dw] = B.cw[w];
            }
        }
        s->st.bits_ns += mpc_now_ns() - tb;
    }
    r = 0;
out:
    mpc_prg_seed_free(&seed);
    s_bbuf_free(&B, p->n);
    return r;
}

/* Bit 0 of each of the 64 words h[0 .. 63], packed: bit i of the result is h[i] & 1. */
static uint64_t s_lsbs(const uint64_t *h)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < 64; i++) v |= (h[i] & 1) << i;
    return v;
}

/* Binary triple words (64 ANDs each), on the chunk pipeline of the triples.  Every party
 * draws words a_i, b_i; c_i = a_i ∧ b_i ⊕ (shares of a_i ∧ b_j and a_j ∧ b_i for every peer
 * j).  The cross term a_i·b_j of one lane is one COT from P_i to P_j whose choice is P_j's
 * bit of b_j (the bit × bit case of Gilboa, or the OT-based AND triples of ALSZ13): the
 * sender sends the one-bit correction τ = h0 ⊕ h1 ⊕ a and keeps h0; the receiver takes
 * h ⊕ b·τ = h0 ⊕ b·a.  (The low bit of each TCCR output; the receiver cannot compute
 * h_{1−b}, so τ hides a.)  Two message rounds per chunk: COT messages to every peer (A),
 * then one correction word per word (B, taken in C). */
static int s_btri_a(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    uint64_t *ba = K->a + e0, *bb = K->b + e0, *bc = K->c + e0;
    uint64_t m = 64 * k, uw = mpc_cot_msg_words_k(s->o.ot_k, m);
    int r;
    uint64_t t0 = mpc_now_ns();
    if (!s->given) {
        if ((r = mpc_prg_expand(ba, k, K->seed, S_RND_BA, e0))) return r;
        if ((r = mpc_prg_expand(bb, k, K->seed, S_RND_BB, e0))) return r;
    }
    for (uint64_t w = 0; w < k; w++) bc[w] = ba[w] & bb[w];
    s->st.sample_ns += mpc_now_ns() - t0;
    /* as receiver (choices = the bits of b) to every peer */
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self) continue;
        if ((r = mpc_cot_recv_extend_par(s->rcv[j], s->par, (const uint8_t *)bb, m, K->B.u, K->B.hr, NULL)))
            return r;
        if ((r = s_send(s, j, K->B.u, uw))) return r;
        uint64_t tg = mpc_now_ns();
        for (uint64_t w = 0; w < k; w++) bc[w] ^= s_lsbs(K->B.hr + 64 * w);   /* h's part */
        s->st.gilboa_ns += mpc_now_ns() - tg;
    }
    return 0;
}

/* as sender of a ∧ b_j to every peer */
static int s_btri_b(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    s_tbuf *B = &K->B;
    uint64_t *ba = K->a + e0, *bc = K->c + e0;
    uint64_t m = 64 * k, uw = mpc_cot_msg_words_k(s->o.ot_k, m);
    int r;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self) continue;
        if ((r = s_recv(s, j, B->u, uw))) return r;
        if ((r = mpc_cot_send_extend_par(s->snd[j], s->par, B->u, m, B->h0, B->h1, NULL))) return r;
        uint64_t tg = mpc_now_ns();
        for (uint64_t w = 0; w < k; w++) {
            uint64_t l0 = s_lsbs(B->h0 + 64 * w), l1 = s_lsbs(B->h1 + 64 * w);
            B->corr[w] = l0 ^ l1 ^ ba[w];
            bc[w] ^= l0;
        }
        s->st.gilboa_ns += mpc_now_ns() - tg;
        if ((r = s_send(s, j, B->corr, k))) return r;
    }
    return 0;
}

/* the corrections for a_j ∧ b (h's part was added in A) */
static int s_btri_c(mpc_prep *p, s_chunks *K, uint64_t e0, uint64_t k)
{
    s_ot *s = p->impl;
    uint64_t *bb = K->b + e0, *bc = K->c + e0, *corr = K->B.corr;
    int r;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self) continue;
        if ((r = s_recv(s, j, corr, k))) return r;
        uint64_t tg = mpc_now_ns();
        for (uint64_t w = 0; w < k; w++) bc[w] ^= bb[w] & corr[w];
        s->st.gilboa_ns += mpc_now_ns() - tg;
    }
    return 0;
}

static const s_chunk_ops s_btri_ops = {s_btri_a, s_btri_b, s_btri_c};

/* ---- the source ---- */

/* Every party sends a digest of its request to every peer and checks theirs. */
static int s_agree(mpc_prep *p, const mpc_prep_req *req)
{
    s_ot *s = p->impl;
    uint64_t d[4], x[4];
    crypto_generichash_state h;
    int r;
    crypto_generichash_init(&h, NULL, 0, 16);
    uint64_t cm[4] = {req->n_edabits, req->n_btriples, req->n_dabits, req->n_squares};
    crypto_generichash_update(&h, (const uint8_t *)cm, sizeof cm);
    for (uint32_t g = 0; g < req->n_trunc; g++) {
        uint64_t v[3] = {req->trunc[g].m, req->trunc[g].l, req->trunc[g].n};
        crypto_generichash_update(&h, (const uint8_t *)v, sizeof v);
    }
    d[0] = req->n_triples;
    d[1] = req->n_trunc;
    crypto_generichash_final(&h, (uint8_t *)(d + 2), 16);
    for (uint32_t j = 0; j < p->n; j++)
        if (j != p->self && (r = s_send(s, j, d, 4))) return r;
    for (uint32_t j = 0; j < p->n; j++) {
        if (j == p->self) continue;
        if ((r = s_recv(s, j, x, 4))) return r;
        if (memcmp(d, x, sizeof d)) return MPC_ERR_PROTOCOL;
    }
    return 0;
}

static int s_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    s_ot *s = p->impl;
    int r;
    if (s->state == S_FAILED) return MPC_ERR_STATE;
    if ((r = mpc_prep_req_check(req, NULL))) return r;
    if (s->state == S_NEW && (r = s_setup_run(p))) goto fail;
    /* the compute threads, once per source (without them the same results, on this thread) */
    if (!s->par && s->o.threads != 1) s->par = mpc_par_new(s->o.threads);
    if ((r = s_agree(p, req))) goto fail;
    if ((r = s_chunked(p, &s_tri_ops, req->n_triples, out->a, out->b, out->c))) goto fail;
    if ((r = s_chunked(p, &s_sq_ops, req->n_squares, out->sa, NULL, out->sa2))) goto fail;
    if ((r = s_trunc(p, req, out))) goto fail;
    if ((r = s_cmp_bits(p, req, out))) goto fail;
    if ((r = s_chunked(p, &s_btri_ops, req->n_btriples, out->ba, out->bb, out->bc))) goto fail;
    s->st.ots = 0;
    for (uint32_t j = 0; j < p->n; j++) {
        mpc_cot_prof a, b;
        if (j == p->self) continue;
        mpc_cot_recv_prof(s->rcv[j], &a);
        mpc_cot_send_prof(s->snd[j], &b);
        s->st.ots += a.ots + b.ots;
    }
    return 0;
fail:
    s_fail(p, r);
    return r;
}

static void s_abort(mpc_prep *p, int code)
{
    s_fail(p, code);
}

static void s_destroy(mpc_prep **pp)
{
    mpc_prep *p = *pp;
    s_ot *s = p->impl;
    for (uint32_t j = 0; j < S_MAXP; j++) {
        mpc_cot_send_destroy(&s->snd[j]);
        mpc_cot_recv_destroy(&s->rcv[j]);
    }
    mpc_transport_forget(s->t, s->stream);
    mpc_par_free(&s->par);
    free(s);
    free(p);
    *pp = NULL;
}

static const struct mpc_prep_ops s_ot_ops = {
    .fetch = s_fetch, .abort = s_abort, .destroy = s_destroy,
};

mpc_prep *mpc_prep_ot_new(mpc_transport *t, uint32_t self, uint32_t n, uint64_t stream,
                          const mpc_prep_ot_opts *opts)
{
    if (!t || n < 2 || n > S_MAXP || self >= n || t->self != self || t->n < n) return NULL;
    if (opts && opts->chunk && (opts->chunk < 16 || opts->chunk > 65536)) return NULL;
    if (opts && opts->ot_k && !mpc_cot_msg_words_k(opts->ot_k, 1)) return NULL;
    if (opts && opts->window > MPC_PREP_OT_WINDOW_MAX) return NULL;
    if (sodium_init() < 0) return NULL;
    mpc_prep *p = calloc(1, sizeof *p);
    s_ot *s = calloc(1, sizeof *s);
    if (!p || !s) {
        free(p);
        free(s);
        return NULL;
    }
    s->t = t;
    s->stream = stream;
    if (opts) s->o = *opts;
    else s->o.timeout_ms = -1;
    if (!s->o.chunk) s->o.chunk = MPC_PREP_OT_CHUNK;
    if (!s->o.ot_k) s->o.ot_k = MPC_PREP_OT_K;
    s->o.window = s->o.window == 0 ? MPC_PREP_OT_WINDOW : s->o.window < 0 ? 0 : s->o.window;
    p->ops = &s_ot_ops;
    p->impl = s;
    p->self = self;
    p->n = n;
    p->caps = MPC_PREP_CAP_COMPARE;
    return p;
}

int mpc_prep_ot_stats_get(const mpc_prep *p, mpc_prep_ot_stats *st)
{
    if (!p || p->ops != &s_ot_ops || !st) return MPC_ERR_INVALID;
    const s_ot *s = p->impl;
    *st = s->st;
    st->prg_ns = st->transpose_ns = st->hash_ns = 0;
    for (uint32_t j = 0; j < p->n; j++) {
        mpc_cot_prof a, b;
        if (j == p->self || !s->rcv[j] || !s->snd[j]) continue;
        mpc_cot_recv_prof(s->rcv[j], &a);
        mpc_cot_send_prof(s->snd[j], &b);
        st->prg_ns += a.prg_ns + b.prg_ns;
        st->transpose_ns += a.transpose_ns + b.transpose_ns;
        st->hash_ns += a.hash_ns + b.hash_ns;
    }
    return 0;
}

int mpc_prep_ot_fetch_given(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out)
{
    if (!p || p->ops != &s_ot_ops || !req || !out || (req->n_triples && (!out->a || !out->b)) ||
        (req->n_btriples && (!out->ba || !out->bb)) || (req->n_squares && !out->sa))
        return MPC_ERR_INVALID;
    s_ot *s = p->impl;
    s->given = 1;
    int r = mpc_prep_fetch(p, req, out);
    s->given = 0;
    return r;
}

const char *mpc_prep_ot_hash_name(const mpc_prep *p, uint32_t peer)
{
    if (!p || p->ops != &s_ot_ops || peer >= p->n) return mpc_sym_name(mpc_sym_best());
    const s_ot *s = p->impl;
    if (s->state != S_READY || peer == p->self)
        return mpc_sym_name(s->o.force_portable ? MPC_SYM_PORTABLE : mpc_sym_best());
    return mpc_sym_name(s->kind[peer]);
}
