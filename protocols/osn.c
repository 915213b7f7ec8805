/* osn.c — Beneš routing and the oblivious switching network (osn.h, docs/join.md). */
#include "osn.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "baseot.h"
#include "mpc_err.h"
#include "otext.h"
#include "prg.h"

uint64_t mpc_benes_size(uint64_t n)
{
    uint64_t N = 2;
    while (N < n) N <<= 1;
    return N;
}

uint32_t mpc_benes_layers(uint64_t N)
{
    uint32_t k = 0;
    while ((1ull << k) < N) k++;
    return 2 * k - 1;
}

/* The wires of switch g of layer l (osn.h). */
static void s_wires(uint64_t N, uint32_t k, uint32_t l, uint64_t g, uint64_t e[2], uint64_t f[2])
{
    if (l == k - 1) {
        e[0] = f[0] = 2 * g;
        e[1] = f[1] = 2 * g + 1;
        return;
    }
    uint32_t d = l < k - 1 ? l : 2 * k - 2 - l;
    uint64_t M = N >> d, h = M / 2, o = (g / h) * M, s = g % h;
    uint64_t a0 = o + 2 * s, a1 = o + 2 * s + 1, b0 = o + s, b1 = o + h + s;
    if (l < k - 1) {
        e[0] = a0; e[1] = a1; f[0] = b0; f[1] = b1;
    } else {
        e[0] = b0; e[1] = b1; f[0] = a0; f[1] = a1;
    }
}

/* One block of M wires at offset off of depth d: the bits of its input and output switches
 * (ib, ob: M/2 each) and the gathers of its two halves into nxt (values local to each). */
static void s_route_block(const uint32_t *cur, uint32_t *nxt, uint32_t *inv, uint8_t *vis,
                          uint64_t off, uint64_t M, uint8_t *ib, uint8_t *ob)
{
    uint64_t h = M / 2;
    for (uint64_t i = 0; i < M; i++) inv[off + cur[off + i]] = (uint32_t)i;
    memset(vis, 0, h);
    for (uint64_t o = 0; o < h; o++) {
        if (vis[o]) continue;
        uint64_t i = 2 * o;                      /* output i is fed from the upper half */
        for (;;) {
            uint64_t os = i / 2, j = cur[off + i];
            vis[os] = 1;
            ob[os] = (uint8_t)(i & 1);
            ib[j / 2] = (uint8_t)(j & 1);
            nxt[off + os] = (uint32_t)(j / 2);
            uint64_t i2 = inv[off + (j ^ 1)];     /* the sibling input goes through the lower half */
            nxt[off + h + i2 / 2] = (uint32_t)(j / 2);
            if (vis[i2 / 2]) break;
            i = i2 ^ 1;
        }
    }
}

int mpc_benes_route(const uint32_t *src, uint64_t n, uint8_t *bits)
{
    if (n > MPC_OSN_MAX_N || (n && !src) || !bits) return MPC_ERR_INVALID;
    uint64_t N = mpc_benes_size(n), half = N / 2;
    uint32_t L = mpc_benes_layers(N), k = (L + 1) / 2;
    uint32_t *cur = malloc(N * 4), *nxt = malloc(N * 4), *inv = malloc(N * 4);
    uint8_t *vis = calloc(N, 1);
    int r = MPC_ERR_NOMEM;
    if (!cur || !nxt || !inv || !vis) goto out;
    r = MPC_ERR_INVALID;
    for (uint64_t i = 0; i < n; i++) {
        if (src[i] >= n || vis[src[i]]) goto out;
        vis[src[i]] = 1;
        cur[i] = src[i];
    }
    for (uint64_t i = n; i < N; i++) cur[i] = (uint32_t)i;
    for (uint32_t d = 0; d + 1 < k; d++) {
        uint64_t M = N >> d, h = M / 2;
        for (uint64_t b = 0; b < N / M; b++)
            s_route_block(cur, nxt, inv, vis, b * M, M, bits + (uint64_t)d * half + b * h,
                          bits + (uint64_t)(L - 1 - d) * half + b * h);
        uint32_t *tp = cur; cur = nxt; nxt = tp;
    }
    for (uint64_t b = 0; b < half; b++) bits[(uint64_t)(k - 1) * half + b] = (uint8_t)(cur[2 * b] == 1);
    r = 0;
out:
    free(cur); free(nxt); free(inv); free(vis);
    return r;
}

