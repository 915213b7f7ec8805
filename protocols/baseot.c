/* baseot.c — Chou–Orlandi simplest OT and Masny–Rindal endemic OT over Ristretto255 (baseot.h). */
#include "baseot.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"

struct mpc_baseot_sender {
    uint8_t a[crypto_core_ristretto255_SCALARBYTES];
    uint8_t A[MPC_BASEOT_PTBYTES];
    uint8_t aA[MPC_BASEOT_PTBYTES];
};

static const char s_domain[] = "mpcd base OT v1 (Chou-Orlandi, ristretto255)";

static void s_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void mpc_baseot_kdf(uint8_t out[MPC_BASEOT_KEYBYTES], const mpc_baseot_ctx *ctx, uint64_t idx,
                    const uint8_t A[32], const uint8_t B[32], const uint8_t P[32])
{
    crypto_generichash_state st;
    uint8_t hdr[20];
    s_u32le(hdr, ctx->sender);
    s_u32le(hdr + 4, ctx->receiver);
    s_u32le(hdr + 8, ctx->purpose);
    for (int i = 0; i < 8; i++) hdr[12 + i] = (uint8_t)(idx >> (8 * i));
    crypto_generichash_init(&st, NULL, 0, MPC_BASEOT_KEYBYTES);
    crypto_generichash_update(&st, (const uint8_t *)s_domain, sizeof s_domain);
    crypto_generichash_update(&st, ctx->sid, sizeof ctx->sid);
    crypto_generichash_update(&st, hdr, sizeof hdr);
    crypto_generichash_update(&st, A, 32);
    crypto_generichash_update(&st, B, 32);
    crypto_generichash_update(&st, P, 32);
    crypto_generichash_final(&st, out, MPC_BASEOT_KEYBYTES);
    sodium_memzero(&st, sizeof st);
}

mpc_baseot_sender *mpc_baseot_sender_new(uint8_t A_out[MPC_BASEOT_PTBYTES])
{
    if (sodium_init() < 0) return NULL;
    mpc_baseot_sender *s = sodium_malloc(sizeof *s);
    if (!s) return NULL;
    crypto_core_ristretto255_scalar_random(s->a);
    /* a = 0 would give the identity, which scalarmult_base refuses */
    if (crypto_scalarmult_ristretto255_base(s->A, s->a) != 0 ||
        crypto_scalarmult_ristretto255(s->aA, s->a, s->A) != 0) {
        sodium_free(s);
        return NULL;
    }
    memcpy(A_out, s->A, MPC_BASEOT_PTBYTES);
    return s;
}

void mpc_baseot_sender_destroy(mpc_baseot_sender **s)
{
    if (!s || !*s) return;
    sodium_free(*s);   /* wipes */
    *s = NULL;
}

int mpc_baseot_sender_finish(mpc_baseot_sender *s, const mpc_baseot_ctx *ctx,
                             const uint8_t *B, size_t n, uint8_t *k0, uint8_t *k1)
{
    uint8_t P0[32], P1[32];
    int r = 0;
    if (!s || !ctx || (n && (!B || !k0 || !k1)) || n > MPC_BASEOT_MAX) return MPC_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *Bi = B + 32 * i;
        /* scalarmult refuses an invalid encoding and an identity result; sub refuses an
         * invalid encoding, and its result must not be the identity (B_i = A) either */
        if (crypto_scalarmult_ristretto255(P0, s->a, Bi) != 0 ||
            crypto_core_ristretto255_sub(P1, P0, s->aA) != 0 || sodium_is_zero(P1, 32)) {
            r = MPC_ERR_CRYPTO;
            break;
        }
        mpc_baseot_kdf(k0 + 32 * i, ctx, i, s->A, Bi, P0);
        mpc_baseot_kdf(k1 + 32 * i, ctx, i, s->A, Bi, P1);
    }
    sodium_memzero(P0, sizeof P0);
    sodium_memzero(P1, sizeof P1);
    if (r) {
        sodium_memzero(k0, 32 * n);
        sodium_memzero(k1, 32 * n);
    }
    return r;
}

