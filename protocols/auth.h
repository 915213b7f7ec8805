/* auth.h — SPDZ2k authenticated shares (Cramer, Damgård, Escudero, Scholl, Xing, CRYPTO 2018)
 * with k = 64, s = 64, and the batched MAC check of their openings (docs/security.md,
 * "Malicious security (SPDZ2k)").
 *
 * A value x of Z_2^64 is held as shares x_i of Z_2^128 (the sum x~ = Σx_i mod 2^128 satisfies
 * x~ ≡ x mod 2^64; the upper 64 bits are slack) with MAC shares m_i, Σm_i = α·x~ mod 2^128 for
 * the global MAC key α ∈ Z_2^64, itself additively shared (α_i ∈ Z_2^128).  Linear operations
 * are local; multiplication uses authenticated Beaver triples (engine_mal.h).
 *
 * Openings.  A value is opened by every party sending its share x_i (two little-endian words,
 * low word first) to every peer and summing mod 2^128.  The MAC of an opened value is NOT
 * checked at once: every opened value y_j and this party's MAC share m_j are handed to an
 * mpc_mac_check, which later checks all of them with one random linear combination:
 *   seed  every party commits to a random 32-byte seed contribution before the openings it
 *         will cover (the first commitment is sent by mpc_mac_check_begin, each later one
 *         with the previous check's verdict), then opens it; seed = H(all contributions);
 *   χ_j   64-bit coefficients from the PRG under that seed (χ ∈ Z_2^s);
 *   σ_i   = Σχ_j·m_j − α_i·Σχ_j·y_j  mod 2^128, committed to, then opened;
 *   pass  iff Σσ_i = 0 mod 2^128 (an additive error on an opened value that changes its low
 *         64 bits, the value, passes with probability at most about 2^-(s-6); an error in the
 *         upper, slack bits alone may pass — 2^127 does with probability 3/4 — and changes
 *         no value: SPDZ2k guarantees correctness mod 2^k, docs/security.md),
 *         every commitment opens, and every party hashed the same input broadcasts
 *         (mpc_mac_check_bcast).
 *   verdict a last round in which every party sends its verdict and a hash of every check
 *         message it received; a party passes only if its own check, every peer's verdict and
 *         every hash agree.  So an honest party never passes a check another honest party
 *         failed, and a party that sends different values to different peers is caught.
 * Any failure yields MPC_ERR_CRYPTO with "MAC check failed ..." (never a value); the MAC key
 * must then be discarded (a failed check can leak information about α).
 *
 * Messages of a check use type MPC_MSG_CONTROL on the job's stream, seq = seq_base + 4c + r
 * for check c and r = 0 (verdict of check c−1 and the seed commitment of check c), 1 (seed
 * and the broadcast hash), 2 (commitment to σ_i), 3 (σ_i). */
#ifndef MPC_AUTH_H
#define MPC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "transport.h"

typedef unsigned __int128 mpc_u128;

#define MPC_MAX_PARTIES_AUTH 16   /* parties of a job (circuit.h: MPC_MAX_PARTIES) */

/* ---- local operations on authenticated vectors (x: value shares, m: MAC shares) ----
 * Operands of length 1 broadcast to n, as in share.h. */
void mpc_auth_add(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                  const mpc_u128 *yx, const mpc_u128 *ym, uint64_t ny, uint64_t n);
void mpc_auth_sub(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                  const mpc_u128 *yx, const mpc_u128 *ym, uint64_t ny, uint64_t n);
void mpc_auth_neg(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                  uint64_t n);
/* z = x + k for public k ∈ Z_2^64: the designated party (nonzero `designated`) adds k to its
 * value share, every party adds alpha_i·k to its MAC share. */
void mpc_auth_add_pub(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                      const uint64_t *k, uint64_t nk, uint64_t n, mpc_u128 alpha_i, int designated);
/* The same with a 128-bit public constant (an opened value). */
void mpc_auth_add_pub128(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm,
                         const mpc_u128 *k, uint64_t n, mpc_u128 alpha_i, int designated);
