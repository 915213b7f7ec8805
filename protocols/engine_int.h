/* engine_int.h — the engine's state and the helpers its two files share: engine.c (rounds,
 * inputs, outputs, the prefetch window) and engine_stream.c (rounds whose material is streamed,
 * docs/engine.md "Streamed rounds").  Not an interface: nothing outside these files includes it. */
#ifndef MPC_ENGINE_INT_H
#define MPC_ENGINE_INT_H

#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "compare.h"
#include "diag.h"
#include "engine.h"

enum { S_IDLE, S_DONE, S_FAILED };

#define S_KEYBYTES(n) (2 * (size_t)(n) * MPC_PRG_SEEDBYTES)

/* A comparison batch in flight: the LTZ (or EQZ) gates of one layer, running sub-rounds in
 * rounds start .. start + MPC_CMP_ROUNDS − 1. */
typedef struct {
    mpc_cmp  *cmp;
    uint32_t *gates;
    uint32_t  ng;
    uint32_t  start;
    uint64_t  off;     /* this round: offset of its words in the message */
    int       arith;   /* this round: its words are summed (1) or XOR-ed (0) */
} s_flight;

#define S_MAX_FLIGHTS (2 * MPC_CMP_ROUNDS)

struct mpc_engine {
    const mpc_circuit *c;
    mpc_transport     *t;
    mpc_prep          *prep;
    mpc_engine_opts    o;
    uint32_t           self, n;
    int                state;
    uint64_t           slice;     /* words per OPEN message (o.slice_words or the default) */

    uint64_t         **w;         /* wire values (shares; CONST wires point into c->consts) */
    uint8_t           *owned;     /* w[i] is ours to wipe and free */
    uint32_t          *lastuse;   /* the gate after which wire i is no longer needed */
    uint64_t         **out_share; /* per output */

    s_flight           fl[S_MAX_FLIGHTS];
    uint32_t           nfl;

    /* Prefetch window (o.prefetch_words > 0): the material of layers [.., win_hi) fetched in
     * one request, laid out like one round's (s_round_out) with the totals below; c* count
     * what earlier layers took.  order/start: the run's gates by layer (mpc_engine_run). */
    uint64_t          *win;
    uint64_t           win_n, win_hi;
    uint64_t           wT, wS, wR, wE, wB, wD;
    uint64_t           cT, cS, cR, cE, cB, cD;
    const uint32_t    *order, *start;

    /* Streamed rounds (o.stream_chunk > 0): streamed[L] says layer L streams its material
     * (mpc_eng_stream_plan; NULL: none does); pst is the stream of the round running. */
    uint8_t           *streamed;
    mpc_prep_stream   *pst;

    uint8_t           *keys;      /* sodium_malloc: 2n * 32 bytes of zero-sharing keys: [0, n)
                                   * the key this party sent to peer j, [n, 2n) those received */
    uint32_t           zk_pending; /* peers whose key message is still to be received */
    mpc_engine_stats   st;
    mpc_engine_stats   base;      /* transport counters at the start */
};

/* ---- small helpers ---- */

static inline void s_wipe_free(uint64_t *p, uint64_t n)
{
    if (!p) return;
    sodium_memzero(p, (size_t)n * sizeof(uint64_t));
    free(p);
}

static inline uint64_t *s_alloc(uint64_t n)
{
    if (n > SIZE_MAX / sizeof(uint64_t)) return NULL;
    return malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
}

/* Multiplications of gate g: elements of a MUL or SELECT, input elements of a DOT. */
static inline uint64_t s_mults_of(const mpc_circuit *c, const mpc_gate *g)
{
    if (g->kind == MPC_G_MUL || g->kind == MPC_G_SELECT) return g->len;
    if (g->kind == MPC_G_DOT) return c->gates[g->in[0]].len;
    return 0;
}

/* Beaver products of n elements: z[k] = c + d·b + e·a, party 0 adding the public d·e
 * (Beaver, CRYPTO 1991).  z may be d itself. */
static inline void s_beaver(uint64_t *z, const uint64_t *A, const uint64_t *B, const uint64_t *C, const uint64_t *d,
                            const uint64_t *ev, uint64_t n, int p0)
{
    if (p0)
        for (uint64_t k = 0; k < n; k++) z[k] = C[k] + d[k] * B[k] + ev[k] * A[k] + d[k] * ev[k];
    else
        for (uint64_t k = 0; k < n; k++) z[k] = C[k] + d[k] * B[k] + ev[k] * A[k];
}

