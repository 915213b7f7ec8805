/* auth_ot.c — SPDZ2k authenticated triples and masks from OT (auth_ot.h): IKNP with the KOS15
 * check, Gilboa products in Z_2^128, vOLE authentication, the correlation check, the sacrifice
 * and the MAC check. */
#include "auth_ot.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aeshash.h"
#include "baseot.h"
#include "bitpack.h"
#include "clock.h"
#include "mpc_err.h"
#include "otext.h"
#include "prg.h"

typedef mpc_u128 u128;

#define S_MAXP     MPC_MAX_PARTIES_AUTH
#define S_VBITS    64                  /* bits of α_j: vOLE columns per pair */
#define S_NBASE    (MPC_OT_KAPPA + S_VBITS)
#define S_GBITS    8256u               /* Σ_{k<128} (128 − k): one packed τ vector */
#define S_VOLEBITS 6176u               /* Σ_{β<64} (128 − β): one value's vOLE message */
#define S_BLK      1024                /* OTs per inner block of Gilboa */
#define S_VB       32                  /* values per vOLE block (a multiple of 4) */
#define S_HELLO    4
#define S_VERSION  2                   /* of the hello: what the two ends compute alike */
#define S_CAND     MPC_AUTH_OT_CAND    /* candidates per triple */
_Static_assert(S_BLK % 128 == 0 && S_GBITS % 64 == 0, "Gilboa blocks hold whole word-aligned candidates");
_Static_assert(S_VB % 4 == 0, "vOLE blocks start at multiples of 4 PRG blocks (ChaCha20)");

/* Secrets of one peer pair, in sodium_malloc memory. */
typedef struct {
    uint8_t     delta[16];             /* Δ of the IKNP instance in which this party sends */
    mpc_prg_key vs[2 * S_VBITS];       /* vOLE, this party authenticates: k0_β, k1_β */
    mpc_prg_key vr[S_VBITS];           /* vOLE, the peer authenticates: k_{α_β} */
} s_pairsec;

typedef struct {
    mpc_cot_recv *rcv;      /* this party receives (choices: its b bits), the peer sends */
    mpc_cot_send *snd;      /* this party sends */
    s_pairsec    *sec;
    mpc_sym_kind  kind;
    uint64_t      tw_r, tw_s;       /* TCCR tweak_hi of the two instances (top 2 bits 0) */
    uint64_t      vpos_s, vpos_r;   /* next vOLE PRG block, multiples of 4 */
} s_pair;

/* Work buffers, kept for the source's lifetime and grown when a call needs more: fresh
 * memory per chunk cost more in page faults than the protocol's arithmetic (auth.h,
 * mpc_auth_alloc).  They hold OT outputs and shares of the last chunk until the next one
 * overwrites them; destroy wipes them. */
typedef struct {
    void  *p;
    size_t bytes;
} s_buf;

enum { B_U, B_CHOICES, B_CORR, B_VMSG, B_R, B_W, B_X, B_MT, B_TROW, B_QROW = B_TROW + S_MAXP,
       B_M = B_QROW + S_MAXP, B_BC = B_M + S_MAXP, B_CC, B_CCH, B_RC, B_COUNT };

typedef struct {
    mpc_transport   *t;
    uint32_t         self, n, chunk;
    uint64_t         stream, seq;
    int              timeout_ms, portable, ready, failed, check_failed;
    mpc_auth_key     key;              /* α_i ∈ [0, 2^64) */
    mpc_mac_check   *ck;
    s_pair           p[S_MAXP];
    mpc_auth_ot_stats st;
    s_buf            buf[B_COUNT];
    char             err[200];
} s_aot;

/* ---- small helpers ---- */

static void s_wfree(void *p, size_t bytes)
{
    if (!p) return;
    sodium_memzero(p, bytes);
    free(p);
}

static void *s_alloc(size_t bytes)
{
    return calloc(1, bytes ? bytes : 1);
}

static int s_fail(s_aot *s, int code, const char *fmt, ...)
{
    if (!s->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, sizeof s->err, fmt, ap);
        va_end(ap);
        s->failed = code;
        /* a failed MAC check told every peer in its verdict round: an ABORT after it could
         * overtake the verdict at a peer still checking (auth.h) */
        if (s->check_failed) return code;
        for (uint32_t j = 0; j < s->n; j++)
            if (j != s->self) (void)mpc_send_abort(s->t, j, s->stream, code, MPC_ABORT_NO_PARTY);
    }
    return s->failed;
}

static int s_send(s_aot *s, uint32_t to, uint64_t seq, const uint64_t *w, uint64_t n)
{
    uint64_t before = s->t->bytes_sent;
    int r = mpc_send(s->t, to, MPC_MSG_PREP, s->stream, seq, w, n);
    s->st.bytes_sent += s->t->bytes_sent - before;
    if (r) return s_fail(s, r, "sending to party %u: %s", (unsigned)to, mpc_strerror(r));
    return 0;
}

static int s_recv(s_aot *s, uint32_t from, uint64_t seq, uint64_t *w, uint64_t n)
{
    uint64_t t0 = mpc_now_ns();
    int r = mpc_recv(s->t, from, MPC_MSG_PREP, s->stream, seq, w, n, s->timeout_ms);
    s->st.wait_ns += mpc_now_ns() - t0;
    if (r) return s_fail(s, r, "receiving from party %u: %s", (unsigned)from, mpc_strerror(r));
    return 0;
}

static int s_coin(s_aot *s, uint64_t seq, uint8_t seed[32])
{
    uint32_t peer;
    char e[160];
    int r = mpc_auth_coin(s->t, MPC_MSG_PREP, s->stream, seq, seed, s->timeout_ms, &peer, e, sizeof e);
    if (r) return s_fail(s, r, "%s", e);
    /* every party's seed goes into the check's transcript: different seeds fail the check */
    if (s->ck) mpc_mac_check_bcast(s->ck, 0, seq, (const uint64_t *)seed, 4);
    return 0;
}

