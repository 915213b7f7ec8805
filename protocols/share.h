/* share.h — local operations on additive shares over Z_2^64 (docs/engine.md; docs/design.md,
 * "Protocol choices in brief").
 * Every function writes z[0..n-1]; an operand with length 1 is broadcast, otherwise it has
 * length n.  z may alias an operand of length n.  All arithmetic is on uint64_t (wraps). */
#ifndef MPC_SHARE_H
#define MPC_SHARE_H

#include <stdint.h>

void mpc_share_add(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *y, uint64_t ny,
                   uint64_t n);
void mpc_share_sub(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *y, uint64_t ny,
                   uint64_t n);
void mpc_share_neg(uint64_t *z, const uint64_t *x, uint64_t nx, uint64_t n);
/* z = x + k on the designated party (`designated` nonzero, party 0 by convention), z = x on
 * the others, so that the shared value gains k exactly once. */
void mpc_share_add_pub(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *k,
                       uint64_t nk, uint64_t n, int designated);
/* z = x * k (every party multiplies its share by the public k). */
void mpc_share_mul_pub(uint64_t *z, const uint64_t *x, uint64_t nx, const uint64_t *k,
                       uint64_t nk, uint64_t n);
/* Sum of x[0..n-1] mod 2^64. */
uint64_t mpc_share_sum(const uint64_t *x, uint64_t n);
/* z[k] = x[k] broadcast to n elements (a copy when nx == n). */
void mpc_share_copy(uint64_t *z, const uint64_t *x, uint64_t nx, uint64_t n);

#endif
