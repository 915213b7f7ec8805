/* psi.h — the set-intersection part of the private join (docs/join.md): keys hashed to
 * points of Curve25519 under a per-job salt, blinded by a party's secret scalar with
 * X25519, and matched.
 *
 *   H(k)        = the Montgomery u-coordinate of R = ristretto255_from_hash(BLAKE2b-512
 *                 keyed by the salt, of the key's bytes): u = 1/s² for R's encoding s
 *   blind(u, a) = X25519(a, u) (crypto_scalarmult; a clamped, so a multiple of the
 *                 cofactor 8; written multiplicatively H(k)^a in docs/join.md)
 *
 * Since X25519(b, X25519(a, u)) = X25519(a, X25519(b, u)), two parties holding secret
 * scalars a and b can compare H(k)^{ab} with H(w)^{ba} without either learning the other's
 * keys (the DDH assumption in the prime-order subgroup, random oracle model).  Every point
 * that came from a peer is checked (canonical, on the curve, not of small order) and
 * refused with MPC_ERR_PROTOCOL otherwise.  Why x-only points and the cofactor are safe
 * here: docs/join.md.
 *
 * Points are 32-byte u-coordinates stored back to back (4 little-endian words each on the
 * wire).  The loops take an optional thread pool (par.h; NULL: the calling thread). */
#ifndef MPC_PSI_H
#define MPC_PSI_H

#include <stdint.h>

#include "par.h"

#define MPC_PSI_PTBYTES   32
#define MPC_PSI_SALTBYTES 32

/* A fresh random X25519 scalar (32 bytes) in sodium_malloc memory (NULL on failure); free it with
 * mpc_psi_scalar_free, which wipes it and sets *s to NULL (NULL accepted). */
uint8_t *mpc_psi_scalar_new(void);
void     mpc_psi_scalar_free(uint8_t **s);

/* The salt of one run: BLAKE2b-256 of a domain string, the caller's job salt and both
 * parties' fresh nonces (A's first), so a run never reuses another's hashes even when a
 * caller repeats its job salt. */
void mpc_psi_salt(uint8_t out[MPC_PSI_SALTBYTES], const uint8_t job_salt[MPC_PSI_SALTBYTES],
                  const uint8_t nonce_a[32], const uint8_t nonce_b[32]);

/* What a party sends in its hello so the peer can confirm that both hold the same job
 * salt: BLAKE2b-256 of a domain string, the job salt, the sender's fresh nonce and its role
 * (0: A, 1: B).  Without it, different salts would make every key miss and the join end
 * "successfully" with no match.  The nonce keeps the value from being the same in two runs
 * with one salt. */
void mpc_psi_salt_check(uint8_t out[32], const uint8_t job_salt[MPC_PSI_SALTBYTES],
                        const uint8_t nonce[32], uint32_t role);

/* Keys: key i is data[off[i] .. off[i+1]) (off has n + 1 entries, non-decreasing; checked).
 * 1 if two of the n keys are equal, 0 if not, MPC_ERR_INVALID (bad offsets) or
 * MPC_ERR_NOMEM.  Uses a locally keyed hash table; nothing leaves the process. */
int mpc_psi_has_dup(const uint8_t *data, const uint64_t *off, uint64_t n);

/* out[i] = scalar·H(key order[i]) under salt (order NULL: key i), n points.  0,
 * MPC_ERR_INVALID or MPC_ERR_CRYPTO. */
__attribute__((warn_unused_result))
int mpc_psi_hash_blind(uint8_t *out, const uint8_t *data, const uint64_t *off,
                       const uint32_t *order, uint64_t n,
                       const uint8_t salt[MPC_PSI_SALTBYTES], const uint8_t *scalar,
                       mpc_par *par);

/* out[i] = scalar·in[order[i]] (order NULL: in[i]) for n points received from a peer.
 * out and in must not overlap.  0, or MPC_ERR_PROTOCOL if a point is invalid. */
__attribute__((warn_unused_result))
int mpc_psi_blind(uint8_t *out, const uint8_t *in, const uint32_t *order, uint64_t n,
                  const uint8_t *scalar, mpc_par *par);

/* A caller's way to stop the two calls above midway: fn(ctx) is called before every block of
 * MPC_PSI_STOP_ROWS points (from any thread of the pool, so it must be thread-safe); a
 * non-zero result ends the call with that code, the output then incomplete. */
#define MPC_PSI_STOP_ROWS 64
typedef struct {
    int  (*fn)(void *ctx);
    void  *ctx;
} mpc_psi_stop;

/* mpc_psi_hash_blind and mpc_psi_blind with a stop check (stop NULL: none). */
__attribute__((warn_unused_result))
int mpc_psi_hash_blind_stop(uint8_t *out, const uint8_t *data, const uint64_t *off,
                            const uint32_t *order, uint64_t n,
                            const uint8_t salt[MPC_PSI_SALTBYTES], const uint8_t *scalar,
                            mpc_par *par, const mpc_psi_stop *stop);
__attribute__((warn_unused_result))
int mpc_psi_blind_stop(uint8_t *out, const uint8_t *in, const uint32_t *order, uint64_t n,
                       const uint8_t *scalar, mpc_par *par, const mpc_psi_stop *stop);

/* u[i] = the u-coordinate 1/s² of the Edwards point the Ristretto255 encoding s = r[i]
 * (from crypto_core_ristretto255_from_hash or another valid encoding) decodes to, for n
 * encodings of 32 bytes: the step of H(k) after the hash to the group.  Any of the four
 * points an encoding stands for gives the same X25519 results, since a clamped scalar
 * kills the 4-torsion.  An encoding of the identity (s = 0) makes u = 0 for the whole block
 * of 64 it falls in, which X25519 then refuses. */
void mpc_psi_ristretto_to_u(uint8_t *u, const uint8_t *r, uint64_t n);

/* 1 if u is a canonical (< 2^255 − 19) u-coordinate of a point of Curve25519 other than
 * (0, 0), 0 if not (a point of the twist, a non-canonical encoding, 0). */
int mpc_psi_u_ok(const uint8_t u[MPC_PSI_PTBYTES]);

/* For each probe j: pos[j] = the index i < n_list with list[i] == probe[j], or UINT64_MAX.
 * Returns the number of probes found (>= 0), MPC_ERR_PROTOCOL if the list holds a point
 * twice or two probes find the same entry (the peer broke the no-duplicates rule), or
 * MPC_ERR_NOMEM. */
int64_t mpc_psi_match(const uint8_t *list, uint64_t n_list, const uint8_t *probe,
                      uint64_t n_probe, uint64_t *pos);

#endif
