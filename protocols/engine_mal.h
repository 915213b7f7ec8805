/* engine_mal.h — the malicious-security online engine: evaluates a validated circuit
 * (circuits/circuit.h) as party `self` of n on SPDZ2k authenticated shares (auth.h), so that
 * any deviation by up to n − 1 corrupt parties in what they send or in their material makes
 * every honest party abort before an output is released (security with abort;
 * docs/security.md, "Malicious security (SPDZ2k)"); the daemon runs it with `security =
 * malicious` (mpcd/mal_job.h).
 *
 * Gates.  Linear gates (ADD, SUB, NEG, ADD_PUB, MUL_PUB, SUM, SLICE, CONCAT) are local on
 * (value, MAC) share pairs; MUL and DOT use authenticated Beaver triples, every MUL and DOT
 * of one layer opening its d = x − a and e = y − b (128-bit each) in ONE message per peer
 * (MPC_MSG_OPEN, seq = layer): 32(n−1) bytes per multiplication and party.  A square (x·x)
 * takes a triple like any product.  SELECT(s, x, y) = y + s·(x − y) is one product per
 * element.  TRUNC (the semi-honest engine's semantics, engine.h): the layer's random bits
 * first (auth_bits.h: l + 1 per element, OPEN seq 2^63 | layer << 32 | i) and a MAC check,
 * which must pass before anything depending on them is opened; then y = 2^(63−l)·(x + 2^(l−1)
 * + r~) of each element joins the layer's one opening (after the d, e words) and the result
 * is local (docs/security.md, "Random bits and truncation under MACs").  LTZ and EQZ
 * (auth_cmp.h): after the layer's opening, all LTZ elements of the layer, then all EQZ ones,
 * in pieces of MPC_AUTH_CMP_PIECE (OPEN seq 2^62 | layer << 32 | i); their results are there
 * for the next layer.  NOISE runs where its layer's local gates run: m authenticated random bits
 * per element (OPEN seq 3·2^62 | gate << 24 | i), summed, less m/2, then a MAC check
 * (docs/governance.md, "The mechanism: binomial noise from daBits").  mpc_mal_supported refuses
 * only gate kinds it does not know.
 *
 * Inputs.  Input k belongs to the circuit's party c->inputs[k].party, who gives it in the
 * clear (inputs[k], len words); for each element the source hands every party a share of an
 * authenticated mask [r] whose value only the owner learns.  The owner sends δ = x − r
 * (mod 2^128) to every peer (MPC_MSG_INPUT, seq k; all inputs before the first layer, one
 * round) and every party sets [x] = [r] + δ.  Every party hashes the δ it received into the
 * broadcast transcript of the MAC check, so an owner that sends different δ to different
 * parties fails the next check.
 *
 * Outputs.  For each output and each recipient p: a fresh authenticated mask [r_p] whose value
 * p knows; [x − r_p] is opened to all parties (one MPC_MSG_OUTPUT message per peer, seq 0,
 * all outputs together), which reveals nothing (r_p is uniform in Z_2^128).  Then the MAC check
 * of everything opened in the job (the Beaver openings, the output openings and the input
 * broadcasts); only if it passes does p compute x = (x − r_p) + r_p mod 2^64.
 *
 * Checked outputs (opts.checked_outputs; the daemon's outputs for clients, which are not
 * parties).  Nothing is opened to a party: after the layers (and after the outputs opened to
 * parties, from open_from on, and opts.release) every client output is one vector of the
 * vector check (vcheck.h; docs/security.md, "The vector check"), its withheld elements zero:
 * D jointly random pads per output, commitments, a coin, the D openings of z (MPC_MSG_OUTPUT
 * seq S_VC_OUT | stage), and the final MAC check.  Only after it passes does
 * mpc_mal_checked_output give this party's record for the client.  Costs n·D masks per output
 * and no triple.
 *
 * MAC checks run when the openings held reach opts.check_every and once at the end.  A failed
 * check fails the run with MPC_ERR_CRYPTO and "MAC check failed ..." in err; every other
 * failure sends MPC_MSG_ABORT to the peers.  Either way every share is wiped and no output is
 * available. */
#ifndef MPC_ENGINE_MAL_H
#define MPC_ENGINE_MAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "circuit.h"
#include "transport.h"

typedef struct mpc_mal_engine mpc_mal_engine;