#define s_put mpc_bits_put
#define s_get mpc_bits_get

/* Buffer k with at least `bytes` bytes (contents unspecified), NULL when memory is short. */
static void *s_get_buf(s_aot *s, unsigned k, size_t bytes)
{
    s_buf *b = &s->buf[k];
    if (b->bytes >= bytes) return b->p;
    if (b->p) {
        sodium_memzero(b->p, b->bytes);
        free(b->p);
    }
    b->p = mpc_auth_alloc((bytes + 15) / 16);
    b->bytes = b->p ? (bytes + 15) / 16 * 16 : 0;
    return b->p;
}

static uint64_t s_words(uint64_t bits)
{
    return (bits + 63) / 64;
}

/* 62 bits naming the directed instance from → to of the session. */
static uint64_t s_tweak(const uint8_t sid[32], uint32_t from, uint32_t to)
{
    uint8_t in[32 + 8], h[8];
    memcpy(in, sid, 32);
    uint32_t ft[2] = {from, to};
    memcpy(in + 32, ft, 8);
    crypto_generichash(h, 8, in, sizeof in, (const uint8_t *)"mpcd auth-ot tw", 15);
    uint64_t v;
    memcpy(&v, h, 8);
    return v >> 2;
}

/* ---- setup ---- */

/* Base OTs of the ordered pair (snd → rcv in the base OT, rcv holding Δ ‖ α bits). */
static int s_base_pair(s_aot *s, const uint8_t sid[32], uint32_t j, int as_sender)
{
    s_pair *P = &s->p[j];
    mpc_baseot_ctx ctx = {.purpose = 0x5a11, .endemic = 1};   /* actively secure (baseot.h) */
    memcpy(ctx.sid, sid, 32);
    ctx.sender = as_sender ? s->self : j;
    ctx.receiver = as_sender ? j : s->self;
    uint64_t seq = 3 + (ctx.sender > ctx.receiver);
    size_t kb = (size_t)S_NBASE * 32;
    uint8_t *k0 = sodium_malloc(kb), *k1 = sodium_malloc(kb);
    int r = (!k0 || !k1) ? MPC_ERR_NOMEM : 0;
    if (!r && as_sender) {
        r = mpc_baseot_run_sender(s->t, j, s->stream, seq, &ctx, S_NBASE, k0, k1, s->timeout_ms);
        if (!r && !(P->rcv = mpc_cot_recv_new(P->kind, k0, k1, P->tw_r))) r = MPC_ERR_NOMEM;
        for (unsigned b = 0; !r && b < S_VBITS; b++) {
            mpc_sym_prg_key(P->kind, &P->sec->vs[2 * b], k0 + 32 * (MPC_OT_KAPPA + b));
            mpc_sym_prg_key(P->kind, &P->sec->vs[2 * b + 1], k1 + 32 * (MPC_OT_KAPPA + b));
        }
    } else if (!r) {
        uint8_t ch[S_NBASE / 8];
        randombytes_buf(P->sec->delta, 16);
        memcpy(ch, P->sec->delta, 16);
        memcpy(ch + 16, s->key.alpha, 8);   /* α_i < 2^64: its 64 bits */
        r = mpc_baseot_run_receiver(s->t, j, s->stream, seq, &ctx, ch, S_NBASE, k0, s->timeout_ms);
        sodium_memzero(ch, sizeof ch);
        if (!r && !(P->snd = mpc_cot_send_new(P->kind, P->sec->delta, k0, P->tw_s))) r = MPC_ERR_NOMEM;
        for (unsigned b = 0; !r && b < S_VBITS; b++)
            mpc_sym_prg_key(P->kind, &P->sec->vr[b], k0 + 32 * (MPC_OT_KAPPA + b));
    }
    if (k0) sodium_free(k0);   /* sodium_free wipes */
    if (k1) sodium_free(k1);
    if (r) return s_fail(s, r, "base OTs with party %u: %s", (unsigned)j, mpc_strerror(r));
    return 0;
}

static int s_setup(s_aot *s)
{
    if (s->failed) return s->failed;
    if (s->ready) return 0;
    uint64_t t0 = mpc_now_ns();
    uint8_t sid[32];
    int r = s_coin(s, 0, sid);
    if (r) return r;
    /* hello: version, n, self, whether AES-NI can run here.  Version 2: the KOS coefficients
     * of an AES pair come from AES-CTR (version 1: ChaCha20), so 1 and 2 must not pair up */
    uint64_t hello[S_HELLO] = {S_VERSION, s->n, s->self, (uint64_t)(!s->portable && mpc_sym_have_aesni())};
    for (uint32_t j = 0; j < s->n; j++)
        if (j != s->self && (r = s_send(s, j, 2, hello, S_HELLO))) return r;
    for (uint32_t j = 0; j < s->n; j++) {
        if (j == s->self) continue;
        uint64_t h[S_HELLO];
        if ((r = s_recv(s, j, 2, h, S_HELLO))) return r;
        if (h[0] != S_VERSION || h[1] != s->n || h[2] != j)
            return s_fail(s, MPC_ERR_PROTOCOL, "party %u's hello does not match this source", (unsigned)j);
        s->p[j].kind = (h[3] && hello[3]) ? MPC_SYM_AESNI : MPC_SYM_PORTABLE;
        s->p[j].tw_r = s_tweak(sid, j, s->self);   /* instance j → self: self receives */
        s->p[j].tw_s = s_tweak(sid, s->self, j);
        if (!(s->p[j].sec = sodium_malloc(sizeof(s_pairsec))))
            return s_fail(s, MPC_ERR_NOMEM, "out of memory");
    }
    /* every pair: the smaller index runs its sender half first (no waiting cycle) */
    for (uint32_t j = 0; j < s->n; j++) {
        if (j == s->self) continue;
        int first = s->self < j;
        if ((r = s_base_pair(s, sid, j, first)) || (r = s_base_pair(s, sid, j, !first))) return r;
    }
    sodium_memzero(sid, sizeof sid);
    char e[200];
    if ((r = mpc_mac_check_begin(s->ck, e, sizeof e))) return s_fail(s, r, "%s", e);
    s->seq = MPC_AUTH_OT_SEQ0;
    s->ready = 1;
    s->st.setup_ns += mpc_now_ns() - t0;
    return 0;
}

