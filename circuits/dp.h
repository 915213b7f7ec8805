/* dp.h — differential privacy computed inside MPC: the binomial mechanism's exact privacy
 * accounting and the per-output metadata a circuit carries (docs/governance.md,
 * "Differential privacy").  Depends on nothing of ours but circuit.h.
 *
 * Mechanism: an aggregate f (an integer, sensitivity s under adding or removing one record)
 * is released as f + Z, Z = B - m/2, B ~ Binomial(m, 1/2) the sum of m fresh shared random
 * bits (a NOISE gate).  Var Z = m/4, |Z| <= m/2.  The mechanism is (eps, delta)-DP with
 *     delta(eps) = sum_k max(0, P[Z = k] - e^eps P[Z = k - s]),
 * computed here exactly (up to double rounding, covered by a safety factor); the binomial is
 * log-concave, so a shift of s dominates every smaller one (checked by tests/check_dp.c). */
#ifndef MPC_DP_H
#define MPC_DP_H

#include <stdint.h>

#include "circuit.h"

#define MPC_DP_BINOMIAL      1u
#define MPC_DP_DEFAULT_DELTA 1e-6
/* Relative slack on a computed delta: the accounting is in doubles (lgamma); a requested
 * delta must hold with delta(eps) * (1 + slack). */
#define MPC_DP_SLACK         1e-6

/* MPC_DP_CONTRIB_SUM: dp_sum of a contribution collection (LANGUAGE.md, "Contributions"): a
 * vector of len elements, all of which one contributor moves by up to sens, so each element's
 * coins give (eps/len, delta/len) and the record's (eps, delta) is their sum (basic
 * composition) — what mpc_circ_validate_dp checks for this kind. */
typedef enum { MPC_DP_SUM = 1, MPC_DP_MEAN, MPC_DP_COUNT, MPC_DP_HISTOGRAM, MPC_DP_CONTRIB_SUM } mpc_dp_kind;

/* One differentially private output.  The released value is (f + Z) / divisor element by
 * element, Z the binomial noise above with `coins` coins sized for `sens`. */
typedef struct mpc_dp_output {
    uint32_t output;      /* index into the circuit's outputs */
    uint32_t kind;        /* mpc_dp_kind: the builtin that made it */
    uint32_t mechanism;   /* MPC_DP_BINOMIAL */
    uint32_t reserved;    /* zero */
    uint64_t coins;       /* m: coins per element (the NOISE gate's aux[0]) */
    uint64_t sens;        /* s: sensitivity in noise units (the NOISE gate's aux[1]) */
    uint64_t divisor;     /* dp_mean: the public n; 1 otherwise */
    double   eps, delta;  /* the guarantee of the whole output (all its elements) */
} mpc_dp_output;

/* The exact delta(eps) of the binomial mechanism with m coins (even) against a shift s. */
double mpc_dp_binom_delta(uint64_t m, uint64_t s, double eps);
/* The smallest even m <= max_m with delta(eps) * (1 + MPC_DP_SLACK) <= delta for shift s;
 * 0 with *m, or -1 when even max_m coins do not suffice (*m > max_m then; 0 for bad
 * arguments). */
int mpc_dp_binom_coins(uint64_t s, double eps, double delta, uint64_t max_m, uint64_t *m);
/* The smallest eps (to 1e-9 relative) with delta(eps) * (1 + slack) <= delta: what m coins
 * give against shift s, for accounting at another delta.  INFINITY when none does. */
double mpc_dp_binom_eps(uint64_t m, uint64_t s, double delta);

const char *mpc_dp_kind_name(uint32_t kind);

/* The record of output o, or NULL when o is not differentially private.  This is the
 * accessor for a daemon's privacy accounting: rec->eps and rec->delta are the guarantee. */
const mpc_dp_output *mpc_circ_output_dp(const mpc_circuit *c, uint32_t o);
/* Appends a record (copied); 0 or -1 (allocation). */
int mpc_circ_add_dp(mpc_circuit *c, const mpc_dp_output *rec);
/* Copies src's records into dst (whose outputs are the same); 0 or -1. */
int mpc_circ_copy_dp(mpc_circuit *dst, const mpc_circuit *src);
/* The records against the circuit: in increasing output order, each output's operand has a
 * NOISE gate among its operands' operands (transitively) with the record's coins and sens,
 * mechanism known, eps > 0, 0 < delta < 1, and the claimed (eps, delta) not stronger than
 * what the coins give (mpc_dp_binom_delta).  0 or -1 with a message. */
int mpc_circ_validate_dp(const mpc_circuit *c, char *err, size_t errlen);

#endif
