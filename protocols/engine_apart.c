/* engine_apart.c — batches run apart (docs/engine.md, "Batches run apart").
 *
 * A layer's LTZ (or EQZ) batch normally rides along the next 8 rounds as a flight
 * (engine.c): every element's edaBit, binary triples, daBit and carry state are held from
 * the first sub-round to the last, about 160 bytes per element — 5 GB for 3 × 10^7
 * comparisons.  A layer's TRUNC gates take their tuples (3 words per element) with the rest
 * of the round's material, fetched whole.  When a layer has more than cmp_apart elements of
 * one of these kinds, they run before its round instead, in parts of at most cmp_apart
 * elements (crossing gate boundaries): each part fetches its own material, runs its
 * sub-rounds (8 for a comparison, 1 for a truncation) in messages of its own, writes its
 * results into the gates' wires and is wiped before the next part starts.  The results are
 * ready no later than the layering needs them, so nothing else changes; the rest of the
 * layer's round runs as before (and, if only products remain, may stream).  Which gates run
 * apart follows from the circuit and cmp_apart alone, so every party decides alike. */
#include "engine_int.h"

#include <string.h>

#include "binshare.h"
#include "clock.h"
#include "mpc_err.h"

#define S_APART_SEQ   (1ull << 31)   /* seq = layer | S_APART_SEQ | message << 32 */
#define S_PART_MAX    ((uint64_t)1 << 24)

static uint64_t s_apart(const mpc_engine *e)
{
    return e->o.cmp_apart ? e->o.cmp_apart : MPC_ENGINE_CMP_APART;
}

static uint64_t s_count(const mpc_engine *e, const uint32_t *gates, uint32_t ng, uint8_t kind)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < ng; i++)
        if (e->c->gates[gates[i]].kind == kind) n += e->c->gates[gates[i]].len;
    return n;
}

int mpc_eng_apart(const mpc_engine *e, const uint32_t *gates, uint32_t ng, uint8_t kind)
{
    return s_count(e, gates, ng, kind) > s_apart(e);
}

int mpc_eng_cmp_flight(const mpc_engine *e, const uint32_t *gates, uint32_t ng)
{
    uint64_t nl = s_count(e, gates, ng, MPC_G_LTZ), ne = s_count(e, gates, ng, MPC_G_EQZ);
    return (nl && nl <= s_apart(e)) || (ne && ne <= s_apart(e));
}

/* W words of mine summed (arith) or XOR-ed with every peer's, in messages of at most
 * e->slice words, up to MPC_ENGINE_SLICE_WINDOW of them sent ahead of the one received; *msg
 * numbers the layer's messages run apart.  rx: e->slice words.  what: "comparisons" or
 * "truncations", for the errors. */
static int s_xchg(mpc_engine *e, uint32_t layer, uint64_t *msg, uint64_t *mine, uint64_t W, int arith,
                  uint64_t *rx, const char *what, char *err, size_t errlen)
{
    uint64_t ns = W ? (W + e->slice - 1) / e->slice : 1, sent = 0, m0 = *msg;
    int r;
    if (m0 + ns >= (1ull << 32))   /* the message number must fit in seq's upper half */
        return mpc_errc(err, errlen, MPC_ERR_CIRCUIT, "round %u: %s: too many messages", (unsigned)layer, what);
    *msg += ns;
    for (uint64_t s = 0; s < ns; s++) {
        for (; sent < ns && sent < s + MPC_ENGINE_SLICE_WINDOW; sent++) {
            uint64_t lo = sent * e->slice, cnt = W - lo < e->slice ? W - lo : e->slice;
            uint64_t seq = (uint64_t)layer | S_APART_SEQ | (m0 + sent) << 32;
            for (uint32_t j = 0; j < e->n; j++) {
                if (j == e->self) continue;
                if ((r = mpc_eng_peer_rc(e, j, mpc_send(e->t, j, MPC_MSG_OPEN, e->o.stream, seq, mine + lo, cnt))))
                    return mpc_errc(err, errlen, r, "round %u: %s: sending to party %u: %s", (unsigned)layer,
                                    what, (unsigned)j, mpc_strerror(r));
                e->st.open_bytes_sent += cnt * 8;
            }
        }
        uint64_t lo = s * e->slice, cnt = W - lo < e->slice ? W - lo : e->slice;
        uint64_t seq = (uint64_t)layer | S_APART_SEQ | (m0 + s) << 32;
        for (uint32_t j = 0; j < e->n; j++) {
            if (j == e->self) continue;
            if ((r = mpc_eng_take_keys(e, j, err, errlen))) return r;
            if ((r = mpc_eng_peer_rc(e, j, mpc_recv(e->t, j, MPC_MSG_OPEN, e->o.stream, seq, rx, cnt,
                                                    e->o.timeout_ms))))
                return mpc_errc(err, errlen, r, "round %u: %s: receiving from party %u: %s", (unsigned)layer,
                                what, (unsigned)j, mpc_strerror(r));
            e->st.open_bytes_recv += cnt * 8;
            if (arith)
                for (uint64_t k = 0; k < cnt; k++) mine[lo + k] += rx[k];
            else
                for (uint64_t k = 0; k < cnt; k++) mine[lo + k] ^= rx[k];
        }
    }
    return 0;
}