/* ---- vOLE authentication ---- */

/* x·2^k mod 2^128 in 64-bit halves, k < 64 and k >= 64 apart (a u128 shift by a variable
 * amount costs a test and two cmovs more). */
static inline u128 s_shl_lo(u128 x, unsigned k)
{
    uint64_t lo = (uint64_t)x, hi = (uint64_t)(x >> 64);
    return ((u128)((hi << k) | ((lo >> 1) >> (63 - k))) << 64) | (u128)(lo << k);
}

static inline u128 s_shl_hi(u128 x, unsigned k)
{
    return (u128)((uint64_t)x << (k - 64)) << 64;
}

/* 2^k·(τ_k mod 2^(128 − k)) read directly: the 128 bits of the stream from k bits before τ_k
 * (pos − k), their low k bits cleared. */
static inline u128 s_win_lo(const uint64_t *w, uint64_t pos, unsigned k)
{
    u128 v = mpc_bits_window(w, pos - k);
    return v & ~(u128)((1ull << k) - 1);
}

static inline u128 s_win_hi(const uint64_t *w, uint64_t pos, unsigned k)
{
    u128 v = mpc_bits_window(w, pos - k);
    return v & ((u128)(~0ull << (k - 64)) << 64);
}

/* Where d_β starts in one value's vOLE message: Σ_{i<β} (128 − i) bits. */
static inline uint64_t s_voff(unsigned b)
{
    return 128ull * b - (uint64_t)b * (b - 1) / 2;
}

/* This party (the owner) authenticates X[0..L) to peer j: the message (S_VOLEBITS per value,
 * every word written, value after value) and its own share S[l] −= Σ 2^β G(k0_β)[l].
 * R: 2 S_VBITS S_VB values (the PRG blocks of S_VB values under all 2 S_VBITS keys), so that
 * the message is written once, in order, with no zeroing (it was OR-ed into a zeroed buffer
 * in 64 passes, one per bit). */
static void s_vole_send(s_pair *P, const u128 *X, uint64_t L, uint64_t *msg, u128 *S, u128 *R)
{
    mpc_bits_writer wr = {msg, 0, 0};
    for (uint64_t l0 = 0; l0 < L; l0 += S_VB) {
        uint64_t nb = L - l0 < S_VB ? L - l0 : S_VB;
        /* k0_β and k1_β are adjacent: one call, two keys per VAES instruction; bit β's
         * blocks at R + 2 nb β (k0) and R + 2 nb β + nb (k1) */
        for (unsigned b = 0; b < S_VBITS; b++)
            mpc_sym_prg_multi(P->kind, &P->sec->vs[2 * b], 2, P->vpos_s + l0, (uint8_t *)(R + 2 * nb * b), nb);
        for (uint64_t l = 0; l < nb; l++) {
            u128 x = X[l0 + l], acc = 0;
            const u128 *G = R + l;
            for (unsigned b = 0; b < S_VBITS; b++)
                mpc_bits_write(&wr, G[2 * nb * b] - G[2 * nb * b + nb] + x, 128 - b);
            for (unsigned b = 0; b < S_VBITS; b++) acc += s_shl_lo(G[2 * nb * b], b);
            S[l0 + l] -= acc;
        }
    }
    mpc_bits_flush(&wr);
    P->vpos_s += (L + 3) / 4 * 4;
}

/* This party holds the key: V[l] += Σ 2^β (G(k_{α_β})[l] + α_β d_β[l]) for the owner's L
 * values, value by value (2^β d_β read directly from the message, s_win_lo).
 * R: S_VBITS S_VB values (bits β and β + 1 per PRG call, bit β's at R + nb β). */
static void s_vole_recv(s_pair *P, const mpc_auth_key *key, uint64_t L, const uint64_t *msg, u128 *V, u128 *R)
{
    uint64_t alpha = (uint64_t)*key->alpha;
    for (uint64_t l0 = 0; l0 < L; l0 += S_VB) {
        uint64_t nb = L - l0 < S_VB ? L - l0 : S_VB;
        for (unsigned b = 0; b < S_VBITS; b += 2)
            mpc_sym_prg_multi(P->kind, &P->sec->vr[b], 2, P->vpos_r + l0, (uint8_t *)(R + nb * b), nb);
        for (uint64_t l = 0; l < nb; l++) {
            uint64_t pos = (l0 + l) * S_VOLEBITS;
            const u128 *G = R + l;
            u128 acc = 0;
            for (unsigned b = 0; b < S_VBITS; b++) {
                u128 mask = (u128)0 - (u128)((alpha >> b) & 1u);
                acc += s_shl_lo(G[nb * b], b) + (s_win_lo(msg, pos + s_voff(b), b) & mask);
            }
            V[l0 + l] += acc;
        }
    }
    sodium_memzero(&alpha, sizeof alpha);
    P->vpos_r += (L + 3) / 4 * 4;
}

/* The authentication round: if `own`, this party authenticates X[0..L) to every peer and
 * M[self] = α_i X + Σ_j S_j; for every owner j ≠ self in `owners` (bit j), M[j] = its V
 * (L values).  M[k] are caller-allocated (L each, zeroed). */
