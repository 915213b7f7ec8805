/* baseot.c — Chou–Orlandi simplest OT over Ristretto255 (baseot.h). */
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
    if (!(B = malloc(32 * n))) { r = MPC_ERR_NOMEM; goto out; }
    if ((r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq, A, 4))) goto out;
    if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq, B, 4 * (uint64_t)n, timeout_ms))) goto out;
    r = mpc_baseot_sender_finish(s, ctx, (const uint8_t *)B, n, k0, k1);
out:
    free(B);
    mpc_baseot_sender_destroy(&s);
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
    if (!(B = malloc(32 * n))) return MPC_ERR_NOMEM;
    if ((r = mpc_recv(t, peer, MPC_MSG_PREP, stream, seq, A, 4, timeout_ms))) goto out;
    if ((r = mpc_baseot_receive(ctx, (const uint8_t *)A, choices, n, (uint8_t *)B, keys)))
        goto out;
    r = mpc_send(t, peer, MPC_MSG_PREP, stream, seq, B, 4 * (uint64_t)n);
out:
    free(B);
    return r;
}
