/* engine.c — the layer-batched evaluator (engine.h).  One loop over rounds; every failure
 * goes through s_fail, which records the reason, and mpc_engine_run's single exit aborts
 * the peers and wipes everything (docs/design.md, "Coding conventions"). */
#include "engine.h"
#include "engine_int.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binshare.h"
#include "clock.h"
#include "compare.h"
#include "mpc_err.h"
#include "prg.h"
#include "share.h"

static int s_interactive(uint8_t kind)
{
    return mpc_gate_infos[kind].rounds > 0;
}

/* Execution order key: round, then local before interactive, then index. */
static uint64_t s_when(const mpc_gate *g, uint32_t idx)
{
    return ((uint64_t)g->layer << 33) | ((uint64_t)s_interactive(g->kind) << 32) | idx;
}

static void s_release(mpc_engine *e, uint32_t w)
{
    if (e->owned[w]) s_wipe_free(e->w[w], e->c->gates[w].len);
    e->w[w] = NULL;
    e->owned[w] = 0;
}

void mpc_eng_release(mpc_engine *e, uint32_t w)
{
    s_release(e, w);
}

/* Frees the operands of gate g whose last use it is. */
static void s_release_operands(mpc_engine *e, uint32_t g)
{
    const mpc_gate *G = &e->c->gates[g];
    for (int k = 0; k < mpc_gate_infos[G->kind].operands; k++)
        if (e->lastuse[G->in[k]] == g && e->w[G->in[k]]) s_release(e, G->in[k]);
}

static int s_is_cmp(uint8_t kind)
{
    return kind == MPC_G_LTZ || kind == MPC_G_EQZ;
}

static void s_flights_free(mpc_engine *e)
{
    for (uint32_t i = 0; i < e->nfl; i++) {
        mpc_cmp_destroy(&e->fl[i].cmp);
        free(e->fl[i].gates);
    }
    memset(e->fl, 0, sizeof e->fl);
    e->nfl = 0;
}

static void s_win_free(mpc_engine *e)
{
    s_wipe_free(e->win, e->win_n);
    e->win = NULL;
    e->win_n = 0;
}

static void s_wipe_all(mpc_engine *e)
{
    const mpc_circuit *c = e->c;
    s_flights_free(e);
    s_win_free(e);
    if (e->w)
        for (uint32_t i = 0; i < c->n_gates; i++) s_release(e, i);
    for (uint32_t o = 0; o < c->n_outputs; o++) {
        if (e->out_share) {
            s_wipe_free(e->out_share[o], c->outputs[o].len);
            e->out_share[o] = NULL;
        }
    }
    if (e->keys) sodium_memzero(e->keys, S_KEYBYTES(e->n));
}

/* Zero-sharing key slot `slot` (0: the key sent to peer j, 1: the key received from j). */
static uint8_t *s_key(const mpc_engine *e, int slot, uint32_t j)
{
    return e->keys + ((size_t)slot * e->n + j) * MPC_PRG_SEEDBYTES;
}

/* The ABORT names the peer this party lost (e->st.lost), so that the others can say who is
 * gone even while their own connections to it still look alive. */
static void s_abort_peers(mpc_engine *e, int code)
{
    for (uint32_t j = 0; j < e->n; j++)
        if (j != e->self) (void)mpc_send_abort(e->t, j, e->o.stream, code, e->st.lost);
    /* A streamed round's producer owns the source until it is joined: told after the peers,
     * whose engines then end their own streams, so no producer waits long for another. */
    (void)mpc_prep_stream_end(&e->pst, code);
    mpc_prep_abort(e->prep, code);
}

/* Passes through the result `r` of a send to or receive from peer j, noting who failed the
 * job: j itself if it timed out or is disconnected, or the sender of an ABORT and the party
 * that sender named. */
int mpc_eng_peer_rc(mpc_engine *e, uint32_t j, int r)
{
    if (r == MPC_ERR_IO || r == MPC_ERR_TIMEOUT)
        e->st.lost = j;
    else if (r == MPC_ERR_PEER_ABORT)
        (void)mpc_transport_abort_info(e->t, e->o.stream, &e->st.abort_from, &e->st.abort_lost);
    return r;
}

/* ---- construction ---- */

int mpc_engine_supported(const mpc_circuit *c, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        /* the layer model must give a comparison exactly the rounds it takes */
        if (s_is_cmp(g->kind) && mpc_gate_infos[g->kind].rounds != MPC_CMP_ROUNDS)
            return mpc_errc(err, errlen, MPC_ERR_UNSUPPORTED,
                          "%.*s:%u: gate %u (%s) takes %u rounds, the gate table says %u",
                          (int)sizeof c->source, c->source[0] ? c->source : "circuit",
                          (unsigned)g->line, (unsigned)i, mpc_gate_infos[g->kind].name,
                          (unsigned)MPC_CMP_ROUNDS, (unsigned)mpc_gate_infos[g->kind].rounds);
    }
    return 0;
}

/* 0, or MPC_ERR_UNSUPPORTED naming the first comparison gate when the preprocessing source
 * cannot provide comparison material. */
static int s_prep_supported(const mpc_engine *e, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    if (e->prep->caps & MPC_PREP_CAP_COMPARE) return 0;
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        if (s_is_cmp(g->kind) || g->kind == MPC_G_NOISE)
            return mpc_errc(err, errlen, MPC_ERR_UNSUPPORTED,
                          "%.*s:%u: gate %u (%s) needs comparison material (edaBits, daBits, "
                          "binary triples) that this preprocessing source does not provide",
                          (int)sizeof c->source, c->source[0] ? c->source : "circuit",
                          (unsigned)g->line, (unsigned)i, mpc_gate_infos[g->kind].name);
    }
    return 0;
}

mpc_engine *mpc_engine_new(const mpc_circuit *c, uint32_t self, mpc_transport *t,
                           mpc_prep *prep, const mpc_engine_opts *opts)
{
    if (!c || !t || !prep || !opts || c->n_parties < 2 || c->n_parties > MPC_MAX_PARTIES ||
        self >= c->n_parties || t->self != self || t->n < c->n_parties ||
        prep->self != self || prep->n != c->n_parties || opts->stream_chunk > MPC_PREP_MAX_BATCH ||
        opts->stream_ahead > MPC_PREP_STREAM_AHEAD_MAX)
        return NULL;
    if (sodium_init() < 0 || mpc_circ_validate(c, NULL, NULL, 0)) return NULL;
    mpc_engine *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->c = c;
    e->st.lost = e->st.abort_from = e->st.abort_lost = MPC_ABORT_NO_PARTY;
    e->t = t;
    e->prep = prep;
    e->o = *opts;
    e->slice = opts->slice_words ? opts->slice_words : MPC_ENGINE_SLICE_WORDS;
    e->self = self;
    e->n = c->n_parties;
    e->w = calloc(c->n_gates, sizeof *e->w);
    e->owned = calloc(c->n_gates, 1);
    e->lastuse = calloc(c->n_gates, sizeof *e->lastuse);
    e->out_share = calloc(c->n_outputs ? c->n_outputs : 1, sizeof *e->out_share);
    e->keys = sodium_malloc(S_KEYBYTES(e->n));
    if (!e->w || !e->owned || !e->lastuse || !e->out_share || !e->keys) {
        mpc_engine_destroy(&e);
        return NULL;
    }
    /* Last use in execution order; a wire nobody reads dies with its own gate. */
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        e->lastuse[i] = i;
        for (int k = 0; k < mpc_gate_infos[g->kind].operands; k++) {
            uint32_t w = g->in[k];
            if (w >= i) continue;   /* invalid circuit; run() refuses it */
            uint32_t cur = e->lastuse[w];
            if (cur == w || s_when(g, i) > s_when(&c->gates[cur], cur)) e->lastuse[w] = i;
        }
    }
    return e;
}

