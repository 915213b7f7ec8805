/* randprog.h — a seeded generator of random well-typed mpc programs, with random inputs and
 * the outputs they must produce.  The expected outputs are computed by direct uint64_t
 * arithmetic on the generator's own expression tree (never through the compiler or the
 * evaluator), with the ring and fixed-point semantics LANGUAGE.md documents: int arithmetic
 * mod 2^64; fix products and divisions truncated by floor; every truncation kept inside its
 * headroom (a program that would leave it is regenerated).  Used by check_randprog and by
 * the engine's tests, which run the same programs under MPC. */
#ifndef MPC_RANDPROG_H
#define MPC_RANDPROG_H

#include <stdint.h>

#include "circuit.h"

typedef struct {
    int      fix;        /* fix programs (inputs, constants and outputs are fix); else int */
    unsigned frac;       /* fix precision, 0 = 16; written as a `precision` line when not 16 */
    unsigned max_len;    /* longest vector, 0 = 8, at most 64 */
    int      with_div;   /* division by public constants (powers of two for int programs) */
    int      with_toint; /* int programs: int(fix(e) + D) for decimals D (int() of a fix
                          * value with a fractional part; exact floor) */
    int      small_ints; /* int inputs in [-2^24, 2^24) instead of the whole ring */
    int      with_cmp;   /* comparisons, c ? a : b, min, max, abs, sum(a < b) (LTZ, EQZ,
                          * SELECT gates); a comparison is the sign bit of the wrapped
                          * difference, as the ring computes it */
} mpc_randprog_opts;

typedef struct {
    char      name[16];
    uint32_t  party;
    mpc_type  type;
    uint64_t  len;       /* 1 for scalars */
    int       is_vec;
    uint64_t *vals;      /* len ring values (fix: the encoding X = x * 2^frac) */
} mpc_randprog_input;

typedef struct {
    char      name[16];
    uint32_t  recipients;   /* bit i: party i */
    mpc_type  type;
    uint64_t  len;
    uint64_t *vals;         /* the expected values */
} mpc_randprog_output;

typedef struct {
    char                *src;        /* the program text, NUL-terminated */
    unsigned             frac;
    uint32_t             n_parties;
    mpc_randprog_input  *inputs;
    uint32_t             n_inputs;
    mpc_randprog_output *outputs;
    uint32_t             n_outputs;
} mpc_randprog;

/* Generates program number `seed` (the same seed and options give the same program).
 * 0, or -1 on allocation failure.  Free with mpc_randprog_free. */
int  mpc_randprog_generate(uint64_t seed, const mpc_randprog_opts *opts, mpc_randprog *out);
void mpc_randprog_free(mpc_randprog *p);

#endif
