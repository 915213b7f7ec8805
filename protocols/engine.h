/* engine.h — evaluates a validated vector circuit (circuits/circuit.h) as party `self` of n
 * (2 <= n <= 16) on additive shares over Z_2^64, semi-honest security (docs/engine.md;
 * docs/design.md, "Security model").
 *
 * Rounds.  Round r runs every local gate of layer r (index order), then every interactive
 * gate of layer r in ONE exchange: each party sends one MPC_MSG_OPEN message (seq r; a
 * long one in slices, mpc_engine_opts.slice_words) to every peer holding all its openings
 * of the round — Beaver d and e of every MUL, DOT and
 * SELECT element (16 bytes per multiplication), d alone of every square (8 bytes) and one
 * word per TRUNC element — and sums what it receives (all-to-all opening: 16(n-1) bytes per
 * multiplication and 8(n-1) per square per party, one round per multiplicative layer).
 *   MUL     z = c + d·b + e·a (+ d·e on party 0)           (Beaver, CRYPTO 1991)
 *   DOT     the same, summed over the elements (fused)
 *   square  a MUL or DOT of a wire with itself (mpc_gate_is_square) takes a square pair
 *           (a, a²) instead: d = x − a opened, z = a² + 2·d·a (+ d² on party 0)
 *   SELECT  SELECT(s, x, y) = y + s·(x − y)
 *   TRUNC   exact probabilistic truncation (Catrina–Saxena FC 2010 in the ring form of
 *           Escudero et al. CRYPTO 2020 §5): result ∈ {⌊x/2^m⌋, ⌊x/2^m⌋ + 1}, rounding up
 *           with probability frac(x/2^m), no wrap failure while |x| < 2^(l−1).
 *   LTZ/EQZ comparison with zero (compare.h, docs/comparison.md): all LTZ elements of one
 *           layer form one batch, all EQZ elements another; a batch started in round r runs
 *           its 8 sub-rounds in rounds r .. r+7 (the gate table's rounds) and its output is
 *           there for layer r+8.  Its words travel in the same single message per peer per
 *           round as everything else: [fresh arithmetic gates][batches in flight, oldest
 *           first], summed in a batch's sub-round 0 and XOR-ed after.  A circuit with LTZ
 *           or EQZ is refused before any input is touched (MPC_ERR_UNSUPPORTED, naming the
 *           gate and its source line) when the preprocessing source lacks
 *           MPC_PREP_CAP_COMPARE.
 *
 * Inputs.  Per circuit input the caller gives this party's share the way a client gives it
 * (client-sdk): SEED, a compressed share PRG(seed, MPC_PRG_STREAM(MPC_PRG_D_CLIENT, k)) from
 * position 0 (the client gives n−1 parties a seed), or SHARE, an explicit share vector (the
 * last party).  Parties never share inputs among themselves.  STORED is a SHARE vector that
 * was stored between jobs (docs/datasets.md): party i adds Σ_{j>i} PRG(K_ij,
 * MPC_PRG_STREAM(MPC_PRG_D_INZERO, k)) − Σ_{j<i} PRG(K_ij, same) with the job's fresh pair
 * keys K_ij (below), so the shares used in the job sum to the same value but are unlinkable
 * to the stored ones for anyone without both parties' keys.  A job with a STORED input
 * receives every peer's key message before its first gate (one message latency, no round
 * trip: the keys were sent first).
 *
 * Outputs.  mpc_engine_run leaves this party's share of each output, re-randomized by a
 * fresh zero-sharing before the run returns: every party sends every peer, as the first
 * message of the job, a key message (MPC_MSG_INPUT, seq 0: a fresh 32-byte key k_ij; the
 * dealer never sees it); with the pair key K_ij = k_ij ⊕ k_ji, party i adds
 * Σ_{j>i} PRG(K_ij, MPC_PRG_STREAM(MPC_PRG_D_OUTZERO, o)) − Σ_{j<i} PRG(K_ij, same) to
 * output o.  The masks sum to zero; without them a recipient
 * colluding with a dealer (who knows every a_i, b_i, c_i) could solve the raw shares
 * z_i = c_i + d·b_i + e·a_i for the openings d, e and so for the inputs.  A peer's key
 * message is received just before the first other receive from that peer, or at the end of
 * a run without rounds (no added round trip).  Delivering the shares (to clients, or to
 * recipient parties) is the caller's business: mpcd hands them to entitled clients.
 *
 * Failure.  Any failure sends MPC_MSG_ABORT to every peer (and the preprocessing source),
 * wipes every share and returns a negative MPC_ERR_* code with a reason in err naming the
 * peer at fault where there is one; no output of a failed job is available. */
#ifndef MPC_ENGINE_H
#define MPC_ENGINE_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "circuit.h"
#include "prep.h"
#include "transport.h"