void mpc_engine_destroy(mpc_engine **ep)
{
    if (!ep || !*ep) return;
    mpc_engine *e = *ep;
    (void)mpc_prep_stream_end(&e->pst, MPC_ERR_STATE);   /* none is open after a run */
    s_wipe_all(e);   /* also frees comparison batches in flight */
    free(e->w);
    free(e->owned);
    free(e->lastuse);
    free(e->out_share);
    if (e->keys) sodium_free(e->keys);
    free(e);
    *ep = NULL;
}

/* ---- inputs ---- */

static int s_check_inputs(mpc_engine *e, const mpc_engine_input *in, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    for (uint32_t k = 0; k < c->n_inputs; k++) {
        const mpc_input *ci = &c->inputs[k];
        switch (in[k].mode) {
        case MPC_IN_SHARE:
        case MPC_IN_STORED:
            if (!in[k].values || in[k].len != ci->len)
                return mpc_errc(err, errlen, MPC_ERR_INPUT,
                              "input '%s' has %llu values, the circuit expects %llu", ci->name,
                              (unsigned long long)in[k].len, (unsigned long long)ci->len);
            break;
        case MPC_IN_SEED:
            if (!in[k].seed)
                return mpc_errc(err, errlen, MPC_ERR_INPUT, "input '%s' has no seed", ci->name);
            break;
        default:
            return mpc_errc(err, errlen, MPC_ERR_INPUT, "input '%s' has no valid mode", ci->name);
        }
    }
    return 0;
}

/* Receives peer j's key message (its zero-sharing key) if it is still pending. */
int mpc_eng_take_keys(mpc_engine *e, uint32_t j, char *err, size_t errlen)
{
    if (!(e->zk_pending & (1u << j))) return 0;
    uint64_t buf[MPC_PRG_SEEDWORDS];
    int r = mpc_eng_peer_rc(e, j, mpc_recv(e->t, j, MPC_MSG_INPUT, e->o.stream, 0, buf, MPC_PRG_SEEDWORDS, e->o.timeout_ms));
    if (r) {
        mpc_errc(err, errlen, r, "receiving keys from party %u: %s", (unsigned)j, mpc_strerror(r));
    } else {
        memcpy(s_key(e, 1, j), buf, MPC_PRG_SEEDBYTES);
        e->zk_pending &= ~(1u << j);
    }
    sodium_memzero(buf, sizeof buf);
    return r;
}

/* The key message: one MPC_MSG_INPUT message (seq 0, this party's zero-sharing key for that
 * peer) to every peer, the first message of the job to it.  A peer's key message is received
 * just before the first other receive from that peer (s_take_keys), so it costs no round
 * trip: it was sent before anything else the peer sends. */
static int s_send_keys(mpc_engine *e, const uint8_t *zkeys, char *err, size_t errlen)
{
    uint64_t buf[MPC_PRG_SEEDWORDS];
    int r = 0;
    for (uint32_t j = 0; j < e->n; j++) {
        if (j == e->self) continue;
        memcpy(s_key(e, 0, j), zkeys + (size_t)j * MPC_PRG_SEEDBYTES, MPC_PRG_SEEDBYTES);
        memcpy(buf, s_key(e, 0, j), MPC_PRG_SEEDBYTES);
        r = mpc_eng_peer_rc(e, j, mpc_send(e->t, j, MPC_MSG_INPUT, e->o.stream, 0, buf, MPC_PRG_SEEDWORDS));
        if (r) {
            mpc_errc(err, errlen, r, "sending keys to party %u: %s", (unsigned)j, mpc_strerror(r));
            break;
        }
        e->zk_pending |= 1u << j;
    }
    sodium_memzero(buf, sizeof buf);
    return r;
}

/* Re-randomizes every output share with a fresh zero-sharing.  Parties i and j share the
 * pair key K_ij = k_ij ⊕ k_ji (the keys each sent the other: uniform, known to both and to no
 * one else); party i adds PRG(K_ij, o) for every peer j > i and subtracts it for every j < i,
 * so every pair's term appears once with each sign and the masks sum to zero over the
 * parties.  A recipient of all n shares thus sees n uniform words summing to the output,
 * whatever preprocessing material (and so whatever Beaver openings) produced them.  Cost:
 * n − 1 PRG expansions of each output per party. */
/* The pair keys K_ij = k_ij ⊕ k_ji into pk + 32·j (every peer's key message received). */
static void s_pair_keys(const mpc_engine *e, uint8_t *pk)
{
    for (uint32_t j = 0; j < e->n; j++) {
        if (j == e->self) continue;
        uint8_t *K = pk + (size_t)j * MPC_PRG_SEEDBYTES;
        const uint8_t *a = s_key(e, 0, j), *b = s_key(e, 1, j);
        for (int i = 0; i < MPC_PRG_SEEDBYTES; i++) K[i] = (uint8_t)(a[i] ^ b[i]);
    }
}

/* Adds this party's part of a fresh zero-sharing (stream `stream`) to z[0..len-1]. */
static int s_add_zero(const mpc_engine *e, const uint8_t *pk, uint64_t stream, uint64_t *z, uint64_t *tmp,
                      uint64_t len)
{
    for (uint32_t j = 0; j < e->n; j++) {
        if (j == e->self) continue;
        int r = mpc_prg_expand(tmp, len, pk + (size_t)j * MPC_PRG_SEEDBYTES, stream, 0);
        if (r) return r;
        if (e->self < j)
            for (uint64_t k = 0; k < len; k++) z[k] += tmp[k];
        else
            for (uint64_t k = 0; k < len; k++) z[k] -= tmp[k];
    }
    return 0;
}

/* A STORED input's share: the stored vector plus this party's part of a zero-sharing. */
static int s_stored_share(mpc_engine *e, const mpc_engine_input *in, uint32_t k, uint64_t *z)
{
    uint64_t n = e->c->inputs[k].len;
    memcpy(z, in->values, (size_t)n * sizeof(uint64_t));
    uint64_t *tmp = s_alloc(n);
    uint8_t *pk = sodium_malloc((size_t)e->n * MPC_PRG_SEEDBYTES);
    int r = MPC_ERR_NOMEM;
    if (tmp && pk) {
        s_pair_keys(e, pk);
        r = s_add_zero(e, pk, MPC_PRG_STREAM(MPC_PRG_D_INZERO, k), z, tmp, n);
    }
    if (tmp) s_wipe_free(tmp, n);
    if (pk) {
        sodium_memzero(pk, (size_t)e->n * MPC_PRG_SEEDBYTES);
        sodium_free(pk);
    }
    return r;
}

