/* par.h — a small fixed pool of compute threads for data-parallel loops (fork–join): the
 * OT extension and the Gilboa arithmetic of protocols/prep_ot.c split a chunk's work among
 * the pool's threads (docs/preprocessing.md, "Pipeline and threads").  The threads only
 * compute: every transport call stays on the caller's thread.
 *
 * mpc_par_run(p, fn, ctx) calls fn(ctx, i, N) for i = 0 .. N−1, N = mpc_par_threads(p), and
 * returns when all are done (the calls' writes are then visible to the caller).  Each part
 * is claimed by whichever thread comes first, the caller included, and runs on that thread
 * alone: the caller never waits for a pool thread that has not woken up yet (on a loaded
 * machine that can take milliseconds; it then runs the parts itself).  A pool serves one caller at a
 * time.  With p == NULL, or a pool of one thread, fn(ctx, 0, 1) runs on the caller.  What a
 * part computes must depend only on (i, N) and ctx, never on timing, so that results are
 * the same bit for bit whatever the number of threads. */
#ifndef MPC_PAR_H
#define MPC_PAR_H

#include <stdint.h>

#define MPC_PAR_MAX 16   /* threads per pool, the caller included */

typedef struct mpc_par mpc_par;
typedef void (*mpc_par_fn)(void *ctx, uint32_t part, uint32_t nparts);

/* A pool of `threads` threads in all (the caller counts as one; threads − 1 are started):
 * 0 means the number of online CPUs; capped at MPC_PAR_MAX.  NULL if a thread cannot be
 * started or memory is short. */
mpc_par *mpc_par_new(uint32_t threads);
/* Stops and joins the threads; *p = NULL.  NULL or *p == NULL accepted. */
void mpc_par_free(mpc_par **p);
uint32_t mpc_par_threads(const mpc_par *p);
void mpc_par_run(mpc_par *p, mpc_par_fn fn, void *ctx);

/* [*lo, *hi) of part `part` of `nparts` over n items in whole units of `unit` (the last part
 * takes the remainder). */
void mpc_par_range(uint64_t n, uint64_t unit, uint32_t part, uint32_t nparts, uint64_t *lo,
                   uint64_t *hi);

#endif