/* One OT of the receiver with scalar b: B_i and the chosen key. */
static int s_receive_one(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES],
                         unsigned choice, size_t i, const uint8_t b[32], uint8_t *Bi,
                         uint8_t *key)
{
    uint8_t bG[32], AbG[32], P[32];
    int r = 0;
    if (crypto_scalarmult_ristretto255_base(bG, b) != 0 ||
        crypto_core_ristretto255_add(AbG, A, bG) != 0 ||
        crypto_scalarmult_ristretto255(P, b, A) != 0) {
        r = MPC_ERR_CRYPTO;
    } else {
        /* B_i = c ? A + bG : bG, selected without a branch on the secret choice */
        uint8_t mask = (uint8_t)(0u - (choice & 1u));
        for (int k = 0; k < 32; k++) Bi[k] = (uint8_t)((AbG[k] & mask) | (bG[k] & (uint8_t)~mask));
        mpc_baseot_kdf(key, ctx, i, A, Bi, P);
    }
    sodium_memzero(bG, sizeof bG);
    sodium_memzero(AbG, sizeof AbG);
    sodium_memzero(P, sizeof P);
    return r;
}

/* The receiver with its scalars given (scalars: n × 32 bytes, or NULL: fresh random ones). */
static int s_receive(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES],
                     const uint8_t *choices, size_t n, const uint8_t *scalars, uint8_t *B,
                     uint8_t *keys)
{
    uint8_t b[32];
    int r = 0;
    if (!ctx || !A || (n && (!choices || !B || !keys)) || n > MPC_BASEOT_MAX)
        return MPC_ERR_INVALID;
    if (sodium_init() < 0) return MPC_ERR_CRYPTO;
    if (!crypto_core_ristretto255_is_valid_point(A) || sodium_is_zero(A, 32)) return MPC_ERR_CRYPTO;
    for (size_t i = 0; i < n && !r; i++) {
        if (scalars) memcpy(b, scalars + 32 * i, 32);
        else crypto_core_ristretto255_scalar_random(b);
        r = s_receive_one(ctx, A, (unsigned)(choices[i / 8] >> (i % 8)), i, b, B + 32 * i,
                          keys + 32 * i);
    }
    sodium_memzero(b, sizeof b);
    if (r) sodium_memzero(keys, 32 * n);
    return r;
}

int mpc_baseot_receive(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES],
                       const uint8_t *choices, size_t n, uint8_t *B, uint8_t *keys)
{
    return s_receive(ctx, A, choices, n, NULL, B, keys);
}

int mpc_baseot_receive_with(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES],
                            const uint8_t *choices, size_t n, const uint8_t *scalars,
                            uint8_t *B, uint8_t *keys)
{
    if (!scalars) return MPC_ERR_INVALID;
    return s_receive(ctx, A, choices, n, scalars, B, keys);
}

/* ---- Masny–Rindal endemic OT (baseot.h) ---- */

static const char s_mr_domain[] = "mpcd base OT v1 (Masny-Rindal endemic, ristretto255)";

/* BLAKE2b of the domain, a one-byte tag (what is derived), the session, the pair, purpose,
 * OT index and slot, then `more` (len bytes), into out (outlen bytes). */
static void s_mr_hash(uint8_t *out, size_t outlen, uint8_t tag, const mpc_baseot_ctx *ctx, uint64_t idx, unsigned slot,
                      const uint8_t *more, size_t len)
{
    crypto_generichash_state st;
    uint8_t hdr[22];
    hdr[0] = tag;
    s_u32le(hdr + 1, ctx->sender);
    s_u32le(hdr + 5, ctx->receiver);
    s_u32le(hdr + 9, ctx->purpose);
    for (int i = 0; i < 8; i++) hdr[13 + i] = (uint8_t)(idx >> (8 * i));
    hdr[21] = (uint8_t)slot;
    crypto_generichash_init(&st, NULL, 0, outlen);
    crypto_generichash_update(&st, (const uint8_t *)s_mr_domain, sizeof s_mr_domain);
    crypto_generichash_update(&st, ctx->sid, sizeof ctx->sid);
    crypto_generichash_update(&st, hdr, sizeof hdr);
    crypto_generichash_update(&st, more, len);
    crypto_generichash_final(&st, out, outlen);
    sodium_memzero(&st, sizeof st);
}

