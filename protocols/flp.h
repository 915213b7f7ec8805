/* flp.h — zero-knowledge validity proofs on secret-shared contributions: a fully linear PCP
 * (Boneh, Boyle, Corrigan-Gibbs, Gilboa, Ishai, CRYPTO 2019) for "each of D elements lies in
 * [lo, hi]" and optionally "the sum of the squares is at most B", over the field of
 * protocols/field61.h, in the shape Prio3 uses (one ParallelSum-of-Mul gadget, joint
 * randomness bound to the client's shares, query randomness known only to the verifiers).
 * docs/validity.md describes the encoding, the circuit, the proof, what each party sends and
 * hashes, the soundness and zero-knowledge statements and the measured cost.
 *
 * Two layers:
 *   - the proof system on field-element vectors (mpc_flp_encode, _prove, _query, _decide,
 *     _output): the caller supplies the joint randomness and the query point;
 *   - the report layer (mpc_flp_shard, _prep, _prep_decide) on byte strings, what a client
 *     sends and what the daemons exchange: it derives the joint randomness from the client's
 *     shares (Fiat-Shamir), checks the client used it, and derives the query point from a
 *     verification key the daemons share.  Every byte a daemon gets is checked here.
 *
 * All functions are reentrant: they allocate their scratch memory and wipe it before freeing
 * (it holds shares or, on the client, the measurement). */
#ifndef MPC_FLP_H
#define MPC_FLP_H

#include <stddef.h>
#include <stdint.h>

#define MPC_FLP_SEEDBYTES 32
#define MPC_FLP_NONCEBYTES 16
#define MPC_FLP_KEYBYTES 32
#define MPC_FLP_MAX_PARTIES 16
/* Independent proofs of one contribution (docs/validity.md, "Soundness": 2 is the default the
 * service should use with this 61-bit field). */
#define MPC_FLP_MAX_PROOFS 8
/* Limits on the circuit (mpc_flp_init refuses more). */
#define MPC_FLP_MAX_DIM (UINT64_C(1) << 24)
#define MPC_FLP_MAX_ABS (INT64_C(1) << 40)
/* Derived-entry terms of one circuit, at most. */
#define MPC_FLP_MAX_TERMS 8

/* A term of derived entries (docs/validity.md, "Derived entries"): products of the
 * contribution's own elements that the client appends to its measurement and the proof shows
 * to be exact.  With each = 1 it is n entries x[a+k]·x[b+k] (k = 0..n-1); with each = 0 one
 * entry, the sum of those n products (a dot product).  a + n and b + n are at most dim. */
typedef struct {
    uint64_t a, b, n;
    uint64_t each;
} mpc_flp_term;

/* The validity circuit and the sizes derived from it (filled by mpc_flp_init; read-only). */
typedef struct {
    uint64_t dim;           /* D elements */
    int64_t lo, hi;         /* each element in [lo, hi] */
    uint64_t l2_bound;      /* B; 0: no norm check */
    unsigned bits;          /* b bits per element */
    unsigned norm_bits;     /* bits of the norm slack (0 without the norm check) */
    uint64_t top_weight;    /* weight of an element's top bit (the others weigh 2^k) */
    uint64_t norm_top_weight;
    unsigned n_terms;       /* derived-entry terms (mpc_flp_init_derived) */
    mpc_flp_term terms[MPC_FLP_MAX_TERMS];
    uint64_t n_derived;     /* derived entries: the sum over the terms of n (each) or 1 */
    uint64_t n_products;    /* products they take: the sum over the terms of n */
    uint64_t bit_len;       /* D*b + norm_bits: the measurement's bits */
    uint64_t meas_len;      /* bit_len + n_derived field elements (the derived entries last) */
    uint64_t out_len;       /* D + n_derived: what mpc_flp_output writes */
    uint64_t chunk;         /* L: Mul gadgets in one ParallelSum call */
    uint64_t calls_range;   /* gadget calls of the bit checks: ceil(meas_len / L) */
    uint64_t calls_norm;    /* gadget calls of the norm: ceil(D / L) or 0 */
    uint64_t calls_derived; /* gadget calls of the derived entries' products: ceil(n_products / L) */
    uint64_t calls;         /* M = calls_range + calls_norm + calls_derived */
    unsigned log_p;         /* wire polynomials are interpolated on 2^log_p >= M + 1 points */
    uint64_t npts;          /* 2^log_p */
    unsigned proofs;        /* independent proofs, each with its own joint and query randomness */
    uint64_t proof1_len;    /* one proof: 2L wire seeds + 2*npts - 1 gadget polynomial coefficients */
    uint64_t verifier1_len; /* one proof's message: 1 (circuit output) + 2L (wires at t) + 1 (p(t)) */
    uint64_t jr1_len;       /* one proof's joint randomness: r_1..r_calls_range, rho, then one
                               rho_e per derived entry */
    uint64_t proof_len, verifier_len, jr_len;   /* proofs times the above */
} mpc_flp;

/* Fills f for D = dim elements in [lo, hi] (lo < hi, |lo|, |hi| <= MPC_FLP_MAX_ABS,
 * 1 <= dim <= MPC_FLP_MAX_DIM) and, when l2_bound > 0, sum of squares <= l2_bound, proved
 * `proofs` times (1..MPC_FLP_MAX_PROOFS).  0, or MPC_ERR_INVALID (also when
 * D * max(lo^2, hi^2) + B could wrap the field). */
int mpc_flp_init(mpc_flp *f, uint64_t dim, int64_t lo, int64_t hi, uint64_t l2_bound,
                 unsigned proofs);

