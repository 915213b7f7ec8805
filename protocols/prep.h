/* prep.h — the one interface to preprocessing material (DESIGN.md §5), whatever makes it
 * (the dealer of prep_dealer.h now; OT-based generation later).  A request asks for a batch:
 * this party's shares of n Beaver triples and of truncation tuples for groups of (m, l).
 * Every party of a job must make the same requests in the same order; a source hands each
 * piece of material out once and never again (counted in triples_out / trunc_out).
 *
 * Truncation tuple for TRUNC(m, l) (see engine.h): r uniform in [0, 2^(l+1)), shared as
 * r_lo = r mod 2^m, r_mid = (r >> m) mod 2^(l-m), r_msb = bit l of r. */
#ifndef MPC_PREP_H
#define MPC_PREP_H

#include <stdint.h>

#define MPC_PREP_MAX_BATCH   (1ull << 28)  /* elements of one kind in one request */
#define MPC_PREP_MAX_GROUPS  4096          /* truncation groups in one request */

typedef struct {
    uint32_t m, l;     /* shift and bound: 1 <= m < l <= 63 */
    uint64_t n;        /* tuples */
} mpc_prep_trunc_spec;

typedef struct {
    uint64_t                   n_triples;
    const mpc_prep_trunc_spec *trunc;
    uint32_t                   n_trunc;   /* groups */
} mpc_prep_req;

/* Caller-owned buffers: a, b, c hold n_triples words each; r_lo, r_mid, r_msb hold the sum of
 * trunc[i].n words each, the groups one after another.  Unused pointers may be NULL. */
typedef struct {
    uint64_t *a, *b, *c;
    uint64_t *r_lo, *r_mid, *r_msb;
} mpc_prep_out;

typedef struct mpc_prep mpc_prep;

struct mpc_prep_ops {
    /* Fills `out` with this party's shares.  0 or MPC_ERR_* (PEER_ABORT, TIMEOUT, PROTOCOL,
     * PREP, NOMEM). */
    int  (*fetch)(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out);
    /* Tells the source the job failed with `code` (it stops serving this party). */
    void (*abort)(mpc_prep *p, int code);
    /* Frees the source, wiping its secrets; sets *p to NULL. */
    void (*destroy)(mpc_prep **p);
};

struct mpc_prep {
    const struct mpc_prep_ops *ops;
    void     *impl;
    uint32_t  self, n;            /* this party, number of parties */
    uint64_t  batches;            /* requests served */
    uint64_t  triples_out;        /* triples handed out so far */
    uint64_t  trunc_out;          /* truncation tuples handed out so far */
};

/* Total tuples asked for by req; 0 or MPC_ERR_INVALID when a spec is out of range or the
 * request exceeds the limits above. */
__attribute__((warn_unused_result))
int mpc_prep_req_check(const mpc_prep_req *req, uint64_t *trunc_total);

/* Checks req, calls the source and counts what it handed out. */
__attribute__((warn_unused_result))
int mpc_prep_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out);

void mpc_prep_abort(mpc_prep *p, int code);
void mpc_prep_destroy(mpc_prep **p);

#endif