/* A piece of a part: elements [from, from + cnt) of gate `gate`. */
typedef struct {
    uint32_t gate;
    uint64_t from, cnt;
} s_piece;

/* The pieces of the layer's gates of `kind` (their elements one after another) from element
 * off on, for at most m elements and at most maxp pieces: fills pc, returns the number of
 * pieces; *got = the elements they cover. */
static uint32_t s_pieces(const mpc_engine *e, const uint32_t *gates, uint32_t ng, uint8_t kind, uint64_t off,
                         uint64_t m, s_piece *pc, uint32_t maxp, uint64_t *got)
{
    uint64_t pos = 0, done = 0;
    uint32_t np = 0;
    for (uint32_t i = 0; i < ng && done < m && np < maxp; i++) {
        const mpc_gate *g = &e->c->gates[gates[i]];
        if (g->kind != kind) continue;
        uint64_t lo = pos, hi = pos + g->len;
        pos = hi;
        if (hi <= off + done) continue;
        uint64_t from = off + done - lo, cnt = hi - (off + done);
        if (cnt > m - done) cnt = m - done;
        pc[np++] = (s_piece){gates[i], from, cnt};
        done += cnt;
    }
    *got = done;
    return np;
}

/* The part's operands into x, or, when res is given, res into the gates' own wires. */
static void s_span(mpc_engine *e, const s_piece *pc, uint32_t np, uint64_t *x, const uint64_t *res)
{
    uint64_t done = 0;
    for (uint32_t i = 0; i < np; i++) {
        const mpc_gate *g = &e->c->gates[pc[i].gate];
        if (res)
            memcpy(e->w[pc[i].gate] + pc[i].from, res + done, (size_t)pc[i].cnt * 8);
        else
            memcpy(x + done, e->w[g->in[0]] + pc[i].from, (size_t)pc[i].cnt * 8);
        done += pc[i].cnt;
    }
}

static int s_fetch(mpc_engine *e, uint32_t layer, const mpc_prep_req *req, mpc_prep_out *o, char *err,
                   size_t errlen)
{
    uint64_t t0 = mpc_now_us();
    int r = mpc_prep_fetch(e->prep, req, o);
    e->st.prep_us += mpc_now_us() - t0;
    return r ? mpc_errc(err, errlen, r, "round %u: preprocessing: %s", (unsigned)layer, mpc_strerror(r)) : 0;
}

static int s_nomem(uint32_t layer, char *err, size_t errlen)
{
    return mpc_errc(err, errlen, MPC_ERR_NOMEM, "round %u: out of memory", (unsigned)layer);
}

