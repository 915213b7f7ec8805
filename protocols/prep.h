/* prep.h — the one interface to preprocessing material, whatever makes it: OT among the
 * parties (prep_ot.h, the default) or the dealer (prep_dealer.h); docs/preprocessing.md and
 * docs/engine.md, "Preprocessing and the dealer".  A request asks for a batch:
 * this party's shares of Beaver triples, truncation tuples for groups of (m, l), and the
 * comparison material below.  Every party of a job must make the same requests in the same
 * order; a source hands each piece of material out once and never again (counted below).
 *
 * Arithmetic material is additively shared over Z_2^64 (the parties' words sum to the
 * value mod 2^64); GF(2) material is XOR-shared (the parties' words XOR to the value).
 *
 * Beaver triple k: a[k], b[k], c[k] with (Σa)(Σb) = Σc, a and b uniform.
 *
 * Square pair k: sa[k], sa2[k] with (Σsa)² = Σsa2, sa uniform.  The engine squares with it
 * (MUL or DOT of a wire with itself) opening one word per element instead of a triple's two;
 * it costs half a triple to make (docs/preprocessing.md, "Square pairs").
 *
 * Truncation tuple for TRUNC(m, l) (see engine.h): r uniform in [0, 2^(l+1)), shared as
 * r_lo = r mod 2^m, r_mid = (r >> m) mod 2^(l-m), r_msb = bit l of r.
 *
 * Comparison material (compare.h, docs/comparison.md):
 *   edaBit k   (Escudero et al., CRYPTO 2020) r_k uniform in Z_2^64, given twice:
 *              eda_r[k]    arithmetic share of r_k;
 *              eda_bits[k] XOR share of r_k's bit vector: bit i of the XOR over the parties
 *                          is bit i of r_k (0 <= i < 64), i.e. XOR of eda_bits == Σ eda_r.
 *   binary triple word k   ba[k], bb[k], bc[k] XOR-shared, (XOR ba) & (XOR bb) = XOR bc in
 *              every one of the 64 lanes (64 independent AND triples per word), ba, bb
 *              uniform.  Requests count WORDS, not single triples.
 *   daBit k    a uniform bit b_k given twice:
 *              da_r[k]     arithmetic share of b_k (the shares sum to 0 or 1 mod 2^64);
 *              da_bits     packed XOR shares: lane k % 64 of word k / 64 holds b_k's share,
 *                          ceil(n_dabits / 64) words; lanes past n_dabits in the last word
 *                          are unspecified and must be ignored.
 * A source that provides comparison material sets MPC_PREP_CAP_COMPARE in caps; a request
 * for it from a source without the flag fails with MPC_ERR_UNSUPPORTED. */
#ifndef MPC_PREP_H
#define MPC_PREP_H

#include <stdint.h>

#define MPC_PREP_MAX_BATCH   (1ull << 28)  /* elements (or words) of one kind in one request */
#define MPC_PREP_MAX_GROUPS  4096          /* truncation groups in one request */

#define MPC_PREP_CAP_COMPARE 1u            /* the source provides edaBits, binary triples, daBits */

typedef struct {
    uint32_t m, l;     /* shift and bound: 1 <= m < l <= 63 */
    uint64_t n;        /* tuples */
} mpc_prep_trunc_spec;

typedef struct {
    uint64_t                   n_triples;
    uint64_t                   n_squares;  /* square pairs */
    const mpc_prep_trunc_spec *trunc;
    uint32_t                   n_trunc;    /* groups */
    uint64_t                   n_edabits;  /* edaBits */
    uint64_t                   n_btriples; /* binary triple words (64 ANDs each) */
    uint64_t                   n_dabits;   /* daBits */
} mpc_prep_req;

/* Caller-owned buffers: a, b, c hold n_triples words each; sa, sa2 n_squares words each; r_lo, r_mid, r_msb hold the sum of
 * trunc[i].n words each, the groups one after another; eda_r and eda_bits n_edabits words
 * each; ba, bb, bc n_btriples words each; da_r n_dabits words, da_bits ceil(n_dabits/64)
 * words.  Pointers for material not requested may be NULL. */
typedef struct {
    uint64_t *a, *b, *c;
    uint64_t *sa, *sa2;
    uint64_t *r_lo, *r_mid, *r_msb;
    uint64_t *eda_r, *eda_bits;
    uint64_t *ba, *bb, *bc;
    uint64_t *da_r, *da_bits;
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
    uint32_t  caps;               /* MPC_PREP_CAP_* set by the source */
    uint64_t  batches;            /* requests served */
    uint64_t  triples_out;        /* triples handed out so far */
    uint64_t  squares_out;        /* square pairs handed out so far */
    uint64_t  trunc_out;          /* truncation tuples handed out so far */
    uint64_t  edabits_out;        /* edaBits handed out so far */
    uint64_t  btriples_out;       /* binary triple words handed out so far */
    uint64_t  dabits_out;         /* daBits handed out so far */
};

