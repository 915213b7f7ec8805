/* baseot.h — base oblivious transfer: Chou–Orlandi "The Simplest Protocol for Oblivious
 * Transfer" (LATINCRYPT 2015, §3) over the Ristretto255 group of libsodium, producing random
 * 1-out-of-2 OTs of 32-byte keys in a batch (κ = 128 of them seed one OT extension); and
 * Masny–Rindal's endemic OT (below) for malicious security.
 *
 *   sender:   a ← Z_L, A = a·G                                   →  A        (32 bytes)
 *   receiver: per OT i with choice c_i: b_i ← Z_L,
 *             B_i = b_i·G + c_i·A,   k_{c_i} = H(i, A, B_i, b_i·A) →  B_1..B_n (32 n bytes)
 *   sender:   k0_i = H(i, A, B_i, a·B_i),  k1_i = H(i, A, B_i, a·B_i − a·A)
 *
 * H is BLAKE2b-256 over a domain string, the session id, the (sender, receiver, purpose)
 * of the batch and the OT index, so keys of different pairs, directions, sessions and
 * indices never collide.  Every group operation on received points is checked: invalid
 * encodings and identity results are refused with MPC_ERR_CRYPTO.  Security: semi-honest
 * (the receiver's choices are perfectly hidden; the unchosen key is hidden under CDH in the
 * random-oracle model).  One run = one round trip; nothing here is ever reused. */
#ifndef MPC_BASEOT_H
#define MPC_BASEOT_H

#include <stddef.h>
#include <stdint.h>

#include "transport.h"

#define MPC_BASEOT_PTBYTES   32   /* a Ristretto255 element */
#define MPC_BASEOT_KEYBYTES  32   /* an OT output key */
#define MPC_BASEOT_MAX       4096 /* OTs in one batch */

typedef struct {
    uint8_t  sid[32];    /* session id both ends agree on */
    uint32_t sender;     /* party index of the base-OT sender */
    uint32_t receiver;   /* party index of the base-OT receiver */
    uint32_t purpose;    /* a tag separating batches of the same pair (e.g. direction) */
    uint32_t endemic;    /* mpc_baseot_run_*: 1 = Masny–Rindal endemic OT (below), 0 = Chou–Orlandi */
} mpc_baseot_ctx;

typedef struct mpc_baseot_sender mpc_baseot_sender;

/* Sender, first move: a fresh secret a (sodium_malloc) and A = a·G into A_out.  NULL on
 * failure. */
mpc_baseot_sender *mpc_baseot_sender_new(uint8_t A_out[MPC_BASEOT_PTBYTES]);

/* Sender, second move: from the receiver's B (n points), the keys k0, k1 (n × 32 bytes
 * each).  0, MPC_ERR_INVALID, MPC_ERR_CRYPTO (a bad point from the receiver). */
__attribute__((warn_unused_result))
int mpc_baseot_sender_finish(mpc_baseot_sender *s, const mpc_baseot_ctx *ctx,
                             const uint8_t *B, size_t n, uint8_t *k0, uint8_t *k1);

/* Wipes and frees; sets *s to NULL (NULL accepted). */
void mpc_baseot_sender_destroy(mpc_baseot_sender **s);

/* Receiver: from A and the choice bits (bit i = choices[i/8] >> (i%8) & 1), the points B
 * to send (n × 32 bytes) and the chosen keys (n × 32), with fresh random scalars b_i.
 * 0, MPC_ERR_INVALID, MPC_ERR_CRYPTO (A invalid or degenerate). */
__attribute__((warn_unused_result))
int mpc_baseot_receive(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES],
                       const uint8_t *choices, size_t n, uint8_t *B, uint8_t *keys);

/* The same with the scalars b_i given (n × 32 bytes, reduced ristretto255 scalars): the
 * receiver's randomness as an argument, so the computation can be replayed (tests play a
 * curious receiver who knows its b_i).  The OT is only as secret as the scalars are random;
 * a zero scalar is refused (MPC_ERR_CRYPTO); NULL scalars: MPC_ERR_INVALID. */
__attribute__((warn_unused_result))
int mpc_baseot_receive_with(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES],
                            const uint8_t *choices, size_t n, const uint8_t *scalars,
                            uint8_t *B, uint8_t *keys);

