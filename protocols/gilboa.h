/* gilboa.h — two-party product sharing over Z_2^64 from correlated OTs (Gilboa, "Two Party
 * RSA Key Generation", CRYPTO 1999, §3, in the ring form used by SPDZ2k/semi2k), and the
 * one-OT product of a bit with a word used for shared random bits (prep_ot.c).
 *
 * Product a·b, sender holds a, receiver holds b, 64 COTs whose choices are the bits b_k of
 * b (otext.h: receiver h_k = H(t_k), sender h0_k, h1_k with h_k = b_k ? h1_k : h0_k):
 *   sender   τ_k = h0_k − h1_k + a  mod 2^(64−k)    (sent, packed: 64−k bits each,
 *            share u = −Σ_k 2^k h0_k                      2080 bits = 260 bytes per product)
 *   receiver y_k = h_k + b_k·τ_k = h0_k + b_k·a  (mod 2^(64−k)),  share v = Σ_k 2^k y_k
 * so u + v = Σ_k 2^k b_k a = a·b mod 2^64: OT k only matters mod 2^(64−k).  The receiver
 * sees τ_k, masked by h1_k (b_k = 0) or h0_k (b_k = 1), which it cannot compute. */
#ifndef MPC_GILBOA_H
#define MPC_GILBOA_H

#include <stdint.h>

#define MPC_GILBOA_BITS 2080u   /* correction bits per product: 64 + 63 + ... + 1 */

/* Correction words for n products (n · 2080 bits rounded up to words). */
uint64_t mpc_gilboa_corr_words(uint64_t n);

/* Sender of n products: share[e] += −Σ_k 2^k h0[64e+k]; corr (mpc_gilboa_corr_words(n)
 * words, written) gets the packed τ. */
void mpc_gilboa_send(uint64_t *share, uint64_t *corr, const uint64_t *a, const uint64_t *h0,
                     const uint64_t *h1, uint64_t n);
/* Receiver of n products: share[e] += Σ_k 2^k (h[64e+k] + b_k τ_k). */
void mpc_gilboa_recv(uint64_t *share, const uint64_t *b, const uint64_t *h, const uint64_t *corr,
                     uint64_t n);

/* mpc_gilboa_recv in two parts whose sum it is (v = Σ_k 2^k h_k + Σ_k 2^k b_k τ_k mod 2^64):
 * the hashes' part, known as soon as the COTs are extended (share[e] += Σ_k 2^k h[64e+k]), and
 * the corrections' part (share[e] += Σ_k 2^k b_k τ_k).  A pipelined receiver adds the first
 * at once and keeps one word per product instead of 64 hashes until the corrections come. */
void mpc_gilboa_recv_hashes(uint64_t *share, const uint64_t *h, uint64_t n);
void mpc_gilboa_recv_corr(uint64_t *share, const uint64_t *b, const uint64_t *corr, uint64_t n);

/* Bit × word products, one COT each: product j is c_j · y_j mod 2^(width[j]) where the
 * receiver's choice c_j = bit j of `choices` and the sender holds y_j (1 <= width <= 64).
 * Sender: share[j] = −h0[j], corr gets τ_j = h0 − h1 + y_j (width[j] bits, packed);
 * receiver: share[j] = h[j] + c_j τ_j.  Shares are exact mod 2^width[j]. */
uint64_t mpc_bitmul_corr_words(const uint8_t *width, uint64_t m);
void mpc_bitmul_send(uint64_t *share, uint64_t *corr, const uint64_t *y, const uint8_t *width,
                     const uint64_t *h0, const uint64_t *h1, uint64_t m);
void mpc_bitmul_recv(uint64_t *share, const uint8_t *choices, const uint8_t *width,
                     const uint64_t *h, const uint64_t *corr, uint64_t m);

#endif