static int s_mask_outputs(mpc_engine *e)
{
    const mpc_circuit *c = e->c;
    uint64_t maxlen = 1;
    for (uint32_t o = 0; o < c->n_outputs; o++)
        if (c->outputs[o].len > maxlen) maxlen = c->outputs[o].len;
    uint64_t *tmp = s_alloc(maxlen);
    uint8_t *pk = sodium_malloc((size_t)e->n * MPC_PRG_SEEDBYTES);   /* the pair keys */
    int r = 0;
    if (!tmp || !pk) {
        r = MPC_ERR_NOMEM;
        goto out;
    }
    for (uint32_t j = 0; j < e->n; j++) {
        if (j == e->self) continue;
        uint8_t *K = pk + (size_t)j * MPC_PRG_SEEDBYTES;
        const uint8_t *a = s_key(e, 0, j), *b = s_key(e, 1, j);
        for (int i = 0; i < MPC_PRG_SEEDBYTES; i++) K[i] = (uint8_t)(a[i] ^ b[i]);
    }
    for (uint32_t o = 0; o < c->n_outputs && !r; o++) {
        uint64_t len = c->outputs[o].len, stream = MPC_PRG_STREAM(MPC_PRG_D_OUTZERO, o);
        uint64_t *z = e->out_share[o];
        for (uint32_t j = 0; j < e->n && !r; j++) {
            if (j == e->self) continue;
            if ((r = mpc_prg_expand(tmp, len, pk + (size_t)j * MPC_PRG_SEEDBYTES, stream, 0))) break;
            if (e->self < j)
                for (uint64_t k = 0; k < len; k++) z[k] += tmp[k];
            else
                for (uint64_t k = 0; k < len; k++) z[k] -= tmp[k];
        }
    }
out:
    if (tmp) s_wipe_free(tmp, maxlen);
    if (pk) {
        sodium_memzero(pk, (size_t)e->n * MPC_PRG_SEEDBYTES);
        sodium_free(pk);
    }
    return r;
}

static int s_input_share(mpc_engine *e, const mpc_engine_input *in, uint32_t k, uint64_t *z)
{
    uint64_t n = e->c->inputs[k].len;
    switch (in->mode) {
    case MPC_IN_SHARE:
        memcpy(z, in->values, (size_t)n * sizeof(uint64_t));
        return 0;
    case MPC_IN_SEED:
        return mpc_prg_expand(z, n, in->seed, MPC_PRG_STREAM(MPC_PRG_D_CLIENT, k), 0);
    case MPC_IN_STORED:
        return s_stored_share(e, in, k, z);
    }
    return MPC_ERR_INPUT;
}

/* ---- local gates ---- */

/* daBits fetched at once for a NOISE gate (a request of its own, made in gate order by every
 * party, so the sources see the same sequence everywhere). */
#define S_NOISE_CHUNK ((uint64_t)1 << 20)

/* NOISE: element k is the sum of m = aux[0] daBits' arithmetic shares minus m/2 (party 0
 * subtracts the public m/2), i.e. a share of Bin(m, 1/2) - m/2.  The daBits' XOR shares are
 * not used.  Every element's m bits are fresh, and no party sees any of them. */
static int s_noise(mpc_engine *e, const mpc_gate *g, uint64_t *z)
{
    uint64_t m = g->aux[0], total = g->len * m, done = 0, k = 0, acc = 0, in_k = 0;
    uint64_t chunk = total < S_NOISE_CHUNK ? total : S_NOISE_CHUNK;
    uint64_t *r = s_alloc(chunk), *bits = s_alloc(mpc_bin_words(chunk));
    int rc = 0;
    if (!r || !bits) rc = MPC_ERR_NOMEM;
    while (!rc && done < total) {
        uint64_t n = total - done < chunk ? total - done : chunk;
        mpc_prep_req req = {.n_dabits = n};
        mpc_prep_out out = {.da_r = r, .da_bits = bits};
        uint64_t t0 = mpc_now_us();
        if ((rc = mpc_prep_fetch(e->prep, &req, &out))) break;
        e->st.prep_us += mpc_now_us() - t0;
        e->st.dabits += n;
        for (uint64_t i = 0; i < n; i++) {
            acc += r[i];
            if (++in_k == m) {
                z[k++] = acc - (e->self == 0 ? m / 2 : 0);
                acc = 0;
                in_k = 0;
            }
        }
        done += n;
    }
    s_wipe_free(r, chunk);
    s_wipe_free(bits, mpc_bin_words(chunk));
    return rc;
}

static int s_local(mpc_engine *e, const mpc_engine_input *in, uint32_t gi)
{
    const mpc_circuit *c = e->c;
    const mpc_gate *g = &c->gates[gi];
    uint64_t n = g->len;
    const uint64_t *x = NULL, *y = NULL;
    uint64_t nx = 0, ny = 0;
    if (mpc_gate_infos[g->kind].operands >= 1) { x = e->w[g->in[0]]; nx = c->gates[g->in[0]].len; }
    if (mpc_gate_infos[g->kind].operands >= 2) { y = e->w[g->in[1]]; ny = c->gates[g->in[1]].len; }

    if (g->kind == MPC_G_CONST) {
        e->w[gi] = c->consts + g->aux[0];
        e->owned[gi] = 0;
        return 0;
    }
    if (g->kind == MPC_G_OUTPUT) {
        uint64_t o = g->aux[0];
        if (e->lastuse[g->in[0]] == gi && e->owned[g->in[0]]) {
            e->out_share[o] = e->w[g->in[0]];   /* move */
            e->w[g->in[0]] = NULL;
            e->owned[g->in[0]] = 0;
        } else {
            if (!(e->out_share[o] = s_alloc(n))) return MPC_ERR_NOMEM;
            memcpy(e->out_share[o], x, (size_t)n * sizeof(uint64_t));
        }
        return 0;
    }
    uint64_t *z = s_alloc(n);
    if (!z) return MPC_ERR_NOMEM;
    int r = 0;
    switch (g->kind) {
    case MPC_G_INPUT:   r = s_input_share(e, &in[g->aux[0]], (uint32_t)g->aux[0], z); break;
    case MPC_G_ADD:     mpc_share_add(z, x, nx, y, ny, n); break;
    case MPC_G_SUB:     mpc_share_sub(z, x, nx, y, ny, n); break;
    case MPC_G_NEG:     mpc_share_neg(z, x, nx, n); break;
    case MPC_G_ADD_PUB: mpc_share_add_pub(z, x, nx, y, ny, n, e->self == 0); break;
    case MPC_G_MUL_PUB: mpc_share_mul_pub(z, x, nx, y, ny, n); break;
    case MPC_G_SUM:     z[0] = mpc_share_sum(x, nx); break;
    case MPC_G_NOISE:   r = s_noise(e, g, z); break;
    case MPC_G_SLICE:
        for (uint64_t k = 0; k < n; k++) z[k] = x[g->aux[0] + k * g->aux[1]];
        break;
    case MPC_G_CONCAT:
        memcpy(z, x, (size_t)nx * sizeof(uint64_t));
        memcpy(z + nx, y, (size_t)ny * sizeof(uint64_t));
        break;
    default:
        r = MPC_ERR_CIRCUIT;
    }
    if (r) {
        s_wipe_free(z, n);
        return r;
    }
    e->w[gi] = z;
    e->owned[gi] = 1;
    return 0;
}

/* ---- interactive rounds ---- */

/* Triples gate g consumes (two words opened each); a square consumes none. */
static uint64_t s_triples_of(const mpc_circuit *c, const mpc_gate *g)
{
    return mpc_gate_is_square(g) ? 0 : s_mults_of(c, g);
}

/* Square pairs gate g consumes (one word opened each). */
static uint64_t s_squares_of(const mpc_circuit *c, const mpc_gate *g)
{
    return mpc_gate_is_square(g) ? s_mults_of(c, g) : 0;
}

typedef struct {
    uint32_t *gates;   /* the round's fresh interactive gates (layer = this round) */
    uint32_t  ng;
    uint64_t  T, S, R; /* triples, square pairs, truncation tuples */
    uint64_t  nL, nE;  /* LTZ, EQZ elements starting this round */
    int       trunc_apart;   /* its TRUNC gates run apart (engine_apart.c), not in the round */
    uint64_t  E, B, D, DW;   /* edaBits, binary triple words, daBits, daBit words */
    uint64_t  Wg, W;   /* words opened by the fresh arithmetic gates; in all */
    mpc_prep_trunc_spec *specs;
    uint32_t  nspec;
    uint64_t *mat;     /* a, b, c (T each), sa, sa2 (S each), lo, mid, msb (R each),
                        * eda_r, eda_bits (E each), ba, bb, bc (B each), da_r (D), da_bits (DW) */
    uint64_t  matn;
    uint64_t *mine;    /* own openings, then the opened values */
    uint64_t *rx;      /* one peer's slice of openings (rxn words) */
    uint64_t  rxn;
} s_round;

