/* contrib_bench.h — `mpcbench contrib` (bench/contrib_bench.c). */
#ifndef MPC_CONTRIB_BENCH_H
#define MPC_CONTRIB_BENCH_H

#include <stdint.h>

/* n contributions of len fix values in -1..1 shared between 2 daemons; prints one JSON line
 * per repetition and 0 on success (see contrib_bench.c). */
int bench_contrib(uint64_t n, uint64_t len, int reps);
/* The same with validity proofs (`mpcbench contrib-valid`, bench/run's contrib_valid_2e3x1e3):
 * the client proves (2 proofs), each daemon preps on arrival, the leader decides per batch. */
/* l2_bound: the validity circuit's norm bound on the sum of squares (ring units; 0: none). */
int bench_contrib_valid(uint64_t n, uint64_t len, int reps, uint64_t l2_bound);

#endif