void mpc_benes_apply(const uint8_t *bits, uint64_t N, uint32_t W, uint64_t *x, uint64_t *tmp)
{
    uint32_t L = mpc_benes_layers(N), k = (L + 1) / 2;
    uint64_t e[2], f[2];
    for (uint32_t l = 0; l < L; l++) {
        for (uint64_t g = 0; g < N / 2; g++) {
            s_wires(N, k, l, g, e, f);
            uint32_t c = bits[(uint64_t)l * (N / 2) + g] & 1;
            for (uint32_t t = 0; t < W; t++) {
                tmp[f[0] * W + t] = x[e[c] * W + t];
                tmp[f[1] * W + t] = x[e[1 - c] * W + t];
            }
        }
        memcpy(x, tmp, N * W * 8);
    }
}

/* ---- the OT pair ---- */

struct mpc_osn_ot {
    mpc_sym_kind  kind;
    mpc_cot_send *snd;       /* I am the data holder (OT sender) */
    mpc_cot_recv *rcv;       /* I am the permutation holder (OT receiver) */
    uint8_t      *delta;     /* 16 bytes, sodium_malloc */
    uint64_t      tw_snd, tw_rcv;   /* the pad tweaks' base per direction */
};

/* 64 bits naming a use (label) of the directed instance cot sender → cot receiver. */
static uint64_t s_tweak(const uint8_t sid[32], const char label[8], uint32_t from, uint32_t to)
{
    uint8_t in[48], h[16];
    memcpy(in, sid, 32);
    memcpy(in + 32, label, 8);
    for (int i = 0; i < 4; i++) {
        in[40 + i] = (uint8_t)(from >> (8 * i));
        in[44 + i] = (uint8_t)(to >> (8 * i));
    }
    crypto_generichash(h, sizeof h, in, sizeof in, NULL, 0);
    uint64_t v;
    memcpy(&v, h, 8);
    return v;
}

void mpc_osn_ot_free(mpc_osn_ot **o)
{
    if (!o || !*o) return;
    mpc_cot_send_destroy(&(*o)->snd);
    mpc_cot_recv_destroy(&(*o)->rcv);
    if ((*o)->delta) sodium_free((*o)->delta);
    free(*o);
    *o = NULL;
}

typedef struct {
    uint64_t hello[5];                         /* capabilities, the base-OT sender's A */
    uint64_t msg[MPC_OT_KAPPA * 4];
    uint8_t  kd[MPC_OT_KAPPA * 32], k0[MPC_OT_KAPPA * 32], k1[MPC_OT_KAPPA * 32];
} s_setup;

