/* field61.h — arithmetic in the prime field of contributions and their validity proofs
 * (docs/validity.md): p = 2^61 - 7*2^32 + 1 = 0x1FFFFFF900000001 = 2305842979148922881,
 * p - 1 = 2^32 * 5 * 4603 * 23327, so the multiplicative group has a generator (3) and roots
 * of unity of every order 2^k, k <= 32 (NTTs up to 2^32 points).  Elements are uint64_t in
 * [0, p).  Signed integers and fixed-point values are encoded as x mod p (so -1 is p - 1),
 * exact for |x| <= (p - 1)/2.
 *
 * Header-only.  add, sub, neg and mul do not branch on the values (masks), since elements are
 * shares of secrets; inv and pow run in time that depends only on the exponent.
 * tests/check_flp.c proves p prime (deterministic Miller-Rabin) and checks the root orders. */
#ifndef MPC_FIELD61_H
#define MPC_FIELD61_H

#include <stdint.h>

#include "mpc_err.h"
#include "prg.h"

#define MPC_F61_P        UINT64_C(0x1FFFFFF900000001)
/* The largest magnitude a signed value may have to be encoded: (p - 1) / 2. */
#define MPC_F61_HALF     ((MPC_F61_P - 1) / 2)
/* A generator of the multiplicative group. */
#define MPC_F61_GEN      UINT64_C(3)
/* log2 of the largest power-of-two order of a root of unity, and a root of that order
 * (MPC_F61_GEN^((p - 1) / 2^32)). */
#define MPC_F61_TWO_ADICITY 32
#define MPC_F61_ROOT32   UINT64_C(0x19D4A9C5F6CA5841)

/* 2^61 mod p = 7*2^32 - 1: the reduction folds the bits above 2^61 back with it. */
#define MPC_F61_C61      UINT64_C(0x6FFFFFFFF)
#define MPC_F61_M61      ((UINT64_C(1) << 61) - 1)

/* a + b mod p for a, b < p. */
static inline uint64_t mpc_f61_add(uint64_t a, uint64_t b)
{
    uint64_t s = a + b;   /* < 2^62: no wrap */
    uint64_t t = s - MPC_F61_P;
    uint64_t m = 0 - (t >> 63);   /* all ones when s < p */
    return (s & m) | (t & ~m);
}

/* a - b mod p for a, b < p. */
static inline uint64_t mpc_f61_sub(uint64_t a, uint64_t b)
{
    uint64_t d = a - b;
    uint64_t m = 0 - (d >> 63);   /* all ones when a < b */
    return d + (MPC_F61_P & m);
}

static inline uint64_t mpc_f61_neg(uint64_t a) { return mpc_f61_sub(0, a); }

/* x mod p for x < 2^122 (any product of two elements), by three folds of the bits above 2^61
 * (x = h*2^61 + l == h*c + l with c = 2^61 mod p < 2^35): < 2^97, < 2^72, < 2^61 + 2^46 < 2p,
 * then one masked subtraction. */
static inline uint64_t mpc_f61_reduce128(unsigned __int128 x)
{
    x = (unsigned __int128)(uint64_t)(x >> 61) * MPC_F61_C61 + ((uint64_t)x & MPC_F61_M61);
    x = (unsigned __int128)(uint64_t)(x >> 61) * MPC_F61_C61 + ((uint64_t)x & MPC_F61_M61);
    uint64_t r = (uint64_t)(x >> 61) * MPC_F61_C61 + ((uint64_t)x & MPC_F61_M61);
    uint64_t t = r - MPC_F61_P;
    uint64_t m = 0 - (t >> 63);
    return (r & m) | (t & ~m);
}

/* a * b mod p for a, b < p. */
static inline uint64_t mpc_f61_mul(uint64_t a, uint64_t b)
{
    return mpc_f61_reduce128((unsigned __int128)a * b);
}

/* Any uint64_t reduced mod p. */
static inline uint64_t mpc_f61_reduce(uint64_t x) { return mpc_f61_reduce128(x); }

/* a^e mod p (square and multiply; time depends on e only). */
static inline uint64_t mpc_f61_pow(uint64_t a, uint64_t e)
{
    uint64_t r = 1;
    while (e) {
        if (e & 1) r = mpc_f61_mul(r, a);
        a = mpc_f61_mul(a, a);
        e >>= 1;
    }
    return r;
}

/* 1/a (a^(p-2)); 0 for a = 0. */
static inline uint64_t mpc_f61_inv(uint64_t a) { return mpc_f61_pow(a, MPC_F61_P - 2); }

/* A primitive 2^k-th root of unity for k <= 32 (MPC_F61_ROOT32 squared 32 - k times);
 * 0 for k > 32. */
static inline uint64_t mpc_f61_root_of_unity(unsigned k)
{
    if (k > MPC_F61_TWO_ADICITY) return 0;
    uint64_t w = MPC_F61_ROOT32;
    for (unsigned i = k; i < MPC_F61_TWO_ADICITY; i++) w = mpc_f61_mul(w, w);
    return w;
}

/* A signed value as an element (x mod p).  0, or -1 when |x| > MPC_F61_HALF. */
static inline int mpc_f61_from_signed(int64_t x, uint64_t *out)
{
    if (x > (int64_t)MPC_F61_HALF || x < -(int64_t)MPC_F61_HALF) return -1;
    *out = x < 0 ? MPC_F61_P - (uint64_t)(-x) : (uint64_t)x;
    return 0;
}

/* An element as the signed value it encodes: v - p when v > (p - 1)/2. */
static inline int64_t mpc_f61_to_signed(uint64_t v)
{
    return v > MPC_F61_HALF ? -(int64_t)(MPC_F61_P - v) : (int64_t)v;
}

/* A fixed-point value's ring encoding (round(x * 2^f) as a two's-complement uint64_t, what
 * mpc_value_parse gives) as an element.  0, or -1 when out of range. */
static inline int mpc_f61_from_ring(uint64_t ring, uint64_t *out)
{
    return mpc_f61_from_signed((int64_t)ring, out);
}

/* out[0..n-1] = uniform elements drawn from the PRG stream (seed, stream) from position 0:
 * each word's low 61 bits, skipped while >= p (probability about 2^-26 per word), so the
 * elements are exactly uniform.  What a daemon given a seed for a contribution expands
 * (docs/contributions.md, "Sharing").  0, or MPC_ERR_INVALID from the PRG. */
static inline int mpc_f61_expand(uint64_t *out, uint64_t n, const uint8_t seed[MPC_PRG_SEEDBYTES], uint64_t stream)
{
    uint64_t buf[64], pos = 0, k = 0;
    while (k < n) {
        uint64_t want = n - k + 1;   /* rejections are rare: one extra word per chunk */
        if (want > 64) want = 64;
        int rc = mpc_prg_expand(buf, want, seed, stream, pos);
        if (rc != 0) return rc;
        pos += want;
        for (uint64_t i = 0; i < want && k < n; i++) {
            uint64_t v = buf[i] & ((UINT64_C(1) << 61) - 1);
            if (v < MPC_F61_P) out[k++] = v;
        }
    }
    return 0;
}

#endif
