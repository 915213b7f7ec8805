/* baseot.h — base oblivious transfer: Chou–Orlandi "The Simplest Protocol for Oblivious
 * Transfer" (LATINCRYPT 2015, §3) over the Ristretto255 group of libsodium, producing random
 * 1-out-of-2 OTs of 32-byte keys in a batch (κ = 128 of them seed one OT extension).
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

/* Both moves over a transport: MPC_MSG_PREP messages on `stream`, the sender's A with
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