static int s_auth_round(s_aot *s, uint64_t seq, const u128 *X, uint64_t L, uint32_t owners, u128 **M)
{
    uint64_t t0 = mpc_now_ns();
    uint64_t words = s_words(L * S_VOLEBITS), cap = words + 2;
    uint64_t *msg = s_get_buf(s, B_VMSG, cap * 8);
    u128 *R = s_get_buf(s, B_R, 2 * S_VBITS * S_VB * sizeof(u128));
    int r = (!msg || !R) ? s_fail(s, MPC_ERR_NOMEM, "out of memory") : 0;
    if (!r && (owners >> s->self & 1)) {
        u128 a = *s->key.alpha;
        for (uint64_t l = 0; l < L; l++) M[s->self][l] = a * X[l];
        sodium_memzero(&a, sizeof a);
        for (uint32_t j = 0; j < s->n && !r; j++) {
            if (j == s->self) continue;
            s_vole_send(&s->p[j], X, L, msg, M[s->self], R);
            r = s_send(s, j, seq, msg, words);
        }
    }
    for (uint32_t j = 0; j < s->n && !r; j++) {
        if (j == s->self || !(owners >> j & 1)) continue;
        memset(msg + words, 0, (cap - words) * 8);   /* recv fills the rest */
        if ((r = s_recv(s, j, seq, msg, words))) break;
        s_vole_recv(&s->p[j], &s->key, L, msg, M[j], R);
    }
    s->st.vole_ns += mpc_now_ns() - t0;
    return r;
}

/* The correlation check of the owners' contributions: χ (L − 1 coefficients) from seed; owner
 * i opens y_i = Σ χ_l x_l + x_{L−1}; every party adds (y_i, its MAC share of it) to the check. */
static int s_corr_check(s_aot *s, uint64_t seq, const uint8_t seed[32], const u128 *X, uint64_t L,
                        uint32_t owners, u128 *const *M)
{
    uint64_t *chi = malloc((L ? L : 1) * 8);
    u128 *y = mpc_auth_alloc(s->n), *m = mpc_auth_alloc(s->n);
    int r = (!chi || !y || !m) ? s_fail(s, MPC_ERR_NOMEM, "out of memory") : 0;
    if (!r && L > 1 && mpc_prg_expand(chi, L - 1, seed, MPC_PRG_STREAM(MPC_PRG_D_AUTHOT, 0), 0))
        r = s_fail(s, MPC_ERR_INVALID, "coefficients");
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n && !r; i++) {
        if (!(owners >> i & 1)) continue;
        u128 acc = M[i][L - 1];
        for (uint64_t l = 0; l + 1 < L; l++) acc += (u128)chi[l] * M[i][l];
        m[k] = acc;
        if (i == s->self) {
            u128 v = X[L - 1];
            for (uint64_t l = 0; l + 1 < L; l++) v += (u128)chi[l] * X[l];
            y[k] = v;
            for (uint32_t j = 0; j < s->n && !r; j++)
                if (j != s->self) r = s_send(s, j, seq, (const uint64_t *)&y[k], 2);
        } else {
            r = s_recv(s, i, seq, (uint64_t *)&y[k], 2);
        }
        if (!r) mpc_mac_check_bcast(s->ck, i, seq, (const uint64_t *)&y[k], 2);
        k++;
    }
    free(chi);
    if (r) {
        free(y);
        s_wfree(m, s->n * sizeof(u128));
        return r;
    }
    if (mpc_mac_check_add(s->ck, y, m, k)) return s_fail(s, MPC_ERR_NOMEM, "out of memory");
    return 0;
}

static int s_mac_check(s_aot *s)
{
    uint64_t t0 = mpc_now_ns();
    uint32_t peer;
    char e[200];
    int r = mpc_mac_check_run(s->ck, &s->key, &peer, e, sizeof e);
    s->st.check_ns += mpc_now_ns() - t0;
    s->check_failed = r == MPC_ERR_CRYPTO;
    if (r) return s_fail(s, r, "%s", e);
    return 0;
}

/* ---- products ---- */

typedef struct {
    uint64_t m, pos_r[S_MAXP], pos_s[S_MAXP];
    uint8_t *choices;
    uint8_t *trow[S_MAXP], *qrow[S_MAXP];   /* raw rows t_j, q_j: Gilboa hashes them */
} s_ots;

