/* auth_bits.h — authenticated random bits and random values in Z_2^64 under SPDZ2k (auth.h),
 * made from any authenticated material source (auth_dealer.h, auth_ot.h) by the parties
 * together; the malicious engine's truncation takes its randomness from here
 * (docs/security.md, "Random bits and truncation under MACs").
 *
 * Bits (mpc_auth_bits), for N bits at once:
 *   1. inputs  every party p draws N random bits β_p (libsodium) and enters them by the
 *              authenticated input protocol: a mask [r_p] whose value only p knows (the
 *              source's masks of owner p), δ_p = β_p − r_p mod 2^128 sent to every peer
 *              (MPC_MSG_OPEN, seq `seq`; every party hashes every δ_p into the MAC check's
 *              broadcast transcript), [b_p] = [r_p] + δ_p;
 *   2. XOR     b = b_0 ⊕ … ⊕ b_(n−1), pairwise in a tree, x ⊕ y = x + y − 2·x·y with one
 *              authenticated Beaver product per pair (d, e opened, 128-bit, seq + 1 + level);
 *   3. check   [z] = [b·b] − [b] (one more product, seq + 1 + levels), and z is added to
 *              the MAC check as a value that must be 0 (it is never opened).
 * The caller must run the MAC check (mpc_mac_check_run) and see it pass BEFORE anything that
 * depends on the bits is opened: until then a corrupt party's non-bit input is unknown to be
 * one.  Why the check suffices: as polynomials x ⊕ y is associative, so b = h ⊕ w exactly in
 * Z_2^128, h the XOR of the honest parties' bits (an exact, uniform bit) and w that of the
 * corrupt ones (whatever they entered); for h ∈ {0, 1}, (h ⊕ w)(h ⊕ w − 1) = w(w − 1), so z
 * does not depend on h, and the check passes (except with the MAC check's error, about
 * 2^-58) only if w(w − 1) ≡ 0 mod 2^64; one of w, w − 1 is odd, so w ≡ 0 or 1 mod 2^64 and
 * b mod 2^64 = h ⊕ w is a uniform bit nobody knows.
 * Cost per bit: n masks and n triples (n − 1 for the XOR, 1 for the check), 16(n − 1) bytes of
 * δ and 32(n − 1)·n bytes of openings sent per party, 2 + ⌈log2 n⌉ rounds for a whole batch.
 *
 * Random values (mpc_auth_random): [R] = Σ_p [r_p] over a mask of every owner p: uniform in
 * Z_2^128 and unknown to any n − 1 parties; no messages beyond the source's. */
#ifndef MPC_AUTH_BITS_H
#define MPC_AUTH_BITS_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "transport.h"

typedef struct {
    mpc_transport      *t;
    mpc_auth_src       *src;
    mpc_mac_check      *ck;         /* the openings and the zero checks go here */
    const mpc_auth_key *key;
    uint64_t            stream;
    int                 timeout_ms;
    uint32_t            layer;      /* the engine's layer: names the site of test faults (fault.h) */
} mpc_auth_bits_ctx;

typedef struct {
    uint64_t masks, triples;   /* material consumed */
    uint64_t opened;           /* values opened (into the MAC check) */
    uint64_t bytes_sent;       /* payload bytes sent to all peers */
    uint64_t prep_us;          /* time in the material source */
    uint64_t checks, check_us; /* MAC checks run and passed (auth_cmp.h), time in them */
} mpc_auth_bits_stats;

/* z = x·y for N pairs with N fresh authenticated triples of cx->src (one round): d = x − a and
 * e = y − b opened in one MPC_MSG_OPEN message per peer (seq), z = c + d·b + e·a (+ d·e on
 * party 0), MAC shares mc + d·mb + e·ma + α_i·d·e; the openings go into the MAC check.  z may
 * not overlap x or y. */
__attribute__((warn_unused_result))
int mpc_auth_mul(const mpc_auth_bits_ctx *cx, uint64_t seq, uint64_t N, const mpc_u128 *x, const mpc_u128 *xm,
                 const mpc_u128 *y, const mpc_u128 *ym, mpc_u128 *z, mpc_u128 *zm, mpc_auth_bits_stats *st,
                 char *err, size_t errlen);

/* Rounds (message seq numbers from seq) of one mpc_auth_bits call for n parties. */
uint32_t mpc_auth_bits_rounds(uint32_t n);

/* N authenticated random bits: value shares bx[0..N) and MAC shares bm[0..N), every party
 * with the same N and seq in the same order.  Adds to *st (may be NULL).  0, or MPC_ERR_*
 * with the reason in err naming the peer (never a value). */
__attribute__((warn_unused_result))
int mpc_auth_bits(const mpc_auth_bits_ctx *cx, uint64_t seq, uint64_t N, mpc_u128 *bx, mpc_u128 *bm,
                  mpc_auth_bits_stats *st, char *err, size_t errlen);

/* N authenticated uniform values of Z_2^128 nobody knows (above). */
__attribute__((warn_unused_result))
int mpc_auth_random(const mpc_auth_bits_ctx *cx, uint64_t N, mpc_u128 *x, mpc_u128 *m, mpc_auth_bits_stats *st,
                    char *err, size_t errlen);

#endif
