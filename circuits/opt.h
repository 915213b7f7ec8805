/* opt.h — circuit-level optimisation after code generation: common-subexpression
 * elimination (gates with equal kind, type, operands, length and aux; CONST gates with equal
 * values), dead-gate removal (everything not reaching an OUTPUT), then renumbering and
 * layer assignment.  Constant folding and algebraic identities happen earlier, while the
 * compiler emits gates. */
#ifndef MPC_OPT_H
#define MPC_OPT_H

#include <stddef.h>

#include "circuit.h"

/* Rewrites c in place; the result is equivalent on every input and passes
 * mpc_circ_validate.  0 or -1 with a message. */
int mpc_circ_optimize(mpc_circuit *c, char *err, size_t errlen);

#endif
