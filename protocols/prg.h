/* prg.h — the pseudo-random generator every share expansion uses: ChaCha20 (the original
 * variant: 64-bit nonce, 64-bit block counter; libsodium crypto_stream_chacha20) keyed by a
 * 32-byte seed.  A stream id is the nonce and a position (in uint64 elements) selects the
 * block counter, so out[k] = the (pos + k)-th little-endian word of the key stream.
 *
 * Rule: never expand the same (seed, stream, position) twice for different material.  Seeds
 * are fresh per job (output zero-sharing keys, client seeds) or per batch (dealer), and each
 * kind of material has its own stream id (MPC_PRG_STREAM), so positions start at 0 within a
 * stream. */
#ifndef MPC_PRG_H
#define MPC_PRG_H

#include <stdint.h>

#define MPC_PRG_SEEDBYTES 32
#define MPC_PRG_SEEDWORDS (MPC_PRG_SEEDBYTES / 8)

/* Stream domains (top byte of the stream id); the low 56 bits carry an index. */
enum {
    MPC_PRG_D_INPUT = 1,     /* reserved (parties once shared inputs among themselves) */
    MPC_PRG_D_CLIENT = 2,    /* a client's compressed share (SEED mode); index = circuit input */
    MPC_PRG_D_TRIPLE_A = 3,  /* dealer material, index 0 */
    MPC_PRG_D_TRIPLE_B = 4,
    MPC_PRG_D_TRIPLE_C = 5,
    MPC_PRG_D_TRUNC_LO = 6,
    MPC_PRG_D_TRUNC_MID = 7,
    MPC_PRG_D_TRUNC_MSB = 8,
    MPC_PRG_D_TEST = 9,      /* test-only derivations */
    MPC_PRG_D_OUTZERO = 10,  /* pairwise zero-sharing of output shares; index = output */
    MPC_PRG_D_DATASET = 11,  /* a client's compressed share of a dataset chunk; index = chunk */
    MPC_PRG_D_INZERO = 12,   /* pairwise zero-sharing re-randomizing a stored input; index = input */
    MPC_PRG_D_OSN = 13,      /* an OSN run's wire masks (protocols/osn.c); index = boundary */
    MPC_PRG_D_JOIN = 14,     /* the private join's indicator sharing and shuffles (join.c) */
    MPC_PRG_D_CONTRIB = 15,  /* a contributor's compressed share in the field (docs/contributions.md); index 0 */
    MPC_PRG_D_AUTHOT = 16,   /* auth_ot.c's coefficients under a joint coin: index 0 χ, 1 t, 2 r */
};
#define MPC_PRG_STREAM(domain, index) \
    (((uint64_t)(domain) << 56) | ((uint64_t)(index) & 0x00ffffffffffffffull))

/* out[0..n-1] = words pos .. pos+n-1 of the stream (seed, stream).  0, or MPC_ERR_INVALID if
 * pos + n overflows the 2^64-block counter space. */
__attribute__((warn_unused_result))
int mpc_prg_expand(uint64_t *out, uint64_t n, const uint8_t seed[MPC_PRG_SEEDBYTES],
                   uint64_t stream, uint64_t pos);

/* A fresh uniformly random seed in sodium_malloc memory (NULL on failure); free it with
 * mpc_prg_seed_free, which wipes it and sets *s to NULL (NULL accepted). */
uint8_t *mpc_prg_seed_new(void);
void     mpc_prg_seed_free(uint8_t **s);

/* A seed copied from `src` into sodium_malloc memory (NULL on failure). */
uint8_t *mpc_prg_seed_dup(const uint8_t src[MPC_PRG_SEEDBYTES]);

#endif
