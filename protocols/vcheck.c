/* vcheck.c — the vector check's pure parts (vcheck.h): the record layout, the commitment, the
 * coin stream, the combination, and the client's verification. */
#include "vcheck.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mpc_err.h"

#define S_TAG    "mpcd vcheck v1"
#define S_STREAM 4096u   /* coin words per ChaCha20 call */

size_t mpc_vcheck_record_bytes(uint64_t L, uint32_t n)
{
    if (L < 1 || L > MPC_VCHECK_MAX_LEN || n < 2 || n > MPC_MAX_PARTIES_AUTH) return 0;
    return mpc_vcheck_off_com(L) + (size_t)n * 32;
}

void mpc_vcheck_commit(uint8_t out[32], uint32_t party, uint64_t L, const uint8_t nonce[32], const uint8_t *report)
{
    uint8_t hdr[12];
    mpc_vcheck_wr64(hdr, L);
    for (int i = 0; i < 4; i++) hdr[8 + i] = (uint8_t)(party >> (8 * i));
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)S_TAG, sizeof S_TAG);
    crypto_generichash_update(&h, hdr, sizeof hdr);
    crypto_generichash_update(&h, nonce, 32);
    crypto_generichash_update(&h, report, (size_t)(L + MPC_VCHECK_D) * 8);
    crypto_generichash_final(&h, out, 32);
}

void mpc_vcheck_bits(uint64_t *w, uint64_t first, uint64_t count, const uint8_t seed[32])
{
    static const uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {'v', 'c', 'h', 'k'};
    memset(w, 0, (size_t)count * 8);
    /* 64-byte blocks of 8 words; the 32-bit block counter covers 2^35 words */
    (void)crypto_stream_chacha20_ietf_xor_ic((uint8_t *)w, (const uint8_t *)w, (unsigned long long)count * 8, nonce,
                                             (uint32_t)(first / 8), seed);
    for (uint64_t i = 0; i < count; i++) w[i] = mpc_vcheck_rd64((const uint8_t *)(w + i));   /* on every host */
}

void mpc_vcheck_combine(mpc_u128 acc[MPC_VCHECK_D], const mpc_u128 *x, const uint64_t *w, uint64_t L)
{
    for (uint64_t l = 0; l < L; l++) {
        const mpc_u128 v = x[l];
        const uint64_t b = w[l];
        for (unsigned i = 0; i < MPC_VCHECK_D; i++) acc[i] += v & -(mpc_u128)((b >> i) & 1);
    }
}

int mpc_vcheck_verify(const uint8_t *const *recs, uint32_t n, uint64_t L, uint64_t *v, int *why, uint32_t *who)
{
    *why = 0;
    *who = 0;
    if (!recs || !v || !mpc_vcheck_record_bytes(L, n)) return MPC_ERR_INVALID;
    for (uint32_t p = 0; p < n; p++)
        if (!recs[p]) return MPC_ERR_INVALID;
    const size_t oz = mpc_vcheck_off_z(L), os = mpc_vcheck_off_seed(L), oc = mpc_vcheck_off_com(L);
    /* 1. the public parts: the same from every daemon */
    for (uint32_t p = 1; p < n; p++)
        if (memcmp(recs[p] + oz, recs[0] + oz, MPC_VCHECK_D * 8) || memcmp(recs[p] + os, recs[0] + os, 32) ||
            memcmp(recs[p] + oc, recs[0] + oc, (size_t)n * 32)) {
            *why = 1;
            *who = p;
            return MPC_ERR_CRYPTO;
        }
    /* 2. every report opens its party's commitment */
    for (uint32_t p = 0; p < n; p++) {
        uint8_t c[32];
        mpc_vcheck_commit(c, p, L, recs[p] + mpc_vcheck_off_nonce(L), recs[p]);
        if (sodium_memcmp(c, recs[0] + oc + (size_t)p * 32, 32)) {
            *why = 2;
            *who = p;
            return MPC_ERR_CRYPTO;
        }
    }
    /* 3. the sums against z, in pieces of S_STREAM elements (the vector into v as it goes) */
    uint64_t acc[MPC_VCHECK_D], *w = malloc((size_t)S_STREAM * 8);
    uint64_t *sum = sodium_allocarray(S_STREAM, 8);
    if (!w || !sum) {
        free(w);
        if (sum) sodium_free(sum);
        return MPC_ERR_NOMEM;
    }
    for (unsigned i = 0; i < MPC_VCHECK_D; i++) {
        uint64_t s = 0;
        for (uint32_t p = 0; p < n; p++) s += mpc_vcheck_rd64(recs[p] + mpc_vcheck_off_pad(L) + 8 * i);
        acc[i] = s;
    }
    for (uint64_t off = 0; off < L; off += S_STREAM) {
        uint64_t k = L - off < S_STREAM ? L - off : S_STREAM;
        mpc_vcheck_bits(w, off, k, recs[0] + os);
        for (uint64_t l = 0; l < k; l++) {
            uint64_t s = 0;
            for (uint32_t p = 0; p < n; p++) s += mpc_vcheck_rd64(recs[p] + 8 * (off + l));
            sum[l] = s;
            for (unsigned i = 0; i < MPC_VCHECK_D; i++) acc[i] += s & -((w[l] >> i) & 1);
        }
        memcpy(v + off, sum, (size_t)k * 8);
    }
    int bad = 0;
    for (unsigned i = 0; i < MPC_VCHECK_D; i++) bad |= acc[i] != mpc_vcheck_rd64(recs[0] + oz + 8 * i);
    sodium_memzero(acc, sizeof acc);
    sodium_free(sum);
    free(w);
    if (bad) {
        sodium_memzero(v, (size_t)L * 8);
        *why = 3;
        return MPC_ERR_CRYPTO;
    }
    return 0;
}
