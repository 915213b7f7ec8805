/* aeshash.h — the symmetric primitives of OT extension (otext.h): the tweakable circular
 * correlation-robust hash (TCCR) of Guo–Katz–Wang–Yu, "Efficient and Secure Multiparty
 * Computation from Fixed-Key Block Ciphers" (S&P 2020, §7.4), and the column PRG.
 *
 * Two implementations; the two ends of an OT extension must use the same one, so they agree
 * on it at setup (prep_ot.c takes the AES kind only when both parties have AES-NI):
 *   MPC_SYM_AESNI    TCCR(x, i) = π(π(x) ⊕ i) ⊕ π(x), π = AES-128 under a fixed public key;
 *                    PRG = AES-128-CTR keyed by the first 16 bytes of a base-OT seed.
 *                    Needs AES-NI (checked at run time with CPUID).
 *   MPC_SYM_PORTABLE TCCR(x, i) = BLAKE2b-128(i ‖ x) (a random oracle, slower: ≈30×);
 *                    PRG = ChaCha20 keyed by the 32-byte seed (libsodium).
 * Both are constant time (no secret-dependent tables or branches). */
#ifndef MPC_AESHASH_H
#define MPC_AESHASH_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MPC_SYM_PORTABLE = 0,
    MPC_SYM_AESNI = 1,
} mpc_sym_kind;

#define MPC_OT_SEEDBYTES 32   /* a base-OT output, the key of one PRG column */

/* 1 when this CPU has AES-NI (and SSE4.1), so MPC_SYM_AESNI can run. */
int mpc_sym_have_aesni(void);
/* The kind this machine would choose on its own, and its name ("aes-ni" or "blake2b"). */
mpc_sym_kind mpc_sym_best(void);
const char  *mpc_sym_name(mpc_sym_kind k);

/* An expanded PRG key for one column (AES round keys, or the ChaCha20 key).  Secret: keep
 * these in sodium_malloc memory and wipe them. */
typedef struct {
    uint8_t rk[11 * 16];      /* AES-128 round keys */
    uint8_t key[32];          /* the seed itself (ChaCha20 key) */
} mpc_prg_key;

/* Expands seed into k for kind (kind must be runnable here). */
void mpc_sym_prg_key(mpc_sym_kind kind, mpc_prg_key *k, const uint8_t seed[MPC_OT_SEEDBYTES]);

/* out = 16-byte blocks blk0 .. blk0 + nblk - 1 of the key stream of k.  blk0 must be a
 * multiple of 4 (ChaCha20 blocks are 4 of ours). */
void mpc_sym_prg(mpc_sym_kind kind, const mpc_prg_key *k, uint64_t blk0, uint8_t *out,
                 size_t nblk);

/* mpc_sym_prg for nk keys (keys[0..nk-1]) at once: key i's blocks go to out + 16·nblk·i.
 * With VAES, two keys per instruction. */
void mpc_sym_prg_multi(mpc_sym_kind kind, const mpc_prg_key *keys, size_t nk, uint64_t blk0,
                       uint8_t *out, size_t nblk);

/* out[j] = the low 64 bits of TCCR(in_j ⊕ x, (tweak_hi, idx0 + j)) for j < n, where in_j
 * is the 16 bytes at in + 16 j and x is `xor16` (NULL: zero).  The tweak is the 128-bit
 * value idx0 + j (low word) ‖ tweak_hi (high word); callers make it unique per OT. */
void mpc_tccr(mpc_sym_kind kind, uint64_t *out, const uint8_t *in, const uint8_t *xor16,
              uint64_t tweak_hi, uint64_t idx0, size_t n);

/* Two full 128-bit TCCR outputs per input under two tweaks: for j < n, the 16 bytes at
 * outa + 16 j = TCCR(in_j ⊕ x, (tw_a, idx0 + j)) and at outb + 16 j = TCCR(in_j ⊕ x,
 * (tw_b, idx0 + j)), x = xor16 (NULL: zero) — the values of two mpc_tccr128 calls, byte for
 * byte.  The AES kind computes π(in_j ⊕ x) once for both: 3 AES per input instead of 4. */
void mpc_tccr2(mpc_sym_kind kind, uint8_t *outa, uint8_t *outb, const uint8_t *in, const uint8_t *xor16,
               uint64_t tw_a, uint64_t tw_b, uint64_t idx0, size_t n);

/* Full 128-bit TCCR of one block (tests). */
void mpc_tccr128(mpc_sym_kind kind, uint8_t out[16], const uint8_t in[16], uint64_t tweak_hi,
                 uint64_t idx);

/* Whether the AES TCCR uses VAES (two blocks per instruction; same results) where the CPU
 * has it: returns the current setting; set = 0 / 1 changes it (tests), -1 only asks. */
int mpc_sym_vaes(int set);

#endif
