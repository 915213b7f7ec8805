/* enginetest.h — test helper: runs the n parties of one circuit evaluation as threads over
 * the in-memory transport, with the dealer as an extra thread (node n) or the test-only
 * local preprocessing source, and collects every party's shares, opened values, stats and
 * (optionally) one party's view.  Inputs are shared the way a client shares them (SEED for
 * parties 0..n−2, an explicit SHARE for party n−1); outputs are opened among the parties by
 * sending each party's mpc_engine_share to the recipients (et_open). */
#ifndef MPC_ENGINETEST_H
#define MPC_ENGINETEST_H

#include <stdint.h>

#include "circuit.h"
#include "engine.h"
#include "prep_dealer.h"
#include "prep_ot.h"
#include "transport_mem.h"

#define ET_MAXP 16

typedef struct {
    /* set by the caller */
    const mpc_circuit *c;
    int                use_dealer;        /* 1: dealer thread, 0: testlocal source */
    uint8_t            master[32];        /* testlocal master seed */
    mpc_engine_input  *in[ET_MAXP];       /* per party, c->n_inputs entries */
    const uint8_t     *input_seed;        /* 32 bytes from which et_plain_inputs derives the
                                           * client seeds (reproducible runs), or NULL: fresh */
    const uint8_t     *zkeys[ET_MAXP];    /* per party zero-sharing keys (n × 32 bytes,
                                           * mpc_engine_run_keyed), or NULL: fresh ones */
    uint64_t           job;
    int                timeout_ms;        /* 0: 5000 */
    uint64_t           slice_words;       /* mpc_engine_opts.slice_words (0: the default) */
    uint64_t           stream_chunk;      /* mpc_engine_opts.stream_chunk (0: no streamed rounds) */
    uint32_t           stream_ahead;      /* mpc_engine_opts.stream_ahead */
    int                stream_wait_ms;    /* mpc_engine_opts.stream_wait_ms */
    uint64_t           cmp_apart;         /* mpc_engine_opts.cmp_apart (0: the default) */
    int                scrub_inputs;      /* overwrite every party's inputs when its engine says
                                           * it has read them (mpc_engine_opts.inputs_read) */
    int                no_open;           /* skip et_open */
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
    int                inputs_read[ET_MAXP];  /* calls of mpc_engine_opts.inputs_read */
    uint64_t           prep_triples[ET_MAXP];
    uint64_t           prep_squares[ET_MAXP];
    int                dealer_rc;
    char               dealer_err[256];
    mpc_dealer_stats   dst;
    uint64_t          *view;              /* view_party's received payload words */
    uint64_t           view_len;
    void              *inbuf;             /* et_plain_inputs' seeds and shares */
} et_job;

/* Runs the job; 0 when the harness itself worked (party results are in rc[]). */
int  et_run(et_job *j);
/* Frees the results. */
void et_clear(et_job *j);
/* Fills in[p] for every party from plaintext values vals[k] as a client would: SEED for
 * parties 0..n−2 (from j->input_seed when set, else fresh), SHARE = x − Σ of theirs for party
 * n−1; the arrays are allocated and freed by et_clear. */
void et_plain_inputs(et_job *j, const uint64_t *const *vals);

/* A client's sharing of one input of len words among n parties: seeds (n−1) × 32 bytes for
 * parties 0..n−2, share (len words) for party n−1.  seed32: derive the seeds from it
 * (reproducible), or NULL: fresh.  k is the circuit input index (its PRG stream). */
void et_client_share(const uint64_t *x, uint64_t len, uint32_t n, uint32_t k,
                     const uint8_t *seed32, uint8_t *seeds, uint64_t *share);

/* Opens every output of engine e (party `self` after a successful run) over t the way the
 * daemon's clients receive them: sends its share of each output (MPC_MSG_OUTPUT, seq =
 * output index) to the output's recipient parties and, for the outputs it receives, adds
 * every peer's share to its own; values[o] (malloc'ed, o < nvals) is the opened value or
 * NULL for a non-recipient.  0 or MPC_ERR_* with a reason (then ABORT is sent to every
 * peer and the values are freed). */
int et_open(const mpc_engine *e, const mpc_circuit *c, mpc_transport *t, uint32_t self,
            uint64_t job, int timeout_ms, uint64_t **values, uint32_t nvals, char *err,
            size_t errlen);

/* Plaintext reference evaluation of c on inputs in[k]: outs[o] (malloc'ed, caller frees)
 * for every output o (at most 8 are filled; outs needs c->n_outputs entries).  TRUNC is
 * the exact floor; LTZ is msb(x), EQZ is x == 0. */
void et_ref(const mpc_circuit *c, const uint64_t *const *in, uint64_t **outs);

/* Dealer replies a job of c takes: one per layer with interactive gates starting in it. */
uint64_t et_fetch_layers(const mpc_circuit *c);

/* OT preprocessing for et_run: every party's mpc_prep_ot source (options o, stream id
 * `stream`) on an in-memory hub of its own beside the harness's.  Set n, o and stream, then
 * et_job.before = et_ot_before, make_prep = et_ot_make, before_arg = &the et_ot; et_ot_free
 * after the run. */
typedef struct {
    uint32_t          n;
    mpc_prep_ot_opts  o;
    uint64_t          stream;
    mpc_mem_hub      *hub;
    mpc_transport    *t[ET_MAXP];
} et_ot;

void      et_ot_before(mpc_mem_hub *hub, void *arg);
mpc_prep *et_ot_make(uint32_t party, void *arg);
void      et_ot_free(et_ot *ot);

/* Plain random helpers for tests. */
uint64_t et_rand64(void);

#endif