/* H_G(i, slot, r): a group element no one knows the logarithm of. */
void mpc_baseot_mr_hash_to_group(uint8_t out[32], const mpc_baseot_ctx *ctx, uint64_t idx, unsigned slot,
                                 const uint8_t r[32])
{
    uint8_t h[crypto_core_ristretto255_HASHBYTES];
    s_mr_hash(h, sizeof h, 'G', ctx, idx, slot, r, 32);
    crypto_core_ristretto255_from_hash(out, h);
}

/* k_j = H(i, j, A, r_0, r_1, P). */
static void s_mr_kdf(uint8_t out[32], const mpc_baseot_ctx *ctx, uint64_t idx, unsigned j, const uint8_t A[32],
                     const uint8_t R[64], const uint8_t P[32])
{
    uint8_t in[128];
    memcpy(in, A, 32);
    memcpy(in + 32, R, 64);
    memcpy(in + 96, P, 32);
    s_mr_hash(out, MPC_BASEOT_KEYBYTES, 'K', ctx, idx, j, in, sizeof in);
    sodium_memzero(in, sizeof in);
}

int mpc_baseot_mr_choose(const mpc_baseot_ctx *ctx, const uint8_t *choices, size_t n, uint8_t *R, uint8_t *sk)
{
    if (!ctx || (n && (!choices || !R || !sk)) || n > MPC_BASEOT_MAX) return MPC_ERR_INVALID;
    if (sodium_init() < 0) return MPC_ERR_CRYPTO;
    uint8_t P[32], other[32], h[32], mine[32];
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) {
        unsigned c = (unsigned)(choices[i / 8] >> (i % 8)) & 1u;
        uint8_t *b = sk + 32 * i, *Ri = R + 64 * i;
        crypto_core_ristretto255_scalar_random(b);
        crypto_core_ristretto255_random(other);   /* r_{1−c} */
        mpc_baseot_mr_hash_to_group(h, ctx, i, c ^ 1u, other);
        if (crypto_scalarmult_ristretto255_base(P, b) != 0 || crypto_core_ristretto255_sub(mine, P, h) != 0) {
            r = MPC_ERR_CRYPTO;
            break;
        }
        /* R_i = c ? (other, mine) : (mine, other), without a branch on the choice */
        uint8_t mask = (uint8_t)(0u - c);
        for (int k = 0; k < 32; k++) {
            Ri[k] = (uint8_t)((other[k] & mask) | (mine[k] & (uint8_t)~mask));
            Ri[32 + k] = (uint8_t)((mine[k] & mask) | (other[k] & (uint8_t)~mask));
        }
    }
    sodium_memzero(P, sizeof P);
    sodium_memzero(mine, sizeof mine);
    if (r) sodium_memzero(sk, 32 * n);
    return r;
}

int mpc_baseot_mr_keys(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES], const uint8_t *choices,
                       size_t n, const uint8_t *R, const uint8_t *sk, uint8_t *keys)
{
    if (!ctx || !A || (n && (!choices || !R || !sk || !keys)) || n > MPC_BASEOT_MAX) return MPC_ERR_INVALID;
    if (sodium_init() < 0) return MPC_ERR_CRYPTO;
    if (!crypto_core_ristretto255_is_valid_point(A) || sodium_is_zero(A, 32)) return MPC_ERR_CRYPTO;
    uint8_t P[32];
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) {
        if (crypto_scalarmult_ristretto255(P, sk + 32 * i, A) != 0) r = MPC_ERR_CRYPTO;
        else s_mr_kdf(keys + 32 * i, ctx, i, (unsigned)(choices[i / 8] >> (i % 8)) & 1u, A, R + 64 * i, P);
    }
    sodium_memzero(P, sizeof P);
    if (r) sodium_memzero(keys, 32 * n);
    return r;
}

