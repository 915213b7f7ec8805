/* enginetest.h — test helper: runs the n parties of one circuit evaluation as threads over
 * the in-memory transport, with the dealer as an extra thread (node n) or the test-only
 * local preprocessing source, and collects every party's shares, opened values, stats and
 * (optionally) one party's view. */
#ifndef MPC_ENGINETEST_H
#define MPC_ENGINETEST_H

#include <stdint.h>

#include "circuit.h"
#include "engine.h"
#include "prep_dealer.h"
#include "transport_mem.h"

#define ET_MAXP 16

typedef struct {
    /* set by the caller */
    const mpc_circuit *c;
    int                use_dealer;        /* 1: dealer thread, 0: testlocal source */
    uint8_t            master[32];        /* testlocal master seed */
    mpc_engine_input  *in[ET_MAXP];       /* per party, c->n_inputs entries */
    const uint8_t     *test_seed[ET_MAXP];/* per party engine test seed, or NULL */
    const uint8_t     *zkeys[ET_MAXP];    /* per party zero-sharing keys (n × 32 bytes,
                                           * mpc_engine_run_keyed), or NULL: fresh ones */
    uint64_t           job;
    int                timeout_ms;        /* 0: 5000 */
    int                no_open;           /* skip mpc_engine_open */
    int                silent;            /* party index + 1 that never runs (0: none) */
    int                view_party;        /* party index + 1 whose received payloads are recorded */
    int                fail_party;        /* party index + 1 whose OPEN send of round fail_seq fails */
    uint64_t           fail_seq;
    void             (*before)(mpc_mem_hub *hub, void *arg);  /* called before the threads start */
    mpc_prep        *(*make_prep)(uint32_t party, void *arg);   /* replaces the built-in sources */
    void              *before_arg;

    /* results */
    int                rc[ET_MAXP], open_rc[ET_MAXP];
    char               err[ET_MAXP][256];
    uint64_t          *share[ET_MAXP][8]; /* copies of the first 8 outputs' shares */
    uint64_t          *value[ET_MAXP][8]; /* opened values, NULL for non-recipients */
    mpc_engine_stats   st[ET_MAXP];
    uint64_t           prep_triples[ET_MAXP];
    int                dealer_rc;
    char               dealer_err[256];
    mpc_dealer_stats   dst;
    uint64_t          *view;              /* view_party's received payload words */
    uint64_t           view_len;
} et_job;

/* Runs the job; 0 when the harness itself worked (party results are in rc[]). */
int  et_run(et_job *j);
/* Frees the results. */
void et_clear(et_job *j);
/* Fills in[p] for every party from plaintext values vals[k] (owner PLAIN, others
 * FROM_OWNER); the arrays are allocated and freed by et_clear. */
void et_plain_inputs(et_job *j, const uint64_t *const *vals);

/* Plaintext reference evaluation of c on inputs in[k]: outs[o] (malloc'ed, caller frees)
 * for every output o (at most 8 are filled; outs needs c->n_outputs entries).  TRUNC is
 * the exact floor; LTZ is msb(x), EQZ is x == 0. */
void et_ref(const mpc_circuit *c, const uint64_t *const *in, uint64_t **outs);

/* Dealer replies a job of c takes: one per layer with interactive gates starting in it. */
uint64_t et_fetch_layers(const mpc_circuit *c);

/* Plain random helpers for tests. */
uint64_t et_rand64(void);

#endif