typedef enum {
    MPC_IN_SHARE = 3,     /* this party's explicit share vector */
    MPC_IN_SEED = 4,      /* a 32-byte seed expanding to this party's share */
    MPC_IN_STORED = 5,    /* an explicit share kept from an earlier sharing (a stored dataset):
                           * re-randomized before use by a fresh zero-sharing (below) */
} mpc_input_mode;

typedef struct {
    uint8_t         mode;     /* mpc_input_mode */
    const uint64_t *values;   /* SHARE, STORED: the share (borrowed) */
    uint64_t        len;      /* SHARE, STORED: must equal the input's length */
    const uint8_t  *seed;     /* SEED: 32 bytes (borrowed) */
} mpc_engine_input;

typedef struct {
    uint64_t       stream;      /* stream id of every message of the job */
    int            timeout_ms;  /* per receive; < 0: the transport's default */
    uint64_t       deadline_ms; /* CLOCK_MONOTONIC ms after which the job fails with
                                 * MPC_ERR_TIMEOUT at the next round (0: none) */
    /* Called after every round with the rounds done and triples consumed so far (may be
     * NULL); the daemon shows it as the job's progress. */
    void         (*progress)(void *ctx, uint32_t rounds_done, uint64_t triples);
    void          *progress_ctx;
    /* Called once, on the engine's thread, as soon as every INPUT gate has read its input
     * (after the local gates of the last layer holding one): the caller may then wipe and
     * free what the mpc_engine_input array points to, which the engine never reads again, so
     * a job does not hold its inputs' buffers beside their wires.  May be NULL. */
    void         (*inputs_read)(void *ctx);
    void          *inputs_ctx;
    /* When non-NULL and set non-zero (by another thread), the job fails with
     * MPC_ERR_CANCELLED at the next round and the peers get an ABORT, as for any failure. */
    const atomic_int *cancel;
    /* 0: one preprocessing request per layer with interactive gates, made when the layer
     * starts.  > 0: one request for as many consecutive such layers as fit in this many
     * words of material (at least one layer), each layer's share copied out when it runs:
     * a circuit of depth d costs ceil(material / prefetch_words) round trips to the source
     * instead of d (with a dealer each one is a network round trip).  Every party of a job
     * must use the same value (the requests must match). */
    uint64_t       prefetch_words;
    /* A round's opening travels to each peer as consecutive messages of at most this many
     * words (0: MPC_ENGINE_SLICE_WORDS), slice s of layer r with seq r | s << 32, and at most
     * MPC_ENGINE_SLICE_WINDOW slices per peer sent ahead of the ones received.  A receive
     * waits timeout_ms for the next slice, so a long opening fails only when a peer stops
     * making progress, and the receive buffer is one slice.  A round of at most this many
     * words is one message per peer, as before.  Every party must use the same value. */
    uint64_t       slice_words;
    /* Streamed rounds (docs/engine.md, "Streamed rounds"; 0: none).  With stream_chunk > 0,
     * a round of more than one slice whose fresh gates are all multiplications (MUL, DOT,
     * SELECT, squares) and which no comparison batch shares takes its triples and square
     * pairs from a stream (prep.h, mpc_prep_stream_*) slice by slice, as they are made: a
     * producer thread fetches them from the source in chunks of stream_chunk items, at most
     * stream_ahead chunks (0: MPC_PREP_STREAM_AHEAD) ahead, while the engine computes, sends
     * and finishes slices, at most MPC_ENGINE_STREAM_WINDOW of them in flight.  Such a round
     * holds material for a bounded number of slices and chunks, whatever its length; it is
     * not part of a prefetch window.  The source's transport must allow the producer's
     * thread beside the engine's (prep.h).  Every party of a job must use the same
     * stream_chunk and slice_words (the requests and slices must match).  A wait for
     * material is bounded by stream_wait_ms per chunk (0: MPC_PREP_STREAM_WAIT_MS): not
     * timeout_ms, since a live producer on a loaded machine may take longer than a peer may
     * stay silent; a dead peer fails the producer's own receives within timeout_ms, and the
     * wait returns that error at once. */
    uint64_t       stream_chunk;
    uint32_t       stream_ahead;
    int            stream_wait_ms;
    /* Batches run apart (docs/engine.md, "Batches run apart"): a layer's LTZ, EQZ or TRUNC
     * gates of more than this many elements of their kind in all do not ride along the
     * layer's round (and, for comparisons, the next 7); they run before it in parts of at
     * most this many elements, each part with its own material and sub-rounds, so they hold
     * the state and material of one part whatever their length (0: MPC_ENGINE_CMP_APART).
     * Every party must use the same value. */
    uint64_t       cmp_apart;
} mpc_engine_opts;

