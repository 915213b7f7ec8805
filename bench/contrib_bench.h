/* contrib_bench.h — `mpcbench contrib` (bench/contrib_bench.c). */
#ifndef MPC_CONTRIB_BENCH_H
#define MPC_CONTRIB_BENCH_H

#include <stdint.h>

/* n contributions of len fix values in -1..1 shared between 2 daemons; prints one JSON line
 * per repetition and 0 on success (see contrib_bench.c). */
int bench_contrib(uint64_t n, uint64_t len, int reps);

#endif