static void s_round_free(s_round *rd)
{
    s_wipe_free(rd->mat, rd->matn);
    s_wipe_free(rd->mine, rd->W);
    s_wipe_free(rd->rx, rd->rxn);
    free(rd->specs);
    rd->mat = rd->mine = rd->rx = NULL;
    rd->specs = NULL;
}

/* Material pointers into rd->mat. */
static mpc_prep_out s_round_out(const s_round *rd)
{
    mpc_prep_out o;
    uint64_t *p = rd->mat;
    o.a = p;        p += rd->T;
    o.b = p;        p += rd->T;
    o.c = p;        p += rd->T;
    o.sa = p;       p += rd->S;
    o.sa2 = p;      p += rd->S;
    o.r_lo = p;     p += rd->R;
    o.r_mid = p;    p += rd->R;
    o.r_msb = p;    p += rd->R;
    o.eda_r = p;    p += rd->E;
    o.eda_bits = p; p += rd->E;
    o.ba = p;       p += rd->B;
    o.bb = p;       p += rd->B;
    o.bc = p;       p += rd->B;
    o.da_r = p;     p += rd->D;
    o.da_bits = p;
    return o;
}

/* Fetches the round's material, splitting requests with many truncation groups (triples
 * and comparison material come with the first). */
static int s_fetch(mpc_engine *e, s_round *rd)
{
    mpc_prep_out out = s_round_out(rd);
    uint32_t g0 = 0;
    int first = 1;
    do {
        uint32_t ng = rd->nspec - g0 < MPC_PREP_MAX_GROUPS ? rd->nspec - g0 : MPC_PREP_MAX_GROUPS;
        uint64_t rn = 0;
        for (uint32_t g = 0; g < ng; g++) rn += rd->specs[g0 + g].n;
        mpc_prep_req req = {.n_triples = first ? rd->T : 0, .n_squares = first ? rd->S : 0,
                            .trunc = rd->specs + g0, .n_trunc = ng,
                            .n_edabits = first ? rd->E : 0, .n_btriples = first ? rd->B : 0,
                            .n_dabits = first ? rd->D : 0};
        int r = mpc_prep_fetch(e->prep, &req, &out);
        if (r) return r;
        out.r_lo += rn;
        out.r_mid += rn;
        out.r_msb += rn;
        g0 += ng;
        first = 0;
    } while (g0 < rd->nspec);
    return 0;
}

/* Own openings of the round's fresh arithmetic gates into rd->mine[0 .. Wg). */
static void s_openings(mpc_engine *e, s_round *rd)
{
    const mpc_circuit *c = e->c;
    const int p0 = e->self == 0;
    mpc_prep_out mo = s_round_out(rd);
    const uint64_t *a = mo.a, *b = mo.b, *lo = mo.r_lo, *mid = mo.r_mid, *msb = mo.r_msb;
    uint64_t *out = rd->mine, tpos = 0, spos = 0, rpos = 0;
    for (uint32_t i = 0; i < rd->ng; i++) {
        const mpc_gate *g = &c->gates[rd->gates[i]];
        if (s_is_cmp(g->kind)) continue;   /* comparison batches open on their own */
        if (mpc_gate_is_square(g)) {       /* d = x − a: operands of equal length */
            uint64_t L = s_squares_of(c, g);
            const uint64_t *x = e->w[g->in[0]], *A = mo.sa + spos;
            for (uint64_t k = 0; k < L; k++) out[k] = x[k] - A[k];
            out += L;
            spos += L;
            continue;
        }
        if (g->kind == MPC_G_TRUNC) {
            if (rd->trunc_apart) continue;
            s_trunc_open(out, e->w[g->in[0]], lo + rpos, mid + rpos, msb + rpos, g->len, (uint32_t)g->aux[0],
                         (uint32_t)g->aux[1], p0);
            out += g->len;
            rpos += g->len;
            continue;
        }
        uint64_t L = s_triples_of(c, g);
        const uint64_t *A = a + tpos, *Bt = b + tpos;
        uint64_t *d = out, *ev = out + L;
        const uint64_t *x, *y, *y2 = NULL;
        uint64_t sx, sy, sy2 = 0;
        if (g->kind == MPC_G_SELECT) {
            x = e->w[g->in[0]];   sx = c->gates[g->in[0]].len == 1 ? 0 : 1;
            y = e->w[g->in[1]];   sy = c->gates[g->in[1]].len == 1 ? 0 : 1;
            y2 = e->w[g->in[2]];  sy2 = c->gates[g->in[2]].len == 1 ? 0 : 1;
        } else {
            x = e->w[g->in[0]];   sx = c->gates[g->in[0]].len == 1 && L > 1 ? 0 : 1;
            y = e->w[g->in[1]];   sy = c->gates[g->in[1]].len == 1 && L > 1 ? 0 : 1;
        }
        if (sx && sy && !y2) {
            for (uint64_t k = 0; k < L; k++) {
                d[k] = x[k] - A[k];
                ev[k] = y[k] - Bt[k];
            }
        } else if (!y2) {
            for (uint64_t k = 0; k < L; k++) {
                d[k] = x[k * sx] - A[k];
                ev[k] = y[k * sy] - Bt[k];
            }
        } else {
            for (uint64_t k = 0; k < L; k++) {
                d[k] = x[k * sx] - A[k];
                ev[k] = (y[k * sy] - y2[k * sy2]) - Bt[k];
            }
        }
        out += 2 * L;
        tpos += L;
    }
}

/* A square's output from the opened d = x − a and the pair (a, a²):
 * x² = a² + 2·d·a + d², the public d² added by party 0; a DOT sums it per segment. */
static void s_square_finish(const mpc_gate *g, uint64_t L, int p0, const uint64_t *d,
                            const uint64_t *A, const uint64_t *A2, uint64_t *z)
{
    uint64_t seg = g->kind == MPC_G_DOT ? (g->aux[0] ? g->aux[0] : L) : 1;
    for (uint64_t j = 0, k = 0; j < g->len; j++) {
        uint64_t sum = 0, end = k + seg < L ? k + seg : L;
        if (p0)
            for (; k < end; k++) sum += A2[k] + 2 * d[k] * A[k] + d[k] * d[k];
        else
            for (; k < end; k++) sum += A2[k] + 2 * d[k] * A[k];
        z[j] = sum;
    }
}

