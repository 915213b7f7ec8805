/* psi.h — the set-intersection part of the private join (docs/join.md): keys hashed to
 * Ristretto255 points under a per-job salt, blinded by a party's secret scalar, and matched.
 *
 *   H(k)        = ristretto255_from_hash(BLAKE2b-512 keyed by the salt, of the key's bytes)
 *   blind(P, a) = a·P (crypto_scalarmult_ristretto255; written multiplicatively H(k)^a in
 *                 docs/join.md)
 *
 * Since a·(b·P) = b·(a·P), two parties holding secret scalars a and b can compare H(k)^{ab}
 * with H(w)^{ba} without either learning the other's keys (the DDH assumption in the random
 * oracle model).  Every point that came from a peer is decoded and checked by libsodium; an
 * invalid encoding or the identity is refused with MPC_ERR_PROTOCOL.
 *
 * Points are 32-byte encodings stored back to back (4 little-endian words each on the wire).
 * The loops take an optional thread pool (par.h; NULL: the calling thread). */
#ifndef MPC_PSI_H
#define MPC_PSI_H

#include <stdint.h>

#include "par.h"

#define MPC_PSI_PTBYTES   32
#define MPC_PSI_SALTBYTES 32

/* A fresh random non-zero scalar in sodium_malloc memory (NULL on failure); free it with
 * mpc_psi_scalar_free, which wipes it and sets *s to NULL (NULL accepted). */
uint8_t *mpc_psi_scalar_new(void);
void     mpc_psi_scalar_free(uint8_t **s);

/* The salt of one run: BLAKE2b-256 of a domain string, the caller's job salt and both
 * parties' fresh nonces (A's first), so a run never reuses another's hashes even when a
 * caller repeats its job salt. */
void mpc_psi_salt(uint8_t out[MPC_PSI_SALTBYTES], const uint8_t job_salt[MPC_PSI_SALTBYTES],
                  const uint8_t nonce_a[32], const uint8_t nonce_b[32]);

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

/* For each probe j: pos[j] = the index i < n_list with list[i] == probe[j], or UINT64_MAX.
 * Returns the number of probes found (>= 0), MPC_ERR_PROTOCOL if the list holds a point
 * twice or two probes find the same entry (the peer broke the no-duplicates rule), or
 * MPC_ERR_NOMEM. */
int64_t mpc_psi_match(const uint8_t *list, uint64_t n_list, const uint8_t *probe,
                      uint64_t n_probe, uint64_t *pos);

#endif
