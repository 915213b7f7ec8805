/* compare.h — batched secure comparison with zero on additive shares over Z_2^64
 * (semi-honest, any number of parties): LTZ (x < 0 as two's complement, i.e. msb(x)) and
 * EQZ (x == 0), each returning arithmetic shares of a 0/1 result.  docs/comparison.md
 * derives both and states their cost; the engine runs one batch per comparison kind per
 * circuit layer, so n comparisons cost one set of 8 rounds whatever n is.
 *
 * Protocol (Dalskov–Escudero–Keller, "Secure evaluation of quantized neural networks",
 * PoPETs 2020, with edaBits from Escudero–Ghosh–Keller–Rachuri–Scholl, CRYPTO 2020):
 *   sub-round 0   open c = x − r (sum of shares mod 2^64) for an edaBit r (r shared in
 *                 Z_2^64 and bit by bit in GF(2)); c is uniform, so it reveals nothing.
 *                 Then x = c + r mod 2^64 with c public.
 *   LTZ           msb(x) = c_63 ^ r_63 ^ carry, carry = the carry into bit 63 of
 *                 (c mod 2^63) + (r mod 2^63): generate g_i = c_i & r_i and propagate
 *                 p_i = c_i ^ r_i are local (c public); a carry-lookahead tree combines
 *                 adjacent groups (G, P) = (G_hi ^ P_hi & G_lo, P_hi & P_lo) — 63 leaves,
 *                 6 levels, 118 ANDs (the lowest group never needs its P).
 *   EQZ           x == 0 iff r == −c: AND over the 64 bits of ~((−c)_i ^ r_i) — a tree
 *                 of 6 levels, 63 ANDs.
 *   sub-rounds 1–6  one AND level each (binshare.h Beaver AND, bit-sliced 64 per word).
 *   sub-round 7   daBit conversion: open v = b_res ^ b for a daBit b (shared in GF(2) and
 *                 in Z_2^64); result = v + [b] − 2v[b] (v public: [b] or 1 − [b]).
 * Rounds: 8.  Material per comparison: 1 edaBit, 1 daBit, and 118 (LTZ) or 63 (EQZ) binary
 * triples, i.e. that many binary triple WORDS per 64 comparisons.  Opened per party per
 * peer: n words in sub-round 0, 2·(ANDs of the level)·ceil(n/64) words in each AND level,
 * ceil(n/64) words in sub-round 7; in total 8n + 8·237·ceil(n/64) bytes (LTZ) and
 * 8n + 8·127·ceil(n/64) bytes (EQZ). */
#ifndef MPC_COMPARE_H
#define MPC_COMPARE_H

#include <stdint.h>

#include "circuit.h"

typedef enum { MPC_CMP_LTZ = 1, MPC_CMP_EQZ = 2 } mpc_cmp_kind;

#define MPC_CMP_ROUNDS    8     /* sub-rounds of either kind (= the gate table's rounds) */
#define MPC_CMP_LEVELS    6     /* AND levels */
#define MPC_CMP_LTZ_ANDS  118   /* binary ANDs per LTZ */
#define MPC_CMP_EQZ_ANDS  63    /* binary ANDs per EQZ */
_Static_assert(MPC_CMP_LTZ_ANDS == MPC_CIRC_LTZ_ANDS && MPC_CMP_EQZ_ANDS == MPC_CIRC_EQZ_ANDS,
               "circuit.h's comparison costs must match the protocol");

/* The material of a batch of n comparisons, this party's shares (borrowed; copied by
 * mpc_cmp_new).  Layouts are those of prep.h. */
typedef struct {
    const uint64_t *eda_r;     /* n words: arithmetic shares of r_k */
    const uint64_t *eda_bits;  /* n words: bit i of word k = XOR share of bit i of r_k */
    const uint64_t *ba, *bb, *bc;  /* mpc_cmp_btriple_words(kind, n) binary triple words */
    const uint64_t *da_r;      /* n words: arithmetic shares of daBit b_k */
    const uint64_t *da_bits;   /* packed XOR shares: b_k at bit da_off + k */
    uint64_t        da_off;
} mpc_cmp_material;

typedef struct mpc_cmp mpc_cmp;

/* ANDs per comparison of this kind (118 or 63), 0 for an unknown kind. */
uint32_t mpc_cmp_ands(mpc_cmp_kind kind);
/* Binary triple words a batch of n comparisons consumes: ands · ceil(n/64). */
uint64_t mpc_cmp_btriple_words(mpc_cmp_kind kind, uint64_t n);
/* Words this party opens (and receives from each peer) in sub-round `step` of a batch of n. */
uint64_t mpc_cmp_words_at(mpc_cmp_kind kind, uint64_t n, uint32_t step);

/* A batch of n >= 1 comparisons for party `self` (party 0 adds public constants).  NULL on
 * bad arguments or allocation failure. */
mpc_cmp *mpc_cmp_new(mpc_cmp_kind kind, uint64_t n, uint32_t self, const mpc_cmp_material *m);

/* The next sub-round (0 .. MPC_CMP_ROUNDS − 1), MPC_CMP_ROUNDS when the result is ready. */
uint32_t mpc_cmp_step(const mpc_cmp *c);
/* Words of the next sub-round's opening, and whether the parties' words are summed mod
 * 2^64 (sub-round 0: 1) or XOR-ed (every other sub-round: 0). */
uint64_t mpc_cmp_open_words(const mpc_cmp *c);
int      mpc_cmp_open_is_arith(const mpc_cmp *c);

/* This party's words of the next sub-round into out[0 .. open_words − 1].  x (n words,
 * this party's shares of the compared values) is read in sub-round 0 only. */
void mpc_cmp_open(mpc_cmp *c, const uint64_t *x, uint64_t *out);
/* Takes the opened words of the sub-round (summed or XOR-ed over all parties) and advances.
 * 0 or MPC_ERR_NOMEM / MPC_ERR_STATE. */
__attribute__((warn_unused_result))
int mpc_cmp_absorb(mpc_cmp *c, const uint64_t *opened);

/* After the last sub-round: this party's arithmetic shares of the n results (each 0 or 1),
 * NULL before. */
const uint64_t *mpc_cmp_result(const mpc_cmp *c);

/* Wipes and frees; sets *c to NULL (NULL accepted). */
void mpc_cmp_destroy(mpc_cmp **c);

#endif
