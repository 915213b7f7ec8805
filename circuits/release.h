/* release.h — the support of a circuit's outputs and the release check (docs/governance.md,
 * "Release rules"; docs/circuit-format.md, "Support").
 *
 * The support of an output element is the number of input rows that went into it.  It is
 * derived from the gates alone, so nothing a submitter states about it is trusted and the
 * circuit format carries nothing for it:
 *   - an input element is one row; a constant is none (support unbounded);
 *   - SUM adds its operand's supports, DOT those of each segment (the smaller of the two
 *     operands' supports per element); SLICE and CONCAT move supports with their elements;
 *   - any other gate gives each element the smallest support among its secret operands'
 *     elements (an output combining an aggregate with one row's value has support 1);
 *   - a *count*: SUM of a wire of bits the circuit computed itself (LTZ/EQZ results, their
 *     slices, concatenations and products: never a client's bool input, which could hold any
 *     value) counts the rows it selects, so its support is its own value, secret.  ADD and
 *     SUB of two counts (a histogram bin, #[v >= e_i] - #[v >= e_(i+1)]) are counts too (the
 *     gates cannot show that the row sets nest as a histogram's do: docs/governance.md says
 *     what that leaves to the operator who approves the program).  Any
 *     other use of a count (count + 1, count * x, a comparison) has support 1;
 *   - ADD of a value and a NOISE gate (a dp_* release) has the value's supports: a noisy
 *     count is still a count, and it is the noisy value that is compared with min_rows — a
 *     function of the released value alone, so the decision is covered by the same
 *     differential-privacy guarantee, where comparing the exact count would leak it;
 *   - a derived input (owner-local pushdown, pushdown.h) has the support of the local part's
 *     output it is: its owner computed it in the clear from its own rows (a count there stays
 *     a count: the owner could only misstate its own rows).
 * A public support is compared with min_rows directly.  A count is compared inside MPC: the
 * daemon runs mpc_release_circuit, which multiplies each count element by its pass bit
 * [count >= min_rows] and adds the pass bits as outputs the daemons open among themselves.
 * This header depends on nothing of ours but circuit.h. */
#ifndef MPC_RELEASE_H
#define MPC_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"

#define MPC_SUPPORT_NONE UINT64_MAX   /* a constant: no input row */
/* Longest wire whose elements get supports of their own; a longer wire whose elements
 * differ gets the smallest of them (and support 1 if any is a count), which is never less
 * strict. */
#define MPC_SUPPORT_MAX_ELEMS 65536u

/* One element's support: rows (public), or, with count set, the element's own value. */
typedef struct {
    uint64_t rows;
    uint8_t  count;
} mpc_support;

/* The supports of one output: one for every element (uniform), or el[0..len-1]. */
typedef struct {
    uint64_t     len;
    int          uniform;
    mpc_support  one;
    mpc_support *el;
} mpc_support_vec;

static inline const mpc_support *mpc_support_at(const mpc_support_vec *v, uint64_t i)
{
    return v->uniform ? &v->one : &v->el[i];
}

/* The supports of every output of a validated circuit: *out receives c->n_outputs vectors
 * (free with mpc_support_free).  0, or -1 when out of memory. */
int  mpc_circ_support(const mpc_circuit *c, mpc_support_vec **out);
void mpc_support_free(mpc_support_vec **v, uint32_t n);

/* The circuit a daemon runs under min_rows >= 1: c with every output element that is a
 * count (sup, from mpc_circ_support) multiplied by its pass bit [value >= min_rows], computed
 * inside MPC (one LTZ per element of such an output), and, for each such output o, an extra
 * output of its pass bits (1 for the elements that are not counts), named "_pass.NAME", to
 * every party, after c's outputs.  has_pass[o] says which outputs got one (in order).  The
 * outputs of c keep their index, name and length.  Inputs, constants and gates of c keep
 * their meaning; the result has no locals and no program.  0, or -1 with a message. */
int mpc_release_circuit(const mpc_circuit *c, const mpc_support_vec *sup, uint64_t min_rows,
                        mpc_circuit **out, uint8_t *has_pass, char *err, size_t errlen);

#endif