/* mpc_flp_init with derived entries: terms[0..n_terms-1] (n_terms <= MPC_FLP_MAX_TERMS; each
 * term's n >= 1 and within dim, and n * max(lo^2, hi^2) below (p - 1)/2, so an entry is exact
 * as a signed value).  The measurement then ends with the n_derived entries, the output has
 * out_len elements (the D values, then the entries) and the circuit also checks
 * sum over the entry's products - entry = 0 for each, with its own joint randomness. */
int mpc_flp_init_derived(mpc_flp *f, uint64_t dim, int64_t lo, int64_t hi, uint64_t l2_bound,
                         const mpc_flp_term *terms, unsigned n_terms, unsigned proofs);

/* ---- the proof system on vectors ---- */

/* meas[0..meas_len-1] = the encoding of x[0..dim-1]: per element b bits of x - lo (weights
 * 1, 2, ..., 2^(b-2), top_weight), then the bits of the norm slack B - sum x^2, then the
 * derived entries (field elements: x mod p products).  0, or
 * MPC_ERR_INPUT when an element is outside [lo, hi] or the norm exceeds B. */
int mpc_flp_encode(const mpc_flp *f, const int64_t *x, uint64_t *meas);

/* out[0..out_len-1] = the share of each element's value lo + sum_k weight_k bit_k, from a share of
 * the encoding (leader nonzero on exactly one party: it adds lo), then the derived entries'
 * shares.  Linear: the sum over
 * parties is the value mod p; sums over contributions aggregate. */
void mpc_flp_output(const mpc_flp *f, int leader, const uint64_t *meas_share, uint64_t *out);

/* proof[0..proof_len-1] for meas under joint randomness jr[0..jr_len-1] (elements < p).  The prover's
 * randomness (the wire seeds that make the proof zero-knowledge) comes from libsodium.  The
 * proof is computed for any meas; only a valid one is accepted.  0, MPC_ERR_NOMEM or
 * MPC_ERR_INVALID. */
int mpc_flp_prove(const mpc_flp *f, const uint64_t *meas, const uint64_t *jr, uint64_t *proof);

/* One verifier's message verifier[0..verifier_len-1] from its shares of meas and proof, the
 * joint randomness jr[0..jr_len-1] and the query points t[0..proofs-1] (shared by the
 * verifiers, unknown to the client; none may be a 2^log_p-th root of unity).  Linear in the shares: the messages of all parties
 * add up to the message on the whole.  0, MPC_ERR_NOMEM or MPC_ERR_INVALID. */
int mpc_flp_query(const mpc_flp *f, int leader, const uint64_t *meas_share,
                  const uint64_t *proof_share, const uint64_t *jr, const uint64_t *t,
                  uint64_t *verifier);

/* 1 when the summed verifier message accepts (for every proof: circuit output 0 and the gadget
 * identity holds at its t), else 0. */
int mpc_flp_decide(const mpc_flp *f, const uint64_t *verifier);

/* The NTT in place on a[0..2^logn-1] (logn <= 32): a[k] = sum_i a[i] w^(ik) with w =
 * mpc_f61_root_of_unity(logn), or with inverse nonzero the inverse transform (w^-1, divided by
 * 2^logn). */
void mpc_flp_ntt(uint64_t *a, unsigned logn, int inverse);

/* ---- the report layer: bytes between a client and the daemons ---- */

/* Byte sizes: an input share (compressed: a PRG seed in place of the vectors), the public share
 * (one joint-randomness part per party) and a prep message (what each daemon sends the
 * others). */
size_t mpc_flp_input_share_size(const mpc_flp *f, int compressed);
size_t mpc_flp_public_share_size(unsigned nparties);
size_t mpc_flp_prep_size(const mpc_flp *f);

/* Client: splits the encoded measurement into nparties (2..MPC_FLP_MAX_PARTIES) input shares
 * and proves it.  shares[i] must hold mpc_flp_input_share_size(f, compress && i > 0) bytes
 * (with compress, every party but 0 gets a seed), public_share mpc_flp_public_share_size.
 * nonce identifies the report (unique per contribution; the daemons bind everything to it).
 * 0, MPC_ERR_NOMEM or MPC_ERR_INVALID. */
int mpc_flp_shard(const mpc_flp *f, unsigned nparties, int compress, const uint64_t *meas,
                  const uint8_t nonce[MPC_FLP_NONCEBYTES], uint8_t *const *shares,
                  uint8_t *public_share);

/* Daemon `party`: checks and expands its input share (in_len bytes; a seed when in_len is the
 * compressed size, which party 0 never gets), recomputes its joint-randomness part, derives the
 * joint randomness and the query point (from verify_key and nonce) and writes its prep message
 * (mpc_flp_prep_size bytes) and its output share out[0..out_len-1] (mpc_flp_output).  out must not
 * be used unless mpc_flp_prep_decide accepts.  0, MPC_ERR_INPUT on a malformed share (wrong
 * length, an element >= p), MPC_ERR_NOMEM or MPC_ERR_INVALID. */
int mpc_flp_prep(const mpc_flp *f, unsigned nparties, unsigned party,
                 const uint8_t verify_key[MPC_FLP_KEYBYTES],
                 const uint8_t nonce[MPC_FLP_NONCEBYTES], const uint8_t *public_share,
                 size_t pub_len, const uint8_t *input_share, size_t in_len, uint64_t *out,
                 uint8_t *prep_msg);

/* Any daemon, with the report's nonce and the prep messages (mpc_flp_prep_size bytes each) of
 * all nparties parties in party order: 0 when the
 * contribution is valid (every party used the joint randomness the recomputed parts give, and
 * the summed verifier message accepts), MPC_ERR_INPUT when it is not or a message is
 * malformed (an element >= p). */
int mpc_flp_prep_decide(const mpc_flp *f, unsigned nparties,
                        const uint8_t nonce[MPC_FLP_NONCEBYTES], const uint8_t *const *prep_msgs);

#endif