/* Outputs of the round's fresh arithmetic gates from the opened values in rd->mine. */
static int s_finish(mpc_engine *e, s_round *rd)
{
    const mpc_circuit *c = e->c;
    const int p0 = e->self == 0;
    mpc_prep_out mo = s_round_out(rd);
    const uint64_t *a = mo.a, *b = mo.b, *cc = mo.c, *mid = mo.r_mid, *msb = mo.r_msb;
    const uint64_t *op = rd->mine;
    uint64_t tpos = 0, spos = 0, rpos = 0;
    for (uint32_t i = 0; i < rd->ng; i++) {
        uint32_t gi = rd->gates[i];
        const mpc_gate *g = &c->gates[gi];
        if (s_is_cmp(g->kind) || (g->kind == MPC_G_TRUNC && rd->trunc_apart)) continue;
        uint64_t *z = s_alloc(g->len);
        if (!z) return MPC_ERR_NOMEM;
        if (g->kind == MPC_G_TRUNC) {
            s_trunc_finish(z, op, mid + rpos, msb + rpos, g->len, (uint32_t)g->aux[0], (uint32_t)g->aux[1], p0);
            op += g->len;
            rpos += g->len;
        } else if (mpc_gate_is_square(g)) {
            uint64_t L = s_squares_of(c, g);
            s_square_finish(g, L, p0, op, mo.sa + spos, mo.sa2 + spos, z);
            op += L;
            spos += L;
        } else {
            uint64_t L = s_triples_of(c, g);
            const uint64_t *A = a + tpos, *Bt = b + tpos, *C = cc + tpos;
            const uint64_t *d = op, *ev = op + L;
            if (g->kind == MPC_G_DOT) {
                /* One sum per segment (aux[0] elements; 0: the whole vector). */
                uint64_t seg = g->aux[0] ? g->aux[0] : L;
                for (uint64_t j = 0, k = 0; j < g->len; j++) {
                    uint64_t s = 0, end = k + seg < L ? k + seg : L;
                    if (p0)
                        for (; k < end; k++) s += C[k] + d[k] * Bt[k] + ev[k] * A[k] + d[k] * ev[k];
                    else
                        for (; k < end; k++) s += C[k] + d[k] * Bt[k] + ev[k] * A[k];
                    z[j] = s;
                }
            } else {
                s_beaver(z, A, Bt, C, d, ev, L, p0);
                if (g->kind == MPC_G_SELECT) {
                    const uint64_t *y2 = e->w[g->in[2]];
                    uint64_t s2 = c->gates[g->in[2]].len == 1 ? 0 : 1;
                    for (uint64_t k = 0; k < L; k++) z[k] += y2[k * s2];
                }
            }
            op += 2 * L;
            tpos += L;
        }
        e->w[gi] = z;
        e->owned[gi] = 1;
    }
    return 0;
}

/* Starts the comparison batches of this round's fresh LTZ and EQZ gates (one per kind),
 * handing each its slice of the round's material. */
static int s_flights_start(mpc_engine *e, s_round *rd, uint32_t layer)
{
    const mpc_circuit *c = e->c;
    mpc_prep_out mo = s_round_out(rd);
    uint64_t eoff = 0, boff = 0;
    static const uint8_t kinds[2] = {MPC_G_LTZ, MPC_G_EQZ};
    for (int t = 0; t < 2; t++) {
        uint64_t n = t == 0 ? rd->nL : rd->nE;
        if (!n) continue;
        mpc_cmp_kind ck = t == 0 ? MPC_CMP_LTZ : MPC_CMP_EQZ;
        if (e->nfl >= S_MAX_FLIGHTS) return MPC_ERR_STATE;
        s_flight *f = &e->fl[e->nfl];
        memset(f, 0, sizeof *f);
        mpc_cmp_material m = {.eda_r = mo.eda_r + eoff, .eda_bits = mo.eda_bits + eoff,
                              .ba = mo.ba + boff, .bb = mo.bb + boff, .bc = mo.bc + boff,
                              .da_r = mo.da_r + eoff, .da_bits = mo.da_bits, .da_off = eoff};
        f->cmp = mpc_cmp_new(ck, n, e->self, &m);
        f->gates = malloc((size_t)rd->ng * sizeof *f->gates);
        if (!f->cmp || !f->gates) {
            mpc_cmp_destroy(&f->cmp);
            free(f->gates);
            f->gates = NULL;
            return MPC_ERR_NOMEM;
        }
        for (uint32_t i = 0; i < rd->ng; i++)
            if (c->gates[rd->gates[i]].kind == kinds[t]) f->gates[f->ng++] = rd->gates[i];
        f->start = layer;
        e->nfl++;
        eoff += n;
        boff += mpc_cmp_btriple_words(ck, n);
    }
    return 0;
}

/* Own words of every batch in flight, after the fresh gates' words. */
static int s_flights_open(mpc_engine *e, s_round *rd)
{
    const mpc_circuit *c = e->c;
    for (uint32_t i = 0; i < e->nfl; i++) {
        s_flight *f = &e->fl[i];
        uint64_t *x = NULL, n = 0;
        if (mpc_cmp_step(f->cmp) == 0) {   /* gather the compared values */
            for (uint32_t k = 0; k < f->ng; k++) n += c->gates[f->gates[k]].len;
            if (!(x = s_alloc(n))) return MPC_ERR_NOMEM;
            uint64_t pos = 0;
            for (uint32_t k = 0; k < f->ng; k++) {
                const mpc_gate *g = &c->gates[f->gates[k]];
                memcpy(x + pos, e->w[g->in[0]], (size_t)g->len * 8);
                pos += g->len;
            }
        }
        mpc_cmp_open(f->cmp, x, rd->mine + f->off);
        s_wipe_free(x, n);
    }
    return 0;
}

/* Takes every batch's opened words; a batch that finished writes its gates' outputs. */
static int s_flights_absorb(mpc_engine *e, s_round *rd)
{
    const mpc_circuit *c = e->c;
    int r;
    for (uint32_t i = 0; i < e->nfl; i++) {
        s_flight *f = &e->fl[i];
        if ((r = mpc_cmp_absorb(f->cmp, rd->mine + f->off))) return r;
        if (mpc_cmp_step(f->cmp) < MPC_CMP_ROUNDS) continue;
        const uint64_t *res = mpc_cmp_result(f->cmp);
        uint64_t pos = 0;
        for (uint32_t k = 0; k < f->ng; k++) {
            uint32_t gi = f->gates[k];
            uint64_t len = c->gates[gi].len;
            uint64_t *z = s_alloc(len);
            if (!z) return MPC_ERR_NOMEM;   /* the flight is still listed and freed on exit */
            memcpy(z, res + pos, (size_t)len * 8);
            pos += len;
            e->w[gi] = z;
            e->owned[gi] = 1;
            if (e->lastuse[gi] == gi) s_release(e, gi);
        }
        mpc_cmp_destroy(&f->cmp);
        free(f->gates);
        f->gates = NULL;
    }
    uint32_t keep = 0;   /* drop finished batches, keeping the order */
    for (uint32_t i = 0; i < e->nfl; i++)
        if (e->fl[i].cmp) e->fl[keep++] = e->fl[i];
    memset(e->fl + keep, 0, (size_t)(S_MAX_FLIGHTS - keep) * sizeof e->fl[0]);
    e->nfl = keep;
    return 0;
}

/* Words of material for rd's counts (the layout of s_round_out). */
static uint64_t s_matn(const s_round *rd)
{
    return 3 * rd->T + 2 * rd->S + 3 * rd->R + 2 * rd->E + 3 * rd->B + rd->D + rd->DW;
}

/* The material a round's fresh gates (rd->gates, rd->ng) need: counts and truncation groups
 * (rd->specs, allocated).  0 or MPC_ERR_NOMEM. */