/* z = x · k for public k ∈ Z_2^64 (value and MAC shares alike). */
void mpc_auth_mul_pub(mpc_u128 *zx, mpc_u128 *zm, const mpc_u128 *xx, const mpc_u128 *xm, uint64_t nx,
                      const uint64_t *k, uint64_t nk, uint64_t n);

/* An array of n elements for shares (free() it).  Large arrays (4 MiB and more) are 2 MiB
 * aligned and advised for transparent huge pages: the engine's per-round buffers are fresh
 * memory, and on a virtual machine a page fault per 4 KiB page was the largest cost of a
 * round of a million multiplications.  NULL on failure. */
mpc_u128 *mpc_auth_alloc(uint64_t n);

/* Wipes n words of p and frees it (NULL accepted). */
void mpc_auth_wipe_free(mpc_u128 *p, uint64_t n);


/* ---- the MAC key share ---- */

/* This party's share α_i of the MAC key, in sodium_malloc memory, wiped by free. */
typedef struct {
    mpc_u128 *alpha;
} mpc_auth_key;

/* 0 or MPC_ERR_NOMEM; the share is zero until the caller (a material source) sets it. */
int  mpc_auth_key_init(mpc_auth_key *k);
void mpc_auth_key_free(mpc_auth_key *k);

/* ---- openings ---- */

/* Sends mine[0..n-1] (MPC_MSG_OPEN or any type, on `stream` with `seq`) to every peer and
 * sets sum[k] = Σ over all parties mod 2^128 (sum may equal mine).  0 or the transport's
 * MPC_ERR_* with *peer set to the peer it failed on (MPC_ABORT_NO_PARTY: a send or memory). */
int mpc_auth_exchange(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq,
                      const mpc_u128 *mine, mpc_u128 *sum, uint64_t n, int timeout_ms, uint32_t *peer);

/* The same, in place (v: this party's shares in, the sums out) and in slices of `slice`
 * elements: slice s is message seq | s << 32 (seq < 2^32; an empty v is one empty message),
 * and up to `window` slices go to every peer before slice s is received from each.  Large
 * openings so overlap sending with receiving and summing, and need one slice of receive
 * buffer instead of a copy of the whole vector (engine_mal's layers; docs/security.md).
 * 0, MPC_ERR_INVALID (seq ≥ 2^32, slice or window 0), MPC_ERR_NOMEM or the transport's
 * error with *peer set. */
int mpc_auth_exchange_sliced(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, mpc_u128 *v,
                             uint64_t n, uint64_t slice, uint32_t window, int timeout_ms, uint32_t *peer);

/* Sends w (words words) to every peer as message (type, stream, seq) and receives each peer's
 * message of the same length into rx + j·words (its own w at rx + self·words).  0 or the
 * transport's MPC_ERR_* with *peer set. */
int mpc_auth_round_all(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, const uint64_t *w,
                       uint64_t words, uint64_t *rx, int timeout_ms, uint32_t *peer);

/* Joint random coins by commit-then-open among all t->n parties: each party commits
 * (BLAKE2b of a domain tag, a 32-byte nonce and the value) to a random 32-byte contribution,
 * sends the commitment to every peer (message `seq`), then opens it (message seq + 1);
 * seed = BLAKE2b(every contribution in party order).  No party can bias the seed once it has
 * seen the others' commitments.  A party that sends different contributions to different
 * peers makes the seeds differ: callers put the seed into a MAC check's broadcast transcript
 * (mpc_mac_check_bcast), which catches that.  0, MPC_ERR_CRYPTO ("coin: party j's
 * contribution does not match its commitment" in err) or a transport error with *peer set. */
int mpc_auth_coin(mpc_transport *t, uint8_t type, uint64_t stream, uint64_t seq, uint8_t seed[32],
                  int timeout_ms, uint32_t *peer, char *err, size_t errlen);

/* ---- the batched MAC check ---- */

typedef struct mpc_mac_check mpc_mac_check;

/* A check state for party t->self on `stream`, its messages at seq_base + 4c + r.  NULL on
 * allocation failure. */
mpc_mac_check *mpc_mac_check_new(mpc_transport *t, uint64_t stream, uint64_t seq_base, int timeout_ms);
/* Wipes and frees everything held (opened values, MAC shares, seeds); sets *ck to NULL. */
void mpc_mac_check_free(mpc_mac_check **ck);