/* Total tuples asked for by req; 0 or MPC_ERR_INVALID when a spec is out of range or the
 * request exceeds the limits above. */
__attribute__((warn_unused_result))
int mpc_prep_req_check(const mpc_prep_req *req, uint64_t *trunc_total);

/* Checks req, calls the source and counts what it handed out.  MPC_ERR_UNSUPPORTED for
 * comparison material from a source without MPC_PREP_CAP_COMPARE. */
__attribute__((warn_unused_result))
int mpc_prep_fetch(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out);

void mpc_prep_abort(mpc_prep *p, int code);
void mpc_prep_destroy(mpc_prep **p);

/* ---- Streamed material: the pull API (prep_stream.c; docs/preprocessing.md, "Streamed
 * material") ----
 *
 * A stream makes a fixed sequence of Beaver triples and square pairs — its segments, in the
 * order the consumer will take them — on a producer thread of its own, chunk by chunk: every
 * chunk is one mpc_prep_fetch of `chunk` items (fewer at a segment's end) of one kind, so the
 * parties' sources see the same requests in the same order when every party opens the same
 * streams with the same segments and chunk.  The producer runs at most `ahead` chunks ahead
 * of the consumer (a ring of `ahead` chunk buffers: the stream holds at most 3·chunk·ahead
 * words of material, whatever the segments' sizes).  The consumer pulls: "the next k items of
 * this kind", blocking until they exist.
 *
 * Threads: while a stream is open, its producer thread is the only user of the source: the
 * caller must not fetch from, abort or destroy it until mpc_prep_stream_end has returned.  The
 * source's transport is then used by the producer beside whatever the caller's thread does,
 * so it must allow that (transport.h, "Threads": a backend on another stream, or another view
 * of the mesh, mpc_transport_view_clone).  Material is copied out to the consumer and wiped
 * from the ring at once: every item is handed out once. */

typedef enum {
    MPC_PREP_K_TRIPLE = 1,   /* a, b, c */
    MPC_PREP_K_SQUARE = 2,   /* sa, sa2 */
} mpc_prep_kind;

typedef struct {
    uint8_t  kind;   /* mpc_prep_kind */
    uint64_t n;      /* items (0: skipped) */
} mpc_prep_seg;

#define MPC_PREP_STREAM_CHUNK     ((uint64_t)1 << 16)   /* default items per chunk */
#define MPC_PREP_STREAM_AHEAD     4u                    /* default chunks made ahead */
#define MPC_PREP_STREAM_AHEAD_MAX 64u
#define MPC_PREP_STREAM_WAIT_MS   60000                 /* a take's bound when given none */

typedef struct mpc_prep_stream mpc_prep_stream;

/* Opens a stream over p (borrowed; the caller keeps it, unused, until the end) of the nseg
 * segments segs (copied), in chunks of `chunk` items (1 .. MPC_PREP_MAX_BATCH; 0: the
 * default) with `ahead` chunks made ahead (1 .. MPC_PREP_STREAM_AHEAD_MAX; 0: the default),
 * and starts its producer.  0, MPC_ERR_INVALID (bad arguments, a segment of another kind,
 * more than MPC_PREP_MAX_BATCH items in a segment) or MPC_ERR_NOMEM (then nothing was
 * fetched). */
__attribute__((warn_unused_result))
int mpc_prep_stream_new(mpc_prep *p, const mpc_prep_seg *segs, uint32_t nseg, uint64_t chunk,
                        uint32_t ahead, mpc_prep_stream **st);

/* The next k items, which must be of `kind` (the segments' order), copied into out->a, b, c
 * (triples) or out->sa, sa2 (square pairs), k words each.  Blocks until they are made,
 * waiting at most timeout_ms (<= 0: MPC_PREP_STREAM_WAIT_MS) for each new chunk.  0,
 * MPC_ERR_TIMEOUT (no chunk came in time), MPC_ERR_STATE (another kind is next, or k is
 * more than is left), or the error the source's fetch failed with.  After an error the
 * stream hands out nothing more. */
__attribute__((warn_unused_result))
int mpc_prep_stream_take(mpc_prep_stream *st, uint8_t kind, uint64_t k, const mpc_prep_out *out,
                         int timeout_ms);

/* Words of material the stream's ring holds at most (3 · chunk · ahead). */
uint64_t mpc_prep_stream_ring_words(const mpc_prep_stream *st);

/* Ends the stream: the producer stops at its next chunk boundary and is joined; if it had
 * not made every chunk (code != 0: the consumer failed; or items were left), it aborts the
 * source with code (MPC_ERR_STATE for 0) on its own thread first.  Wipes and frees the
 * ring; *st = NULL (NULL accepted).  0 when every chunk was made and code is 0, else the
 * producer's error or the code.  May wait for the chunk in progress, which the source's
 * own timeouts bound. */
int mpc_prep_stream_end(mpc_prep_stream **st, int code);

#endif