int mpc_osn_ot_setup(mpc_transport *t, uint32_t peer, uint64_t stream, uint64_t seq,
                     const uint8_t sid[32], int timeout_ms, mpc_osn_ot **out)
{
    *out = NULL;
    uint32_t me = t->self;
    mpc_osn_ot *o = calloc(1, sizeof *o);
    s_setup *w = sodium_malloc(sizeof *w);
    mpc_baseot_sender *bs = NULL;
    int r = MPC_ERR_NOMEM;
    if (!o || !w || !(o->delta = sodium_malloc(16))) goto out;
    uint64_t caps = (uint64_t)mpc_sym_have_aesni();
    w->hello[0] = caps;
    r = MPC_ERR_CRYPTO;
    if (!(bs = mpc_baseot_sender_new((uint8_t *)(w->hello + 1)))) goto out;
    if ((r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq, w->hello, 5))) goto out;
    if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq, w->hello, 5, timeout_ms))) goto out;
    r = MPC_ERR_PROTOCOL;
    if (w->hello[0] > 1) goto out;
    o->kind = caps && w->hello[0] ? MPC_SYM_AESNI : MPC_SYM_PORTABLE;
    /* as base-OT receiver with choices Δ: the instance me → peer (I send the OSN data) */
    mpc_baseot_ctx ctx = {.sender = peer, .receiver = me, .purpose = 0x4f534e};
    memcpy(ctx.sid, sid, 32);
    randombytes_buf(o->delta, 16);
    if ((r = mpc_baseot_receive(&ctx, (const uint8_t *)(w->hello + 1), o->delta, MPC_OT_KAPPA,
                                (uint8_t *)w->msg, w->kd)))
        goto out;
    if ((r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq + 1, w->msg, MPC_OT_KAPPA * 4))) goto out;
    r = MPC_ERR_NOMEM;
    if (!(o->snd = mpc_cot_send_new(o->kind, o->delta, w->kd, s_tweak(sid, "osn-cot!", me, peer))))
        goto out;
    if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq + 1, w->msg, MPC_OT_KAPPA * 4, timeout_ms)))
        goto out;
    ctx.sender = me;
    ctx.receiver = peer;
    if ((r = mpc_baseot_sender_finish(bs, &ctx, (const uint8_t *)w->msg, MPC_OT_KAPPA, w->k0, w->k1)))
        goto out;
    r = MPC_ERR_NOMEM;
    if (!(o->rcv = mpc_cot_recv_new(o->kind, w->k0, w->k1, s_tweak(sid, "osn-cot!", peer, me))))
        goto out;
    o->tw_snd = s_tweak(sid, "osn-pad!", me, peer);
    o->tw_rcv = s_tweak(sid, "osn-pad!", peer, me);
    r = 0;
out:
    mpc_baseot_sender_destroy(&bs);
    if (w) sodium_free(w);
    if (r) mpc_osn_ot_free(&o);
    *out = o;
    return r;
}

/* ---- the runs ---- */

/* Wipes and frees n words (NULL accepted): masks, pads and shares. */
static void s_wfree(void *p, uint64_t words)
{
    if (!p) return;
    sodium_memzero(p, words * 8);
    free(p);
}

static int s_check(const mpc_osn_ot *o, uint64_t n, uint32_t W)
{
    if (!o || n > MPC_OSN_MAX_N || W == 0 || W > MPC_OSN_MAX_W) return MPC_ERR_INVALID;
    if (mpc_benes_size(n) * W > (1ull << 22)) return MPC_ERR_LIMIT;   /* one message <= 32 MiB */
    return 0;
}

/* a if c == 0, b if c == 1, without a branch on c */
static inline uint64_t s_sel(uint64_t c, uint64_t a, uint64_t b)
{
    return a ^ ((a ^ b) & (0 - c));
}

/* The receiver's OT work space: one layer's choices, rows, extension message and hashes. */
typedef struct {
    uint8_t  *ch, *trow;
    uint64_t *u, *h, uw;
} s_otws;

static void s_otws_free(s_otws *ws, uint64_t half)
{
    if (ws->ch) sodium_memzero(ws->ch, half / 8 + 1);
    if (ws->trow) sodium_memzero(ws->trow, 16 * half);
    free(ws->ch); free(ws->trow); free(ws->u);
    s_wfree(ws->h, half);
}

/* The receiver's OTs of layer l: sends its extension message and writes the chosen pads,
 * pads[t·half + g] for word t < 2W. */
static int s_perm_ot_layer(mpc_osn_ot *o, mpc_transport *t, uint32_t peer, uint64_t stream,
                           uint64_t seq, const uint8_t *bits, uint64_t N, uint32_t W, uint32_t l,
                           s_otws *ws, uint64_t *pads)
{
    uint64_t half = N / 2;
    memset(ws->ch, 0, half / 8 + 1);
    for (uint64_t g = 0; g < half; g++) ws->ch[g / 8] |= (uint8_t)((bits[l * half + g] & 1) << (g % 8));
    uint64_t pos = mpc_cot_recv_pos(o->rcv);
    int r = mpc_cot_recv_extend(o->rcv, ws->ch, half, ws->u, ws->h, ws->trow);
    if (!r) r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq + 1 + l, ws->u, ws->uw);
    for (uint32_t w = 0; w < 2 * W && !r; w++)
        mpc_tccr(o->kind, pads + (uint64_t)w * half, ws->trow, NULL, o->tw_rcv + w, pos, half);
    return r;
}