/* Sends the commitment to the first seed contribution to every peer and receives theirs.  Call
 * it before the first opening the check covers (a peer's messages are received in the order
 * it sent them, so at the same point of the job at every party).  0 or MPC_ERR_*. */
int mpc_mac_check_begin(mpc_mac_check *ck, char *err, size_t errlen);

/* Hands n opened values y (public, the same at every honest party) and this party's MAC
 * shares m of them to the check, which takes ownership of both malloc'ed arrays (freed, m
 * wiped, after the next check).  On failure (MPC_ERR_NOMEM) both are freed. */
int mpc_mac_check_add(mpc_mac_check *ck, mpc_u128 *y, mpc_u128 *m, uint64_t n);

/* Adds a broadcast value (words sent by `owner` to every party as its message `seq`) to the
 * broadcast transcript: every party must call it with the same arguments in the same order
 * (the owner with what it sent), and the next check fails if any two parties' transcripts
 * differ. */
void mpc_mac_check_bcast(mpc_mac_check *ck, uint32_t owner, uint64_t seq, const uint64_t *w, uint64_t words);

/* Opened values held since the last check. */
uint64_t mpc_mac_check_pending(const mpc_mac_check *ck);

/* Checks every value added since the last check with key share `key` (the rounds above).
 * 0: all parties passed, the values are dropped and the next check's seed is committed;
 * MPC_ERR_CRYPTO: "MAC check failed" with the reason in err (the caller must abort and
 * discard the key); other MPC_ERR_* codes for transport failures, *peer naming the peer
 * (MPC_ABORT_NO_PARTY if none). */
int mpc_mac_check_run(mpc_mac_check *ck, const mpc_auth_key *key, uint32_t *peer, char *err, size_t errlen);

/* ---- authenticated material ----
 * A source of this party's shares of the MAC key, authenticated Beaver triples and
 * authenticated masks.  Every party of a job must make the same calls in the same order.
 *   triple k: (a, ma), (b, mb), (c, mc), a and b uniform in Z_2^128, c~ = a~·b~ mod 2^128,
 *             every MAC share pair sums to α times the value;
 *   mask k of owner p: (x, m) with x~ uniform in Z_2^128; party p also gets the value x~
 *             (val), the others pass val = NULL.
 * Sources: protocols/auth_ot.h (the parties make the material by OT, with the KOS15 check,
 * the sacrifice and a MAC check; docs/security.md) and protocols/auth_dealer.h (test-only). */
typedef struct {
    mpc_u128 *a, *ma, *b, *mb, *c, *mc;
} mpc_auth_triples;

typedef struct mpc_auth_src mpc_auth_src;

struct mpc_auth_src_ops {
    /* Sets key->alpha[0] to this party's MAC key share. */
    int  (*key)(mpc_auth_src *s, mpc_auth_key *key);
    int  (*triples)(mpc_auth_src *s, uint64_t n, mpc_auth_triples *out);
    int  (*masks)(mpc_auth_src *s, uint32_t owner, uint64_t n, mpc_u128 *x, mpc_u128 *m, mpc_u128 *val);
    void (*destroy)(mpc_auth_src **s);
};

struct mpc_auth_src {
    const struct mpc_auth_src_ops *ops;
    void     *impl;
    uint32_t  self, n;
    uint64_t  triples_out, masks_out;   /* handed out so far */
};

#define MPC_AUTH_MAX_BATCH (1ull << 28)   /* elements in one triples or masks call */

/* Calls the source after checking the arguments (n <= MPC_AUTH_MAX_BATCH, owner < s->n, val
 * given exactly when owner == s->self) and counts what it handed out. */
__attribute__((warn_unused_result))
int mpc_auth_src_key(mpc_auth_src *s, mpc_auth_key *key);
__attribute__((warn_unused_result))
int mpc_auth_src_triples(mpc_auth_src *s, uint64_t n, mpc_auth_triples *out);
__attribute__((warn_unused_result))
int mpc_auth_src_masks(mpc_auth_src *s, uint32_t owner, uint64_t n, mpc_u128 *x, mpc_u128 *m, mpc_u128 *val);
void mpc_auth_src_destroy(mpc_auth_src **s);

#endif