int mpc_baseot_mr_sender_finish(mpc_baseot_sender *s, const mpc_baseot_ctx *ctx, const uint8_t *R, size_t n,
                                uint8_t *k0, uint8_t *k1)
{
    if (!s || !ctx || (n && (!R || !k0 || !k1)) || n > MPC_BASEOT_MAX) return MPC_ERR_INVALID;
    uint8_t h[32], pk[32], P[32];
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) {
        const uint8_t *Ri = R + 64 * i;
        for (unsigned j = 0; j < 2 && !r; j++) {
            /* pk_j = r_j + H_G(i, 1−j, r_{1−j}); add refuses invalid encodings, scalarmult an
             * identity result */
            if (!crypto_core_ristretto255_is_valid_point(Ri + 32 * (1 - j))) {
                r = MPC_ERR_CRYPTO;
                break;
            }
            mpc_baseot_mr_hash_to_group(h, ctx, i, 1 - j, Ri + 32 * (1 - j));
            if (crypto_core_ristretto255_add(pk, Ri + 32 * j, h) != 0 ||
                crypto_scalarmult_ristretto255(P, s->a, pk) != 0) {
                r = MPC_ERR_CRYPTO;
                break;
            }
            s_mr_kdf((j ? k1 : k0) + 32 * i, ctx, i, j, s->A, Ri, P);
        }
    }
    sodium_memzero(P, sizeof P);
    if (r) {
        sodium_memzero(k0, 32 * n);
        sodium_memzero(k1, 32 * n);
    }
    return r;
}

/* ---- over a transport ---- */

int mpc_baseot_run_sender(mpc_transport *t, uint32_t peer, uint64_t stream, uint64_t seq,
                          const mpc_baseot_ctx *ctx, size_t n, uint8_t *k0, uint8_t *k1,
                          int timeout_ms)
{
    uint64_t A[4];
    uint64_t *B = NULL;
    int r;
    if (!t || !ctx || n == 0 || n > MPC_BASEOT_MAX || ctx->sender != t->self ||
        ctx->receiver != peer)
        return MPC_ERR_INVALID;
    mpc_baseot_sender *s = mpc_baseot_sender_new((uint8_t *)A);
    if (!s) return MPC_ERR_CRYPTO;
    uint64_t words = (ctx->endemic ? 8 : 4) * (uint64_t)n;   /* the receiver's pairs, or its points */
    if (!(B = malloc(8 * words))) { r = MPC_ERR_NOMEM; goto out; }
    if ((r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq, A, 4))) goto out;
    if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq, B, words, timeout_ms))) goto out;
    r = ctx->endemic ? mpc_baseot_mr_sender_finish(s, ctx, (const uint8_t *)B, n, k0, k1)
                     : mpc_baseot_sender_finish(s, ctx, (const uint8_t *)B, n, k0, k1);
out:
    free(B);
    mpc_baseot_sender_destroy(&s);
    return r;
}

/* The endemic receiver: its pairs go at once (they do not depend on A), then A is read. */
static int s_run_mr_receiver(mpc_transport *t, uint32_t peer, uint64_t stream, uint64_t seq,
                             const mpc_baseot_ctx *ctx, const uint8_t *choices, size_t n, uint8_t *keys,
                             int timeout_ms)
{
    uint64_t A[4];
    uint8_t *R = malloc(64 * n), *sk = sodium_malloc(32 * n);
    int r = (!R || !sk) ? MPC_ERR_NOMEM : 0;
    if (!r) r = mpc_baseot_mr_choose(ctx, choices, n, R, sk);
    if (!r) r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq, (const uint64_t *)R, 8 * (uint64_t)n);
    if (!r) r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq, A, 4, timeout_ms);
    if (!r) r = mpc_baseot_mr_keys(ctx, (const uint8_t *)A, choices, n, R, sk, keys);
    free(R);
    if (sk) sodium_free(sk);   /* wipes */
    return r;
}

int mpc_baseot_run_receiver(mpc_transport *t, uint32_t peer, uint64_t stream, uint64_t seq,
                            const mpc_baseot_ctx *ctx, const uint8_t *choices, size_t n,
                            uint8_t *keys, int timeout_ms)
{
    uint64_t A[4];
    uint64_t *B = NULL;
    int r;
    if (!t || !ctx || n == 0 || n > MPC_BASEOT_MAX || ctx->receiver != t->self ||
        ctx->sender != peer)
        return MPC_ERR_INVALID;
    if (ctx->endemic) return s_run_mr_receiver(t, peer, stream, seq, ctx, choices, n, keys, timeout_ms);
    if (!(B = malloc(32 * n))) return MPC_ERR_NOMEM;
    if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq, A, 4, timeout_ms))) goto out;
    if ((r = mpc_baseot_receive(ctx, (const uint8_t *)A, choices, n, (uint8_t *)B, keys)))
        goto out;
    r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq, B, 4 * (uint64_t)n);
out:
    free(B);
    return r;
}