/* One comparison part (its pieces pc, m elements): material, the 8 sub-rounds, the results. */
static int s_cmp_part(mpc_engine *e, uint32_t layer, uint64_t *msg, const s_piece *pc, uint32_t np,
                      mpc_cmp_kind ck, uint64_t m, uint64_t *rx, char *err, size_t errlen)
{
    uint64_t B = mpc_cmp_btriple_words(ck, m), DW = mpc_bin_words(m), matn = 3 * m + 3 * B + DW, W = 0;
    uint64_t *mat = s_alloc(matn), *x = s_alloc(m), *mine = NULL, held = 0;
    mpc_cmp *cmp = NULL;
    int r = 0;
    if (!mat || !x) {
        r = s_nomem(layer, err, errlen);
        goto out;
    }
    mpc_prep_req req = {.n_edabits = m, .n_btriples = B, .n_dabits = m};
    mpc_prep_out o = {.eda_r = mat, .eda_bits = mat + m, .ba = mat + 2 * m, .bb = mat + 2 * m + B,
                      .bc = mat + 2 * m + 2 * B, .da_r = mat + 2 * m + 3 * B, .da_bits = mat + 3 * m + 3 * B};
    if ((r = s_fetch(e, layer, &req, &o, err, errlen))) goto out;
    s_mat_held(e, &held, (int64_t)matn);
    mpc_cmp_material cm = {.eda_r = o.eda_r, .eda_bits = o.eda_bits, .ba = o.ba, .bb = o.bb, .bc = o.bc,
                           .da_r = o.da_r, .da_bits = o.da_bits, .da_off = 0};
    cmp = mpc_cmp_new(ck, m, e->self, &cm);
    s_wipe_free(mat, matn);   /* the batch holds its own copy */
    mat = NULL;
    if (!cmp) {
        r = s_nomem(layer, err, errlen);
        goto out;
    }
    s_span(e, pc, np, x, NULL);
    while (mpc_cmp_step(cmp) < MPC_CMP_ROUNDS) {
        W = mpc_cmp_open_words(cmp);
        if (!(mine = s_alloc(W))) {
            r = s_nomem(layer, err, errlen);
            goto out;
        }
        mpc_cmp_open(cmp, x, mine);
        if ((r = s_xchg(e, layer, msg, mine, W, mpc_cmp_open_is_arith(cmp), rx, "comparisons", err, errlen)))
            goto out;
        if ((r = mpc_cmp_absorb(cmp, mine))) {
            r = mpc_errc(err, errlen, r, "round %u: comparisons: %s", (unsigned)layer, mpc_strerror(r));
            goto out;
        }
        s_wipe_free(mine, W);
        mine = NULL;
        e->st.apart_rounds++;
    }
    s_span(e, pc, np, NULL, mpc_cmp_result(cmp));
    e->st.apart_parts++;
    e->st.comparisons += m;
    e->st.edabits += m;
    e->st.dabits += m;
    e->st.btriples += B;
out:
    s_wipe_free(mine, W);
    mpc_cmp_destroy(&cmp);
    s_wipe_free(mat, matn);
    s_wipe_free(x, m);
    return r;
}

/* One truncation part: its tuples (one group per run of pieces with the same m, l), one
 * opening, the results (docs/engine.md, "Truncation"). */
static int s_trunc_part(mpc_engine *e, uint32_t layer, uint64_t *msg, const s_piece *pc, uint32_t np,
                        uint64_t m, uint64_t *rx, char *err, size_t errlen)
{
    const mpc_circuit *c = e->c;
    uint64_t *mat = s_alloc(3 * m), *mine = s_alloc(m), held = 0;
    mpc_prep_trunc_spec *sp = calloc(np, sizeof *sp);
    uint32_t ns = 0;
    int r = 0, p0 = e->self == 0;
    if (!mat || !mine || !sp) {
        r = s_nomem(layer, err, errlen);
        goto out;
    }
    for (uint32_t i = 0; i < np; i++) {
        const mpc_gate *g = &c->gates[pc[i].gate];
        if (ns && sp[ns - 1].m == g->aux[0] && sp[ns - 1].l == g->aux[1])
            sp[ns - 1].n += pc[i].cnt;
        else
            sp[ns++] = (mpc_prep_trunc_spec){(uint32_t)g->aux[0], (uint32_t)g->aux[1], pc[i].cnt};
    }
    mpc_prep_req req = {.trunc = sp, .n_trunc = ns};
    mpc_prep_out o = {.r_lo = mat, .r_mid = mat + m, .r_msb = mat + 2 * m};
    if ((r = s_fetch(e, layer, &req, &o, err, errlen))) goto out;
    s_mat_held(e, &held, (int64_t)(3 * m));
    for (uint64_t i = 0, pos = 0; i < np; pos += pc[i].cnt, i++) {
        const mpc_gate *g = &c->gates[pc[i].gate];
        s_trunc_open(mine + pos, e->w[g->in[0]] + pc[i].from, o.r_lo + pos, o.r_mid + pos, o.r_msb + pos, pc[i].cnt,
                     (uint32_t)g->aux[0], (uint32_t)g->aux[1], p0);
    }
    if ((r = s_xchg(e, layer, msg, mine, m, 1, rx, "truncations", err, errlen))) goto out;
    for (uint64_t i = 0, pos = 0; i < np; pos += pc[i].cnt, i++) {
        const mpc_gate *g = &c->gates[pc[i].gate];
        s_trunc_finish(e->w[pc[i].gate] + pc[i].from, mine + pos, o.r_mid + pos, o.r_msb + pos, pc[i].cnt,
                       (uint32_t)g->aux[0], (uint32_t)g->aux[1], p0);
    }
    e->st.apart_parts++;
    e->st.apart_rounds++;
    e->st.trunc += m;
out:
    free(sp);
    s_wipe_free(mat, 3 * m);
    s_wipe_free(mine, m);
    return r;
}