static int s_round_plan(const mpc_engine *e, s_round *rd)
{
    const mpc_circuit *c = e->c;
    rd->T = rd->S = rd->R = rd->Wg = rd->nL = rd->nE = 0;
    rd->nspec = 0;
    rd->trunc_apart = mpc_eng_apart(e, rd->gates, rd->ng, MPC_G_TRUNC);
    for (uint32_t i = 0; i < rd->ng; i++) {
        const mpc_gate *g = &c->gates[rd->gates[i]];
        if (g->kind == MPC_G_TRUNC) {
            if (rd->trunc_apart) continue;
            rd->R += g->len;
            rd->Wg += g->len;
            rd->nspec++;
        } else if (g->kind == MPC_G_LTZ) {
            rd->nL += g->len;
        } else if (g->kind == MPC_G_EQZ) {
            rd->nE += g->len;
        } else if (mpc_gate_is_square(g)) {
            uint64_t L = s_squares_of(c, g);
            rd->S += L;
            rd->Wg += L;
        } else {
            uint64_t L = s_triples_of(c, g);
            rd->T += L;
            rd->Wg += 2 * L;
        }
    }
    if (mpc_eng_apart(e, rd->gates, rd->ng, MPC_G_LTZ)) rd->nL = 0;   /* runs apart with its own material */
    if (mpc_eng_apart(e, rd->gates, rd->ng, MPC_G_EQZ)) rd->nE = 0;
    rd->E = rd->D = rd->nL + rd->nE;
    rd->DW = mpc_bin_words(rd->D);
    rd->B = mpc_cmp_btriple_words(MPC_CMP_LTZ, rd->nL) + mpc_cmp_btriple_words(MPC_CMP_EQZ, rd->nE);
    rd->matn = s_matn(rd);
    rd->specs = calloc(rd->nspec ? rd->nspec : 1, sizeof *rd->specs);
    if (!rd->specs) return MPC_ERR_NOMEM;
    uint32_t ns = 0;
    for (uint32_t i = 0; i < rd->ng; i++) {
        const mpc_gate *g = &c->gates[rd->gates[i]];
        if (g->kind != MPC_G_TRUNC || rd->trunc_apart) continue;
        /* adjacent gates with the same (m, l) share one group */
        if (ns && rd->specs[ns - 1].m == g->aux[0] && rd->specs[ns - 1].l == g->aux[1]) {
            rd->specs[ns - 1].n += g->len;
        } else {
            rd->specs[ns].m = (uint32_t)g->aux[0];
            rd->specs[ns].l = (uint32_t)g->aux[1];
            rd->specs[ns].n = g->len;
            ns++;
        }
    }
    rd->nspec = ns;
    return 0;
}

/* Fetches the material of as many layers from `layer` on as fit in o.prefetch_words (at
 * least this one) into the window, in one request (split only as s_fetch splits groups). */
static int s_win_fill(mpc_engine *e, uint32_t layer)
{
    const mpc_circuit *c = e->c;
    uint32_t nl = c->rounds + 1, L;
    s_round tot = {0}, one = {0};
    mpc_prep_trunc_spec *specs = NULL;
    uint32_t nspec = 0;
    int r = 0;
    s_win_free(e);
    for (L = layer; L < nl; L++) {
        if (L > layer && e->streamed && e->streamed[L]) break;   /* streams its own material */
        one.gates = (uint32_t *)e->order + e->start[2 * L + 1];
        one.ng = e->start[2 * L + 2] - e->start[2 * L + 1];
        if (!one.ng) continue;
        if ((r = s_round_plan(e, &one))) goto out;
        uint64_t words = tot.matn + one.matn;
        int over = tot.T + one.T > MPC_PREP_MAX_BATCH || tot.S + one.S > MPC_PREP_MAX_BATCH ||
                   tot.R + one.R > MPC_PREP_MAX_BATCH ||
                   tot.E + one.E > MPC_PREP_MAX_BATCH || tot.B + one.B > MPC_PREP_MAX_BATCH;
        if (L > layer && (words > e->o.prefetch_words || over)) {
            free(one.specs);
            one.specs = NULL;
            break;
        }
        mpc_prep_trunc_spec *ns = realloc(specs, ((size_t)nspec + one.nspec + 1) * sizeof *ns);
        if (!ns) {
            r = MPC_ERR_NOMEM;
            goto out;
        }
        specs = ns;
        memcpy(specs + nspec, one.specs, (size_t)one.nspec * sizeof *specs);
        nspec += one.nspec;
        free(one.specs);
        one.specs = NULL;
        tot.T += one.T;
        tot.S += one.S;
        tot.R += one.R;
        tot.E += one.E;
        tot.B += one.B;
        tot.D += one.D;
        tot.DW = mpc_bin_words(tot.D);
        tot.matn = s_matn(&tot);
    }
    e->win_hi = L;
    tot.specs = specs;
    tot.nspec = nspec;
    if (!(tot.mat = s_alloc(tot.matn))) {
        r = MPC_ERR_NOMEM;
        goto out;
    }
    e->win = tot.mat;
    e->win_n = tot.matn;
    e->wT = tot.T;
    e->wS = tot.S;
    e->wR = tot.R;
    e->wE = tot.E;
    e->wB = tot.B;
    e->wD = tot.D;
    e->cT = e->cS = e->cR = e->cE = e->cB = e->cD = 0;
    r = s_fetch(e, &tot);
out:
    free(one.specs);
    free(specs);
    return r;
}

/* Bits [off, off + nbits) of the packed array src (srcw words) into dst (ceil(nbits/64)
 * words, lane i = bit off + i). */
static void s_bits_copy(uint64_t *dst, const uint64_t *src, uint64_t srcw, uint64_t off, uint64_t nbits)
{
    uint64_t q = off / 64, sh = off % 64, nw = mpc_bin_words(nbits);
    for (uint64_t i = 0; i < nw; i++) {
        uint64_t lo = q + i < srcw ? src[q + i] : 0, hi = q + i + 1 < srcw ? src[q + i + 1] : 0;
        dst[i] = sh ? (lo >> sh) | (hi << (64 - sh)) : lo;
    }
}

/* This round's material from the window (fetching a new window when it is used up): moved
 * when the window holds exactly this round, else copied out of it. */
static int s_win_take(mpc_engine *e, uint32_t layer, s_round *rd)
{
    int r;
    if (!e->win || layer >= e->win_hi) {
        if ((r = s_win_fill(e, layer))) return r;
    }
    if (!e->cT && !e->cS && !e->cR && !e->cE && !e->cB && !e->cD && e->wT == rd->T &&
        e->wS == rd->S && e->wR == rd->R && e->wE == rd->E && e->wB == rd->B && e->wD == rd->D) {
        s_wipe_free(rd->mat, rd->matn);   /* nothing in it yet */
        rd->mat = e->win;
        e->win = NULL;
        e->win_n = 0;
        return 0;
    }
    s_round w = {.T = e->wT, .S = e->wS, .R = e->wR, .E = e->wE, .B = e->wB, .D = e->wD, .mat = e->win};
    mpc_prep_out src = s_round_out(&w), dst = s_round_out(rd);
#define S_CP(f, off, n) if (n) memcpy(dst.f, src.f + (off), (size_t)(n) * 8)
    S_CP(a, e->cT, rd->T);
    S_CP(b, e->cT, rd->T);
    S_CP(c, e->cT, rd->T);
    S_CP(sa, e->cS, rd->S);
    S_CP(sa2, e->cS, rd->S);
    S_CP(r_lo, e->cR, rd->R);
    S_CP(r_mid, e->cR, rd->R);
    S_CP(r_msb, e->cR, rd->R);
    S_CP(eda_r, e->cE, rd->E);
    S_CP(eda_bits, e->cE, rd->E);
    S_CP(ba, e->cB, rd->B);
    S_CP(bb, e->cB, rd->B);
    S_CP(bc, e->cB, rd->B);
    S_CP(da_r, e->cD, rd->D);
#undef S_CP
    if (rd->D) s_bits_copy(dst.da_bits, src.da_bits, mpc_bin_words(e->wD), e->cD, rd->D);
    e->cT += rd->T;
    e->cS += rd->S;
    e->cR += rd->R;
    e->cE += rd->E;
    e->cB += rd->B;
    e->cD += rd->D;
    if (layer + 1 >= e->win_hi) s_win_free(e);   /* every layer of it has run */
    return 0;
}