/* Rounds R_U, R_COIN1 and R_PROOF: the OTs with every peer, checked. */
static int s_extend(s_aot *s, uint64_t base, uint64_t T, const u128 *b, s_ots *O)
{
    uint64_t t0 = mpc_now_ns();
    O->m = 128 * T + MPC_KOS_EXTRA;
    uint64_t m = O->m, uw = mpc_cot_msg_words(m);
    uint64_t *u = s_get_buf(s, B_U, uw * 8);
    O->choices = s_get_buf(s, B_CHOICES, m / 8 + 1);
    int r = (!u || !O->choices) ? s_fail(s, MPC_ERR_NOMEM, "out of memory") : 0;
    if (!r) {
        memcpy(O->choices, b, 16 * T);
        randombytes_buf(O->choices + 16 * T, MPC_KOS_EXTRA / 8);
    }
    for (uint32_t j = 0; j < s->n && !r; j++) {
        if (j == s->self) continue;
        O->trow[j] = s_get_buf(s, B_TROW + j, m * 16);
        if (!O->trow[j]) r = s_fail(s, MPC_ERR_NOMEM, "out of memory");
        O->pos_r[j] = mpc_cot_recv_pos(s->p[j].rcv);
        if (!r && mpc_cot_recv_extend(s->p[j].rcv, O->choices, m, u, NULL, O->trow[j]))
            r = s_fail(s, MPC_ERR_INVALID, "OT extension");
        if (!r) r = s_send(s, j, base + MPC_AUTH_OT_R_U, u, uw);
    }
    for (uint32_t j = 0; j < s->n && !r; j++) {
        if (j == s->self) continue;
        O->qrow[j] = s_get_buf(s, B_QROW + j, m * 16);
        if (!O->qrow[j]) r = s_fail(s, MPC_ERR_NOMEM, "out of memory");
        if (!r) r = s_recv(s, j, base + MPC_AUTH_OT_R_U, u, uw);
        O->pos_s[j] = mpc_cot_send_pos(s->p[j].snd);
        if (!r && mpc_cot_send_extend(s->p[j].snd, u, m, NULL, NULL, O->qrow[j]))
            r = s_fail(s, MPC_ERR_INVALID, "OT extension");
    }
    s->st.ots += 2 * (s->n - 1) * m;
    s->st.ot_ns += mpc_now_ns() - t0;
    uint8_t seed[32];
    if (!r) r = s_coin(s, base + MPC_AUTH_OT_R_COIN1, seed);
    /* the challenge of the pair (receiver i, sender j) */
    for (uint32_t j = 0; j < s->n && !r; j++) {
        if (j == s->self) continue;
        uint8_t ps[32];
        uint32_t ij[2] = {s->self, j};
        crypto_generichash(ps, 32, (const uint8_t *)ij, 8, seed, 32);
        uint64_t proof[MPC_KOS_WORDS];
        if (mpc_kos_prove_k(s->p[j].kind, ps, O->choices, O->trow[j], m, proof)) r = s_fail(s, MPC_ERR_NOMEM, "KOS proof");
        if (!r) r = s_send(s, j, base + MPC_AUTH_OT_R_PROOF, proof, MPC_KOS_WORDS);
    }
    for (uint32_t j = 0; j < s->n && !r; j++) {
        if (j == s->self) continue;
        uint8_t ps[32];
        uint32_t ij[2] = {j, s->self};
        crypto_generichash(ps, 32, (const uint8_t *)ij, 8, seed, 32);
        uint64_t proof[MPC_KOS_WORDS];
        if ((r = s_recv(s, j, base + MPC_AUTH_OT_R_PROOF, proof, MPC_KOS_WORDS))) break;
        int v = mpc_kos_verify_k(s->p[j].kind, ps, s->p[j].sec->delta, O->qrow[j], m, proof);
        if (v == MPC_ERR_CRYPTO)
            r = s_fail(s, v, "OT extension consistency check failed with party %u", (unsigned)j);
        else if (v)
            r = s_fail(s, v, "OT extension check: %s", mpc_strerror(v));
    }
    sodium_memzero(seed, sizeof seed);
    return r;
}

/* The pads of the OT at global index idx with row x (q, q ⊕ Δ or t): P = TCCR(x, tag 1),
 * Q = TCCR(x, tag 2), 128 bits each (mpc_tccr2: π(x) once for both). */
#define S_TAG_P (1ull << 62)
#define S_TAG_Q (2ull << 62)

/* Gilboa sender towards peer j for T candidates (candidate e of triple e mod Ta): corrections
 * for (a, â) and per-candidate shares C −= Σ 2^k P0, Ĉ −= Σ 2^k Q0.  w: 4 S_BLK blocks. */
static void s_gil_send(s_aot *s, uint32_t j, const s_ots *O, uint64_t T, uint64_t Ta, const u128 *a, const u128 *ah,
                       u128 *C, u128 *Ch, uint64_t *corr, u128 *w)
{
    const s_pair *P = &s->p[j];
    u128 *p0 = w, *q0 = w + S_BLK, *p1 = w + 2 * S_BLK, *q1 = w + 3 * S_BLK;
    for (uint64_t o0 = 0; o0 < 128 * T; o0 += S_BLK) {
        uint64_t nb = 128 * T - o0 < S_BLK ? 128 * T - o0 : S_BLK;
        const uint8_t *q = O->qrow[j] + 16 * o0;
        uint64_t idx = O->pos_s[j] + o0;
        mpc_tccr2(P->kind, (uint8_t *)p0, (uint8_t *)q0, q, NULL, P->tw_s | S_TAG_P, P->tw_s | S_TAG_Q, idx, nb);
        mpc_tccr2(P->kind, (uint8_t *)p1, (uint8_t *)q1, q, P->sec->delta, P->tw_s | S_TAG_P, P->tw_s | S_TAG_Q,
                  idx, nb);
        /* a block holds whole candidates (S_BLK is a multiple of 128); candidate e's τ fill
         * exactly S_GBITS / 64 words from word e · 2 S_GBITS / 64, its τ' the next as many */
        for (uint64_t l0 = 0; l0 < nb; l0 += 128) {
            uint64_t e = (o0 + l0) / 128, x = e % Ta;   /* candidate e is of triple x */
            mpc_bits_writer wp = {corr + e * 2 * (S_GBITS / 64), 0, 0}, wq = {wp.out + S_GBITS / 64, 0, 0};
            u128 c = 0, ch = 0, ax = a[x], ahx = ah[x];
            for (unsigned k = 0; k < 128; k++) {
                uint64_t l = l0 + k;
                mpc_bits_write(&wp, p0[l] - p1[l] + ax, 128 - k);
                mpc_bits_write(&wq, q0[l] - q1[l] + ahx, 128 - k);
            }
            /* Σ 2^k P0_k as a Horner sum: no u128 shift by k */
            for (unsigned k = 128; k-- > 0;) {
                c = (c << 1) + p0[l0 + k];
                ch = (ch << 1) + q0[l0 + k];
            }
            C[e] -= c;
            Ch[e] -= ch;
        }
    }
}

/* Candidate e's part of the receiver's sums: Σ_k 2^k (P_k + b_k τ_k), Σ_k 2^k (Q_k + b_k τ'_k)
 * (P, Q: its 128 OTs' pads; tc: its τ vector, τ' S_GBITS bits on). */