/* The key derivation H (exposed for tests). */
void mpc_baseot_kdf(uint8_t out[MPC_BASEOT_KEYBYTES], const mpc_baseot_ctx *ctx, uint64_t idx,
                    const uint8_t A[32], const uint8_t B[32], const uint8_t P[32]);

/* ---- Masny–Rindal endemic OT (Masny, Rindal, "Endemic Oblivious Transfer", CCS 2019, the
 * OT from a key agreement with uniform public keys, here Diffie–Hellman over Ristretto255),
 * secure against malicious parties in the random-oracle model; what security = malicious
 * uses (docs/security.md, "Base OTs").  Per OT i, receiver with choice c:
 *
 *   receiver: b ← Z_L, P = b·G; r_{1−c} ← G uniform; r_c = P − H_G(i, 1−c, r_{1−c})
 *                                                                →  (r_0, r_1)  (64 bytes)
 *   sender:   a ← Z_L, A = a·G                                   →  A           (32 bytes)
 *             pk_j = r_j + H_G(i, 1−j, r_{1−j}),  k_j = H(i, j, A, r_0, r_1, a·pk_j)
 *   receiver: k_c = H(i, c, A, r_0, r_1, b·A)
 *
 * H_G is hash-to-group (BLAKE2b-512 into crypto_core_ristretto255_from_hash), H BLAKE2b-256,
 * both over a domain string, the session id, sender, receiver, purpose and i.  (r_0, r_1) is
 * a uniform pair whatever c is, so the choice is hidden perfectly; a receiver knows the
 * discrete logarithm of at most one pk_j, since fixing either r fixes the other's
 * random-oracle offset.  The two messages are independent: both go at once (one message
 * latency, not two).  Keys may be influenced by a corrupt party ("endemic"), which random
 * base OTs for an OT extension allow. */

/* Receiver, first move: per OT the pair (r_0, r_1) into R (n × 64 bytes) and its secret scalar
 * into sk (n × 32 bytes; the caller's guarded memory, wiped by the caller).  0,
 * MPC_ERR_INVALID, MPC_ERR_CRYPTO. */
__attribute__((warn_unused_result))
int mpc_baseot_mr_choose(const mpc_baseot_ctx *ctx, const uint8_t *choices, size_t n, uint8_t *R, uint8_t *sk);

/* Receiver, second move: from the sender's A, the chosen keys (n × 32).  MPC_ERR_CRYPTO for
 * an invalid or identity A. */
__attribute__((warn_unused_result))
int mpc_baseot_mr_keys(const mpc_baseot_ctx *ctx, const uint8_t A[MPC_BASEOT_PTBYTES], const uint8_t *choices,
                       size_t n, const uint8_t *R, const uint8_t *sk, uint8_t *keys);

/* Sender (A from mpc_baseot_sender_new): from the receiver's pairs R (n × 64 bytes) the keys
 * k0, k1.  MPC_ERR_CRYPTO for an invalid point or an identity key point. */
__attribute__((warn_unused_result))
int mpc_baseot_mr_sender_finish(mpc_baseot_sender *s, const mpc_baseot_ctx *ctx, const uint8_t *R, size_t n,
                                uint8_t *k0, uint8_t *k1);

/* H_G (exposed for tests): the group element of OT idx, slot `slot`, point r. */
void mpc_baseot_mr_hash_to_group(uint8_t out[MPC_BASEOT_PTBYTES], const mpc_baseot_ctx *ctx, uint64_t idx,
                                 unsigned slot, const uint8_t r[MPC_BASEOT_PTBYTES]);

/* Both moves over a transport (ctx->endemic chooses the protocol): MPC_MSG_PREP messages on `stream`, the sender's A with
 * sequence number `seq` to the receiver, the receiver's B with `seq` back.  ctx->sender /
 * ctx->receiver must be t->self and `peer` in the right order.  Errors as above plus the
 * transport's. */
__attribute__((warn_unused_result))
int mpc_baseot_run_sender(mpc_transport *t, uint32_t peer, uint64_t stream, uint64_t seq,
                          const mpc_baseot_ctx *ctx, size_t n, uint8_t *k0, uint8_t *k1,
                          int timeout_ms);
__attribute__((warn_unused_result))
int mpc_baseot_run_receiver(mpc_transport *t, uint32_t peer, uint64_t stream, uint64_t seq,
                            const mpc_baseot_ctx *ctx, const uint8_t *choices, size_t n,
                            uint8_t *keys, int timeout_ms);

#endif