typedef struct {
    uint64_t stream;        /* stream id of every message of the job */
    int      timeout_ms;    /* per receive; < 0: the transport's default */
    uint64_t check_every;   /* a MAC check once this many openings are held (0: 2^24) */
    /* Checked before and between the inputs, between layers, between the pieces of 4,096
     * triples or masks in which material is fetched, and before the outputs: when cancel is
     * non-NULL and set non-zero (by another thread) the run fails with MPC_ERR_CANCELLED, and
     * after deadline_ms (CLOCK_MONOTONIC ms, 0: none) with MPC_ERR_TIMEOUT; the peers get an
     * ABORT as for any failure, and nothing is released. */
    const atomic_int *cancel;
    uint64_t deadline_ms;
    /* Called after every layer and every piece of material with the layers done and the
     * triples fetched so far (may be NULL): a daemon shows it as the job's progress. */
    void   (*progress)(void *ctx, uint32_t rounds_done, uint64_t triples);
    void    *progress_ctx;
    /* Non-zero: every output is a checked output for a client (above); mpc_mal_output gives
     * nothing, mpc_mal_checked_output the record.  With open_from set (1..n_outputs − 1),
     * only the outputs below it are checked outputs; those from it on are opened to their
     * recipient parties as without checked_outputs (the release rules' pass bits, which the
     * daemons read: mpcd/mal_job.c), before the checked ones, with a MAC check of their own
     * (their opening is MPC_MSG_OUTPUT seq 1). */
    int      checked_outputs;
    uint32_t open_from;
    /* With checked_outputs, may be NULL: called once the outputs from open_from on are opened
     * and checked (mpc_mal_output gives them) and before the checked outputs are: it may set
     * withheld[o][i] = 1 (o < open_from, or every o without open_from; arrays of
     * c->outputs[o].len bytes, zeroed) for elements whose shares must not leave: they enter
     * the check as zero and their record's shares are zero.  0, or MPC_ERR_* with the reason
     * in err (the run then fails and tells its peers). */
    int    (*release)(void *ctx, const mpc_mal_engine *e, uint8_t *const *withheld, char *err, size_t errlen);
    void    *release_ctx;
    /* Non-NULL: every input is a client's authenticated input (docs/security.md,
     * "Authenticated client inputs"), and mpc_mal_run takes no input values.  For input k
     * (len L_k) the engine makes L_k jointly random authenticated masks [r] (n masks each),
     * runs the vector check on them (all inputs in one check), and calls client_input once,
     * with rec[k] = this party's record for input k (vcheck.h, mpc_vcheck_record_bytes(L_k, n)
     * bytes, for the client).  It must return 0 with delta[k] set for every k (L_k words, the
     * caller's, valid until the run ends) = the x − r mod 2^64 the client sent this party, or
     * an MPC_ERR_* with the reason in err (the run then fails and tells its peers).  Every
     * party hashes each delta[k] into the MAC check's broadcast transcript, so a client (or a
     * path) that gave different parties different vectors fails the next check; then
     * [x] = [r] + delta. */
    int    (*client_input)(void *ctx, const uint8_t *const *rec, const uint64_t **delta, char *err, size_t errlen);
    void    *client_ctx;
} mpc_mal_opts;

typedef struct {
    uint32_t rounds;              /* opening rounds of the layers */
    uint64_t triples, masks;      /* material consumed */
    uint64_t opened;              /* values opened (and checked) */
    uint64_t trunc, comparisons;  /* TRUNC elements, LTZ and EQZ elements */
    uint64_t bits;                /* random bits made for them */
    uint64_t checks;              /* MAC checks passed */
    uint64_t open_bytes_sent;     /* OPEN and OUTPUT payload bytes sent to all peers */
    uint64_t run_us, prep_us;     /* wall time of the run, and of it in the material source */
    uint64_t check_us;            /* of it in MAC checks (all of them) */
    /* Of it, without material fetches and MAC checks: the input phase, the layers (local
     * gates and multiplication rounds), the output phase (masking and opening).  For
     * benchmarks: layers_us + check_us is the cost of the multiplications with their check. */
    uint64_t input_us, layers_us, output_us;
} mpc_mal_stats;


/* 0, or MPC_ERR_UNSUPPORTED naming the first gate this engine cannot run and its line. */
int mpc_mal_supported(const mpc_circuit *c, char *err, size_t errlen);

/* An engine for party `self` (c, t, src borrowed; they must outlive it).  t->n must be
 * c->n_parties and src->n too.  NULL on bad arguments or allocation failure. */
mpc_mal_engine *mpc_mal_engine_new(const mpc_circuit *c, uint32_t self, mpc_transport *t,
                                   mpc_auth_src *src, const mpc_mal_opts *opts);

/* Runs the job once: inputs[k] (c->inputs[k].len words) for every input this party owns,
 * NULL for the others (with opts.client_input: inputs is ignored, may be NULL).  0 or
 * MPC_ERR_* with the reason in err. */
__attribute__((warn_unused_result))
int mpc_mal_run(mpc_mal_engine *e, const uint64_t *const *inputs, char *err, size_t errlen);

/* Output o's value after a successful run if this party is one of its recipients, else NULL. */
const uint64_t *mpc_mal_output(const mpc_mal_engine *e, uint32_t o);

/* With opts.checked_outputs, after a successful run: this party's record of output o for the
 * client (vcheck.h, mpc_vcheck_record_bytes(len, n) bytes; withheld elements' shares zero);
 * else NULL. */
const uint8_t *mpc_mal_checked_output(const mpc_mal_engine *e, uint32_t o);

void mpc_mal_stats_get(const mpc_mal_engine *e, mpc_mal_stats *st);

/* Wipes everything and frees the engine; sets *e to NULL (NULL accepted). */
void mpc_mal_engine_destroy(mpc_mal_engine **e);

#endif