static inline void s_gil_cand(u128 *c, u128 *ch, const u128 *P, const u128 *Q, const uint64_t *tc, u128 be)
{
    u128 x = 0, y = 0;
    uint64_t blo = (uint64_t)be, bhi = (uint64_t)(be >> 64);
    for (unsigned k = 0; k < 64; k++) {
        u128 mask = (u128)0 - (u128)((blo >> k) & 1u);
        uint64_t pos = 128ull * k - (uint64_t)k * (k - 1) / 2;
        x += s_shl_lo(P[k], k) + (s_win_lo(tc, pos, k) & mask);
        y += s_shl_lo(Q[k], k) + (s_win_lo(tc, pos + S_GBITS, k) & mask);
    }
    for (unsigned k = 64; k < 128; k++) {
        u128 mask = (u128)0 - (u128)((bhi >> (k - 64)) & 1u);
        uint64_t pos = 128ull * k - (uint64_t)k * (k - 1) / 2;
        x += s_shl_hi(P[k], k) + (s_win_hi(tc, pos, k) & mask);
        y += s_shl_hi(Q[k], k) + (s_win_hi(tc, pos + S_GBITS, k) & mask);
    }
    *c += x;
    *ch += y;
}

/* Gilboa receiver from peer j: C += Σ 2^k (P_k + b_k τ_k), Ĉ alike.  w: 2 S_BLK blocks. */
static void s_gil_recv(s_aot *s, uint32_t j, const s_ots *O, uint64_t T, const u128 *b, u128 *C, u128 *Ch,
                       const uint64_t *corr, u128 *w)
{
    const s_pair *P = &s->p[j];
    u128 *pk = w, *qk = w + S_BLK;
    for (uint64_t o0 = 0; o0 < 128 * T; o0 += S_BLK) {
        uint64_t nb = 128 * T - o0 < S_BLK ? 128 * T - o0 : S_BLK;
        const uint8_t *t = O->trow[j] + 16 * o0;
        uint64_t idx = O->pos_r[j] + o0;
        mpc_tccr2(P->kind, (uint8_t *)pk, (uint8_t *)qk, t, NULL, P->tw_r | S_TAG_P, P->tw_r | S_TAG_Q, idx, nb);
        /* whole candidates per block (S_BLK is a multiple of 128) */
        for (uint64_t l0 = 0; l0 < nb; l0 += 128) {
            uint64_t e = (o0 + l0) / 128;
            const uint64_t *tc = corr + e * 2 * (S_GBITS / 64);
            s_gil_cand(&C[e], &Ch[e], pk + l0, qk + l0, tc, b[e]);
        }
    }
}

/* Round R_CORR: the cross shares C, Ĉ (S_CAND·T each, candidate-major) of the products of
 * the S_CAND·T candidates b with the T values a, â of the peers (no local term). */
static int s_products(s_aot *s, uint64_t base, uint64_t Ta, const u128 *a, const u128 *ah, const u128 *b,
                      u128 *C, u128 *Ch, const s_ots *O)
{
    uint64_t t0 = mpc_now_ns(), T = S_CAND * Ta;
    uint64_t words = s_words(2 * S_GBITS * T), cap = words + 2;
    uint64_t *corr = s_get_buf(s, B_CORR, cap * 8);
    u128 *w = s_get_buf(s, B_W, 4 * S_BLK * sizeof(u128));
    int r = (!corr || !w) ? s_fail(s, MPC_ERR_NOMEM, "out of memory") : 0;
    if (!r) {
        memset(C, 0, T * sizeof(u128));
        memset(Ch, 0, T * sizeof(u128));
    }
    for (uint32_t j = 0; j < s->n && !r; j++) {
        if (j == s->self) continue;
        s_gil_send(s, j, O, T, Ta, a, ah, C, Ch, corr, w);   /* writes every word */
        r = s_send(s, j, base + MPC_AUTH_OT_R_CORR, corr, words);
    }
    for (uint32_t j = 0; j < s->n && !r; j++) {
        if (j == s->self) continue;
        memset(corr + words, 0, (cap - words) * 8);   /* recv fills the rest: the count must match */
        if ((r = s_recv(s, j, base + MPC_AUTH_OT_R_CORR, corr, words))) break;
        s_gil_recv(s, j, O, T, b, C, Ch, corr, w);
    }
    s->st.gilboa_ns += mpc_now_ns() - t0;
    return r;
}

/* Round R_COMB: the coefficients r (one per candidate, after every correction has arrived)
 * and X's b = Σ_l r_l b_l, c = a·b + Σ_l r_l C_l, ĉ = â·b + Σ_l r_l Ĉ_l. */
static int s_combine(s_aot *s, uint64_t base, uint64_t T, const u128 *Bc, const u128 *Cc, const u128 *Chc,
                     u128 *X)
{
    uint8_t seed[32];
    int r = s_coin(s, base + MPC_AUTH_OT_R_COMB, seed);
    u128 *rc = r ? NULL : s_get_buf(s, B_RC, S_CAND * T * sizeof(u128));
    if (!r && !rc) r = s_fail(s, MPC_ERR_NOMEM, "out of memory");
    if (!r && mpc_prg_expand((uint64_t *)rc, 2 * S_CAND * T, seed, MPC_PRG_STREAM(MPC_PRG_D_AUTHOT, 2), 0))
        r = s_fail(s, MPC_ERR_INVALID, "combination coefficients");
    sodium_memzero(seed, sizeof seed);
    if (r) return r;
    const u128 *A = X, *Ah = X + T;
    u128 *B = X + 2 * T, *C = X + 3 * T, *Ch = X + 4 * T;
    for (uint64_t e = 0; e < T; e++) {
        u128 b = 0, c = 0, ch = 0;
        for (uint64_t l = 0; l < S_CAND; l++) {
            u128 rl = rc[l * T + e];
            b += rl * Bc[l * T + e];
            c += rl * Cc[l * T + e];
            ch += rl * Chc[l * T + e];
        }
        B[e] = b;
        C[e] = A[e] * b + c;
        Ch[e] = Ah[e] * b + ch;
    }
    return 0;
}

