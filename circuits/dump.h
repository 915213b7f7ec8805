/* dump.h — a readable listing of a circuit (mpcc --dump). */
#ifndef MPC_DUMP_H
#define MPC_DUMP_H

#include <stdio.h>

#include "circuit.h"

/* One line per gate: id, layer, kind, type[len], operands, aux, source line; parties,
 * inputs and outputs first; constants shown inline (long ones abbreviated). */
void mpc_circ_dump(const mpc_circuit *c, FILE *f);

#endif
