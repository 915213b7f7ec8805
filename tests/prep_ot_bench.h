/* prep_ot_bench.h — measures OT preprocessing among n parties as threads of this process
 * over the in-memory transport (so: CPU and memory bound, no network): triples per second
 * after setup, bytes sent per triple per party, and where party 0's time went.  A test and
 * benchmark helper (linked into the test binaries, compiled into bench/mpcbench by
 * bench/run), not part of the libraries.  For
 * `make bench` and the test printout; it asserts nothing. */
#ifndef MPC_PREP_OT_BENCH_H
#define MPC_PREP_OT_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "prep_ot.h"

typedef struct {
    uint32_t          n;
    uint64_t          triples;
    double            setup_s;          /* base OTs, wall clock */
    double            secs;             /* triple generation after setup, wall clock */
    double            triples_per_s;    /* wall clock: all n parties share this machine */
    double            cpu_s;            /* party 0's thread CPU time during generation */
    double            bytes_per_triple; /* sent by party 0, per triple */
    mpc_prep_ot_stats st;               /* party 0's breakdown (generation only) */
} mpc_prep_ot_bench_result;

/* Runs n parties (2..16) making `triples` triples in requests of `batch` (0: 2^17) with
 * the given source options (NULL: defaults).  0 or the first party's MPC_ERR_*. */
int mpc_prep_ot_bench(uint32_t n, uint64_t triples, uint64_t batch, const mpc_prep_ot_opts *o,
                      mpc_prep_ot_bench_result *res);

/* One paragraph of results. */
void mpc_prep_ot_bench_print(FILE *f, const mpc_prep_ot_bench_result *r);

#endif