/* ---- triples ---- */

typedef struct {
    u128    *X;            /* a, â, b, c, ĉ (T each), r: this party's shares */
    u128    *M[S_MAXP];    /* MAC shares per owner's contribution */
    u128    *Mt;           /* their sum */
    uint64_t L;
} s_tri;

/* Round R_RHO and the check: the sacrifice of (â, ĉ) for (a, c). */
static int s_sacrifice(s_aot *s, uint64_t base, uint64_t T, const uint8_t seed[32], const s_tri *W)
{
    const u128 *X = W->X, *M = W->Mt;
    const u128 *A = X, *Ah = X + T, *B = X + 2 * T, *C = X + 3 * T, *Ch = X + 4 * T;
    const u128 *MA = M, *MAh = M + T, *MB = M + 2 * T, *MC = M + 3 * T, *MCh = M + 4 * T;
    uint64_t *t = malloc(T * 8);
    u128 *rho = mpc_auth_alloc(T), *mrho = mpc_auth_alloc(T), *zero = mpc_auth_alloc(T), *mz = mpc_auth_alloc(T);
    int r = (!t || !rho || !mrho || !zero || !mz) ? MPC_ERR_NOMEM : 0;
    if (!r && mpc_prg_expand(t, T, seed, MPC_PRG_STREAM(MPC_PRG_D_AUTHOT, 1), 0)) r = MPC_ERR_INVALID;
    if (!r) {
        for (uint64_t e = 0; e < T; e++) {
            rho[e] = (u128)t[e] * A[e] - Ah[e];
            mrho[e] = (u128)t[e] * MA[e] - MAh[e];
        }
        uint32_t peer;
        int x = mpc_auth_exchange(s->t, MPC_MSG_PREP, s->stream, base + MPC_AUTH_OT_R_RHO, rho, rho, T,
                                  s->timeout_ms, &peer);
        if (x) r = s_fail(s, x, "sacrifice: party %u: %s", (unsigned)peer, mpc_strerror(x));
    }
    if (!r) {
        for (uint64_t e = 0; e < T; e++) {
            zero[e] = 0;
            mz[e] = (u128)t[e] * MC[e] - MCh[e] - rho[e] * MB[e];
        }
        (void)B;
        (void)C;
        (void)Ch;
        /* mpc_mac_check_add owns the arrays from here, on success or failure */
        int a1 = mpc_mac_check_add(s->ck, rho, mrho, T);
        int a2 = mpc_mac_check_add(s->ck, zero, mz, T);
        rho = mrho = zero = mz = NULL;
        if (a1 || a2) r = MPC_ERR_NOMEM;
    }
    free(t);
    free(rho);
    s_wfree(mrho, T * sizeof(u128));
    free(zero);
    s_wfree(mz, T * sizeof(u128));
    if (r == MPC_ERR_NOMEM || r == MPC_ERR_INVALID) return s_fail(s, r, "sacrifice: %s", mpc_strerror(r));
    return r;
}

static int s_tri_chunk(s_aot *s, uint64_t T, mpc_auth_triples *o, uint64_t off)
{
    uint64_t base = s->seq;
    s->seq += MPC_AUTH_OT_ROUNDS;
    s_tri W = {.L = 5 * T + 1};
    s_ots O = {0};
    uint32_t all = (uint32_t)((1ull << s->n) - 1);
    int r = 0;
    size_t lb = W.L * sizeof(u128);
    if (!(W.X = s_get_buf(s, B_X, lb)) || !(W.Mt = s_get_buf(s, B_MT, lb)))
        r = s_fail(s, MPC_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < s->n && !r; i++)
        if (!(W.M[i] = s_get_buf(s, B_M + i, lb))) r = s_fail(s, MPC_ERR_NOMEM, "out of memory");
    if (!r) {
        memset(W.Mt, 0, lb);
        for (uint32_t i = 0; i < s->n; i++) memset(W.M[i], 0, lb);
    }
    u128 *X = W.X, *Bc = NULL, *Cc = NULL, *Chc = NULL;
    size_t cb = (size_t)S_CAND * T * sizeof(u128);
    if (!r && (!(Bc = s_get_buf(s, B_BC, cb)) || !(Cc = s_get_buf(s, B_CC, cb)) || !(Chc = s_get_buf(s, B_CCH, cb))))
        r = s_fail(s, MPC_ERR_NOMEM, "out of memory");
    if (!r) {
        randombytes_buf(X, 2 * T * sizeof(u128));        /* a, â */
        randombytes_buf(Bc, cb);                          /* the candidates of b */
        randombytes_buf(X + 5 * T, sizeof(u128));        /* r */
        r = s_extend(s, base, S_CAND * T, Bc, &O);
    }
    if (!r) r = s_products(s, base, T, X, X + T, Bc, Cc, Chc, &O);
    if (!r) r = s_combine(s, base, T, Bc, Cc, Chc, X);
    /* the candidates and their cross shares are not needed again */
    if (Bc) sodium_memzero(Bc, cb);
    if (Cc) sodium_memzero(Cc, cb);
    if (Chc) sodium_memzero(Chc, cb);
    if (!r) r = s_auth_round(s, base + MPC_AUTH_OT_R_VOLE, X, W.L, all, W.M);
    uint8_t seed[32];
    if (!r) r = s_coin(s, base + MPC_AUTH_OT_R_COIN2, seed);
    if (!r) {
        for (uint32_t i = 0; i < s->n; i++)
            for (uint64_t l = 0; l < W.L; l++) W.Mt[l] += W.M[i][l];
        r = s_corr_check(s, base + MPC_AUTH_OT_R_Y, seed, X, W.L, all, W.M);
    }
    if (!r) r = s_sacrifice(s, base, T, seed, &W);
    if (!r) r = s_mac_check(s);
    if (!r) {
        size_t sz = (size_t)T * sizeof(u128);
        memcpy(o->a + off, X, sz);
        memcpy(o->b + off, X + 2 * T, sz);
        memcpy(o->c + off, X + 3 * T, sz);
        memcpy(o->ma + off, W.Mt, sz);
        memcpy(o->mb + off, W.Mt + 2 * T, sz);
        memcpy(o->mc + off, W.Mt + 3 * T, sz);
        s->st.triples += T;
    }
    sodium_memzero(seed, sizeof seed);
    return r;
}

