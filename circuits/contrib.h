/* contrib.h — contributor inputs: `input NAME: T[D] from contributors in LO..HI`
 * (circuits/LANGUAGE.md, "Contributions"; the service side in docs/contributions.md).
 *
 * Many contributors each give one vector of D values of type T (int or fix), every value in
 * the declared validity range.  A contributor's client encodes each value as an element of
 * the field of protocols/field61.h (x mod p, for fix x the ring encoding round(x·2^f)) and
 * shares it additively mod p among the daemons; each daemon adds its shares of the accepted
 * contributions mod p.  In the circuit the collection is ONE input, NAME + "-contrib", of
 * type int[D + 1], given by the daemons (never by a client): daemon i's share of element j
 * (j < D) is its field sum a_ij in [0, p); element D is the number of accepted contributions
 * (daemon 0's share is the count, the others' 0).  The shares are a valid additive Z_2^64
 * sharing of t_j = Σ_i a_ij < n·p < 2^63 (n ≤ MPC_CONTRIB_MAX_PARTIES), and the compiled
 * circuit reduces it: v = t − p·[t ≥ p] − … − p·[t ≥ (n−1)p] = t mod p, then to the signed
 * value v − p·[v ≥ (p+1)/2], which is exactly the ring encoding of the plaintext sum while
 * |sum| < (p−1)/2 — guaranteed by the range and the count limit (max_count below).
 * count(NAME), sum(NAME) and mean(NAME) are the only uses of NAME in a program.
 * `input NAME: T[D] from contributors in LO..HI, norm <= B` adds an L2-norm bound: a
 * contribution is valid only if also Σ x_i² ≤ B² (in the ring encoding).
 * `input NAME: T[D] from contributors unchecked` declares a collection without a validity
 * range: no proof, every value |x| ≤ (p−1)/2 taken, so one contributor can shift the
 * aggregate by any amount and the sums wrap mod p (circuits/LANGUAGE.md, docs/contributions.md
 * "Collections without validity checks"). */
#ifndef MPC_CONTRIB_H
#define MPC_CONTRIB_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

#define MPC_CONTRIB_SUFFIX      "-contrib"
#define MPC_CONTRIB_MAX_PARTIES 4            /* n·p < 2^63 */
#define MPC_CONTRIB_MAX_COUNT   (1u << 24)   /* contributions in one collection, at most */

/* Derived-entry terms of one collection, at most. */
#define MPC_CONTRIB_MAX_TERMS 8

/* A term of derived entries (docs/contributions.md, "Per-contribution operations"): with each
 * = 1 the n entries X[a+k]·X[b+k] (k = 0..n-1) of a contribution X, with each = 0 one entry,
 * their sum (a dot product); a <= b.  The contributor's client appends them to what it shares
 * and proves them exact (protocols/flp.h, mpc_flp_term); the daemons sum them like the values. */
typedef struct {
    uint32_t a, b, n, each;
} mpc_contrib_term;

typedef struct mpc_contrib_decl {
    char     name[MPC_NAME_MAX];    /* as declared ("g") */
    char     input[MPC_NAME_MAX];   /* the circuit input ("g-contrib") */
    uint8_t  type;                  /* MPC_T_INT or MPC_T_FIX */
    uint64_t len;                   /* D: values in one contribution */
    int64_t  lo, hi;                /* the validity range, ring encoding (fix: round(x·2^f)) */
    int64_t  norm;                  /* `, norm <= B`: B in the ring encoding, or 0 (no bound) */
    uint64_t l2_bound;              /* norm² (0: none): a contribution X is valid only if
                                       Σ X_i² ≤ l2_bound, ring encodings; the compiler makes
                                       sure D·max(|lo|,|hi|)² + l2_bound < (p−1)/2 */
    uint8_t  unchecked;             /* `from contributors unchecked`: no validity range, no proof
                                       (lo, hi span the field's signed values; the sums wrap mod p) */
    uint32_t max_count;             /* contributions a collection may include: at most
                                       MPC_CONTRIB_MAX_COUNT, and max_count·max(|lo|,|hi|) <
                                       (p−1)/2 so the sum decodes exactly (and so for every
                                       derived entry's bound) */
    uint32_t n_terms;               /* derived-entry terms, from sum(E)/mean(E) of the program */
    mpc_contrib_term terms[MPC_CONTRIB_MAX_TERMS];
    uint64_t n_derived;             /* derived entries: the circuit input is int[len + n_derived
                                       + 1]: the sums of the values, of the entries, the count */
} mpc_contrib_decl;

/* Whether a circuit input's name is a contributor input's (ends in MPC_CONTRIB_SUFFIX,
 * which no language name contains).  For such an input, len - 1 is D. */
int mpc_contrib_input_of(const char *input_name);

/* The compiler's record of contributor input `name` (as declared, or the circuit input's
 * name), or NULL. */
const mpc_contrib_decl *mpc_circ_contrib(const mpc_circuit *c, const char *name);

/* Reads one contribution, text s[0..n-1]: exactly d->len values of type d->type separated
 * by commas or blanks (line breaks allowed), each in [lo, hi], into out[0..len-1] as field
 * elements (x mod p).  0, or -1 with a message in err that never quotes a value (it names
 * the value's position). */
int mpc_contrib_parse(const mpc_contrib_decl *d, unsigned frac, const char *s, size_t n, uint64_t *out,
                      char *err, size_t errlen);

/* The derived entries y[0..d->n_derived-1] of contribution x[0..d->len-1] (field elements, as
 * mpc_contrib_parse writes them), mod p: what the client proves and the daemons sum. */
void mpc_contrib_derive(const mpc_contrib_decl *d, const uint64_t *x, uint64_t *y);

/* Whether contribution x[0..d->len-1] (field elements, as mpc_contrib_parse writes them, each
 * within the range) is within d's norm bound: Σ X_i² ≤ d->l2_bound over the ring encodings,
 * exactly (128-bit).  1 without a bound. */
int mpc_contrib_norm_ok(const mpc_contrib_decl *d, const uint64_t *x);

/* The plaintext reference of a collection (mpcc --eval): reads a file of contributions, one
 * per line (values separated by commas or blanks; empty lines and a first line that is not a
 * number — a header — are skipped), and writes the circuit input's value to
 * out[0..d->len + d->n_derived]: the field sums of the values, of the derived entries and,
 * last, the count.  A contribution over the norm bound
 * (mpc_contrib_norm_ok) is left out and counted in *dropped (may be NULL), as the daemons
 * drop it as invalid; a value out of range or a malformed line is an error (the SDK refuses
 * those before sending).  0, or -1 with "FILE:LINE: message" in err. */
int mpc_contrib_load(const mpc_contrib_decl *d, unsigned frac, const char *path, uint64_t *out,
                     uint64_t *dropped, char *err, size_t errlen);

#endif
