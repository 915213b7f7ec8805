/* vcheck.h — the vector check: how a client, which is not a party and holds no MAC key, learns
 * that the shares n daemons report to it of an authenticated vector (the masks of its input,
 * or an output for it) are the shares the MACs cover, with one check per vector instead of an
 * authenticated triple per element (docs/security.md, "The vector check").
 *
 * For a vector [v] of L authenticated values (SPDZ2k shares, auth.h) the parties
 *   1. take D = MPC_VCHECK_D jointly random authenticated pads [ρ_1..ρ_D] (uniform in Z_2^128,
 *      unknown to every coalition short of all parties);
 *   2. each party p forms its report R_p = (the low 64 bits of its shares of v_1..v_L, then of
 *      ρ_1..ρ_D) and commits to it: C_p = BLAKE2b-256("mpcd vcheck", p, L, nonce_p, R_p), and
 *      sends C_p to every peer (into the MAC check's broadcast transcript);
 *   3. toss a joint coin (commit then open: auth.h mpc_auth_coin) for a seed, after every
 *      commitment is fixed;
 *   4. expand the seed into one 64-bit word w_l per element (mpc_vcheck_bits) and form
 *      [z_i] = Σ_{l : bit i of w_l} [v_l] + [ρ_i] for i = 1..D, locally on value and MAC shares;
 *   5. open z_1..z_D (128 bits, MAC-checked with everything else before anything is handed out).
 * The client gets from each daemon p its record (below): R_p, nonce_p, the commitments of all
 * parties, the seed and z.  It accepts (mpc_vcheck_verify) only if every daemon sent the same
 * commitments, seed and z, every R_p opens C_p, and for every i, z_i ≡ Σ_{l: bit i of w_l} v_l +
 * ρ_i mod 2^64 with v, ρ the sums of the reports mod 2^64; then v mod 2^64 is the vector.
 *
 * Why it holds: a cheating daemon's report is off by errors e_l (and e_ρi) mod 2^64, fixed by
 * its commitment before the seed exists.  For each i the bits of w_l are fresh coins, so if
 * some e_l ≠ 0 the sum Σ_{bit i} e_l + e_ρi is 0 mod 2^64 for at most one of the two values of
 * that element's bit: the check i passes with probability at most 1/2, independently for each
 * i, so all D pass with probability at most 2^-D = 2^-64.  The z the client compares with are
 * right mod 2^64 unless the MAC check failed (2^-58).  Privacy: z_i is masked by ρ_i, uniform
 * in Z_2^128 and unknown to the parties; the client learns v mod 2^64, the pads and z, and each
 * daemon's low 64 bits of its shares (uniform given v mod 2^64), never the upper (slack) bits.
 *
 * The SDK (client_in.c, client_out.c) uses the record functions and mpc_vcheck_verify; the
 * engine (engine_mal.c) runs the protocol with mpc_vcheck_combine. */
#ifndef MPC_VCHECK_H
#define MPC_VCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define MPC_VCHECK_D 64u   /* combinations per vector: a cheater passes all with probability ≤ 2^-64 */

/* A record: what daemon p reports to a client for one vector of L elements in a job of n
 * parties, little-endian, in this order:
 *   share[L]   u64       p's value shares, low 64 bits
 *   pad[D]     u64       p's shares of the D pads, low 64 bits
 *   z[D]       u64       the opened z_i, low 64 bits (the same from every honest daemon)
 *   nonce      32 bytes  p's commitment nonce
 *   seed       32 bytes  the joint coin (the same from every honest daemon)
 *   com[n]     32 bytes  each party's commitment, in party order (the same from every daemon)
 * mpc_vcheck_record_bytes gives its size (0 when L or n is out of range). */
#define MPC_VCHECK_MAX_LEN (1ull << 32)
size_t mpc_vcheck_record_bytes(uint64_t L, uint32_t n);

/* A record's 64-bit words, little-endian on every host. */
static inline uint64_t mpc_vcheck_rd64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | b[k];
    return v;
}
static inline void mpc_vcheck_wr64(uint8_t *b, uint64_t v)
{
    for (int k = 0; k < 8; k++) b[k] = (uint8_t)(v >> (8 * k));
}

/* Offsets into a record of L elements (bytes). */
static inline size_t mpc_vcheck_off_pad(uint64_t L) { return (size_t)L * 8; }
static inline size_t mpc_vcheck_off_z(uint64_t L) { return (size_t)(L + MPC_VCHECK_D) * 8; }
static inline size_t mpc_vcheck_off_nonce(uint64_t L) { return (size_t)(L + 2 * MPC_VCHECK_D) * 8; }
static inline size_t mpc_vcheck_off_seed(uint64_t L) { return mpc_vcheck_off_nonce(L) + 32; }
static inline size_t mpc_vcheck_off_com(uint64_t L) { return mpc_vcheck_off_nonce(L) + 64; }

/* C_p of a record's first part (share[L] then pad[D], as in the record) under nonce. */
void mpc_vcheck_commit(uint8_t out[32], uint32_t party, uint64_t L, const uint8_t nonce[32], const uint8_t *report);

/* Words w[0..count−1] of the check's coin stream: word l of the vector is w_l (ChaCha20 under
 * the seed, block counter first/8; first must be a multiple of 8). */
void mpc_vcheck_bits(uint64_t *w, uint64_t first, uint64_t count, const uint8_t seed[32]);

/* acc[i] += Σ_{l < L : bit i of w[l]} x[l] mod 2^128 for i < D (one of value or MAC shares). */
void mpc_vcheck_combine(mpc_u128 acc[MPC_VCHECK_D], const mpc_u128 *x, const uint64_t *w, uint64_t L);

/* The client's check of the n daemons' records (recs[p] from daemon p, each
 * mpc_vcheck_record_bytes(L, n) bytes).  0 with v[0..L−1] = the vector mod 2^64; or
 * MPC_ERR_CRYPTO with *why set: 1 the daemons' seeds, commitments or z differ, 2 daemon *who's
 * report does not open its commitment, 3 the sums fail the check (a daemon cheated; which one
 * cannot be told); or MPC_ERR_INVALID / MPC_ERR_NOMEM.  On any failure v is left zeroed (or
 * untouched, for INVALID and the checks before the sums). */
int mpc_vcheck_verify(const uint8_t *const *recs, uint32_t n, uint64_t L, uint64_t *v, int *why, uint32_t *who);

#endif