/* Pad words the permutation holder keeps at once (osn.h, mpc_osn_pad_budget). */
static _Atomic uint64_t s_pad_budget = MPC_OSN_PAD_BUDGET;

void mpc_osn_pad_budget(uint64_t words)
{
    s_pad_budget = words ? words : MPC_OSN_PAD_BUDGET;
}

int mpc_osn_permuter(mpc_osn_ot *o, mpc_transport *t, uint32_t peer, uint64_t stream,
                     uint64_t seq, const uint32_t *src, uint64_t n, uint32_t W, uint64_t *out,
                     int timeout_ms)
{
    int r = s_check(o, n, W);
    if (r || n == 0) return r;
    uint64_t N = mpc_benes_size(n), half = N / 2;
    uint32_t L = mpc_benes_layers(N), k = (L + 1) / 2;
    uint64_t lw = 2 * (uint64_t)W * half, win = s_pad_budget / lw;
    if (win < 1) win = 1;
    if (win > L) win = L;
    uint8_t *bits = malloc(L * half);
    uint64_t *pads = malloc(win * lw * 8), *y = malloc(N * W * 8), *ny = malloc(N * W * 8),
             *corr = malloc(lw * 8);
    s_otws ws = {.ch = calloc(half / 8 + 1, 1), .trow = malloc(16 * half), .uw = mpc_cot_msg_words(half),
                 .h = malloc(8 * half)};
    ws.u = malloc(ws.uw * 8);
    r = MPC_ERR_NOMEM;
    if (!bits || !pads || !y || !ny || !corr || !ws.ch || !ws.trow || !ws.u || !ws.h) goto out;
    if ((r = mpc_benes_route(src, n, bits))) goto out;
    for (uint32_t l = 0; l < win; l++)
        if ((r = s_perm_ot_layer(o, t, peer, stream, seq, bits, N, W, l, &ws, pads + l * lw))) goto out;
    if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq, y, N * W, timeout_ms))) goto out;
    uint64_t e[2], f[2];
    for (uint32_t l = 0; l < L; l++) {
        if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq + 1 + l, corr, lw, timeout_ms)))
            goto out;
        uint64_t *pl = pads + (l % win) * lw;
        for (uint64_t g = 0; g < half; g++) {
            s_wires(N, k, l, g, e, f);
            uint64_t c = bits[l * half + g] & 1;
            for (uint32_t w = 0; w < W; w++) {
                /* c = 0: m_0 is my pad itself; c = 1: my pad plus D's correction */
                uint64_t m0 = pl[(uint64_t)w * half + g] + s_sel(c, 0, corr[(uint64_t)w * half + g]);
                uint64_t m1 = pl[(uint64_t)(W + w) * half + g] + s_sel(c, 0, corr[(uint64_t)(W + w) * half + g]);
                uint64_t y0 = y[e[0] * W + w], y1 = y[e[1] * W + w];
                ny[f[0] * W + w] = s_sel(c, y0, y1) + m0;
                ny[f[1] * W + w] = s_sel(c, y1, y0) + m1;
            }
        }
        uint64_t *tp = y; y = ny; ny = tp;
        /* the slot of layer l is free: the layer win ahead takes it */
        if (l + win < L && (r = s_perm_ot_layer(o, t, peer, stream, seq, bits, N, W, (uint32_t)(l + win), &ws, pl)))
            goto out;
    }
    for (uint32_t w = 0; w < W; w++)
        for (uint64_t i = 0; i < n; i++) out[(uint64_t)w * n + i] = y[i * W + w];
    r = 0;
out:
    if (bits) sodium_memzero(bits, L * half);
    free(bits);
    s_otws_free(&ws, half);
    s_wfree(pads, win * lw);
    s_wfree(y, N * W);
    s_wfree(ny, N * W);
    free(corr);
    return r;
}

/* The data holder's layer l: the masks of boundary l + 1 (wb) follow from those of boundary
 * l (wa) and the pads of choice 0, so that m_0 = pad_0 needs no message; the correction
 * message carries m_1 − pad_1 (2W words a switch). */
