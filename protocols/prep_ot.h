/* prep_ot.h — preprocessing with no trusted party (docs/preprocessing.md): an
 * mpc_prep source whose material the n parties make among themselves, semi-honest secure
 * against any n−1 colluding parties, channels authenticated and encrypted (the transport's
 * job).  Not secure against an actively cheating party (no consistency checks, no MACs).
 *
 * Chain: base OTs (baseot.h, Chou–Orlandi over Ristretto255) for every directed pair, once
 * per source lifetime → correlated OTs (otext.h: SoftSpokenOT with k = 2 by default, or
 * IKNP; TCCR hash) → Gilboa products (gilboa.h) → Beaver triples
 * c = Σ_i a_i b_i + Σ_{i≠j} a_i b_j with a_i, b_i fresh and uniform per party; and shared
 * random bits b = c_0 ⊕ … ⊕ c_{n−1} (c_i a party's private bit, XOR computed
 * arithmetically x ⊕ y = x + y − 2xy with the cross products from one COT each) →
 * truncation tuples r_lo, r_mid, r_msb (prep.h) from l+1 such bits; daBits (such a bit:
 * c_i is the XOR share, y_i the arithmetic one) and edaBits (64 of them, r = Σ 2^j b_j).
 * Binary Beaver triples (MPC_PREP_CAP_COMPARE): c = ⊕_i a_i b_i ⊕ ⊕_{i≠j} a_i b_j per lane,
 * each cross term one COT (choice = P_j's bit of b_j) and a one-bit correction.
 *
 * Messages: MPC_MSG_PREP on `stream` (a preprocessing session id with MPC_STREAM_PREP_BIT),
 * one sequence counter per directed pair.  Setup: hello (10 words), base-OT points (512
 * words), SoftSpokenOT's padded GGM sums (1024 words) per peer; 2 or 3 message rounds.
 * Per request: a 4-word digest per peer (requests must be identical on every party, else
 * MPC_ERR_PROTOCOL on all), then per chunk of triples one message of 64·16/k bytes per
 * triple and one of 260 bytes per triple to every peer (2 rounds): (n−1)(1024/k + 260)
 * bytes per triple per party, 772 for n = 2, k = 2.  Per chunk of random bits (truncation
 * tuples, then comparison bits) one COT message of 16/k bytes per bit to every peer that
 * precedes this party in the XOR order of half the chunk (the halves use opposite orders),
 * then n−1 sequential rounds of packed corrections.  Comparison material: the edaBit and
 * daBit bits as truncation bits (64 − j bits of correction for bit j of an edaBit); per
 * binary triple word one message of 64·16/k bytes and one of 8 bytes to every peer (2 rounds
 * per chunk).  Per LTZ, n = 2, k = 2: ≈1,353 bytes per party.  Square pairs (a, a²): one
 * Gilboa product per unordered pair of parties (a_i·a_j, doubled), so half a triple's COTs
 * and bytes: (n−1)(1024/k + 260)/2 bytes per pair per party on average.  docs/preprocessing.md has the
 * details and measurements.
 *
 * Triples and binary triples are pipelined: `window` chunks in flight per peer, the
 * extension and Gilboa compute split among `threads` threads; every transport call stays on
 * the thread that calls the source (docs/preprocessing.md, "Pipeline and threads").
 *
 * Every party must create its source with the same n, stream and window, and make the same
 * requests in the same order.  A source is for one thread at a time. */
#ifndef MPC_PREP_OT_H
#define MPC_PREP_OT_H

#include <stdint.h>

#include "aeshash.h"
#include "prep.h"
#include "transport.h"

#define MPC_PREP_OT_CHUNK 1024   /* default triples per chunk */
#define MPC_PREP_OT_K     2      /* default SoftSpokenOT block size (1 = IKNP) */
#define MPC_PREP_OT_WINDOW      8   /* default chunks in flight per peer and direction */
#define MPC_PREP_OT_WINDOW_MAX  16

typedef struct {
    int      timeout_ms;        /* per receive; < 0: the transport's default */
    uint32_t chunk;             /* triples per chunk, 16..65536 (0: MPC_PREP_OT_CHUNK) */
    int      force_portable;    /* use BLAKE2b/ChaCha20 even where AES-NI exists */
    uint32_t ot_k;              /* 1 (IKNP), 2, 4 or 8 (SoftSpokenOT); 0: MPC_PREP_OT_K.
                                 * Every party must use the same. */
    int32_t  window;            /* chunks of triples whose COT messages (and, as many, whose
                                 * corrections) are in flight per peer: 1 .. MPC_PREP_OT_WINDOW_MAX;
                                 * 0: MPC_PREP_OT_WINDOW; < 0: none (lock-step, one chunk at a
                                 * time).  Every party must use the same (checked at setup). */
    uint32_t threads;           /* compute threads, this one included (par.h); 0: the online
                                 * CPUs (at most MPC_PAR_MAX); 1: this thread only.  Results do
                                 * not depend on it. */
} mpc_prep_ot_opts;

/* Where the time went (ns of CLOCK_MONOTONIC on this party's thread) and what was sent. */
typedef struct {
    int          ready;                 /* setup done */
    mpc_sym_kind kind[16];              /* symmetric primitives agreed with each peer */
    uint64_t     prg_ns, transpose_ns, hash_ns;   /* inside OT extension (both roles) */
    uint64_t     gilboa_ns;             /* correction packing and share arithmetic */
    uint64_t     bits_ns;               /* random-bit arithmetic and tuple assembly */
    uint64_t     sample_ns;             /* drawing a_i, b_i, bits */
    uint64_t     wait_ns;               /* blocked in recv */
    uint64_t     ots;                   /* COTs extended, both roles */
    uint64_t     bytes_sent;            /* payload + header bytes this source sent */
} mpc_prep_ot_stats;

/* A source for party `self` of n (2..16) over t (borrowed; must outlive the source).  NULL
 * on bad arguments or allocation failure.  Nothing is sent until setup. */
mpc_prep *mpc_prep_ot_new(mpc_transport *t, uint32_t self, uint32_t n, uint64_t stream,
                          const mpc_prep_ot_opts *opts);

/* Runs the base OTs with every peer (all parties call it, or the first fetch does).  0 or
 * MPC_ERR_* (the source is then failed and has sent ABORT to every peer). */
__attribute__((warn_unused_result))
int mpc_prep_ot_setup(mpc_prep *p);

/* mpc_prep_fetch with this party's own a_i, b_i (binary ba_i, bb_i; square-pair sa_i) given:
 * the caller fills out->a, out->b (out->ba, out->bb; out->sa) and the source computes the
 * rest as for a fetch (c_i with Σc = Σa · Σb, sa2_i with Σsa2 = (Σsa)², every other kind of
 * material as usual); the peers call
 * mpc_prep_fetch or this alike.  The source's own randomness as an argument: the material
 * is only as secret as the given words are random (tests give fixed words to check that the
 * peers' view does not depend on them).  MPC_ERR_INVALID if p is not an OT source or a
 * needed buffer is NULL. */
__attribute__((warn_unused_result))
int mpc_prep_ot_fetch_given(mpc_prep *p, const mpc_prep_req *req, mpc_prep_out *out);

/* 0, or MPC_ERR_INVALID if p is not an OT source. */
int mpc_prep_ot_stats_get(const mpc_prep *p, mpc_prep_ot_stats *st);

/* The hash the source uses with peer j ("aes-ni" / "blake2b"); before setup, this machine's
 * own best. */
const char *mpc_prep_ot_hash_name(const mpc_prep *p, uint32_t peer);

#endif
