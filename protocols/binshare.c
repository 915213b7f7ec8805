/* binshare.c — bit-sliced GF(2) share operations (binshare.h). */
#include "binshare.h"

#include <sodium.h>
#include <string.h>

void mpc_bin_transpose64(uint64_t a[64])
{
    /* Recursive block swap: at width j, exchange the upper j columns of row k with the
     * lower j columns of row k + j, for every row k whose bit j is clear. */
    uint64_t m = 0x00000000ffffffffull;
    for (unsigned j = 32; j; j >>= 1, m ^= m << j) {
        for (unsigned k = 0; k < 64; k = ((k | j) + 1) & ~j) {
            uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
            a[k] ^= t << j;
            a[k | j] ^= t;
        }
    }
}

void mpc_bin_slice(uint64_t *planes, const uint64_t *src, uint64_t n, uint32_t nbits)
{
    uint64_t W = mpc_bin_words(n), blk[64];
    for (uint64_t w = 0; w < W; w++) {
        uint64_t k = n - 64 * w < 64 ? n - 64 * w : 64;
        memcpy(blk, src + 64 * w, (size_t)k * 8);
        if (k < 64) memset(blk + k, 0, (size_t)(64 - k) * 8);
        mpc_bin_transpose64(blk);
        for (uint32_t i = 0; i < nbits; i++) planes[(uint64_t)i * W + w] = blk[i];
    }
    sodium_memzero(blk, sizeof blk);   /* held share bits */
}

void mpc_bin_and_open(uint64_t *d, uint64_t *e, const uint64_t *x, const uint64_t *y,
                      const uint64_t *a, const uint64_t *b, uint64_t W)
{
    for (uint64_t k = 0; k < W; k++) {
        d[k] = x[k] ^ a[k];
        e[k] = y[k] ^ b[k];
    }
}

void mpc_bin_and_close(uint64_t *z, const uint64_t *d, const uint64_t *e, const uint64_t *a,
                       const uint64_t *b, const uint64_t *c, uint64_t W, int designated)
{
    if (designated)
        for (uint64_t k = 0; k < W; k++) z[k] = c[k] ^ (d[k] & b[k]) ^ (e[k] & a[k]) ^ (d[k] & e[k]);
    else
        for (uint64_t k = 0; k < W; k++) z[k] = c[k] ^ (d[k] & b[k]) ^ (e[k] & a[k]);
}

void mpc_bin_extract(uint64_t *dst, const uint64_t *src, uint64_t off, uint64_t n)
{
    uint64_t W = mpc_bin_words(n), s = off / 64;
    unsigned sh = (unsigned)(off % 64);
    for (uint64_t w = 0; w < W; w++) {
        uint64_t v = src[s + w] >> sh;
        /* the next source word holds the rest only when the range reaches into it */
        if (sh && 64 * w + 64 - sh < n) v |= src[s + w + 1] << (64 - sh);
        dst[w] = v;
    }
    if (n % 64) dst[W - 1] &= (1ull << (n % 64)) - 1;
}