/* Adds a peer's words [lo, hi) of the round (in rx, from rx[0]) into acc: summed in the fresh
 * arithmetic part and in an arithmetic batch's segment, XOR-ed in a GF(2) batch's. */
static void s_absorb(const mpc_engine *e, const s_round *rd, uint64_t *acc, const uint64_t *rx,
                     uint64_t lo, uint64_t hi)
{
    for (uint32_t i = 0; i <= e->nfl; i++) {   /* segment 0: the fresh gates; i ≥ 1: batch i − 1 */
        uint64_t a = i ? e->fl[i - 1].off : 0, b = i < e->nfl ? e->fl[i].off : rd->W;
        int arith = i ? e->fl[i - 1].arith : 1;
        if (a < lo) a = lo;
        if (b > hi) b = hi;
        if (arith)
            for (uint64_t k = a; k < b; k++) acc[k] += rx[k - lo];
        else
            for (uint64_t k = a; k < b; k++) acc[k] ^= rx[k - lo];
    }
}

static int s_send_slice(mpc_engine *e, uint32_t layer, s_round *rd, uint64_t s, char *err, size_t errlen)
{
    uint64_t lo = s * e->slice, cnt = rd->W - lo < e->slice ? rd->W - lo : e->slice;
    for (uint32_t j = 0; j < e->n; j++) {
        if (j == e->self) continue;
        int r = mpc_eng_peer_rc(e, j, mpc_send(e->t, j, MPC_MSG_OPEN, e->o.stream, (uint64_t)layer | s << 32,
                                         rd->mine + lo, cnt));
        if (r)
            return mpc_errc(err, errlen, r, "round %u: sending to party %u: %s", (unsigned)layer, (unsigned)j,
                          mpc_strerror(r));
        e->st.open_bytes_sent += cnt * 8;
    }
    return 0;
}

/* The round's exchange: this party's openings (rd->mine, W words) to every peer and the sum
 * of everyone's back into rd->mine, slice by slice (engine.h, slice_words).  Slices up to
 * MPC_ENGINE_SLICE_WINDOW ahead are sent before slice s is received, so latency is paid once
 * per window, not per slice; a slice is summed into mine only after it was sent (the
 * transport copies what it sends). */
static int s_exchange(mpc_engine *e, uint32_t layer, s_round *rd, char *err, size_t errlen)
{
    uint64_t ns = rd->W ? (rd->W + e->slice - 1) / e->slice : 1, sent = 0;
    int r;
    for (uint64_t s = 0; s < ns; s++) {
        for (; sent < ns && sent < s + MPC_ENGINE_SLICE_WINDOW; sent++)
            if ((r = s_send_slice(e, layer, rd, sent, err, errlen))) return r;
        uint64_t lo = s * e->slice, cnt = rd->W - lo < e->slice ? rd->W - lo : e->slice;
        for (uint32_t j = 0; j < e->n; j++) {
            if (j == e->self) continue;
            if ((r = mpc_eng_take_keys(e, j, err, errlen))) return r;
            if ((r = mpc_eng_peer_rc(e, j, mpc_recv(e->t, j, MPC_MSG_OPEN, e->o.stream, (uint64_t)layer | s << 32,
                                              rd->rx, cnt, e->o.timeout_ms))))
                return mpc_errc(err, errlen, r, "round %u: receiving from party %u: %s", (unsigned)layer,
                              (unsigned)j, mpc_strerror(r));
            e->st.open_bytes_recv += cnt * 8;
            s_absorb(e, rd, rd->mine, rd->rx, lo, lo + cnt);
        }
    }
    return 0;
}

static int s_round_run(mpc_engine *e, uint32_t layer, s_round *rd, char *err, size_t errlen)
{
    int r;
    /* big comparison and truncation batches first, part by part (engine_apart.c) */
    if ((r = mpc_eng_apart_run(e, layer, rd->gates, rd->ng, err, errlen))) return r;
    if (e->streamed && e->streamed[layer]) return mpc_eng_stream_round(e, layer, rd->gates, rd->ng, NULL, err, errlen);
    if ((r = s_round_plan(e, rd)))
        return mpc_errc(err, errlen, r, "round %u: out of memory", (unsigned)layer);
    if (!(rd->mat = s_alloc(rd->matn)))
        return mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: out of memory", (unsigned)layer);
    uint64_t t0 = mpc_now_us();
    if (rd->ng && (r = e->o.prefetch_words ? s_win_take(e, layer, rd) : s_fetch(e, rd)))
        return mpc_errc(err, errlen, r, "round %u: preprocessing: %s", (unsigned)layer, mpc_strerror(r));
    e->st.prep_us += mpc_now_us() - t0;
    uint64_t held = 0;
    s_mat_held(e, &held, (int64_t)(rd->matn + e->win_n));
    e->st.triples += rd->T;
    e->st.squares += rd->S;
    e->st.trunc += rd->R;
    e->st.edabits += rd->E;
    e->st.btriples += rd->B;
    e->st.dabits += rd->D;
    e->st.comparisons += rd->nL + rd->nE;
    if (e->nfl == 0 && mpc_eng_sliced(e, rd->gates, rd->ng)) {
        /* products only, more than one slice: pipelined slice by slice (engine_stream.c) */
        mpc_prep_out mo = s_round_out(rd);
        return mpc_eng_stream_round(e, layer, rd->gates, rd->ng, &mo, err, errlen);
    }
    if ((r = s_flights_start(e, rd, layer)))
        return mpc_errc(err, errlen, r, "round %u: out of memory", (unsigned)layer);

    /* Message layout: [fresh arithmetic gates, gate order][each batch in flight, oldest
     * first, LTZ before EQZ of one layer].  Every batch's words are summed in its
     * sub-round 0 and XOR-ed (GF(2) shares) in every later one. */
    rd->W = rd->Wg;
    for (uint32_t i = 0; i < e->nfl; i++) {
        e->fl[i].off = rd->W;
        e->fl[i].arith = mpc_cmp_open_is_arith(e->fl[i].cmp);
        rd->W += mpc_cmp_open_words(e->fl[i].cmp);
    }
    rd->mine = s_alloc(rd->W);
    rd->rxn = rd->W < e->slice ? rd->W : e->slice;
    rd->rx = s_alloc(rd->rxn);
    if (!rd->mine || !rd->rx)
        return mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: out of memory", (unsigned)layer);

    s_openings(e, rd);
    if ((r = s_flights_open(e, rd)))
        return mpc_errc(err, errlen, r, "round %u: out of memory", (unsigned)layer);
    if ((r = s_exchange(e, layer, rd, err, errlen))) return r;
    if ((r = s_finish(e, rd)) || (r = s_flights_absorb(e, rd)))
        return mpc_errc(err, errlen, r, "round %u: %s", (unsigned)layer, mpc_strerror(r));
    e->st.rounds++;
    return 0;
}

/* ---- the job ---- */

static void s_counters(const mpc_transport *t, mpc_engine_stats *st)
{
    st->bytes_sent = t->bytes_sent;
    st->bytes_recv = t->bytes_recv;
    st->msgs_sent = t->msgs_sent;
    st->msgs_recv = t->msgs_recv;
}

int mpc_engine_run(mpc_engine *e, const mpc_engine_input *inputs, char *err, size_t errlen)
{
    uint8_t *zkeys = sodium_malloc((size_t)MPC_MAX_PARTIES * MPC_PRG_SEEDBYTES);
    if (!zkeys) {
        if (err && errlen) err[0] = 0;
        if (e->state != S_IDLE)
            return mpc_errc(err, errlen, MPC_ERR_STATE, "the engine has already run");
        e->state = S_FAILED;
        s_abort_peers(e, MPC_ERR_NOMEM);
        return mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
    }
    randombytes_buf(zkeys, (size_t)MPC_MAX_PARTIES * MPC_PRG_SEEDBYTES);
    int r = mpc_engine_run_keyed(e, inputs, zkeys, err, errlen);
    sodium_memzero(zkeys, (size_t)MPC_MAX_PARTIES * MPC_PRG_SEEDBYTES);
    sodium_free(zkeys);
    return r;
}