#define MPC_ENGINE_SLICE_WORDS  ((uint64_t)1 << 17)   /* 1 MiB of openings per message */
#define MPC_ENGINE_SLICE_WINDOW 8u
#define MPC_ENGINE_STREAM_WINDOW 4u   /* slices in flight per peer in a streamed round */
#define MPC_ENGINE_CMP_APART    ((uint64_t)1 << 18)   /* elements per part of a batch run apart */

typedef struct {
    uint32_t rounds;            /* opening rounds used */
    uint32_t streamed;          /* of them, rounds whose material was streamed (stream_chunk) */
    uint32_t sliced;            /* of them, rounds of products run slice by slice (docs/engine.md,
                                 * "Sliced and streamed rounds"; the streamed ones included) */
    uint64_t open_bytes_sent;   /* OPEN payload bytes sent to all peers together */
    uint64_t open_bytes_recv;
    uint64_t bytes_sent, bytes_recv, msgs_sent, msgs_recv;  /* transport counters, this job */
    uint64_t triples;           /* Beaver triples consumed */
    uint64_t squares;           /* square pairs consumed (x * x, dot(x, x)) */
    uint64_t trunc;             /* truncation tuples consumed */
    uint64_t comparisons;       /* LTZ and EQZ elements */
    uint64_t edabits, dabits;   /* comparison material consumed */
    uint64_t btriples;          /* binary triple WORDS consumed (64 ANDs each) */
    uint32_t apart_parts;       /* parts of batches run apart (cmp_apart) */
    uint32_t apart_rounds;      /* their sub-rounds (8 per comparison part, 1 per truncation
                                 * part), not counted in `rounds` */
    /* Wall time (monotonic clock, microseconds) of mpc_engine_run in all, and the part spent
     * waiting for preprocessing material (mpc_prep_fetch): run_us - prep_us is the online
     * phase (input sharing, local gates, openings).  For benchmarks and the job log. */
    uint64_t run_us, prep_us;
    /* The most words of preprocessing material this engine held at once: a round's (and its
     * prefetch window's), or in a streamed round the stream's ring and the slices in flight. */
    uint64_t material_peak_words;
    /* Who failed the job, as far as this party knows (MPC_ABORT_NO_PARTY: not known).
     * lost: the peer this party timed out on or found disconnected (its ABORT names it);
     * abort_from, abort_lost: the peer whose ABORT ended the job and the party that peer
     * named as lost. */
    uint32_t lost, abort_from, abort_lost;
} mpc_engine_stats;

typedef struct mpc_engine mpc_engine;

/* 0, or MPC_ERR_UNSUPPORTED with a message naming the first gate the engine cannot run. */
int mpc_engine_supported(const mpc_circuit *c, char *err, size_t errlen);

/* An engine for party `self` running circuit c (validated; borrowed, as are t and prep,
 * which must outlive the engine).  t must have at least c->n_parties nodes with t->self ==
 * self.  NULL on bad arguments (also stream_chunk > MPC_PREP_MAX_BATCH or stream_ahead >
 * MPC_PREP_STREAM_AHEAD_MAX) or allocation failure. */
mpc_engine *mpc_engine_new(const mpc_circuit *c, uint32_t self, mpc_transport *t,
                           mpc_prep *prep, const mpc_engine_opts *opts);

/* Runs the job: inputs[k] for every circuit input k.  0 or MPC_ERR_* with a reason.  The
 * pairwise zero-sharing keys that re-randomize the output shares are drawn from libsodium. */
__attribute__((warn_unused_result))
int mpc_engine_run(mpc_engine *e, const mpc_engine_input *inputs, char *err, size_t errlen);

/* mpc_engine_run with this party's zero-sharing keys given: zkeys + 32·j (j < n, j != self;
 * entry self unused) is the key sent to peer j.  The output masks hide the Beaver openings
 * only when these keys are uniformly random, fresh per job and known to no one but the two
 * parties: mpc_engine_run draws them so.  Giving them makes a run reproducible (tests). */
__attribute__((warn_unused_result))
int mpc_engine_run_keyed(mpc_engine *e, const mpc_engine_input *inputs, const uint8_t *zkeys,
                         char *err, size_t errlen);

/* This party's share of output o after a successful run (len = the output's length),
 * re-randomized: it already carries this party's part of a fresh zero-sharing, so it may be
 * handed to the output's recipient as it is. */
const uint64_t *mpc_engine_share(const mpc_engine *e, uint32_t o);

void mpc_engine_stats_get(const mpc_engine *e, mpc_engine_stats *st);

/* Wipes and frees everything; sets *e to NULL (NULL accepted). */
void mpc_engine_destroy(mpc_engine **e);

#endif