static void s_corr(uint64_t N, uint32_t k, uint32_t l, uint32_t W, const uint64_t *wa,
                   uint64_t *wb, const uint64_t *p0, const uint64_t *p1, uint64_t *corr)
{
    uint64_t half = N / 2, e[2], f[2];
    for (uint64_t g = 0; g < half; g++) {
        s_wires(N, k, l, g, e, f);
        for (uint32_t w = 0; w < W; w++) {
            uint64_t i0 = (uint64_t)w * half + g, i1 = (uint64_t)(W + w) * half + g;
            uint64_t a0 = wa[e[0] * W + w], a1 = wa[e[1] * W + w];
            uint64_t b0 = a0 - p0[i0], b1 = a1 - p0[i1];
            wb[f[0] * W + w] = b0;
            wb[f[1] * W + w] = b1;
            corr[i0] = a1 - b0 - p1[i0];
            corr[i1] = a0 - b1 - p1[i1];
        }
    }
}

int mpc_osn_sender(mpc_osn_ot *o, mpc_transport *t, uint32_t peer, uint64_t stream,
                   uint64_t seq, const uint64_t *x, uint64_t n, uint32_t W, uint64_t *out,
                   int timeout_ms)
{
    int r = s_check(o, n, W);
    if (r || n == 0) return r;
    uint64_t N = mpc_benes_size(n), half = N / 2, uw = mpc_cot_msg_words(half);
    uint32_t L = mpc_benes_layers(N), k = (L + 1) / 2;
    uint8_t *seed = mpc_prg_seed_new(), *q = malloc(16 * half);
    uint64_t *wa = malloc(N * W * 8), *wb = malloc(N * W * 8), *y = malloc(N * W * 8),
             *u = malloc(uw * 8), *h0 = malloc(8 * half), *h1 = malloc(8 * half),
             *p0 = malloc(2 * W * half * 8), *p1 = malloc(2 * W * half * 8),
             *corr = malloc(2 * W * half * 8);
    r = MPC_ERR_NOMEM;
    if (!seed || !q || !wa || !wb || !y || !u || !h0 || !h1 || !p0 || !p1 || !corr) goto out;
    if ((r = mpc_prg_expand(wa, N * W, seed, MPC_PRG_STREAM(MPC_PRG_D_OSN, 0), 0))) goto out;
    for (uint64_t i = 0; i < N; i++)
        for (uint32_t w = 0; w < W; w++)
            y[i * W + w] = (i < n ? x[(uint64_t)w * n + i] : 0) - wa[i * W + w];
    if ((r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq, y, N * W))) goto out;
    for (uint32_t l = 0; l < L; l++) {
        if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq + 1 + l, u, uw, timeout_ms))) goto out;
        uint64_t pos = mpc_cot_send_pos(o->snd);
        if ((r = mpc_cot_send_extend(o->snd, u, half, h0, h1, q))) goto out;
        for (uint32_t w = 0; w < 2 * W; w++) {
            mpc_tccr(o->kind, p0 + (uint64_t)w * half, q, NULL, o->tw_snd + w, pos, half);
            mpc_tccr(o->kind, p1 + (uint64_t)w * half, q, o->delta, o->tw_snd + w, pos, half);
        }
        s_corr(N, k, l, W, wa, wb, p0, p1, corr);
        if ((r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq + 1 + l, corr, 2 * W * half))) goto out;
        uint64_t *tp = wa; wa = wb; wb = tp;
    }
    for (uint32_t w = 0; w < W; w++)
        for (uint64_t i = 0; i < n; i++) out[(uint64_t)w * n + i] = wa[i * W + w];
    r = 0;
out:
    mpc_prg_seed_free(&seed);
    if (q) sodium_memzero(q, 16 * half);
    free(q); free(y); free(u); free(corr);
    s_wfree(wa, N * W);
    s_wfree(wb, N * W);
    s_wfree(h0, half);
    s_wfree(h1, half);
    s_wfree(p0, 2 * W * half);
    s_wfree(p1, 2 * W * half);
    return r;
}
