/* otext.h — IKNP OT extension (Ishai–Kilian–Nissim–Petrank, CRYPTO 2003, §3 in the
 * correlated-OT form of Asharov–Lindell–Schneider–Zohner CCS 2013, semi-honest) for one
 * directed pair: the extension SENDER holds Δ ∈ {0,1}^128 and, from κ = 128 base OTs in
 * which it was the receiver with choices Δ, one seed k_{Δ_i} per column i; the extension
 * RECEIVER holds both seeds (k0_i, k1_i) of every column.
 *
 * Per batch of m OTs with receiver choices x ∈ {0,1}^m:
 *   receiver: t^i = G(k0_i), u^i = t^i ⊕ G(k1_i) ⊕ x   (i < 128)         → u (16 m bytes)
 *   sender:   q^i = G(k_{Δ_i}) ⊕ Δ_i·u^i = t^i ⊕ Δ_i·x
 * and after transposing the 128 × m bit matrices, row j: q_j = t_j ⊕ x_j·Δ.  The outputs
 * are hashed with the TCCR hash of aeshash.h (Guo–Katz–Wang–Yu S&P 2020), tweak (tweak_hi,
 * global OT index): receiver h_j = H(t_j), sender h0_j = H(q_j), h1_j = H(q_j ⊕ Δ), so
 * h_j = (x_j ? h1_j : h0_j) and the other hash is hidden from the receiver.
 *
 * G is the column PRG of aeshash.h.  Positions: every batch takes fresh PRG blocks — the
 * position advances by whole superblocks of MPC_OT_SUPER OTs and never goes back, so no PRG
 * output (hence no u^i ⊕ u'^i revealing x ⊕ x') and no tweak is ever used twice.  Both ends
 * must run the same sequence of batch sizes.  Cost per OT: 16 bytes receiver → sender, 2
 * PRG blocks + 1 TCCR (receiver), 1 PRG block + 2 TCCR (sender), one 128×128 transpose per
 * 128 OTs on each side. */
#ifndef MPC_OTEXT_H
#define MPC_OTEXT_H

#include <stdint.h>

#include "aeshash.h"
#include "par.h"

#define MPC_OT_KAPPA   128
#define MPC_OT_SUPER   1024        /* OTs per PRG superblock */
#define MPC_OT_MAX_M   (1ull << 26)  /* OTs per batch */

/* Time spent per phase (CLOCK_MONOTONIC ns), for the benchmark breakdown. */
typedef struct {
    uint64_t prg_ns, transpose_ns, hash_ns, ots;
} mpc_cot_prof;

typedef struct mpc_cot_recv mpc_cot_recv;
typedef struct mpc_cot_send mpc_cot_send;

/* Words of the receiver's message for m OTs (m rounded up to 128, two words per OT). */
uint64_t mpc_cot_msg_words(uint64_t m);

/* Receiver end: k0, k1 hold 128 base-OT keys of MPC_OT_SEEDBYTES each (copied; the caller
 * wipes its copies).  tweak_hi must be unique per (session, pair, direction).  NULL on
 * failure. */
mpc_cot_recv *mpc_cot_recv_new(mpc_sym_kind kind, const uint8_t *k0, const uint8_t *k1,
                               uint64_t tweak_hi);
/* Sender end: delta (16 bytes, bit i = delta[i/8] >> (i%8) & 1) and kd[i] = k_{Δ_i}. */
mpc_cot_send *mpc_cot_send_new(mpc_sym_kind kind, const uint8_t delta[16], const uint8_t *kd,
                               uint64_t tweak_hi);
void mpc_cot_recv_destroy(mpc_cot_recv **r);
void mpc_cot_send_destroy(mpc_cot_send **s);

/* Receiver: m OTs with choices (bit j = choices[j/8] >> (j%8) & 1; only the first m bits
 * are read).  Writes u (mpc_cot_msg_words(m) words, to send), h[0..m-1], and, when t_rows
 * is not NULL, the raw rows t_j (16 m bytes).  h may be NULL when t_rows is not: the rows
 * only, for callers that hash them themselves (auth_ot.c; no hash work).  0 or
 * MPC_ERR_INVALID. */
__attribute__((warn_unused_result))
int mpc_cot_recv_extend(mpc_cot_recv *r, const uint8_t *choices, uint64_t m, uint64_t *u,
                        uint64_t *h, uint8_t *t_rows);

/* Sender: from the receiver's u for m OTs, h0[0..m-1], h1[0..m-1] and optionally the raw
 * rows q_j (16 m bytes).  h0 and h1 may both be NULL when q_rows is not (rows only, as for
 * the receiver).  0 or MPC_ERR_INVALID. */
