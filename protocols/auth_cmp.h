/* auth_cmp.h — comparison with zero (LTZ, EQZ) of SPDZ2k authenticated values (auth.h) from
 * authenticated random bits (auth_bits.h), all in arithmetic: the malicious engine's LTZ and
 * EQZ gates (engine_mal.h; docs/security.md, "Comparisons under MACs").
 *
 * For N values [x] (x = x~ mod 2^64) of one kind:
 *   1. material  64 random bits b_0..b_63 per element, r = Σ 2^i·b_i, and a random value R
 *                (mpc_auth_bits, mpc_auth_random); then the MAC check, which must pass before
 *                anything depending on the bits is opened;
 *   2. open      y = x~ + r + 2^64·R mod 2^128 (MPC_MSG_OPEN, seq + 3 + bit rounds; into the
 *                MAC check), c = y mod 2^64 = x + r mod 2^64 — uniform; R hides the slack;
 *   3. LTZ       msb(x) = c_63 ⊕ r_63 ⊕ [c' < r'] with c' = c mod 2^63, r' = r mod 2^63
 *                (x = c − r: bit 63 of the difference and the borrow out of the low 63 bits);
 *                [c' < r'] by a (G, P) tree over the bits, highest differing bit deciding:
 *                leaf i: G = (1 − c_i)·b_i, P = 1 − (c_i ⊕ b_i) (linear, c public); combine
 *                (hi, lo): G = G_hi + P_hi·G_lo, P = P_hi·P_lo (two products, one at the
 *                root): 6 rounds; then t = r_63 ⊕ lt (one product) and c_63 ⊕ t (linear);
 *      EQZ       [x = 0] = [c = r] = Π_i (1 − (c_i ⊕ b_i)): a product tree, 6 rounds.
 * Every product is an authenticated Beaver product (mpc_auth_mul) with its openings in the
 * MAC check; the result is an authenticated 0/1 in Z_2^64.  Cost per element: 64 bits (64·n
 * triples, 64·n masks) + n masks, then 124 triples (LTZ) or 63 (EQZ); rounds per call: the
 * bits' 2 + ⌈log2 n⌉, the MAC check's 4, 1 opening, 7 (LTZ) or 6 (EQZ). */
#ifndef MPC_AUTH_CMP_H
#define MPC_AUTH_CMP_H

#include <stddef.h>
#include <stdint.h>

#include "auth_bits.h"

#define MPC_AUTH_CMP_PIECE 1024u   /* elements per call at most */

/* Message seq numbers one call uses from seq. */
uint32_t mpc_auth_cmp_rounds(uint32_t n);

/* LTZ (eqz = 0) or EQZ (eqz = 1) of x[0..N) (value shares xx, MAC shares xm) into zx, zm.
 * Runs MAC checks on cx->ck (counted in st).  N <= MPC_AUTH_CMP_PIECE.  0 or MPC_ERR_* with
 * the reason in err (MPC_ERR_CRYPTO: "MAC check failed ..."). */
__attribute__((warn_unused_result))
int mpc_auth_compare(const mpc_auth_bits_ctx *cx, uint64_t seq, int eqz, uint64_t N, const mpc_u128 *xx,
                     const mpc_u128 *xm, mpc_u128 *zx, mpc_u128 *zm, mpc_auth_bits_stats *st, char *err,
                     size_t errlen);

#endif
