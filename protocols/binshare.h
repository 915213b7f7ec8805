/* binshare.h — GF(2) shares, bit-sliced: one uint64 word holds one bit of 64 independent
 * values (lane j = bit j), XOR-shared among the parties.  AND of two shared words uses a
 * binary Beaver triple word (a, b, c = a AND b, each XOR-shared): 64 ANDs per word.
 *
 * Beaver AND (Beaver, CRYPTO 1991, over GF(2)): every party opens d = x ^ a and e = y ^ b
 * (XOR of all parties' shares); then z = c ^ (d & b) ^ (e & a), and one designated party
 * (party 0) also XORs d & e.  Local work is a few word operations; cost 2 words opened per
 * 64 ANDs. */
#ifndef MPC_BINSHARE_H
#define MPC_BINSHARE_H

#include <stdint.h>

/* In-place transpose of a 64 x 64 bit matrix: afterwards bit j of blk[i] is what bit i of
 * blk[j] was. */
void mpc_bin_transpose64(uint64_t blk[64]);

/* Bit-slices n words: planes[i*W + w] (W = ceil(n/64), 0 <= i < nbits <= 64) holds in lane j
 * bit i of src[64w + j]; lanes past n are zero. */
void mpc_bin_slice(uint64_t *planes, const uint64_t *src, uint64_t n, uint32_t nbits);

/* Own openings of W words of ANDs: d = x ^ a, e = y ^ b. */
void mpc_bin_and_open(uint64_t *d, uint64_t *e, const uint64_t *x, const uint64_t *y,
                      const uint64_t *a, const uint64_t *b, uint64_t W);

/* The share of x AND y from the opened d, e: z = c ^ (d & b) ^ (e & a) (^ (d & e) when
 * `designated`).  z may alias nothing else. */
void mpc_bin_and_close(uint64_t *z, const uint64_t *d, const uint64_t *e, const uint64_t *a,
                       const uint64_t *b, const uint64_t *c, uint64_t W, int designated);

/* Packed bit arrays (bit k at lane k%64 of word k/64): dst bits [0, n) = src bits
 * [off, off + n); dst lanes past n are zero.  dst holds ceil(n/64) words. */
void mpc_bin_extract(uint64_t *dst, const uint64_t *src, uint64_t off, uint64_t n);

static inline uint64_t mpc_bin_words(uint64_t n)
{
    return n / 64 + (n % 64 != 0);
}

#endif