int mpc_engine_run_keyed(mpc_engine *e, const mpc_engine_input *inputs, const uint8_t *zkeys,
                         char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    int r = 0;
    uint32_t *order = NULL, *start = NULL;
    s_round rd = {0};
    if (err && errlen) err[0] = 0;
    if (e->state != S_IDLE)
        return mpc_errc(err, errlen, MPC_ERR_STATE, "the engine has already run");
    e->state = S_FAILED;
    memset(&e->st, 0, sizeof e->st);
    e->st.lost = e->st.abort_from = e->st.abort_lost = MPC_ABORT_NO_PARTY;
    s_counters(e->t, &e->base);
    uint64_t t_start = mpc_now_us();

    /* Refusals that touch nothing and need no abort: every party refuses alike. */
    char verr[256];
    if (mpc_circ_validate(c, NULL, verr, sizeof verr))
        return mpc_errc(err, errlen, MPC_ERR_CIRCUIT, "invalid circuit: %s", verr);
    if ((r = mpc_engine_supported(c, err, errlen))) return r;
    if ((r = s_prep_supported(e, err, errlen))) return r;

    if (!inputs && c->n_inputs) {
        r = mpc_errc(err, errlen, MPC_ERR_INPUT, "no inputs given");
        goto out;
    }
    if ((r = s_check_inputs(e, inputs, err, errlen))) goto out;

    /* Gates by layer: local ones first within a layer (counting sort keeps index order). */
    uint32_t nl = c->rounds + 1;
    order = malloc((size_t)c->n_gates * sizeof *order);
    start = calloc(2 * (size_t)nl + 1, sizeof *start);
    rd.gates = NULL;
    if (!order || !start) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < c->n_gates; i++) {
        const mpc_gate *g = &c->gates[i];
        start[2 * g->layer + s_interactive(g->kind) + 1]++;
    }
    for (uint32_t s = 1; s <= 2 * nl; s++) start[s] += start[s - 1];
    {
        uint32_t *fill = malloc((2 * (size_t)nl) * sizeof *fill);
        if (!fill) {
            r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
            goto out;
        }
        memcpy(fill, start, 2 * (size_t)nl * sizeof *fill);
        for (uint32_t i = 0; i < c->n_gates; i++) {
            const mpc_gate *g = &c->gates[i];
            order[fill[2 * g->layer + s_interactive(g->kind)]++] = i;
        }
        free(fill);
    }

    e->order = order;
    e->start = start;
    if (e->o.stream_chunk && mpc_eng_stream_plan(e)) {
        r = mpc_errc(err, errlen, MPC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!zkeys) {
        r = mpc_errc(err, errlen, MPC_ERR_INVALID, "no zero-sharing keys given");
        goto out;
    }
    if ((r = s_send_keys(e, zkeys, err, errlen))) goto out;
    for (uint32_t k = 0; k < c->n_inputs; k++)
        if (inputs[k].mode == MPC_IN_STORED) {   /* its re-randomization needs every pair key now */
            for (uint32_t j = 0; j < e->n; j++)
                if (j != e->self && (r = mpc_eng_take_keys(e, j, err, errlen))) goto out;
            break;
        }

    uint32_t in_last = 0;   /* the last layer with an INPUT gate (0: the compiler's) */
    for (uint32_t i = 0; i < c->n_gates; i++)
        if (c->gates[i].kind == MPC_G_INPUT && c->gates[i].layer > in_last) in_last = c->gates[i].layer;
    for (uint32_t layer = 0; layer < nl; layer++) {
        for (uint32_t p = start[2 * layer]; p < start[2 * layer + 1]; p++) {
            uint32_t gi = order[p];
            if ((r = s_local(e, inputs, gi))) {
                mpc_errc(err, errlen, r, "gate %u (%s, line %u): %s", (unsigned)gi,
                       mpc_gate_infos[c->gates[gi].kind].name, (unsigned)c->gates[gi].line,
                       mpc_strerror(r));
                goto out;
            }
            s_release_operands(e, gi);
            if (e->lastuse[gi] == gi && c->gates[gi].kind != MPC_G_OUTPUT) s_release(e, gi);
        }
        if (layer == in_last && e->o.inputs_read) e->o.inputs_read(e->o.inputs_ctx);
        rd.gates = order + start[2 * layer + 1];
        rd.ng = start[2 * layer + 2] - start[2 * layer + 1];
        if (rd.ng == 0 && e->nfl == 0) continue;
        if (e->o.deadline_ms && mpc_now_ms() > e->o.deadline_ms) {
            r = mpc_errc(err, errlen, MPC_ERR_TIMEOUT, "round %u: the job ran past its time limit", (unsigned)layer);
            goto out;
        }
        if (e->o.cancel && atomic_load(e->o.cancel)) {
            r = mpc_errc(err, errlen, MPC_ERR_CANCELLED, "round %u: the job was cancelled", (unsigned)layer);
            goto out;
        }
        if ((r = s_round_run(e, layer, &rd, err, errlen))) goto out;
        if (e->o.progress) e->o.progress(e->o.progress_ctx, layer + 1, e->st.triples);
        for (uint32_t i = 0; i < rd.ng; i++) s_release_operands(e, rd.gates[i]);
        for (uint32_t i = 0; i < rd.ng; i++)
            if (e->lastuse[rd.gates[i]] == rd.gates[i]) s_release(e, rd.gates[i]);
        s_round_free(&rd);
    }
    if (e->nfl) {   /* cannot happen in a valid circuit: every batch ends by c->rounds */
        r = mpc_errc(err, errlen, MPC_ERR_STATE, "comparisons still running after the last round");
        goto out;
    }
    for (uint32_t j = 0; j < e->n; j++)   /* peers not heard from in any round */
        if (j != e->self && (r = mpc_eng_take_keys(e, j, err, errlen))) goto out;
    if ((r = s_mask_outputs(e))) {
        mpc_errc(err, errlen, r, "masking the outputs: %s", mpc_strerror(r));
        goto out;
    }
    e->state = S_DONE;
    r = 0;
out:
    s_round_free(&rd);
    s_win_free(e);
    e->order = e->start = NULL;
    free(e->streamed);
    e->streamed = NULL;
    free(order);
    free(start);
    if (e->keys) sodium_memzero(e->keys, S_KEYBYTES(e->n));
    if (r) {
        s_abort_peers(e, r);
        s_wipe_all(e);
        mpc_transport_forget(e->t, e->o.stream);
    }
    mpc_engine_stats cur;
    s_counters(e->t, &cur);
    e->st.bytes_sent = cur.bytes_sent - e->base.bytes_sent;
    e->st.bytes_recv = cur.bytes_recv - e->base.bytes_recv;
    e->st.msgs_sent = cur.msgs_sent - e->base.msgs_sent;
    e->st.msgs_recv = cur.msgs_recv - e->base.msgs_recv;
    e->st.run_us = mpc_now_us() - t_start;
    return r;
}

const uint64_t *mpc_engine_share(const mpc_engine *e, uint32_t o)
{
    if (e->state != S_DONE || o >= e->c->n_outputs) return NULL;
    return e->out_share[o];
}

void mpc_engine_stats_get(const mpc_engine *e, mpc_engine_stats *st)
{
    *st = e->st;
}
