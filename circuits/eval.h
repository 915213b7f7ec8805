/* eval.h — the exact plaintext evaluator: the oracle every MPC result is compared with.
 * Ring semantics are those of the engine: arithmetic mod 2^64; TRUNC by m is the
 * arithmetic shift floor(x / 2^m) (the engine's probabilistic truncation returns this or
 * this + 1); LTZ gives 1 iff x as a signed 64-bit value is negative; EQZ 1 iff x == 0. */
#ifndef MPC_EVAL_H
#define MPC_EVAL_H

#include <stdint.h>

#include "circuit.h"

/* A warning found while evaluating, e.g. a TRUNC operand outside its headroom bound
 * (|x| >= 2^(l-1)), where the engine's result would be wrong. */
typedef struct {
    uint32_t gate;
    uint32_t line, col;
    char     msg[160];
} mpc_eval_warning;

typedef struct {
    mpc_eval_warning *warnings;   /* malloc'ed; free with mpc_eval_result_free */
    uint32_t          n_warnings;
    uint64_t        **outputs;    /* outputs[i] has c->outputs[i].len values */
    uint32_t          n_outputs;
} mpc_eval_result;

/* Evaluates circuit c (already validated) on inputs[i] (c->inputs[i].len values each).
 * 0 or -1 with a message (only on allocation failure or invalid arguments). */
int  mpc_eval(const mpc_circuit *c, const uint64_t *const *inputs, mpc_eval_result *res,
              char *err, size_t errlen);
void mpc_eval_result_free(mpc_eval_result *res);

/* NOISE gates (differential privacy, circuits/dp.h) are sampled here from the same
 * distribution as in MPC, Bin(m, 1/2) - m/2 per element: from the operating system's
 * randomness (libsodium), so such outputs differ from run to run, or, after
 * mpc_eval_noise_seed(seed) on the calling thread, from a stream derived from the 32-byte
 * seed (reproducible).  NULL returns the thread to the operating system's randomness. */
#define MPC_EVAL_SEED_BYTES 32
void mpc_eval_noise_seed(const uint8_t *seed);

#endif