/* ---- the source ---- */

static int s_op_key(mpc_auth_src *src, mpc_auth_key *key)
{
    s_aot *s = src->impl;
    int r = s_setup(s);
    if (r) return r;
    *key->alpha = *s->key.alpha;
    return 0;
}

static int s_op_triples(mpc_auth_src *src, uint64_t n, mpc_auth_triples *o)
{
    s_aot *s = src->impl;
    int r = s_setup(s);
    for (uint64_t off = 0; off < n && !r; off += s->chunk)
        r = s_tri_chunk(s, n - off < s->chunk ? n - off : s->chunk, o, off);
    return r;
}

static int s_op_masks(mpc_auth_src *src, uint32_t owner, uint64_t n, mpc_u128 *x, mpc_u128 *m, mpc_u128 *val)
{
    s_aot *s = src->impl;
    int r = s_setup(s);
    if (r) return r;
    uint64_t base = s->seq, L = n + 1;
    s->seq += MPC_AUTH_OT_ROUNDS;
    u128 *X = s_alloc(L * sizeof(u128)), *M[S_MAXP] = {0};
    if (!X || !(M[owner] = s_alloc(L * sizeof(u128)))) r = s_fail(s, MPC_ERR_NOMEM, "out of memory");
    if (!r && owner == s->self) randombytes_buf(X, L * sizeof(u128));
    if (!r) r = s_auth_round(s, base + MPC_AUTH_OT_R_VOLE, X, L, 1u << owner, M);
    uint8_t seed[32];
    if (!r) r = s_coin(s, base + MPC_AUTH_OT_R_COIN2, seed);
    if (!r) r = s_corr_check(s, base + MPC_AUTH_OT_R_Y, seed, X, L, 1u << owner, M);
    if (!r) r = s_mac_check(s);
    if (!r) {
        memcpy(x, X, n * sizeof(u128));   /* zero at every party but the owner */
        memcpy(m, M[owner], n * sizeof(u128));
        if (val) memcpy(val, X, n * sizeof(u128));
        s->st.masks += n;
    }
    sodium_memzero(seed, sizeof seed);
    s_wfree(X, L * sizeof(u128));
    s_wfree(M[owner], L * sizeof(u128));
    return r;
}

static void s_op_destroy(mpc_auth_src **sp)
{
    s_aot *s = (*sp)->impl;
    if (s) {
        for (uint32_t j = 0; j < S_MAXP; j++) {
            mpc_cot_recv_destroy(&s->p[j].rcv);
            mpc_cot_send_destroy(&s->p[j].snd);
            if (s->p[j].sec) sodium_free(s->p[j].sec);
        }
        for (unsigned k = 0; k < B_COUNT; k++) s_wfree(s->buf[k].p, s->buf[k].bytes);
        mpc_mac_check_free(&s->ck);
        mpc_auth_key_free(&s->key);
        sodium_memzero(s, sizeof *s);
        free(s);
    }
    free(*sp);
    *sp = NULL;
}

static const struct mpc_auth_src_ops s_ops = {s_op_key, s_op_triples, s_op_masks, s_op_destroy};

mpc_auth_src *mpc_auth_ot_new(mpc_transport *t, uint32_t self, uint32_t n, uint64_t stream,
                              const mpc_auth_ot_opts *opts)
{
    if (!t || n < 2 || n > S_MAXP || self >= n || t->n != n || t->self != self) return NULL;
    if (opts && opts->chunk > 16384) return NULL;
    if (sodium_init() < 0) return NULL;
    mpc_auth_src *src = calloc(1, sizeof *src);
    s_aot *s = calloc(1, sizeof *s);
    if (!src || !s) {
        free(src);
        free(s);
        return NULL;
    }
    src->ops = &s_ops;
    src->impl = s;
    src->self = self;
    src->n = n;
    s->t = t;
    s->self = self;
    s->n = n;
    s->stream = stream;
    s->timeout_ms = opts ? opts->timeout_ms : -1;
    s->chunk = opts && opts->chunk ? opts->chunk : MPC_AUTH_OT_CHUNK;
    s->portable = opts ? opts->force_portable : 0;
    if (mpc_auth_key_init(&s->key) ||
        !(s->ck = mpc_mac_check_new(t, stream, MPC_AUTH_OT_CHECK_SEQ, s->timeout_ms))) {
        mpc_auth_src_destroy(&src);
        return NULL;
    }
    uint64_t a;
    randombytes_buf(&a, sizeof a);
    *s->key.alpha = a;   /* α_i ∈ [0, 2^64): its bits are the vOLE choices */
    sodium_memzero(&a, sizeof a);
    return src;
}

int mpc_auth_ot_setup(mpc_auth_src *src)
{
    if (!src || src->ops != &s_ops) return MPC_ERR_INVALID;
    return s_setup(src->impl);
}

const char *mpc_auth_ot_error(const mpc_auth_src *src)
{
    if (!src || src->ops != &s_ops) return "";
    return ((const s_aot *)src->impl)->err;
}

int mpc_auth_ot_stats_get(const mpc_auth_src *src, mpc_auth_ot_stats *st)
{
    if (!src || src->ops != &s_ops || !st) return MPC_ERR_INVALID;
    *st = ((const s_aot *)src->impl)->st;
    return 0;
}
