/* field61.h — arithmetic in the prime field of contributions (docs/contributions.md, "The
 * field and the conversion"): p = 2^61 - 7·2^32 + 1 = 0x1FFFFFF900000001 = 2305842979148922881,
 * p - 1 = 536870905 * 2^32.  Elements are uint64_t in [0, p).  A contributor's client shares
 * each element of its contribution additively mod p among the daemons; a daemon adds its
 * shares of the accepted contributions mod p.  Signed integers and fixed-point values are
 * encoded as x mod p (so -1 is p - 1), which is exact for |x| < (p - 1)/2.
 *
 * Header-only and constant-time in the values (no branch on an element: the reductions use
 * masks), since the elements are shares of secrets. */
#ifndef MPC_FIELD61_H
#define MPC_FIELD61_H

#include <stdint.h>

#include "mpc_err.h"
#include "prg.h"

#define MPC_F61_P        UINT64_C(0x1FFFFFF900000001)
/* The largest magnitude a signed value may have to be encoded: (p - 1) / 2. */
#define MPC_F61_HALF     ((MPC_F61_P - 1) / 2)

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

/* a * b mod p for a, b < p, through a 128-bit product.  (The % of unsigned __int128 is a
 * library division; its running time does not depend on the operands on the targets we
 * build for, and nothing here is on a path an attacker times.) */
static inline uint64_t mpc_f61_mul(uint64_t a, uint64_t b)
{
    unsigned __int128 x = (unsigned __int128)a * b;
    return (uint64_t)(x % MPC_F61_P);
}

/* Any uint64_t reduced mod p. */
static inline uint64_t mpc_f61_reduce(uint64_t x) { return x % MPC_F61_P; }

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