__attribute__((warn_unused_result))
int mpc_cot_send_extend(mpc_cot_send *s, const uint64_t *u, uint64_t m, uint64_t *h0,
                        uint64_t *h1, uint8_t *q_rows);

/* The same two calls with the batch's superblocks split among the threads of par (NULL: the
 * calling thread alone; par.h).  The outputs, positions and tweaks are those of the plain
 * calls, bit for bit, whatever the number of threads.  One call at a time per end.  0,
 * MPC_ERR_INVALID or MPC_ERR_NOMEM (a thread's work space). */
__attribute__((warn_unused_result))
int mpc_cot_recv_extend_par(mpc_cot_recv *r, mpc_par *par, const uint8_t *choices, uint64_t m,
                            uint64_t *u, uint64_t *h, uint8_t *t_rows);
__attribute__((warn_unused_result))
int mpc_cot_send_extend_par(mpc_cot_send *s, mpc_par *par, const uint64_t *u, uint64_t m,
                            uint64_t *h0, uint64_t *h1, uint8_t *q_rows);

/* ---- SoftSpokenOT (Roy, "SoftSpokenOT: Quieter OT Extension from Small-Field Silent VOLE
 * in the Minicrypt Model", CRYPTO 2022, §4–5; semi-honest, no consistency check).
 * The 128 columns form 128/k blocks of k.  For block l the receiver holds 2^k leaf seeds
 * s_y (a GGM tree; the sender got all but s_{Δ_l} from k base OTs, Δ_l = the k bits of Δ of
 * the block) and sends c_l = x ⊕ ⊕_y G(s_y): 128/k bits per OT instead of 128.  Column
 * lk + i is t = ⊕_{y_i = 1} G(s_y) on the receiver's side and
 * q = ⊕_y (y_i ⊕ Δ_{l,i}) G(s_y) ⊕ Δ_{l,i} c_l = t ⊕ Δ_{l,i} x on the sender's, so the rows
 * satisfy q_j = t_j ⊕ x_j Δ exactly as in IKNP and the same transpose and TCCR hash follow.
 * Cost per OT: 16/k bytes; 2^k/k PRG blocks on each side.  k = 1 is IKNP itself. */

/* Words of the receiver's message for m OTs with block size k (1, 2, 4 or 8). */
uint64_t mpc_cot_msg_words_k(uint32_t k, uint64_t m);

/* leaves: (128/k) × 2^k seeds of MPC_OT_SEEDBYTES, block-major (leaf y of block l at index
 * l·2^k + y).  The sender's leaf Δ_l of each block is ignored (it has no such seed).
 * k in 2..8 dividing 128.  The extend functions then take and give c instead of u. */
mpc_cot_recv *mpc_sso_recv_new(mpc_sym_kind kind, uint32_t k, const uint8_t *leaves,
                               uint64_t tweak_hi);
mpc_cot_send *mpc_sso_send_new(mpc_sym_kind kind, uint32_t k, const uint8_t delta[16],
                               const uint8_t *leaves, uint64_t tweak_hi);

/* The all-but-one OT of a block: the receiver (of the COTs) expands root into 2^k leaves
 * (2^k × 32 bytes) and the level sums (k × 2 × 32 bytes: for level d, the XOR of all
 * branch-0 children, then of all branch-1 children); the sender, given for each level d
 * the sum of branch ¬α_d (k × 32 bytes, through base OT d with choice ¬α_d), rebuilds every
 * leaf but α (set to zero).  0 or MPC_ERR_INVALID. */
int mpc_ggm_expand(uint32_t k, const uint8_t root[32], uint8_t *leaves, uint8_t *sums);
int mpc_ggm_puncture(uint32_t k, uint32_t alpha, const uint8_t *sums, uint8_t *leaves);

void mpc_cot_recv_prof(const mpc_cot_recv *r, mpc_cot_prof *p);
void mpc_cot_send_prof(const mpc_cot_send *s, mpc_cot_prof *p);
/* The next OT index (both ends agree after the same batches). */
uint64_t mpc_cot_recv_pos(const mpc_cot_recv *r);
uint64_t mpc_cot_send_pos(const mpc_cot_send *s);

/* out = the transpose of the 128 × 128 bit matrix whose row i is the 16 bytes at
 * in + i * stride (bit j of a row = byte j/8, bit j%8): out row j (16 bytes at out + 16 j)
 * holds bit j of every input row.  AVX2 or SSE2 (movemask) where available. */
