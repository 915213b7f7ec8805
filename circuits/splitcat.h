/* splitcat.h — distributing gates over CONCAT, so that owner-local pushdown (pushdown.h) sees
 * through a concatenation of several parties' vectors.
 *
 * `count(concat(xa, xb) > 100)` is one comparison over the whole vector, and since it reads
 * two parties' inputs, all of it runs under MPC.  The same value is
 * `count(xa > 100) + count(xb > 100)`, whose two halves each belong to one party.
 * mpc_split_concat rewrites a circuit that way: a wire that is a CONCAT is kept as its list of
 * segments; an element-wise gate on segmented operands becomes one gate per segment (operands
 * cut to common boundaries); SUM and a whole DOT become one per segment and an ADD chain;
 * every other gate reads the concatenation, rebuilt once where needed.  The result computes
 * exactly the same values mod 2^64 (element-wise gates act per element; sums are associative
 * mod 2^64), gate for gate as mpc_eval sees them, and costs the same triples and rounds: the
 * pieces of one gate share its layer.  A wire is cut into at most MPC_SPLIT_MAX_SEGS segments
 * (beyond that, it is rebuilt whole), so a concatenation in a loop cannot multiply the gates.
 * Depends on nothing of ours outside circuits/. */
#ifndef MPC_SPLITCAT_H
#define MPC_SPLITCAT_H

#include <stddef.h>

#include "circuit.h"

#define MPC_SPLIT_MAX_SEGS 256

/* *out: a new validated circuit equal in what it computes to c (validated, without local
 * parts; its program and local parts are not copied).  0, or -1 with a message. */
int mpc_split_concat(const mpc_circuit *c, mpc_circuit **out, char *err, size_t errlen);

#endif