/* TRUNC m, l (docs/engine.md, "Truncation") on n elements: this party's openings of
 * 2^(63−l)·(x + 2^(l−1) + r), party 0 adding the constant ... */
static inline void s_trunc_open(uint64_t *out, const uint64_t *x, const uint64_t *lo, const uint64_t *mid,
                                const uint64_t *msb, uint64_t n, uint32_t m, uint32_t l, int p0)
{
    uint64_t half = p0 ? 1ull << (l - 1) : 0;
    for (uint64_t k = 0; k < n; k++) out[k] = (x[k] + half + lo[k] + (mid[k] << m) + (msb[k] << l)) << (63 - l);
}

/* ... and the shares of the result from the opened values op. */
static inline void s_trunc_finish(uint64_t *z, const uint64_t *op, const uint64_t *mid, const uint64_t *msb,
                                  uint64_t n, uint32_t m, uint32_t l, int p0)
{
    uint64_t lowmask = (1ull << l) - 1, bias = p0 ? 1ull << (l - 1 - m) : 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t cv = op[k] >> (63 - l);          /* (a + r) mod 2^(l+1) */
        uint64_t cl = (cv >> l) & 1, cp = cv & lowmask;
        uint64_t v = (p0 ? cl : 0) + msb[k] - 2 * cl * msb[k];   /* share of c_l xor r_msb */
        z[k] = (p0 ? (cp >> m) : 0) - mid[k] + (v << (l - m)) - bias;
    }
}

/* Notes words of material newly held (or, negative, given back) for the peak in the stats. */
static inline void s_mat_held(mpc_engine *e, uint64_t *held, int64_t delta)
{
    *held += (uint64_t)delta;
    if (*held > e->st.material_peak_words) e->st.material_peak_words = *held;
}

/* engine.c: the result r of a send to or receive from peer j, noting who failed the job. */
int mpc_eng_peer_rc(mpc_engine *e, uint32_t j, int r);
/* engine.c: wipes and frees wire w if the engine owns it (every later use must be over). */
void mpc_eng_release(mpc_engine *e, uint32_t w);
/* engine.c: receives peer j's key message if it is still pending. */
int mpc_eng_take_keys(mpc_engine *e, uint32_t j, char *err, size_t errlen);

/* engine_stream.c: fills e->streamed for the run (e->order, e->start set); 0 or MPC_ERR_NOMEM. */
int mpc_eng_stream_plan(mpc_engine *e);
/* engine_stream.c: 1 if a round of these fresh gates runs sliced (every one a product but
 * those run apart, more than one slice of openings), else 0.  The caller also requires that
 * no comparison batch shares the round. */
int mpc_eng_sliced(const mpc_engine *e, const uint32_t *gates, uint32_t ng);
/* engine_stream.c: runs sliced layer `layer` (its fresh gates gates[0 .. ng)): writes their
 * wires; 0 or MPC_ERR_* with a reason.  pre NULL: a streamed round (its material from a
 * preprocessing stream, e->streamed[layer]); else the round's material, fetched whole and
 * laid out as s_round_out gives it (the caller counted it and wipes it).  On failure e->pst
 * may still be open: the caller's failure path ends it (after the peers were sent ABORT). */
int mpc_eng_stream_round(mpc_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng,
                         const mpc_prep_out *pre, char *err, size_t errlen);

/* engine_apart.c: 1 if the layer's gates of `kind` (MPC_G_LTZ, MPC_G_EQZ or MPC_G_TRUNC)
 * run apart (more than o.cmp_apart elements of it), else 0. */
int mpc_eng_apart(const mpc_engine *e, const uint32_t *gates, uint32_t ng, uint8_t kind);
/* engine_apart.c: 1 if the fresh gates of a layer start a comparison batch in flight (one that
 * does not run apart), else 0. */
int mpc_eng_cmp_flight(const mpc_engine *e, const uint32_t *gates, uint32_t ng);
/* engine_apart.c: runs the layer's gates that run apart, part by part, writing their wires; 0
 * or MPC_ERR_* with a reason (the caller's failure path aborts and wipes). */
int mpc_eng_apart_run(mpc_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng, char *err, size_t errlen);

#endif