void mpc_transpose128(uint8_t *out, const uint8_t *in, uint64_t stride);
/* The SSE2 path, whatever the CPU has (tests; the definition where there is no SSE2). */
void mpc_transpose128_sse2(uint8_t *out, const uint8_t *in, uint64_t stride);
/* The same by the definition, one bit at a time (tests). */
void mpc_transpose128_ref(uint8_t *out, const uint8_t *in, uint64_t stride);

/* ---- The KOS15 consistency check (Keller, Orsini, Scholl, "Actively Secure OT Extension
 * with Optimal Overhead", CRYPTO 2015, §3, Fig. 7), for actively secure callers of IKNP
 * (k = 1).  Semi-honest callers do not call it and pay nothing.
 *
 * A cheating receiver can use different choice vectors x in different columns u^i; the
 * sender's rows are then q_j = t_j ⊕ x_j·Δ ⊕ (e_j ∗ Δ), where e_j marks the columns in which
 * OT j's choice differed, and the TCCR outputs would let the receiver test guesses about
 * bits of Δ.  The check: after the receiver's u is fixed, both ends get a joint random seed
 * (commit-then-open coins, auth.h: mpc_auth_coin); χ_j ∈ GF(2^128) from ChaCha20 under it
 * (mpc_kos_prove / _verify), or from AES-128-CTR under it (the _k forms with MPC_SYM_AESNI);
 * the receiver sends x~ = Σ_j x_j·χ_j and t~ = Σ_j χ_j·t_j (32 bytes: two field elements), the sender checks Σ_j χ_j·q_j = t~ + x~·Δ.  A receiver with e_j ≠ 0 passes only
 * by guessing the bits of Δ where e_j differs; the guesses it can afford cost it at most a
 * few bits of Δ, which the κ + s = MPC_KOS_EXTRA extra OTs (random choices, outputs
 * discarded) cover along with the leak of x~ and t~ themselves: the caller extends
 * m + MPC_KOS_EXTRA OTs, passes all of them here and uses only the first m.
 * GF(2^128) with x^128 + x^7 + x^2 + x + 1; the carry-less products use PCLMULQDQ where the
 * CPU has it (checked at run time), a constant-time shift-and-add loop otherwise. */
#define MPC_KOS_EXTRA  192   /* κ + s = 128 + 64 sacrificed OTs per checked batch */
#define MPC_KOS_WORDS  4     /* the receiver's proof: x~ (2 words), t~ (2 words) */

/* Receiver: the proof for the m OTs of one batch (choices as given to the extension, raw rows
 * t_rows as it returned them).  0 or MPC_ERR_INVALID. */
__attribute__((warn_unused_result))
int mpc_kos_prove(const uint8_t seed[32], const uint8_t *choices, const uint8_t *t_rows, uint64_t m,
                  uint64_t proof[MPC_KOS_WORDS]);
/* Sender: 0 if the proof matches its rows q_rows and Δ, MPC_ERR_CRYPTO if not,
 * MPC_ERR_INVALID on bad arguments. */
__attribute__((warn_unused_result))
int mpc_kos_verify(const uint8_t seed[32], const uint8_t delta[16], const uint8_t *q_rows, uint64_t m,
                   const uint64_t proof[MPC_KOS_WORDS]);

/* The same with χ drawn by `kind`'s PRG: MPC_SYM_PORTABLE is ChaCha20 (the forms above),
 * MPC_SYM_AESNI AES-128-CTR keyed by the seed's first 16 bytes, χ_j = block j (MPC_ERR_INVALID
 * where the CPU has no AES-NI).  Both ends of a check must use the same kind. */
__attribute__((warn_unused_result))
int mpc_kos_prove_k(mpc_sym_kind kind, const uint8_t seed[32], const uint8_t *choices, const uint8_t *t_rows,
                    uint64_t m, uint64_t proof[MPC_KOS_WORDS]);
__attribute__((warn_unused_result))
int mpc_kos_verify_k(mpc_sym_kind kind, const uint8_t seed[32], const uint8_t delta[16], const uint8_t *q_rows,
                     uint64_t m, const uint64_t proof[MPC_KOS_WORDS]);

/* Whether the check's sums use VPCLMULQDQ (two products per instruction; the same results)
 * where the CPU has it: returns the current setting; set = 0 / 1 changes it (tests), -1
 * only asks. */
int mpc_kos_vpclmul(int set);

/* GF(2^128) product (tests): bit i of the 16-byte little-endian value is the coefficient of x^i. */
void mpc_gf128_mul(uint8_t out[16], const uint8_t a[16], const uint8_t b[16]);
/* The same by the constant-time loop whatever the CPU (tests compare the two). */
void mpc_gf128_mul_soft(uint8_t out[16], const uint8_t a[16], const uint8_t b[16]);

#endif
