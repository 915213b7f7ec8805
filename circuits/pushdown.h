/* pushdown.h — owner-local pushdown: the parts of a circuit whose secret operands all come
 * from one party's inputs are computed by that party in the clear, before sharing, instead
 * of under MPC (circuits/LANGUAGE.md "Owner-local pushdown"; docs/security.md explains why
 * this reveals nothing).  mpc_pushdown splits a circuit into at most one local part per party
 * (mpc_circuit.locals) and the MPC part; every value that crosses from a local part into the
 * MPC part becomes a "derived input" of the MPC part, named after the input it starts from
 * (`xa.sum`, `xa.dot`; a '.' never occurs in a program's identifiers).  A party gives its
 * "declared inputs" (those of the program); the SDK and `mpcc --eval` turn them into the MPC
 * part's inputs with mpc_pushdown_derive, using the exact plaintext evaluator (eval.h). */
#ifndef MPC_PUSHDOWN_H
#define MPC_PUSHDOWN_H

#include <stddef.h>
#include <stdint.h>

#include "circuit.h"
#include "eval.h"

/* Splits c (validated, without local parts) into local parts and the MPC part; *out is a
 * new validated circuit (c is unchanged).  A circuit with nothing to push comes back as an
 * equal circuit without local parts.  0 or -1 with a message. */
int mpc_pushdown(const mpc_circuit *c, mpc_circuit **out, char *err, size_t errlen);

/* The rules of mpc_circuit.locals (called by mpc_circ_validate): at most one part per party,
 * each valid under lim, with the circuit's parties and precision, no parts of its own, every
 * input from its party, every output to that party alone and matching (name, party, type,
 * length) an input of c, which is then "derived"; a local input that is also an input of c
 * matches it and is not derived.  0 or -1 with a message. */
int mpc_circ_validate_locals(const mpc_circuit *c, const mpc_circ_limits *lim, char *err, size_t errlen);

/* The local part that computes input i of c, or NULL when input i is not derived. */
const mpc_circuit *mpc_circ_input_local(const mpc_circuit *c, uint32_t i);
/* Party p's local part or NULL. */
const mpc_circuit *mpc_circ_local_of(const mpc_circuit *c, uint32_t p);

/* The declared inputs — what the parties give: c's inputs that are not derived and the local
 * parts' inputs that are not inputs of c, in source order (by line and column; stable).
 * Without local parts, exactly c's inputs in c's order.  *out is malloc'ed (free it). */
int mpc_circ_declared_inputs(const mpc_circuit *c, mpc_input **out, uint32_t *n);

/* Computes the values of c's inputs from party `party` (every party: UINT32_MAX) from the
 * values of the declared inputs: decl[0..ndecl-1] as from mpc_circ_declared_inputs,
 * decl_vals[k] its values or NULL when not given.  vals[j] (indexed like c->inputs; entries
 * of other parties untouched) aliases decl_vals for an input that is not derived (owned[j]
 * = 0; NULL when not given) or is a malloc'ed result of the party's local part (owned[j] =
 * 1).  A local part needs all of its inputs: when some are missing, -1 and a message naming
 * the inputs that must be given together.  Local evaluation warnings are appended to *warn (may be NULL). */
int mpc_pushdown_derive(const mpc_circuit *c, uint32_t party, const mpc_input *decl, uint32_t ndecl,
                        const uint64_t *const *decl_vals, uint64_t **vals, uint8_t *owned,
                        mpc_eval_result *warn, char *err, size_t errlen);

/* mpc_pushdown_derive for every party, then mpc_eval of c: the result of the whole program on
 * the declared inputs (the same as mpc_eval of the circuit before pushdown). */
int mpc_eval_declared(const mpc_circuit *c, const mpc_input *decl, uint32_t ndecl,
                      const uint64_t *const *decl_vals, mpc_eval_result *res, char *err, size_t errlen);

/* Gates and triples of party p's local part (0 when it has none). */
void mpc_circ_local_stats(const mpc_circuit *c, uint32_t p, mpc_circ_stats *st);

#endif