/* After a part: the operand of every gate whose last element it did, if that gate is its last
 * use and no other gate of the layer reads it (those in the round run later), so a layer of
 * long gates holds their operands only until each is done. */
static void s_release_done(mpc_engine *e, const uint32_t *gates, uint32_t ng, const s_piece *pc, uint32_t np)
{
    const mpc_circuit *c = e->c;
    for (uint32_t i = 0; i < np; i++) {
        const mpc_gate *g = &c->gates[pc[i].gate];
        uint32_t in = g->in[0];
        if (pc[i].from + pc[i].cnt < g->len || e->lastuse[in] != pc[i].gate || !e->w[in]) continue;
        int other = 0;
        for (uint32_t k = 0; k < ng && !other; k++) {
            const mpc_gate *h = &c->gates[gates[k]];
            for (int o = 0; o < mpc_gate_infos[h->kind].operands; o++)
                if (gates[k] != pc[i].gate && h->in[o] == in) other = 1;
        }
        if (!other) mpc_eng_release(e, in);
    }
}

/* The layer's gates of `kind`, if they run apart: their wires, then part by part. */
static int s_kind_run(mpc_engine *e, uint32_t layer, uint64_t *msg, const uint32_t *gates, uint32_t ng,
                      uint8_t kind, s_piece *pc, uint64_t *rx, char *err, size_t errlen)
{
    uint64_t n = s_count(e, gates, ng, kind), part = s_apart(e) < S_PART_MAX ? s_apart(e) : S_PART_MAX;
    if (n <= s_apart(e)) return 0;
    if (layer >= S_APART_SEQ) return mpc_errc(err, errlen, MPC_ERR_CIRCUIT, "round %u: too many rounds", (unsigned)layer);
    for (uint32_t i = 0; i < ng; i++) {   /* the results' wires, wiped on any failure */
        const mpc_gate *g = &e->c->gates[gates[i]];
        if (g->kind != kind) continue;
        if (!(e->w[gates[i]] = s_alloc(g->len))) return s_nomem(layer, err, errlen);
        e->owned[gates[i]] = 1;
    }
    /* a truncation part's request holds at most MPC_PREP_MAX_GROUPS groups */
    uint32_t maxp = kind == MPC_G_TRUNC && ng > MPC_PREP_MAX_GROUPS ? MPC_PREP_MAX_GROUPS : ng;
    for (uint64_t off = 0, m; off < n; off += m) {
        if (e->o.cancel && atomic_load(e->o.cancel))
            return mpc_errc(err, errlen, MPC_ERR_CANCELLED, "round %u: the job was cancelled", (unsigned)layer);
        if (e->o.deadline_ms && mpc_now_ms() > e->o.deadline_ms)
            return mpc_errc(err, errlen, MPC_ERR_TIMEOUT, "round %u: the job ran past its time limit", (unsigned)layer);
        uint32_t np = s_pieces(e, gates, ng, kind, off, n - off < part ? n - off : part, pc, maxp, &m);
        int r = kind == MPC_G_TRUNC
                    ? s_trunc_part(e, layer, msg, pc, np, m, rx, err, errlen)
                    : s_cmp_part(e, layer, msg, pc, np, kind == MPC_G_LTZ ? MPC_CMP_LTZ : MPC_CMP_EQZ, m, rx, err,
                                 errlen);
        if (r) return r;
        s_release_done(e, gates, ng, pc, np);
    }
    return 0;
}

int mpc_eng_apart_run(mpc_engine *e, uint32_t layer, const uint32_t *gates, uint32_t ng, char *err, size_t errlen)
{
    static const uint8_t kinds[3] = {MPC_G_LTZ, MPC_G_EQZ, MPC_G_TRUNC};
    int any = 0, r = 0;
    for (int t = 0; t < 3; t++) any |= mpc_eng_apart(e, gates, ng, kinds[t]);
    if (!any) return 0;
    uint64_t msg = 0, *rx = s_alloc(e->slice);
    s_piece *pc = calloc(ng, sizeof *pc);
    if (!rx || !pc) r = s_nomem(layer, err, errlen);
    for (int t = 0; t < 3 && !r; t++) r = s_kind_run(e, layer, &msg, gates, ng, kinds[t], pc, rx, err, errlen);
    free(pc);
    s_wipe_free(rx, e->slice);
    return r;
}
